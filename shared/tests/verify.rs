//! The verification engine on real files (SPEC §4): an intact backup passes
//! the five checks; each kind of damage fails the check that should catch
//! it, says why, and never changes the backup file.

use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use flate2::Compression;
use flate2::write::GzEncoder;
use nexus_shared::domain::{CheckName, CheckStatus, Checksum};
use nexus_shared::engine::reading::Expected;
use nexus_shared::engine::verify::{Scratch, VerifyReport, remove_stale_copies, verify_backup};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

fn sha256(bytes: &[u8]) -> Checksum {
    Checksum::from_digest(Sha256::digest(bytes))
}

/// A WAL-mode database of a few hundred KB, like the ITSM one.
fn make_database(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.execute_batch(
        "CREATE TABLE incidents (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL);
         CREATE INDEX incidents_by_title ON incidents (title);",
    )
    .unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    for i in 0..4000 {
        tx.execute(
            "INSERT INTO incidents (title, body) VALUES (?1, ?2)",
            (
                format!("incident {i:05}"),
                format!("{} {i}", "printer on floor 3 is on fire".repeat(3)),
            ),
        )
        .unwrap();
    }
    tx.commit().unwrap();
    conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .unwrap();
}

/// Gzips `db` into `gz` with flate2, as the backup engine writes it: a
/// series of gzip members, here of `member_bytes` of input each. Returns
/// what a record would hold.
fn gzip_members(db: &Path, gz: &Path, member_bytes: usize) -> Expected {
    let raw = fs::read(db).unwrap();
    let mut compressed = Vec::new();
    for part in raw.chunks(member_bytes) {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::new(6));
        encoder.write_all(part).unwrap();
        compressed.extend(encoder.finish().unwrap());
    }
    fs::write(gz, &compressed).unwrap();
    Expected {
        file_size: Some(compressed.len() as u64),
        checksum: sha256(&compressed),
        original_size: Some(raw.len() as u64),
        raw_checksum: Some(sha256(&raw)),
    }
}

fn gzip(db: &Path, gz: &Path) -> Expected {
    gzip_members(db, gz, 128 * 1024)
}

struct Fixture {
    dir: TempDir,
    backup: PathBuf,
    expected: Expected,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("itsm_nexus.db");
        make_database(&db);
        let backup = dir.path().join("itsm_nexus_manual_20260131_143025.db.gz");
        let expected = gzip(&db, &backup);
        Fixture {
            dir,
            backup,
            expected,
        }
    }

    fn scratch_dir(&self) -> PathBuf {
        self.dir.path().join("backups/.tmp")
    }

    fn verify(&self) -> VerifyReport {
        verify_backup(
            &self.backup,
            &self.expected,
            &Scratch::new(&self.scratch_dir()),
        )
    }

    fn scratch_is_empty(&self) -> bool {
        fs::read_dir(self.scratch_dir())
            .map(|mut d| d.next().is_none())
            .unwrap_or(true)
    }
}

fn status_of(report: &VerifyReport, name: CheckName) -> CheckStatus {
    report.get(name).status
}

#[track_caller]
fn assert_only_failed(report: &VerifyReport, failed: &[CheckName]) {
    assert!(!report.passed, "{report:#?}");
    assert_eq!(report.failed(), failed, "{report:#?}");
}

#[test]
fn an_intact_backup_passes_all_five_checks_and_leaves_no_temporary_file() {
    let f = Fixture::new();

    let report = f.verify();

    assert!(report.passed, "{report:#?}");
    let names: Vec<_> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "file_exists",
            "file_size",
            "checksum",
            "decompress",
            "sqlite_integrity"
        ]
    );
    assert!(report.checks.iter().all(|c| !c.detail.is_empty()));
    assert_eq!(Some(report.bytes_read), f.expected.file_size);
    assert!(
        report
            .get(CheckName::SqliteIntegrity)
            .detail
            .ends_with("ok")
    );
    assert!(f.scratch_is_empty(), "the decompressed copy is removed");
}

#[test]
fn a_single_member_gzip_file_passes_too() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("itsm_nexus.db");
    make_database(&db);
    let backup = dir.path().join("backup.db.gz");
    let expected = gzip_members(&db, &backup, usize::MAX);

    let report = verify_backup(&backup, &expected, &Scratch::new(dir.path()));

    assert!(report.passed, "{report:#?}");
}

#[test]
fn a_flipped_byte_fails_the_checksum_and_the_decompression_and_the_file_is_left_as_it_was() {
    let f = Fixture::new();
    let mut bytes = fs::read(&f.backup).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&f.backup, &bytes).unwrap();

    let report = f.verify();

    assert_only_failed(&report, &[CheckName::Checksum, CheckName::Decompress]);
    assert!(
        report
            .get(CheckName::Checksum)
            .detail
            .contains(f.expected.checksum.as_str()),
        "the detail names the recorded checksum: {report:#?}"
    );
    assert_eq!(
        status_of(&report, CheckName::SqliteIntegrity),
        CheckStatus::Skipped
    );
    assert_eq!(
        fs::read(&f.backup).unwrap(),
        bytes,
        "a failed check never changes the backup file"
    );
    assert!(f.scratch_is_empty());
}

#[test]
fn a_truncated_file_fails_the_size_checksum_and_decompression_checks() {
    let f = Fixture::new();
    let bytes = fs::read(&f.backup).unwrap();
    fs::write(&f.backup, &bytes[..bytes.len() * 2 / 3]).unwrap();

    let report = f.verify();

    assert_only_failed(
        &report,
        &[
            CheckName::FileSize,
            CheckName::Checksum,
            CheckName::Decompress,
        ],
    );
    assert!(
        report
            .get(CheckName::Decompress)
            .detail
            .contains("truncated"),
        "{report:#?}"
    );
    assert!(f.scratch_is_empty());
}

#[test]
fn a_file_cut_between_two_gzip_members_fails_decompress_as_too_short() {
    let f = Fixture::new();
    let raw = fs::read(f.dir.path().join("itsm_nexus.db")).unwrap();
    let mut first_member = GzEncoder::new(Vec::new(), Compression::new(6));
    first_member.write_all(&raw[..128 * 1024]).unwrap();
    let cut = first_member.finish().unwrap().len();
    let bytes = fs::read(&f.backup).unwrap();
    fs::write(&f.backup, &bytes[..cut]).unwrap();

    let report = f.verify();

    assert_only_failed(
        &report,
        &[
            CheckName::FileSize,
            CheckName::Checksum,
            CheckName::Decompress,
        ],
    );
    let detail = &report.get(CheckName::Decompress).detail;
    assert!(detail.contains("the record says"), "{detail}");
}

#[test]
fn a_deleted_file_fails_file_exists_and_the_other_checks_are_skipped() {
    let f = Fixture::new();
    fs::remove_file(&f.backup).unwrap();

    let report = f.verify();

    assert_only_failed(&report, &[CheckName::FileExists]);
    assert!(
        report
            .get(CheckName::FileExists)
            .detail
            .contains(&f.backup.display().to_string())
    );
    for name in &CheckName::ALL[1..] {
        assert_eq!(status_of(&report, *name), CheckStatus::Skipped);
    }
}

#[test]
fn a_file_whose_size_differs_from_the_record_fails_file_size() {
    let mut f = Fixture::new();
    let recorded = f.expected.file_size.expect("recorded") + 10;
    f.expected.file_size = Some(recorded);

    let report = f.verify();

    assert_only_failed(&report, &[CheckName::FileSize]);
    let detail = &report.get(CheckName::FileSize).detail;
    assert!(detail.contains(&recorded.to_string()), "{detail}");
}

#[test]
fn a_database_with_a_corrupt_page_fails_only_the_sqlite_integrity_check() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("itsm_nexus.db");
    make_database(&db);
    // Scribble over the b-tree header of a page in the middle of the file.
    let mut raw = fs::read(&db).unwrap();
    let page_size = match u16::from_be_bytes([raw[16], raw[17]]) {
        1 => 65536,
        n => usize::from(n),
    };
    let page = raw.len() / page_size / 2;
    raw[page * page_size] = 0x00;
    fs::write(&db, &raw).unwrap();
    let backup = dir.path().join("backup.db.gz");
    // The record is right about this file: only the database inside is bad.
    let expected = gzip(&db, &backup);

    let report = verify_backup(&backup, &expected, &Scratch::new(dir.path()));

    assert_only_failed(&report, &[CheckName::SqliteIntegrity]);
    let detail = &report.get(CheckName::SqliteIntegrity).detail;
    assert!(detail.starts_with("PRAGMA integrity_check"), "{detail}");
    assert_ne!(detail, "PRAGMA integrity_check: ok");
}

#[test]
fn without_room_for_the_decompressed_copy_sqlite_integrity_fails_and_nothing_is_written() {
    let f = Fixture::new();
    let scratch = f.scratch_dir();

    let report = verify_backup(
        &f.backup,
        &f.expected,
        &Scratch {
            dir: &scratch,
            reserve_bytes: u64::MAX / 4,
        },
    );

    assert_only_failed(&report, &[CheckName::SqliteIntegrity]);
    assert_eq!(status_of(&report, CheckName::Decompress), CheckStatus::Pass);
    let detail = &report.get(CheckName::SqliteIntegrity).detail;
    assert!(detail.contains("not enough free space"), "{detail}");
    assert!(f.scratch_is_empty());
}

#[test]
fn data_after_the_end_of_the_gzip_stream_fails_decompress() {
    let mut f = Fixture::new();
    let mut bytes = fs::read(&f.backup).unwrap();
    bytes.extend_from_slice(b"garbage");
    fs::write(&f.backup, &bytes).unwrap();
    f.expected.file_size = Some(bytes.len() as u64);
    f.expected.checksum = sha256(&bytes);

    let report = f.verify();

    assert_only_failed(&report, &[CheckName::Decompress]);
    assert!(
        report
            .get(CheckName::Decompress)
            .detail
            .starts_with("7 bytes"),
        "{report:#?}"
    );
}

#[test]
fn content_that_differs_from_the_recorded_raw_checksum_fails_decompress() {
    let mut f = Fixture::new();
    f.expected.raw_checksum = Some(sha256(b"another database"));

    let report = f.verify();

    assert_only_failed(&report, &[CheckName::Decompress]);
}

#[test]
fn stale_decompressed_copies_are_removed_and_fresh_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("verify-01OLD.db");
    let fresh = dir.path().join("verify-01NEW.db");
    let other = dir.path().join("BKP-20260131-143025-manual.snapshot.db");
    for p in [&old, &fresh, &other] {
        File::create(p).unwrap();
    }
    let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 86_400);
    for p in [&old, &other] {
        File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(two_days_ago)
            .unwrap();
    }

    let removed = remove_stale_copies(dir.path(), Duration::from_secs(86_400)).unwrap();

    assert_eq!(removed, 1);
    assert!(!old.exists());
    assert!(fresh.exists() && other.exists());
}
