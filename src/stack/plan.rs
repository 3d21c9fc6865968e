//! Decisions about the stack that need no Engine: which services a command
//! covers, and which host ports must be free.

use std::collections::BTreeSet;

use super::ProjectContainer;
use crate::compose::Project;
use crate::compose::model::Service;
use crate::error::{Error, Result};

/// The named services and everything they depend on, dependencies first.
pub fn select<'p>(project: &'p Project, names: &[String]) -> Result<Vec<&'p Service>> {
    for name in names {
        if !project.services.contains_key(name) {
            return Err(Error::UnknownService {
                name: name.clone(),
                available: project.services.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        }
    }
    let mut wanted: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    let mut queue: Vec<&str> = wanted.iter().copied().collect();
    while let Some(name) = queue.pop() {
        for dependency in project.services[name].depends_on.keys() {
            if wanted.insert(dependency) {
                queue.push(dependency);
            }
        }
    }
    Ok(project.start_order().into_iter().filter(|s| names.is_empty() || wanted.contains(s.name.as_str())).collect())
}

/// Every fixed host port must be free, or already held by this project.
pub fn check_ports(selected: &[&Service], existing: &[ProjectContainer]) -> Result<()> {
    let held: BTreeSet<(String, u16)> = existing
        .iter()
        .filter(|c| c.running())
        .flat_map(|c| c.ports.iter().map(|p| (p.host_ip.clone(), p.published)))
        .collect();
    // (Two services publishing one port is rejected when loading.)
    for service in selected {
        for port in &service.ports {
            let Some(published) = port.published else { continue };
            let key = (port.host_ip.clone(), published);
            if held.contains(&key) || port.protocol != "tcp" {
                continue;
            }
            if let Err(e) = std::net::TcpListener::bind((port.host_ip.as_str(), published)) {
                return Err(Error::PortTaken {
                    port: published,
                    host_ip: port.host_ip.clone(),
                    service: service.name.clone(),
                    reason: e.to_string(),
                });
            }
        }
    }
    Ok(())
}
