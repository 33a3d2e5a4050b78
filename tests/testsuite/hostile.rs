//! Hostile issue files: markup and scripts in every text field, every writing
//! system, very long text, control characters and broken TOML. Whatever comes
//! in, `publish` must not panic, pass markup or a header through, or write half
//! an issue; what it refuses, it refuses with file:line:column and a fix.

use crate::support::{Fixture, node_modules, repo, run_python, without_template_scripts};

/// An issue file of the reference publication, dated in the sponsor's flight.
fn with_issue(number: u32, body: &str) -> Fixture {
    let fixture = Fixture::reference();
    fixture.write(&format!("issues/{number:03}.toml"), body);
    fixture
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
/// handler attribute, no link or source but http(s), mailto and paths to published
/// files (the episode's audio), and none of the
/// telltale tag openings either, for readers that only grep.
#[track_caller]
fn assert_inert(fixture: &Fixture, file: &str) -> Page {
    let html = without_template_scripts(&fixture.read(file));
    let stripped = fixture.path().join(format!("{file}.inert"));
    std::fs::write(&stripped, &html).unwrap();
    // The text may show `onerror=` (escaped); a tag never opens.
    for needle in ["<script", "<img src=x", "<svg", "<div onmouseover", "<a href=\"javascript:", "<iframe"] {
        assert!(!html.to_ascii_lowercase().contains(needle), "{file} contains {needle:?}");
    }
    let page = parse_html(&stripped);
    for tag in ["script", "iframe", "svg", "object", "embed", "form", "base"] {
        assert!(!page.tags.iter().any(|t| t == tag), "{file} has a <{tag}> element");
    }
    for (tag, name, value) in &page.attrs {
        assert!(!name.starts_with("on"), "{file}: <{tag} {name}={value:?}> is an event handler");
        if matches!(name.as_str(), "href" | "src") {
            let v = value.to_ascii_lowercase();
            // A path with no scheme ("../media/9.mp3") stays on the publication's site.
            let relative = v.starts_with("../") && !v.contains(':');
            assert!(
                v.starts_with("https://")
                    || v.starts_with("http://")
                    || v.starts_with("mailto:")
                    || v.starts_with('#')
                    || relative,
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

/// A title in six writing systems with a family emoji (a ZWJ sequence) and a
/// flag, and a take of some 60 KB: Chinese without spaces, a long run of words
/// and one unbreakable token.
#[test]
fn long_text_in_every_script_survives_into_headers_html_and_wrapped_text() {
    let fixture = Fixture::reference();
    let title = "هذا الأسبوع في آسيا — 本周亚洲 🇸🇬👩\u{200d}👩\u{200d}👧 שבוע טוב भारत ไทย 한국";
    fixture.edit("issues/009.toml", "title = \"China AI dreams of Sora\"", &format!("title = \"{title}\""));
    let chinese = "人工智能的发展让亚洲各国重新思考产业政策。".repeat(400);
    let words = "the quick brown fox jumps over the lazy dog ".repeat(400);
    let token = "x".repeat(3000);
    fixture.edit("issues/009.toml", "take = \"\"\"\n", &format!("take = \"\"\"\n{chinese}\n\n{words}\n\n{token}\n\n"));
    fixture.run(&["build", "9"]).success();

    let script = r#"
import email, email.policy, json, sys
m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)
raw = open(sys.argv[1], 'rb').read().split(b'\r\n')
print(json.dumps({
    'subject': str(m['subject']),
    'defects': [str(d) for d in m.defects],
    'text': m.get_body(('plain',)).get_content(),
    'html': m.get_body(('html',)).get_content(),
    'longest_raw_line': max(len(l) for l in raw),
}))
"#;
    let eml = fixture.path().join("out/9/email.eml");
    let parsed: serde_json::Value = serde_json::from_str(&run_python(script, &[&eml])).unwrap();
    assert_eq!(parsed["subject"].as_str().unwrap(), format!("This Week in Asia #9: {title}"));
    assert_eq!(parsed["defects"].as_array().unwrap().len(), 0, "{}", parsed["defects"]);
    assert!(parsed["longest_raw_line"].as_u64().unwrap() <= 998, "RFC 5322 caps a line at 998 bytes");

    let text = parsed["text"].as_str().unwrap();
    for line in text.lines() {
        let fits = unicode_width::UnicodeWidthStr::width(line) <= 72;
        // Only a word longer than the line may overflow: a URL after its label, or the token.
        let last = line.split_whitespace().last().unwrap_or_default();
        let unbreakable = last.contains("://") || line.trim() == token;
        assert!(fits || unbreakable && !line.contains('。'), "a line that could wrap did not: {line:?}");
    }
    assert!(text.contains(&token), "the unbreakable token is kept whole");
    let joined: String = text.split_whitespace().collect();
    assert!(joined.contains(&chinese), "the Chinese text is all there, in order");

    let html = parsed["html"].as_str().unwrap();
    assert!(html.contains(title), "the title shows in the HTML as written");
    let page = assert_inert(&fixture, "out/9/email.html");
    assert!(page.text.contains(&chinese));
    assert_inert(&fixture, "out/9/index.html");
}

#[test]
fn a_control_character_is_refused_with_its_line_and_nothing_is_written() {
    let fixture = Fixture::reference();
    fixture.edit(
        "issues/009.toml",
        "title = \"China AI dreams of Sora\"",
        "title = \"China AI dreams \\u001b[31mof Sora\\u0007\"",
    );
    let run = fixture.run(&["build", "9"]).failure(1);
    assert!(
        run.stderr().contains("issues/009.toml:4:26: error: this text has an invisible control character (U+001B)")
    );
    assert!(run.stderr().contains("help: delete it"), "{}", run.stderr());
    assert!(!fixture.path().join("out/9").exists(), "nothing is written");
}

#[test]
fn a_header_injection_in_the_title_is_refused() {
    let fixture = Fixture::reference();
    fixture.edit(
        "issues/009.toml",
        "title = \"China AI dreams of Sora\"",
        "title = \"China AI dreams of Sora\\r\\nBcc: everyone@example.com\"",
    );
    let run = fixture.run(&["check", "9"]).failure(1);
    assert!(run.stderr().contains("issues/009.toml:4:9: error: the title has a line break"), "{}", run.stderr());
}

#[test]
fn broken_toml_is_reported_at_its_line_and_column() {
    for (broken, line) in [
        ("title = \"China AI dreams of Sora", 4),
        ("title = China AI dreams of Sora\"", 4),
        ("title = \"China AI dreams of Sora\"\ntitle = \"again\"", 5),
    ] {
        let fixture = Fixture::reference();
        fixture.edit("issues/009.toml", "title = \"China AI dreams of Sora\"", broken);
        let run = fixture.run(&["build", "9"]).failure(1);
        let err = run.stderr();
        assert!(err.contains(&format!("issues/009.toml:{line}:")) && err.contains("invalid TOML"), "{broken}:\n{err}");
        assert!(!fixture.path().join("out/9").exists(), "nothing is written");
    }
}

#[test]
fn a_broken_other_issue_is_named_and_left_out_of_the_feeds() {
    let fixture = Fixture::reference();
    let broken =
        fixture.read("issues/009.toml").replace("title = \"China AI dreams of Sora\"", "title = \"Bell\\u0007\"");
    fixture.write("issues/010.toml", &crate::support::without_episode(&broken));
    let run = fixture.run(&["build", "9"]).success();
    assert!(
        run.stderr().contains("issues/010.toml: warning: issue 10 has errors, so it is left out of the feeds"),
        "{}",
        run.stderr()
    );
    assert!(!fixture.read("out/newsletter.xml").contains("Asia #10"), "the broken issue is not in the feed");
    let check = fixture.run(&["check", "10"]).failure(1);
    assert!(
        check.stderr().contains("issues/010.toml:4:14: error: this text has an invisible control character (U+0007)"),
        "{}",
        check.stderr()
    );
}

/// U+FFFE and the other noncharacters are not text: XML 1.0 refuses U+FFFE and
/// U+FFFF, so one in a title would leave newsletter.xml unreadable to every
/// feed reader. They are refused where they are written, in every file.
#[test]
fn a_noncharacter_is_refused_where_it_is_written_so_the_feeds_stay_well_formed() {
    let fixture = Fixture::reference();
    fixture.edit(
        "issues/009.toml",
        "title = \"China AI dreams of Sora\"",
        "title = \"China AI \\uFFFE dreams of Sora\"",
    );
    fixture.edit("sponsors.toml", "terms = \"Terms and conditions apply.\"", "terms = \"Terms\u{FDD0} apply.\"");
    let run = fixture.run(&["build", "9"]).failure(1);
    let err = run.stderr();
    assert!(
        err.contains(
            "issues/009.toml:4:19: error: this text has a Unicode noncharacter (U+FFFE), which feed readers refuse"
        ),
        "{err}"
    );
    assert!(err.contains("sponsors.toml:19:15: error: this text has a Unicode noncharacter (U+FDD0)"), "{err}");
    assert!(err.contains("help: delete it"), "{err}");
    assert!(!fixture.path().join("out/9").exists() && !fixture.path().join("out/newsletter.xml").exists());
}

/// Two files with one number are an error (SPEC): `check N` and `build N`
/// say so too, not only `check` of the whole workspace, and nothing is written.
#[test]
fn two_files_with_one_number_stop_check_and_build_of_that_number() {
    let fixture = Fixture::reference();
    fixture.write("issues/009-again.toml", &fixture.read("issues/009.toml"));
    for args in [&["check", "9"][..], &["build", "9"], &["check"]] {
        let run = fixture.run(args).failure(1);
        assert!(
            run.stderr().contains("issues/009.toml: error: issue 9 is also issues/009-again.toml"),
            "{args:?}: {}",
            run.stderr()
        );
        assert!(run.stderr().contains("help: one number, one file: rename or remove one of them"));
    }
    assert!(!fixture.path().join("out/9").exists(), "nothing is written");
}

/// A cover picture that is not there is found by `check`, at its line, not
/// only when `build` comes to copy it.
#[test]
fn a_missing_cover_picture_is_an_error_at_its_line_in_check() {
    let fixture = Fixture::reference();
    fixture.edit("issues/009.toml", "src = \"media/009-cover.png\"", "src = \"media/009-cover.jpg\"");
    let run = fixture.run(&["check", "9"]).failure(1);
    assert!(
        run.stderr().contains("issues/009.toml:19:7: error: media/009-cover.jpg does not exist"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("help: put the picture there, or write its https:// URL"));
    let build = fixture.run(&["build", "9"]).failure(1);
    assert!(build.stderr().contains("issues/009.toml:19:7: error"), "{}", build.stderr());
    assert!(!fixture.path().join("out/9").exists(), "nothing is written");
}

/// Right-to-left text in a left-to-right publication: every heading, paragraph
/// and list item whose text starts in Arabic or Hebrew is laid out right to
/// left in Chromium (its full stop at its end, on the left), in the email, the
/// web page and the archive; left-to-right text, and text that only quotes a
/// right-to-left word, stays left to right.
#[test]
fn right_to_left_text_is_laid_out_right_to_left_in_email_page_and_archive() {
    let fixture = Fixture::reference();
    let edits = [
        ("title = \"China AI dreams of Sora\"", "title = \"الذكاء الاصطناعي في آسيا\""),
        ("name = \"AI\"", "name = \"ذكاء اصطناعي\""),
        (
            "title = \"Disney, Reliance said to ink binding India media merger pact\"",
            "title = \"דיסני וריליאנס חותמות על מיזוג\"",
        ),
        (
            "The decision from Bob Iger",
            "## عنوان فرعي\n\nهذا نص عربي.\n\n- פריט אחד\n- second item\n\nRead about العربية today.\n\nThe decision from Bob Iger",
        ),
        ("title = \"SoftBank to join", "title = \"سوفت بنك SoftBank to join"),
    ];
    for (from, to) in edits {
        fixture.edit("issues/009.toml", from, to);
    }
    fixture.run(&["build", "9"]).success();

    let rtl = [
        "الذكاء الاصطناعي في آسيا",
        "ذكاء اصطناعي",
        "דיסני וריליאנס",
        "عنوان فرعي",
        "هذا نص عربي.",
        "פריט אחד",
        "سوفت بنك",
    ];
    let ltr = ["second item", "Read about العربية today.", "The decision from Bob Iger", "What we are reading"];
    let pages = ["out/9/email.html", "out/9/index.html", "out/index.html"];
    let json = directions(&fixture, &[&rtl[..], &ltr[..]].concat(), &pages);
    for page in pages {
        let found = &json[page];
        let archive = page == "out/index.html";
        for (phrases, want) in [(&rtl[..], "rtl"), (&ltr[..], "ltr")] {
            for phrase in phrases {
                // The archive lists titles only.
                if archive && *phrase != rtl[0] {
                    continue;
                }
                let at = &found[phrase];
                assert_eq!(at["direction"], want, "{page}: {phrase:?} is in {at}");
            }
        }
    }
}

/// Headings and a table in a take: the page keeps one h1 (the issue's title),
/// a take's `#` heading sits below the recommendation's h3, and the table is a
/// table in the email and the page and rows of cells in the plain text (it was
/// one run-on line of pipes and dashes).
#[test]
fn headings_and_a_table_in_a_take_read_as_such_in_html_and_plain_text() {
    let fixture = Fixture::reference();
    let table = "# Market shares\n\n| Market | Share |\n|---|--:|\n| 日本 | 40% |\n| Korea | 7% |\n\n";
    fixture.edit("issues/009.toml", "take = \"\"\"\n", &format!("take = \"\"\"\n{table}"));
    fixture.run(&["build", "9"]).success();
    for file in ["out/9/email.html", "out/9/index.html"] {
        let page = assert_inert(&fixture, file);
        assert_eq!(page.tags.iter().filter(|t| *t == "h1").count(), 1, "{file}: one h1, the issue's title");
        assert!(page.tags.iter().any(|t| t == "h4"), "{file}: the take's heading is an h4");
        let cells = page.tags.iter().filter(|t| *t == "td" || *t == "th").count();
        assert!(page.tags.iter().any(|t| t == "thead") && cells >= 6, "{file}: the table is a table");
        assert!(page.text.contains("Market Share 日本 40% Korea 7%"), "{file}: {}", page.text);
    }
    let text = fixture.read("out/9/email.txt");
    assert!(
        text.contains("\n  Market | Share\n  --------------\n  日本 | 40%\n  Korea | 7%\n"),
        "the table's rows are lines:\n{text}"
    );
    assert!(!text.contains("|---|"), "no Markdown table syntax is left:\n{text}");
}

/// The transcript and the chapters file are text a publisher pastes too: a
/// control character or a noncharacter in a cue or a chapter title is refused
/// where it is (it went into the web page's transcript as it was).
#[test]
fn a_control_character_in_the_transcript_or_a_chapter_title_is_refused_at_its_place() {
    let fixture = Fixture::reference();
    fixture.edit("media/009.vtt", "This Week in Asia, issue nine.", "This Week in Asia,\u{1} issue nine.");
    fixture.edit("media/009-chapters.json", "\"title\": \"Every link", "\"title\": \"Every\\ufffe link");
    let run = fixture.run(&["build", "9"]).failure(1);
    let err = run.stderr();
    assert!(err.contains("media/009.vtt:5:31: error: this text has an invisible control character (U+0001)"), "{err}");
    assert!(
        err.contains("error: media/009-chapters.json: chapter 3: its \"title\" has a Unicode noncharacter (U+FFFE)"),
        "{err}"
    );
    assert!(!fixture.path().join("out/9").exists(), "nothing is written");
}

/// How headless Chromium lays out each of `phrases` in each of `pages` (paths
/// in `fixture`): `{page: {phrase: {tag, direction}}}`, by tests/browser/direction.mjs.
fn directions(fixture: &Fixture, phrases: &[&str], pages: &[&str]) -> serde_json::Value {
    let list = fixture.path().join("phrases.json");
    std::fs::write(&list, serde_json::to_string(phrases).unwrap()).unwrap();
    let output = std::process::Command::new("node")
        .arg(repo().join("tests/browser/direction.mjs"))
        .arg(&list)
        .args(pages.iter().map(|p| fixture.path().join(p)))
        .env("MASTHEAD_NODE_MODULES", node_modules(&["playwright-core"]))
        .output()
        .expect("node must be installed to run the browser checks");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let by_path = json.as_object().unwrap();
    let by_page = pages.iter().map(|p| (p.to_string(), by_path[fixture.path().join(p).to_str().unwrap()].clone()));
    serde_json::Value::Object(by_page.collect())
}

/// A publication in Arabic (`language = "ar"`): the email, the web page and
/// the archive are right-to-left pages, the template's own headings with them.
#[test]
fn a_publication_in_a_right_to_left_language_has_right_to_left_pages() {
    let fixture = Fixture::reference();
    fixture.edit("publish.toml", "language = \"en\"", "language = \"ar\"");
    fixture.run(&["build", "9"]).success();
    let json = directions(
        &fixture,
        &["What we are reading this week", "China AI dreams of Sora"],
        &["out/9/email.html", "out/9/index.html", "out/index.html"],
    );
    assert_eq!(json["out/9/email.html"]["What we are reading this week"]["direction"], "rtl", "{json}");
    assert_eq!(json["out/9/index.html"]["What we are reading this week"]["direction"], "rtl", "{json}");
    assert_eq!(json["out/index.html"]["China AI dreams of Sora"]["direction"], "rtl", "{json}");
    assert!(fixture.read("out/9/index.html").starts_with("<!DOCTYPE html>\n<html lang=\"ar\" dir=\"rtl\">"));
}

/// A Chinese paragraph with a URL typed into it is wrapped at 72 columns in
/// the plain text like any other, the URL kept whole on its line (it was left
/// one line of some 400 columns).
#[test]
fn a_chinese_paragraph_with_a_url_in_it_is_wrapped_and_the_url_kept_whole() {
    let fixture = Fixture::reference();
    let url = "https://example.com/路径/x";
    let chinese = "人工智能的发展让亚洲各国重新思考产业政策。".repeat(8);
    fixture.edit(
        "issues/009.toml",
        "take = \"\"\"\n",
        &format!("take = \"\"\"\n{chinese}请看 {url} 这里。{chinese}\n\n"),
    );
    fixture.run(&["build", "9"]).success();
    let text = fixture.read("out/9/email.txt");
    let ours: Vec<&str> = text.lines().filter(|l| l.contains("人工智能") || l.contains(url)).collect();
    assert!(ours.len() > 6, "the paragraph is wrapped:\n{}", ours.join("\n"));
    for line in &ours {
        assert!(unicode_width::UnicodeWidthStr::width(*line) <= 72, "a line over 72 columns: {line:?}");
    }
    assert!(ours.iter().any(|l| l.contains(url)), "the URL is whole on one line");
}

/// A Markdown footnote cannot be a footnote in an email: `check` says it is
/// shown as typed, where it is, and the build goes on.
#[test]
fn a_footnote_in_a_take_is_a_warning_that_it_is_shown_as_typed() {
    let fixture = Fixture::reference();
    fixture.edit("issues/009.toml", "take = \"\"\"\n", "take = \"\"\"\nA claim[^src].\n\n[^src]: the source.\n\n");
    let run = fixture.run(&["check", "9"]).success();
    assert!(
        run.stderr()
            .contains("issues/009.toml:43:8: warning: footnote [^src] is shown as typed: emails have no footnotes"),
        "{}",
        run.stderr()
    );
    fixture.run(&["build", "9"]).success();
    assert!(fixture.read("out/9/email.txt").contains("A claim[^src]."));
}

/// Blank names are errors where they are written: an empty author, source or
/// related title made the byline read "by  and   from".
#[test]
fn an_empty_author_source_or_related_title_is_an_error_at_its_place() {
    let fixture = Fixture::reference();
    fixture.edit("issues/009.toml", "authors = [\"Coco Feng\", \"Ben Jiang\"]", "authors = [\"Coco Feng\", \" \"]");
    fixture.edit("issues/009.toml", "source = \"Bloomberg\"", "source = \"\"");
    fixture.edit(
        "issues/009.toml",
        "title = \"SoftBank to join SK Telekom-led global AI joint venture with Deutsche Telekom, SingTel and other telcos\"",
        "title = \"\"",
    );
    build_refused_at(
        &fixture,
        &[
            "issues/009.toml:41:25: error: an author's name is empty",
            "issues/009.toml:69:10: error: the source is empty",
            "issues/009.toml:106:9: error: a related link needs a title",
        ],
    );
}

/// `build 9` fails naming each of `expected` (file:line:column: error), and
/// writes nothing.
fn build_refused_at(fixture: &Fixture, expected: &[&str]) {
    let run = fixture.run(&["build", "9"]).failure(1);
    let err = run.stderr();
    for expected in expected {
        assert!(err.contains(expected), "{expected}:\n{err}");
    }
    assert!(!fixture.path().join("out/9").exists(), "nothing is written");
}

/// A sponsor's blank name, button words or referral code is an error where it
/// is written: the email showed "Sponsored by " and an empty button.
#[test]
fn a_sponsors_blank_name_button_or_code_is_an_error_at_its_place() {
    let fixture = Fixture::reference();
    fixture.edit("sponsors.toml", "name = \"Esevel\"", "name = \" \"");
    fixture.edit("sponsors.toml", "cta = \"Get a demo of Esevel\"", "cta = \"\"");
    fixture.edit("sponsors.toml", "referral_code = \"ASIA\"", "referral_code = \"\"");
    build_refused_at(
        &fixture,
        &[
            "sponsors.toml:7:8: error: name is empty",
            "sponsors.toml:20:7: error: cta is empty",
            "sponsors.toml:17:17: error: referral_code is empty",
        ],
    );
}

/// The preheader is plain text, and a feed item's `<description>` is HTML to
/// every feed reader: `<b>`, `&` and `<script>` in a preheader read as typed
/// in feedparser (they were bold, a bare ampersand and nothing at all, as the
/// text went into the item as markup).
#[test]
fn a_preheader_with_markup_reads_as_typed_in_a_feed_reader() {
    let fixture = Fixture::reference();
    let preheader = "Why <b>a < b</b> & ]]> matter <script>alert(1)</script> — 日本";
    let original = "preheader = \"Sora pours cold water on China's AI race, Morris Chang's Japan chip renaissance, and two crypto bad boys in Asia.\"";
    fixture.edit("issues/009.toml", original, &format!("preheader = \"{preheader}\""));
    fixture.run(&["build", "9"]).success();
    let script = r#"
import feedparser, html, json, sys
from html.parser import HTMLParser
feed = feedparser.parse(sys.argv[1])
summary = feed.entries[0].summary_detail
class Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.tags = [], []
    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
    def handle_data(self, data):
        self.text.append(data)
shown = Text()
shown.feed(summary.value)
shown.close()
print(json.dumps({'bozo': feed.bozo, 'type': summary.type, 'text': ''.join(shown.text), 'tags': shown.tags}))
"#;
    let read = run_python(script, &[&fixture.path().join("out/newsletter.xml")]);
    let read: serde_json::Value = serde_json::from_str(&read).unwrap();
    assert_eq!(read["bozo"], false, "{read}");
    assert_eq!(read["text"], preheader, "the reader shows the preheader as written: {read}");
    assert_eq!(read["tags"], serde_json::json!([]), "no markup comes from the preheader: {read}");
}

/// An email address in angle brackets is a CommonMark autolink: `check` takes it
/// (it refused it as "not a web address" while its help asked for mailto:
/// addresses), and the email, the page and the text part link it as mailto:.
#[test]
fn an_email_autolink_in_a_take_is_a_mailto_link_everywhere() {
    let fixture = Fixture::reference();
    fixture.edit("issues/009.toml", "take = \"\"\"\n", "take = \"\"\"\nWrite to <tips@analyse.asia> with yours.\n\n");
    let check = fixture.run(&["check", "9"]).success();
    assert!(!check.stderr().contains("tips@"), "{}", check.stderr());
    fixture.run(&["build", "9"]).success();
    for file in ["out/9/email.html", "out/9/index.html"] {
        let page = assert_inert(&fixture, file);
        let link = ("a".to_string(), "href".to_string(), "mailto:tips@analyse.asia".to_string());
        assert!(page.attrs.contains(&link), "{file}: the address is a mailto link");
        assert!(page.text.contains("Write to tips@analyse.asia with yours."), "{file}: {}", page.text);
    }
    let text = fixture.read("out/9/email.txt");
    let n = text.split("Write to tips@analyse.asia [").nth(1).and_then(|t| t.split(']').next()).expect(&text);
    assert!(text.contains(&format!("\n[{n}] mailto:tips@analyse.asia\n")), "the text part lists it:\n{text}");
}

/// A fenced code block and a raw HTML block in a take start their own
/// paragraphs in the plain-text part, the code's lines kept as lines: they were
/// glued to the sentence before ("as follows:$ cargo install masthead").
#[test]
fn a_code_block_or_html_block_in_a_take_is_its_own_paragraph_in_the_text_part() {
    let fixture = Fixture::reference();
    let take = "Install it as follows:\n\n```\n$ cargo install masthead\n$ publish init\n```\n\nThen this:\n\n<details>raw</details>\n\n";
    fixture.edit("issues/009.toml", "take = \"\"\"\n", &format!("take = \"\"\"\n{take}"));
    fixture.run(&["build", "9"]).success();
    let text = fixture.read("out/9/email.txt");
    assert!(
        text.contains("Install it as follows:\n\n  $ cargo install masthead\n  $ publish init\n\n  Then this:\n\n  <details>raw</details>\n"),
        "the code and the HTML are paragraphs of their own:\n{text}"
    );
}
