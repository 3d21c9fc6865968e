//! What can go wrong watching: rules or globs that cannot work, a watcher
//! that cannot start, and the stack below (bringing services back).

use miette::Diagnostic;

use crate::engine::EngineError;
use crate::stack::StackError;

pub type Result<T, E = WatchError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum WatchError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Stack(#[from] StackError),

    #[error("cannot watch the files: {0}")]
    #[diagnostic(code(dmp::watch), help("try `dmp watch --poll`"))]
    Watcher(String),
}

impl From<EngineError> for WatchError {
    fn from(error: EngineError) -> Self {
        Self::Stack(error.into())
    }
}

impl WatchError {
    /// The Engine's error underneath, if that is what this is.
    pub fn engine(&self) -> Option<&EngineError> {
        match self {
            Self::Stack(e) => e.engine(),
            Self::Watcher(_) => None,
        }
    }
}
