//! One service: its keys, environment, restart, `depends_on`, healthcheck.

use std::collections::BTreeMap;

use super::{Loader, Result};
use crate::compose::env_file::read_env_file;
use crate::compose::model::{Condition, Dependency, Healthcheck, Service, duration_text};
use crate::compose::yaml::{Node, Pos, Value};

impl Loader<'_> {
    pub(super) fn service(
        &mut self,
        name: &str,
        node: &Node,
        depends: &mut Vec<(String, String, Pos)>,
    ) -> Result<Service> {
        let mut service = Service { name: name.to_owned(), networks: vec!["default".into()], ..Service::default() };
        let mut env_from_files = BTreeMap::new();
        let mut environment = Vec::new();
        for (key, value) in self.entries(node, "a mapping of service settings")? {
            match key.name.as_str() {
                "image" => service.image = Some(self.string(value, "an image name")?),
                "build" => service.build = Some(self.build(value)?),
                "command" => service.command = Some(self.command(value)?),
                "entrypoint" => service.entrypoint = Some(self.command(value)?),
                "environment" => environment = self.key_values(value, "a mapping or a list of KEY=value")?,
                "env_file" => env_from_files = self.env_files(value)?,
                "ports" => service.ports = self.ports(value)?,
                "volumes" => service.volumes = self.mounts(value)?,
                "depends_on" => service.depends_on = self.depends_on(name, value, depends)?,
                "healthcheck" => service.healthcheck = Some(self.healthcheck(value)?),
                "user" => service.user = Some(self.text(value, "a user name or uid[:gid]")?),
                "working_dir" => service.working_dir = Some(self.string(value, "an absolute path")?),
                "init" => service.init = Some(self.bool(value, "true or false")?),
                "labels" => {
                    service.labels = self
                        .key_values(value, "a mapping or a list of KEY=value")?
                        .into_iter()
                        .map(|(k, v, _)| (k, v.unwrap_or_default()))
                        .collect();
                }
                "restart" => service.restart = Some(self.restart(value)?),
                "profiles" => service.profiles = self.string_list(value, "a profile name")?,
                "networks" => {
                    service.networks = match &value.value {
                        Value::Map(entries) => entries.iter().map(|(k, _)| k.name.clone()).collect(),
                        _ => self.string_list(value, "a network name")?,
                    };
                }
                other if other.starts_with("x-") => {}
                other => {
                    self.warn(key.pos, &format!("service {name}: `{other}` is not supported by dmp and is ignored"));
                }
            }
        }
        // environment over env_file; a key without a value comes from the
        // environment dmp runs in (or .env), and is left out when unset.
        service.environment = env_from_files;
        for (key, value, _) in environment {
            match value.or_else(|| (self.lookup)(&key)) {
                Some(value) => service.environment.insert(key, value),
                None => service.environment.remove(&key),
            };
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
            if !path.is_file() {
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
                    out.insert(name, Dependency { condition: Condition::ServiceStarted });
                }
            }
            Value::Map(entries) => {
                for (key, value) in entries {
                    refs.push((service.to_owned(), key.name.clone(), key.pos));
                    let mut condition = Condition::ServiceStarted;
                    for (k, v) in self.entries(value, "a mapping with `condition`")? {
                        match k.name.as_str() {
                            "condition" => {
                                condition = match self.string(v, "a condition")?.as_str() {
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
                            "restart" | "required" => {}
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
                    out.insert(key.name.clone(), Dependency { condition });
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
                "start_interval" => {}
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
