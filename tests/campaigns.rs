//! Retention effectiveness on a generated warehouse whose campaign effect is known
//! (`_truth/campaign_effect`): per-campaign accounting, the pooled uplift recovers the planted
//! average effect within its 95% interval, and the uplift model's estimate has the right sign.

use std::collections::HashMap;

use polars::prelude::*;

use churn::campaigns::{self, CampaignConfig, UpliftArtifact};

mod common;
use common::{d, load_generated};

fn strs(df: &DataFrame, c: &str) -> Vec<String> {
    df.column(c)
        .expect("col")
        .str()
        .expect("str")
        .iter()
        .map(|s| s.unwrap_or_default().to_string())
        .collect()
}

#[test]
fn pooled_uplift_recovers_the_planted_effect() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = load_generated(dir.path(), 6_000, 21);
    let cfg = CampaignConfig::default();
    let (report, model) = campaigns::analyse(&wh, &cfg, None).expect("analyse");

    // Accounting: every target row is counted once, in its campaign.
    let total: usize = report.campaigns.iter().map(|c| c.targeted).sum();
    assert_eq!(total, wh.campaigns.height());
    for c in &report.campaigns {
        assert_eq!(c.targeted, c.treated + c.control);
        if c.observed {
            let (lo, hi) = (c.uplift_ci_low.expect("lo"), c.uplift_ci_high.expect("hi"));
            let u = c.uplift.expect("uplift");
            assert!(lo <= u && u <= hi, "{c:?}");
            let saved = c.customers_saved.expect("saved");
            assert!((saved - u * c.treated as f64).abs() < 1e-9);
        } else {
            assert!(c.uplift.is_none());
        }
        if let Some(r) = c.response_rate {
            assert!((0.0..=1.0).contains(&r));
        }
    }
    // The last campaigns' 90 days run past the export: not observed.
    assert!(report.campaigns.iter().any(|c| !c.observed));

    // Truth: the mean planted effect over observed retention targets.
    let truth = ParquetReader::new(
        std::fs::File::open(dir.path().join("_truth/campaign_effect.parquet")).expect("truth"),
    )
    .finish()
    .expect("read truth");
    let effect: Vec<f64> = truth
        .column("effect")
        .expect("effect")
        .f64()
        .expect("f64")
        .iter()
        .map(|v| v.unwrap_or(0.0))
        .collect();
    let key = |c: &[String], k: &[String]| -> Vec<(String, String)> {
        c.iter().cloned().zip(k.iter().cloned()).collect()
    };
    let truth_keys = key(&strs(&truth, "campaign_id"), &strs(&truth, "customer_id"));
    let observed: HashMap<&str, bool> = report
        .campaigns
        .iter()
        .map(|c| {
            (
                c.campaign_id.as_str(),
                c.observed && c.campaign_type == "retention",
            )
        })
        .collect();
    let (mut sum, mut n) = (0.0, 0usize);
    for ((campaign, _), e) in truth_keys.iter().zip(&effect) {
        if observed.get(campaign.as_str()).copied().unwrap_or(false) {
            sum += e;
            n += 1;
        }
    }
    let planted = sum / n as f64;
    let pooled = report
        .pooled
        .iter()
        .find(|p| p.campaign_id == "all retention")
        .expect("pooled retention");
    assert_eq!(pooled.targeted, n);
    let (u, lo, hi) = (
        pooled.uplift.expect("u"),
        pooled.uplift_ci_low.expect("lo"),
        pooled.uplift_ci_high.expect("hi"),
    );
    assert!(planted > 0.0, "planted {planted}");
    assert!(u > 0.0 && lo > 0.0, "uplift {u} [{lo}, {hi}]");
    assert!(
        lo <= planted && planted <= hi,
        "planted {planted} outside [{lo}, {hi}]"
    );

    // The uplift model: positive average estimate on held-out rows, and on active customers.
    let ev = report
        .uplift_model
        .as_ref()
        .expect("uplift model evaluated");
    assert!(report.uplift_model_unavailable.is_none());
    let model = model.expect("uplift model fitted");
    assert!(ev.holdout_rows > 0 && ev.training_rows > ev.holdout_rows);
    assert!(ev.holdout_mean_predicted_uplift > 0.0, "{ev:?}");
    assert_eq!(
        ev.qini_curve.first().map(|p| p.incremental_saved),
        Some(0.0)
    );
    let as_of = d(2024, 12, 31);
    let expected = campaigns::expected_uplift(&wh, as_of, &model).expect("expected uplift");
    let active = churn::features::churn_prediction_features(&wh, &[as_of], None)
        .expect("features")
        .height();
    assert_eq!(expected.len(), active);
    let mean: f64 = expected.values().sum::<f64>() / expected.len() as f64;
    assert!(mean > 0.0 && mean < 0.5, "{mean}");

    // Saved into a registry directory for scoring: it loads back identical, and its row-wise
    // estimates (in batches) are the same numbers as the per-customer map.
    let registry = tempfile::tempdir().expect("tempdir");
    assert_eq!(
        UpliftArtifact::load(registry.path()).expect("no file"),
        None
    );
    let artifact = UpliftArtifact::new(model.clone(), ev, report.observed_until);
    let path = artifact.save(registry.path()).expect("save");
    assert!(path.ends_with("uplift/uplift_model.json"));
    let back = UpliftArtifact::load(registry.path())
        .expect("load")
        .expect("present");
    assert_eq!(back, artifact);
    assert_eq!(back.holdout_qini, ev.qini_coefficient);
    let frame = churn::features::churn_prediction_features(&wh, &[as_of], None).expect("features");
    let rows = back.relative_reduction_rows(&frame, 97).expect("rows");
    let x = frame.column("customer_id").expect("id");
    let ids: Vec<&str> = x
        .str()
        .expect("text")
        .iter()
        .map(|v| v.expect("id"))
        .collect();
    assert_eq!(rows.len(), ids.len());
    // μ₀ − μ₁ from the map and 1 − μ₁/μ₀ from the rows agree: μ₀ = (μ₀ − μ₁) / r, where r
    // is inside the range the model took on its campaign targets; beyond it, r is held at the
    // nearer end (no extrapolated certainty for customers unlike any target).
    let [lo, hi] = model.relative_range.expect("range kept at fit");
    assert!(lo < hi && hi < 1.0, "{lo} {hi}");
    let (mut checked, mut held) = (0, 0);
    for (id, r) in ids.iter().zip(&rows) {
        let diff = expected[*id];
        assert!(r.is_finite() && *r >= lo && *r <= hi, "{id}: {r}");
        if *r > lo && *r < hi {
            assert_eq!(diff > 0.0, *r > 0.0, "{id}: {diff} vs {r}");
            if r.abs() > 1e-6 {
                let control = diff / r;
                assert!(control > 0.0 && control < 1.0, "{id}: μ₀ {control}");
                checked += 1;
            }
        } else {
            held += 1;
        }
    }
    assert!(checked > ids.len() / 2, "{checked} of {}", ids.len());
    assert!(held > 0, "some customers lie outside the targets' range");
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(campaigns::artifact::expected_uplift(0.2, 0.5), 0.1));
    // Never more than the risk itself, never a probability above 1 with the offer.
    assert!(close(campaigns::artifact::expected_uplift(0.2, 2.0), 0.2));
    assert!(close(campaigns::artifact::expected_uplift(0.9, -1.0), -0.1));
    // A damaged file is an error naming it, never silently no uplift.
    std::fs::write(&path, b"{\"format_version\": 1}").expect("damage");
    let err = UpliftArtifact::load(registry.path()).expect_err("damaged");
    assert!(err.to_string().contains("uplift_model.json"), "{err}");

    // Deciles cover every row once.
    let rows: usize = report.deciles.iter().map(|d| d.rows).sum();
    assert_eq!(rows, ev.rows);
    assert_eq!(report.deciles.len(), 10);
    assert!(report.deciles[9].mean_risk > report.deciles[0].mean_risk);
}
