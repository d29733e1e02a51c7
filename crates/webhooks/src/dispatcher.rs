//! The database side of delivery, each step one transaction:
//!
//! 1. [`fan_out`]: outbox events not yet dispatched become one delivery per matching receiver
//!    (R-HOOK-AUTHZ: same tenant, live receiver, subscribed topic, active API account holding
//!    the permission to read the object), and the events are marked dispatched.
//! 2. [`claim`]: due deliveries are leased to this worker (`locked_until`, `lease`), so no other
//!    worker or instance sends them meanwhile; a crashed worker's lease simply expires. On
//!    PostgreSQL the candidate rows are also locked `FOR UPDATE SKIP LOCKED`.
//! 3. [`record`]: attempt results are written in batches: the attempt row, the delivery's new
//!    state and next time (R-RETRY, with jitter and `Retry-After`), the receiver's health
//!    (410 Gone, or no success for days, disables it and emits `Webhooks.ReceiverDisabled`).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use loket_common::{Error, Result, ids, time};
use loket_storage::AnyConnection;
use loket_storage::outbox::{self, EventRow, NewEvent};
use loket_storage::schema::{
    outbox_events, webhook_attempts, webhook_deliveries, webhook_receivers,
};
use rand::Rng;
use uuid::Uuid;

use crate::api::DeliveryStatus;
use crate::config::WebhooksConfig;
use crate::model::{AttemptRow, NewDelivery, ReceiverRow};
use crate::sender::{Answer, Target};
use crate::service::cancel_pending;
use crate::topics::{
    Requirement, WEBHOOKS_RECEIVER_DISABLED, required_permission, subscription_matches,
};
use crate::{AccountDirectory, AccountGrant, event_body};

/// Rows per multi-row INSERT (well under SQLite's bound-parameter limit).
const INSERT_CHUNK: usize = 200;

/// Caches account look-ups within one transaction.
struct Grants<'a> {
    directory: &'a dyn AccountDirectory,
    seen: HashMap<(String, String), Option<AccountGrant>>,
}

impl<'a> Grants<'a> {
    fn new(directory: &'a dyn AccountDirectory) -> Self {
        Grants {
            directory,
            seen: HashMap::new(),
        }
    }

    /// R-HOOK-AUTHZ: whether the receiver's API account may see an object of `topic`.
    fn may_receive(&mut self, c: &mut AnyConnection, r: &ReceiverRow, topic: &str) -> Result<bool> {
        let needed = match required_permission(topic) {
            Requirement::Anyone => return Ok(true),
            Requirement::Nobody => return Ok(false),
            Requirement::Permission(p) => p,
        };
        let key = (r.tenant_id.clone(), r.api_account_id.clone());
        if !self.seen.contains_key(&key) {
            let grant = match (
                Uuid::parse_str(&r.tenant_id),
                Uuid::parse_str(&r.api_account_id),
            ) {
                (Ok(t), Ok(a)) => self.directory.api_account(c, t, a)?,
                _ => None,
            };
            self.seen.insert(key.clone(), grant);
        }
        Ok(self
            .seen
            .get(&key)
            .and_then(Option::as_ref)
            .is_some_and(|g| g.active && g.permissions.grants(needed)))
    }
}

/// Whether any outbox event waits to be fanned out (a cheap read before taking the write lock).
pub fn has_undispatched(c: &mut AnyConnection) -> Result<bool> {
    Ok(outbox_events::table
        .filter(outbox_events::dispatched_at.is_null())
        .select(outbox_events::id)
        .first::<String>(c)
        .optional()?
        .is_some())
}

/// What one fan-out pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FanOut {
    /// Events marked dispatched.
    pub events: usize,
    /// Deliveries created.
    pub deliveries: usize,
}

/// Fans out up to `limit` undispatched events, oldest first; call inside a write transaction.
pub fn fan_out(
    c: &mut AnyConnection,
    directory: &dyn AccountDirectory,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<FanOut> {
    let query = || {
        outbox_events::table
            .filter(outbox_events::dispatched_at.is_null())
            .order(outbox_events::id.asc())
            .limit(limit)
    };
    let events: Vec<EventRow> = match c {
        AnyConnection::Postgresql(pg) => query()
            .select(EventRow::as_select())
            .for_update()
            .skip_locked()
            .load(pg)?,
        _ => query().select(EventRow::as_select()).load(c)?,
    };
    if events.is_empty() {
        return Ok(FanOut::default());
    }
    let tenants: HashSet<&str> = events.iter().map(|e| e.tenant_id.as_str()).collect();
    let receivers: Vec<ReceiverRow> = webhook_receivers::table
        .filter(webhook_receivers::tenant_id.eq_any(tenants))
        .filter(webhook_receivers::deleted_at.is_null())
        .filter(webhook_receivers::disabled_at.is_null())
        .select(ReceiverRow::as_select())
        .load(c)?;
    let subscriptions: Vec<(ReceiverRow, Vec<String>)> = receivers
        .into_iter()
        .map(|r| {
            let t = r.topic_list();
            (r, t)
        })
        .collect();
    let mut grants = Grants::new(directory);
    let created = time::to_db(now);
    let mut deliveries = Vec::new();
    for e in &events {
        let mut body: Option<String> = None;
        for (r, topics) in &subscriptions {
            // Only events that happened once the receiver existed, of its own tenant (R-TEN).
            if r.tenant_id != e.tenant_id
                || r.created_at > e.occurred_at
                || !topics.iter().any(|s| subscription_matches(s, &e.topic))
                || !grants.may_receive(c, r, &e.topic)?
            {
                continue;
            }
            let body = body
                .get_or_insert_with(|| {
                    event_body(
                        &e.id,
                        &e.topic,
                        &e.tenant_id,
                        time::from_db(e.occurred_at),
                        &e.payload,
                    )
                })
                .clone();
            deliveries.push(NewDelivery {
                id: ids::new_id().to_string(),
                tenant_id: e.tenant_id.clone(),
                receiver_id: r.id.clone(),
                event_id: e.id.clone(),
                topic: e.topic.clone(),
                body,
                status: DeliveryStatus::Pending.as_str().to_owned(),
                attempt_count: 0,
                failed_attempts: 0,
                last_status_code: None,
                created_at: created,
                last_attempt_at: None,
                next_attempt_at: Some(created),
                locked_until: None,
                lease: None,
            });
        }
    }
    for chunk in deliveries.chunks(INSERT_CHUNK) {
        insert_deliveries(c, chunk)?;
    }
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    for chunk in ids.chunks(500) {
        diesel::update(outbox_events::table.filter(outbox_events::id.eq_any(chunk)))
            .set(outbox_events::dispatched_at.eq(Some(created)))
            .execute(c)?;
    }
    Ok(FanOut {
        events: events.len(),
        deliveries: deliveries.len(),
    })
}

fn insert_deliveries(c: &mut AnyConnection, rows: &[NewDelivery]) -> Result<()> {
    match c {
        AnyConnection::Postgresql(pg) => {
            diesel::insert_into(webhook_deliveries::table)
                .values(rows)
                .execute(pg)?;
        }
        AnyConnection::Sqlite(lite) => {
            diesel::insert_into(webhook_deliveries::table)
                .values(rows)
                .execute(lite)?;
        }
    }
    Ok(())
}

/// A delivery leased to this worker, with what is needed to send it.
#[derive(Debug, Clone)]
pub struct Job {
    pub delivery_id: String,
    pub tenant_id: String,
    pub receiver_id: String,
    pub body: String,
    pub failed_attempts: i32,
    pub lease: String,
    pub target: Target,
}

/// Whether any delivery is due (a cheap read before taking the write lock).
pub fn has_due(c: &mut AnyConnection, now: DateTime<Utc>, busy: &[String]) -> Result<bool> {
    let now = time::to_db(now);
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .filter(
            webhook_deliveries::locked_until
                .is_null()
                .or(webhook_deliveries::locked_until.le(now)),
        )
        .filter(webhook_deliveries::receiver_id.ne_all(busy))
        .select(webhook_deliveries::id)
        .first::<String>(c)
        .optional()?
        .is_some())
}

/// Room for new work: overall, and per receiver.
#[derive(Debug, Clone, Default)]
pub struct Capacity {
    /// Deliveries that may start now, overall.
    pub total: usize,
    /// The most per receiver.
    pub per_receiver: usize,
    /// Deliveries in flight per receiver.
    pub in_flight: HashMap<String, usize>,
}

impl Capacity {
    /// Receivers with no room left.
    pub fn full(&self) -> Vec<String> {
        self.in_flight
            .iter()
            .filter(|(_, n)| **n >= self.per_receiver)
            .map(|(r, _)| r.clone())
            .collect()
    }
}

/// Leases due deliveries within `capacity` (a slow receiver only uses its own share), and
/// gives up those whose receiver went away or may no longer see the object (R-HOOK-AUTHZ is
/// checked again: permissions may have changed since the fan-out).
pub fn claim(
    c: &mut AnyConnection,
    directory: &dyn AccountDirectory,
    now: DateTime<Utc>,
    lease_for: chrono::Duration,
    capacity: &Capacity,
) -> Result<Vec<Job>> {
    if capacity.total == 0 {
        return Ok(Vec::new());
    }
    let db_now = time::to_db(now);
    let full = capacity.full();
    let window = (capacity.total * 4).max(64) as i64;
    let query = || {
        webhook_deliveries::table
            .filter(webhook_deliveries::next_attempt_at.le(db_now))
            .filter(
                webhook_deliveries::locked_until
                    .is_null()
                    .or(webhook_deliveries::locked_until.le(db_now)),
            )
            .filter(webhook_deliveries::receiver_id.ne_all(&full))
            .order((
                webhook_deliveries::next_attempt_at.asc(),
                webhook_deliveries::id.asc(),
            ))
            .limit(window)
            .select((webhook_deliveries::id, webhook_deliveries::receiver_id))
    };
    let candidates: Vec<(String, String)> = match c {
        AnyConnection::Postgresql(pg) => query().for_update().skip_locked().load(pg)?,
        _ => query().load(c)?,
    };
    let mut used: HashMap<&str, usize> = HashMap::new();
    let mut picked: Vec<&str> = Vec::new();
    for (id, receiver) in &candidates {
        if picked.len() >= capacity.total {
            break;
        }
        let n = used
            .entry(receiver.as_str())
            .or_insert_with(|| capacity.in_flight.get(receiver).copied().unwrap_or(0));
        if *n < capacity.per_receiver {
            *n += 1;
            picked.push(id.as_str());
        }
    }
    if picked.is_empty() {
        return Ok(Vec::new());
    }
    let lease = ids::new_id().to_string();
    for chunk in picked.chunks(500) {
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::id.eq_any(chunk))
                .filter(
                    webhook_deliveries::locked_until
                        .is_null()
                        .or(webhook_deliveries::locked_until.le(db_now)),
                ),
        )
        .set((
            webhook_deliveries::locked_until.eq(Some(time::to_db(now + lease_for))),
            webhook_deliveries::lease.eq(Some(&lease)),
        ))
        .execute(c)?;
    }
    let rows: Vec<(String, String, String, String, String, i32)> = webhook_deliveries::table
        .filter(webhook_deliveries::lease.eq(&lease))
        .select((
            webhook_deliveries::id,
            webhook_deliveries::tenant_id,
            webhook_deliveries::receiver_id,
            webhook_deliveries::topic,
            webhook_deliveries::body,
            webhook_deliveries::failed_attempts,
        ))
        .load(c)?;
    let receiver_ids: HashSet<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    let receivers: HashMap<String, ReceiverRow> = webhook_receivers::table
        .filter(webhook_receivers::id.eq_any(receiver_ids))
        .select(ReceiverRow::as_select())
        .load(c)?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    let mut grants = Grants::new(directory);
    let mut jobs = Vec::with_capacity(rows.len());
    let mut dropped: Vec<String> = Vec::new();
    for (id, tenant_id, receiver_id, topic, body, failed_attempts) in rows {
        let Some(r) = receivers.get(&receiver_id) else {
            dropped.push(id);
            continue;
        };
        if !r.is_live() || r.tenant_id != tenant_id || !grants.may_receive(c, r, &topic)? {
            dropped.push(id);
            continue;
        }
        jobs.push(Job {
            delivery_id: id,
            tenant_id,
            receiver_id,
            body,
            failed_attempts,
            lease: lease.clone(),
            target: target_of(r),
        });
    }
    for chunk in dropped.chunks(500) {
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(chunk)))
            .set((
                webhook_deliveries::status.eq(DeliveryStatus::GivenUp.as_str()),
                webhook_deliveries::next_attempt_at.eq(None::<NaiveDateTime>),
                webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
                webhook_deliveries::lease.eq(None::<String>),
            ))
            .execute(c)?;
    }
    Ok(jobs)
}

fn target_of(r: &ReceiverRow) -> Target {
    Target {
        receiver_id: r.id.clone(),
        url: r.url.clone(),
        protocol: r.protocol.clone(),
        secret: r.secret.clone(),
        previous_secret: r.previous_secret.clone(),
        previous_secret_expires_at: r.previous_secret_expires_at.map(time::from_db),
        oauth_token_url: r.oauth_token_url.clone(),
        oauth_client_id: r.oauth_client_id.clone(),
        oauth_client_secret: r.oauth_client_secret.clone(),
        oauth_scope: r.oauth_scope.clone(),
        version: r.updated_at.and_utc().timestamp_micros().to_string(),
    }
}

/// The result of one attempt, to record.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub delivery_id: String,
    pub tenant_id: String,
    pub receiver_id: String,
    pub lease: String,
    pub failed_attempts: i32,
    pub attempted_at: DateTime<Utc>,
    pub answer: Answer,
}

/// When to try again after failure number `failures` (R-RETRY): the scheduled wait plus up to
/// 10 % jitter, or later if the receiver asked so (`Retry-After`, at most a week ahead);
/// `None` once the retries are used up.
pub fn next_attempt(
    config: &WebhooksConfig,
    failures: usize,
    now: DateTime<Utc>,
    retry_after: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let wait = config.retry_schedule.wait_before_retry(failures)?;
    let wait = chrono::Duration::from_std(wait).ok()?;
    let jitter_ms = wait.num_milliseconds() / 10;
    let jitter = if jitter_ms > 0 {
        rand::rng().random_range(0..=jitter_ms)
    } else {
        0
    };
    let scheduled = now + wait + chrono::Duration::milliseconds(jitter);
    let cap = now + chrono::Duration::days(7);
    Some(match retry_after {
        Some(t) if t > scheduled => t.min(cap),
        _ => scheduled,
    })
}

/// Writes a batch of attempt results; call inside a write transaction.
pub fn record(
    c: &mut AnyConnection,
    config: &WebhooksConfig,
    directory: &dyn crate::AccountDirectory,
    now: DateTime<Utc>,
    outcomes: &[Outcome],
) -> Result<()> {
    let db_now = time::to_db(now);
    let attempts: Vec<AttemptRow> = outcomes
        .iter()
        .map(|o| AttemptRow {
            id: ids::new_id().to_string(),
            delivery_id: o.delivery_id.clone(),
            attempted_at: time::to_db(o.attempted_at),
            status_code: o.answer.status.map(i32::from),
            duration_ms: i64::try_from(o.answer.duration.as_millis()).unwrap_or(i64::MAX),
            error: o.answer.error.clone(),
        })
        .collect();
    for chunk in attempts.chunks(INSERT_CHUNK) {
        match c {
            AnyConnection::Postgresql(pg) => {
                diesel::insert_into(webhook_attempts::table)
                    .values(chunk)
                    .execute(pg)?;
            }
            AnyConnection::Sqlite(lite) => {
                diesel::insert_into(webhook_attempts::table)
                    .values(chunk)
                    .execute(lite)?;
            }
        }
    }
    let mut succeeded: Vec<&Outcome> = Vec::new();
    let mut failed: Vec<&Outcome> = Vec::new();
    for o in outcomes {
        if o.answer.succeeded() {
            succeeded.push(o);
        } else {
            failed.push(o);
        }
    }
    // Successes share one state; update them per status code.
    let mut by_code: HashMap<Option<u16>, Vec<(&str, &str)>> = HashMap::new();
    for o in &succeeded {
        by_code
            .entry(o.answer.status)
            .or_default()
            .push((o.delivery_id.as_str(), o.lease.as_str()));
    }
    for (code, items) in by_code {
        let leases: HashSet<&str> = items.iter().map(|(_, l)| *l).collect();
        for lease in leases {
            let ids: Vec<&str> = items
                .iter()
                .filter(|(_, l)| *l == lease)
                .map(|(id, _)| *id)
                .collect();
            for chunk in ids.chunks(500) {
                diesel::update(
                    webhook_deliveries::table
                        .filter(webhook_deliveries::id.eq_any(chunk))
                        .filter(webhook_deliveries::lease.eq(lease)),
                )
                .set((
                    webhook_deliveries::status.eq(DeliveryStatus::Succeeded.as_str()),
                    webhook_deliveries::attempt_count.eq(webhook_deliveries::attempt_count + 1),
                    webhook_deliveries::last_status_code.eq(code.map(i32::from)),
                    webhook_deliveries::last_attempt_at.eq(Some(db_now)),
                    webhook_deliveries::next_attempt_at.eq(None::<NaiveDateTime>),
                    webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
                    webhook_deliveries::lease.eq(None::<String>),
                ))
                .execute(c)?;
            }
        }
    }
    let healthy: HashSet<&str> = succeeded.iter().map(|o| o.receiver_id.as_str()).collect();
    if !healthy.is_empty() {
        let healthy: Vec<&str> = healthy.into_iter().collect();
        diesel::update(webhook_receivers::table.filter(webhook_receivers::id.eq_any(healthy)))
            .set((
                webhook_receivers::last_success_at.eq(Some(db_now)),
                webhook_receivers::failing_since.eq(None::<NaiveDateTime>),
            ))
            .execute(c)?;
    }
    let mut gone: HashSet<&str> = HashSet::new();
    let mut failing: HashMap<&str, DateTime<Utc>> = HashMap::new();
    for o in &failed {
        let failures = usize::try_from(o.failed_attempts.max(0)).unwrap_or(0) + 1;
        let is_gone = o.answer.status == Some(410);
        let next = if is_gone {
            None
        } else {
            next_attempt(config, failures, now, o.answer.retry_after)
        };
        let status = if next.is_some() {
            DeliveryStatus::Failed
        } else {
            DeliveryStatus::GivenUp
        };
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::id.eq(&o.delivery_id))
                .filter(webhook_deliveries::lease.eq(&o.lease)),
        )
        .set((
            webhook_deliveries::status.eq(status.as_str()),
            webhook_deliveries::attempt_count.eq(webhook_deliveries::attempt_count + 1),
            webhook_deliveries::failed_attempts.eq(i32::try_from(failures).unwrap_or(i32::MAX)),
            webhook_deliveries::last_status_code.eq(o.answer.status.map(i32::from)),
            webhook_deliveries::last_attempt_at.eq(Some(db_now)),
            webhook_deliveries::next_attempt_at.eq(next.map(time::to_db)),
            webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
            webhook_deliveries::lease.eq(None::<String>),
        ))
        .execute(c)?;
        if is_gone {
            gone.insert(o.receiver_id.as_str());
        }
        if !healthy_contains(&succeeded, &o.receiver_id) {
            let at = failing
                .entry(o.receiver_id.as_str())
                .or_insert(o.attempted_at);
            if o.attempted_at < *at {
                *at = o.attempted_at;
            }
        }
    }
    if failing.is_empty() && gone.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = failing.keys().chain(gone.iter()).copied().collect();
    let receivers: Vec<ReceiverRow> = webhook_receivers::table
        .filter(webhook_receivers::id.eq_any(ids))
        .select(ReceiverRow::as_select())
        .load(c)?;
    let disable_after =
        chrono::Duration::from_std(config.disable_after).map_err(Error::internal)?;
    for r in receivers {
        let since = match (r.failing_since, failing.get(r.id.as_str())) {
            (Some(s), _) => Some(time::from_db(s)),
            (None, Some(first)) => {
                diesel::update(webhook_receivers::table.find(&r.id))
                    .set(webhook_receivers::failing_since.eq(Some(time::to_db(*first))))
                    .execute(c)?;
                Some(*first)
            }
            (None, None) => None,
        };
        if r.disabled_at.is_some() || r.deleted_at.is_some() {
            continue;
        }
        let reason = if gone.contains(r.id.as_str()) {
            Some("The receiver answered 410 Gone.".to_owned())
        } else if since.is_some_and(|s| now - s >= disable_after) {
            Some(format!(
                "No successful delivery for {} days.",
                disable_after.num_days().max(1)
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            disable(c, directory, &r, &reason, now)?;
        }
    }
    Ok(())
}

fn healthy_contains(succeeded: &[&Outcome], receiver: &str) -> bool {
    succeeded.iter().any(|o| o.receiver_id == receiver)
}

/// Disables a receiver, gives up its pending deliveries and announces it with a
/// `Webhooks.ReceiverDisabled` event.
fn disable(
    c: &mut AnyConnection,
    directory: &dyn crate::AccountDirectory,
    r: &ReceiverRow,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let db_now = time::to_db(now);
    diesel::update(webhook_receivers::table.find(&r.id))
        .set((
            webhook_receivers::disabled_at.eq(Some(db_now)),
            webhook_receivers::disabled_reason.eq(Some(reason)),
            webhook_receivers::updated_at.eq(db_now),
        ))
        .execute(c)?;
    cancel_pending(c, &r.id)?;
    let row: ReceiverRow = webhook_receivers::table
        .find(&r.id)
        .select(ReceiverRow::as_select())
        .first(c)?;
    let api = row.to_api()?;
    tracing::warn!(receiver = %r.id, reason, "webhook receiver disabled");
    directory.receiver_disabled(c, &api, reason);
    outbox::publish(
        c,
        &NewEvent {
            tenant_id: api.tenant_id,
            topic: WEBHOOKS_RECEIVER_DISABLED,
            object_id: api.id,
            payload: serde_json::to_value(&api).map_err(Error::internal)?,
            occurred_at: now,
            actor_api_account_id: None,
            actor_user_id: None,
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RetrySchedule;

    #[test]
    fn retries_follow_the_schedule_with_small_positive_jitter_then_stop() {
        let config = WebhooksConfig::default();
        let now = Utc::now();
        for (n, hours) in [(1, 1), (2, 2), (3, 6), (4, 24)] {
            let at = next_attempt(&config, n, now, None).unwrap();
            let wait = at - now;
            assert!(wait >= chrono::Duration::hours(hours));
            assert!(wait <= chrono::Duration::minutes(hours * 66));
        }
        assert!(next_attempt(&config, 5, now, None).is_none());
    }

    #[test]
    fn retry_after_wins_when_later_and_is_capped() {
        let config = WebhooksConfig {
            retry_schedule: RetrySchedule::parse("1s").unwrap(),
            ..WebhooksConfig::default()
        };
        let now = Utc::now();
        let later = now + chrono::Duration::minutes(5);
        assert_eq!(next_attempt(&config, 1, now, Some(later)), Some(later));
        let earlier = now - chrono::Duration::minutes(5);
        assert!(next_attempt(&config, 1, now, Some(earlier)).unwrap() > now);
        let far = now + chrono::Duration::days(30);
        assert_eq!(
            next_attempt(&config, 1, now, Some(far)),
            Some(now + chrono::Duration::days(7))
        );
    }
}
