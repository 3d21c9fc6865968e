//! When a starting container has joined its networks. The Engine connects a
//! container to its networks early in its start (about 40 ms into a 250 ms
//! start on Engine 26), and from then on the container's name and aliases
//! resolve on those networks; the rest of the start is containerd and runc
//! making its process. `up` starts a `service_started` dependent at that
//! point instead of when the start request returns (see `converge`).
//!
//! One events stream per `up` (network `connect` events of the project's
//! networks) feeds every wait here; a wait whose stream ended never
//! resolves, so the start request's return decides instead.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use bollard::query_parameters::EventsOptionsBuilder;
use futures_util::StreamExt as _;
use tokio::sync::Notify;

/// Network connect events seen since the `up` began, by container ID.
#[derive(Debug, Default)]
pub(super) struct Joins {
    joined: RefCell<HashMap<String, BTreeSet<String>>>,
    changed: Notify,
    ended: Cell<bool>,
}

impl Joins {
    /// Runs `work` while following the network connect events on
    /// `networks` (Engine names; none followed without them).
    pub(super) async fn alongside<T>(
        &self,
        docker: &Docker,
        networks: Option<Vec<String>>,
        work: impl Future<Output = T>,
    ) -> T {
        let Some(networks) = networks else { return work.await };
        tokio::pin!(work);
        tokio::select! {
            done = &mut work => done,
            () = self.follow(docker, networks) => work.await,
        }
    }

    /// Follows the Engine's network connect events on `networks` (Engine
    /// names) until the stream ends or this future is dropped. Asks for
    /// events since a moment before the call, so a connect that happens
    /// before the stream is set up is not missed (the Engine replays its
    /// recent events); the margin covers an Engine clock a little behind
    /// this machine's, and older events name containers this `up` does not
    /// wait for.
    async fn follow(&self, docker: &Docker, networks: Vec<String>) {
        let since = SystemTime::now().checked_sub(Duration::from_secs(2)).unwrap_or(UNIX_EPOCH);
        let since = since.duration_since(UNIX_EPOCH).unwrap_or_default();
        let filters = HashMap::from([
            ("type".to_owned(), vec!["network".to_owned()]),
            ("event".to_owned(), vec!["connect".to_owned()]),
            ("network".to_owned(), networks),
        ]);
        let options = EventsOptionsBuilder::default()
            .since(&format!("{}.{:09}", since.as_secs(), since.subsec_nanos()))
            .filters(&filters)
            .build();
        let mut stream = docker.events(Some(options));
        while let Some(Ok(message)) = stream.next().await {
            let attributes = message.actor.and_then(|a| a.attributes).unwrap_or_default();
            if let (Some(container), Some(network)) = (attributes.get("container"), attributes.get("name")) {
                tracing::debug!(target: "dmp::up", "{}: joined {network}", short(container));
                self.joined.borrow_mut().entry(container.clone()).or_default().insert(network.clone());
                self.changed.notify_waiters();
            }
        }
        tracing::debug!(target: "dmp::up", "network events ended");
        self.ended.set(true);
        self.changed.notify_waiters();
    }

    /// Resolves once container `id` has joined every one of `networks`
    /// (Engine names); never, when the events ended first.
    pub(super) async fn joined(&self, id: &str, networks: &[String]) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.joined.borrow().get(id).is_some_and(|seen| networks.iter().all(|n| seen.contains(n))) {
                return;
            }
            if self.ended.get() {
                return std::future::pending().await;
            }
            changed.await;
        }
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}
