//! Exact TreeSHAP (Lundberg, Erion & Lee 2018, "Consistent Individualized Feature Attribution
//! for Tree Ensembles", Algorithm 2) over the plain [`Tree`].
//!
//! The value of a feature set `S` for a row `x` is the conditional expectation
//! `v(S) = E[f(x) | x_S]` computed the tree way: at a node splitting on a feature in `S` follow
//! `x`; otherwise average both children weighted by their `cover`. A feature's SHAP value is its
//! Shapley value in that game, `φ_i = Σ_{S ⊆ F∖{i}} |S|!(M−|S|−1)!/M! · (v(S∪{i}) − v(S))`, so
//! `v(∅) + Σ φ_i = v(F) = f(x)`: the expected value plus the contributions is the raw score.
//! Algorithm 2 computes all `φ` in O(leaves · depth²) per tree by tracking, along each root-to-
//! leaf path, the proportion of feature subsets that flow down it (`extend` / `unwind`).

use super::tree::Tree;

/// One row's explanation, in raw-score (log-odds) units:
/// `expected_value + contributions.iter().sum() == raw score`.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub expected_value: f64,
    pub contributions: Vec<f64>,
}

const NO_FEATURE: usize = usize::MAX;

#[derive(Debug, Clone, Copy, Default)]
struct PathElement {
    feature: usize,
    zero_fraction: f64,
    one_fraction: f64,
    pweight: f64,
}

/// Reusable scratch space for explaining many rows (the path buffer of Algorithm 2).
#[derive(Debug, Default, Clone)]
pub struct ShapScratch {
    path: Vec<PathElement>,
}

/// Adds the SHAP contributions of one tree for `row` to `phi` (`phi.len()` = number of
/// features, `row.len()` likewise). The tree must be valid ([`Tree::validate`]).
pub fn tree_shap(tree: &Tree, row: &[f64], phi: &mut [f64], scratch: &mut ShapScratch) {
    let Some(root) = tree.nodes.first() else {
        return;
    };
    if root.is_leaf() {
        return; // a constant tree attributes nothing
    }
    let d = tree.depth();
    let need = (d + 2) * (d + 3) / 2 + 2;
    if scratch.path.len() < need {
        scratch.path.resize(need, PathElement::default());
    }
    recurse(
        tree,
        row,
        phi,
        0,
        &mut scratch.path,
        0,
        0,
        1.0,
        1.0,
        NO_FEATURE,
    );
}

/// SHAP values of a sum of trees plus a constant `base` (a boosted model's raw score).
pub fn ensemble_shap(
    trees: &[Tree],
    base: f64,
    n_features: usize,
    row: &[f64],
    scratch: &mut ShapScratch,
) -> Explanation {
    let mut contributions = vec![0.0; n_features];
    let mut expected_value = base;
    for t in trees {
        expected_value += t.expected_value();
        tree_shap(t, row, &mut contributions, scratch);
    }
    Explanation {
        expected_value,
        contributions,
    }
}

#[allow(clippy::too_many_arguments)]
fn recurse(
    tree: &Tree,
    x: &[f64],
    phi: &mut [f64],
    node: usize,
    buf: &mut [PathElement],
    parent_off: usize,
    unique_depth: usize,
    parent_zero: f64,
    parent_one: f64,
    parent_feature: usize,
) {
    // This call's path lives right after its parent's (which has unique_depth + 1 entries).
    let off = parent_off + unique_depth + 1;
    buf.copy_within(parent_off..parent_off + unique_depth + 1, off);
    extend_path(
        &mut buf[off..],
        unique_depth,
        parent_zero,
        parent_one,
        parent_feature,
    );

    let n = &tree.nodes[node];
    if n.is_leaf() {
        for i in 1..=unique_depth {
            let w = unwound_path_sum(&buf[off..], unique_depth, i);
            let el = buf[off + i];
            phi[el.feature] += w * (el.one_fraction - el.zero_fraction) * n.value;
        }
        return;
    }

    let hot = n.child(x[n.feature]);
    let cold = if hot == n.left { n.right } else { n.left };
    let hot_zero = tree.nodes[hot].cover / n.cover;
    let cold_zero = tree.nodes[cold].cover / n.cover;

    // A feature met again on the path: undo its earlier extension and carry its fractions.
    let mut incoming_zero = 1.0;
    let mut incoming_one = 1.0;
    let mut depth = unique_depth;
    if let Some(k) = (1..=depth).find(|&k| buf[off + k].feature == n.feature) {
        incoming_zero = buf[off + k].zero_fraction;
        incoming_one = buf[off + k].one_fraction;
        unwind_path(&mut buf[off..], depth, k);
        depth -= 1;
    }

    recurse(
        tree,
        x,
        phi,
        hot,
        buf,
        off,
        depth + 1,
        hot_zero * incoming_zero,
        incoming_one,
        n.feature,
    );
    recurse(
        tree,
        x,
        phi,
        cold,
        buf,
        off,
        depth + 1,
        cold_zero * incoming_zero,
        0.0,
        n.feature,
    );
}

fn extend_path(path: &mut [PathElement], unique_depth: usize, zero: f64, one: f64, feature: usize) {
    path[unique_depth] = PathElement {
        feature,
        zero_fraction: zero,
        one_fraction: one,
        pweight: if unique_depth == 0 { 1.0 } else { 0.0 },
    };
    let denom = (unique_depth + 1) as f64;
    for i in (0..unique_depth).rev() {
        path[i + 1].pweight += one * path[i].pweight * (i + 1) as f64 / denom;
        path[i].pweight = zero * path[i].pweight * (unique_depth - i) as f64 / denom;
    }
}

fn unwind_path(path: &mut [PathElement], unique_depth: usize, path_index: usize) {
    let one = path[path_index].one_fraction;
    let zero = path[path_index].zero_fraction;
    let denom = (unique_depth + 1) as f64;
    let mut next_one_portion = path[unique_depth].pweight;
    for i in (0..unique_depth).rev() {
        if one != 0.0 {
            let tmp = path[i].pweight;
            path[i].pweight = next_one_portion * denom / ((i + 1) as f64 * one);
            next_one_portion = tmp - path[i].pweight * zero * (unique_depth - i) as f64 / denom;
        } else {
            path[i].pweight = path[i].pweight * denom / (zero * (unique_depth - i) as f64);
        }
    }
    for i in path_index..unique_depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero_fraction = path[i + 1].zero_fraction;
        path[i].one_fraction = path[i + 1].one_fraction;
    }
}

fn unwound_path_sum(path: &[PathElement], unique_depth: usize, path_index: usize) -> f64 {
    let one = path[path_index].one_fraction;
    let zero = path[path_index].zero_fraction;
    let denom = (unique_depth + 1) as f64;
    let mut next_one_portion = path[unique_depth].pweight;
    let mut total = 0.0;
    for i in (0..unique_depth).rev() {
        if one != 0.0 {
            let tmp = next_one_portion * denom / ((i + 1) as f64 * one);
            total += tmp;
            next_one_portion = path[i].pweight - tmp * zero * (unique_depth - i) as f64 / denom;
        } else if zero != 0.0 {
            total += path[i].pweight / zero / ((unique_depth - i) as f64 / denom);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::super::tree::{Node, Tree};
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `E[f(x) | x_S]` by the definition (follow x on features in S, else cover-weighted mean).
    fn conditional_expectation(tree: &Tree, node: usize, x: &[f64], s: u32) -> f64 {
        let n = &tree.nodes[node];
        if n.is_leaf() {
            return n.value;
        }
        if s & (1 << n.feature) != 0 {
            return conditional_expectation(tree, n.child(x[n.feature]), x, s);
        }
        let (l, r) = (&tree.nodes[n.left], &tree.nodes[n.right]);
        (l.cover * conditional_expectation(tree, n.left, x, s)
            + r.cover * conditional_expectation(tree, n.right, x, s))
            / n.cover
    }

    fn factorial(n: usize) -> f64 {
        (1..=n).map(|k| k as f64).product()
    }

    /// Shapley values by enumerating all 2^M subsets.
    fn brute_force(tree: &Tree, x: &[f64], m: usize) -> Vec<f64> {
        let mut phi = vec![0.0; m];
        for (i, p) in phi.iter_mut().enumerate() {
            for s in 0u32..(1 << m) {
                if s & (1 << i) != 0 {
                    continue;
                }
                let size = s.count_ones() as usize;
                let weight = factorial(size) * factorial(m - size - 1) / factorial(m);
                *p += weight
                    * (conditional_expectation(tree, 0, x, s | (1 << i))
                        - conditional_expectation(tree, 0, x, s));
            }
        }
        phi
    }

    /// A random full tree of the given depth over `m` features (features repeat on paths, which
    /// exercises `unwind_path`), with integer covers that add up.
    fn random_tree(rng: &mut ChaCha8Rng, depth: usize, m: usize) -> Tree {
        fn grow(
            rng: &mut ChaCha8Rng,
            nodes: &mut Vec<Node>,
            depth: usize,
            m: usize,
            cover: f64,
        ) -> usize {
            let me = nodes.len();
            if depth == 0 || cover < 2.0 {
                nodes.push(Node::leaf(rng.random_range(-2.0..2.0), cover));
                return me;
            }
            nodes.push(Node::leaf(0.0, cover));
            let left_cover = rng.random_range(1..cover as u32) as f64;
            let l = grow(rng, nodes, depth - 1, m, left_cover);
            let r = grow(rng, nodes, depth - 1, m, cover - left_cover);
            nodes[me] = Node {
                feature: rng.random_range(0..m),
                threshold: rng.random_range(-1.0..1.0),
                default_left: rng.random_bool(0.5),
                left: l,
                right: r,
                value: 0.0,
                cover,
                gain: 1.0,
            };
            me
        }
        let mut nodes = Vec::new();
        grow(rng, &mut nodes, depth, m, 1000.0);
        Tree { nodes }
    }

    #[test]
    fn hand_computed_two_feature_tree() {
        // x0 <= 0.5 ? (x1 <= 2 ? 1 : 2) : 3; covers 10 / 6 (2, 4) / 4.
        let t = super::super::tree::tests::small_tree();
        let mut scratch = ShapScratch::default();
        let x = [0.0, 3.0]; // f(x) = 2, E f = 2.2
        let mut phi = vec![0.0; 2];
        tree_shap(&t, &x, &mut phi, &mut scratch);
        // v({}) = 2.2, v({0}) = (2*1 + 4*2)/6 = 5/3, v({1}) = 0.6*2 + 0.4*3 = 2.4, v({0,1}) = 2.
        // φ0 = ½(5/3 − 2.2) + ½(2 − 2.4) = −7/15; φ1 = ½(2.4 − 2.2) + ½(2 − 5/3) = 4/15.
        assert!((phi[0] + 7.0 / 15.0).abs() < 1e-12, "{phi:?}");
        assert!((phi[1] - 4.0 / 15.0).abs() < 1e-12, "{phi:?}");
    }

    #[test]
    fn agrees_with_brute_force_shapley_values() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut scratch = ShapScratch::default();
        for m in 1..=4 {
            for _ in 0..20 {
                let tree = random_tree(&mut rng, 5, m);
                assert!(tree.validate(0, m).is_ok());
                let x: Vec<f64> = (0..m)
                    .map(|_| {
                        if rng.random_bool(0.1) {
                            f64::NAN
                        } else {
                            rng.random_range(-1.0..1.0)
                        }
                    })
                    .collect();
                let mut phi = vec![0.0; m];
                tree_shap(&tree, &x, &mut phi, &mut scratch);
                let expected = brute_force(&tree, &x, m);
                for (a, b) in phi.iter().zip(&expected) {
                    assert!((a - b).abs() < 1e-9, "m={m}: {phi:?} vs {expected:?}");
                }
                let total = tree.expected_value() + phi.iter().sum::<f64>();
                assert!((total - tree.predict_row(&x)).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn ensemble_adds_base_and_trees() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let trees: Vec<Tree> = (0..5).map(|_| random_tree(&mut rng, 4, 3)).collect();
        let x = [0.3, -0.2, f64::NAN];
        let e = ensemble_shap(&trees, -1.5, 3, &x, &mut ShapScratch::default());
        let raw: f64 = -1.5 + trees.iter().map(|t| t.predict_row(&x)).sum::<f64>();
        let sum = e.expected_value + e.contributions.iter().sum::<f64>();
        assert!((sum - raw).abs() < 1e-9, "{sum} vs {raw}");
    }
}
