//! The server's errors and the one table that maps them to gRPC statuses. Every variant names
//! the request field or the limit involved; none is ever logged with a customer id.

use std::path::PathBuf;

use tonic::{Code, Status};

/// Why a call was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unknown customer `{customer_id}` (field `{field}`)")]
    NotFound {
        field: &'static str,
        customer_id: String,
    },
    #[error("{count} unknown customer id(s) in `{field}`; the first is `{first}`")]
    UnknownIds {
        field: &'static str,
        first: String,
        count: usize,
    },
    #[error("`{field}`: {problem}")]
    InvalidArgument { field: String, problem: String },
    #[error("`{field}`: {count} values, at most {limit} per request")]
    TooMany {
        field: &'static str,
        count: usize,
        limit: usize,
    },
    #[error("no champion model in {models}: {remedy}")]
    NoChampion { models: String, remedy: String },
    #[error("the scoring snapshot is still loading; retry shortly (health check says SERVING once ready)")]
    Loading,
    #[error("the snapshot has no model loaded; ScoreFeatures needs the champion")]
    NoModel,
    #[error("{0}")]
    Precondition(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// An INVALID_ARGUMENT naming `field`.
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> ApiError {
        ApiError::InvalidArgument {
            field: field.into(),
            problem: problem.into(),
        }
    }

    pub fn code(&self) -> Code {
        match self {
            ApiError::NotFound { .. } | ApiError::UnknownIds { .. } => Code::NotFound,
            ApiError::InvalidArgument { .. } => Code::InvalidArgument,
            ApiError::TooMany { .. } => Code::ResourceExhausted,
            ApiError::NoChampion { .. } | ApiError::NoModel | ApiError::Precondition(_) => {
                Code::FailedPrecondition
            }
            ApiError::Loading => Code::Unavailable,
            ApiError::Internal(_) => Code::Internal,
        }
    }
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Status {
        Status::new(e.code(), e.to_string())
    }
}

/// Why `churn serve` could not start or a snapshot could not be (re)loaded.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("no champion model in {}: run `churn train --data <DIR> --models {}` (or `churn models promote <VERSION>`)", models.display(), models.display())]
    NoChampion { models: PathBuf },
    #[error("loading the snapshot from data {} and models {}: {message}", data.display(), models.display())]
    Snapshot {
        data: PathBuf,
        models: PathBuf,
        message: String,
    },
    #[error("reading {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("tokens file {}: line {line} is not a usable token ({problem})", path.display())]
    BadToken {
        path: PathBuf,
        line: usize,
        problem: &'static str,
    },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("binding {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("reflection: {0}")]
    Reflection(String),
    #[error("gRPC transport: {0}")]
    Transport(String),
    #[error("the snapshot loader task failed: {0}")]
    Join(String),
}
