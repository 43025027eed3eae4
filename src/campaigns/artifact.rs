//! The fitted uplift model as a file next to the model registry, so the scoring stage can give
//! every customer an expected churn reduction from a retention offer and rank by expected saved
//! value. `churn campaigns --models DIR` writes it; [`crate::scoring`] reads it when it builds
//! a snapshot from the same registry.

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, SecondsFormat, Utc};
use polars::prelude::DataFrame;
use serde::{Deserialize, Serialize};

use super::uplift::{feature_matrix, UpliftModel};
use super::{CampaignConfig, CampaignError, UpliftEvaluation};
use crate::output::{self, OutputError};
use crate::warehouse::Warehouse;

/// Where in a registry directory the uplift model lives.
pub const UPLIFT_FILE: &str = "uplift/uplift_model.json";
/// Format version of [`UpliftArtifact`].
pub const UPLIFT_FORMAT: u32 = 1;

/// An uplift model with what it was fitted on and how it did on held-out campaign rows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UpliftArtifact {
    pub format_version: u32,
    /// Campaign type whose treatment/control rows trained it.
    pub campaign_type: String,
    /// The export's last observed date when it was fitted.
    pub observed_until: NaiveDate,
    /// When it was fitted (UTC, RFC 3339): identifies it in snapshots.
    pub fitted_at: String,
    /// Held-out Qini coefficient and observed uplift of the same model family.
    pub holdout_qini: f64,
    pub holdout_observed_uplift: f64,
    pub model: UpliftModel,
}

/// A failure reading or writing the uplift model file.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not an uplift model file: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: format version {found}, this build reads {expected}")]
    Format {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("{path}: {problem}")]
    Invalid { path: PathBuf, problem: String },
    #[error(transparent)]
    Write(#[from] OutputError),
}

impl UpliftArtifact {
    /// Wraps a model fitted on all campaign rows with the held-out evaluation of the same
    /// family.
    pub fn new(
        model: UpliftModel,
        evaluation: &UpliftEvaluation,
        observed_until: NaiveDate,
    ) -> Self {
        UpliftArtifact {
            format_version: UPLIFT_FORMAT,
            campaign_type: evaluation.campaign_type.clone(),
            observed_until,
            fitted_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            holdout_qini: evaluation.qini_coefficient,
            holdout_observed_uplift: evaluation.holdout_observed_uplift,
            model,
        }
    }

    /// Analyses the campaign history of `wh` ([`super::analyse`]) and wraps the uplift model
    /// fitted on every observed row of `cfg.campaign_type` with its held-out evaluation.
    pub fn fit(wh: &Warehouse, cfg: &CampaignConfig) -> Result<UpliftArtifact, CampaignError> {
        let (report, model) = super::analyse(wh, cfg, None)?;
        match (model, &report.uplift_model) {
            (Some(model), Some(evaluation)) => Ok(UpliftArtifact::new(
                model,
                evaluation,
                report.observed_until,
            )),
            _ => Err(CampaignError::NoUpliftModel(
                report
                    .uplift_model_unavailable
                    .unwrap_or_else(|| "no uplift model was fitted".into()),
            )),
        }
    }

    /// The file in registry directory `models`.
    pub fn path(models: &Path) -> PathBuf {
        models.join(UPLIFT_FILE)
    }

    /// Writes it into registry directory `models` atomically (temporary file, fsync, rename).
    pub fn save(&self, models: &Path) -> Result<PathBuf, ArtifactError> {
        let path = Self::path(models);
        output::write_json(&path, self)?;
        Ok(path)
    }

    /// The uplift model of registry directory `models`, `None` if there is none. A file that is
    /// there but unreadable, of another format or inconsistent is an error.
    pub fn load(models: &Path) -> Result<Option<UpliftArtifact>, ArtifactError> {
        let path = Self::path(models);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ArtifactError::Read { path, source }),
        };
        let a: UpliftArtifact =
            serde_json::from_slice(&bytes).map_err(|source| ArtifactError::Parse {
                path: path.clone(),
                source,
            })?;
        if a.format_version != UPLIFT_FORMAT {
            return Err(ArtifactError::Format {
                path,
                found: a.format_version,
                expected: UPLIFT_FORMAT,
            });
        }
        if let Err(problem) = a.model.check() {
            return Err(ArtifactError::Invalid { path, problem });
        }
        Ok(Some(a))
    }

    /// Relative churn reduction `1 − μ₁/μ₀` from a retention offer for every row of a
    /// churn_prediction_features frame, in row order, `batch` rows at a time (bounds the
    /// row-major copy): the share of a customer's churn risk the offer is expected to remove
    /// (negative: the offer is expected to raise it).
    ///
    /// Relative, because the model is fitted on campaign targets, a population selected for
    /// risk: its absolute churn levels do not carry over to every customer, its relative effect
    /// carries over better — within the range it took on those targets (5th to 95th
    /// percentile, [`UpliftModel::relative_range`]). The scoring stage multiplies it by the
    /// champion's calibrated risk.
    pub fn relative_reduction_rows(
        &self,
        features: &DataFrame,
        batch: usize,
    ) -> Result<Vec<f64>, CampaignError> {
        let names = &self.model.feature_names;
        let width = names.len();
        let n = features.height();
        let mut out = Vec::with_capacity(n);
        let mut offset = 0;
        while offset < n {
            let len = batch.max(1).min(n - offset);
            let x = feature_matrix(&features.slice(offset as i64, len), names)?;
            out.extend(
                self.model
                    .predict(&x, width)
                    .into_iter()
                    .map(|(treated, control)| self.model.relative(treated, control)),
            );
            offset += len;
        }
        Ok(out)
    }
}

/// `1 − treated/control` (0 when the control churn is 0: nothing to reduce).
pub fn relative_reduction(treated: f64, control: f64) -> f64 {
    if control > 0.0 {
        1.0 - treated / control
    } else {
        0.0
    }
}

/// Expected absolute churn reduction of a customer with calibrated risk `p` and relative
/// reduction `r` ([`UpliftArtifact::relative_reduction_rows`]): `p · r`, kept within
/// `[p − 1, p]` (the churn probability with the offer stays a probability).
pub fn expected_uplift(p: f64, r: f64) -> f64 {
    (p * r).clamp(p - 1.0, p)
}
