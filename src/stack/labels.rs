//! The labels dmp puts on the Engine objects it makes: Compose v2's
//! (`com.docker.compose.*`), so `docker compose ps`/`logs`/`down`, Docker
//! Desktop and editor plugins see a dmp stack as a stack, and dmp's own
//! (`dev.dmp.*`), which say that dmp manages the object and carry dmp's
//! versioned config hash.
//!
//! Why both: Compose's `config-hash` is a hash of compose-go's Go structs,
//! which dmp cannot reproduce, and Compose recreates a container whose hash
//! differs. dmp's hash has a scheme version (an upgrade of dmp recreates
//! nothing) and includes the image ID. So dmp writes its own hash in both
//! labels (Compose then recreates a dmp container on its own `up`, which is
//! right: it cannot tell whether dmp's settings match its own), reads only
//! `dev.dmp.config-hash`, and tells a container it made (`dev.dmp.project`)
//! from one Compose made (only `com.docker.compose.project`), which `up`
//! takes over.

use std::collections::HashMap;

use crate::compose::Project;
use crate::compose::model::Service;

/// The project a dmp-made object belongs to: dmp manages it.
pub const PROJECT: &str = "dev.dmp.project";
pub const SERVICE: &str = "dev.dmp.service";
pub const CONFIG_HASH: &str = "dev.dmp.config-hash";
/// Which scheme made the hash: a dmp that changes the scheme can still read
/// old hashes, so an upgrade alone recreates nothing.
pub const HASH_VERSION: &str = "dev.dmp.hash-version";
/// The project directory a named volume was made for (Compose records it on
/// containers only): a volume outlives `down`, and another checkout with
/// the same project name must not take its data.
pub const WORKING_DIR: &str = "dev.dmp.working-dir";

/// Compose v2's label names, as Compose 2.26 sets them.
pub mod compose {
    pub const PROJECT: &str = "com.docker.compose.project";
    pub const SERVICE: &str = "com.docker.compose.service";
    pub const CONTAINER_NUMBER: &str = "com.docker.compose.container-number";
    /// `False` for service containers, `True` for `run`'s.
    pub const ONEOFF: &str = "com.docker.compose.oneoff";
    pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
    /// The stack files, comma-separated.
    pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
    /// Env files named explicitly (`COMPOSE_ENV_FILES`; Compose's
    /// `--env-file`), comma-separated; absent for the default `.env`.
    pub const ENVIRONMENT_FILE: &str = "com.docker.compose.project.environment_file";
    /// `service:condition:restart`, comma-separated.
    pub const DEPENDS_ON: &str = "com.docker.compose.depends_on";
    pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
    pub const VERSION: &str = "com.docker.compose.version";
    /// The image ID the container was made from.
    pub const IMAGE: &str = "com.docker.compose.image";
    /// On networks: the network's key in the stack file.
    pub const NETWORK: &str = "com.docker.compose.network";
    /// On volumes: the volume's key in the stack file.
    pub const VOLUME: &str = "com.docker.compose.volume";
}

/// What dmp writes in `com.docker.compose.version`: the version of the
/// Compose file format and behaviour dmp follows (Compose 2.26), so tools
/// that read it as a Compose version understand it. `dev.dmp.*` labels say
/// that dmp made the object.
pub const COMPOSE_VERSION: &str = "2.26.1";

/// The hash and image a container is made for.
#[derive(Debug, Clone, Copy)]
pub struct Made<'a> {
    /// dmp's config hash (see [`crate::stack::spec::config_hash`]).
    pub hash: &'a str,
    pub image_id: &'a str,
    /// 1 for the first container of a service.
    pub number: u32,
}

/// Every label of a service container: the file's own `labels`, then
/// Compose's and dmp's (which win, as Compose's do).
pub fn container(project: &Project, service: &Service, made: Made<'_>) -> HashMap<String, String> {
    let mut labels: HashMap<String, String> = service.labels.clone().into_iter().collect();
    let depends_on: Vec<String> = service
        .depends_on
        .iter()
        .map(|(name, dependency)| format!("{name}:{}:{}", condition_name(dependency.condition), dependency.restart))
        .collect();
    let mut set = |key: &str, value: String| {
        labels.insert(key.to_owned(), value);
    };
    set(compose::PROJECT, project.name.clone());
    set(compose::SERVICE, service.name.clone());
    set(compose::CONTAINER_NUMBER, made.number.to_string());
    set(compose::ONEOFF, "False".into());
    set(compose::WORKING_DIR, project.dir.to_string_lossy().into_owned());
    set(compose::CONFIG_FILES, paths(&project.files));
    if !project.env_files.is_empty() {
        set(compose::ENVIRONMENT_FILE, paths(&project.env_files));
    }
    set(compose::DEPENDS_ON, depends_on.join(","));
    set(compose::CONFIG_HASH, made.hash.to_owned());
    set(compose::VERSION, COMPOSE_VERSION.into());
    set(compose::IMAGE, made.image_id.to_owned());
    set(PROJECT, project.name.clone());
    set(SERVICE, service.name.clone());
    set(CONFIG_HASH, made.hash.to_owned());
    set(HASH_VERSION, crate::stack::spec::HASH_VERSION.into());
    labels
}

/// The labels dmp adds to the project network `key`.
pub fn network(project: &Project, key: &str) -> Vec<(String, String)> {
    vec![
        (compose::PROJECT.into(), project.name.clone()),
        (compose::NETWORK.into(), key.to_owned()),
        (compose::VERSION.into(), COMPOSE_VERSION.into()),
        (PROJECT.into(), project.name.clone()),
    ]
}

/// The labels dmp adds to the project volume `key`.
pub fn volume(project: &Project, key: &str) -> Vec<(String, String)> {
    vec![
        (compose::PROJECT.into(), project.name.clone()),
        (compose::VOLUME.into(), key.to_owned()),
        (compose::VERSION.into(), COMPOSE_VERSION.into()),
        (PROJECT.into(), project.name.clone()),
        (WORKING_DIR.into(), project.dir.to_string_lossy().into_owned()),
    ]
}

/// Compose's name of a `depends_on` condition.
pub fn condition_name(condition: crate::compose::model::Condition) -> &'static str {
    use crate::compose::model::Condition;
    match condition {
        Condition::ServiceStarted => "service_started",
        Condition::ServiceHealthy => "service_healthy",
        Condition::ServiceCompletedSuccessfully => "service_completed_successfully",
    }
}

fn paths(paths: &[std::path::PathBuf]) -> String {
    paths.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::compose::model::{Condition, Dependency};

    fn project() -> Project {
        let web = Service {
            name: "web".into(),
            labels: BTreeMap::from([("team".into(), "a".into()), (compose::PROJECT.into(), "spoofed".into())]),
            depends_on: BTreeMap::from([
                ("db".into(), Dependency { condition: Condition::ServiceHealthy, restart: true, required: true }),
                ("cache".into(), Dependency { condition: Condition::ServiceStarted, restart: false, required: true }),
            ]),
            ..Service::default()
        };
        Project {
            name: "shop".into(),
            dir: "/src/shop".into(),
            files: vec!["/src/shop/compose.yaml".into(), "/src/shop/compose.override.yaml".into()],
            services: BTreeMap::from([("web".into(), web)]),
            ..Project::default()
        }
    }

    #[test]
    fn containers_carry_compose_v2_labels_as_compose_writes_them() {
        let project = project();
        let made = Made { hash: "abc", image_id: "sha256:1", number: 1 };
        let labels = container(&project, &project.services["web"], made);
        let get = |k: &str| labels.get(k).map(String::as_str);
        assert_eq!(get(compose::PROJECT), Some("shop"), "Compose's label wins over the file's");
        assert_eq!(get(compose::SERVICE), Some("web"));
        assert_eq!(get(compose::CONTAINER_NUMBER), Some("1"));
        assert_eq!(get(compose::ONEOFF), Some("False"));
        assert_eq!(get(compose::WORKING_DIR), Some("/src/shop"));
        assert_eq!(get(compose::CONFIG_FILES), Some("/src/shop/compose.yaml,/src/shop/compose.override.yaml"));
        assert_eq!(get(compose::ENVIRONMENT_FILE), None, "only for env files named explicitly");
        assert_eq!(get(compose::DEPENDS_ON), Some("cache:service_started:false,db:service_healthy:true"));
        assert_eq!(get(compose::CONFIG_HASH), Some("abc"));
        assert_eq!(get(compose::IMAGE), Some("sha256:1"));
        assert_eq!(get(compose::VERSION), Some(COMPOSE_VERSION));
        assert_eq!(get(PROJECT), Some("shop"));
        assert_eq!(get(CONFIG_HASH), Some("abc"));
        assert_eq!(get("team"), Some("a"));
    }

    #[test]
    fn networks_and_volumes_name_their_key() {
        let project = project();
        let network: BTreeMap<_, _> = network(&project, "default").into_iter().collect();
        assert_eq!(network[compose::NETWORK], "default");
        assert_eq!(network[compose::PROJECT], "shop");
        let volume: BTreeMap<_, _> = volume(&project, "data").into_iter().collect();
        assert_eq!(volume[compose::VOLUME], "data");
        assert_eq!(volume[WORKING_DIR], "/src/shop");
    }
}
