//! `publish serve`: one-click unsubscribe and the web archive in `out/`.

use std::path::Path;

use anyhow::Result;

use crate::cmd::Outcome;
use crate::deliver::token::Secret;
use crate::server::{self, ServeConfig};
use crate::workspace::Workspace;

pub fn run(root: &Path, bind: &str) -> Result<Outcome> {
    let ws = Workspace::load(root)?;
    let config = ws.config()?;
    let state_dir = ws.state_dir();
    let serve_config = ServeConfig {
        out_dir: ws.out_dir(),
        secret: Secret::load_or_create(&state_dir)?,
        state_dir,
        publication: config.name.clone(),
        origins: server::origins_of(&[config.base(), config.email.unsubscribe_url.as_deref().unwrap_or("")]),
        prefixes: server::prefixes_of(&[config.base(), config.email.unsubscribe_url.as_deref().unwrap_or("")]),
    };
    server::run(serve_config, bind)?;
    Ok(Outcome::Done)
}
