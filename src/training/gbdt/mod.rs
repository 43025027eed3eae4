//! The project's own histogram gradient-boosted trees for binary classification (LightGBM-style,
//! written for speed), with exact TreeSHAP explanations.
//!
//! In: a column-major `f64` feature matrix ([`Matrix`], NaN = missing) with 0/1 labels and
//! optional sample weights ([`Dataset`]), optionally a validation set for early stopping, and
//! [`GbdtParams`] (LightGBM's names and defaults, checked before fitting). Out: a
//! [`GbdtModel`] — a base score plus trees over raw feature values ([`Tree`], a plain form other
//! tree models can reuse) — that predicts log-odds or probabilities row by row or in parallel
//! batches, reports feature importance and training history, explains each score with TreeSHAP
//! ([`Explanation`]: expected value + one contribution per feature = raw score), and saves and
//! loads with serde, floats bit-exact. Algorithm and measurements: `docs/gbdt.md`.
//!
//! ```
//! use churn::training::gbdt::{Dataset, GbdtParams, Matrix};
//! let x0: Vec<f64> = (0..200).map(|i| i as f64).collect();
//! let y: Vec<f64> = (0..200).map(|i| if i >= 100 { 1.0 } else { 0.0 }).collect();
//! let train = Dataset::new(Matrix::new(vec![&x0]).unwrap(), &y).unwrap();
//! let model = GbdtParams::new().n_estimators(10).fit(&train, None).unwrap();
//! assert!(model.predict_proba(&[150.0]).unwrap() > 0.5);
//! let e = model.shap_values(&[150.0]).unwrap();
//! let raw = model.predict_raw(&[150.0]).unwrap();
//! assert!((e.expected_value + e.contributions[0] - raw).abs() < 1e-9);
//! ```

mod binning;
mod boost;
mod error;
mod exact_float;
mod grow;
mod histogram;
mod matrix;
mod metrics;
mod model;
mod params;
pub mod path;
mod predict;
pub mod shap;
mod split;
#[cfg(test)]
mod tests;
pub mod tree;

pub use boost::FitTimings;
pub use error::{DataSet, GbdtError};
pub use matrix::{Dataset, Matrix};
pub use metrics::roc_auc;
pub use model::{sigmoid, GbdtModel, ImportanceKind, RoundRecord, ShapBatch};
pub use params::{GbdtParams, GbdtValidParams, MAX_NUM_LEAVES};
pub use shap::Explanation;
pub use tree::{Node, Tree, MAX_TREE_DEPTH};

impl GbdtValidParams {
    /// Fits a model on `train`; `valid` (if given) is scored every round, and with
    /// `early_stopping_rounds` the best round's trees are kept.
    pub fn fit(
        &self,
        train: &Dataset<'_>,
        valid: Option<&Dataset<'_>>,
    ) -> Result<GbdtModel, GbdtError> {
        boost::fit(self, train, valid).map(|(m, _)| m)
    }

    /// [`GbdtValidParams::fit`] that also returns the time spent in each phase.
    pub fn fit_timed(
        &self,
        train: &Dataset<'_>,
        valid: Option<&Dataset<'_>>,
    ) -> Result<(GbdtModel, FitTimings), GbdtError> {
        boost::fit(self, train, valid)
    }
}

impl GbdtParams {
    /// Checks the parameters, then fits (see [`GbdtValidParams::fit`]).
    pub fn fit(
        &self,
        train: &Dataset<'_>,
        valid: Option<&Dataset<'_>>,
    ) -> Result<GbdtModel, GbdtError> {
        self.check()?.fit(train, valid)
    }
}
