//! Compose's everyday commands on a real stack, table-driven: each row runs
//! one dmp command and checks its effect on the Engine (or its output);
//! then Compose v2 brings the same file up under its own project name and
//! the outputs that can be compared (`ps --format json`, `images --format
//! json`, `ls --format json`, `port`) are compared key by key.

use std::collections::BTreeSet;
use std::process::Output;

use serde_json::Value;

use crate::compose_corpus::compose_v2;
use crate::support::{PTY_DRIVER, StackDir, WSGI_APP, base_images, dmp_in, images_version, require_engine, text};

/// A registry address where nothing listens (this helper's port range).
const NO_REGISTRY: &str = "127.0.0.1:18499";

fn stack_file(project: &str) -> String {
    let version = images_version();
    format!(
        r"services:
  wsgi:
    image: dmp/wsgi:{version}
    volumes: ['./:/app:ro']
  nginx:
    image: dmp/http-headless:{version}
    environment:
      DM_BACKEND: wsgi:8888
      DM_APP_NAME: commands
    ports: ['8080']
    depends_on:
      wsgi:
        condition: service_healthy
  built:
    build: ./img
    image: {NO_REGISTRY}/{project}-built:1
    command: ['dmp-idle']
    healthcheck:
      disable: true
  ghost:
    image: {NO_REGISTRY}/{project}-ghost:1
    profiles: [never]
x-dmp:
  http: nginx
  http_path: /_status
"
    )
}

/// What a row expects of its command.
enum Expect {
    /// Exit 0 and stdout passing the check.
    Ok(fn(&StackDir, &str)),
    /// This exit code and stderr containing the text.
    Fails(i32, &'static str),
    /// Exit 0 and stderr (progress) passing the check.
    Progress(fn(&str)),
}

struct Row {
    args: &'static [&'static str],
    expect: Expect,
}

fn lines(stdout: &str) -> Vec<Value> {
    stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

/// The states of the project's service containers, by `ps -a --format json`.
fn states(stack: &StackDir) -> Vec<(String, String)> {
    let mut states: Vec<(String, String)> = lines(&stack.ok(&["ps", "-a", "--format", "json"]))
        .iter()
        .map(|c| (c["Service"].as_str().unwrap_or("").to_owned(), c["State"].as_str().unwrap_or("").to_owned()))
        .collect();
    states.sort();
    states
}

fn state(stack: &StackDir, service: &str) -> String {
    states(stack).into_iter().find(|(s, _)| s == service).map_or_else(|| "gone".into(), |(_, state)| state)
}

fn oneoffs(stack: &StackDir) -> usize {
    stack.containers().iter().filter(|(name, _)| name.contains("-run-")).count()
}

const ROWS: &[Row] = &[
    Row {
        args: &["up", "-d"],
        expect: Expect::Ok(|stack, out| {
            assert!(out.starts_with("http://127.0.0.1:"), "{out}");
            assert_eq!(stack.containers().len(), 3);
        }),
    },
    Row {
        args: &["ps", "--format", "json"],
        expect: Expect::Ok(|stack, out| {
            let rows = lines(out);
            assert_eq!(rows.len(), 3, "{out}");
            for row in &rows {
                assert_eq!(row["State"], "running", "{row}");
                assert_eq!(row["Project"], stack.project.as_str());
            }
            let nginx = rows.iter().find(|r| r["Service"] == "nginx").expect("nginx");
            assert_eq!(nginx["Answers"], true, "the app answers through nginx: {nginx}");
            assert_eq!(nginx["Publishers"][0]["TargetPort"], 8080);
        }),
    },
    Row { args: &["ps", "--services", "wsgi", "nginx"], expect: Expect::Ok(|_, out| assert_eq!(out, "nginx\nwsgi\n")) },
    Row {
        args: &["-q", "ps", "wsgi"],
        expect: Expect::Ok(|stack, out| {
            let id = &stack.containers().into_iter().find(|(n, _)| n.ends_with("-wsgi-1")).expect("wsgi").1;
            assert_eq!(out.trim(), id);
        }),
    },
    Row {
        args: &[
            "exec",
            "-T",
            "-e",
            "GREETING=hi",
            "-w",
            "/tmp",
            "-u",
            "0",
            "wsgi",
            "sh",
            "-c",
            "echo $GREETING $PWD $(id -u)",
        ],
        expect: Expect::Ok(|_, out| assert_eq!(out, "hi /tmp 0\n")),
    },
    Row { args: &["exec", "-T", "--index", "1", "wsgi", "sh", "-c", "exit 3"], expect: Expect::Fails(3, "") },
    Row { args: &["exec", "--index", "2", "wsgi", "true"], expect: Expect::Fails(1, "no container number 2") },
    Row { args: &["sh", "wsgi", "echo", "no", "dashes"], expect: Expect::Ok(|_, out| assert_eq!(out, "no dashes\n")) },
    Row {
        // The project's network (the service's name resolves) and mounts.
        args: &["run", "--rm", "-T", "wsgi", "sh", "-c", "getent hosts nginx >/dev/null && cat /app/marker"],
        expect: Expect::Ok(|stack, out| {
            assert_eq!(out, "one-off\n");
            assert_eq!(oneoffs(stack), 0, "--rm removes the one-off container");
        }),
    },
    Row { args: &["run", "--rm", "-T", "wsgi", "sh", "-c", "exit 4"], expect: Expect::Fails(4, "") },
    Row {
        args: &["run", "-d", "wsgi", "sleep", "300"],
        expect: Expect::Ok(|stack, out| {
            let name = out.trim();
            assert!(name.starts_with(&format!("{}-wsgi-run-", stack.project)), "{name}");
            assert_eq!(oneoffs(stack), 1);
            // A one-off container is not the service's: ps leaves it out.
            assert_eq!(states(stack).len(), 3);
        }),
    },
    Row {
        args: &["port", "nginx", "8080"],
        expect: Expect::Ok(|stack, out| {
            let port = stack.container("nginx").host_port(8080);
            assert_eq!(out, format!("127.0.0.1:{port}\n"));
        }),
    },
    Row { args: &["port", "nginx", "9999"], expect: Expect::Fails(1, "is not published") },
    Row { args: &["top", "wsgi"], expect: Expect::Ok(|_, out| assert!(out.contains("uwsgi"), "{out}")) },
    Row {
        args: &["logs", "--no-log-prefix", "-n", "1", "--since", "1h", "nginx"],
        expect: Expect::Ok(|_, out| {
            assert_eq!(out.lines().count(), 1, "{out}");
            assert!(!out.starts_with("nginx"), "{out}");
        }),
    },
    Row {
        args: &["logs", "--until", "2000-01-01T00:00:00Z", "nginx"],
        expect: Expect::Ok(|_, out| assert_eq!(out, "")),
    },
    Row { args: &["logs", "--since", "yesterday"], expect: Expect::Fails(1, "is not a time") },
    Row {
        args: &["images", "--format", "json"],
        expect: Expect::Ok(|_, out| {
            let images: Value = serde_json::from_str(out).expect("json");
            let repositories: BTreeSet<&str> =
                images.as_array().expect("list").iter().filter_map(|i| i["Repository"].as_str()).collect();
            assert!(repositories.contains("dmp/wsgi"), "{out}");
        }),
    },
    Row {
        args: &["ls", "--format", "json"],
        expect: Expect::Ok(|stack, out| {
            let projects: Value = serde_json::from_str(out).expect("json");
            let ours = projects.as_array().expect("list").iter().find(|p| p["Name"] == stack.project.as_str());
            assert_eq!(ours.expect("our project")["Status"], "running(4)", "{out}");
        }),
    },
    Row {
        args: &["version", "--short"],
        expect: Expect::Ok(|_, out| assert_eq!(out.trim(), env!("CARGO_PKG_VERSION"))),
    },
    Row {
        args: &["describe", "--json"],
        expect: Expect::Ok(|stack, out| {
            let description: Value = serde_json::from_str(out).expect("json");
            assert_eq!(description["schema"], 1);
            let port = stack.container("nginx").host_port(8080);
            assert_eq!(description["url"], format!("http://127.0.0.1:{port}/"));
            let wsgi = description["services"].as_array().expect("list").iter().find(|s| s["service"] == "wsgi");
            let mounts = wsgi.expect("wsgi")["mounts"][0].as_str().expect("a mount").to_owned();
            assert!(mounts.ends_with(":/app:ro"), "{mounts}");
        }),
    },
    Row {
        args: &["open"],
        expect: Expect::Ok(|stack, out| {
            let port = stack.container("nginx").host_port(8080);
            assert_eq!(out, format!("http://127.0.0.1:{port}/\n"));
        }),
    },
    Row {
        args: &["cp", "marker", "wsgi:/tmp/copied"],
        expect: Expect::Ok(|stack, _| assert_eq!(stack.ok(&["exec", "-T", "wsgi", "cat", "/tmp/copied"]), "one-off\n")),
    },
    Row {
        args: &["cp", "wsgi:/tmp/copied", "back.txt"],
        expect: Expect::Ok(|stack, _| {
            assert_eq!(std::fs::read_to_string(stack.dir.path().join("back.txt")).expect("copied back"), "one-off\n");
        }),
    },
    Row { args: &["cp", "a", "b"], expect: Expect::Fails(1, "one side must be SERVICE:PATH") },
    // An existing directory receives the source inside it, `/` or not.
    Row {
        args: &["cp", "marker", "wsgi:/tmp"],
        expect: Expect::Ok(|stack, _| assert_eq!(stack.ok(&["exec", "-T", "wsgi", "cat", "/tmp/marker"]), "one-off\n")),
    },
    Row {
        args: &["cp", "wsgi:/tmp/copied", "outdir"],
        expect: Expect::Ok(|stack, _| {
            let copied = stack.dir.path().join("outdir/copied");
            assert_eq!(std::fs::read_to_string(copied).expect("copied into outdir"), "one-off\n");
        }),
    },
    Row {
        args: &["cp", "img", "wsgi:/tmp"],
        expect: Expect::Ok(|stack, _| {
            assert!(stack.ok(&["exec", "-T", "wsgi", "cat", "/tmp/img/Dockerfile"]).starts_with("FROM "));
        }),
    },
    // docker cp's refusals, in its words (compared with docker cp below).
    Row { args: &["cp", "marker", "wsgi:/tmp/nowhere/"], expect: Expect::Fails(1, "no such directory") },
    Row { args: &["cp", "img", "wsgi:/tmp/copied"], expect: Expect::Fails(1, "cannot copy directory") },
    Row { args: &["cp", "marker", "wsgi:/tmp/copied/"], expect: Expect::Fails(1, "no such directory") },
    Row { args: &["cp", "wsgi:/tmp/copied", "marker/"], expect: Expect::Fails(1, "marker/: not a directory") },
    Row { args: &["cp", "wsgi:/tmp/copied", "nodir/x"], expect: Expect::Fails(1, "nodir\" does not exist") },
    Row {
        args: &["cp", "wsgi:/nowhere", "out"],
        expect: Expect::Fails(1, "Could not find the file /nowhere in container"),
    },
    Row { args: &["cp", "nowhere", "wsgi:/tmp/"], expect: Expect::Fails(1, "nowhere: no such file or directory") },
    Row { args: &["cp", "wsgi:/tmp/img", "marker"], expect: Expect::Fails(1, "cannot copy directory") },
    Row { args: &["pause", "wsgi"], expect: Expect::Ok(|stack, _| assert_eq!(state(stack, "wsgi"), "paused")) },
    Row { args: &["unpause", "wsgi"], expect: Expect::Ok(|stack, _| assert_eq!(state(stack, "wsgi"), "running")) },
    Row {
        args: &["stop", "-t", "2", "nginx"],
        expect: Expect::Ok(|stack, _| assert_eq!(state(stack, "nginx"), "exited")),
    },
    Row { args: &["wait", "nginx"], expect: Expect::Ok(|_, out| assert!(out.trim().parse::<i64>().is_ok(), "{out}")) },
    Row { args: &["start", "nginx"], expect: Expect::Ok(|stack, _| assert_eq!(state(stack, "nginx"), "running")) },
    Row {
        args: &["restart", "-t", "2", "nginx"],
        expect: Expect::Ok(|stack, _| assert_eq!(state(stack, "nginx"), "running")),
    },
    Row {
        args: &["kill", "-s", "SIGKILL", "nginx"],
        expect: Expect::Ok(|stack, _| assert_eq!(state(stack, "nginx"), "exited")),
    },
    Row { args: &["rm", "-f", "nginx"], expect: Expect::Ok(|stack, _| assert_eq!(state(stack, "nginx"), "gone")) },
    Row { args: &["create", "nginx"], expect: Expect::Ok(|stack, _| assert_eq!(state(stack, "nginx"), "created")) },
    Row { args: &["start", "nginx"], expect: Expect::Ok(|stack, _| assert_eq!(state(stack, "nginx"), "running")) },
    // Unchanged: left running; forced: a new container, created, not started.
    Row { args: &["create", "nginx"], expect: Expect::Ok(|stack, _| assert_eq!(state(stack, "nginx"), "running")) },
    Row {
        args: &["create", "--no-recreate", "--force-recreate", "nginx"],
        expect: Expect::Fails(2, "cannot be used with"),
    },
    Row {
        args: &["create", "--force-recreate", "nginx"],
        expect: Expect::Ok(|stack, _| assert_eq!(state(stack, "nginx"), "created")),
    },
    Row { args: &["up", "-d"], expect: Expect::Ok(|stack, _| assert_eq!(state(stack, "nginx"), "running")) },
    Row {
        args: &["scale", "wsgi=2"],
        expect: Expect::Ok(|stack, _| {
            let names: Vec<String> = stack.containers().into_iter().map(|(name, _)| name).collect();
            assert!(names.contains(&format!("{}-wsgi-2", stack.project)), "{names:?}");
            let wsgi = states(stack).into_iter().filter(|(s, state)| s == "wsgi" && state == "running").count();
            assert_eq!(wsgi, 2);
        }),
    },
    Row {
        args: &["exec", "-T", "--index", "2", "wsgi", "cat", "/app/marker"],
        expect: Expect::Ok(|_, out| assert_eq!(out, "one-off\n")),
    },
    Row {
        args: &["scale", "wsgi=1"],
        expect: Expect::Ok(|stack, _| assert_eq!(states(stack).iter().filter(|(s, _)| s == "wsgi").count(), 1)),
    },
    Row { args: &["scale", "wsgi"], expect: Expect::Fails(2, "is not SERVICE=N") },
    Row { args: &["scale", "nosuch=2"], expect: Expect::Fails(1, "nosuch") },
    // `--progress tty` draws the bars into a file as on a terminal;
    // `plain` writes lines.
    Row {
        args: &["--progress", "tty", "up", "-d"],
        expect: Expect::Progress(|err| {
            assert!(err.contains("\r\x1b[2K") && err.contains('✓'), "no bars: {err:?}");
        }),
    },
    Row {
        args: &["--progress", "plain", "up", "-d"],
        expect: Expect::Progress(|err| {
            assert!(!err.contains('\x1b') && err.contains("wsgi  | unchanged"), "not plain: {err:?}");
        }),
    },
    // Not a terminal: no colour.
    Row {
        args: &["doctor"],
        expect: Expect::Ok(|_, out| {
            assert!(out.starts_with("ok      engine"), "{out}");
            assert!(!out.contains('\x1b'), "{out:?}");
        }),
    },
    Row {
        args: &["rm", "-s", "-f", "built"],
        expect: Expect::Ok(|stack, _| assert_eq!(state(stack, "built"), "gone")),
    },
    Row { args: &["build", "--no-cache", "built"], expect: Expect::Ok(|_, _| {}) },
    Row { args: &["up", "-d", "built"], expect: Expect::Ok(|stack, _| assert_eq!(state(stack, "built"), "running")) },
    // dmp's own images and built ones are not pulled: nothing to do.
    Row { args: &["pull"], expect: Expect::Ok(|_, _| {}) },
    Row { args: &["--profile", "never", "pull", "ghost"], expect: Expect::Fails(1, "the registry did not answer") },
    Row { args: &["push", "built"], expect: Expect::Fails(1, "the registry did not answer") },
    Row { args: &["push", "wsgi"], expect: Expect::Fails(1, "nothing to push") },
];

fn check(stack: &StackDir, row: &Row, output: &Output) {
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    match &row.expect {
        Expect::Ok(check) => {
            assert!(output.status.success(), "dmp {:?} failed:\n{stdout}\n{stderr}", row.args);
            check(stack, &stdout);
        }
        Expect::Progress(check) => {
            assert!(output.status.success(), "dmp {:?} failed:\n{stdout}\n{stderr}", row.args);
            check(&stderr);
        }
        Expect::Fails(code, message) => {
            assert_eq!(output.status.code(), Some(*code), "dmp {:?}:\n{stdout}\n{stderr}", row.args);
            assert!(stderr.contains(message), "dmp {:?}: {message:?} not in\n{stderr}", row.args);
        }
    }
}

/// Removes the image tags the stack gives its built service (they are not
/// `<project>-*`, which `StackDir` removes).
struct Tags<'a>(&'a StackDir);

impl Drop for Tags<'_> {
    fn drop(&mut self) {
        let docker = &self.0.engine.docker;
        let tag = format!("{NO_REGISTRY}/{}-built:1", self.0.project);
        let options = bollard::query_parameters::RemoveImageOptionsBuilder::default().force(true).build();
        let _ = self.0.engine.block_on(docker.remove_image(&tag, Some(options), None));
    }
}

#[test]
fn every_compose_command_acts_on_a_real_stack() {
    let engine = require_engine!();
    base_images();
    let version = images_version();
    let dockerfile = format!("FROM dmp/wsgi:{version}\nLABEL dev.dmp.test=compose-commands\n");
    let stack = StackDir::new(
        engine,
        "compose-cmds",
        "",
        &[("application.py", WSGI_APP), ("marker", "one-off\n"), ("img/Dockerfile", &dockerfile), ("outdir/.keep", "")],
    );
    stack.write_stack(&stack_file(&stack.project));
    let _tags = Tags(&stack);

    for row in ROWS {
        let output = stack.dmp(row.args);
        check(&stack, row, &output);
    }
    events_follow_the_project(&stack);
    attach_follows_a_service_and_passes_ctrl_c(&stack);
    doctor_in_colour_on_a_terminal(&stack);
    cp_refuses_as_docker_cp_does(&stack);
    compare_with_compose(&stack);

    // `-p NAME down` without the stack file: everything goes, one-off
    // containers too.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let down = dmp_in(elsewhere.path(), &["-p", &stack.project, "down"], &[]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    stack.assert_no_state();
}

/// `dmp events --json` prints the project's container events as they come.
fn events_follow_the_project(stack: &StackDir) {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dmp"))
        .current_dir(stack.dir.path())
        .args(["events", "--json", "nginx"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("dmp events");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The subscription is made before the restart: give it a moment.
    std::thread::sleep(std::time::Duration::from_millis(500));
    stack.ok(&["restart", "-t", "1", "nginx"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut seen = Vec::new();
    let found = loop {
        match rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
            Ok(line) => {
                let event: Value = serde_json::from_str(&line).expect("a JSON line");
                if event["service"] == "nginx" && event["action"] == "restart" {
                    break Some(event);
                }
                seen.push(line);
            }
            Err(_) => break None,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let event = found.unwrap_or_else(|| panic!("no restart event for nginx; saw {seen:?}"));
    assert_eq!(event["type"], "container");
    assert!(event["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{event}");
}

/// `compose down` of Compose's copy of the stack, also when a test fails.
struct ComposeDown {
    compose: std::path::PathBuf,
    dir: std::path::PathBuf,
    project: String,
}

impl Drop for ComposeDown {
    fn drop(&mut self) {
        let _ = std::process::Command::new(&self.compose)
            .current_dir(&self.dir)
            .args(["-f", "dmp.yml", "-p", &self.project, "down", "-t", "1"])
            .output();
    }
}

/// Compose v2 runs the same file as project `<project>-v2`; the outputs
/// both tools give in Compose's shape must have Compose's keys and agree on
/// the values that do not depend on the run.
fn compare_with_compose(stack: &StackDir) {
    let Some(compose) = compose_v2() else { return };
    let project = format!("{}-v2", stack.project);
    let run = |args: &[&str]| {
        let output = std::process::Command::new(&compose)
            .current_dir(stack.dir.path())
            .args(["-f", "dmp.yml", "-p", &project])
            .args(args)
            .output()
            .expect("compose");
        assert!(output.status.success(), "compose {args:?}:\n{}", text(&output.stderr));
        text(&output.stdout)
    };
    let _down = ComposeDown { compose: compose.clone(), dir: stack.dir.path().to_owned(), project: project.clone() };
    run(&["up", "-d", "--no-build", "--wait", "wsgi", "nginx"]);

    let keys =
        |value: &Value| value.as_object().map(|o| o.keys().cloned().collect::<BTreeSet<_>>()).unwrap_or_default();
    let by_service = |mut rows: Vec<Value>| {
        rows.sort_by_key(|r| r["Service"].as_str().unwrap_or("").to_owned());
        rows
    };
    let theirs = by_service(lines(&run(&["ps", "--format", "json"])));
    let ours = by_service(lines(&stack.ok(&["ps", "--format", "json", "wsgi", "nginx"])));
    assert_eq!(theirs.len(), ours.len());
    for (their, our) in theirs.iter().zip(&ours) {
        let missing: Vec<String> = keys(their).difference(&keys(our)).cloned().collect();
        assert!(missing.is_empty(), "ps --format json lacks Compose's keys {missing:?}: {our}");
        for key in ["Service", "State", "Image", "ExitCode", "Size", "LocalVolumes", "Command"] {
            assert_eq!(our[key], their[key], "{key}: ours {our}\ntheirs {their}");
        }
        assert_eq!(
            our["Name"].as_str().map(|n| n.replacen(&stack.project, "", 1)),
            their["Name"].as_str().map(|n| n.replacen(&project, "", 1))
        );
        // Every port, the exposed ones unpublished (URL "", port 0), in
        // Compose's order; dmp binds to 127.0.0.1 where Compose binds
        // every address, IPv4 and IPv6 (docs/commands.md).
        let publishers = |row: &Value| -> Vec<Value> {
            let mut all: Vec<Value> = row["Publishers"].as_array().cloned().unwrap_or_default();
            for publisher in &mut all {
                if publisher["PublishedPort"] != 0 {
                    publisher["URL"] = "127.0.0.1".into();
                    publisher["PublishedPort"] = 1.into();
                }
            }
            all.dedup();
            all
        };
        assert_eq!(publishers(our), publishers(their), "Publishers: ours {our}\ntheirs {their}");
        if publishers(their).iter().all(|p| p["PublishedPort"] == 0) {
            assert_eq!(our["Ports"], their["Ports"], "Ports");
        }
    }

    let theirs: Value = serde_json::from_str(&run(&["images", "--format", "json"])).expect("compose images");
    let ours: Value =
        serde_json::from_str(&stack.ok(&["images", "--format", "json", "wsgi", "nginx"])).expect("images");
    let pick = |v: &Value| -> BTreeSet<(String, String)> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|i| (i["Repository"].as_str().unwrap_or("").to_owned(), i["Tag"].as_str().unwrap_or("").to_owned()))
            .collect()
    };
    assert_eq!(pick(&ours), pick(&theirs), "images");
    assert_eq!(keys(&ours[0]), keys(&theirs[0]), "images --format json keys");

    let theirs: Value = serde_json::from_str(&run(&["ls", "--format", "json"])).expect("compose ls");
    let ours: Value = serde_json::from_str(&stack.ok(&["ls", "--format", "json"])).expect("ls");
    assert_eq!(keys(&ours[0]), keys(&theirs[0]), "ls --format json keys");
    // dmp lists Compose's projects too.
    assert!(ours.as_array().expect("list").iter().any(|p| p["Name"] == project.as_str()), "{ours}");

    let their_port = run(&["port", "nginx", "8080"]);
    let our_port = stack.ok(&["port", "nginx", "8080"]);
    assert!(their_port.trim().rsplit_once(':').is_some() && our_port.trim().rsplit_once(':').is_some());

    // `create` replaces a container whose configuration changed with a new
    // one, not started, in both; `--no-recreate` leaves it.
    let service_state = |rows: &str, service: &str| -> (String, String) {
        let row = lines(rows).into_iter().find(|r| r["Service"] == service).expect(service);
        (row["State"].as_str().unwrap_or("").to_owned(), row["ID"].as_str().unwrap_or("").to_owned())
    };
    let ours_before = service_state(&stack.ok(&["ps", "-a", "--format", "json"]), "nginx");
    stack.write_stack(&stack_file(&stack.project).replace("DM_APP_NAME: commands", "DM_APP_NAME: changed"));
    run(&["create", "--no-recreate", "nginx"]);
    stack.ok(&["create", "--no-recreate", "nginx"]);
    assert_eq!(service_state(&run(&["ps", "-a", "--format", "json"]), "nginx").0, "running");
    assert_eq!(service_state(&stack.ok(&["ps", "-a", "--format", "json"]), "nginx"), ours_before);
    run(&["create", "nginx"]);
    stack.ok(&["create", "nginx"]);
    let theirs = service_state(&run(&["ps", "-a", "--format", "json"]), "nginx");
    let ours = service_state(&stack.ok(&["ps", "-a", "--format", "json"]), "nginx");
    assert_eq!((theirs.0.as_str(), ours.0.as_str()), ("created", "created"));
    assert_ne!(ours.1, ours_before.1, "a new container");
    // `up` then starts the new one and does not recreate it again.
    stack.ok(&["up", "-d"]);
    assert_eq!(service_state(&stack.ok(&["ps", "-a", "--format", "json"]), "nginx").1, ours.1);

    // `scale` adds numbered containers in both.
    run(&["scale", "wsgi=2"]);
    stack.ok(&["scale", "wsgi=2"]);
    let numbered = |rows: &str, project: &str| -> Vec<String> {
        let mut names: Vec<String> = lines(rows)
            .iter()
            .filter(|r| r["Service"] == "wsgi")
            .map(|r| r["Name"].as_str().unwrap_or("").replacen(project, "", 1))
            .collect();
        names.sort();
        names
    };
    let theirs = numbered(&run(&["ps", "--format", "json"]), &project);
    assert_eq!(numbered(&stack.ok(&["ps", "--format", "json"]), &stack.project), theirs);
    assert_eq!(theirs, ["-wsgi-1", "-wsgi-2"]);
}

/// `dmp attach nginx` shows nginx's output as it comes (a request's access
/// log line), and Ctrl-C (SIGINT to dmp) reaches nginx, which stops: dmp
/// exits with its code, as `docker compose attach` does.
fn attach_follows_a_service_and_passes_ctrl_c(stack: &StackDir) {
    use std::io::Read as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dmp"))
        .current_dir(stack.dir.path())
        .args(["attach", "--no-stdin", "nginx"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("dmp attach");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buffer) {
            if n == 0 || tx.send(buffer[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let port = stack.container("nginx").host_port(8080);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("/attached-probe") {
        let _ = crate::support::http_get(port, "/attached-probe", &[]);
        if let Ok(chunk) = rx.recv_timeout(std::time::Duration::from_millis(500)) {
            seen.extend(chunk);
        }
        assert!(std::time::Instant::now() < deadline, "no access log line through attach: {}", text(&seen));
    }
    let pid = i32::try_from(child.id()).expect("pid");
    let killed = std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status().expect("kill");
    assert!(killed.success());
    let output = child.wait_with_output().expect("dmp attach ends");
    assert_eq!(state(stack, "nginx"), "exited", "SIGINT reached nginx: {}", text(&output.stderr));
    let code = lines(&stack.ok(&["ps", "-a", "--format", "json", "nginx"]))[0]["ExitCode"].as_i64();
    assert_eq!(output.status.code().map(i64::from), code, "{}", text(&output.stderr));
    stack.ok(&["start", "nginx"]);
}

/// On a terminal `doctor` marks ok green (and FAILED red); `NO_COLOR`
/// turns colour off.
fn doctor_in_colour_on_a_terminal(stack: &StackDir) {
    let driver = format!(
        "{PTY_DRIVER}{}",
        r#"
pid, fd = spawn(["doctor"])
seen = read_until(fd, b"inotify")
os.waitpid(pid, 0)
print(repr(seen))
"#
    );
    let doctor = |no_color: &str| {
        let output = std::process::Command::new("python3")
            .current_dir(stack.dir.path())
            .args(["-c", &driver, env!("CARGO_BIN_EXE_dmp")])
            .env("NO_COLOR", no_color)
            .output()
            .expect("python3");
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let coloured = doctor("");
    assert!(coloured.contains(r"\x1b[32mok\x1b[0m"), "{coloured}");
    let plain = doctor("1");
    assert!(!plain.contains(r"\x1b[") && plain.contains("ok      engine"), "{plain}");
}

/// The copies `dmp cp` refuses, `docker cp` refuses too, with the same
/// words; the one into an existing directory both make.
fn cp_refuses_as_docker_cp_does(stack: &StackDir) {
    let container = format!("{}-wsgi-1", stack.project);
    let cases: [(&str, &str, Option<&str>); 9] = [
        ("marker", "wsgi:/tmp/copied/", Some("no such directory")),
        ("wsgi:/tmp/copied", "marker/", Some("marker/: not a directory")),
        ("wsgi:/tmp/copied", "nodir/x", Some("nodir\" does not exist")),
        ("marker", "wsgi:/tmp/nowhere/", Some("no such directory")),
        ("img", "wsgi:/tmp/copied", Some("cannot copy directory")),
        ("wsgi:/nowhere", "out", Some("Could not find the file /nowhere in container")),
        ("nowhere", "wsgi:/tmp/", Some("no such file or directory")),
        ("wsgi:/tmp/img", "marker", Some("cannot copy directory")),
        ("marker", "wsgi:/var", None),
    ];
    for (source, destination, refusal) in cases {
        let docker_side =
            |path: &str| path.strip_prefix("wsgi:").map_or(path.to_owned(), |p| format!("{container}:{p}"));
        let theirs = std::process::Command::new("docker")
            .current_dir(stack.dir.path())
            .args(["cp", &docker_side(source), &docker_side(destination)])
            .output()
            .expect("docker cp");
        let ours = stack.dmp(&["cp", source, destination]);
        assert_eq!(ours.status.success(), theirs.status.success(), "cp {source} {destination}: {}", text(&ours.stderr));
        if let Some(words) = refusal {
            assert!(text(&theirs.stderr).contains(words), "docker cp {source} {destination}: {}", text(&theirs.stderr));
            assert!(text(&ours.stderr).contains(words), "dmp cp {source} {destination}: {}", text(&ours.stderr));
        }
    }
    assert_eq!(stack.ok(&["exec", "-T", "wsgi", "cat", "/var/marker"]), "one-off\n");
}
