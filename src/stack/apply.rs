//! The Engine calls that change containers: create and start, stop and
//! remove. Thin, so every decision about them stays testable in `plan`.

use bollard::Docker;
use bollard::models::NetworkConnectRequest;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, StartContainerOptions, StopContainerOptionsBuilder,
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
    let name = container_name(&project.name, &service.name);
    let options = CreateContainerOptionsBuilder::default().name(&name).build();
    docker.create_container(Some(options), spec::container_body(project, service, hash)).await?;
    for network in service.networks.iter().skip(1) {
        let request = NetworkConnectRequest { container: name.clone(), endpoint_config: Some(spec::endpoint(service)) };
        docker.connect_network(&project.network_name(network), request).await?;
    }
    docker.start_container(&name, None::<StartContainerOptions>).await?;
    Ok(())
}

/// Stops (SIGTERM, 10 s) and removes a container, with its anonymous
/// volumes when `volumes`; gone already is fine.
pub async fn remove(docker: &Docker, name: &str, volumes: bool) -> Result<(), bollard::errors::Error> {
    let stop = StopContainerOptionsBuilder::default().t(10).build();
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
