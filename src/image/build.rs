//! One image build through the Engine's classic builder (the one Engine 20.10
//! runs without a `BuildKit` session): the context goes up as a tar, the
//! progress comes back as a stream of JSON messages that are turned into
//! step and output events, and tags are added only after success, so a
//! failed build leaves earlier good tags where they were.

use std::collections::{HashMap, VecDeque};

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bollard::query_parameters::{BuildImageOptionsBuilder, TagImageOptionsBuilder};
use futures_util::StreamExt as _;

/// How many output lines a failure shows.
const TAIL_LINES: usize = 15;

#[derive(Debug)]
pub struct BuildRequest {
    /// `repo:tag`, set by the build itself.
    pub tag: String,
    /// Further `repo:tag`s pointed at the result after success.
    pub extra_tags: Vec<String>,
    pub dockerfile: String,
    pub context: Vec<u8>,
    pub build_args: HashMap<String, String>,
    pub labels: HashMap<String, String>,
    /// A multi-stage build's stage.
    pub target: Option<String>,
    pub no_cache: bool,
    /// The classic builder's other settings (a service's `build:` keys).
    pub options: BuildOptions,
}

/// `cache_from`, `pull`, `network`, `shm_size`, `extra_hosts`, `platform`.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub cache_from: Vec<String>,
    pub pull: bool,
    pub network: Option<String>,
    pub shm_size: Option<i64>,
    pub extra_hosts: Vec<String>,
    pub platform: Option<String>,
}

/// What a running build reports, line by line.
#[derive(Debug, Clone, Copy)]
pub enum BuildEvent<'a> {
    /// `Step 3/9 : RUN ...`
    Step(&'a str),
    /// The current step came from the Engine's cache.
    Cached,
    /// Any other output line.
    Output(&'a str),
}

impl BuildEvent<'_> {
    /// Shows the event on a progress line: steps as stages, cache hits
    /// left out of plain logs, output as detail.
    pub fn show(self, task: &mut crate::ui::Task) {
        match self {
            Self::Step(step) => task.stage(step),
            Self::Cached => task.skip_stage(),
            Self::Output(line) => task.detail(line),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Built {
    pub image_id: String,
    /// Steps that can come from the cache (all but `FROM` and leading `ARG`s).
    pub steps: usize,
    pub cached_steps: usize,
}

impl Built {
    /// Every step came from the Engine's cache: nothing was rebuilt.
    pub fn fully_cached(&self) -> bool {
        self.cached_steps == self.steps
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct BuildFailure {
    /// The step that failed, as the builder printed it.
    pub step: Option<String>,
    pub message: String,
    /// The last output lines before the failure.
    pub tail: Vec<String>,
}

impl BuildFailure {
    /// The block an error report shows: what failed where, the last output
    /// lines, the builder's message.
    pub fn report(&self, what: &str) -> String {
        let mut text = match &self.step {
            Some(step) => format!("{what} failed at {step}"),
            None => format!("{what} failed"),
        };
        for line in &self.tail {
            text.push_str("\n  │ ");
            text.push_str(line);
        }
        text.push_str("\n  ");
        text.push_str(&self.message);
        text
    }
}

/// Follows a build's output stream.
#[derive(Debug, Default)]
struct BuildLog {
    partial: String,
    step: Option<String>,
    steps: usize,
    /// `FROM` steps and the `ARG`s before the first one: the builder reports
    /// no cache hit or miss for them.
    uncached_kind_steps: usize,
    seen_from: bool,
    cached_steps: usize,
    tail: VecDeque<String>,
}

impl BuildLog {
    /// Splits stream text into lines (a message may hold several, or half of
    /// one) and reports each.
    fn feed(&mut self, text: &str, on_event: &mut impl FnMut(BuildEvent)) {
        self.partial.push_str(text);
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            self.line(strip_ansi(&line).trim_end(), on_event);
        }
    }

    fn line(&mut self, line: &str, on_event: &mut impl FnMut(BuildEvent)) {
        if line.is_empty() {
            return;
        }
        if line.starts_with("Step ") && line.contains(" : ") {
            self.steps += 1;
            let instruction = line.split_once(" : ").map_or("", |(_, i)| i);
            let is_from = instruction.get(..5).is_some_and(|w| w.eq_ignore_ascii_case("FROM "));
            if is_from || !self.seen_from {
                self.uncached_kind_steps += 1;
            }
            self.seen_from |= is_from;
            self.step = Some(line.to_owned());
            on_event(BuildEvent::Step(line));
            return;
        }
        if line.trim() == "---> Using cache" {
            self.cached_steps += 1;
            on_event(BuildEvent::Cached);
            return;
        }
        // The builder's own bookkeeping says nothing about why a step failed.
        let trimmed = line.trim_start();
        if trimmed.starts_with("---> ") || trimmed.starts_with("Removing intermediate container") {
            on_event(BuildEvent::Output(line));
            return;
        }
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line.to_owned());
        on_event(BuildEvent::Output(line));
    }

    fn failure(mut self, message: &str) -> BuildFailure {
        let rest = std::mem::take(&mut self.partial);
        self.line(rest.trim_end(), &mut |_| {});
        BuildFailure { step: self.step, message: message.trim().to_owned(), tail: self.tail.into() }
    }
}

/// Drops ANSI escape sequences: the builder wraps a step's stderr in colour
/// codes, which would show up raw in logs and error reports.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        if ch == '\x1b' {
            // CSI: ESC [ parameters final-byte (0x40..=0x7e)
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('\x40'..='\x7e').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(ch);
        }
    }
    out
}

/// Builds and tags one image, reporting progress through `on_event`.
pub async fn build(
    docker: &Docker,
    request: BuildRequest,
    mut on_event: impl FnMut(BuildEvent),
) -> Result<Built, BuildFailure> {
    let mut options = BuildImageOptionsBuilder::default()
        .dockerfile(&request.dockerfile)
        .t(&request.tag)
        .rm(true)
        .forcerm(true)
        .nocache(request.no_cache)
        .buildargs(&request.build_args)
        .labels(&request.labels);
    if let Some(target) = &request.target {
        options = options.target(target);
    }
    let extra = &request.options;
    if !extra.cache_from.is_empty() {
        options = options.cachefrom(&extra.cache_from);
    }
    if extra.pull {
        options = options.pull("1");
    }
    if let Some(network) = &extra.network {
        options = options.networkmode(network);
    }
    if let Some(size) = extra.shm_size.and_then(|s| i32::try_from(s).ok()) {
        options = options.shmsize(size);
    }
    let hosts = extra.extra_hosts.join(",");
    if !hosts.is_empty() {
        options = options.extrahosts(&hosts);
    }
    if let Some(platform) = &extra.platform {
        options = options.platform(platform);
    }
    let options = options.build();
    tracing::debug!(target: "dmp::engine", "build image {}", request.tag);
    let mut stream = docker.build_image(options, None, Some(bollard::body_full(request.context.into())));

    let mut log = BuildLog::default();
    let mut image_id = None;
    while let Some(message) = stream.next().await {
        match message {
            Ok(info) => {
                if let Some(text) = info.stream.as_deref() {
                    log.feed(text, &mut on_event);
                }
                if let Some(id) = info.aux {
                    image_id = id.id;
                }
            }
            Err(BollardError::DockerStreamError { error }) => return Err(log.failure(&error)),
            Err(other) => {
                return Err(log.failure(&format!("the Engine broke off the build: {other}")));
            }
        }
    }
    log.feed("\n", &mut on_event);

    // Engines that send no aux message still name the image they tagged.
    let image_id = match image_id {
        Some(id) => id,
        None => docker
            .inspect_image(&request.tag)
            .await
            .ok()
            .and_then(|image| image.id)
            .ok_or_else(|| log_failure(&mut log, "the build ended without producing an image"))?,
    };

    for extra in &request.extra_tags {
        let (repo, tag) = extra.rsplit_once(':').unwrap_or((extra, "latest"));
        let options = TagImageOptionsBuilder::default().repo(repo).tag(tag).build();
        docker
            .tag_image(&image_id, Some(options))
            .await
            .map_err(|e| log_failure(&mut log, &format!("built {image_id}, but tagging it {extra} failed: {e}")))?;
    }

    Ok(Built { image_id, steps: log.steps - log.uncached_kind_steps, cached_steps: log.cached_steps })
}

fn log_failure(log: &mut BuildLog, message: &str) -> BuildFailure {
    std::mem::take(log).failure(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_cache_hits_and_split_lines_are_tracked() {
        let mut log = BuildLog::default();
        let mut events = Vec::new();
        let mut record = |e: BuildEvent| {
            events.push(match e {
                BuildEvent::Step(s) => format!("step:{s}"),
                BuildEvent::Output(s) => format!("out:{s}"),
                BuildEvent::Cached => "cached".to_owned(),
            });
        };
        for chunk in [
            "Step 0/3 : ARG V=1\n",
            "Step 1/3 : FROM debian:bookworm-slim\n ---> 901668b470de\n",
            "Step 2/3 : RUN apt-get upd",
            "ate\n ---> Using cache\n ---> 1234\nStep 3/3 : LABEL a=b\n",
            " ---> Running in 99\n",
        ] {
            log.feed(chunk, &mut record);
        }
        assert_eq!(
            events,
            [
                "step:Step 0/3 : ARG V=1",
                "step:Step 1/3 : FROM debian:bookworm-slim",
                "out: ---> 901668b470de",
                "step:Step 2/3 : RUN apt-get update",
                "cached",
                "out: ---> 1234",
                "step:Step 3/3 : LABEL a=b",
                "out: ---> Running in 99",
            ]
        );
        assert_eq!((log.steps, log.uncached_kind_steps, log.cached_steps), (4, 2, 1));
    }

    #[test]
    fn colour_codes_and_builder_bookkeeping_stay_out_of_the_tail() {
        let mut log = BuildLog::default();
        log.feed("Step 2/2 : RUN apt-get install nope\n ---> Running in 25a2\n", &mut |_| {});
        log.feed(
            "\x1b[91mE: Unable to locate package nope\n\x1b[0mRemoving intermediate container 25a2\n",
            &mut |_| {},
        );
        let failure = log.failure("returned a non-zero code: 100");
        assert_eq!(failure.tail, ["E: Unable to locate package nope"]);
    }

    #[test]
    fn a_failure_names_the_step_and_keeps_the_last_lines() {
        let mut log = BuildLog::default();
        log.feed("Step 2/2 : RUN make\n", &mut |_| {});
        for i in 0..40 {
            log.feed(&format!("line {i}\n"), &mut |_| {});
        }
        log.feed("no newline at the end", &mut |_| {});
        let failure = log.failure("The command '/bin/sh -c make' returned a non-zero code: 2\n");
        assert_eq!(failure.step.as_deref(), Some("Step 2/2 : RUN make"));
        assert_eq!(failure.tail.len(), TAIL_LINES);
        assert_eq!(failure.tail.last().map(String::as_str), Some("no newline at the end"));
        assert_eq!(failure.message, "The command '/bin/sh -c make' returned a non-zero code: 2");
    }
}
