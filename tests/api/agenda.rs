//! The agenda over HTTP (DOMAIN.md "Agenda"): every rule's refused case with its status and
//! problem type, the allowed cases, the multi-row operations, the events in the outbox,
//! concurrency, tenant isolation (R-TEN) and the `actions` lists.

use std::collections::HashSet;

use chrono::{DateTime, Duration, DurationRound, Utc};
use reqwest::Response;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, json_of, problem, spawn_app};

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A tenant with a superadmin token.
struct Agenda {
    app: TestApp,
    token: String,
    tenant: Uuid,
}

pub(crate) fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// Midnight UTC `days` from now, plus `hour` hours: a time safely in the future.
pub(crate) fn at(days: i64, hour: i64) -> DateTime<Utc> {
    Utc::now().duration_trunc(Duration::days(1)).unwrap()
        + Duration::days(days)
        + Duration::hours(hour)
}

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Agenda {
    async fn new() -> Agenda {
        let app = spawn_app().await;
        let (admin, token) = app.admin_token("Arbodienst Noord").await;
        Agenda {
            app,
            token,
            tenant: admin.tenant_id,
        }
    }

    /// A second tenant on the same server.
    async fn other_tenant(&self) -> (Uuid, String) {
        let (admin, token) = self.app.admin_token("Arbodienst Zuid").await;
        (admin.tenant_id, token)
    }

    async fn get_as(&self, token: &str, path: &str) -> Response {
        self.app
            .client
            .get(self.app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, path: &str) -> Response {
        self.get_as(&self.token, path).await
    }

    async fn post_as(&self, token: &str, path: &str, body: Value) -> Response {
        self.app
            .client
            .post(self.app.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> Response {
        self.post_as(&self.token, path, body).await
    }

    async fn patch_as(&self, token: &str, path: &str, body: Value) -> Response {
        self.app
            .client
            .patch(self.app.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn patch(&self, path: &str, body: Value) -> Response {
        self.patch_as(&self.token, path, body).await
    }

    async fn put(&self, path: &str, body: Value) -> Response {
        self.app
            .client
            .put(self.app.url(path))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn delete_as(&self, token: &str, path: &str) -> Response {
        self.app
            .client
            .delete(self.app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    async fn delete(&self, path: &str) -> Response {
        self.delete_as(&self.token, path).await
    }

    async fn ok(&self, path: &str) -> Value {
        json_of(self.get(path).await, 200).await
    }

    async fn created(&self, path: &str, body: Value) -> Value {
        json_of(self.post(path, body).await, 201).await
    }

    /// An employee reachable by private e-mail.
    async fn employee(&self) -> Value {
        self.created(
            "/api/v1/employees",
            json!({ "name": "Mevr. J. Jansen", "private_email": "j.jansen@example.org", "employer": "Bouwbedrijf De Vries" }),
        )
        .await
    }

    async fn staff(&self, name: &str) -> Value {
        self.created(
            "/api/v1/staff",
            json!({ "name": name, "role": "company_doctor", "email": "arts@example.org" }),
        )
        .await
    }

    async fn ctype(&self, body: Value) -> Value {
        self.created("/api/v1/consultation-types", body).await
    }

    async fn regular_type(&self) -> Value {
        self.ctype(json!({ "name": "Spreekuur bedrijfsarts", "duration_minutes": 30, "amount_cents": 12500, "billing_code": "SPR-BA" }))
            .await
    }

    async fn no_show_type(&self) -> Value {
        self.ctype(json!({ "name": "No-show", "duration_minutes": 30, "is_no_show": true, "amount_cents": 5000 }))
            .await
    }

    async fn appointment(
        &self,
        employee: &Value,
        staff: &Value,
        ctype: &Value,
        starts: DateTime<Utc>,
    ) -> Value {
        self.created(
            "/api/v1/appointments",
            json!({
                "employee_id": id(employee),
                "staff_id": id(staff),
                "consultation_type_id": id(ctype),
                "starts_at": ts(starts),
                "location": "Kamer 1",
            }),
        )
        .await
    }

    async fn action(&self, appointment: &Value, op: &str) -> Response {
        self.post(
            &format!("/api/v1/appointments/{}/{op}", id(appointment)),
            json!({}),
        )
        .await
    }

    async fn procedures_of(&self, appointment: &Value) -> Vec<Value> {
        self.ok(&format!(
            "/api/v1/procedures?appointment_id={}",
            id(appointment)
        ))
        .await["items"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// The topics of the tenant's outbox events, oldest first.
    async fn topics(&self) -> Vec<String> {
        self.events().await.into_iter().map(|(t, _, _)| t).collect()
    }

    /// The tenant's outbox events: topic, object id, payload.
    async fn events(&self) -> Vec<(String, String, Value)> {
        let tenant = self.tenant;
        self.app
            .state
            .db
            .read(move |c| loket_storage::outbox::list_for_tenant(c, tenant))
            .await
            .unwrap()
            .into_iter()
            .map(|e| {
                (
                    e.topic,
                    e.object_id,
                    serde_json::from_str(&e.payload).unwrap(),
                )
            })
            .collect()
    }

    /// Logs in as a new API account with these permissions.
    async fn account(&self, permissions: Value) -> String {
        let created = self
            .created(
                "/api/v1/api-accounts",
                json!({ "name": "Planner", "permissions": permissions }),
            )
            .await;
        let body = self
            .app
            .login(
                created["username"].as_str().unwrap(),
                created["password"].as_str().unwrap(),
                created["totp_secret"].as_str().unwrap(),
            )
            .await;
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn set_parameter(&self, code: &str, value: Value) -> Value {
        json_of(
            self.put(
                &format!("/api/v1/product-parameters/{code}"),
                json!({ "value": value }),
            )
            .await,
            200,
        )
        .await
    }
}

fn actions(a: &Value) -> Vec<String> {
    a["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// R-CONTACT

/// R-CONTACT: a type that requires contact refuses (422 `contact`) an employee without any
/// e-mail address or mobile number, for appointments and call requests alike; a work address
/// counts as much as a private one.
#[tokio::test]
async fn r_contact_refuses_unreachable_employees_and_counts_work_addresses() {
    let a = Agenda::new().await;
    let staff = a.staff("Dr. A. Bakker").await;
    let kind = a
        .ctype(json!({ "name": "Telefonisch spreekuur", "duration_minutes": 15, "requires_contact": true }))
        .await;
    let unreachable = a
        .created("/api/v1/employees", json!({ "name": "Dhr. P. de Boer" }))
        .await;

    let body = problem(
        a.post(
            "/api/v1/appointments",
            json!({ "employee_id": id(&unreachable), "staff_id": id(&staff), "consultation_type_id": id(&kind), "starts_at": ts(at(3, 9)) }),
        )
        .await,
        422,
        "contact",
    )
    .await;
    assert_eq!(body["invalid_params"][0]["name"], "employee_id");
    problem(
        a.post(
            "/api/v1/call-requests",
            json!({ "employee_id": id(&unreachable), "consultation_type_id": id(&kind) }),
        )
        .await,
        422,
        "contact",
    )
    .await;
    assert!(
        a.topics()
            .await
            .iter()
            .all(|t| !t.starts_with("Appointments") && !t.starts_with("CallRequests"))
    );

    // Either kind counts: a work mobile number is enough.
    a.patch(
        &format!("/api/v1/employees/{}", id(&unreachable)),
        json!({ "work_mobile": "+31612345678" }),
    )
    .await;
    a.appointment(&unreachable, &staff, &kind, at(3, 9)).await;
    a.created(
        "/api/v1/call-requests",
        json!({ "employee_id": id(&unreachable), "consultation_type_id": id(&kind) }),
    )
    .await;
    // A type without the requirement does not ask.
    let plain = a.regular_type().await;
    let nobody = a
        .created("/api/v1/employees", json!({ "name": "Anoniem" }))
        .await;
    a.appointment(&nobody, &staff, &plain, at(3, 11)).await;
}

// ---------------------------------------------------------------------------------------------
// R-NOSHOW-SELECT

/// R-NOSHOW-SELECT: no-show types cannot be chosen for new appointments or call requests (422
/// `noshow-select`), except the default type of the product parameter, for call requests.
#[tokio::test]
async fn r_noshow_select_refuses_no_show_types_except_the_default_for_call_requests() {
    let a = Agenda::new().await;
    let employee = a.employee().await;
    let staff = a.staff("Dr. A. Bakker").await;
    let regular = a.regular_type().await;
    let no_show = a.no_show_type().await;

    let body = problem(
        a.post(
            "/api/v1/appointments",
            json!({ "employee_id": id(&employee), "staff_id": id(&staff), "consultation_type_id": id(&no_show), "starts_at": ts(at(2, 9)) }),
        )
        .await,
        422,
        "noshow-select",
    )
    .await;
    assert_eq!(body["invalid_params"][0]["name"], "consultation_type_id");
    problem(
        a.post(
            "/api/v1/call-requests",
            json!({ "employee_id": id(&employee), "consultation_type_id": id(&no_show) }),
        )
        .await,
        422,
        "noshow-select",
    )
    .await;
    // Changing a planned appointment to a no-show type is choosing it too.
    let appt = a.appointment(&employee, &staff, &regular, at(2, 9)).await;
    problem(
        a.patch(
            &format!("/api/v1/appointments/{}", id(&appt)),
            json!({ "consultation_type_id": id(&no_show) }),
        )
        .await,
        422,
        "noshow-select",
    )
    .await;
    // The planner's list leaves no-show types out.
    let selectable = a.ok("/api/v1/consultation-types?selectable=true").await;
    let names: Vec<_> = selectable["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(names, [id(&regular)]);

    // Without a default, a call request must name its type.
    let body = problem(
        a.post(
            "/api/v1/call-requests",
            json!({ "employee_id": id(&employee) }),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["invalid_params"][0]["name"], "consultation_type_id");

    // The exception: the default-type parameter names the no-show type.
    let p = a
        .set_parameter("Consultation.DefaultConsultationType", json!(id(&no_show)))
        .await;
    assert_eq!(p["value"], id(&no_show));
    let preselected = a
        .created(
            "/api/v1/call-requests",
            json!({ "employee_id": id(&employee) }),
        )
        .await;
    assert_eq!(preselected["consultation_type_id"], id(&no_show));
    a.created(
        "/api/v1/call-requests",
        json!({ "employee_id": id(&employee), "consultation_type_id": id(&no_show) }),
    )
    .await;
    // …but not for appointments, and not for other no-show types.
    problem(
        a.post(
            "/api/v1/appointments",
            json!({ "employee_id": id(&employee), "staff_id": id(&staff), "consultation_type_id": id(&no_show), "starts_at": ts(at(2, 14)) }),
        )
        .await,
        422,
        "noshow-select",
    )
    .await;
    let other_no_show = a
        .ctype(json!({ "name": "No-show 2", "duration_minutes": 15, "is_no_show": true }))
        .await;
    problem(
        a.post(
            "/api/v1/call-requests",
            json!({ "employee_id": id(&employee), "consultation_type_id": id(&other_no_show) }),
        )
        .await,
        422,
        "noshow-select",
    )
    .await;
}

/// R-NOSHOW-SELECT: existing appointments of a no-show type can still be edited, completed and
/// rescheduled.
#[tokio::test]
async fn appointments_of_a_no_show_type_stay_editable_completable_and_reschedulable() {
    let a = Agenda::new().await;
    let employee = a.employee().await;
    let staff = a.staff("Dr. A. Bakker").await;
    let regular = a.regular_type().await;
    let no_show = a.no_show_type().await;
    let appt = a.appointment(&employee, &staff, &regular, at(4, 10)).await;
    let converted = json_of(a.action(&appt, "no-show").await, 200).await;
    assert_eq!(converted["consultation_type_id"], id(&no_show));

    let path = format!("/api/v1/appointments/{}", id(&appt));
    let edited = json_of(
        a.patch(&path, json!({ "notes": "Niet verschenen" })).await,
        200,
    )
    .await;
    assert_eq!(edited["notes"], "Niet verschenen");
    let moved = json_of(
        a.post(
            &format!("{path}/reschedule"),
            json!({ "starts_at": ts(at(5, 10)) }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(moved["starts_at"], ts(at(5, 10)));
    let done = json_of(a.action(&appt, "complete").await, 200).await;
    assert_eq!(done["status"], "completed");
    let procedures = a.procedures_of(&appt).await;
    assert_eq!(procedures.len(), 1);
    assert_eq!(procedures[0]["kind"], "no_show");
    assert_eq!(procedures[0]["amount_cents"], 5000);
}

// ---------------------------------------------------------------------------------------------
// R-COMPLETED-READONLY / -OPEN / -SUBMITTED

/// R-COMPLETED-READONLY: a completed appointment can be neither edited nor marked concept (409).
#[tokio::test]
async fn r_completed_readonly_refuses_edits_and_marking_concept() {
    let a = Agenda::new().await;
    let employee = a.employee().await;
    let staff = a.staff("Dr. A. Bakker").await;
    let kind = a.regular_type().await;
    let _ns = a.no_show_type().await;
    let appt = a.appointment(&employee, &staff, &kind, at(2, 9)).await;
    assert_eq!(
        actions(&appt),
        ["edit", "complete", "reschedule", "no_show", "delete"]
    );
    let path = format!("/api/v1/appointments/{}", id(&appt));
    // Allowed while planned: edit, and mark concept.
    let concept = json_of(a.patch(&path, json!({ "concept": true })).await, 200).await;
    assert_eq!(concept["concept"], true);
    assert!(
        !actions(&concept).contains(&"complete".to_owned()),
        "a concept is not completable"
    );
    problem(a.action(&appt, "complete").await, 409, "invalid-state").await;
    a.patch(&path, json!({ "concept": false })).await;

    let done = json_of(a.action(&appt, "complete").await, 200).await;
    assert_eq!(done["status"], "completed");
    assert!(done["completed_at"].is_string());
    assert_eq!(
        actions(&done),
        ["uncomplete", "reschedule", "no_show", "delete"]
    );
    let body = problem(
        a.patch(&path, json!({ "notes": "x" })).await,
        409,
        "completed-readonly",
    )
    .await;
    assert_eq!(body["status"], 409);
    problem(
        a.patch(&path, json!({ "concept": true })).await,
        409,
        "completed-readonly",
    )
    .await;
    problem(a.action(&appt, "complete").await, 409, "invalid-state").await;
    let unchanged = a.ok(&path).await;
    assert_eq!(unchanged["notes"], Value::Null);
    assert_eq!(unchanged["concept"], false);
}

/// R-COMPLETED-OPEN: a completed appointment whose procedures are all open may be rescheduled
/// (it stays completed, its procedures move, it keeps its id) or deleted (its procedures go
/// too); it cannot be marked lapsed (409 `completed-open`).
#[tokio::test]
async fn r_completed_open_allows_reschedule_and_delete_with_their_procedures() {
    let a = Agenda::new().await;
    let employee = a.employee().await;
    let staff = a.staff("Dr. A. Bakker").await;
    let kind = a.regular_type().await;
    let appt = a.appointment(&employee, &staff, &kind, at(2, 9)).await;
    a.action(&appt, "complete").await;
    let procedures = a.procedures_of(&appt).await;
    assert_eq!(procedures.len(), 1);
    let procedure = &procedures[0];
    assert_eq!(procedure["status"], "open");
    assert_eq!(procedure["kind"], "consultation");
    assert_eq!(procedure["amount_cents"], 12500);
    assert_eq!(procedure["billing_code"], "SPR-BA");
    assert_eq!(procedure["performed_at"], ts(at(2, 9)));

    let body = problem(
        a.post(
            &format!("/api/v1/appointments/{}/lapse", id(&appt)),
            json!({ "reason": "x" }),
        )
        .await,
        409,
        "completed-open",
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("R-COMPLETED-OPEN")
    );

    let moved = json_of(
        a.post(
            &format!("/api/v1/appointments/{}/reschedule", id(&appt)),
            json!({ "starts_at": ts(at(6, 13)) }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(moved["id"], appt["id"], "the appointment keeps its id");
    assert_eq!(moved["status"], "completed");
    assert_eq!(moved["starts_at"], ts(at(6, 13)));
    assert_eq!(moved["ends_at"], ts(at(6, 13) + Duration::minutes(30)));
    let after = a.ok(&format!("/api/v1/procedures/{}", id(procedure))).await;
    assert_eq!(
        after["performed_at"],
        ts(at(6, 13)),
        "the procedure moved along"
    );
    assert_eq!(after["status"], "open");

    assert_eq!(
        a.delete(&format!("/api/v1/appointments/{}", id(&appt)))
            .await
            .status(),
        204
    );
    problem(
        a.get(&format!("/api/v1/appointments/{}", id(&appt))).await,
        404,
        "not-found",
    )
    .await;
    problem(
        a.get(&format!("/api/v1/procedures/{}", id(procedure)))
            .await,
        404,
        "not-found",
    )
    .await;
    let topics = a.topics().await;
    let tail: Vec<&str> = topics.iter().rev().take(2).map(String::as_str).collect();
    assert_eq!(tail, ["Appointments.Delete", "Procedures.Delete"]);
    assert!(topics.contains(&"Procedures.Update".to_owned()));
}

/// R-COMPLETED-SUBMITTED: once a procedure is submitted, delete, reschedule, un-complete and
/// no-show are refused (409 `completed-submitted`); lapse (with a reason) marks it and writes
/// the refund procedure, in one transaction.
#[tokio::test]
async fn r_completed_submitted_leaves_only_lapse_which_writes_the_refund() {
    let a = Agenda::new().await;
    let employee = a.employee().await;
    let staff = a.staff("Dr. A. Bakker").await;
    let kind = a.regular_type().await;
    let _ns = a.no_show_type().await;
    let appt = a.appointment(&employee, &staff, &kind, at(2, 9)).await;
    a.action(&appt, "complete").await;
    let procedure = a.procedures_of(&appt).await[0].clone();
    let submitted = json_of(
        a.post(
            &format!("/api/v1/procedures/{}/submit", id(&procedure)),
            json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(submitted["status"], "submitted");
    problem(
        a.post(
            &format!("/api/v1/procedures/{}/submit", id(&procedure)),
            json!({}),
        )
        .await,
        409,
        "invalid-state",
    )
    .await;

    let path = format!("/api/v1/appointments/{}", id(&appt));
    let now = a.ok(&path).await;
    assert_eq!(actions(&now), ["lapse"]);
    problem(a.delete(&path).await, 409, "completed-submitted").await;
    problem(
        a.post(
            &format!("{path}/reschedule"),
            json!({ "starts_at": ts(at(3, 9)) }),
        )
        .await,
        409,
        "completed-submitted",
    )
    .await;
    problem(
        a.action(&appt, "uncomplete").await,
        409,
        "completed-submitted",
    )
    .await;
    problem(a.action(&appt, "no-show").await, 409, "completed-submitted").await;
    problem(
        a.patch(&path, json!({ "notes": "x" })).await,
        409,
        "completed-readonly",
    )
    .await;

    // Lapse needs a reason.
    let body = problem(
        a.post(&format!("{path}/lapse"), json!({ "reason": "   " }))
            .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["invalid_params"][0]["name"], "reason");
    problem(
        a.post(&format!("{path}/lapse"), json!({})).await,
        422,
        "validation-failed",
    )
    .await;

    let lapsed = json_of(
        a.post(
            &format!("{path}/lapse"),
            json!({ "reason": "Werknemer uit dienst" }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(lapsed["status"], "lapsed");
    assert_eq!(lapsed["lapse_reason"], "Werknemer uit dienst");
    assert!(actions(&lapsed).is_empty());
    let all = a.procedures_of(&appt).await;
    assert_eq!(all.len(), 2);
    let refund = all.iter().find(|p| p["kind"] == "refund").unwrap();
    assert_eq!(refund["amount_cents"], -12500);
    assert_eq!(refund["reason"], "Werknemer uit dienst");
    assert_eq!(refund["refund_of"], procedure["id"]);
    assert_eq!(refund["status"], "open");
    // A lapsed appointment is final.
    problem(
        a.post(&format!("{path}/lapse"), json!({ "reason": "again" }))
            .await,
        409,
        "invalid-state",
    )
    .await;
    problem(a.delete(&path).await, 409, "invalid-state").await;

    let topics = a.topics().await;
    let tail: Vec<&str> = topics.iter().rev().take(2).map(String::as_str).collect();
    assert_eq!(tail, ["Procedures.Create", "Appointments.Lapse"]);
    assert!(topics.contains(&"Procedures.Submit".to_owned()));
}

/// Un-completing deletes the open procedure; completing again writes a new one.
#[tokio::test]
async fn uncomplete_deletes_the_open_procedure() {
    let a = Agenda::new().await;
    let employee = a.employee().await;
    let staff = a.staff("Dr. A. Bakker").await;
    let kind = a.regular_type().await;
    let appt = a.appointment(&employee, &staff, &kind, at(2, 9)).await;
    problem(a.action(&appt, "uncomplete").await, 409, "invalid-state").await;
    a.action(&appt, "complete").await;
    let first = a.procedures_of(&appt).await;
    let planned = json_of(a.action(&appt, "uncomplete").await, 200).await;
    assert_eq!(planned["status"], "planned");
    assert_eq!(planned["completed_at"], Value::Null);
    assert!(a.procedures_of(&appt).await.is_empty());
    a.action(&appt, "complete").await;
    let second = a.procedures_of(&appt).await;
    assert_eq!(second.len(), 1);
    assert_ne!(second[0]["id"], first[0]["id"]);
}

// ---------------------------------------------------------------------------------------------
// No-show processing and R-NOSHOW-UNDO

/// A booked appointment gets the status `planned` request back in `open` on no-show, and undo
/// restores the type, the procedure (same id) and the call request.
#[tokio::test]
async fn no_show_swaps_type_and_procedure_reopens_the_call_request_and_undo_restores_all() {
    let a = Agenda::new().await;
    let employee = a.employee().await;
    let staff = a.staff("Dr. A. Bakker").await;
    let kind = a.regular_type().await;
    let no_show = a.no_show_type().await;
    let availability = a
        .created(
            &format!("/api/v1/staff/{}/availabilities", id(&staff)),
            json!({ "starts_at": ts(at(3, 8)), "ends_at": ts(at(3, 12)), "location": "Kamer 1" }),
        )
        .await;
    let request = a
        .created(
            "/api/v1/call-requests",
            json!({ "employee_id": id(&employee), "consultation_type_id": id(&kind), "reason": "Verzuim" }),
        )
        .await;
    let booked = a
        .created(
            &format!("/api/v1/call-requests/{}/book", id(&request)),
            json!({ "availability_id": id(&availability), "starts_at": ts(at(3, 9)) }),
        )
        .await;
    let appt = booked["appointment"].clone();
    assert_eq!(booked["call_request"]["status"], "planned");
    assert_eq!(booked["call_request"]["appointment_id"], appt["id"]);
    assert_eq!(appt["call_request_id"], request["id"]);
    a.action(&appt, "complete").await;
    let original = a.procedures_of(&appt).await[0].clone();

    let converted = json_of(a.action(&appt, "no-show").await, 200).await;
    assert_eq!(converted["consultation_type_id"], id(&no_show));
    assert_eq!(
        converted["no_show"]["original_consultation_type_id"],
        id(&kind)
    );
    assert_eq!(converted["no_show"]["completed"], false);
    assert!(actions(&converted).contains(&"undo_no_show".to_owned()));
    assert!(!actions(&converted).contains(&"no_show".to_owned()));
    let procedures = a.procedures_of(&appt).await;
    assert_eq!(procedures.len(), 1, "the open procedure was replaced");
    assert_eq!(procedures[0]["kind"], "no_show");
    assert_eq!(procedures[0]["consultation_type_id"], id(&no_show));
    assert_eq!(procedures[0]["amount_cents"], 5000);
    let reopened = a
        .ok(&format!("/api/v1/call-requests/{}", id(&request)))
        .await;
    assert_eq!(reopened["status"], "open");
    problem(a.action(&appt, "no-show").await, 409, "invalid-state").await;

    let restored = json_of(a.action(&appt, "undo-no-show").await, 200).await;
    assert_eq!(restored["consultation_type_id"], id(&kind));
    assert_eq!(restored["status"], "completed");
    assert_eq!(restored["no_show"], Value::Null);
    let procedures = a.procedures_of(&appt).await;
    assert_eq!(procedures.len(), 1);
    assert_eq!(
        procedures[0], original,
        "the original procedure is back as it was"
    );
    let replanned = a
        .ok(&format!("/api/v1/call-requests/{}", id(&request)))
        .await;
    assert_eq!(replanned["status"], "planned");
    assert_eq!(replanned["appointment_id"], appt["id"]);
    problem(a.action(&appt, "undo-no-show").await, 409, "invalid-state").await;

    let topics = a.topics().await;
    assert!(topics.contains(&"Appointments.NoShow".to_owned()));
    assert!(topics.contains(&"CallRequests.Plan".to_owned()));
    assert_eq!(
        topics
            .iter()
            .filter(|t| *t == "CallRequests.Update")
            .count(),
        2,
        "re-opened by the no-show, planned again by the undo"
    );
}

/// Deleting a booked appointment re-opens its call request; an undo after the request was
/// planned again is refused (409) and changes nothing.
#[tokio::test]
async fn call_requests_follow_their_appointments() {
    let a = Agenda::new().await;
    let employee = a.employee().await;
    let staff = a.staff("Dr. A. Bakker").await;
    let kind = a.regular_type().await;
    let no_show = a.no_show_type().await;
    let availability = a
        .created(
            &format!("/api/v1/staff/{}/availabilities", id(&staff)),
            json!({ "starts_at": ts(at(3, 8)), "ends_at": ts(at(3, 12)) }),
        )
        .await;
    let request = a
        .created(
            "/api/v1/call-requests",
            json!({ "employee_id": id(&employee), "consultation_type_id": id(&kind) }),
        )
        .await;
    let book = |start: DateTime<Utc>| {
        let path = format!("/api/v1/call-requests/{}/book", id(&request));
        let body = json!({ "availability_id": id(&availability), "starts_at": ts(start) });
        let a = &a;
        async move { json_of(a.post(&path, body).await, 201).await }
    };
    let first = book(at(3, 8)).await["appointment"].clone();
    assert_eq!(
        a.delete(&format!("/api/v1/appointments/{}", id(&first)))
            .await
            .status(),
        204
    );
    let reopened = a
        .ok(&format!("/api/v1/call-requests/{}", id(&request)))
        .await;
    assert_eq!(reopened["status"], "open");
    assert_eq!(reopened["appointment_id"], Value::Null);

    let second = book(at(3, 9)).await["appointment"].clone();
    json_of(a.action(&second, "no-show").await, 200).await;
    let third = book(at(3, 10)).await["appointment"].clone();
    let body = problem(a.action(&second, "undo-no-show").await, 409, "conflict").await;
    assert!(body["detail"].as_str().unwrap().contains("planned again"));
    let unchanged = a.ok(&format!("/api/v1/appointments/{}", id(&second))).await;
    assert_eq!(unchanged["consultation_type_id"], id(&no_show));
    assert!(unchanged["no_show"].is_object());
    let planned = a
        .ok(&format!("/api/v1/call-requests/{}", id(&request)))
        .await;
    assert_eq!(planned["appointment_id"], third["id"]);
}

/// R-NOSHOW-UNDO: once the no-show consultation is completed the undo is refused (409
/// `noshow-undo`) and no longer offered; un-completing it makes it possible again.
#[tokio::test]
async fn r_noshow_undo_is_refused_once_the_no_show_is_completed() {
    let a = Agenda::new().await;
    let employee = a.employee().await;
    let staff = a.staff("Dr. A. Bakker").await;
    let kind = a.regular_type().await;
    let explicit = a.no_show_type().await;
    let appt = a.appointment(&employee, &staff, &kind, at(2, 9)).await;
    // Only a no-show type may be given.
    problem(
        a.post(
            &format!("/api/v1/appointments/{}/no-show", id(&appt)),
            json!({ "consultation_type_id": id(&kind) }),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    let converted = json_of(
        a.post(
            &format!("/api/v1/appointments/{}/no-show", id(&appt)),
            json!({ "consultation_type_id": id(&explicit) }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(converted["status"], "planned");
    assert!(
        a.procedures_of(&appt).await.is_empty(),
        "nothing to bill until it is completed"
    );

    let done = json_of(a.action(&appt, "complete").await, 200).await;
    assert_eq!(done["no_show"]["completed"], true);
    assert!(!actions(&done).contains(&"undo_no_show".to_owned()));
    let body = problem(a.action(&appt, "undo-no-show").await, 409, "noshow-undo").await;
    assert!(body["detail"].as_str().unwrap().contains("R-NOSHOW-UNDO"));
    let still = a.ok(&format!("/api/v1/appointments/{}", id(&appt))).await;
    assert_eq!(still["consultation_type_id"], id(&explicit));

    a.action(&appt, "uncomplete").await;
    let restored = json_of(a.action(&appt, "undo-no-show").await, 200).await;
    assert_eq!(restored["consultation_type_id"], id(&kind));
    assert_eq!(restored["status"], "planned");
}

/// No-show needs a no-show type: without one the action is not offered and is refused.
#[tokio::test]
async fn no_show_without_a_no_show_type_is_refused() {
    let a = Agenda::new().await;
    let employee = a.employee().await;
    let staff = a.staff("Dr. A. Bakker").await;
    let kind = a.regular_type().await;
    let appt = a.appointment(&employee, &staff, &kind, at(2, 9)).await;
    assert!(!actions(&appt).contains(&"no_show".to_owned()));
    problem(a.action(&appt, "no-show").await, 409, "invalid-state").await;
}

// ---------------------------------------------------------------------------------------------
// Double booking

/// An appointment overlapping another of the same staff member is refused (409
/// `double-booking`), created directly, rescheduled, edited or booked from a call request.
#[tokio::test]
async fn double_bookings_are_refused_on_every_path() {
    let a = Agenda::new().await;
    let employee = a.employee().await;
    let staff = a.staff("Dr. A. Bakker").await;
    let other = a.staff("Dr. B. Smit").await;
    let kind = a.regular_type().await;
    let first = a.appointment(&employee, &staff, &kind, at(2, 9)).await;

    let overlapping = json!({
        "employee_id": id(&employee), "staff_id": id(&staff), "consultation_type_id": id(&kind),
        "starts_at": ts(at(2, 9) + Duration::minutes(15)),
    });
    problem(
        a.post("/api/v1/appointments", overlapping).await,
        409,
        "double-booking",
    )
    .await;
    // Back to back is fine, and another staff member at the same time too.
    let second = a
        .appointment(&employee, &staff, &kind, at(2, 9) + Duration::minutes(30))
        .await;
    a.appointment(&employee, &other, &kind, at(2, 9)).await;

    problem(
        a.post(
            &format!("/api/v1/appointments/{}/reschedule", id(&second)),
            json!({ "starts_at": ts(at(2, 9) + Duration::minutes(10)) }),
        )
        .await,
        409,
        "double-booking",
    )
    .await;
    problem(
        a.patch(
            &format!("/api/v1/appointments/{}", id(&second)),
            json!({ "starts_at": ts(at(2, 9)) }),
        )
        .await,
        409,
        "double-booking",
    )
    .await;
    // Rescheduling onto its own time is no conflict with itself.
    json_of(
        a.post(
            &format!("/api/v1/appointments/{}/reschedule", id(&first)),
            json!({ "starts_at": ts(at(2, 9) - Duration::minutes(10)) }),
        )
        .await,
        200,
    )
    .await;

    // Booking a taken slot from a call request: refused, and nothing of the booking remains.
    let availability = a
        .created(
            &format!("/api/v1/staff/{}/availabilities", id(&staff)),
            json!({ "starts_at": ts(at(2, 8)), "ends_at": ts(at(2, 12)) }),
        )
        .await;
    let request = a
        .created(
            "/api/v1/call-requests",
            json!({ "employee_id": id(&employee), "consultation_type_id": id(&kind) }),
        )
        .await;
    let events_before = a.topics().await.len();
    problem(
        a.post(
            &format!("/api/v1/call-requests/{}/book", id(&request)),
            json!({ "availability_id": id(&availability), "starts_at": ts(at(2, 9)) }),
        )
        .await,
        409,
        "double-booking",
    )
    .await;
    let unchanged = a
        .ok(&format!("/api/v1/call-requests/{}", id(&request)))
        .await;
    assert_eq!(unchanged["status"], "open");
    assert_eq!(unchanged["appointment_id"], Value::Null);
    assert_eq!(
        a.topics().await.len(),
        events_before,
        "a refused booking emits nothing"
    );
}

/// Concurrent requests for one slot: exactly one wins, the others get 409 — directly and when
/// booking call requests (run on SQLite and PostgreSQL).
#[tokio::test]
async fn concurrent_bookings_of_one_slot_book_exactly_once() {
    let a = Agenda::new().await;
    let employee = a.employee().await;
    let staff = a.staff("Dr. A. Bakker").await;
    let kind = a.regular_type().await;
    let body = json!({
        "employee_id": id(&employee), "staff_id": id(&staff), "consultation_type_id": id(&kind),
        "starts_at": ts(at(2, 9)),
    });
    let attempts = (0..8).map(|i| {
        let mut b = body.clone();
        // Different but overlapping starts.
        b["starts_at"] = json!(ts(at(2, 9) + Duration::minutes(i)));
        a.post("/api/v1/appointments", b)
    });
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );

    let availability = a
        .created(
            &format!("/api/v1/staff/{}/availabilities", id(&staff)),
            json!({ "starts_at": ts(at(3, 8)), "ends_at": ts(at(3, 12)) }),
        )
        .await;
    let mut requests = Vec::new();
    for _ in 0..6 {
        requests.push(
            a.created(
                "/api/v1/call-requests",
                json!({ "employee_id": id(&employee), "consultation_type_id": id(&kind) }),
            )
            .await,
        );
    }
    let bookings = requests.iter().map(|r| {
        let path = format!("/api/v1/call-requests/{}/book", id(r));
        let body = json!({ "availability_id": id(&availability), "starts_at": ts(at(3, 9)) });
        let a = &a;
        async move { a.post(&path, body).await }
    });
    let statuses: Vec<u16> = futures_util::future::join_all(bookings)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        5,
        "{statuses:?}"
    );
    let list = a
        .ok(&format!(
            "/api/v1/appointments?staff_id={}&from={}&to={}",
            id(&staff),
            ts(at(3, 0)),
            ts(at(4, 0))
        ))
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let planned = a.ok("/api/v1/call-requests?status=planned").await;
    assert_eq!(planned["items"].as_array().unwrap().len(), 1);

    // The same request booked twice at once: one booking.
    let request = a
        .created(
            "/api/v1/call-requests",
            json!({ "employee_id": id(&employee), "consultation_type_id": id(&kind) }),
        )
        .await;
    let twice = (0..4).map(|i| {
        let path = format!("/api/v1/call-requests/{}/book", id(&request));
        let body = json!({ "availability_id": id(&availability), "starts_at": ts(at(3, 10) + Duration::minutes(30 * i)) });
        let a = &a;
        async move { a.post(&path, body).await }
    });
    let statuses: Vec<u16> = futures_util::future::join_all(twice)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Save and plan, booking, reminders, trigger rules

/// "Save and plan" needs `agenda:autoplan` (403) and the product parameter (409
/// `autoplan-disabled`); refused requests save nothing. With both it answers the matching free
/// slots, or a warning when none match (the request stays open).
#[tokio::test]
async fn save_and_plan_needs_the_permission_and_the_parameter_and_returns_slots() {
    let a = Agenda::new().await;
    let employee = a.employee().await;
    let staff = a.staff("Dr. A. Bakker").await;
    let kind = a.regular_type().await;
    let other_kind = a
        .ctype(json!({ "name": "Preventief medisch onderzoek", "duration_minutes": 60 }))
        .await;
    let new = json!({ "employee_id": id(&employee), "consultation_type_id": id(&kind), "deadline": ts(at(10, 0)) });

    let planner = a.account(json!(["agenda:read", "agenda:write"])).await;
    let body = problem(
        a.post_as(&planner, "/api/v1/call-requests?plan=true", new.clone())
            .await,
        403,
        "forbidden",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("agenda:autoplan"));
    problem(
        a.post("/api/v1/call-requests?plan=true", new.clone()).await,
        409,
        "autoplan-disabled",
    )
    .await;
    assert!(
        a.ok("/api/v1/call-requests").await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let p = a
        .ok("/api/v1/product-parameters/CalculateAvailabilitiesForAppointmentRequest")
        .await;
    assert_eq!(p["value"], 0);
    assert_eq!(p["updated_at"], Value::Null);
    assert_eq!(p["value_type"], "flag");
    let all = a.ok("/api/v1/product-parameters").await;
    let codes: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "CalculateAvailabilitiesForAppointmentRequest",
            "Consultation.DefaultConsultationType"
        ]
    );
    // `null` resets a flag to its default.
    a.set_parameter("CalculateAvailabilitiesForAppointmentRequest", json!(1))
        .await;
    let reset = a
        .set_parameter("CalculateAvailabilitiesForAppointmentRequest", Value::Null)
        .await;
    assert_eq!(reset["value"], 0);
    a.set_parameter("CalculateAvailabilitiesForAppointmentRequest", json!(1))
        .await;
    problem(
        a.put(
            "/api/v1/product-parameters/CalculateAvailabilitiesForAppointmentRequest",
            json!({ "value": 2 }),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;

    // Nothing available yet: a warning, and the request is saved and open.
    let saved = a
        .created("/api/v1/call-requests?plan=true", new.clone())
        .await;
    assert_eq!(saved["status"], "open");
    assert_eq!(saved["planning"]["availabilities"], json!([]));
    assert!(
        saved["planning"]["warning"]
            .as_str()
            .unwrap()
            .contains("No availabilities")
    );
    // Without plan=true there is no planning.
    let plain = a.created("/api/v1/call-requests", new.clone()).await;
    assert_eq!(plain["planning"], Value::Null);

    // An availability for the type, one for another type only, one after the deadline.
    let fits = a
        .created(
            &format!("/api/v1/staff/{}/availabilities", id(&staff)),
            json!({ "starts_at": ts(at(3, 9)), "ends_at": ts(at(3, 10)), "location": "Kamer 1", "consultation_type_ids": [id(&kind)] }),
        )
        .await;
    a.created(
        &format!("/api/v1/staff/{}/availabilities", id(&staff)),
        json!({ "starts_at": ts(at(4, 9)), "ends_at": ts(at(4, 12)), "consultation_type_ids": [id(&other_kind)] }),
    )
    .await;
    a.created(
        &format!("/api/v1/staff/{}/availabilities", id(&staff)),
        json!({ "starts_at": ts(at(12, 9)), "ends_at": ts(at(12, 12)) }),
    )
    .await;
    // An existing appointment takes the first half hour.
    a.appointment(&employee, &staff, &kind, at(3, 9)).await;

    let saved = a
        .created("/api/v1/call-requests?plan=true", new.clone())
        .await;
    let slots = saved["planning"]["availabilities"].as_array().unwrap();
    assert_eq!(saved["planning"]["warning"], Value::Null);
    assert_eq!(slots.len(), 1, "{slots:?}");
    assert_eq!(slots[0]["availability_id"], fits["id"]);
    assert_eq!(slots[0]["staff_id"], staff["id"]);
    assert_eq!(slots[0]["staff_name"], "Dr. A. Bakker");
    assert_eq!(slots[0]["starts_at"], ts(at(3, 9) + Duration::minutes(30)));
    assert_eq!(slots[0]["ends_at"], ts(at(3, 10)));
    // The same answer on request.
    let again = a
        .ok(&format!(
            "/api/v1/call-requests/{}/availabilities",
            saved["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(again["availabilities"], saved["planning"]["availabilities"]);
    problem(
        a.get_as(
            &planner,
            &format!(
                "/api/v1/call-requests/{}/availabilities",
                saved["id"].as_str().unwrap()
            ),
        )
        .await,
        403,
        "forbidden",
    )
    .await;

    // Book the slot: appointment, reminders, request planned — and the slot is gone.
    let booked = a
        .created(
            &format!(
                "/api/v1/call-requests/{}/book",
                saved["id"].as_str().unwrap()
            ),
            json!({ "availability_id": id(&fits), "starts_at": slots[0]["starts_at"] }),
        )
        .await;
    assert_eq!(booked["appointment"]["location"], "Kamer 1");
    assert_eq!(booked["call_request"]["status"], "planned");
    let after = a
        .created("/api/v1/call-requests?plan=true", new.clone())
        .await;
    assert_eq!(after["planning"]["availabilities"], json!([]));
    // Outside the availability: refused, naming the field.
    let body = problem(
        a.post(
            &format!("/api/v1/call-requests/{}/book", id(&after)),
            json!({ "availability_id": id(&fits), "starts_at": ts(at(3, 9) + Duration::minutes(45)) }),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["invalid_params"][0]["name"], "starts_at");
    // A planned request cannot be booked, changed or cancelled.
    let planned = format!("/api/v1/call-requests/{}", saved["id"].as_str().unwrap());
    problem(
        a.post(
            &format!("{planned}/book"),
            json!({ "availability_id": id(&fits), "starts_at": ts(at(3, 9)) }),
        )
        .await,
        409,
        "invalid-state",
    )
    .await;
    problem(
        a.patch(&planned, json!({ "reason": "x" })).await,
        409,
        "invalid-state",
    )
    .await;
    problem(
        a.post(&format!("{planned}/cancel"), json!({})).await,
        409,
        "invalid-state",
    )
    .await;
    let cancelled = json_of(
        a.post(
            &format!("/api/v1/call-requests/{}/cancel", id(&after)),
            json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
}

/// Booking adds the type's default reminders; one the employee has no address for cannot be
/// created: the appointment is booked all the same, `Appointments.RemindersFailed` fires and a
/// trigger rule on it creates its task — in the booking's transaction.
#[tokio::test]
async fn failed_reminders_fire_the_trigger_event_and_a_rule_creates_a_task() {
    let a = Agenda::new().await;
    let employee = a.employee().await; // e-mail, no mobile
    let staff = a.staff("Dr. A. Bakker").await;
    let kind = a
        .ctype(json!({
            "name": "Spreekuur", "duration_minutes": 30,
            "default_reminders": [
                { "minutes_before": 1440, "channel": "email", "recipient": "employee" },
                { "minutes_before": 60, "channel": "sms", "recipient": "employee" },
                { "minutes_before": 30, "channel": "email", "recipient": "staff" },
            ],
        }))
        .await;
    let user = a
        .created(
            "/api/v1/users",
            json!({ "name": "Planner", "email": "planner@example.org" }),
        )
        .await;
    // A rule for another tenant's user is refused like an unknown one.
    problem(
        a.post(
            "/api/v1/trigger-rules",
            json!({ "name": "x", "event": "Appointments.RemindersFailed", "action": { "type": "create_task", "title": "x", "assignee_user_id": Uuid::now_v7() } }),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    problem(
        a.post(
            "/api/v1/trigger-rules",
            json!({ "name": "x", "event": "TriggerRules.Fired", "action": { "type": "emit_topic" } }),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    let rule = a
        .created(
            "/api/v1/trigger-rules",
            json!({
                "name": "Reminders mislukt: werknemer contacteren",
                "event": "Appointments.RemindersFailed",
                "action": { "type": "create_task", "title": "Contact the employee", "assignee_user_id": id(&user), "due_in_days": 1 },
            }),
        )
        .await;
    a.created(
        "/api/v1/trigger-rules",
        json!({ "name": "Doorgeven", "event": "Appointments.RemindersFailed", "action": { "type": "emit_topic" } }),
    )
    .await;
    let availability = a
        .created(
            &format!("/api/v1/staff/{}/availabilities", id(&staff)),
            json!({ "starts_at": ts(at(5, 8)), "ends_at": ts(at(5, 12)) }),
        )
        .await;
    let request = a
        .created(
            "/api/v1/call-requests",
            json!({ "employee_id": id(&employee), "consultation_type_id": id(&kind) }),
        )
        .await;
    let booked = a
        .created(
            &format!("/api/v1/call-requests/{}/book", id(&request)),
            json!({ "availability_id": id(&availability), "starts_at": ts(at(5, 9)) }),
        )
        .await;
    let appt = &booked["appointment"];
    assert_eq!(appt["status"], "planned");

    let reminders = a
        .ok(&format!("/api/v1/appointments/{}/reminders", id(appt)))
        .await;
    let reminders = reminders.as_array().unwrap();
    assert_eq!(reminders.len(), 2, "{reminders:?}");
    assert_eq!(reminders[0]["minutes_before"], 1440);
    assert_eq!(reminders[0]["address"], "j.jansen@example.org");
    assert_eq!(reminders[0]["send_at"], ts(at(4, 9)));
    assert_eq!(reminders[0]["status"], "pending");
    assert_eq!(reminders[1]["recipient"], "staff");
    assert_eq!(reminders[1]["address"], "arts@example.org");

    let events = a.events().await;
    let failed = events
        .iter()
        .find(|(t, _, _)| t == "Appointments.RemindersFailed")
        .expect("RemindersFailed fired");
    assert_eq!(failed.1, id(appt));
    assert_eq!(failed.2["failures"][0]["channel"], "sms");
    assert_eq!(
        failed.2["failures"][0]["reason"],
        "the employee has no mobile number"
    );
    let fired = events
        .iter()
        .find(|(t, _, _)| t == "TriggerRules.Fired")
        .expect("the emit_topic rule fired");
    assert_eq!(fired.2["event"], "Appointments.RemindersFailed");

    let tasks = a.ok(&format!("/api/v1/tasks?object_id={}", id(appt))).await;
    let tasks = tasks["items"].as_array().unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["title"], "Contact the employee");
    assert_eq!(tasks[0]["assignee_user_id"], user["id"]);
    assert_eq!(
        tasks[0]["object"],
        json!({ "type": "appointment", "id": id(appt) })
    );
    assert_eq!(tasks[0]["trigger_rule_id"], rule["id"]);
    assert_eq!(tasks[0]["done"], false);
    let done = json_of(
        a.patch(
            &format!("/api/v1/tasks/{}", id(&tasks[0])),
            json!({ "done": true }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(done["done"], true);

    // Rescheduling moves the reminders along.
    a.post(
        &format!("/api/v1/appointments/{}/reschedule", id(appt)),
        json!({ "starts_at": ts(at(5, 10)) }),
    )
    .await;
    let moved = a
        .ok(&format!("/api/v1/appointments/{}/reminders", id(appt)))
        .await;
    assert_eq!(moved[0]["send_at"], ts(at(4, 10)));

    // An inactive rule does nothing; a direct appointment gets reminders too.
    a.patch(
        &format!("/api/v1/trigger-rules/{}", id(&rule)),
        json!({ "active": false }),
    )
    .await;
    a.appointment(&employee, &staff, &kind, at(6, 9)).await;
    let tasks = a.ok("/api/v1/tasks").await;
    assert_eq!(tasks["items"].as_array().unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Events

/// Every operation emits its event from the domain layer; an appointment keeps its id across
/// reschedules, and the event payload is its representation.
#[tokio::test]
async fn every_change_emits_its_event_and_reschedules_keep_the_id() {
    let a = Agenda::new().await;
    let employee = a.employee().await;
    let staff = a.staff("Dr. A. Bakker").await;
    let kind = a.regular_type().await;
    let appt = a.appointment(&employee, &staff, &kind, at(2, 9)).await;
    let path = format!("/api/v1/appointments/{}", id(&appt));
    a.patch(&path, json!({ "notes": "Eerste consult" })).await;
    let moved = json_of(
        a.post(
            &format!("{path}/reschedule"),
            json!({ "starts_at": ts(at(2, 11)) }),
        )
        .await,
        200,
    )
    .await;
    a.action(&appt, "complete").await;
    let request = a
        .created(
            "/api/v1/call-requests",
            json!({ "employee_id": id(&employee), "consultation_type_id": id(&kind) }),
        )
        .await;
    a.patch(
        &format!("/api/v1/call-requests/{}", id(&request)),
        json!({ "reason": "Herstel" }),
    )
    .await;

    let events = a.events().await;
    let topics: Vec<&str> = events
        .iter()
        .map(|(t, _, _)| t.as_str())
        .filter(|t| !t.starts_with("Accounts."))
        .collect();
    assert_eq!(
        topics,
        [
            "Employees.Create",
            "ConsultationTypes.Create",
            "Appointments.Create",
            "Appointments.Update",
            "Appointments.Update",
            "Appointments.Complete",
            "Procedures.Create",
            "CallRequests.Create",
            "CallRequests.Update",
        ]
    );
    let appointment_events: Vec<&(String, String, Value)> = events
        .iter()
        .filter(|(t, _, _)| t.starts_with("Appointments."))
        .collect();
    assert!(appointment_events.iter().all(|(_, o, _)| *o == id(&appt)));
    let reschedule = &appointment_events[2].2;
    assert_eq!(reschedule["starts_at"], moved["starts_at"]);
    assert_eq!(reschedule["id"], appt["id"]);
}

// ---------------------------------------------------------------------------------------------
// R-TEN, permissions, validation

/// R-TEN: another tenant's ids answer 404 on every operation, also as references in bodies.
#[tokio::test]
async fn r_ten_other_tenants_ids_answer_404() {
    let a = Agenda::new().await;
    let employee = a.employee().await;
    let staff = a.staff("Dr. A. Bakker").await;
    let kind = a.regular_type().await;
    let appt = a.appointment(&employee, &staff, &kind, at(2, 9)).await;
    a.action(&appt, "complete").await;
    let procedure = a.procedures_of(&appt).await[0].clone();
    let request = a
        .created(
            "/api/v1/call-requests",
            json!({ "employee_id": id(&employee), "consultation_type_id": id(&kind) }),
        )
        .await;
    let availability = a
        .created(
            &format!("/api/v1/staff/{}/availabilities", id(&staff)),
            json!({ "starts_at": ts(at(3, 8)), "ends_at": ts(at(3, 12)) }),
        )
        .await;
    let task = a
        .created("/api/v1/tasks", json!({ "title": "Bellen" }))
        .await;

    let (_, other) = a.other_tenant().await;
    for path in [
        format!("/api/v1/employees/{}", id(&employee)),
        format!("/api/v1/staff/{}", id(&staff)),
        format!("/api/v1/staff/{}/availabilities", id(&staff)),
        format!(
            "/api/v1/staff/{}/availabilities/{}",
            id(&staff),
            id(&availability)
        ),
        format!("/api/v1/staff/{}/calendar.ics", id(&staff)),
        format!("/api/v1/consultation-types/{}", id(&kind)),
        format!("/api/v1/appointments/{}", id(&appt)),
        format!("/api/v1/appointments/{}/reminders", id(&appt)),
        format!("/api/v1/procedures/{}", id(&procedure)),
        format!("/api/v1/call-requests/{}", id(&request)),
        format!("/api/v1/tasks/{}", id(&task)),
    ] {
        problem(a.get_as(&other, &path).await, 404, "not-found").await;
    }
    for op in ["complete", "uncomplete", "no-show", "undo-no-show"] {
        problem(
            a.post_as(
                &other,
                &format!("/api/v1/appointments/{}/{op}", id(&appt)),
                json!({}),
            )
            .await,
            404,
            "not-found",
        )
        .await;
    }
    problem(
        a.post_as(
            &other,
            &format!("/api/v1/appointments/{}/lapse", id(&appt)),
            json!({ "reason": "x" }),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    problem(
        a.post_as(
            &other,
            &format!("/api/v1/procedures/{}/submit", id(&procedure)),
            json!({}),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    problem(
        a.patch_as(
            &other,
            &format!("/api/v1/appointments/{}", id(&appt)),
            json!({ "notes": "x" }),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    problem(
        a.delete_as(&other, &format!("/api/v1/appointments/{}", id(&appt)))
            .await,
        404,
        "not-found",
    )
    .await;
    problem(
        a.delete_as(&other, &format!("/api/v1/employees/{}", id(&employee)))
            .await,
        404,
        "not-found",
    )
    .await;
    problem(
        a.post_as(
            &other,
            &format!("/api/v1/call-requests/{}/book", id(&request)),
            json!({ "availability_id": id(&availability), "starts_at": ts(at(3, 9)) }),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    // References to another tenant's objects in a body.
    let other_staff = json_of(
        a.post_as(
            &other,
            "/api/v1/staff",
            json!({ "name": "Dr. Z", "role": "other" }),
        )
        .await,
        201,
    )
    .await;
    problem(
        a.post_as(
            &other,
            "/api/v1/appointments",
            json!({ "employee_id": id(&employee), "staff_id": id(&other_staff), "consultation_type_id": id(&kind), "starts_at": ts(at(2, 9)) }),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    // The other tenant's lists are empty, and nothing was changed.
    let list = json_of(a.get_as(&other, "/api/v1/appointments").await, 200).await;
    assert_eq!(list["items"], json!([]));
    assert_eq!(
        a.ok(&format!("/api/v1/appointments/{}", id(&appt))).await["notes"],
        Value::Null
    );
}

/// R-AUTHZ: reading needs `agenda:read`, changing `agenda:write`; contact data is shown only to
/// callers holding `agenda:read`.
#[tokio::test]
async fn permissions_are_checked_and_contact_data_needs_agenda_read() {
    let a = Agenda::new().await;
    let reader = a.account(json!(["agenda:read"])).await;
    let writer = a.account(json!(["agenda:write"])).await;
    problem(
        a.post_as(&reader, "/api/v1/employees", json!({ "name": "X" }))
            .await,
        403,
        "forbidden",
    )
    .await;
    let created = json_of(
        a.post_as(
            &writer,
            "/api/v1/employees",
            json!({ "name": "Mevr. K. Visser", "private_email": "k@example.org", "work_mobile": "0612345678" }),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["name"], "Mevr. K. Visser");
    assert_eq!(
        created["private_email"],
        Value::Null,
        "no agenda:read, no contact data"
    );
    assert_eq!(created["work_mobile"], Value::Null);
    problem(
        a.get_as(&writer, "/api/v1/employees").await,
        403,
        "forbidden",
    )
    .await;
    let read = json_of(
        a.get_as(&reader, &format!("/api/v1/employees/{}", id(&created)))
            .await,
        200,
    )
    .await;
    assert_eq!(read["private_email"], "k@example.org");
    assert_eq!(read["work_mobile"], "0612345678");
    problem(
        a.get_as(&writer, "/api/v1/appointments").await,
        403,
        "forbidden",
    )
    .await;
    problem(
        a.delete_as(&reader, &format!("/api/v1/employees/{}", id(&created)))
            .await,
        403,
        "forbidden",
    )
    .await;
}

/// Validation answers 422 naming each field.
#[tokio::test]
async fn invalid_input_is_refused_naming_the_fields() {
    let a = Agenda::new().await;
    let body = problem(
        a.post(
            "/api/v1/employees",
            json!({ "name": " ", "private_email": "not-an-address", "work_mobile": "06-12", "language": "dutch" }),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    let names: HashSet<&str> = body["invalid_params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        HashSet::from(["name", "private_email", "work_mobile", "language"])
    );
    let body = problem(
        a.post(
            "/api/v1/consultation-types",
            json!({ "name": "X", "duration_minutes": 1 }),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["invalid_params"][0]["name"], "duration_minutes");
    problem(
        a.post(
            "/api/v1/consultation-types",
            json!({ "name": "X", "duration_minutes": 30, "colour": "red" }),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;

    let employee = a.employee().await;
    let staff = a.staff("Dr. A. Bakker").await;
    let kind = a.regular_type().await;
    let body = problem(
        a.post(
            "/api/v1/appointments",
            json!({ "employee_id": id(&employee), "staff_id": id(&staff), "consultation_type_id": id(&kind), "starts_at": ts(at(2, 9)), "ends_at": ts(at(2, 8)) }),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["invalid_params"][0]["name"], "ends_at");
    problem(
        a.post(
            "/api/v1/appointments",
            json!({ "employee_id": id(&employee), "staff_id": id(&staff), "consultation_type_id": id(&kind), "starts_at": "tomorrow" }),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    // A body must be an object, even where every field is optional.
    let body = problem(
        a.patch(
            &format!("/api/v1/employees/{}", id(&employee)),
            json!([null, null]),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(body["invalid_params"][0]["name"], "body");
    // Integral numbers written as floats are integers, as in JSON Schema.
    let t = a
        .ctype(json!({ "name": "Kort", "duration_minutes": 15.0, "amount_cents": 100.0 }))
        .await;
    assert_eq!(t["duration_minutes"], 15);
    problem(
        a.post(
            "/api/v1/consultation-types",
            json!({ "name": "X", "duration_minutes": 15.5 }),
        )
        .await,
        422,
        "validation-failed",
    )
    .await;
    problem(
        a.get("/api/v1/appointments?from=yesterday").await,
        400,
        "malformed-request",
    )
    .await;
    problem(
        a.get("/api/v1/appointments?limit=0").await,
        422,
        "validation-failed",
    )
    .await;
    problem(
        a.get("/api/v1/product-parameters/Unknown").await,
        404,
        "not-found",
    )
    .await;
    // Deleting what appointments still use is a conflict.
    a.appointment(&employee, &staff, &kind, at(2, 9)).await;
    problem(
        a.delete(&format!("/api/v1/employees/{}", id(&employee)))
            .await,
        409,
        "conflict",
    )
    .await;
    problem(
        a.delete(&format!("/api/v1/staff/{}", id(&staff))).await,
        409,
        "conflict",
    )
    .await;
    problem(
        a.delete(&format!("/api/v1/consultation-types/{}", id(&kind)))
            .await,
        409,
        "conflict",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Listing and the calendar

/// `GET /appointments?from=&to=` lists a date range by start time, page by page.
#[tokio::test]
async fn appointments_list_a_date_range_page_by_page() {
    let a = Agenda::new().await;
    let employee = a.employee().await;
    let staff = a.staff("Dr. A. Bakker").await;
    let kind = a.regular_type().await;
    let mut ids = Vec::new();
    for day in [2, 3, 4, 5, 9] {
        for hour in [9, 10] {
            ids.push(id(&a
                .appointment(&employee, &staff, &kind, at(day, hour))
                .await));
        }
    }
    let range = format!("from={}&to={}", ts(at(3, 0)), ts(at(6, 0)));
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/appointments?{range}&limit=4&cursor={c}"),
            None => format!("/api/v1/appointments?{range}&limit=4"),
        };
        let page = a.ok(&path).await;
        seen.extend(page["items"].as_array().unwrap().iter().map(id));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ids[2..8].to_vec(), "days 3 to 5, by start");
    let completed = a.ok("/api/v1/appointments?status=completed").await;
    assert_eq!(completed["items"], json!([]));
}

/// The staff calendar is RFC 5545 iCalendar.
#[tokio::test]
async fn staff_calendar_is_icalendar() {
    let a = Agenda::new().await;
    let employee = a.employee().await;
    let staff = a.staff("Dr. A. Bakker").await;
    let kind = a.regular_type().await;
    let appt = a.appointment(&employee, &staff, &kind, at(2, 9)).await;
    let res = a
        .get(&format!("/api/v1/staff/{}/calendar.ics", id(&staff)))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let body = res.text().await.unwrap();
    assert!(
        body.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"),
        "{body}"
    );
    assert!(
        body.contains(&format!("UID:{}@127.0.0.1\r\n", id(&appt))),
        "{body}"
    );
    assert!(
        body.contains("SUMMARY:Spreekuur bedrijfsarts: Mevr. J. Jansen\r\n"),
        "{body}"
    );
    assert!(body.contains("LOCATION:Kamer 1\r\n"));
    assert!(body.contains(&format!(
        "DTSTART:{}\r\n",
        at(2, 9).format("%Y%m%dT%H%M%SZ")
    )));
    assert!(body.ends_with("END:VCALENDAR\r\n"));
}

// ---------------------------------------------------------------------------------------------
// Benchmark (ignored by default: `make bench`)

/// Lists one week out of 10,000 appointments (20 staff members, one year) and prints the time
/// the server spends (median and p95 of the service call, and of the whole HTTP round trip).
#[tokio::test]
#[ignore = "benchmark; run with `make bench`"]
async fn bench_list_one_week_of_10000_appointments() {
    use diesel::prelude::*;
    use loket_storage::schema::appointments;

    let a = Agenda::new().await;
    let employee = a.employee().await;
    let kind = a.regular_type().await;
    let mut staff = Vec::new();
    for i in 0..20 {
        staff.push(id(&a.staff(&format!("Arts {i}")).await));
    }
    let tenant = a.tenant.to_string();
    let (employee_id, kind_id) = (id(&employee), id(&kind));
    let start = at(1, 0);
    a.app
        .state
        .db
        .write(move |c| {
            let now = Utc::now().naive_utc();
            let mut rows = Vec::new();
            for n in 0..10_000i64 {
                // 10,000 half-hour appointments over 364 days: ~192 a week.
                let starts = start + Duration::minutes(n * 52);
                let s = staff[(n % 20) as usize].clone();
                rows.push((
                    appointments::id.eq(Uuid::now_v7().to_string()),
                    appointments::tenant_id.eq(tenant.clone()),
                    appointments::employee_id.eq(employee_id.clone()),
                    appointments::staff_id.eq(s),
                    appointments::consultation_type_id.eq(kind_id.clone()),
                    appointments::starts_at.eq(starts.naive_utc()),
                    appointments::ends_at.eq((starts + Duration::minutes(30)).naive_utc()),
                    appointments::concept.eq(false),
                    appointments::status.eq("planned"),
                    appointments::created_at.eq(now),
                    appointments::updated_at.eq(now),
                ));
            }
            // One statement per row: diesel's multi-backend connection has no batch insert.
            for row in rows {
                diesel::insert_into(appointments::table)
                    .values(row)
                    .execute(c)?;
            }
            Ok(())
        })
        .await
        .unwrap();

    let from = at(100, 0);
    let to = from + Duration::days(7);
    let filter = loket_appointments::api::AppointmentFilter {
        from: Some(from),
        to: Some(to),
        ..Default::default()
    };
    let page = loket_common::PageQuery {
        limit: Some(200),
        cursor: None,
    };
    let principal = a.app.state.accounts.authenticate(&a.token).await.unwrap();
    let mut service = Vec::new();
    let mut http = Vec::new();
    let mut count = 0;
    for i in 0..120 {
        let t = std::time::Instant::now();
        let p = a
            .app
            .state
            .appointments
            .list(&principal, &filter, &page)
            .await
            .unwrap();
        let d = t.elapsed();
        count = p.items.len();
        let t = std::time::Instant::now();
        let res = a
            .get(&format!(
                "/api/v1/appointments?from={}&to={}&limit=200",
                ts(from),
                ts(to)
            ))
            .await;
        assert_eq!(res.status(), 200);
        let _ = res.bytes().await.unwrap();
        let h = t.elapsed();
        if i >= 20 {
            service.push(d);
            http.push(h);
        }
    }
    service.sort();
    http.sort();
    let pct = |v: &[std::time::Duration], p: usize| v[v.len() * p / 100].as_secs_f64() * 1000.0;
    println!(
        "bench agenda: one week ({count} of 10,000 appointments, {:?} backend): server {:.2} ms median, {:.2} ms p95; HTTP round trip {:.2} ms median, {:.2} ms p95 (target < 5 ms)",
        loket_storage::testing::backend_from_env(),
        pct(&service, 50),
        pct(&service, 95),
        pct(&http, 50),
        pct(&http, 95),
    );
    assert!(count > 100, "{count}");
}
