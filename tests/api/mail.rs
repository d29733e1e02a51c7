//! Mail against a real SMTP server (aiosmtpd from the repo's venv, `tests/smtp/server.py`) on
//! 127.0.0.1, speaking implicit TLS and STARTTLS with a throw-away CA the tests trust through
//! `LOKET_SMTP_CA_FILE`, requiring AUTH, and recording what it receives: R-TLS (plain text
//! refused, certificates verified), R-VERIFY (code round trip, wrong/expired codes, five tries),
//! limits holding mail back, the template culture fallback, HTML escaping, a server that is
//! down, and 4xx/5xx answers.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of, problem, spawn_app_with};

pub(crate) const USER: &str = "mailer";
pub(crate) const PASSWORD: &str = "s3cret-pass";
const WAIT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// The SMTP server.

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let out = Command::new(root().join("scripts/ensure-python.sh"))
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

/// The throw-away CA and server certificate, made once per test process.
fn certs() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("loket-smtp-certs-{}", uuid::Uuid::new_v4()));
        let out = Command::new(python())
            .arg(root().join("tests/smtp/server.py"))
            .args(["certs", "--out"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

pub(crate) fn ca_file() -> String {
    certs().join("ca.pem").display().to_string()
}

/// A running `tests/smtp/server.py`.
pub(crate) struct Smtp {
    child: Option<Child>,
    dir: PathBuf,
    pub(crate) implicit: u16,
    starttls: u16,
}

impl Smtp {
    pub(crate) fn start() -> Smtp {
        let dir = std::env::temp_dir().join(format!("loket-smtp-{}", uuid::Uuid::new_v4()));
        let mut s = Smtp {
            child: None,
            dir,
            implicit: 0,
            starttls: 0,
        };
        s.restart();
        s
    }

    /// Starts the server (again, on the same ports once it had them).
    fn restart(&mut self) {
        let mut child = Command::new(python())
            .arg(root().join("tests/smtp/server.py"))
            .arg("serve")
            .arg("--dir")
            .arg(&self.dir)
            .arg("--cert")
            .arg(certs().join("server.pem"))
            .arg("--key")
            .arg(certs().join("server.key"))
            .args(["--implicit-port", &self.implicit.to_string()])
            .args(["--starttls-port", &self.starttls.to_string()])
            .args(["--user", USER, "--password", PASSWORD])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ports: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("the SMTP server did not start: `{line}`"));
        self.implicit = ports["implicit"].as_u64().unwrap() as u16;
        self.starttls = ports["starttls"].as_u64().unwrap() as u16;
        self.child = Some(child);
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every message received so far, parsed.
    pub(crate) fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("messages.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Waits until at least `n` messages arrived.
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            assert!(
                start.elapsed() < WAIT,
                "only {} of {n} messages arrived",
                m.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.stop();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
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

async fn patch(app: &TestApp, token: &str, path: &str, body: Value) -> Response {
    call(app, reqwest::Method::PATCH, token, path, Some(body)).await
}

async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> Response {
    call(app, reqwest::Method::PUT, token, path, Some(body)).await
}

async fn delete(app: &TestApp, token: &str, path: &str) -> Response {
    call(app, reqwest::Method::DELETE, token, path, None).await
}

/// An app that trusts the test CA and retries after a second.
pub(crate) async fn mail_app(extra: &[(&str, &str)]) -> TestApp {
    let ca = ca_file();
    let mut vars: Vec<(&str, &str)> = vec![
        ("LOKET_SMTP_CA_FILE", ca.as_str()),
        ("LOKET_MAIL_RETRY_SCHEDULE", "1s,1s,1s"),
        ("LOKET_SMTP_TIMEOUT", "10"),
    ];
    for (k, v) in extra {
        vars.retain(|(name, _)| name != k);
        vars.push((k, v));
    }
    spawn_app_with(&vars).await
}

/// Adds a generic server pointing at the test SMTP server.
async fn add_server(app: &TestApp, token: &str, port: u16, tls: &str) -> Value {
    json_of(
        post(
            app,
            token,
            "/api/v1/mail-servers",
            json!({
                "name": format!("Test {tls}"),
                "type": "generic",
                "host": "localhost",
                "port": port,
                "tls": tls,
                "username": USER,
                "password": PASSWORD,
            }),
        )
        .await,
        201,
    )
    .await
}

/// The code in a verification mail.
fn code_in(message: &Value) -> String {
    let text = message["text"].as_str().unwrap();
    let at = text.find("Verification code: ").unwrap() + "Verification code: ".len();
    text[at..at + 6].to_owned()
}

/// Adds a sender and verifies it with the code it was mailed; returns the sender.
async fn verified_sender(
    app: &TestApp,
    token: &str,
    smtp: &Smtp,
    server: &str,
    name: &str,
    address: &str,
) -> Value {
    let before = smtp.messages().len();
    let created = json_of(
        post(
            app,
            token,
            &format!("/api/v1/mail-servers/{server}/senders"),
            json!({"name": name, "address": address}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["verification_mail"]["ok"], true, "{created}");
    let mail = smtp.wait_for(before + 1).await[before].clone();
    json_of(
        post(
            app,
            token,
            &format!(
                "/api/v1/mail-servers/{server}/senders/{}/verify",
                created["id"].as_str().unwrap()
            ),
            json!({"code": code_in(&mail)}),
        )
        .await,
        200,
    )
    .await
}

async fn add_template(app: &TestApp, token: &str, body: Value) -> Value {
    json_of(post(app, token, "/api/v1/mail-templates", body).await, 201).await
}

async fn queue(app: &TestApp, token: &str, body: Value) -> Value {
    json_of(post(app, token, "/api/v1/mail/outbox", body).await, 201).await
}

async fn outbox_message(app: &TestApp, token: &str, id: &str) -> Value {
    json_of(
        get(app, token, &format!("/api/v1/mail/outbox/{id}")).await,
        200,
    )
    .await
}

/// Waits until the message satisfies `cond`; returns it.
async fn wait_message(
    app: &TestApp,
    token: &str,
    id: &str,
    what: &str,
    cond: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let m = outbox_message(app, token, id).await;
        if cond(&m) {
            return m;
        }
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}: {m}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A server and a verified sender on it (implicit TLS).
async fn ready(app: &TestApp, token: &str, smtp: &Smtp) -> (String, String) {
    let server = add_server(app, token, smtp.implicit, "implicit").await;
    let server = server["id"].as_str().unwrap().to_owned();
    let sender = verified_sender(app, token, smtp, &server, "Loket", "noreply@loket.test").await;
    (server, sender["id"].as_str().unwrap().to_owned())
}

// ---------------------------------------------------------------------------------------------
// R-TLS.

#[tokio::test]
async fn plain_text_servers_are_refused_and_types_prefill() {
    let app = mail_app(&[]).await;
    let (_, token) = app.admin_token("Mail TLS").await;
    for body in [
        json!({"name": "Plain", "type": "generic", "host": "mail.example.org", "port": 25, "tls": "none"}),
        json!({"name": "Plain", "type": "generic", "host": "mail.example.org", "port": 25}),
        json!({"name": "Plain", "type": "office365", "tls": "plain"}),
        json!({"name": "Plain", "type": "generic", "host": "mail.example.org", "tls": "opportunistic"}),
    ] {
        let p = problem(
            post(&app, &token, "/api/v1/mail-servers", body).await,
            422,
            "tls-required",
        )
        .await;
        assert!(p["detail"].as_str().unwrap().contains("plain text"), "{p}");
    }
    // Nothing was stored.
    let list = json_of(get(&app, &token, "/api/v1/mail-servers").await, 200).await;
    assert_eq!(list["items"], json!([]));

    // Presets, and overriding them.
    let o365 = json_of(
        post(
            &app,
            &token,
            "/api/v1/mail-servers",
            json!({"name": "Office", "type": "office365", "username": "noreply@example.org", "password": "pw-secret-123"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        (&o365["host"], &o365["port"], &o365["tls"]),
        (
            &json!("smtp.office365.com"),
            &json!(587),
            &json!("starttls")
        )
    );
    assert_eq!(o365["has_password"], true);
    assert_eq!(o365["status"], "active");
    assert!(o365.get("password").is_none());
    let gmail = json_of(
        post(
            &app,
            &token,
            "/api/v1/mail-servers",
            json!({"name": "Google", "type": "gmail"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        (&gmail["host"], &gmail["port"], &gmail["tls"]),
        (&json!("smtp.gmail.com"), &json!(465), &json!("implicit"))
    );
    let custom = json_of(
        post(
            &app,
            &token,
            "/api/v1/mail-servers",
            json!({"name": "Custom", "type": "office365", "host": "smtp-eu.example.org", "port": 2587}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        (&custom["host"], &custom["port"], &custom["tls"]),
        (
            &json!("smtp-eu.example.org"),
            &json!(2587),
            &json!("starttls")
        )
    );
    let generic = json_of(
        post(
            &app,
            &token,
            "/api/v1/mail-servers",
            json!({"name": "Own", "type": "generic", "host": "mail.example.org", "tls": "implicit"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(generic["port"], 465);

    // The password is sealed at rest.
    let id = o365["id"].as_str().unwrap().to_owned();
    let stored: Option<String> = app
        .state
        .db
        .read(move |c| {
            use loket_storage::schema::mail_servers;
            Ok(mail_servers::table
                .find(id)
                .select(mail_servers::password)
                .first(c)?)
        })
        .await
        .unwrap();
    let stored = stored.unwrap();
    assert!(!stored.contains("pw-secret-123"));

    // R-TLS on change too, and nothing changes.
    let path = format!("/api/v1/mail-servers/{}", o365["id"].as_str().unwrap());
    problem(
        patch(
            &app,
            &token,
            &path,
            json!({"tls": "none", "name": "Changed"}),
        )
        .await,
        422,
        "tls-required",
    )
    .await;
    let same = json_of(get(&app, &token, &path).await, 200).await;
    assert_eq!(same["name"], "Office");
    let changed = json_of(
        patch(
            &app,
            &token,
            &path,
            json!({"tls": "implicit", "port": 465, "password": null}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (&changed["tls"], &changed["port"]),
        (&json!("implicit"), &json!(465))
    );
    assert_eq!(changed["has_password"], false);

    // Bad fields name themselves.
    let p = problem(
        post(
            &app,
            &token,
            "/api/v1/mail-servers",
            json!({"name": " ", "type": "exchange", "host": "bad host", "tls": "implicit"}),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    let names: Vec<&str> = p["invalid_params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["name", "type", "host"]);
}

#[tokio::test]
async fn a_server_test_says_in_plain_words_which_step_failed() {
    let smtp = Smtp::start();
    let app = mail_app(&[]).await;
    let (_, token) = app.admin_token("Mail test").await;
    let test = |id: String| {
        let (app, token) = (&app, &token);
        async move {
            json_of(
                post(
                    app,
                    token,
                    &format!("/api/v1/mail-servers/{id}/test"),
                    json!({}),
                )
                .await,
                200,
            )
            .await
        }
    };
    for (port, tls) in [(smtp.implicit, "implicit"), (smtp.starttls, "starttls")] {
        let s = add_server(&app, &token, port, tls).await;
        let r = test(s["id"].as_str().unwrap().to_owned()).await;
        assert_eq!(r["ok"], true, "{tls}: {r}");
        assert_eq!(r["failed_step"], Value::Null);
    }
    let mut cases = Vec::new();
    let wrong_password = add_server(&app, &token, smtp.implicit, "implicit").await;
    let path = format!(
        "/api/v1/mail-servers/{}",
        wrong_password["id"].as_str().unwrap()
    );
    json_of(
        patch(&app, &token, &path, json!({"password": "wrong"})).await,
        200,
    )
    .await;
    cases.push((wrong_password, "authentication", "user name or password"));
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = unused.local_addr().unwrap().port();
    drop(unused);
    cases.push((
        add_server(&app, &token, closed_port, "implicit").await,
        "connection",
        "Could not connect",
    ));
    let dns = json_of(
        post(
            &app,
            &token,
            "/api/v1/mail-servers",
            json!({"name": "Nowhere", "type": "generic", "host": "no-such-host.invalid", "tls": "implicit"}),
        )
        .await,
        201,
    )
    .await;
    cases.push((dns, "dns", "could not be found"));
    // Implicit TLS against the STARTTLS port: the handshake fails.
    cases.push((
        add_server(&app, &token, smtp.starttls, "implicit").await,
        "tls",
        "TLS handshake",
    ));
    for (server, step, words) in &cases {
        let r = test(server["id"].as_str().unwrap().to_owned()).await;
        assert_eq!(r["ok"], false, "{r}");
        assert_eq!(r["failed_step"], *step, "{r}");
        assert!(r["message"].as_str().unwrap().contains(words), "{r}");
    }
    // Adding a sender reports the same when its code cannot be mailed; it stays unverified,
    // and adding it again (once the server is fixed) mails a new code.
    let wrong = cases[0].0["id"].as_str().unwrap();
    let s = json_of(
        post(
            &app,
            &token,
            &format!("/api/v1/mail-servers/{wrong}/senders"),
            json!({"name": "Loket", "address": "noreply@loket.test"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(s["status"], "unverified");
    assert_eq!(s["verification_mail"]["ok"], false, "{s}");
    assert_eq!(
        s["verification_mail"]["failed_step"], "authentication",
        "{s}"
    );
    assert!(
        s["verification_mail"]["smtp_answer"]
            .as_str()
            .unwrap()
            .starts_with("535"),
        "{s}"
    );
    json_of(
        patch(
            &app,
            &token,
            &format!("/api/v1/mail-servers/{wrong}"),
            json!({"password": PASSWORD}),
        )
        .await,
        200,
    )
    .await;
    let again = json_of(
        post(
            &app,
            &token,
            &format!("/api/v1/mail-servers/{wrong}/senders"),
            json!({"name": "Loket", "address": "noreply@loket.test"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(again["id"], s["id"]);
    assert_eq!(again["verification_mail"]["ok"], true, "{again}");
    assert_eq!(smtp.wait_for(1).await.len(), 1);

    // Certificates are always verified: without the test CA the server is not trusted.
    let untrusting = spawn_app_with(&[]).await;
    let (_, token) = untrusting.admin_token("No CA").await;
    let s = add_server(&untrusting, &token, smtp.implicit, "implicit").await;
    let r = json_of(
        post(
            &untrusting,
            &token,
            &format!("/api/v1/mail-servers/{}/test", s["id"].as_str().unwrap()),
            json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["failed_step"], "tls", "{r}");
    assert!(
        r["message"].as_str().unwrap().contains("certificate"),
        "{r}"
    );
}

// ---------------------------------------------------------------------------------------------
// R-VERIFY.

#[tokio::test]
async fn a_sender_is_usable_only_after_its_code_round_trip() {
    let smtp = Smtp::start();
    let app = mail_app(&[]).await;
    let (_, token) = app.admin_token("Mail verify").await;
    let server = add_server(&app, &token, smtp.starttls, "starttls").await;
    let server = server["id"].as_str().unwrap();
    let created = json_of(
        post(
            &app,
            &token,
            &format!("/api/v1/mail-servers/{server}/senders"),
            json!({"name": "Arbodienst Noord", "address": "Planning@Arbo.example.org"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["status"], "unverified");
    assert_eq!(created["tries_left"], 5);
    assert_eq!(
        created["display"],
        "Arbodienst Noord <Planning@Arbo.example.org>"
    );
    assert_eq!(created["verification_mail"]["ok"], true, "{created}");
    let sender = created["id"].as_str().unwrap();

    // The code went through this server, over TLS, logged in, to the address itself.
    let mail = smtp.wait_for(1).await[0].clone();
    assert_eq!(mail["port_kind"], "starttls");
    assert_eq!(mail["tls"], true);
    assert_eq!(mail["login"], USER);
    assert_eq!(mail["rcpt_tos"], json!(["Planning@Arbo.example.org"]));
    assert_eq!(mail["mail_from"], "Planning@Arbo.example.org");
    let code = code_in(&mail);
    assert!(mail["headers"]["Subject"].as_str().unwrap().contains(&code));
    // Only a hash of the code is stored.
    let stored: Option<String> = {
        let id = sender.to_owned();
        app.state
            .db
            .read(move |c| {
                use loket_storage::schema::mail_senders;
                Ok(mail_senders::table
                    .find(id)
                    .select(mail_senders::code_hash)
                    .first(c)?)
            })
            .await
            .unwrap()
    };
    assert!(!stored.unwrap().contains(&code));

    // Unverified: it cannot send, nor be the default sender.
    add_template(
        &app,
        &token,
        json!({"code": "Hello", "subject": "Hello", "text_body": "Hi"}),
    )
    .await;
    problem(
        post(
            &app,
            &token,
            "/api/v1/mail/outbox",
            json!({"sender_id": sender, "to": {"email": "anna@example.org"}, "template": "Hello"}),
        )
        .await,
        409,
        "sender-unverified",
    )
    .await;
    problem(
        put(
            &app,
            &token,
            "/api/v1/mail/settings",
            json!({"default_sender_id": sender}),
        )
        .await,
        409,
        "sender-unverified",
    )
    .await;
    let outbox = json_of(get(&app, &token, "/api/v1/mail/outbox").await, 200).await;
    assert_eq!(outbox["items"], json!([]));

    // The right code verifies it; then it sends.
    let verified = json_of(
        post(
            &app,
            &token,
            &format!("/api/v1/mail-servers/{server}/senders/{sender}/verify"),
            json!({"code": code}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(verified["status"], "verified");
    assert!(verified["verified_at"].is_string());
    problem(
        post(
            &app,
            &token,
            &format!("/api/v1/mail-servers/{server}/senders/{sender}/verify"),
            json!({"code": code}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    let m = queue(
        &app,
        &token,
        json!({"sender_id": sender, "to": {"email": "anna@example.org", "name": "Anna"}, "template": "Hello"}),
    )
    .await;
    assert_eq!(m["status"], "queued");
    assert_eq!(m["sender_id"], sender);
    assert_eq!(m["server_id"], server);
    let sent = wait_message(&app, &token, m["id"].as_str().unwrap(), "sent", |m| {
        m["status"] == "sent"
    })
    .await;
    assert_eq!(sent["attempts"], 1);
    assert!(sent["smtp_answer"].as_str().unwrap().starts_with("250"));
    let received = smtp.wait_for(2).await[1].clone();
    assert_eq!(
        received["headers"]["From"],
        "Arbodienst Noord <Planning@Arbo.example.org>"
    );
    assert_eq!(received["headers"]["To"], "Anna <anna@example.org>");
    assert_eq!(received["headers"]["Message-ID"], sent["message_id"]);
    assert_eq!(received["headers"]["Auto-Submitted"], "auto-generated");

    // And it can be the default sender: mail without a sender goes from it.
    json_of(
        put(
            &app,
            &token,
            "/api/v1/mail/settings",
            json!({"default_sender_id": sender}),
        )
        .await,
        200,
    )
    .await;
    let settings = json_of(get(&app, &token, "/api/v1/mail/settings").await, 200).await;
    assert_eq!(settings["default_sender_id"], sender);
    let m = queue(
        &app,
        &token,
        json!({"to": {"email": "bob@example.org"}, "template": "Hello"}),
    )
    .await;
    assert_eq!(m["sender_id"], sender);
    assert_eq!(m["from"], "Arbodienst Noord <Planning@Arbo.example.org>");
}

#[tokio::test]
async fn wrong_and_expired_codes_are_refused_and_five_tries_use_a_code_up() {
    let smtp = Smtp::start();
    let app = mail_app(&[]).await;
    let (_, token) = app.admin_token("Mail codes").await;
    let server = add_server(&app, &token, smtp.implicit, "implicit").await;
    let server = server["id"].as_str().unwrap();
    let add = || async {
        post(
            &app,
            &token,
            &format!("/api/v1/mail-servers/{server}/senders"),
            json!({"name": "Support", "address": "support@example.org"}),
        )
        .await
    };
    let created = json_of(add().await, 201).await;
    let sender = created["id"].as_str().unwrap();
    let verify_path = format!("/api/v1/mail-servers/{server}/senders/{sender}/verify");
    let code = code_in(&smtp.wait_for(1).await[0]);
    let wrong = if code == "000000" { "000001" } else { "000000" };

    // A wrong code is refused and costs a try.
    let p = problem(
        post(&app, &token, &verify_path, json!({"code": wrong})).await,
        422,
        "verification-code-wrong",
    )
    .await;
    assert!(
        p["detail"].as_str().unwrap().contains("4 tries left"),
        "{p}"
    );
    problem(
        post(&app, &token, &verify_path, json!({"code": "12ab56"})).await,
        422,
        "validation-failed",
    )
    .await;
    let s = json_of(
        get(
            &app,
            &token,
            &format!("/api/v1/mail-servers/{server}/senders/{sender}"),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(s["tries_left"], 4);

    // After 30 minutes the right code is expired.
    app.clock.advance(chrono::Duration::minutes(31));
    problem(
        post(&app, &token, &verify_path, json!({"code": code})).await,
        422,
        "verification-code-expired",
    )
    .await;

    // Adding the address again mails a new code (same sender, tries reset).
    let again = json_of(add().await, 200).await;
    assert_eq!(again["id"], sender);
    assert_eq!(again["tries_left"], 5);
    let code = code_in(&smtp.wait_for(2).await[1]);
    let wrong = if code == "999999" { "999998" } else { "999999" };
    for left in (0..5).rev() {
        let p = problem(
            post(&app, &token, &verify_path, json!({"code": wrong})).await,
            422,
            "verification-code-wrong",
        )
        .await;
        if left == 0 {
            assert!(
                p["detail"].as_str().unwrap().contains("no tries are left"),
                "{p}"
            );
        }
    }
    // Five wrong tries: even the right code no longer works.
    problem(
        post(&app, &token, &verify_path, json!({"code": code})).await,
        422,
        "verification-tries-exhausted",
    )
    .await;
    let s = json_of(
        get(
            &app,
            &token,
            &format!("/api/v1/mail-servers/{server}/senders/{sender}"),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (&s["status"], &s["tries_left"]),
        (&json!("unverified"), &json!(0))
    );

    // A fresh code works.
    json_of(add().await, 200).await;
    let code = code_in(&smtp.wait_for(3).await[2]);
    let v = json_of(
        post(&app, &token, &verify_path, json!({"code": code})).await,
        200,
    )
    .await;
    assert_eq!(v["status"], "verified");
    // A verified address cannot be added again.
    problem(add().await, 409, "conflict").await;
}

// ---------------------------------------------------------------------------------------------
// Limits, failures, retries.

#[tokio::test]
async fn limits_hold_mail_back_and_release_it_when_the_window_passes() {
    let smtp = Smtp::start();
    let app = mail_app(&[]).await;
    let (_, token) = app.admin_token("Mail limits").await;
    let (server, sender) = ready(&app, &token, &smtp).await;
    let limit = json_of(
        post(
            &app,
            &token,
            &format!("/api/v1/mail-servers/{server}/limits"),
            json!({"max_messages": 2, "window_seconds": 60}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        (&limit["max_messages"], &limit["window_seconds"]),
        (&json!(2), &json!(60))
    );
    add_template(
        &app,
        &token,
        json!({"code": "Note", "subject": "Note {{ n }}", "text_body": "n = {{ n }}"}),
    )
    .await;
    let mut ids = Vec::new();
    for n in 1..=3 {
        let m = queue(
            &app,
            &token,
            json!({"sender_id": sender, "to": {"email": format!("r{n}@example.org")}, "template": "Note", "data": {"n": n}}),
        )
        .await;
        ids.push(m["id"].as_str().unwrap().to_owned());
    }
    // Two go out (plus the verification mail received before); the third waits.
    smtp.wait_for(3).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        smtp.messages().len(),
        3,
        "the limit let a third message through"
    );
    let statuses: Vec<String> = {
        let mut v = Vec::new();
        for id in &ids {
            v.push(
                outbox_message(&app, &token, id).await["status"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        v
    };
    assert_eq!(
        statuses.iter().filter(|s| *s == "sent").count(),
        2,
        "{statuses:?}"
    );
    let held = ids
        .iter()
        .zip(&statuses)
        .find(|(_, s)| *s == "queued")
        .map(|(id, _)| id.clone())
        .unwrap();
    let h = outbox_message(&app, &token, &held).await;
    assert_eq!(h["attempts"], 0);
    assert!(h["error"].as_str().unwrap().contains("limit"), "{h}");
    assert!(h["next_attempt_at"].is_string());

    // When the window has passed, it goes out.
    app.clock.advance(chrono::Duration::seconds(61));
    let sent = wait_message(&app, &token, &held, "the held message", |m| {
        m["status"] == "sent"
    })
    .await;
    assert_eq!(sent["attempts"], 1);
    assert_eq!(sent["error"], Value::Null);
    assert_eq!(smtp.wait_for(4).await.len(), 4);
}

#[tokio::test]
async fn mail_stays_queued_while_the_server_is_down_and_goes_out_when_it_returns() {
    let mut smtp = Smtp::start();
    let app = mail_app(&[(
        "LOKET_MAIL_RETRY_SCHEDULE",
        "1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s",
    )])
    .await;
    let (_, token) = app.admin_token("Mail down").await;
    let (_, sender) = ready(&app, &token, &smtp).await;
    add_template(
        &app,
        &token,
        json!({"code": "Ping", "subject": "Ping", "text_body": "ping"}),
    )
    .await;
    smtp.stop();
    let m = queue(
        &app,
        &token,
        json!({"sender_id": sender, "to": {"email": "anna@example.org"}, "template": "Ping"}),
    )
    .await;
    let id = m["id"].as_str().unwrap();
    let failed_once = wait_message(&app, &token, id, "a failed attempt", |m| {
        m["attempts"].as_i64().unwrap() >= 1 && m["error"].is_string()
    })
    .await;
    assert_eq!(failed_once["status"], "queued");
    assert!(
        failed_once["error"].as_str().unwrap().contains("connect"),
        "{failed_once}"
    );
    smtp.restart();
    let sent = wait_message(&app, &token, id, "delivery after the restart", |m| {
        m["status"] == "sent"
    })
    .await;
    assert!(sent["attempts"].as_i64().unwrap() >= 2);
    assert_eq!(sent["error"], Value::Null);
    let received = smtp.wait_for(2).await[1].clone();
    assert_eq!(received["headers"]["Message-ID"], m["message_id"]);
}

#[tokio::test]
async fn a_message_claimed_by_a_worker_that_died_is_sent_again_with_the_same_message_id() {
    let smtp = Smtp::start();
    let app = mail_app(&[]).await;
    let (_, token) = app.admin_token("Mail crash").await;
    let (_, sender) = ready(&app, &token, &smtp).await;
    add_template(
        &app,
        &token,
        json!({"code": "Ping", "subject": "Ping", "text_body": "ping"}),
    )
    .await;
    // A worker claims the message and dies before recording anything: its lease is left.
    app.state.mail.stop();
    let m = queue(
        &app,
        &token,
        json!({"sender_id": sender, "to": {"email": "anna@example.org"}, "template": "Ping"}),
    )
    .await;
    let id = m["id"].as_str().unwrap().to_owned();
    let lease_until =
        loket_common::time::to_db(app.state.clock.now() + chrono::Duration::minutes(5));
    {
        let id = id.clone();
        app.state
            .db
            .write(move |c| {
                use loket_storage::schema::mail_outbox;
                diesel::update(mail_outbox::table.find(id))
                    .set((
                        mail_outbox::locked_until.eq(Some(lease_until)),
                        mail_outbox::lease.eq(Some("dead-worker")),
                        mail_outbox::attempts.eq(1),
                    ))
                    .execute(c)?;
                Ok(())
            })
            .await
            .unwrap();
    }
    app.state.mail.start();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(outbox_message(&app, &token, &id).await["status"], "queued");
    assert_eq!(
        smtp.messages().len(),
        1,
        "a claimed message was sent twice at once"
    );
    // When the lease runs out, another worker sends it: nothing is lost.
    app.clock.advance(chrono::Duration::minutes(6));
    let sent = wait_message(&app, &token, &id, "the re-sent message", |m| {
        m["status"] == "sent"
    })
    .await;
    assert_eq!(sent["attempts"], 2);
    let got = smtp.wait_for(2).await[1].clone();
    assert_eq!(got["headers"]["Message-ID"], m["message_id"]);
}

#[tokio::test]
async fn a_5xx_answer_fails_the_message_and_4xx_answers_are_retried() {
    let smtp = Smtp::start();
    let app = mail_app(&[("LOKET_MAIL_RETRY_SCHEDULE", "1s,1s")]).await;
    let (_, token) = app.admin_token("Mail answers").await;
    let (_, sender) = ready(&app, &token, &smtp).await;
    add_template(
        &app,
        &token,
        json!({"code": "Ping", "subject": "Ping", "text_body": "ping"}),
    )
    .await;
    let perm = queue(
        &app,
        &token,
        json!({"sender_id": sender, "to": {"email": "permfail@example.org"}, "template": "Ping"}),
    )
    .await;
    let failed = wait_message(&app, &token, perm["id"].as_str().unwrap(), "failure", |m| {
        m["status"] == "failed"
    })
    .await;
    assert_eq!(failed["attempts"], 1);
    assert!(
        failed["smtp_answer"]
            .as_str()
            .unwrap()
            .starts_with("550 5.1.1"),
        "{failed}"
    );
    assert!(
        failed["error"].as_str().unwrap().contains("refused"),
        "{failed}"
    );

    let temp = queue(
        &app,
        &token,
        json!({"sender_id": sender, "to": {"email": "tempfail@example.org"}, "template": "Ping"}),
    )
    .await;
    let id = temp["id"].as_str().unwrap();
    let retrying = wait_message(&app, &token, id, "a temporary failure", |m| {
        m["attempts"].as_i64().unwrap() >= 1 && m["smtp_answer"].is_string()
    })
    .await;
    assert!(retrying["smtp_answer"].as_str().unwrap().starts_with("451"));
    // Two retries, then it is given up.
    let gave_up = wait_message(&app, &token, id, "giving up", |m| m["status"] == "failed").await;
    assert_eq!(gave_up["attempts"], 3);
    assert!(
        gave_up["error"]
            .as_str()
            .unwrap()
            .starts_with("Gave up after 3 attempts")
    );

    let failed_list = json_of(
        get(&app, &token, "/api/v1/mail/outbox?status=failed").await,
        200,
    )
    .await;
    assert_eq!(failed_list["items"].as_array().unwrap().len(), 2);
    // Only the verification mail arrived.
    assert_eq!(smtp.messages().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Templates.

#[tokio::test]
async fn templates_follow_the_recipient_then_the_tenant_culture_then_none() {
    let smtp = Smtp::start();
    let app = mail_app(&[]).await;
    let (_, token) = app.admin_token("Mail cultures").await;
    let (_, sender) = ready(&app, &token, &smtp).await;
    for (culture, subject) in [
        (json!("de-DE"), "Willkommen {{ name }}"),
        (json!("nl-NL"), "Welkom {{ name }}"),
        (json!("en-GB"), "Welcome {{ name }}"),
        (Value::Null, "Hi {{ name }}"),
    ] {
        let t = add_template(
            &app,
            &token,
            json!({"code": "Welcome", "culture": culture, "subject": subject, "text_body": "{{ name }}"}),
        )
        .await;
        let suffix = culture.as_str().unwrap_or("");
        assert_eq!(t["key"], format!("Welcome{suffix}"));
    }
    // A document in the tenant's culture only, and one without culture.
    add_template(
        &app,
        &token,
        json!({"code": "Letter", "culture": "nl-NL", "subject": "Brief", "text_body": "Brief voor {{ name }}", "html_body": "<p>Brief voor {{ name }}</p>"}),
    )
    .await;
    problem(
        post(
            &app,
            &token,
            "/api/v1/mail-templates",
            json!({"code": "Welcome", "culture": "nl-NL", "subject": "Dup", "text_body": "x"}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    // A user of the tenant with a language.
    json_of(
        post(
            &app,
            &token,
            "/api/v1/users",
            json!({"name": "Emma", "email": "emma@example.org", "language": "en-GB"}),
        )
        .await,
        201,
    )
    .await;

    let send = |to: Value, docs: Value| {
        let (app, token, sender) = (&app, &token, &sender);
        async move {
            queue(
                app,
                token,
                json!({"sender_id": sender, "to": to, "template": "Welcome", "data": {"name": "X"}, "documents": docs}),
            )
            .await
        }
    };
    // 1. The recipient's culture.
    let de = send(
        json!({"email": "a@example.org", "culture": "de-DE"}),
        json!(["Letter"]),
    )
    .await;
    assert_eq!(
        (&de["template_culture"], &de["subject"]),
        (&json!("de-DE"), &json!("Willkommen X"))
    );
    // 2. The recipient's user language.
    let en = send(json!({"email": "EMMA@example.org"}), Value::Null).await;
    assert_eq!(
        (&en["to"]["culture"], &en["subject"]),
        (&json!("en-GB"), &json!("Welcome X"))
    );
    // 3. The tenant's default culture (nl-NL) when the recipient's has no template.
    let fr = send(
        json!({"email": "b@example.org", "culture": "fr-FR"}),
        Value::Null,
    )
    .await;
    assert_eq!(
        (&fr["template_culture"], &fr["subject"]),
        (&json!("nl-NL"), &json!("Welkom X"))
    );
    // 4. Without the tenant's culture: the template without culture.
    let list = json_of(
        get(&app, &token, "/api/v1/mail-templates?code=Welcome").await,
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 4);
    let nl = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["culture"] == "nl-NL")
        .unwrap();
    json_of(
        delete(
            &app,
            &token,
            &format!("/api/v1/mail-templates/{}", nl["id"].as_str().unwrap()),
        )
        .await,
        204,
    )
    .await;
    let none = send(
        json!({"email": "c@example.org", "culture": "fr-FR"}),
        Value::Null,
    )
    .await;
    assert_eq!(
        (&none["template_culture"], &none["subject"]),
        (&Value::Null, &json!("Hi X"))
    );
    // A template that exists in no culture.
    problem(
        post(
            &app,
            &token,
            "/api/v1/mail/outbox",
            json!({"sender_id": sender, "to": {"email": "a@example.org"}, "template": "Nope"}),
        )
        .await,
        404,
        "not-found",
    )
    .await;

    // What arrived: the language header, and the document found by the same lookup.
    let got = smtp.wait_for(5).await;
    let by_to = |addr: &str| {
        got.iter()
            .find(|m| m["rcpt_tos"][0] == addr)
            .unwrap_or_else(|| panic!("nothing for {addr}"))
            .clone()
    };
    let m = by_to("a@example.org");
    assert_eq!(m["headers"]["Subject"], "Willkommen X");
    assert_eq!(m["headers"]["Content-Language"], "de-DE");
    assert_eq!(m["attachments"][0]["filename"], "Letternl-NL.html");
    assert_eq!(m["attachments"][0]["content"], "<p>Brief voor X</p>");
    assert_eq!(
        by_to("EMMA@example.org")["headers"]["Content-Language"],
        "en-GB"
    );
    assert_eq!(by_to("b@example.org")["headers"]["Subject"], "Welkom X");
    assert_eq!(by_to("c@example.org")["headers"]["Subject"], "Hi X");
}

#[tokio::test]
async fn data_is_html_escaped_in_the_html_body_only() {
    let smtp = Smtp::start();
    let app = mail_app(&[]).await;
    let (_, token) = app.admin_token("Mail escaping").await;
    let (_, sender) = ready(&app, &token, &smtp).await;
    add_template(
        &app,
        &token,
        json!({
            "code": "Reply",
            "subject": "Re: {{ title }}",
            "text_body": "Dear {{ name }},\n{{ body }}",
            "html_body": "<p>Dear {{ name }},</p><div>{{ body }}</div>"
        }),
    )
    .await;
    // Template syntax errors are refused up front.
    let p = problem(
        post(
            &app,
            &token,
            "/api/v1/mail-templates",
            json!({"code": "Broken", "subject": "ok", "text_body": "{{ unclosed", "html_body": "{% if %}"}),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(p["invalid_params"][0]["name"], "text_body");
    assert_eq!(p["invalid_params"][1]["name"], "html_body");
    // Data the template needs but does not get.
    problem(
        post(
            &app,
            &token,
            "/api/v1/mail/outbox",
            json!({"sender_id": sender, "to": {"email": "a@example.org"}, "template": "Reply", "data": {"name": "A"}}),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;

    let evil = "<script>alert('x')</script> & <b>bold</b>";
    let m = queue(
        &app,
        &token,
        json!({
            "sender_id": sender,
            "to": {"email": "anna@example.org"},
            "template": "Reply",
            "data": {"name": "Anna \"<img src=x>\"", "body": evil, "title": "line\r\nBcc: x@evil.example"}
        }),
    )
    .await;
    assert_eq!(m["subject"], "Re: line Bcc: x@evil.example");
    let got = smtp.wait_for(2).await[1].clone();
    let html = got["html"].as_str().unwrap();
    assert!(html.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;&#x2f;script&gt; &amp; &lt;b&gt;bold&lt;&#x2f;b&gt;"), "{html}");
    assert!(
        html.contains("Anna &quot;&lt;img src=x&gt;&quot;"),
        "{html}"
    );
    assert!(!html.contains("<script>"));
    let text = got["text"].as_str().unwrap();
    assert!(text.contains(evil), "{text}");
    assert_eq!(got["headers"]["Subject"], "Re: line Bcc: x@evil.example");
    assert_eq!(got["rcpt_tos"], json!(["anna@example.org"]));
    assert!(got["headers"].get("Bcc").is_none());
}

// ---------------------------------------------------------------------------------------------
// Platform mail, archiving, isolation, permissions.

#[tokio::test]
async fn without_a_sender_mail_goes_through_the_platform_server() {
    let smtp = Smtp::start();
    let url = format!("smtps://{USER}:{PASSWORD}@localhost:{}", smtp.implicit);
    let app = mail_app(&[
        ("LOKET_PLATFORM_SMTP_URL", url.as_str()),
        ("LOKET_PLATFORM_SENDER", "Loket <noreply@loket.test>"),
    ])
    .await;
    let (admin, token) = app.admin_token("Mail platform").await;
    add_template(
        &app,
        &token,
        json!({"code": "Hello", "subject": "Hello {{ who }}", "text_body": "hi"}),
    )
    .await;
    let m = queue(
        &app,
        &token,
        json!({"to": {"email": "anna@example.org"}, "template": "Hello", "data": {"who": "Anna"}}),
    )
    .await;
    assert_eq!(
        (&m["server_id"], &m["sender_id"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(m["from"], "Loket <noreply@loket.test>");
    let got = smtp.wait_for(1).await[0].clone();
    assert_eq!(got["headers"]["From"], "Loket <noreply@loket.test>");
    assert_eq!(got["login"], USER);

    // Platform mail from other code, inside its own transaction.
    let mail = app.state.mail.clone();
    let tenant = admin.tenant_id;
    let queued = app
        .state
        .db
        .write(move |c| {
            mail.queue_platform_in(
                c,
                &loket_mail::PlatformMessage {
                    tenant_id: Some(tenant),
                    to: loket_mail::api::Recipient {
                        email: "someone@example.org".into(),
                        name: None,
                        culture: Some("nl-NL".into()),
                    },
                    subject: "Uw inlognaam".into(),
                    text_body: "Uw inlognaam is {{ login }}.".into(),
                    html_body: None,
                    data: json!({"login": "anna"}),
                },
            )
        })
        .await
        .unwrap();
    app.state.mail.wake();
    let got = smtp.wait_for(2).await[1].clone();
    assert_eq!(got["headers"]["Subject"], "Uw inlognaam");
    assert_eq!(got["headers"]["Message-ID"], queued.message_id);
    assert!(
        got["text"]
            .as_str()
            .unwrap()
            .contains("Uw inlognaam is anna.")
    );
}

#[tokio::test]
async fn archived_servers_send_nothing_and_other_tenants_see_nothing() {
    let smtp = Smtp::start();
    let app = mail_app(&[]).await;
    let (_, token) = app.admin_token("Mail tenant A").await;
    let (_, other) = app.admin_token("Mail tenant B").await;
    let (server, sender) = ready(&app, &token, &smtp).await;
    add_template(
        &app,
        &token,
        json!({"code": "Ping", "subject": "Ping", "text_body": "ping"}),
    )
    .await;
    let limit = json_of(
        post(
            &app,
            &token,
            &format!("/api/v1/mail-servers/{server}/limits"),
            json!({"max_messages": 100, "window_seconds": 3600}),
        )
        .await,
        201,
    )
    .await;
    let m = queue(
        &app,
        &token,
        json!({"sender_id": sender, "to": {"email": "anna@example.org"}, "template": "Ping"}),
    )
    .await;

    // R-TEN: another tenant's ids answer 404 everywhere.
    let limit_id = limit["id"].as_str().unwrap();
    for path in [
        format!("/api/v1/mail-servers/{server}"),
        format!("/api/v1/mail-servers/{server}/senders"),
        format!("/api/v1/mail-servers/{server}/senders/{sender}"),
        format!("/api/v1/mail-servers/{server}/limits"),
        format!("/api/v1/mail-servers/{server}/limits/{limit_id}"),
        format!("/api/v1/mail/outbox/{}", m["id"].as_str().unwrap()),
    ] {
        problem(get(&app, &other, &path).await, 404, "not-found").await;
    }
    problem(
        post(
            &app,
            &other,
            &format!("/api/v1/mail-servers/{server}/test"),
            json!({}),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    problem(
        patch(
            &app,
            &other,
            &format!("/api/v1/mail-servers/{server}"),
            json!({"name": "Mine"}),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    problem(
        post(
            &app,
            &other,
            &format!("/api/v1/mail-servers/{server}/archive"),
            json!({}),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    add_template(
        &app,
        &other,
        json!({"code": "Ping", "subject": "Ping", "text_body": "ping"}),
    )
    .await;
    problem(
        post(
            &app,
            &other,
            "/api/v1/mail/outbox",
            json!({"sender_id": sender, "to": {"email": "x@example.org"}, "template": "Ping"}),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    problem(
        put(
            &app,
            &other,
            "/api/v1/mail/settings",
            json!({"default_sender_id": sender}),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    let theirs = json_of(get(&app, &other, "/api/v1/mail/outbox").await, 200).await;
    assert_eq!(theirs["items"], json!([]));
    let theirs = json_of(get(&app, &other, "/api/v1/mail-servers").await, 200).await;
    assert_eq!(theirs["items"], json!([]));

    wait_message(&app, &token, m["id"].as_str().unwrap(), "sent", |m| {
        m["status"] == "sent"
    })
    .await;
    json_of(
        put(
            &app,
            &token,
            "/api/v1/mail/settings",
            json!({"default_sender_id": sender}),
        )
        .await,
        200,
    )
    .await;

    // Archived: nothing more goes through it, and it cannot be changed.
    let archived = json_of(
        post(
            &app,
            &token,
            &format!("/api/v1/mail-servers/{server}/archive"),
            json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(archived["status"], "archived");
    assert!(archived["archived_at"].is_string());
    let settings = json_of(get(&app, &token, "/api/v1/mail/settings").await, 200).await;
    assert_eq!(settings["default_sender_id"], Value::Null);
    problem(
        post(
            &app,
            &token,
            "/api/v1/mail/outbox",
            json!({"sender_id": sender, "to": {"email": "anna@example.org"}, "template": "Ping"}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    problem(
        patch(
            &app,
            &token,
            &format!("/api/v1/mail-servers/{server}"),
            json!({"name": "New"}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    problem(
        post(
            &app,
            &token,
            &format!("/api/v1/mail-servers/{server}/senders"),
            json!({"name": "Other", "address": "other@loket.test"}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    // No sender and no platform server: nothing to send with.
    problem(
        post(
            &app,
            &token,
            "/api/v1/mail/outbox",
            json!({"to": {"email": "anna@example.org"}, "template": "Ping"}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
}

#[tokio::test]
async fn mail_needs_the_mail_manage_permission() {
    let app = mail_app(&[]).await;
    let (_, token) = app.admin_token("Mail authz").await;
    let account = json_of(
        post(
            &app,
            &token,
            "/api/v1/api-accounts",
            json!({"name": "Reader", "permissions": ["accounts:read"]}),
        )
        .await,
        201,
    )
    .await;
    let login = app
        .login(
            account["username"].as_str().unwrap(),
            account["password"].as_str().unwrap(),
            account["totp_secret"].as_str().unwrap(),
        )
        .await;
    let reader = login["access_token"].as_str().unwrap();
    for path in [
        "/api/v1/mail-servers",
        "/api/v1/mail-templates",
        "/api/v1/mail/outbox",
        "/api/v1/mail/settings",
    ] {
        problem(get(&app, reader, path).await, 403, "forbidden").await;
    }
    problem(
        post(
            &app,
            reader,
            "/api/v1/mail-servers",
            json!({"name": "X", "type": "gmail"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let none = app
        .client
        .get(app.url("/api/v1/mail-servers"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
}

// ---------------------------------------------------------------------------------------------
// The tenant's default sender (`PATCH /tenants/{id}`, R-VERIFY).

#[tokio::test]
async fn a_tenant_names_only_a_verified_sender_as_its_default() {
    let smtp = Smtp::start();
    let app = mail_app(&[]).await;
    let (admin, token) = app.admin_token("Default sender").await;
    let tenant_path = format!("/api/v1/tenants/{}", admin.tenant_id);
    let server = add_server(&app, &token, smtp.implicit, "implicit").await;
    let server = server["id"].as_str().unwrap().to_owned();
    let unverified = json_of(
        post(
            &app,
            &token,
            &format!("/api/v1/mail-servers/{server}/senders"),
            json!({"name": "Pending", "address": "pending@loket.test"}),
        )
        .await,
        201,
    )
    .await;

    // An unverified sender is refused, and the rename in the same request does not happen.
    problem(
        patch(
            &app,
            &token,
            &tenant_path,
            json!({"name": "Renamed", "default_sender_id": unverified["id"]}),
        )
        .await,
        409,
        "sender-unverified",
    )
    .await;
    let tenant = json_of(get(&app, &token, &tenant_path).await, 200).await;
    assert_eq!(tenant["name"], "Default sender");
    assert_eq!(tenant["default_sender_id"], Value::Null);

    // A sender of another tenant does not exist for this one.
    let (_, other) = app.admin_token("Someone else").await;
    let theirs = add_server(&app, &other, smtp.implicit, "implicit").await;
    let theirs = verified_sender(
        &app,
        &other,
        &smtp,
        theirs["id"].as_str().unwrap(),
        "Theirs",
        "theirs@loket.test",
    )
    .await;
    problem(
        patch(
            &app,
            &token,
            &tenant_path,
            json!({"default_sender_id": theirs["id"]}),
        )
        .await,
        404,
        "not-found",
    )
    .await;

    let sender = verified_sender(&app, &token, &smtp, &server, "Loket", "noreply@loket.test").await;
    let tenant = json_of(
        patch(
            &app,
            &token,
            &tenant_path,
            json!({"default_sender_id": sender["id"]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(tenant["default_sender_id"], sender["id"]);
    let tenant = json_of(get(&app, &token, &tenant_path).await, 200).await;
    assert_eq!(tenant["default_sender_id"], sender["id"]);
    let settings = json_of(get(&app, &token, "/api/v1/mail/settings").await, 200).await;
    assert_eq!(settings["default_sender_id"], sender["id"]);

    // `null` goes back to the platform default.
    let tenant = json_of(
        patch(
            &app,
            &token,
            &tenant_path,
            json!({"default_sender_id": null}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(tenant["default_sender_id"], Value::Null);
}

/// Issue 4: a receiver disabled by a `410 Gone` is reported by mail to the tenant's superadmins.
#[tokio::test]
async fn a_disabled_webhook_receiver_is_reported_to_the_superadmins_by_mail() {
    let smtp = Smtp::start();
    let url = format!("smtps://{USER}:{PASSWORD}@localhost:{}", smtp.implicit);
    let app = mail_app(&[
        ("LOKET_PLATFORM_SMTP_URL", url.as_str()),
        ("LOKET_PLATFORM_SENDER", "Loket <noreply@loket.test>"),
        ("LOKET_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1"),
    ])
    .await;
    let (_, token) = app.admin_token("Gone receiver").await;
    // A receiver that answers every request with 410 Gone.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0u8; 65536];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(b"HTTP/1.1 410 Gone\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        }
    });
    json_of(
        post(
            &app,
            &token,
            "/api/v1/users",
            json!({"name": "Bea Boss", "email": "bea@example.org", "language": "en-GB", "permissions": ["superadmin"]}),
        )
        .await,
        201,
    )
    .await;
    json_of(
        post(
            &app,
            &token,
            "/api/v1/users",
            json!({"name": "Carl Clerk", "email": "carl@example.org", "permissions": ["accounts:read"]}),
        )
        .await,
        201,
    )
    .await;
    let receiver = json_of(
        post(
            &app,
            &token,
            "/api/v1/webhooks/receivers",
            json!({"name": "Old CRM", "url": format!("http://127.0.0.1:{port}/hook"), "topics": ["Accounts.*"]}),
        )
        .await,
        201,
    )
    .await;
    // Any account change now reaches the receiver, which answers 410.
    json_of(
        post(
            &app,
            &token,
            "/api/v1/users",
            json!({"name": "Dirk", "email": "dirk@example.org"}),
        )
        .await,
        201,
    )
    .await;
    let got = smtp.wait_for(1).await[0].clone();
    assert_eq!(
        got["rcpt_tos"],
        json!(["bea@example.org"]),
        "only the superadmin is told"
    );
    assert!(
        got["headers"]["Subject"]
            .as_str()
            .unwrap()
            .contains("Old CRM")
    );
    assert!(got["text"].as_str().unwrap().contains("410 Gone"));
    let id = receiver["id"].as_str().unwrap();
    let r = json_of(
        get(&app, &token, &format!("/api/v1/webhooks/receivers/{id}")).await,
        200,
    )
    .await;
    assert!(r["disabled_at"].is_string());
}
