//! Limits on how a request arrives, checked before authentication or any handler runs:
//!
//! - a request line plus headers larger than `LOKET_MAX_HEADER_BYTES` answers
//!   `431 headers-too-large` (the HTTP layer itself refuses heads over 128 KiB and closes the
//!   connection);
//! - a body that has not fully arrived `LOKET_CLIENT_BODY_TIMEOUT` after the headers answers
//!   `408 request-timeout` and the connection is closed (a client trickling its body cannot
//!   hold a connection for ever). Slow headers are cut off by the HTTP layer after
//!   `LOKET_CLIENT_REQUEST_TIMEOUT` (a bare 408).

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage, web};
use futures_util::Stream;
use loket_common::Code;

use crate::problem::{ApiError, problem_response};
use crate::state::AppState;

/// Bytes a header line takes besides its name and value: `": "` and CRLF.
const HEADER_OVERHEAD: usize = 4;

/// The size of the request head as sent: request line and header lines.
pub fn head_bytes(req: &ServiceRequest) -> usize {
    let line =
        req.method().as_str().len() + 1 + req.uri().to_string().len() + " HTTP/1.1\r\n".len();
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + HEADER_OVERHEAD)
        .sum();
    line + headers
}

fn has_body(req: &ServiceRequest) -> bool {
    let length = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    length.is_some_and(|n| n > 0) || req.headers().contains_key(TRANSFER_ENCODING)
}

/// The middleware function.
pub async fn limit_request(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let Some((max_header_bytes, body_timeout)) = req
        .app_data::<web::Data<AppState>>()
        .map(|s| (s.settings.max_header_bytes, s.settings.client_body_timeout))
    else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    if head_bytes(&req) > max_header_bytes {
        let e = loket_common::Error::new(
            Code::HeadersTooLarge,
            format!("The request line and headers exceed {max_header_bytes} bytes."),
        );
        return Ok(req.error_response(ApiError(e)).map_into_right_body());
    }
    if !has_body(&req) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let timed_out = Rc::new(Cell::new(false));
    let body = Deadline {
        inner: req.take_payload(),
        sleep: Box::pin(tokio::time::sleep(body_timeout)),
        timed_out: timed_out.clone(),
        done: false,
    };
    req.set_payload(Payload::Stream {
        payload: Box::pin(body),
    });
    let res = next.call(req).await?;
    if !timed_out.get() {
        return Ok(res.map_into_left_body());
    }
    // Whatever the extractor made of the cut-off body, the answer is 408 and the connection
    // closes (the rest of the body is never read).
    let e = loket_common::Error::new(
        Code::RequestTimeout,
        format!(
            "The request body did not arrive within {} seconds.",
            body_timeout.as_secs()
        ),
    );
    let mut out = problem_response(&e.to_problem());
    out.head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    Ok(res.into_response(out).map_into_right_body())
}

/// The request body, failing once its deadline has passed.
struct Deadline {
    inner: Payload,
    sleep: Pin<Box<tokio::time::Sleep>>,
    timed_out: Rc<Cell<bool>>,
    done: bool,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(item) => Poll::Ready(item),
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.timed_out.set(true);
                    this.done = true;
                    Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the request body did not arrive in time",
                    )))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// How long a body may take by default (`LOKET_CLIENT_BODY_TIMEOUT`).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(60);
