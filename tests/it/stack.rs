//! `dmp up`, `down`, `ps`, `logs`, `stop`, `restart` on real stacks.

use serde_json::Value;

use crate::support::{StackDir, WSGI_APP, base_images, http_get, images_version, require_engine, text};

/// wsgi behind headless nginx; nginx on a free 127.0.0.1 port.
fn web_stack(greeting: &str) -> String {
    let version = images_version();
    format!(
        r"services:
  wsgi:
    image: dmp/wsgi:{version}
    volumes: ['./:/app:ro']
    environment:
      GREETING: {greeting}
  nginx:
    image: dmp/http-headless:{version}
    environment:
      DM_BACKEND: wsgi:8888
      DM_APP_NAME: stacktest
    ports: ['8080']
    depends_on:
      wsgi:
        condition: service_healthy
x-dmp:
  http: nginx
  http_path: /_status
"
    )
}

fn actions(up_json: &str) -> Vec<(String, String)> {
    let report: Value = serde_json::from_str(up_json).expect("up --json");
    let mut actions: Vec<(String, String)> = report["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| (s["service"].as_str().expect("name").to_owned(), s["action"].as_str().expect("action").to_owned()))
        .collect();
    actions.sort();
    actions
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("a port in the URL")
}

#[test]
fn up_is_idempotent_recreates_only_what_changed_and_down_removes_it() {
    let engine = require_engine!();
    base_images();
    let stack = StackDir::new(engine, "updown", &web_stack("hello"), &[("application.py", WSGI_APP)]);

    let first = stack.ok(&["up", "--json"]);
    assert_eq!(actions(&first), [("nginx".into(), "created".into()), ("wsgi".into(), "created".into())]);
    let report: Value = serde_json::from_str(&first).expect("json");
    let url = report["url"].as_str().expect("a URL").to_owned();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with('/') && !url.contains("_status"), "{url}");
    let port = port_of(&url);
    let response = http_get(port, "/hello", &[]).expect("HTTP through nginx");
    assert_eq!(response.status, 200);
    let before = stack.containers();
    assert_eq!(before.len(), 2);

    // Nothing changed: nothing touched.
    let second = stack.ok(&["up", "--json"]);
    assert_eq!(actions(&second), [("nginx".into(), "unchanged".into()), ("wsgi".into(), "unchanged".into())]);
    assert_eq!(stack.containers(), before, "an idempotent up must keep every container");

    // One service's config changed: only it is recreated, and nginx finds
    // the new backend without a restart.
    stack.write_stack(&web_stack("changed"));
    let third = stack.ok(&["up", "--json"]);
    assert_eq!(actions(&third), [("nginx".into(), "unchanged".into()), ("wsgi".into(), "recreated".into())]);
    let after = stack.containers();
    let id = |list: &[(String, String)], service: &str| {
        list.iter().find(|(name, _)| name.ends_with(&format!("-{service}-1"))).map(|(_, id)| id.clone())
    };
    assert_eq!(id(&after, "nginx"), id(&before, "nginx"));
    assert_ne!(id(&after, "wsgi"), id(&before, "wsgi"));
    let body: Value =
        serde_json::from_slice(&http_get(port, "/again", &[]).expect("HTTP").body).expect("the app's JSON");
    assert_eq!(body["path"], "/again");

    // ps
    let ps: Value = serde_json::from_str(&stack.ok(&["ps", "--json"])).expect("ps --json");
    assert_eq!(ps["schema"], 1, "{ps}");
    let rows = ps["containers"].as_array().expect("a list");
    assert_eq!(rows.len(), 2);
    for row in rows {
        assert_eq!(row["state"], "running", "{row}");
    }
    let nginx_row = rows.iter().find(|r| r["service"] == "nginx").expect("nginx row");
    assert_eq!(nginx_row["ports"][0]["host_ip"], "127.0.0.1");
    assert_eq!(nginx_row["ports"][0]["target"], 8080);
    let table = stack.ok(&["ps"]);
    assert!(table.starts_with("SERVICE"), "{table}");
    assert!(table.contains(&format!("{}-wsgi-1", stack.project)), "{table}");
    assert!(table.contains(&format!("127.0.0.1:{port}->8080/tcp")), "{table}");

    // logs: prefixed with the service, the access log line is there.
    let logs = stack.ok(&["logs", "nginx"]);
    let line = logs.lines().find(|l| l.contains("\"/again\"")).unwrap_or_else(|| panic!("no access log line:\n{logs}"));
    assert!(line.starts_with("nginx | {"), "{line}");
    assert!(!logs.contains("wsgi |"), "only nginx was asked for");
    let tail = stack.ok(&["logs", "--tail", "1", "wsgi"]);
    assert_eq!(tail.lines().count(), 1, "{tail}");

    // stop and restart
    stack.ok(&["stop", "wsgi"]);
    let ps: Value = serde_json::from_str(&stack.ok(&["ps", "-a", "--json"])).expect("ps --json");
    let wsgi =
        ps["containers"].as_array().expect("list").iter().find(|r| r["service"] == "wsgi").cloned().expect("wsgi");
    assert_eq!(wsgi["state"], "exited");
    let fourth = stack.ok(&["up", "--json"]);
    assert_eq!(actions(&fourth), [("nginx".into(), "unchanged".into()), ("wsgi".into(), "started".into())]);
    let started = stack.container("nginx").started_at();
    stack.ok(&["restart"]);
    assert!(stack.container("nginx").started_at() > started, "restart did not restart nginx");
    let fifth = stack.ok(&["up", "--json"]);
    assert_eq!(actions(&fifth), [("nginx".into(), "unchanged".into()), ("wsgi".into(), "unchanged".into())]);
    // An ephemeral host port changes with a restart: up reports the new one.
    let url: Value = serde_json::from_str(&fifth).expect("json");
    let new_port = port_of(url["url"].as_str().expect("a URL"));
    assert_eq!(http_get(new_port, "/", &[]).expect("HTTP after restart").status, 200);

    stack.ok(&["down"]);
    assert!(stack.containers().is_empty());
    assert_eq!(stack.networks(), 0);
    let again = stack.dmp(&["down"]);
    assert!(again.status.success());
    assert!(text(&again.stderr).contains("nothing to remove"), "{}", text(&again.stderr));
}

#[test]
fn down_keeps_named_volumes_unless_asked_to_remove_them() {
    let engine = require_engine!();
    base_images();
    let version = images_version();
    // The volume at /home/app starts as the image's (owned by app) copy.
    let stack_yaml = format!(
        r#"services:
  store:
    image: dmp/wsgi:{version}
    command: ["sh", "-c", "cat /home/app/f 2>/dev/null || echo none; echo kept > /home/app/f; exec dmp-idle"]
    healthcheck: {{ disable: true }}
    volumes: ["data:/home/app"]
volumes:
  data: {{}}
"#
    );
    let stack = StackDir::new(engine, "volumes", &stack_yaml, &[]);
    let first_line = |stack: &StackDir| stack.first_log_line("store");

    stack.ok(&["up"]);
    assert_eq!(first_line(&stack), "store | none");
    assert_eq!(stack.volumes(), [format!("{}_data", stack.project)]);

    stack.ok(&["down"]);
    assert_eq!(stack.volumes().len(), 1, "down without -v keeps the volume");
    stack.ok(&["up"]);
    assert_eq!(first_line(&stack), "store | kept", "the data survived down");

    stack.ok(&["down", "-v"]);
    assert!(stack.volumes().is_empty(), "down -v removes the volume");
    stack.ok(&["up"]);
    assert_eq!(first_line(&stack), "store | none", "a new, empty volume");
}

#[test]
fn depends_on_service_healthy_waits_and_an_unhealthy_dependency_fails_fast() {
    let engine = require_engine!();
    base_images();
    let version = images_version();
    let stack_yaml = format!(
        r#"services:
  slow:
    image: dmp/wsgi:{version}
    command: ["sh", "-c", "sleep 2; touch /tmp/ready; exec dmp-idle"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      retries: 30
  after:
    image: dmp/wsgi:{version}
    command: ["dmp-idle"]
    healthcheck: {{ disable: true }}
    depends_on:
      slow: {{ condition: service_healthy }}
"#
    );
    let stack = StackDir::new(engine, "healthy", &stack_yaml, &[]);
    stack.ok(&["up"]);
    let ready_at = stack.container("slow").started_at() + std::time::Duration::from_secs(2);
    let after_started = stack.container("after").started_at();
    assert!(after_started >= ready_at, "after started before slow was healthy");

    let broken_yaml = format!(
        r#"services:
  broken:
    image: dmp/wsgi:{version}
    command: ["sh", "-c", "echo broken-marker; exec dmp-idle"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 1s
      retries: 1
      # 0 would inherit the image's 60 s, during which failures do not count.
      start_period: 1ms
  after:
    image: dmp/wsgi:{version}
    command: ["dmp-idle"]
    depends_on:
      broken: {{ condition: service_healthy }}
"#
    );
    let broken = StackDir::new(engine, "unhealthy", &broken_yaml, &[]);
    let started = std::time::Instant::now();
    let output = broken.dmp(&["up", "--timeout", "120"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "did not fail fast");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("broken is unhealthy"), "{stderr}");
    assert!(stderr.contains("broken-marker"), "the last log lines are missing: {stderr}");
    // The cause is named, with its own logs: broken, not after.
    assert!(stderr.contains("dmp logs broken"), "{stderr}");
    // Every container is created at once (as Compose does); only the
    // starts wait for conditions, so `after` exists but never ran.
    let names: Vec<String> = broken.containers().into_iter().map(|(name, _)| name).collect();
    let after = format!("{}-after-1", broken.project);
    assert_eq!(names, [after.clone(), format!("{}-broken-1", broken.project)]);
    let state = engine
        .block_on(engine.docker.inspect_container(&after, None::<bollard::query_parameters::InspectContainerOptions>))
        .expect("inspect after")
        .state
        .expect("state");
    assert_eq!(state.status.map(|s| s.to_string()).as_deref(), Some("created"), "after must not be started");
}

#[test]
fn a_taken_port_is_named_before_anything_is_created() {
    let engine = require_engine!();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("addr").port();
    let stack_yaml = web_stack("x").replace("ports: ['8080']", &format!("ports: ['127.0.0.1:{port}:8080']"));
    let stack = StackDir::new(engine, "porttaken", &stack_yaml, &[("application.py", WSGI_APP)]);
    let output = stack.dmp(&["up"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("port 127.0.0.1:{port}, published by service nginx, is already in use")),
        "{stderr}"
    );
    stack.assert_no_state();
    drop(listener);
}

#[test]
fn bad_stack_files_fail_with_file_line_and_fix_before_anything_is_created() {
    let engine = require_engine!();
    let version = images_version();
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        ("yaml", "services:\n  web:\n    image: x\n    ports: [80\n".into(), vec!["dmp.yml:5:12", "unclosed bracket"]),
        (
            "type",
            "services:\n  web:\n    image: [a, b]\n".into(),
            vec!["dmp.yml:4:12", "expected an image name, found a list"],
        ),
        (
            "required",
            "services:\n  web:\n    image: ${DMP_TEST_NOPE:?set DMP_TEST_NOPE to the image}\n".into(),
            vec!["dmp.yml:4:12", "required variable DMP_TEST_NOPE is not set: set DMP_TEST_NOPE to the image"],
        ),
        (
            "bind",
            // The long form creates no missing source (the short form does).
            format!(
                "services:\n  web:\n    image: dmp/wsgi:{version}\n    volumes:\n      - type: bind\n        source: ./missing\n        target: /app\n"
            ),
            vec!["dmp.yml:6:9", "the bind mount source", "missing does not exist"],
        ),
        (
            "port",
            format!("services:\n  web:\n    image: dmp/wsgi:{version}\n    ports: ['99999:80']\n"),
            vec!["dmp.yml:5:13", "`99999:80` is not a port"],
        ),
        (
            "depends",
            format!("services:\n  web:\n    image: dmp/wsgi:{version}\n    depends_on: [ghost]\n"),
            vec!["dmp.yml:5:18", "depends on ghost, which is not a service", "the services are: web"],
        ),
        (
            "cycle",
            format!(
                "services:\n  a:\n    image: dmp/wsgi:{version}\n    depends_on: [b]\n  b:\n    image: dmp/wsgi:{version}\n    depends_on: [a]\n"
            ),
            vec!["in a cycle: a -> b -> a"],
        ),
        (
            "xdmp",
            format!("services:\n  web:\n    image: dmp/wsgi:{version}\nx-dmp:\n  apps: web\n"),
            vec!["dmp.yml:6:3", "unknown x-dmp setting `apps`"],
        ),
    ];
    for (name, stack_yaml, expected) in cases {
        let stack = StackDir::new(engine, &format!("bad-{name}"), &stack_yaml, &[]);
        let output = stack.dmp(&["up"]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        for fragment in expected {
            assert!(stderr.contains(fragment), "{name}: {fragment:?} missing from:\n{stderr}");
        }
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        stack.assert_no_state();
    }
}

#[test]
fn services_with_build_are_built_once_and_rebuilt_with_build() {
    let engine = require_engine!();
    base_images();
    let version = images_version();
    let stack_yaml = r#"services:
  app:
    build:
      context: ./app
      args:
        MARK: first
    command: ["sh", "-c", "cat /mark; exec dmp-idle"]
    healthcheck: { disable: true }
"#;
    let dockerfile = format!(
        "FROM dmp/wsgi:{version}\nARG MARK\nRUN echo $MARK > /tmp/m\nUSER root\nRUN mv /tmp/m /mark\nUSER app\n"
    );
    let stack = StackDir::new(
        engine,
        "build",
        stack_yaml,
        &[("app/Dockerfile", &dockerfile), ("app/.dockerignore", "secret\n"), ("app/secret", "x")],
    );
    let first = stack.ok(&["up", "--json"]);
    assert_eq!(actions(&first), [("app".into(), "created".into())]);
    assert_eq!(stack.first_log_line("app"), "app | first");

    // Built once: a second up neither builds nor recreates.
    let second = stack.dmp(&["up", "--json", "--progress", "plain"]);
    assert!(second.status.success());
    assert_eq!(actions(&text(&second.stdout)), [("app".into(), "unchanged".into())]);
    assert!(!text(&second.stderr).contains("building"), "{}", text(&second.stderr));

    // --build rebuilds; the new image recreates the container.
    stack.write_stack(&stack_yaml.replace("MARK: first", "MARK: second"));
    let third = stack.ok(&["up", "--json", "--build"]);
    assert_eq!(actions(&third), [("app".into(), "recreated".into())]);
    assert_eq!(stack.first_log_line("app"), "app | second");
}

#[test]
fn a_container_that_exits_during_up_fails_it_with_its_last_lines() {
    let engine = require_engine!();
    base_images();
    let version = images_version();
    let stack_yaml = format!(
        r#"services:
  crash:
    image: dmp/wsgi:{version}
    command: ["sh", "-c", "echo about-to-crash; exit 3"]
"#
    );
    let stack = StackDir::new(engine, "crash", &stack_yaml, &[]);
    let output = stack.dmp(&["up"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("service crash exited with code 3"), "{stderr}");
    assert!(stderr.contains("about-to-crash"), "{stderr}");
    assert!(stderr.contains("dmp logs crash"), "{stderr}");
}
