//! Rust side of the logistic-regression comparison in `benches/gbdt/run.sh`: reads the
//! train/test Parquet files written by `benches/gbdt/make_data.py` (columns `f00..f49`, label
//! `y`; nulls are missing values), fits the project's logistic regression exactly as `churn
//! train --algorithms logistic` does (`ChurnModel::fit`: median imputation, `__missing`
//! indicators, standardisation, L2 with sklearn's `C`), and prints one JSON line: fit time and
//! the test AUC of the model's own (uncalibrated) probabilities, which is what scikit-learn's
//! `LogisticRegression.predict_proba` is compared with.
//!
//! The calibrator `ChurnModel::fit` also fits needs a held-out set; it gets the test rows,
//! which changes nothing here: the uncalibrated scores are a function of the training rows only.
//!
//! usage: cargo run --release --example logistic_bench -- TRAIN TEST [--c 1.0] [--max-iter 200]

use std::fs::File;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use churn::training::encode::{parse_label, TableEncoder};
use churn::training::gbdt::roc_auc;
use churn::training::models::{Algorithm, ChurnModel, TrainParams};
use polars::prelude::{DataFrame, ParquetReader, SerReader};

const LABEL: &str = "y";

fn read(path: &str) -> Result<DataFrame> {
    let file = File::open(path).with_context(|| format!("cannot open {path}"))?;
    ParquetReader::new(file)
        .finish()
        .with_context(|| format!("cannot read {path} as Parquet"))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut params = TrainParams::default();
    let mut files = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--c" => params.logistic.c = it.next().context("--c needs a number")?.parse()?,
            "--max-iter" => {
                params.logistic.max_iter =
                    it.next().context("--max-iter needs a number")?.parse()?
            }
            _ => files.push(a.clone()),
        }
    }
    let [train_path, test_path] = files.as_slice() else {
        bail!("usage: logistic_bench TRAIN TEST [--c 1.0] [--max-iter 200]");
    };
    let train = read(train_path)?;
    let test = read(test_path)?;
    let y_train = parse_label(train.column(LABEL)?.as_materialized_series())?;
    let y_test = parse_label(test.column(LABEL)?.as_materialized_series())?;

    let t0 = Instant::now();
    let encoder = TableEncoder::fit(&train, &[LABEL])?;
    let x_train = encoder.transform(&train)?;
    let x_test = encoder.transform(&test)?;
    let encode_s = t0.elapsed().as_secs_f64();

    let t1 = Instant::now();
    let model = ChurnModel::fit(
        Algorithm::Logistic,
        &params,
        encoder,
        &x_train,
        &y_train,
        &x_test,
        &y_test,
    )?;
    let fit_s = t1.elapsed().as_secs_f64();
    let p = model.predict_uncalibrated(&x_test)?;
    let auc = roc_auc(&p, &y_test)?;
    println!(
        "{}",
        serde_json::json!({
            "impl": "churn logistic",
            "c": params.logistic.c,
            "max_iter": params.logistic.max_iter,
            "tol": params.logistic.tol,
            "encode_s": (encode_s * 1000.0).round() / 1000.0,
            "fit_s": (fit_s * 1000.0).round() / 1000.0,
            "test_auc": (auc * 1e5).round() / 1e5,
            "columns": model.contributions(&x_test.take_rows(&[0]))?.names.len(),
        })
    );
    Ok(())
}
