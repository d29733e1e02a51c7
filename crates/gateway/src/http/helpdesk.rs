//! `/api/v1`: the helpdesk around the tickets (issue 9): releases and their notes, consultation
//! meetings, the status page (with its public, unauthenticated read) and the user forum.

use actix_web::http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use actix_web::{HttpRequest, HttpResponse, web};
use loket_common::{Page, PageQuery, Problem};
use loket_helpdesk::api::{
    Category, Component, ComponentChanges, ComponentState, ForumAuthorKind, ForumTopic, Incident,
    IncidentFilter, IncidentKind, IncidentStatus, IncidentUpdate, Meeting, MeetingFilter,
    MeetingKind, ModerationStatus, NewCategory, NewComponent, NewIncident, NewIncidentUpdate,
    NewMeeting, NewPost, NewRelease, NewTopic, Post, PostModeration, PostStatus, Posting,
    PublicComponent, PublicStatus, Release, ReleaseChanges, ReleaseDelivery, ReleaseKind,
    ReleaseNote, ReleaseStatus, StatusQuery, TopicFilter, TopicModeration,
};
use loket_tickets::api::Ticket;
use utoipa::OpenApi;
use uuid::Uuid;

use crate::auth::Caller;
use crate::http::agenda::{Body, created};
use crate::problem::ApiResult;
use crate::state::AppState;

/// The helpdesk part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        list_releases,
        create_release,
        get_release,
        update_release,
        deliver_release,
        release_tickets,
        list_meetings,
        create_meeting,
        delete_meeting,
        list_components,
        create_component,
        update_component,
        list_incidents,
        create_incident,
        get_incident,
        add_incident_update,
        public_status,
        list_categories,
        create_category,
        list_topics,
        create_topic,
        get_topic,
        moderate_topic,
        list_posts,
        create_post,
        moderate_post,
    ),
    components(schemas(
        ReleaseKind,
        ReleaseStatus,
        ReleaseNote,
        Release,
        NewRelease,
        ReleaseChanges,
        ReleaseDelivery,
        Page<Release>,
        MeetingKind,
        Meeting,
        NewMeeting,
        Page<Meeting>,
        ComponentState,
        Component,
        NewComponent,
        ComponentChanges,
        IncidentKind,
        IncidentStatus,
        IncidentUpdate,
        Incident,
        NewIncident,
        NewIncidentUpdate,
        Page<Incident>,
        PublicComponent,
        PublicStatus,
        Posting,
        PostStatus,
        ForumAuthorKind,
        ModerationStatus,
        Category,
        NewCategory,
        ForumTopic,
        NewTopic,
        TopicModeration,
        Page<ForumTopic>,
        Post,
        NewPost,
        PostModeration,
        Page<Post>,
    )),
    tags(
        (name = "releases", description = "Releases of the tenant's product and their notes per culture. Delivering a release moves the tickets planned for it to `delivered` and mails their reporters. Staff write; customers (impersonated customer contacts) read."),
        (name = "meetings", description = "Internal-discussion and functional-consultation meeting dates; tickets in those departments show `next_meeting_at`. Staff write; customers read."),
        (name = "status", description = "The status page of the SaaS service: components, incidents and maintenance windows with timeline updates. Staff write; customers read; `GET /public/status` needs no token."),
        (name = "forum", description = "The user forum. **Shared across tenants on purpose**: it is the vendor's user community, so every tenant's users read every category, topic and published post, and post where the category allows. Authors show by name and kind only. Each category is moderated by the staff of the tenant that hosts it. Posts with personal data are held for moderation. Tickets stay private to their tenant."),
    )
)]
pub struct HelpdeskApi;

// --- Releases --------------------------------------------------------------------------------

/// The tenant's releases, oldest first.
#[utoipa::path(get, path = "/api/v1/releases", tag = "releases",
    security(("oauth2" = ["tickets:read"])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of releases.", body = Page<Release>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_releases(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.helpdesk.list_releases(&caller, &page).await?))
}

/// Creates a planned release (staff).
#[utoipa::path(post, path = "/api/v1/releases", tag = "releases",
    security(("oauth2" = ["tickets:write"])),
    request_body = NewRelease,
    responses(
        (status = 201, description = "The new release.", body = Release,
            headers(("Location" = String, description = "The URL of the new release."))),
        (status = 403, description = "Missing `tickets:write`, or a customer.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The version already exists.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed (e.g. two notes of one culture).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_release(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<NewRelease>,
) -> ApiResult<HttpResponse> {
    let r = state
        .helpdesk
        .create_release(&caller, body.into_inner())
        .await?;
    Ok(created(format!("/api/v1/releases/{}", r.version), &r))
}

/// One release with its notes.
#[utoipa::path(get, path = "/api/v1/releases/{version}", tag = "releases",
    security(("oauth2" = ["tickets:read"])),
    params(("version" = String, Path, description = "The version (`7.4.1`).")),
    responses(
        (status = 200, description = "The release.", body = Release),
        (status = 404, description = "No such release.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_release(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        state
            .helpdesk
            .get_release(&caller, path.into_inner())
            .await?,
    ))
}

/// Changes kind or planned date (while planned) and the notes (staff).
#[utoipa::path(patch, path = "/api/v1/releases/{version}", tag = "releases",
    security(("oauth2" = ["tickets:write"])),
    params(("version" = String, Path, description = "The version.")),
    request_body = ReleaseChanges,
    responses(
        (status = 200, description = "The changed release.", body = Release),
        (status = 403, description = "Customers do not change releases.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such release.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Kind or planned date of a delivered release.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_release(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Body<ReleaseChanges>,
) -> ApiResult<HttpResponse> {
    let r = state
        .helpdesk
        .update_release(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(r))
}

/// Delivers a release, in one transaction: exactly the tenant's tickets in `planned` for this
/// version move to `delivered` (history entry and `Tickets.Update` each), each reporter gets a
/// mail in their language with the release-notes link, and `Releases.Deliver` fires.
#[utoipa::path(post, path = "/api/v1/releases/{version}/deliver", tag = "releases",
    security(("oauth2" = ["tickets:write"])),
    params(("version" = String, Path, description = "The version.")),
    responses(
        (status = 200, description = "The delivered release and the tickets it moved.", body = ReleaseDelivery),
        (status = 403, description = "Customers do not deliver releases.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such release.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The release was already delivered.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn deliver_release(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let d = state
        .helpdesk
        .deliver_release(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(d))
}

/// The tickets a release solves (planned for it or delivered with it); customers see their own.
#[utoipa::path(get, path = "/api/v1/releases/{version}/tickets", tag = "releases",
    security(("oauth2" = ["tickets:read"])),
    params(("version" = String, Path, description = "The version.")),
    responses(
        (status = 200, description = "The tickets, oldest first.", body = Vec<Ticket>),
        (status = 404, description = "No such release.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn release_tickets(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let t = state
        .helpdesk
        .release_tickets(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(t))
}

// --- Meetings --------------------------------------------------------------------------------

/// The tenant's meeting dates, by start time.
#[utoipa::path(get, path = "/api/v1/helpdesk/meetings", tag = "meetings",
    security(("oauth2" = ["tickets:read"])),
    params(MeetingFilter, PageQuery),
    responses(
        (status = 200, description = "One page of meetings.", body = Page<Meeting>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_meetings(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<MeetingFilter>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let m = state
        .helpdesk
        .list_meetings(&caller, &filter, &page)
        .await?;
    Ok(HttpResponse::Ok().json(m))
}

/// Adds a meeting date (staff).
#[utoipa::path(post, path = "/api/v1/helpdesk/meetings", tag = "meetings",
    security(("oauth2" = ["tickets:write"])),
    request_body = NewMeeting,
    responses(
        (status = 201, description = "The meeting.", body = Meeting,
            headers(("Location" = String, description = "The meetings list."))),
        (status = 403, description = "Customers do not plan meetings.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_meeting(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<NewMeeting>,
) -> ApiResult<HttpResponse> {
    let m = state
        .helpdesk
        .create_meeting(&caller, body.into_inner())
        .await?;
    Ok(created("/api/v1/helpdesk/meetings".to_owned(), &m))
}

/// Deletes a meeting date (staff).
#[utoipa::path(delete, path = "/api/v1/helpdesk/meetings/{id}", tag = "meetings",
    security(("oauth2" = ["tickets:write"])),
    params(("id" = Uuid, Path, description = "The meeting id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such meeting.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_meeting(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .helpdesk
        .delete_meeting(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// --- Status page -----------------------------------------------------------------------------

/// The components of the tenant's status page, in page order.
#[utoipa::path(get, path = "/api/v1/status/components", tag = "status",
    security(("oauth2" = ["tickets:read"])),
    responses((status = 200, description = "The components.", body = Vec<Component>)))]
async fn list_components(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.helpdesk.list_components(&caller).await?))
}

/// Adds a component (staff).
#[utoipa::path(post, path = "/api/v1/status/components", tag = "status",
    security(("oauth2" = ["tickets:write"])),
    request_body = NewComponent,
    responses(
        (status = 201, description = "The component.", body = Component,
            headers(("Location" = String, description = "The URL of the component."))),
        (status = 403, description = "Customers do not change the status page.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A component of that name exists.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_component(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<NewComponent>,
) -> ApiResult<HttpResponse> {
    let c = state
        .helpdesk
        .create_component(&caller, body.into_inner())
        .await?;
    Ok(created(format!("/api/v1/status/components/{}", c.id), &c))
}

/// Changes a component: its state, name, description or position (staff).
#[utoipa::path(patch, path = "/api/v1/status/components/{id}", tag = "status",
    security(("oauth2" = ["tickets:write"])),
    params(("id" = Uuid, Path, description = "The component id.")),
    request_body = ComponentChanges,
    responses(
        (status = 200, description = "The changed component.", body = Component),
        (status = 403, description = "Customers do not change the status page.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such component.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A component of that name exists.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_component(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<ComponentChanges>,
) -> ApiResult<HttpResponse> {
    let c = state
        .helpdesk
        .update_component(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(c))
}

/// The tenant's incidents and maintenance windows, newest first, with their timelines.
#[utoipa::path(get, path = "/api/v1/status/incidents", tag = "status",
    security(("oauth2" = ["tickets:read"])),
    params(IncidentFilter, PageQuery),
    responses(
        (status = 200, description = "One page of incidents.", body = Page<Incident>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_incidents(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<IncidentFilter>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let i = state
        .helpdesk
        .list_incidents(&caller, &filter, &page)
        .await?;
    Ok(HttpResponse::Ok().json(i))
}

/// Publishes an incident or a maintenance window with its first timeline entry (staff);
/// `Status.IncidentCreate`.
#[utoipa::path(post, path = "/api/v1/status/incidents", tag = "status",
    security(("oauth2" = ["tickets:write"])),
    request_body = NewIncident,
    responses(
        (status = 201, description = "The incident.", body = Incident,
            headers(("Location" = String, description = "The URL of the incident."))),
        (status = 403, description = "Customers do not change the status page.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed (status not of the kind, window missing or reversed, unknown component).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_incident(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<NewIncident>,
) -> ApiResult<HttpResponse> {
    let i = state
        .helpdesk
        .create_incident(&caller, body.into_inner())
        .await?;
    Ok(created(format!("/api/v1/status/incidents/{}", i.id), &i))
}

/// One incident with its timeline.
#[utoipa::path(get, path = "/api/v1/status/incidents/{id}", tag = "status",
    security(("oauth2" = ["tickets:read"])),
    params(("id" = Uuid, Path, description = "The incident id.")),
    responses(
        (status = 200, description = "The incident.", body = Incident),
        (status = 404, description = "No such incident.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_incident(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        state
            .helpdesk
            .get_incident(&caller, path.into_inner())
            .await?,
    ))
}

/// Adds a timeline entry (staff); `resolved` or `completed` close the incident
/// (`Status.IncidentUpdate`, and `Status.IncidentResolve` when it closes).
#[utoipa::path(post, path = "/api/v1/status/incidents/{id}/updates", tag = "status",
    security(("oauth2" = ["tickets:write"])),
    params(("id" = Uuid, Path, description = "The incident id.")),
    request_body = NewIncidentUpdate,
    responses(
        (status = 201, description = "The incident with the new entry.", body = Incident,
            headers(("Location" = String, description = "The URL of the incident."))),
        (status = 403, description = "Customers do not change the status page.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such incident.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The incident is closed.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The status does not fit the incident's kind.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn add_incident_update(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<NewIncidentUpdate>,
) -> ApiResult<HttpResponse> {
    let i = state
        .helpdesk
        .add_incident_update(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(created(format!("/api/v1/status/incidents/{}", i.id), &i))
}

/// Whether an `If-None-Match` header value matches `etag` (weak comparison, `*` included).
fn none_match(header: &str, etag: &str) -> bool {
    let bare = etag.trim_start_matches("W/");
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == bare)
}

/// The public status page of one tenant, chosen by `?tenant=<slug or id>`: no token needed.
/// Shows only that tenant's display name, components, open incidents, upcoming maintenance and
/// the incidents closed in the last 7 days. Cache-friendly: `ETag` (answer `304` to a matching
/// `If-None-Match`) and `Cache-Control: public, max-age=30`.
#[utoipa::path(get, path = "/api/v1/public/status", tag = "status",
    security(()),
    params(
        StatusQuery,
        ("If-None-Match" = Option<String>, Header, description = "An `ETag` of an earlier answer."),
    ),
    responses(
        (status = 200, description = "The status page.", body = PublicStatus,
            headers(
                ("ETag" = String, description = "Changes whenever the page does."),
                ("Cache-Control" = String, description = "`public, max-age=30`."),
            )),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag.",
            headers(("ETag" = String, description = "The current ETag."))),
        (status = 404, description = "No tenant with that slug or id.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn public_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<StatusQuery>,
) -> ApiResult<HttpResponse> {
    let status = state
        .helpdesk
        .public_status(query.into_inner().tenant)
        .await?;
    let body = serde_json::to_vec(&status).map_err(loket_common::Error::internal)?;
    let hash = loket_common::crypto::sha256_hex(&body);
    let etag = format!("\"{}\"", &hash[..32.min(hash.len())]);
    let cache = "public, max-age=30";
    let matched = req
        .headers()
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|h| none_match(h, &etag));
    if matched {
        return Ok(HttpResponse::NotModified()
            .insert_header((ETAG, etag))
            .insert_header((CACHE_CONTROL, cache))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .insert_header((ETAG, etag))
        .insert_header((CACHE_CONTROL, cache))
        .content_type("application/json")
        .body(body))
}

// --- Forum -----------------------------------------------------------------------------------

/// Every category of the community, of every tenant (the forum is shared across tenants).
#[utoipa::path(get, path = "/api/v1/forum/categories", tag = "forum",
    security(("oauth2" = ["tickets:read"])),
    responses((status = 200, description = "The categories, by name.", body = Vec<Category>)))]
async fn list_categories(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.helpdesk.list_categories(&caller).await?))
}

/// Creates a category hosted and moderated by the caller's tenant (staff); visible to every
/// tenant.
#[utoipa::path(post, path = "/api/v1/forum/categories", tag = "forum",
    security(("oauth2" = ["tickets:write"])),
    request_body = NewCategory,
    responses(
        (status = 201, description = "The category.", body = Category,
            headers(("Location" = String, description = "The topics of the category."))),
        (status = 403, description = "Customers do not create categories.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_category(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<NewCategory>,
) -> ApiResult<HttpResponse> {
    let c = state
        .helpdesk
        .create_category(&caller, body.into_inner())
        .await?;
    Ok(created(
        format!("/api/v1/forum/topics?category_id={}", c.id),
        &c,
    ))
}

/// Topics of every tenant's categories (pinned first, then newest), visible to the caller:
/// published ones, the caller's own held ones, and for moderators every topic of their
/// categories. `q` searches titles and published posts.
#[utoipa::path(get, path = "/api/v1/forum/topics", tag = "forum", operation_id = "list_forum_topics",
    security(("oauth2" = ["tickets:read"])),
    params(TopicFilter, PageQuery),
    responses(
        (status = 200, description = "One page of topics.", body = Page<ForumTopic>),
        (status = 422, description = "`limit` or `q` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_topics(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<TopicFilter>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.helpdesk.list_topics(&caller, &filter, &page).await?))
}

/// Starts a topic with its first post, in any tenant's category that allows the caller to post.
/// A title or post with personal data is held for moderation (`status: held`).
#[utoipa::path(post, path = "/api/v1/forum/categories/{id}/topics", tag = "forum",
    security(("oauth2" = ["tickets:write"])),
    params(("id" = Uuid, Path, description = "The category id.")),
    request_body = NewTopic,
    responses(
        (status = 201, description = "The topic (published or held).", body = ForumTopic,
            headers(("Location" = String, description = "The URL of the topic."))),
        (status = 403, description = "A staff-only category of another tenant, or a customer there.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such category.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_topic(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<NewTopic>,
) -> ApiResult<HttpResponse> {
    let t = state
        .helpdesk
        .create_topic(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(created(format!("/api/v1/forum/topics/{}", t.id), &t))
}

/// One topic.
#[utoipa::path(get, path = "/api/v1/forum/topics/{id}", tag = "forum",
    security(("oauth2" = ["tickets:read"])),
    params(("id" = Uuid, Path, description = "The topic id.")),
    responses(
        (status = 200, description = "The topic.", body = ForumTopic),
        (status = 404, description = "No such topic (or held and not the caller's).", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_topic(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(state.helpdesk.get_topic(&caller, path.into_inner()).await?))
}

/// Moderators (staff of the hosting tenant) lock, pin or mark the answer.
#[utoipa::path(patch, path = "/api/v1/forum/topics/{id}", tag = "forum",
    security(("oauth2" = ["tickets:write"])),
    params(("id" = Uuid, Path, description = "The topic id.")),
    request_body = TopicModeration,
    responses(
        (status = 200, description = "The topic.", body = ForumTopic),
        (status = 403, description = "Not a moderator of this category.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such topic.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`answer_post_id` is not a published post of the topic.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn moderate_topic(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<TopicModeration>,
) -> ApiResult<HttpResponse> {
    let t = state
        .helpdesk
        .moderate_topic(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(t))
}

/// The posts of a topic, oldest first: published ones, the caller's own held ones, and for
/// moderators all.
#[utoipa::path(get, path = "/api/v1/forum/topics/{id}/posts", tag = "forum",
    security(("oauth2" = ["tickets:read"])),
    params(("id" = Uuid, Path, description = "The topic id."), PageQuery),
    responses(
        (status = 200, description = "One page of posts.", body = Page<Post>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such topic.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_posts(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let p = state
        .helpdesk
        .list_posts(&caller, path.into_inner(), &page)
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Replies in a topic; a post with personal data is held for moderation (`status: held`).
#[utoipa::path(post, path = "/api/v1/forum/topics/{id}/posts", tag = "forum",
    security(("oauth2" = ["tickets:write"])),
    params(("id" = Uuid, Path, description = "The topic id.")),
    request_body = NewPost,
    responses(
        (status = 201, description = "The post (published or held).", body = Post,
            headers(("Location" = String, description = "The posts of the topic."))),
        (status = 403, description = "A staff-only category of another tenant.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such topic.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The topic is locked.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_post(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<NewPost>,
) -> ApiResult<HttpResponse> {
    let id = path.into_inner();
    let p = state
        .helpdesk
        .create_post(&caller, id, body.into_inner())
        .await?;
    Ok(created(format!("/api/v1/forum/topics/{id}/posts"), &p))
}

/// Moderators publish (a held or hidden post) or hide a post; the topic follows its first post.
#[utoipa::path(post, path = "/api/v1/forum/posts/{id}/moderate", tag = "forum",
    security(("oauth2" = ["tickets:write"])),
    params(("id" = Uuid, Path, description = "The post id.")),
    request_body = PostModeration,
    responses(
        (status = 200, description = "The post.", body = Post),
        (status = 403, description = "Not a moderator of this category.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such post.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn moderate_post(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Body<PostModeration>,
) -> ApiResult<HttpResponse> {
    let p = state
        .helpdesk
        .moderate_post(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Registers the routes under `/api/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/releases", web::get().to(list_releases))
        .route("/releases", web::post().to(create_release))
        .route("/releases/{version}", web::get().to(get_release))
        .route("/releases/{version}", web::patch().to(update_release))
        .route(
            "/releases/{version}/deliver",
            web::post().to(deliver_release),
        )
        .route(
            "/releases/{version}/tickets",
            web::get().to(release_tickets),
        )
        .route("/helpdesk/meetings", web::get().to(list_meetings))
        .route("/helpdesk/meetings", web::post().to(create_meeting))
        .route("/helpdesk/meetings/{id}", web::delete().to(delete_meeting))
        .route("/status/components", web::get().to(list_components))
        .route("/status/components", web::post().to(create_component))
        .route("/status/components/{id}", web::patch().to(update_component))
        .route("/status/incidents", web::get().to(list_incidents))
        .route("/status/incidents", web::post().to(create_incident))
        .route("/status/incidents/{id}", web::get().to(get_incident))
        .route(
            "/status/incidents/{id}/updates",
            web::post().to(add_incident_update),
        )
        .route("/public/status", web::get().to(public_status))
        .route("/forum/categories", web::get().to(list_categories))
        .route("/forum/categories", web::post().to(create_category))
        .route(
            "/forum/categories/{id}/topics",
            web::post().to(create_topic),
        )
        .route("/forum/topics", web::get().to(list_topics))
        .route("/forum/topics/{id}", web::get().to(get_topic))
        .route("/forum/topics/{id}", web::patch().to(moderate_topic))
        .route("/forum/topics/{id}/posts", web::get().to(list_posts))
        .route("/forum/topics/{id}/posts", web::post().to(create_post))
        .route("/forum/posts/{id}/moderate", web::post().to(moderate_post));
}

#[cfg(test)]
mod tests {
    use super::none_match;

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists_and_star() {
        assert!(none_match("\"a\"", "\"a\""));
        assert!(none_match("W/\"a\"", "\"a\""));
        assert!(none_match("\"x\", \"a\"", "\"a\""));
        assert!(none_match("*", "\"a\""));
        assert!(!none_match("\"b\"", "\"a\""));
    }
}
