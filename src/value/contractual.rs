//! Contractual CLV: the calibrated 90-day churn probability becomes a constant monthly survival
//! rate, and the customer's monthly margin (grown by its revenue trend) is summed over the
//! horizon, weighted by survival and discounted.
//!
//! ```text
//! s      = (1 − p₉₀)^(30.4375 / 90)                 monthly survival (constant hazard)
//! g      = clamp(monthly_trend, ±max_monthly_trend)
//! CLV    = Σ_{t=1..H} m · (1 + g)^t · s^t / (1 + d)^t
//! ```
//! A month's margin is earned at its end, only by a customer still there (`S(t) = s^t`).

use serde::{Deserialize, Serialize};

use super::margin::MarginInput;
use super::ValueError;

/// Average days per month (365.25 / 12).
pub const DAYS_PER_MONTH: f64 = 30.4375;

/// Settings of the contractual CLV.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClvConfig {
    /// Months summed. Defaults to `24`.
    pub horizon_months: u32,
    /// Monthly discount rate `d` (0.01 ≈ 12.7% a year). Defaults to `0.01`.
    pub monthly_discount_rate: f64,
    /// The window of the churn probability, in days. Defaults to `90` (the model's label).
    pub churn_window_days: f64,
    /// The revenue trend is clamped to ± this monthly growth rate. Defaults to `0.02`.
    pub max_monthly_trend: f64,
}

impl Default for ClvConfig {
    fn default() -> Self {
        ClvConfig {
            horizon_months: 24,
            monthly_discount_rate: 0.01,
            churn_window_days: 90.0,
            max_monthly_trend: 0.02,
        }
    }
}

impl ClvConfig {
    /// Checks every value: discount rate ≥ 0 and finite, window > 0, trend limit in [0, 1).
    pub fn check(&self) -> Result<(), ValueError> {
        let bad = |field, value, expected| {
            Err(ValueError::Config {
                field,
                value,
                expected,
            })
        };
        if !(self.monthly_discount_rate.is_finite() && self.monthly_discount_rate >= 0.0) {
            return bad(
                "monthly_discount_rate",
                self.monthly_discount_rate,
                "a finite rate ≥ 0",
            );
        }
        if !(self.churn_window_days.is_finite() && self.churn_window_days > 0.0) {
            return bad(
                "churn_window_days",
                self.churn_window_days,
                "a number of days > 0",
            );
        }
        if !(self.max_monthly_trend.is_finite() && (0.0..1.0).contains(&self.max_monthly_trend)) {
            return bad(
                "max_monthly_trend",
                self.max_monthly_trend,
                "a monthly rate in [0, 1)",
            );
        }
        Ok(())
    }
}

/// One customer's contractual CLV.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClvForecast {
    /// Expected discounted margin over the horizon.
    pub clv: f64,
    /// Expected months as a customer within the horizon, `Σ S(t)` (undiscounted).
    pub expected_months: f64,
    /// Probability of still being a customer after 12 months, `s¹²`.
    pub survival_12m: f64,
    /// Monthly survival rate `s`.
    pub monthly_survival: f64,
    /// The monthly trend used after clamping.
    pub trend_used: f64,
}

/// Monthly survival rate from a churn probability over `window_days`: constant hazard,
/// `(1 − p)^(30.4375 / window_days)`. `p` is clamped to [0, 1].
pub fn monthly_survival(p_churn: f64, window_days: f64) -> f64 {
    (1.0 - p_churn.clamp(0.0, 1.0)).powf(DAYS_PER_MONTH / window_days)
}

/// The contractual CLV of one customer (see the module doc for the formula).
///
/// `p_churn_90d` is clamped to [0, 1] (NaN propagates to NaN). Monotone: never increases when
/// the risk rises, never decreases when the margin rises; zero for a zero margin; equal to
/// `horizon × margin` with no risk, no trend and no discounting.
pub fn contractual_clv(p_churn_90d: f64, m: &MarginInput, cfg: &ClvConfig) -> ClvForecast {
    let s = monthly_survival(p_churn_90d, cfg.churn_window_days);
    let g = m
        .monthly_trend
        .clamp(-cfg.max_monthly_trend, cfg.max_monthly_trend);
    let growth = if g.is_nan() { 0.0 } else { g };
    let discount = 1.0 / (1.0 + cfg.monthly_discount_rate);
    let (mut survival, mut value, mut months) = (1.0_f64, 1.0_f64, 0.0_f64);
    let mut clv = 0.0;
    for _ in 0..cfg.horizon_months {
        survival *= s;
        value *= (1.0 + growth) * discount;
        months += survival;
        clv += survival * value;
    }
    ClvForecast {
        clv: m.monthly_margin * clv,
        expected_months: months,
        survival_12m: s.powi(12),
        monthly_survival: s,
        trend_used: growth,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(margin: f64, trend: f64) -> MarginInput {
        MarginInput {
            customer_id: "c".into(),
            monthly_margin: margin,
            monthly_trend: trend,
            ..MarginInput::default()
        }
    }

    #[test]
    fn no_risk_no_discount_is_horizon_times_margin() {
        let cfg = ClvConfig {
            monthly_discount_rate: 0.0,
            ..ClvConfig::default()
        };
        let f = contractual_clv(0.0, &input(10.0, 0.0), &cfg);
        assert!((f.clv - 240.0).abs() < 1e-9);
        assert!((f.expected_months - 24.0).abs() < 1e-12);
        assert_eq!(f.survival_12m, 1.0);
    }

    #[test]
    fn certain_churn_is_worth_nothing() {
        let f = contractual_clv(1.0, &input(50.0, 0.0), &ClvConfig::default());
        assert_eq!(f.clv, 0.0);
        assert_eq!(f.expected_months, 0.0);
    }

    #[test]
    fn survival_over_the_churn_window_matches_the_probability() {
        // 90 days = 90 / 30.4375 months: s^(90/30.4375) = 1 − p.
        let s = monthly_survival(0.2, 90.0);
        assert!((s.powf(90.0 / DAYS_PER_MONTH) - 0.8).abs() < 1e-12);
    }

    #[test]
    fn trend_is_clamped() {
        let cfg = ClvConfig::default();
        let f = contractual_clv(0.0, &input(1.0, 0.5), &cfg);
        assert_eq!(f.trend_used, 0.02);
        let f = contractual_clv(0.0, &input(1.0, f64::NAN), &cfg);
        assert_eq!(f.trend_used, 0.0);
    }

    #[test]
    fn bad_config_is_refused() {
        let cfg = ClvConfig {
            monthly_discount_rate: -0.1,
            ..ClvConfig::default()
        };
        assert!(matches!(
            cfg.check(),
            Err(ValueError::Config {
                field: "monthly_discount_rate",
                ..
            })
        ));
        assert!(ClvConfig::default().check().is_ok());
    }
}
