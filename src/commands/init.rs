//! `dmp init`: onboarding in an app checkout. Never overwrites anything.

use std::path::Path;
use std::process::ExitCode;

use super::{Context, Interrupt};
use crate::cli::{InitArgs, Template};
use crate::compose::load::FILE_NAMES;
use crate::engine::Request as _;
use crate::error::{Error, Result};

/// Reads only: Ctrl-C stops it at once.
pub const INTERRUPT: Interrupt = Interrupt::READS;

const FRONTEND: &str = include_str!("../../compose/frontend.yml");
const API: &str = include_str!("../../compose/api.yml");

pub async fn run(args: &InitArgs, ctx: &Context) -> Result<ExitCode> {
    let dir = &ctx.dir;
    let say = |line: &str| {
        if !ctx.quiet {
            eprintln!("{line}");
        }
    };

    let env = dir.join(".env");
    let example = dir.join(".env.example");
    if env.exists() {
        say("kept .env");
    } else if example.is_file() {
        copy_new(&example, &env)?;
        say("created .env from .env.example");
    } else {
        say("no .env.example, so no .env made");
    }

    if let Some(existing) = FILE_NAMES.iter().find(|name| dir.join(name).is_file()) {
        say(&format!("kept the stack file {existing}"));
    } else {
        let (name, text) = match args.template {
            Template::Frontend => ("frontend", FRONTEND),
            Template::Api => ("api", API),
        };
        write_new(&dir.join("dmp.yml"), text)?;
        say(&format!("wrote dmp.yml from the {name} template"));
    }

    let docker = ctx.docker().await?;
    let version = docker.version().named("version").await?;
    say(&format!(
        "the Docker Engine answers: {} (API {})",
        version.version.unwrap_or_default(),
        version.api_version.unwrap_or_default()
    ));
    say("next: dmp up");
    Ok(ExitCode::SUCCESS)
}

/// Creates `to` with `from`'s contents, failing rather than overwriting.
fn copy_new(from: &Path, to: &Path) -> Result<()> {
    let text = std::fs::read(from).map_err(Error::io("read", from))?;
    write_new(to, text)
}

/// Creates `path` (never overwriting), owned by the owner of the directory
/// it is in: `dmp init` run by root in a user's checkout leaves the user's
/// files, not root's.
fn write_new(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::MetadataExt as _;
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(Error::io("create", path))?;
    file.write_all(contents.as_ref()).map_err(Error::io("write", path))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let owner = std::fs::metadata(dir).map_err(Error::io("read", dir))?;
    let mine = std::fs::metadata(path).map_err(Error::io("read", path))?;
    if (owner.uid(), owner.gid()) != (mine.uid(), mine.gid()) {
        // Only root may give a file away; anyone else keeps their own.
        let _ = std::os::unix::fs::chown(path, Some(owner.uid()), Some(owner.gid()));
    }
    Ok(())
}
