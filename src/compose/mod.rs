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
    }
}
