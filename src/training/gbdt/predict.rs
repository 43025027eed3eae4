//! Batch scoring written for throughput: all trees are flattened into one array of 24-byte nodes
//! (children as indices, leaves as negative indices into a value array), and rows are scored in
//! blocks: for a block of rows, every tree in turn, so a tree's nodes stay in L1 while the
//! block's feature values stay in L2. Blocks run in parallel with rayon.

use rayon::prelude::*;

use super::tree::Tree;

#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct FlatNode {
    threshold: f64,
    feature: u32,
    default_left: bool,
    /// `>= 0`: internal node index; `< 0`: `!leaf_index`.
    left: i32,
    right: i32,
}

/// Trees flattened for scoring (build per call: it takes microseconds).
#[derive(Debug, Clone)]
pub(crate) struct FlatForest {
    nodes: Vec<FlatNode>,
    roots: Vec<i32>,
    leaves: Vec<f64>,
}

/// Rows per block: 256 rows × 50 features × 8 bytes ≈ 100 KB of inputs, inside L2.
const BLOCK: usize = 256;
/// Rows per parallel task.
const TASK: usize = 8 * BLOCK;

impl FlatForest {
    /// Flattens valid trees ([`Tree::validate`]).
    pub(crate) fn new(trees: &[Tree]) -> Self {
        let mut f = FlatForest {
            nodes: Vec::new(),
            roots: Vec::with_capacity(trees.len()),
            leaves: Vec::new(),
        };
        for t in trees {
            // Global id of every node of this tree: internal → node index, leaf → !leaf index.
            let mut ids = Vec::with_capacity(t.nodes.len());
            let (mut next_node, mut next_leaf) = (f.nodes.len() as i32, f.leaves.len() as i32);
            for n in &t.nodes {
                if n.is_leaf() {
                    ids.push(!next_leaf);
                    next_leaf += 1;
                } else {
                    ids.push(next_node);
                    next_node += 1;
                }
            }
            for n in &t.nodes {
                if n.is_leaf() {
                    f.leaves.push(n.value);
                } else {
                    f.nodes.push(FlatNode {
                        threshold: n.threshold,
                        feature: n.feature as u32,
                        default_left: n.default_left,
                        left: ids[n.left],
                        right: ids[n.right],
                    });
                }
            }
            f.roots.push(ids.first().copied().unwrap_or(!0));
            if t.nodes.is_empty() {
                f.leaves.push(0.0);
            }
        }
        f
    }

    /// Adds every tree's output for rows `0..out.len()` of the columns to `out`.
    pub(crate) fn accumulate(&self, cols: &[&[f64]], out: &mut [f64]) {
        out.par_chunks_mut(TASK)
            .enumerate()
            .for_each(|(t, task)| {
                for (b, block) in task.chunks_mut(BLOCK).enumerate() {
                    self.accumulate_block(cols, t * TASK + b * BLOCK, block);
                }
            });
    }

    fn accumulate_block(&self, cols: &[&[f64]], start: usize, out: &mut [f64]) {
        for &root in &self.roots {
            if root < 0 {
                let v = self.leaves[!root as usize];
                out.iter_mut().for_each(|o| *o += v);
                continue;
            }
            for (k, o) in out.iter_mut().enumerate() {
                let r = start + k;
                let mut n = root;
                while n >= 0 {
                    let node = &self.nodes[n as usize];
                    let x = cols[node.feature as usize][r];
                    let go_left = if x.is_nan() {
                        node.default_left
                    } else {
                        x <= node.threshold
                    };
                    n = if go_left { node.left } else { node.right };
                }
                *o += self.leaves[!n as usize];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tree::tests::small_tree;
    use super::super::tree::{Node, Tree};
    use super::*;

    #[test]
    fn flat_forest_matches_tree_walk() {
        let trees = vec![small_tree(), Tree {
            nodes: vec![Node::leaf(0.25, 1.0)],
        }, small_tree()];
        let n = 3000; // more than one task and block
        let a: Vec<f64> = (0..n)
            .map(|i| if i % 11 == 0 { f64::NAN } else { (i % 10) as f64 / 10.0 })
            .collect();
        let b: Vec<f64> = (0..n)
            .map(|i| if i % 7 == 0 { f64::NAN } else { (i % 5) as f64 })
            .collect();
        let forest = FlatForest::new(&trees);
        let mut out = vec![1.0; n];
        forest.accumulate(&[&a, &b], &mut out);
        for r in 0..n {
            let row = [a[r], b[r]];
            let want = 1.0 + trees.iter().map(|t| t.predict_row(&row)).sum::<f64>();
            assert_eq!(out[r], want, "row {r}");
        }
    }
}
