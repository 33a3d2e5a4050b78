//! File writing that never leaves a half-written file: write a temporary file
//! beside the target, flush it, then rename it over the target.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// A temporary file beside `path` holding `bytes`, flushed to disk.
fn filled_temp(path: &Path, dir: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_data())
        .with_context(|| format!("cannot write {}", path.display()))?;
    readable(tmp.as_file());
    Ok(tmp)
}

/// Writes `bytes` to `path` atomically, creating parent folders.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = filled_temp(path, dir, bytes)?;
    tmp.persist(path).map_err(|e| e.error).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Creates `path` with `bytes`, readable by the owner only, unless it exists (atomically).
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = filled_temp(path, dir, bytes)?;
    private(tmp.as_file());
    match tmp.persist_noclobber(path) {
        Ok(_) => Ok(()),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e.error).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// Creates `path` with `bytes`, refusing when something is already there, even a
/// file made meanwhile by another process (atomically: all or nothing).
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
    let tmp = filled_temp(path, dir, bytes)?;
    if secret {
        private(tmp.as_file());
    }
    match tmp.persist_noclobber(path) {
        Ok(_) => Ok(()),
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
