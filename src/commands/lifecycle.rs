//! `dmp start SERVICE...`, `stop`, `restart`, `kill`, `pause`, `unpause`,
//! `rm`: one Engine call per container that `select::targets` chose, all
//! at once. `restart` of the app starts its dev server again when it ran.

use std::process::ExitCode;
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::{
    KillContainerOptionsBuilder, RemoveContainerOptionsBuilder, RestartContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use futures_util::future::join_all;

use super::select::{self, Verb};
use super::{Context, Interrupt};
use crate::dev;
use crate::engine::{EngineError, Request as _};
use crate::error::Result;
use crate::stack::{self, ProjectContainer};

/// Changes the stack: an interrupt says the next `dmp up` finishes the job.
pub const INTERRUPT: Interrupt = Interrupt::CHANGES;

/// How a verb is carried out beyond its containers.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Seconds before SIGKILL (`stop -t`, `restart -t`).
    pub timeout: Option<i32>,
    /// `kill -s`.
    pub signal: Option<String>,
    /// `rm -v`.
    pub volumes: bool,
}

pub async fn run(verb: Verb, services: &[String], options: &Options, ctx: &Context) -> Result<ExitCode> {
    let project = ctx.project()?;
    let docker = ctx.docker().await?;
    let all = if matches!(verb, Verb::Remove { .. }) {
        let selected = crate::stack::plan::select(project, services)?;
        let expected = stack::expected_names(project, &selected);
        stack::with_oneoffs(docker, &project.name, Some(&expected))
            .await?
            .into_iter()
            .filter(|c| services.is_empty() || services.contains(&c.service))
            .collect()
    } else {
        ctx.containers_of_a_stack_that_is_up(services).await?
    };
    let targets = select::targets(verb, &all);

    // The dev server runs as an exec in the app container: a restart ends
    // it, so it is started again afterwards when it ran before.
    let app = dev::app_service(project).ok();
    let server_command = dev::start_command(project);
    let mut restart_server = false;
    // It is started again when it ran, or belongs there (`AUTO_START_SERVER`, `dmp start`).
    let restarted_app = targets.iter().find(|c| Some(&c.service) == app.as_ref());
    if let Some(app_container) = restarted_app.filter(|_| verb == Verb::Restart && project.dmp.start.is_some()) {
        restart_server =
            dev::wanted(project) || dev::running(docker, project, &app_container.name).await.unwrap_or(false);
    }

    let results = join_all(targets.iter().map(|c| act(docker, verb, c, options))).await;
    for (container, result) in targets.iter().zip(results) {
        result?;
        if !ctx.quiet {
            eprintln!("{}: {}", container.name, verb.done());
        }
    }
    if targets.is_empty() && !ctx.quiet {
        eprintln!("{}: no container to {}", project.name, verb.request());
    }
    if let Some(app) = app.as_ref().filter(|_| restart_server) {
        // Running again (the restart) before the server is started.
        let deadline = std::time::Instant::now() + Duration::from_secs(180);
        let selected = crate::stack::plan::select(project, std::slice::from_ref(app))?;
        stack::wait::wait_ready(docker, project, &selected, deadline).await?;
        let (_, url) = dev::start(docker, project, Duration::from_secs(180)).await?;
        if !ctx.quiet {
            eprintln!("{app}: the dev server (`{}`) runs again", shell_words::join(&server_command));
        }
        if let Some(url) = url {
            println!("{url}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The one Engine call of `verb` on `container`; a container already in
/// the wanted state is no failure.
async fn act(docker: &Docker, verb: Verb, container: &ProjectContainer, options: &Options) -> Result<(), EngineError> {
    let name = container.name.as_str();
    let result = match verb {
        Verb::Start => {
            return stack::apply::start(docker, name).await;
        }
        Verb::Stop => {
            let mut stop = StopContainerOptionsBuilder::default();
            if let Some(t) = options.timeout {
                stop = stop.t(t);
            }
            docker.stop_container(name, Some(stop.build())).timed(format_args!("stop container {name}")).await
        }
        Verb::Restart => {
            let restart = RestartContainerOptionsBuilder::default().t(options.timeout.unwrap_or(10)).build();
            docker.restart_container(name, Some(restart)).timed(format_args!("restart container {name}")).await
        }
        Verb::Kill => {
            let signal = options.signal.as_deref().unwrap_or("SIGKILL");
            let kill = KillContainerOptionsBuilder::default().signal(signal).build();
            docker.kill_container(name, Some(kill)).timed(format_args!("kill container {name}")).await
        }
        Verb::Pause => docker.pause_container(name).timed(format_args!("pause container {name}")).await,
        Verb::Unpause => docker.unpause_container(name).timed(format_args!("unpause container {name}")).await,
        Verb::Remove { .. } => {
            let remove = RemoveContainerOptionsBuilder::default().force(true).v(options.volumes).build();
            docker.remove_container(name, Some(remove)).timed(format_args!("remove container {name}")).await
        }
    };
    match result {
        // 304: already in that state.
        Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 304, .. }) => Ok(()),
        Err(e) => Err(EngineError::request(format!("{} container {name}", verb.request()), e)),
    }
}
