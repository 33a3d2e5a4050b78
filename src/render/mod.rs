//! Templates: the built-in ones, compiled in, and the workspace's `templates/`
//! files, which override them by name. Rendering never reads files: the
//! workspace hands its template texts over when the [`Renderer`] is made.

pub mod audience;
pub mod email;
pub mod feed;
pub mod personal;
pub mod social;
pub mod web;

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::{Environment, UndefinedBehavior, Value};

use crate::diag::{Diagnostic, Severity};

/// The built-in templates: (name, text).
pub const BUILTIN: &[(&str, &str)] = &[
    ("email.html", include_str!("../../templates/email.html")),
    ("email.txt", include_str!("../../templates/email.txt")),
    ("web.html", include_str!("../../templates/web.html")),
    ("archive.html", include_str!("../../templates/archive.html")),
    ("social/announcement.txt", include_str!("../../templates/social/announcement.txt")),
    ("social/recommendation.txt", include_str!("../../templates/social/recommendation.txt")),
    ("subscribe.html", include_str!("../../templates/subscribe.html")),
    ("page.html", include_str!("../../templates/page.html")),
    ("confirm.html", include_str!("../../templates/confirm.html")),
    ("confirm.txt", include_str!("../../templates/confirm.txt")),
];

/// The template environment of one workspace.
pub struct Renderer {
    env: Environment<'static>,
    overrides: Arc<BTreeMap<String, String>>,
}

impl Renderer {
    /// `overrides` are the workspace's template files by name.
    pub fn new(overrides: &BTreeMap<String, String>) -> Renderer {
        let overrides = Arc::new(overrides.clone());
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .keep_trailing_newline(true)
                .build()
                .expect("the default delimiters are valid"),
        );
        let lookup = Arc::clone(&overrides);
        env.set_loader(move |name| {
            Ok(lookup
                .get(name)
                .cloned()
                .or_else(|| BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| (*t).to_string())))
        });
        env.add_filter("wrap_refs", |n: usize| format!("[{n}]"));
        env.add_filter("underline", underline);
        // ` dir="rtl"` for an element holding text that reads right to left (Arabic, Hebrew).
        env.add_filter("dir", |text: &str| {
            let rtl = crate::text::is_rtl(text) == Some(true);
            Value::from_safe_string(if rtl { " dir=\"rtl\"".into() } else { String::new() })
        });
        // ` dir="rtl"` for the page of a publication in a right-to-left language.
        env.add_filter("lang_dir", |tag: &str| {
            let rtl = crate::text::is_rtl_language(tag);
            Value::from_safe_string(if rtl { " dir=\"rtl\"".into() } else { String::new() })
        });
        Renderer { env, overrides }
    }

    /// Renders template `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: Value) -> Result<String, Diagnostic> {
        self.env.get_template(name).and_then(|t| t.render(ctx)).map_err(|e| self.diagnostic(&e))
    }

    /// Whether the workspace has its own template `name`.
    pub fn has_own(&self, name: &str) -> bool {
        self.overrides.contains_key(name)
    }

    /// Checks that every template the workspace overrides compiles.
    pub fn check(&self) -> Vec<Diagnostic> {
        self.overrides
            .keys()
            .filter_map(|name| self.env.get_template(name).err())
            .map(|e| self.diagnostic(&e))
            .collect()
    }

    /// Where template `name` comes from, as messages name it: `templates/{name}`
    /// for the workspace's own, `built-in template {name}` otherwise.
    pub fn source_name(&self, name: &str) -> String {
        if self.overrides.contains_key(name) {
            format!("templates/{name}")
        } else {
            format!("built-in template {name}")
        }
    }

    /// A template error as `templates/email.html:12: …`, with the chain of causes.
    fn diagnostic(&self, e: &minijinja::Error) -> Diagnostic {
        let name = e.name().unwrap_or("template");
        let file = self.source_name(name);
        let mut message = format!("{}", e.kind());
        if let Some(detail) = e.detail() {
            message.push_str(": ");
            message.push_str(detail);
        }
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            message.push_str(&format!(" (caused by: {cause})"));
            source = cause.source();
        }
        let text = self
            .overrides
            .get(name)
            .cloned()
            .or_else(|| BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| (*t).to_string()));
        match (text, e.line()) {
            (Some(text), Some(line)) => {
                let src = crate::diag::SourceFile { name: file, text };
                let start = e
                    .range()
                    .map(|r| r.start)
                    .unwrap_or_else(|| src.text.split_inclusive('\n').take(line - 1).map(str::len).sum());
                let end = e.range().map_or(start, |r| r.end);
                src.diag(Severity::Error, Some(start..end), message)
            }
            _ => Diagnostic::file(Severity::Error, &file, message),
        }
        .with_hint("fix the template, or delete the file to use the built-in one")
    }
}

/// `{{ title | underline("=") }}`: a rule as wide as the text shows in a
/// monospaced font (a Chinese character takes two columns), and no wider than
/// the plain-text part's lines.
fn underline(text: &str, rule: &str) -> String {
    let width = unicode_width::UnicodeWidthStr::width(text).min(email::TEXT_WIDTH);
    rule.repeat(width / unicode_width::UnicodeWidthStr::width(rule).max(1))
}

#[cfg(test)]
mod underline_tests {
    use super::underline;

    #[test]
    fn an_underline_is_as_wide_as_the_text_shows_and_at_most_a_line() {
        assert_eq!(underline("Issue 9", "="), "=======");
        assert_eq!(underline("本周亚洲", "-"), "--------");
        assert_eq!(underline(&"word ".repeat(40), "=").len(), 72);
    }
}
