//! Batch-scoring throughput of the project's GBDT (`GbdtModel::predict_proba_batch`, the path
//! `churn predict` and `ChurnModel::predict_proba` take) on every row of the GBDT benchmark
//! table (`benches/gbdt/make_data.py`: 800k train + 200k test rows × 50 features).
//!
//! The model is the benchmark's (100 trees, 31 leaves, learning rate 0.1, 255 bins, min 20 rows
//! per leaf): fitted once and cached as JSON in MODEL (fitted again if MODEL is missing), so
//! scoring can be measured repeatedly without refitting. For each thread count, runs PASSES
//! passes over all rows and prints one JSON line with the best and median wall time, rows per
//! second, and rows per CPU-second (CPU time of the whole process during the pass, which a
//! machine shared with other work inflates less than wall time).
//!
//! usage: cargo run --release --example gbdt_score_bench -- TRAIN TEST MODEL.json
//!        [--threads 1,2] [--passes 5]

use std::time::Instant;

use anyhow::{bail, Context, Result};
use churn::training::gbdt::{Dataset, GbdtModel, GbdtParams, Matrix};

mod bench_common;
use bench_common::{cpu_seconds, parse_threads, read_table};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut threads, mut passes, mut files) = (vec![1usize, 2], 5usize, Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--threads" => {
                threads = parse_threads(it.next())?;
            }
            "--passes" => passes = it.next().context("--passes needs a number")?.parse()?,
            _ => files.push(a.clone()),
        }
    }
    let [train_path, test_path, model_path] = files.as_slice() else {
        bail!("usage: gbdt_score_bench TRAIN TEST MODEL.json [--threads 1,2] [--passes 5]");
    };
    let (names, mut cols, y_train) = read_table(train_path)?;
    let (_, test_cols, _) = read_table(test_path)?;
    let n_train = y_train.len();

    let model: GbdtModel = match std::fs::read_to_string(model_path) {
        Ok(json) => serde_json::from_str(&json)
            .with_context(|| format!("{model_path} is not a GBDT model"))?,
        Err(_) => {
            let x = Matrix::with_names(cols.iter().map(|c| c.as_slice()).collect(), names)?;
            let model = GbdtParams::new()
                .n_estimators(100)
                .num_leaves(31)
                .learning_rate(0.1)
                .max_bin(255)
                .min_data_in_leaf(20)
                .fit(&Dataset::new(x, &y_train)?, None)?;
            std::fs::write(model_path, serde_json::to_string(&model)?)?;
            model
        }
    };
    // Score train + test together: 1M rows.
    for (c, t) in cols.iter_mut().zip(&test_cols) {
        c.extend_from_slice(t);
    }
    let x = Matrix::new(cols.iter().map(|c| c.as_slice()).collect())?;
    let rows = x.n_rows() as f64;
    let mut checksum = 0.0;
    for &t in &threads {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(t).build()?;
        let mut runs = pool.install(|| -> Result<Vec<(f64, f64)>> {
            let mut runs = Vec::new();
            for _ in 0..passes.max(1) {
                let (w, c) = (Instant::now(), cpu_seconds());
                let p = model.predict_proba_batch(&x)?;
                runs.push((w.elapsed().as_secs_f64(), cpu_seconds() - c));
                checksum += p[0] + p[p.len() - 1];
            }
            Ok(runs)
        })?;
        runs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (best, median) = (runs[0], runs[runs.len() / 2]);
        let best_cpu = runs.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
        println!(
            "{}",
            serde_json::json!({
                "impl": "churn gbdt scoring",
                "threads": t,
                "rows": rows,
                "n_train_rows": n_train,
                "trees": model.n_trees(),
                "passes": runs.len(),
                "best_s": (best.0 * 1e4).round() / 1e4,
                "median_s": (median.0 * 1e4).round() / 1e4,
                "best_rows_per_s": (rows / best.0).round(),
                "median_rows_per_s": (rows / median.0).round(),
                "rows_per_cpu_s": (rows / best_cpu).round(),
                "load_avg_1m": std::fs::read_to_string("/proc/loadavg")
                    .ok()
                    .and_then(|l| l.split_whitespace().next().map(str::to_string)),
            })
        );
    }
    eprintln!("(checksum {checksum})");
    Ok(())
}
