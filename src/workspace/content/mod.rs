//! Issue and sponsor files, read into typed, validated values.
//!
//! Every value that exists here has been checked: a [`issue::Issue`] has a
//! title, valid URLs and a known sponsor. Problems go to [`crate::diag::Diagnostics`]
//! with the file, line and column they come from.

pub mod episode;
pub mod issue;
pub mod kept;
pub mod markdown_check;
pub mod record;
pub mod sponsor;
pub mod toml_file;

/// Text that ends up in a mail header must not carry a line break.
pub fn has_line_break(text: &str) -> bool {
    text.contains(['\r', '\n', '\u{2028}', '\u{2029}', '\u{85}'])
}
