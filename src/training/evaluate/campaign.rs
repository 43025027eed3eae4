//! Campaign economics: the expected profit of a retention campaign that contacts the top k% of
//! customers by churn risk (or by value at risk), and the cut-off that maximises it.
//!
//! For a targeted customer `i` the expected profit is
//! `y_i · save_rate · (V − incentive) − (1 − y_i) · non_churner_acceptance_rate · incentive − contact`,
//! so targeting a set S earns
//! `TP · save_rate · (V − incentive) − FP · non_churner_acceptance_rate · incentive − |S| · contact`.

use serde::{Deserialize, Serialize};

use super::ranking::{descending_order, expected_top_sums, rows_for_share, tie_groups};
use super::{check_inputs, check_probabilities, EvalError};

/// What a retention campaign costs and earns. Every field has a serde default, so a config may
/// set only some.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CampaignEconomics {
    /// Value kept when a churner is saved (e.g. a year of margin); defaults to `500.0`.
    pub value_saved_churner: f64,
    /// Cost of the retention incentive, paid to every contacted customer who accepts it;
    /// defaults to `50.0`.
    pub incentive_cost: f64,
    /// Cost of contacting one customer, paid for everyone targeted; defaults to `5.0`.
    pub contact_cost: f64,
    /// Share of contacted true churners who accept the offer and are saved; defaults to `0.3`.
    #[serde(alias = "acceptance_rate")]
    pub save_rate: f64,
    /// Share of contacted non-churners who accept the incentive anyway (money spent on someone
    /// who would have stayed); defaults to `0.0`.
    pub non_churner_acceptance_rate: f64,
}

impl Default for CampaignEconomics {
    fn default() -> Self {
        CampaignEconomics {
            value_saved_churner: 500.0,
            incentive_cost: 50.0,
            contact_cost: 5.0,
            save_rate: 0.3,
            non_churner_acceptance_rate: 0.0,
        }
    }
}

impl CampaignEconomics {
    /// Every amount finite and ≥ 0, every rate in `[0, 1]`.
    pub fn validate(&self) -> Result<(), EvalError> {
        let amounts = [
            ("value_saved_churner", self.value_saved_churner),
            ("incentive_cost", self.incentive_cost),
            ("contact_cost", self.contact_cost),
        ];
        for (name, value) in amounts {
            if !(value.is_finite() && value >= 0.0) {
                return Err(EvalError::InvalidParameter {
                    name,
                    value,
                    reason: "an amount of money must be a finite number ≥ 0",
                });
            }
        }
        let rates = [
            ("save_rate", self.save_rate),
            (
                "non_churner_acceptance_rate",
                self.non_churner_acceptance_rate,
            ),
        ];
        for (name, value) in rates {
            if !(0.0..=1.0).contains(&value) {
                return Err(EvalError::InvalidParameter {
                    name,
                    value,
                    reason: "a rate must lie in [0, 1]",
                });
            }
        }
        Ok(())
    }

    /// Expected profit of contacting one customer worth `value` if they churn (`churner`).
    pub fn profit_of_contact(&self, churner: bool, value: f64) -> f64 {
        if churner {
            self.save_rate * (value - self.incentive_cost) - self.contact_cost
        } else {
            -self.non_churner_acceptance_rate * self.incentive_cost - self.contact_cost
        }
    }
}

/// What customers were ranked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RankedBy {
    /// The churn score.
    Risk,
    /// Churn probability × the customer's own value.
    ValueAtRisk,
}

/// Targeting the top `share` of customers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProfitPoint {
    /// Share of customers targeted, in (0, 1].
    pub share: f64,
    /// Customers targeted: `ceil(share · n)`.
    pub rows: usize,
    /// Ranking key of the last customer targeted: target "key ≥ threshold" (key = score, or
    /// probability × value for [`RankedBy::ValueAtRisk`]).
    pub threshold: f64,
    /// Expected churners among those targeted.
    pub churners: f64,
    /// Expected churners saved: `save_rate · churners`.
    pub saved: f64,
    /// Expected campaign profit (see the module formula).
    pub profit: f64,
}

/// Expected profit at shares 1%, 2%, …, 100% and the best of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfitCurve {
    pub economics: CampaignEconomics,
    pub ranked_by: RankedBy,
    pub points: Vec<ProfitPoint>,
    /// The point of highest profit (the smallest share on a tie). If it is negative, no
    /// campaign at these economics pays for itself.
    pub best: ProfitPoint,
}

/// Builds the curve from a ranking key and per-row contact profits.
fn curve(
    key: &[f64],
    labels: &[f64],
    contact_profit: &[f64],
    econ: &CampaignEconomics,
    ranked_by: RankedBy,
) -> Result<ProfitCurve, EvalError> {
    let n = key.len();
    let order = descending_order(key);
    let groups = tie_groups(&order, key);
    let shares: Vec<f64> = (1..=100).map(|k| k as f64 / 100.0).collect();
    let ks: Vec<usize> = shares.iter().map(|&s| rows_for_share(s, n)).collect();
    let profits = expected_top_sums(&order, &groups, contact_profit, &ks);
    let churners = expected_top_sums(&order, &groups, labels, &ks);
    let points: Vec<ProfitPoint> = shares
        .iter()
        .zip(&ks)
        .zip(profits.iter().zip(&churners))
        .map(|((&share, &rows), (&profit, &churners))| ProfitPoint {
            share,
            rows,
            threshold: key[order[rows - 1]],
            churners,
            saved: econ.save_rate * churners,
            profit,
        })
        .collect();
    let best = points
        .iter()
        .copied()
        .reduce(|best, p| if p.profit > best.profit { p } else { best })
        .ok_or(EvalError::Empty)?;
    Ok(ProfitCurve {
        economics: *econ,
        ranked_by,
        points,
        best,
    })
}

/// Expected campaign profit when targeting the top 1%, 2%, …, 100% of customers by score,
/// every churner worth `econ.value_saved_churner`. Ties at a cut count in expectation.
pub fn profit_curve(
    scores: &[f64],
    labels: &[f64],
    econ: &CampaignEconomics,
) -> Result<ProfitCurve, EvalError> {
    check_inputs(scores, labels)?;
    econ.validate()?;
    let contact: Vec<f64> = labels
        .iter()
        .map(|&y| econ.profit_of_contact(y == 1.0, econ.value_saved_churner))
        .collect();
    curve(scores, labels, &contact, econ, RankedBy::Risk)
}

/// The profit-maximising cut-off of [`profit_curve`]: target customers with `score ≥
/// best.threshold` (the top `best.share`).
pub fn best_threshold(
    scores: &[f64],
    labels: &[f64],
    econ: &CampaignEconomics,
) -> Result<ProfitPoint, EvalError> {
    Ok(profit_curve(scores, labels, econ)?.best)
}

/// Like [`profit_curve`], but each customer brings their own value `values[i]` (e.g. CLV)
/// instead of `econ.value_saved_churner`, and customers are ranked by value at risk:
/// churn probability × value. Scores must be probabilities.
pub fn profit_curve_with_values(
    scores: &[f64],
    labels: &[f64],
    values: &[f64],
    econ: &CampaignEconomics,
) -> Result<ProfitCurve, EvalError> {
    check_probabilities(scores, labels, "value-at-risk profit")?;
    if values.len() != scores.len() {
        return Err(EvalError::ValueLengthMismatch {
            values: values.len(),
            scores: scores.len(),
        });
    }
    if let Some((index, &value)) = values
        .iter()
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
    {
        return Err(EvalError::InvalidValue { index, value });
    }
    econ.validate()?;
    let at_risk: Vec<f64> = scores.iter().zip(values).map(|(p, v)| p * v).collect();
    let contact: Vec<f64> = labels
        .iter()
        .zip(values)
        .map(|(&y, &v)| econ.profit_of_contact(y == 1.0, v))
        .collect();
    curve(&at_risk, labels, &contact, econ, RankedBy::ValueAtRisk)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten rows by descending score; churners at ranks 1, 2, 4, 7.
    fn ten_rows() -> (Vec<f64>, Vec<f64>) {
        let scores = vec![0.95, 0.9, 0.8, 0.75, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1];
        let labels = vec![1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0];
        (scores, labels)
    }

    #[test]
    fn profit_curve_matches_the_formula_on_ten_rows() {
        let (scores, labels) = ten_rows();
        let econ = CampaignEconomics::default();
        let pc = profit_curve(&scores, &labels, &econ).expect("curve");
        assert_eq!(pc.points.len(), 100);
        // A contacted churner earns 0.3·(500−50) − 5 = 130, a contacted stayer costs 5.
        // Rows 1..10 → 130, 260, 255, 385, 380, 375, 505, 500, 495, 490.
        let by_rows = [
            130.0, 260.0, 255.0, 385.0, 380.0, 375.0, 505.0, 500.0, 495.0, 490.0,
        ];
        for p in &pc.points {
            assert!((p.profit - by_rows[p.rows - 1]).abs() < 1e-9, "{p:?}");
        }
        // Best: 7 rows (first reached at 61%: ceil(6.1) = 7), threshold 0.4, 4 churners.
        assert_eq!(pc.best.rows, 7);
        assert_eq!(pc.best.threshold, 0.4);
        assert!((pc.best.share - 0.61).abs() < 1e-12);
        assert!((pc.best.churners - 4.0).abs() < 1e-12);
        assert!((pc.best.saved - 1.2).abs() < 1e-12);
        assert_eq!(
            best_threshold(&scores, &labels, &econ).expect("best"),
            pc.best
        );
    }

    #[test]
    fn profit_formula_with_paid_non_churners() {
        let (scores, labels) = ten_rows();
        let econ = CampaignEconomics {
            value_saved_churner: 200.0,
            incentive_cost: 20.0,
            contact_cost: 1.0,
            save_rate: 0.5,
            non_churner_acceptance_rate: 0.5,
        };
        let pc = profit_curve(&scores, &labels, &econ).expect("curve");
        for p in &pc.points {
            let tp = labels[..p.rows].iter().sum::<f64>();
            let fp = p.rows as f64 - tp;
            let formula = tp * 0.5 * (200.0 - 20.0) - fp * 0.5 * 20.0 - p.rows as f64 * 1.0;
            assert!((p.profit - formula).abs() < 1e-9, "{p:?} vs {formula}");
        }
        // Churner +89, stayer −11: 89, 178, 167, 256, 245, 234, 323, … best at 7 rows.
        assert!((pc.best.profit - 323.0).abs() < 1e-9);
    }

    #[test]
    fn value_at_risk_ranking_targets_valuable_churners_first() {
        // Row 1 is less likely to churn but worth ten times more: 0.4·1000 = 400 > 0.9·100 = 90.
        let scores = [0.9, 0.4, 0.1];
        let labels = [1.0, 1.0, 0.0];
        let values = [100.0, 1000.0, 100.0];
        let econ = CampaignEconomics::default();
        let pc = profit_curve_with_values(&scores, &labels, &values, &econ).expect("curve");
        assert_eq!(pc.ranked_by, RankedBy::ValueAtRisk);
        // One row (first share, ceil(0.01·3) = 1): the valuable churner, 0.3·(1000−50) − 5 = 280.
        assert_eq!(pc.points[0].rows, 1);
        assert!((pc.points[0].profit - 280.0).abs() < 1e-9);
        assert_eq!(pc.points[0].threshold, 400.0);
        // Both churners: 280 + 0.3·(100−50) − 5 = 290; all three: 285.
        assert!((pc.best.profit - 290.0).abs() < 1e-9);
        assert_eq!(pc.best.rows, 2);
    }

    #[test]
    fn economics_and_values_are_checked() {
        let (scores, labels) = ten_rows();
        let bad = CampaignEconomics {
            save_rate: 1.5,
            ..CampaignEconomics::default()
        };
        assert!(matches!(
            profit_curve(&scores, &labels, &bad),
            Err(EvalError::InvalidParameter {
                name: "save_rate",
                ..
            })
        ));
        assert_eq!(
            profit_curve_with_values(&[0.5, 0.5], &[1.0, 0.0], &[10.0, -1.0], &bad),
            Err(EvalError::InvalidValue {
                index: 1,
                value: -1.0
            })
        );
        assert_eq!(
            profit_curve_with_values(&[0.5, 0.5], &[1.0, 0.0], &[10.0], &bad),
            Err(EvalError::ValueLengthMismatch {
                values: 1,
                scores: 2
            })
        );
        let e: CampaignEconomics =
            serde_json::from_str(r#"{"acceptance_rate": 0.2}"#).expect("alias parses");
        assert_eq!(e.save_rate, 0.2);
        assert_eq!(e.incentive_cost, 50.0);
    }
}
