//! dmp: a complete local environment for a Python WSGI app in one command.
//!
//! `main.rs` only calls [`run`]; each subcommand lives in `commands/`.

mod base_images;
pub mod build_context;
mod ca;
mod cli;
mod commands;
pub mod compose;
pub mod dockerignore;
mod engine;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod image_build;
pub mod images;
mod node;
pub mod stack;
mod ui;
mod watch;

use std::process::ExitCode;

use clap::Parser as _;

pub use error::Error;

/// Parses the command line, runs the command and reports any error.
pub fn run() -> ExitCode {
    let cli = cli::Cli::parse();
    // Wrapped lines are for people; logs and scripts get whole lines to grep.
    let wrap = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = miette::set_hook(Box::new(move |_| Box::new(miette::MietteHandlerOpts::new().wrap_lines(wrap).build())));
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
        .and_then(|runtime| runtime.block_on(run_until_signal(cli)));
    match result {
        Ok(code) => code,
        // The reader went away (`dmp ps | head`): nothing left to say.
        Err(Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error @ Error::Interrupted { signal, changes }) => {
            if changes {
                eprintln!("dmp: {error}");
            }
            ExitCode::from(u8::try_from(128 + signal).unwrap_or(1))
        }
        Err(error) => {
            eprintln!("{:?}", miette::Report::new(error));
            ExitCode::FAILURE
        }
    }
}

/// Runs the command until it ends or SIGINT/SIGTERM arrives. On a signal the
/// command's future is dropped, so every guard (terminal modes, progress
/// bars, locks) is released before dmp exits; what was half done, the next
/// `dmp up` converges. Commands that handle Ctrl-C themselves (watch, a
/// shell) are left to do so.
async fn run_until_signal(cli: cli::Cli) -> Result<ExitCode, Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let own_ctrl_c = matches!(&cli.command, cli::Command::Watch(_) | cli::Command::Up(cli::UpArgs { watch: true, .. }));
    // Only commands that change the stack leave something to finish.
    let changes = matches!(
        cli.command,
        cli::Command::Up(_) | cli::Command::Down(_) | cli::Command::Images(_) | cli::Command::Start(_)
    );
    let (Ok(mut interrupt), Ok(mut terminate)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
    else {
        return Box::pin(commands::run(cli)).await;
    };
    tokio::select! {
        result = Box::pin(commands::run(cli)) => result,
        _ = interrupt.recv(), if !own_ctrl_c => Err(Error::Interrupted { signal: 2, changes }),
        _ = terminate.recv() => Err(Error::Interrupted { signal: 15, changes }),
    }
}
