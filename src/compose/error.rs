//! The loader's errors: every problem in a file names the file, line and
//! column, shows the line with a caret, and says what to do.

use std::path::PathBuf;

use miette::{NamedSource, SourceSpan};

use super::discovery::FILE_NAMES;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ComposeError {
    #[error("no stack file in {} or any directory above it (looked for {})", dir.display(), FILE_NAMES.join(", "))]
    #[diagnostic(
        code(dmp::compose::no_file),
        help("run dmp in the app's directory, name the file with -f, or create one with `dmp init`")
    )]
    NoFile { dir: PathBuf },

    #[error("cannot read {}: {source}", path.display())]
    #[diagnostic(code(dmp::compose::read))]
    Read { path: PathBuf, source: std::io::Error },

    /// A problem at a spot in a file (boxed: it carries the file's text).
    #[error(transparent)]
    #[diagnostic(transparent)]
    At(Box<Located>),

    #[error("{}:{line}: {message}", path.display())]
    #[diagnostic(code(dmp::compose::env_file))]
    EnvFile {
        path: PathBuf,
        line: usize,
        message: String,
        #[help]
        help: Option<String>,
    },

    #[error("{message}")]
    #[diagnostic(code(dmp::compose::project))]
    Project {
        message: String,
        #[help]
        help: Option<String>,
    },
}

/// A problem at a spot in a stack file, shown with the line and a caret.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{location}: {message}")]
#[diagnostic(code(dmp::compose::invalid))]
pub struct Located {
    pub location: String,
    pub message: String,
    #[source_code]
    pub(super) source_code: NamedSource<String>,
    #[label("{label}")]
    pub(super) span: SourceSpan,
    pub(super) label: String,
    #[help]
    pub(super) help: Option<String>,
}
