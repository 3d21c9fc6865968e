//! Waiting for containers, failing fast: a container that exits or turns
//! unhealthy ends the wait at once with its last log lines, instead of
//! running into the timeout.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::HealthStatusEnum;
use bollard::query_parameters::{InspectContainerOptions, LogsOptionsBuilder};
use futures_util::StreamExt as _;
use futures_util::future::join_all;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::engine::Request as _;

use super::container_name;
use crate::compose::Project;
use crate::compose::model::{Condition, Service};
use crate::stack::error::{Result, StackError};

const POLL: Duration = Duration::from_millis(100);
const LOG_LINES: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Running.
    Running,
    /// Healthy; a container without a health check may not be waited on so.
    Healthy,
    /// Healthy when it has a health check, else running.
    Ready,
    /// Exited with code 0 (a one-shot job).
    Completed,
}

/// Why a wait ended without its target.
#[derive(Debug, Clone)]
pub struct WaitFailure {
    pub reason: String,
    pub logs: Vec<String>,
}

/// Waits for `container` to reach `target` before `deadline`.
pub async fn container(docker: &Docker, container: &str, target: Target, deadline: Instant) -> Result<(), WaitFailure> {
    loop {
        let inspect = docker
            .inspect_container(container, None::<InspectContainerOptions>)
            .timed(format_args!("inspect container {container}"))
            .await
            .map_err(|e| WaitFailure { reason: format!("cannot be inspected: {e}"), logs: Vec::new() })?;
        let state = inspect.state.unwrap_or_default();
        let health = state.health.as_ref().and_then(|h| h.status);
        let test = inspect.config.and_then(|c| c.healthcheck).and_then(|h| h.test).unwrap_or_default();
        let has_healthcheck = test.first().is_some_and(|first| first != "NONE");
        let running = state.running == Some(true);
        let exited = matches!(state.status.map(|s| s.to_string()).as_deref(), Some("exited" | "dead"));
        let exit_code = state.exit_code.unwrap_or(-1);

        let done = match target {
            Target::Healthy | Target::Ready if has_healthcheck => {
                health == Some(HealthStatusEnum::HEALTHY)
                    || (running && health == Some(HealthStatusEnum::STARTING) && probe(docker, container, &test).await)
            }
            Target::Healthy => {
                return Err(WaitFailure {
                    reason: "has no health check, so it cannot become healthy (depends_on asks for service_healthy)"
                        .into(),
                    logs: Vec::new(),
                });
            }
            Target::Running | Target::Ready => running,
            Target::Completed => exited && exit_code == 0,
        };
        if done {
            return Ok(());
        }
        let failure = if exited && !(target == Target::Completed && exit_code == 0) {
            Some(format!("exited with code {exit_code}"))
        } else if state.restarting == Some(true) {
            Some(format!("keeps restarting (last exit code {exit_code})"))
        } else if health == Some(HealthStatusEnum::UNHEALTHY) && target != Target::Completed {
            Some("is unhealthy".to_owned())
        } else if Instant::now() >= deadline {
            Some(format!("did not become {} in time", target_name(target, has_healthcheck)))
        } else {
            None
        };
        if let Some(reason) = failure {
            return Err(WaitFailure { reason, logs: last_logs(docker, container).await });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Runs the container's own health check command once, as an exec. The
/// Engine runs it only every `interval` (seconds), so a fresh container
/// would look "starting" long after it is fine; the same command passing
/// now means the same thing.
async fn probe(docker: &Docker, container: &str, test: &[String]) -> bool {
    let command: Vec<String> = match test.first().map(String::as_str) {
        Some("CMD") => test[1..].to_vec(),
        Some("CMD-SHELL") => vec!["/bin/sh".into(), "-c".into(), test[1..].join(" ")],
        _ => return false,
    };
    let options = CreateExecOptions {
        cmd: Some(command),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let Ok(exec) =
        docker.create_exec(container, options).timed(format_args!("create health probe in {container}")).await
    else {
        return false;
    };
    let run = async {
        if let Ok(StartExecResults::Attached { mut output, .. }) =
            docker.start_exec(&exec.id, None).timed("start health probe").await
        {
            while output.next().await.is_some() {}
        }
        docker.inspect_exec(&exec.id).timed("inspect health probe").await.ok().and_then(|i| i.exit_code) == Some(0)
    };
    tokio::time::timeout(Duration::from_secs(3), run).await.unwrap_or(false)
}

fn target_name(target: Target, has_healthcheck: bool) -> &'static str {
    match target {
        Target::Running => "running",
        Target::Ready if !has_healthcheck => "running",
        Target::Healthy | Target::Ready => "healthy",
        Target::Completed => "done",
    }
}

/// The container's last log lines, stdout and stderr together.
pub async fn last_logs(docker: &Docker, container: &str) -> Vec<String> {
    let options = LogsOptionsBuilder::default().stdout(true).stderr(true).tail(&LOG_LINES.to_string()).build();
    tracing::debug!(target: "dmp::engine", "logs of {container} (last {LOG_LINES} lines)");
    let mut stream = docker.logs(container, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    text.lines().map(str::to_owned).collect()
}

/// The log lines `container` wrote since `since` (Unix seconds).
pub async fn last_logs_since(docker: &Docker, container: &str, since: u64) -> Vec<String> {
    let since = i32::try_from(since).unwrap_or(0);
    let options = LogsOptionsBuilder::default().stdout(true).stderr(true).since(since).tail("200").build();
    let mut stream = docker.logs(container, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    text.lines().map(str::to_owned).collect()
}

/// GETs `path` on `host:port` until the server answers with a status below
/// 500 (a 502 from nginx means the app behind it is not up yet). Returns the
/// last status or error seen when the deadline passes.
pub async fn http(host: &str, port: u16, path: &str, deadline: Instant) -> Result<u16, String> {
    let mut last;
    loop {
        match http_status(host, port, path).await {
            Ok(status) if status < 500 => return Ok(status),
            Ok(status) => last = format!("HTTP {status}"),
            Err(e) => last = e.to_string(),
        }
        if Instant::now() >= deadline {
            return Err(last);
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn http_status(host: &str, port: u16, path: &str) -> std::io::Result<u16> {
    let connect = tokio::net::TcpStream::connect((host, port));
    let mut stream = tokio::time::timeout(Duration::from_secs(2), connect).await??;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nUser-Agent: dmp\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = [0u8; 32];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut head)).await??;
    let line = String::from_utf8_lossy(&head[..read]);
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response"))
}
/// Every selected service healthy (or running, without a health check);
/// jobs that others wait on to complete, done.
pub async fn wait_ready(docker: &Docker, project: &Project, selected: &[&Service], deadline: Instant) -> Result<()> {
    let jobs: BTreeSet<&str> = selected
        .iter()
        .flat_map(|s| s.depends_on.iter())
        .filter(|(_, d)| d.condition == Condition::ServiceCompletedSuccessfully)
        .map(|(name, _)| name.as_str())
        .collect();
    let waits = selected.iter().map(|service| async {
        let target = if jobs.contains(service.name.as_str()) { Target::Completed } else { Target::Ready };
        let name = container_name(project, &service.name);
        container(docker, &name, target, deadline).await.map_err(|f| StackError::ServiceFailed {
            service: service.name.clone(),
            container: name.clone(),
            reason: f.reason,
            logs: f.logs,
        })
    });
    for result in join_all(waits).await {
        result?;
    }
    Ok(())
}

/// The service that answers HTTP for the app: `x-dmp.http`, else the one
/// running a dmp nginx image, else the only service publishing a port.
pub fn http_service<'p>(project: &'p Project, selected: &[&'p Service]) -> Option<&'p Service> {
    if let Some(name) = &project.dmp.http {
        return selected.iter().find(|s| &s.name == name).copied();
    }
    let nginx = selected
        .iter()
        .find(|s| s.image.as_deref().is_some_and(|i| i.starts_with("dmp/http-") && !i.contains("buildstatic")));
    let publishing: Vec<&&Service> = selected.iter().filter(|s| !s.ports.is_empty()).collect();
    nginx.copied().or_else(|| (publishing.len() == 1).then(|| *publishing[0]))
}

pub async fn wait_http(
    docker: &Docker,
    project: &Project,
    selected: &[&Service],
    deadline: Instant,
) -> Result<Option<String>> {
    let Some(service) = http_service(project, selected) else { return Ok(None) };
    let containers = super::list_containers(docker, &project.name).await?;
    let Some(port) = containers
        .iter()
        .find(|c| c.service == service.name)
        .and_then(|c| c.ports.iter().find(|p| p.protocol == "tcp"))
        .cloned()
    else {
        return Ok(None);
    };
    let host = if port.host_ip == "0.0.0.0" || port.host_ip.is_empty() {
        "127.0.0.1".to_owned()
    } else {
        port.host_ip.clone()
    };
    let path = project.dmp.http_path.clone().unwrap_or_else(|| "/".into());
    let url_host = if host.contains(':') { format!("[{host}]") } else { host.clone() };
    let site = format!("http://{url_host}:{}", port.published);
    http(&host, port.published, &path, deadline).await.map_err(|last| StackError::ServiceFailed {
        service: service.name.clone(),
        container: container_name(project, &service.name),
        reason: format!("does not answer HTTP at {site}{path} (last: {last})"),
        logs: Vec::new(),
    })?;
    // The site's root, for people to open; the health path was only for waiting.
    Ok(Some(format!("{site}/")))
}
