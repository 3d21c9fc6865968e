//! The 127.0.0.1 default is a security promise: no form of port in the
//! corpus of valid files binds to another address unless the file names it,
//! and the Engine gets exactly the address dmp resolved.

use std::path::Path;

use serde_json::Value;

use crate::compose_corpus::Case;
use crate::support::{StackDir, images_version, repo_path, require_engine, text};

fn loopback(ip: &str) -> bool {
    ip.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Every file under `dir`, as text, for "does the file name this address".
fn all_text(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.push_str(&all_text(&path));
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            out.push_str(&text);
        }
    }
    out
}

/// Each port of `config --format json` whose address is not loopback and
/// not written in the case's files.
fn exposed(config: &Value, files: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (name, service) in config["services"].as_object().into_iter().flatten() {
        for port in service["ports"].as_array().into_iter().flatten() {
            let ip = port["host_ip"].as_str().unwrap_or("");
            if !loopback(ip) && (ip.is_empty() || !files.contains(ip)) {
                found.push(format!("{name}: {port}"));
            }
        }
    }
    found
}

/// Every port form, written without an address (or with an empty one).
const EVERY_FORM: &str = r#"services:
  web:
    image: a
    ports:
      - 80
      - "81"
      - "18501:82"
      - ":18502:83"
      - "18503-18504:84-85"
      - "86/udp"
      - "18505:87/udp"
      - target: 88
      - {target: 89, published: 18506}
      - {target: 90, published: "18507", host_ip: ""}
      - {target: 91, published: 18508, protocol: udp, mode: host}
      - {target: 92, published: 18509, host_ip: "127.0.0.1", protocol: UDP}
      - {target: 93, host_ip: "::1"}
"#;

#[test]
fn no_port_in_the_valid_corpus_binds_beyond_loopback_unless_the_file_says_so() {
    let dmp_bin = crate::support::dmp_bin();
    let dmp = dmp_bin.as_path();
    let work = tempfile::tempdir().expect("tempdir");
    let mut checked = 0;
    let mut problems = Vec::new();
    let mut cases: Vec<_> = std::fs::read_dir(repo_path("tests/compose-corpus"))
        .expect("corpus")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    let every_form = work.path().join("every-form");
    std::fs::create_dir_all(&every_form).expect("mkdir");
    std::fs::write(every_form.join("compose.yaml"), EVERY_FORM).expect("write");
    std::fs::write(every_form.join("args"), "").expect("write");
    cases.push(every_form.clone());
    cases.extend(std::fs::read_dir(repo_path("tests/corpus")).expect("corpus").flatten().map(|e| e.path()));
    for dir in cases {
        let name = dir.file_name().expect("name").to_string_lossy().into_owned();
        let copy = work.path().join("cases").join(&name);
        crate::compose_corpus::copy_tree(&dir, &copy);
        let case = Case::read(&copy);
        // Bad inputs are refused whole: only what loads is checked.
        let Ok(config) = case.config(dmp, &copy) else { continue };
        checked += 1;
        if dir == every_form {
            let ports: usize = config["services"]["web"]["ports"].as_array().map_or(0, Vec::len);
            assert_eq!(ports, 14, "every form: {config}");
        }
        problems.extend(exposed(&config, &all_text(&dir)).into_iter().map(|p| format!("{name}: {p}")));
    }
    assert!(checked > 30, "only {checked} cases loaded");
    assert!(problems.is_empty(), "ports published beyond loopback:\n{}", problems.join("\n"));
}

#[test]
fn host_names_as_addresses_are_refused_before_anything_is_made() {
    let work = tempfile::tempdir().expect("tempdir");
    for (ports, fragment) in [
        ("[{target: 80, published: 18510, host_ip: localhost}]", "is a host name, not an IP address"),
        ("[{target: 80, published: 18510, host_ip: my-host}]", "`my-host` is not an IP address"),
        ("[{target: 80, published: 18510, protocol: xyz}]", "the protocol `xyz` is not tcp or udp"),
        ("[\"localhost:18510:80\"]", "is a host name"),
    ] {
        std::fs::write(work.path().join("dmp.yml"), format!("services:\n  web:\n    image: a\n    ports: {ports}\n"))
            .expect("write");
        let output = crate::support::dmp_in(work.path(), &["config"], &[]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{ports}: {stderr}");
        assert!(stderr.contains(fragment) && stderr.contains("dmp.yml:4:"), "{ports}: {stderr}");
    }
}

#[test]
fn the_engine_binds_every_port_form_to_loopback() {
    let engine = require_engine!();
    let version = images_version();
    let stack = format!(
        r#"services:
  web:
    image: dmp/wsgi:{version}
    command: ["sleep", "infinity"]
    ports:
      - "8888"
      - ":18520:81"
      - "18521-18522:82-83"
      - "18523:84/udp"
      - {{target: 85, published: 18524}}
      - {{target: 86, published: "18525", host_ip: ""}}
      - {{target: 87, protocol: udp}}
"#
    );
    let stack = StackDir::new(engine, "loopback", &stack, &[]);
    stack.ok(&["up", "--no-wait", "-q"]);
    let inspect = stack
        .engine
        .block_on(stack.engine.docker.inspect_container(&format!("{}-web-1", stack.project), None))
        .expect("inspect");
    let bindings = inspect.host_config.and_then(|h| h.port_bindings).expect("port bindings");
    let published = inspect.network_settings.and_then(|n| n.ports).expect("published ports");
    assert_eq!(bindings.len(), 8, "{bindings:?}");
    for (port, list) in bindings.iter().chain(published.iter()) {
        for binding in list.iter().flatten() {
            let ip = binding.host_ip.as_deref().unwrap_or("");
            assert!(loopback(ip), "{port} bound to {ip:?}");
        }
    }
}
