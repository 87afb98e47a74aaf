//! A real S3-compatible server on loopback (`s3s-fs`, from crates.io:
//! `cargo install s3s-fs --version 0.14.1 --features binary`, which
//! `.ci/run` does), storing objects as files under a temp folder, so that
//! tests can see what the bucket holds and stop and start the server.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub const ACCESS_KEY: &str = "nexus-test-access";
pub const SECRET_KEY: &str = "nexus-test-secret-0123456789";
pub const BUCKET: &str = "itsm-offsite";

pub struct S3Server {
    pub port: u16,
    root: TempDir,
    child: Option<Child>,
}

/// Where `s3s-fs` is: `$NEXUS_S3S_FS`, else on the PATH, else in `~/.cargo/bin`.
fn s3s_fs() -> PathBuf {
    if let Some(path) = std::env::var_os("NEXUS_S3S_FS") {
        return path.into();
    }
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin")));
    for dir in candidates {
        let path = dir.join("s3s-fs");
        if path.is_file() {
            return path;
        }
    }
    panic!(
        "s3s-fs is not installed: run `cargo install s3s-fs --version 0.14.1 --features binary` (.ci/run does)"
    );
}

impl S3Server {
    /// Starts the server with an empty bucket [`BUCKET`].
    pub fn start() -> S3Server {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(root.path().join(BUCKET)).expect("create the bucket");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = S3Server {
            port,
            root,
            child: None,
        };
        server.resume();
        server
    }

    /// Starts the server again on the same port and folder.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "the S3 server is already running");
        let child = Command::new(s3s_fs())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(self.root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        self.child = Some(child);
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "s3s-fs did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server (SIGKILL), as a crash or a lost network would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The settings that point the service at this bucket under `prefix`.
    pub fn env(&self, prefix: &str) -> Vec<(&'static str, String)> {
        vec![
            ("NEXUS_OFFSITE_BUCKET", BUCKET.into()),
            ("NEXUS_OFFSITE_ENDPOINT", self.endpoint()),
            ("NEXUS_OFFSITE_REGION", "us-east-1".into()),
            ("NEXUS_OFFSITE_PREFIX", prefix.into()),
            ("NEXUS_OFFSITE_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("NEXUS_OFFSITE_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("NEXUS_OFFSITE_ALLOW_HTTP", "true".into()),
        ]
    }

    /// Parts of multipart uploads the server holds (in progress or left
    /// by an upload that was cut off).
    pub fn upload_parts(&self) -> usize {
        std::fs::read_dir(self.root.path())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".part-"))
            .count()
    }

    /// The file holding the object `key`.
    pub fn object_path(&self, key: &str) -> PathBuf {
        self.root.path().join(BUCKET).join(key)
    }

    /// Keys of the objects in the bucket, sorted.
    pub fn objects(&self) -> Vec<String> {
        fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, base, out);
                } else {
                    out.push(
                        path.strip_prefix(base)
                            .unwrap()
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
            }
        }
        let bucket = self.root.path().join(BUCKET);
        let mut keys = Vec::new();
        walk(&bucket, &bucket, &mut keys);
        keys.sort();
        keys
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.kill();
    }
}
