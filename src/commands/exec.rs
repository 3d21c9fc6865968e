//! `dmp exec SERVICE CMD...`: Compose's exec, with `-u`, `-e`, `-w`, `-T`,
//! `-d` and `--index`; exits with the command's code.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use super::error::CommandError;
use super::{Context, Interrupt};
use crate::cli::ExecArgs;
use crate::error::Result;
use crate::stack::StackError;
use crate::stack::exec::{self, Attach, Settings};

/// Reads only: Ctrl-C stops it at once.
pub const INTERRUPT: Interrupt = Interrupt::READS;

pub async fn run(args: &ExecArgs, ctx: &Context) -> Result<ExitCode> {
    let container = ctx.container(&args.service, args.index).await?;
    if !container.running() {
        return Err(StackError::NotUp { service: args.service.clone() }.into());
    }
    let docker = ctx.docker().await?;
    let settings = Settings { user: args.user.clone(), env: args.env.clone(), workdir: args.workdir.clone() };
    if args.detach {
        exec::detach(docker, &container.name, args.command.clone(), &settings).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let attach = attach(args.no_tty);
    let code = exec::run_with(docker, &container.name, args.command.clone(), attach, &settings).await?;
    exit_code(code, &container.name)
}

/// A TTY when stdin and stdout are terminals and `-T` is not given, else
/// stdin passed through.
pub fn attach(no_tty: bool) -> Attach {
    if !no_tty && std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        Attach::Terminal
    } else {
        Attach::Stdin
    }
}

/// The command's own status (a signal's as 128 + N); none is a failure.
pub fn exit_code(code: Option<i64>, container: &str) -> Result<ExitCode> {
    match code.and_then(|code| u8::try_from(code).ok()) {
        Some(code) => Ok(ExitCode::from(code)),
        None => Err(CommandError::ExitUnknown { container: container.to_owned() }.into()),
    }
}
