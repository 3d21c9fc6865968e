//! From a resolved service to the Engine's container settings, and the
//! config hash that says whether an existing container still matches.

use std::collections::HashMap;
use std::fmt::Write as _;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, Mount as EngineMount, MountType, NetworkingConfig,
    PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use sha2::{Digest as _, Sha256};

use super::{LABEL_CONFIG_HASH, LABEL_HASH_VERSION, LABEL_PROJECT, LABEL_SERVICE};
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
pub fn container_body(project: &Project, service: &Service, hash: &str) -> ContainerCreateBody {
    let mut labels: HashMap<String, String> = service.labels.clone().into_iter().collect();
    labels.insert(LABEL_PROJECT.into(), project.name.clone());
    labels.insert(LABEL_SERVICE.into(), service.name.clone());
    labels.insert(LABEL_CONFIG_HASH.into(), hash.into());
    labels.insert(LABEL_HASH_VERSION.into(), HASH_VERSION.into());

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
    let exposed_ports: Vec<String> = port_bindings.keys().cloned().collect();

    let mounts = service
        .volumes
        .iter()
        .map(|m| EngineMount {
            target: Some(m.target.clone()),
            source: match m.kind {
                MountKind::Bind => m.source.clone(),
                MountKind::Volume => m.source.as_ref().map(|name| project.volume_name(name)),
            },
            typ: Some(match m.kind {
                MountKind::Bind => MountType::BIND,
                MountKind::Volume => MountType::VOLUME,
            }),
            read_only: Some(m.read_only),
            ..Default::default()
        })
        .collect();

    let first_network = service.networks.first().map(|n| project.network_name(n));
    let healthcheck = service.healthcheck.as_ref().map(|h| HealthConfig {
        test: Some(if h.disable { vec!["NONE".into()] } else { h.test.clone() }).filter(|t| !t.is_empty()),
        interval: h.interval.and_then(|d| i64::try_from(d).ok()),
        timeout: h.timeout.and_then(|d| i64::try_from(d).ok()),
        retries: h.retries.map(i64::from),
        start_period: h.start_period.and_then(|d| i64::try_from(d).ok()),
        start_interval: None,
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
        healthcheck,
        tty: Some(false),
        host_config: Some(HostConfig {
            port_bindings: Some(port_bindings),
            mounts: Some(mounts),
            init: service.init,
            restart_policy: service.restart.as_deref().map(restart_policy),
            network_mode: first_network.clone(),
            ..Default::default()
        }),
        networking_config: first_network
            .map(|network| NetworkingConfig { endpoints_config: Some(HashMap::from([(network, endpoint(service))])) }),
        ..Default::default()
    }
}

/// The service name is the container's DNS name on every project network.
pub fn endpoint(service: &Service) -> EndpointSettings {
    EndpointSettings { aliases: Some(vec![service.name.clone()]), ..Default::default() }
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
        web.volumes.push(Mount {
            kind: MountKind::Bind,
            source: Some("/src".into()),
            target: "/app".into(),
            read_only: false,
        });
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
