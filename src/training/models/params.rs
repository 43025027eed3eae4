//! Hyperparameters of every algorithm, with their defaults, and the guard that checks them all
//! before any work starts (as linfa's `ParamGuard`): a bad value is an error naming the
//! parameter (`forest.n_trees`) and its allowed range, never a panic mid-training.

use serde::{Deserialize, Serialize};

use crate::training::gbdt::{GbdtParams, GbdtValidParams};

use super::error::ModelError;

/// Deepest tree the linfa-based models may grow (linfa grows trees recursively).
pub const MAX_TREE_DEPTH: usize = 64;

/// How the trees weigh the two classes when choosing splits.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    /// Every row weighs 1.
    None,
    /// Churners and stayers weigh about the same in total (sklearn's
    /// `class_weight="balanced"` in integers: the minority class weighs round(majority /
    /// minority), the majority 1; linfa sums weights in f32, where integers stay exact). The
    /// default: linfa prunes sibling leaves that predict the same majority class, which with
    /// rare churners would collapse most of a tree; balancing moves that majority vote to the
    /// base rate. Leaf probabilities are always the unweighted churn rate of the training rows
    /// in the leaf.
    #[default]
    Balanced,
}

/// L2-regularised logistic regression (linfa-logistic, L-BFGS) on standardised features.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct LogisticParams {
    /// Inverse regularisation strength, sklearn's `C`: the objective is
    /// `Σ log-loss + ‖w‖² / (2C)` (intercept not penalised). Defaults to `1.0`. Must be > 0.
    pub c: f64,
    /// Maximum L-BFGS iterations. Defaults to `200`. Must be >= 1.
    pub max_iter: u64,
    /// Stop when the L2 norm of the gradient of the *mean* log loss is below this (passed to
    /// linfa as `tol × n`, since linfa's loss is a sum). Defaults to `1e-4` (sklearn's `tol`).
    /// Must be > 0.
    pub tol: f64,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams {
            c: 1.0,
            max_iter: 200,
            tol: 1e-4,
        }
    }
}

/// One CART tree (linfa-trees, Gini).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct TreeParams {
    /// Maximum depth. Defaults to `8`. Must be in 1..=64.
    pub max_depth: usize,
    /// Minimum total class weight in a leaf (a majority-class row weighs 1). Defaults to `20.0`. Must be finite and >= 1.
    pub min_weight_leaf: f64,
    /// Minimum Gini decrease of a split. Defaults to `1e-5`. Must be finite and > 0 (linfa).
    pub min_impurity_decrease: f64,
    /// Class weighting of the split search. Defaults to [`ClassWeight::Balanced`].
    pub class_weight: ClassWeight,
    /// Rows used to grow the tree (a seeded sample without replacement when the training set
    /// is larger; linfa scans every row at every node). Leaf probabilities still use every
    /// training row. Defaults to `200_000`. Must be >= 2.
    pub max_samples: usize,
}

impl Default for TreeParams {
    fn default() -> Self {
        TreeParams {
            max_depth: 8,
            min_weight_leaf: 20.0,
            min_impurity_decrease: 1e-5,
            class_weight: ClassWeight::Balanced,
            max_samples: 200_000,
        }
    }
}

/// A random forest of linfa-trees trees, bagged by us (see `docs/models.md`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct ForestParams {
    /// Number of trees. Defaults to `100`. Must be in 1..=10_000.
    pub n_trees: usize,
    /// Maximum depth of each tree. Defaults to `12`. Must be in 1..=64.
    pub max_depth: usize,
    /// Bootstrap sample size per tree; `None` = min(n, 100_000). Defaults to `None`.
    /// `Some(m)` needs m >= 2.
    pub max_samples: Option<usize>,
    /// Features per tree (random subspace; linfa has no per-split sampling); `None` =
    /// ceil(sqrt(p)). Defaults to `None`. `Some(k)` needs k >= 1 (capped at p).
    pub max_features: Option<usize>,
    /// Minimum total class weight in a leaf (a majority-class row weighs 1). Defaults to
    /// `50.0`: leaves estimate probabilities, and TreeSHAP's cost grows with the number of
    /// leaves (at 100k rows: ~750 leaves per tree at 5, ~310 at 50, with the same AUC).
    /// Must be finite and >= 1.
    pub min_weight_leaf: f64,
    /// Minimum Gini decrease of a split. Defaults to `1e-5`. Must be finite and > 0.
    pub min_impurity_decrease: f64,
    /// Class weighting of the split search. Defaults to [`ClassWeight::Balanced`].
    pub class_weight: ClassWeight,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            n_trees: 100,
            max_depth: 12,
            max_samples: None,
            max_features: None,
            min_weight_leaf: 50.0,
            min_impurity_decrease: 1e-5,
            class_weight: ClassWeight::Balanced,
        }
    }
}

/// Default bootstrap sample cap of the forest.
pub const FOREST_MAX_SAMPLES: usize = 100_000;

/// The project's histogram GBDT (`training::gbdt`), LightGBM's parameter names. Mirrors
/// [`GbdtValidParams`] with serde defaults and churn-model defaults; the seed comes from
/// [`TrainParams::seed`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct GbdtTrainParams {
    /// Defaults to `0.05`. Must be finite and > 0.
    pub learning_rate: f64,
    /// Maximum boosting rounds. Defaults to `500`. Must be >= 1.
    pub n_estimators: usize,
    /// Defaults to `31`. Must be in 2..=4096.
    pub num_leaves: usize,
    /// `None` = no limit. Defaults to `None`.
    pub max_depth: Option<usize>,
    /// Defaults to `20`. Must be >= 1.
    pub min_data_in_leaf: usize,
    /// Defaults to `1e-3`.
    pub min_sum_hessian_in_leaf: f64,
    /// Defaults to `0.0`.
    pub min_gain_to_split: f64,
    /// Defaults to `0.0`.
    pub lambda_l2: f64,
    /// Defaults to `1.0`. In (0, 1].
    pub feature_fraction: f64,
    /// Defaults to `1.0`. In (0, 1].
    pub bagging_fraction: f64,
    /// Stop after this many rounds without a better validation log loss and keep the best
    /// round. Defaults to `Some(50)`.
    pub early_stopping_rounds: Option<usize>,
    /// Weight of churners (LightGBM's `scale_pos_weight`). Defaults to `1.0`: imbalance is
    /// left to ranking metrics and calibration (a weight ≠ 1 skews raw probabilities, which the
    /// calibrator then has to undo).
    pub scale_pos_weight: f64,
    /// Defaults to `255`. In 2..=255.
    pub max_bin: usize,
    /// Defaults to `200_000`.
    pub bin_construct_sample_cnt: usize,
    /// Threads for fitting; `None` = the current rayon pool. Defaults to `None`.
    pub n_threads: Option<usize>,
}

impl Default for GbdtTrainParams {
    fn default() -> Self {
        GbdtTrainParams {
            learning_rate: 0.05,
            n_estimators: 500,
            num_leaves: 31,
            max_depth: None,
            min_data_in_leaf: 20,
            min_sum_hessian_in_leaf: 1e-3,
            min_gain_to_split: 0.0,
            lambda_l2: 0.0,
            feature_fraction: 1.0,
            bagging_fraction: 1.0,
            early_stopping_rounds: Some(50),
            scale_pos_weight: 1.0,
            max_bin: 255,
            bin_construct_sample_cnt: 200_000,
            n_threads: None,
        }
    }
}

impl GbdtTrainParams {
    /// The gbdt module's builder with these values and `seed`.
    pub fn to_gbdt(&self, seed: u64) -> GbdtParams {
        GbdtParams::new()
            .learning_rate(self.learning_rate)
            .n_estimators(self.n_estimators)
            .num_leaves(self.num_leaves)
            .max_depth(self.max_depth)
            .min_data_in_leaf(self.min_data_in_leaf)
            .min_sum_hessian_in_leaf(self.min_sum_hessian_in_leaf)
            .min_gain_to_split(self.min_gain_to_split)
            .lambda_l2(self.lambda_l2)
            .feature_fraction(self.feature_fraction)
            .bagging_fraction(self.bagging_fraction)
            .early_stopping_rounds(self.early_stopping_rounds)
            .scale_pos_weight(self.scale_pos_weight)
            .max_bin(self.max_bin)
            .bin_construct_sample_cnt(self.bin_construct_sample_cnt)
            .n_threads(self.n_threads)
            .seed(seed)
    }

    /// Checked gbdt parameters; errors are renamed `gbdt.<name>`.
    pub fn check(&self, seed: u64) -> Result<GbdtValidParams, ModelError> {
        self.to_gbdt(seed).check().map_err(|e| match e {
            crate::training::gbdt::GbdtError::InvalidParam {
                name,
                value,
                allowed,
            } => ModelError::InvalidParam {
                name: format!("gbdt.{name}"),
                value,
                allowed,
            },
            other => ModelError::Gbdt(other),
        })
    }
}

/// Every algorithm's hyperparameters plus the seed of every random choice.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct TrainParams {
    pub logistic: LogisticParams,
    pub tree: TreeParams,
    pub forest: ForestParams,
    pub gbdt: GbdtTrainParams,
    /// Seed of the forest's bootstrap and feature sampling, the tree's row sample, GBDT's
    /// sampling and the calibrator's folds. Defaults to `0`. Same data + params ⇒ same model.
    pub seed: u64,
}

fn invalid(name: &str, value: impl ToString, allowed: &'static str) -> ModelError {
    ModelError::InvalidParam {
        name: name.to_string(),
        value: value.to_string(),
        allowed,
    }
}

fn positive(name: &str, v: f64) -> Result<(), ModelError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(invalid(name, v, "a finite number > 0"))
    }
}

fn at_least_one_f(name: &str, v: f64) -> Result<(), ModelError> {
    if v.is_finite() && v >= 1.0 {
        Ok(())
    } else {
        Err(invalid(name, v, "a finite number >= 1"))
    }
}

fn in_range(
    name: &str,
    v: usize,
    lo: usize,
    hi: usize,
    allowed: &'static str,
) -> Result<(), ModelError> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(invalid(name, v, allowed))
    }
}

impl TrainParams {
    /// Validates every value of every algorithm; the error names the first bad parameter
    /// (`logistic.c`, `tree.max_depth`, `forest.n_trees`, `gbdt.learning_rate` …) and its
    /// allowed range.
    pub fn check(&self) -> Result<(), ModelError> {
        let l = &self.logistic;
        positive("logistic.c", l.c)?;
        if l.max_iter == 0 {
            return Err(invalid("logistic.max_iter", l.max_iter, ">= 1"));
        }
        positive("logistic.tol", l.tol)?;

        let t = &self.tree;
        in_range(
            "tree.max_depth",
            t.max_depth,
            1,
            MAX_TREE_DEPTH,
            "in 1..=64",
        )?;
        at_least_one_f("tree.min_weight_leaf", t.min_weight_leaf)?;
        positive("tree.min_impurity_decrease", t.min_impurity_decrease)?;
        in_range("tree.max_samples", t.max_samples, 2, usize::MAX, ">= 2")?;

        let f = &self.forest;
        in_range("forest.n_trees", f.n_trees, 1, 10_000, "in 1..=10000")?;
        in_range(
            "forest.max_depth",
            f.max_depth,
            1,
            MAX_TREE_DEPTH,
            "in 1..=64",
        )?;
        if let Some(m) = f.max_samples {
            in_range("forest.max_samples", m, 2, usize::MAX, "None or >= 2")?;
        }
        if let Some(k) = f.max_features {
            in_range("forest.max_features", k, 1, usize::MAX, "None or >= 1")?;
        }
        at_least_one_f("forest.min_weight_leaf", f.min_weight_leaf)?;
        positive("forest.min_impurity_decrease", f.min_impurity_decrease)?;

        self.gbdt.check(self.seed)?;
        Ok(())
    }
}
