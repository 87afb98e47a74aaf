//! `BKP-<YYYYMMDD>-<HHMMSS>-<type>[-N]`: the id of a backup (SPEC §2).
//!
//! The id carries everything needed to name the backup's file, so a file
//! path is only ever derived from a parsed id, never from request text.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::BackupType;

/// The most backups of one type that may share a second.
const MAX_SEQUENCE: u32 = 9_999;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BackupId {
    backup_type: BackupType,
    /// Wall-clock time of the backup in the configured timezone.
    local_time: NaiveDateTime,
    /// 1 for the first backup of its type in that second, then 2, 3…
    sequence: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a backup id of the form BKP-YYYYMMDD-HHMMSS-<type>")]
pub struct InvalidBackupId(pub String);

impl BackupId {
    pub fn new(backup_type: BackupType, local_time: NaiveDateTime, sequence: u32) -> Self {
        assert!(
            (1..=MAX_SEQUENCE).contains(&sequence),
            "sequence out of range"
        );
        let local_time = local_time
            .with_nanosecond(0)
            .expect("zero nanoseconds is always valid");
        BackupId {
            backup_type,
            local_time,
            sequence,
        }
    }

    pub fn parse(s: &str) -> Result<Self, InvalidBackupId> {
        let bad = || InvalidBackupId(s.chars().take(100).collect());
        let rest = s.strip_prefix("BKP-").ok_or_else(bad)?;
        let (date, rest) = split_digits(rest, 8).ok_or_else(bad)?;
        let rest = rest.strip_prefix('-').ok_or_else(bad)?;
        let (time, rest) = split_digits(rest, 6).ok_or_else(bad)?;
        let rest = rest.strip_prefix('-').ok_or_else(bad)?;
        let (type_name, sequence) = match rest.split_once('-') {
            None => (rest, 1),
            Some((t, n)) => (t, parse_sequence(n).ok_or_else(bad)?),
        };
        let backup_type = type_name.parse().map_err(|_| bad())?;
        let local_time = stamp(date, time).ok_or_else(bad)?;
        Ok(BackupId {
            backup_type,
            local_time,
            sequence,
        })
    }

    pub fn backup_type(&self) -> BackupType {
        self.backup_type
    }

    pub fn local_time(&self) -> NaiveDateTime {
        self.local_time
    }

    pub fn sequence(&self) -> u32 {
        self.sequence
    }

    /// The same slot with the next sequence number, for a second backup of
    /// the same type within one second.
    pub fn next_in_second(&self) -> Option<BackupId> {
        (self.sequence < MAX_SEQUENCE).then(|| BackupId {
            sequence: self.sequence + 1,
            ..self.clone()
        })
    }

    /// `itsm_nexus_<type>_<YYYYMMDD>_<HHMMSS>[_N].db.gz`
    pub fn file_name(&self) -> String {
        let stamp = Stamp(self.local_time, '_');
        match self.sequence {
            1 => format!("itsm_nexus_{}_{stamp}.db.gz", self.backup_type),
            n => format!("itsm_nexus_{}_{stamp}_{n}.db.gz", self.backup_type),
        }
    }

    /// The backup's path relative to the backup root: `<type>/<file name>`.
    pub fn relative_path(&self) -> PathBuf {
        PathBuf::from(self.backup_type.folder()).join(self.file_name())
    }

    /// Recovers the id from a backup file name (used by reconciliation).
    pub fn from_file_name(name: &str) -> Option<BackupId> {
        let stem = name.strip_prefix("itsm_nexus_")?.strip_suffix(".db.gz")?;
        let backup_type = BackupType::ALL
            .into_iter()
            .filter(|t| stem.starts_with(&format!("{}_", t.as_str())))
            .max_by_key(|t| t.as_str().len())?;
        let rest = &stem[backup_type.as_str().len() + 1..];
        let (date, rest) = split_digits(rest, 8)?;
        let rest = rest.strip_prefix('_')?;
        let (time, rest) = split_digits(rest, 6)?;
        let sequence = match rest.strip_prefix('_') {
            None if rest.is_empty() => 1,
            None => return None,
            Some(n) => parse_sequence(n)?,
        };
        BackupId::parse(&format!("BKP-{date}-{time}-{backup_type}"))
            .ok()
            .map(|id| BackupId { sequence, ..id })
    }
}

/// The time in `YYYYMMDD` and `HHMMSS` (digits already checked), when it
/// is a real one; read by hand: every record read parses its id.
fn stamp(date: &str, time: &str) -> Option<NaiveDateTime> {
    let number = |s: &str| s.parse::<u32>().ok();
    let date = NaiveDate::from_ymd_opt(
        number(&date[..4])? as i32,
        number(&date[4..6])?,
        number(&date[6..])?,
    )?;
    let time = NaiveTime::from_hms_opt(
        number(&time[..2])?,
        number(&time[2..4])?,
        number(&time[4..])?,
    )?;
    Some(date.and_time(time))
}

fn split_digits(s: &str, n: usize) -> Option<(&str, &str)> {
    let head = s.get(..n)?;
    head.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| (head, &s[n..]))
}

fn parse_sequence(s: &str) -> Option<u32> {
    if s.is_empty() || s.starts_with('0') || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|n| (2..=MAX_SEQUENCE).contains(n))
}

use chrono::{Datelike as _, Timelike as _};

/// `YYYYMMDD<sep>HHMMSS`, written field by field: ids are formatted for
/// every record of every list, and a `strftime` pattern is parsed anew
/// each time.
struct Stamp(NaiveDateTime, char);

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Stamp(t, sep) = self;
        write!(
            f,
            "{:04}{:02}{:02}{sep}{:02}{:02}{:02}",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

impl fmt::Display for BackupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "BKP-{}-{}",
            Stamp(self.local_time, '-'),
            self.backup_type
        )?;
        if self.sequence > 1 {
            write!(f, "-{}", self.sequence)?;
        }
        Ok(())
    }
}

impl FromStr for BackupId {
    type Err = InvalidBackupId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BackupId::parse(s)
    }
}

impl Serialize for BackupId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BackupId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        BackupId::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn the_guides_example_id_parses_and_prints_back() {
        let id = BackupId::parse("BKP-20260131-143025-manual").unwrap();
        assert_eq!(id.backup_type(), BackupType::Manual);
        assert_eq!(id.local_time(), at("2026-01-31 14:30:25"));
        assert_eq!(id.to_string(), "BKP-20260131-143025-manual");
        assert_eq!(id.file_name(), "itsm_nexus_manual_20260131_143025.db.gz");
        assert_eq!(
            id.relative_path(),
            PathBuf::from("manual/itsm_nexus_manual_20260131_143025.db.gz")
        );
    }

    #[test]
    fn a_second_backup_in_the_same_second_gets_a_suffix() {
        let first = BackupId::new(BackupType::Daily, at("2026-01-31 02:00:15"), 1);
        let second = first.next_in_second().unwrap();
        assert_eq!(second.to_string(), "BKP-20260131-020015-daily-2");
        assert_eq!(
            second.file_name(),
            "itsm_nexus_daily_20260131_020015_2.db.gz"
        );
        assert_eq!(
            BackupId::parse("BKP-20260131-020015-daily-2").unwrap(),
            second
        );
    }

    #[test]
    fn before_restore_ids_parse_despite_the_underscore() {
        let id = BackupId::parse("BKP-20260131-143025-before_restore-3").unwrap();
        assert_eq!(id.backup_type(), BackupType::BeforeRestore);
        assert_eq!(id.sequence(), 3);
        assert_eq!(BackupId::from_file_name(&id.file_name()), Some(id));
    }

    #[test]
    fn file_names_map_back_to_their_ids() {
        let id = BackupId::parse("BKP-20260201-040008-monthly").unwrap();
        assert_eq!(BackupId::from_file_name(&id.file_name()), Some(id));
        assert_eq!(BackupId::from_file_name("notes.txt"), None);
        assert_eq!(
            BackupId::from_file_name("itsm_nexus_manual_20260131_143025_1.db.gz"),
            None
        );
    }

    #[test]
    fn anything_not_of_the_id_form_is_rejected() {
        for bad in [
            "",
            "BKP-20260131-143025",
            "BKP-20260131-143025-manual-1",
            "BKP-20260131-143025-manual-02",
            "BKP-20260131-143025-manual-",
            "BKP-20261331-143025-manual",
            "BKP-20260131-256025-manual",
            "BKP-2026013-143025-manual",
            "BKP-20260131-143025-Manual",
            "BKP-20260131-143025-manual/../../etc",
            "../../etc/passwd",
            "BKP-20260131-143025-manual-2-3",
            "bkp-20260131-143025-manual",
            "BKP-２０２60131-143025-manual",
        ] {
            assert!(BackupId::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
