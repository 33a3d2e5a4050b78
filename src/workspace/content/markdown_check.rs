//! Checks on the Markdown fields of issue and sponsor files: every link must
//! go somewhere a reader can follow.

use pulldown_cmark::{Event, Parser, Tag};

use crate::diag::{Diagnostics, Severity};
use crate::text::url::is_followable;
use crate::workspace::content::toml_file::{Seg, TomlFile};

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

/// Reports each link of the Markdown string at `path` that is not a web
/// address, pointing at the link's target as written in the file.
pub fn report_bad_links(markdown: &str, toml: &TomlFile, path: &[Seg], hint: &str, diags: &mut Diagnostics) {
    let mut seen: Vec<String> = Vec::new();
    for bad in bad_links(markdown) {
        let nth = seen.iter().filter(|s| **s == bad).count();
        let message = format!("link \"{bad}\" is not a web address");
        diags.push(toml.diag_at_text(Severity::Error, path, &bad, nth, message).with_hint(hint.to_string()));
        seen.push(bad);
    }
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
