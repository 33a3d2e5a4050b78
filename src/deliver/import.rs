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
//! - Status: the columns in which the services' own exports say who must not
//!   be mailed (see [`STATUS_COLUMNS`] and [`Mailchimp`]). Such a row is not a
//!   subscriber but a [`SuppressedRow`]: unsubscribed, bounced, complained or
//!   removed, with the reason the service gave. A row whose status is not
//!   known, or not yet a yes (an unconfirmed sign-up), is [`KeptOut`]: neither
//!   imported nor recorded, and reported by its line.
//!
//! Bad rows are reported by the line they start on; the good ones import, once
//! per address (compared without case; a row saying not to mail someone wins
//! over an earlier one that does not).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::Path;

use anyhow::Result;
use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

use crate::deliver::address::{canonical, check_address, is_invisible, quoted, shown};
#[cfg(test)]
use crate::deliver::store::NewSubscriber;
use crate::deliver::store::Status;
use crate::deliver::store::audience::{ConsentEvent, Restored};

/// A row that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
}

/// A row whose export says the person must not be mailed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppressedRow {
    pub line: u64,
    pub email: String,
    /// Unsubscribed, bounced, complained or removed.
    pub status: Status,
    /// The reason the service gave, in words.
    pub reason: String,
    /// When they left or bounced, when the file says and it can be read.
    pub at: Option<jiff::Timestamp>,
    /// How they joined and their consent record, from our own export.
    pub record: Option<Restored>,
}

/// A row neither imported nor recorded, because its status does not say
/// whether the person may be mailed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptOut {
    pub line: u64,
    pub email: String,
    pub why: KeptOutWhy,
    /// What the status says and what to do, for the report.
    pub reason: String,
}

/// Why a row was kept out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeptOutWhy {
    /// A status value this import does not know.
    UnknownStatus,
    /// A known status that is not yet (or no longer quite) a yes: an
    /// unconfirmed sign-up, a blocked or disabled one.
    NotConfirmed,
}

/// The good rows (de-duplicated, case-insensitively) and the bad ones.
#[cfg(test)]
#[derive(Debug, Default)]
pub struct Parsed {
    /// The people to mail.
    pub rows: Vec<NewSubscriber>,
    /// The people the file says must not be mailed.
    pub suppressed: Vec<SuppressedRow>,
    /// The people whose status says neither.
    pub kept_out: Vec<KeptOut>,
    pub bad: Vec<BadRow>,
    /// Rows left out because another row has their address: (line, line kept).
    pub duplicates: Vec<(u64, u64)>,
    /// Things about the whole file worth knowing (a guessed encoding, skipped preamble).
    pub warnings: Vec<String>,
    /// The service whose status columns the file has, when it has them.
    pub service: Option<Service>,
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

/// The columns of `subscribers export` beside the fields, and the prefix of
/// a field's column when its key is one of them.
pub const EXPORT_COLUMNS: [&str; 5] = ["email", "name", "status", "joined_by", "consent"];
pub const EXPORT_FIELD: &str = "field:";

/// The longest name kept, in characters (the rest is cut off).
const NAME_MAX: usize = 200;

/// How many non-blank lines are looked at for the header row.
const PREAMBLE_LINES: usize = 10;
/// How far into a file a NUL byte makes it binary rather than text.
const BINARY_SNIFF: usize = 8192;

/// How much of a file's start (decoded) is read to find its header row: at
/// least this much, and the first [`PREAMBLE_LINES`] lines ...
const HEAD_MIN: usize = 64 * 1024;
/// ... unless that takes more than this.
const HEAD_MAX: usize = 8 * 1024 * 1024;
/// The buffer of each read of the file.
const CHUNK: usize = 256 * 1024;

/// What a list says about itself before its rows.
#[derive(Debug, Default)]
pub struct Header {
    /// Things about the whole file worth knowing (a guessed encoding, skipped preamble).
    pub warnings: Vec<String>,
    /// The service whose status columns the file has, when it has them.
    pub service: Option<Service>,
}

/// Someone to mail, as one row of a file says.
#[derive(Debug)]
pub struct Person {
    pub email: String,
    pub name: String,
    /// The other columns, as a JSON object of the keys (sorted) with a value.
    pub fields: String,
    pub line: u64,
    /// How they joined and their consent record, from our own export.
    pub record: Option<Restored>,
}

/// One good row, by what it says about its person.
#[derive(Debug)]
pub enum Row {
    /// Someone to mail.
    Active(Person),
    /// Someone the file says must not be mailed.
    Suppressed(SuppressedRow),
    /// Someone whose status says neither.
    KeptOut(KeptOut),
}

#[cfg(test)]
impl Row {
    pub fn email(&self) -> &str {
        match self {
            Row::Active(row) => &row.email,
            Row::Suppressed(row) => &row.email,
            Row::KeptOut(row) => &row.email,
        }
    }

    pub fn line(&self) -> u64 {
        match self {
            Row::Active(row) => row.line,
            Row::Suppressed(row) => row.line,
            Row::KeptOut(row) => row.line,
        }
    }
}

/// Reads `path` row by row, in constant memory, giving `each` every row that
/// is not blank: the row, or why it is bad. Fails only when the file cannot be
/// read, has no email column, or `each` fails. Rows are not de-duplicated.
pub fn stream_csv(path: &Path, each: &mut dyn FnMut(u64, Result<Row, String>) -> Result<()>) -> Result<Header> {
    stream(&path, each).map_err(|e| match e.downcast::<Refused>() {
        Ok(Refused { line: Some(line), reason }) => anyhow::anyhow!("{}:{line}: {reason}", path.display()),
        Ok(Refused { line: None, reason }) => anyhow::anyhow!("{} {reason}", path.display()),
        Err(e) => e.context(format!("cannot read {}", path.display())),
    })
}

/// Parses the bytes of a subscriber list (see the module docs for what it
/// reads), de-duplicated as an import does.
#[cfg(test)]
pub fn parse(bytes: &[u8]) -> Result<Parsed, Refused> {
    use std::collections::HashMap;
    let mut parsed = Parsed::default();
    let mut entries: Vec<Row> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let header = stream(&bytes, &mut |line, row| {
        let row = match row {
            Ok(row) => row,
            Err(reason) => {
                parsed.bad.push(BadRow { line, reason });
                return Ok(());
            }
        };
        let key = row.email().to_lowercase();
        match seen.get(&key) {
            None => {
                seen.insert(key, entries.len());
                entries.push(row);
            }
            // Not mailing someone the file also lists wins over mailing them.
            Some(&i) if matches!(row, Row::Suppressed(_)) && !matches!(entries[i], Row::Suppressed(_)) => {
                parsed.duplicates.push((entries[i].line(), line));
                entries[i] = row;
            }
            Some(&i) => parsed.duplicates.push((line, entries[i].line())),
        }
        Ok(())
    })
    .map_err(|e| match e.downcast::<Refused>() {
        Ok(refused) => refused,
        Err(e) => Refused { line: None, reason: format!("cannot be read: {e:#}") },
    })?;
    parsed.duplicates.sort_unstable();
    parsed.warnings = header.warnings;
    parsed.service = header.service;
    for entry in entries {
        match entry {
            Row::Active(row) => parsed.rows.push(NewSubscriber {
                email: row.email,
                name: row.name,
                fields: serde_json::from_str(&row.fields).expect("the fields are a JSON object"),
                line: row.line,
            }),
            Row::Suppressed(row) => parsed.suppressed.push(row),
            Row::KeptOut(row) => parsed.kept_out.push(row),
        }
    }
    Ok(parsed)
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for Refused {}

/// Where a list's bytes come from: opened once per pass over them.
trait Source {
    fn open(&self) -> std::io::Result<Box<dyn Read + '_>>;
}

impl Source for &Path {
    fn open(&self) -> std::io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(std::fs::File::open(*self)?))
    }
}

impl Source for &[u8] {
    fn open(&self) -> std::io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(*self))
    }
}

/// How to read a file's rows, found in a first pass over it.
struct Plan {
    encoding: &'static Encoding,
    /// The BOM's length.
    bom: usize,
    /// The encoding's name when some bytes were not valid in it (they read as U+FFFD).
    malformed: Option<&'static str>,
    layout: Layout,
    headers: Vec<String>,
    columns: Columns,
    reading: Option<Reading>,
    warnings: Vec<String>,
}

/// Reads `source` twice or, when a status column shows only in its values
/// (Kit's `state`), up to three times; never whole into memory.
fn stream(source: &dyn Source, each: &mut dyn FnMut(u64, Result<Row, String>) -> Result<()>) -> Result<Header> {
    let plan = plan(source)?;
    let Plan { malformed, ref columns, ref reading, ref headers, .. } = plan;
    records(source, &plan, &mut |line, record| {
        let record = match record {
            Ok(record) => record,
            Err(reason) => {
                each(line, Err(reason))?;
                return Ok(true);
            }
        };
        // Cells past the header's (an unquoted comma in a name moved them):
        // read as they are, the row's cells would go into the wrong columns.
        if let Some(extra) = headers.len().checked_sub(1).and_then(|last| {
            let mut beyond = record.iter().skip(last + 1).map(clean).filter(|c| !c.is_empty()).peekable();
            beyond.peek().is_some().then(|| beyond.map(|c| shown(c, 30)).take(3).collect::<Vec<_>>())
        }) {
            let reason = format!(
                "has {} cells where the header row has {} (more: {}); put a cell that holds the delimiter in \
                 double quotes",
                record.len(),
                headers.len(),
                extra.join(", ")
            );
            each(line, Err(reason))?;
            return Ok(true);
        }
        let row = match subscriber(record, columns, malformed) {
            Ok(row) => Person { line, ..row },
            Err(reason) => {
                each(line, Err(reason))?;
                return Ok(true);
            }
        };
        let row = match reading.as_ref().map(|r| r.standing(record, headers)) {
            None | Some(Standing::Active) => Row::Active(row),
            Some(Standing::Suppressed { status, reason, at }) => {
                // Our own export says when in its consent record.
                let at = at.or_else(|| row.record.as_ref().and_then(|r| last_event(r, status.as_str())));
                Row::Suppressed(SuppressedRow { line, email: row.email, status, reason, at, record: row.record })
            }
            Some(Standing::KeptOut { why, reason }) => Row::KeptOut(KeptOut { line, email: row.email, why, reason }),
        };
        each(line, Ok(row))?;
        Ok(true)
    })?;
    Ok(Header { service: plan.reading.as_ref().map(Reading::service), warnings: plan.warnings })
}

/// The first pass: the encoding (is every byte valid?), the header row, the
/// columns, and the status column.
fn plan(source: &dyn Source) -> Result<Plan> {
    let mut input = source.open()?;
    let mut start = Vec::with_capacity(4);
    input.by_ref().take(3).read_to_end(&mut start)?;
    let (encoding, bom) = Encoding::for_bom(&start).unwrap_or((UTF_8, 0));
    let guessed = bom == 0 && !is_utf8(start.chain(input))?;
    let encoding = if guessed { WINDOWS_1252 } else { encoding };
    let malformed = match (bom, encoding == UTF_8) {
        // A BOM says UTF-8: rows with bytes that are not are bad.
        (0, _) => false,
        (_, true) => !is_utf8(decoded(source, encoding, bom, false)?)?,
        // Decoded, to see whether any byte was not valid.
        (_, false) => {
            let mut reader = Decoder::new(source.open()?, encoding, bom, true)?;
            std::io::copy(&mut reader, &mut std::io::sink())?;
            reader.malformed
        }
    };
    let head = head(decoded(source, encoding, bom, malformed)?)?;
    if head.as_bytes()[..head.len().min(BINARY_SNIFF)].contains(&0) {
        return Err(Refused {
            line: None,
            reason: "is not CSV text: it has NUL bytes, as a spreadsheet workbook (.xlsx, .xls, .numbers) \
                     or another binary file does; export the list as CSV UTF-8"
                .into(),
        }
        .into());
    }
    if is_json(&head) {
        return Err(Refused {
            line: Some(1),
            reason: "is JSON (as `subscribers export --format json` writes), not CSV: export the list with \
                     `publish subscribers export --format csv` (the default) and import that"
                .into(),
        }
        .into());
    }
    let layout = locate(&head)?;
    let mut warnings = Vec::new();
    if guessed {
        warnings.push("not UTF-8; read as Windows-1252 — save as UTF-8 to be sure".to_string());
    } else if malformed {
        warnings.push(format!("has bytes that are not valid {}; the rows with them are skipped", encoding.name()));
    }
    warnings.extend(layout.warning.clone());
    let headers = layout.headers.clone().unwrap_or_default();
    let find = |names: &[&str]| headers.iter().position(|h| names.contains(&header_key(h).as_str()));
    let columns = Columns {
        email: layout.email_col,
        name: find(NAME_HEADERS),
        first: find(FIRST_HEADERS),
        last: find(LAST_HEADERS),
        record: find(&["consent"]).filter(|_| find(&["joinedby"]).is_some()).map(|c| (find(&["joinedby"]), c)),
        fields: {
            // Our own export's record columns (status, how they joined, the
            // consent record) are read as such, not kept as fields.
            let export = find(&["consent"]).is_some() && find(&["joinedby"]).is_some();
            let record = |h: &String| export && matches!(header_key(h).as_str(), "status" | "consent" | "joinedby");
            // The name column gives the name, not a field as well.
            let name = find(NAME_HEADERS);
            let keys =
                headers.iter().enumerate().filter(|(i, h)| *i != layout.email_col && Some(*i) != name && !record(h));
            // The export writes a field named as one of its own columns `field:KEY`.
            let key = |h: &str| match h.trim().strip_prefix(EXPORT_FIELD).filter(|_| export) {
                Some(rest) => field_key(rest),
                None => field_key(h),
            };
            let mut fields: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for (i, header) in keys.map(|(i, h)| (i, key(h))).filter(|(_, k)| !k.is_empty()) {
                fields.entry(header).or_default().insert(0, i);
            }
            fields.into_iter().map(|(key, columns)| (format!("{}:", serde_json::Value::String(key)), columns)).collect()
        },
    };
    let mut plan = Plan {
        encoding,
        bom,
        malformed: malformed.then(|| encoding.name()),
        layout,
        headers,
        columns,
        reading: None,
        warnings,
    };
    // Whether a `state` column is Kit's shows in its values: read until one is Kit's.
    let has_value = |column: usize, known: &dyn Fn(&str) -> bool| -> Result<bool> {
        let mut found = false;
        records(source, &plan, &mut |_, record| {
            found = record.is_ok_and(|r| known(r.get(column).unwrap_or("")));
            Ok(!found)
        })?;
        Ok(found)
    };
    let (reading, warning) = Reading::find(&plan.headers, has_value)?;
    plan.reading = reading;
    plan.warnings.extend(warning);
    Ok(plan)
}

/// Whether a text starts as a JSON array of objects, or one object.
fn is_json(head: &str) -> bool {
    let text = head.trim_start_matches(|c: char| c.is_whitespace() || is_invisible(c));
    match text.strip_prefix('[') {
        Some(rest) => rest.trim_start().starts_with(['{', ']']),
        None => text.starts_with('{') && text[1..].trim_start().starts_with('"'),
    }
}

/// Whether all of `input` is UTF-8, read a chunk at a time.
fn is_utf8(mut input: impl Read) -> std::io::Result<bool> {
    let mut buffer = vec![0; CHUNK];
    let mut kept = 0;
    loop {
        let n = input.read(&mut buffer[kept..])?;
        if n == 0 {
            return Ok(kept == 0);
        }
        let filled = kept + n;
        match std::str::from_utf8(&buffer[..filled]) {
            Ok(_) => kept = 0,
            // A character cut at the chunk's end: kept for the next one.
            Err(e) if e.error_len().is_none() => {
                let valid = e.valid_up_to();
                buffer.copy_within(valid..filled, 0);
                kept = filled - valid;
            }
            Err(_) => return Ok(false),
        }
    }
}

/// The text of `source` (after its BOM), as UTF-8.
fn decoded<'a>(
    source: &'a dyn Source,
    encoding: &'static Encoding,
    bom: usize,
    malformed: bool,
) -> std::io::Result<Decoder<Box<dyn Read + 'a>>> {
    Decoder::new(source.open()?, encoding, bom, malformed || encoding != UTF_8)
}

/// The start of a text: its first lines, enough to find the header row in.
fn head(mut text: impl Read) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut buffer = vec![0; CHUNK];
    loop {
        let n = text.read(&mut buffer)?;
        head.extend_from_slice(&buffer[..n]);
        let lines = memchr::memchr2_iter(b'\n', b'\r', &head).count();
        if n == 0 || head.len() >= HEAD_MAX || (head.len() >= HEAD_MIN && lines > PREAMBLE_LINES + 2) {
            break;
        }
    }
    // The text is UTF-8; a character cut at the end is left out.
    let valid = match std::str::from_utf8(&head) {
        Ok(_) => head.len(),
        Err(e) => e.valid_up_to(),
    };
    head.truncate(valid);
    Ok(String::from_utf8(head).unwrap_or_default())
}

/// What [`records`] gives each record to: its line and the record (or why
/// it cannot be read); `false` stops the reading.
type EachRecord<'a> = dyn FnMut(u64, Result<&csv::StringRecord, String>) -> Result<bool> + 'a;

/// Gives `each` every record of `source` that is not blank (or why it cannot
/// be read) with its line, until `each` says to stop.
fn records(source: &dyn Source, plan: &Plan, each: &mut EachRecord<'_>) -> Result<()> {
    let text = decoded(source, plan.encoding, plan.bom, plan.malformed.is_some())?;
    let mut text = Counted { inner: text, window: Vec::new(), start: 0, at: 0, line: 1 };
    let offset = plan.layout.offset;
    std::io::copy(&mut text.by_ref().take(offset as u64), &mut std::io::sink())?;
    let mut reader = reader(text, plan.layout.delimiter, plan.layout.headers.is_some());
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = reader.get_mut().line_of(offset + record.position().map_or(0, |p| p.byte() as usize));
                if !record.iter().all(|f| clean(f).is_empty()) && !each(line, Ok(&record))? {
                    return Ok(());
                }
            }
            Err(e) if e.is_io_error() => return Err(e.into()),
            Err(e) => {
                let line = reader.get_mut().line_of(offset + e.position().map_or(0, |p| p.byte() as usize));
                if !each(line, Err(format!("unreadable CSV row: {e}")))? {
                    return Ok(());
                }
            }
        }
    }
}

/// A text decoded to UTF-8 as it is read; passed through as it is when it
/// needs no decoding (UTF-8, every byte valid).
struct Decoder<R> {
    inner: R,
    decoder: Option<encoding_rs::Decoder>,
    input: Vec<u8>,
    output: Vec<u8>,
    at: usize,
    done: bool,
    /// Some bytes were not valid (and read as U+FFFD).
    malformed: bool,
}

impl<R: Read> Decoder<R> {
    /// Skips the `bom` bytes of `inner`; decodes the rest when `decode`.
    fn new(mut inner: R, encoding: &'static Encoding, bom: usize, decode: bool) -> std::io::Result<Decoder<R>> {
        std::io::copy(&mut inner.by_ref().take(bom as u64), &mut std::io::sink())?;
        Ok(Decoder {
            inner,
            decoder: decode.then(|| encoding.new_decoder_without_bom_handling()),
            input: if decode { vec![0; CHUNK] } else { Vec::new() },
            output: Vec::new(),
            at: 0,
            done: false,
            malformed: false,
        })
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some(decoder) = self.decoder.as_mut() else { return self.inner.read(buf) };
        while self.at == self.output.len() {
            if self.done {
                return Ok(0);
            }
            let n = self.inner.read(&mut self.input)?;
            let last = n == 0;
            let room = decoder.max_utf8_buffer_length(n).unwrap_or(4 * n + 16);
            self.output.resize(room, 0);
            let (_, read, written, replaced) = decoder.decode_to_utf8(&self.input[..n], &mut self.output, last);
            debug_assert_eq!(read, n);
            self.output.truncate(written);
            self.at = 0;
            self.malformed |= replaced;
            self.done = last;
        }
        let n = buf.len().min(self.output.len() - self.at);
        buf[..n].copy_from_slice(&self.output[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A reader that keeps what it has read since the last line asked for, to
/// count line breaks (`\n`, `\r\n` or a lone `\r`, once each) up to the
/// records the CSV reader finds.
struct Counted<R> {
    inner: R,
    window: Vec<u8>,
    /// The offset of `window[0]` in the text.
    start: usize,
    /// Where counting stopped.
    at: usize,
    line: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.window.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl<R> Counted<R> {
    /// The line of the record at `offset` (offsets asked in increasing
    /// order). The CSV reader's record positions can point at the line break
    /// ending the line before (with CRLF, or after blank lines), so the record
    /// starts after any line breaks there.
    fn line_of(&mut self, offset: usize) -> u64 {
        let end = self.start + self.window.len();
        let byte = |i: usize| self.window.get(i.wrapping_sub(self.start)).copied();
        let mut start = offset.clamp(self.at, end);
        while byte(start).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            start += 1;
        }
        let from = self.at - self.start;
        for i in memchr::memchr2_iter(b'\n', b'\r', &self.window[from..start - self.start]) {
            let i = from + i;
            if self.window[i] == b'\n' || self.window.get(i + 1) != Some(&b'\n') {
                self.line += 1;
            }
        }
        self.at = start;
        // What is counted is let go, a chunk at a time.
        if self.at - self.start > CHUNK {
            self.window.drain(..self.at - self.start);
            self.start = self.at;
        }
        self.line
    }
}

/// The services whose exports say who must not be mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `publish subscribers export`, read back.
    Masthead,
    Mailchimp,
    Substack,
    Ghost,
    Listmonk,
    Kit,
    Buttondown,
    /// No service known by its columns, but a status column whose values say
    /// who may be mailed (Beehiiv's `status`, and the words most lists use).
    Other,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Masthead => "Masthead",
            Service::Mailchimp => "Mailchimp",
            Service::Substack => "Substack",
            Service::Ghost => "Ghost",
            Service::Listmonk => "listmonk",
            Service::Kit => "Kit",
            Service::Buttondown => "Buttondown",
            Service::Other => "the file's",
        }
    }

    /// Where to look a person up, for a message.
    fn source(self) -> &'static str {
        match self {
            Service::Other => "the service the file came from",
            service => service.name(),
        }
    }
}

/// What a value of a status column means.
#[derive(Debug, Clone, Copy)]
enum Meaning {
    /// Mailed.
    Active,
    /// Never mailed again: recorded with this status.
    Suppress(Status),
    /// Not mailed by the service now, yet no refusal: kept out, not
    /// recorded. The text says why and what to do.
    Hold(&'static str),
}

/// A service's status column, found by its header.
struct StatusColumn {
    service: Service,
    /// The header, as [`header_key`] writes it.
    header: &'static str,
    /// Other headers that must be there too, when this one is common.
    with: &'static [&'static str],
    /// For a header as common as `state`: only a file with at least one of
    /// the values below is this service's export.
    shown_by_values: bool,
    /// Each value (compared as a [`header_key`]) and what it means.
    values: &'static [(&'static str, Meaning)],
    /// The column saying when a suppressed person left, if any.
    when: Option<&'static str>,
}

const NOT_CONFIRMED: Meaning = Meaning::Hold("not confirmed yet; import them again once they have confirmed");

/// The status columns of the services' exports (Mailchimp's are [`Mailchimp`]).
///
/// - Substack: `email_disabled` (`true`: they turned emails off).
/// - Ghost: `subscribed_to_emails`.
/// - listmonk: `status` beside `uuid` and `attributes`; listmonk itself mails
///   `disabled` subscribers, but someone turned them off, so they are asked about.
/// - Buttondown: `subscriber_type` (`type` beside `creation_date` in older
///   files); the values are Buttondown's subscriber types.
/// - Kit: `state`, once a row holds one of Kit's states.
const STATUS_COLUMNS: &[StatusColumn] = &[
    StatusColumn {
        service: Service::Masthead,
        header: "status",
        with: &["joinedby", "consent"],
        shown_by_values: false,
        values: &[
            ("active", Meaning::Active),
            ("unsubscribed", Meaning::Suppress(Status::Unsubscribed)),
            ("bounced", Meaning::Suppress(Status::Bounced)),
            ("complained", Meaning::Suppress(Status::Complained)),
            ("removed", Meaning::Suppress(Status::Removed)),
        ],
        when: None,
    },
    StatusColumn {
        service: Service::Substack,
        header: "emaildisabled",
        with: &[],
        shown_by_values: false,
        values: &[("false", Meaning::Active), ("true", Meaning::Suppress(Status::Unsubscribed))],
        when: None,
    },
    StatusColumn {
        service: Service::Ghost,
        header: "subscribedtoemails",
        with: &[],
        shown_by_values: false,
        values: &[("true", Meaning::Active), ("false", Meaning::Suppress(Status::Unsubscribed))],
        when: None,
    },
    StatusColumn {
        service: Service::Listmonk,
        header: "status",
        with: &["uuid", "attributes"],
        shown_by_values: false,
        values: &[
            ("enabled", Meaning::Active),
            ("blocklisted", Meaning::Suppress(Status::Unsubscribed)),
            (
                "disabled",
                Meaning::Hold(
                    "disabled, neither enabled nor blocklisted; enable them in listmonk and export again if they \
                     should get the newsletter",
                ),
            ),
        ],
        when: None,
    },
    StatusColumn {
        service: Service::Buttondown,
        header: "subscribertype",
        with: &[],
        shown_by_values: false,
        values: BUTTONDOWN,
        when: Some("unsubscriptiondate"),
    },
    StatusColumn {
        service: Service::Buttondown,
        header: "type",
        with: &["creationdate"],
        shown_by_values: false,
        values: BUTTONDOWN,
        when: Some("unsubscriptiondate"),
    },
    StatusColumn {
        service: Service::Kit,
        header: "state",
        with: &[],
        shown_by_values: true,
        values: &[
            ("active", Meaning::Active),
            ("inactive", NOT_CONFIRMED),
            ("cancelled", Meaning::Suppress(Status::Unsubscribed)),
            ("bounced", Meaning::Suppress(Status::Bounced)),
            ("complained", Meaning::Suppress(Status::Complained)),
        ],
        when: None,
    },
    // Any other list's status column, once a row holds one of the words below.
    other_status("status"),
    other_status("subscriptionstatus"),
    other_status("subscriberstatus"),
    other_status("emailstatus"),
    other_status("state"),
];

/// A status column of no service known by its columns, read by [`OTHER`].
const fn other_status(header: &'static str) -> StatusColumn {
    StatusColumn { service: Service::Other, header, with: &[], shown_by_values: true, values: OTHER, when: None }
}

/// The statuses of lists from services not known by their columns: Beehiiv's
/// (`active`; `inactive`, which an unsubscribe leaves; `validating`,
/// `pending` and `needs_attention`, not yet mailed; `invalid`, an address
/// that failed its check), and the words most other lists use.
const OTHER: &[(&str, Meaning)] = &[
    ("active", Meaning::Active),
    ("subscribed", Meaning::Active),
    ("confirmed", Meaning::Active),
    ("enabled", Meaning::Active),
    ("opted_in", Meaning::Active),
    ("inactive", Meaning::Suppress(Status::Unsubscribed)),
    ("unsubscribed", Meaning::Suppress(Status::Unsubscribed)),
    ("cancelled", Meaning::Suppress(Status::Unsubscribed)),
    ("canceled", Meaning::Suppress(Status::Unsubscribed)),
    ("opted_out", Meaning::Suppress(Status::Unsubscribed)),
    ("bounced", Meaning::Suppress(Status::Bounced)),
    ("cleaned", Meaning::Suppress(Status::Bounced)),
    ("invalid", Meaning::Suppress(Status::Bounced)),
    ("undeliverable", Meaning::Suppress(Status::Bounced)),
    ("complained", Meaning::Suppress(Status::Complained)),
    ("spam", Meaning::Suppress(Status::Complained)),
    ("removed", Meaning::Suppress(Status::Removed)),
    ("deleted", Meaning::Suppress(Status::Removed)),
    ("blocklisted", Meaning::Suppress(Status::Removed)),
    ("blacklisted", Meaning::Suppress(Status::Removed)),
    ("suppressed", Meaning::Suppress(Status::Removed)),
    ("pending", NOT_CONFIRMED),
    ("unconfirmed", NOT_CONFIRMED),
    ("validating", NOT_CONFIRMED),
    (
        "needs_attention",
        Meaning::Hold("flagged as needing attention; check them there, and import them once they are active"),
    ),
];

/// Buttondown's subscriber types (its API's `SubscriberType`).
const BUTTONDOWN: &[(&str, Meaning)] = &[
    ("regular", Meaning::Active),
    ("premium", Meaning::Active),
    ("trialed", Meaning::Active),
    ("gifted", Meaning::Active),
    ("churning", Meaning::Active),
    ("churned", Meaning::Active),
    ("paused", Meaning::Active),
    ("past_due", Meaning::Active),
    ("upcoming", Meaning::Active),
    ("unactivated", NOT_CONFIRMED),
    (
        "unpaid",
        Meaning::Hold(
            "signed up to a paid-only newsletter and never paid; import them in a list of their own if they \
             should get it",
        ),
    ),
    ("blocked", Meaning::Hold("blocked by Buttondown's spam filter; import them only if you know they signed up")),
    ("unsubscribed", Meaning::Suppress(Status::Unsubscribed)),
    ("removed", Meaning::Suppress(Status::Removed)),
    ("undeliverable", Meaning::Suppress(Status::Bounced)),
    ("complained", Meaning::Suppress(Status::Complained)),
];

/// Mailchimp's unsubscribed and cleaned exports: a row is unsubscribed when
/// its `UNSUB_TIME` has a time, cleaned (bounced) when its `CLEAN_TIME` has
/// one, and subscribed when neither has (older exports of subscribed people
/// carry the columns empty). An `UNSUB_REASON` saying "spam" or "abuse" is a
/// complaint.
#[derive(Debug)]
struct Mailchimp {
    unsub_time: Option<usize>,
    clean_time: Option<usize>,
    reason: Option<usize>,
    reason_other: Option<usize>,
    unsub_campaign: Option<usize>,
    clean_campaign: Option<usize>,
}

/// How a file's rows say where their people stand.
enum Reading {
    Mailchimp(Mailchimp),
    Column { spec: &'static StatusColumn, column: usize, when: Option<usize> },
}

/// Where one row's person stands.
#[derive(Debug, PartialEq)]
enum Standing {
    Active,
    Suppressed { status: Status, reason: String, at: Option<jiff::Timestamp> },
    KeptOut { why: KeptOutWhy, reason: String },
}

impl Reading {
    /// The status columns of `headers`, if they are a service's; and a
    /// warning when a column looked like one and is not.
    /// `has_value(column, known)`: whether a row's cell in `column` is `known`.
    fn find(
        headers: &[String],
        mut has_value: impl FnMut(usize, &dyn Fn(&str) -> bool) -> Result<bool>,
    ) -> Result<(Option<Reading>, Option<String>)> {
        let keys: Vec<String> = headers.iter().map(|h| header_key(h)).collect();
        let find = |key: &str| keys.iter().position(|k| k == key);
        let (unsub_time, clean_time) = (find("unsubtime"), find("cleantime"));
        if unsub_time.is_some() || clean_time.is_some() {
            let mailchimp = Mailchimp {
                unsub_time,
                clean_time,
                reason: find("unsubreason"),
                reason_other: find("unsubreasonother"),
                unsub_campaign: find("unsubcampaigntitle"),
                clean_campaign: find("cleancampaigntitle"),
            };
            return Ok((Some(Reading::Mailchimp(mailchimp)), None));
        }
        let mut warning = None;
        for spec in STATUS_COLUMNS {
            let Some(column) = find(spec.header) else { continue };
            if !spec.with.iter().all(|key| find(key).is_some()) {
                continue;
            }
            let known = |value: &str| spec.values.iter().any(|(v, _)| header_key(v) == header_key(value));
            if spec.shown_by_values && !has_value(column, &known)? {
                let whose = match spec.service {
                    Service::Other => "the usual subscriber statuses".to_string(),
                    service => format!("{}'s subscriber states", service.name()),
                };
                warning.get_or_insert(format!(
                    "column \"{}\" holds none of {whose} ({}), so it is kept as a field, not read as one",
                    shown(&headers[column], 40),
                    spec.values.iter().map(|(v, _)| *v).collect::<Vec<_>>().join(", ")
                ));
                continue;
            }
            let when = spec.when.and_then(find);
            return Ok((Some(Reading::Column { spec, column, when }), None));
        }
        Ok((None, warning))
    }

    fn service(&self) -> Service {
        match self {
            Reading::Mailchimp(_) => Service::Mailchimp,
            Reading::Column { spec, .. } => spec.service,
        }
    }

    /// Where the person on `record` stands.
    fn standing(&self, record: &csv::StringRecord, headers: &[String]) -> Standing {
        let get = |column: Option<usize>| column.and_then(|c| record.get(c)).map_or("", clean);
        match self {
            Reading::Mailchimp(m) => {
                // The cells that say why, as `UNSUB_REASON "…", UNSUB_CAMPAIGN_TITLE "…"`.
                let said = |columns: &[Option<usize>]| {
                    let cells = columns.iter().filter_map(|&c| Some((c?, get(c)))).filter(|(_, v)| !v.is_empty());
                    let cells: Vec<String> =
                        cells.map(|(c, v)| format!("{} \"{}\"", shown(&headers[c], 40), shown(v, 120))).collect();
                    format!("Mailchimp {}", cells.join(", "))
                };
                if !get(m.unsub_time).is_empty() {
                    let why = format!("{} {}", get(m.reason), get(m.reason_other)).to_lowercase();
                    let status = if why.contains("spam") || why.contains("abuse") {
                        Status::Complained
                    } else {
                        Status::Unsubscribed
                    };
                    let reason = match get(m.reason).is_empty() && get(m.reason_other).is_empty() {
                        true => said(&[m.unsub_time, m.unsub_campaign]),
                        false => said(&[m.reason, m.reason_other, m.unsub_campaign]),
                    };
                    Standing::Suppressed { status, reason, at: parse_time(get(m.unsub_time)) }
                } else if !get(m.clean_time).is_empty() {
                    let reason = said(&[m.clean_time, m.clean_campaign]);
                    Standing::Suppressed { status: Status::Bounced, reason, at: parse_time(get(m.clean_time)) }
                } else {
                    Standing::Active
                }
            }
            Reading::Column { spec, column, when } => {
                let value = get(Some(*column));
                let said = format!("{} {} \"{}\"", spec.service.name(), shown(&headers[*column], 40), shown(value, 40));
                match spec.values.iter().find(|(v, _)| header_key(v) == header_key(value)) {
                    Some((_, Meaning::Active)) => Standing::Active,
                    Some((_, Meaning::Suppress(status))) => {
                        Standing::Suppressed { status: *status, reason: said, at: parse_time(get(*when)) }
                    }
                    Some((_, Meaning::Hold(what))) => {
                        Standing::KeptOut { why: KeptOutWhy::NotConfirmed, reason: format!("{said}: {what}") }
                    }
                    None => Standing::KeptOut {
                        why: KeptOutWhy::UnknownStatus,
                        reason: format!(
                            "{said} is not a status Masthead knows ({}); check them in {}, and if they should get \
                             the newsletter, import them with one of those values",
                            spec.values.iter().map(|(v, _)| *v).collect::<Vec<_>>().join(", "),
                            spec.service.source()
                        ),
                    },
                }
            }
        }
    }
}

/// A time as the services write it: RFC 3339 (`2024-04-08 17:09:32+00:00`)
/// or, without an offset (Mailchimp's `2024-02-03 10:00:00`), in UTC.
fn parse_time(text: &str) -> Option<jiff::Timestamp> {
    text.parse::<jiff::Timestamp>().ok().or_else(|| {
        let civil = text.parse::<jiff::civil::DateTime>().ok()?;
        civil.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp())
    })
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
    match reader(text.as_bytes(), delimiter, false).read_record(&mut record) {
        Ok(true) => record.iter().map(|c| clean(c).to_string()).collect(),
        _ => Vec::new(),
    }
}

fn reader<R: Read>(text: R, delimiter: u8, has_headers: bool) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .buffer_capacity(CHUNK)
        .delimiter(delimiter)
        .has_headers(has_headers)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text)
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
    /// The keys of `fields` in order, each as JSON with its colon, and the
    /// columns with that key, the last first (its value wins when it has one).
    fields: Vec<(String, Vec<usize>)>,
    /// In our own export: the columns `joined_by` and `consent`.
    record: Option<(Option<usize>, usize)>,
}

/// The subscriber on one row, or why there is none.
fn subscriber(record: &csv::StringRecord, columns: &Columns, malformed: Option<&str>) -> Result<Person, String> {
    if let Some(encoding) = malformed
        && record.iter().any(|f| f.contains('\u{FFFD}'))
    {
        return Err(format!("has bytes that are not valid {encoding}: save the file as UTF-8"));
    }
    if record.iter().any(|f| f.contains('\0')) {
        return Err("has a NUL byte: binary data, not text".into());
    }
    let (email, display) = mailbox(record.get(columns.email).unwrap_or(""))?;
    // Stored and compared in one form, so that no case or Unicode form of an
    // address that left brings it back.
    let email = if email.is_ascii() { email } else { canonical(&email) };
    check_address(&email)?;
    let get = |col: Option<usize>| col.and_then(|c| record.get(c)).map_or("", clean);
    let full = [get(columns.first), get(columns.last)].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>();
    let name = [get(columns.name).to_string(), full.join(" "), display].into_iter().find(|n| !n.is_empty());
    // The JSON of a map from key to value, as serde_json writes it, made
    // without the map: the import reads a million rows.
    let mut fields = Vec::with_capacity(256);
    fields.push(b'{');
    for (key, cols) in &columns.fields {
        let Some(value) = cols.iter().filter_map(|&c| record.get(c)).map(clean).find(|v| !v.is_empty()) else {
            continue;
        };
        if fields.len() > 1 {
            fields.push(b',');
        }
        fields.extend_from_slice(key.as_bytes());
        serde_json::to_writer(&mut fields, value).map_err(|e| e.to_string())?;
    }
    fields.push(b'}');
    let fields = String::from_utf8(fields).map_err(|e| e.to_string())?;
    // As long as a signup's or `subscribers add`'s may be: it goes into the To field of every issue.
    let mut name: String = one_line(&name.unwrap_or_default()).chars().take(NAME_MAX).collect();
    name.truncate(name.trim_end().len());
    let record = match columns.record {
        Some((joined_by, consent)) => restored(get(joined_by), get(Some(consent)))?.map(|record| Restored {
            name: name.clone(),
            fields: fields.clone(),
            ..record
        }),
        None => None,
    };
    Ok(Person { email, name, fields, line: 0, record })
}

/// When the last event named `event` of a restored consent record was.
fn last_event(record: &Restored, event: &str) -> Option<jiff::Timestamp> {
    let events: Vec<ConsentEvent> = serde_json::from_str(&record.consent).ok()?;
    events.iter().rev().find(|e| e.event == event).and_then(|e| parse_time(&e.at))
}

/// How someone joined and their consent record, as `subscribers export`
/// wrote them (`None` when the consent cell is empty).
fn restored(joined_by: &str, consent: &str) -> Result<Option<Restored>, String> {
    if consent.is_empty() {
        return Ok(None);
    }
    let bad = |why: String| {
        format!(
            "its consent record is not the JSON `subscribers export` writes ({why}); correct it, or empty the \
             cell to import them without it"
        )
    };
    let events: Vec<ConsentEvent> = serde_json::from_str(consent).map_err(|e| bad(e.to_string()))?;
    let Some(first) = events.first() else { return Ok(None) };
    if let Some(event) = events.iter().find(|e| [&e.at, &e.event, &e.how].iter().any(|v| v.trim().is_empty())) {
        return Err(bad(format!("an event without a time, a name or how: {}", shown(&event.event, 40))));
    }
    let joined = events.iter().find(|e| e.event == "joined").unwrap_or(first);
    Ok(Some(Restored {
        name: String::new(),
        fields: String::new(),
        joined_by: (!joined_by.is_empty()).then(|| joined_by.to_string()),
        created_at: joined.at.clone(),
        consent: serde_json::to_string(&events).map_err(|e| bad(e.to_string()))?,
    }))
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

    /// (email, status) of the suppressed rows, and (line, email, why) of those kept out.
    type Sorted<'a> = (Vec<(&'a str, Status)>, Vec<(u64, &'a str, KeptOutWhy)>);

    fn sorted(parsed: &Parsed) -> Sorted<'_> {
        (
            parsed.suppressed.iter().map(|r| (r.email.as_str(), r.status)).collect(),
            parsed.kept_out.iter().map(|r| (r.line, r.email.as_str(), r.why)).collect(),
        )
    }

    #[test]
    fn each_services_status_column_says_who_is_mailed() {
        let substack = "email,active_subscription,expiry,plan,email_disabled,created_at,first_payment_at\n\
                        a@example.com,false,,other,false,2023-04-11T15:02:33.000Z,\n\
                        b@example.com,false,,other,TRUE,2023-04-11T15:02:33.000Z,\n\
                        c@example.com,false,,other,,2023-04-11T15:02:33.000Z,\n";
        let parsed = parse(substack.as_bytes()).unwrap();
        assert_eq!(parsed.service, Some(Service::Substack));
        assert_eq!(emails(&parsed), ["a@example.com"]);
        assert_eq!(
            sorted(&parsed),
            (vec![("b@example.com", Status::Unsubscribed)], vec![(4, "c@example.com", KeptOutWhy::UnknownStatus)])
        );
        assert_eq!(parsed.suppressed[0].reason, "Substack email_disabled \"TRUE\"");
        assert_eq!(
            parsed.kept_out[0].reason,
            "Substack email_disabled \"\" is not a status Masthead knows (false, true); check them in Substack, \
             and if they should get the newsletter, import them with one of those values"
        );

        let ghost = "id,email,name,note,subscribed_to_emails,complimentary_plan,stripe_customer_id,created_at,deleted_at,labels,tiers\n\
                     1,a@example.com,A,,true,false,,2024-01-12T09:15:44.000Z,,,\n2,b@example.com,B,,false,false,,2024-01-12T09:15:44.000Z,,,\n";
        let parsed = parse(ghost.as_bytes()).unwrap();
        assert_eq!((parsed.service, emails(&parsed)), (Some(Service::Ghost), vec!["a@example.com"]));
        assert_eq!(sorted(&parsed).0, [("b@example.com", Status::Unsubscribed)]);

        let listmonk = "uuid,email,name,attributes,status,created_at,updated_at\n\
                        u1,a@example.com,A,{},enabled,x,x\nu2,b@example.com,B,{},blocklisted,x,x\nu3,c@example.com,C,{},disabled,x,x\n";
        let parsed = parse(listmonk.as_bytes()).unwrap();
        assert_eq!((parsed.service, emails(&parsed)), (Some(Service::Listmonk), vec!["a@example.com"]));
        assert_eq!(
            sorted(&parsed),
            (vec![("b@example.com", Status::Unsubscribed)], vec![(4, "c@example.com", KeptOutWhy::NotConfirmed)])
        );

        let kit = "first_name,email_address,state\nA,a@example.com,Active\nB,b@example.com,cancelled\n\
                   C,c@example.com,bounced\nD,d@example.com,complained\nE,e@example.com,inactive\nF,f@example.com,paused\n";
        let parsed = parse(kit.as_bytes()).unwrap();
        assert_eq!((parsed.service, emails(&parsed)), (Some(Service::Kit), vec!["a@example.com"]));
        assert_eq!(
            sorted(&parsed),
            (
                vec![
                    ("b@example.com", Status::Unsubscribed),
                    ("c@example.com", Status::Bounced),
                    ("d@example.com", Status::Complained)
                ],
                vec![(6, "e@example.com", KeptOutWhy::NotConfirmed), (7, "f@example.com", KeptOutWhy::UnknownStatus)]
            )
        );

        // Buttondown's API and older files call the column `type`.
        let buttondown = "email,type,creation_date,unsubscription_date\n\
                          a@example.com,premium,2023-02-01 08:00:00+00:00,\n\
                          b@example.com,past_due,2023-02-01 08:00:00+00:00,\n\
                          c@example.com,unsubscribed,2023-02-01 08:00:00+00:00,2024-02-18 17:09:32.596959+00:00\n\
                          d@example.com,removed,2023-02-01 08:00:00+00:00,\n\
                          e@example.com,undeliverable,2023-02-01 08:00:00+00:00,\n\
                          f@example.com,unactivated,2023-02-01 08:00:00+00:00,\n";
        let parsed = parse(buttondown.as_bytes()).unwrap();
        assert_eq!(parsed.service, Some(Service::Buttondown));
        assert_eq!(emails(&parsed), ["a@example.com", "b@example.com"]);
        assert_eq!(
            sorted(&parsed),
            (
                vec![
                    ("c@example.com", Status::Unsubscribed),
                    ("d@example.com", Status::Removed),
                    ("e@example.com", Status::Bounced)
                ],
                vec![(7, "f@example.com", KeptOutWhy::NotConfirmed)]
            )
        );
        assert_eq!(parsed.suppressed[0].at, Some("2024-02-18T17:09:32.596959Z".parse().unwrap()));
        assert_eq!(parsed.suppressed[1].at, None);
    }

    #[test]
    fn mailchimp_unsub_and_clean_times_suppress_and_empty_ones_do_not() {
        let csv = "\"Email Address\",UNSUB_TIME,UNSUB_CAMPAIGN_TITLE,UNSUB_REASON,UNSUB_REASON_OTHER,CLEAN_TIME\n\
                   a@example.com,,,,,\n\
                   b@example.com,\"2024-02-20 07:31:15\",\"#8\",\"I no longer want to receive these emails\",,\n\
                   c@example.com,\"2024-02-13 09:14:27\",,\"The emails are spam and should be reported\",,\n\
                   d@example.com,\"2024-02-27 18:00:03\",,Other,\"Reported it as abuse\",\n\
                   e@example.com,,,,,\"2023-10-06 07:30:22\"\n\
                   f@example.com,soon,,,,\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!((parsed.service, emails(&parsed)), (Some(Service::Mailchimp), vec!["a@example.com"]));
        let got: Vec<(&str, Status, &str, Option<String>)> = parsed
            .suppressed
            .iter()
            .map(|r| (r.email.as_str(), r.status, r.reason.as_str(), r.at.map(|t| t.to_string())))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "b@example.com",
                    Status::Unsubscribed,
                    "Mailchimp UNSUB_REASON \"I no longer want to receive these emails\", UNSUB_CAMPAIGN_TITLE \"#8\"",
                    Some("2024-02-20T07:31:15Z".into())
                ),
                (
                    "c@example.com",
                    Status::Complained,
                    "Mailchimp UNSUB_REASON \"The emails are spam and should be reported\"",
                    Some("2024-02-13T09:14:27Z".into())
                ),
                (
                    "d@example.com",
                    Status::Complained,
                    "Mailchimp UNSUB_REASON \"Other\", UNSUB_REASON_OTHER \"Reported it as abuse\"",
                    Some("2024-02-27T18:00:03Z".into())
                ),
                (
                    "e@example.com",
                    Status::Bounced,
                    "Mailchimp CLEAN_TIME \"2023-10-06 07:30:22\"",
                    Some("2023-10-06T07:30:22Z".into())
                ),
                // A time that cannot be read still unsubscribes; the import's own time stands in.
                ("f@example.com", Status::Unsubscribed, "Mailchimp UNSUB_TIME \"soon\"", None),
            ]
        );
    }

    #[test]
    fn a_row_saying_not_to_mail_wins_over_another_row_with_the_address() {
        let csv =
            "email,email_disabled\na@example.com,false\nb@example.com,true\nA@example.com,true\nB@example.com,false\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert!(parsed.rows.is_empty());
        assert_eq!(
            sorted(&parsed).0,
            [("A@example.com", Status::Unsubscribed), ("b@example.com", Status::Unsubscribed)]
        );
        assert_eq!(parsed.duplicates, [(2, 4), (5, 3)]);
    }

    #[test]
    fn a_common_header_is_a_status_column_only_beside_its_services_other_columns() {
        // A US state, a type of reader, a status of one's own: fields, not statuses.
        let parsed = parse(b"Email Address,Name,State\na@example.com,A,CA\nb@example.com,B,NY\n").unwrap();
        assert_eq!((parsed.service, emails(&parsed).len()), (None, 2));
        assert_eq!(
            parsed.warnings,
            ["column \"State\" holds none of Kit's subscriber states (active, inactive, cancelled, bounced, \
              complained), so it is kept as a field, not read as one"]
        );
        assert_eq!(parsed.rows[0].fields["state"], "CA");
        // A status of one's own: a field, unless its words say who may be mailed.
        let parsed = parse(b"email,type,status\na@example.com,unsubscribed,VIP\n").unwrap();
        assert_eq!((parsed.service, emails(&parsed)), (None, vec!["a@example.com"]));
        assert_eq!(parsed.rows[0].fields["status"], "VIP");
        let parsed = parse(b"email,type,status\na@example.com,unsubscribed,blocklisted\n").unwrap();
        assert_eq!(
            (parsed.service, sorted(&parsed).0),
            (Some(Service::Other), vec![("a@example.com", Status::Removed)])
        );
    }

    /// Beehiiv's export (`status`: active, inactive after an unsubscribe,
    /// validating, pending, invalid, needs_attention) and any list whose status
    /// column uses the usual words: no one who left is imported to be mailed.
    #[test]
    fn a_status_column_of_beehiiv_or_any_other_list_says_who_left() {
        let csv = "email,status,tier,created_at,utm_source\n\
                   ann@example.com,active,free,2024-01-01 10:00:00 UTC,x\n\
                   ben@example.com,inactive,free,2024-01-01 10:00:00 UTC,\n\
                   cat@example.com,validating,free,,\n\
                   dan@example.com,Needs Attention,free,,\n\
                   eve@example.com,invalid,free,,\n\
                   fay@example.com,Unsubscribed,,,\n\
                   gus@example.com,spam,,,\n\
                   hal@example.com,gold,,,\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!(parsed.service, Some(Service::Other));
        assert_eq!(emails(&parsed), ["ann@example.com"]);
        assert_eq!(
            sorted(&parsed).0,
            [
                ("ben@example.com", Status::Unsubscribed),
                ("eve@example.com", Status::Bounced),
                ("fay@example.com", Status::Unsubscribed),
                ("gus@example.com", Status::Complained),
            ]
        );
        let kept: Vec<(&str, KeptOutWhy)> = parsed.kept_out.iter().map(|k| (k.email.as_str(), k.why)).collect();
        assert_eq!(
            kept,
            [
                ("cat@example.com", KeptOutWhy::NotConfirmed),
                ("dan@example.com", KeptOutWhy::NotConfirmed),
                ("hal@example.com", KeptOutWhy::UnknownStatus)
            ]
        );
        assert!(
            parsed.kept_out[2].reason.contains("check them in the service the file came from"),
            "{:?}",
            parsed.kept_out
        );
    }

    /// The fields' JSON is written without a map: it must be what serde_json
    /// writes for the map (keys sorted, the last non-empty column of a
    /// repeated key winning, empty cells left out, every value escaped).
    #[test]
    fn fields_json_is_what_a_map_of_them_serializes_to() {
        let csv = "Zeta,email,Note,NOTE,note,Alpha,\"Ünï Code\",Empty\n\
                   \"q\"\"uote\\\\ \u{1}\",a@example.com,first,,,\"line\r\nbreak\",ä</script>,\n\
                   z,b@example.com,first,second,,a,,\n";
        let mut got = Vec::new();
        stream(&csv.as_bytes(), &mut |_, row| {
            if let Ok(Row::Active(person)) = row {
                got.push(person.fields);
            }
            Ok(())
        })
        .unwrap();
        let map = |pairs: &[(&str, &str)]| -> String {
            let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            serde_json::to_string(&map).unwrap()
        };
        assert_eq!(
            got,
            [
                map(&[
                    ("zeta", "q\"uote\\\\ \u{1}"),
                    ("note", "first"),
                    ("alpha", "line\r\nbreak"),
                    ("ünï_code", "ä</script>")
                ]),
                map(&[("zeta", "z"), ("note", "second"), ("alpha", "a")]),
            ]
        );
        assert_eq!(parse(b"email\na@example.com\n").unwrap().rows[0].fields, BTreeMap::new());
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

    /// Our own export read back: each person's name once (not again as a
    /// field), fields named as the export's columns, how they joined and
    /// their consent record, and when someone who left did so.
    #[test]
    fn our_export_gives_back_how_each_person_joined_and_their_consent_record() {
        let csv = "email,name,status,joined_by,consent,city,field:status\n\
                   ada@example.com,Ada,active,signup; source: home,\"[{\"\"at\"\":\"\"2024-01-02T03:04:05Z\"\",\
                   \"\"event\"\":\"\"joined\"\",\"\"how\"\":\"\"signup\"\",\"\"detail\"\":null},{\"\"at\"\":\
                   \"\"2024-01-03T00:00:00Z\"\",\"\"event\"\":\"\"confirmed\"\",\"\"how\"\":\"\"confirm link\"\"}]\",Paris,VIP\n\
                   bob@example.com,Bob,unsubscribed,cli,\"[{\"\"at\"\":\"\"2024-01-01T00:00:00Z\"\",\"\"event\"\":\
                   \"\"joined\"\",\"\"how\"\":\"\"cli\"\"},{\"\"at\"\":\"\"2024-05-06T07:08:09Z\"\",\"\"event\"\":\
                   \"\"unsubscribed\"\",\"\"how\"\":\"\"one-click\"\"}]\",,\n\
                   cy@example.com,Cy,active,,\n\
                   dee@example.com,Dee,active,cli,[{\"\"at\"\":1}]\n";
        let mut rows = Vec::new();
        let mut bad = Vec::new();
        stream(&csv.as_bytes(), &mut |line, row| {
            match row {
                Ok(row) => rows.push(row),
                Err(reason) => bad.push((line, reason)),
            }
            Ok(())
        })
        .unwrap();
        let [Row::Active(ada), Row::Suppressed(bob), Row::Active(cy)] = &rows[..] else { panic!("{rows:?}") };
        assert_eq!((ada.name.as_str(), ada.fields.as_str()), ("Ada", r#"{"city":"Paris","status":"VIP"}"#));
        let record = ada.record.as_ref().unwrap();
        assert_eq!(record.joined_by.as_deref(), Some("signup; source: home"));
        assert_eq!(record.created_at, "2024-01-02T03:04:05Z");
        let events: Vec<ConsentEvent> = serde_json::from_str(&record.consent).unwrap();
        let events: Vec<(&str, &str)> = events.iter().map(|e| (e.event.as_str(), e.how.as_str())).collect();
        assert_eq!(events, [("joined", "signup"), ("confirmed", "confirm link")]);
        assert_eq!(bob.status, Status::Unsubscribed);
        assert_eq!(bob.at, Some("2024-05-06T07:08:09Z".parse().unwrap()), "when they left, from the record");
        assert_eq!(bob.record.as_ref().unwrap().name, "Bob", "kept for the list it goes back to");
        assert!(cy.record.is_none(), "an empty consent cell: imported as anyone else");
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].0, 5);
        assert!(bad[0].1.contains("its consent record is not the JSON `subscribers export` writes"), "{bad:?}");
        // Elsewhere a name column is the name, and `field:` is a header as any other.
        let parsed = parse(b"email,Name,field:status\na@example.com,A,x\n").unwrap();
        assert_eq!(parsed.rows[0].fields.keys().collect::<Vec<_>>(), ["field_status"]);
    }

    #[test]
    fn a_json_export_is_refused_saying_to_export_csv() {
        for text in
            ["[\n  {\n    \"email\": \"a@example.com\"\n  }\n]\n", "\u{FEFF} []", "{\"email\": \"a@example.com\"}"]
        {
            let refused = refused(text.as_bytes());
            assert_eq!(refused.line, Some(1));
            assert!(refused.reason.contains("is JSON") && refused.reason.contains("--format csv"), "{refused:?}");
        }
        assert!(parse(b"[email]\na@example.com\n").is_ok(), "a header in brackets is not JSON");
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

    /// A row with more cells than the header (an unquoted comma in a name)
    /// would put its cells in the wrong columns: a bad row, saying so.
    /// Empty cells past the header (a spreadsheet's trailing commas) are fine.
    #[test]
    fn a_row_with_more_cells_than_the_header_is_a_bad_row() {
        let csv = "email,name,city\na@example.com,Lovelace, Ada,London\nb@example.com,B,Rome,,,\nc@example.com\n";
        let parsed = parse(csv.as_bytes()).unwrap();
        assert_eq!(emails(&parsed), ["b@example.com", "c@example.com"]);
        assert_eq!(parsed.bad.len(), 1);
        assert_eq!(parsed.bad[0].line, 2);
        assert_eq!(
            parsed.bad[0].reason,
            "has 4 cells where the header row has 3 (more: London); put a cell that holds the delimiter in double quotes"
        );
        assert_eq!(parsed.rows[0].fields["city"], "Rome");
        // A file without a header row has nothing to count against.
        assert_eq!(emails(&parse(b"a@example.com,A,x,y\n").unwrap()), ["a@example.com"]);
    }

    /// A name goes into the To field of every issue: cut as a signup's is.
    #[test]
    fn a_huge_name_is_cut_as_a_signups_is() {
        let long = "Ada ".repeat(1_000_000);
        let parsed = parse(format!("email,name\na@example.com,{long}\n").as_bytes()).unwrap();
        let name = &parsed.rows[0].name;
        assert!((NAME_MAX - 1..=NAME_MAX).contains(&name.chars().count()), "{}", name.len());
        assert!(name.starts_with("Ada Ada") && name.ends_with("Ada"), "cut, not emptied: {name}");
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
        for literal in ["a@[127.0.0.1]", "a@127.0.0.1", "a@[IPv6:::1]", "a@[::1]"] {
            assert_eq!(reason(literal), format!("\"{literal}\" has an IP address, not a domain name, after the @"));
        }
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
