//! Non-contractual CLV end to end: summary → BG/NBD + Gamma-Gamma fits → per customer
//! P(alive), expected purchases over a horizon, expected spend per purchase and CLV; and, with
//! a holdout period, predicted vs actual purchases in it.

use serde::Serialize;

use super::bgnbd::{self, BgNbdFit};
use super::gamma_gamma::{self, GammaGammaFit};
use super::rfm::{Summary, TimeUnit};
use super::ValueError;

/// Settings of the transaction CLV.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TransactionClvConfig {
    pub unit: TimeUnit,
    /// Months of the CLV and of `expected_purchases`. Defaults to `12`.
    pub horizon_months: u32,
    /// Monthly discount rate. Defaults to `0.01`.
    pub monthly_discount_rate: f64,
}

impl Default for TransactionClvConfig {
    fn default() -> Self {
        TransactionClvConfig {
            unit: TimeUnit::Days,
            horizon_months: 12,
            monthly_discount_rate: 0.01,
        }
    }
}

/// Days in a month for the horizon, as lifetimes' `customer_lifetime_value` (30 days, 4.345 weeks).
pub fn units_per_month(unit: TimeUnit) -> f64 {
    match unit {
        TimeUnit::Days => 30.0,
        TimeUnit::Weeks => 4.345,
    }
}

/// Fits and per-customer predictions.
#[derive(Debug, Clone, Serialize)]
pub struct TransactionClv {
    pub bgnbd: BgNbdFit,
    /// `None` when no customer has a repeat purchase with positive spend.
    pub gamma_gamma: Option<GammaGammaFit>,
    pub p_alive: Vec<f64>,
    /// Expected repeat purchases over the horizon.
    pub expected_purchases: Vec<f64>,
    /// Expected spend per purchase (Gamma-Gamma; NaN without a spend fit).
    pub expected_spend: Vec<f64>,
    /// Discounted expected spend over the horizon.
    pub clv: Vec<f64>,
    /// Expected purchases in the holdout period (when the summary has one).
    pub predicted_holdout: Vec<f64>,
    pub seconds_bgnbd_fit: f64,
    pub seconds_gamma_gamma_fit: f64,
}

/// Fits both models on `summary` and predicts per customer. `holdout_length` (in `cfg.unit`)
/// adds the predicted purchases in a holdout of that length.
pub fn transaction_clv(
    summary: &Summary,
    cfg: &TransactionClvConfig,
    holdout_length: Option<f64>,
) -> Result<TransactionClv, ValueError> {
    let t0 = std::time::Instant::now();
    let bg = bgnbd::fit(&summary.frequency, &summary.recency, &summary.age)?;
    let seconds_bgnbd_fit = t0.elapsed().as_secs_f64();
    let (fx, fm): (Vec<f64>, Vec<f64>) = summary
        .frequency
        .iter()
        .zip(&summary.monetary_value)
        .filter(|(x, m)| **x > 0.0 && **m > 0.0)
        .map(|(x, m)| (*x, *m))
        .unzip();
    let t1 = std::time::Instant::now();
    let gg = if fx.is_empty() {
        None
    } else {
        Some(gamma_gamma::fit(&fx, &fm)?)
    };
    let seconds_gamma_gamma_fit = t1.elapsed().as_secs_f64();
    let p = bg.params;
    let month = units_per_month(cfg.unit);
    let n = summary.len();
    let (mut p_alive, mut expected_purchases, mut expected_spend, mut clv, mut predicted_holdout) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::new(),
    );
    for i in 0..n {
        let (x, tx, t) = (summary.frequency[i], summary.recency[i], summary.age[i]);
        p_alive.push(p.p_alive(x, tx, t));
        let spend = gg.as_ref().map_or(f64::NAN, |g| {
            g.params
                .conditional_expected_average_spend(x, summary.monetary_value[i])
        });
        expected_spend.push(spend);
        let mut value = 0.0;
        let mut before = 0.0;
        for k in 1..=cfg.horizon_months {
            let cumulative = p.conditional_expected_purchases(f64::from(k) * month, x, tx, t);
            value +=
                (cumulative - before) * spend / (1.0 + cfg.monthly_discount_rate).powi(k as i32);
            before = cumulative;
        }
        expected_purchases.push(before);
        clv.push(value);
        if let Some(h) = holdout_length {
            predicted_holdout.push(p.conditional_expected_purchases(h, x, tx, t));
        }
    }
    Ok(TransactionClv {
        bgnbd: bg,
        gamma_gamma: gg,
        p_alive,
        expected_purchases,
        expected_spend,
        clv,
        predicted_holdout,
        seconds_bgnbd_fit,
        seconds_gamma_gamma_fit,
    })
}

/// Calibration/holdout comparison: predicted vs actual repeat purchases in the holdout, in
/// total and by calibration frequency (0, 1, …, 6, 7+), the table of lifetimes'
/// `plot_calibration_purchases_vs_holdout_purchases`.
#[derive(Debug, Clone, Serialize)]
pub struct HoldoutReport {
    pub customers: usize,
    pub holdout_length: f64,
    pub actual_total: f64,
    pub predicted_total: f64,
    pub mean_absolute_error: f64,
    pub correlation: f64,
    pub by_frequency: Vec<HoldoutRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HoldoutRow {
    /// Calibration frequency (`7` means 7 or more).
    pub frequency: u32,
    pub customers: usize,
    pub mean_actual: f64,
    pub mean_predicted: f64,
}

/// Pearson correlation; NaN when either side is constant.
pub fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    if n < 2.0 {
        return f64::NAN;
    }
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

/// Compares `predicted` with the summary's `frequency_holdout`.
pub fn holdout_report(summary: &Summary, predicted: &[f64], holdout_length: f64) -> HoldoutReport {
    let actual = &summary.frequency_holdout;
    let n = actual.len();
    let mae = actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| (a - p).abs())
        .sum::<f64>()
        / n.max(1) as f64;
    let mut by_frequency = Vec::new();
    for f in 0..=7u32 {
        let rows: Vec<usize> = (0..n)
            .filter(|&i| {
                let x = summary.frequency[i];
                if f == 7 {
                    x >= 7.0
                } else {
                    x == f64::from(f)
                }
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        let k = rows.len() as f64;
        by_frequency.push(HoldoutRow {
            frequency: f,
            customers: rows.len(),
            mean_actual: rows.iter().map(|&i| actual[i]).sum::<f64>() / k,
            mean_predicted: rows.iter().map(|&i| predicted[i]).sum::<f64>() / k,
        });
    }
    HoldoutReport {
        customers: n,
        holdout_length,
        actual_total: actual.iter().sum(),
        predicted_total: predicted.iter().sum(),
        mean_absolute_error: mae,
        correlation: correlation(actual, predicted),
        by_frequency,
    }
}
