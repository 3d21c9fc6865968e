//! `pull_policy: daily`, `weekly`, `every_<duration>`: an image older than
//! the window is pulled again, as in Compose; offline (as here, with no
//! registry) the local image runs, with a warning.

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
