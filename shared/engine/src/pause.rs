//! A test hook of debug builds: with `NEXUS_TEST_PAUSE_BACKUP_AT=<point>`
//! and `NEXUS_TEST_PAUSE_FILE=<path>`, a backup reaching `<point>` creates
//! `<path>.reached` and waits (a minute at most) until `<path>` exists, so
//! a test can change the world at that exact moment (fill the disk). In a
//! release build it does nothing.

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub const POINT_ENV: &str = "NEXUS_TEST_PAUSE_BACKUP_AT";
pub const FILE_ENV: &str = "NEXUS_TEST_PAUSE_FILE";

/// Pauses here when a test asked to (debug builds only).
pub fn point(name: &str) {
    if !cfg!(debug_assertions) || std::env::var(POINT_ENV).ok().as_deref() != Some(name) {
        return;
    }
    let Some(go) = std::env::var_os(FILE_ENV).map(PathBuf::from) else {
        return;
    };
    let mut reached = go.clone().into_os_string();
    reached.push(".reached");
    if let Err(e) = std::fs::write(&reached, name) {
        tracing::warn!(error = %e, "test pause: cannot say the point was reached");
        return;
    }
    let start = Instant::now();
    while !go.exists() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
}
