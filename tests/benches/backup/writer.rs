//! The application's side of a backup: `itsm-writer` commits back to back
//! on a copy of the database, once alone and once while the worker backs
//! that database up, with no busy timeout (any lock it meets is an error).

use std::path::Path;
use std::process::{Command, Stdio};

use serde::Deserialize;

use crate::worker::{self, WorkerRun};

/// `itsm-writer`'s report.
#[derive(Debug, Deserialize)]
pub struct Writer {
    pub commits: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// Commit latency alone, then during a backup of the same database.
/// `seconds` should be a little shorter than a backup, so that the second
/// run lies inside it.
pub fn latency(
    db: &Path,
    scratch: &Path,
    seconds: f64,
) -> anyhow::Result<(Writer, Writer, WorkerRun)> {
    let dir = scratch.join("writer");
    std::fs::create_dir_all(&dir)?;
    let live = dir.join("live.db");
    std::fs::copy(db, &live)?;
    let alone = write(&live, seconds)?;
    let (run, during) = worker::backup(&live, &dir, || write(&live, seconds))?;
    std::fs::remove_dir_all(&dir)?;
    Ok((alone, during, run))
}

fn write(db: &Path, seconds: f64) -> anyhow::Result<Writer> {
    let out = Command::new(nexus_e2e::binary("itsm-writer"))
        .arg(db)
        .arg(format!("{seconds:.1}"))
        .arg("0")
        .stderr(Stdio::inherit())
        .output()?;
    anyhow::ensure!(out.status.success(), "itsm-writer failed: {}", out.status);
    Ok(serde_json::from_slice(&out.stdout)?)
}
