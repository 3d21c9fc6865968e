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
            if mount.kind == MountKind::Bind {
                self.check_bind_source(item, mount.source.as_deref().unwrap_or_default())?;
            }
            // A later entry for the same target wins, as in Compose.
            mounts.retain(|m| m.target != mount.target);
            mounts.push(mount);
        }
        Ok(mounts)
    }

    pub(super) fn short_mount(&self, node: &Node, text: &str) -> Result<Mount> {
        let parts: Vec<&str> = text.split(':').collect();
        let (source, target, mode) = match parts.as_slice() {
            [target] => (None, *target, None),
            [source, target] => (Some(*source), *target, None),
            [source, target, mode] => (Some(*source), *target, Some(*mode)),
            _ => {
                return Err(self.error(
                    node.pos,
                    &format!("`{text}` is not a volume"),
                    "here",
                    Some("write SOURCE:TARGET or SOURCE:TARGET:ro"),
                ));
            }
        };
        let read_only = match mode {
            None | Some("rw") => false,
            Some("ro") => true,
            Some(other) => {
                return Err(self.error(
                    node.pos,
                    &format!("`{other}` is not a volume mode"),
                    "here",
                    Some("use ro or rw"),
                ));
            }
        };
        if !target.starts_with('/') {
            return Err(self.error(
                node.pos,
                &format!("the container path `{target}` is not absolute"),
                "here",
                Some("container paths start with /, as in ./src:/app"),
            ));
        }
        Ok(match source {
            None => Mount { kind: MountKind::Volume, source: None, target: target.to_owned(), read_only },
            Some(source) if is_path(source) => Mount {
                kind: MountKind::Bind,
                source: Some(self.host_path(source)),
                target: target.to_owned(),
                read_only,
            },
            Some(name) => {
                check_name(name)
                    .map_err(|why| self.error(node.pos, &format!("volume name `{name}`: {why}"), "here", None))?;
                Mount { kind: MountKind::Volume, source: Some(name.to_owned()), target: target.to_owned(), read_only }
            }
        })
    }

    pub(super) fn long_mount(&self, node: &Node, entries: &[(Key, Node)]) -> Result<Mount> {
        let mut kind = None;
        let mut source = None;
        let mut target = None;
        let mut read_only = false;
        for (key, value) in entries {
            match key.name.as_str() {
                "type" => {
                    kind = Some(match self.string(value, "bind or volume")?.as_str() {
                        "bind" => MountKind::Bind,
                        "volume" => MountKind::Volume,
                        other => {
                            return Err(self.error(
                                value.pos,
                                &format!("mount type `{other}` is not supported by dmp"),
                                "here",
                                Some("use bind or volume"),
                            ));
                        }
                    });
                }
                "source" => source = Some(self.string(value, "a path or volume name")?),
                "target" => target = Some(self.string(value, "a container path")?),
                "read_only" => read_only = self.bool(value, "true or false")?,
                "bind" | "volume" | "consistency" => {}
                other => return Err(self.error(key.pos, &format!("unknown volume setting `{other}`"), "here", None)),
            }
        }
        let kind = kind.ok_or_else(|| {
            self.error(node.pos, "a volume needs `type: bind` or `type: volume`", "this volume", None)
        })?;
        let target = target.ok_or_else(|| self.error(node.pos, "a volume needs `target`", "this volume", None))?;
        let source = match (kind, source) {
            (MountKind::Bind, Some(path)) => Some(self.host_path(&path)),
            (MountKind::Bind, None) => {
                return Err(self.error(node.pos, "a bind mount needs `source`", "this volume", None));
            }
            (MountKind::Volume, name) => name,
        };
        Ok(Mount { kind, source, target, read_only })
    }

    pub(super) fn check_bind_source(&self, node: &Node, path: &str) -> Result<()> {
        if Path::new(path).exists() {
            return Ok(());
        }
        Err(self.error(
            node.pos,
            &format!("the bind mount source {path} does not exist"),
            "this mount",
            Some("create it, or fix the path (relative paths start from the stack file's directory)"),
        ))
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
