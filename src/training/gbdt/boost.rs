//! The boosting loop for binary log loss: start from the log-odds of the weighted mean label;
//! each round compute every row's gradient `w(p − y)` and hessian `w·p(1 − p)`, grow one tree on
//! them (optionally on a row sample and a feature sample), add `learning_rate × leaf value` to
//! the scores, and track the validation loss for early stopping.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::binning::{fit_mappers, BinMapper, BinnedData};
use super::error::{DataSet, GbdtError};
use super::grow::{GrowRules, Grower, GrownTree};
use super::histogram::Grad;
use super::matrix::Dataset;
use super::metrics::{mean_log_loss, row_log_loss};
use super::model::{GbdtModel, RoundRecord};
use super::params::GbdtValidParams;
use super::predict::FlatForest;
use super::split::SplitRules;
use super::tree::{Node, Tree};

/// Wall-clock time of the phases of one fit, for profiling (seconds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FitTimings {
    pub binning: f64,
    pub gradients: f64,
    pub grow: f64,
    pub update: f64,
    pub total: f64,
}

/// Fits a model; see [`super::GbdtValidParams::fit`].
pub(crate) fn fit(
    params: &GbdtValidParams,
    train: &Dataset<'_>,
    valid: Option<&Dataset<'_>>,
) -> Result<(GbdtModel, FitTimings), GbdtError> {
    check_inputs(params, train, valid)?;
    match params.n_threads {
        Some(threads) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| GbdtError::ThreadPool {
                    threads,
                    reason: e.to_string(),
                })?;
            pool.install(|| fit_checked(params, train, valid))
        }
        None => fit_checked(params, train, valid),
    }
}

fn check_inputs(
    params: &GbdtValidParams,
    train: &Dataset<'_>,
    valid: Option<&Dataset<'_>>,
) -> Result<(), GbdtError> {
    let (n, nf) = (train.n_rows(), train.x.n_features());
    if n == 0 || nf == 0 {
        return Err(GbdtError::EmptyData {
            set: DataSet::Train,
            rows: n,
            features: nf,
        });
    }
    if n > u32::MAX as usize {
        return Err(GbdtError::LengthMismatch {
            set: DataSet::Train,
            what: "rows (at most 4294967295 supported)",
            expected: u32::MAX as usize,
            found: n,
        });
    }
    let (mut pos, mut neg) = (0.0, 0.0);
    for (r, &y) in train.y.iter().enumerate() {
        let w = train.weights.map_or(1.0, |w| w[r]);
        if y == 1.0 {
            pos += w;
        } else {
            neg += w;
        }
    }
    if pos <= 0.0 || neg <= 0.0 {
        return Err(GbdtError::SingleClass {
            set: DataSet::Train,
            class: if pos > 0.0 { 1.0 } else { 0.0 },
        });
    }
    if let Some(v) = valid {
        if v.n_rows() == 0 {
            return Err(GbdtError::EmptyData {
                set: DataSet::Validation,
                rows: 0,
                features: v.x.n_features(),
            });
        }
        if v.x.n_features() != nf {
            return Err(GbdtError::FeatureCount {
                set: DataSet::Validation,
                expected: nf,
                found: v.x.n_features(),
            });
        }
    } else if params.early_stopping_rounds.is_some() {
        return Err(GbdtError::InvalidParam {
            name: "early_stopping_rounds",
            value: format!("{:?}", params.early_stopping_rounds),
            allowed: "None unless a validation set is given to fit",
        });
    }
    Ok(())
}

fn fit_checked(
    params: &GbdtValidParams,
    train: &Dataset<'_>,
    valid: Option<&Dataset<'_>>,
) -> Result<(GbdtModel, FitTimings), GbdtError> {
    let start = std::time::Instant::now();
    let mut timings = FitTimings::default();
    let x = &train.x;
    let (n, nf) = (x.n_rows(), x.n_features());

    let mappers = fit_mappers(
        x,
        params.max_bin,
        params.bin_construct_sample_cnt,
        params.seed,
    );
    let data = BinnedData::new(x, &mappers);
    timings.binning = start.elapsed().as_secs_f64();

    // Objective weights: sample weight × scale_pos_weight for positives (None = all 1).
    let weights: Option<Vec<f64>> = if train.weights.is_some() || params.scale_pos_weight != 1.0 {
        Some(
            (0..n)
                .map(|r| {
                    let w = train.weights.map_or(1.0, |w| w[r]);
                    if train.y[r] == 1.0 {
                        w * params.scale_pos_weight
                    } else {
                        w
                    }
                })
                .collect(),
        )
    } else {
        None
    };
    let base_score = base_score(train.y, weights.as_deref());

    let mut scores = vec![base_score; n];
    let mut valid_scores = valid.map(|v| vec![base_score; v.n_rows()]);
    let mut gh: Vec<[Grad; 2]> = vec![[0.0; 2]; n];
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let rules = GrowRules {
        num_leaves: params.num_leaves,
        max_depth: params.max_depth,
        split: SplitRules {
            min_data_in_leaf: params.min_data_in_leaf,
            min_sum_hessian: params.min_sum_hessian_in_leaf,
            lambda_l2: params.lambda_l2,
            min_gain: params.min_gain_to_split,
        },
    };
    let mut grower = Grower::new(rules, mappers.iter().map(BinMapper::n_bins).collect(), n);
    let all_features: Vec<usize> = (0..nf).collect();
    let n_sampled_features = ((params.feature_fraction * nf as f64).round() as usize).clamp(1, nf);
    let mut bag: Vec<u32> = Vec::new();

    let mut trees: Vec<Tree> = Vec::with_capacity(params.n_estimators);
    let mut history: Vec<RoundRecord> = Vec::with_capacity(params.n_estimators);
    let mut best: Option<(usize, f64)> = None; // (round, valid loss)

    for round in 0..params.n_estimators {
        let t0 = std::time::Instant::now();
        let loss = gradients(&scores, train.y, weights.as_deref(), &mut gh);
        if let Some(last) = history.last_mut() {
            last.train_loss = loss;
        }
        timings.gradients += t0.elapsed().as_secs_f64();

        let features: Vec<usize> = if n_sampled_features < nf {
            let mut f = rand::seq::index::sample(&mut rng, nf, n_sampled_features).into_vec();
            f.sort_unstable();
            f
        } else {
            all_features.clone()
        };
        let bagged = params.bagging_fraction < 1.0;
        if bagged {
            bag.clear();
            for r in 0..n as u32 {
                if rng.random::<f64>() < params.bagging_fraction {
                    bag.push(r);
                }
            }
        }

        let t1 = std::time::Instant::now();
        let grown = grower.grow(&data, &gh, bagged.then_some(&bag[..]), &features);
        timings.grow += t1.elapsed().as_secs_f64();
        if grown.nodes.len() == 1 {
            // No split gains anything any more: further rounds would change nothing.
            break;
        }

        let t2 = std::time::Instant::now();
        let lr = params.learning_rate;
        if bagged {
            // Out-of-bag rows are not in the leaf ranges: route every row through the tree.
            scores.par_chunks_mut(4096).enumerate().for_each(|(c, s)| {
                for (k, s) in s.iter_mut().enumerate() {
                    let r = c * 4096 + k;
                    let codes = &data.rows[r * nf..(r + 1) * nf];
                    *s += lr * grown.nodes[grown.leaf_of(codes)].value;
                }
            });
        } else {
            let idx = grower.indices();
            for &(node, begin, end) in &grown.leaves {
                let v = lr * grown.nodes[node].value;
                for &r in &idx[begin..end] {
                    scores[r as usize] += v;
                }
            }
        }
        let tree = to_tree(&grown, &mappers, lr);
        let valid_loss = match (valid, valid_scores.as_mut()) {
            (Some(v), Some(vs)) => {
                FlatForest::new(std::slice::from_ref(&tree), nf).accumulate(v.x.columns(), vs);
                Some(mean_log_loss(vs, v.y, v.weights))
            }
            _ => None,
        };
        trees.push(tree);
        timings.update += t2.elapsed().as_secs_f64();
        history.push(RoundRecord {
            round: round + 1,
            train_loss: f64::NAN, // filled by the next gradient pass or below
            valid_loss,
        });

        if let (Some(k), Some(vl)) = (params.early_stopping_rounds, valid_loss) {
            if best.is_none_or(|(_, b)| vl < b) {
                best = Some((round + 1, vl));
            }
            if let Some((best_round, _)) = best {
                if round + 1 - best_round >= k {
                    break;
                }
            }
        }
    }
    if let Some(last) = history.last_mut() {
        last.train_loss = mean_log_loss(&scores, train.y, weights.as_deref());
    }

    let best_round = match (params.early_stopping_rounds, best) {
        (Some(_), Some((r, _))) => {
            trees.truncate(r);
            Some(r)
        }
        _ => None,
    };
    let model = GbdtModel::new(
        x.names().to_vec(),
        base_score,
        trees,
        best_round,
        history,
        params.clone(),
    )?;
    timings.total = start.elapsed().as_secs_f64();
    Ok((model, timings))
}

/// Log-odds of the weighted mean label.
fn base_score(y: &[f64], w: Option<&[f64]>) -> f64 {
    let (pos, total) = match w {
        Some(w) => y
            .iter()
            .zip(w)
            .fold((0.0, 0.0), |(p, t), (&y, &w)| (p + w * y, t + w)),
        None => (y.iter().sum::<f64>(), y.len() as f64),
    };
    let p = pos / total;
    (p / (1.0 - p)).ln()
}

/// Fills `gh` with gradient and hessian of the log loss at `scores`; returns the weighted mean
/// loss at `scores`.
fn gradients(scores: &[f64], y: &[f64], w: Option<&[f64]>, gh: &mut [[Grad; 2]]) -> f64 {
    const CHUNK: usize = 16_384;
    let parts: Vec<(f64, f64)> = gh
        .par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(c, out)| {
            let start = c * CHUNK;
            let (mut loss, mut total) = (0.0, 0.0);
            for (k, o) in out.iter_mut().enumerate() {
                let r = start + k;
                let s = scores[r];
                let wr = w.map_or(1.0, |w| w[r]);
                let e = (-s.abs()).exp();
                let p = if s >= 0.0 {
                    1.0 / (1.0 + e)
                } else {
                    e / (1.0 + e)
                };
                *o = [(wr * (p - y[r])) as Grad, (wr * p * (1.0 - p)) as Grad];
                loss += wr * row_log_loss(s, y[r]);
                total += wr;
            }
            (loss, total)
        })
        .collect();
    let (loss, total) = parts
        .iter()
        .fold((0.0, 0.0), |(l, t), (a, b)| (l + a, t + b));
    if total > 0.0 {
        loss / total
    } else {
        0.0
    }
}

/// Converts a bin-space tree to raw thresholds, with shrinkage folded into the values.
fn to_tree(grown: &GrownTree, mappers: &[BinMapper], lr: f64) -> Tree {
    Tree {
        nodes: grown
            .nodes
            .iter()
            .map(|b| Node {
                feature: b.feature,
                threshold: if b.is_leaf() {
                    0.0
                } else {
                    mappers[b.feature].upper_bound(b.bin as usize)
                },
                default_left: b.default_left,
                left: b.left,
                right: b.right,
                value: lr * b.value,
                cover: b.count as f64,
                gain: b.gain,
            })
            .collect(),
    }
}
