//! From the scoring stage's types to the wire messages of `churn.v1` and back (filters, rank
//! keys, page tokens). Pure functions; every request check names the field it refused.

use crate::scoring::{
    CustomerScore, FieldValue, ProductSuggestion, Record, RiskBand, ScoreReason, SuggestionKind,
};
use crate::server::error::ApiError;
use crate::server::pb;
use crate::server::source::{FilterValues, Query, RankBy, SegmentSummary};
use crate::training::models::Reason;

pub fn risk_band(b: RiskBand) -> pb::RiskBand {
    match b {
        RiskBand::Low => pb::RiskBand::Low,
        RiskBand::Medium => pb::RiskBand::Medium,
        RiskBand::High => pb::RiskBand::High,
        RiskBand::Critical => pb::RiskBand::Critical,
    }
}

pub fn suggestion_kind(k: SuggestionKind) -> pb::SuggestionKind {
    match k {
        SuggestionKind::Adoption => pb::SuggestionKind::Adoption,
        SuggestionKind::RightSize => pb::SuggestionKind::RightSize,
        SuggestionKind::Retention => pb::SuggestionKind::Retention,
    }
}

pub fn reason(r: &ScoreReason) -> pb::Reason {
    pb::Reason {
        feature: r.feature.clone(),
        value: r.value,
        contribution: r.contribution,
    }
}

/// A model's reason (what-if scoring).
pub fn model_reason(r: &Reason) -> pb::Reason {
    pb::Reason {
        feature: r.feature.clone(),
        value: r.value,
        contribution: r.contribution,
    }
}

fn suggestion(p: &ProductSuggestion) -> pb::ProductSuggestion {
    pb::ProductSuggestion {
        product_id: p.product_id.clone(),
        product_name: p.product_name.clone(),
        category: p.category.clone(),
        kind: suggestion_kind(p.kind) as i32,
        expected_gain: p.expected_gain,
        adoption_probability: p.adoption_probability,
        monthly_saving: p.monthly_saving,
        rationale: p.rationale.clone(),
    }
}

pub fn score(s: &CustomerScore) -> pb::CustomerScore {
    pb::CustomerScore {
        customer_id: s.customer_id.clone(),
        segment: s.segment.clone(),
        region: s.region.clone(),
        account_manager_id: s.account_manager_id.clone(),
        tier: s.tier.clone(),
        churn_probability: s.churn_probability,
        risk_band: risk_band(s.risk_band) as i32,
        reasons: s.reasons.iter().map(reason).collect(),
        clv: s.clv,
        value_at_risk: s.value_at_risk,
        expected_uplift: s.expected_uplift,
        next_best_products: s.next_best_products.iter().map(suggestion).collect(),
        action: s.action.clone(),
    }
}

/// A wire score back as the scoring stage's type (clients: `churn prioritize --addr`).
/// Unknown enum values become the lowest band / adoption.
pub fn score_from_pb(s: &pb::CustomerScore) -> CustomerScore {
    let band = match pb::RiskBand::try_from(s.risk_band) {
        Ok(pb::RiskBand::Medium) => RiskBand::Medium,
        Ok(pb::RiskBand::High) => RiskBand::High,
        Ok(pb::RiskBand::Critical) => RiskBand::Critical,
        _ => RiskBand::Low,
    };
    CustomerScore {
        customer_id: s.customer_id.clone(),
        segment: s.segment.clone(),
        region: s.region.clone(),
        account_manager_id: s.account_manager_id.clone(),
        tier: s.tier.clone(),
        churn_probability: s.churn_probability,
        risk_band: band,
        reasons: s
            .reasons
            .iter()
            .map(|r| ScoreReason {
                feature: r.feature.clone(),
                value: r.value,
                contribution: r.contribution,
            })
            .collect(),
        clv: s.clv,
        value_at_risk: s.value_at_risk,
        expected_uplift: s.expected_uplift,
        next_best_products: s
            .next_best_products
            .iter()
            .map(|p| ProductSuggestion {
                product_id: p.product_id.clone(),
                product_name: p.product_name.clone(),
                category: p.category.clone(),
                kind: match pb::SuggestionKind::try_from(p.kind) {
                    Ok(pb::SuggestionKind::RightSize) => SuggestionKind::RightSize,
                    Ok(pb::SuggestionKind::Retention) => SuggestionKind::Retention,
                    _ => SuggestionKind::Adoption,
                },
                expected_gain: p.expected_gain,
                adoption_probability: p.adoption_probability,
                monthly_saving: p.monthly_saving,
                rationale: p.rationale.clone(),
            })
            .collect(),
        action: s.action.clone(),
    }
}

/// A customer-360 row as wire fields (dates as YYYY-MM-DD).
pub fn record(r: &Record) -> Vec<pb::Field> {
    use pb::field::Value;
    r.fields
        .iter()
        .map(|f| pb::Field {
            name: f.name.clone(),
            value: match &f.value {
                FieldValue::Null => None,
                FieldValue::Bool(b) => Some(Value::Flag(*b)),
                FieldValue::Int(i) => Some(Value::Integer(*i)),
                FieldValue::Number(x) => Some(Value::Number(*x)),
                FieldValue::Date(d) => Some(Value::Date(d.to_string())),
                FieldValue::Text(t) => Some(Value::Text(t.clone())),
            },
        })
        .collect()
}

pub fn segment(s: &SegmentSummary) -> pb::SegmentSummary {
    pb::SegmentSummary {
        segment: s.segment.clone(),
        customers: s.customers,
        mean_churn_probability: s.mean_churn_probability,
        high_risk_customers: s.high_risk_customers,
        total_clv: s.total_clv,
        total_value_at_risk: s.total_value_at_risk,
    }
}

/// A customer id from a request: not empty, not blank. `field` is only formatted when the id
/// is refused (pass `format_args!` for an indexed name on a hot path).
pub fn customer_id(field: impl std::fmt::Display, id: &str) -> Result<&str, ApiError> {
    if id.trim().is_empty() {
        return Err(ApiError::invalid(field.to_string(), "must not be empty"));
    }
    Ok(id)
}

/// A wire filter checked against the values the snapshot holds.
pub fn query(f: Option<&pb::Filter>, known: &FilterValues) -> Result<Query, ApiError> {
    let Some(f) = f else {
        return Ok(Query::default());
    };
    let check = |field: &str, values: &[String], known: &[String]| -> Result<(), ApiError> {
        for v in values {
            if known.binary_search(v).is_err() {
                let shown: Vec<&str> = known.iter().take(20).map(String::as_str).collect();
                let more = if known.len() > 20 { ", …" } else { "" };
                return Err(ApiError::invalid(
                    format!("filter.{field}"),
                    format!(
                        "unknown value `{v}`; known: {}{more} (GetSegments lists them all)",
                        shown.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    };
    check("segments", &f.segments, &known.segments)?;
    check("regions", &f.regions, &known.regions)?;
    check(
        "account_manager_ids",
        &f.account_manager_ids,
        &known.account_managers,
    )?;
    check("tiers", &f.tiers, &known.tiers)?;
    if let Some(p) = f.min_churn_probability {
        if !(0.0..=1.0).contains(&p) {
            return Err(ApiError::invalid(
                "filter.min_churn_probability",
                format!("{p} is not a probability in [0, 1]"),
            ));
        }
    }
    Ok(Query {
        segments: f.segments.clone(),
        regions: f.regions.clone(),
        account_managers: f.account_manager_ids.clone(),
        tiers: f.tiers.clone(),
        min_churn_probability: f.min_churn_probability,
    })
}

pub fn rank_by(v: i32) -> Result<RankBy, ApiError> {
    match pb::RankBy::try_from(v) {
        Ok(pb::RankBy::Unspecified | pb::RankBy::ValueAtRisk) => Ok(RankBy::ValueAtRisk),
        Ok(pb::RankBy::ExpectedSavedValue) => Ok(RankBy::ExpectedSavedValue),
        Ok(pb::RankBy::ChurnProbability) => Ok(RankBy::ChurnProbability),
        Err(_) => Err(ApiError::invalid(
            "rank_by",
            format!("unknown value {v}; expected 0–3"),
        )),
    }
}

const TOKEN_PREFIX: &str = "o";

/// The page token of the page starting at `offset`.
pub fn page_token(offset: usize) -> String {
    format!("{TOKEN_PREFIX}{offset}")
}

/// The offset a page token encodes (empty = 0).
pub fn page_offset(token: &str) -> Result<usize, ApiError> {
    if token.is_empty() {
        return Ok(0);
    }
    token
        .strip_prefix(TOKEN_PREFIX)
        .and_then(|n| n.parse::<usize>().ok())
        .ok_or_else(|| {
            ApiError::invalid(
                "page_token",
                "not a token this server issued; pass the previous page's next_page_token, or empty for the first page",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_garbage_is_named() {
        assert_eq!(page_offset("").ok(), Some(0));
        assert_eq!(page_offset(&page_token(250)).ok(), Some(250));
        let e = page_offset("abc").err().map(|e| e.to_string());
        assert!(e.is_some_and(|m| m.contains("page_token")));
    }

    #[test]
    fn unknown_filter_value_names_field_and_known_values() {
        let known = FilterValues {
            segments: vec!["consumer".into(), "enterprise".into()],
            ..FilterValues::default()
        };
        let f = pb::Filter {
            segments: vec!["retail".into()],
            ..Default::default()
        };
        let msg = query(Some(&f), &known).err().map(|e| e.to_string());
        assert_eq!(
            msg.as_deref(),
            Some("`filter.segments`: unknown value `retail`; known: consumer, enterprise (GetSegments lists them all)")
        );
        let ok = pb::Filter {
            segments: vec!["enterprise".into()],
            min_churn_probability: Some(0.5),
            ..Default::default()
        };
        let q = query(Some(&ok), &known).ok();
        assert_eq!(q.map(|q| q.segments), Some(vec!["enterprise".to_string()]));
    }
}
