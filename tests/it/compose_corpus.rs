//! The real-world corpus (`tests/compose-corpus/`): for every case, `dmp
//! config --format json` and Compose v2's `config --format json` (the
//! compose-go oracle, never Compose v1) are run with the same project name,
//! arguments and environment, and compared key by key.
//!
//! A ratchet: `KNOWN_DIFFERENCES` lists the cases that still differ. The
//! test fails on a difference in a case not listed, and on a listed case
//! that now agrees, so the list only shrinks. `DMP_CORPUS_BLESS=1` rewrites
//! the list from this run (review the diff before committing it);
//! `DMP_CORPUS_VERBOSE=1` prints every difference, listed cases too.
//!
//! Neither tool talks to an Engine here: Compose gets a `DOCKER_HOST` that
//! does not exist, and `config` works without one.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{repo_path, text};

/// The only normalisation: what docs/commands.md lists as intended.
/// A port without an address binds to 127.0.0.1 in dmp, to every address
/// in Compose.
fn normalise_compose(value: &mut Value) {
    let Some(services) = value.get_mut("services").and_then(Value::as_object_mut) else { return };
    for service in services.values_mut() {
        let Some(ports) = service.get_mut("ports").and_then(Value::as_array_mut) else { continue };
        for port in ports {
            if let Some(port) = port.as_object_mut() {
                port.entry("host_ip").or_insert_with(|| Value::String("127.0.0.1".into()));
            }
        }
    }
}

/// Whether Compose v2 must be there (as under `scripts/test.sh` and CI).
fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true") || std::env::var("DMP_REQUIRE_DOCKER").is_ok_and(|v| v == "1")
}

/// Compose v2's binary: `DMP_COMPOSE_V2`, else where
/// scripts/ensure-trixie-tools.sh puts it.
pub fn compose_v2() -> Option<PathBuf> {
    let path = std::env::var_os("DMP_COMPOSE_V2")
        .map_or_else(|| PathBuf::from("/opt/dmp-trixie/bin/docker-compose"), PathBuf::from);
    let works = Command::new(&path).arg("version").output().is_ok_and(|o| o.status.success());
    if works {
        return Some(path);
    }
    assert!(!required(), "Compose v2 is required at {} (scripts/ensure-trixie-tools.sh fetches it)", path.display());
    eprintln!("SKIPPED: no Compose v2 at {} (scripts/ensure-trixie-tools.sh fetches it)", path.display());
    None
}

/// A stack directory with the arguments and environment both tools get.
pub struct Case {
    pub name: String,
    pub dir: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Case {
    pub fn read(dir: &Path) -> Self {
        let read = |file: &str| std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        let args = shell_words::split(read("args").trim()).expect("args: shell words");
        let env = read("case.env")
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (k, v) = l.split_once('=').expect("case.env: KEY=VALUE lines");
                (k.to_owned(), v.to_owned())
            })
            .collect();
        let name = dir.file_name().expect("case name").to_string_lossy().into_owned();
        Self { name, dir: dir.to_owned(), args, env }
    }

    /// Runs `program [args] config --format json` in a copy of the case with
    /// only the case's environment; the JSON, or the error's first line.
    pub fn config(&self, program: &Path, work: &Path) -> Result<Value, String> {
        self.config_text(program, work).map(|(value, _)| value)
    }

    /// As `config`, with the text as printed.
    fn config_text(&self, program: &Path, work: &Path) -> Result<(Value, String), String> {
        let mut command = Command::new(program);
        command
            .current_dir(work)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", "/home/corpus")
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(["-p", &format!("corpus-{}", self.name)])
            .args(&self.args)
            .args(["config", "--format", "json"]);
        let output = command.output().unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
        if !output.status.success() {
            let stderr = text(&output.stderr);
            // The first line that says something: not a warning, not a
            // bare diagnostic code (`dmp::compose::invalid`).
            let message = stderr
                .lines()
                .map(|l| l.trim().trim_start_matches('×').trim())
                .find(|l| {
                    !l.is_empty()
                        && !l.contains("level=warning")
                        && !l.starts_with("warning:")
                        && (!l.starts_with("dmp::") || l.contains(' '))
                })
                .unwrap_or("(no message)");
            return Err(message.chars().take(160).collect());
        }
        let value = serde_json::from_slice(&output.stdout).map_err(|e| format!("not JSON: {e}"))?;
        Ok((value, text(&output.stdout)))
    }
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// One differing key: its path, dmp's value, Compose's value.
pub type Difference = (String, String, String);

fn show(value: Option<&Value>) -> String {
    let text = value.map_or_else(|| "(absent)".to_owned(), Value::to_string);
    if text.chars().count() > 120 { format!("{}…", text.chars().take(120).collect::<String>()) } else { text }
}

fn differences(path: &str, dmp: Option<&Value>, compose: Option<&Value>, out: &mut Vec<Difference>) {
    match (dmp, compose) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                differences(&child, a.get(key), b.get(key), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                differences(&format!("{path}[{i}]"), Some(x), Some(y), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push((path.to_owned(), show(a), show(b))),
    }
}

pub enum Outcome {
    Agree,
    Differ(Vec<Difference>),
}

impl Outcome {
    /// The differences, one `path: dmp … vs Compose …` a line.
    pub fn describe(&self) -> String {
        match self {
            Self::Agree => String::new(),
            Self::Differ(found) => found.iter().fold(String::new(), |mut out, (path, dmp, v2)| {
                let _ = writeln!(out, "  {path}\n    dmp:     {dmp}\n    Compose: {v2}");
                out
            }),
        }
    }
}

/// Both tools' `config` of a copy of the case, compared key by key (and
/// dmp's YAML read back by Compose).
pub fn compare(case: &Case, compose: &Path) -> Outcome {
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join(&case.name);
    copy_tree(&case.dir, &dir);
    let hide = |e: String| e.replace(&work.path().display().to_string(), "…");
    let v2 = case.config_text(compose, &dir).map_err(hide);
    let dmp = case.config_text(&crate::support::dmp_bin(), &dir).map_err(hide);
    match (dmp, v2) {
        (Err(_), Err(_)) => Outcome::Agree,
        (Ok(_), Err(why)) => {
            Outcome::Differ(vec![("(whole file)".into(), "accepted".into(), format!("rejected: {why}"))])
        }
        (Err(why), Ok(_)) => {
            Outcome::Differ(vec![("(whole file)".into(), format!("rejected: {why}"), "accepted".into())])
        }
        (Ok((dmp, dmp_text)), Ok((mut v2, v2_text))) => {
            let as_printed = v2.clone();
            normalise_compose(&mut v2);
            let mut found = Vec::new();
            differences("", Some(&dmp), Some(&v2), &mut found);
            let work = work.path().display().to_string();
            for (_, a, b) in &mut found {
                *a = a.replace(&work, "…");
                *b = b.replace(&work, "…");
            }
            if found.is_empty() && v2 == as_printed && dmp_text.trim_end() != v2_text.trim_end() {
                // Nothing normalised: the JSON must be Compose's byte for byte
                // (key order, indentation, Go's escaping).
                let line = dmp_text.lines().zip(v2_text.lines()).position(|(a, b)| a != b).unwrap_or(0);
                let at = |text: &str| text.lines().nth(line).unwrap_or("(end)").trim().to_owned();
                found.push((format!("(JSON text, line {})", line + 1), at(&dmp_text), at(&v2_text)));
            }
            if found.is_empty() {
                found = read_back(case, compose, &dir, &v2);
            }
            if found.is_empty() { Outcome::Agree } else { Outcome::Differ(found) }
        }
    }
}

/// dmp's YAML is a stack file: Compose v2 reads it back to what it made
/// of the original.
fn read_back(case: &Case, compose: &Path, dir: &Path, expected: &Value) -> Vec<Difference> {
    let output = Command::new(env!("CARGO_BIN_EXE_dmp"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/home/corpus")
        .envs(case.env.iter().map(|(k, v)| (k, v)))
        .args(["-p", &format!("corpus-{}", case.name)])
        .args(&case.args)
        .arg("config")
        .output()
        .expect("running dmp");
    assert!(output.status.success(), "{}: dmp config (YAML) failed: {}", case.name, text(&output.stderr));
    std::fs::write(dir.join("dmp-rendered.yaml"), &output.stdout).expect("write the rendered file");
    let rendered = Case { name: case.name.clone(), dir: dir.to_owned(), args: vec![], env: vec![] };
    let mut args = vec!["-f".to_owned(), "dmp-rendered.yaml".to_owned(), "--profile".to_owned(), "*".to_owned()];
    args.extend(case.args.iter().filter(|a| a.starts_with("--env-file")).cloned());
    let rendered = Case { args, ..rendered };
    let mut found = Vec::new();
    match rendered.config(compose, dir) {
        Err(why) => {
            let why = format!("rejected: {why}");
            found.push(("(dmp's YAML read by Compose)".into(), "(its YAML)".into(), why));
        }
        Ok(mut back) => {
            normalise_compose(&mut back);
            differences("", Some(&back), Some(expected), &mut found);
            for (path, _, _) in &mut found {
                *path = format!("{path} (dmp's YAML read by Compose, vs the original)");
            }
        }
    }
    found
}

fn known_differences(path: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (case, reason) = l.split_once(':').unwrap_or((l, ""));
            (case.trim().to_owned(), reason.trim().to_owned())
        })
        .collect()
}

#[test]
fn corpus_resolves_as_compose_v2_does() {
    let Some(compose) = compose_v2() else { return };
    let root = repo_path("tests/compose-corpus");
    let known_path = root.join("KNOWN_DIFFERENCES");
    let known = known_differences(&known_path);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/compose-corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    for listed in known.keys() {
        assert!(root.join(listed).is_dir(), "KNOWN_DIFFERENCES names {listed}, which is not a case");
    }

    let mut report = String::new();
    let mut failed = 0;
    let mut agreeing = 0;
    let mut blessed = String::new();
    // `DMP_CORPUS_VERBOSE=1`: every difference, listed cases too.
    let verbose = std::env::var("DMP_CORPUS_VERBOSE").is_ok_and(|v| v == "1");
    for dir in &cases {
        let case = Case::read(dir);
        match compare(&case, &compose) {
            Outcome::Agree => {
                agreeing += 1;
                if known.contains_key(&case.name) {
                    failed += 1;
                    let _ =
                        writeln!(report, "{}: agrees with Compose v2 now; remove it from KNOWN_DIFFERENCES", case.name);
                }
            }
            Outcome::Differ(found) => {
                let (path, dmp, v2) = &found[0];
                let _ = writeln!(blessed, "{}: {path} (dmp {dmp} vs Compose {v2})", case.name);
                let listed = known.contains_key(&case.name);
                if !listed || verbose {
                    let _ = writeln!(report, "{}: differs from Compose v2 in {} keys:", case.name, found.len());
                    report.push_str(&Outcome::Differ(found.clone()).describe());
                }
                if !listed {
                    failed += 1;
                }
            }
        }
    }
    eprintln!(
        "compose corpus: {} cases, {agreeing} agree with Compose v2, {} differ",
        cases.len(),
        cases.len() - agreeing
    );
    if std::env::var("DMP_CORPUS_BLESS").is_ok_and(|v| v == "1") {
        let header = "# Cases where `dmp config` still differs from Compose v2, one a line:\n\
                      # `case: first differing key (dmp … vs Compose …)`. Only ever shrinks.\n";
        std::fs::write(&known_path, format!("{header}{blessed}")).expect("write KNOWN_DIFFERENCES");
        return;
    }
    if verbose {
        eprintln!("{report}");
    }
    assert!(failed == 0, "{failed} corpus cases fail the ratchet:\n{report}");
}
