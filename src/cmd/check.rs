//! `publish check [N]`: every problem in the workspace at once.

use std::path::Path;

use anyhow::Result;

use crate::cmd::Outcome;
use crate::render::Renderer;
use crate::text::plural;
use crate::workspace::Workspace;

pub fn run(root: &Path, number: Option<u32>, json: bool) -> Result<Outcome> {
    let mut ws = Workspace::load(root)?;
    for d in Renderer::new(&ws.templates).check() {
        ws.diags.push(d);
    }
    if let Some(n) = number {
        ws.issue(n).map(|_| ()).or_else(|e| if ws.issues.contains_key(&n) { Ok(()) } else { Err(e) })?;
        let file = ws.issues[&n].file.clone();
        ws.diags.items.retain(|d| !d.file.starts_with("issues/") || d.file == file);
    }
    if json {
        for d in &ws.diags.items {
            println!("{}", d.to_json());
        }
    } else {
        ws.diags.print();
    }
    let (errors, warnings) = (ws.diags.error_count(), ws.diags.warning_count());
    let scope = number.map_or("the workspace".to_string(), |n| format!("issue {n}"));
    if errors > 0 {
        eprintln!("{scope}: {errors} error{}, {warnings} warning{}", plural(errors), plural(warnings));
        Ok(Outcome::Failed)
    } else {
        eprintln!("{scope}: no errors, {warnings} warning{}", plural(warnings));
        Ok(Outcome::Done)
    }
}
