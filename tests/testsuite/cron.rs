//! `publish cron` and `publish schedule`: due issues go out once, on time;
//! stale ones wait for a human; interrupted sends resume.

use std::time::Duration;

use crate::support::{Fixture, OutputChild};
use crate::support::{SmtpServer, subscribers_csv};

const SCHEDULED: &str = "send_at = 2024-03-01T09:00:00+08:00";

/// Starts the due cron run of 2024-03-01T01:00Z and kills it (SIGKILL) once
/// the server holds `messages` messages: a send cut short part-way.
fn kill_cron_after(fixture: &Fixture, server: &SmtpServer, messages: usize) {
    let mut child =
        fixture.command(&["cron", "--now", "2024-03-01T01:00:00Z"]).env("PUBLISH_SMTP_URL", &server.url()).spawn();
    assert!(server.wait_for(messages, Duration::from_secs(60)));
    child.kill().unwrap();
    child.wait().unwrap();
}

fn scheduled(subscribers: usize) -> Fixture {
    let fixture = Fixture::reference();
    fixture.edit(
        "issues/009.toml",
        "# send_at = 2024-03-01T09:00:00+08:00   # uncomment for `publish cron` to send it",
        SCHEDULED,
    );
    let csv = subscribers_csv(fixture.path(), subscribers);
    fixture.run(&["subscribers", "import", csv.to_str().unwrap()]).success();
    fixture
}

fn cron(fixture: &Fixture, server: &SmtpServer, now: &str) -> crate::support::Run {
    fixture.command(&["cron", "--now", now]).env("PUBLISH_SMTP_URL", &server.url()).run()
}

#[test]
fn nothing_before_send_at_everything_at_it_and_nothing_twice() {
    let fixture = scheduled(5);
    let server = SmtpServer::start(&[]);
    let early = cron(&fixture, &server, "2024-03-01T00:59:00Z").success();
    assert_eq!(early.stdout(), "", "cron prints nothing when nothing is due");
    assert_eq!(early.stderr(), "");
    assert_eq!(server.count(), 0);
    let schedule = fixture.run(&["schedule", "--now", "2024-03-01T00:59:00Z"]).success().stdout();
    assert!(
        schedule.contains("#9") && schedule.contains("Fri 2024-03-01 09:00 +08:00") && schedule.contains("scheduled"),
        "{schedule}"
    );

    let on_time = cron(&fixture, &server, "2024-03-01T01:00:00Z").success();
    assert!(on_time.stdout().contains("issue 9: 5 sent"), "{}", on_time.stdout());
    assert_eq!(server.count(), 5);
    assert!(fixture.path().join("out/9/index.html").exists(), "the web page is written too");

    let again = cron(&fixture, &server, "2024-03-01T01:01:00Z").success();
    assert_eq!(again.stdout(), "");
    assert_eq!(server.count(), 5);
    let schedule = fixture.run(&["schedule", "--now", "2024-03-01T02:00:00Z"]).success().stdout();
    assert!(schedule.contains(" sent "), "{schedule}");
}

#[test]
fn an_issue_long_past_max_late_is_reported_once_per_send_time_and_not_sent() {
    let fixture = scheduled(3);
    let server = SmtpServer::start(&[]);
    let late = cron(&fixture, &server, "2024-03-01T07:00:01Z").success();
    assert!(
        late.stderr()
            .contains("issue 9 was due at Fri 2024-03-01 09:00 +08:00 (6h 0m ago, more than max_late = 6h): not sent"),
        "{}",
        late.stderr()
    );
    assert_eq!(server.count(), 0);
    let again = cron(&fixture, &server, "2024-03-01T07:01:00Z").success();
    assert_eq!(again.stderr(), "", "the warning is given once, not every minute");
    let schedule = fixture.run(&["schedule", "--now", "2024-03-01T07:02:00Z"]).success().stdout();
    assert!(schedule.contains("stale"), "{schedule}");
    // Moved to a new time and missed again: said again, once.
    fixture.edit("issues/009.toml", SCHEDULED, "send_at = 2024-03-02T09:00:00+08:00");
    assert_eq!(cron(&fixture, &server, "2024-03-01T07:03:00Z").success().stderr(), "", "scheduled again");
    let again = cron(&fixture, &server, "2024-03-02T08:00:00Z").success();
    assert!(again.stderr().contains("issue 9 was due at Sat 2024-03-02 09:00 +08:00 (7h 0m ago"), "{}", again.stderr());
    assert_eq!(cron(&fixture, &server, "2024-03-02T08:01:00Z").success().stderr(), "");
    assert_eq!(server.count(), 0);
    // A human can still send it.
    fixture.command(&["issue", "9", "--yes"]).env("PUBLISH_SMTP_URL", &server.url()).run().success();
    assert_eq!(server.count(), 3);
}

#[test]
fn two_cron_runs_at_once_send_exactly_once() {
    let fixture = scheduled(40);
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 2");
    let server = SmtpServer::start(&["--delay", "0.02"]);
    let spawn = || {
        fixture
            .command(&["cron", "--now", "2024-03-01T01:00:30Z"])
            .env("PUBLISH_SMTP_URL", &server.url())
            .0
            .output_child()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success());
    let printed = [&a, &b].iter().filter(|o| !o.stdout.is_empty()).count();
    assert_eq!(printed, 1, "one run sends, the other exits quietly");
    assert_eq!(server.count(), 40);
    let mut rcpts: Vec<String> = server.received().into_iter().map(|m| m.rcpt).collect();
    rcpts.sort();
    rcpts.dedup();
    assert_eq!(rcpts.len(), 40);
}

#[test]
fn a_cron_run_killed_midway_is_finished_by_the_next_one() {
    let n = 80;
    let fixture = scheduled(n);
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 3");
    let server = SmtpServer::start(&["--delay", "0.02"]);
    kill_cron_after(&fixture, &server, 20);
    assert!(server.count() < n);
    let schedule = fixture.run(&["schedule", "--now", "2024-03-02T01:00:00Z"]).success().stdout();
    assert!(schedule.contains("sending ("), "{schedule}");
    // A day later, past max_late: a started send still resumes.
    cron(&fixture, &server, "2024-03-02T01:00:00Z").success();
    let mut per: std::collections::BTreeMap<String, usize> = Default::default();
    for m in server.received() {
        *per.entry(m.rcpt).or_default() += 1;
    }
    assert_eq!(per.len(), n);
    assert!(per.values().map(|c| c - 1).sum::<usize>() <= 3, "at most one in flight per connection went twice");
}

#[test]
fn an_issue_edited_after_it_was_sent_is_not_sent_again() {
    let fixture = scheduled(4);
    let server = SmtpServer::start(&[]);
    cron(&fixture, &server, "2024-03-01T01:00:00Z").success();
    fixture.edit(
        "issues/009.toml",
        "title = \"China AI dreams of Sora\"",
        "title = \"China AI dreams of Sora (corrected)\"",
    );
    fixture.edit("issues/009.toml", SCHEDULED, "send_at = 2024-03-01T10:00:00+08:00");
    let later = cron(&fixture, &server, "2024-03-01T02:30:00Z").success();
    assert_eq!(later.stdout(), "");
    assert_eq!(server.count(), 4);
}

#[test]
fn a_subscriber_who_joins_after_a_scheduled_send_does_not_get_old_issues() {
    let fixture = scheduled(2);
    let server = SmtpServer::start(&[]);
    cron(&fixture, &server, "2024-03-01T01:00:00Z").success();
    fixture.write("new.csv", "email\nnewcomer@example.com\n");
    fixture.run(&["subscribers", "import", fixture.path().join("new.csv").to_str().unwrap()]).success();
    cron(&fixture, &server, "2024-03-01T01:05:00Z").success();
    assert_eq!(server.count(), 2);
}

#[test]
fn a_max_late_that_is_not_a_duration_stops_cron_instead_of_becoming_six_hours() {
    let fixture = scheduled(2);
    fixture.edit("publish.toml", "max_late = \"6h\"", "max_late = \"six hours\"");
    let server = SmtpServer::start(&[]);
    // Half an hour after send_at: due, but settings with a mistake are never acted on.
    for command in [&["cron", "--now", "2024-03-01T01:30:00Z"][..], &["schedule", "--now", "2024-03-01T01:30:00Z"]] {
        let run = fixture.command(command).env("PUBLISH_SMTP_URL", &server.url()).run().failure(1);
        assert!(run.stderr().contains("publish.toml has 1 error"), "{}", run.stderr());
    }
    assert_eq!(server.count(), 0);
    let check = fixture.run(&["check"]).failure(1);
    assert!(check.stderr().contains("error: \"six hours\" is not a duration"), "{}", check.stderr());
}

#[test]
fn a_scheduled_issue_with_errors_fails_cron_once_when_due_and_a_draft_never() {
    let fixture = scheduled(2);
    let server = SmtpServer::start(&[]);
    // A draft being written: errors, and the commented-out send_at `publish new` writes.
    fixture.write("issues/010.toml", "title = \"Next\"\n# send_at = 2024-03-01T09:00:00+08:00   # uncomment\noops =\n");
    cron(&fixture, &server, "2024-03-01T00:00:00Z").success();
    let early = cron(&fixture, &server, "2024-03-01T01:30:00Z").success();
    assert!(!early.stderr().contains("cannot be sent when due"), "{}", early.stderr());
    assert_eq!(server.count(), 2, "issue 9 went");
    // Issue 11 is scheduled and broken: cron says so when it is due, once.
    fixture.write("issues/011.toml", "title = \"Later\"\nsend_at = 2024-03-02T09:00:00+08:00\noops =\n");
    assert_eq!(cron(&fixture, &server, "2024-03-02T00:59:00Z").success().stderr(), "", "not due yet");
    let due = cron(&fixture, &server, "2024-03-02T01:00:00Z").failure(1);
    assert!(due.stderr().contains("issues/011.toml has errors and cannot be sent when due"), "{}", due.stderr());
    assert_eq!(cron(&fixture, &server, "2024-03-02T01:01:00Z").success().stderr(), "", "said once, not every minute");
    let schedule = fixture.run(&["schedule", "--now", "2024-03-02T01:01:00Z"]).success();
    assert!(
        schedule.stderr().contains("issues/011.toml has a send_at but errors: issue 11 is not sent"),
        "{}",
        schedule.stderr()
    );
    assert!(!schedule.stderr().contains("010.toml"), "{}", schedule.stderr());
    // Edited and still broken: said again.
    fixture.write("issues/011.toml", "title = \"Later\"\nsend_at = 2024-03-02T09:00:00+08:00\noops = [\n");
    cron(&fixture, &server, "2024-03-02T01:02:00Z").failure(1);
    assert_eq!(server.count(), 2);
}

#[test]
fn a_local_send_at_the_clock_change_skips_or_repeats_goes_exactly_once() {
    let fixture = scheduled(3);
    fixture.edit("publish.toml", "timezone = \"Asia/Singapore\"", "timezone = \"America/New_York\"");
    let server = SmtpServer::start(&[]);
    // Spring forward in New York: 02:30 on 2024-03-10 does not exist; it is 03:30 EDT (07:30Z).
    fixture.edit("issues/009.toml", SCHEDULED, "send_at = 2024-03-10T02:30:00");
    let check = fixture.run(&["check", "9"]).success();
    assert!(check.stderr().contains("2024-03-10T02:30:00 does not exist in America/New_York"), "{}", check.stderr());
    assert!(cron(&fixture, &server, "2024-03-10T07:29:00Z").success().stdout().is_empty());
    assert_eq!(server.count(), 0, "not an hour early");
    assert!(cron(&fixture, &server, "2024-03-10T07:30:00Z").success().stdout().contains("issue 9: 3 sent"));
    cron(&fixture, &server, "2024-03-10T07:31:00Z").success();
    assert_eq!(server.count(), 3);

    // Fall back: 01:30 on 2024-11-03 happens twice; the first (05:30Z) sends, the second does not.
    let fixture = scheduled(3);
    fixture.edit("publish.toml", "timezone = \"Asia/Singapore\"", "timezone = \"America/New_York\"");
    fixture.edit("issues/009.toml", SCHEDULED, "send_at = \"2024-11-03T01:30:00\"");
    let check = fixture.run(&["check", "9"]).success();
    assert!(check.stderr().contains("happens twice in America/New_York"), "{}", check.stderr());
    let server = SmtpServer::start(&[]);
    assert!(cron(&fixture, &server, "2024-11-03T05:29:00Z").success().stdout().is_empty());
    cron(&fixture, &server, "2024-11-03T05:30:00Z").success();
    cron(&fixture, &server, "2024-11-03T06:30:00Z").success();
    assert_eq!(server.count(), 3);
    let schedule = fixture.run(&["schedule", "--now", "2024-11-03T06:30:00Z"]).success().stdout();
    assert!(schedule.contains("Sun 2024-11-03 01:30 -04:00 EDT") && schedule.contains(" sent "), "{schedule}");
}

#[test]
fn a_malformed_now_is_a_usage_error_that_sends_nothing() {
    let fixture = scheduled(2);
    let server = SmtpServer::start(&[]);
    for bad in ["2024-03-01", "2024-03-01T09:00:00", "tomorrow", ""] {
        let run = cron(&fixture, &server, bad).failure(2);
        assert!(run.stderr().contains("is not an RFC 3339 time such as"), "{bad}: {}", run.stderr());
        fixture.run(&["schedule", "--now", bad]).failure(2);
    }
    assert_eq!(server.count(), 0);
}

#[test]
fn a_cron_started_while_one_sends_exits_zero_at_once_saying_so_only_at_a_terminal() {
    let fixture = scheduled(60);
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 1");
    let server = SmtpServer::start(&["--delay", "0.05"]);
    let mut first =
        fixture.command(&["cron", "--now", "2024-03-01T01:00:00Z"]).env("PUBLISH_SMTP_URL", &server.url()).spawn();
    assert!(server.wait_for(5, Duration::from_secs(60)));
    // The next minute's run, as cron starts it: nothing printed, exit 0.
    let quiet = cron(&fixture, &server, "2024-03-01T01:01:00Z").success();
    assert_eq!((quiet.stdout(), quiet.stderr()), (String::new(), String::new()));
    // The same by hand at a terminal (script(1) gives it one): it says why it did nothing.
    let bin = env!("CARGO_BIN_EXE_publish");
    let line = format!("{bin} --workspace {} cron --now 2024-03-01T01:01:00Z", fixture.path().display());
    let by_hand = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("PUBLISH_SMTP_URL", server.url())
        .output()
        .expect("script(1) from util-linux");
    let said = String::from_utf8_lossy(&by_hand.stdout);
    assert!(by_hand.status.success(), "{said}");
    assert!(said.contains("publish cron is already running (pid ") && said.contains("this one exits"), "{said}");
    assert!(first.wait().unwrap().success());
    let mut per = crate::support::per_recipient(&server);
    assert_eq!(per.len(), 60);
    per.retain(|_, n| *n > 1);
    assert!(per.is_empty(), "sent twice: {per:?}");
}

/// The fenced blocks of `lang` in README.md's "Scheduled sending".
fn readme_blocks(lang: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(crate::support::repo().join("README.md")).unwrap();
    let section = readme.split("## Scheduled sending").nth(1).unwrap().split("\n## ").next().unwrap().to_string();
    let fence = format!("```{lang}\n");
    section.split(&fence).skip(1).map(|b| b.split("```").next().unwrap().to_string()).collect()
}

/// A home whose `.cargo/bin/publish` is the binary under test, as `cargo install` leaves it.
fn home_with_publish() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".cargo/bin")).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_publish"), home.path().join(".cargo/bin/publish")).unwrap();
    home
}

#[test]
fn the_crontab_line_in_the_readme_sends_from_crons_bare_environment() {
    let fixture = scheduled(3);
    let server = SmtpServer::start(&[]);
    let home = home_with_publish();
    let block = &readme_blocks("cron")[0];
    let line = block.lines().find(|l| l.starts_with("* * * * *")).expect("a crontab line");
    let command = line.splitn(6, ' ').nth(5).unwrap().replace("/path/to/publication", fixture.path().to_str().unwrap());
    // What cron gives a job: /bin/sh, PATH=/usr/bin:/bin, HOME, and the crontab's variables.
    let run = std::process::Command::new("/bin/sh")
        .args(["-c", &command])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home.path())
        .env("PUBLISH_SMTP_URL", server.url())
        .env("PUBLISH_NOW", "2024-03-01T01:00:00Z")
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "{command}: {said}");
    assert!(said.contains("issue 9: 3 sent"), "{said}");
    assert_eq!(server.count(), 3);
}

#[test]
fn the_systemd_units_in_the_readme_verify() {
    let fixture = scheduled(1);
    let home = home_with_publish();
    let units = tempfile::tempdir().unwrap();
    let runtime = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for block in readme_blocks("ini") {
        let name = block.lines().next().unwrap().trim_start_matches('#').trim().to_string();
        let text = block.replace("/path/to/publication", fixture.path().to_str().unwrap());
        std::fs::write(units.path().join(&name), text).unwrap();
        names.push(units.path().join(name));
    }
    assert_eq!(names.len(), 2, "a service and its timer");
    let verify = std::process::Command::new("systemd-analyze")
        .args(["verify", "--user", "--man=no"])
        .args(&names)
        .env("HOME", home.path())
        .env("XDG_RUNTIME_DIR", runtime.path())
        .output()
        .expect("systemd-analyze (scripts/test installs systemd)");
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success() && said.trim().is_empty(), "{said}");
}

#[test]
fn an_issue_exactly_max_late_late_still_goes_and_a_max_late_cron_can_miss_is_warned_of() {
    let fixture = scheduled(2);
    fixture.edit("publish.toml", "max_late = \"6h\"", "max_late = \"90s\"");
    let check = fixture.run(&["check"]).success();
    assert!(check.stderr().contains("max_late = \"90s\" is shorter than two runs"), "{}", check.stderr());
    let server = SmtpServer::start(&[]);
    assert!(cron(&fixture, &server, "2024-03-01T01:01:30Z").success().stdout().contains("issue 9: 2 sent"));
    // Just past it: stale, said once; `publish issue N` sends it.
    let late = scheduled(2);
    late.edit("publish.toml", "max_late = \"6h\"", "max_late = \"90s\"");
    let stale = cron(&late, &server, "2024-03-01T01:01:31Z").success();
    assert!(stale.stderr().contains("(1m ago, more than max_late = 90s): not sent by cron"), "{}", stale.stderr());
    assert_eq!(server.count(), 2);
    let six = scheduled(1);
    assert!(!six.run(&["check"]).success().stderr().contains("max_late"), "the default is not warned of");
}

#[test]
fn a_send_interrupted_then_its_issue_file_removed_is_reported_once_not_lost_silently() {
    let n = 60;
    let fixture = scheduled(n);
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 1");
    let server = SmtpServer::start(&["--delay", "0.05"]);
    kill_cron_after(&fixture, &server, 5);
    let text = fixture.read("issues/009.toml");
    std::fs::remove_file(fixture.path().join("issues/009.toml")).unwrap();
    let told = cron(&fixture, &server, "2024-03-01T01:05:00Z").success();
    assert!(
        told.stderr().contains("issue 9's send stopped with") && told.stderr().contains("its file is gone"),
        "{}",
        told.stderr()
    );
    assert_eq!(cron(&fixture, &server, "2024-03-01T01:06:00Z").success().stderr(), "", "said once");
    let schedule = fixture.run(&["schedule", "--now", "2024-03-01T01:06:00Z"]).success();
    assert!(schedule.stderr().contains("issue 9's send stopped with"), "{}", schedule.stderr());
    // Put back, it is finished, and nobody gets it twice beyond the one in flight.
    fixture.write("issues/009.toml", &text);
    cron(&fixture, &server, "2024-03-01T01:07:00Z").success();
    let per = crate::support::per_recipient(&server);
    assert_eq!(per.len(), n);
    assert!(per.values().all(|c| *c <= 2) && per.values().filter(|c| **c == 2).count() <= 1, "{per:?}");
    let after = fixture.run(&["schedule", "--now", "2024-03-01T01:08:00Z"]).success();
    assert!(!after.stderr().contains("stopped with"), "{}", after.stderr());
}

#[test]
fn a_half_sent_issue_renumbered_is_refused_not_sent_again_to_everyone_and_finishes_under_its_number() {
    let n = 60;
    let fixture = scheduled(n);
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 1");
    let server = SmtpServer::start(&["--delay", "0.05"]);
    kill_cron_after(&fixture, &server, 5);
    let before = server.count();
    assert!(before < n, "killed too late to test anything");
    std::fs::rename(fixture.path().join("issues/009.toml"), fixture.path().join("issues/010.toml")).unwrap();
    // By hand: refused before anything is written or sent, saying what to do.
    let refused = fixture.command(&["issue", "10", "--yes"]).env("PUBLISH_SMTP_URL", &server.url()).run().failure(1);
    let err = refused.stderr();
    assert!(err.contains("issues/010.toml is not sent") && err.contains("began to be sent as issue 9"), "{err}");
    assert!(err.contains("name it back issues/009.toml") && err.contains("`publish issue 9`"), "{err}");
    assert!(!fixture.path().join("out/10").exists(), "nothing written for the refused issue");
    // By cron: said once (exit 1), then quiet; nobody mailed.
    let told = cron(&fixture, &server, "2024-03-01T01:05:00Z").failure(1);
    assert!(told.stderr().contains("issues/010.toml is not sent"), "{}", told.stderr());
    let quiet = cron(&fixture, &server, "2024-03-01T01:06:00Z").success();
    assert!(!quiet.stderr().contains("010.toml"), "said once: {}", quiet.stderr());
    let schedule = fixture.run(&["schedule", "--now", "2024-03-01T01:06:00Z"]).success();
    assert!(schedule.stderr().contains("issues/010.toml is not sent"), "{}", schedule.stderr());
    assert_eq!(server.count(), before, "the renumbered issue went to nobody");
    // Named back, the send finishes: everyone once, beyond the one in flight.
    std::fs::rename(fixture.path().join("issues/010.toml"), fixture.path().join("issues/009.toml")).unwrap();
    cron(&fixture, &server, "2024-03-01T01:07:00Z").success();
    let per = crate::support::per_recipient(&server);
    assert_eq!(per.len(), n);
    assert!(per.values().map(|c| c - 1).sum::<usize>() <= 1, "{per:?}");
}

#[test]
fn a_sent_issue_renumbered_or_copied_with_its_date_and_title_is_refused() {
    let fixture = scheduled(3);
    let server = SmtpServer::start(&[]);
    cron(&fixture, &server, "2024-03-01T01:00:00Z").success();
    let text = fixture.read("issues/009.toml");
    fixture.write("issues/010.toml", &crate::support::without_episode(&text));
    let copied = fixture.command(&["issue", "10", "--yes"]).env("PUBLISH_SMTP_URL", &server.url()).run().failure(1);
    let err = copied.stderr();
    assert!(
        err.contains("was sent as issue 9 (3 sent)") && err.contains("issues/009.toml has the same date and title"),
        "{err}"
    );
    // The dry run says the same, instead of counting everyone as its recipients.
    let dry = fixture.run(&["issue", "10", "--dry-run"]).failure(1);
    assert!(dry.stderr().contains("was sent as issue 9 (3 sent)"), "{}", dry.stderr());
    // Its own title makes it a new issue.
    fixture.edit("issues/010.toml", "title = \"China AI dreams of Sora\"", "title = \"Next week\"");
    fixture.command(&["issue", "10", "--yes"]).env("PUBLISH_SMTP_URL", &server.url()).run().success();
    assert_eq!(server.count(), 6);
}

#[test]
fn a_sent_issue_whose_title_was_corrected_and_then_renumbered_is_still_refused() {
    let fixture = scheduled(3);
    let server = SmtpServer::start(&[]);
    cron(&fixture, &server, "2024-03-01T01:00:00Z").success();
    // The typo fixed and the issue run again (nothing left to send), then renumbered.
    fixture.edit("issues/009.toml", "title = \"China AI dreams of Sora\"", "title = \"China's AI dreams of Sora\"");
    fixture.command(&["issue", "9", "--yes"]).env("PUBLISH_SMTP_URL", &server.url()).run().success();
    std::fs::rename(fixture.path().join("issues/009.toml"), fixture.path().join("issues/010.toml")).unwrap();
    let refused = fixture.command(&["issue", "10", "--yes"]).env("PUBLISH_SMTP_URL", &server.url()).run().failure(1);
    assert!(refused.stderr().contains("was sent as issue 9 (3 sent)"), "{}", refused.stderr());
    assert_eq!(server.count(), 3);
}

#[test]
fn an_issue_sent_to_nobody_may_be_renumbered_and_sent_under_its_new_number() {
    let fixture = Fixture::reference();
    fixture.run(&["issue", "9", "--yes"]).success(); // no subscribers yet: it reached nobody
    std::fs::rename(fixture.path().join("issues/009.toml"), fixture.path().join("issues/010.toml")).unwrap();
    let csv = subscribers_csv(fixture.path(), 2);
    fixture.run(&["subscribers", "import", csv.to_str().unwrap()]).success();
    let server = SmtpServer::start(&[]);
    fixture.command(&["issue", "10", "--yes"]).env("PUBLISH_SMTP_URL", &server.url()).run().success();
    assert_eq!(server.count(), 2);
}
