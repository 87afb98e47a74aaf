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
    let expected = record
        .expected()
        .ok_or_else(|| anyhow::anyhow!("the backup has no checksum"))?;
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
    let expected = record
        .expected()
        .ok_or_else(|| anyhow::anyhow!("the backup has no checksum"))?;
    let t = Instant::now();
    let copy = restore::decompress_into(&backup.file, &expected, &scratch.join("restore-copy.db"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let decompressed = t.elapsed();
    let applied = restore::apply(&copy, &live, Duration::from_secs(30))
        .map_err(|f| anyhow::anyhow!("{}", f.error))?;
    let checked = Instant::now();
    restore::check_live(&live).map_err(|e| anyhow::anyhow!("{e}"))?;
    let ours = t.elapsed();
    println!(
        "nexus restore: decompressed copy {:.2} s, apply {:.2} s (write beside the copy's check {:.2} s, the check alone {:.2} s, + checkpoint {:.2} s), live check {:.2} s",
        decompressed.as_secs_f64(),
        (applied.duration + applied.checkpoint).as_secs_f64(),
        applied.duration.as_secs_f64(),
        applied.copy_check.as_secs_f64(),
        applied.checkpoint.as_secs_f64(),
        checked.elapsed().as_secs_f64()
    );
    drop(copy);
    let shell = shell::restore(&backup.file, &live, scratch)?;
    std::fs::remove_file(&live)?;
    Ok((ours, shell))
}
