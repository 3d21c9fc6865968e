//! `dmp start`: what run-dev did with `AUTO_START_SERVER=true`.

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{GlobalArgs, ProjectArgs, StartArgs};
use crate::dev::{self, Started};
use crate::engine;
use crate::error::Result;

pub async fn run(args: &StartArgs, project_args: &ProjectArgs, global: &GlobalArgs) -> Result<ExitCode> {
    let project = super::load_project(project_args, global)?;
    let docker = engine::connect().await?;
    let (started, url) = dev::start(&docker, &project, Duration::from_secs(args.timeout)).await?;
    if !global.quiet {
        let command = shell_words::join(dev::start_command(&project));
        match started {
            Started::Already => eprintln!("the dev server (`{command}`) is already running"),
            Started::Now => eprintln!("migrated, and started the dev server (`{command}`); its output: dmp logs"),
        }
    }
    if let Some(url) = url {
        println!("{url}");
    }
    Ok(ExitCode::SUCCESS)
}
