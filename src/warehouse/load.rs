//! Loading an export directory: find each table's file, read it, convert its contract columns,
//! validate every row, and account for every row read.
//!
//! Phases: (1) all seven files are read and parsed in parallel (hard errors surface here, before
//! any row is judged); (2) the dimensions are validated and de-duplicated; (3) the facts are
//! validated in parallel, their foreign keys checked against the dimension rows that survived.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use polars::prelude::*;
use rayon::prelude::*;

use super::parse::{self, Parsed};
use super::quarantine;
use super::schema::{ColumnSpec, Default, Table};
use super::validate::{self, ColumnFlags, Judged, Problem, RowProblem};
use super::{Format, LoadError, LoadReport, TableReport, Warehouse};

/// Where a table was found.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub table: Table,
    pub file: PathBuf,
    pub format: Format,
}

/// A table read and parsed, not yet judged.
pub(crate) struct Staged {
    pub source: Source,
    /// Every column of the file, in file order.
    pub file_columns: Vec<String>,
    /// The columns as read (CSV: all of them, as text; Parquet: the contract columns present,
    /// typed). Kept only to render quarantined rows as text.
    pub raw: DataFrame,
    /// The contract columns in schema order, canonical dtypes.
    pub frame: DataFrame,
    /// Per contract column (schema order): the rows it flags.
    pub flags: Vec<ColumnFlags>,
}

/// Reads, validates and accounts for the export in `dir` (see [`super::load`]).
pub(crate) fn load(dir: &Path) -> Result<(Warehouse, LoadReport), LoadError> {
    if let Err(source) = std::fs::read_dir(dir) {
        return Err(LoadError::Directory {
            dir: dir.to_path_buf(),
            source,
        });
    }
    let sources = Table::ALL
        .iter()
        .map(|&t| locate(dir, t))
        .collect::<Result<Vec<_>, _>>()?;

    let staged = sources
        .into_par_iter()
        .map(stage)
        .collect::<Vec<_>>()
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let mut staged = staged.into_iter();
    let mut next = || {
        staged
            .next()
            .ok_or(LoadError::Internal("fewer than seven tables staged"))
    };
    let (customers, products) = (next()?, next()?);
    let facts: Vec<Staged> = std::iter::from_fn(|| staged.next()).collect();

    let no_keys = DimKeys::default();
    let (customers, products) = rayon::join(
        || finish(customers, &no_keys),
        || finish(products, &no_keys),
    );
    let (customers, products) = (customers?, products?);
    let customer_keys = key_column(&customers.0, Table::Customer)?;
    let product_keys = key_column(&products.0, Table::Product)?;
    let keys = DimKeys {
        customer: Some(validate::key_set(customer_keys)),
        product: Some(validate::key_set(product_keys)),
    };
    let facts = facts
        .into_par_iter()
        .map(|s| finish(s, &keys))
        .collect::<Vec<_>>()
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    drop(keys);

    let mut frames = Vec::with_capacity(7);
    let mut tables = Vec::with_capacity(7);
    for (frame, report) in [customers, products].into_iter().chain(facts) {
        frames.push(frame);
        tables.push(report);
    }
    let mut frames = frames.into_iter();
    let mut take = || {
        frames
            .next()
            .ok_or(LoadError::Internal("fewer than seven tables loaded"))
    };
    let warehouse = Warehouse {
        customers: take()?,
        products: take()?,
        invoices: take()?,
        assignments: take()?,
        tickets: take()?,
        campaigns: take()?,
        usage: take()?,
    };
    let report = LoadReport {
        source: dir.to_path_buf(),
        tables,
        observed_until: warehouse.observed_until(),
    };
    Ok((warehouse, report))
}

/// Finds `<stem>.parquet` (preferred) or `<stem>.csv` in `dir`.
fn locate(dir: &Path, table: Table) -> Result<Source, LoadError> {
    let stem = table.file_stem();
    for (ext, format) in [("parquet", Format::Parquet), ("csv", Format::Csv)] {
        let file = dir.join(format!("{stem}.{ext}"));
        if file.is_file() {
            return Ok(Source {
                table,
                file,
                format,
            });
        }
    }
    Err(LoadError::MissingTable {
        table,
        dir: dir.to_path_buf(),
        looked_for: vec![format!("{stem}.parquet"), format!("{stem}.csv")],
    })
}

/// Reads a table and converts its contract columns (phase 1).
fn stage(source: Source) -> Result<Staged, LoadError> {
    let spec = source.table.spec();
    let started = Instant::now();
    let (raw, file_columns) = match source.format {
        Format::Csv => {
            let raw = read_csv(&source)?;
            let names = raw
                .get_column_names()
                .iter()
                .map(|n| n.to_string())
                .collect();
            (raw, names)
        }
        Format::Parquet => read_parquet_contract(&source)?,
    };
    for c in spec.columns {
        if c.optional.is_none() && !file_columns.iter().any(|f| f == c.name) {
            return Err(LoadError::MissingColumn {
                table: source.table,
                file: source.file.clone(),
                column: c.name,
                found: file_columns.clone(),
            });
        }
    }

    let read_ms = started.elapsed().as_millis();
    let height = raw.height();
    let mut columns = Vec::with_capacity(spec.columns.len());
    let mut flags = Vec::with_capacity(spec.columns.len());
    for c in spec.columns {
        match raw.column(c.name).ok() {
            Some(col) => {
                let parsed = parse_column(&source, c, col.as_materialized_series())?;
                flags.push(
                    validate::value_flags(c, &parsed).map_err(polars_err(&source, "validation"))?,
                );
                columns.push(parsed.series.into_column());
            }
            None => {
                columns.push(default_column(c, height));
                flags.push(ColumnFlags::default());
            }
        }
    }
    let frame = DataFrame::new(height, columns).map_err(polars_err(&source, "assembling"))?;
    tracing::debug!(
        table = %source.table,
        rows = height,
        read_ms,
        parse_ms = started.elapsed().as_millis() - read_ms,
        "Read and parsed table"
    );
    Ok(Staged {
        source,
        file_columns,
        raw,
        frame,
        flags,
    })
}

/// Converts one column, turning "this column is of the wrong kind" into a hard error.
fn parse_column(source: &Source, c: &ColumnSpec, raw: &Series) -> Result<Parsed, LoadError> {
    let parsed = match source.format {
        Format::Csv => parse::parse_text(
            raw.str().map_err(polars_err(source, "reading text"))?,
            c.kind,
        ),
        Format::Parquet => parse::convert_typed(raw, c.kind)
            .map_err(polars_err(source, "converting"))?
            .ok_or_else(|| LoadError::WrongType {
                table: source.table,
                file: source.file.clone(),
                column: c.name,
                expected: c.kind.describe(),
                found: raw.dtype().to_string(),
            })?,
    };
    if parsed.from_text {
        let non_empty = parsed.present.num_trues();
        let parsed_ok = parsed.series.len() - parsed.series.null_count();
        if non_empty > 0 && parsed_ok == 0 {
            let example = raw
                .str()
                .ok()
                .and_then(|ca| ca.iter().flatten().find(|v| !v.trim().is_empty()))
                .unwrap_or_default()
                .to_string();
            return Err(LoadError::WrongKind {
                table: source.table,
                file: source.file.clone(),
                column: c.name,
                expected: c.kind.describe(),
                non_empty,
                example,
            });
        }
    }
    Ok(parsed)
}

/// An absent optional column, filled with its default.
fn default_column(c: &ColumnSpec, height: usize) -> Column {
    match c.optional {
        Some(Default::Float(v)) => Column::new_scalar(
            c.name.into(),
            Scalar::new(DataType::Float64, AnyValue::Float64(v)),
            height,
        ),
        _ => Column::full_null(c.name.into(), height, &c.kind.dtype()),
    }
}

/// Every column of a CSV file, as text (no type inference).
fn read_csv(source: &Source) -> Result<DataFrame, LoadError> {
    CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(source.file.clone()))
        .and_then(|r| r.finish())
        .map_err(|e| unreadable(source, e))
}

/// The contract columns present in a Parquet file (typed), and the names of all its columns.
/// A contract column whose physical type cannot hold its kind is a hard error, raised before
/// any data is read.
fn read_parquet_contract(source: &Source) -> Result<(DataFrame, Vec<String>), LoadError> {
    let spec = source.table.spec();
    let file = File::open(&source.file).map_err(|e| unreadable(source, e.into()))?;
    let mut reader = ParquetReader::new(file);
    let schema = reader.schema().map_err(|e| unreadable(source, e))?;
    let file_columns: Vec<String> = schema.iter_values().map(|f| f.name.to_string()).collect();
    let mut wanted = Vec::new();
    for field in schema.iter_values() {
        let Some(c) = spec.column(field.name.as_str()) else {
            continue;
        };
        let accepted = plain_arrow_type(&field.dtype)
            && parse::accepts(&DataType::from_arrow_field(field), c.kind);
        if !accepted {
            return Err(LoadError::WrongType {
                table: source.table,
                file: source.file.clone(),
                column: c.name,
                expected: c.kind.describe(),
                found: format!("{:?}", field.dtype),
            });
        }
        wanted.push(c.name.to_string());
    }
    let raw = reader
        .with_columns(Some(wanted))
        .finish()
        .map_err(|e| unreadable(source, e))?;
    Ok((raw, file_columns))
}

/// Columns of a Parquet file that are not contract columns, for rendering quarantined rows.
/// Columns of nested or exotic types are left out (they cannot be written as one CSV field).
pub(crate) fn read_parquet_extras(source: &Source) -> Result<DataFrame, LoadError> {
    let spec = source.table.spec();
    let file = File::open(&source.file).map_err(|e| unreadable(source, e.into()))?;
    let mut reader = ParquetReader::new(file);
    let schema = reader.schema().map_err(|e| unreadable(source, e))?;
    let extras: Vec<String> = schema
        .iter_values()
        .filter(|f| spec.column(f.name.as_str()).is_none() && plain_arrow_type(&f.dtype))
        .map(|f| f.name.to_string())
        .collect();
    if extras.is_empty() {
        return Ok(DataFrame::empty());
    }
    reader
        .with_columns(Some(extras))
        .finish()
        .map_err(|e| unreadable(source, e))
}

/// Flat Arrow types the loader reads (and can render as text).
fn plain_arrow_type(dt: &ArrowDataType) -> bool {
    use ArrowDataType as A;
    matches!(
        dt,
        A::Null
            | A::Boolean
            | A::Int8
            | A::Int16
            | A::Int32
            | A::Int64
            | A::UInt8
            | A::UInt16
            | A::UInt32
            | A::UInt64
            | A::Float32
            | A::Float64
            | A::Utf8
            | A::LargeUtf8
            | A::Utf8View
            | A::Date32
            | A::Date64
            | A::Timestamp(..)
    )
}

/// The used primary keys of the dimensions, for the facts' foreign keys.
#[derive(Default)]
struct DimKeys<'a> {
    customer: Option<PlHashSet<&'a str>>,
    product: Option<PlHashSet<&'a str>>,
}

impl DimKeys<'_> {
    fn get(&self, t: Table) -> Option<&PlHashSet<&str>> {
        match t {
            Table::Customer => self.customer.as_ref(),
            Table::Product => self.product.as_ref(),
            _ => None,
        }
    }
}

/// The primary-key column of a loaded dimension.
fn key_column(frame: &DataFrame, t: Table) -> Result<&StringChunked, LoadError> {
    let name = t.spec().primary_key[0];
    frame
        .column(name)
        .and_then(|c| c.str())
        .map_err(|source| LoadError::Polars {
            table: t,
            step: "reading keys",
            source,
        })
}

/// Judges every row of a staged table: foreign keys, first problem per row, duplicate keys;
/// returns the used rows and the table's report (phases 2 and 3).
fn finish(mut staged: Staged, dims: &DimKeys) -> Result<(DataFrame, TableReport), LoadError> {
    let source = staged.source.clone();
    let spec = source.table.spec();
    let err = |step| polars_err(&source, step);
    let started = Instant::now();
    for fk in spec.foreign_keys {
        let Some(keys) = dims.get(fk.references) else {
            return Err(LoadError::Internal(
                "foreign key checked before its dimension",
            ));
        };
        let Some(i) = spec.columns.iter().position(|c| c.name == fk.column) else {
            continue;
        };
        let values = staged.frame.columns()[i]
            .str()
            .map_err(err("foreign keys"))?;
        staged.flags[i].orphan = validate::orphans(values, keys).map(|m| (m, fk.references));
    }
    let fk_ms = started.elapsed().as_millis();
    let Judged { problems, bad } =
        validate::first_problems(&staged.flags).map_err(err("validation"))?;
    let dups = validate::duplicates(&staged.frame, spec.primary_key, bad.as_ref())
        .map_err(err("duplicate keys"))?;
    let dup_ms = started.elapsed().as_millis() - fk_ms;

    let mut quarantined = problems;
    quarantined.extend(dups.conflicts.iter().map(|&(row, first)| RowProblem {
        row,
        column: None,
        problem: Problem::Conflict { first },
    }));
    quarantined.sort_unstable_by_key(|p| p.row);
    let quarantine = quarantine::build(&staged, &quarantined)?;
    let mut reasons = BTreeMap::new();
    for p in &quarantined {
        *reasons.entry(p.problem.label().to_string()).or_insert(0) += 1;
    }

    let rows_read = staged.frame.height();
    let Staged { frame, raw, .. } = staged;
    drop(raw);
    let removed = quarantined.len() + dups.collapsed.len();
    let used = if removed == 0 {
        frame
    } else {
        let mut keep = vec![true; rows_read];
        for p in &quarantined {
            keep[p.row as usize] = false;
        }
        for &row in &dups.collapsed {
            keep[row as usize] = false;
        }
        let mask = BooleanChunked::from_slice("keep".into(), &keep);
        frame.filter(&mask).map_err(err("dropping bad rows"))?
    };

    tracing::debug!(
        table = %source.table,
        fk_ms,
        dup_ms,
        total_ms = started.elapsed().as_millis(),
        "Validated table"
    );
    let report = TableReport {
        table: source.table,
        file: source.file.clone(),
        format: source.format,
        rows_read,
        rows_used: used.height(),
        rows_quarantined: quarantined.len(),
        duplicates_collapsed: dups.collapsed.len(),
        reasons,
        quarantine,
    };
    if report.rows_read != report.rows_used + report.rows_quarantined + report.duplicates_collapsed
    {
        return Err(LoadError::Accounting {
            table: report.table,
            read: report.rows_read,
            used: report.rows_used,
            quarantined: report.rows_quarantined,
            collapsed: report.duplicates_collapsed,
        });
    }
    Ok((used, report))
}

fn unreadable(source: &Source, e: PolarsError) -> LoadError {
    LoadError::Unreadable {
        table: source.table,
        file: source.file.clone(),
        source: e,
    }
}

fn polars_err<'a>(
    source: &'a Source,
    step: &'static str,
) -> impl Fn(PolarsError) -> LoadError + 'a {
    move |e| LoadError::Polars {
        table: source.table,
        step,
        source: e,
    }
}
