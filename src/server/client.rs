//! A Rust client of `churn.v1.ChurnService` (used by `churn score` and `churn prioritize
//! --addr`, and by the tests and the load generator): connects over plaintext or TLS, adds the
//! bearer token to every call.

use std::path::PathBuf;
use std::time::Duration;

use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Request, Status};

use crate::server::pb;
use crate::server::pb::churn_service_client::ChurnServiceClient;

/// How to reach a server.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// `host:port` or a full `http://` / `https://` URI.
    pub addr: String,
    /// PEM CA certificate to trust (enables TLS).
    pub ca_cert: Option<PathBuf>,
    /// The server name to check in its certificate (default: the host of `addr`).
    pub tls_domain: Option<String>,
    /// Bearer token sent with every call.
    pub token: Option<String>,
    /// Per-call timeout (sent as the gRPC deadline).
    pub timeout: Option<Duration>,
}

/// Why a client could not connect.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("server address `{addr}`: {message}")]
    Address { addr: String, message: String },
    #[error("reading the CA certificate {}: {source}", path.display())]
    Ca {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("connecting to {addr}: {message}")]
    Connect { addr: String, message: String },
    #[error("bearer token: not a valid header value")]
    Token,
}

/// Adds `authorization: Bearer <token>` when a token is set.
#[derive(Clone)]
pub struct BearerToken(Option<MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for BearerToken {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

pub type Client = ChurnServiceClient<InterceptedService<Channel, BearerToken>>;

/// The URI of `addr`: `host:port` gets `http://` (or `https://` with TLS).
pub fn uri(addr: &str, tls: bool) -> String {
    if addr.contains("://") {
        addr.to_string()
    } else if tls {
        format!("https://{addr}")
    } else {
        format!("http://{addr}")
    }
}

/// Connects to a server.
pub async fn connect(o: &ClientOptions) -> Result<Client, ClientError> {
    let tls = o.ca_cert.is_some();
    let uri = uri(&o.addr, tls);
    let mut endpoint = Endpoint::from_shared(uri.clone()).map_err(|e| ClientError::Address {
        addr: o.addr.clone(),
        message: e.to_string(),
    })?;
    endpoint = endpoint
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true);
    if let Some(t) = o.timeout {
        endpoint = endpoint.timeout(t);
    }
    if let Some(ca) = &o.ca_cert {
        let pem = std::fs::read(ca).map_err(|source| ClientError::Ca {
            path: ca.clone(),
            source,
        })?;
        let mut cfg = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem));
        if let Some(d) = &o.tls_domain {
            cfg = cfg.domain_name(d.clone());
        }
        endpoint = endpoint.tls_config(cfg).map_err(|e| ClientError::Address {
            addr: o.addr.clone(),
            message: e.to_string(),
        })?;
    }
    let channel = endpoint.connect().await.map_err(|e| ClientError::Connect {
        addr: uri,
        message: format!("{e}{}", source_chain(&e)),
    })?;
    let token = match &o.token {
        Some(t) => Some(
            format!("Bearer {t}")
                .parse()
                .map_err(|_| ClientError::Token)?,
        ),
        None => None,
    };
    Ok(
        ChurnServiceClient::with_interceptor(channel, BearerToken(token))
            .max_decoding_message_size(64 * 1024 * 1024),
    )
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = String::new();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

/// One customer's score.
pub async fn score_customer(
    client: &mut Client,
    customer_id: &str,
    request_id: &str,
) -> Result<pb::ScoreCustomerResponse, Status> {
    client
        .score_customer(pb::ScoreCustomerRequest {
            request_id: request_id.to_string(),
            customer_id: customer_id.to_string(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// One page of a prioritised list.
pub async fn prioritized_list(
    client: &mut Client,
    request: pb::PrioritizedListRequest,
) -> Result<pb::PrioritizedListResponse, Status> {
    client
        .prioritized_list(request)
        .await
        .map(tonic::Response::into_inner)
}

/// Rows `offset .. offset + limit` of a prioritised list (pages of at most 10,000), as the
/// scoring stage's scores with their 1-based ranks; plus the last page (total, version, date).
pub async fn prioritized_rows(
    client: &mut Client,
    filter: Option<pb::Filter>,
    rank_by: pb::RankBy,
    offset: usize,
    limit: usize,
    request_id: &str,
) -> Result<
    (
        Vec<(u64, crate::scoring::CustomerScore)>,
        pb::PrioritizedListResponse,
    ),
    Status,
> {
    let mut out = Vec::new();
    let mut token = crate::server::convert::page_token(offset);
    loop {
        let want = (limit - out.len()).clamp(1, 10_000) as u32;
        let page = prioritized_list(
            client,
            pb::PrioritizedListRequest {
                request_id: request_id.to_string(),
                filter: filter.clone(),
                rank_by: rank_by as i32,
                page_size: want,
                page_token: token,
            },
        )
        .await?;
        out.extend(page.customers.iter().filter_map(|c| {
            c.score
                .as_ref()
                .map(|s| (c.rank, crate::server::convert::score_from_pb(s)))
        }));
        token = page.next_page_token.clone();
        if token.is_empty() || out.len() >= limit {
            out.truncate(limit);
            return Ok((out, page));
        }
    }
}

/// The first `limit` customers of a prioritised list, across pages.
pub async fn prioritized_top(
    client: &mut Client,
    filter: Option<pb::Filter>,
    rank_by: pb::RankBy,
    limit: usize,
    request_id: &str,
) -> Result<(Vec<pb::PrioritizedCustomer>, pb::PrioritizedListResponse), Status> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let want = (limit - out.len()).clamp(1, 10_000) as u32;
        let page = prioritized_list(
            client,
            pb::PrioritizedListRequest {
                request_id: request_id.to_string(),
                filter: filter.clone(),
                rank_by: rank_by as i32,
                page_size: want,
                page_token: token,
            },
        )
        .await?;
        out.extend(page.customers.iter().cloned());
        token = page.next_page_token.clone();
        if token.is_empty() || out.len() >= limit {
            out.truncate(limit);
            return Ok((out, page));
        }
    }
}
