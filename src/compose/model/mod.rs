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

pub mod duration_text;
mod mounts;
mod service_keys;
mod top_level;
mod x_dmp;

pub use mounts::{FileMount, Mount, MountKind};
pub use service_keys::{
    Attachment, Build, Condition, Dependency, Deploy, Healthcheck, Logging, Port, Resources, Ulimit,
};
pub use top_level::{FileSource, Ipam, IpamPool, Network, Volume};
pub use x_dmp::{DmpSettings, WatchRule};

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

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_true(value: &bool) -> bool {
    *value
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

#[cfg(test)]
mod tests {
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
