//! Podcasting 2.0 JSON chapters files (`podcast:chapters`, type
//! `application/json+chapters`): `{"version": "1.2.0", "chapters": [{"startTime": 0, "title": "…"}]}`.

use serde_json::Value;

use crate::text::url::check_web_url;

/// The MIME type the `podcast:chapters` tag declares.
pub const MIME: &str = "application/json+chapters";

/// One chapter, as much of it as the feed and the checks need.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Chapter {
    pub start: f64,
    pub title: Option<String>,
    /// A page about the chapter's topic (https).
    pub url: Option<String>,
}

/// What is wrong with a chapters file.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// Not JSON: the place in the file (1-based line and column) and the parser's words.
    Syntax { line: usize, col: usize, message: String },
    /// JSON, but not chapters.
    Content(String),
}

/// Checks a chapters file; `duration` (seconds) is the audio's, when known.
pub fn check(text: &str, duration: Option<f64>) -> Result<Vec<Chapter>, Problem> {
    let root: Value = serde_json::from_str(text).map_err(|e| Problem::Syntax {
        line: e.line(),
        col: e.column().max(1),
        message: first_sentence(&e.to_string()),
    })?;
    let bad = |m: String| Err(Problem::Content(m));
    let Some(root) = root.as_object() else {
        return bad("a chapters file is a JSON object with \"version\" and \"chapters\"".into());
    };
    match root.get("version") {
        Some(Value::String(v)) if !v.trim().is_empty() => {}
        _ => return bad("\"version\" is missing: write \"version\": \"1.2.0\"".into()),
    }
    let Some(list) = root.get("chapters").and_then(Value::as_array) else {
        return bad("\"chapters\" is missing or not a list".into());
    };
    if list.is_empty() {
        return bad("\"chapters\" is empty: add at least one {\"startTime\": 0, \"title\": \"…\"}".into());
    }
    let mut out: Vec<Chapter> = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let n = i + 1;
        let Some(item) = item.as_object() else {
            return bad(format!("chapter {n} is not an object"));
        };
        let start = match item.get("startTime").and_then(Value::as_f64) {
            Some(s) if s >= 0.0 && s.is_finite() => s,
            Some(_) => return bad(format!("chapter {n}: \"startTime\" must be a number of seconds, 0 or more")),
            None => return bad(format!("chapter {n} has no \"startTime\" (seconds from the start, a number)")),
        };
        let title = match item.get("title") {
            None => None,
            Some(Value::String(t)) => Some(t.clone()),
            Some(_) => return bad(format!("chapter {n}: \"title\" must be text")),
        };
        if let Some(c) = title.as_deref().and_then(|t| t.chars().find(|&c| crate::text::is_not_text(c))) {
            return bad(format!("chapter {n}: its \"title\" has {}: delete it", crate::text::not_text_name(c)));
        }
        let name = title.as_deref().map_or(format!("chapter {n}"), |t| format!("chapter {n} (\"{t}\")"));
        if let Some(prev) = out.last()
            && start < prev.start
        {
            return bad(format!("{name} starts at {start} s, before the chapter above it ({} s)", prev.start));
        }
        if let Some(end) = item.get("endTime") {
            match end.as_f64() {
                Some(e) if e >= start => {}
                _ => return bad(format!("{name}: \"endTime\" must be a number of seconds after \"startTime\"")),
            }
        }
        if let Some(total) = duration
            && start >= total
        {
            return bad(format!("{name} starts at {start} s, after the audio ends ({})", clock(total)));
        }
        for key in ["url", "img"] {
            if let Some(v) = item.get(key) {
                let ok = v.as_str().is_some_and(|u| u.starts_with("https://") && check_web_url(u).is_ok());
                if !ok {
                    return bad(format!("{name}: \"{key}\" must be an https:// URL"));
                }
            }
        }
        let url = item.get("url").and_then(Value::as_str).map(str::to_string);
        out.push(Chapter { start, title, url });
    }
    Ok(out)
}

/// The Podcasting 2.0 chapters file of `chapters` (version 1.2.0), as JSON.
pub fn to_json(chapters: &[Chapter]) -> String {
    let list: Vec<Value> = chapters
        .iter()
        .map(|c| {
            let mut item = serde_json::Map::new();
            item.insert("startTime".into(), serde_json::json!(c.start));
            if let Some(title) = &c.title {
                item.insert("title".into(), Value::String(title.clone()));
            }
            if let Some(url) = &c.url {
                item.insert("url".into(), Value::String(url.clone()));
            }
            Value::Object(item)
        })
        .collect();
    let file = serde_json::json!({ "version": "1.2.0", "chapters": list });
    serde_json::to_string_pretty(&file).expect("JSON values always serialise")
}

/// "0:05", "12:34" or "1:02:03": a time as players show it.
pub fn timestamp(seconds: f64) -> String {
    let s = seconds.floor() as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, m, sec) => format!("{m}:{sec:02}"),
        (h, m, sec) => format!("{h}:{m:02}:{sec:02}"),
    }
}

/// "62 s" or "1:02:03".
pub fn clock(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec} s"),
        (0, m, sec) => format!("{m}:{sec:02}"),
        (h, m, sec) => format!("{h}:{m:02}:{sec:02}"),
    }
}

fn first_sentence(message: &str) -> String {
    message.split(" at line ").next().unwrap_or(message).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_file() {
        let ch =
            check(r#"{"version":"1.2.0","chapters":[{"startTime":0,"title":"Intro"},{"startTime":3.5}]}"#, Some(6.0))
                .unwrap();
        assert_eq!(
            ch,
            vec![
                Chapter { start: 0.0, title: Some("Intro".into()), url: None },
                Chapter { start: 3.5, title: None, url: None }
            ]
        );
    }

    #[test]
    fn problems_are_named() {
        let content = |text: &str, d| match check(text, d) {
            Err(Problem::Content(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(content(r#"{"chapters":[]}"#, None).contains("\"version\" is missing"));
        assert!(content(r#"{"version":"1.2.0","chapters":[]}"#, None).contains("is empty"));
        assert!(content(r#"{"version":"1.2.0","chapters":[{"title":"x"}]}"#, None).contains("has no \"startTime\""));
        let late =
            content(r#"{"version":"1.2.0","chapters":[{"startTime":0},{"startTime":90,"title":"Late"}]}"#, Some(62.0));
        assert_eq!(late, "chapter 2 (\"Late\") starts at 90 s, after the audio ends (1:02)");
        let order = content(r#"{"version":"1","chapters":[{"startTime":5},{"startTime":1}]}"#, None);
        assert!(order.contains("before the chapter above it"), "{order}");
        let url = content(r#"{"version":"1","chapters":[{"startTime":0,"url":"http://x.com"}]}"#, None);
        assert!(url.contains("\"url\" must be an https:// URL"), "{url}");
    }

    #[test]
    fn written_chapters_read_back() {
        let list = vec![
            Chapter { start: 0.0, title: Some("Intro".into()), url: None },
            Chapter { start: 3.5, title: Some("Sora".into()), url: Some("https://example.com/a".into()) },
        ];
        assert_eq!(check(&to_json(&list), Some(6.0)).unwrap(), list);
        assert_eq!(
            (timestamp(5.9), timestamp(754.0), timestamp(3723.0)),
            ("0:05".into(), "12:34".into(), "1:02:03".into())
        );
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        match check("{\n  \"version\": \"1.2.0\",\n  \"chapters\": [,]\n}", None) {
            Err(Problem::Syntax { line, col, .. }) => assert_eq!((line, col), (3, 16)),
            other => panic!("{other:?}"),
        }
    }
}
