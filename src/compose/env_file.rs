//! Reading dotenv files (`.env`, `env_file:`) by Compose v2's rules
//! (compose-go's `dotenv` parser), which differ from dotenvy's:
//!
//! - an unquoted value runs to the end of the line; ` #` (a space, then
//!   `#`) starts a comment, so an apostrophe in a comment is just text, and
//!   `a#b` keeps its `#`; trailing space is dropped, inner spaces kept;
//! - `'…'` and `"…"` may span lines; `\` escapes the quote; double quotes
//!   also turn `\n`, `\t`, `\"`, `\\`, `\0NNN` and friends into characters;
//! - unquoted and double-quoted values are interpolated (`$VAR`, `${VAR}`,
//!   `${VAR:-x}` …), looking in the caller's variables first, then in the
//!   lines above; single-quoted values are literal;
//! - `export KEY=…` and `KEY: value` are accepted; a line with only `KEY`
//!   takes the caller's value (and is left out when there is none);
//! - a UTF-8 byte-order mark is skipped.

use std::collections::BTreeMap;
use std::path::Path;

use super::error::ComposeError;
use super::interpolate::interpolate;

/// A problem in a dotenv file, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvError {
    pub line: usize,
    pub message: String,
}

/// Reads a dotenv file without touching the process environment. A missing
/// file is empty unless `required`. `lookup` resolves variables the file
/// uses before the file's own earlier lines do (Compose's order).
pub fn read_env_file(
    path: &Path,
    required: bool,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, ComposeError> {
    let text = match crate::user_file::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(BTreeMap::new()),
        Err(error) => return Err(ComposeError::Read { path: path.to_owned(), error }),
    };
    parse(&text, lookup).map_err(|e| ComposeError::EnvFile {
        path: path.to_owned(),
        line: e.line,
        message: e.message,
        help: Some("lines are KEY=value; quote a value with `'` or `\"` to keep `#` or leading spaces".into()),
    })
}

/// Parses dotenv text; see the module comment for the rules.
pub fn parse(src: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<BTreeMap<String, String>, DotenvError> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let line_at = |rest: &str| src[..src.len() - rest.len()].matches('\n').count() + 1;
    let mut out = BTreeMap::new();
    let mut rest = src;
    loop {
        rest = statement_start(rest);
        if rest.is_empty() {
            break;
        }
        let at = line_at(rest);
        let (key, after, inherited) =
            locate_key(rest).map_err(|message| DotenvError { line: at, message: message.clone() })?;
        if key.contains(' ') {
            return Err(DotenvError { line: at, message: "key cannot contain a space".into() });
        }
        if inherited {
            if let Some(value) = lookup(&key) {
                out.insert(key, value);
            }
            rest = after;
            continue;
        }
        let (value, after) = value(after, &out, lookup).map_err(|message| DotenvError { line: at, message })?;
        // No program can receive it (an environment string ends at NUL),
        // and in an image name or a path it would be a riddle later.
        if value.contains('\0') {
            return Err(DotenvError { line: at, message: format!("the value of {key} holds a NUL byte") });
        }
        out.insert(key, value);
        rest = after;
    }
    Ok(out)
}

/// Whitespace other than a line break, as compose-go counts it.
fn is_space(c: char) -> bool {
    matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}')
}

/// Skips blank lines and comment lines.
fn statement_start(mut src: &str) -> &str {
    loop {
        src = src.trim_start();
        if !src.starts_with('#') {
            return src;
        }
        match src.find('\n') {
            Some(end) => src = &src[end..],
            None => return "",
        }
    }
}

/// The key at the start of `src`, the text after its `=` (or `:`), and
/// whether it stands alone on its line (a value to inherit).
fn locate_key(src: &str) -> Result<(String, &str, bool), String> {
    let mut src = src;
    if let Some(after) = src.strip_prefix("export")
        && after.starts_with([' ', '\t', '\n', '\r', '\u{c}'])
    {
        src = after.trim_start_matches(is_space);
    }
    let mut key = "";
    let mut offset = 0;
    let mut inherited = false;
    for (i, c) in src.char_indices() {
        if is_space(c) {
            continue;
        }
        match c {
            '=' | ':' | '\n' => {
                key = &src[..i];
                offset = i + 1;
                inherited = c == '\n';
                break;
            }
            '_' | '.' | '-' | '[' | ']' => {}
            c if c.is_alphabetic() || c.is_numeric() => {}
            c => {
                let line = src.lines().next().unwrap_or_default();
                return Err(format!("unexpected character {c:?} in variable name `{}`", super::clip(line)));
            }
        }
    }
    Ok((key.trim_end().to_owned(), src[offset..].trim_start_matches(is_space), inherited))
}

/// The value at the start of `src` and the text after it.
fn value<'s>(
    src: &'s str,
    earlier: &BTreeMap<String, String>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, &'s str), String> {
    let expand = |text: &str| {
        let resolve = |name: &str| lookup(name).or_else(|| earlier.get(name).cloned());
        interpolate(text, &resolve).map(|i| i.text).map_err(|e| e.to_string())
    };
    let Some(quote @ ('"' | '\'')) = src.chars().next() else {
        let (line, rest) = src.split_once('\n').unwrap_or((src, ""));
        let value = line.split_once(" #").map_or(line, |(v, _)| v).trim_end();
        return Ok((expand(value)?, rest));
    };
    let mut chars = String::new();
    let mut escaped = false;
    for (i, c) in src.char_indices().skip(1) {
        if c != quote {
            if !escaped && c == '\\' {
                escaped = true;
                continue;
            }
            if escaped {
                escaped = false;
                chars.push('\\');
            }
            chars.push(c);
            continue;
        }
        if escaped {
            escaped = false;
            chars.push(c);
            continue;
        }
        let value = if quote == '"' { expand(&unescape(&chars))? } else { chars };
        return Ok((value, &src[i + 1..]));
    }
    let line = src.lines().next().unwrap_or_default();
    Err(format!("unterminated quoted value `{}`", super::clip(line)))
}

/// Double-quote escapes: `\a \b \f \n \r \t \v \" \\`, `\0NNN` (octal), and
/// `\$` for a literal `$`; any other backslash is kept.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let simple = match after.chars().next() {
            Some('a') => Some('\u{7}'),
            Some('b') => Some('\u{8}'),
            Some('f') => Some('\u{c}'),
            Some('n') => Some('\n'),
            Some('r') => Some('\r'),
            Some('t') => Some('\t'),
            Some('v') => Some('\u{b}'),
            Some('"') => Some('"'),
            Some('\\') => Some('\\'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            rest = &after[1..];
        } else if let Some(tail) = after.strip_prefix('$') {
            // `$$` is interpolation's own escape for a literal `$`.
            out.push_str("$$");
            rest = tail;
        } else if let Some(digits) = after.strip_prefix('0') {
            // `\0` and up to three digits; only three octal digits make a byte.
            let len = digits.bytes().take(3).take_while(u8::is_ascii_digit).count();
            match u8::from_str_radix(&digits[..len], 8) {
                Ok(byte) if len == 3 => out.push(char::from(byte)),
                _ => {
                    out.push_str("\\0");
                    out.push_str(&digits[..len]);
                }
            }
            rest = &digits[len..];
        } else {
            out.push('\\');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> BTreeMap<String, String> {
        let env = BTreeMap::from([("FROM_ENV".to_owned(), "env".to_owned())]);
        parse(text, &|name| env.get(name).cloned()).expect("valid dotenv")
    }

    /// Expected values are what Compose v2.26 (`docker compose config`)
    /// gives for a service's `env_file` holding the text, with `FROM_ENV=env`
    /// in the environment; `the_table_agrees_with_compose_v2` checks them
    /// against the real thing when it is installed.
    const CASES: &[(&str, &str, &str, Option<&str>)] = &[
        ("comment with an apostrophe", "A=one # it's a comment\nB=two\n", "A", Some("one")),
        ("the line after it", "A=one # it's a comment\nB=two\n", "B", Some("two")),
        ("unquoted spaces", "A=hello world\n", "A", Some("hello world")),
        ("single quotes keep # and $", "A='single # q $B' # c\n", "A", Some("single # q $B")),
        ("double quotes expand", "B=two\nA=\"dq $B ${B} \\n x\"\n", "A", Some("dq two two \n x")),
        ("$VAR_WITH_UNDERSCORE is one name", "B=two\nA=$B_X\n", "A", Some("")),
        ("${VAR} then text", "B=two\nA=${B}_x\n", "A", Some("two_x")),
        ("export prefix", "export A=exp\n", "A", Some("exp")),
        ("multi-line double quotes", "A=\"multi\nline\"\n", "A", Some("multi\nline")),
        ("multi-line single quotes", "A='multi\nline2'\n", "A", Some("multi\nline2")),
        ("# without a space is text", "A=a#b\n", "A", Some("a#b")),
        ("space # is a comment", "A=a #b\n", "A", Some("a")),
        ("empty", "A=\n", "A", Some("")),
        ("yaml style", "A: yaml\n", "A", Some("yaml")),
        ("escaped double quote", "A=\"esc \\\"q\\\"\"\n", "A", Some("esc \"q\"")),
        ("spaces around =", "  A = spaced  \n", "A", Some("spaced")),
        ("$$", "A=$$\n", "A", Some("$")),
        ("default", "A=${NOPE:-def}\n", "A", Some("def")),
        ("alternative", "B=two\nA=${B:+alt}\n", "A", Some("alt")),
        ("the caller's variables first", "FROM_ENV=file\nA=$FROM_ENV\n", "A", Some("env")),
        ("inherited", "FROM_ENV\n", "FROM_ENV", Some("env")),
        ("byte-order mark", "\u{feff}A=1\n", "A", Some("1")),
        ("CRLF", "A=1\r\nB=2\r\n", "A", Some("1")),
        ("octal and tab escapes", "A=\"x\\0123\\t\\$y\\\\ \\q\"\n", "A", Some("xS\t$y\\ \\q")),
        ("single quotes keep backslashes", "A='x\\n\\' y'\n", "A", Some("x\\n' y")),
        ("a tab before # is no comment", "A=a\t#b\n", "A", Some("a\t#b")),
        ("inherited, unset", "NOT_SET_ANYWHERE\n", "NOT_SET_ANYWHERE", None),
    ];

    #[test]
    fn compose_v2_values() {
        for (name, text, key, expected) in CASES {
            assert_eq!(parsed(text).get(*key).map(String::as_str), *expected, "{name}: {text:?}");
        }
    }

    /// Compose v2: `DMP_COMPOSE_V2`, else where scripts/ensure-trixie-tools.sh
    /// puts it.
    fn compose_v2() -> Option<std::path::PathBuf> {
        let path = std::env::var_os("DMP_COMPOSE_V2")
            .map_or_else(|| std::path::PathBuf::from("/opt/dmp-trixie/bin/docker-compose"), Into::into);
        path.is_file().then_some(path)
    }

    #[test]
    fn the_table_agrees_with_compose_v2() {
        let Some(compose) = compose_v2() else {
            eprintln!("SKIPPED: no Compose v2 (scripts/ensure-trixie-tools.sh installs it)");
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("compose.yaml"), "services:\n  s:\n    image: a\n    env_file: t.env\n")
            .expect("write");
        for (name, text, key, expected) in CASES {
            std::fs::write(dir.path().join("t.env"), text).expect("write");
            let output = std::process::Command::new(&compose)
                .current_dir(dir.path())
                .args(["-p", "envcases", "config", "--format", "json"])
                .env("FROM_ENV", "env")
                .env_remove("NOT_SET_ANYWHERE")
                .output()
                .expect("running Compose v2");
            assert!(output.status.success(), "{name}: {}", String::from_utf8_lossy(&output.stderr));
            let config: serde_json::Value = serde_json::from_slice(&output.stdout).expect("Compose's JSON");
            // Compose writes a literal `$` as `$$` so its output can be read again.
            let actual = config["services"]["s"]["environment"][key].as_str().map(|v| v.replace("$$", "$"));
            assert_eq!(actual.as_deref(), *expected, "{name}: Compose v2 reads {text:?} otherwise");
        }
    }

    #[test]
    fn errors_name_the_line() {
        let lookup = |_: &str| None;
        let err = parse("A=1\nA B=1\n", &lookup).expect_err("space in a key");
        assert_eq!((err.line, err.message.as_str()), (2, "key cannot contain a space"));
        let err = parse("A=1\n\nA=\"open\n", &lookup).expect_err("unterminated");
        assert_eq!(err.line, 3);
        assert!(err.message.starts_with("unterminated quoted value"), "{}", err.message);
        let err = parse("P='it''s'\n", &lookup).expect_err("Compose rejects this too");
        assert!(err.message.contains("unexpected character"), "{}", err.message);
        assert!(parse("A=${B:?need B}\n", &lookup).is_err());
    }
}
