//! dmp's images: the catalogue of base images (embedded from `images/`),
//! tar build contexts with Docker's `.dockerignore` semantics, one build
//! through the Engine API, and the base set built concurrently.

pub(crate) mod base;
pub(crate) mod build;
pub mod catalogue;
pub mod context;
pub mod dockerignore;
mod error;

pub use error::ImageError;
