//! The loader's errors: every problem in a file names the file, line and
//! column, shows the line with a caret, and says what to do.

use std::path::PathBuf;

use miette::{MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use super::discovery::FILE_NAMES;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ComposeError {
    #[error("no stack file in {} or any directory above it (looked for {})", dir.display(), FILE_NAMES.join(", "))]
    #[diagnostic(
        code(dmp::compose::no_file),
        help("run dmp in the app's directory, name the file with -f, or create one with `dmp init`")
    )]
    NoFile { dir: PathBuf },

    // `error`, not `source`: the cause is said once, in this line.
    #[error("cannot read {}: {error}", path.display())]
    #[diagnostic(
        code(dmp::compose::read),
        help("name a regular text file (of at most 16 MiB); relative paths start from the stack file's directory")
    )]
    Read { path: PathBuf, error: std::io::Error },

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
    pub(super) source_code: Excerpt,
    #[label("{label}")]
    pub(super) span: SourceSpan,
    pub(super) label: String,
    #[help]
    pub(super) help: Option<String>,
}

/// The lines of a file an error shows (the line with the problem and one
/// either side), each clipped to a window around the problem's column, so
/// a 50 KB line or a 10 MB file shows as a few short lines. Line numbers
/// are the file's.
#[derive(Debug)]
pub struct Excerpt {
    name: String,
    text: String,
    /// The file's 0-based line number of the excerpt's first line.
    first_line: usize,
    /// The excerpt's line with the problem, the characters cut from its
    /// start, and the bytes of the `…` that stands for them.
    problem_line: usize,
    cut: usize,
    marker: usize,
}

/// Characters of each line shown, and how many of them before the column.
const WINDOW: usize = 100;
const BEFORE: usize = 40;

impl Excerpt {
    /// The excerpt of `text` around the bytes `offset..offset + len`, and
    /// that span within the excerpt.
    pub fn new(name: String, text: &str, offset: usize, len: usize) -> (Self, SourceSpan) {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
        let line_number = text[..line_start].matches('\n').count();
        let column = text[line_start..offset].chars().count();
        // The characters of the span on this line (a span may end inside a
        // character, or run past the line).
        let span_chars = text[offset..line_end].char_indices().take_while(|(i, _)| *i < len.max(1)).count().max(1);
        let from = column.saturating_sub(BEFORE);

        let previous = (line_start > 0).then(|| {
            let end = line_start - 1;
            &text[text[..end].rfind('\n').map_or(0, |i| i + 1)..end]
        });
        let next = (line_end < text.len()).then(|| {
            let start = line_end + 1;
            &text[start..text[start..].find('\n').map_or(text.len(), |i| start + i)]
        });

        // A short line beside a long one is shown whole, not cut to nothing.
        let context = |line: &str| window(line, if line.chars().count() <= from { 0 } else { from }).0;
        let mut excerpt = String::new();
        if let Some(line) = previous {
            excerpt.push_str(&context(line));
            excerpt.push('\n');
        }
        let (shown, prefix) = window(&text[line_start..line_end], from);
        let start_in_line: usize =
            prefix + text[line_start..offset].chars().skip(from).map(char::len_utf8).sum::<usize>();
        let visible_after = (from + WINDOW).saturating_sub(column);
        let span_len: usize =
            text[offset..line_end].chars().take(span_chars.min(visible_after).max(1)).map(char::len_utf8).sum();
        let span = SourceSpan::from((excerpt.len() + start_in_line, span_len.max(1)));
        excerpt.push_str(&shown);
        if let Some(line) = next {
            excerpt.push('\n');
            excerpt.push_str(&context(line));
        }
        let first_line = line_number - usize::from(previous.is_some());
        let problem_line = usize::from(previous.is_some());
        (Self { name, text: excerpt, first_line, problem_line, cut: from, marker: prefix }, span)
    }
}

/// `line` from character `from`, at most [`WINDOW`] characters, with `…`
/// where it was cut; and the bytes the leading `…` takes.
fn window(line: &str, from: usize) -> (String, usize) {
    let mut out = String::new();
    let mut prefix = 0;
    if from > 0 && line.chars().count() > 0 {
        out.push('…');
        prefix = '…'.len_utf8();
    }
    let mut chars = line.chars().skip(from);
    out.extend(chars.by_ref().take(WINDOW));
    if chars.next().is_some() {
        out.push('…');
    }
    (out, prefix)
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self.text.read_span(span, context_lines_before, context_lines_after)?;
        let column = if inner.line() == self.problem_line {
            (inner.column() + self.cut).saturating_sub(self.marker)
        } else {
            inner.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            column,
            inner.line_count(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::Excerpt;

    #[test]
    fn an_excerpt_is_three_short_lines_with_the_file_s_line_numbers() {
        let long = "x".repeat(50_000);
        let text = format!("a: 1\nb: {long}\nc: [{long}\nd: 4\n");
        let offset = text.find("c: [").expect("c") + 3;
        let (excerpt, span) = Excerpt::new("f.yml".into(), &text, offset, 1);
        assert_eq!(excerpt.first_line, 1);
        assert_eq!(excerpt.text.lines().count(), 3);
        assert!(excerpt.text.lines().all(|l| l.chars().count() <= super::WINDOW + 2), "{}", excerpt.text);
        assert_eq!(&excerpt.text[span.offset()..span.offset() + span.len()], "[");
        let far = text.find("c: [").expect("c") + 30_000;
        let (excerpt, span) = Excerpt::new("f.yml".into(), &text, far, 5);
        assert_eq!(&excerpt.text[span.offset()..span.offset() + span.len()], "xxxxx");
        assert!(excerpt.text.lines().nth(1).expect("the line").starts_with('…'));
        let (excerpt, _) = Excerpt::new("f.yml".into(), "aé\nb", 1, 1);
        assert_eq!(excerpt.text, "aé\nb");
        let (excerpt, span) = Excerpt::new("f.yml".into(), "é: [", 4, 1);
        assert_eq!((excerpt.first_line, &excerpt.text[span.offset()..]), (0, "["));
    }
}
