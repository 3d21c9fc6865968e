//! `dmp down`: remove the project's containers and networks; its named
//! volumes only with `-v`. Only what carries this project's label (dmp's or
//! Compose's) is touched.

use std::process::ExitCode;

use futures_util::future::join_all;

use super::{Context, Interrupt};
use crate::cli::DownArgs;
use crate::engine::Request as _;
use crate::error::Result;
use crate::stack::{self, apply};

/// Changes the stack: an interrupt says the next `dmp up` finishes the job.
pub const INTERRUPT: Interrupt = Interrupt::CHANGES;

pub async fn run(args: &DownArgs, ctx: &Context) -> Result<ExitCode> {
    let project = ctx.project()?;
    let docker = ctx.docker().await?;
    let _lock = stack::ProjectLock::acquire(&project.name).await?;
    let containers = stack::containers(docker, project).await?;
    let removals = join_all(containers.iter().map(|c| apply::remove(docker, &c.name, args.volumes))).await;
    for result in removals {
        result?;
    }

    let networks = stack::networks(docker, &project.name).await?;
    for name in &networks {
        docker.remove_network(name).named(format_args!("remove network {name}")).await?;
    }
    let mut volumes = Vec::new();
    if args.volumes {
        for volume in stack::volumes(docker, &project.name).await? {
            docker
                .remove_volume(&volume.name, None::<bollard::query_parameters::RemoveVolumeOptions>)
                .named(format_args!("remove volume {}", volume.name))
                .await?;
            volumes.push(volume.name);
        }
    }

    if !ctx.quiet {
        if containers.is_empty() && networks.is_empty() && volumes.is_empty() {
            eprintln!("{}: nothing to remove", project.name);
        } else {
            let mut removed = vec![format!("{} containers", containers.len()), format!("{} networks", networks.len())];
            if args.volumes {
                removed.push(format!("{} volumes", volumes.len()));
            }
            eprintln!("{}: removed {}", project.name, removed.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}
