//! The email's two parts: HTML with CSS inlined, and plain text wrapped at 72
//! columns. Rendered once per issue with recipient markers (see [`personal`]).

use minijinja::context;
use minijinja::value::{Serde, Value};

use crate::assemble::Edition;
use crate::diag::Diagnostic;
use crate::render::Renderer;
use crate::render::personal::{Escape, MarkerRecipient, Personal, Recipient};
use crate::text::markdown::wrap;

/// Width of the plain-text part.
pub const TEXT_WIDTH: usize = 72;

/// Gmail clips messages whose HTML is larger than this.
pub const GMAIL_CLIP_BYTES: usize = 102 * 1024;

/// The issue's email, ready to be filled in per recipient.
#[derive(Debug, Clone)]
pub struct EmailBody {
    pub html: Personal,
    pub text: Personal,
    /// The size of the HTML part for the sample recipient.
    pub html_bytes: usize,
}

impl EmailBody {
    /// The (HTML, text) parts for one recipient.
    pub fn fill(&self, recipient: &Recipient) -> (String, String) {
        (self.html.fill(recipient), self.text.fill(recipient))
    }

    /// The (HTML, text) parts for one recipient, quoted-printable encoded.
    pub fn fill_encoded(&self, recipient: &Recipient) -> (Vec<u8>, Vec<u8>) {
        (self.html.fill_quoted_printable(recipient), self.text.fill_quoted_printable(recipient))
    }
}

/// Renders both parts of `edition`'s email.
pub fn render(renderer: &Renderer, edition: &Edition) -> Result<EmailBody, Diagnostic> {
    let markers = MarkerRecipient::new();
    let ctx = || {
        context! {
            issue => Value::from(Serde(edition)),
            publication => Value::from(Serde(&edition.publication)),
            recipient => Value::from_dyn_object(markers.clone()),
        }
    };
    let html = renderer.render("email.html", ctx())?;
    let mut html = charset_first(&escape_brackets_in_attributes(&inline_css(&html)?));
    if let Some(canary) = &edition.canary {
        html = with_canary(&html, canary);
    }
    let text = plain_text(&renderer.render("email.txt", ctx())?);
    let vars = markers.vars();
    let html = Personal::new(&html, &vars, Escape::Html);
    let html_bytes = html.fill(&Recipient::sample()).len();
    Ok(EmailBody { html, text: Personal::new(&text, &vars, Escape::None), html_bytes })
}

/// Puts the canary of counted links right after `<body>`: a link with no text,
/// hidden from people and screen readers, that only a program following every
/// address of the message opens. Not in the plain-text part, where a person
/// could not tell it from the others.
fn with_canary(html: &str, canary: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let Some(at) = lower.find("<body").and_then(|b| lower[b..].find('>').map(|e| b + e + 1)) else {
        return html.to_string();
    };
    let link = format!(
        "<a href=\"{}\" aria-hidden=\"true\" tabindex=\"-1\" style=\"display:none;font-size:0;line-height:0;max-height:0;overflow:hidden;mso-hide:all;\"></a>",
        crate::text::escape_html(canary)
    );
    format!("{}{link}{}", &html[..at], &html[at..])
}

/// Stands in for the space before a link reference while the text is wrapped:
/// one column wide like the space, and no break opportunity.
const GLUE: char = '\u{a0}';

/// The plain-text part: wrapped at [`TEXT_WIDTH`], a link reference (`[12]`)
/// never alone at the start of a line but kept with the word before it, and
/// the signature separator as mail clients know it, `-- ` with its space.
fn plain_text(text: &str) -> String {
    // A no-break space of the issue's own text must come back as it was.
    let glue = !text.contains(GLUE);
    let glued = if glue { glue_references(text) } else { text.to_string() };
    let mut wrapped = wrap(&glued, TEXT_WIDTH);
    if glue {
        wrapped = wrapped.replace(GLUE, " ");
    }
    let mut lines: Vec<&str> = wrapped.split('\n').collect();
    if let Some(sig) = lines.iter().rposition(|l| l.trim_end() == "--") {
        lines[sig] = "-- ";
    }
    lines.join("\n")
}

/// Joins each ` [n]` to the word before it with [`GLUE`].
fn glue_references(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" [") {
        let after = &rest[at + 2..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let is_ref = digits > 0 && after[digits..].starts_with(']');
        out.push_str(&rest[..at]);
        out.push(if is_ref { GLUE } else { ' ' });
        out.push('[');
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Moves the `<style>` rules onto the elements; `@media` rules (mobile, dark
/// mode) stay in a `<style>` block, where mail clients that support them look.
fn inline_css(html: &str) -> Result<String, Diagnostic> {
    let inliner = css_inline::CSSInliner::options().keep_at_rules(true).load_remote_stylesheets(false).build();
    inliner.inline(html).map_err(|e| {
        Diagnostic::file(crate::diag::Severity::Error, "email.html", format!("cannot inline the CSS: {e}"))
            .with_hint("check the <style> block of templates/email.html")
    })
}

/// Moves the template's `<meta charset>` to the front of `<head>`. The CSS
/// inliner writes the kept `<style>` block (the `@media` rules) first, and a
/// browser or mail client only honours a charset declared in the first 1,024
/// bytes. A page without one is left as it is.
fn charset_first(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let (Some(head), Some(meta)) = (lower.find("<head"), lower.find("<meta charset=")) else {
        return html.to_string();
    };
    let (Some(head_end), Some(meta_len)) = (lower[head..].find('>'), lower[meta..].find('>')) else {
        return html.to_string();
    };
    let (head_end, meta_end) = (head + head_end + 1, meta + meta_len + 1);
    if meta < head_end || lower[head_end..meta].trim().is_empty() {
        return html.to_string();
    }
    let mut out = String::with_capacity(html.len());
    out.push_str(&html[..head_end]);
    out.push_str(&html[meta..meta_end]);
    out.push_str(&html[head_end..meta]);
    out.push_str(&html[meta_end..]);
    out
}

/// Writes `<` and `>` inside attribute values as `&lt;` and `&gt;`, as the HTML
/// standard's serialisation does since 2025. The CSS inliner writes the page out
/// again escaping only `&` and `"` there, so an alt text or a link from an issue
/// file would otherwise carry a literal `<script>` or `<img onerror=…>` into the
/// mail: inert inside the quotes, but what mail filters and old sanitisers trip on.
/// Comments and the text of `<style>` and `<script>` are left as they are.
fn escape_brackets_in_attributes(html: &str) -> String {
    let bytes = html.as_bytes();
    let mut out = String::with_capacity(html.len() + 64);
    let (mut at, mut copied) = (0, 0);
    while let Some(lt) = html[at..].find('<').map(|i| at + i) {
        if html[lt..].starts_with("<!--") {
            at = html[lt..].find("-->").map_or(html.len(), |i| lt + i + 3);
            continue;
        }
        let name_len = bytes[lt + 1..].iter().take_while(|b| b.is_ascii_alphanumeric()).count();
        let name = html[lt + 1..lt + 1 + name_len].to_ascii_lowercase();
        let (mut end, mut quoted) = (lt + 1, false);
        while end < bytes.len() && (quoted || bytes[end] != b'>') {
            match bytes[end] {
                b'"' => quoted = !quoted,
                b @ (b'<' | b'>') if quoted => {
                    out.push_str(&html[copied..end]);
                    out.push_str(if b == b'<' { "&lt;" } else { "&gt;" });
                    copied = end + 1;
                }
                _ => {}
            }
            end += 1;
        }
        at = end;
        if name == "style" || name == "script" {
            let close = format!("</{name}");
            at = html[end..].to_ascii_lowercase().find(&close).map_or(html.len(), |i| end + i);
        }
    }
    out.push_str(&html[copied..]);
    out
}

impl Recipient {
    /// The made-up reader whose copy is written to `out/N/email.*`.
    pub fn sample() -> Recipient {
        Recipient { email: "reader@example.com".into(), name: "Sample Reader".into(), ..Default::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canary_sits_after_body_with_no_text() {
        let page = "<html><head></head><BODY class=\"x\"><p>Hi</p></body></html>";
        let with = with_canary(page, "https://n.example/r/9/abc");
        assert!(with.contains("<BODY class=\"x\"><a href=\"https://n.example/r/9/abc\""), "{with}");
        assert!(with.contains("></a><p>Hi</p>"), "{with}");
        assert_eq!(with_canary("<p>no body</p>", "https://x.example/"), "<p>no body</p>");
    }

    #[test]
    fn brackets_in_attribute_values_are_escaped_and_nothing_else_changes() {
        let html = "<!-- <a title=\">\"> --><style>a > b { x: \"<\" }</style>\
                    <img alt=\"&quot;><img src=x onerror=alert(1)>\" src=\"a.png\"><p>1 &lt; 2 &gt; 0</p>";
        assert_eq!(
            escape_brackets_in_attributes(html),
            "<!-- <a title=\">\"> --><style>a > b { x: \"<\" }</style>\
             <img alt=\"&quot;&gt;&lt;img src=x onerror=alert(1)&gt;\" src=\"a.png\"><p>1 &lt; 2 &gt; 0</p>"
        );
    }

    #[test]
    fn a_link_reference_stays_with_the_word_before_it() {
        let line = format!("  Followed by: {} [8]\n", "word ".repeat(11).trim_end());
        assert_eq!(
            unicode_width::UnicodeWidthStr::width(line.trim_end()),
            73,
            "one column too many: [8] would start the next line"
        );
        let text = plain_text(&line);
        assert!(text.lines().all(|l| !l.trim().starts_with('[')), "{text}");
        assert!(text.contains("word [8]"), "{text}");
        assert_eq!(plain_text("a [b] [12x] [3]\n"), "a [b] [12x] [3]\n");
        assert_eq!(plain_text("x\u{a0}[3]\n"), "x\u{a0}[3]\n", "the issue's own no-break space stays");
    }

    #[test]
    fn the_signature_separator_keeps_its_space() {
        assert_eq!(plain_text("Hello\n--\nThe sender\n"), "Hello\n-- \nThe sender\n");
        assert_eq!(plain_text("a\n--\nb\n--\nc\n"), "a\n--\nb\n-- \nc\n", "only the last one");
    }

    #[test]
    fn the_charset_moves_to_the_front_of_head_and_nothing_else_changes() {
        let page = "<html><head><style>a { b: c }</style>\n<meta charset=\"utf-8\"><title>T</title></head></html>";
        assert_eq!(
            charset_first(page),
            "<html><head><meta charset=\"utf-8\"><style>a { b: c }</style>\n<title>T</title></head></html>"
        );
        let first = "<html><head>\n<meta charset=\"utf-8\"><style></style></head></html>";
        assert_eq!(charset_first(first), first);
        let none = "<html><head><style></style></head><body><p>&lt;meta charset=</p></body></html>";
        assert_eq!(charset_first(none), none);
    }

    #[test]
    fn an_alt_text_with_markup_stays_text_after_css_inlining() {
        let page = "<html><head><style>img { border: 0; }</style></head><body>\
                    <img alt=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\" src=\"a.png\"></body></html>";
        let inlined = escape_brackets_in_attributes(&inline_css(page).unwrap());
        assert!(!inlined.contains("<script"), "{inlined}");
        assert!(inlined.contains("alt=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""), "{inlined}");
    }
}
