//! The rendered tree and how it is written: YAML through serde, JSON as
//! Go's `encoding/json` writes it (compose-go's key order kept).

use std::fmt::Write as _;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// An ordered tree: maps keep the order they are built in, which is the
/// order compose-go's structs give (Go maps: sorted by key).
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// YAML and JSON differ where compose-go's `yaml` and `json` tags differ:
/// JSON keeps an unset `command`/`entrypoint` as `null` and writes a
/// network's empty `ipam: {}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Yaml,
    Json,
}

impl Node {
    pub fn str(text: impl Into<String>) -> Self {
        Self::Str(text.into())
    }

    pub(super) fn strings<'a>(items: impl IntoIterator<Item = &'a String>) -> Self {
        Self::List(items.into_iter().map(|s| Self::Str(s.clone())).collect())
    }

    /// A Go map: keys sorted.
    pub(super) fn sorted<'a>(items: impl IntoIterator<Item = (&'a String, Node)>) -> Self {
        let mut entries: Vec<(String, Node)> = items.into_iter().map(|(k, v)| (k.clone(), v)).collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Self::Map(entries)
    }

    /// Every string with `$` written `$$`, as Compose prints it, so the
    /// output is a stack file that reads back to the same values.
    pub fn escape_dollars(&mut self) {
        match self {
            Self::Str(s) => *s = s.replace('$', "$$"),
            Self::List(items) => items.iter_mut().for_each(Self::escape_dollars),
            Self::Map(entries) => entries.iter_mut().for_each(|(_, v)| v.escape_dollars()),
            Self::Null | Self::Bool(_) | Self::Int(_) | Self::Float(_) => {}
        }
    }

    /// The value under `key` of a map.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Self::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Compact JSON as Go's `encoding/json` writes it (`<`, `>`, `&`,
    /// U+2028 and U+2029 escaped; control characters as `\u00XX` except
    /// `\n`, `\r`, `\t`): the bytes Compose hashes.
    pub fn go_json(&self) -> String {
        let mut out = String::new();
        self.write_go_json(&mut out);
        out
    }

    /// Indented JSON as Go's `json.MarshalIndent(v, "", "  ")` writes it,
    /// as `docker compose config --format json` prints it.
    pub fn go_json_pretty(&self) -> String {
        let mut out = String::new();
        self.write_go_json_pretty(&mut out, 0);
        out
    }

    fn write_go_json_pretty(&self, out: &mut String, depth: usize) {
        let newline = |out: &mut String, depth: usize| {
            out.push('\n');
            out.push_str(&"  ".repeat(depth));
        };
        match self {
            Self::List(items) if !items.is_empty() => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    item.write_go_json_pretty(out, depth + 1);
                }
                newline(out, depth);
                out.push(']');
            }
            Self::Map(entries) if !entries.is_empty() => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    go_string(key, out);
                    out.push_str(": ");
                    value.write_go_json_pretty(out, depth + 1);
                }
                newline(out, depth);
                out.push('}');
            }
            other => other.write_go_json(out),
        }
    }

    fn write_go_json(&self, out: &mut String) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Self::Float(n) => {
                let _ = write!(out, "{n}");
            }
            Self::Str(s) => go_string(s, out),
            Self::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_go_json(out);
                }
                out.push(']');
            }
            Self::Map(entries) => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    go_string(key, out);
                    out.push(':');
                    value.write_go_json(out);
                }
                out.push('}');
            }
        }
    }
}

fn go_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => serializer.serialize_none(),
            Self::Bool(b) => serializer.serialize_bool(*b),
            Self::Int(n) => serializer.serialize_i64(*n),
            Self::Float(n) => serializer.serialize_f64(*n),
            Self::Str(s) => serializer.serialize_str(s),
            Self::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Self::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

/// Builds a map, leaving out what compose-go's `omitempty` leaves out.
#[derive(Default)]
pub(super) struct MapBuilder(pub(super) Vec<(String, Node)>);

impl MapBuilder {
    pub(super) fn put(&mut self, key: &str, value: Node) -> &mut Self {
        self.0.push((key.to_owned(), value));
        self
    }

    pub(super) fn opt(&mut self, key: &str, value: Option<Node>) -> &mut Self {
        if let Some(value) = value {
            self.put(key, value);
        }
        self
    }

    pub(super) fn text(&mut self, key: &str, value: Option<&String>) -> &mut Self {
        self.opt(key, value.filter(|v| !v.is_empty()).map(|v| Node::Str(v.clone())))
    }

    pub(super) fn flag(&mut self, key: &str, value: bool) -> &mut Self {
        if value {
            self.put(key, Node::Bool(true));
        }
        self
    }

    pub(super) fn nonempty(&mut self, key: &str, value: Node) -> &mut Self {
        let empty = match &value {
            Node::List(items) => items.is_empty(),
            Node::Map(entries) => entries.is_empty(),
            _ => false,
        };
        if !empty {
            self.put(key, value);
        }
        self
    }

    pub(super) fn build(self) -> Node {
        Node::Map(self.0)
    }
}
