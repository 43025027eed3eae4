//! `churn retrain` end to end: the gate keeps a better champion (exit 10) and promotes a
//! clearly better challenger (exit 0), a held lock gives exit 75, drift can force or skip a
//! run, every run appends one line to `retrain.jsonl`; and PSI by hand.

use std::process::Output;

use churn::registry::{Registry, CHALLENGER, CHAMPION};
use churn::training::drift::{psi, DriftProfile, PSI_FLOOR};
use churn::training::retrain::{read_log, RETRAIN_LOCK};

mod common;
use common::{churn, generate_warehouse, s, text};

/// A deliberately weak model: a "forest" of one tree with one split on one random feature.
const WEAK: &str = r#"{"forest": {"n_trees": 1, "max_depth": 1, "max_features": 1}, "seed": 1}"#;
/// Fewer boosting rounds: same code path, faster in debug builds.
const FAST_GBDT: &str = r#"{"gbdt": {"n_estimators": 120, "learning_rate": 0.1}}"#;

struct Fixture {
    _tmp: tempfile::TempDir,
    data: std::path::PathBuf,
    models: std::path::PathBuf,
    root: std::path::PathBuf,
}

impl Fixture {
    /// 2,000 customers over 24 months (export ends 2024-12-31; test date 2024-09-30).
    fn new(seed: u64) -> Fixture {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().to_path_buf();
        let data = root.join("wh");
        generate_warehouse(&data, 2_000, seed);
        Fixture {
            _tmp: tmp,
            data,
            models: root.join("models"),
            root,
        }
    }

    fn params(&self, name: &str, json: &str) -> String {
        let p = self.root.join(name);
        std::fs::write(&p, json).expect("write params");
        s(&p).to_string()
    }

    fn train(&self, algorithms: &str, params: &str) {
        let o = churn(&[
            "train",
            "--data",
            s(&self.data),
            "--models",
            s(&self.models),
            "--algorithms",
            algorithms,
            "--params",
            params,
        ]);
        assert!(o.status.success(), "train failed: {}", text(&o.stderr));
    }

    fn retrain(&self, extra: &[&str]) -> Output {
        let mut args = vec![
            "retrain",
            "--data",
            s(&self.data),
            "--models",
            s(&self.models),
        ];
        args.extend_from_slice(extra);
        churn(&args)
    }

    fn registry(&self) -> Registry {
        Registry::open(&self.models).expect("registry")
    }

    /// The version the champion alias points at (there must be one).
    fn champion(&self) -> String {
        self.registry()
            .alias(CHAMPION)
            .expect("alias")
            .expect("champion")
    }

    /// Writes `json` as params file `name`, trains `algorithms` with it, returns the champion.
    fn train_champion(&self, algorithms: &str, name: &str, json: &str) -> String {
        let params = self.params(name, json);
        self.train(algorithms, &params);
        self.champion()
    }
}

#[test]
fn the_gate_keeps_a_strong_champion_against_a_weak_challenger() {
    let f = Fixture::new(21);
    let champion = f.train_champion("gbdt", "fast.json", FAST_GBDT);

    let weak = f.params("weak.json", WEAK);
    let o = f.retrain(&["--algorithms", "random_forest", "--params", &weak]);
    assert_eq!(o.status.code(), Some(10), "stderr: {}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.contains("decision: kept (exit 10)"), "{stdout}");
    assert!(stdout.contains("not better beyond noise"), "{stdout}");
    // The champion's drift table is printed.
    assert!(stdout.contains("PSI"), "{stdout}");

    let reg = f.registry();
    assert_eq!(reg.alias(CHAMPION).expect("alias"), Some(champion.clone()));
    let challenger = reg.alias(CHALLENGER).expect("alias").expect("challenger");
    assert_eq!(
        reg.manifest(&challenger).expect("manifest").algorithm,
        "random_forest"
    );

    let log = read_log(&f.models).expect("log");
    assert_eq!(log.len(), 1);
    let line = &log[0];
    assert_eq!(line.status, "kept");
    assert_eq!(line.exit_code, 10);
    assert_eq!(
        line.champion.as_ref().map(|c| c.version.as_str()),
        Some(champion.as_str())
    );
    assert_eq!(
        line.challenger.as_ref().map(|c| c.version.as_str()),
        Some(challenger.as_str())
    );
    let gate = line.gate.as_ref().expect("gate result");
    assert!(gate.auc.difference < 0.0, "{:?}", gate.auc);
    assert!(gate.auc.lower <= 0.0 && !gate.promote);
    assert!(line.drift.is_some());
    assert_eq!(
        line.dates.as_ref().map(|d| d["test"].clone()),
        Some(serde_json::json!("2024-09-30"))
    );
    assert!(line
        .data_fingerprint
        .as_ref()
        .is_some_and(|f| f.len() == 64));
}

#[test]
fn the_gate_promotes_a_clearly_better_challenger() {
    let f = Fixture::new(22);
    let weak = f.train_champion("random_forest", "weak.json", WEAK);

    // The weak champion predicts nearly one value, which is trivially well calibrated (ECE
    // about 0.006 here), while any model that ranks has an ECE of a few hundredths on a test
    // set with ~70 churners: allow 0.05 so this test is about the AUC part of the gate (the
    // ECE part is tested in the library).
    let fast = f.params("fast.json", FAST_GBDT);
    let o = f.retrain(&[
        "--algorithms",
        "gbdt",
        "--params",
        &fast,
        "--max-ece-increase",
        "0.05",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let stdout = text(&o.stdout);
    assert!(stdout.contains("decision: promoted (exit 0)"), "{stdout}");

    let reg = f.registry();
    let now = reg.alias(CHAMPION).expect("alias").expect("champion");
    assert_ne!(now, weak);
    let log = read_log(&f.models).expect("log");
    assert_eq!(log.len(), 1);
    let gate = log[0].gate.as_ref().expect("gate");
    assert!(gate.auc.lower > 0.0 && gate.promote, "{}", gate.reason);
    assert_eq!(
        log[0].challenger.as_ref().map(|c| c.version.clone()),
        Some(now.clone())
    );
    // The promotion is in the registry's history with the gate's reason, and can be undone.
    let history = reg.history().expect("history");
    let last = history.entries.last().expect("an entry");
    assert_eq!(last.version, now);
    assert!(
        last.reason.contains("better beyond noise"),
        "{}",
        last.reason
    );
    let o = churn(&["models", "rollback", "--models", s(&f.models)]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(reg.alias(CHAMPION).expect("alias"), Some(weak));
}

#[test]
fn a_held_lock_exits_75_and_drift_can_skip_or_force_a_run() {
    let f = Fixture::new(23);
    let fast = f.params("fast.json", FAST_GBDT);

    // Another run holds the lock: exit 75 at once, with a message naming the lock.
    let guard = f.registry().lock(RETRAIN_LOCK).expect("take the lock");
    let o = f.retrain(&["--algorithms", "gbdt", "--params", &fast]);
    assert_eq!(o.status.code(), Some(75), "stderr: {}", text(&o.stderr));
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains("holds the lock") && stderr.contains(".retrain.lock"),
        "{stderr}"
    );
    drop(guard);

    // No champion yet: the first retrain makes one (exit 0).
    let o = f.retrain(&["--algorithms", "gbdt", "--params", &fast]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", text(&o.stderr));
    let champion = f.champion();
    let versions = f.registry().list().expect("list").len();

    // With a threshold no PSI can exceed, --skip-if-no-drift trains nothing (exit 10).
    let o = f.retrain(&[
        "--algorithms",
        "gbdt",
        "--params",
        &fast,
        "--skip-if-no-drift",
        "--drift-threshold",
        "1000",
    ]);
    assert_eq!(o.status.code(), Some(10), "stderr: {}", text(&o.stderr));
    assert!(text(&o.stdout).contains("no drift"), "{}", text(&o.stdout));
    assert_eq!(f.registry().list().expect("list").len(), versions);

    // With threshold 0 every moved feature counts as drift: the run trains.
    let o = f.retrain(&[
        "--algorithms",
        "gbdt",
        "--params",
        &fast,
        "--skip-if-no-drift",
        "--drift-threshold",
        "0",
    ]);
    assert!(
        matches!(o.status.code(), Some(0) | Some(10)),
        "stderr: {}",
        text(&o.stderr)
    );
    assert_eq!(f.registry().list().expect("list").len(), versions + 1);
    let after = f.champion();
    let challenger = f.registry().alias(CHALLENGER).expect("alias");
    // The new model is either the new champion or the challenger beside the old one.
    assert!(after != champion || challenger.is_some());

    // One log line per run, in order.
    let log = read_log(&f.models).expect("log");
    let statuses: Vec<&str> = log.iter().map(|l| l.status.as_str()).collect();
    assert_eq!(
        statuses[..3],
        ["locked", "first_champion", "skipped_no_drift"]
    );
    assert_eq!(log.len(), 4);
    assert_eq!(log[0].exit_code, 75);
    let skipped = &log[2];
    let drift = skipped.drift.as_ref().expect("drift summary");
    assert_eq!(drift.features_above, 0);
    assert!(drift.max_psi >= 0.0 && !drift.top.is_empty());
}

#[test]
fn psi_is_zero_for_the_same_distribution_and_large_for_a_shift() {
    let names = vec!["x".to_string()];
    let reference: Vec<f64> = (0..1000).map(f64::from).collect();
    let profile = DriftProfile::fit(&names, std::slice::from_ref(&reference)).expect("profile");
    // Deciles of 0..999 are 99, 199, …, 899: ten bins of 10% each.
    assert_eq!(profile.features[0].edges[0], 99.0);
    assert_eq!(profile.features[0].proportions, vec![0.1; 10]);

    let same = profile.compare(&names, &[reference]).expect("compare");
    assert_eq!(same.features[0].psi, 0.0);

    // Everything moved to the upper half: five bins empty (floored at 1e-4), five at 20%.
    // PSI = 5·(1e-4 − 0.1)·ln(1e-4/0.1) + 5·(0.2 − 0.1)·ln 2 = 3.4504 + 0.3466 = 3.797.
    let shifted: Vec<f64> = (0..1000).map(|i| 500.0 + f64::from(i % 500)).collect();
    let moved = profile.compare(&names, &[shifted]).expect("compare");
    let by_hand = 5.0 * (PSI_FLOOR - 0.1) * (PSI_FLOOR / 0.1).ln() + 5.0 * 0.1 * 2f64.ln();
    assert!((moved.features[0].psi - by_hand).abs() < 1e-12);
    assert!((moved.features[0].psi - 3.797).abs() < 1e-3);

    // A mild shift of a two-bin feature: 50/50 → 60/40.
    assert!((psi(&[0.5, 0.5], &[0.6, 0.4]) - 0.0405).abs() < 1e-4);
}
