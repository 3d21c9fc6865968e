//! `dmp cp`: files between a service's container and the host, as tar
//! archives through the Engine (`docker compose cp`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bollard::query_parameters::{DownloadFromContainerOptionsBuilder, UploadToContainerOptionsBuilder};
use futures_util::StreamExt as _;

use super::error::CommandError;
use super::select::{self, CpPath};
use super::{Context, Interrupt};
use crate::cli::CpArgs;
use crate::engine::{EngineError, Request as _};
use crate::error::{Error, Result};

/// Writes files: an interrupt may leave some copied.
pub const INTERRUPT: Interrupt = Interrupt::READS;

pub async fn run(args: &CpArgs, ctx: &Context) -> Result<ExitCode> {
    let project = ctx.project()?;
    let services: Vec<&str> = project.services.keys().map(String::as_str).collect();
    let (from, to) = (select::cp_path(&args.source, &services), select::cp_path(&args.destination, &services));
    let wrong = || CommandError::CpPaths { from: args.source.clone(), destination: args.destination.clone() };
    let (service, inside) = match (&from, &to) {
        (CpPath::Container { service, path }, CpPath::Host(_))
        | (CpPath::Host(_), CpPath::Container { service, path }) => (*service, *path),
        _ => return Err(wrong().into()),
    };
    let containers = ctx.containers(&[service.to_owned()]).await?;
    let container = select::by_index(&containers, service, args.index)
        .ok_or_else(|| CommandError::NoContainer { service: service.to_owned(), index: args.index })?;
    let docker = ctx.docker().await?;
    let name = &container.name;
    match (from, to) {
        (CpPath::Container { .. }, CpPath::Host(dest)) => {
            let options = DownloadFromContainerOptionsBuilder::default().path(inside).build();
            let mut archive = Vec::new();
            let mut stream = docker.download_from_container(name, Some(options));
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| EngineError::request(format!("copy {inside} from {name}"), e))?;
                archive.extend_from_slice(&chunk);
            }
            unpack(&archive, &ctx.dir.join(dest))?;
        }
        (CpPath::Host(src), CpPath::Container { .. }) => {
            let src = ctx.dir.join(src);
            let (dir, archive) = pack(&src, inside)?;
            let options = UploadToContainerOptionsBuilder::default().path(&dir).build();
            docker
                .upload_to_container(name, Some(options), bollard::body_full(archive.into()))
                .named(format_args!("copy {} into {name}", src.display()))
                .await?;
        }
        _ => return Err(wrong().into()),
    }
    Ok(ExitCode::SUCCESS)
}

/// Unpacks the Engine's archive of one file or directory to `dest`: into it
/// when it is a directory, else as it (renamed), as `docker cp` does.
fn unpack(archive: &[u8], dest: &Path) -> Result<()> {
    let into_dir = dest.is_dir();
    let mut entries = tar::Archive::new(archive);
    for entry in entries.entries().map_err(Error::io("read the archive of", dest))? {
        let mut entry = entry.map_err(Error::io("read the archive of", dest))?;
        let path: PathBuf = entry.path().map_err(Error::io("read the archive of", dest))?.into_owned();
        let target = if into_dir {
            dest.join(&path)
        } else {
            // The archive's top entry takes the destination's name.
            let mut parts = path.components();
            parts.next();
            let rest = parts.as_path();
            if rest.as_os_str().is_empty() { dest.to_path_buf() } else { dest.join(rest) }
        };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(Error::io("create", parent))?;
        }
        entry.unpack(&target).map_err(Error::io("write", &target))?;
    }
    Ok(())
}

/// A tar of `src` for the container: `(directory to unpack in, archive)`.
/// `inside` ending in `/` (or naming a directory there) receives `src`
/// under its own name; otherwise `src` is renamed to `inside`'s last part.
fn pack(src: &Path, inside: &str) -> Result<(String, Vec<u8>)> {
    let (dir, name) = if inside.ends_with('/') {
        (inside.to_owned(), src.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
    } else {
        match inside.rsplit_once('/') {
            Some((dir, name)) => (if dir.is_empty() { "/".into() } else { dir.to_owned() }, name.to_owned()),
            None => (".".into(), inside.to_owned()),
        }
    };
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let added =
        if src.is_dir() { builder.append_dir_all(&name, src) } else { builder.append_path_with_name(src, &name) };
    added.map_err(Error::io("read", src))?;
    let archive = builder.into_inner().map_err(Error::io("pack", src))?;
    Ok((dir, archive))
}
