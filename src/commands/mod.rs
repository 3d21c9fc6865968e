//! One module per subcommand.

mod config;
mod down;
mod images;
mod logs;
mod ps;
mod stop;
mod up;

use std::process::ExitCode;

use crate::cli::{Cli, Command, GlobalArgs, ImagesCommand, ProjectArgs};
use crate::compose::{self, LoadOptions, Project};
use crate::error::{Error, Result};

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
    }
}

/// Loads the stack the project options name, printing its warnings.
pub fn load_project(args: &ProjectArgs, global: &GlobalArgs) -> Result<Project> {
    let cwd = std::env::current_dir().map_err(Error::Output)?;
    let options = LoadOptions {
        dir: args.project_directory.as_ref().map_or_else(|| cwd.clone(), |d| cwd.join(d)),
        files: args.files.clone(),
        project_name: args.project_name.clone(),
        profiles: args.profiles.clone(),
    };
    let loaded = compose::load(&options)?;
    if !global.quiet {
        for warning in &loaded.warnings {
            eprintln!("warning: {warning}");
        }
    }
    Ok(loaded.project)
}
