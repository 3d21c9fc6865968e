//! The checks that need the Engine but change nothing, made before `up`
//! creates anything: external networks and volumes exist, and every
//! `service_healthy` dependency has a health check (in the file or in its
//! image). What the stack file alone shows is checked when it is loaded.

use std::collections::BTreeSet;

use bollard::Docker;

use crate::compose::Project;
use crate::compose::model::{Condition, MountKind, Service};
use crate::engine::Request as _;
use crate::stack::error::{Result, StackError};

/// Every service built here has a Dockerfile dmp can read (a regular file,
/// not a pipe or directory) with a `FROM`: the Engine's own answer ("no
/// build stage in current context") never names the file.
pub fn dockerfiles(selected: &[&Service]) -> Result<()> {
    for service in selected {
        let Some(build) = &service.build else { continue };
        let path = build.context.join(&build.dockerfile);
        let problem = match crate::user_file::read_to_string(&path) {
            Ok(text) if has_from(&text) => continue,
            Ok(_) => "it has no FROM instruction, so there is nothing to build".to_owned(),
            // A missing context or Dockerfile is the build's to report.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => e.to_string(),
        };
        return Err(StackError::Dockerfile { service: service.name.clone(), path, problem });
    }
    Ok(())
}

/// Whether a Dockerfile has a `FROM` instruction (comments, blank lines
/// and parser directives aside).
fn has_from(text: &str) -> bool {
    text.lines().map(str::trim_start).any(|line| {
        line.get(..4).is_some_and(|word| word.eq_ignore_ascii_case("FROM")) && line[4..].starts_with([' ', '\t'])
    })
}

/// External networks and volumes the selected services use must exist:
/// dmp never creates them.
pub async fn external_objects(docker: &Docker, project: &Project, selected: &[&Service]) -> Result<()> {
    let networks: BTreeSet<&str> = selected.iter().flat_map(|s| s.networks.iter().map(String::as_str)).collect();
    for key in networks.into_iter().filter(|k| project.networks.get(*k).is_some_and(|n| n.external)) {
        let name = project.network_name(key);
        if docker.inspect_network(&name, None).timed(format_args!("inspect network {name}")).await.is_err() {
            return Err(StackError::ExternalMissing { kind: "network", name });
        }
    }
    let volumes: BTreeSet<&str> = selected
        .iter()
        .flat_map(|s| s.volumes.iter().filter(|m| m.kind == MountKind::Volume).filter_map(|m| m.source.as_deref()))
        .collect();
    for key in volumes.into_iter().filter(|k| project.volumes.get(*k).is_some_and(|v| v.external)) {
        let name = project.volume_name(key);
        if docker.inspect_volume(&name).timed(format_args!("inspect volume {name}")).await.is_err() {
            return Err(StackError::ExternalMissing { kind: "volume", name });
        }
    }
    Ok(())
}

/// A `service_healthy` dependency must have a health check, or the wait
/// could never end: the file's, else its image's (`image_ids` gives the
/// image each service runs).
pub async fn health_checks(
    docker: &Docker,
    selected: &[&Service],
    image_ids: &std::collections::HashMap<String, String>,
) -> Result<()> {
    for service in selected {
        for (dependency, _) in service.depends_on.iter().filter(|(_, d)| d.condition == Condition::ServiceHealthy) {
            let Some(target) = selected.iter().find(|s| &s.name == dependency) else { continue };
            let file = target.healthcheck.as_ref();
            let has_check = if file.is_some_and(|h| h.disable || h.test.first().is_some_and(|t| t == "NONE")) {
                false
            } else if file.is_some_and(|h| !h.test.is_empty()) {
                true
            } else {
                // No test in the file: the image's, if it has one.
                match image_ids.get(dependency) {
                    Some(id) => docker
                        .inspect_image(id)
                        .timed(format_args!("inspect image {id}"))
                        .await
                        .ok()
                        .and_then(|i| i.config)
                        .and_then(|c| c.healthcheck)
                        .and_then(|h| h.test)
                        .is_some_and(|t| t.first().is_some_and(|t| t != "NONE")),
                    None => true,
                }
            };
            if !has_check {
                return Err(StackError::NoHealthcheck {
                    service: service.name.clone(),
                    dependency: dependency.clone(),
                });
            }
        }
    }
    Ok(())
}
