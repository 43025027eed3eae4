//! The data a scoring snapshot holds: one [`CustomerScore`] per active customer, plus what
//! every answer must carry (model version, features' as-of date). Shared by the CLI
//! (`churn prioritize`) and the gRPC server, which only reads these types.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One reason a customer's risk is high: a feature, the customer's value of it, and how much
/// it pushes the risk up (log-odds or probability scale, see the model's contribution scale).
/// The model's own [`crate::training::models::Reason`], so a million customers' reasons move
/// into the snapshot without a copy.
pub type ScoreReason = crate::training::models::Reason;

/// What kind of suggestion a [`ProductSuggestion`] is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionKind {
    /// A product the customer does not hold and may buy (cross-sell / up-sell).
    Adoption,
    /// A plan whose allowance fits a customer paying overage: the customer pays less and stays.
    RightSize,
    /// An offer that campaign history shows lowers churn for customers like this one.
    Retention,
}

/// A next-best-product suggestion.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ProductSuggestion {
    pub product_id: String,
    pub product_name: String,
    pub category: String,
    pub kind: SuggestionKind,
    /// Expected monthly margin gain (adoption probability × margin, plus retention value).
    pub expected_gain: f64,
    /// Probability the customer adopts it (0 when not estimated, e.g. right-sizing).
    pub adoption_probability: f64,
    /// Monthly saving for the customer (right-sizing only).
    pub monthly_saving: Option<f64>,
    /// One line a human can read.
    pub rationale: String,
}

/// Risk band from the calibrated probability.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum RiskBand {
    Low,
    Medium,
    High,
    Critical,
}

/// Everything known about one active customer at the snapshot's as-of date.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CustomerScore {
    pub customer_id: String,
    pub segment: String,
    pub region: String,
    /// Account manager (business customers); `None` for consumers.
    pub account_manager_id: Option<String>,
    pub tier: String,
    /// Calibrated probability of churning within 90 days.
    pub churn_probability: f64,
    pub risk_band: RiskBand,
    pub reasons: Vec<ScoreReason>,
    /// Expected discounted margin over the CLV horizon.
    pub clv: f64,
    /// churn_probability × clv.
    pub value_at_risk: f64,
    /// Expected churn reduction from a retention offer (uplift model), when estimated.
    pub expected_uplift: Option<f64>,
    pub next_best_products: Vec<ProductSuggestion>,
    /// One-line suggested action for the account manager / campaign.
    pub action: String,
}

/// The model a snapshot was scored with.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ModelInfo {
    pub version: String,
    pub algorithm: String,
    pub training_as_of: Vec<NaiveDate>,
    pub features: Vec<String>,
    pub metrics: serde_json::Value,
    pub created_at: String,
}

impl RiskBand {
    /// `low`, `medium`, `high` or `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskBand::Low => "low",
            RiskBand::Medium => "medium",
            RiskBand::High => "high",
            RiskBand::Critical => "critical",
        }
    }

    /// The band named by [`RiskBand::as_str`].
    pub fn parse(s: &str) -> Option<RiskBand> {
        [
            RiskBand::Low,
            RiskBand::Medium,
            RiskBand::High,
            RiskBand::Critical,
        ]
        .into_iter()
        .find(|b| b.as_str() == s)
    }
}

impl SuggestionKind {
    /// `adoption`, `right_size` or `retention`.
    pub fn as_str(self) -> &'static str {
        match self {
            SuggestionKind::Adoption => "adoption",
            SuggestionKind::RightSize => "right_size",
            SuggestionKind::Retention => "retention",
        }
    }

    /// The kind named by [`SuggestionKind::as_str`].
    pub fn parse(s: &str) -> Option<SuggestionKind> {
        [
            SuggestionKind::Adoption,
            SuggestionKind::RightSize,
            SuggestionKind::Retention,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One value of a customer_360_view or segmentation row.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum FieldValue {
    Null,
    Bool(bool),
    Int(i64),
    Number(f64),
    Date(NaiveDate),
    Text(String),
}

/// A named value of a row (column name + value), in table column order.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub value: FieldValue,
}

/// One row of customer_360_view (GetCustomer360) or of customer_segmentation_analysis
/// (GetSegments): its fields in table column order.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Record {
    pub fields: Vec<Field>,
}

impl Record {
    /// The value of the field `name`, if the row has it.
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| &f.value)
    }
}

/// Which components a snapshot holds (a component missing from the build is left empty, never
/// faked: `clv`/`value_at_risk` 0 with `clv: false`, no suggestions, no uplift).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Components {
    /// `CustomerScore::clv` and `value_at_risk` are computed.
    pub clv: bool,
    /// `CustomerScore::next_best_products` are computed.
    pub suggestions: bool,
    /// `CustomerScore::expected_uplift` is computed.
    pub uplift: bool,
}
