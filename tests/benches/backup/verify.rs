//! Verify and restore of the worker's backup by the engine, next to the
//! shell's equivalents.

use std::path::Path;
use std::time::{Duration, Instant};

use nexus_shared::engine::{restore, verify};

use crate::shell;
use crate::worker::WorkerRun;

/// The engine's five checks, then the shell's; their durations.
pub fn side_by_side(backup: &WorkerRun, scratch: &Path) -> anyhow::Result<(Duration, Duration)> {
    let record = &backup.record;
    let expected = verify::Expected {
        file_size: record.file_size.unwrap_or(0),
        checksum: record.checksum.clone().unwrap_or_default(),
        original_size: record.original_size,
        raw_checksum: record.raw_checksum.clone(),
    };
    let t = Instant::now();
    let report = verify::verify_backup(&backup.file, &expected, &verify::Scratch::new(scratch));
    let ours = t.elapsed();
    anyhow::ensure!(
        report.passed,
        "the backup failed verification: {:?}",
        report.checks
    );
    Ok((ours, shell::verify(&backup.file, scratch)?))
}

/// Restoring the backup over a copy of `db`, both ways; their durations.
pub fn restore_side_by_side(
    backup: &WorkerRun,
    db: &Path,
    scratch: &Path,
) -> anyhow::Result<(Duration, Duration)> {
    let record = &backup.record;
    let live = scratch.join("live.db");
    std::fs::copy(db, &live)?;
    let expected = restore::Expected {
        checksum: record.checksum.as_deref().unwrap_or_default(),
        raw_checksum: record.raw_checksum.as_deref(),
        original_size: record.original_size,
    };
    let t = Instant::now();
    let copy = restore::verify_into(&backup.file, &expected, &scratch.join("restore-copy.db"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    restore::apply(copy.path(), &live, Duration::from_secs(30))
        .map_err(|f| anyhow::anyhow!("{}", f.error))?;
    restore::check_live(&live).map_err(|e| anyhow::anyhow!("{e}"))?;
    let ours = t.elapsed();
    drop(copy);
    let shell = shell::restore(&backup.file, &live, scratch)?;
    std::fs::remove_file(&live)?;
    Ok((ours, shell))
}
