//! `dmp start`: what run-dev did with `AUTO_START_SERVER=true`.

use std::process::ExitCode;
use std::time::Duration;

use super::{Context, Interrupt};
use crate::cli::StartArgs;
use crate::dev::{self, Started};
use crate::error::Result;

/// Changes the stack: an interrupt says the next `dmp up` finishes the job.
pub const INTERRUPT: Interrupt = Interrupt::CHANGES;

pub async fn run(args: &StartArgs, ctx: &Context) -> Result<ExitCode> {
    let project = ctx.project()?;
    let docker = ctx.docker().await?;
    let (started, url) = dev::start(docker, project, Duration::from_secs(args.timeout)).await?;
    if !ctx.quiet {
        let command = shell_words::join(dev::start_command(project));
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
