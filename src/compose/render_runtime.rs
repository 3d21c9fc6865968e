//! The service keys beyond image, command and the like, in the shape
//! `docker compose config` prints them (compose-go's types): limits as
//! byte counts in strings, `cpus` as a number, `extra_hosts` as sorted
//! `host=ip`, devices in the long form, durations as text.

use super::model::{Deploy, FileMount, Project, Service};
use super::render::Node;

/// compose-go's `ServiceConfig` field order: the order Compose prints and
/// hashes keys in.
pub const SERVICE_ORDER: &[&str] = &[
    "profiles",
    "annotations",
    "attach",
    "build",
    "develop",
    "blkio_config",
    "cap_add",
    "cap_drop",
    "cgroup_parent",
    "cgroup",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpus",
    "cpuset",
    "cpu_shares",
    "command",
    "configs",
    "container_name",
    "credential_spec",
    "depends_on",
    "deploy",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "dockerfile",
    "domainname",
    "entrypoint",
    "environment",
    "env_file",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "group_add",
    "hostname",
    "healthcheck",
    "image",
    "init",
    "ipc",
    "isolation",
    "labels",
    "links",
    "logging",
    "log_driver",
    "log_opt",
    "mem_limit",
    "mem_reservation",
    "memswap_limit",
    "mem_swappiness",
    "mac_address",
    "net",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "privileged",
    "pull_policy",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "user",
    "userns_mode",
    "uts",
    "volume_driver",
    "volumes",
    "volumes_from",
    "working_dir",
];

fn strings(items: &[String]) -> Node {
    Node::List(items.iter().map(|s| Node::Str(s.clone())).collect())
}

fn sorted_map<'a>(items: impl IntoIterator<Item = (&'a String, Node)>) -> Node {
    let mut entries: Vec<(String, Node)> = items.into_iter().map(|(k, v)| (k.clone(), v)).collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Node::Map(entries)
}

fn bytes(n: i64) -> Node {
    Node::Str(n.to_string())
}

#[allow(clippy::cast_precision_loss)] // a few thousand CPUs at most
fn cpus(nanos: i64) -> Node {
    Node::Float(nanos as f64 / 1e9)
}

/// The keys of `service` this module renders, in no particular order
/// (`order` sorts the whole service afterwards).
#[allow(clippy::too_many_lines)] // one line per key
pub fn entries(_project: &Project, service: &Service) -> Vec<(String, Node)> {
    let mut out: Vec<(String, Node)> = Vec::new();
    let mut put = |key: &str, value: Option<Node>| {
        if let Some(value) = value {
            let empty = matches!(&value, Node::List(items) if items.is_empty())
                || matches!(&value, Node::Map(entries) if entries.is_empty());
            if !empty {
                out.push((key.to_owned(), value));
            }
        }
    };
    let text = |value: &Option<String>| value.as_ref().filter(|v| !v.is_empty()).map(|v| Node::Str(v.clone()));
    let flag = |value: Option<bool>| value.filter(|v| *v).map(Node::Bool);
    put("develop", service.develop.as_ref().map(super::render::from_json));
    put("annotations", Some(sorted_map(service.annotations.iter().map(|(k, v)| (k, Node::Str(v.clone()))))));
    put("attach", service.attach.filter(|a| !a).map(Node::Bool));
    put("cap_add", Some(strings(&service.cap_add)));
    put("cap_drop", Some(strings(&service.cap_drop)));
    put("cgroup_parent", text(&service.cgroup_parent));
    put("cgroup", text(&service.cgroup));
    let r = &service.resources;
    put("cpu_period", r.cpu_period.map(Node::Int));
    put("cpu_quota", r.cpu_quota.map(Node::Int));
    put("cpu_rt_period", r.cpu_rt_period.map(Node::Int));
    put("cpu_rt_runtime", r.cpu_rt_runtime.map(Node::Int));
    put("cpus", r.nano_cpus.map(cpus));
    put("cpuset", text(&r.cpuset));
    put("cpu_shares", r.cpu_shares.map(Node::Int));
    put("configs", Some(Node::List(service.configs.iter().map(file_mount).collect())));
    put("container_name", text(&service.container_name));
    put("deploy", service.deploy.as_ref().map(deploy));
    put("device_cgroup_rules", Some(strings(&service.device_cgroup_rules)));
    put("devices", Some(Node::List(service.devices.iter().map(|d| device(d)).collect())));
    put("dns", Some(strings(&service.dns)));
    put("dns_opt", Some(strings(&service.dns_opt)));
    put("dns_search", Some(strings(&service.dns_search)));
    put("domainname", text(&service.domainname));
    put("expose", Some(strings(&service.expose)));
    put("external_links", Some(strings(&service.external_links)));
    let mut hosts: Vec<String> = service
        .extra_hosts
        .iter()
        .map(|h| h.split_once(':').map_or_else(|| h.clone(), |(host, ip)| format!("{host}={ip}")))
        .collect();
    hosts.sort();
    put("extra_hosts", Some(strings(&hosts)));
    put("group_add", Some(strings(&service.group_add)));
    put("hostname", text(&service.hostname));
    put("ipc", text(&service.ipc));
    put("isolation", text(&service.isolation));
    put("links", Some(strings(&service.links)));
    put(
        "logging",
        service.logging.as_ref().map(|l| {
            let mut map = Vec::new();
            if let Some(driver) = &l.driver {
                map.push(("driver".to_owned(), Node::Str(driver.clone())));
            }
            if !l.options.is_empty() {
                map.push(("options".to_owned(), sorted_map(l.options.iter().map(|(k, v)| (k, Node::Str(v.clone()))))));
            }
            Node::Map(map)
        }),
    );
    put("mem_limit", r.memory.map(bytes));
    put("mem_reservation", r.memory_reservation.map(bytes));
    put("memswap_limit", r.memory_swap.map(bytes));
    put("mem_swappiness", r.memory_swappiness.map(Node::Int));
    put("mac_address", text(&service.mac_address));
    put("network_mode", text(&service.network_mode));
    put("oom_kill_disable", flag(service.oom_kill_disable));
    put("oom_score_adj", service.oom_score_adj.map(Node::Int));
    put("pid", text(&service.pid));
    put("pids_limit", r.pids_limit.map(Node::Int));
    put("platform", text(&service.platform));
    put("privileged", flag(service.privileged));
    put("pull_policy", text(&service.pull_policy));
    put("read_only", flag(service.read_only));
    put("runtime", text(&service.runtime));
    put("secrets", Some(Node::List(service.secrets.iter().map(file_mount).collect())));
    put("security_opt", Some(strings(&service.security_opt)));
    put("shm_size", service.shm_size.map(bytes));
    put("stdin_open", flag(service.stdin_open));
    put("stop_grace_period", service.stop_grace_period.map(|d| Node::Str(super::render::go_duration(d))));
    put("stop_signal", text(&service.stop_signal));
    put("storage_opt", Some(sorted_map(service.storage_opt.iter().map(|(k, v)| (k, Node::Str(v.clone()))))));
    put("sysctls", Some(sorted_map(service.sysctls.iter().map(|(k, v)| (k, Node::Str(v.clone()))))));
    put("tmpfs", Some(strings(&service.tmpfs)));
    put("tty", flag(service.tty));
    put(
        "ulimits",
        Some(sorted_map(service.ulimits.iter().map(|(name, limit)| {
            let value = if limit.single {
                Node::Int(limit.soft)
            } else {
                Node::Map(vec![("soft".into(), Node::Int(limit.soft)), ("hard".into(), Node::Int(limit.hard))])
            };
            (name, value)
        }))),
    );
    put("userns_mode", text(&service.userns_mode));
    put("uts", text(&service.uts));
    put("volumes_from", Some(strings(&service.volumes_from)));
    out
}

/// Sorts a service's keys into compose-go's order.
pub fn order(entries: &mut [(String, Node)]) {
    let rank = |key: &str| SERVICE_ORDER.iter().position(|k| *k == key).unwrap_or(usize::MAX);
    entries.sort_by_key(|(key, _)| rank(key));
}

fn file_mount(mount: &FileMount) -> Node {
    let mut map = vec![("source".to_owned(), Node::Str(mount.source.clone()))];
    if let Some(target) = &mount.target {
        map.push(("target".into(), Node::Str(target.clone())));
    }
    if let Some(uid) = &mount.uid {
        map.push(("uid".into(), Node::Str(uid.clone())));
    }
    if let Some(gid) = &mount.gid {
        map.push(("gid".into(), Node::Str(gid.clone())));
    }
    if let Some(mode) = mount.mode {
        map.push(("mode".into(), Node::Int(i64::from(mode))));
    }
    Node::Map(map)
}

fn device(text: &str) -> Node {
    let parts: Vec<&str> = text.split(':').collect();
    let source = parts[0].to_owned();
    let (target, permissions) = match parts.as_slice() {
        [_, target, permissions, ..] => ((*target).to_owned(), (*permissions).to_owned()),
        [_, target] => ((*target).to_owned(), "rwm".to_owned()),
        _ => (source.clone(), "rwm".to_owned()),
    };
    Node::Map(vec![
        ("source".into(), Node::Str(source)),
        ("target".into(), Node::Str(target)),
        ("permissions".into(), Node::Str(permissions)),
    ])
}

fn deploy(deploy: &Deploy) -> Node {
    let mut map = Vec::new();
    if let Some(mode) = &deploy.mode {
        map.push(("mode".to_owned(), Node::Str(mode.clone())));
    }
    if let Some(replicas) = deploy.replicas {
        map.push(("replicas".into(), Node::Int(i64::from(replicas))));
    }
    if !deploy.labels.is_empty() {
        map.push(("labels".into(), sorted_map(deploy.labels.iter().map(|(k, v)| (k, Node::Str(v.clone()))))));
    }
    let mut limits = Vec::new();
    if let Some(n) = deploy.limit_nano_cpus {
        limits.push(("cpus".to_owned(), cpus(n)));
    }
    if let Some(n) = deploy.limit_memory {
        limits.push(("memory".into(), bytes(n)));
    }
    if let Some(n) = deploy.limit_pids {
        limits.push(("pids".into(), Node::Int(n)));
    }
    let mut reservations = Vec::new();
    if let Some(n) = deploy.reserve_nano_cpus {
        reservations.push(("cpus".to_owned(), cpus(n)));
    }
    if let Some(n) = deploy.reserve_memory {
        reservations.push(("memory".into(), bytes(n)));
    }
    let mut resources = Vec::new();
    if !limits.is_empty() {
        resources.push(("limits".to_owned(), Node::Map(limits)));
    }
    if !reservations.is_empty() {
        resources.push(("reservations".to_owned(), Node::Map(reservations)));
    }
    map.push(("resources".into(), Node::Map(resources)));
    if let Some(condition) = &deploy.restart_condition {
        let mut policy = vec![("condition".to_owned(), Node::Str(condition.clone()))];
        if let Some(n) = deploy.restart_max_attempts {
            policy.push(("max_attempts".into(), Node::Int(n)));
        }
        map.push(("restart_policy".into(), Node::Map(policy)));
    }
    map.push(("placement".into(), Node::Map(Vec::new())));
    Node::Map(map)
}
