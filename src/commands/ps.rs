//! `dmp ps`: the project's containers with state, health and ports.

use std::io::Write as _;
use std::process::ExitCode;

use super::{Context, Interrupt};
use crate::cli::PsArgs;
use crate::error::{Error, Result};
use crate::stack;

/// Reads only: Ctrl-C stops it at once.
pub const INTERRUPT: Interrupt = Interrupt::READS;

pub async fn run(args: &PsArgs, ctx: &Context) -> Result<ExitCode> {
    let project = ctx.project()?;
    let docker = ctx.docker().await?;
    let containers = stack::containers(docker, project).await?;
    if args.json {
        super::print_json(&containers)?;
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
    let mut out = std::io::stdout().lock();
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row.iter().zip(widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        writeln!(out, "{}", line.join("  ").trim_end()).map_err(Error::Output)?;
    }
    Ok(ExitCode::SUCCESS)
}
