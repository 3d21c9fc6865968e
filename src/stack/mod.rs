//! A project's containers on the Engine: found by dmp's labels, never by
//! name alone, so nothing dmp did not create is touched.
//!
//! `up` orchestrates: `plan` decides without the Engine (selection, ports,
//! create / keep / start / recreate, orphans), `provision` brings images,
//! networks and volumes, `apply` makes the container calls, `wait` waits
//! for readiness; `spec` turns a service into the Engine's container
//! settings and config hash; `exec` runs commands in containers.

pub mod apply;
mod error;
pub mod exec;
pub mod plan;
pub mod provision;
pub mod spec;
pub mod up;
pub mod wait;

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::{ContainerSummary, ContainerSummaryStateEnum};
use bollard::query_parameters::ListContainersOptionsBuilder;
use serde::Serialize;

use crate::compose::Project;
pub use error::StackError;

use crate::engine::{EngineError, Request as _};
use crate::error::IoError;

pub const LABEL_PROJECT: &str = "dev.dmp.project";
pub const LABEL_SERVICE: &str = "dev.dmp.service";
pub const LABEL_CONFIG_HASH: &str = "dev.dmp.config-hash";
/// Which scheme made the hash: a dmp that changes the scheme can still read
/// old hashes, so an upgrade alone recreates nothing.
pub const LABEL_HASH_VERSION: &str = "dev.dmp.hash-version";

/// One of the project's containers, as the Engine lists it.
#[derive(Debug, Clone, Serialize)]
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
    #[serde(skip)]
    pub config_hash: Option<String>,
    #[serde(skip)]
    pub hash_version: Option<String>,
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

/// The project's containers (all states), sorted by service.
pub async fn containers(docker: &Docker, project: &str) -> Result<Vec<ProjectContainer>, EngineError> {
    let filters = HashMap::from([("label".to_owned(), vec![format!("{LABEL_PROJECT}={project}")])]);
    let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    let mut found: Vec<ProjectContainer> = docker
        .list_containers(Some(options))
        .named("list containers")
        .await?
        .into_iter()
        .map(project_container)
        .collect();
    found.sort_by(|a, b| (&a.service, &a.name).cmp(&(&b.service, &b.name)));
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
    let mut ports: Vec<PublishedPort> = summary
        .ports
        .unwrap_or_default()
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
    ProjectContainer {
        service: labels.get(LABEL_SERVICE).cloned().unwrap_or_default(),
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
        config_hash: labels.get(LABEL_CONFIG_HASH).cloned(),
        hash_version: labels.get(LABEL_HASH_VERSION).cloned(),
    }
}

/// `project-service-1`, as Compose v2 names containers, or the service's
/// `container_name`.
pub fn container_name(project: &Project, service: &str) -> String {
    project.container_name(service)
}

/// An exclusive lock on a project for commands that change it, so two
/// `dmp up` at once take turns instead of racing (the second then finds
/// nothing to do). Released when dropped.
#[derive(Debug)]
pub struct ProjectLock {
    _file: std::fs::File,
}

impl ProjectLock {
    /// Waits for the lock, saying so once when another dmp holds it.
    pub async fn acquire(project: &str) -> Result<Self, IoError> {
        let dir = std::env::temp_dir().join("dmp-locks");
        std::fs::create_dir_all(&dir).map_err(IoError::at("create the lock directory", &dir))?;
        // Shared by every user of the Engine on this machine.
        let _ = std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o1777));
        let path = dir.join(format!("{project}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(IoError::at("open the project lock", &path))?;
        let mut said = false;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if !said {
                        eprintln!("waiting for another dmp working on {project}");
                        said = true;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(IoError::at("lock", &path)(e)),
            }
        }
    }
}

/// Containers with the names dmp would give `services` that dmp did not
/// create for this project: dmp must not touch them.
pub async fn foreign_containers(
    docker: &Docker,
    project: &Project,
    services: &[&str],
) -> Result<Vec<String>, EngineError> {
    if services.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<String> = services.iter().map(|s| format!("^/{}$", container_name(project, s))).collect();
    let filters = HashMap::from([("name".to_owned(), names)]);
    let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    Ok(docker
        .list_containers(Some(options))
        .named("list containers by name")
        .await?
        .into_iter()
        .filter(|c| c.labels.as_ref().and_then(|l| l.get(LABEL_PROJECT)).is_none_or(|p| *p != project.name))
        .filter_map(|c| c.names.and_then(|n| n.first().map(|n| n.trim_start_matches('/').to_owned())))
        .collect())
}
