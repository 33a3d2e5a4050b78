//! Checks on the Markdown fields of issue and sponsor files: every link must
//! go somewhere a reader can follow.

use pulldown_cmark::{Event, Parser, Tag};

use crate::text::url::is_followable;

/// The link targets in `markdown` that are not http(s) or mailto addresses.
pub fn bad_links(markdown: &str) -> Vec<String> {
    Parser::new(markdown)
        .filter_map(|event| match event {
            Event::Start(Tag::Link { dest_url, .. }) | Event::Start(Tag::Image { dest_url, .. }) => {
                Some(dest_url.into_string())
            }
            _ => None,
        })
        .filter(|url| !is_followable(url))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_followable_links_pass() {
        assert!(bad_links("see [this](https://example.com) and [me](mailto:a@b.c)").is_empty());
        assert_eq!(bad_links("[x](javascript:alert(1))"), vec!["javascript:alert(1)"]);
        assert_eq!(bad_links("[x](/relative)"), vec!["/relative"]);
    }
}
