//! What one `up` created on the Engine, so that when the Engine refuses a
//! later step the run can take back its own new objects, and only those:
//! nothing that existed before the run is ever in the journal.

use std::sync::Mutex;

use bollard::Docker;

use super::apply;
use crate::engine::Request as _;

/// An object this run created, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    Network(String),
    Volume(String),
    /// Recorded before the create call: a container the Engine made but
    /// could not start is this run's too.
    Container(String),
}

#[derive(Debug, Default)]
pub struct Journal {
    created: Mutex<Vec<Created>>,
}

impl Journal {
    pub fn record(&self, object: Created) {
        self.created.lock().expect("journal lock").push(object);
    }

    /// Rolls back and says what was undone, in one clause for a message:
    /// "dmp removed the 2 containers, 1 network and 1 volume this run had
    /// created".
    pub async fn undo(&self, docker: &Docker) -> String {
        let removed = self.roll_back(docker).await;
        let count = |kind: &str| removed.iter().filter(|r| r.starts_with(kind)).count();
        let parts: Vec<String> = ["container", "network", "volume"]
            .into_iter()
            .map(|kind| (kind, count(kind)))
            .filter(|(_, n)| *n > 0)
            .map(|(kind, n)| format!("{n} {kind}{}", if n == 1 { "" } else { "s" }))
            .collect();
        match parts.as_slice() {
            [] => "it had created nothing yet".into(),
            [one] => format!("dmp removed the {one} this run had created"),
            [init @ .., last] => format!("dmp removed the {} and {last} this run had created", init.join(", ")),
        }
    }

    /// Removes what was recorded, containers first (they hold the networks
    /// and volumes), then networks, then volumes; each in the reverse of the
    /// order it was made. Returns what was removed, for the message; what
    /// cannot be removed is logged and left (the next `dmp down` removes it).
    pub async fn roll_back(&self, docker: &Docker) -> Vec<String> {
        let created = std::mem::take(&mut *self.created.lock().expect("journal lock"));
        let mut removed = Vec::new();
        let in_order = |kind: fn(&Created) -> Option<&String>| -> Vec<String> {
            created.iter().rev().filter_map(kind).cloned().collect()
        };
        for name in in_order(|c| if let Created::Container(n) = c { Some(n) } else { None }) {
            // The create call itself may have been what the Engine refused.
            if docker.inspect_container(&name, None).timed(format_args!("inspect container {name}")).await.is_err() {
                continue;
            }
            match apply::remove(docker, &name, false).await {
                Ok(()) => removed.push(format!("container {name}")),
                Err(e) => tracing::warn!(target: "dmp::up", "cannot roll back container {name}: {e}"),
            }
        }
        for name in in_order(|c| if let Created::Network(n) = c { Some(n) } else { None }) {
            match docker.remove_network(&name).timed(format_args!("remove network {name}")).await {
                Ok(()) => removed.push(format!("network {name}")),
                Err(e) => tracing::warn!(target: "dmp::up", "cannot roll back network {name}: {e}"),
            }
        }
        for name in in_order(|c| if let Created::Volume(n) = c { Some(n) } else { None }) {
            match docker
                .remove_volume(&name, None::<bollard::query_parameters::RemoveVolumeOptions>)
                .timed(format_args!("remove volume {name}"))
                .await
            {
                Ok(()) => removed.push(format!("volume {name}")),
                Err(e) => tracing::warn!(target: "dmp::up", "cannot roll back volume {name}: {e}"),
            }
        }
        removed
    }
}
