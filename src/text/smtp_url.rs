//! The grammar of an SMTP server's URL, `smtp://[user[:password]@]host[:port][?tls=…][&timeout=…][&ca=…]`
//! or `smtps://…`: read by the transport and checked by `publish check` for
//! every relay, so it lives down here where both can reach it.

use anyhow::{Context, Result, bail};

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// `smtps://`: TLS from the first byte (port 465).
    Implicit,
    /// `?tls=required`: STARTTLS or fail.
    Required,
    /// The default for `smtp://`: STARTTLS when the server offers it.
    Opportunistic,
    /// `?tls=none`: plain text (local relays, tests).
    None,
}

/// The default of `?timeout=`: as long as Postfix waits to connect.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// An SMTP URL, read.
#[derive(Debug, Clone)]
pub struct SmtpUrl {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub user: Option<String>,
    /// The password written in the URL itself (better kept in the environment).
    pub password: Option<String>,
    /// How long connecting, the greeting or one command may take.
    pub timeout: std::time::Duration,
    /// `?ca=FILE`: the PEM file of the certificate authority (or authorities)
    /// the server's certificate must come from, instead of the public ones
    /// (a relay with a private certificate, as curl's `--cacert`).
    pub ca: Option<std::path::PathBuf>,
}

impl SmtpUrl {
    /// Parses `smtp://[user[:password]@]host[:port][?tls=required|none][&timeout=10s][&ca=FILE]` or `smtps://…`.
    pub fn parse(text: &str) -> Result<SmtpUrl> {
        let url =
            url::Url::parse(text).with_context(|| format!("\"{text}\" is not a URL such as smtp://127.0.0.1:2525"))?;
        let (default_port, mut tls) = match url.scheme() {
            "smtp" => (587, Tls::Opportunistic),
            "smtps" => (465, Tls::Implicit),
            other => bail!("the scheme \"{other}\" is not smtp:// or smtps://"),
        };
        let host = url.host_str().filter(|h| !h.is_empty()).context("the URL has no host")?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let mut timeout = DEFAULT_TIMEOUT;
        let mut ca = None;
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref()) {
                ("tls", "required") if tls != Tls::Implicit => tls = Tls::Required,
                ("tls", "opportunistic") if tls != Tls::Implicit => tls = Tls::Opportunistic,
                ("tls", "none") if tls != Tls::Implicit => tls = Tls::None,
                ("tls", other) => {
                    bail!("tls={other} is not one of required, opportunistic, none (smtps:// is always TLS)")
                }
                ("timeout", text) => {
                    timeout = crate::text::duration::parse_duration(text)
                        .and_then(|d| std::time::Duration::try_from(d).ok())
                        .filter(|d| !d.is_zero())
                        .with_context(|| format!("timeout={text} is not a duration such as 10s or 2m"))?;
                }
                ("ca", "") => bail!("ca= names no file: give the path of the authority's PEM certificate"),
                ("ca", path) => ca = Some(std::path::PathBuf::from(path)),
                (other, _) => {
                    bail!(
                        "unknown URL parameter \"{other}\" (only tls=required|opportunistic|none, timeout=30s and \
                         ca=/path/to/authority.pem)"
                    )
                }
            }
        }
        if ca.is_some() && tls == Tls::None {
            bail!("ca= names a certificate authority, but tls=none turns TLS off: drop one of the two");
        }
        let user = (!url.username().is_empty()).then(|| percent_decode(url.username()));
        let password = url.password().map(percent_decode);
        Ok(SmtpUrl { host, port: url.port().unwrap_or(default_port), tls, user, password, timeout, ca })
    }
}

/// A URL's user or password as written: `%40` is `@`, and `+` stays `+` (it
/// means a space only in form data).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// The environment variable that holds relay `name`'s password:
/// `PUBLISH_SMTP_PASSWORD_` and the name in capitals, anything but an ASCII
/// letter or digit written `_` ("ses-eu" → `PUBLISH_SMTP_PASSWORD_SES_EU`).
pub fn password_variable(name: &str) -> String {
    let mut var = String::from("PUBLISH_SMTP_PASSWORD_");
    var.extend(name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }));
    var
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls() {
        let t = SmtpUrl::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.tls), ("127.0.0.1", 2525, Tls::Opportunistic));
        let t = SmtpUrl::parse("smtps://user@mail.example.com").unwrap();
        assert_eq!((t.port, t.tls, t.user.as_deref()), (465, Tls::Implicit, Some("user")));
        let t = SmtpUrl::parse("smtp://host:587?tls=required").unwrap();
        assert_eq!(t.tls, Tls::Required);
        assert!(SmtpUrl::parse("http://host").is_err());
        assert!(SmtpUrl::parse("smtp://host?tls=maybe").is_err());
        assert!(SmtpUrl::parse("smtp://host?x=1").is_err());
    }

    #[test]
    fn user_and_password_keep_a_plus_and_decode_percent_escapes() {
        let t = SmtpUrl::parse("smtp://news+letter%40example.com:p+ss%2Fw@host").unwrap();
        assert_eq!(t.user.as_deref(), Some("news+letter@example.com"));
        assert_eq!(t.password.as_deref(), Some("p+ss/w"));
    }

    #[test]
    fn the_timeout_comes_from_the_url() {
        assert_eq!(SmtpUrl::parse("smtp://host").unwrap().timeout, DEFAULT_TIMEOUT);
        let t = SmtpUrl::parse("smtp://host:25?tls=none&timeout=1m30s").unwrap();
        assert_eq!((t.tls, t.timeout.as_secs()), (Tls::None, 90));
        assert_eq!(SmtpUrl::parse("smtp://host?timeout=500ms").unwrap().timeout.as_millis(), 500);
        for bad in ["smtp://host?timeout=0s", "smtp://host?timeout=soon", "smtp://host?timeout=-5s"] {
            let e = SmtpUrl::parse(bad).unwrap_err().to_string();
            assert!(e.contains("is not a duration such as 10s"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_certificate_authority_comes_from_ca_and_needs_tls() {
        let t = SmtpUrl::parse("smtp://host?tls=required&ca=%2Fetc%2Frelay%20ca.pem").unwrap();
        assert_eq!(t.ca.as_deref(), Some(std::path::Path::new("/etc/relay ca.pem")));
        assert_eq!(SmtpUrl::parse("smtps://host").unwrap().ca, None);
        let e = SmtpUrl::parse("smtp://host?tls=none&ca=/x.pem").unwrap_err().to_string();
        assert!(e.contains("tls=none turns TLS off"), "{e}");
        assert!(SmtpUrl::parse("smtp://host?ca=").unwrap_err().to_string().contains("names no file"));
    }

    #[test]
    fn a_relay_name_becomes_its_password_variable() {
        assert_eq!(password_variable("ses-eu"), "PUBLISH_SMTP_PASSWORD_SES_EU");
        assert_eq!(password_variable("Postmark.2"), "PUBLISH_SMTP_PASSWORD_POSTMARK_2");
        assert_eq!(password_variable("été"), "PUBLISH_SMTP_PASSWORD__T_");
    }
}
