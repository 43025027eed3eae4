//! Context lifts: how much more (or less) often customers with a given context value add a
//! product than the holdings model expects. The adoption probability of product `p` for a
//! customer becomes
//!
//! `P(p) = base(p | segment, overage, holdings) × Π_f lift_f(value_f, p)`
//!
//! — a log-linear (Poisson) model with the holdings model as its offset. The lifts are fitted
//! by iterative proportional fitting (backfitting one feature at a time against the others'
//! current lifts, which is maximum likelihood for this model), so correlated features (region
//! and network problems, say) are not counted twice. Each lift is shrunk toward 1 by
//! `smoothing` pseudo-adoptions: `lift = (adopted + m) / (expected + m)`.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::context::ContextSpec;

/// Lifts are kept within [1 / MAX_LIFT, MAX_LIFT].
const MAX_LIFT: f64 = 50.0;
/// Rows per block of the parallel sums (fixed, so the result does not depend on the thread
/// count).
const BLOCK: usize = 2_048;

/// The rows lifts are fitted on: one per (training day, customer), with the holdings model's
/// probability of each product (0 where the product was not on offer: held or ineligible),
/// what the customer added, and its context.
pub(crate) struct LiftRows {
    pub n_products: usize,
    /// `rows × n_products`.
    pub base: Vec<f32>,
    /// `rows × n_products`: 1 when added within 90 days (and on offer).
    pub adopted: Vec<u8>,
    /// `rows × features`.
    pub context: Vec<u8>,
    pub features: usize,
}

impl LiftRows {
    pub fn new(n_products: usize, features: usize) -> Self {
        LiftRows {
            n_products,
            base: Vec::new(),
            adopted: Vec::new(),
            context: Vec::new(),
            features,
        }
    }

    pub fn len(&self) -> usize {
        self.base.len() / self.n_products.max(1)
    }

    pub fn push(&mut self, base: &[f32], adopted: &[u8], context: &[u8]) {
        self.base.extend_from_slice(base);
        self.adopted.extend_from_slice(adopted);
        self.context.extend_from_slice(context);
    }
}

/// The fitted context model: how contexts are read and the lift of every (feature, value,
/// product).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContextModel {
    pub spec: ContextSpec,
    n_products: usize,
    /// `lifts[f][value × n_products + p]`.
    lifts: Vec<Vec<f64>>,
    /// Training rows (customer-days) the lifts were fitted on.
    pub rows: usize,
}

impl ContextModel {
    /// Fits the lifts by `rounds` of iterative proportional fitting.
    pub(crate) fn fit(spec: ContextSpec, rows: &LiftRows, smoothing: f64, rounds: usize) -> Self {
        let np = rows.n_products;
        let nf = spec.len();
        debug_assert_eq!(nf, rows.features, "one context value per feature and row");
        let n = if np == 0 || nf == 0 { 0 } else { rows.len() };
        let mut lifts: Vec<Vec<f64>> = (0..nf).map(|f| vec![1.0; spec.values(f) * np]).collect();
        // Observed adoptions per (feature, value, product): fixed.
        let mut observed: Vec<Vec<f64>> = (0..nf).map(|f| vec![0.0; spec.values(f) * np]).collect();
        for r in 0..n {
            let ctx = &rows.context[r * nf..(r + 1) * nf];
            for (p, &a) in rows.adopted[r * np..(r + 1) * np].iter().enumerate() {
                if a != 0 {
                    for (f, &v) in ctx.iter().enumerate() {
                        observed[f][usize::from(v) * np + p] += 1.0;
                    }
                }
            }
        }
        // Current prediction of every row and product.
        // f32: the sweeps below are bound by memory traffic; sums are kept in f64.
        let mut pred: Vec<f32> = rows.base.clone();
        for _ in 0..if n == 0 { 0 } else { rounds } {
            for f in 0..nf {
                let width = spec.values(f) * np;
                // Expected adoptions per (value, product) without feature f's current lift.
                let partial: Vec<Vec<f64>> = pred
                    .par_chunks(BLOCK * np)
                    .enumerate()
                    .map(|(b, block)| {
                        let mut e = vec![0.0; width];
                        for (i, row) in block.chunks(np).enumerate() {
                            let r = b * BLOCK + i;
                            let v = usize::from(rows.context[r * nf + f]) * np;
                            for (p, &x) in row.iter().enumerate() {
                                if x > 0.0 {
                                    e[v + p] += f64::from(x) / lifts[f][v + p];
                                }
                            }
                        }
                        e
                    })
                    .collect();
                let mut expected = vec![0.0; width];
                for e in &partial {
                    for (a, b) in expected.iter_mut().zip(e) {
                        *a += b;
                    }
                }
                let new: Vec<f64> = observed[f]
                    .iter()
                    .zip(&expected)
                    .map(|(&o, &e)| {
                        ((o + smoothing) / (e + smoothing)).clamp(1.0 / MAX_LIFT, MAX_LIFT)
                    })
                    .collect();
                let old = &lifts[f];
                let ratio: Vec<f32> = new.iter().zip(old).map(|(n, o)| (n / o) as f32).collect();
                pred.par_chunks_mut(BLOCK * np)
                    .enumerate()
                    .for_each(|(b, block)| {
                        for (i, row) in block.chunks_mut(np).enumerate() {
                            let r = b * BLOCK + i;
                            let v = usize::from(rows.context[r * nf + f]) * np;
                            for (p, x) in row.iter_mut().enumerate() {
                                *x *= ratio[v + p];
                            }
                        }
                    });
                lifts[f] = new;
            }
        }
        ContextModel {
            spec,
            n_products: np,
            lifts,
            rows: n,
        }
    }

    /// The combined lift of product `p` for a customer with context `ctx`.
    pub fn lift(&self, ctx: &[u8], p: usize) -> f64 {
        let np = self.n_products;
        ctx.iter()
            .zip(&self.lifts)
            .map(|(&v, l)| l.get(usize::from(v) * np + p).copied().unwrap_or(1.0))
            .product()
    }

    /// The combined lift of every product for context `ctx`, into `out` (one pass over each
    /// feature's contiguous row of lifts).
    pub fn lifts_into(&self, ctx: &[u8], out: &mut Vec<f64>) {
        let np = self.n_products;
        out.clear();
        out.resize(np, 1.0);
        for (&v, l) in ctx.iter().zip(&self.lifts) {
            let at = usize::from(v) * np;
            if let Some(row) = l.get(at..at + np) {
                for (o, x) in out.iter_mut().zip(row) {
                    *o *= x;
                }
            }
        }
    }

    /// The single feature value that raises product `p` most for this context, with its lift
    /// (`None` when no value raises it by at least `min`).
    pub fn strongest(&self, ctx: &[u8], p: usize, min: f64) -> Option<(&str, f64)> {
        let np = self.n_products;
        ctx.iter()
            .zip(&self.lifts)
            .enumerate()
            .filter_map(|(f, (&v, l))| {
                let x = l.get(usize::from(v) * np + p).copied()?;
                (x >= min).then(|| (self.spec.features[f].values[usize::from(v)].as_str(), x))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// Number of context features.
    pub fn features(&self) -> usize {
        self.spec.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommend::context::ContextFeature;

    fn spec(values: &[usize]) -> ContextSpec {
        ContextSpec {
            features: values
                .iter()
                .enumerate()
                .map(|(i, &n)| ContextFeature {
                    name: format!("f{i}"),
                    values: (0..n).map(|v| format!("f{i}={v}")).collect(),
                })
                .collect(),
            ..ContextSpec::default()
        }
    }

    /// Rows where product 0 is added 4× as often with feature 0 = 1 and product 1 is not
    /// moved by it; the fit must find those lifts, and a duplicate of the feature must not
    /// double them (backfitting, not naive products).
    #[test]
    fn recovers_a_planted_lift_and_does_not_count_a_copy_twice() {
        let mut rows = LiftRows::new(2, 2);
        let base = 0.05f32;
        for r in 0..40_000u32 {
            let v = (r % 2) as u8;
            // Deterministic adoptions at the planted rates: 5% × 4 = 20% with v = 1 for
            // product 0, 5% otherwise.
            let rate0 = if v == 1 { 0.20 } else { 0.05 };
            let a0 = ((r / 2) % 100) < (rate0 * 100.0) as u32;
            let a1 = ((r / 2) % 100) < 5;
            rows.push(&[base, base], &[a0 as u8, a1 as u8], &[v, v]);
        }
        let m = ContextModel::fit(spec(&[2, 2]), &rows, 1.0, 8);
        let l0 = m.lift(&[1, 1], 0) / m.lift(&[0, 0], 0);
        assert!((l0 - 4.0).abs() < 0.1, "planted 4x, fitted {l0}");
        let l1 = m.lift(&[1, 1], 1) / m.lift(&[0, 0], 1);
        assert!((l1 - 1.0).abs() < 0.05, "no effect planted, fitted {l1}");
        // The prediction matches the observed rates in each cell.
        assert!((f64::from(base) * m.lift(&[1, 1], 0) - 0.20).abs() < 0.005);
        assert!((f64::from(base) * m.lift(&[0, 0], 0) - 0.05).abs() < 0.005);
        let (label, x) = m.strongest(&[1, 1], 0, 1.2).expect("a raising value");
        assert!(label.ends_with("=1") && x > 1.2);
        assert!(m.strongest(&[1, 1], 1, 1.2).is_none());
    }
}
