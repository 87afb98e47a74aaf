//! The audit trail: append-only (triggers refuse UPDATE and DELETE).

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::Serialize;

use super::{Catalog, Result, time};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditSource {
    Api,
    Cli,
    Worker,
    Scheduler,
    System,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditResult {
    Success,
    Failure,
    /// Refused: authentication or authorisation failed.
    Denied,
    /// Accepted for asynchronous work; the outcome is a later entry.
    Accepted,
}

impl AuditSource {
    fn as_str(self) -> &'static str {
        match self {
            AuditSource::Api => "api",
            AuditSource::Cli => "cli",
            AuditSource::Worker => "worker",
            AuditSource::Scheduler => "scheduler",
            AuditSource::System => "system",
        }
    }
}

impl AuditResult {
    fn as_str(self) -> &'static str {
        match self {
            AuditResult::Success => "success",
            AuditResult::Failure => "failure",
            AuditResult::Denied => "denied",
            AuditResult::Accepted => "accepted",
        }
    }
}

/// One thing that happened: who, from where, what, on what, with what result.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub actor: String,
    pub actor_id: Option<i64>,
    pub source: AuditSource,
    pub remote_addr: Option<String>,
    pub action: &'static str,
    pub target: Option<String>,
    pub result: AuditResult,
    pub detail: Option<String>,
}

impl AuditEntry {
    /// An entry by a component of the service itself (worker, scheduler).
    pub fn system(source: AuditSource, action: &'static str, result: AuditResult) -> Self {
        AuditEntry {
            actor: source.as_str().to_owned(),
            actor_id: None,
            source,
            remote_addr: None,
            action,
            target: None,
            result,
            detail: None,
        }
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor: String,
    pub source: String,
    pub remote_addr: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub result: String,
    pub detail: Option<String>,
}

impl Catalog {
    pub fn append_audit(&self, entry: &AuditEntry) -> Result<()> {
        let conn = self.connect()?;
        let now = time::now_text();
        conn.execute(
            "INSERT INTO audit_logs (occurred_at, actor, actor_id, source, remote_addr, action,
                 target, result, detail, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?1)",
            params![
                now,
                entry.actor,
                entry.actor_id,
                entry.source.as_str(),
                entry.remote_addr,
                entry.action,
                entry.target,
                entry.result.as_str(),
                entry.detail,
            ],
        )?;
        Ok(())
    }

    /// Newest first.
    pub fn list_audit(&self, limit: u32, offset: u32) -> Result<Vec<AuditRecord>> {
        let conn = self.connect()?;
        let mut stmt = conn.prepare(
            "SELECT id, occurred_at, actor, source, remote_addr, action, target, result, detail
             FROM audit_logs ORDER BY id DESC LIMIT ?1 OFFSET ?2",
        )?;
        let rows = stmt.query_map([limit, offset], |r| {
            Ok((
                r.get::<_, String>(1)?,
                AuditRecord {
                    id: r.get(0)?,
                    occurred_at: DateTime::<Utc>::MIN_UTC,
                    actor: r.get(2)?,
                    source: r.get(3)?,
                    remote_addr: r.get(4)?,
                    action: r.get(5)?,
                    target: r.get(6)?,
                    result: r.get(7)?,
                    detail: r.get(8)?,
                },
            ))
        })?;
        rows.map(|row| {
            let (at, mut record) = row?;
            record.occurred_at = time::parse_utc(&at)?;
            Ok(record)
        })
        .collect()
    }
}
