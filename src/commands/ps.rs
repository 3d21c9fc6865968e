//! `dmp ps`: the project's containers with state, health, ports, and
//! whether the app answers HTTP through its entry service. Running ones
//! unless `-a`, as Compose; `--format json` in Compose's shape, `--json` in
//! dmp's.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use serde::Serialize;

use super::{Context, Interrupt, SCHEMA};
use crate::cli::{Format, PsArgs};
use crate::compose::Project;
use crate::error::{Error, Result};
use crate::stack::{ProjectContainer, PublishedPort, http};

/// Reads only: Ctrl-C stops it at once.
pub const INTERRUPT: Interrupt = Interrupt::READS;

/// `dmp ps --json`.
#[derive(Debug, Serialize)]
struct Report<'a> {
    schema: u32,
    project: &'a str,
    containers: Vec<Row<'a>>,
}

/// One container in `dmp ps --json`; every key always present.
#[derive(Debug, Serialize)]
struct Row<'a> {
    service: &'a str,
    container: &'a str,
    state: &'a str,
    health: &'a str,
    status: &'a str,
    ports: &'a [PublishedPort],
    /// For the app's HTTP entry service: whether the app answers there
    /// (a status below 500); `null` for the other services.
    answers: Option<bool>,
}

/// One line of `dmp ps --format json`: Compose v2.26's keys, plus `Answers`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ComposeRow<'a> {
    command: String,
    created_at: String,
    exit_code: i64,
    health: &'a str,
    #[serde(rename = "ID")]
    id: &'a str,
    image: &'a str,
    labels: String,
    local_volumes: String,
    mounts: String,
    name: &'a str,
    names: &'a str,
    networks: String,
    ports: String,
    project: &'a str,
    publishers: Vec<Publisher<'a>>,
    running_for: String,
    service: &'a str,
    size: &'static str,
    state: &'a str,
    status: &'a str,
    answers: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Publisher<'a> {
    #[serde(rename = "URL")]
    url: &'a str,
    target_port: u16,
    published_port: u16,
    protocol: &'a str,
}

pub async fn run(args: &PsArgs, ctx: &Context) -> Result<ExitCode> {
    let project = ctx.project()?;
    let lines_only = args.services_only || (ctx.quiet && !args.json && args.format == Format::Table);
    // The app's entry point is asked while the Engine lists the containers,
    // at the port the stack file publishes (the list then says whether it is
    // the app's): the GET through nginx costs as much as the list.
    let early = async { if lines_only { None } else { early_answer(project).await } };
    let (containers, early) = futures_util::future::join(ctx.containers(&args.services), early).await;
    let containers: Vec<ProjectContainer> = containers?.into_iter().filter(|c| args.all || c.running()).collect();
    let mut out = std::io::stdout().lock();
    if args.services_only {
        let mut services: Vec<&str> = containers.iter().map(|c| c.service.as_str()).collect();
        services.dedup();
        for service in services {
            writeln!(out, "{service}").map_err(Error::Output)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if ctx.quiet && !args.json && args.format == Format::Table {
        for c in &containers {
            writeln!(out, "{}", c.id).map_err(Error::Output)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let answers = answers(ctx, &containers, early).await?;
    if args.json {
        let rows = containers
            .iter()
            .map(|c| Row {
                service: &c.service,
                container: &c.name,
                state: &c.state,
                health: &c.health,
                status: &c.status,
                ports: &c.ports,
                answers: answers.get(&c.service).copied(),
            })
            .collect();
        return super::print_json(&Report { schema: SCHEMA, project: &project.name, containers: rows })
            .map(|()| ExitCode::SUCCESS);
    }
    if args.format == Format::Json {
        // One object a line, as Compose v2.21 and later print it.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        for c in &containers {
            let mut labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            labels.sort();
            let row = ComposeRow {
                command: quoted_command(&c.command, !args.no_trunc),
                created_at: created_at(c.created),
                id: &c.id[..12.min(c.id.len())],
                name: &c.name,
                names: &c.name,
                image: &c.image,
                project: &project.name,
                service: &c.service,
                state: &c.state,
                status: &c.status,
                health: if c.health == "none" { "" } else { &c.health },
                exit_code: exit_code(&c.status),
                local_volumes: c.mounts.iter().filter(|m| !m.starts_with('/')).count().to_string(),
                mounts: c.mounts.join(","),
                networks: c.networks.join(","),
                ports: table_ports(c),
                running_for: running_for(now - c.created),
                size: "0B",
                publishers: publishers(c),
                labels: labels.join(","),
                answers: answers.get(&c.service).copied(),
            };
            serde_json::to_writer(&mut out, &row).map_err(|e| Error::Output(e.into()))?;
            writeln!(out).map_err(Error::Output)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = containers
        .iter()
        .map(|c| {
            let answers = match answers.get(&c.service) {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "",
            };
            vec![c.service.clone(), c.name.clone(), c.state.clone(), c.health.clone(), answers.into(), table_ports(c)]
        })
        .collect();
    super::print_table(&["SERVICE", "CONTAINER", "STATE", "HEALTH", "ANSWERS", "PORTS"], &rows)?;
    Ok(ExitCode::SUCCESS)
}

/// Compose's `Publishers`: every port of the container, by target port,
/// an exposed one that is not published with `URL` "" and
/// `PublishedPort` 0.
fn publishers(c: &ProjectContainer) -> Vec<Publisher<'_>> {
    let exposed = c.exposed.iter().map(|(target, protocol)| Publisher {
        url: "",
        target_port: *target,
        published_port: 0,
        protocol,
    });
    let published = c.ports.iter().map(|p| Publisher {
        url: &p.host_ip,
        target_port: p.target,
        published_port: p.published,
        protocol: &p.protocol,
    });
    let mut all: Vec<Publisher<'_>> = exposed.chain(published).collect();
    all.sort_by_key(|p| p.target_port);
    all
}

/// The docker CLI's port column: exposed ports (`8888/tcp`) first, then
/// published ones (`127.0.0.1:8080->80/tcp`).
fn table_ports(c: &ProjectContainer) -> String {
    let exposed = c.exposed.iter().map(|(target, protocol)| format!("{target}/{protocol}"));
    let published = c.ports.iter().map(|p| format!("{}:{}->{}/{}", p.host_ip, p.published, p.target, p.protocol));
    exposed.chain(published).collect::<Vec<_>>().join(", ")
}

/// Unix seconds as Compose's `CreatedAt`: `2026-11-22 13:12:27 +0000 UTC`.
fn created_at(seconds: i64) -> String {
    let iso = super::inspect::format_time(seconds * 1_000_000_000);
    format!("{} {} +0000 UTC", &iso[..10], &iso[11..19])
}

/// An age as Docker words it: `12 seconds ago`, `3 minutes ago`.
fn running_for(seconds: i64) -> String {
    let (n, unit) = match seconds {
        ..1 => return "Less than a second ago".into(),
        1..60 => (seconds, "second"),
        60..3600 => (seconds / 60, "minute"),
        3600..86_400 => (seconds / 3600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    let word = if n == 1 { unit.to_owned() } else { format!("{unit}s") };
    let n = if n == 1 && unit == "hour" { "About an".to_owned() } else { n.to_string() };
    format!("{n} {word} ago")
}

/// `Exited (137) 2 minutes ago` → 137; 0 otherwise.
fn exit_code(status: &str) -> i64 {
    status
        .strip_prefix("Exited (")
        .and_then(|rest| rest.split(')').next())
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// What the GET made alongside the list found: where it asked, and whether
/// the app answered there.
struct EarlyAnswer {
    probe: http::HttpProbe,
    answered: bool,
}

/// The command as Compose's `ps --format json` gives it: cut to 20
/// characters with an ellipsis (unless `--no-trunc`), then quoted as Go's
/// `strconv.Quote` does.
fn quoted_command(command: &str, truncate: bool) -> String {
    const WIDTH: usize = 20;
    let shown: String = if truncate && command.chars().count() > WIDTH {
        command.chars().take(WIDTH - 1).chain(['…']).collect()
    } else {
        command.to_owned()
    };
    format!("{shown:?}")
}

/// One GET of the entry point at the port the stack file publishes (none
/// when the Engine chooses the port).
async fn early_answer(project: &Project) -> Option<EarlyAnswer> {
    let all: Vec<_> = project.services.values().collect();
    let probe = http::http_probe(project, &all)?;
    let answered = answers_once(&probe.host, probe.port, &probe.path).await;
    Some(EarlyAnswer { probe, answered })
}

/// One try, and never more than 2 s: ps must not hang on a stuck app.
async fn answers_once(host: &str, port: u16, path: &str) -> bool {
    let once = http::http(host, port, path, Instant::now());
    matches!(tokio::time::timeout(std::time::Duration::from_secs(2), once).await, Ok(Ok(_)))
}

/// Whether the app answers through its HTTP entry service (one GET of
/// `x-dmp.http_path`), keyed by that service; empty when the stack has none
/// or it is not running. The `early` GET counts when it asked the port the
/// running container publishes; else the GET is made now.
async fn answers(
    ctx: &Context,
    containers: &[ProjectContainer],
    early: Option<EarlyAnswer>,
) -> Result<HashMap<String, bool>> {
    let project = ctx.project()?;
    let all: Vec<_> = project.services.values().collect();
    let Some(service) = http::http_service(project, &all) else { return Ok(HashMap::new()) };
    let Some(container) = containers.iter().find(|c| c.service == service.name) else { return Ok(HashMap::new()) };
    let Some(port) = container.ports.iter().find(|p| p.protocol == "tcp") else { return Ok(HashMap::new()) };
    let host = http::reachable(&port.host_ip);
    let answers = match early {
        _ if !container.running() => false,
        Some(early) if early.probe.port == port.published && early.probe.host == host => early.answered,
        _ => answers_once(&host, port.published, project.dmp.http_path.as_deref().unwrap_or("/")).await,
    };
    Ok(HashMap::from([(service.name.clone(), answers)]))
}

#[cfg(test)]
mod tests {
    #[test]
    fn exit_codes_come_from_the_status() {
        assert_eq!(super::exit_code("Exited (137) 2 minutes ago"), 137);
        assert_eq!(super::exit_code("Up 3 seconds (healthy)"), 0);
    }

    #[test]
    fn the_command_is_cut_at_20_characters_and_quoted_as_compose_does() {
        assert_eq!(super::quoted_command("dmp-wsgi", true), "\"dmp-wsgi\"");
        assert_eq!(super::quoted_command("dmp-entrypoint dmp-wsgi", true), "\"dmp-entrypoint dmp-…\"");
        assert_eq!(super::quoted_command("dmp-entrypoint dmp-wsgi", false), "\"dmp-entrypoint dmp-wsgi\"");
        assert_eq!(super::quoted_command("sh -c \"x\"", true), "\"sh -c \\\"x\\\"\"");
    }
}
