//! Processes killed (SIGKILL) at other moments than the send: nothing is
//! half-written, nothing a reader sees links to a file not yet written, no
//! temporary file is left to deploy or commit, and the next run recovers.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::Fixture;

const BASE: &str = "https://www.analyse.asia/this-week-in-asia/";

/// The files under `out/` that the feeds and the archive page link to and
/// that are missing.
fn dangling_links(out: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    for page in ["feed.xml", "newsletter.xml", "index.html"] {
        let Ok(text) = std::fs::read_to_string(out.join(page)) else { continue };
        for (i, _) in text.match_indices(BASE) {
            let rest = &text[i + BASE.len()..];
            let end = rest.find(['"', '<', '#', '?', '\'', ' ']).unwrap_or(rest.len());
            let rel = &rest[..end];
            let path =
                if rel.is_empty() || rel.ends_with('/') { out.join(rel).join("index.html") } else { out.join(rel) };
            if !path.exists() {
                missing.push(format!("{page} -> {rel}"));
            }
        }
    }
    missing
}

/// Every file under `dir` whose name begins with a dot.
fn hidden_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(hidden_files(&path));
        } else if entry.file_name().to_string_lossy().starts_with('.') {
            found.push(path);
        }
    }
    found
}

/// The id of a process that has ended.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// The reference publication with a large episode: copying it takes long
/// enough for a kill to land while `out/` is half-written.
fn with_large_episode() -> Fixture {
    let fixture = Fixture::reference();
    let audio = fixture.path().join("media/009.mp3");
    let mut bytes = std::fs::read(&audio).unwrap();
    bytes.resize(bytes.len() + 64 * 1024 * 1024, 0);
    std::fs::write(&audio, bytes).unwrap();
    fixture
}

#[test]
fn a_build_killed_at_any_moment_leaves_no_feed_or_archive_linking_to_a_missing_file() {
    let fixture = with_large_episode();
    let out = fixture.path().join("out");
    // Killed the moment a page that links to others appears, then after a few delays.
    let moments: [Option<u64>; 5] = [None, Some(2), Some(30), Some(150), Some(600)];
    for moment in moments {
        let _ = std::fs::remove_dir_all(&out);
        let mut child = fixture.command(&["build", "9"]).spawn();
        let started = Instant::now();
        match moment {
            Some(ms) => std::thread::sleep(Duration::from_millis(ms)),
            None => {
                let linking = ["feed.xml", "newsletter.xml", "index.html"].map(|f| out.join(f));
                while !linking.iter().any(|f| f.exists()) && started.elapsed() < Duration::from_secs(60) {
                    std::thread::sleep(Duration::from_micros(500));
                }
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let dangling = dangling_links(&out);
        assert!(dangling.is_empty(), "killed after {moment:?} ms: links to missing files: {dangling:?}");
    }
    // The next build recovers, and removes what a killed one left.
    let dead = dead_pid();
    std::fs::create_dir_all(out.join("media")).unwrap();
    std::fs::write(out.join(format!(".publish-tmp-{dead}-AbC123")), "half").unwrap();
    std::fs::write(out.join(format!("media/.publish-tmp-{dead}-XyZ789")), "half").unwrap();
    fixture.run(&["build", "9"]).success();
    assert_eq!(hidden_files(&out), Vec::<PathBuf>::new(), "temporary files left in out/");
    assert!(dangling_links(&out).is_empty(), "{:?}", dangling_links(&out));
    let audio = std::fs::metadata(out.join("media/009.mp3")).unwrap().len();
    assert_eq!(audio, std::fs::metadata(fixture.path().join("media/009.mp3")).unwrap().len());
}

/// `publish init letter` with fixed answers, in `dir`.
fn init_in(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_publish"));
    cmd.current_dir(dir)
        .args(["init", "letter", "--name", "Weekly", "--from", "Tom <tom@example.org>"])
        .args(["--base-url", "https://example.org/w"])
        .env("PUBLISH_NOW", "2024-03-01T01:00:00Z")
        .env_remove("PUBLISH_WORKSPACE")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd
}

#[test]
fn an_init_killed_half_way_is_finished_by_running_it_again() {
    let mut half_way = 0;
    for step in 0..40u64 {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("letter");
        let mut child = init_in(tmp.path()).spawn().unwrap();
        std::thread::sleep(Duration::from_micros(250 * step));
        child.kill().unwrap();
        child.wait().unwrap();
        let written = ["publish.toml", "issues/001.toml", "sponsors.toml", ".gitignore", "templates/README.md"]
            .map(|f| dir.join(f).is_file());
        // A folder with a publish.toml is a publication: it has all the rest.
        assert!(!written[0] || written.iter().all(|w| *w), "killed after {step} steps: {written:?}");
        half_way += usize::from(written.iter().any(|w| *w) && !written[0]);
        let again = init_in(tmp.path()).status().unwrap();
        assert!(again.success(), "killed after {step} steps, the same init again failed");
        assert!(hidden_files(&dir).iter().all(|f| f.ends_with(".gitignore")), "{:?}", hidden_files(&dir));
        let gitignore = std::fs::read_to_string(dir.join(".gitignore")).unwrap();
        assert!(gitignore.lines().any(|l| l == ".publish-tmp-*"), "{gitignore}");
    }
    eprintln!("{half_way} of 40 kills landed half-way");
}

#[test]
fn processes_opening_one_new_database_at_once_all_succeed_and_migrate_it_once() {
    let fixture = Fixture::reference();
    let children: Vec<_> = (0..8)
        .map(|i| fixture.command(&["subscribers", "add", &format!("p{i}@example.com"), "--confirmed"]).spawn())
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let count = fixture.run(&["subscribers", "count"]).success();
    assert_eq!(count.stdout().trim(), "8", "{}", count.stderr());
}

#[test]
fn queued_mails_are_sent_once_when_several_processes_send_them_at_once() {
    let fixture = Fixture::reference();
    fixture.run(&["subscribers", "count"]).success();
    // A slow server: each process is still sending when the others queue theirs.
    let server = crate::support::SmtpServer::start(&["--delay", "0.3"]);
    let children: Vec<_> = (0..6)
        .map(|i| {
            fixture
                .command(&["subscribers", "add", &format!("p{i}@example.com")])
                .env("PUBLISH_SMTP_URL", &server.url())
                .spawn()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let mailed = crate::support::per_recipient(&server);
    let expected: std::collections::BTreeMap<String, usize> =
        (0..6).map(|i| (format!("p{i}@example.com"), 1)).collect();
    assert_eq!(mailed, expected, "each confirmation mail once");
}

#[test]
fn a_process_opening_the_database_during_an_import_into_an_empty_list_waits_for_it() {
    let fixture = Fixture::reference();
    let csv = crate::support::subscribers_csv(fixture.path(), 80_000);
    let import = fixture.command(&["subscribers", "import", csv.to_str().unwrap()]).spawn();
    // The import into an empty list takes the database out of WAL mode: its
    // rollback journal is there while it writes.
    let journal = fixture.path().join(".publish/state.db-journal");
    let started = Instant::now();
    while !journal.exists() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(journal.exists(), "the import never wrote its journal");
    let count = fixture.run(&["subscribers", "count"]);
    let imported = import.wait_with_output().unwrap();
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    assert_eq!(count.code(), 0, "the second process failed instead of waiting: {}", count.stderr());
    assert_eq!(count.stdout().trim(), "80000");
}

#[test]
fn serve_killed_while_sending_queued_mails_then_cron_beside_a_new_serve_mail_each_once() {
    let fixture = Fixture::reference();
    // Four confirmation mails left queued: the relay was down when they were asked for.
    let down = format!("smtp://127.0.0.1:{}", crate::support::free_port());
    for i in 0..4 {
        fixture.command(&["subscribers", "add", &format!("p{i}@example.com")]).env("PUBLISH_SMTP_URL", &down).run();
    }
    let slow = crate::support::SmtpServer::start(&["--delay", "0.4"]);
    // Two hours later: past the wait before the next try of a mail that failed.
    let later = "2024-03-01T03:00:00Z";
    let serve_on = |port: u16| {
        let cmd = fixture
            .command(&["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("PUBLISH_NOW", later)
            .env("PUBLISH_SMTP_URL", &slow.url());
        crate::support::Running::start(cmd, port)
    };
    let serve = serve_on(crate::support::free_port());
    assert!(slow.wait_for(1, Duration::from_secs(30)), "serve sent nothing");
    serve.kill();
    assert!(slow.count() < 4, "serve was killed before it sent them all");
    // A new serve and a cron run at once finish the queue.
    let serve = serve_on(crate::support::free_port());
    fixture.command(&["cron"]).env("PUBLISH_NOW", later).env("PUBLISH_SMTP_URL", &slow.url()).run().success();
    let started = Instant::now();
    while crate::support::per_recipient(&slow).len() < 4 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500));
    serve.kill();
    let mailed = crate::support::per_recipient(&slow);
    assert_eq!(mailed.len(), 4, "every signup got its confirmation: {mailed:?}");
    let again: usize = mailed.values().map(|n| n - 1).sum();
    assert!(again <= 1, "only the mail in flight when serve was killed may go twice: {mailed:?}");
}

#[test]
fn queued_mails_outlive_a_relay_down_for_several_runs_of_the_mailer() {
    let fixture = Fixture::reference();
    let down = format!("smtp://127.0.0.1:{}", crate::support::free_port());
    // Each `subscribers add` also tries every mail queued before its own, as
    // each turn of serve's mailer does: six turns while the relay is down.
    for i in 0..6 {
        fixture.command(&["subscribers", "add", &format!("p{i}@example.com")]).env("PUBLISH_SMTP_URL", &down).run();
    }
    let relay = crate::support::SmtpServer::start(&[]);
    let later = "2024-03-01T03:00:00Z";
    for _ in 0..2 {
        fixture
            .command(&["cron", "--now", later])
            .env("PUBLISH_NOW", later)
            .env("PUBLISH_SMTP_URL", &relay.url())
            .run()
            .success();
    }
    let mailed = crate::support::per_recipient(&relay);
    let expected: std::collections::BTreeMap<String, usize> =
        (0..6).map(|i| (format!("p{i}@example.com"), 1)).collect();
    assert_eq!(mailed, expected, "every confirmation once, none given up while the relay was down");
}
