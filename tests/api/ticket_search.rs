//! Finding tickets (issue 7 "Search" and SLA): full-text keyword search over subjects and
//! messages (SQLite FTS5 / PostgreSQL tsvector), the `status`/`department`/`open` filters and
//! `?sla=breached`, each scoped to the tenant.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::json_of;
use crate::tickets::Desk;

async fn numbers(d: &Desk, query: &str) -> Vec<String> {
    let page = json_of(
        d.send(Method::GET, &format!("/api/v1/tickets?{query}"), None)
            .await,
        200,
    )
    .await;
    let mut n: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_str().unwrap().to_owned())
        .collect();
    n.sort();
    n
}

fn number(t: &Value) -> String {
    t["number"].as_str().unwrap().to_owned()
}

async fn message(d: &Desk, number: &str, body: &str, visibility: &str) {
    json_of(
        d.send(
            Method::POST,
            &format!("/api/v1/tickets/{number}/messages"),
            Some(json!({ "body": body, "visibility": visibility })),
        )
        .await,
        201,
    )
    .await;
}

#[tokio::test]
async fn keywords_match_subject_and_messages_by_word_prefix_ignoring_case() {
    let d = Desk::new().await;
    let printer = number(
        &d.create("De printer in kamer 4 geeft een papierstoring.")
            .await,
    );
    let agenda = number(
        &d.create("Afspraken verdwijnen uit de agenda na het opslaan.")
            .await,
    );
    message(
        &d,
        &agenda,
        "Gecontroleerd: het betreft de synchronisatie met Outlook.",
        "internal",
    )
    .await;

    // The subject of both is "Printer stuk"; descriptions differ.
    let mut both = vec![printer.clone(), agenda.clone()];
    both.sort();
    assert_eq!(numbers(&d, "q=PRINTER").await, both);
    assert_eq!(
        numbers(&d, "q=papierstor").await,
        [printer.as_str()],
        "prefix match"
    );
    assert_eq!(
        numbers(&d, "q=verdwijnen%20agenda").await,
        [agenda.as_str()],
        "every word"
    );
    assert_eq!(
        numbers(&d, "q=synchronisatie").await,
        [agenda.as_str()],
        "staff search notes"
    );
    assert!(numbers(&d, "q=verdwijnen%20papierstoring").await.is_empty());
    // Operators and punctuation are words or nothing, never a syntax error.
    assert!(numbers(&d, "q=%22%2A%20OR%20NEAR(").await.is_empty());
    assert!(numbers(&d, "q=!!!").await.is_empty());
    // Combined with the other filters.
    assert_eq!(numbers(&d, "q=printer&status=new&open=true").await, both);
    assert!(numbers(&d, "q=printer&status=resolved").await.is_empty());

    // Another tenant's search finds none of them.
    let other = Desk::new().await;
    other
        .create("Ook een printer, maar van een andere leverancier.")
        .await;
    assert_eq!(
        numbers(&other, "q=papierstoring").await,
        Vec::<String>::new()
    );
    assert_eq!(numbers(&other, "q=printer").await.len(), 1);
}

#[tokio::test]
async fn status_department_and_open_filters_select_exactly_their_tickets() {
    let d = Desk::new().await;
    let a = number(&d.create("Eerste").await);
    let b = number(&d.create("Tweede").await);
    json_of(
        d.send(
            Method::PATCH,
            &format!("/api/v1/tickets/{b}"),
            Some(json!({ "department": "develop", "status": "resolved" })),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(numbers(&d, "department=develop").await, [b.as_str()]);
    assert_eq!(numbers(&d, "department=helpdesk").await, [a.as_str()]);
    assert_eq!(numbers(&d, "status=resolved").await, [b.as_str()]);
    assert_eq!(numbers(&d, "open=true").await, [a.as_str()]);
    assert_eq!(numbers(&d, "open=false").await, [b.as_str()]);
    assert_eq!(
        numbers(&d, &format!("number={}", a.to_lowercase())).await,
        [a]
    );
    let bad = d
        .send(Method::GET, "/api/v1/tickets?department=nowhere", None)
        .await;
    assert_eq!(bad.status().as_u16(), 400);
}

#[tokio::test]
async fn sla_breached_lists_tickets_past_a_due_time_without_the_response() {
    let mut d = Desk::new().await;
    let answered = number(&d.create("Wordt beantwoord").await);
    let waiting = number(&d.create("Wacht op antwoord").await);
    assert!(
        numbers(&d, "sla=breached").await.is_empty(),
        "nothing due yet"
    );
    message(&d, &answered, "We kijken ernaar.", "public").await;

    // 25 hours later the first response of `waiting` is overdue; `answered` had its response.
    d.app.clock.advance(chrono::Duration::hours(25));
    let a = d.admin.clone();
    d.token = d.app.login(&a.username, &a.password, &a.totp_secret).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(numbers(&d, "sla=breached").await, [waiting.as_str()]);

    // A severe disruption is due at once.
    let severe = json_of(
        d.send(
            Method::POST,
            "/api/v1/tickets",
            Some(json!({
                "contact_name": "Jan Jansen",
                "contact_email": "jan@gemeente.example",
                "subject": "Alles ligt plat",
                "description": "Niemand kan inloggen.",
                "priority": "disruption",
            })),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(severe["first_response_due"], severe["created_at"]);
    d.app.clock.advance(chrono::Duration::seconds(1));
    let mut expected = vec![waiting.clone(), number(&severe)];
    expected.sort();
    assert_eq!(numbers(&d, "sla=breached").await, expected);

    // A resolved ticket is never breached; an unknown value is refused.
    json_of(
        d.send(
            Method::POST,
            &format!("/api/v1/tickets/{waiting}/resolve"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(numbers(&d, "sla=breached").await, [number(&severe)]);
    let bad = d.send(Method::GET, "/api/v1/tickets?sla=late", None).await;
    assert_eq!(bad.status().as_u16(), 400);
}

/// R-OWN in search: a customer finds only its own tickets, and never through the words of an
/// internal note (that would tell it what staff wrote).
#[tokio::test]
async fn a_customers_search_skips_internal_notes_and_other_reporters_tickets() {
    use crate::customers::{OUTBOX_MAIL, contact, organisation};
    let app = crate::helpers::spawn_app_with(OUTBOX_MAIL).await;
    let (admin, token) = app.admin_token("Zoek BV").await;
    let d = Desk {
        app,
        token,
        tenant: admin.tenant_id,
        admin,
    };
    let org = organisation(&d.app, &d.token, "Gemeente Zoekdorp", None).await;
    let (_, customer) = contact(&d.app, &d.token, &org, "jan@gemeente.example", true).await;
    let mine = number(&d.create("De export naar Excel faalt.").await);
    message(
        &d,
        &mine,
        "Oorzaak: geheimcode in de exportmodule.",
        "internal",
    )
    .await;
    let theirs = json_of(
        d.send(
            Method::POST,
            "/api/v1/tickets",
            Some(json!({
                "contact_name": "Piet",
                "contact_email": "piet@gemeente.example",
                "subject": "Export",
                "description": "Ook bij mij faalt de export.",
            })),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(numbers(&d, "q=geheimcode").await, [mine.as_str()]);
    let mut both = vec![mine.clone(), number(&theirs)];
    both.sort();
    assert_eq!(numbers(&d, "q=export").await, both);

    let as_customer = Desk {
        app: d.app,
        token: customer,
        tenant: d.tenant,
        admin: d.admin,
    };
    assert!(numbers(&as_customer, "q=geheimcode").await.is_empty());
    assert_eq!(numbers(&as_customer, "q=export").await, [mine.as_str()]);
}
