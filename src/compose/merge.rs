//! Merging stack files in order, with Compose v2's rules (compose-go's
//! `override` package): mappings merge key by key, lists append, anything
//! else is replaced; a few keys have rules of their own (below). After the
//! merge, lists whose entries are keyed (`environment`, `ports`, `volumes`
//! by target, …) keep one entry per key: the last one, in the place of the
//! first. `!reset` removes a key, `!override` replaces it whole.

use super::yaml::{Key, MergeTag, Node, Value};

/// A rule for the value at a path (`*` matches any one key).
#[derive(Clone, Copy)]
enum Rule {
    /// Both sides as `KEY=value` lists, appended (the unicity pass then
    /// keeps the last value of each key).
    Sequence,
    /// The override, whole.
    Replace,
    /// `build: DIR` as `{context: DIR}`, then merged.
    Build,
    /// Lists of services as mappings with Compose's default condition.
    DependsOn,
    /// A list of networks as a mapping, then merged.
    Networks,
    /// Merged when both name the same driver (or one names none).
    Logging,
}

const RULES: &[(&str, Rule)] = &[
    ("networks.*.labels", Rule::Sequence),
    ("volumes.*.labels", Rule::Sequence),
    ("services.*.annotations", Rule::Sequence),
    ("services.*.build", Rule::Build),
    ("services.*.build.args", Rule::Sequence),
    ("services.*.build.additional_contexts", Rule::Sequence),
    ("services.*.build.extra_hosts", Rule::Sequence),
    ("services.*.build.labels", Rule::Sequence),
    ("services.*.command", Rule::Replace),
    ("services.*.depends_on", Rule::DependsOn),
    ("services.*.deploy.labels", Rule::Sequence),
    ("services.*.dns", Rule::Sequence),
    ("services.*.dns_opt", Rule::Sequence),
    ("services.*.dns_search", Rule::Sequence),
    ("services.*.entrypoint", Rule::Replace),
    ("services.*.env_file", Rule::Sequence),
    ("services.*.environment", Rule::Sequence),
    ("services.*.extra_hosts", Rule::Sequence),
    ("services.*.healthcheck.test", Rule::Replace),
    ("services.*.labels", Rule::Sequence),
    ("services.*.logging", Rule::Logging),
    ("services.*.networks", Rule::Networks),
    ("services.*.sysctls", Rule::Sequence),
    ("services.*.tmpfs", Rule::Sequence),
    ("services.*.ulimits.*", Rule::Replace),
];

/// How the entries of a list are keyed for the unicity pass.
#[derive(Clone, Copy)]
enum Index {
    /// `KEY=value` by KEY; a plain value by itself.
    KeyValue,
    /// By container path.
    Volume,
    /// By target, or `DIR/NAME` for the short form.
    Mount(&'static str),
    Port,
    /// By path.
    EnvFile,
}

const UNIQUE: &[(&str, Index)] = &[
    ("networks.*.labels", Index::KeyValue),
    ("networks.*.ipam.options", Index::KeyValue),
    ("services.*.annotations", Index::KeyValue),
    ("services.*.build.args", Index::KeyValue),
    ("services.*.build.additional_contexts", Index::KeyValue),
    ("services.*.build.extra_hosts", Index::KeyValue),
    ("services.*.build.platforms", Index::KeyValue),
    ("services.*.build.tags", Index::KeyValue),
    ("services.*.build.labels", Index::KeyValue),
    ("services.*.cap_add", Index::KeyValue),
    ("services.*.cap_drop", Index::KeyValue),
    ("services.*.configs", Index::Mount("")),
    ("services.*.deploy.labels", Index::KeyValue),
    ("services.*.dns", Index::KeyValue),
    ("services.*.dns_opt", Index::KeyValue),
    ("services.*.dns_search", Index::KeyValue),
    ("services.*.environment", Index::KeyValue),
    ("services.*.env_file", Index::EnvFile),
    ("services.*.expose", Index::KeyValue),
    ("services.*.extra_hosts", Index::KeyValue),
    ("services.*.labels", Index::KeyValue),
    ("services.*.links", Index::KeyValue),
    ("services.*.networks.*.aliases", Index::KeyValue),
    ("services.*.networks.*.link_local_ips", Index::KeyValue),
    ("services.*.ports", Index::Port),
    ("services.*.profiles", Index::KeyValue),
    ("services.*.secrets", Index::Mount("/run/secrets")),
    ("services.*.sysctls", Index::KeyValue),
    ("services.*.tmpfs", Index::KeyValue),
    ("services.*.volumes", Index::Volume),
];

fn matches(path: &[String], pattern: &str) -> bool {
    let parts: Vec<&str> = pattern.split('.').collect();
    parts.len() == path.len() && parts.iter().zip(path).all(|(p, k)| *p == "*" || p == k)
}

fn lookup<T: Copy>(table: &[(&str, T)], path: &[String]) -> Option<T> {
    table.iter().find(|(pattern, _)| matches(path, pattern)).map(|(_, rule)| *rule)
}

/// Merges the next file's tree over the files before it.
pub fn merge_top(base: Node, over: Node) -> Node {
    merge(base, over, &[])
}

/// Merges a service over the one it `extends`, by the same rules.
pub fn merge_service(name: &str, base: Node, over: Node) -> Node {
    merge(base, over, &["services".to_owned(), name.to_owned()])
}

/// After all merges: drops what `!reset` left and keeps one entry per key
/// in keyed lists. Compose does this for a single file too.
pub fn finish(mut root: Node) -> Node {
    strip_resets(&mut root);
    unique(&mut root, &mut Vec::new());
    root
}

fn merge(base: Node, over: Node, path: &[String]) -> Node {
    if over.tag == MergeTag::Override {
        return Node { tag: MergeTag::Merge, ..over };
    }
    if let Some(rule) = lookup(RULES, path) {
        return match rule {
            Rule::Sequence => {
                let pos = base.pos;
                let mut items = into_sequence(base);
                items.extend(into_sequence(over));
                Node::new(Value::Seq(items), pos)
            }
            Rule::Replace => over,
            Rule::Build => merge_maps(build_map(base), build_map(over), path),
            Rule::DependsOn => merge_maps(depends_map(base), depends_map(over), path),
            Rule::Networks => merge_maps(names_map(base), names_map(over), path),
            Rule::Logging => {
                let driver = |n: &Node| n.get("driver").and_then(Node::scalar_text);
                match (driver(&base), driver(&over)) {
                    (Some(a), Some(b)) if a != b => over,
                    _ => merge_maps(base, over, path),
                }
            }
        };
    }
    match (&base.value, &over.value) {
        (_, Value::Null) => base,
        (Value::Map(_), Value::Map(_)) => merge_maps(base, over, path),
        (Value::Seq(_), Value::Seq(_)) => {
            let (Value::Seq(mut items), Value::Seq(more)) = (base.value, over.value) else { unreachable!() };
            items.extend(more);
            Node::new(Value::Seq(items), base.pos)
        }
        _ => over,
    }
}

/// Merges two mappings key by key.
fn merge_maps(base: Node, over: Node, path: &[String]) -> Node {
    let pos = base.pos;
    let (mut entries, over_entries) = match (base.value, over.value) {
        (Value::Map(entries), Value::Map(over_entries)) => (entries, over_entries),
        (_, value) => return Node { value, ..over },
    };
    for (key, value) in over_entries {
        let existing = entries.iter().position(|(k, _)| k.name == key.name);
        match (existing, value.tag) {
            (Some(i), MergeTag::Reset) => {
                entries.remove(i);
            }
            (None, MergeTag::Reset) => {}
            // `x-` keys are replaced whole, except dmp's own settings.
            (Some(i), _) if !key.name.starts_with("x-") || (path.is_empty() && key.name == "x-dmp") => {
                let (k, old) = entries.remove(i);
                let mut inner = path.to_vec();
                inner.push(key.name.clone());
                let merged = merge(old, value, &inner);
                entries.insert(i, (k, merged));
            }
            (Some(i), _) => entries[i].1 = value,
            (None, _) => entries.push((key, value)),
        }
    }
    Node::new(Value::Map(entries), pos)
}

/// A mapping as `KEY=value` strings (sorted, as Compose sorts them), a
/// list as it is, a string as a list of one.
fn into_sequence(node: Node) -> Vec<Node> {
    match node.value {
        Value::Map(entries) => {
            let mut items: Vec<Node> = entries
                .into_iter()
                .map(|(key, value)| {
                    let text = match value.scalar_text() {
                        Some(v) => format!("{}={v}", key.name),
                        None => key.name,
                    };
                    Node::new(Value::Str(text), key.pos)
                })
                .collect();
            items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            items
        }
        Value::Seq(items) => items,
        Value::Str(_) => vec![node],
        _ => Vec::new(),
    }
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

/// `[a, b]` as `{a: {condition: service_started, required: true}, …}`.
fn depends_map(node: Node) -> Node {
    let Value::Seq(items) = node.value else { return node };
    let entries = items
        .into_iter()
        .map(|item| {
            let name = item.scalar_text().unwrap_or_default();
            let key = |name: &str| Key { name: name.into(), pos: item.pos };
            let value = Node::new(
                Value::Map(vec![
                    (key("condition"), Node::new(Value::Str("service_started".into()), item.pos)),
                    (key("required"), Node::new(Value::Bool(true), item.pos)),
                ]),
                item.pos,
            );
            (Key { name, pos: item.pos }, value)
        })
        .collect();
    Node::new(Value::Map(entries), node.pos)
}

/// `[a, b]` as `{a: null, b: null}`.
fn names_map(node: Node) -> Node {
    let Value::Seq(items) = node.value else { return node };
    let entries = items
        .into_iter()
        .map(|item| {
            (Key { name: item.scalar_text().unwrap_or_default(), pos: item.pos }, Node::new(Value::Null, item.pos))
        })
        .collect();
    Node::new(Value::Map(entries), node.pos)
}

fn strip_resets(node: &mut Node) {
    match &mut node.value {
        Value::Map(entries) => {
            entries.retain(|(_, v)| v.tag != MergeTag::Reset);
            for (_, value) in entries.iter_mut() {
                strip_resets(value);
            }
        }
        Value::Seq(items) => {
            items.retain(|v| v.tag != MergeTag::Reset);
            for item in items.iter_mut() {
                strip_resets(item);
            }
        }
        _ => {}
    }
}

fn unique(node: &mut Node, path: &mut Vec<String>) {
    match &mut node.value {
        Value::Map(entries) => {
            for (key, value) in entries.iter_mut() {
                path.push(key.name.clone());
                unique(value, path);
                path.pop();
            }
        }
        Value::Seq(items) => {
            let Some(index) = lookup(UNIQUE, path) else { return };
            let mut kept: Vec<Node> = Vec::new();
            let mut keys: Vec<Option<String>> = Vec::new();
            for item in std::mem::take(items) {
                let key = entry_key(&item, index);
                if let Some(i) = key.as_ref().and_then(|k| keys.iter().position(|seen| seen.as_ref() == Some(k))) {
                    kept[i] = item;
                } else {
                    kept.push(item);
                    keys.push(key);
                }
            }
            *items = kept;
        }
        _ => {}
    }
}

/// The key an entry of a keyed list is known by (`None`: never merged).
fn entry_key(item: &Node, index: Index) -> Option<String> {
    let field = |name: &str| item.get(name).and_then(Node::scalar_text);
    match (index, &item.value) {
        (Index::KeyValue | Index::Port | Index::EnvFile, Value::Str(_) | Value::Int(_)) => {
            let text = item.scalar_text()?;
            Some(match index {
                Index::KeyValue => text.split_once('=').map_or(text.clone(), |(k, _)| k.to_owned()),
                _ => text,
            })
        }
        (Index::Volume, Value::Str(text)) => {
            let parts: Vec<&str> = text.split(':').collect();
            Some(match parts.as_slice() {
                [target] | [_, target] | [_, target, _] => (*target).to_owned(),
                _ => text.clone(),
            })
        }
        (Index::Volume, Value::Map(_)) => field("target"),
        (Index::Mount(dir), Value::Str(name)) => Some(format!("{dir}/{name}")),
        (Index::Mount(dir), Value::Map(_)) => {
            field("target").or_else(|| Some(format!("{dir}/{}", field("source").unwrap_or_default())))
        }
        (Index::Port, Value::Map(_)) => Some(format!(
            "{}:{}:{}/{}",
            field("host_ip").unwrap_or_else(|| "0.0.0.0".into()),
            field("published").unwrap_or_default(),
            field("target").unwrap_or_default(),
            field("protocol").unwrap_or_else(|| "tcp".into()),
        )),
        (Index::EnvFile, Value::Map(_)) => field("path"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::yaml::parse;

    fn merged(files: &[&str]) -> Node {
        let mut nodes = files.iter().enumerate().map(|(i, text)| parse(text, i).expect("valid YAML"));
        let first = nodes.next().expect("a file");
        finish(nodes.fold(first, merge_top))
    }

    fn texts(node: Option<&Node>) -> Vec<String> {
        match node.map(|n| &n.value) {
            Some(Value::Seq(items)) => items.iter().filter_map(Node::scalar_text).collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn compose_v2_rules() {
        let root = merged(&[
            "services:\n  a:\n    image: x\n    command: [a, b]\n    ports: ['80:80', '81:81']\n    environment: {A: '1', B: '2'}\n    volumes: ['./a:/a', 'v:/v']\n",
            "services:\n  a:\n    command: [c]\n    ports: ['80:80', '82:82']\n    environment: [B=3, C=4]\n    volumes: ['./b:/a']\n",
        ]);
        let a = root.get("services").and_then(|s| s.get("a")).expect("a");
        assert_eq!(texts(a.get("command")), ["c"], "command replaced");
        assert_eq!(texts(a.get("ports")), ["80:80", "81:81", "82:82"], "ports appended, then unique");
        assert_eq!(texts(a.get("environment")), ["A=1", "B=3", "C=4"], "by variable, last wins");
        assert_eq!(texts(a.get("volumes")), ["./b:/a", "v:/v"], "by target, in the first one's place");
    }

    #[test]
    fn reset_and_override() {
        let root = merged(&[
            "services:\n  a:\n    image: x\n    ports: ['80:80']\n    environment: {A: '1', B: '2'}\n",
            "services:\n  a:\n    ports: !reset []\n    environment: !override {C: '3'}\n",
        ]);
        let a = root.get("services").and_then(|s| s.get("a")).expect("a");
        assert!(a.get("ports").is_none(), "reset removes the key");
        assert_eq!(texts(a.get("environment")), Vec::<String>::new(), "a mapping stays a mapping");
        assert_eq!(a.get("environment").and_then(|e| e.get("C")).and_then(Node::scalar_text).as_deref(), Some("3"));
        assert!(a.get("environment").and_then(|e| e.get("A")).is_none(), "override replaces");
    }
}
