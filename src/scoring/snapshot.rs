//! The snapshot: one [`CustomerScore`] per active customer sorted by `customer_id`, the
//! customer_360_view rows in the same order, the segmentation table, the model and the as-of
//! date. Queries (get, filter, prioritize) read it and never change it.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use polars::prelude::{AnyValue, DataFrame};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{
    Components, CustomerScore, Field, FieldValue, ModelInfo, Record, ScoringConfig, ScoringError,
};

/// What identifies the inputs of a snapshot: a server can reuse a saved snapshot when both
/// match the data and champion it would build from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SnapshotKey {
    /// [`super::data_fingerprint`] of the warehouse directory (`None` when built from an
    /// in-memory warehouse).
    pub data_fingerprint: Option<String>,
    /// The registry version scored with.
    pub model_version: String,
}

/// Wall time of each step of a build, in seconds.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct BuildTimings {
    pub load: f64,
    pub features: f64,
    pub model_load: f64,
    pub encode: f64,
    pub predict: f64,
    pub explain: f64,
    /// Ordering the rows by customer_id (no copy when already sorted).
    pub sort: f64,
    pub clv: f64,
    pub suggestions: f64,
    /// Expected uplift from the uplift model.
    pub uplift: f64,
    /// CLV and suggestions run side by side: the wall time of both.
    pub clv_and_suggestions: f64,
    pub assemble: f64,
    /// The scoring stage alone: from the features table + champion to the scored snapshot
    /// (sort + encode + predict + explain + clv ∥ suggestions + assemble).
    pub scoring_stage: f64,
    /// CPU seconds (all threads) the scoring stage used.
    pub scoring_stage_cpu: f64,
    /// CPU seconds of sort + encode + predict + explain.
    pub cpu_score: f64,
    /// CPU seconds of CLV and suggestions (run side by side).
    pub cpu_clv_and_suggestions: f64,
    /// CPU seconds of assembling the scores, rankings and filter values.
    pub cpu_assemble: f64,
    pub total: f64,
}

/// Everything about a snapshot except its rows (saved as the JSON header of the file).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SnapshotMeta {
    /// The features' as-of date (the warehouse's newest date).
    pub as_of: NaiveDate,
    pub model: ModelInfo,
    pub key: SnapshotKey,
    /// When the snapshot was built (UTC, RFC 3339).
    pub built_at: String,
    pub config: ScoringConfig,
    pub components: Components,
    /// How the reasons were computed: `linear` (logistic), `tree_shap` (exact) or `path`
    /// (path attribution, see [`super::ReasonMethod`]).
    #[serde(default)]
    pub reason_method: String,
    /// The uplift model behind `expected_uplift` (`None`: not estimated).
    #[serde(default)]
    pub uplift_model: Option<UpliftInfo>,
    pub customers: usize,
    pub timings: BuildTimings,
    /// The crate version that built it.
    pub crate_version: String,
}

/// Which uplift model a snapshot applied (see [`crate::campaigns::UpliftArtifact`]).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct UpliftInfo {
    pub campaign_type: String,
    /// When it was fitted: identifies it.
    pub fitted_at: String,
    pub observed_until: NaiveDate,
    /// Its family's Qini coefficient on held-out campaign rows.
    pub holdout_qini: f64,
}

impl UpliftInfo {
    pub fn of(a: &crate::campaigns::UpliftArtifact) -> Self {
        UpliftInfo {
            campaign_type: a.campaign_type.clone(),
            fitted_at: a.fitted_at.clone(),
            observed_until: a.observed_until,
            holdout_qini: a.holdout_qini,
        }
    }
}

/// What a prioritised list ranks by (descending; ties by `customer_id` ascending).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum RankBy {
    /// `churn_probability × clv`.
    ValueAtRisk,
    /// `expected_uplift × clv`: the value a retention offer is expected to save.
    ExpectedSavedValue,
    /// `churn_probability`.
    Risk,
}

impl RankBy {
    pub fn as_str(self) -> &'static str {
        match self {
            RankBy::ValueAtRisk => "value_at_risk",
            RankBy::ExpectedSavedValue => "expected_saved_value",
            RankBy::Risk => "risk",
        }
    }
}

/// Which customers a query returns. Every set field must match (AND); empty = everyone.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Filter {
    /// Only these customers (unknown ids are skipped; see [`Snapshot::unknown_ids`]).
    pub ids: Vec<String>,
    pub segment: Option<String>,
    pub region: Option<String>,
    /// Account manager id.
    pub manager: Option<String>,
    pub tier: Option<String>,
    /// Minimum calibrated churn probability (inclusive).
    pub min_risk: Option<f64>,
}

impl Filter {
    fn matches(&self, s: &CustomerScore) -> bool {
        self.segment.as_ref().is_none_or(|v| *v == s.segment)
            && self.region.as_ref().is_none_or(|v| *v == s.region)
            && self.tier.as_ref().is_none_or(|v| *v == s.tier)
            && self
                .manager
                .as_ref()
                .is_none_or(|v| s.account_manager_id.as_ref() == Some(v))
            && self.min_risk.is_none_or(|m| s.churn_probability >= m)
    }
}

/// One row of a prioritised list.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Ranked<'a> {
    /// 1-based position in the whole filtered ranking (not just this page).
    pub rank: usize,
    /// The ranking value (value at risk, expected saved value or risk).
    pub key: f64,
    pub score: &'a CustomerScore,
}

/// A page of a prioritised list.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Page<'a> {
    /// Customers matching the filter (all pages).
    pub total: usize,
    pub rows: Vec<Ranked<'a>>,
}

/// The immutable scored state the CLI and the server answer from.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub(crate) meta: SnapshotMeta,
    /// Sorted by customer_id (unique).
    pub(crate) scores: Vec<CustomerScore>,
    /// customer_360_view, row `i` = `scores[i]`.
    pub(crate) view_360: DataFrame,
    /// customer_segmentation_analysis at the as-of date.
    pub(crate) segmentation: DataFrame,
    /// Positions into `scores`, ranked by value at risk / expected saved value / risk.
    pub(crate) by_value_at_risk: Vec<u32>,
    pub(crate) by_saved_value: Vec<u32>,
    pub(crate) by_risk: Vec<u32>,
    pub(crate) segments: Vec<String>,
    pub(crate) regions: Vec<String>,
    pub(crate) managers: Vec<String>,
    pub(crate) tiers: Vec<String>,
}

/// Positions `0..n` sorted by `key` descending (NaN last), ties by position (= customer_id).
fn ranking(scores: &[CustomerScore], key: impl Fn(&CustomerScore) -> f64 + Sync) -> Vec<u32> {
    let keys: Vec<f64> = scores.par_iter().map(&key).collect();
    let mut order: Vec<u32> = (0..scores.len() as u32).collect();
    order.par_sort_unstable_by(|&a, &b| {
        let (ka, kb) = (keys[a as usize], keys[b as usize]);
        let ka = if ka.is_nan() { f64::NEG_INFINITY } else { ka };
        let kb = if kb.is_nan() { f64::NEG_INFINITY } else { kb };
        kb.total_cmp(&ka).then(a.cmp(&b))
    });
    order
}

fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    values
        .collect::<BTreeSet<&str>>()
        .into_iter()
        .map(str::to_string)
        .collect()
}

fn saved_value(s: &CustomerScore) -> f64 {
    s.expected_uplift.map_or(f64::NAN, |u| u * s.clv)
}

/// A polars value as a [`FieldValue`].
pub(crate) fn field_value(v: AnyValue<'_>) -> FieldValue {
    match v {
        AnyValue::Null => FieldValue::Null,
        AnyValue::Boolean(b) => FieldValue::Bool(b),
        AnyValue::String(s) => FieldValue::Text(s.to_string()),
        AnyValue::StringOwned(s) => FieldValue::Text(s.to_string()),
        AnyValue::Int8(i) => FieldValue::Int(i.into()),
        AnyValue::Int16(i) => FieldValue::Int(i.into()),
        AnyValue::Int32(i) => FieldValue::Int(i.into()),
        AnyValue::Int64(i) => FieldValue::Int(i),
        AnyValue::UInt8(i) => FieldValue::Int(i.into()),
        AnyValue::UInt16(i) => FieldValue::Int(i.into()),
        AnyValue::UInt32(i) => FieldValue::Int(i.into()),
        AnyValue::UInt64(i) => {
            i64::try_from(i).map_or(FieldValue::Number(i as f64), FieldValue::Int)
        }
        AnyValue::Float32(f) => FieldValue::Number(f.into()),
        AnyValue::Float64(f) if f.is_finite() => FieldValue::Number(f),
        AnyValue::Float64(_) => FieldValue::Null,
        AnyValue::Date(d) => NaiveDate::from_ymd_opt(1970, 1, 1)
            .and_then(|e| e.checked_add_signed(chrono::Duration::days(d.into())))
            .map_or(FieldValue::Null, FieldValue::Date),
        other => FieldValue::Text(other.to_string()),
    }
}

fn record(df: &DataFrame, row: usize) -> Option<Record> {
    let mut fields = Vec::with_capacity(df.width());
    for c in df.columns() {
        let v = c.get(row).ok()?;
        fields.push(Field {
            name: c.name().to_string(),
            value: field_value(v),
        });
    }
    Some(Record { fields })
}

impl Snapshot {
    /// Assembles a snapshot from its parts: sorts nothing (the caller passes `scores` sorted by
    /// unique customer_id and `view_360` in the same order) and builds the rankings and the
    /// distinct filter values.
    pub(crate) fn assemble(
        meta: SnapshotMeta,
        scores: Vec<CustomerScore>,
        view_360: DataFrame,
        segmentation: DataFrame,
    ) -> Snapshot {
        let by_value_at_risk = ranking(&scores, |s| s.value_at_risk);
        let by_saved_value = ranking(&scores, saved_value);
        let by_risk = ranking(&scores, |s| s.churn_probability);
        let segments = distinct(scores.iter().map(|s| s.segment.as_str()));
        let regions = distinct(scores.iter().map(|s| s.region.as_str()));
        let tiers = distinct(scores.iter().map(|s| s.tier.as_str()));
        let managers = distinct(
            scores
                .iter()
                .filter_map(|s| s.account_manager_id.as_deref()),
        );
        Snapshot {
            meta,
            scores,
            view_360,
            segmentation,
            by_value_at_risk,
            by_saved_value,
            by_risk,
            segments,
            regions,
            managers,
            tiers,
        }
    }

    pub fn meta(&self) -> &SnapshotMeta {
        &self.meta
    }

    /// The features' as-of date.
    pub fn as_of(&self) -> NaiveDate {
        self.meta.as_of
    }

    pub fn model(&self) -> &ModelInfo {
        &self.meta.model
    }

    /// The data fingerprint and model version this snapshot was built from.
    pub fn key(&self) -> &SnapshotKey {
        &self.meta.key
    }

    /// Which components (CLV, suggestions, uplift) were computed.
    pub fn components(&self) -> Components {
        self.meta.components
    }

    /// Every score, sorted by customer_id.
    pub fn scores(&self) -> &[CustomerScore] {
        &self.scores
    }

    pub fn len(&self) -> usize {
        self.scores.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.scores
            .binary_search_by(|s| s.customer_id.as_str().cmp(id))
            .ok()
    }

    /// One customer's score (binary search on customer_id).
    pub fn get(&self, id: &str) -> Option<&CustomerScore> {
        self.position(id).map(|i| &self.scores[i])
    }

    /// One customer's customer_360_view row.
    pub fn customer_360(&self, id: &str) -> Option<Record> {
        record(&self.view_360, self.position(id)?)
    }

    /// Column names of customer_360_view, in table order.
    pub fn customer_360_columns(&self) -> Vec<String> {
        self.view_360
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect()
    }

    /// The customer_360_view frame (row `i` belongs to `scores()[i]`).
    pub fn customer_360_frame(&self) -> &DataFrame {
        &self.view_360
    }

    /// The customer_segmentation_analysis rows (segment × tier) at the as-of date.
    pub fn segmentation(&self) -> Vec<Record> {
        (0..self.segmentation.height())
            .filter_map(|r| record(&self.segmentation, r))
            .collect()
    }

    pub fn segmentation_frame(&self) -> &DataFrame {
        &self.segmentation
    }

    /// Distinct segments of the scored customers, sorted.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    pub fn regions(&self) -> &[String] {
        &self.regions
    }

    /// Distinct account manager ids, sorted.
    pub fn managers(&self) -> &[String] {
        &self.managers
    }

    pub fn tiers(&self) -> &[String] {
        &self.tiers
    }

    /// The ids of `filter.ids` that are not in the snapshot, in the order given.
    pub fn unknown_ids<'a>(&self, filter: &'a Filter) -> Vec<&'a str> {
        filter
            .ids
            .iter()
            .filter(|id| self.position(id).is_none())
            .map(String::as_str)
            .collect()
    }

    /// An error naming the first filter value (segment, region, manager, tier) no customer
    /// has, or a min_risk outside [0, 1].
    pub fn validate_filter(&self, filter: &Filter) -> Result<(), ScoringError> {
        let checks: [(&'static str, &Option<String>, &[String]); 4] = [
            ("segment", &filter.segment, &self.segments),
            ("region", &filter.region, &self.regions),
            ("manager", &filter.manager, &self.managers),
            ("tier", &filter.tier, &self.tiers),
        ];
        for (field, value, known) in checks {
            if let Some(v) = value {
                if known.binary_search(v).is_err() {
                    let mut known = known.to_vec();
                    known.truncate(20);
                    return Err(ScoringError::UnknownFilterValue {
                        field,
                        value: v.clone(),
                        known,
                    });
                }
            }
        }
        if let Some(m) = filter.min_risk {
            if !(0.0..=1.0).contains(&m) {
                return Err(ScoringError::Config {
                    field: "min_risk",
                    value: m.to_string(),
                    expected: "a probability in [0, 1]",
                });
            }
        }
        Ok(())
    }

    /// Positions matching `filter`, ascending (= customer_id order).
    fn positions(&self, filter: &Filter) -> Vec<usize> {
        if filter.ids.is_empty() {
            (0..self.scores.len())
                .filter(|&i| filter.matches(&self.scores[i]))
                .collect()
        } else {
            let mut pos: Vec<usize> = filter
                .ids
                .iter()
                .filter_map(|id| self.position(id))
                .filter(|&i| filter.matches(&self.scores[i]))
                .collect();
            pos.sort_unstable();
            pos.dedup();
            pos
        }
    }

    /// The customers matching `filter`, in customer_id order (stable across calls and
    /// snapshots). Each id appears once even if repeated in `filter.ids`.
    pub fn filter(&self, filter: &Filter) -> Vec<&CustomerScore> {
        self.positions(filter)
            .into_iter()
            .map(|i| &self.scores[i])
            .collect()
    }

    /// The ranking key of a score.
    pub fn rank_key(rank_by: RankBy, s: &CustomerScore) -> f64 {
        match rank_by {
            RankBy::ValueAtRisk => s.value_at_risk,
            RankBy::ExpectedSavedValue => saved_value(s),
            RankBy::Risk => s.churn_probability,
        }
    }

    /// The customers matching `filter` ranked by `rank_by` descending (ties by customer_id),
    /// rows `offset .. offset + limit` of that ranking. Errors when the snapshot lacks the
    /// component the ranking needs (CLV for value at risk, uplift for expected saved value).
    pub fn prioritize(
        &self,
        filter: &Filter,
        rank_by: RankBy,
        offset: usize,
        limit: usize,
    ) -> Result<Page<'_>, ScoringError> {
        let c = self.meta.components;
        match rank_by {
            RankBy::ValueAtRisk if !c.clv => {
                return Err(ScoringError::RankUnavailable {
                    rank_by: rank_by.as_str(),
                    reason: "this snapshot has no CLV",
                })
            }
            RankBy::ExpectedSavedValue if !(c.clv && c.uplift) => {
                return Err(ScoringError::RankUnavailable {
                    rank_by: rank_by.as_str(),
                    reason: "this snapshot has no uplift estimates (or no CLV); `churn campaigns --data DIR --models DIR` fits and saves an uplift model from the campaign history",
                })
            }
            _ => {}
        }
        let order = match rank_by {
            RankBy::ValueAtRisk => &self.by_value_at_risk,
            RankBy::ExpectedSavedValue => &self.by_saved_value,
            RankBy::Risk => &self.by_risk,
        };
        let ranked = |i: usize, pos: u32| {
            let score = &self.scores[pos as usize];
            Ranked {
                rank: i + 1,
                key: Self::rank_key(rank_by, score),
                score,
            }
        };
        if filter.ids.is_empty() {
            let mut total = 0;
            let mut rows = Vec::with_capacity(limit.min(1024));
            for &pos in order {
                if filter.matches(&self.scores[pos as usize]) {
                    if total >= offset && rows.len() < limit {
                        rows.push(ranked(total, pos));
                    }
                    total += 1;
                }
            }
            return Ok(Page { total, rows });
        }
        // A list of ids: rank just those (their keys, then customer_id).
        let mut pos = self.positions(filter);
        pos.sort_by(|&a, &b| {
            let key = |i: usize| {
                let k = Self::rank_key(rank_by, &self.scores[i]);
                if k.is_nan() {
                    f64::NEG_INFINITY
                } else {
                    k
                }
            };
            key(b).total_cmp(&key(a)).then(a.cmp(&b))
        });
        let total = pos.len();
        let rows = pos
            .into_iter()
            .enumerate()
            .skip(offset)
            .take(limit)
            .map(|(i, p)| ranked(i, p as u32))
            .collect();
        Ok(Page { total, rows })
    }
}
