//! The shared vocabulary of Loket: error codes and the problem document, ids, time, pagination,
//! the permission catalogue, the calling principal and the server secret key.
//!
//! Every other crate depends on this one; it depends on no other Loket crate and on no web
//! framework or database.

pub mod crypto;
mod db_errors;
pub mod error;
pub mod ids;
pub mod page;
pub mod permission;
pub mod principal;
pub mod schedule;
pub mod time;
pub mod validate;

pub use error::{Code, Error, InvalidParam, Problem, Result};
pub use page::{Page, PageQuery};
pub use permission::{Permission, Permissions};
pub use principal::{Actor, Principal, SubjectKind};
pub use time::{Clock, SharedClock};
