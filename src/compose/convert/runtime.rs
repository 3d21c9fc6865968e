//! The service keys that shape the running container beyond image and
//! command: networks with their settings, hosts, logging, devices, secrets
//! and configs, pull policy.

use std::collections::BTreeMap;

use super::{Loader, Result};
use crate::compose::model::{Attachment, FileMount, Logging, duration_text};
use crate::compose::yaml::{Node, Value};

impl Loader<'_> {
    /// A service's `networks`: a list of names, or a mapping of name to
    /// settings; in Compose's order (priority, highest first, then name).
    pub(super) fn service_networks(&self, node: &Node) -> Result<(Vec<String>, BTreeMap<String, Attachment>)> {
        let mut names = Vec::new();
        let mut attachments = BTreeMap::new();
        match &node.value {
            Value::Map(entries) => {
                for (key, value) in entries {
                    let mut attachment = Attachment::default();
                    for (k, v) in self.entries(value, "network settings")? {
                        match k.name.as_str() {
                            "aliases" => attachment.aliases = self.string_list(v, "a DNS name")?,
                            "ipv4_address" => attachment.ipv4_address = Some(self.text(v, "an IPv4 address")?),
                            "ipv6_address" => attachment.ipv6_address = Some(self.text(v, "an IPv6 address")?),
                            "link_local_ips" => attachment.link_local_ips = self.string_list(v, "an address")?,
                            "mac_address" => attachment.mac_address = Some(self.text(v, "a MAC address")?),
                            "driver_opts" => attachment.driver_opts = self.string_map(v)?,
                            "priority" => attachment.priority = Some(self.integer(v)?),
                            other if other.starts_with("x-") => {}
                            other => {
                                return Err(self.unknown(
                                    k,
                                    "service network",
                                    other,
                                    &[
                                        "aliases",
                                        "ipv4_address",
                                        "ipv6_address",
                                        "link_local_ips",
                                        "mac_address",
                                        "driver_opts",
                                        "priority",
                                    ],
                                ));
                            }
                        }
                    }
                    names.push(key.name.clone());
                    if attachment != Attachment::default() {
                        attachments.insert(key.name.clone(), attachment);
                    }
                }
            }
            _ => names = self.string_list(node, "a network name")?,
        }
        let priority = |name: &String| attachments.get(name).and_then(|a: &Attachment| a.priority).unwrap_or(0);
        names.sort_by(|a, b| priority(b).cmp(&priority(a)).then_with(|| a.cmp(b)));
        names.dedup();
        Ok((names, attachments))
    }

    /// `extra_hosts`: `host:ip`, `host=ip`, or a mapping of host to address
    /// (or to a list of addresses), as `host:ip` entries.
    pub(super) fn extra_hosts(&self, node: &Node) -> Result<Vec<String>> {
        let mut out = Vec::new();
        match &node.value {
            Value::Map(entries) => {
                for (key, value) in entries {
                    let addresses = match &value.value {
                        Value::Seq(_) => self.string_list(value, "an address")?,
                        _ => vec![self.text(value, "an address")?],
                    };
                    out.extend(addresses.into_iter().map(|ip| format!("{}:{ip}", key.name)));
                }
            }
            _ => {
                for entry in self.string_list(node, "host:address")? {
                    let (host, ip) = entry
                        .split_once('=')
                        .or_else(|| entry.split_once(':'))
                        .ok_or_else(|| self.expected(node, "host:address entries"))?;
                    out.push(format!("{host}:{ip}"));
                }
            }
        }
        Ok(out)
    }

    /// A duration like `10s` or `1m30s`, in nanoseconds.
    pub(super) fn duration(&self, node: &Node) -> Result<u64> {
        let text = self.text(node, "a duration like 10s")?;
        duration_text::parse(&text).ok_or_else(|| {
            self.error(
                node.pos,
                &format!("`{text}` is not a duration"),
                "here",
                Some("write it like 500ms, 10s or 1m30s"),
            )
        })
    }

    pub(super) fn logging(&self, node: &Node) -> Result<Logging> {
        let mut logging = Logging { driver: None, options: BTreeMap::new() };
        for (key, value) in self.entries(node, "logging settings (driver, options)")? {
            match key.name.as_str() {
                "driver" => logging.driver = Some(self.text(value, "a logging driver")?),
                "options" => {
                    logging.options = self
                        .key_values(value, "a mapping of options")?
                        .into_iter()
                        .filter_map(|(k, v, _)| v.map(|v| (k, v)))
                        .collect();
                }
                other => return Err(self.unknown(key, "logging", other, &["driver", "options"])),
            }
        }
        Ok(logging)
    }

    /// `devices`: `HOST[:CONTAINER[:PERMISSIONS]]`, or the long form
    /// `{source, target, permissions}`.
    pub(super) fn devices(&self, node: &Node) -> Result<Vec<String>> {
        let Value::Seq(items) = &node.value else { return Err(self.expected(node, "a list of devices")) };
        items
            .iter()
            .map(|item| match &item.value {
                Value::Map(_) => {
                    let field = |name: &str| item.get(name).and_then(Node::scalar_text);
                    let source = field("source").ok_or_else(|| self.expected(item, "a device with `source`"))?;
                    let target = field("target").unwrap_or_else(|| source.clone());
                    Ok(format!("{source}:{target}:{}", field("permissions").unwrap_or_else(|| "rwm".into())))
                }
                _ => self.text(item, "a device path"),
            })
            .collect()
    }

    pub(super) fn pull_policy(&self, node: &Node) -> Result<String> {
        let policy = self.text(node, "a pull policy")?;
        let valid =
            matches!(policy.as_str(), "always" | "never" | "missing" | "if_not_present" | "build" | "daily" | "weekly")
                || policy.strip_prefix("every_").is_some_and(|d| duration_text::parse(d).is_some());
        if valid {
            Ok(policy)
        } else {
            Err(self.error(
                node.pos,
                &format!("`{policy}` is not a pull policy"),
                "here",
                Some("use always, never, missing, build, daily, weekly or every_<duration>"),
            ))
        }
    }

    /// A service's `secrets` (in `/run/secrets`) or `configs` (in `/`):
    /// names, or `{source, target, uid, gid, mode}`.
    pub(super) fn file_mounts(&self, node: &Node, dir: &str) -> Result<Vec<FileMount>> {
        let Value::Seq(items) = &node.value else { return Err(self.expected(node, "a list")) };
        let mut out = Vec::new();
        for item in items {
            let mut mount = FileMount { source: String::new(), target: None, uid: None, gid: None, mode: None };
            if let Value::Map(entries) = &item.value {
                for (key, value) in entries {
                    match key.name.as_str() {
                        "source" => mount.source = self.text(value, "a name")?,
                        "target" => mount.target = Some(self.text(value, "a path")?),
                        "uid" => mount.uid = Some(self.text(value, "a user id")?),
                        "gid" => mount.gid = Some(self.text(value, "a group id")?),
                        "mode" => {
                            let mode = match &value.value {
                                Value::Int(n) => u32::try_from(*n).ok(),
                                _ => value
                                    .scalar_text()
                                    .and_then(|t| u32::from_str_radix(t.trim_start_matches("0o"), 8).ok()),
                            };
                            mount.mode = Some(mode.ok_or_else(|| self.expected(value, "a file mode like 0o440"))?);
                        }
                        other if other.starts_with("x-") => {}
                        other => {
                            return Err(self.unknown(
                                key,
                                "secret or config",
                                other,
                                &["source", "target", "uid", "gid", "mode"],
                            ));
                        }
                    }
                }
            } else {
                mount.source = self.text(item, "a name")?;
                // Compose writes a short secret's target out; a config's not.
                if !dir.is_empty() {
                    mount.target = Some(format!("{dir}/{}", mount.source));
                }
            }
            if mount.source.is_empty() {
                return Err(self.error(item.pos, "this entry names no `source`", "here", None));
            }
            out.push(mount);
        }
        Ok(out)
    }

    /// `command`/`entrypoint`; `null` leaves the image's.
    pub(super) fn command_or_null(&self, node: &Node) -> Result<Option<Vec<String>>> {
        match node.value {
            Value::Null => Ok(None),
            _ => self.command(node).map(Some),
        }
    }
}
