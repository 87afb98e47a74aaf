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

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use flate2::bufread::GzDecoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::compress::checksum_text;
use super::{BackupOutcome, EngineError, snapshot};
use crate::fsutil::{self, human_size};

/// Read and decompression buffer size.
const CHUNK: usize = 1 << 20;
/// Room kept free beyond the copy itself: SQLite's `-wal` and `-shm` files.
const COPY_HEADROOM: u64 = 4 << 20;
/// Decompressed copies are named `verify-<ulid>.db`.
const COPY_PREFIX: &str = "verify-";
/// The first two bytes of every gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The five checks, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CheckName {
    FileExists,
    FileSize,
    Checksum,
    Decompress,
    SqliteIntegrity,
}

impl CheckName {
    pub const ALL: [CheckName; 5] = [
        CheckName::FileExists,
        CheckName::FileSize,
        CheckName::Checksum,
        CheckName::Decompress,
        CheckName::SqliteIntegrity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::FileExists => "file_exists",
            CheckName::FileSize => "file_size",
            CheckName::Checksum => "checksum",
            CheckName::Decompress => "decompress",
            CheckName::SqliteIntegrity => "sqlite_integrity",
        }
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one check. `Skipped` means it could not run because an
/// earlier check failed (no file to read, nothing decompressed to check).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CheckStatus {
    Pass,
    Fail,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckResult {
    pub name: CheckName,
    pub status: CheckStatus,
    pub detail: String,
}

impl CheckResult {
    fn pass(name: CheckName, detail: impl Into<String>) -> Self {
        CheckResult {
            name,
            status: CheckStatus::Pass,
            detail: detail.into(),
        }
    }

    fn fail(name: CheckName, detail: impl Into<String>) -> Self {
        CheckResult {
            name,
            status: CheckStatus::Fail,
            detail: detail.into(),
        }
    }

    fn skipped(name: CheckName, why: &str) -> Self {
        CheckResult {
            name,
            status: CheckStatus::Skipped,
            detail: format!("not run: {why}"),
        }
    }
}

/// What the record says the backup file should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Size of the `.db.gz` in bytes.
    pub file_size: u64,
    /// `sha256:<hex>` of the `.db.gz`.
    pub checksum: String,
    /// Size of the database once decompressed, when recorded.
    pub original_size: Option<u64>,
    /// `sha256:<hex>` of the database once decompressed, when recorded.
    pub raw_checksum: Option<String>,
}

impl From<&BackupOutcome> for Expected {
    fn from(o: &BackupOutcome) -> Self {
        Expected {
            file_size: o.file_size,
            checksum: o.checksum.clone(),
            original_size: Some(o.original_size),
            raw_checksum: Some(o.raw_checksum.clone()),
        }
    }
}

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

/// Names of the checks that failed among `checks`.
pub fn failed_names(checks: &[CheckResult]) -> Vec<CheckName> {
    checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .map(|c| c.name)
        .collect()
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

    checks.push(if size == expected.file_size {
        CheckResult::pass(
            CheckName::FileSize,
            format!("{size} bytes, as recorded ({})", human_size(size)),
        )
    } else {
        CheckResult::fail(
            CheckName::FileSize,
            format!(
                "{size} bytes on disk; the record says {} bytes",
                expected.file_size
            ),
        )
    });

    let mut copy = prepare_copy(file, expected, scratch);
    let pass = read_once(file, copy.file());
    checks.push(judge_checksum(&pass, expected));
    let decompress = judge_decompress(&pass, expected);
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

/// Hashes and counts what is read through it; keeps the first read error
/// so that a failing disk is told apart from a corrupt gzip stream.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
    error: Option<String>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                self.bytes += n as u64;
                Ok(n)
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted && self.error.is_none() {
                    self.error = Some(e.to_string());
                }
                Err(e)
            }
        }
    }
}

/// What the one pass over the file found.
struct Pass {
    /// The file could not be opened or read: why.
    read_error: Option<String>,
    bytes_read: u64,
    checksum: String,
    /// The gzip stream is corrupt or incomplete: why.
    gzip_error: Option<String>,
    /// Bytes after the end of the gzip stream.
    trailing: u64,
    raw_bytes: u64,
    raw_checksum: String,
    copy_error: Option<io::Error>,
}

/// Reads `file` once: hashes every byte, decodes the gzip stream, hashes
/// and counts its output and writes it to `copy` when there is one. After
/// a gzip error the rest of the file is still read, so the checksum always
/// covers the whole file.
fn read_once(file: &Path, mut copy: Option<&mut File>) -> Pass {
    let mut pass = Pass {
        read_error: None,
        bytes_read: 0,
        checksum: String::new(),
        gzip_error: None,
        trailing: 0,
        raw_bytes: 0,
        raw_checksum: String::new(),
        copy_error: None,
    };
    let source = match File::open(file) {
        Ok(f) => f,
        Err(e) => {
            pass.read_error = Some(format!("cannot open {}: {e}", file.display()));
            return pass;
        }
    };
    let mut source = HashingReader {
        inner: source,
        hasher: Sha256::new(),
        bytes: 0,
        error: None,
    };
    let mut raw = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut input = BufReader::with_capacity(CHUNK, &mut source);
    // A backup is a series of gzip members (one per compressed chunk), as
    // `gunzip` reads it: decode members while the next bytes start one.
    'members: loop {
        let mut decoder = GzDecoder::new(&mut input);
        loop {
            match decoder.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    raw.update(&buf[..n]);
                    pass.raw_bytes += n as u64;
                    if let Some(out) = copy.as_mut()
                        && let Err(e) = out.write_all(&buf[..n])
                    {
                        pass.copy_error = Some(e);
                        copy = None;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    pass.gzip_error = Some(describe_gzip_error(&e));
                    break 'members;
                }
            }
        }
        // A read error here is kept by the hashing reader.
        match input.fill_buf() {
            Ok(next) if starts_member(next) => {}
            _ => break,
        }
    }
    // The rest of the file: trailing data after the last member, or what
    // follows a corrupt member (still hashed for the checksum).
    match drain(&mut input, &mut buf) {
        Ok(n) if pass.gzip_error.is_none() => pass.trailing = n,
        Ok(_) | Err(_) => {}
    }
    if let Some(out) = copy
        && let Err(e) = out.flush()
    {
        pass.copy_error = Some(e);
    }
    pass.read_error = source
        .error
        .take()
        .map(|e| format!("cannot read {}: {e}", file.display()));
    pass.bytes_read = source.bytes;
    pass.checksum = checksum_text(source.hasher.finalize());
    pass.raw_checksum = checksum_text(raw.finalize());
    pass
}

/// Whether the next bytes begin a gzip member (a lone first byte at the
/// end of the buffer counts: the decoder then checks the whole header).
fn starts_member(next: &[u8]) -> bool {
    match next {
        [a, b, ..] => [*a, *b] == GZIP_MAGIC,
        [a] => *a == GZIP_MAGIC[0],
        [] => false,
    }
}

fn drain(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        match reader.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn describe_gzip_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => "the gzip stream ends early (truncated file)".into(),
        _ => format!("the gzip stream is corrupt: {e}"),
    }
}

fn judge_checksum(pass: &Pass, expected: &Expected) -> CheckResult {
    if let Some(e) = &pass.read_error {
        return CheckResult::fail(CheckName::Checksum, e.clone());
    }
    if pass.checksum.eq_ignore_ascii_case(&expected.checksum) {
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

fn judge_decompress(pass: &Pass, expected: &Expected) -> CheckResult {
    let fail = |detail: String| CheckResult::fail(CheckName::Decompress, detail);
    if let Some(e) = &pass.read_error {
        return fail(e.clone());
    }
    if let Some(e) = &pass.gzip_error {
        return fail(format!("{e}, after {} bytes of output", pass.raw_bytes));
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
        && !sum.eq_ignore_ascii_case(&pass.raw_checksum)
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
    match snapshot::integrity_check(&temp.path) {
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
