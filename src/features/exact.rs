//! Aggregation helpers whose results do not depend on row order, chunking or thread count.
//!
//! Floating-point sums depend on the order of the additions, and polars' parallel group-by adds
//! in an order that depends on how the (filtered) rows happen to be chunked. Two runs over the
//! same visible facts could then differ in the last bit — enough to break "training and serving
//! compute bit-identical features". So amounts are summed as integers: each value is rounded to
//! an `Int64` count of 10⁻⁶ units ([`units`]), the integer sum is exact in any order, and the
//! total is converted back once. Counts are summed as integers too. Means are exact sums divided
//! by exact counts. Min / max are order-independent already.
//!
//! Limits: values are rounded to 10⁻⁶ (far below any feature's meaning), and a per-customer sum
//! must stay under ≈ 9.2·10¹² (e.g. currency units) to fit `Int64`.

use polars::prelude::*;

/// Fixed-point scale of [`units`].
pub const SCALE: f64 = 1e6;

pub fn null_f64() -> Expr {
    lit(NULL).cast(DataType::Float64)
}

fn null_i64() -> Expr {
    lit(NULL).cast(DataType::Int64)
}

/// A Float64 value as an exact `Int64` count of 10⁻⁶ units.
pub fn units(value: Expr) -> Expr {
    (value.cast(DataType::Float64) * lit(SCALE))
        .round(0, RoundMode::HalfToEven)
        .cast(DataType::Int64)
}

/// [`units`] of `value` where `pred` holds, null elsewhere (aggregations skip nulls).
pub fn masked_units(pred: Expr, value: Expr) -> Expr {
    when(pred).then(units(value)).otherwise(null_i64())
}

/// `value` (any numeric, kept as Float64) where `pred` holds, null elsewhere; for min / max.
pub fn masked(pred: Expr, value: Expr) -> Expr {
    when(pred)
        .then(value.cast(DataType::Float64))
        .otherwise(null_f64())
}

/// `1` where `pred` holds, `0` where it does not (Int64, for [`count`]).
pub fn flag(pred: Expr) -> Expr {
    pred.cast(DataType::Int64)
}

/// One aggregation of [`aggregate`]. Inputs are columns made by [`masked_units`] (`Total`,
/// `TotalOrNull`, `Mean`), [`flag`] (`Count`) or anything ordered (`Max`, `Min`); every output
/// is Float64.
#[derive(Debug, Clone, Copy)]
pub enum Agg<'a> {
    /// Sum, `0` when there is nothing to sum (output keeps the input's name).
    Total(&'a str),
    /// Sum, null when there is nothing to sum (output keeps the input's name).
    TotalOrNull(&'a str),
    /// Number of `1`s of a flag (output keeps the input's name).
    Count(&'a str),
    /// Mean, null when there is nothing to average.
    Mean { input: &'a str, output: &'a str },
    /// Largest value, null when none.
    Max { input: &'a str, output: &'a str },
    /// Smallest value, null when none.
    Min { input: &'a str, output: &'a str },
}

/// The name of the non-null count kept beside a mean's sum.
fn count_name(name: &str) -> String {
    format!("{name}__count")
}

/// The group sum of a [`masked_units`] column and its non-null count (named [`count_name`]).
fn sum_and_count(name: &str) -> [Expr; 2] {
    [
        col(name).sum(),
        col(name).count().alias(count_name(name).as_str()),
    ]
}

/// From the aggregates of [`sum_and_count`]: the sum as Float64 (divided by the count when
/// `per_item`, i.e. the mean), null when the group had no non-null value.
fn from_sum_and_count(name: &str, per_item: bool) -> Expr {
    let n = count_name(name);
    let sum = col(name).cast(DataType::Float64) / lit(SCALE);
    let value = if per_item {
        sum / col(n.as_str()).cast(DataType::Float64)
    } else {
        sum
    };
    when(col(n.as_str()).gt(lit(0)))
        .then(value)
        .otherwise(null_f64())
}

/// Groups `lf` by `keys` with only plain `sum` / `count` / `max` / `min` aggregations (polars'
/// fast group-by path, exact on integers), then derives the Float64 outputs of `aggs` (means
/// and nulls) from them, then adds `post` (derived columns reading the outputs).
pub fn aggregate(
    lf: LazyFrame,
    keys: &[&str],
    aggs: &[Agg<'_>],
    extra_aggs: Vec<Expr>,
    post: Vec<Expr>,
) -> LazyFrame {
    let mut plain = extra_aggs;
    let mut derived = Vec::with_capacity(aggs.len());
    for agg in aggs {
        match *agg {
            Agg::Total(name) => {
                plain.push(col(name).sum());
                derived.push((col(name).cast(DataType::Float64) / lit(SCALE)).alias(name));
            }
            Agg::Count(name) => {
                plain.push(col(name).sum());
                derived.push(col(name).cast(DataType::Float64));
            }
            Agg::TotalOrNull(name) => {
                plain.extend(sum_and_count(name));
                derived.push(from_sum_and_count(name, false).alias(name));
            }
            Agg::Mean { input, output } => {
                plain.extend(sum_and_count(input));
                derived.push(from_sum_and_count(input, true).alias(output));
            }
            Agg::Max { input, output } => {
                plain.push(col(input).max().alias(output));
                derived.push(col(output).cast(DataType::Float64));
            }
            Agg::Min { input, output } => {
                plain.push(col(input).min().alias(output));
                derived.push(col(output).cast(DataType::Float64));
            }
        }
    }
    let keys: Vec<Expr> = keys.iter().map(|k| col(*k)).collect();
    let lf = lf.group_by(keys).agg(plain).with_columns(derived);
    if post.is_empty() {
        lf
    } else {
        lf.with_columns(post)
    }
}

/// `num / den`, null when the denominator is zero or null (never inf or NaN).
pub fn ratio(num: Expr, den: Expr) -> Expr {
    when(den.clone().gt(lit(0.0)))
        .then(num / den)
        .otherwise(null_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_do_not_depend_on_the_order_of_the_rows() {
        // 0.1 + 0.2 + 0.3 differs from 0.3 + 0.2 + 0.1 in binary floating point.
        let forward = [0.1, 0.2, 0.3, 1e-7, 1234.5678];
        let backward: Vec<f64> = forward.iter().rev().copied().collect();
        let run = |values: &[f64]| {
            let lf = df!("k" => vec![1i32; values.len()], "v" => values)
                .expect("df")
                .lazy()
                .with_columns([
                    masked_units(lit(true), col("v")).alias("v"),
                    masked_units(lit(true), col("v")).alias("w"),
                ]);
            aggregate(
                lf,
                &["k"],
                &[
                    Agg::Total("v"),
                    Agg::Mean {
                        input: "w",
                        output: "m",
                    },
                ],
                vec![],
                vec![],
            )
            .select([col("v"), col("m")])
            .collect()
            .expect("collect")
        };
        let (a, b) = (run(&forward), run(&backward));
        assert!(a.equals_missing(&b));
        let t = a.column("v").expect("v").f64().expect("f64").get(0);
        assert_eq!(t, Some(1235.1678), "1e-7 rounds away");
    }

    #[test]
    fn ratio_is_null_for_a_zero_denominator() {
        let out = df!("n" => [1.0, 1.0, 3.0], "d" => [Some(0.0), None, Some(2.0)])
            .expect("df")
            .lazy()
            .select([ratio(col("n"), col("d")).alias("r")])
            .collect()
            .expect("collect");
        let r: Vec<_> = out
            .column("r")
            .expect("r")
            .f64()
            .expect("f64")
            .iter()
            .collect();
        assert_eq!(r, [None, None, Some(1.5)]);
    }
}
