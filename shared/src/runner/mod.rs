//! Orchestration: each kind of run (a backup, a restore of the live
//! database, a verification) in one place. A runner claims its record with
//! a lease ([`lease`]), has the engine do the file work, records progress
//! and the outcome in the catalog and audits it. The worker's jobs and the
//! CLI's commands are thin adapters: they run a runner on a blocking thread
//! and deliver the alert of a failed run (the worker mails it, the CLI
//! queues it for a worker).

mod backup;
mod lease;
mod log;
pub mod restore;
mod verification;

pub use backup::BackupRunner;
pub use lease::LeaseKeeper;
pub use log::{LogLines, log_lines};
pub use restore::RestoreRunner;
pub use verification::{VerificationRunner, Verified};

use crate::alert::Alert;
use crate::catalog::{AuditEntry, AuditResult, AuditSource, Catalog};
use crate::domain::ErrorInfo;

/// How a run ended, for every kind of run.
#[derive(Debug)]
pub enum Outcome<T> {
    /// It ran to its end; the result is recorded.
    Succeeded(T),
    /// It ran and failed; the failure is recorded and audited.
    Failed(Failure),
    /// Nothing to do: it had already ended, with this status.
    AlreadyFinished(String),
    /// Another runner holds a live lease on it.
    HeldElsewhere { owner: String },
    /// The lease was lost mid-way (before anything irreversible); the
    /// runner that took it over finishes.
    HandedOver(String),
}

/// A recorded failure and the alert to send about it.
#[derive(Debug)]
pub struct Failure {
    pub error: ErrorInfo,
    pub alert: Alert,
}

/// An audit entry of a run: its actor is the process (`worker`), or the
/// operating-system user when the CLI runs it.
fn audit_entry(source: AuditSource, action: &'static str, result: AuditResult) -> AuditEntry {
    let entry = AuditEntry::system(source, action, result);
    match source {
        AuditSource::Cli => AuditEntry {
            actor: crate::os_user(),
            ..entry
        },
        _ => entry,
    }
}

/// Appends `entry`. A failure to write is logged: the run's outcome stands.
fn audit(catalog: &Catalog, entry: AuditEntry) {
    if let Err(e) = catalog.append_audit(&entry) {
        tracing::error!(error = %e, "cannot write the audit log");
    }
}
