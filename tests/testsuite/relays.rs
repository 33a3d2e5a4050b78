//! Several SMTP relays (`[[email.relays]]`), each a real aiosmtpd process: the
//! send spread by weight, a relay that dies, refuses or answers 421 taken out
//! for a cool-down while the others carry on, the per-relay password, the
//! counts per relay, and what `publish check` says about the tables.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::{Fixture, OutputChild, Run, SmtpServer, per_recipient, with_subscribers};

/// One `[[email.relays]]` table.
struct RelaySpec<'a> {
    name: &'a str,
    url: String,
    weight: u32,
    concurrency: usize,
}

fn relay<'a>(name: &'a str, server: &SmtpServer, weight: u32, concurrency: usize) -> RelaySpec<'a> {
    RelaySpec { name, url: format!("smtp://127.0.0.1:{}?tls=none", server.port), weight, concurrency }
}

/// Sends through `relays` instead of the outbox; `email` is added to `[email]`.
fn use_relays(fixture: &Fixture, relays: &[RelaySpec], email: &str) {
    fixture.edit("publish.toml", "transport = \"outbox\"\n", "");
    fixture.edit("publish.toml", "concurrency = 8\n", &format!("concurrency = 8\nretry_backoff = \"50ms\"\n{email}"));
    let mut text = fixture.read("publish.toml");
    for r in relays {
        text.push_str(&format!(
            "\n[[email.relays]]\nname = \"{}\"\nurl = \"{}\"\nweight = {}\nconcurrency = {}\n",
            r.name, r.url, r.weight, r.concurrency
        ));
    }
    fixture.write("publish.toml", &text);
}

fn send(fixture: &Fixture) -> Run {
    fixture.run(&["issue", "9", "--yes"])
}

/// "via NAME: N" lines of `publish status 9`, by relay.
fn status_by_relay(fixture: &Fixture) -> BTreeMap<String, usize> {
    let value: serde_json::Value =
        serde_json::from_str(&fixture.run(&["status", "9", "--json"]).success().stdout()).unwrap();
    value["relays"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap() as usize)).collect()
}

fn assert_everyone_once(servers: &[&SmtpServer], n: usize) {
    let mut all: BTreeMap<String, usize> = BTreeMap::new();
    for server in servers {
        for (rcpt, count) in per_recipient(server) {
            *all.entry(rcpt).or_default() += count;
        }
    }
    assert_eq!(all.len(), n, "every recipient got the issue");
    assert!(all.values().all(|&c| c == 1), "somebody got it twice: {all:?}");
}

#[test]
fn two_relays_weighted_three_to_one_share_the_list_and_nobody_gets_it_twice() {
    let n = 40;
    let fixture = with_subscribers(n);
    let (heavy, light) = (SmtpServer::start(&[]), SmtpServer::start(&[]));
    use_relays(&fixture, &[relay("heavy", &heavy, 3, 2), relay("light", &light, 1, 2)], "");
    let run = send(&fixture).success();
    assert_everyone_once(&[&heavy, &light], n);
    // Turns are taken by weight: 30 and 10, give or take the messages in hand.
    let (h, l) = (heavy.count(), light.count());
    assert!((27..=33).contains(&h) && h + l == n, "heavy {h}, light {l}");
    let by_relay = status_by_relay(&fixture);
    assert_eq!(by_relay, BTreeMap::from([("heavy".into(), h), ("light".into(), l)]));
    let said = run.stdout();
    assert!(
        said.contains(&format!("relay heavy: {h} sent")) && said.contains(&format!("relay light: {l} sent")),
        "{said}"
    );
    let status = fixture.run(&["status", "9"]).success().stdout();
    assert!(status.contains(&format!("via heavy: {h}")) && status.contains(&format!("via light: {l}")), "{status}");
    let stats = fixture.run(&["stats", "9"]).success().stdout();
    assert!(stats.contains(&format!("sent via heavy {h}, light {l}")), "{stats}");
}

#[test]
fn equal_weights_split_the_list_evenly() {
    let n = 30;
    let fixture = with_subscribers(n);
    let (a, b) = (SmtpServer::start(&[]), SmtpServer::start(&[]));
    use_relays(&fixture, &[relay("a", &a, 1, 3), relay("b", &b, 1, 1)], "");
    send(&fixture).success();
    assert_everyone_once(&[&a, &b], n);
    // b has one connection to a's three, and still gets its half.
    assert!((12..=18).contains(&b.count()), "a {}, b {}", a.count(), b.count());
}

#[test]
fn a_relay_killed_mid_send_leaves_the_rest_to_the_other_and_the_run_goes_on() {
    let n = 60;
    let concurrency = 2;
    let fixture = with_subscribers(n);
    let mut dying = SmtpServer::start(&["--delay", "0.05"]);
    let other = SmtpServer::start(&["--delay", "0.02"]);
    use_relays(&fixture, &[relay("dying", &dying, 1, concurrency), relay("other", &other, 1, 2)], "");
    let child = fixture.command(&["issue", "9", "--yes"]).0.output_child();
    assert!(dying.wait_for(5, Duration::from_secs(60)), "the send did not start");
    dying.kill();
    let before = dying.count();
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(before < n / 2, "killed too late to test anything ({before} of {n})");
    let mut all = per_recipient(&other);
    for (rcpt, count) in per_recipient(&dying) {
        *all.entry(rcpt).or_default() += count;
    }
    assert_eq!(all.len(), n, "every recipient got the issue");
    // A message the dead relay kept without saying so goes again: one per connection at most.
    let duplicates: usize = all.values().map(|&c| c - 1).sum();
    assert!(duplicates <= concurrency, "{duplicates} duplicates");
    assert!(stderr.contains("relay dying is left out"), "{stderr}");
    assert!(stdout.contains("relay dying:") && stdout.contains("left out 1 time"), "{stdout}");
    let status = fixture.run(&["status", "9"]).success().stdout();
    assert!(status.contains(&format!("sent:     {n}")) && status.contains("pending:  0"), "{status}");
    let by_relay = status_by_relay(&fixture);
    assert_eq!(by_relay["other"] + by_relay["dying"], n, "{by_relay:?}");
    assert!(by_relay["dying"] <= before, "{by_relay:?}, the dead relay kept {before}");
}

#[test]
fn a_relay_answering_421_again_and_again_is_left_out_and_its_share_goes_to_the_other() {
    let n = 30;
    let fixture = with_subscribers(n);
    let busy = SmtpServer::start(&["--throttle-every", "1"]);
    let good = SmtpServer::start(&[]);
    use_relays(&fixture, &[relay("busy", &busy, 1, 2), relay("good", &good, 1, 2)], "");
    let run = send(&fixture).success();
    assert_eq!(busy.count(), 0);
    assert_everyone_once(&[&good], n);
    // Three 421s in a row take it out (the default cool-down outlasts this send);
    // the other connection may have had one more in hand.
    let refused = busy.attempts().iter().filter(|a| a.starts_with("DATA ") && a.ends_with(" 421")).count();
    assert!((3..=4).contains(&refused), "{:?}", busy.attempts());
    assert!(run.stdout().contains("relay busy: 0 sent, left out 1 time (421 4.7.0"), "{}", run.stdout());
    assert_eq!(status_by_relay(&fixture), BTreeMap::from([("good".into(), n)]));
}

#[test]
fn a_relay_is_tried_again_after_its_cool_down() {
    let n = 60;
    let fixture = with_subscribers(n);
    // Three 421s, then it takes mail; the other is slow enough that the send
    // outlasts the short cool-down.
    let recovering = SmtpServer::start(&["--throttle-first", "3"]);
    let slow = SmtpServer::start(&["--delay", "0.05"]);
    use_relays(
        &fixture,
        &[relay("recovering", &recovering, 1, 1), relay("slow", &slow, 1, 1)],
        "relay_cooldown = \"300ms\"\n",
    );
    let run = send(&fixture).success();
    assert_everyone_once(&[&recovering, &slow], n);
    assert!(recovering.count() > 0, "the relay never came back: {}", run.stdout());
    assert!(run.stdout().contains("relay recovering:") && run.stdout().contains("left out 1 time"), "{}", run.stdout());
}

#[test]
fn every_relay_failing_stops_the_send_and_keeps_everyone_pending() {
    let fixture = with_subscribers(6);
    let refusing = SmtpServer::start(&["--refuse-session"]);
    let port = crate::support::free_port();
    use_relays(
        &fixture,
        &[
            relay("refusing", &refusing, 1, 2),
            RelaySpec { name: "gone", url: format!("smtp://127.0.0.1:{port}?tls=none"), weight: 1, concurrency: 2 },
        ],
        "",
    );
    let run = send(&fixture).failure(1);
    let err = run.stderr();
    assert!(err.contains("every relay failed and is cooling down"), "{err}");
    assert!(err.contains("refusing: 127.0.0.1") && err.contains("refused the session: 554"), "{err}");
    assert!(err.contains("gone: 127.0.0.1") && err.contains("cannot connect"), "{err}");
    assert!(err.contains("6 recipients are still pending"), "{err}");
    let status = fixture.run(&["status", "9"]).success().stdout();
    assert!(status.contains("pending:  6") && status.contains("failed:   0"), "{status}");
}

#[test]
fn a_relay_password_comes_from_its_own_variable_and_never_goes_out_without_tls() {
    let fixture = with_subscribers(3);
    let server = SmtpServer::start(&["--auth", "newsletter:s3cret"]);
    let url = |query: &str| format!("smtp://newsletter@127.0.0.1:{}{query}", server.port);
    let spec = |url| vec![RelaySpec { name: "local-1", url, weight: 1, concurrency: 2 }];
    // No STARTTLS offered: the login would cross the network readable.
    use_relays(&fixture, &spec(url("")), "");
    let run = fixture.command(&["issue", "9", "--yes"]).env("PUBLISH_SMTP_PASSWORD_LOCAL_1", "s3cret").run().failure(1);
    assert!(run.stderr().contains("no STARTTLS") && run.stderr().contains("?tls=none"), "{}", run.stderr());
    assert!(server.attempts().iter().all(|a| !a.starts_with("AUTH")), "{:?}", server.attempts());
    assert_eq!(server.count(), 0);

    // On purpose in clear (a relay on this machine): its own variable, not the
    // single server's, is the password.
    let fixture = with_subscribers(3);
    use_relays(&fixture, &spec(url("?tls=none")), "");
    let run = fixture.command(&["issue", "9", "--yes"]).env("PUBLISH_SMTP_PASSWORD", "s3cret").run().failure(1);
    assert!(run.stderr().contains("set its password in PUBLISH_SMTP_PASSWORD_LOCAL_1"), "{}", run.stderr());
    let run = fixture
        .command(&["issue", "9", "--yes"])
        .env("PUBLISH_SMTP_PASSWORD", "s3cret")
        .env("PUBLISH_SMTP_PASSWORD_LOCAL_1", "wrong")
        .run()
        .failure(1);
    assert!(run.stderr().contains("login as newsletter failed: 535"), "{}", run.stderr());
    assert!(run.stderr().contains("PUBLISH_SMTP_PASSWORD_LOCAL_1"), "{}", run.stderr());
    fixture
        .command(&["issue", "9", "--yes"])
        .env("PUBLISH_SMTP_PASSWORD", "wrong")
        .env("PUBLISH_SMTP_PASSWORD_LOCAL_1", "s3cret")
        .run()
        .success();
    assert_everyone_once(&[&server], 3);
}

#[test]
fn a_test_copy_goes_through_the_heaviest_relay_that_answers() {
    let fixture = with_subscribers(1);
    let server = SmtpServer::start(&[]);
    let port = crate::support::free_port();
    use_relays(
        &fixture,
        &[
            relay("spare", &server, 1, 1),
            RelaySpec { name: "main", url: format!("smtp://127.0.0.1:{port}?tls=none"), weight: 5, concurrency: 1 },
        ],
        "",
    );
    let run = fixture.run(&["test", "9", "--to", "editor@example.com"]).success();
    assert!(run.stdout().contains("(relay spare)"), "{}", run.stdout());
    assert_eq!(server.count(), 1);
}

/// The line of `publish.toml` that holds `text` (the first one after `after`).
fn line_of(fixture: &Fixture, after: &str, text: &str) -> usize {
    let toml = fixture.read("publish.toml");
    let start = toml.find(after).unwrap();
    toml[..start + toml[start..].find(text).unwrap()].lines().count() + 1
}

#[test]
fn check_names_the_line_of_each_mistake_in_the_relays() {
    let fixture = Fixture::reference();
    let specs = [
        RelaySpec { name: "eu", url: "smtps://mailer@smtp.example.com".into(), weight: 2, concurrency: 4 },
        RelaySpec { name: "eu", url: "smtp://mailer:hunter2@smtp.example.net".into(), weight: 0, concurrency: 4 },
        RelaySpec { name: "u.s", url: "http://smtp.example.org".into(), weight: 1, concurrency: 4 },
        RelaySpec { name: "U-S", url: "smtp://smtp.example.org?tls=sometimes".into(), weight: 1, concurrency: 0 },
    ];
    use_relays(&fixture, &specs, "smtp_url = \"smtp://127.0.0.1:2525\"\n");
    let run = fixture.run(&["check"]).failure(1);
    let said = run.stdout() + &run.stderr();
    let second = "name = \"eu\"\nurl = \"smtp://mailer:";
    let expect = [
        (line_of(&fixture, "", "smtp_url"), "both smtp_url and [[email.relays]] are set"),
        (line_of(&fixture, second, "name = \"eu\""), "a second relay named \"eu\""),
        (line_of(&fixture, second, "url = "), "the relay's url holds a password"),
        (line_of(&fixture, second, "weight = 0"), "a weight of 0 would send nothing"),
        (line_of(&fixture, "name = \"u.s\"", "url = \"http"), "is not smtp:// or smtps://"),
        (line_of(&fixture, "name = \"U-S\"", "name"), "would share the password variable PUBLISH_SMTP_PASSWORD_U_S"),
        (line_of(&fixture, "name = \"U-S\"", "url"), "tls=sometimes is not one of"),
        (line_of(&fixture, "name = \"U-S\"", "concurrency = 0"), "concurrency must be between 1 and 256"),
    ];
    for (line, message) in expect {
        let found = said.lines().any(|l| l.contains(&format!("publish.toml:{line}:")) && l.contains(message));
        assert!(found, "expected {message:?} on line {line}:\n{said}");
    }
    assert!(said.contains("PUBLISH_SMTP_PASSWORD_EU"), "the hint names the variable:\n{said}");
    // Nothing is sent while publish.toml has errors.
    let run = fixture.run(&["issue", "9", "--yes"]).failure(1);
    assert!(run.stderr().contains("publish.toml has"), "{}", run.stderr());
}

#[test]
fn relays_with_an_explicit_outbox_are_a_warning_and_the_outbox_wins() {
    let fixture = with_subscribers(2);
    let server = SmtpServer::start(&[]);
    use_relays(&fixture, &[relay("a", &server, 1, 1)], "transport = \"outbox\"\n");
    let run = fixture.run(&["check"]).success();
    let said = run.stdout() + &run.stderr();
    assert!(said.contains("warning: transport = \"outbox\" wins over [[email.relays]]"), "{said}");
    send(&fixture).success();
    assert_eq!(server.count(), 0);
    assert_eq!(std::fs::read_dir(fixture.path().join("out/outbox/9")).unwrap().count(), 2);
    // sendmail and relays together: refused.
    fixture.edit("publish.toml", "transport = \"outbox\"", "transport = \"sendmail\"");
    let run = fixture.run(&["check"]).failure(1);
    assert!((run.stdout() + &run.stderr()).contains("the relays would never be used"));
}

#[test]
fn a_single_smtp_url_keeps_working_and_records_no_relay() {
    let fixture = with_subscribers(4);
    let server = SmtpServer::start(&[]);
    crate::support::send(&fixture, &server, &[]).success();
    assert_everyone_once(&[&server], 4);
    assert!(status_by_relay(&fixture).is_empty());
    assert!(!fixture.run(&["status", "9"]).success().stdout().contains("via "));
}

#[test]
fn a_relay_that_never_greets_and_one_that_answers_421_to_rcpt_are_left_out_and_the_third_sends_to_everyone() {
    let n = 30;
    let fixture = with_subscribers(n);
    // Takes the connection (the kernel completes it) and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let closing = SmtpServer::start(&["--rcpt-421"]);
    let good = SmtpServer::start(&[]);
    use_relays(
        &fixture,
        &[
            RelaySpec {
                name: "silent",
                url: format!("smtp://127.0.0.1:{silent_port}?tls=none&timeout=1s"),
                weight: 1,
                concurrency: 2,
            },
            relay("closing", &closing, 1, 2),
            relay("good", &good, 1, 2),
        ],
        "",
    );
    let run = send(&fixture).success();
    let said = run.stdout();
    assert_everyone_once(&[&good], n);
    assert_eq!(closing.count(), 0);
    assert!(closing.attempts().iter().any(|a| a.ends_with(" 421")), "{:?}", closing.attempts());
    assert!(
        said.contains("relay silent: 0 sent, left out 1 time") && said.contains("did not answer within 1 s"),
        "{said}"
    );
    assert!(said.contains("relay closing: 0 sent, left out 1 time (421 4.7.0"), "{said}");
    let status = fixture.run(&["status", "9"]).success().stdout();
    assert!(status.contains(&format!("sent:     {n}")) && status.contains("failed:   0"), "{status}");
    drop(silent);
}
