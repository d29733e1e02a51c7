//! Webhook throughput and latency, end to end: events committed to the outbox of a SQLite
//! database, fanned out, signed and POSTed by the delivery worker to a local HTTP receiver.
//!
//! Prints deliveries per second for a burst of events, and the p50/p99 latency from commit to
//! receipt at a steady rate below saturation. Run with `make bench` (or
//! `cargo bench -p loket-webhooks --bench throughput`); `LOKET_BENCH_EVENTS` sets the burst size.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use loket_common::crypto::SecretKey;
use loket_common::time::SystemClock;
use loket_common::{Permission, Permissions, Principal, SubjectKind};
use loket_storage::outbox::{self, NewEvent};
use loket_storage::{AnyConnection, BackendKind, Db, DbConfig};
use loket_webhooks::api::{NewReceiver, NewReceiverAuth};
use loket_webhooks::ssrf::AllowList;
use loket_webhooks::{
    AccountDirectory, AccountGrant, Catalogue, TopicSpec, Webhooks, WebhooksConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use uuid::Uuid;

/// Every account is an active superadmin.
struct Everyone;

impl AccountDirectory for Everyone {
    fn api_account(
        &self,
        _: &mut AnyConnection,
        _: Uuid,
        _: Uuid,
    ) -> loket_common::Result<Option<AccountGrant>> {
        Ok(Some(AccountGrant {
            active: true,
            permissions: Permissions::new([Permission::Superadmin]),
        }))
    }
}

type Receipts = Arc<Mutex<HashMap<String, Instant>>>;

/// A minimal keep-alive HTTP/1.1 receiver: records when each event id arrived, answers 204.
async fn receiver(receipts: Receipts) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let receipts = receipts.clone();
            tokio::spawn(async move {
                let mut buf: Vec<u8> = Vec::with_capacity(8192);
                let mut chunk = [0u8; 8192];
                loop {
                    // Headers.
                    let end = loop {
                        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break p + 4;
                        }
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < end + len {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let at = Instant::now();
                    let body = &buf[end..end + len];
                    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body)
                        && let Some(id) = v["id"].as_str()
                    {
                        receipts.lock().unwrap().insert(id.to_owned(), at);
                    }
                    buf.drain(..end + len);
                    if sock
                        .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    port
}

async fn publish(db: &Db, tenant: Uuid, n: usize) -> (Vec<String>, Instant) {
    let ids = db
        .write(move |c| {
            let now = chrono::Utc::now();
            (0..n)
                .map(|i| {
                    let object = Uuid::now_v7();
                    outbox::publish(
                        c,
                        &NewEvent {
                            tenant_id: tenant,
                            topic: "Accounts.Create",
                            object_id: object,
                            payload: serde_json::json!({"id": object, "kind": "user", "name": format!("User {i}"), "email": format!("user{i}@example.org")}),
                            occurred_at: now,
                            actor_api_account_id: None,
                            actor_user_id: None,
                        },
                    )
                    .map(|id| id.to_string())
                })
                .collect::<loket_common::Result<Vec<_>>>()
        })
        .await
        .unwrap();
    (ids, Instant::now())
}

async fn wait_for(receipts: &Receipts, ids: &[String], timeout: Duration) {
    let start = Instant::now();
    loop {
        let done = {
            let r = receipts.lock().unwrap();
            ids.iter().all(|id| r.contains_key(id))
        };
        if done {
            return;
        }
        if start.elapsed() > timeout {
            let got = {
                let r = receipts.lock().unwrap();
                ids.iter().filter(|id| r.contains_key(*id)).count()
            };
            panic!("only {got} of {} delivered after {timeout:?}", ids.len());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let burst: usize = std::env::var("LOKET_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = std::env::temp_dir().join(format!("loket-bench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = Db::connect(&DbConfig::new(BackendKind::Sqlite(dir.join("bench.db")), 8)).unwrap();
    let tenant = Uuid::now_v7();
    let account = Uuid::now_v7();
    db.write(move |c| {
        diesel::sql_query(format!(
            "INSERT INTO tenants (id, name, name_key, slug, default_culture, created_at, updated_at) \
             VALUES ('{tenant}', 'Bench', 'bench', 'bench', 'nl-NL', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        ))
        .execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    let receipts: Receipts = Arc::new(Mutex::new(HashMap::new()));
    let port = receiver(receipts.clone()).await;
    let defaults = WebhooksConfig::default();
    let knob = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let config = WebhooksConfig {
        allowed_hosts: AllowList::parse("127.0.0.1").unwrap(),
        concurrency: knob("LOKET_WEBHOOK_CONCURRENCY", defaults.concurrency),
        receiver_concurrency: knob(
            "LOKET_WEBHOOK_RECEIVER_CONCURRENCY",
            defaults.receiver_concurrency,
        ),
        ..defaults
    };
    let webhooks = Webhooks::new(
        db.clone(),
        Arc::new(SystemClock),
        SecretKey::generate(),
        config,
        Catalogue::new([TopicSpec::new(
            "Accounts.Create",
            "bench",
            serde_json::json!({}),
        )]),
        Arc::new(Everyone),
    )
    .unwrap();
    let principal = Principal {
        tenant_id: tenant,
        subject: account,
        kind: SubjectKind::ApiAccount,
        actor: None,
        permissions: Permissions::new([Permission::Superadmin]),
        token_id: Uuid::now_v7(),
    };
    webhooks
        .create_receiver(
            &principal,
            NewReceiver {
                name: "Bench receiver".into(),
                url: format!("http://127.0.0.1:{port}/hook"),
                topics: vec!["Accounts.*".into()],
                api_account_id: None,
                auth: Some(NewReceiverAuth::Websub { secret: None }),
            },
        )
        .await
        .unwrap();
    webhooks.start();

    // Warm-up: connections, caches, page cache.
    let (ids, _) = publish(&db, tenant, 200).await;
    wait_for(&receipts, &ids, Duration::from_secs(30)).await;

    // 1. Throughput: a burst committed in transactions of 500 events.
    let start = Instant::now();
    let mut all = Vec::with_capacity(burst);
    while all.len() < burst {
        let (ids, _) = publish(&db, tenant, 500.min(burst - all.len())).await;
        all.extend(ids);
    }
    let committed = start.elapsed();
    wait_for(&receipts, &all, Duration::from_secs(600)).await;
    let took = start.elapsed();
    let rate = burst as f64 / took.as_secs_f64();

    // 2. Latency at a steady 1,000 events/s (10 events every 10 ms), below saturation.
    let mut commits: Vec<(String, Instant)> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    for _ in 0..300 {
        tick.tick().await;
        let (ids, at) = publish(&db, tenant, 10).await;
        commits.extend(ids.into_iter().map(|id| (id, at)));
    }
    let ids: Vec<String> = commits.iter().map(|(id, _)| id.clone()).collect();
    wait_for(&receipts, &ids, Duration::from_secs(120)).await;
    let mut latencies: Vec<Duration> = {
        let r = receipts.lock().unwrap();
        commits
            .iter()
            .map(|(id, at)| r[id].saturating_duration_since(*at))
            .collect()
    };
    latencies.sort();
    webhooks.stop();
    println!(
        "webhooks (SQLite, one local receiver, {} CPUs):",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!(
        "  throughput: {burst} events delivered in {:.2} s = {rate:.0} deliveries/s (outbox commits took {:.2} s)",
        took.as_secs_f64(),
        committed.as_secs_f64()
    );
    println!(
        "  latency commit -> receipt at 1000 events/s: p50 {:.1} ms, p99 {:.1} ms ({} events)",
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
