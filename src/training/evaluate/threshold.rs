//! Classification at a threshold: a customer is flagged when `score ≥ threshold`; confusion
//! counts and the precision, recall, F1 and accuracy that follow from them.

use serde::{Deserialize, Serialize};

use super::{check_inputs, EvalError};

/// Confusion counts of "flag when `score ≥ threshold`".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Confusion {
    /// Churners flagged.
    pub tp: usize,
    /// Stayers flagged.
    pub fp: usize,
    /// Stayers not flagged.
    pub tn: usize,
    /// Churners not flagged.
    #[serde(rename = "fn")]
    pub fn_: usize,
}

/// Metrics at one threshold. A ratio whose denominator is zero is reported as 0 (sklearn's
/// `zero_division=0`), so the struct never holds NaN.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThresholdMetrics {
    pub threshold: f64,
    pub confusion: Confusion,
    /// `tp / (tp + fp)`.
    pub precision: f64,
    /// `tp / (tp + fn)`.
    pub recall: f64,
    /// `2 · precision · recall / (precision + recall)`.
    pub f1: f64,
    /// `(tp + tn) / n`.
    pub accuracy: f64,
    /// `(tp + fp) / n`: share of customers flagged.
    pub flagged_share: f64,
}

/// Confusion counts when flagging `score ≥ threshold`.
pub fn confusion_at(
    scores: &[f64],
    labels: &[f64],
    threshold: f64,
) -> Result<Confusion, EvalError> {
    check_inputs(scores, labels)?;
    if !threshold.is_finite() {
        return Err(EvalError::InvalidParameter {
            name: "threshold",
            value: threshold,
            reason: "must be a finite number",
        });
    }
    let mut c = Confusion::default();
    for (&s, &y) in scores.iter().zip(labels) {
        match (s >= threshold, y == 1.0) {
            (true, true) => c.tp += 1,
            (true, false) => c.fp += 1,
            (false, false) => c.tn += 1,
            (false, true) => c.fn_ += 1,
        }
    }
    Ok(c)
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Precision, recall, F1 and accuracy when flagging `score ≥ threshold`.
pub fn threshold_metrics(
    scores: &[f64],
    labels: &[f64],
    threshold: f64,
) -> Result<ThresholdMetrics, EvalError> {
    let c = confusion_at(scores, labels, threshold)?;
    let n = scores.len();
    let precision = ratio(c.tp, c.tp + c.fp);
    let recall = ratio(c.tp, c.tp + c.fn_);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Ok(ThresholdMetrics {
        threshold,
        confusion: c,
        precision,
        recall,
        f1,
        accuracy: ratio(c.tp + c.tn, n),
        flagged_share: ratio(c.tp + c.fp, n),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_and_rates_on_a_hand_case() {
        let scores = [0.9, 0.7, 0.6, 0.4, 0.2, 0.5];
        let labels = [1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
        // ≥ 0.5 flags 0.9(1) 0.7(0) 0.6(1) 0.5(0): tp 2, fp 2; unflagged 0.4(1) 0.2(0): fn 1, tn 1.
        let m = threshold_metrics(&scores, &labels, 0.5).expect("metrics");
        assert_eq!(
            m.confusion,
            Confusion {
                tp: 2,
                fp: 2,
                tn: 1,
                fn_: 1
            }
        );
        assert_eq!(m.precision, 0.5);
        assert!((m.recall - 2.0 / 3.0).abs() < 1e-12);
        // F1 = 2·½·⅔ / (½ + ⅔) = 4/7.
        assert!((m.f1 - 4.0 / 7.0).abs() < 1e-12);
        assert_eq!(m.accuracy, 0.5);
        assert!((m.flagged_share - 4.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn nobody_flagged_gives_zero_not_nan() {
        let m = threshold_metrics(&[0.1, 0.2], &[1.0, 0.0], 0.9).expect("metrics");
        assert_eq!((m.precision, m.recall, m.f1), (0.0, 0.0, 0.0));
        assert_eq!(m.accuracy, 0.5);
        let json = serde_json::to_string(&m.confusion).expect("json");
        assert!(json.contains("\"fn\":1"), "{json}");
    }
}
