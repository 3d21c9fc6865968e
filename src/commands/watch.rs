//! `dmp watch` (and `dmp up --watch`).

use std::process::ExitCode;
use std::time::Duration;

use bollard::Docker;

use crate::cli::{GlobalArgs, ProjectArgs, WatchArgs};
use crate::compose::Project;
use crate::engine;
use crate::error::Result;
use crate::ui::Mode;
use crate::watch::{self, Reporter, WatchOptions};

pub async fn run(args: &WatchArgs, project_args: &ProjectArgs, global: &GlobalArgs) -> Result<ExitCode> {
    let project = super::load_runnable(project_args, global)?;
    let docker = engine::connect().await?;
    watch_project(&docker, &project, args, global).await
}

pub async fn watch_project(
    docker: &Docker,
    project: &Project,
    args: &WatchArgs,
    global: &GlobalArgs,
) -> Result<ExitCode> {
    let options = WatchOptions {
        quiet: Duration::from_millis(args.quiet_ms),
        poll: args.poll,
        initial_build: !args.no_initial_build,
    };
    let mode = Mode::detect(global.quiet, global.progress);
    let mut reporter = Reporter::new(args.json, mode, &project.dmp.watch);
    watch::run(docker, project, &options, &mut reporter).await?;
    Ok(ExitCode::SUCCESS)
}
