//! Compose-format stack files: loading, merging, interpolation and the
//! resolved model.

mod convert;
mod discovery;
mod env_file;
mod error;
mod extends;
pub mod interpolate;
pub mod load;
mod merge;
pub mod model;
pub mod render;
mod render_runtime;
mod validate;
pub mod yaml;

pub use load::{ComposeError, LoadOptions, Loaded, load};
pub use model::Project;
