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

/// Group aggregation: the sum of a [`masked_units`] column as Float64 (`0` for none).
pub fn total(name: &str) -> Expr {
    (col(name).sum().cast(DataType::Float64) / lit(SCALE)).alias(name)
}

/// Group aggregation: the sum of a [`flag`] column as Float64 (`0` for none).
pub fn count(name: &str) -> Expr {
    col(name).sum().cast(DataType::Float64).alias(name)
}

/// Group aggregation: the sum of a [`masked_units`] column; null (not 0) when all are null.
pub fn total_or_null(name: &str) -> Expr {
    when(col(name).count().gt(lit(0)))
        .then(col(name).sum().cast(DataType::Float64) / lit(SCALE))
        .otherwise(null_f64())
        .alias(name)
}

/// Group aggregation: the mean of a [`masked_units`] column; null when all are null.
pub fn mean(name: &str) -> Expr {
    when(col(name).count().gt(lit(0)))
        .then(
            col(name).sum().cast(DataType::Float64)
                / lit(SCALE)
                / col(name).count().cast(DataType::Float64),
        )
        .otherwise(null_f64())
        .alias(name)
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
            df!("k" => vec![1i32; values.len()], "v" => values)
                .expect("df")
                .lazy()
                .with_columns([masked_units(lit(true), col("v")).alias("v")])
                .group_by([col("k")])
                .agg([total("v"), mean("v").alias("m")])
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
