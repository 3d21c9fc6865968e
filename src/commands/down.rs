//! `dmp down`: remove the project's containers (`run`'s one-off ones too)
//! and networks; its named volumes only with `-v`. Only what carries this
//! project's label (dmp's or Compose's) is touched. With `-p NAME` and no
//! stack file, the project named is removed, as Compose's `down` does.

use std::process::ExitCode;

use futures_util::future::join_all;

use super::select::plural;
use super::{Context, Interrupt};
use crate::cli::DownArgs;
use crate::engine::Request as _;
use crate::error::Result;
use crate::stack::{self, apply};

/// Changes the stack: an interrupt says the next `dmp up` finishes the job.
pub const INTERRUPT: Interrupt = Interrupt::CHANGES;

pub async fn run(args: &DownArgs, ctx: &Context) -> Result<ExitCode> {
    let name = ctx.project_name()?;
    let docker = ctx.docker().await?;
    let _lock = stack::ProjectLock::acquire(&name).await?;
    // With a stack file: only when the project is this directory's, and
    // one list may answer. With `-p NAME` alone, both lists.
    let containers = match ctx.project() {
        Ok(project) => {
            let expected = stack::expected_names(project, &stack::plan::select(project, &[])?);
            let containers = stack::with_oneoffs(docker, &name, Some(&expected)).await?;
            let services: Vec<_> = containers.iter().filter(|c| !c.oneoff).cloned().collect();
            stack::check_owner(docker, project, &services, false).await?;
            containers
        }
        Err(_) => stack::with_oneoffs(docker, &name, None).await?,
    };
    let removals = join_all(containers.iter().map(|c| apply::remove(docker, &c.name, args.volumes))).await;
    for result in removals {
        result?;
    }

    let networks = stack::networks(docker, &name).await?;
    for network in &networks {
        docker.remove_network(network).named(format_args!("remove network {network}")).await?;
    }
    let mut volumes = Vec::new();
    if args.volumes {
        for volume in stack::volumes(docker, &name).await? {
            docker
                .remove_volume(&volume.name, None::<bollard::query_parameters::RemoveVolumeOptions>)
                .named(format_args!("remove volume {}", volume.name))
                .await?;
            volumes.push(volume.name);
        }
    }

    crate::dev::forget(&name);
    if !ctx.quiet {
        if containers.is_empty() && networks.is_empty() && volumes.is_empty() {
            eprintln!("{name}: nothing to remove");
        } else {
            let mut removed = vec![plural(containers.len(), "container"), plural(networks.len(), "network")];
            if args.volumes {
                removed.push(plural(volumes.len(), "volume"));
            }
            eprintln!("{name}: removed {}", removed.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}
