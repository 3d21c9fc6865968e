//! What `watch` tells the user: JSON event lines, or text lines under a
//! status line.

use serde::Serialize;

use crate::compose::model::WatchRule;
use crate::ui::Progress;

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

/// Takes each event and its text line instead of the terminal (`dmp dev`
/// prints them under its own status line).
pub type Sink = Box<dyn Fn(&Event<'_>, &str)>;

/// Prints events: JSON lines, or text lines under a status line.
pub struct Reporter {
    json: bool,
    progress: Progress,
    status: Option<crate::ui::Task>,
    width: usize,
    sink: Option<Sink>,
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
        Self { json, progress, status, width: rules.iter().map(|r| r.name.len()).max().unwrap_or(0), sink: None }
    }

    /// Text lines, each given to `sink` with its event; no status line.
    pub fn to_sink(rules: &[WatchRule], sink: Sink) -> Self {
        Self { sink: Some(sink), ..Self::new(false, crate::ui::Mode::Quiet, rules) }
    }

    pub(super) fn emit(&self, event: &Event) {
        if self.json {
            if let Ok(mut line) = serde_json::to_value(event) {
                if let Some(object) = line.as_object_mut() {
                    object.insert("schema".into(), crate::commands::SCHEMA.into());
                }
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
                // FAILED in red on a terminal (never with NO_COLOR).
                let red = std::io::IsTerminal::is_terminal(&std::io::stderr())
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
                let verdict = match (*ok, red) {
                    (true, _) => "ok",
                    (false, true) => "\x1b[31mFAILED\x1b[0m",
                    (false, false) => "FAILED",
                };
                let mut line = format!(
                    "{rule:<w$}  {}  {duration_ms} ms  {verdict}",
                    trigger.as_deref().unwrap_or("(start)"),
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
        match &self.sink {
            Some(sink) => sink(event, &line),
            None => self.progress.println(&line),
        }
    }

    /// Closes the status line when watching ends.
    pub(super) fn finish(&mut self) {
        if let Some(task) = self.status.take() {
            task.finish(true, "stopped watching; the stack is still up");
        }
    }

    pub(super) fn status(&mut self, text: &str) {
        if let Some(task) = &mut self.status {
            task.stage(text);
        }
    }
}
