//! How every binary starts: load the settings, start logging to stderr as
//! they say (`NEXUS_LOG_FORMAT`: text or one JSON object per line; level
//! from `RUST_LOG`), then warn about environment variables that set
//! nothing. One place, so the API, the worker and the CLI log alike.

use std::collections::HashMap;

use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, Settings, SettingsError, env};

/// Loads the settings and starts logging; `default_level` applies when
/// `RUST_LOG` is unset (`info` for the services, `warn` for the CLI).
pub fn start(default_level: &str) -> Result<Settings, SettingsError> {
    let vars: HashMap<String, String> = std::env::vars().collect();
    let settings = Settings::load_from(&vars, std::path::Path::new("."))?;
    init(default_level, settings.log_format);
    for warning in env::unknown(&vars) {
        tracing::warn!("{warning}");
    }
    Ok(settings)
}

/// Starts logging (once; later calls do nothing).
pub fn init(default_level: &str, format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
}
