//! Go's `path.Clean` for `/`-separated paths, which Compose applies to
//! mount targets and moby to `.dockerignore` patterns and the paths they
//! match: one cleaner for both.

/// `path` with no `.` or empty segments, `..` resolved where it can be
/// (`/..` is `/`; a relative path keeps its leading `..`s), no trailing
/// `/`; `.` for an empty result.
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            part => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_clean_as_go_does() {
        for (path, clean) in [
            ("", "."),
            (".", "."),
            ("./a/", "a"),
            ("a//b", "a/b"),
            ("a/./b/../c", "a/c"),
            ("../a", "../a"),
            ("a/../..", ".."),
            ("a/..", "."),
            ("/var/lib/data/", "/var/lib/data"),
            ("/a//b/./c", "/a/b/c"),
            ("/a/b/../c", "/a/c"),
            ("/../a", "/a"),
            ("/..", "/"),
            ("/", "/"),
        ] {
            assert_eq!(super::clean(path), clean, "{path:?}");
        }
    }
}
