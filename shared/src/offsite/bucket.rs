//! The bucket: streaming multipart upload hashed in the same pass, a
//! read-back of the stored object's SHA-256, download (and decryption) for a
//! restore, and deletion. Memory stays bounded by the parts in flight.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt as _;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStoreExt as _, RetryConfig, WriteMultipart};
use tokio::sync::mpsc;

use super::parts::produce;
use super::{Key, OffsiteError, object_key};
use crate::catalog::OffsiteCopy;
use crate::domain::BackupId;
use crate::domain::Checksum;
use crate::engine::reading::HashingWriter;
use crate::fsutil;
use crate::settings::OffsiteSettings;

/// A configured bucket, with the encryption key when one is set.
#[derive(Clone)]
pub struct Bucket {
    store: Arc<AmazonS3>,
    settings: OffsiteSettings,
    key: Option<Key>,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("location", &self.location(""))
            .field("encrypted", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// What an upload stored, checked by reading the object back.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub object_key: String,
    pub object_size: u64,
    pub object_checksum: Checksum,
    /// The age recipient, when encrypted.
    pub encrypted_to: Option<String>,
}

/// A copy brought back from the bucket as a plain `.db.gz`, checked
/// against the recorded checksum. Dropping it removes the file.
#[derive(Debug)]
pub struct Fetched {
    path: PathBuf,
}

impl Fetched {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Fetched {
    fn drop(&mut self) {
        if let Err(e) = fsutil::remove_if_exists(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot remove a fetched offsite copy");
        }
    }
}

impl Bucket {
    /// Connects (lazily: no request is made here) to the configured bucket
    /// and loads the encryption key, if one is configured.
    pub fn open(settings: &OffsiteSettings) -> Result<Bucket, OffsiteError> {
        let bucket = settings
            .bucket
            .as_deref()
            .filter(|b| !b.is_empty())
            .ok_or(OffsiteError::NotConfigured)?;
        crate::crypto::install();
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(&settings.region)
            .with_allow_http(settings.allow_http)
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(settings.allow_http)
                    .with_timeout(settings.timeout())
                    .with_connect_timeout(std::time::Duration::from_secs(10)),
            )
            // A few quick retries inside one try; the queue retries the job.
            .with_retry(RetryConfig {
                max_retries: 2,
                retry_timeout: std::time::Duration::from_secs(20),
                ..RetryConfig::default()
            });
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false);
        }
        if let Some(id) = &settings.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret.expose());
        }
        let store = builder
            .build()
            .map_err(|e| OffsiteError::Settings(e.to_string()))?;
        let key = settings
            .encryption_key_file
            .as_deref()
            .map(Key::load)
            .transpose()?;
        Ok(Bucket {
            store: Arc::new(store),
            settings: settings.clone(),
            key,
        })
    }

    /// `s3://<bucket>/<key>`, for people.
    pub fn location(&self, key: &str) -> String {
        format!(
            "s3://{}/{key}",
            self.settings.bucket.as_deref().unwrap_or_default()
        )
    }

    pub fn key(&self) -> Option<&Key> {
        self.key.as_ref()
    }

    /// The key the copy of `id` gets with the present settings.
    pub fn object_key_for(&self, id: &BackupId) -> String {
        object_key(&self.settings.prefix, id, self.key.is_some())
    }

    /// Uploads the local `.db.gz` of `id` (encrypted when a key is set) in
    /// parts, hashing the file and the object as they stream. The object is
    /// only completed if the file matches `expected_checksum`; a cut-off
    /// upload is aborted and leaves no object. Then reads the object back
    /// and compares its SHA-256.
    pub async fn upload(
        &self,
        local: &Path,
        id: &BackupId,
        expected_checksum: &Checksum,
    ) -> Result<Uploaded, OffsiteError> {
        let object_key = self.object_key_for(id);
        let location = ObjectPath::from(object_key.as_str());
        let part_size = self.settings.part_size();
        let input = File::open(local).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => OffsiteError::LocalMissing {
                path: local.to_path_buf(),
            },
            _ => OffsiteError::io("cannot open the backup file", local, e),
        })?;

        let (tx, mut rx) = mpsc::channel::<Bytes>(1);
        let key = self.key.clone();
        let local_path = local.to_path_buf();
        let producer =
            crate::blocking::spawn(move || produce(input, &local_path, key, part_size, tx));

        let upload = self.store.put_multipart(&location).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, part_size);
        let concurrency = self.settings.concurrency.max(1);
        let mut sent = Ok(());
        while let Some(part) = rx.recv().await {
            if let Err(e) = writer.wait_for_capacity(concurrency).await {
                sent = Err(e);
                break;
            }
            writer.put(part);
        }
        drop(rx); // stops the producer if the upload broke off
        let produced = producer
            .await
            .map_err(|e| OffsiteError::Stopped(format!("the reading thread failed: {e}")))?;
        let outcome = match (sent, produced) {
            (Err(e), _) => Err(OffsiteError::Store(e)),
            (Ok(()), Err(e)) => Err(e),
            (Ok(()), Ok(p)) if p.file_checksum != *expected_checksum => {
                Err(OffsiteError::LocalChecksumMismatch {
                    expected: expected_checksum.clone(),
                    actual: p.file_checksum,
                })
            }
            (Ok(()), Ok(p)) => Ok(p),
        };
        let produced = match outcome {
            Ok(p) => p,
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, "cannot abort the multipart upload; the bucket's lifecycle rules clean it up");
                }
                return Err(e);
            }
        };
        writer.finish().await?;

        let (size, checksum) = self.object_checksum(&object_key).await?;
        if size != produced.object_size || checksum != produced.object_checksum {
            return Err(OffsiteError::ObjectMismatch {
                detail: format!(
                    "uploaded {} bytes with {}, the bucket holds {size} bytes with {checksum}",
                    produced.object_size, produced.object_checksum
                ),
            });
        }
        Ok(Uploaded {
            object_key,
            object_size: size,
            object_checksum: checksum,
            encrypted_to: self.key.as_ref().map(Key::recipient),
        })
    }

    /// Stores a small file (the manifest) under `key` in one request.
    pub async fn put_small(&self, key: &str, local: &Path) -> Result<(), OffsiteError> {
        let body = tokio::fs::read(local)
            .await
            .map_err(|e| OffsiteError::io("cannot read", local, e))?;
        self.store.put(&ObjectPath::from(key), body.into()).await?;
        Ok(())
    }

    /// Streams the object and returns its size and `sha256:<hex>`.
    pub async fn object_checksum(&self, key: &str) -> Result<(u64, Checksum), OffsiteError> {
        self.stream_object(key, None).await
    }

    /// Downloads the copy into `dest` (a new file) as the plain `.db.gz`:
    /// the object's SHA-256 is checked against the record, it is decrypted
    /// when encrypted, and the result must have the recorded checksum.
    pub async fn fetch(
        &self,
        expected: &OffsiteCopy,
        dest: &Path,
    ) -> Result<Fetched, OffsiteError> {
        let raw = sibling(dest, ".download");
        fsutil::remove_if_exists(&raw).map_err(|e| OffsiteError::io("cannot remove", &raw, e))?;
        let raw_file = TempFile(raw.clone());
        let (_, object_checksum) = self.stream_object(&expected.object_key, Some(&raw)).await?;
        if let Some(recorded) = &expected.object_checksum
            && *recorded != object_checksum
        {
            return Err(OffsiteError::ObjectMismatch {
                detail: format!(
                    "{} has {object_checksum}, recorded {recorded}",
                    self.location(&expected.object_key)
                ),
            });
        }
        // The `.db.gz` inside is hashed on its way to `dest`: the object
        // itself when plain, the decrypted stream when encrypted.
        let (fetched, checksum) = match expected.encrypted_to.as_deref() {
            None => {
                std::fs::rename(&raw, dest)
                    .map_err(|e| OffsiteError::io("cannot rename the download to", dest, e))?;
                let fetched = Fetched {
                    path: dest.to_path_buf(),
                };
                (fetched, object_checksum)
            }
            Some(recipient) => {
                let key = self.key.clone().ok_or_else(|| OffsiteError::KeyMissing {
                    recipient: recipient.to_owned(),
                })?;
                let (raw, dest_path, recipient) =
                    (raw.clone(), dest.to_path_buf(), recipient.to_owned());
                let checksum = crate::blocking::blocking(move || {
                    decrypt_file(&key, &raw, &dest_path, &recipient)
                })
                .await
                .map_err(|e| {
                    OffsiteError::Decrypt(format!("the decrypting thread failed: {e}"))
                })??;
                let fetched = Fetched {
                    path: dest.to_path_buf(),
                };
                (fetched, checksum)
            }
        };
        drop(raw_file);
        if checksum != expected.checksum {
            return Err(OffsiteError::ObjectMismatch {
                detail: format!(
                    "the backup inside {} has {checksum}, recorded {}",
                    self.location(&expected.object_key),
                    expected.checksum
                ),
            });
        }
        Ok(fetched)
    }

    /// Streams the object, into the new file `dest` if given; returns its
    /// size and SHA-256.
    async fn stream_object(
        &self,
        key: &str,
        dest: Option<&Path>,
    ) -> Result<(u64, Checksum), OffsiteError> {
        let mut stream = self.store.get(&ObjectPath::from(key)).await?.into_stream();
        let mut out = match dest {
            Some(path) => Some(tokio::fs::File::from_std(
                fsutil::create_private_file(path)
                    .map_err(|e| OffsiteError::io("cannot create", path, e))?,
            )),
            None => None,
        };
        let mut hashed = HashingWriter::new(std::io::sink());
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            hashed
                .write_all(&chunk)
                .expect("writing to a sink never fails");
            if let (Some(out), Some(path)) = (out.as_mut(), dest) {
                tokio::io::AsyncWriteExt::write_all(out, &chunk)
                    .await
                    .map_err(|e| OffsiteError::io("cannot write", path, e))?;
            }
        }
        if let (Some(out), Some(path)) = (out.as_mut(), dest) {
            tokio::io::AsyncWriteExt::flush(out)
                .await
                .map_err(|e| OffsiteError::io("cannot write", path, e))?;
        }
        let (_, size, checksum) = hashed.finish();
        Ok((size, checksum))
    }

    /// Removes the object and its manifest; one already gone is no error.
    pub async fn delete(&self, keys: &[String]) -> Result<(), OffsiteError> {
        for key in keys {
            match self.store.delete(&ObjectPath::from(key.as_str())).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// Removes a file when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fsutil::remove_if_exists(&self.0);
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Decrypts `raw` into the new file `dest`; returns the SHA-256 of what
/// was written.
fn decrypt_file(
    key: &Key,
    raw: &Path,
    dest: &Path,
    recipient: &str,
) -> Result<Checksum, OffsiteError> {
    let input = File::open(raw).map_err(|e| OffsiteError::io("cannot open", raw, e))?;
    let mut plain = key.decrypt(input, recipient)?;
    let out = fsutil::create_private_file(dest)
        .map_err(|e| OffsiteError::io("cannot create", dest, e))?;
    let mut out = HashingWriter::new(BufWriter::new(out));
    let copied = io::copy(&mut plain, &mut out).and_then(|_| out.flush());
    if let Err(e) = copied {
        let _ = fsutil::remove_if_exists(dest);
        return Err(OffsiteError::Decrypt(e.to_string()));
    }
    let (_, _, checksum) = out.finish();
    Ok(checksum)
}
