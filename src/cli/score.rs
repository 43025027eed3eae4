//! `churn score`: one customer's score from a running `churn serve` (the Rust gRPC client).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};

use churn::server::client::{self, ClientOptions};
use churn::server::pb;

#[derive(clap::Args, Debug)]
pub struct ScoreArgs {
    /// The server (`host:port` or a URI).
    #[arg(long, default_value = churn::server::DEFAULT_ADDR)]
    pub addr: String,
    /// The customer to score.
    #[arg(long)]
    pub customer: String,
    /// An id for this request, echoed by the server (for audit trails).
    #[arg(long, default_value = "")]
    pub request_id: String,
    /// Bearer token (default: the first of CHURN_TOKENS, if set).
    #[arg(long)]
    pub token: Option<String>,
    /// PEM CA certificate to trust: connect with TLS.
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
    /// Server name to verify in its certificate (default: the host of --addr).
    #[arg(long)]
    pub tls_domain: Option<String>,
    /// Deadline of the call, in milliseconds.
    #[arg(long, default_value_t = 5_000)]
    pub timeout_ms: u64,
    /// Print the answer as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Client options from the flags shared by the client commands.
pub fn options(
    addr: &str,
    token: Option<String>,
    ca_cert: Option<PathBuf>,
    tls_domain: Option<String>,
    timeout_ms: u64,
) -> ClientOptions {
    let token = token.or_else(|| {
        std::env::var("CHURN_TOKENS")
            .ok()
            .and_then(|v| v.split(',').next().map(|t| t.trim().to_string()))
            .filter(|t| !t.is_empty())
    });
    ClientOptions {
        addr: addr.to_string(),
        ca_cert,
        tls_domain,
        token,
        timeout: Some(Duration::from_millis(timeout_ms)),
    }
}

fn band(v: i32) -> &'static str {
    match pb::RiskBand::try_from(v) {
        Ok(pb::RiskBand::Low) => "low",
        Ok(pb::RiskBand::Medium) => "medium",
        Ok(pb::RiskBand::High) => "high",
        Ok(pb::RiskBand::Critical) => "critical",
        _ => "?",
    }
}

fn json(r: &pb::ScoreCustomerResponse) -> serde_json::Value {
    let s = r.score.clone().unwrap_or_default();
    serde_json::json!({
        "request_id": r.request_id,
        "model_version": r.model_version,
        "as_of_date": r.as_of_date,
        "customer_id": s.customer_id,
        "segment": s.segment,
        "region": s.region,
        "account_manager_id": s.account_manager_id,
        "tier": s.tier,
        "churn_probability": s.churn_probability,
        "risk_band": band(s.risk_band),
        "reasons": s.reasons.iter().map(|x| serde_json::json!({
            "feature": x.feature, "value": x.value, "contribution": x.contribution
        })).collect::<Vec<_>>(),
        "clv": s.clv,
        "value_at_risk": s.value_at_risk,
        "expected_uplift": s.expected_uplift,
        "next_best_products": s.next_best_products.iter().map(|p| serde_json::json!({
            "product_id": p.product_id, "product_name": p.product_name,
            "expected_gain": p.expected_gain, "monthly_saving": p.monthly_saving,
            "rationale": p.rationale
        })).collect::<Vec<_>>(),
        "action": s.action,
    })
}

pub fn run(args: ScoreArgs) -> Result<ExitCode> {
    let o = options(
        &args.addr,
        args.token.clone(),
        args.ca_cert.clone(),
        args.tls_domain.clone(),
        args.timeout_ms,
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let answer = runtime.block_on(async {
        let mut c = client::connect(&o).await?;
        client::score_customer(&mut c, &args.customer, &args.request_id)
            .await
            .map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json(&answer))?);
        return Ok(ExitCode::SUCCESS);
    }
    let s = answer.score.unwrap_or_default();
    println!(
        "{}  churn probability {:.3} ({}), CLV {:.2}, value at risk {:.2}",
        s.customer_id,
        s.churn_probability,
        band(s.risk_band),
        s.clv,
        s.value_at_risk
    );
    println!(
        "segment {}, region {}, tier {}{}",
        s.segment,
        s.region,
        s.tier,
        s.account_manager_id
            .map(|m| format!(", account manager {m}"))
            .unwrap_or_default()
    );
    for r in &s.reasons {
        let v = r.value.map_or("missing".to_string(), |v| format!("{v:.2}"));
        println!("  reason: {} = {v} (+{:.3})", r.feature, r.contribution);
    }
    for p in &s.next_best_products {
        println!(
            "  next best: {} (expected gain {:.2}/month): {}",
            p.product_name, p.expected_gain, p.rationale
        );
    }
    if !s.action.is_empty() {
        println!("  action: {}", s.action);
    }
    println!(
        "model {}, features as of {}{}",
        answer.model_version,
        answer.as_of_date,
        if answer.request_id.is_empty() {
            String::new()
        } else {
            format!(", request {}", answer.request_id)
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// `churn prioritize --addr ADDR …`: the same list from a running server (PrioritizedList,
/// paged), printed as table, CSV or JSON like the local command.
pub fn prioritize_remote(args: &super::prioritize::PrioritizeArgs) -> Result<ExitCode> {
    use super::prioritize::RankArg;
    let Some(addr) = &args.addr else {
        anyhow::bail!("prioritize_remote needs --addr");
    };
    let o = options(addr, None, None, None, 60_000);
    let filter = pb::Filter {
        segments: args.segment.iter().cloned().collect(),
        regions: args.region.iter().cloned().collect(),
        account_manager_ids: args.manager.iter().cloned().collect(),
        tiers: args.tier.iter().cloned().collect(),
        min_churn_probability: args.min_risk,
    };
    let rank_by = match args.rank_by {
        None | Some(RankArg::ValueAtRisk) => pb::RankBy::ValueAtRisk,
        Some(RankArg::ExpectedSavedValue) => pb::RankBy::ExpectedSavedValue,
        Some(RankArg::Risk) => pb::RankBy::ChurnProbability,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (rows, last) = runtime.block_on(async {
        let mut c = client::connect(&o).await?;
        client::prioritized_rows(&mut c, Some(filter), rank_by, args.offset, args.top, "")
            .await
            .map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))
    })?;
    let rows: Vec<(usize, &churn::scoring::CustomerScore)> =
        rows.iter().map(|(rank, s)| (*rank as usize, s)).collect();
    let title = format!(
        "{} customers match; model {}, features as of {} (from {addr})",
        last.total_size, last.model_version, last.as_of_date
    );
    super::prioritize::print_rows(
        args.format,
        &title,
        &rows,
        &last.model_version,
        &last.as_of_date,
    )?;
    Ok(ExitCode::SUCCESS)
}
