//! customer_segmentation_analysis: one row per segment × tier per as-of date, derived from the
//! per-customer frame of that date (plus the trailing churn of the group and product adoption).

use polars::prelude::*;

use super::columns::*;
use super::exact::{aggregate, flag, ratio, units, Agg, SCALE};
use super::pit::{active_at, churned_within, not_yet_happened, visible, AsOf};
use super::prepare::Prepared;
use crate::warehouse::schema::{assignment, customer, product};

const REVENUE_90D: &str = "_revenue_90d";
const TICKETS: &str = "_tickets_90d";
const HOLDERS: &str = "_holders";

fn join(left: LazyFrame, right: LazyFrame, on: &[&str], how: JoinType) -> LazyFrame {
    let keys: Vec<Expr> = on.iter().map(|k| col(*k)).collect();
    left.join_builder()
        .with(right)
        .how(how)
        .left_on(keys.clone())
        .right_on(keys)
        .coalesce(JoinCoalesce::CoalesceColumns)
        .finish()
}

/// The adoption column of a product category.
pub fn adoption_column(category: &str) -> String {
    format!("{ADOPTION_PREFIX}{category}")
}

/// The segmentation of `D` from `customers`, the per-customer frame of `D` (customer_id,
/// segment, tier, tenure_days, revenue_3m, tickets_90d, products_dropped_90d).
pub fn segmentation(prep: &Prepared, at: AsOf, customers: LazyFrame) -> LazyFrame {
    let groups = [customer::SEGMENT, customer::TIER];
    let group_cols = || groups.iter().map(|g| col(*g)).collect::<Vec<_>>();

    // Sums of per-customer Float64 values go through exact integer units (see `exact`).
    let now = aggregate(
        customers.clone().with_columns([
            units(col(REVENUE_3M)).alias(REVENUE_90D),
            units(col(TENURE_DAYS)).alias(TENURE_DAYS),
            units(col(TICKETS_90D)).alias(TICKETS),
            units(col(PRODUCTS_DROPPED_90D)).alias(PRODUCTS_DROPPED_90D),
        ]),
        &groups,
        &[
            Agg::Total(REVENUE_90D),
            Agg::Mean {
                input: TENURE_DAYS,
                output: AVG_TENURE_DAYS,
            },
            Agg::Total(TICKETS),
            Agg::Total(PRODUCTS_DROPPED_90D),
        ],
        vec![len().cast(DataType::Float64).alias(CUSTOMERS)],
        vec![],
    );
    let churn = prep
        .customers
        .clone()
        .filter(active_at(at.days_before(LABEL_HORIZON_DAYS)))
        .group_by(group_cols())
        .agg([(flag(churned_within(at, LABEL_HORIZON_DAYS))
            .sum()
            .cast(DataType::Float64)
            / len().cast(DataType::Float64))
        .alias(CHURN_RATE_90D)]);

    // Which active customer holds at least one product of which category at D.
    let holders = prep
        .assignments
        .clone()
        .filter(visible(assignment::START_DATE, at).and(not_yet_happened(assignment::END_DATE, at)))
        .join_builder()
        .with(prep.products.clone())
        .how(JoinType::Inner)
        .left_on([col(assignment::PRODUCT_ID)])
        .right_on([col(product::ID)])
        .finish()
        .select([col(assignment::CUSTOMER_ID), col(product::CATEGORY)])
        .unique(None, UniqueKeepStrategy::Any)
        .join_builder()
        .with(customers.select([
            col(CUSTOMER_ID),
            col(customer::SEGMENT),
            col(customer::TIER),
        ]))
        .how(JoinType::Inner)
        .left_on([col(assignment::CUSTOMER_ID)])
        .right_on([col(CUSTOMER_ID)])
        .finish()
        .group_by([
            col(customer::SEGMENT),
            col(customer::TIER),
            col(product::CATEGORY),
        ])
        .agg([len().cast(DataType::Float64).alias(HOLDERS)]);
    let adoption_counts: Vec<Expr> = prep
        .categories
        .iter()
        .map(|c| {
            col(HOLDERS)
                .filter(col(product::CATEGORY).eq(lit(c.as_str())))
                .sum()
                .alias(adoption_column(c))
        })
        .collect();
    let adoption = holders.group_by(group_cols()).agg(adoption_counts);

    let mut lf = join(now, churn, &groups, JoinType::Full);
    lf = join(lf, adoption, &groups, JoinType::Left);
    let filled: Vec<Expr> = [CUSTOMERS, REVENUE_90D, TICKETS, PRODUCTS_DROPPED_90D]
        .iter()
        .map(|c| col(*c).fill_null(lit(0.0)))
        .chain(
            prep.categories
                .iter()
                .map(|c| col(adoption_column(c)).fill_null(lit(0.0))),
        )
        .collect();
    // Exact, order-independent total (see `exact`).
    let total_revenue = units(col(REVENUE_90D)).sum().cast(DataType::Float64) / lit(SCALE);
    let mut out = vec![
        at.date_lit().alias(AS_OF_DATE),
        col(customer::SEGMENT),
        col(customer::TIER),
        col(CUSTOMERS).cast(DataType::Int64),
        col(CHURN_RATE_90D),
        ratio(col(REVENUE_90D) / lit(3.0), col(CUSTOMERS)).alias(ARPU_MONTHLY),
        ratio(col(REVENUE_90D), total_revenue).alias(REVENUE_SHARE),
        col(AVG_TENURE_DAYS),
        ratio(col(TICKETS), col(CUSTOMERS)).alias(TICKETS_PER_CUSTOMER_90D),
        col(PRODUCTS_DROPPED_90D),
    ];
    out.extend(prep.categories.iter().map(|c| {
        let name = adoption_column(c);
        ratio(col(name.as_str()), col(CUSTOMERS)).alias(name)
    }));
    lf.with_columns(filled).select(out).sort(
        groups,
        SortMultipleOptions::default().with_maintain_order(true),
    )
}
