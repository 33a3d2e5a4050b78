//! `publish check`: every mistake at once, each with file:line:column and a hint.

use crate::support::Fixture;

#[test]
fn the_reference_workspace_passes_with_warnings_for_empty_sections() {
    let run = Fixture::reference().run(&["check"]).success();
    assert!(run.stderr().contains("no errors, 2 warnings"), "{}", run.stderr());
}

#[test]
fn unknown_key_gets_line_column_caret_and_nearest_key() {
    let fixture = Fixture::reference();
    fixture.edit("issues/009.toml", "take = \"\"\"\nThe decision", "tkae = \"\"\"\nThe decision");
    let run = fixture.run(&["check"]).failure(1);
    let err = run.stderr();
    let line = fixture.read("issues/009.toml").lines().position(|l| l.starts_with("tkae")).unwrap() + 1;
    assert!(err.contains(&format!("issues/009.toml:{line}:1: error: unknown key \"tkae\"")), "{err}");
    assert!(err.contains(&format!("{line} | tkae = \"\"\"")), "the line is shown: {err}");
    assert!(err.contains("| ^^^^"), "a caret under the key: {err}");
    assert!(err.contains("did you mean \"take\"?"), "{err}");
}

#[test]
fn every_error_in_the_workspace_is_reported_at_once() {
    let fixture = Fixture::reference();
    fixture.edit(
        "issues/009.toml",
        "authors = [\"Coco Feng\", \"Ben Jiang\"]",
        "autors = [\"Coco Feng\", \"Ben Jiang\"]",
    );
    fixture.edit("issues/009.toml", "source = \"Reuters\"", "sorce = \"Reuters\"");
    fixture.edit("publish.toml", "timezone = \"Asia/Singapore\"", "timezone = \"Asia/Singapur\"");
    fixture.edit("sponsors.toml", "url = \"https://esevel.com/\"", "url = \"esevel dot com\"");
    let run = fixture.run(&["check"]).failure(1);
    let err = run.stderr();
    assert!(err.contains("unknown key \"autors\"") && err.contains("did you mean \"authors\"?"), "{err}");
    assert!(err.contains("unknown key \"sorce\"") && err.contains("did you mean \"source\"?"), "{err}");
    let tz_line = fixture.read("publish.toml").lines().position(|l| l.starts_with("timezone")).unwrap() + 1;
    assert!(
        err.contains(&format!(
            "publish.toml:{tz_line}:12: error: unknown time zone \"Asia/Singapur\" (did you mean \"Asia/Singapore\"?)"
        )),
        "{err}"
    );
    assert!(err.contains("sponsors.toml:8:7: error: not a web address"), "{err}");
    assert!(err.contains("4 errors"), "{err}");
}

#[test]
fn semantic_errors_point_at_the_value() {
    let fixture = Fixture::reference();
    fixture.edit("issues/009.toml", "sponsor = \"esevel\"", "sponsor = \"esevl\"");
    fixture.edit("issues/009.toml", "date = 2024-03-01", "date = \"1st of March\"");
    fixture.edit("issues/009.toml", "url = \"https://asia.nikkei.com/\"", "url = \"ftp://asia.nikkei.com/\"");
    let run = fixture.run(&["check", "9"]).failure(1);
    let err = run.stderr();
    let text = fixture.read("issues/009.toml");
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert!(
        err.contains(&format!("issues/009.toml:{}:11: error: unknown sponsor \"esevl\"", line_of("sponsor = "))),
        "{err}"
    );
    assert!(err.contains("did you mean \"esevel\"?"), "{err}");
    assert!(
        err.contains(&format!("issues/009.toml:{}:8: error: the date must be a calendar date", line_of("date = "))),
        "{err}"
    );
    assert!(
        err.contains(&format!("issues/009.toml:{}:7: error: not a web address: the scheme \"ftp\"", line_of("ftp://"))),
        "{err}"
    );
}

#[test]
fn toml_syntax_error_is_located() {
    let fixture = Fixture::reference();
    fixture.edit("issues/009.toml", "title = \"China AI dreams of Sora\"", "title = \"China AI dreams of Sora");
    let run = fixture.run(&["check"]).failure(1);
    assert!(run.stderr().contains("issues/009.toml:4:"), "{}", run.stderr());
    assert!(run.stderr().contains("invalid TOML"), "{}", run.stderr());
}

#[test]
fn duplicate_issue_numbers_are_an_error() {
    let fixture = Fixture::reference();
    fixture.copy_from_repo("issues/009.toml");
    std::fs::copy(fixture.path().join("issues/009.toml"), fixture.path().join("issues/9-copy.toml")).unwrap();
    let run = fixture.run(&["check"]).failure(1);
    assert!(run.stderr().contains("issue 9 is also issues/009.toml"), "{}", run.stderr());
}

#[test]
fn a_line_break_in_the_title_is_header_injection_and_an_error() {
    let fixture = Fixture::reference();
    fixture.edit(
        "issues/009.toml",
        "title = \"China AI dreams of Sora\"",
        "title = \"China AI\\r\\nBcc: victim@example.com\"",
    );
    let run = fixture.run(&["check"]).failure(1);
    assert!(run.stderr().contains("issues/009.toml:4:9: error: the title has a line break"), "{}", run.stderr());
    fixture.run(&["build", "9"]).failure(1);
    assert!(!fixture.path().join("out").exists());
}

#[test]
fn missing_alt_text_and_missing_take_are_warnings_not_errors() {
    let fixture = Fixture::reference();
    fixture.write(
        "issues/012.toml",
        r#"title = "Twelve"
date = 2024-03-15
sponsor = "none"

[image]
src = "media/009-cover.png"

[[sections]]
name = "AI"

[[sections.recommendations]]
title = "A link without a take yet"
url = "https://example.com/a"
"#,
    );
    let run = fixture.run(&["check", "12"]).success();
    let err = run.stderr();
    assert!(err.contains("issues/012.toml:5:1: warning: the image has no alt text"), "{err}");
    assert!(err.contains("warning: \"A link without a take yet\" has no take"), "{err}");
    fixture.run(&["build", "12"]).success();
}

#[test]
fn a_broken_template_is_reported_with_its_line() {
    let fixture = Fixture::reference();
    fixture.write("templates/email.html", "<p>\n{% for x in %}\n</p>\n");
    let run = fixture.run(&["check"]).failure(1);
    assert!(run.stderr().contains("templates/email.html:2:"), "{}", run.stderr());
}

#[test]
fn not_a_publication_is_a_clear_error() {
    let fixture = Fixture::empty();
    let run = fixture.run(&["check"]).failure(1);
    assert!(run.stderr().contains("has no publish.toml"), "{}", run.stderr());
}

/// The exact report of a publication with the usual mistakes (a bad duration,
/// a bad URL, a typo in a key, a wrong type after CJK and emoji): what a user
/// sees, caret alignment included.
#[test]
fn the_report_of_every_mistake_reads_exactly_so() {
    let run = Fixture::publication("mistakes").run(&["check"]).failure(1);
    insta::assert_snapshot!("check_mistakes", run.stderr());
}

#[test]
fn check_json_prints_one_object_per_diagnostic() {
    let run = Fixture::publication("mistakes").run(&["check", "--json"]).failure(1);
    let stdout = run.stdout();
    let diagnostics: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    assert_eq!(diagnostics.len(), 4, "{stdout}");
    let typo = diagnostics.iter().find(|d| d["message"] == "unknown key \"tkae\"").expect("the typo");
    assert_eq!(typo["file"], "issues/001.toml");
    assert_eq!((typo["line"].as_u64(), typo["column"].as_u64()), (Some(12), Some(1)));
    assert_eq!(typo["severity"], "error");
    assert_eq!(typo["help"], "did you mean \"take\"?");
    for d in &diagnostics {
        for key in ["file", "line", "column", "severity", "message", "help"] {
            assert!(d.get(key).is_some(), "{key} missing in {d}");
        }
    }
    assert!(!stdout.contains("-->") && !stdout.contains(" | "), "no human report on stdout with --json");
}

/// The issue files are found from the folder's listing: a link to an issue
/// file is read, while a folder or a dangling link named like one is not a file.
#[test]
fn issue_files_listed_follow_links_and_skip_folders_and_dangling_links() {
    let fixture = Fixture::reference();
    let ten = crate::support::without_episode(&fixture.read("issues/009.toml")).replacen(
        "date = 2024-03-01",
        "date = 2024-03-08",
        1,
    );
    fixture.write("drafts/010.toml", &ten);
    std::os::unix::fs::symlink("../drafts/010.toml", fixture.path().join("issues/010.toml")).unwrap();
    std::fs::create_dir(fixture.path().join("issues/011.toml")).unwrap();
    std::os::unix::fs::symlink("../drafts/missing.toml", fixture.path().join("issues/012.toml")).unwrap();
    let run = fixture.run(&["check"]).success();
    let err = run.stderr();
    assert!(err.contains("issues/010.toml:"), "the linked issue is read and checked: {err}");
    assert!(!err.contains("011") && !err.contains("012"), "{err}");
    fixture.run(&["build", "10"]).success();
    assert!(fixture.path().join("out/10/index.html").is_file());
    fixture.run(&["build", "11"]).failure(1);
}

/// An issue file saved by an older Windows editor (Windows-1252: é is the byte
/// 0xE9) is an error at that byte, in the report and in --json, and the other
/// issues are still checked and built.
#[test]
fn an_issue_file_not_saved_as_utf8_is_located_and_the_others_still_build() {
    let fixture = Fixture::reference();
    let bytes = b"title = \"Caf\xe9 society\"\ndate = 2024-03-08\nsponsor = \"none\"\nintro = \"Cr\xe8me\"\n";
    std::fs::write(fixture.path().join("issues/010.toml"), bytes).unwrap();
    let run = fixture.run(&["check"]).failure(1);
    let err = run.stderr();
    assert!(err.contains("issues/010.toml:1:13: error: the file is not UTF-8 text (byte 0xE9 here)"), "{err}");
    assert!(err.contains("save it as UTF-8"), "{err}");
    assert!(err.contains("the workspace: 1 error"), "issue 9 was checked too: {err}");

    let run = fixture.run(&["check", "--json"]).failure(1);
    let diagnostics: Vec<serde_json::Value> = run.stdout().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let json = diagnostics.iter().find(|d| d["file"] == "issues/010.toml").expect("issue 10's error in --json");
    assert_eq!((json["line"].as_u64(), json["column"].as_u64()), (Some(1), Some(13)));
    assert_eq!(json["severity"], "error");

    fixture.run(&["build", "9"]).success();
    assert!(fixture.read("out/9/index.html").contains("China AI dreams of Sora"));
}

/// A bad link in a Markdown field spanning many lines (`"""` or `'''`) is located
/// at the link itself, not at the start of the string, in the report and in --json.
#[test]
fn a_bad_link_in_a_many_line_markdown_field_points_at_the_link() {
    let fixture = Fixture::reference();
    let issue = concat!(
        "title = \"Ten\"\n",                                                   // 1
        "date = 2024-03-08\n",                                                 // 2
        "sponsor = \"none\"\n",                                                // 3
        "intro = \"\"\"\n",                                                    // 4
        "First line of the intro.\n",                                          // 5
        "Then a \\\"quoted\\\" word and [a link](example.com/a).\n",           // 6: the link at column 37
        "\"\"\"\n",                                                            // 7
        "[[sections]]\n",                                                      // 8
        "name = \"S\"\n",                                                      // 9
        "[[sections.recommendations]]\n",                                      // 10
        "title = \"R\"\n",                                                     // 11
        "url = \"https://example.org/r\"\n",                                   // 12
        "take = '''\n",                                                        // 13
        "One.\n",                                                              // 14
        "Two, [see](ftp://example.org/x) and [again](ftp://example.org/x).\n", // 15
        "'''\n",                                                               // 16
    );
    fixture.write("issues/010.toml", issue);
    let run = fixture.run(&["check"]).failure(1);
    let err = run.stderr();
    assert!(err.contains("issues/010.toml:6:37: error: link \"example.com/a\" is not a web address"), "{err}");
    assert!(err.contains("issues/010.toml:15:12: error: link \"ftp://example.org/x\""), "{err}");
    assert!(err.contains("issues/010.toml:15:45: error: link \"ftp://example.org/x\""), "{err}");

    let run = fixture.run(&["check", "--json"]).failure(1);
    let diagnostics: Vec<serde_json::Value> = run.stdout().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let at: Vec<(u64, u64)> = diagnostics
        .iter()
        .filter(|d| d["file"] == "issues/010.toml" && d["message"].as_str().unwrap_or("").starts_with("link "))
        .map(|d| (d["line"].as_u64().unwrap(), d["column"].as_u64().unwrap()))
        .collect();
    assert_eq!(at, [(6, 37), (15, 12), (15, 45)]);
}

/// The standing ask in publish.toml is Markdown like an issue's: a link in it
/// that goes nowhere is an error at the link, not a link silently dropped.
#[test]
fn a_bad_link_in_the_standing_ask_is_an_error_at_the_link() {
    let fixture = Fixture::reference();
    fixture.edit("publish.toml", "[here](https://www.analyse.asia/", "[here](analyse.asia/");
    let config = fixture.read("publish.toml");
    let line = config[..config.find("[here](analyse.asia/").unwrap()].matches('\n').count() + 1;
    let err = fixture.run(&["check"]).failure(1).stderr();
    let want = format!("publish.toml:{line}:8: error: link \"analyse.asia/this-week-in-asia/\" is not a web address");
    assert!(err.contains(&want), "{err}");
}

/// A file in issues/ that names no issue says what is wrong with its name and
/// the name to give it, in the report and in --json.
#[test]
fn an_issue_file_named_almost_right_is_told_the_name_to_give_it() {
    let fixture = Fixture::reference();
    let issue = "title = \"Ten\"\ndate = 2024-03-08\nsponsor = \"none\"\n";
    for name in ["010_ai chips.toml", "0.toml", "99999999999.toml"] {
        fixture.write(&format!("issues/{name}"), issue);
    }
    let run = fixture.run(&["check"]).failure(1);
    let err = run.stderr();
    assert!(err.contains("issues/010_ai chips.toml: error: after the issue number 010"), "{err}");
    assert!(err.contains("help: rename it issues/010-ai-chips.toml"), "{err}");
    assert!(err.contains("issues/0.toml: error: issue numbers start at 1, not 0"), "{err}");
    assert!(err.contains("issues/99999999999.toml: error: 99999999999 is too large for an issue number"), "{err}");
    let run = fixture.run(&["check", "--json"]).failure(1);
    assert!(run.stdout().contains("\"help\":\"rename it issues/010-ai-chips.toml\""), "{}", run.stdout());
}
