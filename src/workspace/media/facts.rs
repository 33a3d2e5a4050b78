//! What reading a media file tells, kept so that no file is read twice for it:
//! a picture's header once per load (a hundred issues may share one cover), and
//! an audio file's facts (size, duration, type) across runs too, in
//! `.publish/audio-facts.json`, keyed by the file's path, size and modification
//! time. A rebuild then opens no audio file that did not change; a file with a
//! new size or time is probed again. The cache is only ever a shortcut: a file
//! that is missing, damaged or of another format is ignored (and rebuilt).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::workspace::media::audio::{self, AudioInfo};
use crate::workspace::media::image::{self, ImageInfo};

/// The cache file's name in the state folder.
pub const AUDIO_CACHE: &str = "audio-facts.json";
/// Bumped whenever what is stored (or how a duration is measured) changes:
/// a file of another version is read as empty.
const FORMAT: u32 = 1;

/// One audio file's facts, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Cached {
    size: u64,
    /// Modification time, nanoseconds since 1970.
    mtime_ns: u128,
    seconds: f64,
    mime: String,
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    format: u32,
    /// By path (as the workspace reads it).
    audio: BTreeMap<String, Cached>,
}

#[derive(Debug, Default)]
struct AudioCache {
    /// What the file held when loaded.
    stored: BTreeMap<String, Cached>,
    /// The facts of every audio file read in this run.
    used: BTreeMap<String, Cached>,
}

/// Media facts of one workspace load (shared by the threads that load it).
#[derive(Debug, Default)]
pub struct MediaFacts {
    audio: Mutex<AudioCache>,
    images: Mutex<HashMap<PathBuf, Result<ImageInfo, String>>>,
}

impl MediaFacts {
    /// The facts kept in `state_dir` (none when the cache is missing, unreadable or
    /// of another format: never an error).
    pub fn open(state_dir: &Path) -> MediaFacts {
        let stored = std::fs::read(state_dir.join(AUDIO_CACHE))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .filter(|file| file.format == FORMAT)
            .map(|file| file.audio)
            .unwrap_or_default();
        MediaFacts { audio: Mutex::new(AudioCache { stored, used: BTreeMap::new() }), images: Mutex::default() }
    }

    /// [`audio::read`], unless the file at `path` has the size and modification
    /// time it had when last read: then from the cache, without opening it.
    pub fn audio(&self, path: &Path) -> Result<AudioInfo, String> {
        let key = path.to_string_lossy().into_owned();
        let stamp = std::fs::metadata(path).ok().and_then(|m| {
            let mtime = m.modified().ok()?.duration_since(UNIX_EPOCH).ok()?.as_nanos();
            Some((m.len(), mtime))
        });
        let mut cache = self.audio.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((size, mtime_ns)) = stamp {
            let known = cache.used.get(&key).or_else(|| cache.stored.get(&key));
            if let Some(c) = known.filter(|c| c.size == size && c.mtime_ns == mtime_ns)
                && let Some(mime) = known_mime(&c.mime)
                && c.seconds.is_finite()
                && c.seconds > 0.0
            {
                let info = AudioInfo { bytes: size, seconds: c.seconds, mime };
                let c = c.clone();
                cache.used.insert(key, c);
                return Ok(info);
            }
        }
        drop(cache);
        let info = audio::read(path)?;
        if let Some((size, mtime_ns)) = stamp.filter(|(size, _)| *size == info.bytes) {
            let cached = Cached { size, mtime_ns, seconds: info.seconds, mime: info.mime.to_string() };
            self.audio.lock().unwrap_or_else(std::sync::PoisonError::into_inner).used.insert(key, cached);
        }
        Ok(info)
    }

    /// Keeps the cached facts of `media` (paths relative to `root`) for the
    /// next run, as if read: for an issue taken unchanged from the last build,
    /// whose audio is not probed (nor looked up) this time.
    pub fn keep(&self, root: &Path, media: &[String]) {
        let mut cache = self.audio.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for rel in media {
            let key = root.join(rel).to_string_lossy().into_owned();
            if let Some(c) = cache.stored.get(&key).cloned() {
                cache.used.insert(key, c);
            }
        }
    }

    /// [`image::read`], once per path for the whole load.
    pub fn image(&self, path: &Path) -> Result<ImageInfo, String> {
        if let Some(known) = self.images.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(path) {
            return known.clone();
        }
        let info = image::read(path);
        self.images.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(path.to_path_buf(), info.clone());
        info
    }

    /// Whether the cache file should be written: an audio file was probed, or one
    /// it names is no longer used.
    pub fn changed(&self) -> bool {
        let cache = self.audio.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.used != cache.stored
    }

    /// Writes the facts of the audio files this load used to `state_dir`
    /// (atomically) when they differ from what was there.
    pub fn save(&self, state_dir: &Path) -> anyhow::Result<()> {
        if !self.changed() {
            return Ok(());
        }
        let mut cache = self.audio.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let json = serde_json::to_vec_pretty(&CacheFile { format: FORMAT, audio: cache.used.clone() })?;
        crate::fsutil::write_atomic(&state_dir.join(AUDIO_CACHE), &json)?;
        cache.stored = cache.used.clone();
        Ok(())
    }
}

/// The MIME types [`audio::read`] gives, as `'static` strings.
fn known_mime(mime: &str) -> Option<&'static str> {
    ["audio/mpeg", "audio/x-m4a", "audio/aac"].into_iter().find(|m| *m == mime)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/media").join(name)
    }

    #[test]
    fn a_corrupt_or_old_cache_is_ignored_and_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let audio = dir.path().join("tone.mp3");
        std::fs::copy(fixture("tone.mp3"), &audio).unwrap();
        for junk in ["{not json", r#"{"format": 0, "audio": {}}"#, ""] {
            std::fs::write(dir.path().join(AUDIO_CACHE), junk).unwrap();
            let facts = MediaFacts::open(dir.path());
            let info = facts.audio(&audio).unwrap();
            assert!((info.seconds - 1.0).abs() < 1e-9);
            assert!(facts.changed());
            facts.save(dir.path()).unwrap();
            let again = MediaFacts::open(dir.path());
            assert_eq!(again.audio(&audio).unwrap(), info);
            assert!(!again.changed(), "the rewritten cache has the file's facts");
        }
    }
}
