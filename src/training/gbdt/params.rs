//! Hyperparameters, LightGBM's names and defaults. As in linfa's param guard, [`GbdtParams`] is
//! the unchecked builder and [`GbdtParams::check`] turns it into [`GbdtValidParams`], the only
//! thing `fit` accepts, so a bad value is an error naming the parameter before any work starts.

use serde::{Deserialize, Serialize};

use super::error::GbdtError;

/// Validated hyperparameters (obtain with [`GbdtParams::check`]). Field meanings and defaults
/// are documented on the setters of [`GbdtParams`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbdtValidParams {
    pub learning_rate: f64,
    pub n_estimators: usize,
    pub num_leaves: usize,
    pub max_depth: Option<usize>,
    pub min_data_in_leaf: usize,
    pub min_sum_hessian_in_leaf: f64,
    pub min_gain_to_split: f64,
    pub lambda_l2: f64,
    pub feature_fraction: f64,
    pub bagging_fraction: f64,
    pub seed: u64,
    pub early_stopping_rounds: Option<usize>,
    pub scale_pos_weight: f64,
    pub max_bin: usize,
    pub bin_construct_sample_cnt: usize,
    pub n_threads: Option<usize>,
}

impl Default for GbdtValidParams {
    fn default() -> Self {
        GbdtValidParams {
            learning_rate: 0.1,
            n_estimators: 100,
            num_leaves: 31,
            max_depth: None,
            min_data_in_leaf: 20,
            min_sum_hessian_in_leaf: 1e-3,
            min_gain_to_split: 0.0,
            lambda_l2: 0.0,
            feature_fraction: 1.0,
            bagging_fraction: 1.0,
            seed: 0,
            early_stopping_rounds: None,
            scale_pos_weight: 1.0,
            max_bin: 255,
            bin_construct_sample_cnt: 200_000,
            n_threads: None,
        }
    }
}

/// Unchecked hyperparameters of the gradient-boosted trees (binary log loss). Build with
/// [`GbdtParams::new`] and the setters, then [`GbdtParams::check`] or fit directly with
/// [`GbdtParams::fit`] (which checks first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GbdtParams(GbdtValidParams);

/// Largest `num_leaves` accepted: each leaf of the growing tree keeps a histogram of
/// `256 × 16` bytes per feature.
pub const MAX_NUM_LEAVES: usize = 4096;

impl GbdtParams {
    /// The defaults (LightGBM's, see each setter).
    pub fn new() -> Self {
        Self::default()
    }

    /// Shrinkage applied to every tree's leaf values. Defaults to `0.1`. Must be finite and > 0.
    pub fn learning_rate(mut self, v: f64) -> Self {
        self.0.learning_rate = v;
        self
    }

    /// Number of boosting rounds (trees). Defaults to `100`. Must be >= 1.
    pub fn n_estimators(mut self, v: usize) -> Self {
        self.0.n_estimators = v;
        self
    }

    /// Maximum number of leaves per tree (trees grow leaf-wise, best split first). Defaults to
    /// `31`. Must be in 2..=4096.
    pub fn num_leaves(mut self, v: usize) -> Self {
        self.0.num_leaves = v;
        self
    }

    /// Maximum depth of a tree (root = depth 0); `None` means no limit. Defaults to `None`
    /// (LightGBM's `-1`). `Some(d)` needs d >= 1.
    pub fn max_depth(mut self, v: Option<usize>) -> Self {
        self.0.max_depth = v;
        self
    }

    /// Minimum number of training rows in a leaf. Defaults to `20`. Must be >= 1. Like LightGBM,
    /// the count of a candidate child is estimated from its hessian sum during split search.
    pub fn min_data_in_leaf(mut self, v: usize) -> Self {
        self.0.min_data_in_leaf = v;
        self
    }

    /// Minimum sum of hessians in a leaf. Defaults to `1e-3`. Must be finite and >= 0.
    pub fn min_sum_hessian_in_leaf(mut self, v: f64) -> Self {
        self.0.min_sum_hessian_in_leaf = v;
        self
    }

    /// A split is made only if its gain exceeds this. Defaults to `0.0`. Must be finite and >= 0.
    pub fn min_gain_to_split(mut self, v: f64) -> Self {
        self.0.min_gain_to_split = v;
        self
    }

    /// L2 regularisation of leaf values. Defaults to `0.0`. Must be finite and >= 0.
    pub fn lambda_l2(mut self, v: f64) -> Self {
        self.0.lambda_l2 = v;
        self
    }

    /// Fraction of features sampled (without replacement) for each tree. Defaults to `1.0`.
    /// Must be in (0, 1].
    pub fn feature_fraction(mut self, v: f64) -> Self {
        self.0.feature_fraction = v;
        self
    }

    /// Fraction of rows sampled for each tree (each row kept with this probability, redrawn
    /// every round, i.e. LightGBM's `bagging_freq = 1`). Defaults to `1.0` (no bagging). Must be
    /// in (0, 1].
    pub fn bagging_fraction(mut self, v: f64) -> Self {
        self.0.bagging_fraction = v;
        self
    }

    /// Seed of every random choice (binning sample, bagging, feature sampling). Defaults to `0`.
    /// Same data + same params ⇒ the same model, whatever the number of threads.
    pub fn seed(mut self, v: u64) -> Self {
        self.0.seed = v;
        self
    }

    /// Stop when the validation log loss has not improved for this many rounds, and keep the
    /// best round's trees. Needs a validation set. Defaults to `None` (train all rounds).
    /// `Some(k)` needs k >= 1.
    pub fn early_stopping_rounds(mut self, v: Option<usize>) -> Self {
        self.0.early_stopping_rounds = v;
        self
    }

    /// Weight multiplier of positive rows (class imbalance), as LightGBM's `scale_pos_weight`.
    /// Defaults to `1.0`. Must be finite and > 0.
    pub fn scale_pos_weight(mut self, v: f64) -> Self {
        self.0.scale_pos_weight = v;
        self
    }

    /// Maximum number of value bins per feature (a missing-value bin comes on top). Defaults to
    /// `255`. Must be in 2..=255 (bin codes are one byte).
    pub fn max_bin(mut self, v: usize) -> Self {
        self.0.max_bin = v;
        self
    }

    /// Number of rows sampled to find the bin boundaries. Defaults to `200_000`. Must be >= 1.
    pub fn bin_construct_sample_cnt(mut self, v: usize) -> Self {
        self.0.bin_construct_sample_cnt = v;
        self
    }

    /// Threads used by `fit` (a dedicated pool); `None` uses the current rayon pool. Defaults to
    /// `None`. `Some(n)` needs n >= 1. The model does not depend on it.
    pub fn n_threads(mut self, v: Option<usize>) -> Self {
        self.0.n_threads = v;
        self
    }

    /// Validates every parameter; the error names the first bad one and its allowed range.
    pub fn check(&self) -> Result<GbdtValidParams, GbdtError> {
        let p = &self.0;
        positive_finite("learning_rate", p.learning_rate)?;
        at_least("n_estimators", p.n_estimators, 1, ">= 1")?;
        at_least("num_leaves", p.num_leaves, 2, "in 2..=4096")?;
        if p.num_leaves > MAX_NUM_LEAVES {
            return Err(invalid("num_leaves", p.num_leaves, "in 2..=4096"));
        }
        if let Some(d) = p.max_depth {
            at_least("max_depth", d, 1, "None (no limit) or >= 1")?;
        }
        at_least("min_data_in_leaf", p.min_data_in_leaf, 1, ">= 1")?;
        non_negative("min_sum_hessian_in_leaf", p.min_sum_hessian_in_leaf)?;
        non_negative("min_gain_to_split", p.min_gain_to_split)?;
        non_negative("lambda_l2", p.lambda_l2)?;
        fraction("feature_fraction", p.feature_fraction)?;
        fraction("bagging_fraction", p.bagging_fraction)?;
        if let Some(k) = p.early_stopping_rounds {
            at_least("early_stopping_rounds", k, 1, "None or >= 1")?;
        }
        positive_finite("scale_pos_weight", p.scale_pos_weight)?;
        at_least("max_bin", p.max_bin, 2, "in 2..=255")?;
        if p.max_bin > 255 {
            return Err(invalid("max_bin", p.max_bin, "in 2..=255"));
        }
        at_least(
            "bin_construct_sample_cnt",
            p.bin_construct_sample_cnt,
            1,
            ">= 1",
        )?;
        if let Some(n) = p.n_threads {
            at_least("n_threads", n, 1, "None (current pool) or >= 1")?;
        }
        Ok(p.clone())
    }
}

fn invalid(name: &'static str, value: impl ToString, allowed: &'static str) -> GbdtError {
    GbdtError::InvalidParam {
        name,
        value: value.to_string(),
        allowed,
    }
}

fn positive_finite(name: &'static str, v: f64) -> Result<(), GbdtError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(invalid(name, v, "a finite number > 0"))
    }
}

fn non_negative(name: &'static str, v: f64) -> Result<(), GbdtError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(invalid(name, v, "a finite number >= 0"))
    }
}

fn fraction(name: &'static str, v: f64) -> Result<(), GbdtError> {
    if v > 0.0 && v <= 1.0 {
        Ok(())
    } else {
        Err(invalid(name, v, "in (0, 1]"))
    }
}

fn at_least(
    name: &'static str,
    v: usize,
    min: usize,
    allowed: &'static str,
) -> Result<(), GbdtError> {
    if v >= min {
        Ok(())
    } else {
        Err(invalid(name, v, allowed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(p: GbdtParams) -> String {
        match p.check() {
            Err(e) => e.to_string(),
            Ok(_) => String::from("accepted"),
        }
    }

    #[test]
    fn defaults_are_lightgbms_and_valid() {
        let p = GbdtParams::new().check().expect("defaults are valid");
        assert_eq!(p.num_leaves, 31);
        assert_eq!(p.n_estimators, 100);
        assert_eq!(p.learning_rate, 0.1);
        assert_eq!(p.min_data_in_leaf, 20);
        assert_eq!(p.max_bin, 255);
        assert_eq!(p.max_depth, None);
    }

    #[test]
    fn bad_values_name_the_parameter_and_range() {
        assert_eq!(
            message(GbdtParams::new().learning_rate(0.0)),
            "parameter `learning_rate` = 0 is out of range: a finite number > 0"
        );
        assert_eq!(
            message(GbdtParams::new().learning_rate(f64::NAN)),
            "parameter `learning_rate` = NaN is out of range: a finite number > 0"
        );
        assert_eq!(
            message(GbdtParams::new().num_leaves(1)),
            "parameter `num_leaves` = 1 is out of range: in 2..=4096"
        );
        assert_eq!(
            message(GbdtParams::new().max_bin(256)),
            "parameter `max_bin` = 256 is out of range: in 2..=255"
        );
        assert_eq!(
            message(GbdtParams::new().feature_fraction(1.5)),
            "parameter `feature_fraction` = 1.5 is out of range: in (0, 1]"
        );
        assert_eq!(
            message(GbdtParams::new().bagging_fraction(0.0)),
            "parameter `bagging_fraction` = 0 is out of range: in (0, 1]"
        );
        assert_eq!(
            message(GbdtParams::new().lambda_l2(-1.0)),
            "parameter `lambda_l2` = -1 is out of range: a finite number >= 0"
        );
        assert_eq!(
            message(GbdtParams::new().max_depth(Some(0))),
            "parameter `max_depth` = 0 is out of range: None (no limit) or >= 1"
        );
        assert_eq!(
            message(GbdtParams::new().early_stopping_rounds(Some(0))),
            "parameter `early_stopping_rounds` = 0 is out of range: None or >= 1"
        );
        assert_eq!(
            message(GbdtParams::new().scale_pos_weight(-2.0)),
            "parameter `scale_pos_weight` = -2 is out of range: a finite number > 0"
        );
        assert_eq!(
            message(GbdtParams::new().min_data_in_leaf(0)),
            "parameter `min_data_in_leaf` = 0 is out of range: >= 1"
        );
        assert_eq!(message(GbdtParams::new().max_depth(Some(3))), "accepted");
    }
}
