//! Warehouse stage: reads a warehouse export (seven tables, CSV or Parquet, see
//! `docs/data-contract.md`), validates every row against the contract in [`schema`], and returns
//! typed polars frames plus a [`LoadReport`] that accounts for every row read
//! (`read = used + quarantined + duplicates collapsed`). Hard errors (missing table, missing
//! column, column of the wrong kind) are [`LoadError`]s that name the table and column.

pub mod schema;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use polars::prelude::DataFrame;
use serde::Serialize;

pub use schema::Table;

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
