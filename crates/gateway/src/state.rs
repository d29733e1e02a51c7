//! What every handler can reach: configuration, the database, the clock and the services.

use std::sync::Arc;

use loket_accounts::Accounts;
use loket_agenda_core::AgendaCore;
use loket_appointments::Appointments;
use loket_call_requests::CallRequests;
use loket_common::SharedClock;
use loket_common::crypto::SecretKey;
use loket_consultation_types::ConsultationTypes;
use loket_helpdesk::Helpdesk;
use loket_mail::Mail;
use loket_storage::Db;
use loket_tickets::Tickets;
use loket_webhooks::Webhooks;

use crate::config::Settings;

/// Shared application state (`web::Data<AppState>`).
pub struct AppState {
    /// Configuration.
    pub settings: Arc<Settings>,
    /// The database.
    pub db: Db,
    /// The clock.
    pub clock: SharedClock,
    /// The server secret key.
    pub secret_key: SecretKey,
    /// The absolute public base URL, without trailing slash (`http://127.0.0.1:8080`).
    pub public_url: String,
    /// Tenants, users, API accounts and tokens.
    pub accounts: Accounts,
    /// Rate limits of the token endpoint.
    pub token_limits: Arc<crate::rate_limit::TokenLimits>,
    /// Agenda: employees, staff, trigger rules and tasks.
    pub agenda: AgendaCore,
    /// Agenda: consultation types and product parameters.
    pub consultation_types: ConsultationTypes,
    /// Agenda: appointments, procedures and reminders.
    pub appointments: Appointments,
    /// Agenda: call requests, availabilities and planning.
    pub call_requests: CallRequests,
    /// The helpdesk: tickets and their messages.
    pub tickets: Tickets,
    /// The helpdesk around the tickets: releases, meetings, status page, forum.
    pub helpdesk: Helpdesk,
    /// Webhook receivers, deliveries and the delivery worker.
    pub webhooks: Webhooks,
    /// Mail servers, senders, templates, the outbox and its worker.
    pub mail: Mail,
}
