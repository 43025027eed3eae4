//! Probability metrics: are the scores right as probabilities, not just in order? Log loss,
//! Brier score, and the expected calibration error with its reliability curve.

use serde::{Deserialize, Serialize};

use super::{check_probabilities, EvalError};

/// Probabilities are clipped to `[LOG_LOSS_EPS, 1 − LOG_LOSS_EPS]` before taking logs.
pub const LOG_LOSS_EPS: f64 = 1e-15;

/// Mean negative log-likelihood: `−(1/n) Σ [y ln p + (1−y) ln(1−p)]`, with `p` clipped at
/// [`LOG_LOSS_EPS`] so a confident mistake costs about 34.5 rather than infinity.
pub fn log_loss(scores: &[f64], labels: &[f64]) -> Result<f64, EvalError> {
    let counts = check_probabilities(scores, labels, "log loss")?;
    let total: f64 = scores
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = p.clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS);
            -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
        })
        .sum();
    Ok(total / counts.n as f64)
}

/// Brier score: mean squared error of the probability, `(1/n) Σ (p − y)²`.
pub fn brier(scores: &[f64], labels: &[f64]) -> Result<f64, EvalError> {
    let counts = check_probabilities(scores, labels, "Brier score")?;
    let total: f64 = scores
        .iter()
        .zip(labels)
        .map(|(&p, &y)| (p - y) * (p - y))
        .sum();
    Ok(total / counts.n as f64)
}

/// One non-empty bin of the reliability curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Bin edges: `[lower, upper)`, the last bin also holding `upper = 1`.
    pub lower: f64,
    pub upper: f64,
    /// Mean predicted probability of the rows in the bin.
    pub mean_predicted: f64,
    /// Share of those rows that churned.
    pub observed_rate: f64,
    /// Rows in the bin.
    pub count: usize,
}

/// Calibration summary: ECE, MCE and the points of the reliability diagram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reliability {
    /// Expected calibration error: `Σ_b (n_b / n) · |mean_predicted_b − observed_rate_b|`.
    pub ece: f64,
    /// Maximum calibration error: the largest `|mean_predicted_b − observed_rate_b|`.
    pub mce: f64,
    /// Number of equal-width bins the interval `[0, 1]` was cut into.
    pub n_bins: usize,
    /// The non-empty bins, by ascending probability (empty bins have no point to plot).
    pub bins: Vec<ReliabilityBin>,
}

/// Expected calibration error over `n_bins` equal-width bins of `[0, 1]` (10 is customary),
/// each bin weighted by its share of rows, plus the reliability-curve points.
/// A score `p` falls in bin `min(⌊p · n_bins⌋, n_bins − 1)`.
pub fn expected_calibration_error(
    scores: &[f64],
    labels: &[f64],
    n_bins: usize,
) -> Result<Reliability, EvalError> {
    let counts = check_probabilities(scores, labels, "calibration error")?;
    if n_bins == 0 {
        return Err(EvalError::InvalidParameter {
            name: "n_bins",
            value: 0.0,
            reason: "calibration needs at least one bin",
        });
    }
    let mut sum_p = vec![0.0; n_bins];
    let mut sum_y = vec![0.0; n_bins];
    let mut count = vec![0usize; n_bins];
    for (&p, &y) in scores.iter().zip(labels) {
        let b = ((p * n_bins as f64).floor() as usize).min(n_bins - 1);
        sum_p[b] += p;
        sum_y[b] += y;
        count[b] += 1;
    }
    let width = 1.0 / n_bins as f64;
    let bins: Vec<ReliabilityBin> = (0..n_bins)
        .filter(|&b| count[b] > 0)
        .map(|b| ReliabilityBin {
            lower: b as f64 * width,
            upper: (b + 1) as f64 * width,
            mean_predicted: sum_p[b] / count[b] as f64,
            observed_rate: sum_y[b] / count[b] as f64,
            count: count[b],
        })
        .collect();
    let gap = |b: &ReliabilityBin| (b.mean_predicted - b.observed_rate).abs();
    Ok(Reliability {
        ece: bins
            .iter()
            .map(|b| b.count as f64 / counts.n as f64 * gap(b))
            .sum(),
        mce: bins.iter().map(gap).fold(0.0, f64::max),
        n_bins,
        bins,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn log_loss_on_hand_cases() {
        // −(ln 0.8 + ln 0.6) / 2 = 0.3669845…
        let ll = log_loss(&[0.8, 0.4], &[1.0, 0.0]).expect("log loss");
        assert!(close(ll, -(0.8f64.ln() + 0.6f64.ln()) / 2.0), "{ll}");
        assert!((ll - 0.366_984_5).abs() < 1e-7);
        // A certain mistake is clipped: −ln(1e−15) = 34.538776…
        let ll = log_loss(&[0.0], &[1.0]).expect("log loss");
        assert!((ll - 34.538_776).abs() < 1e-5, "{ll}");
        assert!(close(log_loss(&[1.0, 0.0], &[1.0, 0.0]).expect("ll"), 0.0));
    }

    #[test]
    fn brier_on_hand_cases() {
        // ((0.9−1)² + (0.2−0)² + (0.6−0)²) / 3 = (0.01 + 0.04 + 0.36) / 3 = 0.13666…
        let b = brier(&[0.9, 0.2, 0.6], &[1.0, 0.0, 0.0]).expect("brier");
        assert!(close(b, 0.41 / 3.0), "{b}");
    }

    #[test]
    fn ece_is_zero_when_every_bin_is_calibrated() {
        // Bin [0.2, 0.3): four rows at 0.25, one churned; bin [0.7, 0.8): four at 0.75, three churned.
        let scores = [0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75];
        let labels = [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0];
        let r = expected_calibration_error(&scores, &labels, 10).expect("ece");
        assert!(close(r.ece, 0.0) && close(r.mce, 0.0));
        assert_eq!(r.bins.len(), 2);
        assert_eq!(r.bins[0].count, 4);
        assert!(close(r.bins[0].lower, 0.2) && close(r.bins[1].observed_rate, 0.75));
    }

    #[test]
    fn ece_on_a_hand_case() {
        // Bin [0.2,0.3): p̄ = 0.2, rate 1 → gap 0.8; bin [0.8,0.9): p̄ = 0.8, rate 0.5 → gap 0.3.
        // ECE = ½·0.8 + ½·0.3 = 0.55; MCE = 0.8.
        let r = expected_calibration_error(&[0.2, 0.2, 0.8, 0.8], &[1.0, 1.0, 0.0, 1.0], 10)
            .expect("ece");
        assert!(close(r.ece, 0.55), "{}", r.ece);
        assert!(close(r.mce, 0.8));
        // p = 1 falls in the last bin, p = 0 in the first.
        let r = expected_calibration_error(&[0.0, 1.0], &[0.0, 1.0], 10).expect("ece");
        assert_eq!((r.bins[0].lower, r.bins[1].upper), (0.0, 1.0));
        assert!(close(r.ece, 0.0));
    }

    #[test]
    fn ece_refuses_zero_bins() {
        assert!(matches!(
            expected_calibration_error(&[0.5], &[1.0], 0),
            Err(EvalError::InvalidParameter { name: "n_bins", .. })
        ));
    }
}
