//! The one list of environment variables: each with the setting it sets
//! (its key in `nexus-backup.toml`), how its text is read, an example
//! value and what it is for. Loading, the unknown-variable warnings, the
//! README's table and the tests all walk this list; nothing else names them.

use std::collections::HashMap;

/// How a variable's text becomes a value of the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Taken as it is: paths, names, cron expressions.
    Text,
    /// Taken as it is, and never shown in an error or a log.
    Secret,
    /// A whole number.
    Integer,
    /// `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`, in any case.
    Bool,
    /// Comma-separated; blanks around each item dropped.
    List,
}

/// One environment variable.
#[derive(Debug, Clone, Copy)]
pub struct EnvVar {
    pub name: &'static str,
    /// Dotted key in `nexus-backup.toml`, e.g. `compression.level`.
    pub key: &'static str,
    pub kind: Kind,
    /// A valid value other than the default (the tests set each).
    pub example: &'static str,
    /// What it is for, as the README's table says.
    pub about: &'static str,
}

const fn var(
    name: &'static str,
    key: &'static str,
    kind: Kind,
    example: &'static str,
    about: &'static str,
) -> EnvVar {
    EnvVar {
        name,
        key,
        kind,
        example,
        about,
    }
}

use Kind::{Bool, Integer, List, Secret, Text};

/// Every environment variable that sets a setting.
#[rustfmt::skip]
pub const ENV_VARS: &[EnvVar] = &[
    var("NEXUS_DATA_DIR", "data_dir", Text, "/var/lib/nexus-backup", "catalog and queue folder (catalog.db, queue.db, jwt_secret)"),
    var("NEXUS_DB_PATH", "db_path", Text, "/srv/itsm/itsm_nexus.db", "the ITSM database to protect"),
    var("NEXUS_BACKUP_ROOT", "backup_root", Text, "/backups", "backup root (production: `/backups`)"),
    var("NEXUS_LISTEN", "listen", Text, "0.0.0.0:6443", "listen address of the API"),
    var("NEXUS_TLS_CERT", "tls_cert", Text, "/etc/nexus-backup/cert.pem", "PEM certificate chain: with the key, HTTPS"),
    var("NEXUS_TLS_KEY", "tls_key", Text, "/etc/nexus-backup/key.pem", "PEM private key of the certificate"),
    var("NEXUS_ADMIN_USER", "admin_user", Text, "root-admin", "first admin's name, created when no user exists"),
    var("NEXUS_ADMIN_PASSWORD", "admin_password", Secret, "correct horse battery", "first admin's password (≥ 12 characters); none: generated and printed once"),
    var("NEXUS_JWT_SECRET", "jwt_secret", Secret, "0123456789abcdef0123456789abcdef", "JWT secret (≥ 32 bytes); none: generated into `<data_dir>/jwt_secret`, mode 0600"),
    var("NEXUS_JWT_TTL_MINUTES", "jwt_ttl_minutes", Integer, "30", "token lifetime, minutes"),
    var("NEXUS_METRICS_TOKEN", "metrics_token", Secret, "scrape-token-0123456789", "a token that may read `/metrics` only, ≥ 16 characters (for Prometheus); none: only signed-in users"),
    var("NEXUS_TZ", "timezone", Text, "UTC", "timezone of ids, file names and schedules"),
    var("NEXUS_LOG_FORMAT", "log_format", Text, "json", "`text`, or `json`: one JSON object per line (journald, Loki)"),
    var("NEXUS_DEMO_DB", "demo_db", Bool, "TRUE", "generate a demo database when missing (`make run` sets it)"),
    var("NEXUS_DEMO_DB_SIZE_MB", "demo_db_size_mb", Integer, "5", "size of the demo database, MB"),
    var("NEXUS_RESERVE_BYTES", "reserve_bytes", Integer, "1048576", "free space a backup must leave untouched"),
    var("SMTP_HOST", "smtp.host", Text, "smtp.example.com", "mail server; none: alerts are logged, not mailed"),
    var("SMTP_PORT", "smtp.port", Integer, "2525", "mail server port"),
    var("SMTP_USER", "smtp.user", Text, "nexus", "mail login"),
    var("SMTP_PASSWORD", "smtp.password", Secret, "smtp-password", "mail password"),
    var("SMTP_FROM", "smtp.from", Text, "backup@example.com", "sender of alerts"),
    var("SMTP_TLS", "smtp.tls", Text, "starttls", "`auto` (465: tls, 587: starttls, else none), `tls`, `starttls`, `none`"),
    var("SMTP_TIMEOUT_SECS", "smtp.timeout_secs", Integer, "5", "longest wait for the mail server"),
    var("NEXUS_ALERT_TO", "smtp.alert_to", List, "ops@example.com, oncall@example.com", "recipients of alerts, comma-separated"),
    var("NEXUS_QUEUE_HEARTBEAT_SECS", "queue.heartbeat_secs", Integer, "5", "worker heartbeat (same on every worker)"),
    var("NEXUS_QUEUE_POLL_MS", "queue.poll_interval_ms", Integer, "250", "how often an idle worker looks for jobs"),
    var("NEXUS_QUEUE_CONCURRENCY", "queue.concurrency", Integer, "4", "jobs at once per worker"),
    var("NEXUS_QUEUE_MAX_ATTEMPTS", "queue.max_attempts", Integer, "5", "starts of one job, crashes included"),
    var("NEXUS_QUEUE_NICE", "queue.nice", Integer, "15", "how far below the API and the application backups and verifications run (`nice`, 0–19; 0: same priority); restores keep full priority"),
    var("NEXUS_COMPRESSION_LEVEL", "compression.level", Integer, "9", "compression level: 0, each backup picks the cheapest level within 5% of `gzip -6`'s size; 1 (fastest) to 12 (smallest) pins one"),
    var("NEXUS_COMPRESSION_THREADS", "compression.threads", Integer, "1", "compressing threads; 0: one per core"),
    var("NEXUS_SCHEDULE_CATCH_UP", "schedule.catch_up", Bool, "no", "at start-up, run the latest slot missed while down, once"),
    var("NEXUS_SCHEDULE_DAILY", "schedule.daily", Text, "30 1 * * *", "daily backup (cron, or `off`)"),
    var("NEXUS_SCHEDULE_WEEKLY", "schedule.weekly", Text, "0 3 * * 6", "weekly backup"),
    var("NEXUS_SCHEDULE_MONTHLY", "schedule.monthly", Text, "0 4 15 * *", "monthly backup"),
    var("NEXUS_SCHEDULE_VERIFY_ALL", "schedule.verify_all", Text, "0 1 * * 0", "verification of every backup"),
    var("NEXUS_SCHEDULE_PRUNE_DAILY", "schedule.prune_daily", Text, "0 6 * * *", "removal of expired daily backups"),
    var("NEXUS_SCHEDULE_PRUNE_WEEKLY", "schedule.prune_weekly", Text, "0 6 * * 1", "removal of expired weekly backups"),
    var("NEXUS_SCHEDULE_PRUNE_MONTHLY", "schedule.prune_monthly", Text, "0 6 2 * *", "removal of expired monthly backups"),
    var("NEXUS_SCHEDULE_RECONCILE", "schedule.reconcile", Text, "off", "comparison of the backup folder with the catalog"),
    var("NEXUS_SCHEDULE_DISK_CHECK", "schedule.disk_check", Text, "*/10 * * * *", "disk usage check of the backup filesystem"),
    var("NEXUS_RETENTION_DAILY_DAYS", "retention.daily_days", Integer, "14", "days daily backups are kept"),
    var("NEXUS_RETENTION_WEEKLY_DAYS", "retention.weekly_days", Integer, "56", "days weekly backups are kept"),
    var("NEXUS_RETENTION_MONTHLY_MONTHS", "retention.monthly_months", Integer, "24", "months monthly backups are kept"),
    var("NEXUS_OFFSITE_BUCKET", "offsite.bucket", Text, "itsm-backups", "offsite bucket (S3-compatible); none: offsite copies off"),
    var("NEXUS_OFFSITE_ENDPOINT", "offsite.endpoint", Text, "https://s3.example.com", "S3-compatible endpoint; none: AWS S3"),
    var("NEXUS_OFFSITE_REGION", "offsite.region", Text, "ap-northeast-1", "bucket region"),
    var("NEXUS_OFFSITE_PREFIX", "offsite.prefix", Text, "itsm", "key prefix: `<prefix>/<type>/<file name>`"),
    var("NEXUS_OFFSITE_ACCESS_KEY_ID", "offsite.access_key_id", Text, "AKIAEXAMPLE", "bucket access key id"),
    var("NEXUS_OFFSITE_SECRET_ACCESS_KEY", "offsite.secret_access_key", Secret, "secret-key-example", "bucket secret key (never logged)"),
    var("NEXUS_OFFSITE_ALLOW_HTTP", "offsite.allow_http", Bool, "yes", "allow a plain `http://` endpoint"),
    var("NEXUS_OFFSITE_ENCRYPTION_KEY_FILE", "offsite.encryption_key_file", Text, "/etc/nexus-backup/offsite.key", "age identity: copies encrypted to its public key"),
    var("NEXUS_OFFSITE_PART_SIZE_MB", "offsite.part_size_mb", Integer, "32", "multipart part size, MiB (5 or more)"),
    var("NEXUS_OFFSITE_BACKFILL_AFTER_SECS", "offsite.backfill_after_secs", Integer, "600", "a backup without a copy this long after it finished gets one queued"),
    var("NEXUS_OFFSITE_RETENTION_DAILY_DAYS", "offsite.retention.daily_days", Integer, "30", "days offsite copies of daily backups are kept"),
    var("NEXUS_OFFSITE_RETENTION_WEEKLY_DAYS", "offsite.retention.weekly_days", Integer, "90", "days offsite copies of weekly backups are kept"),
    var("NEXUS_OFFSITE_RETENTION_MONTHLY_MONTHS", "offsite.retention.monthly_months", Integer, "36", "months offsite copies of monthly backups are kept"),
    var("NEXUS_REPLICATION", "replication.enabled", Bool, "on", "continuous replication of the live database (WAL mode) into `<backup_root>/wal/`: `on` or `off` (off until restore to an instant ships)"),
    var("NEXUS_REPLICATION_INTERVAL_MS", "replication.interval_ms", Integer, "250", "how often committed transactions become a segment, ms"),
    var("NEXUS_REPLICATION_KEEP_DAYS", "replication.keep_days", Integer, "30", "days back a restore to an instant stays possible (older lineages are deleted)"),
];

/// Variables of ours that are not settings: the file to read, and test
/// and benchmark switches of debug builds.
const NOT_SETTINGS: &[&str] = &["NEXUS_CONFIG"];
const NOT_SETTINGS_PREFIXES: &[&str] = &["NEXUS_TEST_", "NEXUS_BENCH_"];

impl Kind {
    /// The value `text` stands for, as it would be written in the file.
    pub fn to_toml(self, text: &str) -> Result<toml::Value, String> {
        match self {
            Kind::Text | Kind::Secret => Ok(toml::Value::String(text.to_owned())),
            Kind::Integer => text
                .trim()
                .parse::<i64>()
                .map(toml::Value::Integer)
                .map_err(|_| "expected a whole number".to_owned()),
            Kind::Bool => parse_bool(text).map(toml::Value::Boolean),
            Kind::List => Ok(toml::Value::Array(
                text.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| toml::Value::String(s.to_owned()))
                    .collect(),
            )),
        }
    }
}

/// The one way a yes/no is read from the environment.
pub fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("expected 1/true/yes/on or 0/false/no/off".to_owned()),
    }
}

/// The variables of the list that `env` sets (an empty value counts as unset).
pub fn present(env: &HashMap<String, String>) -> impl Iterator<Item = (&'static EnvVar, &str)> {
    ENV_VARS.iter().filter_map(|var| {
        env.get(var.name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
            .map(|v| (var, v))
    })
}

/// A warning for each `NEXUS_*` or `SMTP_*` variable that sets nothing,
/// with the nearest known name when one is close (a typo).
pub fn unknown(env: &HashMap<String, String>) -> Vec<String> {
    let mut names: Vec<&String> = env
        .keys()
        .filter(|k| k.starts_with("NEXUS_") || k.starts_with("SMTP_"))
        .filter(|k| !NOT_SETTINGS.contains(&k.as_str()))
        .filter(|k| !NOT_SETTINGS_PREFIXES.iter().any(|p| k.starts_with(p)))
        .filter(|k| !ENV_VARS.iter().any(|v| v.name == k.as_str()))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let nearest = ENV_VARS
                .iter()
                .map(|v| (strsim::levenshtein(name, v.name), v.name))
                .min()
                .filter(|(distance, _)| *distance <= 3);
            match nearest {
                Some((_, known)) => format!(
                    "environment variable {name} is not a setting and is ignored (did you mean {known}?)"
                ),
                None => format!("environment variable {name} is not a setting and is ignored"),
            }
        })
        .collect()
}

/// Sets `value` at the dotted `key` of `table`, making the sections on the way.
pub fn insert(table: &mut toml::Table, key: &str, value: toml::Value) {
    match key.split_once('.') {
        None => {
            table.insert(key.to_owned(), value);
        }
        Some((section, rest)) => {
            let entry = table
                .entry(section.to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_and_key_is_listed_once() {
        let mut names: Vec<_> = ENV_VARS.iter().map(|v| v.name).collect();
        let mut keys: Vec<_> = ENV_VARS.iter().map(|v| v.key).collect();
        names.sort();
        keys.sort();
        let (n, k) = (names.len(), keys.len());
        names.dedup();
        keys.dedup();
        assert_eq!((names.len(), keys.len()), (n, k));
    }

    #[test]
    fn booleans_read_the_same_whatever_their_case() {
        for yes in ["1", "true", "TRUE", "True", "yes", "YES", "on"] {
            assert_eq!(parse_bool(yes), Ok(true), "{yes}");
        }
        for no in ["0", "false", "FALSE", "no", "Off"] {
            assert_eq!(parse_bool(no), Ok(false), "{no}");
        }
        assert!(parse_bool("maybe").is_err());
    }

    #[test]
    fn an_unknown_variable_is_named_with_the_nearest_known_one() {
        let env: HashMap<String, String> = [
            ("NEXUS_COMPRESION_LEVEL", "9"),
            ("SMTP_HOSTNAME_OF_DOOM", "x"),
            ("NEXUS_DB_PATH", "/x"),
            ("NEXUS_CONFIG", "/etc/x.toml"),
            ("NEXUS_TEST_FAIL_RESTORE_AFTER", "apply"),
            ("HOME", "/root"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
        let warnings = unknown(&env);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("NEXUS_COMPRESION_LEVEL")
                && warnings[0].contains("did you mean NEXUS_COMPRESSION_LEVEL?"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].contains("SMTP_HOSTNAME_OF_DOOM") && !warnings[1].contains("did you mean"),
            "{warnings:?}"
        );
    }
}
