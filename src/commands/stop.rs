//! `dmp stop` and `dmp restart`.

use std::process::ExitCode;

use bollard::query_parameters::{RestartContainerOptionsBuilder, StopContainerOptionsBuilder};
use futures_util::future::join_all;

use super::{Context, Interrupt};
use crate::cli::ServicesArgs;
use crate::engine::{EngineError, Request as _};
use crate::error::Result;

/// Reads only: Ctrl-C stops it at once.
pub const INTERRUPT: Interrupt = Interrupt::READS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Stop,
    Restart,
}

pub async fn run(verb: Verb, args: &ServicesArgs, ctx: &Context) -> Result<ExitCode> {
    let containers = ctx.containers_of_a_stack_that_is_up(&args.services).await?;
    let docker = ctx.docker().await?;
    let actions = containers.iter().map(|c| async {
        match verb {
            Verb::Stop => {
                docker
                    .stop_container(&c.name, Some(StopContainerOptionsBuilder::default().t(10).build()))
                    .timed(format_args!("stop container {}", c.name))
                    .await
            }
            Verb::Restart => {
                docker
                    .restart_container(&c.name, Some(RestartContainerOptionsBuilder::default().t(10).build()))
                    .timed(format_args!("restart container {}", c.name))
                    .await
            }
        }
    });
    for (container, result) in containers.iter().zip(join_all(actions).await) {
        match result {
            // Already stopped.
            Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 304, .. }) => {
                if !ctx.quiet {
                    let done = if verb == Verb::Stop { "stopped" } else { "restarted" };
                    eprintln!("{}: {done}", container.name);
                }
            }
            Err(e) => {
                return Err(EngineError::request(
                    format!("{} container {}", if verb == Verb::Stop { "stop" } else { "restart" }, container.name),
                    e,
                )
                .into());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
