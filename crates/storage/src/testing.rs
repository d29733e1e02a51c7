//! Fresh databases for tests: a new SQLite file, or a new PostgreSQL database on the server
//! named by `LOKET_TEST_POSTGRES_URL` (started by `scripts/ensure-postgres.sh`).

use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl};

use crate::BackendKind;

/// The backends a test suite can run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    /// A temporary SQLite file.
    Sqlite,
    /// A new database on the test PostgreSQL server.
    Postgres,
}

/// The backend chosen by `LOKET_TEST_BACKEND` (`sqlite`, the default, or `postgres`).
pub fn backend_from_env() -> TestBackend {
    match std::env::var("LOKET_TEST_BACKEND").as_deref() {
        Ok("postgres") | Ok("postgresql") => TestBackend::Postgres,
        _ => TestBackend::Sqlite,
    }
}

/// Creates an empty database and returns where it is. `dir` holds SQLite files.
pub fn fresh_database(backend: TestBackend, dir: &std::path::Path) -> Result<BackendKind, String> {
    let name = format!("loket_t_{}", uuid::Uuid::new_v4().simple());
    match backend {
        TestBackend::Sqlite => Ok(BackendKind::Sqlite(dir.join(format!("{name}.db")))),
        TestBackend::Postgres => {
            let admin = std::env::var("LOKET_TEST_POSTGRES_URL").map_err(|_| {
                "LOKET_TEST_POSTGRES_URL is not set (run scripts/ensure-postgres.sh)".to_owned()
            })?;
            let mut conn = PgConnection::establish(&admin)
                .map_err(|e| format!("cannot reach {admin}: {e}"))?;
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .map_err(|e| e.to_string())?;
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            Ok(BackendKind::Postgres(format!("{base}/{name}")))
        }
    }
}
