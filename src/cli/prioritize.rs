//! `churn prioritize`: the prioritised list of customers by value at risk (or expected saved
//! value, or risk), from a scoring snapshot built here or loaded from a file.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use serde::Serialize;

use churn::campaigns::UpliftArtifact;
use churn::progress;
use churn::scoring::{
    data_fingerprint, money, BuildStep, CustomerScore, Filter, RankBy, ReasonMethod, ScoreReason,
    ScoringConfig, Snapshot,
};

/// Output format of the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
}

/// How a tree champion's reasons are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReasonsArg {
    Auto,
    Exact,
    Path,
}

impl From<ReasonsArg> for ReasonMethod {
    fn from(r: ReasonsArg) -> ReasonMethod {
        match r {
            ReasonsArg::Auto => ReasonMethod::Auto,
            ReasonsArg::Exact => ReasonMethod::Exact,
            ReasonsArg::Path => ReasonMethod::Path,
        }
    }
}

/// What the list is ranked by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RankArg {
    /// churn probability × CLV.
    ValueAtRisk,
    /// expected uplift of a retention offer × CLV.
    ExpectedSavedValue,
    /// churn probability.
    Risk,
}

impl From<RankArg> for RankBy {
    fn from(r: RankArg) -> RankBy {
        match r {
            RankArg::ValueAtRisk => RankBy::ValueAtRisk,
            RankArg::ExpectedSavedValue => RankBy::ExpectedSavedValue,
            RankArg::Risk => RankBy::Risk,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct PrioritizeArgs {
    /// Warehouse export directory: scored with the champion as of its newest date.
    #[arg(long, required_unless_present_any = ["snapshot", "addr"])]
    pub data: Option<PathBuf>,
    /// The model registry directory.
    #[arg(long, default_value = "models")]
    pub models: PathBuf,
    /// Snapshot file: loaded when it matches --data and the champion (or when --data is not
    /// given), otherwise built and saved here.
    #[arg(long)]
    pub snapshot: Option<PathBuf>,
    /// Only this account manager's customers.
    #[arg(long)]
    pub manager: Option<String>,
    /// Only this segment.
    #[arg(long)]
    pub segment: Option<String>,
    /// Only this region.
    #[arg(long)]
    pub region: Option<String>,
    /// Only this tier.
    #[arg(long)]
    pub tier: Option<String>,
    /// Only customers with at least this churn probability.
    #[arg(long)]
    pub min_risk: Option<f64>,
    /// Rows to print.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Rows of the ranking to skip first (paging).
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Ranking. Default: value-at-risk (risk when the snapshot has no CLV).
    #[arg(long, value_enum)]
    pub rank_by: Option<RankArg>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Print the snapshot's build timings (seconds per step) and how it was obtained as JSON
    /// on stderr.
    #[arg(long)]
    pub timings: bool,
    /// How a tree champion's reasons are computed when the snapshot is built: `auto` (exact
    /// TreeSHAP for small warehouses, path attribution when that would be slow), `exact` or
    /// `path`.
    #[arg(long, value_enum, default_value_t = ReasonsArg::Auto)]
    pub reasons: ReasonsArg,
    /// Ask a running `churn serve` at this address (host:port) instead of scoring here.
    #[arg(long)]
    pub addr: Option<String>,
}

/// One row of the JSON output.
#[derive(Serialize)]
struct JsonRow<'a> {
    rank: usize,
    #[serde(flatten)]
    score: &'a CustomerScore,
    model_version: &'a str,
    as_of_date: String,
}

fn reason_short(r: &ScoreReason) -> String {
    match r.value {
        Some(v) if v.fract() == 0.0 && v.abs() < 1e12 => format!("{}={}", r.feature, v as i64),
        Some(v) => format!("{}={v:.2}", r.feature),
        None => format!("{}=missing", r.feature),
    }
}

fn reasons_text(s: &CustomerScore) -> String {
    s.reasons
        .iter()
        .map(reason_short)
        .collect::<Vec<_>>()
        .join("; ")
}

fn product_text(s: &CustomerScore) -> String {
    s.next_best_products
        .first()
        .map(|p| p.product_name.clone())
        .unwrap_or_default()
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

fn obtain_snapshot(args: &PrioritizeArgs) -> Result<Snapshot> {
    let cfg = ScoringConfig {
        reasons: args.reasons.into(),
        ..ScoringConfig::default()
    };
    if let Some(path) = &args.snapshot {
        if path.exists() {
            let meta = Snapshot::read_meta(path)?;
            let current = match &args.data {
                None => true,
                Some(data) => {
                    let (manifest, _) = churn::scoring::load_champion(&args.models, &cfg.model)?;
                    meta.key.data_fingerprint.as_deref() == Some(data_fingerprint(data)?.as_str())
                        && meta.key.model_version == manifest.version
                        && meta.config.reasons == cfg.reasons
                        && meta.uplift_model.as_ref().map(|u| u.fitted_at.as_str())
                            == UpliftArtifact::load(&args.models)?
                                .as_ref()
                                .map(|a| a.fitted_at.as_str())
                }
            };
            if current {
                return Snapshot::load(path)
                    .with_context(|| format!("loading the snapshot {}", path.display()));
            }
            eprintln!(
                "snapshot {} is stale (other data, champion, uplift model or --reasons): rebuilding",
                path.display()
            );
        }
    }
    let Some(data) = &args.data else {
        bail!("give --data DIR (the warehouse to score) or an existing --snapshot FILE");
    };
    let bar = progress::bar(1, "champion");
    let mut on_step = |step: BuildStep, done: usize, total: usize| {
        bar.set_message(step.label());
        bar.set_length(total.max(1) as u64);
        bar.set_position(done as u64);
    };
    let snap = Snapshot::build(data, &args.models, &cfg, &mut on_step)?;
    bar.finish_and_clear();
    if let Some(path) = &args.snapshot {
        snap.save(path)?;
        eprintln!("saved the snapshot to {}", path.display());
    }
    Ok(snap)
}

pub fn run(args: PrioritizeArgs) -> Result<ExitCode> {
    if args.addr.is_some() {
        return super::score::prioritize_remote(&args);
    }
    let started = std::time::Instant::now();
    let snap = obtain_snapshot(&args)?;
    if args.timings {
        let report = serde_json::json!({
            "customers": snap.len(),
            "seconds_to_snapshot": started.elapsed().as_secs_f64(),
            "build_timings": snap.meta().timings,
            "model": snap.model().algorithm,
            "reason_method": snap.meta().reason_method,
            "components": snap.components(),
        });
        eprintln!("{}", serde_json::to_string(&report)?);
    }
    let filter = Filter {
        ids: Vec::new(),
        segment: args.segment.clone(),
        region: args.region.clone(),
        manager: args.manager.clone(),
        tier: args.tier.clone(),
        min_risk: args.min_risk,
    };
    snap.validate_filter(&filter)?;
    let rank_by = match args.rank_by {
        Some(r) => r.into(),
        None if snap.components().clv => RankBy::ValueAtRisk,
        None => {
            eprintln!("note: this snapshot has no CLV; ranking by risk");
            RankBy::Risk
        }
    };
    let page = snap.prioritize(&filter, rank_by, args.offset, args.top)?;
    let rows: Vec<(usize, &CustomerScore)> = page.rows.iter().map(|r| (r.rank, r.score)).collect();
    let title = format!(
        "{} customers match; model {}, features as of {}; ranked by {}",
        page.total,
        snap.model().version,
        snap.as_of(),
        rank_by.as_str()
    );
    print_rows(
        args.format,
        &title,
        &rows,
        &snap.model().version,
        &snap.as_of().to_string(),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Prints ranked rows (rank, score) as a table (under `title`), CSV or JSON: the same output
/// for a local snapshot and for a running server (`--addr`). Uplift columns appear in the
/// table when the rows carry expected uplift; the CSV always has them (empty without).
pub(crate) fn print_rows(
    format: OutputFormat,
    title: &str,
    rows: &[(usize, &CustomerScore)],
    version: &str,
    as_of: &str,
) -> Result<()> {
    match format {
        OutputFormat::Json => {
            let rows: Vec<JsonRow> = rows
                .iter()
                .map(|&(rank, score)| JsonRow {
                    rank,
                    score,
                    model_version: version,
                    as_of_date: as_of.to_string(),
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
        OutputFormat::Csv => {
            println!(
                "rank,customer_id,churn_probability,risk_band,clv,value_at_risk,reasons,suggested_product,action,expected_uplift,expected_saved_value"
            );
            for &(rank, s) in rows {
                // Empty uplift fields when the snapshot has no uplift model.
                let (uplift, saved) = match s.expected_uplift {
                    Some(u) => (format!("{u:.6}"), format!("{:.2}", u * s.clv)),
                    None => (String::new(), String::new()),
                };
                println!(
                    "{rank},{},{:.6},{},{:.2},{:.2},{},{},{},{uplift},{saved}",
                    csv_field(&s.customer_id),
                    s.churn_probability,
                    s.risk_band.as_str(),
                    s.clv,
                    s.value_at_risk,
                    csv_field(&reasons_text(s)),
                    csv_field(&product_text(s)),
                    csv_field(&s.action)
                );
            }
        }
        OutputFormat::Table => {
            println!("{title}");
            // With an uplift model: the offer's expected churn reduction (points) and the value
            // it is expected to save.
            let uplift = rows.iter().any(|(_, s)| s.expected_uplift.is_some());
            let uplift_head = if uplift {
                format!(" {:>7} {:>10}", "uplift", "saved")
            } else {
                String::new()
            };
            println!(
                "{:>5}  {:<12} {:>6} {:<8} {:>11} {:>11}{uplift_head}  {:<48} {:<20} action",
                "rank", "customer", "risk", "band", "CLV", "at risk", "top reasons", "suggested"
            );
            for &(rank, s) in rows {
                let mut reasons = reasons_text(s);
                if reasons.chars().count() > 48 {
                    reasons = reasons.chars().take(47).collect::<String>() + "…";
                }
                let uplift_cells = match (uplift, s.expected_uplift) {
                    (true, Some(u)) => format!(" {:>+7.1} {:>10}", u * 100.0, money(u * s.clv)),
                    (true, None) => format!(" {:>7} {:>10}", "", ""),
                    (false, _) => String::new(),
                };
                println!(
                    "{rank:>5}  {:<12} {:>6.3} {:<8} {:>11} {:>11}{uplift_cells}  {:<48} {:<20} {}",
                    s.customer_id,
                    s.churn_probability,
                    s.risk_band.as_str(),
                    money(s.clv),
                    money(s.value_at_risk),
                    reasons,
                    product_text(s),
                    s.action
                );
            }
        }
    }
    Ok(())
}
