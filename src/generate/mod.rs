//! Synthetic warehouse generator (being written).
