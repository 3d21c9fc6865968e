//! `dmp build`, `dmp pull`, `dmp push`: the services' images. Building
//! goes through `stack::provision` (dmp's base images first, as `up` does);
//! pulling and pushing are one Engine call per image, and a registry that
//! does not answer is named as such.

use std::process::ExitCode;

use bollard::Docker;
use bollard::query_parameters::{CreateImageOptionsBuilder, PushImageOptionsBuilder};
use futures_util::StreamExt as _;

use super::error::CommandError;
use super::{Context, Interrupt, select};
use crate::cli::{BuildArgs, ServicesArgs};
use crate::compose::model::Service;
use crate::error::Result;
use crate::image::catalogue::NAMESPACE;
use crate::stack::{plan, provision, spec};
use crate::ui::Progress;

/// Changes images: an interrupt says the next `dmp up` finishes the job.
pub const INTERRUPT: Interrupt = Interrupt::CHANGES;

pub async fn build(args: &BuildArgs, ctx: &Context) -> Result<ExitCode> {
    let project = ctx.runnable_project()?;
    let docker = ctx.docker().await?;
    let selected = plan::select(project, &args.services)?;
    // The flags act as the services' own `build: { no_cache, pull }`.
    let mut adjusted = project.clone();
    let mut built = Vec::new();
    for service in &selected {
        let Some(settings) = adjusted.services.get_mut(&service.name).and_then(|s| s.build.as_mut()) else {
            continue;
        };
        settings.no_cache |= args.no_cache;
        settings.pull |= args.pull;
        built.push(service.name.clone());
    }
    let services: Vec<&Service> = built.iter().map(|name| &adjusted.services[name]).collect();
    let progress = Progress::new(ctx.mode, &built);
    provision::ensure_images(docker, &adjusted, &services, true, &progress).await?;
    let summary = if built.is_empty() {
        format!("{}: no service to build (none of them has `build:`)", project.name)
    } else {
        format!("{}: built {}", project.name, select::plural(built.len(), "image"))
    };
    progress.finish(&summary);
    Ok(ExitCode::SUCCESS)
}

/// Whether dmp builds this image itself (`dmp/…`): never pulled or pushed.
fn dmp_image(reference: &str) -> bool {
    reference.starts_with(&format!("{NAMESPACE}/"))
}

pub async fn pull(args: &ServicesArgs, ctx: &Context) -> Result<ExitCode> {
    let project = ctx.project()?;
    let docker = ctx.docker().await?;
    let selected = plan::select(project, &args.services)?;
    for service in selected {
        let Some(image) = service.image.as_deref().filter(|_| service.build.is_none()) else {
            continue;
        };
        if dmp_image(image) {
            if !ctx.quiet {
                eprintln!("{}: {image} is built by dmp, not pulled (`dmp images build`)", service.name);
            }
            continue;
        }
        pull_one(docker, image).await.map_err(|reason| CommandError::Registry {
            action: "pull",
            image: image.into(),
            service: service.name.clone(),
            reason,
        })?;
        if !ctx.quiet {
            eprintln!("{}: pulled {image}", service.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `image[:tag]` split as the Engine's create-image call wants it.
fn name_and_tag(reference: &str) -> (&str, &str) {
    match reference.rsplit_once(':') {
        Some((image, tag)) if !tag.contains('/') => (image, tag),
        _ => (reference, "latest"),
    }
}

async fn pull_one(docker: &Docker, reference: &str) -> Result<(), String> {
    let (image, tag) = name_and_tag(reference);
    let options = CreateImageOptionsBuilder::default().from_image(image).tag(tag).build();
    tracing::debug!(target: "dmp::engine", "pull {image}:{tag}");
    let mut stream = docker.create_image(Some(options), None, None);
    while let Some(message) = stream.next().await {
        message.map_err(|e| crate::engine::message(&e))?;
    }
    Ok(())
}

pub async fn push(args: &ServicesArgs, ctx: &Context) -> Result<ExitCode> {
    let project = ctx.project()?;
    let docker = ctx.docker().await?;
    let selected = plan::select(project, &args.services)?;
    let pushable: Vec<&Service> = selected.into_iter().filter(|s| s.build.is_some() && s.image.is_some()).collect();
    if pushable.is_empty() {
        return Err(CommandError::NothingToPush.into());
    }
    for service in pushable {
        let image = spec::image_ref(project, service);
        let (name, tag) = name_and_tag(&image);
        let options = PushImageOptionsBuilder::default().tag(tag).build();
        let mut stream = docker.push_image(name, Some(options), None);
        while let Some(message) = stream.next().await {
            let failed = match message {
                Ok(info) => info.error_detail.and_then(|d| d.message),
                Err(e) => Some(crate::engine::message(&e)),
            };
            if let Some(reason) = failed {
                return Err(CommandError::Registry {
                    action: "push",
                    image: image.clone(),
                    service: service.name.clone(),
                    reason,
                }
                .into());
            }
        }
        if !ctx.quiet {
            eprintln!("{}: pushed {image}", service.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn references_split_at_the_tag_not_the_registry_port() {
        assert_eq!(super::name_and_tag("nginx:1.25"), ("nginx", "1.25"));
        assert_eq!(super::name_and_tag("localhost:5000/app"), ("localhost:5000/app", "latest"));
        assert_eq!(super::name_and_tag("localhost:5000/app:v2"), ("localhost:5000/app", "v2"));
    }
}
