//! What-if scoring (ScoreFeatures): caller-supplied values of the champion's input columns →
//! a one-row table → the model's own encoder, calibrated probability and reasons. The encoder is
//! the one used in training and in the snapshot, so what-if and batch scores cannot drift apart.

use std::collections::HashMap;

use polars::prelude::{Column, DataFrame, DataType};

use crate::server::error::ApiError;
use crate::server::pb::{self, feature_value::Value};
use crate::training::models::{ChurnModel, ModelError, Reason};

/// At most this many names are listed in one error message.
const NAMES_SHOWN: usize = 20;

fn list(names: &[&str]) -> String {
    let more = if names.len() > NAMES_SHOWN {
        format!(" and {} more", names.len() - NAMES_SHOWN)
    } else {
        String::new()
    };
    let shown: Vec<&str> = names.iter().take(NAMES_SHOWN).copied().collect();
    format!("{}{more}", shown.join(", "))
}

/// The one-row table of `features`: exactly the model's input columns, each value finite.
pub fn feature_row(
    model: &ChurnModel,
    features: &HashMap<String, pb::FeatureValue>,
) -> Result<DataFrame, ApiError> {
    let inputs = model.encoder().input_columns();
    let mut unknown: Vec<&str> = features
        .keys()
        .filter(|k| !inputs.iter().any(|c| c == *k))
        .map(String::as_str)
        .collect();
    unknown.sort_unstable();
    if !unknown.is_empty() {
        return Err(ApiError::invalid(
            "features",
            format!(
                "unknown feature(s): {} (GetModelInfo.features lists the {} the model takes)",
                list(&unknown),
                inputs.len()
            ),
        ));
    }
    let missing: Vec<&str> = inputs
        .iter()
        .filter(|c| !features.contains_key(*c))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::invalid(
            "features",
            format!(
                "missing feature(s): {} (send an unset FeatureValue for a missing value)",
                list(&missing)
            ),
        ));
    }
    let mut columns = Vec::with_capacity(inputs.len());
    for name in &inputs {
        let value = features.get(name).and_then(|f| f.value.as_ref());
        let col = match value {
            None => Column::full_null(name.as_str().into(), 1, &DataType::Float64),
            Some(Value::Number(x)) => {
                if !x.is_finite() {
                    return Err(ApiError::invalid(
                        format!("features[{name}]"),
                        format!("{x} is not a finite number (leave the value unset for missing)"),
                    ));
                }
                Column::new(name.as_str().into(), [*x])
            }
            Some(Value::Text(t)) => Column::new(name.as_str().into(), [t.as_str()]),
            Some(Value::Flag(b)) => Column::new(name.as_str().into(), [*b]),
        };
        columns.push(col);
    }
    DataFrame::new(1, columns).map_err(|e| ApiError::Internal(format!("what-if row: {e}")))
}

/// Probability and top reasons of one row of features.
pub fn score_features(
    model: &ChurnModel,
    features: &HashMap<String, pb::FeatureValue>,
    top_k: usize,
) -> Result<(f64, Vec<Reason>), ApiError> {
    let df = feature_row(model, features)?;
    let x = model.encoder().transform(&df).map_err(model_error)?;
    let p = model
        .predict_proba(&x)
        .map_err(model_error)?
        .first()
        .copied()
        .ok_or_else(|| ApiError::Internal("the model returned no probability".into()))?;
    let reasons = model
        .explain(&x, top_k)
        .map_err(model_error)?
        .into_iter()
        .next()
        .unwrap_or_default();
    Ok((p, reasons))
}

/// A value of the wrong type for its column names the column; anything else is internal.
fn model_error(e: ModelError) -> ApiError {
    match e {
        ModelError::WrongType {
            column,
            expected,
            found,
        } => ApiError::invalid(
            format!("features[{column}]"),
            format!("expected {expected}, got {found}"),
        ),
        ModelError::BadValue { column, value, .. } => ApiError::invalid(
            format!("features[{column}]"),
            format!("`{value}` is not a number"),
        ),
        ModelError::MissingColumn { column } => {
            ApiError::invalid("features", format!("missing feature(s): {column}"))
        }
        other => ApiError::Internal(other.to_string()),
    }
}
