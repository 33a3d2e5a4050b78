//! `publish new` and `publish add`: starting the next issue and turning link records into recommendations.

use crate::support::{Fixture, repo};

/// The seed link record (a copy of ../shared/seeds/000_8d43bc0dd4819208.txt).
fn seed() -> String {
    repo().join("tests/fixtures/records/000_8d43bc0dd4819208.txt").to_string_lossy().into_owned()
}

const SEED_URL: &str = "https://www.technologyreview.com/2023/06/14/1074434/asias-opportunity-for-generative-ai/";

/// The reference workspace with issue 10 started a week after issue 9.
fn with_issue_10() -> Fixture {
    let fixture = Fixture::reference();
    let run = fixture.command(&["new"]).env("PUBLISH_NOW", "2024-03-07T20:00:00Z").run().success();
    assert_eq!(run.stdout().trim(), "issues/010.toml");
    fixture
}

/// A link record written into the fixture; returns its path as given to `publish add`.
fn record(fixture: &Fixture, name: &str, text: &str) -> String {
    fixture.write(&format!("links/{name}"), text);
    fixture.path().join("links").join(name).to_string_lossy().into_owned()
}

#[test]
fn new_starts_issue_10_from_the_skeleton_of_issue_9() {
    let fixture = with_issue_10();
    let text = fixture.read("issues/010.toml");
    let issue: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(issue["date"].to_string(), "2024-03-08", "today in Asia/Singapore, not in UTC");
    assert!(!issue.contains_key("send_at"), "{text}");
    let names: Vec<&str> = issue["sections"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["AI", "China", "India", "Japan, Korea, Taiwan & Hong Kong", "Southeast Asia", "Crypto & Bad Boys in Asia"]
    );
    assert!(!text.contains("[[sections.recommendations]]"), "no recommendations are carried over: {text}");
    assert!(!issue.contains_key("sponsor"), "issue 9 named its sponsor; issue 10 rotates: {text}");
    assert!(text.contains("# sponsor = \"esevel\""), "the named sponsor is left as a comment: {text}");
    assert!(text.contains("# send_at = 2024-03-08T09:00:00+08:00"), "{text}");

    let run = fixture.run(&["check", "10"]).success();
    assert!(run.stderr().contains("the title is still the placeholder"), "{}", run.stderr());
}

#[test]
fn new_then_add_the_seed_yields_an_issue_that_checks_and_renders() {
    let fixture = with_issue_10();
    let run = fixture.run(&["add", "10", &seed(), "--section", "AI"]).success();
    assert!(run.stderr().contains("added 1 recommendation to section \"AI\" of issues/010.toml"), "{}", run.stderr());

    let issue: toml::Table = toml::from_str(&fixture.read("issues/010.toml")).unwrap();
    let rec = &issue["sections"].as_array().unwrap()[0]["recommendations"].as_array().unwrap()[0];
    assert_eq!(rec["title"].as_str(), Some("Asia’s opportunity for generative AI"));
    assert_eq!(rec["url"].as_str(), Some(SEED_URL));
    assert_eq!(rec["source"].as_str(), Some("MIT Technology Review"));
    assert_eq!(rec["take"].as_str(), Some(""), "the take is for the editor to write");
    let text = fixture.read("issues/010.toml");
    assert!(text.contains("#   Generative AI offers particularly strong potential"), "the excerpt is a draft: {text}");
    assert!(text.contains("# Published 2023-06-15. Topics: Microsoft AI, AI, AI in Robotics."), "{text}");

    let run = fixture.run(&["check", "10"]).success();
    let err = run.stderr();
    assert!(err.contains("warning: \"Asia’s opportunity for generative AI\" has no take"), "{err}");
    assert!(err.contains("issue 10: no errors"), "{err}");

    fixture.run(&["build", "10"]).success();
    let html = fixture.read("out/10/email.html");
    assert!(html.contains("Asia’s opportunity for generative AI"), "the recommendation renders");
    assert!(html.contains(SEED_URL));
    assert!(fixture.read("out/10/email.txt").contains("MIT Technology Review"));
}

#[test]
fn add_leaves_every_other_byte_of_the_issue_file_as_it_was() {
    // Issue 9 is hand-written: header comments, a commented-out send_at, rules between
    // sections, comments in empty sections, related links after a recommendation.
    let fixture = Fixture::reference();
    let before = fixture.read("issues/009.toml");
    fixture.run(&["add", "9", &seed(), "--section", "Japan, Korea, Taiwan & Hong Kong"]).success();
    let after = fixture.read("issues/009.toml");

    let start = after.find("[[sections.recommendations]]\n# Published").expect("the new recommendation");
    let end = start + after[start..].find("take = \"\"\"\n\"\"\"\n").unwrap() + "take = \"\"\"\n\"\"\"\n".len();
    let without = format!("{}{}", &after[..start - 1], &after[end..]);
    assert_eq!(without, before, "only the new recommendation was added");
    let related = before.find("url = \"https://www.reuters.com/business/media-telecom/\"\n").unwrap();
    assert!(start > related, "the recommendation goes after the section's last one, related links included");
    assert!(start < before.find("name = \"Southeast Asia\"").unwrap(), "and before the next section");

    let run = fixture.run(&["check", "9"]).success();
    assert!(run.stderr().contains("has no take"), "{}", run.stderr());
}

#[test]
fn a_link_already_in_the_issue_is_refused_in_any_spelling() {
    let fixture = with_issue_10();
    fixture.run(&["add", "10", &seed(), "--section", "AI"]).success();
    let before = fixture.read("issues/010.toml");

    let run = fixture.run(&["add", "10", &seed(), "--section", "China"]).failure(1);
    assert!(run.stderr().contains(":6:14: error: this link is already in the issue"), "{}", run.stderr());
    assert!(run.stderr().contains("in section \"AI\""), "{}", run.stderr());

    let variant = record(
        &fixture,
        "variant.md",
        "---\ntitle: \"Asia's opportunity for generative AI\"\n\
         originalUrl: http://WWW.TechnologyReview.com/2023/06/14/1074434/asias-opportunity-for-generative-ai?utm_source=x&utm_medium=email&fbclid=1\n\
         ---\n",
    );
    let run = fixture.run(&["add", "10", &variant, "--section", "AI"]).failure(1);
    assert!(
        run.stderr().contains(&format!("{variant}:3:14: error: this link is already in the issue")),
        "{}",
        run.stderr()
    );
    assert_eq!(fixture.read("issues/010.toml"), before, "nothing was written");
}

#[test]
fn unknown_section_is_refused_with_the_nearest_name() {
    let fixture = with_issue_10();
    let before = fixture.read("issues/010.toml");
    let run = fixture.run(&["add", "10", &seed(), "--section", "Crypto and Bad Boys"]).failure(1);
    let err = run.stderr();
    assert!(err.contains("issues/010.toml: error: no section \"Crypto and Bad Boys\""), "{err}");
    assert!(err.contains("did you mean \"Crypto & Bad Boys in Asia\"?"), "{err}");
    assert!(err.contains("--new-section"), "{err}");
    assert_eq!(fixture.read("issues/010.toml"), before);

    fixture.run(&["add", "10", &seed(), "--section", "Deep Dive", "--new-section"]).success();
    let issue: toml::Table = toml::from_str(&fixture.read("issues/010.toml")).unwrap();
    let last = issue["sections"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["name"].as_str(), Some("Deep Dive"));
    assert_eq!(last["recommendations"].as_array().unwrap()[0]["url"].as_str(), Some(SEED_URL));
}

#[test]
fn broken_records_are_located_and_nothing_is_written() {
    let fixture = with_issue_10();
    let before = fixture.read("issues/010.toml");
    let cases = [
        ("no-front-matter.md", "title: A link\noriginalUrl: https://example.com/a\n", "1:1: error: no front matter"),
        (
            "unclosed.md",
            "---\ntitle: A link\noriginalUrl: https://example.com/a\n",
            "1:1: error: the front matter is not closed",
        ),
        (
            "no-title.md",
            "---\nexcerpt: Text\noriginalUrl: https://example.com/a\n---\n",
            "1:1: error: the record has no title",
        ),
        (
            "empty-title.md",
            "---\ntitle: \"\"\noriginalUrl: https://example.com/a\n---\n",
            "2:1: error: the title is empty",
        ),
        ("no-url.md", "---\ntitle: A link\nprovider:\n  name: Example\n---\n", "1:1: error: the record has no URL"),
        (
            "title-list.md",
            "---\ntitle: [A, link]\noriginalUrl: https://example.com/a\n---\n",
            "2:8: error: the title is not text",
        ),
        ("bad-url.md", "---\ntitle: A link\nwebUrl: example.com/a\n---\n", "3:9: error: webUrl is not a web address"),
        (
            "bad-yaml.md",
            "---\ntitle: A link\nexcerpt: [one, two\noriginalUrl: https://example.com/a\n---\n",
            "error: invalid YAML",
        ),
        (
            "bad-indent.md",
            "---\ntitle: A link\n  excerpt: x\noriginalUrl: https://example.com/a\n---\n",
            "3:10: error: invalid YAML",
        ),
    ];
    for (name, text, expected) in cases {
        let path = record(&fixture, name, text);
        let run = fixture.run(&["add", "10", &path, "--section", "AI"]).failure(1);
        let err = run.stderr();
        let location = if expected.starts_with("error") { format!("{path}:") } else { format!("{path}:{expected}") };
        assert!(err.contains(&location) && err.contains(expected), "{name}: expected {expected:?} in\n{err}");
        assert!(err.contains("nothing was added to issues/010.toml"), "{err}");
        assert_eq!(fixture.read("issues/010.toml"), before, "{name}: the issue file is untouched");
    }
}

#[test]
fn several_records_are_all_added_or_none() {
    let fixture = with_issue_10();
    let before = fixture.read("issues/010.toml");
    let good = record(&fixture, "good.md", "---\ntitle: Good\noriginalUrl: https://example.com/good\n---\n");
    let bad = record(&fixture, "bad.md", "---\ntitle: Bad\n---\n");
    let run = fixture.run(&["add", "10", &seed(), &good, &bad, "--section", "AI"]).failure(1);
    assert!(run.stderr().contains(&format!("{bad}:1:1: error: the record has no URL")), "{}", run.stderr());
    assert_eq!(fixture.read("issues/010.toml"), before, "the good records were not added either");

    let twice = record(&fixture, "twice.md", "---\ntitle: Good again\nwebUrl: https://example.com/good/\n---\n");
    let run = fixture.run(&["add", "10", &good, &twice, "--section", "AI"]).failure(1);
    assert!(run.stderr().contains("this link is also in another record given"), "{}", run.stderr());
    assert_eq!(fixture.read("issues/010.toml"), before);

    fixture.run(&["add", "10", &seed(), &good, "--section", "AI"]).success();
    let issue: toml::Table = toml::from_str(&fixture.read("issues/010.toml")).unwrap();
    let titles: Vec<&str> = issue["sections"].as_array().unwrap()[0]["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Asia’s opportunity for generative AI", "Good"], "in the order given");
}

#[test]
fn add_to_a_missing_issue_says_how_to_start_it() {
    let fixture = Fixture::reference();
    let run = fixture.run(&["add", "10", &seed(), "--section", "AI"]).failure(1);
    assert!(run.stderr().contains("there is no issue 10"), "{}", run.stderr());
    assert!(run.stderr().contains("publish new"), "{}", run.stderr());
}

#[cfg(unix)]
#[test]
fn new_never_overwrites_what_is_at_the_next_issue_s_path() {
    // A dangling link is not an issue file, so 10 is still the next number, but
    // issues/010.toml is taken: `publish new` must not replace it.
    let fixture = Fixture::reference();
    std::os::unix::fs::symlink("../drafts/010.toml", fixture.path().join("issues/010.toml")).unwrap();
    let run = fixture.run(&["new"]).failure(1);
    assert!(run.stderr().contains("issues/010.toml already exists; nothing was written"), "{}", run.stderr());
    assert!(run.stderr().contains("never overwrites"), "{}", run.stderr());
    assert!(fixture.path().join("issues/010.toml").symlink_metadata().unwrap().file_type().is_symlink());
    assert!(!fixture.path().join("drafts").exists());
}

#[test]
fn new_keeps_the_file_names_zero_padding() {
    let fixture = Fixture::empty();
    for file in ["publish.toml", "sponsors.toml"] {
        fixture.copy_from_repo(file);
    }
    fixture.write("issues/9.toml", "title = \"Nine\"\ndate = 2024-03-01\nsponsor = \"none\"\n");
    let run = fixture.run(&["new"]).success();
    assert_eq!(run.stdout().trim(), "issues/10.toml");
    let text = fixture.read("issues/10.toml");
    assert!(text.contains("\nsponsor = \"none\"\n"), "no sponsor stays no sponsor: {text}");
    assert!(text.contains("--new-section"), "an issue without sections says how to start one: {text}");
}

#[test]
fn add_to_an_issue_saved_on_windows_keeps_its_crlf_line_ends_and_byte_order_mark() {
    let fixture = with_issue_10();
    let unix = fixture.read("issues/010.toml");
    let windows = format!("\u{feff}{}", unix.replace('\n', "\r\n"));
    fixture.write("issues/010.toml", &windows);
    fixture.run(&["add", "10", &seed(), "--section", "AI"]).success();

    let after = std::fs::read(fixture.path().join("issues/010.toml")).unwrap();
    let after = String::from_utf8(after).unwrap();
    assert!(after.starts_with('\u{feff}'), "the byte-order mark stays: {:?}", &after[..20]);
    assert_eq!(after.matches('\n').count(), after.matches("\r\n").count(), "every line still ends in CRLF: {after:?}");
    let start = after.find("[[sections.recommendations]]").expect("the new recommendation");
    let end = start + after[start..].find("take = \"\"\"\r\n\"\"\"\r\n").unwrap() + "take = \"\"\"\r\n\"\"\"\r\n".len();
    assert_eq!(format!("{}{}", &after[..start - 2], &after[end..]), windows, "only the recommendation was added");
    fixture.run(&["check", "10"]).success();
}

#[cfg(unix)]
#[test]
fn add_to_a_linked_issue_file_writes_the_file_linked_to_and_keeps_the_link() {
    use std::os::unix::fs::PermissionsExt;
    let fixture = with_issue_10();
    std::fs::create_dir(fixture.path().join("drafts")).unwrap();
    std::fs::rename(fixture.path().join("issues/010.toml"), fixture.path().join("drafts/010.toml")).unwrap();
    std::os::unix::fs::symlink("../drafts/010.toml", fixture.path().join("issues/010.toml")).unwrap();
    let shared = std::fs::Permissions::from_mode(0o664);
    std::fs::set_permissions(fixture.path().join("drafts/010.toml"), shared).unwrap();

    fixture.run(&["add", "10", &seed(), "--section", "AI"]).success();
    let link = fixture.path().join("issues/010.toml").symlink_metadata().unwrap();
    assert!(link.file_type().is_symlink(), "issues/010.toml is still a link");
    assert!(fixture.read("drafts/010.toml").contains(SEED_URL), "the file linked to holds the recommendation");
    let mode = std::fs::metadata(fixture.path().join("drafts/010.toml")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o664, "the file keeps its permissions");
}

#[test]
fn a_control_character_in_a_record_is_refused_at_its_line_and_nothing_is_added() {
    let fixture = with_issue_10();
    let before = fixture.read("issues/010.toml");
    let bell = record(
        &fixture,
        "bell.md",
        "---\noriginalUrl: https://example.com/bell\ntitle: \"Ring \\u0007 the bell\"\nprovider:\n  name: Bells\n---\n",
    );
    let run = fixture.run(&["add", "10", &bell, "--section", "AI"]).failure(1);
    let err = run.stderr();
    assert!(
        err.contains(&format!("{bell}:3:8: error: the title has an invisible control character (U+0007)")),
        "{err}"
    );
    assert!(err.contains("nothing was added to issues/010.toml"), "{err}");
    assert_eq!(fixture.read("issues/010.toml"), before);
}

#[test]
fn a_new_section_without_a_name_is_refused_and_nothing_is_added() {
    let fixture = with_issue_10();
    let before = fixture.read("issues/010.toml");
    for name in ["", "  "] {
        let run = fixture.run(&["add", "10", &seed(), "--section", name, "--new-section"]).failure(1);
        let err = run.stderr();
        assert!(err.contains("issues/010.toml: error: --section is empty: a section needs a name"), "{err}");
        assert!(err.contains("nothing was added to issues/010.toml"), "{err}");
        assert_eq!(fixture.read("issues/010.toml"), before);
    }
}

#[test]
fn a_new_section_named_on_two_lines_is_refused_and_nothing_is_added() {
    let fixture = with_issue_10();
    let before = fixture.read("issues/010.toml");
    let run = fixture.run(&["add", "10", &seed(), "--section", "Deep\nDive", "--new-section"]).failure(1);
    let err = run.stderr();
    assert!(err.contains("issues/010.toml: error: --section has a line break"), "{err}");
    assert!(err.contains("give the section's name on one line"), "{err}");
    assert_eq!(fixture.read("issues/010.toml"), before);
}

#[test]
fn add_to_an_issue_not_saved_as_utf8_names_the_place_and_adds_nothing() {
    let fixture = with_issue_10();
    let mut bytes = std::fs::read(fixture.path().join("issues/010.toml")).unwrap();
    bytes.extend_from_slice(b"# Caf\xe9\n");
    std::fs::write(fixture.path().join("issues/010.toml"), &bytes).unwrap();
    let lines = bytes.iter().filter(|&&b| b == b'\n').count();
    let run = fixture.run(&["add", "10", &seed(), "--section", "AI"]).failure(1);
    let err = run.stderr();
    let place = format!("issues/010.toml:{lines}:6: error: the file is not UTF-8 text (byte 0xE9 here)");
    assert!(err.contains(&place), "{err}");
    assert!(err.contains("save it as UTF-8") && err.contains("nothing was added to issues/010.toml"), "{err}");
    assert_eq!(std::fs::read(fixture.path().join("issues/010.toml")).unwrap(), bytes);
}

#[test]
fn new_after_an_issue_not_saved_as_utf8_says_so_and_where_to_look() {
    let fixture = Fixture::reference();
    let mut bytes = std::fs::read(fixture.path().join("issues/009.toml")).unwrap();
    bytes.extend_from_slice(b"# Caf\xe9\n");
    std::fs::write(fixture.path().join("issues/009.toml"), &bytes).unwrap();
    let run = fixture.run(&["new"]).failure(1);
    let err = run.stderr();
    assert!(err.contains("issues/009.toml is not UTF-8 text") && err.contains("run `publish check 9`"), "{err}");
    assert!(!fixture.path().join("issues/010.toml").exists());
    let run = fixture.run(&["check", "9"]).failure(1);
    assert!(run.stderr().contains("error: the file is not UTF-8 text (byte 0xE9 here)"), "{}", run.stderr());
}
