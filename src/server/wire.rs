//! Protobuf encoding of the two hot answers, written straight from the snapshot's
//! [`CustomerScore`] into bytes: `ScoreCustomerResponse` and `ScoreCustomersResponse`.
//!
//! Building the prost structs first ([`crate::server::convert::score`]) clones about twenty
//! strings per customer and frees them again after encoding; on a 700k-customer stream that
//! malloc/free traffic was most of the server's CPU. Here each field is written once, with the
//! exact bytes prost would write (proto3: a scalar equal to its default — `0.0`, `""`, enum 0 —
//! is left out; `optional` fields are written whenever set; fields in number order). The tests
//! check byte-for-byte equality with prost's encoding of the converted message, and every
//! struct is destructured without `..`, so a field added to the scoring types stops the build
//! here until it is encoded too.

use crate::scoring::{CustomerScore, ProductSuggestion, ScoreReason};
use crate::server::convert;

const VARINT: u32 = 0;
const FIXED64: u32 = 1;
const LEN: u32 = 2;

fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_key(out: &mut Vec<u8>, field: u32, wire: u32) {
    put_varint(out, u64::from((field << 3) | wire));
}

fn key_len(field: u32) -> usize {
    varint_len(u64::from(field << 3))
}

/// Bytes of a length-delimited field (key + length + body) with a body of `n` bytes.
fn len_field(field: u32, n: usize) -> usize {
    key_len(field) + varint_len(n as u64) + n
}

/// A `string` field (left out when empty, as proto3 does).
fn string_len(field: u32, s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        len_field(field, s.len())
    }
}

fn put_string(out: &mut Vec<u8>, field: u32, s: &str) {
    if !s.is_empty() {
        put_opt_string(out, field, s);
    }
}

/// An `optional string` (or any present string): always written.
fn put_opt_string(out: &mut Vec<u8>, field: u32, s: &str) {
    put_key(out, field, LEN);
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// A `double` field (left out when `== 0.0`, as prost does).
fn double_len(field: u32, x: f64) -> usize {
    if x != 0.0 {
        key_len(field) + 8
    } else {
        0
    }
}

fn put_double(out: &mut Vec<u8>, field: u32, x: f64) {
    if x != 0.0 {
        put_opt_double(out, field, x);
    }
}

fn put_opt_double(out: &mut Vec<u8>, field: u32, x: f64) {
    put_key(out, field, FIXED64);
    out.extend_from_slice(&x.to_le_bytes());
}

fn opt_double_len(field: u32, x: Option<f64>) -> usize {
    x.map_or(0, |_| key_len(field) + 8)
}

/// An enum field (left out when 0). Negative values are sign-extended, as prost does.
fn enum_len(field: u32, v: i32) -> usize {
    if v != 0 {
        key_len(field) + varint_len(i64::from(v) as u64)
    } else {
        0
    }
}

fn put_enum(out: &mut Vec<u8>, field: u32, v: i32) {
    if v != 0 {
        put_key(out, field, VARINT);
        put_varint(out, i64::from(v) as u64);
    }
}

fn reason_len(r: &ScoreReason) -> usize {
    let ScoreReason {
        feature,
        value,
        contribution,
    } = r;
    string_len(1, feature) + opt_double_len(2, *value) + double_len(3, *contribution)
}

fn put_reason(out: &mut Vec<u8>, r: &ScoreReason) {
    let ScoreReason {
        feature,
        value,
        contribution,
    } = r;
    put_string(out, 1, feature);
    if let Some(v) = value {
        put_opt_double(out, 2, *v);
    }
    put_double(out, 3, *contribution);
}

fn suggestion_len(p: &ProductSuggestion) -> usize {
    let ProductSuggestion {
        product_id,
        product_name,
        category,
        kind,
        expected_gain,
        adoption_probability,
        monthly_saving,
        rationale,
    } = p;
    string_len(1, product_id)
        + string_len(2, product_name)
        + string_len(3, category)
        + enum_len(4, convert::suggestion_kind(*kind) as i32)
        + double_len(5, *expected_gain)
        + double_len(6, *adoption_probability)
        + opt_double_len(7, *monthly_saving)
        + string_len(8, rationale)
}

fn put_suggestion(out: &mut Vec<u8>, p: &ProductSuggestion) {
    let ProductSuggestion {
        product_id,
        product_name,
        category,
        kind,
        expected_gain,
        adoption_probability,
        monthly_saving,
        rationale,
    } = p;
    put_string(out, 1, product_id);
    put_string(out, 2, product_name);
    put_string(out, 3, category);
    put_enum(out, 4, convert::suggestion_kind(*kind) as i32);
    put_double(out, 5, *expected_gain);
    put_double(out, 6, *adoption_probability);
    if let Some(x) = monthly_saving {
        put_opt_double(out, 7, *x);
    }
    put_string(out, 8, rationale);
}

/// Encoded length of `pb::CustomerScore` for `s` (without its own key and length).
pub fn score_len(s: &CustomerScore) -> usize {
    let CustomerScore {
        customer_id,
        segment,
        region,
        account_manager_id,
        tier,
        churn_probability,
        risk_band,
        reasons,
        clv,
        value_at_risk,
        expected_uplift,
        next_best_products,
        action,
    } = s;
    string_len(1, customer_id)
        + string_len(2, segment)
        + string_len(3, region)
        + account_manager_id
            .as_ref()
            .map_or(0, |m| len_field(4, m.len()))
        + string_len(5, tier)
        + double_len(6, *churn_probability)
        + enum_len(7, convert::risk_band(*risk_band) as i32)
        + reasons
            .iter()
            .map(|r| len_field(8, reason_len(r)))
            .sum::<usize>()
        + double_len(9, *clv)
        + double_len(10, *value_at_risk)
        + opt_double_len(11, *expected_uplift)
        + next_best_products
            .iter()
            .map(|p| len_field(12, suggestion_len(p)))
            .sum::<usize>()
        + string_len(13, action)
}

/// Appends the body of `pb::CustomerScore` for `s` (the bytes prost writes for
/// `convert::score(s)`).
pub fn put_score(out: &mut Vec<u8>, s: &CustomerScore) {
    let CustomerScore {
        customer_id,
        segment,
        region,
        account_manager_id,
        tier,
        churn_probability,
        risk_band,
        reasons,
        clv,
        value_at_risk,
        expected_uplift,
        next_best_products,
        action,
    } = s;
    put_string(out, 1, customer_id);
    put_string(out, 2, segment);
    put_string(out, 3, region);
    if let Some(m) = account_manager_id {
        put_opt_string(out, 4, m);
    }
    put_string(out, 5, tier);
    put_double(out, 6, *churn_probability);
    put_enum(out, 7, convert::risk_band(*risk_band) as i32);
    for r in reasons {
        put_key(out, 8, LEN);
        put_varint(out, reason_len(r) as u64);
        put_reason(out, r);
    }
    put_double(out, 9, *clv);
    put_double(out, 10, *value_at_risk);
    if let Some(u) = expected_uplift {
        put_opt_double(out, 11, *u);
    }
    for p in next_best_products {
        put_key(out, 12, LEN);
        put_varint(out, suggestion_len(p) as u64);
        put_suggestion(out, p);
    }
    put_string(out, 13, action);
}

/// The fields every answer starts with: `request_id = 1`, `model_version = 2`,
/// `as_of_date = 3` (ScoreCustomerResponse and ScoreCustomersResponse share them).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Header<'a> {
    pub request_id: &'a str,
    pub model_version: &'a str,
    pub as_of_date: &'a str,
}

impl Header<'_> {
    fn len(&self) -> usize {
        string_len(1, self.request_id)
            + string_len(2, self.model_version)
            + string_len(3, self.as_of_date)
    }

    fn put(&self, out: &mut Vec<u8>) {
        put_string(out, 1, self.request_id);
        put_string(out, 2, self.model_version);
        put_string(out, 3, self.as_of_date);
    }
}

/// Appends `s` as field 4 (`score` of ScoreCustomerResponse, an element of `scores` of
/// ScoreCustomersResponse: the same bytes).
fn put_score_field(out: &mut Vec<u8>, s: &CustomerScore) {
    put_key(out, 4, LEN);
    put_varint(out, score_len(s) as u64);
    put_score(out, s);
}

/// An encoded `ScoreCustomerResponse`.
pub fn score_customer_response(h: &Header, s: &CustomerScore) -> Vec<u8> {
    let mut out = Vec::with_capacity(h.len() + len_field(4, score_len(s)));
    h.put(&mut out);
    put_score_field(&mut out, s);
    out
}

/// An encoded `ScoreCustomersResponse` holding `scores` in order.
pub fn score_customers_response<'a>(
    h: &Header,
    scores: impl IntoIterator<Item = &'a CustomerScore>,
) -> Vec<u8> {
    let scores = scores.into_iter();
    // About 750 bytes a customer; the Vec grows if they are bigger.
    let mut out = Vec::with_capacity(h.len() + scores.size_hint().0 * 768);
    h.put(&mut out);
    for s in scores {
        put_score_field(&mut out, s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{RiskBand, SuggestionKind};
    use crate::server::pb;
    use prost::Message;

    fn full() -> CustomerScore {
        CustomerScore {
            customer_id: "C0001373".into(),
            segment: "enterprise".into(),
            region: "highlands".into(),
            account_manager_id: Some("AM0006".into()),
            tier: "silver".into(),
            churn_probability: 0.224,
            risk_band: RiskBand::Critical,
            reasons: vec![
                ScoreReason {
                    feature: "dropped_calls_90d".into(),
                    value: Some(12.5),
                    contribution: 0.42,
                },
                ScoreReason {
                    feature: "tenure_months".into(),
                    value: None,
                    contribution: -0.1,
                },
            ],
            clv: 1352.01,
            value_at_risk: 302.9,
            expected_uplift: Some(0.0),
            next_best_products: vec![
                ProductSuggestion {
                    product_id: "P0012".into(),
                    product_name: "Mobile 15 GB".into(),
                    category: "mobile".into(),
                    kind: SuggestionKind::RightSize,
                    expected_gain: 18.2,
                    adoption_probability: 0.0,
                    monthly_saving: Some(4.5),
                    // Longer than 127 bytes: a two-byte length.
                    rationale: "é".repeat(100),
                },
                ProductSuggestion {
                    product_id: "P0001".into(),
                    product_name: String::new(),
                    category: "cloud".into(),
                    kind: SuggestionKind::Adoption,
                    expected_gain: -0.0,
                    adoption_probability: f64::NAN,
                    monthly_saving: None,
                    rationale: String::new(),
                },
            ],
            action: "critical risk: call this week".into(),
        }
    }

    /// Everything at its default: prost writes nothing but the set `optional`s.
    fn empty() -> CustomerScore {
        CustomerScore {
            customer_id: String::new(),
            segment: String::new(),
            region: String::new(),
            account_manager_id: Some(String::new()),
            tier: String::new(),
            churn_probability: 0.0,
            risk_band: RiskBand::Low,
            reasons: vec![ScoreReason {
                feature: String::new(),
                value: None,
                contribution: 0.0,
            }],
            clv: 0.0,
            value_at_risk: 0.0,
            expected_uplift: None,
            next_best_products: Vec::new(),
            action: String::new(),
        }
    }

    #[test]
    fn a_score_is_encoded_exactly_as_prost_encodes_the_converted_message() {
        for s in [full(), empty()] {
            let mut mine = Vec::new();
            put_score(&mut mine, &s);
            let theirs = convert::score(&s).encode_to_vec();
            assert_eq!(mine, theirs);
            assert_eq!(score_len(&s), theirs.len());
        }
        // The empty score is 6 bytes: account_manager_id = "" (0x22 0x00), risk_band LOW = 1
        // (0x38 0x01; 0 is UNSPECIFIED on the wire) and one empty reason (0x42 0x00); every
        // other field is at its default and left out.
        let mut e = Vec::new();
        put_score(&mut e, &empty());
        assert_eq!(e, vec![0x22, 0x00, 0x38, 0x01, 0x42, 0x00]);
    }

    #[test]
    fn both_answers_match_prost_and_decode_back() {
        let h = Header {
            request_id: "req-7",
            model_version: "v0002",
            as_of_date: "2024-12-31",
        };
        let one = score_customer_response(&h, &full());
        let expected = pb::ScoreCustomerResponse {
            request_id: "req-7".into(),
            model_version: "v0002".into(),
            as_of_date: "2024-12-31".into(),
            score: Some(convert::score(&full())),
        };
        assert_eq!(one, expected.encode_to_vec());

        let scores = [full(), empty(), full()];
        let many = score_customers_response(&Header::default(), &scores);
        let expected = pb::ScoreCustomersResponse {
            scores: scores.iter().map(convert::score).collect(),
            ..Default::default()
        };
        assert_eq!(many, expected.encode_to_vec());
        let back = pb::ScoreCustomersResponse::decode(many.as_slice()).expect("decodes");
        assert_eq!(back.scores.len(), 3);
        assert_eq!(back.scores[2].customer_id, "C0001373");
        assert_eq!(
            back.scores[2].next_best_products[0].monthly_saving,
            Some(4.5)
        );
    }
}
