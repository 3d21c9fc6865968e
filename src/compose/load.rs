//! Loading a stack: find the files, read `.env`, parse, interpolate each
//! file, merge them in order with Compose's rules, then convert to the
//! model, checking every value. Any problem is an error that names the file,
//! line and column, before anything touches the Engine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

use super::interpolate::{InterpolationError, interpolate};
use super::model::{
    Build, Condition, Dependency, DmpSettings, Healthcheck, Mount, MountKind, Network, Port, Project, Service, Volume,
    WatchRule, duration_text,
};
use super::yaml::{self, Key, Node, Pos, Source, Value};

/// Stack file names, in the order they are looked for.
pub const FILE_NAMES: [&str; 6] =
    ["dmp.yml", "dmp.yaml", "compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"];

const DMP_KEYS: [&str; 7] = ["app", "http", "http_path", "shell", "migrate", "start", "watch"];

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
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ComposeError {
    #[error("no stack file in {} or any directory above it (looked for {})", dir.display(), FILE_NAMES.join(", "))]
    #[diagnostic(
        code(dmp::compose::no_file),
        help("run dmp in the app's directory, name the file with -f, or create one with `dmp init`")
    )]
    NoFile { dir: PathBuf },

    #[error("cannot read {}: {source}", path.display())]
    #[diagnostic(code(dmp::compose::read))]
    Read { path: PathBuf, source: std::io::Error },

    /// A problem at a spot in a file (boxed: it carries the file's text).
    #[error(transparent)]
    #[diagnostic(transparent)]
    At(Box<Located>),

    #[error("{}:{line}: {message}", path.display())]
    #[diagnostic(code(dmp::compose::env_file))]
    EnvFile {
        path: PathBuf,
        line: usize,
        message: String,
        #[help]
        help: Option<String>,
    },

    #[error("{message}")]
    #[diagnostic(code(dmp::compose::project))]
    Project {
        message: String,
        #[help]
        help: Option<String>,
    },
}

/// A problem at a spot in a stack file, shown with the line and a caret.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{location}: {message}")]
#[diagnostic(code(dmp::compose::invalid))]
pub struct Located {
    pub location: String,
    pub message: String,
    #[source_code]
    source_code: NamedSource<String>,
    #[label("{label}")]
    span: SourceSpan,
    label: String,
    #[help]
    help: Option<String>,
}

/// Finds, reads and resolves the stack described by `options`, looking up
/// variables in the process environment first, then the project's `.env`.
pub fn load(options: &LoadOptions) -> Result<Loaded, ComposeError> {
    let files = find_files(options)?;
    let dir = files[0].parent().map_or_else(|| options.dir.clone(), Path::to_path_buf);
    let dotenv = read_env_file(&dir.join(".env"), false)?;
    let lookup = move |name: &str| std::env::var(name).ok().or_else(|| dotenv.get(name).cloned());
    let mut texts = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::InvalidData => ComposeError::Project {
                message: format!("{}: the file is not UTF-8 text", display_path(path)),
                help: Some("a stack file is YAML text; check that this is the right file".into()),
            },
            _ => ComposeError::Read { path: path.clone(), source },
        })?;
        texts.push((display_path(path), text));
    }
    resolve(texts, &dir, &lookup, options, files)
}

/// Resolves one stack file given as text, with variables from `env` only:
/// the loader without the file system's files or the process environment
/// (for fuzzing and tests). Paths resolve against `dir`.
pub fn load_str(text: &str, dir: &Path, env: &BTreeMap<String, String>) -> Result<Loaded, ComposeError> {
    let lookup = |name: &str| env.get(name).cloned();
    let options = LoadOptions { dir: dir.to_owned(), project_name: Some("fuzz".into()), ..LoadOptions::default() };
    resolve(vec![("dmp.yml".into(), text.to_owned())], dir, &lookup, &options, vec![dir.join("dmp.yml")])
}

/// Parses, interpolates and merges the files' texts, then builds the model.
fn resolve(
    texts: Vec<(String, String)>,
    dir: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
    options: &LoadOptions,
    files: Vec<PathBuf>,
) -> Result<Loaded, ComposeError> {
    let mut loader = Loader { sources: Vec::new(), warnings: Vec::new(), lookup, dir: dir.to_owned() };
    let mut merged: Option<Node> = None;
    for (name, text) in texts {
        let index = loader.sources.len();
        loader.sources.push(Source { name: name.clone(), text: Arc::new(text) });
        let parsed = yaml::parse(&loader.sources[index].text, index).map_err(|e| match e.pos {
            Some(pos) => loader.error(pos, &e.message, "here", Some("fix the YAML syntax at this spot")),
            None => ComposeError::Project { message: format!("{name}: {}", e.message), help: None },
        })?;
        let mut node = parsed;
        loader.interpolate(&mut node)?;
        merged = Some(match merged {
            None => node,
            Some(base) => merge_top(base, node),
        });
    }
    let root = merged.ok_or_else(|| ComposeError::Project { message: "no stack file".into(), help: None })?;
    let project = loader.project(&root, options, files)?;
    Ok(Loaded { project, warnings: loader.warnings })
}

fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd).unwrap_or(path).display().to_string()
}

fn find_files(options: &LoadOptions) -> Result<Vec<PathBuf>, ComposeError> {
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

/// Reads a dotenv file with dotenvy's parser, without touching the process
/// environment. A missing file is empty unless `required`.
pub fn read_env_file(path: &Path, required: bool) -> Result<BTreeMap<String, String>, ComposeError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(BTreeMap::new()),
        Err(source) => return Err(ComposeError::Read { path: path.to_owned(), source }),
    };
    let mut values = BTreeMap::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok((key, value)) => {
                values.insert(key, value);
            }
            Err(dotenvy::Error::LineParse(line_text, column)) => {
                let line = text.lines().position(|l| line_text.starts_with(l) && !l.is_empty()).map_or(0, |i| i + 1);
                return Err(ComposeError::EnvFile {
                    path: path.to_owned(),
                    line,
                    message: format!("cannot parse `{}` (at character {column})", line_text.trim_end()),
                    help: Some("lines are KEY=value; quote values with spaces or special characters".into()),
                });
            }
            Err(other) => {
                return Err(ComposeError::EnvFile {
                    path: path.to_owned(),
                    line: 0,
                    message: other.to_string(),
                    help: None,
                });
            }
        }
    }
    Ok(values)
}

struct Loader<'a> {
    sources: Vec<Source>,
    warnings: Vec<String>,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    dir: PathBuf,
}

type Result<T, E = ComposeError> = std::result::Result<T, E>;

impl Loader<'_> {
    fn location(&self, pos: Pos) -> String {
        let name = self.sources.get(pos.file).map_or("?", |s| s.name.as_str());
        format!("{name}:{}:{}", pos.line, pos.column)
    }

    fn error(&self, pos: Pos, message: &str, label: &str, help: Option<&str>) -> ComposeError {
        let source = &self.sources[pos.file.min(self.sources.len() - 1)];
        ComposeError::At(Box::new(Located {
            location: self.location(pos),
            message: message.to_owned(),
            source_code: NamedSource::new(source.name.clone(), (*source.text).clone()),
            span: (pos.offset, pos.len.max(1)).into(),
            label: label.to_owned(),
            // Every error says what to do; the specific fix where there is one.
            help: Some(help.unwrap_or("docs/stack-file.md lists every key and its forms").to_owned()),
        }))
    }

    fn expected(&self, node: &Node, what: &str) -> ComposeError {
        self.error(
            node.pos,
            &format!("expected {what}, found {}", node.kind()),
            &format!("expected {what}"),
            Some(&format!("write {what} here; docs/stack-file.md lists every key and its forms")),
        )
    }

    /// A problem with the stack as a whole: named after its first file.
    fn project_error(&self, message: &str, help: &str) -> ComposeError {
        let file = self.sources.first().map_or("the stack file", |s| s.name.as_str());
        ComposeError::Project { message: format!("{file}: {message}"), help: Some(help.to_owned()) }
    }

    fn warn(&mut self, pos: Pos, message: &str) {
        let warning = format!("{}: {message}", self.location(pos));
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    /// Interpolates every string value (not keys), as Compose does.
    fn interpolate(&mut self, node: &mut Node) -> Result<()> {
        match &mut node.value {
            Value::Str(text) if text.contains('$') => {
                let result = interpolate(text, self.lookup).map_err(|e| {
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
                    self.interpolate(item)?;
                }
            }
            Value::Map(entries) => {
                for (_, value) in entries {
                    self.interpolate(value)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn entries<'n>(&self, node: &'n Node, what: &str) -> Result<&'n [(Key, Node)]> {
        match &node.value {
            Value::Map(entries) => Ok(entries),
            Value::Null => Ok(&[]),
            _ => Err(self.expected(node, what)),
        }
    }

    fn string(&self, node: &Node, what: &str) -> Result<String> {
        match &node.value {
            Value::Str(s) => Ok(s.clone()),
            _ => Err(self.expected(node, what)),
        }
    }

    /// A scalar read as text (`8080`, `true` and `"x"` alike).
    fn text(&self, node: &Node, what: &str) -> Result<String> {
        node.scalar_text().ok_or_else(|| self.expected(node, what))
    }

    fn bool(&self, node: &Node, what: &str) -> Result<bool> {
        match &node.value {
            Value::Bool(b) => Ok(*b),
            _ => Err(self.expected(node, what)),
        }
    }

    /// A string or a list of strings.
    fn string_list(&self, node: &Node, what: &str) -> Result<Vec<String>> {
        match &node.value {
            Value::Str(s) => Ok(vec![s.clone()]),
            Value::Seq(items) => items.iter().map(|i| self.text(i, what)).collect(),
            _ => Err(self.expected(node, &format!("{what}, or a list of them"))),
        }
    }

    /// A command: a string split like a shell would, or a list.
    fn command(&self, node: &Node) -> Result<Vec<String>> {
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
    fn key_values(&self, node: &Node, what: &str) -> Result<Vec<(String, Option<String>, Pos)>> {
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

    fn project(&mut self, root: &Node, options: &LoadOptions, files: Vec<PathBuf>) -> Result<Project> {
        let mut services_node = None;
        let mut volumes = BTreeMap::new();
        let mut networks = BTreeMap::new();
        let mut dmp = DmpSettings::default();
        let mut name_in_file = None;
        for (key, value) in self.entries(root, "a mapping with `services:`")? {
            match key.name.as_str() {
                "services" => services_node = Some(value),
                "volumes" => volumes = self.named_resources(value, "volume")?,
                "networks" => {
                    networks = self
                        .named_resources(value, "network")?
                        .into_iter()
                        .map(|(k, v)| (k, Network { name: v.name, external: v.external }))
                        .collect();
                }
                "name" => name_in_file = Some((self.string(value, "a project name")?, value.pos)),
                "x-dmp" => dmp = self.dmp_settings(value)?,
                // Obsolete in Compose v2; accepted as it is.
                "version" => {}
                other if other.starts_with("x-") => {}
                other => self.warn(key.pos, &format!("top-level key `{other}` is not supported by dmp and is ignored")),
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
            let service = self.service(&key.name, node, &mut depends_pos)?;
            if service.profiles.is_empty() || service.profiles.iter().any(|p| active_profiles.contains(p)) {
                services.insert(key.name.clone(), service);
            } else {
                inactive.insert(key.name.clone());
            }
        }

        self.check_references(&services, &inactive, &depends_pos, &volumes, &networks, &dmp)?;

        dmp.auto_start_server =
            (self.lookup)("AUTO_START_SERVER").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let name = self.project_name(options, name_in_file)?;
        Ok(Project { name, dir: self.dir.clone(), files, services, networks, volumes, dmp })
    }

    /// `depends_on`, volumes, networks and `x-dmp` services must all exist.
    fn check_references(
        &self,
        services: &BTreeMap<String, Service>,
        inactive: &BTreeSet<String>,
        depends_pos: &[(String, String, Pos)],
        volumes: &BTreeMap<String, Volume>,
        networks: &BTreeMap<String, Network>,
        dmp: &DmpSettings,
    ) -> Result<()> {
        for (service, dependency, pos) in depends_pos {
            if !services.contains_key(service) {
                continue;
            }
            if inactive.contains(dependency) {
                return Err(self.error(
                    *pos,
                    &format!("service {service} depends on {dependency}, which is in a profile that is not enabled"),
                    "this dependency",
                    Some(&format!("enable its profile with --profile, or remove {dependency} from depends_on")),
                ));
            }
            if !services.contains_key(dependency) {
                let known: Vec<&str> = services.keys().map(String::as_str).collect();
                return Err(self.error(
                    *pos,
                    &format!("service {service} depends on {dependency}, which is not a service"),
                    "unknown service",
                    Some(&format!("the services are: {}", known.join(", "))),
                ));
            }
        }
        check_cycles(services).map_err(|cycle| {
            self.project_error(
                &format!("the services depend on each other in a cycle: {}", cycle.join(" -> ")),
                "remove one of these depends_on entries",
            )
        })?;
        let mut published: BTreeMap<(String, u16), &str> = BTreeMap::new();
        for service in services.values() {
            for mount in &service.volumes {
                if let (MountKind::Volume, Some(name)) = (mount.kind, &mount.source)
                    && !volumes.contains_key(name)
                {
                    return Err(self.project_error(
                        &format!(
                            "service {} uses the volume {name}, which is not declared under `volumes:`",
                            service.name
                        ),
                        &format!(
                            "add `volumes: {{ {name}: {{}} }}` at the top level, or write ./{name} for a bind mount"
                        ),
                    ));
                }
            }
            for network in &service.networks {
                if network != "default" && !networks.contains_key(network) {
                    return Err(self.project_error(
                        &format!(
                            "service {} joins the network {network}, which is not declared under the top-level `networks:`",
                            service.name
                        ),
                        &format!("add `networks: {{ {network}: {{}} }}` at the top level"),
                    ));
                }
            }
            for port in &service.ports {
                let Some(host_port) = port.published else { continue };
                if let Some(other) = published.insert((port.host_ip.clone(), host_port), &service.name)
                    && other != service.name
                {
                    return Err(self.project_error(
                        &format!("services {other} and {} both publish {}:{host_port}", service.name, port.host_ip),
                        "give one of them another host port",
                    ));
                }
            }
        }
        for rule in &dmp.watch {
            if !services.contains_key(&rule.service) {
                return Err(self.project_error(
                    &format!(
                        "watch rule {} runs in the service {}, which is not in the stack",
                        rule.name, rule.service
                    ),
                    "name the service with `service:` in the rule (the default is buildstatic)",
                ));
            }
        }
        for (setting, value) in [("app", &dmp.app), ("http", &dmp.http)] {
            if let Some(name) = value
                && !services.contains_key(name)
            {
                return Err(self.project_error(
                    &format!("x-dmp.{setting} names the service {name}, which is not in the stack"),
                    &format!("the services are: {}", services.keys().cloned().collect::<Vec<_>>().join(", ")),
                ));
            }
        }

        Ok(())
    }

    fn active_profiles(&self, options: &LoadOptions) -> BTreeSet<String> {
        let mut profiles: BTreeSet<String> = options.profiles.iter().cloned().collect();
        if let Some(list) = (self.lookup)("COMPOSE_PROFILES") {
            profiles.extend(list.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned));
        }
        profiles
    }

    fn project_name(&self, options: &LoadOptions, in_file: Option<(String, Pos)>) -> Result<String> {
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

    fn named_resources(&self, node: &Node, what: &str) -> Result<BTreeMap<String, Volume>> {
        let mut out = BTreeMap::new();
        for (key, value) in self.entries(node, &format!("a mapping of {what} names"))? {
            let mut resource = Volume::default();
            for (k, v) in self.entries(value, &format!("the {what}'s settings"))? {
                match k.name.as_str() {
                    "name" => resource.name = Some(self.string(v, &format!("a {what} name"))?),
                    "external" => resource.external = self.bool(v, "true or false")?,
                    other => {
                        return Err(self.error(
                            k.pos,
                            &format!("{what} setting `{other}` is not supported by dmp"),
                            "unsupported",
                            Some("dmp supports `name` and `external`"),
                        ));
                    }
                }
            }
            out.insert(key.name.clone(), resource);
        }
        Ok(out)
    }

    fn dmp_settings(&mut self, node: &Node) -> Result<DmpSettings> {
        let mut settings = DmpSettings::default();
        for (key, value) in self.entries(node, "a mapping of dmp settings")? {
            match key.name.as_str() {
                "app" => settings.app = Some(self.string(value, "a service name")?),
                "http" => settings.http = Some(self.string(value, "a service name")?),
                "http_path" => {
                    let path = self.string(value, "a path")?;
                    if !path.starts_with('/') {
                        return Err(self.error(value.pos, "http_path must start with /", "here", None));
                    }
                    settings.http_path = Some(path);
                }
                "shell" => settings.shell = Some(self.string(value, "a shell, e.g. bash")?),
                "migrate" => settings.migrate = Some(self.command(value)?),
                "start" => settings.start = Some(self.command(value)?),
                "watch" => settings.watch = self.watch_rules(value)?,
                other => {
                    return Err(self.error(
                        key.pos,
                        &format!("unknown x-dmp setting `{other}`"),
                        "unknown",
                        Some(&format!("x-dmp settings are: {}", DMP_KEYS.join(", "))),
                    ));
                }
            }
        }
        Ok(settings)
    }

    fn watch_rules(&self, node: &Node) -> Result<Vec<WatchRule>> {
        let Value::Seq(items) = &node.value else {
            return Err(self.expected(node, "a list of watch rules"));
        };
        let mut rules: Vec<WatchRule> = Vec::new();
        for item in items {
            let mut rule = WatchRule {
                name: String::new(),
                command: String::new(),
                service: "buildstatic".into(),
                watch: Vec::new(),
                ignore: Vec::new(),
            };
            for (key, value) in self.entries(item, "a watch rule (name, command, watch, ignore, service)")? {
                match key.name.as_str() {
                    "name" => rule.name = self.string(value, "a rule name")?,
                    "command" => rule.command = self.string(value, "a shell command")?,
                    "service" => rule.service = self.string(value, "a service name")?,
                    "watch" => rule.watch = self.string_list(value, "a glob")?,
                    "ignore" => rule.ignore = self.string_list(value, "a glob")?,
                    other => {
                        return Err(self.error(
                            key.pos,
                            &format!("unknown watch rule setting `{other}`"),
                            "unknown",
                            Some("a rule has name, command, watch, ignore and service"),
                        ));
                    }
                }
            }
            if rule.name.is_empty() || rule.command.is_empty() {
                return Err(self.error(
                    item.pos,
                    "a watch rule needs `name` and `command`",
                    "this rule",
                    Some("e.g. { name: styles, command: sassc in.scss out.css, watch: [\"**/*.scss\"] }"),
                ));
            }
            if rules.iter().any(|r| r.name == rule.name) {
                return Err(self.error(
                    item.pos,
                    &format!("two watch rules are named {}", rule.name),
                    "this rule",
                    None,
                ));
            }
            rules.push(rule);
        }
        Ok(rules)
    }

    fn service(&mut self, name: &str, node: &Node, depends: &mut Vec<(String, String, Pos)>) -> Result<Service> {
        let mut service = Service { name: name.to_owned(), networks: vec!["default".into()], ..Service::default() };
        let mut env_from_files = BTreeMap::new();
        let mut environment = Vec::new();
        for (key, value) in self.entries(node, "a mapping of service settings")? {
            match key.name.as_str() {
                "image" => service.image = Some(self.string(value, "an image name")?),
                "build" => service.build = Some(self.build(value)?),
                "command" => service.command = Some(self.command(value)?),
                "entrypoint" => service.entrypoint = Some(self.command(value)?),
                "environment" => environment = self.key_values(value, "a mapping or a list of KEY=value")?,
                "env_file" => {
                    for file in self.string_list(value, "an env file path")? {
                        let path = self.dir.join(&file);
                        if !path.is_file() {
                            return Err(self.error(
                                value.pos,
                                &format!("env_file {file} does not exist (looked for {})", path.display()),
                                "this file",
                                Some("create it (it may be empty), or remove it from env_file"),
                            ));
                        }
                        env_from_files.extend(read_env_file(&path, true)?);
                    }
                }
                "ports" => service.ports = self.ports(value)?,
                "volumes" => service.volumes = self.mounts(value)?,
                "depends_on" => service.depends_on = self.depends_on(name, value, depends)?,
                "healthcheck" => service.healthcheck = Some(self.healthcheck(value)?),
                "user" => service.user = Some(self.text(value, "a user name or uid[:gid]")?),
                "working_dir" => service.working_dir = Some(self.string(value, "an absolute path")?),
                "init" => service.init = Some(self.bool(value, "true or false")?),
                "labels" => {
                    service.labels = self
                        .key_values(value, "a mapping or a list of KEY=value")?
                        .into_iter()
                        .map(|(k, v, _)| (k, v.unwrap_or_default()))
                        .collect();
                }
                "restart" => service.restart = Some(self.restart(value)?),
                "profiles" => service.profiles = self.string_list(value, "a profile name")?,
                "networks" => {
                    service.networks = match &value.value {
                        Value::Map(entries) => entries.iter().map(|(k, _)| k.name.clone()).collect(),
                        _ => self.string_list(value, "a network name")?,
                    };
                }
                other if other.starts_with("x-") => {}
                other => {
                    self.warn(key.pos, &format!("service {name}: `{other}` is not supported by dmp and is ignored"));
                }
            }
        }
        // environment over env_file; a key without a value comes from the
        // environment dmp runs in (or .env), and is left out when unset.
        service.environment = env_from_files;
        for (key, value, _) in environment {
            match value.or_else(|| (self.lookup)(&key)) {
                Some(value) => service.environment.insert(key, value),
                None => service.environment.remove(&key),
            };
        }
        if service.image.is_none() && service.build.is_none() {
            return Err(self.error(
                node.pos,
                &format!("service {name} has neither `image` nor `build`"),
                "this service",
                Some("add `image: NAME` or `build: DIR`"),
            ));
        }
        Ok(service)
    }

    fn build(&mut self, node: &Node) -> Result<Build> {
        let mut context = None;
        let mut dockerfile = "Dockerfile".to_owned();
        let mut args = BTreeMap::new();
        let mut target = None;
        match &node.value {
            Value::Str(dir) => context = Some((dir.clone(), node.pos)),
            Value::Map(entries) => {
                for (key, value) in entries {
                    match key.name.as_str() {
                        "context" => context = Some((self.string(value, "a directory")?, value.pos)),
                        "dockerfile" => dockerfile = self.string(value, "a Dockerfile path")?,
                        "args" => {
                            for (k, v, _) in self.key_values(value, "a mapping or a list of KEY=value")? {
                                if let Some(v) = v.or_else(|| (self.lookup)(&k)) {
                                    args.insert(k, v);
                                }
                            }
                        }
                        "target" => target = Some(self.string(value, "a build stage name")?),
                        other => self
                            .warn(key.pos, &format!("build setting `{other}` is not supported by dmp and is ignored")),
                    }
                }
            }
            _ => return Err(self.expected(node, "a build directory or a mapping with `context`")),
        }
        let (context, pos) = context.unwrap_or_else(|| (".".into(), node.pos));
        let path = self.dir.join(&context);
        if !path.is_dir() {
            return Err(self.error(
                pos,
                &format!("build context {context} is not a directory (looked for {})", path.display()),
                "this context",
                Some("create the directory, or point `build:` at the one with the Dockerfile"),
            ));
        }
        Ok(Build { context: normalise(&path), dockerfile, args, target })
    }

    fn restart(&self, node: &Node) -> Result<String> {
        let policy = self.text(node, "a restart policy")?;
        let valid = matches!(policy.as_str(), "no" | "always" | "unless-stopped" | "on-failure")
            || policy.strip_prefix("on-failure:").is_some_and(|n| n.parse::<u32>().is_ok());
        if valid {
            Ok(policy)
        } else {
            Err(self.error(
                node.pos,
                &format!("`{policy}` is not a restart policy"),
                "here",
                Some("use no, always, unless-stopped, on-failure or on-failure:N"),
            ))
        }
    }

    fn ports(&self, node: &Node) -> Result<Vec<Port>> {
        let Value::Seq(items) = &node.value else {
            return Err(self.expected(node, "a list of ports"));
        };
        let mut ports = Vec::new();
        for item in items {
            let parsed = match &item.value {
                Value::Int(_) | Value::Str(_) => {
                    let text = item.scalar_text().unwrap_or_default();
                    parse_port(&text).map_err(|why| {
                        self.error(
                            item.pos,
                            &format!("`{text}` is not a port: {why}"),
                            "this port",
                            Some("write CONTAINER, HOST:CONTAINER or IP:HOST:CONTAINER, with ports from 1 to 65535 and an optional /tcp or /udp"),
                        )
                    })?
                }
                Value::Map(entries) => vec![self.long_port(item, entries)?],
                _ => return Err(self.expected(item, "a port")),
            };
            ports.extend(parsed);
        }
        Ok(ports)
    }

    fn long_port(&self, node: &Node, entries: &[(Key, Node)]) -> Result<Port> {
        let mut port = Port { target: 0, published: None, host_ip: "127.0.0.1".into(), protocol: "tcp".into() };
        for (key, value) in entries {
            let number = |v: &Node| -> Result<u16> {
                let text = self.text(v, "a port number")?;
                port_number(&text)
                    .map_err(|why| self.error(v.pos, &format!("`{text}` is not a port: {why}"), "here", None))
            };
            match key.name.as_str() {
                "target" => port.target = number(value)?,
                "published" => port.published = Some(number(value)?),
                "host_ip" => port.host_ip = self.string(value, "an IP address")?,
                "protocol" => port.protocol = self.string(value, "tcp or udp")?,
                "mode" | "name" | "app_protocol" => {}
                other => return Err(self.error(key.pos, &format!("unknown port setting `{other}`"), "here", None)),
            }
        }
        if port.target == 0 {
            return Err(self.error(node.pos, "a port needs `target`", "this port", None));
        }
        Ok(port)
    }

    fn mounts(&self, node: &Node) -> Result<Vec<Mount>> {
        let Value::Seq(items) = &node.value else {
            return Err(self.expected(node, "a list of volumes"));
        };
        let mut mounts: Vec<Mount> = Vec::new();
        for item in items {
            let mount = match &item.value {
                Value::Str(text) => self.short_mount(item, text)?,
                Value::Map(entries) => self.long_mount(item, entries)?,
                _ => return Err(self.expected(item, "a volume (SOURCE:TARGET[:ro])")),
            };
            if mount.kind == MountKind::Bind {
                self.check_bind_source(item, mount.source.as_deref().unwrap_or_default())?;
            }
            // A later entry for the same target wins, as in Compose.
            mounts.retain(|m| m.target != mount.target);
            mounts.push(mount);
        }
        Ok(mounts)
    }

    fn short_mount(&self, node: &Node, text: &str) -> Result<Mount> {
        let parts: Vec<&str> = text.split(':').collect();
        let (source, target, mode) = match parts.as_slice() {
            [target] => (None, *target, None),
            [source, target] => (Some(*source), *target, None),
            [source, target, mode] => (Some(*source), *target, Some(*mode)),
            _ => {
                return Err(self.error(
                    node.pos,
                    &format!("`{text}` is not a volume"),
                    "here",
                    Some("write SOURCE:TARGET or SOURCE:TARGET:ro"),
                ));
            }
        };
        let read_only = match mode {
            None | Some("rw") => false,
            Some("ro") => true,
            Some(other) => {
                return Err(self.error(
                    node.pos,
                    &format!("`{other}` is not a volume mode"),
                    "here",
                    Some("use ro or rw"),
                ));
            }
        };
        if !target.starts_with('/') {
            return Err(self.error(
                node.pos,
                &format!("the container path `{target}` is not absolute"),
                "here",
                Some("container paths start with /, as in ./src:/app"),
            ));
        }
        Ok(match source {
            None => Mount { kind: MountKind::Volume, source: None, target: target.to_owned(), read_only },
            Some(source) if is_path(source) => Mount {
                kind: MountKind::Bind,
                source: Some(self.host_path(source)),
                target: target.to_owned(),
                read_only,
            },
            Some(name) => {
                check_name(name)
                    .map_err(|why| self.error(node.pos, &format!("volume name `{name}`: {why}"), "here", None))?;
                Mount { kind: MountKind::Volume, source: Some(name.to_owned()), target: target.to_owned(), read_only }
            }
        })
    }

    fn long_mount(&self, node: &Node, entries: &[(Key, Node)]) -> Result<Mount> {
        let mut kind = None;
        let mut source = None;
        let mut target = None;
        let mut read_only = false;
        for (key, value) in entries {
            match key.name.as_str() {
                "type" => {
                    kind = Some(match self.string(value, "bind or volume")?.as_str() {
                        "bind" => MountKind::Bind,
                        "volume" => MountKind::Volume,
                        other => {
                            return Err(self.error(
                                value.pos,
                                &format!("mount type `{other}` is not supported by dmp"),
                                "here",
                                Some("use bind or volume"),
                            ));
                        }
                    });
                }
                "source" => source = Some(self.string(value, "a path or volume name")?),
                "target" => target = Some(self.string(value, "a container path")?),
                "read_only" => read_only = self.bool(value, "true or false")?,
                "bind" | "volume" | "consistency" => {}
                other => return Err(self.error(key.pos, &format!("unknown volume setting `{other}`"), "here", None)),
            }
        }
        let kind = kind.ok_or_else(|| {
            self.error(node.pos, "a volume needs `type: bind` or `type: volume`", "this volume", None)
        })?;
        let target = target.ok_or_else(|| self.error(node.pos, "a volume needs `target`", "this volume", None))?;
        let source = match (kind, source) {
            (MountKind::Bind, Some(path)) => Some(self.host_path(&path)),
            (MountKind::Bind, None) => {
                return Err(self.error(node.pos, "a bind mount needs `source`", "this volume", None));
            }
            (MountKind::Volume, name) => name,
        };
        Ok(Mount { kind, source, target, read_only })
    }

    fn check_bind_source(&self, node: &Node, path: &str) -> Result<()> {
        if Path::new(path).exists() {
            return Ok(());
        }
        Err(self.error(
            node.pos,
            &format!("the bind mount source {path} does not exist"),
            "this mount",
            Some("create it, or fix the path (relative paths start from the stack file's directory)"),
        ))
    }

    /// A host path, absolute and cleaned; `~` is the home directory.
    fn host_path(&self, path: &str) -> String {
        let path = match path.strip_prefix('~') {
            Some(rest) => PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(rest.trim_start_matches('/')),
            None => self.dir.join(path),
        };
        normalise(&path).to_string_lossy().into_owned()
    }

    fn depends_on(
        &self,
        service: &str,
        node: &Node,
        refs: &mut Vec<(String, String, Pos)>,
    ) -> Result<BTreeMap<String, Dependency>> {
        let mut out = BTreeMap::new();
        match &node.value {
            Value::Seq(items) => {
                for item in items {
                    let name = self.string(item, "a service name")?;
                    refs.push((service.to_owned(), name.clone(), item.pos));
                    out.insert(name, Dependency { condition: Condition::ServiceStarted });
                }
            }
            Value::Map(entries) => {
                for (key, value) in entries {
                    refs.push((service.to_owned(), key.name.clone(), key.pos));
                    let mut condition = Condition::ServiceStarted;
                    for (k, v) in self.entries(value, "a mapping with `condition`")? {
                        match k.name.as_str() {
                            "condition" => {
                                condition = match self.string(v, "a condition")?.as_str() {
                                    "service_started" => Condition::ServiceStarted,
                                    "service_healthy" => Condition::ServiceHealthy,
                                    "service_completed_successfully" => Condition::ServiceCompletedSuccessfully,
                                    other => {
                                        return Err(self.error(
                                            v.pos,
                                            &format!("`{other}` is not a depends_on condition"),
                                            "here",
                                            Some("use service_started, service_healthy or service_completed_successfully"),
                                        ));
                                    }
                                };
                            }
                            "restart" | "required" => {}
                            other => {
                                return Err(self.error(
                                    k.pos,
                                    &format!("unknown depends_on setting `{other}`"),
                                    "here",
                                    None,
                                ));
                            }
                        }
                    }
                    out.insert(key.name.clone(), Dependency { condition });
                }
            }
            _ => return Err(self.expected(node, "a list of services or a mapping of service to condition")),
        }
        if out.contains_key(service) {
            return Err(self.error(
                node.pos,
                &format!("service {service} depends on itself"),
                "here",
                Some(&format!("remove {service} from its own depends_on")),
            ));
        }
        Ok(out)
    }

    fn healthcheck(&self, node: &Node) -> Result<Healthcheck> {
        let mut check = Healthcheck::default();
        for (key, value) in self.entries(node, "a mapping of healthcheck settings")? {
            let duration = |v: &Node| -> Result<u64> {
                let text = self.text(v, "a duration like 10s")?;
                duration_text::parse(&text).ok_or_else(|| {
                    self.error(
                        v.pos,
                        &format!("`{text}` is not a duration"),
                        "here",
                        Some("write it like 500ms, 10s or 1m30s"),
                    )
                })
            };
            match key.name.as_str() {
                "test" => {
                    check.test = match &value.value {
                        Value::Str(command) => vec!["CMD-SHELL".into(), command.clone()],
                        _ => self.string_list(value, "a test command")?,
                    };
                    if !matches!(check.test.first().map(String::as_str), Some("CMD" | "CMD-SHELL" | "NONE")) {
                        return Err(self.error(
                            value.pos,
                            "a healthcheck test list starts with CMD, CMD-SHELL or NONE",
                            "here",
                            None,
                        ));
                    }
                }
                "interval" => check.interval = Some(duration(value)?),
                "timeout" => check.timeout = Some(duration(value)?),
                "start_period" => check.start_period = Some(duration(value)?),
                "retries" => {
                    let text = self.text(value, "a number")?;
                    check.retries = Some(text.parse().map_err(|_| {
                        self.error(value.pos, &format!("`{text}` is not a number of retries"), "here", None)
                    })?);
                }
                "disable" => check.disable = self.bool(value, "true or false")?,
                "start_interval" => {}
                other => {
                    return Err(self.error(key.pos, &format!("unknown healthcheck setting `{other}`"), "here", None));
                }
            }
        }
        if check.test.first().map(String::as_str) == Some("NONE") {
            check.disable = true;
        }
        Ok(check)
    }
}

/// Whether a volume source is a host path rather than a volume name.
fn is_path(source: &str) -> bool {
    source.starts_with('/') || source.starts_with('.') || source.starts_with('~')
}

/// Removes `.` and `..` from an absolute path without touching the disk.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid {
        Ok(())
    } else {
        Err(format!("`{name}` is not a valid name (letters, digits, `_`, `-`, `.`, starting with a letter or digit)"))
    }
}

fn check_project_name(name: &str) -> Result<(), String> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err("a project name is lowercase letters, digits, `-` and `_`, starting with a letter or digit".into())
    }
}

/// The services' dependency cycle, if there is one.
fn check_cycles(services: &BTreeMap<String, Service>) -> Result<(), Vec<String>> {
    fn visit<'a>(
        name: &'a str,
        services: &'a BTreeMap<String, Service>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Result<(), Vec<String>> {
        if let Some(start) = path.iter().position(|p| *p == name) {
            let mut cycle: Vec<String> = path[start..].iter().map(|s| (*s).to_owned()).collect();
            cycle.push(name.to_owned());
            return Err(cycle);
        }
        if done.contains(name) {
            return Ok(());
        }
        path.push(name);
        if let Some(service) = services.get(name) {
            for dependency in service.depends_on.keys() {
                visit(dependency, services, path, done)?;
            }
        }
        path.pop();
        done.insert(name);
        Ok(())
    }
    let mut done = BTreeSet::new();
    for name in services.keys() {
        visit(name, services, &mut Vec::new(), &mut done)?;
    }
    Ok(())
}

/// `[IP:][HOST:]CONTAINER[/PROTOCOL]`, with `A-B` ranges of equal length.
pub fn parse_port(text: &str) -> Result<Vec<Port>, String> {
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((spec, protocol)) if protocol == "tcp" || protocol == "udp" => (spec, protocol),
        Some((_, protocol)) => return Err(format!("the protocol `{protocol}` is not tcp or udp")),
        None => (text, "tcp"),
    };
    // An IPv6 address is written in brackets: [::1]:8080:80.
    let (host_ip, rest) = match spec.strip_prefix('[') {
        Some(after) => {
            let (ip, rest) = after.split_once("]:").ok_or("an IPv6 address needs `]:` after it")?;
            (Some(ip.to_owned()), rest)
        }
        None => (None, spec),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, host, container) = match (host_ip, parts.as_slice()) {
        (None, [container]) => (None, None, *container),
        (None, [host, container]) => (None, Some(*host), *container),
        (None, [ip, host, container]) => (Some((*ip).to_owned()), Some(*host), *container),
        (Some(ip), [host, container]) => (Some(ip), Some(*host), *container),
        _ => return Err("too many `:`".into()),
    };
    if let Some(ip) = &ip {
        ip.parse::<std::net::IpAddr>().map_err(|_| format!("`{ip}` is not an IP address"))?;
    }
    let host = host.filter(|h| !h.is_empty());
    let targets = port_range(container)?;
    let published: Vec<Option<u16>> = match host {
        None => vec![None; targets.len()],
        Some(host) => port_range(host)?.into_iter().map(Some).collect(),
    };
    if published.len() != targets.len() {
        return Err("the host and container ranges differ in length".into());
    }
    let host_ip = ip.unwrap_or_else(|| "127.0.0.1".into());
    Ok(targets
        .into_iter()
        .zip(published)
        .map(|(target, published)| Port { target, published, host_ip: host_ip.clone(), protocol: protocol.to_owned() })
        .collect())
}

fn port_range(text: &str) -> Result<Vec<u16>, String> {
    match text.split_once('-') {
        Some((start, end)) => {
            let (start, end) = (port_number(start)?, port_number(end)?);
            if start > end {
                return Err(format!("the range {start}-{end} runs backwards"));
            }
            Ok((start..=end).collect())
        }
        None => Ok(vec![port_number(text)?]),
    }
}

fn port_number(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(u16::try_from(n).expect("checked range")),
        Ok(n) => Err(format!("{n} is outside 1-65535")),
        Err(_) => Err(format!("`{text}` is not a number")),
    }
}

// ---- Merging files (Compose's rules) -------------------------------------

fn merge_top(base: Node, over: Node) -> Node {
    merge_map(base, over, |key, base, over| match key {
        "services" => merge_map(base, over, |_, base, over| merge_service(base, over)),
        "volumes" | "networks" | "x-dmp" => merge_map(base, over, |_, base, over| merge_map(base, over, |_, _, o| o)),
        _ => over,
    })
}

fn merge_service(base: Node, over: Node) -> Node {
    merge_map(base, over, |key, base, over| match key {
        "environment" | "labels" => merge_map(to_key_map(base), to_key_map(over), |_, _, o| o),
        "build" => merge_map(build_map(base), build_map(over), |k, b, o| {
            if k == "args" { merge_map(to_key_map(b), to_key_map(o), |_, _, o| o) } else { o }
        }),
        "healthcheck" => merge_map(base, over, |_, _, o| o),
        "depends_on" => merge_map(depends_map(base), depends_map(over), |_, _, o| o),
        "ports" | "profiles" => union(base, over),
        "volumes" => merge_volumes(base, over),
        "env_file" => concat(base, over),
        _ => over,
    })
}

/// Merges two mappings key by key with `merge` for keys in both; anything
/// that is not a mapping is replaced by the override.
fn merge_map(base: Node, over: Node, merge: impl Fn(&str, Node, Node) -> Node) -> Node {
    let pos = base.pos;
    let (mut entries, over_entries) = match (base.value, over.value) {
        (Value::Map(entries), Value::Map(over_entries)) => (entries, over_entries),
        (_, value) => return Node::new(value, over.pos),
    };
    for (key, value) in over_entries {
        match entries.iter().position(|(k, _)| k.name == key.name) {
            Some(i) => {
                let (k, old) = entries.remove(i);
                let merged = merge(&key.name, old, value);
                entries.insert(i, (k, merged));
            }
            None => entries.push((key, value)),
        }
    }
    Node::new(Value::Map(entries), pos)
}

/// `["A=1", "B"]` as `{A: "1", B: null}`, so list and map forms merge.
fn to_key_map(node: Node) -> Node {
    let Value::Seq(items) = node.value else { return node };
    let entries = items
        .into_iter()
        .map(|item| {
            let text = item.scalar_text().unwrap_or_default();
            let (key, value) = match text.split_once('=') {
                Some((k, v)) => (k.to_owned(), Value::Str(v.to_owned())),
                None => (text, Value::Null),
            };
            (Key { name: key, pos: item.pos }, Node::new(value, item.pos))
        })
        .collect();
    Node::new(Value::Map(entries), node.pos)
}

fn build_map(node: Node) -> Node {
    match node.value {
        Value::Str(_) => {
            let key = Key { name: "context".into(), pos: node.pos };
            Node::new(Value::Map(vec![(key, node.clone())]), node.pos)
        }
        _ => node,
    }
}

fn depends_map(node: Node) -> Node {
    let Value::Seq(items) = node.value else { return node };
    let entries = items
        .into_iter()
        .map(|item| {
            let name = item.scalar_text().unwrap_or_default();
            let condition = Node::new(Value::Str("service_started".into()), item.pos);
            let value =
                Node::new(Value::Map(vec![(Key { name: "condition".into(), pos: item.pos }, condition)]), item.pos);
            (Key { name, pos: item.pos }, value)
        })
        .collect();
    Node::new(Value::Map(entries), node.pos)
}

fn union(base: Node, over: Node) -> Node {
    let (Value::Seq(mut items), Value::Seq(more)) = (base.value, over.value.clone()) else { return over };
    for item in more {
        if !items.iter().any(|i| i.scalar_text() == item.scalar_text() && i.scalar_text().is_some()) {
            items.push(item);
        }
    }
    Node::new(Value::Seq(items), base.pos)
}

fn concat(base: Node, over: Node) -> Node {
    let as_list = |n: Node| match n.value {
        Value::Seq(items) => items,
        _ => vec![n],
    };
    let pos = base.pos;
    let mut items = as_list(base);
    items.extend(as_list(over));
    Node::new(Value::Seq(items), pos)
}

/// Volumes merge by container path: an override for the same target
/// replaces the base entry.
fn merge_volumes(base: Node, over: Node) -> Node {
    let target = |n: &Node| match &n.value {
        Value::Str(s) => s.split(':').nth(1).or_else(|| s.split(':').next()).map(str::to_owned),
        Value::Map(_) => n.get("target").and_then(Node::scalar_text),
        _ => None,
    };
    let (Value::Seq(mut items), Value::Seq(more)) = (base.value, over.value.clone()) else { return over };
    for item in more {
        let t = target(&item);
        items.retain(|i| t.is_none() || target(i) != t);
        items.push(item);
    }
    Node::new(Value::Seq(items), base.pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_syntax() {
        let one = |text: &str| {
            parse_port(text)
                .map(|p| p.into_iter().map(|p| (p.host_ip, p.published, p.target, p.protocol)).collect::<Vec<_>>())
        };
        assert_eq!(one("80"), Ok(vec![("127.0.0.1".into(), None, 80, "tcp".into())]));
        assert_eq!(one("8080:80"), Ok(vec![("127.0.0.1".into(), Some(8080), 80, "tcp".into())]));
        assert_eq!(one("0.0.0.0:8080:80/udp"), Ok(vec![("0.0.0.0".into(), Some(8080), 80, "udp".into())]));
        assert_eq!(one("127.0.0.1::80"), Ok(vec![("127.0.0.1".into(), None, 80, "tcp".into())]));
        assert_eq!(one("[::1]:8080:80"), Ok(vec![("::1".into(), Some(8080), 80, "tcp".into())]));
        assert_eq!(one("8000-8001:80-81").map(|v| v.len()), Ok(2));
        for bad in ["", "abc", "0", "70000", "8080:80:90:100", "80/sctp", "8000-8002:80-81", "9-8", "localhost:80:80"] {
            assert!(parse_port(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn names() {
        assert!(check_name("web-1.x_y").is_ok());
        assert!(check_name("-web").is_err());
        assert!(check_name("we b").is_err());
        assert!(check_project_name("my_app-2").is_ok());
        assert!(check_project_name("MyApp").is_err());
    }
}
