//! The OpenAPI 3.1 document, collected from every domain's handlers.
//!
//! [`document`] also adds what every operation shares, so handlers document only their own
//! answers: the problem responses of the error conventions (`503` with `Retry-After` on every
//! operation that needs the database), the `Idempotency-Key` header on POST, the OAuth2
//! security schemes with the permission catalogue as scopes, and the OpenAPI `links` from each
//! create (`201`) to the operations on what it created ([`add_links`]).

use loket_common::{InvalidParam, Permission, Problem};
use utoipa::OpenApi;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::{Link, LinkBuilder};
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{
    ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes, SecurityScheme,
};
use utoipa::openapi::{
    ContentBuilder, ObjectBuilder, OpenApi as OpenApiDoc, Ref, RefOr, Required, ResponseBuilder,
    Server, Type,
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
    add_links(&mut doc);
    doc
}

/// Links every `201` of a `POST /…/things` to the operations under `/…/things/{param}` (read,
/// change, delete, actions, nested lists): the new parameter is taken from the created
/// object's body (`id`, or the field named like the parameter: `number`, `version`), the
/// others from the request path. Clients (and schemathesis's stateful phase) can follow them.
pub fn add_links(doc: &mut OpenApiDoc) {
    let json = serde_json::to_value(&*doc).unwrap_or_default();
    let methods = ["get", "post", "put", "patch", "delete"];
    let mut links: Vec<(String, String, Link)> = Vec::new();
    for (path, item) in json["paths"].as_object().into_iter().flatten() {
        let Some(created) = item["post"]["responses"]["201"].as_object() else {
            continue;
        };
        let body = &created["content"]["application/json"]["schema"];
        let prefix = format!("{path}/");
        for (target, target_item) in json["paths"].as_object().into_iter().flatten() {
            let Some(rest) = target.strip_prefix(&prefix) else {
                continue;
            };
            let mut segs = rest.split('/');
            let Some(param) = segs
                .next()
                .and_then(|s| s.strip_prefix('{'))
                .and_then(|s| s.strip_suffix('}'))
            else {
                continue;
            };
            if segs.any(|s| s.starts_with('{')) {
                continue;
            }
            let field = if has_property(&json, body, param) {
                param
            } else {
                "id"
            };
            if !has_property(&json, body, field) {
                continue;
            }
            for method in methods {
                let Some(id) = target_item[method]["operationId"].as_str() else {
                    continue;
                };
                // utoipa 5.5 writes `Link::operation_id` as `operation_id`, not the
                // `operationId` OpenAPI names it: the field goes in through the extensions.
                let target_id = Extensions::from_iter([("operationId", id)]);
                let mut link = LinkBuilder::new()
                    .extensions(Some(target_id))
                    .parameter(param, format!("$response.body#/{field}"))
                    .description(format!("The created object's `{field}` as `{param}`."));
                for outer in path
                    .split('/')
                    .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                {
                    link = link.parameter(outer, format!("$request.path.{outer}"));
                }
                links.push((path.clone(), id.to_owned(), link.build()));
            }
        }
    }
    for (path, name, link) in links {
        if let Some(RefOr::T(created)) = doc
            .paths
            .paths
            .get_mut(&path)
            .and_then(|item| item.post.as_mut())
            .and_then(|op| op.responses.responses.get_mut("201"))
        {
            created.links.insert(name, RefOr::T(link));
        }
    }
}

/// Whether the schema (through `$ref`, `allOf`, `oneOf`) has the property.
fn has_property(doc: &serde_json::Value, schema: &serde_json::Value, name: &str) -> bool {
    if let Some(r) = schema["$ref"].as_str() {
        let resolved = &doc["components"]["schemas"][r.rsplit('/').next().unwrap_or_default()];
        return has_property(doc, resolved, name);
    }
    schema["properties"].get(name).is_some()
        || ["allOf", "oneOf", "anyOf"].iter().any(|k| {
            schema[*k]
                .as_array()
                .is_some_and(|items| items.iter().any(|s| has_property(doc, s, name)))
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every link names an operation of the document and gives each of its path parameters.
    #[test]
    fn links_name_operations_and_all_their_path_parameters() {
        let doc = serde_json::to_value(document()).unwrap_or_default();
        let mut operations = std::collections::BTreeMap::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for op in item.as_object().into_iter().flatten().map(|(_, op)| op) {
                if let Some(id) = op["operationId"].as_str() {
                    assert!(
                        operations.insert(id.to_owned(), path.clone()).is_none(),
                        "operationId {id} twice"
                    );
                }
            }
        }
        let mut links = 0;
        for item in doc["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, i)| i)
        {
            let Some(created) = item["post"]["responses"]["201"].as_object() else {
                continue;
            };
            for (name, link) in created
                .get("links")
                .and_then(|l| l.as_object())
                .into_iter()
                .flatten()
            {
                let target = link["operationId"].as_str().unwrap_or_default();
                let path = operations
                    .get(target)
                    .map(String::as_str)
                    .unwrap_or_default();
                assert!(!path.is_empty(), "link {name} names no operation");
                let params: Vec<&str> = path
                    .split('/')
                    .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                    .collect();
                let given: Vec<&str> = link["parameters"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k.as_str())
                    .collect();
                let mut wanted = params.clone();
                wanted.sort_unstable();
                assert_eq!(given, wanted, "link {name}");
                links += 1;
            }
        }
        assert!(links > 80, "{links} links");
    }
}
