//! The transport's floor for the gRPC benchmark: a bare tonic server of the same
//! `churn.v1.ChurnService` that answers ScoreCustomer with one fixed, realistic-sized
//! response (no lookup, no metrics, no auth, no reload). Other RPCs are UNIMPLEMENTED.
//!
//!   cargo run --release --example echo_server -- 127.0.0.1:50052 [RESPONSE.bin]
//!
//! RESPONSE.bin: an encoded ScoreCustomerResponse to echo (the load generator's `sample`
//! command writes one taken from the real server, so both answer with the same bytes);
//! without it a response of typical size is built here.

use std::net::SocketAddr;

use prost::Message;
use tonic::{Request, Response, Status};

use churn::server::pb::{self, churn_service_server::ChurnService};

struct Echo {
    answer: pb::ScoreCustomerResponse,
}

fn typical() -> pb::ScoreCustomerResponse {
    let reason = |f: &str| pb::Reason {
        feature: f.into(),
        value: Some(12.5),
        contribution: 0.42,
    };
    let product = |n: &str| {
        pb::ProductSuggestion {
        product_id: "P0012".into(),
        product_name: n.into(),
        category: "mobile".into(),
        kind: pb::SuggestionKind::Retention as i32,
        expected_gain: 18.2,
        adoption_probability: 0.04,
        monthly_saving: None,
        rationale: "in past retention campaigns customers offered it churned 3.4 points less than the control group".into(),
    }
    };
    pb::ScoreCustomerResponse {
        request_id: String::new(),
        model_version: "v0004-20261123T072617Z".into(),
        as_of_date: "2024-12-31".into(),
        score: Some(pb::CustomerScore {
            customer_id: "C0001373".into(),
            segment: "enterprise".into(),
            region: "highlands".into(),
            account_manager_id: Some("AM0006".into()),
            tier: "silver".into(),
            churn_probability: 0.224,
            risk_band: pb::RiskBand::Medium as i32,
            reasons: vec![reason("dropped_calls_90d"), reason("voice_minutes_90d"), reason("outage_minutes_90d")],
            clv: 1352.01,
            value_at_risk: 302.9,
            expected_uplift: Some(0.069),
            next_best_products: vec![product("Mobile 15 GB"), product("Cloud Workspace"), product("Business Backup")],
            action: "medium risk: include in the next retention campaign; offer Mobile 15 GB (retention)".into(),
        }),
    }
}

#[tonic::async_trait]
impl ChurnService for Echo {
    async fn score_customer(
        &self,
        request: Request<pb::ScoreCustomerRequest>,
    ) -> Result<Response<pb::ScoreCustomerResponse>, Status> {
        let req = request.into_inner();
        let mut a = self.answer.clone();
        a.request_id = req.request_id;
        Ok(Response::new(a))
    }

    type ScoreCustomersStream = tokio_stream::Empty<Result<pb::ScoreCustomersResponse, Status>>;

    async fn score_customers(
        &self,
        _: Request<pb::ScoreCustomersRequest>,
    ) -> Result<Response<Self::ScoreCustomersStream>, Status> {
        Err(Status::unimplemented("echo server"))
    }

    async fn score_features(
        &self,
        _: Request<pb::ScoreFeaturesRequest>,
    ) -> Result<Response<pb::ScoreFeaturesResponse>, Status> {
        Err(Status::unimplemented("echo server"))
    }

    async fn prioritized_list(
        &self,
        _: Request<pb::PrioritizedListRequest>,
    ) -> Result<Response<pb::PrioritizedListResponse>, Status> {
        Err(Status::unimplemented("echo server"))
    }

    async fn get_customer360(
        &self,
        _: Request<pb::GetCustomer360Request>,
    ) -> Result<Response<pb::GetCustomer360Response>, Status> {
        Err(Status::unimplemented("echo server"))
    }

    async fn get_model_info(
        &self,
        _: Request<pb::GetModelInfoRequest>,
    ) -> Result<Response<pb::GetModelInfoResponse>, Status> {
        Err(Status::unimplemented("echo server"))
    }

    async fn get_segments(
        &self,
        _: Request<pb::GetSegmentsRequest>,
    ) -> Result<Response<pb::GetSegmentsResponse>, Status> {
        Err(Status::unimplemented("echo server"))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:50052".into())
        .parse()?;
    let answer = match args.next() {
        Some(path) => pb::ScoreCustomerResponse::decode(std::fs::read(path)?.as_slice())?,
        None => typical(),
    };
    eprintln!(
        "echo server on {addr}: ScoreCustomer answers {} bytes",
        answer.encoded_len()
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(pb::churn_service_server::ChurnServiceServer::new(Echo {
            answer,
        }))
        .serve_with_incoming_shutdown(incoming, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
