//! Warehouse stage: reads a warehouse export (seven tables, CSV or Parquet, see
//! `docs/data-contract.md`), validates every row against the contract in [`schema`], and returns
//! typed polars frames plus a [`LoadReport`] that accounts for every row read
//! (`read = used + quarantined + duplicates collapsed`). Hard errors (missing table, missing
//! column, column of the wrong kind) are [`LoadError`]s that name the table and column.

mod load;
mod parse;
mod quarantine;
pub mod schema;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::{ChunkAgg, DataFrame, DataType, PolarsError};
use serde::Serialize;

pub use quarantine::{REASON, SOURCE_ROW};
pub use schema::Table;

/// Loads and validates the warehouse export in `dir`.
///
/// Each table is read from `<stem>.parquet` or `<stem>.csv` (Parquet wins when both exist).
/// Rows that break the contract are quarantined (see [`TableReport::quarantine`]), exact
/// duplicate rows collapsed; the returned [`Warehouse`] holds only the rows used. Problems with
/// a whole table or column are a [`LoadError`] and nothing is returned.
pub fn load(dir: &Path) -> Result<(Warehouse, LoadReport), LoadError> {
    load::load(dir)
}

/// A problem with a whole table or column: the export cannot be used as it is.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the export directory {dir}: {source}")]
    Directory {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("table {table} is missing: looked for {} in {dir}", looked_for.join(" and "))]
    MissingTable {
        table: Table,
        dir: PathBuf,
        looked_for: Vec<String>,
    },
    #[error("cannot read {file} (table {table}): {source}")]
    Unreadable {
        table: Table,
        file: PathBuf,
        #[source]
        source: PolarsError,
    },
    #[error(
        "{file}: table {table} has no column `{column}`, which is required; columns found: {}",
        found.join(", ")
    )]
    MissingColumn {
        table: Table,
        file: PathBuf,
        column: &'static str,
        found: Vec<String>,
    },
    #[error(
        "{file}: column `{column}` of table {table} has type {found}, which cannot hold {expected}"
    )]
    WrongType {
        table: Table,
        file: PathBuf,
        column: &'static str,
        expected: &'static str,
        found: String,
    },
    #[error(
        "{file}: column `{column}` of table {table} should hold {expected}, but none of its \
         {non_empty} non-empty values is one (for example `{example}`)"
    )]
    WrongKind {
        table: Table,
        file: PathBuf,
        column: &'static str,
        expected: &'static str,
        non_empty: usize,
        example: String,
    },
    #[error("table {table}: {step} failed: {source}")]
    Polars {
        table: Table,
        step: &'static str,
        #[source]
        source: PolarsError,
    },
    #[error(
        "table {table}: rows do not add up: {read} read, but {used} used + {quarantined} \
         quarantined + {collapsed} duplicates collapsed"
    )]
    Accounting {
        table: Table,
        read: usize,
        used: usize,
        quarantined: usize,
        collapsed: usize,
    },
    #[error("internal error in the loader: {0}")]
    Internal(&'static str),
}

impl LoadError {
    /// The table the error is about, if any.
    pub fn table(&self) -> Option<Table> {
        match self {
            LoadError::Directory { .. } | LoadError::Internal(_) => None,
            LoadError::MissingTable { table, .. }
            | LoadError::Unreadable { table, .. }
            | LoadError::MissingColumn { table, .. }
            | LoadError::WrongType { table, .. }
            | LoadError::WrongKind { table, .. }
            | LoadError::Polars { table, .. }
            | LoadError::Accounting { table, .. } => Some(*table),
        }
    }

    /// The column the error is about, if any.
    pub fn column(&self) -> Option<&'static str> {
        match self {
            LoadError::MissingColumn { column, .. }
            | LoadError::WrongType { column, .. }
            | LoadError::WrongKind { column, .. } => Some(column),
            _ => None,
        }
    }
}

/// A validated warehouse: every table holds exactly its contract columns (canonical order and
/// dtypes, see [`schema`]), only rows that passed validation, one row per primary key.
#[derive(Debug, Clone)]
pub struct Warehouse {
    pub customers: DataFrame,
    pub products: DataFrame,
    pub invoices: DataFrame,
    pub assignments: DataFrame,
    pub tickets: DataFrame,
    pub campaigns: DataFrame,
    pub usage: DataFrame,
}

impl Warehouse {
    /// The frame of one table.
    pub fn table(&self, t: Table) -> &DataFrame {
        match t {
            Table::Customer => &self.customers,
            Table::Product => &self.products,
            Table::Invoice => &self.invoices,
            Table::ServiceAssignment => &self.assignments,
            Table::SupportTicket => &self.tickets,
            Table::CampaignTarget => &self.campaigns,
            Table::NetworkUsage => &self.usage,
        }
    }

    /// Last date the export covers: the latest of every fact date (`invoice_date`,
    /// `start_date`, the date of `opened_at`, `target_date`, `usage_date`) and of the dates
    /// that record later events (`paid_date`, `end_date`, `resolved_at`, `churn_date`,
    /// `signup_date`). `None` for an empty warehouse.
    pub fn observed_until(&self) -> Option<NaiveDate> {
        use schema::{assignment, campaign, customer, invoice, ticket, usage};
        let columns: [(Table, &str); 10] = [
            (Table::Customer, customer::SIGNUP_DATE),
            (Table::Customer, customer::CHURN_DATE),
            (Table::Invoice, invoice::INVOICE_DATE),
            (Table::Invoice, invoice::PAID_DATE),
            (Table::ServiceAssignment, assignment::START_DATE),
            (Table::ServiceAssignment, assignment::END_DATE),
            (Table::SupportTicket, ticket::OPENED_AT),
            (Table::SupportTicket, ticket::RESOLVED_AT),
            (Table::CampaignTarget, campaign::TARGET_DATE),
            (Table::NetworkUsage, usage::USAGE_DATE),
        ];
        columns
            .iter()
            .filter_map(|&(t, name)| max_date(self.table(t), name))
            .max()
    }
}

/// The latest date in a Date or Datetime column (a timestamp counts by its UTC date).
fn max_date(frame: &DataFrame, name: &str) -> Option<NaiveDate> {
    let col = frame.column(name).ok()?;
    match col.dtype() {
        DataType::Date => parse::date_from_days(col.date().ok()?.phys.max()?),
        DataType::Datetime(unit, _) => {
            let ticks = col.datetime().ok()?.phys.max()?;
            let per_second = match unit {
                polars::prelude::TimeUnit::Milliseconds => 1_000,
                polars::prelude::TimeUnit::Microseconds => 1_000_000,
                polars::prelude::TimeUnit::Nanoseconds => 1_000_000_000,
            };
            chrono::DateTime::from_timestamp(ticks.div_euclid(per_second), 0)
                .map(|dt| dt.date_naive())
        }
        _ => None,
    }
}

/// File format of a table in an export directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Csv,
    Parquet,
}

/// The accounting of one table: `rows_read = rows_used + rows_quarantined + duplicates_collapsed`.
#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    pub table: Table,
    pub file: PathBuf,
    pub format: Format,
    pub rows_read: usize,
    pub rows_used: usize,
    pub rows_quarantined: usize,
    pub duplicates_collapsed: usize,
    /// Quarantined rows counted by reason kind (e.g. `"unparseable value"`, `"orphan foreign key"`).
    pub reasons: BTreeMap<String, usize>,
    /// The quarantined rows: `_source_row` (1-based data row; CSV line = row + 1), `_reason`,
    /// then every column of the file as text.
    #[serde(skip)]
    pub quarantine: DataFrame,
}

/// Accounting for a whole export.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub source: PathBuf,
    pub tables: Vec<TableReport>,
    /// The last date the export covers (see [`Warehouse::observed_until`]).
    pub observed_until: Option<NaiveDate>,
}
