//! Request middleware, outermost first: request id and span, problem finishing, bearer
//! authentication, idempotency.

pub mod idempotency;
pub mod problems;
pub mod request_id;
