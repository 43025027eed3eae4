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

use std::collections::HashMap;

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
    // One pass over each table in plain Rust: [`margin_frame`] (the same numbers through
    // polars group-bys and joins on the id strings) took about 4 s of the 1M-customer scoring
    // stage; a test checks the two agree.
    let at = AsOf::new(as_of);
    let d = at.day;
    let err = |table: &'static str, step: &'static str| {
        move |source| ValueError::Polars {
            table,
            step,
            as_of,
            source,
        }
    };
    let days =
        |df: &DataFrame, table: &'static str, name: &str| -> Result<Int32Chunked, ValueError> {
            let c = df.column(name).map_err(err(table, "read column"))?;
            let c = c
                .cast(&DataType::Int32)
                .map_err(err(table, "read column"))?;
            Ok(c.i32().map_err(err(table, "read column"))?.clone())
        };
    let text =
        |df: &DataFrame, table: &'static str, name: &str| -> Result<StringChunked, ValueError> {
            let c = df.column(name).map_err(err(table, "read column"))?;
            Ok(c.str().map_err(err(table, "read column"))?.clone())
        };
    let number =
        |df: &DataFrame, table: &'static str, name: &str| -> Result<Float64Chunked, ValueError> {
            let c = df.column(name).map_err(err(table, "read column"))?;
            let c = c
                .cast(&DataType::Float64)
                .map_err(err(table, "read column"))?;
            Ok(c.f64().map_err(err(table, "read column"))?.clone())
        };

    // Active customers, in dim_customer order, and their position by id.
    let c = &wh.customers;
    let ids = text(c, "dim_customer", customer::ID)?;
    let signup = days(c, "dim_customer", customer::SIGNUP_DATE)?;
    let churn = days(c, "dim_customer", customer::CHURN_DATE)?;
    let mut out: Vec<MarginInput> = Vec::new();
    let mut index: HashMap<&str, u32> = HashMap::new();
    for ((id, s), ch) in ids.iter().zip(signup.iter()).zip(churn.iter()) {
        let active = s.is_some_and(|s| s <= d) && ch.is_none_or(|ch| ch > d);
        if let (true, Some(id)) = (active, id) {
            index.insert(id, out.len() as u32);
            out.push(MarginInput {
                customer_id: id.to_string(),
                ..MarginInput::default()
            });
        }
    }
    // Facts list a customer's rows together: the previous row's customer is tried first.
    let mut find = Lookup {
        index: &index,
        last: None,
    };

    // Services active at D, priced from dim_product (an unknown product is not a service).
    let p = &wh.products;
    let pid = text(p, "dim_product", product::ID)?;
    let price = number(p, "dim_product", product::MONTHLY_PRICE)?;
    let rate = number(p, "dim_product", product::MARGIN_RATE)?;
    let prices: HashMap<&str, Option<f64>> = pid
        .iter()
        .zip(price.iter().zip(rate.iter()))
        .filter_map(|(id, (pr, r))| id.map(|id| (id, pr.zip(r).map(|(pr, r)| pr * r))))
        .collect();
    let a = &wh.assignments;
    let acust = text(a, "fact_service_assignment", assignment::CUSTOMER_ID)?;
    let aprod = text(a, "fact_service_assignment", assignment::PRODUCT_ID)?;
    let start = days(a, "fact_service_assignment", assignment::START_DATE)?;
    let end = days(a, "fact_service_assignment", assignment::END_DATE)?;
    for (((cid, pid), st), en) in acust
        .iter()
        .zip(aprod.iter())
        .zip(start.iter())
        .zip(end.iter())
    {
        let held = st.is_some_and(|st| st <= d) && en.is_none_or(|en| en > d);
        let (true, Some(cid), Some(pid)) = (held, cid, pid) else {
            continue;
        };
        let Some(&margin) = prices.get(pid) else {
            continue;
        };
        if let Some(k) = find.get(cid) {
            let m = &mut out[k as usize];
            m.active_services += 1;
            m.monthly_margin += margin.unwrap_or(0.0);
        }
    }

    // Revenue of the last 3 months and the 3 before (calendar months).
    let (d3, d6) = (months_before(as_of, 3), months_before(as_of, 6));
    let i = &wh.invoices;
    let icust = text(i, "fact_invoice", invoice::CUSTOMER_ID)?;
    let idate = days(i, "fact_invoice", invoice::INVOICE_DATE)?;
    let amount = number(i, "fact_invoice", invoice::AMOUNT)?;
    for ((cid, dt), amt) in icust.iter().zip(idate.iter()).zip(amount.iter()) {
        let (Some(cid), Some(dt), Some(amt)) = (cid, dt, amt) else {
            continue;
        };
        if dt <= d6 || dt > d {
            continue;
        }
        if let Some(k) = find.get(cid) {
            let m = &mut out[k as usize];
            if dt > d3 {
                m.revenue_last_3m += amt;
            } else {
                m.revenue_prev_3m += amt;
            }
        }
    }
    for m in &mut out {
        m.monthly_trend = trend(m.revenue_last_3m, m.revenue_prev_3m);
    }
    Ok(out)
}

/// Position of a customer id among the active customers, trying the previous id first.
struct Lookup<'i, 's> {
    index: &'i HashMap<&'s str, u32>,
    last: Option<(&'s str, Option<u32>)>,
}

impl<'s> Lookup<'_, 's> {
    fn get(&mut self, id: &'s str) -> Option<u32> {
        match self.last {
            Some((l, k)) if l == id => k,
            _ => {
                let k = self.index.get(id).copied();
                self.last = Some((id, k));
                k
            }
        }
    }
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

    /// The plain scan and the polars query give the same inputs, customer by customer.
    #[test]
    fn the_scan_agrees_with_the_polars_frame() {
        let dir = tempfile::tempdir().expect("tmp");
        let cfg = crate::generate::GenerateConfig {
            customers: 1_200,
            seed: 3,
            ..crate::generate::GenerateConfig::default()
        };
        crate::generate::generate(&cfg, dir.path()).expect("generate");
        let (wh, _) = crate::warehouse::load(dir.path()).expect("load");
        for as_of in ["2023-06-15", "2024-03-31", "2024-12-31"] {
            let as_of: NaiveDate = as_of.parse().expect("date");
            let scan = margin_inputs(&wh, as_of).expect("scan");
            let frame = margin_frame(&wh, as_of).expect("frame");
            assert_eq!(scan.len(), frame.height(), "{as_of}");
            let col = |n: &str| -> Vec<f64> {
                frame
                    .column(n)
                    .expect("col")
                    .cast(&DataType::Float64)
                    .expect("cast")
                    .f64()
                    .expect("f64")
                    .iter()
                    .map(|v| v.unwrap_or(f64::NAN))
                    .collect()
            };
            let ids = frame.column(customer::ID).expect("id");
            let ids: Vec<&str> = ids.str().expect("str").iter().flatten().collect();
            let (margin, services) = (col(MARGIN), col(SERVICES));
            let (last, prev) = (col(LAST), col(PREV));
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + b.abs());
            for (k, m) in scan.iter().enumerate() {
                assert_eq!(m.customer_id, ids[k]);
                assert_eq!(f64::from(m.active_services), services[k], "{}", ids[k]);
                assert!(close(m.monthly_margin, margin[k]), "{}", ids[k]);
                assert!(close(m.revenue_last_3m, last[k]), "{}", ids[k]);
                assert!(close(m.revenue_prev_3m, prev[k]), "{}", ids[k]);
            }
            assert!(scan
                .iter()
                .any(|m| m.revenue_prev_3m > 0.0 && m.active_services > 1));
        }
    }

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
