//! `dmp attach SERVICE`: Compose's attach. dmp's terminal joins a service
//! container's main process: its output, and dmp's stdin when the
//! container keeps stdin open (`stdin_open: true`; a TTY with `tty: true`).
//! Ctrl-C is passed to the process as SIGINT (`--sig-proxy`, on by
//! default); the detach keys (`ctrl-p,ctrl-q`) leave it running. Exits
//! with the container's code when it stops.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use bollard::query_parameters::{
    AttachContainerOptionsBuilder, KillContainerOptionsBuilder, ResizeContainerTTYOptionsBuilder,
    WaitContainerOptionsBuilder,
};
use futures_util::StreamExt as _;

use super::{Context, Interrupt, exec as exec_command};
use crate::cli::AttachArgs;
use crate::engine::{EngineError, Request as _};
use crate::error::Result;
use crate::stack::StackError;
use crate::stack::exec::{Attach, RawMode, pump};

/// With `--sig-proxy` Ctrl-C belongs to the container (dmp passes it on);
/// without it, Ctrl-C leaves the container running and dmp exits with 130.
pub fn interrupt(args: &AttachArgs) -> Interrupt {
    Interrupt { own_ctrl_c: args.sig_proxy, changes: false }
}

pub async fn run(args: &AttachArgs, ctx: &Context) -> Result<ExitCode> {
    let container = ctx.container(&args.service, args.index).await?;
    if !container.running() {
        return Err(StackError::NotUp { service: args.service.clone() }.into());
    }
    let docker = ctx.docker().await?;
    let name = container.name.as_str();
    let config = docker.inspect_container(name, None).named(format_args!("inspect container {name}")).await?.config;
    let tty = config.as_ref().and_then(|c| c.tty).unwrap_or(false);
    let open_stdin = config.as_ref().and_then(|c| c.open_stdin).unwrap_or(false);
    let attach = match (args.no_stdin || !open_stdin, tty && std::io::stdin().is_terminal()) {
        (true, _) => Attach::Output,
        (false, true) => Attach::Terminal,
        (false, false) => Attach::Stdin,
    };
    let mut options =
        AttachContainerOptionsBuilder::default().stream(true).stdin(attach != Attach::Output).stdout(true).stderr(true);
    if let Some(keys) = &args.detach_keys {
        options = options.detach_keys(keys);
    }
    let attached =
        docker.attach_container(name, Some(options.build())).named(format_args!("attach to container {name}")).await?;
    let raw = if attach == Attach::Terminal { RawMode::enable() } else { None };
    let resize = || async {
        if let Ok((width, height)) = crossterm::terminal::size() {
            let options = ResizeContainerTTYOptionsBuilder::default().w(i32::from(width)).h(i32::from(height)).build();
            let _ = docker.resize_container_tty(name, options).await;
        }
    };
    if attach == Attach::Terminal {
        resize().await;
    }
    let pumped = pump(attached.output, attached.input, attach, resize);
    tokio::pin!(pumped);
    // Ctrl-C (with --sig-proxy; in a raw terminal it is a key the
    // container gets anyway) goes to the process; its end ends the output.
    let mut interrupts = if args.sig_proxy {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok()
    } else {
        None
    };
    loop {
        tokio::select! {
            result = &mut pumped => {
                result.map_err(|e| EngineError::request(format!("the output of container {name}"), e))?;
                break;
            }
            Some(()) = async { match interrupts.as_mut() { Some(s) => s.recv().await, None => None } }, if interrupts.is_some() => {
                let kill = KillContainerOptionsBuilder::default().signal("SIGINT").build();
                docker.kill_container(name, Some(kill)).named(format_args!("pass SIGINT to container {name}")).await?;
            }
        }
    }
    drop(raw);
    // The output ended: the container stops, or the detach keys left it
    // running (then no end comes within a moment: exit 0, as docker's).
    let options = WaitContainerOptionsBuilder::default().condition("not-running").build();
    let mut wait = docker.wait_container(name, Some(options));
    let code = match tokio::time::timeout(std::time::Duration::from_secs(2), wait.next()).await {
        Err(_) => return Ok(ExitCode::SUCCESS),
        Ok(Some(Ok(response))) => Some(response.status_code),
        Ok(Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. }))) => Some(code),
        Ok(Some(Err(e))) => return Err(EngineError::request(format!("wait for container {name}"), e).into()),
        Ok(None) => None,
    };
    exec_command::exit_code(code, name)
}
