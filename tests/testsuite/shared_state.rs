//! The state in PostgreSQL (a real server that scripts/test starts): the send
//! and the list behave as on SQLite, several `publish issue 9` processes share
//! one send, a sender killed mid-send leaves its rows to the others after its
//! lease, and `publish state migrate` copies the state both ways.

use std::time::Duration;

use crate::support::{Fixture, OutputChild, SmtpServer, fresh_database, per_recipient, send, subscribers_csv};

/// The reference publication keeping its state in a new PostgreSQL database
/// (`[state] database_url`), with `n` subscribers; a lease of 2 s.
fn on_postgres(n: usize) -> (Fixture, String) {
    let fixture = Fixture::reference();
    let url = fresh_database();
    let toml = fixture.read("publish.toml");
    fixture.write("publish.toml", &format!("{toml}\n[state]\ndatabase_url = \"{url}\"\nlease = \"2s\"\n"));
    let csv = subscribers_csv(fixture.path(), n);
    fixture.run(&["subscribers", "import", csv.to_str().unwrap()]).success();
    (fixture, url)
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("--json prints JSON")
}

#[test]
fn a_send_on_postgres_mails_everyone_once_and_keeps_nothing_in_the_state_folder() {
    let (fixture, _) = on_postgres(30);
    fixture.run(&["subscribers", "remove", "READER003@example.com"]).success();
    let server = SmtpServer::start(&[]);
    send(&fixture, &server, &[]).success();
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), 29);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    assert!(!counts.contains_key("reader003@example.com"));
    // A second run sends nothing; the list and the ledger are in PostgreSQL only.
    send(&fixture, &server, &[]).success();
    assert_eq!(server.count(), 29);
    let status = fixture.run(&["status", "9"]).success().stdout();
    assert!(status.contains("sent:     29") && status.contains("pending:  0"), "{status}");
    assert!(!fixture.path().join(".publish/state.db").exists(), "no SQLite state beside PostgreSQL");
    // A re-import does not bring the removed address back (case does not matter).
    fixture.write("again.csv", "email\nreader003@EXAMPLE.com\n");
    fixture.run(&["subscribers", "import", fixture.path().join("again.csv").to_str().unwrap()]).success();
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "29");
}

#[test]
fn two_senders_on_one_database_share_the_send_and_mail_everyone_exactly_once() {
    let n = 300;
    let (fixture, _) = on_postgres(n);
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 2");
    let server = SmtpServer::start(&["--delay", "0.01"]);
    let senders: Vec<_> = ["sender-a", "sender-b"]
        .iter()
        .map(|name| {
            fixture
                .command(&["issue", "9", "--yes"])
                .env("PUBLISH_SMTP_URL", &server.url())
                .env("PUBLISH_SENDER", name)
                .spawn()
        })
        .collect();
    for mut child in senders {
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        assert!(status.success(), "a sender failed: {stderr}");
    }
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), n, "every recipient got the issue");
    assert!(counts.values().all(|&c| c == 1), "nobody twice without a crash: {counts:?}");
    let status = json(&fixture.run(&["status", "9", "--json"]).success().stdout());
    let shares: Vec<(String, u64)> = status["counts"]["senders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["sender"].as_str().unwrap().to_string(), s["sent"].as_u64().unwrap()))
        .collect();
    assert_eq!(shares.len(), 2, "each sender sent some: {shares:?}");
    assert_eq!(shares.iter().map(|s| s.1).sum::<u64>(), n as u64, "{shares:?}");
    let text = fixture.run(&["status", "9"]).success().stdout();
    assert!(text.contains("senders:") && text.contains("sender-a:") && text.contains("sender-b:"), "{text}");
}

#[test]
fn a_sender_killed_mid_send_leaves_its_rows_to_the_other_after_its_lease() {
    let n = 200;
    let concurrency = 2;
    let (fixture, _) = on_postgres(n);
    fixture.edit("publish.toml", "concurrency = 8", &format!("concurrency = {concurrency}"));
    let server = SmtpServer::start(&["--delay", "0.02"]);
    let start = |name: &str| {
        fixture
            .command(&["issue", "9", "--yes"])
            .env("PUBLISH_SMTP_URL", &server.url())
            .env("PUBLISH_SENDER", name)
            .spawn()
    };
    let mut doomed = start("doomed");
    assert!(server.wait_for(10, Duration::from_secs(60)), "the send did not start");
    let mut survivor = start("survivor");
    assert!(server.wait_for(40, Duration::from_secs(60)), "the send stalled");
    doomed.kill().unwrap(); // SIGKILL: its claimed batch stays leased to it
    doomed.wait().unwrap();
    assert!(server.count() < n, "killed too late to test anything");
    let status = survivor.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(survivor.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "the survivor failed: {stderr}");
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), n, "the survivor finished the whole list, the dead sender's batch included");
    let duplicates: usize = counts.values().map(|&c| c - 1).sum();
    assert!(duplicates <= concurrency, "{duplicates} duplicates, more than one per open connection");
    let status = json(&fixture.run(&["status", "9", "--json"]).success().stdout());
    assert_eq!(status["counts"]["sent"], n, "{status}");
    assert_eq!(status["counts"]["pending"], 0, "{status}");
    assert_eq!(status["state"], "sent", "{status}");
}

#[test]
fn the_state_migrates_from_sqlite_to_postgres_and_back_with_the_same_rows() {
    let fixture = Fixture::reference();
    let csv = subscribers_csv(fixture.path(), 12);
    fixture.run(&["subscribers", "import", csv.to_str().unwrap()]).success();
    fixture.run(&["subscribers", "remove", "reader004@example.com"]).success();
    fixture.run(&["issue", "9", "--yes"]).success(); // to the outbox: a ledger to copy
    let list = |f: &Fixture, url: Option<&str>| {
        let mut cmd = f.command(&["subscribers", "list", "--status", "all", "--json"]);
        if let Some(url) = url {
            cmd = cmd.env("PUBLISH_DATABASE_URL", url);
        }
        cmd.run().success().stdout()
    };
    let status = |f: &Fixture, url: Option<&str>| {
        let mut cmd = f.command(&["status", "9", "--json"]);
        if let Some(url) = url {
            cmd = cmd.env("PUBLISH_DATABASE_URL", url);
        }
        json(&cmd.run().success().stdout())["counts"].clone()
    };
    let (before, sent_before) = (list(&fixture, None), status(&fixture, None));
    let url = fresh_database();
    let copied = fixture.run(&["state", "migrate", "--to", &url]).success().stdout();
    assert!(copied.contains("subscribers") && copied.contains("12 rows"), "{copied}");
    assert_eq!(list(&fixture, Some(&url)), before);
    assert_eq!(status(&fixture, Some(&url))["sent"], sent_before["sent"]);
    // A target that holds rows is refused, whole.
    let refused = fixture.run(&["state", "migrate", "--to", &url]).failure(1).stderr();
    assert!(refused.contains("already holds rows") && refused.contains("--replace"), "{refused}");
    // And back, from PostgreSQL to a new SQLite file.
    let back = fixture.path().join("back/state.db");
    fixture
        .command(&["state", "migrate", "--to", &format!("sqlite:{}", back.display())])
        .env("PUBLISH_DATABASE_URL", &url)
        .run()
        .success();
    let returned = fixture
        .command(&["subscribers", "list", "--status", "all", "--json"])
        .env("PUBLISH_STATE_DIR", back.parent().unwrap().to_str().unwrap());
    assert_eq!(returned.run().success().stdout(), before);
}

#[test]
fn a_shared_database_needs_the_same_secret_on_every_machine() {
    let (fixture, url) = on_postgres(1);
    let run = fixture.command(&["status", "9"]).env("PUBLISH_SECRET", "").env("PUBLISH_DATABASE_URL", &url).run();
    let stderr = run.failure(1).stderr();
    assert!(stderr.contains("set PUBLISH_SECRET"), "{stderr}");
}

#[test]
fn check_points_at_a_database_url_with_a_password_or_that_is_not_one() {
    let fixture = Fixture::reference();
    let toml = fixture.read("publish.toml");
    let line = toml.lines().count() + 3;
    fixture
        .write("publish.toml", &format!("{toml}\n[state]\ndatabase_url = \"postgres://u:hunter2@db.example/news\"\n"));
    let out = fixture.run(&["check"]);
    let text = format!("{}{}", out.stdout(), out.stderr());
    assert!(text.contains(&format!("publish.toml:{line}")), "{text}");
    assert!(text.contains("password") && text.contains("PUBLISH_DATABASE_URL"), "{text}");
    fixture.write("publish.toml", &format!("{toml}\n[state]\ndatabase_url = \"mysql://db.example/news\"\n"));
    let out = fixture.run(&["check"]).failure(1);
    let text = format!("{}{}", out.stdout(), out.stderr());
    assert!(text.contains(&format!("publish.toml:{line}")) && text.contains("not a PostgreSQL URL"), "{text}");
}

#[test]
fn a_half_sent_issue_renumbered_on_postgres_is_refused_and_finishes_under_its_number() {
    let n = 60;
    let (fixture, _) = on_postgres(n);
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 1");
    let server = SmtpServer::start(&["--delay", "0.05"]);
    let mut first = fixture.command(&["issue", "9", "--yes"]).env("PUBLISH_SMTP_URL", &server.url()).spawn();
    assert!(server.wait_for(5, Duration::from_secs(60)), "the send did not start");
    first.kill().unwrap();
    first.wait().unwrap();
    let before = server.count();
    assert!(before < n, "killed too late to test anything");
    std::fs::rename(fixture.path().join("issues/009.toml"), fixture.path().join("issues/010.toml")).unwrap();
    let refused = send_issue(&fixture, &server, "10").failure(1);
    assert!(refused.stderr().contains("began to be sent as issue 9"), "{}", refused.stderr());
    assert_eq!(server.count(), before, "the renumbered issue went to nobody");
    let status = json(&fixture.run(&["status", "10", "--json"]).success().stdout());
    assert!(status["counts"]["started_at"].is_null(), "no send of issue 10 was started: {status}");
    std::fs::rename(fixture.path().join("issues/010.toml"), fixture.path().join("issues/009.toml")).unwrap();
    // The killed sender's lease (2 s) runs out; the resume waits for it and finishes.
    send_issue(&fixture, &server, "9").success();
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), n);
    assert!(counts.values().map(|c| c - 1).sum::<usize>() <= 1, "{counts:?}");
}

fn send_issue(fixture: &Fixture, server: &SmtpServer, n: &str) -> crate::support::Run {
    fixture.command(&["issue", n, "--yes"]).env("PUBLISH_SMTP_URL", &server.url()).run()
}

#[test]
fn a_database_that_goes_away_mid_send_stops_it_saying_how_to_resume_and_the_resume_finishes() {
    let n = 60;
    let (fixture, url) = on_postgres(n);
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 2");
    let server = SmtpServer::start(&["--delay", "0.05"]);
    let child = fixture.command(&["issue", "9", "--yes"]).env("PUBLISH_SMTP_URL", &server.url()).0.output_child();
    assert!(server.wait_for(5, Duration::from_secs(60)), "the send did not start");
    // The database drops the sender's connections, as a restart or a failover does.
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let dropped: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(dropped > 0, "the sender had no connection to drop");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("sending issue 9 stopped: the state database") && stderr.contains("stopped answering"));
    assert!(stderr.contains("Run `publish issue 9` again once the database answers"), "{stderr}");
    assert!(server.count() < n, "the send finished before the database went away");
    // Nothing recorded as sent that the server did not take.
    let status = json(&fixture.run(&["status", "9", "--json"]).success().stdout());
    let recorded = status["counts"]["sent"].as_u64().unwrap() as usize;
    assert!(recorded <= per_recipient(&server).len(), "{recorded} recorded, {:?}", per_recipient(&server));
    send_issue(&fixture, &server, "9").success();
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), n);
    assert!(counts.values().map(|c| c - 1).sum::<usize>() <= 2, "more than one per connection twice: {counts:?}");
}

#[test]
fn a_sender_restarted_under_its_name_waits_for_its_dead_runs_lease_and_finishes_the_send() {
    let n = 200;
    let (fixture, _) = on_postgres(n);
    // The name every run on this machine has (`[state] sender`, or PUBLISH_SENDER in its unit).
    fixture.edit("publish.toml", "lease = \"2s\"", "lease = \"2s\"\nsender = \"mailer-1\"");
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 2");
    let server = SmtpServer::start(&["--delay", "0.02"]);
    let mut doomed = fixture.command(&["issue", "9", "--yes"]).env("PUBLISH_SMTP_URL", &server.url()).spawn();
    assert!(server.wait_for(20, Duration::from_secs(60)), "the send did not start");
    doomed.kill().unwrap(); // SIGKILL: its claimed batch stays leased to it
    doomed.wait().unwrap();
    let before = server.count();
    // The same machine's next run, under the same name, while the dead run's lease still holds.
    let run = send_issue(&fixture, &server, "9").success();
    let status = json(&fixture.run(&["status", "9", "--json"]).success().stdout());
    assert_eq!(status["counts"]["pending"], 0, "{}\n{status}", run.stdout());
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), n, "the dead run's batch was sent too");
    assert!(counts.values().map(|c| c - 1).sum::<usize>() <= 2, "{counts:?}");
    assert!(before < n, "killed too late to test anything");
    assert_eq!(status["counts"]["senders"][0]["sender"], "mailer-1", "{status}");
}

#[test]
fn a_sender_whose_clock_runs_minutes_ahead_does_not_take_the_others_live_rows() {
    let n = 300;
    let (fixture, _) = on_postgres(n);
    // Leases long enough that only a clock three minutes ahead could think them run out.
    fixture.edit("publish.toml", "lease = \"2s\"", "lease = \"60s\"");
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 2");
    let server = SmtpServer::start(&["--delay", "0.01"]);
    let on_time = fixture.command(&["issue", "9", "--yes"]).env("PUBLISH_SMTP_URL", &server.url()).0.output_child();
    assert!(server.wait_for(10, Duration::from_secs(60)), "the send did not start");
    // The other machine: the same binary with its wall clock three minutes fast
    // (libfaketime; its monotonic clock, for timeouts, left alone).
    let mut ahead = std::process::Command::new("faketime");
    ahead.args(["-f", "+3m"]).arg(env!("CARGO_BIN_EXE_publish"));
    ahead.arg("--workspace").arg(fixture.path()).args(["issue", "9", "--yes"]);
    ahead
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("PUBLISH_NOW", "2024-03-01T01:00:00Z")
        .env("PUBLISH_SECRET", "test-secret-0123456789abcdef0123456789")
        .env("PUBLISH_SMTP_URL", server.url())
        .env_remove("PUBLISH_DATABASE_URL")
        .env_remove("PUBLISH_SENDER");
    let ahead = ahead.output_child();
    for child in [on_time, ahead] {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "a sender failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), n, "every recipient got the issue");
    let twice: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "nobody twice without a crash: {twice:?}");
}

#[test]
fn on_postgres_a_refused_welcome_and_an_address_at_an_ip_address_are_said() {
    let (fixture, _) = on_postgres(1);
    fixture.write("templates/welcome.html", "<p>Welcome! <a href=\"{{ preferences_url }}\">Preferences</a></p>\n");
    fixture.write("templates/welcome.txt", "Welcome!\nPreferences: {{ preferences_url }}\n");
    let refusing = SmtpServer::start(&["--reject", "ann@example.com"]);
    let run = fixture
        .command(&["subscribers", "add", "ann@example.com", "--confirmed"])
        .env("PUBLISH_SMTP_URL", &refusing.url())
        .run()
        .failure(3);
    assert!(run.stderr().contains("added ann@example.com, but the welcome mail was not sent: 550"), "{}", run.stderr());
    let run = fixture.command(&["subscribers", "add", "a@[127.0.0.1]"]).env("PUBLISH_SMTP_URL", &refusing.url()).run();
    assert!(run.failure(1).stderr().contains("has an IP address, not a domain name"));
}
