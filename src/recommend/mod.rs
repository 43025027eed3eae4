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
pub mod context;
pub mod data;
pub mod evaluate;
pub mod lift;
mod logistic;
mod rightsize;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::scoring::{ProductSuggestion, SuggestionKind};
use crate::warehouse::{Table, Warehouse};

use adoption::{level0_key, AdoptionModel, Assignments, Evidence, HORIZON_DAYS};
use context::{ContextSpec, Profile, Raw};
use data::{day, Catalogue, Customers, FxMap};
use lift::{ContextModel, LiftRows};

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
    /// Pseudo-count `m` of the back-off smoothing; defaults to `200.0` (chosen on held-out
    /// adoptions: exact holding sets are many and thin once add-ons are in them, and a small
    /// `m` lets the finest level memorise its few adoptions; see docs/recommend.md).
    pub smoothing: f64,
    /// Churn risk from which retention offers are suggested; defaults to `0.2`.
    pub retention_min_risk: f64,
    /// Treated and control customers an offer needs in campaign history before its churn
    /// effect is trusted; defaults to `30`.
    pub min_campaign_group: usize,
    /// Learn context lifts (usage, network, tickets, tier, region, tenure, bill) on top of the
    /// holdings model; defaults to `true`.
    pub context: bool,
    /// Pseudo-adoptions `m` shrinking each context lift toward 1; defaults to `10.0`.
    pub lift_smoothing: f64,
    /// Customer-days the context lifts are fitted on at most (a seeded sample beyond);
    /// defaults to `150000`.
    pub context_rows: usize,
}

impl Default for RecommendConfig {
    fn default() -> Self {
        RecommendConfig {
            top_k: 3,
            seed: 42,
            history_windows: 4,
            smoothing: 200.0,
            retention_min_risk: 0.2,
            min_campaign_group: 30,
            context: true,
            lift_smoothing: 10.0,
            context_rows: 150_000,
        }
    }
}

/// Rounds of iterative proportional fitting of the context lifts.
const LIFT_ROUNDS: usize = 3;
/// A context value is named in a rationale when it raises the probability this much.
const NOTABLE_LIFT: f64 = 1.5;
/// Adoption probabilities are capped here (a product of lifts can overshoot).
const MAX_PROBABILITY: f64 = 0.95;

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
        if !(self.lift_smoothing.is_finite() && self.lift_smoothing > 0.0) {
            return bad(
                "lift_smoothing",
                self.lift_smoothing.to_string(),
                "must be a finite number > 0",
            );
        }
        if self.context && self.context_rows == 0 {
            return bad(
                "context_rows",
                "0".into(),
                "at least one customer-day to fit context lifts on (or turn `context` off)",
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
    /// Context lifts on top of `model` (`None` when turned off in the config).
    #[serde(default)]
    pub context: Option<ContextModel>,
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
struct Tables<'a> {
    catalogue: Catalogue,
    customers: Customers<'a>,
    assignments: Assignments,
    profile: Profile<'a>,
}

impl<'a> Tables<'a> {
    /// Reads the tables; products are indexed by `catalogue` (the warehouse's own, or the one
    /// a recommender was fitted with).
    fn read(wh: &'a Warehouse, catalogue: Catalogue) -> Result<Self, RecommendError> {
        let t = std::time::Instant::now();
        let customers = Customers::from_warehouse(wh)?;
        tracing::debug!(seconds = t.elapsed().as_secs_f64(), "customers read");
        let assignments = Assignments::from_warehouse(wh, &catalogue, &customers)?;
        tracing::debug!(seconds = t.elapsed().as_secs_f64(), "assignments read");
        let profile = Profile::from_warehouse(wh)?;
        Ok(Tables {
            catalogue,
            customers,
            assignments,
            profile,
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
        let vocabulary = if cfg.context {
            Some(context::ticket_vocabulary(wh, day(as_of) - HORIZON_DAYS)?)
        } else {
            None
        };
        Self::fit_from(wh, as_of, cfg, &tables, vocabulary)
    }

    /// [`fit`](Self::fit) then [`suggest_all`](Self::suggest_all) at the same date, reading the
    /// customer and assignment tables once.
    pub fn fit_and_suggest(
        wh: &Warehouse,
        as_of: NaiveDate,
        cfg: &RecommendConfig,
        risk: Option<&HashMap<String, f64>>,
    ) -> Result<(Self, HashMap<String, Vec<ProductSuggestion>>), RecommendError> {
        cfg.validate()?;
        let tables = Tables::read(wh, Catalogue::from_warehouse(wh)?)?;
        let (rec, prepared) = Self::fit_and_prepare(wh, as_of, cfg, &tables)?;
        let out = rec.suggest_map(&tables, &prepared, risk);
        Ok((rec, out))
    }

    /// [`fit`](Self::fit) then [`suggest_for`](Self::suggest_for) at the same date, reading
    /// the customer and assignment tables once (what a scoring run wants): `out[i]` holds the
    /// suggestions of `ids[i]`, whose churn probability is `risk[i]` when given.
    pub fn fit_and_suggest_for(
        wh: &Warehouse,
        as_of: NaiveDate,
        cfg: &RecommendConfig,
        ids: &[&str],
        risk: Option<&[f64]>,
    ) -> Result<(Self, Vec<Vec<ProductSuggestion>>), RecommendError> {
        cfg.validate()?;
        check_risk_len(ids, risk)?;
        let tables = Tables::read(wh, Catalogue::from_warehouse(wh)?)?;
        let (rec, prepared) = Self::fit_and_prepare(wh, as_of, cfg, &tables)?;
        let out = rec.suggest_aligned(&tables, &prepared, ids, risk);
        Ok((rec, out))
    }

    /// Fits and reads the as-of inputs of suggesting, side by side (they only share the
    /// tables). With context lifts, the signals of the as-of date and of every training day are
    /// read in one scan of the fact tables.
    fn fit_and_prepare(
        wh: &Warehouse,
        as_of: NaiveDate,
        cfg: &RecommendConfig,
        tables: &Tables,
    ) -> Result<(Self, Prepared), RecommendError> {
        let d = day(as_of);
        // Tickets up to the newest training day (the context spec is fitted there).
        let vocabulary = if cfg.context {
            Some(context::ticket_vocabulary(wh, d - HORIZON_DAYS)?)
        } else {
            None
        };
        let days: Vec<i32> = std::iter::once(d)
            .chain(training_windows(d, cfg.history_windows).iter().map(|w| w.0))
            .collect();
        let (fitted, (prepared, signals)) = rayon::join(
            || Self::fit_base(wh, as_of, cfg, tables),
            || {
                rayon::join(
                    || prepare(wh, &tables.catalogue, as_of, tables, None),
                    || {
                        vocabulary
                            .as_ref()
                            .map(|v| read_context(wh, tables, &days, v))
                            .transpose()
                    },
                )
            },
        );
        let (mut rec, eligible, snapshots) = fitted?;
        let mut prepared = prepared?;
        if let (Some(vocabulary), Some(mut signals)) = (vocabulary, signals?) {
            let training = signals.split_off(1);
            prepared.raw = signals.pop();
            rec.context = Some(fit_context(
                tables, &eligible, &snapshots, &rec.model, cfg, vocabulary, training,
            )?);
        }
        Ok((rec, prepared))
    }

    /// Fits on the read tables; `ticket_categories` (the warehouse's, most frequent first)
    /// turns the context lifts on.
    fn fit_from(
        wh: &Warehouse,
        as_of: NaiveDate,
        cfg: &RecommendConfig,
        tables: &Tables,
        ticket_categories: Option<Vec<String>>,
    ) -> Result<Self, RecommendError> {
        let (mut rec, eligible, snapshots) = Self::fit_base(wh, as_of, cfg, tables)?;
        if let Some(vocabulary) = ticket_categories {
            let days: Vec<i32> = snapshots.iter().map(|s| s.0).collect();
            let signals = read_context(wh, tables, &days, &vocabulary)?;
            rec.context = Some(fit_context(
                tables, &eligible, &snapshots, &rec.model, cfg, vocabulary, signals,
            )?);
        }
        Ok(rec)
    }

    /// The holdings model and the retention offers (no context lifts yet), with the
    /// eligibility and training snapshots the context fit reuses.
    #[allow(clippy::type_complexity)]
    fn fit_base(
        wh: &Warehouse,
        as_of: NaiveDate,
        cfg: &RecommendConfig,
        tables: &Tables,
    ) -> Result<(Self, Vec<Vec<bool>>, Vec<Snapshot>), RecommendError> {
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
        let rec = Recommender {
            config: cfg.clone(),
            fitted_as_of: as_of,
            catalogue: cat.clone(),
            model,
            context: None,
            retention_offers,
        };
        Ok((rec, eligible, snapshots))
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
        let prepared = prepare(
            wh,
            &self.catalogue,
            as_of,
            &tables,
            self.ticket_categories(),
        )?;
        Ok(self.suggest_map(&tables, &prepared, risk))
    }

    /// [`suggest_all`](Self::suggest_all) for the customers `ids` (churn probability `risk[i]`
    /// when given), in their order: `out[i]` is empty when `ids[i]` is unknown or not active
    /// at `as_of`. No map of ids is built on either side (what a scoring run of 1M customers
    /// wants).
    pub fn suggest_for(
        &self,
        wh: &Warehouse,
        as_of: NaiveDate,
        ids: &[&str],
        risk: Option<&[f64]>,
    ) -> Result<Vec<Vec<ProductSuggestion>>, RecommendError> {
        check_risk_len(ids, risk)?;
        self.check_catalogue(&Catalogue::from_warehouse(wh)?)?;
        let tables = Tables::read(wh, self.catalogue.clone())?;
        let prepared = prepare(
            wh,
            &self.catalogue,
            as_of,
            &tables,
            self.ticket_categories(),
        )?;
        Ok(self.suggest_aligned(&tables, &prepared, ids, risk))
    }

    /// The ticket categories the context model reads (`None` without one).
    fn ticket_categories(&self) -> Option<&[String]> {
        self.context
            .as_ref()
            .map(|m| m.spec.ticket_categories.as_slice())
    }

    /// Every active customer, keyed by id, risk looked up in `risk`.
    fn suggest_map(
        &self,
        tables: &Tables,
        prep: &Prepared,
        risk: Option<&HashMap<String, f64>>,
    ) -> HashMap<String, Vec<ProductSuggestion>> {
        let ids = &tables.customers.ids;
        let targets: Vec<(usize, Option<f64>)> = prep
            .active
            .iter()
            .map(|&c| (c, risk.and_then(|r| r.get(ids[c]).copied())))
            .collect();
        let lists = self.suggest_targets(tables, prep, &targets);
        let mut out = HashMap::with_capacity(targets.len());
        for (&(c, _), list) in targets.iter().zip(lists) {
            out.insert(ids[c].to_string(), list);
        }
        out
    }

    /// `out[i]` for `ids[i]`: empty when unknown or not active at the as-of date.
    fn suggest_aligned(
        &self,
        tables: &Tables,
        prep: &Prepared,
        ids: &[&str],
        risk: Option<&[f64]>,
    ) -> Vec<Vec<ProductSuggestion>> {
        let customers = &tables.customers;
        let mut at = Vec::with_capacity(ids.len());
        let mut targets = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            match customers.index.get(id) {
                Some(&c) if customers.active_at(c as usize, prep.day) => {
                    at.push(Some(targets.len()));
                    targets.push((c as usize, risk.map(|r| r[i])));
                }
                _ => at.push(None),
            }
        }
        let mut lists: Vec<Option<Vec<ProductSuggestion>>> = self
            .suggest_targets(tables, prep, &targets)
            .into_iter()
            .map(Some)
            .collect();
        at.into_iter()
            .map(|k| k.and_then(|k| lists[k].take()).unwrap_or_default())
            .collect()
    }

    /// The lists of `targets` (customer, churn risk), in order. The adoption part of a list
    /// depends only on the customer's level-0 key (segment, recent overage, holdings), and
    /// most customers share few keys: each distinct key is ranked once, then the customers
    /// are served in parallel. Same output whatever the thread count.
    fn suggest_targets(
        &self,
        tables: &Tables,
        prep: &Prepared,
        targets: &[(usize, Option<f64>)],
    ) -> Vec<Vec<ProductSuggestion>> {
        let t = std::time::Instant::now();
        let customers = &tables.customers;
        let mut key_index: FxMap<Vec<u64>, u32> = FxMap::default();
        let mut keys: Vec<(Vec<u64>, usize)> = Vec::new();
        let mut key_of: Vec<u32> = Vec::with_capacity(targets.len());
        let mut buf = Vec::new();
        for &(c, _) in targets {
            let seg = customers.segment[c];
            level0_key(&mut buf, seg, prep.overage[c], prep.holdings.row(c));
            let k = match key_index.get(buf.as_slice()) {
                Some(&k) => k,
                None => {
                    let k = keys.len() as u32;
                    key_index.insert(buf.clone(), k);
                    keys.push((buf.clone(), seg as usize));
                    k
                }
            };
            key_of.push(k);
        }
        drop(key_index);
        tracing::debug!(seconds = t.elapsed().as_secs_f64(), "suggest: keys");
        if let (Some(model), Some(raw)) = (&self.context, &prep.raw) {
            // With context lifts a list depends on the customer's context too: the holdings
            // model's probabilities are computed once per key, the rest per customer.
            let base: Vec<Vec<(f64, Evidence)>> = keys
                .par_iter()
                .map(|(key, _)| self.model.predict(&self.catalogue, key))
                .collect();
            tracing::debug!(
                seconds = t.elapsed().as_secs_f64(),
                keys = keys.len(),
                "suggest: holdings model per key"
            );
            let parts = RationaleParts::new(&self.catalogue, &customers.segments);
            let encoding = model.spec.encoding(customers, &tables.profile);
            let lists = targets
                .par_iter()
                .zip(key_of.par_iter())
                .with_min_len(1_024)
                .map_init(
                    || (Vec::new(), Vec::new()),
                    |(ctx, lift), (&(c, risk), &k)| {
                        let (key, seg) = &keys[k as usize];
                        encoding.encode(customers, prep.day, c, &raw[c], ctx);
                        model.lifts_into(ctx, lift);
                        let base = &base[k as usize];
                        let ranked = self.ranked_in_context(key, base, &prep.eligible[*seg], lift);
                        self.suggest_one_in_context(customers, prep, c, risk, &ranked, |g, x, p| {
                            self.context_suggestion(p, g, x, base, &parts, *seg, model, ctx)
                        })
                    },
                )
                .collect();
            tracing::debug!(seconds = t.elapsed().as_secs_f64(), "suggest: lists built");
            return lists;
        }
        let ranked: Vec<Vec<ProductSuggestion>> = keys
            .par_iter()
            .map(|(key, seg)| {
                self.ranked_adoptions(key, &customers.segments[*seg], &prep.eligible[*seg])
            })
            .collect();
        tracing::debug!(
            seconds = t.elapsed().as_secs_f64(),
            keys = keys.len(),
            "suggest: adoptions ranked per key"
        );
        let lists = targets
            .par_iter()
            .zip(key_of.par_iter())
            .with_min_len(4_096)
            .map(|(&(c, risk), &k)| self.suggest_one(customers, prep, c, risk, &ranked[k as usize]))
            .collect();
        tracing::debug!(seconds = t.elapsed().as_secs_f64(), "suggest: lists built");
        lists
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

    /// The adoption candidates of one customer with context lifts, `(gain, probability,
    /// product)` best first: probability = holdings model × the lifts of its context (`lift`:
    /// their product per product), ranked by expected gain; the top `top_k + 2` (spares for
    /// products that right-sizing or retention already took).
    fn ranked_in_context(
        &self,
        key: &[u64],
        base: &[(f64, Evidence)],
        eligible: &[bool],
        lift: &[f64],
    ) -> Vec<(f64, f64, usize)> {
        let cat = &self.catalogue;
        let held = &key[1..];
        let keep = self.config.top_k + 2;
        let mut top: Vec<(f64, f64, usize)> = Vec::with_capacity(keep + 1);
        for p in 0..cat.len() {
            if base[p].0 <= 0.0 || !eligible[p] || adoption::has(held, p) {
                continue;
            }
            let prob = (base[p].0 * lift[p]).min(MAX_PROBABILITY);
            let gain = prob * cat.products[p].monthly_margin();
            // Insertion into the few best so far (ties: lower product index first, as a
            // stable sort by gain would give).
            if top.len() == keep && gain <= top[keep - 1].0 {
                continue;
            }
            let at = top.partition_point(|t| t.0 >= gain);
            top.insert(at, (gain, prob, p));
            top.truncate(keep);
        }
        top
    }

    /// The suggestion of adoption candidate `p` of the context path, with its rationale.
    #[allow(clippy::too_many_arguments)]
    fn context_suggestion(
        &self,
        p: usize,
        gain: f64,
        prob: f64,
        base: &[(f64, Evidence)],
        parts: &RationaleParts,
        segment: usize,
        model: &ContextModel,
        ctx: &[u8],
    ) -> ProductSuggestion {
        let (base_prob, evidence) = base[p];
        let rationale = context_rationale(parts, segment, p, prob, base_prob, evidence, model, ctx);
        adoption_row(&self.catalogue, p, prob, gain, rationale)
    }

    fn suggest_one(
        &self,
        customers: &Customers,
        prep: &Prepared,
        c: usize,
        risk: Option<f64>,
        ranked: &[ProductSuggestion],
    ) -> Vec<ProductSuggestion> {
        let mut list = self.fixed_suggestions(customers, prep, c, risk);
        let room = self.config.top_k.saturating_sub(list.len());
        let extra = ranked
            .iter()
            .filter(|s| list.iter().all(|t| t.product_id != s.product_id))
            .take(room)
            .cloned()
            .collect::<Vec<_>>();
        list.extend(extra);
        list
    }

    /// [`suggest_one`](Self::suggest_one) from ranked candidates `(gain, probability, product)`
    /// of the context path: only the adoptions that make the list get a rationale written.
    fn suggest_one_in_context(
        &self,
        customers: &Customers,
        prep: &Prepared,
        c: usize,
        risk: Option<f64>,
        ranked: &[(f64, f64, usize)],
        make: impl Fn(f64, f64, usize) -> ProductSuggestion,
    ) -> Vec<ProductSuggestion> {
        let cat = &self.catalogue;
        let mut list = self.fixed_suggestions(customers, prep, c, risk);
        let room = self.config.top_k.saturating_sub(list.len());
        let extra = ranked
            .iter()
            .filter(|&&(_, _, p)| list.iter().all(|t| t.product_id != cat.products[p].id))
            .take(room)
            .map(|&(gain, prob, p)| make(gain, prob, p))
            .collect::<Vec<_>>();
        list.extend(extra);
        list
    }

    /// The suggestions that come before adoptions: right-sizing, then a retention offer for a
    /// customer at risk.
    fn fixed_suggestions(
        &self,
        customers: &Customers,
        prep: &Prepared,
        c: usize,
        risk: Option<f64>,
    ) -> Vec<ProductSuggestion> {
        let cat = &self.catalogue;
        let k = self.config.top_k;
        let seg = customers.segment[c] as usize;
        let held = prep.holdings.row(c);
        let may_offer = |p: usize| prep.eligible[seg][p] && !adoption::has(held, p);
        let mut list = Vec::with_capacity(k);

        if let Some(fit) = rightsize::right_size(cat, &prep.plans, c, &may_offer) {
            list.push(fit.suggestion(cat));
        }
        if let Some(r) = risk.filter(|r| *r >= self.config.retention_min_risk) {
            let margin = prep.plans.monthly_margin[c];
            if let Some(s) = self.retention_suggestion(c, r, margin, &may_offer, &list) {
                if list.len() < k {
                    list.push(s);
                }
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
    let who = evidence_phrase(evidence, segment);
    let rationale = format!(
        "{:.1}% of {who} added it within 90 days; margin {:.2}/month",
        prob * 100.0,
        product.monthly_margin()
    );
    adoption_row(cat, p, prob, gain, rationale)
}

/// An adoption suggestion of product `p`.
fn adoption_row(
    cat: &Catalogue,
    p: usize,
    prob: f64,
    gain: f64,
    rationale: String,
) -> ProductSuggestion {
    let product = &cat.products[p];
    ProductSuggestion {
        product_id: product.id.clone(),
        product_name: product.name.clone(),
        category: product.category.clone(),
        kind: SuggestionKind::Adoption,
        expected_gain: gain,
        adoption_probability: prob,
        monthly_saving: None,
        rationale,
    }
}

/// Whose adoptions an estimate rests on, for a rationale.
fn evidence_phrase(evidence: Evidence, segment: &str) -> String {
    match evidence {
        Evidence::SameProducts => format!("{segment} customers holding the same products"),
        Evidence::SameCategories => {
            format!("{segment} customers holding the same product categories")
        }
        Evidence::Segment => format!("{segment} customers"),
        Evidence::Global => "customers".to_string(),
    }
}

/// The fixed pieces of context rationales, written once per run: who an estimate rests on
/// (per segment and evidence level) and each product's margin clause.
struct RationaleParts {
    /// `who[segment][evidence as usize]`.
    who: Vec<[String; 4]>,
    /// "; margin 6.48/month" per product.
    margin: Vec<String>,
}

impl RationaleParts {
    fn new(cat: &Catalogue, segments: &[String]) -> Self {
        let levels = [
            Evidence::SameProducts,
            Evidence::SameCategories,
            Evidence::Segment,
            Evidence::Global,
        ];
        RationaleParts {
            who: segments
                .iter()
                .map(|s| levels.map(|e| evidence_phrase(e, s)))
                .collect(),
            margin: cat
                .products
                .iter()
                .map(|p| format!("; margin {:.2}/month", p.monthly_margin()))
                .collect(),
        }
    }
}

fn evidence_index(e: Evidence) -> usize {
    match e {
        Evidence::SameProducts => 0,
        Evidence::SameCategories => 1,
        Evidence::Segment => 2,
        Evidence::Global => 3,
    }
}

/// Appends `x` with one decimal, as `{:.1}` would print it (to within the last digit's
/// rounding), from integers: float formatting was most of the cost of a million rationales.
fn push_one_decimal(out: &mut String, x: f64) {
    use std::fmt::Write;
    if !x.is_finite() || x.abs() >= 1e15 {
        let _ = write!(out, "{x:.1}");
        return;
    }
    let v = (x * 10.0).round() as i64;
    if v < 0 {
        out.push('-');
    }
    let v = v.unsigned_abs();
    let _ = write!(out, "{}.{}", v / 10, v % 10);
}

/// "23.4% likely within 90 days: 3.1% of consumer customers holding the same products added
/// it, 7.5x as often with voice use in the top 10% of the segment; margin 6.48/month".
#[allow(clippy::too_many_arguments)]
fn context_rationale(
    parts: &RationaleParts,
    segment: usize,
    p: usize,
    prob: f64,
    base: f64,
    evidence: Evidence,
    model: &ContextModel,
    ctx: &[u8],
) -> String {
    let who = &parts.who[segment][evidence_index(evidence)];
    let strongest = model.strongest(ctx, p, NOTABLE_LIFT);
    let mut out = String::with_capacity(160);
    push_one_decimal(&mut out, prob * 100.0);
    out.push_str(if strongest.is_some() {
        "% likely within 90 days: "
    } else {
        "% likely within 90 days ("
    });
    push_one_decimal(&mut out, base * 100.0);
    out.push_str("% of ");
    out.push_str(who);
    match strongest {
        Some((label, x)) => {
            out.push_str(" added it, ");
            push_one_decimal(&mut out, x);
            out.push_str("x as often with ");
            out.push_str(label);
        }
        None => out.push_str(" added it)"),
    }
    out.push_str(&parts.margin[p]);
    out
}

/// The context signals of every customer on each of `days`, with the capacity of the data
/// plan held on that day.
fn read_context(
    wh: &Warehouse,
    tables: &Tables,
    days: &[i32],
    ticket_categories: &[String],
) -> Result<Vec<Vec<Raw>>, RecommendError> {
    let t = std::time::Instant::now();
    let customers = &tables.customers;
    let (signals, capacities) = rayon::join(
        || context::read_signals(wh, customers, days, ticket_categories),
        || {
            context::plan_capacity(
                &tables.catalogue,
                &tables.assignments,
                customers.len(),
                days,
            )
        },
    );
    let mut signals = signals?;
    for (day, capacity) in signals.iter_mut().zip(capacities) {
        for (x, c) in day.iter_mut().zip(capacity) {
            x.capacity = c;
        }
    }
    tracing::debug!(
        seconds = t.elapsed().as_secs_f64(),
        days = days.len(),
        "context: signals read"
    );
    Ok(signals)
}

/// Fits the context lifts on the training snapshots: `raw[k]` holds the signals on snapshot
/// `k`'s day, decile edges come from the newest one, at most `cfg.context_rows`
/// customer-days (a seeded sample beyond).
#[allow(clippy::too_many_arguments)]
fn fit_context(
    tables: &Tables,
    eligible: &[Vec<bool>],
    snapshots: &[Snapshot],
    model: &AdoptionModel,
    cfg: &RecommendConfig,
    ticket_categories: Vec<String>,
    raw: Vec<Vec<Raw>>,
) -> Result<ContextModel, RecommendError> {
    let t = std::time::Instant::now();
    let (cat, customers) = (&tables.catalogue, &tables.customers);
    let days: Vec<i32> = snapshots.iter().map(|s| s.0).collect();
    let newest = days
        .iter()
        .enumerate()
        .max_by_key(|(_, d)| **d)
        .map_or(0, |(k, _)| k);
    let day_list: &[i32] = &days;
    let active =
        |k: usize| (0..customers.len()).filter(move |&c| customers.active_at(c, day_list[k]));
    let spec = ContextSpec::fit(
        customers,
        &tables.profile,
        ticket_categories,
        &raw[newest],
        &active(newest).collect::<Vec<_>>(),
    );
    tracing::debug!(seconds = t.elapsed().as_secs_f64(), "context: spec fitted");
    let encoding = spec.encoding(customers, &tables.profile);
    let total: usize = (0..days.len()).map(|k| active(k).count()).sum();
    let keep = cfg.context_rows as f64 / total.max(1) as f64;
    let np = cat.len();
    let mut rows = LiftRows::new(np, spec.len());
    let mut base_of: FxMap<Vec<u64>, Vec<f32>> = FxMap::default();
    let (mut key, mut ctx, mut added) = (Vec::new(), Vec::new(), vec![0u8; np]);
    for (k, (day, holdings, overage, adopted)) in snapshots.iter().enumerate() {
        for c in active(k) {
            if keep < 1.0 && unit_hash(cfg.seed, c as u64, k as u64) >= keep {
                continue;
            }
            let seg = customers.segment[c];
            let held = holdings.row(c);
            level0_key(&mut key, seg, overage[c], held);
            if !base_of.contains_key(key.as_slice()) {
                let probs = model.predict(cat, &key);
                let b: Vec<f32> = (0..np)
                    .map(|p| {
                        if eligible[seg as usize][p] && !adoption::has(held, p) {
                            probs[p].0 as f32
                        } else {
                            0.0
                        }
                    })
                    .collect();
                base_of.insert(key.clone(), b);
            }
            let base = &base_of[key.as_slice()];
            for (p, a) in added.iter_mut().enumerate() {
                *a = u8::from(base[p] > 0.0 && adoption::has(adopted.row(c), p));
            }
            encoding.encode(customers, *day, c, &raw[k][c], &mut ctx);
            rows.push(base, &added, &ctx);
        }
    }
    Ok(ContextModel::fit(
        spec,
        &rows,
        cfg.lift_smoothing,
        LIFT_ROUNDS,
    ))
}

/// A uniform number in [0, 1) from a seed and two indices (SplitMix64).
fn unit_hash(seed: u64, a: u64, b: u64) -> f64 {
    let mut z =
        seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// What suggesting reads from the warehouse at the as-of date.
struct Prepared {
    /// The as-of date as days since 1970-01-01.
    day: i32,
    eligible: Vec<Vec<bool>>,
    holdings: adoption::Bits,
    overage: Vec<bool>,
    plans: rightsize::PlanInputs,
    active: Vec<usize>,
    /// Context signals at the as-of date (when a context model is used).
    raw: Option<Vec<Raw>>,
}

/// Everything suggesting reads from the warehouse at `as_of`; products indexed by `catalogue`.
/// `ticket_categories` (the context model's) reads the context signals too.
fn prepare(
    wh: &Warehouse,
    catalogue: &Catalogue,
    as_of: NaiveDate,
    tables: &Tables,
    ticket_categories: Option<&[String]>,
) -> Result<Prepared, RecommendError> {
    let t = std::time::Instant::now();
    let (customers, asg) = (&tables.customers, &tables.assignments);
    let eligible = data::eligibility(catalogue, customers);
    let d = day(as_of);
    let holdings = adoption::holdings_at(asg, customers.len(), catalogue.len(), d);
    tracing::debug!(seconds = t.elapsed().as_secs_f64(), "suggest: holdings");
    let (plans, raw) = rayon::join(
        || rightsize::PlanInputs::collect(wh, catalogue, customers, asg, d),
        || {
            ticket_categories
                .map(|v| read_context(wh, tables, &[d], v))
                .transpose()
        },
    );
    let plans = plans?;
    let raw = raw?.and_then(|mut r| r.pop());
    let overage = plans.recent_overage.clone();
    tracing::debug!(seconds = t.elapsed().as_secs_f64(), "suggest: plan inputs");
    let active = (0..customers.len())
        .filter(|&c| customers.active_at(c, d))
        .collect();
    Ok(Prepared {
        day: d,
        eligible,
        holdings,
        overage,
        plans,
        active,
        raw,
    })
}

/// `risk`, when given, must hold one probability per id.
fn check_risk_len(ids: &[&str], risk: Option<&[f64]>) -> Result<(), RecommendError> {
    match risk {
        Some(r) if r.len() != ids.len() => Err(RecommendError::InvalidConfig {
            name: "risk",
            value: format!("{} probabilities for {} customers", r.len(), ids.len()),
            reason: "one churn probability per customer id",
        }),
        _ => Ok(()),
    }
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
    let cursor = data::RowCursor::new;
    let mut ids = cursor(data::strs(df, t, campaign::CUSTOMER_ID)?);
    let mut kind = cursor(data::strs(df, t, campaign::CAMPAIGN_TYPE)?);
    let mut target = data::RowCursor::new(data::dates(df, t, campaign::TARGET_DATE)?);
    let mut group = cursor(data::strs(df, t, campaign::TREATMENT_GROUP)?);
    let mut offered = cursor(data::strs(df, t, campaign::OFFERED_PRODUCT_ID)?);
    // [product] → (treated, treated churners, control, control churners)
    let mut tally: HashMap<usize, [usize; 4]> = HashMap::new();
    let mut lookup = data::IdLookup::new(customers);
    let mut products = data::ProductLookup::new(cat);
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
        let (Some(c), Some(pi)) = (lookup.get(id), products.get(p)) else {
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
