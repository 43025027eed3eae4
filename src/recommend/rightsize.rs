//! Plan right-sizing: a customer paying overage is offered the cheapest data plan whose
//! allowance fits its recent usage, when that lowers its monthly bill.
//!
//! At the as-of date D, for each customer:
//! * current plan = the held data plan (a product in a category with data allowances) with the
//!   highest fee; its fee is the assignment's `monthly_fee`;
//! * lines = max(1, round(fee / list price)) — the contract has no seat count, so per-line
//!   plans billed for several lines are recognised by their fee (exact for single-line
//!   customers; a deep promotion on several lines can round one line low);
//! * average overage = mean `overage_amount` of the invoices dated in (D − 90, D];
//! * monthly usage = mean `data_gb` of the usage rows in (D − 90, D] when the table has monthly
//!   grain, or their sum × 30.4375 / 90 when it has daily grain (grain detected from the rows:
//!   more than 1.5 rows per customer-month = daily);
//! * only a plan with a finite allowance can cause overage (overage billed while on an
//!   unlimited plan is a leftover of an earlier plan and triggers nothing);
//! * candidates: plans of the same category the customer may buy and does not hold, with
//!   allowance × lines ≥ monthly usage (null allowance = unlimited);
//! * the cheapest candidate by list price is suggested when the saving
//!   `fee + average overage − lines × list price` is positive.

use std::collections::HashSet;

use super::adoption::{Assignments, OVERAGE_WINDOW_DAYS};
use super::data::{
    dates, each_row_where, floats, strs, Catalogue, Customers, IdLookup, RowCursor as Cursor,
};
use super::RecommendError;
use crate::scoring::{ProductSuggestion, SuggestionKind};
use crate::warehouse::schema::{invoice, usage};
use crate::warehouse::{Table, Warehouse};

/// The look-back window of overage and usage, in days.
pub const WINDOW_DAYS: i32 = 90;
const DAYS_PER_MONTH: f64 = 30.4375;

/// Per-customer inputs of right-sizing at one date.
pub(crate) struct PlanInputs {
    /// Current data plan and its monthly fee.
    pub current: Vec<Option<(usize, f64)>>,
    pub avg_overage: Vec<f64>,
    /// An invoice with overage in the last [`OVERAGE_WINDOW_DAYS`] (the adoption model's flag).
    pub recent_overage: Vec<bool>,
    /// Data GB per month, `None` without usage rows in the window.
    pub monthly_usage: Vec<Option<f64>>,
    /// Σ fee × margin_rate of the products held (the margin a churn would lose each month).
    pub monthly_margin: Vec<f64>,
}

impl PlanInputs {
    pub fn collect(
        wh: &Warehouse,
        cat: &Catalogue,
        customers: &Customers,
        asg: &Assignments,
        d: i32,
    ) -> Result<Self, RecommendError> {
        let n = customers.len();
        let mut current: Vec<Option<(usize, f64)>> = vec![None; n];
        let mut monthly_margin = vec![0.0; n];
        for i in 0..asg.len() {
            if !asg.active_at(i, d) {
                continue;
            }
            let c = asg.customer[i] as usize;
            let p = asg.product[i] as usize;
            let fee = asg.fee[i];
            monthly_margin[c] += fee * cat.products[p].margin_rate;
            if cat.is_plan(p) && current[c].is_none_or(|(_, f)| fee > f) {
                current[c] = Some((p, fee));
            }
        }
        let (over, usage) = rayon::join(
            || overage(wh, customers, d),
            || monthly_usage(wh, customers, d),
        );
        let (avg_overage, recent_overage) = over?;
        Ok(PlanInputs {
            current,
            avg_overage,
            recent_overage,
            monthly_usage: usage?,
            monthly_margin,
        })
    }
}

/// Mean overage over invoices dated in (d − 90, d], and whether one in (d − 62, d] had any.
fn overage(
    wh: &Warehouse,
    customers: &Customers,
    d: i32,
) -> Result<(Vec<f64>, Vec<bool>), RecommendError> {
    let df = &wh.invoices;
    let t = Table::Invoice;
    let cust = strs(df, t, invoice::CUSTOMER_ID)?;
    let date = dates(df, t, invoice::INVOICE_DATE)?;
    let over = floats(df, t, invoice::OVERAGE_AMOUNT)?;
    let mut sum = vec![0.0; customers.len()];
    let mut count = vec![0u32; customers.len()];
    let mut recent = vec![false; customers.len()];
    let mut ids = IdLookup::new(customers);
    let (mut cust, mut over) = (Cursor::new(cust), Cursor::new(over));
    each_row_where(
        date,
        |day| day <= d && day > d - WINDOW_DAYS,
        |row, day| {
            let Some(c) = cust.get(row) else { return };
            let Some(ci) = ids.get(c) else { return };
            let o = over.get(row).unwrap_or(0.0);
            sum[ci as usize] += o;
            count[ci as usize] += 1;
            if o > 0.0 && day > d - OVERAGE_WINDOW_DAYS {
                recent[ci as usize] = true;
            }
        },
    );
    let avg = sum
        .iter()
        .zip(&count)
        .map(|(s, &k)| if k > 0 { s / k as f64 } else { 0.0 })
        .collect();
    Ok((avg, recent))
}

fn monthly_usage(
    wh: &Warehouse,
    customers: &Customers,
    d: i32,
) -> Result<Vec<Option<f64>>, RecommendError> {
    let df = &wh.usage;
    let t = Table::NetworkUsage;
    let cust = strs(df, t, usage::CUSTOMER_ID)?;
    let date = dates(df, t, usage::USAGE_DATE)?;
    let gb = floats(df, t, usage::DATA_GB)?;
    let mut sum = vec![0.0; customers.len()];
    let mut rows = vec![0u32; customers.len()];
    let mut ids = IdLookup::new(customers);
    // Grain detection on up to 50 000 rows of the window.
    let mut sample_rows = 0usize;
    let mut customer_months: HashSet<(u32, i32)> = HashSet::new();
    let (mut cust, mut gb) = (Cursor::new(cust), Cursor::new(gb));
    each_row_where(
        date,
        |day| day <= d && day > d - WINDOW_DAYS,
        |row, day| {
            let Some(c) = cust.get(row) else { return };
            let Some(ci) = ids.get(c) else { return };
            sum[ci as usize] += gb.get(row).unwrap_or(0.0);
            rows[ci as usize] += 1;
            if sample_rows < 50_000 {
                sample_rows += 1;
                let month = super::data::date_of(day);
                let key =
                    chrono::Datelike::year(&month) * 12 + chrono::Datelike::month0(&month) as i32;
                customer_months.insert((ci, key));
            }
        },
    );
    let daily =
        !customer_months.is_empty() && sample_rows as f64 / customer_months.len() as f64 > 1.5;
    Ok(sum
        .iter()
        .zip(&rows)
        .map(|(s, &k)| match (k, daily) {
            (0, _) => None,
            (_, true) => Some(s * DAYS_PER_MONTH / WINDOW_DAYS as f64),
            (k, false) => Some(s / k as f64),
        })
        .collect())
}

/// A right-sizing offer for one customer.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanFit {
    pub current: usize,
    pub current_fee: f64,
    pub avg_overage: f64,
    pub monthly_usage_gb: f64,
    pub lines: f64,
    pub new_plan: usize,
    /// lines × the new plan's list price.
    pub new_fee: f64,
    /// current fee + average overage − new fee (> 0).
    pub monthly_saving: f64,
}

impl PlanFit {
    pub fn suggestion(&self, cat: &Catalogue) -> ProductSuggestion {
        let new = &cat.products[self.new_plan];
        let old = &cat.products[self.current];
        let allowance = |p: usize| {
            let a = cat.allowance(p);
            if a.is_finite() {
                format!("{a:.0} GB")
            } else {
                "unlimited".to_string()
            }
        };
        ProductSuggestion {
            product_id: new.id.clone(),
            product_name: new.name.clone(),
            category: new.category.clone(),
            kind: SuggestionKind::RightSize,
            // Monthly margin change for the business (negative: the customer pays less).
            expected_gain: self.new_fee * new.margin_rate
                - self.current_fee * old.margin_rate,
            adoption_probability: 0.0,
            monthly_saving: Some(self.monthly_saving),
            rationale: format!(
                "pays {:.2}/month overage on {} ({}, {:.1} GB/month used); {} ({}) saves {:.2}/month",
                self.avg_overage,
                old.name,
                allowance(self.current),
                self.monthly_usage_gb,
                new.name,
                allowance(self.new_plan),
                self.monthly_saving
            ),
        }
    }
}

/// The cheapest plan that fits, for customer `c` (see the module doc), or `None`.
pub(crate) fn right_size(
    cat: &Catalogue,
    inputs: &PlanInputs,
    c: usize,
    may_offer: &dyn Fn(usize) -> bool,
) -> Option<PlanFit> {
    let (current, fee) = inputs.current[c]?;
    let usage = inputs.monthly_usage[c]?;
    cheapest_fitting_plan(cat, current, fee, inputs.avg_overage[c], usage, may_offer)
}

/// The cheapest plan of `current`'s category that `may_offer` allows and whose allowance × lines
/// covers `monthly_usage_gb`, when the customer pays overage and the plan saves money.
pub fn cheapest_fitting_plan(
    cat: &Catalogue,
    current: usize,
    current_fee: f64,
    avg_overage: f64,
    monthly_usage_gb: f64,
    may_offer: &dyn Fn(usize) -> bool,
) -> Option<PlanFit> {
    // Overage on an unlimited plan is a leftover of an earlier plan: nothing to right-size.
    if avg_overage <= 0.0 || !cat.is_plan(current) || !cat.allowance(current).is_finite() {
        return None;
    }
    let list = cat.products[current].monthly_price;
    let lines = if list > 0.0 {
        (current_fee / list).round().max(1.0)
    } else {
        1.0
    };
    let category = cat.category_of[current];
    let best = (0..cat.len())
        .filter(|&p| p != current && cat.category_of[p] == category && may_offer(p))
        .filter(|&p| cat.allowance(p) * lines >= monthly_usage_gb)
        .min_by(|&a, &b| {
            cat.products[a]
                .monthly_price
                .total_cmp(&cat.products[b].monthly_price)
                .then(a.cmp(&b))
        })?;
    let new_fee = lines * cat.products[best].monthly_price;
    let saving = current_fee + avg_overage - new_fee;
    (saving > 1e-9).then_some(PlanFit {
        current,
        current_fee,
        avg_overage,
        monthly_usage_gb,
        lines,
        new_plan: best,
        new_fee,
        monthly_saving: saving,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommend::data::Product;
    use std::collections::HashMap;

    fn plan(id: &str, price: f64, gb: Option<f64>) -> Product {
        Product {
            id: id.into(),
            name: id.into(),
            category: "mobile".into(),
            monthly_price: price,
            margin_rate: 0.6,
            data_allowance_gb: gb,
            eligible_segments: None,
        }
    }

    fn catalogue() -> Catalogue {
        let mut products = vec![
            plan("S", 15.0, Some(5.0)),
            plan("M", 25.0, Some(15.0)),
            plan("L", 35.0, Some(40.0)),
            plan("UNL", 50.0, None),
        ];
        products.push(Product {
            category: "tv".into(),
            ..plan("TV", 12.0, None)
        });
        let by_id: HashMap<String, usize> = products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        Catalogue {
            by_id,
            category_of: vec![0, 0, 0, 0, 1],
            categories: vec!["mobile".into(), "tv".into()],
            plan_categories: vec![true, false],
            products,
        }
    }

    #[test]
    fn picks_the_cheapest_fitting_plan_and_states_the_saving() {
        let cat = catalogue();
        // On S (15/month, 5 GB), using 12 GB, paying 14/month overage: M (15 GB) fits and is
        // cheaper than L; saving = 15 + 14 − 25 = 4.
        let fit = cheapest_fitting_plan(&cat, 0, 15.0, 14.0, 12.0, &|_| true).expect("fit");
        assert_eq!(cat.products[fit.new_plan].id, "M");
        assert!((fit.monthly_saving - 4.0).abs() < 1e-9);
        assert_eq!(fit.lines, 1.0);
        // Using 20 GB: M does not fit, L does: 15 + 14 − 35 < 0 → no offer.
        assert!(cheapest_fitting_plan(&cat, 0, 15.0, 14.0, 20.0, &|_| true).is_none());
        // Using 20 GB with 30/month overage: L, saving 15 + 30 − 35 = 10.
        let fit = cheapest_fitting_plan(&cat, 0, 15.0, 30.0, 20.0, &|_| true).expect("fit");
        assert_eq!(cat.products[fit.new_plan].id, "L");
        assert!((fit.monthly_saving - 10.0).abs() < 1e-9);
        // 100 GB: only unlimited fits: 15 + 60 − 50 = 25.
        let fit = cheapest_fitting_plan(&cat, 0, 15.0, 60.0, 100.0, &|_| true).expect("fit");
        assert_eq!(cat.products[fit.new_plan].id, "UNL");
        assert!((fit.monthly_saving - 25.0).abs() < 1e-9);
    }

    #[test]
    fn no_offer_without_overage_or_for_ineligible_plans_or_non_plans() {
        let cat = catalogue();
        assert!(cheapest_fitting_plan(&cat, 0, 15.0, 0.0, 12.0, &|_| true).is_none());
        // M not allowed (ineligible or held): next fitting is L, 15 + 14 − 35 < 0 → none.
        assert!(cheapest_fitting_plan(&cat, 0, 15.0, 14.0, 12.0, &|p| p != 1).is_none());
        // TV is not a data plan.
        assert!(cheapest_fitting_plan(&cat, 4, 12.0, 10.0, 1.0, &|_| true).is_none());
        // Overage billed while on the unlimited plan comes from an earlier plan: no offer.
        assert!(cheapest_fitting_plan(&cat, 3, 50.0, 20.0, 10.0, &|_| true).is_none());
    }

    #[test]
    fn multi_line_customers_are_priced_per_line() {
        let cat = catalogue();
        // 4 lines of S at list price (60), 40 GB used, overage 30: M × 4 = 100 → no saving;
        // with 70 overage, M × 4 fits (60 GB ≥ 40) and saves 60 + 70 − 100 = 30.
        assert!(cheapest_fitting_plan(&cat, 0, 60.0, 30.0, 40.0, &|_| true).is_none());
        let fit = cheapest_fitting_plan(&cat, 0, 60.0, 70.0, 40.0, &|_| true).expect("fit");
        assert_eq!(fit.lines, 4.0);
        assert_eq!(cat.products[fit.new_plan].id, "M");
        assert!((fit.monthly_saving - 30.0).abs() < 1e-9);
    }
}
