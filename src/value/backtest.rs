//! Contractual CLV for a whole warehouse ([`forecast`]: churn model → risk, warehouse →
//! margin, → CLV per active customer) and its check against what happened afterwards
//! ([`backtest`]).
//!
//! The backtest forecasts as of an earlier date `D` and measures, for each customer active at
//! `D`, the margin the warehouse shows afterwards with the same definition the forecast uses:
//! for month `k = 1..H'`, the monthly margin of the services active at `D + k months` if the
//! customer is still a customer then (0 otherwise), discounted by `(1 + d)^k`. The horizon is
//! truncated to the data: `H' = min(H, whole months from D to the last date the export
//! covers)`, and the forecast is recomputed with the same `H'`, so both sides cover the same
//! months.

use std::collections::HashMap;

use chrono::{Months, NaiveDate};
use polars::prelude::*;
use serde::Serialize;

use super::contractual::{contractual_clv, ClvConfig, ClvForecast};
use super::margin::{margin_frame, margin_inputs, MarginInput};
use super::noncontractual::correlation;
use super::ValueError;
use crate::features::{self, columns::CUSTOMER_ID};
use crate::training::models::ChurnModel;
use crate::warehouse::schema::customer;
use crate::warehouse::Warehouse;

/// Column names of [`ClvTable::to_frame`].
pub mod columns {
    pub const CUSTOMER_ID: &str = "customer_id";
    pub const AS_OF_DATE: &str = "as_of_date";
    pub const CHURN_PROBABILITY: &str = "churn_probability";
    pub const MONTHLY_MARGIN: &str = "monthly_margin";
    pub const MONTHLY_TREND: &str = "monthly_trend";
    pub const EXPECTED_MONTHS: &str = "expected_months";
    pub const SURVIVAL_12M: &str = "survival_12m";
    pub const CLV: &str = "clv";
    pub const VALUE_AT_RISK: &str = "value_at_risk";
    pub const MODEL_VERSION: &str = "model_version";
}

/// The CLV of every active customer at one as-of date.
#[derive(Debug, Clone)]
pub struct ClvTable {
    pub as_of: NaiveDate,
    pub model_version: String,
    pub config: ClvConfig,
    pub inputs: Vec<MarginInput>,
    pub churn_probability: Vec<f64>,
    pub forecasts: Vec<ClvForecast>,
}

impl ClvTable {
    /// `customer_id, as_of_date, churn_probability, monthly_margin, monthly_trend,
    /// expected_months, survival_12m, clv, value_at_risk (= churn_probability × clv),
    /// model_version`.
    pub fn to_frame(&self) -> Result<DataFrame, ValueError> {
        use columns as c;
        let n = self.inputs.len();
        let f = |name: &str, v: Vec<f64>| Column::new(name.into(), v);
        let day = crate::features::pit::day_number(self.as_of);
        let frame = DataFrame::new(
            n,
            vec![
                Column::new(
                    c::CUSTOMER_ID.into(),
                    self.inputs
                        .iter()
                        .map(|m| m.customer_id.as_str())
                        .collect::<Vec<_>>(),
                ),
                Column::new(c::AS_OF_DATE.into(), vec![day; n])
                    .cast(&DataType::Date)
                    .map_err(|source| self.polars_err(source))?,
                f(c::CHURN_PROBABILITY, self.churn_probability.clone()),
                f(
                    c::MONTHLY_MARGIN,
                    self.inputs.iter().map(|m| m.monthly_margin).collect(),
                ),
                f(
                    c::MONTHLY_TREND,
                    self.forecasts.iter().map(|x| x.trend_used).collect(),
                ),
                f(
                    c::EXPECTED_MONTHS,
                    self.forecasts.iter().map(|x| x.expected_months).collect(),
                ),
                f(
                    c::SURVIVAL_12M,
                    self.forecasts.iter().map(|x| x.survival_12m).collect(),
                ),
                f(c::CLV, self.forecasts.iter().map(|x| x.clv).collect()),
                f(
                    c::VALUE_AT_RISK,
                    self.forecasts
                        .iter()
                        .zip(&self.churn_probability)
                        .map(|(x, p)| x.clv * p)
                        .collect(),
                ),
                Column::new(
                    c::MODEL_VERSION.into(),
                    vec![self.model_version.as_str(); n],
                ),
            ],
        );
        frame.map_err(|source| self.polars_err(source))
    }

    fn polars_err(&self, source: PolarsError) -> ValueError {
        ValueError::Polars {
            table: "clv",
            step: "build the output frame",
            as_of: self.as_of,
            source,
        }
    }

    /// Σ clv.
    pub fn total_clv(&self) -> f64 {
        self.forecasts.iter().map(|f| f.clv).sum()
    }
}

/// Calibrated 90-day churn probability of every customer active at `as_of`, by customer id,
/// from `model` on the features both training and serving use.
pub fn churn_risk(
    wh: &Warehouse,
    as_of: NaiveDate,
    model: &ChurnModel,
    version: &str,
) -> Result<HashMap<String, f64>, ValueError> {
    let df = features::churn_prediction_features(wh, &[as_of], None)
        .map_err(|source| ValueError::Features { as_of, source })?;
    let p = model
        .predict_table(&df)
        .map_err(|source| ValueError::Model {
            version: version.to_string(),
            as_of,
            source,
        })?;
    let ids = df.column(CUSTOMER_ID).and_then(|c| c.str().cloned());
    let ids = ids.map_err(|source| ValueError::Polars {
        table: "churn_prediction_features",
        step: "read customer ids",
        as_of,
        source,
    })?;
    Ok(ids
        .iter()
        .zip(p)
        .filter_map(|(id, p)| id.map(|id| (id.to_string(), p)))
        .collect())
}

/// Contractual CLV of every customer active at `as_of` (dim_customer order). A customer the
/// model has no score for (none: both sides use the same active set) would get probability 1.
pub fn forecast(
    wh: &Warehouse,
    as_of: NaiveDate,
    model: &ChurnModel,
    version: &str,
    cfg: &ClvConfig,
) -> Result<ClvTable, ValueError> {
    cfg.check()?;
    let risk = churn_risk(wh, as_of, model, version)?;
    let inputs = margin_inputs(wh, as_of)?;
    let churn_probability: Vec<f64> = inputs
        .iter()
        .map(|m| risk.get(&m.customer_id).copied().unwrap_or(1.0))
        .collect();
    let forecasts = inputs
        .iter()
        .zip(&churn_probability)
        .map(|(m, &p)| contractual_clv(p, m, cfg))
        .collect();
    Ok(ClvTable {
        as_of,
        model_version: version.to_string(),
        config: *cfg,
        inputs,
        churn_probability,
        forecasts,
    })
}

/// Forecast vs actual, by decile of the forecast.
#[derive(Debug, Clone, Serialize)]
pub struct DecileRow {
    /// 1 = lowest forecasts, 10 = highest.
    pub decile: usize,
    pub customers: usize,
    pub mean_forecast: f64,
    pub mean_actual: f64,
}

/// What [`backtest`] measured.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestReport {
    pub as_of: NaiveDate,
    pub observed_until: NaiveDate,
    pub model_version: String,
    pub customers: usize,
    /// The configured horizon and the one used (truncated to the data).
    pub horizon_months: u32,
    pub horizon_months_used: u32,
    pub mean_forecast: f64,
    pub mean_actual: f64,
    pub mean_absolute_error: f64,
    pub correlation: f64,
    /// The same forecast with every customer at the mean risk (margin and trend only): what
    /// the per-customer risk adds.
    pub baseline_mean_absolute_error: f64,
    pub baseline_correlation: f64,
    /// Share of customers active at the as-of date who churned within the horizon used.
    pub churned_share: f64,
    pub deciles: Vec<DecileRow>,
}

/// Whole months from `from` to `to` (calendar months, `from + k months ≤ to`).
fn whole_months(from: NaiveDate, to: NaiveDate) -> u32 {
    let mut k = 0;
    while from
        .checked_add_months(Months::new(k + 1))
        .is_some_and(|d| d <= to)
    {
        k += 1;
    }
    k
}

/// Forecasts as of `as_of` with `model`, then compares with the discounted margin each customer
/// actually brought in the following months (see the module doc for the definition and the
/// truncation of the horizon).
pub fn backtest(
    wh: &Warehouse,
    as_of: NaiveDate,
    model: &ChurnModel,
    version: &str,
    cfg: &ClvConfig,
) -> Result<BacktestReport, ValueError> {
    let observed_until = wh.observed_until().unwrap_or(as_of);
    let used = whole_months(as_of, observed_until).min(cfg.horizon_months);
    if used == 0 {
        return Err(ValueError::NoFuture {
            as_of,
            observed_until,
        });
    }
    let truncated = ClvConfig {
        horizon_months: used,
        ..*cfg
    };
    let table = forecast(wh, as_of, model, version, &truncated)?;
    let index: HashMap<&str, usize> = table
        .inputs
        .iter()
        .enumerate()
        .map(|(i, m)| (m.customer_id.as_str(), i))
        .collect();
    let n = table.inputs.len();
    let mut actual = vec![0.0; n];
    let mut present_at_end = vec![false; n];
    for k in 1..=used {
        let day = as_of
            .checked_add_months(Months::new(k))
            .unwrap_or(observed_until);
        let frame = margin_frame(wh, day)?;
        let err = |source| ValueError::Polars {
            table: "dim_customer",
            step: "read the realised margin",
            as_of: day,
            source,
        };
        let ids = frame
            .column(customer::ID)
            .map_err(err)?
            .str()
            .map_err(err)?
            .clone();
        let margin = frame
            .column(super::margin::MARGIN)
            .map_err(err)?
            .f64()
            .map_err(err)?
            .clone();
        let discount = (1.0 + cfg.monthly_discount_rate).powi(k as i32);
        for (id, m) in ids.iter().zip(margin.iter()) {
            if let Some(&i) = id.and_then(|id| index.get(id)) {
                actual[i] += m.unwrap_or(0.0) / discount;
                if k == used {
                    present_at_end[i] = true;
                }
            }
        }
    }
    let forecast: Vec<f64> = table.forecasts.iter().map(|f| f.clv).collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let mae = forecast
        .iter()
        .zip(&actual)
        .map(|(f, a)| (f - a).abs())
        .sum::<f64>()
        / n.max(1) as f64;
    let mean_risk = mean(&table.churn_probability);
    let baseline: Vec<f64> = table
        .inputs
        .iter()
        .map(|m| contractual_clv(mean_risk, m, &truncated).clv)
        .collect();
    let baseline_mae = baseline
        .iter()
        .zip(&actual)
        .map(|(f, a)| (f - a).abs())
        .sum::<f64>()
        / n.max(1) as f64;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| forecast[a].total_cmp(&forecast[b]));
    let deciles = (0..10)
        .filter_map(|d| {
            let rows = &order[d * n / 10..(d + 1) * n / 10];
            if rows.is_empty() {
                return None;
            }
            let k = rows.len() as f64;
            Some(DecileRow {
                decile: d + 1,
                customers: rows.len(),
                mean_forecast: rows.iter().map(|&i| forecast[i]).sum::<f64>() / k,
                mean_actual: rows.iter().map(|&i| actual[i]).sum::<f64>() / k,
            })
        })
        .collect();
    Ok(BacktestReport {
        as_of,
        observed_until,
        model_version: version.to_string(),
        customers: n,
        horizon_months: cfg.horizon_months,
        horizon_months_used: used,
        mean_forecast: mean(&forecast),
        mean_actual: mean(&actual),
        mean_absolute_error: mae,
        correlation: correlation(&forecast, &actual),
        baseline_mean_absolute_error: baseline_mae,
        baseline_correlation: correlation(&baseline, &actual),
        churned_share: present_at_end.iter().filter(|p| !**p).count() as f64 / n.max(1) as f64,
        deciles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_months_counts_calendar_months() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).expect("date");
        assert_eq!(whole_months(d(2024, 1, 31), d(2024, 12, 31)), 11);
        assert_eq!(whole_months(d(2024, 6, 30), d(2024, 12, 31)), 6);
        assert_eq!(whole_months(d(2024, 12, 1), d(2024, 12, 31)), 0);
    }
}
