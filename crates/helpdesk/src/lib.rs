//! The helpdesk around the tickets (issue 9, seed 003 §2, §4, §5): releases and their notes,
//! consultation meetings, the public status page of the SaaS service and the user forum.
//!
//! Permissions: the same `tickets:read` / `tickets:write` as the tickets (one helpdesk product,
//! the same staff and customer contacts). Whether a caller is staff or a customer is decided as
//! for tickets ([`loket_tickets::service::viewer`]): a token impersonating a customer contact is
//! a customer, who reads releases, meetings and the status page and posts in the forum; every
//! other caller holding the permission is staff, who also writes them.
//!
//! Releases, meetings and the status page belong to one tenant (R-TEN). The forum deliberately
//! spans tenants: it is the vendor's user community (see [`forum`]).

pub mod api;
pub mod events;
pub mod forum;
pub mod meetings;
pub mod releases;
pub mod status;

use loket_common::{Error, Principal, Result, SharedClock};
use loket_mail::Mail;
use loket_storage::{AnyConnection, Db};
use loket_tickets::service::{Viewer, viewer};

/// The helpdesk service.
#[derive(Clone)]
pub struct Helpdesk {
    db: Db,
    clock: SharedClock,
    mail: Mail,
    /// The absolute public base URL without trailing slash, for release-notes links.
    public_url: String,
}

impl Helpdesk {
    /// The service over `db`.
    pub fn new(db: Db, clock: SharedClock, mail: Mail, public_url: String) -> Self {
        Helpdesk {
            db,
            clock,
            mail,
            public_url,
        }
    }
}

/// Refuses customers (impersonated customer contacts): writes are for staff.
pub(crate) fn require_staff(conn: &mut AnyConnection, p: &Principal) -> Result<()> {
    match viewer(conn, p)? {
        Viewer::Staff => Ok(()),
        Viewer::Customer { .. } => Err(Error::forbidden(
            "Customers read this; changing it is for staff.",
        )),
    }
}

/// Message text: not only white space, at most `max` characters, no control characters but tab
/// and line breaks (the `pattern` of the OpenAPI document).
pub(crate) fn check_body(
    v: &mut loket_common::validate::Validator,
    name: &str,
    value: &str,
    max: usize,
) {
    if value.trim().is_empty() {
        v.fail(name, "must not be empty");
    } else if value.chars().count() > max {
        v.fail(name, format!("must be at most {max} characters"));
    } else if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        v.fail(
            name,
            "must not contain control characters other than tab and line breaks",
        );
    }
}

/// Stored text that must be one of an enum's values.
pub(crate) fn stored<T>(what: &str, v: Option<T>, raw: &str) -> Result<T> {
    v.ok_or_else(|| Error::internal(format!("stored {what} `{raw}` is unknown")))
}
