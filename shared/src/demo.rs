//! Generator of a realistic demo `itsm_nexus.db`, the SQLite database of the
//! ITSM system that Nexus Backup protects.
//!
//! It is used by the demo setup, the end-to-end tests and the benchmarks, which
//! need a database that looks like the real one: users, incidents, changes,
//! assets and audit logs, with text mixing Japanese and English and timestamps
//! spread over the last two years. The content is drawn from a random number
//! generator seeded with the requested size, so a given size always yields the
//! same rows (only shifted in time with the day of generation).
//!
//! Generation is built for speed (1 GB in about 11 s in a release build on
//! two cores, about 20 s in a debug build): one connection, no journal and no
//! `fsync` during the bulk load, one big transaction, prepared statements,
//! rows written in index-friendly order, and the indexes on random keys built
//! after the load. Memory stays bounded (about 150 MB: SQLite's page cache and
//! sorter) whatever the size. The finished file is switched to WAL mode, like
//! the production database.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, Statement, Transaction, params};

/// How many rows of each table a generated database holds, and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoStats {
    /// Size of the database file in bytes once generation finished.
    pub bytes: u64,
    /// Rows in `incidents`.
    pub incidents: u64,
    /// Rows in `changes`.
    pub changes: u64,
    /// Rows in `assets`.
    pub assets: u64,
    /// Rows in `users`.
    pub users: u64,
    /// Rows in `audit_logs`.
    pub audit_logs: u64,
}

/// Why a demo database could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// SQLite refused an operation while building the database.
    #[error("demo database: sqlite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file system refused an operation (the file exists already, the
    /// folder cannot be created, the disk is full, ...).
    #[error("demo database: i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Generates a new database at `path` of about `target_bytes` (within ~10%),
/// in WAL mode. Fails if `path` exists.
///
/// The size is met within 2% from 1 MB up; the empty schema alone takes
/// about 100 KB, so much smaller targets come out larger.
///
/// The file is created exclusively before anything is written, so two callers
/// can never write into the same file; on failure the partial file is removed.
pub fn generate(path: &Path, target_bytes: u64) -> Result<DemoStats, DemoError> {
    generate_until(path, target_bytes, today_utc_midnight())
}

/// Generates the database only if `path` does not exist yet. Safe when two
/// processes call it at once: the database is built into a unique temp file in
/// the same folder, then hard-linked to `path` (if another process won the
/// race, the temp file is simply removed), and the temp file is removed.
/// Creates the parent folder if needed. Returns `Ok(true)` if it generated.
pub fn ensure(path: &Path, target_bytes: u64) -> Result<bool, DemoError> {
    if path.try_exists()? {
        return Ok(false);
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let temp = temp_path_beside(path);
    let linked = generate(&temp, target_bytes).and_then(|_| link_into_place(&temp, path));
    remove_db_files(&temp);
    linked
}

// ---------------------------------------------------------------------------
// File handling

/// Counts temp files made by this process, so that threads never collide.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name in the folder of `path` that no other process or thread uses.
fn temp_path_beside(path: &Path) -> PathBuf {
    let name = path.file_name().map_or_else(
        || "itsm_nexus.db".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let unique = format!(
        ".{name}.tmp-{}-{}-{nanos}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    path.with_file_name(unique)
}

/// Hard-links the finished temp file to `path`; `Ok(false)` if `path` exists.
fn link_into_place(temp: &Path, path: &Path) -> Result<bool, DemoError> {
    match fs::hard_link(temp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Removes a database file and the WAL side files SQLite may have left.
fn remove_db_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        // Best effort: the side files usually do not exist.
        let _ = fs::remove_file(PathBuf::from(name));
    }
}

/// Midnight UTC of today, as Unix seconds: the end of the generated history.
fn today_utc_midnight() -> i64 {
    chrono::Utc::now().timestamp().div_euclid(DAY) * DAY
}

/// [`generate`] with the history ending at `end` (Unix seconds).
fn generate_until(path: &Path, target_bytes: u64, end: i64) -> Result<DemoStats, DemoError> {
    // Creating the file exclusively makes "fails if `path` exists" race-free;
    // SQLite treats an empty file as an empty database.
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    let built = build(path, target_bytes, end);
    if built.is_err() {
        remove_db_files(path);
    }
    built
}

// ---------------------------------------------------------------------------
// Building the database

/// Tables, created before the load.
const TABLES: &str = "
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
const INDEXES_UP_FRONT: &str = "
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
const INDEXES_AFTER_LOAD: &str = "
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
const LATE_INDEX_BYTES_PER_INCIDENT: u64 = 22;
/// See [`LATE_INDEX_BYTES_PER_INCIDENT`].
const LATE_INDEX_BYTES_PER_AUDIT_LOG: u64 = 31;

/// Incidents written between two checks of the file size.
const SIZE_CHECK_EVERY: u64 = 16;

/// Builds the whole database in the (empty) file at `path`.
fn build(path: &Path, target_bytes: u64, end: i64) -> Result<DemoStats, DemoError> {
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
fn configure_for_bulk_load(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "PRAGMA journal_mode = OFF;
         PRAGMA synchronous = OFF;
         PRAGMA cache_size = -65536;",
    )
}

/// Leaves the database in WAL mode, like the production database.
fn switch_to_wal(conn: &Connection) -> rusqlite::Result<()> {
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
fn database_bytes(size: &mut Statement<'_>) -> rusqlite::Result<u64> {
    let bytes: i64 = size.query_row([], |row| row.get(0))?;
    Ok(bytes.max(0) as u64)
}

/// Row counts of the small tables; incidents and audit logs fill the rest.
struct Plan {
    users: u64,
    assets: u64,
    changes: u64,
}

impl Plan {
    /// About 1% of the bytes go to users and assets, 9% to changes.
    fn for_target(target_bytes: u64) -> Self {
        Plan {
            users: (target_bytes / 100_000).clamp(20, 5_000),
            assets: (target_bytes / 20_000).clamp(10, 50_000),
            changes: (target_bytes / 10_000).clamp(5, 100_000),
        }
    }

    /// Users `1..=staff` work for the service desk and handle tickets.
    fn staff(users: u64) -> u64 {
        (users / 10).max(3)
    }
}

fn insert_users(tx: &Transaction<'_>, g: &mut TextGen, count: u64) -> rusqlite::Result<()> {
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

fn insert_assets(
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

fn insert_changes(
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
fn insert_incidents_until(
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

fn insert_incident(
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
fn insert_audit_trail(
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

// ---------------------------------------------------------------------------
// Row contents

const DAY: i64 = 86_400;
/// Length of the generated history.
const HISTORY_DAYS: i64 = 730;
/// Japan Standard Time, the office's time zone, is UTC+9.
const JST_OFFSET: i64 = 9 * 3_600;

struct User {
    role: &'static str,
    department: &'static str,
}

struct Asset {
    kind: &'static str,
    location: &'static str,
}

struct Change {
    risk: &'static str,
    status: &'static str,
    requested_by: u64,
    scheduled: bool,
}

struct Incident {
    id: u64,
    status: &'static str,
    priority: &'static str,
    category: &'static str,
    reporter_id: u64,
    assignee_id: Option<u64>,
    resolved: bool,
    japanese: bool,
    created: i64,
    last_update: i64,
}

struct AuditEntry {
    user_id: u64,
    action: &'static str,
    entity: &'static str,
    entity_id: u64,
}

/// Draws row contents. The text of the row being built is written into the
/// reusable buffers `a`..`e` and `ts1`..`ts4`, so that the load allocates
/// nothing per row; the caller binds them right after.
struct TextGen {
    rng: StdRng,
    /// End of the history (Unix seconds, UTC).
    end: i64,
    /// First day of the history (days since the Unix epoch).
    first_day: i64,
    a: String,
    b: String,
    c: String,
    d: String,
    e: String,
    ts1: String,
    ts2: String,
    ts3: String,
    ts4: String,
}

impl TextGen {
    fn new(target_bytes: u64, end: i64) -> Self {
        TextGen {
            rng: StdRng::seed_from_u64(target_bytes ^ 0x4e45_5855_5344_454d),
            end,
            first_day: end.div_euclid(DAY) - HISTORY_DAYS,
            a: String::with_capacity(64),
            b: String::with_capacity(128),
            c: String::with_capacity(2048),
            d: String::with_capacity(256),
            e: String::with_capacity(32),
            ts1: String::with_capacity(19),
            ts2: String::with_capacity(19),
            ts3: String::with_capacity(19),
            ts4: String::with_capacity(19),
        }
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    /// A random user id, or none for unassigned hardware in stock.
    fn owner(&mut self, users: u64) -> Option<i64> {
        (!self.chance(0.08)).then(|| self.rng.random_range(1..=users) as i64)
    }

    /// A moment on the office's working hours of the day `progress` (0..=1)
    /// of the way through the history; weekends are mostly avoided.
    fn office_time(&mut self, progress: f64) -> i64 {
        let mut day = self.first_day + (progress.clamp(0.0, 1.0) * HISTORY_DAYS as f64) as i64;
        let weekday = (day + 3).rem_euclid(7); // 0 = Monday
        if weekday >= 5 && self.chance(0.85) {
            day -= weekday - 4; // moved to Friday
        }
        let hour = if self.chance(0.9) {
            self.rng.random_range(8..20)
        } else {
            self.rng.random_range(0..24)
        };
        let t = day * DAY + hour * 3_600 + self.rng.random_range(0..3_600) - JST_OFFSET;
        t.min(self.end - 1)
    }

    /// `start` plus a delay of up to about `max_hours`, skewed to short ones.
    fn later(&mut self, start: i64, max_hours: f64) -> i64 {
        let r: f64 = self.rng.random();
        let delay = (r * r * max_hours * 3_600.0) as i64 + self.rng.random_range(60..900);
        (start + delay).min(self.end - 1)
    }

    fn user(&mut self, id: u64, staff: u64, count: u64) -> User {
        let japanese = self.chance(0.85);
        self.a.clear();
        self.b.clear();
        if japanese {
            let (family_ja, family_en) = self.pick(FAMILY_NAMES);
            let (given_ja, given_en) = self.pick(GIVEN_NAMES);
            let _ = write!(self.a, "{given_en}.{family_en}{id}");
            let _ = write!(self.b, "{family_ja} {given_ja}");
        } else {
            let first = self.pick(EN_FIRST_NAMES);
            let last = self.pick(EN_LAST_NAMES);
            let _ = write!(
                self.a,
                "{}.{}{id}",
                first.to_lowercase(),
                last.to_lowercase()
            );
            let _ = write!(self.b, "{first} {last}");
        }
        self.c.clear();
        let _ = write!(self.c, "{}@nexus-corp.example", self.a);
        let created = self.office_time(0.5 * id as f64 / count as f64) - 365 * DAY;
        format_ts(&mut self.ts1, created);
        let (role, department) = if id <= 3 {
            ("admin", "情報システム部")
        } else if id <= staff {
            ("agent", "情報システム部")
        } else {
            let role = if self.chance(0.08) {
                "manager"
            } else {
                "requester"
            };
            let (ja, en) = self.pick(DEPARTMENTS);
            (role, if japanese { ja } else { en })
        };
        User { role, department }
    }

    fn asset(&mut self, id: u64, count: u64) -> Asset {
        let (kind, prefix, models) = self.pick(ASSET_KINDS);
        self.a.clear();
        let _ = write!(self.a, "{prefix}-{id:06}");
        self.b.clear();
        let model = self.pick(models);
        self.b.push_str(model);
        self.c.clear();
        for _ in 0..10 {
            let i = self.rng.random_range(0..SERIAL_CHARS.len());
            self.c.push(char::from(SERIAL_CHARS[i]));
        }
        let created = self.office_time(0.3 * id as f64 / count as f64);
        let purchased = created - self.rng.random_range(0..3 * 365) * DAY;
        format_ts(&mut self.ts1, purchased);
        self.ts1.truncate(10); // a date
        format_ts(&mut self.ts2, created);
        let location = self.pick(LOCATIONS);
        Asset { kind, location }
    }

    fn change(&mut self, id: u64, count: u64, users: u64) -> Change {
        let japanese = self.chance(0.7);
        self.a.clear();
        let _ = write!(self.a, "CHG-{id:06}");
        let (title_ja, title_en) = self.pick(CHANGE_TITLES);
        let (system_ja, system_en) = self.pick(SYSTEMS);
        self.b.clear();
        if japanese {
            let _ = write!(self.b, "{system_ja}: {title_ja}");
        } else {
            let _ = write!(self.b, "{system_en}: {title_en}");
        }
        let sentences = if japanese {
            CHANGE_SENTENCES_JA
        } else {
            CHANGE_SENTENCES_EN
        };
        self.description(sentences, japanese, 150..500);

        let created = self.office_time(id as f64 / count as f64);
        format_ts(&mut self.ts1, created);
        let scheduled_at = self.later(created, 24.0 * 21.0);
        format_ts(&mut self.ts2, scheduled_at);
        let age_days = (self.end - created) / DAY;
        let status = if age_days > 30 {
            self.pick(&["implemented", "closed", "closed", "closed", "rejected"])
        } else {
            self.pick(&["draft", "submitted", "approved", "scheduled", "implemented"])
        };
        Change {
            risk: self.pick(&["low", "low", "medium", "medium", "high"]),
            status,
            requested_by: self.rng.random_range(1..=users),
            scheduled: status != "draft" && status != "rejected",
        }
    }

    fn incident(&mut self, id: u64, progress: f64, users: u64) -> Incident {
        let japanese = self.chance(0.7);
        let (category, title_ja, title_en) = self.pick(INCIDENT_TITLES);
        self.a.clear();
        let _ = write!(self.a, "INC-{id:06}");
        self.b.clear();
        if self.chance(0.15) {
            let prefix = self.pick(TITLE_PREFIXES);
            self.b.push_str(prefix);
        }
        self.b.push_str(if japanese { title_ja } else { title_en });
        let sentences = if japanese {
            INCIDENT_SENTENCES_JA
        } else {
            INCIDENT_SENTENCES_EN
        };
        self.description(sentences, japanese, 150..700);

        let created = self.office_time(progress);
        let status = self.incident_status((self.end - created) / DAY);
        let resolved = matches!(status, "resolved" | "closed");
        let resolved_at = self.later(created, 24.0 * 5.0);
        let last_update = if resolved {
            resolved_at
        } else {
            self.later(created, 24.0)
        };
        let staff = Plan::staff(users);
        let assignee_id = (status != "open" || self.chance(0.3))
            .then(|| self.rng.random_range(1..=staff.min(users)));
        self.append_work_log(created, japanese);
        format_ts(&mut self.ts1, created);
        format_ts(&mut self.ts2, last_update);
        format_ts(&mut self.ts3, resolved_at);
        Incident {
            id,
            status,
            priority: self.pick(&[
                "critical", "high", "high", "medium", "medium", "medium", "low",
            ]),
            category,
            reporter_id: self.rng.random_range(1..=users),
            assignee_id,
            resolved,
            japanese,
            created,
            last_update,
        }
    }

    /// Old tickets are closed; recent ones are still being worked on.
    fn incident_status(&mut self, age_days: i64) -> &'static str {
        if age_days > 30 {
            self.pick(&[
                "closed",
                "closed",
                "closed",
                "closed",
                "resolved",
                "cancelled",
            ])
        } else if age_days > 7 {
            self.pick(&["closed", "resolved", "resolved", "in_progress", "pending"])
        } else {
            self.pick(&[
                "open",
                "open",
                "in_progress",
                "in_progress",
                "pending",
                "resolved",
            ])
        }
    }

    /// The `n`-th audit log about `incident`: its creation first, then views,
    /// updates and logins. Writes the detail into `d`, the ip into `e` and the
    /// time into `ts4`.
    fn audit_entry(&mut self, incident: &Incident, n: u32, users: u64) -> AuditEntry {
        let span = (incident.last_update - incident.created).max(60);
        let at = incident.created
            + if n == 0 {
                0
            } else {
                self.rng.random_range(0..span)
            };
        format_ts(&mut self.ts4, at);
        self.e.clear();
        let _ = write!(
            self.e,
            "10.{}.{}.{}",
            self.rng.random_range(0..32),
            self.rng.random_range(0..256),
            self.rng.random_range(1..255)
        );
        self.d.clear();
        let kind = if n == 0 {
            0
        } else {
            self.rng.random_range(1..4)
        };
        match kind {
            0 => {
                let _ = write!(
                    self.d,
                    r#"{{"ticket_no":"INC-{:06}","priority":"{}","lang":"{}"}}"#,
                    incident.id,
                    incident.priority,
                    if incident.japanese { "ja" } else { "en" }
                );
                self.entry(incident.reporter_id, "create", incident)
            }
            1 => {
                let agent = self.pick(USER_AGENTS);
                let _ = write!(self.d, r#"{{"via":"web","ua":"{agent}"}}"#);
                let viewer = self.rng.random_range(1..=users);
                self.entry(viewer, "view", incident)
            }
            2 => {
                let (comment, _) = self.pick(WORK_NOTES);
                let _ = write!(
                    self.d,
                    r#"{{"field":"status","from":"open","to":"{}","comment":"{comment}"}}"#,
                    incident.status,
                );
                let who = incident.assignee_id.unwrap_or(incident.reporter_id);
                self.entry(who, "update", incident)
            }
            _ => {
                let mfa = self.pick(MFA);
                let _ = write!(self.d, r#"{{"result":"success","mfa":"{mfa}"}}"#);
                let who = self.rng.random_range(1..=users);
                AuditEntry {
                    user_id: who,
                    action: "login",
                    entity: "user",
                    entity_id: who,
                }
            }
        }
    }

    fn entry(&self, user_id: u64, action: &'static str, incident: &Incident) -> AuditEntry {
        AuditEntry {
            user_id,
            action,
            entity: "incident",
            entity_id: incident.id,
        }
    }

    /// Fills `c` with sentences until it holds about `chars` characters
    /// (counted as UTF-8 bytes: three per Japanese character).
    fn description(&mut self, sentences: &[&str], japanese: bool, chars: std::ops::Range<usize>) {
        let bytes_per_char = if japanese { 3 } else { 1 };
        let goal = self.rng.random_range(chars) * bytes_per_char;
        self.c.clear();
        while self.c.len() < goal {
            let template = self.pick(sentences);
            self.expand(template, japanese);
            if !japanese {
                self.c.push(' ');
            }
        }
    }

    /// Appends `template` to `c`, replacing `{S}` (system), `{D}`
    /// (department), `{E}` (error message), `{H}` (host), `{N}` (number) and
    /// `{T}` (time of day).
    fn expand(&mut self, template: &str, japanese: bool) {
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            self.c.push_str(&rest[..open]);
            let key = rest.as_bytes().get(open + 1).copied().unwrap_or(b'}');
            rest = rest.get(open + 3..).unwrap_or("");
            match key {
                b'S' => {
                    let (ja, en) = self.pick(SYSTEMS);
                    self.c.push_str(if japanese { ja } else { en });
                }
                b'D' => {
                    let (ja, en) = self.pick(DEPARTMENTS);
                    self.c.push_str(if japanese { ja } else { en });
                }
                b'E' => {
                    let message = self.pick(ERROR_MESSAGES);
                    self.c.push_str(message);
                }
                b'H' => {
                    let host = self.pick(HOSTS);
                    let n = self.rng.random_range(1..20);
                    let _ = write!(self.c, "{host}-{n:02}");
                }
                b'N' => {
                    let n = self.rng.random_range(2..500);
                    let _ = write!(self.c, "{n}");
                }
                _ => {
                    let (h, m) = (self.rng.random_range(7..22), self.rng.random_range(0..60));
                    let _ = write!(self.c, "{h}:{m:02}");
                }
            }
        }
        self.c.push_str(rest);
    }

    /// Appends a short work log with timestamps to `c`.
    fn append_work_log(&mut self, created: i64, japanese: bool) {
        let entries = self.rng.random_range(0..4);
        if entries == 0 {
            return;
        }
        self.c.push_str(if japanese {
            "\n\n対応履歴:"
        } else {
            "\n\nWork log:"
        });
        let mut at = created;
        for _ in 0..entries {
            at = self.later(at, 8.0);
            format_ts(&mut self.ts1, at);
            let (note_ja, note_en) = self.pick(WORK_NOTES);
            let (family, _) = self.pick(FAMILY_NAMES);
            let _ = write!(
                self.c,
                "\n[{}] {family}: {}",
                self.ts1,
                if japanese { note_ja } else { note_en }
            );
        }
    }
}

/// Writes Unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC) into `out`.
fn format_ts(out: &mut String, unix: i64) {
    let (days, secs) = (unix.div_euclid(DAY), unix.rem_euclid(DAY));
    let (y, m, d) = civil_from_days(days);
    out.clear();
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    );
}

/// Year, month and day of a day count since 1970-01-01 (proleptic
/// Gregorian), after Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

// ---------------------------------------------------------------------------
// Phrase lists

const FAMILY_NAMES: &[(&str, &str)] = &[
    ("佐藤", "sato"),
    ("鈴木", "suzuki"),
    ("高橋", "takahashi"),
    ("田中", "tanaka"),
    ("伊藤", "ito"),
    ("渡辺", "watanabe"),
    ("山本", "yamamoto"),
    ("中村", "nakamura"),
    ("小林", "kobayashi"),
    ("加藤", "kato"),
    ("吉田", "yoshida"),
    ("山田", "yamada"),
    ("佐々木", "sasaki"),
    ("松本", "matsumoto"),
    ("井上", "inoue"),
    ("木村", "kimura"),
];

const GIVEN_NAMES: &[(&str, &str)] = &[
    ("翔太", "shota"),
    ("蓮", "ren"),
    ("大翔", "hiroto"),
    ("陽菜", "hina"),
    ("結衣", "yui"),
    ("美咲", "misaki"),
    ("健一", "kenichi"),
    ("直樹", "naoki"),
    ("由美", "yumi"),
    ("恵子", "keiko"),
    ("拓也", "takuya"),
    ("真由美", "mayumi"),
];

const EN_FIRST_NAMES: &[&str] = &[
    "James", "Emily", "Michael", "Sarah", "David", "Olivia", "Daniel", "Sophie",
];

const EN_LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Clark", "Lee", "Walker",
];

const DEPARTMENTS: &[(&str, &str)] = &[
    ("営業部", "Sales"),
    ("経理部", "Finance"),
    ("人事部", "Human Resources"),
    ("開発部", "Engineering"),
    ("総務部", "General Affairs"),
    ("マーケティング部", "Marketing"),
    ("カスタマーサポート部", "Customer Support"),
    ("法務部", "Legal"),
    ("製造部", "Manufacturing"),
];

const SYSTEMS: &[(&str, &str)] = &[
    ("メールサーバー", "the mail server"),
    ("VPN装置", "the VPN gateway"),
    ("ファイルサーバー", "the file server"),
    ("勤怠管理システム", "the attendance system"),
    ("会計システム", "the accounting system"),
    ("Active Directory", "Active Directory"),
    ("Microsoft 365", "Microsoft 365"),
    ("Salesforce", "Salesforce"),
    ("SAP", "SAP"),
    ("基幹DB", "the core database"),
    ("社内ポータル", "the intranet portal"),
    ("無線LAN", "the office Wi-Fi"),
    ("複合機", "the multifunction printer"),
    ("Teams", "Teams"),
    ("経費精算システム", "the expense system"),
];

/// (category, Japanese title, English title)
const INCIDENT_TITLES: &[(&str, &str, &str)] = &[
    (
        "email",
        "メールサーバー応答遅延",
        "Mail server responding slowly",
    ),
    (
        "email",
        "Outlookでパスワードを繰り返し要求される",
        "Outlook keeps asking for password",
    ),
    (
        "email",
        "外部宛メールが送信できない",
        "Cannot send mail to external addresses",
    ),
    (
        "network",
        "VPN接続が頻繁に切断される",
        "VPN connection drops",
    ),
    (
        "network",
        "会議室のWi-Fiが不安定",
        "Wi-Fi unstable in meeting rooms",
    ),
    (
        "network",
        "大阪支店でネットワーク遅延",
        "Network latency at Osaka branch",
    ),
    (
        "storage",
        "共有フォルダにアクセスできない",
        "Cannot access shared drive",
    ),
    (
        "storage",
        "ファイルサーバーの容量不足",
        "File server disk usage above 90%",
    ),
    ("hardware", "ノートPCが起動しない", "Laptop does not boot"),
    (
        "hardware",
        "モニターが映らない",
        "External monitor shows no signal",
    ),
    (
        "hardware",
        "バッテリーが膨張している",
        "Laptop battery swelling",
    ),
    (
        "printer",
        "3Fの複合機で印刷できない",
        "Printer on 3F offline",
    ),
    (
        "printer",
        "スキャンしたPDFがメールで届かない",
        "Scan to email not delivered",
    ),
    (
        "account",
        "パスワードリセット依頼",
        "Password reset request",
    ),
    (
        "account",
        "多要素認証のコードが届かない",
        "MFA code not received",
    ),
    (
        "account",
        "退職者アカウントの無効化依頼",
        "Disable account of leaver",
    ),
    (
        "application",
        "会計システムのログインエラー",
        "Accounting system login error",
    ),
    (
        "application",
        "勤怠システムの表示崩れ",
        "Attendance system layout broken",
    ),
    (
        "application",
        "経費精算でPDFが添付できない",
        "Cannot attach PDF in expense claim",
    ),
    (
        "application",
        "Teams会議で音声が途切れる",
        "Audio cuts out in Teams meetings",
    ),
    (
        "database",
        "基幹DBの夜間バッチ処理遅延",
        "Nightly batch on core DB running late",
    ),
    (
        "database",
        "レポート出力がタイムアウトする",
        "Report export times out",
    ),
    (
        "security",
        "不審なメールを受信した",
        "Suspicious phishing email received",
    ),
    (
        "security",
        "SSL証明書の有効期限切れ警告",
        "SSL certificate expiring",
    ),
    (
        "security",
        "ウイルス対策ソフトの定義更新失敗",
        "Antivirus definitions failed to update",
    ),
    (
        "backup",
        "夜間バックアップジョブ失敗",
        "Backup job failed overnight",
    ),
];

const TITLE_PREFIXES: &[&str] = &["【至急】", "[東京本社] ", "[Osaka] ", "【再発】", "[VIP] "];

const INCIDENT_SENTENCES_JA: &[&str] = &[
    "本日{T}頃から{S}の応答が遅くなっています。",
    "複数の利用者から同様の問い合わせが寄せられています。",
    "端末の再起動を試しましたが改善しませんでした。",
    "画面に「{E}」というエラーメッセージが表示されます。",
    "業務への影響が大きいため、早急な対応をお願いします。",
    "ネットワーク機器のログを確認したところ、{N}件のタイムアウトが記録されていました。",
    "影響範囲は{D}の約{N}名です。",
    "暫定対応としてキャッシュを削除し、再ログインを案内しました。",
    "{H}のCPU使用率が高い状態が続いています。",
    "ベンダーへエスカレーション済みで、回答待ちです。",
    "恒久対策については問題管理で検討します。",
    "昨日のメンテナンス作業以降に発生しているようです。",
    "同じ事象が先月も{N}回発生しています。",
    "{S}のサービスは起動していますが、接続がタイムアウトします。",
    "利用者の端末はWindows 11、ブラウザはEdgeの最新版です。",
];

const INCIDENT_SENTENCES_EN: &[&str] = &[
    "Users report that {S} has been slow since {T}.",
    "Several people in {D} raised the same issue.",
    "Restarting the client did not help.",
    "The following error is shown: \"{E}\".",
    "About {N} users in {D} are affected.",
    "Checked the switch logs and found {N} timeouts on {H}.",
    "As a workaround we cleared the cache and asked the user to sign in again.",
    "Escalated to the vendor, case #{N}.",
    "CPU usage on {H} has stayed above 90% for the last hour.",
    "It seems to have started after last night's maintenance window.",
    "A root cause analysis will follow in a problem record.",
    "This is the {N}th occurrence this quarter.",
    "The service on {H} is running but connections time out.",
];

const CHANGE_TITLES: &[(&str, &str)] = &[
    ("OSセキュリティパッチ適用", "Apply OS security patches"),
    ("ファイアウォールルール変更", "Update firewall rules"),
    ("サーバー証明書の更新", "Renew server certificate"),
    ("ストレージ増設", "Add storage capacity"),
    ("バージョンアップ作業", "Upgrade to the latest release"),
    ("バックアップ設定の見直し", "Revise backup schedule"),
    (
        "ネットワーク機器のファームウェア更新",
        "Update network firmware",
    ),
    (
        "データベースのインデックス再構築",
        "Rebuild database indexes",
    ),
];

const CHANGE_SENTENCES_JA: &[&str] = &[
    "作業日時は{T}から約{N}分を予定しています。",
    "作業中は{S}が一時的に利用できなくなります。",
    "事前に{D}へ影響範囲を周知します。",
    "切り戻し手順: 作業前に取得したスナップショットから{H}を復元します。",
    "検証環境で{N}件のテストケースを実施し、問題がないことを確認済みです。",
    "作業後、{S}へのログインと主要機能の動作確認を行います。",
    "CAB承認後に実施します。",
];

const CHANGE_SENTENCES_EN: &[&str] = &[
    "The work starts at {T} and takes about {N} minutes.",
    "{S} will be unavailable during the window.",
    "{D} will be notified in advance.",
    "Rollback plan: restore {H} from the snapshot taken before the change.",
    "Tested {N} cases in staging without issues.",
    "After the change we verify sign-in and the main functions of {S}.",
    "To be implemented after CAB approval.",
];

const ERROR_MESSAGES: &[&str] = &[
    "Connection timed out",
    "550 5.7.1 Relaying denied",
    "ORA-12541: TNS:no listener",
    "0x80070005 アクセスが拒否されました",
    "HTTP 503 Service Unavailable",
    "The trust relationship between this workstation and the primary domain failed",
    "SSL_ERROR_BAD_CERT_DOMAIN",
    "ディスク容量が不足しています",
    "認証に失敗しました。ユーザー名またはパスワードが正しくありません",
    "java.lang.OutOfMemoryError: Java heap space",
    "database is locked",
];

const HOSTS: &[&str] = &[
    "srv-mail", "srv-file", "srv-db", "vpn-gw", "sw-core", "ap-3f", "srv-app", "srv-ad",
];

/// (Japanese, English)
const WORK_NOTES: &[(&str, &str)] = &[
    (
        "利用者へ電話で状況を確認しました。",
        "Called the user to confirm the symptoms.",
    ),
    ("ログを取得し調査中です。", "Collected logs, investigating."),
    (
        "再起動後、正常動作を確認しました。",
        "Confirmed normal operation after reboot.",
    ),
    ("ベンダー回答待ちです。", "Waiting for the vendor's answer."),
    (
        "設定を修正し、利用者に確認を依頼しました。",
        "Fixed the settings and asked the user to verify.",
    ),
    (
        "リモートで接続して対応しました。",
        "Resolved over a remote session.",
    ),
];

/// (type, asset tag prefix, models)
const ASSET_KINDS: &[(&str, &str, &[&str])] = &[
    (
        "laptop",
        "PC",
        &[
            "ThinkPad X1 Carbon Gen 11",
            "Dell Latitude 7440",
            "MacBook Pro 14",
        ],
    ),
    (
        "desktop",
        "DT",
        &["HP EliteDesk 800 G9", "Dell OptiPlex 7010"],
    ),
    (
        "server",
        "SV",
        &["Dell PowerEdge R750", "HPE ProLiant DL380 Gen11"],
    ),
    (
        "network",
        "NW",
        &["Cisco Catalyst 9300", "YAMAHA RTX1300", "FortiGate 100F"],
    ),
    (
        "printer",
        "PR",
        &["Canon imageRUNNER ADVANCE DX", "RICOH IM C3000"],
    ),
    ("monitor", "MN", &["EIZO FlexScan EV2795", "Dell U2723QE"]),
    ("phone", "MB", &["iPhone 15", "Galaxy S23", "AQUOS sense8"]),
];

const LOCATIONS: &[&str] = &[
    "東京本社 12F",
    "東京本社 15F",
    "東京本社 サーバールーム",
    "大阪支店 3F",
    "名古屋営業所",
    "Singapore office",
    "Data center Tokyo-2",
    "在宅勤務",
];

const SERIAL_CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/124.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)",
];

const MFA: &[&str] = &["totp", "push", "sms"];

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1024 * 1024;

    fn open(path: &Path) -> Connection {
        Connection::open(path).unwrap()
    }

    fn count(conn: &Connection, table: &str) -> u64 {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        u64::try_from(n).unwrap()
    }

    #[test]
    fn a_generated_database_has_every_table_and_passes_integrity_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("itsm_nexus.db");
        let stats = generate(&path, 2 * MB).unwrap();

        let conn = open(&path);
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        for (table, rows) in [
            ("users", stats.users),
            ("incidents", stats.incidents),
            ("changes", stats.changes),
            ("assets", stats.assets),
            ("audit_logs", stats.audit_logs),
        ] {
            assert!(rows > 0, "{table} is empty");
            assert_eq!(count(&conn, table), rows, "{table}");
        }
        assert!(stats.audit_logs >= 2 * stats.incidents);
    }

    #[test]
    fn the_size_is_close_to_the_target() {
        let dir = tempfile::tempdir().unwrap();
        for target in [MB, 3 * MB, 5 * MB] {
            let path = dir.path().join(format!("{target}.db"));
            let stats = generate(&path, target).unwrap();
            let on_disk = fs::metadata(&path).unwrap().len();
            assert_eq!(stats.bytes, on_disk);
            let ratio = on_disk as f64 / target as f64;
            assert!((0.95..1.1).contains(&ratio), "{on_disk} for {target}");
        }
    }

    #[test]
    fn the_database_is_left_in_wal_mode_without_side_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("itsm_nexus.db");
        generate(&path, MB).unwrap();
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["itsm_nexus.db"]);
        let mode: String = open(&path)
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn generate_refuses_to_overwrite_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("itsm_nexus.db");
        fs::write(&path, b"precious").unwrap();
        let err = generate(&path, MB).unwrap_err();
        assert!(
            matches!(&err, DemoError::Io(e) if e.kind() == std::io::ErrorKind::AlreadyExists),
            "{err}"
        );
        assert_eq!(fs::read(&path).unwrap(), b"precious");
    }

    #[test]
    fn the_same_size_gives_the_same_content() {
        let dir = tempfile::tempdir().unwrap();
        let end = 1_750_000_000 / DAY * DAY;
        let digest = |name: &str| {
            let path = dir.path().join(name);
            generate_until(&path, MB, end).unwrap();
            open(&path)
                .query_row(
                    "SELECT group_concat(ticket_no || title || description || status || created_at)
                     FROM incidents",
                    [],
                    |r| r.get::<_, String>(0),
                )
                .unwrap()
        };
        assert_eq!(digest("a.db"), digest("b.db"));
    }

    #[test]
    fn text_mixes_japanese_and_english() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("itsm_nexus.db");
        generate(&path, MB).unwrap();
        let conn = open(&path);
        let titles: Vec<String> = conn
            .prepare("SELECT title FROM incidents")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let japanese = titles.iter().filter(|t| !t.is_ascii()).count();
        let english = titles.len() - japanese;
        assert!(
            japanese > titles.len() / 2,
            "{japanese} of {}",
            titles.len()
        );
        assert!(english > titles.len() / 10, "{english} of {}", titles.len());
        let long: i64 = conn
            .query_row(
                "SELECT count(*) FROM incidents WHERE length(description) >= 100",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(long, titles.len() as i64);
    }

    #[test]
    fn ticket_numbers_are_sequential_and_well_formed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("itsm_nexus.db");
        let stats = generate(&path, MB).unwrap();
        let conn = open(&path);
        let (first, last): (String, String) = conn
            .query_row(
                "SELECT min(ticket_no), max(ticket_no) FROM incidents",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(first, "INC-000001");
        assert_eq!(last, format!("INC-{:06}", stats.incidents));
        let change: String = conn
            .query_row("SELECT change_no FROM changes WHERE id = 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(change, "CHG-000001");
    }

    #[test]
    fn timestamps_span_about_two_years_and_never_lie_in_the_future() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("itsm_nexus.db");
        generate(&path, 2 * MB).unwrap();
        let conn = open(&path);
        let (days, future): (f64, i64) = conn
            .query_row(
                "SELECT julianday(max(created_at)) - julianday(min(created_at)),
                        sum(max(created_at, updated_at, coalesce(resolved_at, ''))
                            > datetime('now'))
                 FROM incidents",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert!((680.0..=731.0).contains(&days), "{days} days");
        assert_eq!(future, 0);
        let bad: i64 = conn
            .query_row(
                "SELECT count(*) FROM audit_logs WHERE datetime(created_at) IS NULL
                 OR created_at > datetime('now')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(bad, 0);
    }

    #[test]
    fn timestamps_are_formatted_like_sqlite_datetime() {
        let mut out = String::new();
        for unix in [0, 951_782_400, 1_709_164_799, 4_102_444_800, -86_400] {
            format_ts(&mut out, unix);
            let expected = chrono::DateTime::from_timestamp(unix, 0)
                .unwrap()
                .format("%Y-%m-%d %H:%M:%S")
                .to_string();
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn ensure_creates_missing_folders_and_reports_that_it_generated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/itsm_nexus.db");
        assert!(ensure(&path, MB).unwrap());
        assert!(count(&open(&path), "incidents") > 0);
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["itsm_nexus.db"], "temp files left behind");
    }

    #[test]
    fn ensure_does_not_touch_an_existing_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("itsm_nexus.db");
        fs::write(&path, b"not regenerated").unwrap();
        assert!(!ensure(&path, MB).unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"not regenerated");
    }

    #[test]
    fn two_concurrent_ensures_produce_one_valid_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo/itsm_nexus.db");
        let generated: Vec<bool> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..2).map(|_| s.spawn(|| ensure(&path, MB))).collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap().unwrap())
                .collect()
        });
        assert_eq!(generated.iter().filter(|g| **g).count(), 1, "{generated:?}");
        let check: String = open(&path)
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let entries = fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(entries, 1, "temp files left behind");
    }

    /// Measures the speed: `cargo test --release -p nexus-shared --lib
    /// demo::tests::a_gigabyte -- --ignored --nocapture`
    #[test]
    #[ignore = "benchmark: generates 1 GB"]
    fn a_gigabyte_is_generated_in_under_a_minute() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("itsm_nexus.db");
        let started = std::time::Instant::now();
        let stats = generate(&path, 1024 * MB).unwrap();
        let elapsed = started.elapsed();
        eprintln!("{stats:?} in {elapsed:?}");
        assert!(elapsed.as_secs() < 60);
    }
}
