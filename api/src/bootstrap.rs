//! The first admin (SPEC §9, §10). There is no default password: the admin
//! is created from `NEXUS_ADMIN_PASSWORD`, or, when none is configured and
//! no user exists yet, with a generated password that is printed once.

use anyhow::Context as _;
use nexus_shared::catalog::{AuditEntry, AuditResult, AuditSource, Catalog};
use nexus_shared::domain::Role;
use nexus_shared::password;
use nexus_shared::settings::Settings;

/// What start-up did about the first admin.
pub enum FirstAdmin {
    AlreadyThere,
    Created { username: String },
    Generated { username: String, password: String },
}

pub fn ensure_first_admin(catalog: &Catalog, settings: &Settings) -> anyhow::Result<FirstAdmin> {
    if catalog.count_users()? > 0 {
        return Ok(FirstAdmin::AlreadyThere);
    }
    let (secret, generated) = match &settings.admin_password {
        Some(p) => {
            password::check_strength(p.expose())
                .map_err(|why| anyhow::anyhow!("NEXUS_ADMIN_PASSWORD is refused: {why}"))?;
            (p.expose().to_owned(), false)
        }
        None => (password::generate(), true),
    };
    let hash = password::hash(&secret)?;
    let username = settings.admin_user.clone();
    let Some(user) = catalog
        .create_first_user(&username, &hash, Role::Admin)
        .context("cannot create the first admin")?
    else {
        return Ok(FirstAdmin::AlreadyThere); // another process was first
    };
    catalog.append_audit(&AuditEntry {
        actor_id: Some(user.id),
        ..AuditEntry::system(
            AuditSource::System,
            "user.create_first_admin",
            AuditResult::Success,
        )
        .target(username.clone())
    })?;
    Ok(if generated {
        FirstAdmin::Generated {
            username,
            password: secret,
        }
    } else {
        FirstAdmin::Created { username }
    })
}
