//! The `loket` binary: `loket serve` (the default) runs the server; `loket admin …` holds
//! operator commands.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use loket_accounts::Accounts;
use loket_accounts::api::NewTenant;
use loket_common::crypto::SecretKey;
use loket_common::time::SystemClock;
use loket_common::{Actor, SharedClock};
use loket_gateway::startup::accounts_config;
use loket_gateway::{Application, Settings, config, telemetry};
use loket_storage::{Db, DbConfig};
use loket_tickets::api::Mailbox;

#[derive(Parser)]
#[command(name = "loket", version, about = "Loket: headless REST/OAuth2 back office.", after_long_help = env_help())]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Operator commands; they read the same LOKET_* configuration as the server.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Mail commands for the mail server's side; same LOKET_* configuration as the server.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
}

#[derive(Subcommand)]
enum MailCommand {
    /// Read one raw RFC 5322 message from standard input and file it into the tenant's helpdesk,
    /// as POST /api/v1/mail/inbound does (for an MTA `pipe` transport). Prints the JSON answer
    /// ({"ticket", "message_id", "mail_message_id", "created", "threaded_by"}); exits 2 with a
    /// one-line reason when the message is refused.
    Ingest {
        /// The tenant: its id, name or slug.
        #[arg(long)]
        tenant: String,
        /// `helpdesk` or `updates` (lands in the updates department).
        #[arg(long, default_value = "helpdesk")]
        mailbox: String,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a tenant and its first API account (superadmin + platform:admin) and print
    /// the account's credentials. Works while the server runs; refuses an existing tenant name.
    Bootstrap {
        /// The tenant (organisation) name.
        #[arg(long)]
        tenant: String,
        /// Print JSON: tenant_id, api_account_id, username, password, totp_secret, otpauth_uri.
        #[arg(long)]
        json: bool,
    },
    /// Print a fresh random LOKET_SECRET_KEY.
    GenerateKey,
    /// Print the OpenAPI document (what `make openapi` commits as openapi/openapi.json).
    Openapi,
}

fn env_help() -> String {
    let mut s = String::from("Configuration (environment variables):\n");
    for (name, what) in config::VARIABLES {
        s.push_str(&format!("  {name}\n      {what}\n"));
    }
    s
}

fn load_settings() -> Result<Settings, String> {
    let (settings, warnings) = Settings::from_env().map_err(|e| e.0)?;
    telemetry::init(&settings.log_filter, settings.log_json);
    for w in warnings {
        tracing::warn!("{w}");
    }
    Ok(settings)
}

async fn serve() -> Result<(), String> {
    let settings = load_settings()?;
    let app = Application::build(settings, Arc::new(SystemClock)).await?;
    let state = app.state();
    let url = state.public_url.clone();
    tracing::info!("Loket listening on {url} — Swagger UI: {url}/swagger-ui/");
    if !state.accounts.has_tenants().await.unwrap_or(true) {
        tracing::info!(
            "The database is empty. Create the first tenant and API account with:\n\n    \
             cargo run -q --bin loket -- admin bootstrap --tenant \"My organisation\"\n\n\
             (or ./target/debug/loket admin bootstrap …, with the same LOKET_* settings). It prints the \
             username, password and TOTP secret; log in at POST {url}/oauth/token as the README shows."
        );
    }
    app.run_until_stopped().await.map_err(|e| e.to_string())
}

async fn bootstrap(tenant: String, json: bool) -> Result<(), String> {
    let settings = load_settings()?;
    let secret_key = settings.resolve_secret_key().map_err(|e| e.0)?;
    let db_config = DbConfig {
        pool_timeout: settings.pool_timeout,
        ..DbConfig::new(settings.database.clone(), 2)
    };
    let db = tokio::task::spawn_blocking(move || Db::connect(&db_config))
        .await
        .map_err(|e| e.to_string())??;
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", settings.addr));
    let clock: SharedClock = Arc::new(SystemClock);
    let accounts = Accounts::new(
        db,
        clock,
        secret_key,
        accounts_config(&settings, &public_url),
    )
    .await
    .map_err(|e| e.to_string())?;
    let created = accounts
        .create_tenant(
            Actor::system(),
            NewTenant {
                name: tenant,
                default_culture: None,
            },
            true,
        )
        .await
        .map_err(|e| e.detail)?;
    if json {
        let out = serde_json::json!({
            "tenant_id": created.tenant.id,
            "api_account_id": created.api_account.id,
            "username": created.username,
            "password": created.password,
            "totp_secret": created.totp_secret,
            "otpauth_uri": created.otpauth_uri,
        });
        println!("{out}");
    } else {
        println!(
            "Created tenant \"{}\" ({}) and its API account (superadmin, platform:admin).\n\n\
             username:     {}\npassword:     {}\ntotp_secret:  {}\notpauth_uri:  {}\n\n\
             These are shown once. Add the TOTP secret to an authenticator app (or use the otpauth URI),\n\
             then log in with the password followed by the current 6-digit code:\n\n  \
             curl -s {public_url}/oauth/token -d grant_type=password -d username={} --data-urlencode \"password={}<CODE>\"",
            created.tenant.name,
            created.tenant.id,
            created.username,
            created.password,
            created.totp_secret,
            created.otpauth_uri,
            created.username,
            created.password,
        );
    }
    Ok(())
}

async fn ingest(tenant: String, mailbox: String) -> Result<(), String> {
    use std::io::Read;
    let mailbox = Mailbox::parse(mailbox.trim())
        .ok_or_else(|| format!("--mailbox: `{mailbox}` is not `helpdesk` or `updates`"))?;
    let settings = load_settings()?;
    let limit = settings.mail_inbound_max_bytes;
    let mut raw = Vec::new();
    std::io::stdin()
        .take(limit as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|e| format!("cannot read the message from standard input: {e}"))?;
    if raw.len() > limit {
        return Err(format!(
            "the message exceeds {limit} bytes (LOKET_MAIL_INBOUND_MAX_BYTES)"
        ));
    }
    let secret_key = settings.resolve_secret_key().map_err(|e| e.0)?;
    let db_config = DbConfig {
        pool_timeout: settings.pool_timeout,
        ..DbConfig::new(settings.database.clone(), 2)
    };
    let db = tokio::task::spawn_blocking(move || Db::connect(&db_config))
        .await
        .map_err(|e| e.to_string())??;
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", settings.addr));
    let name = tenant.clone();
    let tenant_id = db
        .read(move |c| loket_accounts::lookup::tenant_by_id_or_name(c, &name))
        .await
        .map_err(|e| e.detail)?
        .ok_or_else(|| format!("--tenant: no tenant `{tenant}` (give its id, name or slug)"))?;
    let clock: SharedClock = Arc::new(SystemClock);
    let mail = loket_mail::Mail::new(
        db.clone(),
        clock.clone(),
        secret_key.clone(),
        settings.mail.clone(),
        Arc::new(loket_gateway::mail::Accounts),
    )?;
    let tickets =
        loket_tickets::Tickets::new(db, clock, mail, public_url).with_secret_key(secret_key);
    let outcome = tickets
        .ingest_for(tenant_id, Actor::system(), mailbox, raw)
        .await
        .map_err(|e| {
            let fields: Vec<String> = e
                .invalid_params
                .iter()
                .map(|p| format!("{}: {}", p.name, p.reason))
                .collect();
            if fields.is_empty() {
                e.detail
            } else {
                format!("{} ({})", e.detail, fields.join("; "))
            }
        })?;
    println!(
        "{}",
        serde_json::to_string(&outcome).map_err(|e| e.to_string())?
    );
    Ok(())
}

fn runtime(f: impl std::future::Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(f)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => runtime(serve()),
        Command::Admin {
            command: AdminCommand::Bootstrap { tenant, json },
        } => runtime(bootstrap(tenant, json)),
        Command::Mail {
            command: MailCommand::Ingest { tenant, mailbox },
        } => runtime(ingest(tenant, mailbox)),
        Command::Admin {
            command: AdminCommand::GenerateKey,
        } => {
            println!("{}", SecretKey::generate().to_base64());
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Openapi,
        } => {
            print!("{}", loket_gateway::openapi::document_json());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loket: {e}");
            ExitCode::from(2)
        }
    }
}
