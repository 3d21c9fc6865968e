//! Finding the stack: which files, in which order, the project directory
//! and the project name.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::convert::{Loader, Result};
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

pub fn find_files(options: &LoadOptions) -> Result<Vec<PathBuf>, ComposeError> {
    if !options.files.is_empty() {
        return options
            .files
            .iter()
            .map(|f| {
                let path = options.dir.join(f);
                if path.is_file() {
                    Ok(path)
                } else {
                    Err(ComposeError::Read {
                        path,
                        source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                    })
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
