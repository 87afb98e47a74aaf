//! Small filesystem helpers: private modes (SPEC §2: folders 0700, files
//! 0600), directory fsync for durable renames, free space.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` (and parents) and sets the leaf to mode 0700.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, Permissions::from_mode(0o700))
}

/// Sets an existing file to mode 0600.
pub fn restrict_file(path: &Path) -> io::Result<()> {
    fs::set_permissions(path, Permissions::from_mode(0o600))
}

/// Creates a new file with mode 0600 from the first byte on; fails if it exists.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Makes a rename or unlink in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Renames `from` over `to` and makes it durable: after this returns, a
/// crash leaves the complete new file under `to`; before it, the old state.
pub fn publish(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)?;
    if let Some(dir) = to.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Removes a file if it is there.
pub fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Bytes available to an unprivileged writer on the filesystem of `path`.
pub fn available_bytes(path: &Path) -> io::Result<u64> {
    let st = nix::sys::statvfs::statvfs(path).map_err(io::Error::from)?;
    Ok(st.blocks_available() as u64 * st.fragment_size() as u64)
}

/// Space on the filesystem of `path`, as `df` shows it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DiskUsage {
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub available_bytes: u64,
    /// `df`'s Use%: used / (used + available), blocks reserved for root excluded.
    pub used_percent: f64,
}

pub fn disk_usage(path: &Path) -> io::Result<DiskUsage> {
    let st = nix::sys::statvfs::statvfs(path).map_err(io::Error::from)?;
    let unit = st.fragment_size() as u64;
    let total = st.blocks() as u64 * unit;
    let used = total.saturating_sub(st.blocks_free() as u64 * unit);
    let available = st.blocks_available() as u64 * unit;
    Ok(DiskUsage {
        total_bytes: total,
        used_bytes: used,
        available_bytes: available,
        used_percent: used as f64 * 100.0 / (used + available).max(1) as f64,
    })
}

/// Total and used bytes of the filesystem of `path`.
pub fn filesystem_usage(path: &Path) -> io::Result<(u64, u64)> {
    let st = nix::sys::statvfs::statvfs(path).map_err(io::Error::from)?;
    let total = st.blocks() as u64 * st.fragment_size() as u64;
    let free = st.blocks_free() as u64 * st.fragment_size() as u64;
    Ok((total, total.saturating_sub(free)))
}

/// `12.5 MB`, `3.2 GB`: sizes as the guide prints them, in units of 1024
/// (its §4.3 example shows 20971520 bytes as `20 MB`).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else if value >= 100.0 || value.fract() < 0.05 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_the_guide() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(20_971_520), "20 MB");
        assert_eq!(human_size(10_485_760), "10 MB");
        assert_eq!(human_size(13_107_200), "12.5 MB");
        assert_eq!(human_size(3_435_973_837), "3.2 GB");
    }

    #[test]
    fn private_files_and_folders_get_owner_only_modes() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        create_private_dir(&sub).unwrap();
        assert_eq!(
            fs::metadata(&sub).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let file = sub.join("f");
        create_private_file(&file).unwrap();
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(create_private_file(&file).is_err(), "never overwrites");
    }
}
