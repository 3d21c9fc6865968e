//! Decisions about the stack that need no Engine: which services a command
//! covers, what to do with each service's container (desired against
//! existing), which containers are orphans, and which host ports must be
//! free. `up` acts on them through `apply`; the tests below need no Engine.

use std::collections::BTreeSet;

use serde::Serialize;

use super::ProjectContainer;
use crate::compose::Project;
use crate::compose::model::{Condition, Service};
use crate::stack::error::{Result, StackError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Running with the right config: not touched.
    Unchanged,
    /// Existed with the right config, was stopped: started.
    Started,
    Created,
    /// Config or image changed (or `--force-recreate`): replaced.
    Recreated,
    /// Running with the right config, restarted because a dependency with
    /// `depends_on.restart: true` was recreated or started (as Compose does).
    Restarted,
}

/// Why a service's container gets its [`Action`], for progress and `-v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// No container yet.
    Missing,
    /// The config hash matches and it runs.
    UpToDate,
    /// The config hash matches; it is stopped.
    Stopped,
    /// `--force-recreate`.
    Forced,
    /// The config hash differs: the resolved service or its image changed.
    Changed,
    /// The container's hash scheme is one this dmp does not know.
    UnknownHashVersion,
    /// `docker compose up` made it: dmp takes it over.
    TakeOver,
    /// An older dmp made it without Compose's labels.
    Unlabelled,
    /// It was made for the project in another directory, adopted here.
    Moved,
}

impl Why {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Missing => "no container yet",
            Self::UpToDate => "config and image unchanged, running",
            Self::Stopped => "config and image unchanged, stopped",
            Self::Forced => "forced",
            Self::Changed => "config or image changed",
            Self::UnknownHashVersion => "config hash of an unknown scheme",
            Self::TakeOver => "made by docker compose, taken over",
            Self::Unlabelled => "made by an older dmp, without Compose's labels",
            Self::Moved => "made in another directory, adopted",
        }
    }
}

/// What to do with one service's container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    pub why: Why,
    /// Containers of the service under another name (an older layout):
    /// removed first.
    pub strays: Vec<String>,
}

/// Decides for one service: `name` is the container it should have,
/// `existing` the service's containers, and `hash(version)` the desired
/// config hash under a scheme version (`None` for a scheme this dmp does not
/// know). A container keeps its own scheme's hash, so an upgrade of dmp
/// alone recreates nothing. One that `docker compose` made, that lacks
/// Compose's labels, or that another directory `dir` made (adopted) is
/// recreated whatever its hash.
pub fn decide(
    name: &str,
    existing: &[ProjectContainer],
    hash: impl Fn(&str) -> Option<String>,
    current_version: &str,
    force_recreate: bool,
    dir: &str,
) -> Decision {
    let strays = existing.iter().filter(|c| c.name != name).map(|c| c.name.clone()).collect();
    let Some(current) = existing.iter().find(|c| c.name == name) else {
        return Decision { action: Action::Created, why: Why::Missing, strays };
    };
    let replaced = if !current.managed {
        Some(Why::TakeOver)
    } else if !current.compose_labelled {
        Some(Why::Unlabelled)
    } else if current.working_dir.as_deref().is_some_and(|d| d != dir) {
        Some(Why::Moved)
    } else {
        None
    };
    if let Some(why) = replaced {
        return Decision { action: Action::Recreated, why, strays };
    }
    let wanted = hash(current.hash_version.as_deref().unwrap_or(current_version));
    let (action, why) = match wanted {
        None => (Action::Recreated, Why::UnknownHashVersion),
        Some(wanted) if current.config_hash.as_ref() != Some(&wanted) => (Action::Recreated, Why::Changed),
        Some(_) if force_recreate => (Action::Recreated, Why::Forced),
        Some(_) if current.running() => (Action::Unchanged, Why::UpToDate),
        Some(_) => (Action::Started, Why::Stopped),
    };
    Decision { action, why, strays }
}

/// The action for a service once its dependencies converged: a running
/// container that was to be left alone is restarted when a dependency it
/// names with `restart: true` was just recreated, started or restarted.
/// Others are made fresh after their dependencies anyway.
pub fn after_dependencies(action: Action, dependencies: &[(bool, Action)]) -> Action {
    let restarting = dependencies
        .iter()
        .any(|(restart, done)| *restart && matches!(done, Action::Recreated | Action::Started | Action::Restarted));
    if action == Action::Unchanged && restarting { Action::Restarted } else { action }
}

/// Whether `service` may start once `dependency` joined its networks,
/// before that dependency's start returns: it waits for it to be started
/// (not healthy or completed) and does not use its container itself.
pub fn starts_on_join(service: &Service, dependency: &str) -> bool {
    service.depends_on.get(dependency).is_some_and(|d| d.condition == Condition::ServiceStarted)
        && !uses_container_of(service, dependency)
}

/// Whether `service` uses `dependency`'s running container itself: its
/// network stack, IPC or PID namespace (`service:NAME`), its volumes
/// (`volumes_from`) or a link to it. The Engine accepts none of these
/// before that container runs, so such a service starts only once its
/// dependency's start returned; any other `service_started` dependent may
/// start as soon as the dependency joined its networks.
pub fn uses_container_of(service: &Service, dependency: &str) -> bool {
    let names_it = |mode: &Option<String>| mode.as_deref().and_then(|m| m.strip_prefix("service:")) == Some(dependency);
    let from_it = |source: &String| {
        !source.starts_with("container:")
            && source.strip_prefix("service:").unwrap_or(source).split(':').next() == Some(dependency)
    };
    names_it(&service.network_mode)
        || names_it(&service.ipc)
        || names_it(&service.pid)
        || service.volumes_from.iter().any(from_it)
        || service.links.iter().any(|link| link.split(':').next() == Some(dependency))
}

/// One action for a service of several containers: the one that changed
/// most (recreated, created, restarted, started, unchanged).
pub fn summary(actions: &[Action]) -> Action {
    let rank = |a: &Action| match a {
        Action::Unchanged => 0,
        Action::Started => 1,
        Action::Restarted => 2,
        Action::Created => 3,
        Action::Recreated => 4,
    };
    actions.iter().copied().max_by_key(rank).unwrap_or(Action::Unchanged)
}

/// Containers of services that are no longer in the stack.
pub fn orphans(project: &Project, existing: &[ProjectContainer]) -> Vec<String> {
    existing.iter().filter(|c| !project.services.contains_key(&c.service)).map(|c| c.name.clone()).collect()
}

/// The named services and everything they depend on, dependencies first.
pub fn select<'p>(project: &'p Project, names: &[String]) -> Result<Vec<&'p Service>> {
    for name in names {
        if !project.services.contains_key(name) {
            return Err(StackError::UnknownService {
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

#[cfg(test)]
pub(super) mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::compose::model::{Condition, Dependency, DmpSettings, Port};

    pub(in crate::stack) fn container(
        service: &str,
        name: &str,
        state: &str,
        hash: Option<&str>,
        version: Option<&str>,
    ) -> ProjectContainer {
        ProjectContainer {
            service: service.into(),
            name: name.into(),
            state: state.into(),
            health: "none".into(),
            status: String::new(),
            ports: Vec::new(),
            config_hash: hash.map(str::to_owned),
            hash_version: version.map(str::to_owned),
            managed: true,
            compose_labelled: true,
            working_dir: Some(DIR.into()),
            config_files: None,
            ..ProjectContainer::default()
        }
    }

    const DIR: &str = "/src/p";

    /// Hashes as a scheme table: version "1" (current) gives "h1", version
    /// "0" (an older dmp) gives "h0", anything else is unknown.
    fn hash(version: &str) -> Option<String> {
        match version {
            "1" => Some("h1".into()),
            "0" => Some("h0".into()),
            _ => None,
        }
    }

    #[test]
    fn decide_covers_create_keep_start_recreate_and_strays() {
        let name = "p-web-1";
        let cases: [(&str, Vec<ProjectContainer>, bool, Action, Why); 9] = [
            ("no container", vec![], false, Action::Created, Why::Missing),
            (
                "same hash, running",
                vec![container("web", name, "running", Some("h1"), Some("1"))],
                false,
                Action::Unchanged,
                Why::UpToDate,
            ),
            (
                "same hash, exited",
                vec![container("web", name, "exited", Some("h1"), Some("1"))],
                false,
                Action::Started,
                Why::Stopped,
            ),
            (
                "config or image changed",
                vec![container("web", name, "running", Some("other"), Some("1"))],
                false,
                Action::Recreated,
                Why::Changed,
            ),
            (
                "forced",
                vec![container("web", name, "running", Some("h1"), Some("1"))],
                true,
                Action::Recreated,
                Why::Forced,
            ),
            (
                "an older scheme's hash still matching: an upgrade recreates nothing",
                vec![container("web", name, "running", Some("h0"), Some("0"))],
                false,
                Action::Unchanged,
                Why::UpToDate,
            ),
            (
                "an older scheme's hash that changed",
                vec![container("web", name, "running", Some("h1"), Some("0"))],
                false,
                Action::Recreated,
                Why::Changed,
            ),
            (
                "a newer dmp's scheme",
                vec![container("web", name, "running", Some("h9"), Some("9"))],
                false,
                Action::Recreated,
                Why::UnknownHashVersion,
            ),
            (
                "no version label: the current scheme",
                vec![container("web", name, "running", Some("h1"), None)],
                false,
                Action::Unchanged,
                Why::UpToDate,
            ),
        ];
        for (case, existing, force, action, why) in cases {
            let decision = decide(name, &existing, hash, "1", force, DIR);
            assert_eq!((decision.action, decision.why), (action, why), "{case}");
            assert!(decision.strays.is_empty(), "{case}");
        }

        let existing = [
            container("web", "old_web_1", "running", Some("h1"), Some("1")),
            container("web", name, "running", Some("h1"), Some("1")),
        ];
        let decision = decide(name, &existing, hash, "1", false, DIR);
        assert_eq!(decision.action, Action::Unchanged);
        assert_eq!(decision.strays, ["old_web_1"], "a container of the service under another name goes");
    }

    #[test]
    fn a_service_of_several_containers_reports_what_changed_most() {
        use Action::{Created, Recreated, Started, Unchanged};
        assert_eq!(summary(&[Unchanged, Created, Unchanged]), Created, "scaled up");
        assert_eq!(summary(&[Recreated, Created]), Recreated);
        assert_eq!(summary(&[Unchanged, Started]), Started);
        assert_eq!(summary(&[]), Unchanged);
    }

    #[test]
    fn a_dependency_with_restart_true_restarts_a_dependent_left_alone() {
        use Action::{Created, Recreated, Restarted, Started, Unchanged};
        assert_eq!(after_dependencies(Unchanged, &[(true, Recreated)]), Restarted);
        assert_eq!(after_dependencies(Unchanged, &[(true, Started)]), Restarted);
        assert_eq!(after_dependencies(Unchanged, &[(false, Recreated), (true, Restarted)]), Restarted);
        assert_eq!(after_dependencies(Unchanged, &[(false, Recreated)]), Unchanged, "restart: false");
        assert_eq!(after_dependencies(Unchanged, &[(true, Unchanged), (true, Created)]), Unchanged);
        assert_eq!(after_dependencies(Recreated, &[(true, Recreated)]), Recreated, "fresh anyway");
        assert_eq!(after_dependencies(Started, &[(true, Recreated)]), Started, "fresh anyway");
    }

    #[test]
    fn containers_compose_made_unlabelled_or_moved_are_recreated_whatever_their_hash() {
        let name = "p-web-1";
        let up_to_date = container("web", name, "running", Some("h1"), Some("1"));
        let mut compose_made = up_to_date.clone();
        compose_made.managed = false;
        let mut unlabelled = up_to_date.clone();
        unlabelled.compose_labelled = false;
        unlabelled.working_dir = None;
        let mut moved = up_to_date.clone();
        moved.working_dir = Some("/elsewhere/p".into());
        for (case, current, why) in [
            ("made by docker compose", compose_made, Why::TakeOver),
            ("made by an older dmp", unlabelled, Why::Unlabelled),
            ("adopted from another directory", moved, Why::Moved),
        ] {
            let decision = decide(name, &[current], hash, "1", false, DIR);
            assert_eq!((decision.action, decision.why), (Action::Recreated, why), "{case}");
        }
    }

    pub(in crate::stack) fn project(services: &[(&str, &[&str], &[Port])]) -> Project {
        Project {
            name: "p".into(),
            dir: "/nonexistent".into(),
            files: Vec::new(),
            env_files: Vec::new(),
            services: services
                .iter()
                .map(|(name, deps, ports)| {
                    let depends_on = deps
                        .iter()
                        .map(|d| {
                            (
                                (*d).to_owned(),
                                Dependency { condition: Condition::ServiceStarted, restart: false, required: true },
                            )
                        })
                        .collect();
                    let service =
                        Service { name: (*name).into(), depends_on, ports: ports.to_vec(), ..Service::default() };
                    ((*name).to_owned(), service)
                })
                .collect(),
            networks: BTreeMap::new(),
            volumes: BTreeMap::new(),
            secrets: BTreeMap::new(),
            configs: BTreeMap::new(),
            dmp: DmpSettings::default(),
            extensions: BTreeMap::new(),
        }
    }

    fn names(services: &[&Service]) -> Vec<String> {
        services.iter().map(|s| s.name.clone()).collect()
    }

    #[test]
    fn select_takes_dependencies_in_start_order_and_rejects_unknown_names() {
        let project = project(&[("app", &["db"], &[]), ("db", &[], &[]), ("nginx", &["app"], &[]), ("tool", &[], &[])]);
        let all = select(&project, &[]).expect("all");
        assert_eq!(all.len(), 4);
        let position = |n: &str| names(&all).iter().position(|s| s == n).expect("listed");
        assert!(position("db") < position("app") && position("app") < position("nginx"));

        assert_eq!(names(&select(&project, &["nginx".into()]).expect("nginx")), ["db", "app", "nginx"]);
        assert_eq!(names(&select(&project, &["tool".into()]).expect("tool")), ["tool"]);
        match select(&project, &["nope".into()]) {
            Err(StackError::UnknownService { name, available }) => {
                assert_eq!(name, "nope");
                assert_eq!(available, "app, db, nginx, tool");
            }
            other => panic!("expected UnknownService, got {other:?}"),
        }
    }

    #[test]
    fn orphans_are_containers_of_services_no_longer_in_the_stack() {
        let project = project(&[("app", &[], &[])]);
        let existing =
            [container("app", "p-app-1", "running", None, None), container("gone", "p-gone-1", "exited", None, None)];
        assert_eq!(orphans(&project, &existing), ["p-gone-1"]);
    }

    #[test]
    fn a_dependent_waits_for_the_start_only_when_it_uses_the_dependencys_container() {
        let uses = |edit: fn(&mut Service)| {
            let mut service = Service { name: "web".into(), ..Service::default() };
            edit(&mut service);
            uses_container_of(&service, "db")
        };
        assert!(!uses(|_| {}), "a plain depends_on");
        assert!(uses(|s| s.network_mode = Some("service:db".into())));
        assert!(!uses(|s| s.network_mode = Some("service:dbx".into())));
        assert!(!uses(|s| s.network_mode = Some("host".into())));
        assert!(uses(|s| s.ipc = Some("service:db".into())));
        assert!(uses(|s| s.pid = Some("service:db".into())));
        assert!(uses(|s| s.volumes_from = vec!["db".into()]));
        assert!(uses(|s| s.volumes_from = vec!["db:ro".into()]));
        assert!(uses(|s| s.volumes_from = vec!["service:db:ro".into()]));
        assert!(!uses(|s| s.volumes_from = vec!["container:db".into()]), "a container outside the project");
        assert!(uses(|s| s.links = vec!["db:database".into()]));
        assert!(uses(|s| s.links = vec!["db".into()]));
        assert!(!uses(|s| s.links = vec!["cache:db".into()]), "an alias named like it");

        let on = |condition: Condition, network_mode: Option<&str>| {
            let dependency = Dependency { condition, restart: false, required: true };
            let service = Service {
                depends_on: BTreeMap::from([("db".to_owned(), dependency)]),
                network_mode: network_mode.map(str::to_owned),
                ..Service::default()
            };
            starts_on_join(&service, "db")
        };
        assert!(on(Condition::ServiceStarted, None));
        assert!(!on(Condition::ServiceHealthy, None));
        assert!(!on(Condition::ServiceCompletedSuccessfully, None));
        assert!(!on(Condition::ServiceStarted, Some("service:db")));
    }
}
