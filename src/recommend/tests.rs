//! The shared per-key ranking and the id-aligned API against a per-customer computation with
//! no sharing, and the row readers they rely on.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use polars::prelude::{Int32Chunked, NewChunkedArray, StringChunked};

use super::data::{each_row_where, FxMap, IdLookup, RowCursor};
use super::*;
use crate::generate::{generate, GenerateConfig};

fn warehouse(dir: &std::path::Path) -> Warehouse {
    let cfg = GenerateConfig {
        customers: 1_500,
        seed: 7,
        ..GenerateConfig::default()
    };
    generate(&cfg, dir).expect("generate");
    crate::warehouse::load(dir).expect("load").0
}

fn customers<'a>(ids: &[&'a str]) -> Customers<'a> {
    let mut index = FxMap::default();
    let mut unique = true;
    for (i, id) in ids.iter().enumerate() {
        unique &= index.insert(*id, i as u32).is_none();
    }
    Customers {
        ids: ids.to_vec(),
        index,
        segment: vec![0; ids.len()],
        segments: vec!["consumer".into()],
        signup: vec![0; ids.len()],
        churn: vec![None; ids.len()],
        unique,
    }
}

#[test]
fn shared_rankings_equal_per_customer_rankings_and_both_apis_agree() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = warehouse(dir.path());
    // With context lifts (lists per customer) and without (lists shared per key).
    for context in [true, false] {
        check_rankings(&wh, context);
    }
}

fn check_rankings(wh: &Warehouse, context: bool) {
    let as_of = NaiveDate::from_ymd_opt(2024, 9, 30).expect("date");
    // Small campaign groups are trusted, so that this small warehouse has retention offers.
    let cfg = RecommendConfig {
        min_campaign_group: 5,
        context,
        ..RecommendConfig::default()
    };
    let mut ids: Vec<String> = Customers::from_warehouse(wh).expect("customers").ids[..]
        .iter()
        .map(|s| s.to_string())
        .collect();
    ids.push("NOT-A-CUSTOMER".into());
    // Every other customer at 50% risk (retention offers possible), the rest at 5%.
    let probability: Vec<f64> = (0..ids.len())
        .map(|i| if i % 2 == 0 { 0.5 } else { 0.05 })
        .collect();
    let risk: HashMap<String, f64> = ids.iter().cloned().zip(probability.clone()).collect();
    let (rec, by_id) = Recommender::fit_and_suggest(wh, as_of, &cfg, Some(&risk)).expect("map");
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let (_, aligned) =
        Recommender::fit_and_suggest_for(wh, as_of, &cfg, &id_refs, Some(&probability))
            .expect("aligned");

    // Same lists, in the caller's order; unknown or inactive customers get an empty list.
    assert_eq!(aligned.len(), ids.len());
    for (id, list) in ids.iter().zip(&aligned) {
        match by_id.get(id) {
            Some(expected) => assert_eq!(list, expected, "{id}"),
            None => assert!(list.is_empty(), "{id} is not active but got suggestions"),
        }
    }
    assert!(aligned.last().expect("last").is_empty());
    let retention = aligned
        .iter()
        .flatten()
        .filter(|s| s.kind == SuggestionKind::Retention)
        .count();
    assert!(
        retention > 0 && !rec.retention_offers.is_empty(),
        "the 50% customers should get retention offers"
    );

    // Each list again, ranking the customer's own key with no sharing between customers.
    let tables = Tables::read(wh, rec.catalogue.clone()).expect("tables");
    let prep =
        prepare(wh, &rec.catalogue, as_of, &tables, rec.ticket_categories()).expect("prepare");
    assert_eq!(rec.context.is_some(), context);
    assert_eq!(prep.raw.is_some(), context);
    let mut ctx = Vec::new();
    let c = &tables.customers;
    let mut holdings_per_group: HashMap<(u16, bool), HashSet<Vec<u64>>> = HashMap::new();
    let mut buf = Vec::new();
    for &i in &prep.active {
        level0_key(
            &mut buf,
            c.segment[i],
            prep.overage[i],
            prep.holdings.row(i),
        );
        let seg = c.segment[i] as usize;
        let r = risk.get(c.ids[i]).copied();
        let expected = match (&rec.context, &prep.raw) {
            (Some(model), Some(raw)) => {
                let base = rec.model.predict(&rec.catalogue, &buf);
                model
                    .spec
                    .encoding(c, &tables.profile)
                    .encode(c, prep.day, i, &raw[i], &mut ctx);
                // Each product's lift on its own (not the one-pass product of rows).
                let lift: Vec<f64> = (0..rec.catalogue.len())
                    .map(|p| model.lift(&ctx, p))
                    .collect();
                let ranked = rec.ranked_in_context(&buf, &base, &prep.eligible[seg], &lift);
                // The same ranking by a full sort of every candidate.
                let mut all: Vec<(f64, usize)> = (0..rec.catalogue.len())
                    .filter(|&p| {
                        base[p].0 > 0.0
                            && prep.eligible[seg][p]
                            && !adoption::has(prep.holdings.row(i), p)
                    })
                    .map(|p| {
                        let prob = (base[p].0 * lift[p]).min(MAX_PROBABILITY);
                        (prob * rec.catalogue.products[p].monthly_margin(), p)
                    })
                    .collect();
                all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                let by_sort: Vec<usize> = all.iter().take(ranked.len()).map(|x| x.1).collect();
                let by_insertion: Vec<usize> = ranked.iter().map(|x| x.2).collect();
                assert_eq!(by_insertion, by_sort, "{}", c.ids[i]);
                let parts = RationaleParts::new(&rec.catalogue, &c.segments);
                rec.suggest_one_in_context(c, &prep, i, r, &ranked, |g, x, p| {
                    rec.context_suggestion(p, g, x, &base, &parts, seg, model, &ctx)
                })
            }
            _ => {
                let own = rec.ranked_adoptions(&buf, &c.segments[seg], &prep.eligible[seg]);
                rec.suggest_one(c, &prep, i, r, &own)
            }
        };
        assert_eq!(by_id[c.ids[i]], expected, "{}", c.ids[i]);
        holdings_per_group
            .entry((c.segment[i], prep.overage[i]))
            .or_default()
            .insert(prep.holdings.row(i).to_vec());
    }
    // The check means something: customers of one segment and overage flag hold different
    // product sets, i.e. many distinct keys share a segment.
    assert!(holdings_per_group.values().any(|h| h.len() >= 5));
}

#[test]
fn one_decimal_matches_float_formatting() {
    for x in [
        0.0, 0.04, 0.05, 0.06, 1.25, 3.15159, 7.5, 12.349, 99.96, 100.0, 2.0e6, -3.27,
    ] {
        let mut s = String::new();
        push_one_decimal(&mut s, x);
        let expected = format!("{:.1}", (x * 10.0_f64).round() / 10.0);
        assert_eq!(s, expected, "{x}");
    }
}

#[test]
fn a_risk_per_id_is_required() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = warehouse(dir.path());
    let as_of = NaiveDate::from_ymd_opt(2024, 9, 30).expect("date");
    let err = Recommender::fit_and_suggest_for(
        &wh,
        as_of,
        &RecommendConfig::default(),
        &["C0000001", "C0000002"],
        Some(&[0.5]),
    )
    .expect_err("one probability for two ids");
    assert!(
        err.to_string().contains("1 probabilities for 2 customers"),
        "{err}"
    );
}

#[test]
fn id_lookup_tries_neighbours_then_the_index() {
    let c = customers(&["A", "B", "C", "D"]);
    let mut lookup = IdLookup::new(&c);
    let got: Vec<Option<u32>> = ["A", "A", "B", "D", "B", "X", "C", "C"]
        .iter()
        .map(|id| lookup.get(id))
        .collect();
    assert_eq!(
        got,
        [
            Some(0),
            Some(0),
            Some(1),
            Some(3),
            Some(1),
            None,
            Some(2),
            Some(2)
        ]
    );
    // A duplicated id resolves to its last row, as the index says, whatever came before.
    let c = customers(&["A", "B", "A"]);
    assert!(!c.unique);
    let mut lookup = IdLookup::new(&c);
    assert_eq!(lookup.get("A"), Some(2));
    assert_eq!(lookup.get("B"), Some(1));
    assert_eq!(lookup.get("A"), Some(2));
}

#[test]
fn date_scan_and_row_cursors_cross_chunks_and_skip_nulls() {
    let mut dates = Int32Chunked::from_slice_options("d".into(), &[Some(5), None, Some(20)]);
    dates
        .append(&Int32Chunked::from_slice_options(
            "d".into(),
            &[Some(9), Some(30), None, Some(10)],
        ))
        .expect("append");
    let mut names = StringChunked::from_slice_options("s".into(), &[Some("a"), Some("b")]);
    names
        .append(&StringChunked::from_slice_options(
            "s".into(),
            &[Some("c"), None, Some("e"), Some("f"), Some("g")],
        ))
        .expect("append");
    assert_eq!((dates.chunks().len(), names.chunks().len()), (2, 2));
    let mut cursor = RowCursor::new(&names);
    let mut seen = Vec::new();
    // Rows with a date in [9, 20]: 2 (20), 3 (9) and 6 (10); chunk boundaries differ between
    // the two columns (3 and 2 rows).
    each_row_where(
        &dates,
        |d| (9..=20).contains(&d),
        |row, d| {
            seen.push((row, d, cursor.get(row)));
        },
    );
    assert_eq!(seen, [(2, 20, Some("c")), (3, 9, None), (6, 10, Some("g"))]);
    assert_eq!(cursor.get(7), None);
}
