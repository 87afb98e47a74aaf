#![forbid(unsafe_code)]
//! Nexus Backup's shared crate: domain types, settings, the catalog store,
//! the backup engine and the job queue.

pub use nexus_domain as domain;
pub use nexus_engine as engine;
pub use nexus_engine::fsutil;

pub mod alert;
pub mod blocking;
pub mod catalog;
pub mod crypto;
pub mod demo;
pub mod offsite;
pub mod password;
pub mod queue;
pub mod retention;
pub mod runner;
pub mod schedule;
pub mod service;
pub mod settings;
pub mod signals;
pub mod stores;
pub mod telemetry;
pub mod views;

/// The name of the operating-system user running this process, for audit
/// entries of CLI actions.
pub fn os_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("uid:{}", nix::unistd::geteuid()))
}
