//! `/api/v1/webhooks`: the topic catalogue, receivers, the delivery log, redelivery and test
//! pings. Thin handlers: every rule lives in `loket_webhooks::Webhooks`.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use loket_common::{Page, PageQuery, Problem};
use loket_webhooks::api::{
    Attempt, Delivery, DeliveryDetail, DeliveryFilter, DeliveryStatus, NewReceiver,
    NewReceiverAuth, Receiver, ReceiverAuth, ReceiverChanges, ReceiverWithSecret, WebhookTopic,
};
use loket_webhooks::topics::{RESOURCE_PERMISSIONS, resource};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ArrayItems, ObjectBuilder, Schema, Type};
use utoipa::{Modify, OpenApi};
use uuid::Uuid;

use crate::auth::Caller;
use crate::middleware::idempotency::shown_once;
use crate::problem::ApiResult;
use crate::state::AppState;

/// The webhooks part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        list_topics,
        list_receivers,
        create_receiver,
        get_receiver,
        update_receiver,
        delete_receiver,
        rotate_receiver_secret,
        test_receiver,
        list_deliveries,
        get_delivery,
        redeliver,
    ),
    components(schemas(
        WebhookTopic,
        NewReceiver,
        NewReceiverAuth,
        ReceiverChanges,
        Receiver,
        ReceiverAuth,
        ReceiverWithSecret,
        Page<Receiver>,
        Delivery,
        DeliveryStatus,
        DeliveryDetail,
        Attempt,
        Page<Delivery>,
    )),
    modifiers(&TopicNames),
    tags((name = "webhooks", description = "Push notifications: receivers subscribe to topics \
        and get every matching event their API account may see, signed (Standard Webhooks, \
        WebSub `X-Hub-Signature`) or with an OAuth2 bearer token, retried after 1 h, 2 h, 6 h \
        and 24 h, with a delivery log."))
)]
pub struct WebhooksApi;

/// Documents the accepted topic names (the catalogue and the `Resource.*` wildcards) as an
/// enum, so the schema admits exactly what the server accepts.
struct TopicNames;

impl Modify for TopicNames {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let catalogue = crate::webhooks::catalogue();
        let mut names: Vec<String> = catalogue.topics().iter().map(|t| t.name.clone()).collect();
        let mut resources: Vec<&str> = RESOURCE_PERMISSIONS.iter().map(|(r, _)| *r).collect();
        resources.extend(catalogue.topics().iter().map(|t| resource(&t.name)));
        resources.sort_unstable();
        resources.dedup();
        names.extend(resources.iter().map(|r| format!("{r}.*")));
        let Some(components) = doc.components.as_mut() else {
            return;
        };
        // serde refuses unknown fields in the auth variants too; say so.
        if let Some(RefOr::T(Schema::OneOf(one_of))) = components.schemas.get_mut("NewReceiverAuth")
        {
            for item in &mut one_of.items {
                if let RefOr::T(Schema::Object(obj)) = item {
                    obj.additional_properties =
                        Some(Box::new(AdditionalProperties::FreeForm(false)));
                }
            }
        }
        for schema in ["NewReceiver", "ReceiverChanges"] {
            if let Some(RefOr::T(Schema::Object(obj))) = components.schemas.get_mut(schema)
                && let Some(RefOr::T(Schema::Array(arr))) = obj.properties.get_mut("topics")
            {
                arr.items = ArrayItems::RefOrSchema(Box::new(RefOr::T(Schema::Object(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(names.clone()))
                        .build(),
                ))));
            }
        }
    }
}

/// The topics receivers can subscribe to, each with a description, the permission the
/// receiver's API account needs, and an example body.
#[utoipa::path(get, path = "/api/v1/webhooks/topics", tag = "webhooks",
    security(("oauth2" = ["webhooks:manage"])),
    responses((status = 200, description = "The topic catalogue.", body = Vec<WebhookTopic>)))]
async fn list_topics(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let topics = state.webhooks.topics(&caller)?;
    Ok(HttpResponse::Ok().json(topics))
}

/// The tenant's receivers, oldest first; deleted ones stay listed with `deleted_at`.
#[utoipa::path(get, path = "/api/v1/webhooks/receivers", tag = "webhooks",
    security(("oauth2" = ["webhooks:manage"])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of receivers.", body = Page<Receiver>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_receivers(
    state: web::Data<AppState>,
    caller: Caller,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state.webhooks.list_receivers(&caller, &page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Registers a receiver. Its signing secret is in this answer only: generated unless a
/// `websub` secret is given. The URL must be `https` and public (the operator's allow-list
/// excepted).
#[utoipa::path(post, path = "/api/v1/webhooks/receivers", tag = "webhooks",
    security(("oauth2" = ["webhooks:manage"])),
    request_body = NewReceiver,
    responses(
        (status = 201, description = "The receiver with its signing secret (shown once).",
            body = ReceiverWithSecret,
            headers(("Location" = String, description = "The URL of the new receiver."))),
        (status = 404, description = "`api_account_id` names no API account of the caller's tenant.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_receiver(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewReceiver>,
) -> ApiResult<HttpResponse> {
    let created = state
        .webhooks
        .create_receiver(&caller, body.into_inner())
        .await?;
    Ok(shown_once(
        HttpResponse::Created()
            .insert_header((
                LOCATION,
                format!("/api/v1/webhooks/receivers/{}", created.receiver.id),
            ))
            .json(created),
    ))
}

/// One receiver (without secrets). A deleted receiver answers 404 here, but stays in the list
/// and its log stays readable.
#[utoipa::path(get, path = "/api/v1/webhooks/receivers/{id}", tag = "webhooks",
    security(("oauth2" = ["webhooks:manage"])),
    params(("id" = Uuid, Path, description = "The receiver id.")),
    responses(
        (status = 200, description = "The receiver.", body = Receiver),
    ))]
async fn get_receiver(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let r = state.webhooks.receiver(&caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(r))
}

/// Changes a receiver; only the fields present change (a deleted receiver answers 404). `enabled: true` re-enables a disabled
/// receiver.
#[utoipa::path(patch, path = "/api/v1/webhooks/receivers/{id}", tag = "webhooks",
    security(("oauth2" = ["webhooks:manage"])),
    params(("id" = Uuid, Path, description = "The receiver id.")),
    request_body = ReceiverChanges,
    responses(
        (status = 200, description = "The changed receiver.", body = Receiver),
    ))]
async fn update_receiver(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    body: web::Json<ReceiverChanges>,
) -> ApiResult<HttpResponse> {
    let r = state
        .webhooks
        .update_receiver(&caller, path.into_inner(), body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(r))
}

/// Deletes a receiver: it gets no more deliveries, but stays listed with `deleted_at` and its
/// log stays readable.
#[utoipa::path(delete, path = "/api/v1/webhooks/receivers/{id}", tag = "webhooks",
    security(("oauth2" = ["webhooks:manage"])),
    params(("id" = Uuid, Path, description = "The receiver id.")),
    responses((status = 204, description = "The receiver was deleted.")))]
async fn delete_receiver(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .webhooks
        .delete_receiver(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replaces the signing secret; the new one is in this answer only. The old one stays valid
/// for 24 hours, and meanwhile every delivery carries both signatures.
#[utoipa::path(post, path = "/api/v1/webhooks/receivers/{id}/rotate-secret", tag = "webhooks",
    security(("oauth2" = ["webhooks:manage"])),
    params(("id" = Uuid, Path, description = "The receiver id.")),
    responses(
        (status = 200, description = "The receiver with its new signing secret (shown once).", body = ReceiverWithSecret),
        (status = 409, description = "The receiver is deleted.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn rotate_receiver_secret(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let r = state
        .webhooks
        .rotate_secret(&caller, path.into_inner())
        .await?;
    Ok(shown_once(HttpResponse::Ok().json(r)))
}

/// Sends a `Webhooks.Ping` event to this receiver (whatever its topics).
#[utoipa::path(post, path = "/api/v1/webhooks/receivers/{id}/test", tag = "webhooks",
    security(("oauth2" = ["webhooks:manage"])),
    params(("id" = Uuid, Path, description = "The receiver id.")),
    responses(
        (status = 202, description = "The ping delivery, queued.", body = Delivery),
        (status = 409, description = "The receiver is deleted or disabled.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn test_receiver(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let d = state
        .webhooks
        .test_receiver(&caller, path.into_inner())
        .await?;
    Ok(HttpResponse::Accepted().json(d))
}

/// A receiver's delivery log, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/receivers/{id}/deliveries", tag = "webhooks",
    security(("oauth2" = ["webhooks:manage"])),
    params(("id" = Uuid, Path, description = "The receiver id."), DeliveryFilter, PageQuery),
    responses(
        (status = 200, description = "One page of deliveries.", body = Page<Delivery>),
        (status = 422, description = "`limit` is out of range.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    filter: web::Query<DeliveryFilter>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = state
        .webhooks
        .deliveries(&caller, path.into_inner(), &filter, &page)
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One delivery: the body exactly as sent, and every attempt (time, status code, duration,
/// error).
#[utoipa::path(get, path = "/api/v1/webhooks/deliveries/{id}", tag = "webhooks",
    security(("oauth2" = ["webhooks:manage"])),
    params(("id" = Uuid, Path, description = "The delivery id (the `webhook-id` header).")),
    responses((status = 200, description = "The delivery.", body = DeliveryDetail)))]
async fn get_delivery(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let d = state.webhooks.delivery(&caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(d))
}

/// Queues a new attempt of a delivery now, with the same `webhook-id` and body; a delivery
/// that was given up gets the whole retry schedule again.
#[utoipa::path(post, path = "/api/v1/webhooks/deliveries/{id}/redeliver", tag = "webhooks",
    security(("oauth2" = ["webhooks:manage"])),
    params(("id" = Uuid, Path, description = "The delivery id.")),
    responses(
        (status = 202, description = "The delivery, queued.", body = Delivery),
        (status = 409, description = "The receiver is deleted or disabled, or an attempt is in progress.", body = Problem, content_type = "application/problem+json"),
    ))]
async fn redeliver(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let d = state.webhooks.redeliver(&caller, path.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(d))
}

/// Registers the routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks/topics", web::get().to(list_topics))
        .route("/webhooks/receivers", web::get().to(list_receivers))
        .route("/webhooks/receivers", web::post().to(create_receiver))
        .route("/webhooks/receivers/{id}", web::get().to(get_receiver))
        .route("/webhooks/receivers/{id}", web::patch().to(update_receiver))
        .route(
            "/webhooks/receivers/{id}",
            web::delete().to(delete_receiver),
        )
        .route(
            "/webhooks/receivers/{id}/rotate-secret",
            web::post().to(rotate_receiver_secret),
        )
        .route(
            "/webhooks/receivers/{id}/test",
            web::post().to(test_receiver),
        )
        .route(
            "/webhooks/receivers/{id}/deliveries",
            web::get().to(list_deliveries),
        )
        .route("/webhooks/deliveries/{id}", web::get().to(get_delivery))
        .route(
            "/webhooks/deliveries/{id}/redeliver",
            web::post().to(redeliver),
        );
}
