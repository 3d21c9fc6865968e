//! The Engine calls that change containers: create and start, stop and
//! remove. Thin, so every decision about them stays testable in `plan`.

use bollard::Docker;
use bollard::models::NetworkConnectRequest;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, StartContainerOptions, StopContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};

use super::labels::Made;
use super::spec;
use crate::compose::Project;
use crate::compose::model::Service;
use crate::engine::{EngineError, Request as _};

/// Creates the service's container, not started: `up` creates every
/// container at once and starts each when its dependencies allow.
/// `without_capabilities` (root in a root-owned checkout): every capability
/// dropped and no new privileges, so uid 0 inside can write the checkout
/// and nothing more. Returns the container's ID.
pub async fn create_service(
    docker: &Docker,
    project: &Project,
    service: &Service,
    made: Made<'_>,
    without_capabilities: bool,
) -> Result<String, EngineError> {
    let name = super::replica_name(project, &service.name, made.number);
    let mut body = spec::container_body(project, service, made);
    if without_capabilities {
        tracing::debug!(target: "dmp::up", "{}: runs as root without capabilities (a root-owned checkout)", service.name);
        drop_capabilities(&mut body);
    }
    create(docker, project, service, &name, body).await
}

/// Every capability dropped and no new privileges (root in a root-owned
/// checkout).
pub fn drop_capabilities(body: &mut bollard::models::ContainerCreateBody) {
    let host = body.host_config.get_or_insert_with(Default::default);
    host.cap_drop = Some(vec!["ALL".into()]);
    host.cap_add = None;
    host.privileged = Some(false);
    host.security_opt.get_or_insert_with(Vec::new).push("no-new-privileges:true".into());
}

/// Creates container `name` of `service` from `body` (its bind sources
/// first), joins its other networks and writes its secrets and configs; it
/// is not started; returns its ID. `run`'s one-off containers are made here
/// too.
pub async fn create(
    docker: &Docker,
    project: &Project,
    service: &Service,
    name: &str,
    body: bollard::models::ContainerCreateBody,
) -> Result<String, EngineError> {
    super::mounts::create_bind_sources(service, spec::host_user(&project.dir)).map_err(|e| {
        EngineError::request(
            format!("create the bind mount sources of {name}"),
            bollard::errors::Error::IOError { err: e },
        )
    })?;
    let mut options = CreateContainerOptionsBuilder::default().name(name);
    if let Some(platform) = &service.platform {
        options = options.platform(platform);
    }
    let created =
        docker.create_container(Some(options.build()), body).named(format_args!("create container {name}")).await?;
    if service.network_mode.is_none() {
        for network in service.networks.iter().skip(1) {
            let request = NetworkConnectRequest {
                container: name.to_owned(),
                endpoint_config: Some(spec::endpoint(service, network)),
            };
            let network = project.network_name(network);
            docker
                .connect_network(&network, request)
                .named(format_args!("connect {name} to network {network}"))
                .await?;
        }
    }
    if let Some(files) = super::mounts::injected_files(project, service) {
        let options = UploadToContainerOptionsBuilder::default().path("/").build();
        docker
            .upload_to_container(name, Some(options), bollard::body_full(files.into()))
            .named(format_args!("write secrets and configs into {name}"))
            .await?;
    }
    Ok(created.id)
}

/// Restarts a running container (its `stop_signal`, then SIGKILL after its
/// grace period, as `remove` stops it).
pub async fn restart(docker: &Docker, name: &str) -> Result<(), EngineError> {
    docker
        .restart_container(name, None::<bollard::query_parameters::RestartContainerOptions>)
        .named(format_args!("restart container {name}"))
        .await
}

/// Starts an existing container.
pub async fn start(docker: &Docker, name: &str) -> Result<(), EngineError> {
    docker.start_container(name, None::<StartContainerOptions>).named(format_args!("start container {name}")).await
}

/// Stops a container (its `stop_signal`, then SIGKILL after its
/// `stop_grace_period`, 10 s unless set); stopped or gone already is fine.
pub async fn stop(docker: &Docker, name: &str) -> Result<(), EngineError> {
    let stop = StopContainerOptionsBuilder::default().build();
    match docker.stop_container(name, Some(stop)).timed(format_args!("stop container {name}")).await {
        Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 304 | 404, .. }) => Ok(()),
        Err(e) => Err(EngineError::request(format!("stop container {name}"), e)),
    }
}

/// Stops (see [`stop`]) and removes a container, with its anonymous volumes
/// when `volumes`; gone already is fine.
pub async fn remove(docker: &Docker, name: &str, volumes: bool) -> Result<(), EngineError> {
    stop(docker, name).await?;
    let options = RemoveContainerOptionsBuilder::default().force(true).v(volumes).build();
    match docker.remove_container(name, Some(options)).timed(format_args!("remove container {name}")).await {
        Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
        Err(e) => Err(EngineError::request(format!("remove container {name}"), e)),
    }
}
