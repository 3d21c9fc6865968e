//! Merging stack files in order, with Compose's rules.

use super::yaml::{Key, Node, Value};

pub fn merge_top(base: Node, over: Node) -> Node {
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
