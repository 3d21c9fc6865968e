//! `ports:`, short and long forms.

use super::{Loader, Result};
use crate::compose::model::Port;
use crate::compose::yaml::{Key, Node, Value};

impl Loader<'_> {
    pub(super) fn ports(&self, node: &Node) -> Result<Vec<Port>> {
        let Value::Seq(items) = &node.value else {
            return Err(self.expected(node, "a list of ports"));
        };
        let mut ports = Vec::new();
        for item in items {
            let parsed = match &item.value {
                Value::Int(_) | Value::Str(_) => {
                    let text = item.scalar_text().unwrap_or_default();
                    parse_port(&text).map_err(|why| {
                        self.error(
                            item.pos,
                            &format!("`{text}` is not a port: {why}"),
                            "this port",
                            Some("write CONTAINER, HOST:CONTAINER or IP:HOST:CONTAINER, with ports from 1 to 65535 and an optional /tcp or /udp"),
                        )
                    })?
                }
                Value::Map(entries) => vec![self.long_port(item, entries)?],
                _ => return Err(self.expected(item, "a port")),
            };
            ports.extend(parsed);
        }
        Ok(ports)
    }

    pub(super) fn long_port(&self, node: &Node, entries: &[(Key, Node)]) -> Result<Port> {
        let mut port = Port {
            target: 0,
            published: None,
            host_ip: "127.0.0.1".into(),
            protocol: "tcp".into(),
            name: None,
            app_protocol: None,
        };
        for (key, value) in entries {
            let number = |v: &Node| -> Result<u16> {
                let text = self.text(v, "a port number")?;
                port_number(&text)
                    .map_err(|why| self.error(v.pos, &format!("`{text}` is not a port: {why}"), "here", None))
            };
            match key.name.as_str() {
                "target" => port.target = number(value)?,
                "published" => port.published = Some(number(value)?),
                "host_ip" => {
                    let ip = self.string(value, "an IP address")?;
                    // An empty address is no address, as in the short form
                    // (`:8080:80`): the loopback default holds.
                    if !ip.trim().is_empty() {
                        port.host_ip = host_ip(&ip)
                            .map_err(|why| self.error(value.pos, &why, "this address", Some(HOST_IP_HELP)))?;
                    }
                }
                "protocol" => {
                    let protocol = self.string(value, "tcp or udp")?;
                    port.protocol = protocol_name(&protocol).map_err(|why| {
                        self.error(value.pos, &why, "this protocol", Some("write `protocol: tcp` or `protocol: udp`"))
                    })?;
                }
                "name" => port.name = Some(self.text(value, "a port name")?),
                "app_protocol" => port.app_protocol = Some(self.text(value, "a protocol name")?),
                "mode" => {}
                other => return Err(self.error(key.pos, &format!("unknown port setting `{other}`"), "here", None)),
            }
        }
        if port.target == 0 {
            return Err(self.error(node.pos, "a port needs `target`", "this port", None));
        }
        Ok(port)
    }
}

const HOST_IP_HELP: &str =
    "write an IP address: 127.0.0.1 (or ::1) for this machine only, 0.0.0.0 to publish on every interface";

/// A `host_ip` as the Engine will bind it. The Engine reads anything but an
/// IP address (`localhost`, a host name) as "every interface", so only IP
/// addresses pass: the loopback default must hold for every form a port
/// can take.
pub(super) fn host_ip(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    let bare = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(trimmed);
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => Ok(ip.to_string()),
        Err(_) if bare.eq_ignore_ascii_case("localhost") => Err(format!(
            "`{}` is a host name, not an IP address: the Engine would publish this port on every interface",
            crate::compose::clip(text)
        )),
        Err(_) => Err(format!("`{}` is not an IP address", crate::compose::clip(text))),
    }
}

/// `tcp` or `udp`, the protocols dmp publishes.
pub(super) fn protocol_name(text: &str) -> Result<String, String> {
    let lower = text.trim().to_ascii_lowercase();
    if lower == "tcp" || lower == "udp" {
        Ok(lower)
    } else {
        Err(format!("the protocol `{}` is not tcp or udp", crate::compose::clip(text)))
    }
}

/// `[IP:][HOST:]CONTAINER[/PROTOCOL]`, with `A-B` ranges of equal length.
pub fn parse_port(text: &str) -> Result<Vec<Port>, String> {
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((spec, protocol)) if protocol == "tcp" || protocol == "udp" => (spec, protocol),
        Some((_, protocol)) => return Err(format!("the protocol `{protocol}` is not tcp or udp")),
        None => (text, "tcp"),
    };
    // An IPv6 address is written in brackets: [::1]:8080:80.
    let (host_ip, rest) = match spec.strip_prefix('[') {
        Some(after) => {
            let (ip, rest) = after.split_once("]:").ok_or("an IPv6 address needs `]:` after it")?;
            (Some(ip.to_owned()), rest)
        }
        None => (None, spec),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, host, container) = match (host_ip, parts.as_slice()) {
        (None, [container]) => (None, None, *container),
        (None, [host, container]) => (None, Some(*host), *container),
        (None, [ip, host, container]) => (Some((*ip).to_owned()), Some(*host), *container),
        (Some(ip), [host, container]) => (Some(ip), Some(*host), *container),
        _ => return Err("too many `:`".into()),
    };
    // `:8080:80`: an empty address is no address, as in Compose.
    let ip = ip.filter(|ip| !ip.is_empty());
    let ip = ip.map(|ip| self::host_ip(&ip)).transpose()?;
    let host = host.filter(|h| !h.is_empty());
    let targets = port_range(container)?;
    let published: Vec<Option<u16>> = match host {
        None => vec![None; targets.len()],
        Some(host) => port_range(host)?.into_iter().map(Some).collect(),
    };
    if published.len() != targets.len() {
        return Err("the host and container ranges differ in length".into());
    }
    let host_ip = ip.unwrap_or_else(|| "127.0.0.1".into());
    Ok(targets
        .into_iter()
        .zip(published)
        .map(|(target, published)| Port {
            target,
            published,
            host_ip: host_ip.clone(),
            protocol: protocol.to_owned(),
            name: None,
            app_protocol: None,
        })
        .collect())
}

fn port_range(text: &str) -> Result<Vec<u16>, String> {
    match text.split_once('-') {
        Some((start, end)) => {
            let (start, end) = (port_number(start)?, port_number(end)?);
            if start > end {
                return Err(format!("the range {start}-{end} runs backwards"));
            }
            Ok((start..=end).collect())
        }
        None => Ok(vec![port_number(text)?]),
    }
}

pub(super) fn port_number(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(u16::try_from(n).expect("checked range")),
        Ok(n) => Err(format!("{n} is outside 1-65535")),
        Err(_) => Err(format!("`{text}` is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_syntax() {
        let one = |text: &str| {
            parse_port(text)
                .map(|p| p.into_iter().map(|p| (p.host_ip, p.published, p.target, p.protocol)).collect::<Vec<_>>())
        };
        assert_eq!(one("80"), Ok(vec![("127.0.0.1".into(), None, 80, "tcp".into())]));
        assert_eq!(one("8080:80"), Ok(vec![("127.0.0.1".into(), Some(8080), 80, "tcp".into())]));
        assert_eq!(one("0.0.0.0:8080:80/udp"), Ok(vec![("0.0.0.0".into(), Some(8080), 80, "udp".into())]));
        assert_eq!(one("127.0.0.1::80"), Ok(vec![("127.0.0.1".into(), None, 80, "tcp".into())]));
        assert_eq!(one("[::1]:8080:80"), Ok(vec![("::1".into(), Some(8080), 80, "tcp".into())]));
        assert_eq!(one("8000-8001:80-81").map(|v| v.len()), Ok(2));
        assert_eq!(one(":8080:80"), Ok(vec![("127.0.0.1".into(), Some(8080), 80, "tcp".into())]));
        assert_eq!(one("[::1]:8080:80").expect("valid")[0].0, "::1");
        for bad in ["", "abc", "0", "70000", "8080:80:90:100", "80/sctp", "8000-8002:80-81", "9-8", "localhost:80:80"] {
            assert!(parse_port(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn only_ip_addresses_are_bound() {
        assert_eq!(host_ip("127.0.0.1"), Ok("127.0.0.1".into()));
        assert_eq!(host_ip("[::1]"), Ok("::1".into()));
        for bad in ["localhost", "LOCALHOST", "my-host", "127.0.0.1.", "*"] {
            assert!(host_ip(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(protocol_name("UDP"), Ok("udp".into()));
        assert!(protocol_name("xyz").is_err());
    }
}
