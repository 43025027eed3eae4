//! The per-customer components a snapshot adds to the risk score: CLV (`crate::value`),
//! next-best-product suggestions (`crate::recommend`) and expected uplift
//! (`crate::campaigns`). Each returns `None` when its stage is not available, and the snapshot
//! records which ones it holds ([`Components`](super::Components)); nothing is ever faked.

use chrono::NaiveDate;
use polars::prelude::DataFrame;

use super::{ProductSuggestion, ScoringConfig, ScoringError};
use crate::warehouse::Warehouse;

/// CLV per customer (`ids` sorted, `probability[i]` belongs to `ids[i]`).
pub(crate) fn clv(
    _wh: &Warehouse,
    _as_of: NaiveDate,
    _ids: &[&str],
    _probability: &[f64],
    _cfg: &ScoringConfig,
) -> Result<Option<Vec<f64>>, ScoringError> {
    Ok(None)
}

/// Top-`cfg.top_products` suggestions per customer.
pub(crate) fn suggestions(
    _wh: &Warehouse,
    _as_of: NaiveDate,
    _ids: &[&str],
    _probability: &[f64],
    _view: &DataFrame,
    _cfg: &ScoringConfig,
) -> Result<Option<Vec<Vec<ProductSuggestion>>>, ScoringError> {
    Ok(None)
}

/// Expected churn reduction from a retention offer per customer.
pub(crate) fn uplift(
    _wh: &Warehouse,
    _as_of: NaiveDate,
    _ids: &[&str],
    _view: &DataFrame,
    _cfg: &ScoringConfig,
) -> Result<Option<Vec<f64>>, ScoringError> {
    Ok(None)
}
