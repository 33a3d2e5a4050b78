//! Diagnostics: problems found in workspace files, reported as `file:line:col`
//! with the offending line, a caret under the mistake and a hint saying what to do.

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// `-q`: only errors reach stderr.
static QUIET: AtomicBool = AtomicBool::new(false);
/// Stderr is a terminal and `NO_COLOR` is not set.
static COLOR: AtomicBool = AtomicBool::new(false);

/// Sets, once at start, whether notes and warnings are printed and in colour.
pub fn set_output(quiet: bool, color: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
    COLOR.store(color, Ordering::Relaxed);
}

/// Whether `-q` was given.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Prints a note for a person on stderr, unless `-q`.
pub fn note(text: impl fmt::Display) {
    if !quiet() {
        eprintln!("{text}");
    }
}

/// How bad a problem is: errors stop a build or a send, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Severity {
    Error,
    Warning,
}

/// A text file of the workspace, kept in memory so that byte spans can be
/// turned into line and column numbers.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as shown to the user (relative to the workspace root).
    pub name: String,
    pub text: String,
}

impl SourceFile {
    /// Reads a file; the error names the path.
    pub fn read(root: &Path, relative: &Path) -> anyhow::Result<SourceFile> {
        let path = root.join(relative);
        let text =
            std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        tracing::debug!("read {} ({} bytes)", relative.display(), text.len());
        Ok(SourceFile { name: relative.to_string_lossy().replace('\\', "/"), text })
    }

    /// The file `relative` of the workspace at `root`; when it cannot be read, or
    /// is not UTF-8 text, the error to report (at the first byte that is not).
    pub fn load(root: &Path, relative: &Path) -> Result<SourceFile, Diagnostic> {
        let name = relative.to_string_lossy().replace('\\', "/");
        match std::fs::read(root.join(relative)) {
            Ok(bytes) => SourceFile::decode(&name, bytes),
            Err(e) => Err(Diagnostic::file(Severity::Error, &name, format!("cannot read it: {e}"))),
        }
    }

    /// The file `name`, already read as `bytes`, as text; when it is not UTF-8,
    /// an error at the first byte that is not, saying how to save it.
    pub fn decode(name: &str, bytes: Vec<u8>) -> Result<SourceFile, Diagnostic> {
        match String::from_utf8(bytes) {
            Ok(text) => {
                tracing::debug!("read {name} ({} bytes)", text.len());
                Ok(SourceFile { name: name.replace('\\', "/"), text })
            }
            Err(e) => Err(not_utf8(name, e.as_bytes(), e.utf8_error().valid_up_to())),
        }
    }

    /// A diagnostic pointing at `span` (byte offsets into the file's text).
    pub fn diag(&self, severity: Severity, span: Option<Range<usize>>, message: impl Into<String>) -> Diagnostic {
        let mut d = Diagnostic::file(severity, &self.name, message);
        if let Some(span) = span {
            let start = floor_char_boundary(&self.text, span.start.min(self.text.len()));
            let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = self.text[start..].find('\n').map_or(self.text.len(), |i| start + i);
            let line_text = self.text[line_start..line_end].trim_end_matches('\r');
            let line = self.text[..start].matches('\n').count() + 1;
            let col = self.text[line_start..start].chars().count() + 1;
            let end = floor_char_boundary(&self.text, span.end.clamp(start, line_end));
            let width = display_width(&self.text[start..end]).max(1);
            d.location = Some(Location { line, col, line_text: line_text.to_string(), width });
        }
        d
    }
}

/// The error for file `name`, whose `bytes` are UTF-8 up to `at` only: often
/// a file saved by an older Windows editor, with é as the single byte 0xE9.
fn not_utf8(name: &str, bytes: &[u8], at: usize) -> Diagnostic {
    let valid = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
    let line_start = valid.rfind('\n').map_or(0, |i| i + 1);
    let line_end = bytes[at..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| at + i);
    let line_text = String::from_utf8_lossy(&bytes[line_start..line_end]).trim_end_matches('\r').to_string();
    let location = Location {
        line: valid.matches('\n').count() + 1,
        col: valid[line_start..].chars().count() + 1,
        line_text,
        width: 1,
    };
    Diagnostic {
        severity: Severity::Error,
        file: name.replace('\\', "/"),
        location: Some(location),
        message: format!("the file is not UTF-8 text (byte 0x{:02X} here)", bytes[at]),
        hint: Some("save it as UTF-8 (in your editor's Save As, choose the encoding UTF-8)".into()),
    }
}

/// Columns a terminal gives `text`: two for CJK and most emoji, none for
/// combining marks, one for a tab (shown as a space).
fn display_width(text: &str) -> usize {
    use unicode_width::UnicodeWidthStr;
    text.split('\t').map(UnicodeWidthStr::width).sum::<usize>() + text.matches('\t').count()
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Where in a file a problem is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Location {
    pub line: usize,
    pub col: usize,
    /// The whole offending line, shown under the message.
    pub line_text: String,
    /// How many terminal columns the caret underlines.
    pub width: usize,
}

/// One problem in one file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    pub location: Option<Location>,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A problem with a whole file (no line).
    pub fn file(severity: Severity, file: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic { severity, file: file.to_string(), location: None, message: message.into(), hint: None }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// One line of `publish check --json`, shaped like cargo's
    /// `--message-format=json` diagnostics: `file`, `line`, `column` (1-based,
    /// in characters; null for a problem with a whole file), `severity`,
    /// `message`, `help`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "file": self.file,
            "line": self.location.as_ref().map(|l| l.line),
            "column": self.location.as_ref().map(|l| l.col),
            "severity": match self.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            },
            "message": self.message,
            "help": self.hint,
        })
    }
}

impl Diagnostic {
    /// Prints it on stderr with a blank line after, the severity in colour on
    /// a terminal; a warning not at all with `-q`.
    pub fn eprint(&self) {
        if quiet() && !self.is_error() {
            return;
        }
        let text = self.to_string();
        if !COLOR.load(Ordering::Relaxed) {
            eprintln!("{text}\n");
            return;
        }
        let (word, paint) = if self.is_error() { (": error:", "\x1b[1;31m") } else { (": warning:", "\x1b[1;33m") };
        let painted = text.replacen(word, &format!(": {paint}{}\x1b[0m:", &word[2..word.len() - 1]), 1);
        eprintln!("{painted}\n");
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match &self.location {
            Some(loc) => {
                writeln!(f, "{}:{}:{}: {kind}: {}", self.file, loc.line, loc.col, self.message)?;
                let number = loc.line.to_string();
                let pad = " ".repeat(number.len());
                let shown: String = loc.line_text.chars().map(|c| if c == '\t' { ' ' } else { c }).collect();
                writeln!(f, "{pad} |")?;
                writeln!(f, "{number} | {shown}")?;
                let before: String = shown.chars().take(loc.col - 1).collect();
                write!(f, "{pad} | {}{}", " ".repeat(display_width(&before)), "^".repeat(loc.width))?;
            }
            None => write!(f, "{}: {kind}: {}", self.file, self.message)?,
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  = help: {hint}")?;
        }
        Ok(())
    }
}

/// Every problem found in a workspace, in the order found.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    /// Prints every diagnostic to stderr, errors and warnings alike.
    pub fn print(&self) {
        for d in &self.items {
            d.eprint();
        }
    }
}

/// The nearest of `candidates` to `word`, if it is near enough to be a likely typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&word_lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> SourceFile {
        SourceFile { name: "issues/009.toml".into(), text: text.into() }
    }

    #[test]
    fn span_becomes_line_and_column() {
        let src = source("title = \"x\"\n\n[[sections]]\n  tkae = 1\n");
        let start = src.text.find("tkae").unwrap();
        let d = src.diag(Severity::Error, Some(start..start + 4), "unknown key \"tkae\"");
        let shown = d.to_string();
        assert!(shown.starts_with("issues/009.toml:4:3: error: unknown key \"tkae\""), "{shown}");
        assert!(shown.contains("4 |   tkae = 1\n  |   ^^^^"), "{shown}");
    }

    #[test]
    fn column_counts_characters_not_bytes() {
        let src = source("title = \"日本\" x\n");
        let start = src.text.find('x').unwrap();
        let d = src.diag(Severity::Warning, Some(start..start + 1), "m");
        assert_eq!(d.location.unwrap().col, 14);
    }

    #[test]
    fn the_caret_under_cjk_and_emoji_follows_display_width() {
        let src = source("title = \"日本語 🎉 x\" tkae = 1\n");
        let start = src.text.find("tkae").unwrap();
        let shown = src.diag(Severity::Error, Some(start..start + 4), "m").to_string();
        let lines: Vec<&str> = shown.lines().collect();
        let (code, caret) = (lines[2], lines[3]);
        let text_col = unicode_width::UnicodeWidthStr::width(&code[..code.find("tkae").unwrap()]);
        assert_eq!(caret.find('^'), Some(text_col), "\n{code}\n{caret}");
        let wide = "名前";
        let src = source(&format!("{wide} = 1\n"));
        let shown = src.diag(Severity::Error, Some(0..wide.len()), "m").to_string();
        assert!(shown.ends_with("| ^^^^"), "two wide characters take four columns: {shown}");
    }

    #[test]
    fn json_has_the_fields_cargo_users_expect() {
        let src = source("a = 1\nb = 2\n");
        let d = src.diag(Severity::Warning, Some(6..7), "unused").with_hint("remove it");
        let v = d.to_json();
        assert_eq!(v["file"], "issues/009.toml");
        assert_eq!((v["line"].as_u64(), v["column"].as_u64()), (Some(2), Some(1)));
        assert_eq!(
            (v["severity"].as_str(), v["message"].as_str(), v["help"].as_str()),
            (Some("warning"), Some("unused"), Some("remove it"))
        );
        let whole = Diagnostic::file(Severity::Error, "publish.toml", "m").to_json();
        assert!(whole["line"].is_null() && whole["help"].is_null());
    }

    #[test]
    fn nearest_suggests_typos_only() {
        let keys = ["title", "url", "take", "authors"];
        assert_eq!(nearest("tkae", keys), Some("take"));
        assert_eq!(nearest("autors", keys), Some("authors"));
        assert_eq!(nearest("zzzzzz", keys), None);
    }
}
