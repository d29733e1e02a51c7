//! Tickets: the helpdesk of seed 003 — intake from the portal, e-mail and phone, ticket numbers,
//! statuses, departments, messages and privacy scanning.
//!
//! Rules (DOMAIN.md "Tickets"): R-THREAD (subject tag / In-Reply-To threading), R-POSTPONE
//! (postponed tickets resolve after their date without a customer reply), R-OWN (a customer sees
//! only tickets filed under their own verified address), R-PRIVACY (messages and attachments are
//! scanned for personal data). Every change emits a `Tickets.*` event into the outbox in the same
//! transaction.

pub mod api;
pub mod attachments;
pub mod confirm;
pub mod events;
pub mod jobs;
pub mod model;
pub mod number;
pub mod privacy;
pub mod public;
pub mod service;

use loket_common::SharedClock;
use loket_mail::Mail;
use loket_storage::Db;

/// The tickets service.
#[derive(Clone)]
pub struct Tickets {
    db: Db,
    clock: SharedClock,
    mail: Mail,
    /// The absolute public base URL without trailing slash, for tracking links.
    public_url: String,
    /// Where attachment bytes are stored, with the size limit.
    attachments: attachments::AttachmentStore,
}

impl Tickets {
    /// The service over `db`.
    pub fn new(db: Db, clock: SharedClock, mail: Mail, public_url: String) -> Self {
        Tickets {
            db,
            clock,
            mail,
            public_url,
            attachments: attachments::AttachmentStore::memory(attachments::DEFAULT_MAX_BYTES),
        }
    }

    /// Uses `store` for attachment bytes (the default keeps them in memory only).
    #[must_use]
    pub fn with_attachment_store(mut self, store: attachments::AttachmentStore) -> Self {
        self.attachments = store;
        self
    }
}
