//! Settings of a scoring run: risk-band thresholds, how many reasons and suggestions each
//! customer gets, which model alias to score with.

use serde::{Deserialize, Serialize};

use super::{RiskBand, ScoringError};
use crate::recommend::RecommendConfig;
use crate::registry::CHAMPION;
use crate::training::models::{Attribution, ChurnModel};
use crate::value::ClvConfig;

/// Risk-band thresholds on the calibrated 90-day churn probability `p`:
/// `p < medium` → low, `medium ≤ p < high` → medium, `high ≤ p < critical` → high,
/// `p ≥ critical` → critical.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct RiskBands {
    /// Lower bound of the medium band. Defaults to `0.10`.
    pub medium: f64,
    /// Lower bound of the high band. Defaults to `0.25`.
    pub high: f64,
    /// Lower bound of the critical band. Defaults to `0.50`.
    pub critical: f64,
}

impl Default for RiskBands {
    fn default() -> Self {
        RiskBands {
            medium: 0.10,
            high: 0.25,
            critical: 0.50,
        }
    }
}

impl RiskBands {
    /// The band of probability `p` (NaN → low).
    pub fn band(&self, p: f64) -> RiskBand {
        if p >= self.critical {
            RiskBand::Critical
        } else if p >= self.high {
            RiskBand::High
        } else if p >= self.medium {
            RiskBand::Medium
        } else {
            RiskBand::Low
        }
    }

    /// Thresholds in (0, 1] and strictly increasing.
    pub fn check(&self) -> Result<(), ScoringError> {
        let in_range = |v: f64| v.is_finite() && v > 0.0 && v <= 1.0;
        for (field, v) in [
            ("risk_bands.medium", self.medium),
            ("risk_bands.high", self.high),
            ("risk_bands.critical", self.critical),
        ] {
            if !in_range(v) {
                return Err(ScoringError::Config {
                    field,
                    value: v.to_string(),
                    expected: "a probability in (0, 1]",
                });
            }
        }
        if !(self.medium < self.high && self.high < self.critical) {
            return Err(ScoringError::Config {
                field: "risk_bands",
                value: format!("{} / {} / {}", self.medium, self.high, self.critical),
                expected: "medium < high < critical",
            });
        }
        Ok(())
    }
}

/// How the reasons of a tree champion are computed (logistic reasons are exact and cheap
/// whichever is chosen).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReasonMethod {
    /// Exact TreeSHAP while its estimated cost for the whole snapshot (rows ×
    /// [`ChurnModel::exact_attribution_cost`]) stays within
    /// [`ScoringConfig::exact_reasons_budget`]; path attribution beyond.
    #[default]
    Auto,
    /// Always exact TreeSHAP (about a millisecond per customer for a 100-tree GBDT).
    Exact,
    /// Always path attribution: one walk per tree and customer.
    Path,
}

impl ReasonMethod {
    /// The method used for `rows` rows of `model`.
    pub fn resolve(self, model: &ChurnModel, rows: usize, budget: f64) -> Attribution {
        match self {
            ReasonMethod::Exact => Attribution::Exact,
            ReasonMethod::Path => Attribution::Path,
            ReasonMethod::Auto if rows as f64 * model.exact_attribution_cost() <= budget => {
                Attribution::Exact
            }
            ReasonMethod::Auto => Attribution::Path,
        }
    }
}

/// Default of [`ScoringConfig::exact_reasons_budget`]: 3·10⁹ TreeSHAP path-element updates,
/// about 11 CPU-seconds on the project's VM (3.7 ns each, measured): a 100-tree, 31-leaf GBDT
/// is explained exactly up to about 9,000 customers.
pub const EXACT_REASONS_BUDGET: f64 = 3e9;

/// How a snapshot is built.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct ScoringConfig {
    /// The registry alias or version scored with. Defaults to `champion`.
    pub model: String,
    /// Risk-band thresholds.
    pub risk_bands: RiskBands,
    /// Reasons kept per customer. Defaults to `3`.
    pub top_reasons: usize,
    /// Next-best-product suggestions kept per customer. Defaults to `3`.
    pub top_products: usize,
    /// How a tree champion's reasons are computed. Defaults to `auto`.
    pub reasons: ReasonMethod,
    /// The estimated work (TreeSHAP path-element updates, summed over customers) up to which
    /// `auto` uses exact TreeSHAP. Defaults to [`EXACT_REASONS_BUDGET`].
    pub exact_reasons_budget: f64,
    /// Rows encoded and scored at a time (bounds the memory of the feature matrix). Defaults
    /// to `131072`.
    pub batch_rows: usize,
    /// Contractual CLV settings (horizon, discount rate).
    pub clv: ClvConfig,
    /// Next-best-product settings (`top_k` is replaced by `top_products`).
    pub recommend: RecommendConfig,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        ScoringConfig {
            model: CHAMPION.to_string(),
            risk_bands: RiskBands::default(),
            top_reasons: 3,
            top_products: 3,
            reasons: ReasonMethod::Auto,
            exact_reasons_budget: EXACT_REASONS_BUDGET,
            batch_rows: 1 << 17,
            clv: ClvConfig::default(),
            recommend: RecommendConfig::default(),
        }
    }
}

impl ScoringConfig {
    /// Checks every setting before any work.
    pub fn check(&self) -> Result<(), ScoringError> {
        self.risk_bands.check()?;
        if self.batch_rows == 0 {
            return Err(ScoringError::Config {
                field: "batch_rows",
                value: "0".into(),
                expected: "at least 1",
            });
        }
        if self.exact_reasons_budget.is_nan() || self.exact_reasons_budget < 0.0 {
            return Err(ScoringError::Config {
                field: "exact_reasons_budget",
                value: self.exact_reasons_budget.to_string(),
                expected: "a number ≥ 0",
            });
        }
        if self.model.trim().is_empty() {
            return Err(ScoringError::Config {
                field: "model",
                value: String::new(),
                expected: "an alias or version",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_follow_the_documented_thresholds() {
        let b = RiskBands::default();
        assert_eq!(b.band(0.0), RiskBand::Low);
        assert_eq!(b.band(0.0999), RiskBand::Low);
        assert_eq!(b.band(0.10), RiskBand::Medium);
        assert_eq!(b.band(0.2499), RiskBand::Medium);
        assert_eq!(b.band(0.25), RiskBand::High);
        assert_eq!(b.band(0.50), RiskBand::Critical);
        assert_eq!(b.band(1.0), RiskBand::Critical);
        assert_eq!(b.band(f64::NAN), RiskBand::Low);
    }

    #[test]
    fn bad_thresholds_are_refused() {
        let mut b = RiskBands {
            high: 0.05,
            ..RiskBands::default()
        };
        assert!(matches!(
            b.check(),
            Err(ScoringError::Config {
                field: "risk_bands",
                ..
            })
        ));
        b = RiskBands {
            critical: 1.5,
            ..RiskBands::default()
        };
        assert!(matches!(
            b.check(),
            Err(ScoringError::Config {
                field: "risk_bands.critical",
                ..
            })
        ));
    }
}
