//! Embeds `images/` into the binary, so `dmp images build` works from any app
//! checkout, and records which git revision of `images/` that is.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

fn main() {
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let images = root.join("images");
    println!("cargo:rerun-if-changed=images");
    // A new commit changes the revision label even when images/ is unchanged
    // on disk (a dirty tree became clean).
    for git_file in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        if root.join(git_file).exists() {
            println!("cargo:rerun-if-changed={git_file}");
        }
    }

    let mut files = Vec::new();
    collect(&images, &images, &mut files);
    files.sort();

    let mut out = String::from("pub static FILES: &[EmbeddedFile] = &[\n");
    for (rel, abs, mode) in &files {
        writeln!(out, "    EmbeddedFile {{ path: {rel:?}, mode: 0o{mode:o}, contents: include_bytes!({abs:?}) }},")
            .expect("writing to a String");
    }
    out.push_str("];\n");

    let (revision, source_date) = git_revision(&root);
    writeln!(out, "pub const REVISION: &str = {revision:?};").expect("writing to a String");
    writeln!(out, "pub const SOURCE_DATE: &str = {source_date:?};").expect("writing to a String");

    let dest = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded_images.rs");
    fs::write(dest, out).expect("writing embedded_images.rs");
}

fn collect(base: &Path, dir: &Path, files: &mut Vec<(String, String, u32)>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.expect("reading a directory entry");
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).expect("stat of an images/ file");
        if meta.is_dir() {
            collect(base, &path, files);
        } else if meta.is_file() {
            use std::os::unix::fs::PermissionsExt as _;
            let rel = path.strip_prefix(base).expect("under images/").to_string_lossy().replace('\\', "/");
            let mode = if meta.permissions().mode() & 0o111 != 0 { 0o755 } else { 0o644 };
            files.push((rel, path.to_string_lossy().into_owned(), mode));
        }
    }
}

/// The last commit that touched `images/` (with `-dirty` when the tree differs
/// from it) and that commit's date, or "unknown" outside a git checkout.
fn git_revision(root: &Path) -> (String, String) {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let Some(log) = git(&["log", "-1", "--format=%H %cI", "--", "images"]).filter(|s| !s.is_empty()) else {
        return ("unknown".into(), "unknown".into());
    };
    let (hash, date) = log.split_once(' ').unwrap_or((&log, "unknown"));
    let dirty = git(&["status", "--porcelain", "--", "images"]).is_some_and(|s| !s.is_empty());
    let revision = if dirty { format!("{hash}-dirty") } else { hash.to_owned() };
    (revision, date.to_owned())
}
