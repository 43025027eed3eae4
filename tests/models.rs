//! The churn model family end to end on small generated tables with a planted signal: every
//! algorithm learns it and loses it on shuffled labels, calibration repairs a deliberately
//! miscalibrated model, saved models predict bit for bit the same, reasons are exact (logistic)
//! or additive (TreeSHAP), and the encoder, label parser and parameter guard give errors that
//! name what to fix.

use churn::scoring::ReasonMethod;
use churn::training::encode::{parse_label, FeatureMatrix, TableEncoder};
use churn::training::evaluate::{expected_calibration_error, roc_auc};
use churn::training::models::{
    Algorithm, Attribution, ChurnModel, ContributionScale, ModelError, TrainParams,
};
use polars::prelude::{Column, DataFrame, DataType, NamedFrom, Series};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// A customer table with a planted signal: churn log-odds = −1.5 + 1.8·complaints
/// − 0.4·tenure_years + 1.0·[plan = premium] + 1.2·[usage < 0.2]; `noise` is pure noise,
/// `tenure_years` is null for 5% of rows, `total_charges` is text with `" "` for 1%.
fn customers(n: usize, seed: u64) -> (DataFrame, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut id = Vec::with_capacity(n);
    let mut complaints = Vec::with_capacity(n);
    let mut tenure: Vec<Option<f64>> = Vec::with_capacity(n);
    let mut usage = Vec::with_capacity(n);
    let mut noise = Vec::with_capacity(n);
    let mut plan = Vec::with_capacity(n);
    let mut autopay = Vec::with_capacity(n);
    let mut charges = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c: f64 = rng.sample(StandardNormal);
        let t: f64 = rng.random_range(0.0..6.0);
        let u: f64 = rng.random_range(0.0..1.0);
        let p = match rng.random_range(0..10) {
            0..=4 => "basic",
            5..=7 => "plus",
            _ => "premium",
        };
        let z = -1.5
            + 1.8 * c
            + -0.4 * t
            + if p == "premium" { 1.0 } else { 0.0 }
            + if u < 0.2 { 1.2 } else { 0.0 };
        y.push(f64::from(u8::from(rng.random::<f64>() < sigmoid(z))));
        id.push(format!("C{i:05}"));
        complaints.push(c);
        tenure.push(if rng.random_bool(0.05) { None } else { Some(t) });
        usage.push(u);
        noise.push(rng.sample::<f64, _>(StandardNormal));
        plan.push(p);
        autopay.push(rng.random_bool(0.6));
        charges.push(if rng.random_bool(0.01) {
            " ".to_string()
        } else {
            format!("{:.2}", 20.0 + 70.0 * t)
        });
    }
    let df = DataFrame::new(
        n,
        vec![
            Column::new("customer_id".into(), id),
            Column::new("complaints".into(), complaints),
            Column::new("tenure_years".into(), tenure),
            Column::new("usage".into(), usage),
            Column::new("noise".into(), noise),
            Column::new("plan".into(), plan),
            Column::new("autopay".into(), autopay),
            Column::new("total_charges".into(), charges),
        ],
    )
    .expect("frame");
    (df, y)
}

struct Split {
    encoder: TableEncoder,
    train: FeatureMatrix,
    y_train: Vec<f64>,
    valid: FeatureMatrix,
    y_valid: Vec<f64>,
    test: FeatureMatrix,
    y_test: Vec<f64>,
}

fn split(n_train: usize, shuffle_train_labels: bool) -> Split {
    let (train_df, mut y_train) = customers(n_train, 1);
    let (valid_df, y_valid) = customers(1500, 2);
    let (test_df, y_test) = customers(1500, 3);
    if shuffle_train_labels {
        y_train.shuffle(&mut ChaCha8Rng::seed_from_u64(99));
    }
    let encoder = TableEncoder::fit(&train_df, &["customer_id"]).expect("encoder");
    Split {
        train: encoder.transform(&train_df).expect("train"),
        valid: encoder.transform(&valid_df).expect("valid"),
        test: encoder.transform(&test_df).expect("test"),
        encoder,
        y_train,
        y_valid,
        y_test,
    }
}

/// Small settings so the suite stays fast in debug builds.
fn quick_params() -> TrainParams {
    let mut p = TrainParams::default();
    p.forest.n_trees = 25;
    p.forest.max_depth = 8;
    p.gbdt.n_estimators = 200;
    p.seed = 7;
    p
}

fn fit(algorithm: Algorithm, params: &TrainParams, s: &Split) -> ChurnModel {
    ChurnModel::fit(
        algorithm,
        params,
        s.encoder.clone(),
        &s.train,
        &s.y_train,
        &s.valid,
        &s.y_valid,
    )
    .unwrap_or_else(|e| panic!("fitting {algorithm}: {e}"))
}

#[test]
fn every_algorithm_learns_the_planted_signal_and_loses_it_on_shuffled_labels() {
    let real = split(4000, false);
    let shuffled = split(4000, true);
    let params = quick_params();
    for algorithm in Algorithm::ALL {
        let m = fit(algorithm, &params, &real);
        let p = m.predict_proba(&real.test).expect("predict");
        assert_eq!(p.len(), 1500);
        assert!(p.iter().all(|v| (0.0..=1.0).contains(v)), "{algorithm}");
        let auc = roc_auc(&p, &real.y_test).expect("auc");
        assert!(
            auc > 0.75,
            "{algorithm}: AUC {auc:.3} on the planted signal"
        );
        // The raw scores rank on their own (calibration must not be what orders them).
        let raw = m.predict_uncalibrated(&real.test).expect("raw");
        let raw_auc = roc_auc(&raw, &real.y_test).expect("auc");
        assert!(raw_auc > 0.75, "{algorithm}: uncalibrated AUC {raw_auc:.3}");

        let m = fit(algorithm, &params, &shuffled);
        let p = m.predict_uncalibrated(&shuffled.test).expect("predict");
        let auc = roc_auc(&p, &shuffled.y_test).expect("auc");
        assert!(auc < 0.6, "{algorithm}: AUC {auc:.3} with shuffled labels");
    }
}

#[test]
fn calibration_repairs_an_overweighted_gbdt() {
    let s = split(4000, false);
    let mut params = quick_params();
    params.gbdt.scale_pos_weight = 5.0;
    let m = fit(Algorithm::Gbdt, &params, &s);
    let raw = m.predict_uncalibrated(&s.test).expect("raw");
    let cal = m.predict_proba(&s.test).expect("calibrated");
    let ece_raw = expected_calibration_error(&raw, &s.y_test, 10)
        .expect("ece")
        .ece;
    let ece_cal = expected_calibration_error(&cal, &s.y_test, 10)
        .expect("ece")
        .ece;
    // Weighting churners 5× inflates the raw probabilities (base rate here is about 0.18);
    // calibration brings their mean back to the base rate.
    let mean = |p: &[f64]| p.iter().sum::<f64>() / p.len() as f64;
    let base = mean(&s.y_test);
    assert!(
        mean(&raw) > 1.4 * base,
        "raw mean {:.3}, base {base:.3}",
        mean(&raw)
    );
    assert!(
        (mean(&cal) - base).abs() < 0.03,
        "calibrated mean {:.3}",
        mean(&cal)
    );
    assert!(
        ece_cal < 0.5 * ece_raw && ece_cal < 0.05,
        "ECE raw {ece_raw:.3}, calibrated {ece_cal:.3}"
    );
}

#[test]
fn saved_models_predict_and_explain_bit_for_bit_the_same() {
    let s = split(2000, false);
    let params = quick_params();
    for algorithm in Algorithm::ALL {
        let mut m = fit(algorithm, &params, &s);
        m.set_reference_profile(serde_json::json!({"psi_bins": [0.1, 0.2]}));
        let bytes = m.to_bytes().expect("save");
        let back = ChurnModel::from_bytes(&bytes).expect("load");
        assert_eq!(back.algorithm(), algorithm);
        assert_eq!(back.feature_names(), m.feature_names());
        assert_eq!(back.reference_profile(), m.reference_profile());
        let a = m.predict_proba(&s.test).expect("before");
        let b = back.predict_proba(&s.test).expect("after");
        let same = a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{algorithm}: probabilities changed after a save/load");
        assert_eq!(
            m.explain(&s.test, 3).expect("explain"),
            back.explain(&s.test, 3).expect("explain")
        );
        assert_eq!(back.to_bytes().expect("save again"), bytes);
    }
}

#[test]
fn logistic_reasons_are_exact_and_name_the_planted_feature() {
    let s = split(4000, false);
    let m = fit(Algorithm::Logistic, &quick_params(), &s);
    let c = m.contributions(&s.test).expect("contributions");
    assert_eq!(c.scale, ContributionScale::LogOdds);
    assert!(c.names.contains(&"tenure_years__missing".to_string()));
    let raw = m.predict_uncalibrated(&s.test).expect("raw");
    for (r, p) in raw.iter().enumerate().take(200) {
        let total = c.total(r).expect("row");
        assert!((total - ChurnModel::logit(*p)).abs() < 1e-9, "row {r}");
    }

    // Linear and centred: a customer at the training mean of `complaints` gets 0 from it, and
    // one more unit adds the same amount (coef / sd) wherever it starts.
    let k = c
        .names
        .iter()
        .position(|n| n == "complaints")
        .expect("complaints");
    let mean = s
        .train
        .column("complaints")
        .expect("col")
        .iter()
        .sum::<f64>()
        / s.train.n_rows() as f64;
    let mut probe = s.test.take_rows(&[0, 0, 0]);
    let j = probe
        .names
        .iter()
        .position(|n| n == "complaints")
        .expect("col");
    probe.columns[j] = vec![mean, mean + 1.0, mean + 2.5];
    let pc = m.contributions(&probe).expect("probe");
    let at = |r: usize| pc.row(r).expect("row")[k];
    assert!(at(0).abs() < 1e-9, "contribution at the mean: {}", at(0));
    let slope = at(1) - at(0);
    assert!(slope > 1.0, "complaints raise risk: slope {slope}");
    assert!((at(2) - at(0) - 2.5 * slope).abs() < 1e-9);

    // A customer with many complaints: complaints is the top reason, value shown raw.
    probe.columns[j] = vec![3.0, 3.0, 3.0];
    let reasons = m.explain(&probe, 3).expect("explain");
    assert_eq!(reasons[0][0].feature, "complaints");
    assert_eq!(reasons[0][0].value, Some(3.0));
    assert!(reasons[0].len() <= 3);
    assert!(reasons[0]
        .windows(2)
        .all(|w| w[0].contribution >= w[1].contribution));
    assert!(reasons[0].iter().all(|r| r.contribution > 0.0));
}

#[test]
fn treeshap_adds_up_for_converted_linfa_trees() {
    let s = split(3000, false);
    let params = quick_params();
    for algorithm in [Algorithm::DecisionTree, Algorithm::RandomForest] {
        let m = fit(algorithm, &params, &s);
        let c = m.contributions(&s.test).expect("contributions");
        assert_eq!(c.scale, ContributionScale::Probability);
        let raw = m.predict_uncalibrated(&s.test).expect("raw");
        let mut with_missing = 0;
        let t = s
            .test
            .names
            .iter()
            .position(|n| n == "tenure_years")
            .expect("tenure");
        for (r, p) in raw.iter().enumerate() {
            let total = c.total(r).expect("row");
            assert!(
                (total - p).abs() < 1e-9,
                "{algorithm} row {r}: {total} vs {p}"
            );
            with_missing += usize::from(s.test.columns[t][r].is_nan());
        }
        assert!(
            with_missing > 20,
            "the check covers rows with missing tenure"
        );
        // Expected value = training churn rate for a single tree (covers = training rows).
        if algorithm == Algorithm::DecisionTree {
            let rate = s.y_train.iter().sum::<f64>() / s.y_train.len() as f64;
            assert!((c.expected_value - rate).abs() < 1e-9);
        }
        let top = &m.importance()[0];
        assert_eq!(top.0, "complaints", "{algorithm}: {:?}", m.importance());
    }
}

#[test]
fn gbdt_reasons_are_treeshap_in_log_odds() {
    let s = split(3000, false);
    let m = fit(Algorithm::Gbdt, &quick_params(), &s);
    let c = m.contributions(&s.test).expect("contributions");
    let raw = m.predict_uncalibrated(&s.test).expect("raw");
    for (r, p) in raw.iter().enumerate().take(300) {
        assert!((c.total(r).expect("row") - ChurnModel::logit(*p)).abs() < 1e-6);
    }
    let hp = m.hyperparameters();
    assert_eq!(hp["algorithm"], "gbdt");
    assert!(hp["n_trees"].as_u64().expect("n_trees") <= 200);
    let imp = m.importance();
    assert!((imp.iter().map(|x| x.1).sum::<f64>() - 1.0).abs() < 1e-9);
    assert_eq!(imp[0].0, "complaints");
}

#[test]
fn path_attribution_adds_up_and_mostly_agrees_with_treeshap() {
    let s = split(3000, false);
    let params = quick_params();
    for algorithm in [
        Algorithm::DecisionTree,
        Algorithm::RandomForest,
        Algorithm::Gbdt,
    ] {
        let m = fit(algorithm, &params, &s);
        let exact = m.contributions(&s.test).expect("exact");
        let path = m
            .contributions_with(&s.test, Attribution::Path)
            .expect("path");
        assert_eq!(path.names, exact.names);
        assert_eq!(path.expected_value, exact.expected_value);
        let raw = m.predict_uncalibrated(&s.test).expect("raw");
        let (mut agree, mut differ) = (0usize, 0usize);
        for (r, p) in raw.iter().enumerate() {
            // Local accuracy, as TreeSHAP: expected value + contributions = the raw score.
            let target = if algorithm == Algorithm::Gbdt {
                ChurnModel::logit(*p)
            } else {
                *p
            };
            let total = path.total(r).expect("row");
            assert!((total - target).abs() < 1e-6, "{algorithm} row {r}");
            let (a, b) = (exact.row(r).expect("row"), path.row(r).expect("row"));
            differ += usize::from(a.iter().zip(b).any(|(u, v)| (u - v).abs() > 1e-9));
            let top = |v: &[f64]| {
                (0..v.len())
                    .max_by(|&i, &j| v[i].total_cmp(&v[j]))
                    .expect("features")
            };
            agree += usize::from(top(a) == top(b));
        }
        let n = raw.len();
        // A different method (deep trees credit early splits more), yet the same leading reason
        // for most customers (measured here: 55% for the single deep tree, 71% GBDT, 80%
        // forest; chance would be about one in ten).
        assert!(
            differ > n / 2,
            "{algorithm}: only {differ} of {n} rows differ"
        );
        assert!(
            agree * 2 > n,
            "{algorithm}: top feature agrees on {agree} of {n}"
        );
        // The reasons of explain_with are the top positive path contributions.
        let reasons = m
            .explain_with(&s.test, 3, Attribution::Path)
            .expect("explain");
        let row0 = path.row(0).expect("row");
        for r in &reasons[0] {
            let k = path
                .names
                .iter()
                .position(|n| *n == r.feature)
                .expect("name");
            assert_eq!(r.contribution, row0[k]);
            assert!(r.contribution > 0.0);
        }
    }
    // The scoring stage's `auto` picks exact TreeSHAP while rows × cost fits the budget.
    let gbdt = fit(Algorithm::Gbdt, &params, &s);
    let cost = gbdt.exact_attribution_cost();
    assert!(cost > 0.0);
    let budget = 1000.0 * cost;
    assert_eq!(
        ReasonMethod::Auto.resolve(&gbdt, 1000, budget),
        Attribution::Exact
    );
    assert_eq!(
        ReasonMethod::Auto.resolve(&gbdt, 1001, budget),
        Attribution::Path
    );
    assert_eq!(
        ReasonMethod::Exact.resolve(&gbdt, 1_000_000, budget),
        Attribution::Exact
    );
    assert_eq!(
        ReasonMethod::Path.resolve(&gbdt, 1, budget),
        Attribution::Path
    );
    assert_eq!(gbdt.attribution_name(Attribution::Path), "path");
    assert_eq!(gbdt.attribution_name(Attribution::Exact), "tree_shap");

    let logistic = fit(Algorithm::Logistic, &params, &s);
    assert_eq!(
        logistic
            .contributions_with(&s.test, Attribution::Path)
            .expect("linear"),
        logistic.contributions(&s.test).expect("linear"),
        "logistic contributions are exact whichever method is asked"
    );
    assert_eq!(logistic.attribution_name(Attribution::Path), "linear");
}

#[test]
fn prediction_input_must_match_the_model_features() {
    let s = split(1000, false);
    let m = fit(Algorithm::Logistic, &quick_params(), &s);
    let mut x = s.test.clone();
    x.names.swap(0, 1);
    let e = m.predict_proba(&x).expect_err("swapped names");
    assert_eq!(
        e.to_string(),
        "prediction input: feature 0 is `tenure_years`, the model expects `complaints` \
         (encode the table with the model's encoder)"
    );
}

fn frame(columns: Vec<Column>) -> DataFrame {
    DataFrame::new_infer_height(columns).expect("frame")
}

#[test]
fn encoder_one_hots_text_parses_numeric_text_and_sends_unseen_levels_to_other() {
    // 100 rows: Contract "Month-to-month" ×60, "Two year" ×39, "Weird" ×1 (1% → kept),
    let mut contract: Vec<&str> = vec!["Month-to-month"; 60];
    contract.extend(vec!["Two year"; 39]);
    contract.push("Weird");
    let mut total: Vec<String> = (0..99).map(|i| format!("{}.5", i)).collect();
    total.push(" ".into());
    let df = frame(vec![
        Column::new(
            "customerID".into(),
            (0..100).map(|i| format!("id{i}")).collect::<Vec<_>>(),
        ),
        Column::new("Contract".into(), contract),
        Column::new("TotalCharges".into(), total),
        Column::new(
            "SeniorCitizen".into(),
            (0..100).map(|i| i % 2).collect::<Vec<i32>>(),
        ),
    ]);
    let enc = TableEncoder::fit(&df, &["customerID"]).expect("fit");
    assert_eq!(
        enc.feature_names(),
        vec![
            "Contract=Month-to-month",
            "Contract=Two year",
            "Contract=Weird",
            "Contract=__other",
            "TotalCharges",
            "SeniorCitizen",
        ]
    );
    assert_eq!(
        enc.input_columns(),
        vec!["Contract", "TotalCharges", "SeniorCitizen"]
    );

    let new = frame(vec![
        Column::new(
            "Contract".into(),
            vec![Some("Two year"), Some("One year"), None],
        ),
        Column::new("TotalCharges".into(), vec!["12.5", " ", "7"]),
        Column::new("SeniorCitizen".into(), vec![1i64, 0, 1]),
    ]);
    let x = enc.transform(&new).expect("transform");
    assert_eq!(x.n_rows(), 3);
    assert_eq!(x.row(0), vec![0.0, 1.0, 0.0, 0.0, 12.5, 1.0]);
    // unseen level and null (no __null level learned) both go to __other; " " → NaN
    let r1 = x.row(1);
    assert_eq!(&r1[..4], &[0.0, 0.0, 0.0, 1.0]);
    assert!(r1[4].is_nan());
    assert_eq!(&x.row(2)[..4], &[0.0, 0.0, 0.0, 1.0]);

    // Rare levels (< 1%) fold into __other at fit time.
    let mut many: Vec<String> = vec!["a".into(); 300];
    many.push("rare".into());
    let enc = TableEncoder::fit(&frame(vec![Column::new("k".into(), many)]), &[]).expect("fit");
    assert_eq!(enc.feature_names(), vec!["k=a", "k=__other"]);

    // Date columns are skipped, with the reason recorded.
    let days = Column::new("signup".into(), vec![19000i32, 19001]);
    let dated = frame(vec![
        days.cast(&DataType::Date).expect("date"),
        Column::new("v".into(), vec![1.0, 2.0]),
    ]);
    let enc_dated = TableEncoder::fit(&dated, &[]).expect("fit");
    assert_eq!(enc_dated.feature_names(), vec!["v"]);
    assert_eq!(enc_dated.skipped()[0].name, "signup");
    let saved = serde_json::to_string(&enc).expect("serde");
    let back: TableEncoder = serde_json::from_str(&saved).expect("serde");
    assert_eq!(back, enc);
}

#[test]
fn encoder_errors_name_the_column() {
    let df = frame(vec![
        Column::new("a".into(), vec![1.0, 2.0]),
        Column::new("b".into(), vec![Some("x"), Some("y")]),
    ]);
    let enc = TableEncoder::fit(&df, &[]).expect("fit");
    let missing = frame(vec![Column::new("a".into(), vec![1.0])]);
    let e = enc.transform(&missing).expect_err("missing b");
    assert_eq!(
        e.to_string(),
        "column `b` is missing from the table (the model was trained with it)"
    );
    let wrong = frame(vec![
        Column::new("a".into(), vec![true]),
        Column::new("b".into(), vec!["x"]),
    ]);
    let e = enc.transform(&wrong).expect_err("bool for number");
    assert_eq!(
        e.to_string(),
        "column `a` has dtype bool, expected a number"
    );
    let text = frame(vec![
        Column::new("a".into(), vec!["1.5", "oops"]),
        Column::new("b".into(), vec!["x", "x"]),
    ]);
    let e = enc.transform(&text).expect_err("unparseable number");
    assert_eq!(e.to_string(), "column `a`, row 1: `oops` is not a number");

    let nulls = frame(vec![
        Column::new("a".into(), vec![1.0, 2.0]),
        Column::new("empty".into(), vec![None::<f64>, None]),
    ]);
    // An all-null column is not a feature: skipped, with the reason recorded.
    let enc_nulls = TableEncoder::fit(&nulls, &[]).expect("all-null column skipped");
    assert_eq!(enc_nulls.feature_names(), vec!["a".to_string()]);
    assert_eq!(enc_nulls.skipped().len(), 1);
    assert_eq!(enc_nulls.skipped()[0].name, "empty");
    assert!(enc_nulls.skipped()[0].reason.contains("entirely null"));
    // Nothing but all-null columns: no feature left, a clear error.
    let only_nulls = frame(vec![Column::new("empty".into(), vec![None::<f64>, None])]);
    let e = TableEncoder::fit(&only_nulls, &[]).expect_err("no features");
    assert!(matches!(&e, ModelError::NoFeatures { .. }), "{e}");
}

#[test]
fn parse_label_reads_common_encodings_and_names_bad_rows() {
    let s = Series::new("Churn".into(), &["Yes", " no ", "TRUE", "False", "1", "0"]);
    assert_eq!(
        parse_label(&s).expect("labels"),
        vec![1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    );
    let s = Series::new("churned".into(), &[true, false, true]);
    assert_eq!(parse_label(&s).expect("bool"), vec![1.0, 0.0, 1.0]);
    let s = Series::new("y".into(), &[0i64, 1, 1]);
    assert_eq!(parse_label(&s).expect("ints"), vec![0.0, 1.0, 1.0]);

    let s = Series::new("Churn".into(), &["yes", "no", "maybe"]);
    let e = parse_label(&s).expect_err("maybe");
    assert!(
        e.to_string()
            .starts_with("label column `Churn`, row 2: `maybe` is not a binary label"),
        "{e}"
    );
    let s = Series::new("Churn".into(), &[Some("yes"), None]);
    assert_eq!(
        parse_label(&s).expect_err("null").to_string(),
        "label column `Churn`, row 1: null label; every training row needs a label"
    );
    let s = Series::new("Churn".into(), &["no", "No", "NO"]);
    assert_eq!(
        parse_label(&s).expect_err("single class").to_string(),
        "label column `Churn` has a single class (0 churners, 3 stayers); a churn model needs both"
    );
    let s = Series::new("y".into(), &[0.0, 2.0]);
    assert!(matches!(
        parse_label(&s),
        Err(ModelError::BadLabel { row: 1, .. })
    ));
}

#[test]
fn train_params_are_checked_up_front_with_the_parameter_named() {
    assert!(TrainParams::default().check().is_ok());
    let message = |f: fn(&mut TrainParams)| {
        let mut p = TrainParams::default();
        f(&mut p);
        p.check()
            .map(|_| String::from("accepted"))
            .unwrap_or_else(|e| e.to_string())
    };
    assert_eq!(
        message(|p| p.logistic.c = 0.0),
        "parameter `logistic.c` = 0 is out of range: a finite number > 0"
    );
    assert_eq!(
        message(|p| p.logistic.c = -1.0),
        "parameter `logistic.c` = -1 is out of range: a finite number > 0"
    );
    assert_eq!(
        message(|p| p.tree.max_depth = 0),
        "parameter `tree.max_depth` = 0 is out of range: in 1..=64"
    );
    assert_eq!(
        message(|p| p.forest.n_trees = 0),
        "parameter `forest.n_trees` = 0 is out of range: in 1..=10000"
    );
    assert_eq!(
        message(|p| p.gbdt.learning_rate = 0.0),
        "parameter `gbdt.learning_rate` = 0 is out of range: a finite number > 0"
    );
    assert_eq!(
        message(|p| p.forest.max_features = Some(0)),
        "parameter `forest.max_features` = 0 is out of range: None or >= 1"
    );
    assert_eq!(message(|p| p.forest.max_features = Some(3)), "accepted");

    // A bad parameter stops fit before any work.
    let s = split(300, false);
    let mut p = quick_params();
    p.tree.min_weight_leaf = f64::NAN;
    let e = ChurnModel::fit(
        Algorithm::Logistic,
        &p,
        s.encoder.clone(),
        &s.train,
        &s.y_train,
        &s.valid,
        &s.y_valid,
    )
    .expect_err("NaN min_weight_leaf");
    assert_eq!(
        e.to_string(),
        "parameter `tree.min_weight_leaf` = NaN is out of range: a finite number >= 1"
    );
}

#[test]
fn algorithm_names_round_trip() {
    for a in Algorithm::ALL {
        assert_eq!(a.to_string().parse::<Algorithm>().expect("parse"), a);
    }
    assert_eq!(
        "random-forest".parse::<Algorithm>().expect("kebab"),
        Algorithm::RandomForest
    );
    assert_eq!(Algorithm::DecisionTree.to_string(), "decision_tree");
    assert_eq!(
        serde_json::to_string(&Algorithm::RandomForest).expect("json"),
        "\"random_forest\""
    );
    let e = "svm".parse::<Algorithm>().expect_err("svm");
    assert_eq!(
        e.to_string(),
        "unknown algorithm `svm`: expected one of logistic, decision_tree, random_forest, gbdt"
    );
}

fn write_csv(path: &std::path::Path, x: &FeatureMatrix, y: &[f64]) {
    use std::fmt::Write as _;
    let mut out = x.names.join(",") + ",label\n";
    for (r, label) in y.iter().enumerate() {
        for c in &x.columns {
            if c[r].is_finite() {
                let _ = write!(out, "{},", c[r]);
            } else {
                out.push(',');
            }
        }
        let _ = writeln!(out, "{label}");
    }
    std::fs::write(path, out).expect("write csv");
}

/// Scale check, run by hand in release:
/// `CHURN_MODELS_BENCH_ROWS=100000 cargo test --release --test models -- --ignored --nocapture`.
/// Prints fit / predict / explain times and test AUC per algorithm. With
/// `CHURN_MODELS_BENCH_CSV=<dir>` it also writes the encoded train and test matrices for the
/// sklearn comparison described in `docs/models.md`. `CHURN_MODELS_BENCH_ALGO` runs one
/// algorithm; `CHURN_MODELS_BENCH_PARAMS` overrides parameters (JSON).
#[test]
#[ignore]
fn scale_benchmark() {
    use std::time::Instant;
    let n: usize = std::env::var("CHURN_MODELS_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let only: Option<Algorithm> = std::env::var("CHURN_MODELS_BENCH_ALGO")
        .ok()
        .and_then(|v| v.parse().ok());
    let (train_df, y_train) = customers(n, 11);
    let (valid_df, y_valid) = customers(n / 5, 12);
    let (test_df, y_test) = customers(n / 5, 13);
    let t = Instant::now();
    let encoder = TableEncoder::fit(&train_df, &["customer_id"]).expect("encoder");
    let train = encoder.transform(&train_df).expect("train");
    let valid = encoder.transform(&valid_df).expect("valid");
    let test = encoder.transform(&test_df).expect("test");
    println!("rows {n}: encode {:.2}s", t.elapsed().as_secs_f64());
    if let Ok(dir) = std::env::var("CHURN_MODELS_BENCH_CSV") {
        let dir = std::path::Path::new(&dir);
        write_csv(&dir.join("train.csv"), &train, &y_train);
        write_csv(&dir.join("test.csv"), &test, &y_test);
    }
    // CHURN_MODELS_BENCH_PARAMS: TrainParams as JSON (missing fields take their defaults).
    let params: TrainParams = std::env::var("CHURN_MODELS_BENCH_PARAMS")
        .map(|j| serde_json::from_str(&j).expect("CHURN_MODELS_BENCH_PARAMS is TrainParams JSON"))
        .unwrap_or_default();
    for algorithm in Algorithm::ALL {
        if only.is_some_and(|a| a != algorithm) {
            continue;
        }
        let t = Instant::now();
        let m = ChurnModel::fit(
            algorithm,
            &params,
            encoder.clone(),
            &train,
            &y_train,
            &valid,
            &y_valid,
        )
        .expect("fit");
        let fit = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let p = m.predict_proba(&test).expect("predict");
        let predict = t.elapsed().as_secs_f64();
        let raw = m.predict_uncalibrated(&test).expect("raw");
        let k = test.n_rows().min(10_000);
        let idx: Vec<usize> = (0..k).collect();
        let sample = test.take_rows(&idx);
        let t = Instant::now();
        let reasons = m.explain(&sample, 3).expect("explain");
        let explain = t.elapsed().as_secs_f64();
        assert_eq!(reasons.len(), k);
        println!(
            "{algorithm:>13}: fit {fit:7.2}s  predict {} rows {predict:6.3}s  explain {k} rows \
             {explain:6.2}s  AUC {:.4} (uncalibrated {:.4})  calibrator {}  {}",
            test.n_rows(),
            roc_auc(&p, &y_test).expect("auc"),
            roc_auc(&raw, &y_test).expect("auc"),
            m.calibrator().method().name(),
            m.hyperparameters()
        );
    }
}

#[test]
fn tampered_artifacts_are_rejected_on_load() {
    let s = split(1500, false);
    let m = fit(Algorithm::DecisionTree, &quick_params(), &s);
    let good: serde_json::Value =
        serde_json::from_slice(&m.to_bytes().expect("save")).expect("json");
    let load = |v: &serde_json::Value| {
        ChurnModel::from_bytes(&serde_json::to_vec(v).expect("bytes"))
            .map(|_| String::from("loaded"))
            .unwrap_or_else(|e| e.to_string())
    };
    assert_eq!(load(&good), "loaded");

    let mut v = good.clone();
    v["format_version"] = 2.into();
    assert!(
        load(&v).contains("format version 2 is not supported (this build reads version 1)"),
        "{}",
        load(&v)
    );

    let n_features = good["feature_names"].as_array().expect("names").len();
    let mut v = good.clone();
    v["fitted"]["trees"]["trees"][0]["nodes"][0]["feature"] = 999.into();
    assert!(
        load(&v).contains(&format!("feature 999 but the model has {n_features}")),
        "{}",
        load(&v)
    );

    let mut v = good.clone();
    v["algorithm"] = "gbdt".into();
    assert!(
        load(&v).contains("the fitted model is not a gbdt model"),
        "{}",
        load(&v)
    );

    let mut v = good;
    v["calibration"]["calibrator"] =
        serde_json::json!({"method": "isotonic", "x": [0.1, 0.5], "y": [0.2]});
    assert!(
        load(&v).contains("isotonic calibrator has 2 x and 1 y points"),
        "{}",
        load(&v)
    );
}
