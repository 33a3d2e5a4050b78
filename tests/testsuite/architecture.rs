//! The arrows between the rooms of `src/` point down: commands →
//! publication, preview, server, curate → render, deliver, schedule →
//! assemble → workspace → leaves (diag, clock, fsutil, text). Nothing below
//! imports the commands or the Publication; deliver may use render's
//! per-recipient fill. This test reads every source file and fails on a
//! `crate::…` path that points up or sideways.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::repo;

/// Each room and its floor: a room may use rooms on lower floors only.
const FLOORS: &[(&str, u32)] = &[
    ("main", 11),
    ("cmd", 10),
    ("cli", 10),
    ("preview", 9),
    ("server", 9),
    ("curate", 9),
    ("publication", 8),
    ("render", 6),
    ("deliver", 6),
    ("schedule", 6),
    ("assemble", 5),
    ("workspace", 4),
    ("diag", 1),
    ("clock", 1),
    ("fsutil", 1),
    ("text", 1),
];

/// Arrows allowed between rooms on one floor.
const SIDEWAYS: &[(&str, &str)] = &[("cmd", "cli"), ("deliver", "render")];

fn floor(room: &str) -> u32 {
    FLOORS.iter().find(|(r, _)| *r == room).unwrap_or_else(|| panic!("src/{room} is in no floor of FLOORS: add it")).1
}

/// The room of a file under `src/`: its first path segment, without `.rs`.
fn room(relative: &Path) -> String {
    let first = relative.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_string()
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::ROOM` named in `text`, code and doc links alike.
fn uses(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let ident = |s: &str| s.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            // `crate::{a::X, b}` names several rooms at once.
            let names: Vec<String> = match after.strip_prefix('{') {
                Some(group) => group.split(['}', ';']).next().unwrap_or("").split(',').map(ident).collect(),
                None => vec![ident(after)],
            };
            found.extend(names.into_iter().filter(|n| !n.is_empty()).map(|n| (i + 1, n)));
            rest = after;
        }
    }
    found
}

#[test]
fn arrows_between_the_rooms_of_src_only_point_down() {
    let src = repo().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut wrong = Vec::new();
    let mut arrows: BTreeMap<(String, String), usize> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let from = room(relative);
        let text = std::fs::read_to_string(file).unwrap();
        for (line, to) in uses(&text) {
            if to == from {
                continue;
            }
            *arrows.entry((from.clone(), to.clone())).or_default() += 1;
            let down = floor(&to) < floor(&from);
            if !down && !SIDEWAYS.contains(&(from.as_str(), to.as_str())) {
                wrong.push(format!("src/{}:{line}: {from} uses crate::{to}", relative.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "arrows that do not point down:\n{}", wrong.join("\n"));
    // The rule has teeth: the façade is used from above and uses the stages below.
    for arrow in [("cmd", "publication"), ("publication", "deliver"), ("render", "assemble"), ("assemble", "workspace")]
    {
        assert!(arrows.contains_key(&(arrow.0.to_string(), arrow.1.to_string())), "no arrow {arrow:?}: {arrows:?}");
    }
}

#[test]
fn an_arrow_up_is_caught() {
    let text =
        "use crate::deliver::store::Store;\nfn f() { crate::cmd::run(); }\nuse crate::{render::x, publication};\n";
    let found: Vec<String> = uses(text).into_iter().map(|(_, room)| room).collect();
    assert_eq!(found, ["deliver", "cmd", "render", "publication"]);
    assert!(floor("cmd") > floor("workspace"), "workspace → cmd would be flagged");
}

#[test]
fn test_modules_share_helpers_only_through_support() {
    let dir = repo().join("tests/testsuite");
    let mut wrong = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        // This file names rooms of src/ in its checks.
        if path.extension().is_none_or(|e| e != "rs") || path.ends_with("architecture.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (line, module) in uses(&text) {
            if module != "support" {
                wrong.push(format!("{}:{line}: crate::{module}", path.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "test modules importing each other:\n{}", wrong.join("\n"));
}
