//! Waiting for containers, failing fast: a container that exits or turns
//! unhealthy ends the wait at once with its last log lines, instead of
//! running into the timeout.

use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::HealthStatusEnum;
use bollard::query_parameters::{InspectContainerOptions, LogsOptionsBuilder};
use futures_util::StreamExt as _;

use crate::engine::Request as _;

use super::http::{HttpProbe, http_status};
use crate::compose::Project;
use crate::compose::model::Service;
use crate::stack::error::{Result, StackError};

/// How often the HTTP entry point is asked while it is expected soon: a
/// connect to a published port costs well under a millisecond.
pub(super) const HTTP_POLL: Duration = Duration::from_millis(10);
const LOG_LINES: usize = 20;

/// How long a container without a health check must stay running (without
/// a restart) before it counts as up: a process that exits at once, or a
/// restart loop, shows itself within this window, and a single "running"
/// snapshot proves nothing. Counted from the container's own start time, so
/// it overlaps with everything else `up` waits for. A container whose
/// health check passed has answered, which proves more, and does not wait
/// for it.
pub const SETTLE: Duration = Duration::from_millis(200);

/// The gap before the next look at a container that was started `age` ago:
/// tight while it is likely to be ready soon, then wider, so a slow service
/// does not cost the machine a stream of inspects and execs.
pub(super) fn poll_gap(age: Duration) -> Duration {
    match age.as_millis() {
        0..2_000 => Duration::from_millis(15),
        2_000..10_000 => Duration::from_millis(100),
        _ => Duration::from_millis(250),
    }
}

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

/// What a wait found when its target was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reached {
    /// The container has a health check (its own or its image's).
    pub has_healthcheck: bool,
}

/// One look at a container: what `inspect` says, in the terms the wait needs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Look {
    running: bool,
    restarting: bool,
    exited: bool,
    exit_code: i64,
    health: Option<HealthStatusEnum>,
    healthcheck: Vec<String>,
    restarts: i64,
    started_at: String,
    /// `NAME=value`, as the container runs.
    env: Vec<String>,
    /// Its addresses on its networks.
    addresses: Vec<String>,
}

impl Look {
    fn has_healthcheck(&self) -> bool {
        self.healthcheck.first().is_some_and(|first| first != "NONE")
    }
}

async fn look(docker: &Docker, container: &str) -> Result<Look, WaitFailure> {
    let inspect = docker
        .inspect_container(container, None::<InspectContainerOptions>)
        .timed(format_args!("inspect container {container}"))
        .await
        .map_err(|e| WaitFailure { reason: format!("cannot be inspected: {e}"), logs: Vec::new() })?;
    let state = inspect.state.unwrap_or_default();
    let addresses = inspect
        .network_settings
        .and_then(|n| n.networks)
        .into_iter()
        .flat_map(|networks| networks.into_values().filter_map(|e| e.ip_address.filter(|ip| !ip.is_empty())))
        .collect();
    let config = inspect.config.unwrap_or_default();
    Ok(Look {
        running: state.running == Some(true),
        restarting: state.restarting == Some(true),
        exited: matches!(state.status.map(|s| s.to_string()).as_deref(), Some("exited" | "dead")),
        exit_code: state.exit_code.unwrap_or(-1),
        health: state.health.as_ref().and_then(|h| engine_health(h.status, h.failing_streak)),
        healthcheck: config.healthcheck.and_then(|h| h.test).unwrap_or_default(),
        restarts: inspect.restart_count.unwrap_or(0),
        started_at: state.started_at.unwrap_or_default(),
        env: config.env.unwrap_or_default(),
        addresses,
    })
}

/// The Engine's health verdict as dmp takes it. The Engine marks a
/// container `unhealthy` whenever its health monitor stops (a pause does,
/// "for compatibility reasons" in moby's health.go) though no check failed,
/// and keeps it until the next check, up to `interval` after an unpause. A
/// real verdict comes with a failing streak; without one it is "not known
/// yet", as `starting`, so dmp's own probe decides.
fn engine_health(status: Option<HealthStatusEnum>, failing_streak: Option<i64>) -> Option<HealthStatusEnum> {
    match status {
        Some(HealthStatusEnum::UNHEALTHY) if failing_streak.unwrap_or(0) == 0 => Some(HealthStatusEnum::STARTING),
        other => other,
    }
}

/// Waits for `container` to reach `target` before `deadline`, failing at
/// once when it exits, restarts or turns unhealthy. `started` is when this
/// `up` started it (then its restart count starts from 0), `None` for a
/// container that was running already. With `http`, an answer there counts
/// as healthy too.
pub async fn container(
    docker: &Docker,
    container: &str,
    target: Target,
    started: Option<Instant>,
    http: Option<&HttpProbe>,
    deadline: Instant,
) -> Result<Reached, WaitFailure> {
    let since = started.unwrap_or_else(Instant::now);
    let mut restarts = started.map(|_| 0);
    loop {
        let look = look(docker, container).await?;
        let restarts_before = *restarts.get_or_insert(look.restarts);
        let has_healthcheck = look.has_healthcheck();
        let done = match target {
            Target::Healthy | Target::Ready if has_healthcheck => {
                look.health == Some(HealthStatusEnum::HEALTHY)
                    || (look.running
                        && look.health == Some(HealthStatusEnum::STARTING)
                        && probe(docker, container, &look, http).await)
            }
            Target::Healthy => {
                return Err(WaitFailure {
                    reason: "has no health check, so it cannot become healthy (depends_on asks for service_healthy)"
                        .into(),
                    logs: Vec::new(),
                });
            }
            Target::Running | Target::Ready => look.running,
            Target::Completed => look.exited && look.exit_code == 0,
        };
        if done && (target == Target::Completed || look.restarts == restarts_before) {
            return Ok(Reached { has_healthcheck });
        }
        let failure = failure(&look, target, restarts_before).or_else(|| {
            (Instant::now() >= deadline)
                .then(|| format!("did not become {} in time", target_name(target, has_healthcheck)))
        });
        if let Some(reason) = failure {
            return Err(WaitFailure { reason, logs: last_logs(docker, container).await });
        }
        tokio::time::sleep(poll_gap(since.elapsed())).await;
    }
}

/// Why a look at a container means it will not reach `target`, if it does.
fn failure(look: &Look, target: Target, restarts_before: i64) -> Option<String> {
    if target == Target::Completed {
        return (look.exited && look.exit_code != 0).then(|| format!("exited with code {}", look.exit_code));
    }
    if look.restarting || look.restarts > restarts_before {
        Some(format!("keeps restarting (last exit code {})", look.exit_code))
    } else if look.exited {
        Some(format!("exited with code {}", look.exit_code))
    } else if look.health == Some(HealthStatusEnum::UNHEALTHY) {
        Some("is unhealthy".to_owned())
    } else {
        None
    }
}

/// Waits until a container that reached its target has stayed running,
/// without a restart, for [`SETTLE`] since it (last) started: only then is
/// it up. A completed job is done already. `started` as for [`container`].
pub async fn settle(
    docker: &Docker,
    container: &str,
    target: Target,
    started: Option<Instant>,
    deadline: Instant,
) -> Result<(), WaitFailure> {
    if target == Target::Completed {
        return Ok(());
    }
    let first_seen = Instant::now();
    let mut restarts = started.map(|_| 0);
    let mut first: Option<Look> = None;
    loop {
        let looked = Instant::now();
        let look = look(docker, container).await?;
        let restarts_before = *restarts.get_or_insert(look.restarts);
        let restarted = first.as_ref().is_some_and(|f| f.started_at != look.started_at);
        let failure = failure(&look, Target::Running, restarts_before)
            .or_else(|| restarted.then(|| format!("keeps restarting (last exit code {})", look.exit_code)))
            .or_else(|| (!look.running).then(|| "is not running".to_owned()));
        if let Some(reason) = failure {
            return Err(WaitFailure { reason, logs: last_logs(docker, container).await });
        }
        // Since when it has run: the Engine's start time where this
        // machine's clock can read it, else when dmp started or first saw it.
        let first = first.get_or_insert(look);
        let by_engine = running_for(&first.started_at).and_then(|age| first_seen.checked_sub(age));
        let since = by_engine.or(started).unwrap_or(first_seen);
        let settled_at = since + SETTLE;
        // Up only when seen running after the window closed.
        if looked >= settled_at {
            return Ok(());
        }
        if looked >= deadline {
            return Err(WaitFailure { reason: "did not stay running in time".into(), logs: Vec::new() });
        }
        let gap = settled_at.saturating_duration_since(Instant::now()).min(Duration::from_millis(50));
        tokio::time::sleep(gap.max(Duration::from_millis(1))).await;
    }
}

/// How long ago `started_at` (the Engine's RFC 3339 UTC time,
/// `2026-11-22T13:05:01.123456789Z`) was, by this machine's clock; `None`
/// when it cannot be read or lies in the future.
fn running_for(started_at: &str) -> Option<Duration> {
    let started = parse_utc(started_at)?;
    std::time::SystemTime::now().duration_since(started).ok()
}

fn parse_utc(text: &str) -> Option<std::time::SystemTime> {
    text.parse::<jiff::Timestamp>().ok().map(std::time::SystemTime::from)
}

/// Runs the container's own health check command once, as an exec. The
/// Engine runs it only every `interval` (seconds), so a fresh container
/// would look "starting" long after it is fine; the same command passing
/// now means the same thing. While the exec runs (60 ms or more: runc
/// joins the container), quicker proofs are asked every few milliseconds:
/// `http`, the stack's entry point answering, and dmp's own health check
/// made from here (see [`direct_probe`]).
///
/// When that GET reaches the container (it answers, or its kernel refuses
/// the connection: nothing listens yet), it is the health check itself and
/// the exec is left out: a runc exec is tens of milliseconds of CPU taken
/// from the server while it boots. The quicker proofs are then asked for
/// [`DIRECT_ROUND`], and the caller looks at the container again.
async fn probe(docker: &Docker, container: &str, look: &Look, http: Option<&HttpProbe>) -> bool {
    let direct = direct_probe(look);
    let reachable = match &direct {
        Some(probe) => match http_status(&probe.host, probe.port, &probe.path).await {
            Ok(status) if status < 500 => return true,
            Ok(_) => true,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionRefused,
        },
        None => false,
    };
    let quicker: Vec<HttpProbe> = http.cloned().into_iter().chain(direct).collect();
    if quicker.is_empty() {
        return exec_probe(docker, container, &look.healthcheck).await;
    }
    let answered = || async {
        for probe in &quicker {
            if healthy_by(probe).await {
                return true;
            }
        }
        false
    };
    let answers = async {
        loop {
            tokio::time::sleep(HTTP_POLL).await;
            if answered().await {
                return;
            }
        }
    };
    let checked = async {
        if reachable {
            tokio::time::sleep(DIRECT_ROUND).await;
            false
        } else {
            exec_probe(docker, container, &look.healthcheck).await
        }
    };
    tokio::select! {
        passed = checked => passed || tokio::time::timeout(HTTP_POLL * 5, answered()).await.unwrap_or(false),
        () = answers => true,
    }
}

/// How long [`probe`] asks the quicker proofs when the container's own
/// address can be reached, before its caller looks at the container again.
const DIRECT_ROUND: Duration = Duration::from_millis(100);

/// Whether `probe` answers now with a status below 500.
async fn healthy_by(probe: &HttpProbe) -> bool {
    matches!(http_status(&probe.host, probe.port, &probe.path).await, Ok(status) if status < 500)
}

/// dmp's images check their health with `dmp-healthcheck PORT PATH`: a GET
/// of PATH on the container's own PORT, healthy below 500. The same GET
/// from this machine to the container's address asks the same question
/// without an exec, when the Engine is local (on its Unix socket) and its
/// networks are reachable from here (Linux; not Docker Desktop, where the
/// exec still answers). `None` for any other health check.
fn direct_probe(look: &Look) -> Option<HttpProbe> {
    let command = match look.healthcheck.first().map(String::as_str) {
        Some("CMD-SHELL") => shell_words::split(look.healthcheck.get(1)?).ok()?,
        Some("CMD") => look.healthcheck[1..].to_vec(),
        _ => return None,
    };
    let [program, port, rest @ ..] = command.as_slice() else { return None };
    if program != "dmp-healthcheck" || rest.len() > 1 || !crate::engine::address().starts_with("unix://") {
        return None;
    }
    let expand = |word: &str| -> Option<String> {
        let Some(name) = word.strip_prefix('$') else { return (!word.contains('$')).then(|| word.to_owned()) };
        let name = name.strip_prefix('{').and_then(|n| n.strip_suffix('}')).unwrap_or(name);
        look.env.iter().find_map(|e| e.strip_prefix(name)?.strip_prefix('=')).map(str::to_owned)
    };
    let port = expand(port)?.parse().ok()?;
    let path = rest.first().map_or(Some("/".to_owned()), |p| expand(p))?;
    let host = look.addresses.first()?.clone();
    Some(HttpProbe { host, port, path })
}

async fn exec_probe(docker: &Docker, container: &str, test: &[String]) -> bool {
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

/// Every selected service up (healthy, or running without a health check,
/// and settled); jobs that others wait on to complete, done.
pub async fn wait_ready(docker: &Docker, project: &Project, selected: &[&Service], deadline: Instant) -> Result<()> {
    let jobs: std::collections::BTreeSet<&str> = selected
        .iter()
        .flat_map(|s| s.depends_on.iter())
        .filter(|(_, d)| d.condition == crate::compose::model::Condition::ServiceCompletedSuccessfully)
        .map(|(name, _)| name.as_str())
        .collect();
    let waits = selected
        .iter()
        .flat_map(|service| super::replica_names(project, service).into_iter().map(move |name| (*service, name)))
        .map(|(service, name)| {
            let target = if jobs.contains(service.name.as_str()) { Target::Completed } else { Target::Ready };
            async move {
                let waited = async {
                    container(docker, &name, target, None, None, deadline).await?;
                    settle(docker, &name, target, None, deadline).await
                };
                waited.await.map_err(|f| StackError::ServiceFailed {
                    service: service.name.clone(),
                    container: name.clone(),
                    reason: f.reason,
                    logs: f.logs,
                })
            }
        });
    for result in futures_util::future::join_all(waits).await {
        result?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn engine_times_parse_to_the_nanosecond() {
        let at = |s: &str| super::parse_utc(s).and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        assert_eq!(at("2025-11-22T10:00:00.000000005Z"), Some(std::time::Duration::new(1_763_805_600, 5)));
        assert_eq!(at("0001-01-01T00:00:00Z"), None, "the Engine's zero time is before the epoch");
        assert_eq!(at("not a time"), None);
    }

    #[test]
    fn an_unhealthy_verdict_without_a_failing_streak_is_not_known_yet() {
        use bollard::models::HealthStatusEnum::{HEALTHY, STARTING, UNHEALTHY};
        // A pause stops the Engine's monitor, which then says unhealthy.
        assert_eq!(super::engine_health(Some(UNHEALTHY), Some(0)), Some(STARTING));
        assert_eq!(super::engine_health(Some(UNHEALTHY), None), Some(STARTING));
        // Checks that failed `retries` times in a row: unhealthy it is.
        assert_eq!(super::engine_health(Some(UNHEALTHY), Some(3)), Some(UNHEALTHY));
        assert_eq!(super::engine_health(Some(HEALTHY), Some(0)), Some(HEALTHY));
        assert_eq!(super::engine_health(None, None), None);
    }
}
