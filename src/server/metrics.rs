//! Prometheus metrics of the server and the tiny HTTP endpoint that serves them
//! (`GET /metrics`, text exposition format). Labels are low-cardinality only: the RPC name, the
//! status code, the model version and the as-of date — never a customer id.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tonic::Code;

type RpcLabels = [(&'static str, &'static str); 2];
type SnapshotLabels = [(&'static str, String); 2];
type HistogramMaker = fn() -> Histogram;

fn latency_histogram() -> Histogram {
    // 50 µs … ~1.6 s, doubling.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

/// The RPCs whose successful calls get a cached metric handle (see [`Metrics::observe`]).
const RPCS: [&str; 7] = [
    "ScoreCustomer",
    "ScoreCustomers",
    "ScoreFeatures",
    "PrioritizedList",
    "GetCustomer360",
    "GetModelInfo",
    "GetSegments",
];

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    requests: Family<RpcLabels, Counter>,
    latency: Family<RpcLabels, Histogram, HistogramMaker>,
    /// The `code="OK"` counter and histogram of each of [`RPCS`], created on the RPC's first
    /// success (so the exposition only lists what happened) and then reused: a successful call
    /// skips the family's lock and label hashing.
    ok: [std::sync::OnceLock<(Counter, Histogram)>; RPCS.len()],
    snapshot_info: Family<SnapshotLabels, Gauge>,
    snapshot_as_of: Gauge,
    snapshot_customers: Gauge,
    reloads: Counter,
    failed_reloads: Counter,
    auth_refused: Counter,
}

/// The canonical upper-snake name of a status code (the `code` label).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("churn");
        let requests = Family::<RpcLabels, Counter>::default();
        let latency = Family::<RpcLabels, Histogram, HistogramMaker>::new_with_constructor(
            latency_histogram as HistogramMaker,
        );
        let snapshot_info = Family::<SnapshotLabels, Gauge>::default();
        let snapshot_as_of = Gauge::default();
        let snapshot_customers = Gauge::default();
        let reloads = Counter::default();
        let failed_reloads = Counter::default();
        let auth_refused = Counter::default();
        registry.register(
            "grpc_requests",
            "gRPC calls answered, by RPC and status code",
            requests.clone(),
        );
        registry.register(
            "grpc_request_duration_seconds",
            "Handler latency of gRPC calls, by RPC and status code",
            latency.clone(),
        );
        registry.register(
            "snapshot_info",
            "The snapshot being served (1 for its model version and as-of date)",
            snapshot_info.clone(),
        );
        registry.register(
            "snapshot_as_of_timestamp_seconds",
            "The served snapshot's as-of date (Unix time of its midnight UTC)",
            snapshot_as_of.clone(),
        );
        registry.register(
            "snapshot_customers",
            "Customers in the served snapshot",
            snapshot_customers.clone(),
        );
        registry.register(
            "snapshot_reloads",
            "Snapshots loaded and swapped in (the first load included)",
            reloads.clone(),
        );
        registry.register(
            "snapshot_failed_reloads",
            "Snapshot loads that failed (the previous snapshot kept serving)",
            failed_reloads.clone(),
        );
        registry.register(
            "auth_refused",
            "Calls refused for a missing or unknown bearer token",
            auth_refused.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            ok: Default::default(),
            snapshot_info,
            snapshot_as_of,
            snapshot_customers,
            reloads,
            failed_reloads,
            auth_refused,
        }
    }

    /// Counts one answered call.
    pub fn observe(&self, rpc: &'static str, code: Code, elapsed: Duration) {
        if code == Code::Ok {
            if let Some(i) = RPCS.iter().position(|r| *r == rpc) {
                let (count, latency) = self.ok[i].get_or_init(|| {
                    let labels = [("rpc", RPCS[i]), ("code", code_name(Code::Ok))];
                    (
                        self.requests.get_or_create(&labels).clone(),
                        self.latency.get_or_create(&labels).clone(),
                    )
                });
                count.inc();
                latency.observe(elapsed.as_secs_f64());
                return;
            }
        }
        let labels = [("rpc", rpc), ("code", code_name(code))];
        self.requests.get_or_create(&labels).inc();
        self.latency
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Records a newly served snapshot.
    pub fn snapshot_loaded(&self, model_version: &str, as_of: NaiveDate, customers: usize) {
        self.snapshot_info.clear();
        self.snapshot_info
            .get_or_create(&[
                ("model_version", model_version.to_string()),
                ("as_of", as_of.to_string()),
            ])
            .set(1);
        let midnight = as_of
            .and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp());
        self.snapshot_as_of.set(midnight);
        self.snapshot_customers
            .set(i64::try_from(customers).unwrap_or(i64::MAX));
        self.reloads.inc();
    }

    pub fn reload_failed(&self) {
        self.failed_reloads.inc();
    }

    pub fn auth_refused(&self) {
        self.auth_refused.inc();
    }

    /// Snapshot loads that failed so far.
    pub fn failed_reloads(&self) -> u64 {
        self.failed_reloads.get()
    }

    /// Snapshots loaded so far.
    pub fn reloads(&self) -> u64 {
        self.reloads.get()
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Serves `GET /metrics` (and `GET /`) on `listener` until `shutdown` resolves. One short
/// HTTP/1.1 exchange per connection.
pub async fn serve_metrics(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            a = listener.accept() => a,
        };
        let Ok((mut stream, _)) = accepted else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let n = match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await
            {
                Ok(Ok(n)) => n,
                _ => return,
            };
            let head = String::from_utf8_lossy(&buf[..n]);
            let path = head.split_whitespace().nth(1).unwrap_or("");
            let (status, body) = if head.starts_with("GET ") && (path == "/metrics" || path == "/")
            {
                ("200 OK", metrics.render())
            } else {
                (
                    "404 Not Found",
                    "only GET /metrics is served here\n".to_string(),
                )
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successes_through_the_cached_handle_and_errors_are_counted_by_label() {
        let m = Metrics::new();
        m.observe("ScoreCustomer", Code::Ok, Duration::from_micros(80));
        m.observe("ScoreCustomer", Code::Ok, Duration::from_micros(120));
        m.observe("ScoreCustomer", Code::NotFound, Duration::from_micros(60));
        m.observe("Unlisted", Code::Ok, Duration::from_micros(10));
        let text = m.render();
        let line = |prefix: &str| {
            text.lines()
                .find(|l| l.starts_with(prefix))
                .map(str::to_string)
        };
        assert_eq!(
            line(r#"churn_grpc_requests_total{rpc="ScoreCustomer",code="OK"}"#).as_deref(),
            Some(r#"churn_grpc_requests_total{rpc="ScoreCustomer",code="OK"} 2"#)
        );
        assert_eq!(
            line(r#"churn_grpc_requests_total{rpc="ScoreCustomer",code="NOT_FOUND"}"#).as_deref(),
            Some(r#"churn_grpc_requests_total{rpc="ScoreCustomer",code="NOT_FOUND"} 1"#)
        );
        assert_eq!(
            line(r#"churn_grpc_requests_total{rpc="Unlisted",code="OK"}"#).as_deref(),
            Some(r#"churn_grpc_requests_total{rpc="Unlisted",code="OK"} 1"#)
        );
        // 80 µs and 120 µs: both at most 0.0002 s (the 100 µs bucket holds one).
        assert_eq!(
            line(r#"churn_grpc_request_duration_seconds_count{rpc="ScoreCustomer",code="OK"}"#)
                .as_deref(),
            Some(r#"churn_grpc_request_duration_seconds_count{rpc="ScoreCustomer",code="OK"} 2"#)
        );
        assert_eq!(
            line(r#"churn_grpc_request_duration_seconds_bucket{le="0.0001",rpc="ScoreCustomer",code="OK"}"#)
                .as_deref(),
            Some(r#"churn_grpc_request_duration_seconds_bucket{le="0.0001",rpc="ScoreCustomer",code="OK"} 1"#)
        );
        // An RPC that never answered is not listed.
        assert!(!text.contains(r#"rpc="GetSegments""#));
    }
}
