//! How long a post is, counted the way each platform counts it.
//!
//! - **X**: twitter-text v3 (`config/v3.json` and `js/src/parseTweet.js` in
//!   twitter/twitter-text). The text is NFC-normalised; every URL counts
//!   `transformedURLLength` 23; every emoji, however many code points it has
//!   (skin tones, ZWJ families, flags, keycaps), counts `defaultWeight` 2; any
//!   other code point counts 1 in the light ranges U+0000–U+10FF,
//!   U+2000–U+200D, U+2010–U+201F, U+2032–U+2037 and 2 elsewhere (CJK, "…").
//!   The limit is `maxWeightedTweetLength` 280.
//! - **Bluesky**: the `app.bsky.feed.post` lexicon
//!   (`lexicons/app/bsky/feed/post.json` in bluesky-social/atproto): `text` has
//!   `maxGraphemes` 300 and `maxLength` 3000 (UTF-8 bytes). Links are not
//!   shortened by the server: what the text holds is what counts.
//! - **Mastodon**: `app/validators/status_length_validator.rb` in
//!   mastodon/mastodon: 500 extended grapheme clusters, after every http(s) URL
//!   is replaced by 23 characters and every `@user@domain` by `@user`.
//! - **Threads**: the Threads API's "Limitations" (developers.facebook.com,
//!   Threads Posts): 500 characters, "emojis are counted as the number of
//!   UTF-8 bytes"; at most 5 links, "all unique URLs found in the text field".
//! - **LinkedIn**: 3,000 characters (the Posts API's `commentary`). LinkedIn
//!   does not say how it counts; we count UTF-16 code units, which is what its
//!   JavaScript composer measures and never fewer than code points or graphemes.
//!
//! Emoji are recognised with Unicode's emoji properties (ICU4X data): a grapheme
//! cluster is one emoji when it is a flag (two regional indicators), a keycap,
//! or a pictograph followed by VS16, a skin tone, a ZWJ or tag characters.

use std::collections::BTreeSet;

use icu_properties::CodePointSetData;
use icu_properties::props::{EmojiModifier, EmojiPresentation, ExtendedPictographic, RegionalIndicator};
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
        Platform::Bluesky => graphemes(text),
        Platform::Mastodon => mastodon_length(text),
        Platform::Threads => threads_length(text),
        Platform::LinkedIn => text.encode_utf16().count(),
    };
    let links: BTreeSet<&str> = entities::x_urls(text).into_iter().map(|r| &text[r]).collect();
    Count { length, bytes: text.len(), links: links.len() }
}

/// Extended grapheme clusters: what Bluesky and Mastodon call characters.
pub fn graphemes(text: &str) -> usize {
    text.graphemes(true).count()
}

/// twitter-text v3's weighted length.
pub fn x_length(text: &str) -> usize {
    let text: String = text.nfc().collect();
    let mut length = 0;
    let mut at = 0;
    for url in entities::x_urls(&text) {
        length += x_plain_length(&text[at..url.start]) + URL_LENGTH;
        at = url.end;
    }
    length + x_plain_length(&text[at..])
}

fn x_plain_length(text: &str) -> usize {
    text.graphemes(true).map(|g| if is_emoji_sequence(g) { 2 } else { g.chars().map(x_weight).sum() }).sum()
}

/// The weight of one code point outside URLs and emoji.
pub fn x_weight(c: char) -> usize {
    let c = c as u32;
    if X_LIGHT_RANGES.iter().any(|&(start, end)| (start..=end).contains(&c)) { 1 } else { 2 }
}

/// Mastodon's length: graphemes, with URLs as 23 and `@user@domain` as `@user`.
pub fn mastodon_length(text: &str) -> usize {
    let urls = entities::urls(text);
    let mentions = entities::mentions(text);
    let mut countable = String::with_capacity(text.len());
    let mut at = 0;
    let mut edits: Vec<(std::ops::Range<usize>, String)> =
        urls.iter().map(|r| (r.clone(), "x".repeat(URL_LENGTH))).collect();
    for m in mentions {
        if !urls.iter().any(|u| u.start < m.range.end && m.range.start < u.end) {
            edits.push((m.range.clone(), text[m.range.start..m.user_end].to_string()));
        }
    }
    edits.sort_by_key(|(r, _)| r.start);
    for (range, replacement) in edits {
        countable.push_str(&text[at..range.start]);
        countable.push_str(&replacement);
        at = range.end;
    }
    countable.push_str(&text[at..]);
    graphemes(&countable)
}

/// Threads' length: code points, except that an emoji counts its UTF-8 bytes.
pub fn threads_length(text: &str) -> usize {
    text.graphemes(true).map(|g| if starts_like_emoji(g) { g.len() } else { g.chars().count() }).sum()
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

/// Whether a cluster is, or starts as, an emoji (Threads counts those in bytes;
/// counting any pictograph this way errs on the safe side).
fn starts_like_emoji(g: &str) -> bool {
    let Some(first) = g.chars().next() else { return false };
    is_emoji_sequence(g)
        || CodePointSetData::new::<ExtendedPictographic>().contains(first)
        || CodePointSetData::new::<EmojiPresentation>().contains(first)
        || CodePointSetData::new::<RegionalIndicator>().contains(first)
        || CodePointSetData::new::<EmojiModifier>().contains(first)
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
    }

    #[test]
    fn mastodon_counts_graphemes_urls_as_23_and_mentions_without_domain() {
        assert_eq!(mastodon_length("hello"), 5);
        assert_eq!(mastodon_length(&format!("{FAMILY}{FLAG_JP}{WAVE_DARK}")), 3);
        assert_eq!(mastodon_length("漢字かな"), 4);
        assert_eq!(mastodon_length(NFD_CAFE), 4);
        assert_eq!(
            mastodon_length("a https://example.com/a/very/long/path/indeed?x=1 b http://x.example c"),
            7 + 23 + 23
        );
        assert_eq!(mastodon_length("@analyseasia@mastodon.social"), "@analyseasia".len());
        // Mastodon does not discount a domain without a protocol.
        assert_eq!(mastodon_length("example.com"), 11);
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
    }

    #[test]
    fn linkedin_counts_utf16_units() {
        assert_eq!(count(Platform::LinkedIn, "hello 漢字").length, 8);
        assert_eq!(count(Platform::LinkedIn, "😀").length, 2);
        assert_eq!(count(Platform::LinkedIn, FAMILY).length, 11);
    }
}
