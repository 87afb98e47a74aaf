//! The backup engine: everything a backup, a verification or a restore
//! does to files and SQLite databases, independent of HTTP, the queue and
//! the catalog. It is a crate of its own so that the compiler keeps it so:
//! it uses `nexus-domain` and no other crate of the workspace
//! (docs/architecture.md). Callers pass a [`BackupPlan`] and an
//! [`Observer`] that hears each step (the worker records progress, the CLI
//! prints the guide's log lines).

pub mod capture;
pub mod compress;
mod error;
pub mod fsutil;
pub mod level;
pub mod manifest;
pub mod pause;
pub mod pinned;
pub mod preflight;
pub mod reading;
pub mod replica;
pub mod restore;
pub mod segment;
pub mod sharing;
pub mod snapshot;
pub mod tap;
pub mod verify;
pub mod wal;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

pub use error::EngineError;
pub use preflight::Preflight;

use std::io::Write;

use compress::Compressed;
use manifest::Manifest;
use nexus_domain::{BackupId, Checksum, CreatedBy, Phase};
use pinned::{Pinned, Pinning};

/// Everything needed to take one backup.
#[derive(Debug, Clone)]
pub struct BackupPlan<'a> {
    pub source: &'a Path,
    pub backup_root: &'a Path,
    pub id: &'a BackupId,
    pub reserve_bytes: u64,
    pub description: Option<&'a str>,
    pub created_by: &'a CreatedBy,
    pub started_at: DateTime<Utc>,
    pub compression: compress::CompressOptions,
}

/// A finished backup, published under its final name.
#[derive(Debug, Clone)]
pub struct BackupOutcome {
    pub path: PathBuf,
    pub manifest_path: PathBuf,
    pub file_size: u64,
    pub original_size: u64,
    pub checksum: Checksum,
    pub raw_checksum: Checksum,
    /// The libdeflate level the file was compressed at.
    pub compression_level: u8,
}

impl From<&BackupOutcome> for reading::Expected {
    fn from(o: &BackupOutcome) -> Self {
        reading::Expected {
            file_size: Some(o.file_size),
            checksum: o.checksum.clone(),
            original_size: Some(o.original_size),
            raw_checksum: Some(o.raw_checksum.clone()),
        }
    }
}

/// Steps of a backup, as they happen.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    Preflight(&'a Preflight),
    PhaseStarted(Phase),
    /// `fraction` of the current phase is done.
    Progress(Phase, f64),
    /// The snapshot is taken: pinned in SQLite for the streamed path,
    /// copied for the copy path. `path` is the backup's name as the
    /// guide's log line gives it ([`snapshot_name`]).
    SnapshotTaken {
        path: &'a Path,
        bytes: u64,
    },
    IntegrityOk,
    Compressed {
        from: u64,
        to: u64,
    },
}

/// Hears the engine's events. Returning an error stops the backup, which
/// then cleans up and returns that error.
pub trait Observer {
    fn event(&mut self, event: Event<'_>) -> Result<(), EngineError>;
}

/// An observer that ignores everything.
pub struct Quiet;

impl Observer for Quiet {
    fn event(&mut self, _: Event<'_>) -> Result<(), EngineError> {
        Ok(())
    }
}

/// Where a backup's temporary files live. Their names derive from the
/// backup id, so a retry after a crash finds and replaces its own leftovers,
/// and none of them can be mistaken for a finished `.db.gz`.
struct TempFiles {
    snapshot: PathBuf,
    gz: PathBuf,
    manifest: PathBuf,
}

impl TempFiles {
    fn new(root: &Path, id: &BackupId) -> TempFiles {
        let dir = root.join(id.backup_type().folder());
        let name = id.file_name();
        TempFiles {
            snapshot: snapshot_path(root, id),
            gz: dir.join(format!(".{name}.tmp")),
            manifest: dir.join(format!(".{name}.json.tmp")),
        }
    }

    fn snapshot_side_files(&self) -> [PathBuf; 3] {
        ["", "-wal", "-shm"].map(|suffix| {
            let mut p = self.snapshot.as_os_str().to_owned();
            p.push(suffix);
            PathBuf::from(p)
        })
    }

    fn remove_all(&self) {
        for path in self
            .snapshot_side_files()
            .iter()
            .chain([&self.gz, &self.manifest])
        {
            if let Err(e) = fsutil::remove_if_exists(path) {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove a temporary file");
            }
        }
    }
}

/// Where the copy path keeps the uncompressed copy of the database while
/// it runs (a database not in WAL mode; the streamed path writes none).
pub fn snapshot_path(backup_root: &Path, id: &BackupId) -> PathBuf {
    backup_root.join(".tmp").join(format!("{id}.snapshot.db"))
}

/// The snapshot's name in the guide's `Backup created: …` line: the
/// backup's path without `.gz`, as the guide prints it. It names the
/// snapshot; no file is left under it.
pub fn snapshot_name(backup_root: &Path, id: &BackupId) -> PathBuf {
    let path = backup_root.join(id.relative_path());
    path.with_extension("")
}

/// Takes a backup: pre-flight, consistent snapshot, integrity check, gzip
/// with checksums, manifest, and an atomic durable publish. On any error
/// the temporary files are removed and no final file is left half-written.
pub fn create_backup(
    plan: &BackupPlan<'_>,
    observer: &mut dyn Observer,
) -> Result<BackupOutcome, EngineError> {
    let temps = TempFiles::new(plan.backup_root, plan.id);
    let result = run(plan, &temps, observer);
    // Free space is read before the temporary files give theirs back: a
    // write that failed on a full filesystem finds it (nearly) empty.
    let free_at_failure = result
        .as_ref()
        .err()
        .filter(|e| e.may_be_out_of_space())
        .and_then(|_| fsutil::available_bytes(plan.backup_root).ok());
    temps.remove_all();
    result.map_err(|e| match free_at_failure {
        Some(free) => out_of_space(e, free, plan),
        None => e,
    })
}

/// Below this much free space, a failed write is taken as the filesystem
/// being full (SQLite often says only "disk I/O error").
const FULL_BELOW_BYTES: u64 = 1 << 20;

/// Names a failed write on a full backup filesystem for what it is, with
/// true figures: what the backup needs (as the pre-flight counts it) and
/// what is free now that its temporary files are gone.
fn out_of_space(e: EngineError, free_at_failure: u64, plan: &BackupPlan<'_>) -> EngineError {
    let known = matches!(e, EngineError::InsufficientDiskSpace { required, .. } if required > 0);
    let full = matches!(e, EngineError::InsufficientDiskSpace { .. })
        || free_at_failure < FULL_BELOW_BYTES;
    if known || !full {
        return e;
    }
    tracing::warn!(error = %e, free_at_failure, "the backup filesystem filled up during the backup");
    let database_bytes = preflight::database_bytes(plan.source).unwrap_or(0);
    EngineError::InsufficientDiskSpace {
        required: preflight::required_bytes(plan.source, database_bytes, plan.reserve_bytes),
        available: fsutil::available_bytes(plan.backup_root).unwrap_or(free_at_failure),
    }
}

fn run(
    plan: &BackupPlan<'_>,
    temps: &TempFiles,
    observer: &mut dyn Observer,
) -> Result<BackupOutcome, EngineError> {
    observer.event(Event::PhaseStarted(Phase::Preflight))?;
    let preflight = preflight::check(plan.source, plan.backup_root, plan.reserve_bytes)?;
    observer.event(Event::Preflight(&preflight))?;

    let type_dir = plan.backup_root.join(plan.id.backup_type().folder());
    let tmp_dir = plan.backup_root.join(".tmp");
    for dir in [&type_dir, &tmp_dir] {
        fsutil::create_private_dir(dir)
            .map_err(|e| EngineError::io("cannot create a backup folder", dir.as_path(), e))?;
    }
    temps.remove_all(); // leftovers of an earlier attempt at this backup

    pause::point("snapshot");
    observer.event(Event::PhaseStarted(Phase::Snapshot))?;
    let (compressed, level) = match pinned::pin(plan.source)? {
        Pinning::Pinned(pinned) => streamed(plan, temps, *pinned, observer)?,
        Pinning::NotWal(journal_mode) => {
            tracing::warn!(
                %journal_mode,
                "the database is not in WAL mode: it is copied once (writers wait meanwhile), then compressed"
            );
            copied(plan, temps, observer)?
        }
        Pinning::Unavailable => {
            tracing::warn!(
                "the WAL changed under every attempt to pin a snapshot: the database is copied once, then compressed"
            );
            copied(plan, temps, observer)?
        }
    };

    pause::point("finalize");
    observer.event(Event::PhaseStarted(Phase::Finalize))?;
    let final_path = plan.backup_root.join(plan.id.relative_path());
    let manifest_path = manifest::manifest_path(&final_path);
    let manifest = Manifest {
        format: 1,
        backup_id: plan.id.clone(),
        backup_type: plan.id.backup_type(),
        file_name: plan.id.file_name(),
        file_size: compressed.gz_size,
        original_size: compressed.raw_size,
        checksum: compressed.gz_sha256.clone(),
        raw_checksum: compressed.raw_sha256.clone(),
        created_by: plan.created_by.into(),
        description: plan.description.map(str::to_owned),
        started_at: plan.started_at,
        completed_at: Utc::now(),
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        compression_level: Some(level),
    };
    manifest::write_temp(&manifest, &temps.manifest)?;
    // The data first, then its manifest: a manifest never describes a file
    // that is not there in full.
    fsutil::publish(&temps.gz, &final_path)
        .map_err(|e| EngineError::io("cannot publish the backup file", &final_path, e))?;
    fsutil::publish(&temps.manifest, &manifest_path)
        .map_err(|e| EngineError::io("cannot publish the manifest", &manifest_path, e))?;
    Ok(BackupOutcome {
        path: final_path,
        manifest_path,
        file_size: compressed.gz_size,
        original_size: compressed.raw_size,
        checksum: compressed.gz_sha256,
        raw_checksum: compressed.raw_sha256,
        compression_level: level,
    })
}

/// The streamed path: the pages of the pinned snapshot go into the
/// compressor while the integrity check reads the same snapshot on its
/// own connection. Nothing but the compressed file is written.
fn streamed(
    plan: &BackupPlan<'_>,
    temps: &TempFiles,
    pinned: Pinned,
    observer: &mut dyn Observer,
) -> Result<(Compressed, u8), EngineError> {
    let Pinned {
        reader,
        checker,
        how,
    } = pinned;
    let bytes = snapshot::snapshot_bytes(&reader)
        .map_err(|e| snapshot::reading_source(plan.source, "cannot read the snapshot's size", e))?;
    tracing::debug!(how, bytes, "snapshot pinned on two connections");
    observer.event(Event::SnapshotTaken {
        path: &snapshot_name(plan.backup_root, plan.id),
        bytes,
    })?;
    pause::point("compress");
    observer.event(Event::PhaseStarted(Phase::IntegrityCheck))?;
    observer.event(Event::PhaseStarted(Phase::Compress))?;
    let lent = &sharing::LentCore::new();
    let (integrity, compressed) = std::thread::scope(|scope| {
        let integrity = scope.spawn(move || {
            let _core = lent.borrow();
            snapshot::check_connection(&checker)
        });
        // Chosen while the check already runs on its own core.
        let compressed = level_for(plan, plan.source).and_then(|level| {
            let mut write_pages = |sink: &mut dyn Write| {
                snapshot::each_page(&reader, plan.source, &mut |page| sink.write_all(page))
            };
            let input = compress::Input {
                total: bytes,
                write_to: &mut write_pages,
            };
            let progress = &mut |f| observer.event(Event::Progress(Phase::Compress, f));
            compress::gzip_stream(
                input,
                &temps.gz,
                plan.compression.at(level),
                Some(lent),
                progress,
            )
            .map(|c| (c, level))
        });
        lent.give_back();
        let integrity = integrity
            .join()
            .expect("the integrity check thread panicked");
        (integrity, compressed)
    });
    judged(plan, integrity, compressed, observer)
}

/// The copy path (a database not in WAL mode, or a WAL that would not
/// hold still): one consistent copy with SQLite's backup API, then the
/// integrity check and the compression side by side on the copy.
fn copied(
    plan: &BackupPlan<'_>,
    temps: &TempFiles,
    observer: &mut dyn Observer,
) -> Result<(Compressed, u8), EngineError> {
    let snapshot_bytes = snapshot::copy_live_database(plan.source, &temps.snapshot, &mut |f| {
        observer.event(Event::Progress(Phase::Snapshot, f))
    })?;
    fsutil::restrict_file(&temps.snapshot)
        .map_err(|e| EngineError::io("cannot protect the snapshot", &temps.snapshot, e))?;
    observer.event(Event::SnapshotTaken {
        path: &snapshot_name(plan.backup_root, plan.id),
        bytes: snapshot_bytes,
    })?;
    let level = level_for(plan, &temps.snapshot)?;

    // The check is one thread and the longer of the two: it gets a core of
    // its own, and the compression the others until the check is done.
    pause::point("compress");
    observer.event(Event::PhaseStarted(Phase::IntegrityCheck))?;
    observer.event(Event::PhaseStarted(Phase::Compress))?;
    let lent = &sharing::LentCore::new();
    let read_err = |e| EngineError::io("cannot read the snapshot", &temps.snapshot, e);
    let mut file = std::fs::File::open(&temps.snapshot).map_err(read_err)?;
    let (integrity, compressed) = std::thread::scope(|scope| {
        let integrity = scope.spawn(|| {
            let _core = lent.borrow();
            snapshot::integrity_check(&temps.snapshot)
        });
        let mut copy =
            |sink: &mut dyn Write| std::io::copy(&mut file, sink).map(drop).map_err(read_err);
        let input = compress::Input {
            total: snapshot_bytes,
            write_to: &mut copy,
        };
        let progress = &mut |f| observer.event(Event::Progress(Phase::Compress, f));
        let compressed = compress::gzip_stream(
            input,
            &temps.gz,
            plan.compression.at(level),
            Some(lent),
            progress,
        )
        .map(|c| (c, level));
        lent.give_back();
        let integrity = integrity
            .join()
            .expect("the integrity check thread panicked");
        (integrity, compressed)
    });
    judged(plan, integrity, compressed, observer)
}

/// The plan's pinned level, or the one [`level::choose`] finds for a
/// sample of `sample_of`.
fn level_for(plan: &BackupPlan<'_>, sample_of: &Path) -> Result<u8, EngineError> {
    level::resolve(plan.compression.level, sample_of)
        .map_err(|e| EngineError::io("cannot sample the database", sample_of, e))
}

/// Nothing is published unless both the check and the compression
/// succeeded. The snapshot is page for page the live database: when it
/// fails the check, the live database is what is damaged.
fn judged(
    plan: &BackupPlan<'_>,
    integrity: Result<(), EngineError>,
    compressed: Result<(Compressed, u8), EngineError>,
    observer: &mut dyn Observer,
) -> Result<(Compressed, u8), EngineError> {
    integrity.map_err(|e| match e {
        EngineError::IntegrityCheckFailed { detail } => EngineError::DatabaseCorrupt {
            path: plan.source.to_path_buf(),
            detail: format!("its snapshot fails integrity_check: {detail}"),
        },
        other => other,
    })?;
    observer.event(Event::IntegrityOk)?;
    let compressed = compressed?;
    observer.event(Event::Compressed {
        from: compressed.0.raw_size,
        to: compressed.0.gz_size,
    })?;
    Ok(compressed)
}
