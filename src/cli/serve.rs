//! `churn serve`: the gRPC scoring service over a warehouse and a model registry. With no
//! `--data`/`--models` it serves the demo (the `churn demo` directory `demo/`: generated and
//! trained on first run, reused after).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use churn::campaigns::{CampaignConfig, UpliftArtifact};
use churn::generate::{self, GenerateConfig};
use churn::registry::{Registry, CHAMPION};
use churn::server::snapshot::WarehouseLoader;
use churn::server::{self, Limits, ServeConfig, TlsPem, Tokens};
use churn::training::models::TrainParams;
use churn::training::pipeline::{self, TrainOptions, TrainRequest, TrainSource};
use churn::warehouse;

/// Where `churn serve` with no arguments keeps the demo (the same directory as `churn demo`).
pub const DEMO_DIR: &str = "demo";
/// Customers of the demo warehouse (as `churn demo`).
pub const DEMO_CUSTOMERS: usize = 5_000;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Warehouse export directory. Default (with --models unset too): the demo warehouse.
    #[arg(long, requires = "models")]
    pub data: Option<PathBuf>,
    /// Model registry directory holding a champion.
    #[arg(long, requires = "data")]
    pub models: Option<PathBuf>,
    /// gRPC listen address.
    #[arg(long, default_value = server::DEFAULT_ADDR)]
    pub addr: SocketAddr,
    /// Prometheus metrics listen address (`GET /metrics`); off when not given.
    #[arg(long)]
    pub metrics_addr: Option<SocketAddr>,
    /// PEM certificate chain: serve TLS (needs --tls-key).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Bearer tokens, one per line: every churn RPC then needs `authorization: Bearer <token>`
    /// (health checks stay open). Default: the comma-separated CHURN_TOKENS variable, if set.
    #[arg(long)]
    pub tokens_file: Option<PathBuf>,
    /// Seconds between checks of the champion pointer and the data files (0 = no hot reload).
    #[arg(long, default_value_t = 30)]
    pub reload_interval: u64,
    /// Where the built snapshot is saved (and reused at the next start when data and champion
    /// are unchanged). Default: <models>/snapshot.bin.
    #[arg(long)]
    pub snapshot: Option<PathBuf>,
    /// Largest PrioritizedList page.
    #[arg(long, default_value_t = Limits::default().max_page_size)]
    pub max_page_size: usize,
    /// Most ids in one ScoreCustomers request.
    #[arg(long, default_value_t = Limits::default().max_ids)]
    pub max_ids: usize,
    /// Threads answering calls (tokio workers). Default: one per core. On a machine shared
    /// with its clients (a load test on one host), one per core left to the server keeps the
    /// latency tail short: see docs/serving.md.
    #[arg(long)]
    pub worker_threads: Option<usize>,
}

/// The demo warehouse and registry, generated and trained on first use.
fn demo_inputs(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let data = dir.join("warehouse");
    let models = dir.join("models");
    let has_champion = Registry::open(&models)
        .ok()
        .and_then(|r| r.alias(CHAMPION).ok().flatten())
        .is_some();
    if data.join("dim_customer.parquet").exists() && has_champion {
        return Ok((data, models));
    }
    eprintln!(
        "first run: generating the demo warehouse ({DEMO_CUSTOMERS} customers) in {} and training a champion in {} (about a minute)",
        data.display(),
        models.display()
    );
    if !data.join("dim_customer.parquet").exists() {
        generate::generate(
            &GenerateConfig {
                customers: DEMO_CUSTOMERS,
                seed: 42,
                ..GenerateConfig::default()
            },
            &data,
        )
        .context("generating the demo warehouse")?;
    }
    let mut params = TrainParams::default();
    params.forest.n_trees = 25;
    params.forest.max_depth = 8;
    pipeline::train(&TrainRequest {
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
    })
    .context("training the demo champion")?;
    // The uplift model from the campaign history, so the demo ranks by expected saved value
    // too; too little history only means no uplift estimates.
    let (wh, _) = warehouse::load(&data).context("loading the demo warehouse")?;
    match UpliftArtifact::fit(&wh, &CampaignConfig::default()) {
        Ok(a) => {
            a.save(&models).context("saving the demo uplift model")?;
        }
        Err(e) => eprintln!("demo: no uplift model ({e})"),
    }
    Ok((data, models))
}

fn tokens(args: &ServeArgs) -> Result<Tokens> {
    if let Some(path) = &args.tokens_file {
        return Ok(Tokens::from_file(path)?);
    }
    match std::env::var("CHURN_TOKENS") {
        Ok(v) if !v.trim().is_empty() => Ok(Tokens::from_env_value(&v)?),
        _ => Ok(Tokens::default()),
    }
}

pub fn run(args: ServeArgs) -> Result<ExitCode> {
    let (data, models) = match (&args.data, &args.models) {
        (Some(d), Some(m)) => (d.clone(), m.clone()),
        (None, None) => demo_inputs(Path::new(DEMO_DIR))?,
        _ => bail!("pass both --data and --models, or neither (to serve the demo)"),
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some(TlsPem {
            cert: std::fs::read(c).with_context(|| format!("reading {}", c.display()))?,
            key: std::fs::read(k).with_context(|| format!("reading {}", k.display()))?,
        }),
        _ => None,
    };
    let tokens = tokens(&args)?;
    let mut loader = WarehouseLoader::new(&data, &models);
    if let Some(s) = &args.snapshot {
        loader.snapshot_file = Some(s.clone());
    }
    let config = ServeConfig {
        addr: args.addr,
        metrics_addr: args.metrics_addr,
        tls,
        tokens,
        reload_interval: (args.reload_interval > 0)
            .then(|| Duration::from_secs(args.reload_interval)),
        limits: Limits {
            max_page_size: args.max_page_size,
            max_ids: args.max_ids,
            ..Limits::default()
        },
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.worker_threads {
        anyhow::ensure!(n > 0, "--worker-threads must be at least 1");
        builder.worker_threads(n);
    }
    let runtime = builder
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(async move {
        let running = server::start(config, Arc::new(loader)).await?;
        eprintln!(
            "serving churn.v1.ChurnService on {}{} (data {}, models {}); Ctrl-C or SIGTERM stops",
            running.addr,
            running
                .metrics_addr
                .map(|a| format!(", metrics on http://{a}/metrics"))
                .unwrap_or_default(),
            data.display(),
            models.display()
        );
        running.run_until(server::shutdown_signal()).await?;
        eprintln!("stopped");
        Ok(ExitCode::SUCCESS)
    });
    // A snapshot build still running on a blocking thread must not hold the exit: calls are
    // drained, the build's result would be thrown away anyway.
    runtime.shutdown_background();
    result
}
