//! Webhooks against real HTTP receivers on 127.0.0.1 (R-HOOK-AUTHZ, R-RETRY, R-TEN): signatures
//! checked by independent implementations (the official Python `standardwebhooks` library and a
//! plain HMAC), OAuth2 with a real token endpoint, retries on the scaled schedule, soft delete,
//! the SSRF guard, a slow receiver beside a fast one, and a crash with deliveries pending.

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use loket_storage::outbox::{self, NewEvent};
use reqwest::Response;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app_with};

const FAST: &[(&str, &str)] = &[
    ("LOKET_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1,::1"),
    ("LOKET_WEBHOOK_RETRY_SCHEDULE", "1s,1s,1s,1s"),
];

// ---------------------------------------------------------------------------------------------
// A recording receiver.

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    headers: HashMap<String, String>,
    body: String,
    at: Instant,
    /// The status the receiver answered (0: it never answered).
    status: u16,
}

impl Hit {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// What the receiver answers: status, delay before answering, extra headers, body.
struct Reply {
    status: u16,
    delay: Duration,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Reply {
    fn status(status: u16) -> Self {
        Reply {
            status,
            delay: Duration::ZERO,
            headers: Vec::new(),
            body: "ok".to_owned(),
        }
    }
    fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            delay: Duration::ZERO,
            headers: vec![("Content-Type", "application/json".to_owned())],
            body: body.to_string(),
        }
    }
}

type Behaviour = Arc<dyn Fn(usize, &Hit) -> Reply + Send + Sync>;

struct ReceiverState {
    hits: Mutex<Vec<Hit>>,
    count: AtomicUsize,
    behaviour: Behaviour,
}

/// A real HTTP server on 127.0.0.1 recording every request.
struct Receiver {
    url: String,
    state: web::Data<ReceiverState>,
}

impl Receiver {
    fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().unwrap().clone()
    }
    fn answered(&self) -> Vec<Hit> {
        self.hits().into_iter().filter(|h| h.status != 0).collect()
    }
}

async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<ReceiverState>,
) -> HttpResponse {
    let mut hit = Hit {
        path: req.path().to_owned(),
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
        status: 0,
    };
    let n = state.count.fetch_add(1, Ordering::SeqCst);
    let reply = (state.behaviour)(n, &hit);
    let index = {
        let mut hits = state.hits.lock().unwrap();
        hits.push(hit.clone());
        hits.len() - 1
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    hit.status = reply.status;
    state.hits.lock().unwrap()[index].status = reply.status;
    let mut res = HttpResponse::build(actix_web::http::StatusCode::from_u16(reply.status).unwrap());
    for (k, v) in reply.headers {
        res.insert_header((k, v));
    }
    res.body(reply.body)
}

async fn spawn_receiver(
    behaviour: impl Fn(usize, &Hit) -> Reply + Send + Sync + 'static,
) -> Receiver {
    let state = web::Data::new(ReceiverState {
        hits: Mutex::new(Vec::new()),
        count: AtomicUsize::new(0),
        behaviour: Arc::new(behaviour),
    });
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let s = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(s.clone())
            .default_service(web::to(handle))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    Receiver {
        url: format!("http://127.0.0.1:{port}/hook"),
        state,
    }
}

async fn ok_receiver() -> Receiver {
    spawn_receiver(|_, _| Reply::status(200)).await
}

async fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// API helpers.

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

async fn get(app: &TestApp, token: &str, path: &str) -> Response {
    call(app, reqwest::Method::GET, token, path, None).await
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> Response {
    call(app, reqwest::Method::POST, token, path, Some(body)).await
}

async fn create_receiver(app: &TestApp, token: &str, body: Value) -> Value {
    let res = post(app, token, "/api/v1/webhooks/receivers", body).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

/// Publishes an `Accounts.Create` event the way the accounts domain does: into the outbox.
async fn publish(app: &TestApp, tenant: Uuid, topic: &'static str) -> Uuid {
    let now = app.state.clock.now();
    let object = Uuid::now_v7();
    app.state
        .db
        .write(move |c| {
            outbox::publish(
                c,
                &NewEvent {
                    tenant_id: tenant,
                    topic,
                    object_id: object,
                    payload: json!({"id": object, "kind": "user", "name": "Anna de Vries", "email": "anna@example.org"}),
                    occurred_at: now,
                    actor_api_account_id: None,
                    actor_user_id: None,
                },
            )
        })
        .await
        .unwrap()
}

async fn deliveries(app: &TestApp, token: &str, receiver: &str) -> Vec<Value> {
    let res = get(
        app,
        token,
        &format!("/api/v1/webhooks/receivers/{receiver}/deliveries"),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

async fn delivery(app: &TestApp, token: &str, id: &str) -> Value {
    let res = get(app, token, &format!("/api/v1/webhooks/deliveries/{id}")).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

// ---------------------------------------------------------------------------------------------
// Independent signature checks.

fn python() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let out = std::process::Command::new(root.join("scripts/ensure-python.sh"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join("bin/python")
    })
    .clone()
}

/// Verifies a delivery with the official Standard Webhooks library; returns its error, if any.
fn standardwebhooks_verify(secret: &str, hit: &Hit) -> Result<(), String> {
    let headers = json!({
        "webhook-id": hit.header("webhook-id"),
        "webhook-timestamp": hit.header("webhook-timestamp"),
        "webhook-signature": hit.header("webhook-signature"),
    });
    let script = "import sys, json\n\
        from standardwebhooks.webhooks import Webhook\n\
        Webhook(sys.argv[1]).verify(sys.argv[3], json.loads(sys.argv[2]))\n\
        print('verified')";
    let out = std::process::Command::new(python())
        .args(["-c", script, secret, &headers.to_string(), &hit.body])
        .output()
        .unwrap();
    if out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "verified" {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `X-Hub-Signature` recomputed with aws-lc-rs (the server signs with the `hmac` crate).
fn hub_signature(secret: &str, body: &str) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, body.as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[tokio::test]
async fn topics_are_listed_with_examples_and_permissions() {
    let app = spawn_app_with(FAST).await;
    let (_, token) = app.admin_token("Arbodienst Noord").await;
    let res = get(&app, &token, "/api/v1/webhooks/topics").await;
    assert_eq!(res.status(), 200);
    let topics: Vec<Value> = res.json().await.unwrap();
    let by_name: HashMap<&str, &Value> = topics
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t))
        .collect();
    for name in [
        "Accounts.Create",
        "Accounts.Update",
        "Accounts.Delete",
        "Webhooks.Ping",
        "Webhooks.ReceiverDisabled",
    ] {
        let t = by_name
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(!t["description"].as_str().unwrap().is_empty());
        assert_eq!(t["example"]["topic"], name);
        assert!(t["example"]["data"].is_object());
    }
    assert_eq!(by_name["Accounts.Create"]["permission"], "accounts:read");
    assert_eq!(
        by_name["Webhooks.ReceiverDisabled"]["permission"],
        "webhooks:manage"
    );
    let res = app
        .client
        .get(app.url("/api/v1/webhooks/topics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn receivers_are_validated_and_confined_to_their_tenant() {
    let app = spawn_app_with(FAST).await;
    let (admin, token) = app.admin_token("Arbodienst Noord").await;
    let (other, other_token) = app.admin_token("Arbodienst Zuid").await;

    // SSRF guard: private ranges, loopback and plain http are refused unless allow-listed.
    for url in [
        "https://10.0.0.1/x",
        "https://192.168.1.1",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/x",
        "https://[::ffff:10.0.0.1]/x",
        "http://example.org/hook",
        "https://localhost/hook",
        "http://127.0.0.2/hook",
    ] {
        let res = post(
            &app,
            &token,
            "/api/v1/webhooks/receivers",
            json!({"name": "x", "url": url, "topics": ["Accounts.*"]}),
        )
        .await;
        assert_eq!(res.status(), 422, "{url} was accepted");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["invalid_params"][0]["name"], "url", "{body}");
    }
    // Bad secrets, topics and auth.
    for (body, field) in [
        (
            json!({"name": "x", "url": "https://example.org/h", "topics": ["Accounts.*"], "auth": {"protocol": "websub", "secret": "whsec_c2hvcnQ="}}),
            "auth.secret",
        ),
        (
            json!({"name": "x", "url": "https://example.org/h", "topics": ["Accounts.*"], "auth": {"protocol": "websub", "secret": "not-a-secret"}}),
            "auth.secret",
        ),
        (
            json!({"name": "x", "url": "https://example.org/h", "topics": ["Accounts.Nope"]}),
            "topics",
        ),
        (
            json!({"name": "x", "url": "https://example.org/h", "topics": []}),
            "topics",
        ),
        (
            json!({"name": "x", "url": "https://example.org/h", "topics": ["Accounts.*"], "auth": {"protocol": "oauth2", "token_url": "https://10.1.1.1/token", "client_id": "c", "client_secret": "s"}}),
            "auth.token_url",
        ),
        (
            json!({"name": " ", "url": "https://example.org/h", "topics": ["Accounts.*"]}),
            "name",
        ),
    ] {
        let res = post(&app, &token, "/api/v1/webhooks/receivers", body.clone()).await;
        assert_eq!(res.status(), 422, "{body}");
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["invalid_params"][0]["name"], field, "{problem}");
    }
    // Another tenant's API account answers 404.
    let res = post(&app, &token, "/api/v1/webhooks/receivers", json!({"name": "x", "url": "https://example.org/h", "topics": ["Accounts.*"], "api_account_id": other.account_id})).await;
    assert_eq!(res.status(), 404);

    // A caller-supplied secret of 24..64 bytes is kept; the api account defaults to the caller.
    let secret = format!("whsec_{}", STANDARD.encode([42u8; 24]));
    let created = create_receiver(&app, &token, json!({"name": "CRM", "url": "https://crm.example.org/hooks", "topics": ["Accounts.*", "Webhooks.Ping"], "auth": {"protocol": "websub", "secret": secret}})).await;
    assert_eq!(created["secret"], secret);
    assert_eq!(created["api_account_id"], admin.account_id.to_string());
    assert_eq!(created["auth"], json!({"protocol": "websub"}));
    assert!(created["deleted_at"].is_null());
    let id = created["id"].as_str().unwrap().to_owned();
    // Generated secrets: whsec_ + base64 of 32 bytes, shown once.
    let generated = create_receiver(&app, &token, json!({"name": "ERP", "url": "https://erp.example.org/hooks", "topics": ["Accounts.Create"]})).await;
    let s = generated["secret"].as_str().unwrap();
    assert_eq!(
        STANDARD
            .decode(s.strip_prefix("whsec_").unwrap())
            .unwrap()
            .len(),
        32
    );
    let got: Value = get(&app, &token, &format!("/api/v1/webhooks/receivers/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(got.get("secret").is_none());
    assert!(!got.to_string().contains(&secret));
    // OAuth2 receivers never show the client secret.
    let oauth = create_receiver(&app, &token, json!({"name": "OA", "url": "https://oa.example.org/hooks", "topics": ["Accounts.*"], "auth": {"protocol": "oauth2", "token_url": "https://auth.example.org/token", "client_id": "loket", "client_secret": "s3cr3t-value", "scope": "hooks"}})).await;
    assert_eq!(
        oauth["auth"],
        json!({"protocol": "oauth2", "token_url": "https://auth.example.org/token", "client_id": "loket", "scope": "hooks"})
    );
    assert!(!oauth.to_string().contains("s3cr3t-value"));

    // PATCH changes only what is given.
    let res = call(
        &app,
        reqwest::Method::PATCH,
        &token,
        &format!("/api/v1/webhooks/receivers/{id}"),
        Some(json!({"name": "CRM 2", "topics": ["Accounts.Create"]})),
    )
    .await;
    assert_eq!(res.status(), 200);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["name"], "CRM 2");
    assert_eq!(changed["topics"], json!(["Accounts.Create"]));
    assert_eq!(changed["url"], "https://crm.example.org/hooks");

    // R-TEN: the other tenant sees none of it.
    for path in [
        format!("/api/v1/webhooks/receivers/{id}"),
        format!("/api/v1/webhooks/receivers/{id}/deliveries"),
    ] {
        assert_eq!(get(&app, &other_token, &path).await.status(), 404, "{path}");
    }
    assert_eq!(
        post(
            &app,
            &other_token,
            &format!("/api/v1/webhooks/receivers/{id}/test"),
            json!({})
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        post(
            &app,
            &other_token,
            &format!("/api/v1/webhooks/receivers/{id}/rotate-secret"),
            json!({})
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        call(
            &app,
            reqwest::Method::DELETE,
            &other_token,
            &format!("/api/v1/webhooks/receivers/{id}"),
            None
        )
        .await
        .status(),
        404
    );
    let list: Value = get(&app, &other_token, "/api/v1/webhooks/receivers")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"], json!([]));
    let list: Value = get(&app, &token, "/api/v1/webhooks/receivers?limit=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let cursor = list["next_cursor"].as_str().unwrap();
    let rest: Value = get(
        &app,
        &token,
        &format!("/api/v1/webhooks/receivers?limit=2&cursor={cursor}"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());

    // Without webhooks:manage: 403.
    let res = post(
        &app,
        &token,
        "/api/v1/api-accounts",
        json!({"name": "Reader", "permissions": ["accounts:read"]}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let reader: Value = res.json().await.unwrap();
    let login = app
        .login(
            reader["username"].as_str().unwrap(),
            reader["password"].as_str().unwrap(),
            reader["totp_secret"].as_str().unwrap(),
        )
        .await;
    let reader_token = login["access_token"].as_str().unwrap();
    assert_eq!(
        get(&app, reader_token, "/api/v1/webhooks/receivers")
            .await
            .status(),
        403
    );
    assert_eq!(
        get(&app, reader_token, "/api/v1/webhooks/topics")
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn deliveries_are_signed_verifiably_and_logged_byte_for_byte() {
    let app = spawn_app_with(FAST).await;
    let (admin, token) = app.admin_token("Arbodienst Noord").await;
    let rx = ok_receiver().await;
    let created = create_receiver(
        &app,
        &token,
        json!({"name": "CRM", "url": rx.url, "topics": ["Accounts.*"]}),
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    let receiver_id = created["id"].as_str().unwrap().to_owned();
    let event = publish(&app, admin.tenant_id, "Accounts.Create").await;
    wait_until("the delivery", Duration::from_secs(10), || {
        rx.answered().len() == 1
    })
    .await;
    let hit = &rx.hits()[0];
    assert_eq!(hit.path, "/hook");
    assert_eq!(hit.header("content-type"), "application/json");
    assert!(
        hit.header("user-agent").starts_with("Loket-Webhooks/"),
        "{}",
        hit.header("user-agent")
    );
    // The body: id, topic, tenant_id, occurred_at, data.
    let body = hit.json();
    assert_eq!(body["id"], event.to_string());
    assert_eq!(body["topic"], "Accounts.Create");
    assert_eq!(body["tenant_id"], admin.tenant_id.to_string());
    assert!(body["occurred_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["data"]["name"], "Anna de Vries");
    // Signatures, checked independently.
    standardwebhooks_verify(&secret, hit).unwrap();
    assert_eq!(
        hit.header("x-hub-signature"),
        hub_signature(&secret, &hit.body)
    );
    let wrong = format!("whsec_{}", STANDARD.encode([1u8; 32]));
    assert!(standardwebhooks_verify(&wrong, hit).is_err());
    // The log has it, with the exact body and the webhook-id.
    let mut log = Vec::new();
    for _ in 0..100 {
        log = deliveries(&app, &token, &receiver_id).await;
        if log.first().is_some_and(|d| d["status"] == "succeeded") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(log.len(), 1);
    let d = &log[0];
    assert_eq!(d["status"], "succeeded");
    assert_eq!(d["id"], hit.header("webhook-id"));
    assert_eq!(d["event_id"], event.to_string());
    assert_eq!(d["last_status_code"], 200);
    assert_eq!(d["attempt_count"], 1);
    assert!(d["next_attempt_at"].is_null());
    let detail = delivery(&app, &token, d["id"].as_str().unwrap()).await;
    assert_eq!(detail["request_body"], hit.body);
    assert_eq!(detail["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(detail["attempts"][0]["status_code"], 200);
    assert!(detail["attempts"][0]["duration_ms"].as_i64().unwrap() >= 0);

    // Rotation: the new secret is shown once; both signatures ride along for 24 h.
    let res = post(
        &app,
        &token,
        &format!("/api/v1/webhooks/receivers/{receiver_id}/rotate-secret"),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let rotated: Value = res.json().await.unwrap();
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert!(rotated["previous_secret_expires_at"].is_string());
    publish(&app, admin.tenant_id, "Accounts.Update").await;
    wait_until("the second delivery", Duration::from_secs(10), || {
        rx.answered().len() == 2
    })
    .await;
    let hit = &rx.hits()[1];
    assert_eq!(hit.header("webhook-signature").split(' ').count(), 2);
    standardwebhooks_verify(&new_secret, hit).unwrap();
    standardwebhooks_verify(&secret, hit).unwrap();
    assert_eq!(
        hit.header("x-hub-signature"),
        hub_signature(&new_secret, &hit.body)
    );
    // After the overlap only the new secret signs.
    app.clock.advance(chrono::Duration::hours(25));
    publish(&app, admin.tenant_id, "Accounts.Delete").await;
    wait_until("the third delivery", Duration::from_secs(10), || {
        rx.answered().len() == 3
    })
    .await;
    let hit = &rx.hits()[2];
    assert_eq!(hit.header("webhook-signature").split(' ').count(), 1);
    let ts: i64 = hit.header("webhook-timestamp").parse().unwrap();
    assert!((ts - app.state.clock.now().timestamp()).abs() < 60);
}

#[tokio::test]
async fn test_pings_and_redeliveries_keep_the_webhook_id() {
    let app = spawn_app_with(FAST).await;
    let (admin, token) = app.admin_token("Arbodienst Noord").await;
    let rx = ok_receiver().await;
    let created = create_receiver(
        &app,
        &token,
        json!({"name": "CRM", "url": rx.url, "topics": ["Accounts.Create"]}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let res = post(
        &app,
        &token,
        &format!("/api/v1/webhooks/receivers/{id}/test"),
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 202);
    let ping: Value = res.json().await.unwrap();
    assert_eq!(ping["topic"], "Webhooks.Ping");
    assert_eq!(ping["status"], "pending");
    wait_until("the ping", Duration::from_secs(10), || {
        rx.answered().len() == 1
    })
    .await;
    let hit = rx.hits()[0].clone();
    assert_eq!(hit.json()["topic"], "Webhooks.Ping");
    assert_eq!(hit.json()["data"]["receiver_id"], id);
    assert_eq!(hit.header("webhook-id"), ping["id"]);
    standardwebhooks_verify(created["secret"].as_str().unwrap(), &hit).unwrap();
    // Redeliver: a new attempt, same webhook-id and body.
    let mut res = post(
        &app,
        &token,
        &format!(
            "/api/v1/webhooks/deliveries/{}/redeliver",
            ping["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    for _ in 0..100 {
        if res.status() != 409 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        res = post(
            &app,
            &token,
            &format!(
                "/api/v1/webhooks/deliveries/{}/redeliver",
                ping["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    }
    assert_eq!(res.status(), 202);
    wait_until("the redelivery", Duration::from_secs(10), || {
        rx.answered().len() == 2
    })
    .await;
    let again = &rx.hits()[1];
    assert_eq!(again.header("webhook-id"), hit.header("webhook-id"));
    assert_eq!(again.body, hit.body);
    // Unknown ids: 404.
    let missing = Uuid::now_v7();
    assert_eq!(
        get(
            &app,
            &token,
            &format!("/api/v1/webhooks/deliveries/{missing}")
        )
        .await
        .status(),
        404
    );
    assert_eq!(
        post(
            &app,
            &token,
            &format!("/api/v1/webhooks/deliveries/{missing}/redeliver"),
            json!({})
        )
        .await
        .status(),
        404
    );
    let _ = admin;
}

#[tokio::test]
async fn failed_deliveries_follow_the_schedule_and_are_given_up_after_the_fourth_retry() {
    let app = spawn_app_with(FAST).await;
    let (admin, token) = app.admin_token("Arbodienst Noord").await;
    // The first answer asks for 3 s (Retry-After, later than the 1 s schedule); then 500s.
    let rx = spawn_receiver(|n, _| {
        if n == 0 {
            Reply {
                headers: vec![("Retry-After", "3".to_owned())],
                ..Reply::status(503)
            }
        } else {
            Reply::status(500)
        }
    })
    .await;
    let created = create_receiver(
        &app,
        &token,
        json!({"name": "Flaky", "url": rx.url, "topics": ["Accounts.*"]}),
    )
    .await;
    publish(&app, admin.tenant_id, "Accounts.Create").await;
    wait_until("five attempts", Duration::from_secs(30), || {
        rx.answered().len() == 5
    })
    .await;
    let hits = rx.hits();
    let ids: HashSet<&str> = hits.iter().map(|h| h.header("webhook-id")).collect();
    assert_eq!(ids.len(), 1, "the webhook-id changed between retries");
    let bodies: HashSet<&str> = hits.iter().map(|h| h.body.as_str()).collect();
    assert_eq!(bodies.len(), 1);
    let gaps: Vec<Duration> = hits.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(
        gaps[0] >= Duration::from_millis(2900),
        "Retry-After ignored: {gaps:?}"
    );
    for g in &gaps[1..] {
        // 1 s plus at most 10 % jitter, plus the worker's polling and scheduling slack.
        assert!(
            *g >= Duration::from_millis(990),
            "retried too early: {gaps:?}"
        );
        assert!(
            *g < Duration::from_millis(3500),
            "retried too late: {gaps:?}"
        );
    }
    // No sixth attempt: given up.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(rx.hits().len(), 5);
    let log = deliveries(&app, &token, created["id"].as_str().unwrap()).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "given_up");
    assert_eq!(log[0]["attempt_count"], 5);
    assert_eq!(log[0]["last_status_code"], 500);
    assert!(log[0]["next_attempt_at"].is_null());
    let detail = delivery(&app, &token, log[0]["id"].as_str().unwrap()).await;
    let codes: Vec<i64> = detail["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [503, 500, 500, 500, 500]);
    assert_eq!(detail["attempts"][1]["error"], "HTTP 500");
    // A status filter on the log.
    let res = get(
        &app,
        &token,
        &format!(
            "/api/v1/webhooks/receivers/{}/deliveries?status=succeeded",
            created["id"].as_str().unwrap()
        ),
    )
    .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["items"], json!([]));
}

#[tokio::test]
async fn a_receiver_only_gets_what_its_api_account_may_see() {
    let app = spawn_app_with(FAST).await;
    let (admin, token) = app.admin_token("Arbodienst Noord").await;
    let (other, other_token) = app.admin_token("Arbodienst Zuid").await;
    // An API account that may manage webhooks but not read accounts.
    let res = post(
        &app,
        &token,
        "/api/v1/api-accounts",
        json!({"name": "Hooks only", "permissions": ["webhooks:manage"]}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let limited: Value = res.json().await.unwrap();
    let blind = ok_receiver().await;
    let seeing = ok_receiver().await;
    let foreign = ok_receiver().await;
    create_receiver(&app, &token, json!({"name": "Blind", "url": blind.url, "topics": ["Accounts.*", "Webhooks.*"], "api_account_id": limited["id"]})).await;
    create_receiver(
        &app,
        &token,
        json!({"name": "Seeing", "url": seeing.url, "topics": ["Accounts.*"]}),
    )
    .await;
    create_receiver(
        &app,
        &other_token,
        json!({"name": "Other tenant", "url": foreign.url, "topics": ["Accounts.*"]}),
    )
    .await;
    let ids = |r: &Receiver| -> HashSet<String> {
        r.answered()
            .iter()
            .map(|h| h.json()["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let a = publish(&app, admin.tenant_id, "Accounts.Create")
        .await
        .to_string();
    let b = publish(&app, admin.tenant_id, "Accounts.Update")
        .await
        .to_string();
    wait_until("the allowed deliveries", Duration::from_secs(10), || {
        let got = ids(&seeing);
        got.contains(&a) && got.contains(&b)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        blind.hits().is_empty(),
        "R-HOOK-AUTHZ: the account lacks accounts:read"
    );
    assert!(
        foreign.hits().is_empty(),
        "R-TEN: another tenant's receiver got an event"
    );
    // The other tenant's own events reach only its receiver.
    let c = publish(&app, other.tenant_id, "Accounts.Delete")
        .await
        .to_string();
    wait_until(
        "the other tenant's delivery",
        Duration::from_secs(10),
        || ids(&foreign).contains(&c),
    )
    .await;
    assert!(!ids(&seeing).contains(&c));
    // Granting the permission opens the flow (checked per event).
    let res = call(
        &app,
        reqwest::Method::PATCH,
        &token,
        &format!("/api/v1/api-accounts/{}", limited["id"].as_str().unwrap()),
        Some(json!({"permissions": ["webhooks:manage", "accounts:read"]})),
    )
    .await;
    assert_eq!(res.status(), 200);
    let d = publish(&app, admin.tenant_id, "Accounts.Create")
        .await
        .to_string();
    wait_until("the now allowed delivery", Duration::from_secs(10), || {
        ids(&blind).contains(&d)
    })
    .await;
    // A receiver cannot be handed more permissions than its creator holds.
    let res = post(
        &app,
        &token,
        "/api/v1/api-accounts",
        json!({"name": "Hooks", "permissions": ["webhooks:manage"]}),
    )
    .await;
    let hooks: Value = res.json().await.unwrap();
    let hooks_login = app
        .login(
            hooks["username"].as_str().unwrap(),
            hooks["password"].as_str().unwrap(),
            hooks["totp_secret"].as_str().unwrap(),
        )
        .await;
    let res = post(&app, hooks_login["access_token"].as_str().unwrap(), "/api/v1/webhooks/receivers", json!({"name": "Escalate", "url": seeing.url, "topics": ["Accounts.*"], "api_account_id": admin.account_id})).await;
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn a_deleted_receiver_gets_nothing_but_its_log_stays_readable() {
    let app = spawn_app_with(FAST).await;
    let (admin, token) = app.admin_token("Arbodienst Noord").await;
    let rx = ok_receiver().await;
    let created = create_receiver(
        &app,
        &token,
        json!({"name": "CRM", "url": rx.url, "topics": ["Accounts.*"]}),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    publish(&app, admin.tenant_id, "Accounts.Create").await;
    wait_until("the first delivery", Duration::from_secs(10), || {
        rx.answered().len() == 1
    })
    .await;
    let res = call(
        &app,
        reqwest::Method::DELETE,
        &token,
        &format!("/api/v1/webhooks/receivers/{id}"),
        None,
    )
    .await;
    assert_eq!(res.status(), 204);
    let res = call(
        &app,
        reqwest::Method::DELETE,
        &token,
        &format!("/api/v1/webhooks/receivers/{id}"),
        None,
    )
    .await;
    assert_eq!(res.status(), 204);
    publish(&app, admin.tenant_id, "Accounts.Update").await;
    publish(&app, admin.tenant_id, "Accounts.Delete").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rx.hits().len(), 1, "a deleted receiver got a delivery");
    // Still listed, with deleted_at, and its log readable.
    let list: Value = get(&app, &token, "/api/v1/webhooks/receivers")
        .await
        .json()
        .await
        .unwrap();
    let listed = &list["items"][0];
    assert_eq!(listed["id"], id);
    assert!(listed["deleted_at"].is_string());
    let log = deliveries(&app, &token, id).await;
    assert_eq!(log.len(), 1);
    let detail = delivery(&app, &token, log[0]["id"].as_str().unwrap()).await;
    assert_eq!(detail["request_body"], rx.hits()[0].body);
    // Nothing can be sent to it any more.
    assert_eq!(
        post(
            &app,
            &token,
            &format!(
                "/api/v1/webhooks/deliveries/{}/redeliver",
                log[0]["id"].as_str().unwrap()
            ),
            json!({})
        )
        .await
        .status(),
        409
    );
    let res = call(
        &app,
        reqwest::Method::PATCH,
        &token,
        &format!("/api/v1/webhooks/receivers/{id}"),
        Some(json!({"name": "again"})),
    )
    .await;
    assert_eq!(res.status(), 404);
    for path in [
        format!("/api/v1/webhooks/receivers/{id}/test"),
        format!("/api/v1/webhooks/receivers/{id}/rotate-secret"),
    ] {
        assert_eq!(
            post(&app, &token, &path, json!({})).await.status(),
            409,
            "{path}"
        );
    }
    // On its own it is gone; the list and the log above still show it.
    assert_eq!(
        get(&app, &token, &format!("/api/v1/webhooks/receivers/{id}"))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn gone_or_long_failing_receivers_are_disabled_and_announced() {
    let app = spawn_app_with(FAST).await;
    let (admin, token) = app.admin_token("Arbodienst Noord").await;
    let watcher = ok_receiver().await;
    create_receiver(
        &app,
        &token,
        json!({"name": "Watcher", "url": watcher.url, "topics": ["Webhooks.ReceiverDisabled"]}),
    )
    .await;
    // 410 Gone disables at once.
    let gone = spawn_receiver(|_, _| Reply::status(410)).await;
    let g = create_receiver(
        &app,
        &token,
        json!({"name": "Gone", "url": gone.url, "topics": ["Accounts.Create"]}),
    )
    .await;
    publish(&app, admin.tenant_id, "Accounts.Create").await;
    wait_until("the announcement", Duration::from_secs(10), || {
        watcher.answered().len() == 1
    })
    .await;
    let note = watcher.hits()[0].json();
    assert_eq!(note["topic"], "Webhooks.ReceiverDisabled");
    assert_eq!(note["data"]["id"], g["id"]);
    assert!(
        note["data"]["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410")
    );
    let got: Value = get(
        &app,
        &token,
        &format!("/api/v1/webhooks/receivers/{}", g["id"].as_str().unwrap()),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(got["disabled_at"].is_string());
    let log = deliveries(&app, &token, g["id"].as_str().unwrap()).await;
    assert_eq!(log[0]["status"], "given_up");
    assert_eq!(log[0]["attempt_count"], 1);
    publish(&app, admin.tenant_id, "Accounts.Create").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(gone.hits().len(), 1, "a disabled receiver got a delivery");
    // Failing without a single success for five days disables too.
    let failing = spawn_receiver(|_, _| Reply::status(500)).await;
    let f = create_receiver(
        &app,
        &token,
        json!({"name": "Failing", "url": failing.url, "topics": ["Accounts.Update"]}),
    )
    .await;
    publish(&app, admin.tenant_id, "Accounts.Update").await;
    wait_until("the first failure", Duration::from_secs(10), || {
        failing.answered().len() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.clock.advance(chrono::Duration::days(6));
    let token = app
        .login(&admin.username, &admin.password, &admin.totp_secret)
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_until("the second announcement", Duration::from_secs(10), || {
        watcher.answered().len() == 2
    })
    .await;
    let note = watcher.hits()[1].json();
    assert_eq!(note["data"]["id"], f["id"]);
    assert!(
        note["data"]["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("days"),
        "{note}"
    );
    assert_eq!(failing.hits().len(), 2);
    // Enabling it again works; it then gets deliveries again.
    let res = call(
        &app,
        reqwest::Method::PATCH,
        &token,
        &format!("/api/v1/webhooks/receivers/{}", f["id"].as_str().unwrap()),
        Some(json!({"enabled": true})),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert!(body["disabled_at"].is_null());
}

#[tokio::test]
async fn oauth2_receivers_get_a_cached_client_credentials_token_refreshed_on_expiry_and_401() {
    let app = spawn_app_with(FAST).await;
    let (admin, token) = app.admin_token("Arbodienst Noord").await;
    // A real token endpoint: HTTP Basic client authentication, tokens valid for 2 s.
    let issued: Arc<Mutex<Vec<(String, Instant)>>> = Arc::new(Mutex::new(Vec::new()));
    let book = issued.clone();
    let auth = spawn_receiver(move |n, hit| {
        let expected = format!("Basic {}", STANDARD.encode("loket-client:client-s3cret"));
        let form = form_fields(&hit.body);
        if hit.header("authorization") != expected
            || form.get("grant_type").map(String::as_str) != Some("client_credentials")
        {
            return Reply::json(401, json!({"error": "invalid_client"}));
        }
        let token = format!("tok-{n}");
        book.lock().unwrap().push((token.clone(), Instant::now()));
        Reply::json(
            200,
            json!({"access_token": token, "token_type": "Bearer", "expires_in": 2}),
        )
    })
    .await;
    // The receiver accepts only unexpired, unrevoked tokens of that endpoint.
    let revoked: Arc<Mutex<HashSet<String>>> = Arc::new(Mutex::new(HashSet::new()));
    let (book, gone) = (issued.clone(), revoked.clone());
    let rx = spawn_receiver(move |_, hit| {
        let bearer = hit
            .header("authorization")
            .strip_prefix("Bearer ")
            .unwrap_or("");
        let valid = book
            .lock()
            .unwrap()
            .iter()
            .any(|(t, at)| t == bearer && at.elapsed() < Duration::from_secs(2))
            && !gone.lock().unwrap().contains(bearer);
        Reply::status(if valid { 200 } else { 401 })
    })
    .await;
    let created = create_receiver(
        &app,
        &token,
        json!({
            "name": "OAuth receiver", "url": rx.url, "topics": ["Accounts.*"],
            "auth": {"protocol": "oauth2", "token_url": auth.url, "client_id": "loket-client",
                     "client_secret": "client-s3cret", "scope": "hooks:receive"}
        }),
    )
    .await;
    publish(&app, admin.tenant_id, "Accounts.Create").await;
    wait_until("the first delivery", Duration::from_secs(10), || {
        rx.answered().len() == 1
    })
    .await;
    let first = rx.hits()[0].clone();
    assert_eq!(first.status, 200);
    assert_eq!(first.header("authorization"), "Bearer tok-0");
    let token_request = form_fields(&auth.hits()[0].body);
    assert_eq!(token_request["scope"], "hooks:receive");
    // OAuth2 receivers still get the Standard Webhooks signature (but no X-Hub-Signature).
    standardwebhooks_verify(created["secret"].as_str().unwrap(), &first).unwrap();
    assert_eq!(first.header("x-hub-signature"), "");
    // Cached: the next delivery reuses the token.
    publish(&app, admin.tenant_id, "Accounts.Update").await;
    wait_until("the second delivery", Duration::from_secs(10), || {
        rx.answered().len() == 2
    })
    .await;
    assert_eq!(rx.hits()[1].header("authorization"), "Bearer tok-0");
    assert_eq!(auth.hits().len(), 1);
    // Expired: a new token is fetched before sending.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    publish(&app, admin.tenant_id, "Accounts.Update").await;
    wait_until("the third delivery", Duration::from_secs(10), || {
        rx.answered().len() == 3
    })
    .await;
    assert_eq!(rx.hits()[2].status, 200);
    assert_eq!(rx.hits()[2].header("authorization"), "Bearer tok-1");
    assert_eq!(auth.hits().len(), 2);
    // Refused (401) although not expired: refreshed once, and the same attempt succeeds.
    revoked.lock().unwrap().insert("tok-1".to_owned());
    publish(&app, admin.tenant_id, "Accounts.Delete").await;
    wait_until("the refreshed delivery", Duration::from_secs(10), || {
        rx.hits()
            .iter()
            .any(|h| h.status == 200 && h.header("authorization") == "Bearer tok-2")
    })
    .await;
    let hits = rx.hits();
    assert_eq!(hits[3].status, 401);
    assert_eq!(hits[3].header("webhook-id"), hits[4].header("webhook-id"));
    assert_eq!(auth.hits().len(), 3);
    assert!(
        hits.iter()
            .all(|h| h.header("authorization").starts_with("Bearer "))
    );
    let mut log = Vec::new();
    for _ in 0..100 {
        log = deliveries(&app, &token, created["id"].as_str().unwrap()).await;
        if log.iter().all(|d| d["status"] == "succeeded") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(log.len(), 4);
    assert!(
        log.iter()
            .all(|d| d["status"] == "succeeded" && d["attempt_count"] == 1),
        "{log:?}"
    );
    // A token endpoint refusing the client: the attempt fails with the reason logged.
    let res = call(&app, reqwest::Method::PATCH, &token, &format!("/api/v1/webhooks/receivers/{}", created["id"].as_str().unwrap()),
        Some(json!({"auth": {"protocol": "oauth2", "token_url": auth.url, "client_id": "loket-client", "client_secret": "wrong"}}))).await;
    assert_eq!(res.status(), 200);
    let before = rx.hits().len();
    publish(&app, admin.tenant_id, "Accounts.Create").await;
    let id = created["id"].as_str().unwrap().to_owned();
    let mut failed = Value::Null;
    for _ in 0..200 {
        let log = deliveries(&app, &token, &id).await;
        if log.len() == 5 && log[0]["attempt_count"].as_i64() >= Some(1) {
            failed = log[0].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failed["status"], "failed");
    let detail = delivery(&app, &token, failed["id"].as_str().unwrap()).await;
    assert!(
        detail["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("token"),
        "{detail}"
    );
    assert_eq!(rx.hits().len(), before, "sent without a token");
}

fn form_fields(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            (
                k.to_owned(),
                v.replace('+', " ").replace("%3A", ":").replace("%20", " "),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_slow_receiver_does_not_delay_the_others() {
    let mut vars = FAST.to_vec();
    vars.extend([
        ("LOKET_WEBHOOK_RECEIVER_CONCURRENCY", "4"),
        ("LOKET_WEBHOOK_CONCURRENCY", "16"),
    ]);
    let app = spawn_app_with(&vars).await;
    let (admin, token) = app.admin_token("Arbodienst Noord").await;
    let slow = spawn_receiver(|_, _| Reply {
        delay: Duration::from_secs(9),
        ..Reply::status(200)
    })
    .await;
    let fast = ok_receiver().await;
    create_receiver(
        &app,
        &token,
        json!({"name": "Slow", "url": slow.url, "topics": ["Accounts.*"]}),
    )
    .await;
    create_receiver(
        &app,
        &token,
        json!({"name": "Fast", "url": fast.url, "topics": ["Accounts.*"]}),
    )
    .await;
    let start = Instant::now();
    for _ in 0..30 {
        publish(&app, admin.tenant_id, "Accounts.Create").await;
    }
    wait_until("every fast delivery", Duration::from_secs(8), || {
        fast.answered().len() == 30
    })
    .await;
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(8),
        "the fast receiver waited {took:?}"
    );
    // The slow one holds only its own share of the workers.
    assert!(
        slow.hits().len() <= 4,
        "{} requests in flight to the slow receiver",
        slow.hits().len()
    );
    assert!(slow.answered().is_empty());
}

#[tokio::test]
async fn pending_deliveries_survive_a_crash_and_a_restart_delivers_them_all() {
    let mut vars = FAST.to_vec();
    vars.push(("LOKET_WEBHOOK_TIMEOUT", "1"));
    let app = spawn_app_with(&vars).await;
    let (admin, token) = app.admin_token("Arbodienst Noord").await;
    // 0: failing, 1: hanging (attempts stay in flight), 2: healthy.
    let mode = Arc::new(AtomicUsize::new(0));
    let m = mode.clone();
    let rx = spawn_receiver(move |_, _| match m.load(Ordering::SeqCst) {
        0 => Reply::status(500),
        1 => Reply {
            // Never seen by the (crashed) sender; 599 marks it in the log.
            delay: Duration::from_secs(3),
            ..Reply::status(599)
        },
        _ => Reply::status(200),
    })
    .await;
    let created = create_receiver(
        &app,
        &token,
        json!({"name": "CRM", "url": rx.url, "topics": ["Accounts.*"]}),
    )
    .await;
    let mut events = HashSet::new();
    for _ in 0..5 {
        events.insert(
            publish(&app, admin.tenant_id, "Accounts.Create")
                .await
                .to_string(),
        );
    }
    wait_until("the first failures", Duration::from_secs(10), || {
        rx.answered().len() >= 5
    })
    .await;
    // Retries now hang; crash while they are in flight.
    mode.store(1, Ordering::SeqCst);
    wait_until("an attempt in flight", Duration::from_secs(10), || {
        rx.hits().iter().any(|h| h.status == 0)
    })
    .await;
    app.state.webhooks.stop();
    // Events committed while no worker runs are not lost either.
    for _ in 0..3 {
        events.insert(
            publish(&app, admin.tenant_id, "Accounts.Update")
                .await
                .to_string(),
        );
    }
    mode.store(2, Ordering::SeqCst);

    // Restart: a new application on the same database.
    let database = match &app.state.settings.database {
        loket_storage::BackendKind::Sqlite(p) => format!("sqlite://{}", p.display()),
        loket_storage::BackendKind::Postgres(u) => u.clone(),
    };
    let mut settings: Vec<(String, String)> = vec![
        ("LOKET_DATABASE_URL".into(), database),
        ("LOKET_ADDR".into(), "127.0.0.1:0".into()),
        ("LOKET_WORKERS".into(), "2".into()),
        ("LOKET_DATABASE_POOL_SIZE".into(), "4".into()),
        ("LOKET_SECRET_KEY".into(), app.state.secret_key.to_base64()),
    ];
    settings.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let (settings, _) = loket_gateway::Settings::from_vars(settings).unwrap();
    let clock = Arc::new(loket_common::time::OffsetClock::default());
    let second = loket_gateway::Application::build(settings, clock.clone())
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", second.port());
    let state = second.state();
    tokio::spawn(second.run_until_stopped());
    let restarted = TestApp {
        address,
        client: app.client.clone(),
        state,
        clock,
    };
    let delivered = || -> HashSet<String> {
        rx.hits()
            .iter()
            .filter(|h| h.status == 200)
            .map(|h| h.json()["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // In-flight attempts wait for their lease (4 × 1 s timeout + 5 s) to expire.
    wait_until("every event delivered", Duration::from_secs(30), || {
        delivered() == events
    })
    .await;
    // Tokens name their issuer (the first server's address): log in again.
    let login = restarted
        .login(&admin.username, &admin.password, &admin.totp_secret)
        .await;
    let token = login["access_token"].as_str().unwrap();
    let mut log = Vec::new();
    for _ in 0..100 {
        log = deliveries(&restarted, token, created["id"].as_str().unwrap()).await;
        if log.iter().all(|d| d["status"] == "succeeded") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(log.len(), 8);
    assert!(log.iter().all(|d| d["status"] == "succeeded"), "{log:?}");
}

#[tokio::test]
async fn api_changes_arrive_as_events_carrying_the_object_representation() {
    let app = spawn_app_with(FAST).await;
    let (_, token) = app.admin_token("Arbodienst Noord").await;
    let rx = ok_receiver().await;
    create_receiver(
        &app,
        &token,
        json!({"name": "CRM", "url": rx.url, "topics": ["Accounts.Create"]}),
    )
    .await;
    let res = post(
        &app,
        &token,
        "/api/v1/users",
        json!({"name": "Anna de Vries", "email": "anna@example.org"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let user: Value = res.json().await.unwrap();
    wait_until(
        "the Accounts.Create delivery",
        Duration::from_secs(10),
        || rx.answered().len() == 1,
    )
    .await;
    let body = rx.hits()[0].json();
    assert_eq!(body["topic"], "Accounts.Create");
    let fetched: Value = get(
        &app,
        &token,
        &format!("/api/v1/users/{}", user["id"].as_str().unwrap()),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["data"], fetched, "data is what GET returns");
}

#[tokio::test]
async fn names_resolving_to_private_addresses_are_refused_at_delivery_time() {
    // A host name (not an address literal, so it passes registration) that resolves to the
    // loopback address; the allow-list names only another address.
    let candidates = ["vm", "runsc", "localhost.localdomain", "ip6-localhost"];
    let hostname = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let name = std::iter::once(hostname.trim())
        .chain(candidates)
        .filter(|n| !n.is_empty() && *n != "localhost")
        .find(|n| {
            use std::net::ToSocketAddrs;
            (*n, 443)
                .to_socket_addrs()
                .map(|a| {
                    let a: Vec<_> = a.collect();
                    !a.is_empty() && a.iter().all(|s| s.ip().is_loopback())
                })
                .unwrap_or(false)
        })
        .map(str::to_owned);
    let Some(name) = name else {
        eprintln!("no host name resolving to loopback on this machine; nothing to check");
        return;
    };
    let app = spawn_app_with(&[
        ("LOKET_WEBHOOK_ALLOWED_HOSTS", "127.0.0.2"),
        ("LOKET_WEBHOOK_RETRY_SCHEDULE", "1h"),
    ])
    .await;
    let (admin, token) = app.admin_token("Arbodienst Noord").await;
    let rx = ok_receiver().await;
    let port = rx
        .url
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches("/hook")
        .to_owned();
    let created = create_receiver(&app, &token, json!({"name": "Rebinding", "url": format!("https://{name}:{port}/hook"), "topics": ["Accounts.*"]})).await;
    publish(&app, admin.tenant_id, "Accounts.Create").await;
    let id = created["id"].as_str().unwrap().to_owned();
    let mut log = Vec::new();
    for _ in 0..200 {
        log = deliveries(&app, &token, &id).await;
        if log.first().is_some_and(|d| d["attempt_count"] == 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(log[0]["status"], "failed");
    let detail = delivery(&app, &token, log[0]["id"].as_str().unwrap()).await;
    let error = detail["attempts"][0]["error"].as_str().unwrap();
    assert!(error.contains("private or reserved"), "{error}");
    assert!(
        rx.hits().is_empty(),
        "the request reached a private address"
    );
}
