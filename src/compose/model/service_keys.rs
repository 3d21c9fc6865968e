//! A service's structured keys: networks joined, limits, `deploy:`,
//! logging, `build:`, ports, dependencies and the health check.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::{duration_text, is_true};

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

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Logging {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
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
