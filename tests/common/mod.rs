//! Set-up shared by the integration tests: run the `churn` binary, generate a small warehouse
//! (24 months from 2023-01-01, Parquet: facts up to 2024-12-31), train a logistic champion into
//! a temporary registry. Each test binary uses a subset, hence `allow(dead_code)`.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use chrono::NaiveDate;

use churn::generate::{generate, GenerateConfig, GenerateSummary};
use churn::training::models::Algorithm;
use churn::training::pipeline::{train, TrainOptions, TrainRequest, TrainSource};
use churn::warehouse::{self, Warehouse};

/// Runs the `churn` binary with `args` (progress bars off: `CI=true`).
pub fn churn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_churn"))
        .args(args)
        .env("CI", "true")
        .output()
        .expect("run churn")
}

/// stdout or stderr as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf8 path")
}

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
}

/// `customers` customers over 24 months from 2023-01-01 (the export ends 2024-12-31), as
/// Parquet, into `dir`.
pub fn generate_warehouse(dir: &Path, customers: usize, seed: u64) -> GenerateSummary {
    let cfg = GenerateConfig {
        customers,
        seed,
        ..GenerateConfig::default()
    };
    generate(&cfg, dir).expect("generate")
}

/// [`generate_warehouse`], then load it.
pub fn load_generated(dir: &Path, customers: usize, seed: u64) -> Warehouse {
    generate_warehouse(dir, customers, seed);
    warehouse::load(dir).expect("load").0
}

/// Trains a logistic model on the warehouse in `data` (default as-of dates) into the registry
/// `models`, which makes it the champion; the report goes to `report`.
pub fn train_logistic(data: &Path, models: &Path, report: &Path) {
    train(&TrainRequest {
        source: TrainSource::Warehouse {
            data: data.to_path_buf(),
            as_of: Vec::new(),
        },
        models_dir: models.to_path_buf(),
        out_dir: Some(report.to_path_buf()),
        options: TrainOptions {
            algorithms: vec![Algorithm::Logistic],
            ..TrainOptions::default()
        },
    })
    .expect("train");
}
