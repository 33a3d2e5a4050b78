//! `publish stats [N] [--json]`: per issue, and the list per week.

use std::path::Path;

use anyhow::Result;

use crate::cmd::Outcome;
use crate::publication::Publication;

pub fn run(root: &Path, number: Option<u32>, json: bool) -> Result<Outcome> {
    let stats = Publication::load(root)?.stats(number)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
        return Ok(Outcome::Done);
    }
    println!("issue  started                    sent  failed  bounced  complained  unsubscribed after");
    for i in &stats.issues {
        let started: String = i.started_at.chars().take(19).collect();
        println!(
            "#{:<5} {started:<24} {:>6} {:>7} {:>8} {:>11} {:>19}",
            i.issue, i.sent, i.failed, i.bounced, i.complained, i.unsubscribed
        );
        if !i.relays.is_empty() {
            let each: Vec<String> = i.relays.iter().map(|(relay, n)| format!("{relay} {n}")).collect();
            println!("       sent via {}", each.join(", "));
        }
    }
    if number.is_none() {
        println!("\nweek      joined  confirmed  left");
        for w in &stats.weeks {
            println!("{:<9} {:>6} {:>10} {:>5}", w.week, w.joined, w.confirmed, w.left);
        }
        println!("\n{}", crate::text::counted(stats.active, "active subscriber", "active subscribers"));
    }
    Ok(Outcome::Done)
}

/// `publish stats [N] --links [--json|--csv]`.
pub fn links(root: &Path, number: Option<u32>, json: bool, csv: bool) -> Result<Outcome> {
    let stats = Publication::load(root)?.link_stats(number)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else if csv {
        print!("{}", crate::publication::insight::to_csv(&stats)?);
    } else {
        print!("{}", crate::publication::insight::to_table(&stats));
    }
    Ok(Outcome::Done)
}
