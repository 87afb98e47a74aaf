//! Values of the configuration that are more than a string: secrets that
//! never reach a log, and timezone names checked when they are read.

use std::fmt;

use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value that must never appear in logs: `Debug` prints `***`, and so
/// does serializing it (the settings are serialized only to be compared
/// or shown).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares with a token a client sent, in constant time: the digests
    /// have one length whatever the inputs, so neither the content nor the
    /// length of the secret leaks.
    pub fn matches(&self, given: &str) -> bool {
        use sha2::{Digest, Sha256};
        use subtle::ConstantTimeEq;
        Sha256::digest(given.as_bytes())
            .ct_eq(&Sha256::digest(self.0.as_bytes()))
            .into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

/// An IANA timezone name such as `Asia/Tokyo`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timezone(pub Tz);

impl<'de> Deserialize<'de> for Timezone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<Tz>()
            .map(Timezone)
            .map_err(|_| serde::de::Error::custom(format!("unknown timezone {s:?}")))
    }
}

impl Serialize for Timezone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_matches_only_itself() {
        let s = Secret::new("token-123");
        assert!(s.matches("token-123"));
        assert!(!s.matches("token-124"));
        assert!(!s.matches("token-12"));
        assert!(!s.matches(""));
        assert!(!s.matches("token-1234"));
    }

    #[test]
    fn a_secret_is_hidden_when_printed_or_serialized() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
    }
}
