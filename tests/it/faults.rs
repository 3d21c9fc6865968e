//! Faults: concurrent `up`s, a name taken by a container dmp did not make,
//! signals in the middle of `up` and `images build`, and an Engine socket
//! dmp may not use.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{Scope, StackDir, base_images, dmp, images_version, require_engine, shared_dir, text};

fn idle_stack(extra: &str) -> String {
    let version = images_version();
    format!(
        r#"services:
  web:
    image: dmp/wsgi:{version}
    command: ["dmp-idle"]
    healthcheck: {{ disable: true }}
  worker:
    image: dmp/wsgi:{version}
    command: ["dmp-idle"]
    healthcheck: {{ disable: true }}
{extra}"#
    )
}

fn actions(json: &str) -> Vec<String> {
    let report: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    let mut actions: Vec<String> = report["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| s["action"].as_str().expect("action").to_owned())
        .collect();
    actions.sort();
    actions
}

#[test]
fn two_ups_at_once_take_turns_and_create_each_container_once() {
    let engine = require_engine!();
    base_images();
    let stack = StackDir::new(engine, "twoups", &idle_stack(""), &[]);
    let start = || {
        Command::new(crate::support::dmp_bin())
            .current_dir(stack.dir.path())
            .args(["up", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dmp up")
    };
    let (first, second) = (start(), start());
    let outputs = [first.wait_with_output().expect("first"), second.wait_with_output().expect("second")];
    for output in &outputs {
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    let mut results: Vec<Vec<String>> = outputs.iter().map(|o| actions(&text(&o.stdout))).collect();
    results.sort();
    assert_eq!(results, [vec!["created", "created"], vec!["unchanged", "unchanged"]], "one creates, the other waits");
    assert!(outputs.iter().any(|o| text(&o.stderr).contains("waiting for another dmp")), "nobody waited");
    assert_eq!(stack.containers().len(), 2, "duplicates: {:?}", stack.containers());
}

#[test]
fn a_container_name_taken_by_something_else_is_refused_and_left_alone() {
    let engine = require_engine!();
    base_images();
    let stack = StackDir::new(engine, "foreign", &idle_stack(""), &[]);
    // Somebody else's container, with the name dmp would use.
    let scope = Scope::new(engine, "foreign");
    let name = format!("{}-web-1", stack.project);
    let options = bollard::query_parameters::CreateContainerOptionsBuilder::default().name(&name).build();
    let body = bollard::models::ContainerCreateBody {
        image: Some(format!("dmp/wsgi:{}", images_version())),
        cmd: Some(vec!["dmp-idle".into()]),
        labels: Some(std::collections::HashMap::from([crate::support::test_label()])),
        ..Default::default()
    };
    let id = engine.block_on(engine.docker.create_container(Some(options), body)).expect("create").id;
    scope.own_container(&name);

    let output = stack.dmp(&["up"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains(&format!("a container named {name} exists, and dmp did not create it")), "{stderr}");
    let still = engine
        .block_on(engine.docker.inspect_container(&name, None::<bollard::query_parameters::InspectContainerOptions>));
    assert_eq!(still.expect("the foreign container is still there").id.as_deref(), Some(id.as_str()));
    assert!(stack.containers().is_empty(), "dmp created containers: {:?}", stack.containers());
}

fn signal(child: &std::process::Child, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
}

#[test]
fn ctrl_c_during_up_stops_cleanly_and_the_next_up_converges() {
    let engine = require_engine!();
    base_images();
    let version = images_version();
    // `web` waits for `slow` to turn healthy, which takes a few seconds.
    let extra = format!(
        r#"  slow:
    image: dmp/wsgi:{version}
    command: ["sh", "-c", "sleep 4; touch /tmp/ready; exec dmp-idle"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      retries: 30
"#
    );
    let stack_yaml = idle_stack(&extra)
        .replace("  web:\n    image", "  web:\n    depends_on:\n      slow: { condition: service_healthy }\n    image");
    let stack = StackDir::new(engine, "sigint", &stack_yaml, &[]);
    let child = Command::new(crate::support::dmp_bin())
        .current_dir(stack.dir.path())
        .args(["up"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("dmp up");
    std::thread::sleep(Duration::from_millis(1500));
    signal(&child, "INT");
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(130), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("interrupted"), "{}", text(&output.stderr));

    stack.ok(&["up"]);
    let names: Vec<String> = stack.containers().into_iter().map(|(name, _)| name).collect();
    assert_eq!(names.len(), 3, "duplicates or missing containers: {names:?}");
    let ps: Value = serde_json::from_str(&stack.ok(&["ps", "-a", "--json"])).expect("ps");
    assert!(ps["containers"].as_array().expect("list").iter().all(|c| c["state"] == "running"), "{ps}");
}

#[test]
fn sigterm_during_images_build_stops_and_a_new_build_works() {
    let engine = require_engine!();
    base_images();
    let scope = Scope::new(engine, "sigterm");
    let name = scope.name("img");
    let (key, value) = crate::support::test_label();
    let dockerfile = format!("FROM debian:bookworm-slim\nLABEL {key}={value} dev.dmp.test.image={name}\nRUN sleep 4\n");
    let dir = shared_dir(&[("VERSION", "0.0.1\n"), (&format!("{name}/Dockerfile"), &dockerfile)], false);
    scope.own_image(&format!("dmp/{name}:0.0.1"));
    scope.own_image(&format!("dmp/{name}:latest"));
    let images_dir = dir.path().to_string_lossy().into_owned();
    let child = Command::new(crate::support::dmp_bin())
        .args(["images", "build", "--images-dir", &images_dir])
        .stderr(Stdio::piped())
        .spawn()
        .expect("dmp images build");
    std::thread::sleep(Duration::from_millis(1500));
    signal(&child, "TERM");
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(143), "{}", text(&output.stderr));
    let tagged = engine.block_on(engine.docker.inspect_image(&format!("dmp/{name}:0.0.1")));
    assert!(tagged.is_err(), "an interrupted build was tagged");

    let again = dmp(&["images", "build", "--images-dir", &images_dir], &[]);
    assert!(again.status.success(), "{}", text(&again.stderr));
}

#[test]
fn an_engine_socket_dmp_may_not_use_is_one_sentence_with_the_fix() {
    let _engine = require_engine!();
    let dir = shared_dir(&[("dmp.yml", "services:\n  web:\n    image: x\n")], false);
    // A user who is not in the socket's group.
    let output = Command::new("setpriv")
        .args(["--reuid", "23457", "--regid", "23457", "--clear-groups"])
        .arg(crate::support::dmp_bin())
        .arg("ps")
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("setpriv");
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("permission denied on the Docker Engine socket"), "{stderr}");
    assert!(stderr.contains("docker group"), "{stderr}");
}

#[test]
fn doctor_names_each_problem_with_its_fix() {
    let engine = require_engine!();
    base_images();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("addr").port();
    let version = images_version();
    let stack_yaml =
        format!("services:\n  web:\n    image: dmp/wsgi:{version}\n    ports: ['127.0.0.1:${{WEB_PORT}}:8888']\n");
    let stack = StackDir::new(engine, "doctor", &stack_yaml, &[(".env.example", "WEB_PORT=8080\nSECRET=x\n")]);
    stack.write(".env", &format!("WEB_PORT={port}\n"));
    let checks = |stack: &StackDir| {
        let output = stack.dmp(&["doctor", "--json"]);
        let checks: Value = serde_json::from_slice(&output.stdout).expect("doctor --json");
        (output.status.code(), checks)
    };
    let find = |checks: &Value, name: &str| {
        checks["checks"].as_array().expect("list").iter().find(|c| c["check"] == name).cloned().expect(name)
    };

    let (code, report) = checks(&stack);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(find(&report, "engine")["ok"], true);
    assert_eq!(find(&report, "base images")["ok"], true);
    let ports = find(&report, "ports");
    assert_eq!(ports["ok"], false);
    assert!(ports["detail"].as_str().expect("detail").contains(&format!("127.0.0.1:{port} (service web)")), "{ports}");
    let env = find(&report, ".env");
    assert_eq!(env["ok"], false);
    assert!(env["detail"].as_str().expect("detail").ends_with("SECRET"), "{env}");
    assert!(env["fix"].as_str().is_some());

    drop(listener);
    stack.write(".env", &format!("WEB_PORT={port}\nSECRET=y\n"));
    let (code, report) = checks(&stack);
    assert_eq!(code, Some(0), "{report}");
}

/// A checkout only root may write (CI images, VMs), used by root: the
/// services that write into it run as uid 0 inside, with every capability
/// dropped and no new privileges; nothing is privileged or gains a
/// capability, and what they write stays root's.
#[test]
fn a_root_owned_checkout_works_as_root_with_every_capability_dropped() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let engine = require_engine!();
    if std::fs::metadata("/proc/self").map_or(1, |m| m.uid()) != 0 {
        eprintln!("SKIPPED root-owned checkout: the tests do not run as root");
        return;
    }
    base_images();
    let (stack, port) = crate::workflow::demo(engine, "rootowned", true);
    // As a root checkout is: writable by its owner only.
    let mut dirs = vec![stack.dir.path().to_owned()];
    while let Some(dir) = dirs.pop() {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                dirs.push(entry.path());
            }
        }
    }
    let output = stack.dmp(&["up"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(!text(&output.stderr).contains("warning"), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).trim(), format!("http://127.0.0.1:{port}/"));
    assert_eq!(crate::support::http_get(port, "/static/css/application.css", &[]).expect("GET").status, 200);
    for written in ["static/css/application.css", "db.sqlite3"] {
        let meta = std::fs::metadata(stack.dir.path().join(written)).expect(written);
        assert_eq!(meta.uid(), 0, "{written} is not root's");
    }

    for (name, _) in stack.containers() {
        let inspect = engine
            .block_on(
                engine.docker.inspect_container(&name, None::<bollard::query_parameters::InspectContainerOptions>),
            )
            .expect("inspect");
        let host = inspect.host_config.expect("host config");
        assert_ne!(host.privileged, Some(true), "{name} is privileged");
        assert!(host.cap_add.unwrap_or_default().is_empty(), "{name} gains capabilities");
        let container = crate::support::Container::named(engine, &name);
        if container.processes().iter().any(|(uid, _)| *uid == 0) {
            assert_eq!(host.cap_drop.unwrap_or_default(), ["ALL"], "{name} runs as root with capabilities");
            let options = host.security_opt.unwrap_or_default();
            assert!(options.iter().any(|o| o.starts_with("no-new-privileges")), "{name}: {options:?}");
            let service = name.trim_start_matches(&format!("{}-", stack.project)).trim_end_matches("-1");
            let status = stack.ok(&["sh", service, "--", "grep", "^Cap", "/proc/1/status"]);
            for line in status.lines() {
                assert!(line.ends_with("0000000000000000") || line.starts_with("CapBnd"), "{name}: {status}");
            }
            assert!(status.contains("CapEff:\t0000000000000000"), "{name}: {status}");
        } else {
            container.assert_non_root();
        }
    }
    stack.ok(&["down", "-v"]);
}

#[test]
fn containers_are_unprivileged_non_root_without_the_socket_and_down_keeps_user_files() {
    let engine = require_engine!();
    base_images();
    let (stack, _port) = crate::workflow::demo(engine, "safety", true);
    stack.ok(&["up"]);
    for (name, _) in stack.containers() {
        let inspect = engine
            .block_on(
                engine.docker.inspect_container(&name, None::<bollard::query_parameters::InspectContainerOptions>),
            )
            .expect("inspect");
        let host = inspect.host_config.expect("host config");
        assert_ne!(host.privileged, Some(true), "{name} is privileged");
        for mount in inspect.mounts.unwrap_or_default() {
            let source = mount.source.unwrap_or_default();
            assert!(!source.ends_with("docker.sock"), "{name} mounts the Engine socket");
        }
        for port in host.port_bindings.unwrap_or_default().into_values().flatten().flatten() {
            assert_eq!(port.host_ip.as_deref(), Some("127.0.0.1"), "{name} publishes beyond loopback");
        }
        crate::support::Container::named(engine, &name).assert_non_root();
    }

    let user_files =
        [".env", "dmp.yml", "manage.py", "assets/scss/application.scss", "db.sqlite3", "static/css/application.css"];
    stack.ok(&["down", "-v"]);
    for file in user_files {
        assert!(stack.dir.path().join(file).exists(), "down -v removed {file}");
    }
}

/// A stack of one service without a health check that runs `script`.
fn failing_stack(script: &str, extra: &str) -> String {
    let version = images_version();
    format!(
        r#"services:
  app:
    image: dmp/wsgi:{version}
    command: ["sh", "-c", "{script}"]
    healthcheck: {{ disable: true }}
{extra}"#
    )
}

#[test]
fn a_container_that_exits_just_after_its_start_is_a_failure_with_its_last_lines() {
    let engine = require_engine!();
    base_images();
    // Running when first looked at, gone 50 ms later: one "running" snapshot
    // must not make it "up".
    for run in 0..3 {
        let stack = StackDir::new(engine, "exitsoon", &failing_stack("echo exiting-soon; sleep 0.05; exit 4", ""), &[]);
        let output = stack.dmp(&["up"]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "run {run}: {stderr}");
        assert!(stderr.contains("service app exited with code 4"), "run {run}: {stderr}");
        assert!(stderr.contains("exiting-soon"), "run {run}: {stderr}");
        assert!(!stderr.contains("is up"), "run {run}: {stderr}");
    }
}

#[test]
fn a_restart_loop_is_a_failure_with_its_last_lines_never_up() {
    let engine = require_engine!();
    base_images();
    for run in 0..3 {
        let stack =
            StackDir::new(engine, "crashloop", &failing_stack("echo looping; exit 1", "    restart: always\n"), &[]);
        let output = stack.dmp(&["up"]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "run {run}: {stderr}");
        assert!(
            stderr.contains("service app keeps restarting (last exit code 1)")
                || stderr.contains("service app exited with code 1"),
            "run {run}: {stderr}"
        );
        assert!(stderr.contains("looping"), "run {run}: {stderr}");
        assert!(!stderr.contains("is up"), "run {run}: {stderr}");
    }
}
