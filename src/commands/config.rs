//! `dmp config`: the stack as dmp resolves it, like `docker compose config`.

use std::io::Write as _;
use std::process::ExitCode;

use super::{Context, Interrupt};
use crate::cli::ConfigArgs;
use crate::error::{Error, Result};

/// Reads only: Ctrl-C stops it at once.
pub const INTERRUPT: Interrupt = Interrupt::READS;

pub fn run(args: &ConfigArgs, ctx: &Context) -> Result<ExitCode> {
    let project = ctx.project()?;
    let mut out = std::io::stdout().lock();
    if args.services {
        for name in project.services.keys() {
            writeln!(out, "{name}").map_err(Error::Output)?;
        }
    } else if args.json {
        serde_json::to_writer_pretty(&mut out, &project).map_err(|e| Error::Output(e.into()))?;
        writeln!(out).map_err(Error::Output)?;
    } else {
        // As Compose does: a literal `$` is written `$$`, so the output is a
        // stack file that reads back to the same values.
        let mut value = serde_json::to_value(project).map_err(|e| Error::Output(e.into()))?;
        escape_dollars(&mut value);
        let yaml = serde_saphyr::to_string(&value).map_err(|e| Error::Output(std::io::Error::other(e.to_string())))?;
        out.write_all(yaml.as_bytes()).map_err(Error::Output)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn escape_dollars(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => *s = s.replace('$', "$$"),
        serde_json::Value::Array(items) => items.iter_mut().for_each(escape_dollars),
        serde_json::Value::Object(map) => map.values_mut().for_each(escape_dollars),
        _ => {}
    }
}
