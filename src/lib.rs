//! dmp: a complete local environment for a Python WSGI app in one command.
//!
//! `main.rs` only calls [`run`]; each subcommand lives in `commands/`.

mod base_images;
pub mod build_context;
mod cli;
mod commands;
pub mod compose;
pub mod dockerignore;
mod engine;
mod error;
mod image_build;
pub mod images;
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
        .and_then(|runtime| runtime.block_on(commands::run(cli)));
    match result {
        Ok(code) => code,
        // The reader went away (`dmp ps | head`): nothing left to say.
        Err(Error::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{:?}", miette::Report::new(error));
            ExitCode::FAILURE
        }
    }
}
