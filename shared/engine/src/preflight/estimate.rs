//! How large a WAL database's backup will be, before it is taken: the
//! database's size times what libdeflate's level 4 makes of a sample of it
//! (a level no cheaper than the ones a backup picks on such data, so the
//! estimate errs on the large side). The API runs the pre-flight on every
//! `POST /backups`, so a result is kept per file until the file changes,
//! or for a minute.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use crate::level::Sample;

const LEVEL: u8 = 4;
const KEEP: Duration = Duration::from_secs(60);

/// The file as it was when its ratio was measured.
#[derive(Clone, Copy, PartialEq)]
struct Seen {
    len: u64,
    modified: SystemTime,
}

struct Measured {
    seen: Seen,
    at: Instant,
    ratio: f64,
}

static MEASURED: Mutex<Option<HashMap<PathBuf, Measured>>> = Mutex::new(None);

/// The expected compressed size of `source` (`database_bytes` with its
/// WAL), or `None` when its header says it is not in WAL mode.
pub(super) fn compressed_bytes(source: &Path, database_bytes: u64) -> Option<u64> {
    if !in_wal_mode(source) {
        return None;
    }
    let ratio = ratio(source).unwrap_or(1.0);
    Some((database_bytes as f64 * ratio).ceil() as u64)
}

/// Bytes 18 and 19 of a database's header are 2 in WAL mode.
fn in_wal_mode(source: &Path) -> bool {
    let mut header = [0u8; 20];
    std::fs::File::open(source)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok_and(|()| header.starts_with(b"SQLite format 3\0") && header[18..20] == [2, 2])
}

fn ratio(source: &Path) -> Option<f64> {
    let meta = std::fs::metadata(source).ok()?;
    let seen = Seen {
        len: meta.len(),
        modified: meta.modified().ok()?,
    };
    let mut measured = MEASURED.lock().expect("estimate cache poisoned");
    let measured = measured.get_or_insert_with(HashMap::new);
    if let Some(m) = measured.get(source)
        && m.seen == seen
        && m.at.elapsed() < KEEP
    {
        return Some(m.ratio);
    }
    let sample = Sample::of_file(source).ok()?;
    let ratio = sample.libdeflate_bytes(LEVEL) as f64 / sample.bytes().max(1) as f64;
    measured.insert(
        source.to_path_buf(),
        Measured {
            seen,
            at: Instant::now(),
            ratio,
        },
    );
    Some(ratio)
}
