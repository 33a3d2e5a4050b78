//! Issue files as the last `publish build` checked them, kept in
//! `.publish/issues.bin` so that the next build (or check) reads and checks
//! only the files that changed.
//!
//! Each issue is kept under a key: a SHA-256 of everything checking it reads,
//! which is the binary (version, size, modification time), the workspace's
//! folder, `publish.toml`, `sponsors.toml`, the issue file's path, number and
//! bytes, and the size and modification time of every workspace file the issue
//! names (picture, audio, chapters, transcript, alternates; a missing one
//! counts as missing). When the key of a file is the same as the kept one, the
//! kept issue and its diagnostics are taken as they are; otherwise the file is
//! read and checked in full. Checks across files always run over every issue.
//!
//! Only issues valid alone are kept (a file with errors is always read again).
//! The file is written atomically, by `publish build` only, and only when it
//! would change. A missing, damaged, other-format or other-binary file is
//! ignored (and replaced by the next build): it is a shortcut, never an error.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::diag::Diagnostic;
use crate::workspace::content::issue::Issue;

/// The file's name in the state folder.
pub const KEPT_FILE: &str = "issues.bin";
/// Bumped whenever what is kept changes shape.
const FORMAT: u32 = 2;

/// The running binary, as its version, size and modification time: a rebuilt
/// `publish` may check or write differently, so nothing an older one kept is used.
pub fn binary_stamp() -> String {
    let meta = std::env::current_exe().and_then(std::fs::metadata);
    let (len, modified) = meta.map_or((0, None), |m| (m.len(), m.modified().ok()));
    let ns = modified.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    format!("{} {len} {ns}", env!("CARGO_PKG_VERSION"))
}

/// The key of an issue file, [`KeyBase::file`] then [`FileKey::with_media`].
pub type Key = [u8; 32];

/// What every issue of a load is checked with, hashed once: the binary, the
/// folder, `publish.toml` and `sponsors.toml` (`None` when absent or unreadable).
#[derive(Clone)]
pub struct KeyBase(Sha256);

impl std::fmt::Debug for KeyBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyBase")
    }
}

/// An issue file's key before its media files are stamped.
pub struct FileKey(Sha256);

fn put(hash: &mut Sha256, bytes: &[u8]) {
    hash.update((bytes.len() as u64).to_le_bytes());
    hash.update(bytes);
}

fn put_opt(hash: &mut Sha256, text: Option<&str>) {
    match text {
        Some(t) => {
            hash.update([1]);
            put(hash, t.as_bytes());
        }
        None => hash.update([0]),
    }
}

impl KeyBase {
    pub fn new(root: &Path, config: Option<&str>, sponsors: Option<&str>) -> KeyBase {
        let mut hash = Sha256::new();
        put(&mut hash, &FORMAT.to_le_bytes());
        put(&mut hash, binary_stamp().as_bytes());
        // The folder as the filesystem names it: `--workspace .` and its
        // absolute path are one workspace, not two that undo each other's keys.
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        put(&mut hash, root.as_os_str().as_encoded_bytes());
        put_opt(&mut hash, config);
        put_opt(&mut hash, sponsors);
        KeyBase(hash)
    }

    /// The issue file `relative`, numbered `number`, holding `text`.
    pub fn file(&self, relative: &str, number: u32, bytes: &[u8]) -> FileKey {
        let mut hash = self.0.clone();
        put(&mut hash, relative.as_bytes());
        put(&mut hash, &number.to_le_bytes());
        put(&mut hash, bytes);
        FileKey(hash)
    }
}

impl FileKey {
    /// The whole key: with the size and modification time of each of `media`
    /// (paths relative to `root`) as they are now.
    pub fn with_media(&self, root: &Path, media: &[String]) -> Key {
        let mut hash = self.0.clone();
        put(&mut hash, &(media.len() as u64).to_le_bytes());
        for rel in media {
            put(&mut hash, rel.as_bytes());
            let stamp = std::fs::metadata(root.join(rel)).ok().map(|m| {
                let ns = m.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
                (m.len(), ns, m.is_file())
            });
            match stamp {
                Some((len, ns, file)) => {
                    hash.update([1, u8::from(file)]);
                    hash.update(len.to_le_bytes());
                    hash.update(ns.to_le_bytes());
                }
                None => hash.update([0]),
            }
        }
        hash.finalize().into()
    }
}

/// One kept issue file, as written: what decides whether it is taken, and
/// the issue with its diagnostics encoded apart (`body`, postcard), so that
/// reading the file decodes only the entries taken (on the loading threads).
#[derive(Serialize)]
struct EntryOut<'a> {
    file: &'a str,
    number: u32,
    key: Key,
    /// The workspace files the issue names, whose stamps are in `key`.
    media: Vec<String>,
    #[serde(serialize_with = "as_bytes")]
    body: Vec<u8>,
}

/// [`EntryOut`] as read, borrowing from the file's bytes.
#[derive(Deserialize)]
struct EntryIn<'a> {
    file: &'a str,
    number: u32,
    key: Key,
    media: Vec<String>,
    body: &'a [u8],
}

fn as_bytes<S: serde::Serializer>(bytes: &[u8], to: S) -> Result<S::Ok, S::Error> {
    to.serialize_bytes(bytes)
}

/// The body of an entry: the checked issue and what checking its file alone
/// found (warnings only: it is valid).
#[derive(Serialize, Deserialize)]
struct Body<'a> {
    issue: Cow<'a, Issue>,
    diags: Cow<'a, [Diagnostic]>,
}

#[derive(Serialize, Deserialize)]
struct KeptFileContents<E> {
    format: u32,
    binary: String,
    entries: Vec<E>,
}

/// An entry of the kept file, its body not decoded yet.
struct Held {
    number: u32,
    key: Key,
    media: Vec<String>,
    /// Where its body is in the file's bytes.
    body: Range<usize>,
}

/// An issue taken from the kept file: the checked issue and what checking it found.
pub struct Taken {
    pub key: Key,
    pub issue: Issue,
    pub diags: Vec<Diagnostic>,
}

/// The kept issues of the last build, for one load to take from.
#[derive(Default)]
pub struct Kept {
    /// The file as read.
    bytes: Vec<u8>,
    entries: Mutex<HashMap<String, Held>>,
    /// How many entries the file held.
    held: usize,
    /// How many of them were found with the same key (taken, or read again and the same).
    same: AtomicUsize,
}

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kept {{ held: {}, same: {} }}", self.held, self.same.load(Ordering::Relaxed))
    }
}

/// The entries of a kept file's `bytes`; `None` when it is damaged, of
/// another format or of another binary.
fn entries(bytes: &[u8]) -> Option<HashMap<String, Held>> {
    let file: KeptFileContents<EntryIn> = postcard::from_bytes(bytes).ok()?;
    if file.format != FORMAT || file.binary != binary_stamp() {
        return None;
    }
    let base = bytes.as_ptr() as usize;
    let held = file.entries.into_iter().map(|e| {
        // The body is a part of `bytes` (postcard borrows it): where?
        let start = (e.body.as_ptr() as usize).checked_sub(base).filter(|s| s + e.body.len() <= bytes.len())?;
        let held = Held { number: e.number, key: e.key, media: e.media, body: start..start + e.body.len() };
        Some((e.file.to_string(), held))
    });
    held.collect()
}

impl Kept {
    /// The issues kept in `state_dir` by this binary; none when the file is
    /// missing, damaged, of another format or of another binary.
    pub fn open(state_dir: &Path) -> Kept {
        let bytes = std::fs::read(state_dir.join(KEPT_FILE)).unwrap_or_default();
        let entries = entries(&bytes).unwrap_or_default();
        Kept { bytes, held: entries.len(), entries: Mutex::new(entries), same: AtomicUsize::new(0) }
    }

    fn remove(&self, relative: &str, number: u32) -> Option<Held> {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.remove(relative).filter(|e| e.number == number)
    }

    /// The issue kept for `relative` (numbered `number`), when its key is the
    /// one `key` gives for its media files now.
    pub fn take(&self, relative: &str, number: u32, key: &FileKey, root: &Path) -> Option<Taken> {
        let held = self.remove(relative, number)?;
        if key.with_media(root, &held.media) != held.key {
            return None;
        }
        let body: Body = postcard::from_bytes(self.bytes.get(held.body)?).ok()?;
        self.same.fetch_add(1, Ordering::Relaxed);
        Some(Taken { key: held.key, issue: body.issue.into_owned(), diags: body.diags.into_owned() })
    }

    /// Notes that `relative` was read again (it is the issue being built) and
    /// came out with `key`: when that is the kept key, the file needs no rewrite.
    pub fn read_again(&self, relative: &str, number: u32, key: &Key) {
        if self.remove(relative, number).is_some_and(|e| e.key == *key) {
            self.same.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Whether keeping exactly `count` issues, all found the same, would write
    /// what the file already holds.
    pub fn holds_exactly(&self, count: usize) -> bool {
        self.held == count && self.same.load(Ordering::Relaxed) == count
    }
}

/// An issue to keep: its file, key, the issue and what checking it found.
pub struct ToKeep<'a> {
    pub file: &'a str,
    pub key: Key,
    pub issue: &'a Issue,
    pub diags: &'a [Diagnostic],
}

/// Writes `issues` to `state_dir` (atomically).
pub fn save<'a>(state_dir: &Path, issues: impl Iterator<Item = ToKeep<'a>>) -> anyhow::Result<()> {
    let mut entries = Vec::new();
    for k in issues {
        let body = postcard::to_allocvec(&Body { issue: Cow::Borrowed(k.issue), diags: Cow::Borrowed(k.diags) })?;
        entries.push(EntryOut { file: k.file, number: k.issue.number, key: k.key, media: k.issue.local_files(), body });
    }
    let bytes = postcard::to_allocvec(&KeptFileContents { format: FORMAT, binary: binary_stamp(), entries })?;
    crate::fsutil::write_atomic(&state_dir.join(KEPT_FILE), &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference issue (picture size, chapters, transcript cues, persons)
    /// comes back from the kept file as it was checked.
    #[test]
    fn a_kept_issue_reads_back_as_it_was_checked() {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let ws = crate::workspace::Workspace::load(root).unwrap();
        let entry = &ws.issues[&9];
        let issue = entry.issue.as_ref().unwrap();
        assert!(issue.image.as_ref().unwrap().size.is_some());
        assert!(!issue.episode.as_ref().unwrap().cues.is_empty());
        let keep = ToKeep { file: &entry.file, key: entry.key, issue, diags: &entry.found };
        save(dir.path(), std::iter::once(keep)).unwrap();

        let kept = Kept::open(dir.path());
        let text = std::fs::read_to_string(root.join(&entry.file)).unwrap();
        let keys = KeyBase::new(
            root,
            std::fs::read_to_string(root.join("publish.toml")).ok().as_deref(),
            std::fs::read_to_string(root.join("sponsors.toml")).ok().as_deref(),
        );
        let file_key = keys.file(&entry.file, 9, text.as_bytes());
        let taken = kept.take(&entry.file, 9, &file_key, root).expect("same key");
        assert_eq!(format!("{:?}", taken.issue), format!("{issue:?}"));
        assert_eq!(format!("{:?}", taken.diags), format!("{:?}", entry.found));
        assert!(kept.holds_exactly(1));

        // Another number for the same file, or another text: not taken.
        let kept = Kept::open(dir.path());
        assert!(kept.take(&entry.file, 10, &file_key, root).is_none());
        let kept = Kept::open(dir.path());
        let other = keys.file(&entry.file, 9, text.replacen("title", "title ", 1).as_bytes());
        assert!(kept.take(&entry.file, 9, &other, root).is_none());
    }
}
