//! Offsite copies: each successful backup copied to an S3-compatible bucket
//! (guide §7.3 方法3), optionally encrypted to an age key, read back and
//! checked before the catalog calls it stored.
//!
//! - [`settings`]: where the bucket is and how to reach it.
//! - [`crypt`]: the age key that encrypts copies at rest in the bucket.
//! - [`bucket`]: the bucket itself: upload (multipart, streaming, hashed in
//!   the same pass), read-back check, download for a restore, delete.
//!
//! Local backup files stay the guide's plain `.db.gz`, so the guide's own
//! manual restore (`gunzip -c`) keeps working on the host; what leaves the
//! host is what encryption protects. Nothing here knows the catalog or the
//! queue: the worker's offsite job records what happened.

pub mod bucket;
pub mod crypt;
mod error;
mod parts;

pub use bucket::{Bucket, Fetched, Uploaded};
pub use crypt::Key;
pub use error::OffsiteError;

use crate::domain::BackupId;

/// Suffix of an object encrypted with age.
pub const ENCRYPTED_SUFFIX: &str = ".age";

/// The object key of `id`'s copy under `prefix`: the local relative path
/// (`daily/itsm_nexus_….db.gz`), plus `.age` when encrypted.
pub fn object_key(prefix: &str, id: &BackupId, encrypted: bool) -> String {
    let mut key = String::new();
    let prefix = prefix.trim_matches('/');
    if !prefix.is_empty() {
        key.push_str(prefix);
        key.push('/');
    }
    key.push_str(&format!("{}/{}", id.backup_type().folder(), id.file_name()));
    if encrypted {
        key.push_str(ENCRYPTED_SUFFIX);
    }
    key
}

/// The key of the manifest stored beside the object of `id`.
pub fn manifest_key(prefix: &str, id: &BackupId) -> String {
    format!("{}.json", object_key(prefix, id, false))
}

/// Runs `work` to its end from synchronous code (a restore runs on a
/// blocking thread), on a runtime of its own in a thread of its own, so it
/// works whether or not the caller is inside a Tokio runtime.
pub fn block_on<T: Send>(work: impl Future<Output = T> + Send) -> Result<T, OffsiteError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map(|runtime| runtime.block_on(work))
            })
            .join()
            .map_err(|_| OffsiteError::Stopped("the offsite thread panicked".into()))?
            .map_err(|e| OffsiteError::Stopped(format!("cannot start a runtime: {e}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_mirror_the_local_layout_under_the_prefix() {
        let id = BackupId::parse("BKP-20260131-020000-daily").unwrap();
        assert_eq!(
            object_key("nexus/", &id, false),
            "nexus/daily/itsm_nexus_daily_20260131_020000.db.gz"
        );
        assert_eq!(
            object_key("", &id, true),
            "daily/itsm_nexus_daily_20260131_020000.db.gz.age"
        );
        assert_eq!(
            manifest_key("a/b", &id),
            "a/b/daily/itsm_nexus_daily_20260131_020000.db.gz.json"
        );
    }
}
