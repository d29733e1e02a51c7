//! `spawn_app()`: builds the real application on port 0 over a fresh database.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use actix_web::web;
use loket_common::time::OffsetClock;
use loket_gateway::state::AppState;
use loket_gateway::{Application, Settings};
use loket_storage::BackendKind;
use loket_storage::testing::{backend_from_env, fresh_database};

/// A running server for one test.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// A client that does not follow redirects.
    pub client: reqwest::Client,
    /// The server's state (database, settings).
    pub state: web::Data<AppState>,
    /// The server's clock; tests move it forward.
    pub clock: Arc<OffsetClock>,
}

impl TestApp {
    /// An absolute URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request failed")
    }
}

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if std::env::var_os("LOKET_TEST_LOG").is_some() {
            let _ = std::io::stderr().write_all(buf);
        }
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything the server logged so far in this test process (at debug level).
pub fn captured_logs() -> String {
    LOGS.get()
        .map(|l| String::from_utf8_lossy(&l.lock().unwrap()).into_owned())
        .unwrap_or_default()
}

fn init_logs() {
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buf.clone());
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug,h2=info,hyper=info,rustls=info,reqwest=info")
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .try_init();
        buf
    });
}

/// Spawns the app with default test settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Spawns the app with extra `LOKET_*` variables.
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    init_logs();
    let dir = std::env::temp_dir().join("loket-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let database = match fresh_database(backend_from_env(), &dir).unwrap() {
        BackendKind::Sqlite(p) => format!("sqlite://{}", p.display()),
        BackendKind::Postgres(u) => u,
    };
    let mut vars: Vec<(String, String)> = vec![
        ("LOKET_DATABASE_URL".into(), database),
        ("LOKET_ADDR".into(), "127.0.0.1:0".into()),
        ("LOKET_WORKERS".into(), "2".into()),
        ("LOKET_DATABASE_POOL_SIZE".into(), "4".into()),
        (
            "LOKET_SECRET_KEY".into(),
            loket_common::crypto::SecretKey::generate().to_base64(),
        ),
    ];
    for (k, v) in extra {
        vars.retain(|(name, _)| name != k);
        vars.push(((*k).into(), (*v).into()));
    }
    let (settings, _) = Settings::from_vars(vars).unwrap();
    let clock = Arc::new(OffsetClock::default());
    let app = Application::build(settings, clock.clone()).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        address,
        client,
        state,
        clock,
    }
}
