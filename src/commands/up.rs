//! `dmp up`: converge the stack, wait until it answers, print where.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use super::{Context, Interrupt};
use crate::cli::UpArgs;
use crate::dev;
use crate::error::{Error, Result};
use crate::stack::up::{Action, UpOptions};
use crate::ui::Progress;
use crate::watch::WatchOptions;

/// Changes the stack; with `--watch`, Ctrl-C ends watching cleanly.
pub fn interrupt(args: &UpArgs) -> Interrupt {
    Interrupt { own_ctrl_c: args.watch, changes: true }
}

pub async fn run(args: &UpArgs, ctx: &Context) -> Result<ExitCode> {
    let project = ctx.runnable_project()?;
    let docker = ctx.docker().await?;
    let mode = ctx.mode_unless(args.json);
    let names: Vec<String> = project.services.keys().cloned().collect();
    let progress = Progress::new(mode, &names);
    let options = UpOptions {
        services: args.services.clone(),
        wait: !args.no_wait,
        timeout: Duration::from_secs(args.timeout),
        build: args.build,
        force_recreate: args.force_recreate,
        adopt: args.adopt,
        scale: std::collections::BTreeMap::new(),
    };
    let report = dev::up(docker, project, &options, &progress).await?;

    let count = |action: Action| report.services.iter().filter(|s| s.action == action).count();
    let mut parts = Vec::new();
    for (action, word) in [
        (Action::Created, "created"),
        (Action::Recreated, "recreated"),
        (Action::Started, "started"),
        (Action::Restarted, "restarted"),
        (Action::Unchanged, "unchanged"),
    ] {
        if count(action) > 0 {
            parts.push(format!("{} {word}", count(action)));
        }
    }
    let ready = if options.wait { "is up" } else { "is starting" };
    progress.finish(&format!("{} {ready} ({}) in {:.2} s", report.project, parts.join(", "), report.seconds));

    if !ctx.quiet && !report.orphans.is_empty() {
        eprintln!(
            "warning: {} belong to services no longer in the stack; `dmp down` removes them",
            report.orphans.join(", ")
        );
    }
    if args.json {
        #[derive(serde::Serialize)]
        struct Versioned<'a> {
            schema: u32,
            #[serde(flatten)]
            report: &'a crate::stack::up::UpReport,
        }
        super::print_json(&Versioned { schema: super::SCHEMA, report: &report })?;
    } else if let Some(url) = &report.url {
        writeln!(std::io::stdout().lock(), "{url}").map_err(Error::Output)?;
    }
    if let (Some(hint), false) = (&report.hint, args.json || ctx.quiet) {
        eprintln!("{hint}");
    }
    if args.watch {
        // The first build just ran as part of `up`.
        let options = WatchOptions { initial_build: false, ..WatchOptions::default() };
        if args.json {
            return super::watch::watch_project(ctx, &options, true).await;
        }
        // The services' logs and the builds, as `dmp dev`.
        return Box::pin(super::dev::view(ctx, &options)).await;
    }
    Ok(ExitCode::SUCCESS)
}
