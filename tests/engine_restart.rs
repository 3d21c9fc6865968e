//! The Docker Engine restarting under a running `dmp watch` and `dmp logs
//! -f`: both report it and carry on. A test binary of its own, because it
//! restarts the Engine: cargo runs test binaries one after another, so no
//! other test sees the Engine go away. Needs root (to restart dockerd).

#[allow(dead_code)]
#[path = "it/support.rs"]
mod support;

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use support::{StackDir, base_images, http_get, repo_path, require_engine};

/// A child process whose stdout and stderr lines are collected.
struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(dir: &std::path::Path, args: &[&str]) -> Self {
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

fn restart_engine() {
    let _ = Command::new("pkill").args(["-TERM", "-x", "dockerd"]).status();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Command::new("pgrep").args(["-x", "dockerd"]).status().is_ok_and(|s| s.success()) {
        assert!(Instant::now() < deadline, "dockerd did not stop");
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = Command::new(repo_path("scripts/ensure-docker.sh")).status().expect("ensure-docker.sh");
    assert!(status.success(), "the Engine did not come back");
}

#[test]
fn watch_and_logs_follow_survive_an_engine_restart() {
    use std::os::unix::fs::MetadataExt as _;
    let engine = require_engine!();
    if std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() != 0) {
        let _ = std::io::Write::write_all(&mut std::io::stderr(), b"SKIPPED the Engine restart test: it needs root\n");
        return;
    }
    base_images();
    let demo = repo_path("examples/demo");
    let mut files = Vec::new();
    for rel in [
        "Dockerfile",
        ".dockerignore",
        "manage.py",
        "assets/scss/application.scss",
        "assets/scss/_variables.scss",
        "assets/scss/_layout.scss",
        "assets/js/main.js",
        "assets/js/greeting.js",
    ] {
        files.push((rel.to_owned(), std::fs::read_to_string(demo.join(rel)).expect("demo file")));
    }
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    let stack_yaml = std::fs::read_to_string(demo.join("dmp.yml")).expect("demo stack");
    let stack = StackDir::new(engine, "restart", &stack_yaml, &borrowed);
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    stack.write(".env", &format!("AUTO_START_SERVER=false\nHTTP_PORT={port}\nAPP_NAME=restart\n"));
    stack.ok(&["up"]);

    let mut watch = Running::start(stack.dir.path(), &["watch", "--json", "--no-initial-build"]);
    watch.wait_for("\"event\":\"ready\"", Duration::from_secs(30));
    let mut logs = Running::start(stack.dir.path(), &["logs", "-f", "--tail", "0", "nginx"]);
    std::thread::sleep(Duration::from_millis(500));
    let _ = http_get(port, "/before-restart", &[]);
    logs.wait_for("/before-restart", Duration::from_secs(30));

    restart_engine();
    // Containers come back stopped after an Engine restart; up starts them.
    stack.ok(&["up"]);

    stack.write("assets/scss/_variables.scss", "$brand-colour: #0a0b0c;\n$text-colour: #000;\n$gutter: 20px;\n");
    watch.wait_for("\"ok\":true", Duration::from_secs(90));
    let css = std::fs::read_to_string(stack.dir.path().join("static/css/application.css")).expect("css");
    assert!(css.contains("#0a0b0c"), "{css}");

    logs.wait_for("lost the Docker Engine", Duration::from_secs(30));
    logs.wait_for("the Docker Engine is back", Duration::from_secs(60));
    let _ = http_get(port, "/after-restart", &[]);
    logs.wait_for("/after-restart", Duration::from_secs(30));
}
