//! One customer's life, month by month, appended to a chunk's rows. Each customer owns an RNG
//! seeded from (seed, customer index), so a customer's rows never depend on how customers are
//! split into chunks or threads.
//!
//! Month `m` of an active customer, in order:
//! 1. read the signals the warehouse shows at the end of month `m − 1` ([`Customer::signals`]);
//! 2. campaigns dated the first day of `m` (retention / upsell targeting, treatment, response);
//! 3. the truth row: expected hazard for `m` and the 3-month churn probability;
//! 4. the month's own events: a cancellation call, a major outage, then the churn draw;
//! 5. tickets; if churned: end of services, final invoice, stop;
//! 6. otherwise repricing, plan changes, adoption, drops, the usage row, the invoice (dated the
//!    first day of `m + 1`), and the drift of latent satisfaction and financial stress.

use std::ops::Range;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::calendar::Calendar;
use super::catalog::{Category, Segment, PRODUCTS, REGIONS};
use super::customer::{cents, Bill, Customer, Dice, TicketMemo, UsageMemo};
use super::hazard::{
    self, calendar_lp, cancel_probability, expected_hazard, p_churn_3m, sigmoid, ContractClock,
    Signals, CANCEL_TICKET, OUTAGE_EVENT, PER_EXTRA_PRODUCT, SCORE_NOISE_SD, TICKET_SATISFACTION,
};
use super::rows::{ChunkRows, TicketRows};

/// Ticket category codes (index into `rows::TICKET_CATEGORIES`).
pub(super) const BILLING: u8 = 0;
pub(super) const TECHNICAL: u8 = 1;
pub(super) const NETWORK: u8 = 2;
pub(super) const CANCELLATION: u8 = 3;
pub(super) const OTHER: u8 = 4;

/// Severity mix (low, medium, high, critical) per ticket category code.
const SEVERITY_MIX: [[f64; 4]; 5] = [
    [0.40, 0.40, 0.15, 0.05],
    [0.30, 0.40, 0.20, 0.10],
    [0.15, 0.35, 0.35, 0.15],
    [0.10, 0.50, 0.30, 0.10],
    [0.60, 0.30, 0.08, 0.02],
];
/// Severity mix of a network ticket during a major outage.
const OUTAGE_SEVERITY_MIX: [f64; 4] = [0.05, 0.20, 0.40, 0.35];
/// Median hours to resolve, by severity.
const MEDIAN_RESOLUTION_HOURS: [f64; 4] = [48.0, 24.0, 10.0, 4.0];
/// Probability a ticket is never resolved (doubled in islands/highlands).
const UNRESOLVED: f64 = 0.04;
/// Probability a resolved ticket's survey is not answered.
const NO_SURVEY: f64 = 0.4;

/// Overage price per GB over the allowance.
const OVERAGE_PER_GB: f64 = 2.0;
/// Days from invoice to due date.
const DUE_DAYS: i32 = 14;
/// Consumer bundle discount (mobile + broadband), per month.
const BUNDLE_DISCOUNT: f64 = 5.0;
/// Volume discount for business accounts with at least 10 seats (share of fees).
const VOLUME_DISCOUNT: f64 = 0.05;
/// Retention discount for responders, share of fees, for 3 invoices.
const RETENTION_DISCOUNT: f64 = 0.15;

/// Monthly probability of a repricing event (promotion ends / price rise) on one product.
const P_REPRICE: f64 = 0.02;
/// Monthly probability of a plan upgrade after overage on the last two invoices.
const P_UPGRADE: f64 = 0.30;
/// Monthly probability of a downgrade for price-sensitive, over-provisioned customers.
const P_DOWNGRADE: f64 = 0.08;
/// Monthly adoption probability by segment (consumer, smb, enterprise).
const P_ADOPT: [f64; 3] = [0.010, 0.015, 0.020];
/// Monthly probability of buying an add-on of the wider catalogue (consumer, smb, enterprise).
const P_ADDON: [f64; 3] = [0.04, 0.05, 0.06];
/// Monthly probability that a held add-on is cancelled.
const P_ADDON_DROP: f64 = 0.03;
/// Monthly base probability of dropping a product (when holding two or more).
const P_DROP: f64 = 0.004;

/// Retention targeting: observable-risk score threshold, then a 50% capacity draw.
const RETENTION_SCORE: f64 = 2.5;
const RETENTION_CAPACITY: f64 = 0.5;
/// Share of campaign targets put in the treatment group.
const TREATMENT_SHARE: f64 = 0.8;
/// Monthly probability an eligible, quiet customer is picked for an upsell campaign.
const UPSELL_RATE: f64 = 0.03;

/// Salt of each customer's side random stream: the traits and first holdings of the product
/// categories added after the first catalogue (so that the main stream's draws stayed put).
const SIDE_STREAM: u64 = 0x5EED_0ADD_0000_0001;

/// Read-only settings shared by every chunk.
#[derive(Debug, Clone)]
pub struct World {
    pub cal: Calendar,
    pub seed: u64,
    pub p_new: f64,
    pub n_managers: u32,
}

/// SplitMix64 finaliser.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The RNG seed of customer `idx` under run seed `seed`.
pub fn mix(seed: u64, idx: u64) -> u64 {
    splitmix(seed ^ splitmix(idx))
}

/// Simulates customers `range` (indices) and returns their rows.
pub fn simulate_chunk(world: &World, range: Range<u32>) -> ChunkRows {
    let mut rows = ChunkRows::default();
    for idx in range {
        simulate_customer(world, idx, &mut rows);
    }
    rows
}

/// Network figures of one month.
#[derive(Debug, Clone, Copy)]
struct Network {
    data_gb: f64,
    voice: f64,
    sms: u32,
    dropped: u32,
    outage_minutes: f64,
}

fn simulate_customer(w: &World, idx: u32, rows: &mut ChunkRows) {
    let mut d = Dice(ChaCha8Rng::seed_from_u64(mix(w.seed, u64::from(idx))));
    let mut side = Dice(ChaCha8Rng::seed_from_u64(mix(
        w.seed ^ SIDE_STREAM,
        u64::from(idx),
    )));
    let mut c = Customer::draw(&w.cal, idx, w.p_new, w.n_managers, &mut d, &mut side);
    let first = if c.is_new { c.signup_month } else { 0 };
    let first_ticket = rows.tickets.resolved.len();
    let mut churn_day = None;
    for m in first..w.cal.months() {
        if c.is_new && m == c.signup_month {
            onboarding_month(&mut c, w, m, &mut d, rows);
            continue;
        }
        if let Some(day) = month(&mut c, w, m, &mut d, &mut side, rows) {
            churn_day = Some(day);
            break;
        }
    }
    if let Some(cd) = churn_day {
        abandon_after(&mut rows.tickets, first_ticket, cd);
    }
    finish(&c, w, churn_day, rows);
}

impl Customer {
    /// What the warehouse shows at the end of month `m − 1`.
    pub fn signals(&self, cal: &Calendar, m: i32) -> Signals {
        let end = cal.first_day(m) - 1;
        let n = self.bills.partition_point(|b| b.date <= end);
        let known = &self.bills[..n];
        let mut s = Signals {
            products: (self.holdings.len() + self.addons.len()) as u32,
            ..Signals::default()
        };
        if n >= 4 {
            let (a, b) = (known[n - 1].gross, known[n - 4].gross);
            if b > 0.0 {
                s.bill_shock = (a / b - 1.0).clamp(0.0, 1.0);
            }
        }
        let last2 = &known[n.saturating_sub(2)..];
        s.overage_recent = last2.iter().any(|b| b.overage > 0.0);
        s.overage_both = last2.len() == 2 && last2.iter().all(|b| b.overage > 0.0);
        s.overdue = known
            .iter()
            .filter(|b| b.due <= end && b.paid.is_none_or(|p| p > end))
            .count() as u32;
        s.late_paid = known[n.saturating_sub(3)..]
            .iter()
            .filter(|b| b.paid.is_some_and(|p| p <= end && p > b.due))
            .count() as u32;
        let from3 = cal.first_day(m - 3);
        let from2 = cal.first_day(m - 2);
        for t in self
            .tickets
            .iter()
            .filter(|t| t.opened_day >= from3 && t.opened_day <= end)
        {
            s.tickets += 1;
            let resolved = t.resolved_day.is_some_and(|r| r <= end);
            if !resolved {
                s.unresolved += 1;
            }
            if t.severe {
                s.severe += 1;
            }
            if resolved && t.score.is_some_and(|x| x <= 2) {
                s.low_satisfaction += 1;
            }
            if t.category == CANCELLATION && t.opened_day >= from2 {
                s.cancel_recent = true;
            }
        }
        if let Some(u) = self.usage.last().filter(|u| u.month == m - 1) {
            s.dropped_per_seat = u.dropped_per_seat;
            s.outage_minutes = u.outage_minutes;
        }
        let k = self.usage.len();
        if k >= 5 && self.usage[k - 5].month == m - 5 && self.usage[k - 1].month == m - 1 {
            let recent = (self.usage[k - 1].volume + self.usage[k - 2].volume) / 2.0;
            let before =
                (self.usage[k - 3].volume + self.usage[k - 4].volume + self.usage[k - 5].volume)
                    / 3.0;
            if before > 0.0 {
                s.usage_decline = (1.0 - recent / before).clamp(0.0, 1.0);
            }
        }
        s
    }

    /// The calendar part of the hazard for month `m`.
    fn calendar_part(&self, cal: &Calendar, m: i32) -> f64 {
        let day = cal.first_day(m);
        calendar_lp(self.clock(day), self.tenure_months(day))
    }

    /// Base predictors of months `m, m+1, m+2` given `state`, with treatment as it stands.
    fn lps(&self, cal: &Calendar, m: i32, state: f64) -> [f64; 3] {
        [0, 1, 2].map(|k| state + self.calendar_part(cal, m + k) - self.tau_at(m + k))
    }

    /// Retention responsiveness in the current context (log-odds reduction of the hazard).
    fn responsiveness(&self, s: &Signals) -> f64 {
        if let Some(harm) = self.dog_harm {
            return -harm;
        }
        let mut tau = self.tau_base + if s.bill_shock >= 0.1 { 0.6 } else { 0.0 };
        if s.network_problem() || self.region >= 6 {
            tau *= 0.2;
        }
        tau
    }

    /// Observable retention risk score (what the marketing team can see).
    fn retention_score(&self, s: &Signals, day: i32) -> f64 {
        let mut r = 0.0;
        if self.clock(day) != ContractClock::MidTerm {
            r += 1.0;
        }
        if s.tickets > 0 {
            r += 1.0;
        }
        if s.cancel_recent {
            r += 1.0;
        }
        if s.bill_shock >= 0.1 {
            r += 1.5;
        }
        if s.overdue > 0 {
            r += 1.0;
        }
        if s.usage_decline >= 0.25 {
            r += 0.8;
        }
        if s.overage_recent {
            r += 0.5;
        }
        r
    }

    /// The plan a retention offer proposes: one step up (same price) after overage, one step
    /// down for price-sensitive customers whose use fits it, else none (discount only).
    fn retention_offer(&self, s: &Signals) -> Option<usize> {
        if s.overage_recent {
            if let Some(up) = self.ladder_neighbour(true) {
                return Some(up);
            }
        }
        if self.latent.price_sensitivity > 0.55 {
            let down = self.ladder_neighbour(false)?;
            let fits = PRODUCTS[down].allowance.is_some_and(|a| {
                !self.usage.is_empty() && self.usage.iter().all(|u| u.data_per_seat < a)
            });
            if fits {
                return Some(down);
            }
        }
        None
    }

    /// Replaces holding `i` on `day` by `product` at `fee` (the old assignment ends that day).
    fn replace(&mut self, i: usize, product: usize, fee: f64, day: i32, rows: &mut ChunkRows) {
        let old = self.holdings.swap_remove(i);
        let day = day.max(old.start);
        push_assignment(rows, self.idx, &old, Some(day));
        self.add_holding(product, fee, day);
    }

    fn end_holding(&mut self, i: usize, day: i32, rows: &mut ChunkRows) {
        let old = self.holdings.swap_remove(i);
        push_assignment(rows, self.idx, &old, Some(day.max(old.start)));
    }
}

fn push_assignment(rows: &mut ChunkRows, idx: u32, h: &super::customer::Holding, end: Option<i32>) {
    let a = &mut rows.assignments;
    a.cust.push(idx);
    a.seq.push(h.seq);
    a.product.push(h.product);
    a.start.push(h.start);
    a.end.push(end);
    a.fee.push(h.fee);
}

/// The signup month: services start, a partial month of usage, onboarding tickets, a pro-rated
/// invoice. No churn and no campaigns.
fn onboarding_month(c: &mut Customer, w: &World, m: i32, d: &mut Dice, rows: &mut ChunkRows) {
    let cal = &w.cal;
    let last = cal.last_day(m);
    let frac = f64::from(last - c.signup + 1) / f64::from(cal.days_in(m));
    let net = network(c, m, frac, false, d);
    push_usage(c, w, m, &net, rows);
    let scale = ticket_scale(c);
    let rates = [
        0.02 * scale * frac,
        0.06 * scale * frac,
        0.0,
        0.01 * scale * frac,
    ];
    let (unresolved, good) = tickets(c, w, m, rates, false, None, None, d, rows);
    let shock = invoice(c, w, m, frac, net.data_gb, false, d, rows);
    drift(c, false, &net, shock, unresolved, good, d);
}

/// An ordinary month of an active customer. Returns the churn day if the customer leaves.
/// `side` is the customer's side stream (add-on purchases and cancellations).
fn month(
    c: &mut Customer,
    w: &World,
    m: i32,
    d: &mut Dice,
    side: &mut Dice,
    rows: &mut ChunkRows,
) -> Option<i32> {
    let cal = &w.cal;
    let first = cal.first_day(m);
    let last = cal.last_day(m);
    let days = cal.days_in(m);
    let from3 = cal.first_day(m - 3);
    c.tickets.retain(|t| t.opened_day >= from3);

    let sig = c.signals(cal, m);
    let state = hazard::state_lp(c.segment, &sig, &c.latent);
    let p_outage = REGIONS[usize::from(c.region)].outage_prob;

    if m >= 1 && first - c.signup >= 30 {
        campaigns(c, w, m, &sig, state, p_outage, d, rows);
    }

    let lps = c.lps(cal, m, state);
    let t = &mut rows.churn_truth;
    t.cust.push(c.idx);
    t.month_end.push(first - 1);
    t.hazard.push(expected_hazard(lps[0], p_outage));
    t.p90.push(p_churn_3m(lps, p_outage));

    let cancel = d.chance(cancel_probability(lps[0]));
    let outage = d.chance(p_outage);
    let lp =
        lps[0] + if cancel { CANCEL_TICKET } else { 0.0 } + if outage { OUTAGE_EVENT } else { 0.0 };
    let churned = d.chance(sigmoid(lp));
    let cancel_day = cancel.then(|| first + d.below(days));
    let churn_day = churned.then(|| match cancel_day {
        Some(cd) => (cd + d.below(8)).min(last),
        None => first + d.below(days),
    });

    let net = network(c, m, 1.0, outage, d);
    let scale = ticket_scale(c);
    let dps = f64::from(net.dropped) / f64::from(c.seats);
    let rates = [
        (0.02
            + 0.25 * sig.bill_shock
            + if sig.overage_recent { 0.06 } else { 0.0 }
            + if sig.overdue > 0 { 0.08 } else { 0.0 })
            * scale,
        0.025 * scale,
        (0.008 + if outage { 0.35 } else { 0.0 } + 0.01 * dps.min(10.0)) * scale,
        0.012 * scale,
    ];
    let (unresolved, good) = tickets(c, w, m, rates, outage, cancel_day, churn_day, d, rows);

    if let Some(day) = churn_day {
        let frac = f64::from(day - first + 1) / f64::from(days);
        invoice(c, w, m, frac, 0.0, true, d, rows);
        return Some(day);
    }

    product_events(c, w, m, &sig, d, rows);
    addon_events(c, w, m, side, rows);
    push_usage(c, w, m, &net, rows);
    let shock = invoice(c, w, m, 1.0, net.data_gb, false, d, rows);
    drift(c, outage, &net, shock, unresolved, good, d);
    None
}

/// Retention and upsell targeting on the first day of month `m`.
#[allow(clippy::too_many_arguments)]
fn campaigns(
    c: &mut Customer,
    w: &World,
    m: i32,
    sig: &Signals,
    state: f64,
    p_outage: f64,
    d: &mut Dice,
    rows: &mut ChunkRows,
) {
    let cal = &w.cal;
    let first = cal.first_day(m);
    if c.last_retention.is_none_or(|lm| m - lm >= 3)
        && c.retention_score(sig, first) >= RETENTION_SCORE
        && d.chance(RETENTION_CAPACITY)
    {
        c.last_retention = Some(m);
        let treated = d.chance(TREATMENT_SHARE);
        let tau = c.responsiveness(sig);
        let without = c.lps(cal, m, state);
        let with = without.map(|lp| lp - tau);
        let effect = p_churn_3m(without, p_outage) - p_churn_3m(with, p_outage);
        let offer = c.retention_offer(sig);
        let responded = treated.then(|| d.chance(sigmoid(-1.0 + 1.5 * tau)));
        if treated {
            c.treatment = Some((m + 2, tau));
        }
        if responded == Some(true) {
            c.discount_until = Some(m + 2);
            if let (Some(product), Some((i, step))) = (offer, c.mobile_plan()) {
                let up = super::catalog::ladder_step(product).is_some_and(|s| s > step);
                let fee = if up {
                    c.holdings[i].fee
                } else {
                    c.list_fee(product)
                };
                c.replace(i, product, fee, first, rows);
            }
        }
        push_campaign(rows, c.idx, 0, m, first, treated, responded, offer, effect);
    }

    if sig.tickets == 0
        && c.holdings.len() <= 3
        && c.last_upsell.is_none_or(|lm| m - lm >= 6)
        && d.chance(UPSELL_RATE)
    {
        if let Some(product) = c.best_product() {
            c.last_upsell = Some(m);
            let treated = d.chance(TREATMENT_SHARE);
            let p_respond = 0.10
                + if c.latent.satisfaction > 0.0 {
                    0.15
                } else {
                    0.0
                };
            let extra = if c.holdings.len() <= 4 {
                PER_EXTRA_PRODUCT
            } else {
                0.0
            };
            let without = c.lps(cal, m, state);
            let mut with = without;
            with[1] += extra;
            with[2] += extra;
            let effect = p_respond * (p_churn_3m(without, p_outage) - p_churn_3m(with, p_outage));
            let responded = treated.then(|| d.chance(p_respond));
            if responded == Some(true) {
                c.add_product(product, first, 0.2);
            }
            push_campaign(
                rows,
                c.idx,
                1,
                m,
                first,
                treated,
                responded,
                Some(product),
                effect,
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn push_campaign(
    rows: &mut ChunkRows,
    idx: u32,
    kind: u8,
    m: i32,
    day: i32,
    treated: bool,
    responded: Option<bool>,
    offered: Option<usize>,
    effect: f64,
) {
    let r = &mut rows.campaigns;
    r.kind.push(kind);
    r.month.push(m);
    r.cust.push(idx);
    r.date.push(day);
    r.treated.push(treated);
    r.responded.push(responded);
    r.offered.push(offered.map(|p| p as u8));
    let e = &mut rows.effect_truth;
    e.cust.push(idx);
    e.kind.push(kind);
    e.month.push(m);
    e.treated.push(treated);
    e.effect.push(effect);
}

/// A churned customer's tickets from earlier months still open on the churn day are never
/// resolved: resolutions (and their scores) dated after `churn_day` become null. The tickets of
/// the churn month itself are already written that way; this catches the ones opened before it.
fn abandon_after(t: &mut TicketRows, from: usize, churn_day: i32) {
    let last = i64::from(churn_day + 1) * DAY_US;
    for i in from..t.resolved.len() {
        if t.resolved[i].is_some_and(|r| r >= last) {
            t.resolved[i] = None;
            t.score[i] = None;
        }
    }
}

/// Ticket rates scale with seats (more lines, more calls) and fall with satisfaction.
fn ticket_scale(c: &Customer) -> f64 {
    (TICKET_SATISFACTION * c.latent.satisfaction).exp() * f64::from(c.seats).powf(0.35)
}

/// Usage, dropped calls and outages of month `m` (`frac` of the month).
fn network(c: &Customer, m: i32, frac: f64, outage: bool, d: &mut Dice) -> Network {
    let region = &REGIONS[usize::from(c.region)];
    let seats = f64::from(c.seats);
    let eng = c.engagement(m);
    let mobile = c.holds_category(Category::Mobile);
    let (data_gb, voice, sms) = if mobile {
        let data = seats * c.data_need * (c.growth * f64::from(m)).exp() * eng * frac;
        let data = data * (0.25 * d.z()).exp();
        let voice = seats * c.voice_need * eng * frac * (0.2 * d.z()).exp();
        let sms = d.poisson(seats * c.sms_need * eng * frac);
        (data, voice, sms)
    } else if c.holds_category(Category::Broadband) {
        (0.0, c.voice_need * 0.15 * frac * (0.3 * d.z()).exp(), 0)
    } else {
        (0.0, 0.0, 0)
    };
    let mut outage_minutes = d.exp1() * region.background_outage * c.location * frac;
    if outage {
        outage_minutes += d.lognormal(180.0, 0.7);
    }
    let voice = (voice * 10.0).round() / 10.0;
    let drop_lambda =
        voice / 100.0 * region.drop_rate * c.location * if outage { 3.0 } else { 1.0 };
    Network {
        data_gb: (data_gb * 1000.0).round() / 1000.0,
        voice,
        sms,
        dropped: d.poisson(drop_lambda),
        outage_minutes: (outage_minutes * 10.0).round() / 10.0,
    }
}

fn push_usage(c: &mut Customer, w: &World, m: i32, net: &Network, rows: &mut ChunkRows) {
    let u = &mut rows.usage;
    u.cust.push(c.idx);
    u.date.push(w.cal.last_day(m));
    u.data_gb.push(net.data_gb);
    u.voice.push(net.voice);
    u.sms.push(i64::from(net.sms));
    u.dropped.push(i64::from(net.dropped));
    u.outage.push(net.outage_minutes);
    let seats = f64::from(c.seats);
    if c.usage.len() == 6 {
        c.usage.remove(0);
    }
    c.usage.push(UsageMemo {
        month: m,
        volume: net.data_gb + net.voice / 20.0,
        dropped_per_seat: f64::from(net.dropped) / seats,
        outage_minutes: net.outage_minutes,
        data_per_seat: net.data_gb / seats,
    });
}

/// Opens the month's tickets. `rates` are Poisson means for billing, technical, network and
/// other; the cancellation ticket (if any) is opened on `cancel_day`. Tickets after
/// `churn_day` are not opened; resolutions after it are abandoned (null). Returns (tickets left
/// unresolved, tickets scored 4 or 5).
#[allow(clippy::too_many_arguments)]
fn tickets(
    c: &mut Customer,
    w: &World,
    m: i32,
    rates: [f64; 4],
    outage: bool,
    cancel_day: Option<i32>,
    churn_day: Option<i32>,
    d: &mut Dice,
    rows: &mut ChunkRows,
) -> (u32, u32) {
    let cal = &w.cal;
    let lo = cal.first_day(m).max(c.signup);
    let hi = cal.last_day(m);
    let mut unresolved = 0;
    let mut good = 0;
    let cats = [BILLING, TECHNICAL, NETWORK, OTHER];
    let mut tally = |r: Option<(bool, Option<u8>)>| {
        if let Some((resolved, score)) = r {
            if !resolved {
                unresolved += 1;
            }
            if score.is_some_and(|s| s >= 4) {
                good += 1;
            }
        }
    };
    for (cat, &rate) in cats.iter().zip(rates.iter()) {
        let n = d.poisson(rate).min(5);
        for _ in 0..n {
            let day = lo + d.below(hi - lo + 1);
            if churn_day.is_some_and(|cd| day > cd) {
                continue;
            }
            tally(open_ticket(c, w, *cat, day, outage, churn_day, d, rows));
        }
    }
    if let Some(day) = cancel_day {
        tally(open_ticket(
            c,
            w,
            CANCELLATION,
            day,
            false,
            churn_day,
            d,
            rows,
        ));
    }
    (unresolved, good)
}

const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;

/// Opens one ticket; returns (resolved, score) or `None` if it was not written.
#[allow(clippy::too_many_arguments)]
fn open_ticket(
    c: &mut Customer,
    w: &World,
    category: u8,
    day: i32,
    outage: bool,
    churn_day: Option<i32>,
    d: &mut Dice,
    rows: &mut ChunkRows,
) -> Option<(bool, Option<u8>)> {
    let opened = i64::from(day) * DAY_US
        + i64::from(8 + d.below(9)) * HOUR_US
        + i64::from(d.below(3600)) * 1_000_000;
    let mix = if category == NETWORK && outage {
        &OUTAGE_SEVERITY_MIX
    } else {
        &SEVERITY_MIX[usize::from(category)]
    };
    let severity = d.pick0(mix);
    let resolved: Option<i64> = if category == CANCELLATION {
        Some(match churn_day {
            Some(cd) => {
                i64::from(cd) * DAY_US + 17 * HOUR_US + i64::from(d.below(3600)) * 1_000_000
            }
            None => {
                opened + i64::from(1 + d.below(3)) * DAY_US + i64::from(d.below(3600)) * 1_000_000
            }
        })
    } else {
        let p_open = if c.region >= 6 {
            2.0 * UNRESOLVED
        } else {
            UNRESOLVED
        };
        if d.chance(p_open) {
            None
        } else {
            let hours = d.lognormal(MEDIAN_RESOLUTION_HOURS[severity], 1.0);
            Some(opened + (hours * HOUR_US as f64) as i64 + 60_000_000)
        }
    };
    let day_of = |us: i64| us.div_euclid(DAY_US) as i32;
    let resolved = resolved.filter(|r| churn_day.is_none_or(|cd| day_of(*r) <= cd));
    let score = match resolved {
        Some(r) => {
            let survey = !d.chance(NO_SURVEY);
            let days = (r - opened) as f64 / DAY_US as f64;
            let x = 3.6 + 0.9 * c.latent.satisfaction - 0.35 * (1.0 + days).ln()
                + SCORE_NOISE_SD * d.z();
            survey.then(|| x.round().clamp(1.0, 5.0) as u8)
        }
        None => None,
    };
    let resolved_day = resolved.map(day_of);
    c.tickets.push(TicketMemo {
        opened_day: day,
        category,
        severe: severity >= 2,
        resolved_day,
        score,
    });
    // What the export shows: resolutions after the export date are not known yet.
    let until = w.cal.observed_until();
    let (shown_resolved, shown_score) = match resolved_day {
        Some(rd) if rd <= until => (resolved, score),
        _ => (None, None),
    };
    let t = &mut rows.tickets;
    t.cust.push(c.idx);
    t.seq.push(c.next_ticket);
    c.next_ticket += 1;
    t.opened.push(opened);
    t.resolved.push(shown_resolved);
    t.category.push(category);
    t.severity.push(severity as u8);
    t.score.push(shown_score.map(i64::from));
    Some((resolved.is_some(), score))
}

/// Repricing, plan upgrades/downgrades, adoption and drops during month `m`.
fn product_events(
    c: &mut Customer,
    w: &World,
    m: i32,
    sig: &Signals,
    d: &mut Dice,
    rows: &mut ChunkRows,
) {
    let cal = &w.cal;
    let first = cal.first_day(m);
    let days = cal.days_in(m);
    let ps = c.latent.price_sensitivity;

    if !c.holdings.is_empty() && d.chance(P_REPRICE) {
        let i = d.below(c.holdings.len() as i32) as usize;
        let h = c.holdings[i];
        let product = usize::from(h.product);
        let new_fee = cents(h.fee * (1.10 + 0.25 * d.u()));
        let day = first + d.below(days);
        if new_fee > h.fee && new_fee <= cents(c.list_fee(product) * 1.25) {
            c.replace(i, product, new_fee, day, rows);
        }
    }

    if let Some((i, _)) = c.mobile_plan() {
        if sig.overage_both {
            if let Some(up) = c.ladder_neighbour(true) {
                if d.chance(P_UPGRADE) {
                    let day = first + d.below(days);
                    let fee = c.list_fee(up);
                    c.replace(i, up, fee, day, rows);
                }
            }
        } else if ps > 0.5 && c.usage.len() >= 3 {
            if let Some(down) = c.ladder_neighbour(false) {
                let lower = PRODUCTS[down].allowance.unwrap_or(f64::INFINITY);
                let k = c.usage.len();
                let fits = c.usage[k - 3..]
                    .iter()
                    .all(|u| u.data_per_seat < 0.5 * lower);
                if fits && d.chance(P_DOWNGRADE) {
                    let day = first + d.below(days);
                    let fee = c.list_fee(down);
                    c.replace(i, down, fee, day, rows);
                }
            }
        }
    }

    let p_adopt = P_ADOPT[c.segment.index()] * (1.0 + 0.3 * c.latent.satisfaction.clamp(-1.0, 1.0));
    if d.chance(p_adopt) {
        let weights = c.adoption_weights();
        if let Some(product) = d.pick(&weights) {
            let day = first + d.below(days);
            let promo = [0.0, 0.1, 0.2, 0.3][d.pick0(&[0.55, 0.20, 0.15, 0.10])];
            c.add_product(product, day, promo);
        }
    }

    if c.holdings.len() >= 2 && d.chance(P_DROP * (0.5 + ps + 2.0 * sig.bill_shock)) {
        let mobile = c.holds_category(Category::Mobile);
        let bb = c.holds_category(Category::Broadband);
        let weights: Vec<f64> = c
            .holdings
            .iter()
            .map(|h| match PRODUCTS[usize::from(h.product)].category {
                Category::Mobile if bb => 0.2,
                Category::Broadband if mobile => 0.2,
                Category::Mobile | Category::Broadband => 0.0,
                Category::Tv => 0.7,
                _ => 1.0,
            })
            .collect();
        if let Some(i) = d.pick(&weights) {
            let day = first + d.below(days);
            c.end_holding(i, day, rows);
        }
    }
}

/// Add-on cancellations and purchases during month `m`, on the side stream: each held add-on
/// is cancelled with [`P_ADDON_DROP`], and an add-on is bought with [`P_ADDON`] (which one
/// follows [`Customer::addon_weights`]).
fn addon_events(c: &mut Customer, w: &World, m: i32, side: &mut Dice, rows: &mut ChunkRows) {
    let first = w.cal.first_day(m);
    let days = w.cal.days_in(m);
    let mut i = 0;
    while i < c.addons.len() {
        if side.chance(P_ADDON_DROP) {
            let old = c.addons.swap_remove(i);
            let day = (first + side.below(days)).max(old.start);
            push_assignment(rows, c.idx, &old, Some(day));
        } else {
            i += 1;
        }
    }
    if side.chance(P_ADDON[c.segment.index()]) {
        let weights = c.addon_weights(first);
        if let Some(product) = side.pick(&weights) {
            let day = first + side.below(days);
            let promo = [0.0, 0.1, 0.2, 0.3][side.pick0(&[0.55, 0.20, 0.15, 0.10])];
            c.add_addon(product, day, promo);
        }
    }
}

/// Bills month `m` (`frac` of it) on the first day of `m + 1`; returns the bill shock this
/// invoice shows against the one three invoices earlier.
#[allow(clippy::too_many_arguments)]
fn invoice(
    c: &mut Customer,
    w: &World,
    m: i32,
    frac: f64,
    data_gb: f64,
    last: bool,
    d: &mut Dice,
    rows: &mut ChunkRows,
) -> f64 {
    let cal = &w.cal;
    let date = cal.first_day(m + 1);
    let due = date + DUE_DAYS;
    let fees = cents(c.holdings.iter().map(|h| h.fee).sum::<f64>() * frac);
    // Add-ons are billed on top; the shock the churn hazard reads is on the rest of the bill
    // (a service the customer chose to add is not a price rise).
    let addon_fees = cents(c.addons.iter().map(|h| h.fee).sum::<f64>() * frac);
    let overage = match c.allowance() {
        Some(a) if data_gb > a => cents((data_gb - a) * OVERAGE_PER_GB),
        _ => 0.0,
    };
    let mut discount = 0.0;
    if c.segment == Segment::Consumer
        && c.holds_category(Category::Mobile)
        && c.holds_category(Category::Broadband)
    {
        discount += BUNDLE_DISCOUNT * frac;
    }
    if c.segment.is_business() && c.seats >= 10 {
        discount += VOLUME_DISCOUNT * fees;
    }
    if c.discount_until.is_some_and(|until| m <= until) {
        discount += RETENTION_DISCOUNT * fees;
    }
    let discount = cents(discount.min(fees));
    let amount = cents(fees + addon_fees + overage - discount).max(0.0);
    let p_unpaid = 0.004 + 0.3 * c.stress * c.stress + if last { 0.1 } else { 0.0 };
    let p_late = 0.03 + 0.45 * c.stress;
    let u = d.u();
    let paid = if u < p_unpaid {
        None
    } else if u < p_unpaid + p_late {
        Some(due + 1 + ((d.exp1() * 12.0) as i32).min(90))
    } else {
        Some(date + d.below(DUE_DAYS))
    };
    let gross = fees + overage;
    let shock = match c.bills.len() {
        n if n >= 3 && c.bills[n - 3].gross > 0.0 => {
            (gross / c.bills[n - 3].gross - 1.0).clamp(0.0, 1.0)
        }
        _ => 0.0,
    };
    c.bills.push(Bill {
        date,
        due,
        paid,
        gross,
        overage,
    });
    let until = cal.observed_until();
    if date <= until {
        let r = &mut rows.invoices;
        r.cust.push(c.idx);
        r.month.push(m as u32);
        r.date.push(date);
        r.amount.push(amount);
        r.overage.push(overage);
        r.discount.push(discount);
        r.due.push(due);
        r.paid.push(paid.filter(|&p| p <= until));
    }
    shock
}

/// End-of-month drift of latent satisfaction and financial stress.
fn drift(
    c: &mut Customer,
    outage: bool,
    net: &Network,
    shock: f64,
    unresolved: u32,
    good: u32,
    d: &mut Dice,
) {
    let dps = f64::from(net.dropped) / f64::from(c.seats);
    let l = &mut c.latent;
    l.satisfaction = 0.9 * l.satisfaction + 0.1 * c.sat_base + 0.1 * d.z()
        - if outage { 0.25 } else { 0.0 }
        - 0.02 * dps.min(10.0)
        - 0.5 * shock
        - 0.25 * f64::from(unresolved)
        + 0.05 * f64::from(good);
    c.stress = (c.stress + 0.02 * d.z()).clamp(0.001, 0.999);
}

/// Writes the customer row and the assignments still open.
fn finish(c: &Customer, w: &World, churn_day: Option<i32>, rows: &mut ChunkRows) {
    for h in c.holdings.iter().chain(&c.addons) {
        push_assignment(rows, c.idx, h, churn_day.map(|cd| cd.max(h.start)));
    }
    let r = &mut rows.customers;
    r.idx.push(c.idx);
    r.name.push(c.name.clone());
    r.segment.push(c.segment);
    r.tier.push(c.tier);
    r.region.push(c.region);
    r.manager.push(c.manager);
    r.signup.push(c.signup);
    r.contract.push(c.contract);
    r.contract_end
        .push(c.term_end_at(churn_day.unwrap_or(w.cal.observed_until())));
    r.churn.push(churn_day);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(seed: u64) -> World {
        World {
            cal: Calendar::new(
                chrono::NaiveDate::from_ymd_opt(2023, 1, 1).expect("date"),
                24,
            ),
            seed,
            p_new: super::super::customer::new_customer_share(24),
            n_managers: 5,
        }
    }

    #[test]
    fn a_customer_does_not_depend_on_its_chunk() {
        let w = world(7);
        let whole = simulate_chunk(&w, 0..40);
        let tail = simulate_chunk(&w, 20..40);
        let n = whole
            .customers
            .idx
            .iter()
            .position(|&i| i == 20)
            .expect("20");
        assert_eq!(whole.customers.churn[n..], tail.customers.churn[..]);
        let k = whole
            .invoices
            .cust
            .iter()
            .position(|&i| i >= 20)
            .expect("inv");
        assert_eq!(whole.invoices.amount[k..], tail.invoices.amount[..]);
    }

    #[test]
    fn mixing_separates_neighbouring_customers_and_seeds() {
        assert_ne!(mix(1, 2), mix(1, 3));
        assert_ne!(mix(1, 2), mix(2, 2));
    }
}

#[cfg(test)]
mod calibration {
    //! `cargo test --lib generate::simulate::calibration -- --ignored --nocapture` prints the
    //! rates the documentation quotes.
    use super::*;

    #[test]
    #[ignore]
    fn print_rates() {
        let w = World {
            cal: Calendar::new(
                chrono::NaiveDate::from_ymd_opt(2023, 1, 1).expect("date"),
                24,
            ),
            seed: 42,
            p_new: super::super::customer::new_customer_share(24),
            n_managers: 27,
        };
        let n = 20_000u32;
        let r = simulate_chunk(&w, 0..n);
        let c = &r.customers;
        // Annualised churn by segment: churners / customer-years at risk.
        let mut exposure = [0.0f64; 3];
        let mut churners = [0usize; 3];
        let start = w.cal.first_day(0);
        let end = w.cal.observed_until();
        for i in 0..c.idx.len() {
            let s = c.segment[i].index();
            let from = c.signup[i].max(start);
            let to = c.churn[i].unwrap_or(end);
            exposure[s] += f64::from(to - from) / 365.25;
            if c.churn[i].is_some() {
                churners[s] += 1;
            }
        }
        for s in 0..3 {
            let rate = churners[s] as f64 / exposure[s];
            println!(
                "segment {s}: churners {} exposure {:.0}y annual hazard {:.3} annual churn {:.3}",
                churners[s],
                exposure[s],
                rate,
                1.0 - (-rate).exp()
            );
        }
        println!(
            "customers {} churned {}",
            c.idx.len(),
            c.churn.iter().filter(|x| x.is_some()).count()
        );
        let mut seg = [0; 3];
        for s in &c.segment {
            seg[s.index()] += 1;
        }
        println!("segments {seg:?}");
        println!(
            "invoices {} usage {} tickets {} assignments {} campaigns {} truth {}",
            r.invoices.cust.len(),
            r.usage.cust.len(),
            r.tickets.cust.len(),
            r.assignments.cust.len(),
            r.campaigns.cust.len(),
            r.churn_truth.cust.len()
        );
        let mean_h: f64 =
            r.churn_truth.hazard.iter().sum::<f64>() / r.churn_truth.hazard.len() as f64;
        println!("mean truth hazard {mean_h:.4}");
        let mut cat = [0; 5];
        for &x in &r.tickets.category {
            cat[usize::from(x)] += 1;
        }
        println!("ticket categories {cat:?}");
        let nulls_paid = r.invoices.paid.iter().filter(|p| p.is_none()).count();
        let late = (0..r.invoices.cust.len())
            .filter(|&i| r.invoices.paid[i].is_some_and(|p| p > r.invoices.due[i]))
            .count();
        println!("invoices unpaid {nulls_paid} late {late}");
        let ov = r.invoices.overage.iter().filter(|&&o| o > 0.0).count();
        let disc = r.invoices.discount.iter().filter(|&&o| o > 0.0).count();
        println!("invoices with overage {ov} with discount {disc}");
        let kinds: Vec<usize> = (0..2)
            .map(|k| r.campaigns.kind.iter().filter(|&&x| x == k).count())
            .collect();
        let treated = r.campaigns.treated.iter().filter(|&&t| t).count();
        println!("campaign targets by kind {kinds:?}, treated {treated}");
        // churn within 90 days of a retention target, by group
        let churn_of: std::collections::HashMap<u32, Option<i32>> =
            c.idx.iter().copied().zip(c.churn.iter().copied()).collect();
        let mut g = [[0usize; 2]; 2];
        let mut eff = [0.0f64; 2];
        for i in 0..r.campaigns.cust.len() {
            if r.campaigns.kind[i] != 0 {
                continue;
            }
            let t = usize::from(r.campaigns.treated[i]);
            let day = r.campaigns.date[i];
            let ch = churn_of[&r.campaigns.cust[i]].is_some_and(|cd| cd >= day && cd < day + 90);
            g[t][0] += 1;
            if ch {
                g[t][1] += 1;
            }
            eff[t] += r.effect_truth.effect[i];
        }
        for t in 0..2 {
            println!(
                "retention group {t}: n {} churn90 {:.3} mean effect {:.4}",
                g[t][0],
                g[t][1] as f64 / g[t][0] as f64,
                eff[t] / g[t][0] as f64
            );
        }
        // cancellation tickets → churn in next 90 days
        let mut with = [0usize; 2];
        let mut seen = std::collections::HashSet::new();
        for i in 0..r.tickets.cust.len() {
            if r.tickets.category[i] != CANCELLATION {
                continue;
            }
            let cu = r.tickets.cust[i];
            if !seen.insert(cu) {
                continue;
            }
            let day = (r.tickets.opened[i] / DAY_US) as i32;
            with[0] += 1;
            if churn_of[&cu].is_some_and(|cd| cd >= day && cd <= day + 90) {
                with[1] += 1;
            }
        }
        println!(
            "customers with a cancellation ticket {} churned within 90d {:.3}",
            with[0],
            with[1] as f64 / with[0] as f64
        );
        let mut prods = [0usize; 21];
        for (i, &p) in r.assignments.product.iter().enumerate() {
            if r.assignments.end[i].is_none() {
                prods[usize::from(p)] += 1;
            }
        }
        println!("open assignments by product {prods:?}");
        let scores: Vec<i64> = r.tickets.score.iter().flatten().copied().collect();
        let mut sc = [0; 6];
        for s in scores {
            sc[s as usize] += 1;
        }
        println!("scores {sc:?}");
        // truth calibration: mean p90 vs realised churn in (D, D+90]
        let mut bins = [[0.0f64; 3]; 5];
        for i in 0..r.churn_truth.cust.len() {
            let dday = r.churn_truth.month_end[i];
            if dday + 90 > end {
                continue;
            }
            let p = r.churn_truth.p90[i];
            let y = churn_of[&r.churn_truth.cust[i]].is_some_and(|cd| cd > dday && cd <= dday + 90);
            let b = if p < 0.03 {
                0
            } else if p < 0.06 {
                1
            } else if p < 0.12 {
                2
            } else if p < 0.25 {
                3
            } else {
                4
            };
            bins[b][0] += 1.0;
            bins[b][1] += p;
            bins[b][2] += f64::from(u8::from(y));
        }
        for b in bins {
            println!(
                "p90 bin n {} mean p {:.3} realised {:.3}",
                b[0],
                b[1] / b[0],
                b[2] / b[0]
            );
        }
    }
}
