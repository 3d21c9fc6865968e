//! `dmp config` agrees with Compose v2 (`docker compose config`, compose-go)
//! on every key, for small stacks that each exercise one part of loading:
//! interpolation, overrides, env files, profiles, long forms. Both tools'
//! `config --format json` are compared key by key, as for the real-world
//! corpus (`compose_corpus.rs`), with the one intended difference
//! normalised: a port without an address binds to 127.0.0.1 in dmp.

use std::path::Path;

use crate::compose_corpus::{Case, Outcome, compare, compose_v2};
use crate::support::shared_dir;

/// A directory with `files`, or `None` (said on stderr) without Compose v2.
fn stack_dir(files: &[(&str, &str)]) -> Option<tempfile::TempDir> {
    compose_v2().map(|_| shared_dir(files, false))
}

/// Compares, and requires the differing keys to be exactly `known` (each a
/// loading gap named in the test): a ratchet, as for the corpus.
fn compare_in(case: &str, dir: &Path, profiles: &[&str], env: &[(&str, &str)]) {
    compare_knowing(case, dir, profiles, env, &[]);
}

fn compare_knowing(case: &str, dir: &Path, profiles: &[&str], env: &[(&str, &str)], known: &[&str]) {
    let compose = compose_v2().expect("checked by stack_dir");
    let case = Case {
        name: case.to_owned(),
        dir: dir.to_owned(),
        args: profiles.iter().flat_map(|p| ["--profile".to_owned(), (*p).to_owned()]).collect(),
        env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    };
    let outcome = compare(&case, &compose);
    let differing: Vec<&str> = match &outcome {
        Outcome::Agree => Vec::new(),
        Outcome::Differ(found) => found.iter().map(|(path, _, _)| path.as_str()).collect(),
    };
    assert!(
        differing == known,
        "{}: dmp differs from Compose v2 (known: {known:?}):\n{}",
        case.name,
        outcome.describe()
    );
}

#[test]
fn config_agrees_with_compose_v2_on_interpolation() {
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
      E: ${TAG:+tag-is-set}
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
    compare_in("interpolation", interpolation.path(), &[], &[("SHADOWED", "from-shell"), ("PORT", "9090")]);
}

#[test]
fn config_agrees_with_compose_v2_on_overrides() {
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
    // An override's volume replaces the base one with the same target in
    // place, as Compose v2 merges.
    compare_in("overrides", overrides.path(), &[], &[]);
}

#[test]
fn config_agrees_with_compose_v2_on_env_files() {
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
    compare_in("env-files", env_files.path(), &[], &[]);
}

/// What editors on Windows write (a byte-order mark) and what people type
/// (unquoted values with spaces) are valid, as in Compose v2.
#[test]
fn config_agrees_with_compose_v2_on_a_byte_order_mark_and_unquoted_spaces() {
    let Some(dir) = stack_dir(&[
        (".env", "\u{feff}TAG=1\nGREETING=hello  big world \nSPACED = a b\n"),
        ("web.env", "\u{feff}FIRST=x y z\nSECOND=two words # a comment\n"),
        (
            "compose.yaml",
            r#"services:
  web:
    image: "example/web:${TAG}"
    env_file: web.env
    environment:
      GREETING: "${GREETING}"
      SPACED: "${SPACED}"
"#,
        ),
    ]) else {
        return;
    };
    compare_in("bom-and-spaces", dir.path(), &[], &[]);
}

#[test]
fn config_agrees_with_compose_v2_on_profiles() {
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
    compare_in("profiles", profiles.path(), &[], &[]);
    compare_in("profiles-debug", profiles.path(), &["debug"], &[]);
}

#[test]
fn config_agrees_with_compose_v2_on_kitchen() {
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
    // Loading gap: the model does not keep that `cache` was written in long
    // form, where Compose prints no `volume: {}`.
    compare_knowing("kitchen-sink", kitchen.path(), &[], &[], &["services.web.volumes[1].volume"]);
}

/// Without `-f`, in a directory below the stack file: Compose reads the
/// `.env` beside the file it found, not the one in the current directory.
#[test]
fn config_reads_the_env_beside_a_stack_file_found_above_as_compose_v2_does() {
    let Some(dir) = stack_dir(&[
        (
            "compose.yaml",
            "name: envabove\nservices:\n  web:\n    image: example/web\n    environment:\n      FROM: ${FROM:-unset}\n",
        ),
        (".env", "FROM=beside-the-file\n"),
        ("sub/.env", "FROM=current-directory\n"),
    ]) else {
        return;
    };
    let compose = compose_v2().expect("checked by stack_dir");
    let from = |program: &Path, args: &[&str]| {
        let output = std::process::Command::new(program)
            .current_dir(dir.path().join("sub"))
            .args(args)
            .args(["config", "--format", "json"])
            .env_remove("COMPOSE_FILE")
            .env_remove("COMPOSE_PROJECT_NAME")
            .output()
            .expect("config");
        let json: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
        json["services"]["web"]["environment"]["FROM"].as_str().unwrap_or_default().to_owned()
    };
    let dmp = Path::new(env!("CARGO_BIN_EXE_dmp"));
    assert_eq!(from(&compose, &[]), "beside-the-file");
    assert_eq!(from(dmp, &[]), "beside-the-file");
    assert_eq!(from(&compose, &["-f", "../compose.yaml"]), "beside-the-file");
    assert_eq!(from(dmp, &["-f", "../compose.yaml"]), "beside-the-file");
}

#[test]
fn config_agrees_with_compose_v2_on_yaml_1_1_booleans() {
    // `Y`, `yes`, `on`, `off` are strings to Compose's YAML library (YAML
    // 1.2's core schema); only true and false are booleans.
    let Some(dir) = stack_dir(&[(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    environment:\n      Y: 1\n      on: yes\n    labels:\n      n: off\n    tty: true\n",
    )]) else {
        return;
    };
    compare_in("yaml-1.1-booleans", dir.path(), &[], &[]);
}
