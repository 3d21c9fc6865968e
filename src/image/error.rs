//! The image layer's errors: the catalogue, a build context, failed builds.

use miette::Diagnostic;

use super::base::BuildFailed;
use super::catalogue::CatalogueError;
use super::context::ContextError;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum ImageError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Catalogue(#[from] CatalogueError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Context(#[from] ContextError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    BuildFailed(#[from] BuildFailed),
}

/// `From` the image layer's own errors into a layer above that wraps
/// [`ImageError`] as its `Image` variant.
#[macro_export]
#[doc(hidden)]
macro_rules! from_image_errors {
    ($target:ty) => {
        impl From<$crate::image::catalogue::CatalogueError> for $target {
            fn from(error: $crate::image::catalogue::CatalogueError) -> Self {
                Self::Image(error.into())
            }
        }
        impl From<$crate::image::context::ContextError> for $target {
            fn from(error: $crate::image::context::ContextError) -> Self {
                Self::Image(error.into())
            }
        }
        impl From<$crate::image::base::BuildFailed> for $target {
            fn from(error: $crate::image::base::BuildFailed) -> Self {
                Self::Image(error.into())
            }
        }
    };
}
