//! Batch scoring written for throughput. All trees are flattened into one array of 16-byte
//! nodes in which the two children of a node sit side by side (`right = left + 1`) and a leaf
//! points to itself and always "goes left". Values and thresholds are compared as order-keeping
//! integer keys ([`key`]: `a <= b` as floats exactly when `key(a) <= key(b)`, −0 = +0). Rows are
//! scored in blocks of 64: the block's keys are laid out row-major twice, once with NaN as the
//! largest key (read by nodes whose missing values go right) and once as the smallest (nodes
//! whose missing values go left), so a node's whole test is one integer comparison
//! `key(x) <= key(threshold)`, exact for every input including ±inf and NaN.
//! Each tree is then walked one level at a time for all rows of the block,
//! `depth(tree)` levels, with no branch on the data (next node = `left + !go_left`): the rows
//! are independent instruction streams the CPU overlaps instead of a chain of mispredicted
//! branches. Blocks run in parallel with rayon.

use rayon::prelude::*;

use super::tree::Tree;

#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct FlatNode {
    /// [`key`] of the threshold (`u64::MAX` for a leaf: everything goes "left", to itself).
    threshold: u64,
    /// Index of the left child; the right child is `left + 1`. A leaf has `left` = itself.
    left: u32,
    /// Where the node reads its value in a row: `feature`, plus `BLOCK × n_features` if missing
    /// values go left (the copy of the block with NaN as −inf).
    offset: u32,
}

#[derive(Debug, Clone, Copy)]
struct FlatTree {
    root: u32,
    depth: u32,
    /// After this many levels, only the rows not yet in a leaf are walked on (chosen from the
    /// covers to minimise the expected number of steps; `depth` = never).
    compact_at: u32,
}

/// Trees flattened for scoring (built per call: it takes microseconds).
#[derive(Debug, Clone)]
pub(crate) struct FlatForest {
    nodes: Vec<FlatNode>,
    /// Output of each node (used for leaves).
    values: Vec<f64>,
    trees: Vec<FlatTree>,
    n_features: usize,
}

/// Rows walked together: 2 copies × 64 rows × 50 features × 8 bytes = 50 KB of inputs.
const BLOCK: usize = 64;
/// Rows per parallel task.
const TASK: usize = 64 * BLOCK;

impl FlatForest {
    /// Flattens valid trees ([`Tree::validate`]) over `n_features` features.
    pub(crate) fn new(trees: &[Tree], n_features: usize) -> Self {
        let mut f = FlatForest {
            nodes: Vec::new(),
            values: Vec::new(),
            trees: Vec::with_capacity(trees.len()),
            n_features,
        };
        let missing_left_offset = (BLOCK * n_features) as u32;
        for t in trees {
            if t.nodes.is_empty() {
                continue;
            }
            let root = f.nodes.len();
            // Breadth-first: a node's children are given two consecutive slots.
            let mut queue = std::collections::VecDeque::from([(0usize, root)]);
            f.push_slot();
            while let Some((src, dst)) = queue.pop_front() {
                let n = &t.nodes[src];
                f.values[dst] = n.value;
                if !n.is_leaf() {
                    let left = f.nodes.len();
                    f.push_slot();
                    f.push_slot();
                    f.nodes[dst] = FlatNode {
                        threshold: key(n.threshold),
                        left: left as u32,
                        offset: n.feature as u32
                            + if n.default_left {
                                missing_left_offset
                            } else {
                                0
                            },
                    };
                    queue.push_back((n.left, left));
                    queue.push_back((n.right, left + 1));
                }
            }
            let depth = t.depth();
            f.trees.push(FlatTree {
                root: root as u32,
                depth: depth as u32,
                compact_at: compaction_level(t, depth) as u32,
            });
        }
        f
    }

    /// A leaf slot: largest threshold and a self loop, so it stays put whatever the value.
    fn push_slot(&mut self) {
        self.nodes.push(FlatNode {
            threshold: u64::MAX,
            left: self.nodes.len() as u32,
            offset: 0,
        });
        self.values.push(0.0);
    }

    /// Adds every tree's output for rows `0..out.len()` of the columns to `out`.
    ///
    /// # Panics
    /// If `cols.len()` is not the forest's `n_features` or a column is shorter than `out`
    /// (callers check both first; this guards the unchecked indexing below).
    pub(crate) fn accumulate(&self, cols: &[&[f64]], out: &mut [f64]) {
        let nf = self.n_features;
        assert_eq!(cols.len(), nf);
        assert!(cols.iter().all(|c| c.len() >= out.len()));
        out.par_chunks_mut(TASK).enumerate().for_each(|(t, task)| {
            let mut cur = [0u32; BLOCK];
            let mut rows = vec![0u64; 2 * BLOCK * nf];
            for (b, block) in task.chunks_mut(BLOCK).enumerate() {
                let start = t * TASK + b * BLOCK;
                let (right_copy, left_copy) = rows.split_at_mut(BLOCK * nf);
                for (f, c) in cols.iter().enumerate() {
                    for (k, &v) in c[start..start + block.len()].iter().enumerate() {
                        let (key_v, nan) = (key(v), v.is_nan());
                        let r = if nan { u64::MAX } else { key_v };
                        let l = if nan { 0 } else { key_v };
                        right_copy[k * nf + f] = r;
                        left_copy[k * nf + f] = l;
                    }
                }
                self.accumulate_block(&rows, block, &mut cur);
            }
        });
    }

    fn accumulate_block(&self, rows: &[u64], out: &mut [f64], cur: &mut [u32; BLOCK]) {
        let nf = self.n_features;
        let cur = &mut cur[..out.len()];
        let mut active = [0u32; BLOCK];
        assert!(rows.len() >= 2 * BLOCK * nf);
        for t in &self.trees {
            cur.fill(t.root);
            for _ in 0..t.compact_at {
                for (k, c) in cur.iter_mut().enumerate() {
                    *c = self.step(rows, nf, k, *c);
                }
            }
            if t.compact_at < t.depth {
                // Keep walking only the rows that have not reached a leaf (a leaf loops on
                // itself).
                let mut m = 0;
                for (k, &c) in cur.iter().enumerate() {
                    active[m] = k as u32;
                    m += usize::from(self.nodes[c as usize].left != c);
                }
                for _ in t.compact_at..t.depth {
                    for &k in &active[..m] {
                        let k = k as usize;
                        cur[k] = self.step(rows, nf, k, cur[k]);
                    }
                }
            }
            for (o, &c) in out.iter_mut().zip(cur.iter()) {
                *o += self.values[c as usize];
            }
        }
    }

    /// One level of the walk for row `k` of the block at node `c`: the next node.
    #[inline(always)]
    fn step(&self, rows: &[u64], nf: usize, k: usize, c: u32) -> u32 {
        debug_assert!((c as usize) < self.nodes.len() && k < BLOCK);
        // SAFETY: `c` is a node index of this forest (a root, or `left + 0|1` of a node, all
        // slots allocated in `new`). `offset < BLOCK·nf + nf` because `feature < nf` (trees
        // are validated against `nf`), and `k < BLOCK`, so
        // `k·nf + offset < 2·BLOCK·nf <= rows.len()` (asserted in `accumulate_block`).
        let (n, x) = unsafe {
            let n = self.nodes.get_unchecked(c as usize);
            (n, *rows.get_unchecked(k * nf + n.offset as usize))
        };
        n.left + u32::from(x > n.threshold)
    }
}

/// The level after which walking only the unfinished rows is expected to be cheapest: walking
/// all rows costs one step per row per level; compacting costs about one step per row, after
/// which each level costs one step (plus an indirection) per row whose leaf is deeper. Leaf
/// depths are weighted by cover, the training distribution.
fn compaction_level(t: &Tree, depth: usize) -> usize {
    let mut by_depth = vec![0.0; depth + 1];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, d)) = stack.pop() {
        let n = &t.nodes[i];
        if n.is_leaf() {
            by_depth[d] += n.cover.max(0.0);
        } else {
            stack.push((n.left, d + 1));
            stack.push((n.right, d + 1));
        }
    }
    let total: f64 = by_depth.iter().sum();
    if total <= 0.0 {
        return depth;
    }
    let mut best = (depth as f64, depth);
    let mut deeper = total; // cover of leaves deeper than `level`
    for (level, &c) in by_depth.iter().enumerate().take(depth) {
        deeper -= c;
        let cost = level as f64 + 1.0 + 1.2 * (deeper / total) * (depth - level) as f64;
        if cost < best.0 {
            best = (cost, level);
        }
    }
    best.1
}

/// An integer key with the order of the floats: for non-NaN `a`, `b`, `a <= b` exactly when
/// `key(a) <= key(b)` (−0.0 and +0.0 share a key). Keys of non-NaN values lie strictly between
/// 0 and `u64::MAX`, which are left for NaN.
#[inline]
fn key(x: f64) -> u64 {
    // `+ 0.0` turns −0.0 into +0.0 and changes nothing else. Negative floats order backwards as
    // integers, so their bits are flipped; non-negative ones get the sign bit set. Branch-free.
    let b = (x + 0.0).to_bits();
    let negative = ((b as i64) >> 63) as u64;
    b ^ (negative | (1 << 63))
}

#[cfg(test)]
mod tests {
    use super::super::tree::tests::small_tree;
    use super::super::tree::{Node, Tree};
    use super::*;

    #[test]
    fn keys_order_like_floats() {
        let v = [
            f64::NEG_INFINITY,
            -f64::MAX,
            -1.5,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            5e-324,
            1.0,
            f64::MAX,
            f64::INFINITY,
        ];
        for &a in &v {
            assert!(key(a) > 0 && key(a) < u64::MAX);
            for &b in &v {
                assert_eq!(a <= b, key(a) <= key(b), "{a} <= {b}");
            }
        }
    }

    #[test]
    fn extreme_values_and_thresholds_route_exactly() {
        // Threshold +inf with missing right ("every value left"), and f64::MAX.
        let split = |threshold, default_left| Tree {
            nodes: vec![
                Node {
                    feature: 0,
                    threshold,
                    default_left,
                    left: 1,
                    right: 2,
                    value: 0.0,
                    cover: 2.0,
                    gain: 1.0,
                },
                Node::leaf(1.0, 1.0),
                Node::leaf(2.0, 1.0),
            ],
        };
        let x = [f64::INFINITY, f64::NAN, f64::MAX, -0.0, f64::NEG_INFINITY];
        for t in [
            split(f64::INFINITY, false),
            split(f64::INFINITY, true),
            split(f64::MAX, false),
            split(f64::NEG_INFINITY, true),
            split(0.0, false),
        ] {
            let mut out = vec![0.0; x.len()];
            FlatForest::new(std::slice::from_ref(&t), 1).accumulate(&[&x], &mut out);
            for (r, &v) in x.iter().enumerate() {
                assert_eq!(out[r], t.predict_row(&[v]), "x={v} {:?}", t.nodes[0]);
            }
        }
    }

    #[test]
    fn flat_forest_matches_tree_walk() {
        let trees = vec![
            small_tree(),
            Tree {
                nodes: vec![Node::leaf(0.25, 1.0)],
            },
            small_tree(),
        ];
        let n = 3000; // more than one task and block
        let a: Vec<f64> = (0..n)
            .map(|i| {
                if i % 11 == 0 {
                    f64::NAN
                } else {
                    (i % 10) as f64 / 10.0
                }
            })
            .collect();
        let b: Vec<f64> = (0..n)
            .map(|i| if i % 7 == 0 { f64::NAN } else { (i % 5) as f64 })
            .collect();
        let forest = FlatForest::new(&trees, 2);
        let mut out = vec![1.0; n];
        forest.accumulate(&[&a, &b], &mut out);
        for r in 0..n {
            let row = [a[r], b[r]];
            let want = 1.0 + trees.iter().map(|t| t.predict_row(&row)).sum::<f64>();
            assert_eq!(out[r], want, "row {r}");
        }
    }
}
