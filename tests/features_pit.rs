//! Point-in-time features: exact values on a tiny hand-built warehouse, and THE leakage test —
//! changing, deleting or adding facts dated after D leaves every feature at D bit-identical —
//! on that warehouse and on a generated one.

use chrono::{NaiveDate, NaiveDateTime};
use polars::prelude::*;

use churn::features::columns::*;
use churn::features::{self, FeatureSet};
use churn::warehouse::schema::{
    assignment, campaign, customer, invoice, product, ticket, usage, Table,
};
use churn::warehouse::Warehouse;

// ---- the tiny warehouse ------------------------------------------------------------------------

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn od(s: &str) -> Option<NaiveDate> {
    Some(d(s))
}

fn ts(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("timestamp")
}

fn ots(s: &str) -> Option<NaiveDateTime> {
    Some(ts(s))
}

/// Casts every column to its contract dtype and orders columns as the contract does.
fn canonical(table: Table, df: DataFrame) -> DataFrame {
    let exprs: Vec<Expr> = table
        .spec()
        .columns
        .iter()
        .map(|c| col(c.name).cast(c.kind.dtype()))
        .collect();
    df.lazy().select(exprs).collect().expect("canonical frame")
}

/// The as-of date of the hand-checked values.
fn as_of() -> NaiveDate {
    d("2024-06-30")
}

/// Six customers, four products and a handful of facts around D = 2024-06-30 (see the comments
/// on each row; the expected values in `hand_checked_values_at_d` are derived from them).
fn tiny_warehouse() -> Warehouse {
    let none_s: Option<&str> = None;
    let customers = df!(
        customer::ID => ["C1", "C2", "C3", "C4", "C5", "C6"],
        customer::NAME => [Some("Ann"), Some("Bo"), None, Some("Dee"), Some("Eve"), Some("Fay")],
        customer::SEGMENT => ["consumer", "smb", "enterprise", "consumer", "consumer", "smb"],
        customer::TIER => ["gold", "silver", "platinum", "bronze", "bronze", "diamond"],
        customer::REGION => ["north", "north", "south", "south", "north", "east"],
        customer::ACCOUNT_MANAGER_ID => [none_s, Some("am1"), Some("am2"), None, None, None],
        // C4 signs up after D (not active); C6 signs up on D (active, tenure 0).
        customer::SIGNUP_DATE => [d("2022-01-15"), d("2023-06-30"), d("2021-03-01"), d("2024-07-15"), d("2023-01-01"), d("2024-06-30")],
        customer::CONTRACT_TYPE => ["one_year", "two_year", "two_year", "month_to_month", "month_to_month", "month_to_month"],
        customer::CONTRACT_END_DATE => [od("2024-08-15"), od("2025-06-30"), od("2024-03-01"), None, None, None],
        // C2 churns inside (D, D+90]; C3 after D+90; C5 before D (not active, but counts in the
        // trailing churn rates of north and consumer).
        customer::CHURN_DATE => [None, od("2024-08-20"), od("2024-12-01"), None, od("2024-05-10"), None],
    )
    .expect("customers");
    let products = df!(
        product::ID => ["P1", "P2", "P3", "P4"],
        product::NAME => ["Mobile 10GB", "Fibre", "Mobile Unlimited", "TV"],
        product::CATEGORY => ["mobile", "broadband", "mobile", "tv"],
        product::MONTHLY_PRICE => [30.0, 40.0, 50.0, 20.0],
        product::MARGIN_RATE => [0.5, 0.4, 0.6, 0.3],
        product::DATA_ALLOWANCE_GB => [Some(10.0), None, None, None],
        product::ELIGIBLE_SEGMENTS => [none_s, None, None, None],
    )
    .expect("products");
    let invoices = df!(
        invoice::ID => ["I1", "I2", "I3", "I4", "I5", "I6", "I7", "I8"],
        invoice::CUSTOMER_ID => ["C1", "C1", "C1", "C1", "C1", "C1", "C2", "C2"],
        invoice::INVOICE_DATE => [d("2024-06-01"), d("2024-05-01"), d("2024-03-15"), d("2024-02-01"), d("2023-06-01"), d("2024-07-01"), d("2024-06-20"), d("2024-06-20")],
        invoice::AMOUNT => [100.0, 80.0, 60.0, 60.0, 50.0, 999.0, 200.0, 20.0],
        invoice::OVERAGE_AMOUNT => [10.0, 0.0, 0.0, 0.0, 0.0, 99.0, 0.0, 0.0],
        invoice::DISCOUNT_AMOUNT => [5.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        invoice::DUE_DATE => [d("2024-06-15"), d("2024-05-15"), d("2024-03-29"), d("2024-02-15"), d("2023-06-15"), d("2024-07-15"), d("2024-06-30"), d("2024-07-05")],
        // I4 is paid after D: unpaid (and overdue) at D.
        invoice::PAID_DATE => [None, od("2024-05-20"), od("2024-03-20"), od("2024-07-10"), od("2023-06-14"), None, None, od("2024-06-25")],
    )
    .expect("invoices");
    let assignments = df!(
        assignment::ID => ["A1", "A2", "A3", "A4", "A5", "A6"],
        assignment::CUSTOMER_ID => ["C1", "C1", "C1", "C1", "C1", "C2"],
        assignment::PRODUCT_ID => ["P1", "P2", "P4", "P4", "P3", "P3"],
        assignment::START_DATE => [d("2023-01-01"), d("2024-05-01"), d("2023-03-01"), d("2024-07-05"), d("2022-06-01"), d("2023-07-01")],
        // A5 ends after D: still held at D.
        assignment::END_DATE => [None, None, od("2024-06-15"), None, od("2024-08-01"), None],
        assignment::MONTHLY_FEE => [30.0, 40.0, 20.0, 20.0, 50.0, 50.0],
    )
    .expect("assignments");
    let tickets = df!(
        ticket::ID => ["T1", "T2", "T3", "T4", "T5", "T6", "T7"],
        ticket::CUSTOMER_ID => ["C1", "C1", "C1", "C1", "C1", "C1", "C2"],
        ticket::OPENED_AT => [ts("2024-06-30 23:30"), ts("2024-06-10 08:00"), ts("2024-02-01 10:00"), ts("2024-06-29 09:00"), ts("2024-07-01 00:30"), ts("2024-05-15 00:00"), ts("2023-06-30 12:00")],
        // T4 is resolved after D: open at D, its score unknown.
        ticket::RESOLVED_AT => [None, ots("2024-06-11 20:00"), ots("2024-02-01 12:00"), ots("2024-07-01 09:00"), None, ots("2024-05-15 06:00"), ots("2023-07-01 12:00")],
        ticket::CATEGORY => ["billing", "technical", "network", "cancellation", "billing", "complaint", "billing"],
        ticket::SEVERITY => ["high", "low", "critical", "medium", "critical", "medium", "low"],
        ticket::SATISFACTION_SCORE => [None, Some(4i64), Some(2), Some(1), Some(1), Some(5), Some(3)],
    )
    .expect("tickets");
    let campaigns = df!(
        campaign::ID => ["K1", "K2", "K3", "K4", "K2", "K1"],
        campaign::CUSTOMER_ID => ["C1", "C1", "C1", "C1", "C2", "C3"],
        campaign::CAMPAIGN_TYPE => ["retention", "upsell", "retention", "retention", "upsell", "retention"],
        campaign::TARGET_DATE => [d("2024-06-20"), d("2024-03-01"), d("2024-01-10"), d("2024-07-10"), d("2023-05-01"), d("2024-06-20")],
        campaign::TREATMENT_GROUP => ["treatment", "control", "treatment", "treatment", "treatment", "control"],
        campaign::RESPONDED => [Some(true), None, Some(true), Some(true), Some(false), None],
        campaign::OFFERED_PRODUCT_ID => [Some("P2"), Some("P4"), None, None, Some("P4"), None],
    )
    .expect("campaigns");
    let usage = df!(
        usage::CUSTOMER_ID => ["C1", "C1", "C1", "C1", "C1", "C1", "C2"],
        usage::USAGE_DATE => [d("2024-06-30"), d("2024-06-01"), d("2024-05-31"), d("2024-03-01"), d("2024-01-02"), d("2024-07-01"), d("2024-04-01")],
        usage::DATA_GB => [2.0, 3.0, 5.0, 4.0, 100.0, 50.0, 6.0],
        usage::VOICE_MINUTES => [100.0, 50.0, 50.0, 100.0, 1000.0, 500.0, 0.0],
        usage::SMS_COUNT => [Some(1i64), None, None, None, None, None, None],
        usage::DROPPED_CALLS => [1i64, 0, 2, 0, 9, 9, 0],
        usage::OUTAGE_MINUTES => [0.0, 30.0, 0.0, 10.0, 0.0, 60.0, 0.0],
    )
    .expect("usage");
    Warehouse {
        customers: canonical(Table::Customer, customers),
        products: canonical(Table::Product, products),
        invoices: canonical(Table::Invoice, invoices),
        assignments: canonical(Table::ServiceAssignment, assignments),
        tickets: canonical(Table::SupportTicket, tickets),
        campaigns: canonical(Table::CampaignTarget, campaigns),
        usage: canonical(Table::NetworkUsage, usage),
    }
}

// ---- reading values ----------------------------------------------------------------------------

fn ids(df: &DataFrame) -> Vec<String> {
    df.column(CUSTOMER_ID)
        .expect("customer_id")
        .str()
        .expect("str")
        .iter()
        .map(|s| s.expect("id").to_owned())
        .collect()
}

fn row_of(df: &DataFrame, id: &str) -> usize {
    ids(df)
        .iter()
        .position(|x| x == id)
        .unwrap_or_else(|| panic!("no row for {id}"))
}

/// The Float64 value of `column` for customer `id`.
fn f(df: &DataFrame, id: &str, column: &str) -> Option<f64> {
    let i = row_of(df, id);
    df.column(column)
        .unwrap_or_else(|_| panic!("no column {column}"))
        .f64()
        .unwrap_or_else(|_| panic!("{column} is not f64"))
        .get(i)
}

fn label(df: &DataFrame, id: &str) -> Option<i32> {
    let i = row_of(df, id);
    df.column(CHURNED_90D)
        .expect("label")
        .i32()
        .expect("i32")
        .get(i)
}

fn assert_close(got: Option<f64>, want: f64, what: &str) {
    let got = got.unwrap_or_else(|| panic!("{what}: null, expected {want}"));
    assert!(
        (got - want).abs() < 1e-9,
        "{what}: got {got}, expected {want}"
    );
}

fn days(from: &str, to: &str) -> f64 {
    (d(to) - d(from)).num_days() as f64
}

// ---- hand-checked values -----------------------------------------------------------------------

#[test]
fn only_customers_active_at_d_get_a_row() {
    let ml =
        features::churn_prediction_features(&tiny_warehouse(), &[as_of()], Some(d("2024-12-31")))
            .expect("features");
    // C4 signs up after D, C5 churned before D.
    assert_eq!(ids(&ml), ["C1", "C2", "C3", "C6"]);
    let as_of_dates: Vec<_> = ml
        .column(AS_OF_DATE)
        .expect("as_of_date")
        .date()
        .expect("date")
        .as_date_iter()
        .collect();
    assert!(as_of_dates.iter().all(|x| *x == Some(as_of())));
}

#[test]
fn profile_and_label_at_d() {
    let ml =
        features::churn_prediction_features(&tiny_warehouse(), &[as_of()], Some(d("2024-12-31")))
            .expect("features");
    assert_close(
        f(&ml, "C1", TENURE_DAYS),
        days("2022-01-15", "2024-06-30"),
        "C1 tenure",
    );
    assert_close(f(&ml, "C6", TENURE_DAYS), 0.0, "C6 tenure (signed up on D)");
    assert_close(f(&ml, "C1", TIER_ORDINAL), 3.0, "gold");
    assert_close(f(&ml, "C3", TIER_ORDINAL), 4.0, "platinum");
    assert_eq!(f(&ml, "C6", TIER_ORDINAL), None, "unknown tier 'diamond'");
    assert_close(f(&ml, "C1", SEGMENT_CONSUMER), 1.0, "one-hot");
    assert_close(f(&ml, "C1", SEGMENT_SMB), 0.0, "one-hot");
    assert_close(f(&ml, "C3", SEGMENT_ENTERPRISE), 1.0, "one-hot");
    assert_close(f(&ml, "C6", CONTRACT_TERM_MONTHS), 0.0, "month to month");
    assert_close(f(&ml, "C6", IS_MONTH_TO_MONTH), 1.0, "month to month");
    assert_close(f(&ml, "C2", CONTRACT_TERM_MONTHS), 24.0, "two years");
    assert_close(f(&ml, "C2", HAS_ACCOUNT_MANAGER), 1.0, "am1");
    assert_close(f(&ml, "C1", HAS_ACCOUNT_MANAGER), 0.0, "no manager");
    // Contract ends 2024-08-15: 46 days after D, inside the 60-day renewal window.
    assert_close(f(&ml, "C1", DAYS_TO_CONTRACT_END), 46.0, "C1 days to end");
    assert_close(f(&ml, "C1", IN_RENEWAL_WINDOW_60D), 1.0, "C1 renewal");
    assert_close(f(&ml, "C1", OUT_OF_CONTRACT), 0.0, "C1 in contract");
    assert_close(f(&ml, "C2", DAYS_TO_CONTRACT_END), 365.0, "C2 days to end");
    assert_close(f(&ml, "C2", IN_RENEWAL_WINDOW_60D), 0.0, "C2 renewal");
    // C3's contract ended before D: 0 days (never negative), out of contract.
    assert_close(f(&ml, "C3", DAYS_TO_CONTRACT_END), 0.0, "C3 days to end");
    assert_close(f(&ml, "C3", OUT_OF_CONTRACT), 1.0, "C3 out of contract");
    assert_eq!(f(&ml, "C6", DAYS_TO_CONTRACT_END), None, "no contract end");
    assert_close(f(&ml, "C6", OUT_OF_CONTRACT), 1.0, "C6 no contract");
    // North at D−90 (2024-04-01): C1, C2, C5 active; C5 churned 2024-05-10 → 1/3.
    assert_close(f(&ml, "C1", REGION_CHURN_RATE_90D), 1.0 / 3.0, "north");
    assert_close(
        f(&ml, "C3", REGION_CHURN_RATE_90D),
        0.0,
        "south: C3 only (C4 not yet)",
    );
    assert_eq!(
        f(&ml, "C6", REGION_CHURN_RATE_90D),
        None,
        "east: nobody at D−90"
    );
    // Consumers at D−90: C1, C5 → 1/2.
    assert_close(f(&ml, "C1", SEGMENT_CHURN_RATE_90D), 0.5, "consumer");
    assert_close(f(&ml, "C2", SEGMENT_CHURN_RATE_90D), 0.0, "smb");
    // Labels: C2 churns 2024-08-20 ∈ (D, D+90]; C3 on 2024-12-01, after D+90 = 2024-09-28.
    assert_eq!(label(&ml, "C1"), Some(0));
    assert_eq!(label(&ml, "C2"), Some(1));
    assert_eq!(label(&ml, "C3"), Some(0));
    assert_eq!(label(&ml, "C6"), Some(0));
}

#[test]
fn label_is_null_when_the_horizon_is_not_fully_observed() {
    let wh = tiny_warehouse();
    // D + 90 = 2024-09-28: one day short.
    let ml = features::churn_prediction_features(&wh, &[as_of()], Some(d("2024-09-27")))
        .expect("features");
    assert_eq!(ml.column(CHURNED_90D).expect("label").null_count(), 4);
    let ml = features::churn_prediction_features(&wh, &[as_of()], Some(d("2024-09-28")))
        .expect("features");
    assert_eq!(ml.column(CHURNED_90D).expect("label").null_count(), 0);
    let ml = features::churn_prediction_features(&wh, &[as_of()], None).expect("features");
    assert_eq!(ml.column(CHURNED_90D).expect("label").null_count(), 4);
}

#[test]
fn billing_and_services_at_d() {
    let ml =
        features::churn_prediction_features(&tiny_warehouse(), &[as_of()], None).expect("features");
    // C1 invoices ≤ D: 100 (Jun 1), 80 (May 1), 60 (Mar 15), 60 (Feb 1), 50 (2023-06-01).
    assert_close(f(&ml, "C1", LIFETIME_REVENUE), 350.0, "lifetime");
    assert_close(f(&ml, "C1", REVENUE_3M), 180.0, "(Apr 1, Jun 30]");
    assert_close(f(&ml, "C1", REVENUE_6M), 300.0, "(Jan 2, Jun 30]");
    assert_close(f(&ml, "C1", REVENUE_12M), 300.0, "(2023-07-01, Jun 30]");
    // I1 unpaid and due Jun 15; I4 due Feb 15 and paid only after D.
    assert_close(f(&ml, "C1", INVOICES_OVERDUE), 2.0, "overdue");
    assert_close(f(&ml, "C1", OVERDUE_AMOUNT), 160.0, "overdue amount");
    assert_close(f(&ml, "C1", LATE_PAID_12M), 1.0, "I2 paid 5 days late");
    assert_close(f(&ml, "C1", AVG_DAYS_LATE_12M), 2.5, "(5 + 0) / 2");
    assert_close(f(&ml, "C1", OVERAGE_3M), 10.0, "overage");
    assert_close(
        f(&ml, "C1", OVERAGE_SHARE_3M),
        10.0 / 180.0,
        "overage share",
    );
    assert_close(f(&ml, "C1", DISCOUNT_3M), 10.0, "discount");
    assert_close(f(&ml, "C1", BILL_LAST), 100.0, "latest invoice ≤ D");
    // Mean of (100, 80) over mean of (60, 60) = 1.5 > 1.2.
    assert_close(f(&ml, "C1", BILL_CHANGE_RATIO), 1.5, "bill change");
    assert_close(f(&ml, "C1", BILL_SHOCK), 1.0, "bill shock");
    // C2: two invoices on the same day; one due on D itself (not overdue yet).
    assert_close(
        f(&ml, "C2", BILL_LAST),
        200.0,
        "two invoices that day: the larger",
    );
    assert_close(
        f(&ml, "C2", INVOICES_OVERDUE),
        0.0,
        "due on D is not overdue",
    );
    assert_close(f(&ml, "C2", AVG_DAYS_LATE_12M), 0.0, "paid early");
    assert_eq!(f(&ml, "C2", BILL_CHANGE_RATIO), None, "no previous quarter");
    assert_close(f(&ml, "C2", BILL_SHOCK), 0.0, "no ratio, no shock");
    assert_close(f(&ml, "C2", OVERAGE_SHARE_3M), 0.0, "no overage");
    // C3 has no invoice at all.
    assert_close(f(&ml, "C3", LIFETIME_REVENUE), 0.0, "no invoices");
    assert_eq!(f(&ml, "C3", BILL_LAST), None, "no invoices");
    assert_eq!(f(&ml, "C3", AVG_DAYS_LATE_12M), None, "no invoices");
    assert_eq!(f(&ml, "C3", OVERAGE_SHARE_3M), None, "no revenue");

    // C1 holds A1 (P1 mobile), A2 (P2 broadband), A5 (P3 mobile, ends after D).
    assert_close(f(&ml, "C1", PRODUCTS_HELD), 3.0, "held");
    assert_close(f(&ml, "C1", CATEGORIES_HELD), 2.0, "mobile, broadband");
    assert_close(f(&ml, "C1", MONTHLY_FEE_TOTAL), 120.0, "30 + 40 + 50");
    assert_close(f(&ml, "C1", PRODUCTS_ADDED_90D), 1.0, "A2");
    assert_close(f(&ml, "C1", PRODUCTS_ADDED_365D), 1.0, "A2");
    assert_close(f(&ml, "C1", PRODUCTS_DROPPED_90D), 1.0, "A3");
    assert_close(f(&ml, "C1", PRODUCTS_DROPPED_365D), 1.0, "A3");
    assert_close(
        f(&ml, "C1", DATA_ALLOWANCE_GB),
        10.0,
        "P1 10 GB; P3 unlimited",
    );
    // A6 started 2023-07-01 = D − 365: just outside the 365-day window.
    assert_close(f(&ml, "C2", PRODUCTS_ADDED_365D), 0.0, "window boundary");
    assert_close(f(&ml, "C2", PRODUCTS_HELD), 1.0, "A6");
    assert_eq!(f(&ml, "C2", DATA_ALLOWANCE_GB), None, "unlimited plan only");
    assert_close(f(&ml, "C3", CATEGORIES_HELD), 0.0, "nothing held");
}

#[test]
fn support_usage_and_campaigns_at_d() {
    let ml =
        features::churn_prediction_features(&tiny_warehouse(), &[as_of()], None).expect("features");
    // C1 tickets ≤ D: T1 (Jun 30 23:30, open), T2 (Jun 10, 36 h, score 4), T3 (Feb 1, 2 h,
    // score 2), T4 (Jun 29, resolved after D), T6 (May 15, 6 h, score 5, category complaint).
    assert_close(f(&ml, "C1", TICKETS_30D), 3.0, "T1, T2, T4");
    assert_close(f(&ml, "C1", TICKETS_90D), 4.0, "+ T6");
    assert_close(f(&ml, "C1", TICKETS_365D), 5.0, "+ T3");
    assert_close(f(&ml, "C1", TICKETS_BILLING_90D), 1.0, "T1");
    assert_close(f(&ml, "C1", TICKETS_TECHNICAL_90D), 1.0, "T2");
    assert_close(f(&ml, "C1", TICKETS_NETWORK_90D), 0.0, "T3 is older");
    assert_close(f(&ml, "C1", TICKETS_CANCELLATION_90D), 1.0, "T4");
    assert_close(f(&ml, "C1", TICKETS_OTHER_90D), 1.0, "T6 complaint");
    assert_close(f(&ml, "C1", TICKETS_HIGH_SEVERITY_90D), 1.0, "T1 high");
    assert_close(f(&ml, "C1", OPEN_TICKETS), 2.0, "T1, T4");
    assert_close(
        f(&ml, "C1", AVG_RESOLUTION_HOURS_365D),
        44.0 / 3.0,
        "(36 + 2 + 6) / 3",
    );
    assert_close(
        f(&ml, "C1", AVG_SATISFACTION_365D),
        11.0 / 3.0,
        "(4 + 2 + 5) / 3",
    );
    assert_close(
        f(&ml, "C1", MIN_SATISFACTION_365D),
        2.0,
        "T4's 1 is not known at D",
    );
    assert_close(f(&ml, "C1", DAYS_SINCE_LAST_TICKET), 0.0, "T1 on D");
    // C2's only ticket was opened 2023-06-30, 366 days before D.
    assert_close(f(&ml, "C2", TICKETS_365D), 0.0, "outside the year");
    assert_close(f(&ml, "C2", DAYS_SINCE_LAST_TICKET), 366.0, "2023-06-30");
    assert_eq!(
        f(&ml, "C2", AVG_SATISFACTION_365D),
        None,
        "no ticket in the year"
    );
    assert_eq!(f(&ml, "C3", DAYS_SINCE_LAST_TICKET), None, "never");

    // C1 usage ≤ D: Jun 30 (2 GB, 100 min, 1 drop), Jun 1 (3, 50, 30 outage min), May 31 (5, 50,
    // 2 drops), Mar 1 (4, 100) in the previous quarter, Jan 2 = D − 180 outside both.
    assert_close(f(&ml, "C1", DATA_GB_30D), 5.0, "Jun 30 + Jun 1");
    assert_close(f(&ml, "C1", DATA_GB_90D), 10.0, "+ May 31");
    assert_close(f(&ml, "C1", VOICE_MINUTES_30D), 150.0, "voice 30d");
    assert_close(f(&ml, "C1", VOICE_MINUTES_90D), 200.0, "voice 90d");
    assert_close(f(&ml, "C1", DATA_GB_TREND), 2.5, "10 / 4");
    assert_close(f(&ml, "C1", VOICE_MINUTES_TREND), 2.0, "200 / 100");
    assert_close(f(&ml, "C1", DROPPED_CALLS_90D), 3.0, "drops");
    assert_close(f(&ml, "C1", OUTAGE_MINUTES_90D), 30.0, "outage");
    assert_close(
        f(&ml, "C1", DROPPED_CALL_RATE_90D),
        1.5,
        "3 per 200 min = 1.5 per 100",
    );
    assert_close(
        f(&ml, "C1", DATA_ALLOWANCE_USAGE_90D),
        1.0 / 3.0,
        "(10 / 3) / 10",
    );
    assert_close(f(&ml, "C1", DAYS_SINCE_LAST_USAGE), 0.0, "used on D");
    // C2: one row on 2024-04-01 = D − 90, in the previous quarter only.
    assert_close(f(&ml, "C2", DATA_GB_90D), 0.0, "window boundary");
    assert_close(f(&ml, "C2", DATA_GB_TREND), 0.0, "0 / 6");
    assert_eq!(
        f(&ml, "C2", VOICE_MINUTES_TREND),
        None,
        "0 previous minutes"
    );
    assert_eq!(
        f(&ml, "C2", DROPPED_CALL_RATE_90D),
        None,
        "no voice minutes"
    );
    assert_close(f(&ml, "C2", DAYS_SINCE_LAST_USAGE), 90.0, "Apr 1");
    assert_eq!(f(&ml, "C3", DAYS_SINCE_LAST_USAGE), None, "no usage");
    assert_eq!(f(&ml, "C3", DATA_GB_TREND), None, "no usage");

    // C1: K1 retention Jun 20 (responded, but younger than 30 days), K2 upsell control Mar 1,
    // K3 retention treatment Jan 10 (responded).
    assert_close(f(&ml, "C1", CAMPAIGNS_TARGETED_365D), 3.0, "targeted");
    assert_close(f(&ml, "C1", CAMPAIGNS_TREATED_365D), 2.0, "treated");
    assert_close(f(&ml, "C1", CAMPAIGNS_CONTROL_365D), 1.0, "control");
    assert_close(f(&ml, "C1", CAMPAIGNS_RESPONDED_365D), 1.0, "K3 only");
    assert_close(
        f(&ml, "C1", DAYS_SINCE_LAST_RETENTION_CAMPAIGN),
        10.0,
        "Jun 20",
    );
    assert_close(
        f(&ml, "C2", CAMPAIGNS_TARGETED_365D),
        0.0,
        "2023-05-01 is too old",
    );
    assert_eq!(
        f(&ml, "C2", DAYS_SINCE_LAST_RETENTION_CAMPAIGN),
        None,
        "upsell only"
    );
    assert_close(f(&ml, "C3", CAMPAIGNS_CONTROL_365D), 1.0, "control");
}

#[test]
fn features_have_no_nan_or_infinity() {
    let ml =
        features::churn_prediction_features(&tiny_warehouse(), &[as_of()], None).expect("features");
    for name in FEATURES {
        let values = ml.column(name).expect("column").f64().expect("f64");
        assert!(
            values.iter().flatten().all(f64::is_finite),
            "{name} has a non-finite value"
        );
    }
}

#[test]
fn segmentation_at_d() {
    let set = features::build(&tiny_warehouse(), &[as_of()], None).expect("build");
    let seg = &set.segmentation;
    let text = |c: &str| -> Vec<String> {
        seg.column(c)
            .expect(c)
            .str()
            .expect("str")
            .iter()
            .map(|s| s.expect("value").to_owned())
            .collect()
    };
    let num = |c: &str| -> Vec<Option<f64>> {
        seg.column(c)
            .expect(c)
            .cast(&DataType::Float64)
            .expect("cast")
            .f64()
            .expect("f64")
            .iter()
            .collect()
    };
    // (consumer, bronze) has nobody left at D but had C5 at D−90, who churned.
    assert_eq!(
        text(customer::SEGMENT),
        ["consumer", "consumer", "enterprise", "smb", "smb"]
    );
    assert_eq!(
        text(customer::TIER),
        ["bronze", "gold", "platinum", "diamond", "silver"]
    );
    assert_eq!(
        num(CUSTOMERS),
        [Some(0.0), Some(1.0), Some(1.0), Some(1.0), Some(1.0)]
    );
    assert_eq!(
        num(CHURN_RATE_90D),
        [Some(1.0), Some(0.0), Some(0.0), None, Some(0.0)]
    );
    // Revenue of the last 90 days: C1 180, C2 220 (total 400).
    let arpu = num(ARPU_MONTHLY);
    assert_eq!(arpu[0], None);
    assert_close(arpu[1], 60.0, "consumer gold arpu");
    assert_close(arpu[2], 0.0, "enterprise arpu");
    assert_close(arpu[4], 220.0 / 3.0, "smb silver arpu");
    let share = num(REVENUE_SHARE);
    assert_close(share[1], 0.45, "share");
    assert_close(share[4], 0.55, "share");
    assert_close(num(TICKETS_PER_CUSTOMER_90D)[1], 4.0, "C1 tickets");
    assert_close(num(PRODUCTS_DROPPED_90D)[1], 1.0, "A3");
    // Categories of dim_product, sorted: broadband, mobile, tv.
    let adoption: Vec<&str> = seg
        .get_column_names()
        .into_iter()
        .map(|n| n.as_str())
        .filter(|n| n.starts_with(ADOPTION_PREFIX))
        .collect();
    assert_eq!(
        adoption,
        ["adoption_broadband", "adoption_mobile", "adoption_tv"]
    );
    assert_close(num("adoption_broadband")[1], 1.0, "C1 fibre");
    assert_close(num("adoption_tv")[1], 0.0, "C1 dropped TV");
    assert_close(num("adoption_mobile")[4], 1.0, "C2 mobile");
    assert_close(num("adoption_mobile")[2], 0.0, "C3 nothing");
}

#[test]
fn build_and_the_ml_function_agree_and_stack_as_of_dates() {
    let wh = tiny_warehouse();
    let dates = [d("2024-06-30"), d("2024-03-31"), d("2024-06-30")];
    let set = features::build(&wh, &dates, Some(d("2024-12-31"))).expect("build");
    let ml = features::churn_prediction_features(&wh, &dates, Some(d("2024-12-31"))).expect("ml");
    assert!(
        set.churn_features.equals_missing(&ml),
        "build vs churn_prediction_features"
    );
    // 2024-03-31: C1, C2, C3, C5 active (C6 not yet, C5 churns in May); then 4 at D.
    assert_eq!(ml.height(), 8);
    assert_eq!(ids(&ml)[..4], ["C1", "C2", "C3", "C5"]);
    assert_eq!(set.customer_360.height(), 8);
    // The 360 view keeps the strings the ML table encodes, and has no label.
    let names: Vec<&str> = set
        .customer_360
        .get_column_names()
        .into_iter()
        .map(|n| n.as_str())
        .collect();
    assert!(names.contains(&customer::TIER) && names.contains(&customer::REGION));
    assert!(!names.contains(&CHURNED_90D) && !names.contains(&TIER_ORDINAL));
    let seg_dates = set
        .segmentation
        .column(AS_OF_DATE)
        .expect("as_of_date")
        .date()
        .expect("date")
        .as_date_iter()
        .collect::<Vec<_>>();
    assert_eq!(seg_dates.first(), Some(&Some(d("2024-03-31"))));
    assert_eq!(seg_dates.last(), Some(&Some(d("2024-06-30"))));
}

#[test]
fn no_as_of_date_is_an_error_and_a_missing_column_is_named() {
    let wh = tiny_warehouse();
    assert!(matches!(
        features::churn_prediction_features(&wh, &[], None),
        Err(features::FeatureError::NoAsOfDates)
    ));
    let mut broken = wh.clone();
    broken.invoices = broken.invoices.drop(invoice::DUE_DATE).expect("drop");
    let err = features::build(&broken, &[as_of()], None).expect_err("missing column");
    let message = err.to_string();
    assert!(
        message.contains("fact_invoice") && message.contains("due_date"),
        "{message}"
    );
}

#[test]
fn write_puts_three_files_in_the_output_directory() {
    let mut set = features::build(&tiny_warehouse(), &[as_of()], None).expect("build");
    let dir = tempfile::tempdir().expect("tempdir");
    let paths =
        features::write(&mut set, dir.path(), churn::output::FileFormat::Csv).expect("write");
    let names: Vec<_> = paths
        .iter()
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "customer_360_view.csv",
            "customer_segmentation_analysis.csv",
            "churn_prediction_features.csv"
        ]
    );
    let text = std::fs::read_to_string(&paths[2]).expect("read");
    assert_eq!(text.lines().count(), 1 + 4, "header + 4 customers");
    assert!(text.starts_with("customer_id,as_of_date,tenure_days,"));
}

// ---- the leakage test --------------------------------------------------------------------------

/// Day number of a date column, for comparisons in the mutations.
fn day_of(c: &str) -> Expr {
    col(c).cast(DataType::Int32)
}

fn day_lit(date: NaiveDate) -> Expr {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    lit((date - epoch).num_days() as i32)
}

/// A date column moved by `k` days.
fn shift_date(c: &str, k: i32) -> Expr {
    (day_of(c) + lit(k)).cast(DataType::Date)
}

/// The UTC day number of a timestamp column.
fn ts_day_of(c: &str) -> Expr {
    col(c)
        .cast(DataType::Int64)
        .floor_div(lit(86_400_000_000i64))
        .cast(DataType::Int32)
}

fn shift_ts(c: &str, k: i64) -> Expr {
    (col(c).cast(DataType::Int64) + lit(k * 86_400_000_000))
        .cast(DataType::Datetime(TimeUnit::Microseconds, None))
}

/// `then` where `cond` holds, the column unchanged elsewhere.
fn change(cond: Expr, c: &str, then: Expr) -> Expr {
    when(cond).then(then).otherwise(col(c)).alias(c)
}

/// Every other row where `cond` holds is deleted (the others stay to be changed).
fn delete_some(df: &DataFrame, cond: Expr) -> LazyFrame {
    df.clone()
        .lazy()
        .with_row_index("_row", None)
        .filter(cond.and((col("_row") % lit(2u32)).eq(lit(0u32))).not())
        .drop(by_name(["_row"], true, false))
}

/// Rows copied from `df` with their date moved to after D and ids made new: facts that
/// happen after D.
fn future_copies(df: &DataFrame, table: Table, date_exprs: Vec<Expr>, ids: &[&str]) -> DataFrame {
    let mut exprs = date_exprs;
    for id in ids {
        exprs.push((col(*id) + lit("_future")).alias(*id));
    }
    let added = df
        .clone()
        .lazy()
        .with_columns(exprs)
        .collect()
        .expect("future rows");
    canonical(table, added)
}

fn stack(a: LazyFrame, b: DataFrame, table: Table) -> DataFrame {
    let mut a = canonical(table, a.collect().expect("mutated"));
    a.vstack_mut(&b).expect("vstack");
    a
}

/// dim_customer as a later export would show it after renewals signed after D: every term
/// contract (one_year / two_year) whose snapshot `contract_end_date` is after D is extended by
/// `terms` more terms (alternating with `terms + 1` row by row, so a renewal of several terms is
/// covered too).
fn renew_contracts_after(customers: &DataFrame, as_of: NaiveDate, terms: u32) -> DataFrame {
    let kind = customers
        .column(customer::CONTRACT_TYPE)
        .expect("contract_type")
        .str()
        .expect("str")
        .clone();
    let end = customers
        .column(customer::CONTRACT_END_DATE)
        .expect("contract_end_date")
        .date()
        .expect("date")
        .clone();
    let renewed: Vec<Option<NaiveDate>> = kind
        .iter()
        .zip(end.as_date_iter())
        .enumerate()
        .map(|(row, (k, e))| {
            let months = match k {
                Some("one_year") => 12,
                Some("two_year") => 24,
                _ => return e,
            };
            let n = terms + (row as u32 % 2);
            match e {
                Some(e) if e > as_of => e.checked_add_months(chrono::Months::new(months * n)),
                other => other,
            }
        })
        .collect();
    let mut out = customers.clone();
    out.with_column(Column::new(customer::CONTRACT_END_DATE.into(), renewed))
        .expect("renewed column");
    canonical(Table::Customer, out)
}

/// The warehouse with every fact dated after D changed, some deleted, new ones added; every
/// paid_date / resolved_at / end_date after D moved to another date after D (or null); every
/// churn_date after D + 90 moved further out; every signup after D moved; every term contract
/// running past D renewed (a later `contract_end_date`).
fn mutate_after(wh: &Warehouse, as_of: NaiveDate) -> Warehouse {
    let dd = day_lit(as_of);
    let after = |c: &str| day_of(c).gt(dd.clone());
    let ts_after = |c: &str| ts_day_of(c).gt(dd.clone());
    let horizon = day_lit(as_of + chrono::Duration::days(90));

    let customers = renew_contracts_after(&wh.customers, as_of, 1)
        .lazy()
        .with_columns([
            change(
                day_of(customer::CHURN_DATE).gt(horizon),
                customer::CHURN_DATE,
                shift_date(customer::CHURN_DATE, 45),
            ),
            change(
                after(customer::SIGNUP_DATE),
                customer::SIGNUP_DATE,
                shift_date(customer::SIGNUP_DATE, 3),
            ),
        ])
        .collect()
        .expect("customers");

    let inv = delete_some(&wh.invoices, after(invoice::INVOICE_DATE)).with_columns([
        change(
            after(invoice::INVOICE_DATE),
            invoice::AMOUNT,
            col(invoice::AMOUNT) * lit(3.0) + lit(7.0),
        ),
        change(
            after(invoice::INVOICE_DATE),
            invoice::OVERAGE_AMOUNT,
            lit(1.0),
        ),
        change(
            after(invoice::INVOICE_DATE),
            invoice::DUE_DATE,
            shift_date(invoice::DUE_DATE, -40),
        ),
        change(
            after(invoice::PAID_DATE),
            invoice::PAID_DATE,
            when(col(invoice::AMOUNT).lt(lit(70.0)))
                .then(lit(NULL).cast(DataType::Date))
                .otherwise(shift_date(invoice::PAID_DATE, 11)),
        ),
    ]);
    let new_inv = future_copies(
        &wh.invoices,
        Table::Invoice,
        vec![
            (dd.clone() + lit(1))
                .cast(DataType::Date)
                .alias(invoice::INVOICE_DATE),
            (dd.clone() - lit(20))
                .cast(DataType::Date)
                .alias(invoice::DUE_DATE),
            lit(NULL).cast(DataType::Date).alias(invoice::PAID_DATE),
        ],
        &[invoice::ID],
    );
    let invoices = stack(inv, new_inv, Table::Invoice);

    let asg = delete_some(&wh.assignments, after(assignment::START_DATE)).with_columns([
        change(
            after(assignment::START_DATE),
            assignment::MONTHLY_FEE,
            lit(999.0),
        ),
        change(
            after(assignment::END_DATE),
            assignment::END_DATE,
            when((col(assignment::MONTHLY_FEE).cast(DataType::Int64) % lit(2)).eq(lit(0)))
                .then(lit(NULL).cast(DataType::Date))
                .otherwise(shift_date(assignment::END_DATE, 13)),
        ),
    ]);
    let new_asg = future_copies(
        &wh.assignments,
        Table::ServiceAssignment,
        vec![
            (dd.clone() + lit(2))
                .cast(DataType::Date)
                .alias(assignment::START_DATE),
            (dd.clone() + lit(5))
                .cast(DataType::Date)
                .alias(assignment::END_DATE),
        ],
        &[assignment::ID],
    );
    let assignments = stack(asg, new_asg, Table::ServiceAssignment);

    let tkt = delete_some(&wh.tickets, ts_after(ticket::OPENED_AT)).with_columns([
        change(
            ts_after(ticket::OPENED_AT),
            ticket::CATEGORY,
            lit("cancellation"),
        ),
        change(
            ts_after(ticket::OPENED_AT),
            ticket::SEVERITY,
            lit("critical"),
        ),
        change(
            ts_after(ticket::OPENED_AT),
            ticket::SATISFACTION_SCORE,
            lit(1i64),
        ),
        change(
            ts_after(ticket::RESOLVED_AT),
            ticket::RESOLVED_AT,
            when(
                col(ticket::SATISFACTION_SCORE)
                    .is_null()
                    .or(col(ticket::SATISFACTION_SCORE).lt_eq(lit(2i64))),
            )
            .then(lit(NULL).cast(DataType::Datetime(TimeUnit::Microseconds, None)))
            .otherwise(shift_ts(ticket::RESOLVED_AT, 5)),
        ),
    ]);
    let new_tkt = future_copies(
        &wh.tickets,
        Table::SupportTicket,
        vec![
            ((dd.clone() + lit(1)).cast(DataType::Int64) * lit(86_400_000_000i64)
                + lit(3_600_000_000i64))
            .cast(DataType::Datetime(TimeUnit::Microseconds, None))
            .alias(ticket::OPENED_AT),
            lit(NULL)
                .cast(DataType::Datetime(TimeUnit::Microseconds, None))
                .alias(ticket::RESOLVED_AT),
        ],
        &[ticket::ID],
    );
    let tickets = stack(tkt, new_tkt, Table::SupportTicket);

    let cmp = delete_some(&wh.campaigns, after(campaign::TARGET_DATE)).with_columns([
        change(after(campaign::TARGET_DATE), campaign::RESPONDED, lit(true)),
        change(
            after(campaign::TARGET_DATE),
            campaign::CAMPAIGN_TYPE,
            lit("retention"),
        ),
        change(
            after(campaign::TARGET_DATE),
            campaign::TREATMENT_GROUP,
            lit("control"),
        ),
    ]);
    let new_cmp = future_copies(
        &wh.campaigns,
        Table::CampaignTarget,
        vec![(dd.clone() + lit(1))
            .cast(DataType::Date)
            .alias(campaign::TARGET_DATE)],
        &[campaign::ID],
    );
    let campaigns = stack(cmp, new_cmp, Table::CampaignTarget);

    let use_ = delete_some(&wh.usage, after(usage::USAGE_DATE)).with_columns([
        change(
            after(usage::USAGE_DATE),
            usage::DATA_GB,
            col(usage::DATA_GB) + lit(123.0),
        ),
        change(after(usage::USAGE_DATE), usage::VOICE_MINUTES, lit(0.0)),
        change(after(usage::USAGE_DATE), usage::DROPPED_CALLS, lit(77i64)),
        change(after(usage::USAGE_DATE), usage::OUTAGE_MINUTES, lit(500.0)),
    ]);
    let new_use = future_copies(
        &wh.usage,
        Table::NetworkUsage,
        vec![(dd.clone() + lit(1))
            .cast(DataType::Date)
            .alias(usage::USAGE_DATE)],
        &[],
    );
    let usage_rows = stack(use_, new_use, Table::NetworkUsage);

    Warehouse {
        customers,
        products: wh.products.clone(),
        invoices,
        assignments,
        tickets,
        campaigns,
        usage: usage_rows,
    }
}

/// The number of rows of `df` (a fact table) dated after D by `date` (sanity check that the
/// mutation had something to change).
fn rows_after(df: &DataFrame, day: Expr, as_of: NaiveDate) -> usize {
    df.clone()
        .lazy()
        .filter(day.gt(day_lit(as_of)))
        .collect()
        .expect("count")
        .height()
}

fn assert_identical(before: &FeatureSet, after: &FeatureSet) {
    for (name, a, b) in [
        (
            "churn_prediction_features",
            &before.churn_features,
            &after.churn_features,
        ),
        (
            "customer_360_view",
            &before.customer_360,
            &after.customer_360,
        ),
        (
            "customer_segmentation_analysis",
            &before.segmentation,
            &after.segmentation,
        ),
    ] {
        assert_eq!(
            a.get_column_names(),
            b.get_column_names(),
            "{name}: columns"
        );
        assert_eq!(a.height(), b.height(), "{name}: rows");
        for column in a.columns() {
            let other = b.column(column.name()).expect("same columns");
            assert!(
                column.equals_missing(other),
                "{name}: column {} changed after mutating facts dated after D",
                column.name()
            );
        }
    }
}

#[test]
fn facts_after_d_do_not_change_any_feature_on_the_tiny_warehouse() {
    let wh = tiny_warehouse();
    let observed = Some(d("2024-12-31"));
    let before = features::build(&wh, &[as_of()], observed).expect("before");
    let mutated = mutate_after(&wh, as_of());
    // The mutation did touch every fact table after D.
    assert!(rows_after(&mutated.invoices, day_of(invoice::INVOICE_DATE), as_of()) > 0);
    assert!(rows_after(&mutated.tickets, ts_day_of(ticket::OPENED_AT), as_of()) > 0);
    assert_ne!(mutated.invoices.height(), wh.invoices.height());
    assert!(!mutated.tickets.equals_missing(&wh.tickets));
    assert!(!mutated.customers.equals_missing(&wh.customers));
    let after = features::build(&mutated, &[as_of()], observed).expect("after");
    // The label too: the only churn date moved (C3's) stays after D + 90.
    assert_identical(&before, &after);
}

#[test]
fn moving_a_churn_date_inside_the_horizon_changes_only_that_label() {
    let wh = tiny_warehouse();
    let observed = Some(d("2024-12-31"));
    let before = features::churn_prediction_features(&wh, &[as_of()], observed).expect("before");
    // C3 now churns on 2024-07-01, inside (D, D+90]; C2 moves from Aug 20 to Sep 1 (still in).
    let mut moved = wh.clone();
    moved.customers = wh
        .customers
        .clone()
        .lazy()
        .with_columns([when(col(customer::ID).eq(lit("C3")))
            .then(lit(d("2024-07-01")).cast(DataType::Date))
            .when(col(customer::ID).eq(lit("C2")))
            .then(lit(d("2024-09-01")).cast(DataType::Date))
            .otherwise(col(customer::CHURN_DATE))
            .alias(customer::CHURN_DATE)])
        .collect()
        .expect("moved");
    let after = features::churn_prediction_features(&moved, &[as_of()], observed).expect("after");
    for name in FEATURES {
        assert!(
            before
                .column(name)
                .expect("before")
                .equals_missing(after.column(name).expect("after")),
            "{name} changed"
        );
    }
    assert_eq!(label(&before, "C3"), Some(0));
    assert_eq!(label(&after, "C3"), Some(1));
    for id in ["C1", "C2", "C6"] {
        assert_eq!(label(&before, id), label(&after, id), "{id}");
    }
}

#[test]
fn a_renewal_signed_after_d_changes_no_feature_at_d() {
    let wh = tiny_warehouse();
    let observed = Some(d("2024-12-31"));
    let before = features::build(&wh, &[as_of()], observed).expect("before");
    // C1's one-year term ends 2024-08-15 (in the renewal window at D); a later export shows the
    // renewed end 2025-08-15. C2's two-year term (2025-06-30) renewed twice: 2029-06-30.
    let renewed = Warehouse {
        customers: renew_contracts_after(&wh.customers, as_of(), 1),
        ..wh.clone()
    };
    let ends: Vec<_> = renewed
        .customers
        .column(customer::CONTRACT_END_DATE)
        .expect("end")
        .date()
        .expect("date")
        .as_date_iter()
        .collect();
    assert_eq!(ends[0], od("2025-08-15"), "C1 renewed one term");
    assert_eq!(ends[1], od("2029-06-30"), "C2 renewed two terms");
    assert_eq!(ends[2], od("2024-03-01"), "C3 ended before D: untouched");
    let after = features::build(&renewed, &[as_of()], observed).expect("after");
    assert_identical(&before, &after);
    // Still the term running at D: C1 46 days from its end, in the renewal window.
    let ml = &after.churn_features;
    assert_close(f(ml, "C1", DAYS_TO_CONTRACT_END), 46.0, "C1 days to end");
    assert_close(f(ml, "C1", IN_RENEWAL_WINDOW_60D), 1.0, "C1 renewal window");
    assert_close(f(ml, "C2", DAYS_TO_CONTRACT_END), 365.0, "C2 days to end");
    // The view shows the end of the term running at D, not the snapshot.
    let view = &after.customer_360;
    let view_end: Vec<_> = view
        .column(customer::CONTRACT_END_DATE)
        .expect("end")
        .date()
        .expect("date")
        .as_date_iter()
        .collect();
    assert_eq!(view_end[row_of(view, "C1")], od("2024-08-15"));
    assert_eq!(view_end[row_of(view, "C2")], od("2025-06-30"));
}

#[test]
fn the_contract_term_at_d_is_recovered_from_a_later_snapshot() {
    // C7 signed a one-year contract on 2021-09-01; the export (taken long after D) shows the
    // term ending 2025-09-01. At D = 2024-06-30 the running term ends 2024-09-01 (63 days);
    // at D = 2024-07-15 it is 48 days away: inside the 60-day renewal window.
    let wh = tiny_warehouse();
    let extra = canonical(
        Table::Customer,
        df!(
            customer::ID => ["C7"],
            customer::NAME => [Some("Gus")],
            customer::SEGMENT => ["consumer"],
            customer::TIER => ["gold"],
            customer::REGION => ["north"],
            customer::ACCOUNT_MANAGER_ID => [None::<&str>],
            customer::SIGNUP_DATE => [d("2021-09-01")],
            customer::CONTRACT_TYPE => ["one_year"],
            customer::CONTRACT_END_DATE => [od("2025-09-01")],
            customer::CHURN_DATE => [None::<NaiveDate>],
        )
        .expect("C7"),
    );
    let mut customers = wh.customers.clone();
    customers.vstack_mut(&extra).expect("vstack");
    let wh = Warehouse { customers, ..wh };
    let ml = features::churn_prediction_features(&wh, &[as_of(), d("2024-07-15")], None)
        .expect("features");
    let at = |date: &str, column: &str| -> Option<f64> {
        let dates: Vec<_> = ml
            .column(AS_OF_DATE)
            .expect("as_of")
            .date()
            .expect("date")
            .as_date_iter()
            .collect();
        let row = ids(&ml)
            .iter()
            .zip(&dates)
            .position(|(id, x)| id == "C7" && *x == od(date))
            .expect("C7 row");
        ml.column(column)
            .expect("column")
            .f64()
            .expect("f64")
            .get(row)
    };
    assert_close(at("2024-06-30", DAYS_TO_CONTRACT_END), 63.0, "63 days");
    assert_close(at("2024-06-30", IN_RENEWAL_WINDOW_60D), 0.0, "not yet");
    assert_close(at("2024-06-30", OUT_OF_CONTRACT), 0.0, "in contract");
    assert_close(at("2024-07-15", DAYS_TO_CONTRACT_END), 48.0, "48 days");
    assert_close(
        at("2024-07-15", IN_RENEWAL_WINDOW_60D),
        1.0,
        "in the window",
    );
}

/// A generated warehouse (300 customers, 24 months) loaded through the real loader.
fn generated_warehouse(dir: &std::path::Path) -> (Warehouse, NaiveDate) {
    let cfg = churn::generate::GenerateConfig {
        customers: 300,
        months: 24,
        seed: 7,
        start: d("2023-01-01"),
        format: churn::output::FileFormat::Parquet,
    };
    let summary = churn::generate::generate(&cfg, dir).expect("generate");
    let (wh, _report) = churn::warehouse::load(dir).expect("load");
    (wh, summary.observed_until)
}

#[test]
fn facts_after_d_do_not_change_any_feature_on_a_generated_warehouse() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wh, observed_until) = generated_warehouse(dir.path());
    for as_of in [d("2023-12-31"), d("2024-05-15")] {
        let before = features::build(&wh, &[as_of], Some(observed_until)).expect("before");
        let mutated = mutate_after(&wh, as_of);
        for (table, df, day) in [
            ("invoices", &mutated.invoices, day_of(invoice::INVOICE_DATE)),
            (
                "assignments",
                &mutated.assignments,
                day_of(assignment::START_DATE),
            ),
            ("tickets", &mutated.tickets, ts_day_of(ticket::OPENED_AT)),
            (
                "campaigns",
                &mutated.campaigns,
                day_of(campaign::TARGET_DATE),
            ),
            ("usage", &mutated.usage, day_of(usage::USAGE_DATE)),
        ] {
            assert!(
                rows_after(df, day, as_of) > 0,
                "{table}: nothing after {as_of}"
            );
        }
        assert!(!mutated.invoices.equals_missing(&wh.invoices));
        let after = features::build(&mutated, &[as_of], Some(observed_until)).expect("after");
        assert!(
            before.churn_features.height() > 100,
            "{as_of}: a real population"
        );
        assert_identical(&before, &after);
        // The features vary across customers (the comparison is not between constant columns).
        for name in [
            REVENUE_3M,
            TICKETS_365D,
            DATA_GB_90D,
            PRODUCTS_HELD,
            TENURE_DAYS,
        ] {
            let c = before.churn_features.column(name).expect("column");
            assert!(
                c.n_unique().expect("n_unique") > 2,
                "{name} is nearly constant"
            );
        }
    }
}

/// Scale check (not part of the normal run): `CHURN_BENCH_CUSTOMERS=1000000
/// CHURN_BENCH_DIR=/tmp/wh cargo test --release --test features_pit -- --ignored --nocapture`
/// generates a warehouse (once per directory), loads it and builds the features of one as-of
/// date, printing the timings.
#[test]
#[ignore]
fn scale_one_as_of_date() {
    use std::time::Instant;
    let customers: usize = std::env::var("CHURN_BENCH_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = std::path::PathBuf::from(
        std::env::var("CHURN_BENCH_DIR")
            .unwrap_or_else(|_| format!("/tmp/churn-bench-{customers}")),
    );
    if !dir.join("dim_customer.parquet").exists() {
        let t = Instant::now();
        let cfg = churn::generate::GenerateConfig {
            customers,
            months: 24,
            seed: 1,
            start: d("2023-01-01"),
            format: churn::output::FileFormat::Parquet,
        };
        churn::generate::generate(&cfg, &dir).expect("generate");
        println!("generate: {:.1}s", t.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    let (wh, report) = churn::warehouse::load(&dir).expect("load");
    let load = t.elapsed().as_secs_f64();
    for table in &report.tables {
        println!("{}: {} rows", table.table, table.rows_used);
    }
    let observed = report.observed_until.expect("observed_until");
    let as_of = observed - chrono::Duration::days(120);
    // CPU seconds of this process (user + system), from /proc: on a shared machine wall time
    // says more about the neighbours than about the code.
    let cpu = || -> f64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let after = stat.rsplit(')').next().unwrap_or_default();
        let f: Vec<f64> = after
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0.0))
            .collect();
        f.get(11)
            .zip(f.get(12))
            .map_or(0.0, |(u, s)| (u + s) / 100.0)
    };
    let (t, c) = (Instant::now(), cpu());
    let ml = features::churn_prediction_features(&wh, &[as_of], Some(observed)).expect("features");
    let (ml_secs, ml_cpu) = (t.elapsed().as_secs_f64(), cpu() - c);
    let (t, c) = (Instant::now(), cpu());
    let set = features::build(&wh, &[as_of], Some(observed)).expect("build");
    let (build_secs, build_cpu) = (t.elapsed().as_secs_f64(), cpu() - c);
    println!(
        "load {load:.1}s; churn_prediction_features {ml_secs:.1}s wall / {ml_cpu:.1}s cpu ({} rows); \
         build (3 tables) {build_secs:.1}s wall / {build_cpu:.1}s cpu ({} segment rows)",
        ml.height(),
        set.segmentation.height()
    );
}

#[test]
fn the_row_order_of_the_facts_does_not_change_a_single_bit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wh, observed_until) = generated_warehouse(dir.path());
    let reversed = Warehouse {
        customers: wh.customers.clone(),
        products: wh.products.reverse(),
        invoices: wh.invoices.reverse(),
        assignments: wh.assignments.reverse(),
        tickets: wh.tickets.reverse(),
        campaigns: wh.campaigns.reverse(),
        usage: wh.usage.reverse(),
    };
    let as_of = [d("2024-03-31")];
    let a = features::build(&wh, &as_of, Some(observed_until)).expect("a");
    let b = features::build(&reversed, &as_of, Some(observed_until)).expect("b");
    assert_identical(&a, &b);
}

/// SHA-256 of the three tables built on the generated warehouse (seed 7) at two as-of dates.
fn feature_fingerprint() -> String {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().expect("tempdir");
    let (wh, observed_until) = generated_warehouse(dir.path());
    let dates = [d("2023-12-31"), d("2024-06-30")];
    let mut set = features::build(&wh, &dates, Some(observed_until)).expect("build");
    let mut hasher = Sha256::new();
    for df in [
        &mut set.churn_features,
        &mut set.customer_360,
        &mut set.segmentation,
    ] {
        let mut csv = Vec::new();
        CsvWriter::new(&mut csv).finish(df).expect("csv");
        hasher.update(&csv);
    }
    hex::encode(hasher.finalize())
}

/// Run by `features_do_not_depend_on_threads_or_morsels` in a child process.
#[test]
#[ignore]
fn print_feature_fingerprint() {
    println!("FINGERPRINT {}", feature_fingerprint());
}

#[test]
fn features_do_not_depend_on_threads_or_morsels() {
    // Child processes with 1 and 3 threads and tiny streaming morsels (so the small warehouse
    // is split into many pieces, as a big one would be) must print this process's fingerprint.
    let here = feature_fingerprint();
    for (threads, morsel) in [("1", "64"), ("3", "97")] {
        let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--ignored",
                "--exact",
                "print_feature_fingerprint",
                "--nocapture",
            ])
            .env("POLARS_MAX_THREADS", threads)
            .env("POLARS_IDEAL_MORSEL_SIZE", morsel)
            .output()
            .expect("child");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let child = stdout
            .lines()
            .find_map(|l| l.strip_prefix("FINGERPRINT "))
            .unwrap_or_else(|| panic!("no fingerprint from the child: {stdout}"));
        assert_eq!(child, here, "threads {threads}, morsel size {morsel}");
    }
}
