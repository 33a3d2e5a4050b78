//! Reading subscribers from a list as services, forms and spreadsheets export
//! it (Substack, Mailchimp, ConvertKit, Ghost, Buttondown, Google Forms and
//! Sheets, Excel).
//!
//! - Encoding: UTF-8 with or without a BOM; UTF-16 LE or BE with a BOM (Excel's
//!   "Unicode Text"). A file that is not UTF-8 and has no BOM is read as
//!   Windows-1252, with a warning. A file with NUL bytes near its start (a
//!   workbook, not text) is refused.
//! - Layout: comma-, semicolon- or tab-separated, as the header row says (or
//!   Excel's `sep=;` first line); LF, CRLF or CR line ends; quoted fields may
//!   hold delimiters and line breaks. Lines of only spaces and delimiters are
//!   skipped; so, with a warning, are a few lines before the header row. When
//!   the first row already holds an address, the file has no header row.
//! - Columns: the email column under any of several names (Substack's `email`,
//!   Mailchimp's `Email Address`, ConvertKit's `email_address`, Google Forms'
//!   `Email address`, ...), compared without case, spaces or punctuation, a
//!   column named just `email` first; `name` or first and last name; every
//!   other column kept as a field for templates.
//! - Cells: `Jane Doe <jane@example.com>`, `<jane@example.com>` and
//!   `mailto:jane@example.com` give the address, and the display name when no
//!   name column has one.
//!
//! Bad rows are reported by the line they start on; the good ones import, once
//! per address (compared without case).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result};
use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

use crate::deliver::store::NewSubscriber;

/// A row that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
}

/// The good rows (de-duplicated, case-insensitively) and the bad ones.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<NewSubscriber>,
    pub bad: Vec<BadRow>,
    /// Rows that repeat an address of an earlier row: (line, first line).
    pub duplicates: Vec<(u64, u64)>,
    /// Things about the whole file worth knowing (a guessed encoding, skipped preamble).
    pub warnings: Vec<String>,
}

/// Why a whole file cannot be imported, and the line to blame when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub line: Option<u64>,
    pub reason: String,
}

/// Email column headers, as [`header_key`] writes them.
const EMAIL_HEADERS: &[&str] = &[
    "email",
    "emailaddress",
    "mail",
    "subscriberemail",
    "subscriberemailaddress",
    "useremail",
    "memberemail",
    "contactemail",
    "primaryemail",
    "email1",
    "email1value",
    "emailadresse",
    "emailadres",
    "adresseemail",
    "courriel",
    "correoelectrónico",
];
const NAME_HEADERS: &[&str] = &["name", "fullname", "displayname", "subscribername"];
const FIRST_HEADERS: &[&str] = &["firstname", "givenname", "fname", "vorname", "prénom", "prenom"];
const LAST_HEADERS: &[&str] = &["lastname", "surname", "familyname", "lname", "nachname"];

/// How many non-blank lines are looked at for the header row.
const PREAMBLE_LINES: usize = 10;
/// How far into a file a NUL byte makes it binary rather than text.
const BINARY_SNIFF: usize = 8192;
/// The longest address SMTP carries (RFC 5321), and the longest part before the `@`.
const MAX_ADDRESS: usize = 254;
const MAX_LOCAL_PART: usize = 64;

/// Reads `path`; fails only when the file cannot be read or has no email column.
pub fn read_csv(path: &Path) -> Result<Parsed> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&bytes).map_err(|refused| match refused.line {
        Some(line) => anyhow::anyhow!("{}:{line}: {}", path.display(), refused.reason),
        None => anyhow::anyhow!("{} {}", path.display(), refused.reason),
    })
}

/// Parses the bytes of a subscriber list (see the module docs for what it reads).
pub fn parse(bytes: &[u8]) -> Result<Parsed, Refused> {
    let decoded = decode(bytes)?;
    let text: &str = &decoded.text;
    let layout = locate(text)?;
    let mut parsed = Parsed::default();
    parsed.warnings.extend(decoded.warning);
    parsed.warnings.extend(layout.warning.clone());

    let headers = layout.headers.as_deref().unwrap_or_default();
    let find = |names: &[&str]| headers.iter().position(|h| names.contains(&header_key(h).as_str()));
    let columns = Columns {
        email: layout.email_col,
        name: find(NAME_HEADERS),
        first: find(FIRST_HEADERS),
        last: find(LAST_HEADERS),
        field_keys: headers.iter().map(|h| field_key(h)).collect(),
    };
    let mut lines = Lines::new(text);
    let mut seen: HashMap<String, u64> = HashMap::new();
    let body = &text[layout.offset..];
    for record in reader(body, layout.delimiter, layout.headers.is_some()).records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = lines.line_of(layout.offset + e.position().map_or(0, |p| p.byte() as usize));
                parsed.bad.push(BadRow { line, reason: format!("unreadable CSV row: {e}") });
                continue;
            }
        };
        let line = lines.line_of(layout.offset + record.position().map_or(0, |p| p.byte() as usize));
        if record.iter().all(|f| clean(f).is_empty()) {
            continue;
        }
        let row = match subscriber(&record, &columns, decoded.malformed) {
            Ok(row) => row,
            Err(reason) => {
                parsed.bad.push(BadRow { line, reason });
                continue;
            }
        };
        let key = row.email.to_lowercase();
        if let Some(&first) = seen.get(&key) {
            parsed.duplicates.push((line, first));
            continue;
        }
        seen.insert(key, line);
        parsed.rows.push(row);
    }
    Ok(parsed)
}

/// A file's text, and what decoding it found.
struct Decoded<'a> {
    text: Cow<'a, str>,
    warning: Option<String>,
    /// The encoding's name when some bytes were not valid in it (they read as U+FFFD).
    malformed: Option<&'static str>,
}

/// Decodes by the BOM; without one, as UTF-8 when the bytes are, else as Windows-1252.
fn decode(bytes: &[u8]) -> Result<Decoded<'_>, Refused> {
    let (encoding, rest, guessed) = match Encoding::for_bom(bytes) {
        Some((encoding, bom)) => (encoding, &bytes[bom..], false),
        None if std::str::from_utf8(bytes).is_ok() => (UTF_8, bytes, false),
        None => (WINDOWS_1252, bytes, true),
    };
    let (text, malformed) = encoding.decode_without_bom_handling(rest);
    if text.as_bytes()[..text.len().min(BINARY_SNIFF)].contains(&0) {
        return Err(Refused {
            line: None,
            reason: "is not CSV text: it has NUL bytes, as a spreadsheet workbook (.xlsx, .xls, .numbers) \
                     or another binary file does; export the list as CSV UTF-8"
                .into(),
        });
    }
    let warning = if guessed {
        Some("not UTF-8; read as Windows-1252 — save as UTF-8 to be sure".to_string())
    } else if malformed {
        Some(format!("has bytes that are not valid {}; the rows with them are skipped", encoding.name()))
    } else {
        None
    };
    Ok(Decoded { text, warning, malformed: malformed.then(|| encoding.name()) })
}

/// Where the rows start and how to read them.
#[derive(Debug)]
struct Layout {
    /// Byte offset of the header row, or of the first row when there is none.
    offset: usize,
    delimiter: u8,
    /// The header row's cells; `None` when the first row is already a subscriber.
    headers: Option<Vec<String>>,
    email_col: usize,
    warning: Option<String>,
}

/// Finds the header row: the first non-blank line (after Excel's `sep=` line),
/// or one of the few after it when it has no email column and no address. Each
/// candidate's delimiters are tried, most frequent first.
fn locate(text: &str) -> Result<Layout, Refused> {
    let mut forced = None;
    let mut first: Option<(u64, Vec<String>)> = None;
    let mut tried = 0;
    for (line, offset, content) in physical_lines(text) {
        if line == 1
            && let Some(delimiter) = sep_line(content)
        {
            forced = Some(delimiter);
            continue;
        }
        if is_blank(content) {
            continue;
        }
        let delimiters = forced.map_or_else(|| delimiters(content), |d| vec![d]);
        let mut rows = Vec::new();
        for &delimiter in &delimiters {
            let cells = first_record(&text[offset..], delimiter);
            if let Some(email_col) = email_column(&cells) {
                let warning = first.map(|(from, _)| match line - 1 {
                    to if to == from => format!("line {from} comes before the header row (line {line}); skipped"),
                    to => format!("lines {from}–{to} come before the header row (line {line}); skipped"),
                });
                return Ok(Layout { offset, delimiter, headers: Some(cells), email_col, warning });
            }
            rows.push(cells);
        }
        if first.is_none() {
            let cells = rows.swap_remove(0);
            let is_address = |cell: &String| mailbox(cell).is_ok_and(|(address, _)| check_address(&address).is_ok());
            if let Some(email_col) = cells.iter().position(is_address) {
                return Ok(Layout {
                    offset,
                    delimiter: delimiters[0],
                    headers: None,
                    email_col,
                    warning: Some(format!(
                        "line {line} is not a header row; column {} is read as the email addresses",
                        email_col + 1
                    )),
                });
            }
            first = Some((line, cells));
        }
        tried += 1;
        if tried == PREAMBLE_LINES {
            break;
        }
    }
    Err(match first {
        None => Refused { line: None, reason: "is empty; expected a header row with an email column".into() },
        Some((line, cells)) => {
            let mut found: Vec<String> = cells.iter().take(12).map(|c| shown(c, 40)).collect();
            if cells.len() > 12 {
                found.push("…".into());
            }
            Refused {
                line: Some(line),
                reason: format!("no email column (found: {}); name one column \"email\"", found.join(", ")),
            }
        }
    })
}

/// The lines of `text` as (1-based number, byte offset, content), split at
/// `\n`, `\r\n` or a lone `\r`, as the CSV reader splits them.
fn physical_lines(text: &str) -> impl Iterator<Item = (u64, usize, &str)> {
    let (mut offset, mut number) = (0, 0);
    std::iter::from_fn(move || {
        let rest = text.get(offset..).filter(|r| !r.is_empty())?;
        let end = rest.find(['\r', '\n']).unwrap_or(rest.len());
        let next = if rest[end..].starts_with("\r\n") { end + 2 } else { (end + 1).min(rest.len()) };
        number += 1;
        let line = (number, offset, &rest[..end]);
        offset += next;
        Some(line)
    })
}

/// The delimiter named by Excel's `sep=;` first line, if that is what `line` is.
fn sep_line(line: &str) -> Option<u8> {
    let rest = line.trim_matches(|c: char| c == '"' || c.is_whitespace() || is_invisible(c));
    let rest = rest.get(..4).filter(|p| p.eq_ignore_ascii_case("sep=")).map(|_| &rest[4..])?;
    let delimiter = *rest.as_bytes().first()?;
    (delimiter.is_ascii_punctuation() || delimiter == b'\t')
        .then_some(delimiter)
        .filter(|&d| rest.bytes().all(|b| b == d || b.is_ascii_whitespace()))
}

/// A line with nothing but spaces, delimiters and quotes.
fn is_blank(line: &str) -> bool {
    line.chars().all(|c| c.is_whitespace() || is_invisible(c) || matches!(c, ',' | ';' | '\t' | '"'))
}

/// The delimiters a header line may use, most frequent outside quotes first
/// (comma first among equals); a comma when it has none of them.
fn delimiters(line: &str) -> Vec<u8> {
    let mut counts = [(b',', 0), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for byte in line.bytes() {
        if byte == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some((_, n)) = counts.iter_mut().find(|(d, _)| *d == byte) {
            *n += 1;
        }
    }
    counts.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    let found: Vec<u8> = counts.iter().filter(|&&(_, n)| n > 0).map(|&(d, _)| d).collect();
    if found.is_empty() { vec![b','] } else { found }
}

/// The cells of the first record of `text`.
fn first_record(text: &str, delimiter: u8) -> Vec<String> {
    let mut record = csv::StringRecord::new();
    match reader(text, delimiter, false).read_record(&mut record) {
        Ok(true) => record.iter().map(|c| clean(c).to_string()).collect(),
        _ => Vec::new(),
    }
}

fn reader(text: &str, delimiter: u8, has_headers: bool) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(has_headers)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes())
}

/// The email column: the first headed just "email" (or "E-mail", ...), else the
/// first with another of [`EMAIL_HEADERS`].
fn email_column(headers: &[String]) -> Option<usize> {
    let keys: Vec<String> = headers.iter().map(|h| header_key(h)).collect();
    keys.iter().position(|k| k == "email").or_else(|| keys.iter().position(|k| EMAIL_HEADERS.contains(&k.as_str())))
}

/// A header as it is compared: lowercase letters and digits only, so that
/// `"Email Address"`, `email_address` and `E-mail address` are the same.
fn header_key(header: &str) -> String {
    header.chars().flat_map(char::to_lowercase).filter(|c| c.is_alphanumeric()).collect()
}

/// Which columns hold what.
struct Columns {
    email: usize,
    name: Option<usize>,
    first: Option<usize>,
    last: Option<usize>,
    /// Per column, its key in `fields` (empty for a column without a header).
    field_keys: Vec<String>,
}

/// The subscriber on one row, or why there is none.
fn subscriber(record: &csv::StringRecord, columns: &Columns, malformed: Option<&str>) -> Result<NewSubscriber, String> {
    if let Some(encoding) = malformed
        && record.iter().any(|f| f.contains('\u{FFFD}'))
    {
        return Err(format!("has bytes that are not valid {encoding}: save the file as UTF-8"));
    }
    if record.iter().any(|f| f.contains('\0')) {
        return Err("has a NUL byte: binary data, not text".into());
    }
    let (email, display) = mailbox(record.get(columns.email).unwrap_or(""))?;
    check_address(&email)?;
    let get = |col: Option<usize>| col.and_then(|c| record.get(c)).map_or("", clean);
    let full = [get(columns.first), get(columns.last)].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>();
    let name = [get(columns.name).to_string(), full.join(" "), display].into_iter().find(|n| !n.is_empty());
    let fields: BTreeMap<String, String> = columns
        .field_keys
        .iter()
        .enumerate()
        .filter(|(i, k)| *i != columns.email && !k.is_empty())
        .filter_map(|(i, k)| record.get(i).map(clean).filter(|v| !v.is_empty()).map(|v| (k.clone(), v.to_string())))
        .collect();
    Ok(NewSubscriber { email, name: one_line(&name.unwrap_or_default()), fields })
}

/// The address in an email cell and the display name beside it ("" when none):
/// `Jane Doe <jane@example.com>`, `"Doe, Jane" <jane@example.com>`,
/// `<jane@example.com>`, `mailto:jane@example.com`, or a bare address.
fn mailbox(cell: &str) -> Result<(String, String), String> {
    let cell = clean(cell);
    let (display, address) = match cell.strip_suffix('>').and_then(|c| c.rsplit_once('<')) {
        Some((display, address)) => (unquote(clean(display)), clean(address)),
        None => (String::new(), cell),
    };
    if display.contains(['<', '>']) {
        return Err(format!("{} has stray angle brackets", quoted(cell)));
    }
    let address = match address.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("mailto:") => {
            let link = address[7..].split('?').next().unwrap_or("");
            clean(&percent_decode(link).ok_or_else(|| format!("{} is not a valid mailto: link", quoted(cell)))?)
                .to_string()
        }
        _ => address.to_string(),
    };
    Ok((address, one_line(&display)))
}

/// A display name without the quotes around it (`"Doe, Jane"` → `Doe, Jane`).
fn unquote(display: &str) -> String {
    let inner = |q: char| display.strip_prefix(q).and_then(|d| d.strip_suffix(q)).filter(|_| display.len() > 1);
    match inner('"') {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => inner('\'').unwrap_or(display).to_string(),
    }
}

/// `jane%2Bnews@example.com` → `jane+news@example.com`; `None` when the
/// decoded bytes are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text).decode_utf8().ok().map(|s| s.into_owned())
}

/// Line numbers of byte offsets met in increasing order; it counts line breaks
/// (`\n`, `\r\n` or a lone `\r`) once each, from where it last stopped.
struct Lines<'a> {
    text: &'a [u8],
    at: usize,
    line: u64,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        Lines { text: text.as_bytes(), at: 0, line: 1 }
    }

    /// The line of the record at `offset`. The CSV reader's record positions
    /// can point at the line break ending the line before (with CRLF, or after
    /// blank lines), so the record starts after any line breaks there.
    fn line_of(&mut self, offset: usize) -> u64 {
        let mut start = offset.min(self.text.len());
        while self.text.get(start).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            start += 1;
        }
        for i in self.at..start {
            let byte = self.text[i];
            if byte == b'\n' || (byte == b'\r' && self.text.get(i + 1) != Some(&b'\n')) {
                self.line += 1;
            }
        }
        self.at = self.at.max(start);
        self.line
    }
}

/// "First Name" → "first_name", for `recipient.fields.first_name` in templates.
fn field_key(header: &str) -> String {
    let mut key = String::new();
    for c in header.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            key.push(c);
        } else if !key.ends_with('_') && !key.is_empty() {
            key.push('_');
        }
    }
    key.trim_end_matches('_').to_string()
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` without the spaces and invisible characters (zero-width spaces,
/// BOMs, no-break spaces) around it.
fn clean(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_whitespace() || is_invisible(c))
}

/// A format character (Unicode category Cf): zero-width spaces and joiners,
/// BOMs, soft hyphens, direction marks.
fn is_invisible(c: char) -> bool {
    use icu_properties::props::GeneralCategory;
    icu_properties::CodePointMapData::<GeneralCategory>::new().get(c) == GeneralCategory::Format
}

/// `text` for a message: at most `max` characters, control characters as U+FFFD.
fn shown(text: &str, max: usize) -> String {
    let mut shown: String = text.chars().take(max).map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect();
    if text.chars().nth(max).is_some() {
        shown.push('…');
    }
    shown
}

/// `text` in quotes for a message, shortened by [`shown`].
fn quoted(text: &str) -> String {
    format!("\"{}\"", shown(text, 60))
}

/// Accepts the addresses a newsletter can deliver to: what `lettre` parses, at
/// most 254 bytes, without spaces, control or invisible characters or angle
/// brackets, no dot at either end of a part or next to another, and a dot in
/// the domain. The reason names the first problem found.
pub fn check_address(email: &str) -> Result<(), String> {
    let shown = quoted(email);
    if email.is_empty() {
        return Err("no email address".into());
    }
    if email.len() > MAX_ADDRESS {
        return Err(format!("{shown} is longer than {MAX_ADDRESS} bytes"));
    }
    if email.contains(['<', '>']) {
        return Err(format!("{shown} has stray angle brackets"));
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{shown} contains a space or control character"));
    }
    if let Some(c) = email.chars().find(|&c| is_invisible(c)) {
        return Err(format!("{shown} contains an invisible character (U+{:04X})", u32::from(c)));
    }
    let Some((local, domain)) = email.rsplit_once('@').filter(|(l, d)| !l.is_empty() && !d.is_empty()) else {
        return Err(format!("{shown} is not an email address"));
    };
    if email.contains("..") {
        return Err(format!("{shown} has two dots in a row"));
    }
    if local.starts_with('.') || local.ends_with('.') {
        return Err(format!("{shown} has a dot at the start or end of the part before the @"));
    }
    if domain.starts_with('.') || domain.ends_with('.') {
        return Err(format!("{shown} has no valid domain: it starts or ends with a dot"));
    }
    if !domain.contains('.') {
        return Err(format!("{shown} has no valid domain: it has no dot"));
    }
    if local.len() > MAX_LOCAL_PART {
        return Err(format!("{shown} is longer than {MAX_LOCAL_PART} bytes before the @"));
    }
    email.parse::<lettre::Address>().map_err(|_| format!("{shown} is not an email address"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        let bom: &[u8] = if big_endian { &[0xFE, 0xFF] } else { &[0xFF, 0xFE] };
        let units = text.encode_utf16().flat_map(|u| if big_endian { u.to_be_bytes() } else { u.to_le_bytes() });
        bom.iter().copied().chain(units).collect()
    }

    fn emails(parsed: &Parsed) -> Vec<&str> {
        parsed.rows.iter().map(|r| r.email.as_str()).collect()
    }

    fn refused(bytes: &[u8]) -> Refused {
        parse(bytes).unwrap_err()
    }

    #[test]
    fn mailchimp_export_with_bom_crlf_and_quotes() {
        let csv = "\u{FEFF}\"Email Address\",\"First Name\",\"Last Name\",Company\r\n\
                   ada@example.com,Ada,Lovelace,\"Analytical, Ltd\"\r\n\
                   not-an-address,Bad,Row,\r\n\
                   ADA@EXAMPLE.COM,Ada,Again,\r\n\
                   grace@example.org,Grace,Hopper,\"Navy \"\"Yard\"\"\"\r\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!(parsed.rows.len(), 2);
        assert_eq!(parsed.rows[0].email, "ada@example.com");
        assert_eq!(parsed.rows[0].name, "Ada Lovelace");
        assert_eq!(parsed.rows[0].fields["company"], "Analytical, Ltd");
        assert_eq!(parsed.rows[1].fields["company"], "Navy \"Yard\"");
        assert_eq!(parsed.bad, vec![BadRow { line: 3, reason: "\"not-an-address\" is not an email address".into() }]);
        assert_eq!(parsed.duplicates, vec![(4, 2)]);
        assert!(parsed.warnings.is_empty());
    }

    #[test]
    fn substack_export_and_any_column_order() {
        let csv = "created_at,email,active_subscription\n2024-01-01,reader@example.com,true\n,,\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rows[0].fields["active_subscription"], "true");
        assert!(parsed.bad.is_empty());
    }

    #[test]
    fn no_email_column_is_an_error_naming_the_columns() {
        let err = refused(b"name,phone\nA,1\n");
        assert_eq!(err.line, Some(1));
        assert_eq!(err.reason, "no email column (found: name, phone); name one column \"email\"");
    }

    #[test]
    fn semicolons_from_european_excel() {
        let csv = "E-Mail-Adresse;Vorname;Nachname;Betrag\r\nanna@example.de;Anna;Müller;1,50\r\n\
                   \"bernd@example.de\";\"Bernd; Jr.\";Schmidt;\"2,00\"\r\n;;;\r\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!(emails(&parsed), ["anna@example.de", "bernd@example.de"]);
        assert_eq!(parsed.rows[0].name, "Anna Müller");
        assert_eq!(parsed.rows[0].fields["betrag"], "1,50");
        assert_eq!(parsed.rows[1].name, "Bernd; Jr. Schmidt");
        assert!(parsed.bad.is_empty(), "{:?}", parsed.bad);
    }

    #[test]
    fn the_delimiter_is_counted_outside_quotes_and_comma_wins_ties() {
        assert_eq!(delimiters("\"Name, full; or not\";Email"), [b';']);
        assert_eq!(delimiters("Email\tName\tNote, long"), [b'\t', b',']);
        assert_eq!(delimiters("Email;Name,Note"), [b',', b';']);
        assert_eq!(delimiters("Email"), [b',']);
        // A tie is settled by which delimiter gives an email column.
        let parsed = parse(b"Name, first;Email\nAda;ada@example.com\n").unwrap();
        assert_eq!(emails(&parsed), ["ada@example.com"]);
    }

    #[test]
    fn excel_sep_line_names_the_delimiter() {
        let parsed = parse(b"sep=;\r\nemail;name\r\nada@example.com;Ada, Countess\r\nbad;x\r\n").unwrap();
        assert_eq!(emails(&parsed), ["ada@example.com"]);
        assert_eq!(parsed.rows[0].name, "Ada, Countess");
        assert_eq!(parsed.bad[0].line, 4);
        assert_eq!(sep_line("\"sep=|\""), Some(b'|'));
        assert_eq!(sep_line("sep=ab"), None);
    }

    #[test]
    fn tabs_from_excel_unicode_text_utf16le() {
        let text = "Email Address\tFirst Name\tNotes\r\nada@example.com\tAda\t\"two\r\nlines\"\r\nnope\tX\t\r\n\
                    grace@example.org\tGrace\t\"a, b; c\"\r\n";
        let parsed = parse(&utf16(text, false)).unwrap();
        assert_eq!(emails(&parsed), ["ada@example.com", "grace@example.org"]);
        assert_eq!(parsed.rows[0].fields["notes"], "two\r\nlines");
        assert_eq!(parsed.rows[1].fields["notes"], "a, b; c");
        assert_eq!(parsed.bad, vec![BadRow { line: 4, reason: "\"nope\" is not an email address".into() }]);
        assert!(parsed.warnings.is_empty());
    }

    #[test]
    fn utf16_big_endian_with_bom() {
        let parsed = parse(&utf16("email,name\nzoë@example.com,Zoë\n", true)).unwrap();
        assert_eq!(emails(&parsed), ["zoë@example.com"]);
        assert_eq!(parsed.rows[0].name, "Zoë");
    }

    #[test]
    fn windows_1252_without_bom_is_read_with_a_warning() {
        let parsed = parse(b"email;name\njose@example.com;Jos\xe9 \x93Pepe\x94\n").unwrap();
        assert_eq!(parsed.rows[0].name, "José “Pepe”");
        assert_eq!(parsed.warnings, ["not UTF-8; read as Windows-1252 — save as UTF-8 to be sure"]);
        assert!(parse("email\nzoë@example.com\n".as_bytes()).unwrap().warnings.is_empty());
    }

    #[test]
    fn bad_bytes_after_a_bom_skip_their_rows() {
        let parsed = parse(b"\xEF\xBB\xBFemail,name\na@example.com,Bad \xff\nb@example.com,Good\n").unwrap();
        assert_eq!(emails(&parsed), ["b@example.com"]);
        assert_eq!(
            parsed.bad,
            vec![BadRow { line: 2, reason: "has bytes that are not valid UTF-8: save the file as UTF-8".into() }]
        );
        assert_eq!(parsed.warnings, ["has bytes that are not valid UTF-8; the rows with them are skipped"]);
    }

    #[test]
    fn line_numbers_hold_for_every_encoding_delimiter_and_line_end() {
        for end in ["\n", "\r\n", "\r"] {
            for delimiter in [",", ";", "\t"] {
                let text = ["email", "name", "note"].join(delimiter)
                    + end
                    + &["a@example.com", "A", "\"one", ""].join(delimiter)
                    + "two"
                    + end
                    + "three\""
                    + end
                    + end
                    + &["bad@", "B", ""].join(delimiter)
                    + end
                    + &["c@example.com", "C", ""].join(delimiter)
                    + end
                    + &["A@example.com", "A", "again"].join(delimiter)
                    + end;
                let mut encodings = vec![
                    text.clone().into_bytes(),
                    [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
                    utf16(&text, false),
                    utf16(&text, true),
                ];
                let latin = text.replace("B", "B\u{e9}");
                encodings.push(WINDOWS_1252.encode(&latin).0.into_owned());
                for bytes in encodings {
                    let parsed = parse(&bytes).unwrap();
                    let what = format!("{end:?} {delimiter:?} {bytes:?}");
                    assert_eq!(emails(&parsed), ["a@example.com", "c@example.com"], "{what}");
                    assert_eq!(parsed.bad.len(), 1, "{what}");
                    assert_eq!(parsed.bad[0].line, 5, "{what}");
                    assert_eq!(parsed.duplicates, [(7, 2)], "{what}");
                }
            }
        }
    }

    #[test]
    fn addresses_in_display_name_and_mailto_cells() {
        let csv = "email,name\n\
                   Jane Doe <jane@example.com>,\n\
                   \"\"\"Doe, John\"\" <john@example.com>\",\n\
                   <kim@example.com>,Kim K\n\
                   mailto:lee%2Bnews@example.com?subject=hi,\n\
                   MAILTO:max@example.com,\n\
                   Named <named@example.com>,Column Name\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        let got: Vec<(&str, &str)> = parsed.rows.iter().map(|r| (r.email.as_str(), r.name.as_str())).collect();
        assert_eq!(
            got,
            [
                ("jane@example.com", "Jane Doe"),
                ("john@example.com", "Doe, John"),
                ("kim@example.com", "Kim K"),
                ("lee+news@example.com", ""),
                ("max@example.com", ""),
                ("named@example.com", "Column Name"),
            ]
        );
        assert!(parsed.bad.is_empty(), "{:?}", parsed.bad);
        // Unquoted in a semicolon file, the csv reader joins the quoted name and the rest.
        let parsed = parse(b"email;name\n\"Doe, Jane\" <jane@example.com>;\n").unwrap();
        assert_eq!((parsed.rows[0].email.as_str(), parsed.rows[0].name.as_str()), ("jane@example.com", "Doe, Jane"));
    }

    #[test]
    fn stray_angle_brackets_are_bad_rows() {
        for cell in ["<jane@example.com", "jane@example.com>", "<<jane@example.com>>", "Jane <jane@example.com> x"] {
            let parsed = parse(format!("email\n{cell}\n").as_bytes()).unwrap();
            assert_eq!(parsed.bad.len(), 1, "{cell}");
            assert!(parsed.bad[0].reason.ends_with("has stray angle brackets"), "{cell}: {:?}", parsed.bad);
        }
        let parsed = parse(b"email\n<>\nmailto:%ff@example.com\n").unwrap();
        assert_eq!(parsed.bad[0].reason, "no email address");
        assert_eq!(parsed.bad[1].reason, "\"mailto:%ff@example.com\" is not a valid mailto: link");
    }

    #[test]
    fn headers_match_without_case_spaces_quotes_or_bom() {
        for header in
            ["EMAIL", " Email ", "'email'", "\u{FEFF}\u{FEFF}email", "E-mail", "Email address", "email_address"]
        {
            let parsed = parse(format!("{header},x\na@example.com,1\n").as_bytes()).unwrap();
            assert_eq!(emails(&parsed), ["a@example.com"], "{header:?}");
        }
        let google_form = "Timestamp,Email address,Your name\n2024/01/01 10:00:00,a@example.com,Ada\n";
        assert_eq!(emails(&parse(google_form.as_bytes()).unwrap()), ["a@example.com"]);
        assert_eq!(email_column(&["Subscriber Email".into(), "x".into()]), Some(0));
        assert_eq!(email_column(&["Email Address".into(), "E-mail".into()]), Some(1));
        assert_eq!(email_column(&["Contact Email".into(), "User Email".into()]), Some(0));
        assert_eq!(email_column(&["email_disabled".into(), "emails".into()]), None);
    }

    #[test]
    fn empty_blank_and_header_only_files() {
        for empty in ["", "\u{FEFF}", " \r\n\r\n", ",,,\n;;\n", "sep=;\n"] {
            assert_eq!(
                refused(empty.as_bytes()),
                Refused { line: None, reason: "is empty; expected a header row with an email column".into() },
                "{empty:?}"
            );
        }
        let parsed = parse(b"email,name\r\n").unwrap();
        assert!(parsed.rows.is_empty() && parsed.bad.is_empty());
        let parsed = parse("\n \nemail,name\n\n,,\n \t \na@example.com,A\n\u{a0},\u{200b}\n".as_bytes()).unwrap();
        assert_eq!(emails(&parsed), ["a@example.com"]);
        assert!(parsed.bad.is_empty() && parsed.warnings.is_empty());
    }

    #[test]
    fn binary_files_are_refused_and_nul_rows_are_bad() {
        let xlsx = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml";
        assert!(refused(xlsx).reason.starts_with("is not CSV text: it has NUL bytes"));
        let ole = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00\x00\x00";
        assert!(refused(ole).reason.starts_with("is not CSV text"));
        let late = format!("email,note\n{}a@example.com,x\0y\nb@example.com,ok\n", "c@example.com,pad\n".repeat(600));
        let parsed = parse(late.as_bytes()).unwrap();
        assert_eq!(parsed.bad, vec![BadRow { line: 602, reason: "has a NUL byte: binary data, not text".into() }]);
        assert_eq!(parsed.rows.len(), 2);
    }

    #[test]
    fn long_lines_make_bad_rows_or_a_short_error() {
        let long = "x".repeat(2_000_000);
        let parsed = parse(format!("email,name\n{long}@example.com,A\nb@example.com,{long}\n").as_bytes()).unwrap();
        assert_eq!(parsed.bad.len(), 1);
        assert_eq!(parsed.bad[0].line, 2);
        assert!(parsed.bad[0].reason.ends_with("…\" is longer than 254 bytes"), "{}", &parsed.bad[0].reason[..100]);
        assert!(parsed.bad[0].reason.len() < 100);
        assert_eq!(emails(&parsed), ["b@example.com"]);
        let err = refused(format!("{long},{}\n", "y,".repeat(100)).as_bytes());
        assert!(err.reason.len() < 700, "{}", err.reason.len());
        assert!(err.reason.contains("xxx…, y, y"), "{}", &err.reason[..100]);
    }

    #[test]
    fn preamble_lines_before_the_header_are_skipped_with_a_warning() {
        let parsed = parse(b"Subscribers export\nGenerated 2024-01-01\n\nEmail;Name\na@example.com;A\n").unwrap();
        assert_eq!(emails(&parsed), ["a@example.com"]);
        assert_eq!(parsed.warnings, ["lines 1–3 come before the header row (line 4); skipped"]);
        let parsed = parse(b"My list\nemail\na@example.com\n").unwrap();
        assert_eq!(parsed.warnings, ["line 1 comes before the header row (line 2); skipped"]);
        let err = refused(format!("title\n{}email\na@example.com\n", "x\n".repeat(PREAMBLE_LINES)).as_bytes());
        assert_eq!(
            err,
            Refused { line: Some(1), reason: "no email column (found: title); name one column \"email\"".into() }
        );
    }

    #[test]
    fn a_list_without_a_header_row() {
        let parsed = parse(b"Ada <ada@example.com>\ngrace@example.org\nnot-one\n").unwrap();
        assert_eq!(emails(&parsed), ["ada@example.com", "grace@example.org"]);
        assert_eq!(parsed.rows[0].name, "Ada");
        assert_eq!(parsed.bad[0].line, 3);
        assert_eq!(parsed.warnings, ["line 1 is not a header row; column 1 is read as the email addresses"]);
        let parsed = parse(b"Ada;ada@example.com;x\n").unwrap();
        assert_eq!(emails(&parsed), ["ada@example.com"]);
        assert!(parsed.rows[0].fields.is_empty());
    }

    #[test]
    fn addresses() {
        assert!(check_address("a@example.com").is_ok());
        assert!(check_address("a@localhost").is_err());
        assert!(check_address("a b@example.com").is_err());
        assert!(check_address("a@example.com\r\nBcc: x@y.z").is_err());
        // Internationalised addresses that lettre accepts stay accepted.
        assert_eq!(check_address("jörg@bücher.example"), Ok(()));
        assert_eq!(check_address("用户@例子.广告"), Ok(()));
        let reason = |email: &str| check_address(email).unwrap_err();
        assert_eq!(reason("jane..doe@example.com"), "\"jane..doe@example.com\" has two dots in a row");
        assert_eq!(reason("jane@example..com"), "\"jane@example..com\" has two dots in a row");
        assert_eq!(
            reason(".jane@example.com"),
            "\".jane@example.com\" has a dot at the start or end of the part before the @"
        );
        assert_eq!(
            reason("jane@example.com."),
            "\"jane@example.com.\" has no valid domain: it starts or ends with a dot"
        );
        assert_eq!(reason("jane@localhost"), "\"jane@localhost\" has no valid domain: it has no dot");
        assert_eq!(reason("jane@"), "\"jane@\" is not an email address");
        assert_eq!(
            reason("ja\u{200B}ne@example.com"),
            "\"ja\u{200B}ne@example.com\" contains an invisible character (U+200B)"
        );
        assert_eq!(reason("<jane@example.com>"), "\"<jane@example.com>\" has stray angle brackets");
        assert_eq!(
            reason(&format!("{}@example.com", "a".repeat(65))),
            format!("\"{}…\" is longer than 64 bytes before the @", "a".repeat(60))
        );
        let long = format!("{}@{}.com", "a".repeat(59), vec!["b".repeat(63); 3].join("."));
        assert_eq!(long.len(), 255);
        assert!(reason(&long).ends_with("is longer than 254 bytes"));
        assert_eq!(check_address(&long[1..]), Ok(()));
    }

    #[test]
    fn invisible_characters_and_spaces_around_addresses_are_trimmed() {
        let csv = "email\n\u{200B}a@example.com\u{FEFF}\n\u{A0} b@example.com \u{200D}\n\t<c@example.com>\u{2060}\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!(emails(&parsed), ["a@example.com", "b@example.com", "c@example.com"]);
    }
}
