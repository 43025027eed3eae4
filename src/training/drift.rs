//! Feature drift: how far today's feature values have moved from the ones a model was trained
//! on, measured by the Population Stability Index (PSI) per feature.
//!
//! At training time [`DriftProfile::fit`] records, for every model input, the decile bin edges of
//! the training values and the share of training rows in each bin (plus the share missing). The
//! profile is stored inside the model. Later [`DriftProfile::compare`] bins today's values with
//! the same edges and computes
//! `PSI = Σ_bins (actual − expected) · ln(actual / expected)`, shares floored at [`PSI_FLOOR`]
//! so an empty bin does not make it infinite. Rules of thumb: below 0.1 stable, 0.1–0.25 a
//! moderate shift, above 0.25 a large one (the default retrain threshold). `docs/training.md`
//! writes it out with an example.

use serde::{Deserialize, Serialize};

/// Quantiles whose values become the bin edges: the nine inner deciles.
pub const DECILES: [f64; 9] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/// A bin share below this counts as this in the PSI (so an empty bin costs a large but finite
/// amount instead of infinity).
pub const PSI_FLOOR: f64 = 1e-4;

/// The PSI above which a feature is said to have drifted, unless configured otherwise.
pub const DEFAULT_DRIFT_THRESHOLD: f64 = 0.25;

/// Why drift could not be measured; names the feature.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DriftError {
    #[error("drift: {names} feature names but {columns} columns were given")]
    ShapeMismatch { names: usize, columns: usize },
    #[error("drift: feature `{feature}` has {found} values, expected {expected} (one per row)")]
    RaggedColumn {
        feature: String,
        expected: usize,
        found: usize,
    },
    #[error("drift: no rows to profile")]
    Empty,
    #[error(
        "drift: the model's reference profile has feature `{feature}`, but today's features do not"
    )]
    MissingFeature { feature: String },
    #[error(
        "drift: bin shares of feature `{feature}` have different lengths ({expected} reference, {actual} current)"
    )]
    BinMismatch {
        feature: String,
        expected: usize,
        actual: usize,
    },
}

/// The training distribution of one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureProfile {
    pub feature: String,
    /// Increasing, distinct bin edges (the training deciles, repeats removed). Bin `i` holds the
    /// values `v` with `edges[i-1] < v ≤ edges[i]`; the first bin is everything `≤ edges[0]`,
    /// the last everything above the last edge. `edges.len() + 1` bins.
    pub edges: Vec<f64>,
    /// Share of the non-missing training values in each bin (sums to 1 when any exist).
    pub proportions: Vec<f64>,
    /// Share of training rows where the feature is missing (NaN).
    pub missing: f64,
}

/// The training distribution of every model input, stored in the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftProfile {
    /// Rows the profile was computed from.
    pub rows: usize,
    pub features: Vec<FeatureProfile>,
}

/// How far one feature moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDrift {
    pub feature: String,
    pub psi: f64,
    /// Share missing in the reference (training) data.
    pub reference_missing: f64,
    /// Share missing today.
    pub current_missing: f64,
}

/// PSI of every feature, largest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// Rows of today's data that were compared.
    pub rows: usize,
    /// One entry per profiled feature, sorted by PSI descending (ties by name).
    pub features: Vec<FeatureDrift>,
}

impl DriftReport {
    /// The feature that moved most.
    pub fn max(&self) -> Option<&FeatureDrift> {
        self.features.first()
    }

    /// Features whose PSI is strictly above `threshold`, largest first.
    pub fn above(&self, threshold: f64) -> Vec<&FeatureDrift> {
        self.features.iter().filter(|f| f.psi > threshold).collect()
    }

    /// A short summary for logs: the `n` largest PSIs and how many exceed `threshold`.
    pub fn summary(&self, threshold: f64, n: usize) -> DriftSummary {
        DriftSummary {
            rows: self.rows,
            threshold,
            max_psi: self.max().map_or(0.0, |f| f.psi),
            features_above: self.above(threshold).len(),
            top: self.features.iter().take(n).cloned().collect(),
        }
    }

    /// The report as an aligned text table (the `top` largest PSIs).
    pub fn table_text(&self, threshold: f64, top: usize) -> String {
        let width = self
            .features
            .iter()
            .take(top)
            .map(|f| f.feature.chars().count())
            .max()
            .unwrap_or(7)
            .max(7);
        let mut out = format!(
            "{:<width$}  {:>8}  {:>9}  {:>9}\n",
            "feature", "PSI", "miss ref", "miss now"
        );
        for f in self.features.iter().take(top) {
            let flag = if f.psi > threshold { "  drifted" } else { "" };
            out.push_str(&format!(
                "{:<width$}  {:>8.4}  {:>8.1}%  {:>8.1}%{flag}\n",
                f.feature,
                f.psi,
                100.0 * f.reference_missing,
                100.0 * f.current_missing
            ));
        }
        out
    }
}

/// The part of a [`DriftReport`] kept in the retraining log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftSummary {
    pub rows: usize,
    pub threshold: f64,
    pub max_psi: f64,
    /// Features with PSI above the threshold.
    pub features_above: usize,
    /// The largest PSIs.
    pub top: Vec<FeatureDrift>,
}

/// `Σ (a − e) · ln(a / e)` over matching bins, each share floored at [`PSI_FLOOR`].
/// E.g. expected `[0.5, 0.5]`, actual `[0.6, 0.4]`: `0.1·ln 1.2 + 0.1·ln 1.25 ≈ 0.0406`.
pub fn psi(expected: &[f64], actual: &[f64]) -> f64 {
    expected
        .iter()
        .zip(actual)
        .map(|(&e, &a)| {
            let (e, a) = (e.max(PSI_FLOOR), a.max(PSI_FLOOR));
            (a - e) * (a / e).ln()
        })
        .sum()
}

/// The value at quantile `q` of sorted non-empty `sorted`: the smallest value with at least a
/// share `q` of the values at or below it (`sorted[⌈q·n⌉ − 1]`).
fn lower_quantile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let rank = (q * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

/// The bin of `v` for increasing `edges`: the number of edges strictly below `v`.
fn bin_of(edges: &[f64], v: f64) -> usize {
    edges.partition_point(|&e| e < v)
}

/// Bin shares of the non-missing values of `column` and the share missing.
fn shares(edges: &[f64], column: &[f64]) -> (Vec<f64>, f64) {
    let mut counts = vec![0usize; edges.len() + 1];
    let mut missing = 0usize;
    for &v in column {
        if v.is_nan() {
            missing += 1;
        } else {
            counts[bin_of(edges, v)] += 1;
        }
    }
    let present = column.len() - missing;
    let proportions = counts
        .iter()
        .map(|&c| {
            if present == 0 {
                0.0
            } else {
                c as f64 / present as f64
            }
        })
        .collect();
    let missing = if column.is_empty() {
        0.0
    } else {
        missing as f64 / column.len() as f64
    };
    (proportions, missing)
}

/// PSI over the value bins and the missing share together: the value shares are scaled by the
/// present share, so the bins and "missing" sum to 1 on each side.
fn feature_psi(reference: &FeatureProfile, proportions: &[f64], missing: f64) -> f64 {
    let expected: Vec<f64> = reference
        .proportions
        .iter()
        .map(|p| p * (1.0 - reference.missing))
        .chain(std::iter::once(reference.missing))
        .collect();
    let actual: Vec<f64> = proportions
        .iter()
        .map(|p| p * (1.0 - missing))
        .chain(std::iter::once(missing))
        .collect();
    psi(&expected, &actual)
}

fn check_shape<C: AsRef<[f64]>>(names: &[String], columns: &[C]) -> Result<usize, DriftError> {
    if names.len() != columns.len() {
        return Err(DriftError::ShapeMismatch {
            names: names.len(),
            columns: columns.len(),
        });
    }
    let rows = columns.first().map_or(0, |c| c.as_ref().len());
    for (name, col) in names.iter().zip(columns) {
        if col.as_ref().len() != rows {
            return Err(DriftError::RaggedColumn {
                feature: name.clone(),
                expected: rows,
                found: col.as_ref().len(),
            });
        }
    }
    Ok(rows)
}

impl FeatureProfile {
    /// The decile edges and bin shares of one training column (NaN = missing).
    pub fn fit(feature: &str, column: &[f64]) -> FeatureProfile {
        let mut sorted: Vec<f64> = column.iter().copied().filter(|v| !v.is_nan()).collect();
        sorted.sort_by(f64::total_cmp);
        let mut edges: Vec<f64> = if sorted.is_empty() {
            Vec::new()
        } else {
            DECILES
                .iter()
                .map(|&q| lower_quantile(&sorted, q))
                .collect()
        };
        edges.dedup();
        let (proportions, missing) = shares(&edges, column);
        FeatureProfile {
            feature: feature.to_string(),
            edges,
            proportions,
            missing,
        }
    }

    /// PSI of `column` (today's values of this feature) against this profile.
    pub fn psi_of(&self, column: &[f64]) -> Result<FeatureDrift, DriftError> {
        if self.proportions.len() != self.edges.len() + 1 {
            return Err(DriftError::BinMismatch {
                feature: self.feature.clone(),
                expected: self.edges.len() + 1,
                actual: self.proportions.len(),
            });
        }
        let (proportions, missing) = shares(&self.edges, column);
        Ok(FeatureDrift {
            feature: self.feature.clone(),
            psi: feature_psi(self, &proportions, missing),
            reference_missing: self.missing,
            current_missing: missing,
        })
    }
}

impl DriftProfile {
    /// Profiles training data given as named columns (`names[i]` is `columns[i]`, one value per
    /// row, NaN = missing).
    pub fn fit<C: AsRef<[f64]>>(names: &[String], columns: &[C]) -> Result<Self, DriftError> {
        let rows = check_shape(names, columns)?;
        if rows == 0 {
            return Err(DriftError::Empty);
        }
        let features = names
            .iter()
            .zip(columns)
            .map(|(name, col)| FeatureProfile::fit(name, col.as_ref()))
            .collect();
        Ok(DriftProfile { rows, features })
    }

    /// PSI of every profiled feature in today's data (named columns; extra columns are
    /// ignored, a profiled feature that is absent is an error).
    pub fn compare<C: AsRef<[f64]>>(
        &self,
        names: &[String],
        columns: &[C],
    ) -> Result<DriftReport, DriftError> {
        let rows = check_shape(names, columns)?;
        if rows == 0 {
            return Err(DriftError::Empty);
        }
        let mut features = self
            .features
            .iter()
            .map(|profile| {
                let i = names
                    .iter()
                    .position(|n| *n == profile.feature)
                    .ok_or_else(|| DriftError::MissingFeature {
                        feature: profile.feature.clone(),
                    })?;
                profile.psi_of(columns[i].as_ref())
            })
            .collect::<Result<Vec<_>, _>>()?;
        features.sort_by(|a, b| b.psi.total_cmp(&a.psi).then(a.feature.cmp(&b.feature)));
        Ok(DriftReport { rows, features })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn deciles_of_0_to_999_are_exact() {
        let col: Vec<f64> = (0..1000).map(f64::from).collect();
        let p = FeatureProfile::fit("x", &col);
        assert_eq!(
            p.edges,
            vec![99.0, 199.0, 299.0, 399.0, 499.0, 599.0, 699.0, 799.0, 899.0]
        );
        assert_eq!(p.proportions, vec![0.1; 10]);
        assert_eq!(p.missing, 0.0);
    }

    #[test]
    fn a_binary_feature_gets_two_edges_and_missing_its_own_share() {
        // 6 zeros, 2 ones, 2 missing: deciles of the 8 present are 0 (×7 of 9) and 1.
        let col = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, f64::NAN, f64::NAN];
        let p = FeatureProfile::fit("b", &col);
        assert_eq!(p.edges, vec![0.0, 1.0]);
        assert_eq!(p.proportions, vec![0.75, 0.25, 0.0]);
        assert_eq!(p.missing, 0.2);
    }

    #[test]
    fn psi_by_hand() {
        let v = psi(&[0.5, 0.5], &[0.6, 0.4]);
        let by_hand = 0.1 * 1.2f64.ln() + (-0.1) * 0.8f64.ln();
        assert!((v - by_hand).abs() < 1e-15);
        assert!((v - 0.04055).abs() < 1e-5, "{v}");
        assert_eq!(psi(&[0.2, 0.8], &[0.2, 0.8]), 0.0);
    }

    #[test]
    fn identical_data_has_zero_psi_and_a_shift_is_large() {
        let reference: Vec<f64> = (0..1000).map(f64::from).collect();
        let profile =
            DriftProfile::fit(&names(&["x"]), std::slice::from_ref(&reference)).expect("profile");
        let same = profile
            .compare(&names(&["x"]), std::slice::from_ref(&reference))
            .expect("compare");
        assert_eq!(same.features[0].psi, 0.0);

        // Every value moved into the top half (500..999, each twice): bins 1–5 empty, bins
        // 6–10 hold 0.2 each.
        let shifted: Vec<f64> = (0..1000).map(|i| 500.0 + f64::from(i % 500)).collect();
        let report = profile
            .compare(&names(&["x"]), &[shifted])
            .expect("compare");
        let expected = 5.0 * (PSI_FLOOR - 0.1) * (PSI_FLOOR / 0.1).ln() + 5.0 * 0.1 * 2f64.ln();
        assert!((report.features[0].psi - expected).abs() < 1e-12);
        assert!((report.features[0].psi - 3.797).abs() < 1e-3);
        assert_eq!(report.above(0.25).len(), 1);
    }

    #[test]
    fn missing_values_count_as_their_own_bin() {
        let reference: Vec<f64> = (0..100).map(f64::from).collect();
        let profile = DriftProfile::fit(&names(&["x"]), &[reference]).expect("profile");
        // Half of today's values missing, the rest spread like the reference.
        let today: Vec<f64> = (0..200)
            .map(|i| {
                if i % 2 == 0 {
                    f64::NAN
                } else {
                    f64::from(i / 2)
                }
            })
            .collect();
        let r = profile.compare(&names(&["x"]), &[today]).expect("compare");
        let f = &r.features[0];
        assert_eq!(f.current_missing, 0.5);
        // Ten bins 0.1 → 0.05, missing 0 (floored) → 0.5.
        let expected = 10.0 * (-0.05) * 0.5f64.ln() + (0.5 - PSI_FLOOR) * (0.5 / PSI_FLOOR).ln();
        assert!((f.psi - expected).abs() < 1e-12, "{} vs {expected}", f.psi);
    }

    #[test]
    fn compare_sorts_by_psi_and_names_a_missing_feature() {
        let a: Vec<f64> = (0..100).map(f64::from).collect();
        let b: Vec<f64> = (0..100).map(|i| f64::from(i % 2)).collect();
        let profile = DriftProfile::fit(&names(&["a", "b"]), &[a.clone(), b]).expect("profile");
        let b_shifted = vec![1.0; 100];
        let r = profile
            .compare(
                &names(&["b", "a", "extra"]),
                &[b_shifted, a.clone(), a.clone()],
            )
            .expect("compare");
        assert_eq!(r.features[0].feature, "b");
        assert_eq!(r.features[1].feature, "a");
        assert_eq!(r.features[1].psi, 0.0);
        let err = profile
            .compare(&names(&["a"]), &[a])
            .expect_err("b is missing");
        assert_eq!(
            err,
            DriftError::MissingFeature {
                feature: "b".into()
            }
        );
        assert!(err.to_string().contains("`b`"));
    }
}
