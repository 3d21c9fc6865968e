//! A project's containers on the Engine: found by dmp's labels, never by
//! name alone, so nothing dmp did not create is touched.
//!
//! `up` orchestrates: `plan` decides without the Engine (selection,
//! create / keep / start / recreate, orphans), `ports` checks the host
//! ports it publishes, `provision` brings images, networks and volumes,
//! `apply` makes the container calls, `wait` waits for readiness; `spec`
//! turns a service into the Engine's container settings and config hash,
//! `mounts` into its mounts and injected files; `lock` keeps one `up` or
//! `down` of a project at a time; `exec` runs commands in containers.

pub mod apply;
mod converge;
mod error;
pub mod exec;
pub mod http;
mod joins;
pub mod journal;
pub mod labels;
mod lock;
pub mod mounts;
pub mod owner;
pub mod plan;
pub mod ports;
mod preflight;
pub mod provision;
pub mod spec;
pub mod up;
pub mod wait;

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::{ContainerSummary, ContainerSummaryStateEnum, Volume};
use bollard::query_parameters::{ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder};
use serde::Serialize;

use crate::compose::Project;
pub use error::StackError;
pub use lock::ProjectLock;

use crate::engine::{EngineError, Request as _};

pub use labels::{CONFIG_HASH as LABEL_CONFIG_HASH, HASH_VERSION as LABEL_HASH_VERSION, PROJECT as LABEL_PROJECT};

/// One of the project's containers, as the Engine lists it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProjectContainer {
    pub service: String,
    pub name: String,
    /// created, running, exited, …
    pub state: String,
    /// healthy, unhealthy, starting, or none.
    pub health: String,
    /// The Engine's own summary ("Up 3 minutes (healthy)").
    pub status: String,
    pub ports: Vec<PublishedPort>,
    /// Ports it exposes without a host port (`EXPOSE`, `expose:`), as
    /// `(target, protocol)`: `ps --format json` lists them as Compose does.
    #[serde(skip)]
    pub exposed: Vec<(u16, String)>,
    #[serde(skip)]
    pub config_hash: Option<String>,
    #[serde(skip)]
    pub hash_version: Option<String>,
    #[serde(skip)]
    pub id: String,
    #[serde(skip)]
    pub image: String,
    #[serde(skip)]
    pub command: String,
    /// Unix seconds.
    #[serde(skip)]
    pub created: i64,
    #[serde(skip)]
    pub labels: HashMap<String, String>,
    /// A `run` container (Compose's `oneoff` label).
    #[serde(skip)]
    pub oneoff: bool,
    /// The networks it is attached to.
    #[serde(skip)]
    pub networks: Vec<String>,
    /// Its mounts' sources (a volume's name, a bind's host path).
    #[serde(skip)]
    pub mounts: Vec<String>,
    /// dmp made it (`dev.dmp.project`); else `docker compose` did, and
    /// `up` takes it over.
    #[serde(skip)]
    pub managed: bool,
    /// It carries Compose's labels (dmp before 0.2 wrote only its own).
    #[serde(skip)]
    pub compose_labelled: bool,
    /// The project directory recorded in Compose's label.
    #[serde(skip)]
    pub working_dir: Option<String>,
    /// The stack files recorded in Compose's label, comma-separated.
    #[serde(skip)]
    pub config_files: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct PublishedPort {
    pub host_ip: String,
    pub published: u16,
    pub target: u16,
    pub protocol: String,
}

impl ProjectContainer {
    pub fn running(&self) -> bool {
        self.state == "running"
    }

    /// Up by the list alone: running for a second or more (the Engine's
    /// status text says "Up Less than a second" before that), without a
    /// health check or healthy. Anything else needs a closer look.
    pub fn settled(&self) -> bool {
        self.running()
            && self.status.starts_with("Up ")
            && !self.status.starts_with("Up Less than a second")
            && matches!(self.health.as_str(), "none" | "healthy")
    }
}

/// The project's containers (all states) that `selected` would have, and
/// any others of the project, sorted by service, once it is sure the
/// project is this directory's ([`check_owner`]): a command in another
/// checkout with the same project name stops here, before it touches
/// anything. One list when the project holds what `selected` expects (see
/// [`lists_needed`]).
pub async fn containers(
    docker: &Docker,
    project: &Project,
    selected: &[&crate::compose::model::Service],
) -> Result<Vec<ProjectContainer>, StackError> {
    let found = list_containers_expecting(docker, &project.name, &expected_names(project, selected)).await?;
    check_owner(docker, project, &found, false).await?;
    Ok(found)
}

/// The names of `selected`'s containers, every replica's.
pub fn expected_names(project: &Project, selected: &[&crate::compose::model::Service]) -> Vec<String> {
    selected.iter().flat_map(|s| replica_names(project, s)).collect()
}

/// Whether the project in `project.dir` may act on what the Engine holds
/// for its name (see [`owner`]): `Ok(Some(dir))` when `adopt` takes it over
/// from another directory, an error naming both directories when it lives
/// elsewhere and `adopt` is off.
pub async fn check_owner(
    docker: &Docker,
    project: &Project,
    containers: &[ProjectContainer],
    adopt: bool,
) -> Result<Option<String>, StackError> {
    let recorded = |dir: Option<&String>, object: String| dir.map(|dir| owner::Recorded { dir: dir.clone(), object });
    let by_containers: Vec<owner::Recorded> =
        containers.iter().filter_map(|c| recorded(c.working_dir.as_ref(), format!("container {}", c.name))).collect();
    // Volumes speak only for a project without containers: one more
    // request, only then.
    let by_volumes: Vec<owner::Recorded> = if by_containers.is_empty() {
        volumes(docker, &project.name)
            .await?
            .into_iter()
            .filter_map(|v| recorded(v.labels.get(labels::WORKING_DIR), format!("volume {}", v.name)))
            .collect()
    } else {
        Vec::new()
    };
    match owner::decide(&project.dir, &by_containers, &by_volumes, adopt, owner::same_dir) {
        owner::Ownership::Here => Ok(None),
        owner::Ownership::Adopted { from } => Ok(Some(from)),
        owner::Ownership::Elsewhere { theirs, object } => Err(StackError::OtherDirectory {
            project: project.name.clone(),
            theirs,
            object,
            here: project.dir.display().to_string(),
        }),
    }
}

/// The project's containers (all states), sorted by service: those dmp
/// made and those `docker compose` made for the same project name (Compose
/// `run` containers aside). Whatever directory made them: see
/// [`containers`]. Two lists, at once: with no stack to say what to expect.
pub async fn list_containers(docker: &Docker, project: &str) -> Result<Vec<ProjectContainer>, EngineError> {
    let mut found = with_oneoffs(docker, project, None).await?;
    found.retain(|c| !c.oneoff);
    Ok(found)
}

/// As [`list_containers`], `run`'s one-off containers included (`down`
/// and `rm` remove them too). With `expected`, the containers a stack's
/// services would have, one list may answer (see [`lists_needed`]);
/// without, both lists are made at once.
pub async fn with_oneoffs(
    docker: &Docker,
    project: &str,
    expected: Option<&[String]>,
) -> Result<Vec<ProjectContainer>, EngineError> {
    let Some(expected) = expected else {
        // The Engine ANDs label filters: one list per label, run at once.
        let lists = futures_util::future::join(
            list_labelled(docker, LABEL_PROJECT, project),
            list_labelled(docker, labels::compose::PROJECT, project),
        );
        // Boxed: the two requests would make every caller's future large.
        let (ours, composes) = Box::pin(lists).await;
        return Ok(project_containers(ours?.into_iter().chain(composes?)));
    };
    // Boxed, as above.
    let composes = Box::pin(list_labelled(docker, labels::compose::PROJECT, project)).await?;
    let ours = match lists_needed(&composes, expected) {
        Lists::One => Vec::new(),
        Lists::Two => Box::pin(list_labelled(docker, LABEL_PROJECT, project)).await?,
    };
    Ok(project_containers(ours.into_iter().chain(composes)))
}

/// As [`list_containers`], in one request when the Compose-labelled list
/// holds every container named in `expected` (see [`lists_needed`]).
pub async fn list_containers_expecting(
    docker: &Docker,
    project: &str,
    expected: &[String],
) -> Result<Vec<ProjectContainer>, EngineError> {
    let mut found = with_oneoffs(docker, project, Some(expected)).await?;
    found.retain(|c| !c.oneoff);
    Ok(found)
}

/// How many lists find a project's containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lists {
    /// The list by Compose's project label is the whole answer.
    One,
    /// The list by dmp's own project label is needed as well.
    Two,
}

/// Whether the list by Compose's project label (`composes`) is the whole
/// answer: every container dmp makes carries Compose's labels as well as
/// its own, and so does every container `docker compose` makes, so only an
/// older dmp's containers (before 0.2: dmp's label alone) can be missing
/// from it. Such a container holds a name the list lacks; when the list has
/// every name in `expected` (what the stack's services would be called),
/// none of those is missing, and one request answered. A project that is
/// down, partly up or laid out by another stack file asks the second list.
fn lists_needed(composes: &[ContainerSummary], expected: &[String]) -> Lists {
    let listed =
        |name: &str| composes.iter().flat_map(|c| c.names.iter().flatten()).any(|n| n.trim_start_matches('/') == name);
    if expected.iter().all(|name| listed(name)) { Lists::One } else { Lists::Two }
}

async fn list_labelled(docker: &Docker, label: &str, project: &str) -> Result<Vec<ContainerSummary>, EngineError> {
    let filters = HashMap::from([("label".to_owned(), vec![format!("{label}={project}")])]);
    let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    docker.list_containers(Some(options)).named("list containers").await
}

/// The listed containers, each once, sorted by service.
fn project_containers(listed: impl Iterator<Item = ContainerSummary>) -> Vec<ProjectContainer> {
    let mut seen = std::collections::HashSet::new();
    let mut found: Vec<ProjectContainer> =
        listed.filter(|c| seen.insert(c.id.clone())).map(project_container).collect();
    found.sort_by(|a, b| (&a.service, &a.name).cmp(&(&b.service, &b.name)));
    found
}

/// Every container of every project on the Engine, found by dmp's project
/// label or Compose's, so Compose's projects are listed too (`dmp ls`).
pub async fn all_projects(docker: &Docker) -> Result<Vec<(String, ProjectContainer)>, EngineError> {
    let mut found: Vec<(String, ProjectContainer)> = Vec::new();
    for label in [LABEL_PROJECT, labels::compose::PROJECT] {
        let filters = HashMap::from([("label".to_owned(), vec![label.to_owned()])]);
        let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
        for summary in docker.list_containers(Some(options)).named("list containers").await? {
            let container = project_container(summary);
            if found.iter().any(|(_, c)| c.id == container.id) {
                continue;
            }
            let project = container.labels.get(label).cloned().unwrap_or_default();
            found.push((project, container));
        }
    }
    Ok(found)
}

fn project_container(summary: ContainerSummary) -> ProjectContainer {
    let labels = summary.labels.unwrap_or_default();
    let status = summary.status.unwrap_or_default();
    // The list carries health only inside the status text; reading it there
    // saves an inspect per container.
    let health = ["healthy", "unhealthy", "health: starting"]
        .iter()
        .find(|h| status.contains(&format!("({h})")))
        .map_or("none", |h| h.trim_start_matches("health: "))
        .to_owned();
    let state = summary.state.map_or(ContainerSummaryStateEnum::EMPTY, |s| s).to_string();
    let listed = summary.ports.unwrap_or_default();
    let mut exposed: Vec<(u16, String)> = listed
        .iter()
        .filter(|p| p.public_port.is_none())
        .map(|p| (p.private_port, p.typ.map_or_else(|| "tcp".into(), |t| t.to_string())))
        .collect();
    exposed.sort();
    exposed.dedup();
    let mut ports: Vec<PublishedPort> = listed
        .into_iter()
        .filter_map(|p| {
            Some(PublishedPort {
                host_ip: p.ip.unwrap_or_default(),
                published: p.public_port?,
                target: p.private_port,
                protocol: p.typ.map_or_else(|| "tcp".into(), |t| t.to_string()),
            })
        })
        .collect();
    ports.sort();
    ports.dedup();
    let mut networks: Vec<String> =
        summary.network_settings.and_then(|n| n.networks).map(|n| n.into_keys().collect()).unwrap_or_default();
    networks.sort();
    let mounts = summary
        .mounts
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.name.filter(|n| !n.is_empty()).or(m.source))
        .collect();
    ProjectContainer {
        networks,
        mounts,
        id: summary.id.unwrap_or_default(),
        image: summary.image.unwrap_or_default(),
        command: summary.command.unwrap_or_default(),
        created: summary.created.unwrap_or_default(),
        oneoff: labels.get(labels::compose::ONEOFF).is_some_and(|v| v == "True"),
        service: labels
            .get(labels::SERVICE)
            .or_else(|| labels.get(labels::compose::SERVICE))
            .cloned()
            .unwrap_or_default(),
        name: summary
            .names
            .unwrap_or_default()
            .first()
            .map(|n| n.trim_start_matches('/').to_owned())
            .unwrap_or_default(),
        state,
        health,
        status,
        ports,
        exposed,
        config_hash: labels.get(LABEL_CONFIG_HASH).cloned(),
        hash_version: labels.get(LABEL_HASH_VERSION).cloned(),
        managed: labels.contains_key(LABEL_PROJECT),
        compose_labelled: labels.contains_key(labels::compose::PROJECT),
        working_dir: labels.get(labels::compose::WORKING_DIR).cloned(),
        config_files: labels.get(labels::compose::CONFIG_FILES).cloned(),
        labels,
    }
}

/// `project-service-1`, as Compose v2 names containers, or the service's
/// `container_name`.
pub fn container_name(project: &Project, service: &str) -> String {
    project.container_name(service)
}

/// The names of the service's containers, one per replica (`scale`,
/// `deploy.replicas`): `project-service-N` from 1, or `container_name`
/// for a single one.
pub fn replica_names(project: &Project, service: &crate::compose::model::Service) -> Vec<String> {
    (1..=service.replicas.unwrap_or(1).max(1)).map(|n| replica_name(project, &service.name, n)).collect()
}

/// The name of container `number` of `service` (1: [`container_name`]).
pub fn replica_name(project: &Project, service: &str, number: u32) -> String {
    if number == 1 { container_name(project, service) } else { format!("{}-{service}-{number}", project.name) }
}

/// Containers with the names dmp would give `services` that belong to no
/// stack of this project (neither dmp's nor `docker compose`'s): dmp must
/// not touch them. The names go to the Engine in batches, so no request URL
/// grows with the stack (a few thousand names in one filter overflow the
/// Engine's URL limit).
pub async fn foreign_containers(
    docker: &Docker,
    project: &Project,
    services: &[&str],
) -> Result<Vec<String>, EngineError> {
    const BATCH: usize = 100;
    let mut found = Vec::new();
    for batch in services.chunks(BATCH) {
        let names: Vec<String> = batch.iter().map(|s| format!("^/{}$", container_name(project, s))).collect();
        let filters = HashMap::from([("name".to_owned(), names)]);
        let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
        found.extend(
            docker
                .list_containers(Some(options))
                .named("list containers by name")
                .await?
                .into_iter()
                .filter(|c| {
                    let label = |key| c.labels.as_ref().and_then(|l| l.get(key));
                    label(LABEL_PROJECT) != Some(&project.name)
                        && label(labels::compose::PROJECT) != Some(&project.name)
                })
                .filter_map(|c| c.names.and_then(|n| n.first().map(|n| n.trim_start_matches('/').to_owned()))),
        );
    }
    Ok(found)
}

/// The names of the project's networks (dmp's and `docker compose`'s).
pub async fn networks(docker: &Docker, project: &str) -> Result<Vec<String>, EngineError> {
    let list = |label: &str| {
        let filters = HashMap::from([("label".to_owned(), vec![format!("{label}={project}")])]);
        let options = ListNetworksOptionsBuilder::default().filters(&filters).build();
        docker.list_networks(Some(options)).named("list networks")
    };
    // Boxed: the two requests would make every caller's future large.
    let (ours, composes) =
        Box::pin(futures_util::future::join(list(LABEL_PROJECT), list(labels::compose::PROJECT))).await;
    let names: std::collections::BTreeSet<String> = ours?.into_iter().chain(composes?).filter_map(|n| n.name).collect();
    Ok(names.into_iter().collect())
}

/// The project's named volumes (dmp's and `docker compose`'s).
pub async fn volumes(docker: &Docker, project: &str) -> Result<Vec<Volume>, EngineError> {
    let list = |label: &str| {
        let filters = HashMap::from([("label".to_owned(), vec![format!("{label}={project}")])]);
        let options = ListVolumesOptionsBuilder::default().filters(&filters).build();
        docker.list_volumes(Some(options)).named("list volumes")
    };
    // Boxed: the two requests would make every caller's future large.
    let (ours, composes) =
        Box::pin(futures_util::future::join(list(LABEL_PROJECT), list(labels::compose::PROJECT))).await;
    let mut seen = std::collections::HashSet::new();
    let mut found: Vec<Volume> = ours?
        .volumes
        .unwrap_or_default()
        .into_iter()
        .chain(composes?.volumes.unwrap_or_default())
        .filter(|v| seen.insert(v.name.clone()))
        .collect();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use bollard::models::ContainerSummary;

    use super::{Lists, lists_needed};

    fn listed(names: &[&str]) -> Vec<ContainerSummary> {
        names.iter().map(|n| ContainerSummary { names: Some(vec![format!("/{n}")]), ..Default::default() }).collect()
    }

    fn expected(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn one_list_answers_when_compose_s_label_finds_every_expected_container() {
        let composes = listed(&["p-wsgi-1", "p-nginx-1"]);
        assert_eq!(lists_needed(&composes, &expected(&["p-wsgi-1", "p-nginx-1"])), Lists::One);
        // A subset (`ps wsgi`), and others besides (orphans, `run`'s), too.
        assert_eq!(lists_needed(&composes, &expected(&["p-wsgi-1"])), Lists::One);
        let more = listed(&["p-wsgi-1", "p-nginx-1", "p-old-1", "p-wsgi-run-0123"]);
        assert_eq!(lists_needed(&more, &expected(&["p-wsgi-1", "p-nginx-1"])), Lists::One);
    }

    #[test]
    fn dmp_s_own_label_is_asked_when_an_expected_container_is_not_listed() {
        // An older dmp's nginx carries dmp's label only; or the stack is
        // partly up, or down.
        let composes = listed(&["p-wsgi-1"]);
        assert_eq!(lists_needed(&composes, &expected(&["p-wsgi-1", "p-nginx-1"])), Lists::Two);
        assert_eq!(lists_needed(&[], &expected(&["p-wsgi-1"])), Lists::Two);
        // Every replica counts.
        let one_replica = listed(&["p-wsgi-1", "p-wsgi-2"]);
        assert_eq!(lists_needed(&one_replica, &expected(&["p-wsgi-1", "p-wsgi-2", "p-wsgi-3"])), Lists::Two);
    }

    #[test]
    fn names_are_compared_whole_without_the_engine_s_slash() {
        assert_eq!(lists_needed(&listed(&["p-wsgi-10"]), &expected(&["p-wsgi-1"])), Lists::Two);
        assert_eq!(lists_needed(&listed(&["custom"]), &expected(&["custom"])), Lists::One);
    }
}
