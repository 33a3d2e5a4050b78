//! Durations as people write them in settings and URLs: "6h", "90m", "1h30m".

use jiff::SignedDuration;
use serde::{Deserialize, Deserializer};

/// A duration from a settings file, parsed once when the file is read. A
/// value that does not parse is kept as written, for `publish check` to point
/// at; a publication whose settings have errors is never handed to a command
/// (see `Workspace::config`), so what runs always has [`Duration::get`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duration {
    text: String,
    value: Option<SignedDuration>,
}

impl Duration {
    pub fn new(text: &str) -> Duration {
        Duration { text: text.to_string(), value: parse_duration(text) }
    }

    /// Whether it parsed.
    pub fn is_valid(&self) -> bool {
        self.value.is_some()
    }

    /// The value (zero for one that did not parse, which `check` reports).
    pub fn get(&self) -> SignedDuration {
        self.value.unwrap_or(SignedDuration::ZERO)
    }
}

impl std::fmt::Display for Duration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        Ok(Duration::new(&String::deserialize(deserializer)?))
    }
}

/// Parses "6h", "90m", "2d", "45s", "500ms" or combinations like "1h30m".
pub fn parse_duration(text: &str) -> Option<jiff::SignedDuration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total_ms: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let letters = rest[digits..].bytes().take_while(u8::is_ascii_alphabetic).count();
        if digits == 0 || letters == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        let unit_ms = match &rest[digits..digits + letters] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return None,
        };
        total_ms = total_ms.checked_add(n.checked_mul(unit_ms)?)?;
        rest = &rest[digits + letters..];
    }
    Some(jiff::SignedDuration::from_millis(total_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("6h"), Some(jiff::SignedDuration::from_hours(6)));
        assert_eq!(parse_duration("1h30m"), Some(jiff::SignedDuration::from_mins(90)));
        assert_eq!(parse_duration("6"), None);
        assert_eq!(parse_duration("6x"), None);
        assert_eq!(parse_duration("250ms"), Some(jiff::SignedDuration::from_millis(250)));
        assert_eq!(parse_duration(""), None);
    }
}
