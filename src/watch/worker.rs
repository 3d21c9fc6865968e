//! One worker per rule: one build in flight at most, and changes during a
//! build collapse into one more run.

use std::time::{Duration, Instant};

use bollard::Docker;
use tokio::sync::mpsc;

use crate::compose::Project;
use crate::compose::model::WatchRule;
use crate::stack::up::{self, UpOptions};
use crate::stack::{container_name, exec};
use crate::ui::Progress;

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

impl RuleWorker {
    /// Builds on each trigger; triggers that arrive during a build collapse
    /// into one more run.
    pub(super) async fn run(
        self,
        mut triggers: mpsc::UnboundedReceiver<Option<String>>,
        results: mpsc::UnboundedSender<WorkerMessage>,
    ) {
        while let Some(mut trigger) = triggers.recv().await {
            while let Ok(later) = triggers.try_recv() {
                trigger = later.or(trigger);
            }
            let started = Instant::now();
            let (ok, output) = self.build(&results).await;
            let built = WorkerMessage::Built { index: self.index, trigger, duration: started.elapsed(), ok, output };
            if results.send(built).is_err() {
                return;
            }
        }
    }

    /// One run of the rule's command; a lost container or Engine is brought
    /// back first.
    async fn build(&self, messages: &mpsc::UnboundedSender<WorkerMessage>) -> (bool, String) {
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
