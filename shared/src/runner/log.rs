//! The guide's §4.2 log lines of a backup, from the engine's events: the
//! same lines whether the backup runs here or the CLI follows a worker.

use crate::domain::Phase;
use crate::engine::{EngineError, Event, Observer};
use crate::fsutil::human_size;

/// An observer that writes the guide's §4.2 log lines through `tracing`.
pub struct LogLines;

impl Observer for LogLines {
    fn event(&mut self, event: Event<'_>) -> Result<(), EngineError> {
        for line in log_lines(&event) {
            tracing::info!("{line}");
        }
        Ok(())
    }
}

/// The guide's §4.2 log lines for an engine event (often none).
pub fn log_lines(event: &Event<'_>) -> Vec<String> {
    let line = match event {
        Event::Preflight(p) => {
            return vec![
                format!("Database size: {}", human_size(p.database_bytes)),
                format!("Available disk space: {}", human_size(p.available_bytes)),
            ];
        }
        Event::PhaseStarted(Phase::Snapshot) => "Creating backup...".into(),
        Event::SnapshotTaken { path, .. } => format!("Backup created: {}", path.display()),
        Event::PhaseStarted(Phase::IntegrityCheck) => "Running integrity check...".into(),
        Event::IntegrityOk => "Integrity check: OK".into(),
        Event::PhaseStarted(Phase::Compress) => "Compressing backup...".into(),
        Event::Compressed { from, to } => {
            format!(
                "Compression complete ({} -> {})",
                human_size(*from),
                human_size(*to)
            )
        }
        _ => return Vec::new(),
    };
    vec![line]
}
