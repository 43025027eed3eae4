//! Model registry: a directory of immutable, checksummed model versions, aliases that point at
//! them (`champion`, `challenger`, …) and an append-only history of every move.
//!
//! In: an opaque model artifact (bytes, e.g. a model's JSON) and a [`NewManifest`] describing
//! it. Out: version ids, [`Manifest`]s, verified artifacts, alias moves and their [`History`].
//! Every write is staged and renamed into place so a crash at any moment leaves either the old
//! state or the new one, never half of either; `docs/registry.md` walks through each step.
//!
//! On disk (`models/` by default):
//! ```text
//! models/
//!   v0001-20261123T041500Z/   manifest.json + the artifact (model.json), never modified
//!   aliases/champion.json     the alias's latest move: version, previous, action, reason, …
//!   history.jsonl             one JSON object per registration or alias move
//!   .retrain.lock             named run locks (Registry::lock)
//!   .write.lock               internal: serialises numbering, alias moves and history appends
//!   .staging-…/               a registration in progress (or left by a crash; ignored)
//! ```

mod error;
mod fsio;
mod history;
mod lock;
mod manifest;

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;

pub use error::RegistryError;
pub use history::{Action, History, HistoryEntry};
pub use lock::{LockGuard, LockHolder};
pub use manifest::{
    parse_version_id, sha256_hex, version_id, Manifest, NewManifest, DEFAULT_ARTIFACT_FILE,
    MANIFEST_FILE, MANIFEST_FORMAT,
};

use error::io;
use fsio::{ensure_dir, read_json, sync_dir, to_json, write_synced};

/// The alias that scoring serves.
pub const CHAMPION: &str = "champion";
/// The alias of the model under evaluation beside the champion.
pub const CHALLENGER: &str = "challenger";
/// The history file's name in the registry directory.
pub const HISTORY_FILE: &str = "history.jsonl";
/// The directory of alias pointers in the registry directory.
pub const ALIASES_DIR: &str = "aliases";
/// Staging directories older than this are leftovers of a crash and removed on the next
/// registration.
pub const STALE_STAGING_AGE: Duration = Duration::from_secs(3600);

const STAGING_PREFIX: &str = ".staging-";
const WRITE_LOCK: &str = "write";
const MAX_REGISTER_ATTEMPTS: u32 = 100;

/// A step at which a test can make a registry write stop as if the process had crashed there.
/// Production calls never pass one; the check costs one comparison.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Registration: the artifact is written and fsynced in the staging directory.
    AfterArtifact,
    /// Registration: the manifest is written and fsynced too.
    AfterManifest,
    /// Registration: the staging directory is fsynced; the rename into place is next.
    BeforeRename,
    /// Registration: the version is renamed into place; the history line is next.
    BeforeHistory,
    /// Alias move: the new pointer is written and fsynced under a temporary name.
    BeforePointerRename,
    /// Alias move: the pointer is renamed into place; the history line is next.
    BeforePointerHistory,
}

impl Fault {
    fn step(self) -> &'static str {
        match self {
            Fault::AfterArtifact => "after artifact",
            Fault::AfterManifest => "after manifest",
            Fault::BeforeRename => "before rename",
            Fault::BeforeHistory => "before history append",
            Fault::BeforePointerRename => "before pointer rename",
            Fault::BeforePointerHistory => "before pointer history append",
        }
    }
}

fn crash_at(fault: Option<Fault>, at: Fault, path: &Path) -> Result<(), RegistryError> {
    if fault == Some(at) {
        return Err(RegistryError::SimulatedCrash {
            step: at.step(),
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Checks an alias name: `[a-z][a-z0-9_-]*`, at most 64 bytes, and not of the form `v<digits>`
/// (which names a version by its sequence number).
pub fn validate_alias(name: &str) -> Result<(), RegistryError> {
    let reason = name_rule_violation(name).or_else(|| {
        let digits = name.strip_prefix('v').unwrap_or("");
        (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .then_some("`v<number>` names a version by its sequence number")
    });
    match reason {
        Some(reason) => Err(RegistryError::InvalidName {
            kind: "alias",
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

fn validate_lock_name(name: &str) -> Result<(), RegistryError> {
    let reason = name_rule_violation(name)
        .or_else(|| (name == WRITE_LOCK).then_some("`write` is the registry's internal lock"));
    match reason {
        Some(reason) => Err(RegistryError::InvalidName {
            kind: "lock",
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

fn name_rule_violation(name: &str) -> Option<&'static str> {
    let mut bytes = name.bytes();
    match bytes.next() {
        None => Some("it is empty"),
        Some(b) if !b.is_ascii_lowercase() => Some("it must start with a lower-case letter a-z"),
        _ if name.len() > 64 => Some("it is longer than 64 bytes"),
        _ if !bytes
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-') =>
        {
            Some("only a-z, 0-9, `_` and `-` are allowed")
        }
        _ => None,
    }
}

/// `v7` or `7` → 7.
fn short_sequence(name: &str) -> Option<u32> {
    let digits = name.strip_prefix('v').unwrap_or(name);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn default_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_string());
    format!("{user} (pid {})", std::process::id())
}

/// A model registry rooted at a directory.
#[derive(Debug, Clone)]
pub struct Registry {
    dir: PathBuf,
    actor: String,
}

impl Registry {
    /// Opens the registry in `dir`, creating the directory (and its `aliases/`) when missing.
    pub fn open(dir: &Path) -> Result<Self, RegistryError> {
        ensure_dir(dir)?;
        ensure_dir(&dir.join(ALIASES_DIR))?;
        Ok(Registry {
            dir: dir.to_path_buf(),
            actor: default_actor(),
        })
    }

    /// Sets who is recorded in history entries this handle writes (defaults to
    /// `"$USER (pid N)"`), e.g. `"retrain job 42"` or a gRPC caller.
    pub fn with_actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = actor.into();
        self
    }

    /// The registry directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn history_path(&self) -> PathBuf {
        self.dir.join(HISTORY_FILE)
    }

    fn pointer_path(&self, alias: &str) -> PathBuf {
        self.dir.join(ALIASES_DIR).join(format!("{alias}.json"))
    }

    fn not_found(&self, kind: &'static str, name: &str) -> RegistryError {
        RegistryError::NotFound {
            kind,
            name: name.to_string(),
            dir: self.dir.clone(),
        }
    }

    // ---------------------------------------------------------------- versions

    /// Stores `artifact` as a new immutable version and returns its manifest. The version id is
    /// `v<next sequence>-<UTC time>`; numbering is serialised across processes by the registry's
    /// write lock, and a rename onto an existing version is retried with the next number.
    /// Should the history append fail after the version is in place, the error is returned but
    /// the version stays registered (its history line is recovered by the next write).
    pub fn register(
        &self,
        artifact: &[u8],
        manifest: NewManifest,
    ) -> Result<Manifest, RegistryError> {
        self.register_inner(artifact, manifest, None)
    }

    /// [`Registry::register`] that stops at `fault` as if the process crashed there (tests).
    #[doc(hidden)]
    pub fn register_with_fault(
        &self,
        artifact: &[u8],
        manifest: NewManifest,
        fault: Fault,
    ) -> Result<Manifest, RegistryError> {
        self.register_inner(artifact, manifest, Some(fault))
    }

    fn register_inner(
        &self,
        artifact: &[u8],
        new: NewManifest,
        fault: Option<Fault>,
    ) -> Result<Manifest, RegistryError> {
        manifest::validate_artifact_file(&new.artifact_file)?;
        if let Err(e) = self.clean_stale_staging(STALE_STAGING_AGE) {
            tracing::warn!(error = %e, "Could not remove stale staging directories");
        }
        let staging = self.new_staging_dir()?;
        let result = self.stage_and_commit(&staging, artifact, new, fault);
        if let Err(e) = &result {
            // A simulated crash leaves its debris, like a real one; a real error cleans up
            // (after the rename the staging directory no longer exists).
            let simulated = matches!(e, RegistryError::SimulatedCrash { .. });
            if !simulated && staging.exists() {
                let _ = fs::remove_dir_all(&staging);
            }
        }
        result
    }

    fn new_staging_dir(&self) -> Result<PathBuf, RegistryError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let staging = self.dir.join(format!(
            "{STAGING_PREFIX}{}-{nanos}-{n}",
            std::process::id()
        ));
        fs::create_dir(&staging).map_err(io("create staging directory", &staging))?;
        Ok(staging)
    }

    fn stage_and_commit(
        &self,
        staging: &Path,
        artifact: &[u8],
        new: NewManifest,
        fault: Option<Fault>,
    ) -> Result<Manifest, RegistryError> {
        let artifact_path = staging.join(&new.artifact_file);
        write_synced(&artifact_path, artifact)?;
        crash_at(fault, Fault::AfterArtifact, &artifact_path)?;
        let size = artifact.len() as u64;
        let sha = sha256_hex(artifact);
        let manifest_path = staging.join(MANIFEST_FILE);

        let _write = self.write_lock()?;
        // Lines lost by an earlier crash go in first, so the file stays in commit order.
        self.repair_history()?;
        for _ in 0..MAX_REGISTER_ATTEMPTS {
            let sequence = self.next_sequence()?;
            let manifest = Manifest::build(new.clone(), sequence, Utc::now(), size, sha.clone());
            write_synced(
                &manifest_path,
                &to_json(&manifest, "manifest", &manifest_path)?,
            )?;
            crash_at(fault, Fault::AfterManifest, &manifest_path)?;
            sync_dir(staging)?;
            let target = self.dir.join(&manifest.version);
            crash_at(fault, Fault::BeforeRename, &target)?;
            match fs::rename(staging, &target) {
                Ok(()) => {}
                // A version directory is never empty, so renaming onto one fails: someone else
                // took this id. Try the next number.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::AlreadyExists | ErrorKind::DirectoryNotEmpty
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(io("rename staging directory to", &target)(e)),
            }
            sync_dir(&self.dir)?;
            crash_at(fault, Fault::BeforeHistory, &self.history_path())?;
            let entry = HistoryEntry {
                time: manifest.created_at,
                action: Action::Register,
                alias: None,
                version: manifest.version.clone(),
                previous: None,
                reason: format!("registered {} model", manifest.algorithm),
                actor: self.actor.clone(),
            };
            history::append(&self.history_path(), std::slice::from_ref(&entry))?;
            return Ok(manifest);
        }
        Err(RegistryError::TooManyCollisions {
            dir: self.dir.clone(),
            attempts: MAX_REGISTER_ATTEMPTS,
        })
    }

    /// The version directories present: (sequence, id), unordered. Ignores everything whose
    /// name is not a version id (staging leftovers, stray files).
    fn version_dirs(&self) -> Result<Vec<(u32, String)>, RegistryError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io("list", &self.dir))? {
            let entry = entry.map_err(io("list", &self.dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(seq) = parse_version_id(name) else {
                continue;
            };
            if entry.path().is_dir() {
                out.push((seq, name.to_string()));
            }
        }
        Ok(out)
    }

    fn next_sequence(&self) -> Result<u32, RegistryError> {
        let highest = self.version_dirs()?.into_iter().map(|(s, _)| s).max();
        Ok(highest.unwrap_or(0) + 1)
    }

    /// Every registered version's manifest, oldest first.
    pub fn list(&self) -> Result<Vec<Manifest>, RegistryError> {
        let mut dirs = self.version_dirs()?;
        dirs.sort();
        dirs.iter().map(|(_, v)| self.read_manifest(v)).collect()
    }

    fn read_manifest(&self, version: &str) -> Result<Manifest, RegistryError> {
        let path = self.dir.join(version).join(MANIFEST_FILE);
        let manifest: Manifest =
            read_json(&path, "manifest")?.ok_or_else(|| self.not_found("version", version))?;
        if manifest.version != version {
            return Err(RegistryError::ManifestMismatch {
                path,
                expected: version.to_string(),
                found: manifest.version,
            });
        }
        Ok(manifest)
    }

    /// The manifest of a version, given its id, `v<seq>`/`<seq>`, or an alias.
    pub fn manifest(&self, name_or_version: &str) -> Result<Manifest, RegistryError> {
        let version = self.resolve(name_or_version)?;
        self.read_manifest(&version)
    }

    /// The version id that `name_or_version` names: a full id (`v0007-20261123T041500Z`), a
    /// sequence number (`v7` or `7`), or an alias (`champion`).
    pub fn resolve(&self, name_or_version: &str) -> Result<String, RegistryError> {
        let name = name_or_version;
        if parse_version_id(name).is_some() {
            return if self.dir.join(name).is_dir() {
                Ok(name.to_string())
            } else {
                Err(self.not_found("version", name))
            };
        }
        if let Some(seq) = short_sequence(name) {
            return self
                .version_dirs()?
                .into_iter()
                .find(|(s, _)| *s == seq)
                .map(|(_, v)| v)
                .ok_or_else(|| self.not_found("version", name));
        }
        if validate_alias(name).is_ok() {
            return self
                .alias(name)?
                .ok_or_else(|| self.not_found("alias", name));
        }
        Err(self.not_found("version", name))
    }

    /// The manifest and artifact bytes of a version (id, `v<seq>` or alias), after checking the
    /// artifact's SHA-256 against the manifest.
    pub fn load_artifact(
        &self,
        name_or_version: &str,
    ) -> Result<(Manifest, Vec<u8>), RegistryError> {
        let manifest = self.manifest(name_or_version)?;
        manifest::validate_artifact_file(&manifest.artifact_file)?;
        let path = self
            .dir
            .join(&manifest.version)
            .join(&manifest.artifact_file);
        let bytes = fs::read(&path).map_err(io("read artifact", &path))?;
        let actual = sha256_hex(&bytes);
        if actual != manifest.artifact_sha256 {
            return Err(RegistryError::ChecksumMismatch {
                version: manifest.version,
                path,
                expected: manifest.artifact_sha256,
                actual,
            });
        }
        Ok((manifest, bytes))
    }

    /// The path of a version's artifact (no checksum check; use [`Registry::load_artifact`] to
    /// read it).
    pub fn artifact_path(&self, name_or_version: &str) -> Result<PathBuf, RegistryError> {
        let m = self.manifest(name_or_version)?;
        Ok(self.dir.join(&m.version).join(&m.artifact_file))
    }

    /// Removes staging directories (and temporary pointer files) older than `older_than`: the
    /// leftovers of crashed writes. Returns what it removed. Registration calls it with
    /// [`STALE_STAGING_AGE`].
    pub fn clean_stale_staging(&self, older_than: Duration) -> Result<Vec<PathBuf>, RegistryError> {
        let mut removed = Vec::new();
        let aliases_dir = self.dir.join(ALIASES_DIR);
        for (dir, is_debris) in [
            (
                &self.dir,
                (|n: &str| n.starts_with(STAGING_PREFIX)) as fn(&str) -> bool,
            ),
            (&aliases_dir, |n: &str| {
                n.starts_with('.') && n.contains(".tmp-")
            }),
        ] {
            let entries = match fs::read_dir(dir) {
                Ok(e) => e,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(io("list", dir)(e)),
            };
            for entry in entries {
                let entry = entry.map_err(io("list", dir))?;
                let path = entry.path();
                let old_enough = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age >= older_than);
                let name = entry.file_name();
                if !old_enough || !name.to_str().is_some_and(is_debris) {
                    continue;
                }
                let r = if path.is_dir() {
                    fs::remove_dir_all(&path)
                } else {
                    fs::remove_file(&path)
                };
                r.map_err(io("remove stale staging", &path))?;
                removed.push(path);
            }
        }
        Ok(removed)
    }

    // ---------------------------------------------------------------- aliases

    /// The version an alias points at, or `None` when it was never set.
    pub fn alias(&self, alias: &str) -> Result<Option<String>, RegistryError> {
        validate_alias(alias)?;
        Ok(self.pointer(alias)?.map(|e| e.version))
    }

    /// The latest move of an alias as its pointer records it.
    fn pointer(&self, alias: &str) -> Result<Option<HistoryEntry>, RegistryError> {
        read_json(&self.pointer_path(alias), "alias pointer")
    }

    /// Every alias and the version it points at.
    pub fn aliases(&self) -> Result<BTreeMap<String, String>, RegistryError> {
        Ok(self
            .pointers()?
            .into_iter()
            .map(|(alias, e)| (alias, e.version))
            .collect())
    }

    fn pointers(&self) -> Result<BTreeMap<String, HistoryEntry>, RegistryError> {
        let dir = self.dir.join(ALIASES_DIR);
        let mut out = BTreeMap::new();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io("list", &dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io("list", &dir))?;
            let name = entry.file_name();
            let Some(alias) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if validate_alias(alias).is_err() {
                continue; // temporary files (`.champion.json.tmp-…`) and strays
            }
            if let Some(e) = self.pointer(alias)? {
                out.insert(alias.to_string(), e);
            }
        }
        Ok(out)
    }

    /// Points `alias` at a version (id, `v<seq>`, or another alias such as `challenger`) and
    /// records the move in history. `action` is [`Action::Promote`], or
    /// [`Action::AutoChampion`] which only fills an unset alias. The version's checksum is
    /// verified first, so a corrupted artifact is never promoted. Returns the recorded entry.
    pub fn set_alias(
        &self,
        alias: &str,
        version: &str,
        action: Action,
        reason: &str,
    ) -> Result<HistoryEntry, RegistryError> {
        self.set_alias_inner(alias, version, action, reason, None)
    }

    /// [`Registry::set_alias`] that stops at `fault` as if the process crashed there (tests).
    #[doc(hidden)]
    pub fn set_alias_with_fault(
        &self,
        alias: &str,
        version: &str,
        action: Action,
        reason: &str,
        fault: Fault,
    ) -> Result<HistoryEntry, RegistryError> {
        self.set_alias_inner(alias, version, action, reason, Some(fault))
    }

    fn set_alias_inner(
        &self,
        alias: &str,
        version: &str,
        action: Action,
        reason: &str,
        fault: Option<Fault>,
    ) -> Result<HistoryEntry, RegistryError> {
        validate_alias(alias)?;
        if !matches!(action, Action::Promote | Action::AutoChampion) {
            return Err(RegistryError::InvalidAction {
                alias: alias.to_string(),
                action: action.to_string(),
            });
        }
        let _write = self.write_lock()?;
        let (manifest, _) = self.load_artifact(version)?;
        let current = self.alias(alias)?;
        if let (Action::AutoChampion, Some(current)) = (action, &current) {
            return Err(RegistryError::AliasAlreadySet {
                alias: alias.to_string(),
                current: current.clone(),
                dir: self.dir.clone(),
            });
        }
        if current.as_deref() == Some(manifest.version.as_str()) {
            return Err(RegistryError::Unchanged {
                alias: alias.to_string(),
                version: manifest.version,
                dir: self.dir.clone(),
            });
        }
        self.repair_history()?;
        let entry = HistoryEntry {
            time: Utc::now(),
            action,
            alias: Some(alias.to_string()),
            version: manifest.version,
            previous: current,
            reason: reason.to_string(),
            actor: self.actor.clone(),
        };
        self.commit_alias_move(alias, &entry, fault)?;
        Ok(entry)
    }

    /// Promotes `version` to champion when the registry has no champion yet (action
    /// `auto-champion`). Returns the recorded entry, or `None` when a champion already exists
    /// (it is left alone).
    pub fn auto_champion(
        &self,
        version: &str,
        reason: &str,
    ) -> Result<Option<HistoryEntry>, RegistryError> {
        match self.set_alias(CHAMPION, version, Action::AutoChampion, reason) {
            Ok(entry) => Ok(Some(entry)),
            Err(RegistryError::AliasAlreadySet { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Moves `alias` back to the version it held before its current one, as the history tells
    /// (rollbacks undo promotes: promote v1, v2, v3 then rollback twice → v1). Returns the
    /// version it now points at; [`RegistryError::NoRollback`] when there is none.
    pub fn rollback(&self, alias: &str, reason: &str) -> Result<String, RegistryError> {
        self.rollback_inner(alias, reason, None)
    }

    /// [`Registry::rollback`] that stops at `fault` as if the process crashed there (tests).
    #[doc(hidden)]
    pub fn rollback_with_fault(
        &self,
        alias: &str,
        reason: &str,
        fault: Fault,
    ) -> Result<String, RegistryError> {
        self.rollback_inner(alias, reason, Some(fault))
    }

    fn rollback_inner(
        &self,
        alias: &str,
        reason: &str,
        fault: Option<Fault>,
    ) -> Result<String, RegistryError> {
        validate_alias(alias)?;
        let _write = self.write_lock()?;
        let current = self
            .alias(alias)?
            .ok_or_else(|| self.not_found("alias", alias))?;
        let entries = self.repair_history()?;
        let target = history::rollback_target(&entries, alias, &current).ok_or_else(|| {
            RegistryError::NoRollback {
                alias: alias.to_string(),
                current: current.clone(),
                dir: self.dir.clone(),
            }
        })?;
        self.load_artifact(&target)?;
        let entry = HistoryEntry {
            time: Utc::now(),
            action: Action::Rollback,
            alias: Some(alias.to_string()),
            version: target.clone(),
            previous: Some(current),
            reason: reason.to_string(),
            actor: self.actor.clone(),
        };
        self.commit_alias_move(alias, &entry, fault)?;
        Ok(target)
    }

    /// Writes the pointer (temp + fsync + rename + directory fsync: the commit point), then
    /// appends the entry to history. The pointer holds the whole entry, so when a crash falls
    /// between the two, the next write (or read) of history recovers the line from it.
    /// Callers hold the write lock and have repaired the history first.
    fn commit_alias_move(
        &self,
        alias: &str,
        entry: &HistoryEntry,
        fault: Option<Fault>,
    ) -> Result<(), RegistryError> {
        let path = self.pointer_path(alias);
        let tmp = path.with_file_name(format!(".{alias}.json.tmp-{}", std::process::id()));
        let write = (|| {
            write_synced(&tmp, &to_json(entry, "alias pointer", &path)?)?;
            crash_at(fault, Fault::BeforePointerRename, &path)?;
            fs::rename(&tmp, &path).map_err(io("rename alias pointer to", &path))
        })();
        if let Err(e) = write {
            if !matches!(e, RegistryError::SimulatedCrash { .. }) {
                let _ = fs::remove_file(&tmp);
            }
            return Err(e);
        }
        sync_dir(&self.dir.join(ALIASES_DIR))?;
        crash_at(fault, Fault::BeforePointerHistory, &self.history_path())?;
        history::append(&self.history_path(), std::slice::from_ref(entry))
    }

    // ---------------------------------------------------------------- history

    /// The history, oldest first, with the count of unreadable (torn) lines it skipped. Lines a
    /// crash kept out of the file are recovered from the version directories and alias
    /// pointers and appended in memory (counted in [`History::recovered`]).
    pub fn history(&self) -> Result<History, RegistryError> {
        let mut history = self.read_history_file()?;
        let missing = self.missing_history(&history.entries)?;
        history.recovered = missing.len();
        history.entries.extend(missing);
        Ok(history)
    }

    fn read_history_file(&self) -> Result<History, RegistryError> {
        history::read(&self.history_path())
    }

    /// The entries committed to disk (a version directory, an alias pointer) whose history line
    /// a crash prevented: a `register` line per version without one, and each alias pointer's
    /// move that is not in `entries`.
    fn missing_history(
        &self,
        entries: &[HistoryEntry],
    ) -> Result<Vec<HistoryEntry>, RegistryError> {
        let registered: HashSet<&str> = entries
            .iter()
            .filter(|e| e.action == Action::Register)
            .map(|e| e.version.as_str())
            .collect();
        let mut dirs = self.version_dirs()?;
        dirs.sort();
        let mut missing = Vec::new();
        for (_, version) in dirs {
            if registered.contains(version.as_str()) {
                continue;
            }
            let (time, algorithm) = match self.read_manifest(&version) {
                Ok(m) => (m.created_at, m.algorithm),
                Err(_) => (Utc::now(), "unknown".to_string()),
            };
            missing.push(HistoryEntry {
                time,
                action: Action::Register,
                alias: None,
                version,
                previous: None,
                reason: format!(
                    "registered {algorithm} model (line recovered after an interrupted write)"
                ),
                actor: "registry".to_string(),
            });
        }
        for pointer in self.pointers()?.into_values() {
            if !entries.contains(&pointer) {
                missing.push(pointer);
            }
        }
        Ok(missing)
    }

    /// Appends the recovered lines to the file; returns the full history. Under the write lock.
    fn repair_history(&self) -> Result<Vec<HistoryEntry>, RegistryError> {
        let mut entries = self.read_history_file()?.entries;
        let missing = self.missing_history(&entries)?;
        if !missing.is_empty() {
            tracing::info!(
                lines = missing.len(),
                "Recovering history lines lost in a crash"
            );
            history::append(&self.history_path(), &missing)?;
            entries.extend(missing);
        }
        Ok(entries)
    }

    // ---------------------------------------------------------------- locks

    /// Takes the named run lock (`<dir>/.<name>.lock`) so two runs never overlap, or fails at
    /// once with [`RegistryError::Locked`] naming the holder's pid and start time. Released
    /// when the guard is dropped or the process dies.
    pub fn lock(&self, name: &str) -> Result<LockGuard, RegistryError> {
        validate_lock_name(name)?;
        lock::try_acquire(name, &self.dir.join(format!(".{name}.lock")))
    }

    fn write_lock(&self) -> Result<lock::InternalLock, RegistryError> {
        lock::acquire_blocking(&self.dir.join(format!(".{WRITE_LOCK}.lock")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_names_follow_the_rule() {
        for ok in ["champion", "challenger", "shadow-2", "a", "canary_eu"] {
            assert!(validate_alias(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "Champion", "1st", "-x", "a/b", "a.b", "v7", "v0012", "é",
        ] {
            assert!(validate_alias(bad).is_err(), "{bad:?}");
        }
        assert!(validate_alias("v7x").is_ok());
        assert!(validate_alias(&"a".repeat(65)).is_err());
    }

    #[test]
    fn short_sequences_parse() {
        assert_eq!(short_sequence("v7"), Some(7));
        assert_eq!(short_sequence("0007"), Some(7));
        assert_eq!(short_sequence("v"), None);
        assert_eq!(short_sequence("champion"), None);
    }

    #[test]
    fn the_internal_lock_name_is_reserved() {
        assert!(validate_lock_name("retrain").is_ok());
        assert!(validate_lock_name("write").is_err());
        assert!(validate_lock_name("../x").is_err());
    }
}
