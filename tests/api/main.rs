//! The one integration-test binary: the real server on a random port, a fresh database per test
//! (SQLite by default; `LOKET_TEST_BACKEND=postgres` for PostgreSQL), a real HTTP client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod agenda;
mod attachments;
mod cli;
mod customers;
mod helpdesk;
mod helpers;
mod inbound;
mod mail;
mod oauth;
mod owasp;
mod platform;
mod ticket_search;
mod tickets;
mod webhooks;
