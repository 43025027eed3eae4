//! The one-line suggested action of a scored customer: what to do (by risk band), the offer
//! (the first suggestion) and why (the top reason).

use super::{Components, CustomerScore, RiskBand, SuggestionKind};

/// What to do for a band: critical → call this week, high → contact this month, medium → next
/// retention campaign, low → no retention action.
pub fn band_verb(band: RiskBand) -> &'static str {
    match band {
        RiskBand::Critical => "call this week",
        RiskBand::High => "contact this month",
        RiskBand::Medium => "include in the next retention campaign",
        RiskBand::Low => "no retention action",
    }
}

/// Money as a person writes it: `1234.5` → `1,234.50`.
pub fn money(v: f64) -> String {
    let cents = (v.abs() * 100.0).round() as u64;
    let (units, cents) = (cents / 100, cents % 100);
    let digits = units.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if v < 0.0 && (units > 0 || cents > 0) {
        "-"
    } else {
        ""
    };
    format!("{sign}{grouped}.{cents:02}")
}

/// The action line, e.g. `critical risk: call this week; offer Fibre 500 (right-size, saves
/// 12.50/month); top reason: tickets_cancellation_90d`.
pub fn action_text(s: &CustomerScore, components: Components) -> String {
    let mut out = format!("{} risk: {}", s.risk_band.as_str(), band_verb(s.risk_band));
    if let Some(p) = s.next_best_products.first() {
        let offer = match p.kind {
            SuggestionKind::RightSize => match p.monthly_saving {
                Some(v) => format!("; move to {} (saves {}/month)", p.product_name, money(v)),
                None => format!("; move to {}", p.product_name),
            },
            SuggestionKind::Retention => format!("; offer {} (retention)", p.product_name),
            SuggestionKind::Adoption => format!("; suggest {}", p.product_name),
        };
        out.push_str(&offer);
    }
    if s.risk_band != RiskBand::Low {
        if let Some(r) = s.reasons.first() {
            out.push_str("; top reason: ");
            out.push_str(&r.feature);
        }
        if components.clv {
            out.push_str(&format!("; value at risk {}", money(s.value_at_risk)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{ProductSuggestion, ScoreReason};

    fn score(band: RiskBand) -> CustomerScore {
        CustomerScore {
            customer_id: "C1".into(),
            segment: "smb".into(),
            region: "north".into(),
            account_manager_id: None,
            tier: "gold".into(),
            churn_probability: 0.6,
            risk_band: band,
            reasons: vec![ScoreReason {
                feature: "tickets_cancellation_90d".into(),
                value: Some(2.0),
                contribution: 0.8,
            }],
            clv: 1000.0,
            value_at_risk: 600.0,
            expected_uplift: None,
            next_best_products: vec![ProductSuggestion {
                product_id: "P9".into(),
                product_name: "Data 20GB".into(),
                category: "mobile".into(),
                kind: SuggestionKind::RightSize,
                expected_gain: 3.0,
                adoption_probability: 0.0,
                monthly_saving: Some(12.5),
                rationale: "pays overage".into(),
            }],
            action: String::new(),
        }
    }

    #[test]
    fn action_names_the_verb_offer_reason_and_value() {
        let c = Components {
            clv: true,
            suggestions: true,
            uplift: false,
        };
        assert_eq!(
            action_text(&score(RiskBand::Critical), c),
            "critical risk: call this week; move to Data 20GB (saves 12.50/month); \
             top reason: tickets_cancellation_90d; value at risk 600.00"
        );
        let mut low = score(RiskBand::Low);
        low.next_best_products.clear();
        assert_eq!(action_text(&low, c), "low risk: no retention action");
    }

    #[test]
    fn money_groups_thousands() {
        assert_eq!(money(1234.5), "1,234.50");
        assert_eq!(money(0.004), "0.00");
        assert_eq!(money(-12.0), "-12.00");
        assert_eq!(money(1_000_000.0), "1,000,000.00");
    }
}
