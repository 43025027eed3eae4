//! Durable file primitives for the registry: write-and-fsync, directory fsync, JSON reads.
//! Every registry write is built from these so its crash behaviour can be argued step by step
//! (see `docs/registry.md`).

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{io, RegistryError};

/// Creates (or truncates) `path`, writes `bytes` and fsyncs the file.
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), RegistryError> {
    let mut f = File::create(path).map_err(io("create", path))?;
    f.write_all(bytes).map_err(io("write", path))?;
    f.sync_all().map_err(io("fsync", path))
}

/// Fsyncs a directory so the names created, removed or renamed in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), RegistryError> {
    let d = File::open(dir).map_err(io("open directory", dir))?;
    match d.sync_all() {
        Ok(()) => Ok(()),
        // Some filesystems refuse fsync on a directory; there is nothing better to do there.
        Err(e) if matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::Unsupported) => Ok(()),
        Err(e) => Err(io("fsync directory", dir)(e)),
    }
}

/// Creates `dir` (and missing parents) when missing; fsyncs its parent when it was created.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), RegistryError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(io("create directory", dir))?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Pretty JSON of `value` with a trailing newline.
pub(crate) fn to_json<T: Serialize>(
    value: &T,
    what: &'static str,
    path: &Path,
) -> Result<Vec<u8>, RegistryError> {
    let mut bytes =
        serde_json::to_vec_pretty(value).map_err(|source| RegistryError::Serialize {
            what,
            path: path.to_path_buf(),
            source,
        })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Reads and parses a JSON file; `Ok(None)` when it does not exist.
pub(crate) fn read_json<T: DeserializeOwned>(
    path: &Path,
    what: &'static str,
) -> Result<Option<T>, RegistryError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("read", path)(e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| RegistryError::BadJson {
            what,
            path: path.to_path_buf(),
            source,
        })
}
