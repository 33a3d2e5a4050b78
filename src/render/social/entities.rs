//! The parts of a post that platforms count or link differently from plain
//! text: URLs, `@mentions` and `#hashtags`, found as byte ranges.
//!
//! The rules follow twitter-text (`js/src/regexp/*.js` and
//! `js/src/extract/extractUrlsWithIndices.js` in twitter/twitter-text), which X
//! uses to count and Mastodon uses (through its Ruby port) to find the URLs and
//! mentions it discounts. Only what a post of ours can hold is covered: http(s)
//! URLs, URLs without a protocol (X finds `example.com` and `OX.Fun` as links),
//! Mastodon's `@user@domain` mentions and hashtags.
//!
//! A link twitter-text may not take whole (an IDN such as
//! `https://例え.jp/検索/深圳?q=芯片`, where it stops at the first CJK
//! character of the path, or a host whose top-level domain it may not know) is
//! one of [`uncertain_links`]: [`super::count`] counts it every plausible way.

use std::ops::Range;

use psl::Psl;

/// A URL with a protocol: `http://` or `https://`, a host with a dot, then
/// everything up to a space, with trailing punctuation left out ("see
/// https://a.example/x." ends before the full stop).
pub fn urls(text: &str) -> Vec<Range<usize>> {
    let lower = text.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = lower[from..].find("http") {
        let start = from + offset;
        let scheme = ["https://", "http://"].into_iter().find(|s| lower[start..].starts_with(s));
        let Some(scheme) = scheme else {
            from = start + 4;
            continue;
        };
        // twitter-text's `validUrlPrecedingChars`: anything but ASCII letters and digits, `@`, `$` and `#`.
        let preceded_ok =
            text[..start].chars().next_back().is_none_or(|c| !(c.is_ascii_alphanumeric() || "@＠$#＃".contains(c)));
        let body = start + scheme.len();
        let end = body + idn_url_len(&text[body..]).unwrap_or_else(|| url_body_len(&text[body..]));
        if preceded_ok && valid_host(host_of(&text[body..end])) {
            found.push(start..end);
            from = end;
        } else {
            from = body;
        }
    }
    found
}

/// Every URL X counts as 23: [`urls`] and, as npm twitter-text 3.1.0 extracts
/// them, domains without a protocol (`analyse.asia`, `OX.Fun/x`, and a bare
/// two-letter country domain such as `01.ai`, which its Ruby and Java ports
/// and its older JavaScript leave out: see [`is_short_country_domain`]).
pub fn x_urls(text: &str) -> Vec<Range<usize>> {
    let mut found = urls(text);
    let mut at = 0;
    while at < text.len() {
        let c = text[at..].chars().next().expect("at is a char boundary");
        let covered = found.iter().find(|r| r.contains(&at)).map(|r| r.end);
        if let Some(end) = covered {
            at = end;
            continue;
        }
        if is_domain_char(c) && preceded_ok_without_protocol(&text[..at]) {
            // twitter-text takes a leading accented letter for the character
            // before the domain when the rest is one: `example.com` of `éexample.com`.
            let after = at + c.len_utf8();
            let url = (!c.is_ascii())
                .then(|| domain_url_at(text, after).map(|end| after..end))
                .flatten()
                .or_else(|| domain_url_at(text, at).map(|end| at..end));
            if let Some(url) = url {
                at = url.end;
                found.push(url);
                continue;
            }
            // Skip the rest of this run of domain characters: a URL never starts inside a word.
            at += text[at..].find(|c: char| !is_domain_char(c) && c != '.').unwrap_or(text.len() - at);
            continue;
        }
        at += c.len_utf8();
    }
    found.sort_by_key(|r| r.start);
    found
}

/// What a reader takes for a link: `http(s)://` up to the next space, less
/// the punctuation that ends a sentence around it. Holds [`urls`] and more: the
/// CJK path of `https://例え.jp/検索`, but not the `」` of `https://a.example/x」`.
pub fn link_spans(text: &str) -> Vec<Range<usize>> {
    let lower = text.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = lower[from..].find("http") {
        let start = from + offset;
        let Some(scheme) = ["https://", "http://"].into_iter().find(|s| lower[start..].starts_with(s)) else {
            from = start + 4;
            continue;
        };
        let body = start + scheme.len();
        let run = text[body..].find(char::is_whitespace).unwrap_or(text.len() - body);
        let len = trim_trailing_punctuation(&text[body..body + run]);
        if len > 0 {
            found.push(start..body + len);
        }
        from = body + run;
    }
    found
}

/// The links of a Bluesky post, as its link facets hold them: each URL of
/// [`urls`], taken on to the next space or non-ASCII punctuation, as a reader
/// (and Bluesky's own link detection) takes it. It holds the CJK path of
/// `https://例え.jp/検索`, where twitter-text's rules stop, but not the `，`
/// or `」` after a link.
pub fn bluesky_links(text: &str) -> Vec<Range<usize>> {
    let mut found: Vec<Range<usize>> = Vec::new();
    for url in urls(text) {
        if found.last().is_some_and(|last| url.start < last.end) {
            continue;
        }
        let run = text[url.end..]
            .find(|c: char| c.is_whitespace() || (!c.is_ascii() && is_punctuation(c)))
            .unwrap_or(text.len() - url.end);
        let body = url.start + text[url.start..].find("://").map_or(0, |at| at + 3);
        let end = body + trim_trailing_punctuation(&text[body..url.end + run]);
        found.push(url.start..end.max(url.end));
    }
    found
}

/// The [`link_spans`] that `found` (the links a platform finds, from [`urls`] or
/// [`x_urls`]) does not hold exactly, or whose top-level domain is not one
/// twitter-text surely knows: how a platform counts these is uncertain.
pub fn uncertain_links(text: &str, found: &[Range<usize>]) -> Vec<Range<usize>> {
    link_spans(text)
        .into_iter()
        .filter(|span| {
            let body = text[span.clone()].split_once("://").map_or("", |(_, b)| b);
            let tld = host_of(body).rsplit('.').next().unwrap_or("");
            !found.contains(span) || !is_tld(tld)
        })
        .collect()
}

/// A Mastodon mention: `@user` or `@user@domain` (Mastodon's `Account::MENTION_RE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    /// The whole mention, `@` included.
    pub range: Range<usize>,
    /// Where `@user` ends: Mastodon counts a mention as its `@user` part only.
    pub user_end: usize,
}

/// Every `@user` and `@user@domain` in `text`.
pub fn mentions(text: &str) -> Vec<Mention> {
    let mut found = Vec::new();
    for (at, c) in text.char_indices() {
        if c != '@' || found.iter().any(|m: &Mention| m.range.contains(&at)) {
            continue;
        }
        if text[..at].chars().next_back().is_some_and(|p| is_word_char(p) || p == '=' || p == '/' || p == '@') {
            continue;
        }
        let user = dotted_run(&text[at + 1..], |c| c.is_ascii_alphanumeric() || c == '_');
        if user == 0 {
            continue;
        }
        let user_end = at + 1 + user;
        let mut end = user_end;
        if text[end..].starts_with('@') {
            let domain = dotted_run(&text[end + 1..], is_word_char);
            if domain > 0 && text[end + 1..end + 1 + domain].contains('.') {
                end += 1 + domain;
            }
        }
        found.push(Mention { range: at..end, user_end });
    }
    found
}

/// Every `#tag`: a `#` at the start or after a space or punctuation, then letters,
/// digits, marks or `_`, not digits only; trailing punctuation is not part of it.
pub fn hashtags(text: &str) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    for (at, c) in text.char_indices() {
        if c != '#' && c != '＃' {
            continue;
        }
        if text[..at].chars().next_back().is_some_and(|p| is_word_char(p) || p == '&' || p == '#') {
            continue;
        }
        let body = at + c.len_utf8();
        let len = text[body..]
            .char_indices()
            .find(|&(_, c)| !(is_word_char(c) || is_mark(c) || c == '\u{200C}' || c == '\u{200D}'))
            .map_or(text.len() - body, |(i, _)| i);
        let tag = &text[body..body + len];
        if !tag.is_empty() && !tag.chars().all(|c| c.is_numeric()) {
            found.push(at..body + len);
        }
    }
    found
}

/// Letters, digits and `_`, in any script.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Combining marks (so that `#café` in NFD is one tag).
fn is_mark(c: char) -> bool {
    use icu_properties::props::{GeneralCategory, GeneralCategoryGroup};
    GeneralCategoryGroup::Mark.contains(icu_properties::CodePointMapData::<GeneralCategory>::new().get(c))
}

/// The length of `[A-Za-z0-9_]+([.-]+[A-Za-z0-9_]+)*` (with `word` as the
/// inner class) at the start of `text`.
fn dotted_run(text: &str, word: impl Fn(char) -> bool) -> usize {
    let mut word_end = 0;
    for (i, c) in text.char_indices() {
        if word(c) {
            word_end = i + c.len_utf8();
        } else if !(c == '.' || c == '-') || word_end == 0 {
            break;
        }
    }
    word_end
}

/// Characters twitter-text allows in a URL's path and query, plus the Latin
/// accents and Cyrillic it allows there.
fn is_url_char(c: char) -> bool {
    (c.is_ascii_graphic() && !matches!(c, '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '}'))
        || (!c.is_ascii() && is_domain_char(c))
        || ('\u{0400}'..='\u{04FF}').contains(&c)
}

/// How much of `text` (what follows `https://`) belongs to the URL.
fn url_body_len(text: &str) -> usize {
    let end = text.find(|c: char| !is_url_char(c)).unwrap_or(text.len());
    trim_trailing_punctuation(&text[..end])
}

/// How much of `text` (what follows `https://`) twitter-text takes for a URL
/// whose host holds letters beyond ASCII (`例え.jp`): the host, up to a
/// top-level domain it knows (`jp` of `例え.jp検索`), then a port and a path
/// of ASCII, Latin and Cyrillic characters (it stops at `検` of `/検索`).
/// `None` when the host is plain ASCII or has no such top-level domain.
fn idn_url_len(text: &str) -> Option<usize> {
    let host_end = text.find(|c: char| !(is_host_char(c) || c == '.')).unwrap_or(text.len());
    let host = &text[..host_end];
    if host.is_ascii() {
        return None;
    }
    // The last dot after which a top-level domain starts: the letters the label
    // starts with, followed by anything but an ASCII letter, a digit, `@`, `+` or `-`.
    let end = host.match_indices('.').rev().find_map(|(dot, _)| {
        let label = &host[dot + 1..];
        let letters = label.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(label.len());
        let after = label[letters..].chars().next();
        let labels = &host[..dot];
        let bounded = !after.is_some_and(|c| c.is_ascii_alphanumeric() || "@+-".contains(c));
        (letters > 0 && bounded && is_tld(&label[..letters]) && !labels.split('.').any(str::is_empty))
            .then_some(dot + 1 + letters)
    })?;
    let rest = &text[end..];
    let more = if rest.starts_with([':', '/', '?', '#']) { url_body_len(rest) } else { 0 };
    Some(end + more)
}

/// A character of a host name as twitter-text reads one: anything but
/// punctuation (`-` and `_` aside), spaces and its invalid and directional characters.
fn is_host_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '-' || c == '_';
    }
    !(c.is_whitespace()
        || is_punctuation(c)
        || matches!(c, '\u{FFFE}' | '\u{FEFF}' | '\u{FFFF}' | '\u{061C}' | '\u{200E}' | '\u{200F}')
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c))
}

/// Unicode punctuation (`。`, `」`, `…`).
fn is_punctuation(c: char) -> bool {
    use icu_properties::props::{GeneralCategory, GeneralCategoryGroup};
    GeneralCategoryGroup::Punctuation.contains(icu_properties::CodePointMapData::<GeneralCategory>::new().get(c))
}

/// The length of `body` without the punctuation that ends a sentence after a
/// link: `.`, `,`, `!`, an unbalanced `)` or `]`, and any non-ASCII punctuation.
fn trim_trailing_punctuation(body: &str) -> usize {
    let mut body = body;
    while let Some(last) = body.chars().next_back() {
        let unbalanced = |open: char, close: char| body.matches(close).count() > body.matches(open).count();
        let strip = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '*' => true,
            ')' => unbalanced('(', ')'),
            ']' => unbalanced('[', ']'),
            c => !c.is_ascii() && is_punctuation(c),
        };
        if !strip {
            break;
        }
        body = &body[..body.len() - last.len_utf8()];
    }
    body.len()
}

/// The host of a URL body (`user@host:port/path` → `host`).
fn host_of(body: &str) -> &str {
    let authority = &body[..body.find(['/', '?', '#']).unwrap_or(body.len())];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host.split_once(':').map_or(host, |(h, _)| h)
}

/// A host name with at least two labels, none empty or longer than 63 bytes
/// (twitter-text rejects longer labels: its conformance case "Handle a 64
/// character domain without protocol").
fn valid_host(host: &str) -> bool {
    host.contains('.') && host.split('.').all(|label| !label.is_empty() && label.len() <= 63)
}

/// A letter, digit or hyphen of a domain label (twitter-text's
/// `validAsciiDomain`: ASCII and its `latinAccentChars`, combining accents included).
fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || c == '-'
        || matches!(c,
            '\u{00C0}'..='\u{00D6}' | '\u{00D8}'..='\u{00F6}' | '\u{00F8}'..='\u{024F}' | '\u{0253}' | '\u{0254}'
            | '\u{0256}' | '\u{0257}' | '\u{0259}' | '\u{025B}' | '\u{0263}' | '\u{0268}' | '\u{026F}' | '\u{0272}'
            | '\u{0289}' | '\u{028B}' | '\u{02BB}' | '\u{0300}'..='\u{036F}' | '\u{1E00}'..='\u{1EFF}')
}

/// twitter-text's `validUrlPrecedingChars` and `invalidUrlWithoutProtocolPrecedingChars`,
/// as they apply to a domain inside a run of other letters: twitter-text takes
/// `example.com` out of `漢example.com` and `jpexample.com` out of `例え.jpexample.com`.
fn preceded_ok_without_protocol(before: &str) -> bool {
    let mut chars = before.chars().rev();
    let Some(c) = chars.next() else { return true };
    if matches!(c, '-' | '_' | '.' | '/') {
        return chars.next().is_some_and(|p| !p.is_ascii() && is_host_char(p) && !is_domain_char(p));
    }
    !(c.is_ascii_alphanumeric() || "@＠$#＃".contains(c) || is_domain_char(c))
}

/// A URL without a protocol starting at `start`: labels separated by dots, the
/// last one a top-level domain, then an optional port and path; its end.
fn domain_url_at(text: &str, start: usize) -> Option<usize> {
    let rest = &text[start..];
    // The labels: runs of domain characters separated by single dots.
    let mut labels: Vec<Range<usize>> = Vec::new();
    let mut at = 0;
    loop {
        let len = rest[at..].find(|c: char| !is_domain_char(c)).unwrap_or(rest.len() - at);
        if len == 0 {
            break;
        }
        labels.push(at..at + len);
        at += len;
        if rest[at..].starts_with('.') {
            at += 1;
        } else {
            break;
        }
    }
    // The longest run of labels that ends in a top-level domain not followed by a letter, digit or `@`.
    // A top-level domain may end before accented letters: `com` of `example.comé`.
    for label in labels.iter_mut().skip(1) {
        let letters = rest[label.clone()].find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(label.len());
        if letters > 0 && letters < label.len() && is_tld(&rest[label.start..label.start + letters]) {
            label.end = label.start + letters;
        }
    }
    let last = (1..labels.len()).rev().find(|&i| {
        let after = rest[labels[i].end..].chars().next();
        is_tld(&rest[labels[i].clone()]) && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '@')
    })?;
    if labels[..=last].iter().any(|l| l.len() > 63 || l.is_empty()) {
        return None;
    }
    let mut end = labels[last].end;
    if rest[end..].starts_with(':') {
        let digits = rest[end + 1..].find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len() - end - 1);
        if digits > 0 {
            end += 1 + digits;
        }
    }
    let has_path = rest[end..].starts_with('/');
    if has_path {
        end += url_body_len(&rest[end..]);
    }
    Some(start + end)
}

/// A URL without a protocol that is one label and a two-letter country code,
/// without a path (`01.ai`, not `t.co`, `x.tv`, `01.ai/x` or `a.b.ai`): npm
/// twitter-text 3.1.0 counts it as a link, its other ports (`invalidShortDomain`
/// and `validSpecialShortDomain`) as text.
pub fn is_short_country_domain(url: &str) -> bool {
    let Some((label, tld)) = url.split_once('.') else { return false };
    let country = tld.len() == 2 && tld.bytes().all(|b| b.is_ascii_alphabetic());
    country && !label.is_empty() && !label.contains(['/', ':']) && !matches!(&*tld.to_ascii_lowercase(), "co" | "tv")
}

/// A top-level domain in the Public Suffix List's ICANN section, or punycode.
fn is_tld(label: &str) -> bool {
    let label = label.to_ascii_lowercase();
    if label.starts_with("xn--") {
        return label.len() > 4;
    }
    if !label.bytes().all(|b| b.is_ascii_lowercase()) {
        return false;
    }
    psl::List.suffix(label.as_bytes()).is_some_and(|s| s.is_known() && s.as_bytes() == label.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(text: &'a str, ranges: &[Range<usize>]) -> Vec<&'a str> {
        ranges.iter().map(|r| &text[r.clone()]).collect()
    }

    #[test]
    fn urls_with_a_protocol_end_before_trailing_punctuation() {
        let text = "See https://a.example/x?y=1. Or (http://b.example/wiki/Foo_(bar)), not ftp://c.example or xhttps://d.example";
        assert_eq!(texts(text, &urls(text)), ["https://a.example/x?y=1", "http://b.example/wiki/Foo_(bar)"]);
        assert!(urls("https://localhost/ and https:// alone").is_empty());
        let cjk = "看这个https://a.example/路径";
        assert_eq!(texts(cjk, &urls(cjk)), ["https://a.example/"]);
    }

    #[test]
    fn x_finds_domains_without_a_protocol_as_twitter_text_does() {
        let text =
            "ventures such as OPNX and OX.Fun, Lee Kai-Fu's 01.ai, t.co, foo.co.jp, 01.ai/x, node.zzz and e.g. this";
        assert_eq!(texts(text, &x_urls(text)), ["OX.Fun", "01.ai", "t.co", "foo.co.jp", "01.ai/x"]);
        let short: Vec<_> = x_urls(text).into_iter().filter(|r| is_short_country_domain(&text[r.clone()])).collect();
        assert_eq!(texts(text, &short), ["01.ai"]);
        let long = format!("{}.com", "randomurl".repeat(7) + "s");
        assert!(x_urls(&long).is_empty(), "a 64-character label is not a domain");
        let mixed = "https://a.example/x and example.com/path?q=1 too";
        assert_eq!(texts(mixed, &x_urls(mixed)), ["https://a.example/x", "example.com/path?q=1"]);
    }

    #[test]
    fn idn_urls_end_where_twitter_text_ends_them() {
        let text = "See https://例え.jp/検索/深圳?q=芯片 and https://例え.jp検索, https://例え.テスト/x";
        assert_eq!(texts(text, &urls(text)), ["https://例え.jp/", "https://例え.jp"]);
        let spans = link_spans(text);
        assert_eq!(
            texts(text, &spans),
            ["https://例え.jp/検索/深圳?q=芯片", "https://例え.jp検索", "https://例え.テスト/x"]
        );
        assert_eq!(uncertain_links(text, &urls(text)), spans, "none is taken whole");
        let plain = "See https://example.com/a, (https://example.com/b) and https://example.zzz/c.";
        assert_eq!(texts(plain, &uncertain_links(plain, &urls(plain))), ["https://example.zzz/c"]);
    }

    #[test]
    fn bluesky_links_hold_a_cjk_path_whole_and_stop_at_cjk_punctuation() {
        let text = "See https://例え.jp/検索/深圳?q=芯片，看https://例え.jp/パス」 and (https://example.com/a). https://b.example/c";
        assert_eq!(
            texts(text, &bluesky_links(text)),
            [
                "https://例え.jp/検索/深圳?q=芯片",
                "https://例え.jp/パス",
                "https://example.com/a",
                "https://b.example/c"
            ]
        );
        // What twitter-text's rules take is never cut shorter.
        let ascii = "https://example.com/a?b=c&d=e#f";
        assert_eq!(bluesky_links(ascii), urls(ascii));
    }

    #[test]
    fn a_domain_inside_other_letters_is_found_as_twitter_text_finds_it() {
        for (text, url) in [
            ("漢example.com", "example.com"),
            ("例え.jpexample.com", "jpexample.com"),
            ("éexample.com", "example.com"),
            ("example.comé", "example.com"),
            ("z\u{337}a\u{334}example.com", "z\u{337}a\u{334}example.com"),
        ] {
            assert_eq!(texts(text, &x_urls(text)), [url], "{text}");
        }
        assert!(x_urls("aexample.com").len() == 1 && x_urls("a.example.com/").len() == 1);
        assert!(x_urls("_example.com").is_empty() && x_urls("@example.com").is_empty());
    }

    #[test]
    fn mentions_keep_their_user_part() {
        let text = "Follow @analyseasia@mastodon.social and @bob, not me@example.com";
        let found = mentions(text);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(&text[found[0].range.clone()], "@analyseasia@mastodon.social");
        assert_eq!(&text[found[0].range.start..found[0].user_end], "@analyseasia");
        assert_eq!(&text[found[1].range.clone()], "@bob");
    }

    #[test]
    fn hashtags_are_words_after_a_hash() {
        let text = "#Asia #Tech, #人工智能 and #2024 but not a#b; #ok.";
        assert_eq!(texts(text, &hashtags(text)), ["#Asia", "#Tech", "#人工智能", "#ok"]);
    }
}
