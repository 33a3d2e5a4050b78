//! Per-recipient text without re-rendering: a template is rendered once with
//! markers where the recipient's values go, then split at the markers; each
//! recipient's copy is the parts joined with their values. This keeps the
//! per-recipient cost to string concatenation (the send loop is the hot path).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use minijinja::value::{Enumerator, Object, Value};

/// A value about the recipient that a template asked for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Var {
    Email,
    Name,
    FirstName,
    UnsubscribeUrl,
    PreferencesUrl,
    Field(String),
}

/// One recipient's values.
#[derive(Debug, Clone, Default)]
pub struct Recipient {
    pub email: String,
    pub name: String,
    pub fields: BTreeMap<String, String>,
    pub unsubscribe_url: String,
    /// Their preferences page (the name, leaving).
    pub preferences_url: String,
}

impl Recipient {
    fn value(&self, var: &Var) -> &str {
        match var {
            Var::Email => &self.email,
            Var::Name => &self.name,
            Var::FirstName => self.name.split_whitespace().next().unwrap_or(""),
            Var::UnsubscribeUrl => &self.unsubscribe_url,
            Var::PreferencesUrl => &self.preferences_url,
            Var::Field(key) => self.fields.get(key).map_or("", String::as_str),
        }
    }
}

/// Markers are plain ASCII letters and digits so that HTML escaping, CSS
/// inlining and line wrapping leave them whole.
const MARK: &str = "zqxRCPT";

/// The `recipient` object templates see while the markers are being placed.
#[derive(Debug, Default)]
pub struct MarkerRecipient {
    vars: Mutex<Vec<Var>>,
}

impl MarkerRecipient {
    pub fn new() -> Arc<MarkerRecipient> {
        Arc::new(MarkerRecipient::default())
    }

    fn marker(&self, var: Var) -> Value {
        let mut vars = self.vars.lock().expect("marker table lock");
        let index = vars.iter().position(|v| *v == var).unwrap_or_else(|| {
            vars.push(var);
            vars.len() - 1
        });
        Value::from(format!("{MARK}{index}{MARK}"))
    }

    /// The variables handed out, by marker index.
    pub fn vars(&self) -> Vec<Var> {
        self.vars.lock().expect("marker table lock").clone()
    }
}

impl Object for MarkerRecipient {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let var = match key.as_str()? {
            "email" => Var::Email,
            "name" => Var::Name,
            "first_name" => Var::FirstName,
            "unsubscribe_url" => Var::UnsubscribeUrl,
            "preferences_url" => Var::PreferencesUrl,
            "fields" => return Some(Value::from_object(FieldMarkers(Arc::clone(self)))),
            _ => return None,
        };
        Some(self.marker(var))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&["email", "name", "first_name", "unsubscribe_url", "preferences_url", "fields"])
    }
}

/// `recipient.fields`: any key yields a marker (a missing field becomes "").
#[derive(Debug)]
struct FieldMarkers(Arc<MarkerRecipient>);

impl Object for FieldMarkers {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(self.0.marker(Var::Field(key.as_str()?.to_string())))
    }
}

/// How a recipient's value is written into the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    Html,
    None,
}

/// A rendered text with holes for the recipient's values.
#[derive(Debug, Clone)]
pub struct Personal {
    /// Literal text and holes, alternating as found.
    parts: Vec<Part>,
    /// The same parts with the literal text already quoted-printable encoded,
    /// each piece ending in a soft line break so the next starts a fresh line.
    encoded: Vec<Part>,
    escape: Escape,
    literal_len: usize,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Hole(Var),
}

impl Personal {
    /// Splits `rendered` at the markers of `vars`.
    pub fn new(rendered: &str, vars: &[Var], escape: Escape) -> Personal {
        let mut parts = Vec::new();
        let mut rest = rendered;
        while let Some(start) = rest.find(MARK) {
            let after = &rest[start + MARK.len()..];
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            let index = after[..digits].parse::<usize>().ok();
            match index.and_then(|i| vars.get(i)).filter(|_| after[digits..].starts_with(MARK)) {
                Some(var) => {
                    parts.push(Part::Text(rest[..start].to_string()));
                    parts.push(Part::Hole(var.clone()));
                    rest = &after[digits + MARK.len()..];
                }
                None => {
                    parts.push(Part::Text(rest[..start + MARK.len()].to_string()));
                    rest = after;
                }
            }
        }
        parts.push(Part::Text(rest.to_string()));
        let literal_len = parts.iter().map(|p| if let Part::Text(t) = p { t.len() } else { 0 }).sum();
        let encoded = parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => Part::Text(quoted_printable_piece(t)),
                Part::Hole(v) => Part::Hole(v.clone()),
            })
            .collect();
        Personal { parts, encoded, escape, literal_len }
    }

    /// The text for one recipient, quoted-printable encoded (CRLF line ends),
    /// ready to be a MIME part's body: only the recipient's values are encoded
    /// per message, the rest was encoded once.
    pub fn fill_quoted_printable(&self, recipient: &Recipient) -> Vec<u8> {
        let mut out = String::with_capacity(self.literal_len * 11 / 10 + 512);
        self.push_quoted_printable(recipient, &mut out);
        out.into_bytes()
    }

    /// The length of the text between the recipient's values.
    pub fn literal_len(&self) -> usize {
        self.literal_len
    }

    /// [`Personal::fill_quoted_printable`], appended to `out`.
    pub fn push_quoted_printable(&self, recipient: &Recipient, out: &mut String) {
        let start = out.len();
        let mut value = String::new();
        for part in &self.encoded {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Hole(var) => {
                    value.clear();
                    match self.escape {
                        Escape::Html => crate::text::push_escaped_html(&mut value, recipient.value(var)),
                        Escape::None => value.push_str(recipient.value(var)),
                    }
                    out.push_str(&quoted_printable_piece(&value));
                }
            }
        }
        if out.len() - start >= 3 && out.ends_with("=\r\n") {
            out.truncate(out.len() - 3);
        }
    }

    /// The text for one recipient.
    pub fn fill(&self, recipient: &Recipient) -> String {
        let mut out = String::with_capacity(self.literal_len + 256);
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Hole(var) => {
                    let value = recipient.value(var);
                    match self.escape {
                        Escape::Html => crate::text::push_escaped_html(&mut out, value),
                        Escape::None => out.push_str(value),
                    }
                }
            }
        }
        out
    }
}

/// Quoted-printable encoding of one piece of a body, ending at a line end: a
/// hard one if the piece ends with a line break, else a soft one ("=" CRLF,
/// which decodes to nothing), so that pieces can be joined as they are.
fn quoted_printable_piece(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    let mut encoded = quoted_printable::encode_to_str(crlf);
    if !encoded.ends_with("\r\n") {
        encoded.push_str("=\r\n");
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_become_each_recipients_values() {
        let markers = MarkerRecipient::new();
        let mut env = minijinja::Environment::new();
        env.add_template("t.html", "Hi {{ recipient.first_name }} ({{ recipient.fields.company }}) <a href=\"{{ recipient.unsubscribe_url }}\">x</a>").unwrap();
        let rendered = env
            .get_template("t.html")
            .unwrap()
            .render(minijinja::context! { recipient => Value::from_dyn_object(markers.clone()) })
            .unwrap();
        let personal = Personal::new(&rendered, &markers.vars(), Escape::Html);
        let mut r = Recipient {
            email: "a@example.com".into(),
            name: "Ada <Lovelace>".into(),
            unsubscribe_url: "https://e.com/u?t=a&b".into(),
            ..Default::default()
        };
        r.fields.insert("company".into(), "O'Reilly".into());
        assert_eq!(personal.fill(&r), "Hi Ada (O&#39;Reilly) <a href=\"https://e.com/u?t=a&amp;b\">x</a>");
        let nobody = Recipient::default();
        assert_eq!(personal.fill(&nobody), "Hi  () <a href=\"\">x</a>");
    }

    #[test]
    fn quoted_printable_pieces_decode_to_the_filled_text() {
        let text = format!("Hello {MARK}0{MARK}, caf\u{e9} {}\nnext line with = sign\n", "long ".repeat(40));
        let p = Personal::new(&text, &[Var::Name], Escape::Html);
        let r = Recipient { name: "Zo\u{eb} <Z>".into(), ..Default::default() };
        let encoded = p.fill_quoted_printable(&r);
        assert!(encoded.split(|&b| b == b'\n').all(|line| line.len() <= 78), "lines stay short");
        assert!(encoded.is_ascii());
        let decoded = quoted_printable::decode(&encoded, quoted_printable::ParseMode::Strict).unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), p.fill(&r).replace('\n', "\r\n"));
    }

    #[test]
    fn text_that_looks_like_a_marker_is_kept() {
        let p = Personal::new("a zqxRCPT9zqxRCPT b zqxRCPT", &[Var::Email], Escape::None);
        assert_eq!(p.fill(&Recipient::default()), "a zqxRCPT9zqxRCPT b zqxRCPT");
    }
}
