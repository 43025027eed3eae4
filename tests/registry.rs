//! The model registry: versions round-trip with their checksum, a crash at any step leaves no
//! half version and no moved pointer, aliases move and roll back by history, the history
//! survives a torn line, and the run lock keeps two runs apart.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::NaiveDate;
use churn::registry::{
    parse_version_id, sha256_hex, Action, Fault, NewManifest, Registry, RegistryError, CHALLENGER,
    CHAMPION, HISTORY_FILE,
};
use serde_json::json;

/// SHA-256("abc") (FIPS 180-2, appendix B.1).
const SHA_ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn new_manifest() -> NewManifest {
    let mut m = NewManifest::new("gbdt");
    m.hyperparameters = json!({"rounds": 100, "depth": 5});
    m.features = vec!["tenure_days".into(), "tickets_90d".into()];
    m.feature_catalog_hash = "cafe01".into();
    m.training_as_of = vec![date(2026, 6, 30), date(2026, 9, 30)];
    m.data_fingerprint = "f00d".into();
    m.metrics = json!({"auc": 0.81});
    m
}

fn open() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().expect("tempdir");
    let reg = Registry::open(&dir.path().join("models")).expect("open");
    (dir, reg)
}

/// Registers `n` models whose artifacts are `model-1`, `model-2`, …; returns their versions.
fn register_n(reg: &Registry, n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| {
            reg.register(format!("model-{i}").as_bytes(), new_manifest())
                .expect("register")
                .version
        })
        .collect()
}

fn versions(reg: &Registry) -> Vec<String> {
    reg.list()
        .expect("list")
        .into_iter()
        .map(|m| m.version)
        .collect()
}

fn history_lines(reg: &Registry) -> Vec<serde_json::Value> {
    fs::read_to_string(reg.dir().join(HISTORY_FILE))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn staging_leftovers(dir: &Path) -> usize {
    fs::read_dir(dir)
        .expect("read_dir")
        .filter(|e| {
            e.as_ref()
                .map(|e| e.file_name().to_string_lossy().starts_with(".staging-"))
                .unwrap_or(false)
        })
        .count()
}

#[test]
fn register_list_manifest_and_load_round_trip() {
    let (_tmp, reg) = open();
    let m = reg.register(b"abc", new_manifest()).expect("register");

    assert_eq!(m.sequence, 1);
    assert!(m.version.starts_with("v0001-"), "{}", m.version);
    assert_eq!(m.artifact_sha256, SHA_ABC);
    assert_eq!(m.artifact_size, 3);
    assert_eq!(m.artifact_file, "model.json");
    assert_eq!(m.algorithm, "gbdt");
    assert_eq!(m.features, ["tenure_days", "tickets_90d"]);
    assert_eq!(m.training_as_of, [date(2026, 6, 30), date(2026, 9, 30)]);
    assert_eq!(m.hyperparameters, json!({"rounds": 100, "depth": 5}));
    assert_eq!(m.metrics["auc"], json!(0.81));
    assert_eq!(m.crate_version, env!("CARGO_PKG_VERSION"));

    assert_eq!(reg.list().expect("list"), vec![m.clone()]);
    assert_eq!(reg.manifest(&m.version).expect("manifest"), m);
    let (loaded, bytes) = reg.load_artifact(&m.version).expect("load");
    assert_eq!(loaded, m);
    assert_eq!(bytes, b"abc");

    // On disk: the version directory holds exactly the artifact and the manifest.
    let vdir = reg.dir().join(&m.version);
    let mut names: Vec<String> = fs::read_dir(&vdir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["manifest.json", "model.json"]);
    assert_eq!(fs::read(vdir.join("model.json")).expect("read"), b"abc");
    let on_disk: serde_json::Value =
        serde_json::from_slice(&fs::read(vdir.join("manifest.json")).expect("read")).expect("json");
    for key in [
        "format",
        "version",
        "sequence",
        "created_at",
        "crate_version",
        "algorithm",
        "hyperparameters",
        "features",
        "feature_catalog_hash",
        "training_as_of",
        "data_fingerprint",
        "metrics",
        "artifact_file",
        "artifact_size",
        "artifact_sha256",
    ] {
        assert!(on_disk.get(key).is_some(), "manifest.json lacks {key}");
    }
    assert_eq!(
        on_disk["training_as_of"],
        json!(["2026-06-30", "2026-09-30"])
    );

    // Registration is recorded in history.
    let h = reg.history().expect("history");
    assert_eq!(h.entries.len(), 1);
    assert_eq!(h.entries[0].action, Action::Register);
    assert_eq!(h.entries[0].version, m.version);
    assert_eq!(h.entries[0].alias, None);
}

#[test]
fn artifact_keeps_the_file_name_the_caller_chose() {
    let (_tmp, reg) = open();
    let mut nm = new_manifest();
    nm.artifact_file = "forest.bin".into();
    let m = reg.register(&[0, 159, 146, 150], nm).expect("register");
    assert_eq!(m.artifact_file, "forest.bin");
    assert!(reg.dir().join(&m.version).join("forest.bin").is_file());
    assert_eq!(
        reg.load_artifact("v1").expect("load").1,
        vec![0, 159, 146, 150]
    );

    let mut bad = new_manifest();
    bad.artifact_file = "../escape.json".into();
    let err = reg.register(b"x", bad).expect_err("path in file name");
    assert!(
        matches!(
            err,
            RegistryError::InvalidName {
                kind: "artifact file",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(versions(&reg).len(), 1);
    assert_eq!(staging_leftovers(reg.dir()), 0);
}

#[test]
fn version_ids_increase_and_resolve_by_sequence() {
    let (_tmp, reg) = open();
    let v = register_n(&reg, 3);
    let seqs: Vec<u32> = v.iter().map(|v| parse_version_id(v).expect("id")).collect();
    assert_eq!(seqs, [1, 2, 3]);
    let mut sorted = v.clone();
    sorted.sort();
    assert_eq!(sorted, v, "ids sort in registration order");
    assert_eq!(versions(&reg), v, "list is oldest first");
    assert_eq!(reg.resolve("v2").expect("v2"), v[1]);
    assert_eq!(reg.resolve("3").expect("3"), v[2]);
    assert_eq!(reg.resolve(&v[0]).expect("full id"), v[0]);
    assert_eq!(reg.load_artifact("v2").expect("load").1, b"model-2");
}

#[test]
fn concurrent_registrations_get_distinct_numbers() {
    let (_tmp, reg) = open();
    std::thread::scope(|s| {
        for t in 0..4 {
            let reg = reg.clone();
            s.spawn(move || {
                for i in 0..3 {
                    reg.register(format!("t{t}-{i}").as_bytes(), new_manifest())
                        .expect("register");
                }
            });
        }
    });
    let list = reg.list().expect("list");
    let seqs: Vec<u32> = list.iter().map(|m| m.sequence).collect();
    assert_eq!(seqs, (1..=12).collect::<Vec<u32>>());
    let h = reg.history().expect("history");
    assert_eq!(h.entries.len(), 12);
    assert_eq!(h.recovered, 0);
}

#[test]
fn tampered_artifact_is_refused_with_the_checksum_error() {
    let (_tmp, reg) = open();
    let m = reg.register(b"abc", new_manifest()).expect("register");
    let path = reg.dir().join(&m.version).join("model.json");
    let mut bytes = fs::read(&path).expect("read");
    bytes[1] ^= 0x01; // "abc" -> "acc"
    fs::write(&path, &bytes).expect("tamper");

    let err = reg.load_artifact(&m.version).expect_err("tampered");
    match &err {
        RegistryError::ChecksumMismatch {
            version,
            path: p,
            expected,
            actual,
        } => {
            assert_eq!(version, &m.version);
            assert_eq!(p, &path);
            assert_eq!(expected, SHA_ABC);
            assert_eq!(actual, &sha256_hex(b"acc"));
        }
        other => panic!("expected a checksum mismatch, got {other}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains(&m.version) && msg.contains("model.json"),
        "{msg}"
    );
    assert!(
        msg.contains(SHA_ABC) && msg.contains(&sha256_hex(b"acc")),
        "{msg}"
    );

    // A corrupted artifact is never promoted either.
    let err = reg
        .set_alias(CHAMPION, &m.version, Action::Promote, "try")
        .expect_err("corrupted");
    assert!(
        matches!(err, RegistryError::ChecksumMismatch { .. }),
        "{err}"
    );
    assert_eq!(reg.alias(CHAMPION).expect("alias"), None);
}

#[test]
fn a_crash_at_any_registration_step_leaves_no_half_version() {
    for fault in [
        Fault::AfterArtifact,
        Fault::AfterManifest,
        Fault::BeforeRename,
    ] {
        let (_tmp, reg) = open();
        let v1 = reg
            .register(b"one", new_manifest())
            .expect("register")
            .version;
        reg.auto_champion(&v1, "first model").expect("champion");
        let aliases_before = reg.aliases().expect("aliases");
        let history_before = reg.history().expect("history");

        let err = reg
            .register_with_fault(b"two", new_manifest(), fault)
            .expect_err("simulated crash");
        assert!(
            matches!(err, RegistryError::SimulatedCrash { .. }),
            "{fault:?}: {err}"
        );

        // The crash left its staging directory behind, and nothing else changed.
        assert_eq!(staging_leftovers(reg.dir()), 1, "{fault:?}");
        assert_eq!(versions(&reg), std::slice::from_ref(&v1), "{fault:?}");
        assert_eq!(reg.aliases().expect("aliases"), aliases_before, "{fault:?}");
        assert_eq!(reg.history().expect("history"), history_before, "{fault:?}");
        assert!(reg.resolve("v2").is_err(), "{fault:?}");

        // The next registration succeeds and takes the next number.
        let m = reg
            .register(b"two", new_manifest())
            .expect("register after crash");
        assert_eq!(m.sequence, 2, "{fault:?}");
        assert_eq!(reg.load_artifact("v2").expect("load").1, b"two");

        // Stale staging is cleaned up (the age limit is an hour in production).
        let removed = reg.clean_stale_staging(Duration::ZERO).expect("clean");
        assert_eq!(removed.len(), 1, "{fault:?}");
        assert_eq!(staging_leftovers(reg.dir()), 0, "{fault:?}");
        assert_eq!(versions(&reg).len(), 2, "{fault:?}");
    }
}

#[test]
fn a_crash_between_rename_and_history_keeps_the_version_and_recovers_its_line() {
    let (_tmp, reg) = open();
    let v1 = register_n(&reg, 1).remove(0);
    let err = reg
        .register_with_fault(b"two", new_manifest(), Fault::BeforeHistory)
        .expect_err("simulated crash");
    assert!(matches!(err, RegistryError::SimulatedCrash { .. }), "{err}");

    // The rename is the commit point: the version exists, whole.
    let list = versions(&reg);
    assert_eq!(list.len(), 2);
    assert_eq!(reg.load_artifact("v2").expect("load").1, b"two");
    assert_eq!(history_lines(&reg).len(), 1, "the line was not written");

    // Readers see the registration anyway, marked as recovered …
    let h = reg.history().expect("history");
    assert_eq!(h.recovered, 1);
    let got: Vec<(&str, Action)> = h
        .entries
        .iter()
        .map(|e| (e.version.as_str(), e.action))
        .collect();
    assert_eq!(
        got,
        [
            (v1.as_str(), Action::Register),
            (list[1].as_str(), Action::Register)
        ]
    );

    // … and the next write puts it in the file, once.
    reg.register(b"three", new_manifest()).expect("register");
    let lines = history_lines(&reg);
    let on_disk: Vec<&str> = lines.iter().filter_map(|l| l["version"].as_str()).collect();
    assert_eq!(
        on_disk,
        [v1.as_str(), list[1].as_str(), versions(&reg)[2].as_str()]
    );
    assert_eq!(reg.history().expect("history").recovered, 0);
}

#[test]
fn a_crash_before_the_pointer_rename_leaves_the_alias_unchanged() {
    let (_tmp, reg) = open();
    let v = register_n(&reg, 2);
    reg.auto_champion(&v[0], "first").expect("champion");
    let history_before = reg.history().expect("history");

    let err = reg
        .set_alias_with_fault(
            CHAMPION,
            &v[1],
            Action::Promote,
            "better",
            Fault::BeforePointerRename,
        )
        .expect_err("simulated crash");
    assert!(matches!(err, RegistryError::SimulatedCrash { .. }), "{err}");
    assert_eq!(
        reg.alias(CHAMPION).expect("alias").as_deref(),
        Some(v[0].as_str())
    );
    assert_eq!(
        reg.aliases().expect("aliases"),
        BTreeMap::from([(CHAMPION.to_string(), v[0].clone())]),
        "the temporary pointer is not an alias"
    );
    assert_eq!(reg.history().expect("history"), history_before);

    // Same for a rollback that crashes before its rename.
    reg.set_alias(CHAMPION, &v[1], Action::Promote, "better")
        .expect("promote");
    let history_before = reg.history().expect("history");
    let err = reg
        .rollback_with_fault(CHAMPION, "oops", Fault::BeforePointerRename)
        .expect_err("simulated crash");
    assert!(matches!(err, RegistryError::SimulatedCrash { .. }), "{err}");
    assert_eq!(
        reg.alias(CHAMPION).expect("alias").as_deref(),
        Some(v[1].as_str())
    );
    assert_eq!(reg.history().expect("history"), history_before);

    // The crash left a temporary pointer, which the stale cleanup removes; the next move works.
    let removed = reg.clean_stale_staging(Duration::ZERO).expect("clean");
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert!(
        removed[0].starts_with(reg.dir().join("aliases")),
        "{removed:?}"
    );
    assert_eq!(reg.rollback(CHAMPION, "oops").expect("rollback"), v[0]);
}

#[test]
fn a_crash_after_the_pointer_rename_recovers_the_history_line_from_the_pointer() {
    let (_tmp, reg) = open();
    let v = register_n(&reg, 2);
    reg.auto_champion(&v[0], "first").expect("champion");
    let err = reg
        .set_alias_with_fault(
            CHAMPION,
            &v[1],
            Action::Promote,
            "auc up",
            Fault::BeforePointerHistory,
        )
        .expect_err("simulated crash");
    assert!(matches!(err, RegistryError::SimulatedCrash { .. }), "{err}");

    // The pointer rename is the commit point: the champion moved.
    assert_eq!(
        reg.alias(CHAMPION).expect("alias").as_deref(),
        Some(v[1].as_str())
    );
    let h = reg.history().expect("history");
    assert_eq!(h.recovered, 1);
    let last = h.entries.last().expect("entry");
    assert_eq!(
        (
            last.action,
            last.version.as_str(),
            last.previous.as_deref(),
            last.reason.as_str()
        ),
        (
            Action::Promote,
            v[1].as_str(),
            Some(v[0].as_str()),
            "auc up"
        )
    );

    // Rollback sees the recovered move and goes back to v1; the file now holds both lines.
    assert_eq!(reg.rollback(CHAMPION, "revert").expect("rollback"), v[0]);
    let actions: Vec<String> = history_lines(&reg)
        .iter()
        .filter(|l| l["alias"] == json!(CHAMPION))
        .map(|l| l["action"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(actions, ["auto-champion", "promote", "rollback"]);
}

#[test]
fn promote_moves_the_alias_and_appends_history() {
    let (_tmp, reg) = open();
    let v = register_n(&reg, 3);

    let first = reg.auto_champion(&v[0], "no champion yet").expect("auto");
    assert_eq!(first.map(|e| e.action), Some(Action::AutoChampion));
    assert_eq!(
        reg.auto_champion(&v[1], "second").expect("auto"),
        None,
        "champion exists"
    );
    assert_eq!(
        reg.alias(CHAMPION).expect("alias").as_deref(),
        Some(v[0].as_str())
    );

    let e = reg
        .set_alias(CHAMPION, "v2", Action::Promote, "AUC 0.83 > 0.81")
        .expect("promote");
    assert_eq!(e.version, v[1]);
    assert_eq!(e.previous.as_deref(), Some(v[0].as_str()));
    reg.set_alias(CHALLENGER, &v[2], Action::Promote, "shadow")
        .expect("challenger");
    assert_eq!(
        reg.aliases().expect("aliases"),
        BTreeMap::from([
            (CHALLENGER.to_string(), v[2].clone()),
            (CHAMPION.to_string(), v[1].clone()),
        ])
    );
    assert_eq!(reg.resolve(CHAMPION).expect("resolve"), v[1]);
    assert_eq!(reg.load_artifact(CHALLENGER).expect("load").1, b"model-3");

    // An alias can be promoted from another alias.
    reg.set_alias(CHAMPION, CHALLENGER, Action::Promote, "challenger won")
        .expect("promote challenger");
    assert_eq!(
        reg.alias(CHAMPION).expect("alias").as_deref(),
        Some(v[2].as_str())
    );

    let h = reg.history().expect("history");
    assert_eq!((h.warnings(), h.recovered), (0, 0));
    let got: Vec<(Action, Option<&str>, &str, Option<&str>)> = h
        .entries
        .iter()
        .map(|e| {
            (
                e.action,
                e.alias.as_deref(),
                e.version.as_str(),
                e.previous.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (Action::Register, None, v[0].as_str(), None),
            (Action::Register, None, v[1].as_str(), None),
            (Action::Register, None, v[2].as_str(), None),
            (Action::AutoChampion, Some(CHAMPION), v[0].as_str(), None),
            (
                Action::Promote,
                Some(CHAMPION),
                v[1].as_str(),
                Some(v[0].as_str())
            ),
            (Action::Promote, Some(CHALLENGER), v[2].as_str(), None),
            (
                Action::Promote,
                Some(CHAMPION),
                v[2].as_str(),
                Some(v[1].as_str())
            ),
        ]
    );
    assert_eq!(h.entries[4].reason, "AUC 0.83 > 0.81");
    assert!(!h.entries[4].actor.is_empty());

    // The history file has one JSON object per line, with the documented action names.
    let lines = history_lines(&reg);
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[3]["action"], json!("auto-champion"));

    // Promoting to the current version, or with a non-promote action, is refused.
    let err = reg
        .set_alias(CHAMPION, &v[2], Action::Promote, "again")
        .expect_err("unchanged");
    assert!(matches!(err, RegistryError::Unchanged { .. }), "{err}");
    let err = reg
        .set_alias(CHAMPION, &v[0], Action::Rollback, "no")
        .expect_err("action");
    assert!(matches!(err, RegistryError::InvalidAction { .. }), "{err}");
    let err = reg
        .set_alias("Champion", &v[0], Action::Promote, "no")
        .expect_err("alias name");
    assert!(
        matches!(err, RegistryError::InvalidName { kind: "alias", .. }),
        "{err}"
    );
    assert_eq!(history_lines(&reg).len(), 7);
}

#[test]
fn rollback_returns_to_the_previous_champion_and_errors_when_there_is_none() {
    let (_tmp, reg) = open();
    let v = register_n(&reg, 3);
    reg.auto_champion(&v[0], "first").expect("auto");
    reg.set_alias(CHAMPION, &v[1], Action::Promote, "p2")
        .expect("p2");
    reg.set_alias(CHAMPION, &v[2], Action::Promote, "p3")
        .expect("p3");

    assert_eq!(reg.rollback(CHAMPION, "v3 misbehaves").expect("rb"), v[1]);
    assert_eq!(
        reg.alias(CHAMPION).expect("alias").as_deref(),
        Some(v[1].as_str())
    );
    assert_eq!(reg.rollback(CHAMPION, "v2 too").expect("rb"), v[0]);
    let err = reg
        .rollback(CHAMPION, "again")
        .expect_err("nothing before v1");
    assert!(matches!(err, RegistryError::NoRollback { .. }), "{err}");
    assert!(
        err.to_string().contains("champion") && err.to_string().contains(&v[0]),
        "{err}"
    );
    assert_eq!(
        reg.alias(CHAMPION).expect("alias").as_deref(),
        Some(v[0].as_str())
    );

    // After a new promote, rollback returns to what was champion just before it.
    reg.set_alias(CHAMPION, &v[2], Action::Promote, "fixed")
        .expect("p3");
    assert_eq!(reg.rollback(CHAMPION, "not fixed").expect("rb"), v[0]);

    let last = reg
        .history()
        .expect("history")
        .entries
        .pop()
        .expect("entry");
    assert_eq!(
        (
            last.action,
            last.version.as_str(),
            last.previous.as_deref(),
            last.reason.as_str()
        ),
        (
            Action::Rollback,
            v[0].as_str(),
            Some(v[2].as_str()),
            "not fixed"
        )
    );

    // An alias that was never set cannot be rolled back.
    let err = reg.rollback(CHALLENGER, "x").expect_err("unset");
    assert!(
        matches!(&err, RegistryError::NotFound { kind: "alias", name, .. } if name == CHALLENGER),
        "{err}"
    );
}

#[test]
fn history_survives_a_torn_last_line() {
    let (_tmp, reg) = open();
    let v = register_n(&reg, 2);
    reg.auto_champion(&v[0], "first").expect("auto");
    let path = reg.dir().join(HISTORY_FILE);
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open");
    f.write_all(br#"{"time":"2026-11-23T04:15:00Z","action":"prom"#)
        .expect("tear");
    drop(f);

    let h = reg.history().expect("history");
    assert_eq!(h.entries.len(), 3);
    assert_eq!(h.warnings(), 1);
    assert_eq!(h.skipped_lines, [4]);

    // Writing after the tear works, and the new line reads back.
    reg.set_alias(CHAMPION, &v[1], Action::Promote, "after tear")
        .expect("promote");
    let h = reg.history().expect("history");
    assert_eq!(h.warnings(), 1, "the torn fragment stays one skipped line");
    assert_eq!(h.entries.len(), 4);
    assert_eq!(h.entries[3].reason, "after tear");
    assert_eq!(reg.rollback(CHAMPION, "back").expect("rollback"), v[0]);
}

#[test]
fn run_lock_excludes_a_second_holder_until_dropped() {
    let (_tmp, reg) = open();
    let guard = reg.lock("retrain").expect("first lock");
    assert_eq!(guard.holder().pid, std::process::id());
    assert_eq!(guard.path(), reg.dir().join(".retrain.lock"));

    let err = reg.lock("retrain").expect_err("held");
    let msg = err.to_string();
    assert!(matches!(err, RegistryError::Locked { .. }), "{msg}");
    assert!(msg.contains("another retrain"), "{msg}");
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
    assert!(msg.contains("since 20"), "{msg}");

    // Locks with other names are independent.
    drop(reg.lock("train").expect("another name"));

    drop(guard);
    let lock_file = reg.dir().join(".retrain.lock");
    assert_eq!(
        fs::read(&lock_file).expect("read").len(),
        0,
        "holder forgotten on drop"
    );
    let again = reg.lock("retrain").expect("free after drop");
    let text = fs::read_to_string(&lock_file).expect("read");
    assert!(
        text.contains(&format!("\"pid\":{}", std::process::id())),
        "{text}"
    );
    drop(again);

    let err = reg.lock("../etc").expect_err("bad name");
    assert!(
        matches!(err, RegistryError::InvalidName { kind: "lock", .. }),
        "{err}"
    );
}

const CHILD_ENV: &str = "CHURN_REGISTRY_LOCK_CHILD_DIR";

/// Not a test on its own: the child process of `run_lock_is_released_when_its_process_dies`
/// (this test binary, run again with `CHURN_REGISTRY_LOCK_CHILD_DIR` set). Takes the lock,
/// says so on stdout and waits until it is killed.
#[test]
fn child_lock_holder() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let reg = Registry::open(Path::new(&dir)).expect("open");
    let _guard = reg.lock("retrain").expect("child lock");
    println!("LOCKED {}", std::process::id());
    std::io::stdout().flush().expect("flush");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

#[test]
fn run_lock_is_released_when_its_process_dies() {
    let (_tmp, reg) = open();
    let exe = std::env::current_exe().expect("current exe");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "child_lock_holder",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, reg.dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    // libtest prints `test child_lock_holder ... ` before the test's own output, so the
    // marker is looked for anywhere in a line; a reader thread keeps a silent child from
    // hanging this test.
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let pid = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.split("LOCKED ").nth(1).map(|p| p.trim().to_string()));
        let _ = tx.send(pid);
    });
    let child_pid = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Some(pid)) => pid,
        other => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child did not report taking the lock: {other:?}");
        }
    };
    assert_eq!(child_pid, child.id().to_string());

    let err = reg.lock("retrain").expect_err("held by the child");
    assert!(
        err.to_string().contains(&format!("pid {child_pid}")),
        "{err}"
    );

    child.kill().expect("kill child");
    child.wait().expect("wait child");
    drop(reg.lock("retrain").expect("released when the holder died"));
}

#[test]
fn unknown_versions_and_aliases_are_not_found_by_name() {
    let (_tmp, reg) = open();
    register_n(&reg, 1);
    let cases: [(&str, &str); 4] = [
        ("v0099-20260101T000000Z", "version"),
        ("v9", "version"),
        ("challenger", "alias"),
        ("no/such", "version"),
    ];
    for (name, kind) in cases {
        let err = reg.load_artifact(name).expect_err("unknown");
        match &err {
            RegistryError::NotFound {
                kind: k, name: n, ..
            } => {
                assert_eq!((*k, n.as_str()), (kind, name));
            }
            other => panic!("{name}: expected NotFound, got {other}"),
        }
        assert!(err.to_string().contains(&format!("`{name}`")), "{err}");
    }
    let err = reg
        .set_alias(CHAMPION, "v5", Action::Promote, "x")
        .expect_err("unknown version");
    assert!(
        matches!(
            err,
            RegistryError::NotFound {
                kind: "version",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(reg.alias(CHAMPION).expect("alias"), None);
    assert!(reg.aliases().expect("aliases").is_empty());
}

#[test]
fn open_creates_a_missing_directory_and_reopens_existing_state() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("a").join("models");
    let reg = Registry::open(&dir).expect("open");
    assert!(dir.join("aliases").is_dir());
    assert!(reg.list().expect("list").is_empty());
    assert_eq!(reg.history().expect("history").entries.len(), 0);
    let v = reg
        .register(b"abc", new_manifest())
        .expect("register")
        .version;
    reg.auto_champion(&v, "first").expect("auto");

    let again = Registry::open(&dir).expect("reopen").with_actor("ci job 7");
    assert_eq!(
        again.alias(CHAMPION).expect("alias").as_deref(),
        Some(v.as_str())
    );
    let v2 = again
        .register(b"def", new_manifest())
        .expect("register")
        .version;
    let e = again
        .set_alias(CHAMPION, &v2, Action::Promote, "newer")
        .expect("promote");
    assert_eq!(e.actor, "ci job 7");
}
