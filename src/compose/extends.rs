//! `extends` and `include`, resolved on each file's tree before the files
//! are merged, as compose-go does.
//!
//! - `extends: {service, file}` (or `extends: NAME`): the named service,
//!   itself resolved first, with this service merged over it by the merge
//!   rules. A service from another file has its relative paths made
//!   absolute from that file's directory.
//! - `include: [PATH | {path, project_directory, env_file}]`: the included
//!   file's services, networks, volumes, secrets and configs join this
//!   file's; defining one of them here as well is an error, as in Compose.
//!   Its relative paths resolve from its own directory (or
//!   `project_directory`), and its variables come from dmp's environment,
//!   then its `env_file`s (default: the `.env` beside it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::convert::{Loader, Result};
use super::env_file::read_env_file;
use super::error::ComposeError;
use super::merge::merge_service;
use super::yaml::{self, Node, Pos, Source, Value};

const SECTIONS: [&str; 5] = ["services", "networks", "volumes", "secrets", "configs"];

impl Loader<'_> {
    /// Reads, parses and interpolates another stack file, with `lookup` for
    /// its variables.
    pub(crate) fn read_stack_file(
        &mut self,
        path: &Path,
        at: Pos,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Node> {
        let text = crate::user_file::read_to_string(path).map_err(|e| {
            self.error(
                at,
                &format!("cannot read {}: {e}", path.display()),
                "this file",
                Some("fix the path (relative paths start from the file that names it)"),
            )
        })?;
        let index = self.sources.len();
        let name = super::discovery::display_path(path);
        self.sources.push(Source { name: name.clone(), text: Arc::new(text) });
        let mut node = yaml::parse(&self.sources[index].text, index).map_err(|e| match e.pos {
            Some(pos) => self.error(pos, &e.message, "here", Some("fix the YAML syntax at this spot")),
            None => ComposeError::Project { message: format!("{name}: {}", e.message), help: None },
        })?;
        self.interpolate_with(&mut node, lookup)?;
        Ok(node)
    }

    /// Resolves `include` and then `extends` in one file's tree; `dir` is
    /// the directory its relative paths start from.
    pub(crate) fn expand(&mut self, root: &mut Node, dir: &Path, depth: usize) -> Result<()> {
        self.apply_include(root, dir, depth)?;
        self.apply_extends(root, dir)
    }

    fn apply_include(&mut self, root: &mut Node, dir: &Path, depth: usize) -> Result<()> {
        let Value::Map(entries) = &mut root.value else { return Ok(()) };
        let Some(at) = entries.iter().position(|(k, _)| k.name == "include") else { return Ok(()) };
        let (key, include) = entries.remove(at);
        if depth > 16 {
            return Err(self.error(key.pos, "files include each other in a cycle", "here", None));
        }
        let items = match &include.value {
            Value::Seq(items) => items.clone(),
            Value::Null => Vec::new(),
            _ => return Err(self.expected(&include, "a list of files to include")),
        };
        for item in items {
            let mut paths = Vec::new();
            let mut project_directory = None;
            let mut env_files = Vec::new();
            match &item.value {
                Value::Map(fields) => {
                    for (k, v) in fields {
                        match k.name.as_str() {
                            "path" => paths = self.string_list(v, "a file path")?,
                            "project_directory" => project_directory = Some(self.text(v, "a directory")?),
                            "env_file" => env_files = self.string_list(v, "an env file path")?,
                            other => {
                                return Err(self.unknown(
                                    k,
                                    "include",
                                    other,
                                    &["path", "project_directory", "env_file"],
                                ));
                            }
                        }
                    }
                }
                _ => paths.push(self.text(&item, "a file path")?),
            }
            let Some(first) = paths.first() else {
                return Err(self.error(item.pos, "an include names no `path`", "here", None));
            };
            let first_path = dir.join(first);
            let included_dir = project_directory.map_or_else(
                || first_path.parent().map_or_else(|| dir.to_path_buf(), Path::to_path_buf),
                |d| dir.join(d),
            );
            let env_paths: Vec<(PathBuf, bool)> = if env_files.is_empty() {
                vec![(included_dir.join(".env"), false)]
            } else {
                env_files.iter().map(|f| (dir.join(f), true)).collect()
            };
            let mut file_env = BTreeMap::new();
            for (path, required) in env_paths {
                if path.is_dir() {
                    continue;
                }
                let values = read_env_file(&path, required, self.lookup)?;
                file_env.extend(values);
            }
            let parent = self.lookup;
            let lookup = move |name: &str| parent(name).or_else(|| file_env.get(name).cloned());
            let mut merged: Option<Node> = None;
            for path in &paths {
                let mut node = self.read_stack_file(&dir.join(path), item.pos, &lookup)?;
                self.expand(&mut node, &included_dir, depth + 1)?;
                relocate_project(&mut node, &included_dir);
                merged = Some(match merged {
                    None => node,
                    Some(base) => super::merge::merge_top(base, node),
                });
            }
            if let Some(included) = merged {
                self.add_included(root, included, item.pos)?;
            }
        }
        Ok(())
    }

    /// Adds an included file's resources; one defined on both sides is an error.
    fn add_included(&self, root: &mut Node, included: Node, at: Pos) -> Result<()> {
        let Value::Map(included) = included.value else { return Ok(()) };
        let Value::Map(entries) = &mut root.value else { return Ok(()) };
        for (section, value) in included {
            if !SECTIONS.contains(&section.name.as_str()) {
                continue;
            }
            let Value::Map(items) = value.value else { continue };
            let own = entries.iter().position(|(k, _)| k.name == section.name).unwrap_or_else(|| {
                entries.push((section.clone(), Node::new(Value::Map(Vec::new()), at)));
                entries.len() - 1
            });
            let Value::Map(own_items) = &mut entries[own].1.value else { continue };
            for (key, item) in items {
                if own_items.iter().any(|(k, _)| k.name == key.name) {
                    return Err(self.error(
                        at,
                        &format!("{}.{} is defined here and in an included file", section.name, key.name),
                        "this include",
                        Some("rename one of them: Compose refuses the conflict too"),
                    ));
                }
                own_items.push((key, item));
            }
        }
        Ok(())
    }

    fn apply_extends(&mut self, root: &mut Node, dir: &Path) -> Result<()> {
        let Some(services) = root.get("services").cloned() else { return Ok(()) };
        let Value::Map(entries) = &services.value else { return Ok(()) };
        let mut resolved = Vec::new();
        for (key, _) in entries {
            let mut chain = Vec::new();
            let node = self.extended(&services, &key.name, dir, dir, &mut chain)?;
            resolved.push((key.clone(), node));
        }
        if let Value::Map(top) = &mut root.value
            && let Some((_, node)) = top.iter_mut().find(|(k, _)| k.name == "services")
        {
            node.value = Value::Map(resolved);
        }
        Ok(())
    }

    /// The service `name` of `services` (a file whose relative paths start
    /// at `dir`) with its `extends` resolved, its paths relative to `home`.
    fn extended(
        &mut self,
        services: &Node,
        name: &str,
        dir: &Path,
        home: &Path,
        chain: &mut Vec<(PathBuf, String)>,
    ) -> Result<Node> {
        let Some(node) = services.get(name).cloned() else {
            return Err(ComposeError::Project {
                message: format!("extends names the service {name}, which is not there"),
                help: None,
            });
        };
        let link = (dir.to_path_buf(), name.to_owned());
        if chain.contains(&link) {
            let names: Vec<&str> = chain.iter().map(|(_, n)| n.as_str()).collect();
            return Err(self.error(
                node.pos,
                &format!("services extend each other in a cycle: {} -> {name}", names.join(" -> ")),
                "here",
                Some("remove one of these `extends`"),
            ));
        }
        chain.push(link);
        let Some(extends) = node.get("extends").cloned() else {
            let mut node = node;
            if dir != home {
                relocate_service(&mut node, dir);
            }
            return Ok(node);
        };
        let (base_name, file) = match &extends.value {
            Value::Map(fields) => {
                let mut base = None;
                let mut file = None;
                for (k, v) in fields {
                    match k.name.as_str() {
                        "service" => base = Some(self.text(v, "a service name")?),
                        "file" => file = Some(self.text(v, "a stack file path")?),
                        other => return Err(self.unknown(k, "extends", other, &["service", "file"])),
                    }
                }
                let base = base.ok_or_else(|| self.error(extends.pos, "extends needs `service`", "here", None))?;
                (base, file)
            }
            _ => (self.text(&extends, "a service name")?, None),
        };
        let base = if let Some(file) = file {
            let path = dir.join(&file);
            let lookup = self.lookup;
            let other = self.read_stack_file(&path, extends.pos, lookup)?;
            let other_dir = path.parent().map_or_else(|| dir.to_path_buf(), Path::to_path_buf);
            let other_services = other.get("services").cloned().unwrap_or_else(|| Node::new(Value::Null, other.pos));
            if other_services.get(&base_name).is_none() {
                return Err(self.error(
                    extends.pos,
                    &format!("extends names the service {base_name}, which is not in {file}"),
                    "here",
                    None,
                ));
            }
            self.extended(&other_services, &base_name, &other_dir, home, chain)?
        } else {
            if services.get(&base_name).is_none() {
                return Err(self.error(
                    extends.pos,
                    &format!("extends names the service {base_name}, which is not in this file"),
                    "here",
                    Some("name a service of this file, or add `file:`"),
                ));
            }
            self.extended(services, &base_name, dir, home, chain)?
        };
        chain.pop();
        let mut own = node;
        if let Value::Map(fields) = &mut own.value {
            fields.retain(|(k, _)| k.name != "extends");
        }
        if dir != home {
            relocate_service(&mut own, dir);
        }
        Ok(merge_service(name, base, own))
    }
}

/// Makes every relative path of an included file's services absolute.
fn relocate_project(root: &mut Node, dir: &Path) {
    let Value::Map(top) = &mut root.value else { return };
    for (key, section) in top.iter_mut() {
        let Value::Map(items) = &mut section.value else { continue };
        match key.name.as_str() {
            "services" => items.iter_mut().for_each(|(_, service)| relocate_service(service, dir)),
            "secrets" | "configs" => {
                for (_, item) in items.iter_mut() {
                    if let Value::Map(fields) = &mut item.value {
                        for (k, v) in fields.iter_mut() {
                            if k.name == "file" {
                                absolute(v, dir);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// Makes a service's relative paths (build context, env files, bind
/// sources, `extends.file`) absolute from `dir`.
fn relocate_service(service: &mut Node, dir: &Path) {
    let Value::Map(fields) = &mut service.value else { return };
    for (key, value) in fields.iter_mut() {
        match (key.name.as_str(), &mut value.value) {
            ("build" | "env_file", Value::Str(_)) => absolute(value, dir),
            ("build", Value::Map(build)) => {
                for (k, v) in build.iter_mut() {
                    if k.name == "context" && !v.as_str().is_some_and(|c| c.contains("://") || c.starts_with("git@")) {
                        absolute(v, dir);
                    }
                }
            }
            ("env_file", Value::Seq(items)) => {
                for item in items {
                    match &mut item.value {
                        Value::Str(_) => absolute(item, dir),
                        Value::Map(entry) => {
                            for (k, v) in entry.iter_mut() {
                                if k.name == "path" {
                                    absolute(v, dir);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            ("volumes", Value::Seq(items)) => {
                for item in items {
                    match &mut item.value {
                        Value::Str(text) if text.starts_with('.') => {
                            let (source, rest) = text.split_once(':').unwrap_or((text.as_str(), ""));
                            let source = dir.join(source).to_string_lossy().into_owned();
                            *text = if rest.is_empty() { source } else { format!("{source}:{rest}") };
                        }
                        Value::Map(entry) => {
                            let bind = entry.iter().any(|(k, v)| k.name == "type" && v.as_str() == Some("bind"));
                            for (k, v) in entry.iter_mut() {
                                if bind && k.name == "source" && v.as_str().is_some_and(|s| s.starts_with('.')) {
                                    absolute(v, dir);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            ("extends", Value::Map(extends)) => {
                for (k, v) in extends.iter_mut() {
                    if k.name == "file" {
                        absolute(v, dir);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A relative path string made absolute from `dir`.
fn absolute(node: &mut Node, dir: &Path) {
    if let Value::Str(text) = &mut node.value
        && !text.starts_with('/')
        && !text.starts_with('~')
    {
        *text = dir.join(&*text).to_string_lossy().into_owned();
    }
}

#[cfg(test)]
mod tests {
    use crate::compose::{LoadOptions, load};

    /// The case `docker compose config` (v2.26) was run on: same values.
    #[test]
    fn extends_and_include_resolve_as_compose_does() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |path: &str, text: &str| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        };
        write(
            "compose.yaml",
            "include: [inc/compose.yaml]\nservices:\n  base:\n    image: base\n    environment: {A: '1', B: '2'}\n    volumes: ['./data:/data']\n  web:\n    extends: base\n    environment: {B: '3'}\n    command: run\n  other:\n    extends: {file: sub/common.yml, service: common}\n    image: other\n",
        );
        write(
            "sub/common.yml",
            "services:\n  common:\n    image: common\n    build: ./ctx\n    volumes: ['./subdata:/sub']\n    env_file: sub.env\n",
        );
        write("sub/ctx/Dockerfile", "FROM scratch\n");
        write("sub/sub.env", "S=1\n");
        write("inc/compose.yaml", "services:\n  inc:\n    image: inc-${INCVAR}\n    volumes: ['./incdata:/i']\n");
        write("inc/.env", "INCVAR=fromincenv\n");
        let options =
            LoadOptions { dir: dir.path().to_owned(), project_name: Some("ext".into()), ..LoadOptions::default() };
        let project = load(&options).expect("loads").project;
        let root = dir.path().to_string_lossy().into_owned();
        let web = &project.services["web"];
        assert_eq!(web.image.as_deref(), Some("base"));
        assert_eq!(web.environment.get("B").map(String::as_str), Some("3"));
        assert_eq!(web.environment.get("A").map(String::as_str), Some("1"));
        assert_eq!(web.volumes[0].source.as_deref(), Some(format!("{root}/data").as_str()));
        let other = &project.services["other"];
        assert_eq!(other.image.as_deref(), Some("other"));
        assert_eq!(other.volumes[0].source.as_deref(), Some(format!("{root}/sub/subdata").as_str()));
        assert_eq!(other.build.as_ref().map(|b| b.context.clone()), Some(dir.path().join("sub/ctx")));
        assert_eq!(other.environment.get("S").map(String::as_str), Some("1"));
        let inc = &project.services["inc"];
        assert_eq!(inc.image.as_deref(), Some("inc-fromincenv"));
        assert_eq!(inc.volumes[0].source.as_deref(), Some(format!("{root}/inc/incdata").as_str()));
    }

    #[test]
    fn an_extends_cycle_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("compose.yaml"),
            "services:\n  a:\n    extends: b\n  b:\n    extends: a\n    image: x\n",
        )
        .expect("write");
        let options =
            LoadOptions { dir: dir.path().to_owned(), project_name: Some("ext".into()), ..LoadOptions::default() };
        let error = load(&options).expect_err("a cycle");
        assert!(error.to_string().contains("cycle"), "{error}");
    }
}
