//! `sponsors.toml`: who sponsors which issue.
//!
//! An issue names its sponsor by id, says `"none"`, or leaves it out: then the
//! sponsors whose flight dates cover the date take turns by issue number.

use jiff::civil::Date;
use serde::Deserialize;

use crate::diag::{Diagnostics, Severity};
use crate::text::url::check_web_url;
use crate::workspace::content::markdown_check::report_bad_links;
use crate::workspace::content::toml_file::{Seg, TomlFile};

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SponsorsFile {
    /// One `[[sponsor]]` table each.
    #[serde(default)]
    pub sponsor: Vec<Sponsor>,
}

/// One sponsor and its flight.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sponsor {
    /// What issues call it by: `sponsor = "esevel"`.
    pub id: String,
    /// The sponsor's name, as readers see it.
    pub name: String,
    /// Where the sponsor block links to.
    pub url: String,
    /// The ad copy, in Markdown.
    pub copy: String,
    /// A code readers quote ("ASIA").
    pub referral_code: Option<String>,
    /// What the code gets them ("3 months free").
    pub offer: Option<String>,
    /// The small print ("Terms and conditions apply.").
    pub terms: Option<String>,
    /// The call to action on the button ("Get a demo").
    pub cta: Option<String>,
    /// The first day of the flight.
    pub start: Option<toml::value::Datetime>,
    /// The last day of the flight.
    pub end: Option<toml::value::Datetime>,
}

/// Sponsors, checked.
#[derive(Debug, Clone, Default)]
pub struct Sponsors {
    pub list: Vec<Sponsor>,
}

/// What an issue says about its sponsor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SponsorChoice {
    /// `sponsor = "id"`.
    Named(String),
    /// `sponsor = "none"`.
    None,
    /// No `sponsor` key: rotate among the sponsors in flight.
    Auto,
}

impl Sponsors {
    /// Validates the parsed file.
    pub fn new(file: SponsorsFile, toml: &TomlFile, diags: &mut Diagnostics) -> Sponsors {
        for (i, s) in file.sponsor.iter().enumerate() {
            let at = |key| [Seg::Key("sponsor"), Seg::Index(i), Seg::Key(key)];
            if s.id.trim().is_empty() || s.id == "none" || s.id.contains(char::is_whitespace) {
                diags.push(
                    toml.diag_at(Severity::Error, &at("id"), format!("\"{}\" cannot be a sponsor id", s.id))
                        .with_hint("use a short word such as \"esevel\""),
                );
            }
            if file.sponsor[..i].iter().any(|o| o.id == s.id) {
                diags.push(
                    toml.diag_at(Severity::Error, &at("id"), format!("sponsor id \"{}\" is used twice", s.id))
                        .with_hint("give each sponsor its own id"),
                );
            }
            // Blank text would show as "Sponsored by " or an empty button.
            let blank = [
                ("name", Some(&s.name), "write the name readers know the sponsor by"),
                ("copy", Some(&s.copy), "write the ad copy, in Markdown"),
                ("cta", s.cta.as_ref(), "write the button's words (\"Get a demo\"), or remove the line"),
                ("referral_code", s.referral_code.as_ref(), "write the code, or remove the line"),
                ("offer", s.offer.as_ref(), "write what the code gets readers, or remove the line"),
                ("terms", s.terms.as_ref(), "write the small print, or remove the line"),
            ];
            for (key, text, hint) in blank {
                if text.is_some_and(|t| t.trim().is_empty()) {
                    diags.push(toml.diag_at(Severity::Error, &at(key), format!("{key} is empty")).with_hint(hint));
                }
            }
            if let Err(why) = check_web_url(&s.url) {
                diags.push(
                    toml.diag_at(Severity::Error, &at("url"), format!("not a web address: {why}"))
                        .with_hint("write it as https://..."),
                );
            }
            report_bad_links(&s.copy, toml, &at("copy"), "links must start with https:// or mailto:", diags);
            let start = date_of(s.start.as_ref());
            let end = date_of(s.end.as_ref());
            for (key, raw, parsed) in [("start", &s.start, start), ("end", &s.end, end)] {
                if raw.is_some() && parsed.is_none() {
                    diags.push(
                        toml.diag_at(Severity::Error, &at(key), "a flight date must be a plain date")
                            .with_hint("write it as 2024-03-01, without quotes"),
                    );
                }
            }
            if let (Some(start), Some(end)) = (start, end)
                && end < start
            {
                diags.push(
                    toml.diag_at(
                        Severity::Error,
                        &at("end"),
                        format!("the flight ends ({end}) before it starts ({start})"),
                    )
                    .with_hint("swap the dates"),
                );
            }
        }
        Sponsors { list: file.sponsor }
    }

    pub fn get(&self, id: &str) -> Option<&Sponsor> {
        self.list.iter().find(|s| s.id == id)
    }

    /// The ids, for "known sponsors are …" hints.
    pub fn ids(&self) -> Vec<&str> {
        self.list.iter().map(|s| s.id.as_str()).collect()
    }

    /// The sponsor of issue `number`, dated `date`.
    pub fn choose(&self, choice: &SponsorChoice, number: u32, date: Date) -> Option<&Sponsor> {
        match choice {
            SponsorChoice::Named(id) => self.get(id),
            SponsorChoice::None => None,
            SponsorChoice::Auto => {
                let active: Vec<&Sponsor> = self.list.iter().filter(|s| s.in_flight(date)).collect();
                (!active.is_empty()).then(|| active[number as usize % active.len()])
            }
        }
    }
}

impl Sponsor {
    /// Whether the flight covers `date` (open-ended on a side with no date).
    pub fn in_flight(&self, date: Date) -> bool {
        let after_start = date_of(self.start.as_ref()).is_none_or(|s| date >= s);
        let before_end = date_of(self.end.as_ref()).is_none_or(|e| date <= e);
        after_start && before_end
    }
}

/// A TOML local date as a civil date.
pub fn date_of(value: Option<&toml::value::Datetime>) -> Option<Date> {
    let value = value?;
    if value.time.is_some() || value.offset.is_some() {
        return None;
    }
    let d = value.date?;
    Date::new(d.year as i16, d.month as i8, d.day as i8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sponsor(id: &str, start: &str, end: &str) -> Sponsor {
        toml::from_str(&format!(
            "id = \"{id}\"\nname = \"N\"\nurl = \"https://e.com\"\ncopy = \"c\"\nstart = {start}\nend = {end}\n"
        ))
        .unwrap()
    }

    #[test]
    fn rotation_takes_turns_among_sponsors_in_flight() {
        let sponsors = Sponsors {
            list: vec![
                sponsor("a", "2024-01-01", "2024-12-31"),
                sponsor("b", "2024-03-01", "2024-03-31"),
                sponsor("c", "2025-01-01", "2025-12-31"),
            ],
        };
        let march = Date::new(2024, 3, 8).unwrap();
        let may = Date::new(2024, 5, 8).unwrap();
        assert_eq!(sponsors.choose(&SponsorChoice::Auto, 9, march).unwrap().id, "b");
        assert_eq!(sponsors.choose(&SponsorChoice::Auto, 10, march).unwrap().id, "a");
        assert_eq!(sponsors.choose(&SponsorChoice::Auto, 9, may).unwrap().id, "a");
        assert!(sponsors.choose(&SponsorChoice::Auto, 9, Date::new(2023, 1, 1).unwrap()).is_none());
        assert!(sponsors.choose(&SponsorChoice::None, 9, march).is_none());
        assert_eq!(sponsors.choose(&SponsorChoice::Named("c".into()), 9, march).unwrap().id, "c");
    }
}
