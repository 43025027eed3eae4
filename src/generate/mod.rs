//! Synthetic warehouse generator: writes the seven contract tables of a fictional telecom,
//! Novacom, plus the latent truth behind them (`_truth/`) and a run summary.
//!
//! In: a [`GenerateConfig`] (customers, months, seed, start month, file format). Out: in the
//! output directory `dim_customer`, `dim_product`, `fact_invoice`, `fact_service_assignment`,
//! `fact_support_ticket`, `fact_campaign_target`, `fact_network_usage` (Parquet or CSV, exactly
//! the contract's columns and types), `_truth/churn_probability` and `_truth/campaign_effect`,
//! and `generate_summary.json`. Customers are simulated month by month with latent state the
//! tables only partly reveal (see `docs/generator.md` for every driver and coefficient), in
//! fixed-size chunks simulated in parallel and written in order, so memory stays bounded and
//! the same config gives byte-identical files whatever the number of threads.

mod calendar;
mod catalog;
mod customer;
mod hazard;
mod rows;
mod simulate;
mod sink;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use chrono::NaiveDate;
use polars::prelude::{DataFrame, PolarsError, PolarsResult};
use rayon::prelude::*;
use serde::Serialize;

use crate::output::{write_frame, write_json, FileFormat, OutputError};
use crate::warehouse::schema::Table;

use calendar::{date_of, Calendar};
use rows::{ChunkRows, IdFormat};
use simulate::{simulate_chunk, World};
use sink::Sink;

pub use rows::truth as truth_columns;

/// Customers simulated per chunk (fixed: it must not depend on the thread count, or the row
/// groups of the Parquet files would).
pub const CHUNK_CUSTOMERS: u32 = 20_000;
/// Chunks simulated in parallel before they are written in order.
const WINDOW_CHUNKS: u32 = 4;
/// Longest window accepted, in months (invoice ids carry a 3-digit month).
pub const MAX_MONTHS: u32 = 600;
/// Directory (inside the output) holding the latent truth.
pub const TRUTH_DIR: &str = "_truth";
/// File stem of the per customer-month churn truth.
pub const CHURN_TRUTH: &str = "churn_probability";
/// File stem of the per campaign-target effect truth.
pub const EFFECT_TRUTH: &str = "campaign_effect";
/// Name of the run summary written beside the tables.
pub const SUMMARY_FILE: &str = "generate_summary.json";

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GenerateConfig {
    /// Rows of `dim_customer` (the base at the start plus sign-ups during the window).
    pub customers: usize,
    /// Months simulated; the export ends on the last day of the last one.
    pub months: u32,
    pub seed: u64,
    /// First day of the first month.
    pub start: NaiveDate,
    pub format: FileFormat,
}

impl Default for GenerateConfig {
    /// 2 000 customers, 24 months, seed 42, starting 2023-01-01, Parquet.
    fn default() -> Self {
        GenerateConfig {
            customers: 2_000,
            months: 24,
            seed: 42,
            start: NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or_default(),
            format: FileFormat::Parquet,
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone, Serialize)]
pub struct GenerateSummary {
    pub config: GenerateConfig,
    pub output: PathBuf,
    pub customers: usize,
    /// Customers with a churn date.
    pub churned_customers: usize,
    /// The last date the export covers (last day of the last month). No fact is dated later.
    pub observed_until: NaiveDate,
    /// Rows per written file, keyed by its path relative to the output directory without
    /// extension (`fact_invoice`, `_truth/churn_probability`, ...).
    pub rows: BTreeMap<String, usize>,
    pub seconds: f64,
    pub version: String,
}

/// Why a run failed. Nothing half-written is left behind: every file goes through a temporary
/// sibling that is removed on failure.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("invalid generate setting {field} = {value}: {reason}")]
    InvalidConfig {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("cannot build the rows of {table}: {source}")]
    Frame {
        table: String,
        #[source]
        source: PolarsError,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: PolarsError,
    },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("the writer thread for {output} stopped unexpectedly")]
    WriterPanicked { output: PathBuf },
}

fn invalid(field: &'static str, value: impl ToString, reason: &'static str) -> GenerateError {
    GenerateError::InvalidConfig {
        field,
        value: value.to_string(),
        reason,
    }
}

fn validate(cfg: &GenerateConfig) -> Result<(), GenerateError> {
    use chrono::Datelike;
    if cfg.customers == 0 {
        return Err(invalid("customers", cfg.customers, "must be at least 1"));
    }
    if cfg.customers > 999_999_999 {
        return Err(invalid(
            "customers",
            cfg.customers,
            "must be at most 999 999 999",
        ));
    }
    if cfg.months == 0 || cfg.months > MAX_MONTHS {
        return Err(invalid("months", cfg.months, "must be between 1 and 600"));
    }
    if cfg.start.day() != 1 {
        return Err(invalid(
            "start",
            cfg.start,
            "must be the first day of a month",
        ));
    }
    if cfg.start.year() < 1980 || cfg.start.year() > 2200 {
        return Err(invalid("start", cfg.start, "must be between 1980 and 2200"));
    }
    Ok(())
}

/// The files streamed chunk by chunk, in the order of [`frames`].
const STREAMS: [Stream; 8] = [
    Stream::Table(Table::Customer),
    Stream::Table(Table::Invoice),
    Stream::Table(Table::ServiceAssignment),
    Stream::Table(Table::SupportTicket),
    Stream::Table(Table::CampaignTarget),
    Stream::Table(Table::NetworkUsage),
    Stream::Truth(CHURN_TRUTH),
    Stream::Truth(EFFECT_TRUTH),
];

#[derive(Debug, Clone, Copy)]
enum Stream {
    Table(Table),
    Truth(&'static str),
}

impl Stream {
    /// Path relative to the output directory, without extension.
    fn key(self) -> String {
        match self {
            Stream::Table(t) => t.file_stem().to_string(),
            Stream::Truth(stem) => format!("{TRUTH_DIR}/{stem}"),
        }
    }

    fn path(self, out: &Path, format: FileFormat) -> PathBuf {
        out.join(format!("{}.{}", self.key(), format.extension()))
    }
}

/// A chunk's rows as frames, in [`STREAMS`] order.
fn frames(rows: &ChunkRows, ids: &IdFormat) -> Result<Vec<DataFrame>, GenerateError> {
    let built: [(Stream, PolarsResult<DataFrame>); 8] = [
        (STREAMS[0], rows.customers.frame(ids)),
        (STREAMS[1], rows.invoices.frame(ids)),
        (STREAMS[2], rows.assignments.frame(ids)),
        (STREAMS[3], rows.tickets.frame(ids)),
        (STREAMS[4], rows.campaigns.frame(ids)),
        (STREAMS[5], rows.usage.frame(ids)),
        (STREAMS[6], rows.churn_truth.frame(ids)),
        (STREAMS[7], rows.effect_truth.frame(ids)),
    ];
    built
        .into_iter()
        .map(|(s, r)| {
            r.map_err(|source| GenerateError::Frame {
                table: s.key(),
                source,
            })
        })
        .collect()
}

/// A chunk converted to frames (in [`STREAMS`] order) and its number of churned customers.
type Converted = Result<(Vec<DataFrame>, usize), GenerateError>;

/// Number of digits of customer numbers: at least 7, more for very large runs.
fn id_width(customers: usize) -> usize {
    customers.to_string().len().max(7)
}

/// Generates a synthetic warehouse into `out` (created if missing; existing files replaced).
pub fn generate(cfg: &GenerateConfig, out: &Path) -> Result<GenerateSummary, GenerateError> {
    run(cfg, out, CHUNK_CUSTOMERS)
}

/// [`generate`] with chunks of `chunk_customers` customers (tests use small chunks).
fn run(
    cfg: &GenerateConfig,
    out: &Path,
    chunk_customers: u32,
) -> Result<GenerateSummary, GenerateError> {
    validate(cfg)?;
    let started = Instant::now();
    let cal = Calendar::new(cfg.start, cfg.months);
    let months = cal.months();
    let ids = IdFormat {
        width: id_width(cfg.customers),
        month_labels: (0..months).map(|m| cal.label(m)).collect(),
    };
    let world = World {
        cal: cal.clone(),
        seed: cfg.seed,
        p_new: customer::new_customer_share(cfg.months),
        n_managers: ((cfg.customers as f64 * 0.2 / 150.0).round() as u32).max(1),
    };
    let customers = cfg.customers as u32;

    let mut product = catalog::product_frame().map_err(|source| GenerateError::Frame {
        table: Table::Product.file_stem().to_string(),
        source,
    })?;
    let product_path = out.join(format!(
        "{}.{}",
        Table::Product.file_stem(),
        cfg.format.extension()
    ));
    write_frame(&mut product, &product_path, cfg.format)?;

    let empty = frames(&ChunkRows::default(), &ids)?;
    let mut sinks = Vec::with_capacity(STREAMS.len());
    for (s, df) in STREAMS.iter().zip(&empty) {
        sinks.push(Sink::create(
            &s.path(out, cfg.format),
            df.schema(),
            cfg.format,
        )?);
    }

    let chunk_customers = chunk_customers.max(1);
    let n_chunks = customers.div_ceil(chunk_customers);
    let bar = crate::progress::bar(u64::from(n_chunks), "customers");
    let chunk_range = |k: u32| k * CHUNK_CUSTOMERS..((k + 1) * CHUNK_CUSTOMERS).min(customers);

    // Simulation and the conversion to typed columns run on the rayon workers; one writer
    // thread encodes and appends the chunks in order.
    let written = std::thread::scope(|scope| {
        let (tx, rx) = sync_channel::<Converted>(1);
        let bar = &bar;
        let writer = scope.spawn(move || -> Result<(Vec<Sink>, usize), GenerateError> {
            let mut churned = 0;
            for chunk in rx {
                let (dfs, chunk_churned) = chunk?;
                churned += chunk_churned;
                for (sink, df) in sinks.iter_mut().zip(&dfs) {
                    sink.write(df)?;
                }
                bar.inc(1);
            }
            Ok((sinks, churned))
        });
        'windows: for w0 in (0..n_chunks).step_by(WINDOW_CHUNKS as usize) {
            let w1 = (w0 + WINDOW_CHUNKS).min(n_chunks);
            let done: Vec<Converted> = (w0..w1)
                .into_par_iter()
                .map(|k| {
                    let rows = simulate_chunk(&world, chunk_range(k));
                    let churned = rows.customers.churn.iter().filter(|c| c.is_some()).count();
                    frames(&rows, &ids).map(|dfs| (dfs, churned))
                })
                .collect();
            tracing::debug!(first_chunk = w0, chunks = w1 - w0, "Simulated window");
            for chunk in done {
                if tx.send(chunk).is_err() {
                    break 'windows;
                }
            }
        }
        drop(tx);
        writer.join().map_err(|_| GenerateError::WriterPanicked {
            output: out.to_path_buf(),
        })?
    });
    bar.finish_and_clear();
    let (sinks, churned) = written?;

    let mut rows = BTreeMap::new();
    rows.insert(Table::Product.file_stem().to_string(), product.height());
    for (s, sink) in STREAMS.iter().zip(sinks) {
        rows.insert(s.key(), sink.commit()?);
    }

    let summary = GenerateSummary {
        config: cfg.clone(),
        output: out.to_path_buf(),
        customers: cfg.customers,
        churned_customers: churned,
        observed_until: date_of(cal.observed_until()),
        rows,
        seconds: started.elapsed().as_secs_f64(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    write_json(&out.join(SUMMARY_FILE), &summary)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_refused_with_the_field_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cases = [
            GenerateConfig {
                customers: 0,
                ..GenerateConfig::default()
            },
            GenerateConfig {
                months: 0,
                ..GenerateConfig::default()
            },
            GenerateConfig {
                start: NaiveDate::from_ymd_opt(2023, 1, 15).expect("date"),
                ..GenerateConfig::default()
            },
        ];
        let fields = ["customers", "months", "start"];
        for (cfg, field) in cases.iter().zip(fields) {
            match generate(cfg, dir.path()) {
                Err(GenerateError::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
                other => panic!("expected InvalidConfig for {field}, got {other:?}"),
            }
        }
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    }

    fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        for sub in [dir.to_path_buf(), dir.join(TRUTH_DIR)] {
            for e in std::fs::read_dir(&sub).expect("read_dir") {
                let p = e.expect("entry").path();
                if p.is_file() && !p.ends_with(SUMMARY_FILE) {
                    let rel = p.strip_prefix(dir).expect("prefix").to_path_buf();
                    out.insert(rel, std::fs::read(&p).expect("read"));
                }
            }
        }
        out
    }

    #[test]
    fn bytes_do_not_depend_on_the_thread_count() {
        let cfg = GenerateConfig {
            customers: 700,
            months: 8,
            seed: 11,
            ..GenerateConfig::default()
        };
        let mut seen = Vec::new();
        for threads in [1, 3] {
            let dir = tempfile::tempdir().expect("tempdir");
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool");
            pool.install(|| run(&cfg, dir.path(), 100))
                .expect("generate");
            seen.push(files(dir.path()));
        }
        assert_eq!(seen[0].len(), 9);
        assert_eq!(seen[0], seen[1]);
    }

    #[test]
    fn ids_widen_only_past_ten_million() {
        assert_eq!(id_width(2_000), 7);
        assert_eq!(id_width(9_999_999), 7);
        assert_eq!(id_width(12_000_000), 8);
    }
}
