//! Issue 14's classes that are not a single bad input in `tests/corpus`:
//! big stacks (ordering time, Engine query sizes), `-f` naming a
//! directory, commands on a stack that is down, and the signal backstop
//! (a signal ends dmp even in a read that blocks).

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
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

/// Runs `dmp ARGS` in `dir` with a named pipe as the docker CLI's
/// `config.json`, which dmp reads with a plain blocking read when it looks
/// for the Engine: once dmp has opened the pipe (this side's open returns
/// then), it waits in that read, where the async runtime cannot interrupt
/// it. Sends `signal` and returns how dmp ended (killed after 20 s).
fn signal_while_blocked(dir: &Path, args: &[&str], signal: &str) -> (std::process::Output, Duration) {
    let config = dir.join("docker-config");
    std::fs::create_dir(&config).expect("mkdir");
    let pipe = config.join("config.json");
    assert!(Command::new("mkfifo").arg(&pipe).status().expect("mkfifo").success());
    let child = Command::new(crate::support::dmp_bin())
        .current_dir(dir)
        .args(args)
        .env("DOCKER_CONFIG", &config)
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_CONTEXT")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dmp");
    // Our end of the pipe opens once dmp has opened its end; kept open (and
    // silent), it keeps dmp's read waiting.
    let (opened, writer) = std::sync::mpsc::channel();
    let to_open = pipe.clone();
    std::thread::spawn(move || {
        let _ = opened.send(std::fs::OpenOptions::new().write(true).open(to_open));
    });
    let writer = writer.recv_timeout(Duration::from_secs(20));
    if writer.is_err() {
        // Unblock the opening thread, then fail with what dmp said.
        let _ = std::fs::File::open(&pipe);
    }
    let status = Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let signalled = Instant::now();
    let pid = child.id().to_string();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let Ok(output) = finished.recv_timeout(Duration::from_secs(20)) else {
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
        panic!("dmp {args:?} still ran 20 s after SIG{signal}");
    };
    let took = signalled.elapsed();
    drop(writer);
    (output.expect("waiting for dmp"), took)
}

#[test]
fn sigterm_and_ctrl_c_end_dmp_when_it_is_stuck_in_a_blocking_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("dmp.yml"), "services:\n  web:\n    image: dmp-test-no-such-image\n")
        .expect("write");
    // A command that changes the stack says that the next `up` finishes it.
    let (output, took) = signal_while_blocked(dir.path(), &["up"], "TERM");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "after {took:?}: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    // The backstop waits 0.8 s; only a hang (or a machine stalled for
    // seconds) exceeds this.
    assert!(took < Duration::from_secs(5), "took {took:?}");

    std::fs::remove_dir_all(dir.path().join("docker-config")).expect("rm");
    let (output, took) = signal_while_blocked(dir.path(), &["ps"], "INT");
    assert_eq!(output.status.code(), Some(130), "after {took:?}: {}", text(&output.stderr));
    assert!(took < Duration::from_secs(5), "took {took:?}");
}
