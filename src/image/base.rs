//! Building dmp's base images: every requested image at once, each child as
//! soon as its parent is tagged. Used by `dmp images build` and by `dmp up`
//! when a stack needs a base image that is not there yet.

use std::collections::HashMap;
use std::time::Instant;

use bollard::Docker;
use futures_util::FutureExt as _;
use futures_util::future::{LocalBoxFuture, Shared, join_all};

use crate::engine::Request as _;
use crate::image::build::{self, BuildFailure, BuildRequest, Built};
use crate::image::catalogue::{BaseImage, Catalogue, CatalogueError, NAMESPACE, VERSION_ARG};
use crate::image::context::ContextArchive;
use crate::ui::{Progress, Task};

/// Images that failed to build, each with its report.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{}", failed.join("\n\n"))]
#[diagnostic(
    code(dmp::images::build_failed),
    help(
        "fix the failing step and run the build again; images that built are tagged, and a failed image keeps its earlier tags"
    )
)]
pub struct BuildFailed {
    pub failed: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    Built {
        built: Built,
        seconds: f64,
        size: Option<i64>,
    },
    Failed(BuildFailure),
    /// Not attempted because the image it is built from failed.
    Skipped {
        parent: String,
    },
}

/// The build context of each selected image, made before the Engine is
/// touched so a bad `.dockerignore` stops everything early. Each holds the
/// host's CA bundle (empty when there is none) for steps that fetch over TLS.
pub fn contexts(
    catalogue: &Catalogue,
    selected: &[BaseImage],
) -> Result<HashMap<String, ContextArchive>, CatalogueError> {
    let ca = crate::ca::context_contents();
    selected
        .iter()
        .map(|image| {
            let mut context = catalogue.context(image)?;
            context.add_file(crate::ca::CONTEXT_FILE, &ca);
            Ok((image.name.clone(), context))
        })
        .collect()
}

/// Builds `selected` (in build order), each on its own progress line.
pub async fn build(
    docker: &Docker,
    catalogue: &Catalogue,
    selected: &[BaseImage],
    mut contexts: HashMap<String, ContextArchive>,
    no_cache: bool,
    progress: &Progress,
) -> Vec<Outcome> {
    let mut builds: HashMap<&str, Shared<LocalBoxFuture<'_, Outcome>>> = HashMap::new();
    for image in selected {
        let parent = image.parent.as_deref().map(|p| (p.to_owned(), builds[p].clone()));
        let context = contexts.remove(&image.name).expect("a context per selected image");
        let job = BuildJob { docker, catalogue, image, no_cache, node: None };
        let future = job.run(context, parent, progress.task(&image.name)).boxed_local().shared();
        builds.insert(&image.name, future);
    }
    let outcomes = join_all(selected.iter().map(|i| builds[i.name.as_str()].clone())).await;
    drop(builds);
    outcomes
}

/// Builds the named base images (and their parents) that are missing.
pub async fn ensure(docker: &Docker, names: &[String], progress: &Progress) -> Result<(), super::ImageError> {
    if names.is_empty() {
        return Ok(());
    }
    let catalogue = Catalogue::embedded()?;
    let selected = catalogue.select(names)?;
    let contexts = contexts(&catalogue, &selected)?;
    let outcomes = build(docker, &catalogue, &selected, contexts, false, progress).await;
    let failed = failures(&catalogue, &selected, &outcomes);
    if failed.is_empty() { Ok(()) } else { Err(BuildFailed { failed }.into()) }
}

/// Builds `dmp/http-buildstatic` for each Node major that stacks ask for
/// (`…:<version>-node<N>`, see `crate::node`), one after another.
pub async fn ensure_node_images(docker: &Docker, majors: &[u32], progress: &Progress) -> Result<(), super::ImageError> {
    let catalogue = Catalogue::embedded()?;
    let selected = catalogue.select(&[crate::node::IMAGE.to_owned()])?;
    let mut failed = Vec::new();
    for &major in majors {
        let image = &selected[0];
        let mut contexts = contexts(&catalogue, &selected)?;
        let context = contexts.remove(&image.name).expect("a context per selected image");
        let job = BuildJob { docker, catalogue: &catalogue, image, no_cache: false, node: Some(major) };
        let outcome = job.run(context, None, progress.task(&format!("{}-node{major}", image.name))).await;
        failed.extend(failure_text(&catalogue, image, &outcome));
    }
    if failed.is_empty() { Ok(()) } else { Err(BuildFailed { failed }.into()) }
}

/// The error report's block for each image that did not build.
pub fn failures(catalogue: &Catalogue, selected: &[BaseImage], outcomes: &[Outcome]) -> Vec<String> {
    selected.iter().zip(outcomes).filter_map(|(image, outcome)| failure_text(catalogue, image, outcome)).collect()
}

/// One image's build, once its parent (if any) is built.
struct BuildJob<'a> {
    docker: &'a Docker,
    catalogue: &'a Catalogue,
    image: &'a BaseImage,
    no_cache: bool,
    /// Another Node major than the Dockerfile's default (`crate::node`).
    node: Option<u32>,
}

impl BuildJob<'_> {
    async fn run(
        self,
        context: ContextArchive,
        parent: Option<(String, Shared<LocalBoxFuture<'_, Outcome>>)>,
        mut task: Task,
    ) -> Outcome {
        if let Some((parent, parent_build)) = parent {
            task.announce(&format!("waiting for {parent}"));
            if !matches!(parent_build.await, Outcome::Built { .. }) {
                task.finish(false, &format!("skipped: {parent} failed"));
                return Outcome::Skipped { parent };
            }
        }
        let started = Instant::now();
        let name = &self.image.name;
        let mut build_args = if self.image.takes_version_arg {
            HashMap::from([(VERSION_ARG.to_owned(), self.catalogue.version.clone())])
        } else {
            HashMap::new()
        };
        let (tag, extra_tags) = match self.node {
            Some(major) => {
                build_args.insert(crate::node::NODE_ARG.to_owned(), major.to_string());
                build_args.insert(crate::node::NPM_ARG.to_owned(), crate::node::npm_major(major).to_string());
                (format!("{}-node{major}", self.catalogue.tag(name)), Vec::new())
            }
            None => (self.catalogue.tag(name), vec![format!("{NAMESPACE}/{name}:latest")]),
        };
        let request = BuildRequest {
            tag,
            extra_tags,
            dockerfile: self.image.dockerfile.clone(),
            context: context.tar,
            build_args,
            labels: self.catalogue.labels(self.image),
            target: None,
            no_cache: self.no_cache,
            options: build::BuildOptions::default(),
        };
        task.announce(&format!("sending context ({} files)", context.files));
        let result = build::build(self.docker, request, |event| event.show(&mut task)).await;
        let seconds = started.elapsed().as_secs_f64();
        match result {
            Ok(built) => {
                let size = self
                    .docker
                    .inspect_image(&built.image_id)
                    .timed(format_args!("inspect image {}", built.image_id))
                    .await
                    .ok()
                    .and_then(|i| i.size);
                task.finish(true, &built_summary(&built, seconds, size));
                Outcome::Built { built, seconds, size }
            }
            Err(failure) => {
                let at = failure.step.as_deref().unwrap_or("the start");
                task.finish(false, &format!("failed at {at}"));
                Outcome::Failed(failure)
            }
        }
    }
}

fn built_summary(built: &Built, seconds: f64, size: Option<i64>) -> String {
    let what = if built.fully_cached() {
        format!("up to date ({} steps cached)", built.steps)
    } else {
        format!("built ({}/{} steps cached)", built.cached_steps, built.steps)
    };
    let size = size.map(|s| format!(", {}", human_size(s))).unwrap_or_default();
    format!("{what} in {seconds:.1} s: {}{size}", short_id(&built.image_id))
}

/// The block an error report shows for an image that did not build.
fn failure_text(catalogue: &Catalogue, image: &BaseImage, outcome: &Outcome) -> Option<String> {
    let tag = catalogue.tag(&image.name);
    match outcome {
        Outcome::Built { .. } => None,
        Outcome::Skipped { parent } => Some(format!("{tag} was not built: {NAMESPACE}/{parent} failed")),
        Outcome::Failed(failure) => Some(failure.report(&tag)),
    }
}

/// The 12 hex digits `docker images` shows.
pub fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.get(..12).unwrap_or(hex)
}

#[allow(clippy::cast_precision_loss)] // sizes are shown to one decimal
pub fn human_size(bytes: i64) -> String {
    let mb = bytes as f64 / 1_000_000.0;
    if mb >= 1000.0 { format!("{:.2} GB", mb / 1000.0) } else { format!("{mb:.1} MB") }
}
