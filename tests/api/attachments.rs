//! Ticket attachments over HTTP (issue 7 "Storage of attachments", R-PRIVACY): multipart upload
//! on creation and on replies, download of the same bytes, the size limit, privacy scanning of
//! CSV and spreadsheets (several persons: bytes removed, 410, label, system message; one person:
//! light label, kept), opaque files kept clean, R-OWN and tenant isolation on downloads.

use std::path::{Path, PathBuf};

use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of, spawn_app_with};

/// One part of a `multipart/form-data` body.
pub(crate) struct Part {
    name: &'static str,
    file: Option<(&'static str, &'static str)>,
    data: Vec<u8>,
}

pub(crate) fn field(name: &'static str, value: &str) -> Part {
    Part {
        name,
        file: None,
        data: value.as_bytes().to_vec(),
    }
}

pub(crate) fn file(name: &'static str, content_type: &'static str, data: Vec<u8>) -> Part {
    Part {
        name: "attachments",
        file: Some((name, content_type)),
        data,
    }
}

/// A multipart body written by hand (independent of any client library's encoder).
pub(crate) fn multipart(parts: &[Part]) -> (String, Vec<u8>) {
    let boundary = format!("----loket{}", uuid::Uuid::new_v4().simple());
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match p.file {
            Some((filename, ct)) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{}\"; filename=\"{filename}\"\r\nContent-Type: {ct}\r\n\r\n",
                    p.name
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{}\"\r\n\r\n", p.name).as_bytes(),
            ),
        }
        body.extend_from_slice(&p.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_in(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

struct Desk {
    app: TestApp,
    token: String,
    tenant: uuid::Uuid,
    dir: PathBuf,
}

impl Desk {
    async fn new() -> Desk {
        Desk::with(&[]).await
    }

    async fn with(extra: &[(&str, &str)]) -> Desk {
        let dir = std::env::temp_dir().join(format!("loket-attachments-{}", uuid::Uuid::new_v4()));
        let url = format!("file://{}", dir.display());
        let mut vars = vec![("LOKET_ATTACHMENTS_URL", url.as_str())];
        vars.extend_from_slice(extra);
        let app = spawn_app_with(&vars).await;
        let (admin, token) = app.admin_token("Helpdesk BV").await;
        Desk {
            app,
            token,
            tenant: admin.tenant_id,
            dir,
        }
    }

    async fn post_form(&self, token: &str, path: &str, parts: &[Part]) -> Response {
        let (ct, body) = multipart(parts);
        self.app
            .client
            .post(self.app.url(path))
            .bearer_auth(token)
            .header("Content-Type", ct)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, token: &str, path: &str) -> Response {
        self.app
            .client
            .get(self.app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Creates a ticket as `token` under `email` with these files.
    async fn create(&self, token: &str, email: &str, files: Vec<Part>) -> Response {
        let mut parts = vec![
            field("contact_name", "Jan Jansen"),
            field("contact_email", email),
            field("cc_emails", "piet@gemeente.example"),
            field("environment", "production"),
            field("subject", "Export klopt niet"),
            field("description", "Zie de bijlage."),
        ];
        parts.extend(files);
        self.post_form(token, "/api/v1/tickets", &parts).await
    }

    async fn messages(&self, token: &str, number: &str) -> Value {
        json_of(
            self.get(token, &format!("/api/v1/tickets/{number}/messages"))
                .await,
            200,
        )
        .await
    }

    async fn topics(&self) -> Vec<String> {
        let tenant = self.tenant;
        self.app
            .state
            .db
            .read_blocking(move |c| loket_storage::outbox::list_for_tenant(c, tenant))
            .unwrap()
            .into_iter()
            .map(|e| e.topic)
            .collect()
    }
}

/// A verified (or not) customer contact of organisation `org`, and an impersonated token.
async fn customer(d: &Desk, org: &str, email: &str, verified: bool) -> String {
    let user = json_of(
        d.app
            .client
            .post(d.app.url("/api/v1/users"))
            .bearer_auth(&d.token)
            .json(&json!({ "name": email, "email": email, "permissions": ["tickets:read", "tickets:write"] }))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let user_id = user["id"].as_str().unwrap().to_owned();
    let (tenant, org, email2, uid) = (
        d.tenant.to_string(),
        org.to_owned(),
        email.to_owned(),
        user_id.clone(),
    );
    d.app
        .state
        .db
        .write(move |c| {
            use diesel::prelude::*;
            use loket_storage::schema::{customer_contacts, organisations};
            let now = chrono::Utc::now().naive_utc();
            let exists: i64 = organisations::table
                .filter(organisations::id.eq(&org))
                .count()
                .get_result(c)?;
            if exists == 0 {
                diesel::insert_into(organisations::table)
                    .values((
                        organisations::id.eq(&org),
                        organisations::tenant_id.eq(&tenant),
                        organisations::name.eq("Gemeente"),
                        organisations::created_at.eq(now),
                        organisations::updated_at.eq(now),
                    ))
                    .execute(c)?;
            }
            diesel::insert_into(customer_contacts::table)
                .values((
                    customer_contacts::user_id.eq(&uid),
                    customer_contacts::tenant_id.eq(&tenant),
                    customer_contacts::organisation_id.eq(&org),
                    customer_contacts::email.eq(&email2),
                    customer_contacts::verified_at.eq(verified.then_some(now)),
                    customer_contacts::created_at.eq(now),
                    customer_contacts::updated_at.eq(now),
                ))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    let res = d
        .app
        .client
        .post(d.app.url("/oauth/token"))
        .form(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("subject_token", d.token.as_str()),
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

/// Bytes that look like a screenshot: a PNG signature, binary noise and digits that would be
/// BSNs in text. Images are not readable, so this is clean.
fn screenshot() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.extend((0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    b.extend_from_slice(b"BSN 111222333 BSN 123456782 BSN 100000009");
    b
}

const SEVERAL_BSNS_CSV: &str = "naam;BSN;woonplaats\nJan Jansen;111222333;Utrecht\nPiet Pietersen;123456782;Zwolle\nKlaas Vaak;100000009;Ede\n";

fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            match cell.parse::<f64>() {
                Ok(n) => sheet.write_number(r as u32, c as u16, n).unwrap(),
                Err(_) => sheet.write_string(r as u32, c as u16, *cell).unwrap(),
            };
        }
    }
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn an_upload_is_stored_listed_and_downloaded_as_the_same_bytes() {
    let d = Desk::new().await;
    let shot = screenshot();
    let notes = "Stappen:\n1. Open de agenda\n2. Klik op printen\n"
        .as_bytes()
        .to_vec();
    let t = json_of(
        d.create(
            &d.token,
            "jan@gemeente.example",
            vec![
                file("scherm afdruk.png", "image/png", shot.clone()),
                file(
                    "../../stappen.txt",
                    "text/plain; charset=utf-8",
                    notes.clone(),
                ),
            ],
        )
        .await,
        201,
    )
    .await;
    let number = t["number"].as_str().unwrap();
    assert_eq!(t["labels"], json!([]), "clean files add no label");
    assert_eq!(t["cc_emails"], json!(["piet@gemeente.example"]));
    assert_eq!(t["environment"], "production");

    let msgs = d.messages(&d.token, number).await;
    let atts = msgs[0]["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), 2, "{msgs}");
    assert_eq!(atts[0]["name"], "scherm afdruk.png");
    assert_eq!(atts[0]["content_type"], "image/png");
    assert_eq!(atts[0]["size_bytes"], shot.len());
    assert_eq!(atts[0]["removed_reason"], Value::Null);
    assert_eq!(atts[1]["name"], "stappen.txt", "the path is stripped");
    assert_eq!(atts[1]["content_type"], "text/plain");
    assert_eq!(files_in(&d.dir).len(), 2, "both files are in the store");

    let id = atts[0]["id"].as_str().unwrap();
    let res = d
        .get(
            &d.token,
            &format!("/api/v1/tickets/{number}/attachments/{id}"),
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let cd = h["content-disposition"].to_str().unwrap();
    assert!(cd.starts_with("attachment;"), "{cd}");
    assert!(cd.contains("filename*=UTF-8''scherm%20afdruk.png"), "{cd}");
    assert_eq!(res.bytes().await.unwrap().to_vec(), shot);
    let id2 = atts[1]["id"].as_str().unwrap();
    let res = d
        .get(
            &d.token,
            &format!("/api/v1/tickets/{number}/attachments/{id2}"),
        )
        .await;
    assert_eq!(res.bytes().await.unwrap().to_vec(), notes);

    // A reply with an attachment (JSON replies keep working, without files).
    let m = json_of(
        d.post_form(
            &d.token,
            &format!("/api/v1/tickets/{number}/messages"),
            &[
                field("body", "Hier is de handleiding."),
                file(
                    "handleiding.pdf",
                    "application/pdf",
                    b"%PDF-1.4 BSN 111222333".to_vec(),
                ),
            ],
        )
        .await,
        201,
    )
    .await;
    assert_eq!(m["author_kind"], "staff");
    assert_eq!(m["attachments"][0]["name"], "handleiding.pdf");
    let json_reply = d
        .app
        .client
        .post(d.app.url(&format!("/api/v1/tickets/{number}/messages")))
        .bearer_auth(&d.token)
        .json(&json!({"body": "Zonder bijlage."}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(json_reply, 201).await["attachments"], json!([]));

    // A file larger than LOKET_MAX_BODY_BYTES (1 MiB) but within the attachment limit, sent
    // with an Idempotency-Key: accepted, and the retry replays the same message.
    let big: Vec<u8> = (0..2_500_000u32).map(|i| (i % 251) as u8).collect();
    let (ct, body) = multipart(&[
        field("body", "Groot bestand."),
        file("dump.bin", "application/octet-stream", big.clone()),
    ]);
    let send = || {
        d.app
            .client
            .post(d.app.url(&format!("/api/v1/tickets/{number}/messages")))
            .bearer_auth(&d.token)
            .header("Content-Type", ct.clone())
            .header("Idempotency-Key", "upload-1")
            .body(body.clone())
            .send()
    };
    let first = json_of(send().await.unwrap(), 201).await;
    let again = send().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(json_of(again, 201).await["id"], first["id"]);
    let big_id = first["attachments"][0]["id"].as_str().unwrap();
    let res = d
        .get(
            &d.token,
            &format!("/api/v1/tickets/{number}/attachments/{big_id}"),
        )
        .await;
    assert_eq!(res.bytes().await.unwrap().to_vec(), big);

    // Unknown ids and non-ids answer 404.
    for bad in [uuid::Uuid::new_v4().to_string(), "nope".to_owned()] {
        let res = d
            .get(
                &d.token,
                &format!("/api/v1/tickets/{number}/attachments/{bad}"),
            )
            .await;
        assert_eq!(res.status().as_u16(), 404);
    }
}

#[tokio::test]
async fn an_attachment_over_the_size_limit_is_refused_naming_the_file_and_nothing_is_kept() {
    let d = Desk::with(&[("LOKET_ATTACHMENT_MAX_BYTES", "1000")]).await;
    let res = d
        .create(
            &d.token,
            "jan@gemeente.example",
            vec![
                file("klein.txt", "text/plain", vec![b'a'; 1000]),
                file("groot.log", "text/plain", vec![b'a'; 1001]),
            ],
        )
        .await;
    let p = json_of(res, 422).await;
    assert_eq!(p["type"], "/problems/validation-failed");
    assert_eq!(p["invalid_params"][0]["name"], "attachments[1]", "{p}");
    assert!(
        p["invalid_params"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("groot.log"),
        "{p}"
    );
    let list = json_of(d.get(&d.token, "/api/v1/tickets").await, 200).await;
    assert_eq!(list["items"], json!([]), "no ticket was created");
    assert!(files_in(&d.dir).is_empty(), "no bytes were stored");

    // Eleven files are too many.
    let many: Vec<Part> = (0..11)
        .map(|_| file("a.txt", "text/plain", b"x".to_vec()))
        .collect();
    let p = json_of(d.create(&d.token, "jan@gemeente.example", many).await, 422).await;
    assert_eq!(p["invalid_params"][0]["name"], "attachments");
    // A field error in a form names the field and stores nothing.
    let p = json_of(
        d.post_form(
            &d.token,
            "/api/v1/tickets",
            &[
                field("contact_name", "Jan"),
                field("contact_email", "geen-adres"),
                field("subject", "x"),
                field("description", "y"),
                file("a.txt", "text/plain", b"x".to_vec()),
            ],
        )
        .await,
        422,
    )
    .await;
    assert_eq!(p["invalid_params"][0]["name"], "contact_email", "{p}");
    let p = json_of(
        d.post_form(&d.token, "/api/v1/tickets", &[field("contact_name", "Jan")])
            .await,
        422,
    )
    .await;
    assert_eq!(p["invalid_params"][0]["name"], "contact_email", "{p}");
    assert!(files_in(&d.dir).is_empty());
}

async fn assert_removed(d: &Desk, token: &str, number: &str, name: &str) {
    let msgs = d.messages(token, number).await;
    let all = msgs.as_array().unwrap();
    let att = all
        .iter()
        .flat_map(|m| m["attachments"].as_array().unwrap().iter())
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed: {msgs}"));
    assert!(
        att["removed_reason"].as_str().unwrap().contains("BSN"),
        "{att}"
    );
    assert!(att["size_bytes"].as_i64().unwrap() > 0);
    let id = att["id"].as_str().unwrap();
    let p = json_of(
        d.get(token, &format!("/api/v1/tickets/{number}/attachments/{id}"))
            .await,
        410,
    )
    .await;
    assert_eq!(p["type"], "/problems/gone");
    let system = all
        .iter()
        .find(|m| m["author_kind"] == "system")
        .unwrap_or_else(|| panic!("no system message: {msgs}"));
    assert_eq!(system["visibility"], "public");
    assert!(system["body"].as_str().unwrap().contains(name), "{system}");
    let t = json_of(
        d.get(token, &format!("/api/v1/tickets/{number}")).await,
        200,
    )
    .await;
    assert!(
        t["labels"]
            .as_array()
            .unwrap()
            .contains(&json!("security-incident")),
        "{t}"
    );
}

#[tokio::test]
async fn a_csv_with_several_bsns_is_removed_and_the_customer_sees_why() {
    let d = Desk::new().await;
    let org = uuid::Uuid::new_v4().to_string();
    let anna = customer(&d, &org, "anna@gemeente.example", true).await;
    let t = json_of(
        d.create(
            &anna,
            "anna@gemeente.example",
            vec![
                file(
                    "export.csv",
                    "text/csv",
                    SEVERAL_BSNS_CSV.as_bytes().to_vec(),
                ),
                file("scherm.png", "image/png", screenshot()),
            ],
        )
        .await,
        201,
    )
    .await;
    let number = t["number"].as_str().unwrap();
    assert_removed(&d, &anna, number, "export.csv").await;
    assert_removed(&d, &d.token, number, "export.csv").await;
    assert_eq!(
        files_in(&d.dir).len(),
        1,
        "only the screenshot's bytes are stored"
    );
    assert!(
        d.topics()
            .await
            .contains(&"Tickets.SecurityIncident".to_owned())
    );
    let h = json_of(
        d.get(&d.token, &format!("/api/v1/tickets/{number}/history"))
            .await,
        200,
    )
    .await;
    assert!(h.to_string().contains("security-incident"), "{h}");
}

#[tokio::test]
async fn an_xlsx_reply_with_several_bsns_is_removed() {
    let d = Desk::new().await;
    let t = json_of(
        d.create(&d.token, "jan@gemeente.example", vec![]).await,
        201,
    )
    .await;
    let number = t["number"].as_str().unwrap();
    let book = xlsx(&[
        &["Naam", "Burgerservicenummer", "Geboortedatum"],
        &["Jan Jansen", "111222333", "1970-01-01"],
        &["Piet Pietersen", "123456782", "1980-02-02"],
    ]);
    let m = json_of(
        d.post_form(
            &d.token,
            &format!("/api/v1/tickets/{number}/messages"),
            &[
                field("body", "De lijst."),
                file(
                    "lijst.xlsx",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    book,
                ),
            ],
        )
        .await,
        201,
    )
    .await;
    assert!(m["attachments"][0]["removed_reason"].is_string(), "{m}");
    assert_removed(&d, &d.token, number, "lijst.xlsx").await;
    assert!(
        files_in(&d.dir).is_empty(),
        "the spreadsheet was never stored"
    );
}

#[tokio::test]
async fn one_persons_data_in_a_file_labels_light_and_keeps_it() {
    let d = Desk::new().await;
    let text = "Het gaat om de cliënt met BSN 111222333, graag nakijken."
        .as_bytes()
        .to_vec();
    let t = json_of(
        d.create(
            &d.token,
            "jan@gemeente.example",
            vec![file("notitie.txt", "text/plain", text.clone())],
        )
        .await,
        201,
    )
    .await;
    let number = t["number"].as_str().unwrap();
    assert_eq!(t["labels"], json!(["security-incident-light"]), "{t}");
    let msgs = d.messages(&d.token, number).await;
    assert!(
        msgs.as_array()
            .unwrap()
            .iter()
            .all(|m| m["author_kind"] != "system")
    );
    let id = msgs[0]["attachments"][0]["id"].as_str().unwrap();
    let res = d
        .get(
            &d.token,
            &format!("/api/v1/tickets/{number}/attachments/{id}"),
        )
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.bytes().await.unwrap().to_vec(), text);
    assert!(
        d.topics()
            .await
            .contains(&"Tickets.SecurityIncident".to_owned())
    );

    // An HTML file with one person's data is read without its tags.
    let html = b"<html><body><p>BSN:</p><p>123456782</p></body></html>".to_vec();
    let t = json_of(
        d.create(
            &d.token,
            "jan@gemeente.example",
            vec![file("pagina.html", "text/html", html)],
        )
        .await,
        201,
    )
    .await;
    assert_eq!(t["labels"], json!(["security-incident-light"]), "{t}");
}

#[tokio::test]
async fn downloads_are_limited_to_the_customers_own_public_messages_and_tenant() {
    let d = Desk::new().await;
    let org = uuid::Uuid::new_v4().to_string();
    let anna = customer(&d, &org, "anna@gemeente.example", true).await;
    let bob = customer(&d, &org, "bob@gemeente.example", true).await;
    let t = json_of(
        d.create(
            &anna,
            "anna@gemeente.example",
            vec![file("scherm.png", "image/png", screenshot())],
        )
        .await,
        201,
    )
    .await;
    let number = t["number"].as_str().unwrap().to_owned();
    let msgs = d.messages(&anna, &number).await;
    let id = msgs[0]["attachments"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/tickets/{number}/attachments/{id}");
    assert_eq!(d.get(&anna, &path).await.status().as_u16(), 200);
    // A colleague under another address: 404.
    let p = json_of(d.get(&bob, &path).await, 404).await;
    assert_eq!(p["type"], "/problems/not-found");
    // Another tenant: 404.
    let (_, other) = d.app.admin_token("Ander BV").await;
    assert_eq!(d.get(&other, &path).await.status().as_u16(), 404);
    // A file on an internal note is not listed for, nor downloadable by, the customer.
    let note = json_of(
        d.post_form(
            &d.token,
            &format!("/api/v1/tickets/{number}/messages"),
            &[
                field("body", "Intern: zie log."),
                field("visibility", "internal"),
                file("server.log", "text/plain", b"stack trace".to_vec()),
            ],
        )
        .await,
        201,
    )
    .await;
    let note_id = note["attachments"][0]["id"].as_str().unwrap();
    let note_path = format!("/api/v1/tickets/{number}/attachments/{note_id}");
    assert_eq!(d.get(&d.token, &note_path).await.status().as_u16(), 200);
    assert_eq!(d.get(&anna, &note_path).await.status().as_u16(), 404);
    let seen = d.messages(&anna, &number).await;
    assert!(!seen.to_string().contains("server.log"), "{seen}");
    // The same attachment id under another ticket's number: 404.
    let t2 = json_of(d.create(&anna, "anna@gemeente.example", vec![]).await, 201).await;
    let other_path = format!(
        "/api/v1/tickets/{}/attachments/{id}",
        t2["number"].as_str().unwrap()
    );
    assert_eq!(d.get(&anna, &other_path).await.status().as_u16(), 404);
    // A customer may not post an internal note with a file, and nothing is stored then.
    let before = files_in(&d.dir).len();
    let res = d
        .post_form(
            &anna,
            &format!("/api/v1/tickets/{number}/messages"),
            &[
                field("body", "x"),
                field("visibility", "internal"),
                file("a.txt", "text/plain", b"x".to_vec()),
            ],
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert_eq!(
        files_in(&d.dir).len(),
        before,
        "the staged bytes were deleted again"
    );

    // The tracking link lists and serves public attachments.
    let code = "a-known-tracking-code";
    let (n2, hash) = (
        number.clone(),
        loket_common::crypto::sha256_hex(code.as_bytes()),
    );
    d.app
        .state
        .db
        .write(move |c| {
            use diesel::prelude::*;
            use loket_storage::schema::tickets;
            diesel::update(tickets::table.filter(tickets::number.eq(n2)))
                .set(tickets::tracking_code_hash.eq(Some(hash)))
                .execute(c)?;
            Ok(())
        })
        .await
        .unwrap();
    let public = json_of(
        d.app
            .get(&format!("/api/v1/public/tickets/{number}?code={code}"))
            .await,
        200,
    )
    .await;
    assert_eq!(public["messages"][0]["attachments"][0]["id"], id.as_str());
    assert!(!public.to_string().contains("server.log"));
    let res = d
        .app
        .get(&format!(
            "/api/v1/public/tickets/{number}/attachments/{id}?code={code}"
        ))
        .await;
    assert_eq!(res.status().as_u16(), 200);
    let res = d
        .app
        .get(&format!(
            "/api/v1/public/tickets/{number}/attachments/{id}?code=wrong"
        ))
        .await;
    assert_eq!(res.status().as_u16(), 404);
    let res = d
        .app
        .get(&format!(
            "/api/v1/public/tickets/{number}/attachments/{note_id}?code={code}"
        ))
        .await;
    assert_eq!(res.status().as_u16(), 404);
}
