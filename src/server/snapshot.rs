//! The scoring stage's [`Snapshot`] as a [`ScoreSource`], and the loader `churn serve` uses:
//! it fingerprints the warehouse files and the registry's champion pointer, and builds a
//! snapshot — or loads the saved one whose key (data fingerprint + model version) matches, so a
//! restart with unchanged inputs skips the feature build.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;

use crate::campaigns::UpliftArtifact;
use crate::registry::Registry;
use crate::scoring::{
    self, Components, CustomerScore, Filter, ModelInfo, Record, RiskBand, ScoringConfig,
    ScoringError, Snapshot, SnapshotKey,
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
    index: IdIndex,
}

/// Customer id → position in `Snapshot::scores()`: an open-addressing hash table of positions
/// (4 bytes a slot, at most 2/3 full; 8 MB at 1M customers). The snapshot's own look-up is a
/// binary search whose ~20 probes each touch a different score and its id string (two cache
/// misses a probe): at 64 concurrent ScoreCustomer calls it was the server's largest cost.
/// Here one hash, usually one slot and one id comparison.
struct IdIndex {
    slots: Vec<u32>,
    mask: usize,
    hasher: std::collections::hash_map::RandomState,
}

const EMPTY: u32 = u32::MAX;

impl IdIndex {
    fn new(scores: &[CustomerScore]) -> IdIndex {
        use std::hash::BuildHasher;
        let n = scores.len().min(EMPTY as usize - 1);
        let size = (n + n / 2).max(8).next_power_of_two();
        let mut index = IdIndex {
            slots: vec![EMPTY; size],
            mask: size - 1,
            hasher: std::collections::hash_map::RandomState::new(),
        };
        for (i, s) in scores.iter().enumerate().take(n) {
            let mut slot = index.hasher.hash_one(s.customer_id.as_str()) as usize & index.mask;
            loop {
                match index.slots[slot] {
                    EMPTY => {
                        index.slots[slot] = i as u32;
                        break;
                    }
                    // A repeated id keeps its first position (as the binary search would find
                    // one of them; ids are unique in a snapshot).
                    j if scores[j as usize].customer_id == s.customer_id => break,
                    _ => slot = (slot + 1) & index.mask,
                }
            }
        }
        index
    }

    fn get<'a>(&self, scores: &'a [CustomerScore], id: &str) -> Option<&'a CustomerScore> {
        use std::hash::BuildHasher;
        let mut slot = self.hasher.hash_one(id) as usize & self.mask;
        loop {
            match self.slots[slot] {
                EMPTY => return None,
                i => {
                    let s = scores.get(i as usize)?;
                    if s.customer_id == id {
                        return Some(s);
                    }
                }
            }
            slot = (slot + 1) & self.mask;
        }
    }
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
        let index = IdIndex::new(snap.scores());
        SnapshotSource {
            snap,
            model,
            values,
            segments,
            index,
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
        self.index.get(self.snap.scores(), customer_id)
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

    fn components(&self) -> Components {
        self.snap.components()
    }

    fn reason_method(&self) -> &str {
        &self.snap.meta().reason_method
    }

    fn uplift_fitted_at(&self) -> Option<&str> {
        self.snap
            .meta()
            .uplift_model
            .as_ref()
            .map(|u| u.fitted_at.as_str())
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
        // A newly saved (or removed) uplift model rebuilds the snapshot too: its file's size
        // and modification time, without parsing it on every poll.
        let uplift = std::fs::metadata(UpliftArtifact::path(&self.models))
            .ok()
            .map(|m| {
                let modified = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                format!("{}-{modified}", m.len())
            })
            .unwrap_or_else(|| "none".into());
        Ok(format!("{data}/{model}/{uplift}"))
    }

    fn load(&self) -> Result<Arc<dyn ScoreSource>, ServeError> {
        let (manifest, model) =
            scoring::load_champion(&self.models, &self.config.model).map_err(|e| self.err(e))?;
        let key = SnapshotKey {
            data_fingerprint: Some(scoring::data_fingerprint(&self.data).map_err(|e| self.err(e))?),
            model_version: manifest.version.clone(),
        };
        if let Some(path) = &self.snapshot_file {
            // The saved snapshot must also have applied the registry's current uplift model
            // (or none, when there is none); an unreadable uplift file rebuilds, and the build
            // reports it.
            let uplift = UpliftArtifact::load(&self.models)
                .map(|a| a.map(|a| a.fitted_at))
                .map_err(|_| ());
            let same = Snapshot::read_meta(path)
                .map(|m| {
                    m.key == key
                        && m.config == self.config
                        && uplift == Ok(m.uplift_model.map(|u| u.fitted_at))
                })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::RiskBand;

    fn score(id: &str) -> CustomerScore {
        CustomerScore {
            customer_id: id.to_string(),
            segment: "consumer".into(),
            region: "north".into(),
            account_manager_id: None,
            tier: "basic".into(),
            churn_probability: 0.5,
            risk_band: RiskBand::Medium,
            reasons: Vec::new(),
            clv: 100.0,
            value_at_risk: 50.0,
            expected_uplift: None,
            next_best_products: Vec::new(),
            action: String::new(),
        }
    }

    #[test]
    fn the_id_index_finds_every_customer_and_nothing_else() {
        // 1,000 ids in a 2,048-slot table: collisions happen and are probed past.
        let scores: Vec<CustomerScore> = (0..1000).map(|i| score(&format!("C{i:07}"))).collect();
        let index = IdIndex::new(&scores);
        assert_eq!(index.slots.len(), 2048);
        for s in &scores {
            let found = index
                .get(&scores, &s.customer_id)
                .map(|f| f.customer_id.as_str());
            assert_eq!(found, Some(s.customer_id.as_str()));
        }
        assert!(index.get(&scores, "C0001000").is_none());
        assert!(index.get(&scores, "").is_none());
        assert!(index.get(&scores, "C000000").is_none());
        let empty = IdIndex::new(&[]);
        assert!(empty.get(&[], "C0000001").is_none());
    }
}
