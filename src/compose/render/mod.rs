//! The resolved stack in the shape `docker compose config` prints it
//! (Compose v2.26, compose-go): long forms, absolute paths, `name:` first,
//! keys in compose-go's order, and Compose's per-service config hash.
//!
//! Rendered from the model alone: a key the model does not hold is not
//! printed. The differences that remain are listed in docs/commands.md.

mod node;

use std::fmt::Write as _;

use sha2::{Digest as _, Sha256};

use node::MapBuilder;
pub use node::{Form, Node};

use super::model::{Condition, Healthcheck, Mount, MountKind, Port, Project, Service};

/// The whole project as `docker compose config` prints it.
pub fn project(project: &Project, form: Form) -> Node {
    let mut top = MapBuilder::default();
    top.put("name", Node::str(&project.name));
    top.put(
        "services",
        Node::sorted(project.services.iter().map(|(name, service)| (name, service_node(project, service, form)))),
    );
    top.nonempty("networks", networks(project, form));
    top.nonempty("volumes", volumes(project));
    top.nonempty("secrets", file_sources(project, &project.secrets));
    top.nonempty("configs", file_sources(project, &project.configs));
    // `x-` keys as written, x-dmp included (Compose prints them back).
    for (key, value) in &project.extensions {
        top.put(key, from_json(value));
    }
    let Node::Map(mut entries) = top.build() else { unreachable!("a map") };
    if form == Form::Json {
        // Compose's JSON writes the project's keys sorted.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
    }
    Node::Map(entries)
}

/// One service, keys in compose-go's `ServiceConfig` order.
pub fn service_node(project: &Project, service: &Service, form: Form) -> Node {
    let mut map = MapBuilder::default();
    map.nonempty("profiles", Node::strings(&service.profiles));
    map.opt(
        "build",
        service.build.as_ref().map(|build| {
            let mut b = MapBuilder::default();
            b.put("context", Node::str(build.context.display().to_string()));
            b.text("dockerfile", Some(&build.dockerfile));
            b.nonempty("args", Node::sorted(build.args.iter().map(|(k, v)| (k, Node::str(v)))));
            b.text("target", build.target.as_ref());
            b.nonempty("labels", Node::sorted(build.labels.iter().map(|(k, v)| (k, Node::str(v)))));
            b.nonempty("cache_from", Node::strings(&build.cache_from));
            b.flag("no_cache", build.no_cache);
            b.text("network", build.network.as_ref());
            b.flag("pull", build.pull);
            b.opt("shm_size", build.shm_size.map(|s| Node::Str(s.to_string())));
            let mut hosts: Vec<String> = build
                .extra_hosts
                .iter()
                .map(|h| h.split_once(':').map_or_else(|| h.clone(), |(host, ip)| format!("{host}={ip}")))
                .collect();
            hosts.sort();
            b.nonempty("extra_hosts", Node::strings(&hosts));
            b.text("isolation", build.isolation.as_ref());
            b.nonempty("tags", Node::strings(&build.tags));
            b.nonempty("platforms", Node::strings(build.platform.iter()));
            b.build()
        }),
    );
    map.opt("command", command(service.command.as_ref(), form));
    map.nonempty(
        "depends_on",
        Node::sorted(service.depends_on.iter().map(|(name, dependency)| {
            let condition = match dependency.condition {
                Condition::ServiceStarted => "service_started",
                Condition::ServiceHealthy => "service_healthy",
                Condition::ServiceCompletedSuccessfully => "service_completed_successfully",
            };
            let mut d = MapBuilder::default();
            d.put("condition", Node::str(condition));
            d.flag("restart", dependency.restart);
            d.put("required", Node::Bool(dependency.required));
            (name, d.build())
        })),
    );
    map.opt("entrypoint", command(service.entrypoint.as_ref(), form));
    map.nonempty(
        "environment",
        Node::sorted(
            service
                .environment
                .iter()
                .map(|(k, v)| (k, Node::str(v)))
                .chain(service.unset_environment.iter().map(|k| (k, Node::Null))),
        ),
    );
    map.opt("healthcheck", service.healthcheck.as_ref().map(healthcheck));
    map.text("image", service.image.as_ref());
    map.opt("init", service.init.map(Node::Bool));
    map.nonempty("labels", Node::sorted(service.labels.iter().map(|(k, v)| (k, Node::str(v)))));
    map.nonempty(
        "networks",
        Node::sorted(service.networks.iter().map(|n| (n, service.attachments.get(n).map_or(Node::Null, attachment)))),
    );
    map.nonempty("ports", Node::List(service.ports.iter().map(port).collect()));
    map.text("restart", service.restart.as_ref());
    map.text("user", service.user.as_ref());
    map.nonempty("volumes", Node::List(service.volumes.iter().map(|m| mount(project, m)).collect()));
    map.text("working_dir", service.working_dir.as_ref());
    map.0.extend(super::render_runtime::entries(project, service));
    super::render_runtime::order(&mut map.0);
    map.build()
}

/// A service's settings on one network.
fn attachment(a: &super::model::Attachment) -> Node {
    let mut map = MapBuilder::default();
    map.opt("priority", a.priority.filter(|p| *p != 0).map(Node::Int));
    map.nonempty("aliases", Node::strings(&a.aliases));
    map.text("ipv4_address", a.ipv4_address.as_ref());
    map.text("ipv6_address", a.ipv6_address.as_ref());
    map.nonempty("link_local_ips", Node::strings(&a.link_local_ips));
    map.text("mac_address", a.mac_address.as_ref());
    map.nonempty("driver_opts", Node::sorted(a.driver_opts.iter().map(|(k, v)| (k, Node::str(v)))));
    map.build()
}

/// `command`/`entrypoint`: JSON writes an unset one as `null`.
fn command(value: Option<&Vec<String>>, form: Form) -> Option<Node> {
    match (value, form) {
        (Some(words), _) => Some(Node::strings(words)),
        (None, Form::Json) => Some(Node::Null),
        (None, Form::Yaml) => None,
    }
}

/// A duration as Go's `time.Duration.String` writes it, as Compose prints
/// durations: `1m0s`, `1m30s`, `1.5s`, `1h0m0s`, `500ms`, `250µs`.
pub fn go_duration(nanos: u64) -> String {
    /// `value / 10^prec` with its fraction, trailing zeros dropped.
    fn frac(value: u64, prec: u32) -> String {
        let scale = 10u64.pow(prec);
        let (whole, mut fraction) = (value / scale, value % scale);
        if fraction == 0 {
            return whole.to_string();
        }
        let mut digits = prec as usize;
        while fraction % 10 == 0 {
            fraction /= 10;
            digits -= 1;
        }
        format!("{whole}.{fraction:0digits$}")
    }
    const SECOND: u64 = 1_000_000_000;
    match nanos {
        0 => "0s".to_owned(),
        n if n < 1_000 => format!("{n}ns"),
        n if n < 1_000_000 => format!("{}µs", frac(n, 3)),
        n if n < SECOND => format!("{}ms", frac(n, 6)),
        n => {
            let seconds = format!("{}s", frac(n % (60 * SECOND), 9));
            let minutes = n / (60 * SECOND);
            match minutes {
                0 => seconds,
                m if m < 60 => format!("{m}m{seconds}"),
                m => format!("{}h{}m{seconds}", m / 60, m % 60),
            }
        }
    }
}

fn healthcheck(check: &Healthcheck) -> Node {
    let duration = |nanos: Option<u64>| nanos.map(|n| Node::Str(go_duration(n)));
    let mut map = MapBuilder::default();
    map.nonempty("test", Node::strings(&check.test));
    map.opt("timeout", duration(check.timeout));
    map.opt("interval", duration(check.interval));
    map.opt("retries", check.retries.map(|r| Node::Int(i64::from(r))));
    map.opt("start_period", duration(check.start_period));
    map.opt("start_interval", duration(check.start_interval));
    map.flag("disable", check.disable);
    map.build()
}

fn port(port: &Port) -> Node {
    let mut map = MapBuilder::default();
    map.put("mode", Node::str("ingress"));
    map.text("host_ip", Some(&port.host_ip));
    map.put("target", Node::Int(i64::from(port.target)));
    map.opt("published", port.published.map(|p| Node::Str(p.to_string())));
    map.put("protocol", Node::str(&port.protocol));
    map.text("name", port.name.as_ref());
    map.text("app_protocol", port.app_protocol.as_ref());
    map.build()
}

fn mount(_project: &Project, mount: &Mount) -> Node {
    let mut map = MapBuilder::default();
    map.put(
        "type",
        Node::str(match mount.kind {
            MountKind::Bind => "bind",
            MountKind::Volume => "volume",
            MountKind::Tmpfs => "tmpfs",
        }),
    );
    map.text("source", mount.source.as_ref());
    map.put("target", Node::Str(crate::go_path::clean(&mount.target)));
    map.flag("read_only", mount.read_only);
    match mount.kind {
        MountKind::Bind => {
            let mut bind = MapBuilder::default();
            // compose-go's `ServiceVolumeBind` field order.
            bind.text("selinux", mount.selinux.as_ref());
            bind.text("propagation", mount.propagation.as_ref());
            bind.flag("create_host_path", mount.create_host_path);
            map.nonempty("bind", bind.build());
        }
        MountKind::Volume => {
            let mut volume = MapBuilder::default();
            volume.flag("nocopy", mount.nocopy);
            volume.text("subpath", mount.subpath.as_ref());
            map.put("volume", volume.build());
        }
        MountKind::Tmpfs => {
            let mut tmpfs = MapBuilder::default();
            tmpfs.opt("size", mount.tmpfs_size.map(|s| Node::Str(s.to_string())));
            tmpfs.opt("mode", mount.tmpfs_mode.map(|m| Node::Int(i64::from(m))));
            map.nonempty("tmpfs", tmpfs.build());
        }
    }
    map.build()
}

/// The networks a service is on (with `default`, declared or not): as
/// Compose, networks no enabled service uses are left out.
fn networks(project: &Project, form: Form) -> Node {
    let mut keys: Vec<&String> = project.services.values().flat_map(|s| &s.networks).collect();
    keys.sort();
    keys.dedup();
    Node::sorted(keys.into_iter().map(|key| {
        let network = project.networks.get(key).cloned().unwrap_or_default();
        let mut map = MapBuilder::default();
        map.put("name", Node::Str(project.network_name(key)));
        map.text("driver", network.driver.as_ref());
        map.nonempty("driver_opts", Node::sorted(network.driver_opts.iter().map(|(k, v)| (k, Node::str(v)))));
        match (&network.ipam, form) {
            (Some(ipam), _) => {
                let mut i = MapBuilder::default();
                i.text("driver", ipam.driver.as_ref());
                i.nonempty(
                    "config",
                    Node::List(
                        ipam.config
                            .iter()
                            .map(|pool| {
                                let mut p = MapBuilder::default();
                                p.text("subnet", pool.subnet.as_ref());
                                p.text("gateway", pool.gateway.as_ref());
                                p.text("ip_range", pool.ip_range.as_ref());
                                p.nonempty(
                                    "aux_addresses",
                                    Node::sorted(pool.aux_addresses.iter().map(|(k, v)| (k, Node::str(v)))),
                                );
                                p.build()
                            })
                            .collect(),
                    ),
                );
                i.nonempty("options", Node::sorted(ipam.options.iter().map(|(k, v)| (k, Node::str(v)))));
                map.put("ipam", i.build());
            }
            (None, Form::Json) => {
                map.put("ipam", Node::Map(Vec::new()));
            }
            (None, Form::Yaml) => {}
        }
        map.flag("external", network.external);
        map.flag("internal", network.internal);
        map.flag("attachable", network.attachable);
        map.opt("enable_ipv6", network.enable_ipv6.filter(|v| *v).map(Node::Bool));
        map.nonempty("labels", Node::sorted(network.labels.iter().map(|(k, v)| (k, Node::str(v)))));
        (key, map.build())
    }))
}

/// The declared volumes an enabled service mounts, the ones Compose prints
/// (it leaves the others out).
pub fn used_volumes(project: &Project) -> Vec<&String> {
    let used = |key: &String| {
        project
            .services
            .values()
            .flat_map(|s| &s.volumes)
            .any(|m| m.kind == MountKind::Volume && m.source.as_ref() == Some(key))
    };
    project.volumes.keys().filter(|key| used(key)).collect()
}

fn volumes(project: &Project) -> Node {
    Node::sorted(used_volumes(project).into_iter().map(|key| {
        let volume = &project.volumes[key];
        let mut map = MapBuilder::default();
        map.put("name", Node::Str(project.volume_name(key)));
        map.text("driver", volume.driver.as_ref());
        map.nonempty("driver_opts", Node::sorted(volume.driver_opts.iter().map(|(k, v)| (k, Node::str(v)))));
        map.flag("external", volume.external);
        map.nonempty("labels", Node::sorted(volume.labels.iter().map(|(k, v)| (k, Node::str(v)))));
        (key, map.build())
    }))
}

/// Top-level secrets or configs, named `<project>_<key>` as Compose names them.
fn file_sources(project: &Project, sources: &std::collections::BTreeMap<String, super::model::FileSource>) -> Node {
    use super::model::FileSource;
    // Only those a service uses, as Compose prints them.
    let used =
        |key: &String| project.services.values().any(|s| s.secrets.iter().chain(&s.configs).any(|m| &m.source == key));
    Node::sorted(sources.iter().filter(|(key, _)| used(key)).map(|(key, source)| {
        let mut map = MapBuilder::default();
        map.put("name", Node::Str(format!("{}_{key}", project.name)));
        match source {
            FileSource::File(path) => map.put("file", Node::str(path.display().to_string())),
            FileSource::Environment { variable, .. } => map.put("environment", Node::str(variable)),
            FileSource::Content(text) => map.put("content", Node::str(text)),
        };
        (key, map.build())
    }))
}

pub(super) fn from_json(value: &serde_json::Value) -> Node {
    match value {
        serde_json::Value::Null => Node::Null,
        serde_json::Value::Bool(b) => Node::Bool(*b),
        serde_json::Value::Number(n) => {
            n.as_i64().map_or_else(|| n.as_f64().map_or_else(|| Node::Str(n.to_string()), Node::Float), Node::Int)
        }
        serde_json::Value::String(s) => Node::Str(s.clone()),
        serde_json::Value::Array(items) => Node::List(items.iter().map(from_json).collect()),
        serde_json::Value::Object(map) => Node::Map(map.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}

/// Compose v2.26's config hash of a service (`docker compose config
/// --hash`, the `com.docker.compose.config-hash` label): SHA-256 of the
/// service's JSON without `build`, `pull_policy` and `scale`, values as
/// loaded (no `$$`).
///
/// It equals Compose's for services that use only keys the model holds and
/// no `env_file`: Compose hashes the env files' paths and the service's own
/// `environment`, where dmp's model holds only the merged result.
pub fn service_hash(project: &Project, service: &Service) -> String {
    let Node::Map(entries) = service_node(project, service, Form::Json) else {
        unreachable!("a service renders as a map")
    };
    let kept = Node::Map(
        entries.into_iter().filter(|(k, _)| !matches!(k.as_str(), "build" | "pull_policy" | "scale")).collect(),
    );
    Sha256::digest(kept.go_json().as_bytes()).iter().fold(String::with_capacity(64), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

/// The image a service runs: `image:`, else the name Compose gives a built
/// image (`<project>-<service>`).
pub fn image_name(project: &Project, service: &Service) -> String {
    service.image.clone().unwrap_or_else(|| format!("{}-{}", project.name, service.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::load::load_str;

    fn loaded(text: &str) -> Project {
        load_str(text, std::path::Path::new("/srv/app"), &std::collections::BTreeMap::new()).expect("loads").project
    }

    #[test]
    fn unused_networks_and_volumes_are_left_out_as_compose_does() {
        let project = loaded(
            "services:\n  web:\n    image: x\n    volumes: [data:/data]\nvolumes:\n  data:\n  spare:\nnetworks:\n  spare:\n",
        );
        let node = self::project(&project, Form::Yaml);
        let keys = |key: &str| match node.get(key) {
            Some(Node::Map(entries)) => entries.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        assert_eq!(keys("volumes"), ["data"]);
        assert_eq!(keys("networks"), ["default"]);
        assert_eq!(used_volumes(&project), ["data"]);
    }

    #[test]
    fn durations_print_as_go_does() {
        let s = 1_000_000_000;
        for (nanos, text) in [
            (0, "0s"),
            (60 * s, "1m0s"),
            (90 * s, "1m30s"),
            (3600 * s, "1h0m0s"),
            (1_500_000_000, "1.5s"),
            (30 * s, "30s"),
            (500_000_000, "500ms"),
            (1_500_000, "1.5ms"),
            (250_000, "250µs"),
            (7, "7ns"),
            (3600 * s + 61 * s + 250_000_000, "1h1m1.25s"),
        ] {
            assert_eq!(go_duration(nanos), text, "{nanos}");
        }
    }

    #[test]
    fn pretty_json_is_go_marshal_indent() {
        let node = Node::Map(vec![
            ("a".into(), Node::List(vec![Node::Int(1), Node::str("<b>")])),
            ("e".into(), Node::Map(Vec::new())),
            ("l".into(), Node::List(Vec::new())),
            ("n".into(), Node::Null),
        ]);
        assert_eq!(
            node.go_json_pretty(),
            "{\n  \"a\": [\n    1,\n    \"\\u003cb\\u003e\"\n  ],\n  \"e\": {},\n  \"l\": [],\n  \"n\": null\n}"
        );
    }

    #[test]
    fn go_json_escapes_as_go_does() {
        let node = Node::Map(vec![("a".into(), Node::str("<x> & \"y\"\n\u{1}"))]);
        assert_eq!(node.go_json(), r#"{"a":"\u003cx\u003e \u0026 \"y\"\n\u0001"}"#);
    }

    #[test]
    fn hash_matches_compose_for_a_plain_service() {
        // `docker compose -p fuzz config --hash web` (Compose 2.26.1) for this file.
        let project = loaded("services:\n  web:\n    image: x\n    user: \"1:0\"\n");
        let json = service_node(&project, &project.services["web"], Form::Json).go_json();
        assert_eq!(json, r#"{"command":null,"entrypoint":null,"image":"x","networks":{"default":null},"user":"1:0"}"#);
        assert_eq!(
            service_hash(&project, &project.services["web"]),
            "6e6393a9171567ccd9c81606b83e4c9dccf71557b4100ebfa10be6a02ff0d814"
        );
    }

    #[test]
    fn json_and_yaml_forms_differ_as_compose_does() {
        let project = loaded("services:\n  web:\n    image: x\n");
        let json = self::project(&project, Form::Json);
        let yaml = self::project(&project, Form::Yaml);
        let web = |n: &Node| n.get("services").and_then(|s| s.get("web")).cloned().expect("web");
        assert_eq!(web(&json).get("command"), Some(&Node::Null));
        assert_eq!(web(&yaml).get("command"), None);
        let ipam = |n: &Node| n.get("networks").and_then(|s| s.get("default")).and_then(|d| d.get("ipam")).cloned();
        assert_eq!(ipam(&json), Some(Node::Map(Vec::new())));
        assert_eq!(ipam(&yaml), None);
    }
}
