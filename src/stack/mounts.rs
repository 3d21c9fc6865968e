//! What a container gets from the host and the project besides its image:
//! its mounts (binds, volumes, tmpfs; secrets and configs from files), the
//! secrets and configs dmp writes into it, and the bind sources `up`
//! creates first.

use bollard::models::{
    Mount as EngineMount, MountBindOptions, MountBindOptionsPropagationEnum, MountTmpfsOptions, MountType,
    MountVolumeOptions,
};

use crate::compose::Project;
use crate::compose::model::{FileSource, MountKind, Service};

/// Mounts the Engine's Mount API can express, and the rest as `Binds`
/// strings: a bind with `SELinux` relabelling (`:z`/`:Z`) exists only there.
/// Secrets and configs from files are read-only binds, where Compose puts
/// them.
pub fn of(project: &Project, service: &Service) -> (Vec<EngineMount>, Vec<String>) {
    let mut mounts = Vec::new();
    let mut binds = Vec::new();
    for m in &service.volumes {
        if let (MountKind::Bind, Some(selinux)) = (m.kind, &m.selinux) {
            let mut options = vec![if m.read_only { "ro" } else { "rw" }.to_owned(), selinux.clone()];
            options.extend(m.propagation.clone());
            binds.push(format!("{}:{}:{}", m.source.as_deref().unwrap_or_default(), m.target, options.join(",")));
            continue;
        }
        mounts.push(EngineMount {
            target: Some(m.target.clone()),
            source: match m.kind {
                MountKind::Bind => m.source.clone(),
                MountKind::Volume => m.source.as_ref().map(|name| project.volume_name(name)),
                MountKind::Tmpfs => None,
            },
            typ: Some(match m.kind {
                MountKind::Bind => MountType::BIND,
                MountKind::Volume => MountType::VOLUME,
                MountKind::Tmpfs => MountType::TMPFS,
            }),
            read_only: Some(m.read_only),
            bind_options: m.propagation.as_deref().map(|p| MountBindOptions {
                propagation: Some(match p {
                    "private" => MountBindOptionsPropagationEnum::PRIVATE,
                    "shared" => MountBindOptionsPropagationEnum::SHARED,
                    "rshared" => MountBindOptionsPropagationEnum::RSHARED,
                    "slave" => MountBindOptionsPropagationEnum::SLAVE,
                    "rslave" => MountBindOptionsPropagationEnum::RSLAVE,
                    _ => MountBindOptionsPropagationEnum::RPRIVATE,
                }),
                ..Default::default()
            }),
            volume_options: (m.kind == MountKind::Volume && (m.nocopy || m.subpath.is_some())).then(|| {
                MountVolumeOptions { no_copy: Some(m.nocopy), subpath: m.subpath.clone(), ..Default::default() }
            }),
            tmpfs_options: (m.kind == MountKind::Tmpfs).then(|| MountTmpfsOptions {
                size_bytes: m.tmpfs_size,
                mode: m.tmpfs_mode.map(i64::from),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    let files = service
        .secrets
        .iter()
        .map(|s| (s.container_path("/run/secrets"), project.secrets.get(&s.source)))
        .chain(service.configs.iter().map(|c| (c.container_path(""), project.configs.get(&c.source))));
    for (target, defined) in files {
        if let Some(FileSource::File(path)) = defined {
            mounts.push(EngineMount {
                target: Some(target),
                source: Some(path.to_string_lossy().into_owned()),
                typ: Some(MountType::BIND),
                read_only: Some(true),
                ..Default::default()
            });
        }
    }
    (mounts, binds)
}

/// Secrets and configs whose content dmp writes into the container before
/// it starts (from the environment or inline text), as Compose v2 does: a
/// tar to unpack at `/`, or `None` when there are none.
pub fn injected_files(project: &Project, service: &Service) -> Option<Vec<u8>> {
    let mut archive = tar::Builder::new(Vec::new());
    let mut any = false;
    let entries = service
        .secrets
        .iter()
        .map(|s| (s, s.container_path("/run/secrets"), project.secrets.get(&s.source)))
        .chain(service.configs.iter().map(|c| (c, c.container_path(""), project.configs.get(&c.source))));
    for (file, target, defined) in entries {
        let content = match defined {
            Some(FileSource::Environment { value, .. }) => value.clone(),
            Some(FileSource::Content(text)) => text.clone(),
            _ => continue,
        };
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(file.mode.unwrap_or(0o444));
        header.set_uid(file.uid.as_deref().and_then(|u| u.parse().ok()).unwrap_or(0));
        header.set_gid(file.gid.as_deref().and_then(|g| g.parse().ok()).unwrap_or(0));
        header.set_cksum();
        let path = target.trim_start_matches('/');
        if archive.append_data(&mut header, path, content.as_bytes()).is_ok() {
            any = true;
        }
    }
    let bytes = archive.into_inner().ok()?;
    any.then_some(bytes)
}

/// Creates the missing sources of the service's bind mounts that may be
/// created (all but long-form ones with `bind.create_host_path: false`),
/// as directories owned by the host user — not root, as the Engine (and so
/// Compose) would make them.
pub fn create_bind_sources(service: &Service, host: Option<(u32, u32)>) -> std::io::Result<()> {
    for mount in &service.volumes {
        let (MountKind::Bind, Some(source), true) = (mount.kind, &mount.source, mount.create_host_path) else {
            continue;
        };
        let path = std::path::Path::new(source);
        if path.exists() {
            continue;
        }
        // The first directory that is missing: everything below it is new.
        let first_new = path.ancestors().take_while(|p| !p.exists()).last().map(std::path::Path::to_path_buf);
        std::fs::create_dir_all(path)?;
        if let (Some((uid, gid)), Some(first_new)) = (host, first_new) {
            for dir in path.ancestors().take_while(|p| p.starts_with(&first_new)) {
                std::os::unix::fs::chown(dir, Some(uid), Some(gid))?;
            }
        }
    }
    Ok(())
}
