//! Command-line behaviour that needs no Engine: usage, unknown names, bad
//! inputs caught before anything reaches the Engine, and a missing Engine.

use crate::support::{dmp, shared_dir, text};

#[test]
fn unknown_image_names_list_the_real_ones_without_touching_the_engine() {
    // An Engine address that cannot answer: the name check must come first.
    let output = dmp(&["images", "build", "nginx"], &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("there is no image named \"nginx\""), "{stderr}");
    for name in ["wsgi", "wsgi-antivirus", "http-headless", "http-frontend", "http-buildstatic"] {
        assert!(stderr.contains(name), "{name} missing from: {stderr}");
    }
}

#[test]
fn a_missing_engine_is_one_sentence_with_the_fix() {
    let output = dmp(&["images", "build"], &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")]);
    assert_eq!(output.status.code(), Some(69), "the documented code for a missing Engine");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("the Docker Engine is not running"), "{stderr}");
    assert!(stderr.contains("scripts/ensure-docker.sh"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_bad_dockerignore_names_file_and_line_before_the_engine() {
    let dir = shared_dir(
        &[
            ("VERSION", "0.0.1\n"),
            ("one/Dockerfile", "FROM debian:bookworm-slim\n"),
            (".dockerignore", "# ok\n*.md\n[oops\n"),
        ],
        false,
    );
    let output = dmp(
        &["images", "build", "--images-dir", &dir.path().to_string_lossy()],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains(".dockerignore:3: \"[oops\" is not a valid pattern"), "{stderr}");
}

#[test]
fn an_images_dir_without_version_says_what_to_write() {
    let dir = shared_dir(&[("one/Dockerfile", "FROM debian:bookworm-slim\n")], false);
    let output = dmp(&["images", "build", "--images-dir", &dir.path().to_string_lossy()], &[]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("VERSION: no version"), "{stderr}");
}

#[test]
fn usage_errors_exit_2_and_help_lists_the_images() {
    let output = dmp(&["images", "build", "--no-such-flag"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let help = dmp(&["images", "build", "--help"], &[]);
    assert!(help.status.success());
    assert!(text(&help.stdout).contains("http-buildstatic"));
}

#[test]
fn the_project_name_comes_from_the_directory_sanitised() {
    let dir = shared_dir(&[("My App!/compose.yaml", "services:\n  web:\n    image: example/web\n")], false);
    let app = dir.path().join("My App!");
    let output = crate::support::dmp_in(&app, &["config", "--json"], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let config: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(config["name"], "myapp");
    // -p wins, and is checked.
    let named = crate::support::dmp_in(&app, &["-p", "other", "config", "--json"], &[]);
    assert!(text(&named.stdout).contains("\"name\": \"other\""));
    let bad = crate::support::dmp_in(&app, &["-p", "Bad Name", "config"], &[]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("project name \"Bad Name\""), "{}", text(&bad.stderr));
}
