//! Configuration: built-in defaults, then `nexus-backup.toml` (or the file
//! named by `NEXUS_CONFIG`), then environment variables (SPEC §10).
//!
//! The file and the environment meet in one TOML document: each variable
//! of [`env::ENV_VARS`] writes its value at its key, and the document is
//! read and checked once. A value that does not fit is refused with the
//! variable's (or the key's) name; nothing is silently ignored.

pub mod env;
mod secret;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

mod offsite;
pub use crate::retention::RetentionSettings;
pub use crate::schedule::ScheduleSettings;
pub use offsite::OffsiteSettings;
pub use secret::{Secret, Timezone};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Catalog and queue SQLite files, the generated JWT secret.
    pub data_dir: PathBuf,
    /// The ITSM database to protect.
    pub db_path: PathBuf,
    pub backup_root: PathBuf,
    pub listen: String,
    /// PEM certificate chain and private key: with both, the API speaks HTTPS.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub admin_user: String,
    pub admin_password: Option<Secret>,
    pub jwt_secret: Option<Secret>,
    pub jwt_ttl_minutes: u64,
    /// A token that may read `/metrics` and nothing else.
    pub metrics_token: Option<Secret>,
    pub timezone: Timezone,
    pub log_format: LogFormat,
    /// Generate a demo ITSM database at `db_path` when none exists.
    pub demo_db: bool,
    pub demo_db_size_mb: u64,
    /// Free space to leave on the backup filesystem on top of what a backup
    /// needs; the pre-flight refuses a backup that would eat into it.
    pub reserve_bytes: u64,
    pub smtp: SmtpSettings,
    pub alerts: AlertSettings,
    pub queue: QueueSettings,
    pub compression: crate::engine::compress::CompressOptions,
    pub schedule: ScheduleSettings,
    pub retention: RetentionSettings,
    pub offsite: OffsiteSettings,
    pub replication: ReplicationSettings,
}

/// Continuous replication of the live database (issue 18): every
/// committed transaction captured into segments under
/// `<backup_root>/wal/`, by the worker that holds the replication lease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplicationSettings {
    /// Capture the live database's transactions (it must be in WAL mode;
    /// the replicator never changes its journal mode).
    pub enabled: bool,
    /// How often committed transactions become a segment: the longest a
    /// commit waits before it is on disk in the backup folder.
    pub interval_ms: u64,
    /// Frames captured from one WAL generation after which the replicator
    /// runs a PASSIVE checkpoint and lets SQLite start the WAL over.
    pub checkpoint_frames: u64,
    /// A new lineage, with a new base, after this many hours: older
    /// lineages can then be pruned, and a restore replays at most this much.
    pub base_every_hours: u64,
    /// Days back a restore to an instant must stay possible; lineages only
    /// older instants need are deleted when a new lineage starts.
    pub keep_days: u64,
}

impl Default for ReplicationSettings {
    fn default() -> Self {
        ReplicationSettings {
            enabled: false,
            interval_ms: 1000,
            checkpoint_frames: 1000,
            base_every_hours: 24,
            keep_days: 7,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: Option<String>,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    /// Recipients of alerts.
    pub alert_to: Vec<String>,
    /// `auto` (465: TLS, 587: STARTTLS, else plain), `tls`, `starttls` or `none`.
    pub tls: SmtpTls,
    /// Longest wait for the SMTP server, per connection and command.
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    Auto,
    Tls,
    Starttls,
    None,
}

/// How the services write their logs to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for journald, Loki and the like.
    Json,
}

/// Disk usage levels of the backup filesystem (guide §7.3), in percent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertSettings {
    /// WARN and a mail.
    pub warn_percent: f64,
    /// ERROR, a mail, and pruning of old automatic backups down to `prune_target_percent`.
    pub error_percent: f64,
    /// CRITICAL, an urgent mail, and automatic backups paused until usage falls under `resume_percent`.
    pub critical_percent: f64,
    pub prune_target_percent: f64,
    pub resume_percent: f64,
    /// While a level lasts, at most one reminder per this many hours.
    pub reminder_hours: u64,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            warn_percent: 80.0,
            error_percent: 90.0,
            critical_percent: 95.0,
            prune_target_percent: 85.0,
            resume_percent: 90.0,
            reminder_hours: 24,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueSettings {
    /// How often a worker proves it is alive. A worker silent for
    /// `heartbeat_secs × missed_heartbeats` is taken as dead and its jobs
    /// are handed to a live worker. Every worker must use the same values.
    pub heartbeat_secs: u64,
    pub missed_heartbeats: u32,
    /// How often an idle worker looks for new jobs.
    pub poll_interval_ms: u64,
    /// Jobs run at once by one worker process.
    pub concurrency: usize,
    /// Times a job may be started (crash recoveries count) before it is given up.
    pub max_attempts: u32,
    /// How far below the API and the application a backup's and a
    /// verification's threads run (the `nice` value, 0–19): they take the
    /// cores the others leave. A restore, which the operator waits for,
    /// and the worker's own threads (queue, heartbeats) keep full priority.
    pub nice: u8,
    /// Retries of a transient failure inside one attempt, with backoff.
    pub transient_retries: u32,
    pub retry_base_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: PathBuf::from("./var/data"),
            db_path: PathBuf::from("./var/itsm_nexus.db"),
            backup_root: PathBuf::from("./var/backups"),
            listen: "127.0.0.1:6443".into(),
            tls_cert: None,
            tls_key: None,
            admin_user: "admin".into(),
            admin_password: None,
            jwt_secret: None,
            jwt_ttl_minutes: 60,
            metrics_token: None,
            timezone: Timezone(chrono_tz::Asia::Tokyo),
            log_format: LogFormat::Text,
            demo_db: false,
            demo_db_size_mb: 20,
            reserve_bytes: 0,
            smtp: SmtpSettings::default(),
            alerts: AlertSettings::default(),
            queue: QueueSettings::default(),
            compression: Default::default(),
            schedule: ScheduleSettings::default(),
            retention: RetentionSettings::default(),
            offsite: OffsiteSettings::default(),
            replication: ReplicationSettings::default(),
        }
    }
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            host: None,
            port: 587,
            user: None,
            password: None,
            from: "nexus-backup@localhost".into(),
            alert_to: Vec::new(),
            tls: SmtpTls::Auto,
            timeout_secs: 10,
        }
    }
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            heartbeat_secs: 10,
            missed_heartbeats: 2,
            poll_interval_ms: 500,
            concurrency: 2,
            max_attempts: 3,
            nice: 10,
            transient_retries: 4,
            retry_base_ms: 500,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    /// `value` is `***` for a secret.
    #[error("environment variable {name}={value:?} is not valid: {message}")]
    Env {
        name: &'static str,
        value: String,
        message: String,
    },
    #[error("the configuration is not valid: {0}")]
    Invalid(String),
}

impl Settings {
    /// Loads from the process environment and the working folder.
    pub fn load() -> Result<Self, SettingsError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        Self::load_from(&env, Path::new("."))
    }

    /// Loads with an explicit environment and working folder (for tests).
    pub fn load_from(env: &HashMap<String, String>, cwd: &Path) -> Result<Self, SettingsError> {
        let path = match env.get("NEXUS_CONFIG") {
            Some(path) => Some(PathBuf::from(path)),
            None => Some(cwd.join("nexus-backup.toml")).filter(|p| p.exists()),
        };
        let mut document = match &path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
                    path: path.clone(),
                    source,
                })?;
                let document: toml::Table =
                    text.parse()
                        .map_err(|e: toml::de::Error| SettingsError::Parse {
                            path: path.clone(),
                            message: e.to_string(),
                        })?;
                // The file alone first, so that its mistakes are named as its own.
                Settings::from_document(document.clone()).map_err(|message| {
                    SettingsError::Parse {
                        path: path.clone(),
                        message,
                    }
                })?;
                document
            }
            None => toml::Table::new(),
        };
        for (var, text) in env::present(env) {
            let refused = |message: String| SettingsError::Env {
                name: var.name,
                value: match var.kind {
                    env::Kind::Secret => "***".into(),
                    _ => text.to_owned(),
                },
                message,
            };
            let value = var.kind.to_toml(text).map_err(refused)?;
            // Each variable alone over the defaults, so a bad value is
            // refused under its own name.
            let mut alone = toml::Table::new();
            env::insert(&mut alone, var.key, value.clone());
            Settings::from_document(alone).map_err(refused)?;
            env::insert(&mut document, var.key, value);
        }
        Settings::from_document(document).map_err(SettingsError::Invalid)
    }

    /// Reads and checks one configuration document.
    fn from_document(document: toml::Table) -> Result<Settings, String> {
        let settings: Settings = toml::Value::Table(document)
            .try_into()
            .map_err(|e: toml::de::Error| e.message().trim().to_owned())?;
        settings.check()?;
        Ok(settings)
    }

    /// The rules a value's type does not say: ranges and orders.
    fn check(&self) -> Result<(), String> {
        fn rule(ok: bool, key: &str, what: &str) -> Result<(), String> {
            if ok {
                Ok(())
            } else {
                Err(format!("{key}: {what}"))
            }
        }
        let (q, a, o) = (&self.queue, &self.alerts, &self.offsite);
        rule(
            (0..=12).contains(&self.compression.level),
            "compression.level",
            "must be 0 (chosen per backup) or 1 (fastest) to 12 (smallest)",
        )?;
        rule(
            self.compression.threads <= 256,
            "compression.threads",
            "must be 0 (one per core) to 256",
        )?;
        rule(
            listen_has_a_port(&self.listen),
            "listen",
            "must be host:port, e.g. 127.0.0.1:6443",
        )?;
        rule(
            self.jwt_ttl_minutes >= 1,
            "jwt_ttl_minutes",
            "must be at least 1",
        )?;
        rule(
            self.metrics_token
                .as_ref()
                .is_none_or(|t| t.expose().chars().count() >= 16),
            "metrics_token",
            "must be at least 16 characters, too long to guess",
        )?;
        rule(
            self.demo_db_size_mb >= 1,
            "demo_db_size_mb",
            "must be at least 1",
        )?;
        rule(self.smtp.port >= 1, "smtp.port", "must be 1 to 65535")?;
        rule(
            self.smtp.timeout_secs >= 1,
            "smtp.timeout_secs",
            "must be at least 1",
        )?;
        rule(
            q.heartbeat_secs >= 1,
            "queue.heartbeat_secs",
            "must be at least 1",
        )?;
        rule(
            q.missed_heartbeats >= 1,
            "queue.missed_heartbeats",
            "must be at least 1",
        )?;
        rule(
            q.poll_interval_ms >= 10,
            "queue.poll_interval_ms",
            "must be at least 10",
        )?;
        rule(
            (1..=64).contains(&q.concurrency),
            "queue.concurrency",
            "must be 1 to 64",
        )?;
        rule(
            q.max_attempts >= 1,
            "queue.max_attempts",
            "must be at least 1",
        )?;
        rule(
            q.nice <= 19,
            "queue.nice",
            "must be 0 (as the API) to 19 (lowest)",
        )?;
        rule(
            0.0 < a.warn_percent
                && a.warn_percent <= a.error_percent
                && a.error_percent <= a.critical_percent
                && a.critical_percent <= 100.0,
            "alerts",
            "needs 0 < warn_percent <= error_percent <= critical_percent <= 100",
        )?;
        rule(
            a.prune_target_percent <= a.error_percent && a.resume_percent <= a.critical_percent,
            "alerts",
            "needs prune_target_percent <= error_percent and resume_percent <= critical_percent",
        )?;
        rule(
            (5..=4096).contains(&o.part_size_mb),
            "offsite.part_size_mb",
            "must be 5 to 4096",
        )?;
        rule(
            (1..=64).contains(&o.concurrency),
            "offsite.concurrency",
            "must be 1 to 64",
        )?;
        rule(
            o.timeout_secs >= 1,
            "offsite.timeout_secs",
            "must be at least 1",
        )?;
        let r = &self.replication;
        rule(
            (10..=60_000).contains(&r.interval_ms),
            "replication.interval_ms",
            "must be 10 to 60000",
        )?;
        rule(
            r.checkpoint_frames >= 1,
            "replication.checkpoint_frames",
            "must be at least 1",
        )?;
        rule(
            r.base_every_hours >= 1,
            "replication.base_every_hours",
            "must be at least 1",
        )?;
        rule(
            r.keep_days >= 1,
            "replication.keep_days",
            "must be at least 1",
        )?;
        Ok(())
    }

    pub fn tz(&self) -> Tz {
        self.timezone.0
    }

    pub fn catalog_path(&self) -> PathBuf {
        self.data_dir.join("catalog.db")
    }

    pub fn queue_path(&self) -> PathBuf {
        self.data_dir.join("queue.db")
    }

    /// How long a runner's claim on a backup lasts without renewal: longer
    /// than apalis needs to notice a dead worker, so a job is only taken
    /// over once its first runner is surely gone.
    pub fn lease_ttl(&self) -> std::time::Duration {
        let q = &self.queue;
        std::time::Duration::from_secs(
            (q.heartbeat_secs * (u64::from(q.missed_heartbeats) + 1)).max(6),
        )
    }

    pub fn jwt_secret_path(&self) -> PathBuf {
        self.data_dir.join("jwt_secret")
    }
}

/// A commented example configuration with every default, for
/// `nexus-backup print-default-config` and `make install`.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("default-config.toml");

/// `host:port` with a port number.
fn listen_has_a_port(listen: &str) -> bool {
    listen
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::load_from(&env(pairs), Path::new("/nonexistent"))
    }

    fn as_table(s: &Settings) -> toml::Table {
        toml::Table::try_from(s).expect("settings serialize")
    }

    /// The dotted keys whose values differ between two documents.
    fn differing_keys(a: &toml::Table, b: &toml::Table, prefix: &str, out: &mut Vec<String>) {
        let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let path = format!("{prefix}{key}");
            match (a.get(key), b.get(key)) {
                (Some(toml::Value::Table(x)), Some(toml::Value::Table(y))) => {
                    differing_keys(x, y, &format!("{path}."), out)
                }
                (x, y) if x != y => out.push(path),
                _ => {}
            }
        }
    }

    #[test]
    fn defaults_match_the_operating_contract() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::load_from(&env(&[]), dir.path()).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.data_dir, PathBuf::from("./var/data"));
        assert_eq!(s.db_path, PathBuf::from("./var/itsm_nexus.db"));
        assert_eq!(s.backup_root, PathBuf::from("./var/backups"));
        assert_eq!(s.listen, "127.0.0.1:6443");
        assert_eq!(s.tz(), chrono_tz::Asia::Tokyo);
        assert!(s.admin_password.is_none());
    }

    #[test]
    fn the_example_config_file_parses_to_exactly_the_defaults() {
        let parsed = Settings::from_document(DEFAULT_CONFIG_TOML.parse().unwrap()).unwrap();
        assert_eq!(parsed, Settings::default());
    }

    #[test]
    fn the_example_config_names_every_variable_at_the_key_it_sets() {
        let mut section = String::new();
        let mut named = Vec::new();
        for line in DEFAULT_CONFIG_TOML.lines() {
            let line = line.trim();
            if let Some(header) = line.strip_prefix('[').and_then(|l| l.split_once(']')) {
                section = format!("{}.", header.0);
                continue;
            }
            let setting = line.trim_start_matches(['#', ' ']);
            let Some((field, rest)) = setting.split_once(" = ") else {
                continue;
            };
            for var in rest.split('[').skip(1).filter_map(|r| r.split_once(']')) {
                let name = var.0.split('=').next().unwrap();
                if !(name.starts_with("NEXUS_") || name.starts_with("SMTP_")) {
                    continue;
                }
                named.push((name.to_owned(), format!("{section}{field}")));
            }
        }
        named.sort();
        let mut table: Vec<(String, String)> = env::ENV_VARS
            .iter()
            .map(|v| (v.name.to_owned(), v.key.to_owned()))
            .collect();
        table.sort();
        assert_eq!(named, table);
    }

    #[test]
    fn every_variable_sets_exactly_the_setting_it_names() {
        let defaults = as_table(&Settings::default());
        for var in env::ENV_VARS {
            let s = load(&[(var.name, var.example)])
                .unwrap_or_else(|e| panic!("{}={:?}: {e}", var.name, var.example));
            let mut changed = Vec::new();
            differing_keys(&as_table(&s), &defaults, "", &mut changed);
            assert_eq!(changed, [var.key], "{}={:?}", var.name, var.example);
        }
    }

    #[test]
    fn the_readme_lists_every_variable_with_its_key_and_default() {
        let defaults = as_table(&Settings::default());
        let default_of = |key: &str| {
            let mut value = toml::Value::Table(defaults.clone());
            for part in key.split('.') {
                match value.get(part) {
                    Some(inner) => value = inner.clone(),
                    None => return "none".to_owned(),
                }
            }
            match value {
                toml::Value::String(s) if s.is_empty() => "empty".to_owned(),
                toml::Value::String(s) => format!("`{s}`"),
                toml::Value::Array(a) if a.is_empty() => "none".to_owned(),
                other => other.to_string(),
            }
        };
        let mut expected = String::from(
            "| variable | setting (`nexus-backup.toml`) | default | what |\n|---|---|---|---|\n",
        );
        for var in env::ENV_VARS {
            expected += &format!(
                "| `{}` | `{}` | {} | {} |\n",
                var.name,
                var.key,
                default_of(var.key),
                var.about
            );
        }
        let readme =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
                .unwrap();
        assert!(
            readme.contains(&expected),
            "README.md's table of variables differs from settings::env::ENV_VARS; it should read:\n{expected}"
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("nexus-backup.toml"),
            "backup_root = \"/srv/file\"\ntimezone = \"UTC\"\n[smtp]\nport = 25\n",
        )
        .unwrap();
        let s = Settings::load_from(
            &env(&[
                ("NEXUS_BACKUP_ROOT", "/backups"),
                ("NEXUS_ALERT_TO", "a@example.com, b@example.com"),
            ]),
            dir.path(),
        )
        .unwrap();
        assert_eq!(s.backup_root, PathBuf::from("/backups"));
        assert_eq!(s.tz(), chrono_tz::UTC);
        assert_eq!(s.smtp.port, 25);
        assert_eq!(s.smtp.alert_to, ["a@example.com", "b@example.com"]);
    }

    #[test]
    fn compression_settings_from_the_environment_reach_the_engine_options() {
        let s = load(&[
            ("NEXUS_COMPRESSION_LEVEL", "1"),
            ("NEXUS_COMPRESSION_THREADS", "3"),
        ])
        .unwrap();
        assert_eq!((s.compression.level, s.compression.threads), (1, 3));
    }

    #[test]
    fn a_bad_value_is_refused_with_the_name_of_the_variable() {
        for (name, value, says) in [
            ("NEXUS_COMPRESSION_LEVEL", "99", "1 (fastest) to 12"),
            ("NEXUS_COMPRESSION_LEVEL", "13", "1 (fastest) to 12"),
            ("NEXUS_COMPRESSION_LEVEL", "fast", "whole number"),
            ("NEXUS_TZ", "Mars/Olympus", "unknown timezone"),
            ("NEXUS_DEMO_DB", "maybe", "1/true/yes/on"),
            ("NEXUS_QUEUE_CONCURRENCY", "0", "1 to 64"),
            ("NEXUS_LISTEN", "6443", "host:port"),
            ("SMTP_TLS", "ssl", "starttls"),
            ("SMTP_PORT", "70000", "u16"),
            (
                "NEXUS_METRICS_TOKEN",
                "fifteen-chars-x",
                "at least 16 characters",
            ),
        ] {
            let err = load(&[(name, value)]).unwrap_err().to_string();
            assert!(
                err.contains(name) && err.contains(says),
                "{name}={value}: {err}"
            );
        }
    }

    #[test]
    fn a_typo_or_a_bad_value_in_the_file_names_the_file_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nexus-backup.toml");
        std::fs::write(&file, "bakup_root = \"/x\"\n").unwrap();
        let err = Settings::load_from(&env(&[]), dir.path()).unwrap_err();
        assert!(err.to_string().contains("bakup_root"), "{err}");

        std::fs::write(&file, "[compression]\nlevel = 99\n").unwrap();
        let err = Settings::load_from(&env(&[]), dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("nexus-backup.toml") && err.contains("compression.level"),
            "{err}"
        );
    }

    #[test]
    fn booleans_read_one_way_everywhere() {
        for (value, expected) in [("TRUE", true), ("1", true), ("yes", true), ("False", false)] {
            let s = load(&[
                ("NEXUS_DEMO_DB", value),
                ("NEXUS_SCHEDULE_CATCH_UP", value),
                ("NEXUS_OFFSITE_ALLOW_HTTP", value),
            ])
            .unwrap();
            assert_eq!(
                (s.demo_db, s.schedule.catch_up, s.offsite.allow_http),
                (expected, expected, expected),
                "{value}"
            );
        }
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let s = load(&[
            ("NEXUS_ADMIN_PASSWORD", "hunter2"),
            ("SMTP_PASSWORD", "smtp-pw"),
            ("NEXUS_METRICS_TOKEN", "scrape-me-0123456789"),
        ])
        .unwrap();
        let printed = format!("{s:?} {}", toml::to_string(&s).unwrap());
        assert!(
            !printed.contains("hunter2")
                && !printed.contains("smtp-pw")
                && !printed.contains("scrape-me")
        );
    }
}
