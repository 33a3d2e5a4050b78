//! A publication on disk: `publish.toml`, `issues/`, `sponsors.toml`, `templates/`.
//!
//! [`Workspace::load`] reads and checks everything once; later stages only
//! look at the typed values it holds.

pub mod config;
pub mod content;
pub mod media;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};

use crate::clock::timings::stage;
use crate::diag::{Diagnostic, Diagnostics, Severity, SourceFile};
use crate::workspace::config::Config;
use crate::workspace::content::issue::{Issue, IssueContext, IssueFile};
use crate::workspace::content::kept::{self, Kept, Key, KeyBase};
use crate::workspace::content::sponsor::{Sponsors, SponsorsFile};
use crate::workspace::content::toml_file::{Seg, TomlFile};
use crate::workspace::media::Source;
use crate::workspace::media::facts::MediaFacts;

/// How many folders up [`Workspace::discover`] looks (deeper than any real path).
const MAX_DEPTH: usize = 256;

/// An issue file found in `issues/`, checked or not.
#[derive(Debug)]
pub struct IssueEntry {
    pub file: String,
    /// `None` when the file has errors.
    pub issue: Option<Issue>,
    /// The parsed file, for checks that span files; `None` when it is not valid TOML.
    pub toml: Option<TomlFile>,
    /// Which reading of the file this is: unique in the process, new each time it is read.
    pub generation: u64,
    /// A hash of everything the issue was checked from ([`kept`]): what the
    /// issues kept between builds and the feed items are filed under.
    pub key: Key,
    /// What checking this file alone found (also in [`Workspace::diags`]).
    pub found: Vec<Diagnostic>,
}

/// Which issues a load may take as the last build kept them ([`kept`]):
/// every unchanged file but `fresh`'s, which is read and checked in full.
struct Reuse<'a> {
    kept: &'a Kept,
    fresh: Option<u32>,
}

/// Reads and checks one issue file alone, unless `reuse` holds it unchanged.
fn load_issue(
    number: u32,
    relative: &str,
    context: &IssueContext,
    keys: &KeyBase,
    reuse: Option<&Reuse>,
) -> Result<(IssueEntry, Diagnostics)> {
    static GENERATIONS: AtomicU64 = AtomicU64::new(1);
    let generation = GENERATIONS.fetch_add(1, Ordering::Relaxed);
    thread_local! {
        /// The bytes of the file being read, in a buffer each loading thread reuses.
        static BYTES: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let path = context.root.join(relative);
    // The file's bytes give its key; an issue kept under that key is taken as
    // it is, without the file's text (read again only should a check across
    // files need a place in it).
    let read = BYTES.with_borrow_mut(|bytes| {
        bytes.clear();
        stage("read files", || std::fs::File::open(&path).and_then(|mut f| f.read_to_end(bytes)))?;
        let file_key = keys.file(relative, number, bytes);
        let started = std::time::Instant::now();
        let taken = reuse
            .filter(|r| r.fresh != Some(number))
            .and_then(|r| r.kept.take(relative, number, &file_key, context.root));
        if taken.is_some() {
            crate::clock::timings::add("issue files kept by the last build", started.elapsed());
        }
        let text = if taken.is_none() { Some(bytes.clone()) } else { None };
        Ok::<_, std::io::Error>((file_key, taken, text))
    });
    let (file_key, taken, text) = read.map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    if let Some(taken) = taken {
        context.facts.keep(context.root, &taken.issue.local_files());
        let entry = IssueEntry {
            file: relative.to_string(),
            issue: Some(taken.issue),
            toml: None,
            generation,
            key: taken.key,
            found: taken.diags.clone(),
        };
        return Ok((entry, Diagnostics { items: taken.diags }));
    }
    let src = match SourceFile::decode(relative, text.unwrap_or_default()) {
        Ok(src) => src,
        Err(d) => {
            let key = file_key.with_media(context.root, &[]);
            let entry =
                IssueEntry { file: relative.to_string(), issue: None, toml: None, generation, key, found: vec![d] };
            let diags = Diagnostics { items: entry.found.clone() };
            return Ok((entry, diags));
        }
    };
    let mut diags = Diagnostics::default();
    let (issue, toml) = match stage("parse TOML", || TomlFile::load::<IssueFile>(src, &mut diags)) {
        Some((raw, toml)) => {
            let issue = stage("check issues (audio included)", || Issue::new(number, raw, &toml, context, &mut diags));
            (issue, Some(toml))
        }
        None => (None, None),
    };
    let key = file_key.with_media(context.root, &issue.as_ref().map(Issue::local_files).unwrap_or_default());
    if let Some(reuse) = reuse {
        reuse.kept.read_again(relative, number, &key);
    }
    let entry = IssueEntry { file: relative.to_string(), issue, toml, generation, key, found: diags.items.clone() };
    Ok((entry, diags))
}

/// `f` applied to every item, on a few threads when there are many; in order.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    if threads < 2 || items.len() < 32 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> =
            items.chunks(chunk).map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>())).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

/// The loaded publication.
#[derive(Debug)]
pub struct Workspace {
    pub root: PathBuf,
    /// `None` when `publish.toml` has errors.
    pub config: Option<Config>,
    pub sponsors: Sponsors,
    pub issues: BTreeMap<u32, IssueEntry>,
    /// Template files from `templates/`, by name ("email.html", "social/x.txt").
    pub templates: BTreeMap<String, String>,
    /// Everything found wrong, in every file.
    pub diags: Diagnostics,
    /// What was read from media files, for [`MediaFacts::save`].
    pub media: MediaFacts,
    /// Issues valid alone that a check across files failed.
    set_aside: BTreeMap<u32, Issue>,
    /// How many of the last diagnostics come from checks across files.
    across: usize,
    /// What every issue's key starts from.
    keys: KeyBase,
    /// The issues kept by the last build, when this load took from them.
    kept: Option<Kept>,
}

impl Workspace {
    /// Reads the publication at `root`. Fails only when it is not a publication
    /// at all; problems in its files are in [`Workspace::diags`].
    pub fn load(root: &Path) -> Result<Workspace> {
        Workspace::load_with(root, None)
    }

    /// [`Workspace::load`], taking every issue file that did not change since
    /// the last `publish build` as that build checked it ([`kept`]), except
    /// issue `fresh`, which is read and checked in full. Checks across files
    /// run over every issue, as in a full load.
    pub fn load_reusing(root: &Path, fresh: Option<u32>) -> Result<Workspace> {
        Workspace::load_with(root, Some(fresh))
    }

    fn load_with(root: &Path, reuse: Option<Option<u32>>) -> Result<Workspace> {
        let root = root.to_path_buf();
        let config_path = root.join("publish.toml");
        if !config_path.is_file() {
            anyhow::bail!(
                "{} has no publish.toml: run publish in a publication's folder (or one below it), \
                 pass --workspace DIR, or start one with `publish init`",
                if root.as_os_str().is_empty() { Path::new(".") } else { &root }.display()
            );
        }
        let mut diags = Diagnostics::default();
        let config_src = stage("read files", || SourceFile::load(&root, Path::new("publish.toml")));
        let config_text = config_src.as_ref().ok().map(|src| src.text.clone());
        let config = config_src
            .map(|src| {
                stage("parse TOML", || TomlFile::load::<Config>(src, &mut diags)).map(|(config, file)| {
                    stage("check publish.toml", || {
                        config.validate(&file, &mut diags);
                        if let Some(podcast) = &config.podcast {
                            podcast.validate(&config, &file, &root, &mut diags);
                        }
                    });
                    config
                })
            })
            .unwrap_or_else(|d| {
                diags.push(d);
                None
            });
        let mut sponsors_text = None;
        let sponsors = if root.join("sponsors.toml").is_file() {
            match SourceFile::load(&root, Path::new("sponsors.toml")) {
                Ok(src) => {
                    sponsors_text = Some(src.text.clone());
                    match TomlFile::load::<SponsorsFile>(src, &mut diags) {
                        Some((file, toml)) => Sponsors::new(file, &toml, &mut diags),
                        None => Sponsors::default(),
                    }
                }
                Err(d) => {
                    diags.push(d);
                    Sponsors::default()
                }
            }
        } else {
            Sponsors::default()
        };
        let tz = config.as_ref().map_or(jiff::tz::TimeZone::UTC, Config::tz);
        let media = MediaFacts::open(&state_dir(&root));
        let keys = KeyBase::new(&root, config_text.as_deref(), sponsors_text.as_deref());
        let kept = reuse.map(|_| stage("read the kept issues", || Kept::open(&state_dir(&root))));
        let reuse = kept.as_ref().map(|kept| Reuse { kept, fresh: reuse.flatten() });

        // The first file of each number is read; the others are errors.
        let files = issue_files(&root, &mut diags)?;
        let mut first_of: HashMap<u32, &str> = HashMap::new();
        let unique: Vec<(u32, &str)> = files
            .iter()
            .filter(|(number, relative)| first_of.entry(*number).or_insert(relative) == relative)
            .map(|(number, relative)| (*number, relative.as_str()))
            .collect();
        let context = IssueContext { sponsors: &sponsors, tz: &tz, root: &root, facts: &media };
        let mut loaded =
            par_map(&unique, |(number, relative)| load_issue(*number, relative, &context, &keys, reuse.as_ref()))
                .into_iter();
        let mut issues = BTreeMap::new();
        for (number, relative) in &files {
            match first_of.get(number) {
                Some(first) if first != relative => diags.push(
                    Diagnostic::file(Severity::Error, relative, format!("issue {number} is also {first}"))
                        .with_hint("one number, one file: rename or remove one of them"),
                ),
                _ => {
                    let (entry, found) = loaded.next().expect("one loaded entry per unique file")?;
                    diags.items.extend(found.items);
                    issues.insert(*number, entry);
                }
            }
        }
        let mut ws = Workspace {
            templates: stage("read files", || read_templates(&root.join("templates")))?,
            root,
            config,
            sponsors,
            issues,
            diags,
            media,
            set_aside: BTreeMap::new(),
            across: 0,
            keys,
            kept,
        };
        ws.check_across();
        Ok(ws)
    }

    /// Reads the issue files `changed` (paths relative to the root, each an issue
    /// file already loaded under the same number) again, and checks across files
    /// again; every other file is left as it was loaded. `false` (and nothing
    /// changed) when that is not enough: a file is new, gone or renamed, or is not
    /// an issue file, so the caller must load the whole workspace again.
    pub fn reload_issues(&mut self, changed: &[String]) -> Result<bool> {
        let mut numbers = Vec::new();
        for relative in changed {
            let known = self.issues.iter().find(|(_, e)| &e.file == relative).map(|(n, _)| *n);
            match known {
                Some(n) if self.root.join(relative).is_file() => numbers.push(n),
                _ => return Ok(false),
            }
        }
        let listed = issue_files(&self.root, &mut Diagnostics::default())?;
        let same = listed.len() == self.issues.len()
            && listed.iter().all(|(n, rel)| self.issues.get(n).is_some_and(|e| &e.file == rel));
        if !same {
            return Ok(false);
        }
        // Undo the checks across files, then read the changed files again.
        self.diags.items.truncate(self.diags.items.len() - self.across);
        for (number, issue) in std::mem::take(&mut self.set_aside) {
            if let Some(entry) = self.issues.get_mut(&number) {
                entry.issue = Some(issue);
            }
        }
        for number in numbers {
            let tz = self.config.as_ref().map_or(jiff::tz::TimeZone::UTC, Config::tz);
            let context = IssueContext { sponsors: &self.sponsors, tz: &tz, root: &self.root, facts: &self.media };
            let file = self.issues[&number].file.clone();
            let (entry, found) = load_issue(number, &file, &context, &self.keys, None)?;
            self.diags.items.retain(|d| d.file != file);
            self.diags.items.extend(found.items);
            self.issues.insert(number, entry);
        }
        self.check_across();
        Ok(true)
    }

    /// The checks that span issue files ([`check_episodes`]): their diagnostics
    /// go last, and the issues they fail are set aside (for [`Workspace::reload_issues`]).
    fn check_across(&mut self) {
        let Some(config) = &self.config else { return };
        let before = self.diags.items.len();
        let mut found = Diagnostics::default();
        stage("check issues (audio included)", || {
            self.set_aside = check_episodes(config, &self.root, &mut self.issues, &mut found);
        });
        self.diags.items.extend(found.items);
        self.across = self.diags.items.len() - before;
    }

    /// Keeps every issue valid alone in the state folder for the next build
    /// ([`kept`]), unless the kept file holds exactly these already.
    pub fn keep_issues(&self) -> Result<()> {
        let valid = || {
            self.issues.iter().filter_map(|(n, e)| e.issue.as_ref().or_else(|| self.set_aside.get(n)).map(|i| (e, i)))
        };
        let count = valid().count();
        if self.kept.as_ref().is_some_and(|k| k.holds_exactly(count)) {
            return Ok(());
        }
        let issues = valid().map(|(entry, issue)| kept::ToKeep {
            file: &entry.file,
            key: entry.key,
            issue,
            diags: &entry.found,
        });
        kept::save(&self.state_dir(), issues)
    }

    /// The publication `publish` works on when neither `--workspace` nor
    /// `PUBLISH_WORKSPACE` names one: the nearest folder, from `start` up,
    /// that has a `publish.toml` (as cargo finds `Cargo.toml`). `None` when
    /// there is none up to the root.
    pub fn discover(start: &Path) -> Option<PathBuf> {
        start.ancestors().take(MAX_DEPTH).find(|dir| dir.join("publish.toml").is_file()).map(Path::to_path_buf)
    }

    /// Issue `number`, if it exists and is valid.
    pub fn issue(&self, number: u32) -> Result<&Issue> {
        let entry = self.entry(number)?;
        entry.issue.as_ref().with_context(|| format!("{} has errors: run `publish check {number}`", entry.file))
    }

    /// The file of issue `number`, valid or not.
    pub fn entry(&self, number: u32) -> Result<&IssueEntry> {
        self.issues.get(&number).with_context(|| {
            let known: Vec<String> = self.issues.keys().map(u32::to_string).collect();
            format!(
                "there is no issue {number} in issues/ (known: {}); create issues/{number:03}.toml or run `publish new`",
                if known.is_empty() { "none".into() } else { known.join(", ") }
            )
        })
    }

    /// The settings as far as they could be read (an error when `publish.toml`
    /// is not valid TOML or has unknown keys): enough to start an issue file.
    pub fn config(&self) -> Result<&Config> {
        self.config.as_ref().context("publish.toml has errors: run `publish check`")
    }

    /// The settings, when `publish.toml` has no error at all: what sending and
    /// scheduling act on (a duration that did not parse never becomes a default).
    pub fn checked_config(&self) -> Result<&Config> {
        let errors = self.diags.items.iter().filter(|d| d.is_error() && d.file == "publish.toml").count();
        anyhow::ensure!(
            errors == 0,
            "publish.toml has {errors} error{}: run `publish check` and fix {} first",
            crate::text::plural(errors),
            if errors == 1 { "it" } else { "them" }
        );
        self.config()
    }

    /// The valid issues, newest first.
    pub fn valid_issues(&self) -> impl Iterator<Item = &Issue> {
        self.issues.values().rev().filter_map(|e| e.issue.as_ref())
    }

    /// Where generated files go.
    pub fn out_dir(&self) -> PathBuf {
        self.root.join("out")
    }

    /// Where local state lives (`PUBLISH_STATE_DIR` or `.publish/`).
    pub fn state_dir(&self) -> PathBuf {
        state_dir(&self.root)
    }
}

/// Where the local state of the publication at `root` lives.
pub fn state_dir(root: &Path) -> PathBuf {
    match std::env::var_os("PUBLISH_STATE_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => root.join(".publish"),
    }
}

/// What no single issue file can show: an episode needs `[podcast]`, and no two
/// episodes share a GUID or an audio file or URL. An issue that fails here is not
/// valid: it is taken out of its entry, and returned.
fn check_episodes(
    config: &Config,
    root: &Path,
    issues: &mut BTreeMap<u32, IssueEntry>,
    diags: &mut Diagnostics,
) -> BTreeMap<u32, Issue> {
    const EPISODE: &[Seg<'static>] = &[Seg::Key("episode")];
    const GUID: &[Seg<'static>] = &[Seg::Key("episode"), Seg::Key("guid")];
    const AUDIO: &[Seg<'static>] = &[Seg::Key("episode"), Seg::Key("audio")];
    let mut set_aside = BTreeMap::new();
    let mut guids: HashMap<String, u32> = HashMap::new();
    let mut audio: HashMap<Source, u32> = HashMap::new();
    for (&number, entry) in issues.iter_mut() {
        let Some(issue) = &entry.issue else { continue };
        let Some(episode) = &issue.episode else { continue };
        // (where in the file, what is wrong, what to do)
        let mut problems: Vec<(&[Seg], String, &str)> = Vec::new();
        match &config.podcast {
            None => problems.push((
                EPISODE,
                "this issue has an episode, but there is no podcast".into(),
                "add [podcast] to publish.toml (title, author, owner, image, categories)",
            )),
            Some(podcast) => {
                let guid = podcast.item_guid(config, number, episode.guid.as_deref());
                if let Some(first) = guids.insert(guid.clone(), number) {
                    problems.push((
                        if episode.guid.is_some() { GUID } else { EPISODE },
                        format!("the episode's GUID \"{guid}\" is also issue {first}'s"),
                        "podcast apps tell episodes apart by GUID: remove `guid`, or give this episode its own",
                    ));
                }
                if let Some(first) = audio.insert(episode.audio.clone(), number) {
                    problems.push((
                        AUDIO,
                        format!("issue {first}'s episode has the same audio ({})", episode.audio.as_str()),
                        "each episode needs its own audio file",
                    ));
                }
            }
        }
        if problems.is_empty() {
            continue;
        }
        // A kept issue's file was not kept in memory: read now, for the places.
        if entry.toml.is_none() {
            entry.toml = SourceFile::read(root, Path::new(&entry.file)).ok().map(TomlFile::unparsed);
        }
        for (path, message, hint) in problems {
            let d = match &entry.toml {
                Some(toml) => toml.diag_at(Severity::Error, path, message),
                None => Diagnostic::file(Severity::Error, &entry.file, message),
            };
            diags.push(d.with_hint(hint));
        }
        set_aside.extend(entry.issue.take().map(|issue| (number, issue)));
    }
    set_aside
}

/// `issues/*.toml` with their numbers, in file-name order; odd names are warned about.
/// The issue number of an issue file's name without `.toml`: its leading
/// digits, then nothing or a `-slug` ("009-ai-chips" is 9).
fn number_of(stem: &str) -> Option<u32> {
    let digits = stem.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &stem[digits..];
    stem[..digits].parse::<u32>().ok().filter(|&n| n > 0 && (rest.is_empty() || rest.starts_with('-')))
}

/// Why `stem` (a file name in `issues/` without `.toml`) names no issue, and the
/// name to give it.
fn not_an_issue_name(stem: &str) -> (String, String) {
    const FORM: &str = "name issue files issues/<number>[-slug].toml, e.g. issues/010-ai-chips.toml";
    let digits = &stem[..stem.bytes().take_while(u8::is_ascii_digit).count()];
    let rest = &stem[digits.len()..];
    if digits.is_empty() {
        return ("the file name does not start with an issue number".into(), FORM.into());
    }
    match digits.parse::<u32>() {
        Ok(0) => ("issue numbers start at 1, not 0".into(), FORM.into()),
        Err(_) => (format!("{digits} is too large for an issue number"), FORM.into()),
        Ok(_) => {
            let slug: String = rest.trim_start_matches(|c: char| !c.is_alphanumeric()).replace([' ', '_'], "-");
            (
                format!("after the issue number {digits}, the file name goes on with {rest:?} instead of `-`"),
                format!("rename it issues/{digits}-{slug}.toml"),
            )
        }
    }
}

/// The issue number of `relative` ("issues/009-ai.toml" is 9); `None` when
/// it is not an issue file's path.
pub fn issue_number(relative: &str) -> Option<u32> {
    number_of(relative.strip_prefix("issues/")?.strip_suffix(".toml")?)
}

fn issue_files(root: &Path, diags: &mut Diagnostics) -> Result<Vec<(u32, String)>> {
    let dir = root.join("issues");
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = format!("issues/{name}");
        // The directory listing's own file type spares a `stat` per file;
        // a link (or a type the listing does not give) is followed, as `is_file` does.
        let is_file = match entry.file_type() {
            Ok(kind) if !kind.is_symlink() => kind.is_file(),
            _ => entry.path().is_file(),
        };
        if name.starts_with('.') || !is_file {
            continue;
        }
        let Some(stem) = name.strip_suffix(".toml") else {
            if !name.ends_with('~') {
                diags.push(
                    Diagnostic::file(Severity::Warning, &relative, "not a .toml file; ignored")
                        .with_hint("issue files are issues/<number>[-slug].toml"),
                );
            }
            continue;
        };
        match number_of(stem) {
            Some(n) => found.push((n, relative)),
            None => {
                let (message, hint) = not_an_issue_name(stem);
                diags.push(Diagnostic::file(Severity::Error, &relative, message).with_hint(hint));
            }
        }
    }
    found.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(found)
}

/// Every file under `templates/`, by its path relative to that folder.
fn read_templates(dir: &Path) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("cannot read {}", d.display()))? {
            let path = entry.with_context(|| format!("cannot read {}", d.display()))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                let name = path.strip_prefix(dir).expect("below dir").to_string_lossy().replace('\\', "/");
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}: templates must be UTF-8 text", path.display()))?;
                out.insert(name, text);
            }
        }
    }
    Ok(out)
}
