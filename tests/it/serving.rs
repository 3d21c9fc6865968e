//! The app keeps serving: a dev server started by `dmp start` comes back
//! after `restart` (of everything or of the app), after it crashes, and
//! after `up` recreates the app container; `ps` says whether the app
//! answers.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{StackDir, WSGI_APP, base_images, http_get, images_version, require_engine};

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
