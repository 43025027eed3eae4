//! churn — churn prediction for subscription businesses.
//!
//! Stages, top to bottom (a lower stage never imports an upper one):
//! [`warehouse`] loads and validates an export → [`features`] builds point-in-time customer-360,
//! segmentation and ML features. [`generate`] writes a synthetic warehouse that follows the same
//! contract. [`output`] and [`progress`] are the shared plumbing for writing files atomically
//! and showing progress on a terminal.

pub mod campaigns;
pub mod features;
pub mod generate;
pub mod output;
pub mod progress;
pub mod recommend;
pub mod registry;
pub mod scoring;
pub mod server;
pub mod training;
pub mod value;
pub mod warehouse;
