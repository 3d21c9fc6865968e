//! One module per subcommand.

mod completions;
mod config;
mod doctor;
mod down;
mod images;
mod init;
mod logs;
mod ps;
mod sh;
mod start;
mod stop;
mod up;
mod watch;

use std::process::ExitCode;

use bollard::Docker;

use crate::cli::{Cli, Command, GlobalArgs, ImagesCommand, ProjectArgs};
use crate::compose::{self, LoadOptions, Project};
use crate::engine;
use crate::error::{Error, Result};
use crate::stack::{self, ProjectContainer, plan};

pub async fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Images(ImagesCommand::Build(args)) => images::build(args, &cli.global).await,
        Command::Config(args) => config::run(args, &cli.project, &cli.global),
        Command::Up(args) => up::run(args, &cli.project, &cli.global).await,
        Command::Down(args) => down::run(args, &cli.project, &cli.global).await,
        Command::Ps(args) => ps::run(args, &cli.project, &cli.global).await,
        Command::Logs(args) => logs::run(args, &cli.project, &cli.global).await,
        Command::Stop(args) => stop::run(stop::Verb::Stop, args, &cli.project, &cli.global).await,
        Command::Restart(args) => stop::run(stop::Verb::Restart, args, &cli.project, &cli.global).await,
        Command::Init(args) => init::run(args, &cli.project, &cli.global).await,
        Command::Sh(args) => sh::sh(args, &cli.project, &cli.global).await,
        Command::Migrate => sh::migrate(&cli.project, &cli.global).await,
        Command::Start(args) => start::run(args, &cli.project, &cli.global).await,
        Command::Manage(args) => sh::manage(args, &cli.project, &cli.global).await,
        Command::Watch(args) => watch::run(args, &cli.project, &cli.global).await,
        Command::Doctor(args) => doctor::run(args, &cli.project, &cli.global).await,
        Command::Completions(args) => completions::completions(args.shell),
        Command::Man => completions::man(),
    }
}

/// Loads the stack to run it: as `load_project`, and the problems only
/// running finds (a missing build context, …) are errors.
pub fn load_runnable(args: &ProjectArgs, global: &GlobalArgs) -> Result<Project> {
    load(args, global, true)
}

/// Loads the stack the project options name, printing its warnings.
pub fn load_project(args: &ProjectArgs, global: &GlobalArgs) -> Result<Project> {
    load(args, global, false)
}

fn load(args: &ProjectArgs, global: &GlobalArgs, to_run: bool) -> Result<Project> {
    let cwd = std::env::current_dir().map_err(Error::io("read the current directory", "."))?;
    let options = LoadOptions {
        dir: args.project_directory.as_ref().map_or_else(|| cwd.clone(), |d| cwd.join(d)),
        files: args.files.clone(),
        project_name: args.project_name.clone(),
        profiles: args.profiles.clone(),
    };
    let mut loaded = compose::load(&options)?;
    if to_run && !loaded.deferred.is_empty() {
        return Err(loaded.deferred.remove(0).into());
    }
    if !global.quiet {
        for warning in &loaded.warnings {
            eprintln!("warning: {warning}");
        }
    }
    Ok(loaded.project)
}

/// The project, the Engine, and the project's containers of `services` (all
/// when empty); unknown service names are an error.
pub async fn project_containers(
    args: &ProjectArgs,
    global: &GlobalArgs,
    services: &[String],
) -> Result<(Project, Docker, Vec<ProjectContainer>)> {
    let project = load_project(args, global)?;
    plan::select(&project, services)?;
    let docker = engine::connect().await?;
    let containers = stack::containers(&docker, &project.name)
        .await?
        .into_iter()
        .filter(|c| services.is_empty() || services.contains(&c.service))
        .collect();
    Ok((project, docker, containers))
}
