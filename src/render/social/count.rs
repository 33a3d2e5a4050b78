//! How long a post is, counted so that it fits its platform under every
//! plausible way of counting: each platform's length is the largest of the
//! counts below, and [`super::fit`] cuts until that largest one fits.
//!
//! - **X**: twitter-text v3 (`config/v3.json` and `js/src/parseTweet.js` in
//!   twitter/twitter-text), counted twice and the larger taken:
//!   1. as npm `twitter-text` 3.1.0 counts (what X publishes): NFC; every URL
//!      it finds counts `transformedURLLength` 23; every emoji its
//!      twemoji-parser 11.0.2 knows (the regex in `twemoji.regex`) counts
//!      `defaultWeight` 2; any other code point counts 1 in the light ranges
//!      U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F, U+2032–U+2037 and 2
//!      elsewhere (CJK, "…"). An emoji newer than its data (❤️‍🔥, 🧑‍🧑‍🧒) so
//!      counts per code point: ❤️ 2, the ZWJ 1, 🔥 2;
//!   2. with current emoji data: every grapheme cluster that is an emoji (a
//!      flag, a keycap, a pictograph with VS16, a skin tone, a ZWJ or tags)
//!      counts 2.
//!
//!   The limit is `maxWeightedTweetLength` 280.
//! - **Bluesky**: the `app.bsky.feed.post` lexicon
//!   (`lexicons/app/bsky/feed/post.json` in bluesky-social/atproto): `text` has
//!   `maxGraphemes` 300 and `maxLength` 3000 (UTF-8 bytes). Links are not
//!   shortened by the server: what the text holds is what counts. Grapheme
//!   clusters are counted by Unicode's current rules and by those before
//!   Unicode 15.1 (a segmenter such as npm `graphemer` does not join Indic
//!   conjuncts: क्ष is 2 there), and the larger taken.
//! - **Mastodon**: `app/validators/status_length_validator.rb` in
//!   mastodon/mastodon counts 500 grapheme clusters, after every http(s) URL
//!   is replaced by 23 characters and every `@user@domain` by `@user`; its web
//!   composer counts with JavaScript, where code points or UTF-16 code units
//!   are as plausible. The largest of the three is UTF-16 code units, of the
//!   text with the same replacements.
//! - **Threads**: the Threads API's "Limitations" (developers.facebook.com,
//!   Threads Posts): 500 characters, "emojis are counted as the number of
//!   UTF-8 bytes"; at most 5 links, "all unique URLs found in the text field".
//!   Characters are code points, an emoji cluster (or any cluster holding a
//!   pictograph) its UTF-8 bytes; UTF-16 code units, as a JavaScript client
//!   counts, are as plausible, and the larger taken.
//! - **LinkedIn**: 3,000 characters (the Posts API's `commentary`). LinkedIn
//!   does not say how it counts; we count UTF-16 code units, which is what its
//!   JavaScript composer measures and never fewer than code points or graphemes.
//!
//! Links on X and Mastodon: a URL twitter-text finds counts 23; on X a bare
//! two-letter country domain (`01.ai`), a link to npm twitter-text 3.1.0 but
//! text to its other ports, is counted both ways, the larger taken. One it may not
//! take whole ([`entities::uncertain_links`]: `https://例え.jp/検索/深圳?q=芯片`,
//! of which it takes `https://例え.jp/` and counts `検索/深圳?q=芯片` as text) is
//! counted three ways, the largest taken: as twitter-text reads it, as plain
//! text, and as one whole link of 23.
//!
//! Emoji are recognised with Unicode's emoji properties (ICU4X data).

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::LazyLock;

use icu_properties::props::{
    Emoji, EmojiModifier, EmojiPresentation, ExtendedPictographic, IndicConjunctBreak, RegionalIndicator,
};
use icu_properties::{CodePointMapData, CodePointSetData};
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

use super::Platform;
use super::entities;

/// What X and Mastodon count any URL as.
pub const URL_LENGTH: usize = 23;

/// twitter-text v3's ranges of weight 1 (`"weight": 100` with `"scale": 100`).
const X_LIGHT_RANGES: [(u32, u32); 4] = [(0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037)];

/// A post measured as its platform measures it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// The length the platform compares with its limit.
    pub length: usize,
    /// UTF-8 bytes (Bluesky limits these too).
    pub bytes: usize,
    /// Distinct links (Threads allows 5).
    pub links: usize,
}

impl Count {
    /// Whether a post of this size may be published on `platform`.
    pub fn fits(&self, platform: Platform) -> bool {
        self.length <= platform.limit()
            && platform.byte_limit().is_none_or(|max| self.bytes <= max)
            && platform.max_links().is_none_or(|max| self.links <= max)
    }
}

/// Measures `text` for `platform`.
pub fn count(platform: Platform, text: &str) -> Count {
    let length = match platform {
        Platform::X => x_length(text),
        Platform::Bluesky => bluesky_length(text),
        Platform::Mastodon => mastodon_length(text),
        Platform::Threads => threads_length(text),
        Platform::LinkedIn => text.encode_utf16().count(),
    };
    let links: BTreeSet<&str> = entities::x_urls(text).into_iter().map(|r| &text[r]).collect();
    Count { length, bytes: text.len(), links: links.len() }
}

/// Extended grapheme clusters, by Unicode's current rules.
pub fn graphemes(text: &str) -> usize {
    text.graphemes(true).count()
}

/// Bluesky's length: grapheme clusters by current rules, or by those before
/// Unicode 15.1, where a consonant after a virama starts a cluster of its own.
pub fn bluesky_length(text: &str) -> usize {
    let incb = CodePointMapData::<IndicConjunctBreak>::new();
    text.graphemes(true)
        .map(|g| 1 + g.chars().skip(1).filter(|&c| incb.get(c) == IndicConjunctBreak::Consonant).count())
        .sum()
}

/// The length X gives `text`: the larger of twitter-text 3.1.0's count and the
/// count with current emoji data, each with every plausible reading of its links.
pub fn x_length(text: &str) -> usize {
    let text: String = text.nfc().collect();
    let twemoji = twitter_text_emoji(&text);
    let mut readings = link_readings(&text, entities::x_urls(&text));
    // A bare country domain (`01.ai`) is a link to npm twitter-text, text to its other ports.
    let short = |r: &Range<usize>| entities::is_short_country_domain(&text[r.clone()]);
    if readings.iter().flatten().any(short) {
        let as_text: Vec<Vec<Range<usize>>> =
            readings.iter().map(|urls| urls.iter().filter(|r| !short(r)).cloned().collect()).collect();
        readings.extend(as_text);
    }
    readings
        .iter()
        .flat_map(|urls| [x_weighted(&text, urls, Some(&twemoji)), x_weighted(&text, urls, None)])
        .max()
        .unwrap_or(0)
}

/// The links found (`found`, each counting 23) as a platform finds them and,
/// when some link may not be taken whole, the other readings: that link as
/// plain text, and that link whole.
fn link_readings(text: &str, found: Vec<Range<usize>>) -> Vec<Vec<Range<usize>>> {
    let uncertain = entities::uncertain_links(text, &found);
    if uncertain.is_empty() {
        return vec![found];
    }
    let outside = |r: &Range<usize>| !uncertain.iter().any(|u| u.start < r.end && r.start < u.end);
    let as_text: Vec<Range<usize>> = found.iter().filter(|r| outside(r)).cloned().collect();
    let mut whole = as_text.clone();
    whole.extend(uncertain);
    whole.sort_by_key(|r| r.start);
    vec![found, as_text, whole]
}

/// `text` weighted as twitter-text weighs it, with `urls` counting 23 and
/// emoji as twitter-text finds them (`twemoji`), or by current data (`None`).
fn x_weighted(text: &str, urls: &[Range<usize>], twemoji: Option<&[Range<usize>]>) -> usize {
    let mut length = 0;
    let mut at = 0;
    for url in urls {
        length += x_plain_length(text, at..url.start, twemoji) + URL_LENGTH;
        at = url.end;
    }
    length + x_plain_length(text, at..text.len(), twemoji)
}

fn x_plain_length(text: &str, range: Range<usize>, twemoji: Option<&[Range<usize>]>) -> usize {
    let Some(emoji) = twemoji else {
        return text[range]
            .graphemes(true)
            .map(|g| if is_emoji_sequence(g) { 2 } else { g.chars().map(x_weight).sum() })
            .sum();
    };
    // As parseTweet does: an emoji starting here counts 2, else the code point its weight.
    let mut next = emoji.partition_point(|e| e.start < range.start);
    let mut length = 0;
    let mut at = range.start;
    while at < range.end {
        if let Some(e) = emoji.get(next).filter(|e| e.start == at) {
            length += 2;
            at = e.end;
            next += 1;
            continue;
        }
        let c = text[at..].chars().next().expect("at is a char boundary");
        length += x_weight(c);
        at += c.len_utf8();
        next += emoji[next..].iter().take_while(|e| e.start < at).count();
    }
    length
}

/// The weight of one code point outside URLs and emoji.
pub fn x_weight(c: char) -> usize {
    let c = c as u32;
    if X_LIGHT_RANGES.iter().any(|&(start, end)| (start..=end).contains(&c)) { 1 } else { 2 }
}

/// The emoji regex of twemoji-parser 11.0.2, which twitter-text 3.1.0 counts
/// with, anchored: `tests/tools/twitter_text.mjs emoji-regex` writes it from
/// the npm package, and a test checks that it still does.
static TWEMOJI: LazyLock<regex_lite::Regex> = LazyLock::new(|| {
    let pattern: String = include_str!("twemoji.regex").lines().filter(|l| !l.starts_with('#')).collect();
    regex_lite::Regex::new(&format!("^(?:{pattern})")).expect("the twemoji regex compiles")
});

/// Where twitter-text 3.1.0 sees emoji in `text` (NFC): byte ranges, found as
/// twemoji-parser's global regex finds them, leftmost first.
pub fn twitter_text_emoji(text: &str) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(c) = text[at..].chars().next() {
        if may_start_emoji(c)
            && let Some(m) = TWEMOJI.find(&text[at..])
        {
            let end = at + m.end();
            // The regex's `(?!\uFE0E)`: a lone text-style symbol asked for in text style is no emoji.
            let lone = m.as_str().chars().nth(1).is_none();
            if !(lone && text[end..].starts_with('\u{FE0E}')) {
                found.push(at..end);
                at = end;
                continue;
            }
        }
        at += c.len_utf8();
    }
    found
}

/// Whether an emoji of twemoji-parser may start with `c`: an emoji code point,
/// VS16 (which it takes for an emoji alone) or a private-use one (Twitter's own).
fn may_start_emoji(c: char) -> bool {
    c == '\u{FE0F}' || ('\u{E000}'..='\u{F8FF}').contains(&c) || CodePointSetData::new::<Emoji>().contains(c)
}

/// Mastodon's length: UTF-16 code units (never fewer than its server's
/// grapheme clusters or code points), with URLs as 23 and `@user@domain` as
/// `@user`, under every plausible reading of its links.
pub fn mastodon_length(text: &str) -> usize {
    link_readings(text, entities::urls(text))
        .iter()
        .map(|urls| mastodon_countable(text, urls).encode_utf16().count())
        .max()
        .unwrap_or(0)
}

/// The text Mastodon counts: every URL in `urls` as 23 characters and every
/// `@user@domain` as `@user`.
fn mastodon_countable(text: &str, urls: &[Range<usize>]) -> String {
    let mentions = entities::mentions(text);
    let mut countable = String::with_capacity(text.len());
    let mut at = 0;
    let mut edits: Vec<(Range<usize>, String)> = urls.iter().map(|r| (r.clone(), "x".repeat(URL_LENGTH))).collect();
    for m in mentions {
        if !urls.iter().any(|u| u.start < m.range.end && m.range.start < u.end) {
            edits.push((m.range.clone(), text[m.range.start..m.user_end].to_string()));
        }
    }
    edits.sort_by_key(|(r, _)| r.start);
    for (range, replacement) in edits {
        if range.start < at {
            continue;
        }
        countable.push_str(&text[at..range.start]);
        countable.push_str(&replacement);
        at = range.end;
    }
    countable.push_str(&text[at..]);
    countable
}

/// Threads' length: code points, except that an emoji counts its UTF-8 bytes;
/// or UTF-16 code units, when that is more.
pub fn threads_length(text: &str) -> usize {
    let documented: usize =
        text.graphemes(true).map(|g| if holds_emoji(g) { g.len() } else { g.chars().count() }).sum();
    documented.max(text.encode_utf16().count())
}

/// Whether a cluster of two or more code points is a single emoji: a flag, a
/// keycap, or a pictograph with VS16, a skin tone, a ZWJ or tag characters (a
/// subdivision flag). U+FE0E asks for the text form: then it is not an emoji.
pub fn is_emoji_sequence(g: &str) -> bool {
    let mut chars = g.chars();
    let (Some(first), Some(second)) = (chars.next(), chars.next()) else {
        return false;
    };
    if g.contains('\u{FE0E}') {
        return false;
    }
    let ri = CodePointSetData::new::<RegionalIndicator>();
    if ri.contains(first) && ri.contains(second) {
        return true;
    }
    if matches!(first, '#' | '*' | '0'..='9') {
        return g.ends_with('\u{20E3}');
    }
    let modifier = CodePointSetData::new::<EmojiModifier>();
    CodePointSetData::new::<ExtendedPictographic>().contains(first)
        && g.chars().skip(1).any(|c| {
            c == '\u{FE0F}' || c == '\u{200D}' || modifier.contains(c) || ('\u{E0020}'..='\u{E007F}').contains(&c)
        })
}

/// Whether a cluster is or holds an emoji (Threads counts those in bytes;
/// counting any cluster with a pictograph, VS16 or a keycap this way errs on
/// the safe side).
fn holds_emoji(g: &str) -> bool {
    is_emoji_sequence(g)
        || g.chars().any(|c| {
            c == '\u{FE0F}'
                || c == '\u{20E3}'
                || CodePointSetData::new::<ExtendedPictographic>().contains(c)
                || CodePointSetData::new::<EmojiPresentation>().contains(c)
                || CodePointSetData::new::<RegionalIndicator>().contains(c)
                || CodePointSetData::new::<EmojiModifier>().contains(c)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAMILY: &str = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}";
    const WAVE_DARK: &str = "\u{1F44B}\u{1F3FF}";
    const FLAG_JP: &str = "\u{1F1EF}\u{1F1F5}";
    const FLAG_ENGLAND: &str = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}";
    const KEYCAP_1: &str = "1\u{FE0F}\u{20E3}";
    const NFD_CAFE: &str = "cafe\u{0301}";

    #[test]
    fn x_ascii_and_urls_follow_twitter_text_conformance() {
        // twitter-text conformance/validate.yml, "lengths" and "WeightedTweetsCounterTest".
        assert_eq!(x_length("This is a test."), 15);
        assert_eq!(x_length("http://test.com"), 23);
        assert_eq!(x_length("test.com"), 23);
        assert_eq!(x_length("Test https://test.com test https://test.com test.com test"), 86);
        assert_eq!(x_length("Hi http://test.co"), 26);
        let ten = "https://www.twitter.com/aloha ".repeat(10);
        assert_eq!(x_length(&ten), 240);
        assert_eq!(x_length("randomurlrandomurlrandomurlrandomurlrandomurlrandomurlrandomurls.com"), 68);
        // npm twitter-text 3.1.0's parseTweet counts a bare country domain as a link:
        // 41 for this, 23 for `01.ai` alone (its older versions counted 23 letters).
        assert_eq!(x_length("Lee Kai-Fu's 01.ai have"), 41);
        assert_eq!(x_length("01.ai"), 23);
        let long = format!("{}.ai", "a".repeat(40));
        assert_eq!(x_length(&long), 43, "as text, when that counts more than a link");
    }

    #[test]
    fn x_weighs_cjk_two_and_punctuation_ranges_one() {
        assert_eq!(x_length("故人西辞黄鹤楼，烟花三月下扬州。"), 32);
        assert_eq!(x_length("the故人"), 7);
        assert_eq!(x_length("こんにちは"), 10);
        assert_eq!(x_length("안녕"), 4);
        // U+2000–U+200D, U+2010–U+201F and U+2032–U+2037 weigh 1; "…" (U+2026) and "•" weigh 2.
        assert_eq!(x_length("\u{2000}\u{200D}\u{2010}\u{201F}\u{2032}\u{2037}"), 6);
        assert_eq!(x_length("…•"), 4);
        assert_eq!(x_length("“quoted” — ‘fine’"), 17);
    }

    #[test]
    fn x_counts_every_emoji_as_two() {
        // twitter-text conformance, "WeightedTweetsWithDiscountedEmojiCounterTest".
        assert_eq!(x_length("😷👾😡🔥💩"), 10);
        assert_eq!(x_length("\u{1F64B}\u{1F3FD}\u{1F468}\u{200D}\u{1F3A4}"), 4);
        assert_eq!(x_length(&format!("H\u{1F431}\u{263A}{FAMILY}")), 7);
        assert_eq!(x_length(&FAMILY.repeat(140)), 280);
        assert_eq!(
            x_length("Unicode 10.0 emoji: 🤪; 🧕; 🧕🏾; \u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}"),
            34
        );
        assert_eq!(x_length("Unicode 9.0 emoji: 🤠; 💃; 💃🏾"), 29);
        assert_eq!(x_length(WAVE_DARK), 2);
        assert_eq!(x_length(FLAG_JP), 2);
        assert_eq!(x_length(FLAG_ENGLAND), 2);
        assert_eq!(x_length(KEYCAP_1), 2);
        // Text-style symbols: © alone is a Latin-1 character (1), ©️ with VS16 an emoji (2).
        assert_eq!(x_length("©"), 1);
        assert_eq!(x_length("©\u{FE0F}"), 2);
    }

    #[test]
    fn x_counts_emoji_newer_than_twitter_texts_data_per_code_point() {
        // parseTweet of npm twitter-text 3.1.0: its twemoji-parser 11 knows ❤️ and 🔥, not ❤️‍🔥.
        assert_eq!(x_length("❤\u{FE0F}\u{200D}🔥"), 2 + 1 + 2);
        assert_eq!(x_length("🧑\u{200D}🧑\u{200D}🧒"), 8);
        assert_eq!(x_length("🫱🏻\u{200D}🫲🏿"), 9);
        assert_eq!(x_length("🫠"), 2);
        assert_eq!(x_length("🇯🇵🇨🇳🇰🇷🇸🇬"), 8);
        assert_eq!(x_length("🇦🇯🇵"), 4);
        // Text style: a lone VS16 is an emoji to it, U+FE0E makes ❤ text.
        assert_eq!(x_length("a\u{FE0F}"), 3);
        assert_eq!(x_length("❤\u{FE0E}"), 4);
        assert_eq!(x_length("©\u{FE0E}"), 3);
        let found = twitter_text_emoji("a❤\u{FE0F}\u{200D}🔥 ☝🏻 ⛹\u{FE0E}");
        assert_eq!(found.len(), 3, "{found:?}");
    }

    #[test]
    fn every_emoji_twitter_text_knows_starts_where_it_is_looked_for() {
        // twitter_text_emoji tries the regex only where may_start_emoji says; nothing else starts one.
        let planes = ('\0'..='\u{1FFFF}').chain('\u{E0000}'..='\u{E01EF}');
        for c in planes.filter(|&c| !may_start_emoji(c)) {
            for text in [c.to_string(), format!("{c}\u{FE0F}\u{20E3}"), format!("{c}\u{1F3FB}")] {
                assert!(TWEMOJI.find(&text).is_none(), "{:?} starts an emoji", c);
            }
        }
    }

    #[test]
    fn x_normalises_to_nfc_first() {
        // twitter-text conformance: "'Á' is normalized into 1 char" and "שּׁ is normalized into 3 chars".
        assert_eq!(x_length("A\u{0301}B"), 2);
        assert_eq!(x_length("A\u{FB2C}"), 4);
        assert_eq!(x_length(NFD_CAFE), 4);
        // A combining mark on an ideograph stays a mark: 2 + 1.
        assert_eq!(x_length("漢\u{0301}"), 3);
    }

    #[test]
    fn bluesky_counts_graphemes_and_bytes() {
        let text = format!("ab 漢字 {FAMILY}{WAVE_DARK}{FLAG_JP}{FLAG_ENGLAND}{KEYCAP_1} {NFD_CAFE}");
        let c = count(Platform::Bluesky, &text);
        assert_eq!(c.length, 2 + 1 + 2 + 1 + 5 + 1 + 4);
        assert_eq!(c.bytes, text.len());
        // URLs count in full.
        assert_eq!(count(Platform::Bluesky, "https://example.com/a/long/path").length, 31);
        // 3,000 bytes of CJK are only 1,000 graphemes: the byte limit matters too.
        let cjk = "漢".repeat(1001);
        let c = count(Platform::Bluesky, &cjk);
        assert!(c.length > 300 && c.bytes == 3003 && !c.fits(Platform::Bluesky));
        // An Indic conjunct is one cluster since Unicode 15.1, two before.
        assert_eq!(graphemes("क्ष"), 1);
        assert_eq!(bluesky_length("क्ष"), 2);
    }

    #[test]
    fn mastodon_counts_utf16_units_urls_as_23_and_mentions_without_domain() {
        assert_eq!(mastodon_length("hello"), 5);
        // Its server counts 3 grapheme clusters, a JavaScript client 19 UTF-16 units.
        assert_eq!(mastodon_length(&format!("{FAMILY}{FLAG_JP}{WAVE_DARK}")), 11 + 4 + 4);
        assert_eq!(mastodon_length("漢字かな"), 4);
        assert_eq!(mastodon_length(NFD_CAFE), 5);
        assert_eq!(
            mastodon_length("a https://example.com/a/very/long/path/indeed?x=1 b http://x.example c"),
            7 + 23 + 23
        );
        assert_eq!(mastodon_length("@analyseasia@mastodon.social"), "@analyseasia".len());
        // Mastodon does not discount a domain without a protocol.
        assert_eq!(mastodon_length("example.com"), 11);
    }

    #[test]
    fn an_idn_link_counts_as_the_larger_of_its_readings() {
        // twitter-text takes `https://例え.jp/` for the URL (23) and counts the CJK path as text.
        let idn = "https://例え.jp/検索/深圳?q=芯片";
        assert_eq!(x_length(idn), 23 + 4 + 1 + 4 + 3 + 4);
        assert_eq!(x_length(&format!("see {idn} ok")), 46);
        assert_eq!(mastodon_length(idn), 23 + "検索/深圳?q=芯片".encode_utf16().count());
        // Its punycode form is plain ASCII: one URL.
        assert_eq!(x_length("https://xn--r8jz45g.jp/x"), 23);
        // A host twitter-text may not know is text when that is longer than 23.
        let unknown = "https://example.unknowntld/a/long/path/that/goes/on";
        assert_eq!(x_length(unknown), unknown.len());
        assert_eq!(mastodon_length(unknown), unknown.len());
        // …and 23 when shorter, as a client that links it counts it.
        assert_eq!(x_length("https://例.テスト"), 23);
        // Without a protocol, twitter-text finds no IDN domain: text.
        assert_eq!(x_length("例え.jp"), 7);
    }

    #[test]
    fn threads_counts_emoji_in_utf8_bytes_and_links() {
        assert_eq!(threads_length("hello"), 5);
        assert_eq!(threads_length("漢字"), 2);
        assert_eq!(threads_length("😀"), 4);
        assert_eq!(threads_length(FAMILY), FAMILY.len());
        assert_eq!(threads_length(FLAG_JP), 8);
        assert_eq!(threads_length(KEYCAP_1), 7);
        assert_eq!(threads_length(NFD_CAFE), 5);
        let six = (1..=6).map(|i| format!("https://example.com/{i}")).collect::<Vec<_>>().join(" ");
        let c = count(Platform::Threads, &six);
        assert_eq!(c.links, 6);
        assert!(!c.fits(Platform::Threads));
        let same = "https://example.com/1 ".repeat(6);
        assert_eq!(count(Platform::Threads, &same).links, 1, "Threads counts unique URLs");
        // Beyond the Basic Multilingual Plane, UTF-16 counts 2.
        assert_eq!(threads_length("𠀀𠀁"), 4);
    }

    #[test]
    fn linkedin_counts_utf16_units() {
        assert_eq!(count(Platform::LinkedIn, "hello 漢字").length, 8);
        assert_eq!(count(Platform::LinkedIn, "😀").length, 2);
        assert_eq!(count(Platform::LinkedIn, FAMILY).length, 11);
    }
}
