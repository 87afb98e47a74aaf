//! The web UI at `/views/backup.html` (guide §4.1, §5.1, §5.4, §6.2) in real
//! headless Chromium against the real api and worker: what an operator
//! clicks, and what they see.
//!
//! Needs Debian's `chromium` and `chromium-driver`; screenshots go to
//! `target/ui-screenshots/`.

use std::future::Future;
use std::time::Duration;

use fantoccini::key::Key;
use nexus_e2e::TestApp;
use nexus_e2e::browser::Browser;
use nexus_e2e::s3::S3Server;
use nexus_shared::domain::Role;
use serde_json::{Value, json};

/// The password `TestApp::token_for_new_user` gives its users.
const USER_PASSWORD: &str = "a-long-enough-password";

fn run<F: Future>(test: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(test)
}

fn key(key: Key) -> String {
    char::from(key).to_string()
}

/// Opens the site root (it redirects to the page) and logs in.
async fn log_in(browser: &Browser, app: &TestApp, username: &str, password: &str) {
    browser.goto(&app.url("/")).await;
    browser.fill("#login-username", username).await;
    browser.fill("#login-password", password).await;
    browser.click("#login-submit").await;
    browser.visible("#app-view").await;
    browser.text_appears("#whoami-name", username).await;
}

/// Backups made through the API (blocking: before the browser part).
fn seed_backups(app: &TestApp, count: usize) -> Vec<String> {
    let token = app.admin_token();
    (0..count)
        .map(|_| {
            let (status, body) = app.post_backup(&token, &json!({ "type": "manual" }));
            assert_eq!(status, 202, "{body}");
            let id = body["backup_id"].as_str().unwrap().to_owned();
            let done = app.wait_until_terminal(&token, &id, Duration::from_secs(60));
            assert_eq!(done["status"], "success", "{done}");
            id
        })
        .collect()
}

#[test]
fn an_admin_runs_a_backup_from_the_browser_and_sees_it_succeed() {
    let app = TestApp::spawn();
    run(async {
        let browser = Browser::start().await;
        log_in(&browser, &app, "admin", &app.admin_password).await;
        assert_eq!(browser.text("#whoami-role").await, "管理者");
        assert_eq!(
            browser.script("return location.pathname").await,
            "/views/backup.html"
        );

        // §4.1: the button, the confirmation dialog, 「実行」.
        browser
            .text_appears("#create-button", "今すぐバックアップ実行")
            .await
            .click()
            .await
            .unwrap();
        // Keyboard: the dialog takes the focus, and Escape closes it.
        browser.visible("#create-dialog").await;
        let focused = browser.client.active_element().await.unwrap();
        assert_eq!(
            focused.attr("id").await.unwrap().as_deref(),
            Some("create-type")
        );
        focused.send_keys(&key(Key::Escape)).await.unwrap();
        browser.gone("#create-dialog[open]").await;
        browser.click("#create-button").await;
        browser.visible("#create-dialog").await;
        browser
            .fill("#create-description", "UIからのバックアップ")
            .await;
        assert_eq!(browser.text("#create-confirm").await, "実行");
        browser.click("#create-confirm").await;

        // The progress bar shows at once and ends full and green.
        browser.visible("#progress-panel #progress-bar").await;
        let notice = browser
            .text_appears(".notice-success", "バックアップが完了しました")
            .await;
        let text = notice.text().await.unwrap();
        assert!(text.contains("sha256:"), "{text}");
        assert!(text.contains(".db.gz"), "{text}");
        let id = notice.attr("data-backup-id").await.unwrap().unwrap();
        let bar = browser.find("#progress-bar").await;
        assert_eq!(
            bar.attr("aria-valuenow").await.unwrap().as_deref(),
            Some("100")
        );
        assert_eq!(
            browser
                .find("#progress-panel")
                .await
                .attr("data-state")
                .await
                .unwrap()
                .as_deref(),
            Some("success")
        );

        // §4.1 step 4: the new row, 成功.
        let row = format!("tr[data-backup-id='{id}']");
        browser
            .text_appears(&format!("{row} td.status"), "成功")
            .await;
        assert_eq!(browser.text(&format!("{row} td.type")).await, "手動");
        assert_eq!(browser.text(&format!("{row} td.creator")).await, "admin");
        assert!(browser.text(&format!("{row} td.size")).await.ends_with("B"));

        // The storage panel counts it.
        browser
            .text_appears("#storage-types [data-type='manual']", "1 件")
            .await;
        assert!(browser.text("#storage-percent").await.ends_with('%'));

        browser.screenshot("admin-backup-done").await;
        browser.client.set_window_size(420, 900).await.unwrap();
        browser.screenshot("admin-backup-done-narrow").await;
        browser.close().await;
    });
}

#[test]
fn a_failed_login_shows_the_japanese_error_message() {
    let app = TestApp::spawn();
    run(async {
        let browser = Browser::start().await;
        browser.goto(&app.url("/views/backup.html")).await;
        assert_eq!(browser.text("#login-heading").await, "ログイン");
        browser.fill("#login-username", "admin").await;
        browser
            .fill(
                "#login-password",
                &format!("not-the-password{}", key(Key::Enter)),
            )
            .await;

        let error = browser
            .text_appears(
                "#login-error",
                "ユーザー名またはパスワードが正しくありません。",
            )
            .await;
        assert!(
            error
                .text()
                .await
                .unwrap()
                .contains("入力内容を確認してください。")
        );
        assert!(!browser.is_displayed("#app-view").await);
        browser.screenshot("login-failed").await;
        browser.close().await;
    });
}

#[test]
fn the_english_switch_changes_the_labels_and_the_api_errors() {
    let app = TestApp::spawn();
    run(async {
        let browser = Browser::start().await;
        browser.goto(&app.url("/views/backup.html")).await;
        browser.text_appears("#lang-toggle", "EN").await;
        browser.click("#lang-toggle").await;
        browser.text_appears("#login-heading", "Log in").await;
        assert_eq!(
            browser.script("return document.documentElement.lang").await,
            "en"
        );

        // The API answers in English: the page sends Accept-Language: en.
        browser.fill("#login-username", "admin").await;
        browser.fill("#login-password", "not-the-password").await;
        browser.click("#login-submit").await;
        browser
            .text_appears("#login-error", "The username or password is wrong.")
            .await;

        log_in(&browser, &app, "admin", &app.admin_password).await;
        browser
            .text_appears("#create-button", "Run backup now")
            .await;
        browser.text_appears("#backup-table th", "Created at").await;
        assert_eq!(browser.text("#whoami-role").await, "Administrator");

        // Remembered across a reload; and back to Japanese.
        browser.client.refresh().await.unwrap();
        browser
            .text_appears("#create-button", "Run backup now")
            .await;
        browser.screenshot("english").await;
        browser.click("#lang-toggle").await;
        browser
            .text_appears("#create-button", "今すぐバックアップ実行")
            .await;
        browser.close().await;
    });
}

#[test]
fn a_viewer_sees_the_backups_but_no_buttons_that_change_them() {
    let app = TestApp::spawn();
    let ids = seed_backups(&app, 1);
    app.token_for_new_user("auditor", Role::Viewer);
    run(async {
        let browser = Browser::start().await;
        log_in(&browser, &app, "auditor", USER_PASSWORD).await;
        assert_eq!(browser.text("#whoami-role").await, "閲覧者");

        let row = format!("tr[data-backup-id='{}']", ids[0]);
        browser
            .text_appears(&format!("{row} td.status"), "成功")
            .await;
        assert!(!browser.is_displayed("#create-button").await);
        assert!(!browser.is_displayed("#col-actions").await);
        assert!(
            browser
                .client
                .find_all(fantoccini::Locator::Css("#backup-rows button"))
                .await
                .unwrap()
                .is_empty(),
            "a viewer has no verify, delete or restore buttons"
        );
        browser.screenshot("viewer").await;
        browser.close().await;
    });
}

#[test]
fn an_expired_session_goes_back_to_the_login_form() {
    let app = TestApp::spawn();
    run(async {
        let browser = Browser::start().await;
        log_in(&browser, &app, "admin", &app.admin_password).await;
        browser
            .script("sessionStorage.setItem('nexus.token', 'not-a-valid-token')")
            .await;
        browser.click("#refresh-button").await;
        browser
            .text_appears("#login-error", "セッションの有効期限が切れました。")
            .await;
        assert!(!browser.is_displayed("#app-view").await);
        browser.close().await;
    });
}

#[test]
fn an_operator_verifies_a_backup_and_sees_pass_with_the_five_checks() {
    let app = TestApp::spawn();
    let ids = seed_backups(&app, 1);
    app.token_for_new_user("operator1", Role::Operator);
    run(async {
        let browser = Browser::start().await;
        log_in(&browser, &app, "operator1", USER_PASSWORD).await;
        let row = format!("tr[data-backup-id='{}']", ids[0]);
        // An operator may verify, not delete or restore.
        browser
            .text_appears(
                &format!("{row} button[data-action='verify']"),
                "整合性チェック",
            )
            .await
            .click()
            .await
            .unwrap();
        assert!(
            !browser
                .is_displayed(&format!("{row} button[data-action='delete']"))
                .await
        );
        assert!(
            !browser
                .is_displayed(&format!("{row} button[data-action='restore']"))
                .await
        );

        let result = browser
            .text_appears(".notice[data-verification]", "整合性チェック")
            .await;
        assert_eq!(
            result.attr("data-verification").await.unwrap().as_deref(),
            Some("pass")
        );
        assert!(result.text().await.unwrap().contains("PASS"));
        let checks = browser
            .client
            .find_all(fantoccini::Locator::Css(
                ".notice[data-verification] li[data-status='pass']",
            ))
            .await
            .unwrap();
        assert_eq!(checks.len(), 5, "the five checks of §5.4 all passed");
        browser.screenshot("verify-pass").await;
        browser.close().await;
    });
}

#[test]
fn an_admin_deletes_a_backup_and_is_told_why_the_last_one_cannot_go() {
    let app = TestApp::spawn();
    let ids = seed_backups(&app, 2);
    run(async {
        let browser = Browser::start().await;
        log_in(&browser, &app, "admin", &app.admin_password).await;

        // §6.2: 「削除」, the dialog's 「削除」, the success message.
        let older = format!("tr[data-backup-id='{}']", ids[0]);
        browser
            .click(&format!("{older} button[data-action='delete']"))
            .await;
        browser.text_appears("#delete-target", &ids[0]).await;
        assert_eq!(browser.text("#delete-confirm").await, "削除");
        browser.click("#delete-confirm").await;
        browser
            .text_appears(".notice-success", "バックアップを削除しました")
            .await;
        browser.gone(&older).await;

        // The last backup is refused (409) and the page says why.
        let last = format!("tr[data-backup-id='{}']", ids[1]);
        browser
            .click(&format!("{last} button[data-action='delete']"))
            .await;
        browser.click("#delete-confirm").await;
        let refusal = browser
            .visible(".notice-error[data-code='last_backup_protected']")
            .await;
        assert!(!refusal.text().await.unwrap().is_empty());
        browser.find(&last).await;
        browser.screenshot("delete-refused").await;
        browser.close().await;
    });
}

#[test]
fn an_admin_restores_a_backup_only_after_typing_its_id() {
    let app = TestApp::spawn();
    let ids = seed_backups(&app, 1);
    run(async {
        let browser = Browser::start().await;
        log_in(&browser, &app, "admin", &app.admin_password).await;
        let row = format!("tr[data-backup-id='{}']", ids[0]);
        browser
            .click(&format!("{row} button[data-action='restore']"))
            .await;
        browser.text_appears("#restore-target", &ids[0]).await;

        // A wrong id keeps the dialog open and starts nothing.
        browser.fill("#restore-confirm-input", "BKP-wrong").await;
        browser.click("#restore-confirm").await;
        browser.visible("#restore-mismatch").await;
        assert!(
            browser.is_displayed("#restore-dialog").await,
            "the dialog stays open"
        );
        assert!(
            !browser.is_displayed("#progress-panel").await,
            "nothing was started"
        );
        browser.screenshot("restore-confirm").await;

        // The right id: the restore runs, with its safety backup.
        browser.fill("#restore-confirm-input", &ids[0]).await;
        browser.click("#restore-confirm").await;
        browser.visible("#progress-panel").await;
        let done = browser
            .text_appears(".notice-success", "リストアが完了しました")
            .await;
        assert!(done.text().await.unwrap().contains("安全用バックアップ"));
        browser
            .text_appears("#backup-rows td.type", "リストア前")
            .await;
        browser.screenshot("restore-done").await;
        browser.close().await;
    });
}

/// Polls the backup until its offsite copy is stored in the bucket.
fn wait_for_offsite_copy(app: &TestApp, token: &str, id: &str) -> Value {
    let (limit, every) = (Duration::from_secs(120), Duration::from_millis(100));
    app.eventually("the offsite copy to be stored", limit, every, || {
        let view = app.get_backup(token, id);
        if view["copies"]["offsite"]["state"] == "stored" {
            Ok(view)
        } else {
            Err(view.to_string())
        }
    })
}

#[test]
fn the_table_shows_where_each_backup_is_kept_local_offsite_or_both() {
    // A real S3-compatible bucket, and a backup whose copy is stored in it.
    let s3 = S3Server::start();
    let mut builder = TestApp::builder();
    for (name, value) in s3.env("nexus") {
        builder = builder.env(name, &value);
    }
    let app = builder.spawn();
    let id = seed_backups(&app, 1).remove(0);
    let view = wait_for_offsite_copy(&app, &app.admin_token(), &id);
    assert_eq!(view["location"], "both", "{view}");
    let local_file = view["copies"]["local"]["path"].as_str().unwrap().to_owned();

    run(async {
        let browser = Browser::start().await;
        log_in(&browser, &app, "admin", &app.admin_password).await;
        browser.text_appears("#backup-table th", "保管場所").await;

        // Both copies: 「ローカル」 and 「オフサイト ✓」.
        let cell = format!("tr[data-backup-id='{id}'] td.copies");
        let local = format!("{cell} [data-copy='local']");
        let offsite = format!("{cell} [data-copy='offsite'][data-state='stored']");
        browser.text_appears(&local, "ローカル").await;
        assert_eq!(browser.text(&local).await, "ローカル");
        let badge = browser.text_appears(&offsite, "オフサイト").await;
        assert!(badge.text().await.unwrap().contains('✓'));
        let title = badge.attr("title").await.unwrap().unwrap_or_default();
        assert!(title.contains("s3://"), "the badge says where: {title:?}");
        browser.find(&format!("{cell}[data-location='both']")).await;
        browser.screenshot("copies-both").await;

        // The local file goes away: after a reload the row says so, and
        // that the offsite copy is still there.
        std::fs::remove_file(&local_file).expect("delete the local backup file");
        browser.client.refresh().await.unwrap();
        let missing = format!("{cell} [data-copy='local'][data-state='missing']");
        browser.text_appears(&missing, "ローカル欠損").await;
        browser.text_appears(&offsite, "オフサイト").await;
        browser
            .find(&format!("{cell}[data-location='offsite']"))
            .await;
        browser.screenshot("copies-local-missing").await;

        // The copy in the bucket can still be read back and checked.
        browser
            .text_appears(
                &format!("tr[data-backup-id='{id}'] button[data-action='verify-offsite']"),
                "オフサイト検証",
            )
            .await
            .click()
            .await
            .unwrap();
        let result = browser
            .text_appears(".notice[data-offsite-check]", "オフサイト検証 PASS")
            .await;
        assert_eq!(
            result.attr("data-offsite-check").await.unwrap().as_deref(),
            Some("pass")
        );
        assert!(result.text().await.unwrap().contains("s3://"));
        browser.screenshot("copies-offsite-verified").await;

        // The same in English.
        browser.click("#lang-toggle").await;
        browser.text_appears("#backup-table th", "Copies").await;
        browser.text_appears(&missing, "local missing").await;
        browser.text_appears(&offsite, "Offsite").await;
        browser.client.set_window_size(420, 900).await.unwrap();
        browser
            .script(&format!(
                "document.querySelector(\"{cell}\").scrollIntoView({{ block: 'center' }})"
            ))
            .await;
        browser.screenshot("copies-english-narrow").await;
        browser.close().await;
    });
}
