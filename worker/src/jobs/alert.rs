//! The alert job: mails an alert to the operators. A failed delivery is
//! logged and returned as an error so the queue tries again; it never
//! touches the backup or check that caused it.

use nexus_shared::alert::Alert;
use nexus_shared::alert::mail::{MailError, Mailer};
use nexus_shared::catalog::{AuditEntry, AuditResult, AuditSource};

use crate::JobContext;

pub async fn run(ctx: &JobContext, alert: Alert) -> anyhow::Result<String> {
    let rendered = alert.render(ctx.settings.tz(), &host_name());
    let kind = alert.kind();
    let mailer = match Mailer::new(&ctx.settings.smtp) {
        Ok(mailer) => mailer,
        Err(e @ (MailError::NotConfigured | MailError::NoRecipients)) => {
            tracing::warn!(kind, subject = %rendered.subject, "alert not mailed: {e}");
            audit(ctx, kind, AuditResult::Failure, format!("not mailed: {e}")).await;
            return Ok(format!("{kind}: not mailed ({})", e.code()));
        }
        Err(e) => {
            // A bad address will not get better by retrying.
            tracing::error!(kind, error = %e, "alert not mailed: the mail settings are wrong");
            audit(ctx, kind, AuditResult::Failure, e.to_string()).await;
            return Ok(format!("{kind}: not mailed ({})", e.code()));
        }
    };
    match mailer.send(&rendered).await {
        Ok(to) => {
            tracing::info!(kind, to = ?to, subject = %rendered.subject, "alert mailed");
            audit(
                ctx,
                kind,
                AuditResult::Success,
                format!("to {}", to.join(", ")),
            )
            .await;
            Ok(format!("{kind}: mailed to {}", to.join(", ")))
        }
        Err(e) => {
            tracing::warn!(kind, error = %e, "alert mail failed; the queue will try again");
            audit(ctx, kind, AuditResult::Failure, e.to_string()).await;
            Err(e.into())
        }
    }
}

async fn audit(ctx: &JobContext, kind: &'static str, result: AuditResult, detail: String) {
    let entry = AuditEntry::system(AuditSource::Worker, "alert.send", result)
        .target(kind)
        .detail(detail);
    if let Err(e) = ctx.blocking(move |c| c.append_audit(&entry)).await {
        tracing::error!(error = %e, "cannot write the audit log");
    }
}

fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Enqueues an alert; a queue failure is logged, never passed on, so an
/// alert can never fail the work that raised it.
pub async fn raise(ctx: &JobContext, alert: Alert) {
    let kind = alert.kind();
    if let Err(e) = ctx
        .queue
        .push(nexus_shared::queue::Job::Alert { alert }, None)
        .await
    {
        tracing::error!(kind, error = %e, "cannot enqueue an alert");
    }
}
