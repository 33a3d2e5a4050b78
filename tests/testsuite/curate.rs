//! `publish new`: starting the next issue from the last one's skeleton.

use crate::support::Fixture;

/// The reference workspace with issue 10 started a week after issue 9.
fn with_issue_10() -> Fixture {
    let fixture = Fixture::reference();
    let run = fixture.command(&["new"]).env("PUBLISH_NOW", "2024-03-07T20:00:00Z").run().success();
    assert_eq!(run.stdout().trim(), "issues/010.toml");
    fixture
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
