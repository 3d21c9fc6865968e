//! dmp's own settings under `x-dmp:`.

use super::{Loader, Result};
use crate::compose::model::{DmpSettings, WatchRule};
use crate::compose::yaml::{Node, Value};

const DMP_KEYS: [&str; 7] = ["app", "http", "http_path", "shell", "migrate", "start", "watch"];

impl Loader<'_> {
    pub(super) fn dmp_settings(&mut self, node: &Node) -> Result<DmpSettings> {
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

    /// Watch globs, each checked as `dmp watch` compiles it, so `up` never
    /// starts a stack whose watch would be refused.
    fn globs(&self, node: &Node) -> Result<Vec<String>> {
        let items = match &node.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        let mut globs = Vec::new();
        for item in items {
            let glob = self.text(item, "a glob")?;
            if let Err(e) = globset::GlobBuilder::new(&glob).literal_separator(true).build() {
                return Err(self.error(
                    item.pos,
                    &format!("`{}` is not a valid glob: {}", crate::compose::clip(&glob), e.kind()),
                    "this glob",
                    Some("write globs like assets/scss/**/*.scss (`**` only as a whole path part, brackets and braces closed)"),
                ));
            }
            globs.push(glob);
        }
        Ok(globs)
    }

    pub(super) fn watch_rules(&self, node: &Node) -> Result<Vec<WatchRule>> {
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
                serve: None,
                output: Vec::new(),
                timeout: None,
            };
            for (key, value) in
                self.entries(item, "a watch rule (name, command, watch, ignore, service, serve, output, timeout)")?
            {
                match key.name.as_str() {
                    "name" => rule.name = self.string(value, "a rule name")?,
                    "command" => rule.command = self.string(value, "a shell command")?,
                    "service" => rule.service = self.string(value, "a service name")?,
                    "watch" => rule.watch = self.globs(value)?,
                    "ignore" => rule.ignore = self.globs(value)?,
                    "serve" => rule.serve = Some(self.string(value, "a worker command")?),
                    "output" => rule.output = self.string_list(value, "a path the rule writes")?,
                    "timeout" => rule.timeout = Some(self.duration(value)?),
                    other => {
                        return Err(self.error(
                            key.pos,
                            &format!("unknown watch rule setting `{other}`"),
                            "unknown",
                            Some("a rule has name, command, watch, ignore, service, serve, output and timeout"),
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
}
