//! Mail: the tenant's own outgoing mail servers, verified senders, sending limits,
//! multilingual templates, and the outbox with the worker that sends it.
//!
//! Rules (DOMAIN.md "Mail"): R-TLS (a server is reached over implicit TLS or required STARTTLS,
//! certificates always verified; anything that would send in plain text answers
//! `422 tls-required`), R-VERIFY (a sender is used only after the 6-digit code mailed to its
//! address was entered; `409 sender-unverified`), R-TEN (other tenants' ids answer 404).
//!
//! Sending is at-least-once: a message is rendered into the `mail_outbox` table when queued
//! (inside the caller's transaction, see [`Mail::queue_in`]), and the worker claims it with a
//! lease, sends it with lettre and records the answer. A crash between sending and recording
//! sends it again, with the same `Message-ID`. Temporary failures (4xx, DNS, connection, TLS,
//! authentication) are retried on `LOKET_MAIL_RETRY_SCHEDULE`; a 5xx answer fails the message.
//! A server's limits hold mail back (it stays `queued`) until the window allows it.
//!
//! This crate knows no other domain: the gateway hands it a [`Directory`] through which it asks
//! for the tenant's default culture and a recipient user's language.

pub mod api;
pub mod checks;
pub mod config;
mod message;
pub mod model;
mod outbox;
pub mod render;
mod senders;
mod servers;
pub mod smtp;
mod templates;
mod worker;

use std::sync::{Arc, Mutex};

use loket_common::crypto::SecretKey;
use loket_common::{Result, SharedClock};
use loket_storage::{AnyConnection, Db};
use tokio::sync::Notify;
use uuid::Uuid;

pub use config::{MailConfig, PlatformMail, RetrySchedule, SmtpUrl};
pub use outbox::{DirectMessage, PlatformMessage, set_default_sender_in};

/// What the mail domain needs to know about tenants and their users.
pub trait Directory: Send + Sync + 'static {
    /// The tenant's default culture (`nl-NL`), or `None` for an unknown tenant.
    fn tenant_culture(&self, conn: &mut AnyConnection, tenant_id: Uuid) -> Result<Option<String>>;

    /// The language (culture) of the tenant's user with this e-mail address, if there is one.
    fn user_language(
        &self,
        conn: &mut AnyConnection,
        tenant_id: Uuid,
        email: &str,
    ) -> Result<Option<String>>;
}

struct Inner {
    db: Db,
    clock: SharedClock,
    key: SecretKey,
    config: MailConfig,
    smtp: smtp::Smtp,
    directory: Arc<dyn Directory>,
    /// Wakes the worker (a message was queued).
    wake: Notify,
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// The mail service: servers, senders, limits, templates, settings and the outbox.
#[derive(Clone)]
pub struct Mail {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail").finish_non_exhaustive()
    }
}

impl Mail {
    /// The service; reads `config.ca_file`. Call [`Mail::start`] to run the worker.
    pub fn new(
        db: Db,
        clock: SharedClock,
        key: SecretKey,
        config: MailConfig,
        directory: Arc<dyn Directory>,
    ) -> std::result::Result<Self, String> {
        let pem =
            match &config.ca_file {
                None => None,
                Some(path) => Some(std::fs::read(path).map_err(|e| {
                    format!("LOKET_SMTP_CA_FILE: cannot read {}: {e}", path.display())
                })?),
            };
        let smtp =
            smtp::Smtp::new(pem.as_deref(), config.timeout).map_err(|e| match &config.ca_file {
                Some(path) => format!("LOKET_SMTP_CA_FILE: {} {e}", path.display()),
                None => e,
            })?;
        Ok(Mail {
            inner: Arc::new(Inner {
                db,
                clock,
                key,
                config,
                smtp,
                directory,
                wake: Notify::new(),
                worker: Mutex::new(None),
            }),
        })
    }

    /// The mail settings.
    pub fn config(&self) -> &MailConfig {
        &self.inner.config
    }

    /// Starts the outbox worker on the current tokio runtime (once).
    pub fn start(&self) {
        if let Ok(mut slot) = self.inner.worker.lock()
            && slot.is_none()
        {
            *slot = Some(tokio::spawn(worker::run(self.clone())));
        }
    }

    /// Stops the outbox worker (a message it was sending is sent again later: at-least-once).
    pub fn stop(&self) {
        if let Ok(mut slot) = self.inner.worker.lock()
            && let Some(handle) = slot.take()
        {
            handle.abort();
        }
    }

    /// Tells the worker that messages were queued; call after the queuing transaction
    /// committed (the worker also looks by itself every second).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }
}
