//! Curation: editing issue files for the publisher. [`next`] starts the next issue
//! from the last one's skeleton (`publish new`); [`append`] turns link records into
//! recommendations (`publish add`). Both go through toml_edit, so the comments,
//! spacing and quoting the publisher wrote stay as they were.

pub mod append;
pub mod link;
pub mod next;

/// `text` as TOML comment lines (`# ...`), wrapped at 100 columns, each line after
/// `indent`. Control characters, which TOML comments may not hold, become spaces.
fn comment(text: &str, indent: &str) -> String {
    let clean: String = text.chars().map(|c| if c.is_control() && c != '\n' { ' ' } else { c }).collect();
    let mut out = String::new();
    for paragraph in clean.lines() {
        let width = 98 - indent.len();
        for line in textwrap::wrap(paragraph.trim_end(), width) {
            out.push_str(format!("# {indent}{line}").trim_end());
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_wrapped_and_cannot_break_out() {
        let text = comment("one\ntwo\u{7}three\r\nkey = 1", "  ");
        assert_eq!(text, "#   one\n#   two three\n#   key = 1\n");
        let long = comment(&"word ".repeat(40), "");
        assert!(long.lines().all(|l| l.len() <= 100 && l.starts_with("# ")), "{long}");
        assert_eq!(long.lines().count(), 3);
    }
}
