#![forbid(unsafe_code)]
//! End-to-end test harness: starts the real `nexus-api` and `nexus-worker`
//! processes on loopback with a temporary folder (catalog, queue, backup
//! root, a generated ITSM database) and talks to them over HTTP.
//!
//! The binaries are the ones `cargo build --workspace` put beside this test
//! binary (`make test` builds them first).

pub mod browser;

pub mod prom;
pub mod s3;
pub mod smtp;
pub mod tmpfs;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::{Value, json};
use tempfile::TempDir;

pub use reqwest;

/// A JWT secret known to the tests, so they can forge and expire tokens.
pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

/// Where cargo put the workspace binaries.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` first (make test does)",
        path.display()
    );
    path
}

pub struct TestAppBuilder {
    db_size_mb: u64,
    extra_env: Vec<(String, String)>,
    start_worker: bool,
}

impl TestAppBuilder {
    /// Size of the generated ITSM database.
    pub fn db_size_mb(mut self, mb: u64) -> Self {
        self.db_size_mb = mb;
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.extra_env.push((name.into(), value.into()));
        self
    }

    /// Start without a worker (the test starts it later).
    pub fn without_worker(mut self) -> Self {
        self.start_worker = false;
        self
    }

    pub fn spawn(self) -> TestApp {
        nexus_shared::crypto::install();
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = dir.path().join("itsm_nexus.db");
        if self.db_size_mb > 0 {
            nexus_shared::demo::generate(&db_path, self.db_size_mb * 1_000_000)
                .expect("generate the ITSM database");
        }
        let mut env: HashMap<String, String> = [
            ("NEXUS_DATA_DIR", dir.path().join("data")),
            ("NEXUS_DB_PATH", db_path.clone()),
            ("NEXUS_BACKUP_ROOT", dir.path().join("backups")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.display().to_string()))
        .collect();
        for (k, v) in [
            ("NEXUS_LISTEN", "127.0.0.1:0"),
            ("NEXUS_JWT_SECRET", JWT_SECRET),
            ("NEXUS_QUEUE_HEARTBEAT_SECS", "1"),
            ("NEXUS_QUEUE_POLL_MS", "100"),
            ("RUST_LOG", "info"),
            // Real schedules off, so no test meets a slot by chance (a
            // disk check at the top of the hour); tests that need one set it.
            ("NEXUS_SCHEDULE_DAILY", "off"),
            ("NEXUS_SCHEDULE_WEEKLY", "off"),
            ("NEXUS_SCHEDULE_MONTHLY", "off"),
            ("NEXUS_SCHEDULE_VERIFY_ALL", "off"),
            ("NEXUS_SCHEDULE_PRUNE_DAILY", "off"),
            ("NEXUS_SCHEDULE_PRUNE_WEEKLY", "off"),
            ("NEXUS_SCHEDULE_PRUNE_MONTHLY", "off"),
            ("NEXUS_SCHEDULE_RECONCILE", "off"),
            ("NEXUS_SCHEDULE_DISK_CHECK", "off"),
        ] {
            env.insert(k.into(), v.into());
        }
        env.extend(self.extra_env);
        let mut app = TestApp {
            dir,
            db_path,
            env,
            base_url: String::new(),
            admin_password: String::new(),
            api: None,
            worker: None,
            client: Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
        };
        app.start_api();
        if self.start_worker {
            app.start_worker();
        }
        app
    }
}

pub struct TestApp {
    pub dir: TempDir,
    pub db_path: PathBuf,
    pub env: HashMap<String, String>,
    pub base_url: String,
    /// The generated first-admin password the API printed.
    pub admin_password: String,
    api: Option<Child>,
    worker: Option<Child>,
    client: Client,
}

/// Starts a process and waits for a line containing `ready_marker` on its
/// stdout. Its log (stderr) goes to `log`, or to the terminal with TEST_LOG.
fn start_and_wait(mut command: Command, ready_marker: &str, log: &Path) -> (Child, Vec<String>) {
    let log_to_terminal = std::env::var_os("TEST_LOG").is_some();
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if log_to_terminal {
            Stdio::inherit()
        } else {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .expect("log file");
            Stdio::from(file)
        });
    let mut child = command.spawn().expect("spawn process");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    let marker = ready_marker.to_owned();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            lines.push(line.clone());
            if !sent && line.contains(&marker) {
                let _ = tx.send(lines.clone());
                sent = true;
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(lines) => (child, lines),
        Err(_) => {
            let _ = child.kill();
            panic!("process did not print {ready_marker:?} within 120 s");
        }
    }
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            db_size_mb: 3,
            extra_env: Vec::new(),
            start_worker: true,
        }
    }

    /// An app with a small database and a running worker.
    pub fn spawn() -> TestApp {
        TestApp::builder().spawn()
    }

    fn command(&self, binary_name: &str) -> Command {
        let mut c = Command::new(binary(binary_name));
        c.env_clear()
            .envs(&self.env)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(self.dir.path());
        c
    }

    fn start_api(&mut self) {
        let log = self.dir.path().join("api.log");
        let (child, lines) = start_and_wait(self.command("nexus-api"), "listening on ", &log);
        let listening = lines.last().expect("a line");
        self.base_url = listening
            .split("listening on ")
            .nth(1)
            .expect("address")
            .trim()
            .to_owned();
        if let Some(line) = lines.iter().find(|l| l.contains("password: ")) {
            self.admin_password = line.split("password: ").nth(1).unwrap().trim().to_owned();
        }
        self.api = Some(child);
    }

    pub fn start_worker(&mut self) {
        self.start_worker_with_args(&[]);
    }

    /// Starts the app's worker with command-line arguments, e.g.
    /// `--no-scheduler`.
    pub fn start_worker_with_args(&mut self, args: &[&str]) {
        assert!(self.worker.is_none(), "a worker is already running");
        let mut command = self.command("nexus-worker");
        command.args(args);
        let (child, _) = start_and_wait(
            command,
            "nexus-worker ready",
            &self.dir.path().join("worker.log"),
        );
        self.worker = Some(child);
    }

    /// Starts one more `nexus-worker` beside the app's own (a second
    /// scheduler, a second consumer); it is killed when the guard drops.
    pub fn spawn_worker(&self, args: &[&str]) -> ExtraWorker {
        let mut command = self.command("nexus-worker");
        command.args(args);
        let log = self.dir.path().join("worker-extra.log");
        ExtraWorker(Some(start_and_wait(command, "nexus-worker ready", &log).0))
    }

    /// The process ids of the app's api and worker, while they run.
    pub fn pids(&self) -> (Option<u32>, Option<u32>) {
        (
            self.api.as_ref().map(Child::id),
            self.worker.as_ref().map(Child::id),
        )
    }

    /// SIGKILL: the worker dies at once, mid-job if it has one.
    pub fn kill_worker(&mut self) {
        let mut child = self.worker.take().expect("a running worker");
        child.kill().expect("kill worker");
        child.wait().expect("reap worker");
    }

    /// SIGTERM, then waits for the worker to exit; returns its exit status.
    pub fn stop_worker(&mut self) -> std::process::ExitStatus {
        let mut child = self.worker.take().expect("a running worker");
        signal(&child, nix::sys::signal::Signal::SIGTERM);
        child.wait().expect("reap worker")
    }

    /// Everything the api and the workers logged so far.
    pub fn logs(&self) -> String {
        ["api.log", "worker.log", "worker-extra.log"]
            .iter()
            .filter_map(|name| std::fs::read_to_string(self.dir.path().join(name)).ok())
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn backup_root(&self) -> PathBuf {
        self.dir.path().join("backups")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn catalog(&self) -> nexus_shared::catalog::Catalog {
        nexus_shared::catalog::Catalog::open(&self.data_dir().join("catalog.db")).expect("catalog")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Logs in; returns the status and the body.
    pub fn login(&self, username: &str, password: &str) -> (StatusCode, Value) {
        let r = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .expect("login request");
        (r.status(), r.json().unwrap_or(Value::Null))
    }

    /// A token of the first admin.
    pub fn admin_token(&self) -> String {
        let (status, body) = self.login("admin", &self.admin_password);
        assert_eq!(status, StatusCode::OK, "admin login: {body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Creates a user straight in the catalog and returns a token for them.
    pub fn token_for_new_user(&self, username: &str, role: nexus_shared::domain::Role) -> String {
        let password = "a-long-enough-password";
        let hash = nexus_shared::password::hash(password).unwrap();
        self.catalog().create_user(username, &hash, role).unwrap();
        let (status, body) = self.login(username, password);
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub fn post_backup(&self, token: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .client
            .post(self.url("/api/v1/backups"))
            .bearer_auth(token)
            .json(body)
            .send()
            .expect("post backup");
        (r.status(), r.json().unwrap_or(Value::Null))
    }

    pub fn get_json(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let r = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .expect("get");
        (r.status(), r.json().unwrap_or(Value::Null))
    }

    pub fn get_backup(&self, token: &str, id: &str) -> Value {
        let (status, body) = self.get_json(token, &format!("/api/v1/backups/{id}"));
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Polls the backup until it is no longer `in_progress`.
    pub fn wait_until_terminal(&self, token: &str, id: &str, timeout: Duration) -> Value {
        self.wait_for_backup(token, id, timeout, |b| b["status"] != "in_progress")
    }

    /// Polls the backup until `done` holds for it.
    pub fn wait_for_backup(
        &self,
        token: &str,
        id: &str,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let what = format!("backup {id} to reach the expected state");
        self.eventually(&what, timeout, Duration::from_millis(50), || {
            let backup = self.get_backup(token, id);
            if done(&backup) {
                Ok(backup)
            } else {
                Err(backup.to_string())
            }
        })
    }

    /// [`eventually`], with the app's logs in the failure.
    pub fn eventually<T>(
        &self,
        what: &str,
        limit: Duration,
        every: Duration,
        poll: impl FnMut() -> Result<T, String>,
    ) -> T {
        wait(what, limit, every, poll, || self.logs())
    }
}

/// Calls `poll` every `every` until it gives a value (`Err` carries what
/// it saw instead). After `limit` the test fails, saying what it waited
/// for and the last thing `poll` saw.
pub fn eventually<T>(
    what: &str,
    limit: Duration,
    every: Duration,
    poll: impl FnMut() -> Result<T, String>,
) -> T {
    wait(what, limit, every, poll, String::new)
}

fn wait<T>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut poll: impl FnMut() -> Result<T, String>,
    logs: impl FnOnce() -> String,
) -> T {
    let start = Instant::now();
    loop {
        match poll() {
            Ok(value) => return value,
            Err(seen) if start.elapsed() >= limit => {
                panic!("waited {limit:?} for {what}; last seen: {seen}\n{}", logs())
            }
            Err(_) => std::thread::sleep(every),
        }
    }
}

fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, sig);
}

/// A worker process started by [`TestApp::spawn_worker`].
pub struct ExtraWorker(Option<Child>);

impl ExtraWorker {
    /// SIGKILL, and waits for it to die.
    pub fn kill(mut self) {
        if let Some(mut child) = self.0.take() {
            child.kill().expect("kill worker");
            child.wait().expect("reap worker");
        }
    }

    /// SIGTERM, then waits for the worker to exit; returns its exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let mut child = self.0.take().expect("a running worker");
        signal(&child, nix::sys::signal::Signal::SIGTERM);
        child.wait().expect("reap worker")
    }
}

impl Drop for ExtraWorker {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        for child in [self.worker.take(), self.api.take()].into_iter().flatten() {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Decompresses a `.db.gz` into `dest`, failing on any gzip error.
pub fn gunzip_to(src: &Path, dest: &Path) {
    let mut decoder = flate2::read::MultiGzDecoder::new(std::fs::File::open(src).unwrap());
    let mut out = std::fs::File::create(dest).unwrap();
    std::io::copy(&mut decoder, &mut out).expect("the backup decompresses");
}

/// Rows in a table of a SQLite file.
pub fn count_rows(db: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

/// `PRAGMA integrity_check` of a SQLite file.
pub fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// Output of a shell tool, with its exit status.
pub fn run_tool(program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program).args(args).output().expect("run tool");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}
