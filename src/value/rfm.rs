//! Transaction logs → the per-customer summary BG/NBD and Gamma-Gamma are fitted on, built as
//! `lifetimes.utils.summary_data_from_transaction_data` does:
//!
//! - purchases on the same calendar day are one transaction (their amounts summed);
//! - `frequency` = number of purchase days − 1 (repeat purchases);
//! - `recency` = last purchase day − first purchase day, `T` = observation end − first purchase
//!   day, in days (lifetimes' default `freq="D"`) or weeks (days / 7);
//! - `monetary_value` = mean amount of the repeat purchase days (the first is left out), 0 when
//!   there is none;
//! - only purchases on or before the observation end count.

use std::collections::HashMap;
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::ValueError;

/// The time unit of recency and T (and so of BG/NBD's α and of prediction horizons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    Days,
    Weeks,
}

impl TimeUnit {
    /// Days per unit.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Days => 1.0,
            TimeUnit::Weeks => 7.0,
        }
    }
}

/// One purchase day of one customer (same-day purchases already summed).
#[derive(Debug, Clone, PartialEq)]
pub struct Purchase {
    pub customer: usize,
    pub date: NaiveDate,
    pub amount: f64,
}

/// A transaction log: purchases keyed by customer index into `customers`.
#[derive(Debug, Clone, Default)]
pub struct Transactions {
    pub customers: Vec<String>,
    /// Sorted by (customer, date), one row per customer-day.
    pub purchases: Vec<Purchase>,
    /// Rows read from the file (before same-day purchases were merged).
    pub rows: usize,
}

/// Column names and date format of a transaction file.
#[derive(Debug, Clone)]
pub struct TransactionColumns<'a> {
    pub customer: &'a str,
    pub date: &'a str,
    /// `None`: no spend (BG/NBD only).
    pub amount: Option<&'a str>,
    /// A chrono format (`%Y%m%d`, `%d/%m/%Y`, …). `None`: ISO `YYYY-MM-DD` (a time after the date
    /// is ignored) or `YYYYMMDD`.
    pub date_format: Option<&'a str>,
}

/// Parses a date with `format`, or ISO / `YYYYMMDD` when `None`. A timestamp counts by its date.
pub fn parse_date(s: &str, format: Option<&str>) -> Option<NaiveDate> {
    let s = s.trim();
    match format {
        Some(f) => NaiveDate::parse_from_str(s, f)
            .ok()
            .or_else(|| NaiveDateTime::parse_from_str(s, f).ok().map(|t| t.date())),
        None => s
            .get(..10)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .or_else(|| NaiveDate::parse_from_str(s, "%Y%m%d").ok()),
    }
}

fn text_column(df: &DataFrame, name: &str, file: &Path) -> Result<StringChunked, ValueError> {
    let column = df.column(name).map_err(|_| ValueError::MissingColumn {
        file: file.to_path_buf(),
        column: name.to_string(),
        found: df
            .get_column_names()
            .iter()
            .map(|c| c.to_string())
            .collect(),
    })?;
    let column = column
        .cast(&DataType::String)
        .map_err(|source| ValueError::ReadTransactions {
            file: file.to_path_buf(),
            source,
        })?;
    column
        .str()
        .cloned()
        .map_err(|source| ValueError::ReadTransactions {
            file: file.to_path_buf(),
            source,
        })
}

/// Reads a CSV (`.csv`) or Parquet file of transactions. A row with an empty customer, an
/// unparseable date or a negative / unparseable amount is an error naming the row (1-based
/// data row) and the value.
pub fn read_transactions(
    file: &Path,
    cols: &TransactionColumns,
) -> Result<Transactions, ValueError> {
    let read_err = |source| ValueError::ReadTransactions {
        file: file.to_path_buf(),
        source,
    };
    let is_csv = file
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("txt"));
    let df = if is_csv {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(file.to_path_buf()))
            .and_then(|r| r.finish())
            .map_err(read_err)?
    } else {
        let f = std::fs::File::open(file).map_err(|e| read_err(PolarsError::from(e)))?;
        ParquetReader::new(f).finish().map_err(read_err)?
    };
    let ids = text_column(&df, cols.customer, file)?;
    let dates = text_column(&df, cols.date, file)?;
    let amounts = match cols.amount {
        Some(a) => Some(text_column(&df, a, file)?),
        None => None,
    };
    let bad = |row: usize, column: &str, value: Option<&str>, problem| ValueError::BadValue {
        file: file.to_path_buf(),
        row: row + 1,
        column: column.to_string(),
        value: value.unwrap_or("").to_string(),
        problem,
    };
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut customers = Vec::new();
    let mut raw: Vec<Purchase> = Vec::with_capacity(df.height());
    for (row, (id, date)) in ids.iter().zip(dates.iter()).enumerate() {
        let id = id.map(str::trim).filter(|s| !s.is_empty());
        let Some(id) = id else {
            return Err(bad(row, cols.customer, id, "empty customer id"));
        };
        let Some(day) = date.and_then(|d| parse_date(d, cols.date_format)) else {
            return Err(bad(
                row,
                cols.date,
                date,
                "not a date in the expected format",
            ));
        };
        let amount = match (&amounts, cols.amount) {
            (Some(a), Some(name)) => {
                let v = a.get(row);
                match v.and_then(|s| s.trim().parse::<f64>().ok()) {
                    Some(x) if x.is_finite() => x,
                    _ => return Err(bad(row, name, v, "not a number")),
                }
            }
            _ => 0.0,
        };
        let next = customers.len();
        let customer = *index.entry(id.to_string()).or_insert_with(|| {
            customers.push(id.to_string());
            next
        });
        raw.push(Purchase {
            customer,
            date: day,
            amount,
        });
    }
    let rows = raw.len();
    raw.sort_by_key(|p| (p.customer, p.date));
    let mut purchases: Vec<Purchase> = Vec::with_capacity(raw.len());
    for p in raw {
        match purchases.last_mut() {
            Some(last) if last.customer == p.customer && last.date == p.date => {
                last.amount += p.amount
            }
            _ => purchases.push(p),
        }
    }
    Ok(Transactions {
        customers,
        purchases,
        rows,
    })
}

/// Per-customer summary (one row per customer with a purchase on or before the end).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub customer_id: Vec<String>,
    pub frequency: Vec<f64>,
    pub recency: Vec<f64>,
    /// Age `T`: observation end − first purchase.
    pub age: Vec<f64>,
    pub monetary_value: Vec<f64>,
    /// Repeat purchase days after the observation end up to `holdout_end` (0 without holdout).
    pub frequency_holdout: Vec<f64>,
}

impl Summary {
    pub fn len(&self) -> usize {
        self.customer_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.customer_id.is_empty()
    }
}

/// Builds the summary as of `end` (inclusive). With `holdout_end`, purchase days in
/// `(end, holdout_end]` of the summarised customers are counted in `frequency_holdout`.
pub fn summarize(
    tx: &Transactions,
    end: NaiveDate,
    holdout_end: Option<NaiveDate>,
    unit: TimeUnit,
) -> Summary {
    let mut s = Summary::default();
    let per = unit.days();
    let mut i = 0;
    let p = &tx.purchases;
    while i < p.len() {
        let c = p[i].customer;
        let mut j = i;
        while j < p.len() && p[j].customer == c {
            j += 1;
        }
        let days = &p[i..j];
        i = j;
        let first = &days[0];
        if first.date > end {
            continue;
        }
        let seen: Vec<&Purchase> = days.iter().filter(|d| d.date <= end).collect();
        let last = seen.last().map_or(first.date, |d| d.date);
        let repeat = seen.len() - 1;
        let spend: f64 = seen.iter().skip(1).map(|d| d.amount).sum();
        s.customer_id.push(tx.customers[c].clone());
        s.frequency.push(repeat as f64);
        s.recency.push((last - first.date).num_days() as f64 / per);
        s.age.push((end - first.date).num_days() as f64 / per);
        s.monetary_value.push(if repeat > 0 {
            spend / repeat as f64
        } else {
            0.0
        });
        s.frequency_holdout.push(match holdout_end {
            Some(h) => days.iter().filter(|d| d.date > end && d.date <= h).count() as f64,
            None => 0.0,
        });
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).expect("date")
    }

    #[test]
    fn same_day_purchases_are_one_and_the_first_is_not_spend() {
        let tx = Transactions {
            customers: vec!["a".into(), "b".into()],
            purchases: vec![
                Purchase {
                    customer: 0,
                    date: d(2024, 1, 1),
                    amount: 10.0,
                },
                Purchase {
                    customer: 0,
                    date: d(2024, 1, 8),
                    amount: 30.0,
                },
                Purchase {
                    customer: 0,
                    date: d(2024, 1, 15),
                    amount: 50.0,
                },
                Purchase {
                    customer: 0,
                    date: d(2024, 2, 1),
                    amount: 5.0,
                },
                Purchase {
                    customer: 1,
                    date: d(2024, 1, 29),
                    amount: 7.0,
                },
            ],
            rows: 5,
        };
        let s = summarize(&tx, d(2024, 1, 29), Some(d(2024, 2, 28)), TimeUnit::Weeks);
        assert_eq!(s.customer_id, vec!["a", "b"]);
        assert_eq!(s.frequency, vec![2.0, 0.0]);
        assert_eq!(s.recency, vec![2.0, 0.0]);
        assert_eq!(s.age, vec![4.0, 0.0]);
        assert_eq!(s.monetary_value, vec![40.0, 0.0]);
        assert_eq!(s.frequency_holdout, vec![1.0, 0.0]);
    }

    #[test]
    fn dates_parse_in_iso_compact_and_custom_formats() {
        assert_eq!(parse_date("1997-01-12", None), Some(d(1997, 1, 12)));
        assert_eq!(
            parse_date("1997-01-12T10:00:00Z", None),
            Some(d(1997, 1, 12))
        );
        assert_eq!(parse_date("19970112", None), Some(d(1997, 1, 12)));
        assert_eq!(
            parse_date("12/01/1997", Some("%d/%m/%Y")),
            Some(d(1997, 1, 12))
        );
        assert_eq!(parse_date("soon", None), None);
    }
}
