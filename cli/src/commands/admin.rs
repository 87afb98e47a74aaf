//! `create-admin`: the one-time creation of the first admin (SPEC §9), and
//! password resets. The password comes from stdin or is generated.

use std::io::BufRead as _;

use nexus_shared::catalog::{AuditEntry, AuditResult, AuditSource, CatalogError};
use nexus_shared::domain::Role;
use nexus_shared::password;

use super::Env;
use crate::exit::{CliError, FAILURE};

#[derive(clap::Args)]
pub struct Args {
    /// The user name [default: NEXUS_ADMIN_USER, or admin].
    #[arg(long)]
    username: Option<String>,
    /// The role of a new user.
    #[arg(long, default_value = "admin", value_parser = ["admin", "operator", "viewer"])]
    role: String,
    /// Read the password from the first line of standard input instead of
    /// generating one.
    #[arg(long)]
    password_stdin: bool,
    /// Set a new password for an existing user.
    #[arg(long)]
    reset: bool,
}

pub fn run(env: &Env, args: Args) -> Result<(), CliError> {
    let username = args
        .username
        .unwrap_or_else(|| env.settings.admin_user.clone());
    let role: Role = args
        .role
        .parse()
        .map_err(|e| CliError::usage(format!("{e}")))?;
    let (secret, generated) = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(anyhow::Error::from)?;
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        password::check_strength(&line).map_err(|why| CliError::usage(why.to_owned()))?;
        (line, false)
    } else {
        (password::generate(), true)
    };
    let hash = password::hash(&secret).map_err(anyhow::Error::from)?;
    let action = if args.reset {
        env.catalog
            .set_password(&username, &hash)
            .map_err(|e| match e {
                CatalogError::NotFound => {
                    CliError::new(FAILURE, format!("Error: there is no user {username:?}"))
                }
                other => anyhow::Error::from(other).into(),
            })?;
        "user.reset_password"
    } else {
        env.catalog
            .create_user(&username, &hash, role)
            .map_err(|e| match e {
                CatalogError::Conflict(_) => CliError::new(
                    FAILURE,
                    format!(
                        "Error: user {username:?} exists already; use --reset to set a new password"
                    ),
                ),
                other => anyhow::Error::from(other).into(),
            })?;
        "user.create"
    };
    let mut entry =
        AuditEntry::system(AuditSource::Cli, action, AuditResult::Success).target(username.clone());
    entry.actor = nexus_shared::os_user();
    env.catalog
        .append_audit(&entry)
        .map_err(anyhow::Error::from)?;
    if generated {
        println!("User '{username}' ({role}): password {secret}");
        println!("Shown only this once: keep it now.");
    } else {
        println!("User '{username}' ({role}): password set.");
    }
    Ok(())
}
