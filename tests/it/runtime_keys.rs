//! The runtime keys reach the Engine: one stack holding as many of them as
//! it can, brought up by dmp, then each container inspected and probed from
//! inside (secrets readable in /run/secrets, tmpfs mounted, ulimits and extra
//! hosts applied, capabilities dropped, memory limit set, the external volume
//! used under its own name).

use std::process::Command;

use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::{InspectContainerOptions, RemoveVolumeOptions};

use crate::support::{StackDir, require_engine, text};

/// Runs `argv` in `container` and returns its stdout.
fn exec(container: &str, argv: &[&str]) -> String {
    let output = Command::new("docker").arg("exec").arg(container).args(argv).output().expect("docker exec");
    assert!(output.status.success(), "{argv:?} in {container}: {}", text(&output.stderr));
    text(&output.stdout)
}

/// The stack: `app` with most keys, `sidecar` in its network namespace,
/// `locked` read-only with `deploy` limits.
fn stack_yaml(external: &str) -> String {
    format!(
        r#"services:
  app:
    image: debian:bookworm-slim
    command: ["sleep", "infinity"]
    init: true
    hostname: apphost
    extra_hosts: ["db.example:10.1.2.3"]
    cap_drop: [NET_RAW, CHOWN]
    ulimits: {{ nofile: {{ soft: 1024, hard: 2048 }} }}
    tmpfs: ["/scratch:size=8m"]
    mem_limit: 64m
    cpus: 0.5
    shm_size: 32m
    stop_signal: SIGINT
    stop_grace_period: 2s
    sysctls: {{ net.core.somaxconn: "1024" }}
    security_opt: ["no-new-privileges:true"]
    labels: {{ dev.dmp.test.key: value }}
    expose: ["9000"]
    logging: {{ driver: json-file, options: {{ max-size: 1m }} }}
    secrets: [file_secret, env_secret]
    configs: [inline_config]
    volumes:
      - {external}:/shared
      - type: tmpfs
        target: /cache
        tmpfs: {{ size: 1m }}
      - ./created/sub:/created
  sidecar:
    image: debian:bookworm-slim
    command: ["sleep", "infinity"]
    network_mode: service:app
  locked:
    image: debian:bookworm-slim
    command: ["sleep", "infinity"]
    read_only: true
    deploy:
      resources:
        limits: {{ memory: 32m, pids: 50 }}
volumes:
  {external}:
    external: true
secrets:
  file_secret: {{ file: ./secret.txt }}
  env_secret: {{ environment: SECRET_FROM_ENV }}
configs:
  inline_config: {{ content: "hello config" }}
"#
    )
}

/// A volume removed when dropped (also when the test fails).
struct DropVolume(&'static crate::support::TestEngine, String);

impl Drop for DropVolume {
    fn drop(&mut self) {
        let _ = self.0.block_on(self.0.docker.remove_volume(&self.1, None::<RemoveVolumeOptions>));
    }
}

#[test]
fn runtime_keys_reach_the_engine() {
    let engine = require_engine!();
    // An external volume, made outside the stack under a name of its own.
    let external = format!("dmp-test-{}-external", std::process::id());
    engine
        .block_on(
            engine.docker.create_volume(VolumeCreateRequest { name: Some(external.clone()), ..Default::default() }),
        )
        .expect("create the external volume");
    let _volume = DropVolume(engine, external.clone());

    let stack_yaml = stack_yaml(&external);
    let stack = StackDir::new(
        engine,
        "runtime",
        &stack_yaml,
        &[("secret.txt", "from a file\n"), (".env", "SECRET_FROM_ENV=from the environment\n")],
    );
    stack.ok(&["up"]);

    let app = format!("{}-app-1", stack.project);
    let inspect = |name: &str| {
        engine
            .block_on(engine.docker.inspect_container(name, None::<InspectContainerOptions>))
            .unwrap_or_else(|e| panic!("inspecting {name}: {e}"))
    };
    let info = inspect(&app);
    let host = info.host_config.clone().expect("host config");
    let config = info.config.clone().expect("config");
    assert_eq!(host.memory, Some(64 * 1024 * 1024), "mem_limit");
    assert_eq!(host.nano_cpus, Some(500_000_000), "cpus");
    assert_eq!(host.shm_size, Some(32 * 1024 * 1024), "shm_size");
    let dropped = host.cap_drop.clone().unwrap_or_default();
    assert!(dropped.iter().any(|c| c.contains("NET_RAW")), "cap_drop: {dropped:?}");
    let ulimits = host.ulimits.clone().unwrap_or_default();
    assert!(
        ulimits.iter().any(|u| u.name.as_deref() == Some("nofile") && u.soft == Some(1024) && u.hard == Some(2048)),
        "ulimits: {ulimits:?}"
    );
    assert_eq!(host.extra_hosts.clone().unwrap_or_default(), ["db.example:10.1.2.3"]);
    assert!(host.tmpfs.clone().unwrap_or_default().contains_key("/scratch"), "tmpfs");
    assert_eq!(host.sysctls.clone().unwrap_or_default().get("net.core.somaxconn").map(String::as_str), Some("1024"));
    assert_eq!(host.security_opt.clone().unwrap_or_default(), ["no-new-privileges:true"]);
    assert_eq!(
        host.log_config.clone().and_then(|l| l.config).unwrap_or_default().get("max-size").map(String::as_str),
        Some("1m")
    );
    assert_eq!(config.hostname.as_deref(), Some("apphost"));
    assert_eq!(config.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!(config.stop_timeout, Some(2));
    assert!(config.exposed_ports.clone().unwrap_or_default().iter().any(|p| p == "9000/tcp"), "expose");
    assert_eq!(config.labels.clone().unwrap_or_default().get("dev.dmp.test.key").map(String::as_str), Some("value"));
    let mounts = info.mounts.clone().unwrap_or_default();
    assert!(
        mounts
            .iter()
            .any(|m| m.name.as_deref() == Some(external.as_str()) && m.destination.as_deref() == Some("/shared")),
        "the external volume under its own name: {mounts:?}"
    );

    check_from_inside(&app, &stack);

    // network_mode: service:app shares app's network namespace.
    let sidecar = inspect(&format!("{}-sidecar-1", stack.project));
    let mode = sidecar.host_config.and_then(|h| h.network_mode).unwrap_or_default();
    assert!(mode.starts_with("container:"), "network_mode: {mode}");
    assert_eq!(exec(&format!("{}-sidecar-1", stack.project), &["hostname"]).trim(), "apphost");

    let locked = inspect(&format!("{}-locked-1", stack.project)).host_config.expect("host config");
    assert_eq!(locked.readonly_rootfs, Some(true), "read_only");
    assert_eq!(locked.memory, Some(32 * 1024 * 1024), "deploy.resources.limits.memory");
    assert_eq!(locked.pids_limit, Some(50), "deploy.resources.limits.pids");

    stack.ok(&["down"]);
    let still_there = engine.block_on(engine.docker.inspect_volume(&external));
    assert!(still_there.is_ok(), "down leaves an external volume alone");
}

/// What the process in `app` sees.
fn check_from_inside(app: &str, stack: &StackDir) {
    assert_eq!(exec(app, &["cat", "/run/secrets/file_secret"]), "from a file\n");
    assert_eq!(exec(app, &["cat", "/run/secrets/env_secret"]), "from the environment");
    assert_eq!(exec(app, &["cat", "/inline_config"]), "hello config");
    assert_eq!(exec(app, &["sh", "-c", "ulimit -n"]).trim(), "1024");
    assert!(exec(app, &["cat", "/etc/hosts"]).contains("10.1.2.3\tdb.example"), "extra_hosts");
    let mounted = exec(app, &["cat", "/proc/mounts"]);
    assert!(mounted.lines().any(|l| l.contains(" /scratch tmpfs ")), "tmpfs /scratch: {mounted}");
    assert!(mounted.lines().any(|l| l.contains(" /cache tmpfs ")), "tmpfs mount /cache: {mounted}");
    let status = exec(app, &["cat", "/proc/self/status"]);
    let bounding = status.lines().find(|l| l.starts_with("CapBnd:")).expect("CapBnd");
    let caps = u64::from_str_radix(bounding.split_whitespace().nth(1).expect("a mask"), 16).expect("hex");
    assert_eq!(caps & (1 << 13), 0, "CAP_NET_RAW dropped: {bounding}");
    assert_eq!(caps & 1, 0, "CAP_CHOWN dropped: {bounding}");
    assert!(stack.dir.path().join("created/sub").is_dir(), "a missing bind source is created");
}
