//! Request middleware, outermost first: request id and span, problem finishing, the request
//! head and body limits, bearer authentication, idempotency.

pub mod idempotency;
pub mod limits;
pub mod problems;
pub mod request_id;
