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

/// The supervisors of the dev server running in `container`.
fn supervisors(container: &crate::support::Container) -> usize {
    container.processes().iter().filter(|(_, command)| command.contains(".dmp-dev-server")).count()
}

/// Waits until `container` has started again after `before`.
fn started_again(container: &crate::support::Container, before: std::time::SystemTime) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while container.started_at() <= before {
        assert!(Instant::now() < deadline, "{} did not start again", container.name);
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The app container started again without dmp, by the Engine API as
/// `docker restart` does, and by its restart policy when its main process
/// exits: the image's entrypoint starts the dev server `dmp start` put
/// there again, and the site answers through nginx with no dmp command in
/// between. One server: `dmp start` then finds it running.
#[test]
fn the_dev_server_comes_back_with_its_container_without_dmp() {
    let engine = require_engine!();
    base_images();
    let yaml = idle_app_stack("one")
        .replace("    command: ['dmp-idle']\n", "    command: ['dmp-idle']\n    restart: unless-stopped\n");
    let stack = StackDir::new(engine, "comes-back", &yaml, &[("application.py", WSGI_APP)]);
    stack.ok(&["up"]);
    let port = stack.container("nginx").host_port(8080);
    stack.ok(&["start"]);
    assert_eq!(status(port), 200);
    let wsgi = stack.container("wsgi");

    let before = wsgi.started_at();
    let restart = bollard::query_parameters::RestartContainerOptionsBuilder::default().t(5).build();
    engine.block_on(engine.docker.restart_container(&wsgi.name, Some(restart))).expect("restart the app container");
    started_again(&wsgi, before);
    assert_eq!(eventually_ok(port, 30), 200, "after the app container was restarted by the Engine API");
    assert_eq!(supervisors(&wsgi), 1, "{:?}", wsgi.processes());

    // Its main process (dmp-idle) exits: `restart: unless-stopped` starts it again.
    let before = wsgi.started_at();
    let exec = bollard::exec::CreateExecOptions::<String> {
        cmd: Some(vec!["sh".into(), "-c".into(), "kill 1".into()]),
        ..Default::default()
    };
    engine.block_on(async {
        let exec = engine.docker.create_exec(&wsgi.name, exec).await.expect("create exec");
        let detached = bollard::exec::StartExecOptions { detach: true, tty: false, output_capacity: None };
        engine.docker.start_exec(&exec.id, Some(detached)).await.expect("start exec");
    });
    started_again(&wsgi, before);
    assert_eq!(eventually_ok(port, 30), 200, "after the app container's main process exited");
    assert_eq!(supervisors(&wsgi), 1, "{:?}", wsgi.processes());

    let started = stack.dmp(&["start"]);
    assert!(started.status.success());
    assert!(String::from_utf8_lossy(&started.stderr).contains("already running"), "{started:?}");
    assert_eq!(supervisors(&wsgi), 1, "{:?}", wsgi.processes());
}

/// An app behind nginx with one watch rule.
fn watched_stack(version: &str) -> String {
    format!(
        r"services:
  wsgi:
    image: dmp/wsgi:{version}
    volumes: ['./:/app:ro']
  nginx:
    image: dmp/http-headless:{version}
    environment:
      DM_APP_NAME: dev
      DM_BACKEND: wsgi:8888
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
    )
}

/// Runs a pty driver (after [`PTY_DRIVER`]) with dmp's path and `port` as
/// its arguments; what it printed.
fn drive(stack: &StackDir, script: &str, port: u16) -> String {
    let output = std::process::Command::new("python3")
        .current_dir(stack.dir.path())
        .args(["-c", &format!("{PTY_DRIVER}{script}"), env!("CARGO_BIN_EXE_dmp"), &port.to_string()])
        .env("NO_COLOR", "1")
        .output()
        .expect("python3");
    let stdout = crate::support::text(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", crate::support::text(&output.stderr));
    stdout.trim().to_owned()
}

#[test]
fn dev_on_a_terminal_keeps_a_status_line_under_the_builds_and_ctrl_c_leaves_the_stack_up() {
    let engine = require_engine!();
    base_images();
    let stack =
        StackDir::new(engine, "dev", &watched_stack(&images_version()), &[("application.py", WSGI_APP), ("src/a", "")]);
    stack.ok(&["up"]);
    let port = stack.container("nginx").host_port(8080);
    // Python's pty module plays the developer at a terminal: the status line
    // names the site, the services, the app answering and the last build;
    // Ctrl-C (a key in raw mode) ends dev with 130; the terminal is restored.
    let said = drive(
        &stack,
        r#"
pid, fd = spawn(["dev"], 24, 200)
seen = read_until(fd, b"last build: rebuild ok")
if b"app answers" not in seen[seen.rindex(b"dmp dev"):]:
    seen += read_until(fd, b"app answers")
status = seen[seen.rindex(b"dmp dev"):]
print("url", ("http://127.0.0.1:%s/" % sys.argv[2]).encode() in status)
print("services", b"nginx up" in status and b"wsgi up" in status)
print("quits", b"q quits" in seen)
os.write(fd, b"\x03")
_, code = os.waitpid(pid, 0)
print("exit", os.waitstatus_to_exitcode(code), "canonical", bool(termios.tcgetattr(fd)[3] & termios.ICANON))
"#,
        port,
    );
    assert_eq!(said, "url True\nservices True\nquits True\nexit 130 canonical True");
    assert_eq!(status(port), 200, "the stack is still up");
}

/// The demo's wsgi and nginx (its stack file without buildstatic and the
/// watch rules, so nothing is fetched from npm), with a view that raises.
fn broken_django_demo(engine: &'static crate::support::TestEngine) -> (StackDir, u16, usize) {
    let (stack, port) = crate::workflow::demo(engine, "dev-django", true);
    let demo = std::fs::read_to_string(crate::support::repo_path("examples/demo/dmp.yml")).expect("demo stack");
    let services = demo.split("  buildstatic:").next().expect("services");
    let settings = demo.split("x-dmp:").nth(1).and_then(|x| x.split("  watch:").next()).expect("x-dmp");
    stack.write_stack(&format!("{services}x-dmp:{settings}"));
    let views = std::fs::read_to_string(crate::support::repo_path("examples/demo/notes/views.py")).expect("views");
    let views = format!(
        "{views}\n\ndef broken(request):\n    per_note = 100 / Note.objects.count()\n    return JsonResponse({{\"per_note\": per_note}})\n"
    );
    let line = views.lines().position(|l| l.contains("per_note = 100 /")).expect("the line") + 1;
    stack.write("notes/views.py", &views);
    let urls = std::fs::read_to_string(crate::support::repo_path("examples/demo/demo/urls.py")).expect("urls");
    stack.write(
        "demo/urls.py",
        &urls.replace("    path(\"admin/\"", "    path(\"broken\", views.broken),\n    path(\"admin/\""),
    );
    (stack, port, line)
}

#[test]
fn dev_shows_a_django_traceback_from_a_broken_view_and_q_leaves_the_stack_up_and_the_admin_is_styled() {
    let engine = require_engine!();
    base_images();
    let (stack, port, line) = broken_django_demo(engine);
    stack.ok(&["up"]);
    assert_eq!(status(port), 200);
    // The demo's migrate step collected the admin's static files: nginx
    // serves the stylesheet the admin's pages link.
    let login = http_get(port, "/admin/login/", &[]).expect("GET /admin/login/");
    assert_eq!(login.status, 200);
    assert!(String::from_utf8_lossy(&login.body).contains("/static/admin/css/base.css"));
    let css = http_get(port, "/static/admin/css/base.css", &[]).expect("GET the admin's CSS");
    assert_eq!(css.status, 200);
    assert!(String::from_utf8_lossy(&css.body).contains("body"));
    // The developer at a terminal: dev runs, the broken view is requested,
    // Django's traceback shows behind `wsgi |`, `q` ends dev with 0.
    let said = drive(
        &stack,
        r#"
pid, fd = spawn(["dev"], 24, 200)
read_until(fd, b"q quits")
try:
    urllib.request.urlopen("http://127.0.0.1:%s/broken" % sys.argv[2])
except Exception:
    pass
seen = read_until(fd, b"ZeroDivisionError: division by zero")
for l in seen.replace(b"\r", b"").split(b"\n"):
    # What follows the status line's redraw: the log line itself.
    l = l.split(b"\x1b[2K")[-1]
    if b"Traceback" in l or b"views.py" in l or b"ZeroDivisionError" in l:
        print(l.decode().split("|", 1)[0].strip(), "|", l.decode().split("|", 1)[1].strip())
os.write(fd, b"q")
_, code = os.waitpid(pid, 0)
print("exit", os.waitstatus_to_exitcode(code), "canonical", bool(termios.tcgetattr(fd)[3] & termios.ICANON))
"#,
        port,
    );
    assert!(said.contains("wsgi | Traceback (most recent call last):"), "{said}");
    assert!(said.contains(&format!("wsgi | File \"/app/notes/views.py\", line {line}, in broken")), "{said}");
    assert!(said.contains("wsgi | ZeroDivisionError: division by zero"), "{said}");
    assert!(said.ends_with("exit 0 canonical True"), "{said}");
    assert_eq!(status(port), 200, "the stack is still up");
}

#[test]
fn dev_into_a_pipe_prints_plain_lines_without_a_status_line_and_ctrl_c_is_130() {
    let engine = require_engine!();
    base_images();
    let stack = StackDir::new(
        engine,
        "dev-pipe",
        &watched_stack(&images_version()),
        &[("application.py", WSGI_APP), ("src/a", "")],
    );
    stack.ok(&["up"]);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_dmp"))
        .current_dir(stack.dir.path())
        .arg("dev")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("dmp dev");
    std::thread::sleep(Duration::from_secs(3));
    let _ = http_get(stack.container("nginx").host_port(8080), "/piped", &[]);
    std::thread::sleep(Duration::from_secs(1));
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(kill.success());
    let output = child.wait_with_output().expect("dmp dev");
    let (stdout, stderr) = (crate::support::text(&output.stdout), crate::support::text(&output.stderr));
    assert_eq!(output.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stderr.contains("rebuild  (start)"), "the build line on stderr: {stderr}");
    assert!(stdout.contains("nginx |") && stdout.contains("/piped"), "the request in nginx's log: {stdout}");
    assert!(!stdout.contains('\x1b') && !stdout.contains("q quits"), "no status line into a pipe: {stdout:?}");
}
