//! Finding the stack: which files, in which order, the project directory
//! and the project name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::convert::{Loader, Result};
use super::env_file::read_env_file;
use super::error::ComposeError;
use super::load::LoadOptions;
use super::yaml::Pos;

/// Stack file names, in the order they are looked for.
pub const FILE_NAMES: [&str; 6] =
    ["dmp.yml", "dmp.yaml", "compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"];

pub fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd).unwrap_or(path).display().to_string()
}

/// The variables a stack is resolved with: dmp's own environment over the
/// project's env files — `COMPOSE_ENV_FILES` (comma-separated) when set,
/// else `.env` in the working directory (`found`, the directory of the
/// stack file found above the project directory; else the first `-f`
/// file's directory; else the project directory), as Compose v2 reads them.
pub fn environment(
    options: &LoadOptions,
    process: &BTreeMap<String, String>,
    found: Option<&Path>,
) -> Result<BTreeMap<String, String>, ComposeError> {
    let work_dir = match (found, options.files.first()) {
        (Some(found), _) => found.to_owned(),
        (None, Some(first)) => {
            clean(&options.dir.join(first)).parent().map_or_else(|| options.dir.clone(), Path::to_path_buf)
        }
        (None, None) => options.dir.clone(),
    };
    let explicit = explicit_env_files(options, process);
    let env_files: Vec<(PathBuf, bool)> = if explicit.is_empty() {
        vec![(work_dir.join(".env"), false)]
    } else {
        explicit.into_iter().map(|f| (f, true)).collect()
    };
    let mut from_files = BTreeMap::new();
    for (path, required) in env_files {
        if path.is_dir() {
            continue;
        }
        let values =
            read_env_file(&path, required, &|name| process.get(name).or_else(|| from_files.get(name)).cloned())?;
        from_files.extend(values);
    }
    from_files.extend(process.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(from_files)
}

/// The env files named in `COMPOSE_ENV_FILES` (comma-separated), none when
/// it is unset and `.env` is read.
pub fn explicit_env_files(options: &LoadOptions, process: &BTreeMap<String, String>) -> Vec<PathBuf> {
    process
        .get("COMPOSE_ENV_FILES")
        .filter(|v| !v.is_empty())
        .map(|list| list.split(',').map(|f| options.dir.join(f)).collect())
        .unwrap_or_default()
}

/// The stack files in merge order: `-f`, else `COMPOSE_FILE` (split on
/// `COMPOSE_PATH_SEPARATOR`, default `:`), else the first known name in the
/// project directory or above it, with its `.override` file.
pub fn find_files(options: &LoadOptions, env: &BTreeMap<String, String>) -> Result<Vec<PathBuf>, ComposeError> {
    let named: Vec<PathBuf> = if options.files.is_empty() {
        let separator = env.get("COMPOSE_PATH_SEPARATOR").filter(|s| !s.is_empty()).map_or(":", String::as_str);
        env.get("COMPOSE_FILE")
            .filter(|f| !f.is_empty())
            .map(|list| list.split(separator).filter(|f| !f.is_empty()).map(PathBuf::from).collect())
            .unwrap_or_default()
    } else {
        options.files.clone()
    };
    if !named.is_empty() {
        return named
            .iter()
            .map(|f| {
                let path = clean(&options.dir.join(f));
                match crate::user_file::check(&path) {
                    Ok(()) => Ok(path),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ComposeError::Read {
                        path,
                        error: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                    }),
                    Err(error) => Err(ComposeError::Read { path, error }),
                }
            })
            .collect();
    }
    for dir in options.dir.ancestors() {
        if let Some(base) = FILE_NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
            let mut files = vec![base.clone()];
            // `compose.yaml` → `compose.override.yaml` / `.yml`.
            let stem = base.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            if let Some(over) =
                ["yml", "yaml"].iter().map(|ext| dir.join(format!("{stem}.override.{ext}"))).find(|p| p.is_file())
            {
                files.push(over);
            }
            return Ok(files);
        }
    }
    Err(ComposeError::NoFile { dir: options.dir.clone() })
}

/// `a/b/../c/./d` as `a/c/d`, without touching the file system (as Go's
/// `filepath.Clean`, which Compose applies): `-f ../compose.yaml` names the
/// parent directory, and the project after it.
fn clean(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                // `/..` is `/`.
                Some(Component::RootDir) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    out
}

pub(super) fn check_project_name(name: &str) -> Result<(), String> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err("a project name is lowercase letters, digits, `-` and `_`, starting with a letter or digit".into())
    }
}

impl Loader<'_> {
    pub(super) fn active_profiles(&self, options: &LoadOptions) -> BTreeSet<String> {
        let mut profiles: BTreeSet<String> = options.profiles.iter().cloned().collect();
        if let Some(list) = (self.lookup)("COMPOSE_PROFILES") {
            profiles.extend(list.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned));
        }
        profiles
    }

    pub(super) fn project_name(&self, options: &LoadOptions, in_file: Option<(String, Pos)>) -> Result<String> {
        if let Some(name) = options.project_name.clone().or_else(|| (self.lookup)("COMPOSE_PROJECT_NAME")) {
            return check_project_name(&name)
                .map(|()| name.clone())
                .map_err(|why| ComposeError::Project { message: format!("project name {name:?}: {why}"), help: None });
        }
        if let Some((name, pos)) = in_file {
            check_project_name(&name).map_err(|why| self.error(pos, &why, "this name", None))?;
            return Ok(name);
        }
        let dir_name = self.dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let sanitised: String = dir_name
            .to_lowercase()
            .chars()
            .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_')
            .collect();
        let sanitised = sanitised.trim_start_matches(['-', '_']).to_owned();
        if sanitised.is_empty() {
            return Err(ComposeError::Project {
                message: format!("cannot make a project name from the directory name {dir_name:?}"),
                help: Some("set `name:` in the stack file, or pass -p NAME".into()),
            });
        }
        Ok(sanitised)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_as_go_cleans_them() {
        assert_eq!(clean(Path::new("/w/sub/../compose.yaml")), Path::new("/w/compose.yaml"));
        assert_eq!(clean(Path::new("/w/./a/./b")), Path::new("/w/a/b"));
        assert_eq!(clean(Path::new("/../x")), Path::new("/x"));
    }
}
