//! Ticket numbers (`TXH-PSCHP-612`): three random uppercase letters, five random uppercase
//! letters and three random digits, drawn from the operating system's RNG so they are hard to
//! guess. Uniqueness across the installation is the database's job (unique index on `number`);
//! the service retries on a collision.
//!
//! R-THREAD: a reply quoting `[TXH-PSCHP-612]` in its subject threads into that ticket;
//! [`find_in_subject`] extracts the tag.

use std::fmt;
use std::str::FromStr;

use rand::rngs::OsRng;
use rand::{Rng, TryRngCore};

/// A syntactically valid ticket number (`^[A-Z]{3}-[A-Z]{5}-[0-9]{3}$`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketNumber(String);

/// The input is not a ticket number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a ticket number (expected ABC-DEFGH-123)")]
pub struct InvalidNumber;

const LEN: usize = 13;

impl TicketNumber {
    /// A new random number from the OS RNG.
    #[must_use]
    pub fn generate() -> Self {
        let mut rng = OsRng.unwrap_err();
        let mut s = String::with_capacity(LEN);
        for i in 0..LEN {
            match i {
                3 | 9 => s.push('-'),
                10..=12 => s.push(char::from(b'0' + rng.random_range(0..10u8))),
                _ => s.push(char::from(b'A' + rng.random_range(0..26u8))),
            }
        }
        Self(s)
    }

    /// Parses a number; surrounding whitespace is not accepted.
    ///
    /// # Errors
    /// [`InvalidNumber`] when `s` does not match `^[A-Z]{3}-[A-Z]{5}-[0-9]{3}$`.
    pub fn parse(s: &str) -> Result<Self, InvalidNumber> {
        if is_number(s.as_bytes()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidNumber)
        }
    }

    /// The number as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as a subject tag (`[TXH-PSCHP-612]`).
    #[must_use]
    pub fn tag(&self) -> String {
        format!("[{}]", self.0)
    }
}

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TicketNumber {
    type Err = InvalidNumber;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for TicketNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

fn is_number(b: &[u8]) -> bool {
    b.len() == LEN
        && b.iter().enumerate().all(|(i, c)| match i {
            3 | 9 => *c == b'-',
            10..=12 => c.is_ascii_digit(),
            _ => c.is_ascii_uppercase(),
        })
}

/// The first `[ABC-DEFGH-123]` tag in a subject line (`Re: Printer stuk [TXH-PSCHP-612]`).
/// Tags in lower case or with extra characters inside the brackets do not count.
#[must_use]
pub fn find_in_subject(subject: &str) -> Option<TicketNumber> {
    let b = subject.as_bytes();
    // Byte-wise scan: '[' and ']' are ASCII, so slicing at them stays on char boundaries.
    let mut i = 0;
    while i + LEN + 2 <= b.len() {
        if b[i] == b'[' && b[i + LEN + 1] == b']' && is_number(&b[i + 1..=i + LEN]) {
            return subject
                .get(i + 1..=i + LEN)
                .map(|s| TicketNumber(s.to_owned()));
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_numbers_match_the_format_and_differ() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let n = TicketNumber::generate();
            assert!(is_number(n.as_str().as_bytes()), "{n}");
            assert_eq!(TicketNumber::parse(n.as_str()), Ok(n.clone()));
            seen.insert(n);
        }
        // 26^8 * 1000 possibilities: a collision in 1000 draws means a broken RNG.
        assert_eq!(seen.len(), 1000);
    }

    #[test]
    fn parse_accepts_only_the_exact_format() {
        assert!(TicketNumber::parse("TXH-PSCHP-612").is_ok());
        for bad in [
            "",
            "txh-pschp-612",
            "TXH-PSCHP-61",
            "TXH-PSCHP-6123",
            "TXHPSCHP612",
            " TXH-PSCHP-612",
            "TXH-PSCHP-612 ",
            "TX1-PSCHP-612",
            "TXH-PSCHP-61A",
            "TXH_PSCHP_612",
            "ÄXH-PSCHP-612",
        ] {
            assert_eq!(TicketNumber::parse(bad), Err(InvalidNumber), "{bad:?}");
        }
    }

    #[test]
    fn finds_the_tag_in_a_reply_subject() {
        let n = find_in_subject("Re: Printer stuk [TXH-PSCHP-612]").map(|n| n.to_string());
        assert_eq!(n.as_deref(), Some("TXH-PSCHP-612"));
        let n = find_in_subject("[ABC-DEFGH-123][XYZ-ABCDE-999] twee").map(|n| n.to_string());
        assert_eq!(n.as_deref(), Some("ABC-DEFGH-123"));
        let n = find_in_subject("Ünïcødé vóór [ABC-DEFGH-123] ná").map(|n| n.to_string());
        assert_eq!(n.as_deref(), Some("ABC-DEFGH-123"));
    }

    #[test]
    fn ignores_non_tags() {
        for s in [
            "TXH-PSCHP-612 without brackets",
            "[txh-pschp-612]",
            "[TXH-PSCHP-612",
            "[ TXH-PSCHP-612]",
            "[TXH-PSCHP-6123]",
            "[",
            "",
            "[[[[[[[[[[[[[[[[",
        ] {
            assert_eq!(find_in_subject(s), None, "{s:?}");
        }
    }

    #[test]
    fn tag_round_trips() {
        let n = TicketNumber::generate();
        assert_eq!(find_in_subject(&format!("Re: {}", n.tag())), Some(n));
    }
}
