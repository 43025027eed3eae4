//! The contract term running at an as-of date, recovered from the snapshot in dim_customer.
//!
//! `dim_customer` is a snapshot taken at the export date: its `contract_end_date` is the end of
//! the term running *then* (for a churned customer: at the churn date). A customer whose term
//! ended after `D` and renewed before the export shows the *renewed* end date, so reading the
//! column as it is at `D` reveals a renewal signed after `D` (a leak: renewing customers look as
//! if they were mid-term at `D`, non-renewers as if they were in their renewal window).
//!
//! Term contracts renew for whole terms of the same type (`one_year` 12 months, `two_year` 24;
//! see [`super::CONTRACT_TERMS`]), so the term running at `D` is found by stepping back whole
//! terms from the snapshot end `E` to the earliest term end that is still on or after `D`:
//!
//! - `E` null → null (no contract end: month-to-month or unknown);
//! - `E < D` → `E` (the contract had already ended at `D`; nothing later can be inferred);
//! - a contract type without a known term length (month-to-month with an end date, or a type
//!   the encodings do not know) → `E` as it is (there is no term to step back by);
//! - otherwise the earliest `E − k·term` (`k ≥ 0`, calendar months) that is `≥ D`. When `E` lies
//!   on the signup grid (`E = signup + K·term`), the steps are taken on that grid,
//!   `signup + (K − k)·term`, so month-end clamping (a signup on the 29th–31st) gives the same
//!   dates as counting forward from the signup.
//!
//! A renewal after `D` moves `E` by whole terms and so leaves the result unchanged: this is the
//! property the mutation test in `tests/features_pit.rs` checks.

use chrono::{Datelike, Months, NaiveDate};
use polars::prelude::{Column, DataFrame, DataType, PolarsResult};

use super::customer_frame::CONTRACT_TERMS;
use super::pit::{day_number, AsOf};
use crate::warehouse::schema::customer;

/// The date of a day number (the inverse of [`day_number`]).
fn date_of(day: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::Duration::days(i64::from(day)))
}

/// A month count on year and month only: `month_index(b) − month_index(a)` is the number of
/// calendar months from `a` to `b`.
fn month_index(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

fn add_months(d: NaiveDate, months: i64) -> Option<NaiveDate> {
    if months >= 0 {
        d.checked_add_months(Months::new(u32::try_from(months).ok()?))
    } else {
        d.checked_sub_months(Months::new(u32::try_from(-months).ok()?))
    }
}

/// The term length in months of a contract type (None: no term, or unknown type).
pub fn term_months(contract_type: Option<&str>) -> Option<u32> {
    let name = contract_type?;
    CONTRACT_TERMS
        .iter()
        .find(|(t, _)| *t == name)
        .map(|(_, months)| *months as u32)
        .filter(|m| *m > 0)
}

/// The end of the contract term running at `as_of` (all dates as day numbers); see the module
/// documentation for the rule.
pub fn term_end_at(
    signup: Option<i32>,
    snapshot_end: Option<i32>,
    term: Option<u32>,
    as_of: i32,
) -> Option<i32> {
    let end_day = snapshot_end?;
    let Some(term) = term else {
        return Some(end_day);
    };
    if end_day < as_of {
        return Some(end_day);
    }
    let (Some(end), Some(d)) = (date_of(end_day), date_of(as_of)) else {
        return Some(end_day);
    };
    let term = i64::from(term);
    // The grid the ends lie on: `anchor + n·term` for `n_min ≤ n ≤ n_end` (on the signup grid
    // the first term ends at `signup + term`, n = 1).
    let (anchor, n_min, n_end) = match signup.and_then(date_of) {
        Some(s) => {
            let months = month_index(end) - month_index(s);
            let k = months / term;
            if months > 0 && months % term == 0 && add_months(s, months) == Some(end) {
                (s, 1, k)
            } else {
                (end, i64::MIN, 0)
            }
        }
        None => (end, i64::MIN, 0),
    };
    let end_at = |n: i64| add_months(anchor, n * term);
    // Estimate the number of whole terms between D and E, then settle on the earliest end ≥ D.
    let mut n = (n_end - ((month_index(end) - month_index(d)) / term).max(0)).max(n_min);
    while n < n_end && end_at(n).is_none_or(|e| e < d) {
        n += 1;
    }
    while n > n_min && end_at(n - 1).is_some_and(|e| e >= d) {
        n -= 1;
    }
    Some(end_at(n).map_or(end_day, day_number))
}

/// dim_customer (prepared: `signup_date` and `contract_end_date` as Int32 day numbers) with
/// `contract_end_date` replaced by the end of the term running at `D` (still a day number).
pub fn with_term_end(customers: &DataFrame, at: AsOf) -> PolarsResult<DataFrame> {
    let signup = customers
        .column(customer::SIGNUP_DATE)?
        .cast(&DataType::Int32)?;
    let end = customers
        .column(customer::CONTRACT_END_DATE)?
        .cast(&DataType::Int32)?;
    let kind = customers.column(customer::CONTRACT_TYPE)?;
    let (signup, end, kind) = (signup.i32()?, end.i32()?, kind.str()?);
    let days: Vec<Option<i32>> = signup
        .iter()
        .zip(end.iter())
        .zip(kind.iter())
        .map(|((s, e), k)| term_end_at(s, e, term_months(k), at.day))
        .collect();
    let mut out = customers.clone();
    out.with_column(Column::new(customer::CONTRACT_END_DATE.into(), days))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> i32 {
        day_number(NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date"))
    }

    fn at(signup: &str, end: &str, term: u32, as_of: &str) -> String {
        let got =
            term_end_at(Some(day(signup)), Some(day(end)), Some(term), day(as_of)).expect("an end");
        date_of(got).expect("date").to_string()
    }

    /// `(signup, snapshot end, term months, D, expected term end at D)`.
    fn check(cases: &[(&str, &str, u32, &str, &str)]) {
        for &(signup, end, term, as_of, want) in cases {
            assert_eq!(
                at(signup, end, term, as_of),
                want,
                "signup {signup}, end {end}, {term}-month terms, D {as_of}"
            );
        }
    }

    #[test]
    fn steps_back_whole_terms_to_the_term_running_at_d() {
        check(&[
            // One-year terms from 2021-03-10: ends 2022-03-10, 2023-03-10, 2024-03-10, 2025-03-10.
            ("2021-03-10", "2025-03-10", 12, "2023-06-30", "2024-03-10"),
            ("2021-03-10", "2025-03-10", 12, "2024-03-10", "2024-03-10"),
            ("2021-03-10", "2025-03-10", 12, "2024-03-11", "2025-03-10"),
            ("2021-03-10", "2025-03-10", 12, "2021-03-10", "2022-03-10"),
            // Two-year terms.
            ("2020-01-01", "2026-01-01", 24, "2023-05-01", "2024-01-01"),
        ]);
    }

    #[test]
    fn month_end_signups_step_on_the_signup_grid() {
        check(&[
            // Signup on 29 Feb: ends 2021-02-28, 2022-02-28, 2023-02-28, 2024-02-29, 2025-02-28.
            ("2020-02-29", "2025-02-28", 12, "2024-01-01", "2024-02-29"),
            ("2020-02-29", "2025-02-28", 12, "2022-12-01", "2023-02-28"),
            // Signup on 31 Jan, two-year terms: 2023-01-31, 2025-01-31.
            ("2021-01-31", "2025-01-31", 24, "2022-06-30", "2023-01-31"),
        ]);
    }

    #[test]
    fn an_end_off_the_signup_grid_steps_back_from_itself() {
        check(&[
            // The contract started later than the signup: step back from the end date.
            ("2020-01-15", "2024-08-15", 12, "2023-06-30", "2023-08-15"),
            ("2020-01-15", "2024-08-15", 12, "2024-06-30", "2024-08-15"),
        ]);
    }

    #[test]
    fn ended_null_and_termless_contracts_are_kept() {
        // Ended before D: the snapshot end stays (out of contract at D).
        check(&[("2020-01-01", "2023-01-01", 12, "2023-06-30", "2023-01-01")]);
        assert_eq!(term_end_at(Some(1), None, Some(12), 100), None);
        assert_eq!(term_end_at(Some(1), Some(500), None, 100), Some(500));
        assert_eq!(term_months(Some("month_to_month")), None);
        assert_eq!(term_months(Some("one_year")), Some(12));
        assert_eq!(term_months(Some("two_year")), Some(24));
        assert_eq!(term_months(Some("ten_year")), None);
        assert_eq!(term_months(None), None);
    }

    #[test]
    fn a_renewal_after_d_does_not_move_the_term_at_d() {
        let d = day("2024-06-30");
        for (signup, end) in [("2022-08-15", "2024-08-15"), ("2022-01-15", "2024-08-15")] {
            let base = term_end_at(Some(day(signup)), Some(day(end)), Some(12), d);
            for k in 1..5 {
                let renewed = add_months(date_of(day(end)).expect("date"), 12 * k)
                    .map(day_number)
                    .expect("renewed");
                assert_eq!(
                    term_end_at(Some(day(signup)), Some(renewed), Some(12), d),
                    base,
                    "{signup} {end} renewed {k}×"
                );
            }
        }
    }
}
