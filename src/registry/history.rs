//! The append-only audit trail `history.jsonl`: one JSON object per line for every
//! registration and every alias move. Appends are `O_APPEND` + fsync; the reader skips lines
//! that do not parse (a write torn by a crash) and reports how many it skipped.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::{io, RegistryError};

/// What a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A new version was registered (no alias moves).
    Register,
    /// An alias was pointed at a chosen version.
    Promote,
    /// An alias was moved back to the version it held before.
    Rollback,
    /// The registry had no champion and a version was made champion.
    AutoChampion,
}

impl Action {
    /// The name written in history (`register`, `promote`, `rollback`, `auto-champion`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Register => "register",
            Action::Promote => "promote",
            Action::Rollback => "rollback",
            Action::AutoChampion => "auto-champion",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of `history.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When it happened (UTC).
    pub time: DateTime<Utc>,
    pub action: Action,
    /// The alias moved; `None` for `register`.
    pub alias: Option<String>,
    /// The version registered, or the version the alias points at afterwards.
    pub version: String,
    /// The version the alias pointed at before (`None` if it was unset, and for `register`).
    pub previous: Option<String>,
    /// Why (free text from the caller, e.g. "AUC 0.81 > 0.79 on 2026-11-01").
    pub reason: String,
    /// Who (the `USER` of the process unless the caller set one) and the process id.
    pub actor: String,
}

/// The history as read from disk.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Entries in the order they were appended.
    pub entries: Vec<HistoryEntry>,
    /// 1-based line numbers of lines that did not parse and were skipped (a write torn by a
    /// crash, or a hand edit). Empty when the file is clean.
    pub skipped_lines: Vec<usize>,
    /// Entries a crash kept out of the file that the registry recovered from the version
    /// directories and alias pointers (they are at the end of `entries`, and are written to
    /// the file by the next registry write).
    pub recovered: usize,
}

impl History {
    /// How many lines were skipped: the warning count a caller should show.
    pub fn warnings(&self) -> usize {
        self.skipped_lines.len()
    }
}

/// Reads `path` (missing file = empty history), skipping lines that do not parse.
pub(crate) fn read(path: &Path) -> Result<History, RegistryError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(History::default()),
        Err(e) => return Err(io("read", path)(e)),
    };
    let mut history = History::default();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<HistoryEntry>(line) {
            Ok(entry) => history.entries.push(entry),
            Err(_) => {
                tracing::warn!(path = %path.display(), line = i + 1, "Skipping unreadable history line");
                history.skipped_lines.push(i + 1);
            }
        }
    }
    Ok(history)
}

/// Appends `entries` as one write with `O_APPEND`, then fsyncs. When the file's last byte is
/// not a newline (a torn earlier write), a newline is written first so the torn fragment stays
/// a line of its own and the new entries parse. Callers hold the registry's alias lock.
pub(crate) fn append(path: &Path, entries: &[HistoryEntry]) -> Result<(), RegistryError> {
    if entries.is_empty() {
        return Ok(());
    }
    let created = !path.exists();
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .map_err(io("open", path))?;
    let mut buf = Vec::new();
    let len = f.metadata().map_err(io("stat", path))?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        f.seek(SeekFrom::Start(len - 1))
            .and_then(|_| f.read_exact(&mut last))
            .map_err(io("read", path))?;
        if last[0] != b'\n' {
            buf.push(b'\n');
        }
    }
    for entry in entries {
        let line = serde_json::to_vec(entry).map_err(|source| RegistryError::Serialize {
            what: "history entry",
            path: path.to_path_buf(),
            source,
        })?;
        buf.extend_from_slice(&line);
        buf.push(b'\n');
    }
    f.write_all(&buf).map_err(io("append to", path))?;
    f.sync_all().map_err(io("fsync", path))?;
    if created {
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            super::fsio::sync_dir(dir)?;
        }
    }
    Ok(())
}

/// The versions `alias` has held, oldest first, with rollbacks undone: a promote or
/// auto-champion pushes its version; a rollback pops the version it left (and pushes its
/// target if that is not what is left on top). The top is the alias's current version.
pub(crate) fn alias_stack(entries: &[HistoryEntry], alias: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    for e in entries.iter().filter(|e| e.alias.as_deref() == Some(alias)) {
        match e.action {
            Action::Promote | Action::AutoChampion => stack.push(e.version.clone()),
            Action::Rollback => {
                stack.pop();
                if stack.last() != Some(&e.version) {
                    stack.push(e.version.clone());
                }
            }
            Action::Register => {}
        }
    }
    stack
}

/// The version `alias` should roll back to when it currently points at `current`: the newest
/// version in its stack below the run of `current` at the top. `None` when there is none.
pub(crate) fn rollback_target(
    entries: &[HistoryEntry],
    alias: &str,
    current: &str,
) -> Option<String> {
    let mut stack = alias_stack(entries, alias);
    while stack.last().map(String::as_str) == Some(current) {
        stack.pop();
    }
    stack.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: Action, alias: Option<&str>, version: &str) -> HistoryEntry {
        HistoryEntry {
            time: DateTime::<Utc>::UNIX_EPOCH,
            action,
            alias: alias.map(str::to_string),
            version: version.to_string(),
            previous: None,
            reason: String::new(),
            actor: String::new(),
        }
    }

    #[test]
    fn stack_follows_promotes_and_undoes_rollbacks() {
        let c = Some("champion");
        let h = vec![
            entry(Action::Register, None, "v1"),
            entry(Action::AutoChampion, c, "v1"),
            entry(Action::Promote, c, "v2"),
            entry(Action::Promote, Some("challenger"), "v9"),
            entry(Action::Promote, c, "v3"),
            entry(Action::Rollback, c, "v2"),
        ];
        assert_eq!(alias_stack(&h, "champion"), vec!["v1", "v2"]);
        assert_eq!(alias_stack(&h, "challenger"), vec!["v9"]);
        assert_eq!(rollback_target(&h, "champion", "v2").as_deref(), Some("v1"));
        assert_eq!(rollback_target(&h, "challenger", "v9"), None);
        assert_eq!(rollback_target(&h, "nobody", "v1"), None);
    }

    #[test]
    fn rollback_target_skips_repeats_of_the_current_version() {
        let c = Some("champion");
        let h = vec![
            entry(Action::Promote, c, "v1"),
            entry(Action::Promote, c, "v2"),
            entry(Action::Promote, c, "v2"),
        ];
        assert_eq!(rollback_target(&h, "champion", "v2").as_deref(), Some("v1"));
    }

    #[test]
    fn torn_line_is_skipped_and_next_append_starts_on_a_new_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("history.jsonl");
        append(&path, &[entry(Action::Register, None, "v1")]).expect("append");
        let mut f = OpenOptions::new().append(true).open(&path).expect("open");
        f.write_all(b"{\"time\":\"2026-").expect("tear");
        drop(f);
        let h = read(&path).expect("read");
        assert_eq!(h.entries.len(), 1);
        assert_eq!(h.skipped_lines, vec![2]);

        append(&path, &[entry(Action::Register, None, "v2")]).expect("append");
        let h = read(&path).expect("read");
        let versions: Vec<&str> = h.entries.iter().map(|e| e.version.as_str()).collect();
        assert_eq!(versions, ["v1", "v2"]);
        assert_eq!(h.skipped_lines, vec![2]);
    }

    #[test]
    fn actions_serialise_with_the_documented_names() {
        let json = serde_json::to_string(&Action::AutoChampion).expect("json");
        assert_eq!(json, "\"auto-champion\"");
        assert_eq!(Action::Rollback.to_string(), "rollback");
    }
}
