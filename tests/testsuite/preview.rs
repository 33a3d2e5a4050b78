//! `publish preview` in a real browser (Chromium driven by playwright-core):
//! every view renders, and edits show up live, errors included.

use std::process::Command;

use crate::support::{Fixture, Running, agent, free_port, node_modules, repo};

#[test]
fn preview_renders_every_view_and_reloads_live_in_a_browser() {
    let modules = node_modules(&["playwright-core"]);
    let chromium = Command::new("which").arg("chromium").output().expect("which");
    assert!(
        chromium.status.success(),
        "no chromium on PATH: run the tests with `bash scripts/test`, which installs it"
    );

    let fixture = Fixture::reference();
    let port = free_port();
    let _server = Running::start(fixture.command(&["preview", "9", "--port", &port.to_string()]), port);

    let shots_dir = tempfile::tempdir().unwrap();
    let shots = shots_dir.path().to_path_buf();
    let output = Command::new("node")
        .arg(repo().join("tests/browser/preview.mjs"))
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(fixture.path())
        .arg(&shots)
        .env("MASTHEAD_NODE_MODULES", &modules)
        .current_dir(repo().join("tests/browser"))
        .output()
        .expect("node must be installed to run the browser test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the browser test failed:\n{stdout}\n{stderr}");
    for view in ["desktop", "mobile", "dark", "text", "web", "social", "feed", "edited", "error", "recovered"] {
        assert!(shots.join(format!("{view}.png")).is_file(), "no screenshot of {view}");
    }
}

#[test]
fn the_send_me_a_test_button_sends_a_test_copy_to_test_to() {
    let smtp = crate::support::SmtpServer::start(&[]);
    let fixture = Fixture::reference();
    let port = free_port();
    let _server = Running::start(
        fixture.command(&["preview", "9", "--port", &port.to_string()]).env("PUBLISH_SMTP_URL", &smtp.url()),
        port,
    );
    let agent = agent();
    let page = agent.get(&format!("http://127.0.0.1:{port}/")).call().unwrap().body_mut().read_to_string().unwrap();
    assert!(page.contains("Send me a test"), "the page has the button");
    // Another site's page open in the same browser cannot send mail through the preview.
    let test_url = format!("http://127.0.0.1:{port}/test");
    for (header, value) in [
        ("Origin", "https://evil.example".to_string()),
        ("Origin", format!("http://localhost.evil.example:{port}")),
        ("Sec-Fetch-Site", "cross-site".to_string()),
        ("Host", format!("rebound.evil.example:{port}")),
    ] {
        let mut refused = agent.post(&test_url).header(header, &value).send("").unwrap();
        let body = refused.body_mut().read_to_string().unwrap();
        assert_eq!(refused.status().as_u16(), 403, "{header}: {value}: {body}");
    }
    assert_eq!(smtp.count(), 0, "a refused request sent mail");
    let mut response = agent.post(&test_url).header("Origin", &format!("http://127.0.0.1:{port}")).send("").unwrap();
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("sent to editor@analyse.asia"), "{body}");
    let got = smtp.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt, "editor@analyse.asia");
    assert!(got[0].raw.contains("Subject: [TEST] This Week in Asia #9"), "{}", &got[0].raw[..400]);
    assert!(fixture.run(&["status", "9"]).success().stdout().contains("not sent"), "no send records touched");
}

#[test]
fn the_preview_shows_the_workspace_media_where_the_email_links_the_production_site() {
    let fixture = Fixture::reference();
    let port = free_port();
    let _server = Running::start(fixture.command(&["preview", "9", "--port", &port.to_string()]), port);
    let agent = agent();
    let get = |path: &str| agent.get(&format!("http://127.0.0.1:{port}{path}")).call().unwrap();
    let html = get("/raw/9/email.html").body_mut().read_to_string().unwrap();
    assert!(html.contains("src=\"/raw/media/009-cover.png\""), "the cover is not served locally");
    assert!(!html.contains("https://www.analyse.asia/this-week-in-asia/media/"), "a media link still leaves");
    let mut image = get("/raw/media/009-cover.png");
    assert_eq!(image.status().as_u16(), 200);
    assert_eq!(image.headers()["content-type"], "image/png");
    let bytes = image.body_mut().read_to_vec().unwrap();
    assert_eq!(bytes, std::fs::read(fixture.path().join("media/009-cover.png")).unwrap());
    // What is sent is unchanged: the built email links the production site.
    fixture.run(&["build", "9"]).success();
    assert!(
        fixture.read("out/9/email.html").contains("https://www.analyse.asia/this-week-in-asia/media/009-cover.png")
    );
}

/// GETs `path` from the preview on `port`.
fn fetch(port: u16, path: &str) -> String {
    agent().get(&format!("http://127.0.0.1:{port}{path}")).call().unwrap().body_mut().read_to_string().unwrap()
}

/// Waits (at most 20 s) until the preview's `/content` satisfies `ok`.
fn wait_for_content(port: u16, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let start = std::time::Instant::now();
    loop {
        let content = fetch(port, "/content?view=desktop");
        if ok(&content) {
            return content;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "the preview never showed {what}:\n{content}");
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}

#[test]
fn an_edited_issue_file_is_read_again_alone_and_the_feeds_keep_every_other_issue() {
    let fixture = Fixture::reference();
    let ten = crate::support::without_episode(&fixture.read("issues/009.toml"))
        .replace("title = \"China AI dreams of Sora\"", "title = \"The tenth\"")
        .replace("date = 2024-03-01", "date = 2024-03-08");
    let episode = "[episode]\naudio = \"https://cdn.example.com/10.mp3\"\nlength = 1000\nduration = 60\n";
    fixture.write("issues/010.toml", &format!("{ten}\n{episode}"));
    let port = free_port();
    let server = Running::start(fixture.command(&["preview", "10", "--port", &port.to_string()]), port);
    assert!(fetch(port, "/content?view=desktop").contains("The tenth"));

    fixture.edit("issues/010.toml", "title = \"The tenth\"", "title = \"The tenth, edited\"");
    wait_for_content(port, "the new title", |c| c.contains("The tenth, edited"));
    for feed in ["/raw/feed.xml", "/raw/newsletter.xml"] {
        let xml = fetch(port, feed);
        assert_eq!(xml.matches("<item>").count(), 2, "{feed}: both issues, once each");
        assert!(xml.contains("The tenth, edited") && xml.contains("China AI dreams of Sora"), "{feed}:\n{xml}");
    }

    // A check across files: issue 10 takes issue 9's audio, and is refused...
    fixture.edit("issues/010.toml", "audio = \"https://cdn.example.com/10.mp3\"", "audio = \"media/009.mp3\"");
    wait_for_content(port, "the shared audio refused", |c| c.contains("has the same audio"));
    // ...and stays refused while another file is edited, until it is mended.
    fixture.edit("issues/009.toml", "title = \"China AI dreams of Sora\"", "title = \"Sora, again\"");
    std::thread::sleep(std::time::Duration::from_millis(600));
    wait_for_content(port, "issue 10 still refused", |c| c.contains("has the same audio"));
    fixture.edit("issues/010.toml", "audio = \"media/009.mp3\"", "audio = \"https://cdn.example.com/10.mp3\"");
    wait_for_content(port, "issue 10 back", |c| c.contains("The tenth, edited") && !c.contains("id=\"errors\""));
    let feed = fetch(port, "/raw/feed.xml");
    assert!(feed.contains("Sora, again") && !feed.contains("China AI dreams of Sora"), "issue 9 read again:\n{feed}");
    assert_eq!(feed.matches("<item>").count(), 2);

    // Each of those edits read the edited file alone.
    let log = server.stop_and_read_stderr();
    for file in ["issues/010.toml", "issues/009.toml"] {
        assert!(log.contains(&format!("; {file}; ")), "{file} was not read again alone:\n{log}");
    }
    assert!(!log.contains("the whole publication reloaded"), "{log}");
}

#[test]
fn the_preview_answers_only_this_machine_and_another_sites_page_cannot_send_or_switch_the_issue() {
    let smtp = crate::support::SmtpServer::start(&[]);
    let fixture = Fixture::reference();
    let ten = crate::support::without_episode(&fixture.read("issues/009.toml"))
        .replace("title = \"China AI dreams of Sora\"", "title = \"The tenth issue\"");
    fixture.write("issues/010.toml", &ten);
    let port = free_port();
    let _server = Running::start(
        fixture.command(&["preview", "9", "--port", &port.to_string()]).env("PUBLISH_SMTP_URL", &smtp.url()),
        port,
    );
    let agent = agent();
    let get = |path: &str, headers: &[(&str, String)]| {
        let mut request = agent.get(&format!("http://127.0.0.1:{port}{path}"));
        for (k, v) in headers {
            request = request.header(*k, v);
        }
        let mut response = request.call().unwrap();
        (response.status().as_u16(), response.body_mut().read_to_string().unwrap())
    };
    // Opened as localhost, as 127.0.0.1 and as [::1]: the same preview.
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}"), format!("[::1]:{port}")] {
        let (status, page) = get("/", &[("Host", host.clone())]);
        assert!(status == 200 && page.contains("Send me a test"), "{host}: {status}");
        assert_eq!(get("/raw/9/email.html", &[("Host", host.clone())]).0, 200, "{host}");
    }
    // A site whose name was pointed at this machine reads nothing: no draft leaves.
    for path in ["/", "/content?view=text", "/raw/9/email.html", "/raw/9/email.txt"] {
        let (status, body) = get(path, &[("Host", format!("rebound.evil.example:{port}"))]);
        assert_eq!(status, 403, "{path}: {body}");
        assert!(!body.contains("Sora"), "{path}: {body}");
    }
    // A page that hides its Origin still names itself in Referer: no mail.
    let mut refused = agent
        .post(&format!("http://127.0.0.1:{port}/test"))
        .header("Referer", "https://evil.example/page")
        .send("")
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403, "{}", refused.body_mut().read_to_string().unwrap());
    assert_eq!(smtp.count(), 0, "a refused request sent mail");
    // Another site's link (an image, say) cannot switch what the preview shows;
    // the preview's own index can.
    let cross = [("Sec-Fetch-Site", "cross-site".to_string())];
    get("/?issue=10", &cross);
    assert!(get("/content?view=text", &[]).1.contains("Sora"), "another site's page switched the issue");
    let own = [("Sec-Fetch-Site", "same-origin".to_string())];
    get("/?issue=10", &own);
    assert!(get("/content?view=text", &[]).1.contains("The tenth issue"), "the index did not switch the issue");
}
