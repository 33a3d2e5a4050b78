//! The email's two parts: HTML with CSS inlined, and plain text wrapped at 72
//! columns. Rendered once per issue with recipient markers (see [`personal`]).

use minijinja::context;
use minijinja::value::{Serde, Value};

use crate::assemble::Edition;
use crate::diag::Diagnostic;
use crate::markdown::wrap;
use crate::render::Renderer;
use crate::render::personal::{Escape, MarkerRecipient, Personal, Recipient};

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
    let html = inline_css(&html)?;
    let text = wrap(&renderer.render("email.txt", ctx())?, TEXT_WIDTH);
    let vars = markers.vars();
    let html = Personal::new(&html, &vars, Escape::Html);
    let html_bytes = html.fill(&Recipient::sample()).len();
    Ok(EmailBody { html, text: Personal::new(&text, &vars, Escape::None), html_bytes })
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

impl Recipient {
    /// The made-up reader whose copy is written to `out/N/email.*`.
    pub fn sample() -> Recipient {
        Recipient { email: "reader@example.com".into(), name: "Sample Reader".into(), ..Default::default() }
    }
}
