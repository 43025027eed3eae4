//! The per-customer components a snapshot adds to the risk score: CLV ([`crate::value`]) and
//! next-best-product suggestions ([`crate::recommend`]); expected uplift comes from the saved
//! uplift model in `build.rs` ([`crate::campaigns::UpliftArtifact`]). Each returns `None` when
//! its stage is not available, and the snapshot records which ones it holds
//! ([`Components`](super::Components)); nothing is ever faked.

use chrono::NaiveDate;
use polars::prelude::DataFrame;
use rayon::prelude::*;

use super::{ProductSuggestion, ScoringConfig, ScoringError};
use crate::recommend::Recommender;
use crate::value::{contractual_clv, margin_inputs};
use crate::warehouse::Warehouse;

/// Position of `id` in the sorted `ids`.
fn position(ids: &[&str], id: &str) -> Option<usize> {
    ids.binary_search(&id).ok()
}

/// Contractual CLV per customer (`ids` sorted, `probability[i]` belongs to `ids[i]`): the
/// margin inputs read point-in-time from the warehouse, the calibrated risk as the survival
/// curve. A scored customer the value stage does not know (it should know every active one)
/// gets CLV 0 and is counted in a warning.
pub(crate) fn clv(
    wh: &Warehouse,
    as_of: NaiveDate,
    ids: &[&str],
    probability: &[f64],
    cfg: &ScoringConfig,
) -> Result<Option<Vec<f64>>, ScoringError> {
    cfg.clv.check().map_err(|e| ScoringError::Component {
        component: "CLV",
        message: e.to_string(),
    })?;
    let inputs = margin_inputs(wh, as_of).map_err(|e| ScoringError::Component {
        component: "CLV",
        message: e.to_string(),
    })?;
    let mut at: Vec<Option<usize>> = vec![None; ids.len()];
    for (k, m) in inputs.iter().enumerate() {
        if let Some(i) = position(ids, &m.customer_id) {
            at[i] = Some(k);
        }
    }
    let missing = at.iter().filter(|a| a.is_none()).count();
    if missing > 0 {
        tracing::warn!(missing, "customers without CLV inputs get CLV 0");
    }
    let clv_cfg = cfg.clv;
    let values = at
        .par_iter()
        .zip(probability.par_iter())
        .map(|(k, &p)| k.map_or(0.0, |k| contractual_clv(p, &inputs[k], &clv_cfg).clv))
        .collect();
    Ok(Some(values))
}

/// Top-`cfg.top_products` suggestions per customer: the recommender fitted on the adoptions
/// visible at `as_of`, retention offers for customers at risk.
pub(crate) fn suggestions(
    wh: &Warehouse,
    as_of: NaiveDate,
    ids: &[&str],
    probability: &[f64],
    _view: &DataFrame,
    cfg: &ScoringConfig,
) -> Result<Option<Vec<Vec<ProductSuggestion>>>, ScoringError> {
    if cfg.top_products == 0 {
        return Ok(Some(vec![Vec::new(); ids.len()]));
    }
    let err = |e: crate::recommend::RecommendError| ScoringError::Component {
        component: "next-best-product",
        message: e.to_string(),
    };
    let mut rcfg = cfg.recommend.clone();
    rcfg.top_k = cfg.top_products;
    // One pass over the customer and assignment tables for fit and suggest; `out[i]` is
    // `ids[i]`'s list (empty when not active).
    let (_rec, out) =
        Recommender::fit_and_suggest_for(wh, as_of, &rcfg, ids, Some(probability)).map_err(err)?;
    Ok(Some(out))
}
