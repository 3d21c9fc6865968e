//! `dmp sh`, `dmp migrate`, `dmp manage`: commands in a running container.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use crate::cli::{GlobalArgs, ManageArgs, ProjectArgs, ShArgs};
use crate::dev;
use crate::engine;
use crate::error::{Error, Result};
use crate::stack::exec::{self, Attach};

pub async fn sh(args: &ShArgs, project_args: &ProjectArgs, global: &GlobalArgs) -> Result<ExitCode> {
    let project = super::load_project(project_args, global)?;
    let service = match &args.service {
        Some(service) => service.clone(),
        None => dev::app_service(&project)?,
    };
    let command = if args.command.is_empty() {
        vec![project.dmp.shell.clone().unwrap_or_else(|| "bash".into())]
    } else {
        args.command.clone()
    };
    run_in(&project, &service, command).await
}

pub async fn migrate(project_args: &ProjectArgs, global: &GlobalArgs) -> Result<ExitCode> {
    let project = super::load_project(project_args, global)?;
    let command = dev::migrate_command(&project)?;
    run_in(&project, &dev::app_service(&project)?, command).await
}

pub async fn manage(args: &ManageArgs, project_args: &ProjectArgs, global: &GlobalArgs) -> Result<ExitCode> {
    let project = super::load_project(project_args, global)?;
    let mut command = vec!["python3".to_owned(), "manage.py".to_owned()];
    command.extend(args.args.iter().cloned());
    run_in(&project, &dev::app_service(&project)?, command).await
}

/// Runs `command` in `service`'s container: a TTY when stdin is a terminal,
/// else stdin passed through; exits with the command's code.
async fn run_in(project: &crate::compose::Project, service: &str, command: Vec<String>) -> Result<ExitCode> {
    let docker = engine::connect().await?;
    let container = dev::running_container(&docker, project, service).await?;
    let attach = if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        Attach::Terminal
    } else {
        Attach::Stdin
    };
    let code = exec::run(&docker, &container, command.clone(), attach, None).await?;
    // A command killed by a signal reports 128 + the signal, as a shell does.
    match code.and_then(|code| u8::try_from(code).ok()) {
        Some(code) => Ok(ExitCode::from(code)),
        None => Err(Error::ExitUnknown { command: shell_words::join(&command), container }),
    }
}
