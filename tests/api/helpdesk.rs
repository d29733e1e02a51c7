//! The helpdesk around the tickets over HTTP (issue 9): releases (delivery moves exactly the
//! planned tickets and mails their reporters through a real SMTP server), meetings and
//! `next_meeting_at`, the status page and its public, cacheable read, and the forum that is
//! shared across tenants while tickets stay private, with posts holding personal data held.

use diesel::prelude::*;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of, problem, spawn_app};

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

/// One tenant's staff token on a shared app.
struct Tenant {
    id: uuid::Uuid,
    token: String,
}

impl Tenant {
    async fn new(app: &TestApp, name: &str) -> Tenant {
        let (admin, token) = app.admin_token(name).await;
        Tenant {
            id: admin.tenant_id,
            token,
        }
    }

    async fn get(&self, app: &TestApp, path: &str) -> Response {
        call(app, &self.token, Method::GET, path, None).await
    }

    async fn post(&self, app: &TestApp, path: &str, body: Value) -> Response {
        call(app, &self.token, Method::POST, path, Some(body)).await
    }

    async fn patch(&self, app: &TestApp, path: &str, body: Value) -> Response {
        call(app, &self.token, Method::PATCH, path, Some(body)).await
    }

    /// A ticket from `email` (culture `language`) moved to `department` with `release`.
    async fn ticket(
        &self,
        app: &TestApp,
        email: &str,
        language: &str,
        department: &str,
        release: Option<&str>,
    ) -> String {
        let t = json_of(
            self.post(
                app,
                "/api/v1/tickets",
                json!({
                    "contact_name": "Jan Jansen",
                    "contact_email": email,
                    "language": language,
                    "subject": "Knop werkt niet",
                    "description": "De knop doet niets.",
                }),
            )
            .await,
            201,
        )
        .await;
        let number = t["number"].as_str().unwrap().to_owned();
        let mut ch = json!({ "department": department });
        if let Some(r) = release {
            ch["release_version"] = json!(r);
        }
        json_of(
            self.patch(app, &format!("/api/v1/tickets/{number}"), ch)
                .await,
            200,
        )
        .await;
        number
    }

    /// A verified customer contact of this tenant with an impersonated token.
    async fn customer(&self, app: &TestApp, email: &str) -> String {
        let user = json_of(
            self.post(
                app,
                "/api/v1/users",
                json!({ "name": "Klant Karin", "email": email, "permissions": ["tickets:read", "tickets:write"] }),
            )
            .await,
            201,
        )
        .await;
        let user_id = user["id"].as_str().unwrap().to_owned();
        let (tenant, email2, uid) = (self.id.to_string(), email.to_owned(), user_id.clone());
        let org = uuid::Uuid::now_v7().to_string();
        app.state
            .db
            .write(move |c| {
                use loket_storage::schema::{customer_contacts, organisations};
                let now = chrono::Utc::now().naive_utc();
                diesel::insert_into(organisations::table)
                    .values((
                        organisations::id.eq(&org),
                        organisations::tenant_id.eq(&tenant),
                        organisations::name.eq("Gemeente"),
                        organisations::created_at.eq(now),
                        organisations::updated_at.eq(now),
                    ))
                    .execute(c)?;
                diesel::insert_into(customer_contacts::table)
                    .values((
                        customer_contacts::user_id.eq(&uid),
                        customer_contacts::tenant_id.eq(&tenant),
                        customer_contacts::organisation_id.eq(&org),
                        customer_contacts::email.eq(&email2),
                        customer_contacts::verified_at.eq(Some(now)),
                        customer_contacts::created_at.eq(now),
                        customer_contacts::updated_at.eq(now),
                    ))
                    .execute(c)?;
                Ok(())
            })
            .await
            .unwrap();
        let res = app
            .client
            .post(app.url("/oauth/token"))
            .form(&[
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ),
                ("subject_token", self.token.as_str()),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:access_token",
                ),
                ("requested_subject", user_id.as_str()),
            ])
            .send()
            .await
            .unwrap();
        json_of(res, 200).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// (topic, object id) of the tenant's outbox events whose topic starts with `prefix`.
async fn events(app: &TestApp, tenant: uuid::Uuid, prefix: &str) -> Vec<(String, String)> {
    let (tenant, prefix) = (tenant.to_string(), format!("{prefix}%"));
    app.state
        .db
        .read(move |c| {
            use loket_storage::schema::outbox_events;
            Ok(outbox_events::table
                .filter(outbox_events::tenant_id.eq(tenant))
                .filter(outbox_events::topic.like(prefix))
                .order(outbox_events::id.asc())
                .select((outbox_events::topic, outbox_events::object_id))
                .load(c)?)
        })
        .await
        .unwrap()
}

// --- Releases --------------------------------------------------------------------------------

#[tokio::test]
async fn delivering_a_release_moves_exactly_its_planned_tickets_and_mails_their_reporters() {
    let smtp = crate::mail::Smtp::start();
    let url = format!(
        "smtps://{}:{}@localhost:{}",
        crate::mail::USER,
        crate::mail::PASSWORD,
        smtp.implicit
    );
    let ca = crate::mail::ca_file();
    let app = crate::helpers::spawn_app_with(&[
        ("LOKET_SMTP_CA_FILE", ca.as_str()),
        ("LOKET_PLATFORM_SMTP_URL", url.as_str()),
        ("LOKET_PLATFORM_SENDER", "Loket <noreply@loket.test>"),
    ])
    .await;
    let a = Tenant::new(&app, "Release A").await;
    let b = Tenant::new(&app, "Release B").await;
    for (t, v) in [(&a, "7.4.1"), (&a, "7.5.0"), (&b, "7.4.1")] {
        json_of(
            t.post(
                &app,
                "/api/v1/releases",
                json!({"version": v, "kind": "patch", "planned_date": "2026-12-20",
                       "notes": [{"culture": "nl-NL", "body": "# Opgelost\n- de knop"},
                                 {"culture": "en-GB", "body": "# Fixed\n- the button"}]}),
            )
            .await,
            201,
        )
        .await;
    }
    let nl = a
        .ticket(
            &app,
            "anna@gemeente.example",
            "nl-NL",
            "planned",
            Some("7.4.1"),
        )
        .await;
    let en = a
        .ticket(
            &app,
            "bob@council.example",
            "en-GB",
            "planned",
            Some("7.4.1"),
        )
        .await;
    let other_version = a
        .ticket(
            &app,
            "carl@gemeente.example",
            "nl-NL",
            "planned",
            Some("7.5.0"),
        )
        .await;
    let not_planned = a
        .ticket(
            &app,
            "dirk@gemeente.example",
            "nl-NL",
            "develop",
            Some("7.4.1"),
        )
        .await;
    let other_tenant = b
        .ticket(
            &app,
            "eva@elders.example",
            "nl-NL",
            "planned",
            Some("7.4.1"),
        )
        .await;
    // Five confirmations went out first.
    smtp.wait_for(5).await;

    let d = json_of(
        a.post(&app, "/api/v1/releases/7.4.1/deliver", json!({}))
            .await,
        200,
    )
    .await;
    let mut moved: Vec<String> = d["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    moved.sort();
    let mut expected = vec![nl.clone(), en.clone()];
    expected.sort();
    assert_eq!(moved, expected);
    assert_eq!(d["mails_queued"], 2);
    assert_eq!(d["release"]["status"], "delivered");
    assert!(d["release"]["delivered_at"].is_string());

    for (t, number, dep) in [
        (&a, &nl, "delivered"),
        (&a, &en, "delivered"),
        (&a, &other_version, "planned"),
        (&a, &not_planned, "develop"),
        (&b, &other_tenant, "planned"),
    ] {
        let got = json_of(t.get(&app, &format!("/api/v1/tickets/{number}")).await, 200).await;
        assert_eq!(got["department"], dep, "{number}");
    }
    let history = json_of(
        a.get(&app, &format!("/api/v1/tickets/{nl}/history")).await,
        200,
    )
    .await;
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["field"] == "department"
                && h["old_value"] == "planned"
                && h["new_value"] == "delivered"),
        "{history}"
    );
    // Events: one Tickets.Update per moved ticket (after the PATCHes) and Releases.Deliver.
    let ev = events(&app, a.id, "Releases.Deliver").await;
    assert_eq!(ev.len(), 1);
    let nl_id = json_of(a.get(&app, &format!("/api/v1/tickets/{nl}")).await, 200).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let updates = events(&app, a.id, "Tickets.Update").await;
    assert_eq!(updates.iter().filter(|(_, id)| *id == nl_id).count(), 2);
    assert!(
        events(&app, b.id, "Releases.")
            .await
            .iter()
            .all(|(t, _)| t == "Releases.Create")
    );

    // The reporters got a mail in their language with the release-notes link.
    let all = smtp.wait_for(7).await;
    let release_mails: Vec<&Value> = all
        .iter()
        .filter(|m| {
            m["headers"]["Subject"]
                .as_str()
                .unwrap_or("")
                .contains("7.4.1")
        })
        .collect();
    assert_eq!(release_mails.len(), 2, "{all:?}");
    for m in &release_mails {
        let to = m["rcpt_tos"][0].as_str().unwrap();
        let subject = m["headers"]["Subject"].as_str().unwrap();
        let text = m["text"].as_str().unwrap();
        assert!(text.contains("/api/v1/releases/7.4.1"), "{text}");
        match to {
            "anna@gemeente.example" => {
                assert!(
                    subject.contains(&nl) && subject.contains("opgelost in versie"),
                    "{subject}"
                )
            }
            "bob@council.example" => {
                assert!(
                    subject.contains(&en) && subject.contains("solved in version"),
                    "{subject}"
                )
            }
            other => panic!("mail to {other}"),
        }
    }

    // A second delivery is refused and changes nothing.
    problem(
        a.post(&app, "/api/v1/releases/7.4.1/deliver", json!({}))
            .await,
        409,
        "invalid-state",
    )
    .await;
    assert_eq!(events(&app, a.id, "Releases.Deliver").await.len(), 1);
    // What it solves.
    let solved = json_of(a.get(&app, "/api/v1/releases/7.4.1/tickets").await, 200).await;
    let mut numbers: Vec<&str> = solved
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_str().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(
        numbers,
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
    // B's release is still planned and delivers its own ticket only.
    let d = json_of(
        b.post(&app, "/api/v1/releases/7.4.1/deliver", json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(d["tickets"], json!([other_tenant]));
}

#[tokio::test]
async fn releases_validate_and_stay_within_their_tenant() {
    let app = spawn_app().await;
    let a = Tenant::new(&app, "Valid A").await;
    let b = Tenant::new(&app, "Valid B").await;
    for (body, field) in [
        (json!({"version": "7.4", "kind": "patch"}), "version"),
        // serde's message names the variant, not the field; any 422 will do.
        (json!({"version": "7.4.1", "kind": "huge"}), "*"),
        (
            json!({"version": "7.4.1", "kind": "patch", "notes": [{"culture": "dutch", "body": "x"}]}),
            "notes.culture",
        ),
        (
            json!({"version": "7.4.1", "kind": "patch", "notes": [{"culture": "nl-NL", "body": "a"}, {"culture": "nl-NL", "body": "b"}]}),
            "notes",
        ),
        (
            json!({"version": "7.4.1", "kind": "patch", "notes": [{"culture": "nl-NL", "body": "  "}]}),
            "notes.body",
        ),
    ] {
        let p = problem(
            a.post(&app, "/api/v1/releases", body.clone()).await,
            422,
            "validation-failed",
        )
        .await;
        assert!(
            field == "*"
                || p["invalid_params"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|i| i["name"] == field),
            "{body}: {p}"
        );
    }
    assert!(
        json_of(a.get(&app, "/api/v1/releases").await, 200).await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    json_of(
        a.post(
            &app,
            "/api/v1/releases",
            json!({"version": "7.4.1", "kind": "minor"}),
        )
        .await,
        201,
    )
    .await;
    problem(
        a.post(
            &app,
            "/api/v1/releases",
            json!({"version": "7.4.1", "kind": "minor"}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    // Another tenant's release is a 404 everywhere.
    for path in ["/api/v1/releases/7.4.1", "/api/v1/releases/7.4.1/tickets"] {
        problem(b.get(&app, path).await, 404, "not-found").await;
    }
    problem(
        b.post(&app, "/api/v1/releases/7.4.1/deliver", json!({}))
            .await,
        404,
        "not-found",
    )
    .await;
    // Notes change after delivery; kind does not.
    json_of(
        a.post(&app, "/api/v1/releases/7.4.1/deliver", json!({}))
            .await,
        200,
    )
    .await;
    let r = json_of(
        a.patch(
            &app,
            "/api/v1/releases/7.4.1",
            json!({"notes": [{"culture": "en-GB", "body": "Fixed"}]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["notes"], json!([{"culture": "en-GB", "body": "Fixed"}]));
    problem(
        a.patch(&app, "/api/v1/releases/7.4.1", json!({"kind": "major"}))
            .await,
        409,
        "invalid-state",
    )
    .await;
}

#[tokio::test]
async fn customers_read_releases_meetings_and_status_but_cannot_write_them() {
    let app = spawn_app().await;
    let a = Tenant::new(&app, "Customer A").await;
    json_of(
        a.post(
            &app,
            "/api/v1/releases",
            json!({"version": "1.0.0", "kind": "major", "notes": [{"culture": "nl-NL", "body": "Nieuw"}]}),
        )
        .await,
        201,
    )
    .await;
    let own = a
        .ticket(
            &app,
            "karin@gemeente.example",
            "nl-NL",
            "planned",
            Some("1.0.0"),
        )
        .await;
    let _colleague = a
        .ticket(
            &app,
            "kees@gemeente.example",
            "nl-NL",
            "planned",
            Some("1.0.0"),
        )
        .await;
    let karin = a.customer(&app, "karin@gemeente.example").await;
    let get = |p: &'static str| call(&app, &karin, Method::GET, p, None);
    let r = json_of(get("/api/v1/releases/1.0.0").await, 200).await;
    assert_eq!(r["notes"][0]["body"], "Nieuw");
    // R-OWN holds on what a release solves.
    let solved = json_of(get("/api/v1/releases/1.0.0/tickets").await, 200).await;
    assert_eq!(solved.as_array().unwrap().len(), 1);
    assert_eq!(solved[0]["number"], own);
    json_of(get("/api/v1/status/components").await, 200).await;
    json_of(get("/api/v1/status/incidents").await, 200).await;
    json_of(get("/api/v1/helpdesk/meetings").await, 200).await;
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/releases",
            json!({"version": "1.0.1", "kind": "patch"}),
        ),
        (
            Method::PATCH,
            "/api/v1/releases/1.0.0",
            json!({"kind": "minor"}),
        ),
        (Method::POST, "/api/v1/releases/1.0.0/deliver", json!({})),
        (
            Method::POST,
            "/api/v1/status/components",
            json!({"name": "API"}),
        ),
        (
            Method::POST,
            "/api/v1/status/incidents",
            json!({"kind": "incident", "title": "Down", "body": "Kapot"}),
        ),
        (
            Method::POST,
            "/api/v1/helpdesk/meetings",
            json!({"kind": "internal-discussion", "starts_at": "2030-01-01T10:00:00Z"}),
        ),
        (
            Method::POST,
            "/api/v1/forum/categories",
            json!({"name": "Vragen"}),
        ),
    ] {
        let res = call(&app, &karin, method.clone(), path, Some(body)).await;
        problem(res, 403, "forbidden").await;
    }
    // Nothing changed.
    let r = json_of(a.get(&app, "/api/v1/releases/1.0.0").await, 200).await;
    assert_eq!(r["status"], "planned");
    assert_eq!(r["kind"], "major");
    assert!(
        json_of(a.get(&app, "/api/v1/status/components").await, 200)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
}

// --- Meetings --------------------------------------------------------------------------------

#[tokio::test]
async fn tickets_waiting_for_a_meeting_show_the_next_one() {
    let app = spawn_app().await;
    let a = Tenant::new(&app, "Meeting A").await;
    let b = Tenant::new(&app, "Meeting B").await;
    let now = app.state.clock.now();
    let at = |days: i64| {
        (now + chrono::Duration::days(days))
            .format("%Y-%m-%dT10:00:00Z")
            .to_string()
    };
    for (t, kind, days) in [
        (&a, "internal-discussion", -1),
        (&a, "internal-discussion", 14),
        (&a, "internal-discussion", 7),
        (&a, "functional-consultation", 30),
        (&b, "internal-discussion", 2),
    ] {
        json_of(
            t.post(
                &app,
                "/api/v1/helpdesk/meetings",
                json!({"kind": kind, "starts_at": at(days)}),
            )
            .await,
            201,
        )
        .await;
    }
    let internal = a
        .ticket(
            &app,
            "x@gemeente.example",
            "nl-NL",
            "internal-discussion",
            None,
        )
        .await;
    let functional = a
        .ticket(
            &app,
            "y@gemeente.example",
            "nl-NL",
            "functional-consultation",
            None,
        )
        .await;
    let helpdesk = a
        .ticket(&app, "z@gemeente.example", "nl-NL", "helpdesk", None)
        .await;
    let next = |v: &Value| {
        v["next_meeting_at"]
            .as_str()
            .map(|s| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc())
    };
    let day = |d: i64| {
        Some(
            chrono::DateTime::parse_from_rfc3339(&at(d))
                .unwrap()
                .to_utc(),
        )
    };
    let t = json_of(
        a.get(&app, &format!("/api/v1/tickets/{internal}")).await,
        200,
    )
    .await;
    assert_eq!(next(&t), day(7), "{t}");
    let t = json_of(
        a.get(&app, &format!("/api/v1/tickets/{functional}")).await,
        200,
    )
    .await;
    assert_eq!(next(&t), day(30));
    let t = json_of(
        a.get(&app, &format!("/api/v1/tickets/{helpdesk}")).await,
        200,
    )
    .await;
    assert!(t["next_meeting_at"].is_null());
    let list = json_of(
        a.get(&app, "/api/v1/tickets?department=internal-discussion")
            .await,
        200,
    )
    .await;
    assert_eq!(next(&list["items"][0]), day(7));
    // A department change shows it at once.
    let t = json_of(
        a.patch(
            &app,
            &format!("/api/v1/tickets/{helpdesk}"),
            json!({"department": "functional-consultation"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(next(&t), day(30));
    // The list is the tenant's own, by start; validation and isolation.
    let m = json_of(
        a.get(
            &app,
            "/api/v1/helpdesk/meetings?kind=internal-discussion&limit=2",
        )
        .await,
        200,
    )
    .await;
    assert_eq!(m["items"].as_array().unwrap().len(), 2);
    let cursor = m["next_cursor"].as_str().unwrap();
    let m2 = json_of(
        a.get(
            &app,
            &format!("/api/v1/helpdesk/meetings?kind=internal-discussion&limit=2&cursor={cursor}"),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(m2["items"].as_array().unwrap().len(), 1);
    assert!(m2["next_cursor"].is_null());
    let b_meetings = json_of(b.get(&app, "/api/v1/helpdesk/meetings").await, 200).await;
    assert_eq!(b_meetings["items"].as_array().unwrap().len(), 1);
    let a_id = m["items"][0]["id"].as_str().unwrap();
    problem(
        call(
            &app,
            &b.token,
            Method::DELETE,
            &format!("/api/v1/helpdesk/meetings/{a_id}"),
            None,
        )
        .await,
        404,
        "not-found",
    )
    .await;
    for body in [
        json!({"kind": "weekly", "starts_at": at(1)}),
        json!({"kind": "internal-discussion", "starts_at": "tomorrow"}),
        json!({"kind": "internal-discussion", "starts_at": at(1), "title": " "}),
    ] {
        problem(
            a.post(&app, "/api/v1/helpdesk/meetings", body).await,
            422,
            "validation-failed",
        )
        .await;
    }
    let res = call(
        &app,
        &a.token,
        Method::DELETE,
        &format!("/api/v1/helpdesk/meetings/{a_id}"),
        None,
    )
    .await;
    assert_eq!(res.status().as_u16(), 204);
    // Without the meeting of day 7, the next is day 14.
    let day7 = m["items"][1]["id"].as_str().unwrap();
    let res = call(
        &app,
        &a.token,
        Method::DELETE,
        &format!("/api/v1/helpdesk/meetings/{day7}"),
        None,
    )
    .await;
    assert_eq!(res.status().as_u16(), 204);
    let t = json_of(
        a.get(&app, &format!("/api/v1/tickets/{internal}")).await,
        200,
    )
    .await;
    assert_eq!(next(&t), day(14));
}

// --- Status page -----------------------------------------------------------------------------

#[tokio::test]
async fn public_status_needs_no_token_is_cacheable_and_shows_only_its_tenant() {
    let app = spawn_app().await;
    let a = Tenant::new(&app, "Status A").await;
    let b = Tenant::new(&app, "Status B").await;
    let slug = json_of(a.get(&app, &format!("/api/v1/tenants/{}", a.id)).await, 200).await["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    let api = json_of(
        a.post(
            &app,
            "/api/v1/status/components",
            json!({"name": "API", "position": 1}),
        )
        .await,
        201,
    )
    .await;
    let mail = json_of(
        a.post(
            &app,
            "/api/v1/status/components",
            json!({"name": "Mail delivery", "state": "degraded", "position": 2}),
        )
        .await,
        201,
    )
    .await;
    let secret = json_of(
        b.post(
            &app,
            "/api/v1/status/components",
            json!({"name": "Geheim B-onderdeel", "state": "major_outage"}),
        )
        .await,
        201,
    )
    .await;
    json_of(
        b.post(
            &app,
            "/api/v1/status/incidents",
            json!({"kind": "incident", "title": "Storing bij B", "body": "B ligt eruit"}),
        )
        .await,
        201,
    )
    .await;
    problem(
        a.post(&app, "/api/v1/status/components", json!({"name": "API"}))
            .await,
        409,
        "conflict",
    )
    .await;
    // Another tenant's component cannot be named or changed.
    let p = problem(
        a.post(
            &app,
            "/api/v1/status/incidents",
            json!({"kind": "incident", "title": "X", "body": "Y", "component_ids": [secret["id"]]}),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(p["invalid_params"][0]["name"], "component_ids");
    problem(
        a.patch(
            &app,
            &format!(
                "/api/v1/status/components/{}",
                secret["id"].as_str().unwrap()
            ),
            json!({"state": "operational"}),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    let inc = json_of(
        a.post(
            &app,
            "/api/v1/status/incidents",
            json!({"kind": "incident", "title": "Mail vertraagd", "body": "We onderzoeken het.", "component_ids": [mail["id"]]}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(inc["status"], "investigating");
    let now = app.state.clock.now();
    json_of(
        a.post(
            &app,
            "/api/v1/status/incidents",
            json!({"kind": "maintenance", "title": "Database-upgrade", "body": "Gepland onderhoud.",
                   "component_ids": [api["id"]],
                   "scheduled_start": (now + chrono::Duration::days(3)).to_rfc3339(),
                   "scheduled_end": (now + chrono::Duration::days(3) + chrono::Duration::hours(2)).to_rfc3339()}),
        )
        .await,
        201,
    )
    .await;

    // No token needed, by slug or id.
    let url = app.url(&format!("/api/v1/public/status?tenant={slug}"));
    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let text = res.text().await.unwrap();
    let page: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(page["name"], "Status A");
    assert_eq!(page["state"], "degraded");
    assert_eq!(page["components"].as_array().unwrap().len(), 2);
    assert_eq!(page["active"][0]["title"], "Mail vertraagd");
    assert_eq!(page["scheduled"][0]["title"], "Database-upgrade");
    for leak in [
        "Geheim",
        "Storing bij B",
        "B ligt eruit",
        &b.id.to_string(),
        &a.id.to_string(),
    ] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
    let by_id = app
        .client
        .get(app.url(&format!("/api/v1/public/status?tenant={}", a.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(by_id.headers()["etag"].to_str().unwrap(), etag);
    // 304 while unchanged; a new ETag once it changes.
    let res = app
        .client
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 304);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
    assert!(res.bytes().await.unwrap().is_empty());
    let id = inc["id"].as_str().unwrap();
    let resolved = json_of(
        a.post(
            &app,
            &format!("/api/v1/status/incidents/{id}/updates"),
            json!({"status": "resolved", "body": "Opgelost."}),
        )
        .await,
        201,
    )
    .await;
    assert!(resolved["resolved_at"].is_string());
    assert_eq!(resolved["updates"].as_array().unwrap().len(), 2);
    let res = app
        .client
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_ne!(res.headers()["etag"].to_str().unwrap(), etag);
    let page: Value = res.json().await.unwrap();
    assert!(page["active"].as_array().unwrap().is_empty());
    assert_eq!(page["recent"][0]["title"], "Mail vertraagd");
    // Unknown tenants are a 404.
    let res = app
        .client
        .get(app.url("/api/v1/public/status?tenant=nobody-here"))
        .send()
        .await
        .unwrap();
    problem(res, 404, "not-found").await;

    // Incident rules: closed takes no updates, statuses fit the kind, windows are required.
    problem(
        a.post(
            &app,
            &format!("/api/v1/status/incidents/{id}/updates"),
            json!({"body": "Toch niet"}),
        )
        .await,
        409,
        "invalid-state",
    )
    .await;
    for (body, field) in [
        (
            json!({"kind": "incident", "title": "X", "body": "Y", "status": "scheduled"}),
            "status",
        ),
        (
            json!({"kind": "maintenance", "title": "X", "body": "Y"}),
            "scheduled_start",
        ),
        (
            json!({"kind": "maintenance", "title": "X", "body": "Y",
                   "scheduled_start": "2030-01-02T00:00:00Z", "scheduled_end": "2030-01-01T00:00:00Z"}),
            "scheduled_end",
        ),
        (
            json!({"kind": "incident", "title": "", "body": "Y"}),
            "title",
        ),
    ] {
        let p = problem(
            a.post(&app, "/api/v1/status/incidents", body.clone()).await,
            422,
            "validation-failed",
        )
        .await;
        assert!(
            p["invalid_params"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["name"] == field),
            "{body}: {p}"
        );
    }
    // Another tenant's incident is a 404; webhooks topics fired.
    problem(
        b.get(&app, &format!("/api/v1/status/incidents/{id}")).await,
        404,
        "not-found",
    )
    .await;
    let topics: Vec<String> = events(&app, a.id, "Status.Incident")
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(
        topics,
        [
            "Status.IncidentCreate",
            "Status.IncidentCreate",
            "Status.IncidentUpdate",
            "Status.IncidentResolve"
        ]
    );
    let catalogue = json_of(a.get(&app, "/api/v1/webhooks/topics").await, 200)
        .await
        .to_string();
    for t in [
        "Releases.Deliver",
        "Status.IncidentResolve",
        "Forum.PostHeld",
    ] {
        assert!(catalogue.contains(t), "{t}");
    }
}

// --- Forum -----------------------------------------------------------------------------------

#[tokio::test]
async fn the_forum_is_shared_across_tenants_while_tickets_stay_private() {
    let app = spawn_app().await;
    let vendor = Tenant::new(&app, "Forum vendor").await;
    let other = Tenant::new(&app, "Forum other").await;
    let karin = other.customer(&app, "karin@elders.example").await;
    let cat = json_of(
        vendor
            .post(
                &app,
                "/api/v1/forum/categories",
                json!({"name": "Vragen", "description": "Stel ze hier"}),
            )
            .await,
        201,
    )
    .await;
    let news = json_of(
        vendor
            .post(
                &app,
                "/api/v1/forum/categories",
                json!({"name": "Nieuws", "posting": "staff"}),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(cat["moderated_by_you"], true);
    // The other tenant's customer sees the vendor's categories and starts a topic there.
    let cats = json_of(
        call(&app, &karin, Method::GET, "/api/v1/forum/categories", None).await,
        200,
    )
    .await;
    assert_eq!(cats.as_array().unwrap().len(), 2);
    assert!(
        cats.as_array()
            .unwrap()
            .iter()
            .all(|c| c["moderated_by_you"] == false)
    );
    let cat_id = cat["id"].as_str().unwrap();
    let topic = json_of(
        call(
            &app,
            &karin,
            Method::POST,
            &format!("/api/v1/forum/categories/{cat_id}/topics"),
            Some(json!({"title": "Exporteren naar Excel", "body": "Hoe exporteer ik de agenda?"})),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(topic["status"], "published");
    assert_eq!(topic["author_kind"], "customer");
    assert_eq!(topic["author_name"], "Klant Karin");
    let tid = topic["id"].as_str().unwrap();
    // Staff-only categories take posts from their hosting staff only.
    let res = call(
        &app,
        &karin,
        Method::POST,
        &format!(
            "/api/v1/forum/categories/{}/topics",
            news["id"].as_str().unwrap()
        ),
        Some(json!({"title": "Mag ik?", "body": "Hallo"})),
    )
    .await;
    problem(res, 403, "forbidden").await;
    let res = other
        .post(
            &app,
            &format!(
                "/api/v1/forum/categories/{}/topics",
                news["id"].as_str().unwrap()
            ),
            json!({"title": "Mag ik?", "body": "Hallo"}),
        )
        .await;
    problem(res, 403, "forbidden").await;

    // The vendor reads and answers it; the other tenant's staff reads the answer.
    let list = json_of(vendor.get(&app, "/api/v1/forum/topics").await, 200).await;
    assert_eq!(list["items"][0]["id"], tid);
    let answer = json_of(
        vendor
            .post(
                &app,
                &format!("/api/v1/forum/topics/{tid}/posts"),
                json!({"body": "Via Menu > Exporteren."}),
            )
            .await,
        201,
    )
    .await;
    let posts = json_of(
        other
            .get(&app, &format!("/api/v1/forum/topics/{tid}/posts"))
            .await,
        200,
    )
    .await;
    assert_eq!(posts["items"].as_array().unwrap().len(), 2);
    assert_eq!(posts["items"][1]["body"], "Via Menu > Exporteren.");
    // Authors never show their tenant or ids.
    let raw = posts.to_string();
    assert!(!raw.contains(&vendor.id.to_string()) && !raw.contains(&other.id.to_string()));

    // Only the hosting tenant's staff moderate.
    problem(
        other
            .patch(
                &app,
                &format!("/api/v1/forum/topics/{tid}"),
                json!({"pinned": true}),
            )
            .await,
        403,
        "forbidden",
    )
    .await;
    problem(
        call(
            &app,
            &karin,
            Method::PATCH,
            &format!("/api/v1/forum/topics/{tid}"),
            Some(json!({"locked": true})),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let moderated = json_of(
        vendor
            .patch(
                &app,
                &format!("/api/v1/forum/topics/{tid}"),
                json!({"pinned": true, "locked": true, "answer_post_id": answer["id"]}),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(moderated["pinned"], true);
    assert_eq!(moderated["answer_post_id"], answer["id"]);
    problem(
        vendor
            .patch(
                &app,
                &format!("/api/v1/forum/topics/{tid}"),
                json!({"answer_post_id": uuid::Uuid::now_v7()}),
            )
            .await,
        422,
        "validation-failed",
    )
    .await;
    // Locked: only moderators reply.
    let res = call(
        &app,
        &karin,
        Method::POST,
        &format!("/api/v1/forum/topics/{tid}/posts"),
        Some(json!({"body": "Dank!"})),
    )
    .await;
    problem(res, 409, "invalid-state").await;
    json_of(
        vendor
            .post(
                &app,
                &format!("/api/v1/forum/topics/{tid}/posts"),
                json!({"body": "Gesloten."}),
            )
            .await,
        201,
    )
    .await;
    // Hiding a post removes it for everyone but the moderators.
    let hidden = json_of(
        vendor
            .post(
                &app,
                &format!(
                    "/api/v1/forum/posts/{}/moderate",
                    answer["id"].as_str().unwrap()
                ),
                json!({"status": "hidden"}),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(hidden["status"], "hidden");
    let posts = json_of(
        other
            .get(&app, &format!("/api/v1/forum/topics/{tid}/posts"))
            .await,
        200,
    )
    .await;
    assert_eq!(posts["items"].as_array().unwrap().len(), 2);
    let posts = json_of(
        vendor
            .get(&app, &format!("/api/v1/forum/topics/{tid}/posts"))
            .await,
        200,
    )
    .await;
    assert_eq!(posts["items"].as_array().unwrap().len(), 3);

    // Search finds titles and published posts.
    let found = json_of(other.get(&app, "/api/v1/forum/topics?q=EXCEL").await, 200).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let found = json_of(
        other
            .get(&app, "/api/v1/forum/topics?q=agenda%20exporteer")
            .await,
        200,
    )
    .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let found = json_of(other.get(&app, "/api/v1/forum/topics?q=Menu").await, 200).await;
    assert!(
        found["items"].as_array().unwrap().is_empty(),
        "hidden posts are not searched"
    );

    // Pages: the pinned topic first, then the newest, each exactly once.
    let mut newer = Vec::new();
    for title in ["Tweede", "Derde"] {
        let t = json_of(
            vendor
                .post(
                    &app,
                    &format!("/api/v1/forum/categories/{cat_id}/topics"),
                    json!({"title": title, "body": "Tekst"}),
                )
                .await,
            201,
        )
        .await;
        newer.push(t["id"].clone());
    }
    let (mut seen, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/forum/topics?limit=1&cursor={c}"),
            None => "/api/v1/forum/topics?limit=1".to_owned(),
        };
        let page = json_of(other.get(&app, &path).await, 200).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, vec![json!(tid), newer[1].clone(), newer[0].clone()]);

    // Tickets stay private: the vendor cannot see the other tenant's ticket.
    let number = other
        .ticket(&app, "karin@elders.example", "nl-NL", "helpdesk", None)
        .await;
    problem(
        vendor.get(&app, &format!("/api/v1/tickets/{number}")).await,
        404,
        "not-found",
    )
    .await;
    let vendor_list = json_of(vendor.get(&app, "/api/v1/tickets").await, 200).await;
    assert!(vendor_list["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_forum_post_with_a_valid_bsn_is_held_for_moderation() {
    let app = spawn_app().await;
    let vendor = Tenant::new(&app, "Held vendor").await;
    let other = Tenant::new(&app, "Held other").await;
    let third = Tenant::new(&app, "Held third").await;
    let cat = json_of(
        vendor
            .post(&app, "/api/v1/forum/categories", json!({"name": "Vragen"}))
            .await,
        201,
    )
    .await;
    let cat_id = cat["id"].as_str().unwrap();
    let topic = json_of(
        other
            .post(
                &app,
                &format!("/api/v1/forum/categories/{cat_id}/topics"),
                json!({"title": "Agenda", "body": "Hoe plan ik?"}),
            )
            .await,
        201,
    )
    .await;
    let tid = topic["id"].as_str().unwrap();
    let held = json_of(
        other
            .post(
                &app,
                &format!("/api/v1/forum/topics/{tid}/posts"),
                json!({"body": "Bij client met BSN 123456782 gaat het mis."}),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(held["status"], "held");
    assert_eq!(held["yours"], true);
    // A BSN-like number failing the 11-check is not personal data.
    let clean = json_of(
        other
            .post(
                &app,
                &format!("/api/v1/forum/topics/{tid}/posts"),
                json!({"body": "Ordernummer BSN 123456789 werkt niet."}),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(clean["status"], "published");
    // Others do not see the held post, nor find it; the author and the moderators do.
    let seen = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].clone())
            .collect::<Vec<_>>()
    };
    let third_view = json_of(
        third
            .get(&app, &format!("/api/v1/forum/topics/{tid}/posts"))
            .await,
        200,
    )
    .await;
    assert!(!seen(&third_view).contains(&held["id"]));
    assert!(!third_view.to_string().contains("123456782"));
    let found = |v: Value| v["items"].as_array().unwrap().len();
    let search = "/api/v1/forum/topics?q=client";
    assert_eq!(found(json_of(third.get(&app, search).await, 200).await), 0);
    let own_view = json_of(
        other
            .get(&app, &format!("/api/v1/forum/topics/{tid}/posts"))
            .await,
        200,
    )
    .await;
    assert!(seen(&own_view).contains(&held["id"]));
    let mod_view = json_of(
        vendor
            .get(&app, &format!("/api/v1/forum/topics/{tid}/posts"))
            .await,
        200,
    )
    .await;
    assert!(seen(&mod_view).contains(&held["id"]));
    assert!(
        events(&app, vendor.id, "Forum.PostHeld")
            .await
            .iter()
            .any(|(_, id)| id == held["id"].as_str().unwrap())
    );
    // Only the moderators publish it; then everyone sees it.
    problem(
        third
            .post(
                &app,
                &format!(
                    "/api/v1/forum/posts/{}/moderate",
                    held["id"].as_str().unwrap()
                ),
                json!({"status": "published"}),
            )
            .await,
        404,
        "not-found",
    )
    .await;
    problem(
        other
            .post(
                &app,
                &format!(
                    "/api/v1/forum/posts/{}/moderate",
                    held["id"].as_str().unwrap()
                ),
                json!({"status": "published"}),
            )
            .await,
        403,
        "forbidden",
    )
    .await;
    json_of(
        vendor
            .post(
                &app,
                &format!(
                    "/api/v1/forum/posts/{}/moderate",
                    held["id"].as_str().unwrap()
                ),
                json!({"status": "published"}),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(
        found(json_of(third.get(&app, search).await, 200).await),
        1,
        "a published post is found"
    );
    let third_view = json_of(
        third
            .get(&app, &format!("/api/v1/forum/topics/{tid}/posts"))
            .await,
        200,
    )
    .await;
    assert!(seen(&third_view).contains(&held["id"]));

    // A topic whose first post holds personal data is held as a whole.
    let held_topic = json_of(
        other
            .post(
                &app,
                &format!("/api/v1/forum/categories/{cat_id}/topics"),
                json!({"title": "IBAN fout", "body": "Rekening NL91ABNA0417164300 klopt niet"}),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(held_topic["status"], "held");
    let htid = held_topic["id"].as_str().unwrap();
    problem(
        third
            .get(&app, &format!("/api/v1/forum/topics/{htid}"))
            .await,
        404,
        "not-found",
    )
    .await;
    let list = json_of(third.get(&app, "/api/v1/forum/topics").await, 200).await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["id"] != htid)
    );
    json_of(
        other
            .get(&app, &format!("/api/v1/forum/topics/{htid}"))
            .await,
        200,
    )
    .await;
    let list = json_of(vendor.get(&app, "/api/v1/forum/topics").await, 200).await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == htid)
    );

    // Validation.
    for (path, body) in [
        (
            format!("/api/v1/forum/categories/{cat_id}/topics"),
            json!({"title": " ", "body": "x"}),
        ),
        (
            format!("/api/v1/forum/categories/{cat_id}/topics"),
            json!({"title": "x", "body": ""}),
        ),
        (
            format!("/api/v1/forum/topics/{tid}/posts"),
            json!({"body": "\u{0}"}),
        ),
        (
            "/api/v1/forum/categories".to_owned(),
            json!({"name": "x", "posting": "nobody"}),
        ),
    ] {
        problem(
            vendor.post(&app, &path, body).await,
            422,
            "validation-failed",
        )
        .await;
    }
    problem(
        vendor
            .post(
                &app,
                &format!("/api/v1/forum/categories/{}/topics", uuid::Uuid::now_v7()),
                json!({"title": "x", "body": "y"}),
            )
            .await,
        404,
        "not-found",
    )
    .await;
}
