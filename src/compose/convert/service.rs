//! One service: its keys, environment, restart, `depends_on`, healthcheck.

use std::collections::BTreeMap;

use super::{Loader, Result};
use crate::compose::env_file::read_env_file;
use crate::compose::model::{Condition, Dependency, Healthcheck, Service, duration_text};
use crate::compose::render_runtime::SERVICE_ORDER;
use crate::compose::yaml::{Node, Pos, Value};

impl Loader<'_> {
    #[allow(clippy::too_many_lines)] // one arm per key of the Compose Specification
    pub(super) fn service(
        &mut self,
        name: &str,
        node: &Node,
        depends: &mut Vec<(String, String, Pos)>,
    ) -> Result<Service> {
        let mut service = Service { name: name.to_owned(), networks: vec!["default".into()], ..Service::default() };
        let mut env_from_files = BTreeMap::new();
        let mut environment = Vec::new();
        let mut deploy = None;
        let mut networks_given = false;
        for (key, value) in self.entries(node, "a mapping of service settings")? {
            let text = |what: &str| self.text(value, what);
            let strings = |what: &str| self.string_list(value, what);
            let flag = || self.bool(value, "true or false").map(Some);
            match key.name.as_str() {
                "image" => service.image = Some(text("an image name")?),
                "build" => service.build = Some(self.build(value)?),
                "command" => service.command = self.command_or_null(value)?,
                "entrypoint" => service.entrypoint = self.command_or_null(value)?,
                "environment" => environment = self.key_values(value, "a mapping or a list of KEY=value")?,
                "env_file" => env_from_files = self.env_files(value)?,
                "ports" => service.ports = self.ports(value)?,
                "volumes" => service.volumes = self.mounts(value)?,
                "depends_on" => service.depends_on = self.depends_on(name, value, depends)?,
                "healthcheck" => service.healthcheck = Some(self.healthcheck(value)?),
                "user" => service.user = Some(text("a user name or uid[:gid]")?),
                "working_dir" => {
                    let dir = text("an absolute path")?;
                    if !dir.starts_with('/') {
                        return Err(self.error(
                            value.pos,
                            &format!("the working directory `{}` is not absolute", crate::compose::clip(&dir)),
                            "here",
                            Some("a container path starts with /, as in `working_dir: /app`"),
                        ));
                    }
                    service.working_dir = Some(dir);
                }
                "init" => service.init = flag()?,
                "labels" => service.labels = self.string_map(value)?,
                "annotations" => service.annotations = self.string_map(value)?,
                "restart" => service.restart = Some(self.restart(value)?),
                "profiles" => service.profiles = strings("a profile name")?,
                "networks" => {
                    networks_given = true;
                    (service.networks, service.attachments) = self.service_networks(value)?;
                }
                "network_mode" => {
                    service.network_mode = Some(text("host, none, bridge, service:NAME or container:NAME")?);
                }
                "container_name" => service.container_name = Some(text("a container name")?),
                "hostname" => service.hostname = Some(text("a host name")?),
                "domainname" => service.domainname = Some(text("a domain name")?),
                "mac_address" => service.mac_address = Some(text("a MAC address")?),
                "tty" => service.tty = flag()?,
                "stdin_open" => service.stdin_open = flag()?,
                "read_only" => service.read_only = flag()?,
                "privileged" => service.privileged = flag()?,
                "cap_add" => service.cap_add = strings("a capability")?,
                "cap_drop" => service.cap_drop = strings("a capability")?,
                "security_opt" => service.security_opt = strings("a security option")?,
                "sysctls" => service.sysctls = self.string_map(value)?,
                "ulimits" => service.ulimits = self.ulimits(value)?,
                "tmpfs" => service.tmpfs = strings("a container path")?,
                "shm_size" => service.shm_size = Some(self.bytes(value)?),
                "extra_hosts" => service.extra_hosts = self.extra_hosts(value)?,
                "dns" => service.dns = strings("a DNS server address")?,
                "dns_search" => service.dns_search = strings("a search domain")?,
                "dns_opt" => service.dns_opt = strings("a resolver option")?,
                "ipc" => service.ipc = Some(text("an IPC mode")?),
                "pid" => service.pid = Some(text("a PID mode")?),
                "uts" => service.uts = Some(text("a UTS mode")?),
                "userns_mode" => service.userns_mode = Some(text("a user namespace mode")?),
                "cgroup" => service.cgroup = Some(text("host or private")?),
                "cgroup_parent" => service.cgroup_parent = Some(text("a cgroup")?),
                "runtime" => service.runtime = Some(text("a runtime name")?),
                "isolation" => service.isolation = Some(text("an isolation mode")?),
                "devices" => service.devices = self.devices(value)?,
                "device_cgroup_rules" => service.device_cgroup_rules = strings("a cgroup rule")?,
                "group_add" => service.group_add = strings("a group")?,
                "storage_opt" => service.storage_opt = self.string_map(value)?,
                "oom_kill_disable" => service.oom_kill_disable = flag()?,
                "oom_score_adj" => service.oom_score_adj = Some(self.integer(value)?),
                "stop_signal" => service.stop_signal = Some(text("a signal name")?),
                "stop_grace_period" => service.stop_grace_period = Some(self.duration(value)?),
                "logging" => service.logging = Some(self.logging(value)?),
                "expose" => service.expose = strings("a port")?,
                "links" => service.links = strings("a service name")?,
                "external_links" => service.external_links = strings("a container name")?,
                "volumes_from" => service.volumes_from = strings("a service or container:NAME")?,
                "platform" => service.platform = Some(text("a platform like linux/amd64")?),
                "pull_policy" => service.pull_policy = Some(self.pull_policy(value)?),
                "secrets" => service.secrets = self.file_mounts(value, "/run/secrets")?,
                "configs" => service.configs = self.file_mounts(value, "")?,
                "scale" => service.replicas = Some(self.count(value)?),
                "deploy" => deploy = Some(value),
                "mem_limit" => service.resources.memory = Some(self.bytes(value)?),
                "mem_reservation" => service.resources.memory_reservation = Some(self.bytes(value)?),
                "memswap_limit" => service.resources.memory_swap = Some(self.bytes(value)?),
                "mem_swappiness" => service.resources.memory_swappiness = Some(self.integer(value)?),
                "cpus" => service.resources.nano_cpus = Some(self.nano_cpus(value)?),
                "cpu_shares" => service.resources.cpu_shares = Some(self.integer(value)?),
                "cpu_quota" => service.resources.cpu_quota = Some(self.integer(value)?),
                "cpu_period" => service.resources.cpu_period = Some(self.integer(value)?),
                "cpu_rt_runtime" => service.resources.cpu_rt_runtime = Some(self.micros(value)?),
                "cpu_rt_period" => service.resources.cpu_rt_period = Some(self.micros(value)?),
                "cpuset" => service.resources.cpuset = Some(text("CPUs like 0-3 or 0,1")?),
                "pids_limit" => service.resources.pids_limit = Some(self.integer(value)?),
                "blkio_config" => service.resources.blkio_weight = self.blkio(value)?,
                // What Compose itself ignores on a Linux Engine: said once.
                "cpu_count" | "cpu_percent" | "credential_spec" => {
                    self.warn(key.pos, &format!("service {name}: `{}` applies to Windows containers only; ignored, as Compose ignores it here", key.name));
                }
                "develop" => {
                    service.develop = Some(self.develop(value));
                    self.warn(key.pos, &format!("service {name}: `develop` is for `docker compose watch`; dmp watches with `x-dmp.watch` and ignores it"));
                }
                // `attach` only chooses whose logs `docker compose up` follows
                // (kept for `dmp config`); `extends` is resolved before conversion.
                "attach" => service.attach = flag()?,
                "extends" => {}
                other if other.starts_with("x-") => {}
                other => return Err(self.unknown(key, "service", other, &service_keys())),
            }
        }
        if let Some(deploy) = deploy {
            self.deploy(deploy, &mut service)?;
        }
        if service.network_mode.is_some() {
            if networks_given {
                return Err(self.error(
                    node.pos,
                    &format!("service {name} sets both `network_mode` and `networks`"),
                    "this service",
                    Some("keep one of them: Compose refuses both too"),
                ));
            }
            service.networks.clear();
        }
        // environment over env_file; a key without a value comes from the
        // environment dmp runs in (or .env), and is left out when unset.
        service.environment = env_from_files;
        for (key, value, _) in environment {
            if let Some(value) = value.or_else(|| (self.lookup)(&key)) {
                service.unset_environment.retain(|k| *k != key);
                service.environment.insert(key, value);
            } else {
                service.environment.remove(&key);
                service.unset_environment.push(key);
            }
        }
        if service.image.is_none() && service.build.is_none() {
            return Err(self.error(
                node.pos,
                &format!("service {name} has neither `image` nor `build`"),
                "this service",
                Some("add `image: NAME` or `build: DIR`"),
            ));
        }
        Ok(service)
    }

    /// `develop` as Compose prints it: each watch rule's `path` absolute and
    /// an `exec` with a null command unless one is given.
    fn develop(&self, node: &Node) -> serde_json::Value {
        let mut value = super::to_json(node);
        if let Some(rules) = value.get_mut("watch").and_then(serde_json::Value::as_array_mut) {
            for rule in rules.iter_mut().filter_map(serde_json::Value::as_object_mut) {
                if let Some(path) = rule.get("path").and_then(serde_json::Value::as_str) {
                    let path = self.host_path(path);
                    rule.insert("path".into(), path.into());
                }
                rule.entry("exec").or_insert_with(|| serde_json::json!({ "command": null }));
            }
        }
        value
    }

    /// `env_file`: a path, or a list of paths or `{path, required, format}`,
    /// read in order; a later file wins, and each may use the values of
    /// those before it.
    fn env_files(&self, node: &Node) -> Result<BTreeMap<String, String>> {
        let items = match &node.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        let mut values = BTreeMap::new();
        for item in items {
            let (file, required) = match &item.value {
                Value::Map(entries) => {
                    let mut file = None;
                    let mut required = true;
                    for (key, value) in entries {
                        match key.name.as_str() {
                            "path" => file = Some(self.string(value, "an env file path")?),
                            "required" => required = self.bool(value, "true or false")?,
                            "format" => {
                                let format = self.string(value, "an env file format")?;
                                return Err(self.error(
                                    value.pos,
                                    &format!("unsupported env_file format {format:?}"),
                                    "here",
                                    Some("remove `format`: Compose v2 reads only the dotenv format"),
                                ));
                            }
                            other => {
                                return Err(self.error(
                                    key.pos,
                                    &format!("unknown env_file setting `{other}`"),
                                    "here",
                                    Some("an env_file entry has path, required and format"),
                                ));
                            }
                        }
                    }
                    let file =
                        file.ok_or_else(|| self.error(item.pos, "an env_file entry needs `path`", "here", None))?;
                    (file, required)
                }
                _ => (self.text(item, "an env file path")?, true),
            };
            let path = self.dir.join(&file);
            match crate::user_file::check(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if !required {
                        continue;
                    }
                    return Err(self.error(
                        item.pos,
                        &format!("env_file {file} does not exist (looked for {})", path.display()),
                        "this file",
                        Some("create it (it may be empty), remove it, or write `{ path: FILE, required: false }`"),
                    ));
                }
                // A pipe, a directory, a device or a huge file: refused
                // even when optional, as reading it would block or flood.
                Err(e) => {
                    return Err(self.error(
                        item.pos,
                        &format!("cannot read env_file {file}: {e}"),
                        "this file",
                        Some("name a regular text file (of at most 16 MiB)"),
                    ));
                }
            }
            let earlier = values.clone();
            let lookup = |name: &str| earlier.get(name).cloned().or_else(|| (self.lookup)(name));
            values.extend(read_env_file(&path, true, &lookup)?);
        }
        Ok(values)
    }

    pub(super) fn restart(&self, node: &Node) -> Result<String> {
        let policy = self.text(node, "a restart policy")?;
        let valid = matches!(policy.as_str(), "no" | "always" | "unless-stopped" | "on-failure")
            || policy.strip_prefix("on-failure:").is_some_and(|n| n.parse::<u32>().is_ok());
        if valid {
            Ok(policy)
        } else {
            Err(self.error(
                node.pos,
                &format!("`{policy}` is not a restart policy"),
                "here",
                Some("use no, always, unless-stopped, on-failure or on-failure:N"),
            ))
        }
    }

    pub(super) fn depends_on(
        &self,
        service: &str,
        node: &Node,
        refs: &mut Vec<(String, String, Pos)>,
    ) -> Result<BTreeMap<String, Dependency>> {
        let mut out = BTreeMap::new();
        match &node.value {
            Value::Seq(items) => {
                for item in items {
                    let name = self.string(item, "a service name")?;
                    refs.push((service.to_owned(), name.clone(), item.pos));
                    out.insert(
                        name,
                        Dependency { condition: Condition::ServiceStarted, restart: false, required: true },
                    );
                }
            }
            Value::Map(entries) => {
                for (key, value) in entries {
                    let mut dependency =
                        Dependency { condition: Condition::ServiceStarted, restart: false, required: true };
                    for (k, v) in self.entries(value, "a mapping with `condition`")? {
                        match k.name.as_str() {
                            "condition" => {
                                dependency.condition = match self.string(v, "a condition")?.as_str() {
                                    "service_started" => Condition::ServiceStarted,
                                    "service_healthy" => Condition::ServiceHealthy,
                                    "service_completed_successfully" => Condition::ServiceCompletedSuccessfully,
                                    other => {
                                        return Err(self.error(
                                            v.pos,
                                            &format!("`{other}` is not a depends_on condition"),
                                            "here",
                                            Some("use service_started, service_healthy or service_completed_successfully"),
                                        ));
                                    }
                                };
                            }
                            "restart" => dependency.restart = self.bool(v, "true or false")?,
                            "required" => dependency.required = self.bool(v, "true or false")?,
                            other => {
                                return Err(self.error(
                                    k.pos,
                                    &format!("unknown depends_on setting `{other}`"),
                                    "here",
                                    None,
                                ));
                            }
                        }
                    }
                    // An optional dependency may be missing: checked by the project.
                    if dependency.required {
                        refs.push((service.to_owned(), key.name.clone(), key.pos));
                    }
                    out.insert(key.name.clone(), dependency);
                }
            }
            _ => return Err(self.expected(node, "a list of services or a mapping of service to condition")),
        }
        if out.contains_key(service) {
            return Err(self.error(
                node.pos,
                &format!("service {service} depends on itself"),
                "here",
                Some(&format!("remove {service} from its own depends_on")),
            ));
        }
        Ok(out)
    }

    pub(super) fn healthcheck(&self, node: &Node) -> Result<Healthcheck> {
        let mut check = Healthcheck::default();
        for (key, value) in self.entries(node, "a mapping of healthcheck settings")? {
            let duration = |v: &Node| -> Result<u64> {
                let text = self.text(v, "a duration like 10s")?;
                duration_text::parse(&text).ok_or_else(|| {
                    self.error(
                        v.pos,
                        &format!("`{text}` is not a duration"),
                        "here",
                        Some("write it like 500ms, 10s or 1m30s"),
                    )
                })
            };
            match key.name.as_str() {
                "test" => {
                    check.test = match &value.value {
                        Value::Str(command) => vec!["CMD-SHELL".into(), command.clone()],
                        _ => self.string_list(value, "a test command")?,
                    };
                    if !matches!(check.test.first().map(String::as_str), Some("CMD" | "CMD-SHELL" | "NONE")) {
                        return Err(self.error(
                            value.pos,
                            "a healthcheck test list starts with CMD, CMD-SHELL or NONE",
                            "here",
                            None,
                        ));
                    }
                }
                "interval" => check.interval = Some(duration(value)?),
                "timeout" => check.timeout = Some(duration(value)?),
                "start_period" => check.start_period = Some(duration(value)?),
                "retries" => {
                    let text = self.text(value, "a number")?;
                    check.retries = Some(text.parse().map_err(|_| {
                        self.error(value.pos, &format!("`{text}` is not a number of retries"), "here", None)
                    })?);
                }
                "disable" => check.disable = self.bool(value, "true or false")?,
                "start_interval" => check.start_interval = Some(duration(value)?),
                other => {
                    return Err(self.error(key.pos, &format!("unknown healthcheck setting `{other}`"), "here", None));
                }
            }
        }
        if check.test.first().map(String::as_str) == Some("NONE") {
            check.disable = true;
        }
        Ok(check)
    }
}

/// The service keys of the Compose schema, in order for a help line:
/// compose-go's fields without the legacy ones its schema refuses.
fn service_keys() -> Vec<&'static str> {
    const LEGACY: [&str; 5] = ["dockerfile", "log_driver", "log_opt", "net", "volume_driver"];
    let mut keys: Vec<&str> = SERVICE_ORDER.iter().copied().filter(|k| !LEGACY.contains(k)).collect();
    keys.sort_unstable();
    keys
}
