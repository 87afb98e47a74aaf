//! What can go wrong with an offsite copy, with the code recorded and sent
//! to clients, and whether trying again may help.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum OffsiteError {
    #[error("offsite copies are not configured (no bucket)")]
    NotConfigured,
    #[error("the offsite settings are not valid: {0}")]
    Settings(String),
    /// The bucket did not answer, or answered with an error.
    #[error("the bucket answered: {0}")]
    Store(#[from] object_store::Error),
    #[error("the upload stopped: {0}")]
    Stopped(String),
    #[error("the local backup file is missing: {}", path.display())]
    LocalMissing { path: PathBuf },
    #[error(
        "the local backup file's checksum {actual} differs from the recorded {expected}: not uploaded"
    )]
    LocalChecksumMismatch {
        expected: crate::domain::Checksum,
        actual: crate::domain::Checksum,
    },
    #[error("the object in the bucket does not match: {detail}")]
    ObjectMismatch { detail: String },
    #[error("the offsite copy is encrypted (to {recipient}) and no encryption key is configured")]
    KeyMissing { recipient: String },
    #[error(
        "the offsite copy is encrypted to {recipient}, but the configured key is for {configured}: \
         wrong key, nothing was decrypted"
    )]
    WrongKey {
        recipient: String,
        configured: String,
    },
    #[error("cannot use the encryption key {}: {message}", path.display())]
    KeyFile { path: PathBuf, message: String },
    #[error("cannot decrypt the offsite copy: {0}")]
    Decrypt(String),
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl OffsiteError {
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        OffsiteError::Io {
            what,
            path: path.into(),
            source,
        }
    }

    /// The snake_case code recorded and sent to clients.
    pub fn code(&self) -> &'static str {
        match self {
            OffsiteError::NotConfigured => "offsite_not_configured",
            OffsiteError::Settings(_) => "offsite_settings_invalid",
            OffsiteError::Store(object_store::Error::NotFound { .. }) => "offsite_object_missing",
            OffsiteError::Store(_) | OffsiteError::Stopped(_) => "offsite_unreachable",
            OffsiteError::LocalMissing { .. } => "backup_missing",
            OffsiteError::LocalChecksumMismatch { .. } => "checksum_mismatch",
            OffsiteError::ObjectMismatch { .. } => "offsite_checksum_mismatch",
            OffsiteError::KeyMissing { .. } => "encryption_key_missing",
            OffsiteError::WrongKey { .. } => "encryption_key_wrong",
            OffsiteError::KeyFile { .. } => "encryption_key_invalid",
            OffsiteError::Decrypt(_) => "offsite_decrypt_failed",
            OffsiteError::Io { .. } => "io_error",
        }
    }

    /// Whether the same try later may succeed: the bucket was unreachable
    /// or busy. A mismatch or a key problem will not mend by itself.
    pub fn is_transient(&self) -> bool {
        match self {
            OffsiteError::Store(object_store::Error::NotFound { .. }) => false,
            OffsiteError::Store(_) | OffsiteError::Stopped(_) => true,
            // An upload whose read-back did not match is tried again whole.
            OffsiteError::ObjectMismatch { .. } => true,
            _ => false,
        }
    }
}
