//! Offsite copies in a real S3-compatible server on loopback (s3s-fs):
//! each successful backup is uploaded, read back and checked; a bucket that
//! goes away mid-upload costs a retry, never a half-recorded copy; expired
//! copies are pruned; a restore fetches from the bucket when the local file
//! is gone; encrypted copies round-trip and the wrong key is refused.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nexus_e2e::reqwest::StatusCode;
use nexus_e2e::s3::S3Server;
use nexus_e2e::smtp::SmtpSink;
use nexus_e2e::{TestApp, run_tool};
use serde_json::{Value, json};

fn app_with_bucket(s3: &S3Server, extra: &[(&str, &str)], db_mb: u64) -> TestApp {
    let mut builder = TestApp::builder().db_size_mb(db_mb);
    for (name, value) in s3.env("nexus") {
        builder = builder.env(name, &value);
    }
    for (name, value) in extra {
        builder = builder.env(name, value);
    }
    builder.spawn()
}

fn sha256(path: &Path) -> String {
    let (ok, out) = run_tool("sha256sum", &[path.to_str().unwrap()]);
    assert!(ok, "{out}");
    format!("sha256:{}", out.split_whitespace().next().unwrap())
}

fn backup(app: &TestApp, token: &str, backup_type: &str) -> Value {
    let (status, accepted) = app.post_backup(token, &json!({ "type": backup_type }));
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let id = accepted["backup_id"].as_str().unwrap();
    let done = app.wait_until_terminal(token, id, Duration::from_secs(120));
    assert_eq!(done["status"], "success", "{done}");
    done
}

const POLL: Duration = Duration::from_millis(100);

/// Polls the backup until `ready` says its view is what the test waits for.
fn wait_for(
    app: &TestApp,
    token: &str,
    id: &str,
    what: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    app.eventually(what, Duration::from_secs(120), POLL, || {
        let view = app.get_backup(token, id);
        if ready(&view) {
            Ok(view)
        } else {
            Err(view.to_string())
        }
    })
}

fn stored(app: &TestApp, token: &str, id: &str) -> Value {
    wait_for(app, token, id, "the offsite copy", |v| {
        v["copies"]["offsite"]["state"] == "stored"
    })
}

fn post(app: &TestApp, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
    let r = app
        .client()
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .expect("post");
    (r.status(), r.json().unwrap_or(Value::Null))
}

fn restore(app: &TestApp, token: &str, id: &str) -> Value {
    let (status, accepted) = post(
        app,
        token,
        &format!("/api/v1/backups/{id}/restore"),
        &json!({ "confirm": id }),
    );
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let restore_id = accepted["restore_id"].as_str().unwrap();
    app.eventually("the restore", Duration::from_secs(120), POLL, || {
        let (_, body) = app.get_json(token, &format!("/api/v1/restores/{restore_id}"));
        if body["status"] != "in_progress" {
            Ok(body)
        } else {
            Err(body.to_string())
        }
    })
}

fn verify_offsite(app: &TestApp, token: &str, id: &str) -> Value {
    let (status, body) = post(
        app,
        token,
        &format!("/api/v1/backups/{id}/offsite/verify"),
        &json!({}),
    );
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // The result is cleared when the check is queued, set when it is done.
    wait_for(app, token, id, "the offsite check", |v| {
        !v["copies"]["offsite"]["check_result"].is_null()
    })
}

fn audit_has(app: &TestApp, action: &str, result: &str) -> bool {
    app.catalog()
        .list_audit(500, 0)
        .unwrap()
        .iter()
        .any(|a| a.action == action && a.result == result)
}

fn rows(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT COUNT(*) FROM incidents", [], |r| r.get(0))
        .unwrap()
}

fn delete_incidents(db: &Path, n: u32) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.execute(
        "DELETE FROM incidents WHERE id IN (SELECT id FROM incidents ORDER BY id DESC LIMIT ?1)",
        [n],
    )
    .unwrap();
}

fn local_file(view: &Value) -> PathBuf {
    PathBuf::from(view["copies"]["local"]["path"].as_str().unwrap())
}

#[test]
fn a_successful_backup_is_copied_offsite_and_the_stored_object_checked() {
    let s3 = S3Server::start();
    let app = app_with_bucket(&s3, &[], 5);
    let token = app.admin_token();
    let done = backup(&app, &token, "manual");
    let id = done["backup_id"].as_str().unwrap();

    let view = stored(&app, &token, id);
    assert_eq!(view["location"], "both", "{view}");
    assert_eq!(view["copies"]["local"]["state"], "present");
    let offsite = &view["copies"]["offsite"];
    let key = format!(
        "nexus/manual/{}",
        local_file(&view).file_name().unwrap().to_str().unwrap()
    );
    assert_eq!(offsite["location"], format!("s3://itsm-offsite/{key}"));
    assert_eq!(offsite["encrypted"], false);
    assert_eq!(offsite["check_result"], "pass");
    // What the bucket holds is byte for byte the local backup.
    let object = s3.object_path(&key);
    assert_eq!(sha256(&object), view["checksum"].as_str().unwrap());
    assert_eq!(offsite["object_checksum"], view["checksum"]);
    assert_eq!(s3.objects(), vec![key.clone(), format!("{key}.json")]);
    assert!(audit_has(&app, "offsite.upload", "success"));
    let logs = app.logs();
    assert!(
        !logs.contains(nexus_e2e::s3::SECRET_KEY),
        "the bucket's secret key must never be logged"
    );

    // The list of copies says the same.
    let (status, list) = app.get_json(&token, "/api/v1/offsite");
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["configured"], true);
    assert_eq!(list["copies"][0]["backup_id"], id);

    // A byte flipped in the bucket is caught by the offsite check.
    let mut bytes = std::fs::read(&object).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&object, bytes).unwrap();
    let checked = verify_offsite(&app, &token, id);
    assert_eq!(
        checked["copies"]["offsite"]["check_result"], "fail",
        "{checked}"
    );
    let detail = checked["copies"]["offsite"]["check_detail"]
        .as_str()
        .unwrap();
    assert!(detail.contains("offsite_checksum_mismatch"), "{detail}");
    assert!(audit_has(&app, "offsite.check", "failure"));
}

#[test]
fn a_bucket_that_goes_away_mid_upload_costs_a_retry_never_a_half_recorded_copy() {
    let s3 = S3Server::start();
    let mut s3 = s3;
    let app = app_with_bucket(
        &s3,
        &[
            ("NEXUS_OFFSITE_PART_SIZE_MB", "5"),
            ("NEXUS_QUEUE_MAX_ATTEMPTS", "6"),
        ],
        80,
    );
    let token = app.admin_token();
    let (status, accepted) = app.post_backup(&token, &json!({ "type": "manual" }));
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let id = accepted["backup_id"].as_str().unwrap().to_owned();

    // Cut the server off as soon as the first part of the upload lands.
    app.eventually(
        "a part of the upload",
        Duration::from_secs(120),
        Duration::from_millis(1),
        || match s3.upload_parts() {
            0 => Err("no part yet".into()),
            _ => Ok(()),
        },
    );
    s3.kill();
    assert!(
        s3.objects().is_empty(),
        "the upload finished before the server was cut off: {:?}",
        s3.objects()
    );
    // While the bucket is away the copy is never called stored.
    let catalog = app.catalog();
    let backup_id = nexus_shared::domain::BackupId::parse(&id).unwrap();
    let failed_once = app.eventually(
        "the failed try to be recorded",
        Duration::from_secs(90),
        Duration::from_millis(50),
        || {
            let copy = catalog.get_offsite_copy(&backup_id).unwrap().unwrap();
            assert_ne!(copy.state, nexus_shared::catalog::OffsiteState::Stored);
            match copy.last_error {
                Some(_) => Ok(copy),
                None => Err(format!("{copy:?}")),
            }
        },
    );
    assert_eq!(
        failed_once.state,
        nexus_shared::catalog::OffsiteState::Uploading
    );

    s3.resume();
    let view = stored(&app, &token, &id);
    let offsite = &view["copies"]["offsite"];
    assert!(offsite["attempts"].as_u64().unwrap() >= 2, "{offsite}");
    assert_eq!(offsite["last_error"], Value::Null);
    let key = offsite["location"]
        .as_str()
        .unwrap()
        .strip_prefix("s3://itsm-offsite/")
        .unwrap()
        .to_owned();
    assert_eq!(
        sha256(&s3.object_path(&key)),
        view["checksum"].as_str().unwrap()
    );
    assert!(audit_has(&app, "offsite.upload", "failure"));
    assert!(audit_has(&app, "offsite.upload", "success"));
}

#[test]
fn offsite_copies_past_their_retention_are_removed_and_the_newest_stays() {
    let s3 = S3Server::start();
    // Locally daily backups stay 60 days, offsite 7 (the default); the
    // sweeper's backfill is quick, to show it does not bring a pruned copy back.
    let mut app = app_with_bucket(
        &s3,
        &[
            ("NEXUS_RETENTION_DAILY_DAYS", "60"),
            ("NEXUS_OFFSITE_BACKFILL_AFTER_SECS", "1"),
        ],
        3,
    );
    let token = app.admin_token();
    let old = backup(&app, &token, "daily");
    let new = backup(&app, &token, "daily");
    let (old_id, new_id) = (
        old["backup_id"].as_str().unwrap(),
        new["backup_id"].as_str().unwrap(),
    );
    stored(&app, &token, old_id);
    stored(&app, &token, new_id);
    assert_eq!(s3.objects().len(), 4, "{:?}", s3.objects());

    // The older backup was taken 30 days ago, as far as retention can tell.
    let conn = rusqlite::Connection::open(app.data_dir().join("catalog.db")).unwrap();
    for table in ["backups", "offsite_copies"] {
        let changed = conn
            .execute(
                &format!("UPDATE {table} SET started_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-30 days') WHERE backup_id = ?1"),
                [old_id],
            )
            .unwrap();
        assert_eq!(changed, 1, "{table}");
    }

    let (status, body) = post(&app, &token, "/api/v1/prune", &json!({}));
    assert!(
        status == StatusCode::ACCEPTED || status == StatusCode::OK,
        "{status} {body}"
    );
    app.eventually(
        "the expired object to go",
        Duration::from_secs(60),
        POLL,
        || match s3.objects() {
            left if left.len() == 2 => Ok(()),
            left => Err(format!("{left:?}")),
        },
    );
    let old_view = wait_for(&app, &token, old_id, "the copy's record to go", |v| {
        v["copies"]["offsite"].is_null()
    });
    assert_eq!(
        old_view["location"], "local",
        "the local file stays: {old_view}"
    );
    assert_eq!(app.get_backup(&token, new_id)["location"], "both");
    assert!(s3.objects().iter().all(|k| {
        !k.contains(
            &local_file(&old)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string(),
        )
    }));
    assert!(audit_has(&app, "offsite.delete", "success"));

    // A restarted worker sweeps at once (past the 1 s backfill grace): the
    // expired copy is not made again.
    app.kill_worker();
    std::thread::sleep(Duration::from_millis(1500));
    app.start_worker();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(8) {
        assert_eq!(s3.objects().len(), 2, "{:?}\n{}", s3.objects(), app.logs());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(app.get_backup(&token, old_id)["copies"]["offsite"].is_null());
}

#[test]
fn a_backup_whose_local_file_is_gone_is_restored_from_the_bucket() {
    let s3 = S3Server::start();
    let app = app_with_bucket(&s3, &[], 5);
    let token = app.admin_token();
    let before = rows(&app.db_path);
    let done = backup(&app, &token, "manual");
    let id = done["backup_id"].as_str().unwrap();
    stored(&app, &token, id);

    delete_incidents(&app.db_path, 30);
    assert_eq!(rows(&app.db_path), before - 30);
    std::fs::remove_file(local_file(&done)).unwrap();
    assert_eq!(app.get_backup(&token, id)["location"], "offsite");
    // The CLI tells the same: where the copies are, in words and in JSON.
    let show = |args: &[&str]| {
        let out = std::process::Command::new(nexus_e2e::binary("nexus-backup"))
            .env_clear()
            .envs(&app.env)
            .current_dir(app.dir.path())
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let text = show(&["show", id]);
    assert!(text.contains("Location:     offsite"), "{text}");
    assert!(text.contains("Local file:   MISSING"), "{text}");
    assert!(
        text.contains("Offsite:      stored s3://itsm-offsite/nexus/manual/"),
        "{text}"
    );
    let json: Value = serde_json::from_str(&show(&["show", id, "--json"])).unwrap();
    assert_eq!(json["copies"], app.get_backup(&token, id)["copies"]);

    let restored = restore(&app, &token, id);
    assert_eq!(restored["status"], "success", "{restored}\n{}", app.logs());
    assert_eq!(rows(&app.db_path), before, "the backup's rows are back");
    assert_eq!(nexus_e2e::integrity(&app.db_path), "ok");
    assert!(audit_has(&app, "restore.offsite_fetch", "success"));

    // With its local record deleted too, the offsite copy still restores.
    let r = app
        .client()
        .delete(app.url(&format!("/api/v1/backups/{id}")))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().unwrap());
    let (status, _) = app.get_json(&token, &format!("/api/v1/backups/{id}"));
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, offsite) = app.get_json(&token, "/api/v1/offsite");
    assert!(
        offsite["copies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["backup_id"] == id),
        "the copy outlives the local record: {offsite}"
    );
    delete_incidents(&app.db_path, 9);
    let restored = restore(&app, &token, id);
    assert_eq!(restored["status"], "success", "{restored}\n{}", app.logs());
    assert_eq!(rows(&app.db_path), before);
}

#[test]
fn encrypted_copies_round_trip_and_the_wrong_key_is_refused_by_name() {
    let keys = tempfile::tempdir().unwrap();
    let (right, wrong) = (keys.path().join("right.key"), keys.path().join("wrong.key"));
    for path in [&right, &wrong] {
        let out = std::process::Command::new(nexus_e2e::binary("nexus-backup"))
            .arg("offsite-keygen")
            .arg(path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Public key: age1"));
    }
    let s3 = S3Server::start();
    let mut app = app_with_bucket(
        &s3,
        &[("NEXUS_OFFSITE_ENCRYPTION_KEY_FILE", right.to_str().unwrap())],
        5,
    );
    let token = app.admin_token();
    let before = rows(&app.db_path);
    let done = backup(&app, &token, "manual");
    let id = done["backup_id"].as_str().unwrap();
    let view = stored(&app, &token, id);
    let offsite = &view["copies"]["offsite"];
    assert_eq!(offsite["encrypted"], true);
    assert!(
        offsite["encrypted_to"]
            .as_str()
            .unwrap()
            .starts_with("age1")
    );
    let key = offsite["location"]
        .as_str()
        .unwrap()
        .strip_prefix("s3://itsm-offsite/")
        .unwrap()
        .to_owned();
    assert!(key.ends_with(".db.gz.age"), "{key}");
    let (_, list) = app.get_json(&token, "/api/v1/offsite");
    assert_eq!(list["encrypted"], true);
    assert_eq!(list["encrypted_to"], offsite["encrypted_to"], "{list}");
    // The bucket holds ciphertext: an age file, not the gzip.
    let object = std::fs::read(s3.object_path(&key)).unwrap();
    assert!(object.starts_with(b"age-encryption.org/v1\n"));
    assert_ne!(offsite["object_checksum"], view["checksum"]);
    let (ok, out) = run_tool("gzip", &["-t", s3.object_path(&key).to_str().unwrap()]);
    assert!(!ok, "the object must not be readable as gzip: {out}");

    // Round trip: the check decrypts it and every check passes…
    let checked = verify_offsite(&app, &token, id);
    assert_eq!(
        checked["copies"]["offsite"]["check_result"], "pass",
        "{checked}"
    );
    // …and a restore with the local file gone decrypts it.
    delete_incidents(&app.db_path, 12);
    std::fs::remove_file(local_file(&done)).unwrap();
    let restored = restore(&app, &token, id);
    assert_eq!(restored["status"], "success", "{restored}\n{}", app.logs());
    assert_eq!(rows(&app.db_path), before);

    // With another key, nothing is decrypted: the check and a restore fail
    // naming the key the copy needs, and the live database stays as it is.
    app.kill_worker();
    app.env.insert(
        "NEXUS_OFFSITE_ENCRYPTION_KEY_FILE".into(),
        wrong.to_str().unwrap().into(),
    );
    app.start_worker();
    let checked = verify_offsite(&app, &token, id);
    let offsite = &checked["copies"]["offsite"];
    assert_eq!(offsite["check_result"], "fail", "{checked}");
    let detail = offsite["check_detail"].as_str().unwrap();
    assert!(detail.starts_with("encryption_key_wrong"), "{detail}");
    assert!(
        detail.contains(offsite["encrypted_to"].as_str().unwrap()),
        "{detail}"
    );

    delete_incidents(&app.db_path, 5);
    let live_before = rows(&app.db_path);
    let refused = restore(&app, &token, id);
    assert_eq!(refused["status"], "failure", "{refused}");
    assert_eq!(
        refused["error"]["code"], "encryption_key_wrong",
        "{refused}"
    );
    assert_eq!(
        rows(&app.db_path),
        live_before,
        "the live database is untouched"
    );

    // With no key at all, the same: a clear refusal, never garbage.
    app.kill_worker();
    app.env.remove("NEXUS_OFFSITE_ENCRYPTION_KEY_FILE");
    app.start_worker();
    let checked = verify_offsite(&app, &token, id);
    let detail = checked["copies"]["offsite"]["check_detail"]
        .as_str()
        .unwrap();
    assert!(detail.starts_with("encryption_key_missing"), "{detail}");
}

#[test]
fn an_upload_that_never_gets_through_is_failed_and_mailed_and_the_local_backup_stands() {
    let sink = SmtpSink::start(None);
    let mut s3 = S3Server::start();
    s3.kill();
    let port = sink.port.to_string();
    let app = app_with_bucket(
        &s3,
        &[
            ("NEXUS_QUEUE_MAX_ATTEMPTS", "2"),
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_PORT", &port),
            ("SMTP_TLS", "none"),
            ("NEXUS_ALERT_TO", "ops@example.test"),
        ],
        3,
    );
    let token = app.admin_token();
    let done = backup(&app, &token, "manual");
    let id = done["backup_id"].as_str().unwrap();
    let view = wait_for(&app, &token, id, "the copy to be given up", |v| {
        v["copies"]["offsite"]["state"] == "failed"
    });
    let offsite = &view["copies"]["offsite"];
    assert_eq!(offsite["attempts"], 2, "{offsite}");
    assert!(
        offsite["last_error"].as_str().unwrap().contains("bucket"),
        "{offsite}"
    );
    assert_eq!(view["status"], "success", "the local backup stands: {view}");
    assert_eq!(view["location"], "local");
    assert_eq!(
        sha256(&local_file(&view)),
        view["checksum"].as_str().unwrap()
    );

    let mail = app.eventually("the alert mail", Duration::from_secs(30), POLL, || {
        sink.messages()
            .into_iter()
            .find(|m| {
                m["subject"]
                    .as_str()
                    .unwrap_or("")
                    .contains("Offsite copy failed")
            })
            .ok_or_else(|| "no mail yet".to_owned())
    });
    assert!(mail["subject"].as_str().unwrap().contains(id), "{mail}");
    assert_eq!(
        sink.messages()
            .iter()
            .filter(|m| m["subject"].as_str().unwrap_or("").contains("Offsite"))
            .count(),
        1,
        "one mail, after the last try"
    );

    // Once the bucket is back, the operator asks again and the copy is made.
    s3.resume();
    let (status, body) = post(
        &app,
        &token,
        &format!("/api/v1/backups/{id}/offsite"),
        &json!({}),
    );
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let view = stored(&app, &token, id);
    assert_eq!(view["copies"]["offsite"]["attempts"], 1);
}

#[test]
fn backups_taken_before_offsite_copies_were_turned_on_get_their_copy() {
    let s3 = S3Server::start();
    let mut app = TestApp::builder().db_size_mb(3).spawn();
    let token = app.admin_token();
    let done = backup(&app, &token, "manual");
    let id = done["backup_id"].as_str().unwrap();
    assert_eq!(done["location"], "local");
    assert!(done["copies"]["offsite"].is_null());

    // The operator turns offsite copies on and restarts the worker.
    app.kill_worker();
    for (name, value) in s3.env("nexus") {
        app.env.insert(name.into(), value);
    }
    app.env
        .insert("NEXUS_OFFSITE_BACKFILL_AFTER_SECS".into(), "1".into());
    app.start_worker();
    let view = stored(&app, &token, id);
    assert_eq!(
        sha256(&s3.object_path(&format!(
            "nexus/manual/{}",
            local_file(&view).file_name().unwrap().to_str().unwrap()
        ))),
        view["checksum"].as_str().unwrap()
    );
}
