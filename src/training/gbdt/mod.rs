//! Histogram gradient-boosted trees (being written).
