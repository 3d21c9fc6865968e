//! One module per subcommand, each with its interrupt policy beside it; the
//! arguments are resolved once into a [`Context`].

mod attach;
mod build;
mod completions;
mod config;
mod context;
mod cp;
mod describe;
mod dev;
mod doctor;
mod down;
mod error;
mod exec;
mod images;
mod init;
mod inspect;
mod lifecycle;
mod logs;
mod ps;
mod run;
mod scale;
mod select;
mod sh;
mod start;
mod up;
mod watch;

use std::process::ExitCode;

pub use context::{Context, SCHEMA, print_json, print_table};
pub use error::CommandError;
pub use scale::parse_scale;

use crate::cli::{Cli, Command, ImagesCommand};
use crate::error::Result;
use lifecycle::Options;
use select::Verb;

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
        Command::Images(args) if args.command.is_none() => inspect::INTERRUPT,
        Command::Images(_) => images::INTERRUPT,
        Command::Config(_) => config::INTERRUPT,
        Command::Up(args) => up::interrupt(args),
        Command::Down(_) => down::INTERRUPT,
        Command::Ps(_) => ps::INTERRUPT,
        Command::Logs(_) => logs::INTERRUPT,
        Command::Stop(_)
        | Command::Restart(_)
        | Command::Kill(_)
        | Command::Rm(_)
        | Command::Pause(_)
        | Command::Unpause(_) => lifecycle::INTERRUPT,
        Command::Exec(_) => exec::INTERRUPT,
        Command::Run(_) | Command::Create(_) => run::INTERRUPT,
        Command::Build(_) | Command::Pull(_) | Command::Push(_) => build::INTERRUPT,
        Command::Top(_)
        | Command::Port(_)
        | Command::Wait(_)
        | Command::Events(_)
        | Command::Ls(_)
        | Command::Version(_) => inspect::INTERRUPT,
        Command::Cp(_) => cp::INTERRUPT,
        Command::Attach(args) => attach::interrupt(args),
        Command::Scale(_) => scale::INTERRUPT,
        Command::Init(_) => init::INTERRUPT,
        Command::Sh(_) | Command::Migrate | Command::Manage(_) => sh::INTERRUPT,
        Command::Start(_) => start::INTERRUPT,
        Command::Watch(_) => watch::INTERRUPT,
        Command::Dev(_) => dev::INTERRUPT,
        Command::Describe(_) | Command::Open => describe::INTERRUPT,
        Command::Doctor(_) => doctor::INTERRUPT,
        Command::Completions(_) | Command::Man => completions::INTERRUPT,
    }
}

pub async fn run(cli: Cli) -> Result<ExitCode> {
    let ctx = Context::new(&cli.project, &cli.global)?;
    match &cli.command {
        Command::Images(args) => match &args.command {
            Some(ImagesCommand::Build(build)) => images::build(build, &ctx).await,
            None => images::list(args, &ctx).await,
        },
        Command::Config(args) => config::run(args, &ctx),
        Command::Up(args) => Box::pin(up::run(args, &ctx)).await,
        Command::Down(args) => down::run(args, &ctx).await,
        Command::Ps(args) => ps::run(args, &ctx).await,
        Command::Logs(args) => logs::run(args, &ctx).await,
        Command::Stop(args) => {
            lifecycle::run(
                Verb::Stop,
                &args.services,
                &Options { timeout: Some(args.timeout), ..Options::default() },
                &ctx,
            )
            .await
        }
        Command::Restart(args) => {
            let options = Options { timeout: Some(args.timeout), ..Options::default() };
            lifecycle::run(Verb::Restart, &args.services, &options, &ctx).await
        }
        Command::Kill(args) => {
            let options = Options { signal: Some(args.signal.clone()), ..Options::default() };
            lifecycle::run(Verb::Kill, &args.services, &options, &ctx).await
        }
        Command::Rm(args) => {
            let options = Options { volumes: args.volumes, ..Options::default() };
            lifecycle::run(Verb::Remove { stop: args.stop }, &args.services, &options, &ctx).await
        }
        Command::Pause(args) => lifecycle::run(Verb::Pause, &args.services, &Options::default(), &ctx).await,
        Command::Unpause(args) => lifecycle::run(Verb::Unpause, &args.services, &Options::default(), &ctx).await,
        Command::Exec(args) => exec::run(args, &ctx).await,
        Command::Run(args) => Box::pin(run::run(args, &ctx)).await,
        Command::Create(args) => Box::pin(run::create(args, &ctx)).await,
        Command::Build(args) => build::build(args, &ctx).await,
        Command::Pull(args) => build::pull(args, &ctx).await,
        Command::Push(args) => build::push(args, &ctx).await,
        Command::Top(args) => inspect::top(args, &ctx).await,
        Command::Port(args) => inspect::port(args, &ctx).await,
        Command::Wait(args) => inspect::wait(args, &ctx).await,
        Command::Events(args) => inspect::events(args, &ctx).await,
        Command::Ls(args) => inspect::ls(args, &ctx).await,
        Command::Version(args) => inspect::version(args),
        Command::Cp(args) => cp::run(args, &ctx).await,
        Command::Attach(args) => attach::run(args, &ctx).await,
        Command::Scale(args) => Box::pin(scale::run(args, &ctx)).await,
        Command::Init(args) => init::run(args, &ctx).await,
        Command::Sh(args) => sh::sh(args, &ctx).await,
        Command::Migrate => sh::migrate(&ctx).await,
        Command::Start(args) if !args.services.is_empty() => {
            lifecycle::run(Verb::Start, &args.services, &Options::default(), &ctx).await
        }
        Command::Start(args) => start::run(args, &ctx).await,
        Command::Manage(args) => sh::manage(args, &ctx).await,
        Command::Watch(args) => watch::run(args, &ctx).await,
        Command::Dev(args) => Box::pin(dev::run(args, &ctx)).await,
        Command::Describe(args) => describe::describe(args, &ctx).await,
        Command::Open => describe::open(&ctx).await,
        Command::Doctor(args) => doctor::run(args, &ctx).await,
        Command::Completions(args) => completions::completions(args.shell),
        Command::Man => completions::man(),
    }
}
