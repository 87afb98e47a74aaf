//! Where offsite copies go (`[offsite]` in `nexus-backup.toml`,
//! `NEXUS_OFFSITE_*` in the environment). No bucket: no offsite copies.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Secret;
use crate::retention::RetentionSettings;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OffsiteSettings {
    /// The bucket; without one, backups stay on this host only.
    pub bucket: Option<String>,
    /// An S3-compatible endpoint (MinIO, Ceph, Wasabi…); none: AWS S3.
    pub endpoint: Option<String>,
    pub region: String,
    /// Keys are `<prefix>/<type>/<file name>`.
    pub prefix: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    /// Allow a plain `http://` endpoint (a bucket on the same trusted network).
    pub allow_http: bool,
    /// An age identity file (`nexus-backup offsite-keygen`, or `age-keygen`):
    /// with it, copies are encrypted to its public key before they leave.
    pub encryption_key_file: Option<PathBuf>,
    /// Size of each multipart part, MiB (S3 needs at least 5).
    pub part_size_mb: u64,
    /// Parts in flight at once.
    pub concurrency: usize,
    /// Longest wait for one request to the bucket.
    pub timeout_secs: u64,
    /// A successful backup without an offsite copy this long after it
    /// finished gets one queued (offsite turned on later, or its job lost).
    pub backfill_after_secs: u64,
    /// How long copies stay in the bucket; the local retention applies to
    /// the local files only.
    pub retention: RetentionSettings,
}

impl Default for OffsiteSettings {
    fn default() -> Self {
        OffsiteSettings {
            bucket: None,
            endpoint: None,
            region: "us-east-1".into(),
            prefix: "nexus-backup".into(),
            access_key_id: None,
            secret_access_key: None,
            allow_http: false,
            encryption_key_file: None,
            part_size_mb: 16,
            concurrency: 2,
            timeout_secs: 60,
            backfill_after_secs: 300,
            retention: RetentionSettings::default(),
        }
    }
}

impl OffsiteSettings {
    /// Whether offsite copies are configured at all.
    pub fn enabled(&self) -> bool {
        self.bucket.as_deref().is_some_and(|b| !b.is_empty())
    }

    pub fn part_size(&self) -> usize {
        usize::try_from(self.part_size_mb.clamp(5, 4096) << 20).unwrap_or(usize::MAX)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }
}
