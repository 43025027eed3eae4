//! The scoring stage's [`Snapshot`] as a [`ScoreSource`], and the loader `churn serve` uses:
//! it fingerprints the warehouse files and the registry's champion pointer, and builds a
//! snapshot — or loads the saved one whose key (data fingerprint + model version) matches, so a
//! restart with unchanged inputs skips the feature build.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;

use crate::registry::Registry;
use crate::scoring::{
    self, CustomerScore, Filter, ModelInfo, Record, RiskBand, ScoringConfig, ScoringError,
    Snapshot, SnapshotKey,
};
use crate::server::error::{ApiError, ServeError};
use crate::server::source::{
    rank_page, summarize_segments, FilterValues, Query, RankBy, ScoreSource, SegmentSummary,
};
use crate::server::SnapshotLoader;
use crate::training::models::ChurnModel;

/// A scoring snapshot plus the champion model (for what-if scoring).
pub struct SnapshotSource {
    snap: Snapshot,
    model: Option<ChurnModel>,
    values: FilterValues,
    segments: Vec<SegmentSummary>,
}

impl SnapshotSource {
    pub fn new(snap: Snapshot, model: Option<ChurnModel>) -> SnapshotSource {
        let values = FilterValues {
            segments: snap.segments().to_vec(),
            regions: snap.regions().to_vec(),
            account_managers: snap.managers().to_vec(),
            tiers: snap.tiers().to_vec(),
        };
        let segments = summarize_segments(snap.scores());
        SnapshotSource {
            snap,
            model,
            values,
            segments,
        }
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.snap
    }
}

/// The scoring stage's filter for `q`, when it can express it (at most one value per field).
fn single_valued(q: &Query) -> Option<Filter> {
    let one = |v: &[String]| -> Result<Option<String>, ()> {
        match v {
            [] => Ok(None),
            [x] => Ok(Some(x.clone())),
            _ => Err(()),
        }
    };
    Some(Filter {
        ids: Vec::new(),
        segment: one(&q.segments).ok()?,
        region: one(&q.regions).ok()?,
        manager: one(&q.account_managers).ok()?,
        tier: one(&q.tiers).ok()?,
        min_risk: q.min_churn_probability,
    })
}

fn scoring_rank(r: RankBy) -> scoring::RankBy {
    match r {
        RankBy::ValueAtRisk => scoring::RankBy::ValueAtRisk,
        RankBy::ExpectedSavedValue => scoring::RankBy::ExpectedSavedValue,
        RankBy::ChurnProbability => scoring::RankBy::Risk,
    }
}

impl ScoreSource for SnapshotSource {
    fn model_info(&self) -> &ModelInfo {
        self.snap.model()
    }

    fn as_of(&self) -> NaiveDate {
        self.snap.as_of()
    }

    fn customers(&self) -> usize {
        self.snap.len()
    }

    fn get(&self, customer_id: &str) -> Option<&CustomerScore> {
        self.snap.get(customer_id)
    }

    fn select(&self, q: &Query) -> Vec<&CustomerScore> {
        match single_valued(q) {
            Some(f) => self.snap.filter(&f),
            None => self.snap.scores().iter().filter(|s| q.matches(s)).collect(),
        }
    }

    fn prioritize(
        &self,
        q: &Query,
        rank_by: RankBy,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<&CustomerScore>, usize), ApiError> {
        match single_valued(q) {
            Some(f) => {
                let page = self
                    .snap
                    .prioritize(&f, scoring_rank(rank_by), offset, limit)
                    .map_err(|e| match e {
                        ScoringError::RankUnavailable { .. } => {
                            ApiError::Precondition(format!("`rank_by`: {e}"))
                        }
                        other => ApiError::Internal(other.to_string()),
                    })?;
                Ok((page.rows.into_iter().map(|r| r.score).collect(), page.total))
            }
            None => Ok(rank_page(self.select(q), rank_by, offset, limit)),
        }
    }

    fn segment_summaries(&self) -> &[SegmentSummary] {
        &self.segments
    }

    fn filter_values(&self) -> &FilterValues {
        &self.values
    }

    fn customer_360(&self, customer_id: &str) -> Option<Record> {
        self.snap.customer_360(customer_id)
    }

    fn risk_band(&self, p: f64) -> RiskBand {
        self.snap.meta().config.risk_bands.band(p)
    }

    fn model(&self) -> Option<&ChurnModel> {
        self.model.as_ref()
    }
}

/// Builds snapshots from a warehouse directory and a registry (`churn serve`).
pub struct WarehouseLoader {
    pub data: PathBuf,
    pub models: PathBuf,
    /// Where the built snapshot is saved and looked for (`None` = never saved).
    pub snapshot_file: Option<PathBuf>,
    pub config: ScoringConfig,
}

impl WarehouseLoader {
    /// A loader with the default scoring configuration, saving to `<models>/snapshot.bin`.
    pub fn new(data: &Path, models: &Path) -> WarehouseLoader {
        WarehouseLoader {
            data: data.to_path_buf(),
            models: models.to_path_buf(),
            snapshot_file: Some(models.join("snapshot.bin")),
            config: ScoringConfig::default(),
        }
    }

    fn err(&self, e: ScoringError) -> ServeError {
        match e {
            ScoringError::NoChampion { .. } => ServeError::NoChampion {
                models: self.models.clone(),
            },
            other => ServeError::Snapshot {
                data: self.data.clone(),
                models: self.models.clone(),
                message: other.to_string(),
            },
        }
    }

    /// The version the configured alias points at (`None` when unset or no registry).
    fn model_version(&self) -> Option<String> {
        Registry::open(&self.models)
            .ok()
            .and_then(|r| r.resolve(&self.config.model).ok())
    }
}

impl SnapshotLoader for WarehouseLoader {
    fn fingerprint(&self) -> Result<String, ServeError> {
        let data = scoring::data_fingerprint(&self.data).map_err(|e| self.err(e))?;
        let model = self.model_version().unwrap_or_default();
        Ok(format!("{data}/{model}"))
    }

    fn load(&self) -> Result<Arc<dyn ScoreSource>, ServeError> {
        let (manifest, model) =
            scoring::load_champion(&self.models, &self.config.model).map_err(|e| self.err(e))?;
        let key = SnapshotKey {
            data_fingerprint: Some(scoring::data_fingerprint(&self.data).map_err(|e| self.err(e))?),
            model_version: manifest.version.clone(),
        };
        if let Some(path) = &self.snapshot_file {
            let same = Snapshot::read_meta(path)
                .map(|m| m.key == key && m.config == self.config)
                .unwrap_or(false);
            if same {
                match Snapshot::load(path) {
                    Ok(snap) => {
                        tracing::info!(path = %path.display(), "Loaded the saved snapshot");
                        return Ok(Arc::new(SnapshotSource::new(snap, Some(model))));
                    }
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "Saved snapshot unreadable; rebuilding")
                    }
                }
            }
        }
        let snap = Snapshot::build(&self.data, &self.models, &self.config, &mut |_, _, _| {})
            .map_err(|e| self.err(e))?;
        if snap.model().version != manifest.version {
            // The champion moved during the build: serve what was built, the next poll reloads.
            tracing::info!("The champion moved during the build; the next poll reloads");
        }
        if let Some(path) = &self.snapshot_file {
            if let Err(e) = snap.save(path) {
                tracing::warn!(path = %path.display(), error = %e, "Could not save the snapshot");
            }
        }
        let model = (snap.model().version == manifest.version).then_some(model);
        Ok(Arc::new(SnapshotSource::new(snap, model)))
    }
}
