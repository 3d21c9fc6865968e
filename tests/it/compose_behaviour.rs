//! Compose v2's behaviours that `up` follows: `pull_policy` with a window
//! (an image older than it is pulled again; offline, as here with no
//! registry, the local image runs with a warning) and
//! `depends_on.restart`.

use serde_json::Value;

use crate::support::{StackDir, base_images, images_version, require_engine, text};

#[test]
fn an_image_older_than_its_pull_window_is_pulled_again_and_a_fresh_one_is_not() {
    let engine = require_engine!();
    base_images();
    let version = images_version();
    let stack = StackDir::new(
        engine,
        "pullwindow",
        &format!(
            r#"services:
  stale:
    image: dmp/wsgi:{version}
    command: ["dmp-idle"]
    healthcheck: {{ disable: true }}
    pull_policy: every_1s
  fresh:
    image: dmp/wsgi:{version}
    command: ["dmp-idle"]
    healthcheck: {{ disable: true }}
    pull_policy: every_8760h
"#
        ),
        &[],
    );
    // The base image was tagged at least a second ago by now.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let output = stack.dmp(&["up", "--no-wait"]);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "the local image runs when the pull fails: {stderr}");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("stale: pulling") && warnings[0].contains("(pull_policy: every_1s) failed"),
        "{stderr}"
    );
    assert_eq!(stack.containers().len(), 2);
}

fn stack_with_restart(db_setting: &str) -> String {
    let version = images_version();
    format!(
        r#"services:
  db:
    image: dmp/wsgi:{version}
    command: ["dmp-idle"]
    healthcheck: {{ disable: true }}
    environment: {{ SETTING: {db_setting} }}
  follows:
    image: dmp/wsgi:{version}
    command: ["dmp-idle"]
    healthcheck: {{ disable: true }}
    depends_on:
      db: {{ condition: service_started, restart: true }}
  ignores:
    image: dmp/wsgi:{version}
    command: ["dmp-idle"]
    healthcheck: {{ disable: true }}
    depends_on: [db]
"#
    )
}

#[test]
fn a_dependency_recreated_by_up_restarts_the_services_that_ask_for_it() {
    let engine = require_engine!();
    base_images();
    let stack = StackDir::new(engine, "deprestart", &stack_with_restart("one"), &[]);
    stack.ok(&["up"]);
    let started = |service: &str| stack.container(service).started_at();
    let (follows, ignores) = (started("follows"), started("ignores"));

    stack.write_stack(&stack_with_restart("two"));
    let report: Value = serde_json::from_str(&stack.ok(&["up", "--json"])).expect("up --json");
    let action = |service: &str| {
        report["services"].as_array().expect("services").iter().find(|s| s["service"] == service).expect("listed")
            ["action"]
            .as_str()
            .expect("an action")
            .to_owned()
    };
    assert_eq!(action("db"), "recreated");
    assert_eq!(action("follows"), "restarted", "{report}");
    assert_eq!(action("ignores"), "unchanged", "{report}");
    assert!(started("follows") > follows, "restarted");
    assert_eq!(started("ignores"), ignores, "restart: false leaves it alone");

    let again = stack.ok(&["up", "--json"]);
    assert!(!again.contains("restarted") && !again.contains("recreated"), "nothing changed: {again}");
}

/// A port that serves nothing: `up --no-wait`.
fn scaled(scale: u32, port: &str) -> String {
    let version = images_version();
    format!(
        r#"services:
  worker:
    image: dmp/wsgi:{version}
    command: ["dmp-idle"]
    healthcheck: {{ disable: true }}
    scale: {scale}
    ports: ['{port}']
"#
    )
}

#[test]
fn scale_runs_numbered_containers_and_changing_it_adds_or_removes_only() {
    let engine = require_engine!();
    base_images();
    let stack = StackDir::new(engine, "scale", &scaled(3, "8888"), &[]);
    let first: Value = serde_json::from_str(&stack.ok(&["up", "--no-wait", "--json"])).expect("up --json");
    assert_eq!(first["services"][0]["action"], "created");
    let names = |stack: &StackDir| stack.containers().into_iter().map(|(name, _)| name).collect::<Vec<_>>();
    let project = &stack.project;
    assert_eq!(names(&stack), [1, 2, 3].map(|n| format!("{project}-worker-{n}")));
    let ps: Value = serde_json::from_str(&stack.ok(&["ps", "--json"])).expect("ps --json");
    let containers = ps["containers"].as_array().expect("containers");
    let mut ports: Vec<u64> =
        containers.iter().map(|c| c["ports"][0]["published"].as_u64().expect("a host port")).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 3, "each container its own host port: {ps:?}");
    let numbers: Vec<String> = (1..=3)
        .map(|n| {
            let labels = engine
                .block_on(engine.docker.inspect_container(&format!("{project}-worker-{n}"), None))
                .expect("inspect")
                .config
                .and_then(|c| c.labels)
                .unwrap_or_default();
            labels["com.docker.compose.container-number"].clone()
        })
        .collect();
    assert_eq!(numbers, ["1", "2", "3"]);

    let kept = stack.containers()[0].clone();
    stack.write_stack(&scaled(1, "8888"));
    let down: Value = serde_json::from_str(&stack.ok(&["up", "--no-wait", "--json"])).expect("up --json");
    assert_eq!(down["services"][0]["action"], "unchanged", "scaling down recreates nothing: {down}");
    assert_eq!(stack.containers(), [kept], "the highest numbers go");

    stack.write_stack(&scaled(2, "127.0.0.1:18150:8888"));
    let output = stack.dmp(&["up", "--no-wait"]);
    let stderr = text(&output.stderr);
    assert!(!output.status.success() && stderr.contains("fixed host port"), "{stderr}");
}

/// `server`, and three services that depend on it with `service_started`:
/// `client` looks its name up the moment it starts (a proxy resolving its
/// upstream does the same), `idler` only runs, and `sidecar` shares its
/// network stack.
fn started_dependents(server_user: &str) -> String {
    let version = images_version();
    format!(
        r#"services:
  server:
    image: dmp/wsgi:{version}
    command: ["dmp-idle"]
    healthcheck: {{ disable: true }}
    user: "{server_user}"
  client:
    image: dmp/wsgi:{version}
    command: ["sh", "-c", "getent hosts server || {{ echo server-not-found; exit 3; }}; exec dmp-idle"]
    healthcheck: {{ disable: true }}
    depends_on: [server]
  idler:
    image: dmp/wsgi:{version}
    command: ["dmp-idle"]
    healthcheck: {{ disable: true }}
    depends_on: [server]
  sidecar:
    image: dmp/wsgi:{version}
    command: ["dmp-idle"]
    healthcheck: {{ disable: true }}
    network_mode: "service:server"
    depends_on: [server]
"#
    )
}

/// When `up`'s `-v` trace has `container`'s start request begin and end,
/// in seconds since dmp started.
fn start_request(trace: &str, container: &str) -> Option<(f64, f64)> {
    let needle = format!("start container {container}: ");
    trace.lines().find_map(|line| {
        let (at, rest) = line.trim_start().split_once("s DEBUG")?;
        let ms = rest.split_once(&needle)?.1.strip_suffix(" ms")?;
        let end: f64 = at.parse().ok()?;
        Some((end - ms.parse::<f64>().ok()? / 1000.0, end))
    })
}

#[test]
fn a_service_started_dependent_starts_once_its_dependency_joined_the_network() {
    let engine = require_engine!();
    base_images();
    let stack = StackDir::new(engine, "onjoin", &started_dependents("app"), &[]);
    let (server, client, sidecar) = (
        format!("{}-server-1", stack.project),
        format!("{}-client-1", stack.project),
        format!("{}-sidecar-1", stack.project),
    );
    let mut early = 0;
    for run in 0..3 {
        let output = stack.dmp(&["-v", "up"]);
        let trace = text(&output.stderr);
        assert!(
            output.status.success(),
            "run {run}: the dependency's name resolves at the dependent's start:\n{trace}"
        );
        let server_start = start_request(&trace, &server).expect("server's start in the trace");
        let client_start = start_request(&trace, &client).expect("client's start in the trace");
        let sidecar_start = start_request(&trace, &sidecar).expect("sidecar's start in the trace");
        assert!(
            sidecar_start.0 >= server_start.1,
            "run {run}: a service on the dependency's network stack waits for its start to return:\n{trace}"
        );
        // On the Engine's network connect event, before the dependency's
        // start returns; the return itself is the fallback, so this holds
        // in most runs rather than every one.
        if client_start.0 < server_start.1 {
            early += 1;
        }
        stack.ok(&["down", "-q"]);
    }
    assert!(early >= 1, "client never started before server's start returned");
}

#[test]
fn a_dependency_that_fails_after_joining_its_network_takes_its_dependents_back() {
    let engine = require_engine!();
    base_images();
    // The Engine finds the missing user only when it makes the process,
    // after the container joined its network.
    let stack = StackDir::new(engine, "joinfail", &started_dependents("no-such-user"), &[]);
    let output = stack.dmp(&["up"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no-such-user"), "the cause is named: {stderr}");
    assert!(stderr.contains("server"), "{stderr}");
    assert!(stderr.contains("dmp removed the 4 containers and 1 network this run had created"), "{stderr}");
    stack.assert_no_state();

    // A dependent that existed, stopped: started on the join, it is stopped
    // again, as Compose would have left it.
    stack.write_stack(&started_dependents("app"));
    stack.ok(&["up"]);
    stack.ok(&["stop"]);
    stack.write_stack(&started_dependents("no-such-user"));
    let output = stack.dmp(&["up"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no-such-user"), "{stderr}");
    for service in ["server", "client", "idler", "sidecar"] {
        assert!(!stack.container(service).running(), "{service} was left running: {stderr}");
    }
}
