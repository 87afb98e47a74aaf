//! The verification jobs (SPEC §4). Being written.

use nexus_shared::domain::BackupId;

use crate::JobContext;

pub async fn run(_ctx: &JobContext, check_id: String, backup_id: BackupId) -> anyhow::Result<String> {
    Ok(format!("{backup_id}: {check_id} not run yet"))
}

pub async fn run_all(_ctx: &JobContext, requested_by: String) -> anyhow::Result<String> {
    Ok(format!("verify-all by {requested_by}: not run yet"))
}
