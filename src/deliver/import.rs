//! Reading subscribers from CSV: an `email` column in any case and position
//! (Substack's `email`, Mailchimp's `Email Address` work as exported), `name`
//! or first and last name, every other column kept as a field for templates.
//! Bad rows are reported by line number; the good ones import.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result};

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
}

const EMAIL_HEADERS: &[&str] =
    &["email", "email address", "e-mail", "e-mail address", "emailaddress", "email_address", "mail"];
const NAME_HEADERS: &[&str] = &["name", "full name", "full_name", "fullname"];
const FIRST_HEADERS: &[&str] = &["first name", "first_name", "firstname", "given name"];
const LAST_HEADERS: &[&str] = &["last name", "last_name", "lastname", "surname", "family name"];

/// Reads `path`; fails only when the file cannot be read or has no email column.
pub fn read_csv(path: &Path) -> Result<Parsed> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&bytes).with_context(|| format!("{}", path.display()))
}

/// Parses CSV bytes (UTF-8, with or without a BOM, LF or CRLF).
pub fn parse(bytes: &[u8]) -> Result<Parsed> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(bytes);
    let headers: Vec<String> =
        reader.headers().context("line 1: cannot read the header row")?.iter().map(|h| h.trim().to_string()).collect();
    let find = |names: &[&str]| headers.iter().position(|h| names.contains(&h.to_lowercase().as_str()));
    let email_col = find(EMAIL_HEADERS).with_context(|| {
        format!("line 1: no email column (found: {}); name one column \"email\"", headers.join(", "))
    })?;
    let name_col = find(NAME_HEADERS);
    let first_col = find(FIRST_HEADERS);
    let last_col = find(LAST_HEADERS);
    let field_keys: Vec<String> = headers.iter().map(|h| field_key(h)).collect();

    let mut parsed = Parsed::default();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(bytes, p.byte()));
                parsed.bad.push(BadRow { line, reason: csv_reason(&e) });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| line_at(bytes, p.byte()));
        if record.iter().all(str::is_empty) {
            continue;
        }
        let email = record.get(email_col).unwrap_or("").trim().to_string();
        if let Err(reason) = check_address(&email) {
            parsed.bad.push(BadRow { line, reason });
            continue;
        }
        let key = email.to_lowercase();
        if let Some(&first) = seen.get(&key) {
            parsed.duplicates.push((line, first));
            continue;
        }
        seen.insert(key, line);
        let get = |col: Option<usize>| col.and_then(|c| record.get(c)).unwrap_or("").trim().to_string();
        let name = match name_col {
            Some(_) => get(name_col),
            None => {
                [get(first_col), get(last_col)].iter().filter(|s| !s.is_empty()).cloned().collect::<Vec<_>>().join(" ")
            }
        };
        let fields: BTreeMap<String, String> = field_keys
            .iter()
            .enumerate()
            .filter(|(i, k)| *i != email_col && !k.is_empty())
            .filter_map(|(i, k)| record.get(i).filter(|v| !v.is_empty()).map(|v| (k.clone(), v.to_string())))
            .collect();
        parsed.rows.push(NewSubscriber { email, name: one_line(&name), fields });
    }
    Ok(parsed)
}

/// The 1-based line of a record starting at `offset`. With CRLF endings the csv
/// crate's record positions point at the `\n` ending the previous line (and its
/// own line count drifts), so that byte is counted with the line before.
fn line_at(bytes: &[u8], offset: u64) -> u64 {
    let end = (offset as usize + 1).min(bytes.len());
    bytes[..end].iter().filter(|&&b| b == b'\n').count() as u64 + 1
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

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text: save the file as UTF-8".into(),
        _ => format!("unreadable CSV row: {e}"),
    }
}

/// Accepts the addresses a newsletter can deliver to.
pub fn check_address(email: &str) -> Result<(), String> {
    if email.is_empty() {
        return Err("no email address".into());
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("\"{email}\" contains a space or control character"));
    }
    let address: lettre::Address = email.parse().map_err(|_| format!("\"{email}\" is not an email address"))?;
    let domain = address.domain();
    if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
        return Err(format!("\"{email}\" has no valid domain"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let err = parse(b"name,phone\nA,1\n").unwrap_err().to_string();
        assert!(err.contains("no email column (found: name, phone)"), "{err}");
    }

    #[test]
    fn addresses() {
        assert!(check_address("a@example.com").is_ok());
        assert!(check_address("a@localhost").is_err());
        assert!(check_address("a b@example.com").is_err());
        assert!(check_address("a@example.com\r\nBcc: x@y.z").is_err());
    }
}
