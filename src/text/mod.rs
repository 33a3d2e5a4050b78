//! Text helpers every stage may use: Markdown, HTML escaping, counting words.
//! A leaf: it imports nothing of the pipeline.

pub mod duration;
pub mod markdown;
pub mod smtp_url;
pub mod url;

/// Whether `text` reads right to left: its first strong character (Unicode's
/// bidirectional class L, R or AL, as rule P2 of the bidirectional algorithm
/// finds it) is Hebrew, Arabic or another right-to-left script. `None` when it
/// has no strong character (digits, punctuation, emoji only).
pub fn is_rtl(text: &str) -> Option<bool> {
    use icu_properties::{CodePointMapData, props::BidiClass};
    let classes = CodePointMapData::<BidiClass>::new();
    text.chars().find_map(|c| match classes.get(c) {
        BidiClass::LeftToRight => Some(false),
        BidiClass::RightToLeft | BidiClass::ArabicLetter => Some(true),
        _ => None,
    })
}

/// A character no text a publisher writes may hold: a control character (a
/// tab or a line break excepted), which mail clients show as a box or not at
/// all, or a Unicode noncharacter (U+FFFE, U+FFFF, U+FDD0..U+FDEF and the last
/// two of every plane), which XML 1.0 refuses (U+FFFE, U+FFFF) or discourages.
pub fn is_not_text(c: char) -> bool {
    let code = c as u32;
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || (0xFDD0..=0xFDEF).contains(&code) || code & 0xFFFE == 0xFFFE
}

/// What [`is_not_text`] found, for a message: "an invisible control character
/// (U+0007)" or "a Unicode noncharacter (U+FFFE)".
pub fn not_text_name(c: char) -> String {
    let code = c as u32;
    if c.is_control() {
        format!("an invisible control character (U+{code:04X})")
    } else {
        format!("a Unicode noncharacter (U+{code:04X})")
    }
}

/// "s" unless `n` is one: `format!("{n} error{}", plural(n))`.
pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Appends `text` to `out` escaped for HTML text and attribute values.
pub fn push_escaped_html(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// `text` escaped for HTML text and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped_html(&mut out, text);
    out
}
