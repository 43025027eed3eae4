//! `churn retrain`: the scheduled job that trains new candidates on the newest data and replaces
//! the champion only when a challenger is better beyond noise.
//!
//! In: a warehouse directory, the registry, [`RetrainOptions`]. Out: a [`RetrainOutcome`] with
//! a [`Decision`] whose [`Decision::exit_code`] a scheduler can act on (0 promoted, 10 kept, 1
//! failed, 75 another run holds the lock), and one line appended to `<models>/retrain.jsonl`
//! per run, whatever happened ([`RetrainLogEntry`]).
//!
//! The run holds the registry's `retrain` lock from start to end. It measures feature drift of
//! today's data (the newest as-of date) against the champion's training data (PSI, see
//! [`crate::training::drift`]); with `skip_if_no_drift` it stops there unless some feature
//! drifted. Otherwise it builds the out-of-time training set, trains the candidates, scores the
//! champion **on the same test rows** and applies the [`gate`]: promote the best challenger (by
//! validation AUC) only when the lower end of the paired-bootstrap confidence interval of
//! `AUC(challenger) − AUC(champion)` is above `min_auc_gain` (default 0) and its ECE is not
//! worse than the champion's by more than `max_ece_increase` (default 0.01).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::features::churn_prediction_features;
use crate::progress;
use crate::registry::{Action, Registry, RegistryError, CHALLENGER, CHAMPION};
use crate::training::dataset::{warehouse_training_set, DataSource, DatasetError};
use crate::training::drift::{DriftReport, DriftSummary, DEFAULT_DRIFT_THRESHOLD};
use crate::training::evaluate::{
    check_bootstrap, check_inputs, quantile_sorted, stratified_resample, EvalError, Evaluation,
};
use crate::training::models::ChurnModel;
use crate::training::pipeline::{
    best_by_validation, dataset_facts, default_report_dir, describe_dataset, encode_set,
    fit_candidates, load_model, manifest_metrics, model_metrics_entry, model_profile, model_report,
    oracle, oracle_report, register_candidate, score_and_evaluate, short_version, write_reports,
    Candidate, TrainError, TrainOptions,
};
use crate::training::report::{comparison_table_text, ModelReport, ReportInput};
use crate::warehouse;

/// The registry lock a retrain holds for its whole run.
pub const RETRAIN_LOCK: &str = "retrain";
/// The retraining log's file name in the registry directory.
pub const RETRAIN_LOG: &str = "retrain.jsonl";
/// Exit code: a challenger was promoted (or became the first champion).
pub const EXIT_PROMOTED: u8 = 0;
/// Exit code: the run failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: the champion was kept (the challenger was not better beyond noise, or no feature
/// drifted and `skip_if_no_drift` was set).
pub const EXIT_KEPT: u8 = 10;
/// Exit code: another retrain holds the lock (`EX_TEMPFAIL`: try again later).
pub const EXIT_LOCKED: u8 = 75;
/// Largest PSIs kept in the log's drift summary.
pub const DRIFT_TOP_IN_LOG: usize = 10;

/// When a challenger replaces the champion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GateOptions {
    /// Promote only when the lower confidence bound of `AUC(challenger) − AUC(champion)` is
    /// strictly above this. Defaults to `0.0` (better beyond noise).
    pub min_auc_gain: f64,
    /// …and the challenger's ECE is at most the champion's plus this. Defaults to `0.01`.
    pub max_ece_increase: f64,
    /// Confidence level of the interval. Defaults to `0.95`.
    pub confidence: f64,
    /// Paired bootstrap resamples. Defaults to `1000`.
    pub resamples: usize,
    /// Seed of the bootstrap. Defaults to `42`.
    pub seed: u64,
}

impl Default for GateOptions {
    fn default() -> Self {
        GateOptions {
            min_auc_gain: 0.0,
            max_ece_increase: 0.01,
            confidence: 0.95,
            resamples: 1000,
            seed: 42,
        }
    }
}

/// The paired bootstrap of an AUC difference on one test set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedAucDiff {
    pub champion_auc: f64,
    pub challenger_auc: f64,
    /// `challenger_auc − champion_auc` on the full test set.
    pub difference: f64,
    /// Percentile interval of the difference over the resamples.
    pub lower: f64,
    pub upper: f64,
    pub confidence: f64,
    pub resamples: usize,
}

/// Rows sorted by score, ascending, cut into groups of equal score.
struct Ranked {
    order: Vec<usize>,
    /// Group `g` is `order[starts[g]..starts[g + 1]]`.
    starts: Vec<usize>,
}

fn ranked(scores: &[f64]) -> Ranked {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut starts = vec![0];
    for k in 1..order.len() {
        if scores[order[k]] != scores[order[k - 1]] {
            starts.push(k);
        }
    }
    starts.push(order.len());
    Ranked { order, starts }
}

/// ROC AUC with integer row weights (a bootstrap resample): the weighted share of
/// (churner, stayer) pairs ranked correctly, ties counting half.
fn weighted_auc(r: &Ranked, labels: &[f64], weights: &[u32]) -> f64 {
    let (mut below_neg, mut pairs, mut pos_total) = (0.0f64, 0.0f64, 0.0f64);
    for g in r.starts.windows(2) {
        let (mut pos, mut neg) = (0.0, 0.0);
        for &i in &r.order[g[0]..g[1]] {
            let w = f64::from(weights[i]);
            if labels[i] == 1.0 {
                pos += w;
            } else {
                neg += w;
            }
        }
        pairs += pos * (below_neg + 0.5 * neg);
        below_neg += neg;
        pos_total += pos;
    }
    if pos_total == 0.0 || below_neg == 0.0 {
        return 0.5;
    }
    pairs / (pos_total * below_neg)
}

/// Paired, stratified bootstrap of `AUC(challenger) − AUC(champion)` on the same rows: each
/// resample draws churners from the churners and stayers from the stayers with replacement and
/// scores **both** models on the same drawn rows, so the noise the two share cancels. The
/// interval is the `(1−c)/2` and `(1+c)/2` quantiles of the resampled differences.
/// Deterministic for a seed (resample `r` uses ChaCha8 stream `r`).
pub fn paired_auc_difference(
    champion: &[f64],
    challenger: &[f64],
    labels: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Result<PairedAucDiff, EvalError> {
    check_inputs(champion, labels)?.need_both("paired AUC bootstrap")?;
    check_inputs(challenger, labels)?;
    check_bootstrap("resamples", resamples, confidence)?;
    let (a, b) = (ranked(champion), ranked(challenger));
    let ones = vec![1u32; labels.len()];
    let champion_auc = weighted_auc(&a, labels, &ones);
    let challenger_auc = weighted_auc(&b, labels, &ones);
    let (pos, neg): (Vec<usize>, Vec<usize>) = (0..labels.len()).partition(|&i| labels[i] == 1.0);
    let mut diffs: Vec<f64> = (0..resamples)
        .into_par_iter()
        .map(|r| {
            let w = stratified_resample(seed, r, &pos, &neg, labels.len());
            weighted_auc(&b, labels, &w) - weighted_auc(&a, labels, &w)
        })
        .collect();
    diffs.sort_by(f64::total_cmp);
    let alpha = (1.0 - confidence) / 2.0;
    Ok(PairedAucDiff {
        champion_auc,
        challenger_auc,
        difference: challenger_auc - champion_auc,
        lower: quantile_sorted(&diffs, alpha),
        upper: quantile_sorted(&diffs, 1.0 - alpha),
        confidence,
        resamples,
    })
}

/// The gate's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    pub auc: PairedAucDiff,
    pub champion_ece: f64,
    pub challenger_ece: f64,
    /// The lower bound of the AUC difference is above `min_auc_gain`.
    pub auc_passed: bool,
    /// The ECE did not get worse by more than `max_ece_increase`.
    pub ece_passed: bool,
    pub promote: bool,
    /// The verdict in words, for the log and the history.
    pub reason: String,
}

/// Compares a challenger with the champion on the same test rows (scores and ECEs of each).
pub fn gate(
    champion_scores: &[f64],
    champion_ece: f64,
    challenger_scores: &[f64],
    challenger_ece: f64,
    labels: &[f64],
    options: &GateOptions,
) -> Result<GateResult, EvalError> {
    let auc = paired_auc_difference(
        champion_scores,
        challenger_scores,
        labels,
        options.resamples,
        options.confidence,
        options.seed,
    )?;
    let auc_passed = auc.lower > options.min_auc_gain;
    let ece_passed = challenger_ece <= champion_ece + options.max_ece_increase;
    let promote = auc_passed && ece_passed;
    let pct = (100.0 * options.confidence).round();
    let auc_words = format!(
        "AUC {:.4} vs {:.4}, difference {:+.4} ({pct}% CI [{:+.4}, {:+.4}])",
        auc.challenger_auc, auc.champion_auc, auc.difference, auc.lower, auc.upper
    );
    let ece_words = format!(
        "ECE {challenger_ece:.4} vs {champion_ece:.4} (allowed up to {:.4})",
        champion_ece + options.max_ece_increase
    );
    let reason = if promote {
        format!("challenger better beyond noise: {auc_words}; {ece_words}")
    } else if !auc_passed {
        format!(
            "kept champion: the challenger is not better beyond noise (lower bound {:+.4} ≤ {:+.4}): {auc_words}; {ece_words}",
            auc.lower, options.min_auc_gain
        )
    } else {
        format!("kept champion: the challenger is worse calibrated: {ece_words}; {auc_words}")
    };
    Ok(GateResult {
        auc,
        champion_ece,
        challenger_ece,
        auc_passed,
        ece_passed,
        promote,
        reason,
    })
}

// ------------------------------------------------------------------------------ the job

/// What `churn retrain` does.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrainOptions {
    /// The warehouse export directory.
    pub data: PathBuf,
    /// The registry directory (holds the lock and `retrain.jsonl`).
    pub models_dir: PathBuf,
    /// As-of dates; empty = the default month-ends (see `dataset::plan_dates`).
    pub as_of: Vec<NaiveDate>,
    pub train: TrainOptions,
    pub gate: GateOptions,
    /// A feature has drifted when its PSI is above this. Defaults to `0.25`.
    pub drift_threshold: f64,
    /// Skip training (exit 10) unless some feature drifted.
    pub skip_if_no_drift: bool,
    /// Where report.html and metrics.json go; `None` = `<models>/reports/<UTC time>`.
    pub out_dir: Option<PathBuf>,
}

impl RetrainOptions {
    /// Defaults for a warehouse and a registry.
    pub fn new(data: &Path, models_dir: &Path) -> Self {
        RetrainOptions {
            data: data.to_path_buf(),
            models_dir: models_dir.to_path_buf(),
            as_of: Vec::new(),
            train: TrainOptions::default(),
            gate: GateOptions::default(),
            drift_threshold: DEFAULT_DRIFT_THRESHOLD,
            skip_if_no_drift: false,
            out_dir: None,
        }
    }
}

/// Why a retrain failed.
#[derive(Debug, thiserror::Error)]
pub enum RetrainError {
    /// Another run holds the lock (exit code 75).
    #[error("{0}")]
    Locked(#[source] RegistryError),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("gate: {0}")]
    Gate(#[source] EvalError),
    #[error("invalid retrain setting {name} = {value}: {reason}")]
    InvalidOption {
        name: &'static str,
        value: String,
        reason: &'static str,
    },
}

impl RetrainError {
    /// [`EXIT_LOCKED`] for a held lock, [`EXIT_FAILED`] otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            RetrainError::Locked(_) => EXIT_LOCKED,
            _ => EXIT_FAILED,
        }
    }
}

impl From<DatasetError> for RetrainError {
    fn from(e: DatasetError) -> Self {
        RetrainError::Train(TrainError::Dataset(e))
    }
}

/// What a run decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The best challenger passed the gate and is now champion.
    Promoted,
    /// The registry had no champion: the best candidate became it.
    FirstChampion,
    /// The champion stays; the best candidate is `challenger`.
    Kept,
    /// No feature drifted and `skip_if_no_drift` was set: nothing was trained.
    SkippedNoDrift,
}

impl Decision {
    pub fn exit_code(self) -> u8 {
        match self {
            Decision::Promoted | Decision::FirstChampion => EXIT_PROMOTED,
            Decision::Kept | Decision::SkippedNoDrift => EXIT_KEPT,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Promoted => "promoted",
            Decision::FirstChampion => "first_champion",
            Decision::Kept => "kept",
            Decision::SkippedNoDrift => "skipped_no_drift",
        }
    }
}

/// A model as the log records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedModel {
    pub version: String,
    pub algorithm: String,
    /// ROC AUC on this run's test rows (absent when it could not be scored).
    pub test_auc: Option<f64>,
    pub test_ece: Option<f64>,
    /// Candidates only.
    pub validation_auc: Option<f64>,
}

/// One line of `retrain.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrainLogEntry {
    pub time: DateTime<Utc>,
    /// `promoted`, `first_champion`, `kept`, `skipped_no_drift`, `failed` or `locked`.
    pub status: String,
    pub exit_code: u8,
    pub reason: String,
    pub data: PathBuf,
    pub data_fingerprint: Option<String>,
    /// Train / valid / test as-of dates.
    pub dates: Option<serde_json::Value>,
    /// The champion before the run.
    pub champion: Option<LoggedModel>,
    /// The best candidate of the run.
    pub challenger: Option<LoggedModel>,
    /// Every candidate registered by the run.
    pub candidates: Vec<LoggedModel>,
    pub gate: Option<GateResult>,
    pub drift: Option<DriftSummary>,
    pub seconds: f64,
    pub pid: u32,
}

impl RetrainLogEntry {
    fn new(data: &Path) -> Self {
        RetrainLogEntry {
            time: Utc::now(),
            status: String::new(),
            exit_code: EXIT_FAILED,
            reason: String::new(),
            data: data.to_path_buf(),
            data_fingerprint: None,
            dates: None,
            champion: None,
            challenger: None,
            candidates: Vec::new(),
            gate: None,
            drift: None,
            seconds: 0.0,
            pid: std::process::id(),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RetrainOutcome {
    pub decision: Decision,
    pub reason: String,
    /// The line appended to the log.
    pub log: RetrainLogEntry,
    /// Feature drift of today's data against the champion (when it has a profile).
    pub drift: Option<DriftReport>,
    /// The comparison table (candidates, champion, oracle) when models were trained.
    pub table: Option<String>,
    pub report_html: Option<PathBuf>,
    pub metrics_json: Option<PathBuf>,
    /// The champion after the run.
    pub champion: Option<String>,
}

impl RetrainOutcome {
    pub fn exit_code(&self) -> u8 {
        self.decision.exit_code()
    }
}

/// Appends one line to `<models>/retrain.jsonl` (O_APPEND + fsync).
pub fn append_log(models_dir: &Path, entry: &RetrainLogEntry) -> std::io::Result<()> {
    std::fs::create_dir_all(models_dir)?;
    let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(models_dir.join(RETRAIN_LOG))?;
    f.write_all(&line)?;
    f.sync_data()
}

/// Reads the retraining log (lines that do not parse are skipped).
pub fn read_log(models_dir: &Path) -> std::io::Result<Vec<RetrainLogEntry>> {
    let text = match std::fs::read_to_string(models_dir.join(RETRAIN_LOG)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// Runs one retrain and appends its log line, whatever the result (a failure and a held lock
/// are logged too, with their message).
pub fn retrain(options: &RetrainOptions) -> Result<RetrainOutcome, RetrainError> {
    let started = Instant::now();
    let mut log = RetrainLogEntry::new(&options.data);
    let result = run(options, &mut log);
    log.seconds = started.elapsed().as_secs_f64();
    match result {
        Ok(mut outcome) => {
            log.status = outcome.decision.as_str().to_string();
            log.exit_code = outcome.decision.exit_code();
            log.reason = outcome.reason.clone();
            if let Err(e) = append_log(&options.models_dir, &log) {
                tracing::warn!(error = %e, "Could not append to the retraining log");
            }
            outcome.log = log;
            Ok(outcome)
        }
        Err(e) => {
            log.status = if e.exit_code() == EXIT_LOCKED {
                "locked".into()
            } else {
                "failed".into()
            };
            log.exit_code = e.exit_code();
            log.reason = e.to_string();
            if let Err(io) = append_log(&options.models_dir, &log) {
                tracing::warn!(error = %io, "Could not append to the retraining log");
            }
            Err(e)
        }
    }
}

fn check_options(o: &RetrainOptions) -> Result<(), RetrainError> {
    let invalid = |name, value: f64, reason| RetrainError::InvalidOption {
        name,
        value: value.to_string(),
        reason,
    };
    if !(o.drift_threshold.is_finite() && o.drift_threshold >= 0.0) {
        return Err(invalid(
            "drift_threshold",
            o.drift_threshold,
            "must be a finite number ≥ 0",
        ));
    }
    if !o.gate.min_auc_gain.is_finite() {
        return Err(invalid(
            "min_auc_gain",
            o.gate.min_auc_gain,
            "must be a finite number",
        ));
    }
    if !(o.gate.max_ece_increase.is_finite() && o.gate.max_ece_increase >= 0.0) {
        return Err(invalid(
            "max_ece_increase",
            o.gate.max_ece_increase,
            "must be a finite number ≥ 0",
        ));
    }
    if !(o.gate.confidence > 0.0 && o.gate.confidence < 1.0) {
        return Err(invalid(
            "confidence",
            o.gate.confidence,
            "must lie strictly between 0 and 1",
        ));
    }
    if o.gate.resamples == 0 {
        return Err(invalid("resamples", 0.0, "must be at least 1"));
    }
    Ok(())
}

fn logged_candidate(c: &Candidate, version: &str) -> LoggedModel {
    LoggedModel {
        version: version.to_string(),
        algorithm: c.model.algorithm().to_string(),
        test_auc: Some(c.test.roc_auc),
        test_ece: Some(c.test.calibration.ece),
        validation_auc: Some(c.validation_auc),
    }
}

/// The champion scored on this run's test rows, or why it could not be.
struct ChampionScore {
    version: String,
    model: ChurnModel,
    scored: Result<(Vec<f64>, Evaluation), String>,
}

fn run(o: &RetrainOptions, log: &mut RetrainLogEntry) -> Result<RetrainOutcome, RetrainError> {
    check_options(o)?;
    o.train.check()?;
    let reg = Registry::open(&o.models_dir)?
        .with_actor(format!("churn retrain (pid {})", std::process::id()));
    let _lock = reg.lock(RETRAIN_LOCK).map_err(|e| match e {
        e @ RegistryError::Locked { .. } => RetrainError::Locked(e),
        other => RetrainError::Registry(other),
    })?;

    let spinner = progress::spinner("loading data");
    let (wh, _report) = warehouse::load(&o.data).map_err(TrainError::from)?;
    let observed_until = wh.observed_until().ok_or(DatasetError::EmptyWarehouse)?;
    spinner.finish_and_clear();

    // The champion and the drift of today's features against its training data.
    let champion = match reg.alias(CHAMPION)? {
        Some(version) => Some(load_model(&reg, &version)?),
        None => None,
    };
    let mut drift = None;
    if let Some((manifest, model)) = &champion {
        log.champion = Some(LoggedModel {
            version: manifest.version.clone(),
            algorithm: manifest.algorithm.clone(),
            test_auc: None,
            test_ece: None,
            validation_auc: None,
        });
        if let Some(profile) = model_profile(model, &manifest.version)? {
            let today = churn_prediction_features(&wh, &[observed_until], None)
                .map_err(DatasetError::from)?;
            // A champion that cannot read today's features has no drift to report; the gate
            // below replaces it (it cannot score the test rows either).
            match model.encoder().transform(&today) {
                Ok(x) => {
                    let report = profile
                        .compare(&x.names, &x.columns)
                        .map_err(TrainError::from)?;
                    log.drift = Some(report.summary(o.drift_threshold, DRIFT_TOP_IN_LOG));
                    drift = Some(report);
                }
                Err(e) => tracing::warn!(
                    version = %manifest.version,
                    error = %e,
                    "The champion cannot encode today's features; no drift measured"
                ),
            }
        }
    }
    if o.skip_if_no_drift {
        if let (Some((manifest, _)), Some(report)) = (&champion, &drift) {
            if report.above(o.drift_threshold).is_empty() {
                let top = report
                    .max()
                    .map(|f| format!("{} {:.4}", f.feature, f.psi))
                    .unwrap_or_else(|| "none".into());
                return Ok(RetrainOutcome {
                    decision: Decision::SkippedNoDrift,
                    reason: format!(
                        "no drift: no feature's PSI is above {} as of {observed_until} (largest: {top}); champion {} kept, nothing trained",
                        o.drift_threshold, manifest.version
                    ),
                    log: log.clone(),
                    drift,
                    table: None,
                    report_html: None,
                    metrics_json: None,
                    champion: Some(manifest.version.clone()),
                });
            }
        }
    }

    // Candidates on the newest out-of-time split.
    let spinner = progress::spinner("building features");
    let set = warehouse_training_set(&wh, &o.as_of)?;
    let encoded = encode_set(&set)?;
    spinner.finish_and_clear();
    log.data_fingerprint = Some(set.fingerprint.clone());
    if let DataSource::Warehouse { plan } = &set.source {
        log.dates = Some(serde_json::json!({
            "train": plan.train, "valid": plan.valid, "test": plan.test,
            "observed_until": plan.observed_until,
        }));
    }
    let bar = progress::bar(o.train.algorithms.len() as u64, "training");
    let candidates = fit_candidates(&set, &encoded, &o.train, |done, a| {
        bar.set_position(done as u64);
        bar.set_message(a.to_string());
    })?;
    bar.finish_and_clear();
    let best = best_by_validation(&candidates).ok_or(TrainError::NoAlgorithms)?;
    let oracle = oracle(&o.data, &set, &o.train.eval)?;

    // The champion on the same test rows, and the gate.
    let champion = champion.map(|(manifest, model)| {
        let scored = score_and_evaluate(
            &model,
            &manifest.version,
            &set.test.frame,
            &set.test.labels,
            &o.train.eval,
        )
        .map_err(|e| e.to_string());
        ChampionScore {
            version: manifest.version,
            model,
            scored,
        }
    });
    if let (Some(logged), Some(Ok((_, ev)))) =
        (log.champion.as_mut(), champion.as_ref().map(|c| &c.scored))
    {
        logged.test_auc = Some(ev.roc_auc);
        logged.test_ece = Some(ev.calibration.ece);
    }
    let challenger = &candidates[best];
    let verdict = match champion.as_ref().map(|c| &c.scored) {
        Some(Ok((scores, ev))) => Some(
            gate(
                scores,
                ev.calibration.ece,
                &challenger.test_scores,
                challenger.test.calibration.ece,
                &set.test.labels,
                &o.gate,
            )
            .map_err(RetrainError::Gate)?,
        ),
        _ => None,
    };
    log.gate = verdict.clone();

    // Register every candidate, then move the aliases.
    let mut versions = Vec::with_capacity(candidates.len());
    for (i, c) in candidates.iter().enumerate() {
        let mut metrics = manifest_metrics(c, &set, oracle.as_ref());
        if i == best {
            if let (Some(obj), Some(v)) = (metrics.as_object_mut(), &verdict) {
                obj.insert(
                    "gate".into(),
                    serde_json::to_value(v).unwrap_or(serde_json::Value::Null),
                );
            }
        }
        versions.push(register_candidate(&reg, c, &set, metrics)?.version);
    }
    log.candidates = candidates
        .iter()
        .zip(&versions)
        .map(|(c, v)| logged_candidate(c, v))
        .collect();
    let best_version = versions[best].clone();
    log.challenger = Some(logged_candidate(challenger, &best_version));

    let (decision, reason) = match (&champion, &verdict) {
        (None, _) => {
            let reason = format!(
                "first champion: the registry had none; best of {} by validation AUC {:.4} (test AUC {:.4})",
                candidates.len(),
                challenger.validation_auc,
                challenger.test.roc_auc
            );
            match reg.auto_champion(&best_version, &reason)? {
                Some(_) => (Decision::FirstChampion, reason),
                None => {
                    let reason = "a champion appeared during the run; the new model is challenger"
                        .to_string();
                    reg.set_alias(CHALLENGER, &best_version, Action::Promote, &reason)?;
                    (Decision::Kept, reason)
                }
            }
        }
        (Some(c), None) => {
            let why = c.scored.as_ref().err().cloned().unwrap_or_default();
            let reason = format!(
                "champion {} cannot score today's features ({why}); promoted {best_version}, which can",
                c.version
            );
            reg.set_alias(CHAMPION, &best_version, Action::Promote, &reason)?;
            (Decision::Promoted, reason)
        }
        (Some(_), Some(v)) if v.promote => {
            reg.set_alias(CHAMPION, &best_version, Action::Promote, &v.reason)?;
            (Decision::Promoted, v.reason.clone())
        }
        (Some(_), Some(v)) => {
            reg.set_alias(CHALLENGER, &best_version, Action::Promote, &v.reason)?;
            (Decision::Kept, v.reason.clone())
        }
    };

    // Report: the candidates, the champion on the same rows, the oracle.
    let mut reports: Vec<ModelReport> = candidates
        .iter()
        .zip(&versions)
        .map(|(c, v)| model_report(c, &short_version(v)))
        .collect();
    if let Some(c) = &champion {
        if let Ok((_, ev)) = &c.scored {
            reports.push(ModelReport {
                name: format!("{} (champion)", short_version(&c.version)),
                algorithm: c.model.algorithm().to_string(),
                evaluation: ev.clone(),
                importance: c.model.importance(),
                train_seconds: c.model.summary().fit_seconds,
                calibration: Some(c.model.calibrator().method().name().to_string()),
            });
        }
    }
    if let Some(oracle) = &oracle {
        reports.push(oracle_report(oracle));
    }
    let table = comparison_table_text(&reports);
    let generated_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let input = ReportInput {
        title: "churn retrain: challengers vs champion".into(),
        generated_at: generated_at.clone(),
        dataset: describe_dataset(&set),
        models: reports,
        best_model: Some(best),
        notes: vec![format!("Decision: {} — {reason}", decision.as_str())],
    };
    let metrics = serde_json::json!({
        "generated_at": generated_at,
        "decision": decision,
        "reason": reason,
        "dataset": dataset_facts(&set),
        "economics": o.train.eval.economics,
        "champion_before": champion.as_ref().map(|c| c.version.clone()),
        "champion_before_test": champion.as_ref().and_then(|c| c.scored.as_ref().ok().map(|(_, ev)| ev.clone())),
        "best_by_validation": best_version,
        "gate": verdict,
        "drift": drift,
        "oracle": oracle.as_ref().map(|o| serde_json::json!({
            "roc_auc": o.roc_auc, "month_end": o.month_end, "rows": o.rows,
            "test_rows": o.test_rows, "evaluation": o.evaluation,
        })),
        "models": candidates.iter().zip(&versions)
            .map(|(c, v)| model_metrics_entry(c, v)).collect::<Vec<_>>(),
    });
    let out = o
        .out_dir
        .clone()
        .unwrap_or_else(|| default_report_dir(&o.models_dir));
    let (report_html, metrics_json) = write_reports(&out, &input, &metrics)?;
    Ok(RetrainOutcome {
        decision,
        reason,
        log: log.clone(),
        drift,
        table: Some(table),
        report_html: Some(report_html),
        metrics_json: Some(metrics_json),
        champion: reg.alias(CHAMPION)?,
    })
}

// ------------------------------------------------------------------------------ schedule

/// Parses an interval such as `30m`, `24h`, `7d`, `90s` or `1h30m` (units `s`, `m`, `h`,
/// `d`, `w`; a bare number is seconds).
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty interval: use e.g. 30m, 24h or 7d".into());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => {
                return Err(format!(
                    "invalid interval `{text}`: unknown unit `{c}` (use s, m, h, d or w)"
                ))
            }
        };
        let n: u64 = number
            .parse()
            .map_err(|_| format!("invalid interval `{text}`: a unit needs a number before it"))?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("invalid interval `{text}`: too long"))?;
        number.clear();
    }
    if !number.is_empty() {
        return Err(format!(
            "invalid interval `{text}`: `{number}` has no unit (use s, m, h, d or w)"
        ));
    }
    if total == 0 {
        return Err(format!("invalid interval `{text}`: must be longer than 0"));
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::evaluate::roc_auc;

    #[test]
    fn weighted_auc_matches_roc_auc_and_counts_repeats() {
        let scores = [0.1, 0.4, 0.35, 0.8, 0.4, 0.2];
        let labels = [0.0, 0.0, 1.0, 1.0, 1.0, 0.0];
        let r = ranked(&scores);
        let auc = weighted_auc(&r, &labels, &[1; 6]);
        assert!((auc - roc_auc(&scores, &labels).expect("auc")).abs() < 1e-12);
        // By hand: churners 0.35, 0.8, 0.4 vs stayers 0.1, 0.4, 0.2: 0.35 beats two, 0.8
        // three, 0.4 two and ties one → 7.5 of 9 pairs.
        assert!((auc - 7.5 / 9.0).abs() < 1e-12);
        // Weight 2 on the churner 0.35: its 2 wins count twice, and there are 4 · 3 pairs.
        let w = weighted_auc(&r, &labels, &[1, 1, 2, 1, 1, 1]);
        assert!((w - (4.0 + 3.0 + 2.5) / 12.0).abs() < 1e-12, "{w}");
    }

    #[test]
    fn identical_models_never_pass_and_a_clearly_better_one_does() {
        let n = 400;
        let labels: Vec<f64> = (0..n).map(|i| f64::from(u8::from(i % 4 == 0))).collect();
        // A noisy score and a perfect one.
        let noisy: Vec<f64> = (0..n)
            .map(|i| ((i * 7919) % 100) as f64 / 100.0 * 0.8 + labels[i] * 0.2)
            .collect();
        let perfect: Vec<f64> = labels.iter().map(|&y| 0.1 + 0.8 * y).collect();
        let same = paired_auc_difference(&noisy, &noisy, &labels, 200, 0.95, 1).expect("diff");
        assert_eq!((same.difference, same.lower, same.upper), (0.0, 0.0, 0.0));
        let opts = GateOptions {
            resamples: 200,
            ..GateOptions::default()
        };
        let keep = gate(&noisy, 0.02, &noisy, 0.02, &labels, &opts).expect("gate");
        assert!(!keep.promote && !keep.auc_passed, "{}", keep.reason);

        let better = gate(&noisy, 0.02, &perfect, 0.025, &labels, &opts).expect("gate");
        assert_eq!(better.auc.challenger_auc, 1.0);
        assert!(
            better.auc.lower > 0.0 && better.promote,
            "{}",
            better.reason
        );
        // The same AUC gain but an ECE 0.02 worse than allowed: kept.
        let worse_calibrated = gate(&noisy, 0.02, &perfect, 0.05, &labels, &opts).expect("gate");
        assert!(worse_calibrated.auc_passed && !worse_calibrated.ece_passed);
        assert!(!worse_calibrated.promote);
        assert!(worse_calibrated.reason.contains("worse calibrated"));
    }

    #[test]
    fn intervals_parse() {
        assert_eq!(parse_interval("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_interval("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_interval("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_interval("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_interval("90"), Ok(Duration::from_secs(90)));
        for bad in ["", "h", "10x", "5h3", "0m"] {
            assert!(parse_interval(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Decision::Promoted.exit_code(), 0);
        assert_eq!(Decision::FirstChampion.exit_code(), 0);
        assert_eq!(Decision::Kept.exit_code(), 10);
        assert_eq!(Decision::SkippedNoDrift.exit_code(), 10);
    }
}
