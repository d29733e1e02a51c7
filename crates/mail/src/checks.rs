//! Field checks that state exactly what the OpenAPI schemas admit, so what the document
//! accepts is accepted and what it refuses is refused.

use lettre::Address;
use lettre::message::Mailbox;
use loket_common::validate::{Validator, is_culture, is_email};

use crate::api::{CODE_MAX, EMAIL_MAX, HOST_MAX};

/// A name: at most `max` characters, no control characters, not only white space.
pub fn text(v: &mut Validator, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        v.fail(field, format!("must be at most {max} characters"));
    } else if value.chars().any(char::is_control) {
        v.fail(field, "must not contain control characters");
    } else if value.trim().is_empty() {
        v.fail(field, "must not be empty");
    }
}

/// Text of 1 to `max` characters without control characters (white space alone is allowed).
pub fn plain(v: &mut Validator, field: &str, value: &str, max: usize) {
    if value.is_empty() {
        v.fail(field, "must not be empty");
    } else if value.chars().count() > max {
        v.fail(field, format!("must be at most {max} characters"));
    } else if value.chars().any(char::is_control) {
        v.fail(field, "must not contain control characters");
    }
}

/// Text of at most `max` characters (anything else allowed).
pub fn long(v: &mut Validator, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        v.fail(field, format!("must be at most {max} characters"));
    }
}

/// An e-mail address: RFC 5322 dot-atom local part and a host name of letters, digits and
/// hyphens with a dot, that lettre also accepts. Returns the parsed address.
pub fn email(v: &mut Validator, field: &str, value: &str) -> Option<Address> {
    const ATEXT: &str = "!#$%&'*+-/=?^_`{|}~";
    let strict = value.len() <= EMAIL_MAX
        && is_email(value)
        && value.split_once('@').is_some_and(|(local, domain)| {
            local.split('.').all(|atom| {
                !atom.is_empty()
                    && atom
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || ATEXT.contains(c))
            }) && is_host(domain)
        });
    match strict.then(|| value.parse::<Address>().ok()).flatten() {
        Some(a) => Some(a),
        None => {
            v.fail(field, "must be an e-mail address");
            None
        }
    }
}

/// Whether `s` is a host name (or IPv4 address): dot-separated labels of ASCII letters, digits
/// and inner hyphens, each at most 63 characters, at most 253 in all.
pub fn is_host(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= HOST_MAX
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// A host name field.
pub fn host(v: &mut Validator, field: &str, value: &str) {
    if !is_host(value) {
        v.fail(
            field,
            "must be a host name such as smtp.example.org, or an IPv4 address",
        );
    }
}

/// A TCP port, 1 to 65535.
pub fn port(v: &mut Validator, field: &str, value: i64) -> u16 {
    match u16::try_from(value) {
        Ok(p) if p > 0 => p,
        _ => {
            v.fail(field, "must be between 1 and 65535");
            0
        }
    }
}

/// A culture code such as `nl-NL`.
pub fn culture(v: &mut Validator, field: &str, value: &str) {
    if !is_culture(value) {
        v.fail(field, "must be a culture code such as `nl-NL`");
    }
}

/// Whether `s` is a template code.
pub fn is_code(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= CODE_MAX
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A template code field.
pub fn code(v: &mut Validator, field: &str, value: &str) {
    if !is_code(value) {
        v.fail(
            field,
            format!(
                "must be 1 to {CODE_MAX} letters, digits, `.`, `_` or `-`, starting with a letter or digit"
            ),
        );
    }
}

/// An integer within `min..=max`.
pub fn range(v: &mut Validator, field: &str, value: i64, min: i64, max: i64) -> i32 {
    if (min..=max).contains(&value) {
        i32::try_from(value).unwrap_or(0)
    } else {
        v.fail(field, format!("must be between {min} and {max}"));
        0
    }
}

/// How a sender appears in `From`: `Name <address>`, quoted where needed.
pub fn display(name: &str, address: &str) -> String {
    match address.parse::<Address>() {
        Ok(a) => Mailbox::new(Some(name.to_owned()), a).to_string(),
        Err(_) => format!("{name} <{address}>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_codes() {
        assert!(is_host("smtp.office365.com"));
        assert!(is_host("127.0.0.1"));
        assert!(is_host("localhost"));
        assert!(!is_host("-bad.example"));
        assert!(!is_host("a..b"));
        assert!(!is_host("smtp.example.org:25"));
        assert!(is_code("AssignmentSignalDocument"));
        assert!(!is_code("-x"));
        assert!(!is_code("a b"));
    }

    #[test]
    fn emails_are_strict_and_parse() {
        let mut v = Validator::new();
        assert!(email(&mut v, "a", "anna.de-vries+x@example.org").is_some());
        assert!(email(&mut v, "b", "a@b").is_none());
        assert!(email(&mut v, "c", "\"q\"@example.org").is_none());
        assert_eq!(v.finish().unwrap_err().invalid_params.len(), 2);
    }

    #[test]
    fn display_quotes_where_needed() {
        assert_eq!(
            display("Loket", "noreply@example.org"),
            "Loket <noreply@example.org>"
        );
        assert!(display("De Vries, Anna", "a@example.org").starts_with('"'));
    }
}
