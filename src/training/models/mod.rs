//! The churn model family: one vocabulary (params → fit → model → predict / explain / save)
//! over logistic regression, a decision tree, a random forest and gradient-boosted trees.
//!
//! In: a [`TableEncoder`] learned on the training table, encoded training and validation
//! matrices ([`FeatureMatrix`]) with 0/1 labels, an [`Algorithm`] and [`TrainParams`] (checked
//! before any work). Out: a [`ChurnModel`] — encoder + fitted algorithm + a calibrator chosen on
//! the validation rows — which is the only type registry, evaluation and scoring handle: it
//! predicts calibrated probabilities in parallel, explains each score with its top reasons
//! ([`Reason`]: exact for logistic, TreeSHAP for the trees), reports global importance and
//! saves to / loads from JSON bytes. This file is the one place that matches on the algorithm.
//! Algorithms, defaults and formats: `docs/models.md`.

mod cart;
mod error;
mod explain;
mod forest;
mod logistic;
mod params;
mod preprocess;
mod tree;

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use polars::prelude::DataFrame;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::training::calibrate::{choose_calibrator, CalibrationChoice, Calibrator, ChooseOptions};
use crate::training::encode::{FeatureMatrix, TableEncoder};
use crate::training::gbdt::path::{node_means, path_attribution, tree_shap_cost};
use crate::training::gbdt::shap::{tree_shap, ShapScratch};
use crate::training::gbdt::{Dataset, GbdtModel, ImportanceKind, Tree};

pub use error::ModelError;
pub use explain::{Attribution, ContributionScale, Contributions, Reason};
pub use forest::ForestResolved;
pub use params::{
    ClassWeight, ForestParams, GbdtTrainParams, LogisticParams, TrainParams, TreeParams,
    FOREST_MAX_SAMPLES, MAX_TREE_DEPTH,
};
pub use preprocess::MISSING_SUFFIX;

use logistic::{logit, sigmoid, LogisticModel};
use tree::{gather_row, TreeEnsemble};

/// Version of the artifact layout written by [`ChurnModel::to_bytes`].
pub const FORMAT_VERSION: u32 = 1;

/// Folds used to choose the calibrator on the validation rows.
pub const CALIBRATION_FOLDS: usize = 5;

/// The pipeline's drift reference (e.g. PSI bins of the training scores and features), stored
/// with the model as opaque JSON.
pub type DriftProfile = serde_json::Value;

/// The model families.
#[derive(
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Algorithm {
    Logistic,
    DecisionTree,
    RandomForest,
    Gbdt,
}

impl Algorithm {
    pub const ALL: [Algorithm; 4] = [
        Algorithm::Logistic,
        Algorithm::DecisionTree,
        Algorithm::RandomForest,
        Algorithm::Gbdt,
    ];

    /// `logistic`, `decision_tree`, `random_forest` or `gbdt`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Logistic => "logistic",
            Algorithm::DecisionTree => "decision_tree",
            Algorithm::RandomForest => "random_forest",
            Algorithm::Gbdt => "gbdt",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = ModelError;

    /// The [`Algorithm::name`]s, case-insensitive, `-` accepted for `_`.
    fn from_str(s: &str) -> Result<Self, ModelError> {
        let key = s.trim().to_ascii_lowercase().replace('-', "_");
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == key)
            .ok_or_else(|| ModelError::UnknownAlgorithm(s.to_string()))
    }
}

/// What a model was trained on.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TrainingSummary {
    pub train_rows: usize,
    pub train_positives: usize,
    pub valid_rows: usize,
    pub valid_positives: usize,
    /// Wall time of fitting the algorithm and the calibrator.
    pub fit_seconds: f64,
}

/// The fitted algorithm. Decision trees and forests share one form (a mean of trees).
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "snake_case")]
enum Fitted {
    Logistic(LogisticModel),
    Trees(TreeEnsemble),
    Gbdt(GbdtModel),
}

/// Computes one row's contributions with the chosen method. Path attribution of a GBDT is
/// computed for the whole matrix at once (the blocked walk of batch prediction); for the mean
/// of trees it walks each tree per row with every node's expected output computed once.
struct Attributor<'a> {
    fitted: &'a Fitted,
    path: PathPlan<'a>,
}

enum PathPlan<'a> {
    /// Exact contributions (TreeSHAP, or linear).
    None,
    /// Every row's contributions, row-major (GBDT).
    Batch(Vec<f64>),
    /// Trees, their node means and the scale of their sum.
    Walk(&'a [Tree], Vec<Vec<f64>>, f64),
}

impl<'a> Attributor<'a> {
    fn new(fitted: &'a Fitted, method: Attribution, x: &FeatureMatrix) -> Result<Self, ModelError> {
        let path = match (method, fitted) {
            (Attribution::Exact, _) | (_, Fitted::Logistic(_)) => PathPlan::None,
            (Attribution::Path, Fitted::Gbdt(m)) => {
                PathPlan::Batch(m.path_values_batch(&x.as_gbdt_matrix()?)?.values)
            }
            (Attribution::Path, Fitted::Trees(m)) => PathPlan::Walk(
                &m.trees,
                m.trees.iter().map(node_means).collect(),
                1.0 / m.trees.len().max(1) as f64,
            ),
        };
        Ok(Attributor { fitted, path })
    }

    /// Contributions of row `r` into `s.phi`.
    fn row(&self, x: &FeatureMatrix, r: usize, s: &mut Scratch) {
        match &self.path {
            PathPlan::Batch(values) => {
                let k = s.phi.len();
                s.phi.copy_from_slice(&values[r * k..(r + 1) * k]);
            }
            PathPlan::Walk(trees, means, scale) => {
                self.fitted.gather(x, r, &mut s.row);
                s.phi.iter_mut().for_each(|v| *v = 0.0);
                for (t, m) in trees.iter().zip(means) {
                    path_attribution(t, m, &s.row, &mut s.phi);
                }
                s.phi.iter_mut().for_each(|v| *v *= scale);
            }
            PathPlan::None => self.fitted.contributions_row(x, r, s),
        }
    }
}

/// Per-thread scratch space of row-wise explanation.
struct Scratch {
    shap: ShapScratch,
    row: Vec<f64>,
    phi: Vec<f64>,
}

impl Fitted {
    fn predict(&self, x: &FeatureMatrix) -> Result<Vec<f64>, ModelError> {
        Ok(match self {
            Fitted::Logistic(m) => m.predict(x),
            Fitted::Trees(m) => m.predict(x),
            Fitted::Gbdt(m) => m.predict_proba_batch(&x.as_gbdt_matrix()?)?,
        })
    }

    fn scale(&self) -> ContributionScale {
        match self {
            Fitted::Trees(_) => ContributionScale::Probability,
            _ => ContributionScale::LogOdds,
        }
    }

    /// Names of the contribution columns (the logistic model adds `__missing` indicators).
    fn contribution_names(&self, feature_names: &[String]) -> Vec<String> {
        match self {
            Fitted::Logistic(m) => m.names.clone(),
            _ => feature_names.to_vec(),
        }
    }

    fn expected_value(&self) -> f64 {
        match self {
            Fitted::Logistic(m) => m.intercept,
            Fitted::Trees(m) => m.expected_value(),
            Fitted::Gbdt(m) => {
                m.base_score() + m.trees().iter().map(Tree::expected_value).sum::<f64>()
            }
        }
    }

    fn scratch(&self, n_features: usize, n_contributions: usize) -> Scratch {
        Scratch {
            shap: ShapScratch::default(),
            row: vec![0.0; n_features],
            phi: vec![0.0; n_contributions],
        }
    }

    /// The trees of a tree model (`None` for logistic) and the factor their sum is scaled by
    /// (1 for GBDT's sum of log-odds, 1/k for the mean of k trees).
    fn trees(&self) -> Option<(&[Tree], f64)> {
        match self {
            Fitted::Logistic(_) => None,
            Fitted::Trees(m) => Some((&m.trees, 1.0 / m.trees.len().max(1) as f64)),
            Fitted::Gbdt(m) => Some((m.trees(), 1.0)),
        }
    }

    /// Row `r` as the tree models read it: the forest sends non-finite values down
    /// `default_left` (as NaN); GBDT reads the values as they are (as its prediction does).
    fn gather(&self, x: &FeatureMatrix, r: usize, row: &mut [f64]) {
        match self {
            Fitted::Trees(_) => gather_row(x, r, row),
            _ => {
                for (v, c) in row.iter_mut().zip(&x.columns) {
                    *v = c[r];
                }
            }
        }
    }

    /// Contributions of row `r` into `s.phi`.
    fn contributions_row(&self, x: &FeatureMatrix, r: usize, s: &mut Scratch) {
        match self {
            Fitted::Logistic(m) => m.contributions_row(x, r, &mut s.phi),
            Fitted::Trees(m) => {
                self.gather(x, r, &mut s.row);
                m.contributions_row(&s.row, &mut s.phi, &mut s.shap);
            }
            Fitted::Gbdt(m) => {
                self.gather(x, r, &mut s.row);
                s.phi.iter_mut().for_each(|v| *v = 0.0);
                for t in m.trees() {
                    tree_shap(t, &s.row, &mut s.phi, &mut s.shap);
                }
            }
        }
    }

    /// The raw value a reason shows for contribution column `k` of row `r`.
    fn shown_value(&self, x: &FeatureMatrix, r: usize, k: usize) -> Option<f64> {
        match self {
            Fitted::Logistic(m) => m.prep.shown_value(x, r, k),
            _ => Some(x.columns[k][r]).filter(|v| v.is_finite()),
        }
    }

    fn importance(&self, n_features: usize) -> Vec<f64> {
        match self {
            Fitted::Logistic(m) => m.importance(),
            Fitted::Trees(m) => m.importance(n_features),
            Fitted::Gbdt(m) => m.feature_importance(ImportanceKind::Gain),
        }
    }

    fn validate(&self, n_features: usize) -> Result<(), String> {
        match self {
            Fitted::Logistic(m) => m.validate(n_features),
            Fitted::Trees(m) => m.validate(n_features),
            Fitted::Gbdt(m) if m.n_features() != n_features => Err(format!(
                "the boosted trees use {} features, the model has {n_features}",
                m.n_features()
            )),
            Fitted::Gbdt(_) => Ok(()),
        }
    }

    fn kind_matches(&self, algorithm: Algorithm) -> bool {
        matches!(
            (self, algorithm),
            (Fitted::Logistic(_), Algorithm::Logistic)
                | (
                    Fitted::Trees(_),
                    Algorithm::DecisionTree | Algorithm::RandomForest
                )
                | (Fitted::Gbdt(_), Algorithm::Gbdt)
        )
    }
}

/// One fitted, calibrated churn model: encoder + algorithm + calibrator. The only type the
/// registry, evaluation and scoring handle; they never match on the algorithm.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(try_from = "ModelData")]
pub struct ChurnModel {
    format_version: u32,
    algorithm: Algorithm,
    encoder: TableEncoder,
    feature_names: Vec<String>,
    hyperparameters: serde_json::Value,
    fitted: Fitted,
    calibration: CalibrationChoice,
    summary: TrainingSummary,
    reference_profile: Option<DriftProfile>,
}

/// The serialized form, validated into a [`ChurnModel`] on load.
#[derive(Deserialize)]
struct ModelData {
    format_version: u32,
    algorithm: Algorithm,
    encoder: TableEncoder,
    feature_names: Vec<String>,
    hyperparameters: serde_json::Value,
    fitted: Fitted,
    calibration: CalibrationChoice,
    summary: TrainingSummary,
    #[serde(default)]
    reference_profile: Option<DriftProfile>,
}

impl TryFrom<ModelData> for ChurnModel {
    type Error = ModelError;

    fn try_from(d: ModelData) -> Result<Self, ModelError> {
        if d.format_version != FORMAT_VERSION {
            return Err(ModelError::UnsupportedVersion {
                found: d.format_version,
                supported: FORMAT_VERSION,
            });
        }
        let bad = |reason: String| ModelError::InvalidArtifact { reason };
        if d.encoder.feature_names() != d.feature_names {
            return Err(bad(
                "the encoder's feature names differ from the model's".into()
            ));
        }
        if !d.fitted.kind_matches(d.algorithm) {
            return Err(bad(format!(
                "the fitted model is not a {} model",
                d.algorithm
            )));
        }
        d.fitted.validate(d.feature_names.len()).map_err(bad)?;
        validate_calibrator(&d.calibration.calibrator).map_err(bad)?;
        Ok(ChurnModel {
            format_version: d.format_version,
            algorithm: d.algorithm,
            encoder: d.encoder,
            feature_names: d.feature_names,
            hyperparameters: d.hyperparameters,
            fitted: d.fitted,
            calibration: d.calibration,
            summary: d.summary,
            reference_profile: d.reference_profile,
        })
    }
}

/// A loaded calibrator must be usable: finite Platt parameters; isotonic points of equal
/// count (at least one), finite, with increasing x.
fn validate_calibrator(c: &Calibrator) -> Result<(), String> {
    match c {
        Calibrator::Identity => Ok(()),
        Calibrator::Platt { a, b, .. } if a.is_finite() && b.is_finite() => Ok(()),
        Calibrator::Platt { .. } => Err("Platt calibrator parameters are not finite".into()),
        Calibrator::Isotonic { x, y } => {
            if x.is_empty() || x.len() != y.len() {
                return Err(format!(
                    "isotonic calibrator has {} x and {} y points",
                    x.len(),
                    y.len()
                ));
            }
            if x.iter().chain(y).any(|v| !v.is_finite()) || x.windows(2).any(|w| w[0] > w[1]) {
                return Err("isotonic calibrator points are not finite and increasing".into());
            }
            Ok(())
        }
    }
}

/// Checks a matrix against the model's features; returns its number of rows.
fn check_features(
    x: &FeatureMatrix,
    expected: &[String],
    set: &'static str,
) -> Result<usize, ModelError> {
    let n = x.check_shape(set)?;
    if x.n_features() != expected.len() {
        return Err(ModelError::FeatureCount {
            set,
            expected: expected.len(),
            found: x.n_features(),
        });
    }
    if let Some(position) = (0..expected.len()).find(|&i| x.names[i] != expected[i]) {
        return Err(ModelError::FeatureMismatch {
            set,
            position,
            expected: expected[position].clone(),
            found: x.names[position].clone(),
        });
    }
    Ok(n)
}

/// Checks labels (one per row, 0 or 1); returns the number of positives.
fn check_labels(y: &[f64], n: usize, set: &'static str) -> Result<usize, ModelError> {
    if y.len() != n {
        return Err(ModelError::LengthMismatch {
            set,
            what: "labels",
            expected: n,
            found: y.len(),
        });
    }
    if let Some((row, &value)) = y.iter().enumerate().find(|(_, &v)| v != 0.0 && v != 1.0) {
        return Err(ModelError::BadTarget { set, row, value });
    }
    Ok(y.iter().filter(|&&v| v == 1.0).count())
}

fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

impl ChurnModel {
    /// Fits `algorithm` on `train`, uses `valid` for GBDT early stopping and to choose and fit
    /// the calibrator (`choose_calibrator`, 5 cross-fitted folds); `valid` must be disjoint
    /// from `train`. Both matrices must carry the encoder's feature names; every parameter is
    /// checked first.
    pub fn fit(
        algorithm: Algorithm,
        params: &TrainParams,
        encoder: TableEncoder,
        train: &FeatureMatrix,
        y_train: &[f64],
        valid: &FeatureMatrix,
        y_valid: &[f64],
    ) -> Result<ChurnModel, ModelError> {
        let started = Instant::now();
        params.check()?;
        let feature_names = encoder.feature_names();
        let n_train = check_features(train, &feature_names, "training set")?;
        let n_valid = check_features(valid, &feature_names, "validation set")?;
        if n_train == 0 {
            return Err(ModelError::EmptyData {
                set: "training set",
            });
        }
        if n_valid == 0 {
            return Err(ModelError::EmptyData {
                set: "validation set",
            });
        }
        let train_pos = check_labels(y_train, n_train, "training set")?;
        let valid_pos = check_labels(y_valid, n_valid, "validation set")?;
        if train_pos == 0 || train_pos == n_train {
            return Err(ModelError::SingleClass {
                column: "training labels".into(),
                positives: train_pos,
                negatives: n_train - train_pos,
            });
        }

        let seed = params.seed;
        let (fitted, hyperparameters) = match algorithm {
            Algorithm::Logistic => (
                Fitted::Logistic(LogisticModel::fit(&params.logistic, train, y_train)?),
                serde_json::json!({ "logistic": to_json(&params.logistic) }),
            ),
            Algorithm::DecisionTree => {
                let m = tree::fit_decision_tree(&params.tree, seed, train, y_train)?;
                let json = serde_json::json!({
                    "tree": to_json(&params.tree),
                    "seed": seed,
                    "shape": m.shape(),
                });
                (Fitted::Trees(m), json)
            }
            Algorithm::RandomForest => {
                let (m, resolved) = forest::fit_forest(&params.forest, seed, train, y_train)?;
                let json = serde_json::json!({
                        "forest": to_json(&params.forest),
                        "resolved": to_json(&resolved),
                        "seed": seed,
                        "shape": m.shape(),
                });
                (Fitted::Trees(m), json)
            }
            Algorithm::Gbdt => {
                let valid_params = params.gbdt.check(seed)?;
                let train_set = Dataset::new(train.as_gbdt_matrix()?, y_train)?;
                let valid_set = Dataset::validation(valid.as_gbdt_matrix()?, y_valid)?;
                let m = valid_params.fit(&train_set, Some(&valid_set))?;
                let json = serde_json::json!({
                    "gbdt": to_json(&params.gbdt),
                    "seed": seed,
                    "best_round": m.best_round(),
                    "n_trees": m.n_trees(),
                });
                (Fitted::Gbdt(m), json)
            }
        };
        let valid_scores = fitted.predict(valid)?;
        let calibration = choose_calibrator(
            &valid_scores,
            y_valid,
            &ChooseOptions {
                folds: CALIBRATION_FOLDS,
                seed,
            },
        )?;
        Ok(ChurnModel {
            format_version: FORMAT_VERSION,
            algorithm,
            encoder,
            feature_names,
            hyperparameters,
            fitted,
            calibration,
            summary: TrainingSummary {
                train_rows: n_train,
                train_positives: train_pos,
                valid_rows: n_valid,
                valid_positives: valid_pos,
                fit_seconds: started.elapsed().as_secs_f64(),
            },
            reference_profile: None,
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn encoder(&self) -> &TableEncoder {
        &self.encoder
    }

    /// The encoded feature names, in [`FeatureMatrix`] column order.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The parameters actually used: the algorithm's section of [`TrainParams`], the seed and
    /// what was resolved at fit time (GBDT's best round and tree count, the forest's sample
    /// sizes).
    pub fn hyperparameters(&self) -> serde_json::Value {
        let mut v = self.hyperparameters.clone();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("algorithm".into(), self.algorithm.name().into());
        }
        v
    }

    /// The calibrator and the out-of-fold scores of the candidates it was chosen from.
    pub fn calibration(&self) -> &CalibrationChoice {
        &self.calibration
    }

    pub fn calibrator(&self) -> &Calibrator {
        &self.calibration.calibrator
    }

    pub fn summary(&self) -> &TrainingSummary {
        &self.summary
    }

    /// Calibrated churn probabilities, one per row (parallel).
    pub fn predict_proba(&self, x: &FeatureMatrix) -> Result<Vec<f64>, ModelError> {
        let mut p = self.predict_uncalibrated(x)?;
        let cal = &self.calibration.calibrator;
        p.par_iter_mut().for_each(|v| *v = cal.apply(*v));
        Ok(p)
    }

    /// The algorithm's own probabilities, before calibration.
    pub fn predict_uncalibrated(&self, x: &FeatureMatrix) -> Result<Vec<f64>, ModelError> {
        check_features(x, &self.feature_names, "prediction input")?;
        self.fitted.predict(x)
    }

    /// Encodes `df` with the model's encoder and predicts calibrated probabilities.
    pub fn predict_table(&self, df: &DataFrame) -> Result<Vec<f64>, ModelError> {
        self.predict_proba(&self.encoder.transform(df)?)
    }

    /// Every contribution of every row (see [`Contributions`]): exact `coef × standardised
    /// value` in log-odds for logistic (names include `__missing` indicators), TreeSHAP in
    /// log-odds for GBDT and in probability for the decision tree and forest.
    pub fn contributions(&self, x: &FeatureMatrix) -> Result<Contributions, ModelError> {
        self.contributions_with(x, Attribution::Exact)
    }

    /// [`ChurnModel::contributions`] with the attribution method of tree models chosen (see
    /// [`ChurnModel::explain_with`]); `expected_value + Σ contributions` is the raw score
    /// either way.
    pub fn contributions_with(
        &self,
        x: &FeatureMatrix,
        method: Attribution,
    ) -> Result<Contributions, ModelError> {
        let n = check_features(x, &self.feature_names, "explanation input")?;
        let names = self.fitted.contribution_names(&self.feature_names);
        let k = names.len();
        let mut values = vec![0.0; n * k];
        if k > 0 {
            let attributor = Attributor::new(&self.fitted, method, x)?;
            values.par_chunks_mut(k).enumerate().for_each_init(
                || self.fitted.scratch(x.n_features(), k),
                |s, (r, out)| {
                    attributor.row(x, r, s);
                    out.copy_from_slice(&s.phi);
                },
            );
        }
        Ok(Contributions {
            names,
            scale: self.fitted.scale(),
            expected_value: self.fitted.expected_value(),
            values,
        })
    }

    /// Top-`top_k` reasons per row: the features that push this customer's risk up the most
    /// (positive contributions only, largest first; fewer than `top_k` if fewer push up), with
    /// the customer's raw value (missing → `None`). Contributions as in
    /// [`ChurnModel::contributions`]: for logistic, `coef_j × (x_j − mean_j) / sd_j`, this
    /// customer against the average training customer; for trees, TreeSHAP against the
    /// training distribution.
    pub fn explain(&self, x: &FeatureMatrix, top_k: usize) -> Result<Vec<Vec<Reason>>, ModelError> {
        self.explain_with(x, top_k, Attribution::Exact)
    }

    /// [`ChurnModel::explain`] with the attribution method of tree models chosen:
    /// [`Attribution::Path`] walks each tree once per row (for millions of rows), where exact
    /// TreeSHAP costs [`ChurnModel::exact_attribution_cost`] per row. Logistic contributions
    /// are exact either way.
    pub fn explain_with(
        &self,
        x: &FeatureMatrix,
        top_k: usize,
        method: Attribution,
    ) -> Result<Vec<Vec<Reason>>, ModelError> {
        let n = check_features(x, &self.feature_names, "explanation input")?;
        let names = self.fitted.contribution_names(&self.feature_names);
        let attributor = Attributor::new(&self.fitted, method, x)?;
        Ok((0..n)
            .into_par_iter()
            .map_init(
                || self.fitted.scratch(x.n_features(), names.len()),
                |s, r| {
                    attributor.row(x, r, s);
                    explain::top_positive(&s.phi, top_k)
                        .into_iter()
                        .map(|k| Reason {
                            feature: names[k].clone(),
                            value: self.fitted.shown_value(x, r, k),
                            contribution: s.phi[k],
                        })
                        .collect()
                },
            )
            .collect())
    }

    /// Estimated work of exact explanations per row, in TreeSHAP path-element updates
    /// (Σ over trees of leaves × (depth + 1)²); the number of contributions for logistic.
    pub fn exact_attribution_cost(&self) -> f64 {
        match self.fitted.trees() {
            Some((trees, _)) => tree_shap_cost(trees),
            None => self.fitted.contribution_names(&self.feature_names).len() as f64,
        }
    }

    /// The name of the attribution `method` gives for this model: `linear` (logistic, exact),
    /// `tree_shap` or `path`.
    pub fn attribution_name(&self, method: Attribution) -> &'static str {
        match (self.fitted.trees(), method) {
            (None, _) => "linear",
            (Some(_), Attribution::Exact) => "tree_shap",
            (Some(_), Attribution::Path) => "path",
        }
    }

    /// Global importance, normalised to sum to 1, largest first: |coefficient| on the
    /// standardised scale for logistic (per encoded column and missing indicator), total split
    /// gain for GBDT, mean weighted Gini decrease for the decision tree and forest.
    pub fn importance(&self) -> Vec<(String, f64)> {
        let names = self.fitted.contribution_names(&self.feature_names);
        let raw = self.fitted.importance(self.feature_names.len());
        let total: f64 = raw.iter().filter(|v| v.is_finite()).sum();
        let mut out: Vec<(String, f64)> = names
            .into_iter()
            .zip(raw)
            .map(|(n, v)| (n, if total > 0.0 { v / total } else { 0.0 }))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }

    /// The model as JSON bytes (floats round-trip exactly).
    pub fn to_bytes(&self) -> Result<Vec<u8>, ModelError> {
        serde_json::to_vec(self).map_err(ModelError::Serialize)
    }

    /// A model from [`ChurnModel::to_bytes`], validated (format version, feature names, tree
    /// structure, coefficient counts) so a loaded model cannot fail at prediction time.
    pub fn from_bytes(b: &[u8]) -> Result<ChurnModel, ModelError> {
        serde_json::from_slice(b).map_err(|e| {
            // A validation failure inside try_from arrives as a serde error: keep its text.
            ModelError::Deserialize(e)
        })
    }

    /// The drift reference stored with the model, if any.
    pub fn reference_profile(&self) -> Option<&DriftProfile> {
        self.reference_profile.as_ref()
    }

    pub fn set_reference_profile(&mut self, p: DriftProfile) {
        self.reference_profile = Some(p);
    }

    /// Log-odds of an uncalibrated probability (for callers comparing with contributions).
    pub fn logit(p: f64) -> f64 {
        logit(p)
    }

    /// The logistic function.
    pub fn sigmoid(z: f64) -> f64 {
        sigmoid(z)
    }
}
