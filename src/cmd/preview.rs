//! `publish preview`: the issue as readers see it, re-rendered when files change.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, Result};

use crate::cli::PreviewArgs;
use crate::cmd::Outcome;
use crate::preview;

pub fn run(root: &Path, args: &PreviewArgs) -> Result<Outcome> {
    let host = args.bind.as_deref().unwrap_or("127.0.0.1");
    let text = if host.contains(':') && !host.starts_with('[') {
        match host.parse::<SocketAddr>() {
            Ok(addr) => addr.to_string(),
            Err(_) => format!("[{host}]:{}", args.port),
        }
    } else {
        format!("{host}:{}", args.port)
    };
    let addr: SocketAddr =
        text.parse().with_context(|| format!("--bind {host}: expected an IP address such as 127.0.0.1"))?;
    preview::run(root, args.number, addr)?;
    Ok(Outcome::Done)
}
