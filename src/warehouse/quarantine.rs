//! Quarantine: the rows a load refused, each with the reason it was refused and every column of
//! the original file as text, so that a person can fix the rows and feed them back.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::load::{self, Staged};
use super::parse;
use super::schema::{Check, TableSpec};
use super::validate::{Problem, RowProblem};
use super::{Format, LoadError, LoadReport};
use crate::output::{self, FileFormat, OutputError};

/// Name of the 1-based data row number column of a quarantine frame.
pub const SOURCE_ROW: &str = "_source_row";
/// Name of the reason column of a quarantine frame.
pub const REASON: &str = "_reason";

/// The quarantine frame of a table: for each quarantined row (sorted),
/// `_source_row` (1-based), `_reason`, then every column of the file as text in file order.
pub(crate) fn build(staged: &Staged, rows: &[RowProblem]) -> Result<DataFrame, LoadError> {
    let source = &staged.source;
    let spec = source.table.spec();
    let err = |source_err| LoadError::Polars {
        table: source.table,
        step: "building quarantine",
        source: source_err,
    };
    let idx = IdxCa::from_vec("".into(), rows.iter().map(|r| r.row).collect());
    let has_extras = staged.file_columns.iter().any(|c| spec.column(c).is_none());
    let extras = if source.format == Format::Parquet && has_extras && !rows.is_empty() {
        load::read_parquet_extras(source)?
    } else {
        DataFrame::empty()
    };

    let mut columns = Vec::with_capacity(staged.file_columns.len() + 2);
    let source_rows: Vec<i64> = rows.iter().map(|r| i64::from(r.row) + 1).collect();
    columns.push(Column::new(SOURCE_ROW.into(), source_rows));
    columns.push(Column::new(REASON.into(), Vec::<String>::new()));
    for name in &staged.file_columns {
        let Some(col) = staged
            .raw
            .column(name)
            .ok()
            .or_else(|| extras.column(name).ok())
        else {
            continue;
        };
        let taken = col.as_materialized_series().take(&idx).map_err(err)?;
        columns.push(parse::to_text(&taken).map_err(err)?.into_column());
    }
    // Reasons quote the file's own text, so they are built from the text columns.
    let text = DataFrame::new(rows.len(), columns.split_off(2)).map_err(err)?;
    let reasons: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| reason(spec, &text, i, r.column, r.problem))
        .collect();
    columns[1] = Column::new(REASON.into(), reasons);
    columns.extend(text.into_columns());
    DataFrame::new(rows.len(), columns).map_err(err)
}

/// The text of `column` in row `i` of the text frame ("" when empty).
fn text_at<'a>(text: &'a DataFrame, column: &str, i: usize) -> &'a str {
    text.column(column)
        .ok()
        .and_then(|c| c.str().ok())
        .and_then(|ca| ca.get(i))
        .unwrap_or("")
}

/// One row's reason, e.g. "column `amount`: expected a number, got `12,5`".
fn reason(
    spec: &TableSpec,
    text: &DataFrame,
    i: usize,
    column: Option<usize>,
    problem: Problem,
) -> String {
    if let Problem::Conflict { first } = problem {
        let names: Vec<String> = spec.primary_key.iter().map(|k| format!("`{k}`")).collect();
        let values: Vec<String> = spec
            .primary_key
            .iter()
            .map(|k| format!("`{}`", text_at(text, k, i).trim()))
            .collect();
        let key = if names.len() == 1 {
            format!("{} = {}", names[0], values[0])
        } else {
            format!("({}) = ({})", names.join(", "), values.join(", "))
        };
        return format!(
            "conflicting duplicate key {key}: row {} has the same key with other values \
             (the first occurrence is kept)",
            u64::from(first) + 1
        );
    }
    let Some(c) = column.and_then(|c| spec.columns.get(c)) else {
        return problem.label().to_string();
    };
    let raw = text_at(text, c.name, i);
    let v = raw.trim();
    let what = match problem {
        Problem::Unparseable => parse::explain_unparseable(c.kind, raw),
        Problem::Missing => "missing required value".to_string(),
        Problem::OutOfRange => match c.check {
            Check::NonNegative => format!("{v} is negative"),
            Check::Range(lo, hi) => format!("{v} is outside [{lo}, {hi}]"),
            Check::OneOf(allowed) => format!("`{v}` is not one of {}", allowed.join(", ")),
            Check::Any | Check::NonEmpty => format!("`{v}` is not allowed"),
        },
        Problem::Orphan(t) => format!("`{v}` not found in {t}"),
        Problem::Conflict { .. } => problem.label().to_string(),
    };
    format!("column `{}`: {what}", c.name)
}

impl LoadReport {
    /// Writes `<out_dir>/quarantine/<table>.csv` for every table with at least one quarantined
    /// row (atomically, via [`crate::output`]) and returns the paths written. A quarantine file
    /// left by an earlier run for a table that is now clean is removed, so the directory always
    /// describes this load.
    pub fn write_quarantine(&self, out_dir: &Path) -> Result<Vec<PathBuf>, OutputError> {
        let dir = out_dir.join("quarantine");
        let mut written = Vec::new();
        for t in &self.tables {
            let path = dir.join(format!("{}.csv", t.table.file_stem()));
            if t.quarantine.height() == 0 {
                if path.is_file() {
                    std::fs::remove_file(&path).map_err(|source| OutputError::Io {
                        path: path.clone(),
                        source,
                    })?;
                }
                continue;
            }
            let mut frame = t.quarantine.clone();
            output::write_frame(&mut frame, &path, FileFormat::Csv)?;
            written.push(path);
        }
        Ok(written)
    }

    /// Quarantined rows over all tables.
    pub fn total_quarantined(&self) -> usize {
        self.tables.iter().map(|t| t.rows_quarantined).sum()
    }
}
