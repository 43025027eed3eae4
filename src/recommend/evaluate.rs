//! Offline evaluation of next-best-product: fit as of D, then rank products for every customer
//! active at D and compare with what each customer actually added in (D, D + 90] (products not
//! held at D, eligible for its segment, started after signup). Customers who added nothing are
//! not scored (hit rate and MAP are over customers with at least one adoption).
//!
//! Four rankings of the same candidates (eligible, not held) are scored:
//! * `model`: by adoption probability (holdings model × context lifts) — what the customer
//!   will add;
//! * `holdings_only`: by the holdings model's probability alone (segment, overage, holdings:
//!   what the context lifts add is the difference);
//! * `model_by_gain`: by probability × margin — the order `suggest_all` serves;
//! * `popularity`: by the number of adoptions of each product in the customer's segment over
//!   the same training windows (the baseline).

use std::time::Instant;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::adoption::{self, has, level0_key, Assignments, HORIZON_DAYS};
use super::context::{self, Profile};
use super::data::{self, day, Catalogue, Customers};
use super::logistic::LogisticAdoption;
use super::{RecommendConfig, RecommendError, Recommender};
use crate::warehouse::Warehouse;

/// Hit rate@k and MAP@k of one ranking.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct RankMetrics {
    /// Share of customers with at least one adopted product in the top k.
    pub hit_rate: f64,
    /// Mean average precision at k.
    pub map: f64,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvalReport {
    pub as_of: NaiveDate,
    /// End of the evaluation window (as_of + 90 days).
    pub until: NaiveDate,
    pub k: usize,
    pub customers_active: usize,
    /// Customers who added at least one eligible product they did not hold.
    pub customers_evaluated: usize,
    pub adoptions: usize,
    /// Training adoptions the model learned from.
    pub training_adoptions: f64,
    pub model: RankMetrics,
    /// The holdings model without context lifts (equal to `model` when lifts are off).
    pub holdings_only: RankMetrics,
    pub model_by_gain: RankMetrics,
    pub popularity: RankMetrics,
    /// The alternative: one smartcore logistic regression per product, by probability.
    pub logistic: Option<RankMetrics>,
    /// model.hit_rate / popularity.hit_rate.
    pub hit_rate_ratio: f64,
    pub fit_seconds: f64,
    pub evaluate_seconds: f64,
    /// Fit time of the logistic alternative.
    pub logistic_fit_seconds: Option<f64>,
}

/// Average precision at k of a ranking against the relevant set.
pub fn average_precision(ranked: &[usize], relevant: &[usize], k: usize) -> f64 {
    if relevant.is_empty() {
        return 0.0;
    }
    let mut hits = 0.0;
    let mut sum = 0.0;
    for (i, p) in ranked.iter().take(k).enumerate() {
        if relevant.contains(p) {
            hits += 1.0;
            sum += hits / (i + 1) as f64;
        }
    }
    sum / relevant.len().min(k) as f64
}

fn top_k(scores: &[(f64, usize)], k: usize) -> Vec<usize> {
    let mut s = scores.to_vec();
    s.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    s.into_iter().take(k).map(|x| x.1).collect()
}

/// Fits as of `as_of` and scores the three rankings on adoptions in the following 90 days.
/// `with_logistic` also fits and scores the smartcore alternative (slower).
#[allow(clippy::needless_range_loop)] // customer and product indices address several arrays
pub fn evaluate(
    wh: &Warehouse,
    as_of: NaiveDate,
    cfg: &RecommendConfig,
    with_logistic: bool,
) -> Result<EvalReport, RecommendError> {
    cfg.validate()?;
    let until = as_of + chrono::Duration::days(HORIZON_DAYS as i64);
    let observed_until = wh.observed_until().ok_or(RecommendError::EmptyWarehouse)?;
    if until > observed_until {
        return Err(RecommendError::NotObserved {
            as_of,
            needed: until,
            observed_until,
        });
    }
    let t0 = Instant::now();
    let rec = Recommender::fit(wh, as_of, cfg)?;
    let fit_seconds = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let cat: &Catalogue = &rec.catalogue;
    let customers = Customers::from_warehouse(wh)?;
    let eligible = data::eligibility(cat, &customers);
    let asg = Assignments::from_warehouse(wh, cat, &customers)?;
    let d = day(as_of);
    let t_logistic = Instant::now();
    let logistic = if with_logistic {
        let snapshots =
            super::training_snapshots(wh, cat, &customers, &asg, d, cfg.history_windows)?;
        Some(LogisticAdoption::fit(
            cat, &customers, &eligible, &snapshots, cfg.seed, 50_000, 1.0,
        ))
    } else {
        None
    };
    let logistic_fit_seconds = with_logistic.then(|| t_logistic.elapsed().as_secs_f64());
    let holdings = adoption::holdings_at(&asg, customers.len(), cat.len(), d);
    let overage = adoption::recent_overage(wh, &customers, &[d])?
        .pop()
        .unwrap_or_default();
    let adopted = adoption::adoptions_in(&asg, &customers, cat.len(), d, d + HORIZON_DAYS);
    let popularity: Vec<Vec<f64>> = (0..customers.segments.len())
        .map(|s| rec.model.segment_adoptions(s as u16))
        .collect();
    let profile = Profile::from_warehouse(wh)?;
    let raw = match &rec.context {
        Some(m) => {
            let mut raw = context::read_signals(wh, &customers, &[d], &m.spec.ticket_categories)?
                .pop()
                .unwrap_or_default();
            let capacity = context::plan_capacity(cat, &asg, customers.len(), &[d])
                .pop()
                .unwrap_or_default();
            for (x, c) in raw.iter_mut().zip(capacity) {
                x.capacity = c;
            }
            Some(raw)
        }
        None => None,
    };
    let encoding = rec
        .context
        .as_ref()
        .map(|m| m.spec.encoding(&customers, &profile));
    let k = cfg.top_k;
    let (mut active, mut evaluated, mut adoptions) = (0usize, 0usize, 0usize);
    let mut sums = [RankMetrics::default(); 5];
    let mut buf = Vec::new();
    let mut ctx = Vec::new();
    let mut cache = std::collections::HashMap::new();
    for c in 0..customers.len() {
        if !customers.active_at(c, d) {
            continue;
        }
        active += 1;
        let seg = customers.segment[c] as usize;
        let held = holdings.row(c);
        let candidates: Vec<usize> = (0..cat.len())
            .filter(|&p| eligible[seg][p] && !has(held, p))
            .collect();
        let relevant: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&p| has(adopted.row(c), p))
            .collect();
        if relevant.is_empty() {
            continue;
        }
        evaluated += 1;
        adoptions += relevant.len();
        level0_key(&mut buf, seg as u16, overage[c], held);
        let probs = cache
            .entry(buf.clone())
            .or_insert_with(|| rec.model.predict(cat, &buf));
        let base: Vec<(f64, usize)> = candidates.iter().map(|&p| (probs[p].0, p)).collect();
        let by_prob: Vec<(f64, usize)> = match (&rec.context, &raw) {
            (Some(m), Some(raw)) => {
                if let Some(e) = &encoding {
                    e.encode(&customers, d, c, &raw[c], &mut ctx);
                }
                base.iter()
                    .map(|&(b, p)| ((b * m.lift(&ctx, p)).min(super::MAX_PROBABILITY), p))
                    .collect()
            }
            _ => base.clone(),
        };
        let by_gain: Vec<(f64, usize)> = by_prob
            .iter()
            .map(|&(x, p)| (x * cat.products[p].monthly_margin(), p))
            .collect();
        let by_pop: Vec<(f64, usize)> = candidates
            .iter()
            .map(|&p| (popularity[seg][p], p))
            .collect();
        let by_logit: Vec<(f64, usize)> = match &logistic {
            Some(m) => {
                let probs = m.predict(seg as u16, overage[c], held);
                candidates.iter().map(|&p| (probs[p], p)).collect()
            }
            None => Vec::new(),
        };
        for (sum, scores) in sums
            .iter_mut()
            .zip([by_prob, base, by_gain, by_pop, by_logit])
        {
            if scores.is_empty() {
                continue;
            }
            let ranked = top_k(&scores, k);
            if ranked.iter().any(|p| relevant.contains(p)) {
                sum.hit_rate += 1.0;
            }
            sum.map += average_precision(&ranked, &relevant, k);
        }
    }
    let n = evaluated.max(1) as f64;
    let [model, holdings_only, model_by_gain, popularity, logit] = sums.map(|s| RankMetrics {
        hit_rate: s.hit_rate / n,
        map: s.map / n,
    });
    Ok(EvalReport {
        as_of,
        until,
        k,
        customers_active: active,
        customers_evaluated: evaluated,
        adoptions,
        training_adoptions: rec.model.training_counts().1,
        model,
        holdings_only,
        model_by_gain,
        popularity,
        logistic: logistic.is_some().then_some(logit),
        hit_rate_ratio: if popularity.hit_rate > 0.0 {
            model.hit_rate / popularity.hit_rate
        } else {
            f64::NAN
        },
        fit_seconds,
        evaluate_seconds: t1.elapsed().as_secs_f64(),
        logistic_fit_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::average_precision;

    #[test]
    fn average_precision_by_hand() {
        // Relevant {7, 9}; ranking 7, 3, 9 → (1/1 + 2/3) / 2.
        let ap = average_precision(&[7, 3, 9], &[7, 9], 3);
        assert!((ap - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!(average_precision(&[1, 2, 3], &[9], 3), 0.0);
        // One relevant item at rank 2 → 1/2.
        assert!((average_precision(&[1, 9, 3], &[9], 3) - 0.5).abs() < 1e-12);
    }
}
