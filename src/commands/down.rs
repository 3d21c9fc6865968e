//! `dmp down`: remove the project's containers and networks; its named
//! volumes only with `-v`. Only what carries this project's label is touched.

use std::collections::HashMap;
use std::process::ExitCode;

use bollard::query_parameters::{ListNetworksOptionsBuilder, ListVolumesOptionsBuilder};
use futures_util::future::join_all;

use super::select::plural;
use super::{Context, Interrupt};
use crate::cli::DownArgs;
use crate::engine::Request as _;
use crate::error::Result;
use crate::stack::{self, LABEL_PROJECT, apply};

/// Changes the stack: an interrupt says the next `dmp up` finishes the job.
pub const INTERRUPT: Interrupt = Interrupt::CHANGES;

pub async fn run(args: &DownArgs, ctx: &Context) -> Result<ExitCode> {
    let name = ctx.project_name()?;
    let docker = ctx.docker().await?;
    let _lock = stack::ProjectLock::acquire(&name).await?;
    // `run`'s one-off containers go too.
    let containers = stack::with_oneoffs(docker, &name).await?;
    let removals = join_all(containers.iter().map(|c| apply::remove(docker, &c.name, args.volumes))).await;
    for result in removals {
        result?;
    }

    let filters = HashMap::from([("label".to_owned(), vec![format!("{LABEL_PROJECT}={name}")])]);
    let networks = docker
        .list_networks(Some(ListNetworksOptionsBuilder::default().filters(&filters).build()))
        .named("list networks")
        .await?;
    for network in &networks {
        let name = network.name.as_deref().unwrap_or_default();
        docker.remove_network(name).named(format_args!("remove network {name}")).await?;
    }
    let mut volumes = Vec::new();
    if args.volumes {
        let listed = docker
            .list_volumes(Some(ListVolumesOptionsBuilder::default().filters(&filters).build()))
            .named("list volumes")
            .await?;
        for volume in listed.volumes.unwrap_or_default() {
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
