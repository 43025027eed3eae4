//! Writing outputs so that a crash never leaves a half-written file: every file is written to a
//! temporary sibling, fsynced, then renamed over its final name (and the directory fsynced).
//! Frames are written as CSV or Parquet; run summaries as pretty JSON.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use polars::prelude::{CsvWriter, DataFrame, ParquetWriter, SerWriter};
use serde::Serialize;

/// A file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Polars {
        path: PathBuf,
        #[source]
        source: polars::prelude::PolarsError,
    },
    #[error("cannot write {path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// File format of a written table, chosen by the file extension (`.csv` or anything else →
/// Parquet) or explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    Csv,
    Parquet,
}

impl FileFormat {
    /// `csv` for a `.csv` path, otherwise Parquet.
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => FileFormat::Csv,
            _ => FileFormat::Parquet,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Parquet => "parquet",
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The temporary sibling a file is written to before it is renamed into place.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `path` atomically: `write` fills a buffered temporary file, which is flushed, fsynced
/// and renamed over `path`; the parent directory is fsynced so the rename survives a crash.
/// On any error the temporary file is removed and `path` is left as it was.
pub fn write_atomic<F>(path: &Path, write: F) -> Result<(), OutputError>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<(), OutputError>,
{
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    let tmp = temp_path(path);
    let result = (|| {
        let file = File::create(&tmp).map_err(io_err(&tmp))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        write(&mut w)?;
        w.flush().map_err(io_err(&tmp))?;
        let file = w.into_inner().map_err(|e| OutputError::Io {
            path: tmp.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(io_err(&tmp))?;
        fs::rename(&tmp, path).map_err(io_err(path))?;
        sync_dir(path);
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Fsyncs the directory holding `path` (best effort: not every filesystem allows it).
pub fn sync_dir(path: &Path) {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(d) = File::open(parent) {
            let _ = d.sync_all();
        }
    }
}

/// Writes a frame atomically as CSV (header, comma, ISO dates) or Parquet (zstd).
pub fn write_frame(df: &mut DataFrame, path: &Path, format: FileFormat) -> Result<(), OutputError> {
    let polars_err = |source| OutputError::Polars {
        path: path.to_path_buf(),
        source,
    };
    write_atomic(path, |w| match format {
        FileFormat::Csv => CsvWriter::new(w)
            .include_header(true)
            .finish(df)
            .map_err(polars_err),
        FileFormat::Parquet => ParquetWriter::new(w)
            .finish(df)
            .map(|_| ())
            .map_err(polars_err),
    })
}

/// Writes `value` atomically as pretty-printed JSON.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<(), OutputError> {
    write_atomic(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value).map_err(|source| OutputError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        w.write_all(b"\n").map_err(io_err(path))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_no_file_and_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.json");
        let r = write_atomic(&path, |w| {
            w.write_all(b"half").map_err(io_err(Path::new("x")))?;
            Err(OutputError::Io {
                path: PathBuf::from("x"),
                source: std::io::Error::other("simulated crash"),
            })
        });
        assert!(r.is_err());
        assert!(!path.exists());
        assert_eq!(fs::read_dir(dir.path()).expect("read_dir").count(), 0);
    }

    #[test]
    fn write_replaces_existing_file_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.json");
        write_json(&path, &serde_json::json!({"a": 1})).expect("first");
        write_json(&path, &serde_json::json!({"b": 2})).expect("second");
        let v: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).expect("read")).expect("json");
        assert_eq!(v, serde_json::json!({"b": 2}));
    }
}
