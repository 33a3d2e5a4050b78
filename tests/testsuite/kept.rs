//! The issues a build keeps in `.publish/issues.bin` (and the feed items in
//! `.publish/feed-items.bin`): a warm build reads and checks only what changed.
//! Which files were read shows in `build --timings` ("parse TOML" runs once for
//! publish.toml and once per issue file read); a change planted in the kept
//! file shows that kept issues are really used.

use std::path::Path;

use crate::support::{Fixture, Run, without_episode};

/// How many times `--timings` says `stage` ran (0 when it never did).
fn times_run(run: &Run, stage: &str) -> u32 {
    run.stderr()
        .lines()
        .filter_map(|l| l.strip_prefix("timings: "))
        .find(|l| l.starts_with(stage) && l[stage.len()..].starts_with("  "))
        .map_or(0, |l| l.split_whitespace().last().unwrap().parse().unwrap())
}

/// Issue files read and checked in full by a build (publish.toml is the other "parse TOML").
fn issue_files_read(run: &Run) -> u32 {
    times_run(run, "parse TOML") - 1
}

/// Replaces every `old` by `new` (of the same length, so the binary file
/// stays well formed) in the file `relative` of the fixture.
fn plant(fixture: &Fixture, relative: &str, old: &str, new: &str) {
    assert_eq!(old.len(), new.len());
    let path = fixture.path().join(relative);
    let mut bytes = std::fs::read(&path).unwrap();
    let mut found = 0;
    while let Some(at) = bytes.windows(old.len()).position(|w| w == old.as_bytes()) {
        bytes[at..at + old.len()].copy_from_slice(new.as_bytes());
        found += 1;
    }
    assert!(found > 0, "{relative} does not hold {old:?}");
    std::fs::write(path, bytes).unwrap();
}

/// Issue 9 (the reference) and issue 10, a copy with its own title, date and
/// episode (`media/010.mp3`, a copy of issue 9's audio, nothing else).
fn two_issues() -> Fixture {
    let fixture = Fixture::reference();
    let ten = without_episode(&fixture.read("issues/009.toml"))
        .replacen("title = \"China AI dreams of Sora\"", "title = \"The tenth issue\"", 1)
        .replacen("date = 2024-03-01", "date = 2024-03-08", 1)
        .replacen("sponsor = \"esevel\"", "sponsor = \"none\"", 1)
        + "\n[episode]\naudio = \"media/010.mp3\"\n";
    fixture.write("issues/010.toml", &ten);
    std::fs::copy(fixture.path().join("media/009.mp3"), fixture.path().join("media/010.mp3")).unwrap();
    fixture
}

fn build(fixture: &Fixture, number: &str) -> Run {
    fixture.run(&["build", number, "--timings"]).success()
}

/// Every file under `out/`, by path.
fn out(fixture: &Fixture) -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &Path, root: &Path, found: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, found);
            } else {
                found.push((path.strip_prefix(root).unwrap().display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut found = Vec::new();
    walk(&fixture.path().join("out"), &fixture.path().join("out"), &mut found);
    found.sort();
    found
}

#[test]
fn a_warm_build_reads_only_the_issue_built_and_an_edited_one_and_shows_the_edit_in_the_archive_and_both_feeds() {
    let fixture = two_issues();
    let cold = build(&fixture, "9");
    assert_eq!(issue_files_read(&cold), 2, "{}", cold.stderr());
    let first = out(&fixture);

    // Unchanged: issue 10 is taken as kept; out/ is the same, byte for byte.
    let warm = build(&fixture, "9");
    assert_eq!(issue_files_read(&warm), 1, "only issue 9, the one built: {}", warm.stderr());
    assert_eq!(times_run(&warm, "issue files kept by the last build"), 1);
    assert!(out(&fixture) == first, "a warm build writes the same out/");

    // The kept issue is what the archive shows: a title planted in the kept file appears.
    plant(&fixture, ".publish/issues.bin", "The tenth issue", "A planted title");
    build(&fixture, "9");
    assert!(fixture.read("out/index.html").contains("A planted title"));

    // Issue 10 edited: read again, its new title in the archive and both feeds.
    fixture.edit("issues/010.toml", "title = \"The tenth issue\"", "title = \"An edited tenth\"");
    let edited = build(&fixture, "9");
    assert_eq!(issue_files_read(&edited), 2, "{}", edited.stderr());
    for file in ["out/index.html", "out/newsletter.xml", "out/feed.xml"] {
        let text = fixture.read(file);
        assert!(text.contains("An edited tenth"), "{file} lacks the new title");
        assert!(!text.contains("The tenth issue") && !text.contains("A planted title"), "{file} has an old title");
    }
}

#[test]
fn touching_a_media_file_of_a_kept_issue_checks_that_issue_again() {
    let fixture = two_issues();
    build(&fixture, "9");
    assert_eq!(issue_files_read(&build(&fixture, "9")), 1);

    // The same bytes with a new modification time: issue 10 is read and checked again.
    let audio = std::fs::File::options().write(true).open(fixture.path().join("media/010.mp3")).unwrap();
    audio.set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000)).unwrap();
    drop(audio);
    let touched = build(&fixture, "9");
    assert_eq!(issue_files_read(&touched), 2, "{}", touched.stderr());
    assert_eq!(issue_files_read(&build(&fixture, "9")), 1, "and kept again");

    // Other audio in its place: issue 10's enclosure is the new file's.
    std::fs::copy(crate::support::repo().join("tests/fixtures/media/tone.mp3"), fixture.path().join("media/010.mp3"))
        .unwrap();
    let length = std::fs::metadata(fixture.path().join("media/010.mp3")).unwrap().len();
    build(&fixture, "9");
    let feed = fixture.read("out/feed.xml");
    assert!(feed.contains(&format!("media/010.mp3\" length=\"{length}\"")), "{feed}");

    // A picture of issue 10's that is missing is an error: the issue is read again
    // every time; once the picture appears, it is checked, its size read, and kept.
    fixture.edit("issues/010.toml", "src = \"media/009-cover.png\"", "src = \"media/010.png\"");
    build(&fixture, "9");
    let missing = build(&fixture, "9");
    assert_eq!(issue_files_read(&missing), 2, "{}", missing.stderr());
    assert!(missing.stderr().contains("issue 10 has errors"), "{}", missing.stderr());
    std::fs::copy(fixture.path().join("media/009-cover.png"), fixture.path().join("media/010.png")).unwrap();
    let appeared = build(&fixture, "9");
    assert_eq!(issue_files_read(&appeared), 2, "{}", appeared.stderr());
    assert_eq!(issue_files_read(&build(&fixture, "9")), 1, "and kept once valid");
}

#[test]
fn a_damaged_kept_file_is_ignored_and_mended() {
    let fixture = two_issues();
    build(&fixture, "9");
    let first = out(&fixture);
    let good = std::fs::read(fixture.path().join(".publish/issues.bin")).unwrap();
    for junk in [&b""[..], b"not postcard at all", &good[..good.len() / 2], &[0xff; 64]] {
        std::fs::write(fixture.path().join(".publish/issues.bin"), junk).unwrap();
        let run = build(&fixture, "9");
        assert_eq!(issue_files_read(&run), 2, "the damaged file was not used: {}", run.stderr());
        assert!(out(&fixture) == first, "the same out/ after {junk:?}");
        assert_eq!(issue_files_read(&build(&fixture, "9")), 1, "the file was mended after {junk:?}");
    }
}

#[test]
fn warnings_of_unchanged_issues_still_print_on_a_warm_check_and_build() {
    let fixture = two_issues();
    let check = |f: &Fixture| f.run(&["check"]).success().stderr();
    let cold_check = check(&fixture);
    assert!(cold_check.contains("issues/010.toml:"), "issue 10 has warnings of its own: {cold_check}");
    let cold_build = fixture.run(&["build", "9"]).success().stderr();
    assert!(fixture.path().join(".publish/issues.bin").is_file());
    assert_eq!(check(&fixture), cold_check, "the same warnings, in the same order, from the kept issues");
    assert_eq!(fixture.run(&["build", "9"]).success().stderr(), cold_build);
    assert_eq!(fixture.run(&["check", "--json"]).success().stdout(), {
        std::fs::remove_dir_all(fixture.path().join(".publish")).unwrap();
        fixture.run(&["check", "--json"]).success().stdout()
    });

    // What a warm check prints comes from the kept file (for `check`, every issue is kept).
    fixture.run(&["build", "9"]).success();
    plant(&fixture, ".publish/issues.bin", "has no recommendations", "has no planted entries");
    let planted = check(&fixture);
    let warnings = cold_check.matches("has no recommendations").count();
    assert!(warnings >= 2, "both issues have that warning: {cold_check}");
    assert_eq!(planted.matches("has no planted entries").count(), warnings, "{planted}");
    // `check 10` reads issue 10 in full.
    assert!(!fixture.run(&["check", "10"]).success().stderr().contains("planted"));
}

#[test]
fn a_new_binary_uses_nothing_an_older_one_kept() {
    let fixture = two_issues();
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("publish");
    std::fs::copy(env!("CARGO_BIN_EXE_publish"), &binary).unwrap();
    // `build 9 --timings` with this copy; how many issue files it read in full.
    let run = || {
        let mut cmd = std::process::Command::new(&binary);
        cmd.arg("--workspace").arg(fixture.path()).args(["build", "9", "--timings"]);
        cmd.env("PUBLISH_NOW", "2024-03-01T01:00:00Z")
            .env("PUBLISH_SECRET", "test-secret-0123456789abcdef0123456789")
            .env_remove("PUBLISH_STATE_DIR");
        // A fresh copy may be "busy" while another test's child still holds it open: retry a little.
        let mut tries = 0;
        let output = loop {
            match cmd.output() {
                Err(e) if e.raw_os_error() == Some(26) && tries < 20 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => break other.unwrap(),
            }
        };
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(output.status.success(), "{stderr}");
        let line = stderr.lines().find(|l| l.starts_with("timings: parse TOML")).unwrap();
        line.split_whitespace().last().unwrap().parse::<u32>().unwrap() - 1
    };
    run();
    assert_eq!(run(), 1, "the same binary takes issue 10 as kept");
    plant(&fixture, ".publish/feed-items.bin", "The tenth issue", "A planted title");
    plant(&fixture, ".publish/social-posts.json", "\"shortened\":false", "\"shortened\":true ");

    // The binary rebuilt (here: its modification time changed).
    let file = std::fs::File::options().write(true).open(&binary).unwrap();
    file.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(60)).unwrap();
    drop(file);
    assert_eq!(run(), 2, "a new binary reads every issue again");
    for file in ["out/newsletter.xml", "out/feed.xml"] {
        assert!(!fixture.read(file).contains("A planted title"), "{file} took an item an older binary kept");
    }
    let json = fixture.read("out/9/social.json");
    assert!(json.contains("\"shortened\": false"), "social.json took posts an older binary fitted: {json}");
    assert_eq!(run(), 1, "and keeps them for itself");
}

#[test]
fn a_check_across_files_that_fails_a_kept_issue_points_into_its_file_as_a_full_load_does() {
    let fixture = two_issues();
    build(&fixture, "9");
    assert_eq!(issue_files_read(&build(&fixture, "9")), 1, "issue 10 is kept");
    // Issue 9 takes issue 10's audio: issue 10 (kept, read later) now repeats it.
    fixture.edit("issues/009.toml", "audio = \"media/009.mp3\"", "audio = \"media/010.mp3\"");
    let warm = fixture.run(&["check"]).failure(1).stderr();
    assert!(warm.contains("issues/010.toml:") && warm.contains("issue 9's episode has the same audio"), "{warm}");
    std::fs::remove_dir_all(fixture.path().join(".publish")).unwrap();
    assert_eq!(fixture.run(&["check"]).failure(1).stderr(), warm, "the same place and line as a full load");
}

/// The fitted social posts a build keeps in `.publish/social-posts.json` are
/// taken by the next build (nothing fitted again) until what they were fitted
/// from changes; a damaged file is ignored, and the next build mends it.
#[test]
fn social_posts_fitted_by_a_build_are_taken_by_the_next_until_an_edit_and_a_damaged_file_is_ignored() {
    let fixture = two_issues();
    let kept = fixture.path().join(".publish/social-posts.json");
    let cold = build(&fixture, "9");
    let all = times_run(&cold, "fit a social post");
    assert!(all > 5, "every platform's announcement and thread is fitted: {}", cold.stderr());
    assert!(kept.is_file());
    let first = out(&fixture);

    let warm = build(&fixture, "9");
    assert_eq!(times_run(&warm, "fit a social post"), 0, "{}", warm.stderr());
    assert!(out(&fixture) == first, "the kept posts give the same out/");

    // The kept posts are what is written: a flag planted in the file shows in social.json.
    let json = fixture.read("out/9/social.json");
    assert!(json.contains("\"shortened\": false"), "{json}");
    plant(&fixture, ".publish/social-posts.json", "\"shortened\":false", "\"shortened\":true ");
    build(&fixture, "9");
    assert!(!fixture.read("out/9/social.json").contains("\"shortened\": false"), "the planted posts are used");
    std::fs::remove_file(&kept).unwrap();
    assert_eq!(times_run(&build(&fixture, "9"), "fit a social post"), all, "gone: every post fitted again");
    assert!(out(&fixture) == first);

    // A new title: only the announcements (one per platform) are fitted again, and say it.
    fixture.edit("issues/009.toml", "title = \"China AI dreams of Sora\"", "title = \"An edited ninth\"");
    let edited = build(&fixture, "9");
    assert_eq!(times_run(&edited, "fit a social post"), 5, "{}", edited.stderr());
    assert!(fixture.read("out/9/social/x.txt").contains("An edited ninth"));
    assert_eq!(times_run(&build(&fixture, "9"), "fit a social post"), 0, "and kept");

    // Building another issue keeps both issues' posts.
    assert!(times_run(&build(&fixture, "10"), "fit a social post") > 0);
    assert_eq!(times_run(&build(&fixture, "9"), "fit a social post"), 0);
    assert_eq!(times_run(&build(&fixture, "10"), "fit a social post"), 0);

    // Damaged: ignored (every post fitted again, the same out/), then mended.
    let before = out(&fixture);
    let good = std::fs::read(&kept).unwrap();
    for junk in [&b""[..], b"{\"format\": 1}", &good[..good.len() / 2], &[0xff; 64]] {
        std::fs::write(&kept, junk).unwrap();
        let run = build(&fixture, "10");
        assert_eq!(times_run(&run, "fit a social post"), all, "the damaged file was not used: {}", run.stderr());
        assert!(out(&fixture) == before, "the same out/ after {junk:?}");
        assert_eq!(times_run(&build(&fixture, "10"), "fit a social post"), 0, "mended after {junk:?}");
    }
}

/// `--workspace .` inside the folder and its absolute path are one workspace:
/// a build under one form takes what a build under the other kept.
#[test]
fn a_workspace_named_relatively_or_absolutely_keeps_the_same_issues() {
    let fixture = two_issues();
    build(&fixture, "9");
    let warm = fixture.command_naming(Path::new("."), &["build", "9", "--timings"]).run().success();
    assert_eq!(issue_files_read(&warm), 1, "issue 10 kept by the build under the absolute path: {}", warm.stderr());
}
