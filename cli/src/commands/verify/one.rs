//! One verification run here with the shared [`VerificationRunner`] (the
//! worker's): begin it, run it, and hand the alert of a failure to the
//! workers' mailer.

use std::time::Duration;

use nexus_shared::catalog::{AuditSource, Begun, CatalogError, Verification, VerificationStatus};
use nexus_shared::domain::{BackupId, CheckId};
use nexus_shared::runner::{Outcome, VerificationRunner};

use super::super::{Env, cli_user};
use crate::exit::{CliError, FAILURE};

/// Verifies `id`, or, if it is being verified already, waits for that
/// verification when `wait` (else skips it: `None`). A backup that did not
/// succeed cannot be verified: an error when `wait`, else skipped.
pub async fn verify(
    env: &Env,
    id: &BackupId,
    wait: bool,
) -> Result<Option<Verification>, CliError> {
    let runner = VerificationRunner {
        catalog: &env.catalog,
        settings: &env.settings,
        owner: Env::owner(),
        audit_source: AuditSource::Cli,
    };
    let begun = runner.begin(id, &cli_user()).map_err(|e| match e {
        CatalogError::NotFound => CliError::new(FAILURE, format!("Error: no backup {id}")),
        other => anyhow::Error::from(other).into(),
    })?;
    let v = match begun {
        Begun::Started(v) => v,
        Begun::AlreadyRunning(v) if wait => return wait_for(env, &v.check_id).await.map(Some),
        Begun::NotVerifiable(status) if wait => {
            return Err(CliError::new(
                FAILURE,
                format!("Error: backup {id} is {status}: only a successful backup can be verified"),
            ));
        }
        _ => return Ok(None),
    };
    let check_id = v.check_id.clone();
    match env
        .run_here(|| runner.execute(v.clone()), |w| eprintln!("{w}"))
        .await?
    {
        Outcome::Succeeded(verified) => {
            if let Some(alert) = verified.alert {
                // Mailed by a worker; a queue that refuses never fails the command.
                if let Err(warning) = env.queue_alert(alert).await {
                    tracing::warn!("{warning}");
                }
            }
        }
        Outcome::HandedOver(reason) => {
            return Err(CliError::new(FAILURE, format!("Error: {reason}")));
        }
        other => {
            return Err(CliError::new(
                FAILURE,
                format!("Error: verification {check_id} did not run: {other:?}"),
            ));
        }
    }
    Ok(Some(
        env.catalog
            .get_verification(&check_id)
            .map_err(anyhow::Error::from)?,
    ))
}

/// Waits for a verification someone else runs.
async fn wait_for(env: &Env, check_id: &CheckId) -> Result<Verification, CliError> {
    loop {
        let v = env
            .catalog
            .get_verification(check_id)
            .map_err(anyhow::Error::from)?;
        if v.status != VerificationStatus::InProgress {
            return Ok(v);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
