//! What a version directory records about its model (the manifest), and the version ids
//! (`v0007-20261123T041500Z`: a sequence number and the UTC registration time).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::RegistryError;

/// The manifest's file name inside a version directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The artifact's file name when the caller does not choose one.
pub const DEFAULT_ARTIFACT_FILE: &str = "model.json";
/// The manifest layout written by this code; bumped when fields change meaning.
pub const MANIFEST_FORMAT: u32 = 1;

/// What the caller knows about a model it registers; the registry adds the rest (version,
/// checksum, size, time, crate version) to make the [`Manifest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewManifest {
    /// e.g. `gbdt`, `logistic`.
    pub algorithm: String,
    /// The hyperparameters the model was trained with, as the trainer serialises them.
    pub hyperparameters: serde_json::Value,
    /// The feature columns the model reads, in the order it reads them.
    pub features: Vec<String>,
    /// Hash of the feature catalog the features were built from.
    pub feature_catalog_hash: String,
    /// The as-of dates of the training snapshots.
    pub training_as_of: Vec<NaiveDate>,
    /// Fingerprint of the training data (e.g. a hash of the input files or rows).
    pub data_fingerprint: String,
    /// Evaluation metrics, as the evaluator serialises them.
    pub metrics: serde_json::Value,
    /// File name of the artifact inside the version directory; defaults to `model.json`.
    /// A plain file name: no path separator, not hidden, not `manifest.json`.
    pub artifact_file: String,
}

impl NewManifest {
    /// A manifest for `algorithm` with empty fields and the default artifact file name
    /// (`model.json`); fill the public fields before registering.
    pub fn new(algorithm: impl Into<String>) -> Self {
        NewManifest {
            algorithm: algorithm.into(),
            hyperparameters: serde_json::Value::Object(Default::default()),
            features: Vec::new(),
            feature_catalog_hash: String::new(),
            training_as_of: Vec::new(),
            data_fingerprint: String::new(),
            metrics: serde_json::Value::Object(Default::default()),
            artifact_file: DEFAULT_ARTIFACT_FILE.to_string(),
        }
    }
}

/// The manifest of a registered version (`<dir>/<version>/manifest.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout of this manifest ([`MANIFEST_FORMAT`]).
    pub format: u32,
    /// The version id, also the directory name, e.g. `v0007-20261123T041500Z`.
    pub version: String,
    /// The sequence number in the version id (7 above).
    pub sequence: u32,
    /// When the version was registered (UTC).
    pub created_at: DateTime<Utc>,
    /// The version of this crate that registered it.
    pub crate_version: String,
    pub algorithm: String,
    pub hyperparameters: serde_json::Value,
    pub features: Vec<String>,
    pub feature_catalog_hash: String,
    pub training_as_of: Vec<NaiveDate>,
    pub data_fingerprint: String,
    pub metrics: serde_json::Value,
    /// File name of the artifact in the version directory.
    pub artifact_file: String,
    /// Size of the artifact in bytes.
    pub artifact_size: u64,
    /// Lower-case hex SHA-256 of the artifact, verified on every load.
    pub artifact_sha256: String,
}

impl Manifest {
    /// The manifest of `new` registered as `sequence` at `created_at`, for an artifact of
    /// `artifact_size` bytes with hex SHA-256 `artifact_sha256`.
    pub(crate) fn build(
        new: NewManifest,
        sequence: u32,
        created_at: DateTime<Utc>,
        artifact_size: u64,
        artifact_sha256: String,
    ) -> Self {
        Manifest {
            format: MANIFEST_FORMAT,
            version: version_id(sequence, created_at),
            sequence,
            created_at,
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            algorithm: new.algorithm,
            hyperparameters: new.hyperparameters,
            features: new.features,
            feature_catalog_hash: new.feature_catalog_hash,
            training_as_of: new.training_as_of,
            data_fingerprint: new.data_fingerprint,
            metrics: new.metrics,
            artifact_file: new.artifact_file,
            artifact_size,
            artifact_sha256,
        }
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

const STAMP_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// `v0007-20261123T041500Z` for sequence 7 registered at 2026-11-23 04:15:00 UTC.
pub fn version_id(sequence: u32, at: DateTime<Utc>) -> String {
    format!("v{sequence:04}-{}", at.format(STAMP_FORMAT))
}

/// The sequence number of a version id, or `None` when `name` is not one (staging dirs,
/// stray files, anything a person put there).
pub fn parse_version_id(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('v')?;
    let (seq, stamp) = rest.split_once('-')?;
    if seq.len() < 4 || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDateTime::parse_from_str(stamp, STAMP_FORMAT).ok()?;
    if stamp.len() != 16 {
        return None;
    }
    seq.parse().ok()
}

/// Checks that an artifact file name is a plain, visible file name other than the manifest's.
pub fn validate_artifact_file(name: &str) -> Result<(), RegistryError> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.contains(['/', '\\', '\0']) {
        Some("it must be a plain file name without a path separator")
    } else if name.starts_with('.') {
        Some("it must not start with `.` (hidden names are reserved for staging files)")
    } else if name == MANIFEST_FILE {
        Some("`manifest.json` is the manifest's own file")
    } else if name.len() > 200 {
        Some("it is longer than 200 bytes")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(RegistryError::InvalidName {
            kind: "artifact file",
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn version_ids_format_and_parse_back() {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 23, 4, 15, 0)
            .single()
            .expect("valid time");
        assert_eq!(version_id(7, at), "v0007-20261123T041500Z");
        assert_eq!(parse_version_id("v0007-20261123T041500Z"), Some(7));
        assert_eq!(parse_version_id("v12345-20261123T041500Z"), Some(12345));
        assert_eq!(version_id(12345, at), "v12345-20261123T041500Z");
    }

    #[test]
    fn non_version_names_are_not_versions() {
        for name in [
            ".staging-12-34",
            "v7",
            "v007-20261123T041500Z",
            "v0007-20261123T041500",
            "v0007-20261323T041500Z",
            "v0007-20261123T041500Zx",
            "champion",
            "history.jsonl",
        ] {
            assert_eq!(parse_version_id(name), None, "{name}");
        }
    }

    #[test]
    fn artifact_file_names_are_checked() {
        assert!(validate_artifact_file("model.json").is_ok());
        assert!(validate_artifact_file("forest.bin").is_ok());
        for bad in ["", "../x", "a/b", ".hidden", "manifest.json"] {
            assert!(validate_artifact_file(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn manifest_records_size_and_sha256() {
        let at = Utc
            .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
            .single()
            .expect("valid time");
        let m = Manifest::build(NewManifest::new("gbdt"), 1, at, 3, sha256_hex(b"abc"));
        assert_eq!(m.version, "v0001-20260102T030405Z");
        assert_eq!(m.artifact_size, 3);
        // SHA-256("abc") from FIPS 180-2, appendix B.1.
        assert_eq!(
            m.artifact_sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(m.artifact_file, "model.json");
    }
}
