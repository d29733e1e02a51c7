//! The outbox worker: claims due messages with a lease, holds back those over a server's limit
//! (they stay `queued` until the window allows them), sends the others, and records the answer.
//!
//! At-least-once: the claim, the sending and the recording are separate steps; if the process
//! dies after sending, the lease runs out and the message is sent again, with the same
//! `Message-ID`. Temporary failures are retried on the schedule; a 5xx answer fails the message.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::dsl::{count_star, min};
use diesel::prelude::*;
use lettre::address::Envelope;
use loket_common::time::{from_db, to_db};
use loket_common::{Error, Result, ids};
use loket_storage::AnyConnection;
use loket_storage::schema::{
    mail_attempts, mail_limits, mail_outbox, mail_outbox_headers, mail_senders, mail_servers,
};
use tokio::task::JoinSet;

use crate::Mail;
use crate::message::{self, Draft, StoredAttachment};
use crate::model::{OutboxRow, ServerRow};
use crate::servers::endpoint;
use crate::smtp::{Endpoint, Failure};

/// A claimed message, ready to send.
struct Job {
    id: String,
    lease: String,
    attempt_id: String,
    endpoint: Endpoint,
    envelope: Envelope,
    bytes: Vec<u8>,
}

/// Runs until the runtime stops.
pub(crate) async fn run(mail: Mail) {
    loop {
        match pump(&mail).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::error!(error = ?e, "mail worker failed; trying again shortly"),
        }
        let poll = mail.inner.config.poll_interval;
        tokio::select! {
            _ = mail.inner.wake.notified() => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

/// Whether any message is due (a cheap read, so an idle worker takes no write lock).
fn anything_due(conn: &mut AnyConnection, at: NaiveDateTime) -> Result<bool> {
    Ok(mail_outbox::table
        .filter(mail_outbox::status.eq("queued"))
        .filter(mail_outbox::next_attempt_at.le(at))
        .filter(
            mail_outbox::locked_until
                .is_null()
                .or(mail_outbox::locked_until.le(at)),
        )
        .select(mail_outbox::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Claims what is due, sends it, records the outcomes; returns how many were sent or tried.
async fn pump(mail: &Mail) -> Result<usize> {
    let at = to_db(mail.inner.clock.now());
    if !mail.inner.db.read(move |c| anything_due(c, at)).await? {
        return Ok(0);
    }
    let this = mail.clone();
    let jobs = mail.inner.db.write(move |c| claim(&this, c)).await?;
    let n = jobs.len();
    let mut set = JoinSet::new();
    for job in jobs {
        let mail = mail.clone();
        set.spawn(async move {
            let outcome = mail
                .inner
                .smtp
                .send(&job.endpoint, &job.envelope, &job.bytes)
                .await;
            let id = job.id.clone();
            let m = mail.clone();
            if let Err(e) = mail
                .inner
                .db
                .write(move |c| record(&m, c, &job, outcome))
                .await
            {
                tracing::error!(error = ?e, message = %id, "cannot record the outcome of a mail");
            }
        });
    }
    while set.join_next().await.is_some() {}
    Ok(n)
}

fn chrono_dur(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Fails a message at once (it can never be sent as it is).
fn fail_now(conn: &mut AnyConnection, row: &OutboxRow, reason: &str) -> Result<()> {
    diesel::update(mail_outbox::table.find(&row.id))
        .set((
            mail_outbox::status.eq("failed"),
            mail_outbox::error.eq(Some(reason)),
            mail_outbox::next_attempt_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// When the server's limits allow one more message: `None` if now.
fn held_until(
    conn: &mut AnyConnection,
    server_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<(DateTime<Utc>, i32, i32)>> {
    let limits: Vec<(i32, i32)> = mail_limits::table
        .filter(mail_limits::server_id.eq(server_id))
        .select((mail_limits::max_messages, mail_limits::window_seconds))
        .load(conn)?;
    let mut until: Option<(DateTime<Utc>, i32, i32)> = None;
    for (max, window) in limits {
        let since = to_db(now - chrono::Duration::seconds(i64::from(window)));
        let (count, oldest): (i64, Option<NaiveDateTime>) = mail_attempts::table
            .filter(mail_attempts::server_id.eq(server_id))
            .filter(mail_attempts::attempted_at.gt(since))
            .select((count_star(), min(mail_attempts::attempted_at)))
            .first(conn)?;
        if count >= i64::from(max)
            && let Some(oldest) = oldest
        {
            let free = from_db(oldest) + chrono::Duration::seconds(i64::from(window));
            if until.is_none_or(|(u, _, _)| free > u) {
                until = Some((free, max, window));
            }
        }
    }
    Ok(until)
}

/// Claims due messages in one transaction (so the limits count what this batch takes).
fn claim(mail: &Mail, conn: &mut AnyConnection) -> Result<Vec<Job>> {
    let cfg = &mail.inner.config;
    let now = mail.inner.clock.now();
    let at = to_db(now);
    let rows: Vec<OutboxRow> = mail_outbox::table
        .filter(mail_outbox::status.eq("queued"))
        .filter(mail_outbox::next_attempt_at.le(at))
        .filter(
            mail_outbox::locked_until
                .is_null()
                .or(mail_outbox::locked_until.le(at)),
        )
        .order((mail_outbox::next_attempt_at.asc(), mail_outbox::id.asc()))
        .limit(i64::try_from(cfg.concurrency.saturating_mul(4)).unwrap_or(64))
        .select(OutboxRow::as_select())
        .load(conn)?;
    // Serialize claimers per server (several instances on one PostgreSQL database) so that
    // each counts the attempts of the others against the limits: lock the servers' rows, in
    // one order everywhere so two claimers never wait for each other.
    let mut servers: Vec<&String> = rows.iter().filter_map(|r| r.server_id.as_ref()).collect();
    servers.sort();
    servers.dedup();
    for id in servers {
        diesel::update(mail_servers::table.find(id))
            .set(mail_servers::updated_at.eq(mail_servers::updated_at))
            .execute(conn)?;
    }
    let mut jobs = Vec::new();
    for row in rows {
        if jobs.len() >= cfg.concurrency {
            break;
        }
        // Where it goes.
        let ep = match &row.server_id {
            Some(server_id) => {
                let server = mail_servers::table
                    .find(server_id)
                    .select(ServerRow::as_select())
                    .first(conn)
                    .optional()?;
                let Some(server) = server.filter(|s| !s.is_archived()) else {
                    fail_now(
                        conn,
                        &row,
                        "The mail server was archived before the message was sent.",
                    )?;
                    continue;
                };
                if let Some(sender_id) = &row.sender_id {
                    let verified = mail_senders::table
                        .find(sender_id)
                        .select(mail_senders::verified_at)
                        .first::<Option<NaiveDateTime>>(conn)
                        .optional()?
                        .flatten()
                        .is_some();
                    if !verified {
                        fail_now(
                            conn,
                            &row,
                            "The sender was removed or is not verified (R-VERIFY); the message was not sent.",
                        )?;
                        continue;
                    }
                }
                if let Some((until, max, window)) = held_until(conn, server_id, now)? {
                    diesel::update(mail_outbox::table.find(&row.id))
                        .set((
                            mail_outbox::next_attempt_at.eq(Some(to_db(until))),
                            mail_outbox::error.eq(Some(format!(
                                "Held back by the server's limit of {max} messages per {window} seconds; it goes out when the window allows."
                            ))),
                        ))
                        .execute(conn)?;
                    continue;
                }
                match endpoint(&mail.inner.key, &server) {
                    Ok(ep) => ep,
                    Err(e) => {
                        tracing::error!(error = ?e, server = %server.id, "cannot read a mail server's settings");
                        fail_now(conn, &row, "The mail server's settings cannot be read.")?;
                        continue;
                    }
                }
            }
            None => match &cfg.platform {
                Some(p) => Endpoint {
                    host: p.server.host.clone(),
                    port: p.server.port,
                    tls: p.server.tls,
                    username: p.server.username.clone(),
                    password: p.server.password.clone(),
                },
                None => {
                    fail_now(
                        conn,
                        &row,
                        "No platform mail server is configured (LOKET_PLATFORM_SMTP_URL).",
                    )?;
                    continue;
                }
            },
        };
        // What it is.
        let attachments: Vec<StoredAttachment> =
            serde_json::from_str(&row.attachments).map_err(Error::internal)?;
        let headers: Option<(String, Option<String>, Option<String>)> = mail_outbox_headers::table
            .find(&row.id)
            .select((
                mail_outbox_headers::cc,
                mail_outbox_headers::in_reply_to,
                mail_outbox_headers::reference_ids,
            ))
            .first(conn)
            .optional()?;
        let (cc, in_reply_to, references) = match headers {
            Some((cc, irt, refs)) => (
                serde_json::from_str::<Vec<String>>(&cc).map_err(Error::internal)?,
                irt,
                refs.map(|r| r.split_whitespace().map(str::to_owned).collect())
                    .unwrap_or_default(),
            ),
            None => (Vec::new(), None, Vec::new()),
        };
        let thread = message::Thread {
            cc: &cc,
            in_reply_to: in_reply_to.as_deref(),
            references: &references,
        };
        let (envelope, bytes) = match message::build_in_thread(
            &Draft::of(&row, &attachments, from_db(row.created_at)),
            &thread,
        ) {
            Ok(b) => b,
            Err(e) => {
                fail_now(conn, &row, &e)?;
                continue;
            }
        };
        // Claim it.
        let lease = ids::new_id().to_string();
        let attempt_id = ids::new_id().to_string();
        let claimed = diesel::update(
            mail_outbox::table
                .find(&row.id)
                .filter(mail_outbox::status.eq("queued"))
                .filter(
                    mail_outbox::locked_until
                        .is_null()
                        .or(mail_outbox::locked_until.le(at)),
                ),
        )
        .set((
            mail_outbox::locked_until.eq(Some(to_db(now + chrono_dur(cfg.lease())))),
            mail_outbox::lease.eq(Some(&lease)),
            mail_outbox::attempts.eq(row.attempts + 1),
            mail_outbox::last_attempt_at.eq(Some(at)),
        ))
        .execute(conn)?;
        if claimed != 1 {
            // Another worker took it meanwhile.
            continue;
        }
        diesel::insert_into(mail_attempts::table)
            .values((
                mail_attempts::id.eq(&attempt_id),
                mail_attempts::outbox_id.eq(&row.id),
                mail_attempts::server_id.eq(&row.server_id),
                mail_attempts::attempted_at.eq(at),
                mail_attempts::outcome.eq("pending"),
            ))
            .execute(conn)?;
        jobs.push(Job {
            id: row.id,
            lease,
            attempt_id,
            endpoint: ep,
            envelope,
            bytes,
        });
    }
    Ok(jobs)
}

/// Records the outcome of a send, if the claim is still ours.
fn record(
    mail: &Mail,
    conn: &mut AnyConnection,
    job: &Job,
    outcome: std::result::Result<String, Failure>,
) -> Result<()> {
    let now = mail.inner.clock.now();
    let at = to_db(now);
    let Some(row) = mail_outbox::table
        .find(&job.id)
        .filter(mail_outbox::lease.eq(Some(&job.lease)))
        .select(OutboxRow::as_select())
        .first(conn)
        .optional()?
    else {
        tracing::warn!(message = %job.id, "a mail's claim ran out before its outcome was recorded");
        return Ok(());
    };
    let (status, answer, error, next, attempt_outcome) = match outcome {
        Ok(answer) => ("sent", Some(answer), None, None, "sent"),
        Err(f) if !f.temporary => ("failed", f.answer, Some(f.message), None, "failed"),
        Err(f) => {
            let attempts = usize::try_from(row.attempts).unwrap_or(usize::MAX);
            match mail.inner.config.retry_schedule.wait_before_retry(attempts) {
                Some(wait) => (
                    "queued",
                    f.answer,
                    Some(f.message),
                    Some(to_db(now + chrono_dur(wait))),
                    "retry",
                ),
                None => (
                    "failed",
                    f.answer,
                    Some(format!(
                        "Gave up after {} attempts. {}",
                        row.attempts, f.message
                    )),
                    None,
                    "failed",
                ),
            }
        }
    };
    let step_note = match (status, &error) {
        ("sent", _) => None,
        _ => error.clone(),
    };
    diesel::update(mail_outbox::table.find(&row.id))
        .set((
            mail_outbox::status.eq(status),
            mail_outbox::smtp_answer.eq(&answer),
            mail_outbox::error.eq(&error),
            mail_outbox::next_attempt_at.eq(next),
            mail_outbox::sent_at.eq((status == "sent").then_some(at)),
            mail_outbox::locked_until.eq(None::<NaiveDateTime>),
            mail_outbox::lease.eq(None::<String>),
        ))
        .execute(conn)?;
    diesel::update(mail_attempts::table.find(&job.attempt_id))
        .set((
            mail_attempts::outcome.eq(attempt_outcome),
            mail_attempts::smtp_answer.eq(&answer),
            mail_attempts::error.eq(step_note),
        ))
        .execute(conn)?;
    if status == "sent" {
        tracing::info!(message = %row.id, answer = ?answer, "mail sent");
    } else {
        tracing::warn!(message = %row.id, status, error = ?error, answer = ?answer, "mail not sent");
    }
    Ok(())
}
