//! Counted links (`[insight] clicks`): the email's links rewritten (and left
//! exactly as they were when off), `publish serve`'s `/r/{issue}/{id}`
//! redirect clicked in a real Chromium, the bots kept out, `stats --links`.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Fixture, Running, SmtpServer, free_port, python, subscribers_csv, without_episode};

/// A person's browser, as its user agent says.
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
const SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15";

const CHIPS_TITLE: &str = "TSMC founder Morris Chang predicts Japan 'chip renaissance'";

fn with_insight(fixture: &Fixture, table: &str) {
    let toml = fixture.read("publish.toml");
    fixture.write("publish.toml", &format!("{toml}\n[insight]\n{table}\n"));
}

/// The `href`s of an HTML page, in order.
fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].replace("&#x2f;", "/").replace("&amp;", "&"))
        .collect()
}

#[test]
fn counted_links_off_leave_the_email_and_page_byte_identical() {
    let plain = Fixture::reference();
    plain.run(&["build", "9"]).success();
    let off = Fixture::reference();
    with_insight(&off, "clicks = false");
    off.run(&["build", "9"]).success();
    for file in ["out/9/email.html", "out/9/email.txt", "out/9/index.html", "out/newsletter.xml"] {
        assert_eq!(off.read(file), plain.read(file), "{file} changed with [insight] clicks = false");
    }
    // And the same bytes as main's reviewed snapshots of the email.
    for (file, snap) in [("out/9/email.txt", "issue9_email_txt"), ("out/9/email.html", "issue9_email_html")] {
        let path = crate::support::repo().join(format!("tests/testsuite/snapshots/testsuite__build__{snap}.snap"));
        let snapshot = std::fs::read_to_string(path).unwrap();
        let body = snapshot.splitn(3, "---\n").nth(2).unwrap();
        assert_eq!(off.read(file).trim_end(), body.trim_end(), "{file} differs from the reviewed snapshot");
    }
    assert!(!off.path().join(".publish/links").exists(), "no map of counted links is written when off");
}

#[test]
fn counted_links_rewrite_every_content_link_and_no_functional_one() {
    let fixture = Fixture::reference();
    with_insight(&fixture, "clicks = true");
    fixture.run(&["build", "9"]).success();
    let html = fixture.read("out/9/email.html");
    let text = fixture.read("out/9/email.txt");
    let base = "https://www.analyse.asia/this-week-in-asia";
    let links = hrefs(&html);
    let counted: Vec<&String> = links.iter().filter(|h| h.starts_with(&format!("{base}/r/9/"))).collect();
    // Every content link is counted: recommendations, related, takes, sponsor, ask.
    for original in
        ["https://www.scmp.com/tech", "https://asia.nikkei.com/", "https://esevel.com/", "https://x.com/analyseasia"]
    {
        assert!(!links.iter().any(|h| h == original), "{original} is still a direct link");
        assert!(!text.contains(original), "{original} is still in the text part");
    }
    assert!(counted.len() > 10, "{links:?}");
    // The functional links stay as they are: unsubscribe, preferences, the web page, the archive.
    for functional in [format!("{base}/9/"), format!("{base}/")] {
        assert!(links.contains(&functional), "{functional} must stay: {links:?}");
    }
    assert!(links.iter().any(|h| h.contains("/unsubscribe?t=")), "{links:?}");
    // The text part's links are the same counted URLs.
    let text_links: Vec<&str> = text.lines().filter_map(|l| l.split_once("] ").map(|(_, u)| u)).collect();
    assert!(text_links.iter().filter(|u| u.starts_with(&format!("{base}/r/9/"))).count() > 10, "{text}");
    for url in text_links.iter().filter(|u| u.contains("/r/9/")) {
        assert!(links.iter().any(|h| h == url), "{url} of the text part is not in the HTML part");
    }
    // The canary: right after <body>, no text, and not in the text part.
    let body_at = html.find("<body").unwrap();
    let canary_tag = &html[body_at..body_at + html[body_at..].find("</a>").unwrap() + 4];
    assert!(canary_tag.contains("display:none") && canary_tag.ends_with("\"></a>"), "{canary_tag}");
    let canary = hrefs(canary_tag).pop().unwrap();
    assert!(canary.starts_with(&format!("{base}/r/9/")), "{canary}");
    assert!(!text.contains(&canary), "the canary is not in the text part");
    // One id per URL: the sponsor's link and button share one.
    let map: serde_json::Value = serde_json::from_str(&fixture.read(".publish/links/9.json")).unwrap();
    let sponsor = map["links"].as_array().unwrap().iter().find(|l| l["kind"] == "sponsor").unwrap();
    let sponsor_url = format!("{base}/r/9/{}", sponsor["id"].as_str().unwrap());
    // The button, Outlook's drawing of it, and the copy's link to the same address.
    assert!(links.iter().filter(|h| **h == sponsor_url).count() >= 2, "the sponsor's link and button: {links:?}");
    // Stable across rebuilds; the page keeps its direct links without `web = true`.
    fixture.run(&["build", "9"]).success();
    assert_eq!(fixture.read("out/9/email.html"), html, "a rebuild gives the same links");
    assert!(hrefs(&fixture.read("out/9/index.html")).iter().any(|h| h == "https://asia.nikkei.com/"));
    fixture.edit("publish.toml", "[insight]\nclicks = true\n", "[insight]\nclicks = true\nweb = true\n");
    fixture.run(&["build", "9"]).success();
    let page = hrefs(&fixture.read("out/9/index.html"));
    assert!(!page.iter().any(|h| h == "https://asia.nikkei.com/"), "web = true counts the page's links too");
    assert!(page.iter().any(|h| h.starts_with(&format!("{base}/r/9/"))), "{page:?}");
}

/// A static web site on 127.0.0.1: where the recommendations point.
struct Site {
    child: Child,
    port: u16,
}

impl Site {
    fn start(dir: &Path) -> Site {
        let port = free_port();
        let child = Command::new(python())
            .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python -m http.server");
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(30), "the test site did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Site { child, port }
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The preview's page content for issue 9 (desktop view).
fn preview_content(fixture: &Fixture) -> String {
    let port = free_port();
    let _preview = Running::start(fixture.command(&["preview", "9", "--port", &port.to_string()]), port);
    request("GET", &format!("http://127.0.0.1:{port}/content?view=desktop"), &[], "").2
}

/// One request, redirects not followed, sent once (a retry would count twice):
/// (status, headers as lower-case "name: value" lines, body).
fn request(method: &str, url: &str, headers: &[(&str, &str)], _body: &str) -> (u16, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut r = if method == "HEAD" { agent.head(url) } else { agent.get(url) };
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let mut response = r.call().unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let head: Vec<String> =
        response.headers().iter().map(|(k, v)| format!("{}: {}", k, v.to_str().unwrap_or("?"))).collect();
    (
        response.status().as_u16(),
        head.join("\n").to_lowercase(),
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

/// The figures of `url` in `publish stats 9 --links --json`: (clicks, discarded).
fn figures(fixture: &Fixture, url: &str) -> (u64, u64) {
    let out = fixture.run(&["stats", "9", "--links", "--json"]).success().stdout();
    let stats: serde_json::Value = serde_json::from_str(&out).unwrap();
    let link = stats["issues"][0]["links"].as_array().unwrap().iter().find(|l| l["url"] == url).cloned();
    let link = link.unwrap_or_else(|| panic!("{url} is not in the figures: {out}"));
    (link["clicks"].as_u64().unwrap(), link["discarded"].as_u64().unwrap())
}

#[test]
fn a_counted_link_clicked_in_chromium_lands_on_the_article_and_counts_once_and_bots_count_nothing() {
    let site_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        site_dir.path().join("chips.html"),
        "<!DOCTYPE html><title>Chips</title><p>The chip renaissance article</p>",
    )
    .unwrap();
    let site = Site::start(site_dir.path());
    let article = format!("http://127.0.0.1:{}/chips.html", site.port);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}/this-week-in-asia");
    let fixture = Fixture::reference();
    // A podcast needs an https base URL: this publication is a newsletter only.
    let toml = fixture.read("publish.toml");
    let (before, after) = toml.split_once("[podcast]").unwrap();
    let toml = format!("{before}{}", &after[after.find("[social]").unwrap()..]);
    fixture.write("publish.toml", &toml.replace("https://www.analyse.asia/this-week-in-asia\"", &format!("{base}\"")));
    fixture.write("issues/009.toml", &without_episode(&fixture.read("issues/009.toml")));
    fixture.edit("issues/009.toml", "url = \"https://asia.nikkei.com/\"", &format!("url = \"{article}\""));
    with_insight(&fixture, "clicks = true");
    let csv = subscribers_csv(fixture.path(), 2);
    fixture.run(&["subscribers", "import", csv.to_str().unwrap()]).success();
    // Built but not sent: the preview shows no figures.
    fixture.run(&["build", "9"]).success();
    assert!(!preview_content(&fixture).contains("id=\"clicks\""), "no figures before the issue is sent");
    let smtp = SmtpServer::start(&[]);
    fixture.command(&["issue", "9", "--yes"]).env("PUBLISH_SMTP_URL", &smtp.url()).run().success();
    let messages = smtp.received();
    assert_eq!(messages.len(), 2);
    let _serve = Running::start(fixture.command(&["serve", "--bind", &format!("127.0.0.1:{port}")]), port);
    assert_eq!(figures(&fixture, &article), (0, 0));

    // A reader clicks the recommendation in the captured message.
    let output = Command::new("node")
        .arg(crate::support::repo().join("tests/browser/click.mjs"))
        .arg(&messages[0].path)
        .arg(CHIPS_TITLE)
        .arg(FIREFOX)
        .env("MASTHEAD_NODE_MODULES", crate::support::node_modules(&["playwright-core"]))
        .output()
        .expect("node must be installed to run the browser test");
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{shown}{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(shown.lines().next(), Some(article.as_str()), "lands on the original address: {shown}");
    assert!(shown.contains("The chip renaissance article"), "{shown}");
    assert_eq!(figures(&fixture, &article), (1, 0), "one click counted");

    // The link as the message has it, for plain HTTP requests.
    let map: serde_json::Value = serde_json::from_str(&fixture.read(".publish/links/9.json")).unwrap();
    let id_of = |kind: &str, url: Option<&str>| {
        let links = map["links"].as_array().unwrap();
        let link = links.iter().find(|l| l["kind"] == kind && url.is_none_or(|u| l["url"] == u)).unwrap();
        link["id"].as_str().unwrap().to_string()
    };
    let counted = format!("{base}/r/9/{}", id_of("recommendation", Some(&article)));
    let stripped = counted.replace("/this-week-in-asia/", "/");
    let get = |url: &str, agent: &str| request("GET", url, &[("User-Agent", agent)], "");

    // HEAD answers the redirect and counts nothing; nor does a scanner's agent.
    let (status, headers, _) = request("HEAD", &counted, &[("User-Agent", SAFARI)], "");
    assert_eq!(status, 302, "{headers}");
    assert!(headers.to_ascii_lowercase().contains(&format!("location: {article}").to_ascii_lowercase()), "{headers}");
    assert!(!headers.to_ascii_lowercase().contains("set-cookie"), "{headers}");
    assert_eq!(get(&counted, "curl/8.5.0").0, 302);
    assert_eq!(figures(&fixture, &article), (1, 2), "HEAD and curl are discarded");

    // A person's click under the bare path (a proxy that strips the prefix) counts.
    assert_eq!(get(&stripped, SAFARI).0, 302);
    assert_eq!(figures(&fixture, &article), (2, 2));

    // A scanner opens the canary, then the links: nothing of that client counts.
    let scanner =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";
    let canary = format!("{base}/r/9/{}", id_of("canary", None));
    assert_eq!(get(&canary, scanner).0, 302, "the canary leads to the issue's page");
    assert_eq!(get(&counted, scanner).0, 302);
    assert_eq!(get(&counted, scanner).0, 302);
    assert_eq!(figures(&fixture, &article), (2, 4), "the canary's client counts nothing");

    // Nothing outside the issue is reachable through /r/: an unknown id, an
    // id of this issue under another issue, a URL of no issue.
    let unknown = format!("{base}/r/9/000000000000");
    let (status, _, page) = get(&unknown, SAFARI);
    assert_eq!(status, 404);
    assert!(page.contains("Link not found"), "{page}");
    assert_eq!(get(&counted.replace("/r/9/", "/r/8/"), SAFARI).0, 404);
    assert_eq!(get(&format!("{base}/r/9/https%3A%2F%2Fevil.example%2F"), SAFARI).0, 404);
    assert_eq!(get(&format!("{base}/r/nine/{}", id_of("recommendation", Some(&article))), SAFARI).0, 404);
    assert_eq!(figures(&fixture, &article), (2, 4));

    // The preview shows the figures beside each recommendation, once sent.
    let shown = preview_content(&fixture);
    let at = shown.find("id=\"clicks\"").unwrap_or_else(|| panic!("no figures in the preview: {shown}"));
    let row = format!("<tr><td>{}</td><td>2</td><td>2</td><td>100%</td></tr>", CHIPS_TITLE.replace('\'', "&#39;"));
    assert!(shown[at..].contains(&row), "{}", &shown[at..]);

    // The table and the CSV.
    let table = fixture.run(&["stats", "9", "--links"]).success().stdout();
    assert!(table.contains("issue 9: 2 clicks counted (2 unique), 4 discarded"), "{table}");
    assert!(table.contains(CHIPS_TITLE), "{table}");
    let csv = fixture.run(&["stats", "--links", "--csv"]).success().stdout();
    assert!(csv.starts_with("row,issue,kind,section,title,source,url,clicks,unique,discarded,share\n"), "{csv}");
    assert!(csv.contains(&format!(",{article},2,2,4,1.0000\n")), "{csv}");
}
