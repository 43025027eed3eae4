//! From a polars table to the numbers a model reads, and back to names a person reads.
//!
//! [`TableEncoder`] is learned once from the training table ([`TableEncoder::fit`]), saved
//! inside the model, and replayed on every table scored later ([`TableEncoder::transform`]), so
//! training and serving encode the same way. It turns each column into one or more `f64`
//! feature columns of a [`FeatureMatrix`] (column-major, NaN = missing):
//! - numbers of any width → the value (null → NaN); booleans → 0/1 (null → NaN);
//! - text that parses as a number for at least 98% of its non-null values (Telco's
//!   `TotalCharges` with `" "` for new customers) → the number, NaN for the rest;
//! - other text → one-hot columns `name=level` for the levels seen in training with at least 1%
//!   of the rows (at most 30, most frequent first; null counts as the level `__null`), plus
//!   `name=__other` for rare and unseen levels;
//! - dates and timestamps are not features (an absolute date does not carry over to future
//!   scoring dates; derive durations instead): they are recorded in [`TableEncoder::skipped`].
//!
//! [`parse_label`] turns a label column (0/1, booleans, yes/no, churned/stayed …) into 0/1.

use std::collections::HashMap;

use polars::prelude::{Column, DataFrame, DataType, PolarsError, Series};
use serde::{Deserialize, Serialize};

use crate::training::gbdt::Matrix;
use crate::training::models::ModelError;

/// The one-hot column that catches rare and unseen levels: `name=__other`.
pub const OTHER_LEVEL: &str = "__other";
/// The level a null text value counts as.
pub const NULL_LEVEL: &str = "__null";
/// A level gets its own one-hot column when at least this share of training rows has it.
pub const MIN_LEVEL_SHARE: f64 = 0.01;
/// At most this many levels get their own column (the most frequent ones).
pub const MAX_LEVELS: usize = 30;
/// Text is read as numbers when at least this share of its non-null values parses.
pub const NUMERIC_TEXT_SHARE: f64 = 0.98;

/// A column-major feature matrix: `columns[f][row]`, NaN = missing; `names[f]` names column f.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeatureMatrix {
    pub names: Vec<String>,
    pub columns: Vec<Vec<f64>>,
}

impl FeatureMatrix {
    /// A matrix from named columns; errors if the counts differ or a column is ragged.
    pub fn new(names: Vec<String>, columns: Vec<Vec<f64>>) -> Result<Self, ModelError> {
        let m = FeatureMatrix { names, columns };
        m.check_shape("feature matrix")?;
        Ok(m)
    }

    /// Number of rows (0 when there are no columns).
    pub fn n_rows(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }

    pub fn n_features(&self) -> usize {
        self.columns.len()
    }

    /// The rows `idx` (in that order, repeats allowed). Panics if an index is out of bounds,
    /// like slice indexing.
    pub fn take_rows(&self, idx: &[usize]) -> FeatureMatrix {
        FeatureMatrix {
            names: self.names.clone(),
            columns: self
                .columns
                .iter()
                .map(|c| idx.iter().map(|&i| c[i]).collect())
                .collect(),
        }
    }

    /// The values of row `r` in column order. Panics if `r >= n_rows()`, like slice indexing.
    pub fn row(&self, r: usize) -> Vec<f64> {
        self.columns.iter().map(|c| c[r]).collect()
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.columns[i].as_slice())
    }

    /// A borrowed view for the gradient-boosting code.
    pub fn as_gbdt_matrix(&self) -> Result<Matrix<'_>, ModelError> {
        self.check_shape("feature matrix")?;
        Ok(Matrix::with_names(
            self.columns.iter().map(Vec::as_slice).collect(),
            self.names.clone(),
        )?)
    }

    /// Checks one name per column and equal column lengths; returns the number of rows.
    pub(crate) fn check_shape(&self, set: &'static str) -> Result<usize, ModelError> {
        if self.names.len() != self.columns.len() {
            return Err(ModelError::LengthMismatch {
                set,
                what: "feature names",
                expected: self.columns.len(),
                found: self.names.len(),
            });
        }
        let n = self.n_rows();
        for (name, c) in self.names.iter().zip(&self.columns) {
            if c.len() != n {
                return Err(ModelError::RaggedMatrix {
                    set,
                    name: name.clone(),
                    expected: n,
                    found: c.len(),
                });
            }
        }
        Ok(n)
    }
}

/// How one input column becomes feature columns.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ColumnKind {
    /// A number (any integer or float width); null → NaN.
    Numeric,
    /// A boolean: true → 1, false → 0, null → NaN.
    Boolean,
    /// Text holding numbers; values that do not parse (blank, `" "`) → NaN.
    NumericText,
    /// Text levels, one-hot: one column per level, then `__other`.
    Categorical { levels: Vec<String> },
}

/// One encoded input column.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ColumnEncoder {
    pub name: String,
    #[serde(flatten)]
    pub kind: ColumnKind,
}

impl ColumnEncoder {
    /// The feature names this column produces.
    pub fn feature_names(&self) -> Vec<String> {
        match &self.kind {
            ColumnKind::Categorical { levels } => levels
                .iter()
                .map(String::as_str)
                .chain([OTHER_LEVEL])
                .map(|l| format!("{}={l}", self.name))
                .collect(),
            _ => vec![self.name.clone()],
        }
    }
}

/// A column of the training table that is not a feature, and why.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SkippedColumn {
    pub name: String,
    pub dtype: String,
    pub reason: String,
}

/// Learned at fit time from the training table, saved inside the model, replayed at predict
/// time (see the module docs for the rules).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TableEncoder {
    columns: Vec<ColumnEncoder>,
    #[serde(default)]
    skipped: Vec<SkippedColumn>,
}

fn polars_err(column: &str) -> impl FnOnce(PolarsError) -> ModelError + '_ {
    move |source| ModelError::Polars {
        column: column.to_string(),
        source,
    }
}

/// A number from text: trimmed; blank or unparseable → `None`.
fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>().ok()
}

impl TableEncoder {
    /// Learns the encoding of every column of `df` except those in `exclude` (ids, dates,
    /// labels; names not in the table are ignored). Errors on an empty table, an all-null
    /// column (naming it), a column of an unsupported dtype, or when no feature is left.
    pub fn fit(df: &DataFrame, exclude: &[&str]) -> Result<TableEncoder, ModelError> {
        if df.height() == 0 {
            return Err(ModelError::EmptyTable {
                action: "learn an encoding",
            });
        }
        let mut columns = Vec::new();
        let mut skipped = Vec::new();
        for col in df.columns() {
            let name = col.name().as_str();
            if exclude.contains(&name) {
                continue;
            }
            let dtype = col.dtype();
            if dtype.is_null() || col.null_count() == col.len() {
                // A derived feature the data cannot fill (no campaigns yet, a tier vocabulary
                // without a known order): nothing to learn from, so not a feature.
                skipped.push(SkippedColumn {
                    name: name.to_string(),
                    dtype: dtype.to_string(),
                    reason: "entirely null in the training rows: it carries no information".into(),
                });
                continue;
            }
            let kind = if dtype.is_primitive_numeric() {
                ColumnKind::Numeric
            } else if dtype.is_bool() {
                ColumnKind::Boolean
            } else if dtype.is_temporal() {
                skipped.push(SkippedColumn {
                    name: name.to_string(),
                    dtype: dtype.to_string(),
                    reason: "dates and timestamps are not features (derive a duration instead)"
                        .into(),
                });
                continue;
            } else if dtype.is_string() {
                text_kind(col)?
            } else {
                return Err(ModelError::UnsupportedColumn {
                    column: name.to_string(),
                    dtype: dtype.to_string(),
                });
            };
            columns.push(ColumnEncoder {
                name: name.to_string(),
                kind,
            });
        }
        if columns.is_empty() {
            return Err(ModelError::NoFeatures {
                excluded: exclude.iter().map(|s| s.to_string()).collect(),
            });
        }
        Ok(TableEncoder { columns, skipped })
    }

    /// Encodes `df` as learned. A missing column is an error naming it; an unseen or rare level
    /// goes to `__other`; a column whose dtype cannot hold what was learned (e.g. a date where
    /// a number was) is an error naming the column. Extra columns are ignored.
    pub fn transform(&self, df: &DataFrame) -> Result<FeatureMatrix, ModelError> {
        let mut names = Vec::new();
        let mut columns = Vec::new();
        for enc in &self.columns {
            let col = df
                .column(&enc.name)
                .map_err(|_| ModelError::MissingColumn {
                    column: enc.name.clone(),
                })?;
            names.extend(enc.feature_names());
            match &enc.kind {
                ColumnKind::Numeric => columns.push(numeric_values(col, false)?),
                ColumnKind::NumericText => columns.push(numeric_values(col, true)?),
                ColumnKind::Boolean => columns.push(boolean_values(col)?),
                ColumnKind::Categorical { levels } => columns.extend(one_hot(col, levels)?),
            }
        }
        Ok(FeatureMatrix { names, columns })
    }

    /// The input columns a table must have, in encoding order.
    pub fn input_columns(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// The encoded feature names, in [`FeatureMatrix`] column order.
    pub fn feature_names(&self) -> Vec<String> {
        self.columns
            .iter()
            .flat_map(ColumnEncoder::feature_names)
            .collect()
    }

    /// How each input column is encoded.
    pub fn columns(&self) -> &[ColumnEncoder] {
        &self.columns
    }

    /// Columns of the training table that were not used (dates), with the reason.
    pub fn skipped(&self) -> &[SkippedColumn] {
        &self.skipped
    }
}

/// Numeric text or categorical, from the training values of a text column.
fn text_kind(col: &Column) -> Result<ColumnKind, ModelError> {
    let name = col.name().as_str();
    let ca = col.str().map_err(polars_err(name))?;
    let mut non_null = 0usize;
    let mut parsed = 0usize;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for v in ca.iter() {
        match v {
            Some(s) => {
                non_null += 1;
                if parse_number(s).is_some() {
                    parsed += 1;
                }
                *counts.entry(s).or_default() += 1;
            }
            None => *counts.entry(NULL_LEVEL).or_default() += 1,
        }
    }
    if parsed > 0 && parsed as f64 >= NUMERIC_TEXT_SHARE * non_null as f64 {
        return Ok(ColumnKind::NumericText);
    }
    let n = col.len() as f64;
    let mut by_count: Vec<(&str, usize)> = counts.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let levels = by_count
        .into_iter()
        .filter(|&(level, c)| c as f64 >= MIN_LEVEL_SHARE * n && level != OTHER_LEVEL)
        .take(MAX_LEVELS)
        .map(|(level, _)| level.to_string())
        .collect();
    Ok(ColumnKind::Categorical { levels })
}

fn wrong_type(col: &Column, expected: &str) -> ModelError {
    ModelError::WrongType {
        column: col.name().to_string(),
        expected: expected.to_string(),
        found: col.dtype().to_string(),
    }
}

/// A numeric column's values. Text is parsed: blank → NaN; an unparseable value is NaN when
/// `lenient` (numeric text, as learned) and an error naming the row otherwise.
fn numeric_values(col: &Column, lenient: bool) -> Result<Vec<f64>, ModelError> {
    let name = col.name().as_str();
    let dtype = col.dtype();
    if dtype.is_null() {
        return Ok(vec![f64::NAN; col.len()]);
    }
    if dtype.is_primitive_numeric() {
        let s = col.cast(&DataType::Float64).map_err(polars_err(name))?;
        let ca = s.f64().map_err(polars_err(name))?;
        return Ok(ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect());
    }
    if dtype.is_string() {
        let ca = col.str().map_err(polars_err(name))?;
        let mut out = Vec::with_capacity(col.len());
        for (row, v) in ca.iter().enumerate() {
            out.push(match v {
                None => f64::NAN,
                Some(s) => match parse_number(s) {
                    Some(x) => x,
                    None if lenient || s.trim().is_empty() => f64::NAN,
                    None => {
                        return Err(ModelError::BadValue {
                            column: name.to_string(),
                            row,
                            value: s.to_string(),
                        })
                    }
                },
            });
        }
        return Ok(out);
    }
    Err(wrong_type(col, "a number"))
}

/// A boolean column as 0/1 (numbers are taken as they are).
fn boolean_values(col: &Column) -> Result<Vec<f64>, ModelError> {
    let name = col.name().as_str();
    let dtype = col.dtype();
    if dtype.is_bool() {
        let ca = col.bool().map_err(polars_err(name))?;
        return Ok(ca
            .iter()
            .map(|v| v.map_or(f64::NAN, |b| f64::from(u8::from(b))))
            .collect());
    }
    if dtype.is_null() || dtype.is_primitive_numeric() {
        return numeric_values(col, false);
    }
    Err(wrong_type(col, "a boolean"))
}

/// One-hot columns `levels…, __other` (null counts as [`NULL_LEVEL`]).
fn one_hot(col: &Column, levels: &[String]) -> Result<Vec<Vec<f64>>, ModelError> {
    let name = col.name().as_str();
    let n = col.len();
    let dtype = col.dtype();
    let text: Series = if dtype.is_string() {
        col.as_materialized_series().clone()
    } else if dtype.is_null() || dtype.is_bool() || dtype.is_primitive_numeric() {
        col.cast(&DataType::String)
            .map_err(polars_err(name))?
            .as_materialized_series()
            .clone()
    } else {
        return Err(wrong_type(col, "text"));
    };
    let ca = text.str().map_err(polars_err(name))?;
    let index: HashMap<&str, usize> = levels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i))
        .collect();
    let other = levels.len();
    let mut out = vec![vec![0.0; n]; levels.len() + 1];
    for (row, v) in ca.iter().enumerate() {
        let k = index.get(v.unwrap_or(NULL_LEVEL)).copied().unwrap_or(other);
        out[k][row] = 1.0;
    }
    Ok(out)
}

const POSITIVE_WORDS: &[&str] = &[
    "1", "1.0", "yes", "y", "true", "t", "churn", "churned", "churner", "left", "lost",
];
const NEGATIVE_WORDS: &[&str] = &[
    "0",
    "0.0",
    "no",
    "n",
    "false",
    "f",
    "stayed",
    "stay",
    "retained",
    "active",
    "not churned",
    "no churn",
];

/// A label column as 0/1 `f64`: numbers 0/1, booleans, or text (trimmed, case-insensitive)
/// yes/no, y/n, true/false, t/f, 1/0, churned/stayed, churn/retained, left/active. A null or
/// any other value is an error naming the column, the value and its row; a single class is an
/// error giving the counts.
pub fn parse_label(s: &Series) -> Result<Vec<f64>, ModelError> {
    let column = s.name().to_string();
    let bad = |row: usize, value: String| ModelError::BadLabel {
        column: column.clone(),
        row,
        value,
    };
    let null = |row: usize| ModelError::NullLabel {
        column: column.clone(),
        row,
    };
    let dtype = s.dtype();
    let mut y = Vec::with_capacity(s.len());
    if dtype.is_null() {
        if s.is_empty() {
            return Err(ModelError::EmptyData {
                set: "label column",
            });
        }
        return Err(null(0));
    } else if dtype.is_bool() {
        let ca = s.bool().map_err(polars_err(&column))?;
        for (row, v) in ca.iter().enumerate() {
            y.push(f64::from(u8::from(v.ok_or_else(|| null(row))?)));
        }
    } else if dtype.is_primitive_numeric() {
        let c = s.cast(&DataType::Float64).map_err(polars_err(&column))?;
        let ca = c.f64().map_err(polars_err(&column))?;
        for (row, v) in ca.iter().enumerate() {
            match v {
                None => return Err(null(row)),
                Some(x) if x == 0.0 || x == 1.0 => y.push(x),
                Some(x) => return Err(bad(row, x.to_string())),
            }
        }
    } else if dtype.is_string() {
        let ca = s.str().map_err(polars_err(&column))?;
        for (row, v) in ca.iter().enumerate() {
            let v = v.ok_or_else(|| null(row))?;
            let word = v.trim().to_lowercase();
            if POSITIVE_WORDS.contains(&word.as_str()) {
                y.push(1.0);
            } else if NEGATIVE_WORDS.contains(&word.as_str()) {
                y.push(0.0);
            } else {
                return Err(bad(row, v.to_string()));
            }
        }
    } else {
        return Err(ModelError::WrongType {
            column,
            expected: "a binary label (0/1, boolean or yes/no text)".into(),
            found: dtype.to_string(),
        });
    }
    if y.is_empty() {
        return Err(ModelError::EmptyData {
            set: "label column",
        });
    }
    let positives = y.iter().filter(|&&v| v == 1.0).count();
    let negatives = y.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(ModelError::SingleClass {
            column,
            positives,
            negatives,
        });
    }
    Ok(y)
}
