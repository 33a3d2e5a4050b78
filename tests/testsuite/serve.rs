//! `publish serve` over real HTTP on 127.0.0.1: one-click unsubscribe and the archive.

use std::time::Duration;

use crate::support::{Fixture, Running, SmtpServer, agent, form, free_port, request, subscribers_csv, without_episode};

fn post(url: &str, body: &str) -> (u16, String) {
    let (status, _, body) = form(url, body);
    (status, body)
}

fn get(url: &str) -> (u16, String) {
    let (status, _, body) = request("GET", url, &[], "");
    (status, body)
}

/// `publish serve` on `port`, stopped when dropped.
struct Server {
    _running: Running,
    base: String,
}

impl Server {
    fn start(fixture: &Fixture, port: u16) -> Server {
        let running = Running::start(fixture.command(&["serve", "--bind", &format!("127.0.0.1:{port}")]), port);
        Server { base: running.base(), _running: running }
    }
}

/// A publication whose unsubscribe links point at a local server, with `n` subscribers.
fn publication(n: usize, port: u16) -> Fixture {
    let fixture = Fixture::reference();
    fixture.edit(
        "publish.toml",
        "concurrency = 8",
        &format!("concurrency = 8\nunsubscribe_url = \"http://127.0.0.1:{port}/unsubscribe\""),
    );
    let csv = subscribers_csv(fixture.path(), n);
    fixture.run(&["subscribers", "import", csv.to_str().unwrap()]).success();
    fixture
}

/// The https/http link in a message's List-Unsubscribe header.
fn unsubscribe_link(eml: &str) -> String {
    let head = eml.split("\r\n\r\n").next().unwrap().replace("\r\n ", " ");
    let line = head.lines().find(|l| l.starts_with("List-Unsubscribe:")).unwrap();
    let start = line.find("<http").unwrap() + 1;
    line[start..start + line[start..].find('>').unwrap()].to_string()
}

fn outbox(fixture: &Fixture, issue: u32) -> Vec<String> {
    let dir = fixture.path().join(format!("out/outbox/{issue}"));
    let mut files: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect();
    files.sort();
    files
}

fn add_issue_10(fixture: &Fixture) {
    let ten = without_episode(&fixture.read("issues/009.toml"))
        .replace("title = \"China AI dreams of Sora\"", "title = \"Ten\"");
    fixture.write("issues/010.toml", &ten);
}

#[test]
fn one_post_to_the_link_in_a_message_unsubscribes_and_the_next_send_skips_it() {
    let port = free_port();
    let fixture = publication(3, port);
    fixture.run(&["issue", "9"]).success();
    let server = Server::start(&fixture, port);
    let message =
        outbox(&fixture, 9).into_iter().find(|m| m.contains("To: \"Reader 1\" <reader001@example.com>")).unwrap();
    let link = unsubscribe_link(&message);
    assert!(link.starts_with(&format!("{}/unsubscribe?t=", server.base)), "{link}");
    let (status, _) = post(&link, "List-Unsubscribe=One-Click");
    assert_eq!(status, 200);
    let (again, _) = post(&link, "List-Unsubscribe=One-Click");
    assert_eq!(again, 200, "unsubscribing twice is fine");
    let listed = fixture.run(&["subscribers", "list", "--unsubscribed"]).success().stdout();
    assert!(listed.contains("reader001@example.com\tunsubscribed\t") && listed.contains("\tone-click"), "{listed}");
    add_issue_10(&fixture);
    fixture.run(&["issue", "10"]).success();
    let sent: Vec<String> = outbox(&fixture, 10);
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|m| !m.contains("reader001@example.com")));
}

#[test]
fn a_get_only_shows_a_page_and_its_button_unsubscribes() {
    let port = free_port();
    let fixture = publication(2, port);
    fixture.run(&["issue", "9"]).success();
    let server = Server::start(&fixture, port);
    let link = unsubscribe_link(&outbox(&fixture, 9)[0]);
    let (status, page) = get(&link);
    assert_eq!(status, 200);
    assert!(page.contains("reader000@example.com") && page.contains("<button"), "{page}");
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "2", "a GET never unsubscribes");
    let (status, done) = post(&link, "confirm=page");
    assert_eq!(status, 200);
    assert!(done.contains("You are unsubscribed"), "{done}");
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "1");
    assert!(fixture.run(&["subscribers", "list", "--unsubscribed"]).success().stdout().contains("\tpage"));
    drop(server);
}

#[test]
fn forged_truncated_and_foreign_tokens_change_nothing() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let port = free_port();
    let fixture = publication(2, port);
    fixture.run(&["issue", "9"]).success();
    let _server = Server::start(&fixture, port);
    let link = unsubscribe_link(&outbox(&fixture, 9)[0]);
    let (prefix, token) = link.split_once("t=").unwrap();
    // The other subscriber's id with this subscriber's MAC.
    let mut bytes = URL_SAFE_NO_PAD.decode(token).unwrap();
    bytes[0] ^= 3;
    let other_id = URL_SAFE_NO_PAD.encode(&bytes);
    let foreign = {
        // The same subscriber signed with another publication's secret.
        let other = Fixture::reference();
        let csv = subscribers_csv(other.path(), 2);
        other.run(&["subscribers", "import", csv.to_str().unwrap()]).success();
        other.command(&["issue", "9"]).env("PUBLISH_SECRET", "another-publication-secret-0000000000").run().success();
        unsubscribe_link(&outbox(&other, 9)[0]).split_once("t=").unwrap().1.to_string()
    };
    // An old-form token (address.mac) for an address, with a MAC that is not ours.
    let forged_old = format!("{}.{}", URL_SAFE_NO_PAD.encode("reader000@example.com"), &token[token.len() - 22..]);
    for bad in [
        format!("{prefix}t={}", &token[..token.len() - 3]),
        format!("{prefix}t={other_id}"),
        format!("{prefix}t={foreign}"),
        format!("{prefix}t={forged_old}"),
        format!("{prefix}t=%00%ff..."),
        format!("{prefix}t={}", "A".repeat(5000)),
        format!("{prefix}t="),
        prefix.trim_end_matches('?').to_string(),
    ] {
        let (status, body) = post(&bad, "List-Unsubscribe=One-Click");
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains("This unsubscribe link is broken"), "{body}");
        assert_eq!(get(&bad).0, 400, "{bad}");
    }
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "2");
    let huge = "x".repeat(64 * 1024);
    assert_eq!(post(&link, &huge).0, 413, "request bodies are limited");
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "2");
}

#[test]
fn the_unsubscribe_link_in_a_message_names_no_address() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let port = free_port();
    let fixture = publication(3, port);
    fixture.run(&["issue", "9"]).success();
    for message in outbox(&fixture, 9) {
        let link = unsubscribe_link(&message);
        let token = link.split_once("t=").unwrap().1;
        let bytes = URL_SAFE_NO_PAD.decode(token).expect("one base64url word");
        assert!(bytes.len() <= 24, "{link}");
        let lossy = String::from_utf8_lossy(&bytes).to_lowercase();
        assert!(!lossy.contains("reader") && !lossy.contains("example"), "{link}");
        assert!(!link.to_lowercase().contains("reader") && !link.contains("%40"), "{link}");
    }
}

#[test]
fn links_in_messages_sent_before_tokens_were_opaque_still_unsubscribe() {
    let port = free_port();
    let fixture = publication(2, port);
    fixture.run(&["issue", "9"]).success();
    let _server = Server::start(&fixture, port);
    let token = old_form_token();
    let (status, body) =
        post(&format!("http://127.0.0.1:{port}/unsubscribe?t={}", token.trim()), "List-Unsubscribe=One-Click");
    assert_eq!(status, 200, "{body}");
    let listed = fixture.run(&["subscribers", "list", "--unsubscribed"]).success().stdout();
    assert!(listed.contains("reader001@example.com"), "{listed}");
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "1");
}

#[test]
fn unsubscribe_works_behind_a_proxy_that_keeps_or_strips_the_base_path() {
    // base_url is https://www.analyse.asia/this-week-in-asia: a proxy there
    // forwards to this server with the path as it came, or without the prefix.
    let port = free_port();
    let fixture = Fixture::reference();
    let csv = subscribers_csv(fixture.path(), 4);
    fixture.run(&["subscribers", "import", csv.to_str().unwrap()]).success();
    fixture.run(&["issue", "9"]).success();
    let server = Server::start(&fixture, port);
    let link_of = |n: usize| {
        let to = format!("<reader{n:03}@example.com>");
        let link = unsubscribe_link(&outbox(&fixture, 9).into_iter().find(|m| m.contains(&to)).unwrap());
        link.replace("https://www.analyse.asia", &server.base)
    };
    // A proxy that keeps the prefix: the header's own URL.
    let kept = link_of(1);
    assert!(kept.starts_with(&format!("{}/this-week-in-asia/unsubscribe?t=", server.base)), "{kept}");
    assert_eq!(post(&kept, "List-Unsubscribe=One-Click").0, 200);
    // A proxy that strips it.
    let stripped = link_of(2).replace("/this-week-in-asia/", "/");
    assert_eq!(post(&stripped, "List-Unsubscribe=One-Click").0, 200);
    // The page's form posts to a relative URL, so its button works either way.
    let (status, page) = get(&link_of(3));
    assert_eq!(status, 200);
    assert!(page.contains("action=\"?t="), "{page}");
    // A reader's click in a real browser, through the page and its button.
    let clicked = link_of(0);
    let output = std::process::Command::new("node")
        .arg(crate::support::repo().join("tests/browser/unsubscribe.mjs"))
        .arg(&clicked)
        .env("MASTHEAD_NODE_MODULES", crate::support::node_modules(&["playwright-core"]))
        .output()
        .expect("node must be installed to run the browser test");
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{shown}{}", String::from_utf8_lossy(&output.stderr));
    assert!(shown.contains("You are unsubscribed"), "{shown}");
    // Another site's page cannot post the form.
    let mut foreign = agent()
        .post(&link_of(3))
        .header("Origin", "https://evil.example")
        .content_type("application/x-www-form-urlencoded")
        .send("confirm=page")
        .unwrap();
    assert_eq!(foreign.status().as_u16(), 403, "{}", foreign.body_mut().read_to_string().unwrap());
    let broken = format!("{}/this-week-in-asia/unsubscribe?t=broken", server.base);
    assert_eq!(post(&broken, "List-Unsubscribe=One-Click").0, 400);
    assert_eq!(get(&broken).0, 400);
    // The archive, under the prefix and without it.
    for base in [format!("{}/this-week-in-asia", server.base), server.base.clone()] {
        let (status, archive) = get(&format!("{base}/"));
        assert_eq!(status, 200, "{base}/");
        assert!(archive.contains("China AI dreams of Sora"), "{base}/");
        assert_eq!(get(&format!("{base}/9/")).0, 200, "{base}/9/");
    }
    assert_eq!(get(&format!("{}/this-week-in-asia-other/9/", server.base)).0, 404);
    drop(server);
    // The next issue reaches only those who stayed.
    add_issue_10(&fixture);
    fixture.run(&["issue", "10"]).success();
    let sent = outbox(&fixture, 10);
    assert_eq!(sent.len(), 1);
    for gone in ["reader000@example.com", "reader001@example.com", "reader002@example.com"] {
        assert!(sent.iter().all(|m| !m.contains(gone)), "{gone} left but was mailed");
    }
}

#[test]
fn the_archive_and_issue_pages_are_served() {
    let port = free_port();
    let fixture = publication(1, port);
    fixture.run(&["build", "9"]).success();
    let server = Server::start(&fixture, port);
    let (status, archive) = get(&format!("{}/", server.base));
    assert_eq!(status, 200);
    assert!(archive.contains("China AI dreams of Sora"));
    let (status, page) = get(&format!("{}/9/", server.base));
    assert_eq!(status, 200);
    assert!(page.contains("What we are reading this week"));
    assert_eq!(get(&format!("{}/media/009-cover.png", server.base)).0, 200);
    assert_eq!(get(&format!("{}/../publish.toml", server.base)).0, 404);
    assert_eq!(get(&format!("{}/%2e%2e/publish.toml", server.base)).0, 404);
}

#[test]
fn unsubscribes_during_a_send_are_honoured_by_every_later_run() {
    let port = free_port();
    let n = 100;
    let fixture = publication(n, port);
    fixture.edit("publish.toml", "concurrency = 8", "concurrency = 2");
    fixture.run(&["issue", "9"]).success(); // outbox: collect every subscriber's link
    let links: Vec<(String, String)> = outbox(&fixture, 9)
        .iter()
        .map(|m| {
            let to = m.lines().find(|l| l.starts_with("To: ")).unwrap().to_string();
            (to, unsubscribe_link(m))
        })
        .collect();
    add_issue_10(&fixture);
    let smtp = SmtpServer::start(&["--delay", "0.01"]);
    let server = Server::start(&fixture, port);
    let mut sending = fixture.command(&["issue", "10", "--yes"]).env("PUBLISH_SMTP_URL", &smtp.url()).spawn();
    assert!(smtp.wait_for(5, Duration::from_secs(60)));
    let leaving: Vec<(String, String)> = links.iter().step_by(3).cloned().collect();
    let handles: Vec<_> = leaving
        .chunks(6)
        .map(|chunk| {
            let chunk = chunk.to_vec();
            std::thread::spawn(move || {
                chunk.iter().map(|(_, link)| post(link, "List-Unsubscribe=One-Click").0).collect::<Vec<u16>>()
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap().iter().all(|&s| s == 200), "every unsubscribe is recorded while the send runs");
    }
    assert!(sending.wait().unwrap().success());
    drop(server);
    // A later issue reaches nobody who left.
    let eleven = without_episode(&fixture.read("issues/009.toml"))
        .replace("title = \"China AI dreams of Sora\"", "title = \"Eleven\"");
    fixture.write("issues/011.toml", &eleven);
    let later = SmtpServer::start(&[]);
    fixture.command(&["issue", "11", "--yes"]).env("PUBLISH_SMTP_URL", &later.url()).run().success();
    let got: Vec<String> = later.received().into_iter().map(|m| m.rcpt).collect();
    assert_eq!(got.len(), n - leaving.len());
    for (to, _) in &leaving {
        let addr = to.split('<').nth(1).unwrap().trim_end_matches('>').to_lowercase();
        assert!(!got.contains(&addr), "{addr} left but was mailed");
    }
}

/// Debian's nginx as this test's own process (never the system service): TLS
/// for https://www.analyse.asia with a certificate made here, in front of
/// `publish serve` on `upstream`, on one port per way of publishing it.
struct Nginx {
    child: std::process::Child,
}

impl Nginx {
    /// `servers` are (port, the `location` blocks of that server).
    fn start(dir: &std::path::Path, servers: &[(u16, String)]) -> Nginx {
        let openssl = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
            .args(["-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=www.analyse.asia"])
            .args(["-addext", "subjectAltName=DNS:www.analyse.asia"])
            .current_dir(dir)
            .output()
            .expect("openssl must be installed to run the proxy test");
        assert!(openssl.status.success(), "{}", String::from_utf8_lossy(&openssl.stderr));
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        let d = dir.display();
        let mut conf = format!(
            "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\ndaemon off;\n\
             events {{ worker_connections 256; }}\nhttp {{\n  access_log off;\n  port_in_redirect off;\n  \
             client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp; \
             uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;\n  \
             ssl_certificate {d}/cert.pem; ssl_certificate_key {d}/key.pem;\n"
        );
        for (port, locations) in servers {
            conf.push_str(&format!(
                "  server {{ listen 127.0.0.1:{port} ssl; server_name www.analyse.asia;\n{locations}  }}\n"
            ));
        }
        conf.push_str("}\n");
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        // Debian puts it in /usr/sbin, which a user's PATH may leave out.
        let nginx =
            ["/usr/sbin/nginx", "nginx"].into_iter().find(|n| std::path::Path::new(n).exists()).unwrap_or("nginx");
        let child = std::process::Command::new(nginx)
            .args(["-p", &d.to_string(), "-c", &format!("{d}/nginx.conf"), "-e", &format!("{d}/error.log")])
            .spawn()
            .expect("nginx must be installed to run the proxy test (scripts/test installs it)");
        let start = std::time::Instant::now();
        for (port, _) in servers {
            while std::net::TcpStream::connect(("127.0.0.1", *port)).is_err() {
                let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
                assert!(start.elapsed() < Duration::from_secs(20), "nginx did not start: {log}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Nginx { child }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // The master stops its worker when it is told to stop.
        let _ = std::process::Command::new("kill").args(["-QUIT", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// A `location` passing `path` on to `upstream` as nginx's `proxy_pass`
/// `target` says (with a path: the location's part replaced by it), with the
/// forwarded headers a proxy sets.
fn location(path: &str, upstream: u16, target: &str, more: &str) -> String {
    format!(
        "    location {path} {{ proxy_pass http://127.0.0.1:{upstream}{target}; \
         proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; \
         proxy_set_header X-Forwarded-Proto $scheme; proxy_set_header X-Forwarded-Host $host; {more}}}\n"
    )
}

#[test]
fn every_link_form_and_redirect_works_behind_a_proxy_that_keeps_strips_or_changes_the_prefix() {
    let fixture = Fixture::reference();
    fixture.write("templates/welcome.html", "<p><a href=\"{{ preferences_url }}\">Your preferences</a></p>\n");
    fixture.write("templates/welcome.txt", "Preferences: {{ preferences_url }}\n");
    fixture.run(&["build", "9"]).success();
    let upstream = free_port();
    let _server = Server::start(&fixture, upstream);
    // The base URL's prefix kept; stripped; another prefix kept (said in
    // X-Forwarded-Prefix) and another stripped, each beside the base URL's own
    // (the pages link the base URL).
    let canonical = location("/this-week-in-asia", upstream, "", "");
    let ways = [
        ("/this-week-in-asia", canonical.clone()),
        ("/this-week-in-asia", location("/this-week-in-asia/", upstream, "/", "")),
        (
            "/asia",
            format!("{canonical}{}", location("/asia/", upstream, "", "proxy_set_header X-Forwarded-Prefix /asia; ")),
        ),
        ("/asia", format!("{canonical}{}", location("/asia/", upstream, "/", ""))),
    ];
    let servers: Vec<(u16, String)> = ways.iter().map(|(_, locations)| (free_port(), locations.clone())).collect();
    let proxy_dir = tempfile::tempdir().unwrap();
    let _nginx = Nginx::start(proxy_dir.path(), &servers);
    let outbox = fixture.path().join("out/outbox/audience");
    // The four ways at once (each reader has an address of their own), a browser each.
    let runs: Vec<(String, std::process::Child)> = ways
        .iter()
        .zip(&servers)
        .enumerate()
        .map(|(i, ((prefix, _), (port, _)))| {
            let public = format!("https://www.analyse.asia{prefix}");
            let child = std::process::Command::new("node")
                .arg(crate::support::repo().join("tests/browser/proxy.mjs"))
                .args([&public, &port.to_string(), outbox.to_str().unwrap(), &format!("reader{i}@example.com")])
                .env("MASTHEAD_NODE_MODULES", crate::support::node_modules(&["playwright-core"]))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("node must be installed to run the browser test");
            (format!("{public} (way {i})"), child)
        })
        .collect();
    for (way, child) in runs {
        let output = child.wait_with_output().unwrap();
        let shown = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{way}: {shown}{}", String::from_utf8_lossy(&output.stderr));
        assert!(shown.contains("\"checked\":"), "{way}: {shown}");
    }
}

#[test]
fn slow_and_silent_clients_are_cut_off_and_a_flood_of_connections_is_bounded() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Instant;
    let fixture = Fixture::reference();
    let port = free_port();
    let server = Server::start(&fixture, port);
    let connect = move || TcpStream::connect(("127.0.0.1", port)).unwrap();
    // How long until the server closes a connection, reading what it sends.
    let closed_after = |mut tcp: TcpStream| {
        let start = Instant::now();
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut buf = [0u8; 4096];
        while matches!(tcp.read(&mut buf), Ok(n) if n > 0) {}
        start.elapsed()
    };
    // Headers one line a second, for ever; and a connection that says nothing.
    let slow = std::thread::spawn(move || {
        let mut tcp = connect();
        let start = Instant::now();
        tcp.write_all(b"GET /subscribe HTTP/1.1\r\nHost: x\r\n").unwrap();
        while start.elapsed() < Duration::from_secs(30) && tcp.write_all(b"X-Slow: 1\r\n").is_ok() {
            std::thread::sleep(Duration::from_millis(500));
        }
        start.elapsed()
    });
    let silent = std::thread::spawn(move || closed_after(connect()));
    // A flood: beyond the server's bound, connections are closed at once.
    let flood: Vec<TcpStream> = (0..1100).map(|_| connect()).collect();
    let refused = flood
        .into_iter()
        .skip(1030)
        .map(|tcp| {
            tcp.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
            closed_after(tcp)
        })
        .filter(|took| *took < Duration::from_secs(3))
        .count();
    assert!(refused >= 60, "only {refused} of the connections over the bound were closed at once");
    let slow = slow.join().unwrap();
    assert!(slow < Duration::from_secs(15), "a client sending its headers slowly was served for {slow:?}");
    let silent = silent.join().unwrap();
    assert!(silent < Duration::from_secs(15), "a silent connection was kept {silent:?}");
    // A request whose headers never end in reasonable room is refused, not buffered.
    let mut big = connect();
    let _ = big
        .write_all(format!("GET /subscribe HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(200_000)).as_bytes());
    let mut answer = String::new();
    let _ = big.read_to_string(&mut answer);
    assert!(!answer.starts_with("HTTP/1.1 200"), "a 200 KB header was read whole: {}", &answer[..answer.len().min(80)]);
    // The flood gone, the server answers.
    let (status, _) = get(&format!("{}/subscribe", server.base));
    assert_eq!(status, 200);
}

#[test]
fn a_post_without_origin_is_judged_by_its_referer_and_a_hidden_origin_is_refused() {
    let port = free_port();
    let fixture = publication(2, port);
    fixture.run(&["issue", "9"]).success();
    let server = Server::start(&fixture, port);
    let link = unsubscribe_link(&outbox(&fixture, 9)[0]);
    let page_post = |headers: &[(&str, &str)]| {
        let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        request("POST", &link, &all, "confirm=page").0
    };
    let signup = |headers: &[(&str, &str)]| {
        let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        request("POST", &format!("{}/subscribe", server.base), &all, "email=eve%40example.com").0
    };
    // A browser that leaves Origin out still names the page it posts from.
    assert_eq!(page_post(&[("Referer", "https://evil.example/page")]), 403);
    assert_eq!(signup(&[("Referer", "https://evil.example/page")]), 403);
    // A sandboxed or privacy-stripped page says `null`: without the browser's own
    // `Sec-Fetch-Site: same-origin` it cannot be told from a foreign one.
    assert_eq!(page_post(&[("Origin", "null")]), 403);
    assert_eq!(signup(&[("Origin", "null")]), 403);
    assert_eq!(page_post(&[("Referer", "not a url")]), 403);
    let count = fixture.run(&["subscribers", "count"]).success().stdout();
    assert_eq!(count.trim(), "2", "nothing changed");
    let pending = fixture.run(&["subscribers", "list", "--status", "all"]).success().stdout();
    assert!(!pending.contains("eve@example.com"), "{pending}");
    // This site's own page, by its Referer; and the mail provider's one-click POST, with neither.
    assert_eq!(page_post(&[("Referer", &format!("{}/this-week-in-asia/unsubscribe?t=x", server.base))]), 200);
    let second = unsubscribe_link(&outbox(&fixture, 9)[1]);
    assert_eq!(post(&second, "List-Unsubscribe=One-Click").0, 200);
    assert_eq!(fixture.run(&["subscribers", "count"]).success().stdout().trim(), "0");
}

#[test]
fn the_outbox_with_every_address_and_link_in_it_is_never_served() {
    let port = free_port();
    let fixture = publication(2, port);
    fixture.run(&["issue", "9"]).success();
    let server = Server::start(&fixture, port);
    // A signup: its confirmation mail goes to out/outbox/audience/ too.
    assert_eq!(post(&format!("{}/subscribe", server.base), "email=eve%40example.com").0, 200);
    let audience = fixture.path().join("out/outbox/audience");
    let start = std::time::Instant::now();
    while std::fs::read_dir(&audience).map_or(0, |d| d.count()) == 0 {
        assert!(start.elapsed() < Duration::from_secs(20), "no confirmation mail in {}", audience.display());
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut files: Vec<String> = ["out/outbox/9", "out/outbox/audience"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(fixture.path().join(dir)).unwrap())
        .map(|e| e.unwrap().path().strip_prefix(fixture.path().join("out")).unwrap().display().to_string())
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    for file in &files {
        let encoded = file.replacen("outbox", "%6Futbox", 1);
        let dotted = format!("./{file}");
        for path in [file.clone(), encoded, dotted, format!("/{file}"), "outbox/".into(), "outbox/9/".into()] {
            for base in [server.base.clone(), format!("{}/this-week-in-asia", server.base)] {
                let (status, body) = get(&format!("{base}/{path}"));
                assert_eq!(status, 404, "{base}/{path}: {body}");
                assert!(!body.contains("@example.com") && !body.contains("?t="), "{base}/{path}: {body}");
            }
        }
    }
    // The archive and the issue's own files are still there.
    for path in ["/", "/9/", "/9/email.html", "/feed.xml", "/media/009-cover.png"] {
        assert_eq!(get(&format!("{}/this-week-in-asia{path}", server.base)).0, 200, "{path}");
    }
}

#[test]
fn bound_to_every_ipv6_and_ipv4_address_a_proxy_on_this_machine_is_still_believed() {
    // `--bind [::]:PORT` takes IPv4 too: a proxy connecting to 127.0.0.1 is
    // then the peer ::ffff:127.0.0.1, still this machine.
    let fixture = Fixture::reference();
    let port = free_port();
    let _running = Running::start(fixture.command(&["serve", "--bind", &format!("[::]:{port}")]), port);
    let base = format!("http://127.0.0.1:{port}");
    // Its X-Forwarded-Prefix is believed: the other prefix it keeps comes off.
    let (status, page) = {
        let (status, _, body) =
            request("GET", &format!("{base}/asia/subscribe"), &[("X-Forwarded-Prefix", "/asia")], "");
        (status, body)
    };
    assert!(status == 200 && page.contains("Your email address"), "{status}: {page}");
    // Its X-Forwarded-For names the client: six readers behind it are six clients,
    // not one over its limit of five.
    for i in 0..6 {
        let client = format!("203.0.113.{i}");
        let headers = [("Content-Type", "application/x-www-form-urlencoded"), ("X-Forwarded-For", client.as_str())];
        let body = format!("email=reader{i}%40example.com");
        let (status, _, page) = request("POST", &format!("{base}/subscribe"), &headers, &body);
        assert_eq!(status, 200, "{client}: {page}");
    }
}

#[test]
fn an_old_form_link_of_a_forgotten_address_does_not_store_it_again() {
    let port = free_port();
    let fixture = publication(2, port);
    fixture.run(&["issue", "9"]).success();
    fixture.run(&["subscribers", "forget", "reader001@example.com"]).success();
    let _server = Server::start(&fixture, port);
    let token = old_form_token();
    let url = format!("http://127.0.0.1:{port}/unsubscribe?t={}", token.trim());
    let (status, body) = post(&url, "List-Unsubscribe=One-Click");
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&url, "confirm=page");
    assert!(status == 200 && body.contains("no longer on the list"), "{status}: {body}");
    assert!(!body.contains("reader001"), "{body}");
    let shown = fixture.run(&["subscribers", "show", "reader001@example.com"]).failure(1);
    assert!(shown.stderr().contains("not on the list"), "the address is not stored again: {}", shown.stdout());
    assert!(!fixture.run(&["subscribers", "export"]).success().stdout().contains("reader001"));
}

/// reader001's unsubscribe token in the old form, which carried the address:
/// base64url(address) "." base64url(HMAC-SHA256(secret, "masthead-unsubscribe\0" address)[..16]),
/// made in Python from the suite's PUBLISH_SECRET.
fn old_form_token() -> String {
    let secret = "test-secret-0123456789abcdef0123456789";
    crate::support::run_python(
        "import base64, hashlib, hmac, sys\n\
         key = sys.argv[1].strip().encode(); addr = b'reader001@example.com'\n\
         tag = hmac.new(key, b'masthead-unsubscribe\\0' + addr, hashlib.sha256).digest()[:16]\n\
         b = lambda x: base64.urlsafe_b64encode(x).rstrip(b'=').decode()\n\
         print(b(addr) + '.' + b(tag))",
        &[std::path::Path::new(secret)],
    )
}
