//! Bearer-token authentication: an interceptor on the churn service (health and reflection
//! are not behind it) that accepts `authorization: Bearer <token>` for any configured token,
//! compared in constant time. Tokens come from a file (one per line, `#` comments) or the
//! `CHURN_TOKENS` environment variable (comma-separated).

use std::path::Path;
use std::sync::Arc;

use tonic::{Request, Status};

use crate::server::error::ServeError;
use crate::server::metrics::Metrics;

/// Shortest token accepted from configuration.
pub const MIN_TOKEN_LEN: usize = 16;

/// The configured tokens; empty = authentication off.
#[derive(Clone, Default)]
pub struct Tokens(Arc<Vec<Vec<u8>>>);

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} configured)", self.0.len())
    }
}

impl Tokens {
    /// Tokens from a list (each at least [`MIN_TOKEN_LEN`] characters, no whitespace inside).
    pub fn new(tokens: Vec<String>) -> Result<Tokens, ServeError> {
        Self::checked(tokens.into_iter().enumerate(), Path::new("<list>"))
    }

    fn checked(
        tokens: impl Iterator<Item = (usize, String)>,
        origin: &Path,
    ) -> Result<Tokens, ServeError> {
        let mut out = Vec::new();
        for (line, t) in tokens {
            let t = t.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let problem = if t.len() < MIN_TOKEN_LEN {
                Some("shorter than 16 characters")
            } else if t.chars().any(char::is_whitespace) {
                Some("contains whitespace")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(ServeError::BadToken {
                    path: origin.to_path_buf(),
                    line: line + 1,
                    problem,
                });
            }
            out.push(t.as_bytes().to_vec());
        }
        Ok(Tokens(Arc::new(out)))
    }

    /// Tokens from a file: one per line; blank lines and `#` comments skipped.
    pub fn from_file(path: &Path) -> Result<Tokens, ServeError> {
        let text = std::fs::read_to_string(path).map_err(|source| ServeError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::checked(text.lines().map(str::to_string).enumerate(), path)
    }

    /// Tokens from a comma-separated list (the `CHURN_TOKENS` variable).
    pub fn from_env_value(value: &str) -> Result<Tokens, ServeError> {
        Self::checked(
            value.split(',').map(str::to_string).enumerate(),
            Path::new("$CHURN_TOKENS"),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether `presented` equals one of the tokens. Every token is compared in full, in time
    /// that depends only on the lengths.
    pub fn accepts(&self, presented: &[u8]) -> bool {
        let mut ok = 0u8;
        for t in self.0.iter() {
            ok |= u8::from(constant_time_eq(t, presented));
        }
        ok == 1
    }
}

/// Equal bytes, compared without an early exit.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    diff == 0
}

/// The interceptor: passes every call when no token is configured.
#[derive(Clone)]
pub struct Auth {
    pub tokens: Tokens,
    pub metrics: Arc<Metrics>,
}

impl tonic::service::Interceptor for Auth {
    fn call(&mut self, req: Request<()>) -> Result<Request<()>, Status> {
        if self.tokens.is_empty() {
            return Ok(req);
        }
        let presented = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        match presented {
            Some(t) if self.tokens.accepts(t.as_bytes()) => Ok(req),
            Some(_) => {
                self.metrics.auth_refused();
                Err(Status::unauthenticated("unknown bearer token"))
            }
            None => {
                self.metrics.auth_refused();
                Err(Status::unauthenticated(
                    "missing `authorization: Bearer <token>` metadata (tokens are configured on this server)",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole_and_refuse_prefixes() {
        let t = Tokens::new(vec!["0123456789abcdef".into(), "fedcba9876543210".into()]);
        let t = t.ok().unwrap_or_default();
        assert_eq!(t.len(), 2);
        assert!(t.accepts(b"0123456789abcdef"));
        assert!(t.accepts(b"fedcba9876543210"));
        assert!(!t.accepts(b"0123456789abcde"));
        assert!(!t.accepts(b"0123456789abcdeX"));
        assert!(!t.accepts(b""));
    }

    #[test]
    fn short_token_is_refused_with_its_line() {
        let e = Tokens::from_env_value("0123456789abcdef,short").err();
        assert_eq!(
            e.map(|e| e.to_string()).as_deref(),
            Some("tokens file $CHURN_TOKENS: line 2 is not a usable token (shorter than 16 characters)")
        );
    }
}
