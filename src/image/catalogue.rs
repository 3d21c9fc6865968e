//! The catalogue of dmp's base images: one directory per image under
//! `images/` (embedded into the binary, or `--images-dir`), each with a
//! Dockerfile. All images share one build context, the whole directory, so
//! they can share scripts in `images/common/`.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use crate::image::context::{self, ContextArchive, ContextError};

/// Repository namespace of every base image: `dmp/<name>:<version>`.
pub const NAMESPACE: &str = "dmp";
/// Build argument carrying the version, so a child image is built `FROM` its
/// parent at the same version.
pub const VERSION_ARG: &str = "DMP_VERSION";

mod embedded {
    use crate::image::context::MemoryFile as EmbeddedFile;
    include!(concat!(env!("OUT_DIR"), "/embedded_images.rs"));
}

/// One buildable image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImage {
    pub name: String,
    /// The Dockerfile's path inside the shared context.
    pub dockerfile: String,
    /// Another catalogue image this one is built `FROM`.
    pub parent: Option<String>,
    /// Whether the Dockerfile declares `ARG DMP_VERSION`.
    pub takes_version_arg: bool,
}

/// Where the images' files come from.
#[derive(Debug, Clone)]
enum Source {
    Embedded,
    Dir(PathBuf),
}

#[derive(Debug)]
pub struct Catalogue {
    source: Source,
    pub version: String,
    pub revision: String,
    pub source_date: String,
    /// SHA-256 of the images' sources (every file's path, mode and
    /// contents): an image labelled with another was built by another dmp
    /// (or from other sources), so `up` builds it again.
    pub digest: String,
    /// In build order: every parent before its children.
    pub images: Vec<BaseImage>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CatalogueError {
    #[error("there is no image named {name:?}")]
    #[diagnostic(code(dmp::images::unknown), help("the images are: {}", available.join(", ")))]
    Unknown { name: String, available: Vec<String> },

    #[error("{}: no image directories (subdirectories with a Dockerfile)", dir.display())]
    #[diagnostic(code(dmp::images::empty), help("point --images-dir at a directory like dmp's images/"))]
    Empty { dir: PathBuf },

    #[error("{}: cannot read it: {error}", path.display())]
    #[diagnostic(code(dmp::images::read))]
    Read { path: PathBuf, error: std::io::Error },

    #[error("{}: no version: the file is missing or empty", path.display())]
    #[diagnostic(code(dmp::images::version), help("write the images' version, e.g. 1.0.0, into {}", path.display()))]
    NoVersion { path: PathBuf },

    #[error("{dockerfile}:{line}: FROM {NAMESPACE}/{parent}, but there is no image {parent:?} in the catalogue")]
    #[diagnostic(code(dmp::images::parent), help("add an image directory named {parent}, or build FROM another image"))]
    UnknownParent { dockerfile: String, line: usize, parent: String },

    #[error("the images {} are built FROM each other in a cycle", cycle.join(" -> "))]
    #[diagnostic(code(dmp::images::cycle), help("one of them must be built FROM an image outside the cycle"))]
    Cycle { cycle: Vec<String> },

    #[error(transparent)]
    #[diagnostic(code(dmp::images::context), help("fix the .dockerignore line named above"))]
    Context(#[from] ContextError),
}

/// The dmp image a Dockerfile line builds `FROM` (`FROM [--flag…]
/// dmp/<name>[:tag]`, any case): `<name>`, catalogued or not. The one
/// parser of such lines, for the catalogue's parents and `up`'s base images.
/// Read by hand rather than by a regex: compiling one took ~0.5 ms of every
/// `up`.
pub fn from_dmp_image(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    if !words.next()?.eq_ignore_ascii_case("FROM") {
        return None;
    }
    let image = words.find(|w| !w.starts_with("--"))?;
    let (namespace, rest) = image.split_once('/')?;
    let name = rest.split_once(':').map_or(rest, |(name, _)| name);
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let first_valid = name.starts_with(|c: char| c.is_ascii_alphanumeric());
    (namespace.eq_ignore_ascii_case(NAMESPACE) && first_valid && name.chars().all(valid)).then(|| name.to_owned())
}

/// Whether a Dockerfile declares `ARG DMP_VERSION` (any case, with or
/// without a default).
fn declares_version_arg(dockerfile: &str) -> bool {
    dockerfile.lines().any(|line| {
        let mut words = line.split_whitespace();
        words.next().is_some_and(|w| w.eq_ignore_ascii_case("ARG"))
            && words.next().is_some_and(|w| {
                let name = w.split_once('=').map_or(w, |(name, _)| name);
                name.eq_ignore_ascii_case(VERSION_ARG)
            })
    })
}

/// The version of the images built into this binary, without the rest of
/// the catalogue (its digest and Dockerfile parsing take a millisecond,
/// which every command that loads a project would pay).
pub fn embedded_version() -> Result<String, CatalogueError> {
    embedded::FILES
        .iter()
        .find(|f| f.path == "VERSION")
        .map(|f| String::from_utf8_lossy(f.contents).trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| CatalogueError::NoVersion { path: "images/VERSION".into() })
}

impl Catalogue {
    /// The images built into this binary.
    pub fn embedded() -> Result<Self, CatalogueError> {
        let version = embedded_version()?;
        let dockerfiles = embedded::FILES
            .iter()
            .filter_map(|f| {
                let (name, rest) = f.path.split_once('/')?;
                (rest == "Dockerfile").then(|| (name.to_owned(), String::from_utf8_lossy(f.contents).into_owned()))
            })
            .collect();
        let digest = source_digest(embedded::FILES.iter().map(|f| (f.path.to_owned(), f.mode, f.contents.to_vec())));
        let sources =
            Sources { revision: embedded::REVISION.into(), source_date: embedded::SOURCE_DATE.into(), digest };
        Self::new(Source::Embedded, version, sources, dockerfiles)
    }

    /// The images in `dir` (laid out like dmp's `images/`, with a VERSION file).
    pub fn from_dir(dir: &Path) -> Result<Self, CatalogueError> {
        let read =
            |path: PathBuf| fs::read_to_string(&path).map_err(|source| CatalogueError::Read { path, error: source });
        let version_path = dir.join("VERSION");
        let version = fs::read_to_string(&version_path).map(|v| v.trim().to_owned()).unwrap_or_default();
        if version.is_empty() {
            return Err(CatalogueError::NoVersion { path: version_path });
        }
        let entries =
            fs::read_dir(dir).map_err(|source| CatalogueError::Read { path: dir.to_owned(), error: source })?;
        let mut dockerfiles = Vec::new();
        for entry in entries.flatten() {
            let dockerfile = entry.path().join("Dockerfile");
            if dockerfile.is_file() {
                dockerfiles.push((entry.file_name().to_string_lossy().into_owned(), read(dockerfile)?));
            }
        }
        if dockerfiles.is_empty() {
            return Err(CatalogueError::Empty { dir: dir.to_owned() });
        }
        let source_date = newest_mtime(dir).unwrap_or_else(|| "unknown".into());
        let digest = source_digest(dir_files(dir).into_iter());
        let sources = Sources { revision: "unknown".into(), source_date, digest };
        Self::new(Source::Dir(dir.to_owned()), version, sources, dockerfiles)
    }

    fn new(
        source: Source,
        version: String,
        Sources { revision, source_date, digest }: Sources,
        mut dockerfiles: Vec<(String, String)>,
    ) -> Result<Self, CatalogueError> {
        dockerfiles.sort();
        let names: Vec<String> = dockerfiles.iter().map(|(name, _)| name.clone()).collect();
        let mut images = Vec::new();
        for (name, text) in dockerfiles {
            let dockerfile = format!("{name}/Dockerfile");
            let parent =
                text.lines().enumerate().find_map(|(i, line)| from_dmp_image(line).map(|parent| (i + 1, parent)));
            let parent = match parent {
                Some((_, parent)) if names.contains(&parent) => Some(parent),
                Some((line, parent)) => {
                    return Err(CatalogueError::UnknownParent { dockerfile, line, parent });
                }
                None => None,
            };
            let takes_version_arg = declares_version_arg(&text);
            images.push(BaseImage { name, dockerfile, parent, takes_version_arg });
        }
        let images = build_order(images)?;
        Ok(Self { source, version, revision, source_date, digest, images })
    }

    pub fn names(&self) -> Vec<String> {
        self.images.iter().map(|i| i.name.clone()).collect()
    }

    /// The requested images plus every parent they are built from, in build
    /// order; all images when none are named.
    pub fn select(&self, requested: &[String]) -> Result<Vec<BaseImage>, CatalogueError> {
        if requested.is_empty() {
            return Ok(self.images.clone());
        }
        let by_name: HashMap<&str, &BaseImage> = self.images.iter().map(|i| (i.name.as_str(), i)).collect();
        let mut wanted: Vec<&str> = Vec::new();
        for name in requested {
            let mut next = Some(
                by_name
                    .get(name.as_str())
                    .ok_or_else(|| CatalogueError::Unknown { name: name.clone(), available: self.names() })?,
            );
            while let Some(image) = next {
                if !wanted.contains(&image.name.as_str()) {
                    wanted.push(&image.name);
                }
                next = image.parent.as_deref().and_then(|p| by_name.get(p));
            }
        }
        Ok(self.images.iter().filter(|i| wanted.contains(&i.name.as_str())).cloned().collect())
    }

    /// `dmp/<name>:<version>`.
    pub fn tag(&self, name: &str) -> String {
        format!("{NAMESPACE}/{name}:{}", self.version)
    }

    /// The labels every image carries (OCI annotation keys).
    pub fn labels(&self, image: &BaseImage) -> HashMap<String, String> {
        HashMap::from([
            ("org.opencontainers.image.title".into(), format!("{NAMESPACE}/{}", image.name)),
            ("org.opencontainers.image.version".into(), self.version.clone()),
            ("org.opencontainers.image.revision".into(), self.revision.clone()),
            // The date of the source, not of the build: a rebuild with nothing
            // changed then keeps its image ID, and containers are not recreated.
            ("org.opencontainers.image.created".into(), self.source_date.clone()),
            ("dev.dmp.image".into(), image.name.clone()),
            (SOURCE_DIGEST_LABEL.into(), self.digest.clone()),
        ])
    }

    /// The shared build context, for a build of `image`.
    pub fn context(&self, image: &BaseImage) -> Result<ContextArchive, CatalogueError> {
        Ok(match &self.source {
            Source::Embedded => context::from_memory(embedded::FILES, &image.dockerfile)?,
            Source::Dir(dir) => context::from_dir(dir, &image.dockerfile)?,
        })
    }
}

/// Orders images parents-first (names break ties), or names a cycle.
fn build_order(images: Vec<BaseImage>) -> Result<Vec<BaseImage>, CatalogueError> {
    let mut pending: BTreeMap<String, BaseImage> = images.into_iter().map(|i| (i.name.clone(), i)).collect();
    let mut ordered: Vec<BaseImage> = Vec::new();
    while !pending.is_empty() {
        let ready: Vec<String> = pending
            .values()
            .filter(|i| i.parent.as_ref().is_none_or(|p| !pending.contains_key(p)))
            .map(|i| i.name.clone())
            .collect();
        if ready.is_empty() {
            let mut cycle: Vec<String> = pending.keys().cloned().collect();
            cycle.push(cycle[0].clone());
            return Err(CatalogueError::Cycle { cycle });
        }
        for name in ready {
            ordered.extend(pending.remove(&name));
        }
    }
    Ok(ordered)
}

/// The newest modification time below `dir`, as RFC 3339: a stable stand-in
/// for a commit date when images come from a plain directory.
/// Where the images come from, for their labels.
struct Sources {
    revision: String,
    source_date: String,
    digest: String,
}

/// The label with [`Catalogue::digest`] on every image dmp builds.
pub const SOURCE_DIGEST_LABEL: &str = "dev.dmp.source-digest";

/// SHA-256 over `(path, mode, contents)` in path order, each field
/// length-prefixed so no two trees hash alike.
fn source_digest(files: impl Iterator<Item = (String, u32, Vec<u8>)>) -> String {
    use sha2::{Digest as _, Sha256};
    use std::fmt::Write as _;
    let mut files: Vec<_> = files.collect();
    files.sort();
    let mut hasher = Sha256::new();
    for (path, mode, contents) in files {
        for field in [path.as_bytes(), &mode.to_le_bytes(), &contents] {
            hasher.update((field.len() as u64).to_le_bytes());
            hasher.update(field);
        }
    }
    hasher.finalize().iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// Every file below `dir` as `(relative path, 0o755 or 0o644, contents)`,
/// as build.rs embeds them.
fn dir_files(dir: &Path) -> Vec<(String, u32, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, files: &mut Vec<(String, u32, Vec<u8>)>) {
        use std::os::unix::fs::PermissionsExt as _;
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(meta) = fs::symlink_metadata(&path) else { continue };
            if meta.is_dir() {
                walk(base, &path, files);
            } else if let (true, Ok(contents)) = (meta.is_file(), fs::read(&path)) {
                let rel = path.strip_prefix(base).unwrap_or(&path).to_string_lossy().into_owned();
                let mode = if meta.permissions().mode() & 0o111 != 0 { 0o755 } else { 0o644 };
                files.push((rel, mode, contents));
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files
}

fn newest_mtime(dir: &Path) -> Option<String> {
    fn walk(dir: &Path, newest: &mut std::time::SystemTime) {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if let Ok(modified) = meta.modified() {
                *newest = (*newest).max(modified);
            }
            if meta.is_dir() {
                walk(&entry.path(), newest);
            }
        }
    }
    let mut newest = std::time::UNIX_EPOCH;
    walk(dir, &mut newest);
    let secs = newest.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(rfc3339_utc(secs))
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
fn rfc3339_utc(secs: u64) -> String {
    let time = i64::try_from(secs).ok().and_then(|s| jiff::Timestamp::from_second(s).ok());
    time.unwrap_or(jiff::Timestamp::UNIX_EPOCH).strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::{Sources, dir_files, embedded, source_digest};

    fn sources() -> Sources {
        Sources { revision: "r".into(), source_date: "d".into(), digest: "x".into() }
    }

    #[test]
    fn the_digest_changes_with_any_path_mode_or_byte() {
        let digest = |files: &[(&str, u32, &str)]| {
            source_digest(files.iter().map(|(p, m, c)| ((*p).to_owned(), *m, c.as_bytes().to_vec())))
        };
        let base = digest(&[("a/Dockerfile", 0o644, "FROM x"), ("b", 0o755, "run")]);
        assert_eq!(base, digest(&[("b", 0o755, "run"), ("a/Dockerfile", 0o644, "FROM x")]), "order does not matter");
        assert_ne!(base, digest(&[("a/Dockerfile", 0o644, "FROM y"), ("b", 0o755, "run")]));
        assert_ne!(base, digest(&[("a/Dockerfile", 0o644, "FROM x"), ("b", 0o644, "run")]));
        assert_ne!(base, digest(&[("a/Dockerfilb", 0o644, "FROM x"), ("b", 0o755, "run")]));
        assert_ne!(digest(&[("ab", 0o644, "c")]), digest(&[("a", 0o644, "bc")]), "fields are delimited");
    }

    #[test]
    fn a_directory_hashes_as_its_embedded_copy() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("images");
        let embedded = source_digest(embedded::FILES.iter().map(|f| (f.path.to_owned(), f.mode, f.contents.to_vec())));
        assert_eq!(source_digest(dir_files(&dir).into_iter()), embedded);
    }
    use super::*;

    #[test]
    fn embedded_catalogue_has_the_five_images_parents_first() {
        let catalogue = Catalogue::embedded().expect("embedded images");
        let names = catalogue.names();
        assert_eq!(names.len(), 5, "{names:?}");
        let position = |n: &str| names.iter().position(|x| x == n).unwrap_or_else(|| panic!("{n} missing"));
        assert!(position("wsgi") < position("wsgi-antivirus"));
        assert!(position("http-headless") < position("http-frontend"));
        position("http-buildstatic");
        let frontend = &catalogue.images[position("http-frontend")];
        assert_eq!(frontend.parent.as_deref(), Some("http-headless"));
        assert!(frontend.takes_version_arg);
        assert!(!catalogue.version.is_empty());
    }

    #[test]
    fn select_adds_parents_and_rejects_unknown_names() {
        let catalogue = Catalogue::embedded().expect("embedded images");
        let selected: Vec<String> =
            catalogue.select(&["http-frontend".into()]).expect("known").into_iter().map(|i| i.name).collect();
        assert_eq!(selected, ["http-headless", "http-frontend"]);
        let err = catalogue.select(&["nginx".into()]).expect_err("unknown");
        assert!(matches!(err, CatalogueError::Unknown { ref name, .. } if name == "nginx"));
    }

    fn image(name: &str, parent: Option<&str>) -> BaseImage {
        BaseImage {
            name: name.into(),
            dockerfile: format!("{name}/Dockerfile"),
            parent: parent.map(Into::into),
            takes_version_arg: false,
        }
    }

    #[test]
    fn build_order_puts_parents_first_and_finds_cycles() {
        let ordered =
            build_order(vec![image("c", Some("b")), image("b", Some("a")), image("a", None)]).expect("acyclic");
        let names: Vec<_> = ordered.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        let err = build_order(vec![image("a", Some("b")), image("b", Some("a"))]).expect_err("cycle");
        assert!(matches!(err, CatalogueError::Cycle { .. }));
    }

    #[test]
    fn parents_are_read_from_from_lines() {
        let dockerfiles = vec![
            ("base".to_owned(), "FROM debian:bookworm-slim\n".to_owned()),
            (
                "child".to_owned(),
                "ARG DMP_VERSION=latest\nFROM --platform=linux/amd64 dmp/base:${DMP_VERSION} AS b\n".to_owned(),
            ),
        ];
        let catalogue = Catalogue::new(Source::Embedded, "1".into(), sources(), dockerfiles).expect("valid");
        assert_eq!(catalogue.images[1].parent.as_deref(), Some("base"));
        assert!(catalogue.images[1].takes_version_arg);

        let broken = vec![("x".to_owned(), "# base\nFROM dmp/missing:1\n".to_owned())];
        let err = Catalogue::new(Source::Embedded, "1".into(), sources(), broken).expect_err("unknown parent");
        assert!(err.to_string().starts_with("x/Dockerfile:2: FROM dmp/missing"), "{err}");
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_795_321_234), "2026-11-22T04:20:34Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn from_lines_name_the_dmp_image_they_build_on() {
        let image = |line: &str| from_dmp_image(line);
        assert_eq!(image("FROM dmp/wsgi:1.0.0").as_deref(), Some("wsgi"));
        assert_eq!(
            image("  from --platform=linux/amd64 DMP/http-headless:${DMP_VERSION} AS b").as_deref(),
            Some("http-headless")
        );
        assert_eq!(image("FROM dmp/base").as_deref(), Some("base"));
        assert_eq!(image("FROM debian:bookworm-slim"), None);
        assert_eq!(image("FROM dmp/wsgi@sha256:abc"), None, "a digest is not a tag");
        assert_eq!(image("FROM dmp/-x"), None);
        assert_eq!(image("FROM other/dmp:1"), None);
        assert_eq!(image("RUN echo FROM dmp/wsgi"), None);
        assert_eq!(image("FROMX dmp/wsgi"), None);
    }

    #[test]
    fn the_version_argument_is_found_in_any_case_with_or_without_a_default() {
        assert!(declares_version_arg("FROM x\nARG DMP_VERSION\n"));
        assert!(declares_version_arg("  arg dmp_version=1.0.0"));
        assert!(!declares_version_arg("ARG DMP_VERSIONS"));
        assert!(!declares_version_arg("RUN echo ARG DMP_VERSION"));
    }
}
