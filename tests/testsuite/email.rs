//! The email as mail clients see it, measured from outside on issue 9 and on an
//! issue in six writing systems: caniemail (doiuse-email) for Gmail, Outlook,
//! Apple Mail, Yahoo and Samsung; html-validate; the markup Outlook for Windows
//! needs; SpamAssassin's local rules; contrast and horizontal scroll in headless
//! Chromium at 600, 375 and 320 px, light and dark; and the plain-text part's lines.
//! Each test prints the issue 17 table as it measured it.

use std::path::Path;
use std::process::Command;

use crate::support::{Fixture, node_modules, repo};

/// The reference issue with a title and takes in six writing systems, emoji
/// (a ZWJ family, a flag) and right-to-left text.
fn unicode_heavy() -> Fixture {
    let fixture = Fixture::reference();
    let title = "هذا الأسبوع في آسيا — 本周亚洲 🇸🇬👩\u{200d}👩\u{200d}👧 שבוע טוב भारत ไทย 한국";
    fixture.edit("issues/009.toml", "title = \"China AI dreams of Sora\"", &format!("title = \"{title}\""));
    let take = [
        "人工智能的发展让亚洲各国重新思考产业政策。".repeat(12),
        "يعيد تطور الذكاء الاصطناعي تشكيل السياسات الصناعية في آسيا. ".repeat(6),
        "ความก้าวหน้าของปัญญาประดิษฐ์ทำให้ประเทศในเอเชียต้องคิดใหม่ ".repeat(6),
        "인공지능의 발전은 아시아 각국이 산업 정책을 다시 생각하게 한다. ".repeat(6),
        "कृत्रिम बुद्धिमत्ता का विकास एशिया की औद्योगिक नीतियों को बदल रहा है। ".repeat(6),
    ]
    .join("\n\n");
    fixture.edit("issues/009.toml", "take = \"\"\"\n", &format!("take = \"\"\"\n{take}\n\n"));
    fixture
}

/// Runs `tests/browser/email-checks.mjs` on the built issue 9 of `fixture`.
fn measure(fixture: &Fixture) -> serde_json::Value {
    let modules = node_modules(&["playwright-core", "@jsx-email/doiuse-email", "html-validate"]);
    let chromium = Command::new("which").arg("chromium").output().expect("which");
    assert!(
        chromium.status.success(),
        "no chromium on PATH: run the tests with `bash scripts/test`, which installs it"
    );
    let shots = fixture.path().join("screenshots");
    let output = Command::new("node")
        .arg(repo().join("tests/browser/email-checks.mjs"))
        .arg(fixture.path().join("out/9/email.html"))
        .arg(fixture.path().join("out/9/index.html"))
        .arg(repo().join("tests/email-caniemail-allow.txt"))
        .arg(&shots)
        .env("MASTHEAD_NODE_MODULES", &modules)
        .output()
        .expect("node must be installed to run the email checks");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the email checks failed:\n{stderr}");
    for shot in ["email-light-600", "email-light-375", "email-dark-600", "email-dark-375"] {
        assert!(shots.join(format!("{shot}.png")).is_file(), "no screenshot {shot}");
    }
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        let text = String::from_utf8_lossy(&output.stdout);
        panic!("the checks print JSON: {e}: {:?}", text.lines().nth(e.line().saturating_sub(1)))
    })
}

/// SpamAssassin's score with its local rules only (no network tests), and the rules that fired.
fn spamassassin(eml: &Path) -> (f64, String) {
    let input = std::fs::File::open(eml).unwrap();
    let output = Command::new("spamassassin")
        .args(["-L", "-t"])
        .stdin(input)
        .output()
        .expect("no spamassassin: run the tests with `bash scripts/test`, which installs Debian's package");
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    let details = report.split("Content analysis details:").nth(1).expect("a SpamAssassin report");
    let score = details.split('(').nth(1).and_then(|s| s.split_whitespace().next()).expect("a score");
    (score.parse().expect("a number"), details.to_string())
}

/// The issue 17 table for `name`, as measured.
fn table(name: &str, m: &serde_json::Value, spam: f64) -> String {
    let errors = |group: &str| m["caniemail"][group]["errors"].as_array().map_or(0, Vec::len).to_string();
    let groups = ["Gmail", "Outlook Windows", "Outlook Windows Mail", "Yahoo", "Apple Mail"];
    let all = [
        "Gmail",
        "Outlook Windows",
        "Outlook Windows Mail",
        "Outlook macOS",
        "Outlook iOS",
        "Outlook Android",
        "Apple Mail",
        "Yahoo",
        "Samsung",
    ];
    let min_ratio = |page: &str| {
        m["pages"].as_object().unwrap().iter().filter(|(k, _)| k.starts_with(page)).fold(f64::MAX, |min, (_, p)| {
            p["pairs"].as_array().unwrap().iter().map(|x| x["ratio"].as_f64().unwrap()).fold(min, f64::min)
        })
    };
    let rows = [
        (
            "caniemail errors: Gmail / Outlook Windows / Outlook Windows Mail / Yahoo / Apple Mail",
            groups.map(errors).join(" / "),
        ),
        ("caniemail errors, all nine client groups", all.map(errors).join(" / ")),
        (
            "elements whose padding Outlook for Windows drops",
            m["paddedOutsideCells"].as_array().unwrap().len().to_string(),
        ),
        ("MSO conditional comments / VML buttons", format!("{} / {}", m["msoConditionals"], m["vmlButtons"])),
        ("SpamAssassin (local rules)", format!("{:.1}", spam + 0.0)),
        ("`<meta charset>` at byte", m["charsetAt"].to_string()),
        ("HTML part, bytes", m["bytes"].to_string()),
        ("images with width and height", {
            let images = m["images"].as_array().unwrap();
            let sized = images.iter().filter(|i| i["width"] == true && i["height"] == true).count();
            format!("{sized} of {}", images.len())
        }),
        ("lowest text contrast, email (both modes)", format!("{:.2}:1", min_ratio("email"))),
        ("lowest text contrast, web page (both modes)", format!("{:.2}:1", min_ratio("web"))),
    ];
    let mut out = format!("\n{name}\n| check | measured |\n| --- | --- |\n");
    for (check, value) in rows {
        out.push_str(&format!("| {check} | {value} |\n"));
    }
    out
}

/// Every target of issue 17 on one built issue.
fn assert_targets(fixture: &Fixture, name: &str) {
    let m = measure(fixture);
    let (spam, rules) = spamassassin(&fixture.path().join("out/9/email.eml"));
    println!("{}", table(name, &m, spam));

    for (group, result) in m["caniemail"].as_object().unwrap() {
        let errors = result["errors"].as_array().unwrap();
        assert!(
            errors.is_empty(),
            "{name}: caniemail errors for {group} (fix, or allowlist an enhancement): {errors:?}"
        );
    }
    assert_eq!(m["htmlValidate"]["email"], serde_json::json!([]), "{name}: html-validate on the email");
    assert_eq!(m["htmlValidate"]["web"], serde_json::json!([]), "{name}: html-validate on the web page");
    assert!(spam <= 0.1, "{name}: SpamAssassin scores {spam}:\n{rules}");
    assert!(m["bytes"].as_u64().unwrap() < 60 * 1024, "{name}: the HTML part is {} bytes", m["bytes"]);
    assert_eq!(m["paddedOutsideCells"], serde_json::json!([]), "{name}: padding Outlook for Windows drops");
    assert!(m["msoConditionals"].as_u64().unwrap() >= 2, "{name}: no 600 px ghost table for Outlook");
    assert_eq!(m["vmlButtons"], 1, "{name}: the sponsor's button needs its VML for Outlook for Windows");
    assert_eq!(m["charsetFirstInHead"], true, "{name}: <meta charset> must come first in <head>");
    assert!(m["charsetAt"].as_u64().unwrap() < 1024, "{name}: <meta charset> at byte {}", m["charsetAt"]);
    for image in m["images"].as_array().unwrap() {
        assert_eq!(image, &serde_json::json!({"width": true, "height": true, "alt": true}), "{name}: an image");
    }
    for (page, p) in m["pages"].as_object().unwrap() {
        let scroll = &p["scroll"];
        assert_eq!(scroll["scrollWidth"], scroll["clientWidth"], "{name}: {page} scrolls sideways");
        let low: Vec<_> =
            p["pairs"].as_array().unwrap().iter().filter(|x| x["ratio"].as_f64().unwrap() < 4.5).collect();
        assert!(low.is_empty(), "{name}: {page}: text under 4.5:1 contrast: {low:?}");
        let roles = &p["roles"];
        let looks = ["recommendation", "section", "link"].map(|r| roles[r].as_str().expect(r).to_string());
        assert!(
            looks[0] != looks[1] && looks[1] != looks[2] && looks[0] != looks[2],
            "{name}: {page}: titles, sections and links look alike: {roles}"
        );
        assert!(p["recommendationHeadings"].as_u64().unwrap() > 0, "{name}: {page}: recommendation titles are h3");
    }
}

/// The plain-text part: no link reference alone at a line's start, the
/// signature separator `-- `, and no line over 78 columns but for a URL.
fn assert_plain_text(fixture: &Fixture) {
    let text = fixture.read("out/9/email.txt");
    for line in text.lines() {
        let trimmed = line.trim();
        let lone_ref = trimmed.starts_with('[') && !trimmed.contains("://");
        assert!(!lone_ref, "a link reference starts a line: {line:?}");
        let width = unicode_width::UnicodeWidthStr::width(line);
        assert!(width <= 78 || line.contains("://"), "a line of {width} columns: {line:?}");
    }
    assert!(text.lines().any(|l| l == "-- "), "no signature separator `-- `");
    assert!(text.contains("LINKS\n\n[1] https://"), "the links list");
}

#[test]
fn issue9_email_meets_the_client_checks_in_light_and_dark() {
    let fixture = Fixture::reference();
    fixture.run(&["build", "9"]).success();
    assert_targets(&fixture, "issue 9");
    assert_plain_text(&fixture);
}

#[test]
fn an_issue_in_six_writing_systems_meets_the_client_checks_in_light_and_dark() {
    let fixture = unicode_heavy();
    fixture.run(&["build", "9"]).success();
    assert_targets(&fixture, "issue 9 in six writing systems");
    assert_plain_text(&fixture);
    assert!(fixture.read("out/9/email.html").contains("本周亚洲 🇸🇬"), "the title as written");
}

/// A take with a heading, a table and right-to-left text meets every check the
/// reference issue does: html-validate (no <th> without its scope, no inline
/// style on a cell), caniemail, contrast, no sideways scroll.
#[test]
fn an_issue_with_a_table_headings_and_right_to_left_text_meets_the_client_checks() {
    let fixture = Fixture::reference();
    fixture.edit("issues/009.toml", "title = \"China AI dreams of Sora\"", "title = \"الذكاء الاصطناعي في آسيا\"");
    let table = "# عنوان فرعي\n\n| Market | Share |\n|---|--:|\n| 日本 | 40% |\n| Korea | 7% |\n\nهذا نص عربي.\n\n";
    fixture.edit("issues/009.toml", "take = \"\"\"\n", &format!("take = \"\"\"\n{table}"));
    fixture.run(&["build", "9"]).success();
    assert_targets(&fixture, "issue 9 with a table, headings and right-to-left text");
    assert_plain_text(&fixture);
    assert!(fixture.read("out/9/email.html").contains("<th scope=\"col\""), "the table is in the email");
}

/// A word, a URL and a title too long for any line (a 300-letter word, a
/// pasted 300-character link, a section name with no space) break inside the
/// column: neither the email nor the web page scrolls sideways at 600, 375 or 320 px
/// (they once grew to some 3,500 px, the whole column with them).
#[test]
fn an_unbreakable_word_or_link_never_makes_the_email_or_page_scroll_sideways() {
    let fixture = Fixture::reference();
    let word = "w".repeat(300);
    let link = format!("https://example.com/{}", "a".repeat(280));
    fixture.edit("issues/009.toml", "take = \"\"\"\n", &format!("take = \"\"\"\n{word}\n\n<{link}>\n\n"));
    fixture.edit("issues/009.toml", "name = \"AI\"", &format!("name = \"{}\"", "AI".repeat(60)));
    fixture.run(&["build", "9"]).success();
    let m = measure(&fixture);
    let pages = m["pages"].as_object().unwrap();
    assert_eq!(pages.len(), 12, "email and web page, light and dark, 600, 375 and 320 px");
    for (page, p) in pages {
        let scroll = &p["scroll"];
        assert_eq!(scroll["scrollWidth"], scroll["clientWidth"], "{page} scrolls sideways");
    }
}

/// A fenced code block with a line longer than a phone's screen (a pasted
/// command, a log line) wraps inside the take: neither the email nor the web
/// page scrolls sideways at 320 px (the email grew to some 2,800 px, the whole
/// column with it, as `<pre>` keeps its lines), and the email meets every other
/// client check.
#[test]
fn a_code_block_with_a_long_line_never_makes_the_email_or_page_scroll_sideways() {
    let fixture = Fixture::reference();
    let line = format!(
        "curl -fsSL 'https://example.com/install.sh?version=1.2.3&channel=stable' {}",
        "--flag ".repeat(30).trim_end()
    );
    fixture.edit("issues/009.toml", "take = \"\"\"\n", &format!("take = \"\"\"\n```\n{line}\n```\n\n"));
    fixture.run(&["build", "9"]).success();
    assert!(fixture.read("out/9/email.html").contains("<pre"), "the code block is a code block");
    // Every client check, the sideways scroll at 600, 375 and 320 px among them.
    assert_targets(&fixture, "issue 9 with a long line of code");
}

/// A real PNG of `width` × `height` (one grey row repeated), written with zlib by Python.
fn write_png(fixture: &Fixture, relative: &str, width: u32, height: u32) {
    let script = r#"
import struct, sys, zlib
w, h, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
chunk = lambda t, d: struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
raw = (b'\0' + b'\x80' * w) * h
png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) \
    + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
open(path, 'wb').write(png)
"#;
    let path = fixture.path().join(relative);
    let out = Command::new(crate::support::python())
        .args(["-c", script, &width.to_string(), &height.to_string()])
        .arg(&path)
        .output()
        .expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_cover_gets_width_and_height_from_its_file_so_a_blocked_image_keeps_its_place() {
    let fixture = Fixture::reference();
    fixture.run(&["build", "9"]).success();
    // media/009-cover.png is 1200 × 630: 600 px wide in the email, so 315 high.
    assert!(fixture.read("out/9/email.html").contains("width=\"600\" height=\"315\""));

    write_png(&fixture, "media/portrait.png", 800, 1000);
    fixture.edit("issues/009.toml", "src = \"media/009-cover.png\"", "src = \"media/portrait.png\"");
    fixture.run(&["build", "9"]).success();
    let html = fixture.read("out/9/email.html");
    assert!(html.contains("width=\"600\" height=\"750\""), "800 × 1000 shown 600 wide is 750 high");
    assert!(html.contains("alt=\"A red sun"), "the alt text stays");

    fixture.write("media/portrait.png", "GIF89a not a PNG");
    let run = fixture.run(&["check", "9"]);
    assert!(
        run.stderr().contains("cannot read the size of media/portrait.png") && run.stderr().contains("PNG or JPEG"),
        "{}",
        run.stderr()
    );
}

/// A base URL with a CJK path is refused where it is written, with its
/// percent-encoded form as the fix: it went into the List-Unsubscribe header as
/// RFC 2047 encoded words, which no mail client reads as a link (one-click
/// unsubscribe was gone), and into the text part's links, which autolinkers cut.
/// Written as the help says, the header holds the link itself.
#[test]
fn a_base_url_with_a_cjk_path_is_refused_with_its_ascii_form_which_unsubscribes() {
    let fixture = Fixture::reference();
    let written = "base_url = \"https://www.analyse.asia/本周亚洲\"";
    fixture.edit("publish.toml", "base_url = \"https://www.analyse.asia/this-week-in-asia\"", written);
    let run = fixture.run(&["build", "9"]).failure(1);
    let err = run.stderr();
    assert!(err.contains("publish.toml:6:12: error: base_url has \"本\", which the List-Unsubscribe header"), "{err}");
    let ascii = "https://www.analyse.asia/%E6%9C%AC%E5%91%A8%E4%BA%9A%E6%B4%B2";
    assert!(err.contains(&format!("help: write it percent-encoded: base_url = \"{ascii}\"")), "{err}");
    assert!(!fixture.path().join("out/9").exists(), "nothing is written");

    fixture.edit("publish.toml", written, &format!("base_url = \"{ascii}\""));
    fixture.run(&["build", "9"]).success();
    let script = r#"
import email, email.policy, sys
raw = open(sys.argv[1], 'rb').read()
m = email.message_from_bytes(raw, policy=email.policy.default)
head = raw.split(b'\r\n\r\n', 1)[0].decode('ascii')
print(str(m['List-Unsubscribe']))
print('=?' in head.split('List-Unsubscribe:', 1)[1].split('\r\nList-Unsubscribe-Post')[0])
"#;
    let out = crate::support::run_python(script, &[&fixture.path().join("out/9/email.eml")]);
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with(&format!("<{ascii}/unsubscribe?t=")), "{header}");
    assert_eq!(lines.next(), Some("False"), "no encoded words in List-Unsubscribe");
}

/// A sender or reply-to address that is not ASCII is refused where it is
/// written, an IDN domain with its punycode as the fix: it went raw into From
/// (which servers without SMTPUTF8 refuse) and into List-Unsubscribe's mailto
/// as encoded words, which no mail client reads.
#[test]
fn a_sender_address_that_is_not_ascii_is_refused_with_an_ascii_fix() {
    let fixture = Fixture::reference();
    fixture.edit("publish.toml", "email = \"newsletter@analyse.asia\"", "email = \"新闻@analyse.asia\"");
    fixture.edit("publish.toml", "reply_to = \"hello@analyse.asia\"", "reply_to = \"hello@例え.jp\"");
    let run = fixture.run(&["build", "9"]).failure(1);
    let err = run.stderr();
    assert!(
        err.contains("publish.toml:12:9: error: \"新闻@analyse.asia\" has \"新\": mail headers cannot carry it"),
        "{err}"
    );
    assert!(err.contains("help: use an address written in ASCII letters"), "{err}");
    assert!(err.contains("publish.toml:13:12: error: \"hello@例え.jp\" has \"例\""), "{err}");
    assert!(err.contains("help: write its domain in ASCII: hello@xn--r8jz45g.jp"), "{err}");
    assert!(!fixture.path().join("out/9").exists(), "nothing is written");
}
