//! The app keeps serving: a dev server started by `dmp start` comes back
//! after `restart` (of everything or of the app), after it crashes, and
//! after `up` recreates the app container; `ps` says whether the app
//! answers.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{PTY_DRIVER, StackDir, WSGI_APP, base_images, http_get, images_version, require_engine};

/// The app container idles until `dmp start` runs uWSGI in it; nginx in
/// front. No manage.py and no `x-dmp.migrate`: `start` just starts.
fn idle_app_stack(greeting: &str) -> String {
    let version = images_version();
    format!(
        r"services:
  wsgi:
    image: dmp/wsgi:{version}
    command: ['dmp-idle']
    healthcheck: {{ disable: true }}
    volumes: ['./:/app:ro']
    environment:
      GREETING: {greeting}
  nginx:
    image: dmp/http-headless:{version}
    environment:
      DM_BACKEND: wsgi:8888
      DM_APP_NAME: serving
    ports: ['8080']
x-dmp:
  app: wsgi
  http: nginx
  http_path: /_status
  start: ['dmp-wsgi']
"
    )
}

fn status(port: u16) -> u16 {
    http_get(port, "/", &[]).map_or(0, |r| r.status)
}

/// The status of `/` once it is 200, or the last one after `seconds`.
fn eventually_ok(port: u16, seconds: u64) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let status = status(port);
        if status == 200 || Instant::now() > deadline {
            return status;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn answers(stack: &StackDir) -> Value {
    let ps: Value = serde_json::from_str(&stack.ok(&["ps", "--json"])).expect("ps --json");
    let nginx = ps["containers"].as_array().expect("list").iter().find(|c| c["service"] == "nginx").cloned();
    nginx.expect("nginx")["answers"].clone()
}

#[test]
fn the_dev_server_survives_restart_crash_and_recreate() {
    let engine = require_engine!();
    base_images();
    let stack = StackDir::new(engine, "serving", &idle_app_stack("one"), &[("application.py", WSGI_APP)]);
    stack.ok(&["up"]);
    let port = stack.container("nginx").host_port(8080);
    assert_eq!(status(port), 502, "the app idles until `dmp start`");
    assert_eq!(answers(&stack), false);

    stack.ok(&["start"]);
    assert_eq!(status(port), 200);
    assert_eq!(answers(&stack), true);

    // Restart everything, then the app alone: the site is at 200 as soon
    // as restart returns (an ephemeral host port changes with a restart:
    // restart prints the URL).
    let url = stack.ok(&["restart"]);
    let port = stack.container("nginx").host_port(8080);
    assert_eq!(url.trim(), format!("http://127.0.0.1:{port}/"));
    assert_eq!(status(port), 200, "after `dmp restart`");
    stack.ok(&["restart", "wsgi"]);
    assert_eq!(status(port), 200, "after `dmp restart wsgi`");
    assert_eq!(answers(&stack), true);

    // The server crashes: it is started again.
    let kill = r#"for p in /proc/[0-9]*; do case "$(tr '\0' ' ' < $p/cmdline 2>/dev/null)" in uwsgi*) kill -9 ${p#/proc/};; esac; done; true"#;
    stack.ok(&["exec", "-T", "wsgi", "sh", "-c", kill]);
    assert_eq!(eventually_ok(port, 20), 200, "after the dev server crashed");

    // The app container is recreated by up: the server comes back.
    stack.write_stack(&idle_app_stack("two"));
    stack.ok(&["up"]);
    assert_eq!(status(port), 200, "after up recreated the app container");
}

/// An app whose `/boom` view raises, behind nginx, with one watch rule.
const BROKEN_APP: &str = r#"
def application(environ, start_response):
    if environ.get("PATH_INFO") == "/boom":
        return broken_view()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]

def broken_view():
    return 1 / 0
"#;

#[test]
fn dev_shows_the_apps_traceback_among_the_builds_on_a_terminal_and_ctrl_c_leaves_the_stack_up() {
    let engine = require_engine!();
    base_images();
    let version = images_version();
    let stack_file = format!(
        r"services:
  wsgi:
    image: dmp/wsgi:{version}
    volumes: ['./:/app:ro']
  nginx:
    image: dmp/http-headless:{version}
    environment:
      DM_BACKEND: wsgi:8888
      DM_APP_NAME: dev
    ports: ['8080']
    depends_on:
      wsgi:
        condition: service_healthy
x-dmp:
  http: nginx
  http_path: /_status
  watch:
    - name: rebuild
      service: wsgi
      command: 'true'
      watch: ['src/**']
"
    );
    let stack = StackDir::new(engine, "dev", &stack_file, &[("application.py", BROKEN_APP), ("src/a", "")]);
    stack.ok(&["up"]);
    let port = stack.container("nginx").host_port(8080);
    // Python's pty module plays the developer at a terminal: dmp dev runs,
    // a request hits the broken view, the traceback shows, Ctrl-C ends it.
    let driver = format!(
        "{PTY_DRIVER}{}",
        r#"
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "dev"])
read_until(fd, b"rebuild")
try:
    urllib.request.urlopen("http://127.0.0.1:%s/boom" % sys.argv[2])
except Exception:
    pass
seen = read_until(fd, b"ZeroDivisionError")
line = [l for l in seen.split(b"\n") if b"ZeroDivisionError" in l][0]
os.write(fd, b"\x03")
_, status = os.waitpid(pid, 0)
print("prefixed", b"wsgi" in line and b"|" in line, "exit", os.waitstatus_to_exitcode(status))
"#
    );
    let output = std::process::Command::new("python3")
        .current_dir(stack.dir.path())
        .args(["-c", &driver, env!("CARGO_BIN_EXE_dmp"), &port.to_string()])
        .output()
        .expect("python3");
    assert!(
        output.status.success(),
        "{}\n{}",
        crate::support::text(&output.stdout),
        crate::support::text(&output.stderr)
    );
    assert_eq!(crate::support::text(&output.stdout).trim(), "prefixed True exit 130");
    // The stack is still up.
    assert_eq!(status(port), 200);
}
