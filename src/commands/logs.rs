//! `dmp logs`: the services' output, each line behind its service's name.
//! Without `-f` the lines of all services are merged in time order; with
//! `-f` they are printed as they arrive.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use bollard::Docker;
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt as _;
use futures_util::stream::select_all;

use crate::cli::{GlobalArgs, LogsArgs, ProjectArgs};
use crate::engine::EngineError;
use crate::error::{Error, Result};

/// ANSI colours for service names, in turn.
const COLOURS: [u8; 6] = [36, 33, 32, 35, 34, 31];

pub async fn run(args: &LogsArgs, project_args: &ProjectArgs, global: &GlobalArgs) -> Result<ExitCode> {
    let (_, docker, containers) = super::project_containers(project_args, global, &args.services).await?;
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let width = containers.iter().map(|c| c.service.len()).max().unwrap_or(0);
    let prefixes: Vec<String> = containers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = format!("{:<width$} |", c.service);
            if colour { format!("\x1b[{}m{name}\x1b[0m", COLOURS[i % COLOURS.len()]) } else { name }
        })
        .collect();

    let mut out = std::io::stdout().lock();
    if args.follow {
        let streams = containers.iter().enumerate().map(|(i, c)| {
            let prefix = prefixes[i].clone();
            lines(&docker, &c.name, args, true).map(move |line| (prefix.clone(), line))
        });
        let mut merged = select_all(streams);
        while let Some((prefix, line)) = merged.next().await {
            let (time, text) = line.map_err(EngineError::from)?;
            print_line(&mut out, &prefix, args.timestamps.then_some(time.as_str()), &text)?;
        }
    } else {
        let mut all = Vec::new();
        for (i, container) in containers.iter().enumerate() {
            let mut stream = Box::pin(lines(&docker, &container.name, args, false));
            while let Some(line) = stream.next().await {
                let (time, text) = line.map_err(EngineError::from)?;
                all.push((time, i, text));
            }
        }
        // RFC 3339 with nanoseconds sorts as text; ties keep each log's order.
        all.sort_by(|a, b| a.0.cmp(&b.0));
        for (time, i, text) in all {
            print_line(&mut out, &prefixes[i], args.timestamps.then_some(time.as_str()), &text)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_line(out: &mut impl std::io::Write, prefix: &str, time: Option<&str>, text: &str) -> Result<()> {
    match time {
        Some(time) => writeln!(out, "{prefix} {time} {text}"),
        None => writeln!(out, "{prefix} {text}"),
    }
    .map_err(Error::Output)
}

/// A container's log as `(timestamp, line)` pairs. The Engine may split or
/// join lines across chunks, so they are reassembled here.
fn lines<'a>(
    docker: &'a Docker,
    container: &str,
    args: &LogsArgs,
    follow: bool,
) -> impl futures_util::Stream<Item = Result<(String, String), bollard::errors::Error>> + 'a {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .timestamps(true)
        .follow(follow)
        .tail(&args.tail)
        .build();
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
