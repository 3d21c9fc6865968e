//! Read-only Compose commands, each one Engine call per container: `dmp
//! top`, `dmp port`, `dmp wait`, `dmp events`, `dmp ls`, `dmp version`.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::ExitCode;

use bollard::query_parameters::{EventsOptionsBuilder, WaitContainerOptionsBuilder};
use futures_util::StreamExt as _;
use serde::Serialize;

use super::error::CommandError;
use super::{Context, Interrupt, SCHEMA, select};
use crate::cli::{EventsArgs, Format, LsArgs, PortArgs, ServicesArgs, VersionArgs};
use crate::engine::{EngineError, Request as _};
use crate::error::{Error, Result};
use crate::stack::{self, LABEL_PROJECT, labels};

/// Reads only: Ctrl-C stops them at once.
pub const INTERRUPT: Interrupt = Interrupt::READS;

/// `dmp top`: each running container's processes, under its name.
pub async fn top(args: &ServicesArgs, ctx: &Context) -> Result<ExitCode> {
    let containers = ctx.containers(&args.services).await?;
    let docker = ctx.docker().await?;
    let mut out = std::io::stdout().lock();
    for container in containers.iter().filter(|c| c.running()) {
        let name = &container.name;
        let top = docker
            .top_processes(name, None::<bollard::query_parameters::TopOptions>)
            .named(format_args!("list the processes of {name}"))
            .await?;
        writeln!(out, "{name}").map_err(Error::Output)?;
        let titles = top.titles.unwrap_or_default();
        let rows = top.processes.unwrap_or_default();
        let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
        super::print_table(&titles, &rows)?;
        writeln!(out).map_err(Error::Output)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `dmp port SERVICE PORT`: `HOST_IP:PORT` where the port is published.
pub async fn port(args: &PortArgs, ctx: &Context) -> Result<ExitCode> {
    let container = ctx.container(&args.service, args.index).await?;
    let published =
        container.ports.iter().find(|p| p.target == args.port && p.protocol == args.protocol).ok_or_else(|| {
            CommandError::PortNotPublished {
                service: args.service.clone(),
                port: args.port,
                protocol: args.protocol.clone(),
            }
        })?;
    println!("{}:{}", published.host_ip, published.published);
    Ok(ExitCode::SUCCESS)
}

/// `dmp wait SERVICE...`: until each container stops; exits with the first
/// container's exit code, as Compose does.
pub async fn wait(args: &ServicesArgs, ctx: &Context) -> Result<ExitCode> {
    let containers = ctx.containers(&args.services).await?;
    let docker = ctx.docker().await?;
    let mut first = None;
    for container in &containers {
        let options = WaitContainerOptionsBuilder::default().condition("not-running").build();
        let code = match docker.wait_container(&container.name, Some(options)).next().await {
            Some(Ok(response)) => response.status_code,
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
            Some(Err(e)) => {
                return Err(EngineError::request(format!("wait for container {}", container.name), e).into());
            }
            None => 0,
        };
        println!("{code}");
        first.get_or_insert(code);
    }
    Ok(ExitCode::from(first.and_then(|c| u8::try_from(c).ok()).unwrap_or(0)))
}

/// One `dmp events --json` line, with Compose's keys.
#[derive(Debug, Serialize)]
struct Event {
    time: String,
    #[serde(rename = "type")]
    kind: String,
    action: String,
    id: String,
    service: String,
    attributes: HashMap<String, String>,
}

/// `dmp events`: the project's container events as they happen, until
/// Ctrl-C.
pub async fn events(args: &EventsArgs, ctx: &Context) -> Result<ExitCode> {
    let project = ctx.project()?;
    crate::stack::plan::select(project, &args.services)?;
    let docker = ctx.docker().await?;
    let filters = HashMap::from([
        ("label".to_owned(), vec![format!("{LABEL_PROJECT}={}", project.name)]),
        ("type".to_owned(), vec!["container".to_owned()]),
    ]);
    let options = EventsOptionsBuilder::default().filters(&filters).build();
    let mut stream = docker.events(Some(options));
    while let Some(message) = stream.next().await {
        let message = message.map_err(|e| EngineError::request("events", e))?;
        let actor = message.actor.unwrap_or_default();
        let attributes = actor.attributes.unwrap_or_default();
        let service = attributes
            .get(labels::SERVICE)
            .or_else(|| attributes.get(labels::compose::SERVICE))
            .cloned()
            .unwrap_or_default();
        if !args.services.is_empty() && !args.services.contains(&service) {
            continue;
        }
        let nanos = message.time_nano.unwrap_or_default();
        let event = Event {
            time: format_time(nanos),
            kind: message.typ.map(|t| t.to_string()).unwrap_or_default(),
            action: message.action.unwrap_or_default(),
            id: actor.id.unwrap_or_default(),
            service,
            attributes,
        };
        let mut out = std::io::stdout().lock();
        if args.json {
            serde_json::to_writer(&mut out, &event).map_err(|e| Error::Output(e.into()))?;
            writeln!(out).map_err(Error::Output)?;
        } else {
            let name = event.attributes.get("name").map_or("", String::as_str);
            writeln!(out, "{} {} {} {} (service={})", event.time, event.kind, event.action, name, event.service)
                .map_err(Error::Output)?;
        }
        out.flush().map_err(Error::Output)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Unix nanoseconds as `2026-11-22T10:00:00.123456789Z`.
pub fn format_time(nanos: i64) -> String {
    let time = jiff::Timestamp::from_nanosecond(i128::from(nanos)).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    time.strftime("%Y-%m-%dT%H:%M:%S.%9fZ").to_string()
}

/// `dmp ls`: every project on the Engine, from its containers' labels;
/// needs no stack file.
pub async fn ls(args: &LsArgs, ctx: &Context) -> Result<ExitCode> {
    let docker = ctx.docker().await?;
    let all = stack::all_projects(docker).await?;
    let rows = select::projects(&all, args.all);
    let mut out = std::io::stdout().lock();
    if args.json || args.format == Format::Json {
        return super::print_json(&rows).map(|()| ExitCode::SUCCESS);
    }
    if ctx.quiet {
        for row in &rows {
            writeln!(out, "{}", row.name).map_err(Error::Output)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let table: Vec<Vec<String>> =
        rows.iter().map(|r| vec![r.name.clone(), r.status.clone(), r.config_files.clone()]).collect();
    super::print_table(&["NAME", "STATUS", "CONFIG FILES"], &table)?;
    Ok(ExitCode::SUCCESS)
}

/// `dmp version`.
pub fn version(args: &VersionArgs) -> Result<ExitCode> {
    let version = env!("CARGO_PKG_VERSION");
    if args.json || args.format == Format::Json {
        #[derive(Serialize)]
        struct Version {
            schema: u32,
            version: &'static str,
        }
        return super::print_json(&Version { schema: SCHEMA, version }).map(|()| ExitCode::SUCCESS);
    }
    if args.short {
        println!("{version}");
    } else {
        println!("dmp version {version}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn event_times_are_rfc3339() {
        assert_eq!(super::format_time(1_763_805_600_000_000_005), "2025-11-22T10:00:00.000000005Z");
        assert_eq!(super::format_time(0), "1970-01-01T00:00:00.000000000Z");
    }
}
