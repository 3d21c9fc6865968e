//! The run-dev workflow on the demo app and small stacks: init, up with and
//! without `AUTO_START_SERVER`, migrate, start, sh (piped and on a real
//! pseudo-terminal), and who owns the files containers write.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{
    PTY_DRIVER, StackDir, base_images, dmp_in, http_get, images_version, repo_path, require_engine, text,
};

/// The demo's files, relative path and contents, without its stack file.
fn demo_files() -> Vec<(String, String)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).expect("read demo") {
            let path = entry.expect("entry").path();
            // What the demo's .gitignore lists (a host `npm install` leaves
            // node_modules), and dmp's own state (a run in place leaves it).
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if ["node_modules", "static", "__pycache__", ".env", "db.sqlite3", ".dmp"].contains(&name.as_ref()) {
                continue;
            }
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).expect("inside").to_string_lossy().into_owned();
                out.push((rel, std::fs::read_to_string(&path).expect("a text file")));
            }
        }
    }
    let base = repo_path("examples/demo");
    let mut files = Vec::new();
    walk(&base, &base, &mut files);
    files.retain(|(rel, _)| rel != "dmp.yml");
    files
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// The demo in its own project, with `.env` from `.env.example` and
/// `AUTO_START_SERVER` as given.
pub fn demo(engine: &'static crate::support::TestEngine, test: &str, auto_start: bool) -> (StackDir, u16) {
    let files = demo_files();
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
    let stack_yaml = std::fs::read_to_string(repo_path("examples/demo/dmp.yml")).expect("demo stack");
    let stack = StackDir::new(engine, test, &stack_yaml, &borrowed);
    let port = free_port();
    let example = std::fs::read_to_string(repo_path("examples/demo/.env.example")).expect(".env.example");
    let env = example
        .replace("AUTO_START_SERVER=true", &format!("AUTO_START_SERVER={auto_start}"))
        .replace("HTTP_PORT=8080", &format!("HTTP_PORT={port}"));
    stack.write(".env", &env);
    (stack, port)
}

fn body(port: u16, path: &str) -> (u16, String) {
    let response = http_get(port, path, &[]).unwrap_or_else(|e| panic!("GET {path}: {e}"));
    (response.status, String::from_utf8_lossy(&response.body).into_owned())
}

const TABLE_CHECK: &str = "import sqlite3; print(sqlite3.connect('/app/db.sqlite3').execute(\"select name from sqlite_master where name='notes_note'\").fetchone())";

#[test]
fn init_twice_makes_env_and_stack_file_once_and_changes_nothing_after() {
    let engine = require_engine!();
    let _ = engine;
    let dir = crate::support::shared_dir(&[(".env.example", "AUTO_START_SERVER=false\nHTTP_PORT=8080\n")], true);
    let first = dmp_in(dir.path(), &["init"], &[]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let said = text(&first.stderr);
    assert!(said.contains("created .env from .env.example"), "{said}");
    assert!(said.contains("wrote dmp.yml from the frontend template"), "{said}");
    assert!(said.contains("next: dmp up"), "{said}");
    assert_eq!(std::fs::read(dir.path().join(".env")).ok(), std::fs::read(dir.path().join(".env.example")).ok());
    let template = std::fs::read_to_string(repo_path("compose/frontend.yml")).expect("template");
    assert_eq!(std::fs::read_to_string(dir.path().join("dmp.yml")).ok().as_deref(), Some(template.as_str()));

    // The user edits .env; a second init keeps it and the stack file.
    std::fs::write(dir.path().join(".env"), "AUTO_START_SERVER=true\n").expect("edit");
    let modified = |p: &str| std::fs::metadata(dir.path().join(p)).and_then(|m| m.modified()).expect("mtime");
    let before = (modified(".env"), modified("dmp.yml"));
    let second = dmp_in(dir.path(), &["init", "--template", "api"], &[]);
    assert!(second.status.success(), "{}", text(&second.stderr));
    let said = text(&second.stderr);
    assert!(said.contains("kept .env") && said.contains("kept the stack file dmp.yml"), "{said}");
    assert_eq!((modified(".env"), modified("dmp.yml")), before, "init changed a file");
    assert_eq!(std::fs::read_to_string(dir.path().join(".env")).ok().as_deref(), Some("AUTO_START_SERVER=true\n"));
}

#[test]
fn the_demo_with_auto_start_server_migrates_and_serves_its_page_and_compiled_assets() {
    let engine = require_engine!();
    base_images();
    let (stack, port) = demo(engine, "demo-auto", true);
    let url = stack.ok(&["up"]);
    assert_eq!(url.trim(), format!("http://127.0.0.1:{port}/"));

    let (status, page) = body(port, "/");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("govuk-header") && page.contains("/static/css/application.css"), "{page}");
    let (status, css) = body(port, "/static/css/application.css");
    assert_eq!(status, 200);
    assert!(css.contains(".govuk-header{") && css.contains(".app-notes__count"), "not the compiled SCSS: {css}");
    let (status, css) = body(port, "/static/css/legacy.css");
    assert_eq!(status, 200);
    assert!(css.contains(".app-note") && css.contains("#1d70b8"), "not sassc's CSS: {css}");
    let (status, js) = body(port, "/static/js/main.js");
    assert_eq!(status, 200);
    assert!(js.contains("Good morning"), "the imported module is not bundled: {js}");

    // The migration ran: its table exists.
    let table = stack.ok(&["sh", "--", "python3", "-c", TABLE_CHECK]);
    assert_eq!(table.trim(), "('notes_note',)");
    let shown = stack.ok(&["manage", "showmigrations", "notes"]);
    assert!(shown.contains("[X] 0001_initial"), "{shown}");

    // start is idempotent.
    let again = stack.dmp(&["start"]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(text(&again.stderr).contains("already running"), "{}", text(&again.stderr));
}

#[test]
fn the_demo_without_auto_start_idles_until_migrate_and_start() {
    let engine = require_engine!();
    base_images();
    let (stack, port) = demo(engine, "demo-idle", false);
    let up = stack.dmp(&["up"]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    assert!(text(&up.stderr).contains("`dmp start` migrates and starts the server"), "{}", text(&up.stderr));
    assert_eq!(body(port, "/").0, 502, "nothing serves the app yet");

    let migrate = stack.dmp(&["migrate"]);
    assert_eq!(migrate.status.code(), Some(0), "{}", text(&migrate.stderr));
    assert!(text(&migrate.stdout).contains("Applying notes.0001_initial... OK"), "{}", text(&migrate.stdout));
    assert_eq!(stack.ok(&["sh", "--", "python3", "-c", TABLE_CHECK]).trim(), "('notes_note',)");

    let started = stack.dmp(&["start"]);
    assert!(started.status.success(), "{}", text(&started.stderr));
    assert_eq!(text(&started.stdout).trim(), format!("http://127.0.0.1:{port}/"));
    assert_eq!(body(port, "/").0, 200);
}

/// A long-lived app container that writes into its bind mount at start.
fn writer_stack() -> String {
    let version = images_version();
    format!(
        r#"services:
  app:
    image: dmp/wsgi:{version}
    command: ["sh", "-c", "touch /app/made-at-start; exec dmp-idle"]
    healthcheck: {{ disable: true }}
    volumes: ["./:/app"]
x-dmp:
  app: app
"#
    )
}

#[test]
fn sh_runs_commands_with_their_exit_code_output_and_stdin() {
    let engine = require_engine!();
    base_images();
    let stack = StackDir::new(engine, "sh", &writer_stack(), &[]);
    let not_up = stack.dmp(&["sh", "--", "true"]);
    assert_eq!(not_up.status.code(), Some(1));
    assert!(text(&not_up.stderr).contains("the stack is not up") && text(&not_up.stderr).contains("dmp up"));

    stack.ok(&["up"]);
    let output = stack.dmp(&["sh", "--", "sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 7"]);
    assert_eq!(output.status.code(), Some(7));
    assert_eq!(text(&output.stdout), "to-stdout\n");
    assert_eq!(text(&output.stderr), "to-stderr\n");
    // A command killed by a signal: 128 + the signal, as `docker compose exec` and a shell say.
    let killed = stack.dmp(&["sh", "--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(killed.status.code(), Some(143), "{}", text(&killed.stderr));
    // As the image's non-root user (dmp runs as root here).
    assert_eq!(stack.ok(&["sh", "app", "--", "id", "-u"]).trim(), "1000");

    // With no command and stdin not a terminal, the shell reads stdin.
    let mut shell = Command::new(env!("CARGO_BIN_EXE_dmp"));
    shell
        .current_dir(stack.dir.path())
        .arg("sh")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = shell.spawn().expect("dmp sh");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), b"echo piped-$((6*7))\nexit 4\n")
        .expect("write");
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(4));
    assert_eq!(text(&output.stdout), "piped-42\n");
}

#[test]
fn an_interactive_shell_on_a_pseudo_terminal_passes_ctrl_c_follows_resizes_and_restores_the_terminal() {
    let engine = require_engine!();
    base_images();
    let stack = StackDir::new(engine, "tty", &writer_stack(), &[]);
    stack.ok(&["up"]);
    // Python's pty module plays the user at a terminal: it types, reads the
    // screen, resizes the window and leaves with an exit code.
    let driver = format!(
        "{PTY_DRIVER}{}",
        r#"
pid, fd = spawn(["sh"], 24, 80)
os.write(fd, b"echo typed-$((6*7))\r")
read_until(fd, b"typed-42")
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 111, 0, 0))
os.kill(pid, signal.SIGWINCH)
time.sleep(0.5)
os.write(fd, b"stty size\r")
read_until(fd, b"33 111")
# Ctrl-C belongs to the container: it stops the sleep, not dmp.
os.write(fd, b"sleep 30\r")
time.sleep(0.5)
os.write(fd, b"\x03")
os.write(fd, b"echo after-$((2+3))-interrupt\r")
read_until(fd, b"after-5-interrupt", timeout=10)
os.write(fd, b"exit 5\r")
_, status = os.waitpid(pid, 0)
# dmp restored the terminal: line editing (canonical mode) is back on.
canonical = termios.tcgetattr(fd)[3] & termios.ICANON
print("exit", os.waitstatus_to_exitcode(status), "canonical", bool(canonical))
"#
    );
    let output = Command::new("python3")
        .current_dir(stack.dir.path())
        .args(["-c", &driver, env!("CARGO_BIN_EXE_dmp")])
        .env("NO_COLOR", "1")
        .output()
        .expect("python3");
    assert!(output.status.success(), "{}\n{}", text(&output.stdout), text(&output.stderr));
    assert_eq!(text(&output.stdout).trim(), "exit 5 canonical True");
}

#[test]
fn files_written_into_the_bind_mount_belong_to_the_host_user() {
    const UID: u32 = 23_456;
    let engine = require_engine!();
    base_images();
    let stack = StackDir::new(engine, "owner", &writer_stack(), &[]);
    let root = stack.dir.path().to_path_buf();
    chown_tree(&root, UID);
    // dmp as a user that is not root (and not in /etc/passwd), allowed to
    // use the Engine through the socket's group.
    let socket_gid = std::fs::metadata("/var/run/docker.sock").expect("the Engine's socket").gid();
    let as_user = |args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid", &UID.to_string(), "--regid", &UID.to_string(), "--groups", &socket_gid.to_string()])
            .arg(env!("CARGO_BIN_EXE_dmp"))
            .args(args)
            .current_dir(&root)
            .env("NO_COLOR", "1")
            .output()
            .expect("setpriv")
    };
    let up = as_user(&["up"]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    let made = as_user(&["sh", "--", "sh", "-c", "touch /app/made-by-exec && mkdir -p /app/sub && touch /app/sub/f"]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    for file in ["made-at-start", "made-by-exec", "sub", "sub/f"] {
        let meta = std::fs::metadata(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!((meta.uid(), meta.gid()), (UID, UID), "{file} has the wrong owner");
    }
    // The processes still do not run as root.
    let uid = as_user(&["sh", "--", "id", "-u"]);
    assert_eq!(text(&uid.stdout).trim(), UID.to_string());
    stack.container("app").assert_non_root();
    chown_tree(&root, 0);
}

fn chown_tree(path: &PathBuf, uid: u32) {
    let status = Command::new("chown").args(["-R", &format!("{uid}:{uid}")]).arg(path).status().expect("chown");
    assert!(status.success());
}

#[test]
fn npm_ci_runs_only_when_package_lock_changed() {
    let engine = require_engine!();
    base_images();
    let version = images_version();
    let stack_yaml = format!(
        r#"services:
  buildstatic:
    image: dmp/http-buildstatic:{version}
    volumes: ["./:/app"]
x-dmp:
  watch:
    - name: styles
      command: "true"
"#
    );
    // No dependencies, so npm ci needs no registry.
    let lock = r#"{"name":"t","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"t","version":"1.0.0"}}}"#;
    let files = [("package.json", r#"{"name":"t","version":"1.0.0"}"#), ("package-lock.json", lock)];
    let stack = StackDir::new(engine, "npm", &stack_yaml, &files);
    let installs = |stack: &StackDir| {
        let output = stack.dmp(&["up", "--progress", "plain"]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stderr).matches("installing node_modules").count()
    };
    assert_eq!(installs(&stack), 1, "the first up installs");
    assert!(stack.dir.path().join("node_modules/.dmp-package-lock.sha256").is_file());
    assert_eq!(installs(&stack), 0, "an unchanged lock file installs nothing");
    stack.write("package-lock.json", &format!("{lock}\n"));
    assert_eq!(installs(&stack), 1, "a changed lock file installs again");
}
