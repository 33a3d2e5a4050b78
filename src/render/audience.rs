//! The reader's pages (`subscribe.html`, `page.html`) and mails (`confirm.*`,
//! `welcome.*`): built-in templates a publication may override by name.

use minijinja::value::Serde;
use minijinja::{Value, context};
use serde::Serialize;

use crate::diag::Diagnostic;
use crate::render::Renderer;

/// What every audience template sees of the publication.
#[derive(Debug, Clone, Serialize)]
pub struct PublicationInfo {
    pub name: String,
    pub description: String,
    pub base_url: String,
    pub language: String,
}

/// A form on a page: where it posts, its fields, its button.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Form {
    pub action: String,
    pub fields: Vec<Field>,
    pub hidden: Vec<Field>,
    pub button: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Field {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    pub required: bool,
}

/// A page of `publish serve`: a title, paragraphs, maybe a form and buttons
/// that post to other actions.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Page {
    pub title: String,
    pub paragraphs: Vec<String>,
    pub form: Option<Form>,
    /// (action, button) of one-button forms.
    pub extra_forms: Vec<ExtraForm>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExtraForm {
    pub action: String,
    pub button: String,
}

/// The signup page.
pub fn subscribe_page(
    renderer: &Renderer,
    publication: &PublicationInfo,
    double_opt_in: bool,
) -> Result<String, Diagnostic> {
    renderer.render(
        "subscribe.html",
        context! { publication => Value::from(Serde(publication)), double_opt_in => double_opt_in },
    )
}

/// Any other page (`page.html`).
pub fn page(renderer: &Renderer, publication: &PublicationInfo, page: &Page) -> Result<String, Diagnostic> {
    let ctx = Value::from(Serde(page));
    renderer.render("page.html", context! { publication => Value::from(Serde(publication)), ..ctx })
}

/// One person's values in a mail.
#[derive(Debug, Clone, Serialize)]
pub struct Person {
    pub email: String,
    pub name: String,
    pub first_name: String,
}

/// The confirmation mail: (subject, html, text).
pub fn confirm_mail(
    renderer: &Renderer,
    publication: &PublicationInfo,
    person: &Person,
    confirm_url: &str,
    expires: &str,
) -> Result<(String, String, String), Diagnostic> {
    let ctx = context! { publication => Value::from(Serde(publication)), recipient => Value::from(Serde(person)), confirm_url => confirm_url, expires => expires };
    let html = renderer.render("confirm.html", ctx.clone())?;
    let text = renderer.render("confirm.txt", ctx)?;
    Ok((format!("Confirm your subscription to {}", publication.name), html, text))
}

/// The welcome mail, when the publication has `welcome.html` and
/// `welcome.txt`: (subject, html, text).
pub fn welcome_mail(
    renderer: &Renderer,
    publication: &PublicationInfo,
    person: &Person,
    unsubscribe_url: &str,
    preferences_url: &str,
) -> Result<Option<(String, String, String)>, Diagnostic> {
    if !renderer.has_own("welcome.html") || !renderer.has_own("welcome.txt") {
        return Ok(None);
    }
    let ctx = context! {
        publication => Value::from(Serde(publication)),
        recipient => Value::from(Serde(person)),
        unsubscribe_url => unsubscribe_url,
        preferences_url => preferences_url,
    };
    let html = renderer.render("welcome.html", ctx.clone())?;
    let text = renderer.render("welcome.txt", ctx)?;
    Ok(Some((format!("Welcome to {}", publication.name), html, text)))
}
