//! Compose's everyday commands on a real stack, table-driven: each row runs
//! one dmp command and checks its effect on the Engine (or its output);
//! then Compose v2 brings the same file up under its own project name and
//! the outputs that can be compared (`ps --format json`, `images --format
//! json`, `ls --format json`, `port`) are compared key by key.

use std::collections::BTreeSet;
use std::process::Output;

use serde_json::Value;

use crate::compose_corpus::compose_v2;
use crate::support::{StackDir, WSGI_APP, base_images, dmp_in, images_version, require_engine, text};

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
        &[("application.py", WSGI_APP), ("marker", "one-off\n"), ("img/Dockerfile", &dockerfile)],
    );
    stack.write_stack(&stack_file(&stack.project));
    let _tags = Tags(&stack);

    for row in ROWS {
        let output = stack.dmp(row.args);
        check(&stack, row, &output);
    }
    compare_with_compose(&stack);

    // `-p NAME down` without the stack file: everything goes, one-off
    // containers too.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let down = dmp_in(elsewhere.path(), &["-p", &stack.project, "down"], &[]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    stack.assert_no_state();
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
        for key in ["Service", "State", "Image", "ExitCode"] {
            assert_eq!(our[key], their[key], "{key}: ours {our}\ntheirs {their}");
        }
        assert_eq!(
            our["Name"].as_str().map(|n| n.replacen(&stack.project, "", 1)),
            their["Name"].as_str().map(|n| n.replacen(&project, "", 1))
        );
        let published = |row: &Value| -> Vec<(Value, Value, Value)> {
            row["Publishers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["PublishedPort"] != 0)
                .map(|p| (p["URL"].clone(), p["TargetPort"].clone(), p["Protocol"].clone()))
                .collect()
        };
        // dmp binds to 127.0.0.1 where Compose binds every address
        // (docs/commands.md).
        let their_published: Vec<_> =
            published(their).into_iter().map(|(_, t, p)| (Value::from("127.0.0.1"), t, p)).collect();
        let mut their_published = their_published;
        their_published.dedup_by(|a, b| a.1 == b.1 && a.2 == b.2);
        assert_eq!(published(our), their_published, "Publishers");
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
}
