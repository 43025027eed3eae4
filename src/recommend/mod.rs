//! Recommend stage (next-best-product): takes a validated [`Warehouse`] and an as-of date and
//! returns, for every customer active at that date, up to `top_k` [`ProductSuggestion`]s:
//! plan right-sizing for customers paying overage (with the monthly saving), retention offers
//! for at-risk customers (offers whose campaign history shows lower churn than the control
//! group), and products to add, ranked by expected monthly margin gain = adoption probability ×
//! margin. Adoption probabilities come from [`adoption::AdoptionModel`], learned from the
//! adoptions in fact_service_assignment visible at the as-of date. A product the customer
//! holds, or whose `eligible_segments` exclude the customer's segment, is never suggested.
//! [`evaluate`] measures hit rate@k and MAP@k on later adoptions against a popularity baseline.

pub mod adoption;
pub mod data;
pub mod evaluate;
mod logistic;
mod rightsize;

use std::collections::HashMap;

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::scoring::{ProductSuggestion, SuggestionKind};
use crate::warehouse::{Table, Warehouse};

use adoption::{level0_key, AdoptionModel, Assignments, Evidence, HORIZON_DAYS};
use data::{day, Catalogue, Customers};

pub use evaluate::{evaluate, EvalReport, RankMetrics};
pub use rightsize::{cheapest_fitting_plan, PlanFit};

/// A failure of the recommend stage.
#[derive(Debug, thiserror::Error)]
pub enum RecommendError {
    #[error("{table}: column `{column}` cannot be read: {problem}")]
    Column {
        table: Table,
        column: &'static str,
        problem: String,
    },
    #[error("invalid recommender setting `{name}` = {value}: {reason}")]
    InvalidConfig {
        name: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("dim_product changed since the recommender was fitted: product `{product}` {problem}")]
    CatalogueChanged { product: String, problem: String },
    #[error(
        "cannot evaluate as of {as_of}: adoptions up to {needed} are needed, but the export \
         ends on {observed_until}"
    )]
    NotObserved {
        as_of: NaiveDate,
        needed: NaiveDate,
        observed_until: NaiveDate,
    },
    #[error("the warehouse is empty: no date to take as the as-of date")]
    EmptyWarehouse,
}

/// Settings of the recommender. Every field has a default.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RecommendConfig {
    /// Suggestions per customer; defaults to `3`.
    pub top_k: usize,
    /// Seed for anything random (the estimator is deterministic today); defaults to `42`.
    pub seed: u64,
    /// 90-day training windows before the as-of date; defaults to `4` (one year).
    pub history_windows: usize,
    /// Pseudo-count `m` of the back-off smoothing; defaults to `20.0`.
    pub smoothing: f64,
    /// Churn risk from which retention offers are suggested; defaults to `0.2`.
    pub retention_min_risk: f64,
    /// Treated and control customers an offer needs in campaign history before its churn
    /// effect is trusted; defaults to `30`.
    pub min_campaign_group: usize,
}

impl Default for RecommendConfig {
    fn default() -> Self {
        RecommendConfig {
            top_k: 3,
            seed: 42,
            history_windows: 4,
            smoothing: 20.0,
            retention_min_risk: 0.2,
            min_campaign_group: 30,
        }
    }
}

impl RecommendConfig {
    /// Checks every setting before any work starts.
    pub fn validate(&self) -> Result<(), RecommendError> {
        let bad = |name, value: String, reason| {
            Err(RecommendError::InvalidConfig {
                name,
                value,
                reason,
            })
        };
        if self.top_k == 0 {
            return bad("top_k", "0".into(), "at least one suggestion per customer");
        }
        if self.history_windows == 0 {
            return bad(
                "history_windows",
                "0".into(),
                "at least one 90-day window of past adoptions is needed",
            );
        }
        if !(self.smoothing.is_finite() && self.smoothing >= 0.0) {
            return bad(
                "smoothing",
                self.smoothing.to_string(),
                "must be a finite number ≥ 0",
            );
        }
        if !(0.0..=1.0).contains(&self.retention_min_risk) {
            return bad(
                "retention_min_risk",
                self.retention_min_risk.to_string(),
                "a probability in [0, 1]",
            );
        }
        Ok(())
    }
}

/// What campaign history says about one retention offer (a product offered to customers in
/// retention campaigns, with a control group).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RetentionOffer {
    pub product: usize,
    pub treated: usize,
    pub control: usize,
    /// 90-day churn rate of treated customers.
    pub treated_churn: f64,
    /// 90-day churn rate of control customers.
    pub control_churn: f64,
}

impl RetentionOffer {
    /// control − treated churn (absolute reduction).
    pub fn uplift(&self) -> f64 {
        self.control_churn - self.treated_churn
    }
}

/// A fitted next-best-product recommender: product catalogue, adoption model, retention offers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recommender {
    pub config: RecommendConfig,
    pub fitted_as_of: NaiveDate,
    pub catalogue: Catalogue,
    pub model: AdoptionModel,
    /// Offers whose treated customers churned less than their control group.
    pub retention_offers: Vec<RetentionOffer>,
}

/// The 90-day windows ending on or before `as_of`: `(start day, end day)`, newest first.
fn training_windows(as_of: i32, windows: usize) -> Vec<(i32, i32)> {
    (1..=windows as i32)
        .map(|k| {
            let start = as_of - HORIZON_DAYS * k;
            (start, start + HORIZON_DAYS)
        })
        .collect()
}

/// A training snapshot: its day, holdings then, recent-overage flags then, and the products
/// added in the following 90 days.
pub(crate) type Snapshot = (i32, adoption::Bits, Vec<bool>, adoption::Bits);

/// One snapshot per 90-day window before `as_of` (see [`training_windows`]).
pub(crate) fn training_snapshots(
    wh: &Warehouse,
    cat: &Catalogue,
    customers: &Customers,
    asg: &Assignments,
    as_of: i32,
    windows: usize,
) -> Result<Vec<Snapshot>, RecommendError> {
    let windows = training_windows(as_of, windows);
    let days: Vec<i32> = windows.iter().map(|w| w.0).collect();
    let overage = adoption::recent_overage(wh, customers, &days)?;
    Ok(windows
        .iter()
        .zip(overage)
        .map(|(&(from, to), flags)| {
            (
                from,
                adoption::holdings_at(asg, customers.len(), cat.len(), from),
                flags,
                adoption::adoptions_in(asg, customers, cat.len(), from, to),
            )
        })
        .collect())
}

/// The tables both fitting and suggesting read, extracted once.
struct Tables {
    catalogue: Catalogue,
    customers: Customers,
    assignments: Assignments,
}

impl Tables {
    /// Reads the tables; products are indexed by `catalogue` (the warehouse's own, or the one
    /// a recommender was fitted with).
    fn read(wh: &Warehouse, catalogue: Catalogue) -> Result<Self, RecommendError> {
        let t = std::time::Instant::now();
        let customers = Customers::from_warehouse(wh)?;
        tracing::debug!(seconds = t.elapsed().as_secs_f64(), "customers read");
        let assignments = Assignments::from_warehouse(wh, &catalogue, &customers)?;
        tracing::debug!(seconds = t.elapsed().as_secs_f64(), "assignments read");
        Ok(Tables {
            catalogue,
            customers,
            assignments,
        })
    }
}

impl Recommender {
    /// Learns from adoptions visible at `as_of` (`start_date ≤ as_of`): snapshots every 90 days
    /// before `as_of`, each labelled with the products added in the following 90 days.
    pub fn fit(
        wh: &Warehouse,
        as_of: NaiveDate,
        cfg: &RecommendConfig,
    ) -> Result<Self, RecommendError> {
        cfg.validate()?;
        let tables = Tables::read(wh, Catalogue::from_warehouse(wh)?)?;
        Self::fit_from(wh, as_of, cfg, &tables)
    }

    /// [`fit`](Self::fit) then [`suggest_all`](Self::suggest_all) at the same date, reading the
    /// customer and assignment tables once (what a scoring run wants).
    pub fn fit_and_suggest(
        wh: &Warehouse,
        as_of: NaiveDate,
        cfg: &RecommendConfig,
        risk: Option<&HashMap<String, f64>>,
    ) -> Result<(Self, HashMap<String, Vec<ProductSuggestion>>), RecommendError> {
        cfg.validate()?;
        let tables = Tables::read(wh, Catalogue::from_warehouse(wh)?)?;
        let rec = Self::fit_from(wh, as_of, cfg, &tables)?;
        let out = rec.suggest_from(wh, as_of, risk, tables)?;
        Ok((rec, out))
    }

    fn fit_from(
        wh: &Warehouse,
        as_of: NaiveDate,
        cfg: &RecommendConfig,
        tables: &Tables,
    ) -> Result<Self, RecommendError> {
        let t = std::time::Instant::now();
        let (cat, customers, asg) = (&tables.catalogue, &tables.customers, &tables.assignments);
        let eligible = data::eligibility(cat, customers);
        let d = day(as_of);
        let snapshots = training_snapshots(wh, cat, customers, asg, d, cfg.history_windows)?;
        tracing::debug!(seconds = t.elapsed().as_secs_f64(), "fit: snapshots built");
        let model = AdoptionModel::fit(cat, customers, &eligible, &snapshots, cfg.smoothing);
        tracing::debug!(seconds = t.elapsed().as_secs_f64(), "fit: model counted");
        let retention_offers = retention_offers(wh, cat, customers, d, cfg)?;
        tracing::debug!(seconds = t.elapsed().as_secs_f64(), "fit: retention offers");
        Ok(Recommender {
            config: cfg.clone(),
            fitted_as_of: as_of,
            catalogue: cat.clone(),
            model,
            retention_offers,
        })
    }

    /// Suggestions for every customer active at `as_of`, in one batch (customers with no
    /// suggestion are present with an empty list). `risk` (optional) maps customer_id → churn
    /// probability; retention offers are suggested to customers whose risk is at least
    /// `retention_min_risk`. Order within a list: right-sizing, then retention, then adoption
    /// by expected monthly margin gain; at most `top_k` in all.
    pub fn suggest_all(
        &self,
        wh: &Warehouse,
        as_of: NaiveDate,
        risk: Option<&HashMap<String, f64>>,
    ) -> Result<HashMap<String, Vec<ProductSuggestion>>, RecommendError> {
        self.check_catalogue(&Catalogue::from_warehouse(wh)?)?;
        let tables = Tables::read(wh, self.catalogue.clone())?;
        self.suggest_from(wh, as_of, risk, tables)
    }

    fn suggest_from(
        &self,
        wh: &Warehouse,
        as_of: NaiveDate,
        risk: Option<&HashMap<String, f64>>,
        tables: Tables,
    ) -> Result<HashMap<String, Vec<ProductSuggestion>>, RecommendError> {
        let t = std::time::Instant::now();
        let prepared = self.prepare(wh, as_of, tables)?;
        tracing::debug!(seconds = t.elapsed().as_secs_f64(), "suggest: prepared");
        // Customers in parallel chunks, each with its own cache of ranked adoptions per key.
        let lists: Vec<Vec<(usize, Vec<ProductSuggestion>)>> = prepared
            .active
            .par_chunks(8_192)
            .map(|chunk| {
                let mut cache: HashMap<Vec<u64>, Vec<ProductSuggestion>> = HashMap::new();
                let mut buf = Vec::new();
                chunk
                    .iter()
                    .map(|&c| {
                        (
                            c,
                            self.suggest_one(&prepared, c, risk, &mut cache, &mut buf),
                        )
                    })
                    .collect()
            })
            .collect();
        let mut out = HashMap::with_capacity(prepared.active.len());
        for (c, list) in lists.into_iter().flatten() {
            out.insert(prepared.customers.ids[c].clone(), list);
        }
        tracing::debug!(seconds = t.elapsed().as_secs_f64(), "suggest: lists built");
        Ok(out)
    }

    /// Everything `suggest_all` reads from the warehouse at `as_of`.
    fn prepare(
        &self,
        wh: &Warehouse,
        as_of: NaiveDate,
        tables: Tables,
    ) -> Result<Prepared, RecommendError> {
        let t = std::time::Instant::now();
        let Tables {
            customers,
            assignments: asg,
            ..
        } = tables;
        let eligible = data::eligibility(&self.catalogue, &customers);
        let d = day(as_of);
        let holdings = adoption::holdings_at(&asg, customers.len(), self.catalogue.len(), d);
        tracing::debug!(seconds = t.elapsed().as_secs_f64(), "suggest: holdings");
        let plans = rightsize::PlanInputs::collect(wh, &self.catalogue, &customers, &asg, d)?;
        let overage = plans.recent_overage.clone();
        tracing::debug!(seconds = t.elapsed().as_secs_f64(), "suggest: plan inputs");
        let active = (0..customers.len())
            .filter(|&c| customers.active_at(c, d))
            .collect();
        Ok(Prepared {
            customers,
            eligible,
            holdings,
            overage,
            plans,
            active,
        })
    }

    fn check_catalogue(&self, cat: &Catalogue) -> Result<(), RecommendError> {
        for p in &self.catalogue.products {
            if !cat.by_id.contains_key(&p.id) {
                return Err(RecommendError::CatalogueChanged {
                    product: p.id.clone(),
                    problem: "is no longer in dim_product".into(),
                });
            }
        }
        for p in &cat.products {
            if !self.catalogue.by_id.contains_key(&p.id) {
                return Err(RecommendError::CatalogueChanged {
                    product: p.id.clone(),
                    problem: "is new in dim_product (fit again)".into(),
                });
            }
        }
        Ok(())
    }

    /// The adoption suggestions of customers with this level-0 key (segment, overage, holdings),
    /// ranked by expected gain: the top `top_k + 2` (spares for products that right-sizing or
    /// retention already took). Everything in them depends on the key only, so they are built
    /// once per distinct key and cloned per customer.
    fn ranked_adoptions(
        &self,
        key: &[u64],
        segment: &str,
        eligible: &[bool],
    ) -> Vec<ProductSuggestion> {
        let cat = &self.catalogue;
        let probs = self.model.predict(cat, key);
        let held = &key[1..];
        let mut ranked: Vec<(f64, usize)> = (0..cat.len())
            .filter(|&p| probs[p].0 > 0.0 && eligible[p] && !adoption::has(held, p))
            .map(|p| (probs[p].0 * cat.products[p].monthly_margin(), p))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked
            .iter()
            .take(self.config.top_k + 2)
            .map(|&(gain, p)| {
                let (prob, evidence) = probs[p];
                adoption_suggestion(cat, p, prob, gain, evidence, segment)
            })
            .collect()
    }

    fn suggest_one(
        &self,
        prep: &Prepared,
        c: usize,
        risk: Option<&HashMap<String, f64>>,
        cache: &mut HashMap<Vec<u64>, Vec<ProductSuggestion>>,
        buf: &mut Vec<u64>,
    ) -> Vec<ProductSuggestion> {
        let cat = &self.catalogue;
        let k = self.config.top_k;
        let seg = prep.customers.segment[c] as usize;
        let segment = &prep.customers.segments[seg];
        let held = prep.holdings.row(c);
        let may_offer = |p: usize| prep.eligible[seg][p] && !adoption::has(held, p);
        let mut list = Vec::with_capacity(k);

        if let Some(fit) = rightsize::right_size(cat, &prep.plans, c, &may_offer) {
            list.push(fit.suggestion(cat));
        }
        let customer_risk = risk.and_then(|r| r.get(&prep.customers.ids[c]).copied());
        if let Some(r) = customer_risk.filter(|r| *r >= self.config.retention_min_risk) {
            let margin = prep.plans.monthly_margin[c];
            if let Some(s) = self.retention_suggestion(c, r, margin, &may_offer, &list) {
                if list.len() < k {
                    list.push(s);
                }
            }
        }
        if list.len() < k {
            level0_key(buf, seg as u16, prep.overage[c], held);
            if !cache.contains_key(buf.as_slice()) {
                let ranked = self.ranked_adoptions(buf, segment, &prep.eligible[seg]);
                cache.insert(buf.clone(), ranked);
            }
            if let Some(ranked) = cache.get(buf.as_slice()) {
                let room = k - list.len();
                let extra: Vec<ProductSuggestion> = ranked
                    .iter()
                    .filter(|s| list.iter().all(|t| t.product_id != s.product_id))
                    .take(room)
                    .cloned()
                    .collect();
                list.extend(extra);
            }
        }
        list
    }

    fn retention_suggestion(
        &self,
        _c: usize,
        risk: f64,
        margin: f64,
        may_offer: &dyn Fn(usize) -> bool,
        taken: &[ProductSuggestion],
    ) -> Option<ProductSuggestion> {
        let cat = &self.catalogue;
        self.retention_offers
            .iter()
            .filter(|o| may_offer(o.product))
            .filter(|o| {
                taken
                    .iter()
                    .all(|s| s.product_id != cat.products[o.product].id)
            })
            .map(|o| {
                // The offer's churn reduction scaled to this customer's risk (relative effect).
                let relative = if o.control_churn > 0.0 {
                    o.uplift() / o.control_churn
                } else {
                    0.0
                };
                let reduction = (risk * relative).clamp(0.0, risk);
                (reduction * margin, reduction, o)
            })
            .filter(|(gain, _, _)| *gain > 0.0)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(gain, reduction, o)| {
                let p = &cat.products[o.product];
                ProductSuggestion {
                    product_id: p.id.clone(),
                    product_name: p.name.clone(),
                    category: p.category.clone(),
                    kind: SuggestionKind::Retention,
                    expected_gain: gain,
                    adoption_probability: 0.0,
                    monthly_saving: None,
                    rationale: format!(
                        "churn risk {:.0}%: in past retention campaigns customers offered it \
                         churned {:.1} points less than the control group ({:.1}% vs {:.1}%); \
                         expected churn reduction {:.1} points",
                        risk * 100.0,
                        o.uplift() * 100.0,
                        o.treated_churn * 100.0,
                        o.control_churn * 100.0,
                        reduction * 100.0
                    ),
                }
            })
    }
}

fn adoption_suggestion(
    cat: &Catalogue,
    p: usize,
    prob: f64,
    gain: f64,
    evidence: Evidence,
    segment: &str,
) -> ProductSuggestion {
    let product = &cat.products[p];
    let who = match evidence {
        Evidence::SameProducts => format!("{segment} customers holding the same products"),
        Evidence::SameCategories => {
            format!("{segment} customers holding the same product categories")
        }
        Evidence::Segment => format!("{segment} customers"),
        Evidence::Global => "customers".to_string(),
    };
    ProductSuggestion {
        product_id: product.id.clone(),
        product_name: product.name.clone(),
        category: product.category.clone(),
        kind: SuggestionKind::Adoption,
        expected_gain: gain,
        adoption_probability: prob,
        monthly_saving: None,
        rationale: format!(
            "{:.1}% of {who} added it within 90 days; margin {:.2}/month",
            prob * 100.0,
            product.monthly_margin()
        ),
    }
}

/// What `suggest_all` reads from the warehouse at the as-of date.
struct Prepared {
    customers: Customers,
    eligible: Vec<Vec<bool>>,
    holdings: adoption::Bits,
    overage: Vec<bool>,
    plans: rightsize::PlanInputs,
    active: Vec<usize>,
}

/// Retention offers (products offered in `retention` campaigns) whose 90-day churn, fully
/// observed by `as_of`, was lower for treated than for control customers.
fn retention_offers(
    wh: &Warehouse,
    cat: &Catalogue,
    customers: &Customers,
    as_of: i32,
    cfg: &RecommendConfig,
) -> Result<Vec<RetentionOffer>, RecommendError> {
    use crate::warehouse::schema::campaign;
    let df = &wh.campaigns;
    let t = Table::CampaignTarget;
    let ids = data::strs(df, t, campaign::CUSTOMER_ID)?;
    let kind = data::strs(df, t, campaign::CAMPAIGN_TYPE)?;
    let target = data::dates(df, t, campaign::TARGET_DATE)?;
    let group = data::strs(df, t, campaign::TREATMENT_GROUP)?;
    let offered = data::strs(df, t, campaign::OFFERED_PRODUCT_ID)?;
    // [product] → (treated, treated churners, control, control churners)
    let mut tally: HashMap<usize, [usize; 4]> = HashMap::new();
    let mut lookup = data::IdLookup::new(&customers.index);
    for row in 0..df.height() {
        let (Some(id), Some(k), Some(td), Some(g), Some(p)) = (
            ids.get(row),
            kind.get(row),
            target.get(row),
            group.get(row),
            offered.get(row),
        ) else {
            continue;
        };
        if k != "retention" || td + HORIZON_DAYS > as_of {
            continue;
        }
        let (Some(c), Some(&pi)) = (lookup.get(id), cat.by_id.get(p)) else {
            continue;
        };
        let churned = customers.churn[c as usize]
            .is_some_and(|ch| ch >= td && ch < td + HORIZON_DAYS && ch <= as_of);
        let e = tally.entry(pi).or_insert([0; 4]);
        let base = if g == "control" { 2 } else { 0 };
        e[base] += 1;
        e[base + 1] += churned as usize;
    }
    let mut offers: Vec<RetentionOffer> = tally
        .into_iter()
        .filter(|(_, t)| t[0] >= cfg.min_campaign_group && t[2] >= cfg.min_campaign_group)
        .map(|(product, t)| RetentionOffer {
            product,
            treated: t[0],
            control: t[2],
            treated_churn: t[1] as f64 / t[0] as f64,
            control_churn: t[3] as f64 / t[2] as f64,
        })
        .filter(|o| o.uplift() > 0.0)
        .collect();
    offers.sort_by_key(|o| o.product);
    Ok(offers)
}
