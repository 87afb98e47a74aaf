//! Row contents: a seeded generator of realistic users, incidents, changes,
//! assets and audit entries, and the timestamp format.

use std::fmt::Write as _;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::load::Plan;
use super::vocabulary::*;

// ---------------------------------------------------------------------------
// Row contents

pub(super) const DAY: i64 = 86_400;
/// Length of the generated history.
pub(super) const HISTORY_DAYS: i64 = 730;
/// Japan Standard Time, the office's time zone, is UTC+9.
pub(super) const JST_OFFSET: i64 = 9 * 3_600;

pub(super) struct User {
    pub(super) role: &'static str,
    pub(super) department: &'static str,
}

pub(super) struct Asset {
    pub(super) kind: &'static str,
    pub(super) location: &'static str,
}

pub(super) struct Change {
    pub(super) risk: &'static str,
    pub(super) status: &'static str,
    pub(super) requested_by: u64,
    pub(super) scheduled: bool,
}

pub(super) struct Incident {
    pub(super) id: u64,
    pub(super) status: &'static str,
    pub(super) priority: &'static str,
    pub(super) category: &'static str,
    pub(super) reporter_id: u64,
    pub(super) assignee_id: Option<u64>,
    pub(super) resolved: bool,
    pub(super) japanese: bool,
    pub(super) created: i64,
    pub(super) last_update: i64,
}

pub(super) struct AuditEntry {
    pub(super) user_id: u64,
    pub(super) action: &'static str,
    pub(super) entity: &'static str,
    pub(super) entity_id: u64,
}

/// Draws row contents. The text of the row being built is written into the
/// reusable buffers `a`..`e` and `ts1`..`ts4`, so that the load allocates
/// nothing per row; the caller binds them right after.
pub(super) struct TextGen {
    pub(super) rng: StdRng,
    /// End of the history (Unix seconds, UTC).
    pub(super) end: i64,
    /// First day of the history (days since the Unix epoch).
    pub(super) first_day: i64,
    pub(super) a: String,
    pub(super) b: String,
    pub(super) c: String,
    pub(super) d: String,
    pub(super) e: String,
    pub(super) ts1: String,
    pub(super) ts2: String,
    pub(super) ts3: String,
    pub(super) ts4: String,
}

impl TextGen {
    pub(super) fn new(target_bytes: u64, end: i64) -> Self {
        TextGen {
            rng: StdRng::seed_from_u64(target_bytes ^ 0x4e45_5855_5344_454d),
            end,
            first_day: end.div_euclid(DAY) - HISTORY_DAYS,
            a: String::with_capacity(64),
            b: String::with_capacity(128),
            c: String::with_capacity(2048),
            d: String::with_capacity(256),
            e: String::with_capacity(32),
            ts1: String::with_capacity(19),
            ts2: String::with_capacity(19),
            ts3: String::with_capacity(19),
            ts4: String::with_capacity(19),
        }
    }

    pub(super) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    /// A random user id, or none for unassigned hardware in stock.
    pub(super) fn owner(&mut self, users: u64) -> Option<i64> {
        (!self.chance(0.08)).then(|| self.rng.random_range(1..=users) as i64)
    }

    /// A moment on the office's working hours of the day `progress` (0..=1)
    /// of the way through the history; weekends are mostly avoided.
    pub(super) fn office_time(&mut self, progress: f64) -> i64 {
        let mut day = self.first_day + (progress.clamp(0.0, 1.0) * HISTORY_DAYS as f64) as i64;
        let weekday = (day + 3).rem_euclid(7); // 0 = Monday
        if weekday >= 5 && self.chance(0.85) {
            day -= weekday - 4; // moved to Friday
        }
        let hour = if self.chance(0.9) {
            self.rng.random_range(8..20)
        } else {
            self.rng.random_range(0..24)
        };
        let t = day * DAY + hour * 3_600 + self.rng.random_range(0..3_600) - JST_OFFSET;
        t.min(self.end - 1)
    }

    /// `start` plus a delay of up to about `max_hours`, skewed to short ones.
    pub(super) fn later(&mut self, start: i64, max_hours: f64) -> i64 {
        let r: f64 = self.rng.random();
        let delay = (r * r * max_hours * 3_600.0) as i64 + self.rng.random_range(60..900);
        (start + delay).min(self.end - 1)
    }

    pub(super) fn user(&mut self, id: u64, staff: u64, count: u64) -> User {
        let japanese = self.chance(0.85);
        self.a.clear();
        self.b.clear();
        if japanese {
            let (family_ja, family_en) = self.pick(FAMILY_NAMES);
            let (given_ja, given_en) = self.pick(GIVEN_NAMES);
            let _ = write!(self.a, "{given_en}.{family_en}{id}");
            let _ = write!(self.b, "{family_ja} {given_ja}");
        } else {
            let first = self.pick(EN_FIRST_NAMES);
            let last = self.pick(EN_LAST_NAMES);
            let _ = write!(
                self.a,
                "{}.{}{id}",
                first.to_lowercase(),
                last.to_lowercase()
            );
            let _ = write!(self.b, "{first} {last}");
        }
        self.c.clear();
        let _ = write!(self.c, "{}@nexus-corp.example", self.a);
        let created = self.office_time(0.5 * id as f64 / count as f64) - 365 * DAY;
        format_ts(&mut self.ts1, created);
        let (role, department) = if id <= 3 {
            ("admin", "情報システム部")
        } else if id <= staff {
            ("agent", "情報システム部")
        } else {
            let role = if self.chance(0.08) {
                "manager"
            } else {
                "requester"
            };
            let (ja, en) = self.pick(DEPARTMENTS);
            (role, if japanese { ja } else { en })
        };
        User { role, department }
    }

    pub(super) fn asset(&mut self, id: u64, count: u64) -> Asset {
        let (kind, prefix, models) = self.pick(ASSET_KINDS);
        self.a.clear();
        let _ = write!(self.a, "{prefix}-{id:06}");
        self.b.clear();
        let model = self.pick(models);
        self.b.push_str(model);
        self.c.clear();
        for _ in 0..10 {
            let i = self.rng.random_range(0..SERIAL_CHARS.len());
            self.c.push(char::from(SERIAL_CHARS[i]));
        }
        let created = self.office_time(0.3 * id as f64 / count as f64);
        let purchased = created - self.rng.random_range(0..3 * 365) * DAY;
        format_ts(&mut self.ts1, purchased);
        self.ts1.truncate(10); // a date
        format_ts(&mut self.ts2, created);
        let location = self.pick(LOCATIONS);
        Asset { kind, location }
    }

    pub(super) fn change(&mut self, id: u64, count: u64, users: u64) -> Change {
        let japanese = self.chance(0.7);
        self.a.clear();
        let _ = write!(self.a, "CHG-{id:06}");
        let (title_ja, title_en) = self.pick(CHANGE_TITLES);
        let (system_ja, system_en) = self.pick(SYSTEMS);
        self.b.clear();
        if japanese {
            let _ = write!(self.b, "{system_ja}: {title_ja}");
        } else {
            let _ = write!(self.b, "{system_en}: {title_en}");
        }
        let sentences = if japanese {
            CHANGE_SENTENCES_JA
        } else {
            CHANGE_SENTENCES_EN
        };
        self.description(sentences, japanese, 150..500);

        let created = self.office_time(id as f64 / count as f64);
        format_ts(&mut self.ts1, created);
        let scheduled_at = self.later(created, 24.0 * 21.0);
        format_ts(&mut self.ts2, scheduled_at);
        let age_days = (self.end - created) / DAY;
        let status = if age_days > 30 {
            self.pick(&["implemented", "closed", "closed", "closed", "rejected"])
        } else {
            self.pick(&["draft", "submitted", "approved", "scheduled", "implemented"])
        };
        Change {
            risk: self.pick(&["low", "low", "medium", "medium", "high"]),
            status,
            requested_by: self.rng.random_range(1..=users),
            scheduled: status != "draft" && status != "rejected",
        }
    }

    pub(super) fn incident(&mut self, id: u64, progress: f64, users: u64) -> Incident {
        let japanese = self.chance(0.7);
        let (category, title_ja, title_en) = self.pick(INCIDENT_TITLES);
        self.a.clear();
        let _ = write!(self.a, "INC-{id:06}");
        self.b.clear();
        if self.chance(0.15) {
            let prefix = self.pick(TITLE_PREFIXES);
            self.b.push_str(prefix);
        }
        self.b.push_str(if japanese { title_ja } else { title_en });
        let sentences = if japanese {
            INCIDENT_SENTENCES_JA
        } else {
            INCIDENT_SENTENCES_EN
        };
        self.description(sentences, japanese, 150..700);

        let created = self.office_time(progress);
        let status = self.incident_status((self.end - created) / DAY);
        let resolved = matches!(status, "resolved" | "closed");
        let resolved_at = self.later(created, 24.0 * 5.0);
        let last_update = if resolved {
            resolved_at
        } else {
            self.later(created, 24.0)
        };
        let staff = Plan::staff(users);
        let assignee_id = (status != "open" || self.chance(0.3))
            .then(|| self.rng.random_range(1..=staff.min(users)));
        self.append_work_log(created, japanese);
        format_ts(&mut self.ts1, created);
        format_ts(&mut self.ts2, last_update);
        format_ts(&mut self.ts3, resolved_at);
        Incident {
            id,
            status,
            priority: self.pick(&[
                "critical", "high", "high", "medium", "medium", "medium", "low",
            ]),
            category,
            reporter_id: self.rng.random_range(1..=users),
            assignee_id,
            resolved,
            japanese,
            created,
            last_update,
        }
    }

    /// Old tickets are closed; recent ones are still being worked on.
    pub(super) fn incident_status(&mut self, age_days: i64) -> &'static str {
        if age_days > 30 {
            self.pick(&[
                "closed",
                "closed",
                "closed",
                "closed",
                "resolved",
                "cancelled",
            ])
        } else if age_days > 7 {
            self.pick(&["closed", "resolved", "resolved", "in_progress", "pending"])
        } else {
            self.pick(&[
                "open",
                "open",
                "in_progress",
                "in_progress",
                "pending",
                "resolved",
            ])
        }
    }

    /// The `n`-th audit log about `incident`: its creation first, then views,
    /// updates and logins. Writes the detail into `d`, the ip into `e` and the
    /// time into `ts4`.
    pub(super) fn audit_entry(&mut self, incident: &Incident, n: u32, users: u64) -> AuditEntry {
        let span = (incident.last_update - incident.created).max(60);
        let at = incident.created
            + if n == 0 {
                0
            } else {
                self.rng.random_range(0..span)
            };
        format_ts(&mut self.ts4, at);
        self.e.clear();
        let _ = write!(
            self.e,
            "10.{}.{}.{}",
            self.rng.random_range(0..32),
            self.rng.random_range(0..256),
            self.rng.random_range(1..255)
        );
        self.d.clear();
        let kind = if n == 0 {
            0
        } else {
            self.rng.random_range(1..4)
        };
        match kind {
            0 => {
                let _ = write!(
                    self.d,
                    r#"{{"ticket_no":"INC-{:06}","priority":"{}","lang":"{}"}}"#,
                    incident.id,
                    incident.priority,
                    if incident.japanese { "ja" } else { "en" }
                );
                self.entry(incident.reporter_id, "create", incident)
            }
            1 => {
                let agent = self.pick(USER_AGENTS);
                let _ = write!(self.d, r#"{{"via":"web","ua":"{agent}"}}"#);
                let viewer = self.rng.random_range(1..=users);
                self.entry(viewer, "view", incident)
            }
            2 => {
                let (comment, _) = self.pick(WORK_NOTES);
                let _ = write!(
                    self.d,
                    r#"{{"field":"status","from":"open","to":"{}","comment":"{comment}"}}"#,
                    incident.status,
                );
                let who = incident.assignee_id.unwrap_or(incident.reporter_id);
                self.entry(who, "update", incident)
            }
            _ => {
                let mfa = self.pick(MFA);
                let _ = write!(self.d, r#"{{"result":"success","mfa":"{mfa}"}}"#);
                let who = self.rng.random_range(1..=users);
                AuditEntry {
                    user_id: who,
                    action: "login",
                    entity: "user",
                    entity_id: who,
                }
            }
        }
    }

    pub(super) fn entry(
        &self,
        user_id: u64,
        action: &'static str,
        incident: &Incident,
    ) -> AuditEntry {
        AuditEntry {
            user_id,
            action,
            entity: "incident",
            entity_id: incident.id,
        }
    }

    /// Fills `c` with sentences until it holds about `chars` characters
    /// (counted as UTF-8 bytes: three per Japanese character).
    pub(super) fn description(
        &mut self,
        sentences: &[&str],
        japanese: bool,
        chars: std::ops::Range<usize>,
    ) {
        let bytes_per_char = if japanese { 3 } else { 1 };
        let goal = self.rng.random_range(chars) * bytes_per_char;
        self.c.clear();
        while self.c.len() < goal {
            let template = self.pick(sentences);
            self.expand(template, japanese);
            if !japanese {
                self.c.push(' ');
            }
        }
    }

    /// Appends `template` to `c`, replacing `{S}` (system), `{D}`
    /// (department), `{E}` (error message), `{H}` (host), `{N}` (number) and
    /// `{T}` (time of day).
    pub(super) fn expand(&mut self, template: &str, japanese: bool) {
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            self.c.push_str(&rest[..open]);
            let key = rest.as_bytes().get(open + 1).copied().unwrap_or(b'}');
            rest = rest.get(open + 3..).unwrap_or("");
            match key {
                b'S' => {
                    let (ja, en) = self.pick(SYSTEMS);
                    self.c.push_str(if japanese { ja } else { en });
                }
                b'D' => {
                    let (ja, en) = self.pick(DEPARTMENTS);
                    self.c.push_str(if japanese { ja } else { en });
                }
                b'E' => {
                    let message = self.pick(ERROR_MESSAGES);
                    self.c.push_str(message);
                }
                b'H' => {
                    let host = self.pick(HOSTS);
                    let n = self.rng.random_range(1..20);
                    let _ = write!(self.c, "{host}-{n:02}");
                }
                b'N' => {
                    let n = self.rng.random_range(2..500);
                    let _ = write!(self.c, "{n}");
                }
                _ => {
                    let (h, m) = (self.rng.random_range(7..22), self.rng.random_range(0..60));
                    let _ = write!(self.c, "{h}:{m:02}");
                }
            }
        }
        self.c.push_str(rest);
    }

    /// Appends a short work log with timestamps to `c`.
    pub(super) fn append_work_log(&mut self, created: i64, japanese: bool) {
        let entries = self.rng.random_range(0..4);
        if entries == 0 {
            return;
        }
        self.c.push_str(if japanese {
            "\n\n対応履歴:"
        } else {
            "\n\nWork log:"
        });
        let mut at = created;
        for _ in 0..entries {
            at = self.later(at, 8.0);
            format_ts(&mut self.ts1, at);
            let (note_ja, note_en) = self.pick(WORK_NOTES);
            let (family, _) = self.pick(FAMILY_NAMES);
            let _ = write!(
                self.c,
                "\n[{}] {family}: {}",
                self.ts1,
                if japanese { note_ja } else { note_en }
            );
        }
    }
}

/// Writes Unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC) into `out`.
pub(super) fn format_ts(out: &mut String, unix: i64) {
    let (days, secs) = (unix.div_euclid(DAY), unix.rem_euclid(DAY));
    let (y, m, d) = civil_from_days(days);
    out.clear();
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    );
}

/// Year, month and day of a day count since 1970-01-01 (proleptic
/// Gregorian), after Howard Hinnant's `civil_from_days`.
pub(super) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
