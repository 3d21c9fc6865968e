//! `dmp images build`: the command line and the report; the building is in
//! `image::base`.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use serde::Serialize;

use super::{Context, Interrupt};
use crate::cli::ImagesBuildArgs;
use crate::engine::Request as _;
use crate::error::{Error, Result};
use crate::image::base::{self, Outcome, human_size, short_id};
use crate::image::catalogue::{BaseImage, Catalogue, NAMESPACE};
use crate::ui::{Mode, Progress};

/// Changes the stack: an interrupt says the next `dmp up` finishes the job.
pub const INTERRUPT: Interrupt = Interrupt::CHANGES;

/// One line of `--json` output.
#[derive(Debug, Serialize)]
struct Report<'a> {
    name: &'a str,
    tag: String,
    /// built, cached (every step from the Engine's cache), failed or skipped.
    status: &'static str,
    image_id: Option<&'a str>,
    size_bytes: Option<i64>,
    seconds: Option<f64>,
    steps: Option<usize>,
    cached_steps: Option<usize>,
    failed_step: Option<&'a str>,
    error: Option<String>,
}

pub async fn build(args: &ImagesBuildArgs, ctx: &Context) -> Result<ExitCode> {
    let catalogue = match &args.images_dir {
        Some(dir) => Catalogue::from_dir(dir)?,
        None => Catalogue::embedded()?,
    };
    let selected = catalogue.select(&args.names)?;
    // Contexts first: a bad .dockerignore is reported before the Engine is touched.
    let contexts = base::contexts(&catalogue, &selected)?;
    let docker = ctx.docker().await?;

    let mode = ctx.mode;
    let names: Vec<String> = selected.iter().map(|i| i.name.clone()).collect();
    let progress = Progress::new(mode, &names);
    let started = Instant::now();

    let outcomes = base::build(docker, &catalogue, &selected, contexts, args.no_cache, &progress).await;

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
        Err(base::BuildFailed { failed: base::failures(&catalogue, &selected, &outcomes) }.into())
    }
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
    if json {
        return super::print_json(&serde_json::json!({ "schema": super::SCHEMA, "images": reports }));
    }
    // A terminal already shows each result on its bar.
    if mode != Mode::Plain {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    for report in reports.iter().filter(|r| r.image_id.is_some()) {
        let id = short_id(report.image_id.unwrap_or_default());
        let size = report.size_bytes.map(human_size).unwrap_or_default();
        writeln!(out, "{:<32} {id}  {size:>9}  {}", report.tag, report.status).map_err(Error::Output)?;
    }
    Ok(())
}

/// One line of `dmp images`, with Compose's field names.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProjectImage {
    #[serde(rename = "ID")]
    id: String,
    container_name: String,
    repository: String,
    tag: String,
    size: i64,
}

/// `dmp images [SERVICE...]`: the images the project's containers run, as
/// `docker compose images` lists them.
pub async fn list(args: &crate::cli::ImagesArgs, ctx: &Context) -> Result<ExitCode> {
    let containers = ctx.containers(&args.services).await?;
    let docker = ctx.docker().await?;
    let mut rows = Vec::new();
    for container in &containers {
        let image =
            docker.inspect_image(&container.image).timed(format_args!("inspect image {}", container.image)).await.ok();
        let reference = image
            .as_ref()
            .and_then(|i| i.repo_tags.as_ref())
            .and_then(|tags| tags.iter().find(|t| **t == container.image).or_else(|| tags.first()))
            .cloned()
            .unwrap_or_else(|| container.image.clone());
        let (repository, tag) = match reference.rsplit_once(':') {
            Some((repository, tag)) if !tag.contains('/') => (repository.to_owned(), tag.to_owned()),
            _ => (reference.clone(), "latest".to_owned()),
        };
        rows.push(ProjectImage {
            id: image.as_ref().and_then(|i| i.id.clone()).unwrap_or_default(),
            container_name: container.name.clone(),
            repository,
            tag,
            size: image.as_ref().and_then(|i| i.size).unwrap_or_default(),
        });
    }
    let mut out = std::io::stdout().lock();
    if args.format == crate::cli::Format::Json {
        return super::print_json(&rows).map(|()| ExitCode::SUCCESS);
    }
    if ctx.quiet {
        let mut ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        ids.dedup();
        for id in ids {
            writeln!(out, "{id}").map_err(Error::Output)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.container_name.clone(),
                r.repository.clone(),
                r.tag.clone(),
                short_id(&r.id).to_owned(),
                human_size(r.size),
            ]
        })
        .collect();
    super::print_table(&["CONTAINER", "REPOSITORY", "TAG", "IMAGE ID", "SIZE"], &table)?;
    Ok(ExitCode::SUCCESS)
}
