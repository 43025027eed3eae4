//! Binary metrics used by boosting (log loss for early stopping and history) and by tests and
//! evaluation (ROC AUC).

use rayon::prelude::*;

use super::error::{DataSet, GbdtError};

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting one half (Mann–Whitney U with average ranks). Labels must be 0 or 1
/// and both classes present; NaN scores rank above every number.
pub fn roc_auc(scores: &[f64], labels: &[f64]) -> Result<f64, GbdtError> {
    let set = DataSet::Evaluation;
    if scores.len() != labels.len() {
        return Err(GbdtError::LengthMismatch {
            set,
            what: "labels",
            expected: scores.len(),
            found: labels.len(),
        });
    }
    if let Some((row, &value)) = labels
        .iter()
        .enumerate()
        .find(|(_, &v)| v != 0.0 && v != 1.0)
    {
        return Err(GbdtError::BadLabel { set, row, value });
    }
    let positives = labels.iter().filter(|&&l| l == 1.0).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(GbdtError::SingleClass {
            set,
            class: if positives == 0 { 0.0 } else { 1.0 },
        });
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.par_sort_unstable_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the (1-based, tie-averaged) ranks of the positives.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && scores[order[j]].total_cmp(&scores[order[i]]).is_eq() {
            j += 1;
        }
        let avg_rank = (i + 1 + j) as f64 / 2.0;
        let pos_in_tie = order[i..j].iter().filter(|&&k| labels[k] == 1.0).count();
        rank_sum += avg_rank * pos_in_tie as f64;
        i = j;
    }
    let p = positives as f64;
    let n = negatives as f64;
    Ok((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Log loss of one row from its raw score `s` (log-odds) and label `y`:
/// `softplus(s) − y·s`, computed without overflow.
#[inline]
pub(crate) fn row_log_loss(s: f64, y: f64) -> f64 {
    s.max(0.0) + (-s.abs()).exp().ln_1p() - y * s
}

/// Weighted mean log loss of raw scores (weights default to 1).
pub(crate) fn mean_log_loss(raw: &[f64], y: &[f64], w: Option<&[f64]>) -> f64 {
    const CHUNK: usize = 16_384;
    // Chunk sums added in chunk order: independent of the thread count.
    let parts: Vec<(f64, f64)> = raw
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(c, s)| {
            let start = c * CHUNK;
            let ys = &y[start..start + s.len()];
            match w {
                Some(w) => s
                    .iter()
                    .zip(ys)
                    .zip(&w[start..start + s.len()])
                    .fold((0.0, 0.0), |(l, t), ((&s, &y), &w)| {
                        (l + w * row_log_loss(s, y), t + w)
                    }),
                None => (
                    s.iter().zip(ys).map(|(&s, &y)| row_log_loss(s, y)).sum(),
                    s.len() as f64,
                ),
            }
        })
        .collect();
    let (loss, total) = parts
        .iter()
        .fold((0.0, 0.0), |(l, t), (a, b)| (l + a, t + b));
    if total > 0.0 {
        loss / total
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_by_hand() {
        // Pairs (pos, neg): (0.8,0.1) (0.8,0.4) (0.35,0.1) win, (0.35,0.4) loses → 3/4.
        let auc = roc_auc(&[0.1, 0.4, 0.35, 0.8], &[0.0, 0.0, 1.0, 1.0]).expect("auc");
        assert!((auc - 0.75).abs() < 1e-12);
        // A tie between a positive and a negative counts one half: (1 + 0.5) / 2.
        let auc = roc_auc(&[0.5, 0.5, 0.9], &[0.0, 1.0, 1.0]).expect("auc");
        assert!((auc - 0.75).abs() < 1e-12);
        assert!(roc_auc(&[0.1, 0.2], &[1.0, 1.0]).is_err());
        assert!(roc_auc(&[0.1, 0.2], &[1.0, 2.0]).is_err());
    }

    #[test]
    fn log_loss_matches_the_formula() {
        // s = 0 → p = 0.5 → ln 2 for either label.
        assert!((row_log_loss(0.0, 1.0) - 2f64.ln()).abs() < 1e-15);
        // s = ln 3 → p = 0.75: y=1 → −ln 0.75, y=0 → −ln 0.25.
        let s = 3f64.ln();
        assert!((row_log_loss(s, 1.0) + 0.75f64.ln()).abs() < 1e-12);
        assert!((row_log_loss(s, 0.0) + 0.25f64.ln()).abs() < 1e-12);
        // Huge scores do not overflow.
        assert!(row_log_loss(1000.0, 1.0).abs() < 1e-12);
        assert!((row_log_loss(-1000.0, 1.0) - 1000.0).abs() < 1e-9);
        let m = mean_log_loss(&[0.0, s], &[1.0, 0.0], Some(&[1.0, 3.0]));
        assert!((m - (2f64.ln() - 3.0 * 0.25f64.ln()) / 4.0).abs() < 1e-12);
    }
}
