//! Model registry (being written).
