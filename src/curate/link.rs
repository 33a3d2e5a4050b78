//! When two links are the same article: the key `publish add` compares links by.

use url::Url;

/// Query parameters that only say where a click came from.
fn is_tracking(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("utm_") || matches!(name.as_str(), "fbclid" | "gclid" | "ref")
}

/// `url` reduced to what names the article: http and https are one, the host's case,
/// a trailing slash, tracking parameters (`utm_*`, `fbclid`, `gclid`, `ref`) and a
/// fragment (unless it is a `#/` or `#!` route) do not count.
pub fn link_key(url: &str) -> String {
    let Ok(parsed) = Url::parse(url.trim()) else {
        return url.trim().to_string();
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return parsed.to_string();
    }
    let mut key = parsed.host_str().unwrap_or_default().to_string();
    if let Some(port) = parsed.port() {
        key.push_str(&format!(":{port}"));
    }
    key.push_str(parsed.path().trim_end_matches('/'));
    let query: Vec<&str> = parsed
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty() && !is_tracking(pair.split('=').next().unwrap_or_default()))
        .collect();
    if !query.is_empty() {
        key.push('?');
        key.push_str(&query.join("&"));
    }
    if let Some(fragment) = parsed.fragment().filter(|f| f.starts_with(['/', '!'])) {
        key.push('#');
        key.push_str(fragment);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_of_one_link_have_one_key() {
        let key = link_key("https://www.example.com/2023/06/story/");
        for same in [
            "http://www.example.com/2023/06/story",
            "https://WWW.Example.COM/2023/06/story/",
            "https://www.example.com/2023/06/story?utm_source=newsletter&utm_medium=email",
            "https://www.example.com/2023/06/story/?fbclid=abc&gclid=def&ref=upstract.com",
            "https://www.example.com:443/2023/06/story#comments",
            " https://www.example.com/2023/06/story ",
        ] {
            assert_eq!(link_key(same), key, "{same}");
        }
    }

    #[test]
    fn different_articles_keep_different_keys() {
        let key = link_key("https://example.com/story?id=1");
        for other in [
            "https://example.com/story?id=2",
            "https://example.com/Story?id=1",
            "https://example.org/story?id=1",
            "https://example.com/story?id=1&page=2",
        ] {
            assert_ne!(link_key(other), key, "{other}");
        }
        assert_eq!(link_key("https://example.com/story?utm_source=x&id=1"), key, "only tracking goes");
        assert_ne!(link_key("https://example.com/#/a"), link_key("https://example.com/#/b"));
    }
}
