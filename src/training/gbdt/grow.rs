//! Growing one tree leaf-wise (best-first, as LightGBM): keep every leaf's best split, split the
//! leaf with the largest gain until `num_leaves` is reached or no split gains. Rows are kept as
//! one index array in which every leaf owns a contiguous range; a split partitions its leaf's
//! range stably (so indices stay ascending and memory access stays sequential-ish). Only the
//! smaller child's histogram is built from rows; the larger one is the parent's minus it.

use super::binning::{BinnedData, MISSING_BIN};
use super::histogram::{subtract, FeatureHist, Grad, HistogramBuilder, Rows, EMPTY_HIST};
use super::split::{best_split, leaf_output, LeafSums, Split, SplitRules};

/// A node of a tree in bin space. Leaves have `left == right == 0`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BinNode {
    pub(crate) feature: usize,
    pub(crate) bin: u8,
    pub(crate) default_left: bool,
    pub(crate) left: usize,
    pub(crate) right: usize,
    /// `−G/(H+λ)` of the node's rows, before shrinkage.
    pub(crate) value: f64,
    pub(crate) count: usize,
    pub(crate) gain: f64,
}

impl BinNode {
    fn leaf(sums: LeafSums, lambda: f64) -> Self {
        BinNode {
            feature: 0,
            bin: 0,
            default_left: false,
            left: 0,
            right: 0,
            value: leaf_output(sums.g, sums.h, lambda),
            count: sums.count,
            gain: 0.0,
        }
    }

    pub(crate) fn is_leaf(&self) -> bool {
        self.left == 0 && self.right == 0
    }

    #[inline]
    fn goes_left(&self, code: u8) -> bool {
        (code <= self.bin) | ((code == MISSING_BIN) & self.default_left)
    }
}

/// A grown tree and, for each leaf, its node and its range in [`Grower::indices`].
#[derive(Debug, Clone)]
pub(crate) struct GrownTree {
    pub(crate) nodes: Vec<BinNode>,
    pub(crate) leaves: Vec<(usize, usize, usize)>,
}

impl GrownTree {
    /// The leaf node a binned row (its row-major codes) lands in.
    pub(crate) fn leaf_of(&self, codes: &[u8]) -> usize {
        let mut i = 0;
        loop {
            let n = &self.nodes[i];
            if n.is_leaf() {
                return i;
            }
            i = if n.goes_left(codes[n.feature]) {
                n.left
            } else {
                n.right
            };
        }
    }
}

/// Growth limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GrowRules {
    pub(crate) num_leaves: usize,
    pub(crate) max_depth: Option<usize>,
    pub(crate) split: SplitRules,
}

#[derive(Debug, Clone, Copy)]
struct Leaf {
    node: usize,
    begin: usize,
    end: usize,
    depth: usize,
    hist: Option<usize>,
    split: Option<Split>,
}

/// Reusable state of tree growth: the histogram pool (one `n_features × 4 KB` histogram per
/// leaf that may still split, allocated on first use and reused by later trees) and the row
/// index arrays.
pub(crate) struct Grower {
    rules: GrowRules,
    n_bins: Vec<usize>,
    pool: Vec<Vec<FeatureHist>>,
    free: Vec<usize>,
    builder: HistogramBuilder,
    indices: Vec<u32>,
    scratch: Vec<u32>,
}

impl Grower {
    pub(crate) fn new(rules: GrowRules, n_bins: Vec<usize>, n_rows: usize) -> Self {
        let nf = n_bins.len();
        Grower {
            rules,
            pool: Vec::new(),
            free: Vec::with_capacity(rules.num_leaves),
            builder: HistogramBuilder::new(nf),
            n_bins,
            indices: Vec::with_capacity(n_rows),
            scratch: vec![0; n_rows],
        }
    }

    /// Row indices partitioned by leaf (see [`GrownTree::leaves`]).
    pub(crate) fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// Grows one tree on the rows of `bag` (all rows if `None`) using `features`.
    pub(crate) fn grow(
        &mut self,
        data: &BinnedData,
        gh: &[[Grad; 2]],
        bag: Option<&[u32]>,
        features: &[usize],
    ) -> GrownTree {
        let rules = self.rules;
        self.indices.clear();
        match bag {
            Some(b) => self.indices.extend_from_slice(b),
            None => self.indices.extend(0..data.n_rows as u32),
        }
        self.free.clear();
        self.free.extend((0..self.pool.len()).rev());

        let root_slot = self.take_slot();
        let root_rows = match bag {
            Some(_) => Rows::Indices(&self.indices),
            None => Rows::All(data.n_rows),
        };
        self.builder
            .build(&mut self.pool[root_slot], data, gh, root_rows);
        let (g, h) = self.pool[root_slot].first().map_or((0.0, 0.0), |fh| {
            fh.iter().fold((0.0, 0.0), |a, s| (a.0 + s.g, a.1 + s.h))
        });
        let root_sums = LeafSums {
            g,
            h,
            count: self.indices.len(),
        };
        let mut nodes = vec![BinNode::leaf(root_sums, rules.split.lambda_l2)];
        let mut leaves = vec![Leaf {
            node: 0,
            begin: 0,
            end: self.indices.len(),
            depth: 0,
            hist: Some(root_slot),
            split: None,
        }];
        if self.splittable(root_sums, 0, 1) {
            leaves[0].split = best_split(
                &self.pool[root_slot],
                features,
                &self.n_bins,
                root_sums,
                &rules.split,
            );
        }

        while leaves.len() < rules.num_leaves {
            let Some((li, split)) = best_leaf(&leaves) else {
                break;
            };
            let leaf = leaves[li];
            let mid = leaf.begin
                + partition(
                    &mut self.indices[leaf.begin..leaf.end],
                    &mut self.scratch,
                    data.col(split.feature),
                    split.bin,
                    split.default_left,
                );

            let left_node = nodes.len();
            let right_node = left_node + 1;
            let left_sums = LeafSums {
                g: split.left_g,
                h: split.left_h,
                count: mid - leaf.begin,
            };
            let right_sums = LeafSums {
                g: split.right_g,
                h: split.right_h,
                count: leaf.end - mid,
            };
            nodes.push(BinNode::leaf(left_sums, rules.split.lambda_l2));
            nodes.push(BinNode::leaf(right_sums, rules.split.lambda_l2));
            let parent = &mut nodes[leaf.node];
            parent.feature = split.feature;
            parent.bin = split.bin;
            parent.default_left = split.default_left;
            parent.left = left_node;
            parent.right = right_node;
            parent.gain = split.gain;

            let depth = leaf.depth + 1;
            let n_leaves_after = leaves.len() + 1;
            let left_ok = self.splittable(left_sums, depth, n_leaves_after);
            let right_ok = self.splittable(right_sums, depth, n_leaves_after);
            let left_is_small = left_sums.count <= right_sums.count;
            let (small_ok, large_ok) = if left_is_small {
                (left_ok, right_ok)
            } else {
                (right_ok, left_ok)
            };
            let (small_range, parent_slot) = (
                if left_is_small {
                    (leaf.begin, mid)
                } else {
                    (mid, leaf.end)
                },
                leaf.hist,
            );
            let (mut small_hist, mut large_hist) = (None, None);
            if let Some(p) = parent_slot {
                if !small_ok && !large_ok {
                    self.free.push(p);
                } else if !large_ok {
                    self.build(p, data, gh, small_range);
                    small_hist = Some(p);
                } else {
                    let s = self.take_slot();
                    self.build(s, data, gh, small_range);
                    let (ps, ss) = two_slots(&mut self.pool, p, s);
                    subtract(ps, ss);
                    large_hist = Some(p);
                    if small_ok {
                        small_hist = Some(s);
                    } else {
                        self.free.push(s);
                    }
                }
            }
            let (left_hist, right_hist) = if left_is_small {
                (small_hist, large_hist)
            } else {
                (large_hist, small_hist)
            };

            let make = |node, begin, end, sums: LeafSums, hist: Option<usize>| Leaf {
                node,
                begin,
                end,
                depth,
                hist,
                split: hist.and_then(|slot| {
                    best_split(&self.pool[slot], features, &self.n_bins, sums, &rules.split)
                }),
            };
            let left = make(left_node, leaf.begin, mid, left_sums, left_hist);
            let right = make(right_node, mid, leaf.end, right_sums, right_hist);
            leaves[li] = left;
            leaves.push(right);
        }

        GrownTree {
            nodes,
            leaves: leaves.iter().map(|l| (l.node, l.begin, l.end)).collect(),
        }
    }

    fn take_slot(&mut self) -> usize {
        // The pool grows on demand (at most num_leaves histograms are in use at once), so
        // memory follows the leaves actually grown, not the `num_leaves` limit.
        self.free.pop().unwrap_or_else(|| {
            let nf = self.n_bins.len();
            self.pool.push(vec![EMPTY_HIST; nf]);
            self.pool.len() - 1
        })
    }

    fn build(&mut self, slot: usize, data: &BinnedData, gh: &[[Grad; 2]], range: (usize, usize)) {
        let rows = Rows::Indices(&self.indices[range.0..range.1]);
        self.builder.build(&mut self.pool[slot], data, gh, rows);
    }

    /// Whether a leaf may still be split (and so needs its histogram).
    fn splittable(&self, sums: LeafSums, depth: usize, n_leaves: usize) -> bool {
        let r = &self.rules;
        n_leaves < r.num_leaves
            && sums.count >= 2 * r.split.min_data_in_leaf
            && sums.h >= 2.0 * r.split.min_sum_hessian
            && r.max_depth.is_none_or(|d| depth < d)
    }
}

/// The leaf with the largest split gain (lowest index on ties).
fn best_leaf(leaves: &[Leaf]) -> Option<(usize, Split)> {
    let mut best: Option<(usize, Split)> = None;
    for (i, l) in leaves.iter().enumerate() {
        if let Some(s) = l.split {
            if best.is_none_or(|(_, b)| s.gain > b.gain) {
                best = Some((i, s));
            }
        }
    }
    best
}

fn two_slots(
    pool: &mut [Vec<FeatureHist>],
    a: usize,
    b: usize,
) -> (&mut [FeatureHist], &[FeatureHist]) {
    if a < b {
        let (lo, hi) = pool.split_at_mut(b);
        (&mut lo[a], &hi[0])
    } else {
        let (lo, hi) = pool.split_at_mut(a);
        (&mut hi[0], &lo[b])
    }
}

/// Stable partition of `idx` by the split: left rows first (returned count), then right rows.
fn partition(
    idx: &mut [u32],
    scratch: &mut [u32],
    col: &[u8],
    bin: u8,
    default_left: bool,
) -> usize {
    let mut l = 0;
    let mut r = 0;
    for i in 0..idx.len() {
        let row = idx[i];
        let code = col[row as usize];
        let left = (code <= bin) | ((code == MISSING_BIN) & default_left);
        // Writing both places and advancing one is branch-free; l <= i, so nothing unread is
        // overwritten.
        idx[l] = row;
        scratch[r] = row;
        l += left as usize;
        r += (!left) as usize;
    }
    idx[l..].copy_from_slice(&scratch[..r]);
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_is_stable_and_routes_missing_by_default() {
        let col = [0u8, 3, MISSING_BIN, 1, 2, MISSING_BIN, 0];
        let mut idx: Vec<u32> = (0..7).collect();
        let mut scratch = vec![0; 7];
        let l = partition(&mut idx, &mut scratch, &col, 1, true);
        assert_eq!(l, 5);
        assert_eq!(idx, vec![0, 2, 3, 5, 6, 1, 4]);
        let mut idx: Vec<u32> = (0..7).collect();
        let l = partition(&mut idx, &mut scratch, &col, 1, false);
        assert_eq!(l, 3);
        assert_eq!(idx, vec![0, 3, 6, 1, 2, 4, 5]);
    }
}
