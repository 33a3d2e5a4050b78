//! Which issues are due, and what state each scheduled issue is in. Pure:
//! the caller passes "now" (one clock, `--now` for users and tests) and what
//! the ledger says.

use jiff::{SignedDuration, Timestamp};

/// What the send ledger says of an issue, as far as the schedule cares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// A send of it has begun.
    pub started: bool,
    pub pending: u64,
    pub failed: u64,
}

/// Where a scheduled issue stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// `send_at` is in the future.
    Scheduled,
    /// Due, not started: the next `publish cron` sends it.
    Due,
    /// Started, recipients still pending: `publish cron` resumes it.
    Sending,
    /// Everyone sent to.
    Sent,
    /// Everyone tried; some failed.
    Failed,
    /// More than `max_late` past its time and never started: waits for a human.
    Stale,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Scheduled => "scheduled",
            State::Due => "due",
            State::Sending => "sending",
            State::Sent => "sent",
            State::Failed => "sent, some failed",
            State::Stale => "stale",
        }
    }

    /// Whether `publish cron` sends (or resumes) it now.
    pub fn cron_sends(self) -> bool {
        matches!(self, State::Due | State::Sending)
    }
}

/// A time for people, in the publication's zone with its offset, and the
/// zone's abbreviation when it has one: "Sun 2024-11-03 01:30 -04:00 EDT"
/// (the offset tells the two 01:30s of a clock going back apart).
pub fn shown(t: Timestamp, tz: &jiff::tz::TimeZone) -> String {
    let zoned = t.to_zoned(tz.clone());
    let abbreviation = zoned.strftime("%Z").to_string();
    let mut text = zoned.strftime("%a %Y-%m-%d %H:%M %:z").to_string();
    if abbreviation.chars().any(|c| c.is_ascii_alphabetic()) && abbreviation != "UTC" {
        text = format!("{text} {abbreviation}");
    }
    text
}

/// A time for programs: RFC 3339 with the offset of the publication's zone.
pub fn rfc3339(t: Timestamp, tz: &jiff::tz::TimeZone) -> String {
    t.to_zoned(tz.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// The state of an issue due at `send_at`, given where its send stands.
pub fn state(send_at: Timestamp, now: Timestamp, max_late: SignedDuration, counts: Progress) -> State {
    if counts.started {
        return if counts.pending > 0 {
            State::Sending
        } else if counts.failed > 0 {
            State::Failed
        } else {
            State::Sent
        };
    }
    if now < send_at {
        State::Scheduled
    } else if now.duration_since(send_at) > max_late {
        State::Stale
    } else {
        State::Due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn before_at_and_long_after_send_at() {
        let send_at = at("2024-03-01T01:00:00Z");
        let six_hours = SignedDuration::from_hours(6);
        let fresh = Progress::default();
        assert_eq!(state(send_at, at("2024-03-01T00:59:59Z"), six_hours, fresh), State::Scheduled);
        assert_eq!(state(send_at, at("2024-03-01T01:00:00Z"), six_hours, fresh), State::Due);
        assert_eq!(state(send_at, at("2024-03-01T07:00:00Z"), six_hours, fresh), State::Due);
        assert_eq!(state(send_at, at("2024-03-01T07:00:01Z"), six_hours, fresh), State::Stale);
        let half = Progress { started: true, pending: 5, failed: 0 };
        assert_eq!(
            state(send_at, at("2024-03-09T00:00:00Z"), six_hours, half),
            State::Sending,
            "a started send is resumed however late"
        );
        let done = Progress { started: true, pending: 0, failed: 0 };
        assert_eq!(state(send_at, at("2024-03-01T02:00:00Z"), six_hours, done), State::Sent);
        assert!(!State::Sent.cron_sends() && !State::Stale.cron_sends() && State::Due.cron_sends());
    }

    #[test]
    fn times_are_shown_with_their_offset_so_a_repeated_hour_is_told_apart() {
        let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();
        assert_eq!(shown(at("2024-11-03T05:30:00Z"), &ny), "Sun 2024-11-03 01:30 -04:00 EDT");
        assert_eq!(shown(at("2024-11-03T06:30:00Z"), &ny), "Sun 2024-11-03 01:30 -05:00 EST");
        let sg = jiff::tz::TimeZone::get("Asia/Singapore").unwrap();
        assert_eq!(shown(at("2024-03-01T01:00:00Z"), &sg), "Fri 2024-03-01 09:00 +08:00");
        assert_eq!(shown(at("2024-03-01T01:00:00Z"), &jiff::tz::TimeZone::UTC), "Fri 2024-03-01 01:00 +00:00");
        assert_eq!(rfc3339(at("2024-11-03T06:30:00Z"), &ny), "2024-11-03T01:30:00-05:00");
    }
}
