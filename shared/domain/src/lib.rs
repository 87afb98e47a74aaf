//! Domain values. Each has a parsing constructor, so a string that is not a
//! valid value never travels further than the boundary that received it.
//! Every layer above may use them; this crate uses no other of the
//! workspace (docs/architecture.md).

mod backup_id;
mod backup_type;
mod check;
mod checksum;
mod created_by;
mod description;
mod disk_level;
mod error_info;
mod ids;
mod role;
mod status;

pub use backup_id::{BackupId, InvalidBackupId};
pub use backup_type::{BackupType, InvalidBackupType};
pub use check::{CheckName, CheckResult, CheckStatus, failed_names};
pub use checksum::{Checksum, InvalidChecksum};
pub use created_by::CreatedBy;
pub use description::{InvalidDescription, MAX_DESCRIPTION_CHARS, parse_description};
pub use disk_level::{DiskLevel, DiskState};
pub use error_info::ErrorInfo;
pub use ids::{CheckId, InvalidCheckId, InvalidRestoreId, RestoreId};
pub use role::{InvalidRole, Role};
pub use status::{BackupStatus, Phase};
