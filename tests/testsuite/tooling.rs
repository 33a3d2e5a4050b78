//! The first hour: `publish init`, completions and the man page, `-v`,
//! JSON output, DKIM keys with their record, and finding the workspace.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{Fixture, Run, SmtpServer, python, repo, subscribers_csv, with_subscribers};

/// `publish ARGS` run in `dir` with no --workspace, the clock and secret pinned.
fn publish_in(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_publish"))
        .current_dir(dir)
        .args(args)
        .env("PUBLISH_NOW", "2024-03-01T01:00:00Z")
        .env("PUBLISH_SECRET", "test-secret-0123456789abcdef0123456789")
        .env_remove("PUBLISH_WORKSPACE")
        .env_remove("PUBLISH_SMTP_URL")
        .env_remove("PUBLISH_STATE_DIR")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run publish");
    Run { output }
}

fn init_args(dir: &str) -> Vec<&str> {
    vec![
        "init",
        dir,
        "--name",
        "Tom's \"Weekly\"",
        "--from",
        "Tom <tom@example.org>",
        "--base-url",
        "https://example.org/w",
    ]
}

#[test]
fn init_makes_a_publication_that_checks_clean_and_sends_to_the_outbox() {
    let tmp = tempfile::tempdir().unwrap();
    publish_in(tmp.path(), &init_args("letter")).success();
    let dir = tmp.path().join("letter");
    for file in ["publish.toml", "issues/001.toml", "sponsors.toml", ".gitignore", "templates/README.md"] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    assert!(dir.join("media").is_dir());
    let gitignore = std::fs::read_to_string(dir.join(".gitignore")).unwrap();
    assert!(gitignore.lines().any(|l| l == ".publish/") && gitignore.lines().any(|l| l == "out/"), "{gitignore}");

    let check = publish_in(&dir, &["check"]).success();
    assert!(check.stderr().contains("no errors, 0 warnings"), "{}", check.stderr());
    let csv = subscribers_csv(tmp.path(), 2);
    publish_in(&dir, &["subscribers", "import", csv.to_str().unwrap()]).success();
    publish_in(&dir, &["issue", "1", "--yes"]).success();
    let outbox: Vec<_> = std::fs::read_dir(dir.join("out/outbox/1")).unwrap().collect();
    assert_eq!(outbox.len(), 2, "one message per subscriber in the outbox");
    let message = std::fs::read_to_string(outbox[0].as_ref().unwrap().path()).unwrap();
    assert!(message.contains("From: Tom <tom@example.org>"), "{message}");
    assert!(message.contains("Subject: Tom's \"Weekly\" #1: Hello, readers"), "{message}");
}

#[test]
fn init_refuses_to_overwrite_anything() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("letter");
    std::fs::create_dir_all(dir.join("issues")).unwrap();
    std::fs::write(dir.join("sponsors.toml"), "# mine\n").unwrap();
    std::fs::write(dir.join("issues/007.toml"), "title = \"mine\"\n").unwrap();
    let run = publish_in(tmp.path(), &init_args("letter")).failure(1);
    let err = run.stderr();
    assert!(err.contains("issues/007.toml") && err.contains("nothing was written"), "{err}");
    assert!(err.contains("publication already"), "{err}");
    assert!(!dir.join("publish.toml").exists() && !dir.join(".gitignore").exists(), "a refused init writes nothing");
    assert_eq!(std::fs::read_to_string(dir.join("sponsors.toml")).unwrap(), "# mine\n");

    std::fs::remove_file(dir.join("issues/007.toml")).unwrap();
    let run = publish_in(tmp.path(), &init_args("letter")).success();
    assert!(run.stdout().contains("kept what was there: sponsors.toml"), "{}", run.stdout());
    assert_eq!(std::fs::read_to_string(dir.join("sponsors.toml")).unwrap(), "# mine\n", "an existing file is kept");
    let before = std::fs::read_to_string(dir.join("publish.toml")).unwrap();
    let issue = std::fs::read_to_string(dir.join("issues/001.toml")).unwrap();
    let run = publish_in(tmp.path(), &["init", "letter", "--name", "Other"]).failure(1);
    assert!(run.stderr().contains("publish.toml") && run.stderr().contains("nothing was written"), "{}", run.stderr());
    assert_eq!(std::fs::read_to_string(dir.join("publish.toml")).unwrap(), before);
    assert_eq!(std::fs::read_to_string(dir.join("issues/001.toml")).unwrap(), issue);
}

#[test]
fn init_in_a_fresh_clone_keeps_its_files_and_adds_only_the_missing_ignore_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("clone");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("README.md"), "# My letter\n").unwrap();
    std::fs::write(dir.join("LICENSE"), "MIT\n").unwrap();
    // A Windows-made .gitignore that already ignores out/, without a last line end.
    let gitignore = b"# build\r\n/out\r\n*.log";
    std::fs::write(dir.join(".gitignore"), gitignore).unwrap();
    publish_in(&dir, &init_args(".")).success();
    assert_eq!(std::fs::read_to_string(dir.join("README.md")).unwrap(), "# My letter\n");
    assert_eq!(std::fs::read_to_string(dir.join("LICENSE")).unwrap(), "MIT\n");
    let now = std::fs::read(dir.join(".gitignore")).unwrap();
    assert_eq!(&now[..gitignore.len()], gitignore, "the existing bytes are kept");
    assert_eq!(String::from_utf8_lossy(&now[gitignore.len()..]), "\r\n.publish/\r\n.publish-tmp-*\r\n");
    publish_in(&dir, &["check"]).success();

    // A .gitignore that has every line is left byte for byte.
    let tmp2 = tempfile::tempdir().unwrap();
    let full = ".publish/\nout/\n.publish-tmp-*\nnode_modules/\n";
    std::fs::write(tmp2.path().join(".gitignore"), full).unwrap();
    publish_in(tmp2.path(), &init_args(".")).success();
    assert_eq!(std::fs::read_to_string(tmp2.path().join(".gitignore")).unwrap(), full);
}

#[test]
fn init_rejects_a_bad_value_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let run = publish_in(tmp.path(), &["init", "x", "--base-url", "example.org", "--from", "a@b.org"]).failure(1);
    assert!(run.stderr().contains("--base-url"), "{}", run.stderr());
    let run = publish_in(tmp.path(), &["init", "x", "--timezone", "Mars/Olympus"]).failure(1);
    assert!(run.stderr().contains("--timezone"), "{}", run.stderr());
    assert!(!tmp.path().join("x/publish.toml").exists());
}

#[test]
fn init_refuses_a_base_url_that_check_would_refuse_with_the_same_help() {
    let tmp = tempfile::tempdir().unwrap();
    for (url, bad) in [("https://example.org/通信", "通"), ("https://example.org/\"w\"", "\"")] {
        let run = publish_in(tmp.path(), &["init", "x", "--base-url", url, "--from", "a@example.org"]).failure(1);
        let err = run.stderr();
        assert!(err.contains("--base-url") && err.contains(&format!("has \"{bad}\"")), "{err}");
        assert!(!tmp.path().join("x").exists(), "nothing was written");

        // publish check, given the same value in publish.toml, says the same and helps the same.
        publish_in(tmp.path(), &init_args("y")).success();
        let config = tmp.path().join("y/publish.toml");
        let text = std::fs::read_to_string(&config).unwrap();
        let value = toml_edit::Value::from(url).to_string();
        std::fs::write(&config, text.replace("\"https://example.org/w\"", value.trim())).unwrap();
        let check = publish_in(&tmp.path().join("y"), &["check"]).failure(1);
        let help = check.stderr().lines().find(|l| l.contains("help: ")).unwrap_or_default().to_string();
        let help = help.split("help: ").nth(1).unwrap().to_string();
        assert!(err.contains(&help), "init says {err}\ncheck says {}", check.stderr());
        std::fs::remove_dir_all(tmp.path().join("y")).unwrap();
    }
    let encoded = "https://example.org/%E9%80%9A%E4%BF%A1";
    publish_in(tmp.path(), &["init", "z", "--base-url", encoded, "--from", "a@example.org"]).success();
    publish_in(&tmp.path().join("z"), &["check"]).success();
}

#[test]
fn init_names_only_the_settings_it_left_as_placeholders() {
    let tmp = tempfile::tempdir().unwrap();
    let run = publish_in(tmp.path(), &["init", "a", "--from", "Ann <ann@example.org>"]).success();
    assert!(run.stderr().contains("base_url is a placeholder: set it in publish.toml"), "{}", run.stderr());
    assert!(!run.stderr().contains("email"), "the address given is not a placeholder: {}", run.stderr());
    let run = publish_in(tmp.path(), &["init", "b", "--base-url", "https://example.org/b"]).success();
    assert!(run.stderr().contains("[sender] email is a placeholder: set it in publish.toml"), "{}", run.stderr());
    let run = publish_in(tmp.path(), &init_args("c")).success();
    assert!(!run.stderr().contains("placeholder"), "{}", run.stderr());
}

#[test]
fn init_refuses_a_control_character_in_the_name_or_sender_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let run = publish_in(tmp.path(), &["init", "x", "--name", "Bell\u{7}Letter", "--from", "a@example.org"]).failure(1);
    assert!(run.stderr().contains("--name: the name has an invisible control character (U+0007)"), "{}", run.stderr());
    let run = publish_in(tmp.path(), &["init", "x", "--from", "Ann\u{7} <a@example.org>"]).failure(1);
    let err = run.stderr();
    assert!(err.contains("--from: the sender's name has an invisible control character (U+0007)"), "{err}");
    assert!(!tmp.path().join("x").exists(), "nothing was written");
    // A tab is text: the publication it starts checks clean.
    publish_in(tmp.path(), &["init", "y", "--name", "Tab\tLetter", "--from", "a@example.org"]).success();
    publish_in(&tmp.path().join("y"), &["check"]).success();
}

#[test]
fn init_where_media_is_a_file_says_so_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("media"), "notes\n").unwrap();
    let run = publish_in(tmp.path(), &init_args(".")).failure(1);
    let err = run.stderr();
    assert!(err.contains("media is a file, not a folder") && err.contains("nothing was written"), "{err}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(left, ["media"], "nothing but the file that was there");
    assert_eq!(std::fs::read_to_string(tmp.path().join("media")).unwrap(), "notes\n");
}

#[test]
fn init_into_a_file_says_it_is_not_a_folder_and_leaves_it() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("letter"), "notes\n").unwrap();
    let run = publish_in(tmp.path(), &init_args("letter")).failure(1);
    assert!(run.stderr().contains("letter is a file, not a folder"), "{}", run.stderr());
    assert!(run.stderr().contains("nothing was written"), "{}", run.stderr());
    assert_eq!(std::fs::read_to_string(tmp.path().join("letter")).unwrap(), "notes\n");
}

/// On a terminal (util-linux `script` gives `publish init` one), a mistyped
/// answer is asked again with the reason, and the answers already given are kept.
#[cfg(target_os = "linux")]
#[test]
fn init_on_a_terminal_asks_again_after_a_bad_answer() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let command = format!("'{}' init letter", env!("CARGO_BIN_EXE_publish"));
    let mut child = Command::new("timeout")
        .args(["60", "script", "-qec", &command, "/dev/null"])
        .current_dir(tmp.path())
        .env("PUBLISH_NOW", "2024-03-01T01:00:00Z")
        .env_remove("PUBLISH_WORKSPACE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux)");
    let answers =
        "The Letter\nexample.org/letter\nhttps://example.org/letter\nletter@example.org\nMars/Olympus\nAsia/Tokyo\n";
    child.stdin.take().unwrap().write_all(answers.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{shown}");
    assert!(shown.contains("\"example.org/letter\" is not a web address"), "{shown}");
    assert!(shown.contains("\"Mars/Olympus\" is not a time zone"), "{shown}");
    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(tmp.path().join("letter/publish.toml")).unwrap()).unwrap();
    assert_eq!(config["name"].as_str(), Some("The Letter"));
    assert_eq!(config["base_url"].as_str(), Some("https://example.org/letter"));
    assert_eq!(config["timezone"].as_str(), Some("Asia/Tokyo"));
    assert_eq!(config["sender"]["email"].as_str(), Some("letter@example.org"));
    publish_in(&tmp.path().join("letter"), &["check"]).success();
}

#[test]
fn bash_parses_the_completions_and_the_man_page_lists_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = publish_in(tmp.path(), &["completions", shell]).success();
        assert!(run.stdout().contains("subscribers"), "{shell} completions lack the subcommands");
        if shell == "bash" {
            let file = tmp.path().join("publish.bash");
            std::fs::write(&file, run.stdout()).unwrap();
            let bash = Command::new("bash").arg("-n").arg(&file).output().expect("bash");
            assert!(bash.status.success(), "bash -n: {}", String::from_utf8_lossy(&bash.stderr));
            let script = format!(
                "source {}; COMP_WORDS=(publish subscr); COMP_CWORD=1; _publish publish subscr publish; echo \"${{COMPREPLY[@]}}\"",
                file.display()
            );
            let out = Command::new("bash").args(["-c", &script]).output().unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "subscribers", "completing `publish subscr`");
        }
    }
    let man = publish_in(tmp.path(), &["man"]).success().stdout();
    assert!(man.starts_with(".ie") || man.starts_with(".TH"), "{}", &man[..80.min(man.len())]);
    for needle in ["PUBLISH_SMTP_URL", "PUBLISH_WORKSPACE", "completions", "\\-\\-verbose"] {
        assert!(man.contains(needle), "the man page lacks {needle}");
    }
    let help = publish_in(tmp.path(), &["--help"]).success().stdout();
    assert!(help.contains("PUBLISH_SMTP_PASSWORD") && help.contains("PUBLISH_STATE_DIR"), "{help}");
}

/// `publish man > ~/.local/share/man/man1/publish.1` installs one page: it
/// describes every command, names no page that is not installed, and groff
/// renders it without a warning.
#[test]
fn the_man_page_describes_every_command_and_groff_renders_it_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("publish.1");
    std::fs::write(&page, publish_in(tmp.path(), &["man"]).success().stdout()).unwrap();
    let groff = Command::new("groff").args(["-man", "-Tutf8", "-ww"]).arg(&page).env("MANWIDTH", "100").output();
    let groff = groff.expect("groff (scripts/test installs groff-base)");
    let warnings = String::from_utf8_lossy(&groff.stderr);
    assert!(groff.status.success() && warnings.is_empty(), "groff: {warnings}");
    // Bold in groff's terminal output is a character, a backspace and the character again.
    let text = String::from_utf8_lossy(&groff.stdout).replace('\u{8}', "\u{0}");
    let mut plain = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if chars.peek() == Some(&'\u{0}') {
            chars.next();
            continue;
        }
        plain.push(c);
    }
    for needle in
        ["publish subscribers import", "publish dkim keygen", "--retry-failed", "--new-section", "ENVIRONMENT"]
    {
        assert!(plain.contains(needle), "the man page lacks {needle}:\n{plain}");
    }
    assert!(!plain.contains("publish-issue(1)"), "it names a page nothing installs:\n{plain}");
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout()).unwrap_or_else(|e| panic!("not JSON ({e}): {}", run.stdout()))
}

fn assert_keys(value: &Value, keys: &[&str]) {
    let object = value.as_object().unwrap_or_else(|| panic!("not an object: {value}"));
    for key in keys {
        assert!(object.contains_key(*key), "no \"{key}\" in {value}");
    }
}

#[test]
fn json_output_has_the_documented_keys() {
    let fixture = with_subscribers(3);
    fixture.edit("issues/009.toml", "# send_at = 2024-03-01T09:00:00+08:00", "send_at = 2024-03-01T08:00:00+08:00");
    fixture.edit(
        "issues/009.toml",
        "title = \"China AI dreams of Sora\"",
        "title = \"China AI dreams of Sora\"\nbogus = 1",
    );
    let check = fixture.run(&["check", "--json"]).failure(1);
    let lines: Vec<Value> = check.stdout().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(!lines.is_empty());
    for d in &lines {
        assert_keys(d, &["file", "line", "column", "severity", "message", "help"]);
    }
    let bogus = lines.iter().find(|d| d["message"].as_str().unwrap().contains("bogus")).expect("the unknown key");
    assert_eq!(
        (bogus["file"].as_str(), bogus["line"].as_u64(), bogus["severity"].as_str()),
        (Some("issues/009.toml"), Some(5), Some("error"))
    );
    fixture.edit("issues/009.toml", "\nbogus = 1", "");

    let count = json(&fixture.run(&["subscribers", "count", "--json"]).success());
    assert_eq!(count["active"], 3);
    let dry = json(&fixture.run(&["issue", "9", "--dry-run", "--json"]).success());
    assert_keys(
        &dry,
        &["issue", "subject", "transport", "recipients", "already_sent", "failed_earlier", "would_write"],
    );
    assert_eq!(dry["recipients"], 3);
    let schedule = json(&fixture.run(&["schedule", "--json"]).success());
    let row = &schedule.as_array().expect("an array")[0];
    assert_keys(row, &["issue", "title", "when", "state", "counts"]);
    assert_eq!((row["issue"].as_u64(), row["state"].as_str()), (Some(9), Some("due")));
    assert_eq!(row["send_at"].as_str(), Some("2024-03-01T08:00:00+08:00"), "in the publication's zone");

    let cron = fixture.run(&["cron", "--json"]).success();
    let sends: Vec<Value> = cron.stdout().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(sends.len(), 1, "{}", cron.stdout());
    assert_keys(&sends[0], &["issue", "transport", "sent", "failed", "skipped", "pending", "failures"]);
    assert_eq!(sends[0]["sent"], 3);
    let status = json(&fixture.run(&["status", "9", "--json"]).success());
    assert_keys(&status, &["issue", "state", "counts", "failures"]);
    assert_eq!(status["counts"]["sent"], 3);
    assert_eq!(status["send_at"].as_str(), Some("2024-03-01T08:00:00+08:00"));
}

#[test]
fn verbose_shows_the_smtp_conversation_never_the_password() {
    let fixture = with_subscribers(2);
    let server = SmtpServer::start(&["--auth", "mailer:s3cret-Pa55"]);
    let url = format!("smtp://mailer@127.0.0.1:{}?tls=none", server.port);
    let run = fixture
        .command(&["-v", "issue", "9", "--yes"])
        .env("PUBLISH_SMTP_URL", &url)
        .env("PUBLISH_SMTP_PASSWORD", "s3cret-Pa55")
        .run()
        .success();
    let err = run.stderr();
    assert_eq!(server.count(), 2);
    for needle in
        [">> EHLO", "<< 250", ">> MAIL FROM:", ">> RCPT TO:<reader000@example.com>", "AUTH", "read publish.toml"]
    {
        assert!(err.contains(needle), "-v lacks {needle}:\n{err}");
    }
    use base64::Engine;
    let plain = base64::engine::general_purpose::STANDARD.encode("\0mailer\0s3cret-Pa55");
    for secret in ["s3cret-Pa55", plain.as_str(), "czNjcmV0LVBhNTU"] {
        assert!(!err.contains(secret), "the trace shows the password ({secret})");
    }
    assert!(!err.contains("Subject:"), "the trace shows the message");

    let quiet = fixture.command(&["-q", "issue", "9", "--yes"]).env("PUBLISH_SMTP_URL", &url).run().success();
    assert!(!quiet.stderr().contains(">>"), "{}", quiet.stderr());
    let plain = fixture.run(&["check"]).success();
    assert!(!plain.stderr().contains(">>") && !plain.stderr().contains("read publish.toml"), "{}", plain.stderr());
}

#[test]
fn dkim_show_right_after_keygen_prints_the_record_before_publish_toml_names_the_key() {
    let fixture = with_subscribers(1);
    let made = fixture.run(&["dkim", "keygen", "--selector", "first"]).success().stdout();
    let record = made.lines().find(|l| l.starts_with("v=DKIM1;")).expect("the record").to_string();
    for args in [&["dkim", "show"][..], &["dkim", "show", "--selector", "first"]] {
        let shown = fixture.run(args).success().stdout();
        assert!(shown.contains(&record) && shown.contains("first._domainkey.analyse.asia"), "{args:?}: {shown}");
        assert!(shown.contains("[email.dkim]"), "it still says how to sign with it: {shown}");
    }
    fixture.run(&["dkim", "keygen", "--selector", "second", "--algorithm", "ed25519"]).success();
    let err = fixture.run(&["dkim", "show"]).failure(1).stderr();
    assert!(err.contains("name one with --selector (first, second)"), "{err}");
    let shown = fixture.run(&["dkim", "show", "--selector", "second"]).success().stdout();
    assert!(shown.contains("v=DKIM1; k=ed25519;"), "{shown}");
}

#[test]
fn dkim_show_names_the_record_under_the_domain_keygen_was_given() {
    let fixture = with_subscribers(1);
    let made = fixture.run(&["dkim", "keygen", "--selector", "news", "--domain", "Mail.Example.NET."]).success();
    assert!(made.stdout().contains("news._domainkey.mail.example.net"), "{}", made.stdout());
    let again = fixture.run(&["dkim", "keygen", "--selector", "news", "--domain", "mail.example.net"]).failure(1);
    let hint = "`publish dkim show --selector news --domain mail.example.net` prints its record";
    assert!(again.stderr().contains(hint), "{}", again.stderr());
    let shown = fixture.run(&["dkim", "show", "--selector", "news", "--domain", "mail.example.net"]).success().stdout();
    assert!(shown.contains("Publish this TXT record at news._domainkey.mail.example.net:"), "{shown}");
    assert!(!shown.contains("analyse.asia"), "not under the sender's domain: {shown}");
}

fn keygen_round_trip(algorithm: &str) {
    let fixture = with_subscribers(1);
    let run = fixture.run(&["dkim", "keygen", "--selector", "mh1", "--algorithm", algorithm]).success();
    let out = run.stdout();
    let key = fixture.path().join(".publish/dkim-mh1.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert!(out.contains("mh1._domainkey.analyse.asia"), "{out}");
    let record = out.lines().find(|l| l.starts_with("v=DKIM1;")).expect("the record").to_string();
    assert!(record.starts_with(&format!("v=DKIM1; k={algorithm}; p=")), "{record}");
    let table = &out[out.find("[email.dkim]").expect("the table to add")..];
    fixture.edit("publish.toml", "[schedule]", &format!("{table}\n[schedule]"));
    let shown = fixture.run(&["dkim", "show"]).success().stdout();
    assert!(shown.contains(&record) && !shown.contains("[email.dkim]"), "{shown}");
    let again = fixture.run(&["dkim", "keygen", "--selector", "mh1"]).failure(1);
    assert!(again.stderr().contains("already exists"), "{}", again.stderr());
    assert!(fixture.run(&["dkim", "show"]).success().stdout().contains(&record), "a second keygen keeps the key");

    let server = SmtpServer::start(&[]);
    crate::support::send(&fixture, &server, &[]).success();
    let record_file = fixture.path().join("record.txt");
    std::fs::write(&record_file, &record).unwrap();
    let message = &server.received()[0];
    let verified = Command::new(python())
        .arg(repo().join("tests/tools/dkim_verify.py"))
        .arg(&message.path)
        .arg(&record_file)
        .output()
        .unwrap();
    assert!(verified.status.success(), "dkimpy: {}", String::from_utf8_lossy(&verified.stdout));
    let other = fixture.path().join("other.txt");
    let other_key = fixture.run(&["dkim", "keygen", "--selector", "mh2", "--algorithm", algorithm]).success().stdout();
    std::fs::write(&other, other_key.lines().find(|l| l.starts_with("v=DKIM1;")).unwrap()).unwrap();
    let wrong = Command::new(python())
        .arg(repo().join("tests/tools/dkim_verify.py"))
        .arg(&message.path)
        .arg(&other)
        .output()
        .unwrap();
    assert!(!wrong.status.success(), "another key's record must not verify");
}

#[test]
fn dkim_keygen_rsa_record_verifies_with_dkimpy() {
    keygen_round_trip("rsa");
}

#[test]
fn dkim_keygen_ed25519_record_verifies_with_dkimpy() {
    keygen_round_trip("ed25519");
}

#[test]
fn check_warns_when_the_dkim_domain_does_not_align_with_from() {
    let fixture = Fixture::reference();
    fixture.write("k.pem", "unused");
    let table = "[email.dkim]\ndomain = \"mailer.example.net\"\nselector = \"s\"\nkey_file = \"k.pem\"\n\n[schedule]";
    fixture.edit("publish.toml", "[schedule]", table);
    let run = fixture.run(&["check", "--json"]).success();
    let warning = run
        .stdout()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|d| d["message"].as_str().unwrap().contains("does not align"));
    let warning = warning.unwrap_or_else(|| panic!("no alignment warning: {}", run.stdout()));
    assert_eq!(warning["severity"], "warning");
    assert_eq!(warning["file"], "publish.toml");
    fixture.edit("publish.toml", "mailer.example.net", "mail.analyse.asia");
    let run = fixture.run(&["check", "--json"]).success();
    assert!(!run.stdout().contains("does not align"), "a subdomain aligns: {}", run.stdout());
}

#[test]
fn the_workspace_is_found_in_a_parent_folder_or_named_by_env() {
    let fixture = Fixture::reference();
    let deep = fixture.path().join("issues/drafts/deeper");
    std::fs::create_dir_all(&deep).unwrap();
    let run = publish_in(&deep, &["check", "9"]).success();
    assert!(run.stderr().contains("issue 9: no errors"), "{}", run.stderr());
    let elsewhere = tempfile::tempdir().unwrap();
    let run = publish_in(elsewhere.path(), &["check", "9"]).failure(1);
    assert!(run.stderr().contains("publish init"), "{}", run.stderr());
    let output = Command::new(env!("CARGO_BIN_EXE_publish"))
        .current_dir(elsewhere.path())
        .args(["check", "9"])
        .env("PUBLISH_WORKSPACE", fixture.path())
        .env("PUBLISH_NOW", "2024-03-01T01:00:00Z")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// `publish subscribers list | head -1`: the reader goes away after one line;
/// the command ends quietly with SIGPIPE's shell status, not a panic.
#[test]
fn a_reader_that_goes_away_ends_the_output_quietly_without_a_panic() {
    // Far more than a pipe holds (64 KB) and the one read takes.
    let fixture = with_subscribers(8000);
    let mut cmd = fixture.command(&["subscribers", "list"]).0;
    let mut child =
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("spawn publish");
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut first).unwrap();
    assert!(first.contains("@example.com"), "{first}");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(141), "{stderr}");
}

/// `publish check 2>&1 | head -1`: the same quiet end when the reader of the
/// diagnostics (standard error) goes away, not a panic (status 101).
#[test]
fn a_reader_of_the_diagnostics_that_goes_away_ends_check_quietly() {
    let fixture = Fixture::reference();
    // A warning each (no take), far more than a pipe holds.
    let mut issue =
        String::from("title = \"Many\"\ndate = 2024-03-08\nsponsor = \"none\"\n\n[[sections]]\nname = \"AI\"\n");
    for n in 0..1500 {
        issue.push_str(&format!(
            "\n[[sections.recommendations]]\ntitle = \"Link {n}\"\nurl = \"https://example.com/{n}\"\n"
        ));
    }
    fixture.write("issues/010.toml", &issue);
    let mut cmd = fixture.command(&["check", "10"]).0;
    let mut child =
        cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().expect("spawn publish");
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stderr.take().unwrap()), &mut first).unwrap();
    assert!(first.contains("issues/010.toml:"), "{first}");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(141), "{status:?}");
}
