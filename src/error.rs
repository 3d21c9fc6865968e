//! The one error type `dmp::run()` reports, and the one place that decides
//! exit codes. Each layer keeps its own `thiserror` enum with its
//! diagnostics (`EngineError`, `ComposeError`, the image errors,
//! `StackError`, `DevError`, `WatchError`); this wraps them.

use std::path::PathBuf;

use miette::Diagnostic;

use crate::commands::CommandError;
use crate::compose::ComposeError;
use crate::dev::DevError;
use crate::engine::EngineError;
use crate::image::ImageError;
use crate::stack::StackError;
use crate::watch::WatchError;

/// The exit status when the Docker Engine is not running (`EX_UNAVAILABLE`
/// of sysexits.h), so scripts can tell "start the Engine" from a failure.
pub const EXIT_ENGINE_NOT_RUNNING: u8 = 69;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Engine(#[from] EngineError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Compose(#[from] ComposeError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Image(#[from] ImageError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Stack(#[from] StackError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Dev(#[from] DevError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Watch(#[from] WatchError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Io(#[from] IoError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Command(#[from] CommandError),

    /// A command line clap rejects, or `--help`/`--version` (clap prints
    /// them and says the status).
    #[error("{0}")]
    Usage(clap::Error),

    #[error("interrupted; the next `dmp up` finishes what was half done")]
    #[diagnostic(code(dmp::interrupted))]
    Interrupted { signal: i32, changes: bool },

    #[error("cannot start dmp's async runtime: {0}")]
    Runtime(#[source] std::io::Error),

    /// Writing dmp's own output (stdout) failed: a reader that went away
    /// (`dmp ps | head`) is no failure.
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
}

/// An I/O error with what dmp was doing and where.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("cannot {action} {}: {source}", path.display())]
#[diagnostic(code(dmp::io))]
pub struct IoError {
    pub action: &'static str,
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl IoError {
    /// For `map_err`: `fs::read(p).map_err(IoError::at("read", p))`.
    pub fn at(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self { action, path, source }
    }
}

crate::from_image_errors!(Error);

impl Error {
    /// The one place that decides dmp's exit status for an error (a command
    /// that ran, such as `dmp sh -- CMD`, exits with its own status instead):
    /// 0 when the reader of dmp's output went away, 2 for usage (clap's), 69
    /// when the Engine is not running, 128 + N when signal N interrupted dmp,
    /// else 1. docs/commands.md has the table.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
            Self::Usage(usage) => u8::try_from(usage.exit_code()).unwrap_or(2),
            Self::Interrupted { signal, .. } => u8::try_from(128 + signal).unwrap_or(1),
            _ if matches!(self.engine(), Some(EngineError::NotRunning { .. })) => EXIT_ENGINE_NOT_RUNNING,
            _ => 1,
        }
    }

    /// The Engine's error underneath, from whichever layer it came.
    fn engine(&self) -> Option<&EngineError> {
        match self {
            Self::Engine(e) => Some(e),
            Self::Stack(e) => e.engine(),
            Self::Dev(e) => e.engine(),
            Self::Watch(e) => e.engine(),
            _ => None,
        }
    }

    /// An I/O error with what dmp was doing and where, for `map_err`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let at = IoError::at(action, path);
        move |source| Self::Io(at(source))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_decided_in_one_place() {
        let io = |kind| std::io::Error::new(kind, "x");
        let cases = [
            (Error::Output(io(std::io::ErrorKind::BrokenPipe)), 0),
            (Error::Output(io(std::io::ErrorKind::Other)), 1),
            (Error::io("lock", "/tmp/x")(io(std::io::ErrorKind::BrokenPipe)), 1),
            (Error::Interrupted { signal: 2, changes: false }, 130),
            (Error::Interrupted { signal: 15, changes: true }, 143),
            (Error::Engine(EngineError::NotRunning { address: "unix:///x".into() }), EXIT_ENGINE_NOT_RUNNING),
            (Error::Dev(DevError::ExitUnknown { command: "true".into(), container: "c".into() }), 1),
            (
                Error::Dev(DevError::Stack(StackError::Engine(EngineError::NotRunning {
                    address: "unix:///x".into(),
                }))),
                EXIT_ENGINE_NOT_RUNNING,
            ),
            (Error::Usage(clap::Error::new(clap::error::ErrorKind::InvalidValue)), 2),
            (Error::Usage(clap::Error::new(clap::error::ErrorKind::DisplayHelp)), 0),
        ];
        for (error, code) in cases {
            assert_eq!(error.exit_code(), code, "{error:?}");
        }
    }

    #[test]
    fn io_errors_say_what_and_where() {
        let error = Error::io("create", "/app/.env")(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert_eq!(error.to_string(), "cannot create /app/.env: permission denied");
    }
}
