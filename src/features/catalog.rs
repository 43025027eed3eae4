//! The feature catalog: `features/catalog.toml`, embedded in the binary, describes every column
//! of churn_prediction_features (name, description, dtype, source tables, window, null handling,
//! role). `tests/catalog.rs` checks it against the table the code builds, so the two cannot drift.

use std::sync::OnceLock;

use polars::prelude::{DataType, Schema};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::columns::FEATURES;
use super::FeatureError;

/// The catalog file's text, exactly as committed.
pub const CATALOG_TOML: &str = include_str!("../../features/catalog.toml");

/// What a column is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Identifies the row (`customer_id`, `as_of_date`).
    Key,
    /// A model input.
    Feature,
    /// The training target.
    Label,
}

/// One column of churn_prediction_features.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    pub name: String,
    pub description: String,
    /// The polars dtype as named by [`dtype_name`] (`f64`, `i32`, `date`, `str`, ...).
    pub dtype: String,
    pub source_tables: Vec<String>,
    /// The period of facts it reads, e.g. `as of D`, `90 days ending D`, `lifetime to D`.
    pub window: String,
    /// When the value is null (or what an absence of facts becomes).
    pub null_handling: String,
    pub role: Role,
}

/// The whole catalog, in table order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub column: Vec<CatalogEntry>,
}

impl Catalog {
    /// Parses a catalog text (the embedded one is [`catalog`]).
    pub fn parse(text: &str) -> Result<Catalog, FeatureError> {
        toml::from_str(text).map_err(|e| FeatureError::Catalog {
            message: e.to_string(),
        })
    }

    /// Names of the entries with `role`, in table order.
    pub fn names_with_role(&self, role: Role) -> Vec<&str> {
        self.column
            .iter()
            .filter(|c| c.role == role)
            .map(|c| c.name.as_str())
            .collect()
    }

    pub fn entry(&self, name: &str) -> Option<&CatalogEntry> {
        self.column.iter().find(|c| c.name == name)
    }

    /// Every way `schema` (a built churn_prediction_features) disagrees with the catalog:
    /// a column missing from either side, a different order, a different dtype. Empty when they
    /// agree.
    pub fn mismatches(&self, schema: &Schema) -> Vec<String> {
        let mut problems = Vec::new();
        let built: Vec<&str> = schema.iter_names().map(|n| n.as_str()).collect();
        let listed: Vec<&str> = self.column.iter().map(|c| c.name.as_str()).collect();
        for name in &listed {
            if !built.contains(name) {
                problems.push(format!(
                    "column `{name}` is in the catalog but not in the table"
                ));
            }
        }
        for name in &built {
            if !listed.contains(name) {
                problems.push(format!(
                    "column `{name}` is in the table but not in the catalog"
                ));
            }
        }
        if problems.is_empty() && built != listed {
            problems.push(format!(
                "column order differs: table {built:?}, catalog {listed:?}"
            ));
        }
        for entry in &self.column {
            if let Some(dtype) = schema.get(entry.name.as_str()) {
                let found = dtype_name(dtype);
                if found != entry.dtype {
                    problems.push(format!(
                        "column `{}`: catalog says dtype {}, table has {found}",
                        entry.name, entry.dtype
                    ));
                }
            }
        }
        problems
    }
}

/// The catalog's name of a polars dtype.
pub fn dtype_name(dtype: &DataType) -> String {
    match dtype {
        DataType::Float64 => "f64".into(),
        DataType::Float32 => "f32".into(),
        DataType::Int64 => "i64".into(),
        DataType::Int32 => "i32".into(),
        DataType::UInt32 => "u32".into(),
        DataType::Boolean => "bool".into(),
        DataType::String => "str".into(),
        DataType::Date => "date".into(),
        other => other.to_string(),
    }
}

static CATALOG: OnceLock<Result<Catalog, String>> = OnceLock::new();

/// The embedded catalog, parsed once.
pub fn catalog() -> Result<&'static Catalog, FeatureError> {
    CATALOG
        .get_or_init(|| toml::from_str::<Catalog>(CATALOG_TOML).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|message| FeatureError::Catalog {
            message: message.clone(),
        })
}

/// The model inputs of churn_prediction_features in table order (the catalog's `role = feature`
/// entries; `tests/catalog.rs` checks they are the same list).
pub fn feature_names() -> Vec<&'static str> {
    FEATURES.to_vec()
}

/// SHA-256 (hex) of the catalog text: a model records it to say which features it was trained on.
pub fn catalog_hash() -> String {
    hex::encode(Sha256::digest(CATALOG_TOML.as_bytes()))
}
