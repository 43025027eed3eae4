//! End-to-end tests of fitting, predicting, saving and explaining, on small generated problems
//! (fixed seeds, at most 20k rows so they stay fast in a debug build).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

/// Columns and labels of a generated problem.
struct Problem {
    cols: Vec<Vec<f64>>,
    y: Vec<f64>,
}

impl Problem {
    fn matrix(&self) -> Matrix<'_> {
        Matrix::new(self.cols.iter().map(|c| c.as_slice()).collect()).expect("matrix")
    }

    fn dataset(&self) -> Dataset<'_> {
        Dataset::new(self.matrix(), &self.y).expect("dataset")
    }

    fn validation(&self) -> Dataset<'_> {
        Dataset::validation(self.matrix(), &self.y).expect("dataset")
    }

    fn row(&self, r: usize) -> Vec<f64> {
        self.cols.iter().map(|c| c[r]).collect()
    }
}

/// Six features: x0..x2 carry a nonlinear signal with an interaction
/// (`2.5·sin(3·x0) + 2·sign(x1·x2)`), x3 is 10% missing, x4 and x5 are noise.
fn nonlinear(n: usize, seed: u64) -> Problem {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut cols: Vec<Vec<f64>> = (0..6).map(|_| Vec::with_capacity(n)).collect();
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let x: Vec<f64> = (0..6).map(|_| rng.random_range(-1.0..1.0)).collect();
        let logit = 2.5 * (3.0 * x[0]).sin() + 2.0 * (x[1] * x[2]).signum() - 0.5;
        let p = 1.0 / (1.0 + (-logit).exp());
        y.push(if rng.random::<f64>() < p { 1.0 } else { 0.0 });
        for (f, c) in cols.iter_mut().enumerate() {
            let missing = f == 3 && rng.random::<f64>() < 0.1;
            c.push(if missing { f64::NAN } else { x[f] });
        }
    }
    Problem { cols, y }
}

fn auc(model: &GbdtModel, p: &Problem) -> f64 {
    let scores = model.predict_raw_batch(&p.matrix()).expect("predict");
    roc_auc(&scores, &p.y).expect("auc")
}

#[test]
fn learns_a_planted_nonlinear_signal_and_not_noise() {
    let train = nonlinear(10_000, 1);
    let test = nonlinear(5_000, 2);
    let model = GbdtParams::new()
        .n_estimators(60)
        .fit(&train.dataset(), None)
        .expect("fit");
    let a = auc(&model, &test);
    // The Bayes-optimal AUC of this problem is about 0.9.
    assert!(a > 0.8, "test AUC {a}");
    assert_eq!(model.n_trees(), 60);
    assert!(model
        .trees()
        .iter()
        .all(|t| t.nodes.iter().filter(|n| n.is_leaf()).count() <= 31));

    // Signal features outrank noise features by gain.
    let gain = model.feature_importance(ImportanceKind::Gain);
    let weakest_signal = gain[0].min(gain[1]).min(gain[2]);
    assert!(weakest_signal > gain[4].max(gain[5]), "{gain:?}");
    let splits = model.feature_importance(ImportanceKind::Split);
    let total_splits: f64 = splits.iter().sum();
    let internal: usize = model
        .trees()
        .iter()
        .map(|t| t.nodes.iter().filter(|n| !n.is_leaf()).count())
        .sum();
    assert_eq!(total_splits, internal as f64);

    // Training loss falls round after round.
    let h = model.history();
    assert_eq!(h.len(), 60);
    assert!(h[59].train_loss < h[0].train_loss);
    assert!(h
        .windows(2)
        .all(|w| w[1].train_loss <= w[0].train_loss + 1e-12));

    // Shuffled labels: nothing to learn, held-out AUC near 0.5.
    let mut shuffled = nonlinear(10_000, 1);
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for i in (1..shuffled.y.len()).rev() {
        let j = rng.random_range(0..=i);
        shuffled.y.swap(i, j);
    }
    let noise_model = GbdtParams::new()
        .n_estimators(60)
        .fit(&shuffled.dataset(), None)
        .expect("fit");
    let a = auc(&noise_model, &test);
    assert!((0.4..0.6).contains(&a), "shuffled-label AUC {a}");
}

#[test]
fn missingness_that_carries_the_signal_is_learned() {
    // x1 is missing for 90% of positives and 10% of negatives; otherwise it is noise.
    let n = 4000;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (mut x0, mut x1, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let label = if i % 2 == 0 { 1.0 } else { 0.0 };
        let p_missing = if label == 1.0 { 0.9 } else { 0.1 };
        x0.push(rng.random_range(0.0..1.0));
        x1.push(if rng.random::<f64>() < p_missing {
            f64::NAN
        } else {
            rng.random_range(0.0..1.0)
        });
        y.push(label);
    }
    let x = Matrix::new(vec![&x0, &x1]).expect("matrix");
    let model = GbdtParams::new()
        .n_estimators(20)
        .fit(&Dataset::new(x, &y).expect("dataset"), None)
        .expect("fit");
    let root = &model.trees()[0].nodes[0];
    assert_eq!(root.feature, 1, "the first split is on missingness of x1");
    // Bayes: P(y=1 | missing) = 0.9, P(y=1 | present) = 0.1.
    let p_missing = model.predict_proba(&[0.5, f64::NAN]).expect("predict");
    let p_present = model.predict_proba(&[0.5, 0.5]).expect("predict");
    assert!(p_missing > 0.8, "{p_missing}");
    assert!(p_present < 0.2, "{p_present}");
}

#[test]
fn early_stopping_keeps_the_best_round() {
    // Easy problem: y = [x0 > 0] with 5% label noise; learns in a few rounds, then overfits.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let make = |rng: &mut ChaCha8Rng, n: usize| {
        let mut cols = vec![Vec::new(), Vec::new()];
        let mut y = Vec::new();
        for _ in 0..n {
            let a: f64 = rng.random_range(-1.0..1.0);
            cols[0].push(a);
            cols[1].push(rng.random_range(-1.0..1.0));
            let clean = if a > 0.0 { 1.0 } else { 0.0 };
            y.push(if rng.random::<f64>() < 0.05 {
                1.0 - clean
            } else {
                clean
            });
        }
        Problem { cols, y }
    };
    let train = make(&mut rng, 3000);
    let valid = make(&mut rng, 2000);
    let model = GbdtParams::new()
        .n_estimators(500)
        .learning_rate(0.3)
        .early_stopping_rounds(Some(10))
        .fit(&train.dataset(), Some(&valid.validation()))
        .expect("fit");
    let best = model.best_round().expect("best round");
    assert!(model.n_trees() < 500);
    assert_eq!(model.n_trees(), best);
    let h = model.history();
    // Training went exactly 10 rounds past the best one, whose loss is the minimum.
    assert_eq!(h.len(), best + 10);
    let losses: Vec<f64> = h
        .iter()
        .map(|r| r.valid_loss.expect("valid loss"))
        .collect();
    let min = losses.iter().cloned().fold(f64::INFINITY, f64::min);
    assert_eq!(losses[best - 1], min);
    // The kept model's validation loss is the best round's.
    let scores = model.predict_raw_batch(&valid.matrix()).expect("predict");
    let kept = metrics::mean_log_loss(&scores, &valid.y, None);
    assert!((kept - min).abs() < 1e-12, "{kept} vs {min}");

    // Early stopping without a validation set is a parameter error.
    let e = GbdtParams::new()
        .early_stopping_rounds(Some(10))
        .fit(&train.dataset(), None)
        .expect_err("no validation set");
    assert!(e.to_string().contains("early_stopping_rounds"), "{e}");
}

#[test]
fn same_seed_gives_the_same_model_whatever_the_threads() {
    let p = nonlinear(20_000, 3);
    let params = GbdtParams::new()
        .n_estimators(15)
        .feature_fraction(0.7)
        .bagging_fraction(0.8)
        .seed(42);
    let fit = |threads| {
        let m = params
            .clone()
            .n_threads(Some(threads))
            .fit(&p.dataset(), None)
            .expect("fit");
        let mut json = serde_json::to_value(&m).expect("json");
        // The thread count is recorded in the params; everything else must match.
        json["params"]["n_threads"] = serde_json::Value::Null;
        serde_json::to_string(&json).expect("string")
    };
    let one = fit(1);
    assert_eq!(one, fit(1));
    assert_eq!(one, fit(2));
    let other_seed = params
        .clone()
        .seed(43)
        .fit(&p.dataset(), None)
        .expect("fit");
    assert_ne!(
        serde_json::to_string(&other_seed).expect("json"),
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&one).expect("value"))
            .expect("json")
    );
}

#[test]
fn serde_round_trip_predicts_identically() {
    let train = nonlinear(5000, 4);
    let model = GbdtParams::new()
        .n_estimators(30)
        .fit(&train.dataset(), None)
        .expect("fit");
    let json = serde_json::to_string(&model).expect("serialize");
    let back: GbdtModel = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, model);
    let test = nonlinear(2000, 5);
    let a = model.predict_raw_batch(&test.matrix()).expect("predict");
    let b = back.predict_raw_batch(&test.matrix()).expect("predict");
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    for (r, &batch) in a.iter().enumerate().take(50) {
        let single = back.predict_raw(&test.row(r)).expect("predict");
        assert!((single - batch).abs() < 1e-12);
    }
    // A tampered model (feature index out of range) is refused on load.
    let mut v: serde_json::Value = serde_json::from_str(&json).expect("value");
    v["trees"][0]["nodes"][0]["feature"] = serde_json::json!(99);
    let e = serde_json::from_value::<GbdtModel>(v).expect_err("tampered");
    assert!(
        e.to_string().contains("feature 99 but the model has 6"),
        "{e}"
    );
}

#[test]
fn tree_shap_adds_up_to_the_raw_score() {
    let train = nonlinear(5000, 6);
    let model = GbdtParams::new()
        .n_estimators(40)
        .fit(&train.dataset(), None)
        .expect("fit");
    let test = nonlinear(300, 7);
    let raw = model.predict_raw_batch(&test.matrix()).expect("predict");
    let batch = model.shap_values_batch(&test.matrix()).expect("shap");
    assert_eq!(batch.n_rows(), 300);
    for (r, &raw_r) in raw.iter().enumerate() {
        let sum = batch.expected_value + batch.row(r).expect("row").iter().sum::<f64>();
        assert!((sum - raw_r).abs() < 1e-6, "row {r}: {sum} vs {raw_r}");
        if r < 20 {
            let e = model.shap_values(&test.row(r)).expect("shap");
            assert!((e.expected_value - batch.expected_value).abs() < 1e-12);
            for (a, b) in e.contributions.iter().zip(batch.row(r).expect("row")) {
                assert!((a - b).abs() < 1e-12);
            }
        }
    }
    // The expected value is the mean raw score over the training rows (covers are row counts).
    let train_raw = model.predict_raw_batch(&train.matrix()).expect("predict");
    let mean = train_raw.iter().sum::<f64>() / train_raw.len() as f64;
    assert!(
        (batch.expected_value - mean).abs() < 1e-9,
        "{} vs {mean}",
        batch.expected_value
    );
    // Noise features get small attributions compared with the signal feature x0.
    let mean_abs = |f: usize| {
        (0..300)
            .map(|r| batch.row(r).expect("row")[f].abs())
            .sum::<f64>()
            / 300.0
    };
    assert!(
        mean_abs(0) > 3.0 * mean_abs(4),
        "{} vs {}",
        mean_abs(0),
        mean_abs(4)
    );
}

#[test]
fn scale_pos_weight_raises_the_predicted_mean() {
    // About 20% positives.
    let mut p = nonlinear(5000, 8);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for y in p.y.iter_mut() {
        if *y == 1.0 && rng.random::<f64>() < 0.6 {
            *y = 0.0;
        }
    }
    let rate = p.y.iter().sum::<f64>() / p.y.len() as f64;
    let mean_proba = |spw: f64| {
        let m = GbdtParams::new()
            .n_estimators(30)
            .scale_pos_weight(spw)
            .fit(&p.dataset(), None)
            .expect("fit");
        let probs = m.predict_proba_batch(&p.matrix()).expect("predict");
        (
            m.base_score(),
            probs.iter().sum::<f64>() / probs.len() as f64,
        )
    };
    let (base1, plain) = mean_proba(1.0);
    let (base4, weighted) = mean_proba(4.0);
    assert!((base1 - (rate / (1.0 - rate)).ln()).abs() < 1e-12);
    // Weighted base rate: 4r / (4r + 1 − r).
    let wr = 4.0 * rate / (4.0 * rate + 1.0 - rate);
    assert!((base4 - (wr / (1.0 - wr)).ln()).abs() < 1e-12);
    assert!((plain - rate).abs() < 0.03, "{plain} vs {rate}");
    assert!(weighted > plain + 0.15, "{weighted} vs {plain}");
}

#[test]
fn bad_inputs_are_named() {
    let a = [0.0, 1.0, 2.0];
    let x = Matrix::new(vec![&a]).expect("matrix");
    let e = GbdtParams::new()
        .fit(
            &Dataset::new(x.clone(), &[1.0, 1.0, 1.0]).expect("dataset"),
            None,
        )
        .expect_err("one class");
    assert_eq!(
        e.to_string(),
        "training set: every row has label 1 (after weighting); a binary model needs both 0 and 1"
    );
    let empty = Matrix::new(vec![]).expect("matrix");
    let e = GbdtParams::new()
        .fit(&Dataset::new(empty, &[]).expect("dataset"), None)
        .expect_err("empty");
    assert_eq!(
        e.to_string(),
        "training set is empty: it has 0 rows and 0 feature columns"
    );
    let e = GbdtParams::new()
        .num_leaves(0)
        .fit(
            &Dataset::new(x.clone(), &[0.0, 1.0, 1.0]).expect("dataset"),
            None,
        )
        .expect_err("bad param");
    assert_eq!(
        e.to_string(),
        "parameter `num_leaves` = 0 is out of range: in 2..=4096"
    );
    let model = GbdtParams::new()
        .min_data_in_leaf(1)
        .n_estimators(3)
        .fit(&Dataset::new(x, &[0.0, 1.0, 1.0]).expect("dataset"), None)
        .expect("fit");
    let e = model.predict_raw(&[1.0, 2.0]).expect_err("two features");
    assert_eq!(
        e.to_string(),
        "prediction input: has 2 feature columns, the model was trained on 1"
    );
    let e = Dataset::validation(Matrix::new(vec![&a]).expect("matrix"), &[0.0, 0.5, 1.0])
        .expect_err("label");
    assert_eq!(
        e.to_string(),
        "validation set: label at row 1 is 0.5, expected 0 or 1"
    );
}

#[test]
fn depth_limit_and_a_one_split_problem() {
    // y = [x0 > 0.5] exactly: one split separates the classes. 200 distinct values, so each
    // value has its own bin and the cut can fall exactly between the classes.
    let x0: Vec<f64> = (0..200).map(|i| i as f64 / 200.0).collect();
    let y: Vec<f64> = x0
        .iter()
        .map(|&v| if v > 0.5 { 1.0 } else { 0.0 })
        .collect();
    let x = Matrix::new(vec![&x0]).expect("matrix");
    let model = GbdtParams::new()
        .n_estimators(5)
        .learning_rate(1.0)
        .max_depth(Some(1))
        .fit(&Dataset::new(x, &y).expect("dataset"), None)
        .expect("fit");
    let t = &model.trees()[0];
    assert_eq!(t.nodes.len(), 3);
    assert_eq!(t.depth(), 1);
    // The threshold is the midpoint of 0.5 (last negative) and 0.505 (first positive).
    assert_eq!(t.nodes[0].threshold, 0.5025);
    assert_eq!((t.nodes[1].cover, t.nodes[2].cover), (101.0, 99.0));
    assert!(model.predict_proba(&[0.9]).expect("p") > 0.9);
    assert!(model.predict_proba(&[0.1]).expect("p") < 0.1);
}
