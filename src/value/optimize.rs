//! Minimisers for the CLV likelihoods: BFGS with an Armijo backtracking line search (the
//! likelihoods have cheap analytic gradients), and Nelder-Mead as a derivative-free polish
//! for the rare case BFGS stops early. Both minimise in log-parameter space, so parameters stay
//! positive without bounds.

/// Options of [`bfgs`].
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Stop when every gradient component is below this. Defaults to `1e-9`.
    pub gradient_tolerance: f64,
    /// Stop after this many iterations. Defaults to `1000`.
    pub max_iterations: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            gradient_tolerance: 1e-9,
            max_iterations: 1000,
        }
    }
}

/// Where a minimiser stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
    pub gradient_norm: f64,
    pub iterations: usize,
    pub evaluations: usize,
    /// True when the gradient tolerance was met.
    pub converged: bool,
}

/// A gradient this small where the value no longer decreases counts as converged.
const STALL_GRADIENT: f64 = 1e-6;

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Minimises `f` (which returns the value and writes the gradient into its second argument)
/// from `x0` with BFGS. A non-finite value is treated as +∞ (the line search backs off).
pub fn bfgs<F>(mut f: F, x0: &[f64], opts: Options) -> Minimum
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut g = vec![0.0; n];
    let mut fx = f(&x, &mut g);
    let mut evaluations = 1;
    // Inverse Hessian approximation, row-major.
    let mut h = vec![0.0; n * n];
    for i in 0..n {
        h[i * n + i] = 1.0;
    }
    let (mut x_new, mut g_new, mut dir) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut iterations = 0;
    let mut first = true;
    // Consecutive iterations whose decrease was below the rounding of the value.
    let mut stalled = 0;
    while iterations < opts.max_iterations && fx.is_finite() {
        if max_abs(&g) < opts.gradient_tolerance {
            break;
        }
        iterations += 1;
        for i in 0..n {
            dir[i] = -(0..n).map(|j| h[i * n + j] * g[j]).sum::<f64>();
        }
        let mut slope = dot(&dir, &g);
        if slope >= 0.0 {
            // Not a descent direction: reset to steepest descent.
            h.iter_mut().for_each(|v| *v = 0.0);
            for i in 0..n {
                h[i * n + i] = 1.0;
                dir[i] = -g[i];
            }
            slope = -dot(&g, &g);
        }
        // Keep the first step modest: log-parameters move by at most 1 per step.
        let longest = max_abs(&dir);
        let mut step = if longest > 1.0 { 1.0 / longest } else { 1.0 };
        let mut accepted = false;
        for _ in 0..60 {
            for i in 0..n {
                x_new[i] = x[i] + step * dir[i];
            }
            let f_new = f(&x_new, &mut g_new);
            evaluations += 1;
            tracing::trace!(iterations, step, fx, f_new, "bfgs step");
            // Within rounding of the current value: no line search can measure progress.
            let flat = f_new.is_finite() && (f_new - fx).abs() <= 1e-14 * fx.abs().max(1e-300);
            if flat && f_new > fx {
                break;
            }
            if f_new.is_finite() && (flat || f_new <= fx + 1e-4 * step * slope) {
                let s: Vec<f64> = (0..n).map(|i| x_new[i] - x[i]).collect();
                let y: Vec<f64> = (0..n).map(|i| g_new[i] - g[i]).collect();
                let sy = dot(&s, &y);
                if sy > 1e-300 {
                    if first {
                        // Scale the initial inverse Hessian (Nocedal & Wright 6.20).
                        let scale = sy / dot(&y, &y);
                        h.iter_mut().for_each(|v| *v *= scale);
                        first = false;
                    }
                    update_inverse_hessian(&mut h, &s, &y, sy);
                }
                x.copy_from_slice(&x_new);
                g.copy_from_slice(&g_new);
                stalled = if fx - f_new <= 1e-15 * fx.abs() {
                    stalled + 1
                } else {
                    0
                };
                fx = f_new;
                accepted = true;
                break;
            }
            // Backtrack to the minimum of the quadratic through f(x), f'(x)·dir and f_new,
            // kept within [0.1, 0.5] of the step (a tenth when the value is not finite).
            step *= if f_new.is_finite() {
                let curvature = f_new - fx - slope * step;
                if curvature > 0.0 {
                    (-slope * step / (2.0 * curvature)).clamp(0.1, 0.5)
                } else {
                    0.5
                }
            } else {
                0.1
            };
        }
        if !accepted || stalled >= 3 {
            break;
        }
    }
    let gradient_norm = max_abs(&g);
    Minimum {
        // At the optimum of a flat ridge the value stops decreasing (rounding) before the
        // gradient meets the tolerance: a stall with a small gradient is a minimum too.
        converged: gradient_norm < opts.gradient_tolerance
            || ((stalled >= 3 || iterations < opts.max_iterations)
                && gradient_norm < STALL_GRADIENT),
        x,
        value: fx,
        gradient_norm,
        iterations,
        evaluations,
    }
}

/// `H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ`, `ρ = 1 / yᵀs`.
fn update_inverse_hessian(h: &mut [f64], s: &[f64], y: &[f64], sy: f64) {
    let n = s.len();
    let rho = 1.0 / sy;
    let hy: Vec<f64> = (0..n)
        .map(|i| (0..n).map(|j| h[i * n + j] * y[j]).sum())
        .collect();
    let yhy = dot(y, &hy);
    for i in 0..n {
        for j in 0..n {
            h[i * n + j] +=
                -rho * (hy[i] * s[j] + s[i] * hy[j]) + (rho * rho * yhy + rho) * s[i] * s[j];
        }
    }
}

/// Minimises `f` from `x0` with Nelder-Mead (standard coefficients 1, 2, ½, ½; initial simplex
/// steps of `step`), stopping when the simplex's values differ by less than `tolerance` or after
/// `max_evaluations`.
pub fn nelder_mead<F>(
    mut f: F,
    x0: &[f64],
    step: f64,
    tolerance: f64,
    max_evaluations: usize,
) -> Minimum
where
    F: FnMut(&[f64]) -> f64,
{
    let n = x0.len();
    let value = |v: f64| if v.is_finite() { v } else { f64::INFINITY };
    let mut simplex: Vec<Vec<f64>> = vec![x0.to_vec()];
    for i in 0..n {
        let mut p = x0.to_vec();
        p[i] += step;
        simplex.push(p);
    }
    let mut values: Vec<f64> = simplex.iter().map(|p| value(f(p))).collect();
    let mut evaluations = n + 1;
    let mut iterations = 0;
    while evaluations < max_evaluations {
        iterations += 1;
        let mut order: Vec<usize> = (0..=n).collect();
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        simplex = order.iter().map(|&i| simplex[i].clone()).collect();
        values = order.iter().map(|&i| values[i]).collect();
        if (values[n] - values[0]).abs() <= tolerance {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| simplex[..n].iter().map(|p| p[j]).sum::<f64>() / n as f64)
            .collect();
        let towards = |t: f64| -> Vec<f64> {
            (0..n)
                .map(|j| centroid[j] + t * (simplex[n][j] - centroid[j]))
                .collect()
        };
        let reflected = towards(-1.0);
        let fr = value(f(&reflected));
        evaluations += 1;
        if fr < values[0] {
            let expanded = towards(-2.0);
            let fe = value(f(&expanded));
            evaluations += 1;
            if fe < fr {
                simplex[n] = expanded;
                values[n] = fe;
            } else {
                simplex[n] = reflected;
                values[n] = fr;
            }
        } else if fr < values[n - 1] {
            simplex[n] = reflected;
            values[n] = fr;
        } else {
            let contracted = if fr < values[n] {
                towards(-0.5)
            } else {
                towards(0.5)
            };
            let fc = value(f(&contracted));
            evaluations += 1;
            if fc < values[n].min(fr) {
                simplex[n] = contracted;
                values[n] = fc;
            } else {
                let best = simplex[0].clone();
                for i in 1..=n {
                    for (v, b) in simplex[i].iter_mut().zip(&best) {
                        *v = b + 0.5 * (*v - b);
                    }
                    values[i] = value(f(&simplex[i]));
                    evaluations += 1;
                }
            }
        }
    }
    let best = (0..=n)
        .min_by(|&a, &b| values[a].total_cmp(&values[b]))
        .unwrap_or(0);
    Minimum {
        x: simplex[best].clone(),
        value: values[best],
        gradient_norm: f64::NAN,
        iterations,
        evaluations,
        converged: (values.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v)) - values[best]).abs()
            <= tolerance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rosenbrock(x: &[f64], g: &mut [f64]) -> f64 {
        let (a, b) = (x[0], x[1]);
        g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
        g[1] = 200.0 * (b - a * a);
        (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
    }

    #[test]
    fn bfgs_finds_the_rosenbrock_minimum() {
        let m = bfgs(rosenbrock, &[-1.2, 1.0], Options::default());
        assert!(m.converged, "{m:?}");
        assert!(
            (m.x[0] - 1.0).abs() < 1e-8 && (m.x[1] - 1.0).abs() < 1e-8,
            "{m:?}"
        );
    }

    #[test]
    fn nelder_mead_finds_the_rosenbrock_minimum() {
        let mut g = [0.0; 2];
        let m = nelder_mead(|x| rosenbrock(x, &mut g), &[-1.2, 1.0], 0.5, 1e-14, 10_000);
        assert!(
            (m.x[0] - 1.0).abs() < 1e-5 && (m.x[1] - 1.0).abs() < 1e-5,
            "{m:?}"
        );
    }
}
