//! Commands run inside a service's running container, as Engine execs: with
//! their output streamed, captured, detached, or interactive with a TTY.

use std::io::{Read as _, Write as _};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, ResizeExecOptions, StartExecOptions, StartExecResults};
use futures_util::StreamExt as _;
use tokio::io::AsyncWriteExt as _;

use crate::engine::{EngineError, Request as _};

/// How an exec is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attach {
    /// Output to dmp's stdout and stderr; no stdin.
    Output,
    /// All output to dmp's stderr (a step of a command whose stdout is its
    /// result); no stdin.
    Log,
    /// Output and dmp's stdin (closed when dmp's stdin ends).
    Stdin,
    /// A terminal: raw mode, one output stream, resizes followed.
    Terminal,
}

/// An exec's user, extra environment (`KEY=VALUE`) and working directory
/// (`docker compose exec -u -e -w`).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub user: Option<String>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
}

fn create_options(cmd: Vec<String>, attach: Attach, settings: &Settings) -> CreateExecOptions<String> {
    let mut env = vec![];
    if attach == Attach::Terminal {
        env.push(format!("TERM={}", std::env::var("TERM").unwrap_or_else(|_| "xterm".into())));
    }
    env.extend(settings.env.iter().cloned());
    CreateExecOptions {
        cmd: Some(cmd),
        attach_stdin: Some(matches!(attach, Attach::Stdin | Attach::Terminal)),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(attach == Attach::Terminal),
        env: Some(env),
        user: settings.user.clone(),
        working_dir: settings.workdir.clone(),
        ..Default::default()
    }
}

/// Runs `cmd` and returns its exit code, passing output through as it comes;
/// `None` when the Engine cannot say (the exec did not attach, or it reports
/// no code), which callers must not take for success.
pub async fn run(
    docker: &Docker,
    container: &str,
    cmd: Vec<String>,
    attach: Attach,
    user: Option<&str>,
) -> Result<Option<i64>, EngineError> {
    let settings = Settings { user: user.map(str::to_owned), ..Settings::default() };
    run_with(docker, container, cmd, attach, &settings).await
}

/// As [`run`], with a user, environment and working directory.
pub async fn run_with(
    docker: &Docker,
    container: &str,
    cmd: Vec<String>,
    attach: Attach,
    settings: &Settings,
) -> Result<Option<i64>, EngineError> {
    let exec = docker
        .create_exec(container, create_options(cmd, attach, settings))
        .named(format_args!("create exec in {container}"))
        .await?;
    let tty = attach == Attach::Terminal;
    let start = StartExecOptions { detach: false, tty, output_capacity: None };
    let started = docker.start_exec(&exec.id, Some(start)).named(format_args!("start exec in {container}")).await?;
    let StartExecResults::Attached { output, input } = started else {
        return Ok(None);
    };
    // Restored on every way out of this function, panics included.
    let _raw = if tty { RawMode::enable() } else { None };
    if tty {
        resize(docker, &exec.id).await;
    }
    pump(output, input, attach, || resize(docker, &exec.id))
        .await
        .map_err(|e| EngineError::request(format!("the output of an exec in {container}"), e))?;
    Ok(docker.inspect_exec(&exec.id).named(format_args!("inspect exec in {container}")).await?.exit_code)
}

/// Runs `cmd` and returns its exit code and its output (stdout and stderr);
/// −1 (a failure) when the Engine reports no code.
pub async fn capture(docker: &Docker, container: &str, cmd: Vec<String>) -> Result<(i64, String), EngineError> {
    let exec = docker
        .create_exec(container, create_options(cmd, Attach::Output, &Settings::default()))
        .named(format_args!("create exec in {container}"))
        .await?;
    let mut text = String::new();
    let started = docker.start_exec(&exec.id, None).named(format_args!("start exec in {container}")).await?;
    if let StartExecResults::Attached { mut output, .. } = started {
        while let Some(chunk) = output.next().await {
            let chunk = chunk.map_err(|e| EngineError::request(format!("the output of an exec in {container}"), e))?;
            text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
    }
    let inspect = docker.inspect_exec(&exec.id).named(format_args!("inspect exec in {container}")).await?;
    Ok((inspect.exit_code.unwrap_or(-1), text))
}

/// Starts `cmd` detached (`exec -d`), its output discarded.
pub async fn detach(
    docker: &Docker,
    container: &str,
    cmd: Vec<String>,
    settings: &Settings,
) -> Result<(), EngineError> {
    let mut options = create_options(cmd, Attach::Output, settings);
    options.attach_stdout = Some(false);
    options.attach_stderr = Some(false);
    let exec = docker.create_exec(container, options).named(format_args!("create exec in {container}")).await?;
    docker
        .start_exec(&exec.id, Some(StartExecOptions { detach: true, tty: false, output_capacity: None }))
        .named(format_args!("start exec in {container}"))
        .await?;
    Ok(())
}

/// Starts `cmd` in the background; its output goes to the container's own
/// log (PID 1's stdout and stderr), so `dmp logs` shows it.
pub async fn spawn(docker: &Docker, container: &str, cmd: &[String]) -> Result<String, EngineError> {
    let script = format!("exec {} >/proc/1/fd/1 2>/proc/1/fd/2", shell_words::join(cmd));
    let options =
        CreateExecOptions::<String> { cmd: Some(vec!["sh".into(), "-c".into(), script]), ..Default::default() };
    let exec = docker.create_exec(container, options).named(format_args!("create exec in {container}")).await?;
    docker
        .start_exec(&exec.id, Some(StartExecOptions { detach: true, tty: false, output_capacity: None }))
        .named(format_args!("start exec in {container}"))
        .await?;
    Ok(exec.id)
}

/// Whether an exec of `cmd` started by [`spawn`] is still running.
pub async fn spawned_running(docker: &Docker, container: &str, cmd: &[String]) -> Result<bool, EngineError> {
    let script = format!("exec {} >/proc/1/fd/1 2>/proc/1/fd/2", shell_words::join(cmd));
    let inspect = docker
        .inspect_container(container, None::<bollard::query_parameters::InspectContainerOptions>)
        .named(format_args!("inspect container {container}"))
        .await?;
    for id in inspect.exec_ids.unwrap_or_default() {
        let Ok(exec) = docker.inspect_exec(&id).timed(format_args!("inspect exec in {container}")).await else {
            continue;
        };
        let arguments = exec.process_config.and_then(|p| p.arguments).unwrap_or_default();
        if exec.running == Some(true) && arguments.last() == Some(&script) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Passes an attached process's output to dmp's stdout and stderr, and
/// dmp's stdin to it (with `Stdin` and `Terminal`), until its output ends;
/// on a terminal `resize` follows every window change. The caller puts the
/// terminal in raw mode ([`RawMode`]).
pub async fn pump<R: std::future::Future<Output = ()>>(
    mut output: std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>,
    mut input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    attach: Attach,
    resize: impl Fn() -> R,
) -> Result<(), bollard::errors::Error> {
    let tty = attach == Attach::Terminal;
    let mut stdin = matches!(attach, Attach::Stdin | Attach::Terminal).then(spawn_stdin_reader);
    let mut window_changes =
        if tty { tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()).ok() } else { None };
    loop {
        tokio::select! {
            chunk = output.next() => match chunk {
                Some(Ok(LogOutput::StdErr { message })) => write_out(&mut std::io::stderr(), &message),
                Some(Ok(other)) if attach == Attach::Log => write_out(&mut std::io::stderr(), &other.into_bytes()),
                Some(Ok(other)) => write_out(&mut std::io::stdout(), &other.into_bytes()),
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
            data = async { stdin.as_mut().expect("guarded").recv().await }, if stdin.is_some() => {
                if let Some(bytes) = data {
                    if input.write_all(&bytes).await.is_err() {
                        stdin = None;
                    }
                } else {
                    // dmp's stdin ended: the command sees end of input.
                    let _ = input.shutdown().await;
                    stdin = None;
                }
            }
            Some(()) = async { match window_changes.as_mut() { Some(s) => s.recv().await, None => None } }, if window_changes.is_some() => {
                resize().await;
            }
        }
    }
}

fn write_out(out: &mut impl std::io::Write, bytes: &[u8]) {
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

async fn resize(docker: &Docker, exec: &str) {
    if let Ok((width, height)) = crossterm::terminal::size() {
        let _ = docker.resize_exec(exec, ResizeExecOptions { height, width }).await;
    }
}

/// dmp's stdin, read on a thread of its own (reads block), as a channel that
/// closes when stdin ends.
fn spawn_stdin_reader() -> tokio::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buffer = [0u8; 4096];
        loop {
            match stdin.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.blocking_send(buffer[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

/// The terminal in raw mode (keys, Ctrl-C included, go to the container)
/// until this is dropped.
#[derive(Debug)]
pub struct RawMode;

impl RawMode {
    pub fn enable() -> Option<Self> {
        crossterm::terminal::enable_raw_mode().ok().map(|()| Self)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
        let _ = std::io::stdout().flush();
    }
}
