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

/// Whether the language of BCP 47 tag `tag` ("ar", "he-IL", "az-Arab") is
/// written right to left: Arabic, Hebrew, Persian, Urdu and the others whose
/// usual script is, or a tag naming a right-to-left script.
pub fn is_rtl_language(tag: &str) -> bool {
    const LANGUAGES: [&str; 14] =
        ["ar", "arc", "ckb", "dv", "fa", "he", "iw", "ks", "ps", "sd", "syr", "ug", "ur", "yi"];
    const SCRIPTS: [&str; 7] = ["arab", "hebr", "thaa", "syrc", "nkoo", "adlm", "rohg"];
    let mut subtags = tag.split(['-', '_']).map(str::to_ascii_lowercase);
    let primary = subtags.next().unwrap_or_default();
    let script = subtags.find(|s| s.len() == 4);
    match script {
        Some(script) => SCRIPTS.contains(&script.as_str()),
        None => LANGUAGES.contains(&primary.as_str()),
    }
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

/// `n` and `one` or `many`, as `n` says: "1 active subscriber", "2 active subscribers".
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
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

/// `bytes` in lowercase hexadecimal, two digits each.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn right_to_left_languages_and_text() {
        for tag in ["ar", "he-IL", "fa", "ur-PK", "az-Arab", "AR"] {
            assert!(super::is_rtl_language(tag), "{tag}");
        }
        for tag in ["en", "zh-Hant", "ja", "az-Latn", "ku-Latn", "th"] {
            assert!(!super::is_rtl_language(tag), "{tag}");
        }
        assert_eq!(super::is_rtl("« مرحبا » hello"), Some(true));
        assert_eq!(super::is_rtl("2024: hello مرحبا"), Some(false));
        assert_eq!(super::is_rtl("2024 ❤️ … !?"), None);
    }
}
