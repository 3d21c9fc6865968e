//! `dmp stop` and `dmp restart`.

use std::process::ExitCode;

use bollard::query_parameters::{RestartContainerOptionsBuilder, StopContainerOptionsBuilder};
use futures_util::future::join_all;

use crate::cli::{GlobalArgs, ProjectArgs, ServicesArgs};
use crate::engine::{self, EngineError};
use crate::error::Result;
use crate::stack::{self, converge};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Stop,
    Restart,
}

pub async fn run(verb: Verb, args: &ServicesArgs, project_args: &ProjectArgs, global: &GlobalArgs) -> Result<ExitCode> {
    let project = super::load_project(project_args, global)?;
    converge::select(&project, &args.services)?;
    let docker = engine::connect().await?;
    let containers: Vec<_> = stack::containers(&docker, &project.name)
        .await?
        .into_iter()
        .filter(|c| args.services.is_empty() || args.services.contains(&c.service))
        .collect();
    let actions = containers.iter().map(|c| async {
        match verb {
            Verb::Stop => {
                docker.stop_container(&c.name, Some(StopContainerOptionsBuilder::default().t(10).build())).await
            }
            Verb::Restart => {
                docker.restart_container(&c.name, Some(RestartContainerOptionsBuilder::default().t(10).build())).await
            }
        }
    });
    for (container, result) in containers.iter().zip(join_all(actions).await) {
        match result {
            // Already stopped.
            Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 304, .. }) => {
                if !global.quiet {
                    let done = if verb == Verb::Stop { "stopped" } else { "restarted" };
                    eprintln!("{}: {done}", container.name);
                }
            }
            Err(e) => return Err(EngineError::from(e).into()),
        }
    }
    Ok(ExitCode::SUCCESS)
}
