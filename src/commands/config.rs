//! `dmp config`: the stack as dmp resolves it, in the shape `docker compose
//! config` prints it.

use std::io::Write as _;
use std::process::ExitCode;

use super::{Context, Interrupt};
use crate::cli::{ConfigArgs, ConfigFormat};
use crate::compose::render::{self, Form};
use crate::error::{Error, Result};
use crate::stack::StackError;

/// Reads only: Ctrl-C stops it at once.
pub const INTERRUPT: Interrupt = Interrupt::READS;

pub fn run(args: &ConfigArgs, ctx: &Context) -> Result<ExitCode> {
    let project = ctx.project()?;
    let mut lines: Vec<String> = Vec::new();
    if args.services {
        lines.extend(project.services.keys().cloned());
    } else if args.volumes {
        lines.extend(render::used_volumes(project).into_iter().cloned());
    } else if args.images {
        lines.extend(project.services.values().map(|s| render::image_name(project, s)));
    } else if let Some(names) = args.hash.as_deref().filter(|n| !n.is_empty()) {
        let wanted: Vec<&str> = names.split(',').map(str::trim).collect();
        for name in &wanted {
            if *name != "*" && !project.services.contains_key(*name) {
                let available = project.services.keys().cloned().collect::<Vec<_>>().join(", ");
                return Err(StackError::UnknownService { name: (*name).to_owned(), available }.into());
            }
        }
        for (name, service) in &project.services {
            if wanted.contains(&"*") || wanted.contains(&name.as_str()) {
                lines.push(format!("{name} {}", render::service_hash(project, service)));
            }
        }
    } else {
        let form = if args.json || args.format == ConfigFormat::Json { Form::Json } else { Form::Yaml };
        let mut node = render::project(project, form);
        node.escape_dollars();
        let text = match form {
            // Byte for byte as Compose: Go's indentation and escaping.
            Form::Json => node.go_json_pretty(),
            Form::Yaml => {
                // As Compose writes it: list items indented under their key,
                // long lines kept whole, multi-line strings as `|` blocks.
                let mut options = serde_saphyr::SerializerOptions::default();
                options.compact_list_indent = false;
                options.folded_wrap_chars = usize::MAX;
                serde_saphyr::to_string_with_options(&node, options)
                    .map_err(|e| Error::Output(std::io::Error::other(e.to_string())))?
            }
        };
        lines.push(text.trim_end().to_owned());
    }
    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}").map_err(Error::Output)?;
    }
    Ok(ExitCode::SUCCESS)
}
