//! dmp: a complete local environment for a Python WSGI app in one command.
//!
//! `main.rs` only calls [`run`]; each subcommand lives in `commands/`.

mod ca;
mod cli;
mod commands;
pub mod compose;
mod dev;
mod endpoint;
mod engine;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod go_path;
pub mod image;
mod node;
pub mod stack;
mod ui;
mod user_file;
mod watch;

use std::process::ExitCode;

use clap::Parser as _;

pub use error::Error;

/// Parses the command line, runs the command and reports any error; the
/// exit status is the command's, or [`Error::exit_code`].
pub fn run() -> ExitCode {
    let parsed = cli::Cli::try_parse().map_err(Error::Usage);
    let json = parsed.as_ref().is_ok_and(|cli| cli.command.json());
    let result = parsed.and_then(|cli| {
        ui::set_quiet(cli.global.quiet);
        init_logging(cli.global.verbose);
        engine::use_context(cli.global.context.clone());
        // Wrapped lines are for people; logs and scripts get whole lines to grep.
        let wrap = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let _ =
            miette::set_hook(Box::new(move |_| Box::new(miette::MietteHandlerOpts::new().wrap_lines(wrap).build())));
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::Runtime)
            .and_then(|runtime| runtime.block_on(run_until_signal(cli)))
    });
    match result {
        Ok(code) => code,
        Err(error) => {
            let code = error.exit_code();
            if json {
                report_json(&error, code);
            }
            report(error);
            ExitCode::from(code)
        }
    }
}

/// `-v`/`RUST_LOG`: decisions and Engine requests through `tracing`, to
/// stderr. Off by default, and then no subscriber is installed at all.
fn init_logging(verbose: u8) {
    let filter = match (std::env::var("RUST_LOG"), verbose) {
        (Ok(filter), _) if !filter.is_empty() => filter,
        (_, 0) => return,
        (_, 1) => "dmp=debug".to_owned(),
        _ => "dmp=trace".to_owned(),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_timer(tracing_subscriber::fmt::time::uptime())
        .try_init();
}

/// Prints an error the way its kind wants: usage as clap prints it, an
/// interrupt as one line (and only when something was half done), a reader
/// that went away not at all, anything else as a diagnostic.
fn report(error: Error) {
    match &error {
        Error::Usage(usage) => {
            let _ = usage.print();
        }
        Error::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Error::Interrupted { changes, .. } => {
            if *changes {
                eprintln!("dmp: {error}");
            }
        }
        _ => eprintln!("{:?}", miette::Report::new(error)),
    }
}

/// An error of a command asked for JSON, as a JSON object on stdout (the
/// text still goes to stderr): `{schema, error: {code, message, help,
/// exit_code}}`, every key present.
fn report_json(error: &Error, exit_code: u8) {
    if matches!(error, Error::Output(_)) {
        return;
    }
    let diagnostic: &dyn miette::Diagnostic = error;
    let value = serde_json::json!({
        "schema": commands::SCHEMA,
        "error": {
            "code": diagnostic.code().map(|c| c.to_string()),
            "message": error.to_string(),
            "help": diagnostic.help().map(|h| h.to_string()),
            "exit_code": exit_code,
        }
    });
    println!("{value:#}");
}

/// Runs the command until it ends or SIGINT/SIGTERM arrives. On a signal the
/// command's future is dropped, so every guard (terminal modes, progress
/// bars, locks) is released before dmp exits; what was half done, the next
/// `dmp up` converges. Each command's policy is beside it (`commands::interrupt`).
async fn run_until_signal(cli: cli::Cli) -> Result<ExitCode, Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let commands::Interrupt { own_ctrl_c, changes } = commands::interrupt(&cli.command);
    exit_when_stuck(own_ctrl_c, changes);
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

/// The backstop under [`run_until_signal`]: that one can only act when the
/// command's future yields, and a blocking read or a long computation never
/// does. This thread sees the same signals; if dmp is still running a
/// second after one, it says so and exits with 128 + N itself.
fn exit_when_stuck(own_ctrl_c: bool, changes: bool) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let wanted: &[i32] = if own_ctrl_c { &[SIGTERM] } else { &[SIGINT, SIGTERM] };
    let Ok(mut signals) = signal_hook::iterator::Signals::new(wanted) else { return };
    let spawned = std::thread::Builder::new().name("dmp-signals".into()).spawn(move || {
        if let Some(signal) = signals.forever().next() {
            std::thread::sleep(std::time::Duration::from_millis(800));
            let error = Error::Interrupted { signal, changes };
            let code = error.exit_code();
            report(error);
            std::process::exit(i32::from(code));
        }
    });
    if let Err(e) = spawned {
        tracing::debug!(target: "dmp", "no signal backstop: {e}");
    }
}
