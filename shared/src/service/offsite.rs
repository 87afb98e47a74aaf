//! Which backups the offsite copies are missing (SPEC §11): the policy over
//! what the catalog records.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::catalog::{Catalog, CatalogError};
use crate::domain::BackupId;
use crate::retention::{self, RetentionSettings};

/// Successful backups finished before `before` that have no offsite copy
/// and should: their copy was never queued, or offsite copies were turned
/// on after they were taken. A backup whose copy would already be past the
/// offsite retention is left out, so a copy the prune removed is not made
/// again.
pub fn backlog(
    catalog: &Catalog,
    before: DateTime<Utc>,
    retention: &RetentionSettings,
    tz: Tz,
) -> Result<Vec<BackupId>, CatalogError> {
    let candidates = catalog.backups_without_offsite_copy(before)?;
    let mut weighed = catalog.offsite_summaries()?;
    weighed.extend(candidates.iter().cloned());
    let expired: Vec<BackupId> = retention::expired(&weighed, Utc::now(), retention, tz)
        .into_iter()
        .map(|e| e.record.id)
        .collect();
    Ok(candidates
        .into_iter()
        .map(|c| c.id)
        .filter(|id| !expired.contains(id))
        .collect())
}
