//! The `churn` command line: a thin shell over the library. Parses arguments, calls one library
//! function per command, prints what it returns. Errors become a message on stderr and a
//! non-zero exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;

use churn::features::{self, FeatureSet};
use churn::generate::{self, GenerateConfig};
use churn::output::{self, FileFormat};
use churn::warehouse::{self, LoadReport};

#[derive(Parser)]
#[command(
    name = "churn",
    version,
    about = "Churn prediction for subscription businesses: validated warehouse → point-in-time features",
    long_about = "Churn prediction for subscription businesses.\n\n\
        With no command, runs the demo: generates a synthetic telecom warehouse, validates it and \
        builds point-in-time features, then prints a summary."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Write a deterministic synthetic telecom warehouse (the seven contract tables + `_truth/`).
    Generate {
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Number of customers.
        #[arg(long, default_value_t = 2_000)]
        customers: usize,
        /// Number of months simulated.
        #[arg(long, default_value_t = 24)]
        months: u32,
        /// Random seed: same arguments and seed give identical files.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// First day of the first simulated month (YYYY-MM-DD).
        #[arg(long, default_value = "2023-01-01")]
        start: NaiveDate,
        /// File format of the tables.
        #[arg(long, value_enum, default_value_t = Format::Parquet)]
        format: Format,
    },
    /// Load and validate a warehouse export; print rows read / used / quarantined / collapsed per table.
    Validate {
        /// Export directory holding the seven tables as .csv or .parquet.
        #[arg(long)]
        data: PathBuf,
        /// Also write quarantined rows to `<DIR>/quarantine/<table>.csv`.
        #[arg(long, value_name = "DIR")]
        quarantine_out: Option<PathBuf>,
        /// Exit with code 3 when any row was quarantined.
        #[arg(long)]
        strict: bool,
    },
    /// Build customer_360_view, customer_segmentation_analysis and churn_prediction_features as of
    /// one or more dates.
    Features {
        /// Export directory holding the seven tables.
        #[arg(long)]
        data: PathBuf,
        /// As-of date(s), comma-separated (YYYY-MM-DD). Default: the last date the export covers.
        #[arg(long, value_delimiter = ',')]
        as_of: Vec<NaiveDate>,
        /// Output directory for the three tables, quarantine/ and run_summary.json.
        #[arg(long)]
        out: PathBuf,
        /// File format of the written tables.
        #[arg(long, value_enum, default_value_t = Format::Parquet)]
        format: Format,
    },
    /// The demo: generate a warehouse, validate it, build features, print a summary.
    Demo {
        /// Working directory for the demo warehouse and outputs.
        #[arg(long, default_value = "demo")]
        dir: PathBuf,
        /// Number of customers in the generated warehouse.
        #[arg(long, default_value_t = 5_000)]
        customers: usize,
        /// Random seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Parquet,
    Csv,
}

impl From<Format> for FileFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Parquet => FileFormat::Parquet,
            Format::Csv => FileFormat::Csv,
        }
    }
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("CHURN_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Some(Command::Generate {
            out,
            customers,
            months,
            seed,
            start,
            format,
        }) => {
            let cfg = GenerateConfig {
                customers,
                months,
                seed,
                start,
                format: format.into(),
            };
            let summary = generate::generate(&cfg, &out)
                .with_context(|| format!("generating a warehouse into {}", out.display()))?;
            println!("{}", serde_json::to_string_pretty(&summary)?);
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Validate {
            data,
            quarantine_out,
            strict,
        }) => {
            let (_wh, report) = warehouse::load(&data)?;
            print_accounting(&report);
            if let Some(dir) = quarantine_out {
                for p in report.write_quarantine(&dir)? {
                    println!("quarantine written: {}", p.display());
                }
            }
            if strict && report.total_quarantined() > 0 {
                return Ok(ExitCode::from(3));
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Features {
            data,
            as_of,
            out,
            format,
        }) => {
            let summary = features_job(&data, &as_of, &out, format.into())?;
            print_accounting(&summary.load);
            print_outputs(&summary);
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Demo {
            dir,
            customers,
            seed,
        }) => demo(&dir, customers, seed),
        None => demo(Path::new("demo"), 5_000, 42),
    }
}

/// What `churn features` writes beside its outputs as `run_summary.json`.
#[derive(Serialize)]
struct FeaturesSummary {
    command: &'static str,
    version: &'static str,
    data: PathBuf,
    as_of: Vec<NaiveDate>,
    load: LoadReport,
    outputs: Vec<OutputFile>,
    quarantine_files: Vec<PathBuf>,
    seconds_load: f64,
    seconds_features: f64,
    seconds_write: f64,
}

#[derive(Serialize)]
struct OutputFile {
    table: String,
    rows: usize,
    columns: usize,
    path: PathBuf,
}

fn features_job(
    data: &Path,
    as_of: &[NaiveDate],
    out: &Path,
    format: FileFormat,
) -> Result<FeaturesSummary> {
    let t0 = Instant::now();
    let (wh, load) = warehouse::load(data)?;
    let seconds_load = t0.elapsed().as_secs_f64();
    let observed_until = wh.observed_until();
    let as_of: Vec<NaiveDate> = if as_of.is_empty() {
        match observed_until {
            Some(d) => vec![d],
            None => bail!("the export in {} has no dated facts: pass --as-of", data.display()),
        }
    } else {
        as_of.to_vec()
    };
    let t1 = Instant::now();
    let mut set: FeatureSet = features::build(&wh, &as_of, observed_until)?;
    let seconds_features = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let quarantine_files = load.write_quarantine(out)?;
    let outputs = [
        (features::CUSTOMER_360_VIEW, set.customer_360.shape()),
        (
            features::CUSTOMER_SEGMENTATION_ANALYSIS,
            set.segmentation.shape(),
        ),
        (
            features::CHURN_PREDICTION_FEATURES,
            set.churn_features.shape(),
        ),
    ];
    let paths = features::write(&mut set, out, format)?;
    let outputs = outputs
        .iter()
        .zip(paths)
        .map(|((table, (rows, columns)), path)| OutputFile {
            table: table.to_string(),
            rows: *rows,
            columns: *columns,
            path,
        })
        .collect();
    let summary = FeaturesSummary {
        command: "features",
        version: env!("CARGO_PKG_VERSION"),
        data: data.to_path_buf(),
        as_of,
        load,
        outputs,
        quarantine_files,
        seconds_load,
        seconds_features,
        seconds_write: t2.elapsed().as_secs_f64(),
    };
    output::write_json(&out.join("run_summary.json"), &summary)?;
    Ok(summary)
}

fn print_accounting(report: &LoadReport) {
    println!(
        "{:<26} {:>10} {:>10} {:>12} {:>10}  file",
        "table", "read", "used", "quarantined", "collapsed"
    );
    for t in &report.tables {
        println!(
            "{:<26} {:>10} {:>10} {:>12} {:>10}  {}",
            t.table.to_string(),
            t.rows_read,
            t.rows_used,
            t.rows_quarantined,
            t.duplicates_collapsed,
            t.file.display()
        );
        for (reason, n) in &t.reasons {
            println!("{:<26} {:>10} × {reason}", "", n);
        }
    }
    if let Some(d) = report.observed_until {
        println!("export covers facts up to {d}");
    }
}

fn print_outputs(summary: &FeaturesSummary) {
    let as_of: Vec<String> = summary.as_of.iter().map(|d| d.to_string()).collect();
    println!("features as of {}:", as_of.join(", "));
    for o in &summary.outputs {
        println!(
            "  {:<34} {:>9} rows × {:>3} columns  {}",
            o.table,
            o.rows,
            o.columns,
            o.path.display()
        );
    }
    for p in &summary.quarantine_files {
        println!("  quarantine: {}", p.display());
    }
    println!(
        "  load {:.2}s, features {:.2}s, write {:.2}s",
        summary.seconds_load, summary.seconds_features, summary.seconds_write
    );
}

/// The README's main command: generate → validate → features on a demo warehouse.
fn demo(dir: &Path, customers: usize, seed: u64) -> Result<ExitCode> {
    let data = dir.join("warehouse");
    let cfg = GenerateConfig {
        customers,
        seed,
        ..GenerateConfig::default()
    };
    println!(
        "1/3 generating a synthetic telecom warehouse ({} customers × {} months, seed {}) in {}",
        cfg.customers,
        cfg.months,
        cfg.seed,
        data.display()
    );
    let gen = generate::generate(&cfg, &data)?;
    println!(
        "    {} customers, {} churned, facts up to {}",
        gen.customers,
        gen.churned_customers,
        gen.observed_until
    );
    println!("2/3 validating the export");
    let out = dir.join("features");
    println!("3/3 building point-in-time features into {}", out.display());
    let summary = features_job(&data, &[], &out, FileFormat::Parquet)?;
    print_accounting(&summary.load);
    print_outputs(&summary);
    Ok(ExitCode::SUCCESS)
}
