//! A cheap fingerprint of a warehouse export directory, so a server can tell whether a saved
//! snapshot was built from the data it would load: SHA-256 over each table file's name, size
//! and modification time (nanoseconds). Rewriting or touching a table changes it; reading the
//! data (gigabytes at 1M customers) is not needed.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::ScoringError;
use crate::warehouse::Table;

/// The fingerprint of the seven tables in `dir` (`<stem>.parquet` and `<stem>.csv`, whichever
/// exist), as lower-case hex.
pub fn data_fingerprint(dir: &Path) -> Result<String, ScoringError> {
    let mut h = Sha256::new();
    for table in Table::ALL {
        for ext in ["parquet", "csv"] {
            let name = format!("{}.{ext}", table.file_stem());
            let path = dir.join(&name);
            let meta = match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(ScoringError::Read { path, source }),
            };
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            h.update(name.as_bytes());
            h.update(meta.len().to_le_bytes());
            h.update(modified.to_le_bytes());
        }
    }
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_changes_when_a_table_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = data_fingerprint(dir.path()).expect("fp");
        std::fs::write(dir.path().join("dim_customer.csv"), "customer_id\nC1\n").expect("write");
        let one = data_fingerprint(dir.path()).expect("fp");
        assert_ne!(empty, one);
        assert_eq!(one, data_fingerprint(dir.path()).expect("fp"));
        std::fs::write(dir.path().join("dim_customer.csv"), "customer_id\nC1\nC2\n")
            .expect("write");
        assert_ne!(one, data_fingerprint(dir.path()).expect("fp"));
        // Files that are not tables do not count.
        let before = data_fingerprint(dir.path()).expect("fp");
        std::fs::write(dir.path().join("notes.txt"), "x").expect("write");
        assert_eq!(before, data_fingerprint(dir.path()).expect("fp"));
    }
}
