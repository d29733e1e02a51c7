//! SQLite's one writer, with group commit (issue 8).
//!
//! SQLite lets one connection write at a time, and each commit writes every page the
//! transaction touched to the WAL. Concurrent writes therefore queue here for one thread that
//! owns the write lock, takes every write waiting (up to [`MAX_BATCH`]) and runs them in one
//! `BEGIN IMMEDIATE … COMMIT`, each inside its own savepoint: a write that fails (or panics)
//! is rolled back alone, the others commit together. Pages several writes share (the last leaf
//! of each table and index, the outbox, the full-text segments) are then written once per batch
//! instead of once per write. A caller hears of its write only after the commit, so an
//! acknowledged write is durable and no write sees an uncommitted one of another caller that
//! could still vanish: the batch commits or fails as a whole.
//!
//! Written by hand: it is a loop over a channel around diesel's savepoints; no crate offers
//! group commit over a diesel connection.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::r2d2::{Pool, PooledConnection};
use loket_common::{Error, Result};
use tokio::sync::oneshot;

use crate::pool::{AnyConnection, Manager};

/// Most writes committed together; bounds the wait of the last one in a batch.
pub const MAX_BATCH: usize = 64;

/// What the writer thread is handed: a write to run, or to refuse when no connection is left.
trait Job: Send {
    /// Runs the write in a savepoint; answers how to report it once the batch has ended.
    fn run(self: Box<Self>, conn: &mut AnyConnection) -> Report;
    /// Reports `e` without running.
    fn fail(self: Box<Self>, e: Error);
}

/// Delivers a write's outcome given the batch's: `Err` when the commit failed.
type Report = Box<dyn FnOnce(std::result::Result<(), &str>) + Send>;

struct Write<T, F> {
    f: F,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Job for Write<T, F>
where
    F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    fn run(self: Box<Self>, conn: &mut AnyConnection) -> Report {
        let Write { f, reply } = *self;
        let outcome = in_savepoint(conn, f);
        Box::new(move |committed| {
            let result = outcome.and_then(|v| match committed {
                Ok(()) => Ok(v),
                Err(why) => Err(Error::internal(format!("commit failed: {why}"))),
            });
            let _ = reply.send(result);
        })
    }

    fn fail(self: Box<Self>, e: Error) {
        let _ = self.reply.send(Err(e));
    }
}

/// Runs `f` in a savepoint of the open batch transaction; rolls it back on error or panic.
fn in_savepoint<T>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T>,
) -> Result<T> {
    AnyConnection::begin_transaction(conn)?;
    match catch_unwind(AssertUnwindSafe(|| f(conn))) {
        Ok(Ok(v)) => match AnyConnection::commit_transaction(conn) {
            Ok(()) => Ok(v),
            Err(e) => {
                let _ = AnyConnection::rollback_transaction(conn);
                Err(e.into())
            }
        },
        Ok(Err(e)) => {
            AnyConnection::rollback_transaction(conn)?;
            Err(e)
        }
        Err(_) => {
            AnyConnection::rollback_transaction(conn)?;
            Err(Error::internal("a database write panicked"))
        }
    }
}

/// How many transactions and savepoints are open on `conn` (`None`: none).
fn depth(conn: &mut AnyConnection) -> Option<u32> {
    <AnyConnection as diesel::Connection>::TransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .ok()
        .flatten()
        .map(|d| d.get())
}

/// The handle the pool keeps; dropping the last one ends the writer thread.
#[derive(Clone)]
pub(crate) struct GroupCommit {
    jobs: Sender<Box<dyn Job>>,
}

impl GroupCommit {
    /// Starts the writer thread over `pool`.
    pub(crate) fn start(pool: Pool<Manager>) -> std::result::Result<Self, String> {
        let (jobs, rx) = channel();
        std::thread::Builder::new()
            .name("loket-sqlite-writer".into())
            .spawn(move || writer(pool, rx))
            .map_err(|e| format!("cannot start the database writer: {e}"))?;
        Ok(GroupCommit { jobs })
    }

    /// Queues `f` and waits for the commit of its batch.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(Write { f, reply }))
            .map_err(|_| Error::internal("the database writer has stopped"))?;
        answer
            .await
            .map_err(|_| Error::internal("the database writer has stopped"))?
    }
}

fn writer(pool: Pool<Manager>, rx: Receiver<Box<dyn Job>>) {
    // The writer keeps its connection between batches, so readers holding every other one of
    // the pool never make a write wait for a connection.
    let mut held: Option<PooledConnection<Manager>> = None;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let conn = match held.take().map_or_else(|| pool.get(), Ok) {
            Ok(c) => held.insert(c),
            Err(e) => {
                let why = e.to_string();
                for job in batch {
                    job.fail(Error::unavailable(why.clone()));
                }
                continue;
            }
        };
        let conn: &mut AnyConnection = conn;
        let begun = match conn {
            AnyConnection::Sqlite(c) => {
                AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
            }
            AnyConnection::Postgresql(_) => AnyConnection::begin_transaction(conn),
        };
        if let Err(e) = begun {
            held = None;
            let why = e.to_string();
            for job in batch {
                job.fail(Error::internal(format!("cannot begin a write: {why}")));
            }
            continue;
        }
        let reports: Vec<Report> = batch.into_iter().map(|job| job.run(conn)).collect();
        let committed = if depth(conn) == Some(1) {
            AnyConnection::commit_transaction(conn).map_err(|e| {
                let _ = AnyConnection::rollback_transaction(conn);
                e.to_string()
            })
        } else {
            // A savepoint could not be rolled back: nothing of this batch may commit.
            while depth(conn).is_some() {
                if AnyConnection::rollback_transaction(conn).is_err() {
                    break;
                }
            }
            Err("a write could not be rolled back".to_owned())
        };
        if committed.is_err() {
            held = None;
        }
        for report in reports {
            report(committed.as_ref().map(|_| ()).map_err(String::as_str));
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::RunQueryDsl;
    use diesel::connection::SimpleConnection;
    use diesel::sql_types::BigInt;

    use crate::{BackendKind, Db, DbConfig};

    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    fn db() -> Db {
        let path = std::env::temp_dir().join(format!("loket-gc-{}.db", uuid::Uuid::new_v4()));
        let db = Db::connect(&DbConfig::new(BackendKind::Sqlite(path), 4)).unwrap();
        db.write_blocking(|c| Ok(c.batch_execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")?))
            .unwrap();
        db
    }

    fn stored(db: &Db) -> Vec<i64> {
        db.read_blocking(|c| {
            let rows: Vec<N> = diesel::sql_query("SELECT n FROM t ORDER BY n").load(c)?;
            Ok(rows.into_iter().map(|r| r.n).collect())
        })
        .unwrap()
    }

    /// 200 concurrent writes, every seventh failing after its insert and one panicking: the
    /// failed ones leave nothing, all others are committed and reported as such.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_failing_write_rolls_back_alone_in_its_batch() {
        let db = db();
        let mut tasks = Vec::new();
        for n in 0..200i64 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                db.write(move |c| {
                    diesel::sql_query(format!("INSERT INTO t (n) VALUES ({n})")).execute(c)?;
                    if n == 13 {
                        panic!("write {n} panics");
                    }
                    if n % 7 == 0 {
                        return Err(loket_common::Error::invalid("n", "refused"));
                    }
                    Ok(n)
                })
                .await
            }));
        }
        let mut acknowledged = Vec::new();
        for t in tasks {
            if let Ok(n) = t.await.unwrap() {
                acknowledged.push(n);
            }
        }
        let expected: Vec<i64> = (0..200).filter(|n| n % 7 != 0 && *n != 13).collect();
        assert_eq!(acknowledged, expected);
        assert_eq!(stored(&db), expected);
    }

    /// A write sees the writes committed before it in the same batch, as if run one by one.
    #[tokio::test]
    async fn writes_in_one_batch_see_each_other() {
        let db = db();
        let (a, b) = tokio::join!(
            db.write(|c| Ok(diesel::sql_query("INSERT INTO t (n) VALUES (1)").execute(c)?)),
            db.write(|c| {
                let rows: Vec<N> = diesel::sql_query("SELECT count(*) AS n FROM t").load(c)?;
                diesel::sql_query(format!("INSERT INTO t (n) VALUES ({})", 10 + rows[0].n))
                    .execute(c)?;
                Ok(0)
            }),
        );
        a.unwrap();
        b.unwrap();
        assert_eq!(stored(&db), vec![1, 11]);
    }
}
