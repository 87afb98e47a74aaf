//! Building the database: schema, bulk-load settings and the inserts.

use std::fs;
use std::path::Path;

use rand::Rng;
use rusqlite::{Connection, Statement, Transaction, params};

use super::text::*;
use super::*;

// ---------------------------------------------------------------------------
// Building the database

/// Tables, created before the load.
pub(super) const TABLES: &str = "
CREATE TABLE users (
    id           INTEGER PRIMARY KEY,
    username     TEXT NOT NULL,
    display_name TEXT NOT NULL,
    email        TEXT NOT NULL,
    role         TEXT NOT NULL,
    department   TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE TABLE incidents (
    id          INTEGER PRIMARY KEY,
    ticket_no   TEXT NOT NULL,
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    status      TEXT NOT NULL,
    priority    TEXT NOT NULL,
    category    TEXT NOT NULL,
    reporter_id INTEGER NOT NULL REFERENCES users(id),
    assignee_id INTEGER REFERENCES users(id),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    resolved_at TEXT
);
CREATE TABLE changes (
    id           INTEGER PRIMARY KEY,
    change_no    TEXT NOT NULL,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL,
    risk         TEXT NOT NULL,
    status       TEXT NOT NULL,
    requested_by INTEGER NOT NULL REFERENCES users(id),
    scheduled_at TEXT,
    created_at   TEXT NOT NULL
);
CREATE TABLE assets (
    id           INTEGER PRIMARY KEY,
    asset_tag    TEXT NOT NULL,
    name         TEXT NOT NULL,
    type         TEXT NOT NULL,
    location     TEXT NOT NULL,
    owner_id     INTEGER REFERENCES users(id),
    serial       TEXT NOT NULL,
    purchased_at TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE TABLE audit_logs (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER REFERENCES users(id),
    action     TEXT NOT NULL,
    entity     TEXT NOT NULL,
    entity_id  INTEGER,
    detail     TEXT NOT NULL,
    ip         TEXT NOT NULL,
    created_at TEXT NOT NULL
);
";

/// Indexes whose keys arrive in ascending order (ids, ticket numbers,
/// timestamps) or take few values (status): created before the load, they
/// grow at their right edge, which is cheap.
pub(super) const INDEXES_UP_FRONT: &str = "
CREATE UNIQUE INDEX idx_users_username ON users(username);
CREATE UNIQUE INDEX idx_incidents_ticket_no ON incidents(ticket_no);
CREATE INDEX idx_incidents_status ON incidents(status);
CREATE INDEX idx_incidents_created_at ON incidents(created_at);
CREATE UNIQUE INDEX idx_changes_change_no ON changes(change_no);
CREATE INDEX idx_changes_status ON changes(status);
CREATE INDEX idx_changes_created_at ON changes(created_at);
CREATE INDEX idx_changes_requested_by ON changes(requested_by);
CREATE UNIQUE INDEX idx_assets_asset_tag ON assets(asset_tag);
CREATE INDEX idx_assets_type ON assets(type);
CREATE INDEX idx_audit_logs_created_at ON audit_logs(created_at);
";

/// Indexes on random keys (foreign keys): inserting into them row by row
/// touches random pages, so they are built after the load, from a sort.
/// Measured at 1 GB this split is the fastest: ~95 MB/s, against ~55 MB/s
/// with every index up front and ~70 MB/s with every index after the load.
pub(super) const INDEXES_AFTER_LOAD: &str = "
CREATE UNIQUE INDEX idx_users_email ON users(email);
CREATE INDEX idx_incidents_reporter_id ON incidents(reporter_id);
CREATE INDEX idx_incidents_assignee_id ON incidents(assignee_id);
CREATE INDEX idx_assets_owner_id ON assets(owner_id);
CREATE INDEX idx_audit_logs_user_id ON audit_logs(user_id);
CREATE INDEX idx_audit_logs_entity ON audit_logs(entity, entity_id);
";

/// Bytes that [`INDEXES_AFTER_LOAD`] will take per incident (reporter and
/// assignee, ~11 bytes each) and per audit log (user ~11, entity ~20), so
/// that the load can stop short of the target by that much.
pub(super) const LATE_INDEX_BYTES_PER_INCIDENT: u64 = 22;
/// See [`LATE_INDEX_BYTES_PER_INCIDENT`].
pub(super) const LATE_INDEX_BYTES_PER_AUDIT_LOG: u64 = 31;

/// Incidents written between two checks of the file size.
pub(super) const SIZE_CHECK_EVERY: u64 = 16;

/// Builds the whole database in the (empty) file at `path`.
pub(super) fn build(path: &Path, target_bytes: u64, end: i64) -> Result<DemoStats, DemoError> {
    let mut conn = Connection::open(path)?;
    configure_for_bulk_load(&conn)?;
    conn.execute_batch(TABLES)?;
    conn.execute_batch(INDEXES_UP_FRONT)?;

    let plan = Plan::for_target(target_bytes);
    let mut text = TextGen::new(target_bytes, end);
    let tx = conn.transaction()?;
    insert_users(&tx, &mut text, plan.users)?;
    insert_assets(&tx, &mut text, plan.assets, plan.users)?;
    insert_changes(&tx, &mut text, plan.changes, plan.users)?;
    let (incidents, audit_logs) = insert_incidents_until(&tx, &mut text, target_bytes, &plan)?;
    tx.execute_batch(INDEXES_AFTER_LOAD)?;
    tx.commit()?;

    switch_to_wal(&conn)?;
    conn.close().map_err(|(_, e)| e)?;
    // One flush at the end instead of one per transaction: a database that
    // `ensure` publishes must survive a crash (this costs ~0.3 s per GB).
    fs::File::open(path)?.sync_all()?;
    Ok(DemoStats {
        bytes: fs::metadata(path)?.len(),
        incidents,
        changes: plan.changes,
        assets: plan.assets,
        users: plan.users,
        audit_logs,
    })
}

/// No journal, no `fsync`, a bounded 64 MiB page cache: the file is
/// private until generation succeeds, and is deleted if it fails. Temporary
/// files (the sorts that build indexes) stay on disk, so memory stays bounded
/// for any size.
pub(super) fn configure_for_bulk_load(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "PRAGMA journal_mode = OFF;
         PRAGMA synchronous = OFF;
         PRAGMA cache_size = -65536;",
    )
}

/// Leaves the database in WAL mode, like the production database.
pub(super) fn switch_to_wal(conn: &Connection) -> rusqlite::Result<()> {
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if mode.eq_ignore_ascii_case("wal") {
        Ok(())
    } else {
        Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(format!("journal_mode stayed {mode} instead of wal")),
        ))
    }
}

/// Current size of the database as SQLite sees it (including pages not yet
/// written to the file).
pub(super) fn database_bytes(size: &mut Statement<'_>) -> rusqlite::Result<u64> {
    let bytes: i64 = size.query_row([], |row| row.get(0))?;
    Ok(bytes.max(0) as u64)
}

/// Row counts of the small tables; incidents and audit logs fill the rest.
pub(super) struct Plan {
    pub(super) users: u64,
    pub(super) assets: u64,
    pub(super) changes: u64,
}

impl Plan {
    /// About 1% of the bytes go to users and assets, 9% to changes.
    pub(super) fn for_target(target_bytes: u64) -> Self {
        Plan {
            users: (target_bytes / 100_000).clamp(20, 5_000),
            assets: (target_bytes / 20_000).clamp(10, 50_000),
            changes: (target_bytes / 10_000).clamp(5, 100_000),
        }
    }

    /// Users `1..=staff` work for the service desk and handle tickets.
    pub(super) fn staff(users: u64) -> u64 {
        (users / 10).max(3)
    }
}

pub(super) fn insert_users(
    tx: &Transaction<'_>,
    g: &mut TextGen,
    count: u64,
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO users (id, username, display_name, email, role, department, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let staff = Plan::staff(count);
    for id in 1..=count {
        let user = g.user(id, staff, count);
        stmt.execute(params![
            id as i64,
            g.a,
            g.b,
            g.c,
            user.role,
            user.department,
            g.ts1
        ])?;
    }
    Ok(())
}

pub(super) fn insert_assets(
    tx: &Transaction<'_>,
    g: &mut TextGen,
    count: u64,
    users: u64,
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO assets (id, asset_tag, name, type, location, owner_id, serial,
                             purchased_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for id in 1..=count {
        let asset = g.asset(id, count);
        let owner = g.owner(users);
        stmt.execute(params![
            id as i64,
            g.a,
            g.b,
            asset.kind,
            asset.location,
            owner,
            g.c,
            g.ts1,
            g.ts2
        ])?;
    }
    Ok(())
}

pub(super) fn insert_changes(
    tx: &Transaction<'_>,
    g: &mut TextGen,
    count: u64,
    users: u64,
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO changes (id, change_no, title, description, risk, status, requested_by,
                              scheduled_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for id in 1..=count {
        let change = g.change(id, count, users);
        let scheduled = change.scheduled.then_some(g.ts2.as_str());
        stmt.execute(params![
            id as i64,
            g.a,
            g.b,
            g.c,
            change.risk,
            change.status,
            change.requested_by as i64,
            scheduled,
            g.ts1
        ])?;
    }
    Ok(())
}

/// Writes incidents, each followed by its audit trail, until the database
/// with the indexes still to be built would reach `target_bytes`. Returns the
/// numbers of incidents and audit logs.
pub(super) fn insert_incidents_until(
    tx: &Transaction<'_>,
    g: &mut TextGen,
    target_bytes: u64,
    plan: &Plan,
) -> rusqlite::Result<(u64, u64)> {
    let mut incident_stmt = tx.prepare_cached(
        "INSERT INTO incidents (id, ticket_no, title, description, status, priority, category,
                                reporter_id, assignee_id, created_at, updated_at, resolved_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    let mut audit_stmt = tx.prepare_cached(
        "INSERT INTO audit_logs (id, user_id, action, entity, entity_id, detail, ip, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut size =
        tx.prepare("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")?;

    let start_bytes = database_bytes(&mut size)?;
    let mut bytes = start_bytes;
    let mut incidents = 0_u64;
    let mut audit_logs = 0_u64;
    while bytes < target_bytes {
        // How far through the history we are, judged by the bytes written.
        let progress = bytes.saturating_sub(start_bytes) as f64
            / target_bytes.saturating_sub(start_bytes).max(1) as f64;
        for _ in 0..SIZE_CHECK_EVERY {
            incidents += 1;
            let incident = g.incident(incidents, progress, plan.users);
            insert_incident(&mut incident_stmt, g, &incident)?;
            audit_logs = insert_audit_trail(&mut audit_stmt, g, &incident, audit_logs, plan)?;
        }
        bytes = database_bytes(&mut size)?
            + incidents * LATE_INDEX_BYTES_PER_INCIDENT
            + audit_logs * LATE_INDEX_BYTES_PER_AUDIT_LOG;
    }
    Ok((incidents, audit_logs))
}

pub(super) fn insert_incident(
    stmt: &mut Statement<'_>,
    g: &TextGen,
    incident: &Incident,
) -> rusqlite::Result<()> {
    let resolved = incident.resolved.then_some(g.ts3.as_str());
    stmt.execute(params![
        incident.id as i64,
        g.a,
        g.b,
        g.c,
        incident.status,
        incident.priority,
        incident.category,
        incident.reporter_id as i64,
        incident.assignee_id.map(|a| a as i64),
        g.ts1,
        g.ts2,
        resolved
    ])?;
    Ok(())
}

/// Writes the audit logs that follow an incident (creation, views, updates,
/// logins); returns the last audit log id.
pub(super) fn insert_audit_trail(
    stmt: &mut Statement<'_>,
    g: &mut TextGen,
    incident: &Incident,
    mut last_id: u64,
    plan: &Plan,
) -> rusqlite::Result<u64> {
    let entries = g.rng.random_range(2..=6);
    for n in 0..entries {
        last_id += 1;
        let entry = g.audit_entry(incident, n, plan.users);
        stmt.execute(params![
            last_id as i64,
            entry.user_id as i64,
            entry.action,
            entry.entity,
            entry.entity_id as i64,
            g.d,
            g.e,
            g.ts4
        ])?;
    }
    Ok(last_id)
}
