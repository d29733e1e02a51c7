//! The OAuth2 authorization server, as standard clients use it (R-LOGIN, R-AUTHZ, R-TEN).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with, totp_code};

fn code_now(app: &TestApp, secret: &str) -> String {
    totp_code(secret, app.unix_now())
}

async fn token_form(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url("/oauth/token"))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn introspect(app: &TestApp, bearer: &str, token: &str) -> Value {
    let res = app
        .client
        .post(app.url("/oauth/introspect"))
        .bearer_auth(bearer)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn password_grant_with_code_appended_issues_a_verifiable_jwt() {
    let app = spawn_app().await;
    let admin = app.bootstrap("Arbodienst Noord").await;
    let code = code_now(&app, &admin.totp_secret);
    let res = app
        .client
        .post(app.url("/oauth/token"))
        .header("Authorization", "Basic Og==") // what Swagger UI sends
        .form(&[
            ("grant_type", "password"),
            ("username", &admin.username),
            ("password", &format!("{}{code}", admin.password)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["base_url"], format!("{}/api/v1", app.address));
    assert!(body["refresh_token"].as_str().unwrap().len() > 30);
    assert_eq!(body["scope"], "superadmin platform:admin");

    // Verify with the published JWKS, as a resource server would.
    let token = body["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwks: Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == json!(header.kid))
        .unwrap();
    let key = DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap();
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_audience(&["loket"]);
    v.set_issuer(&[&app.address]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &v)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], admin.account_id.to_string());
    assert_eq!(claims["tid"], admin.tenant_id.to_string());
    assert!(claims.get("act").is_none());

    let me = introspect(&app, token, token).await;
    assert_eq!(me["active"], true);
    assert_eq!(me["token_type"], "access_token");
}

#[tokio::test]
async fn the_code_may_come_in_a_separate_totp_field() {
    let app = spawn_app().await;
    let admin = app.bootstrap("T").await;
    let code = code_now(&app, &admin.totp_secret);
    let res = token_form(
        &app,
        &[
            ("grant_type", "password"),
            ("username", &admin.username),
            ("password", &admin.password),
            ("totp", &code),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_totp_code_is_accepted_only_once() {
    let app = spawn_app().await;
    let admin = app.bootstrap("T").await;
    let code = code_now(&app, &admin.totp_secret);
    let pw = format!("{}{code}", admin.password);
    assert_eq!(app.password_grant(&admin.username, &pw).await.status(), 200);
    let replay = app.password_grant(&admin.username, &pw).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(
        replay.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn wrong_password_wrong_code_and_unknown_user_answer_alike() {
    let app = spawn_app().await;
    let admin = app.bootstrap("T").await;
    let code = code_now(&app, &admin.totp_secret);
    let wrong_code = if code == "000000" {
        "111111".to_owned()
    } else {
        "000000".to_owned()
    };
    let attempts = [
        (admin.username.clone(), format!("not-the-password{code}")),
        (
            admin.username.clone(),
            format!("{}{wrong_code}", admin.password),
        ),
        (
            "nobody.at.all".to_owned(),
            format!("{}{code}", admin.password),
        ),
    ];
    let mut answers = Vec::new();
    for (user, pw) in attempts {
        let res = app.password_grant(&user, &pw).await;
        answers.push((res.status(), res.text().await.unwrap()));
    }
    assert_eq!(answers[0].0, 400);
    assert!(answers[0].1.contains("invalid_grant"));
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
}

#[tokio::test]
async fn repeated_failures_lock_the_account_until_the_window_passes() {
    let app = spawn_app().await;
    let admin = app.bootstrap("T").await;
    for _ in 0..5 {
        let res = app.password_grant(&admin.username, "wrong123456").await;
        assert_eq!(res.status(), 400);
    }
    // Locked: even the right password and code are refused, with the same answer.
    let code = code_now(&app, &admin.totp_secret);
    let res = app
        .password_grant(&admin.username, &format!("{}{code}", admin.password))
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
    // Still locked a minute before the window ends.
    app.clock.advance(chrono::Duration::minutes(14));
    let code = totp_code(&admin.totp_secret, app.unix_now() + 30);
    let res = app
        .password_grant(&admin.username, &format!("{}{code}", admin.password))
        .await;
    assert_eq!(res.status(), 400);

    app.clock.advance(chrono::Duration::minutes(2));
    let token = app
        .login(&admin.username, &admin.password, &admin.totp_secret)
        .await;
    assert!(token["access_token"].is_string());
}

#[tokio::test]
async fn expired_tampered_and_foreign_tokens_are_refused() {
    let app = spawn_app().await;
    let (_, token) = app.admin_token("T").await;
    let me = |t: String| {
        let app = &app;
        async move { introspect_status(app, &t).await }
    };
    assert_eq!(me(token.clone()).await, 200);

    // Tampered: flip a character of the payload.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["scope"] = json!("superadmin platform:admin accounts:read");
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    assert_eq!(me(parts.join(".")).await, 401);

    // Signed by another key with the same kid and claims.
    let header = jsonwebtoken::decode_header(&token).unwrap();
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(&token).unwrap();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let forged =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(pkcs8.as_ref())).unwrap();
    assert_eq!(me(forged).await, 401);

    // alg=none and HS256 confusion.
    let mut none = Header::new(Algorithm::HS256);
    none.kid = header.kid.clone();
    let hs = jsonwebtoken::encode(&none, &claims, &EncodingKey::from_secret(b"secret")).unwrap();
    assert_eq!(me(hs).await, 401);

    // Expired: an hour later.
    app.clock.advance(chrono::Duration::seconds(3601));
    assert_eq!(me(token).await, 401);
}

async fn introspect_status(app: &TestApp, bearer: &str) -> u16 {
    app.client
        .post(app.url("/oauth/introspect"))
        .bearer_auth(bearer)
        .form(&[("token", "irrelevant")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    let admin = app.bootstrap("T").await;
    let first = app
        .login(&admin.username, &admin.password, &admin.totp_secret)
        .await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let res = token_form(
        &app,
        &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
    )
    .await;
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.unwrap();
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    assert_eq!(second["base_url"], format!("{}/api/v1", app.address));

    // r1 comes back: reuse. Refused, and r2 dies with it.
    let reuse = token_form(
        &app,
        &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
    )
    .await;
    assert_eq!(reuse.status(), 400);
    assert_eq!(
        reuse.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let after = token_form(
        &app,
        &[("grant_type", "refresh_token"), ("refresh_token", &r2)],
    )
    .await;
    assert_eq!(after.status(), 400);
}

#[tokio::test]
async fn revoked_tokens_stop_working_at_once() {
    let app = spawn_app().await;
    let admin = app.bootstrap("T").await;
    let t = app
        .login(&admin.username, &admin.password, &admin.totp_secret)
        .await;
    let access = t["access_token"].as_str().unwrap();
    let refresh = t["refresh_token"].as_str().unwrap();
    assert_eq!(introspect_status(&app, access).await, 200);
    for token in [access, refresh] {
        let res = app
            .client
            .post(app.url("/oauth/revoke"))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    assert_eq!(introspect_status(&app, access).await, 401);
    let res = token_form(
        &app,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(res.status(), 400);
    // Unknown tokens are fine too (RFC 7009).
    let res = app
        .client
        .post(app.url("/oauth/revoke"))
        .form(&[("token", "nonsense")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn introspection_hides_other_tenants_tokens() {
    let app = spawn_app().await;
    let (_, a) = app.admin_token("Tenant A").await;
    let (_, b) = app.admin_token("Tenant B").await;
    assert_eq!(introspect(&app, &a, &a).await["active"], true);
    assert_eq!(introspect(&app, &a, &b).await, json!({ "active": false }));
    assert_eq!(
        introspect(&app, &a, "garbage").await,
        json!({ "active": false })
    );
    let anonymous = app
        .client
        .post(app.url("/oauth/introspect"))
        .form(&[("token", a.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn token_errors_follow_rfc_6749() {
    let app = spawn_app().await;
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("grant_type", "implicit")], "unsupported_grant_type"),
        (&[], "invalid_request"),
        (
            &[("grant_type", "password"), ("username", "x")],
            "invalid_request",
        ),
        (
            &[("grant_type", "refresh_token"), ("refresh_token", "nope")],
            "invalid_grant",
        ),
    ];
    for (form, error) in cases {
        let res = token_form(&app, form).await;
        assert_eq!(res.status(), 400, "{form:?}");
        assert_eq!(res.headers()["content-type"], "application/json");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], error, "{form:?}");
    }
    let json_body = app
        .client
        .post(app.url("/oauth/token"))
        .json(&json!({"grant_type": "password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), 400);
    assert_eq!(
        json_body.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
}

#[tokio::test]
async fn scope_can_narrow_but_not_widen() {
    let app = spawn_app().await;
    let admin = app.bootstrap("T").await;
    let code = code_now(&app, &admin.totp_secret);
    let pw = format!("{}{code}", admin.password);
    let res = token_form(
        &app,
        &[
            ("grant_type", "password"),
            ("username", &admin.username),
            ("password", &pw),
            ("scope", "tickets:read"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["scope"], "tickets:read");
}

#[tokio::test]
async fn metadata_lists_endpoints_grants_and_every_scope() {
    let app = spawn_app().await;
    let m: Value = app
        .get("/.well-known/oauth-authorization-server")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(m["issuer"], app.address);
    assert_eq!(m["token_endpoint"], format!("{}/oauth/token", app.address));
    assert_eq!(
        m["jwks_uri"],
        format!("{}/.well-known/jwks.json", app.address)
    );
    for s in [
        "accounts:read",
        "accounts:write",
        "agenda:read",
        "agenda:write",
        "agenda:autoplan",
        "tickets:read",
        "tickets:write",
        "webhooks:manage",
        "mail:manage",
        "impersonate",
        "superadmin",
        "platform:admin",
    ] {
        assert!(
            m["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(s)),
            "{s}"
        );
    }
    assert!(
        m["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("urn:ietf:params:oauth:grant-type:token-exchange"))
    );
}

#[tokio::test]
async fn credentials_and_tokens_never_reach_the_logs() {
    let app = spawn_app().await;
    let admin = app.bootstrap("T").await;
    let t = app
        .login(&admin.username, &admin.password, &admin.totp_secret)
        .await;
    let _ = app
        .password_grant(&admin.username, &format!("{}000000", admin.password))
        .await;
    let access = t["access_token"].as_str().unwrap();
    let _ = introspect_status(&app, access).await;
    let logs = crate::helpers::captured_logs();
    assert!(logs.contains("request finished"), "logs were not captured");
    for secret in [
        admin.password.as_str(),
        admin.totp_secret.as_str(),
        access,
        t["refresh_token"].as_str().unwrap(),
    ] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}

/// RFC 7523 `private_key_jwt`: an Ed25519 key registered for the account, no password, no TOTP.
#[tokio::test]
async fn client_credentials_with_a_private_key_jwt() {
    let app = spawn_app().await;
    let (admin, token) = app.admin_token("T").await;
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
    let res = app
        .client
        .post(app.url(&format!("/api/v1/api-accounts/{}/keys", admin.account_id)))
        .bearer_auth(&token)
        .json(
            &json!({ "jwk": { "kty": "OKP", "crv": "Ed25519", "x": x, "kid": "integration-key" } }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());

    let assertion = |jti: &str| {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("integration-key".into());
        let now = app.unix_now() as i64;
        let claims = json!({ "iss": admin.username, "sub": admin.username, "aud": app.url("/oauth/token"),
            "iat": now, "exp": now + 300, "jti": jti });
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(pkcs8.as_ref())).unwrap()
    };
    let a1 = assertion("one");
    let grant = |a: String| {
        let app = &app;
        async move {
            token_form(
                app,
                &[
                    ("grant_type", "client_credentials"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &a),
                ],
            )
            .await
        }
    };
    let res = grant(a1.clone()).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert!(body.get("refresh_token").is_none());
    assert_eq!(
        introspect_status(&app, body["access_token"].as_str().unwrap()).await,
        200
    );

    // Replayed assertion, and one signed by another key.
    let replay = grant(a1).await;
    assert_eq!(replay.status(), 401);
    assert_eq!(
        replay.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
    let other = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("integration-key".into());
    let now = app.unix_now() as i64;
    let forged = jsonwebtoken::encode(
        &header,
        &json!({ "iss": admin.username, "sub": admin.username, "aud": app.url("/oauth/token"), "exp": now + 300, "jti": "two" }),
        &EncodingKey::from_ed_der(other.as_ref()),
    )
    .unwrap();
    assert_eq!(grant(forged).await.status(), 401);
}

/// RFC 8693 impersonation: `sub` = the user, `act.sub` = the account, permissions never more
/// than the user's; refused without `impersonate`; users of other tenants cannot be named.
#[tokio::test]
async fn token_exchange_impersonates_within_the_users_permissions() {
    let app = spawn_app().await;
    let (admin, token) = app.admin_token("T").await;
    let user: Value = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&token)
        .json(&json!({ "name": "Anna", "email": "anna@example.org", "permissions": ["tickets:read"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user_id = user["id"].as_str().unwrap().to_owned();
    let exchange = |subject: String, target: String| {
        let app = &app;
        async move {
            token_form(
                app,
                &[
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:token-exchange",
                    ),
                    ("subject_token", &subject),
                    (
                        "subject_token_type",
                        "urn:ietf:params:oauth:token-type:access_token",
                    ),
                    ("requested_subject", &target),
                ],
            )
            .await
        }
    };
    let res = exchange(token.clone(), user_id.clone()).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["scope"], "tickets:read");
    assert_eq!(
        body["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    let imp = body["access_token"].as_str().unwrap().to_owned();
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(&imp).unwrap();
    assert_eq!(claims["sub"], user_id);
    assert_eq!(claims["act"]["sub"], admin.account_id.to_string());
    // The user has no accounts:read: the impersonated token cannot list users.
    let res = app
        .client
        .get(app.url("/api/v1/users"))
        .bearer_auth(&imp)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // An impersonated token cannot be exchanged again.
    assert_eq!(exchange(imp.clone(), user_id.clone()).await.status(), 400);

    // An account without `impersonate` is refused.
    let created: Value = app
        .client
        .post(app.url("/api/v1/api-accounts"))
        .bearer_auth(&token)
        .json(&json!({ "name": "No impersonation", "permissions": ["tickets:read", "tickets:write"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let plain = app
        .login(
            created["username"].as_str().unwrap(),
            created["password"].as_str().unwrap(),
            created["totp_secret"].as_str().unwrap(),
        )
        .await;
    let res = exchange(
        plain["access_token"].as_str().unwrap().to_owned(),
        user_id.clone(),
    )
    .await;
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "unauthorized_client"
    );

    // A user of another tenant cannot be impersonated.
    let (_, other_token) = app.admin_token("Other").await;
    let res = exchange(other_token, user_id).await;
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
}

/// Issue 8: `POST /oauth/token` is limited per API account (whatever the address) and per
/// client address; over the limit it answers 429 problem with `Retry-After`, before checking
/// any password, and a correct login is refused too until the wait is over.
#[tokio::test]
async fn the_token_endpoint_is_rate_limited_per_account_and_per_address() {
    let app = spawn_app_with(&[
        ("LOKET_TOKEN_RATE_ACCOUNT", "1"),
        ("LOKET_TOKEN_BURST_ACCOUNT", "3"),
        ("LOKET_TOKEN_RATE_IP", "1"),
        ("LOKET_TOKEN_BURST_IP", "6"),
    ])
    .await;
    let admin = app.bootstrap("T").await;
    let wrong = |user: &str| {
        vec![
            ("grant_type".to_owned(), "password".to_owned()),
            ("username".to_owned(), user.to_owned()),
            ("password".to_owned(), "wrong000000".to_owned()),
        ]
    };
    let send = |form: Vec<(String, String)>| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/oauth/token"))
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..3 {
        assert_eq!(send(wrong(&admin.username)).await.status(), 400);
    }
    // The account's burst is spent: even the right password and code wait.
    let code = totp_code(&admin.totp_secret, app.unix_now());
    let res = send(vec![
        ("grant_type".into(), "password".into()),
        ("username".into(), admin.username.clone()),
        ("password".into(), format!("{}{code}", admin.password)),
    ])
    .await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        res.headers()["content-type"],
        "application/problem+json",
        "a problem document"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], "/problems/too-many-requests");

    // Other usernames from the same address use up the address's burst of 6 (4 so far).
    assert_eq!(send(wrong("someone-else")).await.status(), 400);
    assert_eq!(send(wrong("another-one")).await.status(), 400);
    assert_eq!(send(wrong("a-third")).await.status(), 429);

    // After the wait the account logs in.
    tokio::time::sleep(std::time::Duration::from_secs(retry + 1)).await;
    let t = app
        .login(&admin.username, &admin.password, &admin.totp_secret)
        .await;
    assert!(t["access_token"].is_string());
}
