//! BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive, a
//! customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each purchase it drops
//! out with probability p ~ Beta(a, b). Fitted by maximum likelihood on (x, t_x, T) — repeat
//! purchases, time of the last one, age — exactly as `lifetimes.BetaGeoFitter` does (same
//! likelihood, times scaled so that max T = 1, log-parameters starting at 0.1, no penaliser).
//!
//! Per customer, `LL = A₁ + A₂ + ln(e^{A₃} + [x > 0] e^{A₄})` with
//! `A₁ = lnΓ(r+x) − lnΓ(r) + r ln α`, `A₂ = lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)`,
//! `A₃ = −(r+x) ln(α+T)`, `A₄ = ln a − ln(b+x−1) − (r+x) ln(α+t_x)`.

use serde::{Deserialize, Serialize};

use super::optimize::{self, Minimum};
use super::special::{digamma, ln_gamma, ln_hyp2f1};
use super::ValueError;

/// Fitted BG/NBD parameters (α in the time unit of the data).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BgNbdParams {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// A BG/NBD fit and how the optimiser got there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BgNbdFit {
    pub params: BgNbdParams,
    /// Mean log-likelihood per customer at the optimum (in scaled time, as lifetimes).
    pub mean_log_likelihood: f64,
    pub customers: usize,
    /// Distinct (x, t_x, T) patterns the likelihood was summed over.
    pub patterns: usize,
    pub iterations: usize,
    pub evaluations: usize,
    pub converged: bool,
}

/// Customers with the same (x, t_x, T), counted once with a weight.
struct Patterns {
    /// Index into `xs` of each pattern.
    x: Vec<usize>,
    t_x: Vec<usize>,
    age: Vec<usize>,
    weight: Vec<f64>,
    xs: Vec<f64>,
    t_xs: Vec<f64>,
    ages: Vec<f64>,
}

fn distinct(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

fn index_of(sorted: &[f64], v: f64) -> usize {
    sorted
        .binary_search_by(|p| p.total_cmp(&v))
        .unwrap_or_default()
}

impl Patterns {
    fn new(freq: &[f64], rec: &[f64], age: &[f64], scale: f64) -> Self {
        let mut rows: Vec<(u64, u64, u64)> = (0..freq.len())
            .map(|i| {
                (
                    freq[i].to_bits(),
                    (rec[i] * scale).to_bits(),
                    (age[i] * scale).to_bits(),
                )
            })
            .collect();
        rows.sort_unstable();
        let mut keys: Vec<(f64, f64, f64)> = Vec::new();
        let mut weight: Vec<f64> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            if i > 0 && rows[i - 1] == *row {
                if let Some(w) = weight.last_mut() {
                    *w += 1.0;
                }
            } else {
                keys.push((
                    f64::from_bits(row.0),
                    f64::from_bits(row.1),
                    f64::from_bits(row.2),
                ));
                weight.push(1.0);
            }
        }
        let xs = distinct(keys.iter().map(|k| k.0));
        let t_xs = distinct(keys.iter().map(|k| k.1));
        let ages = distinct(keys.iter().map(|k| k.2));
        Patterns {
            x: keys.iter().map(|k| index_of(&xs, k.0)).collect(),
            t_x: keys.iter().map(|k| index_of(&t_xs, k.1)).collect(),
            age: keys.iter().map(|k| index_of(&ages, k.2)).collect(),
            weight,
            xs,
            t_xs,
            ages,
        }
    }

    /// Mean negative log-likelihood at log-parameters `theta` and its gradient.
    fn nll(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let (r, alpha, a, b) = (
            theta[0].exp(),
            theta[1].exp(),
            theta[2].exp(),
            theta[3].exp(),
        );
        let ln_alpha = alpha.ln();
        let (lg_r, dg_r) = (ln_gamma(r), digamma(r));
        let (lg_ab, dg_ab, lg_b, dg_b) = (ln_gamma(a + b), digamma(a + b), ln_gamma(b), digamma(b));
        // Per distinct x: [A₁ − r ln α, A₂, ln a − ln(b+x−1), ∂A₁/∂r − ln α, ∂A₂/∂a, ∂A₂/∂b, 1/(b+x−1)]
        let per_x: Vec<[f64; 7]> = self
            .xs
            .iter()
            .map(|&x| {
                let a2 = lg_ab + ln_gamma(b + x) - lg_b - ln_gamma(a + b + x);
                let dg_abx = digamma(a + b + x);
                let bx1 = if x > 0.0 { b + x - 1.0 } else { 1.0 };
                [
                    ln_gamma(r + x) - lg_r,
                    a2,
                    a.ln() - bx1.ln(),
                    digamma(r + x) - dg_r,
                    dg_ab - dg_abx,
                    dg_ab + digamma(b + x) - dg_b - dg_abx,
                    1.0 / bx1,
                ]
            })
            .collect();
        let per_age: Vec<(f64, f64)> = self
            .ages
            .iter()
            .map(|&t| ((alpha + t).ln(), 1.0 / (alpha + t)))
            .collect();
        let per_tx: Vec<(f64, f64)> = self
            .t_xs
            .iter()
            .map(|&t| ((alpha + t).ln(), 1.0 / (alpha + t)))
            .collect();
        let (mut ll, mut gr, mut ga, mut gaa, mut gb, mut wsum) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for i in 0..self.weight.len() {
            let w = self.weight[i];
            let xi = self.x[i];
            let x = self.xs[xi];
            let px = &per_x[xi];
            let rx = r + x;
            let (l_t, i_t) = per_age[self.age[i]];
            let a3 = -rx * l_t;
            let (lse, w4, l_r, i_r) = if x > 0.0 {
                let (l_r, i_r) = per_tx[self.t_x[i]];
                let a4 = px[2] - rx * l_r;
                let d = a4 - a3;
                if d > 0.0 {
                    let e = (-d).exp();
                    (a4 + e.ln_1p(), 1.0 / (1.0 + e), l_r, i_r)
                } else {
                    let e = d.exp();
                    (a3 + e.ln_1p(), e / (1.0 + e), l_r, i_r)
                }
            } else {
                (a3, 0.0, 0.0, 0.0)
            };
            let w3 = 1.0 - w4;
            ll += w * (px[0] + r * ln_alpha + px[1] + lse);
            gr += w * (px[3] + ln_alpha - w3 * l_t - w4 * l_r);
            ga += w * (r / alpha - rx * (w3 * i_t + w4 * i_r));
            gaa += w * (px[4] + w4 / a);
            gb += w * (px[5] - w4 * px[6]);
            wsum += w;
        }
        // d/dθ = p · d/dp; minimise the negative mean.
        grad[0] = -gr * r / wsum;
        grad[1] = -ga * alpha / wsum;
        grad[2] = -gaa * a / wsum;
        grad[3] = -gb * b / wsum;
        -ll / wsum
    }
}

/// Checks one customer's summary: `x ≥ 0` whole, `0 ≤ t_x ≤ T`, `t_x = 0` when `x = 0`.
fn check_row(i: usize, x: f64, t_x: f64, age: f64) -> Result<(), ValueError> {
    let problem = if !(x >= 0.0 && x.fract() == 0.0) {
        Some(format!("frequency {x} is not a whole number ≥ 0"))
    } else if !(t_x >= 0.0 && age.is_finite() && t_x <= age) {
        Some(format!("recency {t_x} is not in [0, T = {age}]"))
    } else if x == 0.0 && t_x != 0.0 {
        Some(format!("recency {t_x} with frequency 0 (must be 0)"))
    } else {
        None
    };
    match problem {
        Some(problem) => Err(ValueError::BadSummary {
            row: i + 1,
            customer: String::new(),
            problem,
        }),
        None => Ok(()),
    }
}

/// Fits BG/NBD to per-customer frequency (repeat purchases), recency and age `T` (same
/// length, same time unit). Same likelihood and starting point as lifetimes 0.11.3.
pub fn fit(frequency: &[f64], recency: &[f64], age: &[f64]) -> Result<BgNbdFit, ValueError> {
    let n = frequency.len();
    if n == 0 || recency.len() != n || age.len() != n {
        return Err(ValueError::NoData {
            model: "BG/NBD",
            reason: format!(
                "{} frequencies, {} recencies, {} ages: need the same number, at least one",
                n,
                recency.len(),
                age.len()
            ),
        });
    }
    for i in 0..n {
        check_row(i, frequency[i], recency[i], age[i])?;
    }
    let max_age = age.iter().fold(0.0_f64, |m, &t| m.max(t));
    if max_age.is_nan() || max_age <= 0.0 {
        return Err(ValueError::NoData {
            model: "BG/NBD",
            reason: "every customer has age T = 0".into(),
        });
    }
    let scale = 1.0 / max_age;
    let patterns = Patterns::new(frequency, recency, age, scale);
    let mut m: Minimum = optimize::bfgs(
        |theta, g| patterns.nll(theta, g),
        &[0.1; 4],
        optimize::Options::default(),
    );
    if !m.converged {
        // Polish with Nelder-Mead from where BFGS stopped, then one more BFGS run.
        let mut g = [0.0; 4];
        let nm = optimize::nelder_mead(|t| patterns.nll(t, &mut g), &m.x, 0.1, 1e-15, 20_000);
        let again = optimize::bfgs(
            |t, g| patterns.nll(t, g),
            &nm.x,
            optimize::Options::default(),
        );
        m = Minimum {
            iterations: m.iterations + nm.iterations + again.iterations,
            evaluations: m.evaluations + nm.evaluations + again.evaluations,
            ..again
        };
    }
    if !m.value.is_finite() || m.x.iter().any(|v| !v.is_finite()) {
        return Err(ValueError::Fit {
            model: "BG/NBD",
            reason: format!("the likelihood is not finite at {:?}", m.x),
        });
    }
    Ok(BgNbdFit {
        params: BgNbdParams {
            r: m.x[0].exp(),
            alpha: m.x[1].exp() / scale,
            a: m.x[2].exp(),
            b: m.x[3].exp(),
        },
        mean_log_likelihood: -m.value,
        customers: n,
        patterns: patterns.weight.len(),
        iterations: m.iterations,
        evaluations: m.evaluations,
        converged: m.converged,
    })
}

impl BgNbdParams {
    /// P(alive | x, t_x, T) (Fader, Hardie & Lee, note 021): 1 when `x = 0`.
    pub fn p_alive(&self, x: f64, t_x: f64, age: f64) -> f64 {
        if x == 0.0 {
            return 1.0;
        }
        let log_div = (self.r + x) * ((self.alpha + age) / (self.alpha + t_x)).ln()
            + (self.a / (self.b + x - 1.0)).ln();
        1.0 / (1.0 + log_div.exp())
    }

    /// Expected repeat purchases in the next `t` time units of a customer with history
    /// (x, t_x, T) (equation 10 of the paper; lifetimes' `conditional_expected_number_of_purchases_up_to_time`).
    pub fn conditional_expected_purchases(&self, t: f64, x: f64, t_x: f64, age: f64) -> f64 {
        let BgNbdParams { r, alpha, a, b } = *self;
        let (ha, hb, hc) = (r + x, b + x, a + b + x - 1.0);
        let z = t / (alpha + age + t);
        let first = (a + b + x - 1.0) / (a - 1.0);
        let second = 1.0
            - (ln_hyp2f1(ha, hb, hc, z) + (r + x) * ((alpha + age) / (alpha + t + age)).ln()).exp();
        let denominator = if x > 0.0 {
            1.0 + (a / (b + x - 1.0)) * ((alpha + age) / (alpha + t_x)).powf(r + x)
        } else {
            1.0
        };
        first * second / denominator
    }

    /// Expected repeat purchases in `(0, t]` of a new customer (equation 9).
    pub fn expected_purchases(&self, t: f64) -> f64 {
        let BgNbdParams { r, alpha, a, b } = *self;
        let z = t / (alpha + t);
        let hyp = ln_hyp2f1(r, b, a + b - 1.0, z).exp();
        (a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + t)).powf(r) * hyp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The analytic gradient agrees with finite differences.
    #[test]
    fn gradient_matches_finite_differences() {
        let freq = [0.0, 1.0, 2.0, 5.0, 0.0, 3.0];
        let rec = [0.0, 10.0, 20.0, 30.0, 0.0, 5.0];
        let age = [40.0, 35.0, 38.0, 39.0, 12.0, 30.0];
        let p = Patterns::new(&freq, &rec, &age, 1.0 / 40.0);
        let theta = [-0.5, 0.3, -0.2, 0.8];
        let mut g = [0.0; 4];
        p.nll(&theta, &mut g);
        for k in 0..4 {
            let h = 1e-6;
            let (mut up, mut down) = (theta, theta);
            up[k] += h;
            down[k] -= h;
            let mut tmp = [0.0; 4];
            let numeric = (p.nll(&up, &mut tmp) - p.nll(&down, &mut tmp)) / (2.0 * h);
            assert!(
                (numeric - g[k]).abs() < 1e-7,
                "param {k}: {numeric} vs {}",
                g[k]
            );
        }
    }

    #[test]
    fn bad_rows_are_named() {
        let e = fit(&[1.5], &[1.0], &[2.0]).expect_err("fractional frequency");
        assert!(e.to_string().contains("row 1"), "{e}");
        let e = fit(&[1.0], &[3.0], &[2.0]).expect_err("recency after T");
        assert!(e.to_string().contains("recency 3"), "{e}");
    }
}
