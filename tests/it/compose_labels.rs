//! Compose v2 and dmp on one stack: a dmp stack as `docker compose` (v2)
//! sees it, a stack `docker compose up` made taken over by `dmp up`, and a
//! project that belongs to one directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::compose_corpus::compose_v2;
use crate::support::{StackDir, base_images, dmp_in, images_version, require_engine, shared_dir, text};

/// Two idle services; `db` keeps a named volume and writes its hostname
/// into it once, so the first container to run leaves its mark. `web`
/// publishes a port that serves nothing: `up --no-wait`.
fn stack() -> String {
    let version = images_version();
    format!(
        r#"services:
  db:
    image: dmp/wsgi:{version}
    user: root
    command: ["sh", "-c", "[ -f /data/seed ] || hostname > /data/seed; echo db-says-hello; exec dmp-idle"]
    healthcheck: {{ disable: true }}
    volumes: [data:/data]
  web:
    image: dmp/wsgi:{version}
    command: ["dmp-idle"]
    healthcheck: {{ disable: true }}
    ports: ['8080']
    depends_on: [db]
volumes:
  data:
"#
    )
}

/// Compose v2 on `project`, in `dir`.
fn compose(v2: &Path, dir: &Path, project: &str, args: &[&str]) -> Output {
    Command::new(v2).current_dir(dir).args(["-p", project]).args(args).output().expect("running docker compose")
}

fn compose_ok(v2: &Path, dir: &Path, project: &str, args: &[&str]) -> String {
    let output = compose(v2, dir, project, args);
    assert!(output.status.success(), "docker compose {args:?} failed:\n{}", text(&output.stderr));
    text(&output.stdout)
}

/// `docker compose ps --format json`: one object per line (2.26), or an
/// array (other versions).
fn compose_ps(v2: &Path, dir: &Path, project: &str) -> Vec<Value> {
    let out = compose_ok(v2, dir, project, &["ps", "--all", "--format", "json"]);
    let mut rows: Vec<Value> = match serde_json::from_str::<Value>(out.trim()) {
        Ok(Value::Array(rows)) => rows,
        _ => out
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect(),
    };
    rows.sort_by_key(|r| r["Name"].as_str().unwrap_or_default().to_owned());
    rows
}

#[test]
fn a_dmp_stack_shows_in_docker_compose_ps_and_logs_and_its_down_removes_it() {
    let engine = require_engine!();
    let Some(v2) = compose_v2() else { return };
    base_images();
    let stack = StackDir::new(engine, "v2sees", &stack(), &[]);
    stack.ok(&["up", "--no-wait"]);
    let dir = stack.dir.path();
    let project = &stack.project;

    let ours: Value = serde_json::from_str(&stack.ok(&["ps", "-a", "--json"])).expect("dmp ps --json");
    let ours: Vec<Value> = serde_json::from_value(ours["containers"].clone()).expect("containers");
    let theirs = compose_ps(&v2, dir, project);
    assert_eq!(theirs.len(), 2, "docker compose ps lists both containers: {theirs:?}");
    for (ours, theirs) in ours.iter().zip(&theirs) {
        assert_eq!(theirs["Name"], ours["container"]);
        assert_eq!(theirs["Service"], ours["service"]);
        assert_eq!(theirs["State"], ours["state"]);
        assert_eq!(theirs["Project"].as_str(), Some(project.as_str()));
        let labels = theirs["Labels"].as_str().expect("labels");
        let working_dir = format!("com.docker.compose.project.working_dir={}", dir.display());
        assert!(labels.contains(&working_dir), "{labels}");
        assert!(labels.contains("com.docker.compose.oneoff=False"), "{labels}");
        assert!(labels.contains("com.docker.compose.container-number=1"), "{labels}");
        let published: Vec<(String, u64)> = theirs["Publishers"]
            .as_array()
            .expect("publishers")
            .iter()
            .filter(|p| p["PublishedPort"].as_u64() != Some(0))
            .map(|p| (p["URL"].as_str().unwrap_or_default().to_owned(), p["PublishedPort"].as_u64().unwrap_or(0)))
            .collect();
        let ours_published: Vec<(String, u64)> = ours["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .map(|p| (p["host_ip"].as_str().unwrap_or_default().to_owned(), p["published"].as_u64().unwrap_or(0)))
            .collect();
        assert_eq!(published, ours_published, "{}", ours["container"]);
    }
    assert!(theirs.iter().any(|r| {
        r["Labels"].as_str().is_some_and(|l| l.contains("com.docker.compose.depends_on=db:service_started:false"))
    }));

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !compose_ok(&v2, dir, project, &["logs", "db"]).contains("db-says-hello") {
        assert!(std::time::Instant::now() < deadline, "docker compose logs shows the dmp container's output");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    compose_ok(&v2, dir, project, &["down", "--volumes"]);
    stack.assert_no_state();
}

#[test]
fn a_stack_docker_compose_made_is_taken_over_by_up_and_its_volume_data_kept() {
    let engine = require_engine!();
    let Some(v2) = compose_v2() else { return };
    base_images();
    // StackDir's `down -v` and sweep remove the taken-over stack even when
    // the test fails half-way (dmp's down covers Compose's labels too).
    let stack = StackDir::new(engine, "takeover", &stack(), &[]);
    let dir = stack.dir.path();
    let project = &stack.project;
    compose_ok(&v2, dir, project, &["-f", "dmp.yml", "up", "-d"]);
    let made_by_compose = compose_ps(&v2, dir, project);
    assert_eq!(made_by_compose.len(), 2);
    assert!(stack.containers().is_empty(), "docker compose's containers carry none of dmp's labels");
    let first_db = made_by_compose.iter().find(|r| r["Service"] == "db").expect("db");
    let first_db_id = first_db["ID"].as_str().expect("an id").to_owned();

    let output = stack.dmp(&["up", "--no-wait", "--json"]);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report: Value = serde_json::from_str(&text(&output.stdout)).expect("up --json");
    let actions: Vec<&str> =
        report["services"].as_array().expect("services").iter().filter_map(|s| s["action"].as_str()).collect();
    assert_eq!(actions, ["recreated", "recreated"], "{report}");
    // --json is quiet: the line shows on a plain up; here the containers say it.
    let now = stack.containers();
    assert_eq!(now.len(), 2, "both containers are dmp's now: {now:?}");
    assert!(now.iter().all(|(_, id)| !id.starts_with(&first_db_id)));

    let seed = stack.ok(&["sh", "db", "--", "cat", "/data/seed"]);
    assert_eq!(seed.trim(), first_db_id, "the volume's data (written by docker compose's container) is kept");
    assert_eq!(stack.volumes().len(), 0, "dmp did not make the volume: it keeps Compose's labels only");
    let again = stack.ok(&["up", "--no-wait", "--json"]);
    assert!(again.contains("unchanged") && !again.contains("recreated"), "{again}");
    assert_eq!(compose_ps(&v2, dir, project).len(), 2, "docker compose still sees the stack");

    stack.ok(&["down", "-v"]);
    assert!(compose_ps(&v2, dir, project).is_empty());
}

#[test]
fn the_takeover_says_so_in_one_line() {
    let engine = require_engine!();
    let Some(v2) = compose_v2() else { return };
    base_images();
    let stack = StackDir::new(engine, "takeoverline", &stack(), &[]);
    compose_ok(&v2, stack.dir.path(), &stack.project, &["-f", "dmp.yml", "up", "-d", "db"]);
    let output = stack.dmp(&["up", "--no-wait", "--progress", "plain"]);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("taking over")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains(&format!("{}-db-1", stack.project)) && !lines[0].contains("web-1"), "{stderr}");
}

/// `root/<project>/dmp.yml`, without `name:`: the project is named after
/// the directory, as two checkouts of one app are.
fn checkout(root: &Path, project: &str) -> PathBuf {
    let dir = root.join(project);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("dmp.yml"), stack()).expect("write");
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    dmp_in(dir, args, &[])
}

#[test]
fn two_checkouts_with_one_directory_name_the_second_refuses_and_adopts_on_request() {
    let engine = require_engine!();
    base_images();
    // Named after the project the checkouts get; its Drop removes what they
    // made (by dmp's project label).
    let cleanup = StackDir::new(engine, "twins", &stack(), &[]);
    let project = cleanup.project.clone();
    let (root_a, root_b) = (shared_dir(&[], true), shared_dir(&[], true));
    let (a, b) = (checkout(root_a.path(), &project), checkout(root_b.path(), &project));

    let up = run(&a, &["up", "--no-wait"]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    let before = cleanup.containers();
    let volumes = cleanup.volumes();
    assert_eq!((before.len(), volumes.len()), (2, 1));

    for args in [&["up"][..], &["down", "-v"], &["ps"], &["logs"], &["stop"], &["sh", "db", "--", "true"]] {
        let output = run(&b, args);
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{args:?} in the second checkout must refuse: {stderr}");
        for needle in [a.display().to_string(), b.display().to_string(), "-p NAME".into(), "--adopt".into()] {
            assert!(stderr.contains(&needle), "{args:?}: {needle:?} missing in {stderr}");
        }
    }
    assert_eq!(cleanup.containers(), before, "the first checkout's containers are untouched");
    assert_eq!(cleanup.volumes(), volumes);
    let ps = run(&a, &["ps"]);
    assert!(ps.status.success() && text(&ps.stdout).contains("running"), "{}", text(&ps.stderr));

    // The first is down: its volume still says where the project lives.
    let down = run(&a, &["down"]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    let output = run(&b, &["up"]);
    let stderr = text(&output.stderr);
    assert!(!output.status.success() && stderr.contains(&format!("volume {project}_data")), "{stderr}");
    assert!(cleanup.containers().is_empty());

    // Moved on purpose: adopted, and the first checkout is the stranger now.
    let adopt = run(&b, &["up", "--no-wait", "--adopt"]);
    let stderr = text(&adopt.stderr);
    assert!(adopt.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("adopting the project from {}", a.display())), "{stderr}");
    let seed = run(&b, &["sh", "db", "--", "cat", "/data/seed"]);
    assert!(seed.status.success() && !text(&seed.stdout).trim().is_empty(), "the volume's data is kept");
    assert!(run(&b, &["ps"]).status.success());
    let stranger = run(&a, &["ps"]);
    assert!(!stranger.status.success() && text(&stranger.stderr).contains(&b.display().to_string()));
    let down = run(&b, &["down", "-v"]);
    assert!(down.status.success(), "{}", text(&down.stderr));
    cleanup.assert_no_state();
}

/// The Engine requests `dmp -v` logged that list containers.
fn container_lists(output: &Output) -> usize {
    text(&output.stderr).lines().filter(|l| l.contains("dmp::engine: list containers:")).count()
}

#[test]
fn ps_of_a_stack_that_is_up_lists_once_and_still_shows_docker_compose_s_and_an_older_dmp_s_containers() {
    let engine = require_engine!();
    base_images();
    let stack = StackDir::new(engine, "pslists", &stack(), &[]);
    let rows = |output: &Output| -> Vec<(String, String)> {
        assert!(output.status.success(), "{}", text(&output.stderr));
        let ps: Value = serde_json::from_str(&text(&output.stdout)).expect("ps --json");
        let mut rows: Vec<(String, String)> = ps["containers"]
            .as_array()
            .expect("containers")
            .iter()
            .map(|r| {
                (r["service"].as_str().unwrap_or_default().into(), r["container"].as_str().unwrap_or_default().into())
            })
            .collect();
        rows.sort();
        rows
    };
    stack.ok(&["up", "--no-wait"]);
    let ps = stack.dmp(&["-v", "ps", "-a", "--json"]);
    assert_eq!(rows(&ps).len(), 2);
    assert_eq!(container_lists(&ps), 1, "{}", text(&ps.stderr));

    // db as a dmp before 0.2 made it: dmp's labels alone, which the list by
    // Compose's label misses; the missing name sends ps to dmp's label.
    let db = format!("{}-db-1", stack.project);
    stack.ok(&["rm", "-s", "-f", "db"]);
    let labels = [("dev.dmp.project", stack.project.as_str()), ("dev.dmp.service", "db")];
    let body = bollard::models::ContainerCreateBody {
        image: Some(format!("dmp/wsgi:{}", images_version())),
        cmd: Some(vec!["dmp-idle".into()]),
        labels: Some(labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
        ..Default::default()
    };
    let options = bollard::query_parameters::CreateContainerOptionsBuilder::default().name(&db).build();
    engine.block_on(engine.docker.create_container(Some(options), body)).expect("create the older dmp's container");
    let ps = stack.dmp(&["-v", "ps", "-a", "--json"]);
    assert_eq!(rows(&ps), [("db".into(), db.clone()), ("web".into(), format!("{}-web-1", stack.project))]);
    assert_eq!(container_lists(&ps), 2, "{}", text(&ps.stderr));
    stack.ok(&["down", "-v"]);
    stack.assert_no_state();

    // Made by docker compose: Compose's labels alone, found by the one list.
    let Some(v2) = compose_v2() else { return };
    compose_ok(&v2, stack.dir.path(), &stack.project, &["-f", "dmp.yml", "up", "-d"]);
    let ps = stack.dmp(&["-v", "ps", "-a", "--json"]);
    assert_eq!(rows(&ps).len(), 2, "{}", text(&ps.stdout));
    assert_eq!(container_lists(&ps), 1, "{}", text(&ps.stderr));
    compose_ok(&v2, stack.dir.path(), &stack.project, &["-f", "dmp.yml", "down", "--volumes"]);
}
