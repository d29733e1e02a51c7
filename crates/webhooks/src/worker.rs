//! The background tasks: the fan-out loop, the delivery pump with its send tasks, and the
//! recorder that writes attempt results in batches. All state is in the database; the tasks
//! can stop at any moment (a crash) and a new process resumes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio::task::{JoinHandle, JoinSet};

use crate::Webhooks;
use crate::dispatcher::{self, Capacity, Job, Outcome};

/// Outbox events fanned out per transaction.
const FAN_OUT_BATCH: i64 = 500;
/// Results written per transaction, at most.
const RECORD_BATCH: usize = 500;
/// How often the idle delivery pump looks for due retries (new deliveries wake it at once).
const IDLE_POLL: Duration = Duration::from_millis(100);
/// How often the idle fan-out looks for new outbox events (a cheap indexed read).
const OUTBOX_POLL: Duration = Duration::from_millis(20);
/// How long the busy pump gathers freed slots before claiming again.
const CLAIM_WINDOW: Duration = Duration::from_millis(3);
/// Pause after a database error.
const ERROR_PAUSE: Duration = Duration::from_secs(1);

/// The running tasks.
pub(crate) struct Handles(Vec<JoinHandle<()>>);

impl Drop for Handles {
    fn drop(&mut self) {
        for h in &self.0 {
            h.abort();
        }
    }
}

/// Deliveries in flight, overall and per receiver.
#[derive(Default)]
struct InFlight {
    total: usize,
    per_receiver: HashMap<String, usize>,
}

struct Shared {
    in_flight: Mutex<InFlight>,
    slot_freed: Notify,
}

impl Webhooks {
    /// Starts the background delivery (fan-out, sending, recording). Call once, from within
    /// the tokio runtime; calling again restarts the tasks.
    pub fn start(&self) {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            in_flight: Mutex::new(InFlight::default()),
            slot_freed: Notify::new(),
        });
        let handles = Handles(vec![
            tokio::spawn(self.clone().fan_out_loop()),
            tokio::spawn(self.clone().pump_loop(shared, tx)),
            tokio::spawn(self.clone().record_loop(rx)),
        ]);
        if let Ok(mut w) = self.inner.worker.lock() {
            *w = Some(handles);
        }
    }

    /// Stops the background tasks at once, as a crash would: attempts in flight are abandoned
    /// (their leases expire and they are sent again); nothing else is lost.
    pub fn stop(&self) {
        if let Ok(mut w) = self.inner.worker.lock() {
            w.take();
        }
    }

    async fn fan_out_loop(self) {
        loop {
            let db = self.inner.db.clone();
            let pending = db.read(dispatcher::has_undispatched).await;
            match pending {
                Ok(true) => {
                    let directory = self.inner.directory.clone();
                    let now = self.inner.clock.now();
                    let done = db
                        .write(move |c| {
                            dispatcher::fan_out(c, directory.as_ref(), now, FAN_OUT_BATCH)
                        })
                        .await;
                    match done {
                        Ok(n) => {
                            if n.deliveries > 0 {
                                self.inner.wake.notify_one();
                            }
                            if n.events as i64 >= FAN_OUT_BATCH {
                                continue;
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = ?e, "webhook fan-out failed");
                            tokio::time::sleep(ERROR_PAUSE).await;
                            continue;
                        }
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(error = ?e, "webhook fan-out failed");
                    tokio::time::sleep(ERROR_PAUSE).await;
                    continue;
                }
            }
            tokio::time::sleep(OUTBOX_POLL).await;
        }
    }

    fn capacity(&self, shared: &Shared) -> Capacity {
        let config = &self.inner.config;
        match shared.in_flight.lock() {
            Ok(f) => Capacity {
                total: config.concurrency.saturating_sub(f.total),
                per_receiver: config.receiver_concurrency.max(1),
                in_flight: f.per_receiver.clone(),
            },
            Err(_) => Capacity::default(),
        }
    }

    async fn pump_loop(self, shared: Arc<Shared>, results: mpsc::UnboundedSender<Outcome>) {
        // Dropping the set (when this task is aborted) aborts the send tasks too.
        let mut sending: JoinSet<()> = JoinSet::new();
        let lease = chrono::Duration::from_std(self.inner.config.lease())
            .unwrap_or(chrono::Duration::seconds(60));
        loop {
            while sending.try_join_next().is_some() {}
            if !sending.is_empty() {
                // Under load, let a few slots free up so one claim covers several deliveries
                // (a claim is a write transaction; one per delivery would cap the rate).
                tokio::time::sleep(CLAIM_WINDOW).await;
            }
            let capacity = self.capacity(&shared);
            if capacity.total == 0 {
                tokio::select! {
                    _ = shared.slot_freed.notified() => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                }
                continue;
            }
            let now = self.inner.clock.now();
            let full = capacity.full();
            let db = self.inner.db.clone();
            let due = db.read(move |c| dispatcher::has_due(c, now, &full)).await;
            let jobs = match due {
                Ok(true) => {
                    let directory = self.inner.directory.clone();
                    let cap = capacity.clone();
                    db.write(move |c| dispatcher::claim(c, directory.as_ref(), now, lease, &cap))
                        .await
                }
                Ok(false) => Ok(Vec::new()),
                Err(e) => Err(e),
            };
            let jobs = match jobs {
                Ok(j) => j,
                Err(e) => {
                    tracing::error!(error = ?e, "claiming webhook deliveries failed");
                    tokio::time::sleep(ERROR_PAUSE).await;
                    continue;
                }
            };
            if jobs.is_empty() {
                tokio::select! {
                    _ = self.inner.wake.notified() => {}
                    _ = shared.slot_freed.notified() => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                }
                continue;
            }
            for job in jobs {
                if let Ok(mut f) = shared.in_flight.lock() {
                    f.total += 1;
                    *f.per_receiver.entry(job.receiver_id.clone()).or_insert(0) += 1;
                }
                sending.spawn(self.clone().send_one(job, shared.clone(), results.clone()));
            }
        }
    }

    async fn send_one(
        self,
        job: Job,
        shared: Arc<Shared>,
        results: mpsc::UnboundedSender<Outcome>,
    ) {
        let attempted_at = self.inner.clock.now();
        let answer = self
            .inner
            .sender
            .send(
                &self.inner.key,
                &job.target,
                &job.delivery_id,
                &job.body,
                attempted_at,
            )
            .await;
        if let Some(e) = &answer.error {
            tracing::debug!(delivery = %job.delivery_id, receiver = %job.receiver_id, error = %e, "webhook attempt failed");
        }
        let _ = results.send(Outcome {
            delivery_id: job.delivery_id,
            tenant_id: job.tenant_id,
            receiver_id: job.receiver_id.clone(),
            lease: job.lease,
            failed_attempts: job.failed_attempts,
            attempted_at,
            answer,
        });
        if let Ok(mut f) = shared.in_flight.lock() {
            f.total = f.total.saturating_sub(1);
            if let Some(n) = f.per_receiver.get_mut(&job.receiver_id) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    f.per_receiver.remove(&job.receiver_id);
                }
            }
        }
        shared.slot_freed.notify_one();
    }

    async fn record_loop(self, mut rx: mpsc::UnboundedReceiver<Outcome>) {
        let mut batch: Vec<Outcome> = Vec::new();
        let mut failures = 0u32;
        loop {
            if batch.is_empty() {
                match rx.recv().await {
                    Some(o) => batch.push(o),
                    None => return,
                }
            }
            while batch.len() < RECORD_BATCH {
                match rx.try_recv() {
                    Ok(o) => batch.push(o),
                    Err(_) => break,
                }
            }
            let config = self.inner.config.clone();
            let directory = self.inner.directory.clone();
            let now = self.inner.clock.now();
            let outcomes = batch.clone();
            let written = self
                .inner
                .db
                .write(move |c| dispatcher::record(c, &config, directory.as_ref(), now, &outcomes))
                .await;
            match written {
                Ok(()) => {
                    batch.clear();
                    failures = 0;
                }
                Err(e) => {
                    failures += 1;
                    tracing::error!(error = ?e, "recording webhook attempts failed");
                    if failures >= 5 {
                        // The leases expire and these deliveries are sent again.
                        batch.clear();
                        failures = 0;
                    }
                    tokio::time::sleep(ERROR_PAUSE).await;
                }
            }
        }
    }
}
