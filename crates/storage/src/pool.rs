//! Connection pools for both backends and the read/write helpers.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, Pool};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use loket_common::{Error, Result};
use tokio::sync::Semaphore;

use crate::group_commit::GroupCommit;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// A connection to either backend; queries written against it run on both.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    /// PostgreSQL, for multi-instance deployments.
    Postgresql(PgConnection),
    /// SQLite, the embedded default.
    Sqlite(SqliteConnection),
}

/// Which database a [`Db`] talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendKind {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl BackendKind {
    /// Parses `LOKET_DATABASE_URL`: `sqlite://relative.db`, `sqlite:///absolute/path.db`, or
    /// `postgres://…` / `postgresql://…`.
    pub fn parse(url: &str) -> std::result::Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("a sqlite:// URL needs a file path, e.g. sqlite://loket.db".into());
            }
            Ok(BackendKind::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(BackendKind::Postgres(url.to_owned()))
        } else {
            Err("must start with sqlite:// or postgres://".into())
        }
    }

    /// Whether this is SQLite.
    pub fn is_sqlite(&self) -> bool {
        matches!(self, BackendKind::Sqlite(_))
    }
}

/// How long a caller waits for a pooled connection by default before it gets `503 unavailable`.
pub const DEFAULT_POOL_TIMEOUT: Duration = Duration::from_secs(3);

/// Pool settings.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// Which database.
    pub backend: BackendKind,
    /// Maximum pooled connections.
    pub pool_size: u32,
    /// How long a caller waits for a connection (database unreachable, or every connection
    /// busy) before the call fails with `503 unavailable`; also bounds the start-up connect.
    pub pool_timeout: Duration,
}

impl DbConfig {
    /// Settings with the default [`DEFAULT_POOL_TIMEOUT`].
    pub fn new(backend: BackendKind, pool_size: u32) -> DbConfig {
        DbConfig {
            backend,
            pool_size,
            pool_timeout: DEFAULT_POOL_TIMEOUT,
        }
    }
}

/// Opens connections of the configured backend and prepares SQLite ones; remembers whether
/// the last attempt to open one failed (the database is down).
#[derive(Debug)]
pub(crate) struct Manager {
    backend: BackendKind,
    down: Arc<AtomicBool>,
}

impl Manager {
    fn open(&self) -> std::result::Result<AnyConnection, r2d2::Error> {
        match &self.backend {
            BackendKind::Postgres(url) => PgConnection::establish(url)
                .map(AnyConnection::Postgresql)
                .map_err(r2d2::Error::ConnectionError),
            BackendKind::Sqlite(path) => {
                let mut c = SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(r2d2::Error::ConnectionError)?;
                c.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(AnyConnection::Sqlite(c))
            }
        }
    }
}

impl ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> std::result::Result<AnyConnection, r2d2::Error> {
        let result = self.open();
        self.down.store(result.is_err(), Ordering::Relaxed);
        result
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> std::result::Result<(), r2d2::Error> {
        diesel::sql_query("SELECT 1")
            .execute(conn)
            .map(|_| ())
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut AnyConnection) -> bool {
        false
    }
}

/// The database handle shared by every service: a pool plus the write path (SQLite's one
/// writer with group commit, or a gate of concurrent PostgreSQL writers).
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    backend: Arc<BackendKind>,
    writes: Writes,
    down: Arc<AtomicBool>,
}

#[derive(Clone)]
enum Writes {
    /// SQLite: one writer thread committing concurrent writes together.
    Grouped(GroupCommit),
    /// PostgreSQL: at most this many writes at once, each its own transaction.
    Concurrent(Arc<Semaphore>),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend.is_sqlite())
            .finish()
    }
}

impl Db {
    /// Opens the pool (creating a SQLite file and its directory if needed) and applies
    /// pending migrations.
    pub fn connect(config: &DbConfig) -> std::result::Result<Db, String> {
        if let BackendKind::Sqlite(path) = &config.backend
            && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create database directory {}: {e}", dir.display()))?;
        }
        let down = Arc::new(AtomicBool::new(false));
        let pool = Pool::builder()
            .max_size(config.pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(config.pool_timeout.max(Duration::from_millis(100)))
            // A SQLite connection is a file handle that does not go stale; a PostgreSQL one can
            // (a server restart), so it is checked with `SELECT 1` before each use.
            .test_on_check_out(!config.backend.is_sqlite())
            .build(Manager {
                backend: config.backend.clone(),
                down: down.clone(),
            })
            .map_err(|e| format!("cannot connect to the database: {e}"))?;
        let writes = if config.backend.is_sqlite() {
            Writes::Grouped(GroupCommit::start(pool.clone())?)
        } else {
            Writes::Concurrent(Arc::new(Semaphore::new(config.pool_size.max(1) as usize)))
        };
        let db = Db {
            pool,
            backend: Arc::new(config.backend.clone()),
            writes,
            down,
        };
        db.migrate()?;
        Ok(db)
    }

    /// The backend in use.
    pub fn backend(&self) -> &BackendKind {
        &self.backend
    }

    fn migrate(&self) -> std::result::Result<(), String> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| format!("cannot connect to the database: {e}"))?;
        let result = match &mut *conn {
            AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
            AnyConnection::Postgresql(c) => {
                // Several instances may start at once: one migrates, the others wait.
                c.batch_execute("SELECT pg_advisory_lock(7400130)")
                    .map_err(|e| e.to_string())?;
                let r = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ());
                c.batch_execute("SELECT pg_advisory_unlock(7400130)")
                    .map_err(|e| e.to_string())?;
                r
            }
        };
        result.map_err(|e| format!("database migration failed: {e}"))
    }

    /// Runs read-only work on a pooled connection, off the async executor.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = this.connection()?;
            f(&mut conn)
        })
        .await
        .map_err(Error::internal)?
    }

    /// Runs a read of a few rows by key (an indexed lookup: the caller's token, one object by
    /// id). On SQLite it runs on the calling thread: it takes microseconds, less than handing it
    /// to another thread and back, which is what dominated an authenticated GET (issue 8). On
    /// PostgreSQL, where it waits for a network round trip, it runs off the executor like
    /// [`Db::read`]; so does a SQLite lookup when no connection is idle. Anything that may scan
    /// (lists, search, reports) uses [`Db::read`].
    pub async fn lookup<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        // Only an idle connection is used in place: waiting for one would stall every other
        // request of this executor thread, so then the lookup waits off-thread like a read.
        if self.backend.is_sqlite()
            && let Some(mut conn) = self.pool.try_get()
        {
            return f(&mut conn);
        }
        self.read(f).await
    }

    /// Runs `f` in one write transaction: all of its changes commit together or none do, and
    /// the answer comes after the commit. On SQLite concurrent writes share a commit (see
    /// [`crate::group_commit`]), each in its own savepoint.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let gate = match &self.writes {
            Writes::Grouped(writer) => return writer.write(f).await,
            Writes::Concurrent(gate) => gate,
        };
        let _permit = gate
            .clone()
            .acquire_owned()
            .await
            .map_err(Error::internal)?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = this.connection()?;
            write_transaction(&mut conn, f)
        })
        .await
        .map_err(Error::internal)?
    }

    /// Runs `f` in a write transaction on the calling thread; for command-line tools and
    /// blocking workers that are not on the async executor.
    pub fn write_blocking<T>(&self, f: impl FnOnce(&mut AnyConnection) -> Result<T>) -> Result<T> {
        let mut conn = self.connection()?;
        write_transaction(&mut conn, f)
    }

    /// Runs read-only work on the calling thread (command-line tools).
    pub fn read_blocking<T>(&self, f: impl FnOnce(&mut AnyConnection) -> Result<T>) -> Result<T> {
        let mut conn = self.connection()?;
        f(&mut conn)
    }

    /// A pooled connection. While the last attempt to open one failed (the database is down)
    /// only an idle, still working connection is taken and the caller fails at once with
    /// `503 unavailable` instead of waiting; the pool keeps reconnecting in the background and
    /// the first success ends this. Otherwise waits up to the pool timeout.
    fn connection(&self) -> Result<r2d2::PooledConnection<Manager>> {
        if self.down.load(Ordering::Relaxed) {
            return self
                .pool
                .try_get()
                .ok_or_else(|| Error::unavailable("the database is unreachable"));
        }
        Ok(self.pool.get()?)
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<()> {
        self.read(|c| {
            diesel::sql_query("SELECT 1").execute(c)?;
            Ok(())
        })
        .await
    }
}

/// Begins (`BEGIN IMMEDIATE` on SQLite), runs `f`, commits; rolls back on error.
fn write_transaction<T>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T>,
) -> Result<T> {
    match conn {
        AnyConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        AnyConnection::Postgresql(_) => AnyConnection::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => match AnyConnection::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = AnyConnection::rollback_transaction(conn);
                Err(e.into())
            }
        },
        Err(e) => {
            AnyConnection::rollback_transaction(conn)?;
            Err(e)
        }
    }
}
