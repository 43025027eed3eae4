//! Scoring stage: the champion model + features at the newest as-of date + CLV + suggestions
//! → one [`CustomerScore`] per active customer (a snapshot). Prioritised lists are queries over
//! a snapshot; the CLI and the gRPC server are thin shells over this module.

mod types;

pub use types::*;
