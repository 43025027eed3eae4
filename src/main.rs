//! The `churn` command line: a thin shell over the library. Parses arguments, calls one library
//! function per command, prints what it returns. Errors become a message on stderr and a
//! non-zero exit code.

mod cli;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;

use churn::campaigns::{CampaignConfig, UpliftArtifact};
use churn::features::{self, FeatureSet};
use churn::generate::{self, GenerateConfig};
use churn::output::{self, FileFormat};
use churn::registry::{Action, Manifest, Registry, CHAMPION};
use churn::training::drift::DEFAULT_DRIFT_THRESHOLD;
use churn::training::evaluate::EvalOptions;
use churn::training::models::{Algorithm, TrainParams};
use churn::training::pipeline::{
    self, load_economics, load_params, short_version, PredictRequest, TrainOptions, TrainRequest,
    TrainRun, TrainSource, DEFAULT_REASONS,
};
use churn::training::retrain::{self, parse_interval, GateOptions, RetrainOptions, RetrainOutcome};
use churn::warehouse::{self, LoadReport};

#[derive(Parser)]
#[command(
    name = "churn",
    version,
    about = "Churn prediction for subscription businesses: validated warehouse → point-in-time features → calibrated models",
    long_about = "Churn prediction for subscription businesses.\n\n\
        With no command, runs the demo: generates a synthetic telecom warehouse, validates it, \
        builds point-in-time features, trains and compares the models, then prints a summary."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Log format on stderr (level: CHURN_LOG, e.g. `info`, `churn=debug`).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

/// How log lines are written.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for log shippers).
    Json,
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
    /// Train, evaluate and register churn models, from a warehouse (out-of-time split) or from
    /// any flat table with a label column (stratified random split).
    Train {
        /// Warehouse export directory (the seven tables).
        #[arg(long, conflicts_with = "table", required_unless_present = "table")]
        data: Option<PathBuf>,
        /// A flat CSV or Parquet table, one row per customer, instead of a warehouse.
        #[arg(long, requires = "label")]
        table: Option<PathBuf>,
        /// The label column of --table (0/1, true/false, yes/no, churned/stayed …).
        #[arg(long)]
        label: Option<String>,
        /// The id column of --table (never a feature). Default: `customer_id` if present.
        #[arg(long)]
        id: Option<String>,
        /// As-of dates (YYYY-MM-DD, comma-separated) for --data. Default: the month-ends of the
        /// last 12 months whose 90-day label is observed.
        #[arg(long, value_delimiter = ',')]
        as_of: Vec<NaiveDate>,
        /// Seed of the random split of --table.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[command(flatten)]
        train: TrainArgs,
        /// Where report.html and metrics.json go. Default: <models>/reports/<UTC time>/.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Score a table with a registered model: probability and top reasons per row.
    Predict {
        /// The model: a version id, `v7`, or an alias.
        #[arg(long, default_value = CHAMPION)]
        model: String,
        /// The table to score (CSV or Parquet) holding the model's input columns; the label
        /// column may be absent.
        #[arg(long)]
        table: PathBuf,
        /// Output file: `.csv` → CSV, anything else → Parquet.
        #[arg(long)]
        out: PathBuf,
        /// The id column copied to the output. Default: `customer_id` if present, else the id
        /// column recorded at training, else the row number.
        #[arg(long)]
        id: Option<String>,
        /// Reasons per row.
        #[arg(long, default_value_t = DEFAULT_REASONS)]
        reasons: usize,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// The model registry: list, show, promote, rollback, history.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// The scheduled job: train on the newest data and promote only a challenger that beats
    /// the champion beyond noise. Exit codes: 0 promoted, 10 champion kept, 1 failed, 75 another
    /// retrain holds the lock.
    Retrain {
        /// Warehouse export directory.
        #[arg(long)]
        data: PathBuf,
        /// As-of dates (YYYY-MM-DD, comma-separated). Default: as `churn train`.
        #[arg(long, value_delimiter = ',')]
        as_of: Vec<NaiveDate>,
        #[command(flatten)]
        train: TrainArgs,
        /// A feature has drifted when its PSI against the champion's training data is above this.
        #[arg(long, default_value_t = DEFAULT_DRIFT_THRESHOLD)]
        drift_threshold: f64,
        /// Skip training (exit 10, "no drift") unless some feature drifted.
        #[arg(long)]
        skip_if_no_drift: bool,
        /// Promote only when the lower 95% bound of AUC(challenger) − AUC(champion) is above this.
        #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
        min_auc_gain: f64,
        /// …and the challenger's ECE exceeds the champion's by at most this.
        #[arg(long, default_value_t = 0.01)]
        max_ece_increase: f64,
        /// Paired bootstrap resamples of the gate.
        #[arg(long, default_value_t = 1000)]
        gate_resamples: usize,
        /// Where report.html and metrics.json go. Default: <models>/reports/<UTC time>/.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Run in-process on a loop every INTERVAL (e.g. 30m, 24h, 7d); Ctrl-C stops it.
        #[arg(long, value_name = "INTERVAL")]
        every: Option<String>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Lifetime value: contractual CLV from the champion's risk (`clv backtest` checks it), or
    /// BG/NBD + Gamma-Gamma on a transaction log (--transactions).
    Clv(cli::clv::ClvArgs),
    /// Customers ranked by value at risk (risk × CLV) with reasons, suggestions and an action.
    Prioritize(cli::prioritize::PrioritizeArgs),
    /// Next-best-product suggestions per active customer; `recommend evaluate` scores them on later adoptions.
    Recommend(cli::recommend::RecommendArgs),
    /// Retention effectiveness: per-campaign uplift with 95% CI, risk deciles, uplift model (Qini).
    Campaigns(cli::campaigns::CampaignsArgs),
    /// Serve scores over gRPC (churn.v1): health, reflection, TLS, tokens, metrics, hot reload.
    /// With no arguments, serves the demo warehouse (generated and trained on first run).
    Serve(cli::serve::ServeArgs),
    /// Score one customer on a running `churn serve` (the gRPC client).
    Score(cli::score::ScoreArgs),
    /// The demo: generate a warehouse, validate it, build features, train and compare models.
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

/// The registry directory and output style, shared by every registry command.
#[derive(clap::Args, Clone)]
struct RegistryArgs {
    /// The model registry directory.
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// What to train and how to judge it (train and retrain).
#[derive(clap::Args, Clone)]
struct TrainArgs {
    /// Algorithms to train, comma-separated.
    #[arg(long, value_delimiter = ',', value_enum,
          default_values_t = Algorithm::ALL.to_vec())]
    algorithms: Vec<Algorithm>,
    /// Hyperparameters: a TrainParams JSON file (any subset of fields), checked before training.
    #[arg(long, value_name = "FILE.json")]
    params: Option<PathBuf>,
    /// Campaign economics: a JSON file (value_saved_churner, incentive_cost, contact_cost,
    /// save_rate, non_churner_acceptance_rate); the flags below override it.
    #[arg(long, value_name = "FILE.json")]
    economics: Option<PathBuf>,
    /// Value kept when a churner is saved.
    #[arg(long)]
    value_saved: Option<f64>,
    /// Cost of the retention incentive.
    #[arg(long)]
    incentive_cost: Option<f64>,
    /// Cost of contacting one customer.
    #[arg(long)]
    contact_cost: Option<f64>,
    /// Share of contacted churners who are saved.
    #[arg(long)]
    save_rate: Option<f64>,
}

impl TrainArgs {
    fn options(&self) -> Result<TrainOptions> {
        let params = match &self.params {
            Some(p) => load_params(p)?,
            None => TrainParams::default(),
        };
        let mut economics = match &self.economics {
            Some(p) => load_economics(p)?,
            None => Default::default(),
        };
        if let Some(v) = self.value_saved {
            economics.value_saved_churner = v;
        }
        if let Some(v) = self.incentive_cost {
            economics.incentive_cost = v;
        }
        if let Some(v) = self.contact_cost {
            economics.contact_cost = v;
        }
        if let Some(v) = self.save_rate {
            economics.save_rate = v;
        }
        let options = TrainOptions {
            algorithms: self.algorithms.clone(),
            params,
            eval: EvalOptions {
                economics,
                ..EvalOptions::default()
            },
        };
        options.check()?;
        Ok(options)
    }
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Every version, oldest first, with its metrics and aliases.
    List {
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// One version's manifest (a version id, `v7`, or an alias).
    Show {
        version: String,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Point an alias (default: champion) at a version.
    Promote {
        version: String,
        #[arg(long, default_value = CHAMPION)]
        alias: String,
        /// Why (recorded in the history).
        #[arg(long, default_value = "promoted by hand")]
        reason: String,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Move an alias (default: champion) back to the version it held before.
    Rollback {
        #[arg(long, default_value = CHAMPION)]
        alias: String,
        /// Why (recorded in the history).
        #[arg(long, default_value = "rolled back by hand")]
        reason: String,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// The audit trail: every registration and alias move.
    History {
        #[command(flatten)]
        registry: RegistryArgs,
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

/// mimalloc instead of glibc's malloc: a 1M-customer scoring run makes tens of millions of
/// small allocations from two threads (suggestion texts, reasons), and glibc's per-thread
/// arenas grew their heaps page by page (half the time of the suggestion lists went to
/// `sysmalloc`). BENCHMARKS.md, session 4.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    // A server logs its lifecycle (info); other commands only warnings.
    let level = if matches!(cli.command, Some(Command::Serve(_))) {
        "info"
    } else {
        "warn"
    };
    init_logging(cli.log_format, level);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes joined by `: `, skipping a cause whose text its parent already
/// shows (library errors that name their source in their own message).
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let msg = cause.to_string();
        if out.contains(&msg) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&msg);
    }
    out
}

/// `churn prioritize | head` must end quietly when the reader goes away, as Unix tools do,
/// instead of panicking in `println!`: restore the default SIGPIPE action that the Rust
/// runtime turns off. Not for `serve`, which writes to sockets and must outlive its clients.
fn restore_sigpipe() {
    #[cfg(unix)]
    if std::env::args().nth(1).as_deref() != Some("serve") {
        // SAFETY: called first thing in main, before any thread exists; `signal` with
        // SIG_DFL installs no handler code.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
}

fn init_logging(format: LogFormat, default_level: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("CHURN_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
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
        Some(Command::Train {
            data,
            table,
            label,
            id,
            as_of,
            seed,
            train,
            out,
            registry,
        }) => {
            let source = match (data, table, label) {
                (Some(data), None, _) => TrainSource::Warehouse { data, as_of },
                (None, Some(path), Some(label)) => TrainSource::Table {
                    path,
                    label,
                    id,
                    seed,
                },
                _ => bail!("pass either --data DIR or --table FILE --label COLUMN"),
            };
            let req = TrainRequest {
                source,
                models_dir: registry.models.clone(),
                out_dir: out,
                options: train.options()?,
            };
            let run = pipeline::train(&req)?;
            if registry.json {
                println!("{}", serde_json::to_string_pretty(&run)?);
            } else {
                print_train_run(&run);
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Predict {
            model,
            table,
            out,
            id,
            reasons,
            registry,
        }) => {
            let summary = pipeline::predict(&PredictRequest {
                models_dir: registry.models,
                model,
                table,
                out,
                id,
                reasons,
            })?;
            if registry.json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                println!(
                    "scored {} rows with {} ({}), mean churn probability {:.4}, in {:.1}s → {}",
                    summary.rows,
                    summary.version,
                    summary.algorithm,
                    summary.mean_probability,
                    summary.seconds,
                    summary.out.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Models { command }) => models_command(command),
        Some(Command::Retrain {
            data,
            as_of,
            train,
            drift_threshold,
            skip_if_no_drift,
            min_auc_gain,
            max_ece_increase,
            gate_resamples,
            out,
            every,
            registry,
        }) => {
            let options = RetrainOptions {
                data,
                models_dir: registry.models.clone(),
                as_of,
                train: train.options()?,
                gate: GateOptions {
                    min_auc_gain,
                    max_ece_increase,
                    resamples: gate_resamples,
                    ..GateOptions::default()
                },
                drift_threshold,
                skip_if_no_drift,
                out_dir: out,
            };
            match every {
                None => Ok(ExitCode::from(retrain_once(&options, registry.json))),
                Some(every) => {
                    let interval = parse_interval(&every).map_err(anyhow::Error::msg)?;
                    loop {
                        let started = Instant::now();
                        retrain_once(&options, registry.json);
                        let wait = interval.saturating_sub(started.elapsed());
                        println!("next retrain in {}s (Ctrl-C stops)", wait.as_secs());
                        std::thread::sleep(wait);
                    }
                }
            }
        }
        Some(Command::Clv(a)) => cli::clv::run(a),
        Some(Command::Prioritize(a)) => cli::prioritize::run(a),
        Some(Command::Recommend(a)) => cli::recommend::run(a),
        Some(Command::Campaigns(a)) => cli::campaigns::run(a),
        Some(Command::Serve(a)) => cli::serve::run(a),
        Some(Command::Score(a)) => cli::score::run(a),
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
            None => bail!(
                "the export in {} has no dated facts: pass --as-of",
                data.display()
            ),
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
        "1/5 generating a synthetic telecom warehouse ({} customers × {} months, seed {}) in {}",
        cfg.customers,
        cfg.months,
        cfg.seed,
        data.display()
    );
    let gen = generate::generate(&cfg, &data)?;
    println!(
        "    {} customers, {} churned, facts up to {}",
        gen.customers, gen.churned_customers, gen.observed_until
    );
    println!("2/5 validating the export");
    let out = dir.join("features");
    println!("3/5 building point-in-time features into {}", out.display());
    let summary = features_job(&data, &[], &out, FileFormat::Parquet)?;
    print_accounting(&summary.load);
    print_outputs(&summary);
    let models = dir.join("models");
    println!(
        "4/5 training and comparing models (out-of-time split) into {}",
        models.display()
    );
    let mut params = TrainParams::default();
    // Fewer, shallower forest trees keep the demo to seconds; `churn train` uses the defaults.
    params.forest.n_trees = 25;
    params.forest.max_depth = 8;
    let run = pipeline::train(&TrainRequest {
        source: TrainSource::Warehouse {
            data: data.clone(),
            as_of: Vec::new(),
        },
        models_dir: models.clone(),
        out_dir: None,
        options: TrainOptions {
            params,
            ..TrainOptions::default()
        },
    })?;
    print_train_run(&run);
    println!("5/5 fitting the uplift model on the retention campaigns' treatment/control history");
    let (wh, _) = warehouse::load(&data)?;
    match UpliftArtifact::fit(&wh, &CampaignConfig::default()) {
        Ok(a) => {
            let path = a.save(&models)?;
            println!(
                "    held-out Qini coefficient {:.4}, observed uplift {:+.1} points; saved to {}",
                a.holdout_qini,
                a.holdout_observed_uplift * 100.0,
                path.display()
            );
        }
        // Too little campaign history is not a failure of the demo: snapshots then say that
        // uplift is not estimated.
        Err(e) => println!("    no uplift model: {e}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_train_run(run: &TrainRun) {
    if let Some(split) = run.dataset.get("split") {
        if let (Some(train), Some(valid), Some(test)) = (
            split.get("train_as_of").and_then(|v| v.as_array()),
            split.get("valid_as_of").and_then(|v| v.as_str()),
            split.get("test_as_of").and_then(|v| v.as_str()),
        ) {
            let first = train.first().and_then(|v| v.as_str()).unwrap_or("?");
            let last = train.last().and_then(|v| v.as_str()).unwrap_or("?");
            println!(
                "out-of-time split: train {first} … {last} ({} dates), valid {valid}, test {test}",
                train.len()
            );
        }
    }
    if let (Some(rows), Some(pos)) = (run.dataset.get("rows"), run.dataset.get("positives")) {
        println!(
            "rows (churners): train {} ({}), valid {} ({}), test {} ({})",
            rows["train"], pos["train"], rows["valid"], pos["valid"], rows["test"], pos["test"]
        );
    }
    for c in &run.skipped_columns {
        println!("not a feature: {} ({}): {}", c.name, c.dtype, c.reason);
    }
    println!();
    print!("{}", run.table);
    println!("* = highest test ROC AUC");
    if let Some(o) = &run.oracle {
        println!(
            "oracle AUC {:.4}: the generator's true p_churn_90d at {} on the same {} test rows",
            o.roc_auc, o.month_end, o.rows
        );
    }
    let best = &run.models[run.best];
    println!(
        "best by validation AUC: {} ({}, validation AUC {:.4}, test AUC {:.4})",
        short_version(&best.version),
        best.algorithm,
        best.validation_auc,
        best.test_auc
    );
    for m in &run.models {
        println!("registered {} ({})", m.version, m.algorithm);
    }
    println!("{}", run.champion);
    println!("report:  {}", run.report_html.display());
    println!("metrics: {}", run.metrics_json.display());
}

/// One retrain: prints the outcome (or the error) and returns the exit code.
fn retrain_once(options: &RetrainOptions, json: bool) -> u8 {
    match retrain::retrain(options) {
        Ok(outcome) => {
            if json {
                match serde_json::to_string_pretty(&outcome.log) {
                    Ok(s) => println!("{s}"),
                    Err(e) => eprintln!("error: {e}"),
                }
            } else {
                print_retrain(&outcome, options.drift_threshold);
            }
            outcome.exit_code()
        }
        Err(e) => {
            eprintln!("error: retrain: {e}");
            e.exit_code()
        }
    }
}

fn print_retrain(o: &RetrainOutcome, threshold: f64) {
    if let Some(drift) = &o.drift {
        println!(
            "feature drift of today's data vs the champion's training data (PSI, {} rows; > {threshold} = drifted):",
            drift.rows
        );
        print!("{}", drift.table_text(threshold, 10));
        println!();
    }
    if let Some(table) = &o.table {
        print!("{table}");
        println!();
    }
    println!("decision: {} (exit {})", o.decision.as_str(), o.exit_code());
    println!("reason:   {}", o.reason);
    if let Some(c) = &o.champion {
        println!("champion: {c}");
    }
    if let Some(p) = &o.report_html {
        println!("report:   {}", p.display());
    }
    if let Some(p) = &o.metrics_json {
        println!("metrics:  {}", p.display());
    }
}

fn metric(m: &Manifest, key: &str) -> String {
    m.metrics
        .get(key)
        .and_then(|v| v.as_f64())
        .map_or("–".into(), |v| format!("{v:.4}"))
}

/// The aliases (alias → version) that point at `version`, in alias order.
fn aliases_of<'a>(aliases: &'a BTreeMap<String, String>, version: &str) -> Vec<&'a str> {
    aliases
        .iter()
        .filter(|(_, v)| *v == version)
        .map(|(a, _)| a.as_str())
        .collect()
}

fn models_command(command: ModelsCommand) -> Result<ExitCode> {
    match command {
        ModelsCommand::List { registry } => {
            let reg = Registry::open(&registry.models)?;
            let list = reg.list()?;
            let aliases = reg.aliases()?;
            if registry.json {
                let rows: Vec<serde_json::Value> = list
                    .iter()
                    .map(|m| {
                        let names = aliases_of(&aliases, &m.version);
                        serde_json::json!({"manifest": m, "aliases": names})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(ExitCode::SUCCESS);
            }
            if list.is_empty() {
                println!("no models in {}", registry.models.display());
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{:<24} {:<20} {:<14} {:>8} {:>8} {:>8}  aliases",
                "version", "created (UTC)", "algorithm", "val AUC", "test AUC", "ECE"
            );
            for m in &list {
                let names = aliases_of(&aliases, &m.version);
                println!(
                    "{:<24} {:<20} {:<14} {:>8} {:>8} {:>8}  {}",
                    m.version,
                    m.created_at.format("%Y-%m-%d %H:%M:%S"),
                    m.algorithm,
                    metric(m, "validation_auc"),
                    metric(m, "test_auc"),
                    metric(m, "test_ece"),
                    names.join(", ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ModelsCommand::Show { version, registry } => {
            let reg = Registry::open(&registry.models)?;
            let m = reg.manifest(&version)?;
            if registry.json {
                println!("{}", serde_json::to_string_pretty(&m)?);
                return Ok(ExitCode::SUCCESS);
            }
            let all_aliases = reg.aliases()?;
            let aliases = aliases_of(&all_aliases, &m.version);
            println!("version:        {}", m.version);
            println!("aliases:        {}", aliases.join(", "));
            println!("created:        {}", m.created_at);
            println!("algorithm:      {}", m.algorithm);
            println!("crate version:  {}", m.crate_version);
            let dates: Vec<String> = m.training_as_of.iter().map(|d| d.to_string()).collect();
            println!("training as-of: {}", dates.join(", "));
            println!("data:           {}", m.data_fingerprint);
            println!("catalog:        {}", m.feature_catalog_hash);
            println!(
                "features ({}):  {}",
                m.features.len(),
                m.features.join(", ")
            );
            println!(
                "artifact:       {} ({} bytes, sha256 {})",
                m.artifact_file, m.artifact_size, m.artifact_sha256
            );
            println!(
                "hyperparameters:\n{}",
                serde_json::to_string_pretty(&m.hyperparameters)?
            );
            println!("metrics:\n{}", serde_json::to_string_pretty(&m.metrics)?);
            Ok(ExitCode::SUCCESS)
        }
        ModelsCommand::Promote {
            version,
            alias,
            reason,
            registry,
        } => {
            let reg = Registry::open(&registry.models)?;
            let entry = reg.set_alias(&alias, &version, Action::Promote, &reason)?;
            if registry.json {
                println!("{}", serde_json::to_string_pretty(&entry)?);
            } else {
                println!(
                    "{alias}: {} → {}",
                    entry.previous.as_deref().unwrap_or("(unset)"),
                    entry.version
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ModelsCommand::Rollback {
            alias,
            reason,
            registry,
        } => {
            let reg = Registry::open(&registry.models)?;
            let before = reg.alias(&alias)?;
            let now = reg.rollback(&alias, &reason)?;
            if registry.json {
                println!(
                    "{}",
                    serde_json::json!({"alias": alias, "previous": before, "version": now})
                );
            } else {
                println!(
                    "{alias}: {} → {now}",
                    before.as_deref().unwrap_or("(unset)")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ModelsCommand::History { registry } => {
            let reg = Registry::open(&registry.models)?;
            let history = reg.history()?;
            if registry.json {
                println!("{}", serde_json::to_string_pretty(&history.entries)?);
            } else {
                for e in &history.entries {
                    println!(
                        "{}  {:<13} {:<10} {:<24} prev {:<24} {}  [{}]",
                        e.time.format("%Y-%m-%d %H:%M:%S"),
                        e.action.as_str(),
                        e.alias.as_deref().unwrap_or("-"),
                        e.version,
                        e.previous.as_deref().unwrap_or("-"),
                        e.reason,
                        e.actor
                    );
                }
            }
            if history.warnings() > 0 {
                eprintln!(
                    "warning: skipped {} unreadable history line(s): {:?}",
                    history.warnings(),
                    history.skipped_lines
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
