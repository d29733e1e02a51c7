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
pub mod contacts;
pub mod events;
pub mod inbound;
pub mod jobs;
pub mod model;
pub mod number;
pub mod outgoing;
pub mod privacy;
pub mod public;
pub mod reports;
pub mod search;
pub mod service;
pub mod tracking;

use loket_common::SharedClock;
use loket_common::crypto::SecretKey;
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
    /// Signs our outgoing Message-IDs (R-THREAD) and keys the hashes of the codes mailed to
    /// customer contacts; see [`Tickets::with_secret_key`].
    key: SecretKey,
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
            key: SecretKey::generate(),
            attachments: attachments::AttachmentStore::memory(attachments::DEFAULT_MAX_BYTES),
        }
    }

    /// Uses the server's secret key for the Message-IDs of outgoing mail (so replies thread
    /// across restarts and processes, `loket mail ingest` included) and for the hashes of the
    /// codes mailed to customer contacts (see [`contacts`]). Without it a random key is used;
    /// the gateway always sets it.
    #[must_use]
    pub fn with_secret_key(mut self, key: SecretKey) -> Self {
        self.key = key;
        self
    }

    /// Uses `store` for attachment bytes (the default keeps them in memory only).
    #[must_use]
    pub fn with_attachment_store(mut self, store: attachments::AttachmentStore) -> Self {
        self.attachments = store;
        self
    }
}
