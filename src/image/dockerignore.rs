//! `.dockerignore` matching with Docker's semantics (moby's patternmatcher),
//! which are not gitignore's:
//! - patterns are anchored at the context root (`*.md` is only the root's);
//! - `*` and `?` never cross `/`; `**` spans any number of directories;
//! - a pattern that matches a directory matches everything below it;
//! - the last matching pattern wins, and `!` re-includes;
//! - an excluded directory is only entered when some `!` pattern's text
//!   starts with that directory (Docker's own shortcut, kept for fidelity).

use regex::Regex;

use crate::go_path::clean;

/// A parsed `.dockerignore`.
#[derive(Debug, Default, Clone)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    /// The cleaned pattern without its `!`.
    text: String,
    /// A `!` pattern: matching paths are sent after all.
    reinclude: bool,
    regex: Regex,
}

/// A line of a `.dockerignore` that Docker would reject too.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {reason}")]
pub struct PatternError {
    pub line: usize,
    pub reason: String,
}

impl DockerIgnore {
    /// Parses a `.dockerignore`: `#` at the start of a line is a comment,
    /// surrounding white space is dropped, `./`, `..` and a leading `/` are
    /// cleaned away as Docker does.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            if raw.starts_with('#') {
                continue;
            }
            let mut pattern = raw.trim();
            if pattern.is_empty() {
                continue;
            }
            let reinclude = pattern.starts_with('!');
            if reinclude {
                pattern = pattern[1..].trim();
                if pattern.is_empty() {
                    return Err(PatternError {
                        line,
                        reason: "a lone \"!\" re-includes nothing; give a path after it".into(),
                    });
                }
            }
            let mut cleaned = clean(pattern);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
            let regex = Regex::new(&pattern_to_regex(&cleaned)).map_err(|e| PatternError {
                line,
                reason: format!("{raw:?} is not a valid pattern ({})", first_line(&e.to_string())),
            })?;
            patterns.push(Pattern { text: cleaned, reinclude, regex });
        }
        Ok(Self { patterns })
    }

    /// Adds `!path`, as Docker does for the Dockerfile and `.dockerignore`
    /// themselves: the daemon needs them whatever the file says.
    pub fn keep(&mut self, path: &str) {
        if self.is_excluded(path) {
            let text = clean(path);
            let regex =
                Regex::new(&format!("^{}$", regex::escape(&text))).expect("an escaped literal is a valid regex");
            self.patterns.push(Pattern { text, reinclude: true, regex });
        }
    }

    /// Whether `path` (relative to the context root, `/`-separated) is left
    /// out: the last pattern matching it or one of its parent directories
    /// decides.
    pub fn is_excluded(&self, path: &str) -> bool {
        let path = clean(path);
        let mut excluded = false;
        for pattern in &self.patterns {
            // Only a pattern that could flip the current answer is worth testing.
            if pattern.reinclude != excluded {
                continue;
            }
            let matches = pattern.regex.is_match(&path) || parents(&path).any(|parent| pattern.regex.is_match(parent));
            if matches {
                excluded = !pattern.reinclude;
            }
        }
        excluded
    }

    /// Whether an excluded directory must still be entered because a `!`
    /// pattern may re-include something inside it. Docker decides this from
    /// the pattern's text alone, so `!*/keep` does not rescue `dir/keep`.
    pub fn may_reinclude_below(&self, dir: &str) -> bool {
        let prefix = format!("{}/", clean(dir));
        self.patterns.iter().any(|p| p.reinclude && format!("{}/", p.text).starts_with(&prefix))
    }

    /// Whether a file at `path` is sent: neither it nor an ancestor directory
    /// that Docker would skip is excluded.
    pub fn sends(&self, path: &str) -> bool {
        let path = clean(path);
        parents(&path).all(|dir| !self.is_excluded(dir) || self.may_reinclude_below(dir)) && !self.is_excluded(&path)
    }
}

/// `a/b/c` yields `a` and `a/b`.
fn parents(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i]).filter(|p| !p.is_empty())
}

fn first_line(s: &str) -> &str {
    s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(s).trim()
}

/// Translates a cleaned pattern into an anchored regex the way moby does:
/// `**` (and `**/`) spans directories, `*` and `?` stay inside one, `[...]`
/// classes pass through, `\x` is a literal `x`.
fn pattern_to_regex(pattern: &str) -> String {
    let mut regex = String::from("^");
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(ch) = chars.next() {
        if in_class {
            match ch {
                ']' => {
                    in_class = false;
                    regex.push(']');
                }
                '\\' => {
                    if let Some(next) = chars.next() {
                        regex.push_str(&regex::escape(&next.to_string()));
                    }
                }
                '[' => regex.push_str("\\["),
                _ => regex.push(ch),
            }
            continue;
        }
        match ch {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if chars.peek() == Some(&'/') {
                    chars.next();
                }
                if chars.peek().is_none() {
                    regex.push_str(".*");
                } else {
                    regex.push_str("(.*/)?");
                }
            }
            '*' => regex.push_str("[^/]*"),
            '?' => regex.push_str("[^/]"),
            '[' => {
                in_class = true;
                regex.push('[');
            }
            '\\' => match chars.next() {
                Some(next) => regex.push_str(&regex::escape(&next.to_string())),
                None => regex.push_str("\\\\"),
            },
            _ => regex.push_str(&regex::escape(&ch.to_string())),
        }
    }
    if in_class {
        // An unclosed class: let the regex compiler reject it, as Go's does.
        regex.push('[');
    }
    regex.push('$');
    regex
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (patterns, path, excluded?)
    const CASES: &[(&str, &str, bool)] = &[
        // Anchored at the root; `*` does not cross `/`.
        ("*.md", "README.md", true),
        ("*.md", "docs/guide.md", false),
        ("**/*.md", "docs/guide.md", true),
        ("**/*.md", "README.md", true),
        ("**/*.md", "a/b/c/d.md", true),
        ("docs/*.md", "docs/guide.md", true),
        ("docs/*.md", "docs/sub/guide.md", false),
        // A matched directory takes everything below it.
        ("docs", "docs/a/b.txt", true),
        ("docs", "docsx/a.txt", false),
        ("docs/*", "docs/sub/deep/x", true),
        ("node_modules", "web/node_modules/x.js", false),
        ("**/node_modules", "web/node_modules/x.js", true),
        ("**/node_modules", "node_modules/a/b.js", true),
        // `**` alone and trailing.
        ("**", "anything/at/all", true),
        ("dir/**", "dir/a/b", true),
        ("dir/**", "dirx/a", false),
        ("a/**/b", "a/b", true),
        ("a/**/b", "a/x/y/b", true),
        ("a/**/b", "a/x/y/bc", false),
        // `?` is one character other than `/`.
        ("a?c", "abc", true),
        ("a?c", "a/c", false),
        // Classes and escapes.
        ("[a-c].txt", "b.txt", true),
        ("[a-c].txt", "d.txt", false),
        ("[^a].txt", "a.txt", false),
        ("[^a].txt", "b.txt", true),
        ("\\*.txt", "*.txt", true),
        ("\\*.txt", "x.txt", false),
        // `.` is literal, not any character.
        ("*.txt", "atxt", false),
        ("a.b", "axb", false),
        // Cleaning: leading `/`, `./`, `..`, trailing `/`, white space.
        ("/build", "build/out.js", true),
        ("./build/", "build/out.js", true),
        ("a/../build", "build/out.js", true),
        ("  build  ", "build/out.js", true),
        // Comments only at the start of a line.
        ("#build", "build", false),
        (" #build", "#build", true),
        // The last match wins; `!` re-includes, also through a parent.
        ("*.log\n!keep.log", "keep.log", false),
        ("*.log\n!keep.log", "other.log", true),
        ("*.log\n!keep.log\nkeep.log", "keep.log", true),
        ("docs\n!docs/keep.md", "docs/keep.md", false),
        ("docs\n!docs/keep.md", "docs/other.md", true),
        ("docs\n!docs/sub", "docs/sub/deep/file", false),
        ("*\n!src", "src/main.rs", false),
        ("*\n!src", "Cargo.toml", true),
        // A BOM at the start is dropped.
        ("\u{feff}secret", "secret", true),
        // Nothing matches: sent.
        ("", "anything", false),
        ("# only a comment", "anything", false),
    ];

    #[test]
    fn docker_semantics_table() {
        let mut failures = Vec::new();
        for (patterns, path, expected) in CASES {
            let ignore = DockerIgnore::parse(patterns).expect("valid patterns");
            if ignore.is_excluded(path) != *expected {
                failures.push(format!("{patterns:?} on {path:?}: expected excluded={expected}"));
            }
        }
        assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
    }

    #[test]
    fn excluded_directory_is_entered_only_for_a_reinclude_beneath_it() {
        let literal = DockerIgnore::parse("docs\n!docs/keep.md").expect("valid");
        assert!(literal.sends("docs/keep.md"));
        assert!(!literal.sends("docs/other.md"));

        // Docker checks the `!` pattern's text, not what it would match.
        let wildcard = DockerIgnore::parse("docs\n!*/keep.md").expect("valid");
        assert!(!wildcard.is_excluded("docs/keep.md"));
        assert!(!wildcard.sends("docs/keep.md"));

        let none = DockerIgnore::parse("secrets").expect("valid");
        assert!(!none.sends("secrets/key.pem"));
        assert!(none.sends("src/key.pem"));
    }

    #[test]
    fn keep_forces_the_dockerfile_in() {
        let mut ignore = DockerIgnore::parse("*\n").expect("valid");
        ignore.keep("Dockerfile");
        ignore.keep(".dockerignore");
        assert!(ignore.sends("Dockerfile"));
        assert!(ignore.sends(".dockerignore"));
        assert!(!ignore.sends("app.py"));
    }

    #[test]
    fn bad_patterns_name_their_line() {
        let err = DockerIgnore::parse("ok\n\n!\n").expect_err("a lone ! is rejected");
        assert_eq!(err.line, 3);
        let err = DockerIgnore::parse("# c\n[abc\n").expect_err("an unclosed class is rejected");
        assert_eq!(err.line, 2);
        assert!(err.reason.contains("[abc"), "{}", err.reason);
    }
}
