//! `build:`, with every key the classic builder (Engine 20.10's, which
//! dmp drives) can honour; the BuildKit-only keys are refused by name.

use super::{Loader, Result};
use crate::compose::model::Build;
use crate::compose::yaml::{Node, Value};

const KEYS: &[&str] = &[
    "context",
    "dockerfile",
    "dockerfile_inline",
    "args",
    "ssh",
    "labels",
    "cache_from",
    "cache_to",
    "no_cache",
    "additional_contexts",
    "network",
    "pull",
    "target",
    "shm_size",
    "extra_hosts",
    "isolation",
    "privileged",
    "secrets",
    "tags",
    "ulimits",
    "platforms",
];

impl Loader<'_> {
    pub(super) fn build(&self, node: &Node) -> Result<Build> {
        let mut context = None;
        let mut build = Build { dockerfile: "Dockerfile".into(), ..Build::default() };
        match &node.value {
            Value::Str(dir) => context = Some((dir.clone(), node.pos)),
            Value::Map(entries) => {
                for (key, value) in entries {
                    match key.name.as_str() {
                        "context" => context = Some((self.text(value, "a directory")?, value.pos)),
                        "dockerfile" => build.dockerfile = self.text(value, "a Dockerfile path")?,
                        "args" => {
                            for (k, v, _) in self.key_values(value, "a mapping or a list of KEY=value")? {
                                if let Some(v) = v.or_else(|| (self.lookup)(&k)) {
                                    build.args.insert(k, v);
                                }
                            }
                        }
                        "target" => build.target = Some(self.text(value, "a build stage name")?),
                        "labels" => build.labels = self.string_map(value)?,
                        "cache_from" => build.cache_from = self.string_list(value, "an image")?,
                        "no_cache" => build.no_cache = self.bool(value, "true or false")?,
                        "pull" => build.pull = self.bool(value, "true or false")?,
                        "network" => build.network = Some(self.text(value, "a network mode")?),
                        "shm_size" => build.shm_size = Some(self.bytes(value)?),
                        "extra_hosts" => build.extra_hosts = self.extra_hosts(value)?,
                        "tags" => build.tags = self.string_list(value, "an image tag")?,
                        "isolation" => build.isolation = Some(self.text(value, "an isolation mode")?),
                        "platforms" => {
                            let platforms = self.string_list(value, "a platform")?;
                            if platforms.len() > 1 {
                                return Err(self.error(
                                    value.pos,
                                    "building for several platforms needs BuildKit; dmp builds with the classic builder",
                                    "here",
                                    Some("name one platform, or build the image with `docker buildx bake`"),
                                ));
                            }
                            build.platform = platforms.into_iter().next();
                        }
                        other @ ("dockerfile_inline"
                        | "ssh"
                        | "cache_to"
                        | "additional_contexts"
                        | "privileged"
                        | "secrets"
                        | "ulimits") => {
                            return Err(self.error(
                                key.pos,
                                &format!(
                                    "build.{other} needs BuildKit; dmp builds with the Engine's classic builder, which has no such setting"
                                ),
                                "needs BuildKit",
                                Some("remove it, or build the image with `docker buildx build` and name it in `image:`"),
                            ));
                        }
                        other if other.starts_with("x-") => {}
                        other => return Err(self.unknown(key, "build", other, KEYS)),
                    }
                }
            }
            _ => return Err(self.expected(node, "a build directory or a mapping with `context`")),
        }
        let (context, pos) = context.unwrap_or_else(|| (".".into(), node.pos));
        let path = self.dir.join(&context);
        if !path.is_dir() {
            // Compose's `config` accepts it; building cannot.
            self.defer(self.error(
                pos,
                &format!("build context {context} is not a directory (looked for {})", path.display()),
                "this context",
                Some("create the directory, or point `build:` at the one with the Dockerfile"),
            ));
        }
        build.context = super::mounts::normalise(&path);
        Ok(build)
    }
}
