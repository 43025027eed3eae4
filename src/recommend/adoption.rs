//! The adoption model: the probability that a customer adds product `p` within 90 days, given
//! its segment, whether it paid overage recently, and the exact set of products it holds.
//!
//! It is a smoothed conditional rate with back-off (a hierarchical empirical-Bayes estimate):
//! counts of "exposed" customer-snapshots (eligible, not holding `p`) and of adoptions are kept
//! at four levels, finest first —
//! 0. segment × recent overage × exact holding set,
//! 1. segment × recent overage × set of held categories,
//! 2. segment × recent overage,
//! 3. segment,
//!
//! and the estimate at a level is `(adoptions + m · prior) / (exposed + m)`, the prior being the
//! estimate one level coarser (the global rate at the top). Training snapshots are taken every
//! 90 days before the as-of date, so each 90-day label window ends on or before it (no leakage).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::data::{dates, floats, strs};
use super::data::{
    each_row_where, Catalogue, Customers, FxMap, IdLookup, ProductLookup, RowCursor as Cursor,
};
use super::RecommendError;
use crate::warehouse::schema::{assignment, invoice};
use crate::warehouse::{Table, Warehouse};
use rayon::prelude::*;

/// The label window of an adoption, in days.
pub const HORIZON_DAYS: i32 = 90;
/// A customer "paid overage recently" when an invoice dated in the last this many days had
/// `overage_amount > 0` (two monthly invoices).
pub const OVERAGE_WINDOW_DAYS: i32 = 62;

/// Service assignments with a known customer and product, as plain columns.
pub(crate) struct Assignments {
    pub customer: Vec<u32>,
    pub product: Vec<u16>,
    pub start: Vec<i32>,
    pub end: Vec<Option<i32>>,
    pub fee: Vec<f64>,
}

impl Assignments {
    pub fn from_warehouse(
        wh: &Warehouse,
        cat: &Catalogue,
        customers: &Customers,
    ) -> Result<Self, RecommendError> {
        let df = &wh.assignments;
        let t = Table::ServiceAssignment;
        let cust = strs(df, t, assignment::CUSTOMER_ID)?;
        let prod = strs(df, t, assignment::PRODUCT_ID)?;
        let start = dates(df, t, assignment::START_DATE)?;
        let end = dates(df, t, assignment::END_DATE)?;
        let fee = floats(df, t, assignment::MONTHLY_FEE)?;
        let mut out = Assignments {
            customer: Vec::with_capacity(df.height()),
            product: Vec::with_capacity(df.height()),
            start: Vec::with_capacity(df.height()),
            end: Vec::with_capacity(df.height()),
            fee: Vec::with_capacity(df.height()),
        };
        let mut ids = IdLookup::new(customers);
        let mut products = ProductLookup::new(cat);
        for ((((c, p), s), e), f) in cust
            .iter()
            .zip(prod.iter())
            .zip(start.iter())
            .zip(end.iter())
            .zip(fee.iter())
        {
            let (Some(c), Some(p), Some(s)) = (c, p, s) else {
                continue;
            };
            let Some(ci) = ids.get(c) else { continue };
            let Some(pi) = products.get(p) else { continue };
            out.customer.push(ci);
            out.product.push(pi as u16);
            out.start.push(s);
            out.end.push(e);
            out.fee.push(f.unwrap_or(0.0));
        }
        Ok(out)
    }

    pub fn len(&self) -> usize {
        self.customer.len()
    }

    /// Whether assignment `i` is active at day `d` (started on or before, not ended by then).
    pub fn active_at(&self, i: usize, d: i32) -> bool {
        self.start[i] <= d && self.end[i].is_none_or(|e| e > d)
    }
}

/// Bitsets of products, one row of `words` u64 per customer.
#[derive(Debug, Clone)]
pub(crate) struct Bits {
    pub words: usize,
    pub data: Vec<u64>,
}

impl Bits {
    pub fn new(rows: usize, products: usize) -> Self {
        let words = products.div_ceil(64).max(1);
        Bits {
            words,
            data: vec![0; rows * words],
        }
    }
    pub fn set(&mut self, row: usize, p: usize) {
        self.data[row * self.words + p / 64] |= 1 << (p % 64);
    }
    pub fn row(&self, row: usize) -> &[u64] {
        &self.data[row * self.words..(row + 1) * self.words]
    }
}

pub(crate) fn has(bits: &[u64], p: usize) -> bool {
    bits[p / 64] & (1 << (p % 64)) != 0
}

/// Products each customer holds at day `d`.
pub(crate) fn holdings_at(a: &Assignments, n_customers: usize, n_products: usize, d: i32) -> Bits {
    let mut bits = Bits::new(n_customers, n_products);
    for i in 0..a.len() {
        if a.active_at(i, d) {
            bits.set(a.customer[i] as usize, a.product[i] as usize);
        }
    }
    bits
}

/// Products each customer started in `(from, to]`, after its signup date (products taken at
/// signup are not "added next").
pub(crate) fn adoptions_in(
    a: &Assignments,
    customers: &Customers,
    n_products: usize,
    from: i32,
    to: i32,
) -> Bits {
    let mut bits = Bits::new(customers.len(), n_products);
    for i in 0..a.len() {
        let s = a.start[i];
        let c = a.customer[i] as usize;
        if s > from && s <= to && s > customers.signup[c] {
            bits.set(c, a.product[i] as usize);
        }
    }
    bits
}

/// For each day in `days`, whether each customer had an invoice with overage in the
/// [`OVERAGE_WINDOW_DAYS`] ending on it. `flags[k][customer]`.
pub(crate) fn recent_overage(
    wh: &Warehouse,
    customers: &Customers,
    days: &[i32],
) -> Result<Vec<Vec<bool>>, RecommendError> {
    let df = &wh.invoices;
    let t = Table::Invoice;
    let cust = strs(df, t, invoice::CUSTOMER_ID)?;
    let date = dates(df, t, invoice::INVOICE_DATE)?;
    let over = floats(df, t, invoice::OVERAGE_AMOUNT)?;
    let mut flags = vec![vec![false; customers.len()]; days.len()];
    let lo = days.iter().min().copied().unwrap_or(0) - OVERAGE_WINDOW_DAYS;
    let hi = days.iter().max().copied().unwrap_or(0);
    let mut ids = IdLookup::new(customers);
    let (mut cust, mut over) = (Cursor::new(cust), Cursor::new(over));
    // Dates first (a plain scan of the date column), then the rows in the window.
    each_row_where(
        date,
        |d| d > lo && d <= hi,
        |row, d| {
            let (Some(o), Some(c)) = (over.get(row), cust.get(row)) else {
                return;
            };
            if o <= 0.0 {
                return;
            }
            let Some(ci) = ids.get(c) else { return };
            for (k, &day) in days.iter().enumerate() {
                if d <= day && d > day - OVERAGE_WINDOW_DAYS {
                    flags[k][ci as usize] = true;
                }
            }
        },
    );
    Ok(flags)
}

/// Exposed and adopted counts per product at one key.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Counts {
    pub exposed: Vec<f64>,
    pub adopted: Vec<f64>,
}

impl Counts {
    fn new(n: usize) -> Self {
        Counts {
            exposed: vec![0.0; n],
            adopted: vec![0.0; n],
        }
    }
    fn add(&mut self, other: &Counts) {
        for (a, b) in self.exposed.iter_mut().zip(&other.exposed) {
            *a += b;
        }
        for (a, b) in self.adopted.iter_mut().zip(&other.adopted) {
            *a += b;
        }
    }
}

/// How coarse the evidence behind an estimate is (finest level with enough exposures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    SameProducts,
    SameCategories,
    Segment,
    Global,
}

/// The fitted adoption model (see the module doc).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdoptionModel {
    n_products: usize,
    smoothing: f64,
    /// Level 0..=2 keys: `[segment | overage << 16, bits…]`; level 3: `[segment]`.
    levels: [HashMap<Vec<u64>, Counts>; 4],
    global: Counts,
    /// Number of exposures needed to name a level in a rationale.
    min_evidence: f64,
}

/// The key of a customer at level 0.
pub(crate) fn level0_key(buf: &mut Vec<u64>, segment: u16, overage: bool, holdings: &[u64]) {
    buf.clear();
    buf.push(segment as u64 | (overage as u64) << 16);
    buf.extend_from_slice(holdings);
}

fn category_bits(cat: &Catalogue, holdings: &[u64]) -> Vec<u64> {
    let mut bits = vec![0u64; cat.categories.len().div_ceil(64).max(1)];
    for p in 0..cat.len() {
        if has(holdings, p) {
            let c = cat.category_of[p];
            bits[c / 64] |= 1 << (c % 64);
        }
    }
    bits
}

impl AdoptionModel {
    /// Counts from snapshots: for each `(day, holdings, overage flags, adoptions)`, every
    /// customer active at `day` is exposed to every eligible product it does not hold.
    #[allow(clippy::needless_range_loop)] // customer and product indices address several arrays
    pub(crate) fn fit(
        cat: &Catalogue,
        customers: &Customers,
        eligible: &[Vec<bool>],
        snapshots: &[(i32, Bits, Vec<bool>, Bits)],
        smoothing: f64,
    ) -> Self {
        let n = cat.len();
        // Level 0 first: rows per key, adoptions per key; one partial count per snapshot, in
        // parallel, then summed (whole numbers: the sums are exact in any order).
        type Level0 = FxMap<Vec<u64>, (f64, Vec<f64>)>;
        let count = |(day, holdings, overage, adopted): &(i32, Bits, Vec<bool>, Bits)| {
            let mut l0 = Level0::default();
            let mut buf = Vec::new();
            for c in 0..customers.len() {
                if !customers.active_at(c, *day) {
                    continue;
                }
                let seg = customers.segment[c];
                let held = holdings.row(c);
                level0_key(&mut buf, seg, overage[c], held);
                let entry = match l0.get_mut(buf.as_slice()) {
                    Some(e) => e,
                    None => l0.entry(buf.clone()).or_insert((0.0, vec![0.0; n])),
                };
                entry.0 += 1.0;
                let adds = adopted.row(c);
                if adds.iter().any(|w| *w != 0) {
                    for p in 0..n {
                        if has(adds, p) && !has(held, p) && eligible[seg as usize][p] {
                            entry.1[p] += 1.0;
                        }
                    }
                }
            }
            l0
        };
        let l0 = snapshots
            .par_iter()
            .map(count)
            .reduce(Level0::default, |mut a, b| {
                for (key, (rows, adds)) in b {
                    let e = a.entry(key).or_insert((0.0, vec![0.0; n]));
                    e.0 += rows;
                    for (x, y) in e.1.iter_mut().zip(adds) {
                        *x += y;
                    }
                }
                a
            });
        let mut levels: [HashMap<Vec<u64>, Counts>; 4] = Default::default();
        let mut global = Counts::new(n);
        for (key, (rows, adds)) in l0 {
            let head = key[0];
            let seg = (head & 0xffff) as usize;
            let held = &key[1..];
            let mut counts = Counts::new(n);
            for p in 0..n {
                if eligible[seg][p] && !has(held, p) {
                    counts.exposed[p] = rows;
                    counts.adopted[p] = adds[p];
                }
            }
            let mut k1 = vec![head];
            k1.extend(category_bits(cat, held));
            let keys = [k1, vec![head], vec![seg as u64]];
            for (level, k) in keys.into_iter().enumerate() {
                levels[level + 1]
                    .entry(k)
                    .or_insert_with(|| Counts::new(n))
                    .add(&counts);
            }
            global.add(&counts);
            levels[0].insert(key, counts);
        }
        AdoptionModel {
            n_products: n,
            smoothing,
            levels,
            global,
            min_evidence: 30.0,
        }
    }

    /// Adoption probability of every product (0 for ineligible or held products) and the
    /// evidence behind it, for a customer with this level-0 key.
    pub(crate) fn predict(&self, cat: &Catalogue, key: &[u64]) -> Vec<(f64, Evidence)> {
        let n = self.n_products;
        let head = key[0];
        let seg = head & 0xffff;
        let held = &key[1..];
        let mut k1 = vec![head];
        k1.extend(category_bits(cat, held));
        let found = [
            self.levels[3].get([seg].as_slice()),
            self.levels[2].get([head].as_slice()),
            self.levels[1].get(k1.as_slice()),
            self.levels[0].get(key),
        ];
        let evidence_of = [
            Evidence::Segment,
            Evidence::Segment,
            Evidence::SameCategories,
            Evidence::SameProducts,
        ];
        let m = self.smoothing;
        (0..n)
            .map(|p| {
                let g = &self.global;
                let mut prob = if g.exposed[p] > 0.0 {
                    g.adopted[p] / g.exposed[p]
                } else {
                    0.0
                };
                let mut evidence = Evidence::Global;
                for (lvl, counts) in found.iter().enumerate() {
                    if let Some(c) = counts {
                        if c.exposed[p] > 0.0 {
                            prob = (c.adopted[p] + m * prob) / (c.exposed[p] + m);
                            if c.exposed[p] >= self.min_evidence {
                                evidence = evidence_of[lvl];
                            }
                        }
                    }
                }
                (prob, evidence)
            })
            .collect()
    }

    /// Adoptions per product in a segment over the training windows (the popularity baseline).
    pub(crate) fn segment_adoptions(&self, segment: u16) -> Vec<f64> {
        self.levels[3]
            .get([segment as u64].as_slice())
            .map(|c| c.adopted.clone())
            .unwrap_or_else(|| vec![0.0; self.n_products])
    }

    /// Customer-snapshots and adoptions the model learned from.
    pub fn training_counts(&self) -> (f64, f64) {
        let rows: f64 = self.levels[0]
            .values()
            .map(|c| c.exposed.iter().cloned().fold(0.0, f64::max))
            .sum();
        (rows, self.global.adopted.iter().sum())
    }
}
