//! The `churn` binary end to end: generate → validate → features, exit codes and outputs.

use std::path::Path;
use std::process::Output;

mod common;
use common::{churn, text};

fn stdout(o: &Output) -> String {
    text(&o.stdout)
}

fn stderr(o: &Output) -> String {
    text(&o.stderr)
}

fn generate(dir: &Path, format: &str) {
    let o = churn(&[
        "generate",
        "--out",
        dir.to_str().expect("utf8"),
        "--customers",
        "300",
        "--months",
        "14",
        "--seed",
        "11",
        "--format",
        format,
    ]);
    assert!(o.status.success(), "generate failed: {}", stderr(&o));
}

#[test]
fn generate_validate_features_end_to_end() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("wh");
    generate(&data, "parquet");

    let o = churn(&[
        "validate",
        "--data",
        data.to_str().expect("utf8"),
        "--strict",
    ]);
    assert!(o.status.success(), "validate: {}", stderr(&o));
    let text = stdout(&o);
    for t in ["dim_customer", "fact_invoice", "fact_network_usage"] {
        assert!(text.contains(t), "validate output lacks {t}: {text}");
    }

    let out = tmp.path().join("out");
    let o = churn(&[
        "features",
        "--data",
        data.to_str().expect("utf8"),
        "--as-of",
        "2023-06-30,2023-09-30",
        "--out",
        out.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "features: {}", stderr(&o));
    for name in [
        "customer_360_view.parquet",
        "customer_segmentation_analysis.parquet",
        "churn_prediction_features.parquet",
        "run_summary.json",
    ] {
        assert!(out.join(name).is_file(), "missing {name}");
    }
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("run_summary.json")).expect("read summary"),
    )
    .expect("json");
    assert_eq!(
        summary["as_of"],
        serde_json::json!(["2023-06-30", "2023-09-30"])
    );
    // every table's accounting identity holds in the written summary
    for t in summary["load"]["tables"].as_array().expect("tables") {
        let n = |k: &str| t[k].as_u64().expect("count");
        assert_eq!(
            n("rows_read"),
            n("rows_used") + n("rows_quarantined") + n("duplicates_collapsed")
        );
    }
    // no temporary files left behind
    for e in std::fs::read_dir(&out).expect("read out") {
        let name = e.expect("entry").file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".tmp-"), "temporary file left: {name}");
    }
}

#[test]
fn validate_exits_non_zero_naming_the_missing_table() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("wh");
    generate(&data, "csv");
    std::fs::remove_file(data.join("fact_invoice.csv")).expect("remove");
    let o = churn(&["validate", "--data", data.to_str().expect("utf8")]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("fact_invoice"),
        "stderr: {}",
        stderr(&o)
    );
}

#[test]
fn validate_strict_exits_3_when_rows_are_quarantined() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("wh");
    generate(&data, "csv");
    let path = data.join("fact_invoice.csv");
    let mut text = std::fs::read_to_string(&path).expect("read");
    let header: Vec<&str> = text.lines().next().expect("header").split(',').collect();
    let row: Vec<String> = header
        .iter()
        .map(|c| match *c {
            "invoice_id" => "INV-BAD-1".to_string(),
            "customer_id" => "NO-SUCH-CUSTOMER".to_string(),
            "invoice_date" | "due_date" => "2023-02-01".to_string(),
            "amount" | "overage_amount" | "discount_amount" => "1.0".to_string(),
            _ => String::new(),
        })
        .collect();
    text.push_str(&row.join(","));
    text.push('\n');
    std::fs::write(&path, text).expect("write");
    let qdir = tmp.path().join("q");
    let o = churn(&[
        "validate",
        "--data",
        data.to_str().expect("utf8"),
        "--strict",
        "--quarantine-out",
        qdir.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(3), "stdout: {}", stdout(&o));
    let q = std::fs::read_to_string(qdir.join("quarantine/fact_invoice.csv")).expect("quarantine");
    assert!(q.contains("NO-SUCH-CUSTOMER"));
    assert!(
        q.contains("dim_customer"),
        "reason should name the referenced table: {q}"
    );
}
