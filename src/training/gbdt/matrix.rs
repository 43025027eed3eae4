//! The input of fit and batch prediction: a borrowed column-major f64 feature matrix (NaN =
//! missing, ±inf are ordinary values) and, for fitting, labels in {0, 1} with optional weights.
//! Constructors check shapes and values so the trainer never meets a bad row.

use super::error::{DataSet, GbdtError};

/// Column-major feature matrix: `columns[f][row]`. Every column has the same length.
#[derive(Debug, Clone)]
pub struct Matrix<'a> {
    columns: Vec<&'a [f64]>,
    names: Vec<String>,
    n_rows: usize,
}

impl<'a> Matrix<'a> {
    /// A matrix over borrowed columns, named `f0`, `f1`, … (see [`Matrix::with_names`]).
    /// Errors if a column's length differs from column 0's.
    pub fn new(columns: Vec<&'a [f64]>) -> Result<Self, GbdtError> {
        let names = (0..columns.len()).map(|i| format!("f{i}")).collect();
        Self::build(columns, names)
    }

    /// Same as [`Matrix::new`] with one name per column (kept by the model for importance and
    /// explanations).
    pub fn with_names(columns: Vec<&'a [f64]>, names: Vec<String>) -> Result<Self, GbdtError> {
        if names.len() != columns.len() {
            return Err(GbdtError::FeatureNames {
                set: DataSet::Matrix,
                expected: columns.len(),
                found: names.len(),
            });
        }
        Self::build(columns, names)
    }

    fn build(columns: Vec<&'a [f64]>, names: Vec<String>) -> Result<Self, GbdtError> {
        let n_rows = columns.first().map_or(0, |c| c.len());
        for (i, c) in columns.iter().enumerate() {
            if c.len() != n_rows {
                return Err(GbdtError::ColumnLength {
                    set: DataSet::Matrix,
                    column: i,
                    name: names.get(i).cloned().unwrap_or_default(),
                    expected: n_rows,
                    found: c.len(),
                });
            }
        }
        Ok(Matrix {
            columns,
            names,
            n_rows,
        })
    }

    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    pub fn n_features(&self) -> usize {
        self.columns.len()
    }

    pub fn columns(&self) -> &[&'a [f64]] {
        &self.columns
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The values of row `r` in column order (`None` if there is no such row).
    pub fn row(&self, r: usize) -> Option<Vec<f64>> {
        (r < self.n_rows).then(|| self.columns.iter().map(|c| c[r]).collect())
    }
}

/// A matrix with its labels (0/1) and optional non-negative sample weights.
#[derive(Debug, Clone)]
pub struct Dataset<'a> {
    pub(crate) x: Matrix<'a>,
    pub(crate) y: &'a [f64],
    pub(crate) weights: Option<&'a [f64]>,
    set: DataSet,
}

impl<'a> Dataset<'a> {
    /// A training set. Checks that there is one label per row and that every label is 0 or 1.
    pub fn new(x: Matrix<'a>, y: &'a [f64]) -> Result<Self, GbdtError> {
        Self::checked(x, y, DataSet::Train)
    }

    /// A validation set (same checks; errors name the validation set).
    pub fn validation(x: Matrix<'a>, y: &'a [f64]) -> Result<Self, GbdtError> {
        Self::checked(x, y, DataSet::Validation)
    }

    fn checked(x: Matrix<'a>, y: &'a [f64], set: DataSet) -> Result<Self, GbdtError> {
        if y.len() != x.n_rows() {
            return Err(GbdtError::LengthMismatch {
                set,
                what: "labels",
                expected: x.n_rows(),
                found: y.len(),
            });
        }
        if let Some((row, &value)) = y.iter().enumerate().find(|(_, &v)| v != 0.0 && v != 1.0) {
            return Err(GbdtError::BadLabel { set, row, value });
        }
        Ok(Dataset {
            x,
            y,
            weights: None,
            set,
        })
    }

    /// Adds sample weights (one per row, finite, >= 0).
    pub fn with_weights(mut self, w: &'a [f64]) -> Result<Self, GbdtError> {
        if w.len() != self.x.n_rows() {
            return Err(GbdtError::LengthMismatch {
                set: self.set,
                what: "sample weights",
                expected: self.x.n_rows(),
                found: w.len(),
            });
        }
        if let Some((row, &value)) = w
            .iter()
            .enumerate()
            .find(|(_, &v)| !(v.is_finite() && v >= 0.0))
        {
            return Err(GbdtError::BadWeight {
                set: self.set,
                row,
                value,
            });
        }
        self.weights = Some(w);
        Ok(self)
    }

    pub fn x(&self) -> &Matrix<'a> {
        &self.x
    }

    pub fn y(&self) -> &'a [f64] {
        self.y
    }

    pub fn weights(&self) -> Option<&'a [f64]> {
        self.weights
    }

    pub fn n_rows(&self) -> usize {
        self.x.n_rows()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ragged_columns_are_rejected_with_their_index() {
        let a = [1.0, 2.0, 3.0];
        let b = [1.0, 2.0];
        let e = Matrix::new(vec![&a, &b]).expect_err("ragged");
        assert_eq!(
            e.to_string(),
            "feature matrix: feature column 1 (`f1`) has 2 rows, expected 3 like column 0"
        );
    }

    #[test]
    fn labels_must_be_binary_and_weights_non_negative() {
        let a = [1.0, 2.0, 3.0];
        let x = Matrix::new(vec![&a]).expect("matrix");
        let e = Dataset::new(x.clone(), &[0.0, 2.0, 1.0]).expect_err("label 2");
        assert_eq!(
            e.to_string(),
            "training set: label at row 1 is 2, expected 0 or 1"
        );
        let e = Dataset::new(x.clone(), &[0.0, 1.0]).expect_err("short labels");
        assert_eq!(
            e.to_string(),
            "training set: labels has 2 entries, expected one per row (3)"
        );
        let d = Dataset::new(x, &[0.0, 1.0, 1.0]).expect("dataset");
        let e = d
            .with_weights(&[1.0, -1.0, 1.0])
            .expect_err("negative weight");
        assert_eq!(
            e.to_string(),
            "training set: sample weight at row 1 is -1, expected a finite number >= 0"
        );
    }
}
