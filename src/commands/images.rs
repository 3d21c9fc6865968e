//! `dmp images build`: every requested image at once, each child as soon as
//! its parent is tagged.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use bollard::Docker;
use futures_util::FutureExt as _;
use futures_util::future::{LocalBoxFuture, Shared, join_all};
use serde::Serialize;

use crate::build_context::ContextArchive;
use crate::cli::{GlobalArgs, ImagesBuildArgs};
use crate::engine;
use crate::error::{Error, Result};
use crate::image_build::{self, BuildEvent, BuildFailure, BuildRequest, Built};
use crate::images::{BaseImage, Catalogue, NAMESPACE, VERSION_ARG};
use crate::ui::{self, Mode, Progress, Task};

#[derive(Debug, Clone)]
enum Outcome {
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

/// One line of `--json` output.
#[derive(Debug, Serialize)]
struct Report<'a> {
    name: &'a str,
    tag: String,
    /// built, cached (every step from the Engine's cache), failed or skipped.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_bytes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    steps: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cached_steps: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failed_step: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub async fn build(args: &ImagesBuildArgs, global: &GlobalArgs) -> Result<ExitCode> {
    let catalogue = match &args.images_dir {
        Some(dir) => Catalogue::from_dir(dir)?,
        None => Catalogue::embedded()?,
    };
    let selected = catalogue.select(&args.names)?;
    // Contexts first: a bad .dockerignore is reported before the Engine is touched.
    let mut contexts = HashMap::new();
    for image in &selected {
        contexts.insert(image.name.clone(), catalogue.context(image)?);
    }
    let docker = engine::connect().await?;

    let mode = ui::Mode::detect(global.quiet, global.progress);
    let names: Vec<String> = selected.iter().map(|i| i.name.clone()).collect();
    let progress = Progress::new(mode, &names);
    let started = Instant::now();

    let mut builds: HashMap<&str, Shared<LocalBoxFuture<'_, Outcome>>> = HashMap::new();
    for image in &selected {
        let parent = image.parent.as_deref().map(|p| (p.to_owned(), builds[p].clone()));
        let context = contexts.remove(&image.name).expect("a context per selected image");
        let job = BuildJob { docker: &docker, catalogue: &catalogue, image, no_cache: args.no_cache };
        let future = job.run(context, parent, progress.task(&image.name)).boxed_local().shared();
        builds.insert(&image.name, future);
    }
    let outcomes = join_all(selected.iter().map(|i| builds[i.name.as_str()].clone())).await;
    drop(builds);

    let failed = outcomes.iter().filter(|o| !matches!(o, Outcome::Built { .. })).count();
    progress.finish(&format!(
        "{} of {} images built in {:.1} s",
        selected.len() - failed,
        selected.len(),
        started.elapsed().as_secs_f64()
    ));

    let reports: Vec<Report> = selected.iter().zip(&outcomes).map(|(i, o)| report(&catalogue, i, o)).collect();
    print_results(args.json, mode, &reports)?;

    if failed == 0 {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Error::BuildFailed {
            failed: selected
                .iter()
                .zip(&outcomes)
                .filter_map(|(image, outcome)| failure_text(&catalogue, image, outcome))
                .collect(),
        })
    }
}

/// One image's build, once its parent (if any) is built.
struct BuildJob<'a> {
    docker: &'a Docker,
    catalogue: &'a Catalogue,
    image: &'a BaseImage,
    no_cache: bool,
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
        let build_args = if self.image.takes_version_arg {
            HashMap::from([(VERSION_ARG.to_owned(), self.catalogue.version.clone())])
        } else {
            HashMap::new()
        };
        let request = BuildRequest {
            tag: self.catalogue.tag(name),
            extra_tags: vec![format!("{NAMESPACE}/{name}:latest")],
            dockerfile: self.image.dockerfile.clone(),
            context: context.tar,
            build_args,
            labels: self.catalogue.labels(self.image),
            no_cache: self.no_cache,
        };
        task.announce(&format!("sending context ({} files)", context.files));
        let result = image_build::build(self.docker, request, |event| match event {
            BuildEvent::Step(step) => task.stage(step),
            BuildEvent::Cached => task.skip_stage(),
            BuildEvent::Output(line) => task.detail(line),
        })
        .await;
        let seconds = started.elapsed().as_secs_f64();
        match result {
            Ok(built) => {
                let size = self.docker.inspect_image(&built.image_id).await.ok().and_then(|i| i.size);
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

fn report<'a>(catalogue: &Catalogue, image: &'a BaseImage, outcome: &'a Outcome) -> Report<'a> {
    let mut report = Report {
        name: &image.name,
        tag: catalogue.tag(&image.name),
        status: "skipped",
        image_id: None,
        size_bytes: None,
        seconds: None,
        steps: None,
        cached_steps: None,
        failed_step: None,
        error: None,
    };
    match outcome {
        Outcome::Built { built, seconds, size } => {
            report.status = if built.fully_cached() { "cached" } else { "built" };
            report.image_id = Some(&built.image_id);
            report.size_bytes = *size;
            report.seconds = Some((seconds * 1000.0).round() / 1000.0);
            report.steps = Some(built.steps);
            report.cached_steps = Some(built.cached_steps);
        }
        Outcome::Failed(failure) => {
            report.status = "failed";
            report.failed_step = failure.step.as_deref();
            report.error = Some(failure.message.clone());
        }
        Outcome::Skipped { parent } => {
            report.error = Some(format!("not built: {NAMESPACE}/{parent} failed"));
        }
    }
    report
}

fn print_results(json: bool, mode: Mode, reports: &[Report]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, reports).map_err(|e| Error::Output(e.into()))?;
        writeln!(out).map_err(Error::Output)?;
        return Ok(());
    }
    // A terminal already shows each result on its bar.
    if mode != Mode::Plain {
        return Ok(());
    }
    for report in reports.iter().filter(|r| r.image_id.is_some()) {
        let id = short_id(report.image_id.unwrap_or_default());
        let size = report.size_bytes.map(human_size).unwrap_or_default();
        writeln!(out, "{:<32} {id}  {size:>9}  {}", report.tag, report.status).map_err(Error::Output)?;
    }
    Ok(())
}

/// The block an error report shows for an image that did not build.
fn failure_text(catalogue: &Catalogue, image: &BaseImage, outcome: &Outcome) -> Option<String> {
    let tag = catalogue.tag(&image.name);
    match outcome {
        Outcome::Built { .. } => None,
        Outcome::Skipped { parent } => Some(format!("{tag} was not built: {NAMESPACE}/{parent} failed")),
        Outcome::Failed(failure) => {
            let mut text = match &failure.step {
                Some(step) => format!("{tag} failed at {step}"),
                None => format!("{tag} failed"),
            };
            for line in &failure.tail {
                text.push_str("\n  │ ");
                text.push_str(line);
            }
            text.push_str("\n  ");
            text.push_str(&failure.message);
            Some(text)
        }
    }
}

/// The 12 hex digits `docker images` shows.
fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.get(..12).unwrap_or(hex)
}

#[allow(clippy::cast_precision_loss)] // sizes are shown to one decimal
fn human_size(bytes: i64) -> String {
    let mb = bytes as f64 / 1_000_000.0;
    if mb >= 1000.0 { format!("{:.2} GB", mb / 1000.0) } else { format!("{mb:.1} MB") }
}
