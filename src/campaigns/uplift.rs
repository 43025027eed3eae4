//! The uplift model: a two-model (T-learner) estimate of each customer's churn reduction from a
//! retention offer.
//!
//! Rows are the campaign targets of one type (retention) whose 90-day window is observed;
//! features are `churn_prediction_features` as of the day before the target date (the state
//! the campaign saw). Two smartcore logistic regressions (L2-penalised, standardised features,
//! missing values imputed by the training mean) estimate 90-day churn for treated rows (μ₁) and
//! for control rows (μ₀); the expected uplift of a customer is μ₀(x) − μ₁(x).
//!
//! Evaluation holds out the rows of a seeded share of customers, ranks them by predicted uplift
//! and compares treated with control churn down the ranking: the Qini curve
//! `Q(n) = C_c(n)·N_t(n)/N_c(n) − C_t(n)` (churners saved among the top n treated, control
//! churn rate scaled to the treated count), the Qini coefficient (mean over n of
//! `(Q(n) − n/N·Q(N)) / N_t`, the area between the model's curve and random targeting in units
//! of "share of treated customers saved"), and uplift@k (control − treated churn in the top
//! k%).

use std::collections::HashMap;

use chrono::NaiveDate;
use polars::prelude::{DataFrame, IdxCa, IdxSize, NamedFrom};
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};

use super::{typed_column, CampaignConfig, CampaignError};
use crate::features::columns::{AS_OF_DATE, CHURNED_90D, CUSTOMER_ID, FEATURES};
use crate::recommend::data::{date_of, day};
use crate::training::models::ChurnModel;
use crate::warehouse::schema::campaign;
use crate::warehouse::Warehouse;

/// Rows a group needs, with at least [`MIN_EVENTS`] of each outcome.
const MIN_ROWS: usize = 20;
const MIN_EVENTS: usize = 3;

/// Observed campaign targets with their features and outcome.
#[derive(Debug, Clone)]
pub struct UpliftData {
    pub customer: Vec<String>,
    pub target_date: Vec<NaiveDate>,
    pub treated: Vec<bool>,
    pub churned: Vec<bool>,
    /// Row-major feature matrix, `width` columns (NaN = missing).
    pub x: Vec<f64>,
    pub width: usize,
    pub feature_names: Vec<String>,
    /// The feature rows in the same order (to score them with another model).
    pub frame: DataFrame,
}

fn feature_err(column: &str, e: impl std::fmt::Display) -> CampaignError {
    CampaignError::FeatureColumn {
        column: column.to_string(),
        problem: e.to_string(),
    }
}

/// The FEATURES columns of a churn_prediction_features frame, row-major (NaN = null).
pub(super) fn feature_matrix(df: &DataFrame, names: &[String]) -> Result<Vec<f64>, CampaignError> {
    let width = names.len();
    let mut x = vec![f64::NAN; df.height() * width];
    for (j, name) in names.iter().enumerate() {
        let col = df
            .column(name)
            .and_then(|c| c.f64())
            .map_err(|e| feature_err(name, e))?;
        for (i, v) in col.iter().enumerate() {
            if let Some(v) = v {
                x[i * width + j] = v;
            }
        }
    }
    Ok(x)
}

impl UpliftData {
    /// The observed targets of campaigns of type `kind`.
    pub fn build(
        wh: &Warehouse,
        kind: &str,
        observed_until: NaiveDate,
    ) -> Result<Self, CampaignError> {
        let df = &wh.campaigns;
        let t = crate::warehouse::Table::CampaignTarget;
        let s = |c: &'static str| typed_column(df, t, c, |x| x.str());
        let (cust, kinds, group) = (
            s(campaign::CUSTOMER_ID)?,
            s(campaign::CAMPAIGN_TYPE)?,
            s(campaign::TREATMENT_GROUP)?,
        );
        let target = typed_column(df, t, campaign::TARGET_DATE, |c| c.date())?;
        let until = day(observed_until);
        // (customer, as-of day, treated) of each usable target row.
        let mut rows: Vec<(&str, i32, bool)> = Vec::new();
        for i in 0..df.height() {
            let (Some(c), Some(k), Some(g), Some(td)) =
                (cust.get(i), kinds.get(i), group.get(i), target.phys.get(i))
            else {
                continue;
            };
            if k == kind && td - 1 + super::stats::HORIZON_DAYS <= until {
                rows.push((c, td - 1, g != "control"));
            }
        }
        let mut dates: Vec<i32> = rows.iter().map(|r| r.1).collect();
        dates.sort_unstable();
        dates.dedup();
        let feature_names: Vec<String> = FEATURES.iter().map(|s| s.to_string()).collect();
        let width = feature_names.len();
        let empty = UpliftData {
            customer: vec![],
            target_date: vec![],
            treated: vec![],
            churned: vec![],
            x: vec![],
            width,
            feature_names: feature_names.clone(),
            frame: DataFrame::empty(),
        };
        if dates.is_empty() {
            return Ok(empty);
        }
        let as_of: Vec<NaiveDate> = dates.iter().map(|&d| date_of(d)).collect();
        let features =
            crate::features::churn_prediction_features(wh, &as_of, Some(observed_until))?;
        let ids = features
            .column(CUSTOMER_ID)
            .and_then(|c| c.str())
            .map_err(|e| feature_err(CUSTOMER_ID, e))?;
        let at = features
            .column(AS_OF_DATE)
            .and_then(|c| c.date())
            .map_err(|e| feature_err(AS_OF_DATE, e))?;
        let label = features
            .column(CHURNED_90D)
            .and_then(|c| c.cast(&polars::prelude::DataType::Int32))
            .map_err(|e| feature_err(CHURNED_90D, e))?;
        let label = label.i32().map_err(|e| feature_err(CHURNED_90D, e))?;
        let mut index: HashMap<(&str, i32), usize> = HashMap::with_capacity(features.height());
        for (i, (id, d)) in ids.iter().zip(at.phys.iter()).enumerate() {
            if let (Some(id), Some(d)) = (id, d) {
                index.insert((id, d), i);
            }
        }
        let mut take: Vec<IdxSize> = Vec::new();
        let mut out = empty;
        for (c, d, treated) in rows {
            let Some(&i) = index.get(&(c, d)) else {
                continue;
            };
            let Some(y) = label.get(i) else { continue };
            take.push(i as IdxSize);
            out.customer.push(c.to_string());
            out.target_date.push(date_of(d + 1));
            out.treated.push(treated);
            out.churned.push(y == 1);
        }
        let idx = IdxCa::new("row".into(), take);
        out.frame = features.take(&idx).map_err(|e| feature_err("take", e))?;
        out.x = feature_matrix(&out.frame, &out.feature_names)?;
        Ok(out)
    }

    pub fn len(&self) -> usize {
        self.customer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.customer.is_empty()
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.width..(i + 1) * self.width]
    }
}

/// A logistic regression on standardised features (weights in standardised units).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Logit {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    pub weights: Vec<f64>,
    pub intercept: f64,
}

impl Logit {
    fn fit(
        data: &UpliftData,
        rows: &[usize],
        l2: f64,
        group: &'static str,
    ) -> Result<Logit, CampaignError> {
        let w = data.width;
        let churners = rows.iter().filter(|&&i| data.churned[i]).count();
        if rows.len() < MIN_ROWS || churners < MIN_EVENTS || rows.len() - churners < MIN_EVENTS {
            return Err(CampaignError::TooFewRows {
                group,
                rows: rows.len(),
                churners,
                needed: MIN_ROWS,
            });
        }
        let mut mean = vec![0.0; w];
        let mut count = vec![0usize; w];
        for &i in rows {
            for (j, v) in data.row(i).iter().enumerate() {
                if v.is_finite() {
                    mean[j] += v;
                    count[j] += 1;
                }
            }
        }
        for j in 0..w {
            mean[j] = if count[j] > 0 {
                mean[j] / count[j] as f64
            } else {
                0.0
            };
        }
        let mut var = vec![0.0; w];
        for &i in rows {
            for (j, v) in data.row(i).iter().enumerate() {
                let v = if v.is_finite() { *v } else { mean[j] };
                var[j] += (v - mean[j]).powi(2);
            }
        }
        let scale: Vec<f64> = var
            .iter()
            .map(|v| {
                let sd = (v / rows.len() as f64).sqrt();
                if sd > 1e-12 {
                    sd
                } else {
                    1.0
                }
            })
            .collect();
        let mut values = Vec::with_capacity(rows.len() * w);
        for &i in rows {
            for (j, v) in data.row(i).iter().enumerate() {
                let v = if v.is_finite() { *v } else { mean[j] };
                values.push((v - mean[j]) / scale[j]);
            }
        }
        let fit_err = |message: String| CampaignError::Fit { group, message };
        let x =
            DenseMatrix::new(rows.len(), w, values, false).map_err(|e| fit_err(e.to_string()))?;
        let y: Vec<i32> = rows.iter().map(|&i| data.churned[i] as i32).collect();
        let params = LogisticRegressionParameters::default().with_alpha(l2);
        let model = LogisticRegression::fit(&x, &y, params).map_err(|e| fit_err(e.to_string()))?;
        let coef = model.coefficients();
        let weights = (0..w).map(|j| *coef.get((0, j))).collect();
        let intercept = *model.intercept().get((0, 0));
        Ok(Logit {
            mean,
            scale,
            weights,
            intercept,
        })
    }

    /// `None` if the coefficients fit `width` features and are finite (scales > 0), else
    /// what is wrong.
    fn problem(&self, width: usize) -> Option<String> {
        if [self.mean.len(), self.scale.len(), self.weights.len()] != [width; 3] {
            return Some(format!(
                "{} means, {} scales and {} weights for {width} features",
                self.mean.len(),
                self.scale.len(),
                self.weights.len()
            ));
        }
        let finite = self.mean.iter().chain(&self.weights).all(|v| v.is_finite())
            && self.scale.iter().all(|v| v.is_finite() && *v > 0.0)
            && self.intercept.is_finite();
        (!finite).then(|| "a coefficient is not finite (or a scale not > 0)".to_string())
    }

    fn predict(&self, row: &[f64]) -> f64 {
        let mut z = self.intercept;
        for (j, v) in row.iter().enumerate() {
            let v = if v.is_finite() { *v } else { self.mean[j] };
            z += self.weights[j] * (v - self.mean[j]) / self.scale[j];
        }
        ChurnModel::sigmoid(z)
    }
}

/// The fitted T-learner.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UpliftModel {
    pub feature_names: Vec<String>,
    /// 90-day churn of treated targets.
    pub treated: Logit,
    /// 90-day churn of control targets (also the decile risk proxy).
    pub control: Logit,
    pub training_rows: usize,
    /// The 5th and 95th percentiles of the relative churn reduction `1 − μ₁/μ₀` over the rows
    /// it was fitted on. Scoring keeps a customer's relative reduction within them: for a
    /// customer unlike any campaign target the two regressions extrapolate, and their ratio
    /// can claim an offer makes a customer certain to leave (or to stay). `None` in files
    /// written before it was kept.
    #[serde(default)]
    pub relative_range: Option<[f64; 2]>,
}

impl UpliftModel {
    /// Fits both groups on the given rows of `data`.
    pub fn fit_rows(
        data: &UpliftData,
        rows: &[usize],
        cfg: &CampaignConfig,
    ) -> Result<UpliftModel, CampaignError> {
        let treated: Vec<usize> = rows.iter().copied().filter(|&i| data.treated[i]).collect();
        let control: Vec<usize> = rows.iter().copied().filter(|&i| !data.treated[i]).collect();
        let mut model = UpliftModel {
            feature_names: data.feature_names.clone(),
            treated: Logit::fit(data, &treated, cfg.l2, "treatment")?,
            control: Logit::fit(data, &control, cfg.l2, "control")?,
            training_rows: rows.len(),
            relative_range: None,
        };
        let w = data.width.max(1);
        let mut r: Vec<f64> = rows
            .iter()
            .filter_map(|&i| <[f64]>::get(&data.x, i * w..(i + 1) * w))
            .map(|row| {
                super::artifact::relative_reduction(
                    model.treated.predict(row),
                    model.control.predict(row),
                )
            })
            .filter(|r| r.is_finite())
            .collect();
        if !r.is_empty() {
            r.sort_by(f64::total_cmp);
            let at = |q: f64| r[((r.len() - 1) as f64 * q).round() as usize];
            model.relative_range = Some([at(0.05), at(0.95)]);
        }
        Ok(model)
    }

    /// `1 − μ₁/μ₀` kept within [`UpliftModel::relative_range`].
    pub fn relative(&self, treated: f64, control: f64) -> f64 {
        let r = super::artifact::relative_reduction(treated, control);
        match self.relative_range {
            Some([lo, hi]) => r.clamp(lo, hi),
            None => r,
        }
    }

    /// Checks a loaded model: both regressions fit the feature list, coefficients finite.
    pub fn check(&self) -> Result<(), String> {
        let width = self.feature_names.len();
        for (group, m) in [("treated", &self.treated), ("control", &self.control)] {
            if let Some(p) = m.problem(width) {
                return Err(format!("{group} model: {p}"));
            }
        }
        Ok(())
    }

    /// `(μ₁, μ₀)`: predicted 90-day churn with and without the offer, per row of `x`.
    pub fn predict(&self, x: &[f64], width: usize) -> Vec<(f64, f64)> {
        x.chunks(width.max(1))
            .map(|row| (self.treated.predict(row), self.control.predict(row)))
            .collect()
    }

    /// customer_id → μ₀ − μ₁ for every row of a churn_prediction_features frame (one as-of
    /// date; with several, the last row of a customer wins).
    pub fn expected_uplift(
        &self,
        features: &DataFrame,
    ) -> Result<HashMap<String, f64>, CampaignError> {
        let ids = features
            .column(CUSTOMER_ID)
            .and_then(|c| c.str())
            .map_err(|e| feature_err(CUSTOMER_ID, e))?;
        let x = feature_matrix(features, &self.feature_names)?;
        let preds = self.predict(&x, self.feature_names.len());
        Ok(ids
            .iter()
            .zip(preds)
            .filter_map(|(id, (t, c))| Some((id?.to_string(), c - t)))
            .collect())
    }
}

/// One point of the Qini curve.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct QiniPoint {
    /// Share of held-out rows targeted (top by predicted uplift).
    pub share: f64,
    pub rows: usize,
    /// Q(n): churners saved among the targeted treated rows.
    pub incremental_saved: f64,
    /// Random targeting: n/N · Q(N).
    pub random: f64,
}

/// Observed uplift among the top share by predicted uplift.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UpliftAtK {
    pub share: f64,
    pub rows: usize,
    pub treated: usize,
    pub control: usize,
    pub treated_churn: f64,
    pub control_churn: f64,
    /// control − treated churn among these rows.
    pub observed_uplift: f64,
    pub mean_predicted_uplift: f64,
}

/// Held-out evaluation of the uplift model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UpliftEvaluation {
    pub campaign_type: String,
    pub rows: usize,
    pub training_rows: usize,
    pub holdout_rows: usize,
    pub holdout_treated: usize,
    pub holdout_control: usize,
    /// control − treated churn over all held-out rows.
    pub holdout_observed_uplift: f64,
    pub holdout_mean_predicted_uplift: f64,
    pub qini_coefficient: f64,
    pub qini_curve: Vec<QiniPoint>,
    pub uplift_at: Vec<UpliftAtK>,
}

/// Whether a customer's rows are held out: a seeded hash of the id.
fn held_out(customer: &str, seed: u64, share: f64) -> bool {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for b in customer.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h % 1_000_000) as f64 / 1_000_000.0 < share
}

/// Qini curve points at every row count, for rows sorted by predicted uplift.
fn qini(ordered: &[usize], data: &UpliftData) -> Vec<f64> {
    let (mut nt, mut ct, mut nc, mut cc) = (0.0, 0.0, 0.0, 0.0);
    let mut q = Vec::with_capacity(ordered.len() + 1);
    q.push(0.0);
    for &i in ordered {
        if data.treated[i] {
            nt += 1.0;
            ct += data.churned[i] as u8 as f64;
        } else {
            nc += 1.0;
            cc += data.churned[i] as u8 as f64;
        }
        q.push(if nc > 0.0 { cc * nt / nc - ct } else { 0.0 });
    }
    q
}

/// Trains on the rows of customers not held out, evaluates on the others.
pub fn evaluate(
    data: &UpliftData,
    cfg: &CampaignConfig,
) -> Result<UpliftEvaluation, CampaignError> {
    let (mut train, mut hold) = (Vec::new(), Vec::new());
    for i in 0..data.len() {
        if held_out(&data.customer[i], cfg.seed, cfg.holdout_share) {
            hold.push(i);
        } else {
            train.push(i);
        }
    }
    let model = UpliftModel::fit_rows(data, &train, cfg)?;
    let uplift: Vec<f64> = hold
        .iter()
        .map(|&i| {
            let row = data.row(i);
            model.control.predict(row) - model.treated.predict(row)
        })
        .collect();
    let mut order: Vec<usize> = (0..hold.len()).collect();
    order.sort_by(|&a, &b| uplift[b].total_cmp(&uplift[a]).then(a.cmp(&b)));
    let ordered: Vec<usize> = order.iter().map(|&k| hold[k]).collect();
    let q = qini(&ordered, data);
    let n = ordered.len();
    let n_treated = ordered.iter().filter(|&&i| data.treated[i]).count();
    let q_all = q.last().copied().unwrap_or(0.0);
    let qini_coefficient = if n > 0 && n_treated > 0 {
        (1..=n)
            .map(|k| q[k] - k as f64 / n as f64 * q_all)
            .sum::<f64>()
            / n as f64
            / n_treated as f64
    } else {
        0.0
    };
    let qini_curve = (0..=10)
        .map(|d| {
            let rows = n * d / 10;
            QiniPoint {
                share: d as f64 / 10.0,
                rows,
                incremental_saved: q[rows],
                random: if n > 0 {
                    rows as f64 / n as f64 * q_all
                } else {
                    0.0
                },
            }
        })
        .collect();
    let at = |share: f64| {
        let rows = ((n as f64 * share).round() as usize).min(n);
        let top = &order[..rows];
        let mut t = [0usize; 4];
        let mut predicted = 0.0;
        for &k in top {
            let i = hold[k];
            let base = if data.treated[i] { 0 } else { 2 };
            t[base] += 1;
            t[base + 1] += data.churned[i] as usize;
            predicted += uplift[k];
        }
        let rate = |c: usize, n: usize| if n > 0 { c as f64 / n as f64 } else { f64::NAN };
        let (tc, cc) = (rate(t[1], t[0]), rate(t[3], t[2]));
        UpliftAtK {
            share,
            rows,
            treated: t[0],
            control: t[2],
            treated_churn: tc,
            control_churn: cc,
            observed_uplift: cc - tc,
            mean_predicted_uplift: if rows > 0 {
                predicted / rows as f64
            } else {
                f64::NAN
            },
        }
    };
    let uplift_at: Vec<UpliftAtK> = [0.1, 0.2, 0.3, 0.5].into_iter().map(at).collect();
    let all = at(1.0);
    Ok(UpliftEvaluation {
        campaign_type: cfg.campaign_type.clone(),
        rows: data.len(),
        training_rows: train.len(),
        holdout_rows: n,
        holdout_treated: all.treated,
        holdout_control: all.control,
        holdout_observed_uplift: all.observed_uplift,
        holdout_mean_predicted_uplift: all.mean_predicted_uplift,
        qini_coefficient,
        qini_curve,
        uplift_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(treated: &[bool], churned: &[bool]) -> UpliftData {
        UpliftData {
            customer: (0..treated.len()).map(|i| format!("C{i}")).collect(),
            target_date: vec![],
            treated: treated.to_vec(),
            churned: churned.to_vec(),
            x: vec![],
            width: 0,
            feature_names: vec![],
            frame: DataFrame::empty(),
        }
    }

    #[test]
    fn qini_by_hand() {
        // Order: T churn, C churn, T stay, C stay.
        let d = data(&[true, false, true, false], &[true, true, false, false]);
        let q = qini(&[0, 1, 2, 3], &d);
        // n=1: no control yet → 0. n=2: cc=1, nc=1, nt=1, ct=1 → 1·1/1 − 1 = 0.
        // n=3: nt=2 → 1·2/1 − 1 = 1. n=4: nc=2, cc=1 → 1·2/2 − 1 = 0.
        assert_eq!(q, vec![0.0, 0.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn holdout_split_is_seeded_and_near_its_share() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("C{i:07}")).collect();
        let a = ids.iter().filter(|c| held_out(c, 42, 0.3)).count();
        let b = ids.iter().filter(|c| held_out(c, 42, 0.3)).count();
        let other = ids.iter().filter(|c| held_out(c, 7, 0.3)).count();
        assert_eq!(a, b);
        assert!((2_800..3_200).contains(&a), "{a}");
        assert!((2_800..3_200).contains(&other), "{other}");
    }
}
