//! The receivers API and the delivery log: every rule of the webhooks that a caller can
//! trigger. Each method checks `webhooks:manage` and confines itself to the caller's tenant
//! (R-TEN: other tenants' ids answer 404).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use loket_common::validate::Validator;
use loket_common::{Code, Error, Page, PageQuery, Permission, Principal, Result, ids, time};
use loket_storage::AnyConnection;
use loket_storage::schema::{webhook_attempts, webhook_deliveries, webhook_receivers};
use serde_json::json;
use uuid::Uuid;

use crate::api::{
    Delivery, DeliveryDetail, DeliveryFilter, DeliveryStatus, NewReceiver, NewReceiverAuth,
    Receiver, ReceiverChanges, ReceiverWithSecret, WebhookTopic,
};
use crate::model::{
    AttemptRow, DeliveryRow, NewDelivery, PROTOCOL_OAUTH2, PROTOCOL_WEBSUB, ReceiverRow,
    client_secret_context, secret_context,
};
use crate::topics::{Requirement, WEBHOOKS_PING, required_permission};
use crate::{AccountDirectory, Webhooks, event_body, signing};

/// Longest receiver name.
pub const NAME_MAX: usize = 200;
/// Longest URL.
pub const URL_MAX: usize = 2000;
/// Most topics per receiver.
pub const TOPICS_MAX: usize = 100;

/// Validated authentication settings, ready to store.
enum AuthPlan {
    Websub {
        secret: Option<String>,
    },
    Oauth2 {
        token_url: String,
        client_id: String,
        client_secret: String,
        scope: Option<String>,
    },
}

fn check_optional_text(v: &mut Validator, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        v.fail(field, format!("must be at most {max} characters"));
    } else if value.chars().any(char::is_control) {
        v.fail(field, "must not contain control characters");
    }
}

impl Webhooks {
    fn check_url(&self, v: &mut Validator, field: &str, url: &str) {
        if url.len() > URL_MAX {
            v.fail(field, format!("must be at most {URL_MAX} characters"));
        } else if let Err(reason) = self.inner.guard.check(url) {
            v.fail(field, reason);
        }
    }

    fn check_topics(&self, v: &mut Validator, topics: &[String]) -> Vec<String> {
        if topics.is_empty() {
            v.fail("topics", "must name at least one topic");
        }
        if topics.len() > TOPICS_MAX {
            v.fail("topics", format!("must name at most {TOPICS_MAX} topics"));
        }
        let mut out: Vec<String> = Vec::new();
        for t in topics {
            match self.inner.catalogue.check_subscription(t) {
                Ok(()) if !out.contains(t) => out.push(t.clone()),
                Ok(()) => {}
                Err(reason) => v.fail("topics", reason),
            }
        }
        out
    }

    fn check_auth(&self, v: &mut Validator, auth: Option<NewReceiverAuth>) -> AuthPlan {
        match auth {
            None => AuthPlan::Websub { secret: None },
            Some(NewReceiverAuth::Websub { secret }) => {
                if let Some(s) = &secret
                    && let Err(reason) = signing::secret_key_bytes(s)
                {
                    v.fail("auth.secret", reason);
                }
                AuthPlan::Websub { secret }
            }
            Some(NewReceiverAuth::Oauth2 {
                token_url,
                client_id,
                client_secret,
                scope,
            }) => {
                self.check_url(v, "auth.token_url", &token_url);
                v.text("auth.client_id", &client_id, 500);
                if client_secret.is_empty() {
                    v.fail("auth.client_secret", "must not be empty");
                }
                check_optional_text(v, "auth.client_secret", &client_secret, 2000);
                if let Some(s) = &scope {
                    check_optional_text(v, "auth.scope", s, 1000);
                }
                AuthPlan::Oauth2 {
                    token_url,
                    client_id: client_id.trim().to_owned(),
                    client_secret,
                    scope: scope.filter(|s| !s.trim().is_empty()),
                }
            }
        }
    }

    /// The topic catalogue with descriptions and example bodies.
    pub fn topics(&self, p: &Principal) -> Result<Vec<WebhookTopic>> {
        p.require(Permission::WebhooksManage)?;
        let example_time = DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        Ok(self
            .inner
            .catalogue
            .topics()
            .iter()
            .map(|t| {
                let body = event_body(
                    "0192f0c4-7d1e-7c39-9a53-2b1f0e6c1a99",
                    &t.name,
                    "0192f0c4-0000-7000-8000-000000000001",
                    example_time,
                    &t.example.to_string(),
                );
                WebhookTopic {
                    name: t.name.clone(),
                    description: t.description.clone(),
                    permission: match required_permission(&t.name) {
                        Requirement::Permission(p) => Some(p.as_str().to_owned()),
                        _ => None,
                    },
                    example: serde_json::from_str(&body).unwrap_or_default(),
                }
            })
            .collect())
    }

    /// Registers a receiver. The signing secret is in this answer only.
    pub async fn create_receiver(
        &self,
        p: &Principal,
        new: NewReceiver,
    ) -> Result<ReceiverWithSecret> {
        p.require(Permission::WebhooksManage)?;
        let mut v = Validator::new();
        v.text("name", &new.name, NAME_MAX);
        self.check_url(&mut v, "url", &new.url);
        let topics = self.check_topics(&mut v, &new.topics);
        let auth = self.check_auth(&mut v, new.auth);
        v.finish()?;
        let id = ids::new_id().to_string();
        let (secret, oauth) = match auth {
            AuthPlan::Websub { secret } => (secret.unwrap_or_else(signing::generate_secret), None),
            AuthPlan::Oauth2 {
                token_url,
                client_id,
                client_secret,
                scope,
            } => (
                signing::generate_secret(),
                Some((
                    token_url,
                    client_id,
                    self.inner
                        .key
                        .seal(client_secret.as_bytes(), &client_secret_context(&id))?,
                    scope,
                )),
            ),
        };
        let sealed = self
            .inner
            .key
            .seal(secret.as_bytes(), &secret_context(&id))?;
        let account = new.api_account_id.unwrap_or_else(|| p.api_account_id());
        let topics_json = serde_json::to_string(&topics).map_err(Error::internal)?;
        let now = time::to_db(self.inner.clock.now());
        let directory = self.inner.directory.clone();
        let p = p.clone();
        let name = new.name.trim().to_owned();
        let url = new.url;
        let row = self
            .inner
            .db
            .write(move |c| {
                check_account(c, directory.as_ref(), &p, account)?;
                let protocol = if oauth.is_some() {
                    PROTOCOL_OAUTH2
                } else {
                    PROTOCOL_WEBSUB
                };
                let (token_url, client_id, client_secret, scope) = match oauth {
                    Some((a, b, c, d)) => (Some(a), Some(b), Some(c), d),
                    None => (None, None, None, None),
                };
                diesel::insert_into(webhook_receivers::table)
                    .values((
                        webhook_receivers::id.eq(&id),
                        webhook_receivers::tenant_id.eq(p.tenant_id.to_string()),
                        webhook_receivers::api_account_id.eq(account.to_string()),
                        webhook_receivers::name.eq(name),
                        webhook_receivers::url.eq(url),
                        webhook_receivers::topics.eq(topics_json),
                        webhook_receivers::protocol.eq(protocol),
                        webhook_receivers::secret.eq(sealed),
                        webhook_receivers::oauth_token_url.eq(token_url),
                        webhook_receivers::oauth_client_id.eq(client_id),
                        webhook_receivers::oauth_client_secret.eq(client_secret),
                        webhook_receivers::oauth_scope.eq(scope),
                        webhook_receivers::created_at.eq(now),
                        webhook_receivers::updated_at.eq(now),
                    ))
                    .execute(c)?;
                load_receiver(c, p.tenant_id, &id)
            })
            .await?;
        Ok(ReceiverWithSecret {
            receiver: row.to_api()?,
            secret,
        })
    }

    /// The tenant's receivers, oldest first, deleted ones included (with `deleted_at`).
    pub async fn list_receivers(&self, p: &Principal, page: &PageQuery) -> Result<Page<Receiver>> {
        p.require(Permission::WebhooksManage)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let tenant = p.tenant_id.to_string();
        let rows = self
            .inner
            .db
            .read(move |c| {
                let mut q = webhook_receivers::table
                    .filter(webhook_receivers::tenant_id.eq(tenant))
                    .select(ReceiverRow::as_select())
                    .order(webhook_receivers::id.asc())
                    .limit(i64::from(limit) + 1)
                    .into_boxed();
                if let Some(after) = after {
                    q = q.filter(webhook_receivers::id.gt(after));
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, |r| r.id.clone(), ReceiverRow::to_api)
    }

    /// One receiver (deleted ones too).
    pub async fn receiver(&self, p: &Principal, id: Uuid) -> Result<Receiver> {
        p.require(Permission::WebhooksManage)?;
        let tenant = p.tenant_id;
        self.inner
            .db
            .read(move |c| {
                let row = load_receiver(c, tenant, &id.to_string())?;
                check_not_deleted(&row)?;
                row.to_api()
            })
            .await
    }

    /// Changes a receiver; only the fields present change.
    pub async fn update_receiver(
        &self,
        p: &Principal,
        id: Uuid,
        changes: ReceiverChanges,
    ) -> Result<Receiver> {
        p.require(Permission::WebhooksManage)?;
        let mut v = Validator::new();
        if let Some(name) = &changes.name {
            v.text("name", name, NAME_MAX);
        }
        if let Some(url) = &changes.url {
            self.check_url(&mut v, "url", url);
        }
        let topics = changes
            .topics
            .as_ref()
            .map(|t| self.check_topics(&mut v, t));
        let auth = changes.auth.map(|a| self.check_auth(&mut v, Some(a)));
        v.finish()?;
        let id = id.to_string();
        let key = self.inner.key.clone();
        let directory = self.inner.directory.clone();
        let now = time::to_db(self.inner.clock.now());
        let p = p.clone();
        let ReceiverChanges {
            name,
            url,
            api_account_id,
            enabled,
            ..
        } = changes;
        let row = self
            .inner
            .db
            .write(move |c| {
                let row = load_receiver(c, p.tenant_id, &id)?;
                check_not_deleted(&row)?;
                if let Some(account) = api_account_id {
                    check_account(c, directory.as_ref(), &p, account)?;
                    diesel::update(webhook_receivers::table.find(&id))
                        .set(webhook_receivers::api_account_id.eq(account.to_string()))
                        .execute(c)?;
                }
                if let Some(name) = name {
                    diesel::update(webhook_receivers::table.find(&id))
                        .set(webhook_receivers::name.eq(name.trim()))
                        .execute(c)?;
                }
                if let Some(url) = url {
                    diesel::update(webhook_receivers::table.find(&id))
                        .set(webhook_receivers::url.eq(url))
                        .execute(c)?;
                }
                if let Some(topics) = topics {
                    let json = serde_json::to_string(&topics).map_err(Error::internal)?;
                    diesel::update(webhook_receivers::table.find(&id))
                        .set(webhook_receivers::topics.eq(json))
                        .execute(c)?;
                }
                match auth {
                    None => {}
                    Some(AuthPlan::Websub { secret }) => {
                        diesel::update(webhook_receivers::table.find(&id))
                            .set((
                                webhook_receivers::protocol.eq(PROTOCOL_WEBSUB),
                                webhook_receivers::oauth_token_url.eq(None::<String>),
                                webhook_receivers::oauth_client_id.eq(None::<String>),
                                webhook_receivers::oauth_client_secret.eq(None::<String>),
                                webhook_receivers::oauth_scope.eq(None::<String>),
                            ))
                            .execute(c)?;
                        if let Some(secret) = secret {
                            let sealed = key.seal(secret.as_bytes(), &secret_context(&id))?;
                            diesel::update(webhook_receivers::table.find(&id))
                                .set((
                                    webhook_receivers::secret.eq(sealed),
                                    webhook_receivers::previous_secret.eq(None::<String>),
                                    webhook_receivers::previous_secret_expires_at
                                        .eq(None::<chrono::NaiveDateTime>),
                                ))
                                .execute(c)?;
                        }
                    }
                    Some(AuthPlan::Oauth2 {
                        token_url,
                        client_id,
                        client_secret,
                        scope,
                    }) => {
                        let sealed =
                            key.seal(client_secret.as_bytes(), &client_secret_context(&id))?;
                        diesel::update(webhook_receivers::table.find(&id))
                            .set((
                                webhook_receivers::protocol.eq(PROTOCOL_OAUTH2),
                                webhook_receivers::oauth_token_url.eq(Some(token_url)),
                                webhook_receivers::oauth_client_id.eq(Some(client_id)),
                                webhook_receivers::oauth_client_secret.eq(Some(sealed)),
                                webhook_receivers::oauth_scope.eq(scope),
                            ))
                            .execute(c)?;
                    }
                }
                match enabled {
                    Some(true) if row.disabled_at.is_some() => {
                        diesel::update(webhook_receivers::table.find(&id))
                            .set((
                                webhook_receivers::disabled_at.eq(None::<chrono::NaiveDateTime>),
                                webhook_receivers::disabled_reason.eq(None::<String>),
                                webhook_receivers::failing_since.eq(None::<chrono::NaiveDateTime>),
                            ))
                            .execute(c)?;
                    }
                    Some(false) if row.disabled_at.is_none() => {
                        diesel::update(webhook_receivers::table.find(&id))
                            .set((
                                webhook_receivers::disabled_at.eq(Some(now)),
                                webhook_receivers::disabled_reason
                                    .eq(Some("Disabled through the API.")),
                            ))
                            .execute(c)?;
                        cancel_pending(c, &id)?;
                    }
                    _ => {}
                }
                diesel::update(webhook_receivers::table.find(&id))
                    .set(webhook_receivers::updated_at.eq(now))
                    .execute(c)?;
                load_receiver(c, p.tenant_id, &id)
            })
            .await?;
        row.to_api()
    }

    /// Soft-deletes a receiver: no more deliveries (pending ones are given up); it stays listed
    /// with `deleted_at`, and its log stays readable. Deleting it again changes nothing.
    pub async fn delete_receiver(&self, p: &Principal, id: Uuid) -> Result<()> {
        p.require(Permission::WebhooksManage)?;
        let tenant = p.tenant_id;
        let now = time::to_db(self.inner.clock.now());
        self.inner
            .db
            .write(move |c| {
                let row = load_receiver(c, tenant, &id.to_string())?;
                if row.deleted_at.is_some() {
                    return Ok(());
                }
                diesel::update(webhook_receivers::table.find(&row.id))
                    .set((
                        webhook_receivers::deleted_at.eq(Some(now)),
                        webhook_receivers::updated_at.eq(now),
                    ))
                    .execute(c)?;
                cancel_pending(c, &row.id)
            })
            .await
    }

    /// Replaces the signing secret (returned once). The previous one keeps signing too, for
    /// the rotation overlap (24 h), so the receiver can switch without missing a delivery.
    pub async fn rotate_secret(&self, p: &Principal, id: Uuid) -> Result<ReceiverWithSecret> {
        p.require(Permission::WebhooksManage)?;
        let tenant = p.tenant_id;
        let id = id.to_string();
        let secret = signing::generate_secret();
        let sealed = self
            .inner
            .key
            .seal(secret.as_bytes(), &secret_context(&id))?;
        let now = self.inner.clock.now();
        let overlap = chrono::Duration::from_std(self.inner.config.rotation_overlap)
            .map_err(Error::internal)?;
        let row = self
            .inner
            .db
            .write(move |c| {
                let row = load_receiver(c, tenant, &id)?;
                if row.deleted_at.is_some() {
                    return Err(Error::conflict(
                        "A deleted receiver has no secret to rotate.",
                    ));
                }
                diesel::update(webhook_receivers::table.find(&id))
                    .set((
                        webhook_receivers::previous_secret.eq(Some(row.secret)),
                        webhook_receivers::previous_secret_expires_at
                            .eq(Some(time::to_db(now + overlap))),
                        webhook_receivers::secret.eq(sealed),
                        webhook_receivers::updated_at.eq(time::to_db(now)),
                    ))
                    .execute(c)?;
                load_receiver(c, tenant, &id)
            })
            .await?;
        Ok(ReceiverWithSecret {
            receiver: row.to_api()?,
            secret,
        })
    }

    /// A receiver's delivery log, newest first.
    pub async fn deliveries(
        &self,
        p: &Principal,
        receiver_id: Uuid,
        filter: &DeliveryFilter,
        page: &PageQuery,
    ) -> Result<Page<Delivery>> {
        p.require(Permission::WebhooksManage)?;
        let limit = page.limit()?;
        let after = page.after()?;
        let tenant = p.tenant_id;
        let status = filter.status;
        let rows = self
            .inner
            .db
            .read(move |c| {
                let receiver = load_receiver(c, tenant, &receiver_id.to_string())?;
                let mut q = webhook_deliveries::table
                    .filter(webhook_deliveries::receiver_id.eq(receiver.id))
                    .select(DeliveryRow::as_select())
                    .order(webhook_deliveries::id.desc())
                    .limit(i64::from(limit) + 1)
                    .into_boxed();
                if let Some(after) = after {
                    q = q.filter(webhook_deliveries::id.lt(after));
                }
                if let Some(s) = status {
                    q = q.filter(webhook_deliveries::status.eq(s.as_str()));
                }
                Ok(q.load(c)?)
            })
            .await?;
        Page::try_from_rows(rows, limit, |r| r.id.clone(), DeliveryRow::to_api)
    }

    /// One delivery with its body and attempts.
    pub async fn delivery(&self, p: &Principal, id: Uuid) -> Result<DeliveryDetail> {
        p.require(Permission::WebhooksManage)?;
        let tenant = p.tenant_id;
        let (row, body, attempts) = self
            .inner
            .db
            .read(move |c| {
                let (row, body) = load_delivery(c, tenant, &id.to_string())?;
                let attempts: Vec<AttemptRow> = webhook_attempts::table
                    .filter(webhook_attempts::delivery_id.eq(&row.id))
                    .order((
                        webhook_attempts::attempted_at.asc(),
                        webhook_attempts::id.asc(),
                    ))
                    .select(AttemptRow::as_select())
                    .load(c)?;
                Ok((row, body, attempts))
            })
            .await?;
        Ok(DeliveryDetail {
            delivery: row.to_api()?,
            request_body: body,
            attempts: attempts.iter().map(AttemptRow::to_api).collect(),
        })
    }

    /// Queues a new attempt of a delivery now (with the same `webhook-id` and body). A
    /// delivery given up gets the whole retry schedule again.
    pub async fn redeliver(&self, p: &Principal, id: Uuid) -> Result<Delivery> {
        p.require(Permission::WebhooksManage)?;
        let tenant = p.tenant_id;
        let now = time::to_db(self.inner.clock.now());
        let row = self
            .inner
            .db
            .write(move |c| {
                let (row, _) = load_delivery(c, tenant, &id.to_string())?;
                let receiver = load_receiver(c, tenant, &row.receiver_id)?;
                check_live(&receiver)?;
                if row.locked_until.is_some_and(|t| t > now) {
                    return Err(Error::conflict(
                        "An attempt of this delivery is in progress; try again when it has finished.",
                    ));
                }
                diesel::update(webhook_deliveries::table.find(&row.id))
                    .set((
                        webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
                        webhook_deliveries::failed_attempts.eq(0),
                        webhook_deliveries::next_attempt_at.eq(Some(now)),
                    ))
                    .execute(c)?;
                Ok(load_delivery(c, tenant, &row.id)?.0)
            })
            .await?;
        self.inner.wake.notify_one();
        row.to_api()
    }

    /// Sends a `Webhooks.Ping` event to one receiver (whatever its topics).
    pub async fn test_receiver(&self, p: &Principal, id: Uuid) -> Result<Delivery> {
        p.require(Permission::WebhooksManage)?;
        let tenant = p.tenant_id;
        let now = self.inner.clock.now();
        let row = self
            .inner
            .db
            .write(move |c| {
                let receiver = load_receiver(c, tenant, &id.to_string())?;
                check_live(&receiver)?;
                let event_id = ids::new_id().to_string();
                let data = json!({"receiver_id": receiver.id, "message": "Ping from Loket."});
                let delivery = NewDelivery {
                    id: ids::new_id().to_string(),
                    tenant_id: receiver.tenant_id.clone(),
                    receiver_id: receiver.id.clone(),
                    body: event_body(
                        &event_id,
                        WEBHOOKS_PING,
                        &receiver.tenant_id,
                        now,
                        &data.to_string(),
                    ),
                    event_id,
                    topic: WEBHOOKS_PING.to_owned(),
                    status: DeliveryStatus::Pending.as_str().to_owned(),
                    attempt_count: 0,
                    failed_attempts: 0,
                    last_status_code: None,
                    created_at: time::to_db(now),
                    last_attempt_at: None,
                    next_attempt_at: Some(time::to_db(now)),
                    locked_until: None,
                    lease: None,
                };
                diesel::insert_into(webhook_deliveries::table)
                    .values(&delivery)
                    .execute(c)?;
                Ok(load_delivery(c, tenant, &delivery.id)?.0)
            })
            .await?;
        self.inner.wake.notify_one();
        row.to_api()
    }
}

/// The receiver `id` of `tenant`, or 404.
pub(crate) fn load_receiver(c: &mut AnyConnection, tenant: Uuid, id: &str) -> Result<ReceiverRow> {
    webhook_receivers::table
        .filter(webhook_receivers::id.eq(id))
        .filter(webhook_receivers::tenant_id.eq(tenant.to_string()))
        .select(ReceiverRow::as_select())
        .first(c)
        .optional()?
        .ok_or_else(|| Error::not_found("webhook receiver"))
}

fn load_delivery(c: &mut AnyConnection, tenant: Uuid, id: &str) -> Result<(DeliveryRow, String)> {
    webhook_deliveries::table
        .filter(webhook_deliveries::id.eq(id))
        .filter(webhook_deliveries::tenant_id.eq(tenant.to_string()))
        .select((DeliveryRow::as_select(), webhook_deliveries::body))
        .first(c)
        .optional()?
        .ok_or_else(|| Error::not_found("webhook delivery"))
}

/// A deleted receiver stays in the list and its log stays readable, but on its own it answers
/// `404 not-found` (it is gone), so it can no longer be read or changed.
fn check_not_deleted(r: &ReceiverRow) -> Result<()> {
    if r.deleted_at.is_some() {
        return Err(Error::new(
            Code::NotFound,
            format!(
                "The receiver was deleted. It stays in the list, and its log stays readable at /api/v1/webhooks/receivers/{}/deliveries.",
                r.id
            ),
        ));
    }
    Ok(())
}

fn check_live(r: &ReceiverRow) -> Result<()> {
    if r.deleted_at.is_some() {
        return Err(Error::conflict("The receiver is deleted."));
    }
    if r.disabled_at.is_some() {
        return Err(Error::conflict(
            "The receiver is disabled; enable it first (PATCH with `enabled: true`).",
        ));
    }
    Ok(())
}

/// The receiver's API account must exist in the caller's tenant (404 otherwise), and the
/// caller may not hand a receiver more permissions than it holds itself (403).
fn check_account(
    c: &mut AnyConnection,
    directory: &dyn AccountDirectory,
    p: &Principal,
    account: Uuid,
) -> Result<()> {
    let grant = directory
        .api_account(c, p.tenant_id, account)?
        .ok_or_else(|| Error::not_found("API account"))?;
    if account != p.api_account_id() && !p.permissions.covers(&grant.permissions) {
        return Err(Error::forbidden(
            "The receiver's API account holds permissions the caller does not have.",
        ));
    }
    Ok(())
}

/// Gives up every delivery of a receiver that is still waiting for an attempt.
pub(crate) fn cancel_pending(c: &mut AnyConnection, receiver_id: &str) -> Result<()> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::receiver_id.eq(receiver_id))
            .filter(webhook_deliveries::next_attempt_at.is_not_null()),
    )
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::GivenUp.as_str()),
        webhook_deliveries::next_attempt_at.eq(None::<chrono::NaiveDateTime>),
    ))
    .execute(c)?;
    Ok(())
}
