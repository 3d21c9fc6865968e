//! `dmp up`: converge the stack, wait until it answers, print where.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{GlobalArgs, ProjectArgs, UpArgs, WatchArgs};
use crate::dev;
use crate::engine;
use crate::error::{Error, Result};
use crate::stack::up::{Action, UpOptions};
use crate::ui::{Mode, Progress};

pub async fn run(args: &UpArgs, project_args: &ProjectArgs, global: &GlobalArgs) -> Result<ExitCode> {
    let project = super::load_runnable(project_args, global)?;
    let docker = engine::connect().await?;
    let mode = Mode::detect(global.quiet || args.json, global.progress);
    let names: Vec<String> = project.services.keys().cloned().collect();
    let progress = Progress::new(mode, &names);
    let options = UpOptions {
        services: args.services.clone(),
        wait: !args.no_wait,
        timeout: Duration::from_secs(args.timeout),
        build: args.build,
        force_recreate: args.force_recreate,
    };
    let report = dev::up(&docker, &project, &options, &progress).await?;

    let count = |action: Action| report.services.iter().filter(|s| s.action == action).count();
    let mut parts = Vec::new();
    for (action, word) in [
        (Action::Created, "created"),
        (Action::Recreated, "recreated"),
        (Action::Started, "started"),
        (Action::Unchanged, "unchanged"),
    ] {
        if count(action) > 0 {
            parts.push(format!("{} {word}", count(action)));
        }
    }
    let ready = if options.wait { "is up" } else { "is starting" };
    progress.finish(&format!("{} {ready} ({}) in {:.2} s", report.project, parts.join(", "), report.seconds));

    if !global.quiet && !report.orphans.is_empty() {
        eprintln!(
            "warning: {} belong to services no longer in the stack; `dmp down` removes them",
            report.orphans.join(", ")
        );
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report).map_err(|e| Error::Output(e.into()))?;
        writeln!(out).map_err(Error::Output)?;
    } else if let Some(url) = &report.url {
        writeln!(out, "{url}").map_err(Error::Output)?;
    }
    if let (Some(hint), false) = (&report.hint, args.json || global.quiet) {
        eprintln!("{hint}");
    }
    if args.watch {
        let watch_args = WatchArgs { poll: false, quiet_ms: 30, no_initial_build: true, json: args.json };
        return super::watch::watch_project(&docker, &project, &watch_args, global).await;
    }
    Ok(ExitCode::SUCCESS)
}
