//! The issue's web page (the "view in browser" link).

use minijinja::context;
use minijinja::value::{Serde, Value};

use crate::assemble::Edition;
use crate::diag::Diagnostic;
use crate::render::Renderer;

/// `out/N/index.html`.
pub fn page(renderer: &Renderer, edition: &Edition) -> Result<String, Diagnostic> {
    renderer.render(
        "web.html",
        context! { issue => Value::from(Serde(edition)), publication => Value::from(Serde(&edition.publication)) },
    )
}
