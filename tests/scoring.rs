//! The scoring stage end to end on a small generated warehouse and a logistic champion trained
//! into a temporary registry: every active customer scored exactly once, filters in a stable
//! order, rankings and paging, save/load round trip, a clear error without a champion, and
//! `churn prioritize` on the command line.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use churn::scoring::{BuildStep, Filter, RankBy, RiskBand, ScoringConfig, ScoringError, Snapshot};
use churn::warehouse;
use churn::warehouse::schema::customer;

mod common;
use common::{churn as churn_cli, d, generate_warehouse, s, train_logistic};

struct Fixture {
    _dir: tempfile::TempDir,
    data: PathBuf,
    models: PathBuf,
    snapshot: Snapshot,
}

/// 1,500 customers over 24 months from 2023-01-01 (the export ends 2024-12-31), a logistic
/// champion, and the snapshot built from both; built once per test binary.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("wh");
        let models = dir.path().join("models");
        let summary = generate_warehouse(&data, 1_500, 11);
        assert_eq!(summary.observed_until, d(2024, 12, 31));
        train_logistic(&data, &models, &dir.path().join("report"));
        let mut steps = Vec::new();
        let snapshot =
            Snapshot::build(&data, &models, &ScoringConfig::default(), &mut |s, _, _| {
                steps.push(s)
            })
            .expect("build snapshot");
        assert!(steps.contains(&BuildStep::Score) && steps.contains(&BuildStep::Assemble));
        Fixture {
            _dir: dir,
            data,
            models,
            snapshot,
        }
    })
}

#[test]
fn every_active_customer_is_scored_exactly_once() {
    let f = fixture();
    let snap = &f.snapshot;
    assert_eq!(snap.as_of(), d(2024, 12, 31));
    // Active at D, counted straight from dim_customer: signup ≤ D and churn null or > D.
    let (wh, _) = warehouse::load(&f.data).expect("load");
    let ids = wh.customers.column(customer::ID).expect("id");
    let ids = ids.str().expect("text");
    let signup = wh.customers.column(customer::SIGNUP_DATE).expect("signup");
    let signup = &signup.date().expect("date").phys;
    let churn = wh.customers.column(customer::CHURN_DATE).expect("churn");
    let churn = &churn.date().expect("date").phys;
    let d_days = (d(2024, 12, 31) - d(1970, 1, 1)).num_days() as i32;
    let mut active: Vec<String> = Vec::new();
    for i in 0..wh.customers.height() {
        let signed = signup.get(i).expect("signup") <= d_days;
        let stayed = churn.get(i).is_none_or(|c| c > d_days);
        if signed && stayed {
            active.push(ids.get(i).expect("id").to_string());
        }
    }
    active.sort();
    assert!(active.len() > 500, "a few hundred active customers");
    let scored: Vec<String> = snap
        .scores()
        .iter()
        .map(|s| s.customer_id.clone())
        .collect();
    assert_eq!(
        scored, active,
        "one score per active customer, sorted by id"
    );
    assert_eq!(snap.meta().customers, active.len());

    let bands = ScoringConfig::default().risk_bands;
    for sc in snap.scores() {
        assert!(
            (0.0..=1.0).contains(&sc.churn_probability),
            "{}",
            sc.customer_id
        );
        assert_eq!(sc.risk_band, bands.band(sc.churn_probability));
        assert!(sc.reasons.len() <= 3);
        assert!(sc.reasons.iter().all(|r| r.contribution > 0.0));
        assert!(
            sc.action.starts_with(sc.risk_band.as_str()),
            "{}",
            sc.action
        );
        assert!(snap.get(&sc.customer_id).is_some_and(|g| g == sc));
    }
    // Customers differ: the model is not a constant.
    let first = snap.scores()[0].churn_probability;
    assert!(snap.scores().iter().any(|s| s.churn_probability != first));
    assert!(snap.get("no-such-customer").is_none());
    // The model info is the champion's.
    assert_eq!(snap.model().algorithm, "logistic");
    assert_eq!(snap.key().model_version, snap.model().version);
    assert!(snap.key().data_fingerprint.is_some());
}

#[test]
fn customer_360_and_segmentation_rows_are_served() {
    let snap = &fixture().snapshot;
    let one = &snap.scores()[7];
    let rec = snap.customer_360(&one.customer_id).expect("360 row");
    let text = |name: &str| match rec.get(name) {
        Some(churn::scoring::FieldValue::Text(t)) => t.clone(),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(text(customer::ID), one.customer_id);
    assert_eq!(text(customer::SEGMENT), one.segment);
    assert_eq!(text(customer::REGION), one.region);
    assert_eq!(
        rec.get("as_of_date"),
        Some(&churn::scoring::FieldValue::Date(d(2024, 12, 31)))
    );
    assert_eq!(rec.fields.len(), snap.customer_360_columns().len());
    assert!(snap.customer_360("nobody").is_none());

    // Segmentation: one row per segment × tier; the customers add up to the snapshot.
    let rows = snap.segmentation();
    assert!(!rows.is_empty());
    let total: f64 = rows
        .iter()
        .map(|r| match r.get("customers") {
            Some(churn::scoring::FieldValue::Int(n)) => *n as f64,
            Some(churn::scoring::FieldValue::Number(n)) => *n,
            other => panic!("customers: {other:?}"),
        })
        .sum();
    assert_eq!(total as usize, snap.len());
}

#[test]
fn filters_match_every_field_in_customer_id_order() {
    let snap = &fixture().snapshot;
    let all = snap.filter(&Filter::default());
    assert_eq!(all.len(), snap.len());

    let segment = snap.segments()[0].clone();
    let by_segment = snap.filter(&Filter {
        segment: Some(segment.clone()),
        ..Filter::default()
    });
    let expected = snap
        .scores()
        .iter()
        .filter(|s| s.segment == segment)
        .count();
    assert_eq!(by_segment.len(), expected);
    assert!(by_segment.iter().all(|s| s.segment == segment));
    assert!(by_segment
        .windows(2)
        .all(|w| w[0].customer_id < w[1].customer_id));

    let manager = snap.managers()[0].clone();
    let region = snap
        .scores()
        .iter()
        .find(|s| s.account_manager_id.as_ref() == Some(&manager))
        .map(|s| s.region.clone())
        .expect("a customer of the manager");
    let both = snap.filter(&Filter {
        manager: Some(manager.clone()),
        region: Some(region.clone()),
        min_risk: Some(0.0),
        ..Filter::default()
    });
    assert!(!both.is_empty());
    assert!(both
        .iter()
        .all(|s| s.account_manager_id.as_deref() == Some(manager.as_str()) && s.region == region));

    let risky = snap.filter(&Filter {
        min_risk: Some(0.3),
        ..Filter::default()
    });
    assert_eq!(
        risky.len(),
        snap.scores()
            .iter()
            .filter(|s| s.churn_probability >= 0.3)
            .count()
    );

    // A list of ids: known ones once each, in customer_id order whatever the request order.
    let a = snap.scores()[10].customer_id.clone();
    let b = snap.scores()[3].customer_id.clone();
    let f = Filter {
        ids: vec![a.clone(), "ghost".into(), b.clone(), a.clone()],
        ..Filter::default()
    };
    let picked: Vec<&str> = snap
        .filter(&f)
        .iter()
        .map(|s| s.customer_id.as_str())
        .collect();
    assert_eq!(picked, vec![b.as_str(), a.as_str()]);
    assert_eq!(snap.unknown_ids(&f), vec!["ghost"]);

    // Unknown filter values are named.
    let err = snap
        .validate_filter(&Filter {
            region: Some("atlantis".into()),
            ..Filter::default()
        })
        .expect_err("unknown region");
    assert!(matches!(
        err,
        ScoringError::UnknownFilterValue {
            field: "region",
            ..
        }
    ));
    assert!(err.to_string().contains("atlantis"), "{err}");
    assert!(snap
        .validate_filter(&Filter {
            min_risk: Some(1.5),
            ..Filter::default()
        })
        .is_err());
    assert!(snap
        .validate_filter(&Filter {
            segment: Some(segment),
            ..Filter::default()
        })
        .is_ok());
}

#[test]
fn prioritize_ranks_descending_with_ties_by_id_and_pages() {
    let snap = &fixture().snapshot;
    let all = snap
        .prioritize(&Filter::default(), RankBy::Risk, 0, usize::MAX)
        .expect("rank");
    assert_eq!(all.total, snap.len());
    assert_eq!(all.rows.len(), snap.len());
    for (i, w) in all.rows.windows(2).enumerate() {
        assert_eq!(w[0].rank, i + 1);
        let (a, b) = (w[0].score, w[1].score);
        assert!(
            a.churn_probability > b.churn_probability
                || (a.churn_probability == b.churn_probability && a.customer_id < b.customer_id),
            "rank {} vs {}",
            w[0].rank,
            w[1].rank
        );
    }
    // Paging: rows 6..10 of the ranking, ranks kept.
    let page = snap
        .prioritize(&Filter::default(), RankBy::Risk, 5, 5)
        .expect("page");
    assert_eq!(page.total, snap.len());
    let ids: Vec<&str> = page
        .rows
        .iter()
        .map(|r| r.score.customer_id.as_str())
        .collect();
    let expected: Vec<&str> = all.rows[5..10]
        .iter()
        .map(|r| r.score.customer_id.as_str())
        .collect();
    assert_eq!(ids, expected);
    assert_eq!(page.rows[0].rank, 6);
    // Past the end: empty page, same total.
    let past = snap
        .prioritize(&Filter::default(), RankBy::Risk, snap.len(), 10)
        .expect("past");
    assert!(past.rows.is_empty());
    assert_eq!(past.total, snap.len());

    // A filtered ranking is the full ranking restricted to the filter.
    let tier = snap.tiers()[0].clone();
    let filter = Filter {
        tier: Some(tier.clone()),
        ..Filter::default()
    };
    let filtered = snap
        .prioritize(&filter, RankBy::Risk, 0, usize::MAX)
        .expect("tier");
    let restricted: Vec<&str> = all
        .rows
        .iter()
        .filter(|r| r.score.tier == tier)
        .map(|r| r.score.customer_id.as_str())
        .collect();
    let got: Vec<&str> = filtered
        .rows
        .iter()
        .map(|r| r.score.customer_id.as_str())
        .collect();
    assert_eq!(got, restricted);

    // By ids: ranked among themselves.
    let ids = vec![
        all.rows[40].score.customer_id.clone(),
        all.rows[2].score.customer_id.clone(),
        all.rows[17].score.customer_id.clone(),
    ];
    let mine = snap
        .prioritize(
            &Filter {
                ids: ids.clone(),
                ..Filter::default()
            },
            RankBy::Risk,
            0,
            10,
        )
        .expect("ids");
    let got: Vec<&str> = mine
        .rows
        .iter()
        .map(|r| r.score.customer_id.as_str())
        .collect();
    assert_eq!(got, vec![ids[1].as_str(), ids[2].as_str(), ids[0].as_str()]);
    assert_eq!(
        mine.rows.iter().map(|r| r.rank).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );

    // Value at risk = risk × CLV, ranked descending.
    assert!(snap.components().clv);
    let page = snap
        .prioritize(&Filter::default(), RankBy::ValueAtRisk, 0, 50)
        .expect("value at risk");
    for r in &page.rows {
        let s = r.score;
        assert!((s.value_at_risk - s.churn_probability * s.clv).abs() < 1e-9);
        assert_eq!(r.key, s.value_at_risk);
    }
    assert!(page.rows.windows(2).all(|w| w[0].key >= w[1].key));
    // No uplift model in this registry: ranking by expected saved value is refused, not faked.
    assert!(!snap.components().uplift && snap.meta().uplift_model.is_none());
    assert!(snap.scores().iter().all(|s| s.expected_uplift.is_none()));
    assert!(matches!(
        snap.prioritize(&Filter::default(), RankBy::ExpectedSavedValue, 0, 5),
        Err(ScoringError::RankUnavailable { .. })
    ));
    // A logistic champion's reasons are its exact linear contributions.
    assert_eq!(snap.meta().reason_method, "linear");
}

#[test]
fn clv_and_suggestions_are_filled() {
    let snap = &fixture().snapshot;
    let c = snap.components();
    assert!(c.clv && c.suggestions, "{c:?}");
    let scores = snap.scores();
    assert!(scores.iter().all(|s| s.clv >= 0.0 && s.clv.is_finite()));
    assert!(scores.iter().filter(|s| s.clv > 0.0).count() > scores.len() / 2);
    assert!(scores.iter().all(|s| s.next_best_products.len() <= 3));
    let with = scores
        .iter()
        .filter(|s| !s.next_best_products.is_empty())
        .count();
    assert!(
        with > scores.len() / 2,
        "{with} of {} have a suggestion",
        scores.len()
    );
    // The action names the first suggestion.
    for s in scores
        .iter()
        .filter(|s| !s.next_best_products.is_empty())
        .take(50)
    {
        assert!(
            s.action.contains(&s.next_best_products[0].product_name),
            "{}",
            s.action
        );
    }
    assert!(scores.iter().any(|s| s.value_at_risk > 0.0));
}

#[test]
fn a_saved_snapshot_loads_back_identical() {
    let f = fixture();
    let snap = &f.snapshot;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("snapshot.bin");
    snap.save(&path).expect("save");
    let meta = Snapshot::read_meta(&path).expect("meta");
    assert_eq!(&meta, snap.meta());
    let back = Snapshot::load(&path).expect("load");
    assert_eq!(back.meta(), snap.meta());
    assert_eq!(back.scores(), snap.scores());
    assert!(back
        .customer_360_frame()
        .equals_missing(snap.customer_360_frame()));
    assert!(back
        .segmentation_frame()
        .equals_missing(snap.segmentation_frame()));
    assert_eq!(back.segments(), snap.segments());
    assert_eq!(back.managers(), snap.managers());
    let id = &snap.scores()[5].customer_id;
    assert_eq!(back.customer_360(id), snap.customer_360(id));
    let top = |s: &Snapshot| -> Vec<String> {
        s.prioritize(&Filter::default(), RankBy::Risk, 0, 20)
            .expect("rank")
            .rows
            .iter()
            .map(|r| r.score.customer_id.clone())
            .collect()
    };
    assert_eq!(top(&back), top(snap));
    // Saving again replaces the file whole; no temporary is left behind.
    back.save(&path).expect("save again");
    let names: HashSet<String> = std::fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, HashSet::from(["snapshot.bin".to_string()]));

    // A damaged file is refused with a reason, not half-loaded.
    let bytes = std::fs::read(&path).expect("read");
    let cut = dir.path().join("cut.bin");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let err = Snapshot::load(&cut).expect_err("truncated");
    assert!(matches!(err, ScoringError::Corrupt { .. }), "{err}");
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, b"hello world, not a snapshot").expect("write");
    assert!(matches!(
        Snapshot::read_meta(&junk),
        Err(ScoringError::Corrupt { .. })
    ));
}

#[test]
fn no_champion_is_a_clear_error() {
    let f = fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty-registry");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let err = Snapshot::build(
        &f.data,
        &empty,
        &ScoringConfig::default(),
        &mut |_, _, _| {},
    )
    .expect_err("no champion");
    assert!(matches!(err, ScoringError::NoChampion { .. }), "{err}");
    assert!(err.to_string().contains("churn train"), "{err}");
    // A registry directory that does not exist is not created.
    let missing = dir.path().join("nowhere");
    let err = Snapshot::build(
        &f.data,
        &missing,
        &ScoringConfig::default(),
        &mut |_, _, _| {},
    )
    .expect_err("no registry");
    assert!(matches!(err, ScoringError::NoChampion { .. }));
    assert!(!missing.exists());

    let out = churn_cli(&["prioritize", "--data", s(&f.data), "--models", s(&empty)]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no champion model") && stderr.contains("churn train"),
        "{stderr}"
    );
}

#[test]
fn prioritize_cli_prints_json_rows_and_reuses_a_snapshot_file() {
    let f = fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let snap_file = dir.path().join("snap.bin");
    let args = |format: &str| {
        vec![
            "prioritize".to_string(),
            "--data".into(),
            s(&f.data).into(),
            "--models".into(),
            s(&f.models).into(),
            "--snapshot".into(),
            s(&snap_file).into(),
            "--top".into(),
            "5".into(),
            "--rank-by".into(),
            "risk".into(),
            "--format".into(),
            format.into(),
        ]
    };
    let run = |format: &str| {
        let a = args(format);
        churn_cli(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let out = run("json");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(snap_file.exists(), "the snapshot was saved");
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), 5);
    let expected = f
        .snapshot
        .prioritize(&Filter::default(), RankBy::Risk, 0, 5)
        .expect("rank");
    for (row, want) in rows.iter().zip(&expected.rows) {
        for field in [
            "rank",
            "customer_id",
            "churn_probability",
            "risk_band",
            "clv",
            "value_at_risk",
            "reasons",
            "next_best_products",
            "action",
            "model_version",
            "as_of_date",
        ] {
            assert!(row.get(field).is_some(), "missing {field}");
        }
        assert_eq!(row["customer_id"], want.score.customer_id.as_str());
        assert_eq!(row["rank"], want.rank);
        assert_eq!(row["as_of_date"], "2024-12-31");
        assert_eq!(row["risk_band"], want.score.risk_band.as_str());
    }
    // Second run: the saved snapshot is current and reused (same answer).
    let modified = std::fs::metadata(&snap_file)
        .and_then(|m| m.modified())
        .expect("mtime");
    let out = run("csv");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::metadata(&snap_file)
            .and_then(|m| m.modified())
            .expect("mtime"),
        modified,
        "a current snapshot is not rebuilt"
    );
    let csv = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 6);
    assert!(lines[0].starts_with("rank,customer_id,churn_probability,risk_band,clv,value_at_risk"));
    assert!(lines[1].starts_with(&format!("1,{},", expected.rows[0].score.customer_id)));

    // An unknown filter value is an error naming it.
    let out = churn_cli(&[
        "prioritize",
        "--snapshot",
        s(&snap_file),
        "--segment",
        "martians",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("martians"));
    assert!(RiskBand::parse("high") == Some(RiskBand::High));
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).expect("copy");
        }
    }
}

#[test]
fn an_uplift_model_in_the_registry_gives_expected_uplift_and_saved_value_ranking() {
    use churn::campaigns::uplift::{Logit, UpliftModel};
    use churn::campaigns::{UpliftArtifact, UPLIFT_FILE};
    let f = fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let models = dir.path().join("models");
    copy_dir(&f.models, &models);
    // A hand-made T-learner on one feature: treated churn σ(−2) whatever the tenure, control
    // churn σ(−1 + 0.5·(tenure_days − 400) / 200) (missing tenure → its mean, 400); short
    // tenures make the offer backfire (control churn below treated).
    let logit = |intercept: f64, weight: f64| Logit {
        mean: vec![400.0],
        scale: vec![200.0],
        weights: vec![weight],
        intercept,
    };
    let artifact = UpliftArtifact {
        format_version: churn::campaigns::artifact::UPLIFT_FORMAT,
        campaign_type: "retention".into(),
        observed_until: d(2024, 12, 31),
        fitted_at: "2026-11-23T10:00:00.000Z".into(),
        holdout_qini: 0.01,
        holdout_observed_uplift: 0.05,
        model: UpliftModel {
            feature_names: vec!["tenure_days".into()],
            treated: logit(-2.0, 0.0),
            control: logit(-1.0, 0.5),
            training_rows: 100,
            relative_range: None,
        },
    };
    artifact.save(&models).expect("save");
    let snap = Snapshot::build(
        &f.data,
        &models,
        &ScoringConfig::default(),
        &mut |_, _, _| {},
    )
    .expect("build");
    assert!(snap.components().uplift);
    let info = snap.meta().uplift_model.as_ref().expect("uplift info");
    assert_eq!(info.fitted_at, artifact.fitted_at);
    // Every customer's estimate is the hand-made model on its tenure at the as-of date.
    let (wh, _) = warehouse::load(&f.data).expect("load");
    let feats =
        churn::features::churn_prediction_features(&wh, &[snap.as_of()], None).expect("features");
    let ids = feats.column("customer_id").expect("id");
    let tenure = feats.column("tenure_days").expect("tenure");
    let tenure = tenure
        .cast(&polars::prelude::DataType::Float64)
        .expect("f64");
    let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
    let mut checked = 0;
    for (id, t) in ids
        .str()
        .expect("text")
        .iter()
        .zip(tenure.f64().expect("f64").iter())
    {
        let id = id.expect("id");
        let t = t.unwrap_or(400.0);
        // The relative reduction 1 − μ₁/μ₀ times the champion's risk, within [p − 1, p].
        let relative = 1.0 - sigmoid(-2.0) / sigmoid(-1.0 + 0.5 * (t - 400.0) / 200.0);
        let score = snap.get(id).expect("scored");
        let p = score.churn_probability;
        let want = (p * relative).clamp(p - 1.0, p);
        let got = score.expected_uplift.expect("uplift");
        assert!((got - want).abs() < 1e-12, "{id}: {got} vs {want}");
        checked += 1;
    }
    assert_eq!(checked, snap.len());
    // Ranking by expected saved value = uplift × CLV, descending.
    let page = snap
        .prioritize(&Filter::default(), RankBy::ExpectedSavedValue, 0, 100)
        .expect("saved value ranking");
    assert_eq!(page.rows.len(), 100);
    for r in &page.rows {
        let s = r.score;
        assert_eq!(r.key, s.expected_uplift.expect("uplift") * s.clv);
    }
    assert!(page.rows.windows(2).all(|w| w[0].key >= w[1].key));
    // A saved snapshot keeps the estimates and what produced them.
    let path = dir.path().join("snap.bin");
    snap.save(&path).expect("save");
    let back = Snapshot::load(&path).expect("load");
    assert_eq!(back.meta().uplift_model, snap.meta().uplift_model);
    assert_eq!(back.scores(), snap.scores());

    // A damaged uplift file fails the build, naming the file.
    std::fs::write(models.join(UPLIFT_FILE), b"not json").expect("damage");
    let err = Snapshot::build(
        &f.data,
        &models,
        &ScoringConfig::default(),
        &mut |_, _, _| {},
    )
    .expect_err("damaged uplift model");
    assert!(err.to_string().contains("uplift_model.json"), "{err}");
}
