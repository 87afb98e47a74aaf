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

    /// Compares with `given` in time that does not depend on where they
    /// differ, for tokens a client sends.
    pub fn matches(&self, given: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), given.as_bytes());
        let differences = a
            .iter()
            .zip(b)
            .fold(a.len() ^ b.len(), |acc, (x, y)| acc | usize::from(x ^ y));
        differences == 0
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
    }

    #[test]
    fn a_secret_is_hidden_when_printed_or_serialized() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
    }
}
