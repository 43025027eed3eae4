//! What the server reads: a [`ScoreSource`] — one immutable scoring snapshot (scores of every
//! active customer, the customer-360 rows, the champion model for what-if scoring). The gRPC
//! layer only ever holds an `Arc<dyn ScoreSource>`, so it can be tested with the in-memory
//! [`MemorySource`] and served from the scoring stage's snapshot alike.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;

use crate::scoring::{Components, CustomerScore, ModelInfo, Record, RiskBand};
use crate::server::error::ApiError;
use crate::training::models::ChurnModel;

/// Narrows a set of customers: empty lists mean "any", values within a list are OR-ed, the
/// fields are AND-ed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Query {
    pub segments: Vec<String>,
    pub regions: Vec<String>,
    pub account_managers: Vec<String>,
    pub tiers: Vec<String>,
    pub min_churn_probability: Option<f64>,
}

impl Query {
    /// Whether `s` passes every condition.
    pub fn matches(&self, s: &CustomerScore) -> bool {
        fn any_of(list: &[String], v: &str) -> bool {
            list.is_empty() || list.iter().any(|x| x == v)
        }
        any_of(&self.segments, &s.segment)
            && any_of(&self.regions, &s.region)
            && (self.account_managers.is_empty()
                || s.account_manager_id
                    .as_deref()
                    .is_some_and(|m| any_of(&self.account_managers, m)))
            && any_of(&self.tiers, &s.tier)
            && self
                .min_churn_probability
                .is_none_or(|p| s.churn_probability >= p)
    }
}

/// What a prioritised list is ranked by (descending; ties by customer id). The same keys as
/// `churn prioritize` (the scoring stage's `RankBy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RankBy {
    /// churn_probability × clv.
    #[default]
    ValueAtRisk,
    /// expected_uplift × clv (customers without an uplift estimate last).
    ExpectedSavedValue,
    /// churn_probability.
    ChurnProbability,
}

impl RankBy {
    /// The ranking key of `s` (higher ranks first; NaN counts as −∞).
    pub fn key(self, s: &CustomerScore) -> f64 {
        let k = match self {
            RankBy::ValueAtRisk => s.value_at_risk,
            RankBy::ExpectedSavedValue => {
                s.expected_uplift.map_or(f64::NEG_INFINITY, |u| u * s.clv)
            }
            RankBy::ChurnProbability => s.churn_probability,
        };
        if k.is_nan() {
            f64::NEG_INFINITY
        } else {
            k
        }
    }
}

/// Aggregates of one segment of a snapshot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SegmentSummary {
    pub segment: String,
    pub customers: u64,
    pub mean_churn_probability: f64,
    /// Customers in the high or critical band.
    pub high_risk_customers: u64,
    pub total_clv: f64,
    pub total_value_at_risk: f64,
}

/// One [`SegmentSummary`] per segment of `scores`, by segment name.
pub fn summarize_segments<'a>(
    scores: impl IntoIterator<Item = &'a CustomerScore>,
) -> Vec<SegmentSummary> {
    let mut by: BTreeMap<&str, SegmentSummary> = BTreeMap::new();
    for s in scores {
        let e = by.entry(s.segment.as_str()).or_default();
        e.customers += 1;
        e.mean_churn_probability += s.churn_probability;
        if matches!(s.risk_band, RiskBand::High | RiskBand::Critical) {
            e.high_risk_customers += 1;
        }
        e.total_clv += s.clv;
        e.total_value_at_risk += s.value_at_risk;
    }
    by.into_iter()
        .map(|(name, mut e)| {
            e.segment = name.to_string();
            e.mean_churn_probability /= e.customers.max(1) as f64;
            e
        })
        .collect()
}

/// The values each filter field accepts, sorted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FilterValues {
    pub segments: Vec<String>,
    pub regions: Vec<String>,
    pub account_managers: Vec<String>,
    pub tiers: Vec<String>,
}

impl FilterValues {
    /// The distinct values found in `scores`.
    pub fn of<'a>(scores: impl IntoIterator<Item = &'a CustomerScore>) -> FilterValues {
        let (mut seg, mut reg, mut man, mut tier) = (
            BTreeSet::new(),
            BTreeSet::new(),
            BTreeSet::new(),
            BTreeSet::new(),
        );
        for s in scores {
            seg.insert(s.segment.as_str());
            reg.insert(s.region.as_str());
            if let Some(m) = &s.account_manager_id {
                man.insert(m.as_str());
            }
            tier.insert(s.tier.as_str());
        }
        let own = |set: BTreeSet<&str>| set.into_iter().map(str::to_string).collect();
        FilterValues {
            segments: own(seg),
            regions: own(reg),
            account_managers: own(man),
            tiers: own(tier),
        }
    }
}

/// One immutable scoring snapshot, as the server reads it.
pub trait ScoreSource: Send + Sync + 'static {
    /// The model the snapshot was scored with.
    fn model_info(&self) -> &ModelInfo;
    /// The features' as-of date.
    fn as_of(&self) -> NaiveDate;
    /// Number of scored customers.
    fn customers(&self) -> usize;
    /// One customer's score.
    fn get(&self, customer_id: &str) -> Option<&CustomerScore>;
    /// Every customer matching `q`, in the snapshot's stable order.
    fn select(&self, q: &Query) -> Vec<&CustomerScore>;
    /// The customers matching `q` ranked by `rank_by`, rows `offset..offset + limit`, and the
    /// number of matching customers. Errors when the snapshot lacks what `rank_by` needs.
    fn prioritize(
        &self,
        q: &Query,
        rank_by: RankBy,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<&CustomerScore>, usize), ApiError>;
    /// Per-segment aggregates, by segment name.
    fn segment_summaries(&self) -> &[SegmentSummary];
    /// The values each filter field accepts.
    fn filter_values(&self) -> &FilterValues;
    /// The customer-360 row of one customer, in column order.
    fn customer_360(&self, customer_id: &str) -> Option<Record>;
    /// The risk band of probability `p` under the snapshot's thresholds.
    fn risk_band(&self, p: f64) -> RiskBand;
    /// The champion model, for what-if scoring (`None` when the snapshot was loaded without it).
    fn model(&self) -> Option<&ChurnModel>;
    /// Which components the snapshot holds (CLV, suggestions, expected uplift). Default: none
    /// declared.
    fn components(&self) -> Components {
        Components::default()
    }
    /// How the reasons were computed (`linear`, `tree_shap`, `path`; empty when unknown).
    fn reason_method(&self) -> &str {
        ""
    }
    /// When the uplift model behind `expected_uplift` was fitted (`None` without one).
    fn uplift_fitted_at(&self) -> Option<&str> {
        None
    }
}

/// The scoring stage's default bands: medium from 0.10, high from 0.25, critical from 0.50.
pub fn default_band(p: f64) -> RiskBand {
    if p >= 0.50 {
        RiskBand::Critical
    } else if p >= 0.25 {
        RiskBand::High
    } else if p >= 0.10 {
        RiskBand::Medium
    } else {
        RiskBand::Low
    }
}

/// Ranks `matching` by `rank_by` (descending, ties by customer id) and cuts one page.
pub fn rank_page(
    mut matching: Vec<&CustomerScore>,
    rank_by: RankBy,
    offset: usize,
    limit: usize,
) -> (Vec<&CustomerScore>, usize) {
    let total = matching.len();
    matching.sort_by(|a, b| {
        rank_by
            .key(b)
            .total_cmp(&rank_by.key(a))
            .then_with(|| a.customer_id.cmp(&b.customer_id))
    });
    let page = matching.into_iter().skip(offset).take(limit).collect();
    (page, total)
}

/// A snapshot held in memory: scores in a given order, indexed by id; optional customer-360
/// rows and model. Tests use it directly; any scores can be served through it.
pub struct MemorySource {
    info: ModelInfo,
    as_of: NaiveDate,
    scores: Vec<CustomerScore>,
    index: HashMap<String, usize>,
    values: FilterValues,
    segments: Vec<SegmentSummary>,
    rows_360: HashMap<String, Record>,
    model: Option<ChurnModel>,
}

impl MemorySource {
    /// A snapshot of `scores` (served in this order) scored by `info`'s model as of `as_of`.
    /// A repeated customer id keeps its first score.
    pub fn new(info: ModelInfo, as_of: NaiveDate, scores: Vec<CustomerScore>) -> MemorySource {
        let mut index = HashMap::with_capacity(scores.len());
        for (i, s) in scores.iter().enumerate() {
            index.entry(s.customer_id.clone()).or_insert(i);
        }
        let values = FilterValues::of(&scores);
        let segments = summarize_segments(&scores);
        MemorySource {
            info,
            as_of,
            scores,
            index,
            values,
            segments,
            rows_360: HashMap::new(),
            model: None,
        }
    }

    /// Adds the champion model (enables ScoreFeatures).
    pub fn with_model(mut self, model: ChurnModel) -> MemorySource {
        self.model = Some(model);
        self
    }

    /// Adds customer-360 rows, keyed by customer id.
    pub fn with_customer_360(mut self, rows: HashMap<String, Record>) -> MemorySource {
        self.rows_360 = rows;
        self
    }

    /// The scores, in serving order.
    pub fn scores(&self) -> &[CustomerScore] {
        &self.scores
    }
}

impl ScoreSource for MemorySource {
    fn model_info(&self) -> &ModelInfo {
        &self.info
    }

    fn as_of(&self) -> NaiveDate {
        self.as_of
    }

    fn customers(&self) -> usize {
        self.scores.len()
    }

    fn get(&self, customer_id: &str) -> Option<&CustomerScore> {
        self.index.get(customer_id).map(|&i| &self.scores[i])
    }

    fn select(&self, q: &Query) -> Vec<&CustomerScore> {
        self.scores.iter().filter(|s| q.matches(s)).collect()
    }

    fn prioritize(
        &self,
        q: &Query,
        rank_by: RankBy,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<&CustomerScore>, usize), ApiError> {
        Ok(rank_page(self.select(q), rank_by, offset, limit))
    }

    fn segment_summaries(&self) -> &[SegmentSummary] {
        &self.segments
    }

    fn filter_values(&self) -> &FilterValues {
        &self.values
    }

    fn customer_360(&self, customer_id: &str) -> Option<Record> {
        self.rows_360.get(customer_id).cloned()
    }

    fn risk_band(&self, p: f64) -> RiskBand {
        default_band(p)
    }

    fn model(&self) -> Option<&ChurnModel> {
        self.model.as_ref()
    }
}
