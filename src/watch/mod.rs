//! `dmp watch`: host-side file watching that reruns asset rules inside their
//! long-lived service (an exec in buildstatic, never a container per change).
//!
//! Events come from notify, watching directories recursively (so editors
//! that save by rename are seen); a short quiet window (`debounce`), with one
//! timer that is armed only while changes are pending, coalesces bursts,
//! and a lone save that inotify reports finished (closed after writing, or
//! renamed into place) runs after a few ms instead.
//! (notify-debouncer-full's ticking thread cost 0.5 % CPU while idle.) Each
//! rule has one build in flight at most, and changes during a
//! build queue exactly one more run. Rules build in parallel. A failed build
//! keeps watching; a missing container or Engine is waited for and the
//! service brought back.

mod debounce;
mod error;
mod filter;
mod report;
mod server;
pub mod stamp;
mod watcher;
mod worker;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bollard::Docker;
use tokio::sync::mpsc;

use debounce::{Change, Debouncer};
pub use filter::Filters;
pub use report::{Event, Reporter};
use watcher::start_watcher;
use worker::{RuleWorker, WorkerMessage};

pub use error::WatchError;

use crate::compose::Project;
use crate::stack::StackError;
use crate::stack::up::{self, UpOptions};
use crate::ui::Progress;
use error::Result;

/// The quiet window's default, in ms: short, because a save is one event
/// once editors' temporary files are filtered out. A lone save that the
/// file system reports as finished waits only `debounce::SETTLE`.
pub const DEFAULT_QUIET_MS: u64 = 30;

#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Quiet time that ends a burst of changes.
    pub quiet: Duration,
    /// Poll instead of inotify.
    pub poll: bool,
    /// Build every rule once before watching.
    pub initial_build: bool,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self { quiet: Duration::from_millis(DEFAULT_QUIET_MS), poll: false, initial_build: true }
    }
}

/// Watches until Ctrl-C. The rule workers share the runtime's one thread
/// (converging is not `Send`), so they run on a local task set.
pub async fn run(docker: &Docker, project: &Project, options: &WatchOptions, reporter: &mut Reporter) -> Result<()> {
    // Boxed: the watch loop's state is large, and callers hold this future.
    tokio::task::LocalSet::new().run_until(Box::pin(watch(docker, project, options, reporter))).await
}

async fn watch(docker: &Docker, project: &Project, options: &WatchOptions, reporter: &mut Reporter) -> Result<()> {
    let rules = &project.dmp.watch;
    if rules.is_empty() {
        return Err(WatchError::Stack(StackError::NotConfigured {
            what: "any watch rules".into(),
            fix: "add rules under `x-dmp: { watch: [{ name, command, watch: [globs] }] }`".into(),
        }));
    }
    let filters = Filters::new(&project.dir, rules)?;
    ensure_services(docker, project, reporter).await?;

    // File events from notify's thread into the runtime.
    let (events_tx, mut events_rx) = mpsc::unbounded_channel::<notify::Result<notify::Event>>();
    let started = Instant::now();
    let (_watcher, polling) = start_watcher(&project.dir, options, events_tx, reporter)?;
    reporter.emit(&Event::Ready {
        rules: rules.iter().map(|r| r.name.as_str()).collect(),
        files_root: project.dir.display().to_string(),
        watch_ms: started.elapsed().as_millis(),
        polling,
    });

    // One worker per rule: a trigger channel in, results out.
    let (results_tx, mut results_rx) = mpsc::unbounded_channel::<WorkerMessage>();
    let mut triggers = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        let (tx, rx) = mpsc::unbounded_channel::<Option<String>>();
        if options.initial_build {
            let _ = tx.send(None);
        }
        triggers.push(tx);
        let worker = RuleWorker { docker: docker.clone(), project: project.clone(), rule: rule.clone(), index };
        tokio::task::spawn_local(worker.run(rx, results_tx.clone()));
    }
    drop(results_tx);

    let mut states: Vec<&str> = vec!["waiting"; rules.len()];
    let status_line = |states: &[&str]| {
        let parts: Vec<String> = rules.iter().zip(states).map(|(r, s)| format!("{} {s}", r.name)).collect();
        format!("watching: {}  (Ctrl-C stops; the stack stays up)", parts.join(" · "))
    };
    reporter.status(&status_line(&states));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    // Changed paths per rule, sent once `quiet` has passed without more.
    let mut debouncer = Debouncer::new(options.quiet);
    loop {
        let due = debouncer.due();
        let timer = async {
            match due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut ctrl_c => break,
            Some(event) = events_rx.recv() => match event {
                Ok(event) => {
                    let change = Change::of(event.kind);
                    if change == Change::None {
                        continue;
                    }
                    let hits = event.paths.iter().flat_map(|path| {
                        let (rules_hit, rel) = filters.triggered(path);
                        if rules_hit.is_empty() {
                            tracing::trace!(target: "dmp::watch", "{rel}: no rule ({:?})", event.kind);
                        }
                        for index in &rules_hit {
                            tracing::debug!(target: "dmp::watch", "{rel} triggers {} ({:?})", rules[*index].name, event.kind);
                        }
                        rules_hit.into_iter().map(move |index| (index, rel.clone()))
                    });
                    debouncer.event(hits, change, tokio::time::Instant::now());
                }
                Err(error) => reporter.emit(&Event::Notice { message: format!("file watching: {error}") }),
            },
            () = timer => {
                for (index, rel) in debouncer.take() {
                    tracing::debug!(target: "dmp::watch", "{} runs (last change: {rel})", rules[index].name);
                    let _ = triggers[index].send(Some(rel));
                }
            }
            Some(message) = results_rx.recv() => match message {
                WorkerMessage::Built { index, trigger, duration, ok, output } => {
                    // The status line is a bar: on a terminal, FAILED in red (never with NO_COLOR).
                    let red = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
                    states[index] = match (ok, red) {
                        (true, _) => "ok",
                        (false, true) => "\x1b[31mFAILED\x1b[0m",
                        (false, false) => "FAILED",
                    };
                    reporter.emit(&Event::Build { rule: &rules[index].name, trigger, duration_ms: duration.as_millis(), ok, output });
                    reporter.status(&status_line(&states));
                }
                WorkerMessage::Notice(message) => reporter.emit(&Event::Notice { message }),
            }
        }
    }
    reporter.finish();
    Ok(())
}

/// The rules' services, started (as `up` would) when they are not running.
async fn ensure_services(docker: &Docker, project: &Project, reporter: &Reporter) -> Result<()> {
    let services: BTreeSet<String> = project.dmp.watch.iter().map(|r| r.service.clone()).collect();
    let selected = crate::stack::plan::select(project, &services.iter().cloned().collect::<Vec<_>>())?;
    let running = crate::stack::containers(docker, project, &selected).await?;
    let missing: Vec<String> =
        services.into_iter().filter(|s| !running.iter().any(|c| &c.service == s && c.running())).collect();
    if missing.is_empty() {
        return Ok(());
    }
    reporter.emit(&Event::Notice { message: format!("starting {}", missing.join(", ")) });
    let options =
        UpOptions { services: missing, wait: false, timeout: Duration::from_secs(120), ..UpOptions::default() };
    let quiet = Progress::new(crate::ui::Mode::Quiet, &[]);
    up::up(docker, project, &options, &quiet).await?;
    Ok(())
}
