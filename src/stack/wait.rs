//! Waiting for containers, failing fast: a container that exits or turns
//! unhealthy ends the wait at once with its last log lines, instead of
//! running into the timeout.

use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::HealthStatusEnum;
use bollard::query_parameters::{InspectContainerOptions, LogsOptionsBuilder};
use futures_util::StreamExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

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
    let Ok(exec) = docker.create_exec(container, options).await else { return false };
    let run = async {
        if let Ok(StartExecResults::Attached { mut output, .. }) = docker.start_exec(&exec.id, None).await {
            while output.next().await.is_some() {}
        }
        docker.inspect_exec(&exec.id).await.ok().and_then(|i| i.exit_code) == Some(0)
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
