//! Helpers shared by the GBDT benchmark examples (`gbdt_bench`, `gbdt_score_bench`): reading
//! the Parquet tables of `benches/gbdt/make_data.py` and the process's CPU time.

use std::fs::File;

use anyhow::{Context, Result};
use polars::prelude::{DataFrame, DataType, ParquetReader, SerReader};

/// The label column of the benchmark tables.
pub const LABEL: &str = "y";

/// Feature names, feature columns (file order, label dropped; nulls → NaN) and labels (empty if
/// the file has no `LABEL` column) of a Parquet file.
pub type Columns = (Vec<String>, Vec<Vec<f64>>, Vec<f64>);

/// Reads a benchmark table as [`Columns`].
pub fn read_table(path: &str) -> Result<Columns> {
    let file = File::open(path).with_context(|| format!("cannot open {path}"))?;
    let df: DataFrame = ParquetReader::new(file)
        .finish()
        .with_context(|| format!("cannot read {path} as Parquet"))?;
    let (mut names, mut cols, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for name in df.get_column_names_owned() {
        let c = df.column(name.as_str())?.cast(&DataType::Float64)?;
        let values: Vec<f64> = c.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
        if name.as_str() == LABEL {
            y = values;
        } else {
            names.push(name.to_string());
            cols.push(values);
        }
    }
    Ok((names, cols, y))
}

/// CPU seconds used by this process so far (Linux; NaN elsewhere).
pub fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    let Some(end) = stat.rfind(')') else {
        return f64::NAN;
    };
    let fields: Vec<&str> = stat[end + 1..].split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(u), Some(s)) => (u + s) / 100.0,
        _ => f64::NAN,
    }
}

/// Parses a `--threads` value like `1,2`.
pub fn parse_threads(list: Option<&String>) -> Result<Vec<usize>> {
    Ok(list
        .context("--threads needs a list like 1,2")?
        .split(',')
        .map(|t| t.parse::<usize>())
        .collect::<Result<_, _>>()?)
}
