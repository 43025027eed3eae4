//! What can go wrong when encoding a table, fitting, using or loading a churn model. Every
//! variant names the column, parameter, row or feature concerned, so the message says what to
//! change.

use polars::prelude::PolarsError;

use crate::training::calibrate::CalibrationError;
use crate::training::gbdt::GbdtError;

/// An error of the model stage (encoding, fitting, prediction, explanation, saving).
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("table has no rows: a model needs at least one row to {action}")]
    EmptyTable { action: &'static str },

    #[error("column `{column}` is missing from the table (the model was trained with it)")]
    MissingColumn { column: String },

    #[error("column `{column}` has dtype {found}, expected {expected}")]
    WrongType {
        column: String,
        expected: String,
        found: String,
    },

    #[error("column `{column}` has dtype {dtype}, which cannot be a model feature; exclude it")]
    UnsupportedColumn { column: String, dtype: String },

    #[error("column `{column}`, row {row}: `{value}` is not a number")]
    BadValue {
        column: String,
        row: usize,
        value: String,
    },

    #[error("no feature columns left after excluding {excluded:?} (and skipping date columns)")]
    NoFeatures { excluded: Vec<String> },

    #[error("label column `{column}`, row {row}: null label; every training row needs a label")]
    NullLabel { column: String, row: usize },

    #[error("label column `{column}`, row {row}: `{value}` is not a binary label (use 0/1, true/false, yes/no, churned/stayed)")]
    BadLabel {
        column: String,
        row: usize,
        value: String,
    },

    #[error("label column `{column}` has a single class ({positives} churners, {negatives} stayers); a churn model needs both")]
    SingleClass {
        column: String,
        positives: usize,
        negatives: usize,
    },

    #[error("{set}: label at row {row} is {value}, expected 0 or 1")]
    BadTarget {
        set: &'static str,
        row: usize,
        value: f64,
    },

    #[error("{set} has {found} {what}, expected {expected}")]
    LengthMismatch {
        set: &'static str,
        what: &'static str,
        expected: usize,
        found: usize,
    },

    #[error("{set} is empty: it has no rows")]
    EmptyData { set: &'static str },

    #[error("{set}: feature column `{name}` has {found} rows, expected {expected} like the first column")]
    RaggedMatrix {
        set: &'static str,
        name: String,
        expected: usize,
        found: usize,
    },

    #[error("{set} has {found} features, the model was trained on {expected}")]
    FeatureCount {
        set: &'static str,
        expected: usize,
        found: usize,
    },

    #[error("{set}: feature {position} is `{found}`, the model expects `{expected}` (encode the table with the model's encoder)")]
    FeatureMismatch {
        set: &'static str,
        position: usize,
        expected: String,
        found: String,
    },

    #[error("parameter `{name}` = {value} is out of range: {allowed}")]
    InvalidParam {
        name: String,
        value: String,
        allowed: &'static str,
    },

    #[error(
        "unknown algorithm `{0}`: expected one of logistic, decision_tree, random_forest, gbdt"
    )]
    UnknownAlgorithm(String),

    #[error("fitting {algorithm}: {message}")]
    Fit {
        algorithm: &'static str,
        message: String,
    },

    #[error("gradient boosting: {0}")]
    Gbdt(#[from] GbdtError),

    #[error("calibrating on the validation set: {0}")]
    Calibration(#[from] CalibrationError),

    #[error("reading column `{column}`: {source}")]
    Polars {
        column: String,
        #[source]
        source: PolarsError,
    },

    #[error("saving the model: {0}")]
    Serialize(#[source] serde_json::Error),

    #[error("loading the model: {0}")]
    Deserialize(#[source] serde_json::Error),

    #[error("invalid model artifact: {reason}")]
    InvalidArtifact { reason: String },

    #[error("model artifact format version {found} is not supported (this build reads version {supported})")]
    UnsupportedVersion { found: u32, supported: u32 },
}
