//! The gRPC scoring service (`proto/churn/v1/churn.proto`): serves one immutable scoring
//! snapshot over tonic, with `grpc.health.v1`, server reflection, bearer-token auth, TLS,
//! Prometheus metrics and hot reload.
//!
//! In: a [`SnapshotLoader`] (builds a [`ScoreSource`] from the warehouse and the registry, and
//! fingerprints its inputs) and a [`ServeConfig`]. Out: a [`Running`] server. The first
//! snapshot is built in the background (health says NOT_SERVING for `churn.v1.ChurnService`
//! until it is in); every `reload_interval` the loader's fingerprint is compared and a changed
//! input is loaded on a blocking thread and swapped in atomically (arc-swap). A failed load
//! keeps the previous snapshot, is logged and counted. One file per concern: [`service`]
//! (handlers), [`convert`] (wire types), [`wire`] and [`fast`] (the two hot RPCs encoded
//! straight from the snapshot), [`auth`], [`metrics`], [`whatif`], [`source`], [`snapshot`]
//! (the scoring stage's snapshot as a source), [`client`].

pub mod auth;
pub mod client;
pub mod convert;
pub mod error;
pub mod fast;
pub mod metrics;
pub mod oversize;
pub mod service;
pub mod snapshot;
pub mod source;
pub mod whatif;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic::Code;
use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

pub use auth::Tokens;
pub use error::{ApiError, ServeError};
pub use metrics::Metrics;
pub use service::{ChurnApi, Limits, Served, ServerState};
pub use source::{MemorySource, Query, RankBy, ScoreSource};

/// The generated messages, client and server of package `churn.v1`.
#[allow(clippy::all, missing_docs)]
pub mod pb {
    tonic::include_proto!("churn.v1");
}

/// The encoded file descriptor set of `churn.v1` (for reflection).
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("churn_v1_descriptor");

/// The churn service's name in health checks and reflection.
pub const SERVICE_NAME: &str = "churn.v1.ChurnService";

/// Default gRPC address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:50051";

/// Builds snapshots and tells when their inputs changed.
pub trait SnapshotLoader: Send + Sync + 'static {
    /// A cheap fingerprint of the inputs (champion pointer, data files); a change triggers a
    /// reload.
    fn fingerprint(&self) -> Result<String, ServeError>;
    /// Builds a snapshot (blocking; may take seconds).
    fn load(&self) -> Result<Arc<dyn ScoreSource>, ServeError>;
}

/// PEM certificate chain and private key.
#[derive(Clone)]
pub struct TlsPem {
    pub cert: Vec<u8>,
    pub key: Vec<u8>,
}

/// How a server runs.
pub struct ServeConfig {
    /// gRPC listen address (port 0 = any free port; see [`Running::addr`]).
    pub addr: SocketAddr,
    /// Prometheus `/metrics` listen address; `None` = no metrics endpoint.
    pub metrics_addr: Option<SocketAddr>,
    /// TLS identity; `None` = plaintext.
    pub tls: Option<TlsPem>,
    /// Bearer tokens; empty = no authentication.
    pub tokens: Tokens,
    /// How often to check the loader's fingerprint; `None` = no hot reload.
    pub reload_interval: Option<Duration>,
    pub limits: Limits,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            metrics_addr: None,
            tls: None,
            tokens: Tokens::default(),
            reload_interval: Some(Duration::from_secs(30)),
            limits: Limits::default(),
        }
    }
}

/// A running server.
pub struct Running {
    /// The bound gRPC address.
    pub addr: SocketAddr,
    /// The bound metrics address.
    pub metrics_addr: Option<SocketAddr>,
    pub state: Arc<ServerState>,
    shutdown: Option<oneshot::Sender<()>>,
    join: JoinHandle<Result<(), ServeError>>,
}

impl Running {
    /// Stops accepting connections, drains in-flight calls and waits for the server to end.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.wait().await
    }

    /// Waits until the server ends (after [`Running::shutdown`] or a transport error).
    pub async fn wait(self) -> Result<(), ServeError> {
        self.join
            .await
            .map_err(|e| ServeError::Join(e.to_string()))?
    }

    /// Stops the server when `signal` resolves, then waits for it to drain.
    pub async fn run_until(
        mut self,
        signal: impl std::future::Future<Output = ()>,
    ) -> Result<(), ServeError> {
        let tx = self.shutdown.take();
        let join = &mut self.join;
        tokio::select! {
            r = join => return r.map_err(|e| ServeError::Join(e.to_string()))?,
            _ = signal => {}
        }
        if let Some(tx) = tx {
            let _ = tx.send(());
        }
        self.wait().await
    }

    /// Whether a snapshot is being served.
    pub fn is_ready(&self) -> bool {
        matches!(&**self.state.current.load(), Served::Ready(_))
    }
}

async fn set_health(health: &HealthReporter, serving: bool) {
    let status = if serving {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    health.set_service_status(SERVICE_NAME, status).await;
}

/// Loads one snapshot on a blocking thread; swaps it in or keeps the old one.
async fn load_and_swap(
    loader: &Arc<dyn SnapshotLoader>,
    state: &Arc<ServerState>,
    health: &HealthReporter,
) {
    let l = loader.clone();
    let started = std::time::Instant::now();
    let result = tokio::task::spawn_blocking(move || l.load())
        .await
        .unwrap_or_else(|e| Err(ServeError::Join(e.to_string())));
    match result {
        Ok(source) => {
            let (version, as_of, n) = (
                source.model_info().version.clone(),
                source.as_of(),
                source.customers(),
            );
            state.current.store(Arc::new(Served::Ready(source)));
            state.metrics.snapshot_loaded(&version, as_of, n);
            set_health(health, true).await;
            tracing::info!(
                model_version = %version,
                as_of = %as_of,
                customers = n,
                seconds = started.elapsed().as_secs_f64(),
                "Snapshot loaded"
            );
        }
        Err(e) => {
            state.metrics.reload_failed();
            let ready = matches!(&**state.current.load(), Served::Ready(_));
            if ready {
                tracing::warn!(error = %e, "Snapshot reload failed; the previous snapshot keeps serving");
            } else {
                state.current.store(Arc::new(Served::Down {
                    code: Code::FailedPrecondition,
                    message: e.to_string(),
                }));
                tracing::error!(error = %e, "No snapshot could be loaded; calls fail until one is");
            }
        }
    }
}

/// The first load, then (when configured) the reload loop.
async fn watch(
    loader: Arc<dyn SnapshotLoader>,
    state: Arc<ServerState>,
    health: HealthReporter,
    interval: Option<Duration>,
) {
    let mut last = loader.fingerprint().ok();
    load_and_swap(&loader, &state, &health).await;
    let Some(interval) = interval else {
        return;
    };
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let l = loader.clone();
        let now = match tokio::task::spawn_blocking(move || l.fingerprint()).await {
            Ok(Ok(f)) => f,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "Cannot fingerprint the snapshot inputs");
                continue;
            }
            Err(_) => continue,
        };
        if last.as_deref() == Some(now.as_str()) {
            continue;
        }
        tracing::info!("Snapshot inputs changed; reloading in the background");
        last = Some(now);
        load_and_swap(&loader, &state, &health).await;
    }
}

/// Binds the listeners, starts loading the first snapshot and serves until
/// [`Running::shutdown`].
pub async fn start(
    config: ServeConfig,
    loader: Arc<dyn SnapshotLoader>,
) -> Result<Running, ServeError> {
    let metrics = Arc::new(Metrics::new());
    let state = Arc::new(ServerState::new(metrics.clone(), config.limits));

    let (health, health_service) = tonic_health::server::health_reporter();
    set_health(&health, false).await;

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServeError::Reflection(e.to_string()))?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(|e| ServeError::Reflection(e.to_string()))?;

    let api = pb::churn_service_server::ChurnServiceServer::new(ChurnApi::new(state.clone()))
        .max_decoding_message_size(config.limits.max_message_bytes);
    // ScoreCustomer and ScoreCustomers answered from bytes encoded straight from the snapshot.
    let api = fast::FastPaths::new(
        ChurnApi::new(state.clone()),
        api,
        config.limits.max_message_bytes,
    );
    let auth = auth::Auth {
        tokens: config.tokens.clone(),
        metrics: metrics.clone(),
    };
    let api = oversize::OversizeAsExhausted(tonic::service::interceptor::InterceptedService::new(
        api, auth,
    ));

    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.addr.to_string(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: config.addr.to_string(),
        source,
    })?;
    let metrics_listener = match config.metrics_addr {
        Some(a) => Some(
            TcpListener::bind(a)
                .await
                .map_err(|source| ServeError::Bind {
                    addr: a.to_string(),
                    source,
                })?,
        ),
        None => None,
    };
    let metrics_addr = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());

    let mut builder = Server::builder();
    if let Some(tls) = &config.tls {
        let identity = Identity::from_pem(&tls.cert, &tls.key);
        builder = builder
            .tls_config(ServerTlsConfig::new().identity(identity))
            .map_err(|e| ServeError::Tls(e.to_string()))?;
    }
    let router = builder
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(api);

    let (tx, rx) = oneshot::channel::<()>();
    let watcher = tokio::spawn(watch(
        loader,
        state.clone(),
        health.clone(),
        config.reload_interval,
    ));
    let (metrics_stop_tx, metrics_stop_rx) = oneshot::channel::<()>();
    if let Some(l) = metrics_listener {
        tokio::spawn(metrics::serve_metrics(l, metrics.clone(), async move {
            let _ = metrics_stop_rx.await;
        }));
    }
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let health_on_stop = health.clone();
    let join = tokio::spawn(async move {
        let signal = async move {
            let _ = rx.await;
            tracing::info!("Shutting down: draining in-flight calls");
            set_health(&health_on_stop, false).await;
        };
        let result = router
            .serve_with_incoming_shutdown(incoming, signal)
            .await
            .map_err(|e| ServeError::Transport(e.to_string()));
        watcher.abort();
        let _ = metrics_stop_tx.send(());
        result
    });
    tracing::info!(%addr, tls = config.tls.is_some(), auth = !config.tokens.is_empty(), "Serving churn.v1.ChurnService");
    Ok(Running {
        addr,
        metrics_addr,
        state,
        shutdown: Some(tx),
        join,
    })
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
