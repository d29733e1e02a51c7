//! Request middleware, outermost first: request id and span, security headers, problem
//! finishing, the request head and body limits, bearer authentication (`crate::auth`), the
//! operation's permission (`crate::auth::require_permission`), idempotency.

pub mod idempotency;
pub mod limits;
pub mod problems;
pub mod request_id;
pub mod security_headers;
