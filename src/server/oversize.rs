//! tonic refuses a request above the decoding limit with OUT_OF_RANGE ("decoded message length
//! too large: found N bytes, the limit is: M bytes") before any handler runs. The contract says
//! RESOURCE_EXHAUSTED for oversized messages: this wrapper rewrites that one status (its message,
//! which states the limit, is kept). Every other answer passes through untouched.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::codegen::http;
use tonic::codegen::Service;
use tonic::server::NamedService;

const OUT_OF_RANGE: &str = "11";
const RESOURCE_EXHAUSTED: &str = "8";

/// Wraps a gRPC service; see the module docs.
#[derive(Clone, Debug)]
pub struct OversizeAsExhausted<S>(pub S);

impl<S: NamedService> NamedService for OversizeAsExhausted<S> {
    const NAME: &'static str = S::NAME;
}

/// Whether `headers` carry tonic's "message too large" refusal.
fn is_oversize(headers: &http::HeaderMap) -> bool {
    headers.get("grpc-status").and_then(|v| v.to_str().ok()) == Some(OUT_OF_RANGE)
        && headers
            .get("grpc-message")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|m| m.contains("too%20large") || m.contains("too large"))
}

impl<S, B, R> Service<http::Request<B>> for OversizeAsExhausted<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let fut = self.0.call(req);
        Box::pin(async move {
            let mut res = fut.await?;
            if is_oversize(res.headers()) {
                res.headers_mut().insert(
                    "grpc-status",
                    http::HeaderValue::from_static(RESOURCE_EXHAUSTED),
                );
            }
            Ok(res)
        })
    }
}
