//! `volumes:` of a service: bind mounts and volumes, short and long forms.

use std::path::{Path, PathBuf};

use super::{Loader, Result};
use crate::compose::model::{Mount, MountKind};
use crate::compose::validate::check_name;
use crate::compose::yaml::{Key, Node, Value};

impl Loader<'_> {
    pub(super) fn mounts(&self, node: &Node) -> Result<Vec<Mount>> {
        let Value::Seq(items) = &node.value else {
            return Err(self.expected(node, "a list of volumes"));
        };
        let mut mounts: Vec<Mount> = Vec::new();
        for item in items {
            let mount = match &item.value {
                Value::Str(text) => self.short_mount(item, text)?,
                Value::Map(entries) => self.long_mount(item, entries)?,
                _ => return Err(self.expected(item, "a volume (SOURCE:TARGET[:ro])")),
            };
            if mount.kind == MountKind::Bind && !mount.create_host_path {
                self.check_bind_source(item, mount.source.as_deref().unwrap_or_default());
            }
            // A later entry for the same target wins, as in Compose.
            mounts.retain(|m| m.target != mount.target);
            mounts.push(mount);
        }
        Ok(mounts)
    }

    /// `[SOURCE:]TARGET[:OPTIONS]`, read as compose-go reads it: a source
    /// of one letter is a Windows drive (`c:/x`), options are a
    /// comma-separated list of `ro`, `rw`, `z`, `Z`, `nocopy` and the
    /// propagation modes; any other option is ignored, as Compose ignores it.
    pub(super) fn short_mount(&self, node: &Node, text: &str) -> Result<Mount> {
        let bad = |why: &str| {
            self.error(
                node.pos,
                &format!("`{text}` is not a volume: {why}"),
                "here",
                Some("write SOURCE:TARGET or SOURCE:TARGET:ro"),
            )
        };
        if text.is_empty() {
            return Err(bad("it is empty"));
        }
        let mut parts: Vec<String> = Vec::new();
        let mut buffer = String::new();
        for c in text.chars() {
            let drive = c == ':' && buffer.chars().count() == 1 && buffer.chars().all(char::is_alphabetic);
            if c == ':' && !drive {
                parts.push(std::mem::take(&mut buffer));
            } else {
                buffer.push(c);
            }
        }
        parts.push(buffer);
        if text.chars().count() <= 2 {
            parts = vec![text.to_owned()];
        }
        if parts.iter().any(String::is_empty) {
            return Err(bad("an empty part between colons"));
        }
        let (source, target, options) = match parts.as_slice() {
            [target] => (None, target.as_str(), ""),
            [source, target] => (Some(source.as_str()), target.as_str(), ""),
            [source, target, options] => (Some(source.as_str()), target.as_str(), options.as_str()),
            _ => return Err(bad("too many colons")),
        };
        if !target.starts_with('/') {
            return Err(self.error(
                node.pos,
                &format!("the container path `{target}` is not absolute"),
                "here",
                Some("container paths start with /, as in ./src:/app"),
            ));
        }
        let mut mount = match source {
            None => Mount::new(MountKind::Volume, None, target.to_owned()),
            Some(source) if is_path(source) => {
                Mount::new(MountKind::Bind, Some(self.host_path(source)), target.to_owned())
            }
            Some(name) => {
                check_name(name)
                    .map_err(|why| self.error(node.pos, &format!("volume name `{name}`: {why}"), "here", None))?;
                Mount::new(MountKind::Volume, Some(name.to_owned()), target.to_owned())
            }
        };
        for option in options.split(',') {
            match option {
                "ro" => mount.read_only = true,
                "rw" => mount.read_only = false,
                "nocopy" => mount.nocopy = true,
                "z" | "Z" => mount.selinux = Some(option.to_owned()),
                "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => {
                    mount.propagation = Some(option.to_owned());
                }
                _ => {}
            }
        }
        Ok(mount)
    }

    pub(super) fn long_mount(&self, node: &Node, entries: &[(Key, Node)]) -> Result<Mount> {
        let mut kind = None;
        let mut source = None;
        let mut target = None;
        let mut options: Vec<(&Key, &Node)> = Vec::new();
        let mut read_only = false;
        for (key, value) in entries {
            match key.name.as_str() {
                "type" => {
                    kind = Some(match self.string(value, "bind, volume or tmpfs")?.as_str() {
                        "bind" => MountKind::Bind,
                        "volume" => MountKind::Volume,
                        "tmpfs" => MountKind::Tmpfs,
                        other => {
                            return Err(self.error(
                                value.pos,
                                &format!("mount type `{other}` is not supported by dmp"),
                                "here",
                                Some("use bind, volume or tmpfs (npipe and cluster need Windows or Swarm)"),
                            ));
                        }
                    });
                }
                "source" => source = Some(self.text(value, "a path or volume name")?),
                "target" => target = Some(self.text(value, "a container path")?),
                "read_only" => read_only = self.bool(value, "true or false")?,
                "bind" | "volume" | "tmpfs" => options.push((key, value)),
                // Docker Desktop for Mac only; Compose ignores it elsewhere.
                "consistency" => {}
                other if other.starts_with("x-") => {}
                other => {
                    return Err(self.unknown(
                        key,
                        "volume",
                        other,
                        &["type", "source", "target", "read_only", "bind", "volume", "tmpfs", "consistency"],
                    ));
                }
            }
        }
        let kind = kind.ok_or_else(|| {
            self.error(node.pos, "a volume needs `type: bind`, `type: volume` or `type: tmpfs`", "this volume", None)
        })?;
        let target = target.ok_or_else(|| self.error(node.pos, "a volume needs `target`", "this volume", None))?;
        if !target.starts_with('/') {
            let pos = entries.iter().find(|(k, _)| k.name == "target").map_or(node.pos, |(_, v)| v.pos);
            return Err(self.error(
                pos,
                &format!("the container path `{}` is not absolute", crate::compose::clip(&target)),
                "here",
                Some("container paths start with /, as in `target: /app`"),
            ));
        }
        let source = match (kind, source) {
            (MountKind::Bind, Some(path)) => Some(self.host_path(&path)),
            (MountKind::Bind, None) => {
                return Err(self.error(node.pos, "a bind mount needs `source`", "this volume", None));
            }
            (MountKind::Volume, name) => name.filter(|n| !n.is_empty()),
            (MountKind::Tmpfs, _) => None,
        };
        let mut mount = Mount::new(kind, source, target);
        mount.read_only = read_only;
        // The long form creates a missing bind source only when asked to.
        mount.create_host_path = false;
        for (key, value) in options {
            for (k, v) in self.entries(value, &format!("{} settings", key.name))? {
                match (key.name.as_str(), k.name.as_str()) {
                    ("bind", "create_host_path") => mount.create_host_path = self.bool(v, "true or false")?,
                    ("bind", "selinux") => mount.selinux = Some(self.text(v, "z or Z")?),
                    ("bind", "propagation") => mount.propagation = Some(self.text(v, "a propagation mode")?),
                    ("volume", "nocopy") => mount.nocopy = self.bool(v, "true or false")?,
                    ("volume", "subpath") => mount.subpath = Some(self.text(v, "a path inside the volume")?),
                    ("tmpfs", "size") => mount.tmpfs_size = Some(self.bytes(v)?),
                    ("tmpfs", "mode") => {
                        let mode = match &v.value {
                            Value::Int(n) => u32::try_from(*n).ok(),
                            _ => v.scalar_text().and_then(|t| u32::from_str_radix(t.trim_start_matches("0o"), 8).ok()),
                        };
                        mount.tmpfs_mode = Some(mode.ok_or_else(|| self.expected(v, "a file mode like 0o1777"))?);
                    }
                    (_, other) if other.starts_with("x-") => {}
                    (section, other) => {
                        return Err(self.unknown(
                            k,
                            &format!("volume {section}"),
                            other,
                            match section {
                                "bind" => &["create_host_path", "selinux", "propagation"],
                                "volume" => &["nocopy", "subpath"],
                                _ => &["size", "mode"],
                            },
                        ));
                    }
                }
            }
        }
        Ok(mount)
    }

    /// A bind source that must exist (`create_host_path: false`): checked
    /// when the stack runs, not when it is only printed (Compose's `config`
    /// accepts it).
    fn check_bind_source(&self, node: &Node, path: &str) {
        if !Path::new(path).exists() {
            self.defer(self.error(
                node.pos,
                &format!("the bind mount source {path} does not exist"),
                "this mount",
                Some("create it, fix the path (relative paths start from the stack file's directory), or set `bind.create_host_path: true`"),
            ));
        }
    }

    /// A host path, absolute and cleaned; `~` is the home directory.
    pub(super) fn host_path(&self, path: &str) -> String {
        let path = match path.strip_prefix('~') {
            Some(rest) => PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(rest.trim_start_matches('/')),
            None => self.dir.join(path),
        };
        normalise(&path).to_string_lossy().into_owned()
    }
}

/// Whether a volume source is a host path rather than a volume name.
fn is_path(source: &str) -> bool {
    source.starts_with('/') || source.starts_with('.') || source.starts_with('~')
}

/// Removes `.` and `..` from an absolute path without touching the disk.
pub(super) fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
