//! `publish issue N` end to end: subscribers in SQLite, messages over TCP to a
//! real SMTP server process (aiosmtpd), the ledger across failures and kills.

use std::time::{Duration, Instant};

use base64::Engine;

use crate::support::{Fixture, SmtpServer, per_recipient, python, repo, send, subscribers_csv, with_subscribers};

/// A header's value, unfolded.
fn header(raw: &str, name: &str) -> String {
    let head = raw.split("\r\n\r\n").next().unwrap().replace("\r\n ", " ").replace("\r\n\t", " ");
    head.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(": ")).map(str::to_string))
        .unwrap_or_else(|| panic!("no {name} header"))
}

#[test]
fn every_subscriber_gets_exactly_one_message_with_the_right_headers() {
    let fixture = with_subscribers(30);
    let server = SmtpServer::start(&[]);
    let run = send(&fixture, &server, &["--json"]).success();
    let summary: serde_json::Value = serde_json::from_str(&run.stdout()).expect("--json prints JSON");
    assert_eq!(summary["sent"], 30);
    assert_eq!(summary["failed"], 0);
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), 30);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    let mut tokens = std::collections::HashSet::new();
    for m in server.received() {
        let raw = &m.raw;
        assert!(header(raw, "To").contains(&m.rcpt), "To matches the envelope");
        assert_eq!(header(raw, "Subject"), "This Week in Asia #9: China AI dreams of Sora");
        assert!(header(raw, "From").contains("newsletter@analyse.asia"));
        assert!(header(raw, "Message-ID").ends_with("@analyse.asia>"));
        assert!(raw.contains("\nDate: "));
        assert!(header(raw, "List-Id").contains("<this-week-in-asia.analyse.asia>"));
        assert_eq!(header(raw, "List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
        let unsubscribe = header(raw, "List-Unsubscribe");
        let prefix = "<https://www.analyse.asia/this-week-in-asia/unsubscribe?t=";
        assert!(unsubscribe.starts_with(prefix), "{unsubscribe}");
        let token = &unsubscribe[prefix.len()..unsubscribe.find('>').unwrap()];
        assert!(token.len() >= 22 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert!(tokens.insert(token.to_string()), "two subscribers share an unsubscribe token");
        assert!(unsubscribe.contains("<mailto:newsletter@analyse.asia?subject=unsubscribe>"), "{unsubscribe}");
        let text_at = raw.find("Content-Type: text/plain").unwrap();
        let html_at = raw.find("Content-Type: text/html").unwrap();
        assert!(text_at < html_at && header(raw, "Content-Type").starts_with("multipart/alternative"));
    }
    let status = fixture.run(&["status", "9"]).success();
    assert!(status.stdout().contains("sent:     30"), "{}", status.stdout());
    assert!(status.stdout().contains("pending:  0"), "{}", status.stdout());
}

#[test]
fn the_body_is_personalised_and_parses_as_mime() {
    let fixture = with_subscribers(3);
    fixture.write(
        "templates/email.txt",
        "Hello {{ recipient.name }} of {{ recipient.fields.company }}\nUnsubscribe: {{ recipient.unsubscribe_url }}\n",
    );
    let server = SmtpServer::start(&[]);
    send(&fixture, &server, &[]).success();
    let m = server.received().into_iter().find(|m| m.rcpt == "reader001@example.com").unwrap();
    // Python's email package reads the message as a mail client would.
    let script = r#"
import email, sys
from email import policy
raw = open(sys.argv[1], 'rb').read().split(b'\r\n', 1)[1]
msg = email.message_from_bytes(raw, policy=policy.default)
assert msg.get_content_type() == 'multipart/alternative', msg.get_content_type()
parts = [p.get_content_type() for p in msg.iter_parts()]
assert parts == ['text/plain', 'text/html'], parts
print(msg.get_body(('plain',)).get_content())
"#;
    let text = crate::support::run_python(script, &[&m.path]);
    assert!(text.contains("Hello Reader 1 of Company 1"), "{text}");
    // The text part's link is the header's own.
    let unsubscribe = header(&m.raw, "List-Unsubscribe");
    let link = &unsubscribe[1..unsubscribe.find('>').unwrap()];
    assert!(text.contains(&format!("Unsubscribe: {link}")), "{text}\n{link}");
}

#[test]
fn greylisted_recipients_are_retried_until_delivered() {
    let fixture = with_subscribers(12);
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 4\nretry_backoff = \"100ms\"");
    let server = SmtpServer::start(&["--tempfail", "reader003@example.com:2", "--tempfail", "reader007@example.com:1"]);
    send(&fixture, &server, &[]).success();
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), 12);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    let attempts = server.attempts();
    assert_eq!(attempts.iter().filter(|a| a.starts_with("reader003@example.com ")).count(), 3, "{attempts:?}");
}

#[test]
fn rejected_recipients_are_failed_once_and_never_retried() {
    let fixture = with_subscribers(10);
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 3\nretry_backoff = \"100ms\"");
    let server = SmtpServer::start(&["--reject", "reader002@example.com", "--reject", "reader005@example.com"]);
    let run = send(&fixture, &server, &[]).failure(3);
    assert!(run.stdout().contains("8 sent, 2 failed"), "{}", run.stdout());
    assert!(run.stdout().contains("2 recipients: 550 5.1.1 <…>: Recipient address rejected"), "{}", run.stdout());
    assert_eq!(server.count(), 8);
    // A second run sends nothing more and retries no 5xx.
    send(&fixture, &server, &[]).failure(3);
    assert_eq!(server.count(), 8);
    let rejected = server.attempts().iter().filter(|a| a.ends_with(" 550")).count();
    assert_eq!(rejected, 2, "5xx recipients are tried once: {:?}", server.attempts());
    let status = fixture.run(&["status", "9"]).success().stdout();
    assert!(status.contains("failed:   2") && status.contains("User unknown"), "{status}");
}

#[test]
fn a_send_killed_midway_resumes_without_losing_or_doubling_recipients() {
    let n = 120;
    let concurrency = 4;
    let fixture = with_subscribers(n);
    fixture.edit("publish.toml", "concurrency = 8", &format!("concurrency = {concurrency}"));
    let server = SmtpServer::start(&["--delay", "0.02"]);
    let mut child = fixture.command(&["issue", "9", "--yes"]).env("PUBLISH_SMTP_URL", &server.url()).spawn();
    assert!(server.wait_for(40, Duration::from_secs(60)), "the send did not start");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before_resume = server.count();
    assert!(before_resume < n, "killed too late to test anything ({before_resume} of {n})");
    send(&fixture, &server, &[]).success();
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), n, "every recipient got the issue");
    let duplicates: usize = counts.values().map(|&c| c - 1).sum();
    assert!(duplicates <= concurrency, "{duplicates} duplicates, more than one per connection");
    let status = fixture.run(&["status", "9"]).success().stdout();
    assert!(status.contains(&format!("sent:     {n}")), "{status}");
}

/// Ctrl-C or SIGTERM during a send (a terminal, `timeout`, systemd): the
/// messages on the wire get their answer and are recorded before the process
/// ends, so the resume sends nobody twice, unlike a SIGKILL (above).
#[test]
fn an_interrupted_send_records_every_accepted_message_and_resumes_without_a_duplicate() {
    let n = 60;
    let fixture = with_subscribers(n);
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 4");
    // The server keeps each message, then takes a while to say so: the
    // window in which a process ended at once loses the acceptance.
    let server = SmtpServer::start(&["--reply-delay", "0.3"]);
    for (signal, name, after) in [("-INT", "Ctrl-C (SIGINT)", 8), ("-TERM", "SIGTERM", 24)] {
        let mut child = fixture.command(&["issue", "9", "--yes"]).env("PUBLISH_SMTP_URL", &server.url()).spawn();
        assert!(server.wait_for(after, Duration::from_secs(60)), "the send did not start");
        let killed = std::process::Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(&format!("interrupted by {name}")), "{stderr}");
        let received = server.count();
        assert!(received < n, "interrupted too late to test anything ({received} of {n})");
        let status = fixture.run(&["status", "9"]).success().stdout();
        assert!(
            status.contains(&format!("sent:     {received}\n")),
            "every message the server kept is recorded: {status}"
        );
    }
    send(&fixture, &server, &[]).success();
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), n, "every recipient got the issue");
    assert!(counts.values().all(|&c| c == 1), "nobody twice: {counts:?}");
}

#[test]
fn a_second_send_of_the_same_issue_is_refused_and_names_the_holder() {
    let fixture = with_subscribers(60);
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 1");
    let server = SmtpServer::start(&["--delay", "0.05"]);
    let mut first = fixture.command(&["issue", "9", "--yes"]).env("PUBLISH_SMTP_URL", &server.url()).spawn();
    assert!(server.wait_for(1, Duration::from_secs(60)));
    let second = send(&fixture, &server, &[]).failure(1);
    assert!(second.stderr().contains("is being sent right now by pid"), "{}", second.stderr());
    let status = first.wait().unwrap();
    assert!(status.success());
    assert_eq!(per_recipient(&server).values().sum::<usize>(), 60);
}

#[test]
fn removed_and_unsubscribed_addresses_are_never_mailed_even_if_reimported() {
    let fixture = with_subscribers(5);
    fixture.run(&["subscribers", "remove", "READER001@example.com"]).success();
    let csv = subscribers_csv(fixture.path(), 5);
    fixture.run(&["subscribers", "import", csv.to_str().unwrap()]).success();
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "4");
    let server = SmtpServer::start(&[]);
    send(&fixture, &server, &[]).success();
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), 4);
    assert!(!counts.contains_key("reader001@example.com"));
    let listed = fixture.run(&["subscribers", "list", "--unsubscribed"]).success().stdout();
    assert!(listed.contains("reader001@example.com\tremoved"), "{listed}");
}

#[test]
fn new_subscribers_get_the_issue_on_the_next_run_and_old_ones_do_not_get_it_again() {
    let fixture = with_subscribers(3);
    let server = SmtpServer::start(&[]);
    send(&fixture, &server, &[]).success();
    fixture.write("late.csv", "email\nlate@example.com\n");
    fixture.run(&["subscribers", "import", fixture.path().join("late.csv").to_str().unwrap()]).success();
    send(&fixture, &server, &[]).success();
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), 4);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
}

#[test]
fn a_real_transport_needs_confirmation_when_not_on_a_terminal() {
    let fixture = with_subscribers(2);
    let server = SmtpServer::start(&[]);
    let run = fixture.command(&["issue", "9"]).env("PUBLISH_SMTP_URL", &server.url()).run().failure(1);
    assert!(run.stderr().contains("add --yes to confirm"), "{}", run.stderr());
    assert_eq!(server.count(), 0);
}

#[test]
fn dry_run_sends_and_writes_nothing() {
    let fixture = with_subscribers(4);
    let server = SmtpServer::start(&[]);
    let run = fixture.command(&["issue", "9", "--dry-run"]).env("PUBLISH_SMTP_URL", &server.url()).run().success();
    assert!(run.stdout().contains("recipients: 4"), "{}", run.stdout());
    assert!(run.stdout().contains(&format!("SMTP 127.0.0.1:{}", server.port)), "{}", run.stdout());
    assert_eq!(server.count(), 0);
    assert!(!fixture.path().join("out").exists());
    assert!(fixture.run(&["status", "9"]).success().stdout().contains("not sent"));
}

#[test]
fn a_dry_run_on_a_fresh_publication_creates_no_secret_and_no_database() {
    let fixture = Fixture::reference();
    let mut command = fixture.command(&["issue", "9", "--dry-run"]);
    command.0.env_remove("PUBLISH_SECRET");
    let run = command.run().success();
    assert!(run.stdout().contains("nothing is written or sent"), "{}", run.stdout());
    assert!(run.stdout().contains("recipients: 0"), "{}", run.stdout());
    assert!(!fixture.path().join(".publish").exists(), "a dry run wrote .publish/");
    assert!(!fixture.path().join("out").exists(), "a dry run wrote out/");
}

#[test]
fn a_dry_run_with_json_prints_the_plan_as_json_and_writes_nothing() {
    let fixture = with_subscribers(3);
    let before = std::fs::metadata(fixture.path().join(".publish/state.db")).unwrap().modified().unwrap();
    let run = fixture.run(&["issue", "9", "--dry-run", "--json"]).success();
    let plan: serde_json::Value = serde_json::from_str(&run.stdout()).expect("--dry-run --json prints JSON");
    assert_eq!(plan["issue"], 9);
    assert_eq!(plan["recipients"], 3);
    assert!(plan["subject"].as_str().unwrap().contains("China AI dreams of Sora"), "{plan}");
    let files = plan["would_write"].as_array().unwrap();
    assert!(files.iter().any(|f| f["path"] == "out/9/email.html" && f["bytes"].as_u64() > Some(1000)), "{plan}");
    assert!(!fixture.path().join("out").exists());
    let after = std::fs::metadata(fixture.path().join(".publish/state.db")).unwrap().modified().unwrap();
    assert_eq!(before, after, "the ledger was written");
    assert!(fixture.run(&["status", "9"]).success().stdout().contains("not sent"));
}

#[test]
fn status_of_an_issue_that_does_not_exist_is_an_error() {
    let fixture = with_subscribers(1);
    let run = fixture.run(&["status", "999"]).failure(1);
    assert!(run.stderr().contains("there is no issue 999"), "{}", run.stderr());
    assert!(fixture.run(&["status", "999", "--json"]).failure(1).stdout().is_empty());
    fixture.run(&["status", "9"]).success();
}

#[test]
fn the_default_outbox_writes_one_eml_per_subscriber() {
    let fixture = with_subscribers(5);
    fixture.run(&["issue", "9"]).success();
    let files: Vec<_> = std::fs::read_dir(fixture.path().join("out/outbox/9")).unwrap().collect();
    assert_eq!(files.len(), 5);
    fixture.run(&["issue", "9"]).success();
    assert_eq!(
        std::fs::read_dir(fixture.path().join("out/outbox/9")).unwrap().count(),
        5,
        "a re-run sends nothing twice"
    );
}

#[test]
fn a_test_send_is_marked_and_touches_no_send_records() {
    let fixture = with_subscribers(3);
    let server = SmtpServer::start(&[]);
    let run = fixture
        .command(&["test", "9", "--to", "editor@example.com"])
        .env("PUBLISH_SMTP_URL", &server.url())
        .run()
        .success();
    assert!(run.stdout().contains("sent to editor@example.com"), "{}", run.stdout());
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert_eq!(header(&got[0].raw, "Subject"), "[TEST] This Week in Asia #9: China AI dreams of Sora");
    assert!(fixture.run(&["status", "9"]).success().stdout().contains("not sent"));
}

#[test]
fn an_unreachable_server_stops_the_send_and_keeps_everyone_pending() {
    let fixture = with_subscribers(5);
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 2\nmax_attempts = 2\nretry_backoff = \"50ms\"");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let run = fixture
        .command(&["issue", "9", "--yes"])
        .env("PUBLISH_SMTP_URL", &format!("smtp://127.0.0.1:{port}"))
        .run()
        .failure(1);
    assert!(run.stderr().contains("still pending"), "{}", run.stderr());
    let status = fixture.run(&["status", "9"]).success().stdout();
    assert!(status.contains("pending:  5") && status.contains("failed:   0"), "{status}");
}

fn dkim_round_trip(genkey: &[&str], record_prefix: &str, pubkey_der: &dyn Fn(&std::path::Path) -> Vec<u8>) {
    let fixture = with_subscribers(2);
    let key = fixture.path().join("dkim.pem");
    let status =
        std::process::Command::new("openssl").arg(genkey[0]).arg("-out").arg(&key).args(&genkey[1..]).status().unwrap();
    assert!(status.success());
    fixture.edit(
        "publish.toml",
        "[schedule]",
        "[email.dkim]\ndomain = \"analyse.asia\"\nselector = \"mh\"\nkey_file = \"dkim.pem\"\n\n[schedule]",
    );
    let server = SmtpServer::start(&[]);
    send(&fixture, &server, &[]).success();
    assert_eq!(server.count(), 2, "both subscribers get a signed copy");
    let record =
        format!("v=DKIM1; k={record_prefix}; p={}", base64::engine::general_purpose::STANDARD.encode(pubkey_der(&key)));
    let record_file = fixture.path().join("record.txt");
    std::fs::write(&record_file, record).unwrap();
    for m in server.received() {
        assert!(m.raw.contains("DKIM-Signature:"), "not signed");
        let out = dkim_verify(&m.path, &[record_file.as_os_str().to_owned()]);
        assert!(
            out.status.success(),
            "dkimpy: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let sig = &m.raw[m.raw.find("DKIM-Signature:").unwrap()..];
        let sig: String = sig.lines().take_while(|l| !l.is_empty()).collect::<Vec<_>>().join("");
        assert!(sig.contains("c=relaxed/relaxed"), "{sig}");
        for h in [
            "from",
            "reply-to",
            "to",
            "subject",
            "date",
            "message-id",
            "mime-version",
            "content-type",
            "list-id",
            "list-unsubscribe",
            "list-unsubscribe-post",
        ] {
            assert!(sig.to_lowercase().split([':', '=', ';', ' ']).any(|t| t == h), "h= lacks {h}: {sig}");
        }
    }
    dkim_breaks_when_a_replayed_copy_gains_a_header(&server.received()[0].path, &[record_file.into_os_string()]);
}

/// dkimpy's verdict on every DKIM-Signature of `message`; `records` are
/// record files, or `selector=file` pairs when there are several keys.
fn dkim_verify(message: &std::path::Path, records: &[std::ffi::OsString]) -> std::process::Output {
    std::process::Command::new(python())
        .arg(repo().join("tests/tools/dkim_verify.py"))
        .arg(message)
        .args(records)
        .output()
        .unwrap()
}

/// A replayed copy with a second Subject, a new Reply-To or a second From
/// no longer verifies (the signature over-signs them, RFC 6376 §8.15).
fn dkim_breaks_when_a_replayed_copy_gains_a_header(message: &std::path::Path, records: &[std::ffi::OsString]) {
    let raw = std::fs::read(message).unwrap();
    let split = raw.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    let (test_line, message_bytes) = raw.split_at(split);
    for added in
        ["Subject: You won a prize\r\n", "Reply-To: <collect@attacker.example>\r\n", "From: <ceo@analyse.asia>\r\n"]
    {
        let tampered = message.with_extension("tampered");
        std::fs::write(&tampered, [test_line, added.as_bytes(), message_bytes].concat()).unwrap();
        let out = dkim_verify(&tampered, records);
        assert_eq!(
            out.status.code(),
            Some(1),
            "still verifies with {added:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

fn public_key_der(key: &std::path::Path) -> Vec<u8> {
    let out = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(key)
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

#[test]
fn rsa_dkim_signatures_verify_with_dkimpy() {
    dkim_round_trip(&["genrsa", "-traditional", "2048"], "rsa", &public_key_der);
}

#[test]
fn ed25519_dkim_signatures_verify_with_dkimpy() {
    // RFC 8463: the record holds the raw 32-byte public key, the DER's last 32 bytes.
    dkim_round_trip(&["genpkey", "-algorithm", "ed25519"], "ed25519", &|k| {
        let der = public_key_der(k);
        der[der.len() - 32..].to_vec()
    });
}

fn openssl_key(path: &std::path::Path, args: &[&str]) {
    let status = std::process::Command::new("openssl")
        .arg("genpkey")
        .arg("-out")
        .arg(path)
        .args(args)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn dual_dkim_signing_adds_one_signature_per_key_and_dkimpy_verifies_each() {
    let fixture = with_subscribers(2);
    // RSA as PKCS#8 (what genpkey writes), Ed25519 as PKCS#8; one selector each.
    openssl_key(&fixture.path().join("rsa.pem"), &["-algorithm", "rsa", "-pkeyopt", "rsa_keygen_bits:2048"]);
    openssl_key(&fixture.path().join("ed.pem"), &["-algorithm", "ed25519"]);
    fixture.edit(
        "publish.toml",
        "[schedule]",
        "[[email.dkim]]\ndomain = \"analyse.asia\"\nselector = \"mh-rsa\"\nkey_file = \"rsa.pem\"\n\n\
         [[email.dkim]]\ndomain = \"analyse.asia\"\nselector = \"mh-ed\"\nkey_file = \"ed.pem\"\n\n[schedule]",
    );
    let server = SmtpServer::start(&[]);
    send(&fixture, &server, &[]).success();
    assert_eq!(server.count(), 2);
    let mut records = Vec::new();
    for (selector, file, kind) in [("mh-rsa", "rsa.pem", "rsa"), ("mh-ed", "ed.pem", "ed25519")] {
        let der = public_key_der(&fixture.path().join(file));
        let public = if kind == "ed25519" { der[der.len() - 32..].to_vec() } else { der };
        let record = format!("v=DKIM1; k={kind}; p={}", base64::engine::general_purpose::STANDARD.encode(public));
        let path = fixture.path().join(format!("{selector}.txt"));
        std::fs::write(&path, record).unwrap();
        let mut arg = std::ffi::OsString::from(format!("{selector}="));
        arg.push(&path);
        records.push(arg);
    }
    for m in server.received() {
        let signatures: Vec<&str> = m.raw.split("DKIM-Signature:").skip(1).collect();
        assert_eq!(signatures.len(), 2, "one signature per key");
        assert!(signatures[0].contains("a=rsa-sha256") && signatures[0].contains("s=mh-rsa"), "{}", signatures[0]);
        assert!(signatures[1].contains("a=ed25519-sha256") && signatures[1].contains("s=mh-ed"), "{}", signatures[1]);
        let out = dkim_verify(&m.path, &records);
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && said.matches("verified").count() == 2, "dkimpy: {said}");
        // Only the RSA key's record: the Ed25519 signature fails, so the check does.
        let out = dkim_verify(&m.path, &records[..1]);
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    }
    dkim_breaks_when_a_replayed_copy_gains_a_header(&server.received()[0].path, &records);
}

#[test]
fn two_dkim_keys_with_one_selector_are_refused() {
    let fixture = with_subscribers(1);
    openssl_key(&fixture.path().join("ed.pem"), &["-algorithm", "ed25519"]);
    let key = "domain = \"analyse.asia\"\nselector = \"mh\"\nkey_file = \"ed.pem\"\n\n";
    fixture.edit("publish.toml", "[schedule]", &format!("[[email.dkim]]\n{key}[[email.dkim]]\n{key}[schedule]"));
    let run = fixture.run(&["check"]).failure(1);
    let said = run.stderr() + &run.stdout();
    assert!(said.contains("a second DKIM key with the selector \"mh\"") && said.contains("publish.toml:"), "{said}");
}

#[test]
fn an_unknown_key_in_a_dkim_array_table_is_named_with_its_line() {
    let fixture = with_subscribers(1);
    fixture.edit(
        "publish.toml",
        "[schedule]",
        "[[email.dkim]]\ndomain = \"analyse.asia\"\nselector = \"mh\"\nkeyfile = \"k.pem\"\n\n[schedule]",
    );
    let run = fixture.run(&["check"]).failure(1);
    let said = run.stderr() + &run.stdout();
    assert!(said.contains("unknown key \"keyfile\"") && said.contains("key_file"), "{said}");
}

#[test]
fn throttling_replies_slow_the_send_but_everyone_is_delivered() {
    let fixture = with_subscribers(40);
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 4\nretry_backoff = \"50ms\"");
    let server = SmtpServer::start(&["--throttle-every", "7"]);
    let started = Instant::now();
    send(&fixture, &server, &[]).success();
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), 40);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    assert!(started.elapsed() < Duration::from_secs(120));
}
