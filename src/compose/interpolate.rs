//! Compose's variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`,
//! `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `${VAR:+alt}`,
//! `${VAR+alt}` and `$$` for a literal `$`. Defaults and alternatives may
//! themselves hold interpolations. A `$` not followed by a name or `{` is
//! kept as it is, as Compose does.

/// Why a string cannot be interpolated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpolationError {
    #[error("`${{` is not closed by `}}`")]
    Unterminated,
    #[error("`{}` is not a valid variable reference (a name is letters, digits and `_`, not starting with a digit)", crate::compose::clip(.0))]
    Invalid(String),
    #[error("required variable {var} is not set: {}", crate::compose::clip(message))]
    Required { var: String, message: String },
}

/// The result, and the variables that were used but are not set (Compose
/// warns about each and uses an empty string).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Interpolated {
    pub text: String,
    pub unset: Vec<String>,
}

/// Interpolates `input`, looking variables up with `lookup`.
pub fn interpolate(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Interpolated, InterpolationError> {
    let mut out = Interpolated::default();
    let mut rest = input;
    while let Some(dollar) = rest.find('$') {
        out.text.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.text.push('$');
            rest = tail;
        } else if let Some(braced) = after.strip_prefix('{') {
            let end = closing_brace(braced).ok_or(InterpolationError::Unterminated)?;
            expand_braced(&braced[..end], lookup, &mut out)?;
            rest = &braced[end + 1..];
        } else {
            let name_len = name_length(after);
            if name_len == 0 {
                out.text.push('$');
                rest = after;
            } else {
                let name = &after[..name_len];
                match lookup(name) {
                    Some(value) => out.text.push_str(&value),
                    None => out.unset.push(name.to_owned()),
                }
                rest = &after[name_len..];
            }
        }
    }
    out.text.push_str(rest);
    Ok(out)
}

/// The length of the variable name at the start of `text` (0 if none).
fn name_length(text: &str) -> usize {
    let mut chars = text.char_indices();
    match chars.next() {
        Some((_, c)) if c == '_' || c.is_ascii_alphabetic() => {}
        _ => return 0,
    }
    chars.find(|(_, c)| !(*c == '_' || c.is_ascii_alphanumeric())).map_or(text.len(), |(i, _)| i)
}

/// The index of the `}` closing a `${`, skipping nested `${...}`.
fn closing_brace(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'$') => i += 1,
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn expand_braced(
    inner: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut Interpolated,
) -> Result<(), InterpolationError> {
    let name_len = name_length(inner);
    let name = &inner[..name_len];
    let modifier = &inner[name_len..];
    if name.is_empty() {
        return Err(InterpolationError::Invalid(format!("${{{inner}}}")));
    }
    let value = lookup(name);
    let set = value.is_some();
    let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
    // The nested text is only interpolated when it is used, as in Compose.
    let nested = |text: &str, out: &mut Interpolated| -> Result<(), InterpolationError> {
        let inner = interpolate(text, lookup)?;
        out.text.push_str(&inner.text);
        out.unset.extend(inner.unset);
        Ok(())
    };
    let (op, arg) = split_modifier(modifier).ok_or_else(|| InterpolationError::Invalid(format!("${{{inner}}}")))?;
    match op {
        "" => match value {
            Some(v) => out.text.push_str(&v),
            None => out.unset.push(name.to_owned()),
        },
        ":-" | "-" => {
            let use_default = if op == ":-" { !non_empty } else { !set };
            if use_default {
                nested(arg, out)?;
            } else {
                out.text.push_str(value.as_deref().unwrap_or_default());
            }
        }
        ":?" | "?" => {
            let missing = if op == ":?" { !non_empty } else { !set };
            if missing {
                let message = interpolate(arg, lookup).map_or_else(|_| arg.to_owned(), |m| m.text);
                return Err(InterpolationError::Required { var: name.to_owned(), message });
            }
            out.text.push_str(value.as_deref().unwrap_or_default());
        }
        ":+" | "+" => {
            let use_alt = if op == ":+" { non_empty } else { set };
            if use_alt {
                nested(arg, out)?;
            }
        }
        _ => return Err(InterpolationError::Invalid(format!("${{{inner}}}"))),
    }
    Ok(())
}

/// `:-default` → (":-", "default"); "" → ("", "").
fn split_modifier(modifier: &str) -> Option<(&str, &str)> {
    if modifier.is_empty() {
        return Some(("", ""));
    }
    for op in [":-", ":?", ":+", "-", "?", "+"] {
        if let Some(arg) = modifier.strip_prefix(op) {
            return Some((op, arg));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "SET" => Some("value".into()),
            "EMPTY" => Some(String::new()),
            "PORT" => Some("8080".into()),
            "NESTED" => Some("${SET}".into()),
            _ => None,
        }
    }

    fn run(input: &str) -> Result<String, InterpolationError> {
        interpolate(input, &env).map(|i| i.text)
    }

    #[test]
    fn compose_interpolation_table() {
        let cases: &[(&str, &str)] = &[
            ("plain text", "plain text"),
            ("$SET", "value"),
            ("${SET}", "value"),
            ("pre-${SET}-post", "pre-value-post"),
            ("$SET.txt", "value.txt"),
            ("$UNSET", ""),
            ("${UNSET}", ""),
            ("${UNSET:-default}", "default"),
            ("${EMPTY:-default}", "default"),
            ("${EMPTY-default}", ""),
            ("${UNSET-default}", "default"),
            ("${SET:-default}", "value"),
            ("${SET:+alt}", "alt"),
            ("${EMPTY:+alt}", ""),
            ("${EMPTY+alt}", "alt"),
            ("${UNSET+alt}", ""),
            ("${UNSET:-${PORT}}", "8080"),
            ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
            ("${UNSET:-a:b-c}", "a:b-c"),
            ("$$SET", "$SET"),
            ("$${SET}", "${SET}"),
            ("cost: 5$", "cost: 5$"),
            ("$1 and $ alone", "$1 and $ alone"),
            ("127.0.0.1:${PORT}:8080", "127.0.0.1:8080:8080"),
            // Values are not interpolated again.
            ("$NESTED", "${SET}"),
            ("${UNSET:-}", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(run(input).as_deref(), Ok(*expected), "{input:?}");
        }
    }

    #[test]
    fn required_variables_report_their_message() {
        assert_eq!(
            run("${UNSET:?set UNSET in .env}"),
            Err(InterpolationError::Required { var: "UNSET".into(), message: "set UNSET in .env".into() })
        );
        assert!(matches!(run("${EMPTY:?x}"), Err(InterpolationError::Required { .. })));
        assert_eq!(run("${EMPTY?x}").as_deref(), Ok(""));
        assert_eq!(run("${SET:?x}").as_deref(), Ok("value"));
    }

    #[test]
    fn malformed_references_are_errors() {
        assert_eq!(run("${SET"), Err(InterpolationError::Unterminated));
        assert_eq!(run("a ${UNSET:-${SET}"), Err(InterpolationError::Unterminated));
        assert!(matches!(run("${1abc}"), Err(InterpolationError::Invalid(_))));
        assert!(matches!(run("${}"), Err(InterpolationError::Invalid(_))));
        assert!(matches!(run("${SET!x}"), Err(InterpolationError::Invalid(_))));
    }

    #[test]
    fn unset_variables_are_reported() {
        let result = interpolate("$A ${B} ${C:-x} ${SET}", &env).expect("valid");
        assert_eq!(result.unset, ["A", "B"]);
    }
}
