//! Configuration from `LOKET_*` environment variables.
//!
//! Every variable has a sane default; a bad value fails start-up with one line naming the
//! variable. Unknown `LOKET_*` variables are warned about, not fatal.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use loket_common::crypto::SecretKey;
use loket_mail::{MailConfig, PlatformMail, SmtpUrl};
use loket_storage::BackendKind;
use loket_webhooks::WebhooksConfig;
use loket_webhooks::config::{RetrySchedule, parse_duration};
use loket_webhooks::ssrf::AllowList;

/// Every variable this version understands, with its meaning (printed by `loket --help`).
pub const VARIABLES: &[(&str, &str)] = &[
    (
        "LOKET_DATABASE_URL",
        "sqlite://loket.db (default; sqlite:///abs/path.db for absolute paths) or postgres://user:pass@host/db",
    ),
    (
        "LOKET_DATABASE_POOL_SIZE",
        "maximum database connections (default 8)",
    ),
    (
        "LOKET_DATABASE_POOL_TIMEOUT",
        "seconds a request waits for a database connection (database down, or all connections busy) before it answers 503; while the database is known to be down requests answer 503 at once (default 3)",
    ),
    (
        "LOKET_ADDR",
        "address to listen on (default 127.0.0.1:8080)",
    ),
    (
        "LOKET_PUBLIC_URL",
        "absolute URL clients reach the server at, behind a proxy (default http://<LOKET_ADDR>)",
    ),
    (
        "LOKET_MAX_BODY_BYTES",
        "largest accepted request body (default 1048576)",
    ),
    (
        "LOKET_MAIL_INBOUND_MAX_BYTES",
        "largest raw e-mail accepted by POST /api/v1/mail/inbound (default 26214400, 25 MiB)",
    ),
    (
        "LOKET_MAX_HEADER_BYTES",
        "largest accepted request line plus headers; larger requests answer 431 (default 32768)",
    ),
    (
        "LOKET_CLIENT_REQUEST_TIMEOUT",
        "seconds a client has to send the request line and headers after connecting (or after the previous request); slower clients get 408 and are disconnected (default 5)",
    ),
    (
        "LOKET_CLIENT_BODY_TIMEOUT",
        "seconds a client has to send the whole request body after its headers; slower clients get 408 and are disconnected (default 60)",
    ),
    (
        "LOKET_KEEP_ALIVE",
        "seconds an idle keep-alive connection stays open; 0 closes connections after each response (default 5)",
    ),
    (
        "LOKET_MAX_CONNECTIONS",
        "open connections per HTTP worker at most; further ones wait in the listen backlog (default 25000)",
    ),
    (
        "LOKET_WORKERS",
        "HTTP worker threads (default: number of CPUs)",
    ),
    (
        "LOKET_JOBS_INTERVAL",
        "seconds between runs of the background jobs, e.g. resolving postponed tickets (default 60)",
    ),
    (
        "LOKET_SECRET_KEY",
        "base64 of 32 bytes; encrypts secrets at rest. Generated beside a SQLite database when unset; required with PostgreSQL",
    ),
    ("LOKET_LOG", "log filter, tracing syntax (default info)"),
    ("LOKET_LOG_FORMAT", "pretty (default) or json"),
    (
        "LOKET_ACCESS_TOKEN_TTL",
        "access-token lifetime in seconds (default 3600)",
    ),
    (
        "LOKET_REFRESH_TOKEN_TTL",
        "refresh-token lifetime in seconds (default 2592000, 30 days)",
    ),
    (
        "LOKET_TOKEN_RATE_IP",
        "POST /oauth/token requests per second per client address, sustained; 0 turns the limit off (default 10)",
    ),
    (
        "LOKET_TOKEN_BURST_IP",
        "POST /oauth/token requests per client address allowed at once (default 30)",
    ),
    (
        "LOKET_TOKEN_RATE_ACCOUNT",
        "POST /oauth/token requests per second per API account (username or client_id), sustained; 0 turns the limit off (default 1)",
    ),
    (
        "LOKET_TOKEN_BURST_ACCOUNT",
        "POST /oauth/token requests per API account allowed at once (default 10)",
    ),
    (
        "LOKET_AUTH_CACHE_TTL",
        "seconds an authenticated bearer token is remembered by this instance; writes here clear it at once, other instances' revocations are seen within this time; 0 turns it off (default 10)",
    ),
    (
        "LOKET_LOGIN_MAX_FAILURES",
        "failed logins before an API account is locked (default 5)",
    ),
    (
        "LOKET_LOGIN_LOCKOUT",
        "lockout duration in seconds (default 900)",
    ),
    (
        "LOKET_WEBHOOK_ALLOWED_HOSTS",
        "comma-separated host names, addresses and CIDR blocks webhook receivers may reach over plain http and on private addresses, e.g. 127.0.0.1,::1 (default none)",
    ),
    (
        "LOKET_WEBHOOK_RETRY_SCHEDULE",
        "waits before the retries of a failed webhook delivery, units s/m/h/d (default 1h,2h,6h,24h)",
    ),
    (
        "LOKET_WEBHOOK_TIMEOUT",
        "seconds a webhook receiver or its token endpoint has to answer (default 10)",
    ),
    (
        "LOKET_WEBHOOK_CONCURRENCY",
        "webhook requests in flight at most, overall (default 256)",
    ),
    (
        "LOKET_WEBHOOK_RECEIVER_CONCURRENCY",
        "webhook requests in flight at most, per receiver (default 32)",
    ),
    (
        "LOKET_WEBHOOK_DISABLE_AFTER",
        "a webhook receiver failing this long without a single success is disabled, units s/m/h/d (default 5d)",
    ),
    (
        "LOKET_MAIL_RETRY_SCHEDULE",
        "waits before the retries of a mail that failed temporarily (4xx, DNS, connection, TLS), units s/m/h/d (default 1m,5m,30m,2h,6h)",
    ),
    (
        "LOKET_PLATFORM_SMTP_URL",
        "the platform's mail server for cross-tenant mail and tenants without a sender: smtps://user:pass@host:465 or smtp://user:pass@host:587?tls=starttls (never plain text; default none)",
    ),
    (
        "LOKET_PLATFORM_SENDER",
        "the From of platform mail, e.g. Loket <noreply@example.org> (required with LOKET_PLATFORM_SMTP_URL)",
    ),
    (
        "LOKET_SMTP_CA_FILE",
        "PEM file of extra root certificates trusted for SMTP servers (private CAs); certificates are always verified (default none)",
    ),
    (
        "LOKET_SMTP_TIMEOUT",
        "seconds each step of an SMTP conversation may take (default 30)",
    ),
    (
        "LOKET_ATTACHMENTS_URL",
        "where ticket attachments are stored: file:///abs/dir or s3://bucket/prefix (credentials and endpoint from AWS_* variables); default the directory `attachments` beside the SQLite file (or in the working directory with PostgreSQL)",
    ),
    (
        "LOKET_ATTACHMENT_MAX_BYTES",
        "largest accepted attachment in bytes (default 10485760)",
    ),
];

/// The parsed configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Database location.
    pub database: BackendKind,
    /// Pool size.
    pub pool_size: u32,
    /// How long a request waits for a database connection before answering 503.
    pub pool_timeout: std::time::Duration,
    /// Listen address.
    pub addr: SocketAddr,
    /// Public base URL without trailing slash; `None` means derive from the bound address.
    pub public_url: Option<String>,
    /// Body size limit in bytes.
    pub max_body_bytes: usize,
    /// Largest raw e-mail `POST /mail/inbound` accepts, in bytes.
    pub mail_inbound_max_bytes: usize,
    /// Largest request line plus headers in bytes; larger requests answer 431.
    pub max_header_bytes: usize,
    /// Time a client has to send a request's line and headers (slow clients get 408).
    pub client_request_timeout: std::time::Duration,
    /// Time a client has to send a request's body after its headers (slow clients get 408).
    pub client_body_timeout: std::time::Duration,
    /// Idle keep-alive time; zero disables keep-alive.
    pub keep_alive: std::time::Duration,
    /// Open connections per worker at most.
    pub max_connections: usize,
    /// HTTP workers.
    pub workers: Option<usize>,
    /// Seconds between runs of the background jobs (R-POSTPONE).
    pub jobs_interval: u64,
    /// The server secret key, if given.
    pub secret_key: Option<SecretKey>,
    /// Log filter.
    pub log_filter: String,
    /// JSON logs.
    pub log_json: bool,
    /// Access-token lifetime (s).
    pub access_token_ttl: i64,
    /// Refresh-token lifetime (s).
    pub refresh_token_ttl: i64,
    /// Failed logins before lockout.
    pub login_max_failures: i32,
    /// Lockout duration (s).
    pub login_lockout: i64,
    /// How long an authenticated token is remembered (s); 0: off.
    pub auth_cache_ttl: u64,
    /// Token-endpoint limit per client address.
    pub token_rate_ip: crate::rate_limit::Limit,
    /// Token-endpoint limit per API account.
    pub token_rate_account: crate::rate_limit::Limit,
    /// Webhook delivery policy.
    pub webhooks: WebhooksConfig,
    /// Mail: retry schedule, platform server and sender, trusted roots.
    pub mail: MailConfig,
    /// Where attachments are stored (`file:///abs/dir` or `s3://bucket/prefix`); `None`: the
    /// default directory (see [`Settings::attachments_url`]).
    pub attachments_url: Option<String>,
    /// Largest accepted attachment in bytes.
    pub attachment_max_bytes: usize,
}

/// A configuration error: one line naming the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

struct Vars(BTreeMap<String, String>);

impl Vars {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn parse<T: std::str::FromStr>(
        &self,
        name: &str,
        default: T,
        what: &str,
    ) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| ConfigError(format!("{name}: `{v}` is not {what}"))),
        }
    }

    fn positive(&self, name: &str, default: i64) -> Result<i64, ConfigError> {
        let v: i64 = self.parse(name, default, "a whole number")?;
        if v <= 0 {
            return Err(ConfigError(format!("{name}: must be greater than 0")));
        }
        Ok(v)
    }
}

impl Settings {
    /// Reads the process environment. Returns the settings and warnings to log.
    pub fn from_env() -> Result<(Settings, Vec<String>), ConfigError> {
        Settings::from_vars(std::env::vars())
    }

    /// Parses the given variables (tests pass their own).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Settings, Vec<String>), ConfigError> {
        let vars = Vars(
            vars.into_iter()
                .filter(|(k, _)| k.starts_with("LOKET_"))
                .collect(),
        );
        let warnings = vars
            .0
            .keys()
            .filter(|k| !k.starts_with("LOKET_TEST_") && !VARIABLES.iter().any(|(n, _)| n == k))
            .map(|k| format!("unknown configuration variable {k} is ignored"))
            .collect();
        let database = BackendKind::parse(
            vars.get("LOKET_DATABASE_URL")
                .unwrap_or("sqlite://loket.db"),
        )
        .map_err(|e| ConfigError(format!("LOKET_DATABASE_URL: {e}")))?;
        let addr = vars.parse(
            "LOKET_ADDR",
            SocketAddr::from(([127, 0, 0, 1], 8080)),
            "a host:port address such as 127.0.0.1:8080",
        )?;
        let public_url = match vars.get("LOKET_PUBLIC_URL") {
            None => None,
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                Some(u.trim_end_matches('/').to_owned())
            }
            Some(u) => {
                return Err(ConfigError(format!(
                    "LOKET_PUBLIC_URL: `{u}` must start with http:// or https://"
                )));
            }
        };
        let max_body_bytes = vars.positive("LOKET_MAX_BODY_BYTES", 1024 * 1024)? as usize;
        let mail_inbound_max_bytes = vars.positive(
            "LOKET_MAIL_INBOUND_MAX_BYTES",
            loket_tickets::inbound::DEFAULT_MAX_BYTES as i64,
        )? as usize;
        let pool_size = vars.positive("LOKET_DATABASE_POOL_SIZE", 8)? as u32;
        let pool_timeout = std::time::Duration::from_secs(vars.positive(
            "LOKET_DATABASE_POOL_TIMEOUT",
            loket_storage::DEFAULT_POOL_TIMEOUT.as_secs() as i64,
        )? as u64);
        let max_header_bytes = vars.positive("LOKET_MAX_HEADER_BYTES", 32 * 1024)? as usize;
        let client_request_timeout = std::time::Duration::from_secs(
            vars.positive("LOKET_CLIENT_REQUEST_TIMEOUT", 5)? as u64,
        );
        let client_body_timeout = std::time::Duration::from_secs(vars.positive(
            "LOKET_CLIENT_BODY_TIMEOUT",
            crate::middleware::limits::DEFAULT_BODY_TIMEOUT.as_secs() as i64,
        )? as u64);
        let keep_alive = std::time::Duration::from_secs(vars.parse(
            "LOKET_KEEP_ALIVE",
            5,
            "a whole number of seconds",
        )?);
        let max_connections = vars.positive("LOKET_MAX_CONNECTIONS", 25_000)? as usize;
        let jobs_interval = vars.positive("LOKET_JOBS_INTERVAL", 60)?.unsigned_abs();
        let workers = match vars.get("LOKET_WORKERS") {
            None => None,
            Some(_) => Some(vars.positive("LOKET_WORKERS", 1)? as usize),
        };
        let secret_key = match vars.get("LOKET_SECRET_KEY") {
            None => None,
            Some(k) => Some(
                SecretKey::from_base64(k)
                    .map_err(|e| ConfigError(format!("LOKET_SECRET_KEY: {e}")))?,
            ),
        };
        let log_json = match vars.get("LOKET_LOG_FORMAT").unwrap_or("pretty") {
            "json" => true,
            "pretty" => false,
            other => {
                return Err(ConfigError(format!(
                    "LOKET_LOG_FORMAT: `{other}` is not `pretty` or `json`"
                )));
            }
        };
        let webhooks = webhooks_config(&vars)?;
        let mail = mail_config(&vars)?;
        let attachments_url = match vars.get("LOKET_ATTACHMENTS_URL") {
            None => None,
            Some(u) if u.starts_with("file:///") || u.starts_with("s3://") => {
                Some(u.trim().to_owned())
            }
            Some(u) => {
                return Err(ConfigError(format!(
                    "LOKET_ATTACHMENTS_URL: `{u}` must start with file:/// or s3://"
                )));
            }
        };
        let attachment_max_bytes = vars.positive(
            "LOKET_ATTACHMENT_MAX_BYTES",
            i64::try_from(loket_tickets::attachments::DEFAULT_MAX_BYTES).unwrap_or(i64::MAX),
        )?;
        let attachment_max_bytes = usize::try_from(attachment_max_bytes).unwrap_or(usize::MAX);
        let settings = Settings {
            database,
            pool_size,
            pool_timeout,
            addr,
            public_url,
            max_body_bytes,
            mail_inbound_max_bytes,
            max_header_bytes,
            client_request_timeout,
            client_body_timeout,
            keep_alive,
            max_connections,
            workers,
            jobs_interval,
            secret_key,
            log_filter: vars.get("LOKET_LOG").unwrap_or("info").to_owned(),
            log_json,
            access_token_ttl: vars.positive("LOKET_ACCESS_TOKEN_TTL", 3600)?,
            refresh_token_ttl: vars.positive("LOKET_REFRESH_TOKEN_TTL", 30 * 24 * 3600)?,
            login_max_failures: vars.positive("LOKET_LOGIN_MAX_FAILURES", 5)? as i32,
            login_lockout: vars.positive("LOKET_LOGIN_LOCKOUT", 900)?,
            auth_cache_ttl: vars.parse("LOKET_AUTH_CACHE_TTL", 10, "a whole number of seconds")?,
            token_rate_ip: crate::rate_limit::Limit {
                per_second: vars.parse("LOKET_TOKEN_RATE_IP", 10, "a whole number")?,
                burst: vars.parse("LOKET_TOKEN_BURST_IP", 30, "a whole number")?,
            },
            token_rate_account: crate::rate_limit::Limit {
                per_second: vars.parse("LOKET_TOKEN_RATE_ACCOUNT", 1, "a whole number")?,
                burst: vars.parse("LOKET_TOKEN_BURST_ACCOUNT", 10, "a whole number")?,
            },
            webhooks,
            mail,
            attachments_url,
            attachment_max_bytes,
        };
        Ok((settings, warnings))
    }

    /// The attachment store URL: the configured one, else `file://` of the directory
    /// `attachments` beside the SQLite file (in the working directory with PostgreSQL).
    pub fn attachments_url(&self) -> String {
        if let Some(u) = &self.attachments_url {
            return u.clone();
        }
        let base = match &self.database {
            BackendKind::Sqlite(db) => db
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default(),
            BackendKind::Postgres(_) => std::path::PathBuf::new(),
        };
        let dir = if base.is_absolute() {
            base
        } else {
            std::env::current_dir().unwrap_or_default().join(base)
        };
        format!("file://{}", dir.join("attachments").display())
    }

    /// The server secret key: the configured one, or for SQLite the key file beside the
    /// database (created, readable only by its owner, on first start).
    pub fn resolve_secret_key(&self) -> Result<SecretKey, ConfigError> {
        if let Some(k) = &self.secret_key {
            return Ok(k.clone());
        }
        let BackendKind::Sqlite(db) = &self.database else {
            return Err(ConfigError(
                "LOKET_SECRET_KEY: required with PostgreSQL (create one with `loket admin generate-key`)".into(),
            ));
        };
        let path = key_file_for(db);
        match std::fs::read_to_string(&path) {
            Ok(text) => SecretKey::from_base64(&text).map_err(|e| {
                ConfigError(format!("LOKET_SECRET_KEY: key file {} {e}", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretKey::generate();
                write_private_file(&path, &key.to_base64()).map_err(|e| {
                    ConfigError(format!(
                        "LOKET_SECRET_KEY: cannot write key file {}: {e}",
                        path.display()
                    ))
                })?;
                tracing::info!(path = %path.display(), "generated a new server secret key; keep this file with the database");
                Ok(key)
            }
            Err(e) => Err(ConfigError(format!(
                "LOKET_SECRET_KEY: cannot read key file {}: {e}",
                path.display()
            ))),
        }
    }
}

fn webhooks_config(vars: &Vars) -> Result<WebhooksConfig, ConfigError> {
    let defaults = WebhooksConfig::default();
    let allowed_hosts = match vars.get("LOKET_WEBHOOK_ALLOWED_HOSTS") {
        None => AllowList::default(),
        Some(v) => AllowList::parse(v)
            .map_err(|e| ConfigError(format!("LOKET_WEBHOOK_ALLOWED_HOSTS: {e}")))?,
    };
    let retry_schedule = match vars.get("LOKET_WEBHOOK_RETRY_SCHEDULE") {
        None => loket_webhooks::config::default_retry_schedule(),
        Some(v) => RetrySchedule::parse(v)
            .map_err(|e| ConfigError(format!("LOKET_WEBHOOK_RETRY_SCHEDULE: {e}")))?,
    };
    let disable_after = match vars.get("LOKET_WEBHOOK_DISABLE_AFTER") {
        None => defaults.disable_after,
        Some(v) => parse_duration(v)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                ConfigError(format!(
                    "LOKET_WEBHOOK_DISABLE_AFTER: `{v}` is not a duration such as 5d or 12h"
                ))
            })?,
    };
    Ok(WebhooksConfig {
        allowed_hosts,
        retry_schedule,
        timeout: std::time::Duration::from_secs(
            vars.positive("LOKET_WEBHOOK_TIMEOUT", defaults.timeout.as_secs() as i64)? as u64,
        ),
        concurrency: vars.positive("LOKET_WEBHOOK_CONCURRENCY", defaults.concurrency as i64)?
            as usize,
        receiver_concurrency: vars.positive(
            "LOKET_WEBHOOK_RECEIVER_CONCURRENCY",
            defaults.receiver_concurrency as i64,
        )? as usize,
        disable_after,
        ..defaults
    })
}

fn mail_config(vars: &Vars) -> Result<MailConfig, ConfigError> {
    let retry_schedule = match vars.get("LOKET_MAIL_RETRY_SCHEDULE") {
        None => loket_mail::config::default_retry_schedule(),
        Some(v) => loket_mail::RetrySchedule::parse(v)
            .map_err(|e| ConfigError(format!("LOKET_MAIL_RETRY_SCHEDULE: {e}")))?,
    };
    let server = vars
        .get("LOKET_PLATFORM_SMTP_URL")
        .map(|v| {
            SmtpUrl::parse(v).map_err(|e| ConfigError(format!("LOKET_PLATFORM_SMTP_URL: {e}")))
        })
        .transpose()?;
    let sender = vars
        .get("LOKET_PLATFORM_SENDER")
        .map(|v| {
            loket_mail::config::parse_mailbox(v)
                .map_err(|e| ConfigError(format!("LOKET_PLATFORM_SENDER: {e}")))
        })
        .transpose()?;
    let platform = match (server, sender) {
        (Some(server), Some(sender)) => Some(PlatformMail { server, sender }),
        (None, None) => None,
        (Some(_), None) => {
            return Err(ConfigError(
                "LOKET_PLATFORM_SENDER: required with LOKET_PLATFORM_SMTP_URL, e.g. Loket <noreply@example.org>".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(ConfigError(
                "LOKET_PLATFORM_SMTP_URL: required with LOKET_PLATFORM_SENDER, e.g. smtps://user:pass@smtp.example.org:465".into(),
            ));
        }
    };
    Ok(MailConfig {
        retry_schedule,
        platform,
        ca_file: vars.get("LOKET_SMTP_CA_FILE").map(PathBuf::from),
        timeout: std::time::Duration::from_secs(vars.positive("LOKET_SMTP_TIMEOUT", 30)? as u64),
        ..MailConfig::default()
    })
}

/// `loket.db` keeps its key in `loket.db.key`.
fn key_file_for(db: &std::path::Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".key");
    db.with_file_name(name)
}

fn write_private_file(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_sane() {
        let (s, w) = Settings::from_vars(vars(&[])).unwrap();
        assert_eq!(s.database, BackendKind::Sqlite("loket.db".into()));
        assert_eq!(s.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.max_body_bytes, 1024 * 1024);
        assert_eq!(s.pool_timeout, std::time::Duration::from_secs(3));
        assert_eq!(s.max_header_bytes, 32 * 1024);
        assert_eq!(s.client_request_timeout, std::time::Duration::from_secs(5));
        assert_eq!(s.keep_alive, std::time::Duration::from_secs(5));
        assert_eq!(s.client_body_timeout, std::time::Duration::from_secs(60));
        assert!(w.is_empty());
    }

    #[test]
    fn absolute_sqlite_paths_work() {
        let (s, _) = Settings::from_vars(vars(&[(
            "LOKET_DATABASE_URL",
            "sqlite:///var/lib/loket/loket.db",
        )]))
        .unwrap();
        assert_eq!(
            s.database,
            BackendKind::Sqlite("/var/lib/loket/loket.db".into())
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (k, v) in [
            ("LOKET_ADDR", "nonsense"),
            ("LOKET_MAX_BODY_BYTES", "-1"),
            ("LOKET_MAIL_INBOUND_MAX_BYTES", "0"),
            ("LOKET_DATABASE_URL", "mysql://x"),
            ("LOKET_SECRET_KEY", "short"),
            ("LOKET_LOG_FORMAT", "xml"),
            ("LOKET_WEBHOOK_ALLOWED_HOSTS", "10.0.0.0/99"),
            ("LOKET_WEBHOOK_RETRY_SCHEDULE", "1h,soon"),
            ("LOKET_WEBHOOK_TIMEOUT", "0"),
            ("LOKET_WEBHOOK_DISABLE_AFTER", "5"),
            ("LOKET_ATTACHMENTS_URL", "ftp://files.example.org/x"),
            ("LOKET_ATTACHMENTS_URL", "file://relative/dir"),
            ("LOKET_ATTACHMENT_MAX_BYTES", "0"),
            ("LOKET_DATABASE_POOL_TIMEOUT", "0"),
            ("LOKET_MAX_HEADER_BYTES", "lots"),
            ("LOKET_CLIENT_REQUEST_TIMEOUT", "0"),
            ("LOKET_CLIENT_BODY_TIMEOUT", "soon"),
            ("LOKET_KEEP_ALIVE", "-1"),
            ("LOKET_MAX_CONNECTIONS", "0"),
        ] {
            let e = Settings::from_vars(vars(&[(k, v)])).unwrap_err();
            assert!(e.0.starts_with(k), "{e}");
            assert!(!e.0.contains('\n'));
        }
    }

    #[test]
    fn attachments_default_beside_the_sqlite_file() {
        let (s, _) = Settings::from_vars(vars(&[(
            "LOKET_DATABASE_URL",
            "sqlite:///var/lib/loket/loket.db",
        )]))
        .unwrap();
        assert_eq!(s.attachments_url(), "file:///var/lib/loket/attachments");
        assert_eq!(s.attachment_max_bytes, 10 * 1024 * 1024);
        let (s, _) = Settings::from_vars(vars(&[
            ("LOKET_ATTACHMENTS_URL", "s3://bucket/loket"),
            ("LOKET_ATTACHMENT_MAX_BYTES", "2048"),
        ]))
        .unwrap();
        assert_eq!(s.attachments_url(), "s3://bucket/loket");
        assert_eq!(s.attachment_max_bytes, 2048);
    }

    #[test]
    fn unknown_variables_warn() {
        let (_, w) = Settings::from_vars(vars(&[
            ("LOKET_ADRR", "x"),
            ("LOKET_TEST_BACKEND", "sqlite"),
        ]))
        .unwrap();
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("LOKET_ADRR"));
    }

    #[test]
    fn mail_settings_never_allow_plain_text() {
        let (s, _) = Settings::from_vars(vars(&[
            (
                "LOKET_PLATFORM_SMTP_URL",
                "smtp://u:p@mail.example.org:587?tls=starttls",
            ),
            ("LOKET_PLATFORM_SENDER", "Loket <noreply@example.org>"),
            ("LOKET_MAIL_RETRY_SCHEDULE", "1s,2s"),
        ]))
        .unwrap();
        let platform = s.mail.platform.unwrap();
        assert_eq!(platform.server.port, 587);
        assert_eq!(s.mail.retry_schedule.retries(), 2);
        for (k, v) in [
            ("LOKET_PLATFORM_SMTP_URL", "smtp://u:p@mail.example.org:25"),
            (
                "LOKET_PLATFORM_SMTP_URL",
                "smtp://mail.example.org?tls=none",
            ),
            ("LOKET_MAIL_RETRY_SCHEDULE", "soon"),
            ("LOKET_SMTP_TIMEOUT", "0"),
        ] {
            let e = Settings::from_vars(vars(&[(k, v)])).unwrap_err();
            assert!(e.0.starts_with(k), "{e}");
        }
    }

    #[test]
    fn key_file_sits_beside_the_database() {
        assert_eq!(
            key_file_for(std::path::Path::new("/d/loket.db")),
            PathBuf::from("/d/loket.db.key")
        );
    }
}
