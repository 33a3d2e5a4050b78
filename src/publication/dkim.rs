//! DKIM keys for the publication: `publish dkim keygen` makes one in the
//! state folder (`.publish/`), `publish dkim show` prints its DNS record again.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::deliver::dkim_keys::{self, Algorithm};
use crate::publication::Publication;

/// A key and the DNS record that publishes it.
pub struct DkimKey {
    pub selector: String,
    pub domain: String,
    /// The key file as publish.toml's `key_file` names it.
    pub key_file: String,
    /// The TXT record's value, `v=DKIM1; k=…; p=…`.
    pub record: String,
    /// Whether `[email.dkim]` already names this key.
    pub configured: bool,
}

impl std::fmt::Display for DkimKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = format!("{}._domainkey.{}", self.selector, self.domain);
        writeln!(f, "Publish this TXT record at {name}:\n\n{}\n", self.record)?;
        writeln!(f, "In a zone file:\n\n{name}. IN TXT {}", dkim_keys::zone_strings(&self.record))?;
        if !self.configured {
            write!(
                f,
                "\nThen sign with it: add to publish.toml\n\n[email.dkim]\ndomain = \"{}\"\nselector = \"{}\"\nkey_file = \"{}\"\n",
                self.domain, self.selector, self.key_file
            )?;
        }
        Ok(())
    }
}

impl Publication {
    /// Makes a key for `selector` (signing as `domain`, default the sender's
    /// domain) in the state folder, readable by the owner only. Refuses to
    /// replace a key that exists.
    pub fn dkim_keygen(&self, selector: &str, algorithm: Algorithm, domain: Option<&str>) -> Result<DkimKey> {
        dkim_keys::check_selector(selector)?;
        let domain_given = domain.is_some();
        let domain = match domain {
            Some(d) => d.trim_end_matches('.').to_ascii_lowercase(),
            None => self.sender_domain()?,
        };
        let path = self.key_path(selector);
        let pem = dkim_keys::generate(algorithm)?;
        crate::fsutil::create_new_private(&path, pem.as_bytes()).with_context(|| {
            let domain = if domain_given { format!(" --domain {domain}") } else { String::new() };
            format!(
                "keeping the key that is there: `publish dkim show --selector {selector}{domain}` prints its record"
            )
        })?;
        self.describe(selector, domain, &path, &pem)
    }

    /// The record of the (first) key `[email.dkim]` names, or of `selector`'s key:
    /// the configured one with that selector, else the one keygen made. With no
    /// `[email.dkim]` and no selector, the one key keygen made, if it made one.
    /// `domain`, when given, is the signing domain the record is named under.
    pub fn dkim_show(&self, selector: Option<&str>, domain: Option<&str>) -> Result<DkimKey> {
        let config = self.ws.config()?;
        let given_domain = domain;
        let named = selector.and_then(|s| config.email.dkim.iter().find(|d| d.selector == s));
        let (selector, found_domain, path) = match (selector, named.or(config.email.dkim.first())) {
            (Some(_), Some(dkim)) if named.is_some() => {
                (dkim.selector.clone(), dkim.domain.clone(), self.ws.root.join(&dkim.key_file))
            }
            (Some(s), dkim) => {
                dkim_keys::check_selector(s)?;
                let domain = dkim.map_or_else(|| self.sender_domain(), |d| Ok(d.domain.clone()))?;
                (s.to_string(), domain, self.key_path(s))
            }
            (None, Some(dkim)) => (dkim.selector.clone(), dkim.domain.clone(), self.ws.root.join(&dkim.key_file)),
            (None, None) => match self.made_selectors().as_slice() {
                [only] => (only.clone(), self.sender_domain()?, self.key_path(only)),
                [] => anyhow::bail!(
                    "publish.toml has no [email.dkim] and {} holds no key: make one with \
                     `publish dkim keygen --selector S`",
                    self.ws.state_dir().display()
                ),
                several => anyhow::bail!(
                    "publish.toml has no [email.dkim] and {} holds {} keys: name one with --selector ({})",
                    self.ws.state_dir().display(),
                    several.len(),
                    several.join(", ")
                ),
            },
        };
        let domain = given_domain.map_or(found_domain, |d| d.trim_end_matches('.').to_ascii_lowercase());
        let pem =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read the DKIM key {}", path.display()))?;
        self.describe(&selector, domain, &path, &pem)
    }

    fn describe(&self, selector: &str, domain: String, path: &Path, pem: &str) -> Result<DkimKey> {
        let record = dkim_keys::record(pem).with_context(|| format!("{}: not a usable DKIM key", path.display()))?;
        let key_file = path.strip_prefix(&self.ws.root).unwrap_or(path).to_string_lossy().into_owned();
        let configured = self.ws.config.as_ref().is_some_and(|c| {
            c.email
                .dkim
                .iter()
                .any(|d| d.selector == selector && self.ws.root.join(&d.key_file) == self.ws.root.join(&key_file))
        });
        Ok(DkimKey { selector: selector.to_string(), domain, key_file, record, configured })
    }

    /// Each configured key alone signing a small message on this thread for
    /// `seconds`: (selector, algorithm, signatures per second of this
    /// thread's CPU time). CPU time, as `openssl speed` counts by default, so
    /// the figure does not depend on what else the machine runs; the wall
    /// clock where the system does not tell a thread's CPU time.
    pub fn dkim_speed(&self, seconds: f64) -> Result<Vec<(String, &'static str, f64)>> {
        let config = self.ws.config()?;
        anyhow::ensure!(!config.email.dkim.is_empty(), "publish.toml has no [email.dkim] key to time");
        let budget = std::time::Duration::from_secs_f64(seconds.clamp(0.1, 600.0));
        let message = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: speed\r\n\r\nA line of text.\r\n";
        let date = std::time::SystemTime::now();
        let mut out = Vec::new();
        for key in &config.email.dkim {
            let signer = crate::deliver::dkim::Signer::load(std::slice::from_ref(key), &self.ws.root)?
                .context("a key was named")?;
            let started = std::time::Instant::now();
            let cpu_start = thread_cpu_time();
            let mut signed = 0u64;
            while started.elapsed() < budget {
                signer.sign(message, date)?;
                signed += 1;
            }
            let spent = match (cpu_start, thread_cpu_time()) {
                (Some(a), Some(b)) if b > a => b - a,
                _ => started.elapsed(),
            };
            out.push((key.selector.clone(), signer.algorithms()[0], signed as f64 / spent.as_secs_f64()));
        }
        Ok(out)
    }

    /// The selectors of the keys `dkim keygen` made in the state folder, sorted.
    fn made_selectors(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.ws.state_dir()) else { return Vec::new() };
        let mut selectors: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let selector = name.strip_prefix("dkim-")?.strip_suffix(".pem")?.to_string();
                dkim_keys::check_selector(&selector).is_ok().then_some(selector)
            })
            .collect();
        selectors.sort();
        selectors
    }

    fn key_path(&self, selector: &str) -> PathBuf {
        self.ws.state_dir().join(format!("dkim-{selector}.pem"))
    }

    fn sender_domain(&self) -> Result<String> {
        let email = &self.ws.config()?.sender.email;
        let (_, domain) =
            email.rsplit_once('@').with_context(|| format!("[sender] email \"{email}\" has no domain"))?;
        Ok(domain.to_ascii_lowercase())
    }
}

/// The CPU time this thread has run, from Linux's /proc/thread-self/schedstat
/// (its first field, in nanoseconds); `None` elsewhere.
fn thread_cpu_time() -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(std::time::Duration::from_nanos(nanos))
}
