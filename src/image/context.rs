//! Build contexts as tar archives, honouring `.dockerignore` the way the
//! Docker CLI does: excluded directories are not even read, the Dockerfile
//! and `.dockerignore` always go in, and owners are root (uid/gid 0).

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use crate::image::dockerignore::{DockerIgnore, PatternError};

/// A file of a context held in memory (dmp's embedded images).
#[derive(Debug, Clone, Copy)]
pub struct MemoryFile {
    pub path: &'static str,
    pub mode: u32,
    pub contents: &'static [u8],
}

/// A finished context archive.
#[derive(Debug)]
pub struct ContextArchive {
    pub tar: Vec<u8>,
    pub files: usize,
    /// Sent files that should rarely be in an image: private keys, `.git`.
    pub sensitive: Vec<String>,
}

impl ContextArchive {
    /// Adds a file dmp makes itself (not from the context directory), e.g.
    /// the host's CA bundle, after the archive was finished.
    pub fn add_file(&mut self, path: &str, contents: &[u8]) {
        // A finished archive ends with two zero blocks; the entry goes before them.
        let end = self.tar.len().saturating_sub(1024);
        if self.tar[end..].iter().all(|b| *b == 0) {
            self.tar.truncate(end);
        }
        let mut builder = tar::Builder::new(std::mem::take(&mut self.tar));
        let mut header = Archive::header(tar::EntryType::Regular, 0o644, 0, contents.len() as u64);
        let added = builder.append_data(&mut header, path, contents).is_ok();
        self.tar = builder.into_inner().unwrap_or_default();
        self.files += usize::from(added);
    }
}

/// Whether a sent path looks like a secret or a repository.
fn is_sensitive(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path == ".git"
        || path.starts_with(".git/")
        || path.contains("/.git/")
        || name.starts_with("id_rsa")
        || name.starts_with("id_ecdsa")
        || name.starts_with("id_ed25519")
        || [".pem", ".key", ".p12", ".pfx"].iter().any(|ext| name.ends_with(ext))
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ContextError {
    #[error("{}:{}: {}", .path.display(), .source.line, .source.reason)]
    #[diagnostic(
        code(dmp::context),
        help(
            "fix the pattern on that line: .dockerignore patterns are Go's filepath.Match globs, with ** and ! as the docker CLI reads them"
        )
    )]
    Ignore { path: PathBuf, source: PatternError },
    #[error("cannot read {}: {error}", .path.display())]
    #[diagnostic(
        code(dmp::context),
        help(
            "make it a regular file dmp can read; a file of the build context can also be left out by a line in .dockerignore"
        )
    )]
    Read { path: PathBuf, error: io::Error },
}

/// Tars `dir` for a build of `dockerfile` (a path inside `dir`).
pub fn from_dir(dir: &Path, dockerfile: &str) -> Result<ContextArchive, ContextError> {
    let ignore_path = dir.join(".dockerignore");
    let ignore_text = match crate::user_file::read_to_string(&ignore_path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(ContextError::Read { path: ignore_path, error: source });
        }
    };
    let ignore = load_ignore(&ignore_text, &ignore_path, dockerfile)?;
    let mut archive = Archive::new();
    archive.add_dir(dir, "", &ignore)?;
    Ok(archive.finish())
}

/// Tars in-memory files (`.dockerignore` among them applies) for a build of
/// `dockerfile`.
pub fn from_memory(files: &[MemoryFile], dockerfile: &str) -> Result<ContextArchive, ContextError> {
    let ignore_text = files
        .iter()
        .find(|f| f.path == ".dockerignore")
        .map(|f| String::from_utf8_lossy(f.contents).into_owned())
        .unwrap_or_default();
    let ignore = load_ignore(&ignore_text, Path::new(".dockerignore"), dockerfile)?;
    let mut archive = Archive::new();
    for file in files.iter().filter(|f| ignore.sends(f.path)) {
        archive.append_file(file.path, file.mode, 0, file.contents);
    }
    Ok(archive.finish())
}

fn load_ignore(text: &str, path: &Path, dockerfile: &str) -> Result<DockerIgnore, ContextError> {
    // `.env` files hold local secrets: left out unless a `!` line in the
    // .dockerignore brings them back (a later line wins). The user's lines
    // keep their numbers in messages.
    let text = format!("**/.env\n{text}");
    let mut ignore = DockerIgnore::parse(&text).map_err(|source| ContextError::Ignore {
        path: path.to_owned(),
        source: PatternError { line: source.line - 1, reason: source.reason },
    })?;
    ignore.keep(".dockerignore");
    ignore.keep(dockerfile);
    Ok(ignore)
}

struct Archive {
    builder: tar::Builder<Vec<u8>>,
    files: usize,
    sensitive: Vec<String>,
}

impl Archive {
    fn new() -> Self {
        Self { builder: tar::Builder::new(Vec::new()), files: 0, sensitive: Vec::new() }
    }

    fn header(kind: tar::EntryType, mode: u32, mtime: u64, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        header.set_size(size);
        header
    }

    fn append_file(&mut self, path: &str, mode: u32, mtime: u64, contents: &[u8]) {
        let mut header = Self::header(tar::EntryType::Regular, mode, mtime, contents.len() as u64);
        // Writing into a Vec cannot fail; a path tar cannot hold is skipped by
        // the daemon's side anyway, so it is not worth an error of its own.
        if self.builder.append_data(&mut header, path, contents).is_ok() {
            self.files += 1;
            if is_sensitive(path) {
                self.sensitive.push(path.to_owned());
            }
        }
    }

    /// Walks `dir` in name order so the same tree always makes the same tar.
    fn add_dir(&mut self, dir: &Path, rel: &str, ignore: &DockerIgnore) -> Result<(), ContextError> {
        let read_err = |path: &Path| {
            let path = path.to_owned();
            move |error| ContextError::Read { path, error }
        };
        let mut entries =
            fs::read_dir(dir).map_err(read_err(dir))?.collect::<Result<Vec<_>, _>>().map_err(read_err(dir))?;
        entries.sort_by_key(fs::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel_path = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).map_err(read_err(&path))?;
            let excluded = ignore.is_excluded(&rel_path);
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs());
            if meta.is_dir() {
                if !excluded {
                    let mut header = Self::header(tar::EntryType::Directory, 0o755, mtime, 0);
                    let _ = self.builder.append_data(&mut header, format!("{rel_path}/"), io::empty());
                } else if !ignore.may_reinclude_below(&rel_path) {
                    continue;
                }
                self.add_dir(&path, &rel_path, ignore)?;
            } else if excluded {
            } else if meta.is_symlink() {
                let target = fs::read_link(&path).map_err(read_err(&path))?;
                let mut header = Self::header(tar::EntryType::Symlink, 0o777, mtime, 0);
                if self.builder.append_link(&mut header, &rel_path, &target).is_ok() {
                    self.files += 1;
                }
            } else if meta.is_file() {
                let contents = fs::read(&path).map_err(read_err(&path))?;
                self.append_file(&rel_path, meta.permissions().mode() & 0o7777, mtime, &contents);
            }
            // Sockets, fifos and devices have no place in a build context.
        }
        Ok(())
    }

    fn finish(self) -> ContextArchive {
        let (files, sensitive) = (self.files, self.sensitive);
        let tar = self.builder.into_inner().unwrap_or_default();
        ContextArchive { tar, files, sensitive }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn names(archive: &ContextArchive) -> Vec<String> {
        let mut reader = tar::Archive::new(archive.tar.as_slice());
        let mut names: Vec<String> = reader
            .entries()
            .expect("a readable tar")
            .map(|e| e.expect("an entry").path().expect("a path").to_string_lossy().into_owned())
            .filter(|n| !n.ends_with('/'))
            .collect();
        names.sort();
        names
    }

    fn write(dir: &Path, rel: &str, contents: &str) {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        fs::write(path, contents).expect("write");
    }

    #[test]
    fn added_files_join_a_finished_archive() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "Dockerfile", "FROM x");
        let mut archive = from_dir(dir.path(), "Dockerfile").expect("context");
        archive.add_file("dmp-ca-certificates.crt", b"pem");
        assert_eq!(names(&archive), ["Dockerfile", "dmp-ca-certificates.crt"]);
        assert_eq!(archive.files, 2);
    }

    #[test]
    fn directory_context_honours_dockerignore() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for file in [
            "Dockerfile",
            "app.py",
            "README.md",
            "docs/guide.md",
            "docs/keep.md",
            "node_modules/pkg/index.js",
            "web/node_modules/pkg/index.js",
            "secrets/key.pem",
            ".env",
        ] {
            write(root, file, "x");
        }
        write(
            root,
            ".dockerignore",
            "# not Dockerfile, even if told\nDockerfile\n*.md\ndocs\n!docs/keep.md\n**/node_modules\nsecrets\n.env\n",
        );
        let archive = from_dir(root, "Dockerfile").expect("context");
        assert_eq!(names(&archive), [".dockerignore", "Dockerfile", "app.py", "docs/keep.md"], "tar entries");
        assert_eq!(archive.files, 4);
    }

    #[test]
    fn env_files_stay_out_unless_reincluded_and_secrets_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        for file in ["Dockerfile", ".env", "sub/.env", ".git/config", "certs/server.pem", "id_rsa", "app.py"] {
            write(dir.path(), file, "x");
        }
        let archive = from_dir(dir.path(), "Dockerfile").expect("context");
        let sent = names(&archive);
        assert!(!sent.iter().any(|n| n.rsplit('/').next() == Some(".env")), "{sent:?}");
        let mut sensitive = archive.sensitive.clone();
        sensitive.sort();
        assert_eq!(sensitive, [".git/config", "certs/server.pem", "id_rsa"]);

        write(dir.path(), ".dockerignore", ".git\n!.env\n");
        let archive = from_dir(dir.path(), "Dockerfile").expect("context");
        assert!(names(&archive).contains(&".env".to_owned()), "an explicit !.env brings it back");
        assert!(!names(&archive).contains(&"sub/.env".to_owned()));
        assert_eq!(archive.sensitive.len(), 2, "{:?}", archive.sensitive);
    }

    #[test]
    fn excluded_directories_are_not_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "Dockerfile", "FROM scratch");
        write(root, "big/file", "x");
        write(root, ".dockerignore", "big\n");
        // An unreadable directory would fail the walk if it were entered.
        fs::set_permissions(root.join("big"), fs::Permissions::from_mode(0o000)).expect("chmod");
        let result = from_dir(root, "Dockerfile");
        fs::set_permissions(root.join("big"), fs::Permissions::from_mode(0o755)).expect("chmod back");
        assert_eq!(names(&result.expect("context")), [".dockerignore", "Dockerfile"]);
    }

    #[test]
    fn entries_are_owned_by_root_and_keep_modes() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "Dockerfile", "FROM scratch");
        write(dir.path(), "run.sh", "#!/bin/sh");
        fs::set_permissions(dir.path().join("run.sh"), fs::Permissions::from_mode(0o755)).expect("chmod");
        let archive = from_dir(dir.path(), "Dockerfile").expect("context");
        let mut reader = tar::Archive::new(archive.tar.as_slice());
        for entry in reader.entries().expect("tar") {
            let entry = entry.expect("entry");
            let header = entry.header();
            assert_eq!((header.uid().expect("uid"), header.gid().expect("gid")), (0, 0));
            if entry.path().expect("path").ends_with("run.sh") {
                assert_eq!(header.mode().expect("mode") & 0o777, 0o755);
            }
        }
    }

    #[test]
    fn memory_context_applies_its_dockerignore() {
        let files = [
            MemoryFile { path: ".dockerignore", mode: 0o644, contents: b"**/*.md\n" },
            MemoryFile { path: "wsgi/Dockerfile", mode: 0o644, contents: b"FROM x" },
            MemoryFile { path: "wsgi/README.md", mode: 0o644, contents: b"doc" },
            MemoryFile { path: "common/run", mode: 0o755, contents: b"#!/bin/sh" },
        ];
        let archive = from_memory(&files, "wsgi/Dockerfile").expect("context");
        assert_eq!(names(&archive), [".dockerignore", "common/run", "wsgi/Dockerfile"]);
    }

    #[test]
    fn a_bad_dockerignore_names_file_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), ".dockerignore", "ok\n[broken\n");
        let err = from_dir(dir.path(), "Dockerfile").expect_err("bad pattern");
        let message = err.to_string();
        assert!(message.contains(".dockerignore:2: "), "{message}");
    }
}
