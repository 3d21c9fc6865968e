//! `up`: bring the Engine to what the stack file describes. Checks come
//! first (names, ports), then images, networks and volumes; then every
//! service converges as soon as its dependencies meet their conditions,
//! independent services at once. A container whose config hash still matches
//! is left alone.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{NetworkConnectRequest, NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, RemoveContainerOptionsBuilder, StartContainerOptions,
    StopContainerOptionsBuilder,
};
use futures_util::future::{LocalBoxFuture, Shared, join_all};
use futures_util::{FutureExt as _, StreamExt as _};
use serde::Serialize;

use super::wait::{self, Target, WaitFailure};
use super::{LABEL_PROJECT, ProjectContainer, container_name, spec};
use crate::base_images;
use crate::build_context;
use crate::compose::Project;
use crate::compose::model::{Condition, Service};
use crate::engine::EngineError;
use crate::error::{Error, Result};
use crate::image_build::{self, BuildRequest};
use crate::images::{Catalogue, NAMESPACE};
use crate::ui::{Progress, Task};

#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Only these (and what they depend on); all when empty.
    pub services: Vec<String>,
    pub wait: bool,
    pub timeout: Duration,
    /// Build images of services with `build:` even when they exist.
    pub build: bool,
    pub force_recreate: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Running with the right config: not touched.
    Unchanged,
    /// Existed with the right config, was stopped: started.
    Started,
    Created,
    /// Config or image changed (or `--force-recreate`): replaced.
    Recreated,
}

#[derive(Debug, Serialize)]
pub struct UpReport {
    pub project: String,
    pub services: Vec<ServiceReport>,
    /// Containers of services that are no longer in the stack.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub orphans: Vec<String>,
    /// Where the app answers, when the stack has an HTTP entry point.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// What to do next, when the app's server was not started.
    #[serde(skip_serializing_if = "Option::is_none")]
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
}

impl From<WaitFailure> for Failure {
    fn from(failure: WaitFailure) -> Self {
        Self { reason: failure.reason, logs: failure.logs }
    }
}

impl From<bollard::errors::Error> for Failure {
    fn from(error: bollard::errors::Error) -> Self {
        Self { reason: format!("was refused by the Engine: {}", engine_message(&error)), logs: Vec::new() }
    }
}

fn engine_message(error: &bollard::errors::Error) -> String {
    match error {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

type ServiceJob<'a> = Shared<LocalBoxFuture<'a, Result<Action, Failure>>>;

pub async fn up(docker: &Docker, project: &Project, options: &UpOptions, progress: &Progress) -> Result<UpReport> {
    let started = Instant::now();
    let deadline = started + options.timeout;
    let selected = select(project, &options.services)?;
    let _lock = super::ProjectLock::acquire(&project.name).await.map_err(Error::Output)?;
    let existing = super::containers(docker, &project.name).await?;
    let names: Vec<&str> = selected.iter().map(|s| s.name.as_str()).collect();
    if let Some(name) = super::foreign_containers(docker, &project.name, &names).await?.into_iter().next() {
        return Err(Error::NameTaken { name, project: project.name.clone() });
    }
    check_ports(&selected, &existing)?;
    warn_unwritable(project, &selected, progress);
    let image_ids = ensure_images(docker, project, &selected, options.build, progress).await?;
    ensure_networks_and_volumes(docker, project, &selected).await?;

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
        });
        jobs.insert(&service.name, job.boxed_local().shared());
    }
    let results = join_all(selected.iter().map(|s| jobs[s.name.as_str()].clone())).await;
    drop(jobs);
    let mut services = Vec::new();
    for (service, result) in selected.iter().zip(results) {
        let action = result.map_err(|f| failed(project, service, f))?;
        services.push(ServiceReport {
            service: service.name.clone(),
            container: container_name(&project.name, &service.name),
            action,
        });
    }

    let mut hint = None;
    let url = if options.wait {
        wait_ready(docker, project, &selected, deadline).await?;
        let rules_selected = project.dmp.watch.iter().all(|r| selected.iter().any(|s| s.name == r.service));
        if !project.dmp.watch.is_empty() && rules_selected {
            super::app::build_assets(docker, project, progress).await?;
        }
        let app = project.dmp.app.as_deref().filter(|a| selected.iter().any(|s| s.name == *a));
        match app {
            // The app's server is started by `start` (run-dev's behaviour).
            Some(_) if project.dmp.start.is_some() && project.dmp.auto_start_server => {
                super::app::start(docker, project, deadline.saturating_duration_since(Instant::now())).await?.1
            }
            Some(app) if project.dmp.start.is_some() => {
                hint = Some(format!(
                    "the {app} container idles (AUTO_START_SERVER is not true): `dmp start` migrates and starts the server, `dmp sh` opens a shell"
                ));
                None
            }
            _ => wait_http(docker, project, &selected, deadline).await?,
        }
    } else {
        None
    };
    let orphans =
        existing.iter().filter(|c| !project.services.contains_key(&c.service)).map(|c| c.name.clone()).collect();
    Ok(UpReport {
        project: project.name.clone(),
        services,
        orphans,
        url,
        hint,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn failed(project: &Project, service: &Service, failure: Failure) -> Error {
    Error::ServiceFailed {
        service: service.name.clone(),
        container: container_name(&project.name, &service.name),
        reason: failure.reason,
        logs: failure.logs,
    }
}

/// The named services and everything they depend on, dependencies first.
pub fn select<'p>(project: &'p Project, names: &[String]) -> Result<Vec<&'p Service>> {
    for name in names {
        if !project.services.contains_key(name) {
            return Err(Error::UnknownService {
                name: name.clone(),
                available: project.services.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        }
    }
    let mut wanted: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    let mut queue: Vec<&str> = wanted.iter().copied().collect();
    while let Some(name) = queue.pop() {
        for dependency in project.services[name].depends_on.keys() {
            if wanted.insert(dependency) {
                queue.push(dependency);
            }
        }
    }
    Ok(project.start_order().into_iter().filter(|s| names.is_empty() || wanted.contains(s.name.as_str())).collect())
}

/// dmp and the project directory both root: the containers run as the
/// images' own user, who cannot write into a directory only root may write.
fn warn_unwritable(project: &Project, selected: &[&Service], progress: &Progress) {
    use std::os::unix::fs::PermissionsExt as _;
    let writes = selected.iter().any(|s| {
        s.user.is_none() && s.volumes.iter().any(|m| m.kind == crate::compose::model::MountKind::Bind && !m.read_only)
    });
    let world_writable = std::fs::metadata(&project.dir).is_ok_and(|m| m.permissions().mode() & 0o002 != 0);
    if writes && spec::host_user(&project.dir).is_none() && !world_writable {
        progress.println(&format!(
            "warning: {} belongs to root, so containers run as the images' user (uid 1000) and cannot write into it; \
             run dmp as the directory's owner, or `chown -R 1000:1000 {}`",
            project.dir.display(),
            project.dir.display()
        ));
    }
}

/// Every fixed host port must be free, or already held by this project.
fn check_ports(selected: &[&Service], existing: &[ProjectContainer]) -> Result<()> {
    let held: BTreeSet<(String, u16)> = existing
        .iter()
        .filter(|c| c.running())
        .flat_map(|c| c.ports.iter().map(|p| (p.host_ip.clone(), p.published)))
        .collect();
    // (Two services publishing one port is rejected when loading.)
    for service in selected {
        for port in &service.ports {
            let Some(published) = port.published else { continue };
            let key = (port.host_ip.clone(), published);
            if held.contains(&key) || port.protocol != "tcp" {
                continue;
            }
            if let Err(e) = std::net::TcpListener::bind((port.host_ip.as_str(), published)) {
                return Err(Error::PortTaken {
                    port: published,
                    host_ip: port.host_ip.clone(),
                    service: service.name.clone(),
                    reason: e.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Builds or pulls what is missing (dmp's base images first) and returns
/// each service's image ID.
async fn ensure_images(
    docker: &Docker,
    project: &Project,
    selected: &[&Service],
    force_build: bool,
    progress: &Progress,
) -> Result<HashMap<String, String>> {
    let catalogue = Catalogue::embedded()?;
    let exists = |reference: String| async move { docker.inspect_image(&reference).await.is_ok() };

    // dmp's base images, named by a service or in a build's FROM lines.
    let mut base_refs = BTreeSet::new();
    for service in selected {
        match &service.build {
            Some(build) => {
                let dockerfile = std::fs::read_to_string(build.context.join(&build.dockerfile)).unwrap_or_default();
                base_refs.extend(dockerfile.lines().filter_map(|line| from_base_image(line, &catalogue)));
            }
            None => base_refs.extend(service.image.as_deref().and_then(|i| base_image_name(i, &catalogue))),
        }
    }
    // Another Node than the default is an image of its own (crate::node).
    let mut node_majors = BTreeSet::new();
    for reference in selected.iter().filter_map(|s| s.image.as_deref()) {
        let major = crate::node::tag_major(reference);
        if let Some(major) = major.filter(|_| base_image_name(reference, &catalogue).is_some()) {
            base_refs.remove(crate::node::IMAGE);
            if !exists(reference.to_owned()).await {
                node_majors.insert(major);
            }
        }
    }
    let mut missing_bases = Vec::new();
    for name in base_refs {
        if !exists(catalogue.tag(&name)).await {
            missing_bases.push(name);
        }
    }
    base_images::ensure(docker, &missing_bases, progress).await?;
    base_images::ensure_node_images(docker, &node_majors.into_iter().collect::<Vec<_>>(), progress).await?;

    // One inspect per image: its ID, or that it is missing. Only what had to
    // be built or pulled is inspected again.
    let image_id = |reference: String| async move { docker.inspect_image(&reference).await.ok().and_then(|i| i.id) };
    let mut ids = HashMap::new();
    for service in selected {
        let reference = spec::image_ref(project, service);
        let mut id = if service.build.is_some() && force_build { None } else { image_id(reference.clone()).await };
        if id.is_none() {
            match &service.build {
                Some(build) => {
                    build_service_image(docker, service, build, &reference, progress.task(&service.name)).await?;
                }
                None => pull(docker, service, &reference).await?,
            }
            id = image_id(reference.clone()).await;
        }
        let id = id.ok_or_else(|| Error::ImageMissing {
            image: reference,
            service: service.name.clone(),
            reason: "it is still missing after the build or pull".into(),
        })?;
        ids.insert(service.name.clone(), id);
    }
    Ok(ids)
}

/// `FROM dmp/<name>[:tag]` → `<name>`, for names in the catalogue.
fn from_base_image(line: &str, catalogue: &Catalogue) -> Option<String> {
    let mut words = line.split_whitespace();
    if !words.next()?.eq_ignore_ascii_case("FROM") {
        return None;
    }
    base_image_name(words.find(|w| !w.starts_with("--"))?, catalogue)
}

fn base_image_name(reference: &str, catalogue: &Catalogue) -> Option<String> {
    let name = reference.strip_prefix(NAMESPACE)?.strip_prefix('/')?;
    let name = name.split(':').next()?;
    catalogue.images.iter().any(|i| i.name == name).then(|| name.to_owned())
}

async fn build_service_image(
    docker: &Docker,
    service: &Service,
    build: &crate::compose::model::Build,
    reference: &str,
    mut task: Task,
) -> Result<()> {
    let context = build_context::from_dir(&build.context, &build.dockerfile)?;
    if !context.sensitive.is_empty() {
        let shown: Vec<&str> = context.sensitive.iter().take(5).map(String::as_str).collect();
        eprintln!(
            "warning: the build context of {} sends {} file(s) that rarely belong in an image ({}{}); list them in {}/.dockerignore",
            service.name,
            context.sensitive.len(),
            shown.join(", "),
            if context.sensitive.len() > shown.len() { ", …" } else { "" },
            build.context.display()
        );
    }
    let mut build_args: HashMap<String, String> = build.args.clone().into_iter().collect();
    build_args.retain(|_, v| !v.is_empty());
    let request = BuildRequest {
        tag: reference.to_owned(),
        extra_tags: Vec::new(),
        dockerfile: build.dockerfile.clone(),
        context: context.tar,
        build_args,
        labels: HashMap::new(),
        target: build.target.clone(),
        no_cache: false,
    };
    task.announce(&format!("building {reference}"));
    let result = image_build::build(docker, request, |event| task.build_event(event)).await;
    match result {
        Ok(_) => {
            task.announce("built");
            Ok(())
        }
        Err(failure) => {
            task.finish(false, "build failed");
            let text = failure.report(&format!("{reference} (service {})", service.name));
            Err(Error::BuildFailed { failed: vec![text] })
        }
    }
}

async fn pull(docker: &Docker, service: &Service, reference: &str) -> Result<()> {
    let (image, tag) = match reference.rsplit_once(':') {
        Some((image, tag)) if !tag.contains('/') => (image, tag),
        _ => (reference, "latest"),
    };
    let options = CreateImageOptionsBuilder::default().from_image(image).tag(tag).build();
    let mut stream = docker.create_image(Some(options), None, None);
    while let Some(message) = stream.next().await {
        if let Err(e) = message {
            return Err(Error::ImageMissing {
                image: reference.to_owned(),
                service: service.name.clone(),
                reason: engine_message(&e),
            });
        }
    }
    Ok(())
}

async fn ensure_networks_and_volumes(docker: &Docker, project: &Project, selected: &[&Service]) -> Result<()> {
    let labels = HashMap::from([(LABEL_PROJECT.to_owned(), project.name.clone())]);
    let networks: BTreeSet<&str> = selected.iter().flat_map(|s| s.networks.iter().map(String::as_str)).collect();
    for key in networks {
        let name = project.network_name(key);
        if docker.inspect_network(&name, None).await.is_ok() {
            continue;
        }
        if project.networks.get(key).is_some_and(|n| n.external) {
            return Err(Error::ExternalMissing { kind: "network", name });
        }
        let request = NetworkCreateRequest { name, labels: Some(labels.clone()), ..Default::default() };
        docker.create_network(request).await.map_err(EngineError::from)?;
    }
    let volumes: BTreeSet<&str> = selected
        .iter()
        .flat_map(|s| {
            s.volumes
                .iter()
                .filter_map(|m| m.source.as_deref().filter(|_| m.kind == crate::compose::model::MountKind::Volume))
        })
        .collect();
    for key in volumes {
        let name = project.volume_name(key);
        if docker.inspect_volume(&name).await.is_ok() {
            continue;
        }
        if project.volumes.get(key).is_some_and(|v| v.external) {
            return Err(Error::ExternalMissing { kind: "volume", name });
        }
        let request = VolumeCreateRequest { name: Some(name), labels: Some(labels.clone()), ..Default::default() };
        docker.create_volume(request).await.map_err(EngineError::from)?;
    }
    Ok(())
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
            return Err(Failure { reason: format!("was not started because {dependency} failed"), logs: Vec::new() });
        }
        let dependency_container = container_name(&job.project.name, &dependency);
        if let Err(failure) = wait::container(docker, &dependency_container, target, job.deadline).await {
            job.task.finish(false, &format!("not started: {dependency} {}", failure.reason));
            return Err(Failure {
                reason: format!("was not started because {dependency} {}", failure.reason),
                logs: failure.logs,
            });
        }
    }

    let name = container_name(&job.project.name, &job.service.name);
    let service = spec::for_host_user(job.service, spec::host_user(&job.project.dir));
    let service = crate::ca::for_container(service, crate::ca::host_bundle().as_deref());
    let service = service.as_ref();
    let hash = spec::config_hash(service, &job.image_id, spec::HASH_VERSION).unwrap_or_default();
    let current = job.existing.iter().find(|c| c.name == name);
    let matches = current.is_some_and(|c| {
        let version = c.hash_version.as_deref().unwrap_or(spec::HASH_VERSION);
        spec::config_hash(service, &job.image_id, version).as_ref() == c.config_hash.as_ref()
    });
    let result: Result<Action, Failure> = async {
        // Containers of this service under another name (an older layout) go.
        for stray in job.existing.iter().filter(|c| c.name != name) {
            remove(docker, &stray.name, false).await?;
        }
        match current {
            Some(c) if matches && !job.force_recreate => {
                if c.running() {
                    return Ok(Action::Unchanged);
                }
                job.task.announce("starting");
                docker.start_container(&name, None::<StartContainerOptions>).await?;
                Ok(Action::Started)
            }
            Some(_) => {
                job.task.announce(if matches { "recreating (forced)" } else { "recreating (config or image changed)" });
                remove(docker, &name, false).await?;
                create_and_start(docker, job.project, service, &hash).await?;
                Ok(Action::Recreated)
            }
            None => {
                job.task.announce("creating");
                create_and_start(docker, job.project, service, &hash).await?;
                Ok(Action::Created)
            }
        }
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

async fn create_and_start(docker: &Docker, project: &Project, service: &Service, hash: &str) -> Result<(), Failure> {
    let name = container_name(&project.name, &service.name);
    let options = CreateContainerOptionsBuilder::default().name(&name).build();
    docker.create_container(Some(options), spec::container_body(project, service, hash)).await?;
    for network in service.networks.iter().skip(1) {
        let request = NetworkConnectRequest { container: name.clone(), endpoint_config: Some(spec::endpoint(service)) };
        docker.connect_network(&project.network_name(network), request).await?;
    }
    docker.start_container(&name, None::<StartContainerOptions>).await?;
    Ok(())
}

/// Stops (SIGTERM, 10 s) and removes a container, with its anonymous
/// volumes when `volumes`; gone already is fine.
pub async fn remove(docker: &Docker, name: &str, volumes: bool) -> Result<(), bollard::errors::Error> {
    let stop = StopContainerOptionsBuilder::default().t(10).build();
    match docker.stop_container(name, Some(stop)).await {
        Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 304 | 404, .. }) => {}
        Err(e) => return Err(e),
    }
    let options = RemoveContainerOptionsBuilder::default().force(true).v(volumes).build();
    match docker.remove_container(name, Some(options)).await {
        Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Every selected service healthy (or running, without a health check);
/// jobs that others wait on to complete, done.
async fn wait_ready(docker: &Docker, project: &Project, selected: &[&Service], deadline: Instant) -> Result<()> {
    let jobs: BTreeSet<&str> = selected
        .iter()
        .flat_map(|s| s.depends_on.iter())
        .filter(|(_, d)| d.condition == Condition::ServiceCompletedSuccessfully)
        .map(|(name, _)| name.as_str())
        .collect();
    let waits = selected.iter().map(|service| async {
        let target = if jobs.contains(service.name.as_str()) { Target::Completed } else { Target::Ready };
        let name = container_name(&project.name, &service.name);
        wait::container(docker, &name, target, deadline).await.map_err(|f| failed(project, service, f.into()))
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
    let containers = super::containers(docker, &project.name).await?;
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
    let url = format!("http://{url_host}:{}{path}", port.published);
    wait::http(&host, port.published, &path, deadline).await.map_err(|last| Error::ServiceFailed {
        service: service.name.clone(),
        container: container_name(&project.name, &service.name),
        reason: format!("does not answer HTTP at {url} (last: {last})"),
        logs: Vec::new(),
    })?;
    Ok(Some(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_images_are_found_in_from_lines() {
        let catalogue = Catalogue::embedded().expect("catalogue");
        assert_eq!(from_base_image("FROM dmp/wsgi:1.0.0", &catalogue).as_deref(), Some("wsgi"));
        assert_eq!(
            from_base_image("from --platform=linux/amd64 dmp/http-frontend AS web", &catalogue).as_deref(),
            Some("http-frontend")
        );
        assert_eq!(from_base_image("FROM dmp/other:1", &catalogue), None);
        assert_eq!(from_base_image("FROM debian:bookworm-slim", &catalogue), None);
        assert_eq!(from_base_image("RUN echo FROM dmp/wsgi", &catalogue), None);
    }
}
