//! The guide's shell commands, timed step by step: the baseline every
//! figure of `make bench` is a ratio to.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A shell pipeline's total time and output size.
pub struct Pipeline {
    pub elapsed: Duration,
    pub gz_bytes: u64,
}

/// Runs `command` to completion, prints and returns how long it took.
pub fn timed(what: &str, command: &mut Command) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let status = command.stdout(Stdio::null()).status()?;
    anyhow::ensure!(status.success(), "{what} failed: {status}");
    let elapsed = t.elapsed();
    println!("  {what:<28} {:>7.2} s", elapsed.as_secs_f64());
    Ok(elapsed)
}

/// `sh -c` with the given line.
pub fn sh(line: String) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(line);
    c
}

/// The guide's pipeline on `db`. The uncompressed copy it made is left at
/// the returned path (the level table compresses it again).
pub fn guide_pipeline(db: &Path, scratch: &Path) -> anyhow::Result<(Pipeline, PathBuf)> {
    println!("guide pipeline:");
    let copy = scratch.join("guide.db");
    let pipeline = pipeline(db, &copy, "gzip -6")?;
    Ok((pipeline, copy))
}

/// The same with `pigz -6`, when it is installed.
pub fn pigz_pipeline(db: &Path, scratch: &Path) -> anyhow::Result<Option<Pipeline>> {
    if Command::new("pigz").arg("--version").output().is_err() {
        println!("pigz: not installed, skipped (apt-get install pigz)");
        return Ok(None);
    }
    println!("pigz pipeline:");
    let copy = scratch.join("pigz.db");
    let pipeline = pipeline(db, &copy, "pigz -6")?;
    std::fs::remove_file(&copy)?;
    Ok(Some(pipeline))
}

fn pipeline(db: &Path, copy: &Path, compressor: &str) -> anyhow::Result<Pipeline> {
    let gz = copy.with_extension("db.gz");
    let mut total = Duration::ZERO;
    total += timed(
        "sqlite3 .backup",
        Command::new("sqlite3")
            .arg(db)
            .arg(format!(".backup '{}'", copy.display())),
    )?;
    total += integrity_check(copy)?;
    total += timed(
        compressor,
        &mut sh(format!(
            "{compressor} -c '{}' > '{}'",
            copy.display(),
            gz.display()
        )),
    )?;
    total += timed("sha256sum", Command::new("sha256sum").arg(&gz))?;
    let gz_bytes = std::fs::metadata(&gz)?.len();
    std::fs::remove_file(&gz)?;
    Ok(Pipeline {
        elapsed: total,
        gz_bytes,
    })
}

/// `sqlite3 <db> "PRAGMA integrity_check"`, timed.
pub fn integrity_check(db: &Path) -> anyhow::Result<Duration> {
    timed(
        "PRAGMA integrity_check",
        Command::new("sqlite3")
            .arg(db)
            .arg("PRAGMA integrity_check"),
    )
}

/// The shell's way to check a backup: hash, test, decompress, check.
pub fn verify(file: &Path, scratch: &Path) -> anyhow::Result<Duration> {
    println!("shell verify:");
    let copy = scratch.join("verify.db");
    let mut total = timed("sha256sum", Command::new("sha256sum").arg(file))?;
    total += timed("gzip -t", Command::new("gzip").arg("-t").arg(file))?;
    total += timed(
        "gunzip -c",
        &mut sh(format!(
            "gunzip -c '{}' > '{}'",
            file.display(),
            copy.display()
        )),
    )?;
    total += integrity_check(&copy)?;
    std::fs::remove_file(&copy)?;
    Ok(total)
}

/// The shell's way to restore a backup over `live`.
pub fn restore(file: &Path, live: &Path, scratch: &Path) -> anyhow::Result<Duration> {
    println!("shell restore:");
    let raw = scratch.join("restore-shell.db");
    let mut total = timed(
        "gunzip -c",
        &mut sh(format!(
            "gunzip -c '{}' > '{}'",
            file.display(),
            raw.display()
        )),
    )?;
    total += timed(
        "sqlite3 .restore",
        Command::new("sqlite3")
            .arg(live)
            .arg(format!(".restore '{}'", raw.display())),
    )?;
    total += integrity_check(live)?;
    std::fs::remove_file(&raw)?;
    Ok(total)
}
