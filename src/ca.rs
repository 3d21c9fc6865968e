//! The host's extra CA certificates, for networks that re-sign TLS with
//! their own CA (corporate proxies, this project's build machines): without
//! them `npm ci`, `pip install` and image builds fail inside containers
//! with "self signed certificate in certificate chain".
//!
//! The bundle is the file `DMP_CA_CERTS` names (`none` turns this off), else
//! the first of `SSL_CERT_FILE`, `NODE_EXTRA_CA_CERTS`, `REQUESTS_CA_BUNDLE`
//! that names a readable file. Dev containers get it as a read-only bind
//! mount with the variables Node, pip, requests, OpenSSL and curl read;
//! base image builds get it as a context file (see `images/http-buildstatic`).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::compose::model::{Mount, MountKind, Service};

/// Where the bundle is mounted in dev containers.
pub const CONTAINER_PATH: &str = "/etc/dmp/ca-certificates.crt";
/// The bundle's name in base image build contexts (empty when there is none).
pub const CONTEXT_FILE: &str = "dmp-ca-certificates.crt";
/// The variables that point each tool at the bundle inside containers.
pub const CONTAINER_VARIABLES: [&str; 5] =
    ["NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "PIP_CERT", "SSL_CERT_FILE", "CURL_CA_BUNDLE"];
/// The host variables that name a bundle, in the order they are tried.
const HOST_VARIABLES: [&str; 3] = ["SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE"];

/// The host's CA bundle, as dmp's own environment names it.
pub fn host_bundle() -> Option<PathBuf> {
    bundle_from(|name| std::env::var_os(name).map(PathBuf::from), Path::is_file)
}

/// The bundle `lookup` names (see the module comment), if `usable`.
fn bundle_from(lookup: impl Fn(&str) -> Option<PathBuf>, usable: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    if let Some(explicit) = lookup("DMP_CA_CERTS").filter(|p| !p.as_os_str().is_empty()) {
        return (explicit.as_os_str() != "none" && usable(&explicit)).then_some(explicit);
    }
    HOST_VARIABLES.iter().filter_map(|name| lookup(name)).find(|path| !path.as_os_str().is_empty() && usable(path))
}

/// The bundle's contents for a build context: empty when there is none, so
/// a Dockerfile can always `COPY` it and test whether it is empty.
pub fn context_contents() -> Vec<u8> {
    host_bundle().and_then(|path| std::fs::read(path).ok()).unwrap_or_default()
}

/// The service with the bundle mounted read-only and the tools pointed at
/// it (variables the stack file sets itself win); unchanged without one.
pub fn for_container<'a>(service: Cow<'a, Service>, bundle: Option<&Path>) -> Cow<'a, Service> {
    let Some(bundle) = bundle else { return service };
    let source = std::fs::canonicalize(bundle).unwrap_or_else(|_| bundle.to_owned());
    let mut service = service.into_owned();
    if !service.volumes.iter().any(|m| m.target == CONTAINER_PATH) {
        let mut mount = Mount::new(MountKind::Bind, Some(source.to_string_lossy().into_owned()), CONTAINER_PATH.into());
        mount.read_only = true;
        service.volumes.push(mount);
    }
    for name in CONTAINER_VARIABLES {
        service.environment.entry(name.into()).or_insert_with(|| CONTAINER_PATH.into());
    }
    Cow::Owned(service)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn bundle(env: &[(&str, &str)], usable: &[&str]) -> Option<PathBuf> {
        let env: HashMap<&str, &str> = env.iter().copied().collect();
        bundle_from(|name| env.get(name).map(PathBuf::from), |path| usable.iter().any(|u| Path::new(u) == path))
    }

    #[test]
    fn the_bundle_comes_from_the_first_variable_naming_a_file() {
        assert_eq!(bundle(&[], &[]), None, "off where none is set");
        let env = [("NODE_EXTRA_CA_CERTS", "/node.pem"), ("REQUESTS_CA_BUNDLE", "/requests.pem")];
        assert_eq!(bundle(&env, &["/node.pem", "/requests.pem"]), Some("/node.pem".into()));
        assert_eq!(bundle(&env, &["/requests.pem"]), Some("/requests.pem".into()), "a missing file is skipped");
        let env = [("SSL_CERT_FILE", "/ssl.pem"), ("DMP_CA_CERTS", "/dmp.pem")];
        assert_eq!(bundle(&env, &["/ssl.pem", "/dmp.pem"]), Some("/dmp.pem".into()), "DMP_CA_CERTS first");
        let env = [("SSL_CERT_FILE", "/ssl.pem"), ("DMP_CA_CERTS", "none")];
        assert_eq!(bundle(&env, &["/ssl.pem"]), None, "DMP_CA_CERTS=none turns it off");
    }

    #[test]
    fn containers_get_a_read_only_mount_and_the_variables() {
        let mut service = Service { name: "web".into(), ..Service::default() };
        service.environment.insert("PIP_CERT".into(), "/mine.pem".into());
        assert!(matches!(for_container(Cow::Borrowed(&service), None), Cow::Borrowed(_)), "no bundle, no change");
        let with = for_container(Cow::Borrowed(&service), Some(Path::new("/nonexistent/ca.pem")));
        let mount = with.volumes.iter().find(|m| m.target == CONTAINER_PATH).expect("the mount");
        assert!(mount.read_only && mount.kind == MountKind::Bind);
        assert_eq!(mount.source.as_deref(), Some("/nonexistent/ca.pem"));
        assert_eq!(with.environment["NODE_EXTRA_CA_CERTS"], CONTAINER_PATH);
        assert_eq!(with.environment["CURL_CA_BUNDLE"], CONTAINER_PATH);
        assert_eq!(with.environment["PIP_CERT"], "/mine.pem", "the stack file's own setting wins");
    }
}
