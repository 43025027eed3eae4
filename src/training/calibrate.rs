//! Probability calibration fitted on held-out data, so that a score of 0.2 means "one in five
//! of these customers churns" and a campaign can multiply risk by value.
//!
//! [`Calibrator`] is one serialisable enum (saved with the model): `Identity`, `Platt` (a
//! two-parameter sigmoid on the logit of the score, fitted by Newton's method with Platt's
//! target smoothing) or `Isotonic` (pool-adjacent-violators, interpolated linearly between
//! fitted points and clamped at the ends). [`choose_calibrator`] picks one by cross-fitted log
//! loss. Details in `docs/evaluation.md`.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::evaluate::{brier, check_inputs, log_loss, EvalError};

/// Why a calibrator could not be fitted or chosen.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    /// The scores or labels are unusable (names the index and value).
    #[error(transparent)]
    Input(#[from] EvalError),
    #[error(
        "cross-fitting with {folds} folds needs at least {folds} churners and {folds} stayers, \
         but the calibration set has {positives} and {negatives}"
    )]
    TooFewForFolds {
        folds: usize,
        positives: usize,
        negatives: usize,
    },
    #[error("cross-fitting needs at least 2 folds, got {folds}")]
    InvalidFolds { folds: usize },
}

/// Which calibration to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalibrationMethod {
    Identity,
    Platt,
    Isotonic,
}

impl CalibrationMethod {
    pub fn name(self) -> &'static str {
        match self {
            CalibrationMethod::Identity => "identity",
            CalibrationMethod::Platt => "platt",
            CalibrationMethod::Isotonic => "isotonic",
        }
    }
}

/// What Platt scaling's sigmoid takes as input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlattInput {
    /// `logit(clamp(score, PLATT_EPS, 1 − PLATT_EPS))`: used when every fitting score is in [0, 1].
    Logit,
    /// The raw score (e.g. a margin): used when some fitting score is outside [0, 1].
    Raw,
}

/// Scores are clamped to `[PLATT_EPS, 1 − PLATT_EPS]` before the logit.
pub const PLATT_EPS: f64 = 1e-12;

/// A fitted map from a model score to a calibrated churn probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Calibrator {
    /// Scores are used as they are.
    Identity,
    /// `sigmoid(a · x + b)` with `x` the logit of the score (or the raw score, see `input`).
    Platt { a: f64, b: f64, input: PlattInput },
    /// Increasing step function through the points `(x[i], y[i])` (x strictly increasing, y
    /// non-decreasing), linear between them, constant beyond the ends.
    Isotonic { x: Vec<f64>, y: Vec<f64> },
}

/// The logistic function, stable for large |z|.
#[inline]
pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(PLATT_EPS, 1.0 - PLATT_EPS);
    (p / (1.0 - p)).ln()
}

/// `ln(1 + e^z)` without overflow.
fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

impl Calibrator {
    /// Fits `method` on held-out `scores` and 0/1 `labels` (Platt and isotonic need both classes).
    pub fn fit(
        method: CalibrationMethod,
        scores: &[f64],
        labels: &[f64],
    ) -> Result<Calibrator, CalibrationError> {
        let counts = check_inputs(scores, labels)?;
        match method {
            CalibrationMethod::Identity => Ok(Calibrator::Identity),
            CalibrationMethod::Platt => {
                counts.need_both("Platt scaling")?;
                Ok(fit_platt(scores, labels))
            }
            CalibrationMethod::Isotonic => {
                counts.need_both("isotonic calibration")?;
                Ok(fit_isotonic(scores, labels))
            }
        }
    }

    pub fn method(&self) -> CalibrationMethod {
        match self {
            Calibrator::Identity => CalibrationMethod::Identity,
            Calibrator::Platt { .. } => CalibrationMethod::Platt,
            Calibrator::Isotonic { .. } => CalibrationMethod::Isotonic,
        }
    }

    /// The calibrated probability of one score. NaN stays NaN; ±∞ map to the ends.
    pub fn apply(&self, score: f64) -> f64 {
        if score.is_nan() {
            return f64::NAN;
        }
        match self {
            Calibrator::Identity => score,
            Calibrator::Platt { a, b, input } => {
                let x = match input {
                    PlattInput::Logit => logit(score),
                    PlattInput::Raw => score,
                };
                sigmoid(a * x + b)
            }
            Calibrator::Isotonic { x, y } => interpolate(x, y, score),
        }
    }

    /// [`Calibrator::apply`] over a slice.
    pub fn apply_batch(&self, scores: &[f64]) -> Vec<f64> {
        scores.iter().map(|&s| self.apply(s)).collect()
    }
}

/// Piecewise-linear interpolation through `(xs, ys)`, clamped at the ends.
fn interpolate(xs: &[f64], ys: &[f64], p: f64) -> f64 {
    let (Some(&x0), Some(&xn)) = (xs.first(), xs.last()) else {
        return f64::NAN;
    };
    if p <= x0 {
        return ys[0];
    }
    if p >= xn {
        return ys[ys.len() - 1];
    }
    // First index with x > p; 1 ≤ i < len because x0 < p < xn.
    let i = xs.partition_point(|&x| x <= p);
    let (xl, xr, yl, yr) = (xs[i - 1], xs[i], ys[i - 1], ys[i]);
    yl + (yr - yl) * (p - xl) / (xr - xl)
}

/// Platt scaling by Newton's method with backtracking (Lin, Lin & Weng, 2007), fitting
/// `sigmoid(a·x + b)` to the smoothed targets `(N₊+1)/(N₊+2)` for churners and `1/(N₋+2)`
/// for stayers. Needs both classes (checked by the caller).
fn fit_platt(scores: &[f64], labels: &[f64]) -> Calibrator {
    let input = if scores.iter().all(|s| (0.0..=1.0).contains(s)) {
        PlattInput::Logit
    } else {
        PlattInput::Raw
    };
    let xs: Vec<f64> = match input {
        PlattInput::Logit => scores.iter().map(|&s| logit(s)).collect(),
        PlattInput::Raw => scores.to_vec(),
    };
    let pos = labels.iter().filter(|&&y| y == 1.0).count() as f64;
    let neg = labels.len() as f64 - pos;
    let (hi, lo) = ((pos + 1.0) / (pos + 2.0), 1.0 / (neg + 2.0));
    let targets: Vec<f64> = labels
        .iter()
        .map(|&y| if y == 1.0 { hi } else { lo })
        .collect();
    let objective = |a: f64, b: f64| -> f64 {
        xs.iter()
            .zip(&targets)
            .map(|(&x, &t)| {
                let z = a * x + b;
                softplus(z) - t * z
            })
            .sum()
    };
    let (mut a, mut b) = (0.0, ((pos + 1.0) / (neg + 1.0)).ln());
    let mut f = objective(a, b);
    const SIGMA: f64 = 1e-12;
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, SIGMA, 0.0, SIGMA);
        for (&x, &t) in xs.iter().zip(&targets) {
            let p = sigmoid(a * x + b);
            let w = p * (1.0 - p);
            ga += (p - t) * x;
            gb += p - t;
            haa += w * x * x;
            hab += w * x;
            hbb += w;
        }
        if ga.abs() < 1e-5 && gb.abs() < 1e-5 {
            break;
        }
        let det = haa * hbb - hab * hab;
        if det <= 0.0 || !det.is_finite() {
            break;
        }
        let da = -(hbb * ga - hab * gb) / det;
        let db = -(-hab * ga + haa * gb) / det;
        let slope = ga * da + gb * db;
        let mut step = 1.0;
        let mut moved = false;
        while step >= 1e-10 {
            let (na, nb) = (a + step * da, b + step * db);
            let nf = objective(na, nb);
            if nf <= f + 1e-4 * step * slope {
                (a, b, f) = (na, nb, nf);
                moved = true;
                break;
            }
            step /= 2.0;
        }
        if !moved {
            tracing::debug!(a, b, "Platt line search stalled; keeping the last iterate");
            break;
        }
    }
    Calibrator::Platt { a, b, input }
}

/// Isotonic regression by pool-adjacent-violators. Equal scores are first merged into one
/// point carrying their mean label and count (so ties get one fitted value); blocks are then
/// pooled while a later block's mean is below an earlier one's. Each final block keeps its
/// first and last score as interpolation points.
fn fit_isotonic(scores: &[f64], labels: &[f64]) -> Calibrator {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&i, &j| scores[i].total_cmp(&scores[j]));
    // Equal scores first become one point (x, Σ y, count) …
    let mut points: Vec<(f64, f64, f64)> = Vec::new();
    for &i in &order {
        match points.last_mut() {
            Some(last) if last.0 == scores[i] => {
                last.1 += labels[i];
                last.2 += 1.0;
            }
            _ => points.push((scores[i], labels[i], 1.0)),
        }
    }
    // … then blocks (first x, last x, Σ y, count) pool while the newest block's mean is below
    // its predecessor's.
    let mut blocks: Vec<(f64, f64, f64, f64)> = Vec::with_capacity(points.len());
    for (x, sum, count) in points {
        blocks.push((x, x, sum, count));
        while blocks.len() >= 2 {
            let n = blocks.len();
            let (prev, cur) = (blocks[n - 2], blocks[n - 1]);
            if cur.2 / cur.3 >= prev.2 / prev.3 {
                break;
            }
            blocks[n - 2] = (prev.0, cur.1, prev.2 + cur.2, prev.3 + cur.3);
            blocks.pop();
        }
    }
    let mut x = Vec::with_capacity(2 * blocks.len());
    let mut y = Vec::with_capacity(2 * blocks.len());
    for (first, last, sum, count) in blocks {
        let mean = sum / count;
        x.push(first);
        y.push(mean);
        if last > first {
            x.push(last);
            y.push(mean);
        }
    }
    Calibrator::Isotonic { x, y }
}

/// Settings of [`choose_calibrator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChooseOptions {
    /// Cross-fitting folds; defaults to `5`.
    pub folds: usize,
    /// Seed of the fold assignment; defaults to `42`.
    pub seed: u64,
}

impl Default for ChooseOptions {
    fn default() -> Self {
        ChooseOptions { folds: 5, seed: 42 }
    }
}

/// How one candidate method scored out of fold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CandidateScore {
    pub method: CalibrationMethod,
    /// Log loss of the out-of-fold calibrated probabilities.
    pub log_loss: f64,
    /// Brier score of the out-of-fold calibrated probabilities.
    pub brier: f64,
}

/// The chosen calibrator (refitted on the whole calibration set) and the evidence for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationChoice {
    pub calibrator: Calibrator,
    pub candidates: Vec<CandidateScore>,
    pub folds: usize,
}

/// Stratified fold of every row: churners and stayers are each shuffled and dealt round-robin.
fn assign_folds(labels: &[f64], folds: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fold = vec![0; labels.len()];
    for class in [1.0, 0.0] {
        let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        rows.shuffle(&mut rng);
        for (k, i) in rows.into_iter().enumerate() {
            fold[i] = k % folds;
        }
    }
    fold
}

/// Chooses a calibration by cross-fitting on one calibration set.
///
/// Rows are split into `folds` stratified folds; for each candidate (Identity — only when every
/// score is already in [0, 1] — then Platt, then isotonic) each fold is calibrated by a fit on
/// the other folds, and the candidate's score is the log loss of these out-of-fold
/// probabilities. The lowest log loss wins (a tie goes to the simpler, earlier candidate) and
/// is refitted on all rows. Every row is used both to fit and to judge, never at once.
pub fn choose_calibrator(
    scores: &[f64],
    labels: &[f64],
    options: &ChooseOptions,
) -> Result<CalibrationChoice, CalibrationError> {
    let counts = check_inputs(scores, labels)?;
    let folds = options.folds;
    if folds < 2 {
        return Err(CalibrationError::InvalidFolds { folds });
    }
    if counts.positives < folds || counts.negatives < folds {
        return Err(CalibrationError::TooFewForFolds {
            folds,
            positives: counts.positives,
            negatives: counts.negatives,
        });
    }
    let fold = assign_folds(labels, folds, options.seed);
    let mut methods = vec![CalibrationMethod::Platt, CalibrationMethod::Isotonic];
    if scores.iter().all(|s| (0.0..=1.0).contains(s)) {
        methods.insert(0, CalibrationMethod::Identity);
    }
    let mut candidates = Vec::with_capacity(methods.len());
    for method in methods {
        let mut oof = vec![0.0; scores.len()];
        for f in 0..folds {
            let (train_s, train_l): (Vec<f64>, Vec<f64>) = (0..scores.len())
                .filter(|&i| fold[i] != f)
                .map(|i| (scores[i], labels[i]))
                .unzip();
            let cal = Calibrator::fit(method, &train_s, &train_l)?;
            for i in (0..scores.len()).filter(|&i| fold[i] == f) {
                oof[i] = cal.apply(scores[i]);
            }
        }
        candidates.push(CandidateScore {
            method,
            log_loss: log_loss(&oof, labels)?,
            brier: brier(&oof, labels)?,
        });
    }
    let best = candidates
        .iter()
        .copied()
        .reduce(|best, c| if c.log_loss < best.log_loss { c } else { best })
        .map_or(CalibrationMethod::Identity, |c| c.method);
    Ok(CalibrationChoice {
        calibrator: Calibrator::fit(best, scores, labels)?,
        candidates,
        folds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::evaluate::expected_calibration_error;
    use rand::Rng;

    fn bernoulli(rng: &mut ChaCha8Rng, p: f64) -> f64 {
        f64::from(u8::from(rng.random::<f64>() < p))
    }

    /// Calibrated p ~ U(0, 1), labels ~ Bernoulli(p), and the miscalibrated scores p³.
    fn cubed_sample(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut scores = Vec::with_capacity(n);
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let p: f64 = rng.random();
            labels.push(bernoulli(&mut rng, p));
            scores.push(p.powi(3));
        }
        (scores, labels)
    }

    fn isotonic_points(c: &Calibrator) -> (Vec<f64>, Vec<f64>) {
        match c {
            Calibrator::Isotonic { x, y } => (x.clone(), y.clone()),
            other => panic!("expected isotonic, got {other:?}"),
        }
    }

    #[test]
    fn isotonic_reproduces_pav_on_a_hand_case() {
        // y by score = 1 0 0 1 0 1. PAV: (1,0) violate → ½ ½; then 0 < ½ → pool (1,0,0) = ⅓;
        // 1 is fine; then 0 < 1 → pool (1,0) = ½; last 1 is fine.
        // Fitted: ⅓ ⅓ ⅓ ½ ½ 1.
        let scores = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let labels = [1.0, 0.0, 0.0, 1.0, 0.0, 1.0];
        let cal = Calibrator::fit(CalibrationMethod::Isotonic, &scores, &labels).expect("fits");
        let fitted = cal.apply_batch(&scores);
        let expected = [1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 0.5, 0.5, 1.0];
        for (f, e) in fitted.iter().zip(expected) {
            assert!((f - e).abs() < 1e-12, "{fitted:?}");
        }
        // Blocks keep their end points: x = 1, 3, 4, 5, 6.
        assert_eq!(isotonic_points(&cal).0, vec![1.0, 3.0, 4.0, 5.0, 6.0]);
        // Linear between fitted points, clamped beyond the ends.
        assert!((cal.apply(5.5) - 0.75).abs() < 1e-12);
        assert!((cal.apply(3.5) - (1.0 / 3.0 + 0.5) / 2.0).abs() < 1e-12);
        assert!((cal.apply(-10.0) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(cal.apply(100.0), 1.0);
        assert_eq!(cal.apply(f64::INFINITY), 1.0);
        assert!(cal.apply(f64::NAN).is_nan());
    }

    #[test]
    fn isotonic_gives_tied_scores_one_value() {
        // Ties merge first: x=1 → mean ½ (2 rows), x=2 → 0 (2 rows); violation → pool ¼.
        let cal = Calibrator::fit(
            CalibrationMethod::Isotonic,
            &[1.0, 2.0, 1.0, 2.0],
            &[1.0, 0.0, 0.0, 0.0],
        )
        .expect("fits");
        assert_eq!(cal.apply_batch(&[1.0, 2.0]), vec![0.25, 0.25]);
        // Without a violation the tied group keeps its mean: x=0.2 → ½, x=0.5 → 1.
        let cal = Calibrator::fit(
            CalibrationMethod::Isotonic,
            &[0.2, 0.5, 0.2],
            &[0.0, 1.0, 1.0],
        )
        .expect("fits");
        assert_eq!(cal.apply_batch(&[0.2, 0.5]), vec![0.5, 1.0]);
        // Row order inside a tie must not matter: x=1 → ½, x=2 → ⅔ is already monotone,
        // even though the first row at x=2 is a 0.
        let cal = Calibrator::fit(
            CalibrationMethod::Isotonic,
            &[1.0, 1.0, 2.0, 2.0, 2.0],
            &[1.0, 0.0, 0.0, 1.0, 1.0],
        )
        .expect("fits");
        let out = cal.apply_batch(&[1.0, 2.0]);
        assert!(
            (out[0] - 0.5).abs() < 1e-12 && (out[1] - 2.0 / 3.0).abs() < 1e-12,
            "{out:?}"
        );
    }

    #[test]
    fn isotonic_output_is_monotone() {
        let (scores, labels) = cubed_sample(3000, 5);
        let cal = Calibrator::fit(CalibrationMethod::Isotonic, &scores, &labels).expect("fits");
        let (x, y) = isotonic_points(&cal);
        assert!(x.windows(2).all(|w| w[0] < w[1]));
        assert!(y.windows(2).all(|w| w[0] <= w[1]));
        let grid: Vec<f64> = (0..=1000).map(|i| f64::from(i) / 1000.0).collect();
        let out = cal.apply_batch(&grid);
        assert!(out.windows(2).all(|w| w[0] <= w[1]));
        assert!(out.iter().all(|p| (0.0..=1.0).contains(p)));
    }

    #[test]
    fn platt_recovers_a_known_sigmoid() {
        // Truth: P(churn) = sigmoid(2·logit(s) − 1) with logit(s) ~ U(−4, 4).
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let (mut scores, mut labels) = (Vec::new(), Vec::new());
        for _ in 0..20_000 {
            let z: f64 = rng.random_range(-4.0..4.0);
            labels.push(bernoulli(&mut rng, sigmoid(2.0 * z - 1.0)));
            scores.push(sigmoid(z));
        }
        let cal = Calibrator::fit(CalibrationMethod::Platt, &scores, &labels).expect("fits");
        let Calibrator::Platt { a, b, input } = cal else {
            panic!("expected Platt, got {cal:?}");
        };
        assert_eq!(input, PlattInput::Logit);
        assert!((a - 2.0).abs() < 0.1, "a = {a}");
        assert!((b + 1.0).abs() < 0.1, "b = {b}");
    }

    #[test]
    fn platt_on_raw_scores_outside_the_unit_interval() {
        // Margins m ~ U(−3, 3), truth sigmoid(1.5·m + 0.5).
        let mut rng = ChaCha8Rng::seed_from_u64(23);
        let (mut scores, mut labels) = (Vec::new(), Vec::new());
        for _ in 0..20_000 {
            let m: f64 = rng.random_range(-3.0..3.0);
            labels.push(bernoulli(&mut rng, sigmoid(1.5 * m + 0.5)));
            scores.push(m);
        }
        let cal = Calibrator::fit(CalibrationMethod::Platt, &scores, &labels).expect("fits");
        let Calibrator::Platt { a, b, input } = cal else {
            panic!("expected Platt, got {cal:?}");
        };
        assert_eq!(input, PlattInput::Raw);
        assert!(
            (a - 1.5).abs() < 0.1 && (b - 0.5).abs() < 0.1,
            "a = {a}, b = {b}"
        );
    }

    #[test]
    fn calibration_lowers_ece_of_cubed_probabilities() {
        let (fit_s, fit_l) = cubed_sample(5000, 1);
        let (test_s, test_l) = cubed_sample(5000, 2);
        let ece = |s: &[f64]| expected_calibration_error(s, &test_l, 10).expect("ece").ece;
        let before = ece(&test_s);
        assert!(before > 0.15, "p³ should be badly calibrated: {before}");
        for method in [CalibrationMethod::Platt, CalibrationMethod::Isotonic] {
            let cal = Calibrator::fit(method, &fit_s, &fit_l).expect("fits");
            let after = ece(&cal.apply_batch(&test_s));
            assert!(after < 0.05, "{method:?}: ECE {before} → {after}");
        }
        let choice = choose_calibrator(&fit_s, &fit_l, &ChooseOptions::default()).expect("chooses");
        assert_ne!(choice.calibrator.method(), CalibrationMethod::Identity);
        let after = ece(&choice.calibrator.apply_batch(&test_s));
        assert!(after < 0.05, "chosen: ECE {before} → {after}");
    }

    #[test]
    fn choice_takes_the_lowest_cross_fitted_log_loss_and_is_seeded() {
        let (s, l) = cubed_sample(2000, 9);
        let choice = choose_calibrator(&s, &l, &ChooseOptions::default()).expect("chooses");
        let methods: Vec<_> = choice.candidates.iter().map(|c| c.method).collect();
        assert_eq!(
            methods,
            vec![
                CalibrationMethod::Identity,
                CalibrationMethod::Platt,
                CalibrationMethod::Isotonic
            ]
        );
        let best = choice
            .candidates
            .iter()
            .min_by(|a, b| a.log_loss.total_cmp(&b.log_loss))
            .expect("candidates");
        assert_eq!(choice.calibrator.method(), best.method);
        assert_eq!(
            choose_calibrator(&s, &l, &ChooseOptions::default()).expect("chooses"),
            choice
        );
        // Raw margins are not probabilities: Identity is not a candidate.
        let raw: Vec<f64> = s.iter().map(|p| 10.0 * p - 3.0).collect();
        let choice = choose_calibrator(&raw, &l, &ChooseOptions::default()).expect("chooses");
        assert_eq!(choice.candidates.len(), 2);
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(matches!(
            Calibrator::fit(CalibrationMethod::Platt, &[0.1, 0.2], &[0.0, 0.0]),
            Err(CalibrationError::Input(EvalError::SingleClass {
                metric: "Platt scaling",
                ..
            }))
        ));
        assert!(matches!(
            Calibrator::fit(CalibrationMethod::Isotonic, &[0.1, f64::NAN], &[0.0, 1.0]),
            Err(CalibrationError::Input(EvalError::NonFiniteScore {
                index: 1,
                ..
            }))
        ));
        assert_eq!(
            choose_calibrator(
                &[0.1, 0.2, 0.3],
                &[0.0, 1.0, 0.0],
                &ChooseOptions::default()
            ),
            Err(CalibrationError::TooFewForFolds {
                folds: 5,
                positives: 1,
                negatives: 2
            })
        );
        assert_eq!(
            choose_calibrator(&[0.1], &[0.0], &ChooseOptions { folds: 1, seed: 0 }),
            Err(CalibrationError::InvalidFolds { folds: 1 })
        );
    }

    #[test]
    fn calibrators_round_trip_through_json() {
        let cal = Calibrator::fit(
            CalibrationMethod::Isotonic,
            &[0.1, 0.5, 0.9, 0.3],
            &[0.0, 1.0, 1.0, 0.0],
        )
        .expect("fits");
        let json = serde_json::to_string(&cal).expect("json");
        assert!(json.starts_with(r#"{"method":"isotonic""#), "{json}");
        assert_eq!(
            serde_json::from_str::<Calibrator>(&json).expect("parses"),
            cal
        );
        let platt = Calibrator::Platt {
            a: 1.25,
            b: -0.5,
            input: PlattInput::Logit,
        };
        let json = serde_json::to_string(&platt).expect("json");
        assert_eq!(
            json,
            r#"{"method":"platt","a":1.25,"b":-0.5,"input":"logit"}"#
        );
        assert_eq!(
            serde_json::from_str::<Calibrator>(&json).expect("parses"),
            platt
        );
        assert_eq!(Calibrator::Identity.apply(0.37), 0.37);
    }
}
