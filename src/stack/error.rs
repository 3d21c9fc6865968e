//! What can go wrong bringing the stack to the Engine: the stack's own
//! failures, and the layers below (Engine, images, files) wrapped.

use miette::Diagnostic;

use crate::engine::EngineError;
use crate::error::IoError;
use crate::image::ImageError;

pub type Result<T, E = StackError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum StackError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Engine(#[from] EngineError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Image(#[from] ImageError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Io(#[from] IoError),

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

    #[error(
        "service {service} waits for {dependency} to be healthy, but {dependency} has no health check (in the stack file or its image)"
    )]
    #[diagnostic(
        code(dmp::stack::no_healthcheck),
        help("give {dependency} a `healthcheck:`, or wait with `condition: service_started` instead")
    )]
    NoHealthcheck { service: String, dependency: String },

    #[error("service {service} {reason}; {undone}")]
    #[diagnostic(
        code(dmp::stack::refused),
        help("fix what the Engine names in {service}'s settings and run `dmp up` again")
    )]
    Refused { service: String, reason: String, undone: String },

    #[error("{at}: service {service}'s `user: {user}` is not in its image (the Engine found no {missing}); {undone}")]
    #[diagnostic(
        code(dmp::stack::no_such_user),
        help(
            "set `user:` to a user the image has, or a numeric uid[:gid] (`user: \"1000:1000\"`), or add the user in the image's Dockerfile (`RUN useradd {user}`)"
        )
    )]
    UserNotInImage { at: String, service: String, user: String, missing: String, undone: String },

    #[error("service {service} builds from {}: {problem}", path.display())]
    #[diagnostic(
        code(dmp::stack::dockerfile),
        help(
            "point `build.dockerfile` at a Dockerfile (a text file whose first instruction is FROM), relative to `build.context`"
        )
    )]
    Dockerfile { service: String, path: std::path::PathBuf, problem: String },

    #[error("a container named {name} exists, and dmp did not create it for project {project}")]
    #[diagnostic(
        code(dmp::stack::name_taken),
        help(
            "dmp will not touch it: remove or rename it (`docker rm -f {name}` if you are sure), or give the project another name (-p)"
        )
    )]
    NameTaken { name: String, project: String },

    #[error("project {project} belongs to {theirs}, not to this directory {here} ({object} was made there)")]
    #[diagnostic(
        code(dmp::stack::other_directory),
        help(
            "two checkouts share the project name {project}; nothing was changed. Give this one its own name (`-p NAME`, or `name:` in the stack file); or, if you moved the project here on purpose, `dmp up --adopt` takes it over (its containers are recreated from here, named volumes keep their data)"
        )
    )]
    OtherDirectory { project: String, theirs: String, here: String, object: String },

    #[error("the stack {project} is down: {} has no containers", if services.is_empty() { "it" } else { services.as_str() })]
    #[diagnostic(code(dmp::stack::down), help("start it with `dmp up` (`dmp ps` shows what runs)"))]
    Down { project: String, services: String },

    /// A step (migrations, the app, watch rules) the stack file leaves out.
    #[error("the stack file does not say {what}")]
    #[diagnostic(code(dmp::stack::not_configured), help("{fix}"))]
    NotConfigured { what: String, fix: String },

    #[error("the stack is not up: service {service} has no running container")]
    #[diagnostic(code(dmp::stack::not_up), help("start the stack with `dmp up`"))]
    NotUp { service: String },
}

crate::from_image_errors!(StackError);

impl StackError {
    /// The Engine's error underneath, if that is what this is.
    pub fn engine(&self) -> Option<&EngineError> {
        match self {
            Self::Engine(e) => Some(e),
            _ => None,
        }
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
