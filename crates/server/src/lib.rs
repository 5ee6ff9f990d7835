//! `wanllmdb-server`: serves the REST API, runs migrations, administers users and keys. The
//! composition root: settings, wiring of the adapters, the command line.

mod config;
mod wiring;

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use clap::{Parser, Subcommand};
use wanllmdb_domain::ids::{ApiKeyId, UserId};
use wanllmdb_domain::service::{Actor, GcOptions};
use wanllmdb_domain::types::UserName;
use wanllmdb_http::ui::WebUi;
use wanllmdb_http::{AppState, Metrics};

use crate::config::Settings;

#[derive(Debug, Parser)]
#[command(
    name = "wanllmdb-server",
    version,
    about = "The wanllmdb artifact registry server"
)]
struct Cli {
    /// A TOML file layered over the built-in defaults (then WANLLMDB__* variables over both).
    #[arg(long, global = true, env = "WANLLMDB_CONFIG")]
    config: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users and API keys directly in the database.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a user.
    CreateUser {
        name: String,
        /// Make the user a registry administrator.
        #[arg(long)]
        admin: bool,
    },
    /// Create an API key for a user; prints the secret once.
    CreateKey {
        user: String,
        #[arg(long, default_value = "cli")]
        label: String,
    },
    /// List a user's API keys.
    ListKeys { user: String },
    /// Revoke one of a user's API keys.
    RevokeKey { user: String, key_id: uuid::Uuid },
    /// Collect garbage: delete abandoned drafts, abort unfinished multipart uploads, remove
    /// blobs no file references (for cron; the same as `POST /api/v1/admin/gc`).
    Gc {
        /// Unreferenced blobs younger than this are kept (uploads in flight).
        #[arg(long, default_value_t = 24 * 3600)]
        grace_seconds: u64,
        /// Drafts and multipart uploads older than this are abandoned.
        #[arg(long, default_value_t = 7 * 24 * 3600)]
        stale_after_seconds: u64,
        /// Only count what would go.
        #[arg(long)]
        dry_run: bool,
    },
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,actix_server=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// The trusted actor of commands run on the server's own machine.
fn operator() -> Actor {
    Actor {
        user_id: UserId::from_uuid(uuid::Uuid::nil()),
        is_admin: true,
    }
}

/// The whole `wanllmdb-server` command line: parses the arguments and the configuration, then
/// serves, migrates or administers. The binary is this one call; the end-to-end harness builds
/// its own copy of the binary from it.
pub fn main() -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(run())
}

async fn run() -> anyhow::Result<()> {
    init_tracing();
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref()).context("loading the configuration")?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            wiring::metadata(&settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Admin { command } => admin(settings, command).await,
    }
}

async fn admin(settings: Settings, command: AdminCommand) -> anyhow::Result<()> {
    let wired = wiring::wire(&settings, "http://localhost").await?;
    let reg = wired.registry;
    let op = operator();
    let user_named = |name: String| async {
        let name = UserName::parse(name).map_err(|e| anyhow::anyhow!("{e}"))?;
        reg.get_user_by_name(&op, &name)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    };
    match command {
        AdminCommand::CreateUser { name, admin } => {
            let name = UserName::parse(name).map_err(|e| anyhow::anyhow!("{e}"))?;
            let user = reg
                .create_user(&op, name, admin)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("created user {} ({})", user.name, user.id);
        }
        AdminCommand::CreateKey { user, label } => {
            let user = user_named(user).await?;
            let key = reg
                .create_api_key(&op, user.id, &label)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "API key {} for {} (shown once):\n{}",
                key.key.id, user.name, key.secret
            );
        }
        AdminCommand::ListKeys { user } => {
            let user = user_named(user).await?;
            for k in reg
                .list_api_keys(&op, user.id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
            {
                let state = if k.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{}  {}  {}  {}  {}",
                    k.id, k.prefix, k.label, k.created_at, state
                );
            }
        }
        AdminCommand::RevokeKey { user, key_id } => {
            let user = user_named(user).await?;
            reg.revoke_api_key(&op, user.id, ApiKeyId::from_uuid(key_id))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("revoked {key_id}");
        }
        AdminCommand::Gc {
            grace_seconds,
            stale_after_seconds,
            dry_run,
        } => {
            let report = reg
                .collect_garbage(
                    &op,
                    GcOptions {
                        grace: std::time::Duration::from_secs(grace_seconds),
                        stale_after: std::time::Duration::from_secs(stale_after_seconds),
                        dry_run,
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{}{} drafts, {} multipart uploads, {} blobs ({} bytes), {} unregistered objects \
                 ({} bytes), {} leftovers of interrupted writes ({} bytes)",
                if dry_run { "would remove " } else { "removed " },
                report.drafts,
                report.multipart_uploads,
                report.blobs,
                report.bytes,
                report.orphan_objects,
                report.orphan_bytes,
                report.leftovers,
                report.leftover_bytes
            );
        }
    }
    Ok(())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let listener = std::net::TcpListener::bind(&settings.server.bind)
        .with_context(|| format!("cannot listen on {}", settings.server.bind))?;
    let addr = listener.local_addr()?;
    let public_url = if settings.server.public_url.is_empty() {
        format!("http://{addr}")
    } else {
        settings.server.public_url.clone()
    };
    let wired = wiring::wire(&settings, &public_url).await?;
    let bootstrap_key = Some(settings.auth.bootstrap_key.clone()).filter(|k| !k.is_empty());
    let admin_name = UserName::parse(settings.auth.bootstrap_user.clone())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some((user, key)) = wired
        .registry
        .bootstrap(admin_name, bootstrap_key)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
    {
        println!(
            "created administrator {:?}; API key (shown once): {}",
            user.name.as_str(),
            key.secret
        );
    }
    let state = web::Data::new(AppState {
        registry: wired.registry,
        signed: wired.signed,
        metrics: Metrics::default(),
    });
    let ui =
        web::Data::new(WebUi::new(&settings.server.base_path).map_err(|e| anyhow::anyhow!("{e}"))?);
    let csp = web::Data::new(wired.store_origin.as_deref().map_or_else(
        wanllmdb_http::security::ContentSecurityPolicy::default,
        wanllmdb_http::security::ContentSecurityPolicy::connecting_to,
    ));
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(ui.clone())
            .app_data(csp.clone())
            .wrap(from_fn(wanllmdb_http::ui::strip_base_path))
            .wrap(from_fn(wanllmdb_http::metrics::observe))
            .configure(wanllmdb_http::configure(state.clone()))
    })
    .shutdown_timeout(30)
    // Small responses are written as headers then body; with Nagle on, a kept-alive
    // connection waits for the client's delayed ACK (about 40 ms) before sending the body.
    .tcp_nodelay(true)
    .listen(listener)?;
    if settings.server.workers > 0 {
        server = server.workers(settings.server.workers);
    }
    println!("wanllmdb-server listening on http://{addr} (public URL {public_url})");
    if !WebUi::embedded() {
        println!("web UI not built into this binary: `make run` builds it (see README)");
    }
    tracing::info!(%addr, %public_url, database = %redact(&settings.database.url), storage = %settings.storage.backend, "serving");
    server.run().await?;
    tracing::info!("stopped");
    Ok(())
}

/// A database URL without its password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..s + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}
