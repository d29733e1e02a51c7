//! The privacy scanner of R-PRIVACY: finds personal data in message bodies and attachment text.
//!
//! Detects
//! - **BSN**: 9 digits (optionally `1234.56.782` / `1234 56 782`) passing the 11-check. About 1 in
//!   11 random 9-digit numbers pass, so a BSN also needs a keyword (BSN, burgerservicenummer,
//!   sofi(-nummer), citizen service number) shortly before it, or a tabular text (CSV, a
//!   spreadsheet's cells) whose header line names such a column.
//! - **IBAN**: ISO 13616 mod-97 plus the country's BBAN format, via the `iban_validate` crate.
//! - **E-mail addresses.**
//! - **Phone numbers** in a phone format only: Dutch mobile `06…`, `+31…`/`0031…`, an area code
//!   with a separator (`020-1234567`, `0412 123456`), or E.164 `+<country>…`. A bare 9- or
//!   10-digit number (other than `06xxxxxxxx`) is not a phone number.
//! - **Addresses**: a postcode `1234 AB` (letters not SA, SD or SS) with a house number, either
//!   `Street 12, 1234 AB` or `1234 AB 12`.
//!
//! The scanner never panics on any input (proptest below). The caller passes the envelope's own
//! addresses (the reporter's From, our mailbox) in [`Scanner::ignore`], since they are not an
//! incident.
//!
//! Person count (a heuristic, documented in PROGRESS.md): the largest number of distinct values
//! of any one kind. One person's BSN, IBAN, phone and address together count as one person; a
//! spreadsheet with three BSNs counts three.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use iban::IbanLike;
use regex::Regex;
use serde::Serialize;

/// What kind of personal data a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Burgerservicenummer.
    Bsn,
    /// Bank account number.
    Iban,
    /// E-mail address.
    Email,
    /// Phone number.
    Phone,
    /// Postcode and house number.
    Address,
}

/// One piece of personal data found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The kind.
    pub kind: Kind,
    /// The normalised value (digits only, upper case IBAN, lower case e-mail, `+31…` phone,
    /// `1234AB 12` address). Never logged or stored: it is personal data itself.
    pub value: String,
    /// Byte offset of the match in the scanned text.
    pub start: usize,
    /// Byte offset just past the match.
    pub end: usize,
}

/// The outcome for one text (or several texts merged with [`Scan::merge`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Every finding, in text order.
    pub findings: Vec<Finding>,
}

/// The incident class of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Classification {
    /// No personal data.
    Clean,
    /// One person's data: label `security-incident-light`.
    Light,
    /// Several persons' data: label `security-incident`, the attachment is removed.
    Full,
}

/// Label for one person's data.
pub const LABEL_LIGHT: &str = "security-incident-light";
/// Label for several persons' data.
pub const LABEL_FULL: &str = "security-incident";

impl Classification {
    /// The ticket label, if any.
    #[must_use]
    pub fn label(self) -> Option<&'static str> {
        match self {
            Self::Clean => None,
            Self::Light => Some(LABEL_LIGHT),
            Self::Full => Some(LABEL_FULL),
        }
    }
}

impl Scan {
    /// Distinct persons: the largest number of distinct values of any one kind.
    #[must_use]
    pub fn persons(&self) -> usize {
        [
            Kind::Bsn,
            Kind::Iban,
            Kind::Email,
            Kind::Phone,
            Kind::Address,
        ]
        .into_iter()
        .map(|k| {
            self.findings
                .iter()
                .filter(|f| f.kind == k)
                .map(|f| f.value.as_str())
                .collect::<BTreeSet<_>>()
                .len()
        })
        .max()
        .unwrap_or(0)
    }

    /// Clean, light (one person) or full (several).
    #[must_use]
    pub fn classification(&self) -> Classification {
        match self.persons() {
            0 => Classification::Clean,
            1 => Classification::Light,
            _ => Classification::Full,
        }
    }

    /// The kinds found, without duplicates.
    #[must_use]
    pub fn kinds(&self) -> BTreeSet<Kind> {
        self.findings.iter().map(|f| f.kind).collect()
    }

    /// Joins another text's scan (e.g. a message body and its attachments). Offsets keep
    /// referring to their own texts.
    pub fn merge(&mut self, other: Self) {
        self.findings.extend(other.findings);
    }
}

/// Scans text; configure values to leave out with [`Scanner::ignore`].
#[derive(Debug, Clone, Default)]
pub struct Scanner {
    ignored: BTreeSet<String>,
}

/// Scans `text` with no exclusions.
#[must_use]
pub fn scan(text: &str) -> Scan {
    Scanner::default().scan(text)
}

// Regexes are literals covered by `all_patterns_compile`; a pattern that failed to compile
// would disable that detector rather than panic.
fn re(p: &str) -> Option<Regex> {
    Regex::new(p).ok()
}

static BSN: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"\b(?:[0-9]{9}|[0-9]{4}[. ][0-9]{2}[. ][0-9]{3})\b"));
static BSN_KEYWORD: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:bsn|burger\s*service\s*nummer|burgerservicenr|sofi(?:[\s-]*nummer|nr)?|citizen\s+service\s+number)\b",
    )
});
static IBAN: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"));
static EMAIL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}\b",
    )
});
// Candidates; digit counts are checked in code.
static PHONE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(concat!(
        r"(?:\+|00)[1-9][0-9 ()\-.]{6,20}[0-9]", // international
        r"|\b06[ \-]?[0-9][0-9 \-]{6,10}[0-9]",  // Dutch mobile
        r"|\b0[1-9][0-9]{1,2}[ \-][0-9][0-9 \-]{4,8}[0-9]"  // area code + separator
    ))
});
static POSTCODE_AFTER_STREET: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"\b\p{Lu}[\p{L}.'\-]+(?: [\p{L}.'\-]+){0,3} ([1-9][0-9]{0,4}) ?[a-zA-Z]?(?:[ \-]?[0-9]{1,3})?,?\s+([1-9][0-9]{3}) ?([A-Z]{2})\b",
    )
});
static POSTCODE_THEN_NUMBER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(r"\b([1-9][0-9]{3}) ?([A-Z]{2})[ ,]+(?:nr\.? ?|huisnummer:? ?)?([1-9][0-9]{0,4})\b")
});

const KEYWORD_WINDOW: usize = 80;

impl Scanner {
    /// Leaves out these values (e-mail addresses, phone numbers in any format): the envelope's
    /// own addresses are not an incident.
    #[must_use]
    pub fn ignore<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for v in values {
            let v = v.as_ref();
            self.ignored.insert(v.trim().to_lowercase());
            if let Some(p) = normalise_phone(v) {
                self.ignored.insert(p);
            }
        }
        self
    }

    /// Scans one text.
    #[must_use]
    pub fn scan(&self, text: &str) -> Scan {
        let mut findings = Vec::new();
        self.ibans(text, &mut findings);
        self.emails(text, &mut findings);
        self.bsns(text, &mut findings);
        self.phones(text, &mut findings);
        self.addresses(text, &mut findings);
        findings.retain(|f| !self.ignored.contains(&f.value));
        // Overlaps (the digits of an IBAN look like a phone number): keep the finding of the
        // more specific kind, in the order the detectors ran.
        let mut kept: Vec<Finding> = Vec::with_capacity(findings.len());
        for f in findings {
            if !kept.iter().any(|k| k.start < f.end && f.start < k.end) {
                kept.push(f);
            }
        }
        let mut findings = kept;
        findings.sort_by_key(|f| (f.start, f.kind));
        Scan { findings }
    }

    fn bsns(&self, text: &str, out: &mut Vec<Finding>) {
        let (Some(bsn), Some(kw)) = (BSN.as_ref(), BSN_KEYWORD.as_ref()) else {
            return;
        };
        let header_names_bsn = is_tabular(text) && first_line(text).is_some_and(|h| kw.is_match(h));
        for m in bsn.find_iter(text) {
            let digits: String = m.as_str().chars().filter(char::is_ascii_digit).collect();
            if !bsn_eleven_check(&digits) || touches_digit_run(text, m.start(), m.end()) {
                continue;
            }
            let from = floor_boundary(text, m.start().saturating_sub(KEYWORD_WINDOW));
            let before = text.get(from..m.start()).unwrap_or("");
            if header_names_bsn || kw.is_match(before) {
                out.push(Finding {
                    kind: Kind::Bsn,
                    value: digits,
                    start: m.start(),
                    end: m.end(),
                });
            }
        }
    }

    fn ibans(&self, text: &str, out: &mut Vec<Finding>) {
        let Some(re) = IBAN.as_ref() else { return };
        for m in re.find_iter(text) {
            // The pattern is greedy and may swallow a following word ("NL91ABNA0417164300 TEST"):
            // try the longest prefix first, ending at a group boundary.
            let s = m.as_str();
            let mut ends: Vec<usize> = s.match_indices(' ').map(|(i, _)| i).collect();
            ends.push(s.len());
            for end in ends.into_iter().rev() {
                let Some(candidate) = s.get(..end) else {
                    continue;
                };
                let compact: String = candidate.chars().filter(|c| !c.is_whitespace()).collect();
                if compact.len() < 15 {
                    break;
                }
                if let Ok(iban) = compact.parse::<iban::Iban>() {
                    out.push(Finding {
                        kind: Kind::Iban,
                        value: iban.electronic_str().to_owned(),
                        start: m.start(),
                        end: m.start() + end,
                    });
                    break;
                }
            }
        }
    }

    fn emails(&self, text: &str, out: &mut Vec<Finding>) {
        let Some(re) = EMAIL.as_ref() else { return };
        for m in re.find_iter(text) {
            out.push(Finding {
                kind: Kind::Email,
                value: m.as_str().to_lowercase(),
                start: m.start(),
                end: m.end(),
            });
        }
    }

    fn phones(&self, text: &str, out: &mut Vec<Finding>) {
        let Some(re) = PHONE.as_ref() else { return };
        for m in re.find_iter(text) {
            if touches_digit_run(text, m.start(), m.end()) || preceded_by_word_char(text, m.start())
            {
                continue;
            }
            if let Some(value) = normalise_phone(m.as_str()) {
                out.push(Finding {
                    kind: Kind::Phone,
                    value,
                    start: m.start(),
                    end: m.end(),
                });
            }
        }
    }

    fn addresses(&self, text: &str, out: &mut Vec<Finding>) {
        let mut push = |pc: &str, letters: &str, nr: &str, start: usize, end: usize| {
            if !matches!(letters, "SA" | "SD" | "SS") {
                out.push(Finding {
                    kind: Kind::Address,
                    value: format!("{pc}{letters} {nr}"),
                    start,
                    end,
                });
            }
        };
        let mut covered: Vec<(usize, usize)> = Vec::new();
        if let Some(re) = POSTCODE_AFTER_STREET.as_ref() {
            for c in re.captures_iter(text) {
                if let (Some(all), Some(nr), Some(pc), Some(l)) =
                    (c.get(0), c.get(1), c.get(2), c.get(3))
                {
                    push(pc.as_str(), l.as_str(), nr.as_str(), all.start(), all.end());
                    covered.push((pc.start(), pc.end()));
                }
            }
        }
        if let Some(re) = POSTCODE_THEN_NUMBER.as_ref() {
            for c in re.captures_iter(text) {
                if let (Some(all), Some(pc), Some(l), Some(nr)) =
                    (c.get(0), c.get(1), c.get(2), c.get(3))
                    && !covered.iter().any(|&(s, _)| s == pc.start())
                {
                    push(pc.as_str(), l.as_str(), nr.as_str(), all.start(), all.end());
                }
            }
        }
    }
}

/// The BSN 11-check ("elfproef"): 9 digits d1..d9 with 9·d1 + 8·d2 + … + 2·d8 − d9 ≡ 0 (mod 11),
/// not all zeros.
#[must_use]
pub fn bsn_eleven_check(digits: &str) -> bool {
    let d: Vec<i64> = digits
        .bytes()
        .map(|b| i64::from(b) - i64::from(b'0'))
        .collect();
    if d.len() != 9 || d.iter().any(|x| !(0..=9).contains(x)) || d.iter().all(|x| *x == 0) {
        return false;
    }
    let sum: i64 = d
        .iter()
        .take(8)
        .zip((2..=9).rev())
        .map(|(x, w)| x * w)
        .sum::<i64>()
        - d.get(8).copied().unwrap_or(0);
    sum % 11 == 0
}

/// Validates an IBAN (any spacing, ISO 13616 mod-97 and the country's format).
#[must_use]
pub fn is_valid_iban(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    compact.parse::<iban::Iban>().is_ok()
}

/// A phone number in E.164 form (`+31612345678`) if `s` has a phone format.
#[must_use]
pub fn normalise_phone(s: &str) -> Option<String> {
    let s = s.trim();
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let national_trunk_in_intl = s.contains("(0)");
    if let Some(rest) = s
        .strip_prefix('+')
        .map(|_| digits.as_str())
        .or_else(|| s.starts_with("00").then(|| digits.get(2..).unwrap_or("")))
    {
        let mut rest = rest.to_owned();
        if national_trunk_in_intl {
            // "+31 (0)6 1234 5678": drop the trunk zero.
            if rest.starts_with("310") {
                rest.remove(2);
            }
        }
        if rest.starts_with("31") {
            return (rest.len() == 11).then(|| format!("+{rest}"));
        }
        return (8..=15).contains(&rest.len()).then(|| format!("+{rest}"));
    }
    if digits.len() == 10 && digits.starts_with('0') && !digits.starts_with("00") {
        let has_separator = s.contains(['-', ' ']);
        if digits.starts_with("06") || has_separator {
            return digits.get(1..).map(|d| format!("+31{d}"));
        }
    }
    None
}

fn is_tabular(text: &str) -> bool {
    first_line(text).is_some_and(|h| h.contains([';', ',', '\t', '|']))
}

fn first_line(text: &str) -> Option<&str> {
    text.lines().find(|l| !l.trim().is_empty())
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Part of a longer number ("12345678901" or "1234567890.12")?
fn touches_digit_run(text: &str, start: usize, end: usize) -> bool {
    let before = text.get(..start).and_then(|s| s.chars().next_back());
    let after = text.get(end..).and_then(|s| s.chars().next());
    let is_num = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    let joins = |c: Option<char>, next: Option<char>| {
        matches!(c, Some('.' | ',' | '-' | '/')) && is_num(next)
    };
    let before2 = text.get(..start).and_then(|s| s.chars().rev().nth(1));
    let after2 = text.get(end..).and_then(|s| s.chars().nth(1));
    is_num(before) || is_num(after) || joins(before, before2) || joins(after, after2)
}

/// An order or invoice code like `INV-0612345678` is not a phone number.
fn preceded_by_word_char(text: &str, start: usize) -> bool {
    let mut it = text.get(..start).unwrap_or("").chars().rev();
    match it.next() {
        Some(c) if c.is_alphanumeric() || c == '_' => true,
        Some('-' | '/' | '#') => it.next().is_some_and(|c| c.is_alphanumeric()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Kind> {
        scan(text).findings.into_iter().map(|f| f.kind).collect()
    }

    #[test]
    fn all_patterns_compile() {
        for r in [
            &BSN,
            &BSN_KEYWORD,
            &IBAN,
            &EMAIL,
            &PHONE,
            &POSTCODE_AFTER_STREET,
            &POSTCODE_THEN_NUMBER,
        ] {
            assert!(r.is_some());
        }
    }

    #[test]
    fn eleven_check_known_numbers() {
        // Test BSNs published for software testing, and the 11-check worked example.
        for ok in ["111222333", "123456782", "999999990", "100000009"] {
            assert!(bsn_eleven_check(ok), "{ok}");
        }
        for bad in [
            "123456789",
            "111222334",
            "000000000",
            "12345678",
            "1234567890",
            "12345678a",
        ] {
            assert!(!bsn_eleven_check(bad), "{bad}");
        }
    }

    #[test]
    fn iban_known_numbers() {
        for ok in [
            "NL91ABNA0417164300",
            "NL91 ABNA 0417 1643 00",
            "DE89370400440532013000",
            "GB82WEST12345698765432",
            "BE68539007547034",
        ] {
            assert!(is_valid_iban(ok), "{ok}");
        }
        for bad in [
            "NL91ABNA0417164301",
            "NL92ABNA0417164300",
            "XX91ABNA0417164300",
            "NL91",
            "",
            "NL91ABNA041716430",
        ] {
            assert!(!is_valid_iban(bad), "{bad}");
        }
    }

    #[test]
    fn bsn_needs_a_keyword() {
        assert_eq!(kinds("Mijn BSN is 123456782."), vec![Kind::Bsn]);
        assert_eq!(kinds("burgerservicenummer: 1234.56.782"), vec![Kind::Bsn]);
        assert_eq!(kinds("sofinummer 111222333"), vec![Kind::Bsn]);
        assert!(kinds("Referentie 123456782").is_empty());
        assert!(kinds("BSN 123456789 klopt niet").is_empty());
        assert!(kinds("bsn 1234567820").is_empty());
    }

    #[test]
    fn bsn_in_a_column_named_bsn_counts_each_row() {
        let csv =
            "naam;bsn;plaats\nJan;123456782;Oss\nPiet;111222333;Uden\nKlaas;999999990;Boxtel\n";
        let s = scan(csv);
        assert_eq!(s.findings.len(), 3);
        assert_eq!(s.persons(), 3);
        assert_eq!(s.classification(), Classification::Full);
        assert_eq!(s.classification().label(), Some(LABEL_FULL));
    }

    #[test]
    fn invoice_and_order_numbers_are_not_personal_data() {
        // Every 9-digit number in 100_000_000..100_001_000 that passes the 11-check, as
        // invoice and order numbers in typical helpdesk prose and in a CSV without a BSN column.
        let passing: Vec<String> = (100_000_000u32..100_010_000)
            .map(|n| n.to_string())
            .filter(|n| bsn_eleven_check(n))
            .collect();
        assert!(passing.len() > 800, "about 1 in 11 pass: {}", passing.len());
        let mut prose = String::new();
        let mut csv = String::from("factuur;ordernummer;bedrag\n");
        for n in &passing {
            prose.push_str(&format!(
                "Factuur {n} en ordernummer {n} (klantnummer {n}), bestelling #{n}.\n"
            ));
            csv.push_str(&format!("F{n};{n};12,50\n"));
        }
        prose.push_str(
            "Ordernr. ORD-0612345678, factuur 2026-000123, INV/0201234567, artikel 1234 AB.\n",
        );
        let s = scan(&prose);
        assert!(s.findings.is_empty(), "{:?}", s.findings.first());
        assert!(scan(&csv).findings.is_empty());
    }

    #[test]
    fn iban_in_text() {
        let s = scan("Graag terugstorten op NL91 ABNA 0417 1643 00 TEST t.n.v. J. Jansen");
        assert_eq!(s.findings.len(), 1);
        assert_eq!(
            s.findings.first().map(|f| f.value.as_str()),
            Some("NL91ABNA0417164300")
        );
        assert!(scan("rekening NL91ABNA0417164301").findings.is_empty());
    }

    #[test]
    fn phones_need_a_phone_format() {
        for (t, v) in [
            ("bel 06-12345678", "+31612345678"),
            ("bel 06 1234 5678", "+31612345678"),
            ("bel 0612345678", "+31612345678"),
            ("tel +31 6 12345678", "+31612345678"),
            ("tel +31 (0)20 123 4567", "+31201234567"),
            ("tel 0031 20 1234567", "+31201234567"),
            ("tel 020-1234567", "+31201234567"),
            ("tel 0412 123456", "+31412123456"),
            ("tel +44 20 7946 0958", "+442079460958"),
        ] {
            let s = scan(t);
            assert_eq!(
                s.findings
                    .iter()
                    .map(|f| f.value.as_str())
                    .collect::<Vec<_>>(),
                vec![v],
                "{t}"
            );
        }
        for t in [
            "nummer 123456782",
            "order 0201234567",
            "2026-11-23",
            "versie 10.2.3",
            "bedrag 1 234 567",
        ] {
            assert!(kinds(t).is_empty(), "{t}");
        }
    }

    #[test]
    fn emails_and_ignored_envelope() {
        let s = Scanner::default()
            .ignore(["Jan@Example.org", "06-11111111"])
            .scan("Van jan@example.org, 06 11111111. Zie ook piet.p@gemeente.nl");
        assert_eq!(s.findings.len(), 1);
        assert_eq!(s.findings.first().map(|f| f.kind), Some(Kind::Email));
        assert_eq!(s.classification(), Classification::Light);
    }

    #[test]
    fn postcodes_with_house_numbers() {
        assert_eq!(
            kinds("Adres: Kerkstraat 12, 5211 AB 's-Hertogenbosch"),
            vec![Kind::Address]
        );
        assert_eq!(kinds("postcode 5211 AB 12"), vec![Kind::Address]);
        assert_eq!(kinds("Kerkstraat 12a 5211AB Oss"), vec![Kind::Address]);
        assert!(kinds("Kerkstraat 12, 5211 SS Oss").is_empty());
        assert!(kinds("postcode 5211 AB").is_empty());
        assert!(kinds("zie 1234 AB").is_empty());
    }

    #[test]
    fn one_person_is_light() {
        let s = scan(
            "Mevr. Jansen, BSN 123456782, IBAN NL91ABNA0417164300, tel 06-12345678, Kerkstraat 1, 5211 AB Oss",
        );
        assert_eq!(s.kinds().len(), 4);
        assert_eq!(s.persons(), 1);
        assert_eq!(s.classification(), Classification::Light);
        assert_eq!(
            scan("niets bijzonders").classification(),
            Classification::Clean
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_strings(s in "\\PC*") {
            let _ = scan(&s);
        }

        #[test]
        fn never_panics_on_bytes(b in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = scan(&String::from_utf8_lossy(&b));
        }

        #[test]
        fn never_panics_on_near_misses(s in "([0-9 .+()\\-]{0,14}|[A-Z]{2}[0-9 ]{0,30}|bsn |BSN;|[a-z@.]{0,10}|é|\n|;){0,30}") {
            let _ = scan(&s);
            let _ = normalise_phone(&s);
            let _ = bsn_eleven_check(&s);
        }
    }
}
