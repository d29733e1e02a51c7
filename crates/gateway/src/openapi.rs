//! The OpenAPI 3.1 document, collected from every domain's handlers.
//!
//! [`document`] also adds what every operation shares, so handlers document only their own
//! answers: the problem responses of the error conventions (`503` with `Retry-After` on every
//! operation that needs the database), the `Idempotency-Key` header on POST, and the OAuth2
//! security schemes with the permission catalogue as scopes.

use loket_common::{InvalidParam, Permission, Problem};
use utoipa::OpenApi;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{
    ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes, SecurityScheme,
};
use utoipa::openapi::{
    ContentBuilder, ObjectBuilder, OpenApi as OpenApiDoc, Ref, Required, ResponseBuilder, Server,
    Type,
};

use crate::http;

/// The paths and schemas of the platform itself.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Loket API",
        description = "Headless REST/OAuth2 back office for occupational-health and care software vendors.\n\n\
            Authenticate at `POST /oauth/token` as an API account: password grant with the 6-digit TOTP code \
            appended to the password (or in a separate `totp` field). Send the access token as \
            `Authorization: Bearer <token>` to the `base_url` from the token response. Every error is an \
            RFC 9457 `application/problem+json` document whose `type` can be dereferenced under `/problems/`. \
            Lists are cursor-paginated (`limit`, `cursor` → `next_cursor`). POST requests honour `Idempotency-Key`.",
        license(name = "EUPL-1.2"),
    ),
    servers((url = "/", description = "The server that serves this document")),
    paths(http::health::health, http::health::ready, http::problems::list_problems, http::problems::get_problem),
    components(schemas(Problem, InvalidParam, http::health::Health, http::problems::ProblemType)),
    tags(
        (name = "platform", description = "Health, readiness and problem types."),
    )
)]
struct PlatformApi;

/// The complete document, as served at `/openapi.json` and committed as `openapi/openapi.json`.
pub fn document() -> OpenApiDoc {
    let mut doc = PlatformApi::openapi();
    doc.merge(http::oauth::OAuthApi::openapi());
    doc.merge(http::accounts::AccountsApi::openapi());
    doc.merge(http::agenda::AgendaApi::openapi());
    doc.merge(http::consultation_types::ConsultationTypesApi::openapi());
    doc.merge(http::appointments::AppointmentsApi::openapi());
    doc.merge(http::call_requests::CallRequestsApi::openapi());
    doc.merge(http::tickets::TicketsApi::openapi());
    doc.merge(http::inbound::InboundApi::openapi());
    doc.merge(http::customers::CustomersApi::openapi());
    doc.merge(http::helpdesk::HelpdeskApi::openapi());
    doc.merge(http::mail::MailApi::openapi());
    doc.merge(http::webhooks::WebhooksApi::openapi());
    doc.servers = Some(vec![Server::new("/")]);
    add_security_schemes(&mut doc);
    for item in doc.paths.paths.values_mut() {
        for (method, op) in [
            ("get", item.get.as_mut()),
            ("post", item.post.as_mut()),
            ("put", item.put.as_mut()),
            ("patch", item.patch.as_mut()),
            ("delete", item.delete.as_mut()),
        ] {
            if let Some(op) = op {
                add_common_responses(op, method);
            }
        }
    }
    doc
}

/// The document as pretty JSON with a trailing newline (the committed form).
pub fn document_json() -> String {
    let mut s = document().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}

fn add_security_schemes(doc: &mut OpenApiDoc) {
    let scopes = || {
        Scopes::from_iter(
            Permission::ALL
                .iter()
                .map(|p| (p.as_str().to_owned(), p.description().to_owned())),
        )
    };
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "oauth2",
        SecurityScheme::OAuth2(OAuth2::with_description(
            [
                Flow::Password(Password::new("/oauth/token", scopes())),
                Flow::ClientCredentials(ClientCredentials::new("/oauth/token", scopes())),
            ],
            "API accounts log in at /oauth/token. Password flow: username, and password followed by the \
             current 6-digit TOTP code. Client-credentials flow: private_key_jwt client assertion (RFC 7523).",
        )),
    );
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
}

fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

fn add_common_responses(op: &mut Operation, method: &str) {
    let secured = op.security.as_ref().is_some_and(|reqs| {
        reqs.iter().any(|r| {
            serde_json::to_value(r).is_ok_and(|v| v.as_object().is_some_and(|o| !o.is_empty()))
        })
    });
    let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let has_body = op.request_body.is_some();
    let mut add = |status: &str, description: &str| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| problem(description).into());
    };
    if has_params || has_body {
        add(
            "400",
            "Malformed request: invalid JSON or a parameter of the wrong type.",
        );
    }
    if secured {
        add("401", "Missing, invalid or expired bearer token.");
        add(
            "403",
            "The token lacks the permission this operation requires.",
        );
    }
    if has_params {
        add(
            "404",
            "No such resource (resources of other tenants included).",
        );
    }
    if has_body {
        add("413", "The request body is too large.");
        add("415", "Unsupported content type.");
        add(
            "422",
            "Validation failed; `invalid_params` names each invalid field.",
        );
    }
    if method == "post" {
        add(
            "409",
            "A request with the same Idempotency-Key is in progress, or the change conflicts with current state.",
        );
        add(
            "422",
            "Validation failed, or the Idempotency-Key was used with a different request.",
        );
        let param = ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some("Makes the POST safe to retry: the same key and request replay the stored response for 24 hours."))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(255))))
            .build();
        op.parameters.get_or_insert_with(Vec::new).push(param);
    }
    // Everything outside the platform tag (health, problem types) reads the database.
    let platform = op
        .tags
        .as_ref()
        .is_some_and(|t| t.iter().any(|t| t == "platform"));
    if !platform {
        let unavailable = ResponseBuilder::from(problem(
            "The database is unreachable. Retry after `Retry-After` seconds (a POST with the same `Idempotency-Key`).",
        ))
        .header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer))
                .description(Some("Seconds to wait before retrying."))
                .build(),
        )
        .build();
        op.responses
            .responses
            .entry("503".to_owned())
            .or_insert_with(|| unavailable.into());
    }
}
