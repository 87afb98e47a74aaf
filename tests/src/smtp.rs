//! A real SMTP server on loopback (aiosmtpd, `tests/smtp/smtp_sink.py`)
//! that saves what it receives, for the alert tests.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

/// How often the waits look at the mailbox.
const POLL: Duration = Duration::from_millis(100);

pub struct SmtpSink {
    pub port: u16,
    dir: TempDir,
    child: Child,
}

impl SmtpSink {
    /// Starts the server; with `auth` ("user:password") it refuses mail
    /// from clients that do not log in with those.
    pub fn start(auth: Option<&str>) -> SmtpSink {
        let dir = tempfile::tempdir().expect("temp dir");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("smtp/smtp_sink.py");
        let mut command = Command::new("python3");
        command.arg(&script).arg(dir.path());
        if let Some(auth) = auth {
            command.arg("--auth").arg(auth);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 must be installed to run the SMTP server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read the SMTP server's port");
        let port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| {
                panic!("the SMTP server did not start ({line:?}): run `pip install aiosmtpd` (.ci/run does)")
            });
        SmtpSink { port, dir, child }
    }

    /// Messages received so far, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        let mut paths: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }

    /// Waits until a message for which `wanted` holds arrived; returns
    /// those that match.
    pub fn wait_for_matching(
        &self,
        timeout: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        crate::eventually("a matching mail", timeout, POLL, || {
            let messages = self.messages();
            let matching: Vec<Value> = messages.iter().filter(|m| wanted(m)).cloned().collect();
            if matching.is_empty() {
                Err(format!("{messages:#?}"))
            } else {
                Ok(matching)
            }
        })
    }

    /// Waits until at least `n` messages arrived.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Value> {
        crate::eventually(&format!("{n} mail(s)"), timeout, POLL, || {
            let messages = self.messages();
            if messages.len() >= n {
                Ok(messages)
            } else {
                Err(format!("{} mail(s)", messages.len()))
            }
        })
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
