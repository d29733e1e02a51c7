//! The Loket gateway: maps HTTP to the domain crates.
//!
//! Dependency direction: gateway → domain crates (accounts, …) → storage → common. Nothing
//! depends on the gateway; domain crates never import actix.

pub mod auth;
pub mod config;
pub mod extract;
pub mod http;
pub mod mail;
pub mod middleware;
pub mod openapi;
pub mod problem;
pub mod rate_limit;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod webhooks;

pub use config::Settings;
pub use startup::Application;
