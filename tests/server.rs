//! The gRPC service end to end over real sockets: every RPC's answer and error statuses
//! (on a hand-built in-memory snapshot whose numbers can be checked by eye), bearer-token
//! refusal, a TLS handshake with a certificate made here, health and reflection, hot reload under
//! concurrent calls with zero failures (and a failed reload that keeps the old snapshot), the
//! no-champion status, graceful shutdown, and one run over a generated warehouse + a trained
//! champion (what-if scoring with the real model).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use polars::prelude::{Column, DataFrame};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tonic::Code;

use churn::scoring::{
    CustomerScore, Field, FieldValue, ModelInfo, ProductSuggestion, Record, RiskBand, ScoreReason,
    SuggestionKind,
};
use churn::server::client::{self, ClientOptions};
use churn::server::pb::{self, feature_value::Value as FV};
use churn::server::{
    self, Limits, MemorySource, Running, ScoreSource, ServeConfig, ServeError, SnapshotLoader,
    TlsPem, Tokens,
};
use churn::training::encode::TableEncoder;
use churn::training::models::{Algorithm, ChurnModel, TrainParams};

mod common;
use common::d;

fn info(version: &str) -> ModelInfo {
    ModelInfo {
        version: version.to_string(),
        algorithm: "logistic".into(),
        training_as_of: vec![d(2024, 3, 31)],
        features: vec!["calls".into()],
        metrics: serde_json::json!({"test_auc": 0.81, "test_ece": 0.02, "note": "text skipped"}),
        created_at: "2025-01-02T03:04:05Z".into(),
    }
}

/// One score: value_at_risk = p × clv, so the ranking can be checked by eye.
fn score(
    id: &str,
    segment: &str,
    region: &str,
    manager: Option<&str>,
    p: f64,
    clv: f64,
) -> CustomerScore {
    CustomerScore {
        customer_id: id.into(),
        segment: segment.into(),
        region: region.into(),
        account_manager_id: manager.map(str::to_string),
        tier: "gold".into(),
        churn_probability: p,
        risk_band: if p >= 0.5 {
            RiskBand::Critical
        } else if p >= 0.25 {
            RiskBand::High
        } else {
            RiskBand::Low
        },
        reasons: vec![ScoreReason {
            feature: "support_tickets_90d".into(),
            value: Some(4.0),
            contribution: 0.7,
        }],
        clv,
        value_at_risk: p * clv,
        expected_uplift: Some(0.1),
        next_best_products: vec![ProductSuggestion {
            product_id: "P7".into(),
            product_name: "Fibre 500".into(),
            category: "broadband".into(),
            kind: SuggestionKind::RightSize,
            expected_gain: 12.5,
            adoption_probability: 0.0,
            monthly_saving: Some(9.0),
            rationale: "pays overage every month".into(),
        }],
        action: "call".into(),
    }
}

/// Five customers. Value at risk: C1 0.9×100=90, C2 0.2×1000=200, C3 0.5×50=25,
/// C4 0.05×2000=100, C5 0.3×10=3 → ranking C2, C4, C1, C3, C5.
fn scores() -> Vec<CustomerScore> {
    vec![
        score("C1", "consumer", "north", None, 0.9, 100.0),
        score("C2", "enterprise", "south", Some("AM1"), 0.2, 1000.0),
        score("C3", "consumer", "south", None, 0.5, 50.0),
        score("C4", "enterprise", "north", Some("AM2"), 0.05, 2000.0),
        score("C5", "consumer", "north", None, 0.3, 10.0),
    ]
}

/// A logistic model over `calls` (number), `plan` (text) and `autopay` (boolean), fitted on
/// 400 seeded rows where many calls mean churn.
fn tiny_model() -> ChurnModel {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let n = 400;
    let calls: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..10.0)).collect();
    let plan: Vec<&str> = (0..n)
        .map(|i| if i % 3 == 0 { "basic" } else { "pro" })
        .collect();
    let autopay: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
    let y: Vec<f64> = calls
        .iter()
        .map(|c| f64::from(u8::from(rng.random::<f64>() < c / 10.0)))
        .collect();
    let df = DataFrame::new(
        n,
        vec![
            Column::new("calls".into(), calls),
            Column::new("plan".into(), plan),
            Column::new("autopay".into(), autopay),
        ],
    )
    .expect("frame");
    let enc = TableEncoder::fit(&df, &[]).expect("encoder");
    let x = enc.transform(&df).expect("matrix");
    ChurnModel::fit(
        Algorithm::Logistic,
        &TrainParams::default(),
        enc,
        &x,
        &y,
        &x,
        &y,
    )
    .expect("fit")
}

fn memory_source(version: &str) -> MemorySource {
    let rows = HashMap::from([(
        "C1".to_string(),
        Record {
            fields: vec![
                Field {
                    name: "customer_id".into(),
                    value: FieldValue::Text("C1".into()),
                },
                Field {
                    name: "tenure_months".into(),
                    value: FieldValue::Int(27),
                },
                Field {
                    name: "signup_date".into(),
                    value: FieldValue::Date(d(2022, 1, 5)),
                },
                Field {
                    name: "customer_name".into(),
                    value: FieldValue::Null,
                },
            ],
        },
    )]);
    MemorySource::new(info(version), d(2024, 12, 31), scores()).with_customer_360(rows)
}

/// Serves whatever `next` says; counts loads; fails when `fail` is set.
struct TestLoader {
    generation: AtomicUsize,
    fail: AtomicBool,
    no_champion: bool,
    model: Option<ChurnModel>,
}

impl TestLoader {
    fn new(model: Option<ChurnModel>) -> TestLoader {
        TestLoader {
            generation: AtomicUsize::new(1),
            fail: AtomicBool::new(false),
            no_champion: false,
            model,
        }
    }
}

impl SnapshotLoader for TestLoader {
    fn fingerprint(&self) -> Result<String, ServeError> {
        Ok(self.generation.load(Ordering::SeqCst).to_string())
    }

    fn load(&self) -> Result<Arc<dyn ScoreSource>, ServeError> {
        if self.no_champion {
            return Err(ServeError::NoChampion {
                models: "/nowhere/models".into(),
            });
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(ServeError::Snapshot {
                data: "/data".into(),
                models: "/models".into(),
                message: "corrupt artifact".into(),
            });
        }
        let version = format!("v{}", self.generation.load(Ordering::SeqCst));
        let mut src = memory_source(&version);
        if let Some(m) = &self.model {
            src = src.with_model(m.clone());
        }
        Ok(Arc::new(src))
    }
}

fn local() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn config() -> ServeConfig {
    ServeConfig {
        addr: local(),
        metrics_addr: Some(local()),
        reload_interval: None,
        limits: Limits {
            max_ids: 3,
            max_page_size: 2,
            max_message_bytes: 4000,
            ..Limits::default()
        },
        ..ServeConfig::default()
    }
}

async fn start(config: ServeConfig, loader: Arc<dyn SnapshotLoader>) -> Running {
    let running = server::start(config, loader).await.expect("start");
    for _ in 0..500 {
        if !matches!(&**running.state.current.load(), server::Served::Loading) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running
}

async fn connect(addr: SocketAddr) -> client::Client {
    client::connect(&ClientOptions {
        addr: addr.to_string(),
        ..ClientOptions::default()
    })
    .await
    .expect("connect")
}

fn code_of<T: std::fmt::Debug>(r: Result<T, tonic::Status>) -> (Code, String) {
    let e = r.expect_err("an error status");
    (e.code(), e.message().to_string())
}

async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect metrics");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_answers_from_the_snapshot_and_refuses_bad_requests_by_name() {
    let running = start(config(), Arc::new(TestLoader::new(Some(tiny_model())))).await;
    let mut c = connect(running.addr).await;

    // ScoreCustomer: the stored score, the snapshot's version and date, the request id echoed.
    let r = client::score_customer(&mut c, "C3", "req-42")
        .await
        .expect("score");
    assert_eq!(
        (
            r.request_id.as_str(),
            r.model_version.as_str(),
            r.as_of_date.as_str()
        ),
        ("req-42", "v1", "2024-12-31")
    );
    let s = r.score.expect("score");
    assert_eq!(
        (s.customer_id.as_str(), s.churn_probability, s.value_at_risk),
        ("C3", 0.5, 25.0)
    );
    assert_eq!(s.risk_band, pb::RiskBand::Critical as i32);
    assert_eq!(s.reasons[0].feature, "support_tickets_90d");
    assert_eq!(s.next_best_products[0].monthly_saving, Some(9.0));
    assert_eq!(
        s.next_best_products[0].kind,
        pb::SuggestionKind::RightSize as i32
    );
    let (code, msg) = code_of(client::score_customer(&mut c, "C99", "").await);
    assert_eq!(code, Code::NotFound);
    assert!(msg.contains("C99"), "{msg}");
    let (code, msg) = code_of(client::score_customer(&mut c, " ", "").await);
    assert_eq!(
        (code, msg.as_str()),
        (Code::InvalidArgument, "`customer_id`: must not be empty")
    );
    let (code, msg) = code_of(client::score_customer(&mut c, "C1", &"x".repeat(200)).await);
    assert_eq!(
        (code, msg.as_str()),
        (
            Code::InvalidArgument,
            "`request_id`: at most 128 characters"
        )
    );

    // ScoreCustomers: ids in the order given; a filter in snapshot order; batches of 2.
    let mut stream = c
        .score_customers(pb::ScoreCustomersRequest {
            request_id: "batch".into(),
            customer_ids: vec!["C5".into(), "C1".into(), "C2".into()],
            filter: None,
            batch_size: 2,
        })
        .await
        .expect("stream")
        .into_inner();
    let mut got = Vec::new();
    let mut batches = 0;
    while let Some(m) = stream.message().await.expect("message") {
        assert_eq!(
            (m.request_id.as_str(), m.model_version.as_str()),
            ("batch", "v1")
        );
        batches += 1;
        got.extend(m.scores.into_iter().map(|s| s.customer_id));
    }
    assert_eq!(
        (got, batches),
        (vec!["C5".to_string(), "C1".into(), "C2".into()], 2)
    );
    let mut stream = c
        .score_customers(pb::ScoreCustomersRequest {
            filter: Some(pb::Filter {
                segments: vec!["consumer".into()],
                min_churn_probability: Some(0.3),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("stream")
        .into_inner();
    let mut got = Vec::new();
    while let Some(m) = stream.message().await.expect("message") {
        got.extend(m.scores.into_iter().map(|s| s.customer_id));
    }
    assert_eq!(got, vec!["C1", "C3", "C5"]);
    let too_many = pb::ScoreCustomersRequest {
        customer_ids: vec!["C1".into(), "C2".into(), "C3".into(), "C4".into()],
        ..Default::default()
    };
    let (code, msg) = code_of(c.score_customers(too_many).await);
    assert_eq!(
        (code, msg.as_str()),
        (
            Code::ResourceExhausted,
            "`customer_ids`: 4 values, at most 3 per request"
        )
    );
    let huge = pb::ScoreCustomersRequest {
        customer_ids: vec!["C".repeat(4096)],
        ..Default::default()
    };
    let (code, msg) = code_of(c.score_customers(huge).await);
    assert_eq!(code, Code::ResourceExhausted);
    assert!(msg.contains("the limit is: 4000 bytes"), "{msg}");
    let unknown = pb::ScoreCustomersRequest {
        customer_ids: vec!["C1".into(), "X1".into(), "X2".into()],
        ..Default::default()
    };
    let (code, msg) = code_of(c.score_customers(unknown).await);
    assert_eq!(
        (code, msg.as_str()),
        (
            Code::NotFound,
            "2 unknown customer id(s) in `customer_ids`; the first is `X1`"
        )
    );
    let bad_filter = pb::ScoreCustomersRequest {
        filter: Some(pb::Filter {
            regions: vec!["west".into()],
            ..Default::default()
        }),
        ..Default::default()
    };
    let (code, msg) = code_of(c.score_customers(bad_filter).await);
    assert_eq!(code, Code::InvalidArgument);
    assert!(
        msg.starts_with("`filter.regions`: unknown value `west`; known: north, south"),
        "{msg}"
    );

    // PrioritizedList: value at risk C2 200, C4 100, C1 90, C3 25, C5 3; pages of 2.
    let mut ids = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client::prioritized_list(
            &mut c,
            pb::PrioritizedListRequest {
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            },
        )
        .await
        .expect("page");
        assert_eq!(page.total_size, 5);
        ids.extend(page.customers.iter().map(|p| {
            (
                p.rank,
                p.score
                    .as_ref()
                    .map(|s| s.customer_id.clone())
                    .unwrap_or_default(),
            )
        }));
        pages += 1;
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(pages, 3);
    let expect: Vec<(u64, String)> = [(1, "C2"), (2, "C4"), (3, "C1"), (4, "C3"), (5, "C5")]
        .iter()
        .map(|(r, id)| (*r, id.to_string()))
        .collect();
    assert_eq!(ids, expect);
    let by_risk = client::prioritized_list(
        &mut c,
        pb::PrioritizedListRequest {
            page_size: 2,
            rank_by: pb::RankBy::ChurnProbability as i32,
            filter: Some(pb::Filter {
                segments: vec!["consumer".into(), "enterprise".into()],
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .expect("by risk");
    let top: Vec<String> = by_risk
        .customers
        .iter()
        .filter_map(|p| p.score.as_ref().map(|s| s.customer_id.clone()))
        .collect();
    assert_eq!(top, vec!["C1", "C3"]);
    for (size, want) in [
        (0, "`page_size`: 0 is outside 1..=2 (the largest page)"),
        (3, "`page_size`: 3 is outside 1..=2 (the largest page)"),
    ] {
        let (code, msg) = code_of(
            client::prioritized_list(
                &mut c,
                pb::PrioritizedListRequest {
                    page_size: size,
                    ..Default::default()
                },
            )
            .await,
        );
        assert_eq!((code, msg.as_str()), (Code::InvalidArgument, want));
    }
    let (code, msg) = code_of(
        client::prioritized_list(
            &mut c,
            pb::PrioritizedListRequest {
                page_size: 1,
                page_token: "garbage".into(),
                ..Default::default()
            },
        )
        .await,
    );
    assert_eq!(code, Code::InvalidArgument);
    assert!(msg.starts_with("`page_token`"), "{msg}");

    // GetCustomer360: the row in column order (a date as text, a null unset) and the score.
    let r = c
        .get_customer360(pb::GetCustomer360Request {
            request_id: "r".into(),
            customer_id: "C1".into(),
        })
        .await
        .expect("360")
        .into_inner();
    let names: Vec<&str> = r.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "customer_id",
            "tenure_months",
            "signup_date",
            "customer_name"
        ]
    );
    assert_eq!(r.fields[1].value, Some(pb::field::Value::Integer(27)));
    assert_eq!(
        r.fields[2].value,
        Some(pb::field::Value::Date("2022-01-05".into()))
    );
    assert_eq!(r.fields[3].value, None);
    assert_eq!(r.score.map(|s| s.clv), Some(100.0));
    let (code, _) = code_of(
        c.get_customer360(pb::GetCustomer360Request {
            customer_id: "nobody".into(),
            ..Default::default()
        })
        .await,
    );
    assert_eq!(code, Code::NotFound);

    // GetModelInfo: manifest facts, numeric metrics only, the model's input columns.
    let m = c
        .get_model_info(pb::GetModelInfoRequest {
            request_id: "m".into(),
        })
        .await
        .expect("info")
        .into_inner();
    assert_eq!(
        (m.model_version.as_str(), m.algorithm.as_str(), m.customers),
        ("v1", "logistic", 5)
    );
    assert_eq!(m.training_as_of, vec!["2024-03-31"]);
    assert_eq!(m.metrics.get("test_auc"), Some(&0.81));
    assert!(!m.metrics.contains_key("note"));
    let kinds: Vec<(&str, &str)> = m
        .features
        .iter()
        .map(|f| (f.name.as_str(), f.kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("calls", "numeric"),
            ("plan", "categorical"),
            ("autopay", "boolean")
        ]
    );

    // GetSegments: consumer = C1, C3, C5: mean p (0.9+0.5+0.3)/3, high risk C1+C3+C5 = 3.
    let g = c
        .get_segments(pb::GetSegmentsRequest::default())
        .await
        .expect("segments")
        .into_inner();
    assert_eq!(g.segment_values, vec!["consumer", "enterprise"]);
    assert_eq!(g.region_values, vec!["north", "south"]);
    assert_eq!(g.account_manager_values, vec!["AM1", "AM2"]);
    let consumer = &g.segments[0];
    assert_eq!(
        (
            consumer.segment.as_str(),
            consumer.customers,
            consumer.high_risk_customers
        ),
        ("consumer", 3, 3)
    );
    assert!((consumer.mean_churn_probability - 1.7 / 3.0).abs() < 1e-12);
    assert!((consumer.total_value_at_risk - 118.0).abs() < 1e-9);

    // ScoreFeatures: more calls, higher risk; reasons name model features; bad input named.
    let feats = |calls: f64| -> HashMap<String, pb::FeatureValue> {
        HashMap::from([
            (
                "calls".to_string(),
                pb::FeatureValue {
                    value: Some(FV::Number(calls)),
                },
            ),
            (
                "plan".to_string(),
                pb::FeatureValue {
                    value: Some(FV::Text("pro".into())),
                },
            ),
            (
                "autopay".to_string(),
                pb::FeatureValue {
                    value: Some(FV::Flag(true)),
                },
            ),
        ])
    };
    let what_if = |f: HashMap<String, pb::FeatureValue>| pb::ScoreFeaturesRequest {
        request_id: "w".into(),
        features: f,
        top_reasons: 2,
    };
    let low = c
        .score_features(what_if(feats(1.0)))
        .await
        .expect("what-if")
        .into_inner();
    let high = c
        .score_features(what_if(feats(9.0)))
        .await
        .expect("what-if")
        .into_inner();
    assert!(
        high.churn_probability > low.churn_probability + 0.2,
        "{} vs {}",
        high.churn_probability,
        low.churn_probability
    );
    assert_eq!(
        (high.request_id.as_str(), high.model_version.as_str()),
        ("w", "v1")
    );
    assert_eq!(
        high.reasons.first().map(|r| r.feature.as_str()),
        Some("calls")
    );
    assert_eq!(high.reasons[0].value, Some(9.0));
    let mut unknown = feats(1.0);
    unknown.insert(
        "zodiac".into(),
        pb::FeatureValue {
            value: Some(FV::Number(1.0)),
        },
    );
    let (code, msg) = code_of(c.score_features(what_if(unknown)).await);
    assert_eq!(code, Code::InvalidArgument);
    assert!(msg.contains("unknown feature(s): zodiac"), "{msg}");
    let mut missing = feats(1.0);
    missing.remove("plan");
    let (code, msg) = code_of(c.score_features(what_if(missing)).await);
    assert_eq!(code, Code::InvalidArgument);
    assert!(msg.contains("missing feature(s): plan"), "{msg}");
    let (code, msg) = code_of(c.score_features(what_if(feats(f64::NAN))).await);
    assert_eq!(code, Code::InvalidArgument);
    assert!(
        msg.starts_with("`features[calls]`: NaN is not a finite number"),
        "{msg}"
    );
    let (code, msg) = code_of(c.score_features(what_if(feats(f64::INFINITY))).await);
    assert_eq!(code, Code::InvalidArgument);
    assert!(msg.starts_with("`features[calls]`: inf"), "{msg}");
    let mut null_plan = feats(5.0);
    null_plan.insert("plan".into(), pb::FeatureValue { value: None });
    let ok = c
        .score_features(what_if(null_plan))
        .await
        .expect("a null is a missing value");
    assert!((0.0..=1.0).contains(&ok.into_inner().churn_probability));

    // Metrics: counted per RPC and code; never a customer id.
    let text = http_get(running.metrics_addr.expect("metrics addr"), "/metrics").await;
    assert!(
        text.contains(r#"churn_grpc_requests_total{rpc="ScoreCustomer",code="OK"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"churn_grpc_requests_total{rpc="ScoreCustomer",code="NOT_FOUND"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"churn_snapshot_info{model_version="v1",as_of="2024-12-31"} 1"#),
        "{text}"
    );
    assert!(text.contains("churn_snapshot_customers 5"), "{text}");
    assert!(
        !text.contains("C99") && !text.contains("C3"),
        "a customer id leaked into metrics"
    );
    running.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_list_the_service_and_no_champion_is_a_failed_precondition() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;

    let loader = TestLoader {
        no_champion: true,
        ..TestLoader::new(None)
    };
    let running = start(config(), Arc::new(loader)).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", running.addr))
        .expect("uri")
        .connect()
        .await
        .expect("channel");
    let mut health = HealthClient::new(channel.clone());
    let status = |service: &str| HealthCheckRequest {
        service: service.to_string(),
    };
    let live = health.check(status("")).await.expect("live").into_inner();
    assert_eq!(live.status, ServingStatus::Serving as i32);
    let churn = health
        .check(status(server::SERVICE_NAME))
        .await
        .expect("churn")
        .into_inner();
    assert_eq!(churn.status, ServingStatus::NotServing as i32);

    let mut c = connect(running.addr).await;
    let (code, msg) = code_of(client::score_customer(&mut c, "C1", "").await);
    assert_eq!(code, Code::FailedPrecondition);
    assert!(
        msg.contains("no champion model in /nowhere/models: run `churn train"),
        "{msg}"
    );

    let mut refl = ServerReflectionClient::new(channel);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = refl
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .expect("reflection")
        .into_inner();
    let answer = answers
        .message()
        .await
        .expect("answer")
        .expect("one answer");
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("a service list");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    assert!(
        names.contains(&"churn.v1.ChurnService".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_string()),
        "{names:?}"
    );
    running.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_tokens_guard_the_service_but_not_health() {
    use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
    let token = "s3cret-token-0123456789";
    let cfg = ServeConfig {
        tokens: Tokens::new(vec![token.into()]).expect("tokens"),
        ..config()
    };
    let running = start(cfg, Arc::new(TestLoader::new(None))).await;
    let mut anonymous = connect(running.addr).await;
    let (code, msg) = code_of(client::score_customer(&mut anonymous, "C1", "").await);
    assert_eq!(code, Code::Unauthenticated);
    assert!(msg.contains("authorization: Bearer"), "{msg}");
    let mut wrong = client::connect(&ClientOptions {
        addr: running.addr.to_string(),
        token: Some("s3cret-token-0123456780".into()),
        ..ClientOptions::default()
    })
    .await
    .expect("connect");
    let (code, msg) = code_of(client::score_customer(&mut wrong, "C1", "").await);
    assert_eq!(
        (code, msg.as_str()),
        (Code::Unauthenticated, "unknown bearer token")
    );
    let mut right = client::connect(&ClientOptions {
        addr: running.addr.to_string(),
        token: Some(token.into()),
        ..ClientOptions::default()
    })
    .await
    .expect("connect");
    let ok = client::score_customer(&mut right, "C1", "")
        .await
        .expect("authorised");
    assert_eq!(ok.score.map(|s| s.customer_id), Some("C1".into()));
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", running.addr))
        .expect("uri")
        .connect()
        .await
        .expect("channel");
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health needs no token");
    let text = http_get(running.metrics_addr.expect("metrics"), "/metrics").await;
    assert!(text.contains("churn_auth_refused_total 2"), "{text}");
    running.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_handshake_with_a_generated_certificate() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let cert_pem = cert.cert.pem();
    let key_pem = cert.signing_key.serialize_pem();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &cert_pem).expect("write ca");
    let cfg = ServeConfig {
        tls: Some(TlsPem {
            cert: cert_pem.into_bytes(),
            key: key_pem.into_bytes(),
        }),
        ..config()
    };
    let running = start(cfg, Arc::new(TestLoader::new(None))).await;
    let mut c = client::connect(&ClientOptions {
        addr: format!("localhost:{}", running.addr.port()),
        ca_cert: Some(ca),
        tls_domain: Some("localhost".into()),
        ..ClientOptions::default()
    })
    .await
    .expect("TLS connect");
    let r = client::score_customer(&mut c, "C2", "tls")
        .await
        .expect("score over TLS");
    assert_eq!(r.score.map(|s| s.clv), Some(1000.0));
    // A plaintext client cannot talk to the TLS port.
    let mut plain = connect(running.addr).await;
    assert!(client::score_customer(&mut plain, "C2", "").await.is_err());
    running.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reload_under_concurrent_calls_never_fails_a_call_and_a_bad_reload_keeps_the_old_snapshot(
) {
    let loader = Arc::new(TestLoader::new(None));
    let cfg = ServeConfig {
        reload_interval: Some(Duration::from_millis(40)),
        ..config()
    };
    let running = start(cfg, loader.clone()).await;
    let addr = running.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..8 {
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let mut c = connect(addr).await;
            let (mut ok, mut failed, mut versions) =
                (0usize, 0usize, std::collections::BTreeSet::new());
            while !stop.load(Ordering::SeqCst) {
                let id = ["C1", "C2", "C3", "C4", "C5"][w % 5];
                match client::score_customer(&mut c, id, "").await {
                    Ok(r) => {
                        ok += 1;
                        versions.insert(r.model_version);
                    }
                    Err(_) => failed += 1,
                }
            }
            (ok, failed, versions)
        }));
    }
    for generation in 2..=4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        loader.generation.store(generation, Ordering::SeqCst);
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    // A failing reload: the old snapshot (v4) keeps serving.
    loader.fail.store(true, Ordering::SeqCst);
    loader.generation.store(5, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let (mut ok, mut failed, mut versions) = (0, 0, std::collections::BTreeSet::new());
    for w in workers {
        let (o, f, v) = w.await.expect("worker");
        ok += o;
        failed += f;
        versions.extend(v);
    }
    assert_eq!(failed, 0, "{ok} ok");
    assert!(ok > 100, "only {ok} calls");
    let versions: Vec<String> = versions.into_iter().collect();
    assert_eq!(versions, vec!["v1", "v2", "v3", "v4"]);
    let mut c = connect(addr).await;
    let r = client::score_customer(&mut c, "C1", "")
        .await
        .expect("still serving");
    assert_eq!(r.model_version, "v4");
    assert_eq!(running.state.metrics.reloads(), 4);
    assert_eq!(running.state.metrics.failed_reloads(), 1);
    running.shutdown().await.expect("shutdown");
}

/// A source whose stream is long enough to be in flight when shutdown starts.
struct Many;

impl SnapshotLoader for Many {
    fn fingerprint(&self) -> Result<String, ServeError> {
        Ok("many".into())
    }
    fn load(&self) -> Result<Arc<dyn ScoreSource>, ServeError> {
        let s: Vec<CustomerScore> = (0..20_000)
            .map(|i| score(&format!("K{i:06}"), "consumer", "north", None, 0.1, 1.0))
            .collect();
        Ok(Arc::new(MemorySource::new(info("v1"), d(2024, 12, 31), s)))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_drains_an_in_flight_stream_then_refuses_new_calls() {
    let running = start(config(), Arc::new(Many)).await;
    let addr = running.addr;
    let mut c = connect(addr).await;
    let mut stream = c
        .score_customers(pb::ScoreCustomersRequest {
            batch_size: 100,
            ..Default::default()
        })
        .await
        .expect("stream")
        .into_inner();
    let first = stream.message().await.expect("first").expect("a batch");
    assert_eq!(first.scores.len(), 100);
    let stopping = tokio::spawn(running.shutdown());
    let mut n = first.scores.len();
    while let Some(m) = stream
        .message()
        .await
        .expect("the stream is drained, not cut")
    {
        n += m.scores.len();
    }
    assert_eq!(n, 20_000);
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("shutdown finishes")
        .expect("join")
        .expect("clean shutdown");
    let again = client::connect(&ClientOptions {
        addr: addr.to_string(),
        ..ClientOptions::default()
    })
    .await;
    assert!(again.is_err(), "the port no longer accepts connections");
}

/// A generated warehouse, a champion trained on it, `WarehouseLoader` serving it: scores come
/// from the scoring stage, what-if uses the champion, the saved snapshot is reused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_a_generated_warehouse_with_a_trained_champion() {
    use churn::generate::{generate, GenerateConfig};
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("wh");
    let models = tmp.path().join("models");
    generate(
        &GenerateConfig {
            customers: 600,
            months: 18,
            seed: 5,
            ..GenerateConfig::default()
        },
        &data,
    )
    .expect("generate");
    common::train_logistic(&data, &models, &tmp.path().join("report"));
    let loader = server::snapshot::WarehouseLoader::new(&data, &models);
    let snapshot_file = loader.snapshot_file.clone().expect("snapshot path");
    let running = start(config(), Arc::new(loader)).await;
    assert!(running.is_ready(), "the snapshot loaded");
    assert!(snapshot_file.exists(), "the built snapshot was saved");
    let mut c = connect(running.addr).await;
    let info = c
        .get_model_info(pb::GetModelInfoRequest::default())
        .await
        .expect("info")
        .into_inner();
    assert_eq!(info.algorithm, "logistic");
    assert!(info.customers > 300, "{} customers", info.customers);
    // What the snapshot holds and how its reasons were computed.
    assert_eq!(info.reason_method, "linear");
    assert!(info.has_clv && info.has_suggestions && !info.has_uplift);
    assert_eq!(info.uplift_model_fitted_at, "");
    let top = client::prioritized_list(
        &mut c,
        pb::PrioritizedListRequest {
            page_size: 2,
            rank_by: pb::RankBy::ChurnProbability as i32,
            ..Default::default()
        },
    )
    .await
    .expect("list");
    let first = top.customers[0].score.clone().expect("score");
    let second = top.customers[1].score.clone().expect("score");
    assert!(first.churn_probability >= second.churn_probability);
    let again = client::score_customer(&mut c, &first.customer_id, "")
        .await
        .expect("score");
    assert_eq!(
        again.score.map(|s| s.churn_probability),
        Some(first.churn_probability)
    );
    assert_eq!(again.model_version, info.model_version);
    // What-if with the customer's own 360 numbers is answered by the champion.
    let features: HashMap<String, pb::FeatureValue> = info
        .features
        .iter()
        .map(|f| {
            let v = match f.kind.as_str() {
                "categorical" => Some(FV::Text(f.levels.first().cloned().unwrap_or_default())),
                "boolean" => Some(FV::Flag(false)),
                _ => Some(FV::Number(1.0)),
            };
            (f.name.clone(), pb::FeatureValue { value: v })
        })
        .collect();
    let w = c
        .score_features(pb::ScoreFeaturesRequest {
            features,
            ..Default::default()
        })
        .await
        .expect("what-if")
        .into_inner();
    assert!((0.0..=1.0).contains(&w.churn_probability));
    assert_eq!(w.model_version, info.model_version);
    running.shutdown().await.expect("shutdown");

    // An uplift model saved into the registry changes the loader's fingerprint (so a running
    // server reloads) and the saved snapshot, built without it, is not reused.
    use churn::campaigns::uplift::{Logit, UpliftModel};
    use churn::campaigns::UpliftArtifact;
    let loader = server::snapshot::WarehouseLoader::new(&data, &models);
    let before = loader.fingerprint().expect("fingerprint");
    let without = loader.load().expect("load");
    let id = first.customer_id.clone();
    assert_eq!(without.get(&id).expect("scored").expected_uplift, None);
    let logit = |intercept: f64| Logit {
        mean: vec![0.0],
        scale: vec![1.0],
        weights: vec![0.0],
        intercept,
    };
    UpliftArtifact {
        format_version: churn::campaigns::artifact::UPLIFT_FORMAT,
        campaign_type: "retention".into(),
        observed_until: without.as_of(),
        fitted_at: "2026-11-23T12:00:00.000Z".into(),
        holdout_qini: 0.0,
        holdout_observed_uplift: 0.0,
        model: UpliftModel {
            feature_names: vec!["tenure_days".into()],
            treated: logit(-2.0),
            control: logit(-1.0),
            training_rows: 50,
            relative_range: None,
        },
    }
    .save(&models)
    .expect("save uplift");
    assert_ne!(loader.fingerprint().expect("fingerprint"), before);
    let with = loader.load().expect("load");
    let s = with.get(&id).expect("scored");
    // Relative reduction 1 − σ(−2)/σ(−1) of this customer's risk.
    let sig = |z: f64| 1.0 / (1.0 + (-z).exp());
    let want = s.churn_probability * (1.0 - sig(-2.0) / sig(-1.0));
    let got = s.expected_uplift.expect("uplift after the reload");
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
}
