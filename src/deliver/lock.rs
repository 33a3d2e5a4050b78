//! Lock files: two processes never send the same issue (or run cron) at once.
//! The lock is an OS file lock, so it goes away with the process that held
//! it, however that process ended; the file says who holds it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;

use anyhow::{Context, Result};

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct Lock {
    file: File,
}

/// Trying a lock that another process holds.
#[derive(Debug)]
pub enum TryLock {
    Acquired(Lock),
    /// Held by someone else; what the lock file says about them.
    Held(String),
}

impl Lock {
    /// [`Lock::try_acquire`], tried again for up to `patience` while another
    /// process holds it.
    pub fn acquire_within(state_dir: &Path, name: &str, what: &str, patience: std::time::Duration) -> Result<TryLock> {
        let started = std::time::Instant::now();
        loop {
            match Lock::try_acquire(state_dir, name, what)? {
                TryLock::Held(_) if started.elapsed() < patience => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                outcome => return Ok(outcome),
            }
        }
    }

    /// Takes `<state_dir>/<name>.lock` without waiting.
    pub fn try_acquire(state_dir: &Path, name: &str, what: &str) -> Result<TryLock> {
        std::fs::create_dir_all(state_dir).with_context(|| format!("cannot create {}", state_dir.display()))?;
        let path = state_dir.join(format!("{name}.lock"));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Ok(TryLock::Held(if holder.is_empty() {
                    "another publish process".into()
                } else {
                    holder.to_string()
                }));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
        let started = crate::clock::now()?.strftime("%Y-%m-%d %H:%M:%S UTC");
        let info = format!(
            "pid {} on {} since {started} ({what})",
            std::process::id(),
            if host.is_empty() { "this machine" } else { &host }
        );
        file.set_len(0)?;
        file.rewind()?;
        file.write_all(info.as_bytes())
            .and_then(|_| file.flush())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(TryLock::Acquired(Lock { file }))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}
