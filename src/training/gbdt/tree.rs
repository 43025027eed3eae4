//! A plain binary decision tree over raw feature values: the form every tree model of the
//! project can be converted to, so prediction and TreeSHAP ([`super::shap`]) are written once.
//! A row goes left at a node iff `x[feature] <= threshold`; a missing value (NaN) goes left iff
//! `default_left`. Each node carries its `cover`: how much training data reached it (for the
//! boosted trees, the number of training rows), which defines the expectations TreeSHAP takes.

use serde::{Deserialize, Serialize};

use super::error::GbdtError;
use super::exact_float;

/// Deepest tree accepted by [`Tree::validate`] (a tree of up to 4096 leaves fits).
pub const MAX_TREE_DEPTH: usize = 4096;

/// One node. A leaf has `left == right == 0` (node 0 is the root, never a child); its `value`
/// is the output. An internal node's `value` is unused by prediction (the boosted trees store
/// the cover-weighted mean of their leaves there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub feature: usize,
    #[serde(with = "exact_float")]
    pub threshold: f64,
    pub default_left: bool,
    pub left: usize,
    pub right: usize,
    #[serde(with = "exact_float")]
    pub value: f64,
    #[serde(with = "exact_float")]
    pub cover: f64,
    /// Loss reduction of this split (0 for leaves); feeds gain importance.
    #[serde(with = "exact_float", default)]
    pub gain: f64,
}

impl Node {
    /// A leaf with output `value` reached by `cover` training data.
    pub fn leaf(value: f64, cover: f64) -> Self {
        Node {
            feature: 0,
            threshold: 0.0,
            default_left: false,
            left: 0,
            right: 0,
            value,
            cover,
            gain: 0.0,
        }
    }

    pub fn is_leaf(&self) -> bool {
        self.left == 0 && self.right == 0
    }

    /// The child a value goes to.
    #[inline]
    pub fn child(&self, x: f64) -> usize {
        let go_left = if x.is_nan() {
            self.default_left
        } else {
            x <= self.threshold
        };
        if go_left {
            self.left
        } else {
            self.right
        }
    }
}

/// A tree: `nodes[0]` is the root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    /// The output for one row (`row[f]` = value of feature `f`).
    pub fn predict_row(&self, row: &[f64]) -> f64 {
        let mut i = 0;
        loop {
            let n = &self.nodes[i];
            if n.is_leaf() {
                return n.value;
            }
            i = n.child(row[n.feature]);
        }
    }

    /// Index of the leaf a row lands in.
    pub fn leaf_index(&self, row: &[f64]) -> usize {
        let mut i = 0;
        while !self.nodes[i].is_leaf() {
            let n = &self.nodes[i];
            i = n.child(row[n.feature]);
        }
        i
    }

    /// The cover-weighted mean output: the tree's expected value under the training
    /// distribution its covers describe (TreeSHAP's `E[f(X)]`).
    pub fn expected_value(&self) -> f64 {
        let root = self.nodes.first().map_or(0.0, |n| n.cover);
        if root <= 0.0 {
            return 0.0;
        }
        self.nodes
            .iter()
            .filter(|n| n.is_leaf())
            .map(|n| n.value * n.cover)
            .sum::<f64>()
            / root
    }

    /// Depth of the deepest leaf (a single leaf has depth 0).
    pub fn depth(&self) -> usize {
        let mut stack = vec![(0usize, 0usize)];
        let mut deepest = 0;
        while let Some((i, d)) = stack.pop() {
            let n = &self.nodes[i];
            if n.is_leaf() {
                deepest = deepest.max(d);
            } else {
                stack.push((n.left, d + 1));
                stack.push((n.right, d + 1));
            }
        }
        deepest
    }

    /// Checks the structure so that prediction and TreeSHAP cannot index out of bounds or loop:
    /// at least one node; children point forward (`child > parent`) and inside the tree; every
    /// node is reached once; depth at most [`MAX_TREE_DEPTH`] (TreeSHAP recurses and keeps
    /// O(depth²) path state); features are `< n_features`; thresholds are not NaN; covers finite
    /// and > 0 for internal nodes (TreeSHAP divides by them). `tree` is this tree's index, for
    /// the message.
    pub fn validate(&self, tree: usize, n_features: usize) -> Result<(), GbdtError> {
        let bad = |node: usize, reason: String| GbdtError::InvalidModel { tree, node, reason };
        if self.nodes.is_empty() {
            return Err(bad(0, "the tree has no nodes".into()));
        }
        let mut parents = vec![0u32; self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            if !n.value.is_finite() {
                return Err(bad(i, format!("value {} is not finite", n.value)));
            }
            if !(n.cover.is_finite() && n.cover >= 0.0) {
                return Err(bad(i, format!("cover {} is not finite and >= 0", n.cover)));
            }
            if n.is_leaf() {
                continue;
            }
            if n.feature >= n_features {
                return Err(bad(
                    i,
                    format!("feature {} but the model has {n_features}", n.feature),
                ));
            }
            if n.threshold.is_nan() {
                return Err(bad(i, "threshold is NaN".into()));
            }
            if n.cover <= 0.0 {
                return Err(bad(i, "an internal node needs a cover > 0".into()));
            }
            for c in [n.left, n.right] {
                if c <= i || c >= self.nodes.len() {
                    return Err(bad(
                        i,
                        format!(
                            "child {c} must come after the node and exist ({} nodes)",
                            self.nodes.len()
                        ),
                    ));
                }
                parents[c] += 1;
            }
        }
        if let Some(i) = (1..self.nodes.len()).find(|&i| parents[i] != 1) {
            return Err(bad(
                i,
                format!("is the child of {} nodes, expected exactly 1", parents[i]),
            ));
        }
        let depth = self.depth();
        if depth > MAX_TREE_DEPTH {
            return Err(bad(
                0,
                format!("depth {depth} exceeds the supported {MAX_TREE_DEPTH}"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// x0 <= 0.5 ? (x1 <= 2 ? 1 : 2) : 3, missing x0 → right, missing x1 → left.
    pub(crate) fn small_tree() -> Tree {
        let split = |feature, threshold, default_left, left, right, cover| Node {
            feature,
            threshold,
            default_left,
            left,
            right,
            value: 0.0,
            cover,
            gain: 1.0,
        };
        Tree {
            nodes: vec![
                split(0, 0.5, false, 1, 2, 10.0),
                split(1, 2.0, true, 3, 4, 6.0),
                Node::leaf(3.0, 4.0),
                Node::leaf(1.0, 2.0),
                Node::leaf(2.0, 4.0),
            ],
        }
    }

    #[test]
    fn routes_values_and_missing_by_default_direction() {
        let t = small_tree();
        assert_eq!(t.predict_row(&[0.5, 2.0]), 1.0);
        assert_eq!(t.predict_row(&[0.0, 2.5]), 2.0);
        assert_eq!(t.predict_row(&[0.6, 0.0]), 3.0);
        assert_eq!(t.predict_row(&[f64::NAN, 0.0]), 3.0);
        assert_eq!(t.predict_row(&[0.0, f64::NAN]), 1.0);
        // (1*2 + 2*4 + 3*4) / 10
        assert!((t.expected_value() - 2.2).abs() < 1e-12);
        assert_eq!(t.depth(), 2);
        assert!(t.validate(0, 2).is_ok());
    }

    #[test]
    fn validation_rejects_cycles_and_unknown_features() {
        let mut t = small_tree();
        t.nodes[1].left = 0;
        let e = t.validate(7, 2).expect_err("backward child");
        assert!(
            e.to_string()
                .starts_with("invalid model: tree 7, node 1: child 0"),
            "{e}"
        );
        let t = small_tree();
        let e = t.validate(0, 1).expect_err("feature 1 of 1");
        assert_eq!(
            e.to_string(),
            "invalid model: tree 0, node 1: feature 1 but the model has 1"
        );
    }
}
