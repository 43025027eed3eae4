//! Ranking metrics: how well the scores order churners above stayers. ROC AUC (tie-aware) and
//! its stratified bootstrap interval, average precision, ROC and PR curves, lift/capture and
//! the cumulative gains curve. Ties between equal scores are resolved in expectation (as if
//! broken at random), never by row order.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{check_inputs, EvalError};

/// Row indices ordered by descending score (ties keep row order; callers group them).
pub(crate) fn descending_order(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order
}

/// `[start, end)` ranges of `order` holding equal scores, in order.
pub(crate) fn tie_groups(order: &[usize], scores: &[f64]) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut start = 0;
    for i in 1..=order.len() {
        if i == order.len() || scores[order[i]] != scores[order[start]] {
            groups.push((start, i));
            start = i;
        }
    }
    groups
}

/// Number of rows in the top `share` of `n` rows: `ceil(share · n)` (a float hair below an
/// integer counts as that integer), at least 1 for a positive share, at most `n`.
pub(crate) fn rows_for_share(share: f64, n: usize) -> usize {
    let rows = (share * n as f64 - 1e-9).ceil().max(0.0) as usize;
    rows.clamp(usize::from(share > 0.0), n)
}

/// Expected sum of `values` over the top `k` rows (by the ranking `order` with tie `groups`)
/// for each `k` of the ascending `ks`. A tie group straddling the cut contributes its mean
/// value times the number of its rows taken: the expectation over random tie-breaking.
pub(crate) fn expected_top_sums(
    order: &[usize],
    groups: &[(usize, usize)],
    values: &[f64],
    ks: &[usize],
) -> Vec<f64> {
    let mut out = Vec::with_capacity(ks.len());
    let mut ki = 0;
    let mut before = 0.0;
    for &(start, end) in groups {
        let group_sum: f64 = order[start..end].iter().map(|&i| values[i]).sum();
        let mean = group_sum / (end - start) as f64;
        while ki < ks.len() && ks[ki] <= end {
            let taken = ks[ki].saturating_sub(start);
            out.push(before + taken as f64 * mean);
            ki += 1;
        }
        before += group_sum;
    }
    // ks beyond n (callers clamp, so this only guards) take everything.
    out.resize(ks.len(), before);
    out
}

/// Area under the ROC curve over a ranking given by position: `churner[k]` says whether the
/// k-th ranked row churned, `groups` are its tie groups, and the row at position k counts
/// `weights[k]` times (1 if `None`). Trapezoids over tie groups give ties half credit (the
/// Mann–Whitney statistic).
fn auc_ranked(groups: &[(usize, usize)], churner: &[bool], weights: Option<&[u32]>) -> f64 {
    let (mut tp, mut fp, mut area) = (0u64, 0u64, 0u64);
    for &(start, end) in groups {
        let (mut dtp, mut dfp) = (0u64, 0u64);
        for k in start..end {
            let w = weights.map_or(1, |w| u64::from(w[k]));
            if churner[k] {
                dtp += w;
            } else {
                dfp += w;
            }
        }
        // Twice the trapezoid, kept in integers: dfp · (tp + tp + dtp).
        area += dfp * (2 * tp + dtp);
        tp += dtp;
        fp += dfp;
    }
    area as f64 / 2.0 / (tp as f64 * fp as f64)
}

/// Whether each row, in descending score order, churned.
fn ranked_churners(order: &[usize], labels: &[f64]) -> Vec<bool> {
    order.iter().map(|&i| labels[i] == 1.0).collect()
}

/// ROC AUC: the probability that a random churner scores above a random stayer, ties counting
/// one half. O(n log n).
pub fn roc_auc(scores: &[f64], labels: &[f64]) -> Result<f64, EvalError> {
    check_inputs(scores, labels)?.need_both("ROC AUC")?;
    let order = descending_order(scores);
    let groups = tie_groups(&order, scores);
    Ok(auc_ranked(&groups, &ranked_churners(&order, labels), None))
}

/// Average precision as sklearn's `average_precision_score` defines it:
/// `AP = Σ_k (R_k − R_{k−1}) · P_k` over the distinct score thresholds in descending order,
/// with `P_k`, `R_k` the precision and recall of "score ≥ threshold k". No interpolation.
/// Needs at least one positive.
pub fn pr_auc(scores: &[f64], labels: &[f64]) -> Result<f64, EvalError> {
    let counts = check_inputs(scores, labels)?;
    if counts.positives == 0 {
        return Err(EvalError::SingleClass {
            metric: "average precision",
            positives: 0,
            negatives: counts.negatives,
        });
    }
    let positives = counts.positives as f64;
    let order = descending_order(scores);
    let (mut tp, mut seen, mut ap) = (0.0, 0.0, 0.0);
    for (start, end) in tie_groups(&order, scores) {
        let dtp = order[start..end]
            .iter()
            .filter(|&&i| labels[i] == 1.0)
            .count() as f64;
        tp += dtp;
        seen += (end - start) as f64;
        ap += (dtp / positives) * (tp / seen);
    }
    Ok(ap)
}

/// A confidence interval from a bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConfidenceInterval {
    pub lower: f64,
    pub upper: f64,
    /// Confidence level, e.g. `0.95`.
    pub confidence: f64,
    /// Bootstrap resamples it was computed from.
    pub resamples: usize,
}

/// Percentile-bootstrap interval of the ROC AUC.
///
/// Each resample draws, with replacement, as many churners from the churners and as many
/// stayers from the stayers as the test set has (a stratified bootstrap, so every resample has
/// both classes and an AUC); the interval is the `(1−c)/2` and `(1+c)/2` quantiles (linear
/// interpolation) of the resampled AUCs. Resample `r` uses a ChaCha8 stream `r` seeded with
/// `seed`, so the result does not depend on the number of threads. O(resamples · n) after one sort.
pub fn bootstrap_auc_ci(
    scores: &[f64],
    labels: &[f64],
    n_resamples: usize,
    confidence: f64,
    seed: u64,
) -> Result<ConfidenceInterval, EvalError> {
    check_inputs(scores, labels)?.need_both("bootstrap ROC AUC")?;
    check_bootstrap("n_resamples", n_resamples, confidence)?;
    let order = descending_order(scores);
    let groups = tie_groups(&order, scores);
    let churner = ranked_churners(&order, labels);
    // Positions (in ranked order) of churners and of stayers: resampling positions keeps the
    // AUC walk sequential in memory.
    let (pos, neg): (Vec<usize>, Vec<usize>) = (0..churner.len()).partition(|&k| churner[k]);
    let mut aucs: Vec<f64> = (0..n_resamples)
        .into_par_iter()
        .map(|r| {
            let weights = stratified_resample(seed, r, &pos, &neg, churner.len());
            auc_ranked(&groups, &churner, Some(&weights))
        })
        .collect();
    aucs.sort_by(f64::total_cmp);
    let alpha = (1.0 - confidence) / 2.0;
    Ok(ConfidenceInterval {
        lower: quantile_sorted(&aucs, alpha),
        upper: quantile_sorted(&aucs, 1.0 - alpha),
        confidence,
        resamples: n_resamples,
    })
}

/// Checks a bootstrap's resample count (reported under `resamples_name`) and confidence level.
pub(crate) fn check_bootstrap(
    resamples_name: &'static str,
    resamples: usize,
    confidence: f64,
) -> Result<(), EvalError> {
    if resamples == 0 {
        return Err(EvalError::InvalidParameter {
            name: resamples_name,
            value: 0.0,
            reason: "a bootstrap needs at least one resample",
        });
    }
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(EvalError::InvalidParameter {
            name: "confidence",
            value: confidence,
            reason: "must lie strictly between 0 and 1",
        });
    }
    Ok(())
}

/// Weights (draw counts) of resample `r` of a stratified bootstrap over `n` items: as many
/// draws with replacement from `pos` as it holds, likewise from `neg`. Deterministic for
/// (`seed`, `r`): resample `r` uses ChaCha8 stream `r`, so results do not depend on threads.
pub(crate) fn stratified_resample(
    seed: u64,
    r: usize,
    pos: &[usize],
    neg: &[usize],
    n: usize,
) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(r as u64);
    let mut weights = vec![0u32; n];
    for class in [pos, neg] {
        let len = class.len() as u128;
        for _ in 0..class.len() {
            // Multiply-shift maps a uniform u64 onto 0..len (bias ≤ len / 2⁶⁴).
            let pick = ((u128::from(rng.next_u64()) * len) >> 64) as usize;
            weights[class[pick]] += 1;
        }
    }
    weights
}

/// Quantile `q` of non-empty sorted `values`, linear interpolation between order statistics.
pub(crate) fn quantile_sorted(values: &[f64], q: f64) -> f64 {
    let h = q * (values.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(values.len() - 1);
    values[lo] + (h - lo as f64) * (values[hi] - values[lo])
}

/// One point of the ROC curve: rates of "score ≥ threshold".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RocPoint {
    pub fpr: f64,
    pub tpr: f64,
    /// `None` for the origin (nobody flagged).
    pub threshold: Option<f64>,
}

/// One point of the precision–recall curve for "score ≥ threshold".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrPoint {
    pub recall: f64,
    pub precision: f64,
    /// `None` for sklearn's anchor point (recall 0, precision 1).
    pub threshold: Option<f64>,
}

/// Keeps at most `max_points` (≥ 2) of `points`, evenly spaced by index, first and last kept.
fn downsample<T: Copy>(points: Vec<T>, max_points: usize) -> Vec<T> {
    let max_points = max_points.max(2);
    if points.len() <= max_points {
        return points;
    }
    let last = points.len() - 1;
    (0..max_points)
        .map(|j| points[(j * last + (max_points - 1) / 2) / (max_points - 1)])
        .collect()
}

/// Cumulative (threshold, true positives, false positives) after each tie group.
fn cumulative_counts(scores: &[f64], labels: &[f64]) -> Vec<(f64, f64, f64)> {
    let order = descending_order(scores);
    let (mut tp, mut fp) = (0.0, 0.0);
    tie_groups(&order, scores)
        .into_iter()
        .map(|(start, end)| {
            for &i in &order[start..end] {
                if labels[i] == 1.0 {
                    tp += 1.0;
                } else {
                    fp += 1.0;
                }
            }
            (scores[order[start]], tp, fp)
        })
        .collect()
}

/// The ROC curve from (0, 0) to (1, 1), one point per distinct score, down-sampled to at most
/// `max_points`.
pub fn roc_curve(
    scores: &[f64],
    labels: &[f64],
    max_points: usize,
) -> Result<Vec<RocPoint>, EvalError> {
    let counts = check_inputs(scores, labels)?.need_both("ROC curve")?;
    let (p, n) = (counts.positives as f64, counts.negatives as f64);
    let mut points = vec![RocPoint {
        fpr: 0.0,
        tpr: 0.0,
        threshold: None,
    }];
    points.extend(
        cumulative_counts(scores, labels)
            .into_iter()
            .map(|(t, tp, fp)| RocPoint {
                fpr: fp / n,
                tpr: tp / p,
                threshold: Some(t),
            }),
    );
    Ok(downsample(points, max_points))
}

/// The precision–recall curve by ascending recall: sklearn's anchor (recall 0, precision 1),
/// then one point per distinct score from the highest down, down-sampled to at most `max_points`.
pub fn pr_curve(
    scores: &[f64],
    labels: &[f64],
    max_points: usize,
) -> Result<Vec<PrPoint>, EvalError> {
    let counts = check_inputs(scores, labels)?.need_both("PR curve")?;
    let p = counts.positives as f64;
    let mut points = vec![PrPoint {
        recall: 0.0,
        precision: 1.0,
        threshold: None,
    }];
    points.extend(
        cumulative_counts(scores, labels)
            .into_iter()
            .map(|(t, tp, fp)| PrPoint {
                recall: tp / p,
                precision: tp / (tp + fp),
                threshold: Some(t),
            }),
    );
    Ok(downsample(points, max_points))
}

/// Targeting the top `share` of customers by score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GainsPoint {
    /// Requested share of customers, in (0, 1].
    pub share: f64,
    /// Customers targeted: `ceil(share · n)`.
    pub rows: usize,
    /// Score of the last customer targeted (target "score ≥ threshold").
    pub threshold: f64,
    /// Churners among them (expected value when a tie straddles the cut).
    pub positives: f64,
    /// `positives / all churners`: the share of churners reached.
    pub capture_rate: f64,
    /// `positives / rows`.
    pub precision: f64,
    /// `precision / base rate`: how many times better than targeting at random.
    pub lift: f64,
}

fn gains_points(
    scores: &[f64],
    labels: &[f64],
    shares: &[f64],
) -> Result<Vec<GainsPoint>, EvalError> {
    let counts = check_inputs(scores, labels)?;
    if counts.positives == 0 {
        return Err(EvalError::SingleClass {
            metric: "lift and capture",
            positives: 0,
            negatives: counts.negatives,
        });
    }
    if let Some(&bad) = shares.iter().find(|&&s| !(s > 0.0 && s <= 1.0)) {
        return Err(EvalError::InvalidParameter {
            name: "share",
            value: bad,
            reason: "a share of customers must lie in (0, 1]",
        });
    }
    let order = descending_order(scores);
    let groups = tie_groups(&order, scores);
    let ks: Vec<usize> = shares
        .iter()
        .map(|&s| rows_for_share(s, counts.n))
        .collect();
    let mut sorted_ks = ks.clone();
    sorted_ks.sort_unstable();
    let sums = expected_top_sums(&order, &groups, labels, &sorted_ks);
    let (total, base_rate) = (
        counts.positives as f64,
        counts.positives as f64 / counts.n as f64,
    );
    Ok(shares
        .iter()
        .zip(&ks)
        .map(|(&share, &rows)| {
            let positives = sums[sorted_ks.partition_point(|&k| k < rows)];
            let precision = positives / rows as f64;
            GainsPoint {
                share,
                rows,
                threshold: scores[order[rows - 1]],
                positives,
                capture_rate: positives / total,
                precision,
                lift: precision / base_rate,
            }
        })
        .collect())
}

/// Lift and capture rate when targeting the top `share` (in (0, 1]) of customers by score.
/// Needs at least one positive.
pub fn gains_at(scores: &[f64], labels: &[f64], share: f64) -> Result<GainsPoint, EvalError> {
    let mut points = gains_points(scores, labels, &[share])?;
    points.pop().ok_or(EvalError::Empty)
}

/// The cumulative gains curve at shares `1/n_points, 2/n_points, …, 1` (10 = deciles,
/// 100 = percentiles); `capture_rate` against `share` is the gains chart, `lift` the lift chart.
pub fn gains_curve(
    scores: &[f64],
    labels: &[f64],
    n_points: usize,
) -> Result<Vec<GainsPoint>, EvalError> {
    if n_points == 0 {
        return Err(EvalError::InvalidParameter {
            name: "n_points",
            value: 0.0,
            reason: "a gains curve needs at least one point",
        });
    }
    let shares: Vec<f64> = (1..=n_points).map(|i| i as f64 / n_points as f64).collect();
    gains_points(scores, labels, &shares)
}

#[cfg(test)]
mod tests {
    use super::super::tests::calibrated_sample;
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn auc_on_hand_cases() {
        // Pairs (pos, neg): (0.35 vs 0.1) win, (0.35 vs 0.4) lose, (0.8 vs both) win → 3/4.
        let auc = roc_auc(&[0.1, 0.4, 0.35, 0.8], &[0.0, 0.0, 1.0, 1.0]).expect("auc");
        assert!(close(auc, 0.75), "{auc}");
        // A tie between a positive and a negative counts one half:
        // pairs (0.5 vs 0.5) ½, (0.5 vs 0.2) 1, (0.9 vs 0.5) 1, (0.9 vs 0.2) 1 → 3.5/4.
        let auc = roc_auc(&[0.5, 0.5, 0.2, 0.9], &[1.0, 0.0, 0.0, 1.0]).expect("auc");
        assert!(close(auc, 0.875), "{auc}");
    }

    #[test]
    fn auc_perfect_inverted_constant() {
        let labels = [0.0, 0.0, 1.0, 1.0, 0.0, 1.0];
        let perfect = [0.1, 0.2, 0.8, 0.9, 0.3, 0.7];
        let inverted: Vec<f64> = perfect.iter().map(|s| 1.0 - s).collect();
        assert!(close(roc_auc(&perfect, &labels).expect("auc"), 1.0));
        assert!(close(roc_auc(&inverted, &labels).expect("auc"), 0.0));
        assert!(close(roc_auc(&[0.4; 6], &labels).expect("auc"), 0.5));
    }

    #[test]
    fn average_precision_on_hand_cases() {
        // Descending: 0.9(1) 0.8(0) 0.7(1) 0.6(0) 0.5(1), three positives.
        // Thresholds adding a positive: 0.9 → P=1, ΔR=1/3; 0.7 → P=2/3, ΔR=1/3;
        // 0.5 → P=3/5, ΔR=1/3. AP = 1/3 + 2/9 + 1/5 = 34/45 ≈ 0.755556
        // (sklearn: average_precision_score([1,0,1,0,1], [.9,.8,.7,.6,.5]) = 0.7555…).
        let ap = pr_auc(&[0.9, 0.8, 0.7, 0.6, 0.5], &[1.0, 0.0, 1.0, 0.0, 1.0]).expect("ap");
        assert!(close(ap, 34.0 / 45.0), "{ap}");
        // With a tie at the top: threshold 0.8 flags {1, 0} → P=1/2, R=1/2; threshold 0.4 adds
        // the other positive → P=2/3, R=1. AP = 1/2·1/2 + 1/2·2/3 = 7/12 (sklearn: 0.58333).
        let ap = pr_auc(&[0.8, 0.8, 0.4, 0.2], &[1.0, 0.0, 1.0, 0.0]).expect("ap");
        assert!(close(ap, 7.0 / 12.0), "{ap}");
        // Perfect ranking → 1.
        let ap = pr_auc(&[0.9, 0.8, 0.1], &[1.0, 1.0, 0.0]).expect("ap");
        assert!(close(ap, 1.0));
    }

    /// Ten rows by descending score; positives at ranks 1, 2, 4, 7 (four of ten, base rate 0.4).
    fn ten_rows() -> (Vec<f64>, Vec<f64>) {
        let scores = vec![0.95, 0.9, 0.8, 0.75, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1];
        let labels = vec![1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0];
        (scores, labels)
    }

    #[test]
    fn lift_and_capture_on_ten_rows() {
        let (scores, labels) = ten_rows();
        // Top 10% = 1 row, a churner: precision 1, lift 1/0.4 = 2.5, capture 1/4.
        let g = gains_at(&scores, &labels, 0.10).expect("gains");
        assert_eq!(g.rows, 1);
        assert!(close(g.positives, 1.0) && close(g.lift, 2.5) && close(g.capture_rate, 0.25));
        assert_eq!(g.threshold, 0.95);
        // Top 20% = 2 rows, both churners: lift 2.5, capture 0.5.
        let g = gains_at(&scores, &labels, 0.20).expect("gains");
        assert!(close(g.lift, 2.5) && close(g.capture_rate, 0.5));
        // Top 5% of 10 rows rounds up to 1 row.
        assert_eq!(gains_at(&scores, &labels, 0.05).expect("gains").rows, 1);
        // Top 50% = 5 rows, 3 churners: precision 0.6, lift 1.5, capture 0.75.
        let g = gains_at(&scores, &labels, 0.5).expect("gains");
        assert!(close(g.precision, 0.6) && close(g.lift, 1.5) && close(g.capture_rate, 0.75));
        // Deciles: capture 1/4, 2/4, 2/4, 3/4, 3/4, 3/4, 1, 1, 1, 1.
        let deciles = gains_curve(&scores, &labels, 10).expect("curve");
        let capture: Vec<f64> = deciles.iter().map(|g| g.capture_rate * 4.0).collect();
        assert_eq!(
            capture,
            vec![1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 4.0, 4.0, 4.0]
        );
        assert!(close(deciles[9].lift, 1.0));
    }

    #[test]
    fn ties_at_the_cut_count_in_expectation() {
        // Four rows share the top score, two of them churners; top 25% = 1 row → ½ churner.
        let scores = [0.7, 0.7, 0.7, 0.7, 0.1, 0.1, 0.1, 0.1];
        let labels = [1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let g = gains_at(&scores, &labels, 0.125).expect("gains");
        assert!(close(g.positives, 0.5), "{}", g.positives);
        // Reordering the tied rows changes nothing.
        let labels2 = [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(gains_at(&scores, &labels2, 0.125).expect("gains"), g);
    }

    #[test]
    fn gains_refuse_bad_shares() {
        let (scores, labels) = ten_rows();
        assert!(matches!(
            gains_at(&scores, &labels, 0.0),
            Err(EvalError::InvalidParameter { name: "share", .. })
        ));
        assert!(matches!(
            gains_at(&scores, &labels, 1.5),
            Err(EvalError::InvalidParameter { .. })
        ));
    }

    #[test]
    fn roc_and_pr_curves_on_a_hand_case() {
        let roc = roc_curve(&[0.1, 0.4, 0.35, 0.8], &[0.0, 0.0, 1.0, 1.0], 200).expect("roc");
        let xy: Vec<(f64, f64)> = roc.iter().map(|p| (p.fpr, p.tpr)).collect();
        assert_eq!(
            xy,
            vec![(0.0, 0.0), (0.0, 0.5), (0.5, 0.5), (0.5, 1.0), (1.0, 1.0)]
        );
        assert_eq!(roc[1].threshold, Some(0.8));
        let pr = pr_curve(&[0.1, 0.4, 0.35, 0.8], &[0.0, 0.0, 1.0, 1.0], 200).expect("pr");
        let rp: Vec<(f64, f64)> = pr.iter().map(|p| (p.recall, p.precision)).collect();
        assert_eq!(
            rp,
            vec![
                (0.0, 1.0),
                (0.5, 1.0),
                (0.5, 0.5),
                (1.0, 2.0 / 3.0),
                (1.0, 0.5)
            ]
        );
    }

    #[test]
    fn curves_are_downsampled_keeping_the_ends() {
        let (scores, labels) = calibrated_sample(5000, 3);
        let roc = roc_curve(&scores, &labels, 200).expect("roc");
        assert_eq!(roc.len(), 200);
        assert_eq!((roc[0].fpr, roc[0].tpr), (0.0, 0.0));
        assert_eq!((roc[199].fpr, roc[199].tpr), (1.0, 1.0));
        assert!(roc
            .windows(2)
            .all(|w| w[0].fpr <= w[1].fpr && w[0].tpr <= w[1].tpr));
    }

    #[test]
    fn bootstrap_interval_contains_the_auc_is_seeded_and_narrows_with_data() {
        let (scores, labels) = calibrated_sample(300, 11);
        let auc = roc_auc(&scores, &labels).expect("auc");
        let ci = bootstrap_auc_ci(&scores, &labels, 500, 0.95, 1).expect("ci");
        assert!(ci.lower < auc && auc < ci.upper, "{ci:?} vs {auc}");
        assert_eq!(ci.resamples, 500);
        assert_eq!(
            bootstrap_auc_ci(&scores, &labels, 500, 0.95, 1).expect("ci"),
            ci
        );
        assert_ne!(
            bootstrap_auc_ci(&scores, &labels, 500, 0.95, 2).expect("ci"),
            ci
        );
        let (big_s, big_l) = calibrated_sample(6000, 11);
        let big = bootstrap_auc_ci(&big_s, &big_l, 500, 0.95, 1).expect("ci");
        // Width shrinks like 1/√n: 20× the data → about 1/4.5 the width.
        assert!(
            big.upper - big.lower < (ci.upper - ci.lower) / 2.0,
            "{big:?} vs {ci:?}"
        );
        // A 50% interval sits inside the 95% one.
        let half = bootstrap_auc_ci(&scores, &labels, 500, 0.5, 1).expect("ci");
        assert!(ci.lower <= half.lower && half.upper <= ci.upper);
    }

    #[test]
    fn bootstrap_refuses_bad_parameters() {
        let (s, l) = ten_rows();
        assert!(matches!(
            bootstrap_auc_ci(&s, &l, 0, 0.95, 1),
            Err(EvalError::InvalidParameter {
                name: "n_resamples",
                ..
            })
        ));
        assert!(matches!(
            bootstrap_auc_ci(&s, &l, 10, 1.0, 1),
            Err(EvalError::InvalidParameter {
                name: "confidence",
                ..
            })
        ));
    }

    #[test]
    fn rows_for_share_rounds_up() {
        assert_eq!(rows_for_share(0.1, 10), 1);
        assert_eq!(rows_for_share(0.3, 10), 3); // 0.3·10 = 3.0000000000000004
        assert_eq!(rows_for_share(0.05, 10), 1);
        assert_eq!(rows_for_share(0.01, 1000), 10);
        assert_eq!(rows_for_share(1.0, 7), 7);
    }
}
