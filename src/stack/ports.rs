//! The host ports a stack publishes: which must be free before `up`
//! creates anything (those this project's running containers hold already
//! are not), and the check itself.

use std::collections::BTreeSet;

use super::ProjectContainer;
use crate::compose::model::{Port, Service};
use crate::stack::error::{Result, StackError};

/// The fixed host ports (TCP and UDP) of `selected` that must be free: all
/// but those a running container of this project holds already.
pub fn ports_to_check<'s>(selected: &[&'s Service], existing: &[ProjectContainer]) -> Vec<(&'s Service, &'s Port)> {
    let held: BTreeSet<(&str, u16, &str)> = existing
        .iter()
        .filter(|c| c.running())
        .flat_map(|c| c.ports.iter().map(|p| (p.host_ip.as_str(), p.published, p.protocol.as_str())))
        .collect();
    // (Two services publishing one port is rejected when loading.)
    selected
        .iter()
        .flat_map(|service| service.ports.iter().map(move |port| (*service, port)))
        .filter(|(_, port)| {
            port.published.is_some_and(|p| !held.contains(&(port.host_ip.as_str(), p, port.protocol.as_str())))
        })
        .collect()
}

/// Whether `host_ip:port` can be bound now; the error says why not.
pub fn port_free(host_ip: &str, port: u16) -> std::io::Result<()> {
    std::net::TcpListener::bind((host_ip, port)).map(drop)
}

/// Every fixed host port must be free, or already held by this project.
pub fn check_ports(selected: &[&Service], existing: &[ProjectContainer]) -> Result<()> {
    for (service, port) in ports_to_check(selected, existing) {
        let published = port.published.unwrap_or_default();
        let free = if port.protocol == "udp" {
            std::net::UdpSocket::bind((port.host_ip.as_str(), published)).map(drop)
        } else {
            port_free(&port.host_ip, published)
        };
        if let Err(e) = free {
            return Err(StackError::PortTaken {
                port: published,
                host_ip: port.host_ip.clone(),
                service: service.name.clone(),
                reason: e.to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::PublishedPort;
    use crate::stack::plan::{
        select,
        tests::{container, project},
    };

    #[test]
    fn ports_held_by_the_project_or_not_fixed_are_not_checked() {
        let port = |published: Option<u16>, protocol: &str| Port {
            target: 80,
            published,
            host_ip: "127.0.0.1".into(),
            protocol: protocol.into(),
            name: None,
            app_protocol: None,
        };
        let ports = [port(Some(8080), "tcp"), port(None, "tcp"), port(Some(5353), "udp"), port(Some(8081), "tcp")];
        let project = project(&[("web", &[], &ports)]);
        let selected = select(&project, &[]).expect("all");
        let mut running = container("web", "p-web-1", "running", None, None);
        running.ports =
            vec![PublishedPort { host_ip: "127.0.0.1".into(), published: 8080, target: 80, protocol: "tcp".into() }];
        let checked = |existing: &[ProjectContainer]| -> Vec<u16> {
            ports_to_check(&selected, existing).iter().filter_map(|(_, p)| p.published).collect()
        };
        assert_eq!(checked(&[running.clone()]), [5353, 8081], "8080 is this project's already");
        running.state = "exited".into();
        assert_eq!(checked(&[running]), [8080, 5353, 8081], "a stopped container holds nothing");
        assert_eq!(checked(&[]), [8080, 5353, 8081]);
    }
}
