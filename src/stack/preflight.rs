//! The checks that need the Engine but change nothing, made before `up`
//! creates anything: external networks and volumes exist, and every
//! `service_healthy` dependency has a health check (in the file or in its
//! image). What the stack file alone shows is checked when it is loaded.
//!
//! A `user:` the image does not have is left to the Engine, which finds it
//! when it starts the container (then `up` rolls back, [`refused`]): the
//! user list is the image's `/etc/passwd` (and `/etc/group`), which the
//! Engine API shows only through a container (created, its files copied
//! out, removed) or an export of the whole image; the first is an Engine
//! change that a SIGKILL could leave behind, the second costs as much as the
//! image is large. A numeric uid needs no entry, and the image's config does
//! not list its users.

use std::collections::BTreeSet;

use bollard::Docker;

use std::path::{Path, PathBuf};

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

/// The error for a service the Engine refused (`reason`, its words), after
/// `undone` (what the rollback removed). A user missing from the image
/// ("unable to find user NAME" / "group NAME") is named at its `user:` line.
pub fn refused(project: &Project, service: &Service, reason: String, undone: String) -> StackError {
    let missing = [("unable to find user ", "user", "/etc/passwd"), ("unable to find group ", "group", "/etc/group")]
        .into_iter()
        .find_map(|(prefix, kind, file)| {
            let name = reason.split_once(prefix)?.1.split([':', ' ']).next()?;
            (!name.is_empty()).then(|| format!("{kind} `{name}` in its {file}"))
        });
    match (missing, &service.user) {
        (Some(missing), Some(user)) => StackError::UserNotInImage {
            at: user_line(&project.files, user).unwrap_or_else(|| format!("service {}'s `user:`", service.name)),
            service: service.name.clone(),
            user: user.clone(),
            missing,
            undone,
        },
        _ => StackError::Refused { service: service.name.clone(), reason, undone },
    }
}

/// `FILE:LINE:COLUMN` of the `user: VALUE` line in the stack files, when
/// exactly one line sets that value (the model keeps no positions; several
/// services with one user are told by the service name instead).
fn user_line(files: &[PathBuf], value: &str) -> Option<String> {
    let mut found = Vec::new();
    for file in files {
        let Ok(text) = crate::user_file::read_to_string(file) else { continue };
        for (index, line) in text.lines().enumerate() {
            let Some(rest) = line.trim_start().strip_prefix("user:") else { continue };
            let written = rest.trim().trim_matches(['"', '\'']);
            if written == value {
                let column = line.len() - rest.trim_start().len() + 1;
                found.push(format!("{}:{}:{column}", shown(file).display(), index + 1));
            }
        }
    }
    (found.len() == 1).then(|| found.remove(0))
}

/// `path` relative to the current directory where it is below it.
fn shown(path: &Path) -> PathBuf {
    let below = std::env::current_dir().ok().and_then(|dir| path.strip_prefix(dir).ok().map(Path::to_path_buf));
    below.unwrap_or_else(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_or_group_the_image_lacks_is_named_at_its_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("dmp.yml");
        let yaml = "services:\n  web:\n    image: a\n    user: \"1000:staff2\"\n  db:\n    image: a\n    user: ghost\n";
        std::fs::write(&file, yaml).expect("write");
        let project = Project { files: vec![file.clone()], ..Project::default() };
        let service =
            |name: &str, user: &str| Service { name: name.into(), user: Some(user.into()), ..Service::default() };
        let refusal = "was refused by the Engine (start container p-db-1): unable to find user ghost: no matching entries in passwd file";
        let error = refused(&project, &service("db", "ghost"), refusal.into(), "dmp removed 1 container".into());
        let text = error.to_string();
        assert!(text.starts_with(&format!("{}:7:11: service db's `user: ghost`", file.display())), "{text}");
        assert!(text.contains("no user `ghost` in its /etc/passwd"), "{text}");
        let refusal = "unable to find group staff2: no matching entries in group file";
        let text = refused(&project, &service("web", "1000:staff2"), refusal.into(), String::new()).to_string();
        assert!(text.contains(":4:11: service web's `user: 1000:staff2`") && text.contains("group `staff2`"), "{text}");
        // Any other refusal stays the Engine's words.
        let other = refused(&project, &service("db", "ghost"), "no space left".into(), String::new());
        assert!(matches!(other, StackError::Refused { .. }));
    }
}
