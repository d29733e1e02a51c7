//! Small field validators shared by the domains. Each collects into a list of invalid fields so
//! a request reports all its problems at once.

use crate::{Error, InvalidParam, Result};

/// Collects invalid fields of one request.
#[derive(Debug, Default)]
pub struct Validator {
    invalid: Vec<InvalidParam>,
}

impl Validator {
    /// An empty validator.
    pub fn new() -> Self {
        Validator::default()
    }

    /// Records an invalid field.
    pub fn fail(&mut self, name: &str, reason: impl Into<String>) {
        self.invalid.push(InvalidParam {
            name: name.to_owned(),
            reason: reason.into(),
        });
    }

    /// A trimmed, non-empty text of at most `max` characters.
    pub fn text(&mut self, name: &str, value: &str, max: usize) {
        let t = value.trim();
        if t.is_empty() {
            self.fail(name, "must not be empty");
        } else if t.chars().count() > max {
            self.fail(name, format!("must be at most {max} characters"));
        } else if t.chars().any(char::is_control) {
            self.fail(name, "must not contain control characters");
        }
    }

    /// A plausible e-mail address (one `@`, a dot in the domain, no spaces), at most 254 bytes.
    pub fn email(&mut self, name: &str, value: &str) {
        if !is_email(value) {
            self.fail(name, "must be an e-mail address");
        }
    }

    /// A culture code such as `nl-NL` or `en-GB`.
    pub fn culture(&mut self, name: &str, value: &str) {
        if !is_culture(value) {
            self.fail(name, "must be a culture code such as `nl-NL`");
        }
    }

    /// `Ok` when every field passed, else `422 validation-failed` naming each field.
    pub fn finish(self) -> Result<()> {
        if self.invalid.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_fields(self.invalid))
        }
    }
}

/// Whether `s` looks like an e-mail address.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        && !domain.contains('@')
}

/// Whether `s` is a culture code: two lowercase letters, a dash, two uppercase letters.
pub fn is_culture(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 5
        && b[0].is_ascii_lowercase()
        && b[1].is_ascii_lowercase()
        && b[2] == b'-'
        && b[3].is_ascii_uppercase()
        && b[4].is_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_invalid_field() {
        let mut v = Validator::new();
        v.text("name", "  ", 10);
        v.email("email", "not-an-address");
        v.culture("language", "dutch");
        let e = v.finish().unwrap_err();
        let names: Vec<_> = e.invalid_params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["name", "email", "language"]);
    }

    #[test]
    fn accepts_good_values() {
        assert!(is_email("a.b@example.org"));
        assert!(is_culture("be-NL"));
        assert!(!is_email("a@b"));
    }
}
