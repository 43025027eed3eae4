//! Campaigns stage (retention effectiveness): takes a validated [`Warehouse`] and returns, per
//! campaign in fact_campaign_target, treatment vs control 90-day churn, the uplift (control −
//! treatment churn) with a 95% Newcombe hybrid-score interval, customers saved and the response
//! rate; uplift by churn-risk decile; and an uplift model ([`uplift::UpliftModel`], a T-learner
//! over `churn_prediction_features` as of the day before each target date) evaluated on
//! held-out campaign rows with a Qini curve and uplift@k, which gives every active customer an
//! expected churn reduction from a retention offer ([`uplift::UpliftModel::expected_uplift`]).
//!
//! 90-day churn of a target: `churn_date ∈ [target_date, target_date + 90)`, i.e. the
//! `churned_90d` label of the features as of `target_date − 1`. A campaign whose window ends
//! after the export is reported with `observed = false` and no churn figures.

pub mod artifact;
pub mod stats;
pub mod uplift;

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::features::FeatureError;
use crate::training::models::ChurnModel;
use crate::warehouse::{Table, Warehouse};

pub use artifact::{ArtifactError, UpliftArtifact, UPLIFT_FILE};
pub use stats::{campaign_stats, newcombe_interval, CampaignStats};
pub use uplift::{QiniPoint, UpliftAtK, UpliftData, UpliftEvaluation, UpliftModel};

/// A failure of the campaigns stage.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error("{table}: column `{column}` cannot be read: {problem}")]
    Column {
        table: Table,
        column: &'static str,
        problem: String,
    },
    #[error("features for campaign targets: {0}")]
    Features(#[from] FeatureError),
    #[error("churn_prediction_features: column `{column}`: {problem}")]
    FeatureColumn { column: String, problem: String },
    #[error(
        "uplift model: {group} group has {rows} observed rows with {churners} churners; \
         at least {needed} rows with both outcomes are needed"
    )]
    TooFewRows {
        group: &'static str,
        rows: usize,
        churners: usize,
        needed: usize,
    },
    #[error("uplift model: fitting the {group} logistic regression failed: {message}")]
    Fit {
        group: &'static str,
        message: String,
    },
    #[error("{0}")]
    NoUpliftModel(String),
    #[error("scoring campaign rows with the risk model: {0}")]
    RiskModel(String),
    #[error("invalid campaigns setting `{name}` = {value}: {reason}")]
    InvalidConfig {
        name: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("the warehouse is empty: no date the export covers")]
    EmptyWarehouse,
}

/// Column `column` of a `table` frame as the typed array `typed` returns (e.g. `|c| c.str()`),
/// with the table and column in the error.
pub(crate) fn typed_column<'a, T: ?Sized>(
    df: &'a polars::prelude::DataFrame,
    table: Table,
    column: &'static str,
    typed: impl FnOnce(&'a polars::prelude::Column) -> polars::prelude::PolarsResult<&'a T>,
) -> Result<&'a T, CampaignError> {
    df.column(column)
        .and_then(typed)
        .map_err(|e| CampaignError::Column {
            table,
            column,
            problem: e.to_string(),
        })
}

/// Settings of the campaigns analysis. Every field has a default.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CampaignConfig {
    /// Campaign type whose rows train the uplift model and feed the decile table; defaults to
    /// `"retention"`.
    pub campaign_type: String,
    /// Share of customers whose campaign rows are held out to evaluate the uplift model;
    /// defaults to `0.3`.
    pub holdout_share: f64,
    /// Seed of the held-out split; defaults to `42`.
    pub seed: u64,
    /// L2 penalty (smartcore `alpha`, on standardised features) of both logistic regressions;
    /// defaults to `10.0`.
    pub l2: f64,
}

impl Default for CampaignConfig {
    fn default() -> Self {
        CampaignConfig {
            campaign_type: "retention".into(),
            holdout_share: 0.3,
            seed: 42,
            l2: 10.0,
        }
    }
}

impl CampaignConfig {
    pub fn validate(&self) -> Result<(), CampaignError> {
        if !(self.holdout_share > 0.0 && self.holdout_share < 1.0) {
            return Err(CampaignError::InvalidConfig {
                name: "holdout_share",
                value: self.holdout_share.to_string(),
                reason: "a share strictly between 0 and 1",
            });
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return Err(CampaignError::InvalidConfig {
                name: "l2",
                value: self.l2.to_string(),
                reason: "a finite number ≥ 0",
            });
        }
        Ok(())
    }
}

/// Uplift among the targets of one churn-risk decile (1 = lowest risk).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DecileUplift {
    pub decile: usize,
    pub rows: usize,
    pub mean_risk: f64,
    pub treated: usize,
    pub control: usize,
    pub treated_churn: f64,
    pub control_churn: f64,
    /// control − treated churn.
    pub uplift: f64,
}

/// Everything `churn campaigns` reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CampaignReport {
    /// Last date the export covers (churn is observed up to it).
    pub observed_until: NaiveDate,
    /// One row per campaign, by target date then id.
    pub campaigns: Vec<CampaignStats>,
    /// All observed campaigns of each type pooled (`campaign_id` = `all <type>`).
    pub pooled: Vec<CampaignStats>,
    /// Where the decile risk comes from: `champion <version>` or the proxy.
    pub risk_source: String,
    pub deciles: Vec<DecileUplift>,
    /// The uplift model's held-out evaluation; `None` when the history cannot support one
    /// (see `uplift_model_unavailable`).
    pub uplift_model: Option<UpliftEvaluation>,
    /// Why there is no uplift model (too few treated or control rows, no campaign of the
    /// type analysed, a fit that failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uplift_model_unavailable: Option<String>,
}

/// Per-campaign statistics, risk deciles and the uplift model's held-out evaluation. With
/// `risk_model` (the champion), deciles use its calibrated risk; otherwise the proxy: the
/// uplift model's control-group churn model (predicted 90-day churn without an offer). When the
/// history cannot support an uplift model (too few treated or control rows with both outcomes)
/// the model is `None` and the report says why; the per-campaign statistics remain.
pub fn analyse(
    wh: &Warehouse,
    cfg: &CampaignConfig,
    risk_model: Option<(&str, &ChurnModel)>,
) -> Result<(CampaignReport, Option<UpliftModel>), CampaignError> {
    cfg.validate()?;
    let observed_until = wh.observed_until().ok_or(CampaignError::EmptyWarehouse)?;
    let campaigns = campaign_stats(wh, observed_until)?;
    let pooled = stats::pooled(&campaigns);
    let data = UpliftData::build(wh, &cfg.campaign_type, observed_until)?;
    // Too little treatment/control history is a finding, not a failure: the per-campaign
    // statistics still stand, the report says why there is no uplift model.
    let fitted = uplift::evaluate(&data, cfg).and_then(|evaluation| {
        let all: Vec<usize> = (0..data.len()).collect();
        Ok((evaluation, UpliftModel::fit_rows(&data, &all, cfg)?))
    });
    let (evaluation, model, unavailable) = match fitted {
        Ok((e, m)) => (Some(e), Some(m), None),
        Err(e @ (CampaignError::TooFewRows { .. } | CampaignError::Fit { .. })) => {
            (None, None, Some(e.to_string()))
        }
        Err(e) => return Err(e),
    };
    let (risk, risk_source) = match (risk_model, &model) {
        (_, _) if data.is_empty() => (
            Vec::new(),
            format!("no observed {} campaign rows", cfg.campaign_type),
        ),
        (Some((version, m)), _) => (
            m.predict_table(&data.frame)
                .map_err(|e| CampaignError::RiskModel(e.to_string()))?,
            format!("champion {version}"),
        ),
        (None, Some(model)) => (
            model
                .predict(&data.x, data.width)
                .iter()
                .map(|p| p.1)
                .collect(),
            "proxy: the uplift model's control-group churn model (predicted 90-day churn \
             without an offer)"
                .to_string(),
        ),
        (None, None) => (
            Vec::new(),
            "none: no champion given (--models) and no uplift model to stand in".to_string(),
        ),
    };
    let deciles = risk_deciles(&data, &risk);
    Ok((
        CampaignReport {
            observed_until,
            campaigns,
            pooled,
            risk_source,
            deciles,
            uplift_model: evaluation,
            uplift_model_unavailable: unavailable,
        },
        model,
    ))
}

/// Uplift per decile of `risk` over the rows of `data`.
/// Empty when `risk` does not cover every row (no risk source).
pub fn risk_deciles(data: &UpliftData, risk: &[f64]) -> Vec<DecileUplift> {
    if risk.len() != data.len() {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.sort_by(|&a, &b| risk[a].total_cmp(&risk[b]).then(a.cmp(&b)));
    let n = order.len();
    (0..10)
        .filter_map(|k| {
            let rows = &order[k * n / 10..(k + 1) * n / 10];
            if rows.is_empty() {
                return None;
            }
            let mut t = [0usize; 4];
            let mut risk_sum = 0.0;
            for &i in rows {
                let base = if data.treated[i] { 0 } else { 2 };
                t[base] += 1;
                t[base + 1] += data.churned[i] as usize;
                risk_sum += risk[i];
            }
            let rate = |c: usize, n: usize| if n > 0 { c as f64 / n as f64 } else { f64::NAN };
            let (tc, cc) = (rate(t[1], t[0]), rate(t[3], t[2]));
            Some(DecileUplift {
                decile: k + 1,
                rows: rows.len(),
                mean_risk: risk_sum / rows.len() as f64,
                treated: t[0],
                control: t[2],
                treated_churn: tc,
                control_churn: cc,
                uplift: cc - tc,
            })
        })
        .collect()
}

/// Expected churn reduction from a retention offer for every customer active at `as_of`
/// (customer_id → control − treated predicted 90-day churn; negative = the offer is expected
/// to backfire). Builds the features as of `as_of` itself; the scoring stage, which already
/// has them, calls [`UpliftModel::expected_uplift`] directly.
pub fn expected_uplift(
    wh: &Warehouse,
    as_of: NaiveDate,
    model: &UpliftModel,
) -> Result<HashMap<String, f64>, CampaignError> {
    let features = crate::features::churn_prediction_features(wh, &[as_of], None)?;
    model.expected_uplift(&features)
}
