//! The contract for scripts: every `--json` document has `schema` and all
//! its documented keys; an error under `--json` is a JSON object on stdout
//! (and the text on stderr); `-q` leaves nothing but results and errors;
//! exit codes as docs/commands.md's table says, `watch` on Ctrl-C included.

use std::collections::BTreeSet;
use std::io::BufRead as _;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{StackDir, WSGI_APP, base_images, dmp_in, images_version, require_engine, text};

fn keys(value: &Value) -> BTreeSet<&str> {
    value.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default()
}

fn assert_json_error(output: &std::process::Output, code: i32, diagnostic: &str) {
    assert_eq!(output.status.code(), Some(code), "{}", text(&output.stderr));
    let error: Value = serde_json::from_slice(&output.stdout).expect("a JSON error on stdout");
    assert_eq!(error["schema"], 1);
    assert_eq!(keys(&error["error"]), BTreeSet::from(["code", "exit_code", "help", "message"]), "{error}");
    assert_eq!(error["error"]["code"], diagnostic, "{error}");
    assert_eq!(error["error"]["exit_code"], code);
    assert!(!text(&output.stderr).is_empty(), "the text goes to stderr too");
}

#[test]
fn errors_under_json_are_json_on_stdout_with_the_exit_code() {
    let nowhere = tempfile::tempdir().expect("tempdir");
    let output = dmp_in(nowhere.path(), &["ps", "--json"], &[]);
    assert_json_error(&output, 1, "dmp::compose::no_file");
    // Without --json, stdout stays empty.
    let output = dmp_in(nowhere.path(), &["ps"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());

    std::fs::write(nowhere.path().join("dmp.yml"), "services:\n  web:\n    image: x\n").expect("write");
    let output = dmp_in(nowhere.path(), &["up", "--json"], &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")]);
    assert_eq!(output.status.code(), Some(69), "{}", text(&output.stderr));
    let error: Value = serde_json::from_slice(&output.stdout).expect("a JSON error");
    assert_eq!(error["error"]["exit_code"], 69);

    let usage = dmp_in(nowhere.path(), &["ps", "--no-such-flag"], &[]);
    assert_eq!(usage.status.code(), Some(2));
}

/// The app idles; `x-dmp.migrate` prints; a watch rule in the app.
fn stack_file() -> String {
    let version = images_version();
    format!(
        r"services:
  wsgi:
    image: dmp/wsgi:{version}
    command: ['dmp-idle']
    healthcheck: {{ disable: true }}
    volumes: ['./:/app:ro']
  nginx:
    image: dmp/http-headless:{version}
    environment:
      DM_BACKEND: wsgi:8888
      DM_APP_NAME: contract
    ports: ['8080']
x-dmp:
  app: wsgi
  http: nginx
  http_path: /_status
  migrate: ['sh', '-c', 'echo MIGRATING-NOISE']
  start: ['dmp-wsgi']
  watch:
    - name: noop
      service: wsgi
      command: 'true'
      watch: ['src/**']
"
    )
}

#[test]
fn json_documents_quiet_mode_and_watch_on_ctrl_c() {
    let engine = require_engine!();
    base_images();
    let stack = StackDir::new(engine, "contract", &stack_file(), &[("application.py", WSGI_APP), ("src/a", "")]);
    stack.write(".env", "AUTO_START_SERVER=true\n");

    // -q: the URL on stdout and nothing else anywhere, migrations included.
    let quiet = stack.dmp(&["-q", "up"]);
    assert!(quiet.status.success(), "{}", text(&quiet.stderr));
    assert!(text(&quiet.stdout).starts_with("http://127.0.0.1:"), "{}", text(&quiet.stdout));
    assert_eq!(text(&quiet.stderr), "", "-q prints nothing but results and errors");

    let up: Value = serde_json::from_str(&stack.ok(&["up", "--json"])).expect("up --json");
    assert_eq!(
        keys(&up),
        BTreeSet::from(["schema", "project", "services", "orphans", "url", "hint", "seconds"]),
        "{up}"
    );
    assert_eq!(up["schema"], 1);
    assert_eq!(keys(&up["services"][0]), BTreeSet::from(["service", "container", "action"]));

    let ps: Value = serde_json::from_str(&stack.ok(&["ps", "--json"])).expect("ps --json");
    assert_eq!(keys(&ps), BTreeSet::from(["schema", "project", "containers"]));
    for container in ps["containers"].as_array().expect("list") {
        assert_eq!(
            keys(container),
            BTreeSet::from(["service", "container", "state", "health", "status", "ports", "answers"]),
            "the same key as up's: `container`"
        );
    }
    let version: Value = serde_json::from_str(&stack.ok(&["version", "--json"])).expect("version");
    assert_eq!(keys(&version), BTreeSet::from(["schema", "version"]));
    let doctor = stack.dmp(&["doctor", "--json"]);
    let doctor: Value = serde_json::from_slice(&doctor.stdout).expect("doctor --json");
    assert_eq!(keys(&doctor), BTreeSet::from(["schema", "ok", "checks"]));
    assert_eq!(keys(&doctor["checks"][0]), BTreeSet::from(["check", "ok", "level", "detail", "fix"]));

    // watch: JSON lines with schema; Ctrl-C ends it with 130.
    let mut watch = Command::new(env!("CARGO_BIN_EXE_dmp"))
        .current_dir(stack.dir.path())
        .args(["watch", "--json", "--no-initial-build"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dmp watch");
    let mut stdout = std::io::BufReader::new(watch.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("a line");
    let ready: Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!((ready["event"].as_str(), ready["schema"].as_i64()), (Some("ready"), Some(1)), "{ready}");
    let status = Command::new("kill").args(["-INT", &watch.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let output = watch.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(130), "{}", text(&output.stderr));
}
