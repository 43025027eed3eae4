//! `churn clv`: lifetime value.
//!
//! - `churn clv --data DIR [--as-of DATE] [--models DIR] [--out DIR]`: contractual CLV of every
//!   active customer from the registry champion's calibrated risk (clv.parquet +
//!   run_summary.json).
//! - `churn clv backtest --data DIR --as-of EARLIER [--models DIR]`: forecast as of an earlier
//!   date vs the margin the warehouse shows afterwards (MAE, correlation, deciles).
//! - `churn clv --transactions FILE --customer-col C --date-col D [--amount-col A]
//!   [--holdout-from DATE] [--out DIR]`: BG/NBD + Gamma-Gamma on a transaction log.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use serde::Serialize;

use churn::output::{self, FileFormat};
use churn::registry::{Registry, CHAMPION};
use churn::training::pipeline::load_model;
use churn::value::noncontractual::{
    holdout_report, transaction_clv, HoldoutReport, TransactionClv, TransactionClvConfig,
};
use churn::value::rfm::{self, Summary, TimeUnit, TransactionColumns};
use churn::value::{self, BacktestReport, ClvConfig};
use churn::warehouse;

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ClvArgs {
    #[command(subcommand)]
    pub command: Option<ClvCommand>,
    /// Warehouse export directory (contractual CLV from the churn champion).
    #[arg(
        long,
        conflicts_with = "transactions",
        required_unless_present = "transactions"
    )]
    pub data: Option<PathBuf>,
    /// As-of date (YYYY-MM-DD) for --data. Default: the last date the export covers.
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    /// The model registry (its champion gives the churn risk).
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// A transaction log (CSV or Parquet, one row per purchase): BG/NBD + Gamma-Gamma.
    #[arg(long)]
    pub transactions: Option<PathBuf>,
    /// Customer id column of --transactions.
    #[arg(long, default_value = "customer_id")]
    pub customer_col: String,
    /// Date column of --transactions.
    #[arg(long, default_value = "date")]
    pub date_col: String,
    /// Amount column of --transactions (without it: purchases only, no spend or CLV).
    #[arg(long)]
    pub amount_col: Option<String>,
    /// chrono format of the dates (e.g. %Y%m%d, %d/%m/%Y). Default: YYYY-MM-DD or YYYYMMDD.
    #[arg(long)]
    pub date_format: Option<String>,
    /// Fit on purchases before this date and compare predicted with actual purchases from it on.
    #[arg(long)]
    pub holdout_from: Option<NaiveDate>,
    /// Unit of recency and T (and of α): days (lifetimes' default) or weeks.
    #[arg(long, value_enum, default_value_t = Unit::Days)]
    pub time_unit: Unit,
    /// CLV horizon in months. Default: 24 for --data, 12 for --transactions.
    #[arg(long)]
    pub horizon_months: Option<u32>,
    /// Monthly discount rate.
    #[arg(long, default_value_t = 0.01)]
    pub discount_rate: f64,
    /// Output directory.
    #[arg(long, default_value = "clv")]
    pub out: PathBuf,
}

#[derive(clap::Subcommand, Debug)]
pub enum ClvCommand {
    /// Forecast as of an earlier date and compare with the margin the warehouse shows afterwards.
    Backtest {
        /// Warehouse export directory.
        #[arg(long)]
        data: PathBuf,
        /// The earlier as-of date. Default: 12 months before the last date the export covers.
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// The model registry.
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// CLV horizon in months (truncated to the months the export covers after --as-of).
        #[arg(long, default_value_t = 24)]
        horizon_months: u32,
        /// Monthly discount rate.
        #[arg(long, default_value_t = 0.01)]
        discount_rate: f64,
        /// Also write the report as JSON here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Unit {
    Days,
    Weeks,
}

impl From<Unit> for TimeUnit {
    fn from(u: Unit) -> Self {
        match u {
            Unit::Days => TimeUnit::Days,
            Unit::Weeks => TimeUnit::Weeks,
        }
    }
}

pub fn run(args: ClvArgs) -> Result<ExitCode> {
    match args.command {
        Some(ClvCommand::Backtest {
            data,
            as_of,
            models,
            horizon_months,
            discount_rate,
            out,
            json,
        }) => {
            let cfg = ClvConfig {
                horizon_months,
                monthly_discount_rate: discount_rate,
                ..ClvConfig::default()
            };
            backtest(&data, as_of, &models, &cfg, out.as_deref(), json)
        }
        None => match (&args.data, &args.transactions) {
            (Some(data), _) => {
                let cfg = ClvConfig {
                    horizon_months: args.horizon_months.unwrap_or(24),
                    monthly_discount_rate: args.discount_rate,
                    ..ClvConfig::default()
                };
                contractual(data, args.as_of, &args.models, &cfg, &args.out)
            }
            (None, Some(file)) => transactions(&args, file),
            (None, None) => bail!("pass --data DIR (contractual) or --transactions FILE"),
        },
    }
}

/// The champion's version and model (and the last as-of date it was trained on), or an error
/// saying to train one.
fn champion(
    models: &Path,
) -> Result<(
    String,
    churn::training::models::ChurnModel,
    Option<NaiveDate>,
)> {
    let missing = || {
        format!(
            "no champion model in {}: run `churn train --data DIR --models {}` first",
            models.display(),
            models.display()
        )
    };
    if !models.is_dir() {
        bail!(missing());
    }
    let reg = Registry::open(models)
        .with_context(|| format!("opening the model registry {}", models.display()))?;
    if reg.alias(CHAMPION)?.is_none() {
        bail!(missing());
    }
    let (manifest, model) = load_model(&reg, CHAMPION)?;
    let trained_until = manifest.training_as_of.iter().max().copied();
    Ok((manifest.version, model, trained_until))
}

fn load(data: &Path) -> Result<(warehouse::Warehouse, warehouse::LoadReport)> {
    warehouse::load(data).with_context(|| format!("loading the warehouse {}", data.display()))
}

#[derive(Serialize)]
struct ContractualSummary<'a> {
    command: &'static str,
    version: &'static str,
    data: &'a Path,
    as_of: NaiveDate,
    model_version: &'a str,
    config: ClvConfig,
    customers: usize,
    total_clv: f64,
    mean_clv: f64,
    mean_churn_probability: f64,
    load: &'a warehouse::LoadReport,
    output: PathBuf,
    seconds_load: f64,
    seconds_clv: f64,
}

fn contractual(
    data: &Path,
    as_of: Option<NaiveDate>,
    models: &Path,
    cfg: &ClvConfig,
    out: &Path,
) -> Result<ExitCode> {
    let (version, model, _) = champion(models)?;
    let t0 = Instant::now();
    let (wh, report) = load(data)?;
    let seconds_load = t0.elapsed().as_secs_f64();
    let as_of = match as_of.or(wh.observed_until()) {
        Some(d) => d,
        None => bail!(
            "the export in {} has no dated facts: pass --as-of",
            data.display()
        ),
    };
    let t1 = Instant::now();
    let table = value::forecast(&wh, as_of, &model, &version, cfg)?;
    let seconds_clv = t1.elapsed().as_secs_f64();
    let path = out.join("clv.parquet");
    let mut frame = table.to_frame()?;
    output::write_frame(&mut frame, &path, FileFormat::Parquet)?;
    let n = table.inputs.len();
    let summary = ContractualSummary {
        command: "clv",
        version: env!("CARGO_PKG_VERSION"),
        data,
        as_of,
        model_version: &version,
        config: *cfg,
        customers: n,
        total_clv: table.total_clv(),
        mean_clv: table.total_clv() / n.max(1) as f64,
        mean_churn_probability: table.churn_probability.iter().sum::<f64>() / n.max(1) as f64,
        load: &report,
        output: path.clone(),
        seconds_load,
        seconds_clv,
    };
    output::write_json(&out.join("run_summary.json"), &summary)?;
    println!(
        "contractual CLV as of {as_of} ({} months, {:.2}%/month discount), model {version}",
        cfg.horizon_months,
        cfg.monthly_discount_rate * 100.0
    );
    println!(
        "  {n} active customers, total CLV {:.0}, mean {:.2}, mean 90-day risk {:.3}",
        summary.total_clv, summary.mean_clv, summary.mean_churn_probability
    );
    println!("  {}  ({seconds_clv:.2}s)", path.display());
    Ok(ExitCode::SUCCESS)
}

fn backtest(
    data: &Path,
    as_of: Option<NaiveDate>,
    models: &Path,
    cfg: &ClvConfig,
    out: Option<&Path>,
    json: bool,
) -> Result<ExitCode> {
    let (version, model, trained_until) = champion(models)?;
    let (wh, _) = load(data)?;
    let as_of = match as_of {
        Some(d) => d,
        None => match wh
            .observed_until()
            .and_then(|d| d.checked_sub_months(chrono::Months::new(12)))
        {
            Some(d) => d,
            None => bail!(
                "the export in {} has no dated facts: pass --as-of",
                data.display()
            ),
        },
    };
    let report = value::backtest(&wh, as_of, &model, &version, cfg)?;
    if let Some(t) = trained_until.filter(|t| *t > as_of) {
        eprintln!(
            "note: the champion was trained on as-of dates up to {t}, after {as_of}: its risk has \
             seen what followed. For an out-of-time backtest train a model with as-of dates \
             ≤ {} (`churn train --as-of …`) and pass its registry.",
            as_of - chrono::Duration::days(90)
        );
    }
    if let Some(out) = out {
        output::write_json(out, &report)?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_backtest(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_backtest(r: &BacktestReport) {
    println!(
        "CLV backtest: forecast as of {} (model {}), actual margin up to {}",
        r.as_of, r.model_version, r.observed_until
    );
    println!(
        "  horizon {} months, truncated to the {} whole months the export covers",
        r.horizon_months, r.horizon_months_used
    );
    println!(
        "  {} customers ({:.1}% churned within it): mean forecast {:.2}, mean actual {:.2}",
        r.customers,
        r.churned_share * 100.0,
        r.mean_forecast,
        r.mean_actual
    );
    println!(
        "  MAE {:.2}, correlation {:.3}  (everyone at the mean risk: MAE {:.2}, correlation {:.3})",
        r.mean_absolute_error,
        r.correlation,
        r.baseline_mean_absolute_error,
        r.baseline_correlation
    );
    println!(
        "  {:>6} {:>9} {:>14} {:>12}",
        "decile", "customers", "mean forecast", "mean actual"
    );
    for d in &r.deciles {
        println!(
            "  {:>6} {:>9} {:>14.2} {:>12.2}",
            d.decile, d.customers, d.mean_forecast, d.mean_actual
        );
    }
}

#[derive(Serialize)]
struct TransactionSummary<'a> {
    command: &'static str,
    version: &'static str,
    transactions: &'a Path,
    rows: usize,
    customers: usize,
    time_unit: TimeUnit,
    observation_end: NaiveDate,
    holdout_end: Option<NaiveDate>,
    config: TransactionClvConfig,
    bgnbd: &'a churn::value::bgnbd::BgNbdFit,
    gamma_gamma: Option<&'a churn::value::gamma_gamma::GammaGammaFit>,
    holdout: Option<&'a HoldoutReport>,
    seconds_read: f64,
    seconds_summary: f64,
    seconds_bgnbd_fit: f64,
    seconds_gamma_gamma_fit: f64,
    seconds_fit: f64,
}

fn transactions(args: &ClvArgs, file: &Path) -> Result<ExitCode> {
    let unit: TimeUnit = args.time_unit.into();
    let t0 = Instant::now();
    let tx = rfm::read_transactions(
        file,
        &TransactionColumns {
            customer: &args.customer_col,
            date: &args.date_col,
            amount: args.amount_col.as_deref(),
            date_format: args.date_format.as_deref(),
        },
    )?;
    let seconds_read = t0.elapsed().as_secs_f64();
    let Some(last) = tx.purchases.iter().map(|p| p.date).max() else {
        bail!("{} holds no transactions", file.display());
    };
    let t1 = Instant::now();
    let (end, holdout_end) = match args.holdout_from {
        Some(h) => {
            let Some(end) = h.pred_opt() else {
                bail!("--holdout-from {h} is out of range")
            };
            if h > last {
                bail!("--holdout-from {h} is after the last transaction ({last}): nothing to hold out");
            }
            (end, Some(last))
        }
        None => (last, None),
    };
    let summary: Summary = rfm::summarize(&tx, end, holdout_end, unit);
    let seconds_summary = t1.elapsed().as_secs_f64();
    let cfg = TransactionClvConfig {
        unit,
        horizon_months: args.horizon_months.unwrap_or(12),
        monthly_discount_rate: args.discount_rate,
    };
    let holdout_length = holdout_end.map(|h| (h - end).num_days() as f64 / unit.days());
    let fit: TransactionClv = transaction_clv(&summary, &cfg, holdout_length)?;
    let holdout = holdout_length.map(|h| holdout_report(&summary, &fit.predicted_holdout, h));
    print_transaction_fit(&fit, &summary, unit, end, holdout.as_ref());

    output::write_json(
        &args.out.join("clv_params.json"),
        &serde_json::json!({
            "time_unit": unit,
            "observation_end": end,
            "bgnbd": fit.bgnbd.params,
            "gamma_gamma": fit.gamma_gamma.as_ref().map(|g| g.params),
        }),
    )?;
    let mut frame = customers_frame(&summary, &fit, holdout_length.is_some())?;
    let customers_path = args.out.join("clv_customers.parquet");
    output::write_frame(&mut frame, &customers_path, FileFormat::Parquet)?;
    let run = TransactionSummary {
        command: "clv --transactions",
        version: env!("CARGO_PKG_VERSION"),
        transactions: file,
        rows: tx.rows,
        customers: summary.len(),
        time_unit: unit,
        observation_end: end,
        holdout_end,
        config: cfg,
        bgnbd: &fit.bgnbd,
        gamma_gamma: fit.gamma_gamma.as_ref(),
        holdout: holdout.as_ref(),
        seconds_read,
        seconds_summary,
        seconds_bgnbd_fit: fit.seconds_bgnbd_fit,
        seconds_gamma_gamma_fit: fit.seconds_gamma_gamma_fit,
        seconds_fit: fit.seconds_bgnbd_fit + fit.seconds_gamma_gamma_fit,
    };
    output::write_json(&args.out.join("run_summary.json"), &run)?;
    println!(
        "wrote {}, {} and run_summary.json",
        args.out.join("clv_params.json").display(),
        customers_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn customers_frame(
    s: &Summary,
    fit: &TransactionClv,
    holdout: bool,
) -> Result<polars::prelude::DataFrame> {
    use polars::prelude::{Column, DataFrame};
    let f = |name: &str, v: &[f64]| Column::new(name.into(), v.to_vec());
    let mut columns = vec![
        Column::new("customer_id".into(), s.customer_id.clone()),
        f("frequency", &s.frequency),
        f("recency", &s.recency),
        f("T", &s.age),
        f("monetary_value", &s.monetary_value),
        f("p_alive", &fit.p_alive),
        f("expected_purchases", &fit.expected_purchases),
        f("expected_spend", &fit.expected_spend),
        f("clv", &fit.clv),
    ];
    if holdout {
        columns.push(f("frequency_holdout", &s.frequency_holdout));
        columns.push(f("predicted_holdout", &fit.predicted_holdout));
    }
    Ok(DataFrame::new(s.len(), columns)?)
}

fn print_transaction_fit(
    fit: &TransactionClv,
    s: &Summary,
    unit: TimeUnit,
    end: NaiveDate,
    holdout: Option<&HoldoutReport>,
) {
    let b = &fit.bgnbd;
    println!(
        "{} customers, observation end {end}, recency and T in {}",
        s.len(),
        match unit {
            TimeUnit::Days => "days",
            TimeUnit::Weeks => "weeks",
        }
    );
    println!(
        "BG/NBD       r = {:.4}  alpha = {:.4}  a = {:.4}  b = {:.4}   (mean LL {:.6}, {} iterations, {:.3}s)",
        b.params.r, b.params.alpha, b.params.a, b.params.b, b.mean_log_likelihood, b.iterations,
        fit.seconds_bgnbd_fit
    );
    match &fit.gamma_gamma {
        Some(g) => println!(
            "Gamma-Gamma  p = {:.4}  q = {:.4}  v = {:.4}   ({} repeat customers, {} iterations, {:.3}s)",
            g.params.p, g.params.q, g.params.v, g.customers, g.iterations, fit.seconds_gamma_gamma_fit
        ),
        None => println!("Gamma-Gamma  not fitted (no repeat purchase with a positive amount)"),
    }
    let n = s.len().max(1) as f64;
    println!(
        "mean P(alive) {:.3}, mean expected purchases {:.3}, mean CLV {:.2}",
        fit.p_alive.iter().sum::<f64>() / n,
        fit.expected_purchases.iter().sum::<f64>() / n,
        fit.clv.iter().filter(|v| v.is_finite()).sum::<f64>() / n
    );
    if let Some(h) = holdout {
        println!(
            "holdout ({:.0} {}): actual {:.0} repeat purchases, predicted {:.1}; MAE {:.3}, correlation {:.3}",
            h.holdout_length,
            match unit {
                TimeUnit::Days => "days",
                TimeUnit::Weeks => "weeks",
            },
            h.actual_total,
            h.predicted_total,
            h.mean_absolute_error,
            h.correlation
        );
        println!(
            "  {:>9} {:>9} {:>12} {:>15}",
            "frequency", "customers", "mean actual", "mean predicted"
        );
        for r in &h.by_frequency {
            let label = if r.frequency == 7 {
                "7+".to_string()
            } else {
                r.frequency.to_string()
            };
            println!(
                "  {:>9} {:>9} {:>12.3} {:>15.3}",
                label, r.customers, r.mean_actual, r.mean_predicted
            );
        }
    }
}
