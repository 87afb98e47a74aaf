//! One entry of the audit trail (SPEC §9), as `GET /api/v1/audit-logs`
//! lists it and `audit export --format jsonl` writes it.

use chrono_tz::Tz;
use serde::Serialize;

use super::local_time;
use crate::catalog::AuditRecord;

/// One entry of the audit trail (SPEC §9).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AuditLog))]
pub struct AuditLogView {
    pub id: i64,
    pub occurred_at: String,
    /// The user, or `scheduler`, `worker`, `system`.
    pub actor: String,
    /// `api`, `cli`, `worker`, `scheduler` or `system`.
    pub source: String,
    pub remote_addr: Option<String>,
    #[cfg_attr(feature = "openapi", schema(example = "backup.create"))]
    pub action: String,
    /// Usually a backup or restore id.
    pub target: Option<String>,
    /// `success`, `failure`, `denied` or `accepted`.
    pub result: String,
    pub detail: Option<String>,
}

impl AuditLogView {
    pub fn new(r: AuditRecord, tz: Tz) -> Self {
        AuditLogView {
            id: r.id,
            occurred_at: local_time(r.occurred_at, tz),
            actor: r.actor,
            source: r.source,
            remote_addr: r.remote_addr,
            action: r.action,
            target: r.target,
            result: r.result,
            detail: r.detail,
        }
    }
}
