//! HTTP handlers, one module per domain, each with `#[utoipa::path]` docs and a `configure`.

pub mod accounts;
pub mod fallback;
pub mod health;
pub mod oauth;
pub mod problems;
