//! Checks on the Markdown fields of issue and sponsor files: every link must
//! go somewhere a reader can follow.

use pulldown_cmark::{Event, Parser, Tag};

use crate::text::url::is_followable;

/// The link targets in `markdown` that are not http(s) or mailto addresses.
pub fn bad_links(markdown: &str) -> Vec<String> {
    crate::text::markdown::parser(markdown)
        .filter_map(|event| match event {
            Event::Start(Tag::Link { dest_url, .. }) | Event::Start(Tag::Image { dest_url, .. }) => {
                Some(dest_url.into_string())
            }
            _ => None,
        })
        .filter(|url| !is_followable(url))
        .collect()
}

/// The first footnote in `markdown` (`[^1]`, as written), which the email and
/// the page do not render: it is shown as typed.
pub fn first_footnote(markdown: &str) -> Option<String> {
    Parser::new_ext(markdown, pulldown_cmark::Options::ENABLE_FOOTNOTES).find_map(|event| match event {
        Event::FootnoteReference(label) | Event::Start(Tag::FootnoteDefinition(label)) => Some(format!("[^{label}]")),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footnotes_are_found() {
        assert_eq!(first_footnote("A claim[^src].\n\n[^src]: the source."), Some("[^src]".into()));
        assert_eq!(first_footnote("[^1]: a note alone"), Some("[^1]".into()));
        assert_eq!(first_footnote("An array a[1] and [a link](https://a.example/)"), None);
    }

    #[test]
    fn only_followable_links_pass() {
        assert!(bad_links("see [this](https://example.com) and [me](mailto:a@b.c)").is_empty());
        assert_eq!(bad_links("[x](javascript:alert(1))"), vec!["javascript:alert(1)"]);
        assert_eq!(bad_links("[x](/relative)"), vec!["/relative"]);
        assert!(bad_links("write to <a@b.example>").is_empty(), "an email autolink is a mailto: link");
    }
}
