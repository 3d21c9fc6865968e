//! `dmp describe`: the stack at a glance (services, where they answer,
//! ports, mounts, health), and `dmp open`: the site in the browser.

use std::io::Write as _;
use std::process::ExitCode;

use serde::Serialize;

use super::{Context, Interrupt, SCHEMA};
use crate::cli::DescribeArgs;
use crate::compose::Project;
use crate::error::{Error, Result};
use crate::stack::{ProjectContainer, PublishedPort, http};

/// Reads only: Ctrl-C stops it at once.
pub const INTERRUPT: Interrupt = Interrupt::READS;

#[derive(Debug, Serialize)]
struct Description<'a> {
    schema: u32,
    project: &'a str,
    /// The site's root URL, when the stack has an HTTP entry service up.
    url: Option<String>,
    services: Vec<ServiceDescription<'a>>,
}

#[derive(Debug, Serialize)]
struct ServiceDescription<'a> {
    service: &'a str,
    image: String,
    container: Option<&'a str>,
    state: &'a str,
    health: &'a str,
    ports: &'a [PublishedPort],
    /// `http://127.0.0.1:PORT/` for each published TCP port.
    urls: Vec<String>,
    mounts: Vec<String>,
}

/// `http://HOST:PORT/` for a published port (loopback for every address).
fn url(port: &PublishedPort) -> String {
    let host = if port.host_ip.is_empty() || port.host_ip == "0.0.0.0" { "127.0.0.1" } else { &port.host_ip };
    let host = if host.contains(':') { format!("[{host}]") } else { host.to_owned() };
    format!("http://{host}:{}/", port.published)
}

/// The site's root URL: the HTTP entry service's first published TCP port.
fn site(project: &Project, containers: &[ProjectContainer]) -> Option<String> {
    let all: Vec<_> = project.services.values().collect();
    let service = http::http_service(project, &all)?;
    let container = containers.iter().find(|c| c.service == service.name && c.running())?;
    container.ports.iter().find(|p| p.protocol == "tcp").map(url)
}

pub async fn describe(args: &DescribeArgs, ctx: &Context) -> Result<ExitCode> {
    let project = ctx.project()?;
    let containers = ctx.containers(&[]).await?;
    let services: Vec<ServiceDescription> = project
        .services
        .values()
        .map(|service| {
            let container = containers.iter().find(|c| c.service == service.name);
            let ports = container.map_or(&[][..], |c| c.ports.as_slice());
            ServiceDescription {
                service: &service.name,
                image: crate::stack::spec::image_ref(project, service),
                container: container.map(|c| c.name.as_str()),
                state: container.map_or("absent", |c| c.state.as_str()),
                health: container.map_or("none", |c| c.health.as_str()),
                ports,
                urls: ports.iter().filter(|p| p.protocol == "tcp").map(url).collect(),
                mounts: service
                    .volumes
                    .iter()
                    .map(|m| {
                        let mode = if m.read_only { ":ro" } else { "" };
                        format!("{}:{}{mode}", m.source.as_deref().unwrap_or("(anonymous)"), m.target)
                    })
                    .collect(),
            }
        })
        .collect();
    let description = Description { schema: SCHEMA, project: &project.name, url: site(project, &containers), services };
    if args.json {
        return super::print_json(&description).map(|()| ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    let site = description.url.as_deref().unwrap_or("(not up)");
    writeln!(out, "{}: {site}", description.project).map_err(Error::Output)?;
    for s in &description.services {
        let health = if s.health == "none" { String::new() } else { format!(", {}", s.health) };
        writeln!(out, "  {} ({}{health}): {}", s.service, s.state, s.image).map_err(Error::Output)?;
        for url in &s.urls {
            writeln!(out, "    url    {url}").map_err(Error::Output)?;
        }
        for mount in &s.mounts {
            writeln!(out, "    mount  {mount}").map_err(Error::Output)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `dmp open`: the site's URL in the browser (`$BROWSER`, else `xdg-open`
/// or macOS's `open`); the URL is printed either way.
pub async fn open(ctx: &Context) -> Result<ExitCode> {
    let project = ctx.project()?;
    let containers = ctx.containers(&[]).await?;
    let Some(url) = site(project, &containers) else {
        return Err(crate::stack::StackError::NotUp { service: http_name(project) }.into());
    };
    println!("{url}");
    let opener = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| if cfg!(target_os = "macos") { "open".into() } else { "xdg-open".into() });
    let spawned = std::process::Command::new(&opener)
        .arg(&url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if spawned.is_err() && !ctx.quiet {
        eprintln!("no browser to open it with (`{opener}`); set BROWSER, or open the URL above");
    }
    Ok(ExitCode::SUCCESS)
}

fn http_name(project: &Project) -> String {
    let all: Vec<_> = project.services.values().collect();
    http::http_service(project, &all).map_or_else(|| "(the HTTP service)".into(), |s| s.name.clone())
}
