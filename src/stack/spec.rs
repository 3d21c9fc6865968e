//! From a resolved service to the Engine's container settings, and the
//! config hash that says whether an existing container still matches.

use std::collections::HashMap;
use std::fmt::Write as _;

use bollard::models::{
    ContainerCreateBody, DeviceMapping, EndpointIpamConfig, EndpointSettings, HealthConfig, HostConfig,
    HostConfigCgroupnsModeEnum, HostConfigIsolationEnum, HostConfigLogConfig, Ipam, IpamConfig, NetworkCreateRequest,
    NetworkingConfig, PortBinding, ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum, VolumeCreateRequest,
};
use sha2::{Digest as _, Sha256};

use super::labels::{self, Made};
use crate::compose::Project;
use crate::compose::model::{MountKind, Service};

/// The hash scheme this dmp writes.
pub const HASH_VERSION: &str = "1";

/// The hash of everything that shapes the container: the resolved service
/// (less build, profiles and `depends_on`, which do not) and the image ID.
/// `None` for a scheme this dmp does not know (a newer dmp made it).
pub fn config_hash(service: &Service, image_id: &str, version: &str) -> Option<String> {
    match version {
        "1" => {
            let mut shaping = service.clone();
            shaping.build = None;
            shaping.profiles.clear();
            shaping.depends_on.clear();
            // The scale shapes no container: changing it adds or removes
            // containers, it recreates none (unset stays unset, so hashes
            // made before scaling existed still match).
            shaping.replicas = shaping.replicas.map(|_| 1);
            let json = serde_json::json!({ "service": shaping, "image": image_id });
            Some(sha256_hex(json.to_string().as_bytes()))
        }
        _ => None,
    }
}

/// SHA-256 of `data` in lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().fold(String::with_capacity(64), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

/// Whose files the project's bind mounts hold: the user dmp runs as, or,
/// when that is root (`sudo dmp up`), the owner of the project directory.
/// Both root, in a directory only its owner may write (a checkout in CI, a
/// VM, a container): root, `(0, 0)`, and `apply` then drops every
/// capability, so the containers can write there and nothing more. `None`
/// when both are root and the directory is writable by all: the images'
/// own users can write it. `/proc/self` belongs to the process's effective
/// user, which spares a libc call.
pub fn host_user(project_dir: &std::path::Path) -> Option<(u32, u32)> {
    use std::os::unix::fs::MetadataExt as _;
    let owner = |path: &std::path::Path| std::fs::metadata(path).ok().map(|m| (m.uid(), m.gid(), m.mode()));
    let me = owner(std::path::Path::new("/proc/self"))?;
    let user = if me.0 == 0 { owner(project_dir)? } else { me };
    (user.0 != 0 || user.2 & 0o002 == 0).then_some((user.0, user.1))
}

/// The service as it runs for `host`: a service that bind-mounts host files
/// and names no user runs as the host user, so files it writes keep their
/// owner (root only for a root-owned checkout, and then without
/// capabilities). Such a uid has no home in the image, so HOME is /tmp
/// unless the file sets it.
pub fn for_host_user(service: &Service, host: Option<(u32, u32)>) -> std::borrow::Cow<'_, Service> {
    let binds = service.volumes.iter().any(|m| m.kind == MountKind::Bind && !m.read_only);
    match host {
        Some((uid, gid)) if binds && service.user.is_none() => {
            let mut mapped = service.clone();
            mapped.user = Some(format!("{uid}:{gid}"));
            mapped.environment.entry("HOME".into()).or_insert_with(|| "/tmp".into());
            std::borrow::Cow::Owned(mapped)
        }
        _ => std::borrow::Cow::Borrowed(service),
    }
}

/// The image reference a service runs: `image:`, else the one its build makes.
pub fn image_ref(project: &Project, service: &Service) -> String {
    service.image.clone().unwrap_or_else(|| format!("{}-{}", project.name, service.name))
}

/// The container create request for `service`, joined to its first network
/// (the others are connected after create: Engine 20.10 takes one here).
/// Every key of the service that shapes the container is passed here, with
/// the effect Compose v2 gives it.
pub fn container_body(project: &Project, service: &Service, made: Made<'_>) -> ContainerCreateBody {
    let labels = labels::container(project, service, made);

    let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for port in &service.ports {
        let binding = PortBinding {
            host_ip: Some(port.host_ip.clone()),
            host_port: Some(port.published.map(|p| p.to_string()).unwrap_or_default()),
        };
        port_bindings
            .entry(format!("{}/{}", port.target, port.protocol))
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(binding);
    }
    let mut exposed_ports: Vec<String> = port_bindings.keys().cloned().collect();
    exposed_ports.extend(service.expose.iter().flat_map(|e| expose_entries(e)));
    exposed_ports.sort();
    exposed_ports.dedup();

    let network_mode = network_mode(project, service);
    let first_network = service.networks.first().map(|n| project.network_name(n));
    let healthcheck = service.healthcheck.as_ref().map(|h| HealthConfig {
        test: Some(if h.disable { vec!["NONE".into()] } else { h.test.clone() }).filter(|t| !t.is_empty()),
        interval: h.interval.and_then(|d| i64::try_from(d).ok()),
        timeout: h.timeout.and_then(|d| i64::try_from(d).ok()),
        retries: h.retries.map(i64::from),
        start_period: h.start_period.and_then(|d| i64::try_from(d).ok()),
        start_interval: h.start_interval.and_then(|d| i64::try_from(d).ok()),
    });

    ContainerCreateBody {
        image: Some(image_ref(project, service)),
        cmd: service.command.clone(),
        entrypoint: service.entrypoint.clone(),
        env: Some(service.environment.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        labels: Some(labels),
        exposed_ports: Some(exposed_ports),
        user: service.user.clone(),
        working_dir: service.working_dir.clone(),
        hostname: service.hostname.clone(),
        domainname: service.domainname.clone(),
        healthcheck,
        // Log lines of TTY containers are held back: off unless asked for.
        tty: Some(service.tty.unwrap_or(false)),
        open_stdin: service.stdin_open,
        stop_signal: service.stop_signal.clone(),
        stop_timeout: service
            .stop_grace_period
            .map(|nanos| i64::try_from(nanos.div_ceil(1_000_000_000)).unwrap_or(i64::MAX)),
        host_config: Some(host_config(project, service, port_bindings, network_mode.or_else(|| first_network.clone()))),
        networking_config: first_network.filter(|_| service.network_mode.is_none()).map(|network| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network,
                endpoint(service, service.networks.first().map_or("", String::as_str)),
            )])),
        }),
        ..Default::default()
    }
}

/// The container's host settings: mounts, ports, limits, security,
/// networking mode, devices, logging.
fn host_config(
    project: &Project,
    service: &Service,
    port_bindings: HashMap<String, Option<Vec<PortBinding>>>,
    network_mode: Option<String>,
) -> HostConfig {
    let (mounts, binds) = super::mounts::of(project, service);
    let resources = &service.effective_resources();
    let some_vec = |v: &Vec<String>| Some(v.clone()).filter(|v| !v.is_empty());
    let some_map = |m: &std::collections::BTreeMap<String, String>| {
        Some(m.clone().into_iter().collect::<HashMap<_, _>>()).filter(|m| !m.is_empty())
    };
    HostConfig {
        port_bindings: Some(port_bindings),
        mounts: Some(mounts),
        binds: Some(binds).filter(|b| !b.is_empty()),
        init: service.init,
        restart_policy: service.effective_restart().as_deref().map(restart_policy),
        network_mode,
        cap_add: some_vec(&service.cap_add),
        cap_drop: some_vec(&service.cap_drop),
        security_opt: some_vec(&service.security_opt),
        readonly_rootfs: service.read_only,
        privileged: service.privileged,
        sysctls: some_map(&service.sysctls),
        ulimits: Some(
            service
                .ulimits
                .iter()
                .map(|(name, l)| ResourcesUlimits { name: Some(name.clone()), soft: Some(l.soft), hard: Some(l.hard) })
                .collect::<Vec<_>>(),
        )
        .filter(|u| !u.is_empty()),
        tmpfs: Some(
            service
                .tmpfs
                .iter()
                .map(|t| match t.split_once(':') {
                    Some((path, options)) => (path.to_owned(), options.to_owned()),
                    None => (t.clone(), String::new()),
                })
                .collect::<HashMap<_, _>>(),
        )
        .filter(|t| !t.is_empty()),
        shm_size: service.shm_size,
        extra_hosts: some_vec(&service.extra_hosts),
        dns: some_vec(&service.dns),
        dns_search: some_vec(&service.dns_search),
        dns_options: some_vec(&service.dns_opt),
        ipc_mode: service.ipc.clone(),
        pid_mode: service.pid.clone(),
        uts_mode: service.uts.clone(),
        userns_mode: service.userns_mode.clone(),
        cgroupns_mode: service.cgroup.as_deref().map(|c| match c {
            "host" => HostConfigCgroupnsModeEnum::HOST,
            _ => HostConfigCgroupnsModeEnum::PRIVATE,
        }),
        cgroup_parent: service.cgroup_parent.clone(),
        runtime: service.runtime.clone(),
        isolation: service.isolation.as_deref().map(|i| match i {
            "process" => HostConfigIsolationEnum::PROCESS,
            "hyperv" => HostConfigIsolationEnum::HYPERV,
            _ => HostConfigIsolationEnum::DEFAULT,
        }),
        devices: Some(service.devices.iter().map(|d| device(d)).collect::<Vec<_>>()).filter(|d| !d.is_empty()),
        device_cgroup_rules: some_vec(&service.device_cgroup_rules),
        group_add: some_vec(&service.group_add),
        storage_opt: some_map(&service.storage_opt),
        annotations: some_map(&service.annotations),
        oom_kill_disable: service.oom_kill_disable,
        oom_score_adj: service.oom_score_adj,
        memory: resources.memory,
        memory_reservation: resources.memory_reservation,
        memory_swap: resources.memory_swap,
        memory_swappiness: resources.memory_swappiness,
        nano_cpus: resources.nano_cpus,
        cpu_shares: resources.cpu_shares,
        cpu_quota: resources.cpu_quota,
        cpu_period: resources.cpu_period,
        cpu_realtime_runtime: resources.cpu_rt_runtime,
        cpu_realtime_period: resources.cpu_rt_period,
        cpuset_cpus: resources.cpuset.clone(),
        pids_limit: resources.pids_limit,
        blkio_weight: resources.blkio_weight,
        log_config: service.logging.as_ref().map(|l| HostConfigLogConfig {
            typ: l.driver.clone(),
            config: Some(l.options.clone().into_iter().collect()),
        }),
        links: Some(links(project, service)).filter(|l| !l.is_empty()),
        volumes_from: Some(volumes_from(project, service)).filter(|v| !v.is_empty()),
        ..Default::default()
    }
}

/// `network_mode` as the Engine takes it: `service:NAME` is that service's
/// container.
fn network_mode(project: &Project, service: &Service) -> Option<String> {
    let mode = service.network_mode.as_deref()?;
    Some(match mode.strip_prefix("service:") {
        Some(other) => format!("container:{}", project.container_name(other)),
        None => mode.to_owned(),
    })
}

/// `expose: ["8000-8001/udp"]` as the Engine's `8000/udp`, `8001/udp`.
fn expose_entries(text: &str) -> Vec<String> {
    let (ports, protocol) = text.split_once('/').unwrap_or((text, "tcp"));
    match ports.split_once('-') {
        Some((start, end)) => match (start.parse::<u16>(), end.parse::<u16>()) {
            (Ok(start), Ok(end)) => (start..=end).map(|p| format!("{p}/{protocol}")).collect(),
            _ => vec![format!("{ports}/{protocol}")],
        },
        None => vec![format!("{ports}/{protocol}")],
    }
}

/// `HOST[:CONTAINER[:PERMISSIONS]]`.
fn device(text: &str) -> DeviceMapping {
    let parts: Vec<&str> = text.split(':').collect();
    let host = parts[0].to_owned();
    let (container, permissions) = match parts.as_slice() {
        [_, container, permissions, ..] => ((*container).to_owned(), (*permissions).to_owned()),
        [_, second] if second.starts_with('/') => ((*second).to_owned(), "rwm".to_owned()),
        [_, permissions] => (host.clone(), (*permissions).to_owned()),
        _ => (host.clone(), "rwm".to_owned()),
    };
    DeviceMapping {
        path_on_host: Some(host),
        path_in_container: Some(container),
        cgroup_permissions: Some(permissions),
    }
}

/// `links`: a project service's container under the alias (the service
/// name unless given); `external_links` as written.
fn links(project: &Project, service: &Service) -> Vec<String> {
    let mut out: Vec<String> = service
        .links
        .iter()
        .map(|link| {
            let (target, alias) = link.split_once(':').unwrap_or((link, link));
            format!("{}:{alias}", project.container_name(target))
        })
        .collect();
    out.extend(service.external_links.iter().map(|link| match link.split_once(':') {
        Some(_) => link.clone(),
        None => format!("{link}:{link}"),
    }));
    out
}

/// `volumes_from`: a service's container, or `container:NAME`, each with
/// an optional `:ro`/`:rw`.
fn volumes_from(project: &Project, service: &Service) -> Vec<String> {
    service
        .volumes_from
        .iter()
        .map(|entry| {
            let (source, mode) = match entry.rsplit_once(':') {
                Some((source, mode @ ("ro" | "rw"))) => (source, Some(mode)),
                _ => (entry.as_str(), None),
            };
            let container = match source.strip_prefix("container:") {
                Some(name) => name.to_owned(),
                None => project.container_name(source.strip_prefix("service:").unwrap_or(source)),
            };
            mode.map_or(container.clone(), |mode| format!("{container}:{mode}"))
        })
        .collect()
}

/// The create request of the project network `key` (Engine name `name`).
pub fn network_request(
    project: &Project,
    key: &str,
    name: String,
    labels: &[(String, String)],
) -> NetworkCreateRequest {
    let network = project.networks.get(key).cloned().unwrap_or_default();
    let mut all_labels: HashMap<String, String> = network.labels.into_iter().collect();
    all_labels.extend(labels.iter().cloned());
    NetworkCreateRequest {
        name,
        driver: network.driver,
        internal: Some(network.internal),
        attachable: Some(network.attachable),
        enable_ipv6: network.enable_ipv6,
        options: Some(network.driver_opts.into_iter().collect()),
        labels: Some(all_labels),
        ipam: network.ipam.map(|ipam| Ipam {
            driver: ipam.driver,
            config: Some(
                ipam.config
                    .into_iter()
                    .map(|pool| IpamConfig {
                        subnet: pool.subnet,
                        ip_range: pool.ip_range,
                        gateway: pool.gateway,
                        auxiliary_addresses: Some(pool.aux_addresses.into_iter().collect()),
                    })
                    .collect(),
            ),
            options: Some(ipam.options.into_iter().collect()),
        }),
        ..Default::default()
    }
}

/// The create request of the project volume `key` (Engine name `name`).
pub fn volume_request(project: &Project, key: &str, name: String, labels: &[(String, String)]) -> VolumeCreateRequest {
    let volume = project.volumes.get(key).cloned().unwrap_or_default();
    let mut all_labels: HashMap<String, String> = volume.labels.into_iter().collect();
    all_labels.extend(labels.iter().cloned());
    VolumeCreateRequest {
        name: Some(name),
        driver: volume.driver,
        driver_opts: Some(volume.driver_opts.into_iter().collect()),
        labels: Some(all_labels),
        ..Default::default()
    }
}

/// How the service joins `network`: the service name is its DNS name on
/// every project network, with the aliases and fixed addresses the file
/// gives.
pub fn endpoint(service: &Service, network: &str) -> EndpointSettings {
    let mut aliases = vec![service.name.clone()];
    let attachment = service.attachments.get(network).cloned().unwrap_or_default();
    aliases.extend(attachment.aliases);
    let addressed =
        attachment.ipv4_address.is_some() || attachment.ipv6_address.is_some() || !attachment.link_local_ips.is_empty();
    EndpointSettings {
        aliases: Some(aliases),
        ipam_config: addressed.then(|| EndpointIpamConfig {
            ipv4_address: attachment.ipv4_address,
            ipv6_address: attachment.ipv6_address,
            link_local_ips: Some(attachment.link_local_ips).filter(|l| !l.is_empty()),
        }),
        mac_address: attachment.mac_address,
        driver_opts: Some(attachment.driver_opts.into_iter().collect::<HashMap<_, _>>()).filter(|d| !d.is_empty()),
        ..Default::default()
    }
}

fn restart_policy(policy: &str) -> RestartPolicy {
    let (name, retries) = match policy.split_once(':') {
        Some((_, n)) => (RestartPolicyNameEnum::ON_FAILURE, n.parse().ok()),
        None => (
            match policy {
                "always" => RestartPolicyNameEnum::ALWAYS,
                "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
                "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
                _ => RestartPolicyNameEnum::NO,
            },
            None,
        ),
    };
    RestartPolicy { name: Some(name), maximum_retry_count: retries }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::model::Port;

    fn service() -> Service {
        Service {
            name: "web".into(),
            image: Some("dmp/wsgi:latest".into()),
            ports: vec![Port {
                target: 8888,
                published: Some(8080),
                host_ip: "127.0.0.1".into(),
                protocol: "tcp".into(),
                name: None,
                app_protocol: None,
            }],
            networks: vec!["default".into()],
            ..Service::default()
        }
    }

    #[test]
    fn the_hash_follows_config_and_image_but_not_dependencies() {
        let base = config_hash(&service(), "sha256:a", HASH_VERSION).expect("known scheme");
        assert_eq!(config_hash(&service(), "sha256:a", HASH_VERSION).as_ref(), Some(&base), "stable");
        assert_ne!(config_hash(&service(), "sha256:b", HASH_VERSION).as_ref(), Some(&base), "image");
        let mut changed = service();
        changed.environment.insert("A".into(), "1".into());
        assert_ne!(config_hash(&changed, "sha256:a", HASH_VERSION).as_ref(), Some(&base), "environment");
        let mut profiles = service();
        profiles.profiles.push("debug".into());
        assert_eq!(config_hash(&profiles, "sha256:a", HASH_VERSION).as_ref(), Some(&base), "profiles");
        assert_eq!(config_hash(&service(), "sha256:a", "99"), None, "unknown scheme");
    }

    #[test]
    fn host_users_own_what_bind_mounted_services_write() {
        use crate::compose::model::{Mount, MountKind};
        let mut web = service();
        assert!(matches!(for_host_user(&web, Some((1234, 99))), std::borrow::Cow::Borrowed(_)), "no bind mount");
        web.volumes.push(Mount::new(MountKind::Bind, Some("/src".into()), "/app".into()));
        let mapped = for_host_user(&web, Some((1234, 99)));
        assert_eq!(mapped.user.as_deref(), Some("1234:99"));
        assert_eq!(mapped.environment.get("HOME").map(String::as_str), Some("/tmp"));
        assert!(matches!(for_host_user(&web, None), std::borrow::Cow::Borrowed(_)), "root keeps the image's user");
        web.user = Some("app".into());
        assert_eq!(for_host_user(&web, Some((1234, 99))).user.as_deref(), Some("app"), "an explicit user wins");
    }

    #[test]
    fn the_hash_of_scheme_1_is_frozen() {
        // A change here recreates every user's containers on upgrade: add a
        // scheme instead.
        assert_eq!(
            config_hash(&service(), "sha256:a", "1").as_deref(),
            Some("52b62390b104eedd69e9541b500d7f1409311498814e0659265c00915d09ba92")
        );
    }
}
