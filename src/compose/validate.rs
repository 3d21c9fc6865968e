//! Checks across the whole stack: references between services, volumes
//! and networks, dependency cycles, names.

use std::collections::{BTreeMap, BTreeSet};

use super::convert::Loader;
use super::convert::Result;
use super::model::{DmpSettings, FileSource, MountKind, Network, Service, Volume};
use super::yaml::Pos;

impl Loader<'_> {
    /// `depends_on` entries with `required: false` whose service is not in
    /// the stack are dropped, with a warning (Compose's behaviour).
    pub(super) fn drop_missing_optional_dependencies(&self, services: &mut BTreeMap<String, Service>) {
        let names: BTreeSet<String> = services.keys().cloned().collect();
        for service in services.values_mut() {
            let missing: Vec<String> = service
                .depends_on
                .iter()
                .filter(|(name, dependency)| !dependency.required && !names.contains(*name))
                .map(|(name, _)| name.clone())
                .collect();
            for name in missing {
                service.depends_on.remove(&name);
                self.warn(
                    crate::compose::yaml::Pos::default(),
                    &format!(
                        "service {} depends on {name} (required: false), which is not in the stack; ignored",
                        service.name
                    ),
                );
            }
        }
    }

    /// Services' secrets and configs must be declared at the top level.
    pub(super) fn check_files(
        &self,
        services: &BTreeMap<String, Service>,
        secrets: &BTreeMap<String, FileSource>,
        configs: &BTreeMap<String, FileSource>,
    ) -> Result<()> {
        for service in services.values() {
            for (what, mounts, declared) in
                [("secret", &service.secrets, secrets), ("config", &service.configs, configs)]
            {
                for mount in mounts {
                    if !declared.contains_key(&mount.source) {
                        return Err(self.project_error(
                            &format!(
                                "service {} uses the {what} {}, which is not declared under the top-level `{what}s:`",
                                service.name, mount.source
                            ),
                            &format!(
                                "add `{what}s: {{ {}: {{ file: ./{} }} }}` at the top level",
                                mount.source, mount.source
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// `depends_on`, volumes, networks and `x-dmp` services must all exist.
    pub(super) fn check_references(
        &self,
        services: &BTreeMap<String, Service>,
        inactive: &BTreeSet<String>,
        depends_pos: &[(String, String, Pos)],
        volumes: &BTreeMap<String, Volume>,
        networks: &BTreeMap<String, Network>,
        dmp: &DmpSettings,
    ) -> Result<()> {
        for (service, dependency, pos) in depends_pos {
            if !services.contains_key(service) {
                continue;
            }
            if inactive.contains(dependency) {
                return Err(self.error(
                    *pos,
                    &format!("service {service} depends on {dependency}, which is in a profile that is not enabled"),
                    "this dependency",
                    Some(&format!("enable its profile with --profile, or remove {dependency} from depends_on")),
                ));
            }
            if !services.contains_key(dependency) {
                let known: Vec<&str> = services.keys().map(String::as_str).collect();
                return Err(self.error(
                    *pos,
                    &format!("service {service} depends on {dependency}, which is not a service"),
                    "unknown service",
                    Some(&format!("the services are: {}", crate::compose::clip_list(&known, ", "))),
                ));
            }
        }
        check_cycles(services).map_err(|cycle| {
            self.project_error(
                &format!("the services depend on each other in a cycle: {}", crate::compose::clip_list(&cycle, " -> ")),
                "remove one of these depends_on entries",
            )
        })?;
        let mut published: BTreeMap<(String, u16), &str> = BTreeMap::new();
        for service in services.values() {
            for mount in &service.volumes {
                if let (MountKind::Volume, Some(name)) = (mount.kind, &mount.source)
                    && !volumes.contains_key(name)
                {
                    return Err(self.project_error(
                        &format!(
                            "service {} uses the volume {name}, which is not declared under `volumes:`",
                            service.name
                        ),
                        &format!(
                            "add `volumes: {{ {name}: {{}} }}` at the top level, or write ./{name} for a bind mount"
                        ),
                    ));
                }
            }
            for network in &service.networks {
                if network != "default" && !networks.contains_key(network) {
                    return Err(self.project_error(
                        &format!(
                            "service {} joins the network {network}, which is not declared under the top-level `networks:`",
                            service.name
                        ),
                        &format!("add `networks: {{ {network}: {{}} }}` at the top level"),
                    ));
                }
            }
            for port in &service.ports {
                let Some(host_port) = port.published else { continue };
                if let Some(other) = published.insert((port.host_ip.clone(), host_port), &service.name)
                    && other != service.name
                {
                    return Err(self.project_error(
                        &format!("services {other} and {} both publish {}:{host_port}", service.name, port.host_ip),
                        "give one of them another host port",
                    ));
                }
            }
        }
        for rule in &dmp.watch {
            if !services.contains_key(&rule.service) {
                return Err(self.project_error(
                    &format!(
                        "watch rule {} runs in the service {}, which is not in the stack",
                        rule.name, rule.service
                    ),
                    "name the service with `service:` in the rule (the default is buildstatic)",
                ));
            }
        }
        for (setting, value) in [("app", &dmp.app), ("http", &dmp.http)] {
            if let Some(name) = value
                && !services.contains_key(name)
            {
                return Err(self.project_error(
                    &format!("x-dmp.{setting} names the service {name}, which is not in the stack"),
                    &format!("the services are: {}", services.keys().cloned().collect::<Vec<_>>().join(", ")),
                ));
            }
        }

        Ok(())
    }
}

/// The services whose containers `service` uses: `network_mode:
/// service:X`, `links: [X]`, `volumes_from: [X]`.
pub fn implied_dependencies(service: &Service) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(other) = service.network_mode.as_deref().and_then(|m| m.strip_prefix("service:")) {
        out.push(other.to_owned());
    }
    for link in &service.links {
        out.push(link.split_once(':').map_or(link.as_str(), |(name, _)| name).to_owned());
    }
    for source in &service.volumes_from {
        if source.starts_with("container:") {
            continue;
        }
        let source = source.strip_prefix("service:").unwrap_or(source);
        out.push(source.split(':').next().unwrap_or(source).to_owned());
    }
    out
}

pub fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid {
        Ok(())
    } else {
        Err(format!("`{name}` is not a valid name (letters, digits, `_`, `-`, `.`, starting with a letter or digit)"))
    }
}

/// The services' dependency cycle, if there is one. Iterative and linear
/// in services plus dependencies, so a chain of thousands of services
/// neither takes long nor overflows the stack.
pub fn check_cycles(services: &BTreeMap<String, Service>) -> Result<(), Vec<String>> {
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut on_path: BTreeSet<&str> = BTreeSet::new();
    for root in services.keys() {
        if done.contains(root.as_str()) {
            continue;
        }
        let mut path = vec![(root.as_str(), services[root].depends_on.keys())];
        on_path.insert(root);
        while let Some((name, dependencies)) = path.last_mut() {
            let name = *name;
            match dependencies.next().map(String::as_str) {
                Some(dependency) if on_path.contains(dependency) => {
                    let start = path.iter().position(|(p, _)| *p == dependency).unwrap_or_default();
                    let mut cycle: Vec<String> = path[start..].iter().map(|(p, _)| (*p).to_owned()).collect();
                    cycle.push(dependency.to_owned());
                    return Err(cycle);
                }
                Some(dependency) => {
                    if let Some(service) = services.get(dependency).filter(|_| !done.contains(dependency)) {
                        on_path.insert(dependency);
                        path.push((dependency, service.depends_on.keys()));
                    }
                }
                None => {
                    on_path.remove(name);
                    done.insert(name);
                    path.pop();
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("web-1.x_y").is_ok());
        assert!(check_name("-web").is_err());
        assert!(check_name("we b").is_err());
        assert!(crate::compose::discovery::check_project_name("my_app-2").is_ok());
        assert!(crate::compose::discovery::check_project_name("MyApp").is_err());
    }

    #[test]
    fn cycles_are_found_in_long_chains_quickly() {
        const DEPENDENCY: super::super::model::Dependency = super::super::model::Dependency {
            condition: super::super::model::Condition::ServiceStarted,
            restart: false,
            required: true,
        };
        let mut services = BTreeMap::new();
        let n = 20_000;
        for i in 0..n {
            let mut service = Service { name: format!("s{i:05}"), ..Service::default() };
            if i > 0 {
                service.depends_on.insert(format!("s{:05}", i - 1), DEPENDENCY);
            }
            services.insert(service.name.clone(), service);
        }
        let started = std::time::Instant::now();
        assert_eq!(check_cycles(&services), Ok(()));
        services.get_mut("s00000").expect("first").depends_on.insert(format!("s{:05}", n - 1), DEPENDENCY);
        let cycle = check_cycles(&services).expect_err("a cycle");
        assert_eq!(cycle.len(), n + 1);
        assert_eq!(cycle.first(), cycle.last());
        assert!(started.elapsed().as_secs() < 2, "{:?}", started.elapsed());
    }
}
