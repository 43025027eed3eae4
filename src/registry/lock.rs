//! Advisory file locks in the registry directory: named run locks (`.<name>.lock`, e.g. so two
//! retrains never overlap; fail fast with the holder's pid) and the short internal lock that
//! serialises alias moves and history appends (`.aliases.lock`; waits).
//!
//! The OS releases a lock when its file is closed, so a lock dies with its process: a crashed
//! run never leaves a stale lock behind. The lock file itself stays; only the OS lock matters.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::error::{io, RegistryError};

/// Who holds a named lock, written into the lock file for the other side's error message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    pub since: DateTime<Utc>,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {}, since {}",
            self.pid,
            self.since.to_rfc3339_opts(SecondsFormat::Secs, true)
        )
    }
}

/// A held named lock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct LockGuard {
    name: String,
    path: PathBuf,
    holder: LockHolder,
    // Keeps the OS lock: closing the file releases it.
    _file: File,
}

impl LockGuard {
    /// The lock's name (`retrain`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The lock file (`<dir>/.retrain.lock`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This process's pid and the time the lock was taken.
    pub fn holder(&self) -> &LockHolder {
        &self.holder
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Forget the holder before the OS lock goes with the file, so a later failed attempt
        // never names a process that no longer holds it (best effort: a crash skips this, and
        // the next holder overwrites the details).
        let _ = self._file.set_len(0);
    }
}

fn open_lock_file(path: &Path) -> Result<File, RegistryError> {
    // No truncate: the file may hold the current holder's details, which must survive a
    // failed attempt to take the lock.
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io("open lock file", path))
}

/// Takes the named lock at `path` or fails at once with [`RegistryError::Locked`].
pub(crate) fn try_acquire(name: &str, path: &Path) -> Result<LockGuard, RegistryError> {
    let mut file = open_lock_file(path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(RegistryError::Locked {
                name: name.to_string(),
                path: path.to_path_buf(),
                holder: read_holder(&mut file),
            })
        }
        Err(TryLockError::Error(e)) => return Err(io("lock", path)(e)),
    }
    let holder = LockHolder {
        pid: std::process::id(),
        since: Utc::now(),
    };
    let text = serde_json::to_vec(&holder).map_err(|source| RegistryError::Serialize {
        what: "lock holder",
        path: path.to_path_buf(),
        source,
    })?;
    file.set_len(0)
        .and_then(|_| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(&text))
        .and_then(|_| file.sync_data())
        .map_err(io("write lock file", path))?;
    Ok(LockGuard {
        name: name.to_string(),
        path: path.to_path_buf(),
        holder,
        _file: file,
    })
}

/// The holder recorded in a lock file, for an error message; never fails.
fn read_holder(file: &mut File) -> String {
    let mut text = String::new();
    if file.read_to_string(&mut text).is_err() {
        return "holder unknown".to_string();
    }
    match serde_json::from_str::<LockHolder>(&text) {
        Ok(h) => h.to_string(),
        // The holder took the lock but has not written its details yet.
        Err(_) => "holder unknown".to_string(),
    }
}

/// The internal lock serialising alias moves and history appends; waits for it (it is held
/// for milliseconds).
pub(crate) struct InternalLock {
    _file: File,
}

pub(crate) fn acquire_blocking(path: &Path) -> Result<InternalLock, RegistryError> {
    let file = open_lock_file(path)?;
    file.lock().map_err(io("lock", path))?;
    Ok(InternalLock { _file: file })
}
