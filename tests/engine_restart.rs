//! The Docker Engine restarting under a running `dmp watch`, `dmp dev` and
//! `dmp logs -f`: they report it and carry on, and the services with
//! `restart: unless-stopped` come back with the dev server `dmp start` put in
//! the app container: the site answers before any dmp command runs.
//!
//! The Engine that restarts is a private one the test starts itself with
//! `scripts/private-engine.sh`: its own socket, data and exec roots,
//! containerd and network namespace, loaded with the images it needs by
//! `docker save | docker load` from the Engine the tests use (nothing is built
//! or pulled on it). dmp, its HTTP checks and the restart all happen inside
//! that namespace, by this binary running itself there (the ignored test
//! below). The Engine the tests use is never stopped: the test checks that
//! every dockerd process and every container that is not a test's are the
//! same after it as before. Needs root, `ip` and `nsenter`; without them it
//! says SKIPPED, unless `CI=true` or `DMP_REQUIRE_DOCKER=1`.

#[allow(dead_code)]
#[path = "it/support.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use bollard::query_parameters::{InspectContainerOptions, ListContainersOptionsBuilder};
use support::{
    PROJECT_LABEL, StackDir, TestEngine, WSGI_APP, base_images, http_get, images_version, repo_path, require_engine,
};

/// Set (to the private Engine's directory) when this binary runs inside the
/// private Engine's namespace.
const INSIDE: &str = "DMP_PRIVATE_ENGINE_DIR";
const INNER_TEST: &str = "inside_a_private_engine";

/// A child process whose stdout and stderr lines are collected.
struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(dir: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dmp"))
            .current_dir(dir)
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dmp");
        let (tx, lines) = std::sync::mpsc::channel();
        for pipe in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Self { child, lines, seen: Vec::new() }
    }

    /// Waits for a line containing `text`; panics with everything seen.
    fn wait_for(&mut self, text: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.seen.iter().any(|l| l.contains(text)) {
            match self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => self.seen.push(line),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout | std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("no line with {text:?}; saw:\n{}", self.seen.join("\n"))
                }
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a test that cannot run fails instead of skipping.
fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true") || std::env::var("DMP_REQUIRE_DOCKER").is_ok_and(|v| v == "1")
}

/// Why a private Engine cannot be started here, if it cannot.
fn cannot_start_private_engine() -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    if std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() != 0) {
        return Some("it needs root".to_owned());
    }
    for tool in ["ip", "nsenter", "docker"] {
        let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output();
        if !found.is_ok_and(|o| o.status.success()) {
            return Some(format!("no `{tool}` command"));
        }
    }
    None
}

fn private_engine_script() -> PathBuf {
    repo_path("scripts/private-engine.sh")
}

/// A private Engine in its own network namespace; stopped and removed
/// (namespace, processes, data) on drop, also when the test fails.
struct PrivateEngine {
    dir: PathBuf,
}

impl PrivateEngine {
    fn start() -> Self {
        // Short: the containerd socket lives under it.
        let dir = PathBuf::from(format!("/tmp/dmp-pe-{}", std::process::id()));
        let this = Self { dir };
        let output = Command::new(private_engine_script()).arg("start").arg(&this.dir).output().expect("start");
        assert!(
            output.status.success(),
            "the private Engine did not start:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        this
    }

    /// Copies images from the Engine the tests use into this one.
    fn load(&self, images: &[String]) {
        let status =
            Command::new(private_engine_script()).arg("load").arg(&self.dir).args(images).status().expect("load");
        assert!(status.success(), "could not load {images:?} into the private Engine");
    }
}

impl Drop for PrivateEngine {
    fn drop(&mut self) {
        let _ = Command::new(private_engine_script()).arg("stop").arg(&self.dir).status();
    }
}

/// What of the Engine the tests use must be left alone: its processes, and
/// its containers that no test made, with when each last started.
#[derive(Debug, PartialEq)]
struct Untouched {
    dockerd_pids: BTreeSet<u32>,
    containers: BTreeMap<String, String>,
}

impl Untouched {
    fn now(engine: &TestEngine) -> Self {
        let pgrep = Command::new("pgrep").args(["-x", "dockerd"]).output().expect("pgrep");
        let dockerd_pids =
            String::from_utf8_lossy(&pgrep.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect();
        let docker = &engine.docker;
        let containers = engine.block_on(async {
            let options = ListContainersOptionsBuilder::default().all(true).build();
            let mut found = BTreeMap::new();
            for c in docker.list_containers(Some(options)).await.expect("list containers") {
                let labels = c.labels.unwrap_or_default();
                let a_test_made_it = labels.contains_key("dev.dmp.test.pid")
                    || labels.get(PROJECT_LABEL).is_some_and(|p| p.starts_with("dmp-test-"));
                let id = c.id.unwrap_or_default();
                if a_test_made_it {
                    continue;
                }
                let started = docker
                    .inspect_container(&id, None::<InspectContainerOptions>)
                    .await
                    .ok()
                    .and_then(|i| i.state)
                    .and_then(|s| s.started_at)
                    .unwrap_or_default();
                found.insert(id, started);
            }
            found
        });
        Self { dockerd_pids, containers }
    }
}

#[test]
fn watch_and_logs_follow_survive_an_engine_restart() {
    let engine = require_engine!();
    if let Some(why) = cannot_start_private_engine() {
        assert!(!required(), "the Engine restart test cannot run: {why} (CI=true or DMP_REQUIRE_DOCKER=1)");
        let _ = writeln!(std::io::stderr(), "SKIPPED the Engine restart test: {why}");
        return;
    }
    base_images();
    let before = Untouched::now(engine);

    let private = PrivateEngine::start();
    let version = images_version();
    private.load(&["wsgi", "http-frontend", "http-buildstatic"].map(|name| format!("dmp/{name}:{version}")));
    let exe = std::env::current_exe().expect("this test binary");
    let output = Command::new(private_engine_script())
        .arg("exec")
        .arg(&private.dir)
        .arg("env")
        .arg(format!("{INSIDE}={}", private.dir.display()))
        .arg(exe)
        .args(["--exact", INNER_TEST, "--ignored", "--nocapture", "--test-threads", "1"])
        .output()
        .expect("running the test inside the private Engine's namespace");
    drop(private);
    assert!(
        output.status.success(),
        "the restart test inside the private Engine failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let after = Untouched::now(engine);
    assert_eq!(before, after, "the Engine the tests use, or a container that is not a test's, was disturbed");
}

fn site_status(port: u16) -> u16 {
    http_get(port, "/", &[]).map_or(0, |r| r.status)
}

/// The scenario itself, run by the test above inside the private Engine's
/// namespace (with `DOCKER_HOST` set to it); on its own it does nothing.
#[test]
#[ignore = "run by watch_and_logs_follow_survive_an_engine_restart inside a private Engine"]
fn inside_a_private_engine() {
    let Some(private_dir) = std::env::var_os(INSIDE) else {
        let _ = writeln!(std::io::stderr(), "SKIPPED {INNER_TEST}: only runs inside a private Engine");
        return;
    };
    let engine = require_engine!();
    // A stack like the demo's (wsgi, nginx serving ./static, buildstatic with
    // a sassc watch rule) on the base images alone: the private Engine has
    // no network to build or install anything.
    let demo = repo_path("examples/demo/assets/legacy");
    let mut files = vec![("application.py".to_owned(), WSGI_APP.to_owned())];
    for name in ["legacy.scss", "_variables.scss", "_layout.scss"] {
        let text = std::fs::read_to_string(demo.join(name)).expect("demo file");
        files.push((format!("assets/legacy/{name}"), text));
    }
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    let version = images_version();
    let stack_yaml = format!(
        r#"services:
  wsgi:
    image: dmp/wsgi:{version}
    command: ['dmp-idle']
    healthcheck: {{disable: true}}
    restart: unless-stopped
    volumes: ['./:/app']
  nginx:
    image: dmp/http-frontend:{version}
    environment: {{DM_BACKEND: 'wsgi:8888', DM_APP_NAME: restart}}
    volumes: ['./:/app:ro']
    ports: ['${{HTTP_PORT}}:8080']
    depends_on: [wsgi]
    restart: unless-stopped
  buildstatic:
    image: dmp/http-buildstatic:{version}
    volumes: ['./:/app']
x-dmp:
  app: wsgi
  http: nginx
  http_path: /healthcheck
  start: ['dmp-wsgi']
  watch:
    - name: legacy
      command: mkdir -p static/css && sassc --style compressed assets/legacy/legacy.scss static/css/legacy.css
      watch: ["assets/legacy/**/*.scss"]
"#
    );
    let stack = StackDir::new(engine, "restart", &stack_yaml, &borrowed);
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    stack.write(".env", &format!("HTTP_PORT={port}\n"));
    stack.ok(&["up"]);
    // The app idles until `dmp start` runs its dev server.
    assert_eq!(site_status(port), 502, "the app idles until `dmp start`");
    stack.ok(&["start"]);
    assert_eq!(site_status(port), 200, "after `dmp start`");

    let mut watch = Running::start(stack.dir.path(), &["watch", "--json", "--no-initial-build"]);
    watch.wait_for("\"event\":\"ready\"", Duration::from_secs(30));
    // dev's own builds wait ten minutes of quiet: the save below is `watch`'s.
    let mut dev = Running::start(stack.dir.path(), &["dev", "--no-initial-build", "--quiet-ms", "600000"]);
    dev.wait_for("watching 1 rules", Duration::from_secs(30));
    let mut logs = Running::start(stack.dir.path(), &["logs", "-f", "--tail", "0", "nginx"]);
    std::thread::sleep(Duration::from_millis(500));
    let _ = http_get(port, "/before-restart", &[]);
    logs.wait_for("/before-restart", Duration::from_secs(30));

    let status =
        Command::new(private_engine_script()).arg("restart").arg(&private_dir).status().expect("restarting the Engine");
    assert!(status.success(), "the private Engine did not come back");
    // The app container and nginx come back by their restart policy, and
    // the image's entrypoint starts the dev server `dmp start` put there
    // again: the site answers with no dmp command in between (the running
    // `dmp dev` finds the server running and has nothing to do).
    let deadline = Instant::now() + Duration::from_secs(90);
    while site_status(port) != 200 {
        assert!(Instant::now() < deadline, "the site did not answer after the Engine restart without dmp");
        std::thread::sleep(Duration::from_millis(250));
    }
    std::thread::sleep(Duration::from_secs(5));
    while let Ok(line) = dev.lines.try_recv() {
        dev.seen.push(line);
    }
    assert!(
        !dev.seen.iter().any(|l| l.contains("started again without its dev server")),
        "dev started the server the entrypoint starts:\n{}",
        dev.seen.join("\n")
    );
    // buildstatic has no restart policy: it comes back stopped; up starts
    // it, and the site still answers as soon as up returns.
    stack.ok(&["up"]);
    assert_eq!(site_status(port), 200, "the site after the Engine restart and `dmp up`");

    stack.write("assets/legacy/_variables.scss", "$brand-colour: #0a0b0c;\n$text-colour: #000;\n$gutter: 20px;\n");
    watch.wait_for("\"ok\":true", Duration::from_secs(90));
    let css = std::fs::read_to_string(stack.dir.path().join("static/css/legacy.css")).expect("css");
    assert!(css.contains("#0a0b0c"), "{css}");

    logs.wait_for("lost the Docker Engine", Duration::from_secs(30));
    logs.wait_for("the Docker Engine is back", Duration::from_secs(60));
    let _ = http_get(port, "/after-restart", &[]);
    logs.wait_for("/after-restart", Duration::from_secs(30));
}
