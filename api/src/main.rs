#![forbid(unsafe_code)]
//! `nexus-api`: the HTTP API server.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write as _;

use anyhow::Context as _;
use clap::Parser;
use nexus_api::bootstrap::{FirstAdmin, ensure_first_admin};
use nexus_shared::blocking::blocking;

/// Configured by `nexus-backup.toml` and the environment (README), not by flags.
#[derive(Parser)]
#[command(
    name = "nexus-api",
    version,
    about = "Nexus Backup API server: REST API, web UI, /healthz and /metrics"
)]
struct Args {}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Args::parse();
    let settings =
        nexus_shared::telemetry::start("info").context("cannot load the configuration")?;

    if settings.demo_db {
        let (path, size) = (settings.db_path.clone(), settings.demo_db_size_mb);
        if blocking(move || nexus_shared::demo::ensure(&path, size * 1_000_000))
            .await?
            .context("cannot generate the demo database")?
        {
            tracing::info!(path = %settings.db_path.display(), "generated a demo ITSM database");
        }
    }
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let state = nexus_api::build_state(settings).await?;

    let first_admin = {
        let (catalog, settings) = (state.catalog.clone(), state.settings.clone());
        blocking(move || ensure_first_admin(&catalog, &settings)).await??
    };
    match first_admin {
        FirstAdmin::Generated { username, password } => println!(
            "First admin created. Log in as '{username}' with password: {password}\n\
             (shown only this once: keep it, or set NEXUS_ADMIN_PASSWORD before the first start)"
        ),
        FirstAdmin::Created { username } => {
            println!("First admin '{username}' created from NEXUS_ADMIN_PASSWORD.")
        }
        FirstAdmin::AlreadyThere => {}
    }
    let scheme = if nexus_api::uses_tls(&state.settings) {
        "https"
    } else {
        "http"
    };
    println!("nexus-api listening on {scheme}://{addr}");
    std::io::stdout().flush()?;
    nexus_api::serve(state, listener, nexus_shared::signals::terminate()).await
}
