//! The app's HTTP entry point: which service it is, where it answers, and
//! asking it (a bare HTTP/1.0 GET of the status line: all dmp needs, so no
//! HTTP client crate on the path of every `up` and `ps`).

use std::time::{Duration, Instant};

use bollard::Docker;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::container_name;
use super::wait::{HTTP_POLL, poll_gap};
use crate::compose::Project;
use crate::compose::model::Service;
use crate::stack::error::{Result, StackError};

/// Besides the container's own health check, a quicker proof that it is
/// ready: an HTTP answer below 500 at this address (the stack's HTTP entry
/// point, through its published port).
#[derive(Debug, Clone)]
pub struct HttpProbe {
    pub host: String,
    pub port: u16,
    pub path: String,
}

/// GETs `path` on `host:port` until the server answers with a status below
/// 500 (a 502 from nginx means the app behind it is not up yet). Returns the
/// last status or error seen when the deadline passes.
pub async fn http(host: &str, port: u16, path: &str, deadline: Instant) -> Result<u16, String> {
    let started = Instant::now();
    let mut last;
    loop {
        match http_status(host, port, path).await {
            Ok(status) if status < 500 => return Ok(status),
            Ok(status) => last = format!("HTTP {status}"),
            Err(e) => last = e.to_string(),
        }
        if Instant::now() >= deadline {
            return Err(last);
        }
        tokio::time::sleep(poll_gap(started.elapsed()).min(HTTP_POLL * 10)).await;
    }
}

pub(super) async fn http_status(host: &str, port: u16, path: &str) -> std::io::Result<u16> {
    let connect = tokio::net::TcpStream::connect((host, port));
    let mut stream = tokio::time::timeout(Duration::from_secs(2), connect).await??;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nUser-Agent: dmp\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = [0u8; 32];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut head)).await??;
    let line = String::from_utf8_lossy(&head[..read]);
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response"))
}
/// The service that answers HTTP for the app: `x-dmp.http`, else the one
/// running a dmp nginx image, else the only service publishing a port.
pub fn http_service<'p>(project: &'p Project, selected: &[&'p Service]) -> Option<&'p Service> {
    if let Some(name) = &project.dmp.http {
        return selected.iter().find(|s| &s.name == name).copied();
    }
    let nginx = selected
        .iter()
        .find(|s| s.image.as_deref().is_some_and(|i| i.starts_with("dmp/http-") && !i.contains("buildstatic")));
    let publishing: Vec<&&Service> = selected.iter().filter(|s| !s.ports.is_empty()).collect();
    nginx.copied().or_else(|| (publishing.len() == 1).then(|| *publishing[0]))
}

/// Where the stack's HTTP entry point answers, read from the stack file
/// when it publishes a fixed TCP port (no Engine request needed); `None`
/// when there is no entry point or its port is chosen by the Engine.
pub fn http_probe(project: &Project, selected: &[&Service]) -> Option<HttpProbe> {
    let service = http_service(project, selected)?;
    let port = service.ports.iter().find(|p| p.protocol == "tcp")?;
    Some(HttpProbe {
        host: reachable(&port.host_ip),
        port: port.published?,
        path: project.dmp.http_path.clone().unwrap_or_else(|| "/".into()),
    })
}

/// The address to reach a port published on `host_ip` at.
pub fn reachable(host_ip: &str) -> String {
    if host_ip == "0.0.0.0" || host_ip.is_empty() { "127.0.0.1".to_owned() } else { host_ip.to_owned() }
}

/// The site's root URL when the stack's HTTP entry point (on a fixed port)
/// answers its health path now, with one GET; `None` otherwise.
pub async fn answers_now(project: &Project, selected: &[&Service]) -> Option<String> {
    let probe = http_probe(project, selected)?;
    let status = http_status(&probe.host, probe.port, &probe.path).await.ok()?;
    (status < 500).then(|| site(&probe.host, probe.port) + "/")
}

/// `http://host:port`, with an IPv6 host in brackets.
pub fn site(host: &str, port: u16) -> String {
    if host.contains(':') { format!("http://[{host}]:{port}") } else { format!("http://{host}:{port}") }
}

pub async fn wait_http(
    docker: &Docker,
    project: &Project,
    selected: &[&Service],
    deadline: Instant,
) -> Result<Option<String>> {
    let Some(service) = http_service(project, selected) else { return Ok(None) };
    let (host, published) = if let Some(probe) = http_probe(project, selected) {
        (probe.host, probe.port)
    } else {
        // A port the Engine chose: ask it which.
        let containers = super::list_containers(docker, &project.name).await?;
        let Some(port) = containers
            .iter()
            .find(|c| c.service == service.name)
            .and_then(|c| c.ports.iter().find(|p| p.protocol == "tcp"))
        else {
            return Ok(None);
        };
        (reachable(&port.host_ip), port.published)
    };
    let path = project.dmp.http_path.clone().unwrap_or_else(|| "/".into());
    let site = site(&host, published);
    http(&host, published, &path, deadline).await.map_err(|last| StackError::ServiceFailed {
        service: service.name.clone(),
        container: container_name(project, &service.name),
        reason: format!("does not answer HTTP at {site}{path} (last: {last})"),
        logs: Vec::new(),
    })?;
    // The site's root, for people to open; the health path was only for waiting.
    Ok(Some(format!("{site}/")))
}
