//! Cron expressions as operators write them: the guide's five fields
//! (`0 2 * * *`), or six with seconds first (`*/2 * * * * *`). Day-of-week
//! numbers mean what they mean in crontab (0 or 7 = Sunday, 6 = Saturday),
//! names (`sun`–`sat`) work too.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A checked cron expression; keeps the text it was written as.
#[derive(Clone)]
pub struct CronExpr {
    source: String,
    schedule: Arc<cron::Schedule>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{expression:?} is not a valid cron expression: {reason}")]
pub struct InvalidCron {
    pub expression: String,
    pub reason: String,
}

const DAY_NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl CronExpr {
    pub fn parse(text: &str) -> Result<CronExpr, InvalidCron> {
        let invalid = |reason: String| InvalidCron {
            expression: text.to_owned(),
            reason,
        };
        let fields: Vec<&str> = text.split_whitespace().collect();
        let (seconds, rest) = match fields.len() {
            5 => ("0", &fields[..]),
            6 => (fields[0], &fields[1..]),
            n => {
                return Err(invalid(format!(
                    "expected 5 fields (minute hour day month weekday) or 6 (with seconds first), got {n}"
                )));
            }
        };
        let (day_of_month, day_of_week) = (rest[2], rest[4]);
        if !is_any(day_of_month) && !is_any(day_of_week) {
            // crontab fires when either matches, the cron crate only when
            // both do: refuse rather than pick one meaning silently.
            return Err(invalid(
                "restrict the day of the month or the day of the week, not both".into(),
            ));
        }
        let weekdays = crate_weekdays(day_of_week).map_err(invalid)?;
        let translated = format!(
            "{seconds} {} {} {day_of_month} {} {weekdays}",
            rest[0], rest[1], rest[3]
        );
        let schedule = translated
            .parse::<cron::Schedule>()
            .map_err(|e| invalid(e.to_string()))?;
        Ok(CronExpr {
            source: fields.join(" "),
            schedule: Arc::new(schedule),
        })
    }

    /// The expression as written (whitespace normalised).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The first firing strictly after `t`, in `tz`.
    pub fn next_after(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Tz>> {
        self.schedule.after(&t.with_timezone(&tz)).next()
    }

    /// The last firing at or before `t`, in `tz`.
    pub fn latest_at_or_before(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Tz>> {
        // The crate looks strictly before a whole second; start one second
        // past `t`'s own second so that second is included.
        let whole = t.with_nanosecond(0)? + TimeDelta::seconds(1);
        self.schedule.after(&whole.with_timezone(&tz)).next_back()
    }
}

fn is_any(field: &str) -> bool {
    field == "*" || field == "?"
}

/// Translates a crontab day-of-week field into the cron crate's numbering
/// (1 = Sunday … 7 = Saturday), as an explicit list.
fn crate_weekdays(field: &str) -> Result<String, String> {
    if is_any(field) {
        return Ok(field.to_owned());
    }
    let mut days = BTreeSet::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            None => (item, 1),
            Some((range, step)) => (
                range,
                step.parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("bad step {step:?} in the day of the week"))?,
            ),
        };
        let (first, last) = match range.split_once('-') {
            _ if range == "*" => (0, 6),
            None if step > 1 => (weekday(range)?, 6),
            None => (weekday(range)?, weekday(range)?),
            Some((a, b)) => (weekday(a)?, weekday(b)?),
        };
        // 7 is Sunday too; `5-7` means Friday to Sunday.
        let last = if last == 0 && first > 0 { 7 } else { last };
        if first > last {
            return Err(format!("the day-of-week range {range:?} runs backwards"));
        }
        days.extend((first..=last).step_by(step as usize).map(|d| d % 7));
    }
    Ok(days
        .iter()
        .map(|d| (d + 1).to_string())
        .collect::<Vec<_>>()
        .join(","))
}

/// 0–7 or a day name, as a number 0–7 (7 = Sunday).
fn weekday(s: &str) -> Result<u32, String> {
    let lower = s.to_ascii_lowercase();
    if let Some(i) = DAY_NAMES.iter().position(|d| lower == *d) {
        return Ok(i as u32);
    }
    s.parse::<u32>()
        .ok()
        .filter(|n| *n <= 7)
        .ok_or_else(|| format!("{s:?} is not a day of the week (0-7 or sun-sat)"))
}

impl fmt::Debug for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronExpr({:?})", self.source)
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl PartialEq for CronExpr {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl FromStr for CronExpr {
    type Err = InvalidCron;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CronExpr::parse(s)
    }
}

impl Serialize for CronExpr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for CronExpr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        CronExpr::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use chrono_tz::Asia::Tokyo;

    use super::*;

    fn tokyo(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Tokyo
            .with_ymd_and_hms(y, mo, d, h, mi, s)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn next(expr: &str, after: DateTime<Utc>) -> String {
        CronExpr::parse(expr)
            .unwrap()
            .next_after(after, Tokyo)
            .unwrap()
            .to_rfc3339()
    }

    #[test]
    fn the_guides_five_field_schedules_fire_at_tokyo_times() {
        // 2026-01-31 is a Saturday.
        let now = tokyo(2026, 1, 31, 12, 0, 0);
        assert_eq!(next("0 2 * * *", now), "2026-02-01T02:00:00+09:00");
        assert_eq!(next("0 3 * * 0", now), "2026-02-01T03:00:00+09:00");
        assert_eq!(next("0 4 1 * *", now), "2026-02-01T04:00:00+09:00");
        assert_eq!(next("0 1 * * 6", now), "2026-02-07T01:00:00+09:00");
        assert_eq!(next("0 5 * * 1", now), "2026-02-02T05:00:00+09:00");
        assert_eq!(next("0 5 2 * *", now), "2026-02-02T05:00:00+09:00");
    }

    #[test]
    fn sunday_is_0_or_7_and_names_work_too() {
        let now = tokyo(2026, 1, 31, 12, 0, 0);
        for sunday in ["0 3 * * 7", "0 3 * * SUN", "0 3 * * sun", "0 3 * * 5-7/2"] {
            assert_eq!(next(sunday, now), "2026-02-01T03:00:00+09:00", "{sunday}");
        }
        assert_eq!(next("0 9 * * mon-fri", now), "2026-02-02T09:00:00+09:00");
    }

    #[test]
    fn six_fields_put_seconds_first() {
        let now = tokyo(2026, 1, 31, 12, 0, 1);
        assert_eq!(next("*/2 * * * * *", now), "2026-01-31T12:00:02+09:00");
        assert_eq!(next("30 0 2 * * *", now), "2026-02-01T02:00:30+09:00");
    }

    #[test]
    fn the_latest_firing_includes_the_current_second() {
        let expr = CronExpr::parse("0 2 * * *").unwrap();
        let at = tokyo(2026, 1, 31, 2, 0, 0);
        assert_eq!(expr.latest_at_or_before(at, Tokyo).unwrap(), at);
        let later = at + TimeDelta::milliseconds(1500);
        assert_eq!(expr.latest_at_or_before(later, Tokyo).unwrap(), at);
        let before = at - TimeDelta::seconds(1);
        assert_eq!(
            expr.latest_at_or_before(before, Tokyo).unwrap(),
            at - TimeDelta::days(1)
        );
    }

    #[test]
    fn malformed_expressions_are_refused_with_the_reason() {
        for bad in [
            "",
            "0 2 * *",
            "0 0 2 * * * 2026",
            "61 2 * * *",
            "0 2 * * 8",
            "0 2 * * 5-1",
            "0 2 1 * 1",
            "0 2 * * mon/0",
            "every day",
        ] {
            assert!(CronExpr::parse(bad).is_err(), "{bad:?} should be refused");
        }
        let err = CronExpr::parse("0 2 * *").unwrap_err();
        assert!(err.to_string().contains("expected 5 fields"), "{err}");
    }
}
