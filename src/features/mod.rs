//! Features stage: takes a validated [`Warehouse`] and one or more as-of dates and returns three
//! point-in-time tables, stacked over the as-of dates (every row carries `as_of_date`):
//! `customer_360_view` (one row per customer active at D, human readable),
//! `customer_segmentation_analysis` (one row per segment × tier) and
//! `churn_prediction_features` (the numeric ML table with the `churned_90d` label).
//!
//! Only facts dated on or before D feed a feature at D; the rule lives in [`pit`] and every
//! query uses it. [`churn_prediction_features`] is the one function both training and serving
//! call, so the two cannot disagree. The columns are described in `features/catalog.toml`
//! ([`catalog`]) and in `docs/features.md`.

pub mod catalog;
pub mod columns;
pub mod contract;
mod customer_frame;
mod exact;
pub mod pit;
mod prepare;
mod segmentation;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::{DataFrame, Engine, IntoLazy, LazyFrame, PolarsError};

use crate::output::{write_frame, FileFormat, OutputError};
use crate::warehouse::Warehouse;

pub use customer_frame::{CONTRACT_TERMS, MONTH_TO_MONTH, SEGMENT_ONE_HOT, TIER_ORDINALS};
pub use segmentation::adoption_column;

use pit::AsOf;
use prepare::Prepared;

/// Name (file stem) of the human-readable per-customer table.
pub const CUSTOMER_360_VIEW: &str = "customer_360_view";
/// Name of the segment × tier table.
pub const CUSTOMER_SEGMENTATION_ANALYSIS: &str = "customer_segmentation_analysis";
/// Name of the ML table.
pub const CHURN_PREDICTION_FEATURES: &str = "churn_prediction_features";

/// A failure of the features stage.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    #[error("no as-of date given: features are built for at least one as-of date")]
    NoAsOfDates,
    #[error(
        "{table}: column `{column}` is missing (the warehouse must hold every contract column)"
    )]
    MissingColumn {
        table: &'static str,
        column: &'static str,
    },
    #[error("{table}: column `{column}` has dtype {found}, expected {expected}")]
    WrongDtype {
        table: &'static str,
        column: &'static str,
        expected: String,
        found: String,
    },
    #[error("building {table}{}: {source}", as_of.map(|d| format!(" as of {d}")).unwrap_or_default())]
    Polars {
        /// The table being built (or read).
        table: &'static str,
        as_of: Option<NaiveDate>,
        #[source]
        source: PolarsError,
    },
    #[error("writing {table}: {source}")]
    Write {
        table: &'static str,
        #[source]
        source: OutputError,
    },
    #[error("features/catalog.toml is invalid: {message}")]
    Catalog { message: String },
}

/// The three feature tables, stacked over the as-of dates.
#[derive(Debug, Clone)]
pub struct FeatureSet {
    /// customer_360_view.
    pub customer_360: DataFrame,
    /// customer_segmentation_analysis.
    pub segmentation: DataFrame,
    /// churn_prediction_features.
    pub churn_features: DataFrame,
}

/// The as-of dates sorted, without repeats; an error when there is none.
fn as_of_days(as_of: &[NaiveDate]) -> Result<Vec<AsOf>, FeatureError> {
    let mut dates = as_of.to_vec();
    dates.sort();
    dates.dedup();
    if dates.is_empty() {
        return Err(FeatureError::NoAsOfDates);
    }
    Ok(dates.into_iter().map(AsOf::new).collect())
}

/// Runs a plan on polars' streaming engine: its grouped reductions were ~3× faster than the
/// in-memory group-by on 1M customers (17M invoice rows). Its output does not depend on thread
/// scheduling or morsel size because every sum is an exact integer sum (see `exact`) and the rows
/// are sorted back into dim_customer order; `tests/features_pit.rs`
/// (`features_do_not_depend_on_threads_or_morsels`) checks it in child processes with other
/// thread counts and tiny morsels, and fails if a float sum sneaks back in.
fn collect(lf: LazyFrame, table: &'static str, at: AsOf) -> Result<DataFrame, FeatureError> {
    collect_with(lf, Engine::Streaming, table, at)
}

/// Runs a plan on the given engine. Selecting columns of an in-memory frame on the in-memory
/// engine shares the columns (no copy); the streaming engine would copy them morsel by morsel.
fn collect_with(
    lf: LazyFrame,
    engine: Engine,
    table: &'static str,
    at: AsOf,
) -> Result<DataFrame, FeatureError> {
    lf.collect_with_engine(engine)
        .map(|result| result.unwrap_single())
        .map_err(|source| FeatureError::Polars {
            table,
            as_of: Some(at.date),
            source,
        })
}

/// Appends `next` to `acc` (the first frame becomes `acc`).
fn stack(
    acc: &mut Option<DataFrame>,
    next: DataFrame,
    table: &'static str,
    at: AsOf,
) -> Result<(), FeatureError> {
    match acc {
        None => *acc = Some(next),
        Some(df) => {
            df.vstack_mut_owned(next)
                .map_err(|source| FeatureError::Polars {
                    table,
                    as_of: Some(at.date),
                    source,
                })?;
        }
    }
    Ok(())
}

fn finish(acc: Option<DataFrame>) -> DataFrame {
    let mut df = acc.unwrap_or_default();
    df.rechunk_mut();
    df
}

/// All three tables for the given as-of dates (sorted and de-duplicated; stacked, each row has
/// `as_of_date`). `observed_until` is the last date the export covers: the label of as-of D is
/// known only when `D + 90 ≤ observed_until` (null otherwise, and always null when `None`).
pub fn build(
    wh: &Warehouse,
    as_of: &[NaiveDate],
    observed_until: Option<NaiveDate>,
) -> Result<FeatureSet, FeatureError> {
    let dates = as_of_days(as_of)?;
    let prep = Prepared::new(wh)?;
    let observed = observed_until.map(AsOf::new);
    let (mut view, mut seg, mut ml) = (None, None, None);
    for at in dates {
        let mut frame = customer_frame::customer_frame(&prep, at, observed)?;
        // Contiguous once, shared by the two tables selected from it (no copy each).
        frame.rechunk_mut();
        let lazy = frame.lazy();
        let next_view = collect_with(
            lazy.clone().select(customer_frame::view_360_columns()),
            Engine::InMemory,
            CUSTOMER_360_VIEW,
            at,
        )?;
        let next_ml = collect_with(
            lazy.clone().select(customer_frame::ml_columns()),
            Engine::InMemory,
            CHURN_PREDICTION_FEATURES,
            at,
        )?;
        let next_seg = collect(
            segmentation::segmentation(&prep, at, lazy),
            CUSTOMER_SEGMENTATION_ANALYSIS,
            at,
        )?;
        stack(&mut view, next_view, CUSTOMER_360_VIEW, at)?;
        stack(&mut ml, next_ml, CHURN_PREDICTION_FEATURES, at)?;
        stack(&mut seg, next_seg, CUSTOMER_SEGMENTATION_ANALYSIS, at)?;
    }
    Ok(FeatureSet {
        customer_360: finish(view),
        segmentation: finish(seg),
        churn_features: finish(ml),
    })
}

/// Just churn_prediction_features: THE one function training and serving both call (no
/// training/serving skew). Columns: `customer_id`, `as_of_date`, [`columns::FEATURES`] (all
/// `Float64`), `churned_90d` (`Int32` 0/1, null when not fully observed). One row per customer
/// active at each as-of date, in dim_customer order, as-of dates ascending.
pub fn churn_prediction_features(
    wh: &Warehouse,
    as_of: &[NaiveDate],
    observed_until: Option<NaiveDate>,
) -> Result<DataFrame, FeatureError> {
    let dates = as_of_days(as_of)?;
    let prep = Prepared::new(wh)?;
    let observed = observed_until.map(AsOf::new);
    let mut ml = None;
    for at in dates {
        let next = collect_with(
            customer_frame::customer_frame(&prep, at, observed)?
                .lazy()
                .select(customer_frame::ml_columns()),
            Engine::InMemory,
            CHURN_PREDICTION_FEATURES,
            at,
        )?;
        stack(&mut ml, next, CHURN_PREDICTION_FEATURES, at)?;
    }
    Ok(finish(ml))
}

/// Writes the three tables as `<out>/<name>.parquet|csv` (atomically); returns the paths in the
/// order customer_360_view, customer_segmentation_analysis, churn_prediction_features.
pub fn write(
    set: &mut FeatureSet,
    out: &Path,
    format: FileFormat,
) -> Result<Vec<PathBuf>, FeatureError> {
    let tables: [(&'static str, &mut DataFrame); 3] = [
        (CUSTOMER_360_VIEW, &mut set.customer_360),
        (CUSTOMER_SEGMENTATION_ANALYSIS, &mut set.segmentation),
        (CHURN_PREDICTION_FEATURES, &mut set.churn_features),
    ];
    let mut paths = Vec::with_capacity(tables.len());
    for (table, df) in tables {
        let path = out.join(format!("{table}.{}", format.extension()));
        write_frame(df, &path, format).map_err(|source| FeatureError::Write { table, source })?;
        paths.push(path);
    }
    Ok(paths)
}
