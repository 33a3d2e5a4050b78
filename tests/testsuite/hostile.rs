//! Hostile issue files: markup and scripts in every text field, every writing
//! system, very long text, control characters and broken TOML. Whatever comes
//! in, `publish` must not panic, pass markup or a header through, or write half
//! an issue; what it refuses, it refuses with file:line:column and a fix.

use std::process::Command;

use crate::support::{Fixture, python};

/// An issue file of the reference publication, dated in the sponsor's flight.
fn with_issue(number: u32, body: &str) -> Fixture {
    let fixture = Fixture::reference();
    fixture.write(&format!("issues/{number:03}.toml"), body);
    fixture
}

/// Runs a Python script (the standard library only) on `args`; returns its stdout.
fn run_python(script: &str, args: &[&std::path::Path]) -> String {
    let out = Command::new(python()).args(["-c", script]).args(args).output().expect("run python");
    assert!(out.status.success(), "python failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("python prints UTF-8")
}

/// What Python's HTML parser finds in a page: every element, every attribute
/// (element, name, value) and the text as a reader sees it, entities decoded.
struct Page {
    tags: Vec<String>,
    attrs: Vec<(String, String, String)>,
    text: String,
}

fn parse_html(path: &std::path::Path) -> Page {
    let script = r#"
import json, sys
from html.parser import HTMLParser
class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.text = [], [], []
    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [[tag, k, v or ''] for k, v in attrs]
    def handle_data(self, data):
        self.text.append(data)
p = Page()
p.feed(open(sys.argv[1], encoding='utf-8').read())
p.close()
print(json.dumps({'tags': p.tags, 'attrs': p.attrs, 'text': ' '.join(p.text)}))
"#;
    let json: serde_json::Value = serde_json::from_str(&run_python(script, &[path])).unwrap();
    Page {
        tags: strings(&json["tags"]).collect(),
        attrs: json["attrs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let mut it = strings(a);
                (it.next().unwrap(), it.next().unwrap(), it.next().unwrap())
            })
            .collect(),
        text: json["text"].as_str().unwrap().split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

fn strings(v: &serde_json::Value) -> impl Iterator<Item = String> + '_ {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string())
}

/// Asserts that a built page runs nothing: no script-bearing element, no event
/// handler attribute, no link or source but http(s) and mailto, and none of the
/// telltale tag openings either, for readers that only grep.
#[track_caller]
fn assert_inert(fixture: &Fixture, file: &str) -> Page {
    let html = fixture.read(file);
    // The text may show `onerror=` (escaped); a tag never opens.
    for needle in ["<script", "<img src=x", "<svg", "<div onmouseover", "<a href=\"javascript:", "<iframe"] {
        assert!(!html.to_ascii_lowercase().contains(needle), "{file} contains {needle:?}");
    }
    let page = parse_html(&fixture.path().join(file));
    for tag in ["script", "iframe", "svg", "object", "embed", "form", "base"] {
        assert!(!page.tags.iter().any(|t| t == tag), "{file} has a <{tag}> element");
    }
    for (tag, name, value) in &page.attrs {
        assert!(!name.starts_with("on"), "{file}: <{tag} {name}={value:?}> is an event handler");
        if matches!(name.as_str(), "href" | "src") {
            let v = value.to_ascii_lowercase();
            assert!(
                v.starts_with("https://") || v.starts_with("http://") || v.starts_with("mailto:") || v.starts_with('#'),
                "{file}: <{tag} {name}={value:?}> goes somewhere a reader should not"
            );
        }
    }
    page
}

/// An issue with markup in every field a publisher writes text into.
const INJECTION: &str = r#"title = "<script>alert(1)</script> \"><img src=x onerror=alert(1)>"
date = 2024-03-08
sponsor = "esevel"
preheader = "<script>alert('pre')</script>\"><img src=x onerror=alert(2)>"
intro = """
Intro <script>alert('intro')</script> and "><img src=x onerror=alert(3)>

<div onmouseover="alert(4)">a raw HTML block</div>

<iframe src="javascript:alert(5)"></iframe>
"""

[image]
src = "media/009-cover.png"
alt = "\"><img src=x onerror=alert(6)>"
generator = "<script>alert('gen')</script>"
prompt = "\"><img src=x onerror=alert(7)> [click](javascript:alert(8))"
generation_id = "<b>id</b>"

[[sections]]
name = "<script>alert('section')</script>\"><img src=x onerror=alert(9)>"

[[sections.recommendations]]
title = "\"><img src=x onerror=alert(10)><script>alert(11)</script>"
url = "https://example.com/a?q=\"><script>alert(12)</script>"
authors = ["<script>alert(13)</script>", "\"><img src=x onerror=alert(14)>"]
source = "<svg onload=alert(15)>"
take = """
A take with <script>alert(16)</script> inline, a [fine link](https://example.com/ok) and \
<a href="javascript:alert(19)">a raw anchor</a>.

<script>
alert(20)
</script>

<img src=x onerror=alert(21)>
"""

[[sections.recommendations.related]]
title = "<script>alert(22)</script>"
url = "https://example.com/related"
source = "\"><img src=x onerror=alert(23)>"
"#;

#[test]
fn markup_in_every_text_field_is_shown_as_text_and_never_runs() {
    let fixture = with_issue(20, INJECTION);
    fixture.edit(
        "sponsors.toml",
        "copy = \"\"\"\n",
        "copy = \"\"\"\n<script>alert('sponsor')</script> \"><img src=x onerror=alert(24)>\n\n",
    );
    fixture.edit("sponsors.toml", "terms = \"Terms and conditions apply.\"", "terms = \"<script>alert(25)</script>\"");
    fixture.run(&["build", "20"]).success();
    for file in ["out/20/email.html", "out/20/index.html"] {
        let page = assert_inert(&fixture, file);
        for shown in [
            "<script>alert(1)</script> \"><img src=x onerror=alert(1)>",
            "Intro <script>alert('intro')</script> and \"><img src=x onerror=alert(3)>",
            "<div onmouseover=\"alert(4)\">a raw HTML block</div>",
            "<script>alert('section')</script>\"><img src=x onerror=alert(9)>",
            "\"><img src=x onerror=alert(10)><script>alert(11)</script>",
            "by <script>alert(13)</script> and \"><img src=x onerror=alert(14)> from <svg onload=alert(15)>",
            "<a href=\"javascript:alert(19)\">a raw anchor</a>",
            "<script> alert(20) </script>",
            "<script>alert(22)</script> (\"><img src=x onerror=alert(23)>)",
            "<script>alert('sponsor')</script> \"><img src=x onerror=alert(24)>",
            "<script>alert(25)</script>",
            "\"><img src=x onerror=alert(7)> [click](javascript:alert(8))",
        ] {
            assert!(page.text.contains(shown), "{file} does not show {shown:?} as text:\n{}", page.text);
        }
        let imgs: Vec<_> = page.attrs.iter().filter(|(tag, name, _)| tag == "img" && name == "src").collect();
        assert_eq!(imgs.len(), 1, "{file}: only the cover is an image: {imgs:?}");
        let alt = page.attrs.iter().find(|(tag, name, _)| tag == "img" && name == "alt").unwrap();
        assert_eq!(alt.2, "\"><img src=x onerror=alert(6)>", "{file}: the alt text is kept as text");
    }
}
