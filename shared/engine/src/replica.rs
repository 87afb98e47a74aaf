//! The files of continuous replication (issue 18), under
//! `<backup_root>/wal/<lineage>/`:
//!
//! - `base.db.gz`: the database as a [`Tap`] first read it, a plain gzip
//!   of an SQLite file (`gunzip` reads it); `base.json` says what it is
//!   (lineage, database id, page size and count, the database checksum
//!   the first segment starts from, when it was taken). Both are written
//!   temp → fsync → rename → fsync of the folder, `base.json` last: a
//!   lineage without it is incomplete and ignored;
//! - `<sequence>.seg.gz`: the segments, in order ([`crate::segment`]).
//!
//! [`replay`] rebuilds the database as it was at an instant: the base,
//! then every segment captured up to then, each checked to start where
//! the chain stands.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::compress::{self, CompressOptions, Input};
use crate::segment::{self, PageHashes, Segment, SegmentError};
use crate::tap::{Saved, Tap, TapError};
use crate::{EngineError, fsutil};

pub const BASE_FILE: &str = "base.db.gz";
pub const BASE_RECORD: &str = "base.json";
/// `<wal_root>/status.json`: the replicator's last step.
pub const STATUS_FILE: &str = "status.json";
/// `<lineage>/tap-state.bin`: a stopped replicator's state, to go on from.
pub const TAP_STATE: &str = "tap-state.bin";

#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error(transparent)]
    Tap(#[from] TapError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Segment(#[from] SegmentError),
    #[error("{context} {}: {source}", path.display())]
    Io {
        context: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the lineage at {} is broken: {detail}", dir.display())]
    Broken { dir: PathBuf, detail: String },
}

fn io_error<'a>(context: &'static str, path: &'a Path) -> impl Fn(io::Error) -> ReplicaError + 'a {
    move |source| ReplicaError::Io {
        context,
        path: path.to_path_buf(),
        source,
    }
}

/// What `base.json` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseRecord {
    pub lineage: String,
    pub database_id: String,
    pub page_size: u32,
    pub pages: u32,
    /// The database checksum ([`DbChecksum`]) of the base, hex.
    pub checksum: String,
    /// When the base was read (Unix ms).
    pub taken_ms: i64,
    pub gz_bytes: u64,
}

/// One lineage's folder.
#[derive(Debug, Clone)]
pub struct LineageDir {
    pub dir: PathBuf,
    pub lineage: ulid::Ulid,
    /// When its base was read (Unix ms).
    pub taken_ms: i64,
}

impl LineageDir {
    pub fn write_segment(&self, segment: &Segment) -> Result<PathBuf, ReplicaError> {
        Ok(segment::write(&self.dir, segment)?)
    }

    /// Keeps a stopping tap's state for the next start ([`resume`]).
    pub fn save(&self, tap: &Tap) -> Result<(), ReplicaError> {
        let path = self.dir.join(TAP_STATE);
        tap.save()
            .write(&path)
            .map_err(io_error("cannot write", &path))
    }
}

/// Goes on with the newest lineage under `wal_root` when its replicator
/// stopped cleanly and left its state, which must match the lineage's last
/// segment (or base); the state file is used once. `None`: start anew.
pub fn resume(
    wal_root: &Path,
    live: &Path,
    checkpoint_frames: u64,
) -> Result<Option<(Tap, LineageDir)>, ReplicaError> {
    let Some(newest) = lineages(wal_root)?.pop() else {
        return Ok(None);
    };
    let path = newest.dir.join(TAP_STATE);
    let Some(saved) = Saved::read(&path) else {
        return Ok(None);
    };
    std::fs::remove_file(&path).map_err(io_error("cannot remove", &path))?;
    let (sequence, head) = match segment_files(&newest.dir)?.last() {
        Some(last) => {
            let h = segment::read(last)?.header;
            (h.sequence, h.after.to_string())
        }
        None => (0, newest.base.checksum.clone()),
    };
    let state = &saved.state;
    if state.lineage.to_string() != newest.base.lineage
        || state.sequence != sequence
        || state.hashes.checksum().to_string() != head
    {
        tracing::warn!(lineage = %newest.base.lineage, "the saved replication state does not match the lineage's last segment: starting a new lineage");
        return Ok(None);
    }
    let lineage = LineageDir {
        dir: newest.dir,
        lineage: state.lineage,
        taken_ms: newest.base.taken_ms,
    };
    Ok(Some((
        Tap::resume(live, saved, checkpoint_frames)?,
        lineage,
    )))
}

/// Opens a tap on `live` and writes its base as a new lineage under
/// `wal_root`.
pub fn start(
    wal_root: &Path,
    live: &Path,
    database_id: ulid::Ulid,
    checkpoint_frames: u64,
    now_ms: i64,
) -> Result<(Tap, LineageDir), ReplicaError> {
    let lineage = ulid::Ulid::generate();
    let dir = wal_root.join(lineage.to_string());
    fsutil::create_private_dir(&dir).map_err(io_error("cannot create", &dir))?;
    let temp = dir.join(format!(".{BASE_FILE}.tmp"));
    let mut opened = None;
    let mut failed = None;
    let compressed = compress::gzip_stream(
        Input {
            // Only for progress, which nobody watches here.
            total: std::fs::metadata(live).map_or(0, |m| m.len()),
            write_to: &mut |sink: &mut dyn Write| {
                let tap = Tap::open(
                    live,
                    database_id,
                    lineage,
                    checkpoint_frames,
                    &mut |_, page| sink.write_all(page),
                );
                match tap {
                    Ok(tap) => {
                        opened = Some(tap);
                        Ok(())
                    }
                    Err(e) => {
                        let why = EngineError::Busy(e.to_string());
                        failed = Some(e);
                        Err(why)
                    }
                }
            },
        },
        &temp,
        CompressOptions::default().at(6),
        None,
        &mut |_| Ok(()),
    );
    let compressed = match (compressed, failed, opened) {
        (Ok(c), None, Some(opened)) => (c, opened),
        (result, failed, _) => {
            let _ = fsutil::remove_if_exists(&temp);
            let _ = std::fs::remove_dir(&dir);
            return Err(match (failed, result) {
                (Some(e), _) => e.into(),
                (None, Err(e)) => e.into(),
                (None, Ok(_)) => ReplicaError::Broken {
                    dir: dir.clone(),
                    detail: "the base was not read".into(),
                },
            });
        }
    };
    let (compressed, (tap, base)) = compressed;
    let final_path = dir.join(BASE_FILE);
    std::fs::rename(&temp, &final_path).map_err(io_error("cannot publish", &final_path))?;
    let record = BaseRecord {
        lineage: lineage.to_string(),
        database_id: database_id.to_string(),
        page_size: base.page_size,
        pages: base.pages,
        checksum: base.hashes.checksum().to_string(),
        taken_ms: now_ms,
        gz_bytes: compressed.gz_size,
    };
    write_record(&dir, &record)?;
    Ok((
        tap,
        LineageDir {
            dir,
            lineage,
            taken_ms: now_ms,
        },
    ))
}

fn write_record(dir: &Path, record: &BaseRecord) -> Result<(), ReplicaError> {
    let path = dir.join(BASE_RECORD);
    let temp = dir.join(format!(".{BASE_RECORD}.tmp"));
    let bytes = serde_json::to_vec_pretty(record).expect("a base record serializes");
    (|| {
        let mut file = fsutil::create_private_file(&temp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, &path)?;
        fsutil::sync_dir(dir)
    })()
    .map_err(io_error("cannot write", &path))
}

/// Reads a lineage's `base.json`; `None` when it has none yet.
pub fn base_record(dir: &Path) -> Result<Option<BaseRecord>, ReplicaError> {
    let path = dir.join(BASE_RECORD);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ReplicaError::Broken {
                dir: dir.to_path_buf(),
                detail: format!("{BASE_RECORD}: {e}"),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("cannot read", &path)(e)),
    }
}

/// The segment files of a lineage, in sequence order.
pub fn segment_files(dir: &Path) -> Result<Vec<PathBuf>, ReplicaError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_error("cannot list", dir))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.') && n.ends_with(segment::EXTENSION))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// What [`replay`] rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub segments: u64,
    /// When the last segment applied was captured (Unix ms); the base's
    /// time when none was.
    pub as_of_ms: i64,
    pub pages: u32,
}

/// Rebuilds, into the new file `dest`, the database of the lineage in
/// `dir` as it was at `until_ms` (every segment captured up to then; all
/// of them without it). Each segment must start from the database the
/// chain has reached, and the result is what the last one says.
pub fn replay(dir: &Path, until_ms: Option<i64>, dest: &Path) -> Result<Replayed, ReplicaError> {
    let broken = |detail: String| ReplicaError::Broken {
        dir: dir.to_path_buf(),
        detail,
    };
    let record = base_record(dir)?.ok_or_else(|| broken(format!("it has no {BASE_RECORD}")))?;
    let mut out = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dest)
            .map_err(io_error("cannot create", dest))?
    };
    let base = dir.join(BASE_FILE);
    let pass = crate::reading::read_backup(
        File::open(&base).map_err(io_error("cannot open", &base))?,
        Some(&mut out),
    );
    if let Some(e) = pass.read_error.or(pass.gzip_error).or(pass.copy_error) {
        return Err(broken(format!("{BASE_FILE}: {e}")));
    }
    let page_size = record.page_size as usize;
    let mut hashes = hashes_of_file(&out, page_size).map_err(io_error("cannot read", dest))?;
    if hashes.checksum().to_string() != record.checksum {
        return Err(broken(format!("{BASE_FILE} does not match {BASE_RECORD}")));
    }
    let mut replayed = Replayed {
        segments: 0,
        as_of_ms: record.taken_ms,
        pages: record.pages,
    };
    let mut previous = 0;
    for path in segment_files(dir)? {
        let segment = segment::read(&path)?;
        let h = &segment.header;
        if until_ms.is_some_and(|until| h.last_commit_ms > until) {
            break;
        }
        if h.previous != previous || h.before != hashes.checksum() {
            return Err(broken(format!(
                "segment {} does not follow segment {previous} (it starts from {}, the chain is at {})",
                h.sequence,
                h.before,
                hashes.checksum()
            )));
        }
        for (pgno, page) in &segment.pages {
            out.write_all_at(page, u64::from(pgno - 1) * page_size as u64)
                .map_err(io_error("cannot write", dest))?;
        }
        out.set_len(u64::from(h.commit_size) * page_size as u64)
            .map_err(io_error("cannot write", dest))?;
        hashes.apply(
            segment.pages.iter().map(|(n, p)| (*n, p.as_slice())),
            Some(h.commit_size),
        );
        if hashes.checksum() != h.after {
            return Err(broken(format!(
                "segment {} does not end where it says",
                h.sequence
            )));
        }
        previous = h.sequence;
        replayed.segments += 1;
        replayed.as_of_ms = h.last_commit_ms;
        replayed.pages = h.commit_size;
    }
    out.sync_all().map_err(io_error("cannot flush", dest))?;
    Ok(replayed)
}

/// A lineage found under the replication folder.
#[derive(Debug, Clone)]
pub struct Found {
    pub dir: PathBuf,
    pub base: BaseRecord,
}

/// The lineages under `wal_root` that have a base, oldest base first.
pub fn lineages(wal_root: &Path) -> Result<Vec<Found>, ReplicaError> {
    let entries = match std::fs::read_dir(wal_root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error("cannot list", wal_root)(e)),
    };
    let mut found = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let dir = entry.path();
        if dir.is_dir()
            && let Some(base) = base_record(&dir)?
        {
            found.push(Found { dir, base });
        }
    }
    found.sort_by_key(|f| f.base.taken_ms);
    Ok(found)
}

/// Deletes the lineages nobody can need to restore to an instant at or
/// after `keep_from_ms`: every one older than the newest lineage whose base
/// is not later than that. The newest lineage, and any lineage a kept
/// instant falls in, stay. Returns the folders removed.
pub fn prune(wal_root: &Path, keep_from_ms: i64) -> Result<Vec<PathBuf>, ReplicaError> {
    let found = lineages(wal_root)?;
    let Some(covering) = found.iter().rposition(|f| f.base.taken_ms <= keep_from_ms) else {
        return Ok(Vec::new());
    };
    let mut removed = Vec::new();
    for old in &found[..covering] {
        // base.json first: a lineage without it is ignored from then on.
        let record = old.dir.join(BASE_RECORD);
        std::fs::remove_file(&record).map_err(io_error("cannot remove", &record))?;
        std::fs::remove_dir_all(&old.dir).map_err(io_error("cannot remove", &old.dir))?;
        removed.push(old.dir.clone());
    }
    if !removed.is_empty() {
        fsutil::sync_dir(wal_root).map_err(io_error("cannot flush", wal_root))?;
    }
    Ok(removed)
}

/// What [`restore_at`] made.
#[derive(Debug, Clone)]
pub struct RestoredAt {
    pub path: PathBuf,
    pub bytes: u64,
    pub lineage: String,
    pub replayed: Replayed,
}

#[derive(Debug, thiserror::Error)]
pub enum RestoreAtError {
    #[error("no capture at or before that instant: the recovery window starts at {earliest_ms} ms")]
    BeforeWindow { earliest_ms: i64 },
    #[error("there is no replication data under {}", wal_root.display())]
    NoLineage { wal_root: PathBuf },
    #[error("{} already exists: a restore to a path never overwrites", path.display())]
    DestinationExists { path: PathBuf },
    #[error("the rebuilt database fails integrity_check: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Replica(#[from] ReplicaError),
}

impl RestoreAtError {
    /// The snake_case code, as the API and the CLI report it.
    pub fn code(&self) -> &'static str {
        match self {
            RestoreAtError::BeforeWindow { .. } => "outside_recovery_window",
            RestoreAtError::NoLineage { .. } => "no_replication",
            RestoreAtError::DestinationExists { .. } => "destination_exists",
            RestoreAtError::Corrupt(_) => "integrity_check_failed",
            RestoreAtError::Replica(_) => "replication_broken",
        }
    }
}

/// Rebuilds into the new file `dest` (mode 0600; never over an existing
/// file) the live database as of the last capture at or before `at_ms`,
/// from the newest lineage whose base is not later than that, and checks
/// it with `integrity_check` before it is published.
pub fn restore_at(wal_root: &Path, at_ms: i64, dest: &Path) -> Result<RestoredAt, RestoreAtError> {
    if dest.symlink_metadata().is_ok() {
        return Err(RestoreAtError::DestinationExists {
            path: dest.to_path_buf(),
        });
    }
    let found = lineages(wal_root)?;
    let Some(earliest) = found.first() else {
        return Err(RestoreAtError::NoLineage {
            wal_root: wal_root.to_path_buf(),
        });
    };
    let Some(lineage) = found.iter().rev().find(|f| f.base.taken_ms <= at_ms) else {
        return Err(RestoreAtError::BeforeWindow {
            earliest_ms: earliest.base.taken_ms,
        });
    };
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let temp = dir.join(format!(".{}.restore-tmp", ulid::Ulid::generate()));
    let result = (|| {
        let replayed = replay(&lineage.dir, Some(at_ms), &temp)?;
        match crate::snapshot::integrity_check_mapped(&temp) {
            Ok(()) => {}
            Err(EngineError::IntegrityCheckFailed { detail }) => {
                return Err(RestoreAtError::Corrupt(detail));
            }
            Err(e) => return Err(ReplicaError::from(e).into()),
        }
        match std::fs::hard_link(&temp, dest) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(RestoreAtError::DestinationExists {
                    path: dest.to_path_buf(),
                });
            }
            Err(e) => return Err(io_error("cannot publish", dest)(e).into()),
        }
        fsutil::sync_dir(dir).map_err(io_error("cannot flush", dir))?;
        Ok(replayed)
    })();
    for leftover in crate::restore::with_side_files(&temp) {
        let _ = fsutil::remove_if_exists(&leftover);
    }
    let replayed = result?;
    Ok(RestoredAt {
        path: dest.to_path_buf(),
        bytes: std::fs::metadata(dest).map_or(0, |m| m.len()),
        lineage: lineage.base.lineage.clone(),
        replayed,
    })
}

/// What the replicator last did, rewritten at every step (not fsynced:
/// it only tells how current the chain is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub lineage: String,
    /// When its last step had captured everything committed (Unix ms).
    pub checked_ms: i64,
    pub sequence: u64,
}

pub fn write_status(wal_root: &Path, status: &Status) -> Result<(), ReplicaError> {
    let path = wal_root.join(STATUS_FILE);
    let temp = wal_root.join(format!(".{STATUS_FILE}.tmp"));
    let bytes = serde_json::to_vec(status).expect("a status serializes");
    std::fs::write(&temp, bytes)
        .and_then(|()| std::fs::rename(&temp, &path))
        .map_err(io_error("cannot write", &path))
}

fn read_status(wal_root: &Path) -> Option<Status> {
    let bytes = std::fs::read(wal_root.join(STATUS_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The span of time a database can be restored to from the replication
/// folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The oldest base.
    pub earliest_ms: i64,
    /// The newest instant the chain is known to hold everything up to.
    pub latest_ms: i64,
    /// The newest lineage, which the chain goes on in.
    pub lineage: String,
    /// Segments of the newest lineage.
    pub segments: u64,
    /// Everything under the folder.
    pub bytes: u64,
}

/// The recovery window under `wal_root`, if there is any replication data.
pub fn window(wal_root: &Path) -> Result<Option<Window>, ReplicaError> {
    let found = lineages(wal_root)?;
    let (Some(oldest), Some(newest)) = (found.first(), found.last()) else {
        return Ok(None);
    };
    let segments = segment_files(&newest.dir)?;
    let mut latest_ms = newest.base.taken_ms;
    if let Some(last) = segments.last() {
        latest_ms = latest_ms.max(segment::read(last)?.header.last_commit_ms);
    }
    if let Some(status) = read_status(wal_root)
        && status.lineage == newest.base.lineage
    {
        latest_ms = latest_ms.max(status.checked_ms);
    }
    let mut bytes = 0;
    for f in &found {
        for entry in std::fs::read_dir(&f.dir)
            .map_err(io_error("cannot list", &f.dir))?
            .filter_map(Result::ok)
        {
            bytes += entry.metadata().map_or(0, |m| m.len());
        }
    }
    Ok(Some(Window {
        earliest_ms: oldest.base.taken_ms,
        latest_ms,
        lineage: newest.base.lineage.clone(),
        segments: segments.len() as u64,
        bytes,
    }))
}

/// The page hashes of a database file.
fn hashes_of_file(file: &File, page_size: usize) -> io::Result<PageHashes> {
    let len = file.metadata()?.len();
    let mut hashes = PageHashes::default();
    let mut page = vec![0u8; page_size];
    for i in 0..len / page_size as u64 {
        file.read_exact_at(&mut page, i * page_size as u64)?;
        hashes.apply([(i as u32 + 1, page.as_slice())], None);
    }
    Ok(hashes)
}

#[cfg(test)]
mod tests;
