//! L2-regularised logistic regression: linfa-logistic (L-BFGS) on median-imputed, standardised
//! features with missing-value indicators ([`Standardiser`]).
//!
//! linfa minimises `Σᵢ log-loss + α/2 ‖w‖²` (a sum over rows, not a mean; the intercept is not
//! penalised), and sklearn's `LogisticRegression(C)` minimises `C Σᵢ log-loss + ½ ‖w‖²`; dividing
//! the latter by `C` gives the former with `α = 1/C`. So `alpha = 1 / c`, independent of n.
//! linfa-logistic takes no sample weights, so there is no class weighting: calibration handles
//! the prevalence and ranking metrics do not care about it.

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2, ShapeBuilder};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::training::encode::FeatureMatrix;

use super::error::ModelError;
use super::params::LogisticParams;
use super::preprocess::Standardiser;

/// A fitted logistic model over the standardised columns of its [`Standardiser`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(crate) struct LogisticModel {
    pub prep: Standardiser,
    /// Names of the standardised columns (features, then `<name>__missing`).
    pub names: Vec<String>,
    /// One coefficient per standardised column.
    pub coef: Vec<f64>,
    pub intercept: f64,
}

impl LogisticModel {
    pub fn fit(
        params: &LogisticParams,
        x: &FeatureMatrix,
        y: &[f64],
    ) -> Result<LogisticModel, ModelError> {
        let prep = Standardiser::fit(x);
        let n = x.n_rows();
        let q = prep.n_outputs();
        // Column-major: linfa's gradient is `xᵀ·v`, a matrix-vector product ndarray computes
        // row by row of `xᵀ`, i.e. column by column of `x`: contiguous only in this layout
        // (row-major made every gradient a strided walk, ~2/3 of the fit time).
        let mut data = vec![0.0; n * q];
        data.par_chunks_mut(n.max(1))
            .enumerate()
            .for_each(|(k, col)| {
                for (r, v) in col.iter_mut().enumerate() {
                    *v = prep.standardised(x, r, k);
                }
            });
        let records = Array2::from_shape_vec((n, q).f(), data).map_err(|e| ModelError::Fit {
            algorithm: "logistic",
            message: e.to_string(),
        })?;
        let targets: Array1<usize> = y.iter().map(|&v| usize::from(v == 1.0)).collect();
        let dataset = Dataset::new(records, targets);
        let solver = LogisticRegression::default()
            .alpha(1.0 / params.c)
            .max_iterations(params.max_iter)
            .gradient_tolerance(params.tol * n as f64);
        let fit_error = |message: String| ModelError::Fit {
            algorithm: "logistic",
            message,
        };
        // A panic inside linfa / argmin becomes an error instead of taking the process down.
        let fitted =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| solver.fit(&dataset)))
                .map_err(|_| fit_error("linfa-logistic panicked".into()))?
                .map_err(|e| fit_error(e.to_string()))?;
        // linfa's "positive" class is the MORE FREQUENT one (its label_classes), so with rare
        // churners its coefficients describe staying: flip them to describe churn.
        let sign = if fitted.labels().pos.class == 1 {
            1.0
        } else {
            -1.0
        };
        let model = LogisticModel {
            names: prep.output_names(&x.names),
            coef: fitted.params().iter().map(|c| sign * c).collect(),
            intercept: sign * fitted.intercept(),
            prep,
        };
        if !model.intercept.is_finite() || model.coef.iter().any(|c| !c.is_finite()) {
            return Err(ModelError::Fit {
                algorithm: "logistic",
                message: "the solver diverged (a coefficient is not finite)".into(),
            });
        }
        Ok(model)
    }

    /// Log-odds of row `r`.
    #[inline]
    pub fn raw_row(&self, x: &FeatureMatrix, r: usize) -> f64 {
        self.intercept
            + self
                .coef
                .iter()
                .enumerate()
                .map(|(k, c)| c * self.prep.standardised(x, r, k))
                .sum::<f64>()
    }

    /// Uncalibrated probability of every row (parallel).
    pub fn predict(&self, x: &FeatureMatrix) -> Vec<f64> {
        (0..x.n_rows())
            .into_par_iter()
            .map(|r| sigmoid(self.raw_row(x, r)))
            .collect()
    }

    /// Exact contributions of row `r` in log-odds: `coef_k × z_k`, the change of the log-odds
    /// from the average customer (z = 0) to this one along column k; they add up with the
    /// intercept to the row's log-odds.
    pub fn contributions_row(&self, x: &FeatureMatrix, r: usize, phi: &mut [f64]) {
        for (k, (p, c)) in phi.iter_mut().zip(&self.coef).enumerate() {
            *p = c * self.prep.standardised(x, r, k);
        }
    }

    /// `|coef|` on the standardised scale (= |raw coefficient| × standard deviation).
    pub fn importance(&self) -> Vec<f64> {
        self.coef.iter().map(|c| c.abs()).collect()
    }

    pub fn validate(&self, n_features: usize) -> Result<(), String> {
        self.prep.validate(n_features)?;
        let q = self.prep.n_outputs();
        if self.coef.len() != q || self.names.len() != q {
            return Err(format!(
                "{} coefficients and {} names for {q} columns",
                self.coef.len(),
                self.names.len()
            ));
        }
        if !self.intercept.is_finite() || self.coef.iter().any(|c| !c.is_finite()) {
            return Err("a coefficient is not finite".into());
        }
        Ok(())
    }
}

// The logistic function, stable for large |z| (shared with Platt scaling).
pub(crate) use crate::training::calibrate::sigmoid;

/// `ln(p / (1 − p))`, clamped away from 0 and 1.
#[inline]
pub(crate) fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-15, 1.0 - 1e-15);
    (p / (1.0 - p)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rare churners (linfa's "positive" class is then the stayers) whose risk rises with `a`:
    /// the coefficient of `a` must come out positive, and contributions are coef × z.
    #[test]
    fn coefficients_describe_churn_and_contributions_are_coef_times_z() {
        let n = 400;
        let a: Vec<f64> = (0..n).map(|i| f64::from(i % 100) / 10.0).collect();
        let b: Vec<f64> = (0..n)
            .map(|i| {
                if i % 7 == 0 {
                    f64::NAN
                } else {
                    f64::from(i % 3)
                }
            })
            .collect();
        let y: Vec<f64> = a.iter().map(|&v| f64::from(u8::from(v >= 8.5))).collect();
        let x = FeatureMatrix::new(vec!["a".into(), "b".into()], vec![a, b]).expect("matrix");
        let m = LogisticModel::fit(&LogisticParams::default(), &x, &y).expect("fit");
        assert_eq!(m.names, vec!["a", "b", "b__missing"]);
        assert!(m.coef[0] > 1.0, "{:?}", m.coef);
        let p = m.predict(&x);
        assert!(p[99] > 0.5 && p[0] < 0.05, "{} {}", p[99], p[0]);
        let mut phi = vec![0.0; 3];
        for r in [0, 7, 99] {
            m.contributions_row(&x, r, &mut phi);
            for (k, &phi_k) in phi.iter().enumerate() {
                let z = (m.prep.output(&x, r, k) - m.prep.mean[k]) / m.prep.scale[k];
                assert_eq!(phi_k, m.coef[k] * z);
            }
            let total = m.intercept + phi.iter().sum::<f64>();
            assert!((total - logit(p[r])).abs() < 1e-9);
        }
    }
}
