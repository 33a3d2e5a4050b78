//! File writing that never leaves a half-written file: write a temporary file
//! beside the target, flush it, then rename it over the target.
//!
//! A process killed between the two leaves its temporary file behind. Each is
//! named `.publish-tmp-<pid>-<random>`: hidden (never served, ignored by the
//! `.gitignore` of `publish init`), and [`sweep_temps`] removes those whose
//! process is gone, so that no leftover is deployed with `out/` or committed
//! beside an issue file.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// A temporary file beside `path` holding `bytes`, flushed to disk.
fn filled_temp(path: &Path, dir: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_data())
        .with_context(|| format!("cannot write {}", path.display()))?;
    readable(tmp.as_file());
    Ok(tmp)
}

/// How every temporary file of this module's begins.
pub const TEMP_PREFIX: &str = ".publish-tmp-";

/// Removes from `dir` the temporary files left by processes that were killed
/// while writing (see the module's documentation); those of live processes
/// are left to them. Returns how many were removed; a missing `dir` has none.
pub fn sweep_temps(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TEMP_PREFIX)) else { continue };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| !writer_gone(pid, &entry)) {
            continue;
        }
        if std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Whether the process `pid` that wrote `entry` has ended: on Linux, when it is
/// not in `/proc`; elsewhere, when the file is an hour old (no write takes that long).
fn writer_gone(pid: u32, entry: &std::fs::DirEntry) -> bool {
    let proc = Path::new("/proc");
    if proc.join("self").exists() {
        return pid != std::process::id() && !proc.join(pid.to_string()).exists();
    }
    let age = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
    age.is_some_and(|a| a > std::time::Duration::from_secs(3600))
}

/// Makes a rename or a new file in `dir` survive a power cut (the file's own
/// bytes are synced before it is renamed).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Writes `bytes` to `path` atomically, creating parent folders.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = filled_temp(path, dir, bytes)?;
    tmp.persist(path).map_err(|e| e.error).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// [`write_atomic`] for a file the user made (an issue file): the new one is
/// on disk, not only in the cache, when this returns. When `path` is a symbolic
/// link, the file it points to is replaced and the link stays; the file keeps
/// its permissions. Temporary files a killed run left beside it are removed.
pub fn replace_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let is_link = path.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink());
    let target = if is_link {
        std::fs::canonicalize(path).with_context(|| format!("cannot follow the link {}", path.display()))?
    } else {
        path.to_path_buf()
    };
    let dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    sweep_temps(dir);
    let permissions = std::fs::metadata(&target).ok().map(|m| m.permissions());
    let tmp = filled_temp(&target, dir, bytes)?;
    if let Some(permissions) = permissions {
        let _ = tmp.as_file().set_permissions(permissions);
    }
    tmp.persist(&target).map_err(|e| e.error).with_context(|| format!("cannot write {}", target.display()))?;
    sync_dir(dir);
    Ok(())
}

/// Creates `path` with `bytes`, readable by the owner only, unless it exists (atomically).
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = filled_temp(path, dir, bytes)?;
    private(tmp.as_file());
    match tmp.persist_noclobber(path) {
        Ok(_) => {
            sync_dir(dir);
            Ok(())
        }
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e.error).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// Creates `path` with `bytes`, refusing when something is already there, even a
/// file made meanwhile by another process (atomically: all or nothing, and
/// on disk when this returns). Temporary files a killed run left beside it
/// are removed.
pub fn create_new(path: &Path, bytes: &[u8]) -> Result<()> {
    create(path, bytes, false)
}

/// [`create_new`] for a secret: readable by the owner only (mode 0600).
pub fn create_new_private(path: &Path, bytes: &[u8]) -> Result<()> {
    create(path, bytes, true)
}

fn create(path: &Path, bytes: &[u8], secret: bool) -> Result<()> {
    let exists = || anyhow::anyhow!("{} already exists; nothing was written", path.display());
    if path.symlink_metadata().is_ok() {
        return Err(exists());
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    sweep_temps(dir);
    let tmp = filled_temp(path, dir, bytes)?;
    if secret {
        private(tmp.as_file());
    }
    match tmp.persist_noclobber(path) {
        Ok(_) => {
            sync_dir(dir);
            Ok(())
        }
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Err(exists()),
        Err(e) => Err(e.error).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// Generated files are for publishing: readable by all, like any file the user makes.
fn readable(file: &std::fs::File) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    #[cfg(not(unix))]
    let _ = file;
}

/// Secrets are for the owner's eyes only.
fn private(file: &std::fs::File) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = file;
}
