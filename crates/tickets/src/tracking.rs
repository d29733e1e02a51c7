//! The reporter's tracking code (issue 7): staff rotate it (a new code, mailed to the reporter in
//! a fresh confirmation; the old link stops working at once) or revoke it (the public endpoints
//! answer 404 until a new one is made). The code itself is never shown through the API: it goes
//! to the reporter's address only, and only its SHA-256 is stored.

use diesel::prelude::*;
use loket_common::crypto::{random_token, sha256_hex};
use loket_common::time::to_db;
use loket_common::{Permission, Principal, Result};
use loket_storage::schema::tickets;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Tickets;
use crate::api::AuthorKind;
use crate::confirm;
use crate::events::{self, TICKETS_UPDATE};
use crate::service::{TRACKING_CODE_BYTES, load_by_number, load_id, record_history, staff_viewer};

/// `POST /tickets/{number}/tracking-code`: what became of the new code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrackingCodeRotated {
    /// Whether the new tracking link was queued for mailing to the reporter (false: no mail
    /// sender is configured, and the reporter has no working link until one is).
    pub mailed: bool,
}

impl Tickets {
    /// Replaces the tracking code and mails the new link to the reporter (staff).
    pub async fn rotate_tracking_code(
        &self,
        p: &Principal,
        number: String,
    ) -> Result<TrackingCodeRotated> {
        self.change_tracking_code(p, number, true).await
    }

    /// Revokes the tracking code: the link stops working (staff).
    pub async fn revoke_tracking_code(&self, p: &Principal, number: String) -> Result<()> {
        self.change_tracking_code(p, number, false)
            .await
            .map(|_| ())
    }

    async fn change_tracking_code(
        &self,
        p: &Principal,
        number: String,
        rotate: bool,
    ) -> Result<TrackingCodeRotated> {
        p.require(Permission::TicketsWrite)?;
        let (tenant, actor, now, p) = (p.tenant_id, p.actor(), self.clock.now(), p.clone());
        let (mail, public_url) = (self.mail.clone(), self.public_url.clone());
        let outcome = self
            .db
            .write(move |c| {
                let viewer = staff_viewer(c, &p, "Only staff rotate or revoke a tracking code.")?;
                let row = load_by_number(c, tenant, &viewer, &number)?;
                let code = rotate.then(|| random_token(TRACKING_CODE_BYTES));
                diesel::update(tickets::table.find(&row.id))
                    .set((
                        tickets::tracking_code_hash
                            .eq(code.as_deref().map(|c| sha256_hex(c.as_bytes()))),
                        tickets::updated_at.eq(to_db(now)),
                    ))
                    .execute(c)?;
                record_history(
                    c,
                    &row,
                    "tracking_code",
                    None,
                    Some(if rotate { "rotated" } else { "revoked" }),
                    AuthorKind::Staff,
                    actor,
                    now,
                )?;
                let mailed = match &code {
                    Some(code) => confirm::queue(
                        c,
                        &mail,
                        &confirm::Confirmation::of(
                            tenant,
                            &row,
                            &confirm::tracking_url(&public_url, &row.number, code),
                        ),
                    )?,
                    None => false,
                };
                let ticket = load_id(c, &row.id)?.to_api()?;
                events::emit(c, TICKETS_UPDATE, tenant, ticket.id, &ticket, actor, now)?;
                Ok(TrackingCodeRotated { mailed })
            })
            .await?;
        if outcome.mailed {
            self.mail.wake();
        }
        Ok(outcome)
    }
}
