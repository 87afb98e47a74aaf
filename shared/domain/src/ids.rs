//! The ids of restores (`RST-<ULID>`) and verifications (`CHK-<ULID>`):
//! one definition, one row per kind of id.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! ulid_ids {
    ($($(#[$doc:meta])* $name:ident, $invalid:ident, $prefix:literal, $what:literal;)+) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        #[derive(Debug, thiserror::Error, PartialEq, Eq)]
        #[error("{given:?} is not {what} id of the form {prefix}<26 characters>", given = .0, what = $what, prefix = $prefix)]
        pub struct $invalid(pub String);

        impl $name {
            pub fn generate() -> Self {
                $name(format!("{}{}", $prefix, ulid::Ulid::generate()))
            }

            pub fn parse(s: &str) -> Result<Self, $invalid> {
                s.strip_prefix($prefix)
                    .and_then(|rest| {
                        ulid::Ulid::from_string(rest)
                            .ok()
                            .filter(|u| u.to_string() == rest)
                    })
                    .map(|_| $name(s.to_owned()))
                    .ok_or_else(|| $invalid(s.chars().take(100).collect()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $name::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
            }
        }
    )+};
}

ulid_ids! {
    /// `RST-<ULID>`: the id of a restore.
    RestoreId, InvalidRestoreId, "RST-", "a restore";
    /// `CHK-<ULID>`: the id of one verification of a backup.
    CheckId, InvalidCheckId, "CHK-", "a verification";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_parses_back_from_its_text_and_nothing_else_does() {
        let id = RestoreId::generate();
        assert_eq!(RestoreId::parse(id.as_str()), Ok(id.clone()));
        let check = CheckId::generate();
        assert_eq!(CheckId::parse(check.as_str()), Ok(check.clone()));
        assert!(RestoreId::parse(check.as_str()).is_err());
        assert!(CheckId::parse("CHK-").is_err());
        assert!(CheckId::parse(&check.as_str().to_lowercase()).is_err());
        for bad in [
            "",
            "RST-",
            "RST-../../etc",
            "BKP-20260131-143025-manual",
            "rst-01ARZ3NDEKTSV4RRFFQ69G5FAV",
        ] {
            assert!(RestoreId::parse(bad).is_err(), "{bad}");
        }
    }
}
