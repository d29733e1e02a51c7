//! The `loket` binary: `loket serve` (the default) runs the server; `loket admin …` holds
//! operator commands.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use loket_common::crypto::SecretKey;
use loket_common::time::SystemClock;
use loket_gateway::{Application, Settings, config, telemetry};

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
}

#[derive(Subcommand)]
enum AdminCommand {
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
    let url = app.state().public_url.clone();
    tracing::info!("Loket listening on {url} — Swagger UI: {url}/swagger-ui/");
    app.run_until_stopped().await.map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
            .and_then(|rt| rt.block_on(serve())),
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
