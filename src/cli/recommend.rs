//! `churn recommend`: next-best-product suggestions for every active customer, and
//! `churn recommend evaluate`: hit rate@k and MAP@k on later adoptions vs a popularity baseline.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use serde::Serialize;

use churn::output::{self, FileFormat};
use churn::recommend::{self, RecommendConfig, Recommender};
use churn::scoring::{ProductSuggestion, SuggestionKind};
use churn::{progress, warehouse};

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RecommendArgs {
    #[command(subcommand)]
    pub command: Option<RecommendCommand>,
    /// Warehouse export directory (the seven tables).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// As-of date (YYYY-MM-DD). Default: the last date the export covers.
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    /// Suggestions per customer.
    #[arg(long, default_value_t = 3)]
    pub top: usize,
    /// Output file: `.csv` → CSV, `.json` → JSON, anything else → Parquet. One row per
    /// suggestion. Without it, the first customers' suggestions are printed.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Customers printed when --out is not given.
    #[arg(long, default_value_t = 10)]
    pub show: usize,
}

#[derive(clap::Subcommand, Debug)]
pub enum RecommendCommand {
    /// Fit as of a date, rank products for every active customer and score the ranking on the
    /// adoptions of the following 90 days, against a popularity baseline.
    Evaluate {
        /// Warehouse export directory.
        #[arg(long)]
        data: PathBuf,
        /// As-of date. Default: 90 days before the last date the export covers.
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// k of hit rate@k and MAP@k.
        #[arg(long, default_value_t = 3)]
        top: usize,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Pseudo-count of the back-off smoothing.
        #[arg(long, default_value_t = 200.0)]
        smoothing: f64,
        /// 90-day training windows before the as-of date.
        #[arg(long, default_value_t = 4)]
        windows: usize,
        /// Pseudo-adoptions shrinking each context lift toward 1.
        #[arg(long, default_value_t = 10.0)]
        lift_smoothing: f64,
        /// Customer-days the context lifts are fitted on at most.
        #[arg(long, default_value_t = 150_000)]
        context_rows: usize,
        /// Holdings model only: no context lifts (usage, network, tickets, tier, region, …).
        #[arg(long)]
        no_context: bool,
        /// Also fit and score the alternative model (one smartcore logistic regression per
        /// product).
        #[arg(long)]
        compare_logistic: bool,
    },
}

#[derive(Serialize)]
struct Row<'a> {
    customer_id: &'a str,
    rank: usize,
    #[serde(flatten)]
    suggestion: &'a ProductSuggestion,
}

fn kind_name(k: SuggestionKind) -> &'static str {
    match k {
        SuggestionKind::Adoption => "adoption",
        SuggestionKind::RightSize => "right_size",
        SuggestionKind::Retention => "retention",
    }
}

pub fn run(args: RecommendArgs) -> Result<ExitCode> {
    if let Some(RecommendCommand::Evaluate {
        data,
        as_of,
        top,
        json,
        compare_logistic,
        smoothing,
        windows,
        lift_smoothing,
        context_rows,
        no_context,
    }) = args.command
    {
        let cfg = RecommendConfig {
            top_k: top,
            smoothing,
            history_windows: windows,
            lift_smoothing,
            context_rows,
            context: !no_context,
            ..RecommendConfig::default()
        };
        return evaluate(data, as_of, cfg, json, compare_logistic);
    }
    let data = args
        .data
        .context("--data is required (the warehouse export directory)")?;
    let started = Instant::now();
    let spinner = progress::spinner("loading the warehouse");
    let (wh, _) = warehouse::load(&data).with_context(|| format!("loading {}", data.display()))?;
    let as_of = match args.as_of {
        Some(d) => d,
        None => wh
            .observed_until()
            .context("the warehouse is empty: give --as-of")?,
    };
    spinner.set_message("fitting the adoption model");
    let cfg = RecommendConfig {
        top_k: args.top,
        ..RecommendConfig::default()
    };
    let loaded = started.elapsed().as_secs_f64();
    spinner.set_message("fitting the adoption model and suggesting");
    let t_fit = Instant::now();
    let (_, by_id) = Recommender::fit_and_suggest(&wh, as_of, &cfg, None)?;
    let fit_suggest_s = t_fit.elapsed().as_secs_f64();
    spinner.finish_and_clear();
    eprintln!("load {loaded:.2} s, fit + suggest_all {fit_suggest_s:.2} s");
    let mut ids: Vec<&String> = by_id.keys().collect();
    ids.sort();
    let rows: Vec<Row> = ids
        .iter()
        .flat_map(|id| {
            by_id[*id].iter().enumerate().map(|(k, s)| Row {
                customer_id: id,
                rank: k + 1,
                suggestion: s,
            })
        })
        .collect();
    match &args.out {
        Some(path) => {
            write_rows(&rows, path)?;
            println!(
                "{} suggestions for {} customers active at {as_of} written to {} ({:.1} s)",
                rows.len(),
                ids.len(),
                path.display(),
                started.elapsed().as_secs_f64()
            );
        }
        None => {
            println!(
                "{:<10} {:>4} {:<10} {:<12} {:>8} {:>6} {:>8}  rationale",
                "customer", "rank", "kind", "product", "gain/mo", "p", "saving"
            );
            for r in rows
                .iter()
                .filter(|r| ids.iter().take(args.show).any(|id| *id == r.customer_id))
            {
                let s = r.suggestion;
                println!(
                    "{:<10} {:>4} {:<10} {:<12} {:>8.2} {:>6.3} {:>8}  {}",
                    r.customer_id,
                    r.rank,
                    kind_name(s.kind),
                    s.product_id,
                    s.expected_gain,
                    s.adoption_probability,
                    s.monthly_saving
                        .map(|v| format!("{v:.2}"))
                        .unwrap_or_else(|| "-".into()),
                    s.rationale
                );
            }
            println!(
                "{} customers active at {as_of}; {} suggestions (use --out FILE to write them all)",
                ids.len(),
                rows.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_rows(rows: &[Row], path: &std::path::Path) -> Result<()> {
    use polars::prelude::{Column, DataFrame, NamedFrom, Series};
    if path.extension().is_some_and(|e| e == "json") {
        output::write_json(path, rows)?;
        return Ok(());
    }
    let col = |name: &str, v: Vec<String>| Column::from(Series::new(name.into(), v));
    let s = |f: fn(&Row) -> String| rows.iter().map(f).collect::<Vec<_>>();
    let mut df = DataFrame::new(
        rows.len(),
        vec![
            col("customer_id", s(|r| r.customer_id.to_string())),
            Column::from(Series::new(
                "rank".into(),
                rows.iter().map(|r| r.rank as u32).collect::<Vec<_>>(),
            )),
            col("kind", s(|r| kind_name(r.suggestion.kind).to_string())),
            col("product_id", s(|r| r.suggestion.product_id.clone())),
            col("product_name", s(|r| r.suggestion.product_name.clone())),
            col("category", s(|r| r.suggestion.category.clone())),
            Column::from(Series::new(
                "expected_gain".into(),
                rows.iter()
                    .map(|r| r.suggestion.expected_gain)
                    .collect::<Vec<_>>(),
            )),
            Column::from(Series::new(
                "adoption_probability".into(),
                rows.iter()
                    .map(|r| r.suggestion.adoption_probability)
                    .collect::<Vec<_>>(),
            )),
            Column::from(Series::new(
                "monthly_saving".into(),
                rows.iter()
                    .map(|r| r.suggestion.monthly_saving)
                    .collect::<Vec<_>>(),
            )),
            col("rationale", s(|r| r.suggestion.rationale.clone())),
        ],
    )?;
    output::write_frame(&mut df, path, FileFormat::from_path(path))?;
    Ok(())
}

fn evaluate(
    data: PathBuf,
    as_of: Option<NaiveDate>,
    cfg: RecommendConfig,
    json: bool,
    compare_logistic: bool,
) -> Result<ExitCode> {
    let spinner = progress::spinner("loading the warehouse");
    let (wh, _) = warehouse::load(&data).with_context(|| format!("loading {}", data.display()))?;
    let as_of = match as_of {
        Some(d) => d,
        None => {
            wh.observed_until()
                .context("the warehouse is empty: give --as-of")?
                - chrono::Duration::days(90)
        }
    };
    spinner.set_message("fitting and evaluating");
    let r = recommend::evaluate(&wh, as_of, &cfg, compare_logistic)?;
    spinner.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "next-best-product, fitted as of {} and scored on adoptions in ({}, {}]",
        r.as_of, r.as_of, r.until
    );
    println!(
        "{} customers active, {} added at least one product ({} adoptions); trained on {} adoptions",
        r.customers_active, r.customers_evaluated, r.adoptions, r.training_adoptions
    );
    println!(
        "{:<34} {:>10} {:>8}",
        "ranking",
        format!("hit@{}", r.k),
        format!("MAP@{}", r.k)
    );
    let mut lines = vec![
        ("model (adoption probability)", r.model),
        ("holdings model without context", r.holdings_only),
        ("model (probability × margin)", r.model_by_gain),
        ("popularity in segment (baseline)", r.popularity),
    ];
    if let Some(m) = r.logistic {
        lines.push(("smartcore logistic per product", m));
    }
    for (name, m) in lines {
        println!("{name:<34} {:>10.3} {:>8.3}", m.hit_rate, m.map);
    }
    println!(
        "hit rate ratio model / popularity: {:.2}×  (fit {:.2} s, evaluation {:.2} s)",
        r.hit_rate_ratio, r.fit_seconds, r.evaluate_seconds
    );
    if r.popularity.hit_rate > 0.0 {
        // Hit rate cannot pass 1: with a strong baseline the ratio has a ceiling.
        println!(
            "largest ratio possible against this baseline: 1 / {:.3} = {:.2}×",
            r.popularity.hit_rate,
            1.0 / r.popularity.hit_rate
        );
    }
    if let Some(s) = r.logistic_fit_seconds {
        println!("smartcore logistic fit: {s:.2} s");
    }
    Ok(ExitCode::SUCCESS)
}
