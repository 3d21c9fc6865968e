//! The Engine calls that change containers: create and start, stop and
//! remove. Thin, so every decision about them stays testable in `plan`.

use bollard::Docker;
use bollard::models::NetworkConnectRequest;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, StartContainerOptions, StopContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};

use super::{container_name, spec};
use crate::compose::Project;
use crate::compose::model::Service;

pub async fn create_and_start(
    docker: &Docker,
    project: &Project,
    service: &Service,
    hash: &str,
) -> Result<(), bollard::errors::Error> {
    let name = container_name(project, &service.name);
    spec::create_bind_sources(service, spec::host_user(&project.dir))
        .map_err(|e| bollard::errors::Error::IOError { err: e })?;
    let mut options = CreateContainerOptionsBuilder::default().name(&name);
    if let Some(platform) = &service.platform {
        options = options.platform(platform);
    }
    docker.create_container(Some(options.build()), spec::container_body(project, service, hash)).await?;
    if service.network_mode.is_none() {
        for network in service.networks.iter().skip(1) {
            let request = NetworkConnectRequest {
                container: name.clone(),
                endpoint_config: Some(spec::endpoint(service, network)),
            };
            docker.connect_network(&project.network_name(network), request).await?;
        }
    }
    if let Some(files) = spec::injected_files(project, service) {
        let options = UploadToContainerOptionsBuilder::default().path("/").build();
        docker.upload_to_container(&name, Some(options), bollard::body_full(files.into())).await?;
    }
    docker.start_container(&name, None::<StartContainerOptions>).await?;
    Ok(())
}

/// Stops (its `stop_signal`, then SIGKILL after its `stop_grace_period`,
/// 10 s unless set) and removes a container, with its anonymous volumes
/// when `volumes`; gone already is fine.
pub async fn remove(docker: &Docker, name: &str, volumes: bool) -> Result<(), bollard::errors::Error> {
    let stop = StopContainerOptionsBuilder::default().build();
    match docker.stop_container(name, Some(stop)).await {
        Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 304 | 404, .. }) => {}
        Err(e) => return Err(e),
    }
    let options = RemoveContainerOptionsBuilder::default().force(true).v(volumes).build();
    match docker.remove_container(name, Some(options)).await {
        Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The Engine's own message for a refused request.
pub fn engine_message(error: &bollard::errors::Error) -> String {
    match error {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}
