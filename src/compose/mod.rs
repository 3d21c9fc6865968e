//! Compose-format stack files: loading, merging, interpolation and the
//! resolved model.

mod convert;
mod discovery;
mod env_file;
mod error;
mod extends;
pub mod interpolate;
pub mod load;
mod merge;
pub mod model;
pub mod render;
mod render_runtime;
mod validate;
pub mod yaml;

pub use load::{ComposeError, LoadOptions, Loaded, load};
pub use model::Project;

/// How much of a user's text an error quotes: one line's worth, so a 10 MB
/// value or line never floods the terminal.
pub const QUOTE_WIDTH: usize = 80;

/// `text` as an error quotes it: at most [`QUOTE_WIDTH`] characters, cut at a
/// character boundary with `…` where it was cut, control characters escaped.
pub fn clip(text: &str) -> String {
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == QUOTE_WIDTH {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A list as an error shows it: whole when short, else its first items,
/// how many were left out, and its last item (a cycle's end is its start).
pub fn clip_list<S: AsRef<str>>(items: &[S], separator: &str) -> String {
    const SHOWN: usize = 8;
    if items.len() <= SHOWN + 1 {
        return items.iter().map(|i| clip(i.as_ref())).collect::<Vec<_>>().join(separator);
    }
    let first: Vec<String> = items[..SHOWN].iter().map(|i| clip(i.as_ref())).collect();
    let last = clip(items[items.len() - 1].as_ref());
    format!("{}{separator}… ({} more){separator}{last}", first.join(separator), items.len() - SHOWN - 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_are_clipped_to_a_line() {
        assert_eq!(super::clip("abc"), "abc");
        assert_eq!(super::clip("a\0b"), "a\\u{0}b");
        let long = "é".repeat(1000);
        let clipped = super::clip(&long);
        assert_eq!(clipped.chars().count(), super::QUOTE_WIDTH + 1);
        assert!(clipped.ends_with('…'));
        assert_eq!(super::clip_list(&["a", "b", "a"], " -> "), "a -> b -> a");
        let many: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        assert_eq!(super::clip_list(&many, ", "), "0, 1, 2, 3, 4, 5, 6, 7, … (91 more), 99");
    }
}
