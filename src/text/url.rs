//! URLs: which ones readers can follow, and the public URL of a published file.

/// Accepts only absolute http(s) URLs with a host.
pub fn check_web_url(text: &str) -> Result<url::Url, String> {
    if text.contains(char::is_whitespace) {
        return Err("it contains a space or line break".into());
    }
    let url = url::Url::parse(text).map_err(|e| e.to_string())?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(url),
        "http" | "https" => Err("it has no host".into()),
        other => Err(format!("the scheme \"{other}\" is not http or https")),
    }
}

/// What a path segment of a published file's URL keeps as it is: RFC 3986's unreserved
/// characters. Everything else is percent-encoded, including what a URL may hold
/// unencoded (`+`, `;`, `=`, `(`): static hosts disagree on those (S3 reads a `+` in
/// a path as a space), and never on `%2B`.
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The public URL of a workspace file published at the same path under `base`:
/// `media/Episode 9 – Sora.mp3` under `https://www.analyse.asia/this-week-in-asia` is
/// `https://www.analyse.asia/this-week-in-asia/media/Episode%209%20%E2%80%93%20Sora.mp3`.
/// Each segment of `rel` (a relative path with `/` between segments) is percent-encoded
/// as UTF-8, so the URL is valid and a server that decodes it finds the file by its name.
/// The base's query and fragment, if any, are dropped.
pub fn file_url(base: &url::Url, rel: &str) -> url::Url {
    let segments: Vec<String> =
        rel.split('/').map(|s| percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()).collect();
    let mut url = base.clone();
    url.set_path(&format!("{}/{}", base.path().trim_end_matches('/'), segments.join("/")));
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// An absolute http(s) URL or a mailto: address.
pub fn is_followable(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:"))
        && (lower.starts_with("mailto:") || check_web_url(url).is_ok())
}

/// The first character of `url` that an email header cannot carry as it is
/// (`List-Unsubscribe` holds `<URL>`, ASCII only): a non-ASCII letter, a quote,
/// `<`, `>`, a backtick, a brace, `|`, `\\` or `^`. `None` when it has none.
pub fn unfit_for_headers(url: &str) -> Option<char> {
    url.chars().find(|&c| !c.is_ascii_graphic() || "\"<>`{}|\\^".contains(c))
}

/// `url` written so that autolinkers (twitter-text, which X and Mastodon follow, and
/// mail clients' plain-text linkers) link all of it: its path, query and fragment
/// percent-encoded when they hold what those stop at (a non-ASCII letter, a quote, a
/// space, `<`, `>`, a backtick, a brace), its scheme and host as written. A URL that
/// holds none of these, or does not parse, is returned as it is.
pub fn linkable(url: &str) -> String {
    let Some(host_at) = url.find("://").map(|i| i + 3) else { return url.to_string() };
    let Some(tail_at) = url[host_at..].find(['/', '?', '#']).map(|i| host_at + i) else { return url.to_string() };
    let stops = |c: char| !c.is_ascii_graphic() || "\"<>`{}".contains(c);
    if !url[tail_at..].contains(stops) {
        return url.to_string();
    }
    match url::Url::parse(url) {
        Ok(parsed) => format!("{}{}", &url[..tail_at], &parsed[url::Position::BeforePath..]),
        Err(_) => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_for_headers_are_ascii_without_quotes_or_angle_brackets() {
        assert_eq!(unfit_for_headers("https://www.analyse.asia/this-week-in-asia"), None);
        assert_eq!(unfit_for_headers("https://www.analyse.asia/%E6%9C%AC"), None);
        assert_eq!(unfit_for_headers("https://www.analyse.asia/本周"), Some('本'));
        assert_eq!(unfit_for_headers("https://例え.jp"), Some('例'));
        assert_eq!(unfit_for_headers("https://a.example/x>y"), Some('>'));
    }

    #[test]
    fn linkable_urls_encode_what_autolinkers_stop_at_and_keep_the_rest() {
        assert_eq!(
            linkable("https://例え.jp/検索?q=\"芯片\"&x='y'#章"),
            "https://例え.jp/%E6%A4%9C%E7%B4%A2?q=%22%E8%8A%AF%E7%89%87%22&x=%27y%27#%E7%AB%A0"
        );
        for kept in [
            "https://www.scmp.com/tech",
            "https://x.com",
            "https://例え.jp",
            "https://a.example/%E6?q=1&b=2",
            "mailto:a@b.example",
        ] {
            assert_eq!(linkable(kept), kept);
        }
    }

    #[test]
    fn file_urls_encode_each_segment_under_the_base_path() {
        let base = |text: &str| url::Url::parse(text).unwrap();
        let twia = base("https://www.analyse.asia/this-week-in-asia");
        assert_eq!(
            file_url(&twia, "media/009.mp3").as_str(),
            "https://www.analyse.asia/this-week-in-asia/media/009.mp3",
            "plain names are kept as they are"
        );
        assert_eq!(
            file_url(&twia, "media/Episode 9 – Sora #1 (50%).mp3").as_str(),
            "https://www.analyse.asia/this-week-in-asia/media/Episode%209%20%E2%80%93%20Sora%20%231%20%2850%25%29.mp3"
        );
        assert_eq!(
            file_url(&base("https://example.com/"), "media/封面 图.png").as_str(),
            "https://example.com/media/%E5%B0%81%E9%9D%A2%20%E5%9B%BE.png"
        );
        assert_eq!(
            file_url(&base("https://example.com/n/?utm=x#top"), "a+b?c=d&e;f/x.vtt").as_str(),
            "https://example.com/n/a%2Bb%3Fc%3Dd%26e%3Bf/x.vtt",
            "the base's trailing slash, query and fragment go; every reserved character is encoded"
        );
        for name in ["Episode 9 – Sora #1 (50%).mp3", "封面 图.png", "a+b?c=d&e;f.vtt", "%2F..%.json"] {
            let url = file_url(&twia, &format!("media/{name}"));
            let last = url.path_segments().and_then(|mut s| s.next_back()).unwrap();
            assert_eq!(percent_encoding::percent_decode_str(last).decode_utf8().unwrap(), name, "{url}");
            assert_eq!(url::Url::parse(url.as_str()).unwrap(), url, "{url} reads back as itself");
        }
    }

    #[test]
    fn web_urls() {
        assert!(check_web_url("https://example.com/a").is_ok());
        assert!(check_web_url("javascript:alert(1)").is_err());
        assert!(check_web_url("example.com").is_err());
        assert!(check_web_url("https://exa mple.com").is_err());
    }
}
