//! What can go wrong while building, saving, loading or querying a scoring snapshot.

use std::path::PathBuf;

use polars::prelude::PolarsError;

use crate::features::FeatureError;
use crate::output::OutputError;
use crate::registry::RegistryError;
use crate::training::models::ModelError;
use crate::warehouse::LoadError;

/// A failure of the scoring stage. Every variant names what the user must change or look at.
#[derive(Debug, thiserror::Error)]
pub enum ScoringError {
    /// The warehouse could not be loaded.
    #[error("loading the warehouse in {dir}: {source}")]
    Load {
        dir: PathBuf,
        #[source]
        source: LoadError,
    },
    /// The warehouse holds no dated fact, so there is no as-of date to score at.
    #[error("the warehouse has no dated facts: there is no as-of date to score at")]
    NoAsOfDate,
    /// The registry has no champion model.
    #[error(
        "no champion model in the registry {dir}: run `churn train --data <DIR> --models {dir}` \
         first (or `churn models promote <VERSION>`)"
    )]
    NoChampion { dir: PathBuf },
    /// The registry could not be read.
    #[error("model registry {dir}: {source}")]
    Registry {
        dir: PathBuf,
        #[source]
        source: RegistryError,
    },
    /// The champion's artifact could not be read.
    #[error("model {version}: {source}")]
    Model {
        version: String,
        #[source]
        source: ModelError,
    },
    /// Building the features failed.
    #[error("features as of {as_of}: {source}")]
    Features {
        as_of: chrono::NaiveDate,
        #[source]
        source: FeatureError,
    },
    /// A frame operation failed.
    #[error("{step} ({table}): {source}")]
    Polars {
        table: &'static str,
        step: &'static str,
        #[source]
        source: PolarsError,
    },
    /// A table lacks a column the snapshot needs.
    #[error("{table}: column `{column}` is missing or has the wrong type ({found})")]
    Column {
        table: &'static str,
        column: String,
        found: String,
    },
    /// A value in a table cannot be used.
    #[error("{table}: row {row}, column `{column}`: {problem}")]
    BadValue {
        table: &'static str,
        row: usize,
        column: String,
        problem: String,
    },
    /// The same customer appears twice where one row per customer is expected.
    #[error("{table}: customer `{customer_id}` appears more than once")]
    DuplicateCustomer {
        table: &'static str,
        customer_id: String,
    },
    /// A setting is out of range.
    #[error("scoring setting `{field}` = {value} is invalid: {expected}")]
    Config {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
    /// A filter names a value no customer has.
    #[error("unknown {field} `{value}` (known: {})", known.join(", "))]
    UnknownFilterValue {
        field: &'static str,
        value: String,
        known: Vec<String>,
    },
    /// A ranking needs a component that this snapshot does not have.
    #[error("cannot rank by {rank_by}: {reason}")]
    RankUnavailable {
        rank_by: &'static str,
        reason: &'static str,
    },
    /// A component (CLV, suggestions, uplift) failed.
    #[error("{component}: {message}")]
    Component {
        component: &'static str,
        message: String,
    },
    /// Writing the snapshot failed.
    #[error("writing the snapshot: {0}")]
    Write(#[from] OutputError),
    /// Reading a snapshot file failed.
    #[error("reading the snapshot {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A snapshot file is not valid.
    #[error("the snapshot {path} is not valid: {reason}")]
    Corrupt { path: PathBuf, reason: String },
}
