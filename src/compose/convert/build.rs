//! `build:`.

use std::collections::BTreeMap;

use super::mounts::normalise;
use super::{Loader, Result};
use crate::compose::model::Build;
use crate::compose::yaml::{Node, Value};

impl Loader<'_> {
    pub(super) fn build(&mut self, node: &Node) -> Result<Build> {
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
}
