//! Domain values. Each has a parsing constructor, so a string that is not a
//! valid value never travels further than the boundary that received it.

mod backup_id;
mod backup_type;
mod description;
mod role;
mod status;

pub use backup_id::{BackupId, InvalidBackupId};
pub use backup_type::{BackupType, InvalidBackupType};
pub use description::{InvalidDescription, MAX_DESCRIPTION_CHARS, parse_description};
pub use role::{InvalidRole, Role};
pub use status::{BackupStatus, Phase};
