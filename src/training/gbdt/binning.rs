//! Feature binning, as LightGBM does it: each feature's bin boundaries are fitted on a sample of
//! rows (quantile-like bins that give frequent values their own bin, LightGBM's
//! `GreedyFindBin`), then every value becomes a one-byte bin code. Missing values (NaN) get the
//! dedicated code [`MISSING_BIN`]; value codes are `0..n_bins` with `n_bins <= max_bin <= 255`.
//! The codes are kept twice: row-major for histogram building (one cache line per row) and
//! column-major for partitioning rows at a split (one byte per row of the split feature).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::matrix::Matrix;

/// Bin code of a missing value.
pub(crate) const MISSING_BIN: u8 = 255;

/// Bin boundaries of one feature: value `v` has bin `t` = the first `t` with
/// `v <= bounds[t]`, or `bounds.len()` (the last bin) if there is none. So `bin(v) <= t` exactly
/// when `v <= bounds[t]`, which makes a split on bin `t` the raw threshold `bounds[t]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BinMapper {
    bounds: Vec<f64>,
}

impl BinMapper {
    /// Fits boundaries to the non-missing sample values of one feature (consumed: sorted here).
    pub(crate) fn fit(mut values: Vec<f64>, max_bin: usize) -> Self {
        values.sort_unstable_by(f64::total_cmp);
        let mut distinct: Vec<f64> = Vec::new();
        let mut counts: Vec<usize> = Vec::new();
        for v in values {
            match distinct.last() {
                // `==` merges -0.0 and 0.0, which total_cmp keeps apart.
                Some(&last) if last == v => {
                    if let Some(c) = counts.last_mut() {
                        *c += 1;
                    }
                }
                _ => {
                    distinct.push(v);
                    counts.push(1);
                }
            }
        }
        let bounds = if distinct.len() <= max_bin {
            distinct.windows(2).map(|w| midpoint(w[0], w[1])).collect()
        } else {
            greedy_bounds(&distinct, &counts, max_bin)
        };
        BinMapper { bounds }
    }

    /// Number of value bins (the missing bin not included).
    pub(crate) fn n_bins(&self) -> usize {
        self.bounds.len() + 1
    }

    /// The raw threshold of a split on bin `t` (`+inf` for the last bin: every value left).
    pub(crate) fn upper_bound(&self, t: usize) -> f64 {
        self.bounds.get(t).copied().unwrap_or(f64::INFINITY)
    }

    #[inline]
    pub(crate) fn bin(&self, v: f64) -> u8 {
        if v.is_nan() {
            MISSING_BIN
        } else {
            // At most 254 bounds, so the code fits and never collides with MISSING_BIN.
            self.bounds.partition_point(|&b| b < v) as u8
        }
    }
}

/// A split point strictly between two distinct sorted values `a < b`: `a <= m < b`.
fn midpoint(a: f64, b: f64) -> f64 {
    let m = a + (b - a) / 2.0;
    if m.is_finite() && a <= m && m < b {
        m
    } else {
        a
    }
}

/// LightGBM's greedy equal-frequency binning: values holding at least `1/max_bin` of the sample
/// get a bin of their own; the rest fill bins of about equal counts.
fn greedy_bounds(distinct: &[f64], counts: &[usize], max_bin: usize) -> Vec<f64> {
    let total: usize = counts.iter().sum();
    let big_threshold = total as f64 / max_bin as f64;
    let is_big: Vec<bool> = counts.iter().map(|&c| c as f64 >= big_threshold).collect();
    let big_count = is_big.iter().filter(|&&b| b).count();
    let mut rest_bins = max_bin.saturating_sub(big_count) as f64;
    let mut rest_samples = counts
        .iter()
        .zip(&is_big)
        .filter(|(_, &b)| !b)
        .map(|(&c, _)| c)
        .sum::<usize>() as f64;
    let mut mean_bin_size = rest_samples / rest_bins;
    let mut bounds = Vec::with_capacity(max_bin - 1);
    let mut in_bin = 0.0;
    for i in 0..distinct.len() - 1 {
        if !is_big[i] {
            rest_samples -= counts[i] as f64;
        }
        in_bin += counts[i] as f64;
        if is_big[i]
            || in_bin >= mean_bin_size
            || (is_big[i + 1] && in_bin >= (mean_bin_size * 0.5).max(1.0))
        {
            bounds.push(midpoint(distinct[i], distinct[i + 1]));
            in_bin = 0.0;
            if !is_big[i] {
                rest_bins -= 1.0;
                mean_bin_size = rest_samples / rest_bins;
            }
            if bounds.len() + 1 >= max_bin {
                break;
            }
        }
    }
    bounds
}

/// Fits one mapper per feature on up to `sample_cnt` rows drawn with `seed`.
pub(crate) fn fit_mappers(
    x: &Matrix<'_>,
    max_bin: usize,
    sample_cnt: usize,
    seed: u64,
) -> Vec<BinMapper> {
    let n = x.n_rows();
    let sample: Option<Vec<usize>> = (n > sample_cnt).then(|| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xB1A5_5EED);
        let mut idx = rand::seq::index::sample(&mut rng, n, sample_cnt).into_vec();
        idx.sort_unstable();
        idx
    });
    x.columns()
        .par_iter()
        .map(|col| {
            let values: Vec<f64> = match &sample {
                Some(idx) => idx
                    .iter()
                    .map(|&r| col[r])
                    .filter(|v| !v.is_nan())
                    .collect(),
                None => col.iter().copied().filter(|v| !v.is_nan()).collect(),
            };
            BinMapper::fit(values, max_bin)
        })
        .collect()
}

/// Bin codes of a whole matrix, in both layouts.
pub(crate) struct BinnedData {
    pub(crate) n_rows: usize,
    pub(crate) n_features: usize,
    /// `rows[r * n_features + f]`.
    pub(crate) rows: Vec<u8>,
    /// `cols[f * n_rows + r]`.
    pub(crate) cols: Vec<u8>,
}

impl BinnedData {
    pub(crate) fn new(x: &Matrix<'_>, mappers: &[BinMapper]) -> Self {
        let n = x.n_rows();
        let nf = x.n_features();
        let mut cols = vec![0u8; n * nf];
        if n > 0 {
            cols.par_chunks_mut(n)
                .zip(x.columns().par_iter().zip(mappers.par_iter()))
                .for_each(|(out, (col, m))| {
                    for (o, &v) in out.iter_mut().zip(col.iter()) {
                        *o = m.bin(v);
                    }
                });
        }
        let mut rows = vec![0u8; n * nf];
        const BLOCK: usize = 4096;
        if nf > 0 {
            rows.par_chunks_mut(BLOCK * nf)
                .enumerate()
                .for_each(|(b, out)| {
                    let r0 = b * BLOCK;
                    let len = out.len() / nf;
                    for f in 0..nf {
                        let src = &cols[f * n + r0..f * n + r0 + len];
                        for (r, &code) in src.iter().enumerate() {
                            out[r * nf + f] = code;
                        }
                    }
                });
        }
        BinnedData {
            n_rows: n,
            n_features: nf,
            rows,
            cols,
        }
    }

    pub(crate) fn col(&self, f: usize) -> &[u8] {
        &self.cols[f * self.n_rows..(f + 1) * self.n_rows]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_get_one_bin_each_with_midpoint_bounds() {
        let m = BinMapper::fit(vec![3.0, 1.0, 2.0, 1.0, 3.0, -0.0, 0.0], 255);
        // distinct: 0, 1, 2, 3 → bounds 0.5, 1.5, 2.5
        assert_eq!(m.bounds, vec![0.5, 1.5, 2.5]);
        assert_eq!(m.n_bins(), 4);
        assert_eq!(m.bin(-7.0), 0);
        assert_eq!(m.bin(0.5), 0);
        assert_eq!(m.bin(0.50001), 1);
        assert_eq!(m.bin(3.0), 3);
        assert_eq!(m.bin(1e300), 3);
        assert_eq!(m.bin(f64::NAN), MISSING_BIN);
        assert_eq!(m.upper_bound(3), f64::INFINITY);
    }

    #[test]
    fn many_values_make_equal_frequency_bins() {
        // 1000 distinct values into 10 bins: about 100 each.
        let values: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        let m = BinMapper::fit(values.clone(), 10);
        assert_eq!(m.n_bins(), 10);
        let mut counts = [0usize; 10];
        for v in values {
            counts[m.bin(v) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (90..=110).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn a_frequent_value_gets_its_own_bin() {
        // Half the sample is 0.0; the rest is spread: 0 must be alone in its bin.
        let mut values = vec![0.0; 500];
        values.extend((1..=500).map(|i| i as f64));
        let m = BinMapper::fit(values, 8);
        let b0 = m.bin(0.0);
        assert_ne!(m.bin(1.0), b0);
        assert!(m.n_bins() <= 8);
    }

    #[test]
    fn binned_layouts_agree() {
        let a = [0.0, 1.0, f64::NAN, 2.0, 1.0];
        let b = [5.0, 4.0, 3.0, 2.0, 1.0];
        let x = Matrix::new(vec![&a, &b]).expect("matrix");
        let mappers = fit_mappers(&x, 255, 200_000, 1);
        let d = BinnedData::new(&x, &mappers);
        assert_eq!(d.col(0), &[0, 1, MISSING_BIN, 2, 1]);
        assert_eq!(d.col(1), &[4, 3, 2, 1, 0]);
        for r in 0..5 {
            for f in 0..2 {
                assert_eq!(d.rows[r * 2 + f], d.cols[f * 5 + r]);
            }
        }
    }
}
