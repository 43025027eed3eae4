//! Commands of the `churn` binary that live in their own files: each file holds a clap `Args`
//! struct and a `run` function returning the process exit code. `main.rs` dispatches to them.

pub mod campaigns;
pub mod clv;
pub mod prioritize;
pub mod recommend;
pub mod score;
pub mod serve;
