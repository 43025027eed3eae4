//! Per-campaign treatment vs control statistics with a 95% interval for the uplift.
//!
//! The interval is Newcombe's hybrid score interval for a difference of two proportions
//! (method 10 in Newcombe 1998): it combines the two Wilson score intervals, stays inside
//! [−1, 1] and behaves well for small groups and rates near 0, where the Wald interval does not.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{typed_column, CampaignError};
use crate::recommend::data::{date_of, day};
use crate::warehouse::schema::{campaign, customer};
use crate::warehouse::{Table, Warehouse};

const Z95: f64 = 1.959_963_984_540_054;
/// The churn window after a target date, in days.
pub const HORIZON_DAYS: i32 = 90;

/// One campaign's outcome (or all campaigns of a type, pooled).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CampaignStats {
    pub campaign_id: String,
    pub campaign_type: String,
    /// First target date of the campaign.
    pub target_date: NaiveDate,
    pub targeted: usize,
    pub treated: usize,
    pub control: usize,
    /// Whether the 90-day window of every target ends within the export.
    pub observed: bool,
    pub treated_churned: usize,
    pub control_churned: usize,
    pub treated_churn: Option<f64>,
    pub control_churn: Option<f64>,
    /// control − treated churn.
    pub uplift: Option<f64>,
    pub uplift_ci_low: Option<f64>,
    pub uplift_ci_high: Option<f64>,
    /// uplift × treated: churners the campaign kept.
    pub customers_saved: Option<f64>,
    /// Treated targets with a non-null `responded`.
    pub response_known: usize,
    pub responded: usize,
    /// responded / response_known.
    pub response_rate: Option<f64>,
}

/// Wilson score interval of `x` successes in `n` trials.
fn wilson(x: usize, n: usize) -> (f64, f64) {
    let (x, n) = (x as f64, n as f64);
    let p = x / n;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((center - half).max(0.0), (center + half).min(1.0))
}

/// 95% Newcombe hybrid score interval for `x1/n1 − x2/n2`; `None` when a group is empty.
pub fn newcombe_interval(x1: usize, n1: usize, x2: usize, n2: usize) -> Option<(f64, f64)> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let (l1, u1) = wilson(x1, n1);
    let (l2, u2) = wilson(x2, n2);
    let d = p1 - p2;
    let lo = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let hi = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    Some((lo, hi))
}

#[derive(Default)]
struct Tally {
    kind: String,
    first: i32,
    last: i32,
    t: [usize; 4],
    response_known: usize,
    responded: usize,
}

fn finish(id: String, k: &Tally, observed_until: i32) -> CampaignStats {
    let observed = k.last - 1 + HORIZON_DAYS <= observed_until;
    let [nt, ct, nc, cc] = k.t;
    let rate = |c: usize, n: usize| (observed && n > 0).then(|| c as f64 / n as f64);
    let (tc, ccr) = (rate(ct, nt), rate(cc, nc));
    let uplift = tc.zip(ccr).map(|(t, c)| c - t);
    let ci = if observed {
        newcombe_interval(cc, nc, ct, nt)
    } else {
        None
    };
    CampaignStats {
        campaign_id: id,
        campaign_type: k.kind.clone(),
        target_date: date_of(k.first),
        targeted: nt + nc,
        treated: nt,
        control: nc,
        observed,
        treated_churned: ct,
        control_churned: cc,
        treated_churn: tc,
        control_churn: ccr,
        uplift,
        uplift_ci_low: ci.map(|c| c.0),
        uplift_ci_high: ci.map(|c| c.1),
        customers_saved: uplift.map(|u| u * nt as f64),
        response_known: k.response_known,
        responded: k.responded,
        response_rate: (k.response_known > 0).then(|| k.responded as f64 / k.response_known as f64),
    }
}

/// Statistics of every campaign in fact_campaign_target, by first target date then id.
pub fn campaign_stats(
    wh: &Warehouse,
    observed_until: NaiveDate,
) -> Result<Vec<CampaignStats>, CampaignError> {
    let cu = &wh.customers;
    let ids = typed_column(cu, Table::Customer, customer::ID, |c| c.str())?;
    let churn = typed_column(cu, Table::Customer, customer::CHURN_DATE, |c| c.date())?;
    let churn_of: std::collections::HashMap<&str, i32> = ids
        .iter()
        .zip(churn.phys.iter())
        .filter_map(|(id, c)| Some((id?, c?)))
        .collect();
    let df = &wh.campaigns;
    let t = Table::CampaignTarget;
    let s = |c: &'static str| typed_column(df, t, c, |x| x.str());
    let (cid, cust, kind, group) = (
        s(campaign::ID)?,
        s(campaign::CUSTOMER_ID)?,
        s(campaign::CAMPAIGN_TYPE)?,
        s(campaign::TREATMENT_GROUP)?,
    );
    let target = typed_column(df, t, campaign::TARGET_DATE, |c| c.date())?;
    let responded = typed_column(df, t, campaign::RESPONDED, |c| c.bool())?;
    let until = day(observed_until);
    let mut by_id: BTreeMap<String, Tally> = BTreeMap::new();
    for row in 0..df.height() {
        let (Some(id), Some(c), Some(g), Some(td)) = (
            cid.get(row),
            cust.get(row),
            group.get(row),
            target.phys.get(row),
        ) else {
            continue;
        };
        let k = by_id.entry(id.to_string()).or_insert_with(|| Tally {
            kind: kind.get(row).unwrap_or_default().to_string(),
            first: td,
            last: td,
            ..Tally::default()
        });
        k.first = k.first.min(td);
        k.last = k.last.max(td);
        let churned = churn_of
            .get(c)
            .is_some_and(|&ch| ch >= td && ch < td + HORIZON_DAYS && ch <= until);
        let base = if g == "control" { 2 } else { 0 };
        k.t[base] += 1;
        k.t[base + 1] += churned as usize;
        if base == 0 {
            if let Some(r) = responded.get(row) {
                k.response_known += 1;
                k.responded += r as usize;
            }
        }
    }
    let mut out: Vec<CampaignStats> = by_id
        .into_iter()
        .map(|(id, k)| finish(id, &k, until))
        .collect();
    out.sort_by(|a, b| {
        a.target_date
            .cmp(&b.target_date)
            .then_with(|| a.campaign_id.cmp(&b.campaign_id))
    });
    Ok(out)
}

/// Observed campaigns of each type pooled into one row (`campaign_id` = `all <type>`).
pub fn pooled(stats: &[CampaignStats]) -> Vec<CampaignStats> {
    let mut by_kind: BTreeMap<&str, Tally> = BTreeMap::new();
    for s in stats.iter().filter(|s| s.observed) {
        let first = day(s.target_date);
        let k = by_kind.entry(&s.campaign_type).or_insert_with(|| Tally {
            kind: s.campaign_type.clone(),
            first,
            last: first,
            ..Tally::default()
        });
        k.first = k.first.min(first);
        k.t[0] += s.treated;
        k.t[1] += s.treated_churned;
        k.t[2] += s.control;
        k.t[3] += s.control_churned;
        k.response_known += s.response_known;
        k.responded += s.responded;
    }
    by_kind
        .into_iter()
        .map(|(kind, k)| finish(format!("all {kind}"), &k, i32::MAX))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newcombe_matches_the_published_example() {
        // Newcombe (1998), Table II example (a): 56/70 − 48/80 → hybrid score 0.0524 to 0.3339.
        let (lo, hi) = newcombe_interval(56, 70, 48, 80).expect("ci");
        assert!((lo - 0.0524).abs() < 5e-4, "{lo}");
        assert!((hi - 0.3339).abs() < 5e-4, "{hi}");
        // The all-zero example of the same table: 0/10 − 0/20 → −0.1611 to 0.2775.
        let (lo, hi) = newcombe_interval(0, 10, 0, 20).expect("ci");
        assert!((lo + 0.1611).abs() < 5e-4, "{lo}");
        assert!((hi - 0.2775).abs() < 5e-4, "{hi}");
        assert!(newcombe_interval(1, 0, 1, 5).is_none());
    }
}
