//! The registry's error type: every variant names the path, version, alias or lock it is about,
//! so a message says what to look at without a backtrace.

use std::path::PathBuf;

/// Something the model registry could not do.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A filesystem operation failed.
    #[error("cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A manifest, pointer or lock file holds JSON that does not parse.
    #[error("{path} is not a valid {what}: {source}")]
    BadJson {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// A JSON value could not be serialised (should not happen for registry types).
    #[error("cannot serialise the {what} for {path}: {source}")]
    Serialize {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// No version or alias of that name exists.
    #[error("no model {kind} `{name}` in the registry {dir}")]
    NotFound {
        /// `"version"` or `"alias"`.
        kind: &'static str,
        name: String,
        dir: PathBuf,
    },

    /// A name (alias, lock, artifact file name) does not follow the rules.
    #[error("invalid {kind} name `{name}`: {reason}")]
    InvalidName {
        /// `"alias"`, `"lock"` or `"artifact file"`.
        kind: &'static str,
        name: String,
        reason: &'static str,
    },

    /// The artifact on disk does not have the SHA-256 its manifest records.
    #[error(
        "model version {version}: checksum mismatch for {path}: manifest says sha256 {expected}, \
         file has {actual}; the artifact was modified or corrupted, refusing to load it"
    )]
    ChecksumMismatch {
        version: String,
        path: PathBuf,
        expected: String,
        actual: String,
    },

    /// A version directory's manifest names another version (the directory was renamed or
    /// copied by hand).
    #[error("{path} says it is version `{found}`, but it lives in the directory of `{expected}`")]
    ManifestMismatch {
        path: PathBuf,
        expected: String,
        found: String,
    },

    /// Another process holds the named lock.
    #[error("another {name} ({holder}) holds the lock {path}; wait for it to finish")]
    Locked {
        name: String,
        path: PathBuf,
        /// e.g. `pid 123, since 2026-11-23T04:15:00Z`.
        holder: String,
    },

    /// `rollback` found no earlier version in the alias's history.
    #[error(
        "alias `{alias}` in {dir} has no earlier version to roll back to (it points at {current})"
    )]
    NoRollback {
        alias: String,
        current: String,
        dir: PathBuf,
    },

    /// The alias already points at the requested version.
    #[error("alias `{alias}` in {dir} already points at {version}")]
    Unchanged {
        alias: String,
        version: String,
        dir: PathBuf,
    },

    /// `auto-champion` was asked for an alias that is already set.
    #[error("alias `{alias}` in {dir} is already set (to {current}); auto-champion only fills an empty alias")]
    AliasAlreadySet {
        alias: String,
        current: String,
        dir: PathBuf,
    },

    /// `set_alias` was called with an action that does not move an alias that way.
    #[error("action `{action}` cannot be used to set alias `{alias}` (use promote or auto-champion; rollback has its own call)")]
    InvalidAction { alias: String, action: String },

    /// Registration kept colliding with versions other processes registered at the same time.
    #[error("gave up registering in {dir} after {attempts} attempts: other processes kept taking the next version number")]
    TooManyCollisions { dir: PathBuf, attempts: u32 },

    /// Test-only fault injection stopped a write at the named step (a simulated crash).
    #[doc(hidden)]
    #[error("simulated crash at step `{step}` while writing {path}")]
    SimulatedCrash { step: &'static str, path: PathBuf },
}

/// Shorthand: maps an io error on `path` during `op` ("read", "create", "rename", …).
pub(crate) fn io(
    op: &'static str,
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> RegistryError {
    let path = path.to_path_buf();
    move |source| RegistryError::Io { op, path, source }
}
