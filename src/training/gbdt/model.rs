//! The fitted model: a base score plus a sum of trees over raw feature values (learning rate
//! already folded into the leaf values), with the training history. Saved and loaded with serde
//! (floats kept bit-exact, see [`super::exact_float`]); loading validates every tree, so a
//! loaded model can never index out of bounds when it predicts.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::error::{DataSet, GbdtError};
use super::exact_float;
use super::matrix::Matrix;
use super::params::GbdtValidParams;
use super::predict::FlatForest;
use super::shap::{ensemble_shap, Explanation, ShapScratch};
use super::tree::Tree;

/// Metrics after one boosting round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// Number of trees after this round (1-based).
    pub round: usize,
    /// Mean log loss on the training rows, weighted as the objective (sample weights and
    /// `scale_pos_weight`).
    #[serde(with = "exact_float")]
    pub train_loss: f64,
    /// Mean log loss on the validation set (its own sample weights, if any).
    #[serde(with = "exact_float::option", default)]
    pub valid_loss: Option<f64>,
}

/// Which importance [`GbdtModel::feature_importance`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportanceKind {
    /// Total loss reduction of the splits on the feature.
    Gain,
    /// Number of splits on the feature.
    Split,
}

/// SHAP values of many rows: `values[r * n_features + f]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapBatch {
    pub expected_value: f64,
    pub n_features: usize,
    pub values: Vec<f64>,
}

impl ShapBatch {
    /// The contributions of row `r` (`None` if there is no such row).
    pub fn row(&self, r: usize) -> Option<&[f64]> {
        self.values
            .get(r * self.n_features..(r + 1) * self.n_features)
    }

    pub fn n_rows(&self) -> usize {
        self.values.len().checked_div(self.n_features).unwrap_or(0)
    }
}

/// A fitted binary classifier: `raw(x) = base_score + Σ trees(x)` in log-odds, probability =
/// sigmoid(raw).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ModelData")]
pub struct GbdtModel {
    feature_names: Vec<String>,
    #[serde(with = "exact_float")]
    base_score: f64,
    trees: Vec<Tree>,
    best_round: Option<usize>,
    history: Vec<RoundRecord>,
    params: GbdtValidParams,
}

/// The serialized form, validated into a [`GbdtModel`].
#[derive(Deserialize)]
struct ModelData {
    feature_names: Vec<String>,
    #[serde(with = "exact_float")]
    base_score: f64,
    trees: Vec<Tree>,
    best_round: Option<usize>,
    history: Vec<RoundRecord>,
    params: GbdtValidParams,
}

impl TryFrom<ModelData> for GbdtModel {
    type Error = GbdtError;

    fn try_from(d: ModelData) -> Result<Self, GbdtError> {
        GbdtModel::new(
            d.feature_names,
            d.base_score,
            d.trees,
            d.best_round,
            d.history,
            d.params,
        )
    }
}

impl GbdtModel {
    /// Assembles a model, validating every tree against the number of features.
    pub fn new(
        feature_names: Vec<String>,
        base_score: f64,
        trees: Vec<Tree>,
        best_round: Option<usize>,
        history: Vec<RoundRecord>,
        params: GbdtValidParams,
    ) -> Result<Self, GbdtError> {
        if !base_score.is_finite() {
            return Err(GbdtError::InvalidModel {
                tree: 0,
                node: 0,
                reason: format!("base score {base_score} is not finite"),
            });
        }
        for (i, t) in trees.iter().enumerate() {
            t.validate(i, feature_names.len())?;
        }
        Ok(GbdtModel {
            feature_names,
            base_score,
            trees,
            best_round,
            history,
            params,
        })
    }

    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }

    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The constant every raw score starts from: log-odds of the weighted mean training label.
    pub fn base_score(&self) -> f64 {
        self.base_score
    }

    /// The trees kept (after early stopping, the best round's).
    pub fn trees(&self) -> &[Tree] {
        &self.trees
    }

    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }

    /// With early stopping, the round (number of trees) with the lowest validation loss, which
    /// is the number of trees kept; `None` without early stopping.
    pub fn best_round(&self) -> Option<usize> {
        self.best_round
    }

    /// Metrics of every round trained (including rounds after the best one).
    pub fn history(&self) -> &[RoundRecord] {
        &self.history
    }

    pub fn params(&self) -> &GbdtValidParams {
        &self.params
    }

    fn check_row(&self, row: &[f64]) -> Result<(), GbdtError> {
        if row.len() != self.n_features() {
            return Err(GbdtError::FeatureCount {
                set: DataSet::Predict,
                expected: self.n_features(),
                found: row.len(),
            });
        }
        Ok(())
    }

    fn check_matrix(&self, x: &Matrix<'_>) -> Result<(), GbdtError> {
        if x.n_features() != self.n_features() {
            return Err(GbdtError::FeatureCount {
                set: DataSet::Predict,
                expected: self.n_features(),
                found: x.n_features(),
            });
        }
        Ok(())
    }

    /// Raw score (log-odds) of one row (`row[f]` = feature `f`, NaN = missing).
    pub fn predict_raw(&self, row: &[f64]) -> Result<f64, GbdtError> {
        self.check_row(row)?;
        let mut s = self.base_score;
        for t in &self.trees {
            s += t.predict_row(row);
        }
        Ok(s)
    }

    /// Probability of label 1 for one row.
    pub fn predict_proba(&self, row: &[f64]) -> Result<f64, GbdtError> {
        self.predict_raw(row).map(sigmoid)
    }

    /// Raw scores of every row of a column-major matrix (parallel, blocked; see `predict.rs`).
    pub fn predict_raw_batch(&self, x: &Matrix<'_>) -> Result<Vec<f64>, GbdtError> {
        self.check_matrix(x)?;
        let mut out = vec![self.base_score; x.n_rows()];
        FlatForest::new(&self.trees, self.n_features()).accumulate(x.columns(), &mut out);
        Ok(out)
    }

    /// Probabilities of label 1 for every row of a matrix.
    pub fn predict_proba_batch(&self, x: &Matrix<'_>) -> Result<Vec<f64>, GbdtError> {
        let mut out = self.predict_raw_batch(x)?;
        out.par_iter_mut().for_each(|s| *s = sigmoid(*s));
        Ok(out)
    }

    /// Importance of every feature (in feature order), by total split gain or split count.
    pub fn feature_importance(&self, kind: ImportanceKind) -> Vec<f64> {
        let mut imp = vec![0.0; self.n_features()];
        for n in self.trees.iter().flat_map(|t| &t.nodes) {
            if !n.is_leaf() {
                imp[n.feature] += match kind {
                    ImportanceKind::Gain => n.gain,
                    ImportanceKind::Split => 1.0,
                };
            }
        }
        imp
    }

    /// Exact TreeSHAP contributions of one row in log-odds:
    /// `expected_value + Σ contributions == predict_raw(row)` (up to rounding).
    pub fn shap_values(&self, row: &[f64]) -> Result<Explanation, GbdtError> {
        self.check_row(row)?;
        Ok(ensemble_shap(
            &self.trees,
            self.base_score,
            self.n_features(),
            row,
            &mut ShapScratch::default(),
        ))
    }

    /// TreeSHAP contributions of every row of a matrix (parallel over rows).
    pub fn shap_values_batch(&self, x: &Matrix<'_>) -> Result<ShapBatch, GbdtError> {
        self.contributions_batch(x, |nf, values| {
            values.par_chunks_mut(nf).enumerate().for_each_init(
                || (ShapScratch::default(), vec![0.0; nf]),
                |(scratch, row), (r, phi)| {
                    for (v, c) in row.iter_mut().zip(x.columns()) {
                        *v = c[r];
                    }
                    for t in &self.trees {
                        super::shap::tree_shap(t, row, phi, scratch);
                    }
                },
            );
        })
    }

    /// Path-attribution contributions ([`super::path`]) of every row of a matrix, in
    /// log-odds: `expected_value + Σ_k values[r·n_features + k] == predict_raw(row r)` (up to
    /// rounding). One blocked walk per tree and row, as fast as batch prediction plus the
    /// leaves' credits; for explaining millions of rows where exact TreeSHAP is too slow.
    pub fn path_values_batch(&self, x: &Matrix<'_>) -> Result<ShapBatch, GbdtError> {
        self.contributions_batch(x, |nf, values| {
            let forest = FlatForest::new(&self.trees, nf);
            let paths = forest.leaf_paths();
            forest.accumulate_paths(x.columns(), &paths, values);
        })
    }

    /// A checked matrix's contributions filled by `fill(n_features, values)` (row-major, zeroed;
    /// not called without features), with the ensemble's expected value.
    fn contributions_batch(
        &self,
        x: &Matrix<'_>,
        fill: impl FnOnce(usize, &mut [f64]),
    ) -> Result<ShapBatch, GbdtError> {
        self.check_matrix(x)?;
        let nf = self.n_features();
        let expected_value =
            self.base_score + self.trees.iter().map(Tree::expected_value).sum::<f64>();
        let mut values = vec![0.0; x.n_rows() * nf];
        if nf > 0 {
            fill(nf, &mut values);
        }
        Ok(ShapBatch {
            expected_value,
            n_features: nf,
            values,
        })
    }
}

/// The logistic function, `1 / (1 + e^−s)`.
pub fn sigmoid(s: f64) -> f64 {
    1.0 / (1.0 + (-s).exp())
}
