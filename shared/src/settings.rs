//! Configuration: built-in defaults, then `nexus-backup.toml` (or the file
//! named by `NEXUS_CONFIG`), then environment variables (SPEC §10).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};

pub use crate::offsite::OffsiteSettings;
pub use crate::retention::RetentionSettings;
pub use crate::schedule::ScheduleSettings;

/// A value that must never appear in logs: `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// An IANA timezone name such as `Asia/Tokyo`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timezone(pub Tz);

impl<'de> Deserialize<'de> for Timezone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<Tz>()
            .map(Timezone)
            .map_err(|_| serde::de::Error::custom(format!("unknown timezone {s:?}")))
    }
}

#[derive(Debug, Clone, Deserialize)]
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
    /// A token that may read `GET /metrics` without a user account.
    pub metrics_token: Option<Secret>,
    pub timezone: Timezone,
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
}

#[derive(Debug, Clone, Deserialize)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    Auto,
    Tls,
    Starttls,
    None,
}

impl FromStr for SmtpTls {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(SmtpTls::Auto),
            "tls" => Ok(SmtpTls::Tls),
            "starttls" => Ok(SmtpTls::Starttls),
            "none" => Ok(SmtpTls::None),
            other => Err(format!("{other:?}: expected auto, tls, starttls or none")),
        }
    }
}

/// Disk usage levels of the backup filesystem (guide §7.3), in percent.
#[derive(Debug, Clone, Deserialize)]
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

#[derive(Debug, Clone, Deserialize)]
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
    #[error("environment variable {name}={value:?} is not valid: {message}")]
    Env {
        name: &'static str,
        value: String,
        message: String,
    },
}

/// The environment variables that override the file, with the setting each sets.
const ENV_NAMES: &[&str] = &[
    "NEXUS_DATA_DIR",
    "NEXUS_DB_PATH",
    "NEXUS_BACKUP_ROOT",
    "NEXUS_LISTEN",
    "NEXUS_TLS_CERT",
    "NEXUS_TLS_KEY",
    "NEXUS_ADMIN_USER",
    "NEXUS_ADMIN_PASSWORD",
    "NEXUS_JWT_SECRET",
    "NEXUS_JWT_TTL_MINUTES",
    "NEXUS_METRICS_TOKEN",
    "NEXUS_TZ",
    "NEXUS_DEMO_DB",
    "NEXUS_DEMO_DB_SIZE_MB",
    "NEXUS_RESERVE_BYTES",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_USER",
    "SMTP_PASSWORD",
    "SMTP_FROM",
    "SMTP_TLS",
    "NEXUS_ALERT_TO",
    "NEXUS_QUEUE_HEARTBEAT_SECS",
    "NEXUS_QUEUE_POLL_MS",
    "NEXUS_QUEUE_CONCURRENCY",
    "NEXUS_QUEUE_MAX_ATTEMPTS",
    "NEXUS_SCHEDULE_CATCH_UP",
    "NEXUS_SCHEDULE_DAILY",
    "NEXUS_SCHEDULE_WEEKLY",
    "NEXUS_SCHEDULE_MONTHLY",
    "NEXUS_SCHEDULE_VERIFY_ALL",
    "NEXUS_SCHEDULE_PRUNE_DAILY",
    "NEXUS_SCHEDULE_PRUNE_WEEKLY",
    "NEXUS_SCHEDULE_PRUNE_MONTHLY",
    "NEXUS_SCHEDULE_RECONCILE",
    "NEXUS_SCHEDULE_DISK_CHECK",
    "NEXUS_RETENTION_DAILY_DAYS",
    "NEXUS_RETENTION_WEEKLY_DAYS",
    "NEXUS_RETENTION_MONTHLY_MONTHS",
    "NEXUS_OFFSITE_BUCKET",
    "NEXUS_OFFSITE_ENDPOINT",
    "NEXUS_OFFSITE_REGION",
    "NEXUS_OFFSITE_PREFIX",
    "NEXUS_OFFSITE_ACCESS_KEY_ID",
    "NEXUS_OFFSITE_SECRET_ACCESS_KEY",
    "NEXUS_OFFSITE_ALLOW_HTTP",
    "NEXUS_OFFSITE_ENCRYPTION_KEY_FILE",
    "NEXUS_OFFSITE_PART_SIZE_MB",
    "NEXUS_OFFSITE_BACKFILL_AFTER_SECS",
    "NEXUS_OFFSITE_RETENTION_DAILY_DAYS",
    "NEXUS_OFFSITE_RETENTION_WEEKLY_DAYS",
    "NEXUS_OFFSITE_RETENTION_MONTHLY_MONTHS",
];

impl Settings {
    /// Loads from the process environment and the working folder.
    pub fn load() -> Result<Self, SettingsError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        Self::load_from(&env, Path::new("."))
    }

    /// Loads with an explicit environment and working folder (for tests).
    pub fn load_from(env: &HashMap<String, String>, cwd: &Path) -> Result<Self, SettingsError> {
        let file = match env.get("NEXUS_CONFIG") {
            Some(path) => Some(PathBuf::from(path)),
            None => Some(cwd.join("nexus-backup.toml")).filter(|p| p.exists()),
        };
        let mut settings = match file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(&path).map_err(|source| SettingsError::Read {
                        path: path.clone(),
                        source,
                    })?;
                toml::from_str(&text).map_err(|e| SettingsError::Parse {
                    path,
                    message: e.to_string(),
                })?
            }
            None => Settings::default(),
        };
        for name in ENV_NAMES {
            if let Some(value) = env.get(*name).filter(|v| !v.is_empty()) {
                settings.apply_env(name, value)?;
            }
        }
        Ok(settings)
    }

    fn apply_env(&mut self, name: &'static str, value: &str) -> Result<(), SettingsError> {
        fn parse<T: FromStr>(name: &'static str, value: &str) -> Result<T, SettingsError>
        where
            T::Err: fmt::Display,
        {
            value.parse().map_err(|e: T::Err| SettingsError::Env {
                name,
                value: value.to_owned(),
                message: e.to_string(),
            })
        }
        match name {
            "NEXUS_DATA_DIR" => self.data_dir = value.into(),
            "NEXUS_DB_PATH" => self.db_path = value.into(),
            "NEXUS_BACKUP_ROOT" => self.backup_root = value.into(),
            "NEXUS_LISTEN" => self.listen = value.into(),
            "NEXUS_TLS_CERT" => self.tls_cert = Some(value.into()),
            "NEXUS_TLS_KEY" => self.tls_key = Some(value.into()),
            "NEXUS_ADMIN_USER" => self.admin_user = value.into(),
            "NEXUS_ADMIN_PASSWORD" => self.admin_password = Some(Secret::new(value)),
            "NEXUS_JWT_SECRET" => self.jwt_secret = Some(Secret::new(value)),
            "NEXUS_JWT_TTL_MINUTES" => self.jwt_ttl_minutes = parse(name, value)?,
            "NEXUS_METRICS_TOKEN" => self.metrics_token = Some(Secret::new(value)),
            "NEXUS_TZ" => self.timezone = Timezone(parse(name, value)?),
            "NEXUS_DEMO_DB" => self.demo_db = matches!(value, "1" | "true" | "yes"),
            "NEXUS_DEMO_DB_SIZE_MB" => self.demo_db_size_mb = parse(name, value)?,
            "NEXUS_RESERVE_BYTES" => self.reserve_bytes = parse(name, value)?,
            "SMTP_HOST" => self.smtp.host = Some(value.into()),
            "SMTP_PORT" => self.smtp.port = parse(name, value)?,
            "SMTP_USER" => self.smtp.user = Some(value.into()),
            "SMTP_PASSWORD" => self.smtp.password = Some(Secret::new(value)),
            "SMTP_FROM" => self.smtp.from = value.into(),
            "SMTP_TLS" => self.smtp.tls = parse(name, value)?,
            "NEXUS_ALERT_TO" => {
                self.smtp.alert_to = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            }
            "NEXUS_QUEUE_HEARTBEAT_SECS" => self.queue.heartbeat_secs = parse(name, value)?,
            "NEXUS_QUEUE_POLL_MS" => self.queue.poll_interval_ms = parse(name, value)?,
            "NEXUS_QUEUE_CONCURRENCY" => self.queue.concurrency = parse(name, value)?,
            "NEXUS_QUEUE_MAX_ATTEMPTS" => self.queue.max_attempts = parse(name, value)?,
            "NEXUS_COMPRESSION_LEVEL" => self.compression.level = parse(name, value)?,
            "NEXUS_COMPRESSION_THREADS" => self.compression.threads = parse(name, value)?,
            "NEXUS_SCHEDULE_CATCH_UP" => self.schedule.catch_up = parse(name, value)?,
            "NEXUS_SCHEDULE_DAILY" => self.schedule.daily = parse(name, value)?,
            "NEXUS_SCHEDULE_WEEKLY" => self.schedule.weekly = parse(name, value)?,
            "NEXUS_SCHEDULE_MONTHLY" => self.schedule.monthly = parse(name, value)?,
            "NEXUS_SCHEDULE_VERIFY_ALL" => self.schedule.verify_all = parse(name, value)?,
            "NEXUS_SCHEDULE_PRUNE_DAILY" => self.schedule.prune_daily = parse(name, value)?,
            "NEXUS_SCHEDULE_PRUNE_WEEKLY" => self.schedule.prune_weekly = parse(name, value)?,
            "NEXUS_SCHEDULE_PRUNE_MONTHLY" => self.schedule.prune_monthly = parse(name, value)?,
            "NEXUS_SCHEDULE_RECONCILE" => self.schedule.reconcile = parse(name, value)?,
            "NEXUS_SCHEDULE_DISK_CHECK" => self.schedule.disk_check = parse(name, value)?,
            "NEXUS_RETENTION_DAILY_DAYS" => self.retention.daily_days = parse(name, value)?,
            "NEXUS_RETENTION_WEEKLY_DAYS" => self.retention.weekly_days = parse(name, value)?,
            "NEXUS_RETENTION_MONTHLY_MONTHS" => self.retention.monthly_months = parse(name, value)?,
            "NEXUS_OFFSITE_BUCKET" => self.offsite.bucket = Some(value.into()),
            "NEXUS_OFFSITE_ENDPOINT" => self.offsite.endpoint = Some(value.into()),
            "NEXUS_OFFSITE_REGION" => self.offsite.region = value.into(),
            "NEXUS_OFFSITE_PREFIX" => self.offsite.prefix = value.into(),
            "NEXUS_OFFSITE_ACCESS_KEY_ID" => self.offsite.access_key_id = Some(value.into()),
            "NEXUS_OFFSITE_SECRET_ACCESS_KEY" => {
                self.offsite.secret_access_key = Some(Secret::new(value))
            }
            "NEXUS_OFFSITE_ALLOW_HTTP" => self.offsite.allow_http = parse(name, value)?,
            "NEXUS_OFFSITE_ENCRYPTION_KEY_FILE" => {
                self.offsite.encryption_key_file = Some(value.into())
            }
            "NEXUS_OFFSITE_PART_SIZE_MB" => self.offsite.part_size_mb = parse(name, value)?,
            "NEXUS_OFFSITE_BACKFILL_AFTER_SECS" => {
                self.offsite.backfill_after_secs = parse(name, value)?
            }
            "NEXUS_OFFSITE_RETENTION_DAILY_DAYS" => {
                self.offsite.retention.daily_days = parse(name, value)?
            }
            "NEXUS_OFFSITE_RETENTION_WEEKLY_DAYS" => {
                self.offsite.retention.weekly_days = parse(name, value)?
            }
            "NEXUS_OFFSITE_RETENTION_MONTHLY_MONTHS" => {
                self.offsite.retention.monthly_months = parse(name, value)?
            }
            _ => unreachable!("{name} is listed in ENV_NAMES"),
        }
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
/// `nexus-backup print-default-config`.
pub const DEFAULT_CONFIG_TOML: &str = r#"# nexus-backup.toml — every setting with its default.
# Environment variables (in brackets) override this file.

data_dir = "./var/data"            # [NEXUS_DATA_DIR] catalog.db, queue.db, jwt_secret
db_path = "./var/itsm_nexus.db"    # [NEXUS_DB_PATH] the ITSM database to protect
backup_root = "./var/backups"      # [NEXUS_BACKUP_ROOT] production: "/backups"
listen = "127.0.0.1:6443"          # [NEXUS_LISTEN]
# tls_cert = "/etc/nexus/cert.pem"  # [NEXUS_TLS_CERT] with tls_key: HTTPS, as the guide's https://…:6443
# tls_key = "/etc/nexus/key.pem"    # [NEXUS_TLS_KEY]
admin_user = "admin"               # [NEXUS_ADMIN_USER] first admin, created when no user exists
# admin_password = "..."           # [NEXUS_ADMIN_PASSWORD] without it one is generated and printed once
# jwt_secret = "..."               # [NEXUS_JWT_SECRET] without it one is generated into data_dir (0600)
jwt_ttl_minutes = 60               # [NEXUS_JWT_TTL_MINUTES]
# metrics_token = "..."            # [NEXUS_METRICS_TOKEN] lets Prometheus read GET /metrics without a user (16+ characters)
timezone = "Asia/Tokyo"            # [NEXUS_TZ] file names, ids and schedules use this zone
demo_db = false                    # [NEXUS_DEMO_DB=1] generate a demo itsm_nexus.db when missing
demo_db_size_mb = 20               # [NEXUS_DEMO_DB_SIZE_MB]
reserve_bytes = 0                  # [NEXUS_RESERVE_BYTES] free space a backup must leave untouched

[smtp]
# host = "smtp.example.com"        # [SMTP_HOST] no host: alerts are logged, not mailed
port = 587                         # [SMTP_PORT]
# user = "..."                     # [SMTP_USER]
# password = "..."                 # [SMTP_PASSWORD]
from = "nexus-backup@localhost"    # [SMTP_FROM]
alert_to = []                      # [NEXUS_ALERT_TO] comma-separated in the environment
tls = "auto"                       # [SMTP_TLS] auto (465: tls, 587: starttls, else none), tls, starttls, none
timeout_secs = 10                  # longest wait for the SMTP server

[alerts]                           # disk usage of the backup filesystem, percent (guide §7.3)
warn_percent = 80.0                # WARN + mail
error_percent = 90.0               # ERROR + mail + prune old automatic backups down to prune_target_percent
critical_percent = 95.0            # CRITICAL + urgent mail + automatic backups paused
prune_target_percent = 85.0
resume_percent = 90.0              # automatic backups resume under this
reminder_hours = 24                # one reminder a day while a level lasts

[queue]
heartbeat_secs = 10                # [NEXUS_QUEUE_HEARTBEAT_SECS] same on every worker
missed_heartbeats = 2              # a worker silent this many beats is dead; its jobs move on
poll_interval_ms = 500             # [NEXUS_QUEUE_POLL_MS]
concurrency = 2                    # [NEXUS_QUEUE_CONCURRENCY] jobs at once per worker
max_attempts = 3                   # [NEXUS_QUEUE_MAX_ATTEMPTS] starts of one job, crashes included
transient_retries = 4              # retries of a transient error within one start, with backoff
retry_base_ms = 500                # first backoff; doubles each retry

# Cron expressions in `timezone`: 5 fields (minute hour day month weekday,
# Sunday = 0 or 7) or 6 with seconds first; "off" turns a schedule off.
# The scheduler runs inside nexus-worker unless it is started with --no-scheduler.
[schedule]
catch_up = true                    # [NEXUS_SCHEDULE_CATCH_UP] run the latest slot missed while down, once
daily = "0 2 * * *"                # [NEXUS_SCHEDULE_DAILY] daily backup
weekly = "0 3 * * 0"               # [NEXUS_SCHEDULE_WEEKLY] weekly backup, Sundays
monthly = "0 4 1 * *"              # [NEXUS_SCHEDULE_MONTHLY] monthly backup, on the 1st
verify_all = "0 1 * * 6"           # [NEXUS_SCHEDULE_VERIFY_ALL] verify every backup, Saturdays
prune_daily = "0 5 * * *"          # [NEXUS_SCHEDULE_PRUNE_DAILY] remove expired daily backups
prune_weekly = "0 5 * * 1"         # [NEXUS_SCHEDULE_PRUNE_WEEKLY] … weekly ones, Mondays
prune_monthly = "0 5 2 * *"        # [NEXUS_SCHEDULE_PRUNE_MONTHLY] … monthly ones, on the 2nd
reconcile = "30 5 * * *"           # [NEXUS_SCHEDULE_RECONCILE] compare the backup folder with the catalog
disk_check = "0 * * * *"           # [NEXUS_SCHEDULE_DISK_CHECK] backup filesystem usage, hourly

# How long automatic backups are kept; the newest of each type always stays.
# Manual and before_restore backups are kept until someone deletes them.
[retention]
daily_days = 7                     # [NEXUS_RETENTION_DAILY_DAYS]
weekly_days = 28                   # [NEXUS_RETENTION_WEEKLY_DAYS]
monthly_months = 12                # [NEXUS_RETENTION_MONTHLY_MONTHS]

# Copies of every successful backup in an S3-compatible bucket, off this host.
[offsite]
# bucket = "itsm-backups"          # [NEXUS_OFFSITE_BUCKET] no bucket: offsite copies are off
# endpoint = "https://s3.example"  # [NEXUS_OFFSITE_ENDPOINT] S3-compatible server; none: AWS S3
region = "us-east-1"               # [NEXUS_OFFSITE_REGION]
prefix = "nexus-backup"            # [NEXUS_OFFSITE_PREFIX] keys: <prefix>/<type>/<file name>
# access_key_id = "..."            # [NEXUS_OFFSITE_ACCESS_KEY_ID]
# secret_access_key = "..."        # [NEXUS_OFFSITE_SECRET_ACCESS_KEY] never logged
allow_http = false                 # [NEXUS_OFFSITE_ALLOW_HTTP] allow an http:// endpoint
# encryption_key_file = "/etc/nexus/offsite.key"  # [NEXUS_OFFSITE_ENCRYPTION_KEY_FILE] age identity: copies encrypted
part_size_mb = 16                  # [NEXUS_OFFSITE_PART_SIZE_MB] multipart part size (5 or more)
concurrency = 2                    # parts in flight at once
timeout_secs = 60                  # longest wait for one request
backfill_after_secs = 300          # [NEXUS_OFFSITE_BACKFILL_AFTER_SECS] a backup with no copy this long after it finished gets one queued

[offsite.retention]                # how long copies stay in the bucket
daily_days = 7                     # [NEXUS_OFFSITE_RETENTION_DAILY_DAYS]
weekly_days = 28                   # [NEXUS_OFFSITE_RETENTION_WEEKLY_DAYS]
monthly_months = 12                # [NEXUS_OFFSITE_RETENTION_MONTHLY_MONTHS]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_match_the_operating_contract() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::load_from(&env(&[]), dir.path()).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("./var/data"));
        assert_eq!(s.db_path, PathBuf::from("./var/itsm_nexus.db"));
        assert_eq!(s.backup_root, PathBuf::from("./var/backups"));
        assert_eq!(s.listen, "127.0.0.1:6443");
        assert_eq!(s.tz(), chrono_tz::Asia::Tokyo);
        assert!(s.admin_password.is_none());
    }

    #[test]
    fn the_printed_default_config_parses_to_the_defaults() {
        let parsed: Settings = toml::from_str(DEFAULT_CONFIG_TOML).unwrap();
        let defaults = Settings::default();
        assert_eq!(parsed.data_dir, defaults.data_dir);
        assert_eq!(parsed.queue.heartbeat_secs, defaults.queue.heartbeat_secs);
        assert_eq!(parsed.smtp.port, defaults.smtp.port);
        assert_eq!(parsed.schedule, defaults.schedule);
        assert_eq!(parsed.retention, defaults.retention);
        assert_eq!(parsed.offsite.retention, defaults.offsite.retention);
        assert_eq!(parsed.offsite.part_size_mb, defaults.offsite.part_size_mb);
        assert!(!parsed.offsite.enabled());
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
    fn a_typo_in_the_file_or_a_bad_value_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("nexus-backup.toml"),
            "bakup_root = \"/x\"\n",
        )
        .unwrap();
        let err = Settings::load_from(&env(&[]), dir.path()).unwrap_err();
        assert!(err.to_string().contains("bakup_root"), "{err}");

        let err = Settings::load_from(
            &env(&[("NEXUS_TZ", "Mars/Olympus")]),
            Path::new("/nonexistent"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("NEXUS_TZ"), "{err}");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let s = Settings::load_from(
            &env(&[
                ("NEXUS_ADMIN_PASSWORD", "hunter2"),
                ("SMTP_PASSWORD", "smtp-pw"),
            ]),
            Path::new("/nonexistent"),
        )
        .unwrap();
        let printed = format!("{s:?}");
        assert!(!printed.contains("hunter2") && !printed.contains("smtp-pw"));
    }
}
