//! `dmp watch` (and `dmp up --watch`).

use std::process::ExitCode;

use super::{Context, Interrupt};
use crate::cli::WatchArgs;
use crate::error::Result;
use crate::watch::{self, Reporter, WatchOptions};

/// Ctrl-C ends watching cleanly (the stack stays up); SIGTERM stops it.
pub const INTERRUPT: Interrupt = Interrupt { own_ctrl_c: true, changes: false };

pub async fn run(args: &WatchArgs, ctx: &Context) -> Result<ExitCode> {
    watch_project(ctx, &args.watching.options(), args.json).await
}

/// Watches the context's project until Ctrl-C, which ends it with 130 (as
/// every command Ctrl-C stops) after a clean stop: the stack stays up.
pub async fn watch_project(ctx: &Context, options: &WatchOptions, json: bool) -> Result<ExitCode> {
    let project = ctx.runnable_project()?;
    let docker = ctx.docker().await?;
    let mut reporter = Reporter::new(json, ctx.mode, &project.dmp.watch);
    watch::run(docker, project, options, &mut reporter).await?;
    Ok(ExitCode::from(130))
}
