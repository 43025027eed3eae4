//! What the warehouse shows about a customer on a day besides its holdings — tier, region,
//! contract, tenure, data and voice use, network problems, bill size and the categories of its
//! recent tickets — as small categorical values ("context features"), so that the adoption
//! model can learn that heavy callers add call packs, or that a technical ticket precedes a
//! Wi-Fi extender, without a feature pipeline of its own.
//!
//! Every value is read point-in-time: facts dated in the 90 days ending on the day, never
//! after. Numeric signals become bands by deciles within the customer's segment (edges
//! fitted once, on the newest training day, and kept with the model), so a band means the
//! same thing whatever the warehouse's units or scale; categorical columns keep the
//! warehouse's own vocabulary.

use serde::{Deserialize, Serialize};

use super::data::{dates, each_row_where, floats, strs, Customers, IdLookup, RowCursor};
use super::RecommendError;
use crate::warehouse::schema::{customer, invoice, ticket, usage};
use crate::warehouse::{Table, Warehouse};

/// Length of the window a context reads, in days (the 90 days ending on the day).
pub const CONTEXT_DAYS: i32 = 90;
/// Ticket categories kept as features (the most frequent ones).
const MAX_TICKET_CATEGORIES: usize = 8;
/// Values kept of a categorical column (the most frequent ones; the rest share one value).
const MAX_VOCABULARY: usize = 64;
/// Tenure band edges in days: under 6 months, 6–12 months, 1–2 years, longer.
const TENURE_EDGES: [i32; 3] = [182, 365, 730];
const TENURE_LABELS: [&str; 4] = [
    "under 6 months of tenure",
    "6-12 months of tenure",
    "1-2 years of tenure",
    "over 2 years of tenure",
];
/// Quantiles of the numeric bands (deciles within the segment).
const BAND_QUANTILES: [f64; 9] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
const BAND_LABELS: [&str; 10] = [
    "in the lowest 10%",
    "in the 10-20% band",
    "in the 20-30% band",
    "in the 30-40% band",
    "in the 40-50% band",
    "in the 50-60% band",
    "in the 60-70% band",
    "in the 70-80% band",
    "in the 80-90% band",
    "in the top 10%",
];
/// Edges of the plan allowance bands (monthly data use / the held plan's allowance × lines).
const ALLOWANCE_EDGES: [f64; 4] = [0.4, 0.6, 0.8, 1.0];
const ALLOWANCE_LABELS: [&str; 6] = [
    "no capped data plan",
    "under 40% of its plan's data allowance used",
    "40-60% of its plan's data allowance used",
    "60-80% of its plan's data allowance used",
    "80-100% of its plan's data allowance used",
    "more data than its plan's allowance used",
];
/// Days in an average month (daily usage rows are summed to a month with it).
const DAYS_PER_MONTH: f64 = 30.4375;

/// Raw signals of one customer over the 90 days ending on one day.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Raw {
    data_sum: f32,
    voice_sum: f32,
    usage_rows: u16,
    dropped: f32,
    outage_minutes: f32,
    bill_sum: f32,
    bills: u16,
    /// Bit k: a ticket of category k (of [`ContextSpec::ticket_categories`] order at reading
    /// time: the warehouse vocabulary, most frequent first) opened in the window.
    tickets: u32,
    /// Data GB a month (from the rows of the window, daily or monthly grain).
    monthly_data: f32,
    /// Allowance × lines of the capped data plan held on the day (NaN: none).
    pub capacity: f32,
}

impl Raw {
    /// Monthly data use / the plan's capacity (`None` without a capped plan or usage).
    fn allowance_used(&self) -> Option<f64> {
        (self.usage_rows > 0 && self.capacity.is_finite() && self.capacity > 0.0)
            .then(|| f64::from(self.monthly_data) / f64::from(self.capacity))
    }

    fn numeric(&self, s: Signal) -> Option<f64> {
        match s {
            Signal::Data if self.usage_rows > 0 => {
                Some(f64::from(self.data_sum) / f64::from(self.usage_rows))
            }
            Signal::Voice if self.usage_rows > 0 => {
                Some(f64::from(self.voice_sum) / f64::from(self.usage_rows))
            }
            Signal::DropRate if self.voice_sum > 0.0 => {
                Some(100.0 * f64::from(self.dropped) / f64::from(self.voice_sum))
            }
            Signal::Outage if self.usage_rows > 0 => {
                Some(f64::from(self.outage_minutes) / f64::from(self.usage_rows))
            }
            Signal::Bill if self.bills > 0 => {
                Some(f64::from(self.bill_sum) / f64::from(self.bills))
            }
            _ => None,
        }
    }
}

impl Default for Raw {
    fn default() -> Self {
        Raw {
            data_sum: 0.0,
            voice_sum: 0.0,
            usage_rows: 0,
            dropped: 0.0,
            outage_minutes: 0.0,
            bill_sum: 0.0,
            bills: 0,
            tickets: 0,
            monthly_data: 0.0,
            capacity: f32::NAN,
        }
    }
}

/// A numeric signal banded by deciles within the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Signal {
    Data,
    Voice,
    /// Dropped calls per 100 voice minutes.
    DropRate,
    /// Outage minutes per usage row.
    Outage,
    Bill,
}

impl Signal {
    const ALL: [Signal; 5] = [
        Signal::Data,
        Signal::Voice,
        Signal::DropRate,
        Signal::Outage,
        Signal::Bill,
    ];

    fn name(self) -> &'static str {
        match self {
            Signal::Data => "data_use",
            Signal::Voice => "voice_use",
            Signal::DropRate => "dropped_call_rate",
            Signal::Outage => "outage_minutes",
            Signal::Bill => "bill_size",
        }
    }

    fn phrase(self) -> &'static str {
        match self {
            Signal::Data => "data use",
            Signal::Voice => "voice use",
            Signal::DropRate => "dropped calls per voice minute",
            Signal::Outage => "outage minutes",
            Signal::Bill => "monthly bill",
        }
    }
}

/// One context feature: its name and the label of each of its values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextFeature {
    pub name: String,
    /// `values[v]` describes customers with value `v` ("voice use in the top quarter of smb
    /// customers", "a technical ticket in the last 90 days").
    pub values: Vec<String>,
}

/// How contexts are read: vocabularies and quartile edges, fitted once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContextSpec {
    pub tiers: Vec<String>,
    pub regions: Vec<String>,
    pub contracts: Vec<String>,
    /// Ticket categories kept as features, most frequent first.
    pub ticket_categories: Vec<String>,
    /// `edges[signal][segment]`: up to nine increasing edges (band = edges below the value).
    pub edges: Vec<Vec<Vec<f64>>>,
    pub segments: Vec<String>,
    pub features: Vec<ContextFeature>,
}

/// Customer columns a context reads (borrowed from the warehouse).
pub(crate) struct Profile<'a> {
    tier: Vec<Option<&'a str>>,
    region: Vec<Option<&'a str>>,
    contract: Vec<Option<&'a str>>,
}

impl<'a> Profile<'a> {
    pub fn from_warehouse(wh: &'a Warehouse) -> Result<Self, RecommendError> {
        let df = &wh.customers;
        let t = Table::Customer;
        let col = |name| -> Result<Vec<Option<&'a str>>, RecommendError> {
            Ok(strs(df, t, name)?.iter().collect())
        };
        Ok(Profile {
            tier: col(customer::TIER)?,
            region: col(customer::REGION)?,
            contract: col(customer::CONTRACT_TYPE)?,
        })
    }
}

/// Vocabulary of `values`, most frequent first (ties by name), at most `max`.
fn vocabulary<'v>(values: impl Iterator<Item = &'v str>, max: usize) -> Vec<String> {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let mut v: Vec<(&str, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v.into_iter()
        .take(max)
        .map(|(s, _)| s.to_string())
        .collect()
}

/// The categories of the tickets opened on or before day `until` (UTC), most frequent first
/// (at most [`MAX_TICKET_CATEGORIES`]): later tickets must not change what a context is.
pub(crate) fn ticket_vocabulary(wh: &Warehouse, until: i32) -> Result<Vec<String>, RecommendError> {
    let t = Table::SupportTicket;
    let cats = strs(&wh.tickets, t, ticket::CATEGORY)?;
    let opened = opened_days(wh)?;
    let kept = cats
        .iter()
        .zip(opened)
        .filter_map(|(c, d)| c.filter(|_| d.is_some_and(|d| d <= until)));
    Ok(vocabulary(kept, MAX_TICKET_CATEGORIES))
}

/// The UTC day each ticket was opened.
fn opened_days(wh: &Warehouse) -> Result<Vec<Option<i32>>, RecommendError> {
    let t = Table::SupportTicket;
    let opened = wh
        .tickets
        .column(ticket::OPENED_AT)
        .and_then(|c| c.datetime())
        .map_err(|e| RecommendError::Column {
            table: t,
            column: ticket::OPENED_AT,
            problem: e.to_string(),
        })?;
    let per_day: i64 = match opened.time_unit() {
        polars::prelude::TimeUnit::Milliseconds => 86_400_000,
        polars::prelude::TimeUnit::Microseconds => 86_400_000_000,
        polars::prelude::TimeUnit::Nanoseconds => 86_400_000_000_000,
    };
    Ok(opened
        .phys
        .iter()
        .map(|ts| ts.map(|ts| ts.div_euclid(per_day) as i32))
        .collect())
}

/// Raw signals of every customer for each of `days` (`out[k][customer]`), each over the
/// [`CONTEXT_DAYS`] ending on `days[k]`. One scan of usage, invoices and tickets for all days.
pub(crate) fn read_signals(
    wh: &Warehouse,
    customers: &Customers,
    days: &[i32],
    ticket_categories: &[String],
) -> Result<Vec<Vec<Raw>>, RecommendError> {
    let n = customers.len();
    let lo = days.iter().min().copied().unwrap_or(0) - CONTEXT_DAYS;
    let hi = days.iter().max().copied().unwrap_or(0);
    let windows_of = |d: i32| -> WindowHits {
        let mut hits = WindowHits::default();
        for (k, &day) in days.iter().enumerate() {
            if d <= day && d > day - CONTEXT_DAYS {
                hits.push(k);
            }
        }
        hits
    };
    let mut out = vec![vec![Raw::default(); n]; days.len()];
    // Usage.
    {
        let df = &wh.usage;
        let t = Table::NetworkUsage;
        let mut cust = RowCursor::new(strs(df, t, usage::CUSTOMER_ID)?);
        let mut gb = RowCursor::new(floats(df, t, usage::DATA_GB)?);
        let mut voice = RowCursor::new(floats(df, t, usage::VOICE_MINUTES)?);
        let mut dropped = RowCursor::new(ints(df, t, usage::DROPPED_CALLS)?);
        let mut outage = RowCursor::new(floats(df, t, usage::OUTAGE_MINUTES)?);
        let mut ids = IdLookup::new(customers);
        // Grain: more than 1.5 rows per customer-month (on up to 50 000 rows) is daily.
        let mut sample = 0usize;
        let mut months = std::collections::HashSet::new();
        each_row_where(
            dates(df, t, usage::USAGE_DATE)?,
            |d| d > lo && d <= hi,
            |row, d| {
                let Some(c) = cust.get(row).and_then(|id| ids.get(id)) else {
                    return;
                };
                if sample < 50_000 {
                    sample += 1;
                    let date = super::data::date_of(d);
                    months.insert((
                        c,
                        chrono::Datelike::year(&date) * 12 + chrono::Datelike::month0(&date) as i32,
                    ));
                }
                let hits = windows_of(d);
                if hits.is_empty() {
                    return;
                }
                let g = gb.get(row).unwrap_or(0.0) as f32;
                let v = voice.get(row).unwrap_or(0.0) as f32;
                let drop = dropped.get(row).unwrap_or(0) as f32;
                let minutes = outage.get(row).unwrap_or(0.0) as f32;
                for &k in hits.as_slice() {
                    let r = &mut out[k][c as usize];
                    r.data_sum += g;
                    r.voice_sum += v;
                    r.dropped += drop;
                    r.outage_minutes += minutes;
                    r.usage_rows = r.usage_rows.saturating_add(1);
                }
            },
        );
        let daily = !months.is_empty() && sample as f64 / months.len() as f64 > 1.5;
        for r in out.iter_mut().flatten() {
            r.monthly_data = if daily {
                (f64::from(r.data_sum) * DAYS_PER_MONTH / f64::from(CONTEXT_DAYS)) as f32
            } else if r.usage_rows > 0 {
                r.data_sum / f32::from(r.usage_rows)
            } else {
                0.0
            };
        }
    }
    // Invoices.
    {
        let df = &wh.invoices;
        let t = Table::Invoice;
        let mut cust = RowCursor::new(strs(df, t, invoice::CUSTOMER_ID)?);
        let mut amount = RowCursor::new(floats(df, t, invoice::AMOUNT)?);
        let mut ids = IdLookup::new(customers);
        each_row_where(
            dates(df, t, invoice::INVOICE_DATE)?,
            |d| d > lo && d <= hi,
            |row, d| {
                let Some(c) = cust.get(row).and_then(|id| ids.get(id)) else {
                    return;
                };
                let a = amount.get(row).unwrap_or(0.0) as f32;
                for &k in windows_of(d).as_slice() {
                    let r = &mut out[k][c as usize];
                    r.bill_sum += a;
                    r.bills = r.bills.saturating_add(1);
                }
            },
        );
    }
    // Tickets (by the UTC day they were opened).
    if !ticket_categories.is_empty() {
        let df = &wh.tickets;
        let t = Table::SupportTicket;
        let mut cust = RowCursor::new(strs(df, t, ticket::CUSTOMER_ID)?);
        let mut cat = RowCursor::new(strs(df, t, ticket::CATEGORY)?);
        let mut ids = IdLookup::new(customers);
        for (row, d) in opened_days(wh)?.into_iter().enumerate() {
            let Some(d) = d else { continue };
            if d <= lo || d > hi {
                continue;
            }
            let Some(c) = cust.get(row).and_then(|id| ids.get(id)) else {
                continue;
            };
            let Some(bit) = cat
                .get(row)
                .and_then(|v| ticket_categories.iter().position(|k| k == v))
            else {
                continue;
            };
            for &k in windows_of(d).as_slice() {
                out[k][c as usize].tickets |= 1 << bit;
            }
        }
    }
    Ok(out)
}

/// The windows a fact falls in (at most a handful of days).
#[derive(Default)]
struct WindowHits {
    n: usize,
    k: [usize; 8],
}

impl WindowHits {
    fn push(&mut self, k: usize) {
        if self.n < self.k.len() {
            self.k[self.n] = k;
            self.n += 1;
        }
    }
    fn is_empty(&self) -> bool {
        self.n == 0
    }
    fn as_slice(&self) -> &[usize] {
        &self.k[..self.n]
    }
}

fn ints<'a>(
    df: &'a polars::prelude::DataFrame,
    table: Table,
    column: &'static str,
) -> Result<&'a polars::prelude::Int64Chunked, RecommendError> {
    df.column(column)
        .and_then(|c| c.i64())
        .map_err(|e| RecommendError::Column {
            table,
            column,
            problem: e.to_string(),
        })
}

/// Decile edges of `values` (deduplicated: a band with no width is dropped).
fn band_edges(values: &mut [f64]) -> Vec<f64> {
    if values.is_empty() {
        return Vec::new();
    }
    // Nine order statistics by selection, each in the part above the previous one (the
    // quantiles rise), instead of a full sort.
    let last = values.len() - 1;
    let mut edges: Vec<f64> = Vec::with_capacity(BAND_QUANTILES.len());
    let mut from = 0;
    for q in BAND_QUANTILES {
        let at = ((last as f64 * q).round() as usize).max(from);
        let (_, e, _) = values[from..].select_nth_unstable_by(at - from, f64::total_cmp);
        let e = *e;
        from = at;
        if edges.last().is_none_or(|&l| e > l) {
            edges.push(e);
        }
    }
    edges
}

impl ContextSpec {
    /// Vocabularies and decile edges from the customers `active` on the newest training day
    /// (`raw`: their signals), so that nothing after that day shapes a context.
    pub(crate) fn fit(
        customers: &Customers,
        profile: &Profile,
        ticket_categories: Vec<String>,
        raw: &[Raw],
        active: &[usize],
    ) -> Self {
        let vocab =
            |col: &[Option<&str>]| vocabulary(col.iter().flatten().copied(), MAX_VOCABULARY);
        let tiers = vocab(&profile.tier);
        let regions = vocab(&profile.region);
        let contracts = vocab(&profile.contract);
        let segments = customers.segments.clone();
        let edges: Vec<Vec<Vec<f64>>> = Signal::ALL
            .iter()
            .map(|&s| {
                (0..segments.len())
                    .map(|seg| {
                        let mut v: Vec<f64> = active
                            .iter()
                            .filter(|&&c| customers.segment[c] as usize == seg)
                            .filter_map(|&c| raw[c].numeric(s))
                            .collect();
                        band_edges(&mut v)
                    })
                    .collect()
            })
            .collect();
        let mut spec = ContextSpec {
            tiers,
            regions,
            contracts,
            ticket_categories,
            edges,
            segments,
            features: Vec::new(),
        };
        spec.features = spec.describe();
        spec
    }

    /// Names and value labels of the features, in [`ContextSpec::encode`]'s order.
    fn describe(&self) -> Vec<ContextFeature> {
        let with_unknown = |name: &str, vocab: &[String]| ContextFeature {
            name: name.to_string(),
            values: vocab
                .iter()
                .map(|v| format!("{name} {v}"))
                .chain(std::iter::once(format!("{name} other or not recorded")))
                .collect(),
        };
        let mut f = vec![
            with_unknown("tier", &self.tiers),
            with_unknown("region", &self.regions),
            with_unknown("contract", &self.contracts),
            ContextFeature {
                name: "tenure".into(),
                values: TENURE_LABELS.iter().map(|s| s.to_string()).collect(),
            },
        ];
        for s in Signal::ALL {
            let mut values = vec![format!("no {} recorded", s.phrase())];
            // Bands are deciles within the segment; with ties fewer bands exist, and the
            // label names the decile the band starts at.
            values.extend(
                BAND_LABELS
                    .iter()
                    .map(|q| format!("{} {q} of the segment", s.phrase())),
            );
            f.push(ContextFeature {
                name: s.name().into(),
                values,
            });
        }
        f.push(ContextFeature {
            name: "allowance_used".into(),
            values: ALLOWANCE_LABELS.iter().map(|s| s.to_string()).collect(),
        });
        for c in &self.ticket_categories {
            f.push(ContextFeature {
                name: format!("ticket_{c}"),
                values: vec![
                    format!("no {c} ticket in the last 90 days"),
                    format!("a {c} ticket in the last 90 days"),
                ],
            });
        }
        f
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Number of values of feature `f`.
    pub fn values(&self, f: usize) -> usize {
        self.features[f].values.len()
    }

    /// What [`Encoding::encode`] needs of the customers, looked up once: each customer's tier,
    /// region and contract as vocabulary indices, and its segment's position in the spec.
    pub(crate) fn encoding<'s>(&'s self, customers: &Customers, profile: &Profile) -> Encoding<'s> {
        fn codes(vocab: &[String], col: &[Option<&str>]) -> Vec<u8> {
            let index: std::collections::HashMap<&str, u8> = vocab
                .iter()
                .enumerate()
                .map(|(i, v)| (v.as_str(), i as u8))
                .collect();
            let unknown = vocab.len() as u8;
            col.iter()
                .map(|v| v.and_then(|v| index.get(v).copied()).unwrap_or(unknown))
                .collect()
        }
        Encoding {
            spec: self,
            categorical: [
                codes(&self.tiers, &profile.tier),
                codes(&self.regions, &profile.region),
                codes(&self.contracts, &profile.contract),
            ],
            // Segments are matched by name (a customer's segment index is the warehouse's own).
            segment_of: customers
                .segments
                .iter()
                .map(|name| self.segments.iter().position(|s| s == name))
                .collect(),
        }
    }
}

/// A [`ContextSpec`] bound to one run's customers (see [`ContextSpec::encoding`]).
pub(crate) struct Encoding<'s> {
    spec: &'s ContextSpec,
    categorical: [Vec<u8>; 3],
    segment_of: Vec<Option<usize>>,
}

impl Encoding<'_> {
    /// The context of customer `c` on `day` (value index per feature) into `out`.
    pub fn encode(&self, customers: &Customers, day: i32, c: usize, raw: &Raw, out: &mut Vec<u8>) {
        out.clear();
        for codes in &self.categorical {
            out.push(codes[c]);
        }
        let tenure = day - customers.signup[c];
        out.push(TENURE_EDGES.iter().filter(|&&e| tenure >= e).count() as u8);
        let seg = self.segment_of[customers.segment[c] as usize];
        for (i, &s) in Signal::ALL.iter().enumerate() {
            let v = match (raw.numeric(s), seg) {
                (Some(x), Some(seg)) => {
                    1 + self.spec.edges[i][seg].iter().filter(|&&e| x > e).count() as u8
                }
                (Some(_), None) => 1,
                (None, _) => 0,
            };
            out.push(v);
        }
        out.push(match raw.allowance_used() {
            Some(x) => 1 + ALLOWANCE_EDGES.iter().filter(|&&e| x > e).count() as u8,
            None => 0,
        });
        for k in 0..self.spec.ticket_categories.len() {
            out.push(((raw.tickets >> k) & 1) as u8);
        }
    }
}

/// Allowance × lines of the capped data plan each customer holds on each of `days` (the held
/// plan with the highest fee in a category with data allowances; lines = max(1, round(fee /
/// list price)); NaN without one, or on an unlimited plan). One pass over the assignments.
pub(crate) fn plan_capacity(
    cat: &super::data::Catalogue,
    asg: &super::adoption::Assignments,
    n_customers: usize,
    days: &[i32],
) -> Vec<Vec<f32>> {
    let mut best: Vec<Vec<Option<(usize, f64)>>> = vec![vec![None; n_customers]; days.len()];
    for i in 0..asg.len() {
        let p = asg.product[i] as usize;
        if !cat.is_plan(p) {
            continue;
        }
        let c = asg.customer[i] as usize;
        for (k, &day) in days.iter().enumerate() {
            if asg.active_at(i, day) && best[k][c].is_none_or(|(_, f)| asg.fee[i] > f) {
                best[k][c] = Some((p, asg.fee[i]));
            }
        }
    }
    best.iter()
        .map(|day| {
            day.iter()
                .map(|b| match *b {
                    Some((p, fee)) => {
                        let allowance = cat.allowance(p);
                        let list = cat.products[p].monthly_price;
                        let lines = if list > 0.0 {
                            (fee / list).round().max(1.0)
                        } else {
                            1.0
                        };
                        if allowance.is_finite() {
                            (allowance * lines) as f32
                        } else {
                            f32::NAN
                        }
                    }
                    None => f32::NAN,
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Selection gives the order statistics a full sort gives, ties and all.
    #[test]
    fn band_edges_are_the_sorted_deciles() {
        let mut state = 7u64;
        for n in [1usize, 2, 9, 10, 11, 97, 1000] {
            for ties in [false, true] {
                let mut v: Vec<f64> = (0..n)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        let x = (state >> 11) as f64 / (1u64 << 53) as f64;
                        if ties {
                            (x * 4.0).floor()
                        } else {
                            x
                        }
                    })
                    .collect();
                let mut sorted = v.clone();
                sorted.sort_by(f64::total_cmp);
                let mut expected: Vec<f64> = Vec::new();
                for q in BAND_QUANTILES {
                    let e = sorted[((n - 1) as f64 * q).round() as usize];
                    if expected.last().is_none_or(|&l| e > l) {
                        expected.push(e);
                    }
                }
                assert_eq!(band_edges(&mut v), expected, "n {n}, ties {ties}");
            }
        }
        assert!(band_edges(&mut []).is_empty());
    }
}
