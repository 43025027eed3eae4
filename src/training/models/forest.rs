//! A random forest of linfa-trees trees, bagged here: each tree grows on a bootstrap sample of
//! the rows (with replacement) and a random subset of the features (random subspace per tree:
//! linfa-trees has no per-split feature sampling), is converted to a plain [`Tree`] whose leaves
//! hold the churn rate of the tree's in-bag rows, and the forest predicts their mean. Trees are
//! grown in parallel; tree `i` draws from its own seeded stream, so the forest depends only on
//! the data, the parameters and the seed (not on the number of threads).
//!
//! Why not a library forest: smartcore's `RandomForestClassifier` has no `predict_proba`, and
//! linfa-ensemble's fitted forest has no serde derives (it cannot be saved).

use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::training::encode::FeatureMatrix;

use super::cart::{fit_tree, CartConfig};
use super::error::ModelError;
use super::params::{ForestParams, FOREST_MAX_SAMPLES};
use super::preprocess::column_medians;
use super::tree::TreeEnsemble;

/// The sample sizes a forest actually used (resolved from `None` defaults).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForestResolved {
    pub max_samples: usize,
    pub max_features: usize,
}

/// Resolves the bootstrap size and features per tree for `n` rows and `p` features.
pub(crate) fn resolve(params: &ForestParams, n: usize, p: usize) -> ForestResolved {
    let max_samples = params
        .max_samples
        .unwrap_or(n.min(FOREST_MAX_SAMPLES))
        .max(2);
    let default_k = (p as f64).sqrt().ceil() as usize;
    let max_features = params.max_features.unwrap_or(default_k).clamp(1, p.max(1));
    ForestResolved {
        max_samples,
        max_features,
    }
}

/// The random stream of tree `i`.
fn tree_rng(seed: u64, i: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(i as u64 + 1);
    rng
}

pub(crate) fn fit_forest(
    params: &ForestParams,
    seed: u64,
    x: &FeatureMatrix,
    y: &[f64],
) -> Result<(TreeEnsemble, ForestResolved), ModelError> {
    let n = x.n_rows();
    let p = x.n_features();
    let resolved = resolve(params, n, p);
    let medians = column_medians(x);
    let cfg = CartConfig {
        max_depth: params.max_depth,
        min_weight_leaf: params.min_weight_leaf,
        min_impurity_decrease: params.min_impurity_decrease,
        class_weight: params.class_weight,
    };
    let trees = (0..params.n_trees)
        .into_par_iter()
        .map(|i| {
            let mut rng = tree_rng(seed, i);
            let mut features = sample(&mut rng, p, resolved.max_features).into_vec();
            features.sort_unstable();
            let rows: Vec<usize> = (0..resolved.max_samples)
                .map(|_| rng.random_range(0..n))
                .collect();
            fit_tree(
                "random_forest",
                &cfg,
                x,
                y,
                &medians,
                &rows,
                &features,
                &rows,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((TreeEnsemble { medians, trees }, resolved))
}
