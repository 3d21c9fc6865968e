//! One worker per rule: one build in flight at most, and changes during a
//! build collapse into one more run. Builds go to the rule's long-lived
//! worker exec (`server`), started when watching starts; when it dies, that
//! build runs as an exec of the rule's `command` and the worker is started
//! again for the next one.

use std::time::{Duration, Instant};

use bollard::Docker;
use tokio::sync::mpsc;

use super::Filters;
use super::server::Server;
use super::stamp;
use crate::compose::Project;
use crate::compose::model::WatchRule;
use crate::stack::up::{self, UpOptions};
use crate::stack::{container_name, exec};
use crate::ui::Progress;

/// Worker losses in a row (without one answer between) after which a rule
/// stops starting it and builds by exec alone.
const WORKER_LOSSES: u32 = 3;
/// How long a build may take in a rule's worker, unless the rule sets its
/// `timeout`: then the worker is taken for wedged, killed and restarted.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

pub(super) enum WorkerMessage {
    Built { index: usize, trigger: Option<String>, duration: Duration, ok: bool, output: String },
    Notice(String),
}

pub(super) struct RuleWorker {
    pub docker: Docker,
    pub project: Project,
    pub rule: WatchRule,
    pub index: usize,
}

/// The rule's worker exec and how often it went away.
struct Warm {
    server: Option<Server>,
    losses: u32,
}

impl RuleWorker {
    /// Builds on each trigger; triggers that arrive during a build collapse
    /// into one more run.
    pub(super) async fn run(
        self,
        mut triggers: mpsc::UnboundedReceiver<Option<String>>,
        results: mpsc::UnboundedSender<WorkerMessage>,
    ) {
        let filters = Filters::new(&self.project.dir, std::slice::from_ref(&self.rule)).ok();
        let mut warm = Warm { server: None, losses: 0 };
        // Started before the first change, so no save waits for it.
        self.start_server(&mut warm).await;
        while let Some(mut trigger) = triggers.recv().await {
            while let Ok(later) = triggers.try_recv() {
                trigger = later.or(trigger);
            }
            let started = Instant::now();
            // The sources as they are when the build starts: a change during
            // the build queues another run, and leaves this stamp stale.
            let now = filters.as_ref().map(|f| {
                let sources = stamp::sources(&self.project.dir, f, 1);
                stamp::current(&self.project.dir, &self.rule, &sources[0])
            });
            let (ok, output) = self.build(&mut warm, trigger.as_deref(), &results).await;
            match (&now, ok) {
                (Some(now), true) => stamp::record(&self.project.dir, &self.rule, now),
                (_, false) => stamp::forget(&self.project.dir, &self.rule),
                (None, true) => {}
            }
            let built = WorkerMessage::Built { index: self.index, trigger, duration: started.elapsed(), ok, output };
            if results.send(built).is_err() {
                return;
            }
        }
    }

    async fn start_server(&self, warm: &mut Warm) {
        if warm.server.is_some() || warm.losses >= WORKER_LOSSES {
            return;
        }
        let container = container_name(&self.project, &self.rule.service);
        match Server::start(&self.docker, &container, &self.rule).await {
            Ok(server) => warm.server = Some(server),
            Err(e) => {
                // Not running yet, or gone: the exec path brings it back.
                tracing::debug!(target: "dmp::watch", "cannot start the {} worker: {e}", self.rule.name);
            }
        }
    }

    /// One build: by the warm worker when it answers, else by an exec.
    async fn build(
        &self,
        warm: &mut Warm,
        trigger: Option<&str>,
        messages: &mpsc::UnboundedSender<WorkerMessage>,
    ) -> (bool, String) {
        self.start_server(warm).await;
        if let Some(server) = warm.server.as_mut() {
            let timeout = self.rule.timeout.map_or(DEFAULT_TIMEOUT, Duration::from_nanos);
            let Ok(answer) = tokio::time::timeout(timeout, server.build(trigger)).await else {
                return self.wedged(warm, timeout).await;
            };
            match answer {
                Ok((code, output)) => {
                    warm.losses = 0;
                    return (code == 0, output);
                }
                Err(lost) => {
                    warm.server = None;
                    warm.losses += 1;
                    let what = if self.rule.serve.is_some() { "its worker (`serve`)" } else { "its build shell" };
                    let said = lost.output.trim();
                    let said = if said.is_empty() { String::new() } else { format!(": {said}") };
                    let next = if warm.losses >= WORKER_LOSSES {
                        "from now on each build is an exec of its command"
                    } else {
                        "this build runs as an exec of its command; the worker restarts for the next"
                    };
                    let _ =
                        messages.send(WorkerMessage::Notice(format!("{} lost {what}{said}; {next}", self.rule.name)));
                }
            }
        }
        self.exec_build(messages).await
    }

    /// A worker that gave no answer in `timeout`: killed (with what it
    /// started) and started again, and the build failed. Not run again as
    /// an exec: what wedged the worker would most likely wedge that too.
    /// The output stays as it was (the workers write it by renaming).
    async fn wedged(&self, warm: &mut Warm, timeout: Duration) -> (bool, String) {
        let container = container_name(&self.project, &self.rule.service);
        let what = if self.rule.serve.is_some() { "its worker" } else { "its build shell" };
        let mut message = format!("no answer from {what} in {}; killed it, and it restarts", humantime(timeout));
        if let Some(server) = warm.server.take()
            && let Err(e) = server.kill(&self.docker, &container).await
        {
            message = format!("no answer from {what} in {}; could not kill it ({e})", humantime(timeout));
        }
        self.start_server(warm).await;
        (false, format!("{message} (the last good output is kept; `timeout:` in the rule sets the limit)\n"))
    }

    /// One run of the rule's command as an exec; a lost container or Engine
    /// is brought back first.
    async fn exec_build(&self, messages: &mpsc::UnboundedSender<WorkerMessage>) -> (bool, String) {
        let container = container_name(&self.project, &self.rule.service);
        let command = vec!["sh".to_owned(), "-c".to_owned(), self.rule.command.clone()];
        for attempt in 0..60 {
            match exec::capture(&self.docker, &container, command.clone()).await {
                Ok((code, output)) => return (code == 0, output),
                Err(e) if attempt < 59 => {
                    // The container is gone or stopped, or the Engine is
                    // restarting: bring the service back, then build.
                    if attempt == 0 {
                        let _ = messages.send(WorkerMessage::Notice(format!(
                            "{} cannot run {} ({e}); bringing it back",
                            self.rule.service, self.rule.name
                        )));
                    }
                    let options = UpOptions {
                        services: vec![self.rule.service.clone()],
                        wait: false,
                        timeout: Duration::from_secs(60),
                        ..UpOptions::default()
                    };
                    let quiet = Progress::new(crate::ui::Mode::Quiet, &[]);
                    if up::up(&self.docker, &self.project, &options, &quiet).await.is_err() {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                Err(e) => return (false, format!("could not run the build in {container}: {e}")),
            }
        }
        (false, format!("{container} did not come back"))
    }
}

/// `1500 ms`, `30 s`.
fn humantime(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}
