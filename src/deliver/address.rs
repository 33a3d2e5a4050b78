//! Which email addresses a newsletter can deliver to, and how to show a bad one.

/// The longest address SMTP carries (RFC 5321's path limit, less the brackets).
const MAX_ADDRESS: usize = 254;
/// The longest part before the @ (RFC 5321).
const MAX_LOCAL_PART: usize = 64;

/// A format character (Unicode category Cf): zero-width spaces and joiners,
/// BOMs, soft hyphens, direction marks.
pub(crate) fn is_invisible(c: char) -> bool {
    use icu_properties::props::GeneralCategory;
    icu_properties::CodePointMapData::<GeneralCategory>::new().get(c) == GeneralCategory::Format
}

/// `text` for a message: at most `max` characters, control characters as U+FFFD.
pub(crate) fn shown(text: &str, max: usize) -> String {
    let mut shown: String = text.chars().take(max).map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect();
    if text.chars().nth(max).is_some() {
        shown.push('…');
    }
    shown
}

/// `text` in quotes for a message, shortened by [`shown`].
pub(crate) fn quoted(text: &str) -> String {
    format!("\"{}\"", shown(text, 60))
}

/// Accepts the addresses a newsletter can deliver to: what `lettre` parses, at
/// most 254 bytes, without spaces, control or invisible characters or angle
/// brackets, no dot at either end of a part or next to another, a dot in
/// the domain, and a domain name rather than an IP address. The reason names
/// the first problem found.
pub fn check_address(email: &str) -> Result<(), String> {
    // Made only for a message: most addresses are good.
    let shown = || quoted(email);
    if email.is_empty() {
        return Err("no email address".into());
    }
    if email.len() > MAX_ADDRESS {
        return Err(format!("{} is longer than {MAX_ADDRESS} bytes", shown()));
    }
    if email.contains(['<', '>']) {
        return Err(format!("{} has stray angle brackets", shown()));
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{} contains a space or control character", shown()));
    }
    if let Some(c) = email.chars().find(|&c| is_invisible(c)) {
        return Err(format!("{} contains an invisible character (U+{:04X})", shown(), u32::from(c)));
    }
    let Some((local, domain)) = email.rsplit_once('@').filter(|(l, d)| !l.is_empty() && !d.is_empty()) else {
        return Err(format!("{} is not an email address", shown()));
    };
    if email.contains("..") {
        return Err(format!("{} has two dots in a row", shown()));
    }
    if local.starts_with('.') || local.ends_with('.') {
        return Err(format!("{} has a dot at the start or end of the part before the @", shown()));
    }
    // An address literal (`a@[127.0.0.1]`, `a@127.0.0.1`) names a machine, not
    // a mail domain: no relay a newsletter uses delivers to one.
    if domain.starts_with('[')
        || domain.rsplit('.').next().is_some_and(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("{} has an IP address, not a domain name, after the @", shown()));
    }
    if domain.starts_with('.') || domain.ends_with('.') {
        return Err(format!("{} has no valid domain: it starts or ends with a dot", shown()));
    }
    if !domain.contains('.') {
        return Err(format!("{} has no valid domain: it has no dot", shown()));
    }
    if local.len() > MAX_LOCAL_PART {
        return Err(format!("{} is longer than {MAX_LOCAL_PART} bytes before the @", shown()));
    }
    email.parse::<lettre::Address>().map_err(|_| format!("{} is not an email address", shown()))?;
    Ok(())
}

/// The form an address is stored and compared in, so that the list's
/// comparison without case (SQLite's `NOCASE` and PostgreSQL's `citext` fold
/// ASCII letters alone, or as the server's locale says) finds the same person
/// whatever case, Unicode or IDN form a file, a form or a bounce writes them
/// in. An ASCII address is kept as it is (trimmed). One with other characters
/// is composed (NFC) and in lowercase, and its domain is in the form the
/// rest needs: ASCII (`xn--…`) beside an ASCII local part, so that no server
/// needs SMTPUTF8 for it; else Unicode, as the local part is.
pub fn canonical(email: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let email = email.trim();
    if email.is_ascii() {
        return email.to_string();
    }
    // Lowercase letters may come apart (U+0130 → i + U+0307): composed again.
    let folded: String = email.nfc().collect::<String>().to_lowercase().nfc().collect();
    let Some((local, domain)) = folded.rsplit_once('@') else { return folded };
    let domain = match local.is_ascii() {
        true => idna::domain_to_ascii(domain).ok(),
        false => match idna::domain_to_unicode(domain) {
            (unicode, Ok(())) => Some(unicode),
            _ => None,
        },
    };
    match domain.filter(|d| !d.is_empty()) {
        Some(domain) => format!("{local}@{domain}"),
        None => folded,
    }
}

/// `email` with its domain in its other IDN form (`bücher.example` ↔
/// `xn--bcher-kva.example`), when it has one.
pub fn other_idn_form(email: &str) -> Option<String> {
    let (local, domain) = email.trim().rsplit_once('@')?;
    let other = match domain.is_ascii() {
        true if domain.to_ascii_lowercase().split('.').any(|l| l.starts_with("xn--")) => {
            match idna::domain_to_unicode(domain) {
                (unicode, Ok(())) => unicode,
                _ => return None,
            }
        }
        true => return None,
        false => idna::domain_to_ascii(domain).ok()?,
    };
    (!other.eq_ignore_ascii_case(domain)).then(|| format!("{local}@{other}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_addresses_compare_without_unicode_case_or_form() {
        assert_eq!(canonical(" Ada.Lovelace@Example.COM "), "Ada.Lovelace@Example.COM", "ASCII is kept as typed");
        assert_eq!(canonical("ÄDA@BÜCHER.de"), "äda@bücher.de");
        assert_eq!(canonical("Äda@Bücher.DE"), "äda@bücher.de");
        assert_eq!(canonical("JOSE\u{301}@example.com"), "josé@example.com", "decomposed letters are composed");
        assert_eq!(canonical("JOSÉ@example.com"), canonical("JOSé@example.com"));
        // The Kelvin sign lowercases to an ASCII k: NOCASE then finds "K".
        assert_eq!(canonical("\u{212A}im@example.com"), "kim@example.com");
        // The IDN forms of one domain are one.
        assert_eq!(canonical("Ada@BÜCHER.example"), "ada@xn--bcher-kva.example");
        assert_eq!(canonical("jörg@XN--BCHER-KVA.example"), "jörg@bücher.example");
        assert_eq!(canonical("JÖRG@Bücher.example"), "jörg@bücher.example");
        assert_eq!(canonical("ADA@B\u{FFFD}.example"), "ada@b\u{FFFD}.example", "not IDNA: lowercase only");
    }
}
