//! Builds and runs the server (`Application::build`, then `run_until_stopped`).

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, HttpServer, web};
use loket_accounts::{Accounts, AccountsConfig};
use loket_common::SharedClock;
use loket_mail::Mail;
use loket_storage::{Db, DbConfig};
use loket_webhooks::Webhooks;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::Settings;
use crate::http::fallback::{RouteTable, fallback};
use crate::state::AppState;
use crate::{auth, extract, http, middleware, openapi};

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Resolves the secret key, connects and migrates the database, binds the listener.
    pub async fn build(settings: Settings, clock: SharedClock) -> Result<Application, String> {
        let secret_key = settings.resolve_secret_key().map_err(|e| e.0)?;
        let db_config = DbConfig {
            backend: settings.database.clone(),
            pool_size: settings.pool_size,
            pool_timeout: settings.pool_timeout,
        };
        let db = tokio::task::spawn_blocking(move || Db::connect(&db_config))
            .await
            .map_err(|e| e.to_string())??;
        let listener = TcpListener::bind(settings.addr)
            .map_err(|e| format!("LOKET_ADDR: cannot listen on {}: {e}", settings.addr))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local}"));
        let accounts = Accounts::new(
            db.clone(),
            clock.clone(),
            secret_key.clone(),
            accounts_config(&settings, &public_url),
        )
        .await
        .map_err(|e| format!("cannot load the token signing key: {e:?}"))?;
        let mail = Mail::new(
            db.clone(),
            clock.clone(),
            secret_key.clone(),
            settings.mail.clone(),
            Arc::new(crate::mail::Accounts),
        )?;
        let webhooks = Webhooks::new(
            db.clone(),
            clock.clone(),
            secret_key.clone(),
            settings.webhooks.clone(),
            crate::webhooks::catalogue(),
            Arc::new(crate::webhooks::Accounts { mail: mail.clone() }),
        )?;
        let accounts =
            accounts.with_tenant_settings(Arc::new(crate::mail::TenantMail(mail.clone())));
        let agenda = loket_agenda_core::AgendaCore::new(db.clone(), clock.clone());
        let consultation_types =
            loket_consultation_types::ConsultationTypes::new(db.clone(), clock.clone());
        let appointments = loket_appointments::Appointments::new(
            db.clone(),
            clock.clone(),
            Arc::new(loket_call_requests::Link),
        );
        let call_requests = loket_call_requests::CallRequests::new(db.clone(), clock.clone());
        let attachment_store = loket_tickets::attachments::AttachmentStore::from_url(
            &settings.attachments_url(),
            settings.attachment_max_bytes,
        )
        .map_err(|e| format!("LOKET_ATTACHMENTS_URL: {e}"))?;
        let tickets = loket_tickets::Tickets::new(
            db.clone(),
            clock.clone(),
            mail.clone(),
            public_url.clone(),
        )
        .with_secret_key(secret_key.clone())
        .with_attachment_store(attachment_store);
        let helpdesk = loket_helpdesk::Helpdesk::new(
            db.clone(),
            clock.clone(),
            mail.clone(),
            public_url.clone(),
        );
        let token_limits = Arc::new(crate::rate_limit::TokenLimits::new(
            settings.token_rate_ip,
            settings.token_rate_account,
        ));
        let state = web::Data::new(AppState {
            token_limits,
            settings: Arc::new(settings),
            db,
            clock,
            secret_key,
            public_url,
            accounts,
            agenda,
            consultation_types,
            appointments,
            call_requests,
            tickets,
            helpdesk,
            webhooks,
            mail,
        });
        let server = build_server(listener, state.clone())?;
        Ok(Application {
            port: local.port(),
            server,
            state,
        })
    }

    /// The bound port (tests bind port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (tests reach the database through it).
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until the process is stopped; the webhook delivery worker runs meanwhile.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.state.webhooks.start();
        self.state.mail.start();
        let jobs = tokio::spawn(run_jobs(self.state.clone()));
        let result = self.server.await;
        jobs.abort();
        self.state.webhooks.stop();
        self.state.mail.stop();
        result
    }
}

/// The background jobs, every `LOKET_JOBS_INTERVAL` seconds: R-POSTPONE (postponed tickets
/// whose date passed resolve). A failed run is logged and retried at the next tick.
async fn run_jobs(state: web::Data<AppState>) {
    let mut tick =
        tokio::time::interval(std::time::Duration::from_secs(state.settings.jobs_interval));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match state.tickets.resolve_due_postponed().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(resolved = n, "postponed tickets resolved"),
            Err(e) => tracing::warn!(error = %e, "resolving postponed tickets failed"),
        }
    }
}

/// The accounts policy from the configuration.
pub fn accounts_config(settings: &Settings, public_url: &str) -> AccountsConfig {
    AccountsConfig {
        issuer: public_url.to_owned(),
        access_token_ttl: settings.access_token_ttl,
        refresh_token_ttl: settings.refresh_token_ttl,
        max_failures: settings.login_max_failures,
        lockout_seconds: settings.login_lockout,
        auth_cache_ttl: std::time::Duration::from_secs(settings.auth_cache_ttl),
    }
}

fn build_server(listener: TcpListener, state: web::Data<AppState>) -> Result<Server, String> {
    let doc = openapi::document();
    let routes = web::Data::new(RouteTable::from_openapi(
        &doc,
        &[("/openapi.json", "GET"), ("/swagger-ui", "GET")],
    ));
    let permissions = web::Data::new(auth::OperationPermissions::from_openapi(&doc));
    let max_body = state.settings.max_body_bytes;
    let workers = state.settings.workers;
    let client_request_timeout = state.settings.client_request_timeout;
    let keep_alive = match state.settings.keep_alive {
        d if d.is_zero() => actix_web::http::KeepAlive::Disabled,
        d => actix_web::http::KeepAlive::Timeout(d),
    };
    let max_connections = state.settings.max_connections;
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(middleware::idempotency::idempotency))
            .wrap(from_fn(auth::require_permission))
            .wrap(from_fn(auth::authenticate))
            .wrap(from_fn(middleware::limits::limit_request))
            .wrap(from_fn(middleware::problems::finish_problems))
            .wrap(from_fn(middleware::security_headers::security_headers))
            .wrap(from_fn(middleware::request_id::request_id))
            .app_data(state.clone())
            .app_data(routes.clone())
            .app_data(permissions.clone())
            .configure(|c| extract::configure(c, max_body))
            .configure(http::health::configure)
            .configure(http::problems::configure)
            .configure(http::oauth::configure)
            .service(
                web::scope("/api/v1")
                    .configure(http::accounts::configure)
                    .configure(http::agenda::configure)
                    .configure(http::consultation_types::configure)
                    .configure(http::appointments::configure)
                    .configure(http::call_requests::configure)
                    .configure(http::tickets::configure)
                    .configure(http::inbound::configure)
                    .configure(http::customers::configure)
                    .configure(http::helpdesk::configure)
                    .configure(http::mail::configure)
                    .configure(http::webhooks::configure),
            )
            .service(SwaggerUi::new("/swagger-ui/{_:.*}").url("/openapi.json", doc.clone()))
            .route(
                "/swagger-ui",
                web::get().to(|| async {
                    HttpResponse::PermanentRedirect()
                        .insert_header(("Location", "/swagger-ui/"))
                        .finish()
                }),
            )
            .default_service(web::to(fallback))
    })
    .client_request_timeout(client_request_timeout)
    .keep_alive(keep_alive)
    .max_connections(max_connections)
    .listen(listener)
    .map_err(|e| e.to_string())?;
    if let Some(n) = workers {
        server = server.workers(n);
    }
    Ok(server.run())
}
