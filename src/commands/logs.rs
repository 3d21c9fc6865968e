//! `dmp logs`: the services' output, each line behind its service's name.
//! Without `-f` the lines of all services are merged in time order; with
//! `-f` they are printed as they arrive.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use bollard::Docker;
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt as _;

use super::error::CommandError;
use super::{Context, Interrupt};
use crate::cli::LogsArgs;
use crate::engine::EngineError;
use crate::error::{Error, Result};

/// Reads only: Ctrl-C stops it at once.
pub const INTERRUPT: Interrupt = Interrupt::READS;

/// ANSI colours for service names, in turn.
const COLOURS: [u8; 6] = [36, 33, 32, 35, 34, 31];

/// `--since` and `--until` as Unix seconds.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    since: Option<i32>,
    until: Option<i32>,
}

impl Window {
    fn new(args: &LogsArgs) -> Result<Self> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let parse = |flag: &'static str, text: &Option<String>| -> Result<Option<i32>> {
            text.as_deref()
                .map(|t| {
                    super::select::parse_time(t, now)
                        .map(|s| i32::try_from(s).unwrap_or(i32::MAX))
                        .map_err(|reason| CommandError::BadTime { flag, reason }.into())
                })
                .transpose()
        };
        Ok(Self { since: parse("since", &args.since)?, until: parse("until", &args.until)? })
    }
}

pub async fn run(args: &LogsArgs, ctx: &Context) -> Result<ExitCode> {
    let window = Window::new(args)?;
    let containers = ctx.containers_of_a_stack_that_is_up(&args.services).await?;
    let docker = ctx.docker().await?;
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let width = containers.iter().map(|c| c.service.len()).max().unwrap_or(0);
    let prefixes: Vec<String> = containers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if args.no_log_prefix {
                return String::new();
            }
            let name = format!("{:<width$} |", c.service);
            if colour { format!("\x1b[{}m{name}\x1b[0m", COLOURS[i % COLOURS.len()]) } else { name }
        })
        .collect();

    let mut out = std::io::stdout().lock();
    if args.follow {
        // One task per container, each re-attaching when its container stops
        // or the Engine goes away; lines come here to be printed in order of
        // arrival.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, String, String)>();
        for (index, container) in containers.iter().enumerate() {
            let follower = Follower {
                docker: docker.clone(),
                container: container.name.clone(),
                tail: args.tail.clone(),
                window,
                index,
            };
            tokio::spawn(follower.run(tx.clone()));
        }
        drop(tx);
        while let Some((index, time, text)) = rx.recv().await {
            print_line(&mut out, &prefixes[index], args.timestamps.then_some(time.as_str()), &text)?;
        }
    } else {
        let mut all = Vec::new();
        for (i, container) in containers.iter().enumerate() {
            let mut stream = Box::pin(lines(docker, &container.name, &args.tail, window, false));
            while let Some(line) = stream.next().await {
                let (time, text) = line.map_err(|e| EngineError::request(format!("logs of {}", container.name), e))?;
                all.push((time, i, text));
            }
        }
        // Ties keep each log's own order.
        all.sort_by_key(|line| sortable(&line.0));
        for (time, i, text) in all {
            print_line(&mut out, &prefixes[i], args.timestamps.then_some(time.as_str()), &text)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_line(out: &mut impl std::io::Write, prefix: &str, time: Option<&str>, text: &str) -> Result<()> {
    let gap = if prefix.is_empty() { "" } else { " " };
    match time {
        Some(time) => writeln!(out, "{prefix}{gap}{time} {text}"),
        None => writeln!(out, "{prefix}{gap}{text}"),
    }
    .map_err(Error::Output)
}

/// A container's log as `(timestamp, line)` pairs. The Engine may split or
/// join lines across chunks, so they are reassembled here.
fn lines<'a>(
    docker: &'a Docker,
    container: &str,
    tail: &str,
    window: Window,
    follow: bool,
) -> impl futures_util::Stream<Item = Result<(String, String), bollard::errors::Error>> + 'a {
    let mut options =
        LogsOptionsBuilder::default().stdout(true).stderr(true).timestamps(true).follow(follow).tail(tail);
    if let Some(since) = window.since {
        options = options.since(since);
    }
    if let Some(until) = window.until {
        options = options.until(until);
    }
    let options = options.build();
    let mut partial = String::new();
    docker.logs(container, Some(options)).flat_map(move |chunk| {
        let lines: Vec<Result<(String, String), bollard::errors::Error>> = match chunk {
            Err(e) => vec![Err(e)],
            Ok(output) => {
                partial.push_str(&String::from_utf8_lossy(&output.into_bytes()));
                let mut complete = Vec::new();
                while let Some(end) = partial.find('\n') {
                    let line: String = partial.drain(..=end).collect();
                    let line = line.trim_end_matches(['\n', '\r']);
                    let (time, text) = line.split_once(' ').unwrap_or((line, ""));
                    complete.push(Ok((time.to_owned(), text.to_owned())));
                }
                complete
            }
        };
        futures_util::stream::iter(lines)
    })
}

/// The Engine's RFC 3339 timestamps drop trailing zeros from the fraction;
/// padded to nanoseconds they compare as text.
fn sortable(time: &str) -> String {
    let time = time.trim_end_matches('Z');
    let (seconds, fraction) = time.split_once('.').unwrap_or((time, ""));
    format!("{seconds}.{fraction:0<9}")
}

/// Follows one container's log for as long as dmp runs: when the container
/// stops or the Engine goes away, it waits and re-attaches, printing only
/// lines newer than the last one printed.
struct Follower {
    docker: Docker,
    container: String,
    tail: String,
    window: Window,
    index: usize,
}

impl Follower {
    async fn run(self, lines_out: tokio::sync::mpsc::UnboundedSender<(usize, String, String)>) {
        let mut last: Option<String> = None;
        loop {
            let tail = if last.is_some() { "all".to_owned() } else { self.tail.clone() };
            let mut stream = Box::pin(lines(&self.docker, &self.container, &tail, self.window, true));
            while let Some(Ok((time, text))) = stream.next().await {
                let key = sortable(&time);
                if last.as_ref().is_some_and(|l| key <= *l) {
                    continue;
                }
                last = Some(key);
                if lines_out.send((self.index, time, text)).is_err() {
                    return;
                }
            }
            self.wait_until_running().await;
        }
    }

    async fn wait_until_running(&self) {
        let mut engine_gone = false;
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            match self
                .docker
                .inspect_container(&self.container, None::<bollard::query_parameters::InspectContainerOptions>)
                .await
            {
                Ok(inspect) if inspect.state.as_ref().and_then(|s| s.running) == Some(true) => {
                    if engine_gone {
                        eprintln!("dmp logs: the Docker Engine is back; following {} again", self.container);
                    }
                    return;
                }
                Err(_) if !engine_gone => {
                    eprintln!("dmp logs: lost the Docker Engine; waiting for it to come back");
                    engine_gone = true;
                }
                // Stopped, or the Engine still away: keep waiting.
                Ok(_) | Err(_) => {}
            }
        }
    }
}
