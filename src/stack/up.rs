//! `up`: bring the Engine to what the stack file describes. Checks come
//! first (names, ports), then images, networks and volumes; then every
//! service converges as soon as its dependencies meet their conditions,
//! independent services at once. A container whose config hash still matches
//! is left alone.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::Docker;
use futures_util::FutureExt as _;
use futures_util::future::{LocalBoxFuture, Shared, join_all};
use serde::Serialize;

use super::journal::{Created, Journal};
pub use super::plan::Action;
use super::wait::{self, Target, WaitFailure};
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

type ServiceJob<'a> = Shared<LocalBoxFuture<'a, Result<Action, Failure>>>;

/// Converges the selected services and, unless `--no-wait`, waits until
/// they are ready. The run-dev steps after that (assets, the app's server,
/// the HTTP wait) are `dev::up`'s.
pub async fn up(docker: &Docker, project: &Project, options: &UpOptions, progress: &Progress) -> Result<UpReport> {
    let started = Instant::now();
    let deadline = started + options.timeout;
    let selected = plan::select(project, &options.services)?;
    let _lock = super::ProjectLock::acquire(&project.name).await?;
    let existing = super::list_containers(docker, &project.name).await?;
    if let Some(from) = super::check_owner(docker, project, &existing, options.adopt).await? {
        progress.println(&format!(
            "{}: adopting the project from {from}: it belongs to {} from now on",
            project.name,
            project.dir.display()
        ));
    }
    let names: Vec<&str> = selected.iter().map(|s| s.name.as_str()).collect();
    if let Some(name) = super::foreign_containers(docker, project, &names).await?.into_iter().next() {
        return Err(StackError::NameTaken { name, project: project.name.clone() });
    }
    plan::check_ports(&selected, &existing)?;
    preflight::dockerfiles(&selected)?;
    preflight::external_objects(docker, project, &selected).await?;
    let compose_made: Vec<&str> = existing
        .iter()
        .filter(|c| !c.managed && names.contains(&c.service.as_str()))
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
    let image_ids = provision::ensure_images(docker, project, &selected, options.build, progress).await?;
    preflight::health_checks(docker, &selected, &image_ids).await?;
    // From here on the run creates objects: what the Engine refuses undoes
    // them (never what existed before).
    let journal = Journal::default();
    if let Err(error) = provision::ensure_networks_and_volumes(docker, project, &selected, &journal).await {
        let undone = journal.undo(docker).await;
        eprintln!("{undone}");
        return Err(error);
    }

    let mut jobs: HashMap<&str, ServiceJob> = HashMap::new();
    for service in &selected {
        let dependencies: Vec<(String, Condition, ServiceJob)> = service
            .depends_on
            .iter()
            .map(|(name, dep)| (name.clone(), dep.condition, jobs[name.as_str()].clone()))
            .collect();
        let existing: Vec<ProjectContainer> = existing.iter().filter(|c| c.service == service.name).cloned().collect();
        let job = converge_service(ConvergeJob {
            docker,
            project,
            service,
            image_id: image_ids[&service.name].clone(),
            existing,
            dependencies,
            force_recreate: options.force_recreate,
            deadline,
            task: progress.task(&service.name),
            journal: &journal,
        });
        jobs.insert(&service.name, job.boxed_local().shared());
    }
    let results = join_all(selected.iter().map(|s| jobs[s.name.as_str()].clone())).await;
    drop(jobs);
    // The service the Engine refused is the cause; the others that failed
    // only waited for it.
    if let Some((service, failure)) =
        selected.iter().zip(&results).find_map(|(s, r)| r.as_ref().err().filter(|f| f.refused).map(|f| (s, f)))
    {
        let undone = journal.undo(docker).await;
        return Err(StackError::Refused { service: service.name.clone(), reason: failure.reason.clone(), undone });
    }
    let mut services = Vec::new();
    for (service, result) in selected.iter().zip(results) {
        let action = result.map_err(|f| failed(project, service, f))?;
        services.push(ServiceReport {
            service: service.name.clone(),
            container: container_name(project, &service.name),
            action,
        });
    }

    if options.wait {
        wait::wait_ready(docker, project, &selected, deadline).await?;
    }
    let orphans = plan::orphans(project, &existing);
    Ok(UpReport {
        project: project.name.clone(),
        services,
        orphans,
        url: None,
        hint: None,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn failed(project: &Project, service: &Service, failure: Failure) -> StackError {
    StackError::ServiceFailed {
        service: service.name.clone(),
        container: container_name(project, &service.name),
        reason: failure.reason,
        logs: failure.logs,
    }
}

struct ConvergeJob<'a> {
    docker: &'a Docker,
    project: &'a Project,
    service: &'a Service,
    image_id: String,
    existing: Vec<ProjectContainer>,
    dependencies: Vec<(String, Condition, ServiceJob<'a>)>,
    force_recreate: bool,
    deadline: Instant,
    task: Task,
    journal: &'a Journal,
}

async fn converge_service(mut job: ConvergeJob<'_>) -> Result<Action, Failure> {
    let docker = job.docker;
    for (dependency, condition, dependency_job) in std::mem::take(&mut job.dependencies) {
        let target = match condition {
            Condition::ServiceStarted => Target::Running,
            Condition::ServiceHealthy => Target::Healthy,
            Condition::ServiceCompletedSuccessfully => Target::Completed,
        };
        job.task.announce(&format!("waiting for {dependency} ({})", condition_name(condition)));
        if dependency_job.await.is_err() {
            job.task.finish(false, &format!("not started: {dependency} failed"));
            return Err(Failure {
                reason: format!("was not started because {dependency} failed"),
                logs: Vec::new(),
                refused: false,
            });
        }
        let dependency_container = container_name(job.project, &dependency);
        if let Err(failure) = wait::container(docker, &dependency_container, target, job.deadline).await {
            job.task.finish(false, &format!("not started: {dependency} {}", failure.reason));
            return Err(Failure {
                reason: format!("was not started because {dependency} {}", failure.reason),
                logs: failure.logs,
                refused: false,
            });
        }
    }

    let name = container_name(job.project, &job.service.name);
    let host = spec::host_user(&job.project.dir);
    let service = spec::for_host_user(job.service, host);
    // Root in a root-owned checkout: root inside too, without capabilities.
    let without_capabilities = host == Some((0, 0)) && matches!(service, std::borrow::Cow::Owned(_));
    let service = crate::ca::for_container(service, crate::ca::host_bundle().as_deref());
    let service = service.as_ref();
    let hash = spec::config_hash(service, &job.image_id, spec::HASH_VERSION).unwrap_or_default();
    let decision = plan::decide(
        &name,
        &job.existing,
        |version| spec::config_hash(service, &job.image_id, version),
        spec::HASH_VERSION,
        job.force_recreate,
        &job.project.dir.to_string_lossy(),
    );
    tracing::debug!(
        target: "dmp::up",
        "{}: {} ({}){}",
        job.service.name,
        format!("{:?}", decision.action).to_lowercase(),
        decision.why.describe(),
        if decision.strays.is_empty() { String::new() } else { format!("; removing {}", decision.strays.join(", ")) }
    );
    let made = super::labels::Made { hash: &hash, image_id: &job.image_id, number: 1 };
    let result: Result<Action, Failure> = async {
        for stray in &decision.strays {
            apply::remove(docker, stray, false).await?;
        }
        match decision.action {
            Action::Unchanged => {}
            Action::Started => {
                job.task.announce("starting");
                apply::start(docker, &name).await?;
            }
            Action::Recreated => {
                job.task.announce(&format!("recreating ({})", decision.why.describe()));
                apply::remove(docker, &name, false).await?;
                apply::create_and_start(docker, job.project, service, made, without_capabilities).await?;
            }
            Action::Created => {
                job.task.announce("creating");
                job.journal.record(Created::Container(name.clone()));
                apply::create_and_start(docker, job.project, service, made, without_capabilities).await?;
            }
        }
        Ok(decision.action)
    }
    .await;
    match &result {
        Ok(action) => job.task.finish(true, &format!("{action:?}").to_lowercase()),
        Err(failure) => job.task.finish(false, &failure.reason),
    }
    result
}

fn condition_name(condition: Condition) -> &'static str {
    match condition {
        Condition::ServiceStarted => "started",
        Condition::ServiceHealthy => "healthy",
        Condition::ServiceCompletedSuccessfully => "completed",
    }
}
