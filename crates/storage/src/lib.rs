//! Storage: one diesel code path over SQLite (embedded default) and PostgreSQL.
//!
//! [`AnyConnection`] is diesel's `MultiConnection` over both backends, so queries are written
//! once against [`schema`]. [`Db`] owns an r2d2 pool and runs every query on tokio's blocking
//! pool, never on the async executor, except SQLite's keyed lookups ([`Db::lookup`]), which take
//! less time than a thread hand-off. Writes go through [`Db::write`]: one transaction, started
//! `BEGIN IMMEDIATE` on SQLite (no lock-upgrade deadlocks), where one writer thread commits
//! concurrent writes together ([`group_commit`]).
//!
//! Migrations (one set per backend under `migrations/`) are embedded and applied at start-up.

pub mod group_commit;
pub mod idempotency;
pub mod outbox;
pub mod pool;
pub mod schema;
pub mod testing;

pub use pool::{AnyConnection, BackendKind, DEFAULT_POOL_TIMEOUT, Db, DbConfig};
