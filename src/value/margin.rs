//! The margin side of contractual CLV, read point-in-time from the warehouse.
//!
//! For every customer active at `D` (per the contract: `signup_date ≤ D`, `churn_date` null or
//! `> D`):
//! - `monthly_margin` = Σ `monthly_price × margin_rate` over the services active at `D`
//!   (`start_date ≤ D`, `end_date` null or `> D`), priced from dim_product;
//! - the revenue trend from fact_invoice: `revenue_last_3m` = Σ amount over `(D − 3 months, D]`,
//!   `revenue_prev_3m` over `(D − 6 months, D − 3 months]` (calendar months, clamped to month
//!   ends), and `monthly_trend = (last / prev)^(1/3) − 1` (0 when `prev = 0`: no evidence of a
//!   trend). Only invoices dated `≤ D` are read, so later facts never change the inputs.

use chrono::{Months, NaiveDate};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::ValueError;
use crate::features::pit::{self, AsOf};
use crate::warehouse::schema::{assignment, customer, invoice, product};
use crate::warehouse::Warehouse;

/// What the contractual CLV needs to know about one active customer's margin.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MarginInput {
    pub customer_id: String,
    /// Σ monthly_price × margin_rate of the services active at the as-of date.
    pub monthly_margin: f64,
    /// Monthly revenue growth rate: `(revenue_last_3m / revenue_prev_3m)^(1/3) − 1`, 0 when
    /// there is no previous revenue. Not clamped here (see `ClvConfig::max_monthly_trend`).
    pub monthly_trend: f64,
    /// Invoiced amount in the 3 months ending on the as-of date.
    pub revenue_last_3m: f64,
    /// Invoiced amount in the 3 months before those.
    pub revenue_prev_3m: f64,
    /// Number of services active at the as-of date.
    pub active_services: u32,
}

const ROW: &str = "_row";
pub(crate) const MARGIN: &str = "monthly_margin";
const SERVICES: &str = "active_services";
const LAST: &str = "revenue_last_3m";
const PREV: &str = "revenue_prev_3m";

/// Margin and revenue trend of every customer active at `as_of`, in dim_customer order.
pub fn margin_inputs(wh: &Warehouse, as_of: NaiveDate) -> Result<Vec<MarginInput>, ValueError> {
    let df = margin_frame(wh, as_of)?;
    let err = |step| {
        move |source| ValueError::Polars {
            table: "dim_customer",
            step,
            as_of,
            source,
        }
    };
    let ids = df.column(customer::ID).map_err(err("read ids"))?;
    let ids = ids.str().map_err(err("read ids"))?;
    let f64_col = |name: &str| -> Result<Vec<f64>, ValueError> {
        let c = df.column(name).map_err(err("read column"))?;
        let c = c.f64().map_err(err("read column"))?;
        Ok(c.iter().map(|v| v.unwrap_or(0.0)).collect())
    };
    let margin = f64_col(MARGIN)?;
    let last = f64_col(LAST)?;
    let prev = f64_col(PREV)?;
    let services = df.column(SERVICES).map_err(err("read column"))?;
    let services = services
        .cast(&DataType::UInt32)
        .map_err(err("read column"))?;
    let services = services.u32().map_err(err("read column"))?;
    Ok(ids
        .iter()
        .zip(services.iter())
        .enumerate()
        .map(|(i, (id, n))| MarginInput {
            customer_id: id.unwrap_or_default().to_string(),
            monthly_margin: margin[i],
            monthly_trend: trend(last[i], prev[i]),
            revenue_last_3m: last[i],
            revenue_prev_3m: prev[i],
            active_services: n.unwrap_or(0),
        })
        .collect())
}

/// `(last / prev)^(1/3) − 1`; 0 when `prev ≤ 0`.
pub fn trend(last: f64, prev: f64) -> f64 {
    if prev > 0.0 && last >= 0.0 {
        (last / prev).cbrt() - 1.0
    } else {
        0.0
    }
}

/// `date` minus `months` calendar months (clamped to the month's end), as a day number.
fn months_before(date: NaiveDate, months: u32) -> i32 {
    pit::day_number(
        date.checked_sub_months(Months::new(months))
            .unwrap_or(NaiveDate::MIN),
    )
}

/// The same as [`margin_inputs`], as a frame: `customer_id`, `monthly_margin`,
/// `active_services`, `revenue_last_3m`, `revenue_prev_3m` (dim_customer order).
pub fn margin_frame(wh: &Warehouse, as_of: NaiveDate) -> Result<DataFrame, ValueError> {
    let at = AsOf::new(as_of);
    let day = |name: &str| col(name).cast(DataType::Int32).alias(name);

    let active = wh
        .customers
        .clone()
        .lazy()
        .with_row_index(ROW, None)
        .select([
            col(ROW),
            col(customer::ID),
            day(customer::SIGNUP_DATE),
            day(customer::CHURN_DATE),
        ])
        .filter(pit::active_at(at))
        .select([col(ROW), col(customer::ID)]);

    let prices = wh.products.clone().lazy().select([
        col(product::ID),
        (col(product::MONTHLY_PRICE) * col(product::MARGIN_RATE)).alias(MARGIN),
    ]);
    let services = wh
        .assignments
        .clone()
        .lazy()
        .select([
            col(assignment::CUSTOMER_ID),
            col(assignment::PRODUCT_ID),
            day(assignment::START_DATE),
            day(assignment::END_DATE),
        ])
        .filter(
            pit::visible(assignment::START_DATE, at)
                .and(pit::not_yet_happened(assignment::END_DATE, at)),
        )
        .join_builder()
        .with(prices)
        .how(JoinType::Inner)
        .left_on([col(assignment::PRODUCT_ID)])
        .right_on([col(product::ID)])
        .finish()
        .group_by([col(assignment::CUSTOMER_ID)])
        .agg([
            col(MARGIN).sum().alias(MARGIN),
            len().cast(DataType::UInt32).alias(SERVICES),
        ]);

    let (d3, d6) = (months_before(as_of, 3), months_before(as_of, 6));
    let between = |lo: i32, hi: i32| {
        col(invoice::INVOICE_DATE)
            .gt(lit(lo))
            .and(col(invoice::INVOICE_DATE).lt_eq(lit(hi)))
    };
    let revenue = |cond: Expr, name: &str| {
        when(cond)
            .then(col(invoice::AMOUNT))
            .otherwise(lit(0.0))
            .sum()
            .alias(name)
    };
    let invoices = wh
        .invoices
        .clone()
        .lazy()
        .select([
            col(invoice::CUSTOMER_ID),
            day(invoice::INVOICE_DATE),
            col(invoice::AMOUNT),
        ])
        .filter(between(d6, at.day))
        .group_by([col(invoice::CUSTOMER_ID)])
        .agg([
            revenue(between(d3, at.day), LAST),
            revenue(between(d6, d3), PREV),
        ]);

    let left = |l: LazyFrame, r: LazyFrame, on: &str| {
        l.join_builder()
            .with(r)
            .how(JoinType::Left)
            .left_on([col(customer::ID)])
            .right_on([col(on)])
            .finish()
    };
    let lf = left(
        left(active, services, assignment::CUSTOMER_ID),
        invoices,
        invoice::CUSTOMER_ID,
    )
    .sort([ROW], SortMultipleOptions::default())
    .select([
        col(customer::ID),
        col(MARGIN).fill_null(lit(0.0)),
        col(SERVICES).fill_null(lit(0u32)),
        col(LAST).fill_null(lit(0.0)),
        col(PREV).fill_null(lit(0.0)),
    ]);
    lf.collect_with_engine(Engine::InMemory)
        .map(|r| r.unwrap_single())
        .map_err(|source| ValueError::Polars {
            table: "fact_service_assignment, fact_invoice",
            step: "margin and revenue trend",
            as_of,
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trend_of_equal_quarters_is_zero_and_of_doubling_is_cube_root() {
        assert_eq!(trend(300.0, 300.0), 0.0);
        assert!((trend(240.0, 30.0) - 1.0).abs() < 1e-12); // 8× in 3 months = 2× a month
        assert_eq!(trend(100.0, 0.0), 0.0);
    }

    #[test]
    fn months_are_calendar_months_clamped_to_month_end() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).expect("date");
        assert_eq!(
            months_before(d(2024, 3, 31), 3),
            pit::day_number(d(2023, 12, 31))
        );
        assert_eq!(
            months_before(d(2024, 5, 31), 3),
            pit::day_number(d(2024, 2, 29))
        );
    }
}
