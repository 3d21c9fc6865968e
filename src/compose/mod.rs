//! Compose-format stack files: loading, merging, interpolation and the
//! resolved model.

pub mod interpolate;
pub mod yaml;
