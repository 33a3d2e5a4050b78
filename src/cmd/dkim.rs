//! `publish dkim keygen|show`: a DKIM key and the DNS record to publish;
//! `publish dkim speed` (hidden): the signer's speed for scripts/bench-send.

use std::path::Path;

use anyhow::Result;

use crate::cli::{DkimAlgorithm, DkimCommand};
use crate::cmd::Outcome;
use crate::deliver::dkim_keys::Algorithm;
use crate::publication::Publication;

pub fn run(root: &Path, command: &DkimCommand) -> Result<Outcome> {
    let publication = Publication::load(root)?;
    let key = match command {
        DkimCommand::Keygen { selector, algorithm, domain } => {
            let algorithm = match algorithm {
                DkimAlgorithm::Rsa => Algorithm::Rsa,
                DkimAlgorithm::Ed25519 => Algorithm::Ed25519,
            };
            let key = publication.dkim_keygen(selector, algorithm, domain.as_deref())?;
            crate::diag::note(format!("wrote {} (readable by you only; keep it out of git)", key.key_file));
            key
        }
        DkimCommand::Show { selector, domain } => publication.dkim_show(selector.as_deref(), domain.as_deref())?,
        DkimCommand::Speed { seconds } => {
            for (selector, algorithm, per_sec) in publication.dkim_speed(*seconds)? {
                println!("{selector}\t{algorithm}\t{per_sec:.0} signatures/s (per second of CPU time)");
            }
            return Ok(Outcome::Done);
        }
    };
    print!("{key}");
    Ok(Outcome::Done)
}
