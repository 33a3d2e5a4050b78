//! Markdown from issue files, turned into safe HTML and into plain text with
//! numbered link references.
//!
//! Issue files are written by people, pasted from anywhere: raw HTML in them is
//! shown as text (never passed through), and links go only to http(s) or mailto.

use pulldown_cmark::{CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd, html};

use crate::text::url::is_followable;

/// The events of `markdown`, an email autolink (`<a@b.example>`) given its
/// `mailto:` address like any other link.
pub fn parser(markdown: &str) -> impl Iterator<Item = Event<'_>> {
    Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES).map(|event| match event {
        Event::Start(Tag::Link { link_type: LinkType::Email, dest_url, title, id }) => Event::Start(Tag::Link {
            link_type: LinkType::Autolink,
            dest_url: CowStr::from(format!("mailto:{dest_url}")),
            title,
            id,
        }),
        other => other,
    })
}

/// Markdown to HTML, with raw HTML escaped and unsafe links dropped (their text kept).
pub fn to_html(markdown: &str) -> String {
    to_html_with(markdown, &mut |url| url.to_string())
}

/// [`to_html`], each followable link's address passed through `map` (counted links).
pub fn to_html_with(markdown: &str, map: &mut dyn FnMut(&str) -> String) -> String {
    let mut dropped_links = Vec::new();
    let events = parser(markdown).filter_map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Link { dest_url, .. }) if !is_followable(&dest_url) => {
            dropped_links.push(true);
            None
        }
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            dropped_links.push(false);
            Some(Event::Start(Tag::Link { link_type, dest_url: CowStr::from(map(&dest_url)), title, id }))
        }
        Event::End(TagEnd::Link) => match dropped_links.pop() {
            Some(true) => None,
            _ => Some(Event::End(TagEnd::Link)),
        },
        // Images in prose become links to the image: emails are laid out by the template.
        Event::Start(Tag::Image { dest_url, title, id, .. }) if is_followable(&dest_url) => {
            let dest_url = CowStr::from(map(&dest_url));
            Some(Event::Start(Tag::Link { link_type: LinkType::Inline, dest_url, title, id }))
        }
        Event::Start(Tag::Image { .. }) => {
            dropped_links.push(true);
            None
        }
        Event::End(TagEnd::Image) => match dropped_links.pop() {
            Some(true) => None,
            _ => Some(Event::End(TagEnd::Link)),
        },
        // A heading in a take or the intro sits under the page's own: the issue's
        // title (h1), its sections (h2) and recommendations (h3).
        Event::Start(Tag::Heading { level, id, classes, attrs }) => {
            Some(Event::Start(Tag::Heading { level: below_the_page(level), id, classes, attrs }))
        }
        Event::End(TagEnd::Heading(level)) => Some(Event::End(TagEnd::Heading(below_the_page(level)))),
        other => Some(other),
    });
    let mut out = String::with_capacity(markdown.len() * 5 / 4);
    html::push_html(&mut out, with_direction(plain_cells(events.collect())).into_iter());
    out.trim_end().to_string()
}

/// `events` with a table's cells written plainly: head cells `<th scope="col">`
/// (as screen readers and WCAG's H63 want), no cell with an inline style (its
/// column's alignment, which a page's style rules and some mail clients refuse).
fn plain_cells(mut events: Vec<Event<'_>>) -> Vec<Event<'_>> {
    let mut in_head = false;
    for event in &mut events {
        match event {
            Event::Start(Tag::TableHead) => in_head = true,
            Event::End(TagEnd::TableHead) => in_head = false,
            Event::Start(Tag::TableCell) => {
                *event = Event::Html(if in_head { "<th scope=\"col\">" } else { "<td>" }.into());
            }
            _ => {}
        }
    }
    events
}

/// A Markdown heading's level in a page whose h1 to h3 are the template's:
/// `#` is h4, `##` h5, anything deeper h6.
fn below_the_page(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 => HeadingLevel::H4,
        HeadingLevel::H2 => HeadingLevel::H5,
        _ => HeadingLevel::H6,
    }
}

/// `events` with every paragraph, heading and list item that reads right to
/// left ([`crate::text::is_rtl`]: Arabic, Hebrew) marked `dir="rtl"`, so that a
/// page or email in a left-to-right language lays it out from the right, its
/// full stop at its end. Not `dir="auto"`, which Outlook's Word engine ignores.
/// Left-to-right blocks are left as they were.
fn with_direction(mut events: Vec<Event<'_>>) -> Vec<Event<'_>> {
    for at in 0..events.len() {
        let block = matches!(events[at], Event::Start(Tag::Paragraph | Tag::Item | Tag::Heading { .. }));
        if !block || !reads_rtl(&events[at..]) {
            continue;
        }
        match &mut events[at] {
            Event::Start(Tag::Heading { attrs, .. }) => attrs.push(("dir".into(), Some("rtl".into()))),
            Event::Start(Tag::Paragraph) => events[at] = Event::Html("<p dir=\"rtl\">".into()),
            other => *other = Event::Html("<li dir=\"rtl\">".into()),
        }
    }
    events
}

/// Whether the block `events` starts (its start tag first) reads right to left.
fn reads_rtl(events: &[Event<'_>]) -> bool {
    let mut depth = 0usize;
    for event in events {
        match event {
            Event::Start(_) => depth += 1,
            Event::End(_) if depth <= 1 => return false,
            Event::End(_) => depth -= 1,
            Event::Text(t) | Event::Code(t) => {
                if let Some(rtl) = crate::text::is_rtl(t) {
                    return rtl;
                }
            }
            _ => {}
        }
    }
    false
}

/// The links of a plain-text email, numbered in order of first appearance.
#[derive(Debug, Default, Clone)]
pub struct LinkRefs {
    pub urls: Vec<String>,
}

impl LinkRefs {
    /// The number of `url`, adding it when new.
    pub fn number(&mut self, url: &str) -> usize {
        match self.urls.iter().position(|u| u == url) {
            Some(i) => i + 1,
            None => {
                self.urls.push(url.to_string());
                self.urls.len()
            }
        }
    }
}

/// Markdown to plain text: paragraphs separated by a blank line, list items
/// as "- ", table rows as lines of cells between " | ", and every link's text
/// followed by its reference number "[3]".
pub fn to_text(markdown: &str, refs: &mut LinkRefs) -> String {
    to_text_with(markdown, refs, &mut |url| url.to_string())
}

/// [`to_text`], each followable link's address passed through `map` before it is numbered.
pub fn to_text_with(markdown: &str, refs: &mut LinkRefs, map: &mut dyn FnMut(&str) -> String) -> String {
    let mut out = String::new();
    let mut link_stack: Vec<Option<String>> = Vec::new();
    let mut list_depth = 0usize;
    let mut quote_depth = 0usize;
    let mut ordered: Vec<Option<u64>> = Vec::new();
    let mut cells = 0usize;
    let block_break = |out: &mut String| {
        let trimmed = out.trim_end_matches([' ', '\n']).len();
        out.truncate(trimmed);
        if !out.is_empty() {
            out.push_str("\n\n");
        }
    };
    for event in parser(markdown) {
        match event {
            Event::Start(Tag::Paragraph) if list_depth == 0 => {
                block_break(&mut out);
                out.push_str(&"> ".repeat(quote_depth));
            }
            Event::Start(Tag::Heading { level, .. }) => {
                block_break(&mut out);
                if level <= HeadingLevel::H2 {
                    out.push_str("## ");
                }
            }
            // A code block or a raw HTML block is a paragraph of its own, its lines kept.
            Event::Start(Tag::CodeBlock(_) | Tag::HtmlBlock) => block_break(&mut out),
            Event::Start(Tag::BlockQuote(_)) => quote_depth += 1,
            Event::End(TagEnd::BlockQuote(_)) => quote_depth = quote_depth.saturating_sub(1),
            Event::Start(Tag::List(start)) => {
                if list_depth == 0 {
                    block_break(&mut out);
                }
                list_depth += 1;
                ordered.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                list_depth -= 1;
                ordered.pop();
            }
            Event::Start(Tag::Item) => {
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str(&"  ".repeat(list_depth.saturating_sub(1)));
                match ordered.last_mut() {
                    Some(Some(n)) => {
                        out.push_str(&format!("{n}. "));
                        *n += 1;
                    }
                    _ => out.push_str("- "),
                }
            }
            Event::Start(Tag::Link { dest_url, .. }) | Event::Start(Tag::Image { dest_url, .. }) => {
                link_stack.push(is_followable(&dest_url).then(|| dest_url.into_string()));
            }
            Event::End(TagEnd::Link) | Event::End(TagEnd::Image) => {
                if let Some(Some(url)) = link_stack.pop() {
                    let n = refs.number(&map(&url));
                    out.push_str(&format!(" [{n}]"));
                }
            }
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => push_text(&mut out, &t),
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push('\n'),
            Event::Rule => {
                block_break(&mut out);
                out.push_str("----");
            }
            // A table: a row a line, cells between " | ", the head underlined.
            Event::Start(Tag::Table(_)) => block_break(&mut out),
            Event::Start(Tag::TableHead | Tag::TableRow) => cells = 0,
            Event::Start(Tag::TableCell) => {
                if cells > 0 {
                    out.push_str(" | ");
                }
                cells += 1;
            }
            Event::End(TagEnd::TableHead) => {
                let head = out.rsplit('\n').next().unwrap_or_default();
                let width = unicode_width::UnicodeWidthStr::width(head);
                out.push('\n');
                out.push_str(&"-".repeat(width));
                out.push('\n');
            }
            Event::End(TagEnd::TableRow) => out.push('\n'),
            _ => {}
        }
    }
    out.trim().to_string()
}

fn push_text(out: &mut String, text: &CowStr) {
    out.push_str(text);
}

/// Plain text with no link references, for previews and summaries.
pub fn to_plain(markdown: &str) -> String {
    let mut throwaway = LinkRefs::default();
    let text = to_text(markdown, &mut throwaway);
    let mut plain = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(start) = rest.find(" [") {
        plain.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find(']') {
            Some(end) if end > 0 && after[..end].bytes().all(|b| b.is_ascii_digit()) => rest = &after[end + 1..],
            _ => {
                plain.push_str(" [");
                rest = after;
            }
        }
    }
    plain.push_str(rest);
    plain.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Wraps every line longer than `width` columns at word boundaries; list items
/// and quotes keep their hanging indent; a word longer than the line (a URL) is
/// never broken. Chinese and Japanese, written without spaces, break between
/// characters as Unicode's line breaking rules allow (a URL among them kept
/// whole, which those rules would cut at its slashes).
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    for line in text.lines() {
        if unicode_width::UnicodeWidthStr::width(line) <= width {
            out.push_str(line.trim_end());
            out.push('\n');
            continue;
        }
        let indent_len = line.len() - line.trim_start().len();
        let body = &line[indent_len..];
        let marker = hanging_marker(body);
        let subsequent = " ".repeat(indent_len + marker.chars().count());
        let options = textwrap::Options::new(width)
            .initial_indent(&line[..indent_len])
            .subsequent_indent(&subsequent)
            .break_words(false)
            .word_separator(separator(body))
            .word_splitter(textwrap::WordSplitter::NoHyphenation);
        for wrapped in textwrap::wrap(body, options) {
            out.push_str(wrapped.trim_end());
            out.push('\n');
        }
    }
    out
}

fn separator(line: &str) -> textwrap::WordSeparator {
    let wide = line.chars().any(|c| unicode_width::UnicodeWidthChar::width(c) == Some(2));
    if wide { textwrap::WordSeparator::Custom(wide_words) } else { textwrap::WordSeparator::AsciiSpace }
}

/// The words of a line with wide characters: every URL (`http://` or
/// `https://` up to the next space) one word, kept whole; the text around
/// them broken where Unicode's line breaking rules allow (between Chinese or
/// Japanese characters). A Chinese paragraph with a URL in it was not wrapped at all.
fn wide_words(line: &str) -> Box<dyn Iterator<Item = textwrap::core::Word<'_>> + '_> {
    let mut words = Vec::new();
    let mut at = 0;
    while at < line.len() {
        let url = [line[at..].find("https://"), line[at..].find("http://")].into_iter().flatten().min();
        let text_end = url.map_or(line.len(), |i| at + i);
        if text_end > at {
            words.extend(textwrap::WordSeparator::UnicodeBreakProperties.find_words(&line[at..text_end]));
        }
        if url.is_none() {
            break;
        }
        let url_end = line[text_end..].find(' ').map_or(line.len(), |i| text_end + i);
        let spaced_end = line.len() - line[url_end..].trim_start_matches(' ').len();
        words.push(textwrap::core::Word::from(&line[text_end..spaced_end]));
        at = spaced_end;
    }
    Box::new(words.into_iter())
}

/// The list or quote marker a wrapped line's continuation lines hang under.
fn hanging_marker(body: &str) -> &str {
    for marker in ["- ", "* ", "• ", "> "] {
        if body.starts_with(marker) {
            return marker;
        }
    }
    let digits = body.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && body[digits..].starts_with(". ") {
        return &body[..digits + 2];
    }
    if digits > 0 && body.starts_with('[') {
        return "";
    }
    if body.starts_with('[')
        && let Some(end) = body.find("] ")
        && body[1..end].bytes().all(|b| b.is_ascii_digit())
    {
        return &body[..end + 2];
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_is_shown_as_text() {
        let html = to_html("Hello <script>alert(1)</script> **world**\n\n<div onclick=x>hi</div>");
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
        assert!(!html.contains("<div"), "{html}");
        assert!(html.contains("<strong>world</strong>"), "{html}");
    }

    #[test]
    fn blocks_that_read_right_to_left_are_marked_and_others_left_alone() {
        let html = to_html(
            "## عنوان\n\nمرحبا **بكم**.\n\n- שלום\n- hello\n\n[קישור](https://a.example/) here\n\nSee العربية.",
        );
        assert_eq!(
            html,
            "<h5 dir=\"rtl\">عنوان</h5>\n<p dir=\"rtl\">مرحبا <strong>بكم</strong>.</p>\n<ul>\n<li dir=\"rtl\">שלום</li>\n\
             <li>hello</li>\n</ul>\n<p dir=\"rtl\"><a href=\"https://a.example/\">קישור</a> here</p>\n<p>See العربية.</p>"
        );
        assert_eq!(to_html("123 ❤️ ..."), "<p>123 ❤️ ...</p>", "no strong character: as it was");
    }

    #[test]
    fn headings_sit_below_the_pages_own_and_tables_are_tables_in_html_and_text() {
        let markdown = "# Big\n\n### Small\n\n| Market | Share |\n|---|--:|\n| 日本 | 40% |\n| [Korea](https://a.example/) | 7% |\n\nAfter.";
        let html = to_html(markdown);
        assert!(
            html.starts_with("<h4>Big</h4>\n<h6>Small</h6>\n<table><thead><tr><th scope=\"col\">Market</th>"),
            "{html}"
        );
        assert!(html.contains("<td>日本</td><td>40%</td>"), "{html}");
        let mut refs = LinkRefs::default();
        assert_eq!(
            to_text(markdown, &mut refs),
            "## Big\n\nSmall\n\nMarket | Share\n--------------\n日本 | 40%\nKorea [1] | 7%\n\nAfter."
        );
    }

    #[test]
    fn unsafe_links_lose_their_href_but_keep_their_text() {
        let html = to_html("[click](javascript:alert(1)) and [ok](https://example.com/?a=1&b=\"2\")");
        assert!(!html.contains("javascript"), "{html}");
        assert!(html.contains("click and"), "{html}");
        assert!(html.contains("href=\"https://example.com/?a=1&amp;b=%222%22\""), "{html}");
    }

    #[test]
    fn text_numbers_links_in_order_and_reuses_numbers() {
        let mut refs = LinkRefs::default();
        refs.number("https://first.example/");
        let text = to_text(
            "Read [this](https://a.example/) and [that](https://b.example/), then [this again](https://a.example/).\n\n- one\n- two",
            &mut refs,
        );
        assert_eq!(text, "Read this [2] and that [3], then this again [2].\n\n- one\n- two");
        assert_eq!(refs.urls, ["https://first.example/", "https://a.example/", "https://b.example/"]);
    }

    #[test]
    fn plain_drops_references() {
        assert_eq!(to_plain("See [the chart](https://a.example/) [sic] now."), "See the chart [sic] now.");
    }

    #[test]
    fn wrap_breaks_chinese_and_japanese_between_characters() {
        let text = format!("{}\n", "日本語の長い文章です。".repeat(20));
        let wrapped = wrap(&text, 72);
        assert!(wrapped.lines().count() > 2, "{wrapped}");
        assert!(wrapped.lines().all(|l| unicode_width::UnicodeWidthStr::width(l) <= 72), "{wrapped}");
        assert_eq!(wrapped.replace('\n', ""), text.trim_end());
    }

    #[test]
    fn wrap_breaks_chinese_around_a_url_and_keeps_the_url_whole() {
        let url = "https://example.com/路径/x?q=1";
        let text = format!("{}请看 {url} 这里。{}\n", "人工智能的发展。".repeat(12), "产业政策。".repeat(20));
        let wrapped = wrap(&text, 72);
        assert!(wrapped.lines().all(|l| unicode_width::UnicodeWidthStr::width(l) <= 72), "{wrapped}");
        assert!(wrapped.lines().any(|l| l.contains(url)), "the URL is on one line:\n{wrapped}");
        assert_eq!(wrapped.replace(['\n', ' '], ""), text.trim_end().replace(' ', ""), "nothing lost");
    }

    #[test]
    fn wrap_keeps_width_and_hanging_indent_and_urls_whole() {
        let long = format!("  • {} https://example.com/{}", "word ".repeat(30), "x".repeat(80));
        let wrapped = wrap(&long, 72);
        for line in wrapped.lines() {
            assert!(line.len() <= 72 || line.trim_start().starts_with("https://"), "{line:?}");
        }
        assert!(wrapped.lines().nth(1).unwrap().starts_with("    word"), "{wrapped}");
        assert!(wrapped.contains(&format!("https://example.com/{}", "x".repeat(80))));
    }
}
