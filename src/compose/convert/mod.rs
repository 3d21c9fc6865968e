//! From the merged YAML tree to the model: the project level here, each
//! concern in its own file. Every value is checked and every error points
//! at its spot.

mod build;
mod dmp;
mod mounts;
mod networks;
mod ports;
mod resources;
mod runtime;
mod service;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::compose::error::Excerpt;

use super::error::{ComposeError, Located};
use super::interpolate::{InterpolationError, interpolate};
use super::load::LoadOptions;
use super::model::{Condition, Dependency};
use super::model::{DmpSettings, Project};
use super::validate::{check_name, implied_dependencies};
use super::yaml::{Key, Node, Pos, Source, Value};

pub use ports::parse_port;

pub struct Loader<'a> {
    pub sources: Vec<Source>,
    pub warnings: std::cell::RefCell<Vec<String>>,
    /// Problems that stop running the stack but not printing it (Compose's
    /// `config` accepts them): a missing build context, a bind source that
    /// must exist.
    pub deferred: std::cell::RefCell<Vec<ComposeError>>,
    pub lookup: &'a dyn Fn(&str) -> Option<String>,
    pub dir: PathBuf,
}

pub type Result<T, E = ComposeError> = std::result::Result<T, E>;

impl Loader<'_> {
    pub(super) fn location(&self, pos: Pos) -> String {
        let name = self.sources.get(pos.file).map_or("?", |s| s.name.as_str());
        format!("{name}:{}:{}", pos.line, pos.column)
    }

    pub(super) fn error(&self, pos: Pos, message: &str, label: &str, help: Option<&str>) -> ComposeError {
        let source = &self.sources[pos.file.min(self.sources.len() - 1)];
        let (source_code, span) = Excerpt::new(source.name.clone(), &source.text, pos.offset, pos.len);
        ComposeError::At(Box::new(Located {
            location: self.location(pos),
            message: message.to_owned(),
            source_code,
            span,
            label: label.to_owned(),
            // Every error says what to do; the specific fix where there is one.
            help: Some(help.unwrap_or("docs/stack-file.md lists every key and its forms").to_owned()),
        }))
    }

    pub(super) fn expected(&self, node: &Node, what: &str) -> ComposeError {
        self.error(
            node.pos,
            &format!("expected {what}, found {}", node.kind()),
            &format!("expected {what}"),
            Some(&format!("write {what} here; docs/stack-file.md lists every key and its forms")),
        )
    }

    /// A problem with the stack as a whole: named after its first file.
    pub(super) fn project_error(&self, message: &str, help: &str) -> ComposeError {
        let file = self.sources.first().map_or("the stack file", |s| s.name.as_str());
        ComposeError::Project { message: format!("{file}: {message}"), help: Some(help.to_owned()) }
    }

    pub(super) fn warn(&self, pos: Pos, message: &str) {
        let warning = format!("{}: {message}", self.location(pos));
        let mut warnings = self.warnings.borrow_mut();
        if !warnings.contains(&warning) {
            warnings.push(warning);
        }
    }

    pub(super) fn defer(&self, error: ComposeError) {
        self.deferred.borrow_mut().push(error);
    }

    /// A key the Compose Specification does not have here (Compose rejects
    /// it too).
    pub(super) fn unknown(&self, key: &Key, what: &str, name: &str, known: &[&str]) -> ComposeError {
        self.error(
            key.pos,
            &format!("`{name}` is not a {what} setting"),
            "unknown key",
            Some(&format!("{what} settings are: {}", known.join(", "))),
        )
    }

    /// `KEY: value` mappings or `KEY=value` lists as a map; a key without a
    /// value is empty.
    pub(super) fn string_map(&self, node: &Node) -> Result<BTreeMap<String, String>> {
        Ok(self
            .key_values(node, "a mapping or a list of KEY=value")?
            .into_iter()
            .map(|(k, v, _)| (k, v.unwrap_or_default()))
            .collect())
    }

    /// Interpolates every string value (not keys), as Compose does.
    pub(super) fn interpolate(&mut self, node: &mut Node) -> Result<()> {
        let lookup = self.lookup;
        self.interpolate_with(node, lookup)
    }

    /// Interpolates with `lookup` (an included file has variables of its own).
    pub(crate) fn interpolate_with(&self, node: &mut Node, lookup: &dyn Fn(&str) -> Option<String>) -> Result<()> {
        match &mut node.value {
            Value::Str(text) if text.contains('$') => {
                let result = interpolate(text, lookup).map_err(|e| {
                    let help = match &e {
                        InterpolationError::Required { var, .. } => {
                            format!("set {var} in the environment or in the project's .env file")
                        }
                        _ => "write `$$` for a literal `$`".to_owned(),
                    };
                    self.error(node.pos, &e.to_string(), "in this value", Some(&help))
                })?;
                for var in &result.unset {
                    self.warn(node.pos, &format!("variable {var} is not set; using an empty string"));
                }
                *text = result.text;
            }
            Value::Seq(items) => {
                for item in items {
                    self.interpolate_with(item, lookup)?;
                }
            }
            Value::Map(entries) => {
                for (_, value) in entries {
                    self.interpolate_with(value, lookup)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    pub(super) fn entries<'n>(&self, node: &'n Node, what: &str) -> Result<&'n [(Key, Node)]> {
        match &node.value {
            Value::Map(entries) => Ok(entries),
            Value::Null => Ok(&[]),
            _ => Err(self.expected(node, what)),
        }
    }

    pub(super) fn string(&self, node: &Node, what: &str) -> Result<String> {
        match &node.value {
            Value::Str(s) => Ok(s.clone()),
            _ => Err(self.expected(node, what)),
        }
    }

    /// A scalar read as text (`8080`, `true` and `"x"` alike).
    pub(super) fn text(&self, node: &Node, what: &str) -> Result<String> {
        node.scalar_text().ok_or_else(|| self.expected(node, what))
    }

    pub(super) fn bool(&self, node: &Node, what: &str) -> Result<bool> {
        match &node.value {
            Value::Bool(b) => Ok(*b),
            _ => Err(self.expected(node, what)),
        }
    }

    /// A string or a list of strings.
    pub(super) fn string_list(&self, node: &Node, what: &str) -> Result<Vec<String>> {
        match &node.value {
            Value::Str(s) => Ok(vec![s.clone()]),
            Value::Seq(items) => items.iter().map(|i| self.text(i, what)).collect(),
            _ => Err(self.expected(node, &format!("{what}, or a list of them"))),
        }
    }

    /// A command: a string split like a shell would, or a list.
    pub(super) fn command(&self, node: &Node) -> Result<Vec<String>> {
        match &node.value {
            Value::Str(s) => shell_words::split(s).map_err(|e| {
                self.error(node.pos, &format!("cannot split this command: {e}"), "here", Some("close the quote"))
            }),
            Value::Seq(items) => items.iter().map(|i| self.text(i, "a command argument")).collect(),
            _ => Err(self.expected(node, "a command (a string or a list of strings)")),
        }
    }

    /// `KEY: value` mappings or `["KEY=value", "KEY"]` lists; `None` for a
    /// key without a value.
    pub(super) fn key_values(&self, node: &Node, what: &str) -> Result<Vec<(String, Option<String>, Pos)>> {
        match &node.value {
            Value::Map(entries) => entries
                .iter()
                .map(|(k, v)| {
                    let value = match v.value {
                        Value::Null => None,
                        _ => Some(self.text(v, &format!("a plain value for {}", k.name))?),
                    };
                    Ok((k.name.clone(), value, k.pos))
                })
                .collect(),
            Value::Seq(items) => items
                .iter()
                .map(|item| {
                    let text = self.text(item, "KEY=value")?;
                    Ok(match text.split_once('=') {
                        Some((k, v)) => (k.to_owned(), Some(v.to_owned()), item.pos),
                        None => (text, None, item.pos),
                    })
                })
                .collect(),
            Value::Null => Ok(Vec::new()),
            _ => Err(self.expected(node, what)),
        }
    }

    pub(super) fn project(&mut self, root: &Node, options: &LoadOptions, files: Vec<PathBuf>) -> Result<Project> {
        let mut services_node = None;
        let mut volumes = BTreeMap::new();
        let mut networks = BTreeMap::new();
        let mut secrets = BTreeMap::new();
        let mut configs = BTreeMap::new();
        let mut dmp = DmpSettings::default();
        let mut extensions = BTreeMap::new();
        let mut name_in_file = None;
        for (key, value) in self.entries(root, "a mapping with `services:`")? {
            match key.name.as_str() {
                "services" => services_node = Some(value),
                "volumes" => volumes = self.volumes(value)?,
                "networks" => networks = self.networks(value)?,
                "secrets" => secrets = self.file_sources(value, "secret")?,
                "configs" => configs = self.file_sources(value, "config")?,
                "name" => name_in_file = Some((self.string(value, "a project name")?, value.pos)),
                "x-dmp" => {
                    dmp = self.dmp_settings(value)?;
                    extensions.insert("x-dmp".to_owned(), to_json(value));
                }
                // Obsolete in Compose v2; accepted as it is.
                "version" => {}
                other if other.starts_with("x-") => {
                    extensions.insert(other.to_owned(), to_json(value));
                }
                other => {
                    return Err(self.unknown(
                        key,
                        "top-level",
                        other,
                        &["name", "services", "networks", "volumes", "secrets", "configs", "include", "x-…"],
                    ));
                }
            }
        }
        let Some(services_node) = services_node else {
            return Err(self.error(
                root.pos,
                "the stack has no `services:`",
                "here",
                Some("add a `services:` mapping with at least one service"),
            ));
        };

        let active_profiles = self.active_profiles(options);
        let mut services = BTreeMap::new();
        let mut inactive = BTreeSet::new();
        let mut depends_pos = Vec::new();
        for (key, node) in self.entries(services_node, "a mapping of service names to services")? {
            check_name(&key.name).map_err(|why| self.error(key.pos, &why, "this name", None))?;
            let mut service = self.service(&key.name, node, &mut depends_pos)?;
            // Compose makes a service depend on those whose container it
            // uses (`network_mode: service:`, `links`, `volumes_from`).
            for dependency in implied_dependencies(&service) {
                if let std::collections::btree_map::Entry::Vacant(entry) = service.depends_on.entry(dependency) {
                    depends_pos.push((key.name.clone(), entry.key().clone(), key.pos));
                    entry.insert(Dependency { condition: Condition::ServiceStarted, restart: false, required: true });
                }
            }
            if service.replicas.is_some_and(|n| n != 1) {
                self.defer(self.error(
                    key.pos,
                    &format!(
                        "service {} asks for {} containers; dmp runs one container per service",
                        key.name,
                        service.replicas.unwrap_or(1)
                    ),
                    "this service",
                    Some("remove `scale`/`deploy.replicas` (or set it to 1) to run it with dmp"),
                ));
            }
            if service.profiles.is_empty() || service.profiles.iter().any(|p| active_profiles.contains(p)) {
                services.insert(key.name.clone(), service);
            } else {
                inactive.insert(key.name.clone());
            }
        }

        self.drop_missing_optional_dependencies(&mut services);
        self.check_references(&services, &inactive, &depends_pos, &volumes, &networks, &dmp)?;
        self.check_files(&services, &secrets, &configs)?;

        dmp.auto_start_server =
            (self.lookup)("AUTO_START_SERVER").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let name = self.project_name(options, name_in_file)?;
        Ok(Project {
            name,
            dir: self.dir.clone(),
            files,
            env_files: Vec::new(),
            services,
            networks,
            volumes,
            secrets,
            configs,
            dmp,
            extensions,
        })
    }
}

/// A YAML value as JSON, types kept (an `x-` key is printed back as written).
pub(super) fn to_json(node: &Node) -> serde_json::Value {
    match &node.value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Value::from(*f),
        Value::Str(s) => serde_json::Value::String(s.clone()),
        Value::Seq(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => {
            serde_json::Value::Object(entries.iter().map(|(k, v)| (k.name.clone(), to_json(v))).collect())
        }
    }
}
