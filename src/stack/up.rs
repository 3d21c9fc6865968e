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

use super::converge::{ConvergeJob, Dependency, Failure, Resolved, ServiceJobs, Started};
use super::http;
use super::joins::Joins;
use super::journal::Journal;
pub use super::plan::Action;
use super::wait::{Reached, Target};
use super::{ProjectContainer, container_name, plan, ports, preflight, provision};
use crate::compose::Project;
use crate::compose::model::{Condition, Service};
use crate::stack::error::{Result, StackError};
use crate::ui::Progress;

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
    /// `dmp scale SERVICE=N`: this many containers instead of the file's
    /// number (the config hash stays the file's, so none is recreated).
    pub scale: std::collections::BTreeMap<String, u32>,
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

/// Converges the selected services and, unless `--no-wait`, waits until
/// they are ready. The run-dev steps after that (assets, the app's server,
/// the HTTP wait) are `dev::up`'s.
///
/// Every container is created at once; only the starts follow the
/// dependencies, each the moment its dependencies' conditions hold
/// (`service_started`: joined their networks). A service is ready once its
/// target holds and, without a health check, it stayed running through the
/// settle window, which runs alongside the other services' starts.
pub async fn up(docker: &Docker, project: &Project, options: &UpOptions, progress: &Progress) -> Result<UpReport> {
    let started = Instant::now();
    let deadline = started + options.timeout;
    let selected = plan::select(project, &options.services)?;
    let _lock = super::ProjectLock::acquire(&project.name).await?;
    let existing = existing_containers(docker, project, &selected, options.adopt, progress).await?;
    ports::check_ports(&selected, &existing)?;
    preflight::dockerfiles(&selected)?;
    preflight::external_objects(docker, project, &selected).await?;
    let image_ids = provision::ensure_images(docker, project, &selected, options.build, progress).await?;

    let services: Vec<Resolved> = selected
        .iter()
        .map(|service| {
            let scale = options.scale.get(&service.name).copied();
            Resolved::new(project, service, &image_ids[&service.name], &existing, options.force_recreate, scale)
        })
        .collect();
    // From here on the run creates objects: what the Engine refuses undoes
    // them (never what existed before). Containers that run as they should
    // need none of this: the Engine removes no network or volume a
    // container uses.
    let journal = Journal::default();
    let joins = Joins::default();
    let mut missing_networks = Vec::new();
    let changes = services.iter().any(|r| !r.unchanged());
    if changes {
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
    // A `service_started` dependent starts once its dependency joined its
    // networks, told by the Engine's events (see `joins`).
    let follow_joins = changes && starts_on_join(&selected);
    let http = http::http_service(project, &selected).map(|s| s.name.as_str());
    let http_probe = http::http_probe(project, &selected);
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
            joins: follow_joins.then_some(&joins),
            joined: None,
            deadline,
            task: progress.task(&service.name),
        };
        jobs.insert(&service.name, ServiceJobs::new(job, known, target, probe));
    }
    let starts = join_all(selected.iter().map(|s| jobs[s.name.as_str()].started.clone()));
    let converged = async {
        if options.wait {
            let settles = join_all(selected.iter().map(|s| jobs[s.name.as_str()].settled.clone()));
            let (_, starts, settles) = futures_util::join!(networks, starts, settles);
            starts.into_iter().zip(settles).map(|(start, settle)| settle.and(start)).collect()
        } else {
            futures_util::join!(networks, starts).1
        }
    };
    let followed = follow_joins
        .then(|| selected.iter().flat_map(|s| s.networks.iter().map(|n| project.network_name(n))).collect());
    let results: Vec<Result<Started, Failure>> = joins.alongside(docker, followed, converged).await;
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
    let expected = super::expected_names(project, selected);
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
        return Err(preflight::refused(project, service, failure.reason.clone(), undone));
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

/// Whether some selected service may start on a dependency's network join.
fn starts_on_join(selected: &[&Service]) -> bool {
    selected.iter().any(|service| {
        service.depends_on.keys().any(|d| selected.iter().any(|s| &s.name == d) && plan::starts_on_join(service, d))
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
