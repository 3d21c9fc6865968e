//! Compose-format stack files: loading, merging, interpolation and the
//! resolved model.

pub mod interpolate;
pub mod load;
pub mod model;
pub mod render;
pub mod yaml;

pub use load::{ComposeError, LoadOptions, Loaded, load};
pub use model::Project;
