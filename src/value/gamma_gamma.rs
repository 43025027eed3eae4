//! Gamma-Gamma spend model (Fader, Hardie & Lee 2005b; Hardie's note 025): a customer's
//! spend per transaction is Gamma(p, ν) with ν ~ Gamma(q, v) across customers, independent of
//! the purchase process. Fitted on customers with at least one repeat purchase (x > 0) and a
//! positive mean spend m, exactly as `lifetimes.GammaGammaFitter` (log-parameters from 0.1, no
//! penaliser):
//!
//! `LL = lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln v + (px−1) ln m + px ln x − (px+q) ln(xm+v)`.

use serde::{Deserialize, Serialize};

use super::optimize;
use super::special::{digamma, ln_gamma};
use super::ValueError;

/// Fitted Gamma-Gamma parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GammaGammaParams {
    pub p: f64,
    pub q: f64,
    pub v: f64,
}

/// A Gamma-Gamma fit and how the optimiser got there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GammaGammaFit {
    pub params: GammaGammaParams,
    pub mean_log_likelihood: f64,
    pub customers: usize,
    pub iterations: usize,
    pub evaluations: usize,
    pub converged: bool,
}

struct Data {
    /// Index into `xs` per customer.
    x: Vec<usize>,
    xs: Vec<f64>,
    ln_xs: Vec<f64>,
    m: Vec<f64>,
    ln_m: Vec<f64>,
}

impl Data {
    fn nll(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let (p, q, v) = (theta[0].exp(), theta[1].exp(), theta[2].exp());
        let (lg_q, dg_q, ln_v) = (ln_gamma(q), digamma(q), v.ln());
        // Per distinct x: lnΓ(px+q) − lnΓ(px) − lnΓ(q) + px ln x, ψ(px+q) − ψ(px), ψ(px+q).
        let per_x: Vec<[f64; 3]> = self
            .xs
            .iter()
            .zip(&self.ln_xs)
            .map(|(&x, &ln_x)| {
                let px = p * x;
                let dg_pxq = digamma(px + q);
                [
                    ln_gamma(px + q) - ln_gamma(px) - lg_q + px * ln_x,
                    dg_pxq - digamma(px),
                    dg_pxq,
                ]
            })
            .collect();
        let (mut ll, mut gp, mut gq, mut gv) = (0.0, 0.0, 0.0, 0.0);
        for i in 0..self.m.len() {
            let xi = self.x[i];
            let (x, ln_x) = (self.xs[xi], self.ln_xs[xi]);
            let c = &per_x[xi];
            let (m, ln_m) = (self.m[i], self.ln_m[i]);
            let px = p * x;
            let denom = x * m + v;
            let ln_denom = denom.ln();
            ll += c[0] + q * ln_v + (px - 1.0) * ln_m - (px + q) * ln_denom;
            gp += x * (c[1] + ln_m + ln_x - ln_denom);
            gq += c[2] - dg_q + ln_v - ln_denom;
            gv += q / v - (px + q) / denom;
        }
        let n = self.m.len() as f64;
        grad[0] = -gp * p / n;
        grad[1] = -gq * q / n;
        grad[2] = -gv * v / n;
        -ll / n
    }
}

/// Fits Gamma-Gamma to the frequency (repeat purchases, > 0) and mean repeat spend (> 0) of
/// each customer. Rows with `x = 0` or `m ≤ 0` must be left out by the caller (an error names
/// the first one).
pub fn fit(frequency: &[f64], monetary_value: &[f64]) -> Result<GammaGammaFit, ValueError> {
    let n = frequency.len();
    if n == 0 || monetary_value.len() != n {
        return Err(ValueError::NoData {
            model: "Gamma-Gamma",
            reason: format!(
                "{} frequencies and {} monetary values: need the same number, at least one",
                n,
                monetary_value.len()
            ),
        });
    }
    for i in 0..n {
        let (x, m) = (frequency[i], monetary_value[i]);
        if !(x >= 1.0 && x.fract() == 0.0 && m > 0.0 && m.is_finite()) {
            return Err(ValueError::BadSummary {
                row: i + 1,
                customer: String::new(),
                problem: format!(
                    "Gamma-Gamma needs frequency ≥ 1 and monetary value > 0, got {x} and {m}"
                ),
            });
        }
    }
    let mut xs: Vec<f64> = frequency.to_vec();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let data = Data {
        x: frequency
            .iter()
            .map(|x| xs.binary_search_by(|p| p.total_cmp(x)).unwrap_or_default())
            .collect(),
        ln_xs: xs.iter().map(|x| x.ln()).collect(),
        xs,
        m: monetary_value.to_vec(),
        ln_m: monetary_value.iter().map(|m| m.ln()).collect(),
    };
    let mut m = optimize::bfgs(
        |t, g| data.nll(t, g),
        &[0.1; 3],
        optimize::Options::default(),
    );
    if !m.converged {
        let mut g = [0.0; 3];
        let nm = optimize::nelder_mead(|t| data.nll(t, &mut g), &m.x, 0.1, 1e-15, 20_000);
        let again = optimize::bfgs(|t, g| data.nll(t, g), &nm.x, optimize::Options::default());
        m = optimize::Minimum {
            iterations: m.iterations + nm.iterations + again.iterations,
            evaluations: m.evaluations + nm.evaluations + again.evaluations,
            ..again
        };
    }
    if !m.value.is_finite() || m.x.iter().any(|v| !v.is_finite()) {
        return Err(ValueError::Fit {
            model: "Gamma-Gamma",
            reason: format!("the likelihood is not finite at {:?}", m.x),
        });
    }
    Ok(GammaGammaFit {
        params: GammaGammaParams {
            p: m.x[0].exp(),
            q: m.x[1].exp(),
            v: m.x[2].exp(),
        },
        mean_log_likelihood: -m.value,
        customers: n,
        iterations: m.iterations,
        evaluations: m.evaluations,
        converged: m.converged,
    })
}

/// Mean log-likelihood per customer of `params` on (frequency, monetary value) rows.
pub fn mean_log_likelihood(
    params: &GammaGammaParams,
    frequency: &[f64],
    monetary_value: &[f64],
) -> f64 {
    let n = frequency.len() as f64;
    let GammaGammaParams { p, q, v } = *params;
    frequency
        .iter()
        .zip(monetary_value)
        .map(|(&x, &m)| {
            ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q)
                + q * v.ln()
                + (p * x - 1.0) * m.ln()
                + p * x * x.ln()
                - (p * x + q) * (x * m + v).ln()
        })
        .sum::<f64>()
        / n
}

impl GammaGammaParams {
    /// E[spend per transaction | x, m] (note 025, eq. 5): a weighted average of the
    /// customer's mean spend and the population mean `pv / (q − 1)`. Customers with `x = 0`
    /// get the population mean. Infinite when `q ≤ 1` (the population mean does not exist).
    pub fn conditional_expected_average_spend(&self, x: f64, m: f64) -> f64 {
        let GammaGammaParams { p, q, v } = *self;
        let weight = p * x / (p * x + q - 1.0);
        let population = v * p / (q - 1.0);
        if q <= 1.0 {
            return f64::INFINITY;
        }
        (1.0 - weight) * population + weight * m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let f = [1.0, 2.0, 2.0, 7.0];
        let m = [10.0, 25.5, 12.0, 40.0];
        let mut xs = vec![1.0, 2.0, 7.0];
        xs.dedup();
        let data = Data {
            x: vec![0, 1, 1, 2],
            ln_xs: xs.iter().map(|x: &f64| x.ln()).collect(),
            xs,
            m: m.to_vec(),
            ln_m: m.iter().map(|v| v.ln()).collect(),
        };
        let theta = [0.7, 1.1, 2.0];
        let mut g = [0.0; 3];
        data.nll(&theta, &mut g);
        for k in 0..3 {
            let h = 1e-6;
            let (mut up, mut down) = (theta, theta);
            up[k] += h;
            down[k] -= h;
            let mut t = [0.0; 3];
            let numeric = (data.nll(&up, &mut t) - data.nll(&down, &mut t)) / (2.0 * h);
            assert!((numeric - g[k]).abs() < 1e-7, "param {k}");
        }
        assert_eq!(f.len(), 4);
    }
}
