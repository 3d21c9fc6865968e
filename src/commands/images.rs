//! `dmp images build`: the command line and the report; the building is in
//! `image::base`.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use serde::Serialize;

use super::{Context, Interrupt};
use crate::cli::ImagesBuildArgs;
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
        return super::print_json(&reports);
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
