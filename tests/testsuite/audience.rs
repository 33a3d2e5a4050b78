//! The reader's journey through `publish serve`: sign up (in Chromium),
//! confirm by mail (aiosmtpd), be welcomed once, change the name, leave; and
//! the publisher's side: add, show, export and import back, forget.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{Fixture, Running, SmtpServer, agent, form, free_port, node_modules, repo, request};

const WELCOME_HTML: &str =
    "<p>Welcome, {{ recipient.first_name }}! <a href=\"{{ preferences_url }}\">Your preferences</a></p>\n";
const WELCOME_TXT: &str = "Welcome, {{ recipient.first_name }}!\nPreferences: {{ preferences_url }}\n";

/// `publish serve`, with the public base path in front of its routes.
struct Serve {
    running: Running,
    base: String,
}

impl Serve {
    fn start(fixture: &Fixture, port: u16, smtp: Option<&SmtpServer>, now: &str) -> Serve {
        let mut cmd = fixture.command(&["serve", "--bind", &format!("127.0.0.1:{port}")]).env("PUBLISH_NOW", now);
        if let Some(smtp) = smtp {
            cmd = cmd.env("PUBLISH_SMTP_URL", &smtp.url());
        }
        let running = Running::start(cmd, port);
        Serve { base: format!("{}/this-week-in-asia", running.base()), running }
    }

    /// Stops it at once, as a crash would.
    fn kill(self) {
        self.running.kill();
    }
}

const NOW: &str = "2024-03-01T01:00:00Z";

/// The link of `path` (`confirm`, `preferences`) in a received message's text part.
fn link_in(raw_path: &std::path::Path, path: &str) -> String {
    let text = crate::support::run_python(
        "import email, sys\nm = email.message_from_bytes(open(sys.argv[1], 'rb').read().split(b'\\r\\n', 1)[1])\n\
         print(next(p.get_payload(decode=True).decode() for p in m.walk() if p.get_content_type() == 'text/plain'))",
        &[raw_path],
    );
    let start = text.find(&format!("/{path}?t=")).unwrap_or_else(|| panic!("no {path} link in {text}"));
    let start = text[..start].rfind("https://").unwrap();
    text[start..].split_whitespace().next().unwrap().to_string()
}

/// A public link, as the proxy in front of `serve` would pass it on.
fn local(link: &str, serve: &Serve) -> String {
    link.replace("https://www.analyse.asia/this-week-in-asia", &serve.base)
}

fn browser(args: &[&str]) -> String {
    let output = Command::new("node")
        .arg(repo().join("tests/browser/signup.mjs"))
        .args(args)
        .env("MASTHEAD_NODE_MODULES", node_modules(&["playwright-core"]))
        .output()
        .expect("node must be installed to run the browser test");
    let shown = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{shown}{}", String::from_utf8_lossy(&output.stderr));
    shown
}

fn with_welcome() -> Fixture {
    let fixture = Fixture::reference();
    fixture.write("templates/welcome.html", WELCOME_HTML);
    fixture.write("templates/welcome.txt", WELCOME_TXT);
    fixture
}

fn mails_to(smtp: &SmtpServer, rcpt: &str, subject: &str) -> Vec<crate::support::Received> {
    smtp.received().into_iter().filter(|m| m.rcpt == rcpt && m.raw.contains(subject)).collect()
}

fn wait_for(smtp: &SmtpServer, rcpt: &str, subject: &str) -> crate::support::Received {
    let start = Instant::now();
    loop {
        if let Some(m) = mails_to(smtp, rcpt, subject).into_iter().next() {
            return m;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no \"{subject}\" mail to {rcpt}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_reader_signs_up_in_a_browser_confirms_by_mail_and_is_welcomed_once() {
    let fixture = with_welcome();
    let smtp = SmtpServer::start(&[]);
    let serve = Serve::start(&fixture, free_port(), Some(&smtp), NOW);
    let shown = browser(&[&format!("{}/subscribe", serve.base), "ada@example.com", "Ada Lovelace"]);
    assert!(shown.contains("Check your inbox"), "{shown}");
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "0", "pending is not subscribed");

    let confirmation = wait_for(&smtp, "ada@example.com", "Subject: Confirm your subscription");
    let link = local(&link_in(&confirmation.path, "confirm"), &serve);
    // A GET (a link scanner) confirms nothing.
    assert_eq!(request("GET", &link, &[], "").0, 200);
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "0");
    // Another site's page cannot press the button for the reader.
    let foreign = [("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "https://evil.example")];
    assert_eq!(request("POST", &link, &foreign, "confirm=page").0, 403);
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "0");
    let shown = browser(&[&link, "confirm"]);
    assert!(shown.contains("You are subscribed"), "{shown}");
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "1");

    let welcome = wait_for(&smtp, "ada@example.com", "Subject: Welcome to This Week in Asia");
    assert!(welcome.raw.contains("List-Unsubscribe: <https://"), "{}", &welcome.raw[..600]);
    // The link again, and cron's pass over the queue: still one welcome.
    let (status, _, again) = request("POST", &link, &[], "");
    assert!(status == 200 && again.contains("was used already"), "{again}");
    fixture.command(&["cron", "--now", NOW]).env("PUBLISH_SMTP_URL", &smtp.url()).run().success();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(mails_to(&smtp, "ada@example.com", "Subject: Welcome").len(), 1, "exactly one welcome");
    assert_eq!(mails_to(&smtp, "ada@example.com", "Subject: Confirm").len(), 1);

    let record = fixture.run(&["subscribers", "show", "ada@example.com"]).success().stdout();
    assert!(record.contains("joined  signup") && record.contains("ip: 127.0.0.1"), "{record}");
    assert!(
        record.contains("user agent: masthead-signup-test") && record.contains("confirmed  confirm link"),
        "{record}"
    );

    // The welcome's preferences link shows the name and changes it.
    let preferences = local(&link_in(&welcome.path, "preferences"), &serve);
    let (status, _, page) = request("GET", &preferences, &[], "");
    assert!(status == 200 && page.contains("ada@example.com") && page.contains("Ada Lovelace"), "{page}");
    assert_eq!(request("POST", &preferences, &foreign, "name=Mallory").0, 403, "another site cannot rename");
    // A proxy that strips the base path reaches the same page.
    let bare = preferences.replace("/this-week-in-asia/", "/");
    assert!(request("GET", &bare, &[], "").2.contains("Ada Lovelace"), "{bare}");
    let (status, _, page) = form(&preferences, "name=Ada+%3Cb%3EKing%3C%2Fb%3E%0D%0ABcc%3A+x%40evil.example");
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("value=\"Ada &lt;b&gt;King&lt;&#x2f;b&gt; Bcc: x@evil.example\""),
        "markup shows as text, on one line: {page}"
    );
    assert!(fixture.run(&["subscribers", "show", "ada@example.com"]).success().stdout().contains("name changed"));
}

#[test]
fn a_welcome_queued_when_serve_died_is_sent_once_by_the_next_cron() {
    let fixture = with_welcome();
    let port = free_port();
    let first = SmtpServer::start(&[]);
    let serve = Serve::start(&fixture, port, Some(&first), NOW);
    form(&format!("{}/subscribe", serve.base), "email=bob%40example.com");
    let confirmation = wait_for(&first, "bob@example.com", "Subject: Confirm");
    let link = local(&link_in(&confirmation.path, "confirm"), &serve);
    // The relay goes away: the welcome stays queued; then serve is killed.
    drop(first);
    assert_eq!(form(&link, "").0, 200);
    std::thread::sleep(Duration::from_millis(500));
    serve.kill();
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "1");
    let relay = SmtpServer::start(&[]);
    for _ in 0..2 {
        fixture.command(&["cron", "--now", NOW]).env("PUBLISH_SMTP_URL", &relay.url()).run().success();
    }
    assert_eq!(mails_to(&relay, "bob@example.com", "Subject: Welcome").len(), 1, "one welcome, never two");
}

#[test]
fn forged_expired_and_swapped_tokens_get_a_page_saying_what_to_do() {
    let fixture = Fixture::reference();
    fixture.run(&["subscribers", "add", "old@example.com", "--confirmed"]).success();
    fixture.run(&["issue", "9"]).success();
    let smtp = SmtpServer::start(&[]);
    let port = free_port();
    let serve = Serve::start(&fixture, port, Some(&smtp), NOW);
    form(&format!("{}/subscribe", serve.base), "email=cy%40example.com");
    let confirm = local(&link_in(&wait_for(&smtp, "cy@example.com", "Subject: Confirm").path, "confirm"), &serve);
    let issue = std::fs::read_dir(fixture.path().join("out/outbox/9")).unwrap().next().unwrap().unwrap().path();
    let unsubscribe_token = {
        let raw = std::fs::read_to_string(&issue).unwrap();
        let at = raw.find("unsubscribe?t=").unwrap() + "unsubscribe?t=".len();
        raw[at..].split(['>', '"', '\r', '\n']).next().unwrap().to_string()
    };
    let confirm_token = confirm.split_once("t=").unwrap().1.to_string();
    let mut forged = confirm_token.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    for (url, status, says) in [
        (format!("{}/confirm?t={forged}", serve.base), 400, "This confirmation link is broken"),
        (format!("{}/confirm?t={unsubscribe_token}", serve.base), 400, "This confirmation link is broken"),
        (format!("{}/confirm", serve.base), 400, "This confirmation link is broken"),
        (format!("{}/unsubscribe?t={confirm_token}", serve.base), 400, "This unsubscribe link is broken"),
        (format!("{}/preferences?t={confirm_token}", serve.base), 400, "This link is broken"),
    ] {
        for method in ["GET", "POST"] {
            let (got, _, page) = request(method, &url, &[], "");
            assert_eq!(got, status, "{method} {url}: {page}");
            assert!(page.contains(says), "{method} {url}: {page}");
        }
    }
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "1");
    // Eight days later the link has expired; the signup is purged.
    serve.kill();
    let later = Serve::start(&fixture, port, Some(&smtp), "2024-03-09T02:00:00Z");
    for method in ["GET", "POST"] {
        let (got, _, page) = request(method, &local(&confirm, &later), &[], "");
        assert_eq!(got, 410, "{method}: {page}");
        assert!(page.contains("This link has expired") && page.contains("Sign up again"), "{method}: {page}");
    }
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "1", "nobody joined");
}

#[test]
fn the_answer_is_the_same_for_a_known_address_and_bots_fill_the_trap_for_nothing() {
    let fixture = Fixture::reference();
    fixture.run(&["subscribers", "add", "known@example.com", "--confirmed"]).success();
    let smtp = SmtpServer::start(&[]);
    let serve = Serve::start(&fixture, free_port(), Some(&smtp), NOW);
    let url = format!("{}/subscribe", serve.base);
    let known = form(&url, "email=known%40example.com");
    // At the bare path too (a proxy that strips the prefix).
    let new = form(&url.replace("/this-week-in-asia/", "/"), "email=new%40example.com");
    assert_eq!((known.0, &known.2), (new.0, &new.2), "no membership leak");
    let json = request("POST", &url, &[("Content-Type", "application/json")], r#"{"email":"json@example.com"}"#);
    assert_eq!(json.0, 200);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&json.2).unwrap()["ok"], true);
    let trap = form(&url, "email=bot%40example.com&website=http%3A%2F%2Fspam.example");
    assert_eq!((trap.0, &trap.2), (new.0, &new.2));
    let bad = form(&url, "email=not-an-address");
    assert_eq!(bad.0, 400);
    assert!(bad.2.contains("not an email address"), "{}", bad.2);
    wait_for(&smtp, "new@example.com", "Subject: Confirm");
    wait_for(&smtp, "json@example.com", "Subject: Confirm");
    std::thread::sleep(Duration::from_millis(500));
    assert!(mails_to(&smtp, "bot@example.com", "").is_empty(), "the honeypot stores and sends nothing");
    assert!(mails_to(&smtp, "known@example.com", "Subject: Confirm").is_empty());
    // A megabyte is refused: 413, or the connection closed before the client
    // has finished sending (the server does not read it all).
    let huge = format!("email={}", "a".repeat(1024 * 1024));
    match agent().post(&url).content_type("application/x-www-form-urlencoded").send(huge.as_str()) {
        Ok(response) => assert_eq!(response.status().as_u16(), 413),
        Err(e) => assert!(matches!(e, ureq::Error::Io(_)), "{e}"),
    }
    assert_eq!(form(&url, &format!("email={}", "a".repeat(64 * 1024))).0, 413);
    assert!(smtp.received().iter().all(|m| !m.rcpt.starts_with("aaaa")), "a refused body queues no mail");
}

#[test]
fn a_flood_of_signups_is_refused_with_retry_after_and_cors_answers_only_allowed_origins() {
    let fixture = Fixture::reference();
    let serve = Serve::start(&fixture, free_port(), None, NOW);
    let url = format!("{}/subscribe", serve.base);
    let mut refused = 0;
    for i in 0..40 {
        let (status, head, _) = form(&url, &format!("email=flood{i}%40example.com"));
        if status == 429 {
            refused += 1;
            assert!(head.contains("retry-after: "), "{head}");
        }
    }
    assert!(refused >= 30, "one client gets a handful of signups, not {}", 40 - refused);
    // Through a proxy on this machine, every client has its own allowance, and
    // the whole server a ceiling: a flood from many addresses is bounded too.
    let mut accepted = 0;
    for i in 0..260 {
        let xff = format!("198.51.{}.{}", i / 250, i % 250 + 1);
        let (status, _, _) = request(
            "POST",
            &url,
            &[("Content-Type", "application/x-www-form-urlencoded"), ("X-Forwarded-For", xff.as_str())],
            &format!("email=many{i}%40example.com"),
        );
        accepted += usize::from(status == 200);
    }
    assert!(accepted < 200, "{accepted} of 260 accepted: no overall ceiling");
    let allowed = request(
        "OPTIONS",
        &url,
        &[("Origin", "https://www.analyse.asia"), ("Access-Control-Request-Method", "POST")],
        "",
    );
    assert_eq!(allowed.0, 204);
    assert!(allowed.1.contains("access-control-allow-origin: https://www.analyse.asia"), "{}", allowed.1);
    let foreign =
        request("OPTIONS", &url, &[("Origin", "https://evil.example"), ("Access-Control-Request-Method", "POST")], "");
    assert_eq!(foreign.0, 403);
    assert!(!foreign.1.contains("access-control-allow-origin"), "{}", foreign.1);
    let posted = request(
        "POST",
        &url,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", "https://evil.example"),
            ("X-Forwarded-For", "203.0.113.9"),
        ],
        "email=csrf%40example.com",
    );
    assert_eq!(posted.0, 403, "another site's page cannot post the form");
}

#[test]
fn the_export_imports_back_and_a_forgotten_address_never_returns() {
    let fixture = Fixture::reference();
    fixture.write(
        "list.csv",
        "email,name,company\nada@example.com,Ada,Analytical\nbob@example.com,Bob,\ncy@example.com,Cy,Yard\n",
    );
    let list_csv = fixture.path().join("list.csv");
    fixture.run(&["subscribers", "import", list_csv.to_str().unwrap()]).success();
    fixture.run(&["subscribers", "remove", "bob@example.com"]).success();
    fixture.run(&["subscribers", "add", "dee@example.com", "--name", "Dee", "--confirmed"]).success();
    let csv = fixture.run(&["subscribers", "export", "--status", "all"]).success().stdout();
    assert!(csv.starts_with("email,name,status,joined_by,consent"), "{csv}");
    assert!(csv.contains("import:list.csv:2"), "the consent record says the file and line: {csv}");
    let json: serde_json::Value = serde_json::from_str(
        &fixture.run(&["subscribers", "export", "--format", "json", "--status", "all"]).success().stdout(),
    )
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 4);

    let other = Fixture::reference();
    other.write("export.csv", &csv);
    other.run(&["subscribers", "import", other.path().join("export.csv").to_str().unwrap()]).success();
    let list = |f: &Fixture| {
        let v: serde_json::Value =
            serde_json::from_str(&f.run(&["subscribers", "list", "--status", "all", "--json"]).success().stdout())
                .unwrap();
        // People not to be mailed come back as such; the others with their name and fields.
        let mut rows: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|p| match p["status"].as_str() {
                Some("active") => format!("{} {} {}", p["email"], p["name"], p["fields"]["company"]),
                _ => format!("{} {}", p["email"], p["status"]),
            })
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(list(&fixture), list(&other), "the export imports back as it was");

    fixture.run(&["subscribers", "forget", "ada@example.com"]).success();
    let all = fixture.run(&["subscribers", "export", "--status", "all"]).success().stdout();
    assert!(!all.contains("ada@example.com") && !all.contains("Analytical"), "{all}");
    assert!(fixture.run(&["subscribers", "show", "ada@example.com"]).failure(1).stderr().contains("not on the list"));
    let again = fixture.run(&["subscribers", "import", list_csv.to_str().unwrap()]).success().stdout();
    assert!(again.contains("1 forgotten address"), "{again}");
    assert!(!fixture.run(&["subscribers", "list"]).success().stdout().contains("ada@example.com"));
    assert!(
        fixture
            .run(&["subscribers", "add", "ada@example.com", "--confirmed"])
            .failure(1)
            .stderr()
            .contains("forgotten")
    );
}

#[test]
fn an_old_confirmation_link_never_brings_back_a_person_who_left_and_only_the_newest_link_confirms() {
    let fixture = Fixture::reference();
    let smtp = SmtpServer::start(&[]);
    let port = free_port();
    // 01:00: Ada signs up; the link stays in her mailbox.
    let serve = Serve::start(&fixture, port, Some(&smtp), NOW);
    form(&format!("{}/subscribe", serve.base), "email=ada%40example.com");
    let first = local(&link_in(&wait_for(&smtp, "ada@example.com", "Subject: Confirm").path, "confirm"), &serve);
    serve.kill();
    // 01:01: the publisher adds her; 01:02 she leaves by the link in the issue.
    let at = |t: &str| format!("2024-03-01T{t}Z");
    fixture
        .command(&["subscribers", "add", "ada@example.com", "--confirmed"])
        .env("PUBLISH_NOW", &at("01:01:00"))
        .run()
        .success();
    fixture.command(&["issue", "9"]).env("PUBLISH_NOW", &at("01:01:30")).run().success();
    let issue = std::fs::read_dir(fixture.path().join("out/outbox/9")).unwrap().next().unwrap().unwrap().path();
    let raw = std::fs::read_to_string(&issue).unwrap();
    let start = raw.find("unsubscribe?t=").unwrap();
    let token = raw[start..].split(['>', '"', '\r', '\n']).next().unwrap().to_string();
    let serve = Serve::start(&fixture, port, Some(&smtp), &at("01:02:00"));
    assert_eq!(request("POST", &format!("{}/{token}", serve.base), &[], "List-Unsubscribe=One-Click").0, 200);
    // 01:03: the link of before she left changes nothing.
    serve.kill();
    let serve = Serve::start(&fixture, port, Some(&smtp), &at("01:03:00"));
    let (status, _, page) = request("POST", &local(&first, &serve), &[], "confirm=page");
    assert!(status == 410 && page.contains("Sign up again"), "{status}: {page}");
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "0", "she left; she stays out");
    serve.kill();
    // 03:00: she signs up again: a new link, and only that one brings her back.
    let serve = Serve::start(&fixture, port, Some(&smtp), &at("03:00:00"));
    form(&format!("{}/subscribe", serve.base), "email=ada%40example.com");
    let start = Instant::now();
    while mails_to(&smtp, "ada@example.com", "Subject: Confirm").len() < 2 {
        assert!(start.elapsed() < Duration::from_secs(30), "no second confirmation mail");
        std::thread::sleep(Duration::from_millis(100));
    }
    let second = mails_to(&smtp, "ada@example.com", "Subject: Confirm")
        .iter()
        .map(|m| local(&link_in(&m.path, "confirm"), &serve))
        .find(|link| *link != local(&first, &serve))
        .expect("a new link in the second mail");
    let (status, _, page) = request("POST", &local(&first, &serve), &[], "confirm=page");
    assert!(status == 410 && page.contains("Sign up again"), "the older link: {status}: {page}");
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "0");
    let (status, _, page) = request("POST", &second, &[], "confirm=page");
    assert!(status == 200 && page.contains("You are subscribed"), "{status}: {page}");
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "1");
    // She leaves again: her used link says so, and does not bring her back.
    fixture.command(&["subscribers", "remove", "ada@example.com"]).env("PUBLISH_NOW", &at("04:00:00")).run().success();
    for method in ["GET", "POST"] {
        let (status, _, page) = request(method, &second, &[], "confirm=page");
        assert!(status == 410 && page.contains("gets no issues now"), "{method}: {status}: {page}");
        assert!(!page.contains("You are subscribed"), "{method}: {page}");
    }
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "0");
}

#[test]
fn a_slash_after_a_reader_page_leads_to_that_page_under_the_prefix_the_browser_used() {
    let fixture = Fixture::reference();
    let smtp = SmtpServer::start(&[]);
    let serve = Serve::start(&fixture, free_port(), Some(&smtp), NOW);
    // As typed or pasted, with a slash and a campaign tag: the form works in Chromium.
    let shown = browser(&[&format!("{}/subscribe/?ref=podcast", serve.base), "slash@example.com", "Sl Ash"]);
    assert!(shown.contains("Check your inbox"), "{shown}");
    wait_for(&smtp, "slash@example.com", "Subject: Confirm");
    // The redirect is relative: the prefix the browser used (kept, stripped) stays; the query too.
    let once: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
    let bare = serve.base.replace("/this-week-in-asia", "");
    for base in [&serve.base, &bare] {
        for (path, to) in [
            ("subscribe/?ref=podcast", "../subscribe?ref=podcast"),
            ("confirm/?t=abc", "../confirm?t=abc"),
            ("preferences/?t=abc", "../preferences?t=abc"),
            ("unsubscribe/?t=abc", "../unsubscribe?t=abc"),
        ] {
            let url = format!("{base}/{path}");
            let got = once.get(&url).call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
            let location = got.headers().get("location").map(|l| l.to_str().unwrap().to_string());
            assert_eq!((got.status().as_u16(), location.as_deref()), (308, Some(to)), "GET {url}");
            // A POST keeps its method and body through a 308.
            let got = once.post(&url).send("").unwrap_or_else(|e| panic!("POST {url}: {e}"));
            assert_eq!(got.status().as_u16(), 308, "POST {url}");
        }
    }
}

#[test]
fn a_page_script_posting_the_form_as_form_data_or_json_with_nulls_signs_up() {
    let fixture = Fixture::reference();
    let smtp = SmtpServer::start(&[]);
    let serve = Serve::start(&fixture, free_port(), Some(&smtp), NOW);
    let url = format!("{}/subscribe", serve.base);
    // Chromium's own multipart/form-data, as `fetch(action, {body: new FormData(form)})` sends it.
    let shown = browser(&[&url, "fetched@example.com", "Fé Fetch", "fetch"]);
    assert!(shown.starts_with("200\n") && shown.contains("Check your inbox"), "{shown}");
    wait_for(&smtp, "fetched@example.com", "Subject: Confirm");
    // JSON from a script that sends `null` for a field left empty, with the media type in capitals.
    for (content_type, body, rcpt) in [
        ("application/json", r#"{"email":"nulls@example.com","name":null,"source":null}"#, "nulls@example.com"),
        ("Application/JSON; charset=UTF-8", r#"{"email":"caps@example.com"}"#, "caps@example.com"),
    ] {
        let (status, _, answer) = request("POST", &url, &[("Content-Type", content_type)], body);
        assert_eq!(status, 200, "{content_type} {body}: {answer}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&answer).unwrap()["ok"], true, "{answer}");
        wait_for(&smtp, rcpt, "Subject: Confirm");
    }
    // A form cut short is refused as such, not as a missing address; nothing is queued.
    let cut = "--x\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\ncut@example.com";
    let (status, _, page) = request(
        "POST",
        &url,
        &[("Content-Type", "multipart/form-data; boundary=x"), ("X-Forwarded-For", "10.1.1.1")],
        cut,
    );
    assert!(status == 400 && page.contains("cut short"), "{status}: {page}");
    fixture.command(&["cron", "--now", NOW]).env("PUBLISH_SMTP_URL", &smtp.url()).run().success();
    assert!(mails_to(&smtp, "cut@example.com", "").is_empty());
}

#[test]
fn subscribers_add_says_when_the_relay_refused_the_confirmation_mail_and_cron_sends_it_later() {
    let fixture = Fixture::reference();
    let refusing = SmtpServer::start(&["--reject", "ann@example.com"]);
    let run = fixture
        .command(&["subscribers", "add", "ann@example.com"])
        .env("PUBLISH_NOW", NOW)
        .env("PUBLISH_SMTP_URL", &refusing.url())
        .run()
        .failure(3);
    assert!(!run.stdout().contains("went to"), "it did not go: {}", run.stdout());
    let said = run.stderr();
    assert!(
        said.contains("ann@example.com is waiting to confirm, but the confirmation mail was not sent: 550"),
        "{said}"
    );
    assert!(said.contains("stays queued") && said.contains("publish cron"), "{said}");
    // No relay at all: the same.
    let down = format!("smtp://127.0.0.1:{}", free_port());
    let add = |who: &str, relay: &str| {
        fixture.command(&["subscribers", "add", who]).env("PUBLISH_NOW", NOW).env("PUBLISH_SMTP_URL", relay).run()
    };
    let run = add("bea@example.com", &down).failure(3);
    assert!(run.stderr().contains("bea@example.com is waiting to confirm") && run.stderr().contains("connect"));
    // As it said: an hour later, cron sends what stayed queued, once.
    let relay = SmtpServer::start(&[]);
    cron_twice_an_hour_later(&fixture, &relay);
    assert_eq!(mails_to(&relay, "bea@example.com", "Subject: Confirm").len(), 1);
    assert_eq!(mails_to(&relay, "ann@example.com", "Subject: Confirm").len(), 1);
    assert!(
        add("cal@example.com", &relay.url()).success().stdout().contains("a confirmation mail went to cal@example.com")
    );
}

#[test]
fn a_five_thousand_character_name_gets_a_page_saying_the_form_is_too_long_and_nothing_is_stored() {
    let fixture = Fixture::reference();
    let smtp = SmtpServer::start(&[]);
    let serve = Serve::start(&fixture, free_port(), Some(&smtp), NOW);
    let url = format!("{}/subscribe", serve.base);
    let name = "Ω".repeat(5000);
    let shown = browser(&[&url, "long@example.com", &name]);
    assert!(
        shown.contains("Too long") && shown.contains("shorten what you typed"),
        "{}",
        &shown[..shown.len().min(600)]
    );
    let body = serde_json::json!({ "email": "longjson@example.com", "name": name }).to_string();
    let (status, head, answer) = request("POST", &url, &[("Content-Type", "application/json")], &body);
    assert_eq!(status, 413, "{answer}");
    assert!(head.contains("content-type: application/json"), "{head}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert!(answer["ok"] == false && answer["message"].as_str().unwrap().contains("shorten"), "{answer}");
    // A short name goes through, and is the only signup mailed.
    assert!(browser(&[&url, "short@example.com", "Ada"]).contains("Check your inbox"));
    wait_for(&smtp, "short@example.com", "Subject: Confirm");
    fixture.command(&["cron", "--now", NOW]).env("PUBLISH_SMTP_URL", &smtp.url()).run().success();
    assert!(smtp.received().iter().all(|m| m.rcpt == "short@example.com"), "nothing of the long forms was stored");
}

#[test]
fn the_buttons_of_pages_that_send_no_referrer_confirm_and_unsubscribe_in_chromium() {
    // A publisher's page template that tells browsers to send no referrer:
    // Chromium then posts its forms with `Origin: null`, even to this site.
    let fixture = with_welcome();
    let built_in = std::fs::read_to_string(repo().join("templates/page.html")).unwrap();
    let private = "<meta name=\"robots\" content=\"noindex\">\n<meta name=\"referrer\" content=\"no-referrer\">";
    fixture.write("templates/page.html", &built_in.replace("<meta name=\"robots\" content=\"noindex\">", private));
    let smtp = SmtpServer::start(&[]);
    let serve = Serve::start(&fixture, free_port(), Some(&smtp), NOW);
    form(&format!("{}/subscribe", serve.base), "email=quiet%40example.com");
    let link = local(&link_in(&wait_for(&smtp, "quiet@example.com", "Subject: Confirm").path, "confirm"), &serve);
    assert!(request("GET", &link, &[], "").2.contains("content=\"no-referrer\""), "the template is in use");
    // Another site's page that hides where it is still cannot press the button.
    for hidden in [&[("Origin", "null"), ("Sec-Fetch-Site", "cross-site")][..], &[("Origin", "null")][..]] {
        assert_eq!(request("POST", &link, hidden, "confirm=page").0, 403, "{hidden:?}");
    }
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "0");
    let shown = browser(&[&link, "confirm"]);
    assert!(shown.contains("You are subscribed"), "{shown}");
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "1");
    // The unsubscribe button of the preferences page, the same.
    let preferences =
        local(&link_in(&wait_for(&smtp, "quiet@example.com", "Subject: Welcome").path, "preferences"), &serve);
    let output = Command::new("node")
        .arg(repo().join("tests/browser/unsubscribe.mjs"))
        .arg(&preferences)
        .env("MASTHEAD_NODE_MODULES", node_modules(&["playwright-core"]))
        .output()
        .expect("node must be installed to run the browser test");
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && shown.contains("You are unsubscribed"), "{shown}");
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "0");
}

#[test]
fn without_double_opt_in_the_signup_page_says_subscribed_not_to_wait_for_a_confirmation_mail() {
    let fixture = with_welcome();
    let toml = fixture.read("publish.toml");
    fixture.write("publish.toml", &format!("{toml}\n[audience]\ndouble_opt_in = false\n"));
    fixture.run(&["subscribers", "add", "known@example.com", "--confirmed"]).success();
    let smtp = SmtpServer::start(&[]);
    let serve = Serve::start(&fixture, free_port(), Some(&smtp), NOW);
    let url = format!("{}/subscribe", serve.base);
    let shown = browser(&[&url, "once@example.com", "Una"]);
    assert!(shown.contains("Thank you for subscribing") && shown.contains("the next issue will reach"), "{shown}");
    assert!(!shown.contains("confirm"), "no mail to confirm is coming: {shown}");
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "2", "in at once");
    wait_for(&smtp, "once@example.com", "Subject: Welcome");
    assert!(mails_to(&smtp, "once@example.com", "Subject: Confirm").is_empty());
    // Still the same answer for a known address, a new one and a bot.
    let known = form(&url, "email=known%40example.com");
    let new = form(&url, "email=two%40example.com");
    let trap = form(&url, "email=bot%40example.com&website=http%3A%2F%2Fspam.example");
    assert_eq!((known.0, &known.2), (new.0, &new.2));
    assert_eq!((trap.0, &trap.2), (new.0, &new.2));
}

#[test]
fn a_link_naming_two_tokens_gets_the_broken_link_page_and_one_repeated_still_works() {
    let fixture = Fixture::reference();
    let smtp = SmtpServer::start(&[]);
    let serve = Serve::start(&fixture, free_port(), Some(&smtp), NOW);
    form(&format!("{}/subscribe", serve.base), "email=twice%40example.com");
    let link = local(&link_in(&wait_for(&smtp, "twice@example.com", "Subject: Confirm").path, "confirm"), &serve);
    let token = link.split_once("t=").unwrap().1.to_string();
    for (url, says) in [
        (format!("{link}&t=AAAA"), "This confirmation link is broken"),
        (format!("{}/unsubscribe?t=AAAA&t=BBBB", serve.base), "This unsubscribe link is broken"),
        (format!("{}/preferences?t=AAAA&t=BBBB", serve.base), "This link is broken"),
    ] {
        for method in ["GET", "POST"] {
            let (status, _, page) = request(method, &url, &[], "");
            assert!(status == 400 && page.contains(says), "{method} {url}: {status}: {page}");
        }
    }
    // The same token twice (a click tracker that echoes the query) is still the link.
    let (status, _, page) = request("GET", &format!("{link}&t={token}&utm_source=mail"), &[], "");
    assert!(status == 200 && page.contains("Confirm my subscription"), "{status}: {page}");
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "0");
}

#[test]
fn cron_pretending_a_later_time_sends_the_issue_but_keeps_signups_still_waiting_to_confirm() {
    let fixture = Fixture::reference();
    fixture.edit(
        "issues/009.toml",
        "# send_at = 2024-03-01T09:00:00+08:00   # uncomment for `publish cron` to send it",
        "send_at = 2024-03-09T08:00:00+08:00",
    );
    let relay = SmtpServer::start(&[]);
    let at = |now: &str, args: &[&str]| {
        fixture.command(args).env("PUBLISH_NOW", now).env("PUBLISH_SMTP_URL", &relay.url()).run()
    };
    at(NOW, &["subscribers", "add", "reader@example.com", "--confirmed"]).success();
    // Waiting to confirm: the link works for seven days, until 2024-03-08T01:00Z.
    at(NOW, &["subscribers", "add", "pat@example.com"]).success();
    // Rehearsing the issue due on the 9th while the real clock says the 1st.
    let run = at("2024-03-01T01:10:00Z", &["cron", "--now", "2024-03-09T00:00:30Z"]).success();
    assert!(run.stdout().contains("issue 9: 1 sent"), "{}", run.stdout());
    // Within the hour, a kept signup is not mailed again; a purged one would be.
    let again = at("2024-03-01T01:20:00Z", &["subscribers", "add", "pat@example.com"]).success();
    assert!(again.stdout().contains("waiting to confirm: nothing changed"), "pat's signup is kept: {}", again.stdout());
    assert_eq!(mails_to(&relay, "pat@example.com", "Subject: Confirm").len(), 1);
    // On the real 9th the signup has expired and is gone: adding again mails a new link.
    at("2024-03-09T00:01:00Z", &["cron"]).success();
    let later = at("2024-03-09T00:02:00Z", &["subscribers", "add", "pat@example.com"]).success();
    assert!(later.stdout().contains("a confirmation mail went to pat@example.com"), "{}", later.stdout());
}

#[test]
fn subscribers_add_confirmed_says_when_the_relay_refused_the_welcome_mail_and_cron_sends_it_later() {
    let fixture = with_welcome();
    let refusing = SmtpServer::start(&["--reject", "ann@example.com"]);
    let add = |who: &str, relay: &str| {
        fixture
            .command(&["subscribers", "add", who, "--confirmed"])
            .env("PUBLISH_NOW", NOW)
            .env("PUBLISH_SMTP_URL", relay)
            .run()
    };
    let run = add("ann@example.com", &refusing.url()).failure(3);
    let said = run.stderr();
    assert!(said.contains("added ann@example.com, but the welcome mail was not sent: 550"), "{said}");
    assert!(said.contains("stays queued") && said.contains("publish cron"), "{said}");
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "1", "on the list all the same");
    // As it said: cron sends the welcome that stayed queued, once.
    let relay = SmtpServer::start(&[]);
    cron_twice_an_hour_later(&fixture, &relay);
    assert_eq!(mails_to(&relay, "ann@example.com", "Subject: Welcome").len(), 1);
    assert_eq!(add("bea@example.com", &relay.url()).success().stdout().trim(), "added bea@example.com");
    // A publication without a welcome mail has nothing to fail.
    let plain = Fixture::reference();
    let run = plain
        .command(&["subscribers", "add", "ann@example.com", "--confirmed"])
        .env("PUBLISH_NOW", NOW)
        .env("PUBLISH_SMTP_URL", &refusing.url())
        .run()
        .success();
    assert_eq!(run.stdout().trim(), "added ann@example.com");
}

#[test]
fn addresses_at_an_ip_address_are_refused_by_the_form_subscribers_add_and_import() {
    let fixture = Fixture::reference();
    let smtp = SmtpServer::start(&[]);
    let serve = Serve::start(&fixture, free_port(), Some(&smtp), NOW);
    let url = format!("{}/subscribe", serve.base);
    let said = "has an IP address, not a domain name, after the @";
    for literal in ["a@[127.0.0.1]", "a@127.0.0.1", "a@[IPv6:::1]"] {
        let body = serde_json::json!({ "email": literal }).to_string();
        let (status, _, answer) = request("POST", &url, &[("Content-Type", "application/json")], &body);
        assert_eq!(status, 400, "{literal}: {answer}");
        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        assert!(answer["ok"] == false && answer["message"].as_str().unwrap().contains(said), "{answer}");
        let run = fixture.command(&["subscribers", "add", literal]).env("PUBLISH_SMTP_URL", &smtp.url()).run();
        assert!(run.failure(1).stderr().contains(&format!("\"{literal}\" {said}")), "{literal}");
    }
    fixture.write("list.csv", "email\nada@example.com\nb@[10.0.0.1]\nc@192.168.1.2\n");
    let run = fixture.run(&["subscribers", "import", fixture.path().join("list.csv").to_str().unwrap()]).success();
    assert!(run.stderr().contains(&format!("list.csv:3: skipped: \"b@[10.0.0.1]\" {said}")), "{}", run.stderr());
    assert!(run.stderr().contains(&format!("list.csv:4: skipped: \"c@192.168.1.2\" {said}")), "{}", run.stderr());
    serve.kill();
    fixture.command(&["cron", "--now", NOW]).env("PUBLISH_SMTP_URL", &smtp.url()).run().success();
    assert_eq!(fixture.run(&["subscribers", "list"]).success().stdout(), "ada@example.com\t\n");
    assert!(smtp.received().is_empty(), "nothing was mailed: {:?}", smtp.received().len());
}

#[test]
fn a_too_long_form_from_an_allowed_site_gets_its_json_answer_with_the_cors_headers() {
    let fixture = Fixture::reference();
    let serve = Serve::start(&fixture, free_port(), None, NOW);
    let url = format!("{}/subscribe", serve.base);
    let body = serde_json::json!({ "email": "long@example.com", "name": "Ω".repeat(5000) }).to_string();
    let post = |origin: &str| request("POST", &url, &[("Content-Type", "application/json"), ("Origin", origin)], &body);
    let (status, head, answer) = post("https://www.analyse.asia");
    assert_eq!(status, 413, "{answer}");
    assert!(head.contains("access-control-allow-origin: https://www.analyse.asia"), "{head}");
    assert!(head.contains("vary: origin"), "{head}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert!(answer["ok"] == false && answer["message"].as_str().unwrap().contains("shorten"), "{answer}");
    // Another site's script still reads nothing.
    let (status, head, _) = post("https://evil.example");
    assert_eq!(status, 413);
    assert!(!head.contains("access-control-allow-origin"), "{head}");
}

#[test]
fn the_links_of_a_forgotten_reader_say_the_address_is_no_longer_on_the_list_not_that_they_are_broken() {
    let fixture = with_welcome();
    let smtp = SmtpServer::start(&[]);
    let serve = Serve::start(&fixture, free_port(), Some(&smtp), NOW);
    fixture
        .command(&["subscribers", "add", "ada@example.com", "--confirmed"])
        .env("PUBLISH_NOW", NOW)
        .env("PUBLISH_SMTP_URL", &smtp.url())
        .run()
        .success();
    let preferences =
        local(&link_in(&wait_for(&smtp, "ada@example.com", "Subject: Welcome").path, "preferences"), &serve);
    let unsubscribe = preferences.replace("/preferences?", "/unsubscribe?");
    assert!(request("GET", &preferences, &[], "").2.contains("ada@example.com"), "the link works before");
    fixture.run(&["subscribers", "forget", "ada@example.com"]).success();
    let pages = [
        request("GET", &preferences, &[], ""),
        request("POST", &preferences, &[("Content-Type", "application/x-www-form-urlencoded")], "name=Ada"),
        request("GET", &unsubscribe, &[], ""),
        request("POST", &unsubscribe, &[("Content-Type", "application/x-www-form-urlencoded")], "confirm=page"),
    ];
    for (status, _, page) in &pages {
        assert_eq!(*status, 200, "{page}");
        assert!(page.contains("no longer on the list") && !page.contains("broken"), "{page}");
        assert!(!page.contains("ada@example.com"), "the address is not shown: {page}");
    }
    let one_click = request(
        "POST",
        &unsubscribe,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "List-Unsubscribe=One-Click",
    );
    assert_eq!(one_click.0, 200, "{}", one_click.2);
    // Forgotten means forgotten: none of this stored the address again.
    assert!(fixture.run(&["subscribers", "show", "ada@example.com"]).failure(1).stderr().contains("not on the list"));
    // A link cut short is still broken.
    let cut = &preferences[..preferences.len() - 4];
    assert!(request("GET", cut, &[], "").2.contains("broken"));
}

/// Runs `publish cron` twice, an hour after the suite's NOW, through `relay`:
/// what stayed queued goes once, and the second run must send nothing again.
fn cron_twice_an_hour_later(fixture: &Fixture, relay: &SmtpServer) {
    for _ in 0..2 {
        fixture
            .command(&["cron"])
            .env("PUBLISH_NOW", "2024-03-01T02:00:00Z")
            .env("PUBLISH_SMTP_URL", &relay.url())
            .run()
            .success();
    }
}
