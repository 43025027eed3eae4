//! The feature catalog (`features/catalog.toml`) and the table the code builds must agree: same
//! columns, same order, same dtypes, and the catalog's feature list is the code's.

use chrono::NaiveDate;
use polars::prelude::{DataType, Field, Schema};

use churn::features::catalog::{self, Catalog, Role};
use churn::features::{self, columns};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

/// churn_prediction_features built from a small generated warehouse (loaded by the real loader).
fn built_table() -> polars::prelude::DataFrame {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = churn::generate::GenerateConfig {
        customers: 200,
        months: 15,
        seed: 11,
        start: d("2023-01-01"),
        format: churn::output::FileFormat::Parquet,
    };
    let summary = churn::generate::generate(&cfg, dir.path()).expect("generate");
    let (wh, _) = churn::warehouse::load(dir.path()).expect("load");
    features::churn_prediction_features(
        &wh,
        &[d("2023-09-30"), d("2023-12-31")],
        Some(summary.observed_until),
    )
    .expect("features")
}

#[test]
fn catalog_matches_the_built_table_column_for_column() {
    let table = built_table();
    assert!(table.height() > 100);
    let catalog = catalog::catalog().expect("catalog parses");
    let problems = catalog.mismatches(table.schema());
    assert!(
        problems.is_empty(),
        "catalog and table disagree:\n{}",
        problems.join("\n")
    );
    // The same check spelled out: names in order, then dtypes.
    let built: Vec<String> = table
        .get_column_names()
        .into_iter()
        .map(|n| n.to_string())
        .collect();
    let listed: Vec<String> = catalog.column.iter().map(|c| c.name.clone()).collect();
    assert_eq!(built, listed);
    for entry in &catalog.column {
        let dtype = table.column(&entry.name).expect("column").dtype();
        assert_eq!(catalog::dtype_name(dtype), entry.dtype, "{}", entry.name);
    }
}

#[test]
fn feature_names_are_the_catalog_features_in_table_order() {
    let catalog = catalog::catalog().expect("catalog");
    assert_eq!(
        catalog::feature_names(),
        catalog.names_with_role(Role::Feature)
    );
    assert_eq!(
        catalog.names_with_role(Role::Key),
        ["customer_id", "as_of_date"]
    );
    assert_eq!(catalog.names_with_role(Role::Label), [columns::CHURNED_90D]);
    // Keys first, label last.
    assert_eq!(catalog.column.first().map(|c| c.role), Some(Role::Key));
    assert_eq!(catalog.column.last().map(|c| c.role), Some(Role::Label));
}

#[test]
fn every_entry_is_filled_in_and_names_real_tables() {
    let catalog = catalog::catalog().expect("catalog");
    let tables: Vec<&str> = churn::warehouse::schema::Table::ALL
        .iter()
        .map(|t| t.file_stem())
        .collect();
    let mut seen = std::collections::HashSet::new();
    for entry in &catalog.column {
        assert!(
            seen.insert(entry.name.as_str()),
            "{} listed twice",
            entry.name
        );
        for (field, text) in [
            ("description", &entry.description),
            ("window", &entry.window),
            ("null_handling", &entry.null_handling),
        ] {
            assert!(!text.trim().is_empty(), "{}: empty {field}", entry.name);
        }
        for t in &entry.source_tables {
            assert!(
                tables.contains(&t.as_str()),
                "{}: unknown table {t}",
                entry.name
            );
        }
        if entry.role == Role::Feature {
            assert!(
                !entry.source_tables.is_empty(),
                "{}: no source table",
                entry.name
            );
        }
    }
}

#[test]
fn the_check_reports_a_missing_column_a_swap_and_a_wrong_dtype() {
    let catalog = catalog::catalog().expect("catalog");
    let dtype_of = |name: &str| match catalog.entry(name).map_or("str", |e| e.dtype.as_str()) {
        "f64" => DataType::Float64,
        "i32" => DataType::Int32,
        "date" => DataType::Date,
        _ => DataType::String,
    };
    let fields = |names: Vec<&str>| -> Schema {
        names
            .into_iter()
            .map(|n| Field::new(n.into(), dtype_of(n)))
            .collect()
    };
    let names: Vec<&str> = catalog.column.iter().map(|c| c.name.as_str()).collect();
    assert!(catalog.mismatches(&fields(names.clone())).is_empty());

    let mut missing = names.clone();
    missing.retain(|n| *n != columns::REVENUE_3M);
    let problems = catalog.mismatches(&fields(missing));
    assert!(problems
        .iter()
        .any(|p| p.contains("revenue_3m") && p.contains("not in the table")));

    let mut swapped = names.clone();
    swapped.swap(2, 3);
    assert!(catalog
        .mismatches(&fields(swapped))
        .iter()
        .any(|p| p.contains("order")));

    let mut extra = names.clone();
    extra.push("mystery");
    assert!(catalog
        .mismatches(&fields(extra))
        .iter()
        .any(|p| p.contains("mystery") && p.contains("not in the catalog")));

    let mut schema = fields(names);
    schema.set_dtype(columns::TENURE_DAYS, DataType::Int64);
    assert!(catalog
        .mismatches(&schema)
        .iter()
        .any(|p| p.contains("tenure_days") && p.contains("i64")));
}

#[test]
fn a_broken_catalog_text_is_an_error_not_a_panic() {
    assert!(Catalog::parse("[[column]]\nname = 1\n").is_err());
    assert!(Catalog::parse(catalog::CATALOG_TOML).is_ok());
}

#[test]
fn the_hash_is_the_sha256_of_the_committed_catalog_file() {
    use sha2::{Digest, Sha256};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("features/catalog.toml");
    let text = std::fs::read_to_string(path).expect("features/catalog.toml");
    assert_eq!(
        text,
        catalog::CATALOG_TOML,
        "the embedded catalog is the file"
    );
    let hash = catalog::catalog_hash();
    assert_eq!(hash, hex::encode(Sha256::digest(text.as_bytes())));
    assert_eq!(hash.len(), 64);
}
