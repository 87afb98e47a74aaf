//! A live database that is damaged — truncated, overwritten with random
//! bytes, or with one corrupt page — is the moment an operator most needs
//! a clear word: its backup fails as `database_corrupt` (CLI exit 3, as the
//! guide's integrity failure), the message and the alert mail say that the
//! LIVE database is damaged and name the newest backup that passed
//! verification, and nothing is left in the backup folder.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use nexus_e2e::smtp::SmtpSink;
use nexus_e2e::{TestApp, binary};
use rand::{Rng, SeedableRng};
use serde_json::json;

fn with_mail(app: nexus_e2e::TestAppBuilder, sink: &SmtpSink) -> nexus_e2e::TestAppBuilder {
    app.env("SMTP_HOST", "127.0.0.1")
        .env("SMTP_PORT", &sink.port.to_string())
        .env("SMTP_TLS", "none")
        .env("NEXUS_ALERT_TO", "ops@example.test")
}

fn cli(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(binary("nexus-backup"))
        .env_clear()
        .envs(&app.env)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A way to damage the database file in place.
type Damage = fn(&Path);

fn truncate(db: &Path) {
    let len = std::fs::metadata(db).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(db)
        .unwrap()
        .set_len(len / 3)
        .unwrap();
}

fn random_bytes(db: &Path) {
    let len = std::fs::metadata(db).unwrap().len() as usize;
    let mut bytes = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(7).fill(&mut bytes[..]);
    std::fs::write(db, bytes).unwrap();
}

/// One b-tree page in the middle of the file overwritten: SQLite still
/// opens the file, and only `integrity_check` finds the damage.
fn corrupt_page(db: &Path) {
    let mut bytes = std::fs::read(db).unwrap();
    let page_size = u16::from_be_bytes([bytes[16], bytes[17]]) as usize;
    let page = bytes.len() / page_size / 2;
    let mut noise = vec![0u8; page_size];
    rand::rngs::StdRng::seed_from_u64(11).fill(&mut noise[..]);
    bytes[page * page_size..(page + 1) * page_size].copy_from_slice(&noise);
    std::fs::write(db, bytes).unwrap();
}

#[test]
fn a_damaged_live_database_fails_its_backup_as_database_corrupt_naming_the_backup_to_restore() {
    let sink = SmtpSink::start(None);
    let app = with_mail(TestApp::builder().db_size_mb(8), &sink).spawn();
    let token = app.admin_token();
    // A backup that passed verification, to restore from.
    let (_, accepted) = app.post_backup(&token, &json!({"type": "manual"}));
    let verified = accepted["backup_id"].as_str().unwrap().to_owned();
    let done = app.wait_until_terminal(&token, &verified, Duration::from_secs(60));
    assert_eq!(done["status"], "success", "{done}");
    let (code, stdout, stderr) = cli(&app, &["verify", &verified]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let kept: Vec<_> = std::fs::read_dir(app.backup_root().join("manual"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let pristine = std::fs::read(&app.db_path).unwrap();

    let damages: [(&str, Damage); 3] = [
        ("truncated", truncate),
        ("random bytes", random_bytes),
        ("a corrupt page", corrupt_page),
    ];
    for (how, damage) in damages {
        std::fs::write(&app.db_path, &pristine).unwrap();
        for side in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{side}", app.db_path.display()));
        }
        damage(&app.db_path);

        // Through the worker: the record and the mail.
        let (status, accepted) = app.post_backup(&token, &json!({"type": "manual"}));
        assert_eq!(status.as_u16(), 202, "{how}: {accepted}");
        let id = accepted["backup_id"].as_str().unwrap().to_owned();
        let done = app.wait_until_terminal(&token, &id, Duration::from_secs(60));
        assert_eq!(done["status"], "failure", "{how}: {done}");
        let error = &done["error"];
        assert_eq!(error["code"], "database_corrupt", "{how}: {done}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains("the live database")
                && message.contains(&app.db_path.display().to_string())
                && message.contains(&format!("nexus-backup restore {verified} --yes")),
            "{how}: {message}"
        );
        assert_eq!(error["details"]["restore_from"], verified.as_str(), "{how}");

        let mails = sink.wait_for_matching(Duration::from_secs(30), |m| {
            m["subject"].as_str().unwrap().contains(&id)
        });
        let mail = &mails[0];
        assert!(
            mail["subject"]
                .as_str()
                .unwrap()
                .contains("the live database is damaged"),
            "{how}: {mail}"
        );
        let body = mail["body"].as_str().unwrap();
        assert!(
            body.contains("本番データベース") && body.contains(&verified),
            "{how}: {body}"
        );

        // Through the CLI: exit 3 and the same words.
        let (code, stdout, stderr) = cli(&app, &["backup", "--in-process"]);
        assert_eq!(code, 3, "{how}:\n{stdout}\n{stderr}");
        assert!(
            stdout.contains("Backup failed: the live database")
                && stderr.contains("Error: database_corrupt: ")
                && stderr.contains(&verified),
            "{how}:\n{stdout}\n{stderr}"
        );

        let mut now: Vec<_> = std::fs::read_dir(app.backup_root().join("manual"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        now.sort();
        let mut expected = kept.clone();
        expected.sort();
        assert_eq!(now, expected, "{how}: a failed backup left files behind");
        let temps: Vec<_> = std::fs::read_dir(app.backup_root().join(".tmp"))
            .into_iter()
            .flatten()
            .collect();
        assert!(temps.is_empty(), "{how}: {temps:?}");
    }
}
