//! A SHA-256 checksum as the catalog, the manifests and the API write it:
//! `sha256:<64 lowercase hex digits>`. Parsed once where it enters, so two
//! checksums compare with `==`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const PREFIX: &str = "sha256:";
const HEX_DIGITS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checksum(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a checksum of the form sha256:<64 hex digits>")]
pub struct InvalidChecksum(pub String);

impl Checksum {
    /// The checksum of a finished SHA-256 digest.
    pub fn from_digest(digest: impl AsRef<[u8]>) -> Self {
        Checksum(format!("{PREFIX}{}", hex::encode(digest)))
    }

    /// Reads `sha256:<hex>`, in either case; keeps it in lowercase.
    pub fn parse(s: &str) -> Result<Self, InvalidChecksum> {
        let invalid = || InvalidChecksum(s.chars().take(100).collect());
        let (prefix, digits) = s.split_at_checked(PREFIX.len()).ok_or_else(invalid)?;
        if !prefix.eq_ignore_ascii_case(PREFIX)
            || digits.len() != HEX_DIGITS
            || !digits.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(invalid());
        }
        Ok(Checksum(format!("{PREFIX}{}", digits.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Checksum {
    type Err = InvalidChecksum;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Checksum::parse(s)
    }
}

impl Serialize for Checksum {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Checksum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Checksum::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Checksum {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^sha256:[0-9a-f]{64}$"))
            .examples([serde_json::json!(
                "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
            )])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Checksum {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checksum_in_capitals_is_the_same_checksum() {
        let digest = [0xABu8; 32];
        let lower = Checksum::from_digest(digest);
        let upper = Checksum::parse(&lower.as_str().to_uppercase()).expect("parses");
        assert_eq!(upper, lower);
        assert_eq!(upper.as_str(), format!("sha256:{}", "ab".repeat(32)));
    }

    #[test]
    fn text_that_is_not_a_sha256_checksum_is_refused() {
        for bad in [
            "",
            "sha256:",
            "md5:abcd",
            &format!("sha256:{}", "a".repeat(63)),
            &format!("sha256:{}", "g".repeat(64)),
            &format!("sha256:{}é", "a".repeat(62)),
        ] {
            assert!(Checksum::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
