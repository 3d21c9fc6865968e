//! One module per subcommand.

mod images;

use std::process::ExitCode;

use crate::cli::{Cli, Command, ImagesCommand};
use crate::error::Result;

pub async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Images(ImagesCommand::Build(args)) => images::build(&args, &cli.global).await,
    }
}
