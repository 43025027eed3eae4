//! The two hot RPCs, `ScoreCustomer` and `ScoreCustomers`, answered with bytes encoded straight
//! from the snapshot ([`crate::server::wire`]) instead of prost structs built by cloning every
//! string of a score. [`FastPaths`] sits where the generated `ChurnServiceServer` sat (under
//! the auth interceptor and the oversize rewrite): it takes those two paths itself, with a
//! codec whose requests are decoded by prost as usual and whose answers are already-encoded
//! message bodies, and hands every other path to the generated server. The wire format is
//! unchanged (the bytes are the ones prost writes; see the tests in `wire`).

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::codec::{Codec, EncodeBuf, Encoder};
use tonic::codegen::{http, Body, Service, StdError};
use tonic::server::{Grpc, NamedService, ServerStreamingService, UnaryService};
use tonic::{Request, Response, Status};

use crate::server::pb;
use crate::server::service::{ChurnApi, EncodedStream};

/// A message body already encoded as protobuf.
pub type Encoded = Vec<u8>;

/// Copies an [`Encoded`] body into tonic's frame buffer.
#[derive(Clone, Copy, Debug, Default)]
pub struct EncodedEncoder;

impl Encoder for EncodedEncoder {
    type Item = Encoded;
    type Error = Status;

    fn encode(&mut self, item: Encoded, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        use prost::bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

/// Requests decoded by prost, answers passed through as encoded bytes.
#[derive(Debug)]
pub struct EncodedCodec<Req>(PhantomData<fn() -> Req>);

impl<Req> Default for EncodedCodec<Req> {
    fn default() -> Self {
        EncodedCodec(PhantomData)
    }
}

impl<Req: prost::Message + Default + Send + 'static> Codec for EncodedCodec<Req> {
    type Encode = Encoded;
    type Decode = Req;
    type Encoder = EncodedEncoder;
    type Decoder = tonic_prost::ProstDecoder<Req>;

    fn encoder(&mut self) -> Self::Encoder {
        EncodedEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        tonic_prost::ProstDecoder::default()
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

struct ScoreCustomerSvc(ChurnApi);

impl UnaryService<pb::ScoreCustomerRequest> for ScoreCustomerSvc {
    type Response = Encoded;
    type Future = BoxFuture<Result<Response<Encoded>, Status>>;

    fn call(&mut self, request: Request<pb::ScoreCustomerRequest>) -> Self::Future {
        let api = self.0.clone();
        Box::pin(async move { api.score_customer_encoded(request.into_inner()).await })
    }
}

struct ScoreCustomersSvc(ChurnApi);

impl ServerStreamingService<pb::ScoreCustomersRequest> for ScoreCustomersSvc {
    type Response = Encoded;
    type ResponseStream = EncodedStream;
    type Future = BoxFuture<Result<Response<EncodedStream>, Status>>;

    fn call(&mut self, request: Request<pb::ScoreCustomersRequest>) -> Self::Future {
        let api = self.0.clone();
        Box::pin(async move { api.score_customers_encoded(request.into_inner()).await })
    }
}

const SCORE_CUSTOMER: &str = "/churn.v1.ChurnService/ScoreCustomer";
const SCORE_CUSTOMERS: &str = "/churn.v1.ChurnService/ScoreCustomers";

/// Answers ScoreCustomer and ScoreCustomers from pre-encoded bytes; every other path goes to
/// `inner` (the generated `ChurnServiceServer`).
#[derive(Clone)]
pub struct FastPaths<S> {
    api: ChurnApi,
    inner: S,
    max_decoding_message_size: usize,
}

impl<S> FastPaths<S> {
    /// `max_decoding_message_size`: the same request limit the generated server applies.
    pub fn new(api: ChurnApi, inner: S, max_decoding_message_size: usize) -> FastPaths<S> {
        FastPaths {
            api,
            inner,
            max_decoding_message_size,
        }
    }
}

impl<S: NamedService> NamedService for FastPaths<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> Service<http::Request<B>> for FastPaths<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>, Error = Infallible>,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let limit = Some(self.max_decoding_message_size);
        match req.uri().path() {
            SCORE_CUSTOMER => {
                let svc = ScoreCustomerSvc(self.api.clone());
                Box::pin(async move {
                    let mut grpc = Grpc::new(EncodedCodec::<pb::ScoreCustomerRequest>::default())
                        .apply_max_message_size_config(limit, None);
                    Ok(grpc.unary(svc, req).await)
                })
            }
            SCORE_CUSTOMERS => {
                let svc = ScoreCustomersSvc(self.api.clone());
                Box::pin(async move {
                    let mut grpc = Grpc::new(EncodedCodec::<pb::ScoreCustomersRequest>::default())
                        .apply_max_message_size_config(limit, None);
                    Ok(grpc.server_streaming(svc, req).await)
                })
            }
            _ => Box::pin(self.inner.call(req)),
        }
    }
}
