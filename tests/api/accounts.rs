//! Tenants, users, API accounts, keys, audit events and `/me` over HTTP (R-TEN, R-ONCE,
//! R-AUTHZ), as a client sees them.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of, problem, spawn_app, totp_code};

async fn get(app: &TestApp, token: &str, path: &str) -> Response {
    app.client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn patch(app: &TestApp, token: &str, path: &str, body: Value) -> Response {
    app.client
        .patch(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn delete(app: &TestApp, token: &str, path: &str) -> Response {
    app.client
        .delete(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn create_user(app: &TestApp, token: &str, name: &str, email: &str) -> Value {
    json_of(
        post(
            app,
            token,
            "/api/v1/users",
            json!({ "name": name, "email": email }),
        )
        .await,
        201,
    )
    .await
}

pub(crate) async fn create_account(
    app: &TestApp,
    token: &str,
    name: &str,
    permissions: Value,
) -> Value {
    json_of(
        post(
            app,
            token,
            "/api/v1/api-accounts",
            json!({ "name": name, "permissions": permissions }),
        )
        .await,
        201,
    )
    .await
}

/// Logs in as an account returned by `POST /api-accounts` and returns its access token.
pub(crate) async fn login_as(app: &TestApp, created: &Value) -> String {
    let body = app
        .login(
            created["username"].as_str().unwrap(),
            created["password"].as_str().unwrap(),
            created["totp_secret"].as_str().unwrap(),
        )
        .await;
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn users_round_trip_create_read_list_change_delete() {
    let app = spawn_app().await;
    let (admin, token) = app.admin_token("Arbodienst Noord").await;

    let res = post(
        &app,
        &token,
        "/api/v1/users",
        json!({ "name": "  Anna de Vries ", "email": "Anna@Example.org", "permissions": ["tickets:read"] }),
    )
    .await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let user = json_of(res, 201).await;
    let id = user["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/v1/users/{id}"));
    assert_eq!(user["kind"], "user");
    assert_eq!(user["tenant_id"], admin.tenant_id.to_string());
    assert_eq!(user["name"], "Anna de Vries");
    assert_eq!(user["email"], "anna@example.org");
    assert_eq!(
        user["language"], "nl-NL",
        "defaults to the tenant's culture"
    );
    assert_eq!(user["permissions"], json!(["tickets:read"]));
    assert_eq!(user["active"], true);

    assert_eq!(json_of(get(&app, &token, &location).await, 200).await, user);
    let list = json_of(get(&app, &token, "/api/v1/users").await, 200).await;
    assert_eq!(list["items"], json!([user.clone()]));
    assert_eq!(list["next_cursor"], Value::Null);

    let changed = json_of(
        patch(
            &app,
            &token,
            &location,
            json!({ "name": "Anna Jansen", "language": "en-GB", "active": false }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["name"], "Anna Jansen");
    assert_eq!(changed["language"], "en-GB");
    assert_eq!(changed["active"], false);
    assert_eq!(changed["email"], "anna@example.org", "absent fields stay");
    assert_eq!(
        json_of(get(&app, &token, &location).await, 200).await,
        changed
    );

    assert_eq!(delete(&app, &token, &location).await.status(), 204);
    problem(get(&app, &token, &location).await, 404, "not-found").await;
    problem(delete(&app, &token, &location).await, 404, "not-found").await;
}

/// R-ONCE: the password and TOTP secret are in the create answer only.
#[tokio::test]
async fn api_account_credentials_are_shown_once_and_never_again() {
    let app = spawn_app().await;
    let (_, token) = app.admin_token("Arbodienst Noord").await;

    let res = post(
        &app,
        &token,
        "/api/v1/api-accounts",
        json!({ "name": "Portal", "permissions": ["accounts:read", "tickets:read"] }),
    )
    .await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let created = json_of(res, 201).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/api-accounts/{id}"));
    assert_eq!(created["kind"], "api_account");
    assert_eq!(created["name"], "Portal");
    assert_eq!(
        created["permissions"],
        json!(["accounts:read", "tickets:read"])
    );
    let username = created["username"].as_str().unwrap().to_owned();
    let (slug, suffix) = username.split_once('.').unwrap();
    assert_eq!(slug, "arbodienst-noord");
    assert_eq!(suffix.len(), 8);
    assert!(
        suffix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    );
    let password = created["password"].as_str().unwrap().to_owned();
    let secret = created["totp_secret"].as_str().unwrap().to_owned();
    assert!(password.len() >= 40);
    assert!(
        created["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    // The credentials work.
    let own = login_as(&app, &created).await;
    let me = json_of(get(&app, &own, "/api/v1/me").await, 200).await;
    assert_eq!(me["id"], id.as_str());

    // No later answer carries them, nor the stored hash.
    let changed = patch(&app, &token, &location, json!({ "name": "Portal 2" })).await;
    assert_eq!(changed.status(), 200);
    let texts = [
        get(&app, &token, &location).await.text().await.unwrap(),
        get(&app, &token, "/api/v1/api-accounts")
            .await
            .text()
            .await
            .unwrap(),
        changed.text().await.unwrap(),
        get(&app, &token, "/api/v1/audit-events")
            .await
            .text()
            .await
            .unwrap(),
        get(&app, &own, "/api/v1/me").await.text().await.unwrap(),
    ];
    for text in &texts {
        for needle in [
            "password",
            "totp_secret",
            "password_hash",
            "otpauth",
            password.as_str(),
            secret.as_str(),
        ] {
            assert!(!text.contains(needle), "`{needle}` leaked in {text}");
        }
    }
    let account: Value = serde_json::from_str(&texts[0]).unwrap();
    assert_eq!(account["name"], "Portal 2");
    assert_eq!(account["username"], username.as_str());

    assert_eq!(delete(&app, &token, &location).await.status(), 204);
    problem(get(&app, &token, &location).await, 404, "not-found").await;
    // Its token died with it.
    problem(get(&app, &own, "/api/v1/me").await, 401, "unauthorized").await;
}

/// R-TEN: another tenant's ids answer 404 for reading, changing and deleting, and nothing
/// changes there.
#[tokio::test]
async fn other_tenants_users_accounts_and_tenant_answer_404() {
    let app = spawn_app().await;
    let (_, token_a) = app.admin_token("Tenant A").await;
    let (admin_b, token_b) = app.admin_token("Tenant B").await;
    let user_b = create_user(&app, &token_b, "Bob", "bob@example.org").await;
    let account_b = create_account(&app, &token_b, "B's portal", json!(["tickets:read"])).await;
    let user_path = format!("/api/v1/users/{}", user_b["id"].as_str().unwrap());
    let account_path = format!("/api/v1/api-accounts/{}", account_b["id"].as_str().unwrap());
    let tenant_path = format!("/api/v1/tenants/{}", admin_b.tenant_id);

    for path in [&user_path, &account_path, &tenant_path] {
        problem(get(&app, &token_a, path).await, 404, "not-found").await;
        problem(
            patch(&app, &token_a, path, json!({ "name": "Hijacked" })).await,
            404,
            "not-found",
        )
        .await;
    }
    for path in [&user_path, &account_path] {
        problem(delete(&app, &token_a, path).await, 404, "not-found").await;
    }
    let rotate = format!("{account_path}/rotate-secret");
    problem(
        post(&app, &token_a, &rotate, json!({})).await,
        404,
        "not-found",
    )
    .await;
    let keys = format!("{account_path}/keys");
    problem(get(&app, &token_a, &keys).await, 404, "not-found").await;
    let jwk = json!({ "jwk": { "kty": "OKP", "crv": "Ed25519", "kid": "k",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" } });
    problem(post(&app, &token_a, &keys, jwk).await, 404, "not-found").await;

    // A's lists do not show B's records.
    let users = json_of(get(&app, &token_a, "/api/v1/users").await, 200).await;
    assert_eq!(users["items"], json!([]));
    let accounts = json_of(get(&app, &token_a, "/api/v1/api-accounts").await, 200).await;
    assert_eq!(accounts["items"].as_array().unwrap().len(), 1);

    // Nothing changed in B.
    assert_eq!(
        json_of(get(&app, &token_b, &user_path).await, 200).await,
        user_b
    );
    let account = json_of(get(&app, &token_b, &account_path).await, 200).await;
    assert_eq!(account["name"], "B's portal");
    let tenant = json_of(get(&app, &token_b, &tenant_path).await, 200).await;
    assert_eq!(tenant["name"], "Tenant B");
    login_as(&app, &account_b).await;
}

/// R-AUTHZ: reading needs `accounts:read`, writing `accounts:write`.
#[tokio::test]
async fn a_token_without_accounts_write_cannot_create_users() {
    let app = spawn_app().await;
    let (_, token) = app.admin_token("T").await;
    let reader = create_account(&app, &token, "Reader", json!(["accounts:read"])).await;
    let reader_token = login_as(&app, &reader).await;

    let body = problem(
        post(
            &app,
            &reader_token,
            "/api/v1/users",
            json!({ "name": "Anna", "email": "anna@example.org" }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("accounts:write"),
        "{body}"
    );
    problem(
        post(
            &app,
            &reader_token,
            "/api/v1/api-accounts",
            json!({ "name": "X" }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    json_of(get(&app, &reader_token, "/api/v1/users").await, 200).await;

    // Without accounts:read even reading is refused.
    let other = create_account(&app, &token, "Tickets", json!(["tickets:read"])).await;
    let other_token = login_as(&app, &other).await;
    problem(
        get(&app, &other_token, "/api/v1/users").await,
        403,
        "forbidden",
    )
    .await;
    problem(
        get(&app, &other_token, "/api/v1/audit-events").await,
        403,
        "forbidden",
    )
    .await;
}

/// No privilege escalation: permissions are granted only by those who hold them, accounts are
/// managed only by those holding all their permissions, and `platform:admin` is never granted.
#[tokio::test]
async fn nobody_grants_or_takes_over_more_than_they_hold() {
    let app = spawn_app().await;
    let (admin, token) = app.admin_token("T").await;
    let writer = create_account(
        &app,
        &token,
        "Writer",
        json!(["accounts:read", "accounts:write"]),
    )
    .await;
    let writer_token = login_as(&app, &writer).await;

    let body = problem(
        post(
            &app,
            &writer_token,
            "/api/v1/api-accounts",
            json!({ "name": "Escalated", "permissions": ["superadmin"] }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("superadmin"));
    problem(
        post(
            &app,
            &writer_token,
            "/api/v1/users",
            json!({ "name": "U", "email": "u@example.org", "permissions": ["tickets:write"] }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // It can grant what it holds.
    let small = create_account(&app, &writer_token, "Small", json!(["accounts:read"])).await;
    // It cannot raise an account above itself, nor itself.
    for id in [
        small["id"].as_str().unwrap(),
        writer["id"].as_str().unwrap(),
    ] {
        problem(
            patch(
                &app,
                &writer_token,
                &format!("/api/v1/api-accounts/{id}"),
                json!({ "permissions": ["superadmin"] }),
            )
            .await,
            403,
            "forbidden",
        )
        .await;
    }
    // It cannot take over the superadmin account: no rotation, no key, no change, no delete.
    let admin_path = format!("/api/v1/api-accounts/{}", admin.account_id);
    problem(
        post(
            &app,
            &writer_token,
            &format!("{admin_path}/rotate-secret"),
            json!({}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let jwk = json!({ "jwk": { "kty": "OKP", "crv": "Ed25519", "kid": "k",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" } });
    problem(
        post(&app, &writer_token, &format!("{admin_path}/keys"), jwk).await,
        403,
        "forbidden",
    )
    .await;
    problem(
        patch(&app, &writer_token, &admin_path, json!({ "active": false })).await,
        403,
        "forbidden",
    )
    .await;
    problem(
        delete(&app, &writer_token, &admin_path).await,
        403,
        "forbidden",
    )
    .await;
    // platform:admin is never granted here, not even by a platform admin.
    problem(
        post(
            &app,
            &token,
            "/api/v1/api-accounts",
            json!({ "name": "Platform", "permissions": ["platform:admin"] }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    problem(
        patch(
            &app,
            &token,
            &format!("/api/v1/api-accounts/{}", small["id"].as_str().unwrap()),
            json!({ "permissions": ["platform:admin"] }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // The admin account still has exactly what it had.
    let account = json_of(get(&app, &token, &admin_path).await, 200).await;
    assert_eq!(
        account["permissions"],
        json!(["superadmin", "platform:admin"])
    );
}

#[tokio::test]
async fn invalid_input_is_refused_naming_the_field() {
    let app = spawn_app().await;
    let (_, token) = app.admin_token("T").await;

    let body = problem(
        post(
            &app,
            &token,
            "/api/v1/users",
            json!({ "name": "Anna", "email": "not-an-address" }),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["invalid_params"][0]["name"], "email");

    let body = problem(
        post(
            &app,
            &token,
            "/api/v1/users",
            json!({ "name": "   ", "email": "a@example.org", "language": "dutch" }),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    let names: Vec<&str> = body["invalid_params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["name", "language"]);

    let res = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"name": "Anna", "email": "#)
        .send()
        .await
        .unwrap();
    problem(res, 400, "malformed-request").await;

    let body = problem(
        post(
            &app,
            &token,
            "/api/v1/users",
            json!({ "name": "Anna", "email": "a@example.org", "is_admin": true }),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["invalid_params"][0]["name"], "is_admin");

    let body = problem(
        post(
            &app,
            &token,
            "/api/v1/api-accounts",
            json!({ "name": "X", "permissions": ["tickets:delete"] }),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert!(body["detail"].as_str().is_some());

    let user = create_user(&app, &token, "Anna", "anna@example.org").await;
    let path = format!("/api/v1/users/{}", user["id"].as_str().unwrap());
    problem(
        patch(&app, &token, &path, json!({ "password": "x" })).await,
        422,
        "validation-failed",
    )
    .await;
    let body = problem(
        patch(&app, &token, &path, json!({ "name": "x".repeat(201) })).await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["invalid_params"][0]["name"], "name");
    // A path id that is not a UUID is simply not found.
    problem(
        get(&app, &token, "/api/v1/users/not-a-uuid").await,
        404,
        "not-found",
    )
    .await;
}

#[tokio::test]
async fn duplicate_email_addresses_conflict_within_a_tenant_only() {
    let app = spawn_app().await;
    let (_, token) = app.admin_token("T").await;
    create_user(&app, &token, "Anna", "anna@example.org").await;
    let body = problem(
        post(
            &app,
            &token,
            "/api/v1/users",
            json!({ "name": "Other Anna", "email": "ANNA@example.org" }),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("e-mail"),
        "{body}"
    );
    let bob = create_user(&app, &token, "Bob", "bob@example.org").await;
    problem(
        patch(
            &app,
            &token,
            &format!("/api/v1/users/{}", bob["id"].as_str().unwrap()),
            json!({ "email": "anna@example.org" }),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    // Another tenant may have the same address.
    let (_, other) = app.admin_token("U").await;
    create_user(&app, &other, "Anna", "anna@example.org").await;
}

#[tokio::test]
async fn rotating_the_secret_replaces_the_credentials_and_ends_sessions() {
    let app = spawn_app().await;
    let (_, token) = app.admin_token("T").await;
    let created = create_account(&app, &token, "Portal", json!(["accounts:read"])).await;
    let old_token = login_as(&app, &created).await;
    let refresh = {
        let code = totp_code(
            created["totp_secret"].as_str().unwrap(),
            app.unix_now() + 30,
        );
        let res = app
            .password_grant(
                created["username"].as_str().unwrap(),
                &format!("{}{code}", created["password"].as_str().unwrap()),
            )
            .await;
        json_of(res, 200).await["refresh_token"]
            .as_str()
            .map(str::to_owned)
    };
    json_of(get(&app, &old_token, "/api/v1/me").await, 200).await;

    let path = format!(
        "/api/v1/api-accounts/{}/rotate-secret",
        created["id"].as_str().unwrap()
    );
    let rotated = json_of(post(&app, &token, &path, json!({})).await, 200).await;
    assert_eq!(rotated["id"], created["id"]);
    assert_eq!(rotated["username"], created["username"]);
    assert_ne!(rotated["password"], created["password"]);
    assert_ne!(rotated["totp_secret"], created["totp_secret"]);
    assert!(rotated["otpauth_uri"].is_string());

    // The old access token is dead at once, so is its refresh token.
    problem(
        get(&app, &old_token, "/api/v1/me").await,
        401,
        "unauthorized",
    )
    .await;
    if let Some(refresh) = refresh {
        let res = app
            .client
            .post(app.url("/oauth/token"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
    }
    // The old password no longer logs in (with a valid code of the new secret), nor does the
    // old TOTP secret (with the new password).
    let new_code = totp_code(rotated["totp_secret"].as_str().unwrap(), app.unix_now());
    let old_code = totp_code(created["totp_secret"].as_str().unwrap(), app.unix_now());
    for (password, code) in [
        (created["password"].as_str().unwrap(), new_code),
        (rotated["password"].as_str().unwrap(), old_code),
    ] {
        let res = app
            .password_grant(
                created["username"].as_str().unwrap(),
                &format!("{password}{code}"),
            )
            .await;
        assert_eq!(res.status(), 400);
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
    }
    // The new one does.
    let new_token = login_as(&app, &rotated).await;
    json_of(get(&app, &new_token, "/api/v1/me").await, 200).await;
}

#[tokio::test]
async fn deactivation_ends_sessions_at_once_and_nobody_removes_itself() {
    let app = spawn_app().await;
    let (admin, token) = app.admin_token("T").await;
    let created = create_account(
        &app,
        &token,
        "Portal",
        json!(["accounts:read", "accounts:write"]),
    )
    .await;
    let own = login_as(&app, &created).await;
    let path = format!("/api/v1/api-accounts/{}", created["id"].as_str().unwrap());
    json_of(get(&app, &own, "/api/v1/me").await, 200).await;

    // An account can neither deactivate nor delete itself.
    let body = problem(
        patch(&app, &own, &path, json!({ "active": false })).await,
        409,
        "conflict",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("itself"));
    problem(delete(&app, &own, &path).await, 409, "conflict").await;
    // Nor rotate its own secret or change its own permissions (which would end its session).
    problem(
        post(&app, &own, &format!("{path}/rotate-secret"), json!({})).await,
        409,
        "conflict",
    )
    .await;
    problem(
        patch(
            &app,
            &own,
            &path,
            json!({ "permissions": ["accounts:read"] }),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    let renamed = json_of(
        patch(&app, &own, &path, json!({ "name": "Renamed" })).await,
        200,
    )
    .await;
    assert_eq!(renamed["name"], "Renamed");
    json_of(get(&app, &own, "/api/v1/me").await, 200).await;
    let admin_path = format!("/api/v1/api-accounts/{}", admin.account_id);
    problem(delete(&app, &token, &admin_path).await, 409, "conflict").await;

    let changed = json_of(
        patch(&app, &token, &path, json!({ "active": false })).await,
        200,
    )
    .await;
    assert_eq!(changed["active"], false);
    problem(get(&app, &own, "/api/v1/me").await, 401, "unauthorized").await;
    // And it cannot log in again until reactivated.
    let code = totp_code(
        created["totp_secret"].as_str().unwrap(),
        app.unix_now() + 30,
    );
    let res = app
        .password_grant(
            created["username"].as_str().unwrap(),
            &format!("{}{code}", created["password"].as_str().unwrap()),
        )
        .await;
    assert_eq!(res.status(), 400);

    // Changing permissions ends sessions too.
    let other = create_account(&app, &token, "Other", json!(["accounts:read"])).await;
    let other_token = login_as(&app, &other).await;
    let other_path = format!("/api/v1/api-accounts/{}", other["id"].as_str().unwrap());
    json_of(
        patch(
            &app,
            &token,
            &other_path,
            json!({ "permissions": ["tickets:read"] }),
        )
        .await,
        200,
    )
    .await;
    problem(
        get(&app, &other_token, "/api/v1/me").await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn audit_events_record_who_changed_what_without_secrets() {
    let app = spawn_app().await;
    let (admin, token) = app.admin_token("T").await;
    let user = create_user(&app, &token, "Anna", "anna@example.org").await;
    let account = create_account(&app, &token, "Portal", json!(["tickets:read"])).await;
    let user_id = user["id"].as_str().unwrap();

    let res = get(&app, &token, "/api/v1/audit-events").await;
    let text = res.text().await.unwrap();
    assert!(!text.contains(account["password"].as_str().unwrap()));
    let page: Value = serde_json::from_str(&text).unwrap();
    let events = page["items"].as_array().unwrap();
    // Newest first.
    assert_eq!(events[0]["action"], "api_accounts.create");
    let created = events
        .iter()
        .find(|e| e["action"] == "users.create")
        .unwrap();
    assert_eq!(created["object_id"], user_id);
    assert_eq!(created["object_type"], "user");
    assert_eq!(
        created["actor"]["api_account_id"],
        admin.account_id.to_string()
    );
    assert_eq!(created["actor"]["user_id"], Value::Null);
    assert_eq!(created["tenant_id"], admin.tenant_id.to_string());

    // Filters.
    let filtered = json_of(
        get(
            &app,
            &token,
            &format!("/api/v1/audit-events?object_id={user_id}"),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
    let by_actor = json_of(
        get(
            &app,
            &token,
            &format!("/api/v1/audit-events?actor={}&limit=1", admin.account_id),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(by_actor["items"].as_array().unwrap().len(), 1);
    assert!(by_actor["next_cursor"].is_string());
    problem(
        get(&app, &token, "/api/v1/audit-events?from=yesterday").await,
        400,
        "malformed-request",
    )
    .await;

    // Another tenant sees none of it.
    let (_, other) = app.admin_token("U").await;
    let theirs = json_of(get(&app, &other, "/api/v1/audit-events").await, 200).await;
    assert!(
        theirs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["object_id"] != user_id)
    );
}

#[tokio::test]
async fn user_changes_are_published_to_the_outbox() {
    let app = spawn_app().await;
    let (admin, token) = app.admin_token("T").await;
    let user = create_user(&app, &token, "Anna", "anna@example.org").await;
    let path = format!("/api/v1/users/{}", user["id"].as_str().unwrap());
    json_of(
        patch(&app, &token, &path, json!({ "name": "Anna J" })).await,
        200,
    )
    .await;
    assert_eq!(delete(&app, &token, &path).await.status(), 204);

    let tenant = admin.tenant_id;
    let events = app
        .state
        .db
        .read(move |c| loket_storage::outbox::list_for_tenant(c, tenant))
        .await
        .unwrap();
    let user_id = user["id"].as_str().unwrap();
    let topics: Vec<&str> = events
        .iter()
        .filter(|e| e.object_id == user_id)
        .map(|e| e.topic.as_str())
        .collect();
    assert_eq!(
        topics,
        ["Accounts.Create", "Accounts.Update", "Accounts.Delete"]
    );
    let create = events
        .iter()
        .find(|e| e.object_id == user_id && e.topic == "Accounts.Create")
        .unwrap();
    let payload: Value = serde_json::from_str(&create.payload).unwrap();
    assert_eq!(payload["email"], "anna@example.org");
    assert_eq!(payload["kind"], "user");
    assert_eq!(
        create.actor_api_account_id.as_deref(),
        Some(admin.account_id.to_string().as_str())
    );
    // The first account of the tenant was announced too, without secrets.
    let first = events
        .iter()
        .find(|e| e.object_id == admin.account_id.to_string())
        .unwrap();
    assert_eq!(first.topic, "Accounts.Create");
    assert!(!first.payload.contains("password"));
}

#[tokio::test]
async fn users_are_paginated_by_cursor() {
    let app = spawn_app().await;
    let (_, token) = app.admin_token("T").await;
    let mut ids = Vec::new();
    for n in 1..=3 {
        let u = create_user(
            &app,
            &token,
            &format!("User {n}"),
            &format!("u{n}@example.org"),
        )
        .await;
        ids.push(u["id"].as_str().unwrap().to_owned());
    }
    let first = json_of(get(&app, &token, "/api/v1/users?limit=2").await, 200).await;
    let got: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[0].as_str(), ids[1].as_str()]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = json_of(
        get(
            &app,
            &token,
            &format!("/api/v1/users?limit=2&cursor={cursor}"),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["items"][0]["id"], ids[2].as_str());
    assert_eq!(second["next_cursor"], Value::Null);

    let body = problem(
        get(&app, &token, "/api/v1/users?limit=0").await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["invalid_params"][0]["name"], "limit");
    problem(
        get(&app, &token, "/api/v1/users?cursor=%25%25").await,
        400,
        "invalid-cursor",
    )
    .await;
    let accounts = json_of(get(&app, &token, "/api/v1/api-accounts?limit=1").await, 200).await;
    assert_eq!(accounts["items"].as_array().unwrap().len(), 1);
    assert_eq!(accounts["next_cursor"], Value::Null);
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer() {
    let app = spawn_app().await;
    let (_, token) = app.admin_token("T").await;
    let send = |body: Value| {
        let (app, token) = (&app, &token);
        async move {
            app.client
                .post(app.url("/api/v1/users"))
                .bearer_auth(token)
                .header("Idempotency-Key", "create-anna-1")
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let body = json!({ "name": "Anna", "email": "anna@example.org" });
    let first = send(body.clone()).await;
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = json_of(first, 201).await;
    let again = send(body).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let location = again.headers()["location"].to_str().unwrap().to_owned();
    let again = json_of(again, 201).await;
    assert_eq!(again["id"], first["id"]);
    assert_eq!(
        location,
        format!("/api/v1/users/{}", first["id"].as_str().unwrap())
    );
    let list = json_of(get(&app, &token, "/api/v1/users").await, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    problem(
        send(json!({ "name": "Bob", "email": "bob@example.org" })).await,
        422,
        "idempotency-key-reused",
    )
    .await;
}

#[tokio::test]
async fn public_keys_are_registered_listed_and_removed_but_private_ones_refused() {
    let app = spawn_app().await;
    let (_, token) = app.admin_token("T").await;
    let account = create_account(&app, &token, "Signer", json!(["tickets:read"])).await;
    let keys = format!(
        "/api/v1/api-accounts/{}/keys",
        account["id"].as_str().unwrap()
    );
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());

    let res = post(
        &app,
        &token,
        &keys,
        json!({ "jwk": { "kty": "OKP", "crv": "Ed25519", "x": x, "kid": "key-1" } }),
    )
    .await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let key = json_of(res, 201).await;
    assert_eq!(key["kid"], "key-1");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["jwk"]["x"], x.as_str());
    assert_eq!(location, format!("{keys}/{}", key["id"].as_str().unwrap()));
    let list = json_of(get(&app, &token, &keys).await, 200).await;
    assert_eq!(list, json!([key.clone()]));

    problem(
        post(
            &app,
            &token,
            &keys,
            json!({ "jwk": { "kty": "OKP", "crv": "Ed25519", "x": x, "kid": "key-1" } }),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    let body = problem(
        post(
            &app,
            &token,
            &keys,
            json!({ "jwk": { "kty": "OKP", "crv": "Ed25519", "x": x, "kid": "key-2",
                "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A" } }),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert!(
        body["invalid_params"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("public key"),
        "{body}"
    );
    problem(
        post(
            &app,
            &token,
            &keys,
            json!({ "jwk": { "kty": "oct", "k": "c2VjcmV0", "kid": "key-3" } }),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    problem(
        post(
            &app,
            &token,
            &keys,
            json!({ "jwk": { "kty": "OKP", "crv": "Ed25519", "x": "too-short", "kid": "key-4" } }),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;

    assert_eq!(delete(&app, &token, &location).await.status(), 204);
    problem(delete(&app, &token, &location).await, 404, "not-found").await;
    assert_eq!(
        json_of(get(&app, &token, &keys).await, 200).await,
        json!([])
    );
}

#[tokio::test]
async fn tenants_are_read_renamed_and_created_by_platform_admins_only() {
    let app = spawn_app().await;
    let (admin, token) = app.admin_token("Arbodienst Noord").await;
    let path = format!("/api/v1/tenants/{}", admin.tenant_id);
    let tenant = json_of(get(&app, &token, &path).await, 200).await;
    assert_eq!(tenant["name"], "Arbodienst Noord");
    assert_eq!(tenant["slug"], "arbodienst-noord");
    assert_eq!(tenant["default_culture"], "nl-NL");

    let changed = json_of(
        patch(
            &app,
            &token,
            &path,
            json!({ "name": "Arbodienst Noord BV", "default_culture": "en-GB" }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["name"], "Arbodienst Noord BV");
    assert_eq!(changed["default_culture"], "en-GB");
    assert_eq!(changed["slug"], "arbodienst-noord", "the slug stays");
    // New users default to the tenant's culture.
    let user = create_user(&app, &token, "Anna", "anna@example.org").await;
    assert_eq!(user["language"], "en-GB");

    // A platform admin creates another tenant; its first account is a superadmin only.
    let res = post(
        &app,
        &token,
        "/api/v1/tenants",
        json!({ "name": "Zorg & Werk" }),
    )
    .await;
    // No Location: the creator cannot read the new tenant (R-TEN).
    assert!(res.headers().get("location").is_none());
    let created = json_of(res, 201).await;
    assert_eq!(created["tenant"]["slug"], "zorg-werk");
    assert_eq!(created["api_account"]["permissions"], json!(["superadmin"]));
    assert!(
        created["username"]
            .as_str()
            .unwrap()
            .starts_with("zorg-werk.")
    );
    for field in ["password", "totp_secret", "otpauth_uri"] {
        assert!(created[field].is_string(), "{field}");
    }
    problem(
        post(
            &app,
            &token,
            "/api/v1/tenants",
            json!({ "name": "zorg & werk" }),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    problem(
        patch(&app, &token, &path, json!({ "name": "ZORG & WERK" })).await,
        409,
        "conflict",
    )
    .await;
    // A similar name gets its own slug.
    let similar = json_of(
        post(
            &app,
            &token,
            "/api/v1/tenants",
            json!({ "name": "Zorg en Werk!", "default_culture": "be-NL" }),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(similar["tenant"]["slug"], "zorg-en-werk");
    let clash = json_of(
        post(
            &app,
            &token,
            "/api/v1/tenants",
            json!({ "name": "Zorg-Werk" }),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(clash["tenant"]["slug"], "zorg-werk-2");

    // The new tenant's superadmin logs in, but cannot create tenants.
    let theirs = app
        .login(
            created["username"].as_str().unwrap(),
            created["password"].as_str().unwrap(),
            created["totp_secret"].as_str().unwrap(),
        )
        .await;
    let their_token = theirs["access_token"].as_str().unwrap();
    let body = problem(
        post(
            &app,
            their_token,
            "/api/v1/tenants",
            json!({ "name": "Another" }),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("platform:admin"));
    // And sees its own tenant, not the creator's.
    json_of(
        get(
            &app,
            their_token,
            &format!(
                "/api/v1/tenants/{}",
                created["tenant"]["id"].as_str().unwrap()
            ),
        )
        .await,
        200,
    )
    .await;
    problem(get(&app, their_token, &path).await, 404, "not-found").await;
}

#[tokio::test]
async fn me_describes_the_caller_and_needs_a_token() {
    let app = spawn_app().await;
    let (admin, token) = app.admin_token("T").await;
    let me = json_of(get(&app, &token, "/api/v1/me").await, 200).await;
    assert_eq!(me["kind"], "api_account");
    assert_eq!(me["id"], admin.account_id.to_string());
    assert_eq!(me["tenant_id"], admin.tenant_id.to_string());
    assert_eq!(me["name"], "Administrator");
    assert_eq!(me["acting_api_account_id"], Value::Null);
    let res = app.get("/api/v1/me").await;
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    problem(res, 401, "unauthorized").await;
    problem(
        post(
            &app,
            "not-a-token",
            "/api/v1/users",
            json!({ "name": "A", "email": "a@example.org" }),
        )
        .await,
        401,
        "unauthorized",
    )
    .await;
}

/// R-ONCE also holds for idempotent retries: a create whose answer held credentials is not
/// repeated and its answer is not replayed; other stored answers are sealed at rest.
#[tokio::test]
async fn idempotent_retries_never_show_credentials_twice_and_store_nothing_in_clear() {
    let app = spawn_app().await;
    let (_, token) = app.admin_token("Once").await;
    let send = |key: &'static str, path: &'static str, body: Value| {
        let app = &app;
        let token = token.clone();
        async move {
            app.client
                .post(app.url(path))
                .bearer_auth(token)
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let body = json!({ "name": "Portal", "permissions": ["tickets:read"] });
    let first = send("create-portal", "/api/v1/api-accounts", body.clone()).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert!(first["password"].is_string());
    let again = send("create-portal", "/api/v1/api-accounts", body).await;
    assert_eq!(again.status(), 409);
    let text = again.text().await.unwrap();
    assert!(text.contains("/problems/credentials-shown-once"), "{text}");
    assert!(!text.contains(first["password"].as_str().unwrap()));
    let list: Value = app
        .client
        .get(app.url("/api/v1/api-accounts"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let portals = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["name"] == "Portal")
        .count();
    assert_eq!(portals, 1, "the retry created a second account");

    // An ordinary stored answer replays, but is not readable in the database.
    let user = json!({ "name": "Sealed", "email": "sealed.person@example.org" });
    let a = send("create-user", "/api/v1/users", user.clone()).await;
    assert_eq!(a.status(), 201);
    let b = send("create-user", "/api/v1/users", user).await;
    assert_eq!(b.headers()["idempotent-replayed"], "true");
    let stored: Vec<Option<String>> = app
        .state
        .db
        .read(|c| {
            use diesel::prelude::*;
            use loket_storage::schema::idempotency_keys;
            Ok(idempotency_keys::table
                .select(idempotency_keys::body)
                .load(c)?)
        })
        .await
        .unwrap();
    assert!(!stored.is_empty());
    for body in stored.into_iter().flatten() {
        assert!(!body.contains("sealed.person"), "stored in clear: {body}");
        assert!(!body.contains(first["password"].as_str().unwrap()));
    }
}
