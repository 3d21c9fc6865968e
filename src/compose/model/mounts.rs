//! What a container mounts: volumes, binds and tmpfs (`volumes:`,
//! `tmpfs:`), and secrets and configs.

use serde::Serialize;

use super::is_true;

/// A secret or config in a container.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileMount {
    /// The top-level secret or config.
    pub source: String,
    /// The path in the container as written (`container_path` resolves it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

impl FileMount {
    /// Where the file is in the container: `target` when absolute, else
    /// `dir/target`, else `dir/source` (`dir` is `/run/secrets` for secrets,
    /// empty for configs).
    pub fn container_path(&self, dir: &str) -> String {
        match &self.target {
            Some(target) if target.starts_with('/') => target.clone(),
            Some(target) => format!("{dir}/{target}"),
            None => format!("{dir}/{}", self.source),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    Bind,
    Volume,
    Tmpfs,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Mount {
    #[serde(rename = "type")]
    pub kind: MountKind,
    /// An absolute host path (bind), a project volume name (volume), or
    /// `None` for an anonymous volume or a tmpfs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub target: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// A missing bind source is created (as the host user) unless the long
    /// form says `bind.create_host_path: false`.
    #[serde(skip_serializing_if = "is_true")]
    pub create_host_path: bool,
    /// `z` (shared) or `Z` (private) `SELinux` relabelling of a bind source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selinux: Option<String>,
    /// Bind propagation: `rprivate`, `shared`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
    /// A volume: do not copy the image's files into a new volume.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub nocopy: bool,
    /// A volume: mount this path inside it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subpath: Option<String>,
    /// A tmpfs: its size in bytes and mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs_size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs_mode: Option<u32>,
}

impl Mount {
    /// A mount with the defaults of its kind.
    pub fn new(kind: MountKind, source: Option<String>, target: String) -> Self {
        Self {
            kind,
            source,
            target,
            read_only: false,
            create_host_path: true,
            selinux: None,
            propagation: None,
            nocopy: false,
            subpath: None,
            tmpfs_size: None,
            tmpfs_mode: None,
        }
    }
}
