//! `churn campaigns`: retention effectiveness — per campaign treatment vs control churn, uplift
//! with a 95% interval, customers saved, response rate; uplift by risk decile; the uplift
//! model's held-out Qini and uplift@k.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::ValueEnum;

use churn::campaigns::{self, CampaignConfig, CampaignReport, CampaignStats, UpliftArtifact};
use churn::registry::{Registry, CHAMPION};
use churn::training::pipeline::load_model;
use churn::{output, progress, warehouse};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct CampaignsArgs {
    /// Warehouse export directory (the seven tables).
    #[arg(long)]
    pub data: PathBuf,
    /// Model registry: risk deciles use the champion's calibrated risk (without it, a proxy:
    /// the uplift model's control-group churn model), and the fitted uplift model is saved
    /// there (uplift/uplift_model.json) for scoring: snapshots built from this registry then
    /// carry each customer's expected uplift and can rank by expected saved value.
    #[arg(long)]
    pub models: Option<PathBuf>,
    /// With --models: do not save the uplift model into the registry.
    #[arg(long)]
    pub no_save: bool,
    /// Output directory for campaigns.json (the full report) and uplift_model.json.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// How the report is printed.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Campaign type analysed by the uplift model and the decile table.
    #[arg(long, default_value = "retention")]
    pub campaign_type: String,
    /// Seed of the held-out split.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "-".into())
}

fn campaign_line(c: &CampaignStats) -> String {
    let ci = match (c.uplift_ci_low, c.uplift_ci_high) {
        (Some(lo), Some(hi)) => format!("[{:+.1}, {:+.1}]", lo * 100.0, hi * 100.0),
        _ => "not observed".into(),
    };
    format!(
        "{:<14} {:<9} {:<10} {:>7} {:>7} {:>7} {:>8} {:>8} {:>7} {:>16} {:>7} {:>8}",
        c.campaign_id,
        c.campaign_type,
        c.target_date,
        c.targeted,
        c.treated,
        c.control,
        pct(c.treated_churn),
        pct(c.control_churn),
        c.uplift
            .map(|u| format!("{:+.1}", u * 100.0))
            .unwrap_or_else(|| "-".into()),
        ci,
        c.customers_saved
            .map(|s| format!("{s:.1}"))
            .unwrap_or_else(|| "-".into()),
        pct(c.response_rate),
    )
}

fn print_table(r: &CampaignReport) {
    println!(
        "90-day churn after the target date (observed up to {}); uplift = control − treated, \
         in points, 95% Newcombe interval",
        r.observed_until
    );
    println!(
        "{:<14} {:<9} {:<10} {:>7} {:>7} {:>7} {:>8} {:>8} {:>7} {:>16} {:>7} {:>8}",
        "campaign",
        "type",
        "date",
        "targets",
        "treated",
        "control",
        "churn T",
        "churn C",
        "uplift",
        "95% CI",
        "saved",
        "response"
    );
    if r.campaigns.is_empty() {
        println!("  (fact_campaign_target has no campaign targets)");
    }
    for c in &r.campaigns {
        println!("{}", campaign_line(c));
    }
    for c in &r.pooled {
        println!("{}", campaign_line(c));
    }
    println!();
    println!("uplift by risk decile ({})", r.risk_source);
    println!(
        "{:>6} {:>7} {:>9} {:>8} {:>8} {:>8}",
        "decile", "rows", "mean risk", "churn T", "churn C", "uplift"
    );
    for d in &r.deciles {
        println!(
            "{:>6} {:>7} {:>9.3} {:>8} {:>8} {:>+8.1}",
            d.decile,
            d.rows,
            d.mean_risk,
            pct(Some(d.treated_churn)),
            pct(Some(d.control_churn)),
            d.uplift * 100.0
        );
    }
    if r.deciles.is_empty() {
        println!("  (no rows to rank)");
    }
    println!();
    let Some(e) = &r.uplift_model else {
        let why = r
            .uplift_model_unavailable
            .as_deref()
            .unwrap_or("not fitted");
        let why = why.strip_prefix("uplift model: ").unwrap_or(why);
        println!("no uplift model: {why}");
        return;
    };
    println!(
        "uplift model (T-learner, two logistic regressions) on {} held-out {} rows \
         ({} treated, {} control; trained on {}):",
        e.holdout_rows, e.campaign_type, e.holdout_treated, e.holdout_control, e.training_rows
    );
    println!(
        "  observed uplift {:+.1} points, mean predicted {:+.1} points, Qini coefficient {:.4}",
        e.holdout_observed_uplift * 100.0,
        e.holdout_mean_predicted_uplift * 100.0,
        e.qini_coefficient
    );
    println!(
        "  {:>6} {:>6} {:>8} {:>8} {:>9} {:>10}",
        "top", "rows", "churn T", "churn C", "observed", "predicted"
    );
    for u in &e.uplift_at {
        println!(
            "  {:>5.0}% {:>6} {:>8} {:>8} {:>+9.1} {:>+10.1}",
            u.share * 100.0,
            u.rows,
            pct(Some(u.treated_churn)),
            pct(Some(u.control_churn)),
            u.observed_uplift * 100.0,
            u.mean_predicted_uplift * 100.0
        );
    }
    println!(
        "  Qini curve (share targeted: churners saved, model vs random): {}",
        e.qini_curve
            .iter()
            .map(|p| format!(
                "{:.0}%: {:.1} vs {:.1}",
                p.share * 100.0,
                p.incremental_saved,
                p.random
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

pub fn run(args: CampaignsArgs) -> Result<ExitCode> {
    let spinner = progress::spinner("loading the warehouse");
    let (wh, _) =
        warehouse::load(&args.data).with_context(|| format!("loading {}", args.data.display()))?;
    let champion = match &args.models {
        Some(dir) => {
            let reg = Registry::open(dir)
                .with_context(|| format!("opening the registry {}", dir.display()))?;
            let (manifest, model) = load_model(&reg, CHAMPION)?;
            Some((manifest.version, model))
        }
        None => None,
    };
    spinner.set_message("features at each target date, uplift model");
    let cfg = CampaignConfig {
        campaign_type: args.campaign_type.clone(),
        seed: args.seed,
        ..CampaignConfig::default()
    };
    let (report, model) =
        campaigns::analyse(&wh, &cfg, champion.as_ref().map(|(v, m)| (v.as_str(), m)))?;
    spinner.finish_and_clear();
    if let Some(dir) = &args.out {
        output::write_json(&dir.join("campaigns.json"), &report)?;
        if let Some(model) = &model {
            output::write_json(&dir.join("uplift_model.json"), model)?;
        }
    }
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Table => print_table(&report),
    }
    if let (Some(dir), false, None) = (&args.models, args.no_save, &model) {
        eprintln!(
            "no uplift model saved to {} (the registry's previous one, if any, is left as it was)",
            dir.display()
        );
    }
    if let (Some(dir), false, Some(model), Some(evaluation)) =
        (&args.models, args.no_save, model, &report.uplift_model)
    {
        let artifact = UpliftArtifact::new(model, evaluation, report.observed_until);
        let path = artifact.save(dir)?;
        eprintln!(
            "saved the uplift model to {} (snapshots built from {} now carry expected uplift)",
            path.display(),
            dir.display()
        );
    }
    if let Some(dir) = &args.out {
        eprintln!("wrote {}", dir.join("campaigns.json").display());
        if report.uplift_model.is_some() {
            eprintln!("wrote {}", dir.join("uplift_model.json").display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
