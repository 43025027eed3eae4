//! Honest evaluation of one model's churn scores on one labelled test set: ranking quality
//! (ROC AUC with a bootstrap confidence interval, average precision, ROC and PR curves),
//! probability quality (log loss, Brier score, expected calibration error with the reliability
//! curve), targeting quality (lift, capture rate, cumulative gains), classification at a
//! threshold (confusion counts, precision, recall, F1) and campaign economics (expected profit
//! when targeting the top k% and the best cut-off).
//!
//! Everything here is a pure function over `scores: &[f64]` and `labels: &[f64]` (label 1.0 =
//! churned, 0.0 = stayed). Inputs are checked first and a bad input is an [`EvalError`] naming
//! the index and value; nothing panics on input. [`evaluate`] bundles all of it into one
//! serialisable [`Evaluation`]. Definitions and formulas are written out in
//! `docs/evaluation.md`.

mod campaign;
mod probability;
mod ranking;
mod threshold;

pub use campaign::{
    best_threshold, profit_curve, profit_curve_with_values, CampaignEconomics, ProfitCurve,
    ProfitPoint, RankedBy,
};
pub use probability::{
    brier, expected_calibration_error, log_loss, Reliability, ReliabilityBin, LOG_LOSS_EPS,
};
pub use ranking::{
    bootstrap_auc_ci, gains_at, gains_curve, pr_auc, pr_curve, roc_auc, roc_curve,
    ConfidenceInterval, GainsPoint, PrPoint, RocPoint,
};
pub(crate) use ranking::{check_bootstrap, quantile_sorted, stratified_resample};
pub use threshold::{confusion_at, threshold_metrics, Confusion, ThresholdMetrics};

use serde::{Deserialize, Serialize};

/// Why a metric could not be computed. Every variant names the offending index, value or
/// parameter where there is one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("no scores to evaluate: the test set is empty")]
    Empty,
    #[error("scores and labels differ in length: {scores} scores, {labels} labels")]
    LengthMismatch { scores: usize, labels: usize },
    #[error("customer values and scores differ in length: {values} values, {scores} scores")]
    ValueLengthMismatch { values: usize, scores: usize },
    #[error(
        "{metric} needs both classes, but the labels hold {positives} positive(s) and {negatives} negative(s)"
    )]
    SingleClass {
        metric: &'static str,
        positives: usize,
        negatives: usize,
    },
    #[error("score at index {index} is not a finite number: {value}")]
    NonFiniteScore { index: usize, value: f64 },
    #[error("score at index {index} is not a probability in [0, 1]: {value} ({metric} needs probabilities)")]
    NotAProbability {
        metric: &'static str,
        index: usize,
        value: f64,
    },
    #[error("label at index {index} is not 0 or 1: {value}")]
    InvalidLabel { index: usize, value: f64 },
    #[error("customer value at index {index} is not a finite number ≥ 0: {value}")]
    InvalidValue { index: usize, value: f64 },
    #[error("parameter `{name}` = {value} is invalid: {reason}")]
    InvalidParameter {
        name: &'static str,
        value: f64,
        reason: &'static str,
    },
}

/// How many rows of each class a checked input holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClassCounts {
    pub n: usize,
    pub positives: usize,
    pub negatives: usize,
}

impl ClassCounts {
    /// `Err(SingleClass)` unless both classes are present.
    pub(crate) fn need_both(self, metric: &'static str) -> Result<Self, EvalError> {
        if self.positives == 0 || self.negatives == 0 {
            return Err(EvalError::SingleClass {
                metric,
                positives: self.positives,
                negatives: self.negatives,
            });
        }
        Ok(self)
    }
}

/// Checks the shape and values of an input: same non-zero length, finite scores, 0/1 labels.
pub(crate) fn check_inputs(scores: &[f64], labels: &[f64]) -> Result<ClassCounts, EvalError> {
    if scores.len() != labels.len() {
        return Err(EvalError::LengthMismatch {
            scores: scores.len(),
            labels: labels.len(),
        });
    }
    if scores.is_empty() {
        return Err(EvalError::Empty);
    }
    if let Some((index, &value)) = scores.iter().enumerate().find(|(_, s)| !s.is_finite()) {
        return Err(EvalError::NonFiniteScore { index, value });
    }
    let mut positives = 0;
    for (index, &value) in labels.iter().enumerate() {
        if value == 1.0 {
            positives += 1;
        } else if value != 0.0 {
            return Err(EvalError::InvalidLabel { index, value });
        }
    }
    Ok(ClassCounts {
        n: scores.len(),
        positives,
        negatives: scores.len() - positives,
    })
}

/// Like [`check_inputs`], and every score must also lie in `[0, 1]`.
pub(crate) fn check_probabilities(
    scores: &[f64],
    labels: &[f64],
    metric: &'static str,
) -> Result<ClassCounts, EvalError> {
    let counts = check_inputs(scores, labels)?;
    if let Some((index, &value)) = scores
        .iter()
        .enumerate()
        .find(|(_, s)| !(0.0..=1.0).contains(*s))
    {
        return Err(EvalError::NotAProbability {
            metric,
            index,
            value,
        });
    }
    Ok(counts)
}

/// Settings of [`evaluate`]. Every field has a serde default, so a config may set only some.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvalOptions {
    /// Equal-width bins of the reliability curve and ECE; defaults to `10`.
    pub calibration_bins: usize,
    /// Bootstrap resamples for the AUC interval; defaults to `1000`.
    pub bootstrap_resamples: usize,
    /// Confidence level of the AUC interval; defaults to `0.95`.
    pub confidence: f64,
    /// Seed of the bootstrap; defaults to `42`. Same inputs + seed ⇒ same interval.
    pub seed: u64,
    /// Points of the gains curve (shares `1/n, 2/n, …, 1`); defaults to `100` (percentiles).
    pub gains_points: usize,
    /// Shares of customers at which lift and capture are reported; defaults to `[0.05, 0.10, 0.20]`.
    pub top_shares: Vec<f64>,
    /// Maximum points kept of the ROC and PR curves (for plotting); defaults to `200`.
    pub curve_points: usize,
    /// Threshold for the plain classification metrics; defaults to `0.5`.
    pub classification_threshold: f64,
    /// Campaign economics of the profit curve; defaults to [`CampaignEconomics::default`].
    pub economics: CampaignEconomics,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            calibration_bins: 10,
            bootstrap_resamples: 1000,
            confidence: 0.95,
            seed: 42,
            gains_points: 100,
            top_shares: vec![0.05, 0.10, 0.20],
            curve_points: 200,
            classification_threshold: 0.5,
            economics: CampaignEconomics::default(),
        }
    }
}

/// Every metric of one model on one test set. Contains no NaN or infinity, so it round-trips
/// through JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Rows in the test set.
    pub n: usize,
    /// Rows labelled 1 (churned).
    pub positives: usize,
    /// `positives / n`.
    pub base_rate: f64,
    pub roc_auc: f64,
    /// Stratified percentile-bootstrap interval of `roc_auc`.
    pub roc_auc_ci: ConfidenceInterval,
    /// Average precision (sklearn's `average_precision_score`).
    pub pr_auc: f64,
    pub log_loss: f64,
    pub brier: f64,
    /// ECE, MCE and the reliability curve.
    pub calibration: Reliability,
    /// Lift and capture at [`EvalOptions::top_shares`].
    pub top: Vec<GainsPoint>,
    /// Cumulative gains at `1/gains_points, …, 1`.
    pub gains: Vec<GainsPoint>,
    /// ROC curve, down-sampled to at most `curve_points` points.
    pub roc: Vec<RocPoint>,
    /// Precision–recall curve, down-sampled to at most `curve_points` points.
    pub pr: Vec<PrPoint>,
    /// Classification at [`EvalOptions::classification_threshold`].
    pub at_classification_threshold: ThresholdMetrics,
    /// Classification at the profit-maximising campaign threshold.
    pub at_campaign_threshold: ThresholdMetrics,
    /// Expected campaign profit when targeting the top 1%, 2%, …, 100% by score.
    pub profit: ProfitCurve,
}

impl Evaluation {
    /// The lift/capture point at `share` (e.g. `0.10`) if it was among the requested top shares.
    pub fn top_at(&self, share: f64) -> Option<&GainsPoint> {
        self.top.iter().find(|g| (g.share - share).abs() < 1e-9)
    }
}

/// Evaluates calibrated churn probabilities `scores` against 0/1 `labels`.
///
/// Needs a non-empty test set with both classes and every score in `[0, 1]` (log loss, Brier
/// and ECE are metrics of probabilities). Deterministic for a given `options.seed`.
pub fn evaluate(
    scores: &[f64],
    labels: &[f64],
    options: &EvalOptions,
) -> Result<Evaluation, EvalError> {
    let counts = check_probabilities(scores, labels, "evaluation")?.need_both("evaluation")?;
    if options.curve_points < 2 {
        return Err(EvalError::InvalidParameter {
            name: "curve_points",
            value: options.curve_points as f64,
            reason: "a curve needs at least 2 points",
        });
    }
    let profit = profit_curve(scores, labels, &options.economics)?;
    let campaign_threshold = profit.best.threshold;
    let top = options
        .top_shares
        .iter()
        .map(|&share| gains_at(scores, labels, share))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Evaluation {
        n: counts.n,
        positives: counts.positives,
        base_rate: counts.positives as f64 / counts.n as f64,
        roc_auc: roc_auc(scores, labels)?,
        roc_auc_ci: bootstrap_auc_ci(
            scores,
            labels,
            options.bootstrap_resamples,
            options.confidence,
            options.seed,
        )?,
        pr_auc: pr_auc(scores, labels)?,
        log_loss: log_loss(scores, labels)?,
        brier: brier(scores, labels)?,
        calibration: expected_calibration_error(scores, labels, options.calibration_bins)?,
        top,
        gains: gains_curve(scores, labels, options.gains_points)?,
        roc: roc_curve(scores, labels, options.curve_points)?,
        pr: pr_curve(scores, labels, options.curve_points)?,
        at_classification_threshold: threshold_metrics(
            scores,
            labels,
            options.classification_threshold,
        )?,
        at_campaign_threshold: threshold_metrics(scores, labels, campaign_threshold)?,
        profit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `n` calibrated probabilities with labels drawn from them.
    pub(crate) fn calibrated_sample(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let scores: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
        let labels = scores
            .iter()
            .map(|&p| f64::from(u8::from(rng.random::<f64>() < p)))
            .collect();
        (scores, labels)
    }

    #[test]
    fn input_errors_name_the_index_and_value() {
        assert_eq!(
            check_inputs(&[0.1, 0.2], &[1.0]),
            Err(EvalError::LengthMismatch {
                scores: 2,
                labels: 1
            })
        );
        assert_eq!(check_inputs(&[], &[]), Err(EvalError::Empty));
        let err = check_inputs(&[0.1, f64::NAN], &[0.0, 1.0]).expect_err("NaN score");
        assert!(matches!(err, EvalError::NonFiniteScore { index: 1, .. }));
        assert_eq!(
            check_inputs(&[0.1, 0.2, 0.3], &[0.0, 1.0, 2.0]),
            Err(EvalError::InvalidLabel {
                index: 2,
                value: 2.0
            })
        );
        assert_eq!(
            roc_auc(&[0.1, 0.2], &[1.0, 1.0]),
            Err(EvalError::SingleClass {
                metric: "ROC AUC",
                positives: 2,
                negatives: 0
            })
        );
        assert_eq!(
            log_loss(&[0.5, 1.5], &[0.0, 1.0]),
            Err(EvalError::NotAProbability {
                metric: "log loss",
                index: 1,
                value: 1.5
            })
        );
        assert!(err.to_string().contains("index 1"));
    }

    #[test]
    fn evaluation_bundles_metrics_and_round_trips_through_json() {
        let (scores, labels) = calibrated_sample(2000, 7);
        let options = EvalOptions {
            bootstrap_resamples: 200,
            ..EvalOptions::default()
        };
        let ev = evaluate(&scores, &labels, &options).expect("evaluates");
        assert_eq!(ev.n, 2000);
        assert_eq!(ev.positives, labels.iter().filter(|&&l| l == 1.0).count());
        assert_eq!(ev.roc_auc, roc_auc(&scores, &labels).expect("auc"));
        assert!(ev.roc_auc_ci.lower <= ev.roc_auc && ev.roc_auc <= ev.roc_auc_ci.upper);
        // Uniform calibrated scores: AUC is 5/6 in expectation, ECE small.
        assert!((ev.roc_auc - 5.0 / 6.0).abs() < 0.03, "auc {}", ev.roc_auc);
        assert!(ev.calibration.ece < 0.05, "ece {}", ev.calibration.ece);
        assert_eq!(ev.top.len(), 3);
        let top10 = ev.top_at(0.10).expect("10% point");
        assert_eq!(top10.rows, 200);
        assert_eq!(ev.gains.len(), 100);
        assert!(ev.roc.len() <= 200 && ev.pr.len() <= 200);
        assert_eq!(ev.profit.points.len(), 100);
        assert_eq!(ev.at_campaign_threshold.threshold, ev.profit.best.threshold);
        let json = serde_json::to_string(&ev).expect("serialises");
        let back: Evaluation = serde_json::from_str(&json).expect("deserialises");
        // serde_json's default float parser may be 1 ulp off, so compare with a tolerance.
        assert_eq!((back.n, back.positives), (ev.n, ev.positives));
        assert!((back.roc_auc - ev.roc_auc).abs() < 1e-12);
        assert!((back.profit.best.profit - ev.profit.best.profit).abs() < 1e-9);
        assert_eq!(back.calibration.bins.len(), ev.calibration.bins.len());
        assert_eq!(back.roc.len(), ev.roc.len());
        assert_eq!(
            back.at_campaign_threshold.confusion,
            ev.at_campaign_threshold.confusion
        );
    }

    #[test]
    fn evaluation_refuses_non_probabilities_and_one_class() {
        let opts = EvalOptions::default();
        assert!(matches!(
            evaluate(&[0.2, 3.0], &[0.0, 1.0], &opts),
            Err(EvalError::NotAProbability { index: 1, .. })
        ));
        assert!(matches!(
            evaluate(&[0.2, 0.3], &[0.0, 0.0], &opts),
            Err(EvalError::SingleClass { positives: 0, .. })
        ));
    }

    #[test]
    fn options_deserialise_from_a_partial_config() {
        let o: EvalOptions =
            serde_json::from_str(r#"{"seed": 9, "economics": {"contact_cost": 2.0}}"#)
                .expect("parses");
        assert_eq!(o.seed, 9);
        assert_eq!(o.calibration_bins, 10);
        assert_eq!(o.economics.contact_cost, 2.0);
        assert_eq!(o.economics.value_saved_churner, 500.0);
    }
}
