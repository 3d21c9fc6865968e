//! The fully resolved stack: what `dmp config` prints and what `dmp up`
//! builds containers from. Everything is interpolated, merged, defaulted and
//! validated; paths are absolute.
//!
//! Empty and unset fields are left out when serialised, so a field added in
//! a later dmp does not change the config hash of services that do not use
//! it (no surprise recreates after an upgrade).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Project {
    pub name: String,
    /// The directory relative paths are resolved against.
    #[serde(skip)]
    pub dir: PathBuf,
    /// The stack files, in merge order.
    #[serde(skip)]
    pub files: Vec<PathBuf>,
    /// Env files named explicitly (`COMPOSE_ENV_FILES`), not the default
    /// `.env`: Compose records them in a label.
    #[serde(skip)]
    pub env_files: Vec<PathBuf>,
    pub services: BTreeMap<String, Service>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, Network>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Volume>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, FileSource>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub configs: BTreeMap<String, FileSource>,
    #[serde(rename = "x-dmp", skip_serializing_if = "DmpSettings::is_empty")]
    pub dmp: DmpSettings,
    /// Top-level `x-…` keys as written (Compose prints them back).
    #[serde(skip)]
    pub extensions: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Service {
    #[serde(skip)]
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// `env_file` entries, then `environment` over them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    /// `environment` keys without a value that no variable sets: not set
    /// in the container (Compose prints them as `null`).
    #[serde(skip)]
    pub unset_environment: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Mount>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub depends_on: BTreeMap<String, Dependency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    /// Project networks this service joins (`default` unless given; none
    /// with `network_mode`).
    pub networks: Vec<String>,
    /// Per-network settings (aliases, fixed addresses), by network.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attachments: BTreeMap<String, Attachment>,
    /// `<project>-<service>-1` unless `container_name:` names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin_open: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, Ulimit>,
    /// `PATH[:OPTIONS]` tmpfs mounts (the `tmpfs:` key).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<i64>,
    /// `host:ip` entries for /etc/hosts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_opt: Vec<String>,
    /// `host`, `none`, `bridge`, `service:NAME`, `container:NAME`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uts: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userns_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_parent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isolation: Option<String>,
    /// `HOST[:CONTAINER[:PERMISSIONS]]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_cgroup_rules: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_opt: BTreeMap<String, String>,
    /// The top-level limit keys (`mem_limit`, `cpus`, …).
    #[serde(skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
    /// `deploy:` as given; `deploy.resources` wins over `resources` where
    /// both are set (they must then agree, as Compose checks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy: Option<Deploy>,
    /// Whose logs `docker compose up` would follow (no effect in dmp).
    #[serde(skip)]
    pub attach: Option<bool>,
    /// `develop` (for `docker compose watch`; no effect in dmp), as Compose
    /// prints it: watch paths absolute.
    #[serde(skip)]
    pub develop: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_kill_disable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Nanoseconds.
    #[serde(skip_serializing_if = "Option::is_none", with = "duration_text")]
    pub stop_grace_period: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// Ports open to other containers only: `PORT[/PROTOCOL]`, ranges kept.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<String>,
    /// `SERVICE[:ALIAS]` (project services) and `CONTAINER[:ALIAS]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub external_links: Vec<String>,
    /// `SERVICE`, `service:SERVICE[:ro]` or `container:NAME[:ro]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// `always`, `never`, `missing`, `build`, `if_not_present`, `daily`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<FileMount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<FileMount>,
    /// Containers of this service (`scale`, `deploy.replicas`); one unless
    /// given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
}

/// How a service joins one network.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Attachment {
    /// More DNS names on this network (the service name always is one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub link_local_ips: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    /// Higher first; the first network is the one the container is created on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Ulimit {
    pub soft: i64,
    pub hard: i64,
    /// Written as one number (`nofile: 1024`) rather than `{soft, hard}`.
    #[serde(skip)]
    pub single: bool,
}

/// Memory, CPU and process limits: `mem_limit`, `cpus`, … and
/// `deploy.resources` (which wins where both are given, as in Compose).
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Resources {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_swap: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_swappiness: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nano_cpus: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_period: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_rt_runtime: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_rt_period: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpuset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blkio_weight: Option<u16>,
}

impl Resources {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
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

/// `deploy:` on one Engine.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Deploy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `resources.limits`: memory (bytes), cpus (billionths), pids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_memory: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_nano_cpus: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_pids: Option<i64>,
    /// `resources.reservations`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserve_memory: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserve_nano_cpus: Option<i64>,
    /// `restart_policy`: condition, max attempts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_condition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_max_attempts: Option<i64>,
}

impl Deploy {
    /// The container restart policy `restart_policy` means, as Compose maps
    /// it: `any` → always, `on-failure[:N]`, `none` → no.
    pub fn restart(&self) -> Option<String> {
        let condition = self.restart_condition.as_deref()?;
        Some(match (condition, self.restart_max_attempts) {
            ("none", _) => "no".into(),
            ("on-failure", Some(n)) => format!("on-failure:{n}"),
            ("on-failure", None) => "on-failure".into(),
            _ => "always".into(),
        })
    }
}

impl Service {
    /// The limits the container gets: the top-level keys, with
    /// `deploy.resources` over them.
    pub fn effective_resources(&self) -> Resources {
        let mut resources = self.resources.clone();
        if let Some(deploy) = &self.deploy {
            resources.memory = deploy.limit_memory.or(resources.memory);
            resources.nano_cpus = deploy.limit_nano_cpus.or(resources.nano_cpus);
            resources.pids_limit = deploy.limit_pids.or(resources.pids_limit);
            resources.memory_reservation = deploy.reserve_memory.or(resources.memory_reservation);
        }
        resources
    }

    /// The restart policy: `restart`, else `deploy.restart_policy`.
    pub fn effective_restart(&self) -> Option<String> {
        self.restart.clone().or_else(|| self.deploy.as_ref().and_then(Deploy::restart))
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Logging {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

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

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Build {
    pub context: PathBuf,
    pub dockerfile: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cache_from: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_cache: bool,
    /// Pull newer base images before building.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pull: bool,
    /// The network `RUN` steps use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<i64>,
    /// `host:ip` entries for `RUN` steps' /etc/hosts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    /// More tags for the built image.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isolation: Option<String>,
}

/// One published (or only exposed) container port.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Port {
    pub target: u16,
    /// `None`: the Engine picks a free port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<u16>,
    /// 127.0.0.1 unless the file names another address.
    pub host_ip: String,
    pub protocol: String,
    /// The long form's `name` and `app_protocol` (no effect on one Engine).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
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

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_true(value: &bool) -> bool {
    *value
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

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    ServiceStarted,
    ServiceHealthy,
    ServiceCompletedSuccessfully,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Dependency {
    pub condition: Condition,
    /// Restart this service when dmp restarts or recreates the dependency.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub restart: bool,
    /// `false`: a missing or failed dependency is a warning, not an error.
    #[serde(skip_serializing_if = "is_true")]
    pub required: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Healthcheck {
    /// `["CMD", ...]`, `["CMD-SHELL", "..."]`, or `["NONE"]` when disabled.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub test: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", with = "duration_text")]
    pub interval: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", with = "duration_text")]
    pub timeout: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", with = "duration_text")]
    pub start_period: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", with = "duration_text")]
    pub start_interval: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disable: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Network {
    /// The Engine's name: `name:`, an external network's own key, else
    /// `<project>_<key>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub attachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_ipv6: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipam: Option<Ipam>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A network's address management.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Ipam {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<IpamPool>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct IpamPool {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub aux_addresses: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Volume {
    /// The Engine's name: `name:`, an external volume's own key, else
    /// `<project>_<key>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// A top-level secret or config: where its content comes from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FileSource {
    /// A host file (absolute path), bind-mounted read-only.
    File(PathBuf),
    /// A variable of dmp's environment or `.env` (its value is not shown).
    Environment {
        variable: String,
        #[serde(skip)]
        value: String,
    },
    /// Inline text (configs only).
    Content(String),
}

/// dmp's own settings, under `x-dmp:` (Compose ignores `x-` keys).
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct DmpSettings {
    /// The app service: where `sh`, `migrate` and `start` run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The service whose published port is the app's address (nginx).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    /// The path `up` requests to know the app answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrate: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<Vec<String>>,
    /// Asset rules: `up` runs each once; `dmp watch` reruns them on changes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<WatchRule>,
    /// `AUTO_START_SERVER=true` in the environment or `.env`: `up` ends by
    /// running `start`.
    #[serde(skip)]
    pub auto_start_server: bool,
}

/// A command that rebuilds assets, run in a long-lived service.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WatchRule {
    pub name: String,
    /// A shell command, run with `sh -c` in the service's working directory.
    pub command: String,
    /// Default: `buildstatic`.
    pub service: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    /// A long-lived worker that `dmp watch` keeps running and sends each
    /// build to (one line in, the output and an end line out), instead of
    /// one exec of `command` per change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serve: Option<String>,
    /// What the rule writes (paths relative to the project): `up` reruns
    /// the rule when one is missing, even if no source changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub output: Vec<String>,
    /// Nanoseconds a build may take in the rule's worker before the worker
    /// is taken for wedged, killed and restarted (`None`: the default).
    #[serde(skip_serializing_if = "Option::is_none", with = "duration_text")]
    pub timeout: Option<u64>,
}

impl DmpSettings {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Project {
    /// The Engine name of a project volume.
    pub fn volume_name(&self, key: &str) -> String {
        self.volumes.get(key).and_then(|v| v.name.clone()).unwrap_or_else(|| format!("{}_{key}", self.name))
    }

    /// The name of the service's container: `container_name:`, else
    /// `<project>-<service>-1` as Compose v2 names it.
    pub fn container_name(&self, service: &str) -> String {
        self.services
            .get(service)
            .and_then(|s| s.container_name.clone())
            .unwrap_or_else(|| format!("{}-{service}-1", self.name))
    }

    /// The Engine name of a project network.
    pub fn network_name(&self, key: &str) -> String {
        self.networks.get(key).and_then(|n| n.name.clone()).unwrap_or_else(|| format!("{}_{key}", self.name))
    }

    /// Services in an order where every service comes after its dependencies:
    /// the order of repeated passes over the services by name, each taking
    /// those whose dependencies are taken. Computed without the passes
    /// (each service's pass from its dependencies'), so it is linear in
    /// services plus dependencies, not cubic: a 5,000-service chain orders
    /// in milliseconds.
    pub fn start_order(&self) -> Vec<&Service> {
        // A service's pass: that of its last dependency, or one more when that
        // dependency sorts after it (the pass reaches it only later).
        // Unreachable (cycles, missing services: rejected when loading) sorts last.
        const NEVER: usize = usize::MAX;
        let mut pass: HashMap<&str, usize> = HashMap::new();
        let mut expanding: HashSet<&str> = HashSet::new();
        for root in self.services.keys() {
            let mut stack: Vec<(&str, bool)> = vec![(root, false)];
            while let Some((name, expanded)) = stack.pop() {
                if pass.contains_key(name) {
                    continue;
                }
                let Some(service) = self.services.get(name) else { continue };
                if expanded {
                    expanding.remove(name);
                    let own = service
                        .depends_on
                        .keys()
                        .map(|d| match pass.get(d.as_str()) {
                            Some(&p) if p != NEVER => p + usize::from(d.as_str() > name),
                            _ => NEVER,
                        })
                        .max()
                        .unwrap_or(1);
                    pass.insert(name, own.max(1));
                } else if expanding.insert(name) {
                    stack.push((name, true));
                    stack.extend(
                        service
                            .depends_on
                            .keys()
                            .map(String::as_str)
                            .filter(|d| !pass.contains_key(d) && !expanding.contains(d))
                            .map(|d| (d, false)),
                    );
                }
            }
        }
        let mut ordered: Vec<&Service> = self.services.values().collect();
        ordered.sort_by_key(|s| pass.get(s.name.as_str()).copied().unwrap_or(NEVER));
        ordered
    }
}

/// Durations as Compose writes them: `1m30s`, `500ms`.
pub mod duration_text {
    use std::fmt::Write as _;

    use serde::Serializer;

    #[allow(clippy::ref_option)] // serde's `with` passes &Option
    pub fn serialize<S: Serializer>(value: &Option<u64>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(nanos) => serializer.serialize_str(&format(*nanos)),
            None => serializer.serialize_none(),
        }
    }

    pub fn format(nanos: u64) -> String {
        const UNITS: [(u64, &str); 6] = [
            (3_600_000_000_000, "h"),
            (60_000_000_000, "m"),
            (1_000_000_000, "s"),
            (1_000_000, "ms"),
            (1_000, "us"),
            (1, "ns"),
        ];
        if nanos == 0 {
            return "0s".into();
        }
        let mut rest = nanos;
        let mut out = String::new();
        for (size, unit) in UNITS {
            if rest >= size {
                let _ = write!(out, "{}{unit}", rest / size);
                rest %= size;
            }
        }
        out
    }

    /// Parses `1h2m3s`, `1.5s`, `500ms`, `10us`/`10µs`, `7ns` into nanoseconds.
    pub fn parse(text: &str) -> Option<u64> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let mut total = 0f64;
        let mut rest = text;
        while !rest.is_empty() {
            let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
            let number: f64 = rest[..number_len].parse().ok()?;
            rest = &rest[number_len..];
            let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
            let scale = match &rest[..unit_len] {
                "h" => 3.6e12,
                "m" => 6e10,
                "s" => 1e9,
                "ms" => 1e6,
                "us" | "µs" => 1e3,
                "ns" => 1.0,
                _ => return None,
            };
            rest = &rest[unit_len..];
            total += number * scale;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked non-negative, durations fit u64
        Some(total.round() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::duration_text::{format, parse};

    #[test]
    fn durations_round_trip() {
        for (text, nanos) in [
            ("10s", 10_000_000_000),
            ("1m30s", 90_000_000_000),
            ("500ms", 500_000_000),
            ("1.5s", 1_500_000_000),
            ("1h", 3_600_000_000_000),
            ("250us", 250_000),
        ] {
            assert_eq!(parse(text), Some(nanos), "{text}");
        }
        assert_eq!(format(90_000_000_000), "1m30s");
        assert_eq!(format(1_500_000_000), "1s500ms");
        for bad in ["", "10", "10 s", "1x", "s"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    const DEPENDENCY: super::Dependency =
        super::Dependency { condition: super::Condition::ServiceStarted, restart: false, required: true };

    fn empty_project() -> super::Project {
        super::Project {
            name: "p".into(),
            dir: "/nonexistent".into(),
            files: Vec::new(),
            env_files: Vec::new(),
            services: std::collections::BTreeMap::new(),
            networks: std::collections::BTreeMap::new(),
            volumes: std::collections::BTreeMap::new(),
            secrets: std::collections::BTreeMap::new(),
            configs: std::collections::BTreeMap::new(),
            dmp: super::DmpSettings::default(),
            extensions: std::collections::BTreeMap::new(),
        }
    }

    /// The order of repeated passes by name, as `start_order` was once
    /// computed: the reference for the linear version.
    fn by_passes(project: &super::Project) -> Vec<String> {
        let mut ordered: Vec<&str> = Vec::new();
        let mut pending: Vec<&super::Service> = project.services.values().collect();
        while !pending.is_empty() {
            let before = pending.len();
            pending.retain(|service| {
                let ready = service.depends_on.keys().all(|d| ordered.contains(&d.as_str()));
                if ready {
                    ordered.push(&service.name);
                }
                !ready
            });
            if pending.len() == before {
                ordered.extend(pending.drain(..).map(|s| s.name.as_str()));
            }
        }
        ordered.into_iter().map(str::to_owned).collect()
    }

    fn project(edges: &[(usize, usize)], n: usize) -> super::Project {
        let mut project = empty_project();
        for i in 0..n {
            let name = format!("s{i:02}");
            project.services.insert(name.clone(), super::Service { name, ..super::Service::default() });
        }
        for (from, to) in edges {
            let dependency = format!("s{to:02}");
            project
                .services
                .get_mut(&format!("s{from:02}"))
                .expect("a service")
                .depends_on
                .insert(dependency, DEPENDENCY);
        }
        project
    }

    #[test]
    fn start_order_is_the_order_of_passes_by_name() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |below: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            usize::try_from(seed % below as u64).expect("small")
        };
        for _ in 0..300 {
            let n = 1 + next(30);
            // Edges from a higher to a lower number only: no cycles.
            let edges: Vec<(usize, usize)> = (0..next(60)).map(|_| (next(n), next(n))).filter(|(a, b)| a > b).collect();
            let project = project(&edges, n);
            let linear: Vec<String> = project.start_order().into_iter().map(|s| s.name.clone()).collect();
            assert_eq!(linear, by_passes(&project), "edges {edges:?}");
        }
    }

    #[test]
    fn a_long_chain_orders_quickly() {
        let mut project = empty_project();
        let n = 5_000;
        for i in 0..n {
            // Each depends on the next name: the worst case for passes.
            let mut service = super::Service { name: format!("s{i:05}"), ..super::Service::default() };
            if i + 1 < n {
                service.depends_on.insert(format!("s{:05}", i + 1), DEPENDENCY);
            }
            project.services.insert(service.name.clone(), service);
        }
        let started = std::time::Instant::now();
        let order = project.start_order();
        assert!(started.elapsed().as_millis() < 1000, "{:?}", started.elapsed());
        assert_eq!(order.first().map(|s| s.name.as_str()), Some("s04999"));
        assert_eq!(order.last().map(|s| s.name.as_str()), Some("s00000"));
    }
}
