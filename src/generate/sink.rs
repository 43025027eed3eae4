//! Streamed table files: each is written chunk by chunk (polars' batched Parquet / CSV writers)
//! into its temporary sibling (`crate::output::temp_path`), then flushed, fsynced and renamed
//! into place by [`Sink::commit`]. A sink dropped without commit removes its temporary file,
//! so a failed run leaves no partial table behind.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use polars::io::csv::write::BatchedWriter as CsvBatched;
use polars::io::parquet::write::BatchedWriter as ParquetBatched;
use polars::prelude::{CsvWriter, DataFrame, ParquetWriter, PlSmallStr, Schema, SerWriter};

use super::GenerateError;
use crate::output::{sync_dir, temp_path, FileFormat};

/// The timestamp format of CSV exports: ISO 8601 UTC with a `Z`.
pub const CSV_TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// A file shared between a polars writer (which owns one handle) and the sink (which flushes
/// and fsyncs it once polars is done).
#[derive(Clone)]
struct SharedFile(Arc<Mutex<BufWriter<File>>>);

impl Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("file lock poisoned"))?
            .write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("file lock poisoned"))?
            .write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("file lock poisoned"))?
            .flush()
    }
}

enum Encoder {
    Parquet(Box<ParquetBatched<SharedFile>>),
    Csv(CsvBatched<SharedFile>),
}

/// One table being streamed to disk.
pub struct Sink {
    path: PathBuf,
    tmp: PathBuf,
    file: SharedFile,
    encoder: Option<Encoder>,
    rows: usize,
    committed: bool,
}

impl Sink {
    /// Creates the temporary file for `path` and a batched writer with `schema`.
    pub fn create(path: &Path, schema: &Schema, format: FileFormat) -> Result<Self, GenerateError> {
        let tmp = temp_path(path);
        let io_err = |source| GenerateError::Io {
            path: tmp.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|source| GenerateError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let file = File::create(&tmp).map_err(io_err)?;
        let file = SharedFile(Arc::new(Mutex::new(BufWriter::with_capacity(
            1 << 20,
            file,
        ))));
        let polars_err = |source| GenerateError::Write {
            path: path.to_path_buf(),
            source,
        };
        let encoder = match format {
            FileFormat::Parquet => Encoder::Parquet(Box::new(
                ParquetWriter::new(file.clone())
                    .batched(schema)
                    .map_err(polars_err)?,
            )),
            FileFormat::Csv => Encoder::Csv(
                CsvWriter::new(file.clone())
                    .include_header(true)
                    .with_datetime_format(Some(PlSmallStr::from_static(CSV_TIMESTAMP_FORMAT)))
                    .with_float_scientific(Some(false))
                    .batched(schema)
                    .map_err(polars_err)?,
            ),
        };
        Ok(Sink {
            path: path.to_path_buf(),
            tmp,
            file,
            encoder: Some(encoder),
            rows: 0,
            committed: false,
        })
    }

    /// Appends a frame (one chunk per column) to the file.
    pub fn write(&mut self, df: &DataFrame) -> Result<(), GenerateError> {
        if df.height() == 0 {
            return Ok(());
        }
        let result = match self.encoder.as_mut() {
            Some(Encoder::Parquet(w)) => w.write_batch(df),
            Some(Encoder::Csv(w)) => w.write_batch(df),
            None => Ok(()),
        };
        result.map_err(|source| GenerateError::Write {
            path: self.path.clone(),
            source,
        })?;
        self.rows += df.height();
        Ok(())
    }

    /// Finishes the file (footer / header), flushes, fsyncs and renames it into place.
    pub fn commit(mut self) -> Result<usize, GenerateError> {
        let finished = match self.encoder.take() {
            Some(Encoder::Parquet(w)) => w.finish().map(|_| ()),
            Some(Encoder::Csv(mut w)) => w.finish(),
            None => Ok(()),
        };
        finished.map_err(|source| GenerateError::Write {
            path: self.path.clone(),
            source,
        })?;
        let io_err = |source| GenerateError::Io {
            path: self.tmp.clone(),
            source,
        };
        {
            let mut guard = self
                .file
                .0
                .lock()
                .map_err(|_| io_err(io::Error::other("file lock poisoned")))?;
            guard.flush().map_err(io_err)?;
            guard.get_ref().sync_all().map_err(io_err)?;
        }
        fs::rename(&self.tmp, &self.path).map_err(|source| GenerateError::Io {
            path: self.path.clone(),
            source,
        })?;
        sync_dir(&self.path);
        self.committed = true;
        Ok(self.rows)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if !self.committed {
            self.encoder = None;
            let _ = fs::remove_file(&self.tmp);
        }
    }
}
