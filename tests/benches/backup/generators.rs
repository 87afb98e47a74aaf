//! Databases of very different kinds, so that no figure holds only on the
//! project's own generator (`nexus_shared::demo`):
//!
//! - `small-vocab`: ITSM incidents written from ~120 Japanese and English
//!   words, the kind of text cheap compression levels do worst on;
//! - `large-vocab`: the same table written from 100,000 made-up words,
//!   drawn with a skew like a natural language's;
//! - `random`: random 16-byte keys with a unique index, random tokens and
//!   random blobs: next to nothing to compress.

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, params};

/// The kinds of database the benchmark backs up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Project,
    SmallVocab,
    LargeVocab,
    Random,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Project,
        Kind::SmallVocab,
        Kind::LargeVocab,
        Kind::Random,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Project => "project",
            Kind::SmallVocab => "small-vocab",
            Kind::LargeVocab => "large-vocab",
            Kind::Random => "random",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Writes a database of about `bytes` at `path`, in WAL mode.
    pub fn generate(self, path: &Path, bytes: u64) -> anyhow::Result<()> {
        if self == Kind::Project {
            nexus_shared::demo::generate(path, bytes)?;
            return Ok(());
        }
        let tmp = path.with_extension("partial");
        let _ = std::fs::remove_file(&tmp);
        let conn = Connection::open(&tmp)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "OFF")?;
        conn.pragma_update(None, "cache_size", -262_144)?;
        let mut rng = StdRng::seed_from_u64(0x006e_6578_7573);
        match self {
            Kind::SmallVocab => text(&conn, bytes, &mut rng, &small_vocabulary())?,
            Kind::LargeVocab => {
                let vocabulary = large_vocabulary(&mut rng);
                text(&conn, bytes, &mut rng, &vocabulary)?
            }
            Kind::Random => random(&conn, bytes, &mut rng)?,
            Kind::Project => unreachable!(),
        }
        conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")?;
        drop(conn);
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}

fn size_of(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
}

/// Inserts rows in batches until the file reaches `bytes`.
fn fill(
    conn: &Connection,
    bytes: u64,
    mut batch: impl FnMut(&Connection) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    while size_of(conn)? < bytes {
        conn.execute_batch("BEGIN")?;
        batch(conn)?;
        conn.execute_batch("COMMIT")?;
    }
    Ok(())
}

fn small_vocabulary() -> Vec<String> {
    "障害 復旧 対応 完了 サーバ ネットワーク 接続 遅延 再起動 確認 担当 調査 原因 影響 範囲 \
     ユーザ 申請 承認 変更 手順 作業 予定 緊急 優先 報告 連絡 監視 警告 設定 更新 \
     データベース バックアップ 容量 不足 ログ 出力 エラー 発生 解消 暫定 恒久 対策 \
     incident change request problem server network latency restart check owner \
     cause impact scope user approval procedure schedule urgent priority report \
     monitor alert config update database backup disk full log error resolved \
     workaround permanent fix closed open pending assigned escalated customer \
     service desk ticket email printer vpn login password reset account locked \
     the a of to and in for on with is was has been by from at this that"
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// 100,000 made-up words from Japanese and Latin syllables.
fn large_vocabulary(rng: &mut StdRng) -> Vec<String> {
    const KANA: &[&str] = &[
        "ア", "イ", "ウ", "エ", "オ", "カ", "キ", "ク", "ケ", "コ", "サ", "シ", "ス", "セ", "ソ",
        "タ", "チ", "ツ", "テ", "ト", "ナ", "ニ", "ヌ", "ネ", "ノ", "ハ", "ヒ", "フ", "ヘ", "ホ",
        "マ", "ミ", "ム", "メ", "モ", "ラ", "リ", "ル", "レ", "ロ", "ン", "障", "害", "復", "旧",
    ];
    const LATIN: &[&str] = &[
        "ka", "ri", "to", "ne", "mo", "sa", "lu", "ve", "qu", "an", "el", "or", "is", "um", "th",
        "st", "pr", "ex", "co", "de", "in", "re", "ab", "ul", "zo", "gi", "fa", "wy", "ja", "ix",
    ];
    (0..100_000)
        .map(|_| {
            let syllables = if rng.random_bool(0.5) { KANA } else { LATIN };
            let n = rng.random_range(2..=5);
            (0..n)
                .map(|_| syllables[rng.random_range(0..syllables.len())])
                .collect()
        })
        .collect()
}

/// A word drawn with a skew: low indexes far more often than high ones.
fn word<'v>(rng: &mut StdRng, vocabulary: &'v [String]) -> &'v str {
    let r: f64 = rng.random();
    &vocabulary[((r * r * r) * vocabulary.len() as f64) as usize % vocabulary.len()]
}

fn sentence(rng: &mut StdRng, vocabulary: &[String], words: std::ops::Range<usize>) -> String {
    let n = rng.random_range(words);
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(word(rng, vocabulary));
    }
    s
}

fn text(
    conn: &Connection,
    bytes: u64,
    rng: &mut StdRng,
    vocabulary: &[String],
) -> anyhow::Result<()> {
    conn.execute_batch(
        "CREATE TABLE incidents (
             id INTEGER PRIMARY KEY, title TEXT NOT NULL, description TEXT NOT NULL,
             status TEXT NOT NULL, priority INTEGER NOT NULL, assignee TEXT NOT NULL,
             created_at TEXT NOT NULL);
         CREATE INDEX incidents_status ON incidents (status, priority);
         CREATE INDEX incidents_created ON incidents (created_at);",
    )?;
    const STATUSES: [&str; 5] = ["new", "assigned", "in_progress", "resolved", "closed"];
    let mut n = 0u64;
    fill(conn, bytes, |conn| {
        let mut insert = conn.prepare_cached(
            "INSERT INTO incidents (title, description, status, priority, assignee, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for _ in 0..5_000 {
            n += 1;
            insert.execute(params![
                sentence(rng, vocabulary, 3..9),
                sentence(rng, vocabulary, 40..150),
                STATUSES[rng.random_range(0..STATUSES.len())],
                rng.random_range(1..=4),
                format!("operator{:03}", rng.random_range(0..200)),
                format!(
                    "2026-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                    1 + n / 30_000 % 12,
                    1 + n / 1_000 % 28,
                    n / 60 % 24,
                    n % 60,
                    rng.random_range(0..60)
                ),
            ])?;
        }
        Ok(())
    })?;
    Ok(())
}

fn random(conn: &Connection, bytes: u64, rng: &mut StdRng) -> anyhow::Result<()> {
    conn.execute_batch(
        "CREATE TABLE keys (id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE,
                            token TEXT NOT NULL, payload BLOB NOT NULL);",
    )?;
    fill(conn, bytes, |conn| {
        let mut insert =
            conn.prepare_cached("INSERT INTO keys (key, token, payload) VALUES (?1, ?2, ?3)")?;
        for _ in 0..5_000 {
            let key: [u8; 16] = rng.random();
            let token: [u8; 16] = rng.random();
            let mut payload = vec![0u8; rng.random_range(100..1500)];
            rng.fill(&mut payload[..]);
            insert.execute(params![&key[..], hex::encode(token), payload])?;
        }
        Ok(())
    })?;
    Ok(())
}
