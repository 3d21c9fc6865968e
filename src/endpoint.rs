//! Where the Docker Engine is, found by the docker CLI's own rules, so dmp
//! talks to the Engine `docker ps` shows:
//!
//! 1. `--context NAME`;
//! 2. `DOCKER_HOST` (with `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`);
//! 3. `DOCKER_CONTEXT`;
//! 4. `currentContext` in `$DOCKER_CONFIG/config.json` (`~/.docker`);
//! 5. the default socket, `/var/run/docker.sock`.
//!
//! A named context is read from the CLI's context store:
//! `contexts/meta/<sha256 of the name>/meta.json` for its host, and
//! `contexts/tls/<sha256 of the name>/docker/{ca,cert,key}.pem` for TLS.
//! Resolving is pure (the environment and the files are passed in), so the
//! rules are unit-tested without an Engine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::Digest as _;

pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// The Engine to connect to, and why that one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `unix:///…`, `tcp://host:port`, `ssh://user@host`.
    pub host: String,
    /// Client certificates for a TLS-verified `tcp://` Engine.
    pub tls: Option<Tls>,
    /// Where the choice came from, for messages ("context colima").
    pub origin: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EndpointError {
    #[error("there is no Docker context named {name:?} ({origin})")]
    #[diagnostic(
        code(dmp::engine::context),
        help("`docker context ls` lists the contexts; create one with `docker context create`, or use `default`")
    )]
    UnknownContext { name: String, origin: String },

    #[error("cannot read the Docker context {name:?} from {}: {reason}", path.display())]
    #[diagnostic(
        code(dmp::engine::context),
        help("the file is written by `docker context create`; recreate the context, or use another")
    )]
    BadContext { name: String, path: PathBuf, reason: String },

    #[error("dmp cannot reach a Docker Engine at {host} ({origin}): unknown address scheme")]
    #[diagnostic(
        code(dmp::engine::scheme),
        help("dmp speaks unix:///path, tcp://host:port (TLS with DOCKER_TLS_VERIFY=1) and ssh://user@host")
    )]
    UnsupportedScheme { host: String, origin: String },

    #[error("cannot read {}: {reason}", path.display())]
    #[diagnostic(
        code(dmp::engine::config),
        help(
            "it is the docker CLI's settings file; fix its JSON, or set DOCKER_CONTEXT or --context to choose the Engine"
        )
    )]
    BadConfig { path: PathBuf, reason: String },
}

/// What resolving reads, gathered once (see [`Inputs::from_process`]).
#[derive(Debug, Default)]
pub struct Inputs {
    /// `--context`.
    pub context_flag: Option<String>,
    pub env: BTreeMap<String, String>,
    /// `$DOCKER_CONFIG`, else `~/.docker`.
    pub config_dir: Option<PathBuf>,
}

impl Inputs {
    pub fn from_process(context_flag: Option<String>) -> Self {
        let names = ["DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONFIG"];
        let env: BTreeMap<String, String> =
            names.iter().filter_map(|n| Some(((*n).to_owned(), std::env::var(n).ok()?))).collect();
        let config_dir = env
            .get("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker")));
        Self { context_flag, env, config_dir }
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// The Engine the docker CLI would use with the same inputs.
pub fn resolve(inputs: &Inputs) -> Result<Endpoint, EndpointError> {
    let endpoint = choose(inputs)?;
    let scheme = endpoint.host.split_once("://").map(|(scheme, _)| scheme);
    if !matches!(scheme, Some("unix" | "tcp" | "http" | "https" | "ssh")) {
        return Err(EndpointError::UnsupportedScheme { host: endpoint.host, origin: endpoint.origin });
    }
    Ok(endpoint)
}

fn choose(inputs: &Inputs) -> Result<Endpoint, EndpointError> {
    if let Some(name) = &inputs.context_flag {
        return context(inputs, name, "--context");
    }
    if let Some(host) = inputs.var("DOCKER_HOST") {
        // DOCKER_TLS_VERIFY set to anything non-empty turns TLS on, as in the CLI.
        let tls = inputs.var("DOCKER_TLS_VERIFY").is_some().then(|| {
            let dir = inputs
                .var("DOCKER_CERT_PATH")
                .map(PathBuf::from)
                .or_else(|| inputs.config_dir.clone())
                .unwrap_or_default();
            Tls { ca: dir.join("ca.pem"), cert: dir.join("cert.pem"), key: dir.join("key.pem") }
        });
        return Ok(Endpoint { host: host.to_owned(), tls, origin: "DOCKER_HOST".into() });
    }
    if let Some(name) = inputs.var("DOCKER_CONTEXT") {
        return context(inputs, name, "DOCKER_CONTEXT");
    }
    if let Some(name) = current_context(inputs)? {
        return context(inputs, &name, "the current docker context");
    }
    Ok(default_endpoint("the default socket"))
}

fn default_endpoint(origin: &str) -> Endpoint {
    Endpoint { host: DEFAULT_HOST.into(), tls: None, origin: origin.into() }
}

/// `currentContext` from config.json; a missing file or key means none.
fn current_context(inputs: &Inputs) -> Result<Option<String>, EndpointError> {
    let Some(dir) = &inputs.config_dir else { return Ok(None) };
    let path = dir.join("config.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        // Another user's home (dmp under setpriv or `sudo -u` keeps HOME):
        // the docker CLI goes on without it, and so does dmp.
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied) => {
            return Ok(None);
        }
        Err(e) => return Err(EndpointError::BadConfig { path, reason: e.to_string() }),
    };
    let config: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| EndpointError::BadConfig { path, reason: e.to_string() })?;
    Ok(config.get("currentContext").and_then(serde_json::Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned))
}

/// A named context from the CLI's store; `default` is `DOCKER_HOST`'s Engine
/// or the default socket, as in the CLI.
fn context(inputs: &Inputs, name: &str, origin: &str) -> Result<Endpoint, EndpointError> {
    let origin = format!("{origin}: context {name}");
    if name == "default" {
        return Ok(inputs.var("DOCKER_HOST").map_or_else(
            || default_endpoint(&origin),
            |host| Endpoint { host: host.into(), tls: None, origin: origin.clone() },
        ));
    }
    let store = inputs.config_dir.clone().unwrap_or_default().join("contexts");
    let id = context_id(name);
    let path = store.join("meta").join(&id).join("meta.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(EndpointError::UnknownContext { name: name.into(), origin });
        }
        Err(e) => return Err(EndpointError::BadContext { name: name.into(), path, reason: e.to_string() }),
    };
    let bad = |reason: String| EndpointError::BadContext { name: name.into(), path: path.clone(), reason };
    let meta: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let docker = &meta["Endpoints"]["docker"];
    let host =
        docker["Host"].as_str().filter(|h| !h.is_empty()).ok_or_else(|| bad("it names no docker host".into()))?;
    let tls_dir = store.join("tls").join(&id).join("docker");
    let tls = tls_files(&tls_dir);
    Ok(Endpoint { host: host.into(), tls, origin })
}

/// A context's TLS material, when the CLI stored any.
fn tls_files(dir: &Path) -> Option<Tls> {
    let tls = Tls { ca: dir.join("ca.pem"), cert: dir.join("cert.pem"), key: dir.join("key.pem") };
    tls.ca.exists().then_some(tls)
}

/// The CLI stores a context under the hex SHA-256 of its name.
fn context_id(name: &str) -> String {
    sha2::Sha256::digest(name.as_bytes()).iter().fold(String::new(), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(dir: &Path, flag: Option<&str>, env: &[(&str, &str)]) -> Inputs {
        Inputs {
            context_flag: flag.map(str::to_owned),
            env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            config_dir: Some(dir.to_owned()),
        }
    }

    fn store_context(dir: &Path, name: &str, host: &str, tls: bool) {
        let meta = dir.join("contexts/meta").join(context_id(name));
        std::fs::create_dir_all(&meta).expect("mkdir");
        let json = serde_json::json!({"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}}});
        std::fs::write(meta.join("meta.json"), json.to_string()).expect("write");
        if tls {
            let tls = dir.join("contexts/tls").join(context_id(name)).join("docker");
            std::fs::create_dir_all(&tls).expect("mkdir");
            for file in ["ca.pem", "cert.pem", "key.pem"] {
                std::fs::write(tls.join(file), "").expect("write");
            }
        }
    }

    #[test]
    fn the_context_id_is_the_clis() {
        // Where `docker context` keeps the metadata of a context named "default".
        assert_eq!(context_id("default"), "37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f");
    }

    #[test]
    fn the_order_is_the_docker_clis() {
        let dir = tempfile::tempdir().expect("temp dir");
        store_context(dir.path(), "colima", "unix:///home/me/.colima/docker.sock", false);
        store_context(dir.path(), "remote", "tcp://10.0.0.5:2376", true);
        std::fs::write(dir.path().join("config.json"), r#"{"auths":{},"currentContext":"colima"}"#).expect("write");
        let host = |flag, env: &[(&str, &str)]| resolve(&inputs(dir.path(), flag, env)).expect("resolves").host;

        assert_eq!(host(None, &[]), "unix:///home/me/.colima/docker.sock");
        assert_eq!(host(None, &[("DOCKER_CONTEXT", "remote")]), "tcp://10.0.0.5:2376");
        assert_eq!(
            host(None, &[("DOCKER_HOST", "tcp://127.0.0.1:2375"), ("DOCKER_CONTEXT", "remote")]),
            "tcp://127.0.0.1:2375"
        );
        assert_eq!(host(Some("remote"), &[("DOCKER_HOST", "tcp://127.0.0.1:2375")]), "tcp://10.0.0.5:2376");
        assert_eq!(host(Some("default"), &[]), DEFAULT_HOST);
        assert_eq!(
            host(Some("default"), &[("DOCKER_HOST", "unix:///run/user/1000/docker.sock")]),
            "unix:///run/user/1000/docker.sock"
        );
        // An empty variable counts as unset, as in the CLI.
        assert_eq!(host(None, &[("DOCKER_HOST", ""), ("DOCKER_CONTEXT", "")]), "unix:///home/me/.colima/docker.sock");
    }

    #[test]
    fn tls_comes_from_the_context_store_or_the_cert_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        store_context(dir.path(), "remote", "tcp://10.0.0.5:2376", true);
        let remote = resolve(&inputs(dir.path(), Some("remote"), &[])).expect("resolves");
        let tls = remote.tls.expect("tls");
        assert!(tls.ca.ends_with("docker/ca.pem") && tls.ca.starts_with(dir.path().join("contexts/tls")));

        let env = [("DOCKER_HOST", "tcp://h:2376"), ("DOCKER_TLS_VERIFY", "1"), ("DOCKER_CERT_PATH", "/certs")];
        let plain = resolve(&inputs(dir.path(), None, &env)).expect("resolves");
        assert_eq!(plain.tls.expect("tls").key, PathBuf::from("/certs/key.pem"));
        let no_verify = resolve(&inputs(dir.path(), None, &env[..1])).expect("resolves");
        assert_eq!(no_verify.tls, None);
        let default_dir = resolve(&inputs(dir.path(), None, &env[..2])).expect("resolves");
        assert_eq!(default_dir.tls.expect("tls").cert, dir.path().join("cert.pem"));
    }

    #[test]
    fn unknown_contexts_and_broken_files_are_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let error = resolve(&inputs(dir.path(), Some("nope"), &[])).expect_err("unknown");
        assert!(error.to_string().contains("no Docker context named \"nope\" (--context"), "{error}");
        std::fs::write(dir.path().join("config.json"), "{not json").expect("write");
        let error = resolve(&inputs(dir.path(), None, &[])).expect_err("bad config");
        assert!(error.to_string().contains("config.json"), "{error}");
        let error = resolve(&inputs(dir.path(), None, &[("DOCKER_HOST", "npipe:////./pipe/docker_engine")]))
            .expect_err("scheme");
        assert!(error.to_string().contains("npipe:////./pipe/docker_engine (DOCKER_HOST)"), "{error}");
        // No config.json at all: the default socket.
        let empty = tempfile::tempdir().expect("temp dir");
        assert_eq!(resolve(&inputs(empty.path(), None, &[])).expect("resolves").host, DEFAULT_HOST);
    }
}
