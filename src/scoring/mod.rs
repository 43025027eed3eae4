//! Scoring stage: the champion model + features at the newest as-of date + CLV + suggestions
//! → one [`CustomerScore`] per active customer (a [`Snapshot`]). Prioritised lists are queries
//! over a snapshot; the CLI (`churn prioritize`) and the gRPC server are thin shells over this
//! module.
//!
//! In: a warehouse export directory (or a loaded [`Warehouse`](crate::warehouse::Warehouse))
//! and a model registry holding a champion. Out: a [`Snapshot`] — sorted by customer_id, with
//! [`Snapshot::get`], [`Snapshot::filter`] (stable customer_id order) and
//! [`Snapshot::prioritize`] (value at risk / expected saved value / risk, descending, ties by
//! customer_id, paged), the customer_360_view and segmentation rows, and
//! [`Snapshot::save`]/[`Snapshot::load`] keyed by the data fingerprint and model version.
//! Risk bands, formulas and the file layout: `docs/scoring.md`.

mod action;
mod build;
mod components;
mod config;
mod error;
mod fingerprint;
mod persist;
mod snapshot;
mod types;

pub use action::{action_text, band_verb, money};
pub use build::{load_champion, model_info, score_features, BuildStep, Progress};
pub use config::{ReasonMethod, RiskBands, ScoringConfig, EXACT_REASONS_BUDGET};
pub use error::ScoringError;
pub use fingerprint::data_fingerprint;
pub use persist::SNAPSHOT_FORMAT;
pub use snapshot::{
    BuildTimings, Filter, Page, RankBy, Ranked, Snapshot, SnapshotKey, SnapshotMeta, UpliftInfo,
};
pub use types::*;
