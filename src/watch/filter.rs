//! Which changed paths trigger which rule: the rules' globs, minus editors'
//! temporary files, version control and what `.gitignore` ignores.

use std::path::{Path, PathBuf};

use globset::{GlobSet, GlobSetBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::compose::model::WatchRule;
use crate::stack::StackError;
use crate::watch::error::{Result, WatchError};

/// Never a trigger: editors' temporary files and version control.
const ALWAYS_IGNORED: [&str; 9] = [
    "**/*.swp",
    "**/*.swo",
    "**/*.swx",
    "**/*~",
    "**/4913",
    "**/.#*",
    "**/*___jb_tmp___",
    "**/*___jb_old___",
    "**/.DS_Store",
];
const VCS_DIRS: [&str; 4] = [".git", ".hg", ".svn", "node_modules/.cache"];

/// Which changed paths trigger which rule.
#[derive(Debug)]
struct RuleFilter {
    watch: GlobSet,
    ignore: GlobSet,
}

#[derive(Debug)]
pub struct Filters {
    root: PathBuf,
    always: GlobSet,
    gitignore: Gitignore,
    rules: Vec<RuleFilter>,
}

impl Filters {
    pub fn new(root: &Path, rules: &[WatchRule]) -> Result<Self> {
        let always = glob_set(ALWAYS_IGNORED.iter().map(|s| (*s).to_owned()), "built-in ignore")?;
        let mut builder = GitignoreBuilder::new(root);
        // A missing .gitignore is no error; a broken line is skipped, as git does.
        let _ = builder.add(root.join(".gitignore"));
        let gitignore = builder.build().unwrap_or_else(|_| Gitignore::empty());
        let rules = rules
            .iter()
            .map(|rule| {
                let watch = if rule.watch.is_empty() { vec!["**".to_owned()] } else { rule.watch.clone() };
                Ok(RuleFilter {
                    watch: glob_set(watch.into_iter(), &rule.name)?,
                    ignore: glob_set(rule.ignore.iter().cloned(), &rule.name)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self { root: root.to_owned(), always, gitignore, rules })
    }

    /// The rules (by index) a change of `path` triggers, with its path
    /// relative to the project.
    pub fn triggered(&self, path: &Path) -> (Vec<usize>, String) {
        let Ok(rel) = path.strip_prefix(&self.root) else { return (Vec::new(), String::new()) };
        let rel_text = rel.to_string_lossy().into_owned();
        if self.ignored(rel, path.is_dir()) {
            return (Vec::new(), rel_text);
        }
        (self.rules_of(rel), rel_text)
    }

    /// Whether `rel` (relative to the project) is never a source: editors'
    /// temporary files, version control, dmp's own state, what `.gitignore`
    /// ignores.
    pub fn ignored(&self, rel: &Path, is_dir: bool) -> bool {
        rel.components().next().is_none()
            || VCS_DIRS.iter().any(|d| rel.starts_with(d))
            || rel.starts_with(super::stamp::STATE_DIR)
            || self.always.is_match(rel)
            || self.gitignore.matched_path_or_any_parents(rel, is_dir).is_ignore()
    }

    /// The rules whose globs take `rel` (a path that is not ignored).
    pub fn rules_of(&self, rel: &Path) -> Vec<usize> {
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.watch.is_match(rel) && !r.ignore.is_match(rel))
            .map(|(i, _)| i)
            .collect()
    }
}

fn glob_set(patterns: impl Iterator<Item = String>, rule: &str) -> Result<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = globset::GlobBuilder::new(&pattern).literal_separator(true).build().map_err(|e| {
            WatchError::Stack(StackError::NotConfigured {
                what: format!("a valid watch glob for {rule} ({pattern:?}: {e})"),
                fix: "write globs like assets/scss/**/*.scss".into(),
            })
        })?;
        builder.add(glob);
    }
    builder.build().map_err(|e| {
        WatchError::Stack(StackError::NotConfigured {
            what: format!("valid watch globs for {rule}: {e}"),
            fix: String::new(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, watch: &[&str], ignore: &[&str]) -> WatchRule {
        WatchRule {
            name: name.into(),
            command: "true".into(),
            service: "buildstatic".into(),
            watch: watch.iter().map(|s| (*s).to_owned()).collect(),
            ignore: ignore.iter().map(|s| (*s).to_owned()).collect(),
            serve: None,
            output: Vec::new(),
            timeout: None,
        }
    }

    #[test]
    fn filters_pick_rules_and_ignore_temp_vcs_and_gitignored_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(".gitignore"), "static/\n*.log\n").expect("write");
        let rules = [
            rule("styles", &["assets/scss/**/*.scss"], &["assets/scss/vendor/**"]),
            rule("scripts", &["assets/js/**/*.js"], &[]),
        ];
        let filters = Filters::new(dir.path(), &rules).expect("filters");
        let hit = |rel: &str| filters.triggered(&dir.path().join(rel)).0;
        assert_eq!(hit("assets/scss/application.scss"), [0]);
        assert_eq!(hit("assets/scss/deep/_partial.scss"), [0]);
        assert_eq!(hit("assets/js/main.js"), [1]);
        assert!(hit("assets/scss/vendor/x.scss").is_empty(), "the rule's ignore");
        assert!(hit("assets/js/main.css").is_empty(), "no rule's glob");
        for ignored in [
            "assets/scss/.application.scss.swp",
            "assets/scss/application.scss~",
            "assets/scss/4913",
            "assets/scss/.#application.scss",
            "assets/js/main.js___jb_tmp___",
            ".git/index",
            "static/css/application.css",
            "debug.log",
        ] {
            assert!(hit(ignored).is_empty(), "{ignored} triggered a build");
        }
    }
}
