//! `/api/v1`: employees, staff, trigger rules and tasks (the agenda's shared parts).
//!
//! Thin handlers: extract the caller, the path and the body, call one `AgendaCore` method
//! (which checks the permission and the rules), answer JSON.

use actix_web::dev::Payload;
use actix_web::http::header::LOCATION;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use futures_util::future::LocalBoxFuture;
use loket_agenda_core::api::{
    Employee, EmployeeChanges, NewEmployee, NewStaff, NewTask, NewTriggerRule, ObjectRef,
    ObjectType, Staff, StaffChanges, StaffRole, Task, TaskChanges, TaskFilter, TriggerAction,
    TriggerRule, TriggerRuleChanges,
};
use loket_agenda_core::events::Topic;
use loket_common::{Error, Page, PageQuery, Problem};
use serde::de::DeserializeOwned;
use utoipa::OpenApi;
use uuid::Uuid;

use crate::auth::Caller;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

/// The employees, staff, trigger rules and tasks part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        list_employees,
        create_employee,
        get_employee,
        update_employee,
        delete_employee,
        list_staff,
        create_staff,
        get_staff,
        update_staff,
        delete_staff,
        list_trigger_rules,
        create_trigger_rule,
        get_trigger_rule,
        update_trigger_rule,
        delete_trigger_rule,
        list_tasks,
        create_task,
        get_task,
        update_task,
        delete_task,
    ),
    components(schemas(
        Employee,
        NewEmployee,
        EmployeeChanges,
        Page<Employee>,
        Staff,
        StaffRole,
        NewStaff,
        StaffChanges,
        Page<Staff>,
        Topic,
        TriggerAction,
        TriggerRule,
        NewTriggerRule,
        TriggerRuleChanges,
        Page<TriggerRule>,
        ObjectType,
        ObjectRef,
        Task,
        NewTask,
        TaskChanges,
        Page<Task>,
    )),
    tags((name = "agenda", description = "The occupational-health agenda: employees, staff and their availabilities, consultation types, product parameters, appointments with their procedures and reminders, call requests with automatic planning, trigger rules and tasks."))
)]
pub struct AgendaApi;

/// A JSON request body that must be an object (serde alone would also read a struct from an
/// array, which the documented schemas refuse). Malformed JSON, a wrong content type or an
/// oversized body answer as for `web::Json`; a body of the wrong shape answers 422 naming the
/// field.
pub(crate) struct Body<T>(pub T);

impl<T> Body<T> {
    pub(crate) fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let value = json.await?.into_inner();
            if !value.is_object() {
                return Err(ApiError(Error::invalid("body", "must be a JSON object")).into());
            }
            serde_json::from_value::<T>(value).map(Body).map_err(|e| {
                let msg = e.to_string();
                let name = field_named(&msg).unwrap_or_else(|| "body".to_owned());
                ApiError(Error::invalid(name, msg)).into()
            })
        })
    }
}

/// serde names the offending field in backticks: "missing field `name`", "unknown field `x`".
fn field_named(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    let field = &msg[start..start + len];
    (!field.is_empty()
        && field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.'))
    .then(|| field.to_owned())
}

pub(crate) fn created<T: serde::Serialize>(location: String, body: &T) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((LOCATION, location))
        .json(body)
}

// --- Employees -------------------------------------------------------------------------------

/// The tenant's employees, oldest first.
#[utoipa::path(get, path = "/api/v1/employees", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of employees.", body = Page<Employee>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_employees(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state.agenda.list_employees(&caller, &page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates an employee. Contact fields are returned only to callers with `agenda:read`.
#[utoipa::path(post, path = "/api/v1/employees", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    request_body = NewEmployee,
    responses((status = 201, description = "The new employee.", body = Employee,
        headers(("Location" = String, description = "The URL of the new employee.")))))]
async fn create_employee(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<NewEmployee>,
) -> ApiResult<HttpResponse> {
    let e = state
        .agenda
        .create_employee(&caller, body.into_inner())
        .await?;
    Ok(created(format!("/api/v1/employees/{}", e.id), &e))
}

/// One employee, with contact data.
#[utoipa::path(get, path = "/api/v1/employees/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(("id" = Uuid, Path, description = "The employee id.")),
    responses((status = 200, description = "The employee.", body = Employee)))]
async fn get_employee(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let e = state.agenda.employee(&caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(e))
}

/// Changes an employee; only the fields present change, `null` clears an optional field.
#[utoipa::path(patch, path = "/api/v1/employees/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The employee id.")),
    request_body = EmployeeChanges,
    responses((status = 200, description = "The changed employee.", body = Employee)))]
async fn update_employee(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<EmployeeChanges>,
) -> ApiResult<HttpResponse> {
    let e = state
        .agenda
        .update_employee(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(e))
}

/// Deletes an employee no appointment or call request refers to.
#[utoipa::path(delete, path = "/api/v1/employees/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The employee id.")),
    responses(
        (status = 204, description = "The employee was deleted."),
        (status = 409, description = "Appointments or call requests still refer to the employee.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_employee(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .agenda
        .delete_employee(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// --- Staff -----------------------------------------------------------------------------------

/// The tenant's staff, oldest first.
#[utoipa::path(get, path = "/api/v1/staff", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of staff members.", body = Page<Staff>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_staff(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state.agenda.list_staff(&caller, &page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates a staff member (company doctor, case manager, …).
#[utoipa::path(post, path = "/api/v1/staff", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    request_body = NewStaff,
    responses((status = 201, description = "The new staff member.", body = Staff,
        headers(("Location" = String, description = "The URL of the new staff member.")))))]
async fn create_staff(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<NewStaff>,
) -> ApiResult<HttpResponse> {
    let s = state
        .agenda
        .create_staff(&caller, body.into_inner())
        .await?;
    Ok(created(format!("/api/v1/staff/{}", s.id), &s))
}

/// One staff member.
#[utoipa::path(get, path = "/api/v1/staff/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(("id" = Uuid, Path, description = "The staff member id.")),
    responses((status = 200, description = "The staff member.", body = Staff)))]
async fn get_staff(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let s = state
        .agenda
        .staff_member(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(s))
}

/// Changes a staff member; only the fields present change, `null` clears an optional field.
#[utoipa::path(patch, path = "/api/v1/staff/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The staff member id.")),
    request_body = StaffChanges,
    responses((status = 200, description = "The changed staff member.", body = Staff)))]
async fn update_staff(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<StaffChanges>,
) -> ApiResult<HttpResponse> {
    let s = state
        .agenda
        .update_staff(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(s))
}

/// Deletes a staff member (and their availabilities) no appointment refers to.
#[utoipa::path(delete, path = "/api/v1/staff/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The staff member id.")),
    responses(
        (status = 204, description = "The staff member was deleted."),
        (status = 409, description = "Appointments still refer to the staff member.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_staff(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .agenda
        .delete_staff(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// --- Trigger rules ---------------------------------------------------------------------------

/// The tenant's trigger rules, oldest first.
#[utoipa::path(get, path = "/api/v1/trigger-rules", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of trigger rules.", body = Page<TriggerRule>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_trigger_rules(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state.agenda.list_trigger_rules(&caller, &page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates a trigger rule: when its event happens (e.g. `Appointments.RemindersFailed`), create
/// a task or emit `TriggerRules.Fired` — in the event's own transaction.
#[utoipa::path(post, path = "/api/v1/trigger-rules", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    request_body = NewTriggerRule,
    responses(
        (status = 201, description = "The new trigger rule.", body = TriggerRule,
            headers(("Location" = String, description = "The URL of the new trigger rule."))),
        (status = 404, description = "An id in the body names no user of the tenant.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_trigger_rule(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<NewTriggerRule>,
) -> ApiResult<HttpResponse> {
    let r = state
        .agenda
        .create_trigger_rule(&caller, body.into_inner())
        .await?;
    Ok(created(format!("/api/v1/trigger-rules/{}", r.id), &r))
}

/// One trigger rule.
#[utoipa::path(get, path = "/api/v1/trigger-rules/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(("id" = Uuid, Path, description = "The trigger rule id.")),
    responses((status = 200, description = "The trigger rule.", body = TriggerRule)))]
async fn get_trigger_rule(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let r = state
        .agenda
        .trigger_rule(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(r))
}

/// Changes a trigger rule; only the fields present change.
#[utoipa::path(patch, path = "/api/v1/trigger-rules/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The trigger rule id.")),
    request_body = TriggerRuleChanges,
    responses((status = 200, description = "The changed trigger rule.", body = TriggerRule)))]
async fn update_trigger_rule(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<TriggerRuleChanges>,
) -> ApiResult<HttpResponse> {
    let r = state
        .agenda
        .update_trigger_rule(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(r))
}

/// Deletes a trigger rule (the tasks it created stay).
#[utoipa::path(delete, path = "/api/v1/trigger-rules/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The trigger rule id.")),
    responses((status = 204, description = "The trigger rule was deleted.")))]
async fn delete_trigger_rule(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .agenda
        .delete_trigger_rule(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// --- Tasks -----------------------------------------------------------------------------------

/// The tenant's tasks, oldest first, filtered.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(TaskFilter, PageQuery),
    responses(
        (status = 200, description = "One page of tasks.", body = Page<Task>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_tasks(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<TaskFilter>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state.agenda.list_tasks(&caller, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates a task.
#[utoipa::path(post, path = "/api/v1/tasks", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    request_body = NewTask,
    responses(
        (status = 201, description = "The new task.", body = Task,
            headers(("Location" = String, description = "The URL of the new task."))),
        (status = 404, description = "An id in the body names no user of the tenant.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_task(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<NewTask>,
) -> ApiResult<HttpResponse> {
    let t = state.agenda.create_task(&caller, body.into_inner()).await?;
    Ok(created(format!("/api/v1/tasks/{}", t.id), &t))
}

/// One task.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:read"])),
    params(("id" = Uuid, Path, description = "The task id.")),
    responses((status = 200, description = "The task.", body = Task)))]
async fn get_task(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let t = state.agenda.task(&caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(t))
}

/// Changes a task (e.g. marks it done); only the fields present change.
#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The task id.")),
    request_body = TaskChanges,
    responses((status = 200, description = "The changed task.", body = Task)))]
async fn update_task(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<TaskChanges>,
) -> ApiResult<HttpResponse> {
    let t = state
        .agenda
        .update_task(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(t))
}

/// Deletes a task.
#[utoipa::path(delete, path = "/api/v1/tasks/{id}", tag = "agenda",
    security(("oauth2" = ["agenda:write"])),
    params(("id" = Uuid, Path, description = "The task id.")),
    responses((status = 204, description = "The task was deleted.")))]
async fn delete_task(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state.agenda.delete_task(&caller, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the routes under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/employees", web::get().to(list_employees))
        .route("/employees", web::post().to(create_employee))
        .route("/employees/{id}", web::get().to(get_employee))
        .route("/employees/{id}", web::patch().to(update_employee))
        .route("/employees/{id}", web::delete().to(delete_employee))
        .route("/staff", web::get().to(list_staff))
        .route("/staff", web::post().to(create_staff))
        .route("/staff/{id}", web::get().to(get_staff))
        .route("/staff/{id}", web::patch().to(update_staff))
        .route("/staff/{id}", web::delete().to(delete_staff))
        .route("/trigger-rules", web::get().to(list_trigger_rules))
        .route("/trigger-rules", web::post().to(create_trigger_rule))
        .route("/trigger-rules/{id}", web::get().to(get_trigger_rule))
        .route("/trigger-rules/{id}", web::patch().to(update_trigger_rule))
        .route("/trigger-rules/{id}", web::delete().to(delete_trigger_rule))
        .route("/tasks", web::get().to(list_tasks))
        .route("/tasks", web::post().to(create_task))
        .route("/tasks/{id}", web::get().to(get_task))
        .route("/tasks/{id}", web::patch().to(update_task))
        .route("/tasks/{id}", web::delete().to(delete_task));
}
