//! One module per subcommand, each with its interrupt policy beside it; the
//! arguments are resolved once into a [`Context`].

mod completions;
mod config;
mod context;
mod doctor;
mod down;
mod images;
mod init;
mod logs;
mod ps;
mod sh;
mod start;
mod stop;
mod up;
mod watch;

use std::process::ExitCode;

pub use context::{Context, print_json};

use crate::cli::{Cli, Command, ImagesCommand};
use crate::error::Result;

/// What SIGINT (Ctrl-C) and SIGTERM do to a command. By default dmp stops
/// the command (dropping its future releases every guard) and exits with
/// 128 + the signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupt {
    /// The command handles Ctrl-C itself (watching ends cleanly).
    pub own_ctrl_c: bool,
    /// The command changes the stack, so an interrupt leaves something
    /// half done: dmp says that the next `dmp up` finishes it.
    pub changes: bool,
}

impl Interrupt {
    /// Reads only: stopped at once, nothing to say.
    pub const READS: Self = Self { own_ctrl_c: false, changes: false };
    /// Changes the stack: stopped at once, with a word on finishing.
    pub const CHANGES: Self = Self { own_ctrl_c: false, changes: true };
}

/// The interrupt policy of `command`, as its module declares it.
pub fn interrupt(command: &Command) -> Interrupt {
    match command {
        Command::Images(_) => images::INTERRUPT,
        Command::Config(_) => config::INTERRUPT,
        Command::Up(args) => up::interrupt(args),
        Command::Down(_) => down::INTERRUPT,
        Command::Ps(_) => ps::INTERRUPT,
        Command::Logs(_) => logs::INTERRUPT,
        Command::Stop(_) | Command::Restart(_) => stop::INTERRUPT,
        Command::Init(_) => init::INTERRUPT,
        Command::Sh(_) | Command::Migrate | Command::Manage(_) => sh::INTERRUPT,
        Command::Start(_) => start::INTERRUPT,
        Command::Watch(_) => watch::INTERRUPT,
        Command::Doctor(_) => doctor::INTERRUPT,
        Command::Completions(_) | Command::Man => completions::INTERRUPT,
    }
}

pub async fn run(cli: Cli) -> Result<ExitCode> {
    let ctx = Context::new(&cli.project, &cli.global)?;
    match &cli.command {
        Command::Images(ImagesCommand::Build(args)) => images::build(args, &ctx).await,
        Command::Config(args) => config::run(args, &ctx),
        Command::Up(args) => up::run(args, &ctx).await,
        Command::Down(args) => down::run(args, &ctx).await,
        Command::Ps(args) => ps::run(args, &ctx).await,
        Command::Logs(args) => logs::run(args, &ctx).await,
        Command::Stop(args) => stop::run(stop::Verb::Stop, args, &ctx).await,
        Command::Restart(args) => stop::run(stop::Verb::Restart, args, &ctx).await,
        Command::Init(args) => init::run(args, &ctx).await,
        Command::Sh(args) => sh::sh(args, &ctx).await,
        Command::Migrate => sh::migrate(&ctx).await,
        Command::Start(args) => start::run(args, &ctx).await,
        Command::Manage(args) => sh::manage(args, &ctx).await,
        Command::Watch(args) => watch::run(args, &ctx).await,
        Command::Doctor(args) => doctor::run(args, &ctx).await,
        Command::Completions(args) => completions::completions(args.shell),
        Command::Man => completions::man(),
    }
}
