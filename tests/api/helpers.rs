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
        ("LOKET_JOBS_INTERVAL".into(), "1".into()),
        // Attachments in the temp dir on both backends (PostgreSQL's default is the working
        // directory, which would be the source tree).
        (
            "LOKET_ATTACHMENTS_URL".into(),
            format!("file://{}", dir.join("attachments").display()),
        ),
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

/// The first API account of a tenant made by [`TestApp::bootstrap`] (superadmin).
#[derive(Debug, Clone)]
pub struct Admin {
    pub tenant_id: uuid::Uuid,
    pub account_id: uuid::Uuid,
    pub username: String,
    pub password: String,
    pub totp_secret: String,
}

/// RFC 6238 TOTP (SHA-1, 6 digits, 30 s) written here from the RFC, independent of the
/// server's totp-rs, so a login test catches a server that computes codes wrongly.
pub fn totp_code(base32_secret: &str, unix_time: u64) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let secret = base32_decode(base32_secret);
    let counter = (unix_time / 30).to_be_bytes();
    let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(&secret).unwrap();
    mac.update(&counter);
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", bin % 1_000_000)
}

fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u32, Vec::new());
    for c in s.trim_end_matches('=').bytes() {
        let v = ALPHABET
            .iter()
            .position(|&a| a == c.to_ascii_uppercase())
            .unwrap() as u32;
        value = (value << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((value >> bits) as u8);
            value &= (1 << bits) - 1;
        }
    }
    out
}

impl TestApp {
    /// The server clock as unix seconds.
    pub fn unix_now(&self) -> u64 {
        self.state.clock.now().timestamp() as u64
    }

    /// Creates a tenant with a superadmin + platform:admin API account (as `loket admin bootstrap`).
    pub async fn bootstrap(&self, tenant: &str) -> Admin {
        let created = self
            .state
            .accounts
            .create_tenant(
                loket_common::Actor::system(),
                loket_accounts::api::NewTenant {
                    name: tenant.to_owned(),
                    default_culture: None,
                },
                true,
            )
            .await
            .unwrap();
        Admin {
            tenant_id: created.tenant.id,
            account_id: created.api_account.id,
            username: created.username,
            password: created.password,
            totp_secret: created.totp_secret,
        }
    }

    /// POSTs a password grant and returns the raw response.
    pub async fn password_grant(
        &self,
        username: &str,
        password_and_code: &str,
    ) -> reqwest::Response {
        self.client
            .post(self.url("/oauth/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", username),
                ("password", password_and_code),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Logs in with password + the current TOTP code. TOTP codes are single use, so a second
    /// login in the same 30 s step uses the next step's code (within the ±1 skew).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        totp_secret: &str,
    ) -> serde_json::Value {
        for offset in [0u64, 30] {
            let code = totp_code(totp_secret, self.unix_now() + offset);
            let res = self
                .password_grant(username, &format!("{password}{code}"))
                .await;
            if res.status() == 200 {
                return res.json().await.unwrap();
            }
        }
        panic!("login failed for {username}");
    }

    /// A fresh tenant and an access token of its superadmin account.
    pub async fn admin_token(&self, tenant: &str) -> (Admin, String) {
        let admin = self.bootstrap(tenant).await;
        let token = self
            .login(&admin.username, &admin.password, &admin.totp_secret)
            .await;
        (admin, token["access_token"].as_str().unwrap().to_owned())
    }
}

/// Asserts the status (showing the body when it differs) and returns the JSON body.
pub async fn json_of(res: reqwest::Response, status: u16) -> serde_json::Value {
    let got = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "unexpected status; body: {text}");
    if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

/// Asserts a problem document (`application/problem+json`) of the given status and type slug;
/// returns it.
pub async fn problem(res: reqwest::Response, status: u16, slug: &str) -> serde_json::Value {
    assert_eq!(
        res.headers()["content-type"],
        "application/problem+json",
        "status {}",
        res.status()
    );
    let body = json_of(res, status).await;
    assert_eq!(body["type"], format!("/problems/{slug}"), "{body}");
    body
}
