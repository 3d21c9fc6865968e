//! `dmp watch`: host-side file watching that reruns asset rules inside their
//! long-lived service (an exec in buildstatic, never a container per change).
//!
//! Events come from notify, watching directories recursively (so editors
//! that save by rename are seen); a short quiet window, kept here with one
//! timer that is armed only while changes are pending, coalesces bursts.
//! (notify-debouncer-full's ticking thread cost 0.5 % CPU while idle.) Each rule has one build in flight at most, and changes during a
//! build queue exactly one more run. Rules build in parallel. A failed build
//! keeps watching; a missing container or Engine is waited for and the
//! service brought back.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::Docker;
use globset::{GlobSet, GlobSetBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use notify::{PollWatcher, RecursiveMode, Watcher as _};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::compose::Project;
use crate::compose::model::WatchRule;
use crate::error::{Error, Result};
use crate::stack::converge::{self, UpOptions};
use crate::stack::{container_name, exec};
use crate::ui::Progress;

/// Never a trigger: editors' temporary files and version control.
const ALWAYS_IGNORED: [&str; 9] = [
    "**/*.swp",
    "**/*.swo",
    "**/*.swx",
    "**/*~",
    "**/4913",
    "**/.#*",
    "**/*___jb_tmp___",
    "**/*___jb_old___",
    "**/.DS_Store",
];
const VCS_DIRS: [&str; 4] = [".git", ".hg", ".svn", "node_modules/.cache"];

#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Quiet time that ends a burst of changes.
    pub quiet: Duration,
    /// Poll instead of inotify.
    pub poll: bool,
    /// Build every rule once before watching.
    pub initial_build: bool,
}

/// One line of `--json` output.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event<'a> {
    /// Watching has begun.
    Ready {
        rules: Vec<&'a str>,
        files_root: String,
        watch_ms: u128,
        polling: bool,
    },
    Build {
        rule: &'a str,
        trigger: Option<String>,
        duration_ms: u128,
        ok: bool,
        output: String,
    },
    /// Something that needs the user's attention (a lost container, polling).
    Notice {
        message: String,
    },
}

/// Which changed paths trigger which rule.
#[derive(Debug)]
struct RuleFilter {
    watch: GlobSet,
    ignore: GlobSet,
}

#[derive(Debug)]
pub struct Filters {
    root: PathBuf,
    always: GlobSet,
    gitignore: Gitignore,
    rules: Vec<RuleFilter>,
}

impl Filters {
    pub fn new(root: &Path, rules: &[WatchRule]) -> Result<Self> {
        let always = glob_set(ALWAYS_IGNORED.iter().map(|s| (*s).to_owned()), "built-in ignore")?;
        let mut builder = GitignoreBuilder::new(root);
        // A missing .gitignore is no error; a broken line is skipped, as git does.
        let _ = builder.add(root.join(".gitignore"));
        let gitignore = builder.build().unwrap_or_else(|_| Gitignore::empty());
        let rules = rules
            .iter()
            .map(|rule| {
                let watch = if rule.watch.is_empty() { vec!["**".to_owned()] } else { rule.watch.clone() };
                Ok(RuleFilter {
                    watch: glob_set(watch.into_iter(), &rule.name)?,
                    ignore: glob_set(rule.ignore.iter().cloned(), &rule.name)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self { root: root.to_owned(), always, gitignore, rules })
    }

    /// The rules (by index) a change of `path` triggers, with its path
    /// relative to the project.
    pub fn triggered(&self, path: &Path) -> (Vec<usize>, String) {
        let Ok(rel) = path.strip_prefix(&self.root) else { return (Vec::new(), String::new()) };
        let rel_text = rel.to_string_lossy().into_owned();
        let ignored = rel.components().next().is_none()
            || VCS_DIRS.iter().any(|d| rel.starts_with(d))
            || self.always.is_match(rel)
            || self.gitignore.matched_path_or_any_parents(rel, path.is_dir()).is_ignore();
        if ignored {
            return (Vec::new(), rel_text);
        }
        let rules = self
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.watch.is_match(rel) && !r.ignore.is_match(rel))
            .map(|(i, _)| i)
            .collect();
        (rules, rel_text)
    }
}

fn glob_set(patterns: impl Iterator<Item = String>, rule: &str) -> Result<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob =
            globset::GlobBuilder::new(&pattern).literal_separator(true).build().map_err(|e| Error::NotConfigured {
                what: format!("a valid watch glob for {rule} ({pattern:?}: {e})"),
                fix: "write globs like assets/scss/**/*.scss".into(),
            })?;
        builder.add(glob);
    }
    builder
        .build()
        .map_err(|e| Error::NotConfigured { what: format!("valid watch globs for {rule}: {e}"), fix: String::new() })
}

/// Prints events: JSON lines, or text lines under a status line.
pub struct Reporter {
    json: bool,
    progress: Progress,
    status: Option<crate::ui::Task>,
    width: usize,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter").field("json", &self.json).finish_non_exhaustive()
    }
}

impl Reporter {
    pub fn new(json: bool, mode: crate::ui::Mode, rules: &[WatchRule]) -> Self {
        let progress = Progress::new(if json { crate::ui::Mode::Quiet } else { mode }, &["watch".to_owned()]);
        let status = (mode == crate::ui::Mode::Terminal && !json).then(|| progress.task("watch"));
        Self { json, progress, status, width: rules.iter().map(|r| r.name.len()).max().unwrap_or(0) }
    }

    fn emit(&self, event: &Event) {
        if self.json {
            if let Ok(line) = serde_json::to_string(event) {
                println!("{line}");
            }
            return;
        }
        let line = match event {
            Event::Ready { rules, watch_ms, polling, .. } => format!(
                "watching {} rules ({}) after {watch_ms} ms{}",
                rules.len(),
                rules.join(", "),
                if *polling { ", polling" } else { "" }
            ),
            Event::Build { rule, trigger, duration_ms, ok, output } => {
                let mut line = format!(
                    "{rule:<w$}  {}  {duration_ms} ms  {}",
                    trigger.as_deref().unwrap_or("(start)"),
                    if *ok { "ok" } else { "FAILED" },
                    w = self.width
                );
                if !ok {
                    for out in output.lines() {
                        line.push_str("\n    ");
                        line.push_str(out);
                    }
                }
                line
            }
            Event::Notice { message } => format!("watch: {message}"),
        };
        self.progress.println(&line);
    }

    /// Closes the status line when watching ends.
    fn finish(&mut self) {
        if let Some(task) = self.status.take() {
            task.finish(true, "stopped watching; the stack is still up");
        }
    }

    fn status(&mut self, text: &str) {
        if let Some(task) = &mut self.status {
            task.stage(text);
        }
    }
}

/// Watches until Ctrl-C. The rule workers share the runtime's one thread
/// (converging is not `Send`), so they run on a local task set.
pub async fn run(docker: &Docker, project: &Project, options: &WatchOptions, reporter: &mut Reporter) -> Result<()> {
    tokio::task::LocalSet::new().run_until(watch(docker, project, options, reporter)).await
}

async fn watch(docker: &Docker, project: &Project, options: &WatchOptions, reporter: &mut Reporter) -> Result<()> {
    let rules = &project.dmp.watch;
    if rules.is_empty() {
        return Err(Error::NotConfigured {
            what: "any watch rules".into(),
            fix: "add rules under `x-dmp: { watch: [{ name, command, watch: [globs] }] }`".into(),
        });
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
    let mut pending: std::collections::BTreeMap<usize, String> = std::collections::BTreeMap::new();
    let mut quiet_until: Option<tokio::time::Instant> = None;
    loop {
        let timer = async {
            match quiet_until {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut ctrl_c => break,
            Some(event) = events_rx.recv() => match event {
                Ok(event) if !event.kind.is_access() => {
                    for path in &event.paths {
                        let (rules_hit, rel) = filters.triggered(path);
                        for index in rules_hit {
                            pending.insert(index, rel.clone());
                        }
                    }
                    if !pending.is_empty() {
                        quiet_until = Some(tokio::time::Instant::now() + options.quiet);
                    }
                }
                Ok(_) => {}
                Err(error) => reporter.emit(&Event::Notice { message: format!("file watching: {error}") }),
            },
            () = timer => {
                quiet_until = None;
                for (index, rel) in std::mem::take(&mut pending) {
                    let _ = triggers[index].send(Some(rel));
                }
            }
            Some(message) = results_rx.recv() => match message {
                WorkerMessage::Built { index, trigger, duration, ok, output } => {
                    states[index] = if ok { "ok" } else { "FAILED" };
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

type Watcher = Box<dyn notify::Watcher>;

/// inotify (or the platform's watcher), falling back to polling when the
/// system's watch limit is reached; polling when asked.
fn start_watcher(
    root: &Path,
    options: &WatchOptions,
    events: mpsc::UnboundedSender<notify::Result<notify::Event>>,
    reporter: &Reporter,
) -> Result<(Watcher, bool)> {
    let handler = {
        let events = events.clone();
        move |event| {
            let _ = events.send(event);
        }
    };
    if !options.poll {
        let started = notify::recommended_watcher(handler).and_then(|mut watcher| {
            watcher.watch(root, RecursiveMode::Recursive)?;
            Ok(watcher)
        });
        match started {
            Ok(watcher) => return Ok((Box::new(watcher), false)),
            Err(e) if is_watch_limit(&e) => reporter.emit(&Event::Notice {
                message: "too many files for inotify (the limit is fs.inotify.max_user_watches; raise it with \
                          `sudo sysctl fs.inotify.max_user_watches=524288`); polling instead"
                    .into(),
            }),
            Err(e) => return Err(Error::Watch(e.to_string())),
        }
    }
    let config = notify::Config::default().with_poll_interval(Duration::from_millis(300));
    let handler = move |event| {
        let _ = events.send(event);
    };
    let mut watcher = PollWatcher::new(handler, config).map_err(|e| Error::Watch(e.to_string()))?;
    watcher.watch(root, RecursiveMode::Recursive).map_err(|e| Error::Watch(e.to_string()))?;
    Ok((Box::new(watcher), true))
}

fn is_watch_limit(error: &notify::Error) -> bool {
    matches!(error.kind, notify::ErrorKind::MaxFilesWatch)
        || matches!(&error.kind, notify::ErrorKind::Io(io) if io.raw_os_error() == Some(28))
}

/// The rules' services, started (as `up` would) when they are not running.
async fn ensure_services(docker: &Docker, project: &Project, reporter: &Reporter) -> Result<()> {
    let services: BTreeSet<String> = project.dmp.watch.iter().map(|r| r.service.clone()).collect();
    let running = crate::stack::containers(docker, &project.name).await?;
    let missing: Vec<String> =
        services.into_iter().filter(|s| !running.iter().any(|c| &c.service == s && c.running())).collect();
    if missing.is_empty() {
        return Ok(());
    }
    reporter.emit(&Event::Notice { message: format!("starting {}", missing.join(", ")) });
    let options =
        UpOptions { services: missing, wait: false, timeout: Duration::from_secs(120), ..UpOptions::default() };
    let quiet = Progress::new(crate::ui::Mode::Quiet, &[]);
    converge::up(docker, project, &options, &quiet).await.map(|_| ())
}

enum WorkerMessage {
    Built { index: usize, trigger: Option<String>, duration: Duration, ok: bool, output: String },
    Notice(String),
}

struct RuleWorker {
    docker: Docker,
    project: Project,
    rule: WatchRule,
    index: usize,
}

impl RuleWorker {
    /// Builds on each trigger; triggers that arrive during a build collapse
    /// into one more run.
    async fn run(
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
        let container = container_name(&self.project.name, &self.rule.service);
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
                    if converge::up(&self.docker, &self.project, &options, &quiet).await.is_err() {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                Err(e) => return (false, format!("could not run the build in {container}: {e}")),
            }
        }
        (false, format!("{container} did not come back"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, watch: &[&str], ignore: &[&str]) -> WatchRule {
        WatchRule {
            name: name.into(),
            command: "true".into(),
            service: "buildstatic".into(),
            watch: watch.iter().map(|s| (*s).to_owned()).collect(),
            ignore: ignore.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn filters_pick_rules_and_ignore_temp_vcs_and_gitignored_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(".gitignore"), "static/\n*.log\n").expect("write");
        let rules = [
            rule("styles", &["assets/scss/**/*.scss"], &["assets/scss/vendor/**"]),
            rule("scripts", &["assets/js/**/*.js"], &[]),
        ];
        let filters = Filters::new(dir.path(), &rules).expect("filters");
        let hit = |rel: &str| filters.triggered(&dir.path().join(rel)).0;
        assert_eq!(hit("assets/scss/application.scss"), [0]);
        assert_eq!(hit("assets/scss/deep/_partial.scss"), [0]);
        assert_eq!(hit("assets/js/main.js"), [1]);
        assert!(hit("assets/scss/vendor/x.scss").is_empty(), "the rule's ignore");
        assert!(hit("assets/js/main.css").is_empty(), "no rule's glob");
        for ignored in [
            "assets/scss/.application.scss.swp",
            "assets/scss/application.scss~",
            "assets/scss/4913",
            "assets/scss/.#application.scss",
            "assets/js/main.js___jb_tmp___",
            ".git/index",
            "static/css/application.css",
            "debug.log",
        ] {
            assert!(hit(ignored).is_empty(), "{ignored} triggered a build");
        }
    }
}
