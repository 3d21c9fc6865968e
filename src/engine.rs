//! The Docker Engine connection: `DOCKER_HOST` or the local socket, with the
//! API version negotiated down to what the Engine speaks (Debian's 20.10
//! speaks 1.41), and a plain sentence with the fix when it is not there.

use std::io;

use bollard::Docker;
use bollard::errors::Error as BollardError;

const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EngineError {
    #[error("the Docker Engine is not running: nothing listens on {address}")]
    #[diagnostic(
        code(dmp::engine::not_running),
        help(
            "start it: as root, `scripts/ensure-docker.sh` from a dmp checkout installs and starts one; \
             with systemd, `sudo systemctl start docker`"
        )
    )]
    NotRunning { address: String },

    #[error("permission denied on the Docker Engine socket {address}")]
    #[diagnostic(
        code(dmp::engine::permission),
        help(
            "add your user to the docker group (`sudo usermod -aG docker $USER`, then log in again), or run dmp as root"
        )
    )]
    PermissionDenied { address: String },

    #[error("the Docker Engine at {address} did not answer: {source}")]
    #[diagnostic(
        code(dmp::engine::unreachable),
        help("check DOCKER_HOST and that the Engine is healthy (`docker info`)")
    )]
    Unreachable { address: String, source: BollardError },

    #[error("the Docker Engine failed {request}: {}", message(source))]
    #[diagnostic(code(dmp::engine::api))]
    Api { request: String, source: BollardError },
}

impl EngineError {
    /// `source`, the answer to `request` ("inspect image dmp/wsgi:1.0").
    pub fn request(request: impl Into<String>, source: BollardError) -> Self {
        Self::Api { request: request.into(), source }
    }
}

/// The Engine's own message for a refused request, else the error.
pub fn message(error: &BollardError) -> String {
    match error {
        BollardError::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// Engine requests named and timed: with `-v` (or `RUST_LOG=dmp=debug`)
/// every request is logged with its duration; a failure names the request.
pub trait Request<T>: std::future::Future<Output = Result<T, BollardError>> + Sized {
    /// Logs the request and keeps the Engine's error, for callers that
    /// decide on it (a 404 that means "gone already").
    fn timed(self, request: impl std::fmt::Display) -> impl std::future::Future<Output = Result<T, BollardError>> {
        let enabled = tracing::enabled!(target: "dmp::engine", tracing::Level::DEBUG);
        let request = enabled.then(|| request.to_string());
        async move {
            let started = std::time::Instant::now();
            let result = self.await;
            if let Some(request) = request {
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                match &result {
                    Ok(_) => tracing::debug!(target: "dmp::engine", "{request}: {ms:.1} ms"),
                    Err(e) => {
                        tracing::debug!(target: "dmp::engine", "{request}: failed after {ms:.1} ms: {}", message(e));
                    }
                }
            }
            result
        }
    }

    /// Logs the request; a failure becomes an [`EngineError`] that names it.
    fn named(self, request: impl std::fmt::Display) -> impl std::future::Future<Output = Result<T, EngineError>> {
        let name = request.to_string();
        async move { self.timed(&name).await.map_err(|source| EngineError::request(name, source)) }
    }
}

impl<T, F: std::future::Future<Output = Result<T, BollardError>>> Request<T> for F {}

/// Where dmp will look for the Engine, for messages.
pub fn address() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| format!("unix://{DEFAULT_SOCKET}"))
}

/// Connects and negotiates the API version (one round trip).
pub async fn connect() -> Result<Docker, EngineError> {
    let address = address();
    let docker = Docker::connect_with_defaults().map_err(|e| classify(e, &address))?;
    docker.negotiate_version().await.map_err(|e| classify(e, &address))
}

fn classify(error: BollardError, address: &str) -> EngineError {
    let address = address.to_owned();
    if let BollardError::SocketNotFoundError(_) = error {
        return EngineError::NotRunning { address };
    }
    match io_error_kind(&error) {
        Some(io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused) => EngineError::NotRunning { address },
        Some(io::ErrorKind::PermissionDenied) => EngineError::PermissionDenied { address },
        _ => EngineError::Unreachable { address, source: error },
    }
}

/// The I/O error at the bottom of a connection failure, if any.
fn io_error_kind(error: &BollardError) -> Option<io::ErrorKind> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(err) = source {
        if let Some(io_err) = err.downcast_ref::<io::Error>() {
            return Some(io_err.kind());
        }
        source = err.source();
    }
    None
}
