//! The point-in-time rule, written once.
//!
//! Every date the features read is turned into a *day number* (days since 1970-01-01, `Int32`)
//! when the warehouse is prepared (see `prepare`), so the rule is integer comparisons against
//! the as-of day `D`:
//!
//! - a fact is [`visible`] at `D` when its date is `≤ D` (timestamps: their UTC calendar day,
//!   so anything up to the end of day `D` counts);
//! - [`in_window`] of `N` days is the `N` days ending on `D` inclusive: `(D − N, D]`;
//! - a closing event (`paid_date`, `resolved_at`, `end_date`) has [`happened_by`] `D` when it is
//!   not null and `≤ D`; otherwise, at `D`, it has [`not_yet_happened`] (the invoice is unpaid,
//!   the ticket open, the service active);
//! - a customer is [`active_at`] `D` when `signup_date ≤ D` and (`churn_date` null or `> D`).
//!
//! Every feature query calls these helpers; no other code compares a date with the as-of date.

use chrono::NaiveDate;
use polars::prelude::{col, lit, DataType, Expr};

use crate::warehouse::schema::customer;

/// An as-of date and its day number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsOf {
    pub date: NaiveDate,
    /// Days since 1970-01-01 (the physical value of a polars `Date`).
    pub day: i32,
}

impl AsOf {
    pub fn new(date: NaiveDate) -> Self {
        AsOf {
            date,
            day: day_number(date),
        }
    }

    /// The as-of `days` days earlier (e.g. `D − 90` for the trailing churn rates).
    pub fn days_before(self, days: i32) -> Self {
        let day = self.day - days;
        AsOf {
            date: self.date - chrono::Duration::days(i64::from(days)),
            day,
        }
    }

    /// The as-of `days` days later (the label horizon `D + 90`).
    pub fn days_after(self, days: i32) -> Self {
        self.days_before(-days)
    }

    /// `D` as a polars `Date` literal (the `as_of_date` column).
    pub fn date_lit(self) -> Expr {
        lit(self.day).cast(DataType::Int32).cast(DataType::Date)
    }
}

/// Days since 1970-01-01 of a date (chrono's range fits `i32` days).
pub fn day_number(date: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    // chrono dates span ±262,143 years ≈ ±96M days, well inside i32.
    (date - epoch).num_days() as i32
}

/// The fact dated in `day_col` is visible at `D`: `day ≤ D`.
/// A null date is never visible (false, not null).
pub fn visible(day_col: &str, at: AsOf) -> Expr {
    col(day_col)
        .is_not_null()
        .and(col(day_col).lt_eq(lit(at.day)))
}

/// The fact dated in `day_col` falls in the `days` days ending on `D` inclusive: `(D − days, D]`.
/// A null date is in no window (false, not null).
pub fn in_window(day_col: &str, at: AsOf, days: i32) -> Expr {
    col(day_col)
        .is_not_null()
        .and(col(day_col).gt(lit(at.day - days)))
        .and(col(day_col).lt_eq(lit(at.day)))
}

/// The closing event in `day_col` (nullable) has happened by `D`: not null and `≤ D`.
pub fn happened_by(day_col: &str, at: AsOf) -> Expr {
    col(day_col)
        .is_not_null()
        .and(col(day_col).lt_eq(lit(at.day)))
}

/// The closing event in `day_col` has not happened by `D`: null (never) or `> D` (later).
pub fn not_yet_happened(day_col: &str, at: AsOf) -> Expr {
    col(day_col).is_null().or(col(day_col).gt(lit(at.day)))
}

/// Whole days from the date in `day_col` to `D` (`D − day`), as `Float64`.
pub fn days_since(day_col: &str, at: AsOf) -> Expr {
    lit(f64::from(at.day)) - col(day_col).cast(DataType::Float64)
}

/// Whole days from `D` to the date in `day_col` (`day − D`), as `Float64`.
pub fn days_until(day_col: &str, at: AsOf) -> Expr {
    col(day_col).cast(DataType::Float64) - lit(f64::from(at.day))
}

/// The customer (a `dim_customer` row with day-number dates) is active at `D`:
/// `signup_date ≤ D` and (`churn_date` null or `> D`).
pub fn active_at(at: AsOf) -> Expr {
    visible(customer::SIGNUP_DATE, at).and(not_yet_happened(customer::CHURN_DATE, at))
}

/// The customer churned within the `days` days ending on `D`: `churn_date ∈ (D − days, D]`.
/// At `D` this reads only churns dated `≤ D`, so other customers' past churn is legitimately
/// visible (trailing churn rates).
pub fn churned_within(at: AsOf, days: i32) -> Expr {
    in_window(customer::CHURN_DATE, at, days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).expect("valid date")
    }

    #[test]
    fn day_numbers_match_polars_dates() {
        assert_eq!(day_number(d(1970, 1, 1)), 0);
        assert_eq!(day_number(d(1970, 1, 31)), 30);
        assert_eq!(day_number(d(1969, 12, 31)), -1);
        let at = AsOf::new(d(2024, 3, 31));
        assert_eq!(at.days_before(90).date, d(2024, 1, 1));
        assert_eq!(at.days_after(90).day, at.day + 90);
    }

    #[test]
    fn window_is_the_n_days_ending_on_d_inclusive() {
        let at = AsOf::new(d(2024, 3, 31));
        let days: Vec<i32> = (-2..=1)
            .map(|k| at.day - 30 + k)
            .chain([at.day, at.day + 1])
            .collect();
        let out = df!("day" => &days)
            .expect("df")
            .lazy()
            .select([
                in_window("day", at, 30).alias("w"),
                visible("day", at).alias("v"),
            ])
            .collect()
            .expect("collect");
        let w: Vec<_> = out
            .column("w")
            .expect("w")
            .bool()
            .expect("bool")
            .no_null_iter()
            .collect();
        let v: Vec<_> = out
            .column("v")
            .expect("v")
            .bool()
            .expect("bool")
            .no_null_iter()
            .collect();
        // D−32, D−31, D−30 are outside; D−29, D inside; D+1 outside.
        assert_eq!(w, [false, false, false, true, true, false]);
        assert_eq!(v, [true, true, true, true, true, false]);
    }

    #[test]
    fn closing_events_after_d_have_not_happened() {
        let at = AsOf::new(d(2024, 3, 31));
        let days = [Some(at.day - 1), Some(at.day), Some(at.day + 1), None];
        let out = df!("paid" => &days)
            .expect("df")
            .lazy()
            .select([
                happened_by("paid", at).alias("h"),
                not_yet_happened("paid", at).alias("n"),
            ])
            .collect()
            .expect("collect");
        let h: Vec<_> = out
            .column("h")
            .expect("h")
            .bool()
            .expect("bool")
            .iter()
            .collect();
        let n: Vec<_> = out
            .column("n")
            .expect("n")
            .bool()
            .expect("bool")
            .iter()
            .collect();
        assert_eq!(h, [Some(true), Some(true), Some(false), Some(false)]);
        assert_eq!(n, [Some(false), Some(false), Some(true), Some(true)]);
    }
}
