//! Shortening a post until its platform takes it.
//!
//! A template renders a marker where each flexible part of a post goes (the
//! take or the hook, then the title). [`fit`] fills the markers in and, while
//! the post is too long, shortens the parts in order: first after a sentence,
//! else at a word boundary, with "…" added; never inside a URL, a hashtag, a
//! mention or a grapheme cluster. Everything else the template wrote, the link
//! above all, is never cut.

use std::ops::Range;

use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::{GraphemeCursor, UnicodeSegmentation};

use super::entities;

/// What a shortened text ends with.
pub const ELLIPSIS: char = '…';

/// A part of a rendered post that may be shortened.
#[derive(Debug, Clone)]
pub struct Slot<'a> {
    /// What the template rendered in its place.
    pub marker: &'a str,
    /// The whole text.
    pub text: String,
}

/// Fills `slots` into `rendered`, shortening them in order until `accept` takes
/// the post; returns the post and whether anything was shortened, or `None`
/// when even empty slots are too long.
pub fn fit(rendered: &str, slots: &[Slot], mut accept: impl FnMut(&str) -> bool) -> Option<(String, bool)> {
    let fill = |texts: &[String]| {
        let mut post = rendered.to_string();
        for (slot, text) in slots.iter().zip(texts) {
            post = post.replace(slot.marker, text);
        }
        tidy(&post)
    };
    // Cut the text the platforms count: NFC, where a combining mark may join a
    // URL's last letter and so lengthen the URL.
    let normalised: Vec<String> = slots.iter().map(|s| s.text.nfc().collect()).collect();
    let mut texts = normalised.clone();
    let whole = fill(&texts);
    if accept(&whole) {
        return Some((whole, false));
    }
    for (i, text) in normalised.iter().enumerate() {
        let whole = text.trim();
        let (sentences, words) = cuts(whole);
        for group in [sentences, words, vec![0]] {
            // Within a group a shorter cut never makes a longer post, so the
            // longest cut that fits is found by bisection.
            let mut try_cut = |end: usize| {
                texts[i] = shortened(whole, end);
                let post = fill(&texts);
                accept(&post).then_some(post)
            };
            let (mut lo, mut hi, mut best) = (0, group.len(), None);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                match try_cut(group[mid]) {
                    Some(post) => {
                        best = Some(post);
                        hi = mid;
                    }
                    None => lo = mid + 1,
                }
            }
            if let Some(post) = best {
                return Some((post, true));
            }
        }
        texts[i] = String::new();
    }
    None
}

/// Trailing spaces off every line, at most one blank line in a row, none at
/// either end: what an emptied slot leaves behind is tidied away.
pub fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(line);
    }
    out
}

/// Where `text` may be cut, longest first: the ends of its sentences, and its
/// word boundaries (each with the spaces and dangling punctuation before it
/// left out). [`shortened`] makes the text of a cut.
pub fn cuts(text: &str) -> (Vec<usize>, Vec<usize>) {
    let protected = protected_spans(text);
    let cuttable = |at: usize| at > 0 && at < text.len() && !protected.iter().any(|r| r.start < at && at < r.end);

    let mut sentences: Vec<usize> = Vec::new();
    for (start, sentence) in text.split_sentence_bound_indices() {
        let end = text[..start + sentence.len()].trim_end().len();
        if cuttable(end) && ends_sentence(&text[..end]) {
            sentences.push(end);
        }
    }
    sentences.reverse();

    let mut words: Vec<usize> = Vec::new();
    for (at, _) in text.split_word_bound_indices() {
        if !cuttable(at) || !word_cut_allowed(text, at) || !is_grapheme_boundary(text, at) {
            continue;
        }
        let end = trim_cut(&text[..at], &protected).len();
        if end > 0 && words.last() != Some(&end) {
            words.push(end);
        }
    }
    words.reverse();
    (sentences, words)
}

/// `text` cut at `end` (from [`cuts`]), ending in "…" (a full stop becomes it);
/// nothing at all when `end` is 0. A cut right after a URL puts a space before
/// the "…", so that no client reads it as part of the link.
pub fn shortened(text: &str, end: usize) -> String {
    if end == 0 {
        return String::new();
    }
    let body = &text[..end];
    let mut short = body.strip_suffix(['.', '。']).unwrap_or(body).to_string();
    if !short.ends_with(ELLIPSIS) {
        if entities::x_urls(body).iter().any(|url| url.end == body.len()) {
            short.push(' ');
        }
        short.push(ELLIPSIS);
    }
    short
}

/// The shortened forms of `text`, as [`cuts`] finds them.
#[cfg(test)]
fn shortenings(text: &str) -> (Vec<String>, Vec<String>) {
    let (sentences, words) = cuts(text);
    let texts = |ends: Vec<usize>| {
        let mut texts: Vec<String> = ends.into_iter().map(|end| shortened(text, end)).collect();
        texts.dedup();
        texts
    };
    (texts(sentences), texts(words))
}

/// URLs, hashtags and mentions: nothing is cut inside them.
fn protected_spans(text: &str) -> Vec<Range<usize>> {
    let mut spans = entities::x_urls(text);
    spans.extend(entities::hashtags(text));
    spans.extend(entities::mentions(text).into_iter().map(|m| m.range));
    spans
}

/// Whether `prefix` ends a sentence: terminal punctuation (maybe inside a
/// closing quote or bracket) that does not end an abbreviation such as "Co."
/// or "U.S.".
fn ends_sentence(prefix: &str) -> bool {
    let core = prefix.trim_end_matches(['"', '\'', '”', '’', ')', ']', '」', '』', '）']);
    let Some(last) = core.chars().next_back() else { return false };
    if !matches!(last, '.' | '!' | '?' | '。' | '！' | '？' | '…' | '‼' | '⁉') {
        return false;
    }
    if last != '.' {
        return true;
    }
    let word = core[..core.len() - 1].rsplit(char::is_whitespace).next().unwrap_or("");
    let word = word.trim_start_matches(['(', '"', '“', '‘', '\'']);
    const ABBREVIATIONS: &[&str] = &[
        "Mr", "Mrs", "Ms", "Dr", "Prof", "Sr", "Jr", "St", "Co", "Corp", "Inc", "Ltd", "Bros", "vs", "etc", "No",
        "Vol", "approx", "Gen", "Gov", "Sen", "Rep", "Capt", "Lt", "Col", "Sgt",
    ];
    let abbreviation = word.contains('.')
        || (word.chars().count() == 1 && word.chars().all(char::is_uppercase))
        || ABBREVIATIONS.contains(&word);
    !abbreviation
}

/// A word boundary where text may be cut: before a space, or next to a
/// character of a script written without spaces (Chinese, Japanese) or an emoji.
fn word_cut_allowed(text: &str, at: usize) -> bool {
    let before = text[..at].chars().next_back();
    let after = text[at..].chars().next();
    after.is_some_and(char::is_whitespace) || before.is_some_and(no_space_script) || after.is_some_and(no_space_script)
}

/// Han, kana, CJK punctuation and full-width forms, and pictographs.
fn no_space_script(c: char) -> bool {
    matches!(c,
        '\u{2E80}'..='\u{2FDF}' | '\u{3000}'..='\u{30FF}' | '\u{3100}'..='\u{312F}' | '\u{31C0}'..='\u{31FF}'
        | '\u{3200}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{FE30}'..='\u{FE4F}' | '\u{FF00}'..='\u{FFEF}'
        | '\u{20000}'..='\u{3FFFF}')
        || icu_properties::CodePointSetData::new::<icu_properties::props::ExtendedPictographic>().contains(c)
}

fn is_grapheme_boundary(text: &str, at: usize) -> bool {
    GraphemeCursor::new(at, text.len(), true).is_boundary(text, 0).unwrap_or(false)
}

/// `prefix` without the spaces and the punctuation a cut leaves dangling
/// ("word," "(", "—"), stopping at a URL, hashtag or mention.
fn trim_cut<'a>(prefix: &'a str, protected: &[Range<usize>]) -> &'a str {
    let mut end = prefix.len();
    while let Some(c) = prefix[..end].chars().next_back() {
        let dangling = c.is_whitespace()
            || matches!(
                c,
                ',' | ';'
                    | ':'
                    | '-'
                    | '–'
                    | '—'
                    | '('
                    | '['
                    | '{'
                    | '“'
                    | '‘'
                    | '"'
                    | '\''
                    | '/'
                    | '、'
                    | '，'
                    | '：'
                    | '；'
                    | '（'
                    | '「'
                    | '『'
                    | '·'
                    | '&'
            );
        let new_end = end - c.len_utf8();
        if !dangling || protected.iter().any(|r| r.start < end && end <= r.end && r.start <= new_end) {
            break;
        }
        end = new_end;
    }
    &prefix[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_first_then_words_longest_first() {
        let (sentences, words) = shortenings("One two. Three four five. Six");
        assert_eq!(sentences, ["One two. Three four five…", "One two…"]);
        assert_eq!(words, ["One two. Three four five…", "One two. Three four…", "One two. Three…", "One two…", "One…"]);
    }

    #[test]
    fn abbreviations_do_not_end_sentences() {
        let (sentences, _) =
            shortenings("Taiwan Semiconductor Manufacturing Co. (TSMC) leads. The U.S. lags. Mr. Chang said so.");
        assert_eq!(
            sentences,
            [
                "Taiwan Semiconductor Manufacturing Co. (TSMC) leads. The U.S. lags…",
                "Taiwan Semiconductor Manufacturing Co. (TSMC) leads…"
            ]
        );
    }

    #[test]
    fn never_inside_a_url_a_hashtag_or_an_emoji() {
        let text = "Read https://example.com/a/b?c=d now #人工智能 👨\u{200D}👩\u{200D}👧 end";
        let (sentences, words) = shortenings(text);
        for cut in sentences.iter().chain(&words) {
            let body = cut.trim_end_matches(ELLIPSIS);
            assert!(text.starts_with(body), "{cut:?}");
            for whole in ["https://example.com/a/b?c=d", "#人工智能", "👨\u{200D}👩\u{200D}👧"] {
                let start = text.find(whole).unwrap();
                assert!(body.len() <= start || body.len() >= start + whole.len(), "{cut:?} cuts {whole:?}");
            }
        }
        // The "…" after a link stands apart, so that no client reads it as part of the URL.
        assert!(words.contains(&"Read https://example.com/a/b?c=d …".to_string()), "{words:?}");
    }

    #[test]
    fn chinese_and_japanese_cut_between_characters() {
        let (sentences, cuts) = shortenings("中国的人工智能落后了。日本的半导体复兴");
        assert_eq!(sentences, ["中国的人工智能落后了…"]);
        assert!(cuts.contains(&"中国的人工智能落后了。日本…".to_string()), "{cuts:?}");
        assert!(cuts.contains(&"中国…".to_string()), "{cuts:?}");
        assert!(cuts.iter().all(|c| c.ends_with(ELLIPSIS)));
        let (_, ja) = shortenings("東京でチップの復興が始まる");
        assert!(ja.contains(&"東京で…".to_string()), "{ja:?}");
    }

    #[test]
    fn dangling_punctuation_goes_before_the_ellipsis() {
        let (_, cuts) = shortenings("alpha, beta (gamma delta) — epsilon");
        assert!(cuts.contains(&"alpha, beta (gamma delta)…".to_string()), "{cuts:?}");
        assert!(cuts.contains(&"alpha…".to_string()), "{cuts:?}");
        assert!(!cuts.iter().any(|c| c.ends_with(",…") || c.ends_with("(…") || c.ends_with("—…")), "{cuts:?}");
    }

    #[test]
    fn fit_shortens_slots_in_order_and_keeps_the_rest() {
        let rendered = "[T]\n\n[B]\n\nhttps://example.com/";
        let slots = [
            Slot { marker: "[B]", text: "First sentence here. Second one is longer than that.".into() },
            Slot { marker: "[T]", text: "A title".into() },
        ];
        let (post, shortened) = fit(rendered, &slots, |p| p.chars().count() <= 60).unwrap();
        assert!(shortened);
        assert_eq!(post, "A title\n\nFirst sentence here…\n\nhttps://example.com/");
        let (post, _) = fit(rendered, &slots, |p| p.chars().count() <= 29).unwrap();
        assert_eq!(post, "A title\n\nhttps://example.com/", "the body goes before the title is cut");
        assert!(fit(rendered, &slots, |p| p.len() < 10).is_none());
    }
}
