//! What the linfa-based models need before they see a number: no missing values. Learned on the
//! training rows and saved with the model: the median of each feature (missing = NaN or ±∞ →
//! median) and, for the logistic model, a `<name>__missing` indicator for each feature that had
//! missing values in training, then standardisation (mean 0, standard deviation 1; a constant
//! column keeps scale 1, as sklearn's `StandardScaler`).

use serde::{Deserialize, Serialize};

use crate::training::encode::FeatureMatrix;

/// Suffix of a missing-value indicator column.
pub const MISSING_SUFFIX: &str = "__missing";

/// Median of the finite values (0 when there are none); `buf` is scratch space.
pub(crate) fn median(values: &[f64], buf: &mut Vec<f64>) -> f64 {
    buf.clear();
    buf.extend(values.iter().copied().filter(|v| v.is_finite()));
    let n = buf.len();
    if n == 0 {
        return 0.0;
    }
    let mid = n / 2;
    let (lower, m, _) = buf.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *m;
    if n % 2 == 1 {
        upper
    } else {
        let below = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (below + upper) / 2.0
    }
}

/// Median of every column of a matrix (parallel over columns).
pub(crate) fn column_medians(x: &FeatureMatrix) -> Vec<f64> {
    use rayon::prelude::*;
    x.columns
        .par_iter()
        .map_init(Vec::new, |buf, c| median(c, buf))
        .collect()
}

/// The value a linfa model sees: finite values as they are, anything else the median.
#[inline]
pub(crate) fn impute(v: f64, median: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        median
    }
}

/// Median imputation, missing indicators and standardisation, as fitted on training rows.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(crate) struct Standardiser {
    /// Median of each input feature.
    pub medians: Vec<f64>,
    /// Input features that had a missing value in training; each gets an indicator column
    /// after the imputed features, in this order.
    pub indicators: Vec<usize>,
    /// Mean of each output column (imputed features, then indicators).
    pub mean: Vec<f64>,
    /// Standard deviation of each output column (1 for constant columns).
    pub scale: Vec<f64>,
}

impl Standardiser {
    /// Fits on the training matrix.
    pub fn fit(x: &FeatureMatrix) -> Standardiser {
        use rayon::prelude::*;
        let medians = column_medians(x);
        let indicators: Vec<usize> = (0..x.n_features())
            .filter(|&j| x.columns[j].iter().any(|v| !v.is_finite()))
            .collect();
        let mut s = Standardiser {
            medians,
            indicators,
            mean: Vec::new(),
            scale: Vec::new(),
        };
        let n = x.n_rows().max(1) as f64;
        let stats: Vec<(f64, f64)> = (0..s.n_outputs())
            .into_par_iter()
            .map(|k| {
                let mean = (0..x.n_rows()).map(|r| s.output(x, r, k)).sum::<f64>() / n;
                let var = (0..x.n_rows())
                    .map(|r| (s.output(x, r, k) - mean).powi(2))
                    .sum::<f64>()
                    / n;
                let sd = var.sqrt();
                (
                    mean,
                    if sd > 1e-12 && sd.is_finite() {
                        sd
                    } else {
                        1.0
                    },
                )
            })
            .collect();
        (s.mean, s.scale) = stats.into_iter().unzip();
        s
    }

    /// Number of output columns (features + indicators).
    pub fn n_outputs(&self) -> usize {
        self.medians.len() + self.indicators.len()
    }

    /// Names of the output columns.
    pub fn output_names(&self, names: &[String]) -> Vec<String> {
        names
            .iter()
            .cloned()
            .chain(
                self.indicators
                    .iter()
                    .map(|&j| format!("{}{MISSING_SUFFIX}", names[j])),
            )
            .collect()
    }

    /// Output column `k` of row `r` before standardisation.
    #[inline]
    pub fn output(&self, x: &FeatureMatrix, r: usize, k: usize) -> f64 {
        let p = self.medians.len();
        if k < p {
            impute(x.columns[k][r], self.medians[k])
        } else {
            let j = self.indicators[k - p];
            f64::from(u8::from(!x.columns[j][r].is_finite()))
        }
    }

    /// Output column `k` of row `r`, standardised.
    #[inline]
    pub fn standardised(&self, x: &FeatureMatrix, r: usize, k: usize) -> f64 {
        (self.output(x, r, k) - self.mean[k]) / self.scale[k]
    }

    /// The input value behind output column `k` of row `r`, as a reason shows it: the raw
    /// feature value (missing → `None`), or 1/0 for an indicator.
    pub fn shown_value(&self, x: &FeatureMatrix, r: usize, k: usize) -> Option<f64> {
        if k < self.medians.len() {
            let v = x.columns[k][r];
            v.is_finite().then_some(v)
        } else {
            Some(self.output(x, r, k))
        }
    }

    /// Checks the lengths against the number of input features.
    pub fn validate(&self, n_features: usize) -> Result<(), String> {
        if self.medians.len() != n_features {
            return Err(format!(
                "{} medians for {n_features} features",
                self.medians.len()
            ));
        }
        if let Some(&j) = self.indicators.iter().find(|&&j| j >= n_features) {
            return Err(format!("missing indicator for feature {j} of {n_features}"));
        }
        let q = self.n_outputs();
        if self.mean.len() != q || self.scale.len() != q {
            return Err(format!(
                "{} means and {} scales for {q} columns",
                self.mean.len(),
                self.scale.len()
            ));
        }
        if self.scale.iter().any(|s| !(s.is_finite() && *s > 0.0))
            || self
                .mean
                .iter()
                .chain(&self.medians)
                .any(|v| !v.is_finite())
        {
            return Err("a mean, median or scale is not a finite number (scale > 0)".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_ignores_missing_and_averages_the_middle_pair() {
        let mut buf = Vec::new();
        assert_eq!(median(&[3.0, f64::NAN, 1.0, 2.0], &mut buf), 2.0);
        assert_eq!(median(&[4.0, 1.0, f64::INFINITY, 3.0, 2.0], &mut buf), 2.5);
        assert_eq!(median(&[f64::NAN], &mut buf), 0.0);
    }

    #[test]
    fn standardiser_imputes_adds_indicators_and_scales() {
        let x = FeatureMatrix::new(
            vec!["a".into(), "b".into()],
            vec![vec![1.0, f64::NAN, 3.0, 5.0], vec![2.0, 2.0, 2.0, 2.0]],
        )
        .expect("matrix");
        let s = Standardiser::fit(&x);
        assert_eq!(s.medians, vec![3.0, 2.0]);
        assert_eq!(s.indicators, vec![0]);
        assert_eq!(s.output_names(&x.names), vec!["a", "b", "a__missing"]);
        // a imputed: 1, 3, 3, 5 → mean 3, population sd sqrt(2)
        assert!((s.mean[0] - 3.0).abs() < 1e-12);
        assert!((s.scale[0] - 2f64.sqrt()).abs() < 1e-12);
        // b constant: scale 1
        assert_eq!(s.scale[1], 1.0);
        // indicator 0,1,0,0: mean 0.25
        assert!((s.mean[2] - 0.25).abs() < 1e-12);
        assert!((s.standardised(&x, 0, 0) + 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(s.shown_value(&x, 1, 0), None);
        assert_eq!(s.shown_value(&x, 1, 2), Some(1.0));
        assert!(s.validate(2).is_ok());
        assert!(s.validate(3).is_err());
    }
}
