//! Path attribution (Saabas 2014, the `treeinterpreter` method): a fast, additive alternative to
//! exact TreeSHAP for explaining millions of rows.
//!
//! Every node has an expected output `E[node]`, the cover-weighted mean of the leaves under it
//! (the root's is the tree's expected value). A row walks one root-to-leaf path; each step
//! from a node to the child the row goes to credits the node's split feature with
//! `E[child] − E[node]`. The credits telescope, so `E[root] + Σ φ = leaf value`: the same local
//! accuracy as TreeSHAP (expected value + contributions = raw score), at the cost of one tree
//! walk (O(depth)) instead of O(leaves · depth²) per tree.
//!
//! What it gives up: Shapley consistency. A split near the root is credited with the whole
//! change in expectation it causes, so features used early get more than their Shapley share,
//! and a feature the row's path does not touch gets nothing even if it matters elsewhere in the
//! tree. For ranking the few features that push a customer's risk up the most it usually agrees
//! with TreeSHAP; the agreement on real models is measured in BENCHMARKS.md.

use super::tree::Tree;

/// The expected output of every node of `tree`: the cover-weighted mean of its leaves.
/// Children come after their parent ([`Tree::validate`]), so one backward pass suffices.
pub fn node_means(tree: &Tree) -> Vec<f64> {
    let mut mean = vec![0.0; tree.nodes.len()];
    for i in (0..tree.nodes.len()).rev() {
        let n = &tree.nodes[i];
        mean[i] = if n.is_leaf() {
            n.value
        } else {
            let (l, r) = (&tree.nodes[n.left], &tree.nodes[n.right]);
            let total = l.cover + r.cover;
            if total > 0.0 {
                (l.cover * mean[n.left] + r.cover * mean[n.right]) / total
            } else {
                0.5 * (mean[n.left] + mean[n.right])
            }
        };
    }
    mean
}

/// Adds the path attribution of one tree for `row` to `phi` (`means` from [`node_means`] of
/// the same tree). Returns the leaf value reached.
#[inline]
pub fn path_attribution(tree: &Tree, means: &[f64], row: &[f64], phi: &mut [f64]) -> f64 {
    let mut i = 0;
    loop {
        let n = &tree.nodes[i];
        if n.is_leaf() {
            return n.value;
        }
        let next = n.child(row[n.feature]);
        phi[n.feature] += means[next] - means[i];
        i = next;
    }
}

/// The credits path attribution gives at each leaf of `tree` (indexed by node; empty for
/// internal nodes): `(feature, Σ E[child] − E[node] over the path's splits on it)`, one pair
/// per feature on the root-to-leaf path, in order of first use. Adding a row's leaf credits is
/// [`path_attribution`] without the walk.
pub fn leaf_credits(tree: &Tree, means: &[f64]) -> Vec<Vec<(u32, f64)>> {
    let mut out = vec![Vec::new(); tree.nodes.len()];
    if tree.nodes.is_empty() {
        return out;
    }
    // (node, credits on the way to it)
    let mut stack: Vec<(usize, Vec<(u32, f64)>)> = vec![(0, Vec::new())];
    while let Some((i, credits)) = stack.pop() {
        let n = &tree.nodes[i];
        if n.is_leaf() {
            out[i] = credits;
            continue;
        }
        for child in [n.right, n.left] {
            let mut c = credits.clone();
            let d = means[child] - means[i];
            match c.iter_mut().find(|(f, _)| *f as usize == n.feature) {
                Some((_, v)) => *v += d,
                None => c.push((n.feature as u32, d)),
            }
            stack.push((child, c));
        }
    }
    out
}

/// Estimated work of exact TreeSHAP for one row of `trees`, in path-element updates
/// (Σ over trees of leaves × (depth + 1)²): what [`crate::training::models::ChurnModel`] uses to
/// decide when exact explanations of many rows get too slow.
pub fn tree_shap_cost(trees: &[Tree]) -> f64 {
    trees
        .iter()
        .map(|t| {
            let leaves = t.nodes.iter().filter(|n| n.is_leaf()).count() as f64;
            let d = t.depth() as f64 + 1.0;
            leaves * d * d
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::super::shap::{tree_shap, ShapScratch};
    use super::super::tree::tests::small_tree;
    use super::*;

    #[test]
    fn hand_computed_two_feature_tree() {
        // x0 <= 0.5 ? (x1 <= 2 ? 1 : 2) : 3; covers 10 / 6 (2, 4) / 4.
        // E[root] = 2.2, E[left] = (2·1 + 4·2)/6 = 5/3.
        let t = small_tree();
        let means = node_means(&t);
        assert!((means[0] - 2.2).abs() < 1e-12);
        let mut phi = vec![0.0; 2];
        let leaf = path_attribution(&t, &means, &[0.0, 3.0], &mut phi);
        assert_eq!(leaf, 2.0);
        // Root → left: x0 credited 5/3 − 2.2; left → its right leaf: x1 credited 2 − 5/3.
        assert!((phi[0] - (5.0 / 3.0 - 2.2)).abs() < 1e-12, "{phi:?}");
        assert!((phi[1] - (2.0 - 5.0 / 3.0)).abs() < 1e-12, "{phi:?}");
        // Local accuracy: expected value + contributions = the output.
        assert!((means[0] + phi[0] + phi[1] - leaf).abs() < 1e-12);
        // Right branch: only x0 is on the path.
        let mut phi = vec![0.0; 2];
        assert_eq!(path_attribution(&t, &means, &[1.0, 0.0], &mut phi), 3.0);
        assert!((phi[0] - 0.8).abs() < 1e-12 && phi[1] == 0.0, "{phi:?}");
    }

    #[test]
    fn root_mean_is_the_tree_expected_value_and_stumps_match_tree_shap() {
        let t = small_tree();
        assert!((node_means(&t)[0] - t.expected_value()).abs() < 1e-12);
        // On a single split (one feature on the path) both methods are the same number.
        let stump = Tree {
            nodes: vec![
                super::super::tree::Node {
                    feature: 1,
                    threshold: 0.0,
                    default_left: true,
                    left: 1,
                    right: 2,
                    value: 0.0,
                    cover: 10.0,
                    gain: 1.0,
                },
                super::super::tree::Node::leaf(-1.0, 7.0),
                super::super::tree::Node::leaf(2.0, 3.0),
            ],
        };
        for x in [[0.0, -1.0], [0.0, 1.0], [0.0, f64::NAN]] {
            let mut a = vec![0.0; 2];
            let mut b = vec![0.0; 2];
            path_attribution(&stump, &node_means(&stump), &x, &mut a);
            tree_shap(&stump, &x, &mut b, &mut ShapScratch::default());
            for (u, v) in a.iter().zip(&b) {
                assert!((u - v).abs() < 1e-12, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn cost_grows_with_leaves_and_depth() {
        let t = small_tree(); // 3 leaves, depth 2
        assert_eq!(tree_shap_cost(std::slice::from_ref(&t)), 3.0 * 9.0);
        assert_eq!(tree_shap_cost(&[t.clone(), t]), 54.0);
    }
}
