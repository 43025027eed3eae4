//! Features stage (being written).
