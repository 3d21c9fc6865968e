//! The one error type `dmp::run()` reports; each module keeps its own
//! `thiserror` enum with its diagnostics, and this wraps them.

use miette::Diagnostic;

use crate::build_context::ContextError;
use crate::compose::ComposeError;
use crate::engine::EngineError;
use crate::images::CatalogueError;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Engine(#[from] EngineError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Catalogue(#[from] CatalogueError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Compose(#[from] ComposeError),

    #[error(transparent)]
    #[diagnostic(code(dmp::context))]
    Context(#[from] ContextError),

    #[error("{}", failed.join("\n\n"))]
    #[diagnostic(
        code(dmp::images::build_failed),
        help(
            "fix the failing step and run the build again; images that built are tagged, and a failed image keeps its earlier tags"
        )
    )]
    BuildFailed { failed: Vec<String> },

    #[error("cannot start dmp's async runtime: {0}")]
    Runtime(#[source] std::io::Error),

    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
