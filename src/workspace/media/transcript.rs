//! Transcripts and captions (`podcast:transcript`): SubRip (`.srt`) and WebVTT
//! (`.vtt`) files, checked cue by cue so that a mistake is reported at its line.

use std::ops::Range;

use crate::workspace::media::Source;

/// The two timed formats podcast apps show as captions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    Srt,
    Vtt,
}

impl Kind {
    /// From the extension of the file or of the URL's path.
    pub fn of(source: &Source) -> Option<Kind> {
        match source.extension()?.as_str() {
            "srt" => Some(Kind::Srt),
            "vtt" => Some(Kind::Vtt),
            _ => None,
        }
    }

    /// The `type` of the `podcast:transcript` tag.
    pub fn mime(self) -> &'static str {
        match self {
            Kind::Srt => "application/x-subrip",
            Kind::Vtt => "text/vtt",
        }
    }
}

/// A mistake at a byte range of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub span: Range<usize>,
    pub message: String,
    pub hint: &'static str,
}

/// Cues may run this far past the end of the audio (rounding, a trailing silence).
const SLACK_SECONDS: f64 = 1.0;

/// One cue: when it starts and what is said (tags such as `<v Host>` left out).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cue {
    pub start: f64,
    pub text: String,
}

/// Checks a transcript; returns its cues. `duration` is the audio's, when known.
pub fn check(text: &str, kind: Kind, duration: Option<f64>) -> Result<Vec<Cue>, Problem> {
    let lines = lines(text);
    let mut blocks = blocks(&lines);
    let hint = match kind {
        Kind::Srt => "an SRT cue is a number, then `00:00:01,000 --> 00:00:04,000`, then its text",
        Kind::Vtt => "a WebVTT cue is `00:01.000 --> 00:04.000` (hours optional), then its text",
    };
    let problem = |span: Range<usize>, message: String| Problem { span, message, hint };
    if kind == Kind::Vtt {
        let header = blocks.first().map(|b| b[0]);
        let ok = header.is_some_and(|(_, l)| {
            let l = l.trim_start_matches('\u{feff}');
            l == "WEBVTT" || l.starts_with("WEBVTT ") || l.starts_with("WEBVTT\t")
        });
        if !ok {
            let (at, line) = header.unwrap_or((0, ""));
            return Err(problem(at..at + line.len(), "a WebVTT file must start with the line WEBVTT".into()));
        }
        blocks.remove(0);
    }
    let mut cues = Vec::new();
    let mut last_start = 0.0;
    for block in blocks {
        let (first_at, first) = block[0];
        if kind == Kind::Vtt && ["NOTE", "STYLE", "REGION"].iter().any(|w| first.split_whitespace().next() == Some(w)) {
            continue;
        }
        let timing_index = match kind {
            Kind::Srt => {
                // Windows tools start the file with a byte order mark.
                if first.trim_start_matches('\u{feff}').trim().parse::<u64>().is_err() {
                    return Err(problem(first_at..first_at + first.len(), "expected the cue's number".into()));
                }
                1
            }
            Kind::Vtt if first.contains("-->") => 0,
            Kind::Vtt => 1,
        };
        let Some(&(at, timing)) = block.get(timing_index) else {
            let end = first_at + first.len();
            return Err(problem(end..end, "the cue has no timing line".into()));
        };
        let (start, end) = parse_timing(timing, kind)
            .ok_or_else(|| problem(at..at + timing.len(), format!("\"{}\" is not a cue timing", timing.trim())))?;
        if end < start {
            return Err(problem(at..at + timing.len(), "the cue ends before it starts".into()));
        }
        if start < last_start {
            return Err(problem(at..at + timing.len(), "the cue starts before the cue above it".into()));
        }
        if let Some(total) = duration
            && end > total + SLACK_SECONDS
        {
            return Err(problem(
                at..at + timing.len(),
                format!("the cue ends at {end:.3} s, after the audio ends ({total:.3} s): is this the right file?"),
            ));
        }
        if kind == Kind::Srt && block.len() <= timing_index + 1 {
            return Err(problem(at..at + timing.len(), "the cue has no text".into()));
        }
        for &(at, line) in &block[timing_index + 1..] {
            if let Some((i, c)) = line.char_indices().find(|&(_, c)| crate::text::is_not_text(c)) {
                return Err(Problem {
                    span: at + i..at + i + c.len_utf8(),
                    message: format!("this text has {}", crate::text::not_text_name(c)),
                    hint: "delete it (it often comes in with text pasted from a terminal or a PDF)",
                });
            }
        }
        last_start = start;
        let said: Vec<String> = block[timing_index + 1..].iter().map(|(_, l)| strip_tags(l)).collect();
        cues.push(Cue { start, text: said.join(" ").trim().to_string() });
    }
    if cues.is_empty() {
        return Err(problem(0..0, "the transcript has no cues".into()));
    }
    Ok(cues)
}

/// A cue's line without its WebVTT tags (`<v Host>`, `<i>`).
fn strip_tags(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_tag = false;
    for c in line.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", " ")
}

/// Lines with the byte offset where each starts, without line endings.
fn lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut at = 0;
    for raw in text.split_inclusive('\n') {
        out.push((at, raw.trim_end_matches(['\n', '\r'])));
        at += raw.len();
    }
    out
}

/// Runs of non-blank lines.
fn blocks<'a>(lines: &[(usize, &'a str)]) -> Vec<Vec<(usize, &'a str)>> {
    let mut out: Vec<Vec<(usize, &str)>> = Vec::new();
    let mut current = Vec::new();
    for &(at, line) in lines {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push((at, line));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// `start --> end` (WebVTT may add cue settings after the end time).
fn parse_timing(line: &str, kind: Kind) -> Option<(f64, f64)> {
    let (start, rest) = line.split_once("-->")?;
    let end = rest.split_whitespace().next()?;
    Some((parse_time(start.trim(), kind)?, parse_time(end, kind)?))
}

/// SRT: `hh:mm:ss,ttt`. WebVTT: `[hh:]mm:ss.ttt`.
fn parse_time(text: &str, kind: Kind) -> Option<f64> {
    let (clock, millis) = text.split_once(if kind == Kind::Srt { ',' } else { '.' })?;
    if millis.len() != 3 || !millis.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let parts: Vec<&str> = clock.split(':').collect();
    let (h, m, s) = match (kind, parts.as_slice()) {
        (_, [h, m, s]) if h.len() >= 2 => (*h, *m, *s),
        (Kind::Vtt, [m, s]) => ("0", *m, *s),
        _ => return None,
    };
    if m.len() != 2 || s.len() != 2 {
        return None;
    }
    let (h, m, s, ms): (u64, u64, u64, u64) = (h.parse().ok()?, m.parse().ok()?, s.parse().ok()?, millis.parse().ok()?);
    if m > 59 || s > 59 {
        return None;
    }
    Some((h * 3600 + m * 60 + s) as f64 + ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VTT: &str = "WEBVTT\n\nNOTE made by hand\n\nintro\n00:00.000 --> 00:03.000\n<v Host>Hello.\n\n00:00:03.000 --> 00:00:06.000 align:start\nBye.\n";
    const SRT: &str =
        "1\r\n00:00:00,000 --> 00:00:03,000\r\nHello.\r\n\r\n2\r\n00:00:03,000 --> 00:00:06,000\r\nBye.\r\n";

    #[test]
    fn good_files_count_their_cues() {
        assert_eq!(check(VTT, Kind::Vtt, Some(6.1)).map(|c| c.len()), Ok(2));
        assert_eq!(check(SRT, Kind::Srt, Some(6.1)).map(|c| c.len()), Ok(2));
        assert_eq!(check(VTT, Kind::Vtt, None).unwrap()[0], Cue { start: 0.0, text: "Hello.".into() });
        let kind = |text: &str| Kind::of(&Source::parse("transcript", text).unwrap());
        assert_eq!(kind("https://cdn.example.com/9.VTT?x=1"), Some(Kind::Vtt));
        assert_eq!(kind("media/9.txt"), None);
        assert_eq!(kind("media/Episode 9 #1?.srt"), Some(Kind::Srt), "# and ? are part of a file's name");
    }

    #[test]
    fn a_control_character_in_a_cue_is_a_problem_at_its_place() {
        let text = "WEBVTT\n\n00:00.000 --> 00:01.000\nfine\nbell\u{7} here\n";
        let problem = check(text, Kind::Vtt, None).unwrap_err();
        assert_eq!(&text[problem.span.clone()], "\u{7}");
        assert_eq!(problem.message, "this text has an invisible control character (U+0007)");
        assert!(check("WEBVTT\n\n00:00.000 --> 00:01.000\ntab\there\n", Kind::Vtt, None).is_ok(), "a tab is text");
    }

    #[test]
    fn mistakes_point_at_their_line() {
        let at = |text: &str, kind| {
            let p = check(text, kind, Some(6.1)).unwrap_err();
            (text[..p.span.start].matches('\n').count() + 1, p.message)
        };
        assert_eq!(at("1\n00:00:00.000 --> 00:00:03,000\nHi\n", Kind::Srt).0, 2);
        assert_eq!(
            at("WEBVTT\n\n00:01.000 --> 00:00.500\nx\n", Kind::Vtt),
            (3, "the cue ends before it starts".into())
        );
        let (line, message) = at("WEBVTT\n\n00:01.000 --> 00:02.000\nx\n\n00:09.000 --> 00:10.000\ny\n", Kind::Vtt);
        assert_eq!(line, 6);
        assert!(message.contains("after the audio ends"), "{message}");
        assert_eq!(at("1\n00:00:00,000 --> 00:00:03,000\n", Kind::Srt).1, "the cue has no text");
        assert!(at("Hello\n", Kind::Vtt).1.contains("must start with the line WEBVTT"));
    }
}
