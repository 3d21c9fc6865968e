//! A YAML tree that remembers where each value came from (file, line,
//! column, byte offset), so merging, interpolation and validation can point
//! at the exact spot. Parsed with serde-saphyr (YAML 1.2, duplicate keys are
//! errors).

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Spanned, Tagged};

/// Where a node is: file index into the loader's sources, and position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub file: usize,
    pub line: u64,
    pub column: u64,
    pub offset: usize,
    pub len: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys in file order.
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
    /// Compose's merge tags: `!reset` and `!override`.
    pub tag: MergeTag,
}

/// How a value merges over the same key in an earlier file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MergeTag {
    /// By the key's own rule.
    #[default]
    Merge,
    /// `!reset`: the key is removed, as if no file had set it.
    Reset,
    /// `!override`: the value replaces the earlier one whole.
    Override,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub pos: Pos,
}

impl Node {
    pub fn new(value: Value, pos: Pos) -> Self {
        Self { value, pos, tag: MergeTag::Merge }
    }

    fn tagged(spanned: Spanned<Tagged<Raw>>) -> Self {
        let tag = match spanned.value.1.as_deref() {
            Some("!reset") => MergeTag::Reset,
            Some("!override") => MergeTag::Override,
            _ => MergeTag::Merge,
        };
        Self { value: spanned.value.0.0, pos: pos_of(&spanned.referenced), tag }
    }

    /// What kind of value this is, for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar as text, the way Compose reads `environment` values and the
    /// like (`true`, `8080`, `1.5` all become strings).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }

    /// Sets every position's file index (parsing knows only the text).
    fn set_file(&mut self, file: usize) {
        self.pos.file = file;
        match &mut self.value {
            Value::Seq(items) => items.iter_mut().for_each(|n| n.set_file(file)),
            Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
                k.pos.file = file;
                v.set_file(file);
            }),
            _ => {}
        }
    }
}

/// A YAML syntax error, or a duplicate key.
#[derive(Debug)]
pub struct SyntaxError {
    pub message: String,
    pub pos: Option<Pos>,
}

/// Parses one file's text. An empty document is `Null`.
pub fn parse(text: &str, file: usize) -> Result<Node, SyntaxError> {
    if text.trim().is_empty() {
        return Ok(Node::new(Value::Null, Pos { file, line: 1, column: 1, ..Pos::default() }));
    }
    let parsed: Result<Spanned<Tagged<Raw>>, _> = serde_saphyr::from_str_with_options(text, options());
    match parsed {
        Ok(spanned) => {
            let mut node = Node::tagged(spanned);
            node.set_file(file);
            core_booleans(&mut node, text);
            Ok(node)
        }
        Err(error) => {
            let pos = error.location().map(|loc| {
                let pos = pos_of(&loc);
                // Error locations carry no byte offset.
                Pos { file, offset: offset_of(text, pos.line, pos.column), len: 1, ..pos }
            });
            Err(SyntaxError { message: clean_message(&error.to_string()), pos })
        }
    }
}

/// The parser's limits. serde-saphyr refuses a file with more than ten
/// aliases per anchor (past 100 aliases) as a likely alias bomb; Compose's
/// YAML library allows real files far more (one published file has 142
/// aliases of two anchors), so only the absolute limits stay: events,
/// replayed events, depth and size.
fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.enforce_alias_anchor_ratio = false;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// serde-saphyr's messages carry their own position suffix; dmp shows the
/// position itself.
fn clean_message(message: &str) -> String {
    let mut first = message.lines().next().unwrap_or(message).trim();
    first = first.strip_prefix("error: ").unwrap_or(first);
    if first.starts_with("line ")
        && let Some((_, rest)) = first.split_once(": ")
    {
        first = rest;
    }
    // Library advice about parser options means nothing to a user.
    for cut in [" at line ", ", set DuplicateKeyPolicy"] {
        if let Some(i) = first.find(cut) {
            first = &first[..i];
        }
    }
    user_words(first).unwrap_or_else(|| first.to_owned())
}

/// The parser's limits in a user's words: "budget breached: Depth { depth:
/// 65 }" says nothing to someone who wrote a YAML file.
fn user_words(message: &str) -> Option<String> {
    let breach = message.strip_prefix("budget breached: ")?;
    let what = breach.split([' ', '{']).next().unwrap_or(breach);
    Some(
        match what {
            "Depth" => "the YAML nests deeper than dmp reads (64 levels of lists and mappings)",
            "Aliases" | "Anchors" | "AliasAnchorRatio" => {
                "the YAML has more anchors or aliases (`&x`, `*x`) than dmp reads"
            }
            "Events" | "Nodes" | "ReplayEvents" => "the YAML has more values than dmp reads",
            "InputBytes" | "ScalarBytes" | "InputSize" => "the YAML is larger than dmp reads",
            _ => "the YAML is larger or more deeply nested than dmp reads",
        }
        .to_owned(),
    )
}

/// The byte offset of a 1-based line and column (a column counts characters).
pub fn offset_of(text: &str, line: u64, column: u64) -> usize {
    let skip = usize::try_from(line.saturating_sub(1)).unwrap_or(usize::MAX);
    let line_start: usize = text.split_inclusive('\n').take(skip).map(str::len).sum();
    let rest = &text[line_start.min(text.len())..];
    let chars = usize::try_from(column.saturating_sub(1)).unwrap_or(0);
    line_start + rest.char_indices().nth(chars).map_or(rest.len(), |(i, _)| i)
}

/// The booleans of YAML 1.2's core schema, the only ones Compose's YAML
/// library reads as booleans.
const CORE_BOOLEANS: [&str; 6] = ["true", "True", "TRUE", "false", "False", "FALSE"];

/// Scalars the parser read as YAML 1.1 booleans (`y`, `Y`, `yes`, `on`, …)
/// back to the strings Compose reads them as: `environment: {Y: 1}` is
/// the variable `Y`, not `true`. The source text at each position decides.
fn core_booleans(node: &mut Node, text: &str) {
    let source = |pos: &Pos| text.get(pos.offset..pos.offset + pos.len).map(str::trim);
    match &mut node.value {
        Value::Bool(_) => {
            if let Some(written) = source(&node.pos).filter(|t| !t.is_empty() && !CORE_BOOLEANS.contains(t)) {
                node.value = Value::Str(written.to_owned());
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(|n| core_booleans(n, text)),
        Value::Map(entries) => {
            for (key, value) in entries {
                if (key.name == "true" || key.name == "false")
                    && let Some(written) = source(&key.pos).filter(|t| !t.is_empty() && !CORE_BOOLEANS.contains(t))
                {
                    key.name = written.to_owned();
                }
                core_booleans(value, text);
            }
        }
        _ => {}
    }
}

fn pos_of(location: &serde_saphyr::Location) -> Pos {
    let span = location.span();
    Pos {
        file: 0,
        line: location.line(),
        column: location.column(),
        offset: span.byte_offset().and_then(|o| usize::try_from(o).ok()).unwrap_or(0),
        len: span.byte_len().and_then(|l| usize::try_from(l).ok()).unwrap_or(0),
    }
}

/// The deserialised form before positions are attached to the root.
struct Raw(Value);

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor).map(Raw)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or_else(|_| Value::Str(v.to_string()), Value::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Tagged<Raw>>>()? {
            items.push(Node::tagged(item));
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Raw>>()? {
            let name = match key.value.0 {
                Value::Str(s) => s,
                Value::Int(i) => i.to_string(),
                Value::Float(f) => f.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => "null".to_owned(),
                Value::Seq(_) | Value::Map(_) => {
                    return Err(de::Error::custom("a mapping key must be a plain value, not a list or mapping"));
                }
            };
            let value = map.next_value::<Spanned<Tagged<Raw>>>()?;
            entries.push((Key { name, pos: pos_of(&key.referenced) }, Node::tagged(value)));
        }
        Ok(Value::Map(entries))
    }
}

/// A file's name and text, for error reports.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: Arc<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_kept_for_nested_values() {
        let text = "services:\n  web:\n    image: \"nginx\"\n    ports:\n      - 8080:80\n";
        let root = parse(text, 3).expect("valid YAML");
        let web = root.get("services").and_then(|s| s.get("web")).expect("web");
        let image = web.get("image").expect("image");
        assert_eq!(image.as_str(), Some("nginx"));
        assert_eq!((image.pos.file, image.pos.line, image.pos.column), (3, 3, 12));
        assert_eq!(&text[image.pos.offset..image.pos.offset + 7], "\"nginx\"");
        let Value::Seq(ports) = &web.get("ports").expect("ports").value else { panic!("a list") };
        assert_eq!(ports[0].as_str(), Some("8080:80"), "YAML 1.2: no sexagesimal surprise");
        assert_eq!(ports[0].pos.line, 5);
    }

    #[test]
    fn only_core_schema_booleans_are_booleans() {
        let root = parse("environment:\n  Y: 1\n  n: yes\n  on: Off\nflags: [true, False, y, N]\n", 0).expect("valid");
        let env = root.get("environment").expect("environment");
        let Value::Map(entries) = &env.value else { panic!("a mapping") };
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.name.as_str()).collect();
        assert_eq!(keys, ["Y", "n", "on"], "keys as written");
        assert_eq!(env.get("n").and_then(Node::as_str), Some("yes"));
        assert_eq!(env.get("on").and_then(Node::as_str), Some("Off"));
        let Value::Seq(flags) = &root.get("flags").expect("flags").value else { panic!("a list") };
        let values: Vec<&Value> = flags.iter().map(|n| &n.value).collect();
        assert_eq!(values, [&Value::Bool(true), &Value::Bool(false), &Value::Str("y".into()), &Value::Str("N".into())]);
    }

    #[test]
    fn syntax_errors_and_duplicate_keys_have_positions() {
        let err = parse("a: 1\nb: [1, 2\n", 0).expect_err("unclosed flow sequence");
        assert!(err.pos.is_some(), "{err:?}");
        let err = parse("a: 1\nb: 2\na: 3\n", 0).expect_err("duplicate key");
        assert_eq!(err.pos.map(|p| p.line), Some(3), "{err:?}");
        assert!(err.message.to_lowercase().contains("duplicate"), "{}", err.message);
        assert_eq!(err.pos.map(|p| p.offset), Some(10), "{err:?}");
        assert!(!err.message.starts_with("error:") && !err.message.contains("line 3"), "{}", err.message);
    }

    #[test]
    fn offsets_from_lines_and_columns() {
        let text = "ab\ncdé\nfg";
        assert_eq!(offset_of(text, 1, 1), 0);
        assert_eq!(offset_of(text, 2, 3), 5);
        assert_eq!(offset_of(text, 3, 2), 9);
    }

    #[test]
    fn empty_text_is_null() {
        for text in ["", "  \n", "# only a comment\n"] {
            assert_eq!(parse(text, 0).expect("valid").value, Value::Null, "{text:?}");
        }
    }
}
