//! Inbound e-mail into the helpdesk (issue 7 "Intake", R-THREAD) with real `.eml` fixtures
//! (tests/fixtures/mail): MIME decoding, threading by subject tag and by our signed Message-IDs
//! (a forged one does not thread), duplicates stored once, re-opening, the updates mailbox,
//! refusals, the staff reply mail (delivered through a real SMTP server) and `loket mail ingest`.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use diesel::prelude::*;
use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of, problem, spawn_app, spawn_app_with};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/mail")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fixture with `@@KEY@@` placeholders filled in.
fn fill(name: &str, values: &[(&str, &str)]) -> Vec<u8> {
    let mut text = String::from_utf8(fixture(name)).unwrap();
    for (k, v) in values {
        text = text.replace(&format!("@@{k}@@"), v);
    }
    text.into_bytes()
}

async fn post_mail(
    app: &TestApp,
    token: &str,
    mailbox: &str,
    raw: Vec<u8>,
    content_type: &str,
) -> Response {
    app.client
        .post(app.url(&format!("/api/v1/mail/inbound?mailbox={mailbox}")))
        .bearer_auth(token)
        .header("Content-Type", content_type)
        .body(raw)
        .send()
        .await
        .unwrap()
}

async fn ingest(app: &TestApp, token: &str, raw: Vec<u8>, status: u16) -> Value {
    json_of(
        post_mail(app, token, "helpdesk", raw, "message/rfc822").await,
        status,
    )
    .await
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    json_of(
        app.client
            .get(app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await
}

async fn messages(app: &TestApp, token: &str, number: &str) -> Vec<Value> {
    get(app, token, &format!("/api/v1/tickets/{number}/messages"))
        .await
        .as_array()
        .unwrap()
        .clone()
}

async fn ticket_count(app: &TestApp, token: &str) -> usize {
    get(app, token, "/api/v1/tickets?limit=200").await["items"]
        .as_array()
        .unwrap()
        .len()
}

fn topics(app: &TestApp, tenant: uuid::Uuid) -> Vec<String> {
    app.state
        .db
        .read_blocking(move |c| loket_storage::outbox::list_for_tenant(c, tenant))
        .unwrap()
        .into_iter()
        .map(|e| e.topic)
        .collect()
}

#[tokio::test]
async fn mime_fixtures_become_tickets_with_decoded_bodies() {
    let app = spawn_app().await;
    let (_, token) = app.admin_token("Helpdesk BV").await;

    // multipart/alternative: the text part, CCs from the Cc header, a Location.
    let res = post_mail(
        &app,
        &token,
        "helpdesk",
        fixture("multipart_alternative.eml"),
        "message/rfc822",
    )
    .await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let out = json_of(res, 201).await;
    let t = &out["ticket"];
    let number = t["number"].as_str().unwrap();
    assert_eq!(location, format!("/api/v1/tickets/{number}"));
    assert_eq!(out["created"], true);
    assert_eq!(out["threaded_by"], "new");
    assert_eq!(out["mail_message_id"], "<multipart-1@gemeente.example>");
    assert_eq!(t["channel"], "email");
    assert_eq!(t["status"], "new");
    assert_eq!(t["department"], "helpdesk");
    assert_eq!(t["subject"], "Agenda print lukt niet");
    assert_eq!(t["reporter_email"], "jan@gemeente.example");
    assert_eq!(t["reporter_name"], "Jan Jansen");
    assert_eq!(t["reporter_language"], "nl-NL");
    assert_eq!(
        t["cc_emails"],
        json!(["piet@gemeente.example", "anna@gemeente.example"])
    );
    // The signature's phone number and the envelope's addresses are not an incident.
    assert_eq!(t["labels"], json!([]));
    let m = messages(&app, &token, number).await;
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["id"], out["message_id"]);
    assert_eq!(m[0]["author_kind"], "customer");
    let body = m[0]["body"].as_str().unwrap();
    assert!(
        body.contains("Het printen van de agenda lukt niet sinds de update naar 4.2."),
        "{body}"
    );
    assert!(!body.contains("<p>"), "{body}");

    // quoted-printable, with an encoded-word subject and sender name.
    let out = ingest(&app, &token, fixture("quoted_printable.eml"), 201).await;
    assert_eq!(out["ticket"]["subject"], "Café module geeft foutmelding");
    assert_eq!(out["ticket"]["reporter_name"], "José Diepeveen");
    let m = messages(&app, &token, out["ticket"]["number"].as_str().unwrap()).await;
    let body = m[0]["body"].as_str().unwrap();
    assert!(
        body.contains(
            "De module voor het café geeft een foutmelding als ik een heel lange regel invoer"
        ),
        "{body}"
    );
    assert!(body.ends_with("José"), "{body}");

    // base64 body and attachment.
    let out = ingest(&app, &token, fixture("base64_attachment.eml"), 201).await;
    let m = messages(&app, &token, out["ticket"]["number"].as_str().unwrap()).await;
    let body = m[0]["body"].as_str().unwrap();
    assert!(
        body.contains("In de bijlage het logbestand van de fout."),
        "{body}"
    );
    assert!(
        !body.contains("spooler timeout"),
        "the attachment is not the body: {body}"
    );

    // ISO-8859-1 body and subject.
    let out = ingest(&app, &token, fixture("iso_8859_1.eml"), 201).await;
    assert_eq!(
        out["ticket"]["subject"],
        "Patiënt niet zichtbaar in overzicht"
    );
    assert_eq!(out["ticket"]["reporter_name"], "Renée Müller");
    let m = messages(&app, &token, out["ticket"]["number"].as_str().unwrap()).await;
    let body = m[0]["body"].as_str().unwrap();
    assert!(
        body.contains(
            "De cliënt verschijnt niet in het overzicht; de weergave van é, ü en ß klopt ook niet."
        ),
        "{body}"
    );

    // HTML only: text derived from the HTML, without tags or styles.
    let out = ingest(&app, &token, fixture("html_only.eml"), 201).await;
    let m = messages(&app, &token, out["ticket"]["number"].as_str().unwrap()).await;
    let body = m[0]["body"].as_str().unwrap();
    assert!(
        body.contains("blijft wit na inloggen & verversen."),
        "{body}"
    );
    assert!(!body.contains('<') && !body.contains("color"), "{body}");

    // text/plain and application/octet-stream are accepted as MTA pipes post them.
    let raw = fill(
        "reply_with_tag.eml",
        &[
            ("FROM", "x@y.example"),
            ("NUMBER", "AAA-BBBBB-000"),
            ("ID", "pipe-1"),
        ],
    );
    json_of(
        post_mail(&app, &token, "helpdesk", raw, "text/plain").await,
        201,
    )
    .await;
    let raw = fill(
        "reply_with_tag.eml",
        &[
            ("FROM", "x@y.example"),
            ("NUMBER", "AAA-BBBBB-000"),
            ("ID", "pipe-2"),
        ],
    );
    json_of(
        post_mail(&app, &token, "helpdesk", raw, "application/octet-stream").await,
        201,
    )
    .await;
    assert_eq!(ticket_count(&app, &token).await, 7);
}

#[tokio::test]
async fn a_subject_tag_threads_only_from_the_reporter_or_a_cc_and_reopens_a_resolved_ticket() {
    let app = spawn_app().await;
    let (admin, token) = app.admin_token("Helpdesk BV").await;
    let out = ingest(&app, &token, fixture("multipart_alternative.eml"), 201).await;
    let number = out["ticket"]["number"].as_str().unwrap().to_owned();
    let resolved = json_of(
        app.client
            .post(app.url(&format!("/api/v1/tickets/{number}/resolve")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(resolved["status"], "resolved");

    // The reporter answers (in another case): threads and re-opens as `open`.
    let raw = fill(
        "reply_with_tag.eml",
        &[
            ("FROM", "Jan <JAN@gemeente.example>"),
            ("NUMBER", &number),
            ("ID", "r1"),
        ],
    );
    let res = post_mail(&app, &token, "helpdesk", raw, "message/rfc822").await;
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        format!("/api/v1/tickets/{number}")
    );
    let r = json_of(res, 200).await;
    assert_eq!(r["created"], false);
    assert_eq!(r["threaded_by"], "subject_tag");
    assert_eq!(r["ticket"]["number"], number.as_str());
    assert_eq!(r["ticket"]["status"], "open");
    assert_eq!(r["ticket"]["resolved_at"], Value::Null);
    // The quoted earlier text (a BSN and a phone number) is not scanned again.
    assert_eq!(r["ticket"]["labels"], json!([]));
    let history = get(&app, &token, &format!("/api/v1/tickets/{number}/history")).await;
    let reopened = history.as_array().unwrap().iter().any(|h| {
        h["field"] == "status" && h["old_value"] == "resolved" && h["new_value"] == "open"
    });
    assert!(reopened, "{history}");
    let topics = topics(&app, admin.tenant_id);
    assert!(
        topics.iter().any(|t| t == "Tickets.StatusChange"),
        "{topics:?}"
    );
    assert!(topics.iter().any(|t| t == "Tickets.Message"), "{topics:?}");

    // A CC address threads too.
    let raw = fill(
        "reply_with_tag.eml",
        &[
            ("FROM", "piet@gemeente.example"),
            ("NUMBER", &number),
            ("ID", "r2"),
        ],
    );
    let r = ingest(&app, &token, raw, 200).await;
    assert_eq!(r["threaded_by"], "subject_tag");
    assert_eq!(messages(&app, &token, &number).await.len(), 3);

    // A stranger quoting the number gets a ticket of their own.
    let raw = fill(
        "reply_with_tag.eml",
        &[
            ("FROM", "stranger@elders.example"),
            ("NUMBER", &number),
            ("ID", "r3"),
        ],
    );
    let r = ingest(&app, &token, raw, 201).await;
    assert_eq!(r["created"], true);
    assert_ne!(r["ticket"]["number"], number.as_str());
    assert_eq!(r["ticket"]["reporter_email"], "stranger@elders.example");
    assert_eq!(messages(&app, &token, &number).await.len(), 3);

    // Another tenant's mail quoting this number (even from the reporter) stays in that tenant.
    let (_, other) = app.admin_token("Ander BV").await;
    let raw = fill(
        "reply_with_tag.eml",
        &[
            ("FROM", "jan@gemeente.example"),
            ("NUMBER", &number),
            ("ID", "r4"),
        ],
    );
    let r = ingest(&app, &other, raw, 201).await;
    assert_ne!(r["ticket"]["number"], number.as_str());
    assert_eq!(messages(&app, &token, &number).await.len(), 3);
}

#[tokio::test]
async fn the_same_message_id_is_stored_once() {
    let app = spawn_app().await;
    let (admin, token) = app.admin_token("Helpdesk BV").await;
    let first = ingest(&app, &token, fixture("multipart_alternative.eml"), 201).await;
    let events = topics(&app, admin.tenant_id).len();
    let again = ingest(&app, &token, fixture("multipart_alternative.eml"), 200).await;
    assert_eq!(again["created"], false);
    assert_eq!(again["threaded_by"], "duplicate");
    assert_eq!(again["ticket"]["id"], first["ticket"]["id"]);
    assert_eq!(again["message_id"], first["message_id"]);
    assert_eq!(ticket_count(&app, &token).await, 1);
    let number = first["ticket"]["number"].as_str().unwrap();
    assert_eq!(messages(&app, &token, number).await.len(), 1);
    assert_eq!(topics(&app, admin.tenant_id).len(), events, "no new events");

    // A reply with the same Message-ID as one stored before is also the same mail.
    let raw = fill(
        "reply_with_tag.eml",
        &[
            ("FROM", "jan@gemeente.example"),
            ("NUMBER", number),
            ("ID", "dup"),
        ],
    );
    ingest(&app, &token, raw.clone(), 200).await;
    let r = ingest(&app, &token, raw, 200).await;
    assert_eq!(r["threaded_by"], "duplicate");
    assert_eq!(messages(&app, &token, number).await.len(), 2);
}

#[tokio::test]
async fn the_updates_mailbox_lands_in_the_updates_department() {
    let app = spawn_app().await;
    let (_, token) = app.admin_token("Helpdesk BV").await;
    let res = post_mail(
        &app,
        &token,
        "updates",
        fixture("updates.eml"),
        "message/rfc822",
    )
    .await;
    let out = json_of(res, 201).await;
    assert_eq!(out["ticket"]["department"], "updates");
    assert_eq!(out["ticket"]["channel"], "email");
    let listed = get(&app, &token, "/api/v1/tickets?department=updates").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn personal_data_in_the_body_is_labelled_but_not_the_senders_own_details() {
    let app = spawn_app().await;
    let (admin, token) = app.admin_token("Helpdesk BV").await;
    let out = ingest(&app, &token, fixture("privacy.eml"), 201).await;
    assert_eq!(out["ticket"]["labels"], json!(["security-incident-light"]));
    assert!(
        topics(&app, admin.tenant_id)
            .iter()
            .any(|t| t == "Tickets.SecurityIncident")
    );
}

#[tokio::test]
async fn bad_mail_and_bad_requests_are_refused_and_change_nothing() {
    let app = spawn_app_with(&[("LOKET_MAIL_INBOUND_MAX_BYTES", "2000")]).await;
    let (_, token) = app.admin_token("Helpdesk BV").await;

    let body = problem(
        post_mail(
            &app,
            &token,
            "helpdesk",
            b"Subject: no sender\r\n\r\nHallo".to_vec(),
            "message/rfc822",
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["invalid_params"][0]["name"], "from", "{body}");
    let body = problem(
        post_mail(&app, &token, "helpdesk", Vec::new(), "message/rfc822").await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["invalid_params"][0]["name"], "body", "{body}");
    problem(
        post_mail(
            &app,
            &token,
            "helpdesk",
            fixture("updates.eml"),
            "application/json",
        )
        .await,
        415,
        "unsupported-media-type",
    )
    .await;
    problem(
        post_mail(
            &app,
            &token,
            "spam",
            fixture("updates.eml"),
            "message/rfc822",
        )
        .await,
        400,
        "malformed-request",
    )
    .await;
    let res = app
        .client
        .post(app.url("/api/v1/mail/inbound"))
        .bearer_auth(&token)
        .header("Content-Type", "message/rfc822")
        .body(fixture("updates.eml"))
        .send()
        .await
        .unwrap();
    problem(res, 400, "malformed-request").await;
    let mut big = fixture("updates.eml");
    big.extend(std::iter::repeat_n(b'x', 3000));
    problem(
        post_mail(&app, &token, "helpdesk", big, "message/rfc822").await,
        413,
        "payload-too-large",
    )
    .await;
    let res = app
        .client
        .post(app.url("/api/v1/mail/inbound?mailbox=helpdesk"))
        .header("Content-Type", "message/rfc822")
        .body(fixture("updates.eml"))
        .send()
        .await
        .unwrap();
    problem(res, 401, "unauthorized").await;

    // An account without `tickets:write`.
    let reader = json_of(
        app.client
            .post(app.url("/api/v1/api-accounts"))
            .bearer_auth(&token)
            .json(&json!({ "name": "Reader", "permissions": ["tickets:read"] }))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let login = app
        .login(
            reader["username"].as_str().unwrap(),
            reader["password"].as_str().unwrap(),
            reader["totp_secret"].as_str().unwrap(),
        )
        .await;
    let reader_token = login["access_token"].as_str().unwrap();
    problem(
        post_mail(
            &app,
            reader_token,
            "helpdesk",
            fixture("updates.eml"),
            "message/rfc822",
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(ticket_count(&app, &token).await, 0);
}

// ---------------------------------------------------------------------------------------------
// Our outgoing mail: the staff reply, its signed Message-ID, and replies to it.

fn outbox_headers(app: &TestApp) -> Vec<(String, String, Option<String>, Option<String>)> {
    app.state
        .db
        .read_blocking(|c| {
            use loket_storage::schema::mail_outbox_headers as h;
            Ok(h::table
                .select((h::outbox_id, h::cc, h::in_reply_to, h::reference_ids))
                .load(c)?)
        })
        .unwrap()
}

#[tokio::test]
async fn a_staff_reply_is_mailed_with_a_signed_message_id_and_replies_to_it_thread() {
    let smtp = crate::mail::Smtp::start();
    let url = format!(
        "smtps://{}:{}@localhost:{}",
        crate::mail::USER,
        crate::mail::PASSWORD,
        smtp.implicit
    );
    let ca = crate::mail::ca_file();
    let app = spawn_app_with(&[
        ("LOKET_SMTP_CA_FILE", ca.as_str()),
        ("LOKET_PLATFORM_SMTP_URL", url.as_str()),
        ("LOKET_PLATFORM_SENDER", "Helpdesk <helpdesk@loket.test>"),
    ])
    .await;
    let (_, token) = app.admin_token("Helpdesk BV").await;
    let out = ingest(&app, &token, fixture("multipart_alternative.eml"), 201).await;
    let number = out["ticket"]["number"].as_str().unwrap().to_owned();
    let ticket_id = out["ticket"]["id"].as_str().unwrap().to_owned();
    // The confirmation goes out first.
    let confirmation = smtp.wait_for(1).await[0].clone();
    assert!(
        confirmation["headers"]["Subject"]
            .as_str()
            .unwrap()
            .contains(&number)
    );

    // An internal note mails nothing; a public staff reply mails the reporter, CC the CCs.
    for (body, visibility) in [
        ("Intern: printer 3 checken", "internal"),
        ("We kijken ernaar.", "public"),
    ] {
        json_of(
            app.client
                .post(app.url(&format!("/api/v1/tickets/{number}/messages")))
                .bearer_auth(&token)
                .json(&json!({ "body": body, "visibility": visibility }))
                .send()
                .await
                .unwrap(),
            201,
        )
        .await;
    }
    let got = smtp.wait_for(2).await;
    assert_eq!(got.len(), 2, "the internal note is not mailed");
    let reply = &got[1];
    let h = &reply["headers"];
    assert_eq!(
        h["Subject"],
        format!("Re: Agenda print lukt niet [{number}]")
    );
    assert_eq!(h["In-Reply-To"], "<multipart-1@gemeente.example>");
    assert_eq!(h["References"], "<multipart-1@gemeente.example>");
    assert!(
        h["To"].as_str().unwrap().contains("jan@gemeente.example"),
        "{h}"
    );
    let cc = h["Cc"].as_str().unwrap();
    assert!(
        cc.contains("piet@gemeente.example") && cc.contains("anna@gemeente.example"),
        "{cc}"
    );
    let mut rcpts: Vec<String> = reply["rcpt_tos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    rcpts.sort();
    assert_eq!(
        rcpts,
        vec![
            "anna@gemeente.example",
            "jan@gemeente.example",
            "piet@gemeente.example"
        ]
    );
    assert!(
        reply["text"]
            .as_str()
            .unwrap()
            .contains("We kijken ernaar.")
    );
    // `<ticket.message.hmac16@host>`
    let mid = h["Message-ID"].as_str().unwrap().to_owned();
    let local = mid
        .trim_matches(|c| c == '<' || c == '>')
        .split('@')
        .next()
        .unwrap()
        .to_owned();
    let parts: Vec<&str> = local.split('.').collect();
    assert_eq!(parts.len(), 3, "{mid}");
    assert_eq!(parts[0], ticket_id);
    assert_eq!(parts[2].len(), 16);
    assert!(parts[2].bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(outbox_headers(&app).len(), 1);
    let msgs = messages(&app, &token, &number).await;
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[2]["id"], parts[1]);
    let t = get(&app, &token, &format!("/api/v1/tickets/{number}")).await;
    assert_eq!(t["status"], "answered");

    // A reply from anyone naming our Message-ID threads (no subject tag needed).
    let raw = fill(
        "reply_in_reply_to.eml",
        &[("ID", "irt-1"), ("IN_REPLY_TO", &mid)],
    );
    let r = ingest(&app, &token, raw, 200).await;
    assert_eq!(r["threaded_by"], "references");
    assert_eq!(r["ticket"]["number"], number.as_str());
    assert_eq!(r["ticket"]["status"], "open");

    // A forged id (right shape, wrong hash) does not: a new ticket.
    let mut forged_hash: Vec<u8> = parts[2].bytes().collect();
    forged_hash[0] = if forged_hash[0] == b'0' { b'1' } else { b'0' };
    let forged = format!(
        "<{}.{}.{}@loket.test>",
        parts[0],
        parts[1],
        String::from_utf8(forged_hash).unwrap()
    );
    let raw = fill(
        "reply_in_reply_to.eml",
        &[("ID", "irt-2"), ("IN_REPLY_TO", &forged)],
    );
    let r = ingest(&app, &token, raw, 201).await;
    assert_eq!(r["threaded_by"], "new");
    assert_ne!(r["ticket"]["number"], number.as_str());

    // Our genuine id posted by another tenant threads into nothing there.
    let (_, other) = app.admin_token("Ander BV").await;
    let raw = fill(
        "reply_in_reply_to.eml",
        &[("ID", "irt-3"), ("IN_REPLY_TO", &mid)],
    );
    let r = ingest(&app, &other, raw, 201).await;
    assert_eq!(r["threaded_by"], "new");
    assert_eq!(messages(&app, &token, &number).await.len(), 4);

    // The delivered reply itself, looping back into the mailbox, is the same message: stored once.
    let eml = std::fs::read(reply["eml"].as_str().unwrap()).unwrap();
    let r = ingest(&app, &token, eml, 200).await;
    assert_eq!(r["threaded_by"], "duplicate");
    assert_eq!(messages(&app, &token, &number).await.len(), 4);
}

#[tokio::test]
async fn without_any_sender_a_staff_reply_still_posts() {
    let app = spawn_app().await;
    let (_, token) = app.admin_token("Helpdesk BV").await;
    let out = ingest(&app, &token, fixture("updates.eml"), 201).await;
    let number = out["ticket"]["number"].as_str().unwrap();
    json_of(
        app.client
            .post(app.url(&format!("/api/v1/tickets/{number}/messages")))
            .bearer_auth(&token)
            .json(&json!({ "body": "Staat gepland." }))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert!(outbox_headers(&app).is_empty());
}

// ---------------------------------------------------------------------------------------------
// `loket mail ingest` through the real binary.

fn loket() -> Command {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let bin = dir.join("loket");
    assert!(
        bin.exists(),
        "build the binary first: cargo build --bin loket"
    );
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("LOKET_")) {
        cmd.env_remove(k);
    }
    cmd.env("LOKET_LOG", "warn");
    cmd
}

fn run(cmd: &mut Command, stdin: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn loket_mail_ingest_files_a_message_from_standard_input() {
    let dir = std::env::temp_dir().join(format!("loket-ingest-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}/loket.db", dir.display());
    let out = loket()
        .args([
            "admin",
            "bootstrap",
            "--tenant",
            "Gemeente Helpdesk",
            "--json",
        ])
        .env("LOKET_DATABASE_URL", &db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tenant_id = serde_json::from_slice::<Value>(&out.stdout).unwrap()["tenant_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // By name (any case), into the updates mailbox.
    let out = run(
        loket()
            .args([
                "mail",
                "ingest",
                "--tenant",
                "gemeente helpdesk",
                "--mailbox",
                "updates",
            ])
            .env("LOKET_DATABASE_URL", &db),
        &fixture("updates.eml"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["created"], true);
    assert_eq!(answer["ticket"]["department"], "updates");
    assert_eq!(answer["ticket"]["channel"], "email");

    // By id, the same message again: the existing ticket.
    let out = run(
        loket()
            .args(["mail", "ingest", "--tenant", &tenant_id])
            .env("LOKET_DATABASE_URL", &db),
        &fixture("updates.eml"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["threaded_by"], "duplicate");
    assert_eq!(again["ticket"]["id"], answer["ticket"]["id"]);

    // Refusals: exit code 2 and one clear line.
    for (args, stdin, needle) in [
        (
            vec!["--tenant", "Nobody"],
            fixture("updates.eml"),
            "no tenant",
        ),
        (
            vec!["--tenant", "Gemeente Helpdesk"],
            b"Subject: x\r\n\r\nno sender".to_vec(),
            "from",
        ),
        (
            vec!["--tenant", "Gemeente Helpdesk", "--mailbox", "spam"],
            fixture("updates.eml"),
            "--mailbox",
        ),
    ] {
        let out = run(
            loket()
                .args(["mail", "ingest"])
                .args(&args)
                .env("LOKET_DATABASE_URL", &db),
            &stdin,
        );
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(out.stdout.is_empty());
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_new_ticket_is_confirmed_but_machine_mail_is_not() {
    // A platform sender so confirmations can be queued (nothing is delivered in this test).
    let app = spawn_app_with(&[
        ("LOKET_PLATFORM_SMTP_URL", "smtps://u:p@127.0.0.1:1"),
        ("LOKET_PLATFORM_SENDER", "Helpdesk <helpdesk@loket.test>"),
    ])
    .await;
    let (_, token) = app.admin_token("Helpdesk BV").await;
    let outbox = |app: &TestApp| {
        app.state
            .db
            .read_blocking(|c| {
                use loket_storage::schema::mail_outbox as o;
                Ok(o::table
                    .select((o::to_email, o::subject))
                    .load::<(String, String)>(c)?)
            })
            .unwrap()
    };
    let out = ingest(&app, &token, fixture("updates.eml"), 201).await;
    let queued = outbox(&app);
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].0, "beheer@gemeente.example");
    assert!(
        queued[0]
            .1
            .contains(out["ticket"]["number"].as_str().unwrap())
    );

    // An out-of-office (or our own confirmation looping back) files a ticket, mails nothing.
    let mut auto = b"Auto-Submitted: auto-replied\r\n".to_vec();
    auto.extend(fixture("html_only.eml"));
    let out = ingest(&app, &token, auto, 201).await;
    assert_eq!(out["created"], true);
    assert_eq!(outbox(&app).len(), 1);
}

/// A verified customer contact (user + contact row of organisation `org`) and an impersonated
/// token for it.
async fn customer_token(
    app: &TestApp,
    token: &str,
    tenant: uuid::Uuid,
    org: &str,
    email: &str,
) -> String {
    let user = json_of(
        app.client
            .post(app.url("/api/v1/users"))
            .bearer_auth(token)
            .json(&json!({ "name": email, "email": email, "permissions": ["tickets:read", "tickets:write"] }))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let user_id = user["id"].as_str().unwrap().to_owned();
    let (tenant, org, email, uid) = (
        tenant.to_string(),
        org.to_owned(),
        email.to_owned(),
        user_id.clone(),
    );
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
                    customer_contacts::email.eq(&email),
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
            ("subject_token", token),
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

#[tokio::test]
async fn mail_from_a_verified_contact_joins_its_organisation_and_customers_cannot_post_mail() {
    let app = spawn_app().await;
    let (admin, token) = app.admin_token("Helpdesk BV").await;
    let org = uuid::Uuid::new_v4().to_string();
    let jan = customer_token(&app, &token, admin.tenant_id, &org, "jan@gemeente.example").await;

    // The sender is the verified contact: the ticket is the organisation's, and Jan sees it.
    let out = ingest(&app, &token, fixture("multipart_alternative.eml"), 201).await;
    assert_eq!(out["ticket"]["organisation_id"], org.as_str());
    let mine = get(&app, &jan, "/api/v1/tickets").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    // Other senders' tickets belong to no organisation.
    let out = ingest(&app, &token, fixture("updates.eml"), 201).await;
    assert_eq!(out["ticket"]["organisation_id"], Value::Null);

    // A customer's (impersonated) token may not post inbound mail, even with tickets:write.
    problem(
        post_mail(
            &app,
            &jan,
            "helpdesk",
            fixture("html_only.eml"),
            "message/rfc822",
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(ticket_count(&app, &token).await, 2);
}
