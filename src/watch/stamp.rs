//! Content stamps of asset rules: `up` skips a rule whose sources, command
//! and outputs are as they were after its last good build.
//!
//! A stamp is a SHA-256 over the rule's definition and the paths and
//! contents of the files it watches (plus `package-lock.json`, whose change
//! reinstalls the tools), never timestamps: a checkout, a copy or a clock
//! change leaves contents alone. Stamps live in the project, in `.dmp/`
//! (which ignores itself for git), one file per rule, written after each
//! good build by `up` and `watch`.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::Filters;
use crate::compose::model::WatchRule;

/// dmp's state directory in the project; watching never looks inside.
pub const STATE_DIR: &str = ".dmp";
const STAMPS: &str = "stamps";
/// Changing what goes into a stamp changes this, so old stamps never match.
const SCHEME: &str = "dmp asset stamp 1";
/// Every rule's implicit input: the tools the rules run come from it.
const LOCK_FILE: &str = "package-lock.json";

/// Why a rule builds, or that it need not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    UpToDate,
    /// No good build recorded yet.
    NeverBuilt,
    /// Its sources, command or outputs' names differ from the last good build.
    Changed,
    /// One of its declared outputs is gone.
    OutputMissing(String),
}

impl Decision {
    pub fn build(&self) -> bool {
        *self != Self::UpToDate
    }
}

/// Whether to build: the last good build's stamp against the sources' now,
/// and the first declared output that is missing, if any.
pub fn decide(last: Option<&str>, current: &str, missing_output: Option<&str>) -> Decision {
    match (last, missing_output) {
        (None, _) => Decision::NeverBuilt,
        (Some(last), _) if last != current => Decision::Changed,
        (Some(_), Some(output)) => Decision::OutputMissing(output.to_owned()),
        (Some(_), None) => Decision::UpToDate,
    }
}

/// The stamp of `rule` over `files` (path relative to the project, and
/// contents), in any order.
pub fn stamp(rule: &WatchRule, files: &[(String, Vec<u8>)]) -> String {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field(SCHEME.as_bytes());
    for text in [&rule.command, &rule.service] {
        field(text.as_bytes());
    }
    for list in [&rule.watch, &rule.ignore, &rule.output] {
        field(&(list.len() as u64).to_le_bytes());
        for item in list {
            field(item.as_bytes());
        }
    }
    let mut sorted: Vec<&(String, Vec<u8>)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, contents) in sorted {
        field(path.as_bytes());
        field(&Sha256::digest(contents));
    }
    hex(&hasher.finalize())
}

/// The files each rule watches now (by rule index; relative paths), from
/// one walk of the project that skips what watching ignores.
pub fn sources(root: &Path, filters: &Filters, rules: usize) -> Vec<Vec<String>> {
    let mut found = vec![Vec::new(); rules];
    let mut dirs = vec![PathBuf::new()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&dir)) else { continue };
        for entry in entries.flatten() {
            let rel = dir.join(entry.file_name());
            let Ok(kind) = entry.file_type() else { continue };
            if filters.ignored(&rel, kind.is_dir()) {
                continue;
            }
            if kind.is_dir() {
                dirs.push(rel);
            } else {
                for index in filters.rules_of(&rel) {
                    found[index].push(rel.to_string_lossy().into_owned());
                }
            }
        }
    }
    found
}

/// The stamp of `rule` with the current contents of its `sources` and of
/// the lock file.
pub fn current(root: &Path, rule: &WatchRule, sources: &[String]) -> String {
    let mut files: Vec<(String, Vec<u8>)> =
        sources.iter().map(|rel| (rel.clone(), std::fs::read(root.join(rel)).unwrap_or_default())).collect();
    if !sources.iter().any(|s| s == LOCK_FILE)
        && let Ok(lock) = std::fs::read(root.join(LOCK_FILE))
    {
        files.push((LOCK_FILE.to_owned(), lock));
    }
    stamp(rule, &files)
}

/// The first of the rule's declared outputs that does not exist (an empty
/// directory counts as missing).
pub fn missing_output<'a>(root: &Path, rule: &'a WatchRule) -> Option<&'a str> {
    rule.output.iter().map(String::as_str).find(|output| {
        let path = root.join(output);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => std::fs::read_dir(&path).map_or(true, |mut d| d.next().is_none()),
            Ok(_) => false,
            Err(_) => true,
        }
    })
}

fn stamp_path(root: &Path, rule: &WatchRule) -> PathBuf {
    let name: String =
        rule.name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    root.join(STATE_DIR).join(STAMPS).join(name)
}

/// The stamp of the rule's last good build.
pub fn last(root: &Path, rule: &WatchRule) -> Option<String> {
    std::fs::read_to_string(stamp_path(root, rule)).ok().map(|s| s.trim().to_owned())
}

/// Records a good build. A project dmp cannot write to only loses the
/// skipping, so a failure is logged, not raised.
pub fn record(root: &Path, rule: &WatchRule, stamp: &str) {
    let path = stamp_path(root, rule);
    let written = (|| {
        let state = root.join(STATE_DIR);
        std::fs::create_dir_all(path.parent().unwrap_or(&state))?;
        let ignore = state.join(".gitignore");
        if !ignore.exists() {
            std::fs::write(ignore, "# dmp's state: nothing here belongs in git\n*\n")?;
        }
        std::fs::write(&path, stamp)
    })();
    if let Err(e) = written {
        tracing::debug!(target: "dmp::watch", "cannot record the stamp of {} in {}: {e}", rule.name, path.display());
    }
}

/// Forgets the last good build (its output was replaced by a failed one).
pub fn forget(root: &Path, rule: &WatchRule) {
    let _ = std::fs::remove_file(stamp_path(root, rule));
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> WatchRule {
        WatchRule {
            name: "styles".into(),
            command: "sass in.scss out.css".into(),
            service: "buildstatic".into(),
            watch: vec!["assets/**/*.scss".into()],
            ignore: Vec::new(),
            serve: None,
            output: vec!["static/css/out.css".into()],
            timeout: None,
        }
    }

    fn files(partial: &str) -> Vec<(String, Vec<u8>)> {
        vec![
            ("assets/in.scss".into(), b"@use 'partial';".to_vec()),
            ("assets/_partial.scss".into(), partial.as_bytes().to_vec()),
        ]
    }

    #[test]
    fn a_stamp_follows_contents_paths_and_the_rule_but_not_order() {
        let base = stamp(&rule(), &files("a { color: red }"));
        assert_eq!(base.len(), 64);
        let mut reversed = files("a { color: red }");
        reversed.reverse();
        assert_eq!(stamp(&rule(), &reversed), base, "the walk's order does not matter");
        assert_ne!(stamp(&rule(), &files("a { color: blue }")), base, "a changed source");
        let mut renamed = files("a { color: red }");
        renamed[1].0 = "assets/_other.scss".into();
        assert_ne!(stamp(&rule(), &renamed), base, "a renamed source");
        assert_ne!(stamp(&rule(), &files("a { color: red }")[..1]), base, "a removed source");
        let mut command = rule();
        command.command.push_str(" --style=compressed");
        assert_ne!(stamp(&command, &files("a { color: red }")), base, "a changed command");
        let mut output = rule();
        output.output.push("static/css/more.css".into());
        assert_ne!(stamp(&output, &files("a { color: red }")), base, "a changed output list");
        let mut serve = rule();
        serve.serve = Some("dmp-sass-worker".into());
        assert_eq!(stamp(&serve, &files("a { color: red }")), base, "the watch worker builds the same output");
        // Field boundaries count: moving bytes between fields changes it.
        let mut split = rule();
        split.command = "sass in.scss".into();
        split.service = " out.cssbuildstatic".into();
        assert_ne!(stamp(&split, &files("a { color: red }")), base);
    }

    #[test]
    fn up_builds_unless_the_stamp_matches_and_every_output_exists() {
        assert_eq!(decide(None, "s1", None), Decision::NeverBuilt);
        assert_eq!(decide(Some("s1"), "s1", None), Decision::UpToDate);
        assert!(!decide(Some("s1"), "s1", None).build());
        assert_eq!(decide(Some("s0"), "s1", None), Decision::Changed);
        assert_eq!(decide(Some("s0"), "s1", Some("out.css")), Decision::Changed);
        assert_eq!(decide(Some("s1"), "s1", Some("out.css")), Decision::OutputMissing("out.css".into()));
        assert!(decide(Some("s1"), "s1", Some("out.css")).build());
    }

    #[test]
    fn sources_skip_ignored_trees_and_stamps_round_trip_in_the_state_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let write = |rel: &str, text: &str| {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        };
        write(".gitignore", "static/\nnode_modules/\n");
        write("assets/a.scss", "a");
        write("assets/deep/_b.scss", "b");
        write("assets/main.js", "js");
        write("node_modules/x/y.scss", "not a source");
        write("static/css/out.css", "built");
        let rules = [rule()];
        let filters = Filters::new(root, &rules).expect("filters");
        let mut found = sources(root, &filters, 1);
        found[0].sort();
        assert_eq!(found, [["assets/a.scss", "assets/deep/_b.scss"]]);

        let now = current(root, &rules[0], &found[0]);
        assert_eq!(last(root, &rules[0]), None);
        assert_eq!(missing_output(root, &rules[0]), None);
        record(root, &rules[0], &now);
        assert_eq!(last(root, &rules[0]).as_deref(), Some(now.as_str()));
        assert!(std::fs::read_to_string(root.join(".dmp/.gitignore")).expect("gitignore").contains("\n*\n"));
        let again = sources(root, &filters, 1);
        assert_eq!(again[0].len(), 2, "the state dir is never a source: {again:?}");

        write("package-lock.json", "{}");
        assert_ne!(current(root, &rules[0], &found[0]), now, "the lock file is every rule's input");
        std::fs::remove_file(root.join("static/css/out.css")).expect("rm");
        assert_eq!(missing_output(root, &rules[0]), Some("static/css/out.css"));
        forget(root, &rules[0]);
        assert_eq!(last(root, &rules[0]), None);
    }
}
