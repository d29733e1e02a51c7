//! Background work of the helpdesk. R-POSTPONE: a postponed ticket whose `postponed_until` has
//! passed without a customer reply (a reply re-opens it and clears the date) is resolved.
//!
//! Not yet wired: the gateway should run [`Tickets::resolve_due_postponed`] every
//! `LOKET_JOBS_INTERVAL` seconds (default 60, tests 1), started and stopped with the server like
//! the webhook and mail workers.

use diesel::prelude::*;
use loket_common::time::to_db;
use loket_common::{Actor, Result, ids};
use loket_storage::schema::tickets;

use crate::Tickets;
use crate::api::{AuthorKind, TicketStatus};
use crate::events::{self, TICKETS_STATUS_CHANGE};
use crate::model::TicketRow;
use crate::service::set_status;

/// Most tickets resolved in one run (the next run takes the rest).
pub const BATCH: i64 = 200;

impl Tickets {
    /// Resolves postponed tickets whose date has passed (all tenants); returns how many.
    pub async fn resolve_due_postponed(&self) -> Result<usize> {
        let now = self.clock.now();
        self.db
            .write(move |c| {
                let due: Vec<TicketRow> = tickets::table
                    .filter(tickets::status.eq(TicketStatus::Postponed.as_str()))
                    .filter(tickets::postponed_until.le(to_db(now)))
                    .order(tickets::postponed_until.asc())
                    .limit(BATCH)
                    .select(TicketRow::as_select())
                    .load(c)?;
                let actor = Actor::system();
                for row in &due {
                    set_status(
                        c,
                        row,
                        TicketStatus::Resolved,
                        AuthorKind::System,
                        actor,
                        now,
                    )?;
                    let ticket = tickets::table
                        .find(&row.id)
                        .select(TicketRow::as_select())
                        .first(c)?
                        .to_api()?;
                    let tenant = ids::parse_stored(&row.tenant_id)?;
                    events::emit(
                        c,
                        TICKETS_STATUS_CHANGE,
                        tenant,
                        ticket.id,
                        &ticket,
                        actor,
                        now,
                    )?;
                }
                Ok(due.len())
            })
            .await
    }
}
