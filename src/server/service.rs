//! The `churn.v1.ChurnService` handlers: validate the request, read the current snapshot,
//! convert the answer. Each call reads one snapshot (`Arc`) from start to end, so a hot reload
//! never changes an answer half-way; a stream keeps its snapshot until it ends.

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, Response, Status};

use crate::server::convert;
use crate::server::error::ApiError;
use crate::server::fast::Encoded;
use crate::server::metrics::Metrics;
use crate::server::pb::{self, churn_service_server::ChurnService};
use crate::server::source::ScoreSource;
use crate::server::whatif;
use crate::server::wire;

/// Request limits; each is stated in the error that enforces it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Most ids in one ScoreCustomers request.
    pub max_ids: usize,
    /// Largest PrioritizedList page.
    pub max_page_size: usize,
    /// Largest ScoreCustomers batch.
    pub max_batch_size: usize,
    /// ScoreCustomers batch when the request leaves it 0.
    pub default_batch_size: usize,
    /// Most reasons ScoreFeatures returns.
    pub max_top_reasons: usize,
    /// ScoreFeatures reasons when the request leaves it 0.
    pub default_top_reasons: usize,
    /// Longest request_id echoed.
    pub max_request_id_len: usize,
    /// Largest request message in bytes (tonic refuses bigger ones before the handler).
    pub max_message_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_ids: 100_000,
            max_page_size: 10_000,
            max_batch_size: 10_000,
            default_batch_size: 1_000,
            max_top_reasons: 50,
            default_top_reasons: 5,
            max_request_id_len: 128,
            max_message_bytes: 4 * 1024 * 1024,
        }
    }
}

/// What the server currently answers from.
pub enum Served {
    /// The first snapshot is being built.
    Loading,
    /// No snapshot could be loaded (no champion, bad data): every call gets this status.
    Down { code: Code, message: String },
    /// A snapshot is loaded.
    Ready(Arc<dyn ScoreSource>),
}

/// The shared state of every handler: the current snapshot (swapped atomically on reload),
/// metrics and limits.
pub struct ServerState {
    pub current: ArcSwap<Served>,
    pub metrics: Arc<Metrics>,
    pub limits: Limits,
}

impl ServerState {
    pub fn new(metrics: Arc<Metrics>, limits: Limits) -> ServerState {
        ServerState {
            current: ArcSwap::from_pointee(Served::Loading),
            metrics,
            limits,
        }
    }

    /// The snapshot to answer one call from.
    pub fn source(&self) -> Result<Arc<dyn ScoreSource>, Status> {
        match &**self.current.load() {
            Served::Ready(s) => Ok(s.clone()),
            Served::Loading => Err(ApiError::Loading.into()),
            Served::Down { code, message } => Err(Status::new(*code, message.clone())),
        }
    }
}

/// The gRPC service.
#[derive(Clone)]
pub struct ChurnApi {
    state: Arc<ServerState>,
}

impl ChurnApi {
    pub fn new(state: Arc<ServerState>) -> ChurnApi {
        ChurnApi { state }
    }

    fn request_id(&self, id: &str) -> Result<String, ApiError> {
        let limit = self.state.limits.max_request_id_len;
        if id.chars().count() > limit {
            return Err(ApiError::invalid(
                "request_id",
                format!("at most {limit} characters"),
            ));
        }
        Ok(id.to_string())
    }

    /// Runs `f` against the current snapshot, counts the call and its latency.
    async fn unary<T, F>(
        &self,
        rpc: &'static str,
        blocking: bool,
        f: F,
    ) -> Result<Response<T>, Status>
    where
        T: Send + 'static,
        F: FnOnce(Arc<dyn ScoreSource>) -> Result<T, ApiError> + Send + 'static,
    {
        let started = Instant::now();
        let result = match self.state.source() {
            Err(status) => Err(status),
            Ok(source) if blocking => tokio::task::spawn_blocking(move || f(source))
                .await
                .map_err(|e| Status::internal(format!("handler task failed: {e}")))
                .and_then(|r| r.map_err(Status::from)),
            Ok(source) => f(source).map_err(Status::from),
        };
        let code = result.as_ref().map_or_else(Status::code, |_| Code::Ok);
        self.state.metrics.observe(rpc, code, started.elapsed());
        if let Err(status) = &result {
            if matches!(code, Code::Internal | Code::Unknown) {
                tracing::error!(rpc, code = ?code, message = status.message(), "Call failed");
            } else {
                tracing::debug!(rpc, code = ?code, "Call refused");
            }
        }
        result.map(Response::new)
    }
}

fn meta(source: &dyn ScoreSource) -> (String, String) {
    (
        source.model_info().version.clone(),
        source.as_of().to_string(),
    )
}

/// The stream of encoded ScoreCustomersResponse messages (one per batch).
pub type EncodedStream = ReceiverStream<Result<Encoded, Status>>;

/// The generated trait's stream: the encoded batches decoded back (not on the serving path).
type ScoreStream = std::pin::Pin<
    Box<dyn tokio_stream::Stream<Item = Result<pb::ScoreCustomersResponse, Status>> + Send>,
>;

fn decoded<M: prost::Message + Default>(bytes: &[u8]) -> Result<M, Status> {
    M::decode(bytes).map_err(|e| Status::internal(format!("re-decoding an answer: {e}")))
}

/// The two hot RPCs, answering encoded bytes ([`wire`]); served by [`crate::server::fast`].
impl ChurnApi {
    /// ScoreCustomer: the encoded `ScoreCustomerResponse`.
    pub async fn score_customer_encoded(
        &self,
        req: pb::ScoreCustomerRequest,
    ) -> Result<Response<Encoded>, Status> {
        let request_id = self.request_id(&req.request_id);
        self.unary("ScoreCustomer", false, move |src| {
            let request_id = request_id?;
            let id = convert::customer_id("customer_id", &req.customer_id)?;
            let score = src.get(id).ok_or_else(|| ApiError::NotFound {
                field: "customer_id",
                customer_id: id.to_string(),
            })?;
            let as_of = src.as_of().to_string();
            let header = wire::Header {
                request_id: &request_id,
                model_version: &src.model_info().version,
                as_of_date: &as_of,
            };
            Ok(wire::score_customer_response(&header, score))
        })
        .await
    }

    /// ScoreCustomers: a stream of encoded `ScoreCustomersResponse` batches.
    pub async fn score_customers_encoded(
        &self,
        req: pb::ScoreCustomersRequest,
    ) -> Result<Response<EncodedStream>, Status> {
        let limits = self.state.limits;
        let request_id = self.request_id(&req.request_id);
        // Validation and selection run before the stream starts; the first error fails the
        // call before any score is sent.
        self.unary("ScoreCustomers", false, move |src| {
            let request_id = request_id?;
            if req.customer_ids.len() > limits.max_ids {
                return Err(ApiError::TooMany {
                    field: "customer_ids",
                    count: req.customer_ids.len(),
                    limit: limits.max_ids,
                });
            }
            let batch = match req.batch_size as usize {
                0 => limits.default_batch_size,
                b if b > limits.max_batch_size => {
                    return Err(ApiError::invalid(
                        "batch_size",
                        format!("{b} is above the limit of {}", limits.max_batch_size),
                    ))
                }
                b => b,
            };
            // One pass: a blank id is refused at once (before any unknown one is reported);
            // unknown ids are counted, and the first one named.
            let mut unknown = 0;
            let mut first_unknown: Option<&str> = None;
            for (i, id) in req.customer_ids.iter().enumerate() {
                convert::customer_id(format_args!("customer_ids[{i}]"), id)?;
                if src.get(id).is_none() {
                    unknown += 1;
                    first_unknown.get_or_insert(id);
                }
            }
            if let Some(first) = first_unknown {
                return Err(ApiError::UnknownIds {
                    field: "customer_ids",
                    first: first.to_string(),
                    count: unknown,
                });
            }
            let query = if req.customer_ids.is_empty() {
                Some(convert::query(req.filter.as_ref(), src.filter_values())?)
            } else {
                None
            };
            // Batches are encoded on a blocking thread while tonic sends the previous ones.
            let (tx, rx) = mpsc::channel(4);
            tokio::task::spawn_blocking(move || {
                let as_of = src.as_of().to_string();
                let header = wire::Header {
                    request_id: &request_id,
                    model_version: &src.model_info().version,
                    as_of_date: &as_of,
                };
                let send = |bytes: Encoded| tx.blocking_send(Ok(bytes)).is_ok();
                match query {
                    Some(q) => {
                        for chunk in src.select(&q).chunks(batch) {
                            if !send(wire::score_customers_response(
                                &header,
                                chunk.iter().copied(),
                            )) {
                                return; // the client went away
                            }
                        }
                    }
                    None => {
                        for chunk in req.customer_ids.chunks(batch) {
                            let scores = chunk.iter().filter_map(|id| src.get(id));
                            if !send(wire::score_customers_response(&header, scores)) {
                                return;
                            }
                        }
                    }
                }
            });
            Ok(ReceiverStream::new(rx))
        })
        .await
    }
}

/// The generated service. ScoreCustomer and ScoreCustomers never reach it when served by
/// [`crate::server::start`] ([`crate::server::fast::FastPaths`] answers them with the encoded
/// bytes); here they decode those bytes back, so the trait still answers the same.
#[tonic::async_trait]
impl ChurnService for ChurnApi {
    async fn score_customer(
        &self,
        request: Request<pb::ScoreCustomerRequest>,
    ) -> Result<Response<pb::ScoreCustomerResponse>, Status> {
        let bytes = self
            .score_customer_encoded(request.into_inner())
            .await?
            .into_inner();
        decoded(&bytes).map(Response::new)
    }

    type ScoreCustomersStream = ScoreStream;

    async fn score_customers(
        &self,
        request: Request<pb::ScoreCustomersRequest>,
    ) -> Result<Response<Self::ScoreCustomersStream>, Status> {
        use tokio_stream::StreamExt;
        let stream = self
            .score_customers_encoded(request.into_inner())
            .await?
            .into_inner()
            .map(|r| r.and_then(|bytes| decoded(&bytes)));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn score_features(
        &self,
        request: Request<pb::ScoreFeaturesRequest>,
    ) -> Result<Response<pb::ScoreFeaturesResponse>, Status> {
        let req = request.into_inner();
        let limits = self.state.limits;
        let request_id = self.request_id(&req.request_id);
        self.unary("ScoreFeatures", true, move |src| {
            let request_id = request_id?;
            let top_k = match req.top_reasons as usize {
                0 => limits.default_top_reasons,
                k if k > limits.max_top_reasons => {
                    return Err(ApiError::invalid(
                        "top_reasons",
                        format!("{k} is above the limit of {}", limits.max_top_reasons),
                    ))
                }
                k => k,
            };
            let model = src.model().ok_or(ApiError::NoModel)?;
            let (p, reasons) = whatif::score_features(model, &req.features, top_k)?;
            let (model_version, as_of_date) = meta(&*src);
            Ok(pb::ScoreFeaturesResponse {
                request_id,
                model_version,
                as_of_date,
                churn_probability: p,
                risk_band: convert::risk_band(src.risk_band(p)) as i32,
                reasons: reasons.iter().map(convert::model_reason).collect(),
            })
        })
        .await
    }

    async fn prioritized_list(
        &self,
        request: Request<pb::PrioritizedListRequest>,
    ) -> Result<Response<pb::PrioritizedListResponse>, Status> {
        let req = request.into_inner();
        let limits = self.state.limits;
        let request_id = self.request_id(&req.request_id);
        self.unary("PrioritizedList", true, move |src| {
            let request_id = request_id?;
            let page_size = req.page_size as usize;
            if page_size == 0 || page_size > limits.max_page_size {
                return Err(ApiError::invalid(
                    "page_size",
                    format!(
                        "{page_size} is outside 1..={} (the largest page)",
                        limits.max_page_size
                    ),
                ));
            }
            let offset = convert::page_offset(&req.page_token)?;
            let rank_by = convert::rank_by(req.rank_by)?;
            let query = convert::query(req.filter.as_ref(), src.filter_values())?;
            let (rows, total) = src.prioritize(&query, rank_by, offset, page_size)?;
            let end = offset + rows.len();
            let next_page_token = if end < total {
                convert::page_token(end)
            } else {
                String::new()
            };
            let customers = rows
                .iter()
                .enumerate()
                .map(|(i, s)| pb::PrioritizedCustomer {
                    rank: (offset + i + 1) as u64,
                    score: Some(convert::score(s)),
                })
                .collect();
            let (model_version, as_of_date) = meta(&*src);
            Ok(pb::PrioritizedListResponse {
                request_id,
                model_version,
                as_of_date,
                customers,
                next_page_token,
                total_size: total as u64,
            })
        })
        .await
    }

    async fn get_customer360(
        &self,
        request: Request<pb::GetCustomer360Request>,
    ) -> Result<Response<pb::GetCustomer360Response>, Status> {
        let req = request.into_inner();
        let request_id = self.request_id(&req.request_id);
        self.unary("GetCustomer360", false, move |src| {
            let request_id = request_id?;
            let id = convert::customer_id("customer_id", &req.customer_id)?;
            let not_found = || ApiError::NotFound {
                field: "customer_id",
                customer_id: id.to_string(),
            };
            let score = src.get(id).ok_or_else(not_found)?;
            let fields = src
                .customer_360(id)
                .map(|r| convert::record(&r))
                .unwrap_or_default();
            let (model_version, as_of_date) = meta(&*src);
            Ok(pb::GetCustomer360Response {
                request_id,
                model_version,
                as_of_date,
                fields,
                score: Some(convert::score(score)),
            })
        })
        .await
    }

    async fn get_model_info(
        &self,
        request: Request<pb::GetModelInfoRequest>,
    ) -> Result<Response<pb::GetModelInfoResponse>, Status> {
        let req = request.into_inner();
        let request_id = self.request_id(&req.request_id);
        self.unary("GetModelInfo", false, move |src| {
            let request_id = request_id?;
            let info = src.model_info();
            let (features, encoded_features) = match src.model() {
                Some(m) => (
                    m.encoder()
                        .columns()
                        .iter()
                        .map(|c| {
                            use crate::training::encode::ColumnKind;
                            let (kind, levels) = match &c.kind {
                                ColumnKind::Numeric => ("numeric", Vec::new()),
                                ColumnKind::Boolean => ("boolean", Vec::new()),
                                ColumnKind::NumericText => ("numeric_text", Vec::new()),
                                ColumnKind::Categorical { levels } => {
                                    ("categorical", levels.clone())
                                }
                            };
                            pb::FeatureSpec {
                                name: c.name.clone(),
                                kind: kind.to_string(),
                                levels,
                            }
                        })
                        .collect(),
                    m.feature_names().to_vec(),
                ),
                None => (Vec::new(), info.features.clone()),
            };
            let metrics = info
                .metrics
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| v.as_f64().map(|x| (k.clone(), x)))
                        .collect()
                })
                .unwrap_or_default();
            Ok(pb::GetModelInfoResponse {
                request_id,
                model_version: info.version.clone(),
                as_of_date: src.as_of().to_string(),
                algorithm: info.algorithm.clone(),
                training_as_of: info.training_as_of.iter().map(|d| d.to_string()).collect(),
                features,
                encoded_features,
                metrics,
                created_at: info.created_at.clone(),
                customers: src.customers() as u64,
                reason_method: src.reason_method().to_string(),
                has_clv: src.components().clv,
                has_suggestions: src.components().suggestions,
                has_uplift: src.components().uplift,
                uplift_model_fitted_at: src.uplift_fitted_at().unwrap_or_default().to_string(),
            })
        })
        .await
    }

    async fn get_segments(
        &self,
        request: Request<pb::GetSegmentsRequest>,
    ) -> Result<Response<pb::GetSegmentsResponse>, Status> {
        let req = request.into_inner();
        let request_id = self.request_id(&req.request_id);
        self.unary("GetSegments", false, move |src| {
            let request_id = request_id?;
            let values = src.filter_values();
            let (model_version, as_of_date) = meta(&*src);
            Ok(pb::GetSegmentsResponse {
                request_id,
                model_version,
                as_of_date,
                segments: src
                    .segment_summaries()
                    .iter()
                    .map(convert::segment)
                    .collect(),
                segment_values: values.segments.clone(),
                region_values: values.regions.clone(),
                account_manager_values: values.account_managers.clone(),
                tier_values: values.tiers.clone(),
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{CustomerScore, ModelInfo, RiskBand, ScoreReason};
    use crate::server::source::MemorySource;

    fn score(id: &str, p: f64) -> CustomerScore {
        CustomerScore {
            customer_id: id.into(),
            segment: "consumer".into(),
            region: "north".into(),
            account_manager_id: None,
            tier: "gold".into(),
            churn_probability: p,
            risk_band: RiskBand::High,
            reasons: vec![ScoreReason {
                feature: "calls".into(),
                value: Some(4.0),
                contribution: 0.7,
            }],
            clv: 100.0,
            value_at_risk: p * 100.0,
            expected_uplift: None,
            next_best_products: Vec::new(),
            action: "call".into(),
        }
    }

    fn api() -> ChurnApi {
        let info = ModelInfo {
            version: "v7".into(),
            algorithm: "logistic".into(),
            training_as_of: Vec::new(),
            features: Vec::new(),
            metrics: serde_json::Value::Null,
            created_at: String::new(),
        };
        let as_of = chrono::NaiveDate::from_ymd_opt(2024, 12, 31).expect("date");
        let source = MemorySource::new(info, as_of, vec![score("C1", 0.4), score("C2", 0.3)]);
        let state = Arc::new(ServerState::new(
            Arc::new(Metrics::new()),
            Limits::default(),
        ));
        state
            .current
            .store(Arc::new(Served::Ready(Arc::new(source))));
        ChurnApi::new(state)
    }

    /// The generated trait (not on the serving path) answers the same as the encoded bytes.
    #[tokio::test]
    async fn the_generated_trait_decodes_the_encoded_answers() {
        let api = api();
        let one = ChurnService::score_customer(
            &api,
            Request::new(pb::ScoreCustomerRequest {
                request_id: "r1".into(),
                customer_id: "C2".into(),
            }),
        )
        .await
        .expect("C2 is served")
        .into_inner();
        assert_eq!(
            (
                one.request_id.as_str(),
                one.model_version.as_str(),
                one.as_of_date.as_str()
            ),
            ("r1", "v7", "2024-12-31")
        );
        assert_eq!(one.score, Some(convert::score(&score("C2", 0.3))));

        let missing = ChurnService::score_customer(
            &api,
            Request::new(pb::ScoreCustomerRequest {
                request_id: String::new(),
                customer_id: "C9".into(),
            }),
        )
        .await
        .err()
        .map(|s| (s.code(), s.message().to_string()));
        assert_eq!(
            missing,
            Some((
                Code::NotFound,
                "unknown customer `C9` (field `customer_id`)".to_string()
            ))
        );

        use tokio_stream::StreamExt;
        let mut stream = ChurnService::score_customers(
            &api,
            Request::new(pb::ScoreCustomersRequest {
                batch_size: 1,
                ..Default::default()
            }),
        )
        .await
        .expect("stream starts")
        .into_inner();
        let mut ids = Vec::new();
        while let Some(batch) = stream.next().await {
            let batch = batch.expect("batch");
            assert_eq!(batch.scores.len(), 1);
            ids.extend(batch.scores.into_iter().map(|s| s.customer_id));
        }
        assert_eq!(ids, vec!["C1", "C2"]);
    }
}
