//! Reasons: per-row feature contributions ranked into the few that push this customer's churn
//! risk up the most.

use serde::{Deserialize, Serialize};

/// One reason a customer's risk is high: an encoded feature, the customer's raw value of it
/// (`None` when missing) and how much it raises the score (in the model's contribution scale,
/// see [`ContributionScale`]).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Reason {
    pub feature: String,
    pub value: Option<f64>,
    pub contribution: f64,
}

/// The unit of contributions.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ContributionScale {
    /// Log-odds of the uncalibrated probability (logistic, GBDT).
    LogOdds,
    /// The uncalibrated probability itself (decision tree, random forest).
    Probability,
}

/// How the contributions of tree models are computed. Logistic contributions are exact and
/// linear whichever is asked.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Attribution {
    /// Exact TreeSHAP: Shapley values, O(leaves · depth²) per tree and row.
    #[default]
    Exact,
    /// Path attribution (Saabas, [`crate::training::gbdt::path`]): one walk per tree and row,
    /// additive like TreeSHAP but not Shapley-consistent. For explaining millions of rows.
    Path,
}

/// Every contribution of every row: `values[r * names.len() + k]` is the contribution of
/// `names[k]` to row `r`, and `expected_value + Σ_k values[r, k]` is row `r`'s raw score
/// (log-odds or probability, see `scale`) before calibration.
#[derive(Clone, Debug, PartialEq)]
pub struct Contributions {
    pub names: Vec<String>,
    pub scale: ContributionScale,
    pub expected_value: f64,
    pub values: Vec<f64>,
}

impl Contributions {
    pub fn n_rows(&self) -> usize {
        self.values.len().checked_div(self.names.len()).unwrap_or(0)
    }

    /// The contributions of row `r` (`None` if there is no such row).
    pub fn row(&self, r: usize) -> Option<&[f64]> {
        let k = self.names.len();
        self.values.get(r * k..(r + 1) * k)
    }

    /// `expected_value + Σ contributions` of row `r`: the raw score.
    pub fn total(&self, r: usize) -> Option<f64> {
        self.row(r)
            .map(|c| self.expected_value + c.iter().sum::<f64>())
    }
}

/// The indices of the `top_k` largest positive contributions, largest first (ties: lower
/// index first).
pub(crate) fn top_positive(phi: &[f64], top_k: usize) -> Vec<usize> {
    // One pass keeping the best `top_k` in order (k is a handful, features dozens): no sort,
    // one allocation. Scanning in index order and inserting after equal values keeps ties by
    // lower index first.
    let mut top: Vec<usize> = Vec::with_capacity(top_k);
    if top_k == 0 {
        return top;
    }
    for (k, &v) in phi.iter().enumerate() {
        if v.is_nan() || v <= 0.0 || (top.len() == top_k && v <= phi[top[top_k - 1]]) {
            continue;
        }
        let at = top.partition_point(|&j| phi[j] >= v);
        if top.len() == top_k {
            top.pop();
        }
        top.insert(at, k);
    }
    top
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_positive_matches_a_full_sort_with_ties_by_index() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for _ in 0..2000 {
            let n = rng.random_range(0..12);
            // Few distinct values so ties are common; some NaN and non-positive.
            let phi: Vec<f64> = (0..n)
                .map(|_| match rng.random_range(0..6) {
                    0 => f64::NAN,
                    1 => -1.0,
                    2 => 0.0,
                    v => f64::from(v),
                })
                .collect();
            let k = rng.random_range(0..5);
            let mut want: Vec<usize> = (0..n).filter(|&j| phi[j] > 0.0).collect();
            want.sort_by(|&a, &b| phi[b].total_cmp(&phi[a]).then(a.cmp(&b)));
            want.truncate(k);
            assert_eq!(top_positive(&phi, k), want, "{phi:?} k={k}");
        }
    }

    #[test]
    fn top_positive_keeps_only_risk_raising_features_in_order() {
        let phi = [0.1, -0.5, 0.3, 0.0, 0.3, 0.05];
        assert_eq!(top_positive(&phi, 3), vec![2, 4, 0]);
        assert_eq!(top_positive(&phi, 10), vec![2, 4, 0, 5]);
        assert_eq!(top_positive(&[-1.0, 0.0], 3), Vec::<usize>::new());
    }
}
