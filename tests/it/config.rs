//! `dmp config` agrees with Docker Compose (Debian's docker-compose 1.29) on
//! every key dmp supports, for the same files and environment: both outputs
//! are brought to one form and compared service by service.
//!
//! The one intended difference: a port without an address binds to
//! 127.0.0.1 in dmp and to every address in Compose.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::{dmp_in, shared_dir, text};

/// Whether the comparison must run (as under `scripts/test.sh`).
fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true") || std::env::var("DMP_REQUIRE_DOCKER").is_ok_and(|v| v == "1")
}

fn compose_available() -> bool {
    let found = Command::new("docker-compose").arg("version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(!required(), "docker-compose is required for the config comparison (scripts/test.sh installs it)");
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIPPED config comparison: no docker-compose (apt-get install docker-compose)\n",
        );
    }
    found
}

/// Both tools' resolved services, normalised.
fn both(dir: &Path, profiles: &[&str], env: &[(&str, &str)]) -> (BTreeMap<String, Value>, BTreeMap<String, Value>) {
    let mut dmp_args = vec!["-p", "cmp"];
    let mut compose = Command::new("docker-compose");
    compose.current_dir(dir).args(["-p", "cmp"]);
    for profile in profiles {
        dmp_args.extend(["--profile", profile]);
        compose.args(["--profile", profile]);
    }
    dmp_args.extend(["config", "--json"]);
    compose.arg("config").env_remove("COMPOSE_PROFILES").env_remove("COMPOSE_PROJECT_NAME");
    for (k, v) in env {
        compose.env(k, v);
    }
    let dmp_output = dmp_in(dir, &dmp_args, env);
    assert!(dmp_output.status.success(), "dmp config failed: {}", text(&dmp_output.stderr));
    let compose_output = compose.output().expect("running docker-compose");
    assert!(compose_output.status.success(), "docker-compose config failed: {}", text(&compose_output.stderr));

    let dmp_model: Value = serde_json::from_slice(&dmp_output.stdout).expect("dmp's JSON");
    let mut compose_model: Value = serde_saphyr::from_str(&text(&compose_output.stdout)).expect("Compose's YAML");
    // Compose writes a literal `$` as `$$` so its output can be read again.
    unescape_dollars(&mut compose_model);
    let services = |model: &Value, normalise: fn(&Value) -> Value| -> BTreeMap<String, Value> {
        model["services"].as_object().expect("services").iter().map(|(k, v)| (k.clone(), normalise(v))).collect()
    };
    // Compose v1 lists every service whatever the profiles; keep those the
    // profiles enable (no profile, or one that is enabled), as v2 does.
    if let Some(all) = compose_model["services"].as_object_mut() {
        all.retain(|_, service| {
            let own = strings(&service["profiles"]);
            own.is_empty() || own.iter().any(|p| profiles.contains(&p.as_str()))
        });
    }
    (services(&dmp_model, normalise_dmp), services(&compose_model, normalise_compose))
}

fn unescape_dollars(value: &mut Value) {
    match value {
        Value::String(s) => *s = s.replace("$$", "$"),
        Value::Array(items) => items.iter_mut().for_each(unescape_dollars),
        Value::Object(map) => map.values_mut().for_each(unescape_dollars),
        _ => {}
    }
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().map(scalar).collect()).unwrap_or_default()
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn command(value: &Value) -> Value {
    match value {
        Value::String(s) => json!(shell_words::split(s).expect("a command")),
        Value::Null => Value::Null,
        other => json!(strings(other)),
    }
}

fn string_map(value: &Value) -> Value {
    let map: BTreeMap<String, String> = match value {
        Value::Object(o) => o.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), scalar(v))).collect(),
        Value::Array(items) => {
            items.iter().filter_map(|i| scalar(i).split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned()))).collect()
        }
        _ => BTreeMap::new(),
    };
    json!(map)
}

fn duration(value: &Value) -> Value {
    match value {
        Value::String(s) => json!(dmp::compose::model::duration_text::parse(s)),
        _ => Value::Null,
    }
}

fn healthcheck(value: &Value) -> Value {
    if value.is_null() {
        return Value::Null;
    }
    let test = match &value["test"] {
        Value::String(s) => json!(["CMD-SHELL", s]),
        other => json!(strings(other)),
    };
    json!({
        "test": test,
        "interval": duration(&value["interval"]),
        "timeout": duration(&value["timeout"]),
        "start_period": duration(&value["start_period"]),
        "retries": value["retries"].as_u64(),
        "disable": value["disable"].as_bool().unwrap_or(false),
    })
}

fn depends_on(value: &Value) -> Value {
    let map: BTreeMap<String, String> = match value {
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| (k.clone(), v["condition"].as_str().unwrap_or("service_started").to_owned()))
            .collect(),
        Value::Array(items) => items.iter().map(|i| (scalar(i), "service_started".to_owned())).collect(),
        _ => BTreeMap::new(),
    };
    json!(map)
}

fn sorted(mut items: Vec<String>) -> Value {
    items.sort();
    json!(items)
}

/// The keys both tools must agree on.
fn common(service: &Value, ports: &Value, volumes: &Value) -> Value {
    json!({
        "image": service["image"],
        "command": command(&service["command"]),
        "entrypoint": command(&service["entrypoint"]),
        "environment": string_map(&service["environment"]),
        "labels": string_map(&service["labels"]),
        "ports": ports,
        "volumes": volumes,
        "depends_on": depends_on(&service["depends_on"]),
        "healthcheck": healthcheck(&service["healthcheck"]),
        "user": service["user"].as_str().map(str::to_owned).or_else(|| service["user"].as_u64().map(|u| u.to_string())),
        "working_dir": service["working_dir"],
        "init": service["init"],
        "restart": service["restart"],
        "profiles": sorted(strings(&service["profiles"])),
    })
}

/// A port as both tools' outputs are compared: `ip:published:target/proto`.
fn port_key(host_ip: &str, published: Option<u64>, target: &str, protocol: &str) -> String {
    format!("{host_ip}:{}:{target}/{protocol}", published.map(|n| n.to_string()).unwrap_or_default())
}

/// A long-form volume as compared: `type:source:target:read_only`.
fn long_volume(m: &Value) -> String {
    format!(
        "{}:{}:{}:{}",
        scalar(&m["type"]),
        m["source"].as_str().unwrap_or(""),
        scalar(&m["target"]),
        m["read_only"].as_bool().unwrap_or(false)
    )
}

fn normalise_dmp(service: &Value) -> Value {
    let ports = service["ports"]
        .as_array()
        .map(|ports| {
            ports
                .iter()
                .map(|p| {
                    port_key(
                        &scalar(&p["host_ip"]),
                        p["published"].as_u64(),
                        &scalar(&p["target"]),
                        &scalar(&p["protocol"]),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let volumes =
        service["volumes"].as_array().map(|mounts| mounts.iter().map(long_volume).collect()).unwrap_or_default();
    common(service, &sorted(ports), &sorted(volumes))
}

fn normalise_compose(service: &Value) -> Value {
    let ports = service["ports"]
        .as_array()
        .map(|ports| {
            ports
                .iter()
                .flat_map(|p| match p {
                    Value::Object(_) => vec![port_key(
                        p["host_ip"].as_str().unwrap_or("127.0.0.1"),
                        p["published"].as_u64(),
                        &scalar(&p["target"]),
                        p["protocol"].as_str().unwrap_or("tcp"),
                    )],
                    other => dmp::compose::load::parse_port(&scalar(other))
                        .expect("Compose printed a valid port")
                        .into_iter()
                        .map(|p| port_key(&p.host_ip, p.published.map(u64::from), &p.target.to_string(), &p.protocol))
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    let volumes = service["volumes"]
        .as_array()
        .map(|mounts| {
            mounts
                .iter()
                .map(|m| {
                    if m.is_object() {
                        return long_volume(m);
                    }
                    let text = scalar(m);
                    let fields: Vec<&str> = text.split(':').collect();
                    let (source, target, mode) = match fields.as_slice() {
                        [target] => ("", *target, "rw"),
                        [source, target] => (*source, *target, "rw"),
                        [source, target, mode, ..] => (*source, *target, *mode),
                        [] => ("", "", "rw"),
                    };
                    let kind = if source.starts_with('/') { "bind" } else { "volume" };
                    format!("{kind}:{source}:{target}:{}", mode == "ro")
                })
                .collect()
        })
        .unwrap_or_default();
    common(service, &sorted(ports), &sorted(volumes))
}

/// A directory with `files`, or `None` (said on stderr) without docker-compose.
fn stack_dir(files: &[(&str, &str)]) -> Option<tempfile::TempDir> {
    compose_available().then(|| shared_dir(files, false))
}

fn compare(case: &str, dir: &Path, profiles: &[&str], env: &[(&str, &str)]) {
    let (dmp_services, compose_services) = both(dir, profiles, env);
    assert_eq!(
        dmp_services.keys().collect::<Vec<_>>(),
        compose_services.keys().collect::<Vec<_>>(),
        "{case}: the active services differ"
    );
    for (name, dmp_service) in &dmp_services {
        let compose_service = &compose_services[name];
        for key in dmp_service.as_object().expect("normalised").keys() {
            assert_eq!(dmp_service[key], compose_service[key], "{case}: service {name}, key {key}");
        }
    }
}

#[test]
fn config_agrees_with_docker_compose_on_interpolation() {
    let Some(interpolation) = stack_dir(&[
        (".env", "TAG=1.2.3\nFROM_DOTENV=dotenv\nSHADOWED=from-dotenv\nEMPTY=\n"),
        (
            "compose.yaml",
            r#"services:
  web:
    image: "example/web:${TAG}"
    command: ["run", "--name", "${NAME:-default-name}", "$${LITERAL}"]
    environment:
      A: ${FROM_DOTENV}
      B: "${UNSET_VAR-fallback}"
      C: ${EMPTY:-empty-default}
      D: ${EMPTY-kept-empty}
      # ${VAR:+alt} is Compose v2 only (v1 rejects it); the unit tests cover it.
      F: ${SHADOWED}
      G: pre-$TAG-post
    labels:
      version: $TAG
    ports:
      - "${PORT:-8080}:80"
"#,
        ),
    ]) else {
        return;
    };
    compare("interpolation", interpolation.path(), &[], &[("SHADOWED", "from-shell"), ("PORT", "9090")]);
}

#[test]
fn config_agrees_with_docker_compose_on_overrides() {
    let Some(overrides) = stack_dir(&[
        ("src/app.py", ""),
        ("other/app.py", ""),
        (
            "compose.yaml",
            r#"services:
  web:
    image: example/web
    command: python app.py
    environment:
      KEEP: base
      CHANGE: base
    labels: [team=web, tier=base]
    ports: ["8080:80"]
    volumes: ["./src:/app", "data:/data"]
  db:
    image: example/db
volumes:
  data: {}
"#,
        ),
        (
            "compose.override.yaml",
            r#"services:
  web:
    command: ["python", "-X", "dev", "app.py"]
    environment:
      - CHANGE=override
      - ADDED=yes
    labels:
      tier: override
    ports: ["127.0.0.1:9443:443"]
    volumes: ["./other:/app:ro"]
    depends_on: [db]
"#,
        ),
    ]) else {
        return;
    };
    compare("overrides", overrides.path(), &[], &[]);
}

#[test]
fn config_agrees_with_docker_compose_on_env_files() {
    let Some(env_files) = stack_dir(&[
        ("base.env", "FROM_BASE=1\nOVERRIDDEN=base\n# a comment\nQUOTED=\"two words\"\n"),
        ("local.env", "OVERRIDDEN=local\n"),
        (
            "compose.yaml",
            r"services:
  web:
    image: example/web
    env_file: [base.env, local.env]
    environment:
      - INLINE=1
      - OVERRIDDEN_INLINE=inline
",
        ),
    ]) else {
        return;
    };
    compare("env_files", env_files.path(), &[], &[]);
}

#[test]
fn config_agrees_with_docker_compose_on_profiles() {
    let Some(profiles) = stack_dir(&[(
        "compose.yaml",
        r"services:
  web:
    image: example/web
  debug:
    image: example/debug
    profiles: [debug]
  tools:
    image: example/tools
    profiles: [tools, debug]
",
    )]) else {
        return;
    };
    compare("profiles (none)", profiles.path(), &[], &[]);
    compare("profiles (debug)", profiles.path(), &["debug"], &[]);
}

#[test]
fn config_agrees_with_docker_compose_on_kitchen() {
    let Some(kitchen) = stack_dir(&[
        ("static/x.css", ""),
        (
            "compose.yaml",
            r#"services:
  web:
    image: example/web
    entrypoint: ["/bin/sh", "-c"]
    command: "echo 'hello world'"
    user: "1000:1000"
    working_dir: /srv
    init: true
    restart: on-failure:3
    ports:
      - target: 8080
        published: 8081
      - "9000-9001:9000-9001/udp"
    volumes:
      - type: bind
        source: ./static
        target: /srv/static
        read_only: true
      - type: volume
        source: cache
        target: /cache
    depends_on:
      db:
        condition: service_healthy
      migrate:
        condition: service_completed_successfully
    healthcheck:
      test: curl -f http://localhost:8080/
      interval: 1m30s
      timeout: 5s
      start_period: 500ms
      retries: 4
  db:
    image: example/db
    healthcheck:
      test: ["CMD", "pg_isready"]
  migrate:
    image: example/web
    restart: "no"
volumes:
  cache: {}
"#,
        ),
    ]) else {
        return;
    };
    compare("kitchen sink", kitchen.path(), &[], &[]);
}
