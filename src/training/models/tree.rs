//! Tree models as averages of plain [`Tree`]s: a decision tree is an average of one, a random
//! forest of many. Prediction is the mean of the trees' leaf churn rates (a probability);
//! TreeSHAP is the mean of the trees' SHAP values, in probability units, so the expected value
//! (mean training churn rate of the leaves) plus the contributions is the prediction.

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::training::encode::FeatureMatrix;
use crate::training::gbdt::shap::{tree_shap, ShapScratch};
use crate::training::gbdt::Tree;

use super::cart::{fit_tree, CartConfig};
use super::error::ModelError;
use super::params::TreeParams;
use super::preprocess::column_medians;

/// The mean of trees over raw feature values; missing (NaN, ±∞) follows each split's
/// `default_left`, which sends it where the training median went.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(crate) struct TreeEnsemble {
    /// Training median of every feature (what linfa saw for a missing value).
    pub medians: Vec<f64>,
    pub trees: Vec<Tree>,
}

/// Row `r` of `x` into `row`, with non-finite values as NaN (→ `default_left`).
#[inline]
pub(crate) fn gather_row(x: &FeatureMatrix, r: usize, row: &mut [f64]) {
    for (v, c) in row.iter_mut().zip(&x.columns) {
        let value = c[r];
        *v = if value.is_finite() { value } else { f64::NAN };
    }
}

impl TreeEnsemble {
    /// Mean leaf value of a gathered row.
    #[inline]
    pub fn predict_row(&self, row: &[f64]) -> f64 {
        let total: f64 = self.trees.iter().map(|t| t.predict_row(row)).sum();
        total / self.trees.len().max(1) as f64
    }

    /// Uncalibrated probability of every row (parallel).
    pub fn predict(&self, x: &FeatureMatrix) -> Vec<f64> {
        let p = x.n_features();
        (0..x.n_rows())
            .into_par_iter()
            .map_init(
                || vec![0.0; p],
                |row, r| {
                    gather_row(x, r, row);
                    self.predict_row(row)
                },
            )
            .collect()
    }

    /// The mean of the trees' expected values (TreeSHAP's base value).
    pub fn expected_value(&self) -> f64 {
        self.trees.iter().map(Tree::expected_value).sum::<f64>() / self.trees.len().max(1) as f64
    }

    /// TreeSHAP contributions of a gathered row, averaged over trees, into `phi`.
    pub fn contributions_row(&self, row: &[f64], phi: &mut [f64], scratch: &mut ShapScratch) {
        phi.iter_mut().for_each(|v| *v = 0.0);
        for t in &self.trees {
            tree_shap(t, row, phi, scratch);
        }
        let k = self.trees.len().max(1) as f64;
        phi.iter_mut().for_each(|v| *v /= k);
    }

    /// Mean decrease in (class-weighted) Gini impurity of each feature, weighted by the rows
    /// reaching each split, averaged over trees.
    pub fn importance(&self, n_features: usize) -> Vec<f64> {
        let mut imp = vec![0.0; n_features];
        for t in &self.trees {
            let root = t.nodes.first().map_or(1.0, |n| n.cover.max(1.0));
            for n in t.nodes.iter().filter(|n| !n.is_leaf()) {
                if let Some(v) = imp.get_mut(n.feature) {
                    *v += n.gain / root;
                }
            }
        }
        imp
    }

    /// Shape of the trees for the hyperparameter record: mean leaves per tree and the deepest
    /// tree's depth.
    pub fn shape(&self) -> serde_json::Value {
        let leaves: usize = self
            .trees
            .iter()
            .map(|t| t.nodes.iter().filter(|n| n.is_leaf()).count())
            .sum();
        let depth = self.trees.iter().map(Tree::depth).max().unwrap_or(0);
        serde_json::json!({
            "mean_leaves": leaves as f64 / self.trees.len().max(1) as f64,
            "max_depth_reached": depth,
        })
    }

    pub fn validate(&self, n_features: usize) -> Result<(), String> {
        if self.medians.len() != n_features {
            return Err(format!(
                "{} medians for {n_features} features",
                self.medians.len()
            ));
        }
        if self.trees.is_empty() {
            return Err("the model has no trees".into());
        }
        for (i, t) in self.trees.iter().enumerate() {
            t.validate(i, n_features).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// One decision tree on (a sample of at most `max_samples` of) the training rows; its leaves
/// hold the churn rate of every training row that reaches them.
pub(crate) fn fit_decision_tree(
    params: &TreeParams,
    seed: u64,
    x: &FeatureMatrix,
    y: &[f64],
) -> Result<TreeEnsemble, ModelError> {
    let n = x.n_rows();
    let medians = column_medians(x);
    let all: Vec<usize> = (0..n).collect();
    let rows = if n > params.max_samples {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut idx = sample(&mut rng, n, params.max_samples).into_vec();
        idx.sort_unstable();
        idx
    } else {
        all.clone()
    };
    let cfg = CartConfig {
        max_depth: params.max_depth,
        min_weight_leaf: params.min_weight_leaf,
        min_impurity_decrease: params.min_impurity_decrease,
        class_weight: params.class_weight,
    };
    let features: Vec<usize> = (0..x.n_features()).collect();
    let tree = fit_tree(
        "decision_tree",
        &cfg,
        x,
        y,
        &medians,
        &rows,
        &features,
        &all,
    )?;
    Ok(TreeEnsemble {
        medians,
        trees: vec![tree],
    })
}
