//! Mail settings: the retry schedule, the platform server (`LOKET_PLATFORM_SMTP_URL`,
//! `LOKET_PLATFORM_SENDER`), extra trusted roots (`LOKET_SMTP_CA_FILE`) and timeouts.
//!
//! Nothing here accepts a plain-text connection or an unverified certificate (R-TLS).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use lettre::message::Mailbox;

use crate::api::TlsMode;

pub use loket_common::schedule::{RetrySchedule, parse_duration};

/// The default retry schedule: 1 min, 5 min, 30 min, 2 h, 6 h.
pub fn default_retry_schedule() -> RetrySchedule {
    RetrySchedule::from_waits(
        [60u64, 300, 1800, 7200, 21_600]
            .iter()
            .map(|s| Duration::from_secs(*s))
            .collect(),
    )
}

/// The platform's own mail server, from `LOKET_PLATFORM_SMTP_URL`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Implicit TLS (`smtps://`) or required STARTTLS (`smtp://…?tls=starttls`).
    pub tls: TlsMode,
    /// User name for AUTH, if any.
    pub username: Option<String>,
    /// Password for AUTH, if any.
    pub password: Option<String>,
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .finish()
    }
}

impl SmtpUrl {
    /// Parses `smtps://user:pass@host:465` (implicit TLS) or
    /// `smtp://user:pass@host:587?tls=starttls` (required STARTTLS). Plain `smtp://` without
    /// `tls=starttls` is refused: mail is never sent in plain text.
    pub fn parse(s: &str) -> Result<Self, String> {
        let url = url::Url::parse(s.trim()).map_err(|e| format!("is not a URL: {e}"))?;
        let mut starttls = None;
        for (k, v) in url.query_pairs() {
            match (k.as_ref(), v.as_ref()) {
                ("tls", "starttls") => starttls = Some(true),
                ("tls", "implicit") => starttls = Some(false),
                ("tls", other) => {
                    return Err(format!(
                        "tls={other} is not allowed; use smtps:// (implicit TLS) or smtp://…?tls=starttls"
                    ));
                }
                (other, _) => return Err(format!("unknown parameter `{other}`")),
            }
        }
        let tls = match (url.scheme(), starttls) {
            ("smtps", None | Some(false)) => TlsMode::Implicit,
            ("smtp", Some(true)) => TlsMode::Starttls,
            ("smtp", Some(false)) => TlsMode::Implicit,
            ("smtp", None) => {
                return Err(
                    "smtp:// would send in plain text; use smtps://host:465 or smtp://host:587?tls=starttls"
                        .into(),
                );
            }
            ("smtps", Some(true)) => {
                return Err(
                    "smtps:// is implicit TLS; for STARTTLS use smtp://…?tls=starttls".into(),
                );
            }
            (other, _) => return Err(format!("scheme `{other}` is not smtps or smtp")),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("needs a host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url.port().unwrap_or(match tls {
            TlsMode::Implicit => 465,
            TlsMode::Starttls => 587,
        });
        let decode = |s: &str| -> Result<String, String> {
            url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .ok_or_else(|| "cannot decode the user name or password".to_owned())
        };
        let username = match url.username() {
            "" => None,
            u => Some(decode(u)?),
        };
        let password = url.password().map(decode).transpose()?;
        if password.is_some() && username.is_none() {
            return Err("has a password but no user name".into());
        }
        Ok(SmtpUrl {
            host,
            port,
            tls,
            username,
            password,
        })
    }
}

/// Parses a sender such as `Loket <noreply@example.org>` or `noreply@example.org`.
pub fn parse_mailbox(s: &str) -> Result<Mailbox, String> {
    s.trim()
        .parse::<Mailbox>()
        .map_err(|e| format!("`{s}` is not a mailbox such as `Loket <noreply@example.org>`: {e}"))
}

/// The platform's server and sender: cross-tenant mail, and tenant mail without a sender.
#[derive(Debug, Clone)]
pub struct PlatformMail {
    /// Where to send.
    pub server: SmtpUrl,
    /// The `From` of platform mail.
    pub sender: Mailbox,
}

/// The mail settings (`LOKET_MAIL_*`, `LOKET_PLATFORM_*`, `LOKET_SMTP_*`).
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// Waits before the retries of temporarily failed messages.
    pub retry_schedule: RetrySchedule,
    /// The platform server and sender, if configured.
    pub platform: Option<PlatformMail>,
    /// A PEM file of extra trusted root certificates (private CAs, tests).
    pub ca_file: Option<PathBuf>,
    /// Time limit of each step of an SMTP conversation (DNS, connect, TLS, each command).
    pub timeout: Duration,
    /// How often the worker looks for due messages when nothing woke it.
    pub poll_interval: Duration,
    /// Messages in flight at most.
    pub concurrency: usize,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            retry_schedule: default_retry_schedule(),
            platform: None,
            ca_file: None,
            timeout: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            concurrency: 8,
        }
    }
}

impl MailConfig {
    /// How long the worker's claim on a message lasts: a whole SMTP conversation, plus a
    /// margin. A crashed worker's messages are sent again after it (at-least-once).
    pub fn lease(&self) -> Duration {
        self.timeout * 8 + Duration::from_secs(10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse_with_units() {
        let s = RetrySchedule::parse("1m, 5m,30m,2h,6h").unwrap();
        assert_eq!(s, default_retry_schedule());
        assert_eq!(s.wait_before_retry(1), Some(Duration::from_secs(60)));
        assert_eq!(s.wait_before_retry(5), Some(Duration::from_secs(21_600)));
        assert_eq!(s.wait_before_retry(6), None);
        assert_eq!(s.wait_before_retry(0), None);
        for bad in ["", "1", "1x", "m", "0s", "-1s"] {
            assert!(RetrySchedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn smtp_urls_are_tls_only() {
        let u = SmtpUrl::parse("smtps://mailer%40example.org:p%40ss+w@mail.example.org").unwrap();
        assert_eq!(u.tls, TlsMode::Implicit);
        assert_eq!(u.port, 465);
        assert_eq!(u.username.as_deref(), Some("mailer@example.org"));
        assert_eq!(u.password.as_deref(), Some("p@ss+w"));
        let s = SmtpUrl::parse("smtp://u:p@127.0.0.1:2525?tls=starttls").unwrap();
        assert_eq!((s.tls, s.port), (TlsMode::Starttls, 2525));
        assert_eq!(s.host, "127.0.0.1");
        for bad in [
            "smtp://u:p@host:25",
            "smtp://host?tls=none",
            "smtps://host?tls=starttls",
            "http://host",
            "smtps://:p@host",
            "not a url",
        ] {
            assert!(SmtpUrl::parse(bad).is_err(), "{bad}");
        }
        assert!(!format!("{u:?}").contains("p@ss"));
    }

    #[test]
    fn mailboxes_parse() {
        let m = parse_mailbox("Loket <noreply@example.org>").unwrap();
        assert_eq!(m.email.to_string(), "noreply@example.org");
        assert!(parse_mailbox("nonsense").is_err());
    }
}
