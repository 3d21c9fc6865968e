//! What containers need before they are created: images (dmp's base images
//! first, then each service's image built or pulled), networks and volumes.

use std::collections::{BTreeSet, HashMap};

use bollard::Docker;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt as _;

use super::journal::{Created, Journal};
use super::{labels, spec};
use crate::compose::Project;
use crate::compose::model::Service;
use crate::engine::Request as _;
use crate::image::base::{self, BuildFailed};
use crate::image::build::{self, BuildRequest};
use crate::image::catalogue::{self, Catalogue, NAMESPACE};
use crate::image::context;
use crate::stack::error::{Result, StackError};
use crate::ui::Progress;
use crate::ui::Task;

/// Builds or pulls what is missing (dmp's base images first) and returns
/// each service's image ID.
pub async fn ensure_images(
    docker: &Docker,
    project: &Project,
    selected: &[&Service],
    force_build: bool,
    progress: &Progress,
) -> Result<HashMap<String, String>> {
    let catalogue = Catalogue::embedded()?;

    let base_refs = base_images(selected, &catalogue);
    let image_id = |reference: String| async move {
        docker.inspect_image(&reference).timed(format_args!("inspect image {reference}")).await.ok().and_then(|i| i.id)
    };
    // Every image named is inspected once, all at once (a no-op `up` waits
    // for the slowest, not for the sum); a service's image is often a base
    // image. Only what is built or pulled below is inspected again.
    let named =
        base_refs.iter().map(|name| catalogue.tag(name)).chain(selected.iter().map(|s| spec::image_ref(project, s)));
    let found = inspect_all(docker, named.collect()).await;
    let known_id = |reference: &str| found.get(reference).cloned().flatten().map(|f| f.id);
    let seen = ensure_bases(docker, &catalogue, selected, base_refs, &found, progress).await?;

    // One inspect per image: its ID, or that it is missing. Only what had to
    // be built or pulled is inspected again.
    let mut ids = HashMap::new();
    for service in selected {
        let reference = spec::image_ref(project, service);
        let policy = service.pull_policy.as_deref();
        // `pull_policy: build` rebuilds and `always` pulls on every up, as
        // in Compose; `never` uses only what is there.
        let rebuild = service.build.is_some() && (force_build || policy == Some("build"));
        let repull = service.build.is_none() && policy == Some("always");
        let mut id = if rebuild || repull {
            None
        } else if let Some(id) = seen.get(&reference) {
            Some(id.clone())
        } else {
            known_id(&reference)
        };
        if id.is_some() && refresh(docker, service, &reference).await {
            id = image_id(reference.clone()).await;
        }
        if id.is_none() && policy == Some("never") && service.build.is_none() {
            return Err(StackError::ImageMissing {
                image: reference,
                service: service.name.clone(),
                reason: "its pull_policy is never".into(),
            });
        }
        if id.is_none() {
            let why = if rebuild {
                "rebuilt (--build or pull_policy: build)"
            } else if repull {
                "pulled (pull_policy: always)"
            } else {
                "missing"
            };
            tracing::debug!(
                target: "dmp::up",
                "{}: image {reference} {why}, {}",
                service.name,
                if service.build.is_some() { "building" } else { "pulling" }
            );
            match &service.build {
                Some(build) => {
                    build_service_image(docker, service, build, &reference, progress.task(&service.name)).await?;
                }
                None => pull(docker, service, &reference).await?,
            }
            id = image_id(reference.clone()).await;
        }
        let id = id.ok_or_else(|| StackError::ImageMissing {
            image: reference,
            service: service.name.clone(),
            reason: "it is still missing after the build or pull".into(),
        })?;
        ids.insert(service.name.clone(), id);
    }
    Ok(ids)
}

/// dmp's base images that `selected` names (as `image:` or in FROM lines,
/// `base_refs`), built when missing: their IDs by reference. A base image
/// built by another dmp (its sources differ, or it has no digest) is built
/// again, as if missing: an upgrade brings its images.
async fn ensure_bases(
    docker: &Docker,
    catalogue: &Catalogue,
    selected: &[&Service],
    mut base_refs: BTreeSet<String>,
    found: &HashMap<String, Option<Found>>,
    progress: &Progress,
) -> Result<HashMap<String, String>> {
    let current = |reference: &str| {
        found.get(reference).cloned().flatten().filter(|f| f.digest.as_deref() == Some(&catalogue.digest)).map(|f| f.id)
    };
    let mut seen = HashMap::new();
    // Another Node than the default is an image of its own (crate::node).
    let mut node_majors = BTreeSet::new();
    // What is built below, inspected again after.
    let mut rebuilt = BTreeSet::new();
    for reference in selected.iter().filter_map(|s| s.image.as_deref()) {
        let major = crate::node::tag_major(reference);
        if let Some(major) = major.filter(|_| base_image_name(reference, catalogue).is_some()) {
            base_refs.remove(crate::node::IMAGE);
            if let Some(id) = current(reference) {
                seen.insert(reference.to_owned(), id);
            } else {
                node_majors.insert(major);
                rebuilt.insert(reference.to_owned());
            }
        }
    }
    let mut missing = Vec::new();
    for name in base_refs {
        let reference = catalogue.tag(&name);
        if let Some(id) = current(&reference) {
            seen.insert(reference, id);
        } else {
            rebuilt.insert(reference);
            missing.push(name);
        }
    }
    if !missing.is_empty() {
        tracing::debug!(target: "dmp::up", "base images missing or from another dmp, building: {}", missing.join(", "));
    }
    base::ensure(docker, &missing, progress).await?;
    base::ensure_node_images(docker, &node_majors.into_iter().collect::<Vec<_>>(), progress).await?;
    if !rebuilt.is_empty() {
        seen.extend(
            inspect_all(docker, rebuilt).await.into_iter().filter_map(|(reference, f)| Some((reference, f?.id))),
        );
    }
    Ok(seen)
}

/// dmp's base images, named by a service or in a build's FROM lines.
fn base_images(selected: &[&Service], catalogue: &Catalogue) -> BTreeSet<String> {
    let mut base_refs = BTreeSet::new();
    for service in selected {
        match &service.build {
            Some(build) => {
                let dockerfile =
                    crate::user_file::read_to_string(&build.context.join(&build.dockerfile)).unwrap_or_default();
                base_refs.extend(dockerfile.lines().filter_map(|line| from_base_image(line, catalogue)));
            }
            None => base_refs.extend(service.image.as_deref().and_then(|i| base_image_name(i, catalogue))),
        }
    }
    base_refs
}

/// An image that exists: its ID and, for dmp's base images, the digest of
/// the sources it was built from.
#[derive(Debug, Clone)]
struct Found {
    id: String,
    digest: Option<String>,
}

/// Each image, or `None` when it is missing, inspected all at once.
async fn inspect_all(docker: &Docker, references: BTreeSet<String>) -> HashMap<String, Option<Found>> {
    let inspect = |reference: String| async move {
        let image = docker.inspect_image(&reference).timed(format_args!("inspect image {reference}")).await.ok();
        let found = image.and_then(|i| {
            let digest = i.config.and_then(|c| c.labels).and_then(|mut l| l.remove(catalogue::SOURCE_DIGEST_LABEL));
            Some(Found { id: i.id?, digest })
        });
        (reference, found)
    };
    futures_util::future::join_all(references.into_iter().map(inspect)).await.into_iter().collect()
}

/// `pull_policy: daily`, `weekly`, `every_<duration>`: pulls `reference`
/// again when it was last tagged (pulled) longer than that ago, as Compose
/// does; whether it did. Offline, the local image still runs (where Compose
/// would fail `up`), with a warning.
async fn refresh(docker: &Docker, service: &Service, reference: &str) -> bool {
    let window = service.pull_policy.as_deref().and_then(refresh_window).filter(|_| service.build.is_none());
    let Some(window) = window else { return false };
    let inspected = docker.inspect_image(reference).timed(format_args!("inspect image {reference}")).await;
    let last_tag = inspected.ok().and_then(|i| i.metadata).and_then(|m| m.last_tag_time);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    if !refresh_due(last_tag.as_deref(), window, now) {
        return false;
    }
    tracing::debug!(target: "dmp::up", "{}: image {reference} is due for a pull (pull_policy)", service.name);
    match pull(docker, service, reference).await {
        Ok(()) => true,
        Err(e) => {
            let reason = match &e {
                StackError::ImageMissing { reason, .. } => reason.clone(),
                other => other.to_string(),
            };
            eprintln!(
                "warning: {}: pulling {reference} again (pull_policy: {}) failed, so the local image runs: {reason}",
                service.name,
                service.pull_policy.as_deref().unwrap_or_default(),
            );
            false
        }
    }
}

/// How long an image is fresh under a pull policy: `daily` 24 h, `weekly`
/// 7 days, `every_<duration>` that duration; `None` for the other policies.
fn refresh_window(policy: &str) -> Option<std::time::Duration> {
    const DAY: u64 = 24 * 3600;
    match policy {
        "daily" => Some(std::time::Duration::from_secs(DAY)),
        "weekly" => Some(std::time::Duration::from_secs(7 * DAY)),
        _ => policy
            .strip_prefix("every_")
            .and_then(crate::compose::model::duration_text::parse)
            .map(std::time::Duration::from_nanos),
    }
}

/// Whether an image last tagged at `last_tag` (RFC 3339, as the Engine
/// reports `LastTagTime`) is older than `window` at `now` (since the Unix
/// epoch). An unknown or zero time (an image loaded, never tagged) is due,
/// as in Compose.
fn refresh_due(last_tag: Option<&str>, window: std::time::Duration, now: std::time::Duration) -> bool {
    match last_tag.and_then(unix_seconds) {
        Some(tagged) if tagged > 0 => now.as_secs() >= tagged.unsigned_abs().saturating_add(window.as_secs()),
        _ => true,
    }
}

/// `2026-11-22T10:45:01.123456789Z` or `…+01:00` as seconds since the Unix
/// epoch (negative before it).
fn unix_seconds(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>().ok().map(jiff::Timestamp::as_second)
}

/// `FROM dmp/<name>[:tag]` → `<name>`, for names in the catalogue.
fn from_base_image(line: &str, catalogue: &Catalogue) -> Option<String> {
    catalogue::from_dmp_image(line).filter(|name| catalogue.images.iter().any(|i| &i.name == name))
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
    let context = context::from_dir(&build.context, &build.dockerfile)?;
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
        extra_tags: build.tags.clone(),
        dockerfile: build.dockerfile.clone(),
        context: context.tar,
        build_args,
        labels: build.labels.clone().into_iter().collect(),
        target: build.target.clone(),
        no_cache: build.no_cache,
        options: build::BuildOptions {
            cache_from: build.cache_from.clone(),
            pull: build.pull,
            network: build.network.clone(),
            shm_size: build.shm_size,
            extra_hosts: build.extra_hosts.clone(),
            platform: build.platform.clone().or_else(|| service.platform.clone()),
        },
    };
    task.announce(&format!("building {reference}"));
    let result = build::build(docker, request, |event| event.show(&mut task)).await;
    match result {
        Ok(_) => {
            task.announce("built");
            Ok(())
        }
        Err(failure) => {
            task.finish(false, "build failed");
            let text = failure.report(&format!("{reference} (service {})", service.name));
            Err(BuildFailed { failed: vec![text] }.into())
        }
    }
}

async fn pull(docker: &Docker, service: &Service, reference: &str) -> Result<()> {
    let (image, tag) = match reference.rsplit_once(':') {
        Some((image, tag)) if !tag.contains('/') => (image, tag),
        _ => (reference, "latest"),
    };
    let options = CreateImageOptionsBuilder::default().from_image(image).tag(tag).build();
    tracing::debug!(target: "dmp::engine", "pull {image}:{tag}");
    let mut stream = docker.create_image(Some(options), None, None);
    while let Some(message) = stream.next().await {
        if let Err(e) = message {
            return Err(StackError::ImageMissing {
                image: reference.to_owned(),
                service: service.name.clone(),
                reason: crate::engine::message(&e),
            });
        }
    }
    Ok(())
}

/// Creates the missing networks and volumes, each recorded in `journal`.
pub async fn ensure_networks_and_volumes(
    docker: &Docker,
    project: &Project,
    selected: &[&Service],
    journal: &Journal,
) -> Result<()> {
    let missing = missing_networks(docker, project, selected).await?;
    create_networks(docker, project, &missing, journal).await?;
    ensure_volumes(docker, project, selected, journal).await
}

/// The selected services' networks that do not exist yet, by key, for
/// [`create_networks`]; an external one that is missing is an error.
/// Containers may be created before their network exists (the Engine
/// looks the network up when it starts them), so `up` creates networks and
/// containers at once.
pub async fn missing_networks<'p>(
    docker: &Docker,
    project: &Project,
    selected: &[&'p Service],
) -> Result<Vec<&'p str>> {
    let networks: BTreeSet<&str> = selected.iter().flat_map(|s| s.networks.iter().map(String::as_str)).collect();
    let mut missing = Vec::new();
    for key in networks {
        let name = project.network_name(key);
        if docker.inspect_network(&name, None).timed(format_args!("inspect network {name}")).await.is_ok() {
            continue;
        }
        if project.networks.get(key).is_some_and(|n| n.external) {
            return Err(StackError::ExternalMissing { kind: "network", name });
        }
        missing.push(key);
    }
    Ok(missing)
}

/// Creates the networks `keys` names, each recorded in `journal`.
pub async fn create_networks(docker: &Docker, project: &Project, keys: &[&str], journal: &Journal) -> Result<()> {
    for key in keys {
        let name = project.network_name(key);
        let request = spec::network_request(project, key, name.clone(), &labels::network(project, key));
        docker.create_network(request).named(format_args!("create network {name}")).await?;
        journal.record(Created::Network(name));
    }
    Ok(())
}

/// Named volumes first: the Engine would make a missing one itself, without
/// dmp's labels, when a container that mounts it is created.
pub async fn ensure_volumes(
    docker: &Docker,
    project: &Project,
    selected: &[&Service],
    journal: &Journal,
) -> Result<()> {
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
        if docker.inspect_volume(&name).timed(format_args!("inspect volume {name}")).await.is_ok() {
            continue;
        }
        if project.volumes.get(key).is_some_and(|v| v.external) {
            return Err(StackError::ExternalMissing { kind: "volume", name });
        }
        let request = spec::volume_request(project, key, name.clone(), &labels::volume(project, key));
        docker.create_volume(request).named(format_args!("create volume {name}")).await?;
        journal.record(Created::Volume(name));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policies_with_a_window_pull_once_the_image_is_older() {
        use std::time::Duration;
        let hour = Duration::from_secs(3600);
        assert_eq!(refresh_window("daily"), Some(24 * hour));
        assert_eq!(refresh_window("weekly"), Some(7 * 24 * hour));
        assert_eq!(refresh_window("every_12h"), Some(12 * hour));
        assert_eq!(refresh_window("every_1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(refresh_window("missing"), None);
        assert_eq!(refresh_window("always"), None);

        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2026-11-22T10:45:01.123456789Z"), Some(1_795_344_301));
        assert_eq!(unix_seconds("2026-11-22T11:45:01+01:00"), Some(1_795_344_301));
        assert_eq!(unix_seconds("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(unix_seconds("0001-01-01T00:00:00Z"), Some(-62_135_596_800));
        assert_eq!(unix_seconds("yesterday"), None);

        let tagged = "2026-11-22T10:45:01Z";
        let at = |secs: u64| Duration::from_secs(1_795_344_301 + secs);
        assert!(!refresh_due(Some(tagged), 24 * hour, at(3600)), "an hour old: fresh for daily");
        assert!(refresh_due(Some(tagged), 24 * hour, at(24 * 3600)), "a day old: due");
        assert!(refresh_due(Some("0001-01-01T00:00:00Z"), 24 * hour, at(0)), "never tagged: due");
        assert!(refresh_due(None, 24 * hour, at(0)), "unknown: due");
    }

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
