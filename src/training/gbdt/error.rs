//! What can go wrong when fitting or using a boosted model: every variant names the data set,
//! the column / row / parameter and the offending value, so the message says what to change.

use std::fmt;

/// Which data set an input error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSet {
    /// The training set given to `fit`.
    Train,
    /// The validation set used for early stopping.
    Validation,
    /// Rows given to a prediction or explanation call.
    Predict,
    /// Scores and labels given to a metric.
    Evaluation,
    /// A feature matrix being assembled (before it is used for anything).
    Matrix,
}

impl fmt::Display for DataSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DataSet::Train => "training set",
            DataSet::Validation => "validation set",
            DataSet::Predict => "prediction input",
            DataSet::Evaluation => "evaluation input",
            DataSet::Matrix => "feature matrix",
        })
    }
}

/// An error of the gradient-boosting stage.
#[derive(Debug, thiserror::Error)]
pub enum GbdtError {
    #[error("{set} is empty: it has {rows} rows and {features} feature columns")]
    EmptyData {
        set: DataSet,
        rows: usize,
        features: usize,
    },

    #[error("{set}: feature column {column} (`{name}`) has {found} rows, expected {expected} like column 0")]
    ColumnLength {
        set: DataSet,
        column: usize,
        name: String,
        expected: usize,
        found: usize,
    },

    #[error("{set}: {what} has {found} entries, expected one per row ({expected})")]
    LengthMismatch {
        set: DataSet,
        what: &'static str,
        expected: usize,
        found: usize,
    },

    #[error("{set}: {found} feature names given for {expected} feature columns")]
    FeatureNames {
        set: DataSet,
        expected: usize,
        found: usize,
    },

    #[error("{set}: label at row {row} is {value}, expected 0 or 1")]
    BadLabel {
        set: DataSet,
        row: usize,
        value: f64,
    },

    #[error("{set}: sample weight at row {row} is {value}, expected a finite number >= 0")]
    BadWeight {
        set: DataSet,
        row: usize,
        value: f64,
    },

    #[error(
        "{set}: every row has label {class} (after weighting); a binary model needs both 0 and 1"
    )]
    SingleClass { set: DataSet, class: f64 },

    #[error("{set}: has {found} feature columns, the model was trained on {expected}")]
    FeatureCount {
        set: DataSet,
        expected: usize,
        found: usize,
    },

    #[error("parameter `{name}` = {value} is out of range: {allowed}")]
    InvalidParam {
        name: &'static str,
        value: String,
        allowed: &'static str,
    },

    #[error("invalid model: tree {tree}, node {node}: {reason}")]
    InvalidModel {
        tree: usize,
        node: usize,
        reason: String,
    },

    #[error("cannot start a thread pool of {threads} threads: {reason}")]
    ThreadPool { threads: usize, reason: String },
}
