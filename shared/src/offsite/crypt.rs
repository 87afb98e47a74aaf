//! Encryption at rest of offsite copies with age (X25519): a copy is
//! encrypted to the public key of the configured identity file before it
//! leaves the host, and decrypted with that identity when it comes back.
//! The format is the standard one: `age -d -i <key file>` reads a copy by
//! hand. A copy made for another key is refused by name, never decrypted
//! into garbage (age authenticates every 64 KiB chunk).

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::iter;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use age::x25519::{Identity, Recipient};

use super::OffsiteError;
use crate::fsutil;

/// The first bytes of every age file.
pub const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";

/// An age identity: decrypts copies, and names the public key they are
/// encrypted to.
#[derive(Clone)]
pub struct Key {
    identity: Identity,
    path: PathBuf,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("path", &self.path)
            .field("recipient", &self.recipient())
            .finish_non_exhaustive()
    }
}

impl Key {
    /// Reads an identity file as `age-keygen` writes it: `#` comments and
    /// one `AGE-SECRET-KEY-1…` line.
    pub fn load(path: &Path) -> Result<Key, OffsiteError> {
        let invalid = |message: String| OffsiteError::KeyFile {
            path: path.to_path_buf(),
            message,
        };
        let text = fs::read_to_string(path).map_err(|e| invalid(e.to_string()))?;
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .ok_or_else(|| invalid("no AGE-SECRET-KEY line".into()))?;
        let identity = Identity::from_str(line)
            .map_err(|_| invalid("not an age X25519 identity (AGE-SECRET-KEY-1…)".into()))?;
        Ok(Key {
            identity,
            path: path.to_path_buf(),
        })
    }

    /// Makes a new identity and writes it to the new file `path` (mode
    /// 0600), in `age-keygen`'s format. Never overwrites a file.
    pub fn generate(path: &Path) -> Result<Key, OffsiteError> {
        let identity = Identity::generate();
        let text = format!(
            "# created: {}\n# public key: {}\n{}\n",
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            identity.to_public(),
            identity.to_string().expose_secret()
        );
        let mut file = fsutil::create_private_file(path)
            .map_err(|e| OffsiteError::io("cannot create the key file", path, e))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| OffsiteError::io("cannot write the key file", path, e))?;
        Ok(Key {
            identity,
            path: path.to_path_buf(),
        })
    }

    /// The public key copies are encrypted to (`age1…`).
    pub fn recipient(&self) -> String {
        self.identity.to_public().to_string()
    }

    /// Wraps `output` so that what is written to it is encrypted to this
    /// key. `finish` the returned writer to write the last chunk.
    pub fn encrypt<W: Write>(
        &self,
        output: W,
    ) -> Result<age::stream::StreamWriter<W>, OffsiteError> {
        let recipient: Recipient = self.identity.to_public();
        let encryptor =
            age::Encryptor::with_recipients(iter::once(&recipient as &dyn age::Recipient))
                .map_err(|e| OffsiteError::Decrypt(format!("cannot encrypt: {e}")))?;
        encryptor
            .wrap_output(output)
            .map_err(|e| OffsiteError::Decrypt(format!("cannot encrypt: {e}")))
    }

    /// Reads the age file `input` (encrypted to `recipient`, as recorded).
    /// Refuses at once, before any plaintext, when this is not its key.
    pub fn decrypt<R: Read>(&self, input: R, recipient: &str) -> Result<impl Read, OffsiteError> {
        let decryptor = age::Decryptor::new(BufReader::new(input))
            .map_err(|e| OffsiteError::Decrypt(format!("not a readable age file: {e}")))?;
        decryptor
            .decrypt(iter::once(&self.identity as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => OffsiteError::WrongKey {
                    recipient: recipient.to_owned(),
                    configured: self.recipient(),
                },
                other => OffsiteError::Decrypt(other.to_string()),
            })
    }
}

/// Whether `head` (the first bytes of a file) is an age file.
pub fn looks_encrypted(mut head: impl BufRead) -> bool {
    head.fill_buf().is_ok_and(|b| b.starts_with(AGE_MAGIC))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(key: &Key, data: &[u8]) -> Vec<u8> {
        let mut sealed = Vec::new();
        let mut w = key.encrypt(&mut sealed).unwrap();
        w.write_all(data).unwrap();
        w.finish().unwrap();
        assert!(looks_encrypted(&sealed[..]));
        let mut out = Vec::new();
        key.decrypt(&sealed[..], &key.recipient())
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn a_generated_key_reads_back_and_round_trips_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsite.key");
        let made = Key::generate(&path).unwrap();
        let loaded = Key::load(&path).unwrap();
        assert_eq!(made.recipient(), loaded.recipient());
        assert!(made.recipient().starts_with("age1"));
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(round_trip(&loaded, &data), data);
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&fs::metadata(&path).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn another_key_is_refused_by_name_and_yields_no_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let right = Key::generate(&dir.path().join("right.key")).unwrap();
        let wrong = Key::generate(&dir.path().join("wrong.key")).unwrap();
        let mut sealed = Vec::new();
        let mut w = right.encrypt(&mut sealed).unwrap();
        w.write_all(b"secret rows").unwrap();
        w.finish().unwrap();
        let err = wrong
            .decrypt(&sealed[..], &right.recipient())
            .err()
            .expect("the wrong key must be refused");
        assert_eq!(err.code(), "encryption_key_wrong");
        assert!(err.to_string().contains(&right.recipient()), "{err}");
    }

    #[test]
    fn a_key_file_without_a_key_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.key");
        fs::write(&path, "# nothing here\n").unwrap();
        let err = Key::load(&path).unwrap_err();
        assert_eq!(err.code(), "encryption_key_invalid");
        assert!(err.to_string().contains("AGE-SECRET-KEY"), "{err}");
    }

    #[test]
    fn generate_never_overwrites_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsite.key");
        let first = Key::generate(&path).unwrap();
        assert!(Key::generate(&path).is_err());
        assert_eq!(Key::load(&path).unwrap().recipient(), first.recipient());
    }
}
