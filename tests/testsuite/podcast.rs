//! The podcast: `out/feed.xml` read back field by field, GUID stability, the
//! newsletter feed, the URLs of published media files (as podcast apps, mail clients
//! and static servers read them), and every check `publish check` applies to
//! `[podcast]` and `[episode]`.

use rss::Channel;
use rss::extension::Extension;
use sha2::{Digest, Sha256};

use crate::support::{Fixture, node_modules, python, repo, without_episode};

const BASE: &str = "https://www.analyse.asia/this-week-in-asia";

fn built() -> Fixture {
    let fixture = Fixture::reference();
    fixture.run(&["build", "9"]).success();
    fixture
}

fn feed(fixture: &Fixture) -> Channel {
    Channel::read_from(fixture.read("out/feed.xml").as_bytes()).expect("out/feed.xml is RSS")
}

/// The `prefix:name` extension elements of a channel or item.
fn ext<'a>(map: &'a rss::extension::ExtensionMap, prefix: &str, name: &str) -> &'a [Extension] {
    map.get(prefix).and_then(|m| m.get(name)).map_or(&[], Vec::as_slice)
}

fn attr<'a>(e: &'a Extension, name: &str) -> &'a str {
    e.attrs.get(name).map_or("", String::as_str)
}

/// The 1-based line and column where `needle` first appears in `text`; with a `|`
/// in it, the place just after what comes before the `|` ("audio = |\"x\"").
fn line_col(text: &str, needle: &str) -> (usize, usize) {
    let (before, after) = needle.split_once('|').unwrap_or(("", needle));
    let found = text.find(&format!("{before}{after}")).unwrap_or_else(|| panic!("{needle:?} not found"));
    let at = found + before.len();
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    (text[..at].matches('\n').count() + 1, text[line_start..at].chars().count() + 1)
}

/// Asserts that `check` fails with an error at `file`:line:col of `needle`, saying `message`.
#[track_caller]
fn assert_error_at(fixture: &Fixture, file: &str, needle: &str, message: &str) -> String {
    let run = fixture.run(&["check"]).failure(1);
    let err = run.stderr();
    let (line, col) = line_col(&fixture.read(file), needle);
    let want = format!("{file}:{line}:{col}: error: {message}");
    assert!(err.contains(&want), "expected {want:?} in:\n{err}");
    err
}

/// Issue `number`: a copy of issue 9 with another title and date, and the episode given (TOML text).
fn add_issue(fixture: &Fixture, number: u32, title: &str, date: &str, episode: &str) {
    let text = without_episode(&fixture.read("issues/009.toml"))
        .replace("title = \"China AI dreams of Sora\"", &format!("title = \"{title}\""))
        .replace("date = 2024-03-01", &format!("date = {date}"));
    fixture.write(&format!("issues/{number:03}.toml"), &format!("{text}\n{episode}"));
}

/// Issue 10: a copy of issue 9 a week later.
fn add_issue_10(fixture: &Fixture, title: &str, episode: &str) {
    add_issue(fixture, 10, title, "2024-03-08", episode);
}

#[test]
fn the_feed_read_back_has_every_channel_field() {
    let fixture = built();
    let ch = feed(&fixture);
    assert_eq!(ch.title, "This Week in Asia");
    assert_eq!(ch.link, format!("{BASE}/"));
    assert!(ch.description.starts_with("The week's reading list from This Week in Asia, read aloud"));
    assert_eq!(ch.language.as_deref(), Some("en"));
    assert_eq!(ch.copyright.as_deref(), Some("© 2024 Analyse Asia"));
    assert_eq!(ch.generator.as_deref(), Some("Masthead"));
    assert_eq!(ch.pub_date.as_deref(), Some("Fri, 1 Mar 2024 00:00:00 +0800"), "the newest episode's date");
    assert_eq!(ch.last_build_date.as_deref(), Some("Fri, 1 Mar 2024 09:00:00 +0800"), "PUBLISH_NOW, in Singapore");
    let image = ch.image.as_ref().expect("<image>");
    assert_eq!(image.url, format!("{BASE}/media/podcast-cover.png"));

    for (prefix, uri) in [
        ("itunes", "http://www.itunes.com/dtds/podcast-1.0.dtd"),
        ("podcast", "https://podcastindex.org/namespace/1.0"),
        ("atom", "http://www.w3.org/2005/Atom"),
        ("content", "http://purl.org/rss/1.0/modules/content/"),
    ] {
        assert_eq!(ch.namespaces.get(prefix).map(String::as_str), Some(uri), "xmlns:{prefix}");
    }
    let itunes = ch.itunes_ext.as_ref().expect("itunes tags");
    assert_eq!(itunes.author.as_deref(), Some("Analyse Asia"));
    assert_eq!(itunes.image.as_deref(), Some(format!("{BASE}/media/podcast-cover.png").as_str()));
    assert_eq!(itunes.explicit.as_deref(), Some("false"));
    assert_eq!(itunes.r#type.as_deref(), Some("episodic"));
    let owner = itunes.owner.as_ref().expect("itunes:owner");
    assert_eq!((owner.name.as_deref(), owner.email.as_deref()), (Some("Bernard Leong"), Some("hello@analyse.asia")));
    let categories: Vec<(String, Option<String>)> =
        itunes.categories.iter().map(|c| (c.text.clone(), c.subcategory.as_ref().map(|s| s.text.clone()))).collect();
    assert_eq!(
        categories,
        [
            ("Technology".to_string(), None),
            ("Business".to_string(), Some("Entrepreneurship".to_string())),
            ("News".to_string(), Some("Tech News".to_string())),
        ]
    );

    let atom = ext(&ch.extensions, "atom", "link");
    assert_eq!(atom.len(), 1);
    assert_eq!(
        (attr(&atom[0], "href"), attr(&atom[0], "rel"), attr(&atom[0], "type")),
        (format!("{BASE}/feed.xml").as_str(), "self", "application/rss+xml")
    );
    // The Podcasting 2.0 guid: UUIDv5 of the feed URL without its scheme.
    let namespace = uuid::Uuid::parse_str("ead4c236-bf58-58c6-a2c6-a6b28d128cb6").unwrap();
    let want = uuid::Uuid::new_v5(&namespace, b"www.analyse.asia/this-week-in-asia/feed.xml").to_string();
    assert_eq!(ext(&ch.extensions, "podcast", "guid")[0].value.as_deref(), Some(want.as_str()));
    let locked = &ext(&ch.extensions, "podcast", "locked")[0];
    assert_eq!((locked.value.as_deref(), attr(locked, "owner")), (Some("yes"), "hello@analyse.asia"));
    let funding = &ext(&ch.extensions, "podcast", "funding")[0];
    assert_eq!(
        (funding.value.as_deref(), attr(funding, "url")),
        (Some("Support Analyse Asia"), "https://www.analyse.asia/")
    );
    let host = &ext(&ch.extensions, "podcast", "person")[0];
    assert_eq!((host.value.as_deref(), attr(host, "role")), (Some("Bernard Leong"), "host"));
}

#[test]
fn an_audio_url_with_a_space_is_refused_naming_the_key_and_the_url() {
    let fixture = Fixture::reference();
    let url = "https://cdn.example.com/twia/episode 10.m4a";
    add_issue_10(
        &fixture,
        "The tenth",
        &format!("[episode]\naudio = \"{url}\"\nlength = 48123456\nduration = \"1:02:03\"\n"),
    );
    let message = format!("audio: \"{url}\" is not a web address: it contains a space or line break");
    assert_error_at(&fixture, "issues/010.toml", &format!("\"{url}"), &message);
}

#[test]
fn the_episode_read_back_has_its_audio_measured_from_the_file() {
    let fixture = built();
    let ch = feed(&fixture);
    assert_eq!(ch.items.len(), 1);
    let item = &ch.items[0];
    assert_eq!(item.title.as_deref(), Some("China AI dreams of Sora"));
    assert_eq!(item.link.as_deref(), Some(format!("{BASE}/9/").as_str()));
    assert_eq!(item.pub_date.as_deref(), Some("Fri, 1 Mar 2024 00:00:00 +0800"));
    let guid = item.guid.as_ref().expect("a guid");
    assert!(!guid.permalink, "the GUID is not a URL");
    assert!(uuid::Uuid::parse_str(&guid.value).is_ok(), "{}", guid.value);

    let enclosure = item.enclosure.as_ref().expect("an enclosure");
    let mp3 = std::fs::metadata(repo().join("media/009.mp3")).unwrap().len();
    assert_eq!(enclosure.url, format!("{BASE}/media/009.mp3"));
    assert_eq!(enclosure.length, mp3.to_string(), "the size is read from the file");
    assert_eq!(enclosure.mime_type, "audio/mpeg");
    assert_eq!(std::fs::read(fixture.path().join("out/media/009.mp3")).unwrap().len() as u64, mp3, "published");

    let itunes = item.itunes_ext.as_ref().expect("itunes tags");
    // espeak-ng spoke 6.08 s; the 8 kbit/s MP3 holds 6.35 s of frames (ffprobe agrees).
    assert_eq!(itunes.duration.as_deref(), Some("6"));
    assert_eq!(itunes.explicit.as_deref(), Some("false"));
    assert_eq!(itunes.episode.as_deref(), Some("9"), "the issue number by default");
    assert_eq!(itunes.season.as_deref(), Some("1"));
    assert_eq!(itunes.episode_type.as_deref(), Some("full"));
    assert_eq!(ext(&item.extensions, "podcast", "episode")[0].value.as_deref(), Some("9"));
    assert_eq!(ext(&item.extensions, "podcast", "season")[0].value.as_deref(), Some("1"));
    let chapters = &ext(&item.extensions, "podcast", "chapters")[0];
    assert_eq!(attr(chapters, "url"), format!("{BASE}/media/009-chapters.json"));
    assert_eq!(attr(chapters, "type"), "application/json+chapters");
    let transcript = &ext(&item.extensions, "podcast", "transcript")[0];
    assert_eq!(
        (attr(transcript, "url"), attr(transcript, "type")),
        (format!("{BASE}/media/009.vtt").as_str(), "text/vtt")
    );
    for file in ["009-chapters.json", "009.vtt", "podcast-cover.png"] {
        assert!(fixture.path().join("out/media").join(file).is_file(), "out/media/{file} is published");
    }
}

#[test]
fn show_notes_are_the_recommendations_with_links_under_4000_bytes() {
    let fixture = built();
    let xml = fixture.read("out/feed.xml");
    assert!(xml.contains("<description><![CDATA[<p>A short read of issue 9"), "HTML in CDATA");
    let item = &feed(&fixture).items[0];
    let notes = item.description.as_deref().unwrap();
    assert!(notes.len() < 4000, "{} bytes", notes.len());
    assert_eq!(item.content.as_deref(), Some(notes), "content:encoded carries the same notes");
    for (url, title) in [
        ("https://www.scmp.com/tech", "OpenAI’s Sora pours ‘cold water’ on China’s AI dreams"),
        ("https://asia.nikkei.com/", "TSMC founder Morris Chang predicts Japan &#39;chip renaissance&#39;"),
        ("https://nymag.com/intelligencer/", "&#39;They are very comfortable lying&#39;"),
    ] {
        assert!(notes.contains(&format!("<a href=\"{url}\">{title}")), "{title} links to {url}:\n{notes}");
    }
    assert_eq!(notes.matches("<li>").count(), 7, "every recommendation of issue 9");
    assert!(notes.ends_with(&format!("<a href=\"{BASE}/9/\">{BASE}/9/</a></p>")), "{notes}");
    assert!(!notes.contains("Empty"), "empty sections are left out");
}

#[test]
fn long_show_notes_are_cut_between_links_and_point_to_the_web_page() {
    let fixture = Fixture::reference();
    let mut extra = String::new();
    for n in 0..60 {
        extra.push_str(&format!(
            "\n[[sections.recommendations]]\ntitle = \"Another long headline about Asian technology number {n}\"\nurl = \"https://example.com/{n}\"\nsource = \"Example\"\ntake = \"Short.\"\n"
        ));
    }
    let text = fixture.read("issues/009.toml");
    fixture.write("issues/009.toml", &format!("{text}{extra}"));
    fixture.run(&["build", "9"]).success();
    let notes = feed(&fixture).items[0].description.clone().unwrap();
    assert!(notes.len() < 4000, "{} bytes", notes.len());
    assert!(notes.contains("more links in the full issue.</p>"), "{notes}");
    assert!(notes.ends_with(&format!("<a href=\"{BASE}/9/\">{BASE}/9/</a></p>")), "{notes}");
    assert_eq!(notes.matches("<li>").count(), notes.matches("</li>").count(), "no item is cut");
    assert_eq!(notes.matches("<ul>").count(), notes.matches("</ul>").count(), "no list is cut");
}

#[test]
fn item_guids_survive_rebuilds_renames_and_new_titles() {
    let fixture = built();
    let first = feed(&fixture).items[0].guid.clone().unwrap().value;
    fixture.run(&["build", "9"]).success();
    assert_eq!(feed(&fixture).items[0].guid.clone().unwrap().value, first, "rebuilding");

    std::fs::rename(fixture.path().join("issues/009.toml"), fixture.path().join("issues/009-sora.toml")).unwrap();
    fixture.edit("issues/009-sora.toml", "title = \"China AI dreams of Sora\"", "title = \"Sora and China's AI\"");
    fixture.edit("issues/009-sora.toml", "season = 1", "season = 1\ntitle = \"Episode 9: Sora\"");
    fixture.run(&["build", "9"]).success();
    let item = &feed(&fixture).items[0];
    assert_eq!(item.title.as_deref(), Some("Episode 9: Sora"));
    assert_eq!(item.guid.clone().unwrap().value, first, "renaming the file and re-titling the issue and episode");

    fixture.edit("issues/009-sora.toml", "season = 1", "season = 1\nguid = \"https://old-host.example/episodes/9\"");
    fixture.run(&["build", "9"]).success();
    assert_eq!(feed(&fixture).items[0].guid.clone().unwrap().value, "https://old-host.example/episodes/9");
}

#[test]
fn a_new_episode_shows_up_first_with_its_url_size_and_duration() {
    let fixture = built();
    add_issue_10(
        &fixture,
        "The tenth",
        "[episode]\naudio = \"https://cdn.example.com/twia/10.m4a\"\nlength = 48123456\nduration = \"1:02:03\"\nexplicit = true\n",
    );
    fixture.run(&["build", "10"]).success();
    let ch = feed(&fixture);
    let titles: Vec<&str> = ch.items.iter().filter_map(|i| i.title.as_deref()).collect();
    assert_eq!(titles, ["The tenth", "China AI dreams of Sora"], "newest first");
    let ten = &ch.items[0];
    let enclosure = ten.enclosure.as_ref().unwrap();
    assert_eq!(
        (enclosure.url.as_str(), enclosure.length.as_str(), enclosure.mime_type.as_str()),
        ("https://cdn.example.com/twia/10.m4a", "48123456", "audio/x-m4a")
    );
    let itunes = ten.itunes_ext.as_ref().unwrap();
    assert_eq!((itunes.duration.as_deref(), itunes.explicit.as_deref()), (Some("3723"), Some("true")));
    assert_eq!(ten.pub_date.as_deref(), Some("Fri, 8 Mar 2024 00:00:00 +0800"));
    assert_ne!(ten.guid, ch.items[1].guid);
    assert_eq!(ch.pub_date, ten.pub_date);

    let newsletter = Channel::read_from(fixture.read("out/newsletter.xml").as_bytes()).expect("RSS");
    let links: Vec<&str> = newsletter.items.iter().filter_map(|i| i.link.as_deref()).collect();
    assert_eq!(links, [format!("{BASE}/10/"), format!("{BASE}/9/")]);
}

#[test]
fn the_newsletter_feed_carries_every_issue_page() {
    let fixture = built();
    let ch = Channel::read_from(fixture.read("out/newsletter.xml").as_bytes()).expect("RSS");
    assert_eq!(ch.title, "This Week in Asia");
    assert_eq!(ch.link, format!("{BASE}/"));
    let atom = &ext(&ch.extensions, "atom", "link")[0];
    assert_eq!(attr(atom, "href"), format!("{BASE}/newsletter.xml"));
    let item = &ch.items[0];
    assert_eq!(item.title.as_deref(), Some("This Week in Asia #9: China AI dreams of Sora"));
    assert_eq!(item.link.as_deref(), Some(format!("{BASE}/9/").as_str()));
    let guid = item.guid.as_ref().unwrap();
    assert!(guid.permalink);
    assert_eq!(guid.value, format!("{BASE}/9/"));
    assert_eq!(item.pub_date.as_deref(), Some("Fri, 1 Mar 2024 00:00:00 +0800"));
    assert!(item.description.as_deref().unwrap().starts_with("Sora pours cold water"));
    let content = item.content.as_deref().unwrap();
    assert!(content.contains("<h2>Crypto &amp; Bad Boys in Asia</h2>"), "{content}");
    assert!(content.contains("activist shareholder Nelson Peltz"), "takes are in the feed");
    assert!(content.contains("<a href=\"https://asia.nikkei.com/\">"));
}

#[test]
fn without_a_podcast_there_is_no_podcast_feed() {
    let fixture = Fixture::reference();
    let text = fixture.read("publish.toml");
    let start = text.find("[podcast]").unwrap();
    let end = text.find("[social]").unwrap();
    fixture.write("publish.toml", &format!("{}{}", &text[..start], &text[end..]));
    fixture.write("issues/009.toml", &without_episode(&fixture.read("issues/009.toml")));
    fixture.run(&["build", "9"]).success();
    assert!(!fixture.path().join("out/feed.xml").exists());
    assert!(fixture.path().join("out/newsletter.xml").exists());
}

#[test]
fn the_reference_workspace_feed_is_checked_without_errors() {
    let run = Fixture::reference().run(&["check", "9"]).success();
    assert!(run.stderr().contains("no errors, 2 warnings"), "{}", run.stderr());
}

// ---------------------------------------------------------------------------
// `publish check`: every podcast rule, each at its file, line and column.

#[test]
fn a_wrong_category_names_the_closest_valid_one() {
    let fixture = Fixture::reference();
    fixture.edit("publish.toml", "\"Business > Entrepreneurship\"", "\"Business > Entrepeneurship\"");
    fixture.edit("publish.toml", "\"Technology\",", "\"Technolgy\",");
    let err =
        assert_error_at(&fixture, "publish.toml", "\"Technolgy\"", "\"Technolgy\" is not an Apple Podcasts category");
    assert!(err.contains("did you mean \"Technology\"?"), "{err}");
    assert!(err.contains("did you mean \"Business > Entrepreneurship\"?"), "{err}");
    let (line, col) = line_col(&fixture.read("publish.toml"), "\"Business > Entrepeneurship\"");
    assert!(err.contains(&format!("publish.toml:{line}:{col}: error")), "{err}");
}

#[test]
fn artwork_must_be_square_and_1400_to_3000_px() {
    let fixture = Fixture::reference();
    fixture.edit("publish.toml", "image = \"media/podcast-cover.png\"", "image = \"media/009-cover.png\"");
    let err = assert_error_at(
        &fixture,
        "publish.toml",
        "\"media/009-cover.png\"",
        "the artwork is 1200×630 px: podcast artwork must be square",
    );
    assert!(err.contains("square JPEG or PNG of 1400 to 3000 px"), "{err}");
    // A square picture that is too small, written by the test as a PNG header.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend(1000u32.to_be_bytes());
    png.extend(1000u32.to_be_bytes());
    png.extend([8, 2, 0, 0, 0]);
    std::fs::write(fixture.path().join("media/small.png"), png).unwrap();
    fixture.edit("publish.toml", "\"media/009-cover.png\"", "\"media/small.png\"");
    assert_error_at(
        &fixture,
        "publish.toml",
        "\"media/small.png\"",
        "the artwork is 1000×1000 px: Apple Podcasts needs 1400 to 3000 px on a side",
    );
}

#[test]
fn podcast_urls_must_be_https() {
    let fixture = Fixture::reference();
    fixture.edit(
        "publish.toml",
        "url = \"https://www.analyse.asia/\"\nlabel",
        "url = \"http://www.analyse.asia/\"\nlabel",
    );
    assert_error_at(
        &fixture,
        "publish.toml",
        "\"http://www.analyse.asia/\"",
        "not an https address: podcast apps require https",
    );
    fixture.edit("publish.toml", "base_url = \"https://", "base_url = \"http://");
    assert_error_at(
        &fixture,
        "publish.toml",
        "\"http://www.analyse.asia/this-week-in-asia\"",
        "the podcast's feed and audio are published under base_url, which must be https",
    );
}

#[test]
fn required_podcast_keys_and_typos_are_errors() {
    let fixture = Fixture::reference();
    fixture.edit("publish.toml", "author = \"Analyse Asia\"", "autor = \"Analyse Asia\"");
    let err = assert_error_at(&fixture, "publish.toml", "autor", "unknown key \"autor\"");
    assert!(err.contains("did you mean \"author\"?"), "{err}");

    let fixture = Fixture::reference();
    fixture.edit("publish.toml", "email = \"hello@analyse.asia\"", "email = \"hello at analyse.asia\"");
    assert_error_at(
        &fixture,
        "publish.toml",
        "\"hello at analyse.asia\"",
        "\"hello at analyse.asia\" is not an email address",
    );

    let fixture = Fixture::reference();
    fixture.edit("publish.toml", "type = \"episodic\"", "type = \"serail\"");
    let err = assert_error_at(&fixture, "publish.toml", "\"serail\"", "unknown podcast type \"serail\"");
    assert!(err.contains("did you mean \"serial\"?"), "{err}");

    let fixture = Fixture::reference();
    fixture.edit("publish.toml", "locked = true", "locked = true\nguid = \"not-a-uuid\"");
    assert_error_at(&fixture, "publish.toml", "\"not-a-uuid\"", "\"not-a-uuid\" is not a UUID");
}

#[test]
fn episode_audio_must_exist_and_be_audio() {
    let fixture = Fixture::reference();
    fixture.edit("issues/009.toml", "audio = \"media/009.mp3\"", "audio = \"media/missing.mp3\"");
    assert_error_at(&fixture, "issues/009.toml", "\"media/missing.mp3\"", "media/missing.mp3 does not exist");

    fixture.edit("issues/009.toml", "\"media/missing.mp3\"", "\"media/009-cover.png\"");
    assert_error_at(
        &fixture,
        "issues/009.toml",
        "audio = |\"media/009-cover.png\"",
        "media/009-cover.png is not an MP3 or M4A file\n",
    );
    fixture.run(&["build", "9"]).failure(1);
    assert!(!fixture.path().join("out").exists(), "nothing is written");
}

#[test]
fn episode_audio_urls_need_https_size_duration_and_a_known_type() {
    let fixture = Fixture::reference();
    fixture.edit("issues/009.toml", "audio = \"media/009.mp3\"", "audio = \"http://cdn.example.com/9.mp3\"");
    assert_error_at(
        &fixture,
        "issues/009.toml",
        "\"http://cdn.example.com/9.mp3\"",
        "podcast apps require https:// URLs",
    );
    fixture.edit("issues/009.toml", "\"http://cdn.example.com/9.mp3\"", "\"https://cdn.example.com/9\"");
    let err = assert_error_at(
        &fixture,
        "issues/009.toml",
        "\"https://cdn.example.com/9\"",
        "the audio is a URL, so its size must be given",
    );
    assert!(err.contains("so its duration must be given"), "{err}");
    assert!(err.contains("the URL does not end in .mp3 or .m4a, so its type is unknown"), "{err}");
    fixture.edit(
        "issues/009.toml",
        "\"https://cdn.example.com/9\"",
        "\"https://cdn.example.com/9\"\nlength = 1000\nduration = \"1:75:00\"\ntype = \"audio/mp3\"",
    );
    let err = assert_error_at(&fixture, "issues/009.toml", "\"audio/mp3\"", "\"audio/mp3\" is not an enclosure type");
    assert!(err.contains("did you mean \"audio/mpeg\"?"), "{err}");
    assert_error_at(&fixture, "issues/009.toml", "\"1:75:00\"", "\"1:75:00\" has 75 in the minutes or seconds");
}

#[test]
fn episode_type_typos_get_the_nearest_type() {
    let fixture = Fixture::reference();
    fixture.edit("issues/009.toml", "season = 1", "season = 1\nepisode_type = \"bonsu\"");
    let err = assert_error_at(&fixture, "issues/009.toml", "\"bonsu\"", "unknown episode type \"bonsu\"");
    assert!(err.contains("did you mean \"bonus\"?"), "{err}");
}

#[test]
fn chapters_json_errors_point_into_the_json_file() {
    let fixture = Fixture::reference();
    fixture.edit("media/009-chapters.json", "\"startTime\": 2.2,", "\"startTime\": 2.2");
    let run = fixture.run(&["check"]).failure(1);
    let (line, _) = line_col(&fixture.read("media/009-chapters.json"), "\"startTime\": 2.2 ");
    assert!(
        run.stderr().contains(&format!("media/009-chapters.json:{line}:")) && run.stderr().contains("invalid JSON"),
        "{}",
        run.stderr()
    );

    let fixture = Fixture::reference();
    fixture.edit("media/009-chapters.json", "\"startTime\": 4,", "\"startTime\": 40,");
    assert_error_at(
        &fixture,
        "issues/009.toml",
        "\"media/009-chapters.json\"",
        "media/009-chapters.json: chapter 3 (\"Every link is in the newsletter\") starts at 40 s, after the audio ends (6 s)",
    );
}

#[test]
fn transcript_errors_point_at_their_cue() {
    let fixture = Fixture::reference();
    fixture.edit("media/009.vtt", "00:02.200 --> 00:03.700", "00:02.200 --> 00:01.700");
    assert_error_at(&fixture, "media/009.vtt", "00:02.200 --> 00:01.700", "the cue ends before it starts");

    let fixture = Fixture::reference();
    fixture.write("media/009.txt", "Hello.\n");
    fixture.edit("issues/009.toml", "transcript = \"media/009.vtt\"", "transcript = \"media/009.txt\"");
    assert_error_at(
        &fixture,
        "issues/009.toml",
        "\"media/009.txt\"",
        "a transcript must be a SubRip (.srt) or WebVTT (.vtt) file",
    );
}

/// An SRT transcript as Windows tools save it (a UTF-8 byte order mark, CRLF
/// line ends) is read cue by cue: it is in the feed as captions and its cues
/// are on the episode's page (its BOM made the first cue's number unreadable,
/// so the build stopped with "expected the cue's number" at 1:1).
#[test]
fn an_srt_transcript_with_a_byte_order_mark_and_crlf_is_published() {
    let fixture = Fixture::reference();
    let srt = "\u{feff}1\r\n00:00:00,000 --> 00:00:01,900\r\nThis Week in Asia, issue nine.\r\n\r\n\
               2\r\n00:00:02,200 --> 00:00:03,700\r\nChina AI dreams of Sora.\r\n\r\n";
    fixture.write("media/009.srt", srt);
    fixture.edit("issues/009.toml", "transcript = \"media/009.vtt\"", "transcript = \"media/009.srt\"");
    fixture.run(&["check", "9"]).success();
    fixture.run(&["build", "9"]).success();
    let item = &feed(&fixture).items[0];
    let transcript = &ext(&item.extensions, "podcast", "transcript")[0];
    assert_eq!(attr(transcript, "type"), "application/x-subrip");
    assert_eq!(attr(transcript, "url"), format!("{BASE}/media/009.srt"));
    assert_eq!(std::fs::read_to_string(fixture.path().join("out/media/009.srt")).unwrap(), srt, "published as written");
    let page = fixture.read("out/9/index.html");
    assert!(page.contains("0:02</span>China AI dreams of Sora."), "the cues are on the page");
}

#[test]
fn two_episodes_cannot_share_a_guid_or_an_audio_file() {
    let fixture = Fixture::reference();
    add_issue_10(&fixture, "The tenth", "[episode]\naudio = \"media/009.mp3\"\n");
    let err = assert_error_at(
        &fixture,
        "issues/010.toml",
        "\"media/009.mp3\"",
        "issue 9's episode has the same audio (media/009.mp3)",
    );
    assert!(err.contains("each episode needs its own audio file"), "{err}");
    fixture.run(&["build", "10"]).failure(1);

    let fixture = Fixture::reference();
    std::fs::copy(fixture.path().join("media/009.mp3"), fixture.path().join("media/010.mp3")).unwrap();
    fixture.edit("issues/009.toml", "season = 1", "season = 1\nguid = \"twia-episode\"");
    add_issue_10(&fixture, "The tenth", "[episode]\naudio = \"media/010.mp3\"\nguid = \"twia-episode\"\n");
    assert_error_at(
        &fixture,
        "issues/010.toml",
        "\"twia-episode\"",
        "the episode's GUID \"twia-episode\" is also issue 9's",
    );
}

#[test]
fn an_episode_needs_a_podcast() {
    let fixture = Fixture::reference();
    let text = fixture.read("publish.toml");
    let start = text.find("[podcast]").unwrap();
    let end = text.find("[social]").unwrap();
    fixture.write("publish.toml", &format!("{}{}", &text[..start], &text[end..]));
    assert_error_at(&fixture, "issues/009.toml", "[episode]", "this issue has an episode, but there is no podcast");
}

#[test]
fn a_local_length_or_duration_is_ignored_with_a_warning() {
    let fixture = Fixture::reference();
    fixture.edit("issues/009.toml", "audio = \"media/009.mp3\"", "audio = \"media/009.mp3\"\nlength = 5");
    let run = fixture.run(&["check", "9"]).success();
    let (line, col) = line_col(&fixture.read("issues/009.toml"), "5\nsummary");
    assert!(
        run.stderr().contains(&format!(
            "issues/009.toml:{line}:{col}: warning: `length` is ignored: it is read from media/009.mp3"
        )),
        "{}",
        run.stderr()
    );
    fixture.run(&["build", "9"]).success();
    let mp3 = std::fs::metadata(repo().join("media/009.mp3")).unwrap().len();
    assert_eq!(feed(&fixture).items[0].enclosure.as_ref().unwrap().length, mp3.to_string());
}

// ---------------------------------------------------------------------------
// A real podcast client's parser: gPodder's podcastparser, from the venv that
// scripts/test installs (MASTHEAD_PYTHON).

#[test]
fn podcastparser_reads_every_episode_enclosure_and_duration() {
    let python = python();
    let fixture = built();
    add_issue_10(
        &fixture,
        "The tenth",
        "[episode]\naudio = \"https://cdn.example.com/twia/10.m4a\"\nlength = 48123456\nduration = \"1:02:03\"\n",
    );
    std::fs::copy(repo().join("tests/fixtures/media/tone.m4a"), fixture.path().join("media/011.m4a")).unwrap();
    let eleven =
        fixture.read("issues/010.toml").replace("The tenth", "The eleventh").replace("2024-03-08", "2024-03-15");
    let eleven = without_episode(&eleven.replace("[episode]\naudio", "\n[episode]\naudio"));
    fixture.write("issues/011.toml", &format!("{eleven}\n[episode]\naudio = \"media/011.m4a\"\nnumber = 11\n"));
    fixture.run(&["build", "11"]).success();

    let out = std::process::Command::new(&python)
        .arg(repo().join("tests/fixtures/python/podcastparser_dump.py"))
        .arg(format!("{BASE}/feed.xml"))
        .arg(fixture.path().join("out/feed.xml"))
        .output()
        .expect("run MASTHEAD_PYTHON");
    assert!(out.status.success(), "podcastparser failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON from the script");

    assert_eq!(parsed["title"], "This Week in Asia");
    assert_eq!(parsed["link"], format!("{BASE}/"));
    assert_eq!(parsed["cover_url"], format!("{BASE}/media/podcast-cover.png"));
    assert_eq!(parsed["itunes_author"], "Analyse Asia");
    assert_eq!(parsed["itunes_owner"]["email"], "hello@analyse.asia");
    assert_eq!(parsed["itunes_categories"][1], serde_json::json!(["Business", "Entrepreneurship"]));
    assert_eq!(parsed["type"], "episodic");

    let ours = feed(&fixture);
    let episodes = parsed["episodes"].as_array().expect("episodes");
    let mp3 = std::fs::metadata(repo().join("media/009.mp3")).unwrap().len();
    let m4a = std::fs::metadata(repo().join("tests/fixtures/media/tone.m4a")).unwrap().len();
    // (title, enclosure URL, size, type, seconds, published, episode number), newest first.
    let want = [
        ("The eleventh", format!("{BASE}/media/011.m4a"), m4a, "audio/x-m4a", 2, 1_710_432_000, 11),
        (
            "The tenth",
            "https://cdn.example.com/twia/10.m4a".to_string(),
            48_123_456,
            "audio/x-m4a",
            3723,
            1_709_827_200,
            10,
        ),
        ("China AI dreams of Sora", format!("{BASE}/media/009.mp3"), mp3, "audio/mpeg", 6, 1_709_222_400, 9),
    ];
    assert_eq!(episodes.len(), want.len(), "{parsed:#}");
    for ((episode, item), (title, url, size, mime, seconds, published, number)) in
        episodes.iter().zip(&ours.items).zip(want)
    {
        assert_eq!(episode["title"], title);
        assert_eq!(episode["guid"], item.guid.as_ref().unwrap().value.as_str(), "{title}");
        assert_eq!(episode["total_time"], seconds, "{title}");
        assert_eq!(episode["published"], published, "{title}");
        assert_eq!(episode["number"], number, "{title}");
        assert_eq!(episode["link"], format!("{BASE}/{number}/"), "{title}");
        assert_eq!(
            episode["enclosures"],
            serde_json::json!([{ "url": url, "file_size": size, "mime_type": mime }]),
            "{title}"
        );
        let notes = episode["description_html"].as_str().unwrap_or_default();
        assert!(notes.contains(&format!("<a href=\"{BASE}/{number}/\">")), "{title}: show notes link to the page");
    }
    // podcastparser 0.6 knows the Podcasting 2.0 namespace only by its GitHub URL, not by
    // https://podcastindex.org/namespace/1.0 which the spec names first, so it does not see
    // podcast:transcript or podcast:chapters here; the rss crate reads them back above.
}

/// Whether `url` holds only what RFC 3986 lets a URL hold, every `%` starting an escape.
fn is_uri(url: &str) -> bool {
    let bytes = url.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| match b {
        b'%' => bytes.get(i + 1..i + 3).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)),
        _ => b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&b),
    })
}

#[test]
fn media_files_with_any_name_get_valid_percent_encoded_urls_that_find_them() {
    let fixture = Fixture::reference();
    let audio = "media/Episode 9 – Sora #1 (50%).mp3";
    let cover = "media/封面 图.png";
    let artwork = "media/Show art + logo; v=2.png";
    let episode_art = "media/Épisode 9 art.png";
    let chapters = "media/Chapters? & notes 9.json";
    let transcript = "media/Транскрипт #9 100%20.vtt";
    for (from, to) in [
        ("media/009.mp3", audio),
        ("media/009-cover.png", cover),
        ("media/podcast-cover.png", artwork),
        ("media/podcast-cover.png", episode_art),
        ("media/009-chapters.json", chapters),
        ("media/009.vtt", transcript),
    ] {
        std::fs::copy(fixture.path().join(from), fixture.path().join(to)).unwrap();
    }
    fixture.edit("publish.toml", "image = \"media/podcast-cover.png\"", &format!("image = \"{artwork}\""));
    for (old, new) in [
        ("src = \"media/009-cover.png\"".to_string(), format!("src = \"./{cover}\"")),
        ("audio = \"media/009.mp3\"".to_string(), format!("audio = \"{audio}\"\nimage = \"{episode_art}\"")),
        ("chapters = \"media/009-chapters.json\"".to_string(), format!("chapters = \"{chapters}\"")),
        ("transcript = \"media/009.vtt\"".to_string(), format!("transcript = \"{transcript}\"")),
    ] {
        fixture.edit("issues/009.toml", &old, &new);
    }
    fixture.run(&["build", "9"]).success();

    let script = repo().join("tests/fixtures/python/published_urls.py");
    let out = std::process::Command::new(python())
        .arg(&script)
        .arg(BASE)
        .arg(fixture.path().join("out"))
        .arg("9")
        .output()
        .expect("run the Python of MASTHEAD_PYTHON");
    assert!(out.status.success(), "{} failed:\n{}", script.display(), String::from_utf8_lossy(&out.stderr));
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON from the script");
    let found = found.as_array().expect("a list");

    // Where a reader finds a URL of a workspace file, and which file it must be.
    let want = [
        ("feed cover (podcastparser)", artwork),
        ("feed enclosure (podcastparser)", audio),
        ("feed episode art (podcastparser)", episode_art),
        ("feed <image><url>", artwork),
        ("feed channel itunes:image", artwork),
        ("feed item itunes:image", episode_art),
        ("feed podcast:chapters", chapters),
        ("feed podcast:transcript", transcript),
        ("email.html img", cover),
        ("index.html og:image", cover),
        ("index.html img", cover),
        ("newsletter.xml img", cover),
    ];
    let places: Vec<&str> = found.iter().filter_map(|f| f["where"].as_str()).collect();
    assert_eq!(places, want.map(|(place, _)| place), "{found:#?}");
    for (f, (place, file)) in found.iter().zip(want) {
        let url = f["url"].as_str().unwrap_or_default();
        assert!(is_uri(url), "{place}: {url:?} is not a valid URL");
        assert_eq!(url::Url::parse(url).map(String::from).as_deref(), Ok(url), "{place}: {url:?}");
        assert_eq!(f["path"], file, "{place}: {url} read back with urllib.parse.unquote");
        let published = fixture.path().join("out").join(file);
        assert!(published.is_file(), "{place}: out/{file} is published under its own name");
        let sha = format!("{:x}", Sha256::digest(std::fs::read(fixture.path().join(file)).unwrap()));
        assert_eq!(f["sha256"], sha, "{place}: a static server given {url} answers with {file}");
    }
}

#[test]
fn media_outside_the_workspace_is_refused_by_check() {
    let fixture = Fixture::reference();
    fixture.edit("issues/009.toml", "src = \"media/009-cover.png\"", "src = \"media/../../outside.png\"");
    let err = assert_error_at(
        &fixture,
        "issues/009.toml",
        "\"media/../../outside.png\"",
        "a media file must be inside the workspace, written as a relative path like media/009.mp3",
    );
    assert!(err.contains("write a file under media/ or an https:// URL"), "{err}");
    fixture.run(&["build", "9"]).failure(1);
    assert!(!fixture.path().join("out").exists(), "nothing is written");
}

// Issue 21: the Podcasting 2.0 tags directories read, chapters written in the issue,
// the enclosure prefix, and the episode on the web.

const TXT: &str = "appleverify-7f3e9a";
const PODROLL_GUID: &str = "917393e3-1b1e-5cef-ace4-edaa54e1f810";
const PODROLL_URL: &str = "https://mp3s.nashownotes.com/pc20rss.xml";
const NEW_FEED_URL: &str = "https://feeds.example.com/this-week-in-asia.xml";
const PREFIX: &str = "https://op3.dev/e,pg=6d3a1c2e-0b5e-5d0e-9c1a-2f4b8e7d6a51/";
const SOCIAL_URI: &str = "https://mastodon.social/@analyseasia/112233";

/// The reference publication with every new channel setting, and issue 9 with its
/// chapters written in the issue, a soundbite, a low-bitrate copy, a post and a place.
fn with_every_tag() -> Fixture {
    let fixture = Fixture::reference();
    fixture.edit(
        "publish.toml",
        "locked = true\n",
        &format!(
            "locked = true\nmedium = \"podcast\"\nrhythm = \"FREQ=WEEKLY;BYDAY=FR\"\nlicense = \"CC-BY-4.0\"\n\
             new_feed_url = \"{NEW_FEED_URL}\"\nblock = true\ncomplete = true\nenclosure_prefix = \"{PREFIX}\"\n\n\
             [[podcast.txt]]\nvalue = \"{TXT}\"\npurpose = \"applepodcastsverify\"\n\n\
             [[podcast.podroll]]\nfeed_guid = \"{PODROLL_GUID}\"\nfeed_url = \"{PODROLL_URL}\"\n\n\
             [[podcast.images]]\nhref = \"media/podcast-cover.png\"\npurpose = \"social\"\nalt = \"The cover\"\nwidth = 1400\n"
        ),
    );
    std::fs::copy(repo().join("tests/fixtures/media/tone.mp3"), fixture.path().join("media/009-low.mp3")).unwrap();
    fixture.edit("issues/009.toml", "chapters = \"media/009-chapters.json\"\n", "");
    fixture.edit(
        "issues/009.toml",
        "transcript = \"media/009.vtt\"\n",
        &format!(
            "transcript = \"media/009.vtt\"\n\n[[episode.chapters]]\nstart = \"0:00\"\ntitle = \"Welcome\"\n\n\
             [[episode.chapters]]\nstart = \"0:02\"\nrecommendation = \"AI/1\"\n\n\
             [[episode.chapters]]\nstart = 4.5\nrecommendation = \"Crypto & Bad Boys in Asia/1\"\ntitle = \"The bad boys\"\n\n\
             [[episode.soundbites]]\nstart = 1\nduration = 3\ntitle = \"Cold water\"\n\n\
             [[episode.alternate]]\naudio = \"media/009-low.mp3\"\ntitle = \"Low bandwidth\"\n\n\
             [[episode.social]]\nuri = \"{SOCIAL_URI}\"\naccount_id = \"@analyseasia@mastodon.social\"\n\n\
             [episode.location]\nname = \"Singapore\"\ngeo = \"geo:1.29,103.85\"\n\n"
        ),
    );
    fixture
}

/// (title, url) of recommendation `n` (from 1) of section `name` in issue 9, read from the file.
fn recommendation(fixture: &Fixture, name: &str, n: usize) -> (String, String) {
    let issue: toml::Value = toml::from_str(&fixture.read("issues/009.toml")).unwrap();
    let section = issue["sections"].as_array().unwrap().iter().find(|s| s["name"].as_str() == Some(name)).unwrap();
    let rec = &section["recommendations"][n - 1];
    (rec["title"].as_str().unwrap().to_string(), rec["url"].as_str().unwrap().to_string())
}

fn size(fixture: &Fixture, rel: &str) -> u64 {
    std::fs::metadata(fixture.path().join(rel)).unwrap().len()
}

#[test]
fn every_new_podcast_tag_is_read_back_by_feedparser_podcastparser_and_feedsmith() {
    let fixture = with_every_tag();
    fixture.run(&["check"]).success();
    fixture.run(&["build", "9"]).success();
    let feed_xml = fixture.path().join("out/feed.xml");
    let chapters = fixture.path().join("out/9/chapters.json");
    let schema = repo().join("tests/fixtures/podcast/chapters.schema.json");

    // Python: feedparser (attributes) and gPodder's podcastparser (enclosures).
    let out = std::process::Command::new(python())
        .arg(repo().join("tests/fixtures/python/feed_readers.py"))
        .args([&feed_xml, &chapters, &schema])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let py: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (ch, item) = (&py["feedparser"]["feed"], &py["feedparser"]["item"]);
    assert_eq!(ch["podcast_txt"]["purpose"], "applepodcastsverify");
    assert_eq!(ch["podcast_medium"], "podcast");
    assert_eq!(ch["podcast_updatefrequency"]["rrule"], "FREQ=WEEKLY;BYDAY=FR");
    assert_eq!(ch["podcast_license"], "CC-BY-4.0");
    assert_eq!(ch["podcast_remoteitem"]["feedguid"], PODROLL_GUID);
    assert_eq!(ch["podcast_remoteitem"]["feedurl"], PODROLL_URL);
    assert_eq!(ch["podcast_image"]["purpose"], "social");
    assert_eq!(ch["podcast_image"]["href"], format!("{BASE}/media/podcast-cover.png"));
    assert_eq!(ch["itunes_new-feed-url"], NEW_FEED_URL);
    assert_eq!(ch["itunes_block"], 1);
    assert_eq!(item["podcast_socialinteract"]["uri"], SOCIAL_URI);
    assert_eq!(item["podcast_socialinteract"]["protocol"], "activitypub", "a Mastodon post speaks ActivityPub");
    assert_eq!(item["podcast_location"]["geo"], "geo:1.29,103.85");
    assert_eq!(item["podcast_soundbite"]["starttime"], "1");
    assert_eq!(item["podcast_soundbite"]["duration"], "3");
    assert_eq!(item["podcast_source"]["uri"], format!("{PREFIX}{BASE}/media/009-low.mp3"));
    assert_eq!(item["podcast_chapters"]["url"], format!("{BASE}/9/chapters.json"), "never behind the prefix");
    assert_eq!(py["schema_errors"], serde_json::json!([]), "the chapters file breaks the chapters schema");

    let episode = &py["podcastparser"][0];
    let enclosure = &episode["enclosures"][0];
    assert_eq!(enclosure["url"], format!("{PREFIX}{BASE}/media/009.mp3"), "the enclosure goes through the prefix");
    assert_eq!(enclosure["file_size"], size(&fixture, "out/media/009.mp3"), "length is the published file's size");

    // Node: feedsmith, a reader of the whole podcast namespace.
    let modules = node_modules(&["feedsmith"]);
    let out = std::process::Command::new("node")
        .arg(repo().join("tests/browser/feedsmith.mjs"))
        .args([&feed_xml, &chapters])
        .env("MASTHEAD_NODE_MODULES", &modules)
        .output()
        .expect("node must be installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let js: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = &js["podcast"];
    assert_eq!(js["format"], "rss");
    assert_eq!(p["txts"][0]["display"], TXT);
    assert_eq!(p["txts"][0]["purpose"], "applepodcastsverify");
    assert_eq!(p["medium"], "podcast");
    assert_eq!(p["updateFrequency"]["rrule"], "FREQ=WEEKLY;BYDAY=FR");
    assert_eq!(p["updateFrequency"]["display"], "Weekly");
    assert_eq!(p["license"]["display"], "CC-BY-4.0");
    assert_eq!(p["podroll"]["remoteItems"][0]["feedGuid"], PODROLL_GUID);
    assert_eq!(p["images"][0]["alt"], "The cover");
    assert_eq!(p["images"][0]["width"], 1400);
    assert_eq!(js["itunes"]["newFeedUrl"], NEW_FEED_URL);
    assert_eq!(js["itunes"]["block"], true);
    assert_eq!(js["itunes"]["complete"], true);
    let i = &js["items"][0]["podcast"];
    assert_eq!(i["soundbites"][0]["display"], "Cold water");
    assert_eq!(i["locations"][0]["display"], "Singapore");
    assert_eq!(i["socialInteracts"][0]["accountId"], "@analyseasia@mastodon.social");
    let alt = &i["alternateEnclosures"][0];
    let low = size(&fixture, "out/media/009-low.mp3");
    assert_eq!((alt["type"].as_str(), alt["length"].as_u64()), (Some("audio/mpeg"), Some(low)));
    assert_eq!(alt["title"], "Low bandwidth");
    // The copy is one second long (tests/fixtures/media/tone.mp3): its bitrate is its size over that.
    let bitrate = alt["bitrate"].as_f64().unwrap();
    assert!((bitrate - low as f64 * 8.0).abs() < 1.0, "bitrate {bitrate} for {low} bytes in 1 s");

    // The chapters: the issue's recommendations' titles and links, in order.
    let (sora, sora_url) = recommendation(&fixture, "AI", 1);
    let (_, crypto_url) = recommendation(&fixture, "Crypto & Bad Boys in Asia", 1);
    let list = js["chapters"]["chapters"].as_array().unwrap();
    let got: Vec<(f64, &str, Option<&str>)> = list
        .iter()
        .map(|c| (c["startTime"].as_f64().unwrap(), c["title"].as_str().unwrap(), c["url"].as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (0.0, "Welcome", None),
            (2.0, sora.as_str(), Some(sora_url.as_str())),
            (4.5, "The bad boys", Some(crypto_url.as_str()))
        ]
    );
    // The email links the same recommendation's URL the chapter does.
    assert!(fixture.read("out/9/email.html").contains(&sora_url));
}

#[test]
fn a_chapters_file_still_wins_and_the_reference_feed_has_no_prefix() {
    let fixture = built();
    let ch = feed(&fixture);
    let item = &ch.items[0];
    let chapters = &ext(&item.extensions, "podcast", "chapters")[0];
    assert_eq!(attr(chapters, "url"), format!("{BASE}/media/009-chapters.json"));
    assert!(!std::path::Path::new(&fixture.path().join("out/9/chapters.json")).exists());
    assert_eq!(item.enclosure.as_ref().unwrap().url, format!("{BASE}/media/009.mp3"));
}

#[test]
fn written_chapter_mistakes_are_errors_at_their_key() {
    let fixture = with_every_tag();
    fixture.edit("issues/009.toml", "recommendation = \"AI/1\"", "recommendation = \"AI/7\"");
    assert_error_at(
        &fixture,
        "issues/009.toml",
        "recommendation = |\"AI/7\"",
        "section \"AI\" has recommendations 1 to",
    );

    let fixture = with_every_tag();
    fixture.edit("issues/009.toml", "recommendation = \"AI/1\"", "recommendation = \"Ai/1\"");
    let err =
        assert_error_at(&fixture, "issues/009.toml", "recommendation = |\"Ai/1\"", "this issue has no section \"Ai\"");
    assert!(err.contains("did you mean \"AI\"?"), "{err}");

    let fixture = with_every_tag();
    fixture.edit("issues/009.toml", "start = \"0:02\"", "start = \"0:00\"");
    assert_error_at(
        &fixture,
        "issues/009.toml",
        "start = |\"0:00\"\nrecommendation",
        "chapter 2 starts at 0:00, not after",
    );

    let fixture = with_every_tag();
    fixture.edit("issues/009.toml", "start = 4.5", "start = \"1:30\"");
    assert_error_at(&fixture, "issues/009.toml", "start = |\"1:30\"", "chapter 3 starts at 1:30, after the audio ends");

    let fixture = with_every_tag();
    fixture.edit("issues/009.toml", "title = \"Welcome\"", "titel = \"Welcome\"");
    let err = fixture.run(&["check"]).failure(1).stderr();
    assert!(err.contains("chapter 1: unknown field `titel`"), "{err}");
}

#[test]
fn new_podcast_tag_values_are_checked() {
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        (
            "publish.toml",
            "medium = \"podcast\"",
            "medium = \"podcsat\"",
            "medium = |\"podcsat\"",
            "\"podcsat\" is not a podcast:medium",
        ),
        (
            "publish.toml",
            "rhythm = \"FREQ=WEEKLY;BYDAY=FR\"",
            "rhythm = \"FREQ=WEEKLY;BYDAY=XX\"",
            "rhythm = |\"FREQ",
            "the rhythm \"FREQ=WEEKLY;BYDAY=XX\" is not a schedule: BYDAY=XX is not a valid value",
        ),
        (
            "publish.toml",
            "rhythm = \"FREQ=WEEKLY;BYDAY=FR\"",
            "rhythm = \"every friday\"",
            "rhythm = |\"every",
            "the rhythm \"every friday\" is not a schedule",
        ),
        (
            "publish.toml",
            "license = \"CC-BY-4.0\"",
            "license = \"My licence\"",
            "license = |\"My",
            "\"My licence\" is not an SPDX licence identifier",
        ),
        (
            "publish.toml",
            "enclosure_prefix = \"https://op3",
            "enclosure_prefix = \"http://op3",
            "enclosure_prefix = |\"http",
            "the enclosure prefix is not an https prefix",
        ),
        (
            "publish.toml",
            "feed_guid = \"917393e3",
            "feed_guid = \"x917393e3",
            "feed_guid = |\"x9",
            "\"x917393e3-1b1e-5cef-ace4-edaa54e1f810\" is not a podcast:guid",
        ),
        (
            "publish.toml",
            "new_feed_url = \"https://",
            "new_feed_url = \"http://",
            "new_feed_url = |\"http",
            "not an https address",
        ),
        (
            "issues/009.toml",
            "duration = 3",
            "duration = 30",
            "duration = |30",
            "the soundbite runs to 0:31, after the audio ends",
        ),
        (
            "issues/009.toml",
            "uri = \"https://mastodon",
            "protocol = \"activitypb\"\nuri = \"https://mastodon",
            "protocol = |\"activitypb\"",
            "\"activitypb\" is not a podcast:socialInteract protocol",
        ),
        (
            "issues/009.toml",
            "geo = \"geo:1.29,103.85\"",
            "geo = \"1.29,103.85\"",
            "geo = |\"1.29",
            "\"1.29,103.85\" is not a geo: URI",
        ),
        (
            "issues/009.toml",
            "audio = \"media/009-low.mp3\"",
            "audio = \"media/009-cover.png\"",
            "audio = |\"media/009-cover.png\"",
            "media/009-cover.png is not an MP3 or M4A file",
        ),
    ];
    for (file, old, new, at, message) in cases {
        let fixture = with_every_tag();
        fixture.edit(file, old, new);
        assert_error_at(&fixture, file, at, message);
    }
    // podcast:txt holds at most 4,000 characters.
    let fixture = with_every_tag();
    fixture.edit("publish.toml", TXT, &"x".repeat(4001));
    assert_error_at(
        &fixture,
        "publish.toml",
        "value = |\"xxx",
        "podcast:txt holds 1 to 4,000 characters; this one has 4001",
    );
    let fixture = with_every_tag();
    fixture.edit("publish.toml", TXT, &"x".repeat(4000));
    fixture.run(&["check"]).success();
}

#[test]
fn the_archive_marks_the_issues_with_an_episode() {
    let fixture = built();
    add_issue_10(&fixture, "No episode this week", "");
    fixture.run(&["build", "10"]).success();
    let archive = fixture.read("out/index.html");
    let entry = |n: u32| {
        let start = archive.find(&format!("#{n} &middot;")).unwrap();
        archive[start..].split("</li>").next().unwrap().to_string()
    };
    assert!(entry(9).contains("class=\"episode\""), "{}", entry(9));
    assert!(!entry(10).contains("class=\"episode\""), "{}", entry(10));
    assert!(!fixture.read("out/10/index.html").contains("<audio"));
}

#[test]
fn the_episode_page_plays_in_chromium_and_a_chapter_click_seeks() {
    let modules = node_modules(&["playwright-core"]);
    let fixture = with_every_tag();
    fixture.run(&["build", "9"]).success();
    let output = std::process::Command::new("node")
        .arg(repo().join("tests/browser/episode.mjs"))
        .arg(fixture.path().join("out/9/index.html"))
        .env("MASTHEAD_NODE_MODULES", &modules)
        .output()
        .expect("node must be installed to run the browser test");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the browser test failed:\n{stderr}");
    let got: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(got["controls"], true);
    assert!(got["duration"].as_f64().unwrap() > 0.0, "Chromium read no duration: {got}");
    assert_eq!(got["chapter_buttons"], 3, "every chapter jumps the player");
    let (start, now) = (got["last_start"].as_f64().unwrap(), got["current_time"].as_f64().unwrap());
    assert_eq!(start, 4.5);
    assert!((now - start).abs() < 1.0, "the click moved currentTime to {now}, not {start}");
    assert_eq!(got["transcript_in_details"], 1);
    let cues = fixture.read("media/009.vtt").matches("-->").count();
    assert_eq!(got["transcript_cues"].as_u64().unwrap() as usize, cues);
    // Link previews: the cover, and JSON-LD for the issue and the episode.
    assert_eq!(got["og_image"], format!("{BASE}/media/009-cover.png"));
    let graph = got["json_ld"]["@graph"].as_array().unwrap();
    let types: Vec<&str> = graph.iter().map(|g| g["@type"].as_str().unwrap()).collect();
    assert_eq!(types, ["NewsArticle", "PodcastEpisode"]);
    assert_eq!(graph[1]["associatedMedia"]["contentUrl"], format!("{BASE}/media/009.mp3"), "the player is not counted");
    // Scripts off: a player with controls and a plain list.
    let plain = &got["no_script"];
    assert_eq!(
        (plain["controls"].as_u64(), plain["buttons"].as_u64(), plain["chapters"].as_u64()),
        (Some(1), Some(0), Some(3))
    );
    assert_eq!(plain["src"], "../media/009.mp3");
    assert_eq!(plain["download"], "../media/009.mp3");
}

/// Issue 10's item in `out/feed.xml`: (enclosure length, type, itunes:duration).
fn episode_10(fixture: &Fixture) -> (String, String, String) {
    let ch = feed(fixture);
    let ten = ch.items.iter().find(|i| i.title.as_deref() == Some("The tenth")).expect("issue 10 in the feed");
    let enclosure = ten.enclosure.as_ref().unwrap();
    let duration = ten.itunes_ext.as_ref().and_then(|i| i.duration.clone()).unwrap_or_default();
    (enclosure.length.clone(), enclosure.mime_type.clone(), duration)
}

/// `.publish/audio-facts.json`'s entry for `media/010.mp3`.
fn cached_facts(fixture: &Fixture) -> (serde_json::Value, String) {
    let cache: serde_json::Value =
        serde_json::from_str(&fixture.read(".publish/audio-facts.json")).expect("the cache is JSON");
    let key = fixture.path().join("media/010.mp3").to_string_lossy().into_owned();
    (cache, key)
}

#[test]
fn audio_facts_are_cached_by_path_size_and_mtime_and_an_edited_file_is_probed_again() {
    let fixture = Fixture::reference();
    std::fs::copy(repo().join("tests/fixtures/media/tone.mp3"), fixture.path().join("media/010.mp3")).unwrap();
    add_issue_10(&fixture, "The tenth", "[episode]\naudio = \"media/010.mp3\"\n");
    fixture.run(&["build", "10"]).success();
    assert_eq!(episode_10(&fixture), ("6480".into(), "audio/mpeg".into(), "1".into()));

    // The first build kept what it measured, by path, size and modification time.
    let (mut cache, key) = cached_facts(&fixture);
    let entry = &cache["audio"][&key];
    let meta = std::fs::metadata(fixture.path().join("media/010.mp3")).unwrap();
    assert_eq!(entry["size"], 6480);
    let mtime = meta.modified().unwrap().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    assert_eq!(entry["mtime_ns"].as_u64().map(u128::from), Some(mtime));
    assert!((entry["seconds"].as_f64().unwrap() - 1.0).abs() < 1e-6, "{entry}");
    assert_eq!(entry["mime"], "audio/mpeg");
    assert!(cache["audio"].as_object().unwrap().keys().any(|k| k.ends_with("media/009.mp3")), "{cache}");

    // While the file keeps its size and time, a rebuild takes the cache's word
    // for it without opening the file: a duration only the cache says shows up.
    // (The issues and feed items the build kept go, so that the feed is written anew.)
    cache["audio"][&key]["seconds"] = serde_json::json!(4321.0);
    fixture.write(".publish/audio-facts.json", &cache.to_string());
    for kept in ["issues.bin", "feed-items.bin"] {
        std::fs::remove_file(fixture.path().join(".publish").join(kept)).unwrap();
    }
    fixture.run(&["build", "10"]).success();
    assert_eq!(episode_10(&fixture).2, "4321");

    // The same bytes with a new modification time: probed again.
    let file = std::fs::File::options().write(true).open(fixture.path().join("media/010.mp3")).unwrap();
    file.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5)).unwrap();
    drop(file);
    fixture.run(&["build", "10"]).success();
    assert_eq!(episode_10(&fixture).2, "1");
    let (cache, key) = cached_facts(&fixture);
    assert!((cache["audio"][&key]["seconds"].as_f64().unwrap() - 1.0).abs() < 1e-6, "the cache is corrected");

    // Another recording in the same place (a new size): its own facts.
    std::fs::copy(repo().join("tests/fixtures/media/tone.m4a"), fixture.path().join("media/010.mp3")).unwrap();
    fixture.run(&["build", "10"]).success();
    assert_eq!(episode_10(&fixture), ("2997".into(), "audio/x-m4a".into(), "2".into()));
    let (cache, key) = cached_facts(&fixture);
    assert_eq!(cache["audio"][&key]["size"], 2997);

    // A damaged cache is no error: the build measures again and writes a good one.
    fixture.write(".publish/audio-facts.json", "{\"format\": 1, \"audio\": [trunc");
    fixture.run(&["build", "10"]).success();
    assert_eq!(episode_10(&fixture).2, "2");
    let (cache, key) = cached_facts(&fixture);
    assert_eq!(cache["audio"][&key]["size"], 2997);
}
