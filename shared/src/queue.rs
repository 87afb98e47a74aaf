//! The job queue: apalis-sqlite in `<data_dir>/queue.db`. The API and the
//! scheduler push jobs; the worker drains them. The catalog stays the
//! record of what happened; the queue only says what is left to do.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskId, TaskSink};
use apalis_sqlite::{Config, SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteStorage};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::domain::{BackupId, BackupType};
use crate::settings::QueueSettings;

/// The one queue every job kind shares.
pub const QUEUE_NAME: &str = "nexus-jobs";

/// A unit of work for the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    Backup {
        backup_id: BackupId,
    },
    /// Runs the integrity check `check_id` the API recorded for `backup_id`.
    Verify {
        check_id: crate::domain::CheckId,
        backup_id: BackupId,
    },
    /// Verifies every successful backup, one after another (SPEC §4).
    /// `requested_by` is a username, or `scheduler`.
    VerifyAll {
        requested_by: String,
    },
    /// Removes the expired backups of these types (SPEC §2 retention).
    Prune {
        backup_types: Vec<BackupType>,
        /// A username, or `scheduler`.
        requested_by: String,
    },
    /// Compares the backup folder with the catalog and stores the report.
    Reconcile {
        requested_by: String,
    },
    /// Runs the restore the API recorded (SPEC §6), with its safety backup.
    Restore {
        restore_id: crate::domain::RestoreId,
    },
    /// Mail an alert to the operators.
    Alert {
        alert: crate::alert::Alert,
    },
    /// Check the backup filesystem's usage and act on its level.
    DiskCheck {
        requested_by: String,
    },
    /// Copy a successful backup to the offsite bucket and check the copy.
    Offsite {
        backup_id: BackupId,
    },
    /// Read the offsite copy back and run the checks on it.
    OffsiteCheck {
        backup_id: BackupId,
        requested_by: String,
    },
}

impl Job {
    pub fn kind(&self) -> &'static str {
        match self {
            Job::Backup { .. } => "backup",
            Job::Verify { .. } => "verify",
            Job::VerifyAll { .. } => "verify_all",
            Job::Prune { .. } => "prune",
            Job::Reconcile { .. } => "reconcile",
            Job::Restore { .. } => "restore",
            Job::Alert { .. } => "alert",
            Job::DiskCheck { .. } => "disk_check",
            Job::Offsite { .. } => "offsite",
            Job::OffsiteCheck { .. } => "offsite_check",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("queue database error: {0}")]
    Sqlx(#[from] apalis_sqlite::SqlxError),
    #[error("queue error: {0}")]
    Apalis(String),
    #[error("queue folder error: {0}")]
    Io(#[from] std::io::Error),
}

/// Where a job stands in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobState {
    /// apalis' status: Pending, Queued, Running, Done, Failed or Killed.
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_result: Option<String>,
}

impl JobState {
    /// Nothing will run this job again.
    pub fn is_terminal(&self) -> bool {
        match self.status.as_str() {
            "Done" | "Killed" => true,
            "Failed" => self.attempts >= self.max_attempts,
            _ => false,
        }
    }
}

/// How many jobs of one kind are in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCount {
    pub kind: String,
    pub state: String,
    pub jobs: u64,
}

#[derive(Clone)]
pub struct Queue {
    pool: SqlitePool,
    settings: QueueSettings,
    /// This process's pushes take turns (tokio's mutex is first come,
    /// first served) rather than meeting in SQLite's busy handler.
    pushing: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").finish_non_exhaustive()
    }
}

impl Queue {
    /// Opens (creating if needed) the queue database and applies apalis'
    /// migrations. Setup may meet SQLITE_BUSY when several processes start
    /// at once, so it is retried.
    pub async fn open(path: &Path, settings: &QueueSettings) -> Result<Queue, QueueError> {
        if let Some(dir) = path.parent() {
            crate::fsutil::create_private_dir(dir)?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .busy_timeout(Duration::from_secs(15));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        let mut delay = Duration::from_millis(50);
        for attempt in 1.. {
            match SqliteStorage::setup(&pool).await {
                Ok(()) => break,
                Err(e) if attempt < 8 => {
                    tracing::debug!(error = %e, attempt, "queue setup busy, retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(e) => return Err(QueueError::Apalis(e.to_string())),
            }
        }
        crate::fsutil::restrict_file(path)?;
        Ok(Queue {
            pool,
            settings: settings.clone(),
            pushing: Default::default(),
        })
    }

    /// The apalis storage the worker consumes and producers push to.
    pub fn storage(&self) -> SqliteStorage<Job> {
        SqliteStorage::new(&self.pool).with_config(
            Config::default()
                .queue(QUEUE_NAME)
                .batch_size(1)
                .heartbeat_interval(Duration::from_secs(self.settings.heartbeat_secs))
                .missed_heartbeats(self.settings.missed_heartbeats as usize),
        )
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Enqueues a job and returns its id. With an idempotency key, a second
    /// push of the same key is a no-op (and returns the first job's id).
    pub async fn push(
        &self,
        job: Job,
        idempotency_key: Option<&str>,
    ) -> Result<String, QueueError> {
        let id = Ulid::generate();
        let mut builder = TaskBuilder::new(job)
            .task_id(TaskId::from_ulid(id))
            .max_attempts(self.settings.max_attempts.max(1) as usize);
        if let Some(key) = idempotency_key {
            builder = builder.idempotency_key(key);
        }
        let _turn = self.pushing.lock().await;
        self.storage()
            .push_task(builder.build())
            .await
            .map_err(|e| QueueError::Apalis(e.to_string()))?;
        match idempotency_key {
            None => Ok(id.to_string()),
            Some(key) => Ok(sqlx::query_scalar::<_, String>(
                "SELECT id FROM Jobs WHERE job_type = ?1 AND idempotency_key = ?2",
            )
            .bind(QUEUE_NAME)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?
            .unwrap_or_else(|| id.to_string())),
        }
    }

    /// How long a worker may be silent before it counts as gone: the
    /// heartbeats it may miss, and a second's grace.
    pub fn worker_silence(&self) -> Duration {
        let q = &self.settings;
        Duration::from_secs(q.heartbeat_secs * u64::from(q.missed_heartbeats) + 1)
    }

    /// Workers of this queue alive now (heard from within [`Self::worker_silence`]).
    pub async fn workers_alive(&self) -> Result<u64, QueueError> {
        self.live_workers(self.worker_silence()).await
    }

    /// Jobs of this queue per kind and state, for `GET /metrics`. A failed
    /// job with attempts left is `retrying`; other states are apalis'
    /// status in lower case (`pending`, `queued`, `running`, `done`,
    /// `failed`, `killed`).
    pub async fn job_counts(&self) -> Result<Vec<JobCount>, QueueError> {
        // apalis keeps each job as its JSON encoding in a BLOB.
        let rows: Vec<(Option<String>, String, i64)> = sqlx::query_as(
            "SELECT json_extract(CAST(job AS TEXT), '$.kind'),
                    CASE WHEN status = 'Failed' AND attempts < max_attempts THEN 'retrying'
                         ELSE lower(status) END,
                    COUNT(*)
             FROM Jobs WHERE job_type = ?1 GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .bind(QUEUE_NAME)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(kind, state, jobs)| JobCount {
                kind: kind.unwrap_or_else(|| "unknown".into()),
                state,
                jobs: jobs.max(0) as u64,
            })
            .collect())
    }

    /// Workers of this queue that proved alive within `within`.
    pub async fn live_workers(&self, within: Duration) -> Result<u64, QueueError> {
        let since = chrono::Utc::now().timestamp() - within.as_secs() as i64;
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM Workers WHERE worker_type = ?1 AND last_seen >= ?2",
        )
        .bind(QUEUE_NAME)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(n.max(0) as u64)
    }

    /// Jobs waiting or running.
    pub async fn pending_jobs(&self) -> Result<u64, QueueError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM Jobs WHERE job_type = ?1
             AND (status IN ('Pending', 'Queued', 'Running') OR (status = 'Failed' AND attempts < max_attempts))",
        )
        .bind(QUEUE_NAME)
        .fetch_one(&self.pool)
        .await?;
        Ok(n.max(0) as u64)
    }

    /// The job's state, or `None` if the queue has no such job.
    pub async fn job_state(&self, job_id: &str) -> Result<Option<JobState>, QueueError> {
        let row: Option<(String, i64, i64, Option<String>)> = sqlx::query_as(
            "SELECT status, attempts, max_attempts, last_result FROM Jobs WHERE id = ?1",
        )
        .bind(job_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(
            row.map(|(status, attempts, max_attempts, last_result)| JobState {
                status,
                attempts,
                max_attempts,
                last_result,
            }),
        )
    }
}
