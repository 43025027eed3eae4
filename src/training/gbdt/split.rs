//! Best split of a leaf from its histograms: for each sampled feature, scan the bins left to
//! right with the missing-value bin once on the right and once on the left, and keep the split
//! with the largest gain `G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)` that leaves both children
//! enough rows and hessian. Row counts of candidate children are estimated from their hessian
//! sums (`count ≈ H_child · count/H`), as LightGBM does, since histograms hold no counts.

use super::binning::MISSING_BIN;
use super::histogram::FeatureHist;

/// Split constraints taken from the parameters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SplitRules {
    pub(crate) min_data_in_leaf: usize,
    pub(crate) min_sum_hessian: f64,
    pub(crate) lambda_l2: f64,
    pub(crate) min_gain: f64,
}

/// A chosen split: rows with bin `<= bin` go left; missing values go left iff `default_left`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Split {
    pub(crate) feature: usize,
    pub(crate) bin: u8,
    pub(crate) default_left: bool,
    pub(crate) gain: f64,
    pub(crate) left_g: f64,
    pub(crate) left_h: f64,
    pub(crate) right_g: f64,
    pub(crate) right_h: f64,
}

/// The leaf whose split is searched.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LeafSums {
    pub(crate) g: f64,
    pub(crate) h: f64,
    pub(crate) count: usize,
}

/// Leaf output before shrinkage: `−G/(H+λ)` (0 if the denominator is 0).
pub(crate) fn leaf_output(g: f64, h: f64, lambda: f64) -> f64 {
    let d = h + lambda;
    if d > 0.0 {
        -g / d
    } else {
        0.0
    }
}

fn score(g: f64, h: f64, lambda: f64) -> f64 {
    let d = h + lambda;
    if d > 0.0 {
        g * g / d
    } else {
        0.0
    }
}

/// The best split over `features`, or `None` if no split gains more than `min_gain`. Ties keep
/// the first candidate in the order (lowest feature, missing-right before missing-left, lowest
/// bin), so the choice is deterministic.
pub(crate) fn best_split(
    hist: &[FeatureHist],
    features: &[usize],
    n_bins: &[usize],
    leaf: LeafSums,
    rules: &SplitRules,
) -> Option<Split> {
    let per_feature = |&f: &usize| best_for_feature(&hist[f], f, n_bins[f], leaf, rules);
    let better = |a: Option<Split>, b: Option<Split>| match (a, b) {
        (Some(x), Some(y)) => {
            if y.gain > x.gain || (y.gain == x.gain && y.feature < x.feature) {
                Some(y)
            } else {
                Some(x)
            }
        }
        (x, None) => x,
        (None, y) => y,
    };
    // Sequential on purpose: a leaf's scan is ~25k cheap steps, less than the cost of waking
    // a second thread on a busy machine.
    features.iter().map(per_feature).fold(None, better)
}

fn best_for_feature(
    fh: &FeatureHist,
    feature: usize,
    n_bins: usize,
    leaf: LeafSums,
    rules: &SplitRules,
) -> Option<Split> {
    let lambda = rules.lambda_l2;
    let parent = score(leaf.g, leaf.h, lambda);
    let cnt_factor = if leaf.h > 0.0 {
        leaf.count as f64 / leaf.h
    } else {
        0.0
    };
    let min_data = rules.min_data_in_leaf as f64;
    let fits = |h: f64| h >= rules.min_sum_hessian && (h * cnt_factor).round() >= min_data;
    let missing = fh[MISSING_BIN as usize];
    let has_missing = missing.h > 0.0 || missing.g != 0.0;

    let mut best: Option<Split> = None;
    let mut best_gain = rules.min_gain;
    // Missing on the left (only if present), then on the right. With missing on the right the
    // last bin is a candidate too: it separates missing from every value.
    let directions: &[bool] = if has_missing {
        &[false, true]
    } else {
        &[false]
    };
    for &missing_left in directions {
        let last = if missing_left || !has_missing {
            n_bins.saturating_sub(1)
        } else {
            n_bins
        };
        let (mut lg, mut lh) = if missing_left {
            (missing.g, missing.h)
        } else {
            (0.0, 0.0)
        };
        for (t, s) in fh[..last].iter().enumerate() {
            lg += s.g;
            lh += s.h;
            let rh = leaf.h - lh;
            if !fits(lh) || !fits(rh) {
                continue;
            }
            let rg = leaf.g - lg;
            let gain = score(lg, lh, lambda) + score(rg, rh, lambda) - parent;
            if gain > best_gain {
                best_gain = gain;
                let default_left = if has_missing { missing_left } else { lh >= rh };
                best = Some(Split {
                    feature,
                    bin: t as u8,
                    default_left,
                    gain,
                    left_g: lg,
                    left_h: lh,
                    right_g: rg,
                    right_h: rh,
                });
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::super::histogram::{BinStat, EMPTY_HIST};
    use super::*;

    fn rules(min_data: usize) -> SplitRules {
        SplitRules {
            min_data_in_leaf: min_data,
            min_sum_hessian: 1e-3,
            lambda_l2: 0.0,
            min_gain: 0.0,
        }
    }

    #[test]
    fn finds_the_separating_bin_and_its_gain() {
        // 4 bins × 10 rows, hessian 1 per row: bins 0,1 have gradient −1 per row, bins 2,3 +1.
        let mut h = EMPTY_HIST;
        for (b, g) in [(0, -10.0), (1, -10.0), (2, 10.0), (3, 10.0)] {
            h[b] = BinStat { g, h: 10.0 };
        }
        let leaf = LeafSums {
            g: 0.0,
            h: 40.0,
            count: 40,
        };
        let s = best_split(&[h], &[0], &[4], leaf, &rules(1)).expect("split");
        assert_eq!((s.feature, s.bin), (0, 1));
        // 20²/20 + 20²/20 − 0 = 40
        assert!((s.gain - 40.0).abs() < 1e-12);
        assert_eq!(
            (s.left_g, s.left_h, s.right_g, s.right_h),
            (-20.0, 20.0, 20.0, 20.0)
        );
        // min_data_in_leaf 21 forbids both 20/20 and every other cut.
        assert!(best_split(&[h], &[0], &[4], leaf, &rules(21)).is_none());
    }

    #[test]
    fn missing_values_go_where_they_help() {
        // Values all alike (one bin, gradient 0); missing rows carry the signal.
        let mut h = EMPTY_HIST;
        h[0] = BinStat { g: 0.0, h: 30.0 };
        h[MISSING_BIN as usize] = BinStat { g: 10.0, h: 10.0 };
        let leaf = LeafSums {
            g: 10.0,
            h: 40.0,
            count: 40,
        };
        let s = best_split(&[h], &[0], &[1], leaf, &rules(5)).expect("split");
        // The only cut: every value left, missing right.
        assert_eq!((s.bin, s.default_left), (0, false));
        assert!((s.gain - (100.0 / 10.0 - 100.0 / 40.0)).abs() < 1e-12);
    }
}
