//! Issue 14's classes that are not a single bad input in `tests/corpus`:
//! big stacks (ordering time, Engine query sizes), `-f` naming a
//! directory, and commands on a stack that is down.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::support::{StackDir, dmp_in, require_engine, text};

/// `n` services in a chain, each depending on the next by name (the worst
/// order for ordering by repeated passes).
fn chain(n: usize) -> String {
    let mut yaml = String::from("services:\n");
    for i in 0..n {
        writeln!(yaml, "  s{i:05}:\n    image: dmp-test-no-such-image\n    pull_policy: never").expect("a String");
        if i + 1 < n {
            writeln!(yaml, "    depends_on: [s{:05}]", i + 1).expect("a String");
        }
    }
    yaml
}

#[test]
fn a_five_thousand_service_chain_is_ordered_in_a_moment() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("dmp.yml"), chain(5_000)).expect("write");
    let started = Instant::now();
    let output = dmp_in(dir.path(), &["config", "--services"], &[]);
    let took = started.elapsed();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let services = text(&output.stdout);
    assert_eq!(services.lines().count(), 5_000);
    // 45 s before; a debug build on a busy machine takes a few seconds.
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[test]
fn thousands_of_services_reach_the_real_error_not_a_uri_too_long() {
    let engine = require_engine!();
    let stack = StackDir::new(engine, "many", &chain(3_000), &[]);
    let output = stack.dmp(&["up", "--no-wait"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.to_lowercase().contains("uri too long"), "{stderr}");
    assert!(stderr.contains("dmp-test-no-such-image"), "{stderr}");
    stack.assert_no_state();
}

#[test]
fn a_directory_given_with_f_is_called_a_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("stack")).expect("mkdir");
    let output = dmp_in(dir.path(), &["-f", "stack", "config"], &[]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("it is a directory, not a file"), "{stderr}");
    assert_eq!(stderr.matches("it is a directory").count(), 1, "the cause once: {stderr}");
}

#[test]
fn logs_stop_and_restart_on_a_stack_that_is_down_say_so() {
    let engine = require_engine!();
    let stack = StackDir::new(engine, "down", "services:\n  web:\n    image: a\n", &[]);
    for command in [&["logs"][..], &["logs", "web"], &["stop"], &["restart"]] {
        let output = stack.dmp(command);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{command:?}: {stderr}");
        assert!(stderr.contains("is down") && stderr.contains("dmp up"), "{command:?}: {stderr}");
    }
}
