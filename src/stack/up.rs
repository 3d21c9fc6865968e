//! `up`: bring the Engine to what the stack file describes. Checks come
//! first (names, ports), then images, networks and volumes; then every
//! service converges as soon as its dependencies meet their conditions,
//! independent services at once. A container whose config hash still matches
//! is left alone.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use bollard::Docker;
use futures_util::FutureExt as _;
use futures_util::future::{LocalBoxFuture, Shared, join_all};
use serde::Serialize;

use super::journal::{Created, Journal};
pub use super::plan::Action;
use super::wait::{self, Reached, Target, WaitFailure};
use super::{ProjectContainer, apply, container_name, plan, preflight, provision, spec};
use crate::compose::Project;
use crate::compose::model::{Condition, Service};
use crate::engine::EngineError;
use crate::stack::error::{Result, StackError};
use crate::ui::{Progress, Task};

#[derive(Debug, Clone, Default)]
#[allow(clippy::struct_excessive_bools)] // one per flag of `dmp up`
pub struct UpOptions {
    /// Only these (and what they depend on); all when empty.
    pub services: Vec<String>,
    pub wait: bool,
    pub timeout: Duration,
    /// Build images of services with `build:` even when they exist.
    pub build: bool,
    pub force_recreate: bool,
    /// Take the project over from another directory (`--adopt`).
    pub adopt: bool,
}

/// `dmp up --json` (with `schema` added by the command): every key always
/// present, `null` or `[]` when there is nothing.
#[derive(Debug, Serialize)]
pub struct UpReport {
    pub project: String,
    pub services: Vec<ServiceReport>,
    /// Containers of services that are no longer in the stack.
    pub orphans: Vec<String>,
    /// Where the app answers, when the stack has an HTTP entry point.
    pub url: Option<String>,
    /// What to do next, when the app's server was not started.
    pub hint: Option<String>,
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct ServiceReport {
    pub service: String,
    pub container: String,
    pub action: Action,
}

/// Why a service did not come up, for the error report.
#[derive(Debug, Clone)]
struct Failure {
    reason: String,
    logs: Vec<String>,
    /// The Engine refused a request: this run's new objects are undone.
    refused: bool,
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

type Job<'a, T> = Shared<LocalBoxFuture<'a, Result<T, Failure>>>;

/// A service's container after its start: what was done, and when this
/// `up` started it (`None`: it was running already).
#[derive(Debug, Clone, Copy)]
struct Started {
    action: Action,
    at: Option<Instant>,
}

/// The three stages of a service, each a shared future others can wait on:
/// its container created and started (after its dependencies' conditions),
/// its target reached (healthy, running, or completed), and settled (still
/// running, without a restart, [`wait::SETTLE`] after its start).
struct ServiceJobs<'a> {
    started: Job<'a, Started>,
    reached: Job<'a, Reached>,
    settled: Job<'a, ()>,
}

impl<'a> ServiceJobs<'a> {
    /// The stages of `job`'s service; `known`: ready by the list already
    /// (it holds only while this `up` leaves the containers alone).
    fn new(job: ConvergeJob<'a>, known: Option<Reached>, target: Target, probe: Option<wait::HttpProbe>) -> Self {
        let (docker, deadline) = (job.docker, job.deadline);
        let names: Vec<String> = job.resolved.replicas.iter().map(|r| r.name.clone()).collect();
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
                reached.await?;
                if known.is_some() && started.action == Action::Unchanged {
                    return Ok(());
                }
                let settles = names.iter().map(|name| wait::settle(docker, name, target, started.at, deadline));
                join_all(settles).await.into_iter().collect::<Result<(), WaitFailure>>()?;
                Ok(())
            }
            .boxed_local()
            .shared()
        };
        Self { started, reached, settled }
    }
}

/// Converges the selected services and, unless `--no-wait`, waits until
/// they are ready. The run-dev steps after that (assets, the app's server,
/// the HTTP wait) are `dev::up`'s.
///
/// Every container is created at once; only the starts follow the
/// dependencies, each the moment its dependencies' conditions hold. A
/// service is ready once its target holds and it stayed running through the
/// settle window, which runs alongside the other services' starts.
pub async fn up(docker: &Docker, project: &Project, options: &UpOptions, progress: &Progress) -> Result<UpReport> {
    let started = Instant::now();
    let deadline = started + options.timeout;
    let selected = plan::select(project, &options.services)?;
    let _lock = super::ProjectLock::acquire(&project.name).await?;
    let existing = existing_containers(docker, project, &selected, options.adopt, progress).await?;
    plan::check_ports(&selected, &existing)?;
    preflight::dockerfiles(&selected)?;
    preflight::external_objects(docker, project, &selected).await?;
    let image_ids = provision::ensure_images(docker, project, &selected, options.build, progress).await?;

    let services: Vec<Resolved> = selected
        .iter()
        .map(|service| Resolved::new(project, service, &image_ids[&service.name], &existing, options.force_recreate))
        .collect();
    // From here on the run creates objects: what the Engine refuses undoes
    // them (never what existed before). Containers that run as they should
    // need none of this: the Engine removes no network or volume a
    // container uses.
    let journal = Journal::default();
    let mut missing_networks = Vec::new();
    if services.iter().any(|r| !r.unchanged()) {
        preflight::health_checks(docker, &selected, &image_ids).await?;
        missing_networks = provision::missing_networks(docker, project, &selected).await?;
        if let Err(error) = provision::ensure_volumes(docker, project, &selected, &journal).await {
            eprintln!("{}", journal.undo(docker).await);
            return Err(error);
        }
    }
    // Networks are created while the containers are (about 100 ms each on
    // Engine 26); only the starts wait for them.
    let network_error = RefCell::new(None);
    let networks: Shared<LocalBoxFuture<bool>> = async {
        let created = provision::create_networks(docker, project, &missing_networks, &journal).await;
        created.map_err(|e| *network_error.borrow_mut() = Some(e)).is_ok()
    }
    .boxed_local()
    .shared();

    // Services others wait on to complete are one-shot jobs.
    let completes: BTreeSet<&str> = selected
        .iter()
        .flat_map(|s| s.depends_on.iter())
        .filter(|(_, d)| d.condition == Condition::ServiceCompletedSuccessfully)
        .map(|(name, _)| name.as_str())
        .collect();
    let http = wait::http_service(project, &selected).map(|s| s.name.as_str());
    let http_probe = wait::http_probe(project, &selected);
    let mut jobs: HashMap<&str, ServiceJobs> = HashMap::new();
    for resolved in services {
        let service = resolved.service;
        let dependencies = Dependency::of(project, service, &jobs);
        // Running and settled by the list, and left alone: nothing to wait for.
        let listed: Option<Vec<&ProjectContainer>> =
            resolved.replicas.iter().map(|r| existing.iter().find(|c| c.name == r.name && c.settled())).collect();
        let known = listed
            .filter(|_| resolved.unchanged())
            .map(|cs| Reached { has_healthcheck: cs.iter().all(|c| c.health != "none") });
        let target = if completes.contains(service.name.as_str()) { Target::Completed } else { Target::Ready };
        let probe = http_probe.clone().filter(|_| http == Some(service.name.as_str()));
        let job = ConvergeJob {
            docker,
            project,
            resolved,
            dependencies,
            networks: networks.clone(),
            journal: &journal,
            deadline,
            task: progress.task(&service.name),
        };
        jobs.insert(&service.name, ServiceJobs::new(job, known, target, probe));
    }
    let starts = join_all(selected.iter().map(|s| jobs[s.name.as_str()].started.clone()));
    let results: Vec<Result<Started, Failure>> = if options.wait {
        let settles = join_all(selected.iter().map(|s| jobs[s.name.as_str()].settled.clone()));
        let (_, starts, settles) = futures_util::join!(networks, starts, settles);
        starts.into_iter().zip(settles).map(|(start, settle)| settle.and(start)).collect()
    } else {
        futures_util::join!(networks, starts).1
    };
    drop(jobs);
    if let Some(error) = network_error.take() {
        eprintln!("{}", journal.undo(docker).await);
        return Err(error);
    }
    let reports = reports(docker, project, &selected, results, &journal).await?;
    let orphans = plan::orphans(project, &existing);
    Ok(UpReport {
        project: project.name.clone(),
        services: reports,
        orphans,
        url: None,
        hint: None,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The project's containers, after checking that the project is this
/// directory's (or `adopt` takes it over) and that no container dmp did not
/// make for this project holds a name `selected` needs. One list answers
/// all of it when the project's own containers hold every name already (a
/// repeated `up`).
async fn existing_containers(
    docker: &Docker,
    project: &Project,
    selected: &[&Service],
    adopt: bool,
    progress: &Progress,
) -> Result<Vec<ProjectContainer>> {
    let expected: Vec<String> = selected.iter().map(|s| container_name(project, &s.name)).collect();
    let existing = super::list_containers_expecting(docker, &project.name, &expected).await?;
    if let Some(from) = super::check_owner(docker, project, &existing, adopt).await? {
        progress.println(&format!(
            "{}: adopting the project from {from}: it belongs to {} from now on",
            project.name,
            project.dir.display()
        ));
    }
    let unheld: Vec<&str> = selected
        .iter()
        .map(|s| s.name.as_str())
        .filter(|s| !existing.iter().any(|c| c.name == container_name(project, s)))
        .collect();
    if let Some(name) = super::foreign_containers(docker, project, &unheld).await?.into_iter().next() {
        return Err(StackError::NameTaken { name, project: project.name.clone() });
    }
    let compose_made: Vec<&str> = existing
        .iter()
        .filter(|c| !c.managed && selected.iter().any(|s| s.name == c.service))
        .map(|c| c.name.as_str())
        .collect();
    if !compose_made.is_empty() {
        progress.println(&format!(
            "{}: taking over {} from docker compose: recreating {} under dmp (named volumes and their data are kept)",
            project.name,
            if compose_made.len() == 1 { "a container" } else { "containers" },
            compose_made.join(", ")
        ));
    }
    Ok(existing)
}

/// What each service's container got; the first failure as the error. The
/// service the Engine refused is the cause (the others that failed only
/// waited for it), and this run's new objects are undone then.
async fn reports(
    docker: &Docker,
    project: &Project,
    selected: &[&Service],
    results: Vec<Result<Started, Failure>>,
    journal: &Journal,
) -> Result<Vec<ServiceReport>> {
    if let Some((service, failure)) =
        selected.iter().zip(&results).find_map(|(s, r)| r.as_ref().err().filter(|f| f.refused).map(|f| (s, f)))
    {
        let undone = journal.undo(docker).await;
        return Err(StackError::Refused { service: service.name.clone(), reason: failure.reason.clone(), undone });
    }
    let mut reports = Vec::new();
    for (service, result) in selected.iter().zip(results) {
        let started = result.map_err(|f| failed(project, service, f))?;
        reports.push(ServiceReport {
            service: service.name.clone(),
            container: container_name(project, &service.name),
            action: started.action,
        });
    }
    Ok(reports)
}

fn failed(project: &Project, service: &Service, failure: Failure) -> StackError {
    StackError::ServiceFailed {
        service: service.name.clone(),
        container: container_name(project, &service.name),
        reason: failure.reason,
        logs: failure.logs,
    }
}

/// A service as it will run, and what to do with its containers.
struct Resolved<'a> {
    service: &'a Service,
    /// The service for this host's user, with the CA bundle mounted.
    runs: Service,
    image_id: String,
    hash: String,
    /// One per replica (`scale`, `deploy.replicas`), numbered from 1.
    replicas: Vec<Replica>,
    /// The service's other containers (an older layout, a smaller scale):
    /// removed first.
    strays: Vec<String>,
    without_capabilities: bool,
}

/// One container of a service and what this `up` does with it.
struct Replica {
    name: String,
    number: u32,
    decision: plan::Decision,
}

impl Resolved<'_> {
    /// Nothing to do: every container runs as it should.
    fn unchanged(&self) -> bool {
        self.strays.is_empty() && self.replicas.iter().all(|r| r.decision.action == Action::Unchanged)
    }
}

impl<'a> Resolved<'a> {
    fn new(
        project: &Project,
        service: &'a Service,
        image_id: &str,
        existing: &[ProjectContainer],
        force_recreate: bool,
    ) -> Self {
        let host = spec::host_user(&project.dir);
        let mapped = spec::for_host_user(service, host);
        // Root in a root-owned checkout: root inside too, without capabilities.
        let without_capabilities = host == Some((0, 0)) && matches!(mapped, std::borrow::Cow::Owned(_));
        let runs = crate::ca::for_container(mapped, crate::ca::host_bundle().as_deref()).into_owned();
        let hash = spec::config_hash(&runs, image_id, spec::HASH_VERSION).unwrap_or_default();
        let existing: Vec<ProjectContainer> = existing.iter().filter(|c| c.service == service.name).cloned().collect();
        let names = super::replica_names(project, service);
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
                Replica { name: name.clone(), number, decision }
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
struct Dependency<'a> {
    service: String,
    /// Its containers, one per replica.
    containers: Vec<String>,
    condition: Condition,
    /// `depends_on.restart`: a change to it restarts this service.
    restart: bool,
    started: Job<'a, Started>,
    reached: Job<'a, Reached>,
}

impl<'a> Dependency<'a> {
    /// `service`'s dependencies, whose jobs are in `jobs` already.
    fn of(project: &Project, service: &Service, jobs: &HashMap<&str, ServiceJobs<'a>>) -> Vec<Self> {
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
                started: jobs[dependency.as_str()].started.clone(),
                reached: jobs[dependency.as_str()].reached.clone(),
            })
            .collect()
    }
}

struct ConvergeJob<'a> {
    docker: &'a Docker,
    project: &'a Project,
    resolved: Resolved<'a>,
    dependencies: Vec<Dependency<'a>>,
    /// The project's networks created (false: that failed).
    networks: Shared<LocalBoxFuture<'a, bool>>,
    journal: &'a Journal,
    deadline: Instant,
    task: Task,
}

/// Creates the service's container at once (removing what it replaces),
/// then starts it when its dependencies' conditions hold.
async fn converge_service(mut job: ConvergeJob<'_>) -> Result<Started, Failure> {
    let result = converge(&mut job).await;
    match &result {
        Ok(started) => job.task.finish(true, &format!("{:?}", started.action).to_lowercase()),
        Err(failure) => job.task.finish(false, &failure.reason),
    }
    result
}

async fn converge(job: &mut ConvergeJob<'_>) -> Result<Started, Failure> {
    let docker = job.docker;
    let resolved = &job.resolved;
    let service = &resolved.runs;
    let no_network = || Failure {
        reason: "was not started: its network could not be created".into(),
        logs: Vec::new(),
        refused: false,
    };
    // A container joins its other networks right after its creation.
    if service.networks.len() > 1 && !resolved.unchanged() && !job.networks.clone().await {
        return Err(no_network());
    }
    for stray in &resolved.strays {
        apply::remove(docker, stray, false).await?;
    }
    for replica in &resolved.replicas {
        let made = super::labels::Made { hash: &resolved.hash, image_id: &resolved.image_id, number: replica.number };
        match replica.decision.action {
            Action::Unchanged | Action::Started | Action::Restarted => {}
            Action::Recreated => {
                job.task.announce(&format!("recreating ({})", replica.decision.why.describe()));
                apply::remove(docker, &replica.name, false).await?;
                apply::create_service(docker, job.project, service, made, resolved.without_capabilities).await?;
            }
            Action::Created => {
                job.task.announce("creating");
                job.journal.record(Created::Container(replica.name.clone()));
                apply::create_service(docker, job.project, service, made, resolved.without_capabilities).await?;
            }
        }
    }
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
    for dependency in std::mem::take(&mut job.dependencies) {
        job.task.announce(&format!("waiting for {} ({})", dependency.service, condition_name(dependency.condition)));
        holds(docker, &dependency, job.deadline).await.map_err(|failure| Failure {
            reason: format!("was not started because {} {}", dependency.service, failure.reason),
            logs: failure.logs,
            refused: false,
        })?;
    }
    if !job.networks.clone().await {
        return Err(no_network());
    }
    for (replica, action) in resolved.replicas.iter().zip(&actions) {
        match action {
            Action::Unchanged => {}
            Action::Restarted => {
                job.task.announce("restarting (a dependency with restart: true changed)");
                apply::restart(docker, &replica.name).await?;
            }
            _ => {
                job.task.announce("starting");
                apply::start(docker, &replica.name).await?;
            }
        }
    }
    Ok(Started { action, at: Some(Instant::now()) })
}

/// Waits until `dependency`'s condition holds: started (and running),
/// healthy, or completed.
async fn holds(docker: &Docker, dependency: &Dependency<'_>, deadline: Instant) -> Result<(), Failure> {
    let failed = |_| Failure { reason: "failed".into(), logs: Vec::new(), refused: false };
    match dependency.condition {
        Condition::ServiceStarted => {
            let started = dependency.started.clone().await.map_err(failed)?;
            for container in &dependency.containers {
                wait::container(docker, container, Target::Running, started.at, None, deadline).await?;
            }
        }
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

fn condition_name(condition: Condition) -> &'static str {
    match condition {
        Condition::ServiceStarted => "started",
        Condition::ServiceHealthy => "healthy",
        Condition::ServiceCompletedSuccessfully => "completed",
    }
}
