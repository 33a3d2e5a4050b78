//! Servers that turn the send away in other ways than a bad recipient: the
//! session, the login, the sender or every message refused, a sender deferred,
//! a connection dropped after DATA, no SMTPUTF8, fewer connections than asked for. None of them may fail
//! recipients who had nothing to do with it, and nobody gets a message twice
//! beyond the one in flight when a connection drops.

use crate::support::Fixture;
use crate::support::SmtpServer;
use crate::support::{per_recipient, send, with_subscribers};

/// Few connections, short backoff, two attempts: the failure shows quickly.
fn quick(fixture: &Fixture) {
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 2\nmax_attempts = 2\nretry_backoff = \"50ms\"");
}

fn status_of(fixture: &Fixture) -> String {
    fixture.run(&["status", "9"]).success().stdout()
}

#[test]
fn a_server_refusing_the_session_stops_the_send_and_fails_nobody() {
    let fixture = with_subscribers(6);
    quick(&fixture);
    let server = SmtpServer::start(&["--refuse-session"]);
    let run = send(&fixture, &server, &[]).failure(1);
    assert!(run.stderr().contains("refused the session: 554"), "{}", run.stderr());
    assert!(run.stderr().contains("6 recipients are still pending"), "{}", run.stderr());
    let status = status_of(&fixture);
    assert!(status.contains("pending:  6") && status.contains("failed:   0"), "{status}");
}

#[test]
fn a_refused_sender_stops_the_send_and_fails_nobody() {
    let fixture = with_subscribers(6);
    quick(&fixture);
    let server = SmtpServer::start(&["--refuse-sender"]);
    let run = send(&fixture, &server, &[]).failure(1);
    assert!(run.stderr().contains("the server refuses the sender: 553"), "{}", run.stderr());
    assert!(run.stderr().contains("[email] from"), "the message says what to check: {}", run.stderr());
    let status = status_of(&fixture);
    assert!(status.contains("pending:  6") && status.contains("failed:   0"), "{status}");
    // A refused sender is not tried again and again: one MAIL per connection at most.
    let mails = server.attempts().iter().filter(|a| a.starts_with("MAIL ")).count();
    assert!(mails <= 2, "{:?}", server.attempts());
}

#[test]
fn the_password_never_goes_out_on_a_connection_without_tls() {
    let fixture = with_subscribers(3);
    quick(&fixture);
    // A server that asks for AUTH but offers no STARTTLS (or one whose
    // STARTTLS an attacker on the path stripped from the EHLO reply).
    let server = SmtpServer::start(&["--auth", "newsletter:s3cret"]);
    for url in [
        format!("smtp://newsletter@127.0.0.1:{}", server.port),
        format!("smtp://newsletter@127.0.0.1:{}?tls=opportunistic", server.port),
    ] {
        let run = fixture
            .command(&["issue", "9", "--yes"])
            .env("PUBLISH_SMTP_URL", &url)
            .env("PUBLISH_SMTP_PASSWORD", "s3cret")
            .run()
            .failure(1);
        assert!(run.stderr().contains("no STARTTLS"), "{}", run.stderr());
        assert!(run.stderr().contains("?tls=none"), "{}", run.stderr());
    }
    assert!(server.attempts().iter().all(|a| !a.starts_with("AUTH")), "{:?}", server.attempts());
    assert_eq!(server.count(), 0);
    assert!(status_of(&fixture).contains("pending:  3"));
}

/// Makes, in `dir`, a certificate authority (`ca.pem`) and a certificate for
/// 127.0.0.1 signed by it (`relay.pem`, `relay.key`), and a self-signed one
/// (`self.pem`, `self.key`), with the openssl command line.
fn certificates(dir: &std::path::Path) {
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let key = ["-newkey", "rsa:2048", "-nodes", "-days", "2"];
    openssl(&[&["req", "-x509"][..], &key, &["-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=Relay CA"]].concat());
    openssl(
        &[&["req", "-x509"][..], &key, &["-keyout", "self.key", "-out", "self.pem", "-subj", "/CN=127.0.0.1"]].concat(),
    );
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "relay.key",
        "-out",
        "relay.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(dir.join("san.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "relay.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        "relay.pem",
        "-extfile",
        "san.cnf",
    ]);
}

/// A relay whose certificate this machine cannot trust (self-signed here):
/// the send stops at once, saying why and what to do, before the login.
#[test]
fn a_server_with_an_untrusted_certificate_is_refused_at_once_and_the_password_never_goes_out() {
    let fixture = with_subscribers(3);
    quick(&fixture);
    let certs = tempfile::tempdir().unwrap();
    certificates(certs.path());
    let pair = |name: &str| format!("{0}/{name}.pem:{0}/{name}.key", certs.path().display());
    let server = SmtpServer::start(&["--auth", "newsletter:s3cret", "--starttls", &pair("self")]);
    let run = fixture
        .command(&["issue", "9", "--yes"])
        .env("PUBLISH_SMTP_URL", &format!("smtp://newsletter@127.0.0.1:{}", server.port))
        .env("PUBLISH_SMTP_PASSWORD", "s3cret")
        .run()
        .failure(1);
    assert!(run.stderr().contains("TLS certificate is self-signed"), "{}", run.stderr());
    assert!(run.stderr().contains("?ca="), "says what to do: {}", run.stderr());
    assert!(!run.stderr().contains("after 2 attempts"), "a certificate is not tried again: {}", run.stderr());
    assert!(server.attempts().iter().all(|a| !a.starts_with("AUTH")), "{:?}", server.attempts());
    assert_eq!(server.count(), 0);
    assert!(status_of(&fixture).contains("pending:  3"));
}

/// A relay with a certificate from a private authority, named by `?ca=`:
/// STARTTLS, the login over TLS, everyone sent. The same authority does not
/// vouch for a certificate it did not sign.
#[test]
fn a_private_authority_named_by_ca_is_trusted_and_the_login_goes_over_tls() {
    let fixture = with_subscribers(4);
    quick(&fixture);
    let certs = tempfile::tempdir().unwrap();
    certificates(certs.path());
    let pair = |name: &str| format!("{0}/{name}.pem:{0}/{name}.key", certs.path().display());
    let ca = certs.path().join("ca.pem");
    let ca = percent_encoding::utf8_percent_encode(ca.to_str().unwrap(), percent_encoding::NON_ALPHANUMERIC);
    for (served, ok) in [("self", false), ("relay", true)] {
        let server = SmtpServer::start(&["--auth", "newsletter:s3cret", "--starttls", &pair(served)]);
        let run = fixture
            .command(&["issue", "9", "--yes"])
            .env("PUBLISH_SMTP_URL", &format!("smtp://newsletter@127.0.0.1:{}?tls=required&ca={ca}", server.port))
            .env("PUBLISH_SMTP_PASSWORD", "s3cret")
            .run();
        if ok {
            run.success();
            assert_eq!(server.count(), 4);
            let logins: Vec<_> = server.attempts().into_iter().filter(|a| a.starts_with("AUTH")).collect();
            assert!(!logins.is_empty() && logins.iter().all(|a| a.ends_with("over TLS")), "{logins:?}");
        } else {
            let run = run.failure(1);
            assert!(run.stderr().contains("checked against the authority named by ca="), "{}", run.stderr());
            assert_eq!(server.count(), 0);
        }
    }
}

#[test]
fn a_wrong_password_fails_nobody_and_the_right_one_sends_to_all() {
    let fixture = with_subscribers(5);
    quick(&fixture);
    let server = SmtpServer::start(&["--auth", "newsletter:s3cret"]);
    // A relay on this machine: the URL opts in to a login without TLS.
    let url = format!("smtp://newsletter@127.0.0.1:{}?tls=none", server.port);
    let run = fixture
        .command(&["issue", "9", "--yes"])
        .env("PUBLISH_SMTP_URL", &url)
        .env("PUBLISH_SMTP_PASSWORD", "wrong")
        .run()
        .failure(1);
    assert!(run.stderr().contains("login as newsletter failed: 535"), "{}", run.stderr());
    assert!(run.stderr().contains("PUBLISH_SMTP_PASSWORD"), "{}", run.stderr());
    assert_eq!(server.count(), 0);
    assert!(status_of(&fixture).contains("pending:  5"));

    fixture
        .command(&["issue", "9", "--yes"])
        .env("PUBLISH_SMTP_URL", &url)
        .env("PUBLISH_SMTP_PASSWORD", "s3cret")
        .run()
        .success();
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), 5);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
}

#[test]
fn a_sender_deferred_until_the_attempts_run_out_stops_the_send_and_fails_nobody() {
    let fixture = with_subscribers(4);
    quick(&fixture);
    let server = SmtpServer::start(&["--defer-sender"]);
    let run = send(&fixture, &server, &[]).failure(1);
    assert!(run.stderr().contains("451 4.3.0 Sending quota exhausted"), "{}", run.stderr());
    let status = status_of(&fixture);
    assert!(status.contains("pending:  4") && status.contains("failed:   0"), "{status}");
}

#[test]
fn a_server_refusing_every_message_stops_after_ten_and_retry_failed_sends_them_later() {
    let n = 40;
    let fixture = with_subscribers(n);
    quick(&fixture);
    let refusing = SmtpServer::start(&["--refuse-content"]);
    let run = send(&fixture, &refusing, &[]).failure(1);
    assert!(run.stderr().contains("refused 10 messages in a row (554 5.6.0"), "{}", run.stderr());
    assert!(run.stderr().contains("--retry-failed"), "{}", run.stderr());
    let refused = std::fs::read_to_string(refusing.dir.path().join("attempts.log")).unwrap();
    let refused = refused.lines().filter(|l| l.starts_with("DATA ")).count();
    // The breaker trips at the tenth; each other connection may finish the one it had in hand.
    assert!((10..10 + 2).contains(&refused), "{refused} messages were refused");
    let status = status_of(&fixture);
    assert!(status.contains(&format!("failed:   {refused}")), "{status}");
    assert!(status.contains(&format!("pending:  {}", n - refused)), "{status}");

    // The cause fixed: a plain run sends the pending ones, --retry-failed the failed ones too.
    let server = SmtpServer::start(&[]);
    send(&fixture, &server, &[]).failure(3);
    assert_eq!(server.count(), n - refused);
    send(&fixture, &server, &["--retry-failed"]).success();
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), n);
    assert!(counts.values().all(|&c| c == 1), "{counts:?}");
    assert!(status_of(&fixture).contains(&format!("sent:     {n}")));
}

#[test]
fn a_hard_bounce_is_never_mailed_again_even_when_reimported_and_retried() {
    let fixture = with_subscribers(4);
    quick(&fixture);
    let server = SmtpServer::start(&["--reject", "reader001@example.com"]);
    send(&fixture, &server, &[]).failure(3);
    let list = fixture.run(&["subscribers", "list", "--unsubscribed"]).success().stdout();
    assert!(list.contains("reader001@example.com") && list.contains("bounced"), "{list}");
    let csv = crate::support::subscribers_csv(fixture.path(), 4);
    fixture.run(&["subscribers", "import", csv.to_str().unwrap()]).success();
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "3");
    send(&fixture, &server, &["--retry-failed"]).failure(3);
    let rejected = server.attempts().iter().filter(|a| a.starts_with("reader001@example.com ")).count();
    assert_eq!(rejected, 1, "{:?}", server.attempts());
}

/// A server that calls every address unknown (one that does not relay for
/// us and answers 550 5.1.1): the send stops after a few, instead of marking
/// the whole list bounced, never to be mailed again.
#[test]
fn a_server_calling_every_address_unknown_stops_the_send_before_the_list_is_marked_bounced() {
    let fixture = with_subscribers(40);
    quick(&fixture);
    let server = SmtpServer::start(&["--reject-all"]);
    let run = send(&fixture, &server, &[]).failure(1);
    assert!(run.stderr().contains("addresses in a row unknown"), "{}", run.stderr());
    assert!(run.stderr().contains("relays mail for you"), "{}", run.stderr());
    let bounced = fixture.run(&["subscribers", "list", "--status", "bounced"]).success().stdout().lines().count();
    assert!((9..=10).contains(&bounced), "{bounced} bounced");
    let active = fixture.run(&["subscribers", "count"]).success().stdout();
    assert_eq!(active.trim().parse::<usize>().unwrap(), 40 - bounced);
    assert!(status_of(&fixture).contains(&format!("pending:  {}", 40 - bounced)));
}

#[test]
fn a_connection_dropped_after_data_costs_at_most_one_duplicate() {
    let fixture = with_subscribers(8);
    quick(&fixture);
    let server = SmtpServer::start(&["--drop-after-data", "3"]);
    send(&fixture, &server, &[]).success();
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), 8, "{counts:?}");
    let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert_eq!(doubled.len(), 1, "exactly the message in flight goes twice: {counts:?}");
    assert_eq!(*doubled[0].1, 2);
}

/// A server that takes fewer connections at once than `concurrency` (421 at
/// the greeting beyond its limit, as Office 365 and many relays answer a
/// client over its share): the send goes on over the connections it took,
/// says so, and everyone gets the issue once.
#[test]
fn a_server_taking_fewer_connections_than_concurrency_gets_everyone_through_those_it_takes() {
    let fixture = with_subscribers(120);
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 6\nmax_attempts = 3\nretry_backoff = \"100ms\"");
    let server = SmtpServer::start(&["--max-connections", "2", "--delay", "0.01"]);
    let run = send(&fixture, &server, &[]).success();
    assert!(server.attempts().iter().any(|a| a == "CONNECT 421"), "the limit was reached: {:?}", server.attempts());
    assert!(run.stderr().contains("takes no more connections"), "{}", run.stderr());
    assert!(run.stderr().contains("[email] concurrency"), "says what to change: {}", run.stderr());
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), 120, "{counts:?}");
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    assert!(status_of(&fixture).contains("pending:  0"));
}

/// A server whose SIZE is below the message: nothing is sent, nobody
/// is failed, and the error says how big the message is against the limit.
#[test]
fn a_message_above_the_servers_size_limit_stops_the_send_before_anyone_is_failed() {
    let fixture = with_subscribers(6);
    quick(&fixture);
    let server = SmtpServer::start(&["--size-limit", "10000"]);
    let run = send(&fixture, &server, &[]).failure(1);
    assert!(run.stderr().contains("the server takes at most 10000 (its SIZE)"), "{}", run.stderr());
    assert_eq!(server.count(), 0);
    assert!(!server.attempts().iter().any(|a| a.starts_with("MAIL ")), "no transaction begun: {:?}", server.attempts());
    let status = status_of(&fixture);
    assert!(status.contains("pending:  6") && status.contains("failed:   0"), "{status}");
    // Under the limit, each MAIL declares the message's size (RFC 1870).
    let roomy = SmtpServer::start(&["--size-limit", "1000000"]);
    send(&fixture, &roomy, &[]).success();
    assert_eq!(roomy.count(), 6);
    let mail = roomy.attempts().into_iter().find(|a| a.starts_with("MAIL ")).unwrap();
    assert!(mail.contains("SIZE="), "{mail}");
}

/// A server that defers every recipient once its quota is spent (451 to each
/// RCPT): the send stops with everyone not yet sent pending, instead of
/// failing them one by one as their tries run out; the next run, once the
/// quota is back, sends to them.
#[test]
fn a_spent_sending_quota_stops_the_send_with_everyone_else_pending_instead_of_failing_them() {
    let fixture = with_subscribers(30);
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 2\nmax_attempts = 3\nretry_backoff = \"100ms\"");
    let server = SmtpServer::start(&["--quota", "5"]);
    let run = send(&fixture, &server, &[]).failure(1);
    assert!(run.stderr().contains("tries in a row and accepted nothing between"), "{}", run.stderr());
    assert!(run.stderr().contains("Hourly sending quota exceeded"), "{}", run.stderr());
    let sent = server.count();
    assert!((5..30).contains(&sent), "{sent}");
    let status = status_of(&fixture);
    assert!(status.contains(&format!("sent:     {sent}\n")), "{status}");
    assert!(status.contains("failed:   0") && status.contains(&format!("pending:  {}", 30 - sent)), "{status}");
    let later = SmtpServer::start(&[]);
    send(&fixture, &later, &[]).success();
    let mut everyone = per_recipient(&server);
    for (rcpt, n) in per_recipient(&later) {
        *everyone.entry(rcpt).or_default() += n;
    }
    assert_eq!(everyone.len(), 30, "{everyone:?}");
    assert!(everyone.values().all(|n| *n == 1), "{everyone:?}");
}

/// The `sendmail` transport through a real sendmail program (msmtp, relaying
/// to `server` at once), as `sendmail_command`.
fn use_sendmail(fixture: &Fixture, server: &SmtpServer) {
    let script = fixture.path().join("sendmail.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nexec msmtp --host=127.0.0.1 --port={} --auth=off --tls=off \"$@\"\n", server.port),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    fixture.edit(
        "publish.toml",
        "transport = \"outbox\"",
        &format!("transport = \"sendmail\"\nsendmail_command = \"{}\"", script.display()),
    );
}

/// Through a sendmail program, a recipient the server refuses fails (and
/// bounces) alone, one it defers is tried again, and everyone else gets the
/// issue once: a bad address does not stop the send for the whole list.
#[test]
fn through_sendmail_a_refused_recipient_fails_alone_and_a_deferred_one_is_tried_again() {
    let fixture = with_subscribers(6);
    quick(&fixture);
    let server = SmtpServer::start(&["--reject", "reader001@example.com", "--tempfail", "reader002@example.com:1"]);
    use_sendmail(&fixture, &server);
    let run = fixture.command(&["issue", "9", "--yes"]).run().failure(3);
    assert!(run.stdout().contains("550 5.1.1"), "{}", run.stdout());
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), 5, "{counts:?}");
    assert!(counts.values().all(|n| *n == 1) && !counts.contains_key("reader001@example.com"), "{counts:?}");
    let status = status_of(&fixture);
    assert!(status.contains("sent:     5") && status.contains("failed:   1"), "{status}");
    let shown = fixture.run(&["subscribers", "show", "reader001@example.com"]).success().stdout();
    assert!(shown.contains("bounced"), "a 5.1.1 is a hard bounce: {shown}");
}

/// A `sendmail_command` that cannot be run stops the send at once, naming the
/// setting, with nobody failed.
#[test]
fn a_sendmail_command_that_cannot_be_run_stops_the_send_at_once_and_fails_nobody() {
    let fixture = with_subscribers(3);
    quick(&fixture);
    fixture.edit(
        "publish.toml",
        "transport = \"outbox\"",
        "transport = \"sendmail\"\nsendmail_command = \"/nonexistent/sendmail\"",
    );
    let run = fixture.command(&["issue", "9", "--yes"]).run().failure(1);
    assert!(run.stderr().contains("cannot run the sendmail command /nonexistent/sendmail"), "{}", run.stderr());
    assert!(run.stderr().contains("sendmail_command in publish.toml"), "{}", run.stderr());
    let status = status_of(&fixture);
    assert!(status.contains("pending:  3") && status.contains("failed:   0"), "{status}");
}

#[test]
fn an_internationalised_address_fails_alone_on_a_server_without_smtputf8() {
    let fixture = with_subscribers(3);
    quick(&fixture);
    fixture.write("more.csv", "email,name\njosé@example.com,José\n");
    fixture.run(&["subscribers", "import", fixture.path().join("more.csv").to_str().unwrap()]).success();
    let server = SmtpServer::start(&["--no-smtputf8"]);
    let run = send(&fixture, &server, &[]).failure(3);
    assert!(run.stdout().contains("3 sent, 1 failed"), "{}", run.stdout());
    assert!(run.stdout().contains("no SMTPUTF8"), "{}", run.stdout());

    let modern = SmtpServer::start(&[]);
    send(&fixture, &modern, &["--retry-failed"]).success();
    let counts = per_recipient(&modern);
    assert_eq!(counts.keys().collect::<Vec<_>>(), ["josé@example.com"]);
}

/// Every other test here talks to a server that offers PIPELINING, as real
/// ones do; this one sends command by command and must tell the same replies apart.
#[test]
fn without_pipelining_refusals_and_deferrals_are_told_apart_the_same_way() {
    let fixture = with_subscribers(6);
    quick(&fixture);
    let server = SmtpServer::start(&[
        "--no-pipelining",
        "--reject",
        "reader001@example.com",
        "--tempfail",
        "reader002@example.com:1",
    ]);
    let run = send(&fixture, &server, &[]).failure(3);
    assert!(run.stdout().contains("550 5.1.1") || run.stderr().contains("550 5.1.1"), "{}", run.stderr());
    let counts = per_recipient(&server);
    assert_eq!(counts.len(), 5, "{counts:?}");
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    assert!(!counts.contains_key("reader001@example.com"));
    let status = status_of(&fixture);
    assert!(status.contains("sent:     5") && status.contains("failed:   1"), "{status}");
}

/// A URL pointing at something that is not an SMTP server (a web server here)
/// stops the run with everyone pending and says what to check.
#[test]
fn a_port_that_does_not_speak_smtp_is_named_as_such() {
    use std::io::{Read, Write};
    let fixture = with_subscribers(3);
    quick(&fixture);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let web = std::thread::spawn(move || {
        // quick() allows two attempts; a few more connections at most.
        for _ in 0..4 {
            let Ok((mut conn, _)) = listener.accept() else { return };
            let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            let _ = conn.read(&mut [0; 512]);
        }
    });
    let run = fixture
        .command(&["issue", "9", "--yes"])
        .env("PUBLISH_SMTP_URL", &format!("smtp://127.0.0.1:{port}?tls=none"))
        .run()
        .failure(1);
    assert!(
        run.stderr().contains("the answer is not SMTP (\"HTTP/1.1 400 Bad Request\"): check the host and port"),
        "{}",
        run.stderr()
    );
    assert!(status_of(&fixture).contains("pending:  3"));
    drop(web);
}

/// A server that takes the connection and never greets: each attempt ends
/// after the URL's timeout, then the run stops with everyone pending.
#[test]
fn a_server_that_never_greets_stops_the_run_after_the_urls_timeout() {
    let fixture = with_subscribers(3);
    quick(&fixture);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = std::thread::spawn(move || {
        let mut held = Vec::new();
        // quick() allows two attempts on two connections; a few more at most.
        for _ in 0..6 {
            let Ok((conn, _)) = listener.accept() else { return };
            held.push(conn);
        }
    });
    let started = std::time::Instant::now();
    let run = fixture
        .command(&["issue", "9", "--yes"])
        .env("PUBLISH_SMTP_URL", &format!("smtp://127.0.0.1:{port}?tls=none&timeout=1s"))
        .run()
        .failure(1);
    assert!(run.stderr().contains("the server did not answer within 1 s"), "{}", run.stderr());
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "took {:?}", started.elapsed());
    assert!(status_of(&fixture).contains("pending:  3"));
    drop(silent);
}
