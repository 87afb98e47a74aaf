#![forbid(unsafe_code)]
//! Nexus Backup's shared crate: domain types, settings, the catalog store,
//! the backup engine and the job queue.

pub mod catalog;
pub mod demo;
pub mod domain;
pub mod engine;
pub mod fsutil;
pub mod password;
pub mod queue;
pub mod settings;
pub mod signals;
