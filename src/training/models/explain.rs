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
    let mut idx: Vec<usize> = (0..phi.len()).filter(|&k| phi[k] > 0.0).collect();
    idx.sort_by(|&a, &b| phi[b].total_cmp(&phi[a]).then(a.cmp(&b)));
    idx.truncate(top_k);
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_positive_keeps_only_risk_raising_features_in_order() {
        let phi = [0.1, -0.5, 0.3, 0.0, 0.3, 0.05];
        assert_eq!(top_positive(&phi, 3), vec![2, 4, 0]);
        assert_eq!(top_positive(&phi, 10), vec![2, 4, 0, 5]);
        assert_eq!(top_positive(&[-1.0, 0.0], 3), Vec::<usize>::new());
    }
}
