//! One CART tree grown with linfa-trees, converted to the project's plain [`Tree`] so prediction
//! and TreeSHAP are the gbdt module's.
//!
//! linfa sees median-imputed values (missing → median) of a subset of rows and features, with
//! 0/1 labels and integer class weights. Each fitted linfa tree is walked from `root_node()`
//! through `split()` (feature, threshold, impurity decrease) and `children()`; a row goes left
//! iff `x <= threshold`, as in linfa's fit. Each internal node gets `default_left = median <=
//! threshold`, so a missing value follows the path its imputed median would. The leaves' values
//! are then the churn rate of the rows routed through the converted tree (`cover` = their
//! number, with multiplicity), not linfa's majority class; a leaf no row reaches takes its
//! parent's rate, and a split no row reaches becomes such a leaf. `gain` = linfa's impurity
//! decrease × the node's cover (the weighted decrease sklearn's impurity importance sums).
//!
//! **Windows.** linfa scans every row of its dataset for every feature at every node, so one
//! deep fit costs O(nodes × n × p). The tree is therefore grown in windows of [`WINDOW`]
//! levels: linfa fits the top levels on all rows, then each leaf that may still split is fitted
//! again, by a new linfa tree, on the rows that reach it only, and grafted in place — O(levels /
//! WINDOW × 2^WINDOW × n × p) in total. CART's greedy choice at a node depends only on the
//! node's rows, so the splits are linfa's. A side effect on linfa's pruning (which merges
//! sibling leaves predicting the same majority class): a leaf that linfa pruned inside a window
//! gets a second fit on its own rows, and stays a leaf only if its next WINDOW levels all
//! predict one class.

use std::panic::AssertUnwindSafe;

use linfa::prelude::*;
use linfa_trees::{DecisionTree, SplitQuality, TreeNode};
use ndarray::{Array1, Array2};

use crate::training::encode::FeatureMatrix;
use crate::training::gbdt::{Node, Tree};

use super::error::ModelError;
use super::params::ClassWeight;
use super::preprocess::impute;

/// Settings of one linfa tree.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CartConfig {
    pub max_depth: usize,
    pub min_weight_leaf: f64,
    pub min_impurity_decrease: f64,
    pub class_weight: ClassWeight,
}

/// linfa-trees accumulates sample weights in `f32`: integer sums are exact below 2^24.
const F32_EXACT: u64 = 1 << 24;

/// Integer weights of churners and stayers. Balanced: the minority class weighs
/// round(majority / minority), the majority 1 — integers, because linfa adds and subtracts
/// weights in `f32` while scanning splits, and fractional weights drift until a side it
/// believes non-empty sums to 0 (linfa then panics on `n_samples > 0`).
fn class_weights(class_weight: ClassWeight, rows: &[usize], y: &[f64]) -> (u64, u64) {
    let pos = rows.iter().filter(|&&r| y[r] == 1.0).count() as u64;
    let neg = rows.len() as u64 - pos;
    match class_weight {
        ClassWeight::Balanced if pos > 0 && neg > 0 => {
            let ratio = |a: u64, b: u64| ((a as f64 / b as f64).round() as u64).max(1);
            if pos <= neg {
                (ratio(neg, pos), 1)
            } else {
                (1, ratio(pos, neg))
            }
        }
        _ => (1, 1),
    }
}

fn fit_err(algorithm: &'static str) -> impl Fn(String) -> ModelError {
    move |message| ModelError::Fit { algorithm, message }
}

/// Depth of each linfa fit: the tree is grown in windows of this many levels (see the module
/// docs).
pub(crate) const WINDOW: usize = 4;

/// Grows a tree on `rows` × `features` of `x` (imputed with `medians`) in linfa windows, then
/// fills its leaves from `leaf_rows` (row indices into `x`, repeats allowed).
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit_tree(
    algorithm: &'static str,
    cfg: &CartConfig,
    x: &FeatureMatrix,
    y: &[f64],
    medians: &[f64],
    rows: &[usize],
    features: &[usize],
    leaf_rows: &[usize],
) -> Result<Tree, ModelError> {
    let err = fit_err(algorithm);
    if rows.len() < 2 || features.is_empty() {
        return Err(err(format!(
            "a tree needs at least 2 rows and 1 feature, got {} rows and {} features",
            rows.len(),
            features.len()
        )));
    }
    let (w_pos, w_neg) = class_weights(cfg.class_weight, rows, y);
    let total: u64 = rows
        .iter()
        .map(|&r| if y[r] == 1.0 { w_pos } else { w_neg })
        .sum();
    if total >= F32_EXACT {
        return Err(err(format!(
            "{} rows weigh {total} in total; linfa sums weights in f32, exact only below \
             {F32_EXACT}: lower max_samples",
            rows.len()
        )));
    }
    let fit = Window {
        cfg,
        x,
        y,
        medians,
        features,
        weights: (w_pos as f32, w_neg as f32),
        err: &err,
    };
    let mut nodes = vec![Node::leaf(0.0, 0.0)];
    // (slot of a leaf to grow, its rows, its depth)
    let mut work = vec![(0usize, rows.to_vec(), 0usize)];
    while let Some((slot, node_rows, depth)) = work.pop() {
        let pos = node_rows.iter().filter(|&&r| y[r] == 1.0).count();
        if depth >= cfg.max_depth || node_rows.len() < 2 || pos == 0 || pos == node_rows.len() {
            continue;
        }
        let budget = WINDOW.min(cfg.max_depth - depth);
        let fitted = fit.linfa(&node_rows, budget)?;
        if fitted.root_node().is_leaf() {
            continue;
        }
        let first_new = nodes.len();
        graft(fitted.root_node(), slot, features, medians, &mut nodes);
        // Route the node's rows through the grafted splits to the new leaves.
        let mut by_leaf: Vec<(usize, Vec<usize>, usize)> = Vec::new();
        let mut leaf_slot = std::collections::HashMap::new();
        for &r in &node_rows {
            let (mut i, mut d) = (slot, depth);
            while !nodes[i].is_leaf() {
                let n = &nodes[i];
                i = n.child(impute(x.columns[n.feature][r], medians[n.feature]));
                d += 1;
            }
            let k = *leaf_slot.entry(i).or_insert_with(|| {
                by_leaf.push((i, Vec::new(), d));
                by_leaf.len() - 1
            });
            by_leaf[k].1.push(r);
        }
        debug_assert!(by_leaf.iter().all(|(i, _, _)| *i >= first_new));
        work.extend(by_leaf);
    }
    let skeleton = Tree { nodes };
    Ok(fill_leaves(&skeleton, x, y, medians, leaf_rows))
}

/// What one linfa fit needs.
struct Window<'a, E: Fn(String) -> ModelError> {
    cfg: &'a CartConfig,
    x: &'a FeatureMatrix,
    y: &'a [f64],
    medians: &'a [f64],
    features: &'a [usize],
    /// Weight of a churner and of a stayer (fixed for the whole tree).
    weights: (f32, f32),
    err: &'a E,
}

impl<E: Fn(String) -> ModelError> Window<'_, E> {
    /// A linfa tree of depth at most `depth` on `rows` (imputed, weighted).
    fn linfa(&self, rows: &[usize], depth: usize) -> Result<DecisionTree<f64, usize>, ModelError> {
        let k = self.features.len();
        let mut data = Vec::with_capacity(rows.len() * k);
        for &r in rows {
            for &f in self.features {
                data.push(impute(self.x.columns[f][r], self.medians[f]));
            }
        }
        let records =
            Array2::from_shape_vec((rows.len(), k), data).map_err(|e| (self.err)(e.to_string()))?;
        let targets: Array1<usize> = rows
            .iter()
            .map(|&r| usize::from(self.y[r] == 1.0))
            .collect();
        let (w_pos, w_neg) = self.weights;
        let weights: Array1<f32> = rows
            .iter()
            .map(|&r| if self.y[r] == 1.0 { w_pos } else { w_neg })
            .collect();
        let dataset = Dataset::new(records, targets).with_weights(weights);
        let params = DecisionTree::<f64, usize>::params()
            .split_quality(SplitQuality::Gini)
            .max_depth(Some(depth))
            .min_weight_leaf(self.cfg.min_weight_leaf as f32)
            .min_impurity_decrease(self.cfg.min_impurity_decrease);
        // linfa asserts internally (e.g. a non-empty side when computing Gini); a panic there
        // is turned into an error rather than taking the process down.
        std::panic::catch_unwind(AssertUnwindSafe(|| params.fit(&dataset)))
            .map_err(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                (self.err)(format!("linfa-trees failed: {what}"))
            })?
            .map_err(|e| (self.err)(e.to_string()))
    }
}

/// Writes the linfa subtree at `root` into `nodes`: its root replaces the leaf at `slot`, the
/// rest is appended in pre-order (children after their parent). Leaf values are not yet set.
fn graft(
    root: &TreeNode<f64, usize>,
    slot: usize,
    features: &[usize],
    medians: &[f64],
    nodes: &mut Vec<Node>,
) {
    fn split_of(node: &TreeNode<f64, usize>, features: &[usize], medians: &[f64]) -> Option<Node> {
        let children = node.children();
        if node.is_leaf() || children[0].is_none() || children[1].is_none() {
            return None;
        }
        let (local, threshold, decrease) = node.split();
        let feature = features[local];
        Some(Node {
            feature,
            threshold,
            default_left: medians[feature] <= threshold,
            left: 0,
            right: 0,
            value: 0.0,
            cover: 0.0,
            gain: decrease,
        })
    }
    fn walk(
        node: &TreeNode<f64, usize>,
        me: usize,
        features: &[usize],
        medians: &[f64],
        nodes: &mut Vec<Node>,
    ) {
        let Some(split) = split_of(node, features, medians) else {
            nodes[me] = Node::leaf(0.0, 0.0);
            return;
        };
        nodes[me] = split;
        let children = node.children();
        for (side, child) in children.into_iter().enumerate() {
            let Some(child) = child.as_deref() else {
                continue;
            };
            let at = nodes.len();
            nodes.push(Node::leaf(0.0, 0.0));
            if side == 0 {
                nodes[me].left = at;
            } else {
                nodes[me].right = at;
            }
            walk(child, at, features, medians, nodes);
        }
    }
    walk(root, slot, features, medians, nodes);
}

/// Routes `rows` (imputed, as linfa saw them) through the skeleton, then rebuilds it with leaf churn rates and covers.
fn fill_leaves(
    skeleton: &Tree,
    x: &FeatureMatrix,
    y: &[f64],
    medians: &[f64],
    rows: &[usize],
) -> Tree {
    let m = skeleton.nodes.len();
    let mut count = vec![0.0f64; m];
    let mut pos = vec![0.0f64; m];
    for &r in rows {
        let mut i = 0;
        loop {
            count[i] += 1.0;
            pos[i] += y[r];
            let n = &skeleton.nodes[i];
            if n.is_leaf() {
                break;
            }
            i = n.child(impute(x.columns[n.feature][r], medians[n.feature]));
        }
    }
    let mut out = Vec::with_capacity(m);
    let root_rate = if count[0] > 0.0 {
        pos[0] / count[0]
    } else {
        0.0
    };
    rebuild(skeleton, 0, root_rate, &count, &pos, &mut out);
    Tree { nodes: out }
}

fn rebuild(
    t: &Tree,
    i: usize,
    parent_rate: f64,
    count: &[f64],
    pos: &[f64],
    out: &mut Vec<Node>,
) -> usize {
    let me = out.len();
    let n = &t.nodes[i];
    let rate = if count[i] > 0.0 {
        pos[i] / count[i]
    } else {
        parent_rate
    };
    if n.is_leaf() || count[i] == 0.0 {
        out.push(Node::leaf(rate, count[i]));
        return me;
    }
    out.push(Node {
        value: rate,
        cover: count[i],
        gain: n.gain * count[i],
        ..n.clone()
    });
    let l = rebuild(t, n.left, rate, count, pos, out);
    let r = rebuild(t, n.right, rate, count, pos, out);
    out[me].left = l;
    out[me].right = r;
    me
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x0 in 0..100, label 1 iff x0 >= 70: one split at 69.5, leaves 0 and 1.
    #[test]
    fn converted_tree_splits_where_linfa_did_and_holds_leaf_rates() {
        let x0: Vec<f64> = (0..100).map(f64::from).collect();
        let x1: Vec<f64> = (0..100).map(|i| f64::from(i % 7)).collect();
        let y: Vec<f64> = (0..100).map(|i| f64::from(u8::from(i >= 70))).collect();
        let x = FeatureMatrix::new(vec!["a".into(), "b".into()], vec![x0, x1]).expect("matrix");
        let cfg = CartConfig {
            max_depth: 3,
            min_weight_leaf: 1.0,
            min_impurity_decrease: 1e-5,
            class_weight: ClassWeight::None,
        };
        let rows: Vec<usize> = (0..100).collect();
        let t = fit_tree("test", &cfg, &x, &y, &[49.5, 3.0], &rows, &[0, 1], &rows).expect("tree");
        assert!(t.validate(0, 2).is_ok());
        assert_eq!(t.nodes.len(), 3, "{t:?}");
        assert_eq!(t.nodes[0].feature, 0);
        assert_eq!(t.nodes[0].threshold, 69.5);
        assert!(t.nodes[0].default_left, "median 49.5 <= 69.5");
        assert_eq!(t.nodes[0].cover, 100.0);
        assert_eq!(t.predict_row(&[10.0, 0.0]), 0.0);
        assert_eq!(t.predict_row(&[80.0, 0.0]), 1.0);
        assert_eq!(t.predict_row(&[f64::NAN, 0.0]), 0.0);
        assert!((t.expected_value() - 0.3).abs() < 1e-12);
    }

    /// 32 alternating segments of 2 values: no tree of depth <= WINDOW separates them, so the
    /// windows must graft; the result must still be a valid tree that fits every row.
    #[test]
    fn windows_graft_deeper_trees_that_stay_valid() {
        let x0: Vec<f64> = (0..64).map(f64::from).collect();
        let y: Vec<f64> = (0..64).map(|i| f64::from((i / 2) % 2)).collect();
        let x = FeatureMatrix::new(vec!["a".into()], vec![x0]).expect("matrix");
        let cfg = CartConfig {
            max_depth: 40,
            min_weight_leaf: 1.0,
            min_impurity_decrease: 1e-5,
            class_weight: ClassWeight::None,
        };
        let rows: Vec<usize> = (0..64).collect();
        let t = fit_tree("test", &cfg, &x, &y, &[31.5], &rows, &[0], &rows).expect("tree");
        assert!(t.validate(0, 1).is_ok());
        assert!(t.depth() > WINDOW, "depth {}", t.depth());
        for (r, &yr) in y.iter().enumerate().take(64) {
            assert_eq!(t.predict_row(&[f64::from(r as u8)]), yr, "row {r}");
        }
        let leaves = t.nodes.iter().filter(|n| n.is_leaf()).count();
        assert_eq!(leaves, 32, "one pure leaf per segment");
        assert_eq!(t.nodes[0].cover, 64.0);
    }
}
