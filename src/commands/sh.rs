//! `dmp sh`, `dmp migrate`, `dmp manage`: commands in a running container.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use super::{Context, Interrupt};
use crate::cli::{ManageArgs, ShArgs};
use crate::dev;
use crate::dev::DevError;
use crate::error::Result;
use crate::stack::exec::{self, Attach};

/// Reads only: Ctrl-C stops it at once.
pub const INTERRUPT: Interrupt = Interrupt::READS;

pub async fn sh(args: &ShArgs, ctx: &Context) -> Result<ExitCode> {
    let project = ctx.project()?;
    let services: Vec<&str> = project.services.keys().map(String::as_str).collect();
    let (service, command) = super::select::sh_words(&args.words, &services);
    let service = match service {
        Some(service) => service.to_owned(),
        None => dev::app_service(project)?,
    };
    let command = if command.is_empty() {
        vec![project.dmp.shell.clone().unwrap_or_else(|| "bash".into())]
    } else {
        command.to_vec()
    };
    run_in(ctx, &service, command).await
}

pub async fn migrate(ctx: &Context) -> Result<ExitCode> {
    let project = ctx.project()?;
    let command = dev::migrate_command(project)?;
    run_in(ctx, &dev::app_service(project)?, command).await
}

pub async fn manage(args: &ManageArgs, ctx: &Context) -> Result<ExitCode> {
    let project = ctx.project()?;
    let mut command = vec!["python3".to_owned(), "manage.py".to_owned()];
    command.extend(args.args.iter().cloned());
    run_in(ctx, &dev::app_service(project)?, command).await
}

/// Runs `command` in `service`'s container: a TTY when stdin is a terminal,
/// else stdin passed through; exits with the command's code.
async fn run_in(ctx: &Context, service: &str, command: Vec<String>) -> Result<ExitCode> {
    let docker = ctx.docker().await?;
    let container = dev::running_container(docker, ctx.project()?, service).await?;
    let attach = if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        Attach::Terminal
    } else {
        Attach::Stdin
    };
    let code = exec::run(docker, &container, command.clone(), attach, None).await?;
    // A command killed by a signal reports 128 + the signal, as a shell does.
    match code.and_then(|code| u8::try_from(code).ok()) {
        Some(code) => Ok(ExitCode::from(code)),
        None => Err(DevError::ExitUnknown { command: shell_words::join(&command), container }.into()),
    }
}
