//! Value stage: customer lifetime value (CLV).
//!
//! Two models, for two kinds of business:
//!
//! - **Contractual** ([`contractual`], [`margin`], [`backtest`]): subscribers whose leaving is
//!   observed (a churn date). In: the validated [`Warehouse`](crate::warehouse::Warehouse), an
//!   as-of date and each active customer's calibrated 90-day churn probability (from the
//!   training stage's champion). Out: per customer the expected discounted margin over a horizon
//!   ([`ClvForecast`]): the 90-day churn probability becomes a constant monthly survival rate,
//!   applied to the current products' monthly margin grown by the customer's revenue trend.
//!   [`margin_inputs`] reads the margin and trend from the warehouse point-in-time;
//!   [`contractual_clv`] is the per-customer formula (pure, allocation-free).
//! - **Non-contractual** ([`rfm`], [`bgnbd`], [`gamma_gamma`]): transaction logs where a
//!   customer's leaving is never observed. BG/NBD (Fader, Hardie & Lee 2005) for the number of
//!   repeat purchases and Gamma-Gamma (Fader, Hardie & Lee 2005b) for the spend per purchase,
//!   both fitted by maximum likelihood, reproduce the `lifetimes` Python package.
//!
//! See `docs/clv.md` for the formulas and assumptions.

pub mod backtest;
pub mod bgnbd;
pub mod contractual;
pub mod gamma_gamma;
pub mod margin;
pub mod noncontractual;
pub mod optimize;
pub mod rfm;
pub mod special;

pub use backtest::{backtest, forecast, BacktestReport, ClvTable};
pub use contractual::{contractual_clv, ClvConfig, ClvForecast};
pub use margin::{margin_inputs, MarginInput};

use chrono::NaiveDate;
use polars::prelude::PolarsError;

/// What can go wrong in the value stage.
#[derive(Debug, thiserror::Error)]
pub enum ValueError {
    /// A polars query over a warehouse table failed.
    #[error("CLV inputs as of {as_of}: {step} on table {table} failed: {source}")]
    Polars {
        table: &'static str,
        step: &'static str,
        as_of: NaiveDate,
        #[source]
        source: PolarsError,
    },
    /// A configuration value is out of range.
    #[error("CLV setting `{field}` = {value} is invalid: {expected}")]
    Config {
        field: &'static str,
        value: f64,
        expected: &'static str,
    },
    /// A transaction file could not be read.
    #[error("cannot read transactions from {file}: {source}")]
    ReadTransactions {
        file: std::path::PathBuf,
        #[source]
        source: PolarsError,
    },
    /// A required column is missing from a transaction file.
    #[error("{file}: no column `{column}`; columns found: {}", found.join(", "))]
    MissingColumn {
        file: std::path::PathBuf,
        column: String,
        found: Vec<String>,
    },
    /// A transaction row holds a value that cannot be used.
    #[error("{file}: row {row}, column `{column}`: {problem} (value `{value}`)")]
    BadValue {
        file: std::path::PathBuf,
        row: usize,
        column: String,
        value: String,
        problem: &'static str,
    },
    /// A summary table (frequency, recency, T, monetary value) breaks the model's assumptions.
    #[error("customer {customer} (row {row}): {problem}")]
    BadSummary {
        row: usize,
        customer: String,
        problem: String,
    },
    /// No data to fit on.
    #[error("cannot fit {model}: {reason}")]
    NoData { model: &'static str, reason: String },
    /// The features of the churn model could not be built.
    #[error("churn features as of {as_of}: {source}")]
    Features {
        as_of: NaiveDate,
        #[source]
        source: crate::features::FeatureError,
    },
    /// The churn model could not score the customers.
    #[error("model {version} could not score the customers as of {as_of}: {source}")]
    Model {
        version: String,
        as_of: NaiveDate,
        #[source]
        source: crate::training::models::ModelError,
    },
    /// The backtest has no months after the as-of date inside the warehouse.
    #[error(
        "backtest as of {as_of}: the warehouse ends on {observed_until}, less than one month \
         later; pick an earlier --as-of"
    )]
    NoFuture {
        as_of: NaiveDate,
        observed_until: NaiveDate,
    },
    /// The optimiser did not reach a finite optimum.
    #[error("fitting {model} failed: {reason}")]
    Fit { model: &'static str, reason: String },
}
