//! Which Node a project builds its assets with. `dmp/http-buildstatic` has
//! Node 24 by default; a project that pins another major with `.nvmrc` (or
//! `engines.node` in package.json) runs `dmp/http-buildstatic:<version>-node<N>`,
//! the same Dockerfile built with `NODE_VERSION=N`, made the first time a
//! stack needs it and cached by that tag.

use std::path::Path;

use crate::compose::Project;

/// The Node major of `images/http-buildstatic/Dockerfile`'s `NODE_VERSION`.
pub const DEFAULT_MAJOR: u32 = 24;
/// The base image that carries Node.
pub const IMAGE: &str = "http-buildstatic";
/// Build argument with the Node version (a major resolves to its newest release).
pub const NODE_ARG: &str = "NODE_VERSION";
/// Build argument with the npm major to install next to it.
pub const NPM_ARG: &str = "NPM_VERSION";

/// The Node major `dir` asks for: `.nvmrc`, else `engines.node` in
/// package.json; `None` when it names none (or only the default).
pub fn requested_major(dir: &Path) -> Option<u32> {
    let major = if let Ok(text) = std::fs::read_to_string(dir.join(".nvmrc")) {
        nvmrc_major(&text)
    } else {
        let text = std::fs::read_to_string(dir.join("package.json")).ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        engines_major(json.pointer("/engines/node")?.as_str()?)
    };
    major.filter(|m| *m != DEFAULT_MAJOR)
}

/// `22`, `v22.11.0`, `lts/jod` → 22; `node`, `lts/*`, nonsense → `None`.
fn nvmrc_major(text: &str) -> Option<u32> {
    let word = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let lts = [("hydrogen", 18), ("iron", 20), ("jod", 22), ("krypton", 24)];
    if let Some(name) = word.strip_prefix("lts/") {
        return lts.iter().find(|(n, _)| name.eq_ignore_ascii_case(n)).map(|(_, m)| *m);
    }
    leading_number(word.trim_start_matches(['v', 'V']))
}

/// The major a semver range asks for: the highest exact major of its
/// alternatives (`^22`, `22.x`, `~20.19`), or the default when an open range
/// (`>=20.19`) allows it.
fn engines_major(range: &str) -> Option<u32> {
    let mut best = None;
    for alternative in range.split("||").map(str::trim) {
        let open = alternative.starts_with('>');
        let number = leading_number(alternative.trim_start_matches(['>', '<', '=', '^', '~', 'v', ' ']))?;
        let major = if open && DEFAULT_MAJOR >= number { DEFAULT_MAJOR } else { number };
        best = best.max(Some(major));
    }
    best
}

fn leading_number(text: &str) -> Option<u32> {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|n| *n > 0)
}

/// The npm major that supports `node`.
pub fn npm_major(node: u32) -> u32 {
    match node {
        20.. => 11,
        18..=19 => 10,
        _ => 9,
    }
}

/// `dmp/http-buildstatic:1.0.0-node22` → 22: a tag that asks for a Node.
pub fn tag_major(reference: &str) -> Option<u32> {
    let (_, tag) = reference.rsplit_once(':')?;
    let (_, major) = tag.rsplit_once("-node")?;
    major.parse().ok()
}

/// Points the project's buildstatic services at the image of the Node it
/// asks for, built from this dmp's images at `version` (`dmp config` shows
/// the result).
pub fn pin(project: &mut Project, version: &str) {
    let name = format!("{}/{IMAGE}", crate::image::catalogue::NAMESPACE);
    let unpinned = |image: &str| image.split_once(':').map_or(image, |(n, _)| n) == name && tag_major(image).is_none();
    // The project's files are read only when some service needs them.
    if !project.services.values().any(|s| unpinned(s.image.as_deref().unwrap_or_default())) {
        return;
    }
    let Some(major) = requested_major(&project.dir) else { return };
    for service in project.services.values_mut() {
        if unpinned(service.image.as_deref().unwrap_or_default()) {
            service.image = Some(format!("{name}:{version}-node{major}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvmrc_names_a_major() {
        assert_eq!(nvmrc_major("22\n"), Some(22));
        assert_eq!(nvmrc_major("v20.19.1"), Some(20));
        assert_eq!(nvmrc_major("lts/jod"), Some(22));
        assert_eq!(nvmrc_major("lts/*"), None);
        assert_eq!(nvmrc_major("node"), None);
    }

    #[test]
    fn engines_ranges_pick_a_major() {
        assert_eq!(engines_major("^22.11.0"), Some(22));
        assert_eq!(engines_major("22.x"), Some(22));
        assert_eq!(engines_major(">=20.19"), Some(DEFAULT_MAJOR));
        assert_eq!(engines_major(">=30"), Some(30));
        assert_eq!(engines_major("^20.19 || ^22"), Some(22));
    }

    #[test]
    fn project_files_choose_and_nvmrc_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(requested_major(dir.path()), None);
        std::fs::write(dir.path().join("package.json"), r#"{"engines": {"node": "^20.19"}}"#).expect("write");
        assert_eq!(requested_major(dir.path()), Some(20));
        std::fs::write(dir.path().join(".nvmrc"), "22\n").expect("write");
        assert_eq!(requested_major(dir.path()), Some(22));
        std::fs::write(dir.path().join(".nvmrc"), format!("{DEFAULT_MAJOR}\n")).expect("write");
        assert_eq!(requested_major(dir.path()), None, "the default needs no image of its own");
    }

    #[test]
    fn tags_name_the_node_and_npm_follows() {
        assert_eq!(tag_major("dmp/http-buildstatic:1.0.0-node22"), Some(22));
        assert_eq!(tag_major("dmp/http-buildstatic:1.0.0"), None);
        assert_eq!((npm_major(24), npm_major(18), npm_major(16)), (11, 10, 9));
    }

    #[test]
    fn the_default_matches_the_dockerfile() {
        let dockerfile = include_str!("../images/http-buildstatic/Dockerfile");
        assert!(dockerfile.contains(&format!("ARG {NODE_ARG}={DEFAULT_MAJOR}\n")), "ARG NODE_VERSION default");
        assert!(dockerfile.contains(&format!("ARG {NPM_ARG}={}\n", npm_major(DEFAULT_MAJOR))));
    }
}
