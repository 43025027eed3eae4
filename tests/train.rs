//! Training end to end: `churn train` on a generated warehouse (out-of-time split, every
//! algorithm, champion by validation AUC, report and metrics), on a Telco-like flat table (text
//! categoricals, yes/no label, blank numbers), `churn predict` on that table, and clear errors
//! for bad tables.

use std::collections::HashSet;
use std::path::Path;

use chrono::NaiveDate;
use polars::prelude::DataType;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use churn::features::columns::{AS_OF_DATE, CUSTOMER_ID};
use churn::registry::{Registry, CHALLENGER, CHAMPION};
use churn::training::dataset::{
    read_table, table_training_set, warehouse_training_set, DataSource, DatasetError,
};
use churn::warehouse;

mod common;
use common::{churn, d, s, text};

/// Fewer boosting rounds and forest trees: same code paths, faster in debug builds.
const FAST_PARAMS: &str = r#"{"gbdt": {"n_estimators": 120, "learning_rate": 0.1},
  "forest": {"n_trees": 12, "max_depth": 8}, "seed": 3}"#;

/// 2,000 customers over 24 months from 2023-01-01: the export ends 2024-12-31.
fn generate_warehouse(dir: &Path) {
    let summary = common::generate_warehouse(dir, 2_000, 7);
    assert_eq!(summary.observed_until, d(2024, 12, 31));
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read json")).expect("json")
}

#[test]
fn train_on_a_warehouse_splits_out_of_time_and_registers_a_champion() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("wh");
    generate_warehouse(&data);

    // The split, through the library: test = the latest month-end whose 90-day label is
    // observed by 2024-12-31 (2024-09-30 + 90 = 2024-12-29); valid = the latest with
    // D + 90 ≤ 2024-09-30 (2024-06-30, +90 = 09-28); train = the month-ends among the last 12
    // with D + 90 ≤ 2024-06-30, i.e. 2023-10-31 … 2024-03-31 (+90 = 06-29). 2024-04-30, 05-31,
    // 07-31 and 08-31 are left out: their labels reach past the date they would be judged on.
    let (wh, _) = warehouse::load(&data).expect("load");
    let set = warehouse_training_set(&wh, &[]).expect("training set");
    let DataSource::Warehouse { plan } = &set.source else {
        panic!("a warehouse set")
    };
    assert_eq!(plan.test, d(2024, 9, 30));
    assert_eq!(plan.valid, d(2024, 6, 30));
    assert_eq!(
        plan.train,
        vec![
            d(2023, 10, 31),
            d(2023, 11, 30),
            d(2023, 12, 31),
            d(2024, 1, 31),
            d(2024, 2, 29),
            d(2024, 3, 31)
        ]
    );
    assert_eq!(
        plan.skipped.iter().map(|s| s.date).collect::<Vec<_>>(),
        vec![
            d(2024, 4, 30),
            d(2024, 5, 31),
            d(2024, 7, 31),
            d(2024, 8, 31)
        ]
    );

    // No customer-date in two sets, and each set holds only its dates.
    let pairs = |frame: &polars::prelude::DataFrame| -> HashSet<(String, i32)> {
        let ids = frame.column(CUSTOMER_ID).expect("ids");
        let ids = ids.str().expect("text ids");
        let dates = frame.column(AS_OF_DATE).expect("dates");
        let dates = &dates.date().expect("dates").phys;
        ids.iter()
            .zip(dates.iter())
            .map(|(i, d)| (i.expect("id").to_string(), d.expect("date")))
            .collect()
    };
    let (tr, va, te) = (
        pairs(&set.train.frame),
        pairs(&set.valid.frame),
        pairs(&set.test.frame),
    );
    assert_eq!(tr.len(), set.train.rows(), "a customer-date twice in train");
    assert!(tr.is_disjoint(&va) && tr.is_disjoint(&te) && va.is_disjoint(&te));
    let day = |x: NaiveDate| churn::features::pit::day_number(x);
    assert!(va.iter().all(|(_, d)| *d == day(plan.valid)));
    assert!(te.iter().all(|(_, d)| *d == day(plan.test)));
    assert!(tr.iter().all(|(_, d)| *d < day(plan.valid)));

    // The CLI: every algorithm trained, evaluated, registered; the best by validation AUC is
    // champion.
    let models = tmp.path().join("models");
    let out = tmp.path().join("report");
    let params = tmp.path().join("params.json");
    std::fs::write(&params, FAST_PARAMS).expect("write params");
    let o = churn(&[
        "train",
        "--data",
        s(&data),
        "--models",
        s(&models),
        "--out",
        s(&out),
        "--params",
        s(&params),
    ]);
    assert!(o.status.success(), "train failed: {}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains(
            "out-of-time split: train 2023-10-31 … 2024-03-31 (6 dates), valid 2024-06-30, test 2024-09-30"
        ),
        "{stdout}"
    );
    for name in [
        "logistic",
        "decision_tree",
        "random_forest",
        "gbdt",
        "oracle",
    ] {
        assert!(stdout.contains(name), "table lacks {name}: {stdout}");
    }
    assert!(out.join("report.html").is_file());
    let html = std::fs::read_to_string(out.join("report.html")).expect("html");
    assert!(html.contains("<svg") && html.contains("random_forest"));

    let metrics = read_json(&out.join("metrics.json"));
    let entries = metrics["models"].as_array().expect("models");
    assert_eq!(entries.len(), 4);
    for m in entries {
        let auc = m["test"]["roc_auc"].as_f64().expect("auc");
        // The generator's own truth reaches about 0.77 on these rows (the oracle below).
        assert!(auc > 0.6, "{} test AUC {auc}", m["algorithm"]);
        assert!(m["test"]["calibration"]["ece"].as_f64().is_some());
        assert!(m["test"]["top"].as_array().expect("lift").len() == 3);
    }
    assert_eq!(metrics["dataset"]["split"]["test_as_of"], "2024-09-30");
    let best_test = entries
        .iter()
        .filter_map(|m| m["test"]["roc_auc"].as_f64())
        .fold(0.0, f64::max);
    assert!(best_test > 0.65, "best test AUC {best_test}");
    assert_eq!(
        metrics["dataset"]["rows"]["test"].as_u64(),
        Some(set.test.rows() as u64)
    );
    let oracle = metrics["oracle"]["roc_auc"].as_f64().expect("oracle AUC");
    assert!(oracle > 0.65 && oracle <= 1.0, "oracle {oracle}");
    assert_eq!(
        metrics["oracle"]["rows"].as_u64(),
        Some(set.test.rows() as u64)
    );

    let best = entries
        .iter()
        .max_by(|a, b| {
            let v = |x: &serde_json::Value| x["validation_auc"].as_f64().expect("val auc");
            v(a).total_cmp(&v(b))
        })
        .expect("a model");
    let reg = Registry::open(&models).expect("registry");
    assert_eq!(
        reg.alias(CHAMPION).expect("alias").as_deref(),
        best["version"].as_str()
    );
    let champion = reg.manifest(CHAMPION).expect("manifest");
    assert_eq!(champion.training_as_of.len(), 7);
    assert_eq!(
        champion.feature_catalog_hash,
        churn::features::catalog::catalog_hash()
    );
    assert_eq!(champion.data_fingerprint, set.fingerprint);
    assert!(champion.metrics["validation_auc"].as_f64().is_some());
    assert!(champion.metrics["test_ece"].as_f64().is_some());
    assert_eq!(reg.list().expect("list").len(), 4);

    // A second training leaves the champion alone and names a challenger.
    let o = churn(&[
        "train",
        "--data",
        s(&data),
        "--models",
        s(&models),
        "--algorithms",
        "gbdt",
        "--params",
        s(&params),
    ]);
    assert!(o.status.success(), "second train: {}", text(&o.stderr));
    assert_eq!(
        reg.alias(CHAMPION).expect("alias"),
        Some(champion.version.clone())
    );
    let challenger = reg
        .alias(CHALLENGER)
        .expect("alias")
        .expect("challenger set");
    assert!(challenger.starts_with("v0005-"), "{challenger}");
    // Default report directory: <models>/reports/<time>/.
    let reports: Vec<_> = std::fs::read_dir(models.join("reports"))
        .expect("reports dir")
        .collect();
    assert_eq!(reports.len(), 1);

    // `models list` shows both aliases.
    let o = churn(&["models", "list", "--models", s(&models)]);
    assert!(o.status.success());
    let list = text(&o.stdout);
    assert!(
        list.contains("champion") && list.contains("challenger"),
        "{list}"
    );

    // Score today's churn_prediction_features (from `churn features`) with the champion: one
    // row per active customer, with the id and the features' as-of date.
    let features = tmp.path().join("features");
    let o = churn(&["features", "--data", s(&data), "--out", s(&features)]);
    assert!(o.status.success(), "features: {}", text(&o.stderr));
    let scored = tmp.path().join("scores.parquet");
    let o = churn(&[
        "predict",
        "--models",
        s(&models),
        "--table",
        s(&features.join("churn_prediction_features.parquet")),
        "--out",
        s(&scored),
    ]);
    assert!(o.status.success(), "predict: {}", text(&o.stderr));
    let df = read_table(&scored).expect("predictions");
    let today = churn::features::churn_prediction_features(&wh, &[d(2024, 12, 31)], None)
        .expect("features");
    assert_eq!(df.height(), today.height());
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(
        names[..3],
        ["customer_id", "as_of_date", "churn_probability"]
    );
    assert_eq!(
        df.column("model_version")
            .expect("version")
            .str()
            .expect("text")
            .get(0),
        Some(champion.version.as_str())
    );
}

/// A Telco-like table: churn is driven by a month-to-month contract, short tenure and high
/// monthly charges; `TotalCharges` is `" "` for brand-new customers (tenure 0).
fn write_telco(path: &Path, n: usize, seed: u64, with_label: bool) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut csv = String::from("customerID,gender,tenure,Contract,MonthlyCharges,TotalCharges");
    csv.push_str(if with_label { ",Churn\n" } else { "\n" });
    for i in 0..n {
        let gender = if rng.random::<bool>() {
            "Female"
        } else {
            "Male"
        };
        let u: f64 = rng.random();
        let contract = if u < 0.5 {
            "Month-to-month"
        } else if u < 0.75 {
            "One year"
        } else {
            "Two year"
        };
        let tenure: u32 = if i % 40 == 0 {
            0
        } else {
            rng.random_range(1..72)
        };
        let monthly = 20.0 + 100.0 * rng.random::<f64>();
        let total = if tenure == 0 {
            " ".to_string()
        } else {
            format!("{:.2}", f64::from(tenure) * monthly)
        };
        let z = -1.6 + 2.2 * f64::from(u8::from(contract == "Month-to-month"))
            - 0.05 * f64::from(tenure)
            + 0.02 * (monthly - 70.0);
        let churned = rng.random::<f64>() < 1.0 / (1.0 + (-z).exp());
        csv.push_str(&format!(
            "C{i:05},{gender},{tenure},{contract},{monthly:.2},{total}"
        ));
        if with_label {
            csv.push_str(if churned { ",Yes\n" } else { ",No\n" });
        } else {
            csv.push('\n');
        }
    }
    std::fs::write(path, csv).expect("write csv");
}

#[test]
fn train_on_a_flat_table_then_predict_every_row_with_reasons() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let table = tmp.path().join("telco.csv");
    write_telco(&table, 1_000, 5, true);
    let models = tmp.path().join("models");
    let out = tmp.path().join("report");
    let o = churn(&[
        "train",
        "--table",
        s(&table),
        "--label",
        "Churn",
        "--id",
        "customerID",
        "--models",
        s(&models),
        "--out",
        s(&out),
        "--algorithms",
        "logistic,gbdt",
        "--seed",
        "9",
    ]);
    assert!(o.status.success(), "train failed: {}", text(&o.stderr));
    let metrics = read_json(&out.join("metrics.json"));
    assert_eq!(metrics["dataset"]["source"], "table");
    // Stratified 60/20/20 of 1,000 rows.
    let rows = &metrics["dataset"]["rows"];
    assert_eq!(
        rows["train"].as_u64().unwrap_or(0)
            + rows["valid"].as_u64().unwrap_or(0)
            + rows["test"].as_u64().unwrap_or(0),
        1_000
    );
    assert!(
        (590..=610).contains(&rows["train"].as_u64().unwrap_or(0)),
        "{rows}"
    );
    for m in metrics["models"].as_array().expect("models") {
        let auc = m["test"]["roc_auc"].as_f64().expect("auc");
        assert!(
            auc > 0.7,
            "{} test AUC {auc} on a planted signal",
            m["algorithm"]
        );
    }
    let reg = Registry::open(&models).expect("registry");
    let champion = reg.manifest(CHAMPION).expect("champion");
    assert!(champion.training_as_of.is_empty());
    assert!(
        champion
            .features
            .iter()
            .any(|f| f == "Contract=Month-to-month"),
        "{:?}",
        champion.features
    );
    assert!(!champion
        .features
        .iter()
        .any(|f| f.starts_with("customerID")));

    // Predict on the same customers without the label.
    let unlabelled = tmp.path().join("telco_nolabel.csv");
    write_telco(&unlabelled, 1_000, 5, false);
    let scored = tmp.path().join("scores.csv");
    let o = churn(&[
        "predict",
        "--models",
        s(&models),
        "--table",
        s(&unlabelled),
        "--out",
        s(&scored),
    ]);
    assert!(o.status.success(), "predict failed: {}", text(&o.stderr));
    let df = read_table(&scored).expect("read predictions");
    assert_eq!(df.height(), 1_000);
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    // The id recorded at training is used when the table has no `customer_id`.
    assert_eq!(names[0], "customerID");
    for c in [
        "churn_probability",
        "reason_1",
        "reason_1_feature",
        "reason_1_contribution",
        "reason_3",
        "model_version",
    ] {
        assert!(names.iter().any(|n| n == c), "missing {c}: {names:?}");
    }
    let ids = df.column("customerID").expect("ids");
    assert_eq!(ids.str().expect("text").get(0), Some("C00000"));
    assert_eq!(ids.str().expect("text").get(999), Some("C00999"));
    let p = df.column("churn_probability").expect("p");
    assert_eq!(p.dtype(), &DataType::Float64);
    let p = p.f64().expect("f64");
    assert_eq!(p.null_count(), 0);
    assert!(p
        .iter()
        .all(|v| v.is_some_and(|v| (0.0..=1.0).contains(&v))));
    // Month-to-month customers score higher on average (the planted signal).
    let reasons = df.column("reason_1").expect("reasons");
    let reasons = reasons.str().expect("text");
    let with_reason = reasons.iter().filter(|r| r.is_some()).count();
    assert!(with_reason > 900, "only {with_reason} rows have a reason");
    let example = reasons.iter().flatten().next().expect("a reason");
    assert!(
        example.contains(" (+") && example.ends_with(')'),
        "reason text `{example}`"
    );
    let contrib = df.column("reason_1_contribution").expect("contribution");
    assert!(contrib
        .f64()
        .expect("f64")
        .iter()
        .flatten()
        .all(|c| c > 0.0));
    let version = df.column("model_version").expect("version");
    assert_eq!(
        version.str().expect("text").get(0),
        Some(champion.version.as_str())
    );
}

fn write(path: &Path, body: &str) {
    std::fs::write(path, body).expect("write");
}

#[test]
fn bad_tables_are_refused_with_errors_that_name_the_problem() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("t.csv");
    let mut rows = String::from("id,plan,spend,empty,Churn\n");
    for i in 0..60 {
        rows.push_str(&format!(
            "{i},{},{}.5,,{}\n",
            if i % 2 == 0 { "a" } else { "b" },
            i,
            if i % 3 == 0 { "Yes" } else { "No" }
        ));
    }
    write(&path, &rows);
    let df = read_table(&path).expect("read");

    // No label column: the error names it and lists the columns.
    let err =
        table_training_set(df.clone(), &path, "churned", Some("id"), 1).expect_err("no such label");
    assert!(matches!(
        err,
        DatasetError::MissingColumn { role: "label", .. }
    ));
    let msg = err.to_string();
    assert!(
        msg.contains("`churned`") && msg.contains("plan, spend"),
        "{msg}"
    );

    // A column null in every row.
    let err =
        table_training_set(df.clone(), &path, "Churn", Some("id"), 1).expect_err("all-null column");
    assert!(err.to_string().contains("`empty`"), "{err}");
    assert!(err.to_string().contains("entirely null"), "{err}");

    // A single class.
    let one_class = tmp.path().join("one.csv");
    let mut rows = String::from("id,spend,Churn\n");
    for i in 0..40 {
        rows.push_str(&format!("{i},{i},No\n"));
    }
    write(&one_class, &rows);
    let err = table_training_set(
        read_table(&one_class).expect("read"),
        &one_class,
        "Churn",
        Some("id"),
        1,
    )
    .expect_err("one class");
    let msg = err.to_string();
    assert!(
        msg.contains("single class") && msg.contains("0 churners"),
        "{msg}"
    );

    // A label that is not binary names the row and value.
    let bad_label = tmp.path().join("bad.csv");
    write(&bad_label, "id,spend,Churn\n1,2,Yes\n2,3,maybe\n3,4,No\n");
    let err = table_training_set(
        read_table(&bad_label).expect("read"),
        &bad_label,
        "Churn",
        Some("id"),
        1,
    )
    .expect_err("bad label");
    assert!(err.to_string().contains("`maybe`"), "{err}");

    // Through the CLI: a clear message and a non-zero exit.
    let o = churn(&[
        "train",
        "--table",
        s(&path),
        "--label",
        "churned",
        "--models",
        s(&tmp.path().join("m")),
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("no label column `churned`"),
        "{}",
        text(&o.stderr)
    );

    // Bad hyperparameters are refused before any data is read.
    let params = tmp.path().join("p.json");
    write(&params, r#"{"forest": {"n_trees": 0}}"#);
    let o = churn(&[
        "train",
        "--table",
        s(&path),
        "--label",
        "Churn",
        "--params",
        s(&params),
        "--models",
        s(&tmp.path().join("m")),
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("forest.n_trees"),
        "{}",
        text(&o.stderr)
    );
}
