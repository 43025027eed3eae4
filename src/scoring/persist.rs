//! Saving and loading a snapshot, so a server can start from a snapshot a batch run built.
//!
//! One file, written atomically (`churn::output::write_atomic`):
//! ```text
//! "CHURNSNAP" 0x00, u32 format version (LE)
//! u64 length + JSON  SnapshotMeta (as-of, model, key = data fingerprint + model version, …)
//! u64 length + Parquet  scores: one row per customer, nested fields flattened
//!                        (reason_<k>_feature/_value/_contribution,
//!                         product_<k>_id/_name/_category/_kind/_expected_gain/
//!                         _adoption_probability/_monthly_saving/_rationale)
//! u64 length + Parquet  customer_360_view (same row order)
//! u64 length + Parquet  customer_segmentation_analysis
//! ```
//! [`Snapshot::read_meta`] reads only the header, so a server can compare the key with the
//! data and champion it would build from before loading the rest.

use std::fs::File;
use std::io::{Cursor, Read, Write};
use std::path::Path;

use polars::prelude::{
    Column, DataFrame, Float64Chunked, ParquetReader, ParquetWriter, SerReader, StringChunked,
};
use rayon::prelude::*;

use super::snapshot::{Snapshot, SnapshotMeta};
use super::{
    CustomerScore, ProductSuggestion, RiskBand, ScoreReason, ScoringError, SuggestionKind,
};
use crate::features::columns::CUSTOMER_ID;
use crate::output::{write_atomic, OutputError};
use crate::warehouse::schema::customer;

const MAGIC: &[u8; 10] = b"CHURNSNAP\0";
/// Layout version of the snapshot file.
pub const SNAPSHOT_FORMAT: u32 = 1;

const SEGMENT: &str = customer::SEGMENT;
const REGION: &str = customer::REGION;
const TIER: &str = customer::TIER;
const MANAGER: &str = customer::ACCOUNT_MANAGER_ID;
const PROBABILITY: &str = "churn_probability";
const RISK_BAND: &str = "risk_band";
const CLV: &str = "clv";
const VALUE_AT_RISK: &str = "value_at_risk";
const UPLIFT: &str = "expected_uplift";
const ACTION: &str = "action";

fn reason_col(k: usize, part: &str) -> String {
    format!("reason_{}_{part}", k + 1)
}

fn product_col(k: usize, part: &str) -> String {
    format!("product_{}_{part}", k + 1)
}

/// The scores as one flat frame (see the module doc).
fn scores_frame(scores: &[CustomerScore]) -> Result<DataFrame, polars::prelude::PolarsError> {
    let n = scores.len();
    let kr = scores.iter().map(|s| s.reasons.len()).max().unwrap_or(0);
    let kp = scores
        .iter()
        .map(|s| s.next_best_products.len())
        .max()
        .unwrap_or(0);
    let text = |name: &str, f: &dyn Fn(&CustomerScore) -> &str| {
        Column::new(name.into(), scores.iter().map(f).collect::<Vec<&str>>())
    };
    let num = |name: &str, f: &dyn Fn(&CustomerScore) -> f64| {
        Column::new(name.into(), scores.iter().map(f).collect::<Vec<f64>>())
    };
    let opt_text = |name: String, f: &dyn Fn(&CustomerScore) -> Option<&str>| {
        Column::new(
            name.into(),
            scores.iter().map(f).collect::<Vec<Option<&str>>>(),
        )
    };
    let opt_num = |name: String, f: &dyn Fn(&CustomerScore) -> Option<f64>| {
        Column::new(
            name.into(),
            scores.iter().map(f).collect::<Vec<Option<f64>>>(),
        )
    };
    let mut cols = vec![
        text(CUSTOMER_ID, &|s| &s.customer_id),
        text(SEGMENT, &|s| &s.segment),
        text(REGION, &|s| &s.region),
        opt_text(MANAGER.into(), &|s| s.account_manager_id.as_deref()),
        text(TIER, &|s| &s.tier),
        num(PROBABILITY, &|s| s.churn_probability),
        text(RISK_BAND, &|s| s.risk_band.as_str()),
        num(CLV, &|s| s.clv),
        num(VALUE_AT_RISK, &|s| s.value_at_risk),
        opt_num(UPLIFT.into(), &|s| s.expected_uplift),
        text(ACTION, &|s| &s.action),
    ];
    for k in 0..kr {
        cols.push(opt_text(reason_col(k, "feature"), &|s| {
            s.reasons.get(k).map(|r| r.feature.as_str())
        }));
        cols.push(opt_num(reason_col(k, "value"), &|s| {
            s.reasons.get(k).and_then(|r| r.value)
        }));
        cols.push(opt_num(reason_col(k, "contribution"), &|s| {
            s.reasons.get(k).map(|r| r.contribution)
        }));
    }
    for k in 0..kp {
        cols.push(opt_text(product_col(k, "id"), &|s| {
            s.next_best_products.get(k).map(|p| p.product_id.as_str())
        }));
        cols.push(opt_text(product_col(k, "name"), &|s| {
            s.next_best_products.get(k).map(|p| p.product_name.as_str())
        }));
        cols.push(opt_text(product_col(k, "category"), &|s| {
            s.next_best_products.get(k).map(|p| p.category.as_str())
        }));
        cols.push(opt_text(product_col(k, "kind"), &|s| {
            s.next_best_products.get(k).map(|p| p.kind.as_str())
        }));
        cols.push(opt_num(product_col(k, "expected_gain"), &|s| {
            s.next_best_products.get(k).map(|p| p.expected_gain)
        }));
        cols.push(opt_num(product_col(k, "adoption_probability"), &|s| {
            s.next_best_products.get(k).map(|p| p.adoption_probability)
        }));
        cols.push(opt_num(product_col(k, "monthly_saving"), &|s| {
            s.next_best_products.get(k).and_then(|p| p.monthly_saving)
        }));
        cols.push(opt_text(product_col(k, "rationale"), &|s| {
            s.next_best_products.get(k).map(|p| p.rationale.as_str())
        }));
    }
    DataFrame::new(n, cols)
}

fn parquet_bytes(df: &mut DataFrame) -> Result<Vec<u8>, polars::prelude::PolarsError> {
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf).finish(df)?;
    Ok(buf)
}

impl Snapshot {
    /// Writes the snapshot to `path` atomically (see the module doc for the layout).
    pub fn save(&self, path: &Path) -> Result<(), ScoringError> {
        let perr = |step: &'static str| {
            move |source| ScoringError::Polars {
                table: "snapshot",
                step,
                source,
            }
        };
        let meta = serde_json::to_vec(&self.meta).map_err(|e| ScoringError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("cannot serialise the header: {e}"),
        })?;
        // The two large sections are encoded side by side.
        let (scores, view) = rayon::join(
            || {
                scores_frame(&self.scores)
                    .and_then(|mut df| parquet_bytes(&mut df))
                    .map_err(perr("writing scores"))
            },
            || parquet_bytes(&mut self.view_360.clone()).map_err(perr("writing customer_360_view")),
        );
        let (scores, view) = (scores?, view?);
        let seg = parquet_bytes(&mut self.segmentation.clone())
            .map_err(perr("writing customer_segmentation_analysis"))?;
        write_atomic(path, |w| {
            let io = |source| OutputError::Io {
                path: path.to_path_buf(),
                source,
            };
            w.write_all(MAGIC).map_err(io)?;
            w.write_all(&SNAPSHOT_FORMAT.to_le_bytes()).map_err(io)?;
            for section in [&meta, &scores, &view, &seg] {
                w.write_all(&(section.len() as u64).to_le_bytes())
                    .map_err(io)?;
                w.write_all(section).map_err(io)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Reads only the header of a saved snapshot (as-of, model, key, components, timings).
    pub fn read_meta(path: &Path) -> Result<SnapshotMeta, ScoringError> {
        let read_err = |source| ScoringError::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut f = File::open(path).map_err(read_err)?;
        let mut head = [0u8; 22];
        f.read_exact(&mut head)
            .map_err(|_| corrupt(path, "shorter than its header"))?;
        check_header(path, &head)?;
        let len = u64::from_le_bytes(
            head[14..22]
                .try_into()
                .map_err(|_| corrupt(path, "bad header"))?,
        );
        if len > 64 << 20 {
            return Err(corrupt(path, "header length is implausible"));
        }
        let mut meta = vec![0u8; len as usize];
        f.read_exact(&mut meta)
            .map_err(|_| corrupt(path, "truncated header"))?;
        parse_meta(path, &meta)
    }

    /// Loads a snapshot written by [`Snapshot::save`], checking its structure (sections,
    /// customers sorted and unique, customer_360_view in the same order).
    pub fn load(path: &Path) -> Result<Snapshot, ScoringError> {
        let bytes = std::fs::read(path).map_err(|source| ScoringError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if bytes.len() < 14 {
            return Err(corrupt(path, "shorter than its header"));
        }
        check_header(path, &bytes[..14])?;
        let mut sections = Vec::with_capacity(4);
        let mut at = 14usize;
        for name in ["header", "scores", "customer_360_view", "segmentation"] {
            let len_bytes: [u8; 8] = bytes
                .get(at..at + 8)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| corrupt(path, &format!("truncated before the {name} section")))?;
            let len = u64::from_le_bytes(len_bytes) as usize;
            let start = at + 8;
            let section = bytes
                .get(start..start.saturating_add(len))
                .ok_or_else(|| corrupt(path, &format!("the {name} section is truncated")))?;
            sections.push(section);
            at = start + len;
        }
        let meta = parse_meta(path, sections[0])?;
        let read = |i: usize, name: &str| -> Result<DataFrame, ScoringError> {
            let mut df = ParquetReader::new(Cursor::new(sections[i]))
                .finish()
                .map_err(|e| corrupt(path, &format!("the {name} section: {e}")))?;
            df.rechunk_mut_par();
            Ok(df)
        };
        let scores_df = read(1, "scores")?;
        let view = read(2, "customer_360_view")?;
        let segmentation = read(3, "segmentation")?;
        drop(bytes);
        let scores = scores_from_frame(path, &scores_df)?;
        drop(scores_df);
        if scores.len() != meta.customers || view.height() != scores.len() {
            return Err(corrupt(
                path,
                &format!(
                    "the header says {} customers, the scores hold {} and customer_360_view {}",
                    meta.customers,
                    scores.len(),
                    view.height()
                ),
            ));
        }
        if let Some(w) = scores
            .windows(2)
            .find(|w| w[0].customer_id >= w[1].customer_id)
        {
            return Err(corrupt(
                path,
                &format!("customers not sorted or repeated at `{}`", w[1].customer_id),
            ));
        }
        let view_ids = view
            .column(CUSTOMER_ID)
            .and_then(|c| c.str())
            .map_err(|e| corrupt(path, &format!("customer_360_view: {e}")))?;
        let same = view_ids
            .iter()
            .zip(&scores)
            .all(|(v, s)| v == Some(s.customer_id.as_str()));
        if !same {
            return Err(corrupt(
                path,
                "customer_360_view is not in the order of the scores",
            ));
        }
        Ok(Snapshot::assemble(meta, scores, view, segmentation))
    }
}

fn corrupt(path: &Path, reason: &str) -> ScoringError {
    ScoringError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn check_header(path: &Path, head: &[u8]) -> Result<(), ScoringError> {
    if &head[..10] != MAGIC {
        return Err(corrupt(path, "not a churn snapshot file (bad magic bytes)"));
    }
    let version = u32::from_le_bytes([head[10], head[11], head[12], head[13]]);
    if version != SNAPSHOT_FORMAT {
        return Err(corrupt(
            path,
            &format!("format version {version}; this build reads version {SNAPSHOT_FORMAT}: rebuild the snapshot"),
        ));
    }
    Ok(())
}

fn parse_meta(path: &Path, bytes: &[u8]) -> Result<SnapshotMeta, ScoringError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(path, &format!("header: {e}")))
}

/// Rebuilds the scores from the flat frame.
fn scores_from_frame(path: &Path, df: &DataFrame) -> Result<Vec<CustomerScore>, ScoringError> {
    let text = |name: &str| -> Result<&StringChunked, ScoringError> {
        df.column(name)
            .and_then(|c| c.str())
            .map_err(|e| corrupt(path, &format!("scores column `{name}`: {e}")))
    };
    let num = |name: &str| -> Result<&Float64Chunked, ScoringError> {
        df.column(name)
            .and_then(|c| c.f64())
            .map_err(|e| corrupt(path, &format!("scores column `{name}`: {e}")))
    };
    let has = |name: &str| df.column(name).is_ok();
    let (id, segment, region, manager, tier) = (
        text(CUSTOMER_ID)?,
        text(SEGMENT)?,
        text(REGION)?,
        text(MANAGER)?,
        text(TIER)?,
    );
    let (prob, band, clv, var, uplift, action) = (
        num(PROBABILITY)?,
        text(RISK_BAND)?,
        num(CLV)?,
        num(VALUE_AT_RISK)?,
        num(UPLIFT)?,
        text(ACTION)?,
    );
    let mut reasons = Vec::new();
    for k in 0.. {
        if !has(&reason_col(k, "feature")) {
            break;
        }
        reasons.push((
            text(&reason_col(k, "feature"))?,
            num(&reason_col(k, "value"))?,
            num(&reason_col(k, "contribution"))?,
        ));
    }
    let mut products = Vec::new();
    for k in 0.. {
        if !has(&product_col(k, "id")) {
            break;
        }
        products.push((
            [
                text(&product_col(k, "id"))?,
                text(&product_col(k, "name"))?,
                text(&product_col(k, "category"))?,
                text(&product_col(k, "kind"))?,
                text(&product_col(k, "rationale"))?,
            ],
            [
                num(&product_col(k, "expected_gain"))?,
                num(&product_col(k, "adoption_probability"))?,
                num(&product_col(k, "monthly_saving"))?,
            ],
        ));
    }
    let missing =
        |row: usize, column: &str| corrupt(path, &format!("row {row}: `{column}` is null"));
    (0..df.height())
        .into_par_iter()
        .map(|i| {
            let band_text = band.get(i).ok_or_else(|| missing(i, RISK_BAND))?;
            let risk_band = RiskBand::parse(band_text).ok_or_else(|| {
                corrupt(path, &format!("row {i}: unknown risk band `{band_text}`"))
            })?;
            let mut rs = Vec::with_capacity(reasons.len());
            for (f, v, c) in &reasons {
                if let Some(feature) = f.get(i) {
                    rs.push(ScoreReason {
                        feature: feature.to_string(),
                        value: v.get(i),
                        contribution: c.get(i).ok_or_else(|| missing(i, "reason contribution"))?,
                    });
                }
            }
            let mut ps = Vec::with_capacity(products.len());
            for ([pid, name, cat, kind, why], [gain, adopt, saving]) in &products {
                if let Some(product_id) = pid.get(i) {
                    let kind_text = kind.get(i).ok_or_else(|| missing(i, "product kind"))?;
                    ps.push(ProductSuggestion {
                        product_id: product_id.to_string(),
                        product_name: name.get(i).unwrap_or_default().to_string(),
                        category: cat.get(i).unwrap_or_default().to_string(),
                        kind: SuggestionKind::parse(kind_text).ok_or_else(|| {
                            corrupt(
                                path,
                                &format!("row {i}: unknown suggestion kind `{kind_text}`"),
                            )
                        })?,
                        expected_gain: gain.get(i).unwrap_or(0.0),
                        adoption_probability: adopt.get(i).unwrap_or(0.0),
                        monthly_saving: saving.get(i),
                        rationale: why.get(i).unwrap_or_default().to_string(),
                    });
                }
            }
            Ok(CustomerScore {
                customer_id: id
                    .get(i)
                    .ok_or_else(|| missing(i, CUSTOMER_ID))?
                    .to_string(),
                segment: segment
                    .get(i)
                    .ok_or_else(|| missing(i, SEGMENT))?
                    .to_string(),
                region: region.get(i).ok_or_else(|| missing(i, REGION))?.to_string(),
                account_manager_id: manager.get(i).map(str::to_string),
                tier: tier.get(i).ok_or_else(|| missing(i, TIER))?.to_string(),
                churn_probability: prob.get(i).ok_or_else(|| missing(i, PROBABILITY))?,
                risk_band,
                reasons: rs,
                clv: clv.get(i).ok_or_else(|| missing(i, CLV))?,
                value_at_risk: var.get(i).ok_or_else(|| missing(i, VALUE_AT_RISK))?,
                expected_uplift: uplift.get(i),
                next_best_products: ps,
                action: action.get(i).ok_or_else(|| missing(i, ACTION))?.to_string(),
            })
        })
        .collect()
}
