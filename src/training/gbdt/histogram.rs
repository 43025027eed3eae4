//! Gradient histograms: for every feature and bin, the sums of the gradients and hessians of a
//! leaf's rows. Built from the row-major bin codes (each row's codes sit in one cache line and
//! its feature updates hit different histograms, so they do not wait on each other), split into
//! a fixed number of row chunks that rayon builds in parallel and that are summed in chunk
//! order, so the result does not depend on the number of threads.

use rayon::prelude::*;

use super::binning::BinnedData;

/// Per-row gradient and hessian, stored as `f32` (LightGBM's `score_t`; histogram sums are
/// `f64`). Measured against `f64` in docs/gbdt.md.
pub(crate) type Grad = f32;

/// Sums of one bin.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[repr(C)]
pub(crate) struct BinStat {
    pub(crate) g: f64,
    pub(crate) h: f64,
}

/// One feature's histogram, indexed by the one-byte bin code (so indexing never fails).
pub(crate) type FeatureHist = [BinStat; 256];

pub(crate) const EMPTY_HIST: FeatureHist = [BinStat { g: 0.0, h: 0.0 }; 256];

/// Rows below this are built in one piece; above, in chunks of at least this many rows.
const MIN_CHUNK_ROWS: usize = 16_384;
const MAX_CHUNKS: usize = 8;

/// The rows of a leaf: all rows in order (the root without bagging) or a list of row indices.
#[derive(Clone, Copy)]
pub(crate) enum Rows<'a> {
    All(usize),
    Indices(&'a [u32]),
}

impl Rows<'_> {
    fn len(&self) -> usize {
        match self {
            Rows::All(n) => *n,
            Rows::Indices(i) => i.len(),
        }
    }
}

/// Builds histograms with preallocated per-chunk buffers.
pub(crate) struct HistogramBuilder {
    n_features: usize,
    chunks: Vec<Vec<FeatureHist>>,
}

impl HistogramBuilder {
    pub(crate) fn new(n_features: usize) -> Self {
        HistogramBuilder {
            n_features,
            chunks: (0..MAX_CHUNKS)
                .map(|_| vec![EMPTY_HIST; n_features])
                .collect(),
        }
    }

    /// Overwrites `out` (one histogram per feature) with the sums over `rows`.
    pub(crate) fn build(
        &mut self,
        out: &mut [FeatureHist],
        data: &BinnedData,
        gh: &[[Grad; 2]],
        rows: Rows<'_>,
    ) {
        let nf = self.n_features;
        let n = rows.len();
        let n_chunks = (n / MIN_CHUNK_ROWS).clamp(1, MAX_CHUNKS);
        if n_chunks == 1 {
            out.fill(EMPTY_HIST);
            accumulate(out, data, gh, rows, 0, n);
            return;
        }
        let chunk_len = n.div_ceil(n_chunks);
        self.chunks[..n_chunks]
            .par_iter_mut()
            .enumerate()
            .for_each(|(c, hist)| {
                hist.fill(EMPTY_HIST);
                let start = c * chunk_len;
                let end = (start + chunk_len).min(n);
                accumulate(hist, data, gh, rows, start, end);
            });
        // Sum in chunk order: the same result whatever thread built which chunk.
        out.iter_mut().enumerate().for_each(|(f, o)| {
            *o = self.chunks[0][f];
            for chunk in &self.chunks[1..n_chunks] {
                for (a, b) in o.iter_mut().zip(chunk[f].iter()) {
                    a.g += b.g;
                    a.h += b.h;
                }
            }
        });
        debug_assert_eq!(out.len(), nf);
    }
}

/// Adds rows `start..end` of `rows` into `hist`.
fn accumulate(
    hist: &mut [FeatureHist],
    data: &BinnedData,
    gh: &[[Grad; 2]],
    rows: Rows<'_>,
    start: usize,
    end: usize,
) {
    let nf = data.n_features;
    match rows {
        Rows::All(_) => {
            let codes = &data.rows[start * nf..end * nf];
            for (row, &[g, h]) in codes.chunks_exact(nf).zip(&gh[start..end]) {
                add_row(hist, row, g as f64, h as f64);
            }
        }
        Rows::Indices(idx) => {
            let idx = &idx[start..end];
            for (i, &r) in idx.iter().enumerate() {
                // The rows of a leaf are scattered: ask for a row's codes and gradients
                // PREFETCH rows ahead so they are in cache when their turn comes.
                if let Some(&ahead) = idx.get(i + PREFETCH) {
                    let ahead = ahead as usize;
                    prefetch(data.rows.as_ptr().wrapping_add(ahead * nf));
                    prefetch(data.rows.as_ptr().wrapping_add(ahead * nf + nf - 1));
                    prefetch(gh.as_ptr().wrapping_add(ahead).cast());
                }
                let r = r as usize;
                let row = &data.rows[r * nf..(r + 1) * nf];
                let [g, h] = gh[r];
                add_row(hist, row, g as f64, h as f64);
            }
        }
    }
}

/// How many rows ahead [`accumulate`] prefetches.
const PREFETCH: usize = 16;

/// Hints the CPU to load the cache line holding `p`. A prefetch never faults, whatever the
/// address, so any pointer is fine.
#[inline(always)]
fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` only hints the cache; it does not dereference or fault.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[inline(always)]
fn add_row(hist: &mut [FeatureHist], row: &[u8], g: f64, h: f64) {
    for (fh, &b) in hist.iter_mut().zip(row) {
        let e = &mut fh[b as usize];
        e.g += g;
        e.h += h;
    }
}

/// `parent -= child`: turns a parent's histogram into its other child's (histogram
/// subtraction: only the smaller child is built from rows).
pub(crate) fn subtract(parent: &mut [FeatureHist], child: &[FeatureHist]) {
    for (p, c) in parent.iter_mut().zip(child) {
        for (a, b) in p.iter_mut().zip(c.iter()) {
            a.g -= b.g;
            a.h -= b.h;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::binning::{fit_mappers, BinnedData};
    use super::super::matrix::Matrix;
    use super::*;

    #[test]
    fn chunked_build_equals_direct_sums_and_subtraction_gives_sibling() {
        // 40k rows so the build is chunked; feature 0 = r % 7, feature 1 = missing on odd rows.
        let n = 40_000;
        let a: Vec<f64> = (0..n).map(|r| (r % 7) as f64).collect();
        let b: Vec<f64> = (0..n)
            .map(|r| if r % 2 == 1 { f64::NAN } else { 1.0 })
            .collect();
        let x = Matrix::new(vec![&a, &b]).expect("matrix");
        let data = BinnedData::new(&x, &fit_mappers(&x, 255, 200_000, 0));
        let gh: Vec<[Grad; 2]> = (0..n).map(|r| [(r % 3) as f32 - 1.0, 0.25]).collect();

        let mut builder = HistogramBuilder::new(2);
        let mut all = vec![EMPTY_HIST; 2];
        builder.build(&mut all, &data, &gh, Rows::All(n));
        // Bin 3 of feature 0 holds rows with r % 7 == 3: count them by hand.
        let rows3: Vec<usize> = (0..n).filter(|r| r % 7 == 3).collect();
        let g3: f64 = rows3.iter().map(|&r| (r % 3) as f64 - 1.0).sum();
        assert_eq!(all[0][3].g, g3);
        assert_eq!(all[0][3].h, 0.25 * rows3.len() as f64);
        assert_eq!(all[1][255].h, 0.25 * (n / 2) as f64);

        // Even rows as an index list; their sibling (odd rows) by subtraction.
        let even: Vec<u32> = (0..n as u32).step_by(2).collect();
        let mut h_even = vec![EMPTY_HIST; 2];
        builder.build(&mut h_even, &data, &gh, Rows::Indices(&even));
        assert_eq!(h_even[1][255].h, 0.0);
        let odd: Vec<u32> = (1..n as u32).step_by(2).collect();
        let mut h_odd = vec![EMPTY_HIST; 2];
        builder.build(&mut h_odd, &data, &gh, Rows::Indices(&odd));
        subtract(&mut all, &h_even);
        for f in 0..2 {
            for bin in 0..256 {
                assert!((all[f][bin].g - h_odd[f][bin].g).abs() < 1e-9);
                assert!((all[f][bin].h - h_odd[f][bin].h).abs() < 1e-9);
            }
        }
    }
}
