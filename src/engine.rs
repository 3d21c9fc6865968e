//! The Docker Engine connection: `DOCKER_HOST` or the local socket, with the
//! API version negotiated down to what the Engine speaks (Debian's 20.10
//! speaks 1.41), and a plain sentence with the fix when it is not there.

use std::io;
use std::time::Duration;

use bollard::errors::Error as BollardError;
use bollard::{API_DEFAULT_VERSION, ClientVersion, Docker};

use crate::endpoint::{self, Endpoint, EndpointError};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EngineError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Endpoint(#[from] EndpointError),

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

/// `--context`, set once from the command line before any connection.
static CONTEXT_FLAG: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// Takes `--context` for every later connection.
pub fn use_context(name: Option<String>) {
    let _ = CONTEXT_FLAG.set(name);
}

fn endpoint() -> Result<Endpoint, EndpointError> {
    endpoint::resolve(&endpoint::Inputs::from_process(CONTEXT_FLAG.get().cloned().flatten()))
}

/// Where dmp will look for the Engine, for messages.
pub fn address() -> String {
    endpoint().map_or_else(|_| endpoint::DEFAULT_HOST.to_owned(), |e| e.host)
}

/// How long a request may take before dmp gives up (bollard's default).
const TIMEOUT_SECS: u64 = 120;

/// Connects where the docker CLI would (see [`endpoint`]) and settles the
/// API version in one round trip. On a Unix socket
/// (the usual case) that is a raw `GET /_ping`, whose `API-Version` header is
/// what the docker CLI negotiates with: 0.2 ms, where bollard's
/// `negotiate_version` asks `/version`, which takes 7–8 ms on Engine 26 and
/// would be most of a `dmp ps`. Other transports (TCP, TLS, SSH) use bollard's
/// negotiation.
pub async fn connect() -> Result<Docker, EngineError> {
    let endpoint = endpoint()?;
    let address = endpoint.host.clone();
    let Some(path) = address.strip_prefix("unix://") else {
        let docker = open(&endpoint).map_err(|e| classify(e, &address))?;
        return docker.negotiate_version().timed("version").await.map_err(|e| classify(e, &address));
    };
    let ping = async {
        tokio::time::timeout(Duration::from_secs(TIMEOUT_SECS), ping_api_version(path))
            .await
            .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "no answer to /_ping")))
            .map_err(BollardError::from)
    };
    let server = ping.timed("ping").await.map_err(|e| classify(e, &address))?;
    let docker_with = |version: &ClientVersion| {
        Docker::connect_with_unix(path, TIMEOUT_SECS, version).map_err(|e| classify(e, &address))
    };
    match server {
        // Never above what this bollard speaks; down to what the Engine speaks.
        Some(server) if server < *API_DEFAULT_VERSION => docker_with(&server),
        Some(_) => docker_with(API_DEFAULT_VERSION),
        // An Engine that does not say: ask it the slow way.
        None => docker_with(API_DEFAULT_VERSION)?
            .negotiate_version()
            .timed("version")
            .await
            .map_err(|e| classify(e, &address)),
    }
}

/// `GET /_ping` on the socket at `path`: the Engine's API version from the
/// answer's `API-Version` header, if it sent one.
async fn ping_api_version(path: &str) -> io::Result<Option<ClientVersion>> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::UnixStream::connect(path).await?;
    stream.write_all(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n").await?;
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0_u8; 512];
    // The headers are all that is needed; the body is "OK".
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    Ok(api_version_header(&head))
}

/// The `API-Version` header of an HTTP answer to `/_ping`, when the answer is
/// a success (an Engine in trouble answers 500 and may still send it).
fn api_version_header(response: &[u8]) -> Option<ClientVersion> {
    let text = String::from_utf8_lossy(response);
    let mut lines = text.split("\r\n");
    let status = lines.next()?;
    if !(status.starts_with("HTTP/1.") && status.split(' ').nth(1) == Some("200")) {
        return None;
    }
    let value = lines.take_while(|l| !l.is_empty()).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim().eq_ignore_ascii_case("api-version").then(|| value.trim())
    })?;
    let (major, minor) = value.split_once('.')?;
    Some(ClientVersion { major_version: major.parse().ok()?, minor_version: minor.parse().ok()? })
}

/// A client for the endpoint's transport; nothing is sent yet.
fn open(endpoint: &Endpoint) -> Result<Docker, BollardError> {
    let host = endpoint.host.as_str();
    let version = API_DEFAULT_VERSION;
    match (host.split_once("://").map(|(scheme, _)| scheme), &endpoint.tls) {
        (Some("unix"), _) => Docker::connect_with_unix(host, TIMEOUT_SECS, version),
        (Some("tcp" | "http" | "https"), Some(tls)) => {
            Docker::connect_with_ssl(host, &tls.key, &tls.cert, &tls.ca, TIMEOUT_SECS, version)
        }
        (Some("tcp" | "http"), None) => Docker::connect_with_http(host, TIMEOUT_SECS, version),
        (Some("ssh"), _) => Docker::connect_with_ssh(host, TIMEOUT_SECS, version, None),
        _ => Err(BollardError::UnsupportedURISchemeError { uri: host.to_owned() }),
    }
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
    // `IOError` is transparent: its `source()` skips the io::Error itself.
    if let BollardError::IOError { err } = error {
        return Some(err.kind());
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(err) = source {
        if let Some(io_err) = err.downcast_ref::<io::Error>() {
            return Some(io_err.kind());
        }
        source = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_version_comes_from_a_successful_pings_header() {
        let answer = b"HTTP/1.1 200 OK\r\nApi-Version: 1.45\r\nContent-Length: 2\r\n\r\nOK";
        assert_eq!(api_version_header(answer), Some(ClientVersion { major_version: 1, minor_version: 45 }));
        let lower = b"HTTP/1.1 200 OK\r\napi-version:1.41\r\n\r\n";
        assert_eq!(api_version_header(lower), Some(ClientVersion { major_version: 1, minor_version: 41 }));
    }

    #[test]
    fn no_version_without_the_header_or_on_an_error() {
        assert_eq!(api_version_header(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"), None);
        assert_eq!(api_version_header(b"HTTP/1.1 500 Internal Server Error\r\nApi-Version: 1.45\r\n\r\n"), None);
        assert_eq!(api_version_header(b"HTTP/1.1 200 OK\r\nApi-Version: one\r\n\r\n"), None);
        assert_eq!(api_version_header(b""), None);
    }

    #[test]
    fn a_failed_connect_says_not_running_or_permission_denied() {
        let io = |kind| BollardError::from(io::Error::from(kind));
        assert!(matches!(classify(io(io::ErrorKind::NotFound), "unix:///x"), EngineError::NotRunning { .. }));
        assert!(matches!(classify(io(io::ErrorKind::ConnectionRefused), "unix:///x"), EngineError::NotRunning { .. }));
        assert!(matches!(
            classify(io(io::ErrorKind::PermissionDenied), "unix:///x"),
            EngineError::PermissionDenied { .. }
        ));
    }

    #[test]
    fn a_version_in_the_body_is_not_a_header() {
        assert_eq!(api_version_header(b"HTTP/1.1 200 OK\r\n\r\nApi-Version: 1.45\r\n"), None);
    }
}
