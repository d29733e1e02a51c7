//! The OWASP API Security Top 10 (2023), one test (or a few) per item where it applies (issue 8).
//!
//! Most tests walk the OpenAPI document, so an operation added later is covered without
//! touching this file, and fail naming the operation: every operation is called on a tenant
//! that holds one object of each kind ([`World`]), by a caller who must be refused.
//! What other modules already prove is referenced in the test's comment, not repeated.
//!
//! API10 (unsafe consumption of other APIs) is covered where Loket consumes them: inbound mail
//! is parsed as untrusted input and forged threading headers are refused
//! (`inbound::bad_mail_and_bad_requests_are_refused_and_change_nothing`,
//! `inbound::a_subject_tag_threads_only_from_the_reporter_or_a_cc_and_reopens_a_resolved_ticket`),
//! and a webhook receiver's OAuth2 token endpoint goes through the same SSRF guard
//! ([`api7_receivers_cannot_point_inside`]) with its answers bounded by the webhook timeout
//! (`webhooks::oauth2_receivers_get_a_cached_client_credentials_token_refreshed_on_expiry_and_401`).

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::accounts::{create_account, login_as};
use crate::agenda::{at, id, ts};
use crate::customers::{OUTBOX_MAIL, call, contact, organisation};
use crate::helpers::{Admin, TestApp, json_of, problem, spawn_app_with};

// ---------------------------------------------------------------------------------------------
// The OpenAPI document as a list of operations.

/// One operation of the committed OpenAPI document.
#[derive(Debug, Clone)]
struct Op {
    method: Method,
    /// The path template, e.g. `/api/v1/users/{id}`.
    template: String,
    /// The permission the operation names; `None` for a token of any permission or no token.
    scope: Option<String>,
    /// Whether the operation needs a bearer token.
    secured: bool,
}

impl Op {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.template)
    }

    fn has_params(&self) -> bool {
        self.template.contains('{')
    }

    fn writes(&self) -> bool {
        self.method != Method::GET
    }
}

fn spec() -> Value {
    serde_json::from_str(&loket_gateway::openapi::document_json()).unwrap()
}

fn operations() -> Vec<Op> {
    let doc = spec();
    let mut ops = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (m, op) in item.as_object().unwrap() {
            let method = match m.as_str() {
                "get" => Method::GET,
                "post" => Method::POST,
                "put" => Method::PUT,
                "patch" => Method::PATCH,
                "delete" => Method::DELETE,
                _ => continue,
            };
            let security = op["security"].as_array().cloned().unwrap_or_default();
            let secured = security
                .iter()
                .any(|s| s.as_object().is_some_and(|o| !o.is_empty()))
                && !security
                    .iter()
                    .any(|s| s.as_object().is_some_and(|o| o.is_empty()));
            let scope = security
                .iter()
                .filter_map(|s| s["oauth2"].as_array())
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .next();
            ops.push(Op {
                method,
                template: template.clone(),
                scope,
                secured,
            });
        }
    }
    assert!(
        ops.len() > 150,
        "the document lists {} operations",
        ops.len()
    );
    ops
}

/// A path for `template` whose parameters name nothing that exists.
fn absent_path(template: &str) -> String {
    template
        .split('/')
        .map(|seg| match seg {
            "{number}" => "ZZZ-ZZZZZ-999".to_owned(),
            "{version}" => "99.99.99".to_owned(),
            "{code}" => "no-such-problem".to_owned(),
            s if s.starts_with('{') => Uuid::now_v7().to_string(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn send(
    app: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Response {
    let mut req = app.client.request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    req.send().await.unwrap()
}

/// Status, problem type (if a problem) and body text of an answer.
/// [`send`], then [`answer`].
async fn ask(
    app: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Option<String>, String) {
    answer(send(app, token, method, path, body).await).await
}

async fn answer(res: Response) -> (u16, Option<String>, String) {
    let status = res.status().as_u16();
    let is_problem = res
        .headers()
        .get("content-type")
        .is_some_and(|v| v == "application/problem+json");
    let text = res.text().await.unwrap();
    let kind = is_problem
        .then(|| serde_json::from_str::<Value>(&text).ok())
        .flatten()
        .and_then(|p| p["type"].as_str().map(str::to_owned));
    (status, kind, text)
}

// ---------------------------------------------------------------------------------------------
// One object of every kind.

const SMTP_PASSWORD: &str = "smtp-Pa55word-never-shown";
const RECEIVER_URL: &str = "https://hooks.example.invalid/loket";
const OAUTH_CLIENT_SECRET: &str = "oauth-client-secret-never-shown";

/// A tenant with one object of each kind, made through the API, and the concrete path of every
/// path template of the OpenAPI document.
struct World {
    admin: Admin,
    token: String,
    /// Template (optionally with a query) → concrete path in this tenant.
    paths: BTreeMap<String, String>,
    /// Ids of the objects, by kind.
    ids: BTreeMap<&'static str, String>,
    /// Secrets handed out once (passwords, TOTP secrets, signing secrets, SMTP password).
    secrets: Vec<String>,
    /// A verified customer contact of the tenant's organisation, impersonated.
    customer: String,
    /// Its user id.
    customer_id: String,
}

impl World {
    fn path(&self, template: &str) -> String {
        match self.paths.get(template) {
            Some(p) => p.clone(),
            None if !template.contains('{') => template.to_owned(),
            None => panic!("the World has no object for {template}: add one to World::new"),
        }
    }

    fn id(&self, kind: &str) -> &str {
        &self.ids[kind]
    }

    async fn created(&self, app: &TestApp, path: &str, body: Value) -> Value {
        let res = call(app, &self.token, Method::POST, path, Some(body)).await;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert!(
            status == 201 || status == 200 || status == 202,
            "POST {path}: {status} {text}"
        );
        serde_json::from_str(&text).unwrap()
    }

    async fn new(app: &TestApp, tenant: &str) -> World {
        let (admin, token) = app.admin_token(tenant).await;
        let mut w = World {
            secrets: vec![admin.password.clone(), admin.totp_secret.clone()],
            admin,
            token,
            paths: BTreeMap::new(),
            ids: BTreeMap::new(),
            customer: String::new(),
            customer_id: String::new(),
        };
        let tenant_id = w.admin.tenant_id.to_string();
        w.put(
            "/api/v1/tenants/{id}",
            format!("/api/v1/tenants/{tenant_id}"),
        );

        // Accounts.
        let user = w
            .created(
                app,
                "/api/v1/users",
                json!({"name": "Els de Vries", "email": "els@tenant.example", "permissions": ["tickets:read"]}),
            )
            .await;
        w.object("user", &user, &["/api/v1/users/{id}"]);
        let account = create_account(app, &w.token, "Integrator", json!(["tickets:read"])).await;
        w.secrets
            .push(account["password"].as_str().unwrap().to_owned());
        w.secrets
            .push(account["totp_secret"].as_str().unwrap().to_owned());
        w.object(
            "account",
            &account,
            &[
                "/api/v1/api-accounts/{id}",
                "/api/v1/api-accounts/{id}/keys",
                "/api/v1/api-accounts/{id}/rotate-secret",
            ],
        );
        let x = {
            use aws_lc_rs::signature::KeyPair;
            use base64::Engine;
            let pkcs8 = aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(
                &aws_lc_rs::rand::SystemRandom::new(),
            )
            .unwrap();
            let pair = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pair.public_key().as_ref())
        };
        let key = w
            .created(
                app,
                &format!("/api/v1/api-accounts/{}/keys", id(&account)),
                json!({"jwk": {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "key-1"}}),
            )
            .await;
        w.put(
            "/api/v1/api-accounts/{id}/keys/{key_id}",
            format!("/api/v1/api-accounts/{}/keys/{}", id(&account), id(&key)),
        );

        // Agenda.
        let kind = w
            .created(
                app,
                "/api/v1/consultation-types",
                json!({"name": "Spreekuur", "duration_minutes": 30, "amount_cents": 12500, "billing_code": "SPR"}),
            )
            .await;
        w.object("type", &kind, &["/api/v1/consultation-types/{id}"]);
        let employee = w
            .created(
                app,
                "/api/v1/employees",
                json!({"name": "J. Jansen", "private_email": "j.jansen@example.org"}),
            )
            .await;
        w.object("employee", &employee, &["/api/v1/employees/{id}"]);
        let staff = w
            .created(
                app,
                "/api/v1/staff",
                json!({"name": "Dr. A. Bakker", "role": "company_doctor", "email": "arts@example.org"}),
            )
            .await;
        w.object(
            "staff",
            &staff,
            &[
                "/api/v1/staff/{id}",
                "/api/v1/staff/{id}/availabilities",
                "/api/v1/staff/{id}/calendar.ics",
            ],
        );
        let availability = w
            .created(
                app,
                &format!("/api/v1/staff/{}/availabilities", id(&staff)),
                json!({"starts_at": ts(at(3, 8)), "ends_at": ts(at(3, 12)), "consultation_type_ids": [id(&kind)]}),
            )
            .await;
        w.ids.insert("availability", id(&availability));
        w.put(
            "/api/v1/staff/{id}/availabilities/{availability_id}",
            format!(
                "/api/v1/staff/{}/availabilities/{}",
                id(&staff),
                id(&availability)
            ),
        );
        let appointment_body = |hour| {
            json!({"employee_id": id(&employee), "staff_id": id(&staff),
                   "consultation_type_id": id(&kind), "starts_at": ts(at(2, hour)), "location": "Kamer 1"})
        };
        let appointment = w
            .created(app, "/api/v1/appointments", appointment_body(9))
            .await;
        w.object(
            "appointment",
            &appointment,
            &[
                "/api/v1/appointments/{id}",
                "/api/v1/appointments/{id}/complete",
                "/api/v1/appointments/{id}/lapse",
                "/api/v1/appointments/{id}/no-show",
                "/api/v1/appointments/{id}/reminders",
                "/api/v1/appointments/{id}/reschedule",
                "/api/v1/appointments/{id}/uncomplete",
                "/api/v1/appointments/{id}/undo-no-show",
            ],
        );
        let completed = w
            .created(app, "/api/v1/appointments", appointment_body(11))
            .await;
        w.created(
            app,
            &format!("/api/v1/appointments/{}/complete", id(&completed)),
            json!({}),
        )
        .await;
        let procedures = json_of(
            call(
                app,
                &w.token,
                Method::GET,
                &format!("/api/v1/procedures?appointment_id={}", id(&completed)),
                None,
            )
            .await,
            200,
        )
        .await;
        let procedure = procedures["items"][0].clone();
        w.object(
            "procedure",
            &procedure,
            &["/api/v1/procedures/{id}", "/api/v1/procedures/{id}/submit"],
        );
        json_of(
            call(
                app,
                &w.token,
                Method::PUT,
                "/api/v1/product-parameters/CalculateAvailabilitiesForAppointmentRequest",
                Some(json!({"value": 1})),
            )
            .await,
            200,
        )
        .await;
        let request = w
            .created(
                app,
                "/api/v1/call-requests",
                json!({"employee_id": id(&employee), "consultation_type_id": id(&kind)}),
            )
            .await;
        w.object(
            "call_request",
            &request,
            &[
                "/api/v1/call-requests/{id}",
                "/api/v1/call-requests/{id}/availabilities",
                "/api/v1/call-requests/{id}/book",
                "/api/v1/call-requests/{id}/cancel",
            ],
        );
        let task = w
            .created(app, "/api/v1/tasks", json!({"title": "Bellen"}))
            .await;
        w.object("task", &task, &["/api/v1/tasks/{id}"]);
        let rule = w
            .created(
                app,
                "/api/v1/trigger-rules",
                json!({"name": "Doorgeven", "event": "Appointments.RemindersFailed", "action": {"type": "emit_topic"}}),
            )
            .await;
        w.object("trigger_rule", &rule, &["/api/v1/trigger-rules/{id}"]);

        // Helpdesk customers and tickets.
        let org = organisation(app, &w.token, "Gemeente", Some("helpdesk@gemeente.example")).await;
        w.ids.insert("organisation", org.clone());
        for t in [
            "/api/v1/organisations/{id}",
            "/api/v1/organisations/{id}/move-to-shared",
        ] {
            w.put(t, t.replace("{id}", &org));
        }
        let (anna, anna_token) = contact(app, &w.token, &org, "anna@gemeente.example", true).await;
        w.customer = anna_token;
        w.customer_id = anna.clone();
        w.ids.insert("contact", anna.clone());
        for t in [
            "/api/v1/customer-contacts/{id}",
            "/api/v1/customer-contacts/{id}/resend-code",
            "/api/v1/customer-contacts/{id}/shared-email/send-code",
            "/api/v1/customer-contacts/{id}/shared-email/verify",
            "/api/v1/customer-contacts/{id}/verify",
        ] {
            w.put(t, t.replace("{id}", &anna));
        }
        let own = json_of(
            call(
                app,
                &w.customer,
                Method::POST,
                "/api/v1/tickets",
                Some(
                    json!({"contact_name": "Anna", "contact_email": "anna@gemeente.example",
                            "subject": "Eigen vraag", "description": "Hoe werkt dit?"}),
                ),
            )
            .await,
            201,
        )
        .await;
        w.ids
            .insert("own_ticket", own["number"].as_str().unwrap().to_owned());
        let ticket = w
            .created(
                app,
                "/api/v1/tickets",
                json!({"contact_name": "Jan", "contact_email": "jan@gemeente.example",
                       "subject": "Printer stuk", "description": "Hij doet het niet."}),
            )
            .await;
        let number = ticket["number"].as_str().unwrap().to_owned();
        w.ids.insert("ticket", number.clone());
        for t in [
            "/api/v1/tickets/{number}",
            "/api/v1/tickets/{number}/history",
            "/api/v1/tickets/{number}/messages",
            "/api/v1/tickets/{number}/move-to-shared",
            "/api/v1/tickets/{number}/resolve",
            "/api/v1/tickets/{number}/tracking-code",
            "/api/v1/public/tickets/{number}",
            "/api/v1/public/tickets/{number}/messages",
        ] {
            w.put(t, t.replace("{number}", &number));
        }
        let (content_type, body) = crate::attachments::multipart(&[
            crate::attachments::field("body", "Zie bijlage"),
            crate::attachments::file("notes.txt", "text/plain", b"hallo".to_vec()),
        ]);
        let message = json_of(
            app.client
                .post(app.url(&format!("/api/v1/tickets/{number}/messages")))
                .bearer_auth(&w.token)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap(),
            201,
        )
        .await;
        let attachment = id(&message["attachments"][0]);
        w.put(
            "/api/v1/tickets/{number}/attachments/{id}",
            format!("/api/v1/tickets/{number}/attachments/{attachment}"),
        );
        w.put(
            "/api/v1/public/tickets/{number}/attachments/{id}",
            format!("/api/v1/public/tickets/{number}/attachments/{attachment}"),
        );

        // Helpdesk around the tickets.
        let category = w
            .created(app, "/api/v1/forum/categories", json!({"name": "Vragen"}))
            .await;
        w.object(
            "category",
            &category,
            &["/api/v1/forum/categories/{id}/topics"],
        );
        let topic = w
            .created(
                app,
                &format!("/api/v1/forum/categories/{}/topics", id(&category)),
                json!({"title": "Exporteren", "body": "Hoe exporteer ik de agenda?"}),
            )
            .await;
        w.object(
            "topic",
            &topic,
            &[
                "/api/v1/forum/topics/{id}",
                "/api/v1/forum/topics/{id}/posts",
            ],
        );
        let post = w
            .created(
                app,
                &format!("/api/v1/forum/topics/{}/posts", id(&topic)),
                json!({"body": "Via het menu."}),
            )
            .await;
        w.object("post", &post, &["/api/v1/forum/posts/{id}/moderate"]);
        let meeting = w
            .created(
                app,
                "/api/v1/helpdesk/meetings",
                json!({"kind": "internal-discussion", "starts_at": ts(at(5, 10))}),
            )
            .await;
        w.object("meeting", &meeting, &["/api/v1/helpdesk/meetings/{id}"]);
        // Versions are per tenant: each world has its own.
        let version = format!("7.{}.1", w.admin.tenant_id.as_u128() % 1000);
        w.created(
            app,
            "/api/v1/releases",
            json!({"version": version, "kind": "minor"}),
        )
        .await;
        w.ids.insert("release", version.clone());
        for t in [
            "/api/v1/releases/{version}",
            "/api/v1/releases/{version}/deliver",
            "/api/v1/releases/{version}/tickets",
        ] {
            w.put(t, t.replace("{version}", &version));
        }
        let component = w
            .created(app, "/api/v1/status/components", json!({"name": "API"}))
            .await;
        w.object("component", &component, &["/api/v1/status/components/{id}"]);
        let incident = w
            .created(
                app,
                "/api/v1/status/incidents",
                json!({"kind": "incident", "title": "Traag", "body": "We kijken ernaar."}),
            )
            .await;
        w.object(
            "incident",
            &incident,
            &[
                "/api/v1/status/incidents/{id}",
                "/api/v1/status/incidents/{id}/updates",
            ],
        );

        // Mail: a server on a closed local port, so nothing leaves and nothing waits.
        let server = w
            .created(
                app,
                "/api/v1/mail-servers",
                json!({"name": "Eigen", "type": "generic", "host": "localhost", "port": 9,
                       "tls": "implicit", "username": "mailer", "password": SMTP_PASSWORD}),
            )
            .await;
        w.secrets.push(SMTP_PASSWORD.to_owned());
        w.object(
            "mail_server",
            &server,
            &[
                "/api/v1/mail-servers/{id}",
                "/api/v1/mail-servers/{id}/archive",
                "/api/v1/mail-servers/{id}/limits",
                "/api/v1/mail-servers/{id}/senders",
                "/api/v1/mail-servers/{id}/test",
            ],
        );
        let limit = w
            .created(
                app,
                &format!("/api/v1/mail-servers/{}/limits", id(&server)),
                json!({"max_messages": 100, "window_seconds": 3600}),
            )
            .await;
        w.put(
            "/api/v1/mail-servers/{id}/limits/{limit_id}",
            format!("/api/v1/mail-servers/{}/limits/{}", id(&server), id(&limit)),
        );
        let sender = w
            .created(
                app,
                &format!("/api/v1/mail-servers/{}/senders", id(&server)),
                json!({"name": "Helpdesk", "address": "helpdesk@tenant.example"}),
            )
            .await;
        w.ids.insert("sender", id(&sender));
        for t in [
            "/api/v1/mail-servers/{id}/senders/{sender_id}",
            "/api/v1/mail-servers/{id}/senders/{sender_id}/verify",
        ] {
            w.put(
                t,
                t.replace("{id}", &id(&server))
                    .replace("{sender_id}", &id(&sender)),
            );
        }
        let template = w
            .created(
                app,
                "/api/v1/mail-templates",
                json!({"code": "Hello", "subject": "Hallo {{ name }}", "text_body": "Hallo {{ name }}"}),
            )
            .await;
        w.object("template", &template, &["/api/v1/mail-templates/{id}"]);
        let queued = w
            .created(
                app,
                "/api/v1/mail/outbox",
                json!({"to": {"email": "anna@example.org"}, "template": "Hello", "data": {"name": "Anna"}}),
            )
            .await;
        w.object("mail", &queued, &["/api/v1/mail/outbox/{id}"]);

        // Webhooks: a receiver that cannot be reached, with one test ping in its log.
        let receiver = w
            .created(
                app,
                "/api/v1/webhooks/receivers",
                json!({"name": "CRM", "url": RECEIVER_URL, "topics": ["Accounts.*"]}),
            )
            .await;
        w.secrets
            .push(receiver["secret"].as_str().unwrap().to_owned());
        w.object(
            "receiver",
            &receiver,
            &[
                "/api/v1/webhooks/receivers/{id}",
                "/api/v1/webhooks/receivers/{id}/deliveries",
                "/api/v1/webhooks/receivers/{id}/rotate-secret",
                "/api/v1/webhooks/receivers/{id}/test",
            ],
        );
        let oauth = w
            .created(
                app,
                "/api/v1/webhooks/receivers",
                json!({"name": "OA", "url": RECEIVER_URL, "topics": ["Accounts.*"],
                       "auth": {"protocol": "oauth2", "token_url": "https://auth.example.invalid/token",
                                "client_id": "loket", "client_secret": OAUTH_CLIENT_SECRET}}),
            )
            .await;
        w.secrets.push(OAUTH_CLIENT_SECRET.to_owned());
        w.secrets.push(oauth["secret"].as_str().unwrap().to_owned());
        let ping = w
            .created(
                app,
                &format!("/api/v1/webhooks/receivers/{}/test", id(&receiver)),
                json!({}),
            )
            .await;
        w.object(
            "delivery",
            &ping,
            &[
                "/api/v1/webhooks/deliveries/{id}",
                "/api/v1/webhooks/deliveries/{id}/redeliver",
            ],
        );

        // Lists that need a query, and the platform's own templates.
        w.put(
            "/api/v1/reports/privacy-incidents",
            "/api/v1/reports/privacy-incidents?from=2020-01-01&to=2099-12-31".into(),
        );
        w.put("/problems/{code}", "/problems/not-found".into());
        w
    }

    fn put(&mut self, template: &str, path: String) {
        self.paths.insert(template.to_owned(), path);
    }

    fn object(&mut self, kind: &'static str, v: &Value, templates: &[&str]) {
        let object = id(v);
        for t in templates {
            self.put(t, t.replace("{id}", &object));
        }
        self.ids.insert(kind, object);
    }
}

/// A body the operation accepts as far as its shape goes (so the answer is about the object
/// or the caller, not about the body); `{}` for the operations whose fields are all optional.
fn body_for(op: &Op, w: &World) -> Option<Value> {
    if !op.writes() || op.method == Method::DELETE {
        return None;
    }
    let t = op.template.as_str();
    Some(match t {
        "/api/v1/appointments/{id}/lapse" => json!({"reason": "Vergissing"}),
        "/api/v1/appointments/{id}/reschedule" => json!({"starts_at": ts(at(4, 9))}),
        "/api/v1/appointments/{id}" => json!({"notes": "changed"}),
        "/api/v1/call-requests/{id}/book" => {
            json!({"availability_id": w.id("availability"), "starts_at": ts(at(3, 9))})
        }
        "/api/v1/customer-contacts/{id}/verify"
        | "/api/v1/customer-contacts/{id}/shared-email/verify"
        | "/api/v1/mail-servers/{id}/senders/{sender_id}/verify" => json!({"code": "123456"}),
        "/api/v1/mail-servers/{id}/limits" => json!({"max_messages": 5, "window_seconds": 60}),
        "/api/v1/mail-servers/{id}/senders" => {
            json!({"name": "X", "address": "x@tenant.example"})
        }
        "/api/v1/organisations/{id}/move-to-shared" => {
            json!({"from_email": "anna@gemeente.example"})
        }
        "/api/v1/staff/{id}/availabilities" => {
            json!({"starts_at": ts(at(6, 8)), "ends_at": ts(at(6, 12))})
        }
        "/api/v1/status/incidents/{id}/updates" => json!({"body": "Opgelost"}),
        "/api/v1/tickets/{number}/messages" | "/api/v1/public/tickets/{number}/messages" => {
            json!({"body": "Nog iets"})
        }
        "/api/v1/api-accounts/{id}/keys" => {
            json!({"jwk": {"kty": "OKP", "crv": "Ed25519", "kid": "k2",
                           "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}})
        }
        "/api/v1/forum/categories/{id}/topics" => json!({"title": "T", "body": "B"}),
        "/api/v1/forum/topics/{id}/posts" => json!({"body": "B"}),
        "/api/v1/forum/posts/{id}/moderate" => json!({"status": "hidden"}),
        "/api/v1/users/{id}" | "/api/v1/employees/{id}" | "/api/v1/staff/{id}" => {
            json!({"name": "Changed"})
        }
        "/api/v1/organisations" => json!({"name": "Nieuw"}),
        "/api/v1/customer-contacts" => {
            json!({"email": "eve@gemeente.example", "name": "Eve", "organisation_id": w.id("organisation")})
        }
        "/api/v1/forum/categories" => json!({"name": "Nieuws"}),
        "/api/v1/forum/topics/{id}" => json!({"pinned": true}),
        "/api/v1/helpdesk/meetings" => {
            json!({"kind": "functional-consultation", "starts_at": ts(at(8, 10))})
        }
        "/api/v1/releases" => json!({"version": "9.9.9", "kind": "patch"}),
        "/api/v1/releases/{version}" => json!({"kind": "major"}),
        "/api/v1/status/components" => json!({"name": "Portaal"}),
        "/api/v1/status/components/{id}" => json!({"state": "major_outage"}),
        "/api/v1/status/incidents" => json!({"kind": "incident", "title": "Plat", "body": "Alles"}),
        "/api/v1/tickets" => {
            json!({"contact_name": "Anna", "contact_email": "anna@gemeente.example",
                                    "subject": "Nog een vraag", "description": "Hoe?"})
        }
        "/api/v1/webhooks/receivers/{id}" => json!({"name": "Changed"}),
        "/api/v1/mail-servers/{id}" => json!({"name": "Changed"}),
        "/api/v1/tickets/{number}" => json!({"priority": "high"}),
        "/api/v1/tasks/{id}" => json!({"title": "Changed"}),
        _ => json!({}),
    })
}

/// Every JSON answer of the GET operations this token may call, by path (for "nothing
/// changed"). Delivery logs and the mail outbox are left out: their workers change them.
async fn snapshot(app: &TestApp, w: &World) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for op in operations() {
        if op.method != Method::GET
            || !op.secured
            || op.template.contains("/deliveries")
            || op.template.contains("/mail/outbox")
        {
            continue;
        }
        let path = w.path(&op.template);
        let res = send(app, Some(&w.token), Method::GET, &path, None).await;
        let json = res
            .headers()
            .get("content-type")
            .is_some_and(|v| v == "application/json");
        if json {
            out.insert(path, res.json().await.unwrap());
        }
    }
    out
}

/// A server for worlds: platform mail kept in the outbox, attachments in a directory of its own
/// (not the working directory, where PostgreSQL runs would leave them).
async fn world_app() -> TestApp {
    let dir = std::env::temp_dir()
        .join("loket-tests")
        .join(format!("owasp-{}", Uuid::now_v7()));
    let url = format!("file://{}", dir.display());
    let mut vars = OUTBOX_MAIL.to_vec();
    vars.push(("LOKET_ATTACHMENTS_URL", url.as_str()));
    spawn_app_with(&vars).await
}

/// Two tenants on one server, each with a world.
async fn two_tenants() -> (TestApp, World, World) {
    let app = world_app().await;
    let a = World::new(&app, "Arbodienst Noord").await;
    let b = World::new(&app, "Arbodienst Zuid").await;
    (app, a, b)
}

// ---------------------------------------------------------------------------------------------
// API1: broken object level authorization.

/// R-TEN over the whole document: tenant B's superadmin calls every operation that takes an
/// id with tenant A's ids. Each answers exactly like an id that does not exist (404
/// `not-found`), and afterwards every GET of tenant A answers as before. The forum is shared
/// across tenants on purpose (README "Forum") and checked by
/// `helpdesk::the_forum_is_shared_across_tenants_while_tickets_stay_private`; the public
/// tracking endpoints need the ticket's code instead of a token (`tickets.rs`).
/// Per-domain versions: `agenda::r_ten_other_tenants_ids_answer_404`,
/// `accounts::other_tenants_users_accounts_and_tenant_answer_404`,
/// `webhooks::receivers_are_validated_and_confined_to_their_tenant`, `customers::…`.
#[tokio::test]
async fn api1_another_tenants_ids_answer_404_and_change_nothing() {
    let (app, a, b) = two_tenants().await;
    let before = snapshot(&app, &a).await;
    let mut checked = 0;
    for op in operations() {
        if !op.secured || !op.has_params() || op.template.starts_with("/api/v1/forum/") {
            continue;
        }
        let body = body_for(&op, &b);
        let theirs = ask(
            &app,
            Some(&b.token),
            op.method.clone(),
            &a.path(&op.template),
            body.as_ref(),
        )
        .await;
        let absent = ask(
            &app,
            Some(&b.token),
            op.method.clone(),
            &absent_path(&op.template),
            body.as_ref(),
        )
        .await;
        assert_eq!(
            (theirs.0, &theirs.1),
            (404, &Some("/problems/not-found".to_owned())),
            "{}: {}",
            op.name(),
            theirs.2
        );
        assert_eq!(
            (theirs.0, &theirs.1),
            (absent.0, &absent.1),
            "{}",
            op.name()
        );
        checked += 1;
    }
    assert!(checked > 90, "{checked} operations checked");

    // Ids of tenant A named in a body: refused as unknown.
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/appointments",
            json!({"employee_id": a.id("employee"), "staff_id": b.id("staff"),
                   "consultation_type_id": b.id("type"), "starts_at": ts(at(2, 14))}),
        ),
        (
            Method::POST,
            "/api/v1/call-requests",
            json!({"employee_id": a.id("employee"), "consultation_type_id": b.id("type")}),
        ),
        (
            Method::POST,
            "/api/v1/customer-contacts",
            json!({"email": "eve@x.example", "name": "Eve", "organisation_id": a.id("organisation")}),
        ),
        (
            Method::POST,
            "/api/v1/webhooks/receivers",
            json!({"name": "Spy", "url": RECEIVER_URL, "topics": ["Accounts.*"],
                   "api_account_id": a.id("account")}),
        ),
        (
            Method::PUT,
            "/api/v1/mail/settings",
            json!({"default_sender_id": a.id("sender")}),
        ),
        (
            Method::PUT,
            "/api/v1/product-parameters/Consultation.DefaultConsultationType",
            json!({"value": a.id("type")}),
        ),
    ] {
        problem(
            send(&app, Some(&b.token), method.clone(), path, Some(&body)).await,
            404,
            "not-found",
        )
        .await;
    }

    let after = snapshot(&app, &a).await;
    assert_eq!(before.len(), after.len());
    for (path, was) in &before {
        assert_eq!(was, &after[path], "{path} changed");
    }
}

/// R-OWN within one tenant: a customer contact reads, answers and resolves only tickets filed
/// under its own verified address; a colleague's ticket answers 404 like one that does not
/// exist, on every ticket operation, and is not found by listing or search either.
/// (`tickets::customers_see_only_tickets_under_their_own_verified_address` covers the shared
/// address; `attachments::downloads_are_limited_to_the_customers_own_public_messages_and_tenant`
/// the downloads.)
#[tokio::test]
async fn api1_a_customer_reaches_only_its_own_tickets() {
    let app = world_app().await;
    let w = World::new(&app, "Helpdesk BV").await;
    let own_number = w.id("own_ticket");
    let theirs = w.id("ticket");
    for op in operations() {
        if !op.template.starts_with("/api/v1/tickets/{number}") {
            continue;
        }
        let body = body_for(&op, &w);
        let colleague = ask(
            &app,
            Some(&w.customer),
            op.method.clone(),
            &w.path(&op.template),
            body.as_ref(),
        )
        .await;
        let absent = ask(
            &app,
            Some(&w.customer),
            op.method.clone(),
            &absent_path(&op.template),
            body.as_ref(),
        )
        .await;
        assert!(
            colleague.0 == 404 || colleague.0 == 403,
            "{}: {} {}",
            op.name(),
            colleague.0,
            colleague.2
        );
        assert_eq!(
            (colleague.0, &colleague.1),
            (absent.0, &absent.1),
            "{}",
            op.name()
        );
    }
    let list = json_of(
        call(&app, &w.customer, Method::GET, "/api/v1/tickets", None).await,
        200,
    )
    .await;
    let numbers: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, vec![own_number]);
    let search = json_of(
        call(
            &app,
            &w.customer,
            Method::GET,
            &format!("/api/v1/tickets?q={theirs}"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(search["items"], json!([]));
    // Staff's view of the colleague's ticket is unchanged.
    let t = json_of(
        call(
            &app,
            &w.token,
            Method::GET,
            &format!("/api/v1/tickets/{theirs}"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(t["status"], "answered");
}

// ---------------------------------------------------------------------------------------------
// API3: excessive data exposure.

/// The secrets the database holds for the tenant, as stored (hashes, sealed values).
fn stored_secrets(app: &TestApp) -> Vec<String> {
    app.state
        .db
        .read_blocking(|c| {
            use loket_storage::schema::*;
            let mut out: Vec<String> = Vec::new();
            out.extend(
                api_accounts::table
                    .select(api_accounts::password_hash)
                    .load::<String>(c)?,
            );
            out.extend(
                api_accounts::table
                    .select(api_accounts::totp_secret)
                    .load::<String>(c)?,
            );
            out.extend(
                refresh_tokens::table
                    .select(refresh_tokens::token_hash)
                    .load::<String>(c)?,
            );
            out.extend(
                signing_keys::table
                    .select(signing_keys::private_key)
                    .load::<String>(c)?,
            );
            out.extend(
                webhook_receivers::table
                    .select(webhook_receivers::secret)
                    .load::<String>(c)?,
            );
            out.extend(
                mail_servers::table
                    .select(mail_servers::password)
                    .load::<Option<String>>(c)?
                    .into_iter()
                    .flatten(),
            );
            out.extend(
                mail_senders::table
                    .select(mail_senders::code_hash)
                    .load::<Option<String>>(c)?
                    .into_iter()
                    .flatten(),
            );
            out.extend(
                customer_contacts::table
                    .select(customer_contacts::code_hash)
                    .load::<Option<String>>(c)?
                    .into_iter()
                    .flatten(),
            );
            out.extend(
                tickets::table
                    .select(tickets::tracking_code_hash)
                    .load::<Option<String>>(c)?
                    .into_iter()
                    .flatten(),
            );
            Ok(out)
        })
        .unwrap()
}

/// Keys that would carry a secret.
const SECRET_KEYS: &[&str] = &[
    "password",
    "password_hash",
    "totp_secret",
    "secret",
    "previous_secret",
    "client_secret",
    "oauth_client_secret",
    "code_hash",
    "token_hash",
    "tracking_code",
    "tracking_code_hash",
    "private_key",
    "d",
];

fn secret_keys_in(v: &Value, path: &str, found: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                if SECRET_KEYS.contains(&k.as_str()) && !v.is_null() {
                    found.push(format!("{path}.{k}"));
                }
                secret_keys_in(v, &format!("{path}.{k}"), found);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                secret_keys_in(v, &format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}

/// Every GET of the document, as the tenant's superadmin and as a customer, on a tenant with
/// one object of each kind: no answer holds a password or its hash, a TOTP secret, a webhook
/// signing secret after its creation, an SMTP password, a stored code or tracking hash, or a
/// field named like one. (Shown-once credentials: `accounts::api_account_credentials_are_shown_once_and_never_again`.)
#[tokio::test]
async fn api3_no_answer_exposes_secrets_or_hashes() {
    let app = world_app().await;
    let w = World::new(&app, "Arbodienst Noord").await;
    // A tracking code made again, so a hash is stored whatever the confirmation did.
    json_of(
        call(
            &app,
            &w.token,
            Method::POST,
            &w.path("/api/v1/tickets/{number}/tracking-code"),
            None,
        )
        .await,
        200,
    )
    .await;
    let mut needles = stored_secrets(&app);
    needles.extend(w.secrets.iter().cloned());
    needles.push("$argon2".into());
    needles.retain(|n| n.len() >= 6);
    assert!(needles.len() >= 12, "{needles:?}");

    let mut walked = 0;
    for op in operations() {
        if op.method != Method::GET || op.template.starts_with("/api/v1/public/") {
            continue;
        }
        for token in [Some(&w.token), Some(&w.customer)] {
            let path = w.path(&op.template);
            let res = send(&app, token.map(String::as_str), Method::GET, &path, None).await;
            let status = res.status().as_u16();
            let text = res.text().await.unwrap();
            if token == Some(&w.token) {
                assert_eq!(status, 200, "GET {path}: {text}");
            }
            for n in &needles {
                assert!(
                    !text.contains(n.as_str()),
                    "GET {path} shows a secret: {text}"
                );
            }
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                let mut found = Vec::new();
                secret_keys_in(&v, "", &mut found);
                assert!(found.is_empty(), "GET {path} has {found:?}: {text}");
            }
            walked += 1;
        }
    }
    assert!(walked > 140, "{walked} answers walked");
}

// ---------------------------------------------------------------------------------------------
// API5: broken function level authorization.

/// The operations of the tickets permissions that a customer contact (an impersonated user
/// with the `customer` role) may call: its own tickets, replying and resolving, the forum, and
/// reading releases, meetings and the status page (README "Helpdesk customers").
const CUSTOMER_OPERATIONS: &[&str] = &[
    "GET /api/v1/tickets",
    "POST /api/v1/tickets",
    "GET /api/v1/tickets/{number}",
    "GET /api/v1/tickets/{number}/attachments/{id}",
    "GET /api/v1/tickets/{number}/messages",
    "POST /api/v1/tickets/{number}/messages",
    "POST /api/v1/tickets/{number}/resolve",
    "GET /api/v1/customer-contacts/{id}",
    "POST /api/v1/customer-contacts/{id}/resend-code",
    "POST /api/v1/customer-contacts/{id}/verify",
    "POST /api/v1/customer-contacts/{id}/shared-email/send-code",
    "POST /api/v1/customer-contacts/{id}/shared-email/verify",
    "GET /api/v1/forum/categories",
    "POST /api/v1/forum/categories/{id}/topics",
    "GET /api/v1/forum/topics",
    "GET /api/v1/forum/topics/{id}",
    "GET /api/v1/forum/topics/{id}/posts",
    "POST /api/v1/forum/topics/{id}/posts",
    "GET /api/v1/releases",
    "GET /api/v1/releases/{version}",
    "GET /api/v1/releases/{version}/tickets",
    "GET /api/v1/helpdesk/meetings",
    "GET /api/v1/status/components",
    "GET /api/v1/status/incidents",
    "GET /api/v1/status/incidents/{id}",
];

/// R-AUTHZ over the whole document: every operation that names a permission answers 401
/// `unauthorized` with `WWW-Authenticate: Bearer` without a token, and 403 `forbidden` to a
/// token without that permission (none at all, or an unrelated one), on existing objects and
/// on ids that exist nowhere alike: the permission is checked before the path is looked up and
/// before the body is read, so such a caller learns nothing about either. The body sent is
/// `{}`, valid for hardly any operation. Nothing changes.
#[tokio::test]
async fn api5_every_operation_refuses_callers_without_its_permission() {
    let app = world_app().await;
    let w = World::new(&app, "Arbodienst Noord").await;
    let token = |perms: Value| {
        let (app, w) = (&app, &w);
        async move { login_as(app, &create_account(app, &w.token, "Limited", perms).await).await }
    };
    let nothing = token(json!([])).await;
    let accounts_reader = token(json!(["accounts:read"])).await;
    let tickets_reader = token(json!(["tickets:read"])).await;
    let before = snapshot(&app, &w).await;
    let mut wrong = Vec::new();
    let mut checked = 0;
    for op in operations().into_iter().filter(|o| o.secured) {
        let body = (op.writes() && op.method != Method::DELETE).then(|| json!({}));
        for path in [w.path(&op.template), absent_path(&op.template)] {
            let res = send(&app, None, op.method.clone(), &path, body.as_ref()).await;
            let challenge = res.headers().get("www-authenticate").cloned();
            let (status, kind, text) = answer(res).await;
            if (status, kind.as_deref()) != (401, Some("/problems/unauthorized"))
                || challenge.is_none_or(|c| c != "Bearer")
            {
                wrong.push(format!(
                    "{} {path} without a token: {status} {text}",
                    op.method
                ));
            }
            let Some(scope) = &op.scope else {
                // `/me`, introspection: any token will do.
                let (status, _, text) = ask(
                    &app,
                    Some(&nothing),
                    op.method.clone(),
                    &path,
                    body.as_ref(),
                )
                .await;
                if status == 401 || status == 403 || status >= 500 {
                    wrong.push(format!(
                        "{} {path} with a token: {status} {text}",
                        op.method
                    ));
                }
                continue;
            };
            let unrelated = if scope == "accounts:read" {
                &tickets_reader
            } else {
                &accounts_reader
            };
            for (who, t) in [
                ("no permission", &nothing),
                ("an unrelated permission", unrelated),
            ] {
                let (status, kind, text) =
                    ask(&app, Some(t), op.method.clone(), &path, body.as_ref()).await;
                if (status, kind.as_deref()) != (403, Some("/problems/forbidden")) {
                    wrong.push(format!(
                        "{} {path} ({scope}) with {who}: {status} {text}",
                        op.method
                    ));
                }
                checked += 1;
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} refusals wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(checked > 600, "{checked} calls checked");
    let after = snapshot(&app, &w).await;
    assert_eq!(before, after);
}

/// A customer contact holds `tickets:read` and `tickets:write` but is not staff: every other
/// permission's operations answer 403, and so does every tickets operation outside
/// [`CUSTOMER_OPERATIONS`], on existing objects and on absent ones alike. Nothing changes.
/// (`customers::customers_cannot_manage_customers_nor_read_reports_and_other_tenants_ids_answer_404`
/// and `helpdesk::customers_read_releases_meetings_and_status_but_cannot_write_them` check
/// the answers of some of these in detail.)
#[tokio::test]
async fn api5_customers_reach_no_staff_operation() {
    let app = world_app().await;
    let w = World::new(&app, "Helpdesk BV").await;
    let before = snapshot(&app, &w).await;
    let mut wrong = Vec::new();
    for op in operations().into_iter().filter(|o| o.scope.is_some()) {
        if CUSTOMER_OPERATIONS.contains(&op.name().as_str()) {
            continue;
        }
        // Bodies the operation accepts, and the customer's own ticket: the refusal is about
        // the role, not the object or the body.
        let body = body_for(&op, &w);
        let own = w
            .path(&op.template)
            .replace(w.id("ticket"), w.id("own_ticket"));
        let absent = if op.has_params() {
            absent_path(&op.template)
        } else {
            own.clone()
        };
        for path in [own, absent] {
            let (status, kind, text) = ask(
                &app,
                Some(&w.customer),
                op.method.clone(),
                &path,
                body.as_ref(),
            )
            .await;
            if (status, kind.as_deref()) != (403, Some("/problems/forbidden")) {
                wrong.push(format!("{} {path}: {status} {text}", op.method));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} refusals wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let after = snapshot(&app, &w).await;
    assert_eq!(before, after);
}

// ---------------------------------------------------------------------------------------------
// API2: broken authentication.

/// Asserts the 401 problem with its `WWW-Authenticate` challenge.
async fn assert_unauthorized(res: Response, what: &str) {
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(res.status(), 401, "{what}");
    assert_eq!(challenge.as_deref(), Some("Bearer"), "{what}");
    problem(res, 401, "unauthorized").await;
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Every way a bearer token can be wrong answers the same 401 problem with a `Bearer`
/// challenge on an API operation: no or a garbled `Authorization` header, `alg: none`, an
/// HMAC token, another key's signature, a tampered payload, the token of a deactivated or
/// deleted account, a revoked token, an expired one. (The token endpoint's side:
/// `oauth::expired_tampered_and_foreign_tokens_are_refused` on introspection,
/// `oauth::a_totp_code_is_accepted_only_once`,
/// `oauth::repeated_failures_lock_the_account_until_the_window_passes`,
/// `oauth::wrong_password_wrong_code_and_unknown_user_answer_alike`,
/// `oauth::refresh_tokens_rotate_and_reuse_revokes_the_family`,
/// `accounts::deactivation_ends_sessions_at_once_and_nobody_removes_itself`.)
#[tokio::test]
async fn api2_every_bad_token_answers_401_with_a_challenge() {
    let app = spawn_app_with(&[]).await;
    let (_, token) = app.admin_token("Arbodienst Noord").await;
    let get = |header: Option<String>| {
        let app = &app;
        async move {
            let mut req = app.client.get(app.url("/api/v1/users"));
            if let Some(h) = header {
                req = req.header("authorization", h);
            }
            req.send().await.unwrap()
        }
    };
    assert_eq!(get(Some(format!("Bearer {token}"))).await.status(), 200);

    let header = jsonwebtoken::decode_header(&token).unwrap();
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(&token).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT", "kid": header.kid})
            .to_string()
            .as_bytes()),
        parts[1]
    );
    let mut hs = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs.kid = header.kid.clone();
    let hmac = jsonwebtoken::encode(
        &hs,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"secret"),
    )
    .unwrap();
    let pkcs8 =
        aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new())
            .unwrap();
    let foreign = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ed_der(pkcs8.as_ref()),
    )
    .unwrap();
    let mut widened = claims.clone();
    widened["tenant_id"] = json!(Uuid::now_v7());
    widened["scope"] = json!("superadmin platform:admin");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(widened.to_string().as_bytes()),
        parts[2]
    );
    for (what, h) in [
        ("no header", None),
        ("empty header", Some(String::new())),
        ("Basic", Some("Basic YWRtaW46YWRtaW4=".to_owned())),
        ("empty bearer", Some("Bearer ".to_owned())),
        ("not a JWT", Some("Bearer not.a.jwt".to_owned())),
        ("garbage", Some("Bearer %%%%".to_owned())),
        (
            "truncated",
            Some(format!("Bearer {}", &token[..token.len() - 5])),
        ),
        ("two tokens", Some(format!("Bearer {token} {token}"))),
        ("alg none", Some(format!("Bearer {none}"))),
        ("HS256", Some(format!("Bearer {hmac}"))),
        ("another key", Some(format!("Bearer {foreign}"))),
        ("tampered", Some(format!("Bearer {tampered}"))),
    ] {
        assert_unauthorized(get(h).await, what).await;
    }

    // Accounts that stop existing or working take their tokens along, and so does revocation.
    let mut tokens = Vec::new();
    for name in ["Deactivated", "Deleted", "Revoked"] {
        let created = create_account(&app, &token, name, json!(["accounts:read"])).await;
        let t = login_as(&app, &created).await;
        assert_eq!(get(Some(format!("Bearer {t}"))).await.status(), 200);
        tokens.push((created["id"].as_str().unwrap().to_owned(), t));
    }
    json_of(
        call(
            &app,
            &token,
            Method::PATCH,
            &format!("/api/v1/api-accounts/{}", tokens[0].0),
            Some(json!({"active": false})),
        )
        .await,
        200,
    )
    .await;
    let res = call(
        &app,
        &token,
        Method::DELETE,
        &format!("/api/v1/api-accounts/{}", tokens[1].0),
        None,
    )
    .await;
    assert_eq!(res.status(), 204);
    let res = app
        .client
        .post(app.url("/oauth/revoke"))
        .form(&[("token", tokens[2].1.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    for (what, (_, t)) in ["deactivated", "deleted", "revoked"].iter().zip(&tokens) {
        assert_unauthorized(get(Some(format!("Bearer {t}"))).await, what).await;
    }

    app.clock.advance(chrono::Duration::seconds(3601));
    assert_unauthorized(get(Some(format!("Bearer {token}"))).await, "expired").await;
}

/// R-LOGIN: a TOTP code is valid once, also when the same code arrives in several requests at
/// the same moment (a replayed or intercepted login): exactly one of them gets a token.
#[tokio::test]
async fn api2_a_totp_code_raced_in_parallel_logs_in_once() {
    let app = spawn_app_with(&[]).await;
    let admin = app.bootstrap("Arbodienst Noord").await;
    let code = crate::helpers::totp_code(&admin.totp_secret, app.unix_now());
    let password = format!("{}{code}", admin.password);
    let attempts = futures_util::future::join_all(
        (0..5).map(|_| app.password_grant(&admin.username, &password)),
    )
    .await;
    let mut statuses: Vec<u16> = attempts.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 400, 400, 400, 400]);
    for res in attempts {
        if res.status() == 400 {
            assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// API4: unrestricted resource consumption.

/// Every list with `limit` takes 1 to 200 (README "Conventions", `loket_common::page`): 0 and
/// 201 answer 422 naming `limit`, 200 is served. (The token endpoint's rate limit:
/// `oauth::the_token_endpoint_is_rate_limited_per_account_and_per_address`.)
#[tokio::test]
async fn api4_no_list_serves_more_than_200_items_a_page() {
    let app = world_app().await;
    let w = World::new(&app, "Arbodienst Noord").await;
    let doc = spec();
    let mut lists = 0;
    for op in operations() {
        let params = doc["paths"][&op.template][op.method.as_str().to_lowercase()]["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let Some(limit) = params.iter().find(|p| p["name"] == "limit") else {
            continue;
        };
        assert_eq!(limit["schema"]["maximum"], 200, "{}", op.name());
        let path = w.path(&op.template);
        let sep = if path.contains('?') { '&' } else { '?' };
        for bad in ["0", "201", "100000"] {
            let p = problem(
                send(
                    &app,
                    Some(&w.token),
                    Method::GET,
                    &format!("{path}{sep}limit={bad}"),
                    None,
                )
                .await,
                422,
                "validation-failed",
            )
            .await;
            assert_eq!(p["invalid_params"][0]["name"], "limit", "{}", op.name());
        }
        json_of(
            send(
                &app,
                Some(&w.token),
                Method::GET,
                &format!("{path}{sep}limit=200"),
                None,
            )
            .await,
            200,
        )
        .await;
        lists += 1;
    }
    assert!(lists > 20, "{lists} lists");
}

/// Bodies over `LOKET_MAX_BODY_BYTES` answer 413 `payload-too-large` however they arrive: with
/// a `Content-Length`, chunked without one, as JSON or as a form at the token endpoint; and
/// nothing is written. (Inbound mail has its own limit: `inbound::bad_mail_and_bad_requests_are_refused_and_change_nothing`;
/// attachments theirs: `attachments::an_attachment_over_the_size_limit_is_refused_naming_the_file_and_nothing_is_kept`.)
#[tokio::test]
async fn api4_oversized_bodies_are_refused_with_413() {
    let app = spawn_app_with(&[("LOKET_MAX_BODY_BYTES", "1024")]).await;
    let (_, token) = app.admin_token("Arbodienst Noord").await;
    let big = json!({"name": "x".repeat(4096), "email": "big@example.org"}).to_string();
    let res = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    problem(res, 413, "payload-too-large").await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.as_bytes().chunks(256).map(|c| Ok(c.to_vec())).collect();
    let res = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    problem(res, 413, "payload-too-large").await;
    let res = app
        .client
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "x"),
            ("password", &"p".repeat(4096)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let users = json_of(
        call(&app, &token, Method::GET, "/api/v1/users", None).await,
        200,
    )
    .await;
    assert_eq!(users["items"], json!([]));
}

// ---------------------------------------------------------------------------------------------
// API6: mass assignment.

/// Fields a client never sets.
const READ_ONLY: &[&str] = &["id", "tenant_id", "created_at", "updated_at", "deleted_at"];

/// Every JSON request body in the document refuses unknown fields (`additionalProperties:
/// false`, serde's `deny_unknown_fields`) and names no read-only field; sent with `id`,
/// `tenant_id` and `created_at`, every operation answers 422 naming one of them, and nothing
/// is created or changed.
#[tokio::test]
async fn api6_read_only_and_unknown_fields_are_refused_never_applied() {
    let doc = spec();
    let schemas = &doc["components"]["schemas"];
    let resolve = |s: &Value| -> Value {
        match s["$ref"].as_str() {
            Some(r) => schemas[r.rsplit('/').next().unwrap()].clone(),
            None => s.clone(),
        }
    };
    let mut json_bodies = Vec::new();
    for op in operations() {
        let m = op.method.as_str().to_lowercase();
        let Some(schema) =
            doc["paths"][&op.template][&m]["requestBody"]["content"]["application/json"]["schema"]
                .as_object()
        else {
            continue;
        };
        let schema = resolve(&Value::Object(schema.clone()));
        let variants: Vec<Value> = match schema["oneOf"].as_array() {
            Some(v) => v.iter().map(resolve).collect(),
            None => vec![schema],
        };
        for v in &variants {
            assert_eq!(
                v["additionalProperties"],
                false,
                "{} accepts unknown fields",
                op.name()
            );
            for field in READ_ONLY {
                assert!(
                    v["properties"].get(field).is_none(),
                    "{} takes `{field}`",
                    op.name()
                );
            }
        }
        json_bodies.push(op);
    }
    assert!(json_bodies.len() > 60, "{} JSON bodies", json_bodies.len());

    let app = world_app().await;
    let w = World::new(&app, "Arbodienst Noord").await;
    let before = snapshot(&app, &w).await;
    for op in &json_bodies {
        let mut body = body_for(op, &w).unwrap_or_else(|| json!({}));
        body["id"] = json!(Uuid::now_v7());
        body["tenant_id"] = json!(Uuid::now_v7());
        body["created_at"] = json!("2000-01-01T00:00:00Z");
        let p = problem(
            send(
                &app,
                Some(&w.token),
                op.method.clone(),
                &w.path(&op.template),
                Some(&body),
            )
            .await,
            422,
            "validation-failed",
        )
        .await;
        let named = p["invalid_params"][0]["name"].as_str().unwrap_or_default();
        assert!(
            READ_ONLY.contains(&named),
            "{} named `{named}`: {p}",
            op.name()
        );
    }
    let after = snapshot(&app, &w).await;
    assert_eq!(before, after);
}

/// Nobody raises their own rights through a writable field: a customer contact cannot change
/// its user's permissions or its ticket's status, department or labels (it resolves through
/// `…/resolve`); an API account with `accounts:write` cannot give itself `superadmin`.
/// (`accounts::nobody_grants_or_takes_over_more_than_they_hold` covers granting to others.)
#[tokio::test]
async fn api6_nobody_raises_their_own_rights() {
    let app = world_app().await;
    let w = World::new(&app, "Helpdesk BV").await;
    let me = format!("/api/v1/users/{}", w.customer_id);
    problem(
        call(
            &app,
            &w.customer,
            Method::PATCH,
            &me,
            Some(json!({"permissions": ["superadmin"]})),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let own = format!("/api/v1/tickets/{}", w.id("own_ticket"));
    let before = json_of(call(&app, &w.token, Method::GET, &own, None).await, 200).await;
    for change in [
        json!({"status": "resolved"}),
        json!({"department": "develop"}),
        json!({"labels": ["vip"]}),
        json!({"priority": "disruption"}),
    ] {
        problem(
            call(&app, &w.customer, Method::PATCH, &own, Some(change)).await,
            403,
            "forbidden",
        )
        .await;
    }
    let after = json_of(call(&app, &w.token, Method::GET, &own, None).await, 200).await;
    assert_eq!(before, after);

    let writer = create_account(
        &app,
        &w.token,
        "Writer",
        json!(["accounts:write", "accounts:read"]),
    )
    .await;
    let writer_token = login_as(&app, &writer).await;
    let path = format!("/api/v1/api-accounts/{}", id(&writer));
    problem(
        call(
            &app,
            &writer_token,
            Method::PATCH,
            &path,
            Some(json!({"permissions": ["accounts:write", "accounts:read", "superadmin"]})),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let account = json_of(call(&app, &w.token, Method::GET, &path, None).await, 200).await;
    assert_eq!(
        account["permissions"],
        json!(["accounts:read", "accounts:write"])
    );
}

// ---------------------------------------------------------------------------------------------
// API7: server side request forgery.

/// Receiver and token URLs that point inside (loopback, private, link-local and metadata
/// addresses, in every spelling the URL parser accepts: decimal, octal, hex, short and
/// IPv4-mapped forms), that are not `https`, or carry credentials, are refused with 422 naming
/// the field, on creation and on change. (Unit tests: `loket_webhooks::ssrf`; names that
/// resolve to private addresses: `webhooks::names_resolving_to_private_addresses_are_refused_at_delivery_time`.)
#[tokio::test]
async fn api7_receivers_cannot_point_inside() {
    let app = spawn_app_with(&[]).await;
    let (_, token) = app.admin_token("Arbodienst Noord").await;
    let receiver = json_of(
        call(
            &app,
            &token,
            Method::POST,
            "/api/v1/webhooks/receivers",
            Some(json!({"name": "CRM", "url": RECEIVER_URL, "topics": ["Accounts.*"]})),
        )
        .await,
        201,
    )
    .await;
    let path = format!("/api/v1/webhooks/receivers/{}", id(&receiver));
    for url in [
        "https://127.0.0.1/hook",
        "https://127.0.0.1:8080/hook",
        "https://localhost/hook",
        "https://LOCALHOST./hook",
        "https://10.0.0.1/hook",
        "https://172.16.5.4/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://[::1]/hook",
        "https://[::]/hook",
        "https://[fd00::1]/hook",
        "https://[fe80::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::ffff:a9fe:a9fe]/hook",
        "https://2130706433/hook",
        "https://0177.0.0.1/hook",
        "https://0x7f.0.0.1/hook",
        "https://0x7f000001/hook",
        "https://127.1/hook",
        "https://017700000001/hook",
        "http://example.org/hook",
        "ftp://example.org/hook",
        "file:///etc/passwd",
        "gopher://example.org/_x",
        "https://user:pw@example.org/hook",
        "//example.org/hook",
        "/api/v1/users",
    ] {
        let body = json!({"name": "x", "url": url, "topics": ["Accounts.*"]});
        let p = problem(
            call(
                &app,
                &token,
                Method::POST,
                "/api/v1/webhooks/receivers",
                Some(body),
            )
            .await,
            422,
            "validation-failed",
        )
        .await;
        assert_eq!(p["invalid_params"][0]["name"], "url", "{url}: {p}");
        let p = problem(
            call(
                &app,
                &token,
                Method::PATCH,
                &path,
                Some(json!({"url": url})),
            )
            .await,
            422,
            "validation-failed",
        )
        .await;
        assert_eq!(p["invalid_params"][0]["name"], "url", "{url}: {p}");
        let body = json!({"name": "x", "url": RECEIVER_URL, "topics": ["Accounts.*"],
                          "auth": {"protocol": "oauth2", "token_url": url, "client_id": "c", "client_secret": "s"}});
        let p = problem(
            call(
                &app,
                &token,
                Method::POST,
                "/api/v1/webhooks/receivers",
                Some(body),
            )
            .await,
            422,
            "validation-failed",
        )
        .await;
        assert_eq!(
            p["invalid_params"][0]["name"], "auth.token_url",
            "{url}: {p}"
        );
    }
    let list = json_of(
        call(
            &app,
            &token,
            Method::GET,
            "/api/v1/webhooks/receivers",
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["url"], RECEIVER_URL);
}

/// A receiver (allow-listed for the test) that answers with a redirect to an internal address
/// does not lead the delivery there: redirects are not followed, the delivery fails saying so.
#[tokio::test]
async fn api7_a_receivers_redirect_is_not_followed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let inside = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let inside_port = inside.local_addr().unwrap().port();
    let reached = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = reached.clone();
    tokio::spawn(async move {
        while let Ok((_, _)) = inside.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let redirector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = redirector.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = redirector.accept().await {
            let mut buf = vec![0u8; 65536];
            let _ = s.read(&mut buf).await;
            let reply = format!(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{inside_port}/latest/meta-data/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = s.write_all(reply.as_bytes()).await;
        }
    });
    let app = spawn_app_with(&[
        ("LOKET_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1"),
        ("LOKET_WEBHOOK_RETRY_SCHEDULE", "1h"),
    ])
    .await;
    let (_, token) = app.admin_token("Arbodienst Noord").await;
    let receiver = json_of(
        call(
            &app,
            &token,
            Method::POST,
            "/api/v1/webhooks/receivers",
            Some(json!({"name": "Redirect", "url": format!("http://127.0.0.1:{port}/hook"), "topics": ["Accounts.*"]})),
        )
        .await,
        201,
    )
    .await;
    let ping = json_of(
        call(
            &app,
            &token,
            Method::POST,
            &format!("/api/v1/webhooks/receivers/{}/test", id(&receiver)),
            Some(json!({})),
        )
        .await,
        202,
    )
    .await;
    let path = format!("/api/v1/webhooks/deliveries/{}", id(&ping));
    let mut detail = Value::Null;
    for _ in 0..200 {
        detail = json_of(call(&app, &token, Method::GET, &path, None).await, 200).await;
        if detail["attempt_count"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(detail["attempt_count"], 1, "{detail}");
    assert_eq!(detail["attempts"][0]["status_code"], 307, "{detail}");
    let error = detail["attempts"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("redirects are not followed"), "{detail}");
    assert_eq!(reached.load(std::sync::atomic::Ordering::SeqCst), 0);
}

// ---------------------------------------------------------------------------------------------
// API8: security misconfiguration.

/// Headers on every kind of answer: `nosniff` and no framing everywhere; `no-store` on token
/// responses and on every answer to a request with credentials (success or problem); Swagger
/// UI with a Content-Security-Policy that admits its own scripts only; no `Server` header
/// naming software; no CORS grant to a foreign origin.
#[tokio::test]
async fn api8_answers_carry_the_security_headers() {
    let app = spawn_app_with(&[]).await;
    let admin = app.bootstrap("Arbodienst Noord").await;
    let login = app
        .password_grant(
            &admin.username,
            &format!(
                "{}{}",
                admin.password,
                crate::helpers::totp_code(&admin.totp_secret, app.unix_now())
            ),
        )
        .await;
    let failed = app.password_grant(&admin.username, "wrong000000").await;
    let token = login.headers().clone();
    let access = {
        let body: Value = login.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    };
    let authed = |method: Method, path: &'static str| {
        let (app, access) = (&app, access.clone());
        async move {
            app.client
                .request(method, app.url(path))
                .bearer_auth(access)
                .header("origin", "https://evil.example")
                .send()
                .await
                .unwrap()
        }
    };
    let answers = vec![
        ("token", 200, token),
        ("failed token", 400, failed.headers().clone()),
        (
            "me",
            200,
            authed(Method::GET, "/api/v1/me").await.headers().clone(),
        ),
        (
            "list",
            200,
            authed(Method::GET, "/api/v1/users").await.headers().clone(),
        ),
        (
            "problem",
            404,
            authed(Method::GET, "/api/v1/users/nope")
                .await
                .headers()
                .clone(),
        ),
        (
            "405",
            405,
            authed(Method::PUT, "/api/v1/users").await.headers().clone(),
        ),
        (
            "anonymous",
            401,
            app.get("/api/v1/users").await.headers().clone(),
        ),
        ("health", 200, app.get("/health").await.headers().clone()),
        (
            "openapi",
            200,
            app.get("/openapi.json").await.headers().clone(),
        ),
        (
            "swagger",
            200,
            app.get("/swagger-ui/").await.headers().clone(),
        ),
    ];
    for (what, _, h) in &answers {
        let header = |n: &str| h.get(n).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{what}"
        );
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{what}");
        let csp = header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        assert!(header("server").is_none(), "{what}: {:?}", header("server"));
        assert_ne!(
            header("access-control-allow-origin").as_deref(),
            Some("*"),
            "{what}"
        );
        assert!(
            header("access-control-allow-credentials").is_none(),
            "{what}"
        );
        let credentials = !matches!(*what, "health" | "openapi" | "swagger" | "anonymous");
        if credentials {
            assert_eq!(
                header("cache-control").as_deref(),
                Some("no-store"),
                "{what}"
            );
        }
        if *what == "swagger" {
            assert!(
                csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"),
                "{csp}"
            );
        } else {
            assert!(csp.starts_with("default-src 'none'"), "{what}: {csp}");
        }
    }
    assert_eq!(answers.len(), 10);
}

/// Error answers are problems without internals: no stack trace, file name, SQL or driver
/// message, also for a 500 (the table of an operation dropped under the server); every method
/// the route does not serve, the unusual ones too, answers 405 with `Allow`.
#[tokio::test]
async fn api8_errors_tell_no_internals_and_unknown_methods_answer_405() {
    let app = spawn_app_with(&[]).await;
    let (_, token) = app.admin_token("Arbodienst Noord").await;
    let raw = |method: &str, path: &str, body: &str| {
        let (app, token) = (&app, token.clone());
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let (path, body) = (path.to_owned(), body.to_owned());
        async move {
            app.client
                .request(method, app.url(&path))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    for method in ["PUT", "DELETE", "TRACE", "OPTIONS", "PROPFIND", "FOO"] {
        let res = raw(method, "/api/v1/users", "").await;
        assert_eq!(
            res.headers().get("allow").map(|v| v.to_str().unwrap()),
            Some("GET, POST"),
            "{method}: {} {:?}",
            res.status(),
            res.headers()
        );
        problem(res, 405, "method-not-allowed").await;
    }
    app.state
        .db
        .write_blocking(|c| {
            diesel::sql_query("DROP TABLE tasks").execute(c)?;
            Ok(())
        })
        .unwrap();
    let mut bodies = Vec::new();
    for (method, path, body) in [
        ("POST", "/api/v1/users", "{not json"),
        ("POST", "/api/v1/users", r#"{"name": 5, "email": []}"#),
        (
            "POST",
            "/api/v1/users",
            r#"{"name": "x", "email": "x@example.org", "active": "yes"}"#,
        ),
        ("GET", "/api/v1/users/not-a-uuid", ""),
        ("GET", "/api/v1/users?limit=-1", ""),
        ("GET", "/api/v1/users?cursor=%00%FF", ""),
        ("GET", "/api/v1/appointments?from=yesterday", ""),
        (
            "PATCH",
            "/api/v1/tickets/ABC-DEFGH-123",
            r#"{"status": "\u0000"}"#,
        ),
        ("GET", "/api/v1/tasks", ""),
        ("POST", "/api/v1/tasks", r#"{"title": "x"}"#),
    ] {
        let res = raw(method, path, body).await;
        let status = res.status().as_u16();
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{method} {path}"
        );
        let text = res.text().await.unwrap();
        assert!(status >= 400, "{method} {path}: {status}");
        bodies.push((format!("{method} {path} {status}"), text));
    }
    assert!(bodies.iter().any(|(w, _)| w.ends_with("500")), "{bodies:?}");
    for (what, text) in &bodies {
        let lower = text.to_lowercase();
        for leak in [
            "panicked",
            ".rs:",
            "src/",
            "backtrace",
            "stack",
            "diesel",
            "sqlite",
            "postgres",
            "no such table",
            "relation",
            "select ",
            "insert ",
            "tokio",
            "actix",
        ] {
            assert!(!lower.contains(leak), "{what} shows `{leak}`: {text}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// API9: improper inventory management.

/// The routes the server registers (read from the gateway's source: every `.route(…)` and
/// route macro) are exactly the operations of the OpenAPI document, so no undocumented
/// endpoint is served and none documented is missing; besides them only `/openapi.json` and
/// Swagger UI are served. (Every documented operation answers from its handler, not the 404
/// fallback: the walks above get 401 from each without a token.)
#[test]
fn api9_the_document_lists_every_served_route() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/gateway/src/http");
    let unscoped = ["health.rs", "problems.rs", "oauth.rs"];
    let normalise = |path: &str| -> String {
        path.split('/')
            .map(|s| if s.starts_with('{') { "{}" } else { s })
            .collect::<Vec<_>>()
            .join("/")
    };
    let mut served = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        let flat: String = source.split_whitespace().collect::<Vec<_>>().join(" ");
        let prefix = if unscoped.contains(&name.as_str()) {
            ""
        } else {
            "/api/v1"
        };
        // `.route("/x", web::get().to(h))`, also split over lines by rustfmt.
        for part in flat.split(".route(").skip(1) {
            let Some(rest) = part.trim_start().strip_prefix('"') else {
                continue;
            };
            let (route, rest) = rest.split_once('"').unwrap();
            let method = rest
                .trim_start_matches([',', ' '])
                .strip_prefix("web::")
                .and_then(|r| r.split_once('('))
                .map(|(m, _)| m.to_uppercase())
                .unwrap();
            served.insert(format!(
                "{method} {}",
                normalise(&format!("{prefix}{route}"))
            ));
        }
        // `#[get("/x")]` on handlers registered with `.service(h)`.
        for method in ["get", "post", "put", "patch", "delete"] {
            for part in flat.split(&format!("#[{method}(\"")).skip(1) {
                let route = part.split('"').next().unwrap();
                served.insert(format!(
                    "{} {}",
                    method.to_uppercase(),
                    normalise(&format!("{prefix}{route}"))
                ));
            }
        }
    }
    let documented: BTreeSet<String> = operations()
        .iter()
        .map(|o| format!("{} {}", o.method, normalise(&o.template)))
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not documented: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "documented but not served: {unserved:?}"
    );
}
