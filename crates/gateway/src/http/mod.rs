//! HTTP handlers, one module per domain, each with `#[utoipa::path]` docs and a `configure`.

pub mod fallback;
pub mod health;
pub mod problems;
