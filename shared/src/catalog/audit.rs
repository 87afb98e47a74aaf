//! The audit trail: append-only (triggers refuse UPDATE and DELETE).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
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

/// Which audit records to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: u32,
    pub offset: u32,
}

/// What `verify_audit_chain` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Records checked.
    pub records: u64,
    /// Records from before the chain existed (no hash), at the start.
    pub unchained: u64,
    /// The first problem found, if any: the record id and what is wrong.
    pub problem: Option<(i64, String)>,
}

/// The hash before the first record of the chain.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 over the previous hash and every field of the record, in a
/// canonical JSON form (no delimiter ambiguity).
fn record_hash(prev: &str, id: i64, occurred_at: &str, e: &StoredFields<'_>) -> String {
    use sha2::{Digest, Sha256};
    let canonical = serde_json::json!([
        prev,
        id,
        occurred_at,
        e.actor,
        e.actor_id,
        e.source,
        e.remote_addr,
        e.action,
        e.target,
        e.result,
        e.detail
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// The stored text of a record's fields.
struct StoredFields<'a> {
    actor: &'a str,
    actor_id: Option<i64>,
    source: &'a str,
    remote_addr: Option<&'a str>,
    action: &'a str,
    target: Option<&'a str>,
    result: &'a str,
    detail: Option<&'a str>,
}

impl Catalog {
    /// Appends a record, chained to the one before it.
    pub fn append_audit(&self, entry: &AuditEntry) -> Result<()> {
        let mut conn = self.writer()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        append_in(&tx, entry)?;
        tx.commit()?;
        Ok(())
    }

    /// Newest first.
    pub fn list_audit(&self, limit: u32, offset: u32) -> Result<Vec<AuditRecord>> {
        self.list_audit_filtered(&AuditFilter {
            limit,
            offset,
            ..AuditFilter::default()
        })
        .map(|(records, _)| records)
    }

    /// Newest first, with the total matching the filter.
    pub fn list_audit_filtered(&self, f: &AuditFilter) -> Result<(Vec<AuditRecord>, u64)> {
        let conn = self.reader()?;
        let where_clause = "WHERE (?1 IS NULL OR action = ?1) AND (?2 IS NULL OR actor = ?2)
              AND (?3 IS NULL OR occurred_at >= ?3) AND (?4 IS NULL OR occurred_at <= ?4)";
        let from = f.from.map(time::format_utc);
        let to = f.to.map(time::format_utc);
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM audit_logs {where_clause}"),
            params![f.action, f.actor, from, to],
            |r| r.get(0),
        )?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT id, occurred_at, actor, source, remote_addr, action, target, result, detail
             FROM audit_logs {where_clause} ORDER BY id DESC LIMIT ?5 OFFSET ?6"
        ))?;
        let rows = stmt.query_map(
            params![f.action, f.actor, from, to, f.limit, f.offset],
            |r| {
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
            },
        )?;
        let records = rows
            .map(|row| {
                let (at, mut record) = row?;
                record.occurred_at = time::parse_utc(&at)?;
                Ok(record)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((records, total.max(0) as u64))
    }

    /// Walks the whole trail in order and checks every link of the chain:
    /// an edited record no longer matches its hash, a removed one breaks
    /// the next record's link or leaves a gap in the ids, a reordered one
    /// does both.
    pub fn verify_audit_chain(&self) -> Result<ChainReport> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, occurred_at, actor, actor_id, source, remote_addr, action, target, result,
                    detail, prev_hash, hash
             FROM audit_logs ORDER BY id",
        )?;
        let mut rows = stmt.query([])?;
        let mut report = ChainReport {
            records: 0,
            unchained: 0,
            problem: None,
        };
        let mut prev: Option<(i64, String)> = None;
        while let Some(r) = rows.next()? {
            report.records += 1;
            let id: i64 = r.get(0)?;
            let stored_hash: Option<String> = r.get(11)?;
            let prev_hash: Option<String> = r.get(10)?;
            let (Some(stored_hash), Some(prev_hash)) = (stored_hash, prev_hash) else {
                if prev.is_some() {
                    report.problem = Some((
                        id,
                        "record has no hash inside the chain (inserted by hand?)".into(),
                    ));
                    break;
                }
                report.unchained += 1;
                continue;
            };
            let (expected_prev, previous_id) = match &prev {
                Some((pid, h)) => (h.as_str(), Some(*pid)),
                None => (GENESIS, None),
            };
            if let Some(pid) = previous_id
                && id != pid + 1
            {
                report.problem =
                    Some((id, format!("records {} to {} are missing", pid + 1, id - 1)));
                break;
            }
            if prev_hash != expected_prev {
                report.problem = Some((
                    id,
                    "does not follow the record before it (removed or reordered records)".into(),
                ));
                break;
            }
            let (actor, source, action, result): (String, String, String, String) =
                (r.get(2)?, r.get(4)?, r.get(6)?, r.get(8)?);
            let (remote_addr, target, detail): (Option<String>, Option<String>, Option<String>) =
                (r.get(5)?, r.get(7)?, r.get(9)?);
            let occurred_at: String = r.get(1)?;
            let fields = StoredFields {
                actor: &actor,
                actor_id: r.get(3)?,
                source: &source,
                remote_addr: remote_addr.as_deref(),
                action: &action,
                target: target.as_deref(),
                result: &result,
                detail: detail.as_deref(),
            };
            if record_hash(&prev_hash, id, &occurred_at, &fields) != stored_hash {
                report.problem = Some((id, "content does not match its hash (edited)".into()));
                break;
            }
            prev = Some((id, stored_hash));
        }
        Ok(report)
    }
}

/// Appends `entry` to the chain inside `tx` (an IMMEDIATE transaction), so
/// that it commits together with the change it records.
pub(super) fn append_in(tx: &rusqlite::Transaction<'_>, entry: &AuditEntry) -> Result<()> {
    let (last_id, prev): (i64, Option<String>) = tx
        .query_row(
            "SELECT id, hash FROM audit_logs ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, None));
    let prev = prev.unwrap_or_else(|| GENESIS.to_owned());
    let id = last_id + 1;
    let now = time::now_text();
    let fields = StoredFields {
        actor: &entry.actor,
        actor_id: entry.actor_id,
        source: entry.source.as_str(),
        remote_addr: entry.remote_addr.as_deref(),
        action: entry.action,
        target: entry.target.as_deref(),
        result: entry.result.as_str(),
        detail: entry.detail.as_deref(),
    };
    let hash = record_hash(&prev, id, &now, &fields);
    tx.execute(
        "INSERT INTO audit_logs (id, occurred_at, actor, actor_id, source, remote_addr, action,
             target, result, detail, created_at, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?2, ?11, ?12)",
        params![
            id,
            now,
            fields.actor,
            fields.actor_id,
            fields.source,
            fields.remote_addr,
            fields.action,
            fields.target,
            fields.result,
            fields.detail,
            prev,
            hash,
        ],
    )?;
    Ok(())
}
