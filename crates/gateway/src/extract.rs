//! How framework extractor failures become problems: malformed JSON 400, a JSON body of the
//! wrong shape 422 naming the field, oversized bodies 413, wrong content type 415, bad query
//! parameters 400, unparsable path ids 404.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError, UrlencodedError};
use actix_web::{HttpRequest, web};
use loket_common::{Code, Error, InvalidParam};

use crate::problem::ApiError;

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let e = match err {
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => Error::new(
            Code::PayloadTooLarge,
            format!("The request body exceeds {limit} bytes."),
        ),
        JsonPayloadError::ContentType => Error::new(
            Code::UnsupportedMediaType,
            "The request body must be `application/json`.",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            let msg = e.to_string();
            let name = field_in_message(&msg).unwrap_or_else(|| "body".to_owned());
            Error::invalid_fields(vec![InvalidParam {
                name,
                reason: strip_position(&msg),
            }])
        }
        JsonPayloadError::Deserialize(e) => Error::new(
            Code::MalformedRequest,
            format!(
                "The body is not valid JSON: {}",
                strip_position(&e.to_string())
            ),
        ),
        other => Error::new(
            Code::MalformedRequest,
            format!("The body could not be read: {other}"),
        ),
    };
    ApiError(e).into()
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError(query_problem(err)).into()
}

/// The 400 problem for a query string that does not parse, naming the parameter.
pub(crate) fn query_problem(err: QueryPayloadError) -> Error {
    let msg = err.to_string();
    let name = field_in_message(&msg).unwrap_or_else(|| "query".to_owned());
    let mut e = Error::new(
        Code::MalformedRequest,
        format!("Invalid query parameter: {msg}"),
    );
    e.invalid_params.push(InvalidParam { name, reason: msg });
    e
}

fn form_error(err: UrlencodedError, _req: &HttpRequest) -> actix_web::Error {
    let e = match err {
        UrlencodedError::Overflow { limit, .. } => Error::new(
            Code::PayloadTooLarge,
            format!("The request body exceeds {limit} bytes."),
        ),
        UrlencodedError::ContentType => Error::new(
            Code::UnsupportedMediaType,
            "The request body must be `application/x-www-form-urlencoded`.",
        ),
        other => Error::new(
            Code::MalformedRequest,
            format!("The form body is invalid: {other}"),
        ),
    };
    ApiError(e).into()
}

fn path_error(_err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError(Error::new(
        Code::NotFound,
        "No resource exists at this path.",
    ))
    .into()
}

/// serde names the offending field in backticks: "missing field `name`", "unknown field `x`".
fn field_in_message(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    let field = &msg[start..start + len];
    (!field.is_empty()
        && field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.'))
    .then(|| field.to_owned())
}

fn strip_position(msg: &str) -> String {
    msg.split(" at line ").next().unwrap_or(msg).to_owned()
}

/// Registers the extractor configurations on an app or scope.
pub fn configure(cfg: &mut web::ServiceConfig, max_body_bytes: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(max_body_bytes)
            .error_handler(json_error),
    )
    .app_data(
        web::FormConfig::default()
            .limit(max_body_bytes)
            .error_handler(form_error),
    )
    .app_data(web::PayloadConfig::default().limit(max_body_bytes))
    .app_data(web::QueryConfig::default().error_handler(query_error))
    .app_data(web::PathConfig::default().error_handler(path_error));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_field_serde_names() {
        assert_eq!(
            field_in_message("missing field `name` at line 1 column 2").as_deref(),
            Some("name")
        );
        assert_eq!(
            field_in_message("invalid type: string \"x\", expected u32"),
            None
        );
    }
}
