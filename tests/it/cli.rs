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

#[test]
fn bash_completion_offers_the_commands_and_their_flags() {
    let output = dmp(&["completions", "bash"], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let script = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(script.path(), &output.stdout).expect("writing the script");
    // What bash does on `dmp u<TAB>` and `dmp up --fo<TAB>`.
    let complete = |words: &str| {
        let probe = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); _dmp dmp \"${{COMP_WORDS[-1]}}\" \"${{COMP_WORDS[-2]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.path().display()
        );
        let out = std::process::Command::new("bash").args(["-c", &probe]).output().expect("running bash");
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let commands = complete("dmp u");
    assert!(commands.lines().any(|l| l == "up"), "{commands}");
    let flags = complete("dmp up --force");
    assert!(flags.lines().any(|l| l == "--force-recreate"), "{flags}");
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let output = dmp(&["completions", shell], &[]);
        assert!(output.status.success(), "{shell}: {}", text(&output.stderr));
        assert!(text(&output.stdout).contains("force-recreate"), "{shell}");
    }
}

#[test]
fn the_man_page_has_every_command_with_its_options() {
    let output = dmp(&["man"], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let page = text(&output.stdout);
    assert!(page.contains(".TH dmp 1"), "{}", &page[..200.min(page.len())]);
    for section in [".SS \"dmp up\"", ".SS \"dmp watch\"", ".SS \"dmp completions\"", "force\\-recreate"] {
        assert!(page.contains(section), "{section} missing");
    }
}

#[test]
fn generated_output_into_a_closed_pipe_ends_quietly() {
    let probe =
        format!("{} completions bash | head -c 1 >/dev/null; echo ${{PIPESTATUS[0]}}", env!("CARGO_BIN_EXE_dmp"));
    let out = std::process::Command::new("bash").args(["-c", &probe]).output().expect("running bash");
    assert_eq!(text(&out.stdout).trim(), "0", "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("panicked"), "{}", text(&out.stderr));
}

#[test]
fn init_as_root_in_a_users_checkout_leaves_the_files_to_the_user() {
    use std::os::unix::fs::MetadataExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(".env.example"), "AUTO_START_SERVER=false\n").expect("write");
    let Ok(()) = std::os::unix::fs::chown(dir.path(), Some(23_456), Some(23_456)) else {
        eprintln!("SKIPPED: not root, cannot give the checkout to another user");
        return;
    };
    // The Engine is not needed for the files: they are written first.
    let _ = crate::support::dmp_in(dir.path(), &["init"], &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")]);
    for file in [".env", "dmp.yml"] {
        let meta = std::fs::metadata(dir.path().join(file)).expect(file);
        assert_eq!((meta.uid(), meta.gid()), (23_456, 23_456), "{file} belongs to the checkout's owner");
    }
    let template = std::fs::read_to_string(dir.path().join("dmp.yml")).expect("dmp.yml");
    assert!(template.contains("# watch:") && template.contains("sassc"), "example watch rules: {template}");
}
