//! The `sendmail` transport: one run of the local sendmail program per
//! message (`-i -f FROM -- TO`, the message on its standard input), as
//! Postfix, Exim, msmtp and nullmailer all take it.
//!
//! Exit status 0 is an acceptance. Otherwise the program is read for what
//! went wrong, so that a bad address does not stop the send for everyone:
//! programs that relay at once (msmtp, ssmtp) print the server's reply, and
//! a 5xx there refuses that recipient alone, a 4xx defers it; with no reply
//! to read, the way out itself is broken (the run stops after its tries).

use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use lettre::address::Envelope;
use tokio::io::AsyncWriteExt;

use crate::deliver::smtp::SendError;

/// How long one run of the program may take.
const TIMEOUT: Duration = Duration::from_secs(300);

/// `EX_NOUSER` of sysexits.h: "addressee unknown".
const EX_NOUSER: i32 = 67;

/// Hands the message made of `parts` to `command` for `envelope`.
pub async fn send(command: &str, envelope: &Envelope, parts: &[&str]) -> Result<String, SendError> {
    let mut run = tokio::process::Command::new(command);
    run.arg("-i");
    if let Some(from) = envelope.from() {
        run.arg("-f").arg(AsRef::<str>::as_ref(from));
    }
    run.arg("--").args(envelope.to().iter().map(AsRef::<str>::as_ref));
    run.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
    let mut child = run.spawn().map_err(|e| {
        SendError::Refused(format!(
            "cannot run the sendmail command {command}: {e}; check sendmail_command in publish.toml"
        ))
    })?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // A program that gives up early closes its input: its exit says why.
    let written = async {
        for part in parts {
            stdin.write_all(part.as_bytes()).await?;
        }
        stdin.shutdown().await
    }
    .await;
    drop(stdin);
    let output = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| broken(command, &format!("did not finish within {} s", TIMEOUT.as_secs())))?
        .map_err(|e| broken(command, &e.to_string()))?;
    if output.status.success() {
        return match written {
            Ok(()) => Ok("accepted by sendmail".to_string()),
            Err(e) => Err(broken(command, &format!("exited before reading the whole message ({e})"))),
        };
    }
    let said: Vec<&str> = std::str::from_utf8(&output.stderr)
        .unwrap_or("(not UTF-8)")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let status = output.status.code().map_or_else(|| "ended by a signal".to_string(), |c| format!("exit {c}"));
    let said = if said.is_empty() { status.clone() } else { format!("{} ({status})", said.join("; ")) };
    match server_reply(&said) {
        Some(reply) if reply.starts_with('5') => Err(SendError::Permanent(reply)),
        Some(reply) => Err(SendError::Transient {
            slow_down: matches!(&reply[..3], "421" | "450" | "451" | "454"),
            reply,
            to_sender: false,
        }),
        None if output.status.code() == Some(EX_NOUSER) => {
            Err(SendError::Permanent(format!("sendmail ({command}): addressee unknown: {said}")))
        }
        None => Err(broken(command, &said)),
    }
}

/// The program could not hand the message on, for no reason of the recipient's.
fn broken(command: &str, why: &str) -> SendError {
    SendError::Transient { reply: format!("sendmail ({command}): {why}"), slow_down: false, to_sender: true }
}

/// The last SMTP reply (`550 5.1.1 <…>: User unknown`) a sendmail program
/// printed, from the code to the end of its line. A code counts when an
/// enhanced status code follows it, or when it starts the line or follows
/// `: ` or `(`, so that a port (`port 465: refused`) is not taken for one.
fn server_reply(said: &str) -> Option<String> {
    static REPLY: OnceLock<regex_lite::Regex> = OnceLock::new();
    let reply = REPLY.get_or_init(|| {
        regex_lite::Regex::new(
            r"(?:^|: |\()([45][0-9]{2}[ -][^;()]*)|\b([45][0-9]{2}[ -][245]\.[0-9]{1,3}\.[0-9]{1,3}[^;()]*)",
        )
        .expect("valid pattern")
    });
    reply
        .captures_iter(said)
        .filter_map(|c| c.get(1).or_else(|| c.get(2)))
        .last()
        .map(|m| m.as_str().trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_reply_is_read_from_what_a_sendmail_program_printed() {
        let msmtp = "msmtp: recipient address r5@example.com not accepted by the server; msmtp: server message: 550 \
                     5.1.1 <r5@example.com>: Recipient address rejected: User unknown; msmtp: could not send mail \
                     (exit 65)";
        assert_eq!(
            server_reply(msmtp).as_deref(),
            Some("550 5.1.1 <r5@example.com>: Recipient address rejected: User unknown")
        );
        let ssmtp = "ssmtp: RCPT TO:<x@example.com> (451 4.7.1 Greylisted, try again later) (exit 1)";
        assert_eq!(server_reply(ssmtp).as_deref(), Some("451 4.7.1 Greylisted, try again later"));
        for none in [
            "msmtp: cannot connect to mail.example.com, port 465: Connection refused; msmtp: could not send mail (exit 75)",
            "sendmail: fatal: open /etc/postfix/main.cf: No such file or directory (exit 75)",
            "exit 1",
        ] {
            assert_eq!(server_reply(none), None, "{none}");
        }
    }
}
