//! Fixture workspaces in temp dirs and a way to run the real `publish` binary on them;
//! the real servers and tools the tests drive (`smtp`: aiosmtpd). Test modules share
//! helpers only through here.

mod http;
mod smtp;

pub use http::{Running, agent, form, request};
pub use smtp::{Received, SmtpServer, free_port, per_recipient, send, subscribers_csv, with_subscribers};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root: itself the reference publication.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A workspace in a temp dir, removed when dropped.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    /// A copy of the reference publication (issue 9), without `templates/`,
    /// so that the built-in templates are what renders.
    pub fn reference() -> Fixture {
        let fixture = Fixture::empty();
        for file in [
            "publish.toml",
            "sponsors.toml",
            "issues/009.toml",
            "media/009-cover.png",
            "media/podcast-cover.png",
            "media/009.mp3",
            "media/009-chapters.json",
            "media/009.vtt",
        ] {
            fixture.copy_from_repo(file);
        }
        fixture
    }

    /// A copy of the fixture publication `tests/fixtures/publications/NAME`.
    pub fn publication(name: &str) -> Fixture {
        let fixture = Fixture::empty();
        let from = repo().join("tests/fixtures/publications").join(name);
        copy_dir(&from, fixture.path());
        fixture
    }

    pub fn empty() -> Fixture {
        Fixture { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn copy_from_repo(&self, relative: &str) {
        let to = self.path().join(relative);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(repo().join(relative), &to).unwrap_or_else(|e| panic!("copy {relative}: {e}"));
    }

    pub fn write(&self, relative: &str, text: &str) {
        let to = self.path().join(relative);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, text).unwrap();
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path().join(relative)).unwrap_or_else(|e| panic!("read {relative}: {e}"))
    }

    /// Replaces the first `old` in a file with `new` (the text must be there).
    pub fn edit(&self, relative: &str, old: &str, new: &str) {
        let text = self.read(relative);
        assert!(text.contains(old), "{relative} does not contain {old:?}");
        self.write(relative, &text.replacen(old, new, 1));
    }

    /// Runs `publish --workspace <fixture> ARGS` with a pinned clock and secret.
    pub fn run(&self, args: &[&str]) -> Run {
        self.command(args).run()
    }

    pub fn command(&self, args: &[&str]) -> Cmd {
        self.command_with(self.path(), args)
    }

    /// [`Fixture::command`] run from the fixture's folder, with the workspace
    /// named as `workspace` (`.` names the fixture).
    pub fn command_naming(&self, workspace: &Path, args: &[&str]) -> Cmd {
        let mut cmd = self.command_with(workspace, args);
        cmd.0.current_dir(self.path());
        cmd
    }

    fn command_with(&self, workspace: &Path, args: &[&str]) -> Cmd {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_publish"));
        cmd.arg("--workspace").arg(workspace).args(args);
        cmd.env("PUBLISH_NOW", "2024-03-01T01:00:00Z")
            .env("PUBLISH_SECRET", "test-secret-0123456789abcdef0123456789")
            .env_remove("PUBLISH_SMTP_URL")
            .env_remove("PUBLISH_STATE_DIR")
            .env_remove("PUBLISH_DATABASE_URL")
            .env_remove("PUBLISH_SENDER")
            .env_remove("PUBLISH_LEASE");
        Cmd(cmd)
    }
}

/// A new, empty database on the PostgreSQL server that scripts/test starts
/// (`MASTHEAD_TEST_DATABASE_URL`); its URL. A test needing it fails without it.
pub fn fresh_database() -> String {
    let admin = std::env::var("MASTHEAD_TEST_DATABASE_URL").expect(
        "MASTHEAD_TEST_DATABASE_URL is not set: run the tests with `bash scripts/test`, which starts a PostgreSQL server",
    );
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("the test PostgreSQL server answers");
    let name =
        format!("it_{}_{}", std::process::id(), NEXT_DATABASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).unwrap();
    client.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let mut url = url::Url::parse(&admin).unwrap();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

static NEXT_DATABASE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// An issue file's text without its `[episode]` table (which ends at a blank line),
/// for copies of issue 9 that must not share its audio.
pub fn without_episode(text: &str) -> String {
    let Some(start) = text.find("[episode]\n") else { return text.to_string() };
    let end = text[start..].find("\n\n").map_or(text.len(), |i| start + i + 2);
    format!("{}{}", &text[..start], &text[end..])
}

pub struct Cmd(pub Command);

impl Cmd {
    pub fn env(mut self, key: &str, value: &str) -> Cmd {
        self.0.env(key, value);
        self
    }

    /// Starts the command without waiting (its output is discarded).
    pub fn spawn(mut self) -> std::process::Child {
        self.0.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().expect("spawn publish")
    }

    pub fn run(mut self) -> Run {
        let output = self.0.output().expect("run publish");
        Run { output }
    }
}

/// Starting a command with its output captured, to wait for later.
pub trait OutputChild {
    fn output_child(self) -> std::process::Child;
}

impl OutputChild for Command {
    fn output_child(mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("spawn publish")
    }
}

/// The Python interpreter with the test tools (aiosmtpd, dkimpy, pynacl, podcastparser) that
/// `scripts/test` installs: `MASTHEAD_PYTHON`, else the repository's `.venv`; a test needing it fails without it.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("MASTHEAD_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = repo().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with the test tools (MASTHEAD_PYTHON is not set): run the tests with `bash scripts/test`, which installs them"
    );
    venv
}

/// Runs a Python script with [`python()`] on `args`; its standard output, or a
/// panic with its standard error when it fails.
pub fn run_python(script: &str, args: &[&Path]) -> String {
    let out = Command::new(python()).args(["-c", script]).args(args).output().expect("run python");
    assert!(out.status.success(), "python failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("python prints UTF-8")
}

/// What a run printed and how it exited.
pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// Asserts exit status 0 and returns the run.
    #[track_caller]
    pub fn success(self) -> Run {
        assert_eq!(self.code(), 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout(), self.stderr());
        self
    }

    #[track_caller]
    pub fn failure(self, code: i32) -> Run {
        assert_eq!(self.code(), code, "expected exit {code}\nstdout:\n{}\nstderr:\n{}", self.stdout(), self.stderr());
        self
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The `node_modules` that `scripts/test` installs (playwright-core,
/// twitter-text, twemoji-parser), checked to hold `packages`.
pub fn node_modules(packages: &[&str]) -> PathBuf {
    let dir = std::env::var_os("MASTHEAD_NODE_MODULES")
        .map_or_else(|| repo().join("tests/browser/node_modules"), PathBuf::from);
    for package in packages {
        assert!(
            dir.join(package).is_dir(),
            "no {package} in {}: run the tests with `bash scripts/test`, which installs it",
            dir.display()
        );
    }
    dir
}

/// A built web page without the two scripts the built-in template itself writes: the
/// JSON-LD block (checked to be one JSON document with no `<` that could close it) and the
/// episode player's script (checked to be the template's text, byte for byte). What is
/// left must hold no script at all: publisher text never becomes one.
pub fn without_template_scripts(html: &str) -> String {
    let mut html = html.to_string();
    let open = "<script type=\"application/ld+json\">";
    if let Some(start) = html.find(open) {
        let end = start + html[start..].find("</script>").expect("the JSON-LD script is closed");
        let json = &html[start + open.len()..end];
        assert!(!json.contains('<'), "the JSON-LD could close its element: {json}");
        let _: serde_json::Value = serde_json::from_str(json).expect("the JSON-LD is one JSON document");
        html.replace_range(start..end + "</script>".len(), "");
    }
    let template = std::fs::read_to_string(repo().join("templates/web.html")).unwrap();
    let start = template.find("<script data-player>").expect("the template has the player script");
    let end = start + template[start..].find("</script>").unwrap() + "</script>".len();
    html.replace(&template[start..end], "")
}
