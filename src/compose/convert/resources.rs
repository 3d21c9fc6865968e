//! Limits: memory and CPU (`mem_limit`, `cpus`, … and `deploy`), ulimits,
//! block I/O, and the units they are written in.

use std::collections::BTreeMap;

use super::{Loader, Result};
use crate::compose::model::{Deploy, Resources, Service, Ulimit};
use crate::compose::yaml::{Node, Value};

impl Loader<'_> {
    /// A size: a number of bytes, or `512m`, `1.5g`, `10MB` (powers of 1024,
    /// as Docker reads them).
    pub(super) fn bytes(&self, node: &Node) -> Result<i64> {
        let text = self.text(node, "a size like 512m or 1g")?;
        parse_bytes(&text).ok_or_else(|| {
            self.error(
                node.pos,
                &format!("`{text}` is not a size"),
                "here",
                Some("write it like 1024, 512k, 64m or 2g"),
            )
        })
    }

    pub(super) fn integer(&self, node: &Node) -> Result<i64> {
        let text = self.text(node, "a whole number")?;
        text.trim().parse().map_err(|_| self.expected(node, "a whole number"))
    }

    /// A count of containers.
    pub(super) fn count(&self, node: &Node) -> Result<u32> {
        let text = self.text(node, "a number of containers")?;
        text.trim().parse().map_err(|_| self.expected(node, "a number of containers (0 or more)"))
    }

    /// `cpus: 1.5` as the Engine's billionths of a CPU.
    pub(super) fn nano_cpus(&self, node: &Node) -> Result<i64> {
        let text = self.text(node, "a number of CPUs like 0.5")?;
        match text.trim().parse::<f64>() {
            #[allow(clippy::cast_possible_truncation)] // at most a few thousand CPUs
            Ok(cpus) if (0.0..1e6).contains(&cpus) => Ok((cpus * 1e9).round() as i64),
            _ => Err(self.expected(node, "a number of CPUs like 0.5")),
        }
    }

    /// Microseconds: a number, or a duration like `950ms`.
    pub(super) fn micros(&self, node: &Node) -> Result<i64> {
        if let Value::Int(n) = node.value {
            return Ok(n);
        }
        let nanos = self.duration(node)?;
        Ok(i64::try_from(nanos / 1000).unwrap_or(i64::MAX))
    }

    /// `nofile: 1024` or `nofile: {soft: 1024, hard: 4096}`.
    pub(super) fn ulimits(&self, node: &Node) -> Result<BTreeMap<String, Ulimit>> {
        let mut out = BTreeMap::new();
        for (key, value) in self.entries(node, "a mapping of ulimits")? {
            let limit = if let Value::Map(entries) = &value.value {
                {
                    let (mut soft, mut hard) = (None, None);
                    for (k, v) in entries {
                        match k.name.as_str() {
                            "soft" => soft = Some(self.integer(v)?),
                            "hard" => hard = Some(self.integer(v)?),
                            other => return Err(self.unknown(k, "ulimit", other, &["soft", "hard"])),
                        }
                    }
                    match (soft, hard) {
                        (Some(soft), Some(hard)) => Ulimit { soft, hard, single: false },
                        _ => return Err(self.error(value.pos, "a ulimit needs `soft` and `hard`", "here", None)),
                    }
                }
            } else {
                let n = self.integer(value)?;
                Ulimit { soft: n, hard: n, single: true }
            };
            out.insert(key.name.clone(), limit);
        }
        Ok(out)
    }

    /// `blkio_config`: the weight is applied; per-device limits are refused.
    pub(super) fn blkio(&self, node: &Node) -> Result<Option<u16>> {
        let mut weight = None;
        for (key, value) in self.entries(node, "block I/O settings")? {
            match key.name.as_str() {
                "weight" => {
                    let n = self.integer(value)?;
                    weight = Some(u16::try_from(n).map_err(|_| self.expected(value, "a weight from 10 to 1000"))?);
                }
                other => {
                    return Err(self.error(
                        key.pos,
                        &format!("blkio_config.{other} is not supported by dmp"),
                        "not supported",
                        Some("dmp applies blkio_config.weight; remove the per-device limits"),
                    ));
                }
            }
        }
        Ok(weight)
    }

    /// `deploy:` on a single Engine: `resources`, `replicas` and
    /// `restart_policy` apply (as in Compose); the Swarm-only rest
    /// (placement, update and rollback settings, labels, endpoint mode)
    /// is ignored, as Compose ignores it without Swarm.
    pub(super) fn deploy(&self, node: &Node, service: &mut Service) -> Result<()> {
        let mut deploy = Deploy::default();
        for (key, value) in self.entries(node, "deploy settings")? {
            match key.name.as_str() {
                "replicas" => deploy.replicas = Some(self.count(value)?),
                "resources" => self.deploy_resources(value, &service.resources, &mut deploy)?,
                "restart_policy" => {
                    for (k, v) in self.entries(value, "a restart policy")? {
                        match k.name.as_str() {
                            "condition" => deploy.restart_condition = Some(self.text(v, "none, on-failure or any")?),
                            "max_attempts" => deploy.restart_max_attempts = Some(self.integer(v)?),
                            "delay" | "window" => {}
                            other => {
                                return Err(self.unknown(
                                    k,
                                    "restart_policy",
                                    other,
                                    &["condition", "delay", "max_attempts", "window"],
                                ));
                            }
                        }
                    }
                }
                "mode" => deploy.mode = Some(self.text(value, "replicated or global")?),
                "labels" => {
                    deploy.labels = self.string_map(value)?;
                    self.warn(
                        key.pos,
                        "deploy.labels label a Swarm service; ignored, as Compose ignores them on a single Engine",
                    );
                }
                "placement" | "update_config" | "rollback_config" | "endpoint_mode" => {
                    self.warn(
                        key.pos,
                        &format!(
                            "deploy.{} applies to Docker Swarm only; ignored, as Compose ignores it on a single Engine",
                            key.name
                        ),
                    );
                }
                other if other.starts_with("x-") => {}
                other => {
                    return Err(self.unknown(
                        key,
                        "deploy",
                        other,
                        &[
                            "mode",
                            "endpoint_mode",
                            "replicas",
                            "labels",
                            "rollback_config",
                            "update_config",
                            "resources",
                            "restart_policy",
                            "placement",
                        ],
                    ));
                }
            }
        }
        if let Some(replicas) = deploy.replicas {
            service.replicas.get_or_insert(replicas);
        }
        if deploy.mode.as_deref() == Some("global") {
            service.replicas = Some(1);
        }
        service.deploy = Some(deploy);
        Ok(())
    }

    /// `deploy.resources`; a value that differs from the top-level key's is
    /// an error, as in Compose.
    fn deploy_resources(&self, node: &Node, top: &Resources, deploy: &mut Deploy) -> Result<()> {
        for (k, v) in self.entries(node, "limits and reservations")? {
            for (rk, rv) in self.entries(v, "cpus, memory, pids")? {
                let (slot, value, top_value, top_key) = match (k.name.as_str(), rk.name.as_str()) {
                    ("limits", "memory") => (&mut deploy.limit_memory, self.bytes(rv)?, top.memory, "mem_limit"),
                    ("limits", "cpus") => (&mut deploy.limit_nano_cpus, self.nano_cpus(rv)?, top.nano_cpus, "cpus"),
                    ("limits", "pids") => (&mut deploy.limit_pids, self.integer(rv)?, top.pids_limit, "pids_limit"),
                    ("reservations", "memory") => {
                        (&mut deploy.reserve_memory, self.bytes(rv)?, top.memory_reservation, "mem_reservation")
                    }
                    // A CPU reservation is a Swarm scheduling hint.
                    ("reservations", "cpus") => (&mut deploy.reserve_nano_cpus, self.nano_cpus(rv)?, None, ""),
                    ("reservations", "devices" | "generic_resources") => {
                        return Err(self.error(
                            rk.pos,
                            &format!(
                                "deploy.resources.reservations.{} (GPUs and other devices) is not supported by dmp",
                                rk.name
                            ),
                            "not supported",
                            Some("remove it; dmp runs web stacks on the local Engine without device requests"),
                        ));
                    }
                    (section, other) => {
                        return Err(self.unknown(
                            rk,
                            &format!("deploy.resources.{section}"),
                            other,
                            &["cpus", "memory", "pids"],
                        ));
                    }
                };
                if top_value.is_some_and(|old| old != value) {
                    return Err(self.error(
                        rk.pos,
                        &format!(
                            "can't set distinct values on '{top_key}' and 'deploy.resources.{}.{}'",
                            k.name, rk.name
                        ),
                        "here",
                        Some(&format!(
                            "give `{top_key}` and this the same value, or keep one (Compose refuses this too)"
                        )),
                    ));
                }
                *slot = Some(value);
            }
        }
        Ok(())
    }
}

/// Docker's `RAMInBytes`: a number with an optional `b`, `k`, `m`, `g`, `t`
/// or `p` (with or without a following `b`, any case), powers of 1024.
pub fn parse_bytes(text: &str) -> Option<i64> {
    let text = text.trim().to_ascii_lowercase();
    let number_len = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let number: f64 = text[..number_len].parse().ok()?;
    let scale: f64 = match text[number_len..].trim() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024f64.powi(4),
        "p" | "pb" | "pib" => 1024f64.powi(5),
        _ => return None,
    };
    #[allow(clippy::cast_possible_truncation)] // sizes fit i64
    Some((number * scale) as i64)
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn sizes_as_docker_reads_them() {
        assert_eq!(parse_bytes("1024"), Some(1024));
        assert_eq!(parse_bytes("512m"), Some(512 * 1024 * 1024));
        assert_eq!(parse_bytes("1g"), Some(1 << 30));
        assert_eq!(parse_bytes("1GB"), Some(1 << 30));
        assert_eq!(parse_bytes("1.5k"), Some(1536));
        assert_eq!(parse_bytes("64MiB"), Some(64 << 20));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(parse_bytes("1x"), None);
    }
}
