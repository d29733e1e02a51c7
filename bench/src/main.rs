//! `make bench` (issue 8): load figures of a release build of `loket` on 127.0.0.1, driven by
//! `wrk`, on SQLite and on PostgreSQL. For each scenario it reports requests/s, p50/p99
//! latency, errors (non-2xx answers and socket errors) and the server's peak RSS, and each
//! throughput as a ratio to the ceiling (a bare actix-web handler, `ceiling`, measured in the
//! same run). Prints a table and writes `bench/results.json`. Figures, not pass/fail.
//!
//! Settings (environment): `LOKET_BENCH_BACKENDS` (`sqlite,postgres`), `LOKET_BENCH_SECONDS`
//! per run (5), `LOKET_BENCH_GROWTH` row counts for the growth curve
//! (`10000,100000,1000000`), `LOKET_BENCH_OUT` (`bench/results.json`), and
//! `LOKET_TEST_POSTGRES_URL` for PostgreSQL (the Makefile starts a server).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a tool: fail loudly

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use loket_storage::testing::{TestBackend, fresh_database};
use loket_storage::{AnyConnection, BackendKind, Db, DbConfig};
use serde::Serialize;
use serde_json::{Value, json};

/// wrk connections and threads, as the issue states the target (`wrk -t1 -c64`).
const CONNECTIONS: u32 = 64;
/// API accounts logging in for the token-endpoint figure.
const LOGINS: usize = 32;

#[derive(Debug, Clone, Serialize)]
struct Figure {
    backend: String,
    scenario: String,
    rows: Option<u64>,
    requests_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    peak_rss_mib: f64,
    ratio_to_ceiling: Option<f64>,
}

struct Load {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

/// A server process, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(bin: &Path, env: &[(&str, String)], health: &str) -> Server {
        let port = free_port();
        let mut cmd = Command::new(bin);
        if bin.ends_with("loket") {
            cmd.arg("serve");
        }
        cmd.env("LOKET_ADDR", format!("127.0.0.1:{port}"))
            .env("LOKET_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if healthy(&addr, health) {
                return Server {
                    child,
                    base: format!("http://{addr}"),
                };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("{} did not become healthy", bin.display());
    }

    /// Peak resident set size since the last [`Server::reset_peak`], in MiB.
    fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }

    /// Starts a new peak-RSS measurement (Linux `clear_refs` 5).
    fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `GET path` on `addr` answers 200 (a raw HTTP/1.1 request: no runtime needed).
fn healthy(addr: &str, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut head = [0u8; 12];
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.1 200")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs wrk for `seconds` with a Lua `script` (headers, body, pacing) and reads the JSON line
/// its `done` hook prints.
fn wrk(url: &str, script: &str, connections: u32, seconds: u64) -> Load {
    let dir = std::env::temp_dir().join("loket-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.lua", uuid::Uuid::new_v4().simple()));
    let done = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"#;
    std::fs::write(&path, format!("{script}\n{done}")).unwrap();
    let out = Command::new("wrk")
        .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s")])
        .arg("-s")
        .arg(&path)
        .arg(url)
        .output()
        .expect("wrk is installed by scripts/ensure-bench-tools.sh");
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("BENCH "))
        .unwrap_or_else(|| panic!("wrk printed no figures: {text}"));
    let v: Value = serde_json::from_str(line).unwrap();
    let n = |k: &str| v[k].as_f64().unwrap_or(0.0);
    Load {
        rps: n("requests") / (n("duration_us") / 1e6),
        p50_ms: n("p50_us") / 1000.0,
        p99_ms: n("p99_us") / 1000.0,
        errors: v["errors"].as_u64().unwrap_or(0),
    }
}

fn lua_auth(token: &str) -> String {
    format!("wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n")
}

fn lua_post(token: &str, body: &Value) -> String {
    format!(
        "{}wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = [==[{}]==]\n",
        lua_auth(token),
        body
    )
}

/// Appointments of one staff member, half an hour apart from 2030 on: never double booked.
fn lua_appointments(token: &str, employee: &str, staff: &str, kind: &str) -> String {
    format!(
        r#"{auth}wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  local starts = os.date("!%Y-%m-%dT%H:%M:%SZ", 1893456000 + counter * 1800)
  local body = string.format('{{"employee_id":"{employee}","staff_id":"{staff}","consultation_type_id":"{kind}","starts_at":"%s"}}', starts)
  return wrk.format("POST", "/api/v1/appointments", nil, body)
end
"#,
        auth = lua_auth(token)
    )
}

struct Ctx {
    backend: String,
    seconds: u64,
    figures: Vec<Figure>,
    ceiling: f64,
}

impl Ctx {
    fn record(&mut self, server: &Server, scenario: &str, rows: Option<u64>, load: Load) {
        let ratio = (self.ceiling > 0.0).then(|| load.rps / self.ceiling);
        let f = Figure {
            backend: self.backend.clone(),
            scenario: scenario.to_owned(),
            rows,
            requests_per_s: load.rps,
            p50_ms: load.p50_ms,
            p99_ms: load.p99_ms,
            errors: load.errors,
            peak_rss_mib: server.peak_rss_mib(),
            ratio_to_ceiling: ratio,
        };
        println!(
            "{:<10} {:<44} {:>10.0} {:>8.2} {:>8.2} {:>7} {:>8.1} {:>7}",
            f.backend,
            match rows {
                Some(n) => format!("{scenario} ({n} rows)"),
                None => scenario.to_owned(),
            },
            f.requests_per_s,
            f.p50_ms,
            f.p99_ms,
            f.errors,
            f.peak_rss_mib,
            ratio.map_or("-".into(), |r| format!("{:.0} %", r * 100.0)),
        );
        self.figures.push(f);
    }

    fn run(&mut self, server: &Server, scenario: &str, path: &str, script: &str) -> f64 {
        server.reset_peak();
        let load = wrk(
            &format!("{}{path}", server.base),
            script,
            CONNECTIONS,
            self.seconds,
        );
        let rps = load.rps;
        self.record(server, scenario, None, load);
        rps
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

fn totp(secret: &str, unix: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).unwrap();
    totp_rs::Builder::new()
        .with_secret(secret.as_bytes().to_vec())
        .with_account_name("bench")
        .build()
        .unwrap()
        .generate(unix)
        .to_string()
}

fn unix_now() -> u64 {
    chrono::Utc::now().timestamp() as u64
}

/// Logs in with password + TOTP (the next step's code if this one was used).
async fn login(http: &reqwest::Client, base: &str, user: &str, pw: &str, secret: &str) -> String {
    for offset in [0, 30] {
        let code = totp(secret, unix_now() + offset);
        let res = http
            .post(format!("{base}/oauth/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", user),
                ("password", &format!("{pw}{code}")),
            ])
            .send()
            .await
            .unwrap();
        if res.status().is_success() {
            let v: Value = res.json().await.unwrap();
            return v["access_token"].as_str().unwrap().to_owned();
        }
    }
    panic!("login of {user} failed");
}

async fn post(http: &reqwest::Client, base: &str, token: &str, path: &str, body: Value) -> Value {
    let res = http
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let v: Value = res.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// Inserts tickets (each with one message) and appointments up to `rows` of each, straight into
/// the database with one statement per table (the server's own write path is measured above).
fn grow(db: &Db, tenant: &str, ids: &SeedIds, from: u64, rows: u64) {
    let (tenant, ids) = (tenant.to_owned(), ids.clone());
    db.write_blocking(move |c| {
        let sqlite = matches!(c, AnyConnection::Sqlite(_));
        let series = if sqlite {
            format!(
                "WITH RECURSIVE s(i) AS (SELECT {} UNION ALL SELECT i + 1 FROM s WHERE i < {rows}) ",
                from + 1
            )
        } else {
            String::new()
        };
        let from_series = if sqlite {
            "FROM s".to_owned()
        } else {
            format!("FROM generate_series({}, {rows}) AS s(i)", from + 1)
        };
        let (uuid, text, stamp) = if sqlite {
            (
                "printf('00000000-0000-7000-%s-%012d', {tag}, i)",
                "CAST(i AS TEXT)",
                "datetime('2030-01-01', '+' || (i * 30) || ' minutes')",
            )
        } else {
            (
                "'00000000-0000-7000-' || {tag} || '-' || lpad(i::text, 12, '0')",
                "i::text",
                "timestamp '2030-01-01' + i * interval '30 minutes'",
            )
        };
        let uuid = |tag: &str| uuid.replace("{tag}", &format!("'{tag}'"));
        let now = "'2026-01-01 00:00:00'";
        let rare = "CASE WHEN i <= 10 THEN ' zeldzaamwoord' ELSE '' END";
        let queries = [
            format!(
                "{series}INSERT INTO tickets (id, tenant_id, number, channel, subject, status, department, priority, disruption, labels, reporter_email, reporter_language, cc_emails, confirm_due, first_response_due, response_due, created_at, updated_at) \
                 SELECT {t}, '{tenant}', 'BEN-' || {text}, 'portal', 'Melding ' || {text}, 'new', 'helpdesk', 'normal', FALSE, '[]', 'melder@example.org', 'nl-NL', '[]', {now}, {now}, {now}, {now}, {now} {from_series}",
                t = uuid("8000"),
            ),
            format!(
                "{series}INSERT INTO ticket_messages (id, tenant_id, ticket_id, author_kind, visibility, body_text, privacy_kinds, privacy_persons, created_at) \
                 SELECT {m}, '{tenant}', {t}, 'customer', 'public', 'De agenda toont melding ' || {text} || {rare}, '[]', 0, {now} {from_series}",
                m = uuid("8001"),
                t = uuid("8000"),
            ),
            format!(
                "{series}INSERT INTO appointments (id, tenant_id, employee_id, staff_id, consultation_type_id, starts_at, ends_at, concept, status, created_at, updated_at) \
                 SELECT {a}, '{tenant}', '{e}', '{s}', '{k}', {stamp}, {stamp}, FALSE, 'planned', {now}, {now} {from_series}",
                a = uuid("9000"),
                e = ids.employee,
                s = ids.staff,
                k = ids.kind,
            ),
        ];
        for q in queries {
            diesel::sql_query(q).execute(c)?;
        }
        if !sqlite {
            // Fresh statistics after the bulk load, as autovacuum's analyze would give them.
            diesel::sql_query("ANALYZE").execute(c)?;
        }
        Ok(())
    })
    .unwrap();
}

#[derive(Clone)]
struct SeedIds {
    employee: String,
    staff: String,
    kind: String,
}

fn bench_backend(backend: TestBackend, name: &str, seconds: u64, growth: &[u64]) -> Vec<Figure> {
    let bin_dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let dir = std::env::temp_dir().join("loket-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let database = fresh_database(backend, &dir).unwrap();
    let url = match &database {
        BackendKind::Sqlite(p) => format!("sqlite://{}", p.display()),
        BackendKind::Postgres(u) => u.clone(),
    };
    let key = loket_common::crypto::SecretKey::generate().to_base64();
    // The per-address login limit is off: the login figure has 32 accounts log in at once from
    // 127.0.0.1, and measures Argon2id, not the limiter.
    let env = vec![
        ("LOKET_DATABASE_URL", url.clone()),
        ("LOKET_SECRET_KEY", key.clone()),
        ("LOKET_TOKEN_RATE_IP", "0".to_owned()),
    ];
    let mut ctx = Ctx {
        backend: name.to_owned(),
        seconds,
        figures: Vec::new(),
        ceiling: 0.0,
    };

    // 1. The ceiling.
    let ceiling = Server::start(&bin_dir.join("ceiling"), &[], "/");
    ctx.ceiling = ctx.run(&ceiling, "ceiling: bare actix-web constant", "/", "");
    drop(ceiling);

    // Set-up through the API of the real server.
    let loket = Server::start(&bin_dir.join("loket"), &env, "/health");
    let boot = Command::new(bin_dir.join("loket"))
        .args(["admin", "bootstrap", "--tenant", "Bench", "--json"])
        .env("LOKET_DATABASE_URL", &url)
        .env("LOKET_SECRET_KEY", &key)
        .env("LOKET_LOG", "error")
        .output()
        .unwrap();
    let admin: Value = serde_json::from_slice(&boot.stdout)
        .unwrap_or_else(|e| panic!("bootstrap: {e}: {}", String::from_utf8_lossy(&boot.stderr)));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::new();
    let base = loket.base.clone();
    let s = |k: &str| admin[k].as_str().unwrap().to_owned();
    let token = rt.block_on(login(
        &http,
        &base,
        &s("username"),
        &s("password"),
        &s("totp_secret"),
    ));
    let (ids, appointment) = rt.block_on(async {
        let employee = post(&http, &base, &token, "/api/v1/employees", json!({ "name": "Mevr. J. Jansen", "private_email": "j.jansen@example.org", "employer": "Bouwbedrijf De Vries" })).await;
        let staff = post(&http, &base, &token, "/api/v1/staff", json!({ "name": "Dr. A. Bakker", "role": "company_doctor", "email": "arts@example.org" })).await;
        let other = post(&http, &base, &token, "/api/v1/staff", json!({ "name": "Dr. B. Smit", "role": "company_doctor", "email": "smit@example.org" })).await;
        let kind = post(&http, &base, &token, "/api/v1/consultation-types", json!({ "name": "Spreekuur", "duration_minutes": 30, "amount_cents": 12500, "billing_code": "SPR" })).await;
        let appointment = post(&http, &base, &token, "/api/v1/appointments", json!({ "employee_id": id(&employee), "staff_id": id(&other), "consultation_type_id": id(&kind), "starts_at": "2029-06-01T09:00:00Z" })).await;
        (
            SeedIds {
                employee: id(&employee),
                staff: id(&staff),
                kind: id(&kind),
            },
            id(&appointment),
        )
    });

    // 2. Authenticated reads.
    let auth = lua_auth(&token);
    let me = ctx.run(&loket, "GET /api/v1/me", "/api/v1/me", &auth);
    ctx.run(
        &loket,
        "GET /api/v1/appointments/{id}",
        &format!("/api/v1/appointments/{appointment}"),
        &auth,
    );
    // The same read at about half that rate: each connection waits between requests.
    let pause_ms = ((f64::from(CONNECTIONS) * 1000.0) / (me / 2.0).max(1.0)).round() as u64;
    ctx.run(
        &loket,
        "GET /api/v1/me at half load",
        "/api/v1/me",
        &format!("{auth}delay = function() return {pause_ms} end\n"),
    );

    // 3. Writes.
    let ticket = json!({
        "contact_name": "Jan Jansen",
        "contact_email": "jan@gemeente.example",
        "software_version": "4.2",
        "environment": "production",
        "area": "Agenda",
        "subject": "Afspraken verdwijnen",
        "description": "Na het opslaan verdwijnen afspraken uit de agenda. Bel mij op 06-12345678.",
    });
    ctx.run(
        &loket,
        "POST /api/v1/tickets (privacy scan)",
        "/api/v1/tickets",
        &lua_post(&token, &ticket),
    );
    ctx.run(
        &loket,
        "POST /api/v1/appointments",
        "/api/v1/appointments",
        &lua_appointments(&token, &ids.employee, &ids.staff, &ids.kind),
    );

    // 4. The token endpoint: bounded by Argon2id by design.
    loket.reset_peak();
    let (logins_per_s, p50, p99) = rt.block_on(async {
        let mut accounts = Vec::new();
        for n in 0..LOGINS {
            let a = post(
                &http,
                &base,
                &token,
                "/api/v1/api-accounts",
                json!({ "name": format!("Login {n}") }),
            )
            .await;
            accounts.push(a);
        }
        let started = Instant::now();
        let mut tasks = Vec::new();
        for a in accounts {
            let (http, base) = (http.clone(), base.clone());
            tasks.push(tokio::spawn(async move {
                let t = Instant::now();
                let s = |k: &str| a[k].as_str().unwrap().to_owned();
                login(
                    &http,
                    &base,
                    &s("username"),
                    &s("password"),
                    &s("totp_secret"),
                )
                .await;
                t.elapsed()
            }));
        }
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap());
        }
        times.sort();
        let secs = started.elapsed().as_secs_f64();
        (
            LOGINS as f64 / secs,
            times[times.len() / 2].as_secs_f64() * 1000.0,
            times[times.len() * 99 / 100].as_secs_f64() * 1000.0,
        )
    });
    ctx.record(
        &loket,
        "POST /oauth/token (Argon2id m=19456 KiB t=2 p=1)",
        None,
        Load {
            rps: logins_per_s,
            p50_ms: p50,
            p99_ms: p99,
            errors: 0,
        },
    );

    // 6. Growth: the same reads and a ticket search with more rows.
    let db = Db::connect(&DbConfig::new(database, 2)).unwrap();
    let mut have = 0;
    for &rows in growth {
        grow(&db, &s("tenant_id"), &ids, have, rows);
        have = rows;
        let middle = format!("00000000-0000-7000-9000-{:012}", rows / 2);
        for (scenario, path) in [
            (
                "GET /api/v1/appointments/{id}",
                format!("/api/v1/appointments/{middle}"),
            ),
            (
                "GET /api/v1/tickets?q=<rare word>",
                "/api/v1/tickets?q=zeldzaamwoord".to_owned(),
            ),
        ] {
            loket.reset_peak();
            let load = wrk(&format!("{base}{path}"), &auth, CONNECTIONS, seconds);
            ctx.record(&loket, scenario, Some(rows), load);
        }
    }
    ctx.figures
}

fn main() {
    let seconds: u64 = env_or("LOKET_BENCH_SECONDS", "5").parse().unwrap();
    let growth: Vec<u64> = env_or("LOKET_BENCH_GROWTH", "10000,100000,1000000")
        .split(',')
        .map(|n| n.trim().parse().unwrap())
        .collect();
    let out = PathBuf::from(env_or("LOKET_BENCH_OUT", "bench/results.json"));
    println!(
        "{:<10} {:<44} {:>10} {:>8} {:>8} {:>7} {:>8} {:>7}",
        "backend", "scenario", "req/s", "p50 ms", "p99 ms", "errors", "RSS MiB", "ceiling"
    );
    let mut figures = Vec::new();
    for b in env_or("LOKET_BENCH_BACKENDS", "sqlite,postgres").split(',') {
        let backend = match b.trim() {
            "sqlite" => TestBackend::Sqlite,
            "postgres" => TestBackend::Postgres,
            other => panic!("LOKET_BENCH_BACKENDS: unknown backend {other}"),
        };
        figures.extend(bench_backend(backend, b.trim(), seconds, &growth));
    }
    let machine = json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "memory": std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| m.lines().next().map(str::to_owned)),
        "cpu": std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())),
        "load_generator": "wrk -t1 -c64",
        "date": chrono::Utc::now().to_rfc3339(),
    });
    let doc = json!({ "machine": machine, "seconds_per_run": seconds, "figures": figures });
    std::fs::write(&out, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    println!("\nwrote {}", out.display());
}
