//! A warehouse that follows the contract but not the generator's habits: other segment, tier
//! and region names, no account managers, and no campaign history at all. Training, the
//! campaign report, the scoring snapshot and the prioritised list must all work on it.

mod common;

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use churn::campaigns::{self, CampaignConfig};
use churn::scoring::{Filter, RankBy, ScoringConfig, Snapshot};
use churn::training::models::Algorithm;
use churn::training::pipeline::{train, TrainOptions, TrainRequest, TrainSource};
use churn::warehouse::{self, schema::Table};
use common::generate_warehouse;

const SEGMENTS: [(&str, &str); 3] = [
    ("consumer", "residential"),
    ("smb", "small_business"),
    ("enterprise", "corporate"),
];

fn rename(col: &Column, map: &HashMap<&str, String>) -> Column {
    let ca = col.str().expect("text column");
    let out: StringChunked = ca
        .iter()
        .map(|v| v.map(|v| map.get(v).cloned().unwrap_or_else(|| v.to_string())))
        .collect();
    out.into_series().with_name(col.name().clone()).into()
}

fn write(df: &mut DataFrame, dir: &Path, table: Table) {
    let path = dir.join(format!("{}.parquet", table.file_stem()));
    let f = File::create(&path).expect("create parquet");
    ParquetWriter::new(f).finish(df).expect("write parquet");
}

/// A generated warehouse rewritten in another company's vocabulary, without campaigns.
fn foreign_warehouse(dir: &Path) {
    generate_warehouse(dir, 1_500, 29);
    let (wh, _) = warehouse::load(dir).expect("load generated");

    let segments: HashMap<&str, String> =
        SEGMENTS.iter().map(|(a, b)| (*a, b.to_string())).collect();
    let tiers: HashMap<&str, String> = [("bronze", "D"), ("silver", "C"), ("gold", "B")]
        .iter()
        .chain(&[("platinum", "A")])
        .map(|(a, b)| (*a, b.to_string()))
        .collect();
    let mut customers = wh.customers.clone();
    let seg = rename(customers.column("segment").expect("segment"), &segments);
    let tier = rename(customers.column("tier").expect("tier"), &tiers);
    let region: StringChunked = customers
        .column("region")
        .expect("region")
        .str()
        .expect("text")
        .iter()
        .map(|v| v.map(|v| format!("zone-{}", v.to_uppercase())))
        .collect();
    let managers = Column::full_null(
        "account_manager_id".into(),
        customers.height(),
        &DataType::String,
    );
    customers.with_column(seg).expect("segment");
    customers.with_column(tier).expect("tier");
    customers
        .with_column(Column::from(
            region.into_series().with_name("region".into()),
        ))
        .expect("region");
    customers.with_column(managers).expect("managers");
    write(&mut customers, dir, Table::Customer);

    // Eligibility in the new segment names.
    let mut products = wh.products.clone();
    let eligible: StringChunked = products
        .column("eligible_segments")
        .expect("eligible_segments")
        .str()
        .expect("text")
        .iter()
        .map(|v| {
            v.map(|v| {
                v.split(';')
                    .map(|s| segments.get(s).cloned().unwrap_or_else(|| s.to_string()))
                    .collect::<Vec<_>>()
                    .join(";")
            })
        })
        .collect();
    products
        .with_column(Column::from(
            eligible.into_series().with_name("eligible_segments".into()),
        ))
        .expect("eligible");
    write(&mut products, dir, Table::Product);

    // No campaign has ever been run.
    let mut campaigns = wh.campaigns.head(Some(0));
    write(&mut campaigns, dir, Table::CampaignTarget);
}

#[test]
fn a_warehouse_in_another_vocabulary_without_campaigns_trains_scores_and_ranks() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("wh");
    let models = tmp.path().join("models");
    foreign_warehouse(&data);

    // Training: features the data cannot fill are left out and reported, not an error.
    let run = train(&TrainRequest {
        source: TrainSource::Warehouse {
            data: data.clone(),
            as_of: Vec::new(),
        },
        models_dir: models.clone(),
        out_dir: Some(tmp.path().join("report")),
        options: TrainOptions {
            algorithms: vec![Algorithm::Logistic, Algorithm::Gbdt],
            ..TrainOptions::default()
        },
    })
    .expect("train on the foreign warehouse");
    let skipped: Vec<&str> = run
        .skipped_columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert!(skipped.contains(&"tier_ordinal"), "{skipped:?}");
    assert!(
        skipped.contains(&"days_since_last_retention_campaign"),
        "{skipped:?}"
    );
    assert!(run
        .skipped_columns
        .iter()
        .all(|c| c.reason.contains("null")));
    let best = &run.models[run.best];
    assert!(best.test_auc > 0.6, "test AUC {}", best.test_auc);

    // Campaigns: no history is a finding, with the reason, not a failure.
    let (wh, _) = warehouse::load(&data).expect("load foreign");
    let (report, model) =
        campaigns::analyse(&wh, &CampaignConfig::default(), None).expect("analyse");
    assert!(report.campaigns.is_empty() && report.deciles.is_empty());
    assert!(model.is_none() && report.uplift_model.is_none());
    let why = report.uplift_model_unavailable.expect("reason");
    assert!(why.contains("0 observed rows"), "{why}");

    // Scoring and the list, filtered by the warehouse's own segment names.
    let snap = Snapshot::build(&data, &models, &ScoringConfig::default(), &mut |_, _, _| {})
        .expect("snapshot");
    assert!(!snap.scores().is_empty());
    let filter = Filter {
        segment: Some("corporate".into()),
        ..Filter::default()
    };
    let page = snap
        .prioritize(&filter, RankBy::ValueAtRisk, 0, 50)
        .expect("prioritize");
    assert!(page.total > 0 && !page.rows.is_empty());
    assert!(page.rows.iter().all(|r| r.score.segment == "corporate"));
    assert!(page.rows.windows(2).all(|w| w[0].key >= w[1].key));
    assert!(page
        .rows
        .iter()
        .all(|r| r.score.region.starts_with("zone-") && r.score.account_manager_id.is_none()));

    // Eligibility in the new names: a residential customer is never offered a product whose
    // eligible segments leave residential out.
    let eligible: HashMap<String, Option<String>> = {
        let p = &wh.products;
        let ids = p.column("product_id").expect("id").str().expect("text");
        let el = p
            .column("eligible_segments")
            .expect("eligible")
            .str()
            .expect("text");
        ids.iter()
            .zip(el.iter())
            .map(|(i, e)| (i.expect("id").to_string(), e.map(str::to_string)))
            .collect()
    };
    let mut suggested = 0;
    for s in snap.scores() {
        for p in &s.next_best_products {
            suggested += 1;
            if let Some(Some(list)) = eligible.get(&p.product_id) {
                assert!(
                    list.split(';').any(|seg| seg == s.segment),
                    "{} ({}) offered {} (eligible: {list})",
                    s.customer_id,
                    s.segment,
                    p.product_id
                );
            }
        }
    }
    assert!(suggested > 0);
    // Ranking by expected saved value needs an uplift model, which this history cannot give.
    let err = snap
        .prioritize(&Filter::default(), RankBy::ExpectedSavedValue, 0, 10)
        .expect_err("no uplift");
    assert!(err.to_string().contains("churn campaigns"), "{err}");
}
