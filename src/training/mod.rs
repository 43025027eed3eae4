//! Training stage: fits churn models on `churn_prediction_features` (or any flat table),
//! calibrates and evaluates them. `gbdt` is the project's own histogram gradient boosting.

pub mod gbdt;
