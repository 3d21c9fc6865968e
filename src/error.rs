//! The one error type `dmp::run()` reports; each module keeps its own
//! `thiserror` enum with its diagnostics, and this wraps them.

use miette::Diagnostic;

use crate::compose::ComposeError;
use crate::engine::EngineError;
use crate::image::catalogue::CatalogueError;
use crate::image::context::ContextError;

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

    #[error("no service named {name:?} in the stack")]
    #[diagnostic(code(dmp::stack::unknown_service), help("the services are: {available}"))]
    UnknownService { name: String, available: String },

    #[error("port {host_ip}:{port}, published by service {service}, is already in use ({reason})")]
    #[diagnostic(
        code(dmp::stack::port_taken),
        help(
            "stop what listens there (`ss -ltnp 'sport = :{port}'` shows it), or publish {service} on another port in the stack file"
        )
    )]
    PortTaken { port: u16, host_ip: String, service: String, reason: String },

    #[error("image {image} (service {service}) is not on this Engine, and pulling it failed: {reason}")]
    #[diagnostic(
        code(dmp::stack::image_missing),
        help(
            "check the name, give the service a `build:`, or load the image; dmp's base images build with `dmp images build`"
        )
    )]
    ImageMissing { image: String, service: String, reason: String },

    #[error("the external {kind} {name} does not exist")]
    #[diagnostic(code(dmp::stack::external_missing), help("create it first, or drop `external: true`"))]
    ExternalMissing { kind: &'static str, name: String },

    #[error("service {service} {reason}{}", log_tail(logs))]
    #[diagnostic(code(dmp::stack::service_failed), help("all its logs: dmp logs {service} (container {container})"))]
    ServiceFailed { service: String, container: String, reason: String, logs: Vec<String> },

    #[error("a container named {name} exists, and dmp did not create it for project {project}")]
    #[diagnostic(
        code(dmp::stack::name_taken),
        help(
            "dmp will not touch it: remove or rename it (`docker rm -f {name}` if you are sure), or give the project another name (-p)"
        )
    )]
    NameTaken { name: String, project: String },

    #[error("interrupted; the next `dmp up` finishes what was half done")]
    #[diagnostic(code(dmp::interrupted))]
    Interrupted { signal: i32, changes: bool },

    #[error("the stack is not up: service {service} has no running container")]
    #[diagnostic(code(dmp::stack::not_up), help("start the stack with `dmp up`"))]
    NotUp { service: String },

    #[error("the stack file does not say {what}")]
    #[diagnostic(code(dmp::stack::not_configured), help("{fix}"))]
    NotConfigured { what: String, fix: String },

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

    #[error("cannot watch the files: {0}")]
    #[diagnostic(code(dmp::watch), help("try `dmp watch --poll`"))]
    Watch(String),

    /// A command line clap rejects, or `--help`/`--version` (clap prints
    /// them and says the status).
    #[error("{0}")]
    Usage(clap::Error),

    #[error("cannot start dmp's async runtime: {0}")]
    Runtime(#[source] std::io::Error),

    /// Writing dmp's own output (stdout) failed: a reader that went away
    /// (`dmp ps | head`) is no failure.
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),

    #[error("cannot {action} {}: {source}", path.display())]
    #[diagnostic(code(dmp::io))]
    Io { action: &'static str, path: std::path::PathBuf, source: std::io::Error },
}

/// The exit status when the Docker Engine is not running (`EX_UNAVAILABLE`
/// of sysexits.h), so scripts can tell "start the Engine" from a failure.
pub const EXIT_ENGINE_NOT_RUNNING: u8 = 69;

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
            Self::Engine(EngineError::NotRunning { .. }) => EXIT_ENGINE_NOT_RUNNING,
            Self::Interrupted { signal, .. } => u8::try_from(128 + signal).unwrap_or(1),
            _ => 1,
        }
    }

    /// An I/O error with what dmp was doing and where.
    pub fn io(action: &'static str, path: impl Into<std::path::PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { action, path, source }
    }
}

/// The last log lines under a failure, when there are any.
fn log_tail(logs: &[String]) -> String {
    if logs.is_empty() {
        return String::new();
    }
    let mut text = String::from("; its last log lines:");
    for line in logs {
        text.push_str("\n  │ ");
        text.push_str(line);
    }
    text
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
            (Error::ExitUnknown { command: "true".into(), container: "c".into() }, 1),
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
