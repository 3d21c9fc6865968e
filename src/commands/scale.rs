//! `dmp scale SERVICE=N...`: Compose's scale. The stack is brought up as
//! `up` brings it (the same replica code, dependencies first), with each
//! named service at N containers instead of the file's `scale:` (its
//! config hash unchanged: the existing containers stay); 0 stops and
//! removes a service's containers. The next `dmp up` returns to the
//! file's numbers, as `docker compose up` does.

use std::process::ExitCode;
use std::time::Duration;

use super::{Context, Interrupt};
use crate::cli::ScaleArgs;
use crate::error::Result;
use crate::stack::up::UpOptions;
use crate::stack::{self, apply};
use crate::ui::Progress;

/// Changes the stack: an interrupt says the next `dmp up` finishes the job.
pub const INTERRUPT: Interrupt = Interrupt::CHANGES;

/// `SERVICE=N` as `(service, N)`.
pub fn parse_scale(text: &str) -> Result<(String, u32), String> {
    let (service, n) = text.split_once('=').ok_or_else(|| format!("`{text}` is not SERVICE=N (e.g. web=3)"))?;
    let n = n.trim().parse().map_err(|_| format!("`{n}` in `{text}` is not a number of containers"))?;
    if service.is_empty() {
        return Err(format!("`{text}` names no service (SERVICE=N, e.g. web=3)"));
    }
    Ok((service.to_owned(), n))
}

pub async fn run(args: &ScaleArgs, ctx: &Context) -> Result<ExitCode> {
    let project = ctx.runnable_project()?;
    let names: Vec<String> = args.scales.iter().map(|(service, _)| service.clone()).collect();
    let selected = stack::plan::select(project, &names)?;
    let docker = ctx.docker().await?;
    let (to_zero, up): (Vec<_>, Vec<_>) = args.scales.iter().partition(|(_, n)| *n == 0);
    let progress = Progress::new(ctx.mode, &names);
    if !up.is_empty() {
        let options = UpOptions {
            services: up.iter().map(|(service, _)| service.clone()).collect(),
            wait: !args.no_wait,
            timeout: Duration::from_secs(args.timeout),
            scale: up.iter().map(|(service, n)| (service.clone(), *n)).collect(),
            ..UpOptions::default()
        };
        stack::up::up(docker, project, &options, &progress).await?;
    }
    if !to_zero.is_empty() {
        let _lock = stack::ProjectLock::acquire(&project.name).await?;
        for container in stack::containers(docker, project, &selected).await? {
            if to_zero.iter().any(|(service, _)| *service == container.service) {
                apply::remove(docker, &container.name, false).await?;
            }
        }
    }
    let summary: Vec<String> = args
        .scales
        .iter()
        .map(|(service, n)| format!("{service} {}", super::select::plural(*n as usize, "container")))
        .collect();
    progress.finish(&format!("{}: scaled {}", project.name, summary.join(", ")));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn scales_read_service_equals_number() {
        assert_eq!(super::parse_scale("web=3"), Ok(("web".into(), 3)));
        assert_eq!(super::parse_scale("web=0"), Ok(("web".into(), 0)));
        for bad in ["web", "web=x", "=2", "web=-1"] {
            assert!(super::parse_scale(bad).is_err(), "{bad}");
        }
    }
}
