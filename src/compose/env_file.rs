//! Reading dotenv files (`.env`, `env_file:`).

use std::collections::BTreeMap;
use std::path::Path;

use super::error::ComposeError;

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
