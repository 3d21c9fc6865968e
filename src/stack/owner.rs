//! A project belongs to one directory. Two checkouts with the same directory
//! name (`~/a/app`, `~/b/app`) get the same project name; without this check
//! the second's `up` would recreate the first's containers onto its own
//! sources and share its volumes, and either's `down -v` would remove the
//! other's data. The directory is read from the labels Compose writes on
//! containers (`com.docker.compose.project.working_dir`), or, when the
//! project has no containers, from dmp's `dev.dmp.working-dir` on its named
//! volumes, which outlive `down`.

use std::path::Path;

/// Where an Engine object of the project says the project lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The project directory in the object's label.
    pub dir: String,
    /// The object (`container shop-web-1`, `volume shop_data`).
    pub object: String,
}

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// Nothing records another directory: the project is this directory's
    /// (or new).
    Here,
    /// The project lives in `from`, and this directory adopts it.
    Adopted { from: String },
    /// The project lives in `theirs` (`object` says so); this directory
    /// must not touch it.
    Elsewhere { theirs: String, object: String },
}

/// Decides whether the project in `here` may act on the Engine objects that
/// record `containers` and `volumes`: containers speak for the project when
/// there are any (they are what the last `up` made, adoption included),
/// volumes otherwise. `same` says whether two directories are the same one
/// (symlinks; the caller's file system).
pub fn decide(
    here: &Path,
    containers: &[Recorded],
    volumes: &[Recorded],
    adopt: bool,
    same: impl Fn(&Path, &Path) -> bool,
) -> Ownership {
    let recorded = if containers.is_empty() { volumes } else { containers };
    let Some(other) = recorded.iter().find(|r| !same(Path::new(&r.dir), here)) else {
        return Ownership::Here;
    };
    if adopt {
        Ownership::Adopted { from: other.dir.clone() }
    } else {
        Ownership::Elsewhere { theirs: other.dir.clone(), object: other.object.clone() }
    }
}

/// Whether `a` and `b` name one directory: equal, or equal once symlinks
/// are resolved.
pub fn same_dir(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(dir: &str, object: &str) -> Recorded {
        Recorded { dir: dir.into(), object: object.into() }
    }

    /// What, containers, volumes, `--adopt`, the verdict.
    type Case<'a> = (&'a str, &'a [Recorded], &'a [Recorded], bool, Ownership);

    fn equal(a: &Path, b: &Path) -> bool {
        a == b
    }

    #[test]
    fn a_project_belongs_to_the_directory_its_objects_record() {
        let here = Path::new("/work/b/app");
        let ours = [at("/work/b/app", "container app-web-1")];
        let theirs = [at("/work/a/app", "container app-web-1")];
        let their_volume = [at("/work/a/app", "volume app_data")];
        let cases: [Case; 7] = [
            ("a new project", &[], &[], false, Ownership::Here),
            ("containers made here", &ours, &their_volume, false, Ownership::Here),
            (
                "containers made in another checkout",
                &theirs,
                &[],
                false,
                Ownership::Elsewhere { theirs: "/work/a/app".into(), object: "container app-web-1".into() },
            ),
            (
                "only volumes, from another checkout (the first is down)",
                &[],
                &their_volume,
                false,
                Ownership::Elsewhere { theirs: "/work/a/app".into(), object: "volume app_data".into() },
            ),
            ("adopted on purpose", &theirs, &[], true, Ownership::Adopted { from: "/work/a/app".into() }),
            ("adopting what is ours already", &ours, &[], true, Ownership::Here),
            ("volumes adopted", &[], &their_volume, true, Ownership::Adopted { from: "/work/a/app".into() }),
        ];
        for (case, containers, volumes, adopt, expected) in cases {
            assert_eq!(decide(here, containers, volumes, adopt, equal), expected, "{case}");
        }
    }

    #[test]
    fn a_symlinked_path_to_the_same_directory_is_the_same_project() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("real");
        std::fs::create_dir(&real).expect("mkdir");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        assert!(same_dir(&real, &link));
        assert!(!same_dir(&real, dir.path()));
        assert!(!same_dir(Path::new("/nonexistent/a"), Path::new("/nonexistent/b")));
        let recorded = [at(&link.to_string_lossy(), "container c")];
        assert_eq!(decide(&real, &recorded, &[], false, same_dir), Ownership::Here);
    }
}
