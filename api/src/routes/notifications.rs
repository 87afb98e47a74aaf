//! `POST /api/v1/notifications/test` (admin): sends a test mail now and
//! says who got it, or what the SMTP server answered (guide §8.6).

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use chrono::Utc;
use nexus_shared::alert::Alert;
use nexus_shared::alert::mail::{MailError, Mailer};
use nexus_shared::catalog::{AuditEntry, AuditResult};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AuthUser, audit_entry};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(send_test))
}

/// The test mail went out.
#[derive(Serialize, ToSchema)]
struct Sent {
    /// Always `true`.
    sent: bool,
    recipients: Vec<String>,
    subject: String,
}

/// Send a test mail to the alert recipients
#[utoipa::path(
    post,
    path = "/notifications/test",
    operation_id = "send_test_mail",
    tag = "maintenance",
    security(("bearer" = [])),
    extensions(("x-required-role" = json!("admin"))),
    responses(
        (status = 200, description = "Sent", body = Sent),
        (status = 502, description = "`smtp_error`: the SMTP server refused or did not answer; `details` has `smtp_server` and `reason`", body = ErrorBody),
        (status = 503, description = "`mail_not_configured`: no SMTP server, no recipients, or a bad address", body = ErrorBody),
    )
)]
async fn send_test(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    user: AuthUser,
) -> Result<Json<Sent>, ApiError> {
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
        result: if result.is_ok() {
            AuditResult::Success
        } else {
            AuditResult::Failure
        },
        detail: Some(match &result {
            Ok(to) => format!("to {}", to.join(", ")),
            Err(e) => e.to_string(),
        }),
        ..audit_entry(&user, addr, "notification.test")
    };
    state.catalog(move |c| c.append_audit(&entry)).await?;
    match result {
        Ok(recipients) => Ok(Json(Sent {
            sent: true,
            recipients,
            subject: rendered.subject,
        })),
        Err(
            e @ (MailError::NotConfigured | MailError::NoRecipients | MailError::BadAddress { .. }),
        ) => Err(ApiError::MailNotConfigured(e.to_string())),
        Err(MailError::Smtp { server, reason }) => Err(ApiError::SmtpFailed { server, reason }),
    }
}
