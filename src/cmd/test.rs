//! `publish test N --to ADDR`: one copy now, subject marked [TEST], no ledger.

use std::path::Path;

use anyhow::{Context, Result};

use crate::cmd::{Outcome, build, issue};
use crate::deliver::import::check_address;
use crate::deliver::send::send_one;
use crate::deliver::store::{Status, Subscriber};
use crate::deliver::transport::Transport;
use crate::workspace::Workspace;

pub fn run(root: &Path, number: u32, to: Option<&str>) -> Result<Outcome> {
    let ws = Workspace::load(root)?;
    println!("{}", send_test(&ws, number, to)?);
    Ok(Outcome::Done)
}

/// Sends one `[TEST]` copy of issue `number` (to `to`, else `[email] test_to`);
/// says where it went and what the server answered.
pub fn send_test(ws: &Workspace, number: u32, to: Option<&str>) -> Result<String> {
    let config = ws.config()?;
    let to = to
        .or(config.email.test_to.as_deref())
        .context("no address: pass --to you@example.com, or set [email] test_to in publish.toml")?
        .trim()
        .to_string();
    check_address(&to).map_err(|e| anyhow::anyhow!(e))?;
    let transport = Transport::choose(config, &ws.out_dir(), number)?;
    let artifacts = build::build(ws, number)?;
    let factory = issue::factory(ws, artifacts, true)?;
    let subscriber = Subscriber {
        id: 0,
        email: to.clone(),
        name: String::new(),
        fields: Default::default(),
        status: Status::Active,
        status_at: None,
        status_by: None,
    };
    let reply = send_one(&factory, &transport, &subscriber)?;
    Ok(format!("test of issue {number} sent to {to} via {}: {reply}", transport.describe()))
}
