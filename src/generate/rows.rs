//! The rows one chunk of customers produces, held as typed column vectors (never per-row
//! `AnyValue`s), and their conversion to polars frames in contract column order.
//!
//! Ids are kept as numbers while simulating and formatted only here: customers `C0000042`,
//! invoices `I<customer digits><service month, 3 digits>`, assignments `A<customer><seq>`,
//! tickets `T<customer><seq>`, managers `AM0042`, campaigns `RET-2024-03` / `UPS-2024-03`.

use polars::prelude::{
    BooleanChunked, Column, DataFrame, Float64Chunked, Int32Chunked, Int64Chunked, IntoColumn,
    IntoSeries, NewChunkedArray, PlSmallStr, PolarsResult, StringChunked, StringChunkedBuilder,
    TimeUnit,
};

use super::catalog::{Contract, Segment, PRODUCTS, REGIONS, TIERS};
use crate::warehouse::schema::{assignment, campaign, customer, invoice, ticket, usage};

/// Ticket categories, in the order of their numeric codes.
pub const TICKET_CATEGORIES: [&str; 5] =
    ["billing", "technical", "network", "cancellation", "other"];
/// Campaign types, in the order of their numeric codes.
pub const CAMPAIGN_TYPES: [&str; 2] = ["retention", "upsell"];
/// Campaign id prefixes, in the order of their numeric codes.
pub const CAMPAIGN_PREFIXES: [&str; 2] = ["RET", "UPS"];

/// Names of the truth columns (not part of the contract).
pub mod truth {
    pub const CUSTOMER_ID: &str = "customer_id";
    pub const MONTH_END: &str = "month_end";
    pub const HAZARD: &str = "hazard";
    pub const P_CHURN_90D: &str = "p_churn_90d";
    pub const CAMPAIGN_ID: &str = "campaign_id";
    pub const TREATMENT_GROUP: &str = "treatment_group";
    pub const EFFECT: &str = "effect";
}

/// How ids are spelled for a run.
#[derive(Debug, Clone)]
pub struct IdFormat {
    /// Digits of a customer number (at least 7).
    pub width: usize,
    /// `YYYY-MM` of every month index `0..months`.
    pub month_labels: Vec<String>,
}

impl IdFormat {
    fn customer(&self, buf: &mut String, idx: u32) {
        buf.clear();
        buf.push('C');
        push_padded(buf, u64::from(idx) + 1, self.width);
    }

    fn with_seq(&self, buf: &mut String, prefix: char, idx: u32, seq: u32) {
        buf.clear();
        buf.push(prefix);
        push_padded(buf, u64::from(idx) + 1, self.width);
        push_padded(buf, u64::from(seq), 3);
    }

    fn campaign(&self, buf: &mut String, kind: u8, month: i32) {
        buf.clear();
        buf.push_str(CAMPAIGN_PREFIXES[usize::from(kind)]);
        buf.push('-');
        if let Some(l) = self.month_labels.get(month.max(0) as usize) {
            buf.push_str(l);
        }
    }
}

/// Appends `n` in decimal, left-padded with zeros to `width` digits.
fn push_padded(buf: &mut String, n: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let len = digits.len() - i;
    for _ in len..width {
        buf.push('0');
    }
    for &d in &digits[i..] {
        buf.push(char::from(d));
    }
}

/// Every row one chunk of customers produced, by table.
#[derive(Debug, Default)]
pub struct ChunkRows {
    pub customers: CustomerRows,
    pub invoices: InvoiceRows,
    pub assignments: AssignmentRows,
    pub tickets: TicketRows,
    pub campaigns: CampaignRows,
    pub usage: UsageRows,
    pub churn_truth: ChurnTruthRows,
    pub effect_truth: EffectTruthRows,
}

#[derive(Debug, Default)]
pub struct CustomerRows {
    pub idx: Vec<u32>,
    pub name: Vec<Option<String>>,
    pub segment: Vec<Segment>,
    pub tier: Vec<u8>,
    pub region: Vec<u8>,
    pub manager: Vec<Option<u32>>,
    pub signup: Vec<i32>,
    pub contract: Vec<Contract>,
    pub contract_end: Vec<Option<i32>>,
    pub churn: Vec<Option<i32>>,
}

#[derive(Debug, Default)]
pub struct InvoiceRows {
    pub cust: Vec<u32>,
    /// Service month index (the invoice id's suffix).
    pub month: Vec<u32>,
    pub date: Vec<i32>,
    pub amount: Vec<f64>,
    pub overage: Vec<f64>,
    pub discount: Vec<f64>,
    pub due: Vec<i32>,
    pub paid: Vec<Option<i32>>,
}

#[derive(Debug, Default)]
pub struct AssignmentRows {
    pub cust: Vec<u32>,
    pub seq: Vec<u32>,
    pub product: Vec<u8>,
    pub start: Vec<i32>,
    pub end: Vec<Option<i32>>,
    pub fee: Vec<f64>,
}

#[derive(Debug, Default)]
pub struct TicketRows {
    pub cust: Vec<u32>,
    pub seq: Vec<u32>,
    /// Microseconds since the Unix epoch, UTC.
    pub opened: Vec<i64>,
    pub resolved: Vec<Option<i64>>,
    pub category: Vec<u8>,
    pub severity: Vec<u8>,
    pub score: Vec<Option<i64>>,
}

#[derive(Debug, Default)]
pub struct CampaignRows {
    pub kind: Vec<u8>,
    pub month: Vec<i32>,
    pub cust: Vec<u32>,
    pub date: Vec<i32>,
    pub treated: Vec<bool>,
    pub responded: Vec<Option<bool>>,
    pub offered: Vec<Option<u8>>,
}

#[derive(Debug, Default)]
pub struct UsageRows {
    pub cust: Vec<u32>,
    pub date: Vec<i32>,
    pub data_gb: Vec<f64>,
    pub voice: Vec<f64>,
    pub sms: Vec<i64>,
    pub dropped: Vec<i64>,
    pub outage: Vec<f64>,
}

#[derive(Debug, Default)]
pub struct ChurnTruthRows {
    pub cust: Vec<u32>,
    pub month_end: Vec<i32>,
    pub hazard: Vec<f64>,
    pub p90: Vec<f64>,
}

#[derive(Debug, Default)]
pub struct EffectTruthRows {
    pub cust: Vec<u32>,
    pub kind: Vec<u8>,
    pub month: Vec<i32>,
    pub treated: Vec<bool>,
    pub effect: Vec<f64>,
}

fn name(s: &str) -> PlSmallStr {
    PlSmallStr::from_str(s)
}

fn customer_ids(ids: &IdFormat, col: &str, idx: &[u32]) -> Column {
    let mut b = StringChunkedBuilder::new(name(col), idx.len());
    let mut buf = String::with_capacity(16);
    for &i in idx {
        ids.customer(&mut buf, i);
        b.append_value(buf.as_str());
    }
    b.finish().into_column()
}

fn seq_ids(ids: &IdFormat, col: &str, prefix: char, idx: &[u32], seq: &[u32]) -> Column {
    let mut b = StringChunkedBuilder::new(name(col), idx.len());
    let mut buf = String::with_capacity(20);
    for (&i, &s) in idx.iter().zip(seq) {
        ids.with_seq(&mut buf, prefix, i, s);
        b.append_value(buf.as_str());
    }
    b.finish().into_column()
}

fn campaign_ids(ids: &IdFormat, col: &str, kind: &[u8], month: &[i32]) -> Column {
    let mut b = StringChunkedBuilder::new(name(col), kind.len());
    let mut buf = String::with_capacity(16);
    for (&k, &m) in kind.iter().zip(month) {
        ids.campaign(&mut buf, k, m);
        b.append_value(buf.as_str());
    }
    b.finish().into_column()
}

fn strings<'a>(col: &str, values: impl Iterator<Item = &'a str>) -> Column {
    StringChunked::from_iter_values(name(col), values).into_column()
}

fn opt_strings<'a>(col: &str, values: impl Iterator<Item = Option<&'a str>>) -> Column {
    StringChunked::from_iter_options(name(col), values).into_column()
}

fn dates(col: &str, days: &[i32]) -> Column {
    Int32Chunked::from_slice(name(col), days)
        .into_date()
        .into_series()
        .into_column()
}

fn opt_dates(col: &str, days: &[Option<i32>]) -> Column {
    Int32Chunked::from_slice_options(name(col), days)
        .into_date()
        .into_series()
        .into_column()
}

fn timestamps(col: &str, micros: &[i64]) -> Column {
    Int64Chunked::from_slice(name(col), micros)
        .into_datetime(TimeUnit::Microseconds, None)
        .into_series()
        .into_column()
}

fn opt_timestamps(col: &str, micros: &[Option<i64>]) -> Column {
    Int64Chunked::from_slice_options(name(col), micros)
        .into_datetime(TimeUnit::Microseconds, None)
        .into_series()
        .into_column()
}

fn floats(col: &str, v: &[f64]) -> Column {
    Float64Chunked::from_slice(name(col), v).into_column()
}

fn ints(col: &str, v: &[i64]) -> Column {
    Int64Chunked::from_slice(name(col), v).into_column()
}

fn opt_ints(col: &str, v: &[Option<i64>]) -> Column {
    Int64Chunked::from_slice_options(name(col), v).into_column()
}

fn group_names(col: &str, treated: &[bool]) -> Column {
    strings(
        col,
        treated
            .iter()
            .map(|&t| if t { "treatment" } else { "control" }),
    )
}

fn frame(height: usize, cols: Vec<Column>) -> PolarsResult<DataFrame> {
    DataFrame::new(height, cols)
}

impl CustomerRows {
    pub fn frame(&self, ids: &IdFormat) -> PolarsResult<DataFrame> {
        let mut managers = StringChunkedBuilder::new(name(customer::ACCOUNT_MANAGER_ID), 0);
        let mut buf = String::with_capacity(8);
        for m in &self.manager {
            match m {
                Some(m) => {
                    buf.clear();
                    buf.push_str("AM");
                    push_padded(&mut buf, u64::from(*m) + 1, 4);
                    managers.append_value(buf.as_str());
                }
                None => managers.append_null(),
            }
        }
        frame(
            self.idx.len(),
            vec![
                customer_ids(ids, customer::ID, &self.idx),
                opt_strings(customer::NAME, self.name.iter().map(|n| n.as_deref())),
                strings(customer::SEGMENT, self.segment.iter().map(|s| s.name())),
                strings(
                    customer::TIER,
                    self.tier.iter().map(|&t| TIERS[usize::from(t)]),
                ),
                strings(
                    customer::REGION,
                    self.region.iter().map(|&r| REGIONS[usize::from(r)].name),
                ),
                managers.finish().into_column(),
                dates(customer::SIGNUP_DATE, &self.signup),
                strings(
                    customer::CONTRACT_TYPE,
                    self.contract.iter().map(|c| c.name()),
                ),
                opt_dates(customer::CONTRACT_END_DATE, &self.contract_end),
                opt_dates(customer::CHURN_DATE, &self.churn),
            ],
        )
    }
}

impl InvoiceRows {
    pub fn frame(&self, ids: &IdFormat) -> PolarsResult<DataFrame> {
        frame(
            self.cust.len(),
            vec![
                seq_ids(ids, invoice::ID, 'I', &self.cust, &self.month),
                customer_ids(ids, invoice::CUSTOMER_ID, &self.cust),
                dates(invoice::INVOICE_DATE, &self.date),
                floats(invoice::AMOUNT, &self.amount),
                floats(invoice::OVERAGE_AMOUNT, &self.overage),
                floats(invoice::DISCOUNT_AMOUNT, &self.discount),
                dates(invoice::DUE_DATE, &self.due),
                opt_dates(invoice::PAID_DATE, &self.paid),
            ],
        )
    }
}

impl AssignmentRows {
    pub fn frame(&self, ids: &IdFormat) -> PolarsResult<DataFrame> {
        frame(
            self.cust.len(),
            vec![
                seq_ids(ids, assignment::ID, 'A', &self.cust, &self.seq),
                customer_ids(ids, assignment::CUSTOMER_ID, &self.cust),
                strings(
                    assignment::PRODUCT_ID,
                    self.product.iter().map(|&p| PRODUCTS[usize::from(p)].id),
                ),
                dates(assignment::START_DATE, &self.start),
                opt_dates(assignment::END_DATE, &self.end),
                floats(assignment::MONTHLY_FEE, &self.fee),
            ],
        )
    }
}

impl TicketRows {
    pub fn frame(&self, ids: &IdFormat) -> PolarsResult<DataFrame> {
        frame(
            self.cust.len(),
            vec![
                seq_ids(ids, ticket::ID, 'T', &self.cust, &self.seq),
                customer_ids(ids, ticket::CUSTOMER_ID, &self.cust),
                timestamps(ticket::OPENED_AT, &self.opened),
                opt_timestamps(ticket::RESOLVED_AT, &self.resolved),
                strings(
                    ticket::CATEGORY,
                    self.category
                        .iter()
                        .map(|&c| TICKET_CATEGORIES[usize::from(c)]),
                ),
                strings(
                    ticket::SEVERITY,
                    self.severity
                        .iter()
                        .map(|&s| crate::warehouse::schema::SEVERITIES[usize::from(s)]),
                ),
                opt_ints(ticket::SATISFACTION_SCORE, &self.score),
            ],
        )
    }
}

impl CampaignRows {
    pub fn frame(&self, ids: &IdFormat) -> PolarsResult<DataFrame> {
        frame(
            self.cust.len(),
            vec![
                campaign_ids(ids, campaign::ID, &self.kind, &self.month),
                customer_ids(ids, campaign::CUSTOMER_ID, &self.cust),
                strings(
                    campaign::CAMPAIGN_TYPE,
                    self.kind.iter().map(|&k| CAMPAIGN_TYPES[usize::from(k)]),
                ),
                dates(campaign::TARGET_DATE, &self.date),
                group_names(campaign::TREATMENT_GROUP, &self.treated),
                BooleanChunked::from_slice_options(name(campaign::RESPONDED), &self.responded)
                    .into_column(),
                opt_strings(
                    campaign::OFFERED_PRODUCT_ID,
                    self.offered
                        .iter()
                        .map(|p| p.map(|p| PRODUCTS[usize::from(p)].id)),
                ),
            ],
        )
    }
}

impl UsageRows {
    pub fn frame(&self, ids: &IdFormat) -> PolarsResult<DataFrame> {
        frame(
            self.cust.len(),
            vec![
                customer_ids(ids, usage::CUSTOMER_ID, &self.cust),
                dates(usage::USAGE_DATE, &self.date),
                floats(usage::DATA_GB, &self.data_gb),
                floats(usage::VOICE_MINUTES, &self.voice),
                ints(usage::SMS_COUNT, &self.sms),
                ints(usage::DROPPED_CALLS, &self.dropped),
                floats(usage::OUTAGE_MINUTES, &self.outage),
            ],
        )
    }
}

impl ChurnTruthRows {
    pub fn frame(&self, ids: &IdFormat) -> PolarsResult<DataFrame> {
        frame(
            self.cust.len(),
            vec![
                customer_ids(ids, truth::CUSTOMER_ID, &self.cust),
                dates(truth::MONTH_END, &self.month_end),
                floats(truth::HAZARD, &self.hazard),
                floats(truth::P_CHURN_90D, &self.p90),
            ],
        )
    }
}

impl EffectTruthRows {
    pub fn frame(&self, ids: &IdFormat) -> PolarsResult<DataFrame> {
        frame(
            self.cust.len(),
            vec![
                customer_ids(ids, truth::CUSTOMER_ID, &self.cust),
                campaign_ids(ids, truth::CAMPAIGN_ID, &self.kind, &self.month),
                group_names(truth::TREATMENT_GROUP, &self.treated),
                floats(truth::EFFECT, &self.effect),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_zero_padded_and_prefixed() {
        let ids = IdFormat {
            width: 7,
            month_labels: vec!["2023-01".into(), "2023-02".into()],
        };
        let mut b = String::new();
        ids.customer(&mut b, 41);
        assert_eq!(b, "C0000042");
        ids.with_seq(&mut b, 'I', 0, 23);
        assert_eq!(b, "I0000001023");
        ids.with_seq(&mut b, 'T', 0, 1234);
        assert_eq!(b, "T00000011234");
        ids.campaign(&mut b, 1, 1);
        assert_eq!(b, "UPS-2023-02");
    }
}
