//! Compose v2's behaviours that `up` follows: `pull_policy` with a window
//! (an image older than it is pulled again; offline, as here with no
//! registry, the local image runs with a warning) and
//! `depends_on.restart`.

use serde_json::Value;

use crate::support::{StackDir, base_images, images_version, require_engine, text};

#[test]
fn an_image_older_than_its_pull_window_is_pulled_again_and_a_fresh_one_is_not() {
    let engine = require_engine!();
    base_images();
    let version = images_version();
    let stack = StackDir::new(
        engine,
        "pullwindow",
        &format!(
            r#"services:
  stale:
    image: dmp/wsgi:{version}
    command: ["dmp-idle"]
    healthcheck: {{ disable: true }}
    pull_policy: every_1s
  fresh:
    image: dmp/wsgi:{version}
    command: ["dmp-idle"]
    healthcheck: {{ disable: true }}
    pull_policy: every_8760h
"#
        ),
        &[],
    );
    // The base image was tagged at least a second ago by now.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let output = stack.dmp(&["up", "--no-wait"]);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "the local image runs when the pull fails: {stderr}");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("stale: pulling") && warnings[0].contains("(pull_policy: every_1s) failed"),
        "{stderr}"
    );
    assert_eq!(stack.containers().len(), 2);
}

fn stack_with_restart(db_setting: &str) -> String {
    let version = images_version();
    format!(
        r#"services:
  db:
    image: dmp/wsgi:{version}
    command: ["dmp-idle"]
    healthcheck: {{ disable: true }}
    environment: {{ SETTING: {db_setting} }}
  follows:
    image: dmp/wsgi:{version}
    command: ["dmp-idle"]
    healthcheck: {{ disable: true }}
    depends_on:
      db: {{ condition: service_started, restart: true }}
  ignores:
    image: dmp/wsgi:{version}
    command: ["dmp-idle"]
    healthcheck: {{ disable: true }}
    depends_on: [db]
"#
    )
}

#[test]
fn a_dependency_recreated_by_up_restarts_the_services_that_ask_for_it() {
    let engine = require_engine!();
    base_images();
    let stack = StackDir::new(engine, "deprestart", &stack_with_restart("one"), &[]);
    stack.ok(&["up"]);
    let started = |service: &str| stack.container(service).started_at();
    let (follows, ignores) = (started("follows"), started("ignores"));

    stack.write_stack(&stack_with_restart("two"));
    let report: Value = serde_json::from_str(&stack.ok(&["up", "--json"])).expect("up --json");
    let action = |service: &str| {
        report["services"].as_array().expect("services").iter().find(|s| s["service"] == service).expect("listed")
            ["action"]
            .as_str()
            .expect("an action")
            .to_owned()
    };
    assert_eq!(action("db"), "recreated");
    assert_eq!(action("follows"), "restarted", "{report}");
    assert_eq!(action("ignores"), "unchanged", "{report}");
    assert!(started("follows") > follows, "restarted");
    assert_eq!(started("ignores"), ignores, "restart: false leaves it alone");

    let again = stack.ok(&["up", "--json"]);
    assert!(!again.contains("restarted") && !again.contains("recreated"), "nothing changed: {again}");
}
