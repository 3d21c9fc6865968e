//! `dmp watch` on the demo app: saves rebuild in buildstatic and nginx
//! serves the result; bursts coalesce; failures report and recover; noise
//! never triggers; a lost container is brought back.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{StackDir, base_images, http_get, require_engine};
use crate::workflow::demo;

/// `dmp watch --json` running in a stack's directory, its events collected.
pub struct Watch {
    child: Child,
    events: Receiver<Value>,
}

impl Watch {
    pub fn start(stack: &StackDir, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dmp"))
            .current_dir(stack.dir.path())
            .args(["watch", "--json"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("dmp watch");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, events) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(event) = serde_json::from_str::<Value>(&line)
                    && tx.send(event).is_err()
                {
                    break;
                }
            }
        });
        let watch = Self { child, events };
        let ready = watch.next(|e| e["event"] == "ready", "ready");
        assert_eq!(ready["polling"], extra.contains(&"--poll"), "{ready}");
        // The initial build of every rule.
        let stack_file = std::fs::read_to_string(stack.dir.path().join("dmp.yml")).expect("stack file");
        for _ in 0..stack_file.matches("\n    - name: ").count() {
            let build = watch.next(|e| e["event"] == "build", "an initial build");
            assert_eq!(build["ok"], true, "{build}");
        }
        watch
    }

    /// The next event matching `wanted`, within 30 s.
    pub fn next(&self, wanted: impl Fn(&Value) -> bool, what: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(event) if wanted(&event) => return event,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => panic!("no {what} from dmp watch"),
            }
        }
    }

    /// Every build event within `quiet` of the last one (or of now).
    fn builds_for(&self, quiet: Duration) -> Vec<Value> {
        let mut builds = Vec::new();
        while let Ok(event) = self.events.recv_timeout(quiet) {
            if event["event"] == "build" {
                builds.push(event);
            }
        }
        builds
    }

    pub fn build_of(&self, rule: &str) -> Value {
        self.next(|e| e["event"] == "build" && e["rule"] == rule, &format!("build of {rule}"))
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn served(port: u16, path: &str) -> String {
    let response = http_get(port, path, &[]).expect("GET through nginx");
    assert_eq!(response.status, 200, "{path}");
    String::from_utf8_lossy(&response.body).into_owned()
}

#[test]
fn saves_rebuild_what_nginx_serves_and_failures_report_and_recover() {
    let engine = require_engine!();
    base_images();
    let (stack, port) = demo(engine, "watch", false);
    stack.ok(&["up"]);
    let watch = Watch::start(&stack, &[]);

    // SCSS (the sassc rule): a save recompiles, nginx serves the new CSS.
    stack.write("assets/legacy/_variables.scss", "$brand-colour: #123456;\n$text-colour: #0b0c0c;\n$gutter: 20px;\n");
    let build = watch.build_of("legacy");
    assert_eq!(
        (build["ok"].clone(), build["trigger"].clone()),
        (Value::Bool(true), "assets/legacy/_variables.scss".into())
    );
    assert!(served(port, "/static/css/legacy.css").contains("#123456"));

    // JS: a save rebundles.
    stack.write("assets/js/greeting.js", "export function greeting() { return \"Hello from the watch test\"; }\n");
    assert_eq!(watch.build_of("scripts")["ok"], true);
    assert!(served(port, "/static/js/main.js").contains("Hello from the watch test"));

    // A broken file: the tool's message with file and line; the last good
    // output stays; the next good save recovers.
    let good_css = served(port, "/static/css/legacy.css");
    let layout = std::fs::read_to_string(stack.dir.path().join("assets/legacy/_layout.scss")).expect("read");
    stack.write("assets/legacy/_layout.scss", &format!("{layout}\n.broken {{\n"));
    let failed = watch.build_of("legacy");
    assert_eq!(failed["ok"], false);
    let output = failed["output"].as_str().expect("output");
    assert!(output.contains("assets/legacy/_layout.scss") && output.contains("line"), "{output}");
    assert_eq!(served(port, "/static/css/legacy.css"), good_css, "a failed build replaced the output");
    stack.write("assets/legacy/_layout.scss", &layout);
    assert_eq!(watch.build_of("legacy")["ok"], true);

    // Editor temp files and the rules' own output never trigger.
    for noise in [
        "assets/scss/.application.scss.swp",
        "assets/scss/application.scss~",
        "assets/scss/4913",
        "assets/scss/.#application.scss",
        "assets/js/main.js___jb_tmp___",
        "static/css/other.css",
        "static/js/extra.js",
    ] {
        stack.write(noise, "noise");
    }
    let builds = watch.builds_for(Duration::from_millis(1500));
    assert!(builds.is_empty(), "noise triggered builds: {builds:?}");
}

#[test]
fn a_burst_coalesces_and_a_killed_buildstatic_is_brought_back() {
    let engine = require_engine!();
    base_images();
    let (stack, _port) = demo(engine, "watch-burst", false);
    stack.ok(&["up"]);
    // A quiet window wider than a stall of this busy machine mid-burst: the
    // builds (sassc in its build shell, about 20 ms) are quicker than the
    // default 30 ms window, so a stall could end a burst early.
    let watch = Watch::start(&stack, &["--quiet-ms", "300"]);

    // 100 writes as fast as they come (a checkout, a formatter): at most one
    // build and one queued rebuild.
    for i in 0..100 {
        stack.write(
            "assets/legacy/_variables.scss",
            &format!("$brand-colour: #{i:06x};\n$text-colour: #000;\n$gutter: 20px;\n"),
        );
    }
    let builds = watch.builds_for(Duration::from_millis(1500));
    let legacy = builds.iter().filter(|b| b["rule"] == "legacy").count();
    assert!((1..=2).contains(&legacy), "{legacy} builds for one burst: {builds:?}");
    assert!(builds.iter().all(|b| b["rule"] == "legacy"), "{builds:?}");

    // The builder container dies; the next save brings it back and builds.
    let container = format!("{}-buildstatic-1", stack.project);
    engine
        .block_on(engine.docker.kill_container(&container, None::<bollard::query_parameters::KillContainerOptions>))
        .expect("kill buildstatic");
    stack.write("assets/legacy/_variables.scss", "$brand-colour: #abcdef;\n$text-colour: #000;\n$gutter: 20px;\n");
    // (Its build shell went with it: a notice about that may come first.)
    watch.next(
        |e| e["event"] == "notice" && e["message"].as_str().is_some_and(|m| m.contains("bringing it back")),
        "a notice about the lost container",
    );
    let build = watch.build_of("legacy");
    assert_eq!(build["ok"], true, "{build}");
    let css = std::fs::read_to_string(stack.dir.path().join("static/css/legacy.css")).expect("css");
    assert!(css.contains("#abcdef"), "{css}");
}

#[test]
fn poll_mode_watches_without_inotify() {
    let engine = require_engine!();
    base_images();
    let (stack, port) = demo(engine, "watch-poll", false);
    stack.ok(&["up"]);
    let watch = Watch::start(&stack, &["--poll"]);
    stack.write("assets/legacy/_variables.scss", "$brand-colour: #654321;\n$text-colour: #000;\n$gutter: 20px;\n");
    assert_eq!(watch.build_of("legacy")["ok"], true);
    assert!(served(port, "/static/css/legacy.css").contains("#654321"));
}

#[test]
fn a_wedged_worker_is_killed_and_restarted_and_the_next_save_builds() {
    let engine = require_engine!();
    base_images();
    let (stack, port) = demo(engine, "watch-wedge", false);
    // The sassc rule served by a worker that hangs on any path with
    // "wedge" in it, with a 2 s timeout.
    stack.write(
        "wedge-worker.sh",
        "while IFS= read -r f; do\n  case \"$f\" in *wedge*) sleep 600 ;; esac\n  \
         mkdir -p static/css && sassc --style compressed assets/legacy/legacy.scss static/css/legacy.css 2>&1\n  \
         echo \"$DMP_DONE $?\"\ndone\n",
    );
    let stack_file = std::fs::read_to_string(stack.dir.path().join("dmp.yml")).expect("stack file");
    let legacy = "      watch: [\"assets/legacy/**/*.scss\"]\n";
    assert!(stack_file.contains(legacy), "the demo's legacy rule changed");
    stack.write(
        "dmp.yml",
        &stack_file.replacen(legacy, &format!("{legacy}      serve: sh wedge-worker.sh\n      timeout: 2s\n"), 1),
    );
    stack.ok(&["up"]);
    let buildstatic = stack.container("buildstatic");
    let count = |what: &str| buildstatic.processes().iter().filter(|(_, c)| c.starts_with(what)).count();
    let watch = Watch::start(&stack, &[]);
    assert_eq!(count("sh wedge-worker.sh"), 1, "{:?}", buildstatic.processes());

    let good_css = served(port, "/static/css/legacy.css");
    stack.write("assets/legacy/wedge.scss", "// hangs the worker\n");
    let failed = watch.build_of("legacy");
    assert_eq!(failed["ok"], false, "{failed}");
    let output = failed["output"].as_str().expect("output");
    assert!(output.contains("no answer from its worker in 2 s; killed it"), "{output}");
    assert_eq!(served(port, "/static/css/legacy.css"), good_css, "the last good output went");
    assert_eq!(count("sleep 600"), 0, "the wedged worker's child survived: {:?}", buildstatic.processes());
    assert_eq!(count("sh wedge-worker.sh"), 1, "not restarted: {:?}", buildstatic.processes());

    // The next save builds, in the new worker (no notice of a lost one).
    stack.write("assets/legacy/_variables.scss", "$brand-colour: #fedcba;\n$text-colour: #000;\n$gutter: 20px;\n");
    let build = watch.next(|e| e["event"] == "build" || e["event"] == "notice", "the next build");
    assert_eq!((build["event"].as_str(), build["ok"].as_bool()), (Some("build"), Some(true)), "{build}");
    assert!(served(port, "/static/css/legacy.css").contains("#fedcba"));
}
