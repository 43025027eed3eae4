//! The one per-customer aggregate frame of an as-of date, from which both customer_360_view and
//! churn_prediction_features are selected.
//!
//! Plan: each fact table is filtered to the facts visible at `D` (and to the largest window it
//! needs), every measure is first written as a masked column (its value — as exact integer units,
//! see [`super::exact`] — where its window/condition holds, null elsewhere), then the table is
//! grouped by customer once with plain sum / count / max / min aggregations (the fast path of
//! polars' group-by; means and ratios are derived afterwards). The per-table aggregates are
//! left-joined onto the customers active at `D`, the rows are put back in dim_customer order,
//! and ratios are derived last.

use polars::prelude::*;

use super::columns::*;
use super::exact::{aggregate, flag, masked, masked_units, null_f64, ratio, units, Agg};
use super::pit::{
    active_at, churned_within, days_since, days_until, happened_by, in_window, not_yet_happened,
    visible, AsOf,
};
use super::prepare::{Prepared, CATEGORY_CODE, OPENED_DAY, RESOLUTION_HOURS, RESOLVED_DAY};
use super::FeatureError;
use crate::warehouse::schema::{
    assignment, campaign, customer, invoice, product, ticket, usage, Table, TREATMENT_GROUPS,
};

// ---- encodings -------------------------------------------------------------------------------
/// `tier` → `tier_ordinal`; any other tier → null.
pub const TIER_ORDINALS: [(&str, f64); 4] = [
    ("bronze", 1.0),
    ("silver", 2.0),
    ("gold", 3.0),
    ("platinum", 4.0),
];
/// `segment` → its one-hot column; any other segment is all zeros.
pub const SEGMENT_ONE_HOT: [(&str, &str); 3] = [
    ("consumer", SEGMENT_CONSUMER),
    ("smb", SEGMENT_SMB),
    ("enterprise", SEGMENT_ENTERPRISE),
];
/// The `contract_type` of a contract without a term.
pub const MONTH_TO_MONTH: &str = "month_to_month";
/// `contract_type` → `contract_term_months`; any other contract type → null.
pub const CONTRACT_TERMS: [(&str, f64); 3] = [
    (MONTH_TO_MONTH, 0.0),
    ("one_year", 12.0),
    ("two_year", 24.0),
];
/// `in_renewal_window_60d`: the contract ends within this many days after `D`.
pub const RENEWAL_WINDOW_DAYS: i32 = 60;

// ---- intermediate columns (dropped before output) ---------------------------------------------
const INVOICES_3M: &str = "_invoices_3m";
const REVENUE_PREV_3M: &str = "_revenue_prev_3m";
const INVOICES_PREV_3M: &str = "_invoices_prev_3m";
const DAYS_LATE: &str = "_days_late";
const HELD_CATEGORY: &str = "_held_category";
const UNHELD: &str = "_unheld";
const LAST_BILL_KEY: &str = "_last_bill_key";
const LAST_TICKET_DAY: &str = "_last_ticket_day";
const SATISFACTION: &str = "_satisfaction";
const DATA_GB_PREV_90D: &str = "_data_gb_prev_90d";
const VOICE_MINUTES_PREV_90D: &str = "_voice_minutes_prev_90d";
const LAST_USAGE_DAY: &str = "_last_usage_day";
const LAST_RETENTION_DAY: &str = "_last_retention_day";

/// The features that are sums or counts of facts: `0` for a customer without such facts.
const ZERO_WHEN_NO_FACTS: &[&str] = &[
    LIFETIME_REVENUE,
    REVENUE_3M,
    REVENUE_6M,
    REVENUE_12M,
    INVOICES_OVERDUE,
    OVERDUE_AMOUNT,
    LATE_PAID_12M,
    OVERAGE_3M,
    DISCOUNT_3M,
    INVOICES_3M,
    REVENUE_PREV_3M,
    INVOICES_PREV_3M,
    PRODUCTS_HELD,
    CATEGORIES_HELD,
    MONTHLY_FEE_TOTAL,
    PRODUCTS_ADDED_90D,
    PRODUCTS_ADDED_365D,
    PRODUCTS_DROPPED_90D,
    PRODUCTS_DROPPED_365D,
    TICKETS_30D,
    TICKETS_90D,
    TICKETS_365D,
    TICKETS_BILLING_90D,
    TICKETS_TECHNICAL_90D,
    TICKETS_NETWORK_90D,
    TICKETS_CANCELLATION_90D,
    TICKETS_OTHER_90D,
    TICKETS_HIGH_SEVERITY_90D,
    OPEN_TICKETS,
    DATA_GB_30D,
    DATA_GB_90D,
    VOICE_MINUTES_30D,
    VOICE_MINUTES_90D,
    DATA_GB_PREV_90D,
    VOICE_MINUTES_PREV_90D,
    DROPPED_CALLS_90D,
    OUTAGE_MINUTES_90D,
    CAMPAIGNS_TARGETED_365D,
    CAMPAIGNS_TREATED_365D,
    CAMPAIGNS_CONTROL_365D,
    CAMPAIGNS_RESPONDED_365D,
];

// ---- expression helpers ----------------------------------------------------------------------
/// A profile flag as Float64 (`1.0` / `0.0`).
fn flag_f64(pred: Expr) -> Expr {
    pred.cast(DataType::Float64)
}

/// The number a string column's value maps to in `table`; null for any other value.
fn lookup(name: &str, table: &[(&str, f64)]) -> Expr {
    table
        .iter()
        .rev()
        .fold(null_f64(), |otherwise, (value, number)| {
            when(is(name, value))
                .then(lit(*number))
                .otherwise(otherwise)
        })
}

/// A string column equals a constant.
fn is(name: &str, value: &str) -> Expr {
    col(name).eq(lit(value))
}

/// Left join `left_on = right_on` (row order not kept).
fn left_join_on(left: LazyFrame, right: LazyFrame, left_on: &str, right_on: &str) -> LazyFrame {
    left.join_builder()
        .with(right)
        .how(JoinType::Left)
        .left_on([col(left_on)])
        .right_on([col(right_on)])
        .finish()
}

// ---- per table ---------------------------------------------------------------------------------

/// The customers active at `D`: keys, profile strings and profile features, and the label.
/// `contract_end_date` (and every contract feature) is the end of the term running at `D`,
/// recovered from the export's snapshot by [`Prepared::customers_at`].
fn profile(
    prep: &Prepared,
    at: AsOf,
    observed_until: Option<AsOf>,
) -> Result<LazyFrame, FeatureError> {
    let tier = lookup(customer::TIER, &TIER_ORDINALS);
    let term = lookup(customer::CONTRACT_TYPE, &CONTRACT_TERMS);
    let mut segments: Vec<Expr> = SEGMENT_ONE_HOT
        .iter()
        .map(|(name, column)| flag_f64(is(customer::SEGMENT, name)).alias(*column))
        .collect();
    let days_to_end = days_until(customer::CONTRACT_END_DATE, at);
    let horizon = at.days_after(LABEL_HORIZON_DAYS);
    let label = match observed_until {
        Some(end) if horizon.day <= end.day => {
            churned_within(horizon, LABEL_HORIZON_DAYS).cast(DataType::Int32)
        }
        _ => lit(NULL).cast(DataType::Int32),
    };
    let mut exprs = vec![
        col(CUSTOMER_ID),
        at.date_lit().alias(AS_OF_DATE),
        col(customer::NAME),
        col(customer::SEGMENT),
        col(customer::TIER),
        col(customer::REGION),
        col(customer::CONTRACT_TYPE),
        col(customer::ACCOUNT_MANAGER_ID),
        col(customer::SIGNUP_DATE).cast(DataType::Date),
        col(customer::CONTRACT_END_DATE).cast(DataType::Date),
        days_since(customer::SIGNUP_DATE, at).alias(TENURE_DAYS),
        tier.alias(TIER_ORDINAL),
        flag_f64(is(customer::CONTRACT_TYPE, MONTH_TO_MONTH)).alias(IS_MONTH_TO_MONTH),
        term.alias(CONTRACT_TERM_MONTHS),
        flag_f64(col(customer::ACCOUNT_MANAGER_ID).is_not_null()).alias(HAS_ACCOUNT_MANAGER),
        when(days_to_end.clone().lt(lit(0.0)))
            .then(lit(0.0))
            .otherwise(days_to_end)
            .alias(DAYS_TO_CONTRACT_END),
        flag_f64(in_window(
            customer::CONTRACT_END_DATE,
            at.days_after(RENEWAL_WINDOW_DAYS),
            RENEWAL_WINDOW_DAYS,
        ))
        .fill_null(lit(0.0))
        .alias(IN_RENEWAL_WINDOW_60D),
        flag_f64(
            col(customer::CONTRACT_END_DATE)
                .is_null()
                .or(visible(customer::CONTRACT_END_DATE, at)),
        )
        .alias(OUT_OF_CONTRACT),
        label.alias(CHURNED_90D),
    ];
    exprs.append(&mut segments);
    Ok(prep.customers_at(at)?.filter(active_at(at)).select(exprs))
}

/// Trailing churn rate by `key` (region or segment): of the customers active at `D − 90`, the
/// share that churned in `(D − 90, D]`. Only churns dated `≤ D` are read.
fn trailing_churn_rate(prep: &Prepared, at: AsOf, key: &str, name: &str) -> LazyFrame {
    prep.customers
        .clone()
        .filter(active_at(at.days_before(LABEL_HORIZON_DAYS)))
        .group_by([col(key)])
        .agg([(flag(churned_within(at, LABEL_HORIZON_DAYS))
            .sum()
            .cast(DataType::Float64)
            / len().cast(DataType::Float64))
        .alias(name)])
}

/// `bill_last` is read from one integer per invoice, `(day + DAY_OFFSET) · 10¹² + cents`, whose
/// maximum is the latest invoice (the largest one when several share that date): a plain `max`
/// instead of a per-group filter. Amounts are kept to the cent, up to 10¹⁰ currency units.
const BILL_KEY_SPLIT: i64 = 1_000_000_000_000;
const DAY_OFFSET: i64 = 1_000_000;

fn invoices(prep: &Prepared, at: AsOf) -> LazyFrame {
    let date = invoice::INVOICE_DATE;
    let amount = || col(invoice::AMOUNT);
    let in_3m = || in_window(date, at, 90);
    let in_prev_3m = || in_window(date, at.days_before(90), 90);
    let in_12m = || in_window(date, at, 365);
    let paid_by_d = || happened_by(invoice::PAID_DATE, at);
    let days_late = col(invoice::PAID_DATE).cast(DataType::Float64)
        - col(invoice::DUE_DATE).cast(DataType::Float64);
    let overdue =
        visible(invoice::DUE_DATE, at.days_before(1)).and(not_yet_happened(invoice::PAID_DATE, at));
    let cents = (amount() * lit(100.0))
        .round(0, RoundMode::HalfToEven)
        .cast(DataType::Int64);
    let cents = when(cents.clone().gt_eq(lit(BILL_KEY_SPLIT)))
        .then(lit(BILL_KEY_SPLIT - 1))
        .otherwise(cents);
    let bill_key =
        (col(date).cast(DataType::Int64) + lit(DAY_OFFSET)) * lit(BILL_KEY_SPLIT) + cents;
    let lf = prep
        .invoices
        .clone()
        .filter(visible(date, at))
        .with_columns([
            units(amount()).alias(LIFETIME_REVENUE),
            masked_units(in_3m(), amount()).alias(REVENUE_3M),
            masked_units(in_window(date, at, 180), amount()).alias(REVENUE_6M),
            masked_units(in_12m(), amount()).alias(REVENUE_12M),
            flag(in_3m()).alias(INVOICES_3M),
            masked_units(in_prev_3m(), amount()).alias(REVENUE_PREV_3M),
            flag(in_prev_3m()).alias(INVOICES_PREV_3M),
            flag(overdue.clone()).alias(INVOICES_OVERDUE),
            masked_units(overdue, amount()).alias(OVERDUE_AMOUNT),
            flag(
                in_12m()
                    .and(paid_by_d())
                    .and(col(invoice::PAID_DATE).gt(col(invoice::DUE_DATE))),
            )
            .alias(LATE_PAID_12M),
            masked_units(
                in_12m().and(paid_by_d()),
                when(days_late.clone().gt(lit(0.0)))
                    .then(days_late)
                    .otherwise(lit(0.0)),
            )
            .alias(DAYS_LATE),
            masked_units(in_3m(), col(invoice::OVERAGE_AMOUNT)).alias(OVERAGE_3M),
            masked_units(in_3m(), col(invoice::DISCOUNT_AMOUNT)).alias(DISCOUNT_3M),
            bill_key.alias(LAST_BILL_KEY),
        ]);
    aggregate(
        lf,
        &[CUSTOMER_ID],
        &[
            Agg::Total(LIFETIME_REVENUE),
            Agg::Total(REVENUE_3M),
            Agg::Total(REVENUE_6M),
            Agg::Total(REVENUE_12M),
            Agg::Count(INVOICES_3M),
            Agg::Total(REVENUE_PREV_3M),
            Agg::Count(INVOICES_PREV_3M),
            Agg::Count(INVOICES_OVERDUE),
            Agg::Total(OVERDUE_AMOUNT),
            Agg::Count(LATE_PAID_12M),
            Agg::Mean {
                input: DAYS_LATE,
                output: AVG_DAYS_LATE_12M,
            },
            Agg::Total(OVERAGE_3M),
            Agg::Total(DISCOUNT_3M),
        ],
        vec![col(LAST_BILL_KEY).max()],
        vec![
            ((col(LAST_BILL_KEY) % lit(BILL_KEY_SPLIT)).cast(DataType::Float64) / lit(100.0))
                .alias(BILL_LAST),
        ],
    )
}

fn assignments(prep: &Prepared, at: AsOf) -> LazyFrame {
    let start = assignment::START_DATE;
    let end = assignment::END_DATE;
    let held = || not_yet_happened(end, at);
    let lf = left_join_on(
        prep.assignments.clone().filter(visible(start, at)),
        prep.products.clone(),
        assignment::PRODUCT_ID,
        product::ID,
    )
    .with_columns([
        flag(held()).alias(PRODUCTS_HELD),
        // Distinct categories held = distinct codes among held rows, where every row not held
        // shares the code −1 (subtracted again below): plain n_unique / max aggregations.
        when(held())
            .then(col(CATEGORY_CODE))
            .otherwise(lit(-1i32))
            .alias(HELD_CATEGORY),
        flag(held().not()).alias(UNHELD),
        masked_units(held(), col(assignment::MONTHLY_FEE)).alias(MONTHLY_FEE_TOTAL),
        masked_units(held(), col(product::DATA_ALLOWANCE_GB)).alias(DATA_ALLOWANCE_GB),
        flag(in_window(start, at, 90)).alias(PRODUCTS_ADDED_90D),
        flag(in_window(start, at, 365)).alias(PRODUCTS_ADDED_365D),
        flag(in_window(end, at, 90)).alias(PRODUCTS_DROPPED_90D),
        flag(in_window(end, at, 365)).alias(PRODUCTS_DROPPED_365D),
    ]);
    aggregate(
        lf,
        &[CUSTOMER_ID],
        &[
            Agg::Count(PRODUCTS_HELD),
            Agg::Total(MONTHLY_FEE_TOTAL),
            Agg::TotalOrNull(DATA_ALLOWANCE_GB),
            Agg::Count(PRODUCTS_ADDED_90D),
            Agg::Count(PRODUCTS_ADDED_365D),
            Agg::Count(PRODUCTS_DROPPED_90D),
            Agg::Count(PRODUCTS_DROPPED_365D),
        ],
        vec![
            col(HELD_CATEGORY).n_unique().alias(HELD_CATEGORY),
            col(UNHELD).max(),
        ],
        vec![
            (col(HELD_CATEGORY).cast(DataType::Float64) - col(UNHELD).cast(DataType::Float64))
                .alias(CATEGORIES_HELD),
        ],
    )
}

fn tickets(prep: &Prepared, at: AsOf) -> LazyFrame {
    let in_90d = || in_window(OPENED_DAY, at, 90);
    let known_category = TICKET_CATEGORY_COLUMNS
        .iter()
        .fold(lit(false), |any, (category, _)| {
            any.or(is(ticket::CATEGORY, category))
        });
    let high = HIGH_SEVERITIES.iter().fold(lit(false), |any, severity| {
        any.or(is(ticket::SEVERITY, severity))
    });
    // Resolved by D and opened within the year: its resolution time and score are known at D.
    let closed_in_12m = || in_window(OPENED_DAY, at, 365).and(happened_by(RESOLVED_DAY, at));
    let mut flagged = vec![
        flag(in_window(OPENED_DAY, at, 30)).alias(TICKETS_30D),
        flag(in_90d()).alias(TICKETS_90D),
        flag(in_window(OPENED_DAY, at, 365)).alias(TICKETS_365D),
        flag(in_90d().and(known_category.not())).alias(TICKETS_OTHER_90D),
        flag(in_90d().and(high)).alias(TICKETS_HIGH_SEVERITY_90D),
        flag(not_yet_happened(RESOLVED_DAY, at)).alias(OPEN_TICKETS),
        masked_units(closed_in_12m(), col(RESOLUTION_HOURS)).alias(RESOLUTION_HOURS),
        masked_units(closed_in_12m(), col(ticket::SATISFACTION_SCORE)).alias(SATISFACTION),
        masked(closed_in_12m(), col(ticket::SATISFACTION_SCORE)).alias(MIN_SATISFACTION_365D),
    ];
    flagged.extend(
        TICKET_CATEGORY_COLUMNS.iter().map(|(category, name)| {
            flag(in_90d().and(is(ticket::CATEGORY, category))).alias(*name)
        }),
    );
    let mut aggs = vec![
        Agg::Count(TICKETS_30D),
        Agg::Count(TICKETS_90D),
        Agg::Count(TICKETS_365D),
        Agg::Count(TICKETS_OTHER_90D),
        Agg::Count(TICKETS_HIGH_SEVERITY_90D),
        Agg::Count(OPEN_TICKETS),
        Agg::Mean {
            input: RESOLUTION_HOURS,
            output: AVG_RESOLUTION_HOURS_365D,
        },
        Agg::Mean {
            input: SATISFACTION,
            output: AVG_SATISFACTION_365D,
        },
        Agg::Min {
            input: MIN_SATISFACTION_365D,
            output: MIN_SATISFACTION_365D,
        },
        Agg::Max {
            input: OPENED_DAY,
            output: LAST_TICKET_DAY,
        },
    ];
    aggs.extend(
        TICKET_CATEGORY_COLUMNS
            .iter()
            .map(|(_, name)| Agg::Count(name)),
    );
    let lf = prep
        .tickets
        .clone()
        .filter(visible(OPENED_DAY, at))
        .with_columns(flagged);
    aggregate(lf, &[CUSTOMER_ID], &aggs, vec![], vec![])
}

fn usage(prep: &Prepared, at: AsOf) -> LazyFrame {
    let date = usage::USAGE_DATE;
    let prev = at.days_before(90);
    let in_30d = || in_window(date, at, 30);
    let in_90d = || in_window(date, at, 90);
    let in_prev_90d = || in_window(date, prev, 90);
    let lf = prep
        .usage
        .clone()
        .filter(in_window(date, at, 365))
        .with_columns([
            masked_units(in_30d(), col(usage::DATA_GB)).alias(DATA_GB_30D),
            masked_units(in_90d(), col(usage::DATA_GB)).alias(DATA_GB_90D),
            masked_units(in_prev_90d(), col(usage::DATA_GB)).alias(DATA_GB_PREV_90D),
            masked_units(in_30d(), col(usage::VOICE_MINUTES)).alias(VOICE_MINUTES_30D),
            masked_units(in_90d(), col(usage::VOICE_MINUTES)).alias(VOICE_MINUTES_90D),
            masked_units(in_prev_90d(), col(usage::VOICE_MINUTES)).alias(VOICE_MINUTES_PREV_90D),
            masked_units(in_90d(), col(usage::DROPPED_CALLS)).alias(DROPPED_CALLS_90D),
            masked_units(in_90d(), col(usage::OUTAGE_MINUTES)).alias(OUTAGE_MINUTES_90D),
        ]);
    aggregate(
        lf,
        &[CUSTOMER_ID],
        &[
            Agg::Total(DATA_GB_30D),
            Agg::Total(DATA_GB_90D),
            Agg::Total(DATA_GB_PREV_90D),
            Agg::Total(VOICE_MINUTES_30D),
            Agg::Total(VOICE_MINUTES_90D),
            Agg::Total(VOICE_MINUTES_PREV_90D),
            Agg::Total(DROPPED_CALLS_90D),
            Agg::Total(OUTAGE_MINUTES_90D),
            Agg::Max {
                input: date,
                output: LAST_USAGE_DAY,
            },
        ],
        vec![],
        vec![],
    )
}

fn campaigns(prep: &Prepared, at: AsOf) -> LazyFrame {
    let date = campaign::TARGET_DATE;
    let in_12m = || in_window(date, at, 365);
    let [treatment, control] = [TREATMENT_GROUPS[0], TREATMENT_GROUPS[1]];
    // Responses of campaigns targeted in (D − 365, D − lag]: old enough to have been recorded.
    let answerable = in_window(
        date,
        at.days_before(RESPONSE_LAG_DAYS),
        365 - RESPONSE_LAG_DAYS,
    );
    let lf = prep
        .campaigns
        .clone()
        .filter(visible(date, at))
        .with_columns([
            flag(in_12m()).alias(CAMPAIGNS_TARGETED_365D),
            flag(in_12m().and(is(campaign::TREATMENT_GROUP, treatment)))
                .alias(CAMPAIGNS_TREATED_365D),
            flag(in_12m().and(is(campaign::TREATMENT_GROUP, control)))
                .alias(CAMPAIGNS_CONTROL_365D),
            flag(answerable.and(col(campaign::RESPONDED).eq(lit(true))))
                .alias(CAMPAIGNS_RESPONDED_365D),
            masked(
                is(campaign::CAMPAIGN_TYPE, RETENTION_CAMPAIGN_TYPE),
                col(date),
            )
            .alias(LAST_RETENTION_DAY),
        ]);
    aggregate(
        lf,
        &[CUSTOMER_ID],
        &[
            Agg::Count(CAMPAIGNS_TARGETED_365D),
            Agg::Count(CAMPAIGNS_TREATED_365D),
            Agg::Count(CAMPAIGNS_CONTROL_365D),
            Agg::Count(CAMPAIGNS_RESPONDED_365D),
            Agg::Max {
                input: LAST_RETENTION_DAY,
                output: LAST_RETENTION_DAY,
            },
        ],
        vec![],
        vec![],
    )
}

/// The columns of `right` (one row per value of `on`) lined up with the rows of `keys` (a frame
/// of the one column `on`, values unique): a left join that keeps the left order, so nothing but
/// the right's columns is copied and no sort is needed afterwards.
fn aligned(
    keys: &DataFrame,
    right: DataFrame,
    on: &str,
    table: &'static str,
    at: AsOf,
) -> Result<Vec<Column>, FeatureError> {
    let args = JoinArgs {
        maintain_order: MaintainOrderJoin::Left,
        ..JoinArgs::new(JoinType::Left)
    };
    let joined = super::collect_with(
        keys.clone()
            .lazy()
            .join(right.lazy(), [col(on)], [col(on)], args)
            .drop(by_name([on], true, false)),
        Engine::InMemory,
        table,
        at,
    )?;
    Ok(joined.into_columns())
}

/// The per-customer frame at `D`: one row per customer active at `D` (dim_customer order) with
/// `customer_id`, `as_of_date`, the profile strings and dates, every feature of [`FEATURES`]
/// (Float64) and `churned_90d`.
///
/// Each fact table's per-customer aggregate is run to completion on its own, one after the
/// other: in one plan the streaming engine runs all five grouped reductions at once, each with
/// per-thread states for ~1M customers, and the peak memory is their sum; one at a time it is
/// the largest one. The aggregates are then lined up with the active customers by joins that
/// keep the customers' order (no re-sort of the wide frame at the end).
pub fn customer_frame(
    prep: &Prepared,
    at: AsOf,
    observed_until: Option<AsOf>,
) -> Result<DataFrame, FeatureError> {
    let customers = Table::Customer.file_stem();
    let polars = |table: &'static str| {
        move |source| FeatureError::Polars {
            table,
            as_of: Some(at.date),
            source,
        }
    };
    let mut frame = super::collect(profile(prep, at, observed_until)?, customers, at)?;
    frame.rechunk_mut();
    let ids = frame.select([CUSTOMER_ID]).map_err(polars(customers))?;
    for (facts, table) in [
        (invoices(prep, at), Table::Invoice),
        (assignments(prep, at), Table::ServiceAssignment),
        (tickets(prep, at), Table::SupportTicket),
        (usage(prep, at), Table::NetworkUsage),
        (campaigns(prep, at), Table::CampaignTarget),
    ] {
        let table = table.file_stem();
        let per_customer = super::collect(facts, table, at)?;
        let columns = aligned(&ids, per_customer, CUSTOMER_ID, table, at)?;
        frame.hstack_mut(&columns).map_err(polars(table))?;
    }
    for (key, name) in [
        (customer::REGION, REGION_CHURN_RATE_90D),
        (customer::SEGMENT, SEGMENT_CHURN_RATE_90D),
    ] {
        let rates = super::collect(trailing_churn_rate(prep, at, key, name), customers, at)?;
        let keys = frame.select([key]).map_err(polars(customers))?;
        let columns = aligned(&keys, rates, key, customers, at)?;
        frame.hstack_mut(&columns).map_err(polars(customers))?;
    }
    let filled: Vec<Expr> = ZERO_WHEN_NO_FACTS
        .iter()
        .map(|name| col(*name).cast(DataType::Float64).fill_null(lit(0.0)))
        .collect();
    let bill_change = ratio(
        ratio(col(REVENUE_3M), col(INVOICES_3M)),
        ratio(col(REVENUE_PREV_3M), col(INVOICES_PREV_3M)),
    );
    let lf = frame
        .lazy()
        .with_columns(filled)
        .with_columns([
            ratio(col(OVERAGE_3M), col(REVENUE_3M)).alias(OVERAGE_SHARE_3M),
            bill_change.alias(BILL_CHANGE_RATIO),
            days_since(LAST_TICKET_DAY, at).alias(DAYS_SINCE_LAST_TICKET),
            ratio(col(DATA_GB_90D), col(DATA_GB_PREV_90D)).alias(DATA_GB_TREND),
            ratio(col(VOICE_MINUTES_90D), col(VOICE_MINUTES_PREV_90D)).alias(VOICE_MINUTES_TREND),
            ratio(col(DROPPED_CALLS_90D) * lit(100.0), col(VOICE_MINUTES_90D))
                .alias(DROPPED_CALL_RATE_90D),
            ratio(col(DATA_GB_90D) / lit(3.0), col(DATA_ALLOWANCE_GB))
                .alias(DATA_ALLOWANCE_USAGE_90D),
            days_since(LAST_USAGE_DAY, at).alias(DAYS_SINCE_LAST_USAGE),
            days_since(LAST_RETENTION_DAY, at).alias(DAYS_SINCE_LAST_RETENTION_CAMPAIGN),
        ])
        .with_columns([flag_f64(col(BILL_CHANGE_RATIO).gt(lit(BILL_SHOCK_RATIO)))
            .fill_null(lit(0.0))
            .alias(BILL_SHOCK)])
        .select(output_columns());
    super::collect_with(lf, Engine::InMemory, customers, at)
}

/// The columns of the per-customer frame, in order.
fn output_columns() -> Vec<Expr> {
    let mut exprs = vec![
        col(CUSTOMER_ID),
        col(AS_OF_DATE),
        col(customer::NAME),
        col(customer::SEGMENT),
        col(customer::TIER),
        col(customer::REGION),
        col(customer::CONTRACT_TYPE),
        col(customer::ACCOUNT_MANAGER_ID),
        col(customer::SIGNUP_DATE),
        col(customer::CONTRACT_END_DATE),
    ];
    exprs.extend(FEATURES.iter().map(|f| col(*f).cast(DataType::Float64)));
    exprs.push(col(CHURNED_90D));
    exprs
}

/// churn_prediction_features from the per-customer frame.
pub fn ml_columns() -> Vec<Expr> {
    let mut exprs = vec![col(CUSTOMER_ID), col(AS_OF_DATE)];
    exprs.extend(FEATURES.iter().map(|f| col(*f)));
    exprs.push(col(CHURNED_90D));
    exprs
}

/// customer_360_view from the per-customer frame: profile strings instead of their encodings,
/// no label.
pub fn view_360_columns() -> Vec<Expr> {
    let mut exprs = vec![
        col(CUSTOMER_ID),
        col(AS_OF_DATE),
        col(customer::NAME),
        col(customer::SEGMENT),
        col(customer::TIER),
        col(customer::REGION),
        col(customer::CONTRACT_TYPE),
        col(customer::ACCOUNT_MANAGER_ID),
        col(customer::SIGNUP_DATE),
        col(customer::CONTRACT_END_DATE),
    ];
    exprs.extend(
        FEATURES
            .iter()
            .filter(|f| !ENCODINGS.contains(f))
            .map(|f| col(*f)),
    );
    exprs
}
