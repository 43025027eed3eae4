//! Building a snapshot: load → features at the newest as-of date → champion → calibrated
//! probability + top reasons → risk band → CLV → suggestions → value at risk → action.
//! [`score_features`] is the scoring stage alone (the part the 1M-customer bar times).

use std::path::Path;
use std::time::Instant;

use chrono::{NaiveDate, SecondsFormat, Utc};
use polars::prelude::{DataFrame, IdxCa, IdxSize, StringChunked};
use rayon::prelude::*;

use super::action::action_text;
use super::fingerprint::data_fingerprint;
use super::snapshot::{BuildTimings, Snapshot, SnapshotKey, SnapshotMeta, UpliftInfo};
use super::{
    Components, CustomerScore, ModelInfo, ProductSuggestion, ScoreReason, ScoringConfig,
    ScoringError,
};
use crate::campaigns::{artifact, UpliftArtifact};
use crate::features::{self, columns, FeatureSet, CHURN_PREDICTION_FEATURES, CUSTOMER_360_VIEW};
use crate::registry::{Manifest, Registry, RegistryError};
use crate::training::models::{Attribution, ChurnModel};
use crate::warehouse::schema::customer;
use crate::warehouse::{self, Warehouse};

/// CPU seconds (user + system) this process has used so far, all threads (0 when unknown).
/// On a shared machine it shows the work apart from the waiting.
pub fn process_cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage only writes into the struct we pass; it is zero-initialised.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if rc != 0 {
        return 0.0;
    }
    // SAFETY: rc == 0 means the kernel filled the struct.
    let u = unsafe { usage.assume_init() };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(u.ru_utime) + secs(u.ru_stime)
}

/// A step of [`Snapshot::build`], reported to the progress callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildStep {
    Load,
    Features,
    Model,
    /// Encode + predict + explain, reported per batch of rows.
    Score,
    Clv,
    Suggestions,
    Assemble,
}

impl BuildStep {
    pub fn label(self) -> &'static str {
        match self {
            BuildStep::Load => "loading",
            BuildStep::Features => "features",
            BuildStep::Model => "champion",
            BuildStep::Score => "scoring",
            BuildStep::Clv => "CLV",
            BuildStep::Suggestions => "suggestions",
            BuildStep::Assemble => "assembling",
        }
    }
}

/// Progress callback: `(step, done, total)`; `total` is the customers for [`BuildStep::Score`]
/// and 1 for the other steps (called with `done = 0` when a step starts).
pub type Progress<'a> = &'a mut dyn FnMut(BuildStep, usize, usize);

/// The champion (or `cfg.model`) of the registry in `models`: a clear error when the registry
/// does not exist or has no such alias.
pub fn load_champion(models: &Path, name: &str) -> Result<(Manifest, ChurnModel), ScoringError> {
    let no_champion = || ScoringError::NoChampion {
        dir: models.to_path_buf(),
    };
    if !models.is_dir() {
        return Err(no_champion());
    }
    let reg_err = |source| ScoringError::Registry {
        dir: models.to_path_buf(),
        source,
    };
    let reg = Registry::open(models).map_err(reg_err)?;
    let (manifest, bytes) = match reg.load_artifact(name) {
        Ok(v) => v,
        Err(RegistryError::NotFound { .. }) => return Err(no_champion()),
        Err(e) => return Err(reg_err(e)),
    };
    let model = ChurnModel::from_bytes(&bytes).map_err(|source| ScoringError::Model {
        version: manifest.version.clone(),
        source,
    })?;
    Ok((manifest, model))
}

/// The [`ModelInfo`] of a registered model.
pub fn model_info(m: &Manifest) -> ModelInfo {
    ModelInfo {
        version: m.version.clone(),
        algorithm: m.algorithm.clone(),
        training_as_of: m.training_as_of.clone(),
        features: m.features.clone(),
        metrics: m.metrics.clone(),
        created_at: m.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

impl Snapshot {
    /// Builds the snapshot of the warehouse export in `data` with the model `cfg.model`
    /// (default: the champion) of the registry in `models`. The champion is resolved first, so
    /// a registry without one fails before the warehouse is read.
    pub fn build(
        data: &Path,
        models: &Path,
        cfg: &ScoringConfig,
        progress: Progress<'_>,
    ) -> Result<Snapshot, ScoringError> {
        cfg.check()?;
        let started = Instant::now();
        progress(BuildStep::Model, 0, 1);
        let (manifest, model) = load_champion(models, &cfg.model)?;
        let uplift = UpliftArtifact::load(models).map_err(|e| ScoringError::Component {
            component: "uplift model",
            message: e.to_string(),
        })?;
        let model_load = started.elapsed().as_secs_f64();
        progress(BuildStep::Load, 0, 1);
        let t = Instant::now();
        let fingerprint = data_fingerprint(data)?;
        let (wh, _report) = warehouse::load(data).map_err(|source| ScoringError::Load {
            dir: data.to_path_buf(),
            source,
        })?;
        let load = t.elapsed().as_secs_f64();
        let mut snap = Snapshot::build_from_warehouse(
            &wh,
            Some(fingerprint),
            &manifest,
            &model,
            uplift.as_ref(),
            cfg,
            progress,
        )?;
        snap.meta.timings.load = load;
        snap.meta.timings.model_load = model_load;
        snap.meta.timings.total = started.elapsed().as_secs_f64();
        Ok(snap)
    }

    /// Builds a snapshot from a loaded warehouse: features as of its newest date, then
    /// [`score_features`]. With an `uplift` model every customer also gets an expected churn
    /// reduction from a retention offer.
    #[allow(clippy::too_many_arguments)]
    pub fn build_from_warehouse(
        wh: &Warehouse,
        data_fingerprint: Option<String>,
        manifest: &Manifest,
        model: &ChurnModel,
        uplift: Option<&UpliftArtifact>,
        cfg: &ScoringConfig,
        progress: Progress<'_>,
    ) -> Result<Snapshot, ScoringError> {
        cfg.check()?;
        let started = Instant::now();
        let as_of = wh.observed_until().ok_or(ScoringError::NoAsOfDate)?;
        progress(BuildStep::Features, 0, 1);
        let set = features::build(wh, &[as_of], Some(as_of))
            .map_err(|source| ScoringError::Features { as_of, source })?;
        let features_seconds = started.elapsed().as_secs_f64();
        let mut snap = score_features(
            wh,
            as_of,
            set,
            data_fingerprint,
            manifest,
            model,
            uplift,
            cfg,
            progress,
        )?;
        snap.meta.timings.features = features_seconds;
        snap.meta.timings.total = started.elapsed().as_secs_f64();
        Ok(snap)
    }
}

fn polars_err(
    table: &'static str,
    step: &'static str,
) -> impl FnOnce(polars::prelude::PolarsError) -> ScoringError {
    move |source| ScoringError::Polars {
        table,
        step,
        source,
    }
}

fn str_column<'a>(
    df: &'a DataFrame,
    table: &'static str,
    name: &str,
) -> Result<&'a StringChunked, ScoringError> {
    df.column(name)
        .and_then(|c| c.str())
        .map_err(|e| ScoringError::Column {
            table,
            column: name.to_string(),
            found: e.to_string(),
        })
}

/// Non-null text values of a column (an error names the first null row).
fn texts<'a>(
    ca: &'a StringChunked,
    table: &'static str,
    column: &str,
) -> Result<Vec<&'a str>, ScoringError> {
    ca.iter()
        .enumerate()
        .map(|(row, v)| {
            v.ok_or_else(|| ScoringError::BadValue {
                table,
                row,
                column: column.to_string(),
                problem: "null where a value is required".into(),
            })
        })
        .collect()
}

/// The per-customer rows sorted by customer_id: the permutation, applied to both frames, after
/// checking both hold the same customers in the same order and no customer twice.
fn sort_by_customer(
    ml: &DataFrame,
    view: &DataFrame,
) -> Result<(DataFrame, DataFrame), ScoringError> {
    let ml_ids = texts(
        str_column(ml, CHURN_PREDICTION_FEATURES, columns::CUSTOMER_ID)?,
        CHURN_PREDICTION_FEATURES,
        columns::CUSTOMER_ID,
    )?;
    let view_ids = texts(
        str_column(view, CUSTOMER_360_VIEW, columns::CUSTOMER_ID)?,
        CUSTOMER_360_VIEW,
        columns::CUSTOMER_ID,
    )?;
    if ml_ids != view_ids {
        return Err(ScoringError::Component {
            component: "features",
            message: "customer_360_view and churn_prediction_features hold different customers"
                .into(),
        });
    }
    if ml_ids.windows(2).all(|w| w[0] < w[1]) {
        // Already sorted and unique (the generator's and most exports' id order): no copy.
        let mut view = view.clone();
        view.rechunk_mut();
        return Ok((ml.clone(), view));
    }
    let mut perm: Vec<IdxSize> = (0..ml_ids.len() as IdxSize).collect();
    perm.par_sort_unstable_by(|&a, &b| ml_ids[a as usize].cmp(ml_ids[b as usize]));
    for w in perm.windows(2) {
        if ml_ids[w[0] as usize] == ml_ids[w[1] as usize] {
            return Err(ScoringError::DuplicateCustomer {
                table: CHURN_PREDICTION_FEATURES,
                customer_id: ml_ids[w[0] as usize].to_string(),
            });
        }
    }
    let idx = IdxCa::from_vec("idx".into(), perm);
    let ml = ml.take(&idx).map_err(polars_err(
        CHURN_PREDICTION_FEATURES,
        "sorting by customer_id",
    ))?;
    let mut view = view
        .take(&idx)
        .map_err(polars_err(CUSTOMER_360_VIEW, "sorting by customer_id"))?;
    view.rechunk_mut();
    Ok((ml, view))
}

/// Probabilities and reasons of every row, scored `cfg.batch_rows` at a time.
fn score_rows(
    ml: &DataFrame,
    version: &str,
    model: &ChurnModel,
    attribution: Attribution,
    cfg: &ScoringConfig,
    timings: &mut BuildTimings,
    progress: Progress<'_>,
) -> Result<(Vec<f64>, Vec<Vec<ScoreReason>>), ScoringError> {
    let n = ml.height();
    let model_err = |source| ScoringError::Model {
        version: version.to_string(),
        source,
    };
    let mut probability = Vec::with_capacity(n);
    let mut reasons = Vec::with_capacity(n);
    let mut offset = 0;
    progress(BuildStep::Score, 0, n);
    while offset < n {
        let len = cfg.batch_rows.min(n - offset);
        let batch = ml.slice(offset as i64, len);
        let t = Instant::now();
        let x = model.encoder().transform(&batch).map_err(model_err)?;
        timings.encode += t.elapsed().as_secs_f64();
        let t = Instant::now();
        probability.extend(model.predict_proba(&x).map_err(model_err)?);
        timings.predict += t.elapsed().as_secs_f64();
        let t = Instant::now();
        if cfg.top_reasons > 0 {
            let rows = model
                .explain_with(&x, cfg.top_reasons, attribution)
                .map_err(model_err)?;
            reasons.extend(rows);
        } else {
            reasons.extend((0..len).map(|_| Vec::new()));
        }
        timings.explain += t.elapsed().as_secs_f64();
        offset += len;
        progress(BuildStep::Score, offset, n);
    }
    Ok((probability, reasons))
}

/// The scoring stage: from the features of one as-of date (a [`FeatureSet`] built by
/// [`features::build`]) and a loaded model to the scored snapshot. `wh` feeds CLV margins and
/// suggestions. Timed step by step in [`SnapshotMeta::timings`].
#[allow(clippy::too_many_arguments)]
pub fn score_features(
    wh: &Warehouse,
    as_of: NaiveDate,
    set: FeatureSet,
    data_fingerprint: Option<String>,
    manifest: &Manifest,
    model: &ChurnModel,
    uplift: Option<&UpliftArtifact>,
    cfg: &ScoringConfig,
    progress: Progress<'_>,
) -> Result<Snapshot, ScoringError> {
    cfg.check()?;
    let started = Instant::now();
    let mut timings = BuildTimings::default();
    let FeatureSet {
        customer_360,
        segmentation,
        churn_features,
    } = set;
    let cpu_started = process_cpu_seconds();
    let t = Instant::now();
    let (ml, view) = sort_by_customer(&churn_features, &customer_360)?;
    drop(churn_features);
    drop(customer_360);
    timings.sort = t.elapsed().as_secs_f64();

    let attribution = cfg
        .reasons
        .resolve(model, ml.height(), cfg.exact_reasons_budget);
    let (probability, mut reasons) = score_rows(
        &ml,
        &manifest.version,
        model,
        attribution,
        cfg,
        &mut timings,
        progress,
    )?;
    // Expected churn reduction from a retention offer: the relative reduction the uplift model
    // (`churn campaigns` saved it next to the registry) estimates on the same features, times
    // the champion's calibrated risk.
    let t = Instant::now();
    let uplift_values = uplift
        .map(|a| a.relative_reduction_rows(&ml, cfg.batch_rows))
        .transpose()
        .map_err(|e| ScoringError::Component {
            component: "uplift",
            message: e.to_string(),
        })?
        .map(|relative| {
            relative
                .iter()
                .zip(&probability)
                .map(|(&r, &p)| artifact::expected_uplift(p, r))
                .collect::<Vec<f64>>()
        });
    timings.uplift = t.elapsed().as_secs_f64();
    drop(ml);

    let cpu_scored = process_cpu_seconds();
    timings.cpu_score = cpu_scored - cpu_started;
    let ids = texts(
        str_column(&view, CUSTOMER_360_VIEW, columns::CUSTOMER_ID)?,
        CUSTOMER_360_VIEW,
        columns::CUSTOMER_ID,
    )?;
    let n = ids.len();
    let mut components = Components::default();

    // CLV and suggestions are independent: run them side by side (each is partly serial).
    progress(BuildStep::Clv, 0, 1);
    let t = Instant::now();
    let (clv, suggestions) = rayon::join(
        || {
            let t = Instant::now();
            super::components::clv(wh, as_of, &ids, &probability, cfg)
                .map(|v| (v, t.elapsed().as_secs_f64()))
        },
        || {
            let t = Instant::now();
            super::components::suggestions(wh, as_of, &ids, &probability, &view, cfg)
                .map(|v| (v, t.elapsed().as_secs_f64()))
        },
    );
    let (clv, clv_seconds): (Option<Vec<f64>>, f64) = clv?;
    let (mut suggestions, suggestion_seconds): (Option<Vec<Vec<ProductSuggestion>>>, f64) =
        suggestions?;
    progress(BuildStep::Suggestions, 1, 1);
    components.clv = clv.is_some();
    components.suggestions = suggestions.is_some();
    timings.clv = clv_seconds;
    timings.suggestions = suggestion_seconds;
    timings.clv_and_suggestions = t.elapsed().as_secs_f64();

    let cpu_components = process_cpu_seconds();
    timings.cpu_clv_and_suggestions = cpu_components - cpu_scored;
    components.uplift = uplift_values.is_some();

    let cpu_assemble = process_cpu_seconds();
    progress(BuildStep::Assemble, 0, 1);
    let t = Instant::now();
    let segment = texts(
        str_column(&view, CUSTOMER_360_VIEW, customer::SEGMENT)?,
        CUSTOMER_360_VIEW,
        customer::SEGMENT,
    )?;
    let region = texts(
        str_column(&view, CUSTOMER_360_VIEW, customer::REGION)?,
        CUSTOMER_360_VIEW,
        customer::REGION,
    )?;
    let tier = texts(
        str_column(&view, CUSTOMER_360_VIEW, customer::TIER)?,
        CUSTOMER_360_VIEW,
        customer::TIER,
    )?;
    let manager: Vec<Option<&str>> =
        str_column(&view, CUSTOMER_360_VIEW, customer::ACCOUNT_MANAGER_ID)?
            .iter()
            .collect();
    let bands = cfg.risk_bands;
    let scores: Vec<CustomerScore> = (0..n)
        .into_par_iter()
        .zip(reasons.par_iter_mut())
        .zip(match suggestions.as_mut() {
            Some(s) => s.par_iter_mut().map(std::mem::take).collect::<Vec<_>>(),
            None => vec![Vec::new(); n],
        })
        .map(|((i, reasons), next_best_products)| {
            let p = probability[i];
            let clv_i = clv.as_ref().map_or(0.0, |c| c[i]);
            let mut score = CustomerScore {
                customer_id: ids[i].to_string(),
                segment: segment[i].to_string(),
                region: region[i].to_string(),
                account_manager_id: manager[i].map(str::to_string),
                tier: tier[i].to_string(),
                churn_probability: p,
                risk_band: bands.band(p),
                reasons: std::mem::take(reasons),
                clv: clv_i,
                value_at_risk: if clv.is_some() { p * clv_i } else { 0.0 },
                expected_uplift: uplift_values.as_ref().map(|u| u[i]),
                next_best_products,
                action: String::new(),
            };
            score.action = action_text(&score, components);
            score
        })
        .collect();
    drop(reasons);
    let meta = SnapshotMeta {
        as_of,
        model: model_info(manifest),
        key: SnapshotKey {
            data_fingerprint,
            model_version: manifest.version.clone(),
        },
        built_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        config: cfg.clone(),
        components,
        reason_method: model.attribution_name(attribution).to_string(),
        uplift_model: uplift.map(UpliftInfo::of),
        customers: n,
        timings: BuildTimings::default(),
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let mut segmentation = segmentation;
    segmentation.rechunk_mut();
    let mut snap = Snapshot::assemble(meta, scores, view, segmentation);
    timings.assemble += t.elapsed().as_secs_f64();
    timings.scoring_stage = started.elapsed().as_secs_f64();
    let cpu_done = process_cpu_seconds();
    timings.cpu_assemble = cpu_done - cpu_assemble;
    timings.scoring_stage_cpu = cpu_done - cpu_started;
    timings.total = timings.scoring_stage;
    snap.meta.timings = timings;
    Ok(snap)
}
