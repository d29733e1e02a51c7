//! Talking to SMTP servers with lettre (tokio, rustls), one step at a time so a failure can be
//! named in plain words: DNS, connection, TLS, authentication, or the server's answer to the
//! message.
//!
//! R-TLS: every connection is TLS, either from the first byte (`implicit`) or upgraded with a
//! STARTTLS the server must offer (`starttls`); nothing is sent in plain text. Certificates are
//! always verified, against the Mozilla roots plus `LOKET_SMTP_CA_FILE`.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;

use crate::api::{SmtpCheck, SmtpStep, TlsMode};

/// Where and how to reach a server.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// TLS mode.
    pub tls: TlsMode,
    /// User name for AUTH.
    pub username: Option<String>,
    /// Password for AUTH.
    pub password: Option<String>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Why a conversation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The step that failed.
    pub step: SmtpStep,
    /// Whether trying again later may work (everything but a 5xx answer to the message).
    pub temporary: bool,
    /// What happened, in plain words.
    pub message: String,
    /// The server's answer, if it gave one.
    pub answer: Option<String>,
}

impl Failure {
    fn temporary(step: SmtpStep, message: String, answer: Option<String>) -> Self {
        Failure {
            step,
            temporary: true,
            message,
            answer,
        }
    }

    /// As an API check result.
    pub fn to_check(&self) -> SmtpCheck {
        SmtpCheck {
            ok: false,
            failed_step: Some(self.step),
            message: self.message.clone(),
            smtp_answer: self.answer.clone(),
        }
    }
}

/// The SMTP client: trusted roots, time limit, EHLO name.
#[derive(Clone)]
pub struct Smtp {
    roots: Option<Certificate>,
    timeout: Duration,
    hello: ClientId,
}

impl fmt::Debug for Smtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Smtp")
            .field("extra_roots", &self.roots.is_some())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The server's answer as one line: `550 5.1.1 User unknown`.
pub fn answer_text(r: &Response) -> String {
    let lines: Vec<&str> = r.message().collect();
    format!("{} {}", r.code(), lines.join(" "))
        .trim()
        .to_owned()
}

/// The answer carried by an error for a negative reply.
fn error_answer(e: &SmtpError) -> Option<String> {
    let code = e.status()?;
    let text = std::error::Error::source(e)
        .map(|s| s.to_string())
        .unwrap_or_default();
    Some(format!("{code} {text}").trim().to_owned())
}

/// The innermost readable cause of an error.
fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        last = s.to_string();
        cur = s.source();
    }
    last
}

/// The first I/O error in an error's chain.
fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        cur = err.source();
    }
    None
}

fn is_connect_failure(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        kind,
        ConnectionRefused
            | TimedOut
            | HostUnreachable
            | NetworkUnreachable
            | AddrNotAvailable
            | AddrInUse
            | NotConnected
            | PermissionDenied
    )
}

fn tls_words(detail: &str) -> String {
    if detail.contains("certificate") || detail.contains("Certificate") {
        format!(
            "the server's certificate is not trusted or not valid for this host name ({detail})"
        )
    } else {
        detail.to_owned()
    }
}

impl Smtp {
    /// A client trusting the Mozilla roots plus the certificates in `extra_roots_pem`.
    pub fn new(extra_roots_pem: Option<&[u8]>, timeout: Duration) -> Result<Self, String> {
        let roots = match extra_roots_pem {
            None => None,
            Some(pem) => {
                let text = String::from_utf8_lossy(pem);
                if !text.contains("-----BEGIN CERTIFICATE-----") {
                    return Err("contains no PEM certificate".into());
                }
                let cert = Certificate::from_pem(pem)
                    .map_err(|e| format!("is not a valid PEM certificate file: {e}"))?;
                // Building TLS parameters once proves the certificates are usable.
                TlsParameters::builder("localhost".to_owned())
                    .add_root_certificate(cert.clone())
                    .build_rustls()
                    .map_err(|e| format!("has a certificate that cannot be used: {e}"))?;
                Some(cert)
            }
        };
        Ok(Smtp {
            roots,
            timeout,
            hello: ClientId::default(),
        })
    }

    fn tls_parameters(&self, host: &str) -> Result<TlsParameters, Failure> {
        let mut b = TlsParameters::builder(host.to_owned());
        if let Some(c) = &self.roots {
            b = b.add_root_certificate(c.clone());
        }
        b.build_rustls().map_err(|e| {
            Failure::temporary(
                SmtpStep::Tls,
                format!("TLS cannot be set up for `{host}`: {}", cause(&e)),
                None,
            )
        })
    }

    async fn limited<T>(
        &self,
        step: SmtpStep,
        what: &str,
        f: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, Failure> {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(r) => r,
            Err(_) => Err(Failure::temporary(
                step,
                format!(
                    "{what} did not finish within {} seconds.",
                    self.timeout.as_secs()
                ),
                None,
            )),
        }
    }

    async fn resolve(&self, ep: &Endpoint) -> Result<Vec<SocketAddr>, Failure> {
        let target = format!("{}:{}", ep.host, ep.port);
        self.limited(SmtpStep::Dns, &format!("Looking up `{}`", ep.host), async {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((ep.host.as_str(), ep.port))
                .await
                .map_err(|e| {
                    Failure::temporary(
                        SmtpStep::Dns,
                        format!("The host name `{}` could not be found (DNS): {e}.", ep.host),
                        None,
                    )
                })?
                .collect();
            if addrs.is_empty() {
                return Err(Failure::temporary(
                    SmtpStep::Dns,
                    format!("The host name in `{target}` has no address (DNS)."),
                    None,
                ));
            }
            Ok(addrs)
        })
        .await
    }

    /// Connects, secures and logs in; the connection is ready for a message.
    async fn open(&self, ep: &Endpoint) -> Result<AsyncSmtpConnection, Failure> {
        let addrs = self.resolve(ep).await?;
        let target = format!("{}:{}", ep.host, ep.port);
        let implicit = ep.tls == TlsMode::Implicit;
        let tls = if implicit {
            Some(self.tls_parameters(&ep.host)?)
        } else {
            None
        };
        let mut conn = self
            .limited(
                SmtpStep::Connection,
                &format!("Connecting to {target}"),
                async {
                    AsyncSmtpConnection::connect_tokio1(
                        &addrs[..],
                        Some(self.timeout),
                        &self.hello,
                        tls,
                        None,
                    )
                    .await
                    .map_err(|e| self.connect_failure(&e, &target, implicit))
                },
            )
            .await?;
        if !implicit {
            if !conn.can_starttls() {
                conn.abort().await;
                return Err(Failure::temporary(
                    SmtpStep::Tls,
                    format!(
                        "The server at {target} does not offer STARTTLS, and Loket never sends mail in plain text (R-TLS). \
                         If this port expects TLS from the start, use tls `implicit`."
                    ),
                    None,
                ));
            }
            let params = self.tls_parameters(&ep.host)?;
            let upgraded = self
                .limited(SmtpStep::Tls, &format!("STARTTLS with {target}"), async {
                    conn.starttls(params, &self.hello).await.map_err(|e| {
                        Failure::temporary(
                            SmtpStep::Tls,
                            format!(
                                "The TLS handshake (STARTTLS) with {target} failed: {}.",
                                tls_words(&cause(&e))
                            ),
                            error_answer(&e),
                        )
                    })
                })
                .await;
            if let Err(f) = upgraded {
                conn.abort().await;
                return Err(f);
            }
        }
        if let Err(f) = self.login(&mut conn, ep, &target).await {
            conn.abort().await;
            return Err(f);
        }
        Ok(conn)
    }

    fn connect_failure(&self, e: &SmtpError, target: &str, implicit: bool) -> Failure {
        if let Some(answer) = error_answer(e) {
            return Failure::temporary(
                SmtpStep::Connection,
                format!("The server at {target} refused the connection."),
                Some(answer),
            );
        }
        let detail = cause(e);
        match io_kind(e) {
            Some(k) if is_connect_failure(k) => Failure::temporary(
                SmtpStep::Connection,
                format!("Could not connect to {target}: {detail}."),
                None,
            ),
            _ if implicit => Failure::temporary(
                SmtpStep::Tls,
                format!(
                    "The TLS handshake with {target} failed: {}. Check that this port expects TLS from the start (implicit).",
                    tls_words(&detail)
                ),
                None,
            ),
            _ => Failure::temporary(
                SmtpStep::Connection,
                format!("The connection to {target} failed: {detail}."),
                None,
            ),
        }
    }

    async fn login(
        &self,
        conn: &mut AsyncSmtpConnection,
        ep: &Endpoint,
        target: &str,
    ) -> Result<(), Failure> {
        let creds = match (&ep.username, &ep.password) {
            (None, None) => return Ok(()),
            (Some(u), Some(p)) => Credentials::new(u.clone(), p.clone()),
            (Some(_), None) => {
                return Err(Failure::temporary(
                    SmtpStep::Authentication,
                    "A user name is configured but no password; set the password.".into(),
                    None,
                ));
            }
            (None, Some(_)) => {
                return Err(Failure::temporary(
                    SmtpStep::Authentication,
                    "A password is configured but no user name; set the user name.".into(),
                    None,
                ));
            }
        };
        self.limited(
            SmtpStep::Authentication,
            &format!("Logging in at {target}"),
            async {
                conn.auth(&[Mechanism::Plain, Mechanism::Login], &creds)
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        let answer = error_answer(&e);
                        let message = if answer.is_some() {
                            format!("The server at {target} refused the user name or password.")
                        } else if e.is_client() {
                            format!(
                                "The server at {target} offers no login method Loket supports (PLAIN or LOGIN): {}.",
                                cause(&e)
                            )
                        } else {
                            format!("Logging in at {target} failed: {}.", cause(&e))
                        };
                        Failure::temporary(SmtpStep::Authentication, message, answer)
                    })
            },
        )
        .await
    }

    /// Connects, secures the connection and logs in, then says goodbye.
    pub async fn check(&self, ep: &Endpoint) -> SmtpCheck {
        match self.open(ep).await {
            Ok(mut conn) => {
                let _ = tokio::time::timeout(self.timeout, conn.quit()).await;
                SmtpCheck {
                    ok: true,
                    failed_step: None,
                    message: format!(
                        "Connected to {}:{} over TLS{}.",
                        ep.host,
                        ep.port,
                        if ep.username.is_some() {
                            " and logged in"
                        } else {
                            " (no login configured)"
                        }
                    ),
                    smtp_answer: None,
                }
            }
            Err(f) => f.to_check(),
        }
    }

    /// Sends one message; returns the server's answer. A 5xx answer to the message is a
    /// permanent failure, everything else temporary.
    pub async fn send(
        &self,
        ep: &Endpoint,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<String, Failure> {
        let mut conn = self.open(ep).await?;
        let target = format!("{}:{}", ep.host, ep.port);
        let sent = self
            .limited(
                SmtpStep::Sending,
                &format!("Handing the message to {target}"),
                async {
                    conn.send(envelope, message).await.map_err(|e| {
                        let answer = error_answer(&e);
                        if e.is_permanent() {
                            Failure {
                                step: SmtpStep::Sending,
                                temporary: false,
                                message: format!("The server at {target} refused the message."),
                                answer,
                            }
                        } else if e.is_transient() {
                            Failure::temporary(
                                SmtpStep::Sending,
                                format!(
                                    "The server at {target} could not take the message now; it will be tried again."
                                ),
                                answer,
                            )
                        } else if e.is_client() {
                            Failure {
                                step: SmtpStep::Sending,
                                temporary: false,
                                message: format!(
                                    "The message cannot be sent through {target}: {}.",
                                    cause(&e)
                                ),
                                answer,
                            }
                        } else {
                            Failure::temporary(
                                SmtpStep::Sending,
                                format!("The connection to {target} broke off: {}.", cause(&e)),
                                answer,
                            )
                        }
                    })
                },
            )
            .await;
        match sent {
            Ok(response) => {
                let _ = tokio::time::timeout(self.timeout, conn.quit()).await;
                Ok(answer_text(&response))
            }
            Err(f) => {
                conn.abort().await;
                Err(f)
            }
        }
    }
}
