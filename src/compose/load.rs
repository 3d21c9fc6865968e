//! Loading a stack: find the files, read `.env`, parse, interpolate each
//! file, merge them in order with Compose's rules, then convert to the
//! model, checking every value. Any problem is an error that names the file,
//! line and column, before anything touches the Engine.
//!
//! The rooms: `discovery` (files, project name), `env_file` (dotenv),
//! `interpolate`, `merge`, `convert` (one file per concern), `validate`,
//! `model`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::convert::Loader;
use super::discovery::{display_path, environment, explicit_env_files, find_files};
use super::merge::{finish, merge_top};
use super::model::Project;
use super::yaml::{self, Node, Source};

pub use super::convert::parse_port;
pub use super::discovery::FILE_NAMES;
pub use super::env_file::read_env_file;
pub use super::error::{ComposeError, Located};

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Where to look for the stack file (and its parents).
    pub dir: PathBuf,
    /// `-f` files, merged in order; empty means look them up.
    pub files: Vec<PathBuf>,
    /// `-p`, else `COMPOSE_PROJECT_NAME`, else `name:`, else the directory.
    pub project_name: Option<String>,
    /// `--profile`, added to `COMPOSE_PROFILES`.
    pub profiles: Vec<String>,
}

#[derive(Debug)]
pub struct Loaded {
    pub project: Project,
    /// Things the user should know that do not stop the load.
    pub warnings: Vec<String>,
    /// Problems that stop `up` but not `config`, which Compose's `config`
    /// accepts too (a missing build context, a bind source that must exist).
    pub deferred: Vec<ComposeError>,
}

/// Finds, reads and resolves the stack described by `options`, looking up
/// variables in the process environment first, then the project's `.env`.
pub fn load(options: &LoadOptions) -> Result<Loaded, ComposeError> {
    let process: BTreeMap<String, String> = std::env::vars().collect();
    let mut env = environment(options, &process, None)?;
    let files = find_files(options, &env)?;
    // A stack file found above the directory: Compose reads the `.env`
    // beside it, not the one here.
    let found = files[0].parent().filter(|dir| options.files.is_empty() && *dir != options.dir.as_path());
    if let Some(found) = found {
        env = environment(options, &process, Some(found))?;
    }
    let dir = files[0].parent().map_or_else(|| options.dir.clone(), Path::to_path_buf);
    let lookup = move |name: &str| env.get(name).cloned();
    let mut texts = Vec::new();
    for path in &files {
        let text = crate::user_file::read_to_string(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::InvalidData => ComposeError::Project {
                message: format!("{}: the file is not UTF-8 text", display_path(path)),
                help: Some("a stack file is YAML text; check that this is the right file".into()),
            },
            _ => ComposeError::Read { path: path.clone(), error: source },
        })?;
        texts.push((display_path(path), text));
    }
    let dirs: Vec<PathBuf> = files.iter().map(|f| f.parent().map_or_else(|| dir.clone(), Path::to_path_buf)).collect();
    let mut loaded = resolve(texts.into_iter().zip(dirs).collect(), &dir, &lookup, options, files)?;
    loaded.project.env_files = explicit_env_files(options, &process);
    Ok(loaded)
}

/// Resolves one stack file given as text, with variables from `env` only:
/// the loader without the file system's files or the process environment
/// (for fuzzing and tests). Paths resolve against `dir`.
pub fn load_str(text: &str, dir: &Path, env: &BTreeMap<String, String>) -> Result<Loaded, ComposeError> {
    let lookup = |name: &str| env.get(name).cloned();
    let options = LoadOptions { dir: dir.to_owned(), project_name: Some("fuzz".into()), ..LoadOptions::default() };
    let texts = vec![(("dmp.yml".into(), text.to_owned()), dir.to_owned())];
    resolve(texts, dir, &lookup, &options, vec![dir.join("dmp.yml")])
}

/// Parses, interpolates and merges the files' texts, then builds the model.
fn resolve(
    texts: Vec<((String, String), PathBuf)>,
    dir: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
    options: &LoadOptions,
    files: Vec<PathBuf>,
) -> Result<Loaded, ComposeError> {
    let mut loader = Loader {
        sources: Vec::new(),
        warnings: std::cell::RefCell::default(),
        deferred: std::cell::RefCell::default(),
        lookup,
        dir: dir.to_owned(),
    };
    let mut merged: Option<Node> = None;
    for ((name, text), file_dir) in texts {
        let index = loader.sources.len();
        loader.sources.push(Source { name: name.clone(), text: Arc::new(text) });
        let parsed = yaml::parse(&loader.sources[index].text, index).map_err(|e| match e.pos {
            Some(pos) => loader.error(pos, &e.message, "here", Some("fix the YAML syntax at this spot")),
            None => ComposeError::Project { message: format!("{name}: {}", e.message), help: None },
        })?;
        let mut node = parsed;
        loader.interpolate(&mut node)?;
        loader.expand(&mut node, &file_dir, 0)?;
        merged = Some(match merged {
            None => node,
            Some(base) => merge_top(base, node),
        });
    }
    let root = finish(merged.ok_or_else(|| ComposeError::Project { message: "no stack file".into(), help: None })?);
    let project = loader.project(&root, options, files)?;
    Ok(Loaded { project, warnings: loader.warnings.into_inner(), deferred: loader.deferred.into_inner() })
}
