//! Integrity verification of a backup file (SPEC §4): five checks, each
//! with its own result and detail. The backup file is only ever opened for
//! reading, and it is read once, in fixed-size chunks: the SHA-256, the
//! gzip decoding and the decompressed copy all come from that one pass, so
//! memory stays bounded whatever the backup's size.
//!
//! `PRAGMA integrity_check` needs the database as a file: the decompressed
//! copy goes to a temporary file in a scratch folder (`<backup_root>/.tmp/`)
//! after a free-space pre-flight, and is always removed. Without room for
//! it, the gzip stream is still checked (decompressed to nowhere) and
//! `sqlite_integrity` fails, saying so.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use nexus_domain::{CheckName, CheckResult, CheckStatus, failed_names};

use crate::fsutil::{self, human_size};
use crate::reading::{Expected, Pass, read_backup};
use crate::{EngineError, snapshot};

/// Room kept free beyond the copy itself: SQLite's `-wal` and `-shm` files.
const COPY_HEADROOM: u64 = 4 << 20;
/// Decompressed copies are named `verify-<ulid>.db`.
const COPY_PREFIX: &str = "verify-";

/// Where the decompressed copy may go, and how much free space to leave
/// on that filesystem for everything else.
#[derive(Debug, Clone, Copy)]
pub struct Scratch<'a> {
    pub dir: &'a Path,
    pub reserve_bytes: u64,
}

impl<'a> Scratch<'a> {
    pub fn new(dir: &'a Path) -> Self {
        Scratch {
            dir,
            reserve_bytes: 0,
        }
    }
}

/// The five results, in [`CheckName::ALL`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub checks: Vec<CheckResult>,
    /// Every check passed.
    pub passed: bool,
    pub duration: Duration,
    /// Bytes of the backup file read.
    pub bytes_read: u64,
}

impl VerifyReport {
    fn new(checks: Vec<CheckResult>, started: Instant, bytes_read: u64) -> Self {
        debug_assert_eq!(
            checks.iter().map(|c| c.name).collect::<Vec<_>>(),
            CheckName::ALL
        );
        VerifyReport {
            passed: checks.iter().all(|c| c.status == CheckStatus::Pass),
            checks,
            duration: started.elapsed(),
            bytes_read,
        }
    }

    /// A verification that could not run at all (its job was lost, the
    /// backup has no file on record…): every check skipped, not passed.
    pub fn not_run(why: &str) -> Self {
        VerifyReport::new(
            CheckName::ALL
                .into_iter()
                .map(|name| CheckResult::skipped(name, why))
                .collect(),
            Instant::now(),
            0,
        )
    }

    /// Names of the checks that failed.
    pub fn failed(&self) -> Vec<CheckName> {
        failed_names(&self.checks)
    }

    pub fn get(&self, name: CheckName) -> &CheckResult {
        self.checks
            .iter()
            .find(|c| c.name == name)
            .expect("a report has every check")
    }
}

/// Runs the five checks on the backup `file` against what the record says.
/// Never modifies `file`. Failures are results, not errors: every check
/// gets a status and a detail that says what was found.
pub fn verify_backup(file: &Path, expected: &Expected, scratch: &Scratch<'_>) -> VerifyReport {
    let started = Instant::now();
    let mut checks = Vec::with_capacity(CheckName::ALL.len());

    let size = match fs::metadata(file) {
        Ok(meta) if meta.is_file() => {
            checks.push(CheckResult::pass(
                CheckName::FileExists,
                format!("{} exists", file.display()),
            ));
            meta.len()
        }
        found => {
            let detail = match found {
                Ok(_) => format!("{} is not a regular file", file.display()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    format!("no file at {}", file.display())
                }
                Err(e) => format!("cannot look at {}: {e}", file.display()),
            };
            checks.push(CheckResult::fail(CheckName::FileExists, detail));
            for name in &CheckName::ALL[1..] {
                checks.push(CheckResult::skipped(*name, "the backup file is missing"));
            }
            return VerifyReport::new(checks, started, 0);
        }
    };

    checks.push(match expected.file_size {
        Some(recorded) if recorded == size => CheckResult::pass(
            CheckName::FileSize,
            format!("{size} bytes, as recorded ({})", human_size(size)),
        ),
        Some(recorded) => CheckResult::fail(
            CheckName::FileSize,
            format!("{size} bytes on disk; the record says {recorded} bytes"),
        ),
        None => CheckResult::fail(
            CheckName::FileSize,
            format!("{size} bytes on disk; the record has no size"),
        ),
    });

    let mut copy = prepare_copy(file, expected, scratch);
    let pass = match File::open(file) {
        Ok(source) => read_backup(source, copy.file()),
        Err(e) => {
            return VerifyReport::new(
                could_not_read(checks, &format!("cannot open {}: {e}", file.display())),
                started,
                0,
            );
        }
    };
    checks.push(judge_checksum(file, &pass, expected));
    let decompress = judge_decompress(file, &pass, expected);
    let decompressed = decompress.status == CheckStatus::Pass;
    checks.push(decompress);
    if let Some(e) = pass.copy_error {
        copy = Copy::Unusable(format!("cannot write the decompressed copy: {e}"));
    }
    checks.push(if decompressed {
        judge_integrity(&mut copy)
    } else {
        CheckResult::skipped(CheckName::SqliteIntegrity, "the backup does not decompress")
    });
    drop(copy);
    VerifyReport::new(checks, started, pass.bytes_read)
}

/// The file exists but cannot be opened: the three checks that read it
/// fail with `why`, and the integrity check cannot run.
fn could_not_read(mut checks: Vec<CheckResult>, why: &str) -> Vec<CheckResult> {
    checks.push(CheckResult::fail(CheckName::Checksum, why));
    checks.push(CheckResult::fail(CheckName::Decompress, why));
    checks.push(CheckResult::skipped(
        CheckName::SqliteIntegrity,
        "the backup does not decompress",
    ));
    checks
}

/// The temporary decompressed copy, or why there is none.
enum Copy {
    Ready(TempCopy),
    Unusable(String),
}

impl Copy {
    fn file(&mut self) -> Option<&mut File> {
        match self {
            Copy::Ready(t) => t.file.as_mut(),
            Copy::Unusable(_) => None,
        }
    }
}

/// A file in the scratch folder, removed (with SQLite's side files) on drop.
struct TempCopy {
    path: PathBuf,
    file: Option<File>,
}

impl Drop for TempCopy {
    fn drop(&mut self) {
        self.file.take();
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.path.as_os_str().to_owned();
            p.push(suffix);
            let p = PathBuf::from(p);
            if let Err(e) = fsutil::remove_if_exists(&p) {
                tracing::warn!(path = %p.display(), error = %e, "cannot remove a temporary copy");
            }
        }
    }
}

/// Pre-flight for the decompressed copy: room for the database plus the
/// reserve, then a new private file in the scratch folder.
fn prepare_copy(file: &Path, expected: &Expected, scratch: &Scratch<'_>) -> Copy {
    let dir = scratch.dir;
    if let Err(e) = fsutil::create_private_dir(dir) {
        return Copy::Unusable(format!(
            "cannot create the scratch folder {}: {e}",
            dir.display()
        ));
    }
    // Without a recorded size, the gzip trailer's (size mod 4 GiB) is the
    // best guess; a copy that does not fit fails on write anyway.
    let database_bytes = expected
        .original_size
        .unwrap_or_else(|| gzip_size_hint(file).unwrap_or(0));
    let required = database_bytes + COPY_HEADROOM + scratch.reserve_bytes;
    let available = match fsutil::available_bytes(dir) {
        Ok(n) => n,
        Err(e) => {
            return Copy::Unusable(format!(
                "cannot read the free space of {}: {e}",
                dir.display()
            ));
        }
    };
    if available < required {
        return Copy::Unusable(format!(
            "not enough free space in {} for the decompressed copy: {} needed, {} available",
            dir.display(),
            human_size(required),
            human_size(available)
        ));
    }
    let path = dir.join(format!("{COPY_PREFIX}{}.db", ulid::Ulid::generate()));
    match fsutil::create_private_file(&path) {
        Ok(f) => Copy::Ready(TempCopy {
            path,
            file: Some(f),
        }),
        Err(e) => Copy::Unusable(format!("cannot create {}: {e}", path.display())),
    }
}

/// The uncompressed size the gzip trailer records (modulo 4 GiB).
fn gzip_size_hint(file: &Path) -> io::Result<u64> {
    let mut f = File::open(file)?;
    f.seek(SeekFrom::End(-4))?;
    let mut isize = [0u8; 4];
    f.read_exact(&mut isize)?;
    Ok(u64::from(u32::from_le_bytes(isize)))
}

fn judge_checksum(file: &Path, pass: &Pass, expected: &Expected) -> CheckResult {
    if let Some(e) = &pass.read_error {
        return CheckResult::fail(
            CheckName::Checksum,
            format!("cannot read {}: {e}", file.display()),
        );
    }
    if pass.checksum == expected.checksum {
        CheckResult::pass(
            CheckName::Checksum,
            format!("{} matches the record", pass.checksum),
        )
    } else {
        CheckResult::fail(
            CheckName::Checksum,
            format!(
                "{} differs from the recorded {}",
                pass.checksum, expected.checksum
            ),
        )
    }
}

fn judge_decompress(file: &Path, pass: &Pass, expected: &Expected) -> CheckResult {
    let fail = |detail: String| CheckResult::fail(CheckName::Decompress, detail);
    if let Some(e) = &pass.read_error {
        return fail(format!("cannot read {}: {e}", file.display()));
    }
    if let Some(e) = &pass.gzip_error {
        return fail(format!(
            "{}, after {} bytes of output",
            Pass::describe_gzip_error(e),
            pass.raw_bytes
        ));
    }
    if pass.trailing > 0 {
        return fail(format!(
            "{} bytes of unexpected data after the end of the gzip stream",
            pass.trailing
        ));
    }
    if let Some(size) = expected.original_size
        && size != pass.raw_bytes
    {
        return fail(format!(
            "decompresses to {} bytes; the record says {size} bytes",
            pass.raw_bytes
        ));
    }
    if let Some(sum) = &expected.raw_checksum
        && *sum != pass.raw_checksum
    {
        return fail(format!(
            "the decompressed database is {}; the record says {sum}",
            pass.raw_checksum
        ));
    }
    CheckResult::pass(
        CheckName::Decompress,
        format!(
            "decompresses completely to {} bytes ({}), gzip CRC ok{}",
            pass.raw_bytes,
            human_size(pass.raw_bytes),
            if expected.raw_checksum.is_some() {
                ", content matches the recorded checksum"
            } else {
                ""
            }
        ),
    )
}

fn judge_integrity(copy: &mut Copy) -> CheckResult {
    let name = CheckName::SqliteIntegrity;
    let temp = match copy {
        Copy::Ready(temp) => temp,
        Copy::Unusable(why) => return CheckResult::fail(name, why.clone()),
    };
    // Closed before SQLite opens it.
    temp.file.take();
    match snapshot::integrity_check_mapped(&temp.path) {
        Ok(()) => CheckResult::pass(name, "PRAGMA integrity_check: ok"),
        Err(EngineError::IntegrityCheckFailed { detail }) => {
            CheckResult::fail(name, format!("PRAGMA integrity_check: {detail}"))
        }
        Err(e) => CheckResult::fail(name, format!("the integrity check could not run: {e}")),
    }
}

/// Removes decompressed copies older than `age` left in `scratch_dir` by a
/// verification that was killed mid-way. Returns how many were removed.
pub fn remove_stale_copies(scratch_dir: &Path, age: Duration) -> io::Result<usize> {
    let entries = match fs::read_dir(scratch_dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        other => other?,
    };
    let cutoff = SystemTime::now()
        .checked_sub(age)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let is_copy = name
            .to_str()
            .is_some_and(|n| n.starts_with(COPY_PREFIX) && n.contains(".db"));
        let modified = entry.metadata().and_then(|m| m.modified());
        if is_copy && modified.is_ok_and(|t| t < cutoff) {
            fsutil::remove_if_exists(&entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}
