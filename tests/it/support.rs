//! The test harness: a real Docker Engine, the real `dmp` binary, and
//! containers reached only through ports published on 127.0.0.1.
//!
//! Every container and network a test makes belongs to a [`Scope`], named
//! `dmp-test-<pid>-<test>-…` and labelled with the test run's pid; dropping
//! the scope (also while a failing test unwinds) removes them, and the next
//! run sweeps what a killed run left behind.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, EndpointSettings, HostConfig, NetworkCreateRequest, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
    RemoveVolumeOptions, StartContainerOptions, TopOptionsBuilder,
};
use futures_util::StreamExt as _;
use serde_json::Value;

const TEST_LABEL: &str = "dev.dmp.test.pid";
/// dmp's project label (kept in sync with src/stack).
pub const PROJECT_LABEL: &str = "dev.dmp.project";

/// A connection to the Engine with a runtime of its own, so tests stay plain
/// `#[test]` functions and cleanup can run in `Drop`.
pub struct TestEngine {
    runtime: tokio::runtime::Runtime,
    pub docker: Docker,
}

impl TestEngine {
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

static ENGINE: OnceLock<Result<TestEngine, String>> = OnceLock::new();

/// Whether a missing Engine fails the run instead of skipping.
fn engine_required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true") || std::env::var("DMP_REQUIRE_DOCKER").is_ok_and(|v| v == "1")
}

/// The Engine, or `None` (after saying so on the terminal) when there is none
/// and it is not required.
pub fn engine() -> Option<&'static TestEngine> {
    // libtest names each test's thread after the test.
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("an Engine test");
    match ENGINE.get_or_init(connect) {
        Ok(engine) => Some(engine),
        Err(why) if engine_required() => {
            panic!("{test}: a Docker Engine is required (CI=true or DMP_REQUIRE_DOCKER=1) but: {why}")
        }
        Err(why) => {
            // Straight to stderr: libtest captures only print!/eprint!.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: no Docker Engine ({why}); run scripts/test.sh, or set DMP_REQUIRE_DOCKER=1 to fail instead"
            );
            None
        }
    }
}

/// `let engine = require_engine!();` at the top of an Engine test.
macro_rules! require_engine {
    () => {
        match $crate::support::engine() {
            Some(engine) => engine,
            None => return,
        }
    };
}
pub(crate) use require_engine;

fn connect() -> Result<TestEngine, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let docker = runtime.block_on(async {
        let docker = Docker::connect_with_defaults().map_err(|e| e.to_string())?;
        let docker = docker.negotiate_version().await.map_err(|e| e.to_string())?;
        docker.ping().await.map_err(|e| e.to_string())?;
        Ok::<_, String>(docker)
    })?;
    let engine = TestEngine { runtime, docker };
    sweep_leftovers(&engine);
    Ok(engine)
}

/// Removes containers, networks and images of earlier test runs whose process
/// is gone (a killed run cannot clean up after itself).
fn sweep_leftovers(engine: &TestEngine) {
    let docker = &engine.docker;
    let dead = |labels: Option<&HashMap<String, String>>| {
        labels
            .and_then(|l| l.get(TEST_LABEL))
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_some_and(|pid| pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists())
    };
    engine.block_on(async {
        let filters = HashMap::from([("label".to_owned(), vec![TEST_LABEL.to_owned()])]);
        let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
        for container in docker.list_containers(Some(options)).await.unwrap_or_default() {
            if dead(container.labels.as_ref()) {
                let id = container.id.unwrap_or_default();
                let _ = docker.remove_container(&id, Some(force_remove())).await;
            }
        }
        let options = ListNetworksOptionsBuilder::default().filters(&filters).build();
        for network in docker.list_networks(Some(options)).await.unwrap_or_default() {
            if dead(network.labels.as_ref()) {
                let _ = docker.remove_network(&network.id.unwrap_or_default()).await;
            }
        }
        // Stacks of dead test runs: their project is dmp-test-<pid>-….
        let project_filter = HashMap::from([("label".to_owned(), vec![PROJECT_LABEL.to_owned()])]);
        let dead_project = |labels: Option<&HashMap<String, String>>| {
            labels
                .and_then(|l| l.get(PROJECT_LABEL))
                .and_then(|p| p.strip_prefix("dmp-test-"))
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok())
                .is_some_and(|pid| pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists())
        };
        let options = ListContainersOptionsBuilder::default().all(true).filters(&project_filter).build();
        for container in docker.list_containers(Some(options)).await.unwrap_or_default() {
            if dead_project(container.labels.as_ref()) {
                let _ = docker.remove_container(&container.id.unwrap_or_default(), Some(force_remove())).await;
            }
        }
        let options = ListNetworksOptionsBuilder::default().filters(&project_filter).build();
        for network in docker.list_networks(Some(options)).await.unwrap_or_default() {
            if dead_project(network.labels.as_ref()) {
                let _ = docker.remove_network(&network.id.unwrap_or_default()).await;
            }
        }
        let options = ListVolumesOptionsBuilder::default().filters(&project_filter).build();
        for volume in docker.list_volumes(Some(options)).await.ok().and_then(|v| v.volumes).unwrap_or_default() {
            if dead_project(Some(&volume.labels)) {
                let _ = docker.remove_volume(&volume.name, None::<RemoveVolumeOptions>).await;
            }
        }
        let options = bollard::query_parameters::ListImagesOptionsBuilder::default().filters(&filters).build();
        for image in docker.list_images(Some(options)).await.unwrap_or_default() {
            if dead(Some(&image.labels)) {
                let _ = docker.remove_image(&image.id, Some(force_remove_image()), None).await;
            }
        }
    });
}

fn force_remove() -> bollard::query_parameters::RemoveContainerOptions {
    RemoveContainerOptionsBuilder::default().force(true).v(true).build()
}

fn force_remove_image() -> bollard::query_parameters::RemoveImageOptions {
    RemoveImageOptionsBuilder::default().force(true).build()
}

pub fn test_label() -> (String, String) {
    (TEST_LABEL.to_owned(), std::process::id().to_string())
}

/// Runs the `dmp` binary built for this test run.
pub fn dmp(args: &[&str], env: &[(&str, &str)]) -> Output {
    dmp_in(Path::new("."), args, env)
}

/// The `dmp` binary under test: the one built for this run, or
/// `$DMP_TEST_BIN` (to run the tests against another build, e.g. an older
/// commit's: tests/README.md).
pub fn dmp_bin() -> PathBuf {
    std::env::var_os("DMP_TEST_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_dmp")), PathBuf::from)
}

/// Runs `dmp` in `dir`, with a clean Compose environment.
pub fn dmp_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    run_dmp(&dmp_bin(), dir, args, env)
}

fn run_dmp(bin: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(bin);
    command
        .current_dir(dir)
        .args(args)
        .env_remove("DMP_IMAGES_DIR")
        .env_remove("COMPOSE_PROJECT_NAME")
        .env_remove("COMPOSE_PROFILES")
        .env("NO_COLOR", "1");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("running dmp")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The five base images, built once per test run through `dmp images build
/// --json`; returns its parsed report.
pub fn base_images() -> &'static Vec<Value> {
    static BUILT: OnceLock<Result<Vec<Value>, String>> = OnceLock::new();
    let result = BUILT.get_or_init(|| {
        // Always this build's dmp, also under DMP_TEST_BIN: the images are
        // shared by every test run on the Engine.
        let args = ["images", "build", "--json", "--progress", "plain"];
        let output = run_dmp(Path::new(env!("CARGO_BIN_EXE_dmp")), Path::new("."), &args, &[]);
        if !output.status.success() {
            return Err(format!("dmp images build failed:\n{}\n{}", text(&output.stdout), text(&output.stderr)));
        }
        serde_json::from_slice::<Value>(&output.stdout)
            .ok()
            .and_then(|v| serde_json::from_value(v["images"].clone()).ok())
            .ok_or_else(|| format!("bad --json output: {}", text(&output.stdout)))
    });
    match result {
        Ok(report) => report,
        Err(why) => panic!("{why}"),
    }
}

/// The images' version, as `images/VERSION` says.
pub fn images_version() -> String {
    std::fs::read_to_string(repo_path("images/VERSION")).expect("images/VERSION").trim().to_owned()
}

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A directory the containers' non-root users can read (and write, when
/// `writable`): tempdirs are 0700 and owned by root here.
pub fn shared_dir(files: &[(&str, &str)], writable: bool) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let mode = if writable { 0o777 } else { 0o755 };
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).expect("chmod");
    for (rel, contents) in files {
        let path = dir.path().join(rel);
        let mut parent = path.parent().expect("a parent").to_owned();
        std::fs::create_dir_all(&parent).expect("mkdir");
        while parent != dir.path() {
            std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(mode)).expect("chmod");
            parent = parent.parent().expect("a parent").to_owned();
        }
        std::fs::write(&path, contents).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    dir
}

static SCOPES: AtomicUsize = AtomicUsize::new(0);

/// Everything one test creates on the Engine, removed on drop.
pub struct Scope {
    pub engine: &'static TestEngine,
    prefix: String,
    containers: Mutex<Vec<String>>,
    networks: Mutex<Vec<String>>,
    images: Mutex<Vec<String>>,
}

/// What to run: the parts of a container create that tests use.
#[derive(Default)]
pub struct Spec<'a> {
    pub image: &'a str,
    pub name: &'a str,
    pub env: Vec<String>,
    pub cmd: Option<Vec<&'a str>>,
    /// `host:container[:ro]`
    pub binds: Vec<String>,
    /// Container ports to publish on 127.0.0.1 (on a free host port).
    pub publish: Vec<u16>,
    pub network: Option<&'a str>,
}

impl Scope {
    pub fn new(engine: &'static TestEngine, test: &str) -> Self {
        let n = SCOPES.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("dmp-test-{}-{n}-{test}", std::process::id());
        Self { engine, prefix, containers: Mutex::default(), networks: Mutex::default(), images: Mutex::default() }
    }

    pub fn name(&self, part: &str) -> String {
        format!("{}-{part}", self.prefix)
    }

    /// Removes this container (made outside `run`) when the scope ends.
    pub fn own_container(&self, name: &str) {
        self.containers.lock().expect("lock").push(name.to_owned());
    }

    /// Removes this image (by tag) when the scope ends.
    pub fn own_image(&self, tag: &str) {
        self.images.lock().expect("lock").push(tag.to_owned());
    }

    pub fn network(&self) -> String {
        let name = self.name("net");
        let request = NetworkCreateRequest {
            name: name.clone(),
            labels: Some(HashMap::from([test_label()])),
            ..Default::default()
        };
        self.engine.block_on(self.engine.docker.create_network(request)).expect("create network");
        self.networks.lock().expect("lock").push(name.clone());
        name
    }

    /// Creates and starts a container.
    pub fn run(&self, spec: Spec) -> Container {
        let name = self.name(spec.name);
        let docker = &self.engine.docker;
        let port_bindings = spec
            .publish
            .iter()
            .map(|port| {
                let binding = PortBinding { host_ip: Some("127.0.0.1".into()), host_port: Some(String::new()) };
                (format!("{port}/tcp"), Some(vec![binding]))
            })
            .collect::<HashMap<_, _>>();
        let body = ContainerCreateBody {
            image: Some(spec.image.to_owned()),
            env: Some(spec.env),
            cmd: spec.cmd.map(|c| c.into_iter().map(str::to_owned).collect()),
            labels: Some(HashMap::from([test_label()])),
            exposed_ports: Some(spec.publish.iter().map(|p| format!("{p}/tcp")).collect()),
            host_config: Some(HostConfig {
                binds: Some(spec.binds),
                port_bindings: Some(port_bindings),
                network_mode: spec.network.map(str::to_owned),
                ..Default::default()
            }),
            networking_config: spec.network.map(|net| bollard::models::NetworkingConfig {
                endpoints_config: Some(HashMap::from([(net.to_owned(), EndpointSettings::default())])),
            }),
            ..Default::default()
        };
        self.containers.lock().expect("lock").push(name.clone());
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        self.engine
            .block_on(async {
                docker.create_container(Some(options), body).await?;
                docker.start_container(&name, None::<StartContainerOptions>).await
            })
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        Container { engine: self.engine, name }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let docker = &self.engine.docker;
        let containers =
            std::mem::take(&mut *self.containers.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let networks = std::mem::take(&mut *self.networks.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let images = std::mem::take(&mut *self.images.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        self.engine.block_on(async {
            for name in containers {
                let _ = docker.remove_container(&name, Some(force_remove())).await;
            }
            for name in networks {
                let _ = docker.remove_network(&name).await;
            }
            for tag in images {
                let _ = docker.remove_image(&tag, Some(force_remove_image()), None).await;
            }
        });
    }
}

pub struct Container {
    engine: &'static TestEngine,
    pub name: String,
}

impl Container {
    /// A container by name (made by dmp, for instance).
    pub fn named(engine: &'static TestEngine, name: &str) -> Self {
        Self { engine, name: name.to_owned() }
    }

    fn inspect(&self) -> bollard::models::ContainerInspectResponse {
        self.engine
            .block_on(self.engine.docker.inspect_container(&self.name, None::<InspectContainerOptions>))
            .unwrap_or_else(|e| panic!("inspecting {}: {e}", self.name))
    }

    /// When the container's process last started.
    pub fn started_at(&self) -> std::time::SystemTime {
        let started = self.inspect().state.and_then(|s| s.started_at).expect("a start time");
        parse_rfc3339(&started).unwrap_or_else(|| panic!("cannot read the time {started}"))
    }

    /// Whether the container's process runs.
    pub fn running(&self) -> bool {
        self.inspect().state.and_then(|s| s.running).unwrap_or(false)
    }

    /// The 127.0.0.1 port the container's `port` is published on.
    pub fn host_port(&self, port: u16) -> u16 {
        let inspect = self.inspect();
        let ports = inspect.network_settings.and_then(|n| n.ports).unwrap_or_default();
        ports
            .get(&format!("{port}/tcp"))
            .and_then(|b| b.as_ref())
            .and_then(|b| b.first())
            .and_then(|b| b.host_port.as_deref())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{}: port {port} is not published", self.name))
    }

    pub fn logs(&self) -> String {
        let options = LogsOptionsBuilder::default().stdout(true).stderr(true).build();
        self.engine.block_on(async {
            let mut stream = self.engine.docker.logs(&self.name, Some(options));
            let mut logs = String::new();
            while let Some(Ok(chunk)) = stream.next().await {
                logs.push_str(&chunk.to_string());
            }
            logs
        })
    }

    /// Panics with the logs when the container is no longer running.
    fn assert_running(&self) {
        let state = self.inspect().state.unwrap_or_default();
        assert!(
            state.running == Some(true),
            "{} exited with {:?}; its logs:\n{}",
            self.name,
            state.exit_code,
            self.logs()
        );
    }

    /// Waits until the image's HEALTHCHECK reports healthy.
    pub fn wait_healthy(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            self.assert_running();
            let health = self.inspect().state.and_then(|s| s.health).and_then(|h| h.status);
            if health.map(|h| h.to_string()).as_deref() == Some("healthy") {
                return;
            }
            assert!(Instant::now() < deadline, "{} not healthy within {timeout:?}; logs:\n{}", self.name, self.logs());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits for the container to exit and returns its exit code.
    pub fn wait_exit(&self, timeout: Duration) -> i64 {
        let deadline = Instant::now() + timeout;
        loop {
            let state = self.inspect().state.unwrap_or_default();
            if state.running == Some(false) && state.status.map(|s| s.to_string()).as_deref() == Some("exited") {
                return state.exit_code.unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "{} still running after {timeout:?}", self.name);
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// GETs `path` on the published `port` until the server answers.
    pub fn get(&self, port: u16, path: &str, headers: &[(&str, &str)]) -> Response {
        let host_port = self.host_port(port);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match http_get(host_port, path, headers) {
                Ok(response) if response.status != 502 => return response,
                Ok(_) | Err(_) if Instant::now() < deadline => {
                    self.assert_running();
                    std::thread::sleep(Duration::from_millis(100));
                }
                Ok(response) => return response,
                Err(e) => panic!("GET {path} on {}: {e}; logs:\n{}", self.name, self.logs()),
            }
        }
    }

    /// `(uid, command)` of every process in the container, as the host sees them.
    pub fn processes(&self) -> Vec<(u32, String)> {
        let options = TopOptionsBuilder::default().ps_args("-o pid,uid,args").build();
        let top = self
            .engine
            .block_on(self.engine.docker.top_processes(&self.name, Some(options)))
            .unwrap_or_else(|e| panic!("top of {}: {e}", self.name));
        let titles = top.titles.unwrap_or_default();
        let uid_col = titles.iter().position(|t| t == "UID").expect("a UID column");
        let cmd_col = titles.iter().position(|t| t == "COMMAND").expect("a COMMAND column");
        top.processes
            .unwrap_or_default()
            .into_iter()
            .map(|p| (p[uid_col].parse().expect("a numeric uid"), p[cmd_col].clone()))
            .collect()
    }

    /// Every process runs as a user other than root.
    pub fn assert_non_root(&self) {
        let processes = self.processes();
        assert!(!processes.is_empty(), "{} runs no process", self.name);
        let root: Vec<_> = processes.iter().filter(|(uid, _)| *uid == 0).collect();
        assert!(root.is_empty(), "{} runs processes as root: {root:?}", self.name);
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 GET to 127.0.0.1, so tests see headers exactly as sent
/// (no client-side decompression or redirects).
pub fn http_get(port: u16, path: &str, headers: &[(&str, &str)]) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = format!("GET {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        write!(request, "Host: 127.0.0.1:{port}\r\n").expect("writing to a String");
    }
    for (name, value) in headers {
        write!(request, "{name}: {value}\r\n").expect("writing to a String");
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| bad("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned())).collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked =
        headers.iter().any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body).ok_or_else(|| bad("bad chunked body"))?;
    }
    Ok(Response { status, headers, body })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// A WSGI app that reports what it received, with the health endpoints.
pub const WSGI_APP: &str = r#"import json

def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path in ("/_status", "/healthcheck"):
        body = {"status": "ok"}
    else:
        body = {"app": "dmp-test", "path": path, "host": environ.get("HTTP_HOST", "")}
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
"#;

/// An app directory with a stack file, whose project is unique to the test
/// and removed (containers, networks, volumes) when this is dropped.
pub struct StackDir {
    pub engine: &'static TestEngine,
    pub dir: tempfile::TempDir,
    pub project: String,
}

impl StackDir {
    /// `stack` is the stack file without its `name:`, which is added.
    pub fn new(engine: &'static TestEngine, test: &str, stack: &str, files: &[(&str, &str)]) -> Self {
        let n = SCOPES.fetch_add(1, Ordering::Relaxed);
        let project = format!("dmp-test-{}-{n}-{test}", std::process::id());
        let dir = shared_dir(files, true);
        let this = Self { engine, dir, project };
        this.write_stack(stack);
        this
    }

    pub fn write_stack(&self, stack: &str) {
        self.write("dmp.yml", &format!("name: {}\n{stack}", self.project));
    }

    pub fn write(&self, rel: &str, contents: &str) {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write");
    }

    pub fn dmp(&self, args: &[&str]) -> Output {
        dmp_in(self.dir.path(), args, &[])
    }

    /// Runs dmp and returns its stdout, panicking with its stderr on failure.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.dmp(args);
        assert!(output.status.success(), "dmp {args:?} failed:\n{}\n{}", text(&output.stdout), text(&output.stderr));
        text(&output.stdout)
    }

    fn project_filter(&self) -> HashMap<String, Vec<String>> {
        HashMap::from([("label".to_owned(), vec![format!("{PROJECT_LABEL}={}", self.project)])])
    }

    /// `(name, id)` of the project's containers.
    pub fn containers(&self) -> Vec<(String, String)> {
        let options = ListContainersOptionsBuilder::default().all(true).filters(&self.project_filter()).build();
        let mut found: Vec<(String, String)> = self
            .engine
            .block_on(self.engine.docker.list_containers(Some(options)))
            .expect("list containers")
            .into_iter()
            .map(|c| {
                let name = c.names.unwrap_or_default().first().cloned().unwrap_or_default();
                (name.trim_start_matches('/').to_owned(), c.id.unwrap_or_default())
            })
            .collect();
        found.sort();
        found
    }

    pub fn networks(&self) -> usize {
        let options = ListNetworksOptionsBuilder::default().filters(&self.project_filter()).build();
        self.engine.block_on(self.engine.docker.list_networks(Some(options))).expect("list networks").len()
    }

    pub fn volumes(&self) -> Vec<String> {
        let options = ListVolumesOptionsBuilder::default().filters(&self.project_filter()).build();
        let listed = self.engine.block_on(self.engine.docker.list_volumes(Some(options))).expect("list volumes");
        listed.volumes.unwrap_or_default().into_iter().map(|v| v.name).collect()
    }

    /// Nothing of this project exists on the Engine.
    pub fn assert_no_state(&self) {
        assert!(self.containers().is_empty(), "containers left: {:?}", self.containers());
        assert_eq!(self.networks(), 0, "networks left");
        assert!(self.volumes().is_empty(), "volumes left: {:?}", self.volumes());
    }

    /// The first line of `service`'s log, waiting up to 20 s for it: a
    /// container counts as up when it runs, before it prints anything.
    pub fn first_log_line(&self, service: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let logs = self.ok(&["logs", service]);
            if let Some(line) = logs.lines().next() {
                return line.to_owned();
            }
            assert!(Instant::now() < deadline, "{service} printed nothing");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A container of this project, for inspection.
    pub fn container(&self, service: &str) -> Container {
        Container { engine: self.engine, name: format!("{}-{service}-1", self.project) }
    }
}

impl Drop for StackDir {
    fn drop(&mut self) {
        let _ = self.dmp(&["down", "-v", "-q"]);
        let docker = &self.engine.docker;
        let filter = self.project_filter();
        self.engine.block_on(async {
            let options = ListContainersOptionsBuilder::default().all(true).filters(&filter).build();
            for c in docker.list_containers(Some(options)).await.unwrap_or_default() {
                let _ = docker.remove_container(&c.id.unwrap_or_default(), Some(force_remove())).await;
            }
            let options = ListNetworksOptionsBuilder::default().filters(&filter).build();
            for n in docker.list_networks(Some(options)).await.unwrap_or_default() {
                let _ = docker.remove_network(&n.id.unwrap_or_default()).await;
            }
            let options = ListVolumesOptionsBuilder::default().filters(&filter).build();
            for v in docker.list_volumes(Some(options)).await.ok().and_then(|v| v.volumes).unwrap_or_default() {
                let _ = docker.remove_volume(&v.name, None::<RemoveVolumeOptions>).await;
            }
            // Images built for the project's services: <project>-<service>.
            let references = HashMap::from([("reference".to_owned(), vec![format!("{}-*", self.project)])]);
            let options = bollard::query_parameters::ListImagesOptionsBuilder::default().filters(&references).build();
            for image in docker.list_images(Some(options)).await.unwrap_or_default() {
                let _ = docker.remove_image(&image.id, Some(force_remove_image()), None).await;
            }
        });
    }
}

/// `2026-11-22T03:01:02.123456789Z` as a `SystemTime` (UTC only, as the
/// Engine writes it).
fn parse_rfc3339(text: &str) -> Option<std::time::SystemTime> {
    text.parse::<jiff::Timestamp>().ok().map(std::time::SystemTime::from)
}

/// The start of a Python pty driver (a person at a terminal, played by
/// Python's pty module): the modules it needs, `spawn(args, rows, cols)`,
/// which runs dmp (the script's first argument) with `args` at a terminal
/// of that size and returns its pid and the terminal, and
/// `read_until(fd, marker)`, which reads the screen until `marker` shows or
/// exits with what it saw.
pub const PTY_DRIVER: &str = r#"
import os, pty, select, signal, struct, sys, fcntl, termios, time, urllib.request
def spawn(args, rows=24, cols=80):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.argv[1], [sys.argv[1]] + args)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return pid, fd
def read_until(fd, marker, timeout=30):
    seen = b""
    end = time.time() + timeout
    while marker not in seen:
        if time.time() > end:
            sys.exit("timed out waiting for %r; saw %r" % (marker, seen[-2000:]))
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    return seen
"#;
