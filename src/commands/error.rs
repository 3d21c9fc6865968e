//! What the Compose-style commands themselves can refuse (the layers below
//! bring their own errors).

use miette::Diagnostic;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum CommandError {
    #[error("service {service} has no container number {index}")]
    #[diagnostic(
        code(dmp::command::no_container),
        help("`dmp ps -a {service}` lists its containers; `dmp up {service}` creates one")
    )]
    NoContainer { service: String, index: u32 },

    #[error("port {port}/{protocol} of service {service} is not published")]
    #[diagnostic(
        code(dmp::command::port_not_published),
        help("publish it under `ports:` in the stack file; `dmp ps` shows what is published")
    )]
    PortNotPublished { service: String, port: u16, protocol: String },

    #[error("--{flag}: {reason}")]
    #[diagnostic(code(dmp::command::bad_time))]
    BadTime { flag: &'static str, reason: String },

    #[error("cannot {action} {image} (service {service}): the registry did not answer ({reason})")]
    #[diagnostic(
        code(dmp::command::registry),
        help(
            "check the network and the registry's address, and log in with `docker login` if it needs it; images built by dmp need no registry (`dmp build`)"
        )
    )]
    Registry { action: &'static str, image: String, service: String, reason: String },

    #[error("nothing to push: no service has both `build:` and `image:`")]
    #[diagnostic(
        code(dmp::command::nothing_to_push),
        help("name the built image with `image: REGISTRY/NAME:TAG` in the stack file")
    )]
    NothingToPush,

    #[error("`dmp cp {from} {destination}`: one side must be SERVICE:PATH, the other a host path")]
    #[diagnostic(
        code(dmp::command::cp_paths),
        help("e.g. `dmp cp web:/app/log.txt .` or `dmp cp ./seed.sql db:/tmp/`")
    )]
    CpPaths { from: String, destination: String },

    #[error("`dmp cp {from} {destination}`: {reason}")]
    #[diagnostic(
        code(dmp::command::cp),
        help(
            "an existing directory receives the source inside it; a new path (its parent must exist) receives it under that name; a path ending in `/` must be an existing directory"
        )
    )]
    Cp { from: String, destination: String, reason: String },

    #[error("the command in {container} ended with no exit status from the Engine")]
    #[diagnostic(code(dmp::command::exit_unknown), help("`dmp logs` may say what happened"))]
    ExitUnknown { container: String },
}
