//! Alerts (SPEC §7): what happened, rendered as a mail in Japanese with the
//! English below, and sent over SMTP by [`mail::Mailer`].

pub mod disk;
pub mod mail;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use disk::LevelTexts as _;

/// Something an operator must hear about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Alert {
    BackupFailed {
        backup_id: String,
        code: String,
        message: String,
        at: DateTime<Utc>,
    },
    VerificationFailed {
        backup_id: String,
        check_id: String,
        failed_checks: Vec<String>,
        at: DateTime<Utc>,
    },
    RestoreFailed {
        restore_id: String,
        backup_id: String,
        code: String,
        message: String,
        at: DateTime<Utc>,
    },
    DiskLevel {
        level: crate::domain::DiskLevel,
        used_percent: f64,
        used_bytes: u64,
        total_bytes: u64,
        /// What the service did about it (pruned backups, paused schedules).
        actions: Vec<String>,
        reminder: bool,
        at: DateTime<Utc>,
    },
    Test {
        requested_by: String,
        at: DateTime<Utc>,
    },
    /// The offsite copy of a backup could not be made or failed its check.
    /// The local backup is untouched.
    OffsiteFailed {
        backup_id: String,
        code: String,
        message: String,
        at: DateTime<Utc>,
    },
}

impl Alert {
    /// The alert for a backup that failed, as its failure was recorded.
    pub fn backup_failed(
        backup_id: &crate::domain::BackupId,
        error: &crate::domain::ErrorInfo,
    ) -> Alert {
        Alert::BackupFailed {
            backup_id: backup_id.to_string(),
            code: error.code.clone(),
            message: error.message.clone(),
            at: Utc::now(),
        }
    }
}

/// A rendered mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

impl Alert {
    pub fn kind(&self) -> &'static str {
        match self {
            Alert::BackupFailed { .. } => "backup_failed",
            Alert::VerificationFailed { .. } => "verification_failed",
            Alert::RestoreFailed { .. } => "restore_failed",
            Alert::DiskLevel { .. } => "disk_level",
            Alert::Test { .. } => "test",
            Alert::OffsiteFailed { .. } => "offsite_failed",
        }
    }

    /// Subject and body, Japanese first, English below.
    pub fn render(&self, tz: Tz, host: &str) -> Rendered {
        let time = |t: &DateTime<Utc>| {
            t.with_timezone(&tz)
                .format("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        };
        let (subject, ja, en) = match self {
            Alert::BackupFailed {
                backup_id,
                code,
                message,
                at,
            } if code == "database_corrupt" => (
                format!(
                    "[Nexus Backup] 緊急: 本番データベース破損 / URGENT: the live database is damaged ({backup_id})"
                ),
                format!(
                    "本番データベース（バックアップ対象の itsm_nexus.db）が破損しているため、バックアップを作成できませんでした。\n\n\
                     バックアップID: {backup_id}\n日時: {}\nエラー: {code}\n詳細: {message}\n\n\
                     対処: アプリケーションの書き込みを止め、検証に合格した最新のバックアップ（詳細に記載）から復元してください。\
                     破損したファイルは調査のため復元前に別の場所へコピーしておいてください。",
                    time(at)
                ),
                format!(
                    "The LIVE database (itsm_nexus.db, the one being backed up) is damaged, so no backup could be taken.\n\n\
                     Backup id: {backup_id}\nTime: {}\nError: {code}\nDetail: {message}\n\n\
                     What to do: stop the application's writes and restore from the newest backup that passed verification \
                     (named in the detail). Copy the damaged file aside first, for investigation.",
                    time(at)
                ),
            ),
            Alert::BackupFailed {
                backup_id,
                code,
                message,
                at,
            } => (
                format!("[Nexus Backup] バックアップ失敗 / Backup failed: {backup_id}"),
                format!(
                    "バックアップが失敗しました。\n\nバックアップID: {backup_id}\n日時: {}\nエラー: {code}\n詳細: {message}\n\n\
                     対処: エラー内容を確認し（ディスク容量・データベースの所在・権限）、原因を取り除いてから再度バックアップを実行してください。",
                    time(at)
                ),
                format!(
                    "A backup failed.\n\nBackup id: {backup_id}\nTime: {}\nError: {code}\nDetail: {message}\n\n\
                     What to do: check the error (disk space, database path, permissions), fix the cause and run the backup again.",
                    time(at)
                ),
            ),
            Alert::VerificationFailed {
                backup_id,
                check_id,
                failed_checks,
                at,
            } => (
                format!("[Nexus Backup] 整合性チェック失敗 / Verification failed: {backup_id}"),
                format!(
                    "バックアップの整合性チェックが失敗しました（FAIL）。\n\nバックアップID: {backup_id}\nチェックID: {check_id}\n日時: {}\n失敗した項目: {}\n\n\
                     対処: このバックアップは使用せず、別のバックアップを使用してください。新しいバックアップの取得を推奨します。",
                    time(at),
                    failed_checks.join(", ")
                ),
                format!(
                    "A backup failed its integrity verification.\n\nBackup id: {backup_id}\nCheck id: {check_id}\nTime: {}\nFailed checks: {}\n\n\
                     What to do: do not rely on this backup; use another one, and take a new backup.",
                    time(at),
                    failed_checks.join(", ")
                ),
            ),
            Alert::RestoreFailed {
                restore_id,
                backup_id,
                code,
                message,
                at,
            } => (
                format!("[Nexus Backup] 【緊急】リストア失敗 / Restore failed: {backup_id}"),
                format!(
                    "リストアが失敗しました。\n\nリストアID: {restore_id}\nバックアップID: {backup_id}\n日時: {}\nエラー: {code}\n詳細: {message}\n\n\
                     対処: データベースの状態を確認してください（失敗時はリストア前の状態に戻します）。",
                    time(at)
                ),
                format!(
                    "A restore failed.\n\nRestore id: {restore_id}\nBackup id: {backup_id}\nTime: {}\nError: {code}\nDetail: {message}\n\n\
                     What to do: check the database (a failed restore puts the state before it back).",
                    time(at)
                ),
            ),
            Alert::DiskLevel {
                level,
                used_percent,
                used_bytes,
                total_bytes,
                actions,
                reminder,
                at,
            } => {
                let used = crate::fsutil::human_size(*used_bytes);
                let total = crate::fsutil::human_size(*total_bytes);
                let again = if *reminder { "（継続中）" } else { "" };
                let again_en = if *reminder { " (ongoing)" } else { "" };
                let actions_ja = if actions.is_empty() {
                    "なし".to_owned()
                } else {
                    actions.join("\n  ")
                };
                let actions_en = if actions.is_empty() {
                    "none".to_owned()
                } else {
                    actions.join("\n  ")
                };
                (
                    format!(
                        "[Nexus Backup] {}ディスク使用率 {used_percent:.1}%{again} / Disk usage {}{again_en}",
                        level.subject_prefix_ja(),
                        level.as_str().to_uppercase()
                    ),
                    format!(
                        "バックアップ領域のディスク使用率が {used_percent:.1}% です（{used} / {total}）。\nレベル: {}\n日時: {}\n実施した処置:\n  {actions_ja}\n\n対処: {}",
                        level.as_str().to_uppercase(),
                        time(at),
                        level.advice_ja()
                    ),
                    format!(
                        "Disk usage of the backup storage is {used_percent:.1}% ({used} of {total}).\nLevel: {}\nTime: {}\nActions taken:\n  {actions_en}\n\nWhat to do: {}",
                        level.as_str().to_uppercase(),
                        time(at),
                        level.advice_en()
                    ),
                )
            }
            Alert::OffsiteFailed {
                backup_id,
                code,
                message,
                at,
            } => (
                format!("[Nexus Backup] オフサイト保管失敗 / Offsite copy failed: {backup_id}"),
                format!(
                    "バックアップのオフサイト保管（S3互換ストレージ）が失敗しました。ローカルのバックアップは影響を受けていません。\n\nバックアップID: {backup_id}\n日時: {}\nエラー: {code}\n詳細: {message}\n\n\
                     対処: 接続先・認証情報・暗号鍵の設定を確認し、POST /api/v1/backups/{backup_id}/offsite で再実行してください。",
                    time(at)
                ),
                format!(
                    "The offsite copy (S3-compatible bucket) of a backup failed. The local backup is unaffected.\n\nBackup id: {backup_id}\nTime: {}\nError: {code}\nDetail: {message}\n\n\
                     What to do: check the endpoint, credentials and encryption key, then run POST /api/v1/backups/{backup_id}/offsite again.",
                    time(at)
                ),
            ),
            Alert::Test { requested_by, at } => (
                "[Nexus Backup] テストメール / Test mail".to_owned(),
                format!(
                    "これは Nexus Backup からのテストメールです。\n送信者: {requested_by}\n日時: {}",
                    time(at)
                ),
                format!(
                    "This is a test mail from Nexus Backup.\nRequested by: {requested_by}\nTime: {}",
                    time(at)
                ),
            ),
        };
        Rendered {
            subject,
            body: format!("{ja}\n\nホスト / Host: {host}\n\n----- English -----\n\n{en}\n"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_failure_mail_names_the_backup_the_error_and_what_to_do_in_both_languages() {
        let at = DateTime::parse_from_rfc3339("2026-01-31T05:30:25Z")
            .unwrap()
            .with_timezone(&Utc);
        let r = Alert::BackupFailed {
            backup_id: "BKP-20260131-143025-manual".into(),
            code: "insufficient_disk_space".into(),
            message: "20 MB required, 10 MB available".into(),
            at,
        }
        .render(chrono_tz::Asia::Tokyo, "itsm-prod");
        assert!(
            r.subject.contains("バックアップ失敗")
                && r.subject.contains("BKP-20260131-143025-manual")
        );
        assert!(r.body.contains("2026-01-31 14:30:25 JST"), "{}", r.body);
        assert!(r.body.contains("insufficient_disk_space"));
        assert!(r.body.contains("対処") && r.body.contains("What to do"));
        assert!(
            r.body.find("バックアップが失敗").unwrap() < r.body.find("A backup failed").unwrap()
        );
    }
}
