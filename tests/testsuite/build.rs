//! `publish build`: the reference issue rendered to email and web.

use crate::support::{Fixture, without_episode, without_template_scripts};

/// Every recommendation of the seed newsletter, by a phrase of its title and of its take.
const SEED_RECOMMENDATIONS: &[(&str, &str)] = &[
    ("pours ‘cold water’ on China’s AI dreams", "SuperClue team's benchmarks"),
    ("Disney, Reliance said to ink binding India media merger pact", "activist shareholder Nelson Peltz"),
    ("Morris Chang predicts Japan 'chip renaissance'", "power semiconductors for automotive applications"),
    ("SK Telecom partners with AI search startup Perplexity in Korea", "our lack of faith in the telcos"),
    ("HTX, formerly Huobi withdraws Hong Kong crypto licence application", "aftermath in 2023"),
    ("Do Kwon to miss start of US SEC fraud trial", "curve balls might happen"),
    ("How fallen crypto kingpins Su Zhu and Kyle Davies are dodging prison", "Kyle was not sorry"),
];

fn built() -> Fixture {
    let fixture = Fixture::reference();
    fixture.run(&["build", "9"]).success();
    fixture
}

/// Undoes HTML entity escaping and line wrapping, so a phrase can be searched for.
fn flat(text: &str) -> String {
    let text = text.replace("&#x27;", "'").replace("&#39;", "'").replace("&quot;", "\"").replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn every_recommendation_of_the_seed_is_in_html_text_and_web_page() {
    let fixture = built();
    for file in ["out/9/email.html", "out/9/email.txt", "out/9/index.html"] {
        let text = flat(&fixture.read(file));
        for (title, take) in SEED_RECOMMENDATIONS {
            assert!(text.contains(title), "{file} lacks the title {title:?}");
            assert!(text.contains(take), "{file} lacks the take ending {take:?}");
        }
        for block in ["Our Sponsor", "Our Ask", "Image Credits", "TnJADvhNrRgCTPvD", "ASIA"] {
            assert!(text.to_lowercase().contains(&block.to_lowercase()), "{file} lacks {block:?}");
        }
    }
}

#[test]
fn empty_sections_are_left_out_with_a_warning() {
    let fixture = Fixture::reference();
    let run = fixture.run(&["build", "9"]).success();
    assert!(run.stderr().contains("section \"China\" has no recommendations"), "{}", run.stderr());
    assert!(run.stderr().contains("section \"Southeast Asia\" has no recommendations"), "{}", run.stderr());
    let html = fixture.read("out/9/email.html");
    assert!(!html.contains(">Southeast Asia<"));
    assert!(html.contains(">India<"));
    assert!(!fixture.read("out/9/email.txt").contains("SOUTHEAST ASIA"));
}

#[test]
fn html_email_is_inlined_small_and_has_what_mail_clients_need() {
    let fixture = built();
    let html = fixture.read("out/9/email.html");
    assert!(html.len() < 102 * 1024, "Gmail clips above 102 KB: {} bytes", html.len());
    assert!(html.contains(r#"<meta name="color-scheme" content="light dark">"#));
    assert!(html.contains("max-width: 600px") || html.contains("max-width:600px"), "no 600px container");
    assert!(html.contains("prefers-color-scheme: dark"), "dark mode rules must survive inlining");
    // The class rules were moved onto the elements.
    assert!(html.contains(r##"class="take" bgcolor="#f6f3ee" style=""##), "CSS was not inlined");
    assert!(html.contains(r#"alt="A red sun"#), "the image needs its alt text");
    assert!(
        html.contains(">Unsubscribe</a>") && html.contains("https://www.analyse.asia/this-week-in-asia/unsubscribe?t=")
    );
    let view = html.find(">View in browser</a>").expect("a view-in-browser link");
    let tag_start = html[..view].rfind("<a ").unwrap();
    assert!(
        html[tag_start..view].contains(r#"href="https://www.analyse.asia/this-week-in-asia/9/""#),
        "{}",
        &html[tag_start..view]
    );
    assert!(html.contains("Sora pours cold water on China's AI race"), "preheader");
}

#[test]
fn text_part_is_wrapped_at_72_columns_with_numbered_links() {
    let fixture = built();
    let text = fixture.read("out/9/email.txt");
    for line in text.lines() {
        let width = line.chars().count();
        let is_url = line.split_whitespace().any(|w| w.starts_with("https://") && w.chars().count() > 60);
        assert!(width <= 72 || is_url, "line over 72 columns: {line:?}");
    }
    assert!(text.contains("ChinAI newsletter article [2]"), "links in takes become references");
    assert!(text.contains("[2] https://chinai.substack.com/"));
    assert!(text.contains("[8] https://www.reuters.com/technology/terraform-labs-co-founder-do-kwon-miss-start-us-sec-trial-2024-02-26/"), "URLs are never broken");
}

#[test]
fn eml_has_every_header_and_text_before_html() {
    let fixture = built();
    let eml = fixture.read("out/9/email.eml");
    let (headers, body) = eml.split_once("\r\n\r\n").expect("headers end with a blank line");
    for name in [
        "From:",
        "To:",
        "Subject:",
        "Date:",
        "Message-ID:",
        "List-Id:",
        "List-Unsubscribe:",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    ] {
        assert!(headers.lines().any(|l| l.starts_with(name)), "missing {name}\n{headers}");
    }
    assert!(headers.contains("Content-Type: multipart/alternative"), "{headers}");
    assert!(headers.contains("mailto:newsletter@analyse.asia?subject=unsubscribe"), "{headers}");
    assert!(headers.contains("Message-ID: <issue-9."), "{headers}");
    assert!(headers.contains("@analyse.asia>"), "Message-ID on the publication's domain: {headers}");
    let text_at = body.find("Content-Type: text/plain").expect("a text part");
    let html_at = body.find("Content-Type: text/html").expect("an HTML part");
    assert!(text_at < html_at, "text must come first in multipart/alternative");
}

#[test]
fn snapshot_of_the_text_part() {
    let fixture = built();
    insta::assert_snapshot!("issue9_email_txt", fixture.read("out/9/email.txt"));
}

#[test]
fn snapshot_of_the_html_part() {
    let fixture = built();
    insta::assert_snapshot!("issue9_email_html", fixture.read("out/9/email.html"));
}

#[test]
fn text_from_issue_files_is_escaped_everywhere() {
    let fixture = Fixture::reference();
    fixture.edit(
        "issues/009.toml",
        "title = \"China AI dreams of Sora\"",
        "title = \"Sora <script>alert('t')</script> & co\"",
    );
    fixture.edit(
        "issues/009.toml",
        "It is too early to say",
        "<script>alert('take')</script> <img src=x onerror=alert(1)> It is too early to say",
    );
    fixture.edit("issues/009.toml", "authors = [\"Krystal Hu\"]", "authors = [\"Krystal \\\"<b>Hu</b>\\\"\"]");
    fixture.run(&["build", "9"]).success();
    for file in ["out/9/email.html", "out/9/index.html"] {
        let html = without_template_scripts(&fixture.read(file));
        assert!(!html.contains("<script"), "{file} lets a <script> through");
        assert!(!html.contains("<img src=x"), "{file} lets raw HTML through");
        assert!(!html.contains("<b>Hu</b>"), "{file} lets raw HTML through");
        assert!(html.contains("&lt;script&gt;alert("), "{file} should show the script as text");
    }
    let eml = fixture.read("out/9/email.eml");
    let subject = eml.lines().find(|l| l.starts_with("Subject:")).unwrap();
    assert!(subject.contains("Sora <script>alert('t')</script> & co"), "the subject is plain text: {subject}");
}

#[test]
fn a_workspace_without_templates_uses_the_built_in_ones_and_overrides_win() {
    let fixture = Fixture::reference();
    fixture.run(&["build", "9"]).success();
    assert!(fixture.read("out/9/index.html").contains("What we are reading this week"));
    fixture.write("templates/web.html", "<p>custom {{ issue.title }} by {{ publication.name }}</p>\n");
    fixture.run(&["build", "9"]).success();
    assert_eq!(fixture.read("out/9/index.html"), "<p>custom China AI dreams of Sora by This Week in Asia</p>\n");
    assert!(
        fixture.read("out/9/email.html").contains("What we are reading this week"),
        "email.html keeps the built-in"
    );
}

#[test]
fn the_repository_templates_are_the_built_in_ones() {
    // A publisher copies templates/ to start customising: it must match what the binary renders.
    let fixture = Fixture::reference();
    for name in ["email.html", "email.txt", "web.html", "archive.html"] {
        fixture.copy_from_repo(&format!("templates/{name}"));
    }
    fixture.run(&["build", "9"]).success();
    let with_copies = fixture.read("out/9/email.html");
    let plain = Fixture::reference();
    plain.run(&["build", "9"]).success();
    assert_eq!(with_copies, plain.read("out/9/email.html"));
}

#[test]
fn archive_lists_every_issue_newest_first() {
    let fixture = Fixture::reference();
    let ten = without_episode(&fixture.read("issues/009.toml"))
        .replace("title = \"China AI dreams of Sora\"", "title = \"The tenth\"")
        .replace("date = 2024-03-01", "date = 2024-03-08");
    fixture.write("issues/010-tenth.toml", &ten);
    fixture.run(&["build", "10"]).success();
    let archive = fixture.read("out/index.html");
    let tenth = archive.find("The tenth").expect("issue 10 listed");
    let ninth = archive.find("China AI dreams of Sora").expect("issue 9 listed");
    assert!(tenth < ninth, "newest first");
}

#[test]
fn build_writes_nothing_when_the_issue_has_an_error() {
    let fixture = Fixture::reference();
    fixture.edit("issues/009.toml", "url = \"https://asia.nikkei.com/\"", "url = \"asia.nikkei.com\"");
    let run = fixture.run(&["build", "9"]).failure(1);
    assert!(run.stderr().contains("nothing was written"), "{}", run.stderr());
    assert!(!fixture.path().join("out").exists(), "out/ must not be created");
}

#[test]
fn a_failed_rebuild_leaves_the_previous_output_intact() {
    let fixture = built();
    let before = fixture.read("out/9/email.html");
    fixture.write("templates/email.txt", "{{ issue.no_such_field }}\n");
    let run = fixture.run(&["build", "9"]).failure(1);
    assert!(run.stderr().contains("templates/email.txt:1"), "{}", run.stderr());
    assert_eq!(fixture.read("out/9/email.html"), before);
}

/// Feed items are kept in `.publish/feed-items.bin` between builds: a rebuild
/// takes them from there (a planted change shows), an edited issue's items are
/// written again, and a damaged file is ignored and rewritten.
#[test]
fn feed_items_kept_between_builds_are_used_until_their_issue_changes_and_a_damaged_file_is_ignored() {
    let fixture = Fixture::reference();
    fixture.run(&["build", "9"]).success();
    let feeds = |f: &Fixture| (f.read("out/newsletter.xml"), f.read("out/feed.xml"));
    let first = feeds(&fixture);
    let kept_file = fixture.path().join(".publish/feed-items.bin");
    let kept = std::fs::read(&kept_file).unwrap();

    // Unchanged: the same feeds, from the kept items.
    fixture.run(&["build", "9"]).success();
    assert_eq!(feeds(&fixture), first);
    assert!(std::fs::read(&kept_file).unwrap() == kept, "nothing new to keep");

    // A kept item is taken as it is (its text changed only in the file shows up).
    // The planted title has the same length, so that the binary file stays well formed.
    let (title, planted_title) = ("China AI dreams of Sora", "A title planted in kept");
    let mut planted = kept.clone();
    let mut count = 0;
    while let Some(at) = planted.windows(title.len()).position(|w| w == title.as_bytes()) {
        planted[at..at + title.len()].copy_from_slice(planted_title.as_bytes());
        count += 1;
    }
    assert!(count >= 2, "issue 9's newsletter item and its episode");
    std::fs::write(&kept_file, &planted).unwrap();
    fixture.run(&["build", "9"]).success();
    let (newsletter, podcast) = feeds(&fixture);
    assert!(newsletter.contains(planted_title), "{newsletter}");
    assert!(podcast.contains(planted_title), "{podcast}");

    // A damaged file: ignored, the items written again, the file mended.
    for junk in [&b"{not postcard"[..], &kept[..kept.len() / 2], b""] {
        std::fs::write(&kept_file, junk).unwrap();
        fixture.run(&["build", "9"]).success();
        assert_eq!(feeds(&fixture), first, "after {junk:?}");
        assert!(std::fs::read(&kept_file).unwrap() == kept, "mended");
    }

    // The issue edited: its items are written again, with the new title.
    std::fs::write(&kept_file, &planted).unwrap();
    fixture.edit("issues/009.toml", "title = \"China AI dreams of Sora\"", "title = \"An edited title\"");
    fixture.run(&["build", "9"]).success();
    let (newsletter, podcast) = feeds(&fixture);
    for xml in [&newsletter, &podcast] {
        assert!(xml.contains("An edited title") && !xml.contains("planted"), "{xml}");
    }
}
