//! Field checks shared by the agenda domains. Each matches the `maxLength`/`pattern` the OpenAPI
//! document states for the field, so what the document admits is accepted and what it refuses
//! is refused (the contract test holds both ways).

use chrono::{DateTime, Duration, Utc};
use loket_common::validate::{Validator, is_culture, is_email};
use serde::{Deserialize, Deserializer};

/// Longest name, title or single-line text.
pub const NAME_MAX: usize = 200;
/// Longest free text (notes, descriptions, reasons).
pub const NOTES_MAX: usize = 2000;
/// Longest e-mail address (bytes, RFC 5321).
pub const EMAIL_MAX: usize = 254;

/// The `pattern` of a single-line text: no control characters, not only white space.
pub const TEXT_PATTERN: &str = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$";
/// The `pattern` of free text: no control characters except tab and line breaks.
pub const NOTES_PATTERN: &str = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$";
/// The `pattern` of a mobile number: an optional `+` and 6 to 15 digits.
pub const MOBILE_PATTERN: &str = r"^\+?[0-9]{6,15}$";
/// The `pattern` of a culture code.
pub const CULTURE_PATTERN: &str = r"^[a-z]{2}-[A-Z]{2}$";

/// A single-line text of at most `max` characters, not only white space.
pub fn text(v: &mut Validator, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        v.fail(field, format!("must be at most {max} characters"));
    } else if value.chars().any(char::is_control) {
        v.fail(field, "must not contain control characters");
    } else if value.trim().is_empty() {
        v.fail(field, "must not be empty");
    }
}

/// Free text of at most `max` characters; tabs and line breaks are allowed, may be empty.
pub fn notes(v: &mut Validator, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        v.fail(field, format!("must be at most {max} characters"));
    } else if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        v.fail(
            field,
            "must not contain control characters other than tab and line breaks",
        );
    }
}

/// An e-mail address: RFC 5322 dot-atom local part and a host name of letters, digits and
/// hyphens, with a dot (the same check as for users).
pub fn email(v: &mut Validator, field: &str, value: &str) {
    const ATEXT: &str = "!#$%&'*+-/=?^_`{|}~";
    let strict = value.len() <= EMAIL_MAX
        && is_email(value)
        && value.split_once('@').is_some_and(|(local, domain)| {
            local.split('.').all(|atom| {
                !atom.is_empty()
                    && atom
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || ATEXT.contains(c))
            }) && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
        });
    if !strict {
        v.fail(field, "must be an e-mail address");
    }
}

/// A mobile number: an optional `+` and 6 to 15 digits ([`MOBILE_PATTERN`]).
pub fn mobile(v: &mut Validator, field: &str, value: &str) {
    let digits = value.strip_prefix('+').unwrap_or(value);
    if !(6..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        v.fail(
            field,
            "must be a phone number: an optional `+` and 6 to 15 digits",
        );
    }
}

/// A culture code such as `nl-NL`.
pub fn culture(v: &mut Validator, field: &str, value: &str) {
    if !is_culture(value) {
        v.fail(field, "must be a culture code such as `nl-NL`");
    }
}

/// `t + minutes`, or `None` when that leaves the representable range.
pub fn plus_minutes(t: DateTime<Utc>, minutes: i64) -> Option<DateTime<Utc>> {
    t.checked_add_signed(Duration::try_minutes(minutes)?)
}

/// Trims a single-line text for storage.
pub fn clean(value: &str) -> String {
    value.trim().to_owned()
}

/// Deserializes a PATCH field that may be absent (`None`: unchanged), `null` (`Some(None)`:
/// cleared) or a value (`Some(Some(v))`). Use with `#[serde(default, deserialize_with = ...)]`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_follow_their_patterns() {
        let mut v = Validator::new();
        text(&mut v, "a", "  ", 10);
        text(&mut v, "b", "x\ny", 10);
        notes(&mut v, "c", "line one\nline two", 100);
        notes(&mut v, "d", "bell\u{7}", 100);
        mobile(&mut v, "e", "+31612345678");
        mobile(&mut v, "f", "06-1234");
        email(&mut v, "g", "a.b@example.org");
        email(&mut v, "h", "a..b@example.org");
        let e = v.finish().unwrap_err();
        let names: Vec<_> = e.invalid_params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "d", "f", "h"]);
    }

    #[test]
    fn time_arithmetic_never_overflows() {
        assert!(plus_minutes(DateTime::<Utc>::MAX_UTC, 10).is_none());
    }
}

/// Integer fields that also take integral JSON numbers written as floats (`30.0`), as JSON
/// Schema's `integer` does. Use with `#[serde(deserialize_with = ...)]`.
pub mod int {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Num {
        I(i64),
        U(u64),
        F(f64),
    }

    fn integral<'de, D: Deserializer<'de>>(n: Num) -> Result<i128, D::Error> {
        match n {
            Num::I(i) => Ok(i128::from(i)),
            Num::U(u) => Ok(i128::from(u)),
            Num::F(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Ok(f as i128),
            Num::F(f) => Err(D::Error::custom(format!(
                "invalid value: {f}, expected an integer"
            ))),
        }
    }

    fn ranged<'de, D: Deserializer<'de>, T: TryFrom<i128>>(n: Num) -> Result<T, D::Error> {
        let i = integral::<D>(n)?;
        T::try_from(i).map_err(|_| D::Error::custom(format!("invalid value: {i} is out of range")))
    }

    /// A `u32`.
    pub fn u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        ranged::<D, u32>(Num::deserialize(d)?)
    }

    /// An optional `u32` (`null` is `None`).
    pub fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        Option::<Num>::deserialize(d)?
            .map(ranged::<D, u32>)
            .transpose()
    }

    /// An optional `i64` (`null` is `None`).
    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Option::<Num>::deserialize(d)?
            .map(ranged::<D, i64>)
            .transpose()
    }

    #[cfg(test)]
    mod tests {
        #[derive(Debug, serde::Deserialize)]
        struct T {
            #[serde(deserialize_with = "super::u32")]
            a: u32,
            #[serde(default, deserialize_with = "super::opt_i64")]
            b: Option<i64>,
        }

        #[test]
        fn integral_floats_are_integers() {
            let t: T = serde_json::from_str(r#"{"a": 30.0, "b": -5}"#).unwrap();
            assert_eq!((t.a, t.b), (30, Some(-5)));
            let t: T = serde_json::from_str(r#"{"a": 1, "b": null}"#).unwrap();
            assert_eq!(t.b, None);
            let t: T = serde_json::from_str(r#"{"a": 1}"#).unwrap();
            assert_eq!(t.b, None);
            assert!(serde_json::from_str::<T>(r#"{"a": 30.5}"#).is_err());
            assert!(serde_json::from_str::<T>(r#"{"a": -1}"#).is_err());
            assert!(serde_json::from_str::<T>(r#"{"a": "1"}"#).is_err());
            assert!(serde_json::from_str::<T>(r#"{"a": 1e300}"#).is_err());
        }
    }
}
