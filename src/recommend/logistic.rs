//! The alternative adoption model measured against the back-off rates: one smartcore logistic
//! regression per product, on the same training snapshots. Inputs: one indicator per product
//! held, one per segment, and the recent-overage flag (all 0/1, so no scaling). Rows: the
//! customer-snapshots exposed to the product (eligible, not held), at most `max_rows` of them
//! per product, drawn with the seed. Used by [`super::evaluate`] only; see docs/recommend.md
//! for which model won and why.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};

use super::adoption::{has, Bits};
use super::data::{Catalogue, Customers};
use crate::training::models::ChurnModel;

/// Per-product logistic adoption models (`None`: no adoption seen, probability 0).
pub(crate) struct LogisticAdoption {
    n_products: usize,
    n_segments: usize,
    models: Vec<Option<(Vec<f64>, f64)>>,
}

impl LogisticAdoption {
    fn width(&self) -> usize {
        self.n_products + self.n_segments + 1
    }

    fn features(&self, out: &mut Vec<f64>, segment: u16, overage: bool, held: &[u64]) {
        out.clear();
        out.extend((0..self.n_products).map(|p| has(held, p) as u8 as f64));
        out.extend((0..self.n_segments).map(|s| (s == segment as usize) as u8 as f64));
        out.push(overage as u8 as f64);
    }

    #[allow(clippy::needless_range_loop)] // customer and product indices address several arrays
    pub fn fit(
        cat: &Catalogue,
        customers: &Customers,
        eligible: &[Vec<bool>],
        snapshots: &[(i32, Bits, Vec<bool>, Bits)],
        seed: u64,
        max_rows: usize,
        l2: f64,
    ) -> Self {
        let mut me = LogisticAdoption {
            n_products: cat.len(),
            n_segments: customers.segments.len(),
            models: Vec::with_capacity(cat.len()),
        };
        // (snapshot, customer) of every active customer-snapshot.
        let rows: Vec<(usize, usize)> = snapshots
            .iter()
            .enumerate()
            .flat_map(|(k, (day, _, _, _))| {
                (0..customers.len())
                    .filter(move |&c| customers.active_at(c, *day))
                    .map(move |c| (k, c))
            })
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let w = me.width();
        let mut buf = Vec::with_capacity(w);
        for p in 0..cat.len() {
            let mut exposed: Vec<(usize, usize)> = rows
                .iter()
                .copied()
                .filter(|&(k, c)| {
                    eligible[customers.segment[c] as usize][p] && !has(snapshots[k].1.row(c), p)
                })
                .collect();
            if exposed.len() > max_rows {
                exposed.shuffle(&mut rng);
                exposed.truncate(max_rows);
            }
            let mut x = Vec::with_capacity(exposed.len() * w);
            let mut y = Vec::with_capacity(exposed.len());
            for &(k, c) in &exposed {
                let (_, held, overage, adopted) = &snapshots[k];
                me.features(&mut buf, customers.segment[c], overage[c], held.row(c));
                x.extend_from_slice(&buf);
                y.push(has(adopted.row(c), p) as i32);
            }
            let positives = y.iter().filter(|v| **v == 1).count();
            let model = if positives == 0 || positives == y.len() {
                None
            } else {
                DenseMatrix::new(y.len(), w, x, false)
                    .ok()
                    .and_then(|m| {
                        let params = LogisticRegressionParameters::default().with_alpha(l2);
                        LogisticRegression::fit(&m, &y, params).ok()
                    })
                    .map(|m| {
                        let coef = m.coefficients();
                        (
                            (0..w).map(|j| *coef.get((0, j))).collect(),
                            *m.intercept().get((0, 0)),
                        )
                    })
            };
            me.models.push(model);
        }
        me
    }

    /// Adoption probability of every product for one customer.
    pub fn predict(&self, segment: u16, overage: bool, held: &[u64]) -> Vec<f64> {
        let mut x = Vec::with_capacity(self.width());
        self.features(&mut x, segment, overage, held);
        self.models
            .iter()
            .map(|m| match m {
                None => 0.0,
                Some((w, b)) => {
                    let z: f64 = b + w.iter().zip(&x).map(|(w, x)| w * x).sum::<f64>();
                    ChurnModel::sigmoid(z)
                }
            })
            .collect()
    }
}
