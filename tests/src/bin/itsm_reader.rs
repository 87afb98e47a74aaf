//! `itsm-reader <db_path>`: plays an ITSM application that keeps its
//! database open and reads it, for the end-to-end tests that prove a restore
//! into the live database never shows a reader half of it and leaves open
//! connections working.
//!
//! It opens the existing database once (busy timeout 5 s) and keeps that one
//! connection for its whole life. Back to back, it runs read transactions
//! (`BEGIN`, three counts, `COMMIT`, with cached prepared statements) and
//! remembers each distinct state it saw: the numbers of incidents, changes
//! and audit logs. SQLite errors are counted, the first one kept.
//!
//! On stdout it prints one JSON line once the first read is done, then one
//! per `report` line read on stdin, and a last one at end of input:
//! `{"reads": N, "errors": M, "first_error": "..." | null,
//!   "current": [incidents, changes, audit_logs] | null,
//!   "states": [[incidents, changes, audit_logs], ...]}`,
//! where `current` is a fresh read made for the report.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::sync::mpsc::{self, TryRecvError};
use std::time::Duration;

use anyhow::{Context, bail};
use rusqlite::{Connection, OpenFlags};

type State = [i64; 3];

#[derive(Default)]
struct Reader {
    reads: u64,
    errors: u64,
    first_error: Option<String>,
    states: BTreeSet<State>,
}

impl Reader {
    fn read(&mut self, conn: &Connection) -> Option<State> {
        match read_state(conn) {
            Ok(state) => {
                self.reads += 1;
                self.states.insert(state);
                Some(state)
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                self.errors += 1;
                if self.first_error.is_none() {
                    eprintln!("itsm-reader: read failed: {e}");
                    self.first_error = Some(e.to_string());
                }
                std::thread::sleep(Duration::from_millis(1));
                None
            }
        }
    }

    fn report(&mut self, conn: &Connection) {
        let current = self.read(conn);
        let line = serde_json::json!({
            "reads": self.reads,
            "errors": self.errors,
            "first_error": self.first_error,
            "current": current,
            "states": self.states,
        });
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// One read transaction of three statements: a consistent view shows the
/// three counts of one state.
fn read_state(conn: &Connection) -> rusqlite::Result<State> {
    conn.execute_batch("BEGIN")?;
    let mut state = [0; 3];
    for (i, table) in ["incidents", "changes", "audit_logs"].iter().enumerate() {
        state[i] = conn
            .prepare_cached(&format!("SELECT COUNT(*) FROM {table}"))?
            .query_row([], |r| r.get(0))?;
    }
    conn.execute_batch("COMMIT")?;
    Ok(state)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [db_path] = args.as_slice() else {
        bail!("usage: itsm-reader <db_path>");
    };
    let conn = Connection::open_with_flags(
        db_path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening {db_path}"))?;
    conn.busy_timeout(Duration::from_secs(5))?;

    let (commands, incoming) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if commands.send(line).is_err() {
                break;
            }
        }
    });
    let mut reader = Reader::default();
    reader.report(&conn);
    loop {
        match incoming.try_recv() {
            Ok(line) if line.trim() == "report" => reader.report(&conn),
            Ok(_) => {}
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                reader.read(&conn);
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
    reader.report(&conn);
    Ok(())
}
