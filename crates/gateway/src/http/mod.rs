//! HTTP handlers, one module per domain, each with `#[utoipa::path]` docs and a `configure`.

pub mod accounts;
pub mod agenda;
pub mod appointments;
pub mod call_requests;
pub mod consultation_types;
pub mod customers;
pub mod fallback;
pub mod health;
pub mod helpdesk;
pub mod inbound;
pub mod mail;
pub mod oauth;
pub mod problems;
pub mod ticket_uploads;
pub mod tickets;
pub mod webhooks;
