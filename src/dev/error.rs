//! What can go wrong in the run-dev workflow: a step the stack file does
//! not configure, a command or asset build that fails, and the stack below.

use miette::Diagnostic;

use crate::engine::EngineError;
use crate::stack::StackError;

pub type Result<T, E = DevError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum DevError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Stack(#[from] StackError),

    #[error("`{command}` failed in {container} with exit code {code}")]
    #[diagnostic(code(dmp::stack::command_failed), help("its output is above; fix the cause and run it again"))]
    CommandFailed { command: String, container: String, code: i64 },

    #[error("`{command}` in {container} ended, but the Engine reports no exit code for it")]
    #[diagnostic(
        code(dmp::stack::exit_unknown),
        help("the container may have stopped or restarted meanwhile; `dmp ps` shows its state")
    )]
    ExitUnknown { command: String, container: String },

    #[error("the asset build {rule} failed with exit code {code}:\n{output}")]
    #[diagnostic(
        code(dmp::stack::asset_build),
        help("fix the sources (the tool's message names the file and line) and run `dmp up` again")
    )]
    AssetBuild { rule: String, code: i64, output: String },
}

impl From<EngineError> for DevError {
    fn from(error: EngineError) -> Self {
        Self::Stack(error.into())
    }
}

impl DevError {
    /// The Engine's error underneath, if that is what this is.
    pub fn engine(&self) -> Option<&EngineError> {
        match self {
            Self::Stack(e) => e.engine(),
            _ => None,
        }
    }
}
