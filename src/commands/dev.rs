//! `dmp dev` (and `dmp up --watch`): one foreground view while developing:
//! every service's new log lines behind their coloured `service |`, the
//! app's tracebacks among them, interleaved with the watch rules' builds.
//! Ctrl-C stops watching (exit 130) and leaves the stack up.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use super::{Context, Interrupt, logs};
use crate::cli::DevArgs;
use crate::error::{Error, Result};
use crate::ui::Mode;
use crate::watch::WatchOptions;

/// Ctrl-C ends the view cleanly (the stack stays up); SIGTERM stops it.
pub const INTERRUPT: Interrupt = Interrupt { own_ctrl_c: true, changes: false };

pub async fn run(args: &DevArgs, ctx: &Context) -> Result<ExitCode> {
    let options = WatchOptions {
        quiet: Duration::from_millis(args.quiet_ms),
        poll: args.poll,
        initial_build: !args.no_initial_build,
    };
    view(ctx, &options).await
}

/// Follows the logs and, when the stack has watch rules, watches, until
/// Ctrl-C.
pub async fn view(ctx: &Context, options: &WatchOptions) -> Result<ExitCode> {
    let project = ctx.runnable_project()?;
    let containers = ctx.containers(&[]).await?;
    let docker = ctx.docker().await?;
    let prefixes = logs::prefixes(&containers, logs::colour(), false);
    let mut lines = logs::follow(docker, &containers, "0", logs::Window::default());
    let printer = async {
        while let Some((index, _, text)) = lines.recv().await {
            let mut out = std::io::stdout().lock();
            logs::print_line(&mut out, &prefixes[index], None, &text)?;
            out.flush().map_err(Error::Output)?;
        }
        Ok::<(), Error>(())
    };
    // Build lines are printed as plain lines among the log lines (a status
    // line would be torn by them).
    let mode = if ctx.mode == Mode::Quiet { Mode::Quiet } else { Mode::Plain };
    if project.dmp.watch.is_empty() {
        tokio::select! {
            result = printer => result.map(|()| ExitCode::SUCCESS),
            _ = tokio::signal::ctrl_c() => Ok(ExitCode::from(130)),
        }
    } else {
        tokio::select! {
            result = printer => result.map(|()| ExitCode::SUCCESS),
            result = super::watch::watch_project_in(ctx, options, false, mode) => result,
        }
    }
}
