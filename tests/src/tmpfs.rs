//! A small real filesystem (tmpfs) for the tests that need a disk to fill
//! up. Mounting needs root, as CI runs; a test that cannot mount one fails
//! and says why: it never passes without having run.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// A mounted tmpfs, unmounted when dropped.
pub struct Tmpfs {
    path: PathBuf,
    /// The folder it is mounted on, when the tmpfs made it.
    _dir: Option<TempDir>,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`16m`, `300m`) on a new temporary folder.
    pub fn new(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut tmpfs = Tmpfs::mount(dir.path(), size);
        tmpfs._dir = Some(dir);
        tmpfs
    }

    /// Mounts a tmpfs of `size` on `path` (made if missing).
    pub fn mount(path: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(path).expect("create the mount point");
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(path)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "cannot mount a tmpfs on {} (the test needs root, as CI runs): {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs {
            path: path.to_path_buf(),
            _dir: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Grows a filler file until the filesystem is `percent` full.
    pub fn fill_to(&self, percent: f64) {
        let usage = nexus_shared::fsutil::disk_usage(&self.path).unwrap();
        let filler = self.path.join("filler");
        let current = std::fs::metadata(&filler).map(|m| m.len()).unwrap_or(0);
        let others = usage.used_bytes - current;
        let wanted = (usage.total_bytes as f64 * percent / 100.0) as u64 - others;
        std::fs::write(&filler, vec![0x5a; wanted as usize]).unwrap();
    }

    /// Fills what is left with `dd` until it says the disk is full, as an
    /// operator's runaway log would; returns the filler's path.
    pub fn fill_up(&self) -> PathBuf {
        let filler = self.path.join("filler");
        let out = Command::new("dd")
            .arg("if=/dev/zero")
            .arg(format!("of={}", filler.display()))
            .args(["bs=1M", "status=none"])
            .output()
            .expect("run dd");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && said.contains("No space left"),
            "dd should stop at a full disk: {said}"
        );
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}
