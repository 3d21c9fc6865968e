//! `dmp cp`: files between a service's container and the host, as tar
//! archives through the Engine (`docker compose cp`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bollard::query_parameters::{
    ContainerArchiveInfoOptionsBuilder, DownloadFromContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt as _;

use super::error::CommandError;
use super::select::{self, CpPath, Found, Placement};
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
    let refused = |reason: String| -> Error {
        CommandError::Cp { from: args.source.clone(), destination: args.destination.clone(), reason }.into()
    };
    let (service, inside) = match (&from, &to) {
        (CpPath::Container { service, path }, CpPath::Host(_))
        | (CpPath::Host(_), CpPath::Container { service, path }) => (*service, container_path(path)),
        _ => {
            return Err(
                CommandError::CpPaths { from: args.source.clone(), destination: args.destination.clone() }.into()
            );
        }
    };
    let container = ctx.container(service, args.index).await?;
    let docker = ctx.docker().await?;
    let name = &container.name;
    let not_in_container = |path: &str| format!("Could not find the file {path} in container {name}");
    if let CpPath::Host(dest) = to {
        let source = match stat(docker, name, &inside).await? {
            Some(Found::Missing) => return Err(refused(not_in_container(&inside))),
            Some(found) => found,
            None => return Err(refused(format!("cannot read {inside} in container {name}"))),
        };
        let dest_path = ctx.dir.join(dest);
        let found = match std::fs::metadata(&dest_path) {
            Ok(meta) if meta.is_dir() => Found::Dir,
            Ok(_) => Found::File,
            // `FILE/`: docker cp's words.
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
                return Err(refused(format!("stat {}: not a directory", dest_path.display())));
            }
            Err(_) => Found::Missing,
        };
        if found == Found::Missing && !parent(&dest_path).is_dir() {
            let parent = parent(&dest_path);
            return Err(refused(format!("invalid output path: directory {:?} does not exist", parent.display())));
        }
        let placement = select::placement(source == Found::Dir, found, ends_in_slash(dest))
            .map_err(|r| refused(format!("{}: {}", r.words(), dest_path.display())))?;
        let options = DownloadFromContainerOptionsBuilder::default().path(&inside).build();
        let mut archive = Vec::new();
        let mut stream = docker.download_from_container(name, Some(options));
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| EngineError::request(format!("copy {inside} from {name}"), e))?;
            archive.extend_from_slice(&chunk);
        }
        unpack(&archive, &dest_path, placement)?;
    } else if let CpPath::Host(src) = from {
        let src_path = ctx.dir.join(src);
        let source = match std::fs::symlink_metadata(&src_path) {
            Ok(meta) if meta.is_dir() => Found::Dir,
            Ok(_) => Found::File,
            Err(_) => return Err(refused(format!("lstat {}: no such file or directory", src_path.display()))),
        };
        // What the Engine cannot stat (`FILE/`) is missing, as for docker cp.
        let found = stat(docker, name, &inside).await?.unwrap_or(Found::Missing);
        if found == Found::Missing {
            let parent = container_parent(&inside);
            if stat(docker, name, &parent).await? != Some(Found::Dir) {
                return Err(refused(not_in_container(&parent)));
            }
        }
        let placement = select::placement(source == Found::Dir, found, ends_in_slash(&inside))
            .map_err(|r| refused(format!("{}: {name}:{inside}", r.words())))?;
        let (dir, archive) = pack(&src_path, &inside, placement)?;
        let options = UploadToContainerOptionsBuilder::default().path(&dir).build();
        docker
            .upload_to_container(name, Some(options), bollard::body_full(archive.into()))
            .named(format_args!("copy {} into {name}", src_path.display()))
            .await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A container path as `docker cp` reads it: relative to the root.
fn container_path(path: &str) -> String {
    if path.starts_with('/') { path.to_owned() } else { format!("/{path}") }
}

fn ends_in_slash(path: &str) -> bool {
    path.ends_with('/') || path.ends_with("/.")
}

/// The directory holding a container path (`/` for `/x`).
fn container_parent(path: &str) -> String {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) | None => "/".into(),
        Some((dir, _)) => dir.to_owned(),
    }
}

/// The last name of a container path (`x` for `/a/x/`).
fn container_base(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit_once('/').map_or(trimmed, |(_, base)| base)
}

fn parent(path: &Path) -> PathBuf {
    path.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// What `path` names in the container (the Engine's HEAD of its archive);
/// `None` when the Engine cannot say (`FILE/` is a 500).
async fn stat(docker: &bollard::Docker, name: &str, path: &str) -> Result<Option<Found>> {
    /// Go's `os.ModeDir`.
    const MODE_DIR: u32 = 1 << 31;
    let options = ContainerArchiveInfoOptionsBuilder::default().path(path).build();
    match docker.get_container_archive_info(name, Some(options)).timed(format_args!("stat {path} in {name}")).await {
        Ok(stat) if stat.file_mode & MODE_DIR != 0 => Ok(Some(Found::Dir)),
        Ok(_) => Ok(Some(Found::File)),
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(Some(Found::Missing)),
        Err(bollard::errors::Error::DockerResponseServerError { .. }) => Ok(None),
        Err(e) => Err(EngineError::request(format!("stat {path} in {name}"), e).into()),
    }
}

/// Unpacks the Engine's archive of one file or directory to `dest`: inside
/// it, or as it (the archive's top entry renamed), as `docker cp` does.
fn unpack(archive: &[u8], dest: &Path, placement: Placement) -> Result<()> {
    let mut entries = tar::Archive::new(archive);
    for entry in entries.entries().map_err(Error::io("read the archive of", dest))? {
        let mut entry = entry.map_err(Error::io("read the archive of", dest))?;
        let path: PathBuf = entry.path().map_err(Error::io("read the archive of", dest))?.into_owned();
        let target = match placement {
            Placement::Into => dest.join(&path),
            Placement::As => {
                let mut parts = path.components();
                parts.next();
                let rest = parts.as_path();
                if rest.as_os_str().is_empty() { dest.to_path_buf() } else { dest.join(rest) }
            }
        };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(Error::io("create", parent))?;
        }
        entry.unpack(&target).map_err(Error::io("write", &target))?;
    }
    Ok(())
}

/// A tar of `src` for the container: `(directory to unpack in, archive)`.
/// Inside `inside` under `src`'s own name (its contents for `SRC/.`), or
/// in `inside`'s parent under `inside`'s last name.
fn pack(src: &Path, inside: &str, placement: Placement) -> Result<(String, Vec<u8>)> {
    let contents = src.to_string_lossy().ends_with("/.");
    let (dir, name) = match placement {
        Placement::Into if contents => (inside.to_owned(), ".".to_owned()),
        Placement::Into => {
            (inside.to_owned(), src.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
        }
        Placement::As => (container_parent(inside), container_base(inside).to_owned()),
    };
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let added =
        if src.is_dir() { builder.append_dir_all(&name, src) } else { builder.append_path_with_name(src, &name) };
    added.map_err(Error::io("read", src))?;
    let archive = builder.into_inner().map_err(Error::io("pack", src))?;
    Ok((dir, archive))
}

#[cfg(test)]
mod tests {
    #[test]
    fn container_paths_split_as_docker_cp_splits_them() {
        assert_eq!(super::container_path("tmp/x"), "/tmp/x");
        assert_eq!(super::container_parent("/tmp/x"), "/tmp");
        assert_eq!(super::container_parent("/tmp/x/"), "/tmp");
        assert_eq!(super::container_parent("/x"), "/");
        assert_eq!(super::container_base("/tmp/x/"), "x");
        assert!(super::ends_in_slash("/tmp/") && super::ends_in_slash("dir/.") && !super::ends_in_slash("/tmp"));
    }
}
