//! Training stage: fits churn models on `churn_prediction_features` (or any flat table),
//! calibrates and evaluates them. `gbdt` is the project's own histogram gradient boosting;
//! `evaluate` the metrics, `calibrate` Platt/isotonic calibration, `report` the HTML report.

pub mod calibrate;
pub mod dataset;
pub mod drift;
pub mod encode;
pub mod evaluate;
pub mod gbdt;
pub mod models;
pub mod pipeline;
pub mod report;
pub mod retrain;
