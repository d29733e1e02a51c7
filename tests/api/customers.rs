//! The helpdesk's customers over HTTP (issue 7, R-OWN): organisations, customer contacts and
//! the codes that prove their addresses (mailed through the mail outbox, and over a real SMTP
//! server), the organisation's shared address and moving tickets to it, permissions and tenant
//! isolation, and the privacy-incident report (R-PRIVACY).

use diesel::prelude::*;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of, problem, spawn_app, spawn_app_with};

/// Platform mail to a closed port: messages stay in the outbox, where the tests read them.
pub(crate) const OUTBOX_MAIL: &[(&str, &str)] = &[
    ("LOKET_PLATFORM_SMTP_URL", "smtps://localhost:9"),
    ("LOKET_PLATFORM_SENDER", "Loket <noreply@loket.test>"),
];

fn invalid_names(p: &Value) -> Vec<String> {
    p["invalid_params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) async fn call(
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

/// Creates an organisation; returns its id.
pub(crate) async fn organisation(
    app: &TestApp,
    token: &str,
    name: &str,
    shared: Option<&str>,
) -> String {
    let o = json_of(
        call(
            app,
            token,
            Method::POST,
            "/api/v1/organisations",
            Some(json!({"name": name, "shared_email": shared})),
        )
        .await,
        201,
    )
    .await;
    o["id"].as_str().unwrap().to_owned()
}

/// The newest message queued to `to`: (subject, text body).
pub(crate) fn last_mail_to(app: &TestApp, to: &str) -> (String, String) {
    let to = to.to_owned();
    app.state
        .db
        .read_blocking(move |c| {
            use loket_storage::schema::mail_outbox;
            Ok(mail_outbox::table
                .filter(mail_outbox::to_email.eq(to))
                .order((mail_outbox::created_at.desc(), mail_outbox::id.desc()))
                .select((mail_outbox::subject, mail_outbox::text_body))
                .first::<(String, String)>(c)?)
        })
        .unwrap()
}

fn mails_to(app: &TestApp, to: &str) -> i64 {
    let to = to.to_owned();
    app.state
        .db
        .read_blocking(move |c| {
            use loket_storage::schema::mail_outbox;
            Ok(mail_outbox::table
                .filter(mail_outbox::to_email.eq(to))
                .count()
                .get_result::<i64>(c)?)
        })
        .unwrap()
}

/// The 6-digit code in a mail text ("Verification code: …" / "Verificatiecode: …").
pub(crate) fn code_in(text: &str) -> String {
    let at = text.find("code: ").unwrap() + "code: ".len();
    let code = &text[at..at + 6];
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{text}");
    code.to_owned()
}

/// A code that is not `code`.
fn wrong(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

/// An access token of `account_token`'s account acting for user `user_id` (RFC 8693).
pub(crate) async fn impersonate(app: &TestApp, account_token: &str, user_id: &str) -> String {
    let res = app
        .client
        .post(app.url("/oauth/token"))
        .form(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("subject_token", account_token),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            ),
            ("requested_subject", user_id),
        ])
        .send()
        .await
        .unwrap();
    json_of(res, 200).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Registers a contact of `org` through the API, verifies it (with the mailed code) when
/// `verified`, and returns its id and an impersonated token for it.
pub(crate) async fn contact(
    app: &TestApp,
    token: &str,
    org: &str,
    email: &str,
    verified: bool,
) -> (String, String) {
    let c = json_of(
        call(
            app,
            token,
            Method::POST,
            "/api/v1/customer-contacts",
            Some(json!({"email": email, "name": "Contact", "organisation_id": org, "language": "nl-NL"})),
        )
        .await,
        201,
    )
    .await;
    let id = c["id"].as_str().unwrap().to_owned();
    if verified {
        let (_, text) = last_mail_to(app, &email.to_lowercase());
        let v = json_of(
            call(
                app,
                token,
                Method::POST,
                &format!("/api/v1/customer-contacts/{id}/verify"),
                Some(json!({"code": code_in(&text)})),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(v["verified"], true);
    }
    let t = impersonate(app, token, &id).await;
    (id, t)
}

fn ticket_form(email: &str, subject: &str) -> Value {
    json!({"contact_name": "X", "contact_email": email, "subject": subject, "description": "Hoe werkt dit?"})
}

async fn file_ticket(app: &TestApp, token: &str, email: &str) -> Value {
    json_of(
        call(
            app,
            token,
            Method::POST,
            "/api/v1/tickets",
            Some(ticket_form(email, "Vraag")),
        )
        .await,
        201,
    )
    .await
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_registration_mail_arrives_over_smtp_in_the_contacts_language_and_its_code_verifies() {
    use crate::mail::{PASSWORD, Smtp, USER, mail_app};
    let smtp = Smtp::start();
    let url = format!("smtps://{USER}:{PASSWORD}@localhost:{}", smtp.implicit);
    let app = mail_app(&[
        ("LOKET_PLATFORM_SMTP_URL", url.as_str()),
        ("LOKET_PLATFORM_SENDER", "Loket <noreply@loket.test>"),
    ])
    .await;
    let (_, token) = app.admin_token("Helpdesk BV").await;
    let org = organisation(&app, &token, "Gemeente Wageningen", None).await;
    let created = json_of(
        call(
            &app,
            &token,
            Method::POST,
            "/api/v1/customer-contacts",
            Some(json!({"email": "Anna@Gemeente.example", "name": "Anna de Vries", "organisation_id": org, "language": "en-GB"})),
        )
        .await,
        201,
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["email"], "anna@gemeente.example");
    assert_eq!(created["verified"], false);
    assert_eq!(created["organisation_id"], org.as_str());
    assert_eq!(created["language"], "en-GB");

    // The contact is a user with the `customer` role: exactly tickets:read and tickets:write.
    let user = json_of(
        call(
            &app,
            &token,
            Method::GET,
            &format!("/api/v1/users/{id}"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        user["permissions"],
        json!(["tickets:read", "tickets:write"])
    );
    assert_eq!(user["email"], "anna@gemeente.example");

    let mail = smtp.wait_for(1).await[0].clone();
    assert_eq!(mail["rcpt_tos"], json!(["anna@gemeente.example"]));
    assert_eq!(
        mail["headers"]["Subject"],
        "Complete your registration for the helpdesk"
    );
    let text = mail["text"].as_str().unwrap();
    assert!(text.contains("Gemeente Wageningen"), "{text}");
    let code = code_in(text);
    assert!(
        text.contains(&format!("/register/{id}?code={code}")),
        "{text}"
    );
    // The code is stored only as a keyed hash.
    let stored: Option<String> = {
        let id = id.clone();
        app.state
            .db
            .read_blocking(move |c| {
                use loket_storage::schema::customer_contacts;
                Ok(customer_contacts::table
                    .find(id)
                    .select(customer_contacts::code_hash)
                    .first(c)?)
            })
            .unwrap()
    };
    let stored = stored.unwrap();
    assert!(!stored.contains(&code) && stored.len() == 64, "{stored}");

    // The contact sees no tickets until verified; then its own.
    let staff_ticket = file_ticket(&app, &token, "anna@gemeente.example").await;
    assert!(staff_ticket["organisation_id"].is_null(), "{staff_ticket}");
    let anna = impersonate(&app, &token, &id).await;
    let seen = json_of(
        call(&app, &anna, Method::GET, "/api/v1/tickets", None).await,
        200,
    )
    .await;
    assert_eq!(seen["items"], json!([]));
    // The contact itself may enter its code (the portal acting for it).
    let verified = json_of(
        call(
            &app,
            &anna,
            Method::POST,
            &format!("/api/v1/customer-contacts/{id}/verify"),
            Some(json!({"code": code})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(verified["verified"], true);
    assert!(verified["verified_at"].is_string());
    assert!(!verified.to_string().contains(&code));
    let seen = json_of(
        call(&app, &anna, Method::GET, "/api/v1/tickets", None).await,
        200,
    )
    .await;
    assert_eq!(seen["items"].as_array().map(Vec::len), Some(1), "{seen}");
    // Verified once: the same code (or any) is refused now.
    problem(
        call(
            &app,
            &token,
            Method::POST,
            &format!("/api/v1/customer-contacts/{id}/verify"),
            Some(json!({"code": code})),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    // A ticket filed now belongs to the contact's organisation.
    let t = file_ticket(&app, &anna, "anna@gemeente.example").await;
    assert_eq!(t["organisation_id"], org.as_str());

    // A Dutch contact gets the Dutch text (the built-in fallback without tenant template).
    json_of(
        call(
            &app,
            &token,
            Method::POST,
            "/api/v1/customer-contacts",
            Some(json!({"email": "bob@gemeente.example", "name": "Bob", "organisation_id": org, "language": "nl-NL"})),
        )
        .await,
        201,
    )
    .await;
    let start = std::time::Instant::now();
    let bob = loop {
        if let Some(m) = smtp
            .messages()
            .into_iter()
            .find(|m| m["rcpt_tos"] == json!(["bob@gemeente.example"]))
        {
            break m;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "no mail to Bob"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(
        bob["headers"]["Subject"],
        "Voltooi uw registratie voor de helpdesk"
    );
    assert!(bob["text"].as_str().unwrap().contains("Verificatiecode: "));
}

#[tokio::test]
async fn wrong_expired_and_used_up_codes_are_refused_and_a_new_code_can_be_asked_for() {
    let app = spawn_app_with(OUTBOX_MAIL).await;
    let (admin, mut token) = app.admin_token("Helpdesk BV").await;
    let org = organisation(&app, &token, "Gemeente", None).await;
    let (id, _) = contact(&app, &token, &org, "anna@gemeente.example", false).await;
    let verify = format!("/api/v1/customer-contacts/{id}/verify");
    let resend = format!("/api/v1/customer-contacts/{id}/resend-code");
    let (_, text) = last_mail_to(&app, "anna@gemeente.example");
    let code = code_in(&text);

    // Not six digits: a validation problem naming `code`, not a try.
    for bad in ["12345", "1234567", "abcdef", ""] {
        let p = problem(
            call(
                &app,
                &token,
                Method::POST,
                &verify,
                Some(json!({"code": bad})),
            )
            .await,
            422,
            "validation-failed",
        )
        .await;
        assert_eq!(invalid_names(&p), vec!["code"]);
    }
    // Wrong codes count down; the answer never holds the code.
    for left in [4, 3, 2, 1] {
        let p = problem(
            call(
                &app,
                &token,
                Method::POST,
                &verify,
                Some(json!({"code": wrong(&code)})),
            )
            .await,
            422,
            "verification-code-wrong",
        )
        .await;
        let detail = p["detail"].as_str().unwrap();
        assert!(detail.contains(&format!("{left} tr")), "{detail}");
        assert!(!p.to_string().contains(&code), "{p}");
    }
    let p = problem(
        call(
            &app,
            &token,
            Method::POST,
            &verify,
            Some(json!({"code": wrong(&code)})),
        )
        .await,
        422,
        "verification-code-wrong",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("no tries are left"));
    // Five wrong tries use the code up: even the right one is refused.
    problem(
        call(
            &app,
            &token,
            Method::POST,
            &verify,
            Some(json!({"code": code})),
        )
        .await,
        422,
        "verification-tries-exhausted",
    )
    .await;
    let c = json_of(
        call(
            &app,
            &token,
            Method::GET,
            &format!("/api/v1/customer-contacts/{id}"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(c["verified"], false);

    // A new code is mailed (once a minute at most); the old one stops working.
    app.clock.advance(chrono::Duration::seconds(61));
    json_of(call(&app, &token, Method::POST, &resend, None).await, 200).await;
    problem(
        call(&app, &token, Method::POST, &resend, None).await,
        409,
        "invalid-state",
    )
    .await;
    assert_eq!(mails_to(&app, "anna@gemeente.example"), 2);
    let (_, text) = last_mail_to(&app, "anna@gemeente.example");
    let second = code_in(&text);
    if second != code {
        problem(
            call(
                &app,
                &token,
                Method::POST,
                &verify,
                Some(json!({"code": code})),
            )
            .await,
            422,
            "verification-code-wrong",
        )
        .await;
    }
    // It expires after 30 minutes.
    app.clock.advance(chrono::Duration::minutes(30));
    problem(
        call(
            &app,
            &token,
            Method::POST,
            &verify,
            Some(json!({"code": second})),
        )
        .await,
        422,
        "verification-code-expired",
    )
    .await;
    // (A fresh access token: the first one expired meanwhile.)
    token = app
        .login(&admin.username, &admin.password, &admin.totp_secret)
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // A third code, entered in time, verifies.
    json_of(call(&app, &token, Method::POST, &resend, None).await, 200).await;
    let (_, text) = last_mail_to(&app, "anna@gemeente.example");
    let third = code_in(&text);
    app.clock.advance(chrono::Duration::minutes(29));
    let c = json_of(
        call(
            &app,
            &token,
            Method::POST,
            &verify,
            Some(json!({"code": third})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(c["verified"], true);
    problem(
        call(&app, &token, Method::POST, &resend, None).await,
        409,
        "conflict",
    )
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_changes_nothing() {
    let app = spawn_app_with(OUTBOX_MAIL).await;
    let (_, token) = app.admin_token("Helpdesk BV").await;
    let p = problem(
        call(
            &app,
            &token,
            Method::POST,
            "/api/v1/organisations",
            Some(json!({"name": " ", "shared_email": "nope"})),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(invalid_names(&p), vec!["name", "shared_email"]);
    let org = organisation(&app, &token, "Gemeente", Some("Helpdesk@Gemeente.example")).await;
    let o = json_of(
        call(
            &app,
            &token,
            Method::GET,
            &format!("/api/v1/organisations/{org}"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(o["shared_email"], "helpdesk@gemeente.example");
    // A shared address belongs to one organisation.
    problem(
        call(
            &app,
            &token,
            Method::POST,
            "/api/v1/organisations",
            Some(json!({"name": "Ander", "shared_email": "HELPDESK@gemeente.example"})),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    let other = organisation(&app, &token, "Ander", None).await;
    problem(
        call(
            &app,
            &token,
            Method::PATCH,
            &format!("/api/v1/organisations/{other}"),
            Some(json!({"shared_email": "helpdesk@gemeente.example"})),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    let renamed = json_of(
        call(
            &app,
            &token,
            Method::PATCH,
            &format!("/api/v1/organisations/{other}"),
            Some(json!({"name": "Gemeente Ede"})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(renamed["name"], "Gemeente Ede");
    let list = json_of(
        call(
            &app,
            &token,
            Method::GET,
            "/api/v1/organisations?limit=1",
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    assert!(list["next_cursor"].is_string());

    let p = problem(
        call(
            &app,
            &token,
            Method::POST,
            "/api/v1/customer-contacts",
            Some(json!({"email": "not an address", "name": "", "organisation_id": org, "language": "dutch"})),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(invalid_names(&p), vec!["name", "email", "language"]);
    problem(
        call(
            &app,
            &token,
            Method::POST,
            "/api/v1/customer-contacts",
            Some(json!({"email": "anna@gemeente.example", "name": "Anna", "organisation_id": uuid::Uuid::new_v4()})),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    contact(&app, &token, &org, "anna@gemeente.example", false).await;
    problem(
        call(
            &app,
            &token,
            Method::POST,
            "/api/v1/customer-contacts",
            Some(json!({"email": "ANNA@gemeente.example", "name": "Anna", "organisation_id": org})),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    let users = json_of(
        call(&app, &token, Method::GET, "/api/v1/users", None).await,
        200,
    )
    .await;
    assert_eq!(users["items"].as_array().map(Vec::len), Some(1), "{users}");
    assert_eq!(mails_to(&app, "anna@gemeente.example"), 1);
    let listed = json_of(
        call(
            &app,
            &token,
            Method::GET,
            &format!("/api/v1/customer-contacts?organisation_id={other}"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(listed["items"], json!([]));
    let listed = json_of(
        call(
            &app,
            &token,
            Method::GET,
            &format!("/api/v1/customer-contacts?organisation_id={org}"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn without_any_mail_sender_no_contact_is_created() {
    let app = spawn_app().await;
    let (_, token) = app.admin_token("Helpdesk BV").await;
    let org = organisation(&app, &token, "Gemeente", None).await;
    problem(
        call(
            &app,
            &token,
            Method::POST,
            "/api/v1/customer-contacts",
            Some(json!({"email": "anna@gemeente.example", "name": "Anna", "organisation_id": org})),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    let users = json_of(
        call(&app, &token, Method::GET, "/api/v1/users", None).await,
        200,
    )
    .await;
    assert_eq!(users["items"], json!([]));
    let contacts = json_of(
        call(&app, &token, Method::GET, "/api/v1/customer-contacts", None).await,
        200,
    )
    .await;
    assert_eq!(contacts["items"], json!([]));
}

#[tokio::test]
async fn customers_cannot_manage_customers_nor_read_reports_and_other_tenants_ids_answer_404() {
    let app = spawn_app_with(OUTBOX_MAIL).await;
    let (_, token) = app.admin_token("Helpdesk BV").await;
    let org = organisation(&app, &token, "Gemeente", Some("helpdesk@gemeente.example")).await;
    let (anna_id, anna) = contact(&app, &token, &org, "anna@gemeente.example", true).await;
    let (bob_id, _) = contact(&app, &token, &org, "bob@gemeente.example", true).await;
    let t = file_ticket(&app, &anna, "anna@gemeente.example").await;
    let number = t["number"].as_str().unwrap();

    for (method, path, body) in [
        (Method::GET, "/api/v1/organisations".to_owned(), None),
        (
            Method::POST,
            "/api/v1/organisations".to_owned(),
            Some(json!({"name": "Eigen"})),
        ),
        (Method::GET, format!("/api/v1/organisations/{org}"), None),
        (
            Method::PATCH,
            format!("/api/v1/organisations/{org}"),
            Some(json!({"name": "Anders"})),
        ),
        (
            Method::POST,
            format!("/api/v1/organisations/{org}/move-to-shared"),
            Some(json!({"from_email": "anna@gemeente.example"})),
        ),
        (Method::GET, "/api/v1/customer-contacts".to_owned(), None),
        (
            Method::POST,
            "/api/v1/customer-contacts".to_owned(),
            Some(json!({"email": "eve@gemeente.example", "name": "Eve", "organisation_id": org})),
        ),
        (
            Method::POST,
            format!("/api/v1/tickets/{number}/move-to-shared"),
            None,
        ),
        (
            Method::GET,
            "/api/v1/reports/privacy-incidents?from=2026-01-01&to=2026-12-31".to_owned(),
            None,
        ),
    ] {
        let p = problem(
            call(&app, &anna, method.clone(), &path, body).await,
            403,
            "forbidden",
        )
        .await;
        assert!(!p["detail"].as_str().unwrap().is_empty(), "{method} {path}");
    }
    // A contact reads itself, not a colleague.
    json_of(
        call(
            &app,
            &anna,
            Method::GET,
            &format!("/api/v1/customer-contacts/{anna_id}"),
            None,
        )
        .await,
        200,
    )
    .await;
    for path in [
        format!("/api/v1/customer-contacts/{bob_id}"),
        format!("/api/v1/customer-contacts/{bob_id}/resend-code"),
    ] {
        let method = if path.ends_with("code") {
            Method::POST
        } else {
            Method::GET
        };
        problem(
            call(&app, &anna, method, &path, None).await,
            404,
            "not-found",
        )
        .await;
    }
    let users = json_of(
        call(&app, &token, Method::GET, "/api/v1/users", None).await,
        200,
    )
    .await;
    assert_eq!(users["items"].as_array().map(Vec::len), Some(2));

    // Another tenant sees none of it.
    let (_, other) = app.admin_token("Andere leverancier").await;
    for (method, path, body) in [
        (Method::GET, format!("/api/v1/organisations/{org}"), None),
        (
            Method::PATCH,
            format!("/api/v1/organisations/{org}"),
            Some(json!({"name": "Overgenomen"})),
        ),
        (
            Method::POST,
            format!("/api/v1/organisations/{org}/move-to-shared"),
            Some(json!({"from_email": "anna@gemeente.example"})),
        ),
        (
            Method::GET,
            format!("/api/v1/customer-contacts/{anna_id}"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/customer-contacts/{anna_id}/verify"),
            Some(json!({"code": "123456"})),
        ),
        (
            Method::POST,
            format!("/api/v1/customer-contacts/{anna_id}/resend-code"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/customer-contacts/{anna_id}/shared-email/send-code"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/customer-contacts/{anna_id}/shared-email/verify"),
            Some(json!({"code": "123456"})),
        ),
        (
            Method::POST,
            "/api/v1/customer-contacts".to_owned(),
            Some(json!({"email": "eve@gemeente.example", "name": "Eve", "organisation_id": org})),
        ),
        (
            Method::POST,
            format!("/api/v1/tickets/{number}/move-to-shared"),
            None,
        ),
    ] {
        problem(
            call(&app, &other, method, &path, body).await,
            404,
            "not-found",
        )
        .await;
    }
    for path in [
        "/api/v1/organisations",
        "/api/v1/customer-contacts",
        "/api/v1/reports/privacy-incidents?from=2000-01-01&to=2100-12-31",
    ] {
        let v = json_of(call(&app, &other, Method::GET, path, None).await, 200).await;
        assert_eq!(v["items"], json!([]), "{path}");
    }
    // Nothing changed: the organisation kept its name.
    let o = json_of(
        call(
            &app,
            &token,
            Method::GET,
            &format!("/api/v1/organisations/{org}"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(o["name"], "Gemeente");
}

#[tokio::test]
async fn a_verified_shared_address_shows_its_tickets_and_staff_move_tickets_there() {
    let app = spawn_app_with(OUTBOX_MAIL).await;
    let (admin, token) = app.admin_token("Helpdesk BV").await;
    let org = organisation(&app, &token, "Gemeente", Some("helpdesk@gemeente.example")).await;
    let (anna_id, anna) = contact(&app, &token, &org, "anna@gemeente.example", true).await;
    let (bob_id, bob) = contact(&app, &token, &org, "bob@gemeente.example", true).await;
    let (carl_id, _) = contact(&app, &token, &org, "carl@gemeente.example", false).await;
    let annas = file_ticket(&app, &anna, "anna@gemeente.example").await;
    let bobs = file_ticket(&app, &bob, "bob@gemeente.example").await;
    let bobs2 = file_ticket(&app, &bob, "bob@gemeente.example").await;
    for t in [&annas, &bobs, &bobs2] {
        assert_eq!(t["organisation_id"], org.as_str());
    }
    let n_anna = annas["number"].as_str().unwrap().to_owned();

    // An unverified contact cannot ask for the shared code; a contact only for itself.
    problem(
        call(
            &app,
            &token,
            Method::POST,
            &format!("/api/v1/customer-contacts/{carl_id}/shared-email/send-code"),
            None,
        )
        .await,
        409,
        "invalid-state",
    )
    .await;
    problem(
        call(
            &app,
            &bob,
            Method::POST,
            &format!("/api/v1/customer-contacts/{anna_id}/shared-email/send-code"),
            None,
        )
        .await,
        404,
        "not-found",
    )
    .await;

    // Staff move Anna's ticket to the shared address: history, event; Anna no longer sees it.
    let moved = json_of(
        call(
            &app,
            &token,
            Method::POST,
            &format!("/api/v1/tickets/{n_anna}/move-to-shared"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(moved["reporter_email"], "helpdesk@gemeente.example");
    let history = json_of(
        call(
            &app,
            &token,
            Method::GET,
            &format!("/api/v1/tickets/{n_anna}/history"),
            None,
        )
        .await,
        200,
    )
    .await;
    let entry = history
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["field"] == "reporter_email")
        .unwrap();
    assert_eq!(entry["old_value"], "anna@gemeente.example");
    assert_eq!(entry["new_value"], "helpdesk@gemeente.example");
    let ticket_id = annas["id"].as_str().unwrap().to_owned();
    let events = app
        .state
        .db
        .read_blocking(move |c| loket_storage::outbox::list_for_tenant(c, admin.tenant_id))
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.topic == "Tickets.Update" && e.object_id == ticket_id),
        "{:?}",
        events.iter().map(|e| &e.topic).collect::<Vec<_>>()
    );
    // Moving again changes nothing.
    json_of(
        call(
            &app,
            &token,
            Method::POST,
            &format!("/api/v1/tickets/{n_anna}/move-to-shared"),
            None,
        )
        .await,
        200,
    )
    .await;
    let ticket_path = format!("/api/v1/tickets/{n_anna}");
    problem(
        call(&app, &anna, Method::GET, &ticket_path, None).await,
        404,
        "not-found",
    )
    .await;

    // Anna verifies the shared address with the code mailed to it; then she sees it, Bob not.
    let send = format!("/api/v1/customer-contacts/{anna_id}/shared-email/send-code");
    let verify = format!("/api/v1/customer-contacts/{anna_id}/shared-email/verify");
    json_of(call(&app, &anna, Method::POST, &send, None).await, 200).await;
    let (subject, text) = last_mail_to(&app, "helpdesk@gemeente.example");
    assert!(subject.contains("helpdesk@gemeente.example"), "{subject}");
    assert!(text.contains("anna@gemeente.example"), "{text}");
    let code = code_in(&text);
    problem(
        call(
            &app,
            &anna,
            Method::POST,
            &verify,
            Some(json!({"code": wrong(&code)})),
        )
        .await,
        422,
        "verification-code-wrong",
    )
    .await;
    let c = json_of(
        call(
            &app,
            &anna,
            Method::POST,
            &verify,
            Some(json!({"code": code})),
        )
        .await,
        200,
    )
    .await;
    assert!(c["shared_email_verified_at"].is_string(), "{c}");
    json_of(
        call(&app, &anna, Method::GET, &ticket_path, None).await,
        200,
    )
    .await;
    problem(
        call(&app, &bob, Method::GET, &ticket_path, None).await,
        404,
        "not-found",
    )
    .await;
    // Anna may now file under the shared address too; it belongs to the organisation.
    let shared_t = file_ticket(&app, &anna, "helpdesk@gemeente.example").await;
    assert_eq!(shared_t["organisation_id"], org.as_str());
    let listed = json_of(
        call(&app, &anna, Method::GET, "/api/v1/tickets", None).await,
        200,
    )
    .await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );

    // Staff move all of Bob's tickets at once; Anna sees them through the shared address.
    let p = problem(
        call(
            &app,
            &token,
            Method::POST,
            &format!("/api/v1/organisations/{org}/move-to-shared"),
            Some(json!({"from_email": "someone@else.example"})),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(invalid_names(&p), vec!["from_email"]);
    let m = json_of(
        call(
            &app,
            &token,
            Method::POST,
            &format!("/api/v1/organisations/{org}/move-to-shared"),
            Some(json!({"from_email": "Bob@gemeente.example"})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(m["shared_email"], "helpdesk@gemeente.example");
    assert_eq!(m["moved"], json!([bobs["number"], bobs2["number"]]), "{m}");
    let listed = json_of(
        call(&app, &anna, Method::GET, "/api/v1/tickets", None).await,
        200,
    )
    .await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(4),
        "{listed}"
    );
    let listed = json_of(
        call(&app, &bob, Method::GET, "/api/v1/tickets", None).await,
        200,
    )
    .await;
    assert_eq!(listed["items"], json!([]));

    // A new shared address must be verified again: Anna sees only her own tickets again.
    json_of(
        call(
            &app,
            &token,
            Method::PATCH,
            &format!("/api/v1/organisations/{org}"),
            Some(json!({"shared_email": "support@gemeente.example"})),
        )
        .await,
        200,
    )
    .await;
    let c = json_of(
        call(
            &app,
            &token,
            Method::GET,
            &format!("/api/v1/customer-contacts/{anna_id}"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert!(c["shared_email_verified_at"].is_null(), "{c}");
    let listed = json_of(
        call(&app, &anna, Method::GET, "/api/v1/tickets", None).await,
        200,
    )
    .await;
    assert_eq!(listed["items"], json!([]), "{listed}");
    // A code mailed to the shared address stops working when the address changes.
    json_of(call(&app, &anna, Method::POST, &send, None).await, 200).await;
    let (_, text) = last_mail_to(&app, "support@gemeente.example");
    let code = code_in(&text);
    json_of(
        call(
            &app,
            &token,
            Method::PATCH,
            &format!("/api/v1/organisations/{org}"),
            Some(json!({"shared_email": "balie@gemeente.example"})),
        )
        .await,
        200,
    )
    .await;
    problem(
        call(
            &app,
            &anna,
            Method::POST,
            &verify,
            Some(json!({"code": code})),
        )
        .await,
        422,
        "verification-code-wrong",
    )
    .await;
    // Without a shared address nothing can be moved.
    json_of(
        call(
            &app,
            &token,
            Method::PATCH,
            &format!("/api/v1/organisations/{org}"),
            Some(json!({"shared_email": null})),
        )
        .await,
        200,
    )
    .await;
    let n_bob = bobs["number"].as_str().unwrap();
    let _ = bob_id;
    problem(
        call(
            &app,
            &token,
            Method::POST,
            &format!("/api/v1/tickets/{n_bob}/move-to-shared"),
            None,
        )
        .await,
        409,
        "invalid-state",
    )
    .await;
    // A ticket of nobody's address belongs to no organisation and cannot be moved.
    let stranger = file_ticket(&app, &token, "stranger@elders.example").await;
    assert!(stranger["organisation_id"].is_null());
    problem(
        call(
            &app,
            &token,
            Method::POST,
            &format!(
                "/api/v1/tickets/{}/move-to-shared",
                stranger["number"].as_str().unwrap()
            ),
            None,
        )
        .await,
        409,
        "invalid-state",
    )
    .await;
}

#[tokio::test]
async fn the_privacy_report_counts_incidents_per_organisation_and_period() {
    let app = spawn_app_with(OUTBOX_MAIL).await;
    let (admin, token) = app.admin_token("Helpdesk BV").await;
    let wag = organisation(&app, &token, "Gemeente Wageningen", None).await;
    let ede = organisation(&app, &token, "Gemeente Ede", None).await;
    contact(&app, &token, &wag, "anna@wageningen.example", true).await;
    contact(&app, &token, &ede, "bob@ede.example", true).await;
    let label = |token: String, number: String, labels: Value| {
        let app = &app;
        async move {
            json_of(
                call(
                    app,
                    &token,
                    Method::PATCH,
                    &format!("/api/v1/tickets/{number}"),
                    Some(json!({ "labels": labels })),
                )
                .await,
                200,
            )
            .await;
        }
    };
    let day = app.state.clock.now().date_naive();
    let num = |t: &Value| t["number"].as_str().unwrap().to_owned();
    // Wageningen: one light, one full, one with both, one clean; Ede: one light.
    let t = file_ticket(&app, &token, "anna@wageningen.example").await;
    label(token.clone(), num(&t), json!(["security-incident-light"])).await;
    let t = file_ticket(&app, &token, "anna@wageningen.example").await;
    label(token.clone(), num(&t), json!(["security-incident"])).await;
    let t = file_ticket(&app, &token, "anna@wageningen.example").await;
    label(
        token.clone(),
        num(&t),
        json!(["security-incident", "security-incident-light"]),
    )
    .await;
    file_ticket(&app, &token, "anna@wageningen.example").await;
    let t = file_ticket(&app, &token, "bob@ede.example").await;
    label(
        token.clone(),
        num(&t),
        json!(["security-incident-light", "urgent"]),
    )
    .await;
    // An incident of no organisation.
    let t = file_ticket(&app, &token, "stranger@elders.example").await;
    label(token.clone(), num(&t), json!(["security-incident-light"])).await;
    // Ten days later, outside a one-day period.
    app.clock.advance(chrono::Duration::days(10));
    let token = app
        .login(&admin.username, &admin.password, &admin.totp_secret)
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let t = file_ticket(&app, &token, "bob@ede.example").await;
    label(token.clone(), num(&t), json!(["security-incident"])).await;

    let report = |from: String, to: String| {
        let (app, token) = (&app, &token);
        async move {
            call(
                app,
                token,
                Method::GET,
                &format!("/api/v1/reports/privacy-incidents?from={from}&to={to}"),
                None,
            )
            .await
        }
    };
    let r = json_of(report(day.to_string(), day.to_string()).await, 200).await;
    assert_eq!(
        r,
        json!({"items": [
            {"organisation_id": ede, "organisation_name": "Gemeente Ede", "light": 1, "full": 0, "total": 1},
            {"organisation_id": wag, "organisation_name": "Gemeente Wageningen", "light": 2, "full": 2, "total": 3},
            {"organisation_id": null, "organisation_name": null, "light": 1, "full": 0, "total": 1},
        ]}),
    );
    let later = day + chrono::Duration::days(10);
    let r = json_of(report(day.to_string(), later.to_string()).await, 200).await;
    assert_eq!(r["items"][0]["organisation_name"], "Gemeente Ede");
    assert_eq!(r["items"][0]["full"], 1);
    assert_eq!(r["items"][0]["total"], 2);
    let r = json_of(report(later.to_string(), later.to_string()).await, 200).await;
    assert_eq!(r["items"].as_array().map(Vec::len), Some(1), "{r}");
    let before = day - chrono::Duration::days(1);
    let r = json_of(report(before.to_string(), before.to_string()).await, 200).await;
    assert_eq!(r, json!({"items": []}));

    // Bad periods name the field.
    for (from, to, field) in [
        (later.to_string(), day.to_string(), "to"),
        ("2026-02-30".to_owned(), day.to_string(), "from"),
        (day.to_string(), "tomorrow".to_owned(), "to"),
        ("26-1-1".to_owned(), day.to_string(), "from"),
    ] {
        let p = problem(report(from, to).await, 422, "validation-failed").await;
        assert_eq!(invalid_names(&p), vec![field], "{p}");
    }
    let p = problem(
        call(
            &app,
            &token,
            Method::GET,
            "/api/v1/reports/privacy-incidents",
            None,
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(invalid_names(&p), vec!["from", "to"]);
}
