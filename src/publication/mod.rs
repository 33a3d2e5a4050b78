//! The publication as one value: load it, check it, build an issue, send it.

pub mod build;
