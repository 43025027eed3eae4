//! Turning one column of a file into its contract dtype.
//!
//! Text (every CSV column, and string columns in Parquet) is parsed value by value with the
//! contract's rules; typed Parquet columns are converted with vectorised casts. Either way the
//! result is a [`Parsed`] column: the canonical series (null where the file had no value *or* a
//! value that does not parse) and a mask of where the file had a value at all, so the validator
//! can tell "missing" from "unparseable" without keeping the text around.
//!
//! Text rules: surrounding whitespace is trimmed and an empty field is null. Dates are
//! `YYYY-MM-DD`; timestamps ISO 8601 (`T` or space, optional fraction up to 9 digits, optional
//! `Z` / `±HH:MM` / `±HHMM` / `±HH`, normalised to UTC; a bare date is midnight UTC) or integer
//! Unix epoch seconds; numbers use `.` and must be finite; whole numbers may be written `4.0`;
//! booleans are `true`/`false`/`1`/`0` in any case.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime};
use polars::prelude::*;

use super::schema::Kind;

/// Microseconds in one day.
const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// A column converted to its contract dtype.
pub(crate) struct Parsed {
    /// Canonical dtype ([`Kind::dtype`]), named after the contract column; null where the
    /// file had no value or a value that does not parse.
    pub series: Series,
    /// True where the file had a value (non-null, and for text non-empty after trimming).
    pub present: BooleanChunked,
    /// Whether the values came from text (CSV, or a Parquet string column): only then can a
    /// column in which no value parses be blamed on the column rather than on its rows.
    pub from_text: bool,
}

impl Parsed {
    /// Rows where the file had a value that did not parse.
    pub fn unparseable(&self) -> BooleanChunked {
        &self.present & &self.series.is_null()
    }
}

/// Whether a Parquet column of `dtype` can hold values of `kind` (strings can hold anything:
/// they are parsed like CSV; an all-null column can hold anything too).
pub(crate) fn accepts(dtype: &DataType, kind: Kind) -> bool {
    if matches!(dtype, DataType::String | DataType::Null) {
        return true;
    }
    match kind {
        Kind::Str => dtype.is_integer(),
        Kind::Date => matches!(dtype, DataType::Date | DataType::Datetime(..)),
        Kind::Timestamp => {
            matches!(dtype, DataType::Date | DataType::Datetime(..)) || dtype.is_integer()
        }
        Kind::Float | Kind::Int => dtype.is_integer() || dtype.is_float(),
        Kind::Bool => matches!(dtype, DataType::Boolean) || dtype.is_integer(),
    }
}

/// Parses a text column as `kind`.
pub(crate) fn parse_text(ca: &StringChunked, kind: Kind) -> Parsed {
    let name = ca.name().clone();
    if kind == Kind::Str {
        // Text stays text: usually nothing needs trimming and the column is used as is.
        let series = trim_strings(ca);
        let present = series.is_not_null();
        return Parsed {
            series: series.with_name(name.clone()).into_series(),
            present: present.with_name(name),
            from_text: true,
        };
    }
    let mut present = Vec::with_capacity(ca.len());
    let mut values = ca.iter().map(|v| {
        let t = trimmed(v);
        present.push(t.is_some());
        t
    });
    let series = match kind {
        Kind::Date => {
            let out: Int32Chunked = values.by_ref().map(|v| v.and_then(parse_date)).collect();
            out.into_date().into_series()
        }
        Kind::Timestamp => {
            let out: Int64Chunked = values
                .by_ref()
                .map(|v| v.and_then(parse_timestamp))
                .collect();
            out.into_datetime(TimeUnit::Microseconds, None)
                .into_series()
        }
        Kind::Float => {
            let out: Float64Chunked = values.by_ref().map(|v| v.and_then(parse_float)).collect();
            out.into_series()
        }
        Kind::Int => {
            let out: Int64Chunked = values.by_ref().map(|v| v.and_then(parse_int)).collect();
            out.into_series()
        }
        // (`Str` returned above.)
        Kind::Bool | Kind::Str => {
            let out: BooleanChunked = values.by_ref().map(|v| v.and_then(parse_bool)).collect();
            out.into_series()
        }
    };
    drop(values);
    Parsed {
        series: series.with_name(name.clone()),
        present: BooleanChunked::from_slice(name, &present),
        from_text: true,
    }
}

/// Converts a typed (Parquet) column to `kind`; `Ok(None)` when its dtype cannot hold the kind
/// (see [`accepts`]).
pub(crate) fn convert_typed(s: &Series, kind: Kind) -> PolarsResult<Option<Parsed>> {
    let name = s.name().clone();
    let dtype = s.dtype().clone();
    if dtype == DataType::String {
        return Ok(Some(parse_text(s.str()?, kind)));
    }
    if !accepts(&dtype, kind) {
        return Ok(None);
    }
    let present = s.is_not_null();
    let series = if dtype == DataType::Null {
        Series::full_null(name.clone(), s.len(), &kind.dtype())
    } else {
        match kind {
            Kind::Str => s.cast(&DataType::String)?,
            Kind::Date => match dtype {
                DataType::Datetime(unit, _) => {
                    let per_day = ticks_per_day(unit);
                    let phys = &s.datetime()?.phys;
                    let days: Int32Chunked = phys
                        .iter()
                        .map(|v| v.and_then(|v| i32::try_from(v.div_euclid(per_day)).ok()))
                        .collect();
                    days.into_date().into_series()
                }
                _ => s.clone(),
            },
            Kind::Timestamp => timestamp_from_typed(s)?,
            Kind::Float => finite_only(&s.cast(&DataType::Float64)?)?,
            Kind::Int => {
                if dtype.is_float() {
                    let f = s.cast(&DataType::Float64)?;
                    let out: Int64Chunked = f.f64()?.iter().map(|v| v.and_then(whole)).collect();
                    out.into_series()
                } else {
                    s.cast(&DataType::Int64)?
                }
            }
            Kind::Bool => {
                if dtype == DataType::Boolean {
                    s.clone()
                } else {
                    let i = s.cast(&DataType::Int64)?;
                    let out: BooleanChunked = i
                        .i64()?
                        .iter()
                        .map(|v| match v {
                            Some(0) => Some(false),
                            Some(1) => Some(true),
                            _ => None,
                        })
                        .collect();
                    out.into_series()
                }
            }
        }
    };
    Ok(Some(Parsed {
        series: series.with_name(name.clone()),
        present: present.with_name(name),
        from_text: false,
    }))
}

/// Why `raw` (a value the file had) is not a valid value of `kind`, e.g.
/// "expected a number, got `12,5`".
pub(crate) fn explain_unparseable(kind: Kind, raw: &str) -> String {
    let t = raw.trim();
    match kind {
        Kind::Float if t.parse::<f64>().is_ok_and(|v| !v.is_finite()) => {
            format!("expected a number, got `{raw}` (NaN and infinity are not accepted)")
        }
        Kind::Int if t.parse::<f64>().is_ok_and(f64::is_finite) => {
            format!("expected a whole number, got `{raw}` (not whole, or too large)")
        }
        _ => format!("expected {}, got `{raw}`", kind.describe()),
    }
}

/// A column rendered as text for a quarantine file, so that a person can fix a row and feed it
/// back: strings as they were, dates `YYYY-MM-DD`, timestamps ISO 8601 in UTC with `Z`.
pub(crate) fn to_text(s: &Series) -> PolarsResult<Series> {
    match s.dtype() {
        DataType::String => Ok(s.clone()),
        DataType::Datetime(unit, _) => {
            let scale = unit_scale(*unit);
            let out: StringChunked = s
                .datetime()?
                .phys
                .iter()
                .map(|v| v.map(|v| format_instant(v, scale)))
                .collect();
            Ok(out.with_name(s.name().clone()).into_series())
        }
        _ => s.cast(&DataType::String),
    }
}

/// A value with surrounding whitespace removed; `None` for null and for empty text.
fn trimmed(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|t| !t.is_empty())
}

/// Trims every value and turns empty text into null; returns the input unchanged (no copy)
/// when nothing needs trimming, the common case for a large clean export.
fn trim_strings(ca: &StringChunked) -> StringChunked {
    let clean = if ca.null_count() == 0 {
        ca.downcast_iter()
            .all(|arr| arr.values_iter().all(is_clean))
    } else {
        ca.iter().all(|v| v.is_none_or(is_clean))
    };
    if clean {
        return ca.clone();
    }
    ca.iter().map(trimmed).collect::<StringChunked>()
}

/// Whether text is non-empty and has no surrounding whitespace (so trimming leaves it as is).
/// Looks at the first and last byte only, unless one of them is not ASCII.
fn is_clean(s: &str) -> bool {
    // `str::trim`'s ASCII whitespace (`u8::is_ascii_whitespace` omits the vertical tab).
    let space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r');
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&f), Some(&l)) if f.is_ascii() && l.is_ascii() => !space(f) && !space(l),
        (Some(_), Some(_)) => s.trim().len() == s.len(),
        _ => false,
    }
}

/// Floats with NaN and ±infinity turned into null (they are not numbers the contract accepts).
fn finite_only(s: &Series) -> PolarsResult<Series> {
    let ca = s.f64()?;
    let finite = if ca.null_count() == 0 {
        ca.downcast_iter()
            .all(|arr| arr.values().iter().all(|f| f.is_finite()))
    } else {
        ca.iter().all(|v| v.is_none_or(f64::is_finite))
    };
    if finite {
        return Ok(s.clone());
    }
    let out: Float64Chunked = ca.iter().map(|v| v.filter(|f| f.is_finite())).collect();
    Ok(out.into_series())
}

/// A float that is a whole number within `i64`, as an `i64`.
fn whole(v: f64) -> Option<i64> {
    // 2^63 is exactly representable; every f64 below it in magnitude fits in i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (v.is_finite() && v.fract() == 0.0 && v.abs() < LIMIT).then_some(v as i64)
}

/// Sub-second digits of a time unit: 3 (ms), 6 (µs), 9 (ns).
fn unit_scale(unit: TimeUnit) -> u32 {
    match unit {
        TimeUnit::Milliseconds => 3,
        TimeUnit::Microseconds => 6,
        TimeUnit::Nanoseconds => 9,
    }
}

/// Ticks of a time unit in one day.
fn ticks_per_day(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Milliseconds => MICROS_PER_DAY / 1000,
        TimeUnit::Microseconds => MICROS_PER_DAY,
        TimeUnit::Nanoseconds => MICROS_PER_DAY * 1000,
    }
}

/// A Datetime/Date/integer column as UTC microseconds (`Datetime(µs, None)`). Datetime values
/// are instants already (Parquet stores UTC whatever the zone label), integers are epoch
/// seconds, dates are midnight UTC. Values out of range become null.
fn timestamp_from_typed(s: &Series) -> PolarsResult<Series> {
    let micros: Int64Chunked = match s.dtype() {
        DataType::Datetime(TimeUnit::Microseconds, _) => s.datetime()?.phys.clone(),
        DataType::Datetime(TimeUnit::Milliseconds, _) => s
            .datetime()?
            .phys
            .iter()
            .map(|v| v.and_then(|v| v.checked_mul(1000)))
            .collect(),
        DataType::Datetime(TimeUnit::Nanoseconds, _) => s
            .datetime()?
            .phys
            .iter()
            .map(|v| v.map(|v| v.div_euclid(1000)))
            .collect(),
        DataType::Date => s
            .date()?
            .phys
            .iter()
            .map(|v| v.map(|d| i64::from(d) * MICROS_PER_DAY))
            .collect(),
        _ => {
            let secs = s.cast(&DataType::Int64)?;
            secs.i64()?
                .iter()
                .map(|v| v.and_then(|v| v.checked_mul(1_000_000)))
                .collect()
        }
    };
    Ok(micros
        .into_datetime(TimeUnit::Microseconds, None)
        .into_series())
}

/// An instant given in ticks of `scale` sub-second digits, as ISO 8601 UTC text.
fn format_instant(ticks: i64, scale: u32) -> String {
    let dt = match scale {
        3 => DateTime::from_timestamp_millis(ticks),
        9 => Some(DateTime::from_timestamp_nanos(ticks)),
        _ => DateTime::from_timestamp_micros(ticks),
    };
    match dt {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string(),
        None => ticks.to_string(),
    }
}

/// Days since 1970-01-01 of a calendar date.
pub(crate) fn days_since_epoch(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE
}

/// The calendar date `days` after 1970-01-01.
pub(crate) fn date_from_days(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(UNIX_EPOCH_DAYS_FROM_CE)?)
}

/// `n` ASCII digits as a number.
fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
}

/// A strict `YYYY-MM-DD` date.
fn parse_ymd(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = digits(&b[0..4])?;
    let m = digits(&b[5..7])?;
    let d = digits(&b[8..10])?;
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

/// A `YYYY-MM-DD` date as days since 1970-01-01.
pub(crate) fn parse_date(s: &str) -> Option<i32> {
    parse_ymd(s.as_bytes()).map(days_since_epoch)
}

/// A timestamp as UTC microseconds since the epoch (see the module docs for the formats).
pub(crate) fn parse_timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let unsigned = b.strip_prefix(b"-").unwrap_or(b);
    if !unsigned.is_empty() && unsigned.iter().all(u8::is_ascii_digit) {
        let secs: i64 = s.parse().ok()?;
        // Keep within what chrono (and so every later date computation) can represent.
        DateTime::from_timestamp(secs, 0)?;
        return secs.checked_mul(1_000_000);
    }
    if b.len() < 10 {
        return None;
    }
    let date = parse_ymd(&b[..10])?;
    if b.len() == 10 {
        return Some(i64::from(days_since_epoch(date)) * MICROS_PER_DAY);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let h = digits(&b[11..13])?;
    let m = digits(&b[14..16])?;
    let sec = digits(&b[17..19])?;
    let mut rest = &b[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        nanos = digits(&frac[..n])? * 10u32.pow(9 - n as u32);
        rest = &frac[n..];
    }
    let offset_secs = parse_offset(rest)?;
    let time = NaiveTime::from_hms_nano_opt(h, m, sec, nanos)?;
    let utc = date.and_time(time).and_utc().timestamp_micros();
    utc.checked_sub(offset_secs * 1_000_000)
}

/// A UTC offset suffix in seconds: empty or `Z` (0), `±HH:MM`, `±HHMM`, `±HH`.
fn parse_offset(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b == b"Z" || b == b"z" {
        return Some(0);
    }
    let sign = match b[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let r = &b[1..];
    let (h, m) = match r.len() {
        2 => (digits(r)?, 0),
        4 => (digits(&r[..2])?, digits(&r[2..])?),
        5 if r[2] == b':' => (digits(&r[..2])?, digits(&r[3..])?),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * i64::from(h * 3600 + m * 60))
}

/// A finite decimal number (`.` as the decimal point, exponent allowed).
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    // Rust's parser also takes "inf", "NaN" and "infinity": the contract does not.
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A whole number; `4.0` (as written by tools that store integers with nulls as floats) is 4.
pub(crate) fn parse_int(s: &str) -> Option<i64> {
    s.parse::<i64>()
        .ok()
        .or_else(|| parse_float(s).and_then(whole))
}

/// `true`/`false`/`1`/`0`, case-insensitive.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s == "1" || s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s == "0" || s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s)
            .expect("valid rfc3339 in test")
            .timestamp_micros()
    }

    #[test]
    fn timestamp_formats_give_the_same_instant() {
        let want = micros("2024-03-01T10:00:00Z");
        for s in [
            "2024-03-01T10:00:00Z",
            "2024-03-01T10:00:00",
            "2024-03-01 10:00:00",
            "2024-03-01 12:00:00+02:00",
            "2024-03-01T12:00:00+0200",
            "2024-03-01T12:00:00+02",
            "2024-03-01T05:30:00-04:30",
            "2024-03-01t10:00:00z",
            "2024-03-01T10:00:00.000000000Z",
            "1709287200",
        ] {
            assert_eq!(parse_timestamp(s), Some(want), "{s}");
        }
    }

    #[test]
    fn timestamp_fraction_and_bare_date() {
        assert_eq!(
            parse_timestamp("2024-03-01T10:00:00.5Z"),
            Some(micros("2024-03-01T10:00:00.5Z"))
        );
        assert_eq!(
            parse_timestamp("2024-03-01T10:00:00.123456789"),
            Some(micros("2024-03-01T10:00:00.123456Z"))
        );
        assert_eq!(
            parse_timestamp("2024-03-01"),
            Some(micros("2024-03-01T00:00:00Z"))
        );
        assert_eq!(parse_timestamp("-86400"), Some(-86_400_000_000));
    }

    #[test]
    fn bad_timestamps_are_rejected() {
        for s in [
            "2024-03-01T10:00",
            "2024-03-01T25:00:00",
            "2024-02-30T10:00:00",
            "2024-03-01T10:00:00.",
            "2024-03-01T10:00:00.1234567891",
            "2024-03-01T10:00:00+2:00",
            "2024-03-01T10:00:00+24:00",
            "01/03/2024 10:00",
            "1709287200.5",
            "99999999999999999",
            "",
        ] {
            assert_eq!(parse_timestamp(s), None, "{s}");
        }
    }

    #[test]
    fn dates_are_strict_iso() {
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(
            parse_date("2024-02-29").and_then(date_from_days),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        for s in [
            "2023-02-29",
            "2024-3-01",
            "01/03/2024",
            "2024-03-01T00:00:00",
            "20240301",
        ] {
            assert_eq!(parse_date(s), None, "{s}");
        }
    }

    #[test]
    fn numbers_reject_comma_nan_and_infinity() {
        assert_eq!(parse_float("12.5"), Some(12.5));
        assert_eq!(parse_float("1e3"), Some(1000.0));
        assert_eq!(parse_float("-3"), Some(-3.0));
        for s in ["12,5", "NaN", "nan", "inf", "-Infinity", "abc"] {
            assert_eq!(parse_float(s), None, "{s}");
        }
        assert_eq!(parse_int("4"), Some(4));
        assert_eq!(parse_int("4.0"), Some(4));
        assert_eq!(parse_int("4.5"), None);
        assert!(explain_unparseable(Kind::Float, "NaN").contains("NaN and infinity"));
        assert_eq!(
            explain_unparseable(Kind::Float, "12,5"),
            "expected a number, got `12,5`"
        );
    }

    #[test]
    fn booleans_accept_words_and_digits_in_any_case() {
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("False"), Some(false));
        assert_eq!(parse_bool("1"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }

    #[test]
    fn text_columns_trim_and_treat_empty_as_null() {
        let ca = StringChunked::new(
            "x".into(),
            [Some(" a "), Some(""), Some("  "), None, Some("b")],
        );
        let p = parse_text(&ca, Kind::Str);
        let got: Vec<Option<&str>> = p.series.str().expect("str").iter().collect();
        assert_eq!(got, [Some("a"), None, None, None, Some("b")]);
        let present: Vec<Option<bool>> = p.present.iter().collect();
        assert_eq!(
            present,
            [
                Some(true),
                Some(false),
                Some(false),
                Some(false),
                Some(true)
            ]
        );
    }

    #[test]
    fn clean_text_check_agrees_with_trim() {
        for s in [
            "a",
            "ab c",
            " a",
            "a ",
            "\ta",
            "a\x0B",
            "\u{a0}a",
            "a\u{2003}",
            "é",
            "",
            " ",
        ] {
            assert_eq!(is_clean(s), !s.is_empty() && s.trim() == s, "{s:?}");
        }
        let ca = StringChunked::new("x".into(), [Some("a"), None, Some("b\u{a0}")]);
        let trimmed = trim_strings(&ca);
        let got: Vec<Option<&str>> = trimmed.iter().collect();
        assert_eq!(got, [Some("a"), None, Some("b")]);
    }

    #[test]
    fn typed_columns_convert_or_refuse() {
        let floats = Series::new("f".into(), [1.0f64, 2.5, f64::NAN]);
        let p = convert_typed(&floats, Kind::Int)
            .expect("ok")
            .expect("accepted");
        let got: Vec<Option<i64>> = p.series.i64().expect("i64").iter().collect();
        assert_eq!(got, [Some(1), None, None]);
        assert_eq!(p.unparseable().num_trues(), 2);

        let p = convert_typed(&floats, Kind::Float)
            .expect("ok")
            .expect("accepted");
        assert_eq!(p.series.null_count(), 1);

        let bools = Series::new("b".into(), [true, false]);
        assert!(convert_typed(&bools, Kind::Float).expect("ok").is_none());
        assert!(convert_typed(&floats, Kind::Date).expect("ok").is_none());

        let secs = Series::new("t".into(), [1_709_287_200i64]);
        let p = convert_typed(&secs, Kind::Timestamp)
            .expect("ok")
            .expect("accepted");
        assert_eq!(
            p.series.datetime().expect("dt").phys.get(0),
            Some(micros("2024-03-01T10:00:00Z"))
        );
    }
}
