//! The bad-input corpus (`tests/corpus/`): every case is a small app
//! directory that `dmp up` must reject with one clear message (the file,
//! the line where there is one, and the fix), a non-zero exit, no panic, and
//! nothing created on the Engine (containers, networks, volumes, images).
//! Each case's `expected` lists fragments the message must contain.
//!
//! Cases that must get past the image step use `${DMP_CORPUS_IMAGE}` (an
//! idle image without a health check) or `dmp/wsgi:${DMP_CORPUS_VERSION}`;
//! `${DMP_CORPUS_UDP_PORT}` is a UDP port this test holds.

use std::fmt::Write as _;
use std::path::Path;

use crate::support::{PROJECT_LABEL, dmp_in, images_version, repo_path, require_engine, text};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read case") {
        let entry = entry.expect("entry");
        if entry.file_name() != "expected" {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }
}

/// Containers, networks and volumes labelled with `project`, and images
/// named after it.
fn engine_objects(engine: &crate::support::TestEngine, project: &str) -> usize {
    use std::collections::HashMap;
    let filters = HashMap::from([("label".to_owned(), vec![format!("{PROJECT_LABEL}={project}")])]);
    let docker = &engine.docker;
    engine.block_on(async {
        let options =
            bollard::query_parameters::ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
        let containers = docker.list_containers(Some(options)).await.expect("list containers").len();
        let options = bollard::query_parameters::ListNetworksOptionsBuilder::default().filters(&filters).build();
        let networks = docker.list_networks(Some(options)).await.expect("list networks").len();
        let options = bollard::query_parameters::ListVolumesOptionsBuilder::default().filters(&filters).build();
        let volumes = docker.list_volumes(Some(options)).await.expect("list volumes").volumes.unwrap_or_default().len();
        let references = HashMap::from([("reference".to_owned(), vec![format!("{project}*")])]);
        let options = bollard::query_parameters::ListImagesOptionsBuilder::default().filters(&references).build();
        let images = docker.list_images(Some(options)).await.expect("list images").len();
        containers + networks + volumes + images
    })
}

#[test]
fn every_bad_input_is_one_clear_error_and_changes_nothing() {
    let engine = require_engine!();
    let corpus = repo_path("tests/corpus");
    let mut cases: Vec<_> = std::fs::read_dir(&corpus).expect("corpus").map(|e| e.expect("entry").path()).collect();
    cases.sort();
    let work = tempfile::tempdir().expect("tempdir");

    // One case is generated: a 6 MB file with an error at its very end.
    let huge = work.path().join("huge-input");
    std::fs::create_dir_all(&huge).expect("mkdir");
    let mut yaml = String::from("services:\n  web:\n    image: a\n    labels:\n");
    for i in 0..60_000 {
        writeln!(yaml, "      k{i}: {}", "x".repeat(90)).expect("writing to a String");
    }
    yaml.push_str("  broken: [\n");
    std::fs::write(huge.join("dmp.yml"), yaml).expect("write");
    std::fs::write(huge.join("expected"), "dmp.yml:60005:11\nunclosed bracket\n").expect("write");
    cases.push(huge);
    cases.extend(generated_cases(work.path()));
    assert!(cases.len() >= 40, "the corpus has only {} cases", cases.len());

    let version = images_version();
    let image = format!("dmp/http-buildstatic:{version}");
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("a UDP port");
    let udp_port = udp.local_addr().expect("address").port().to_string();
    let env =
        [("DMP_CORPUS_IMAGE", image.as_str()), ("DMP_CORPUS_VERSION", &version), ("DMP_CORPUS_UDP_PORT", &udp_port)];
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().expect("a name").to_string_lossy().into_owned();
        // The directory name is the project name: `name:` and -p are the
        // cases' own business.
        let project = format!("corpus-{}-{name}", std::process::id());
        let dir = work.path().join(&project);
        let expected = std::fs::read_to_string(case.join("expected")).expect("expected");
        // Generated cases are made where they run: a named pipe cannot be
        // copied (reading it would wait for a writer).
        if case.starts_with(work.path().join("generated")) {
            std::fs::rename(case, &dir).expect("move a generated case");
        } else {
            copy_dir(case, &dir);
        }
        let output = dmp_in(&dir, &["up", "--timeout", "30"], &env);
        let stderr = text(&output.stderr);
        let mut problems = Vec::new();
        if output.status.code() != Some(1) {
            problems.push(format!("exit code {:?}", output.status.code()));
        }
        for fragment in expected.lines().filter(|l| !l.is_empty()) {
            if !stderr.contains(fragment) {
                problems.push(format!("missing {fragment:?}"));
            }
        }
        // One short paragraph: quoted text clipped, nothing printed whole.
        if stderr.len() > 3000 || stderr.lines().count() > 30 || stderr.lines().any(|l| l.chars().count() > 400) {
            problems.push(format!("a long message ({} bytes, {} lines)", stderr.len(), stderr.lines().count()));
        }
        if !stderr.contains("help:") {
            problems.push("no fix (help:) given".into());
        }
        if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
            problems.push("a panic".into());
        }
        if engine_objects(engine, &project) != 0 {
            problems.push("it left containers, networks or volumes".into());
        }
        if !problems.is_empty() {
            failures.push(format!("{name}: {}\n{stderr}", problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n\n{}", failures.len(), cases.len(), failures.join("\n\n"));
}

/// Cases a directory cannot hold (named pipes) or should not (megabytes):
/// made here, each a directory with `expected`.
fn generated_cases(work: &Path) -> Vec<std::path::PathBuf> {
    let stack = "services:\n  web:\n    image: \"a${TAG}\"\n";
    let mut cases = Vec::new();
    let mut case = |name: &str, files: &[(&str, &str)], make: &dyn Fn(&Path), expected: &str| {
        let dir = work.join("generated").join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        for (file, text) in files {
            std::fs::write(dir.join(file), text).expect("write");
        }
        make(&dir);
        std::fs::write(dir.join("expected"), expected).expect("write");
        cases.push(dir);
    };
    named_pipe_cases(&mut case, stack);
    // (A `.env` directory is passed over, as Compose passes over it.)
    case(
        "env-file-is-a-directory",
        &[("dmp.yml", "services:\n  web:\n    image: a\n    env_file: [{path: config, required: false}]\n")],
        &|d| std::fs::create_dir(d.join("config")).expect("mkdir"),
        "dmp.yml:4:16\ncannot read env_file config: it is a directory, not a file\n",
    );
    case(
        "dotenv-too-big",
        &[("dmp.yml", stack)],
        &|d| {
            let file = std::fs::File::create(d.join(".env")).expect("create");
            file.set_len(17 * 1024 * 1024).expect("grow");
        },
        ".env: it is 17 MiB, more than the 16 MiB dmp reads\n",
    );
    case(
        "dotenv-huge-bad-line",
        &[("dmp.yml", stack)],
        &|d| std::fs::write(d.join(".env"), format!("A=1\nTAG=\"{}\n", "y".repeat(10_000_000))).expect("write"),
        ".env:2: unterminated quoted value\n…\n",
    );
    case(
        "dotenv-nul-byte",
        &[("dmp.yml", stack)],
        &|d| std::fs::write(d.join(".env"), "TAG=a\0b\n").expect("write"),
        ".env:1: the value of TAG holds a NUL byte\n",
    );
    case(
        "yaml-long-line",
        &[],
        &|d| {
            let text = format!("services:\n  web:\n    image: a\n    labels: {{x: {}, z: [\n", "y".repeat(50_000));
            std::fs::write(d.join("dmp.yml"), text).expect("write");
        },
        "dmp.yml:4:\nunclosed bracket\n",
    );
    case(
        "yaml-too-deep",
        &[],
        &|d| {
            let text = format!("services:\n  web:\n    image: a\n    labels: {}{}\n", "[".repeat(70), "]".repeat(70));
            std::fs::write(d.join("dmp.yml"), text).expect("write");
        },
        "dmp.yml:4:\nthe YAML nests deeper than dmp reads\n",
    );
    case(
        "depends-on-long-cycle",
        &[],
        &|d| {
            let mut text = String::from("services:\n");
            for i in 0..3000 {
                writeln!(
                    text,
                    "  service-with-a-long-name-{i}:\n    image: a\n    depends_on: [service-with-a-long-name-{}]",
                    (i + 1) % 3000
                )
                .expect("writing to a String");
            }
            std::fs::write(d.join("dmp.yml"), text).expect("write");
        },
        "depend on each other in a cycle\nmore)\n",
    );
    cases
}

/// What the generated cases are made with: a name, files, a final touch
/// and the expected message fragments.
type MakeCase<'a> = dyn FnMut(&str, &[(&str, &str)], &dyn Fn(&Path), &str) + 'a;

/// Named pipes where dmp reads a file: refused by type, never opened.
fn named_pipe_cases(case: &mut MakeCase<'_>, stack: &str) {
    case(
        "dotenv-named-pipe",
        &[("dmp.yml", stack)],
        &|d| mkfifo(&d.join(".env")),
        ".env: it is a named pipe, not a file\n",
    );
    case(
        "env-file-named-pipe",
        &[("dmp.yml", "services:\n  web:\n    image: a\n    env_file: web.env\n")],
        &|d| mkfifo(&d.join("web.env")),
        "dmp.yml:4:15\ncannot read env_file web.env: it is a named pipe, not a file\n",
    );
    case(
        "dockerfile-named-pipe",
        &[("dmp.yml", "services:\n  web:\n    build: .\n")],
        &|d| mkfifo(&d.join("Dockerfile")),
        "service web builds from\nDockerfile: it is a named pipe, not a file\n",
    );
    case(
        "dockerignore-named-pipe",
        &[("dmp.yml", "services:\n  web:\n    build: .\n"), ("Dockerfile", "FROM debian:bookworm-slim\n")],
        &|d| mkfifo(&d.join(".dockerignore")),
        ".dockerignore: it is a named pipe, not a file\n",
    );
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}
