//! Training sets: which rows a model learns from (train), which choose its early stopping and
//! calibration (valid) and which judge it (test), with no row in two of them.
//!
//! Two sources:
//! - a warehouse: `churn_prediction_features` over several month-end as-of dates, split **out
//!   of time** ([`plan_dates`]): test = the latest month-end whose 90-day label is fully
//!   observed; valid = the latest month-end whose label window is closed by the test date
//!   (`D + 90 ≤ D_test`); train = month-ends whose label window is closed by the validation
//!   date (`D + 90 ≤ D_valid`, hence also by the test date). So nothing is learned from
//!   outcomes not yet known at the date a model is judged on. Every row is one customer at one
//!   date, and each date belongs to one set, so no customer-date is in two sets.
//! - any flat table a user has (CSV or Parquet, [`read_table`]): one row per customer with a
//!   label column; split at random, stratified by the label, 60/20/20 with a seed
//!   ([`table_training_set`]).
//!
//! Out: a [`TrainingSet`] holding the three frames (every column, ids and label included), the
//! 0/1 labels, the columns that are never features and a fingerprint of the data.
//! `docs/training.md` explains the choices.

use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, NaiveDate};
use polars::prelude::{
    BooleanChunked, ChunkAgg, Column, CsvReadOptions, CsvWriter, DataFrame, IdxCa, IdxSize,
    NewChunkedArray, ParquetReader, PolarsError, SerReader, SerWriter,
};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::features::columns::{AS_OF_DATE, CHURNED_90D, CUSTOMER_ID, LABEL_HORIZON_DAYS};
use crate::features::pit::day_number;
use crate::features::{churn_prediction_features, FeatureError};
use crate::training::encode::parse_label;
use crate::training::models::ModelError;
use crate::warehouse::schema::{campaign, invoice, usage};
use crate::warehouse::Warehouse;

/// Month-ends (counting the test date) that the default plan looks back over.
pub const DEFAULT_HISTORY_MONTHS: u32 = 12;
/// Share of a flat table's rows (per class) used for training.
pub const TRAIN_SHARE: f64 = 0.6;
/// Share of a flat table's rows (per class) used for validation; the rest is the test set.
pub const VALID_SHARE: f64 = 0.2;
/// Each of train, valid and test needs at least this many churners and this many stayers
/// (the calibrator is chosen by 5-fold cross-fitting on the validation rows).
pub const MIN_CLASS_ROWS: usize = 5;

/// Why a training set could not be built. Every variant names the table, column, date or
/// split concerned.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("the warehouse has no dated facts, so there is nothing to learn from")]
    EmptyWarehouse,
    #[error(
        "no month-end in the export has a fully observed {horizon}-day label: the export ends \
         {observed_until}, so the latest usable as-of date would be {latest}, before the data \
         starts ({observed_from}); export a longer history"
    )]
    NoObservedLabels {
        horizon: i32,
        observed_from: NaiveDate,
        observed_until: NaiveDate,
        latest: NaiveDate,
    },
    #[error(
        "as-of date {date}: its {horizon}-day label is not fully observed (the export ends \
         {observed_until}, the label needs data up to {needs}); it cannot be the test date"
    )]
    LabelNotObserved {
        date: NaiveDate,
        horizon: i32,
        observed_until: NaiveDate,
        needs: NaiveDate,
    },
    #[error(
        "test date {test}: {}; pass more as-of dates (--as-of) or export a longer history",
        match valid {
            None => format!("no earlier as-of date D has D + {horizon} ≤ {test} to validate on"),
            Some(v) => format!("validation date {v}: no earlier as-of date D has D + {horizon} ≤ {v} to train on"),
        }
    )]
    TooFewDates {
        test: NaiveDate,
        /// The validation date, when one was found.
        valid: Option<NaiveDate>,
        horizon: i32,
    },
    #[error(transparent)]
    Features(#[from] FeatureError),
    #[error("{path}: cannot read the table: {source}")]
    ReadTable {
        path: PathBuf,
        #[source]
        source: PolarsError,
    },
    #[error("{path}: cannot open the table: {source}")]
    OpenTable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: unsupported table format (expected a .csv or .parquet file)")]
    UnsupportedFormat { path: PathBuf },
    #[error("the table has no rows")]
    EmptyTable,
    #[error("the table has no {role} column `{column}`; its columns are: {}", columns.join(", "))]
    MissingColumn {
        /// `label` or `id`.
        role: &'static str,
        column: String,
        columns: Vec<String>,
    },
    #[error(
        "column `{column}` is entirely null: it carries no information; drop it from the table"
    )]
    AllNullColumn { column: String },
    #[error("label column `{column}` is null in every row; nothing to learn from")]
    NoLabels { column: String },
    /// The label could not be read (the message names the column, and the row and value).
    #[error("{source}")]
    Label {
        column: String,
        #[source]
        source: ModelError,
    },
    #[error(
        "the {split} set{} has {positives} churners and {negatives} stayers; each of train, \
         valid and test needs at least {min} of each (a churn model is judged and calibrated \
         on both classes); use more data{}",
        date.map(|d| format!(" ({d})")).unwrap_or_default(),
        if date.is_some() { " or other as-of dates" } else { "" }
    )]
    TooFewRows {
        split: &'static str,
        date: Option<NaiveDate>,
        positives: usize,
        negatives: usize,
        min: usize,
    },
    #[error("{step}: {source}")]
    Polars {
        step: &'static str,
        #[source]
        source: PolarsError,
    },
}

fn polars(step: &'static str) -> impl FnOnce(PolarsError) -> DatasetError {
    move |source| DatasetError::Polars { step, source }
}

// ------------------------------------------------------------------------------- dates

/// The last day of `d`'s month.
pub fn month_end(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).map_or(d, |first| first - Duration::days(1))
}

/// The month-end one month before month-end `d`.
fn previous_month_end(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), d.month(), 1).map_or(d, |first| first - Duration::days(1))
}

/// `D + 90`: the last day the label of as-of `D` looks at.
pub fn label_end(d: NaiveDate) -> NaiveDate {
    d + Duration::days(i64::from(LABEL_HORIZON_DAYS))
}

/// The label of as-of `d` is fully observed in an export ending `observed_until`.
pub fn label_observed(d: NaiveDate, observed_until: NaiveDate) -> bool {
    label_end(d) <= observed_until
}

/// A requested as-of date that the plan does not use, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedDate {
    pub date: NaiveDate,
    pub reason: String,
}

/// The out-of-time split of a warehouse: which as-of dates train, validate and test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatePlan {
    /// First fact date of the export (earliest invoice, usage or campaign date).
    pub observed_from: NaiveDate,
    /// Last date of the export.
    pub observed_until: NaiveDate,
    /// Training dates, ascending; every one has `D + 90 ≤ valid`.
    pub train: Vec<NaiveDate>,
    /// The validation date: the latest date with `D + 90 ≤ test`.
    pub valid: NaiveDate,
    /// The test date: the latest date whose label is fully observed.
    pub test: NaiveDate,
    /// Requested dates left out, with the reason.
    pub skipped: Vec<SkippedDate>,
}

impl DatePlan {
    /// Every date used, ascending (train…, valid, test).
    pub fn dates(&self) -> Vec<NaiveDate> {
        let mut d = self.train.clone();
        d.push(self.valid);
        d.push(self.test);
        d
    }

    /// The dates a model learns from (train and valid), as recorded in the registry.
    pub fn training_dates(&self) -> Vec<NaiveDate> {
        let mut d = self.train.clone();
        d.push(self.valid);
        d
    }
}

/// Month-ends `m` with `from ≤ m ≤ to`, ascending.
pub fn month_ends_between(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut m = month_end(from);
    while m <= to {
        out.push(m);
        m = month_end(m + Duration::days(1));
    }
    out
}

/// The default as-of dates: the latest month-end whose label is observed (the test date) and
/// the month-ends of the `months − 1` months before it, none before the month-end of
/// `observed_from`.
pub fn default_dates(
    observed_from: NaiveDate,
    observed_until: NaiveDate,
    months: u32,
) -> Result<Vec<NaiveDate>, DatasetError> {
    let mut test = month_end(observed_until);
    while !label_observed(test, observed_until) {
        test = previous_month_end(test);
    }
    if test < month_end(observed_from) {
        return Err(DatasetError::NoObservedLabels {
            horizon: LABEL_HORIZON_DAYS,
            observed_from,
            observed_until,
            latest: test,
        });
    }
    let mut dates = vec![test];
    let mut d = test;
    for _ in 1..months.max(1) {
        d = previous_month_end(d);
        if d < month_end(observed_from) {
            break;
        }
        dates.push(d);
    }
    dates.reverse();
    Ok(dates)
}

/// Splits as-of dates out of time. `requested` empty = [`default_dates`] over
/// [`DEFAULT_HISTORY_MONTHS`]. The test date is the latest requested date whose label is
/// observed (later ones are skipped: their label is unknown); valid is the latest date with
/// `D + 90 ≤ test`; train are the dates with `D + 90 ≤ valid`. Dates in between are skipped
/// with the reason (their label windows reach past the date the model is judged on). Needs at
/// least one train and one valid date.
pub fn plan_dates(
    observed_from: NaiveDate,
    observed_until: NaiveDate,
    requested: &[NaiveDate],
) -> Result<DatePlan, DatasetError> {
    let mut dates = if requested.is_empty() {
        default_dates(observed_from, observed_until, DEFAULT_HISTORY_MONTHS)?
    } else {
        requested.to_vec()
    };
    dates.sort();
    dates.dedup();
    let mut skipped = Vec::new();
    let observed: Vec<NaiveDate> = dates
        .iter()
        .copied()
        .filter(|&d| label_observed(d, observed_until))
        .collect();
    let Some(&test) = observed.last() else {
        let date = dates.last().copied().unwrap_or(observed_until);
        return Err(DatasetError::LabelNotObserved {
            date,
            horizon: LABEL_HORIZON_DAYS,
            observed_until,
            needs: label_end(date),
        });
    };
    let mut eligible = Vec::new();
    for &d in &dates {
        if d == test {
            continue;
        }
        if d > test {
            skipped.push(SkippedDate {
                date: d,
                reason: format!(
                    "its {LABEL_HORIZON_DAYS}-day label needs data up to {}, the export ends {observed_until}",
                    label_end(d)
                ),
            });
        } else if label_end(d) > test {
            skipped.push(SkippedDate {
                date: d,
                reason: format!(
                    "its label window ends {}, after the test date {test}: training on it would use outcomes not yet known at the test date",
                    label_end(d)
                ),
            });
        } else {
            eligible.push(d);
        }
    }
    // Valid: the latest date whose label is known by the test date. Train: dates whose label
    // is known by the validation date, so validation is as honest as the test.
    let Some(valid) = eligible.pop() else {
        return Err(DatasetError::TooFewDates {
            test,
            valid: None,
            horizon: LABEL_HORIZON_DAYS,
        });
    };
    let mut train = Vec::new();
    for d in eligible {
        if label_end(d) <= valid {
            train.push(d);
        } else {
            skipped.push(SkippedDate {
                date: d,
                reason: format!(
                    "its label window ends {}, after the validation date {valid}: validating on outcomes the training labels already saw would flatter the model",
                    label_end(d)
                ),
            });
        }
    }
    if train.is_empty() {
        return Err(DatasetError::TooFewDates {
            test,
            valid: Some(valid),
            horizon: LABEL_HORIZON_DAYS,
        });
    }
    skipped.sort_by_key(|s| s.date);
    Ok(DatePlan {
        observed_from,
        observed_until,
        train,
        valid,
        test,
        skipped,
    })
}

/// The earliest date in a Date column of a frame.
fn min_date(frame: &DataFrame, name: &str) -> Option<NaiveDate> {
    let col = frame.column(name).ok()?;
    let days = col.date().ok()?.phys.min()?;
    NaiveDate::from_ymd_opt(1970, 1, 1).map(|e| e + Duration::days(i64::from(days)))
}

/// The first date the export has facts for: the earliest invoice, usage or campaign date.
/// (Sign-up and service start dates describe the past of customers who joined before the
/// export began, so they do not count.)
pub fn observed_from(wh: &Warehouse) -> Option<NaiveDate> {
    [
        min_date(&wh.invoices, invoice::INVOICE_DATE),
        min_date(&wh.usage, usage::USAGE_DATE),
        min_date(&wh.campaigns, campaign::TARGET_DATE),
    ]
    .into_iter()
    .flatten()
    .min()
}

// ------------------------------------------------------------------------------- sets

/// Where a training set came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DataSource {
    /// churn_prediction_features of a warehouse, split out of time.
    Warehouse { plan: DatePlan },
    /// A flat table, split at random (stratified) with `seed`.
    Table {
        path: PathBuf,
        seed: u64,
        /// Rows dropped because their label was null.
        unlabelled_rows: usize,
    },
}

/// One of train, valid, test.
#[derive(Debug, Clone)]
pub struct Split {
    /// `train`, `valid` or `test`.
    pub name: &'static str,
    /// Every column of the source rows (ids, label, dates included).
    pub frame: DataFrame,
    /// The 0/1 label of each row.
    pub labels: Vec<f64>,
}

impl Split {
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    pub fn positives(&self) -> usize {
        self.labels.iter().filter(|&&y| y == 1.0).count()
    }
}

/// The three disjoint sets a model is trained, validated and tested on.
#[derive(Debug, Clone)]
pub struct TrainingSet {
    pub source: DataSource,
    pub label_column: String,
    /// The column identifying a row's customer, if any.
    pub id_column: Option<String>,
    /// Columns that are never model inputs (id, as-of date, label).
    pub exclude: Vec<String>,
    pub train: Split,
    pub valid: Split,
    pub test: Split,
    /// SHA-256 of the three frames' contents (see [`fingerprint`]).
    pub fingerprint: String,
}

impl TrainingSet {
    /// The as-of dates the model learns from (empty for a flat table).
    pub fn training_as_of(&self) -> Vec<NaiveDate> {
        match &self.source {
            DataSource::Warehouse { plan } => plan.training_dates(),
            DataSource::Table { .. } => Vec::new(),
        }
    }

    /// The test as-of date (warehouse sets only).
    pub fn test_as_of(&self) -> Option<NaiveDate> {
        match &self.source {
            DataSource::Warehouse { plan } => Some(plan.test),
            DataSource::Table { .. } => None,
        }
    }

    /// The excluded columns as `&str`, for the encoder.
    pub fn exclude_refs(&self) -> Vec<&str> {
        self.exclude.iter().map(String::as_str).collect()
    }

    /// One line per split: rows and churners.
    pub fn describe_rows(&self) -> String {
        [&self.train, &self.valid, &self.test]
            .iter()
            .map(|s| format!("{} {} ({} churners)", s.rows(), s.name, s.positives()))
            .collect::<Vec<_>>()
            .join(" / ")
    }
}

/// Checks a split has enough of both classes.
fn check_split(split: &Split, date: Option<NaiveDate>) -> Result<(), DatasetError> {
    let positives = split.positives();
    let negatives = split.rows() - positives;
    if positives < MIN_CLASS_ROWS || negatives < MIN_CLASS_ROWS {
        return Err(DatasetError::TooFewRows {
            split: split.name,
            date,
            positives,
            negatives,
            min: MIN_CLASS_ROWS,
        });
    }
    Ok(())
}

fn labels_of(frame: &DataFrame, column: &str) -> Result<Vec<f64>, DatasetError> {
    let series = frame
        .column(column)
        .map_err(|_| DatasetError::MissingColumn {
            role: "label",
            column: column.to_string(),
            columns: column_names(frame),
        })?
        .as_materialized_series();
    parse_label(series).map_err(|source| DatasetError::Label {
        column: column.to_string(),
        source,
    })
}

fn column_names(frame: &DataFrame) -> Vec<String> {
    frame
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect()
}

/// The rows of `frame` whose `as_of_date` is one of `dates`.
fn rows_on(frame: &DataFrame, dates: &[NaiveDate]) -> Result<DataFrame, DatasetError> {
    let days: Vec<i32> = dates.iter().map(|&d| day_number(d)).collect();
    let col = frame
        .column(AS_OF_DATE)
        .map_err(polars("reading as_of_date"))?;
    let phys = &col.date().map_err(polars("reading as_of_date"))?.phys;
    let mask: Vec<bool> = phys
        .iter()
        .map(|d| d.is_some_and(|d| days.contains(&d)))
        .collect();
    frame
        .filter(&BooleanChunked::from_slice("mask".into(), &mask))
        .map_err(polars("splitting by as-of date"))
}

/// Builds churn_prediction_features over the plan's dates and splits them out of time.
pub fn warehouse_training_set(
    wh: &Warehouse,
    requested: &[NaiveDate],
) -> Result<TrainingSet, DatasetError> {
    let observed_until = wh.observed_until().ok_or(DatasetError::EmptyWarehouse)?;
    let from = observed_from(wh).ok_or(DatasetError::EmptyWarehouse)?;
    let plan = plan_dates(from, observed_until, requested)?;
    let features = churn_prediction_features(wh, &plan.dates(), Some(observed_until))?;
    split_features(&features, plan)
}

/// Splits a built churn_prediction_features (holding at least the plan's dates) by the plan.
pub fn split_features(features: &DataFrame, plan: DatePlan) -> Result<TrainingSet, DatasetError> {
    let make = |name: &'static str, dates: &[NaiveDate]| -> Result<Split, DatasetError> {
        let frame = rows_on(features, dates)?;
        let labels = labels_of(&frame, CHURNED_90D)?;
        let split = Split {
            name,
            frame,
            labels,
        };
        check_split(&split, (dates.len() == 1).then(|| dates[0]))?;
        Ok(split)
    };
    let train = make("train", &plan.train)?;
    let valid = make("valid", &[plan.valid])?;
    let test = make("test", &[plan.test])?;
    let fingerprint = fingerprint(&[&train.frame, &valid.frame, &test.frame])?;
    Ok(TrainingSet {
        source: DataSource::Warehouse { plan },
        label_column: CHURNED_90D.to_string(),
        id_column: Some(CUSTOMER_ID.to_string()),
        exclude: vec![
            CUSTOMER_ID.to_string(),
            AS_OF_DATE.to_string(),
            CHURNED_90D.to_string(),
        ],
        train,
        valid,
        test,
        fingerprint,
    })
}

// ------------------------------------------------------------------------------- flat tables

/// A number from text: trimmed; blank or unparseable → `None`.
fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>().ok()
}

/// Text columns cleaned for modelling: values trimmed, blank → null, and a column whose every
/// non-null value is a number becomes `Float64`. Other columns are kept as they are.
pub fn normalise_table(df: DataFrame) -> Result<DataFrame, DatasetError> {
    let height = df.height();
    let mut columns = Vec::with_capacity(df.width());
    for col in df.columns() {
        if !col.dtype().is_string() {
            columns.push(col.clone());
            continue;
        }
        let ca = col.str().map_err(polars("reading a text column"))?;
        let trimmed: Vec<Option<&str>> = ca
            .iter()
            .map(|v| v.map(str::trim).filter(|t| !t.is_empty()))
            .collect();
        let numbers: Option<Vec<Option<f64>>> = trimmed
            .iter()
            .map(|v| match v {
                None => Some(None),
                Some(t) => parse_number(t).map(Some),
            })
            .collect();
        let any_value = trimmed.iter().any(Option::is_some);
        let name = col.name().clone();
        columns.push(match numbers {
            Some(nums) if any_value => Column::new(name, nums),
            _ => Column::new(name, trimmed),
        });
    }
    DataFrame::new(height, columns).map_err(polars("normalising the table"))
}

/// Reads a flat table from `.csv` (header row, comma, every column read as text and then
/// [`normalise_table`]d) or `.parquet`.
pub fn read_table(path: &Path) -> Result<DataFrame, DatasetError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let read_err = |source| DatasetError::ReadTable {
        path: path.to_path_buf(),
        source,
    };
    let df = match ext.as_deref() {
        Some("csv") => CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish())
            .map_err(read_err)?,
        Some("parquet") | Some("pq") => {
            let file = File::open(path).map_err(|source| DatasetError::OpenTable {
                path: path.to_path_buf(),
                source,
            })?;
            ParquetReader::new(file).finish().map_err(read_err)?
        }
        _ => {
            return Err(DatasetError::UnsupportedFormat {
                path: path.to_path_buf(),
            })
        }
    };
    normalise_table(df)
}

/// Row indices of a stratified random split: per class, shuffled with `seed`, the first 60%
/// train, the next 20% valid, the rest test (each sorted back into table order).
pub fn stratified_split(labels: &[f64], seed: u64) -> [Vec<usize>; 3] {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out: [Vec<usize>; 3] = Default::default();
    for class in [0.0, 1.0] {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        idx.shuffle(&mut rng);
        let n = idx.len();
        let n_train = (TRAIN_SHARE * n as f64).round() as usize;
        let n_valid = ((VALID_SHARE * n as f64).round() as usize).min(n - n_train);
        out[0].extend_from_slice(&idx[..n_train]);
        out[1].extend_from_slice(&idx[n_train..n_train + n_valid]);
        out[2].extend_from_slice(&idx[n_train + n_valid..]);
    }
    for part in &mut out {
        part.sort_unstable();
    }
    out
}

fn take(frame: &DataFrame, idx: &[usize]) -> Result<DataFrame, DatasetError> {
    let idx: Vec<IdxSize> = idx.iter().map(|&i| i as IdxSize).collect();
    frame
        .take(&IdxCa::from_vec("idx".into(), idx))
        .map_err(polars("taking the rows of a split"))
}

/// A training set from a flat table: `label` is the target (0/1, true/false, yes/no, …; rows
/// where it is null are dropped and counted), `id` (if given) identifies rows and is not a
/// feature. Errors name a missing label or id column, a label that is not binary or has one
/// class, and a column that is null in every row.
pub fn table_training_set(
    df: DataFrame,
    path: &Path,
    label: &str,
    id: Option<&str>,
    seed: u64,
) -> Result<TrainingSet, DatasetError> {
    if df.height() == 0 {
        return Err(DatasetError::EmptyTable);
    }
    let label_col = df.column(label).map_err(|_| DatasetError::MissingColumn {
        role: "label",
        column: label.to_string(),
        columns: column_names(&df),
    })?;
    if let Some(id) = id {
        if df.column(id).is_err() {
            return Err(DatasetError::MissingColumn {
                role: "id",
                column: id.to_string(),
                columns: column_names(&df),
            });
        }
    }
    if label_col.null_count() == label_col.len() {
        return Err(DatasetError::NoLabels {
            column: label.to_string(),
        });
    }
    for col in df.columns() {
        let name = col.name().as_str();
        if name != label && Some(name) != id && col.null_count() == col.len() {
            return Err(DatasetError::AllNullColumn {
                column: name.to_string(),
            });
        }
    }
    let unlabelled_rows = label_col.null_count();
    let df = if unlabelled_rows > 0 {
        let mask = label_col.is_not_null();
        df.filter(&mask)
            .map_err(polars("dropping unlabelled rows"))?
    } else {
        df
    };
    let labels = labels_of(&df, label)?;
    let [train_idx, valid_idx, test_idx] = stratified_split(&labels, seed);
    let make = |name: &'static str, idx: &[usize]| -> Result<Split, DatasetError> {
        let split = Split {
            name,
            frame: take(&df, idx)?,
            labels: idx.iter().map(|&i| labels[i]).collect(),
        };
        check_split(&split, None)?;
        Ok(split)
    };
    let train = make("train", &train_idx)?;
    let valid = make("valid", &valid_idx)?;
    let test = make("test", &test_idx)?;
    let fingerprint = fingerprint(&[&train.frame, &valid.frame, &test.frame])?;
    let mut exclude = vec![label.to_string()];
    exclude.extend(id.map(str::to_string));
    Ok(TrainingSet {
        source: DataSource::Table {
            path: path.to_path_buf(),
            seed,
            unlabelled_rows,
        },
        label_column: label.to_string(),
        id_column: id.map(str::to_string),
        exclude,
        train,
        valid,
        test,
        fingerprint,
    })
}

// ------------------------------------------------------------------------------- fingerprint

/// SHA-256 (hex) of the frames' contents: each frame's shape, column names and dtypes, then
/// its rows written as CSV. Same rows in the same order ⇒ same fingerprint, whatever file
/// they came from; any changed value, row or column changes it.
pub fn fingerprint(frames: &[&DataFrame]) -> Result<String, DatasetError> {
    let mut hasher = Sha256::new();
    for frame in frames {
        hasher.update(format!("{}x{}\n", frame.height(), frame.width()).as_bytes());
        for col in frame.columns() {
            hasher.update(format!("{}:{}\n", col.name(), col.dtype()).as_bytes());
        }
        let mut copy = (*frame).clone();
        CsvWriter::new(&mut hasher)
            .include_header(false)
            .finish(&mut copy)
            .map_err(polars("fingerprinting the training data"))?;
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::DataType;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    #[test]
    fn month_ends() {
        assert_eq!(month_end(d(2024, 2, 10)), d(2024, 2, 29));
        assert_eq!(month_end(d(2023, 12, 31)), d(2023, 12, 31));
        assert_eq!(previous_month_end(d(2024, 3, 31)), d(2024, 2, 29));
        assert_eq!(
            month_ends_between(d(2023, 11, 15), d(2024, 2, 28)),
            vec![d(2023, 11, 30), d(2023, 12, 31), d(2024, 1, 31)]
        );
    }

    #[test]
    fn default_plan_for_a_two_year_export() {
        // Export 2023-01-01 … 2024-12-31: 2024-09-30 + 90 = 2024-12-29 is observed, 2024-10-31
        // + 90 = 2025-01-29 is not. Valid needs D + 90 ≤ 2024-09-30: 2024-06-30 (+90 = 09-28).
        // Train needs D + 90 ≤ 2024-06-30: 2024-03-31 (+90 = 06-29) qualifies, 04-30 does not.
        let plan = plan_dates(d(2023, 1, 1), d(2024, 12, 31), &[]).expect("plan");
        assert_eq!(plan.test, d(2024, 9, 30));
        assert_eq!(plan.valid, d(2024, 6, 30));
        assert_eq!(
            plan.train,
            vec![
                d(2023, 10, 31),
                d(2023, 11, 30),
                d(2023, 12, 31),
                d(2024, 1, 31),
                d(2024, 2, 29),
                d(2024, 3, 31)
            ]
        );
        // Four of the 12 month-ends are left out: their labels reach past the date they would
        // be judged on.
        let skipped: Vec<NaiveDate> = plan.skipped.iter().map(|s| s.date).collect();
        assert_eq!(
            skipped,
            vec![
                d(2024, 4, 30),
                d(2024, 5, 31),
                d(2024, 7, 31),
                d(2024, 8, 31)
            ]
        );
        for t in &plan.train {
            assert!(label_end(*t) <= plan.valid);
        }
        assert!(label_end(plan.valid) <= plan.test);
    }

    #[test]
    fn a_short_export_starts_at_its_first_month() {
        let plan = plan_dates(d(2023, 1, 1), d(2023, 12, 31), &[]).expect("plan");
        assert_eq!(plan.test, d(2023, 9, 30));
        assert_eq!(plan.valid, d(2023, 6, 30));
        assert_eq!(
            plan.train,
            vec![d(2023, 1, 31), d(2023, 2, 28), d(2023, 3, 31)]
        );
    }

    #[test]
    fn requested_dates_are_checked() {
        let until = d(2024, 12, 31);
        let from = d(2023, 1, 1);
        // The latest requested date with an observed label is the test date; a later one is
        // skipped.
        let plan = plan_dates(
            from,
            until,
            &[
                d(2023, 11, 30),
                d(2023, 12, 31),
                d(2024, 1, 31),
                d(2024, 3, 31),
                d(2024, 6, 30),
                d(2024, 11, 30),
            ],
        )
        .expect("plan");
        assert_eq!(plan.test, d(2024, 6, 30));
        assert_eq!(plan.valid, d(2024, 3, 31));
        // 2023-12-31 + 90 = 2024-03-30 is known by the validation date; 2024-01-31 + 90 =
        // 2024-04-30 is not.
        assert_eq!(plan.train, vec![d(2023, 11, 30), d(2023, 12, 31)]);
        let skipped: Vec<NaiveDate> = plan.skipped.iter().map(|s| s.date).collect();
        assert_eq!(skipped, vec![d(2024, 1, 31), d(2024, 11, 30)]);

        let err = plan_dates(from, until, &[d(2024, 12, 31)]).expect_err("no label");
        assert!(matches!(err, DatasetError::LabelNotObserved { .. }));
        assert!(err.to_string().contains("2025-03-31"), "{err}");

        let err = plan_dates(from, until, &[d(2024, 5, 31), d(2024, 6, 30)]).expect_err("one");
        assert!(
            matches!(err, DatasetError::TooFewDates { valid: None, .. }),
            "{err}"
        );
        let err = plan_dates(
            from,
            until,
            &[d(2024, 2, 29), d(2024, 3, 31), d(2024, 6, 30)],
        )
        .expect_err("nothing to train on");
        assert!(
            matches!(err, DatasetError::TooFewDates { valid: Some(_), .. }),
            "{err}"
        );
    }

    #[test]
    fn an_export_shorter_than_the_label_horizon_is_refused() {
        let err = plan_dates(d(2024, 1, 1), d(2024, 3, 15), &[]).expect_err("too short");
        assert!(
            matches!(err, DatasetError::NoObservedLabels { .. }),
            "{err}"
        );
    }

    #[test]
    fn stratified_split_is_60_20_20_per_class_and_disjoint() {
        let labels: Vec<f64> = (0..100).map(|i| if i < 30 { 1.0 } else { 0.0 }).collect();
        let [tr, va, te] = stratified_split(&labels, 7);
        assert_eq!((tr.len(), va.len(), te.len()), (60, 20, 20));
        let pos = |v: &[usize]| v.iter().filter(|&&i| labels[i] == 1.0).count();
        assert_eq!((pos(&tr), pos(&va), pos(&te)), (18, 6, 6));
        let mut all: Vec<usize> = tr.iter().chain(&va).chain(&te).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(stratified_split(&labels, 7), [tr, va, te]);
        assert_ne!(
            stratified_split(&labels, 8)[0],
            stratified_split(&labels, 7)[0]
        );
    }

    #[test]
    fn text_columns_are_trimmed_and_numbers_recognised() {
        let df = DataFrame::new(
            3,
            vec![
                Column::new("a".into(), [Some(" 1.5"), Some(" "), None]),
                Column::new("b".into(), [Some("x "), Some("2"), Some("")]),
            ],
        )
        .expect("frame");
        let n = normalise_table(df).expect("normalise");
        let a = n.column("a").expect("a");
        assert_eq!(a.dtype(), &DataType::Float64);
        assert_eq!(a.f64().expect("f64").get(0), Some(1.5));
        assert_eq!(a.null_count(), 2);
        let b = n.column("b").expect("b");
        assert_eq!(b.dtype(), &DataType::String);
        assert_eq!(b.str().expect("str").get(0), Some("x"));
        assert_eq!(b.null_count(), 1);
    }

    #[test]
    fn fingerprint_changes_with_any_value() {
        let a = DataFrame::new(2, vec![Column::new("x".into(), [1.0, 2.0])]).expect("frame");
        let b = DataFrame::new(2, vec![Column::new("x".into(), [1.0, 2.5])]).expect("frame");
        let fa = fingerprint(&[&a]).expect("fp");
        assert_eq!(fa.len(), 64);
        assert_eq!(fa, fingerprint(&[&a.clone()]).expect("fp"));
        assert_ne!(fa, fingerprint(&[&b]).expect("fp"));
    }
}
