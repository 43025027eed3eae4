//! Batch scoring written for throughput. All trees are flattened into one array of 16-byte
//! nodes in which the two children of a node sit side by side (`right = left + 1`) and a leaf
//! points to itself and always "goes left". Values and thresholds are compared as order-keeping
//! integer keys ([`key`]: `a <= b` as floats exactly when `key(a) <= key(b)`, −0 = +0). Rows are
//! scored in blocks of 64: the block's keys are laid out feature-major twice, once with NaN as
//! the largest key (read by nodes whose missing values go right) and once as the smallest (nodes
//! whose missing values go left), so a node's whole test is one integer comparison
//! `key(x) <= key(threshold)`, exact for every input including ±inf and NaN, and a node stores
//! where its value sits for row 0 of the block (row `k` is `k` further).
//! Each tree is walked with no branch on the data (next node = `left + !go_left`), eight rows at
//! a time held in registers for the levels every row goes through (eight independent chains the
//! CPU overlaps instead of one chain of mispredicted branches), then only the rows not yet in a
//! leaf walk on. Blocks run in parallel with rayon.

use rayon::prelude::*;

use super::tree::Tree;

#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct FlatNode {
    /// [`key`] of the threshold (`u64::MAX` for a leaf: everything goes "left", to itself).
    threshold: u64,
    /// Index of the left child; the right child is `left + 1`. A leaf has `left` = itself.
    left: u32,
    /// Where the node reads row 0's value in the block: `BLOCK × feature`, plus
    /// `BLOCK × n_features` if missing values go left (the copy of the block with NaN as −inf).
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
pub(crate) struct FlatForest<'a> {
    /// The trees as given (scored row by row when offsets would not fit a `u32`).
    src: &'a [Tree],
    nodes: Vec<FlatNode>,
    /// Output of each node (used for leaves).
    values: Vec<f64>,
    /// `(tree, node)` of `src` each slot holds (leaf padding slots never get reached).
    origin: Vec<(u32, u32)>,
    trees: Vec<FlatTree>,
    n_features: usize,
}

/// Path-attribution credits of every flat leaf slot (CSR: slot `i`'s `(feature, credit)`
/// pairs are `credits[offsets[i]..offsets[i + 1]]`), and each tree's node means for the
/// row-by-row fallback.
#[derive(Debug, Clone)]
pub(crate) struct LeafPaths {
    means: Vec<Vec<f64>>,
    offsets: Vec<u32>,
    credits: Vec<(u32, f64)>,
}

/// Rows walked together: 2 copies × 64 rows × 50 features × 8 bytes = 50 KB of inputs.
const BLOCK: usize = 64;
/// Rows walked together in registers (divides `BLOCK`).
const GROUP: usize = 8;
/// Rows per parallel task.
const TASK: usize = 64 * BLOCK;

impl<'a> FlatForest<'a> {
    /// Flattens valid trees ([`Tree::validate`]) over `n_features` features.
    pub(crate) fn new(trees: &'a [Tree], n_features: usize) -> Self {
        let mut f = FlatForest {
            src: trees,
            nodes: Vec::new(),
            values: Vec::new(),
            origin: Vec::new(),
            trees: Vec::with_capacity(trees.len()),
            n_features,
        };
        let missing_left_offset = (BLOCK * n_features) as u32;
        for (ti, t) in trees.iter().enumerate() {
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
                f.origin[dst] = (ti as u32, src as u32);
                if !n.is_leaf() {
                    let left = f.nodes.len();
                    f.push_slot();
                    f.push_slot();
                    f.nodes[dst] = FlatNode {
                        threshold: key(n.threshold),
                        left: left as u32,
                        // Wraps only when `accumulate` walks row by row instead.
                        offset: ((BLOCK * n.feature) as u32).wrapping_add(if n.default_left {
                            missing_left_offset
                        } else {
                            0
                        }),
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
        self.origin.push((0, 0));
    }

    /// Adds every tree's output for rows `0..out.len()` of the columns to `out`.
    ///
    /// # Panics
    /// If `cols.len()` is not the forest's `n_features` or a column is shorter than `out`
    /// (callers check both first; this guards the unchecked indexing below).
    pub(crate) fn accumulate(&self, cols: &[&[f64]], out: &mut [f64]) {
        self.walk(
            cols,
            out,
            1,
            |row, o| o[0] += self.src.iter().map(|t| t.predict_row(row)).sum::<f64>(),
            |k, c, block| block[k] += self.values[c as usize],
        );
    }

    /// Path attribution ([`super::path`]) of rows `0..n` into `phi` (row-major, `n_features`
    /// per row; added to what is there): every tree's leaf for the row, then that leaf's
    /// per-feature credits from `paths`.
    ///
    /// # Panics
    /// As [`FlatForest::accumulate`], or if `phi.len()` is not a multiple of `n_features`.
    pub(crate) fn accumulate_paths(&self, cols: &[&[f64]], paths: &LeafPaths, phi: &mut [f64]) {
        let nf = self.n_features;
        self.walk(
            cols,
            phi,
            nf,
            |row, o| {
                for (t, means) in self.src.iter().zip(&paths.means) {
                    super::path::path_attribution(t, means, row, o);
                }
            },
            |k, c, block| {
                let out = &mut block[k * nf..(k + 1) * nf];
                let (a, b) = (paths.offsets[c as usize], paths.offsets[c as usize + 1]);
                for &(f, d) in &paths.credits[a as usize..b as usize] {
                    out[f as usize] += d;
                }
            },
        );
    }

    /// Walks every tree for rows `0..out.len() / stride` (row `r` owns
    /// `out[r·stride..(r+1)·stride]`), in parallel blocks, calling `at_leaf(k, leaf, block_out)`
    /// for row `k` of each block and the flat leaf slot it reached in each tree. `by_row` is the
    /// row-by-row fallback (gathered row, its output slice) for offsets that would not fit a
    /// `u32`.
    fn walk(
        &self,
        cols: &[&[f64]],
        out: &mut [f64],
        stride: usize,
        by_row: impl Fn(&[f64], &mut [f64]) + Sync,
        at_leaf: impl Fn(usize, u32, &mut [f64]) + Sync,
    ) {
        let nf = self.n_features;
        assert_eq!(cols.len(), nf);
        assert!(stride > 0 && out.len().is_multiple_of(stride));
        let n = out.len() / stride;
        assert!(cols.iter().all(|c| c.len() >= n));
        if 2 * BLOCK * nf > u32::MAX as usize {
            // Offsets do not fit the 16-byte node (tens of millions of features): walk the
            // trees row by row.
            out.par_chunks_mut(stride).enumerate().for_each_init(
                || vec![0.0; nf],
                |row, (r, o)| {
                    for (v, c) in row.iter_mut().zip(cols) {
                        *v = c[r];
                    }
                    by_row(row, o);
                },
            );
            return;
        }
        out.par_chunks_mut(TASK * stride)
            .enumerate()
            .for_each(|(t, task)| {
                let mut cur = [0u32; BLOCK];
                let mut rows = vec![0u64; 2 * BLOCK * nf];
                for (b, block) in task.chunks_mut(BLOCK * stride).enumerate() {
                    let start = t * TASK + b * BLOCK;
                    let len = block.len() / stride;
                    let (right_copy, left_copy) = rows.split_at_mut(BLOCK * nf);
                    for (f, c) in cols.iter().enumerate() {
                        let values = &c[start..start + len];
                        let right = &mut right_copy[f * BLOCK..f * BLOCK + len];
                        let left = &mut left_copy[f * BLOCK..f * BLOCK + len];
                        for ((&v, r), l) in values.iter().zip(right).zip(left) {
                            let (key_v, nan) = (key(v), v.is_nan());
                            *r = if nan { u64::MAX } else { key_v };
                            *l = if nan { 0 } else { key_v };
                        }
                    }
                    self.walk_block(&rows, len, &mut cur, |k, c| at_leaf(k, c, block));
                }
            });
    }

    /// Walks every tree for the `n` rows of a block, then calls `at_leaf(k, leaf)` for each
    /// row `k` and the leaf slot it reached, tree by tree.
    fn walk_block(
        &self,
        rows: &[u64],
        n: usize,
        cur: &mut [u32; BLOCK],
        mut at_leaf: impl FnMut(usize, u32),
    ) {
        let cur = &mut cur[..n];
        let mut active = [0u32; BLOCK];
        assert!(rows.len() >= 2 * BLOCK * self.n_features);
        let full = n - n % GROUP;
        for t in &self.trees {
            // The levels every row walks: GROUP rows at a time, their nodes in registers.
            for (g, cur) in cur[..full].chunks_exact_mut(GROUP).enumerate() {
                let mut c = [t.root; GROUP];
                for _ in 0..t.compact_at {
                    for (j, c) in c.iter_mut().enumerate() {
                        *c = self.step(rows, g * GROUP + j, *c);
                    }
                }
                cur.copy_from_slice(&c);
            }
            for (k, c) in cur.iter_mut().enumerate().skip(full) {
                *c = t.root;
                for _ in 0..t.compact_at {
                    *c = self.step(rows, k, *c);
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
                let levels = t.depth - t.compact_at;
                let (groups, rest) = active[..m].split_at(m - m % GROUP);
                for ks in groups.chunks_exact(GROUP) {
                    let mut c = [0u32; GROUP];
                    for (c, &k) in c.iter_mut().zip(ks) {
                        *c = cur[k as usize];
                    }
                    for _ in 0..levels {
                        for (c, &k) in c.iter_mut().zip(ks) {
                            *c = self.step(rows, k as usize, *c);
                        }
                    }
                    for (&c, &k) in c.iter().zip(ks) {
                        cur[k as usize] = c;
                    }
                }
                for &k in rest {
                    let k = k as usize;
                    for _ in 0..levels {
                        cur[k] = self.step(rows, k, cur[k]);
                    }
                }
            }
            for (k, &c) in cur.iter().enumerate() {
                at_leaf(k, c);
            }
        }
    }

    /// The per-leaf credits of path attribution for every flat leaf slot.
    pub(crate) fn leaf_paths(&self) -> LeafPaths {
        let means: Vec<Vec<f64>> = self.src.iter().map(super::path::node_means).collect();
        let per_tree: Vec<Vec<Vec<(u32, f64)>>> = self
            .src
            .iter()
            .zip(&means)
            .map(|(t, m)| super::path::leaf_credits(t, m))
            .collect();
        let mut offsets = Vec::with_capacity(self.nodes.len() + 1);
        let mut credits = Vec::new();
        offsets.push(0u32);
        for (slot, &(t, node)) in self.origin.iter().enumerate() {
            let is_leaf = self.nodes[slot].left == slot as u32;
            if is_leaf {
                if let Some(c) = per_tree
                    .get(t as usize)
                    .and_then(|tree| tree.get(node as usize))
                {
                    credits.extend_from_slice(c);
                }
            }
            offsets.push(credits.len() as u32);
        }
        LeafPaths {
            means,
            offsets,
            credits,
        }
    }

    /// One level of the walk for row `k` of the block at node `c`: the next node.
    #[inline(always)]
    fn step(&self, rows: &[u64], k: usize, c: u32) -> u32 {
        debug_assert!((c as usize) < self.nodes.len() && k < BLOCK);
        // SAFETY: `c` is a node index of this forest (a root, or `left + 0|1` of a node, all
        // slots allocated in `new`). `offset <= BLOCK·(2·nf − 1)` because `feature < nf`
        // (trees are validated against `nf`), and `k < BLOCK`, so
        // `offset + k < 2·BLOCK·nf <= rows.len()` (asserted in `accumulate_block`).
        let (n, x) = unsafe {
            let n = self.nodes.get_unchecked(c as usize);
            (n, *rows.get_unchecked(n.offset as usize + k))
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

    /// A leaf-wise "caterpillar": node `2i` splits feature `i % nf` at 0.5; its right child
    /// is a leaf holding most of the cover, its left child splits again, `depth` levels deep.
    /// Scoring compacts after the first levels (most rows finish early).
    fn caterpillar(depth: usize, nf: usize, default_left: bool) -> Tree {
        let mut nodes = Vec::new();
        for i in 0..depth {
            let base = nodes.len();
            nodes.push(Node {
                feature: i % nf,
                threshold: 0.5,
                default_left: default_left ^ (i % 3 == 0),
                left: base + 2,
                right: base + 1,
                value: 0.0,
                cover: 1000.0 / (i + 1) as f64,
                gain: 1.0,
            });
            nodes.push(Node::leaf(i as f64 + 0.5, 900.0 / (i + 1) as f64));
        }
        nodes.push(Node::leaf(-1.0, 1.0));
        Tree { nodes }
    }

    #[test]
    fn compacted_walk_matches_tree_walk() {
        let nf = 3;
        let trees = vec![
            caterpillar(12, nf, false),
            caterpillar(9, nf, true),
            small_tree(),
        ];
        let flat = FlatForest::new(&trees, nf);
        assert!(
            flat.trees[0].compact_at < flat.trees[0].depth,
            "the deep tree is compacted"
        );
        // 64·k + 37 rows: whole blocks, a partial block, and a partial group of 8.
        let n = 4096 + 64 + 37;
        let cols: Vec<Vec<f64>> = (0..nf)
            .map(|f| {
                (0..n)
                    .map(|i| match (i * 7 + f * 13) % 17 {
                        0 => f64::NAN,
                        v => -0.3 + 0.06 * v as f64,
                    })
                    .collect()
            })
            .collect();
        let refs: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
        let mut out = vec![0.0; n];
        flat.accumulate(&refs, &mut out);
        for r in 0..n {
            let row: Vec<f64> = cols.iter().map(|c| c[r]).collect();
            let want: f64 = trees.iter().map(|t| t.predict_row(&row)).sum();
            assert_eq!(out[r], want, "row {r}");
        }
        // Some rows stop at the deep tree's root, some walk on past the compaction level.
        let deep: Vec<f64> = (0..n)
            .map(|r| trees[0].predict_row(&cols.iter().map(|c| c[r]).collect::<Vec<_>>()))
            .collect();
        let past = f64::from(flat.trees[0].compact_at) + 0.5;
        assert!(
            deep.contains(&0.5) && deep.iter().any(|&v| v > past || v == -1.0),
            "compact_at {past} {:?}",
            &deep[..40]
        );
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

    #[test]
    fn blocked_path_attribution_matches_the_tree_walk() {
        let trees = vec![
            small_tree(),
            caterpillar(9, 2, true),
            Tree {
                nodes: vec![Node::leaf(0.25, 1.0)],
            },
            caterpillar(5, 2, false),
        ];
        let n = 4099; // more than one task, and a partial block and group
        let a: Vec<f64> = (0..n)
            .map(|i| match i % 13 {
                0 => f64::NAN,
                1 => f64::INFINITY,
                _ => (i % 10) as f64 / 10.0 - 0.3,
            })
            .collect();
        let b: Vec<f64> = (0..n)
            .map(|i| {
                if i % 7 == 0 {
                    f64::NAN
                } else {
                    (i % 5) as f64 - 2.0
                }
            })
            .collect();
        let forest = FlatForest::new(&trees, 2);
        let paths = forest.leaf_paths();
        let mut phi = vec![0.0; 2 * n];
        forest.accumulate_paths(&[&a, &b], &paths, &mut phi);
        let means: Vec<Vec<f64>> = trees.iter().map(super::super::path::node_means).collect();
        for r in 0..n {
            let row = [a[r], b[r]];
            let mut want = [0.0; 2];
            for (t, m) in trees.iter().zip(&means) {
                super::super::path::path_attribution(t, m, &row, &mut want);
            }
            for k in 0..2 {
                assert!(
                    (phi[2 * r + k] - want[k]).abs() < 1e-12,
                    "row {r} feature {k}: {} vs {}",
                    phi[2 * r + k],
                    want[k]
                );
            }
        }
    }
}
