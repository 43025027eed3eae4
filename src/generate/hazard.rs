//! The churn hazard: a monthly probability `h = sigmoid(lp)` whose linear predictor `lp` sums the
//! drivers below. Every coefficient is a named constant documented in `docs/generator.md`.
//!
//! `lp` for month `m` = [`state_lp`] (what the warehouse shows at the end of month `m − 1`, plus
//! the unobserved frailty and satisfaction) + [`calendar_lp`] (contract clock and tenure on the
//! first day of month `m`) − the retention treatment effect while it lasts, plus two events
//! of month `m` itself: a cancellation call ([`CANCEL_TICKET`]) and a major network outage
//! ([`OUTAGE_EVENT`]). [`expected_hazard`] integrates those two events out exactly, which is
//! what the truth tables report.

use super::catalog::Segment;

/// Intercept: `sigmoid(-5.0)` ≈ 0.67% a month before any driver.
pub const INTERCEPT: f64 = -5.0;
/// Segment offsets (consumer, smb, enterprise): business customers are stickier.
pub const SEGMENT: [f64; 3] = [0.0, -0.35, -1.0];
/// Month-to-month contract.
pub const MONTH_TO_MONTH: f64 = 0.7;
/// Term contract ending within [`NEAR_END_DAYS`] of the first day of the month.
pub const NEAR_CONTRACT_END: f64 = 1.0;
/// Term contract with more than [`NEAR_END_DAYS`] left.
pub const MID_CONTRACT: f64 = -0.7;
/// "Near the end of the contract" threshold, in days.
pub const NEAR_END_DAYS: i32 = 60;
/// Tenure under 6 months.
pub const TENURE_UNDER_6M: f64 = 0.6;
/// Tenure 6 to 12 months.
pub const TENURE_UNDER_12M: f64 = 0.25;
/// Bill shock: × `shock` × (0.5 + price sensitivity), `shock` = latest gross bill / the bill three
/// invoices earlier − 1, clipped to [0, 1].
pub const BILL_SHOCK: f64 = 2.5;
/// Overage charged on either of the last two invoices.
pub const OVERAGE: f64 = 0.3;
/// Per invoice overdue at the month end (due date passed, not paid), at most 3.
pub const OVERDUE: f64 = 0.45;
/// Per one of the last three invoices paid after its due date.
pub const LATE_PAID: f64 = 0.15;
/// Per ticket of the last 3 months still unresolved at the month end, at most 3.
pub const UNRESOLVED_TICKET: f64 = 0.3;
/// Per high/critical ticket of the last 3 months, at most 3.
pub const SEVERE_TICKET: f64 = 0.15;
/// Per ticket of the last 3 months scored 1 or 2, at most 3.
pub const LOW_SATISFACTION: f64 = 0.35;
/// A cancellation ticket opened in the last 2 months (a customer who called to leave and was
/// talked round).
pub const RECENT_CANCEL_TICKET: f64 = 1.3;
/// Per dropped call per seat last month, at most 10.
pub const DROPPED_CALLS: f64 = 0.06;
/// Per hour of outage last month, at most 10 hours.
pub const OUTAGE_HOURS: f64 = 0.12;
/// × decline, decline = 1 − (mean usage of the last 2 months / mean of the 3 before), clipped
/// to [0, 1]; usage volume = data GB + voice minutes / 20.
pub const USAGE_DECLINE: f64 = 2.0;
/// Per product held beyond the first, at most 4.
pub const PER_EXTRA_PRODUCT: f64 = -0.3;
/// × latent satisfaction (seen only through tickets and their scores; about N(0.3, 0.45)).
pub const SATISFACTION: f64 = -0.6;
/// A cancellation ticket opened this month (the month's own event).
pub const CANCEL_TICKET: f64 = 3.0;
/// A major network outage this month (the month's own event).
pub const OUTAGE_EVENT: f64 = 0.35;
/// The probability of a cancellation call this month is `sigmoid(lp + CANCEL_INTENT)`.
pub const CANCEL_INTENT: f64 = -0.3;

/// How much of the customer stays hidden. The oracle (the truth tables) is the yardstick models
/// are measured against, so the purely unobservable part of the hazard is kept small: what a
/// model cannot see bounds how close it can get.
///
/// Frailty: a constant per customer, `FRAILTY_SD · z`, never shown in any table (was 0.7).
pub const FRAILTY_SD: f64 = 0.3;
/// Long-run satisfaction level `0.3 + SATISFACTION_LEVEL_SD · z` (was 0.6).
pub const SATISFACTION_LEVEL_SD: f64 = 0.4;
/// Starting satisfaction = level + `SATISFACTION_START_SD · z` (was 0.3).
pub const SATISFACTION_START_SD: f64 = 0.2;
/// Noise of a ticket's satisfaction score around `3.6 + 0.9 · satisfaction − …` (was 0.7).
pub const SCORE_NOISE_SD: f64 = 0.5;
/// Ticket rates × `exp(TICKET_SATISFACTION · satisfaction)`: unhappy customers call more
/// (was −0.25).
pub const TICKET_SATISFACTION: f64 = -0.4;

/// The logistic function.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// What the warehouse shows about a customer at a month end (all computed from written rows
/// dated on or before it), plus the product count.
#[derive(Debug, Clone, Copy, Default)]
pub struct Signals {
    pub bill_shock: f64,
    pub overage_recent: bool,
    /// Overage on both of the last two invoices.
    pub overage_both: bool,
    pub overdue: u32,
    pub late_paid: u32,
    pub tickets: u32,
    pub unresolved: u32,
    pub severe: u32,
    pub low_satisfaction: u32,
    pub cancel_recent: bool,
    pub dropped_per_seat: f64,
    pub outage_minutes: f64,
    pub usage_decline: f64,
    pub products: u32,
}

impl Signals {
    /// Network trouble a retention offer cannot fix.
    pub fn network_problem(&self) -> bool {
        self.dropped_per_seat >= 3.0 || self.outage_minutes >= 120.0
    }
}

/// Contract position on the first day of a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractClock {
    MonthToMonth,
    NearEnd,
    MidTerm,
}

/// The unobserved side of a customer that moves the hazard.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latent {
    /// Constant per customer, N(0, [`FRAILTY_SD`]).
    pub frailty: f64,
    /// Drifts month to month with experience.
    pub satisfaction: f64,
    /// In (0, 1); scales bill shock.
    pub price_sensitivity: f64,
}

/// The part of `lp` fixed by the state at a month end.
pub fn state_lp(segment: Segment, s: &Signals, latent: &Latent) -> f64 {
    let capped = |n: u32| f64::from(n.min(3));
    INTERCEPT
        + SEGMENT[segment.index()]
        + BILL_SHOCK * s.bill_shock * (0.5 + latent.price_sensitivity)
        + if s.overage_recent { OVERAGE } else { 0.0 }
        + OVERDUE * capped(s.overdue)
        + LATE_PAID * capped(s.late_paid)
        + UNRESOLVED_TICKET * capped(s.unresolved)
        + SEVERE_TICKET * capped(s.severe)
        + LOW_SATISFACTION * capped(s.low_satisfaction)
        + if s.cancel_recent {
            RECENT_CANCEL_TICKET
        } else {
            0.0
        }
        + DROPPED_CALLS * s.dropped_per_seat.min(10.0)
        + OUTAGE_HOURS * (s.outage_minutes / 60.0).min(10.0)
        + USAGE_DECLINE * s.usage_decline
        + PER_EXTRA_PRODUCT * f64::from(s.products.saturating_sub(1).min(4))
        + latent.frailty
        + SATISFACTION * latent.satisfaction
}

/// The part of `lp` set by the calendar: contract clock and tenure in months.
pub fn calendar_lp(clock: ContractClock, tenure_months: i32) -> f64 {
    let contract = match clock {
        ContractClock::MonthToMonth => MONTH_TO_MONTH,
        ContractClock::NearEnd => NEAR_CONTRACT_END,
        ContractClock::MidTerm => MID_CONTRACT,
    };
    let tenure = if tenure_months < 6 {
        TENURE_UNDER_6M
    } else if tenure_months < 12 {
        TENURE_UNDER_12M
    } else {
        0.0
    };
    contract + tenure
}

/// Probability of a cancellation call in a month whose base predictor is `lp`.
pub fn cancel_probability(lp: f64) -> f64 {
    sigmoid(lp + CANCEL_INTENT)
}

/// `E[h]` for a month with base predictor `lp`, integrating out the month's cancellation call
/// (probability [`cancel_probability`]) and major outage (probability `p_outage`).
pub fn expected_hazard(lp: f64, p_outage: f64) -> f64 {
    let pc = cancel_probability(lp);
    let po = p_outage;
    (1.0 - pc) * (1.0 - po) * sigmoid(lp)
        + pc * (1.0 - po) * sigmoid(lp + CANCEL_TICKET)
        + (1.0 - pc) * po * sigmoid(lp + OUTAGE_EVENT)
        + pc * po * sigmoid(lp + CANCEL_TICKET + OUTAGE_EVENT)
}

/// `1 − Π (1 − E[h_k])` over three months with base predictors `lps`.
pub fn p_churn_3m(lps: [f64; 3], p_outage: f64) -> f64 {
    1.0 - lps
        .iter()
        .map(|&lp| 1.0 - expected_hazard(lp, p_outage))
        .product::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_hazard_lies_between_quiet_and_eventful_months() {
        let lp = -4.0;
        let h = expected_hazard(lp, 0.1);
        assert!(h > sigmoid(lp));
        assert!(h < sigmoid(lp + CANCEL_TICKET + OUTAGE_EVENT));
        // No events possible: the plain sigmoid (cancel probability is never exactly 0, so
        // allow its small contribution).
        let quiet = expected_hazard(-30.0, 0.0);
        assert!((quiet - sigmoid(-30.0)).abs() < 1e-12);
    }

    #[test]
    fn three_month_probability_compounds_monthly_hazards() {
        let lp = -4.0;
        let h = expected_hazard(lp, 0.05);
        let p = p_churn_3m([lp; 3], 0.05);
        assert!((p - (1.0 - (1.0 - h).powi(3))).abs() < 1e-12);
        assert!(p_churn_3m([lp - 1.0; 3], 0.05) < p);
    }

    #[test]
    fn contract_clock_and_tenure_order_risk() {
        assert!(calendar_lp(ContractClock::NearEnd, 24) > calendar_lp(ContractClock::MidTerm, 24));
        assert!(
            calendar_lp(ContractClock::MonthToMonth, 3)
                > calendar_lp(ContractClock::MonthToMonth, 30)
        );
    }

    #[test]
    fn more_trouble_means_higher_state_risk() {
        let calm = Signals {
            products: 1,
            ..Signals::default()
        };
        let troubled = Signals {
            overdue: 2,
            unresolved: 1,
            cancel_recent: true,
            ..calm
        };
        let stuck = Signals {
            products: 4,
            ..calm
        };
        let l = Latent::default();
        let base = state_lp(Segment::Consumer, &calm, &l);
        assert!(state_lp(Segment::Consumer, &troubled, &l) > base + 2.0);
        assert!(state_lp(Segment::Consumer, &stuck, &l) < base);
        assert!(state_lp(Segment::Enterprise, &calm, &l) < base);
    }
}
