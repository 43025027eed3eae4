//! The training pipeline behind `churn train` and `churn predict`: training set → encode → fit
//! every requested algorithm → evaluate each on the test set → report → register.
//!
//! In: a [`TrainSource`] (a warehouse directory with optional as-of dates, or a flat table with
//! its label column) and [`TrainOptions`] (algorithms, [`TrainParams`], evaluation options with
//! the campaign economics). Out: a [`TrainRun`] — every candidate's test [`Evaluation`] and
//! validation AUC, the registered versions, the champion decision, the oracle AUC when the data
//! came from our generator, and the paths of `report.html` and `metrics.json`.
//!
//! Rules: the encoder is learned on the training rows only; the validation rows choose GBDT's
//! early stopping and each model's calibrator; the test rows are scored once per model. The
//! best model is the one with the highest **validation** AUC (the test set judges, it does not
//! choose). Nothing here matches on the algorithm: every model is a [`ChurnModel`].

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{NaiveDate, SecondsFormat, Utc};
use polars::prelude::{ChunkAgg, Column, DataFrame, DataType, PolarsError};
use serde::{Deserialize, Serialize};

use crate::features::catalog::catalog_hash;
use crate::features::columns::AS_OF_DATE;
use crate::features::pit::day_number;
use crate::generate::{truth_columns, CHURN_TRUTH, TRUTH_DIR};
use crate::output::{write_atomic, write_frame, write_json, FileFormat, OutputError};
use crate::progress;
use crate::registry::{
    Action, Manifest, NewManifest, Registry, RegistryError, CHALLENGER, CHAMPION,
};
use crate::training::dataset::{
    read_table, table_training_set, warehouse_training_set, DataSource, DatasetError, TrainingSet,
};
use crate::training::drift::{DriftError, DriftProfile};
use crate::training::encode::{FeatureMatrix, SkippedColumn, TableEncoder};
use crate::training::evaluate::{
    evaluate, roc_auc, CampaignEconomics, EvalError, EvalOptions, Evaluation,
};
use crate::training::models::{
    Algorithm, ChurnModel, ModelError, Reason, TrainParams, MISSING_SUFFIX,
};
use crate::training::report::{
    comparison_table_text, render_report, DatasetDescription, ModelReport, ReportInput,
};
use crate::warehouse::{self, LoadError};

/// Reasons shown per scored row by `churn predict`.
pub const DEFAULT_REASONS: usize = 3;
/// Rows scored per batch by [`predict_frame`] (one progress step each).
pub const PREDICT_BATCH_ROWS: usize = 20_000;
/// The probability column written by `churn predict`.
pub const PROBABILITY_COLUMN: &str = "churn_probability";
/// The model-version column written by `churn predict`.
pub const MODEL_VERSION_COLUMN: &str = "model_version";
/// The row-number column written when a table has no id column (1-based).
pub const ROW_COLUMN: &str = "row";
/// Features per model shown in `metrics.json`'s importance list.
pub const IMPORTANCE_IN_METRICS: usize = 20;
/// What the manifest's `feature_catalog_hash` holds for a model trained on a flat table (its
/// features do not come from the feature catalog).
pub const FLAT_TABLE_CATALOG: &str = "none: trained on a flat table";

/// Why training or prediction failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(
        "no algorithm to train: pass at least one of logistic, decision_tree, random_forest, gbdt"
    )]
    NoAlgorithms,
    #[error("{path}: cannot read the file: {source}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a valid {what} JSON file: {source}")]
    BadJson {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid hyperparameters{}: {source}", path.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    InvalidParams {
        path: Option<PathBuf>,
        #[source]
        source: ModelError,
    },
    #[error("invalid campaign economics: {0}")]
    InvalidEconomics(#[source] EvalError),
    #[error("encoding the {set} set: {source}")]
    Encode {
        set: &'static str,
        #[source]
        source: ModelError,
    },
    #[error("training {algorithm}: {source}")]
    Fit {
        algorithm: Algorithm,
        #[source]
        source: ModelError,
    },
    #[error("scoring the {set} set with {model}: {source}")]
    Score {
        model: String,
        set: &'static str,
        #[source]
        source: ModelError,
    },
    #[error("evaluating {model} on the {set} set: {source}")]
    Evaluate {
        model: String,
        set: &'static str,
        #[source]
        source: EvalError,
    },
    #[error("drift profile: {0}")]
    Drift(#[from] DriftError),
    #[error("model {version} has no usable drift profile: {reason}")]
    BadProfile { version: String, reason: String },
    #[error("{path}: reading the generator's truth: {source}")]
    Truth {
        path: PathBuf,
        #[source]
        source: PolarsError,
    },
    #[error("{path}: the generator's truth has no column `{column}`")]
    TruthColumn { path: PathBuf, column: &'static str },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("model {version}: {source}")]
    LoadModel {
        version: String,
        #[source]
        source: ModelError,
    },
    #[error("the table has no id column `{column}`; its columns are: {}", columns.join(", "))]
    MissingId {
        column: String,
        columns: Vec<String>,
    },
    #[error("building the predictions table: {source}")]
    Frame {
        #[source]
        source: PolarsError,
    },
    #[error(transparent)]
    Output(#[from] OutputError),
}

fn frame_err(source: PolarsError) -> TrainError {
    TrainError::Frame { source }
}

// ------------------------------------------------------------------------------ options

/// What to train and how to judge it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Algorithms to train, in this order; defaults to all four.
    pub algorithms: Vec<Algorithm>,
    /// Hyperparameters (and the seed) of every algorithm; checked before any work.
    pub params: TrainParams,
    /// Evaluation settings, the campaign economics among them.
    pub eval: EvalOptions,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            algorithms: Algorithm::ALL.to_vec(),
            params: TrainParams::default(),
            eval: EvalOptions::default(),
        }
    }
}

impl TrainOptions {
    /// Checks the hyperparameters and economics up front (before any data is read).
    pub fn check(&self) -> Result<(), TrainError> {
        if self.algorithms.is_empty() {
            return Err(TrainError::NoAlgorithms);
        }
        self.params
            .check()
            .map_err(|source| TrainError::InvalidParams { path: None, source })?;
        self.eval
            .economics
            .validate()
            .map_err(TrainError::InvalidEconomics)
    }
}

fn read_json_file<T: for<'de> Deserialize<'de>>(
    path: &Path,
    what: &'static str,
) -> Result<T, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|source| TrainError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| TrainError::BadJson {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a [`TrainParams`] JSON file (any subset of fields; the rest keep their defaults) and
/// checks every value; an error names the file and the first bad parameter.
pub fn load_params(path: &Path) -> Result<TrainParams, TrainError> {
    let params: TrainParams = read_json_file(path, "hyperparameters")?;
    params.check().map_err(|source| TrainError::InvalidParams {
        path: Some(path.to_path_buf()),
        source,
    })?;
    Ok(params)
}

/// Reads a [`CampaignEconomics`] JSON file (any subset of fields) and checks it.
pub fn load_economics(path: &Path) -> Result<CampaignEconomics, TrainError> {
    let e: CampaignEconomics = read_json_file(path, "campaign economics")?;
    e.validate().map_err(TrainError::InvalidEconomics)?;
    Ok(e)
}

// ------------------------------------------------------------------------------ sources

/// Where the training data comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainSource {
    /// A warehouse export directory; `as_of` empty = the default month-ends.
    Warehouse {
        data: PathBuf,
        as_of: Vec<NaiveDate>,
    },
    /// A flat CSV/Parquet table with a label column and an optional id column.
    Table {
        path: PathBuf,
        label: String,
        id: Option<String>,
        seed: u64,
    },
}

/// Builds the training set of a source (loads and validates a warehouse, or reads a table).
pub fn build_training_set(source: &TrainSource) -> Result<TrainingSet, TrainError> {
    match source {
        TrainSource::Warehouse { data, as_of } => {
            let (wh, _report) = warehouse::load(data)?;
            Ok(warehouse_training_set(&wh, as_of)?)
        }
        TrainSource::Table {
            path,
            label,
            id,
            seed,
        } => {
            let df = read_table(path)?;
            // No id given: use `customer_id` when the table has one.
            let id = id.clone().or_else(|| {
                df.column(crate::features::columns::CUSTOMER_ID)
                    .is_ok()
                    .then(|| crate::features::columns::CUSTOMER_ID.to_string())
            });
            Ok(table_training_set(df, path, label, id.as_deref(), *seed)?)
        }
    }
}

// ------------------------------------------------------------------------------ fitting

/// The training set encoded by an encoder learned on its training rows.
#[derive(Debug, Clone)]
pub struct EncodedSet {
    pub encoder: TableEncoder,
    pub train: FeatureMatrix,
    pub valid: FeatureMatrix,
    pub test: FeatureMatrix,
}

/// Learns the encoder on the training rows (ids, dates and label excluded) and encodes all
/// three sets with it.
pub fn encode_set(set: &TrainingSet) -> Result<EncodedSet, TrainError> {
    let exclude = set.exclude_refs();
    let encoder =
        TableEncoder::fit(&set.train.frame, &exclude).map_err(|source| TrainError::Encode {
            set: "train",
            source,
        })?;
    let enc = |frame: &DataFrame, set: &'static str| {
        encoder
            .transform(frame)
            .map_err(|source| TrainError::Encode { set, source })
    };
    Ok(EncodedSet {
        train: enc(&set.train.frame, "train")?,
        valid: enc(&set.valid.frame, "valid")?,
        test: enc(&set.test.frame, "test")?,
        encoder,
    })
}

/// One trained model and how it did.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub model: ChurnModel,
    /// ROC AUC of the model's calibrated probabilities (what is served) on the validation rows:
    /// the selection criterion.
    pub validation_auc: f64,
    /// Calibrated churn probabilities of the test rows.
    pub test_scores: Vec<f64>,
    /// Every metric on the test rows.
    pub test: Evaluation,
    /// Wall time of fitting and calibrating.
    pub train_seconds: f64,
}

/// The drift reference of a model: decile bins of its training matrix, as the JSON the model
/// stores.
pub fn reference_profile(train: &FeatureMatrix) -> Result<serde_json::Value, TrainError> {
    let profile = DriftProfile::fit(&train.names, &train.columns)?;
    serde_json::to_value(&profile).map_err(|e| TrainError::BadProfile {
        version: "new model".into(),
        reason: e.to_string(),
    })
}

/// The drift reference stored in `model`, if any.
pub fn model_profile(
    model: &ChurnModel,
    version: &str,
) -> Result<Option<DriftProfile>, TrainError> {
    model
        .reference_profile()
        .map(|v| {
            serde_json::from_value(v.clone()).map_err(|e| TrainError::BadProfile {
                version: version.to_string(),
                reason: e.to_string(),
            })
        })
        .transpose()
}

/// Scores the test rows with `model` and evaluates the scores.
pub fn score_and_evaluate(
    model: &ChurnModel,
    name: &str,
    frame: &DataFrame,
    labels: &[f64],
    eval: &EvalOptions,
) -> Result<(Vec<f64>, Evaluation), TrainError> {
    let x = model
        .encoder()
        .transform(frame)
        .map_err(|source| TrainError::Score {
            model: name.to_string(),
            set: "test",
            source,
        })?;
    let scores = model
        .predict_proba(&x)
        .map_err(|source| TrainError::Score {
            model: name.to_string(),
            set: "test",
            source,
        })?;
    let ev = evaluate(&scores, labels, eval).map_err(|source| TrainError::Evaluate {
        model: name.to_string(),
        set: "test",
        source,
    })?;
    Ok((scores, ev))
}

/// Fits, calibrates and evaluates every requested algorithm. `on_start` is called before each
/// fit with the number of models done and the algorithm about to be fitted (for progress).
pub fn fit_candidates(
    set: &TrainingSet,
    encoded: &EncodedSet,
    options: &TrainOptions,
    mut on_start: impl FnMut(usize, Algorithm),
) -> Result<Vec<Candidate>, TrainError> {
    let profile = reference_profile(&encoded.train)?;
    let mut out = Vec::with_capacity(options.algorithms.len());
    for (done, &algorithm) in options.algorithms.iter().enumerate() {
        on_start(done, algorithm);
        let started = Instant::now();
        let mut model = ChurnModel::fit(
            algorithm,
            &options.params,
            encoded.encoder.clone(),
            &encoded.train,
            &set.train.labels,
            &encoded.valid,
            &set.valid.labels,
        )
        .map_err(|source| TrainError::Fit { algorithm, source })?;
        model.set_reference_profile(profile.clone());
        let train_seconds = started.elapsed().as_secs_f64();
        let name = algorithm.to_string();
        let valid_scores =
            model
                .predict_proba(&encoded.valid)
                .map_err(|source| TrainError::Score {
                    model: name.clone(),
                    set: "valid",
                    source,
                })?;
        let validation_auc =
            roc_auc(&valid_scores, &set.valid.labels).map_err(|source| TrainError::Evaluate {
                model: name.clone(),
                set: "valid",
                source,
            })?;
        let test_scores =
            model
                .predict_proba(&encoded.test)
                .map_err(|source| TrainError::Score {
                    model: name.clone(),
                    set: "test",
                    source,
                })?;
        let test = evaluate(&test_scores, &set.test.labels, &options.eval).map_err(|source| {
            TrainError::Evaluate {
                model: name.clone(),
                set: "test",
                source,
            }
        })?;
        out.push(Candidate {
            model,
            validation_auc,
            test_scores,
            test,
            train_seconds,
        });
    }
    Ok(out)
}

/// Index of the candidate with the highest validation AUC (ties: the earlier one).
pub fn best_by_validation(candidates: &[Candidate]) -> Option<usize> {
    (0..candidates.len()).reduce(|best, i| {
        if candidates[i].validation_auc > candidates[best].validation_auc {
            i
        } else {
            best
        }
    })
}

// ------------------------------------------------------------------------------ oracle

/// How well the generator's true churn probability ranks the same test rows: the ceiling a
/// model can approach on synthetic data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Oracle {
    /// ROC AUC of `p_churn_90d` at `month_end` = the test date.
    pub roc_auc: f64,
    /// The truth's month-end (= the test as-of date).
    pub month_end: NaiveDate,
    /// Test rows with a truth value (the AUC is over these).
    pub rows: usize,
    /// All test rows.
    pub test_rows: usize,
    /// The truth file read.
    pub source: PathBuf,
    /// Every metric of `p_churn_90d` on those rows.
    pub evaluation: Evaluation,
}

/// The truth file of a generated warehouse, if `data` holds one.
pub fn truth_file(data: &Path) -> Option<PathBuf> {
    ["parquet", "csv"]
        .iter()
        .map(|ext| data.join(TRUTH_DIR).join(format!("{CHURN_TRUTH}.{ext}")))
        .find(|p| p.is_file())
}

/// `p_churn_90d` by customer at one month-end, from a truth frame.
fn truth_at(
    truth: &DataFrame,
    path: &Path,
    month_end: NaiveDate,
) -> Result<HashMap<String, f64>, TrainError> {
    let col = |name: &'static str| {
        truth.column(name).map_err(|_| TrainError::TruthColumn {
            path: path.to_path_buf(),
            column: name,
        })
    };
    let perr = |source| TrainError::Truth {
        path: path.to_path_buf(),
        source,
    };
    let ids = col(truth_columns::CUSTOMER_ID)?;
    let ids = ids.cast(&DataType::String).map_err(perr)?;
    let ids = ids.str().map_err(perr)?;
    let when = col(truth_columns::MONTH_END)?;
    let wanted_day = day_number(month_end);
    let wanted_text = month_end.to_string();
    let on_day: Vec<bool> = match when.dtype() {
        DataType::Date => when
            .date()
            .map_err(perr)?
            .phys
            .iter()
            .map(|d| d == Some(wanted_day))
            .collect(),
        _ => {
            let text = when.cast(&DataType::String).map_err(perr)?;
            text.str()
                .map_err(perr)?
                .iter()
                .map(|d| d.map(str::trim) == Some(wanted_text.as_str()))
                .collect()
        }
    };
    let p = col(truth_columns::P_CHURN_90D)?
        .cast(&DataType::Float64)
        .map_err(perr)?;
    let p = p.f64().map_err(perr)?;
    let mut out = HashMap::new();
    for ((id, keep), p) in ids.iter().zip(on_day).zip(p.iter()) {
        if let (true, Some(id), Some(p)) = (keep, id, p) {
            out.insert(id.to_string(), p);
        }
    }
    Ok(out)
}

/// The oracle AUC for a warehouse training set whose data directory holds the generator's
/// truth; `None` for other data.
pub fn oracle(
    data: &Path,
    set: &TrainingSet,
    eval: &EvalOptions,
) -> Result<Option<Oracle>, TrainError> {
    let (Some(path), Some(test_date), Some(id_col)) =
        (truth_file(data), set.test_as_of(), set.id_column.as_deref())
    else {
        return Ok(None);
    };
    let truth = read_table(&path).map_err(|e| match e {
        DatasetError::ReadTable { path, source } => TrainError::Truth { path, source },
        other => TrainError::Dataset(other),
    })?;
    let by_id = truth_at(&truth, &path, test_date)?;
    let ids = set
        .test
        .frame
        .column(id_col)
        .and_then(|c| c.cast(&DataType::String))
        .map_err(frame_err)?;
    let ids = ids.str().map_err(frame_err)?;
    let (mut scores, mut labels) = (Vec::new(), Vec::new());
    for (id, &y) in ids.iter().zip(&set.test.labels) {
        if let Some(&p) = id.and_then(|id| by_id.get(id)) {
            scores.push(p);
            labels.push(y);
        }
    }
    if scores.is_empty() {
        return Ok(None);
    }
    let evaluation = evaluate(&scores, &labels, eval).map_err(|source| TrainError::Evaluate {
        model: "oracle".into(),
        set: "test",
        source,
    })?;
    Ok(Some(Oracle {
        roc_auc: evaluation.roc_auc,
        month_end: test_date,
        rows: scores.len(),
        test_rows: set.test.rows(),
        source: path,
        evaluation,
    }))
}

// ------------------------------------------------------------------------------ registry

/// The compact metrics a manifest records (the full evaluation is in `metrics.json`).
pub fn manifest_metrics(
    c: &Candidate,
    set: &TrainingSet,
    oracle: Option<&Oracle>,
) -> serde_json::Value {
    let ev = &c.test;
    let ten = ev.top_at(0.10);
    serde_json::json!({
        "test_auc": ev.roc_auc,
        "test_auc_ci": [ev.roc_auc_ci.lower, ev.roc_auc_ci.upper],
        "test_pr_auc": ev.pr_auc,
        "test_log_loss": ev.log_loss,
        "test_brier": ev.brier,
        "test_ece": ev.calibration.ece,
        "test_lift_10": ten.map(|g| g.lift),
        "test_capture_10": ten.map(|g| g.capture_rate),
        "test_best_profit": ev.profit.best.profit,
        "test_rows": ev.n,
        "test_positives": ev.positives,
        "validation_auc": c.validation_auc,
        "calibration": c.model.calibrator().method().name(),
        "train_seconds": c.train_seconds,
        "oracle_auc": oracle.map(|o| o.roc_auc),
        "dataset": dataset_facts(set),
    })
}

/// Facts about the training set for manifests, metrics and logs.
pub fn dataset_facts(set: &TrainingSet) -> serde_json::Value {
    let (kind, extra) = match &set.source {
        DataSource::Warehouse { plan } => (
            "warehouse",
            serde_json::json!({
                "train_as_of": plan.train,
                "valid_as_of": plan.valid,
                "test_as_of": plan.test,
                "observed_until": plan.observed_until,
                "skipped_as_of": plan.skipped,
            }),
        ),
        DataSource::Table {
            path,
            seed,
            unlabelled_rows,
        } => (
            "table",
            serde_json::json!({
                "path": path,
                "seed": seed,
                "unlabelled_rows_dropped": unlabelled_rows,
            }),
        ),
    };
    serde_json::json!({
        "source": kind,
        "label_column": set.label_column,
        "id_column": set.id_column,
        "rows": {"train": set.train.rows(), "valid": set.valid.rows(), "test": set.test.rows()},
        "positives": {"train": set.train.positives(), "valid": set.valid.positives(), "test": set.test.positives()},
        "fingerprint": set.fingerprint,
        "split": extra,
    })
}

/// Registers one candidate (artifact = [`ChurnModel::to_bytes`]).
pub fn register_candidate(
    reg: &Registry,
    c: &Candidate,
    set: &TrainingSet,
    metrics: serde_json::Value,
) -> Result<Manifest, TrainError> {
    let bytes = c.model.to_bytes().map_err(|source| TrainError::LoadModel {
        version: "new model".into(),
        source,
    })?;
    let mut m = NewManifest::new(c.model.algorithm().name());
    m.hyperparameters = c.model.hyperparameters();
    m.features = c.model.feature_names().to_vec();
    m.feature_catalog_hash = match set.source {
        DataSource::Warehouse { .. } => catalog_hash(),
        DataSource::Table { .. } => FLAT_TABLE_CATALOG.to_string(),
    };
    m.training_as_of = set.training_as_of();
    m.data_fingerprint = set.fingerprint.clone();
    m.metrics = metrics;
    Ok(reg.register(&bytes, m)?)
}

/// Loads a registered model by version, `v7`, or alias.
pub fn load_model(reg: &Registry, name: &str) -> Result<(Manifest, ChurnModel), TrainError> {
    let (manifest, bytes) = reg.load_artifact(name)?;
    let model = ChurnModel::from_bytes(&bytes).map_err(|source| TrainError::LoadModel {
        version: manifest.version.clone(),
        source,
    })?;
    Ok((manifest, model))
}

/// What registration did to the aliases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ChampionChange {
    /// The registry had no champion: this version became it.
    AutoChampion { version: String },
    /// A champion exists: this version became `challenger`; the champion is unchanged.
    Challenger { version: String, champion: String },
}

impl std::fmt::Display for ChampionChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChampionChange::AutoChampion { version } => {
                write!(f, "{version} is the champion (the registry had none)")
            }
            ChampionChange::Challenger { version, champion } => write!(
                f,
                "{version} is the challenger; the champion stays {champion} \
                 (`churn retrain` or `churn models promote` moves it)"
            ),
        }
    }
}

// ------------------------------------------------------------------------------ reports

/// The report row of a candidate, named after its registered version.
pub fn model_report(c: &Candidate, name: &str) -> ModelReport {
    ModelReport {
        name: name.to_string(),
        algorithm: c.model.algorithm().to_string(),
        evaluation: c.test.clone(),
        importance: c.model.importance(),
        train_seconds: c.train_seconds,
        calibration: Some(c.model.calibrator().method().name().to_string()),
    }
}

/// The report row of the oracle.
pub fn oracle_report(o: &Oracle) -> ModelReport {
    ModelReport {
        name: "oracle".into(),
        algorithm: "true p_churn_90d (generator)".into(),
        evaluation: o.evaluation.clone(),
        importance: Vec::new(),
        train_seconds: 0.0,
        calibration: None,
    }
}

/// The report's description of the data.
pub fn describe_dataset(set: &TrainingSet) -> DatasetDescription {
    let rows = set.describe_rows();
    let test = &set.test;
    let positives = format!(
        "{} churners in test ({:.1}%)",
        test.positives(),
        100.0 * test.positives() as f64 / test.rows().max(1) as f64
    );
    let mut extra = vec![("Data fingerprint".to_string(), set.fingerprint.clone())];
    match &set.source {
        DataSource::Warehouse { plan } => {
            let train: Vec<String> = plan.train.iter().map(|d| d.to_string()).collect();
            extra.push(("Train as-of".into(), train.join(", ")));
            extra.push(("Valid as-of".into(), plan.valid.to_string()));
            extra.push(("Test as-of".into(), plan.test.to_string()));
            extra.push(("Export ends".into(), plan.observed_until.to_string()));
            DatasetDescription {
                description: format!(
                    "churn_prediction_features, out-of-time split: train on month-ends whose \
                     90-day label closed by the test date {}, validate on {}, test on {}",
                    plan.test, plan.valid, plan.test
                ),
                rows,
                positives,
                as_of_dates: format!(
                    "{} … {} ({} dates)",
                    plan.train.first().copied().unwrap_or(plan.valid),
                    plan.test,
                    plan.train.len() + 2
                ),
                extra,
            }
        }
        DataSource::Table {
            path,
            seed,
            unlabelled_rows,
        } => {
            if *unlabelled_rows > 0 {
                extra.push((
                    "Rows without a label (dropped)".into(),
                    unlabelled_rows.to_string(),
                ));
            }
            DatasetDescription {
                description: format!(
                    "{} (label `{}`), stratified random split 60/20/20, seed {seed}",
                    path.display(),
                    set.label_column
                ),
                rows,
                positives,
                as_of_dates: String::new(),
                extra,
            }
        }
    }
}

/// The default report directory: `<models>/reports/<UTC timestamp>`.
pub fn default_report_dir(models_dir: &Path) -> PathBuf {
    models_dir
        .join("reports")
        .join(Utc::now().format("%Y%m%dT%H%M%SZ").to_string())
}

/// Writes `report.html` and `metrics.json` into `out`; returns their paths.
pub fn write_reports(
    out: &Path,
    report: &ReportInput,
    metrics: &serde_json::Value,
) -> Result<(PathBuf, PathBuf), TrainError> {
    let html_path = out.join("report.html");
    let html = render_report(report);
    write_atomic(&html_path, |w| {
        w.write_all(html.as_bytes())
            .map_err(|source| OutputError::Io {
                path: html_path.clone(),
                source,
            })
    })?;
    let json_path = out.join("metrics.json");
    write_json(&json_path, metrics)?;
    Ok((html_path, json_path))
}

/// One model's entry in `metrics.json`.
pub fn model_metrics_entry(c: &Candidate, version: &str) -> serde_json::Value {
    let importance: Vec<(String, f64)> = c
        .model
        .importance()
        .into_iter()
        .take(IMPORTANCE_IN_METRICS)
        .collect();
    serde_json::json!({
        "version": version,
        "algorithm": c.model.algorithm().name(),
        "validation_auc": c.validation_auc,
        "train_seconds": c.train_seconds,
        "calibration": c.model.calibrator().method().name(),
        "hyperparameters": c.model.hyperparameters(),
        "importance": importance,
        "test": c.test,
    })
}

// ------------------------------------------------------------------------------ train

/// What `churn train` does.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainRequest {
    pub source: TrainSource,
    /// The registry directory.
    pub models_dir: PathBuf,
    /// Where report.html and metrics.json go; `None` = [`default_report_dir`].
    pub out_dir: Option<PathBuf>,
    pub options: TrainOptions,
}

/// One registered candidate of a run.
#[derive(Debug, Clone, Serialize)]
pub struct TrainedModel {
    pub version: String,
    pub algorithm: Algorithm,
    pub validation_auc: f64,
    pub test_auc: f64,
    pub test_ece: f64,
    pub train_seconds: f64,
}

/// What `churn train` did.
#[derive(Debug, Clone, Serialize)]
pub struct TrainRun {
    pub models: Vec<TrainedModel>,
    /// Index into `models` of the best by validation AUC.
    pub best: usize,
    pub champion: ChampionChange,
    pub oracle: Option<Oracle>,
    pub dataset: serde_json::Value,
    /// The comparison table as printed (the candidates and, with a generator's truth, the
    /// oracle).
    pub table: String,
    pub report_html: PathBuf,
    pub metrics_json: PathBuf,
    /// Columns of the training table that are not features, and why (dates, entirely null).
    pub skipped_columns: Vec<SkippedColumn>,
    pub seconds: f64,
}

/// The directory a source's data lives in (for the generator's truth).
fn data_dir(source: &TrainSource) -> Option<&Path> {
    match source {
        TrainSource::Warehouse { data, .. } => Some(data),
        TrainSource::Table { .. } => None,
    }
}

/// Short `v<seq>` form of a version id (`v0003-2026…` → `v3`).
pub fn short_version(version: &str) -> String {
    crate::registry::parse_version_id(version)
        .map_or_else(|| version.to_string(), |s| format!("v{s}"))
}

/// Trains, evaluates, reports and registers. Parameters are checked before any data is read.
/// When the registry has no champion the best model by validation AUC becomes champion
/// (`auto_champion`); otherwise it becomes `challenger` and the champion is left alone.
pub fn train(req: &TrainRequest) -> Result<TrainRun, TrainError> {
    let started = Instant::now();
    req.options.check()?;
    let reg = Registry::open(&req.models_dir)?;
    let spinner = progress::spinner("preparing data");
    let set = build_training_set(&req.source)?;
    let encoded = encode_set(&set)?;
    let skipped_columns = encoded.encoder.skipped().to_vec();
    spinner.finish_and_clear();
    let bar = progress::bar(req.options.algorithms.len() as u64, "training");
    let candidates = fit_candidates(&set, &encoded, &req.options, |done, a| {
        bar.set_position(done as u64);
        bar.set_message(a.to_string());
    })?;
    bar.finish_and_clear();
    let oracle = match data_dir(&req.source) {
        Some(dir) => oracle(dir, &set, &req.options.eval)?,
        None => None,
    };
    let best = best_by_validation(&candidates).ok_or(TrainError::NoAlgorithms)?;

    let mut manifests = Vec::with_capacity(candidates.len());
    for c in &candidates {
        manifests.push(register_candidate(
            &reg,
            c,
            &set,
            manifest_metrics(c, &set, oracle.as_ref()),
        )?);
    }
    let best_version = manifests[best].version.clone();
    let reason = format!(
        "best of {} by validation AUC {:.4} (test AUC {:.4})",
        candidates.len(),
        candidates[best].validation_auc,
        candidates[best].test.roc_auc
    );
    let champion = match reg.auto_champion(&best_version, &reason)? {
        Some(_) => ChampionChange::AutoChampion {
            version: best_version,
        },
        None => {
            let current = reg.resolve(CHAMPION)?;
            reg.set_alias(CHALLENGER, &best_version, Action::Promote, &reason)?;
            ChampionChange::Challenger {
                version: best_version,
                champion: current,
            }
        }
    };

    let mut reports: Vec<ModelReport> = candidates
        .iter()
        .zip(&manifests)
        .map(|(c, m)| model_report(c, &short_version(&m.version)))
        .collect();
    if let Some(o) = &oracle {
        reports.push(oracle_report(o));
    }
    let table = comparison_table_text(&reports);
    let dataset = dataset_facts(&set);
    let mut notes = vec![format!(
        "Best by validation AUC: {} ({}, validation AUC {:.4}); {champion}.",
        short_version(&manifests[best].version),
        candidates[best].model.algorithm(),
        candidates[best].validation_auc
    )];
    if let Some(o) = &oracle {
        notes.push(format!(
            "oracle = the generator's true p_churn_90d at {} on the same {} test rows: the \
             ranking ceiling a model can approach on this synthetic data.",
            o.month_end, o.rows
        ));
    }
    let input = ReportInput {
        title: "churn: model comparison".into(),
        generated_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        dataset: describe_dataset(&set),
        models: reports,
        best_model: Some(best),
        notes,
    };
    let metrics = serde_json::json!({
        "generated_at": input.generated_at,
        "dataset": dataset,
        "economics": req.options.eval.economics,
        "best_by_validation": manifests[best].version,
        "champion": champion,
        "oracle": oracle.as_ref().map(|o| serde_json::json!({
            "roc_auc": o.roc_auc,
            "month_end": o.month_end,
            "rows": o.rows,
            "test_rows": o.test_rows,
            "source": o.source,
            "evaluation": o.evaluation,
        })),
        "models": candidates.iter().zip(&manifests)
            .map(|(c, m)| model_metrics_entry(c, &m.version))
            .collect::<Vec<_>>(),
    });
    let out = req
        .out_dir
        .clone()
        .unwrap_or_else(|| default_report_dir(&req.models_dir));
    let (report_html, metrics_json) = write_reports(&out, &input, &metrics)?;
    let models = candidates
        .iter()
        .zip(&manifests)
        .map(|(c, m)| TrainedModel {
            version: m.version.clone(),
            algorithm: c.model.algorithm(),
            validation_auc: c.validation_auc,
            test_auc: c.test.roc_auc,
            test_ece: c.test.calibration.ece,
            train_seconds: c.train_seconds,
        })
        .collect();
    Ok(TrainRun {
        models,
        best,
        champion,
        oracle,
        dataset,
        table,
        report_html,
        metrics_json,
        skipped_columns,
        seconds: started.elapsed().as_secs_f64(),
    })
}

// ------------------------------------------------------------------------------ predict

/// `tickets_cancellation_90d=1 (+0.84)`: the feature, this row's value and the contribution.
/// A one-hot column the row has (`Contract=Month-to-month`) is shown without `=1`; a missing
/// value as `=missing`; a missing-value indicator as `<feature> missing`.
pub fn reason_text(r: &Reason) -> String {
    let contribution = format!("{:+.2}", r.contribution);
    if let Some(base) = r.feature.strip_suffix(MISSING_SUFFIX) {
        return format!("{base} missing ({contribution})");
    }
    match r.value {
        None => format!("{}=missing ({contribution})", r.feature),
        Some(v) if v == 1.0 && r.feature.contains('=') => format!("{} ({contribution})", r.feature),
        Some(v) => format!("{}={} ({contribution})", r.feature, format_value(v)),
    }
}

/// A value as a person writes it: integers without decimals, others with up to 3.
fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Which column identifies the rows of a table being scored.
pub fn resolve_id_column(
    df: &DataFrame,
    requested: Option<&str>,
    trained_with: Option<&str>,
) -> Result<Option<String>, TrainError> {
    let has = |c: &str| df.column(c).is_ok();
    if let Some(id) = requested {
        if !has(id) {
            return Err(TrainError::MissingId {
                column: id.to_string(),
                columns: df
                    .get_column_names()
                    .iter()
                    .map(|n| n.to_string())
                    .collect(),
            });
        }
        return Ok(Some(id.to_string()));
    }
    let customer_id = crate::features::columns::CUSTOMER_ID;
    if has(customer_id) {
        return Ok(Some(customer_id.to_string()));
    }
    Ok(trained_with.filter(|c| has(c)).map(str::to_string))
}

/// Scores `df` with `model`: the id column (or `row`, 1-based), `as_of_date` when the table
/// has one, `churn_probability`, for
/// `k = 1..=reasons` the columns `reason_k` (text, see [`reason_text`]), `reason_k_feature`
/// and `reason_k_contribution` (null when the row has fewer reasons), and `model_version`.
/// `on_batch` is called with the rows done after each batch.
pub fn predict_frame(
    model: &ChurnModel,
    version: &str,
    df: &DataFrame,
    id_column: Option<&str>,
    reasons: usize,
    mut on_batch: impl FnMut(usize),
) -> Result<DataFrame, TrainError> {
    let n = df.height();
    let score_err = |source| TrainError::Score {
        model: version.to_string(),
        set: "input",
        source,
    };
    let mut probability = Vec::with_capacity(n);
    let mut texts: Vec<Vec<Option<String>>> = (0..reasons).map(|_| Vec::with_capacity(n)).collect();
    let mut features: Vec<Vec<Option<String>>> =
        (0..reasons).map(|_| Vec::with_capacity(n)).collect();
    let mut contributions: Vec<Vec<Option<f64>>> =
        (0..reasons).map(|_| Vec::with_capacity(n)).collect();
    let mut offset = 0;
    while offset < n {
        let len = PREDICT_BATCH_ROWS.min(n - offset);
        let batch = df.slice(offset as i64, len);
        let x = model.encoder().transform(&batch).map_err(score_err)?;
        probability.extend(model.predict_proba(&x).map_err(score_err)?);
        for row in model.explain(&x, reasons).map_err(score_err)? {
            for k in 0..reasons {
                let r = row.get(k);
                texts[k].push(r.map(reason_text));
                features[k].push(r.map(|r| r.feature.clone()));
                contributions[k].push(r.map(|r| r.contribution));
            }
        }
        offset += len;
        on_batch(offset);
    }
    let mut columns = Vec::with_capacity(3 + 3 * reasons);
    columns.push(match id_column {
        Some(id) => df.column(id).map_err(frame_err)?.clone(),
        None => Column::new(ROW_COLUMN.into(), (1..=n as u64).collect::<Vec<_>>()),
    });
    // The features' as-of date travels with every score (a campaign can tell what it pulled).
    if id_column != Some(AS_OF_DATE) {
        if let Ok(as_of) = df.column(AS_OF_DATE) {
            columns.push(as_of.clone());
        }
    }
    columns.push(Column::new(PROBABILITY_COLUMN.into(), probability));
    for k in 0..reasons {
        let i = k + 1;
        columns.push(Column::new(
            format!("reason_{i}").into(),
            std::mem::take(&mut texts[k]),
        ));
        columns.push(Column::new(
            format!("reason_{i}_feature").into(),
            std::mem::take(&mut features[k]),
        ));
        columns.push(Column::new(
            format!("reason_{i}_contribution").into(),
            std::mem::take(&mut contributions[k]),
        ));
    }
    columns.push(Column::new(
        MODEL_VERSION_COLUMN.into(),
        vec![version.to_string(); n],
    ));
    DataFrame::new(n, columns).map_err(frame_err)
}

/// What `churn predict` does.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictRequest {
    pub models_dir: PathBuf,
    /// A version, `v7`, or an alias (`champion`).
    pub model: String,
    pub table: PathBuf,
    /// `.csv` → CSV, anything else → Parquet.
    pub out: PathBuf,
    /// The id column; `None` = `customer_id` if present, else the one recorded at training.
    pub id: Option<String>,
    pub reasons: usize,
}

/// What `churn predict` did.
#[derive(Debug, Clone, Serialize)]
pub struct PredictSummary {
    pub version: String,
    pub algorithm: Algorithm,
    pub rows: usize,
    pub id_column: Option<String>,
    pub out: PathBuf,
    pub mean_probability: f64,
    pub seconds: f64,
}

/// Scores a table with a registered model and writes the predictions (atomically).
pub fn predict(req: &PredictRequest) -> Result<PredictSummary, TrainError> {
    let started = Instant::now();
    let reg = Registry::open(&req.models_dir)?;
    let (manifest, model) = load_model(&reg, &req.model)?;
    let df = read_table(&req.table)?;
    let trained_id = manifest
        .metrics
        .pointer("/dataset/id_column")
        .and_then(|v| v.as_str());
    let id_column = resolve_id_column(&df, req.id.as_deref(), trained_id)?;
    let bar = progress::bar(df.height() as u64, "scoring");
    let mut out = predict_frame(
        &model,
        &manifest.version,
        &df,
        id_column.as_deref(),
        req.reasons,
        |done| bar.set_position(done as u64),
    )?;
    bar.finish_and_clear();
    let mean_probability = out
        .column(PROBABILITY_COLUMN)
        .ok()
        .and_then(|c| c.f64().ok().and_then(|ca| ca.mean()))
        .unwrap_or(0.0);
    write_frame(&mut out, &req.out, FileFormat::from_path(&req.out))?;
    Ok(PredictSummary {
        version: manifest.version,
        algorithm: model.algorithm(),
        rows: out.height(),
        id_column,
        out: req.out.clone(),
        mean_probability,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(feature: &str, value: Option<f64>, contribution: f64) -> Reason {
        Reason {
            feature: feature.into(),
            value,
            contribution,
        }
    }

    #[test]
    fn reasons_read_like_a_sentence() {
        assert_eq!(
            reason_text(&reason("tickets_cancellation_90d", Some(1.0), 0.8412)),
            "tickets_cancellation_90d=1 (+0.84)"
        );
        assert_eq!(
            reason_text(&reason("Contract=Month-to-month", Some(1.0), 0.5)),
            "Contract=Month-to-month (+0.50)"
        );
        assert_eq!(
            reason_text(&reason("MonthlyCharges", Some(89.85), 0.123)),
            "MonthlyCharges=89.85 (+0.12)"
        );
        assert_eq!(
            reason_text(&reason("TotalCharges", None, 0.3)),
            "TotalCharges=missing (+0.30)"
        );
        assert_eq!(
            reason_text(&reason("TotalCharges__missing", Some(1.0), 0.3)),
            "TotalCharges missing (+0.30)"
        );
        assert_eq!(format_value(0.333333), "0.333");
        assert_eq!(format_value(-2.0), "-2");
    }

    #[test]
    fn short_versions() {
        assert_eq!(short_version("v0003-20261123T041500Z"), "v3");
        assert_eq!(short_version("champion"), "champion");
    }
}
