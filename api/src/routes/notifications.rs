//! `POST /api/v1/notifications/test` (admin): sends a test mail now and
//! says who got it, or what the SMTP server answered (guide §8.6).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use nexus_shared::alert::Alert;
use nexus_shared::alert::mail::{MailError, Mailer};
use nexus_shared::catalog::{AuditEntry, AuditResult, AuditSource};
use serde_json::{Value, json};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/notifications/test", post(send_test))
}

async fn send_test(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    user: AuthUser,
) -> Result<Json<Value>, ApiError> {
    user.require_admin()?;
    let rendered = Alert::Test {
        requested_by: user.username.clone(),
        at: Utc::now(),
    }
    .render(state.settings.tz(), &addr.ip().to_string());
    let result = match Mailer::new(&state.settings.smtp) {
        Ok(mailer) => mailer.send(&rendered).await,
        Err(e) => Err(e),
    };
    let entry = AuditEntry {
        actor: user.username.clone(),
        actor_id: Some(user.id),
        source: AuditSource::Api,
        remote_addr: Some(addr.ip().to_string()),
        action: "notification.test",
        target: None,
        result: if result.is_ok() {
            AuditResult::Success
        } else {
            AuditResult::Failure
        },
        detail: Some(match &result {
            Ok(to) => format!("to {}", to.join(", ")),
            Err(e) => e.to_string(),
        }),
    };
    state.catalog(move |c| c.append_audit(&entry)).await?;
    match result {
        Ok(recipients) => Ok(Json(
            json!({ "sent": true, "recipients": recipients, "subject": rendered.subject }),
        )),
        Err(
            e @ (MailError::NotConfigured | MailError::NoRecipients | MailError::BadAddress { .. }),
        ) => Err(ApiError::MailNotConfigured(e.to_string())),
        Err(MailError::Smtp { server, reason }) => Err(ApiError::SmtpFailed { server, reason }),
    }
}
