//! The top-level `networks`, `volumes`, `secrets` and `configs`.

use std::collections::BTreeMap;

use super::{Loader, Result};
use crate::compose::model::{FileSource, Ipam, IpamPool, Network, Volume};
use crate::compose::yaml::{Key, Node, Value};

impl Loader<'_> {
    pub(super) fn networks(&mut self, node: &Node) -> Result<BTreeMap<String, Network>> {
        let mut out = BTreeMap::new();
        for (key, value) in self.entries(node, "a mapping of network names")? {
            let mut network = Network::default();
            for (k, v) in self.entries(value, "the network's settings")? {
                match k.name.as_str() {
                    "name" => network.name = Some(self.text(v, "a network name")?),
                    "external" => network.external = self.external(k, v)?,
                    "driver" => network.driver = Some(self.text(v, "a network driver")?),
                    "driver_opts" => network.driver_opts = self.string_map(v)?,
                    "internal" => network.internal = self.bool(v, "true or false")?,
                    "attachable" => network.attachable = self.bool(v, "true or false")?,
                    "enable_ipv6" => network.enable_ipv6 = Some(self.bool(v, "true or false")?),
                    "ipam" => network.ipam = Some(self.ipam(v)?),
                    "labels" => network.labels = self.string_map(v)?,
                    other if other.starts_with("x-") => {}
                    other => return Err(self.unknown(k, "network", other, NETWORK_KEYS)),
                }
            }
            if network.external && network.name.is_none() {
                network.name = Some(key.name.clone());
            }
            out.insert(key.name.clone(), network);
        }
        Ok(out)
    }

    pub(super) fn volumes(&mut self, node: &Node) -> Result<BTreeMap<String, Volume>> {
        let mut out = BTreeMap::new();
        for (key, value) in self.entries(node, "a mapping of volume names")? {
            let mut volume = Volume::default();
            for (k, v) in self.entries(value, "the volume's settings")? {
                match k.name.as_str() {
                    "name" => volume.name = Some(self.text(v, "a volume name")?),
                    "external" => volume.external = self.external(k, v)?,
                    "driver" => volume.driver = Some(self.text(v, "a volume driver")?),
                    "driver_opts" => volume.driver_opts = self.string_map(v)?,
                    "labels" => volume.labels = self.string_map(v)?,
                    other if other.starts_with("x-") => {}
                    other => return Err(self.unknown(k, "volume", other, VOLUME_KEYS)),
                }
            }
            if volume.external && volume.name.is_none() {
                volume.name = Some(key.name.clone());
            }
            if !volume.external {
                // The Engine's rule for volume names, checked before anything
                // is created: the project's prefix comes before the key.
                let (name, pos) = match (&volume.name, value.get("name")) {
                    (Some(name), Some(v)) => (name.clone(), v.pos),
                    _ => (format!("x{}", key.name), key.pos),
                };
                let valid = name.len() >= 2 && crate::compose::validate::check_name(&name).is_ok();
                if !valid {
                    let shown = volume.name.clone().unwrap_or_else(|| key.name.clone());
                    return Err(self.error(
                        pos,
                        &format!("`{}` is not a valid volume name", crate::compose::clip(&shown)),
                        "here",
                        Some("a volume name has two or more letters, digits, `_`, `-` or `.`, starting with a letter or digit"),
                    ));
                }
            }
            out.insert(key.name.clone(), volume);
        }
        Ok(out)
    }

    /// Top-level `secrets` (`configs` when `content` is allowed).
    pub(super) fn file_sources(&mut self, node: &Node, what: &str) -> Result<BTreeMap<String, FileSource>> {
        let mut out = BTreeMap::new();
        for (key, value) in self.entries(node, &format!("a mapping of {what} names"))? {
            let mut source = None;
            for (k, v) in self.entries(value, &format!("the {what}'s settings"))? {
                match k.name.as_str() {
                    "file" => source = Some(FileSource::File(self.host_path(&self.text(v, "a file path")?).into())),
                    "environment" => {
                        let variable = self.text(v, "a variable name")?;
                        let value = (self.lookup)(&variable).unwrap_or_default();
                        source = Some(FileSource::Environment { variable, value });
                    }
                    "content" if what == "config" => source = Some(FileSource::Content(self.text(v, "text")?)),
                    "external" if self.external(k, v)? => {
                        return Err(self.error(
                            k.pos,
                            &format!("external {what}s need Docker Swarm; Compose refuses them on a single Engine too"),
                            "here",
                            Some("use `file:` or `environment:` instead"),
                        ));
                    }
                    "external" | "name" | "labels" | "driver" | "driver_opts" | "template_driver" => {}
                    other if other.starts_with("x-") => {}
                    other => {
                        return Err(self.error(
                            k.pos,
                            &format!("unknown {what} setting `{other}`"),
                            "here",
                            Some(&format!(
                                "a {what} has file, environment{}, name and labels",
                                if what == "config" { ", content" } else { "" }
                            )),
                        ));
                    }
                }
            }
            let source = source.ok_or_else(|| {
                self.error(
                    key.pos,
                    &format!("{what} {} has no `file` or `environment`", key.name),
                    "here",
                    Some("name a file (`file: ./secret.txt`) or a variable (`environment: VAR`)"),
                )
            })?;
            out.insert(key.name.clone(), source);
        }
        Ok(out)
    }

    /// `external: true`, or the old `external: {name: …}` form.
    fn external(&self, key: &Key, node: &Node) -> Result<bool> {
        match &node.value {
            Value::Map(_) => {
                self.warn(key.pos, "`external: {name: …}` is deprecated; write `name:` beside `external: true`");
                Ok(true)
            }
            _ => self.bool(node, "true or false"),
        }
    }

    fn ipam(&self, node: &Node) -> Result<Ipam> {
        let mut ipam = Ipam::default();
        for (k, v) in self.entries(node, "ipam settings (driver, config, options)")? {
            match k.name.as_str() {
                "driver" => ipam.driver = Some(self.text(v, "an IPAM driver")?),
                "options" => ipam.options = self.string_map(v)?,
                "config" => {
                    let Value::Seq(items) = &v.value else { return Err(self.expected(v, "a list of pools")) };
                    for item in items {
                        let mut pool = IpamPool::default();
                        for (pk, pv) in self.entries(item, "a pool (subnet, ip_range, gateway, aux_addresses)")? {
                            match pk.name.as_str() {
                                "subnet" => pool.subnet = Some(self.text(pv, "a subnet")?),
                                "ip_range" => pool.ip_range = Some(self.text(pv, "an address range")?),
                                "gateway" => pool.gateway = Some(self.text(pv, "an address")?),
                                "aux_addresses" => pool.aux_addresses = self.string_map(pv)?,
                                other => {
                                    return Err(self.unknown(
                                        pk,
                                        "ipam pool",
                                        other,
                                        &["subnet", "ip_range", "gateway", "aux_addresses"],
                                    ));
                                }
                            }
                        }
                        ipam.config.push(pool);
                    }
                }
                other => return Err(self.unknown(k, "ipam", other, &["driver", "config", "options"])),
            }
        }
        Ok(ipam)
    }
}

const NETWORK_KEYS: &[&str] =
    &["name", "external", "driver", "driver_opts", "internal", "attachable", "enable_ipv6", "ipam", "labels"];
const VOLUME_KEYS: &[&str] = &["name", "external", "driver", "driver_opts", "labels"];
