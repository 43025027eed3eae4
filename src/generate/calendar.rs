//! The simulation calendar: month `m` (0-based) of the window starts on `start + m months`.
//! Days are held as Unix epoch days (`i32`, the physical value of a polars `Date`), so the hot
//! loop never touches chrono.

use chrono::{Months, NaiveDate};

/// Unix epoch day of a date.
pub fn epoch_day(d: NaiveDate) -> i32 {
    (d - NaiveDate::default()).num_days() as i32
}

/// The date of a Unix epoch day.
pub fn date_of(day: i32) -> NaiveDate {
    NaiveDate::default()
        .checked_add_signed(chrono::TimeDelta::days(i64::from(day)))
        .unwrap_or(NaiveDate::MAX)
}

/// `d` plus `n` calendar months (day clamped to the month's length, e.g. 31 Jan + 1 = 28 Feb).
pub fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(Months::new(n))
        .unwrap_or(NaiveDate::MAX)
}

/// `d` minus `n` calendar months.
pub fn sub_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_sub_months(Months::new(n))
        .unwrap_or(NaiveDate::MIN)
}

/// Month boundaries of the window, from a few months before it to a few after (the truth looks
/// three months ahead).
#[derive(Debug, Clone)]
pub struct Calendar {
    start: NaiveDate,
    months: i32,
    /// `first[i]` = epoch day of the first day of month `i - PAD`.
    first: Vec<i32>,
}

/// Months held before month 0 and after the last month.
const PAD: i32 = 4;

impl Calendar {
    pub fn new(start: NaiveDate, months: u32) -> Self {
        let months = months as i32;
        let first = (-PAD..=months + PAD)
            .map(|m| {
                let d = if m < 0 {
                    sub_months(start, m.unsigned_abs())
                } else {
                    add_months(start, m as u32)
                };
                epoch_day(d)
            })
            .collect();
        Calendar {
            start,
            months,
            first,
        }
    }

    /// Number of simulated months.
    pub fn months(&self) -> i32 {
        self.months
    }

    /// Epoch day of the first day of month `m` (`-4 ≤ m ≤ months + 4`).
    pub fn first_day(&self, m: i32) -> i32 {
        let i = (m + PAD).clamp(0, self.first.len() as i32 - 1) as usize;
        self.first[i]
    }

    /// Epoch day of the last day of month `m`.
    pub fn last_day(&self, m: i32) -> i32 {
        self.first_day(m + 1) - 1
    }

    /// Number of days in month `m`.
    pub fn days_in(&self, m: i32) -> i32 {
        self.first_day(m + 1) - self.first_day(m)
    }

    /// The last date the export covers: the last day of the last simulated month.
    pub fn observed_until(&self) -> i32 {
        self.last_day(self.months - 1)
    }

    /// The month index holding epoch day `day` (may be negative, before the window).
    pub fn month_of(&self, day: i32) -> i32 {
        let d = date_of(day);
        let s = self.start;
        use chrono::Datelike;
        (d.year() - s.year()) * 12 + d.month() as i32 - s.month() as i32
    }

    /// `YYYY-MM` of month `m` (for campaign ids).
    pub fn label(&self, m: i32) -> String {
        date_of(self.first_day(m)).format("%Y-%m").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    #[test]
    fn month_boundaries_follow_the_calendar() {
        let cal = Calendar::new(d(2023, 1, 1), 24);
        assert_eq!(date_of(cal.first_day(0)), d(2023, 1, 1));
        assert_eq!(date_of(cal.last_day(1)), d(2023, 2, 28));
        assert_eq!(cal.days_in(13), 29); // February 2024
        assert_eq!(date_of(cal.last_day(-1)), d(2022, 12, 31));
        assert_eq!(date_of(cal.observed_until()), d(2024, 12, 31));
        assert_eq!(cal.month_of(epoch_day(d(2024, 3, 5))), 14);
        assert_eq!(cal.month_of(epoch_day(d(2022, 11, 30))), -2);
        assert_eq!(cal.label(14), "2024-03");
    }

    #[test]
    fn epoch_days_round_trip() {
        assert_eq!(epoch_day(d(1970, 1, 2)), 1);
        assert_eq!(date_of(epoch_day(d(2024, 2, 29))), d(2024, 2, 29));
        assert_eq!(add_months(d(2023, 1, 31), 1), d(2023, 2, 28));
    }
}
