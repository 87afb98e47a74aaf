//! The sidecar manifest `<file>.json` beside each backup (SPEC §1): enough
//! to rebuild the catalog record from the backup folder alone.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::EngineError;
use crate::fsutil;
use nexus_domain::{BackupId, BackupType, Checksum, CreatedBy};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub backup_id: BackupId,
    pub backup_type: BackupType,
    pub file_name: String,
    pub file_size: u64,
    pub original_size: u64,
    /// `sha256:<hex>` of the `.db.gz`.
    pub checksum: Checksum,
    /// `sha256:<hex>` of the uncompressed database.
    pub raw_checksum: Checksum,
    pub created_by: ManifestCreator,
    pub description: Option<String>,
    pub started_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
    pub tool_version: String,
    /// The libdeflate level the file was compressed at (absent in the
    /// manifests of versions before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_level: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestCreator {
    pub id: Option<i64>,
    pub username: String,
}

impl From<&CreatedBy> for ManifestCreator {
    fn from(c: &CreatedBy) -> Self {
        ManifestCreator {
            id: c.id,
            username: c.username.clone(),
        }
    }
}

/// `<backup file>.json`
pub fn manifest_path(backup_file: &Path) -> PathBuf {
    let mut p = backup_file.as_os_str().to_owned();
    p.push(".json");
    PathBuf::from(p)
}

/// Writes the manifest to `tmp` (mode 0600) and fsyncs it; the caller
/// publishes it with a rename.
pub fn write_temp(manifest: &Manifest, tmp: &Path) -> Result<(), EngineError> {
    let err = |e| EngineError::io("cannot write the manifest", tmp, e);
    fsutil::remove_if_exists(tmp).map_err(err)?;
    let mut file = fsutil::create_private_file(tmp).map_err(err)?;
    let json = serde_json::to_vec_pretty(manifest).expect("a manifest always serialises");
    file.write_all(&json).map_err(err)?;
    file.write_all(b"\n").map_err(err)?;
    file.sync_all().map_err(err)
}

pub fn read(path: &Path) -> Result<Manifest, EngineError> {
    let bytes =
        std::fs::read(path).map_err(|e| EngineError::io("cannot read the manifest", path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| EngineError::Io {
        context: "the manifest is not valid",
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}
