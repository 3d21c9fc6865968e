//! `dmp ps`: the project's containers with state, health and ports.

use std::io::Write as _;
use std::process::ExitCode;

use crate::cli::{GlobalArgs, ProjectArgs, PsArgs};
use crate::engine;
use crate::error::{Error, Result};
use crate::stack;

pub async fn run(args: &PsArgs, project_args: &ProjectArgs, global: &GlobalArgs) -> Result<ExitCode> {
    let project = super::load_project(project_args, global)?;
    let docker = engine::connect().await?;
    let containers = stack::containers(&docker, &project.name).await?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &containers).map_err(|e| Error::Output(e.into()))?;
        writeln!(out).map_err(Error::Output)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 5]> = containers
        .iter()
        .map(|c| {
            let ports: Vec<String> =
                c.ports.iter().map(|p| format!("{}:{}->{}/{}", p.host_ip, p.published, p.target, p.protocol)).collect();
            [c.service.clone(), c.name.clone(), c.state.clone(), c.health.clone(), ports.join(", ")]
        })
        .collect();
    let header = ["SERVICE", "CONTAINER", "STATE", "HEALTH", "PORTS"].map(str::to_owned);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row.iter().zip(widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        writeln!(out, "{}", line.join("  ").trim_end()).map_err(Error::Output)?;
    }
    Ok(ExitCode::SUCCESS)
}
