//! `dmp completions SHELL` and `dmp man`: generated from the same clap
//! definition that parses the command line, so they never drift from it.

use std::io::Write as _;
use std::process::ExitCode;

use clap::CommandFactory as _;

use super::Interrupt;
use crate::cli::Cli;
use crate::error::{Error, Result};

/// Prints only: Ctrl-C stops it at once.
pub const INTERRUPT: Interrupt = Interrupt::READS;

pub fn completions(shell: clap_complete::Shell) -> Result<ExitCode> {
    // Generated into memory first: clap_complete panics when its writer fails
    // (`dmp completions bash | head`).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "dmp", &mut script);
    std::io::stdout().lock().write_all(&script).map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}

/// One page, `man dmp`, with every command and its options on it: dmp ships
/// as a single binary, so there are no `dmp-up(1)` pages to refer to.
pub fn man() -> Result<ExitCode> {
    let command = Cli::command();
    let man = clap_mangen::Man::new(command.clone());
    let mut page = Vec::new();
    let render = |result: std::io::Result<()>| result.map_err(Error::Output);
    render(man.render_title(&mut page))?;
    render(man.render_name_section(&mut page))?;
    render(man.render_synopsis_section(&mut page))?;
    render(man.render_description_section(&mut page))?;
    render(man.render_options_section(&mut page))?;
    page.extend_from_slice(b".SH COMMANDS\n");
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("dmp {}", sub.get_name());
        let sub_man = clap_mangen::Man::new(sub.clone().name(name.clone()).bin_name(name.clone()));
        let mut section = Vec::new();
        render(sub_man.render_synopsis_section(&mut section))?;
        render(sub_man.render_description_section(&mut section))?;
        render(sub_man.render_options_section(&mut section))?;
        // The command's own sections become paragraphs under its heading.
        let text = String::from_utf8_lossy(&section)
            .replace(".SH SYNOPSIS\n", "")
            .replace(".SH DESCRIPTION\n", ".PP\n")
            .replace(".SH OPTIONS\n", ".PP\nOptions:\n");
        page.extend_from_slice(format!(".SS \"{name}\"\n").as_bytes());
        page.extend_from_slice(text.as_bytes());
    }
    render(man.render_version_section(&mut page))?;
    std::io::stdout().lock().write_all(&page).map_err(Error::Output)?;
    Ok(ExitCode::SUCCESS)
}
