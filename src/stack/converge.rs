//! One service's part of `up`: its containers created at once (what they
//! replace removed first), started the moment its dependencies' conditions
//! hold, then its target reached and, without a health check, the settle
//! window passed, each stage a shared future the services that depend on it
//! wait on. A `service_started` condition holds once the dependency's
//! containers joined their networks in their start (their names resolve
//! from then on; see `joins`), unless the service uses the dependency's
//! container itself; whether that start then succeeded is checked after
//! the service's own.

use std::collections::HashMap;
use std::time::Instant;

use bollard::Docker;
use futures_util::FutureExt as _;
use futures_util::future::{LocalBoxFuture, Shared, join_all};

use super::http;
use super::joins::Joins;
use super::journal::{Created, Journal};
use super::plan::Action;
use super::wait::{self, Reached, Target, WaitFailure};
use super::{ProjectContainer, apply, container_name, plan, spec};
use crate::compose::Project;
use crate::compose::model::{Condition, Service};
use crate::engine::EngineError;
use crate::ui::Task;
/// Why a service did not come up, for the error report.
#[derive(Debug, Clone)]
pub(super) struct Failure {
    pub(super) reason: String,
    pub(super) logs: Vec<String>,
    /// The Engine refused a request: this run's new objects are undone.
    pub(super) refused: bool,
}

impl From<WaitFailure> for Failure {
    fn from(failure: WaitFailure) -> Self {
        Self { reason: failure.reason, logs: failure.logs, refused: false }
    }
}

impl From<EngineError> for Failure {
    fn from(error: EngineError) -> Self {
        let reason = match &error {
            EngineError::Api { request, source } => {
                format!("was refused by the Engine ({request}): {}", crate::engine::message(source))
            }
            other => other.to_string(),
        };
        Self { reason, logs: Vec::new(), refused: true }
    }
}

pub(super) type Job<'a, T> = Shared<LocalBoxFuture<'a, Result<T, Failure>>>;

/// A service's container after its start: what was done, and when this
/// `up` started it (`None`: it was running already).
#[derive(Debug, Clone, Copy)]
pub(super) struct Started {
    pub(super) action: Action,
    pub(super) at: Option<Instant>,
}

/// The stages of a service, each a shared future others can wait on: its
/// containers joined their networks in their start (true; false: the
/// service was not started, or its start failed before that), its
/// containers created and started (after its dependencies' conditions), its
/// target reached (healthy, running, or completed), and settled (see
/// [`wait::settle`]).
pub(super) struct ServiceJobs<'a> {
    pub(super) joined: Shared<LocalBoxFuture<'a, bool>>,
    pub(super) started: Job<'a, Started>,
    pub(super) reached: Job<'a, Reached>,
    pub(super) settled: Job<'a, ()>,
}

impl<'a> ServiceJobs<'a> {
    /// The stages of `job`'s service; `known`: ready by the list already
    /// (it holds only while this `up` leaves the containers alone).
    pub(super) fn new(
        mut job: ConvergeJob<'a>,
        known: Option<Reached>,
        target: Target,
        probe: Option<http::HttpProbe>,
    ) -> Self {
        let (docker, deadline) = (job.docker, job.deadline);
        let names: Vec<String> = job.resolved.replicas.iter().map(|r| r.name.clone()).collect();
        let (joined_tx, joined) = tokio::sync::oneshot::channel();
        job.joined = Some(joined_tx);
        let joined = joined.map(|sent| sent.is_ok()).boxed_local().shared();
        let started = converge_service(job).boxed_local().shared();
        let reached = {
            let (started, names) = (started.clone(), names.clone());
            async move {
                let started = started.await?;
                if let Some(known) = known.filter(|_| started.action == Action::Unchanged) {
                    return Ok(known);
                }
                // The HTTP probe knows the first container's port only.
                let waits = names.iter().enumerate().map(|(i, name)| {
                    let probe = probe.as_ref().filter(|_| i == 0);
                    wait::container(docker, name, target, started.at, probe, deadline)
                });
                let reached = join_all(waits).await.into_iter().collect::<Result<Vec<Reached>, WaitFailure>>()?;
                Ok(Reached { has_healthcheck: reached.iter().all(|r| r.has_healthcheck) })
            }
            .boxed_local()
            .shared()
        };
        let settled = {
            let (started, reached) = (started.clone(), reached.clone());
            async move {
                let started = started.await?;
                let reached = reached.await?;
                if reached.has_healthcheck || (known.is_some() && started.action == Action::Unchanged) {
                    return Ok(());
                }
                let settles = names.iter().map(|name| wait::settle(docker, name, target, started.at, deadline));
                join_all(settles).await.into_iter().collect::<Result<(), WaitFailure>>()?;
                Ok(())
            }
            .boxed_local()
            .shared()
        };
        Self { joined, started, reached, settled }
    }
}

/// A service as it will run, and what to do with its containers.
pub(super) struct Resolved<'a> {
    pub(super) service: &'a Service,
    /// The service for this host's user, with the CA bundle mounted.
    pub(super) runs: Service,
    pub(super) image_id: String,
    pub(super) hash: String,
    /// One per replica (`scale`, `deploy.replicas`), numbered from 1.
    pub(super) replicas: Vec<Replica>,
    /// The service's other containers (an older layout, a smaller scale):
    /// removed first.
    pub(super) strays: Vec<String>,
    pub(super) without_capabilities: bool,
}

/// One container of a service and what this `up` does with it.
pub(super) struct Replica {
    pub(super) name: String,
    pub(super) number: u32,
    pub(super) decision: plan::Decision,
    /// The Engine's ID of the container by that name, when it exists.
    pub(super) id: Option<String>,
}

impl Resolved<'_> {
    /// Nothing to do: every container runs as it should.
    pub(super) fn unchanged(&self) -> bool {
        self.strays.is_empty() && self.replicas.iter().all(|r| r.decision.action == Action::Unchanged)
    }
}

impl<'a> Resolved<'a> {
    pub(super) fn new(
        project: &Project,
        service: &'a Service,
        image_id: &str,
        existing: &[ProjectContainer],
        force_recreate: bool,
        scale: Option<u32>,
    ) -> Self {
        let host = spec::host_user(&project.dir);
        let mapped = spec::for_host_user(service, host);
        // Root in a root-owned checkout: root inside too, without capabilities.
        let without_capabilities = host == Some((0, 0)) && matches!(mapped, std::borrow::Cow::Owned(_));
        let runs = crate::ca::for_container(mapped, crate::ca::host_bundle().as_deref()).into_owned();
        let hash = spec::config_hash(&runs, image_id, spec::HASH_VERSION).unwrap_or_default();
        let existing: Vec<ProjectContainer> = existing.iter().filter(|c| c.service == service.name).cloned().collect();
        let names = scale.map_or_else(
            || super::replica_names(project, service),
            |n| (1..=n.max(1)).map(|i| super::replica_name(project, &service.name, i)).collect(),
        );
        let replicas: Vec<Replica> = (1..)
            .zip(&names)
            .map(|(number, name)| {
                let decision = plan::decide(
                    name,
                    &existing,
                    |version| spec::config_hash(&runs, image_id, version),
                    spec::HASH_VERSION,
                    force_recreate,
                    &project.dir.to_string_lossy(),
                );
                tracing::debug!(
                    target: "dmp::up",
                    "{name}: {} ({})",
                    format!("{:?}", decision.action).to_lowercase(),
                    decision.why.describe()
                );
                let id = existing.iter().find(|c| &c.name == name).map(|c| c.id.clone());
                Replica { name: name.clone(), number, decision, id }
            })
            .collect();
        let strays: Vec<String> =
            existing.iter().filter(|c| !names.contains(&c.name)).map(|c| c.name.clone()).collect();
        if !strays.is_empty() {
            tracing::debug!(target: "dmp::up", "{}: removing {}", service.name, strays.join(", "));
        }
        Self { service, runs, image_id: image_id.to_owned(), hash, replicas, strays, without_capabilities }
    }
}

/// A dependency of a service, with the condition its start waits for.
pub(super) struct Dependency<'a> {
    service: String,
    /// Its containers, one per replica.
    containers: Vec<String>,
    condition: Condition,
    /// `depends_on.restart`: a change to it restarts this service.
    restart: bool,
    /// `service_started`, and the service does not use the dependency's
    /// container itself: it may start once the dependency joined its
    /// networks, before the dependency's start returns.
    on_join: bool,
    joined: Shared<LocalBoxFuture<'a, bool>>,
    started: Job<'a, Started>,
    reached: Job<'a, Reached>,
}

impl<'a> Dependency<'a> {
    /// `service`'s dependencies, whose jobs are in `jobs` already.
    pub(super) fn of(project: &Project, service: &Service, jobs: &HashMap<&str, ServiceJobs<'a>>) -> Vec<Self> {
        service
            .depends_on
            .iter()
            .map(|(dependency, d)| Dependency {
                service: dependency.clone(),
                containers: project
                    .services
                    .get(dependency)
                    .map_or_else(|| vec![container_name(project, dependency)], |d| super::replica_names(project, d)),
                condition: d.condition,
                restart: d.restart,
                on_join: plan::starts_on_join(service, dependency),
                joined: jobs[dependency.as_str()].joined.clone(),
                started: jobs[dependency.as_str()].started.clone(),
                reached: jobs[dependency.as_str()].reached.clone(),
            })
            .collect()
    }
}

pub(super) struct ConvergeJob<'a> {
    pub(super) docker: &'a Docker,
    pub(super) project: &'a Project,
    pub(super) resolved: Resolved<'a>,
    pub(super) dependencies: Vec<Dependency<'a>>,
    /// The project's networks created (false: that failed).
    pub(super) networks: Shared<LocalBoxFuture<'a, bool>>,
    pub(super) journal: &'a Journal,
    /// The project's network connect events, when a dependent may start on
    /// them.
    pub(super) joins: Option<&'a Joins>,
    /// Told when the service's containers joined their networks (or
    /// started); set by [`ServiceJobs::new`].
    pub(super) joined: Option<tokio::sync::oneshot::Sender<()>>,
    pub(super) deadline: Instant,
    pub(super) task: Task,
}

/// Creates the service's container at once (removing what it replaces),
/// then starts it when its dependencies' conditions hold.
async fn converge_service(mut job: ConvergeJob<'_>) -> Result<Started, Failure> {
    let result = Box::pin(converge(&mut job)).await;
    match &result {
        Ok(started) => job.task.finish(true, &format!("{:?}", started.action).to_lowercase()),
        Err(failure) => job.task.finish(false, &failure.reason),
    }
    result
}

async fn converge(job: &mut ConvergeJob<'_>) -> Result<Started, Failure> {
    let docker = job.docker;
    let no_network = || Failure {
        reason: "was not started: its network could not be created".into(),
        logs: Vec::new(),
        refused: false,
    };
    // A container joins its other networks right after its creation.
    if job.resolved.runs.networks.len() > 1 && !job.resolved.unchanged() && !job.networks.clone().await {
        return Err(no_network());
    }
    let ids = create(job).await?;
    let resolved = &job.resolved;
    // A container left alone is restarted when a dependency it names with
    // `restart: true` changed (as in Compose): only then it waits for them.
    let mut changed = Vec::new();
    for dependency in job.dependencies.iter().filter(|d| d.restart) {
        if let Ok(started) = dependency.started.clone().await {
            changed.push((true, started.action));
        }
    }
    let actions: Vec<Action> =
        resolved.replicas.iter().map(|r| plan::after_dependencies(r.decision.action, &changed)).collect();
    let action = plan::summary(&actions);
    if action == Action::Unchanged {
        return Ok(Started { action, at: None });
    }
    // Dependencies that only joined their networks yet: their starts are
    // checked once this service's returned.
    let mut joined_only = Vec::new();
    for dependency in std::mem::take(&mut job.dependencies) {
        job.task.announce(&format!("waiting for {} ({})", dependency.service, condition_name(dependency.condition)));
        if dependency.on_join && dependency.joined.clone().await {
            joined_only.push(dependency);
        } else {
            holds(docker, &dependency, job.deadline).await.map_err(|failure| Failure {
                reason: format!("was not started because {} {}", dependency.service, failure.reason),
                logs: failure.logs,
                refused: false,
            })?;
        }
    }
    if !job.networks.clone().await {
        return Err(no_network());
    }
    start(job, &actions, &ids).await?;
    let at = Instant::now();
    for dependency in joined_only {
        if let Err(failure) = started_and_running(docker, &dependency, job.deadline).await {
            // Left as Compose leaves a dependent whose dependency failed:
            // not running. Containers this run created go with its undo.
            for (replica, action) in job.resolved.replicas.iter().zip(&actions) {
                if matches!(action, Action::Started | Action::Recreated) {
                    apply::stop(docker, &replica.name).await?;
                }
            }
            return Err(Failure {
                reason: format!("was stopped again because {} {}", dependency.service, failure.reason),
                ..failure
            });
        }
    }
    Ok(Started { action, at: Some(at) })
}

/// Creates the containers the service lacks or must replace (removing its
/// strays first); returns each replica's container ID where it is known.
async fn create(job: &mut ConvergeJob<'_>) -> Result<Vec<Option<String>>, Failure> {
    let (docker, resolved) = (job.docker, &job.resolved);
    for stray in &resolved.strays {
        apply::remove(docker, stray, false).await?;
    }
    let mut ids = Vec::new();
    for replica in &resolved.replicas {
        let made = super::labels::Made { hash: &resolved.hash, image_id: &resolved.image_id, number: replica.number };
        let without_capabilities = resolved.without_capabilities;
        let id = match replica.decision.action {
            Action::Unchanged | Action::Started | Action::Restarted => replica.id.clone(),
            Action::Recreated => {
                job.task.announce(&format!("recreating ({})", replica.decision.why.describe()));
                apply::remove(docker, &replica.name, false).await?;
                Some(apply::create_service(docker, job.project, &resolved.runs, made, without_capabilities).await?)
            }
            Action::Created => {
                job.task.announce("creating");
                job.journal.record(Created::Container(replica.name.clone()));
                Some(apply::create_service(docker, job.project, &resolved.runs, made, without_capabilities).await?)
            }
        };
        ids.push(id);
    }
    Ok(ids)
}

/// Starts (or restarts) the replicas as `actions` say, and tells the
/// service's dependents once they joined their networks (container `ids`),
/// or else once the starts returned.
async fn start(job: &mut ConvergeJob<'_>, actions: &[Action], ids: &[Option<String>]) -> Result<(), Failure> {
    let ConvergeJob { docker, project, resolved, joins, joined, task, .. } = job;
    let mut tell_joined = || joined.take().map(|tx| tx.send(()));
    let starts = async {
        for (replica, action) in resolved.replicas.iter().zip(actions) {
            match action {
                Action::Unchanged => {}
                Action::Restarted => {
                    task.announce("restarting (a dependency with restart: true changed)");
                    apply::restart(docker, &replica.name).await?;
                }
                _ => {
                    task.announce("starting");
                    apply::start(docker, &replica.name).await?;
                }
            }
        }
        Ok::<(), EngineError>(())
    };
    let networks = joined_networks(project, &resolved.runs);
    let joins = async {
        match (*joins, ids.iter().map(Option::as_ref).collect::<Option<Vec<&String>>>()) {
            (Some(joins), Some(ids)) if !networks.is_empty() && !actions.contains(&Action::Restarted) => {
                for id in ids {
                    joins.joined(id, &networks).await;
                }
            }
            _ => std::future::pending().await,
        }
    };
    tokio::pin!(starts);
    tokio::select! {
        started = &mut starts => started?,
        () = joins => {
            tell_joined();
            starts.await?;
        }
    }
    tell_joined();
    Ok(())
}

/// The Engine names of the networks `service`'s containers join in their
/// start; none with `network_mode`.
fn joined_networks(project: &Project, service: &Service) -> Vec<String> {
    if service.network_mode.is_some() {
        return Vec::new();
    }
    service.networks.iter().map(|n| project.network_name(n)).collect()
}

/// Waits until `dependency`'s condition holds: started (and running),
/// healthy, or completed.
async fn holds(docker: &Docker, dependency: &Dependency<'_>, deadline: Instant) -> Result<(), Failure> {
    let failed = |_| Failure { reason: "failed".into(), logs: Vec::new(), refused: false };
    match dependency.condition {
        Condition::ServiceStarted => started_and_running(docker, dependency, deadline).await?,
        Condition::ServiceHealthy => {
            dependency.started.clone().await.map_err(failed)?;
            let reached = dependency.reached.clone().await?;
            if !reached.has_healthcheck {
                return Err(Failure {
                    reason: "has no health check, so it cannot become healthy (depends_on asks for service_healthy)"
                        .into(),
                    logs: Vec::new(),
                    refused: false,
                });
            }
        }
        Condition::ServiceCompletedSuccessfully => {
            dependency.started.clone().await.map_err(failed)?;
            dependency.reached.clone().await?;
        }
    }
    Ok(())
}

/// Waits for `dependency`'s start to return, then for its containers to be
/// running.
async fn started_and_running(docker: &Docker, dependency: &Dependency<'_>, deadline: Instant) -> Result<(), Failure> {
    let started = dependency.started.clone().await.map_err(|_| Failure {
        reason: "failed".into(),
        logs: Vec::new(),
        refused: false,
    })?;
    for container in &dependency.containers {
        wait::container(docker, container, Target::Running, started.at, None, deadline).await?;
    }
    Ok(())
}

fn condition_name(condition: Condition) -> &'static str {
    match condition {
        Condition::ServiceStarted => "started",
        Condition::ServiceHealthy => "healthy",
        Condition::ServiceCompletedSuccessfully => "completed",
    }
}
