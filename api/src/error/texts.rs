//! What each error says to the person who meets it: the message and what
//! to do, in Japanese (the default) and English.

use super::ApiError;

/// The parts of an error body that depend on the language.
pub(super) struct Texts {
    pub(super) message: &'static str,
    pub(super) user_action: &'static str,
}

impl ApiError {
    pub(super) fn texts(&self, english: bool) -> Texts {
        use ApiError::*;
        let (ja, en): ((&str, &str), (&str, &str)) = match self {
            InvalidRequest(_) => (
                (
                    "リクエストの形式が正しくありません。",
                    "JSON の形式と項目名を確認してください。",
                ),
                (
                    "The request is malformed.",
                    "Check the JSON syntax and field names.",
                ),
            ),
            InvalidBackupType(_) => (
                (
                    "バックアップ種別が正しくありません。",
                    "daily, weekly, monthly, manual のいずれかを指定してください。",
                ),
                (
                    "The backup type is not valid.",
                    "Use one of daily, weekly, monthly or manual.",
                ),
            ),
            InvalidDescription(_) => (
                (
                    "バックアップ説明が正しくありません。",
                    "500文字以内の文字列を指定してください（制御文字は使用できません）。",
                ),
                (
                    "The description is not valid.",
                    "Use a text of at most 500 characters without control characters.",
                ),
            ),
            InvalidBackupId(_) => (
                (
                    "バックアップIDの形式が正しくありません。",
                    "BKP-YYYYMMDD-HHMMSS-<種別> の形式で指定してください。",
                ),
                (
                    "The backup id is not valid.",
                    "Use the form BKP-YYYYMMDD-HHMMSS-<type>.",
                ),
            ),
            InvalidParameter { .. } => (
                (
                    "パラメータが正しくありません。",
                    "パラメータの値を確認してください。",
                ),
                ("A parameter is not valid.", "Check the parameter's value."),
            ),
            AuthenticationRequired => (
                (
                    "認証が必要です。",
                    "ログインして Authorization: Bearer <トークン> を付けてください。",
                ),
                (
                    "Authentication is required.",
                    "Log in and send Authorization: Bearer <token>.",
                ),
            ),
            InvalidToken => (
                (
                    "トークンが無効か期限切れです。",
                    "再度ログインしてください。",
                ),
                ("The token is invalid or has expired.", "Log in again."),
            ),
            TooManyAttempts { .. } => (
                (
                    "ログインの失敗が続いたため、一時的にログインできません。",
                    "しばらく待ってから再度ログインしてください（Retry-After を参照）。",
                ),
                (
                    "Too many failed logins: logging in is blocked for a while.",
                    "Wait, then try again (see Retry-After).",
                ),
            ),
            InvalidCredentials => (
                (
                    "ユーザー名またはパスワードが正しくありません。",
                    "入力内容を確認してください。",
                ),
                (
                    "The username or password is wrong.",
                    "Check what you entered.",
                ),
            ),
            Forbidden { .. } => (
                (
                    "この操作を行う権限がありません。",
                    "必要な権限を持つアカウントで実行してください。",
                ),
                (
                    "You are not allowed to do this.",
                    "Use an account with the required role.",
                ),
            ),
            BackupNotFound(_) => (
                (
                    "指定されたバックアップが見つかりません。",
                    "バックアップIDを確認してください。",
                ),
                ("The backup does not exist.", "Check the backup id."),
            ),
            BackupNotVerifiable { .. } => (
                (
                    "このバックアップは正常に完了していないため検証できません。",
                    "作成中の場合は完了後に再度実行してください。失敗したバックアップは検証できません。",
                ),
                (
                    "This backup did not complete successfully, so it cannot be verified.",
                    "If it is still running, try again once it has finished; a failed backup cannot be verified.",
                ),
            ),
            LatestBackupProtected { .. } => (
                (
                    "各種別（daily/weekly/monthly）の最新バックアップは削除できません。",
                    "より古いバックアップを選択してください。",
                ),
                (
                    "The newest backup of each type (daily/weekly/monthly) cannot be deleted.",
                    "Choose an older backup.",
                ),
            ),
            LastBackupProtected(_) => (
                (
                    "最後の1件のバックアップは削除できません。少なくとも1件のバックアップが必要です。",
                    "新しいバックアップを作成してから削除してください。",
                ),
                (
                    "The last backup cannot be deleted: at least one backup must remain.",
                    "Create a new backup first, then delete this one.",
                ),
            ),
            BackupInProgress(_) => (
                (
                    "このバックアップは実行中のため削除できません。",
                    "バックアップの完了を待ってから再度実行してください。",
                ),
                (
                    "This backup is still in progress and cannot be deleted.",
                    "Wait until it has finished, then try again.",
                ),
            ),
            ConfirmationMismatch { .. } => (
                (
                    "確認のためのバックアップIDが一致しません。",
                    "リストアするバックアップのIDを confirm にそのまま指定してください。",
                ),
                (
                    "The confirmation does not match the backup id.",
                    "Repeat the id of the backup to restore in confirm.",
                ),
            ),
            BackupNotRestorable { .. } => (
                (
                    "このバックアップは正常に完了していないためリストアできません。",
                    "正常に完了したバックアップを選択してください。",
                ),
                (
                    "This backup did not complete successfully, so it cannot be restored.",
                    "Choose a backup that completed successfully.",
                ),
            ),
            InvalidRestoreId(_) => (
                (
                    "リストアIDの形式が正しくありません。",
                    "RST- で始まるリストアIDを指定してください。",
                ),
                (
                    "The restore id is not valid.",
                    "Use the restore id starting with RST- that the request returned.",
                ),
            ),
            RestoreNotFound(_) => (
                (
                    "指定されたリストアが見つかりません。",
                    "リストアIDを確認してください。",
                ),
                ("The restore does not exist.", "Check the restore id."),
            ),
            RouteNotFound => (
                ("指定されたURLは存在しません。", "URLを確認してください。"),
                ("There is nothing at this URL.", "Check the URL."),
            ),
            MethodNotAllowed => (
                (
                    "このURLではそのメソッドは使用できません。",
                    "APIリファレンスを確認してください。",
                ),
                (
                    "This method is not allowed here.",
                    "Check the API reference.",
                ),
            ),
            PayloadTooLarge => (
                (
                    "リクエストが大きすぎます。",
                    "リクエストの内容を小さくしてください。",
                ),
                ("The request is too large.", "Send a smaller request."),
            ),
            UnsupportedMediaType => (
                (
                    "Content-Type が正しくありません。",
                    "Content-Type: application/json を指定してください。",
                ),
                (
                    "The content type is not supported.",
                    "Send Content-Type: application/json.",
                ),
            ),
            InsufficientDiskSpace { .. } => (
                (
                    "バックアップを作成するためのディスク容量が不足しています。",
                    "不要なバックアップファイルを削除するか、ストレージを拡張してください。",
                ),
                (
                    "There is not enough disk space to create the backup.",
                    "Delete backups you no longer need, or extend the storage.",
                ),
            ),
            DatabaseNotFound => (
                (
                    "バックアップ対象のデータベースが存在しません。",
                    "データベースパス（NEXUS_DB_PATH）を確認してください。",
                ),
                (
                    "The database to back up does not exist.",
                    "Check the database path (NEXUS_DB_PATH).",
                ),
            ),
            OffsiteNotConfigured => (
                (
                    "オフサイト保管（S3互換ストレージ）が設定されていません。",
                    "NEXUS_OFFSITE_BUCKET などの [offsite] 設定を行ってください。",
                ),
                (
                    "Offsite copies (S3-compatible bucket) are not configured.",
                    "Set the [offsite] settings, such as NEXUS_OFFSITE_BUCKET.",
                ),
            ),
            OffsiteCopyNotStored { .. } => (
                (
                    "このバックアップのオフサイトコピーは保管済みではありません。",
                    "POST /api/v1/backups/{id}/offsite でコピーを作成し、完了後に再度実行してください。",
                ),
                (
                    "This backup has no stored offsite copy.",
                    "Make one with POST /api/v1/backups/{id}/offsite and try again once it is stored.",
                ),
            ),
            QueueUnavailable => (
                (
                    "ジョブキューに登録できませんでした。",
                    "しばらくしてから再度実行してください。解決しない場合は管理者に連絡してください。",
                ),
                (
                    "The job could not be queued.",
                    "Try again shortly; if it persists, contact the administrator.",
                ),
            ),
            MailNotConfigured(_) => (
                (
                    "メール送信が設定されていません。",
                    "SMTP_HOST と NEXUS_ALERT_TO を設定してください（.env.production / nexus-backup.toml）。",
                ),
                (
                    "Mail is not configured.",
                    "Set SMTP_HOST and NEXUS_ALERT_TO (environment or nexus-backup.toml).",
                ),
            ),
            SmtpFailed { .. } => (
                (
                    "SMTPサーバーへの送信に失敗しました。",
                    "SMTP_HOST / SMTP_PORT / SMTP_USER / SMTP_PASSWORD とネットワークを確認してください。詳細は details を参照してください。",
                ),
                (
                    "Sending through the SMTP server failed.",
                    "Check SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD and the network; details says what the server answered.",
                ),
            ),
            Internal(_) => (
                (
                    "内部エラーが発生しました。",
                    "しばらくしてから再度実行してください。解決しない場合は管理者に連絡してください。",
                ),
                (
                    "An internal error occurred.",
                    "Try again shortly; if it persists, contact the administrator.",
                ),
            ),
        };
        let (message, user_action) = if english { en } else { ja };
        Texts {
            message,
            user_action,
        }
    }
}
