//! Choosing the compression level of each backup: the cheapest libdeflate
//! level whose output stays within [`BOUND`] of what `gzip -6` makes of the
//! same data, whatever the data (docs/performance.md).
//!
//! How cheap a level can be depends on the data: on text with a small
//! vocabulary level 5 is 4% larger than `gzip -6`, on the project's own
//! generator 2% larger, on random keys as small. So each backup takes a
//! sample of its database — pieces from the middle of equal slices of the
//! file, so every region counts by its size — asks `gzip -6` itself what it
//! makes of the sample, and takes the lowest libdeflate level within
//! [`AIM`] of that. On the benchmark's four kinds of data the sample's
//! figure is within 0.01 of the whole file's (docs/performance.md).
//! Without a `gzip` program, zlib's level 6 (zlib-rs) stands in, with the
//! stricter [`AIM_WITHOUT_GZIP`]: it is up to 3% larger than `gzip -6` on
//! some data. The sample chooses a level and never decides what is stored.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::{Command, Stdio};

use flate2::Compression;
use flate2::write::DeflateEncoder;
use libdeflater::{CompressionLvl, Compressor};

/// The promise: a backup file is at most this much larger than `gzip -6`'s.
pub const BOUND: f64 = 1.05;
/// What a level must reach on the sample against `gzip -6`: below
/// [`BOUND`] by the sample's error.
pub const AIM: f64 = 1.035;
/// The same against zlib-rs's level 6, when no `gzip` program is found.
pub const AIM_WITHOUT_GZIP: f64 = 1.0;
/// The sample: this many pieces…
const PIECES: u64 = 64;
/// …of this many bytes, read at multiples of it. 1 MiB in all judges as
/// well as 2 MiB (within 0.006 of the whole file on the benchmark's four
/// kinds of data) for half of `gzip`'s time.
const PIECE_BYTES: u64 = 16 << 10;
/// libdeflate's levels.
const LEVELS: std::ops::RangeInclusive<u8> = 1..=12;
/// The size of a gzip member's header and trailer (`gzip -n`).
const GZIP_FRAMING: u64 = 18;

/// Pieces of a database file, one from the middle of each of equal slices
/// of it, end to end.
#[derive(Debug, Clone)]
pub struct Sample {
    bytes: Vec<u8>,
}

impl Sample {
    /// Reads up to `PIECES × PIECE_BYTES` of `path`: all of a small file.
    pub fn of_file(path: &Path) -> io::Result<Sample> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        if len <= PIECES * PIECE_BYTES {
            let mut bytes = Vec::with_capacity(len as usize);
            file.read_to_end(&mut bytes)?;
            return Ok(Sample { bytes });
        }
        let mut bytes = vec![0u8; (PIECES * PIECE_BYTES) as usize];
        for (i, piece) in bytes.chunks_mut(PIECE_BYTES as usize).enumerate() {
            let middle = (2 * i as u64 + 1) * len / (2 * PIECES);
            let start = middle
                .saturating_sub(PIECE_BYTES / 2)
                .min(len - PIECE_BYTES);
            file.read_exact_at(piece, start / PIECE_BYTES * PIECE_BYTES)?;
        }
        Ok(Sample { bytes })
    }

    pub fn bytes(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// What `gzip -6` makes of the sample (its deflate stream, framing
    /// left out); `None` when there is no `gzip` program to ask.
    pub fn gzip6_bytes(&self) -> Option<u64> {
        let mut child = Command::new("gzip")
            .args(["-6", "-n", "-c"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut stdin = child.stdin.take()?;
        let mut stdout = child.stdout.take()?;
        // Fed on a thread of its own so that neither pipe fills up.
        let (written, counted) = std::thread::scope(|scope| {
            let writer = scope.spawn(move || stdin.write_all(&self.bytes));
            let counted = io::copy(&mut stdout, &mut io::sink());
            (writer.join(), counted)
        });
        let status = child.wait().ok()?;
        match (written, counted) {
            (Ok(Ok(())), Ok(n)) if status.success() => Some(n.saturating_sub(GZIP_FRAMING)),
            _ => None,
        }
    }

    /// What zlib's level 6 (zlib-rs) makes of the sample, in bytes.
    pub fn zlib6_bytes(&self) -> u64 {
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::new(6));
        encoder
            .write_all(&self.bytes)
            .and_then(|()| encoder.finish())
            .map_or(self.bytes(), |out| out.len() as u64)
    }

    /// What libdeflate's `level` makes of the sample, in bytes.
    pub fn libdeflate_bytes(&self, level: u8) -> u64 {
        let level = CompressionLvl::new(i32::from(level)).expect("a libdeflate level");
        let mut compressor = Compressor::new(level);
        let mut out = vec![0u8; compressor.deflate_compress_bound(self.bytes.len())];
        compressor
            .deflate_compress(&self.bytes, &mut out)
            .expect("the buffer is sized by deflate_compress_bound") as u64
    }
}

/// `level` when it pins one (1–12); for 0, the one [`choose`] finds on a
/// sample of the file `sample_of`, logged with what the sample showed.
pub fn resolve(level: u8, sample_of: &Path) -> io::Result<u8> {
    if level != 0 {
        return Ok(level);
    }
    let choice = choose(&Sample::of_file(sample_of)?);
    tracing::info!(
        compression_level = choice.level,
        vs_gzip6 = format!("{:.3}", choice.vs_gzip6),
        "compression level chosen on a sample of the database"
    );
    Ok(choice.level)
}

/// The level chosen for a backup, and what the sample showed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Choice {
    pub level: u8,
    /// The chosen level's output on the sample ÷ the reference's.
    pub vs_gzip6: f64,
    /// The chosen level's output on the sample ÷ the sample.
    pub ratio: f64,
    /// Whether `gzip -6` itself was the reference (else zlib-rs's 6).
    pub asked_gzip: bool,
}

/// The lowest level within the aim of `gzip -6` on `sample`; when no level
/// reaches it (data no level compresses, say), the smallest. `gzip` runs
/// in its own process while levels 6 and 3 are tried; then a bisection
/// over levels 1–6 (sizes fall as levels rise), so four levels at most
/// are tried in the usual case. Whatever the bisection assumes, the level
/// it returns was measured within the aim.
pub fn choose(sample: &Sample) -> Choice {
    let mut sizes = [None; 13];
    let gzip = std::thread::scope(|scope| {
        let gzip = scope.spawn(|| sample.gzip6_bytes());
        for level in [6, 3] {
            sizes[level] = Some(sample.libdeflate_bytes(level as u8));
        }
        gzip.join().ok().flatten()
    });
    let (reference, aim, asked_gzip) = match gzip {
        Some(bytes) => (bytes, AIM, true),
        None => (sample.zlib6_bytes(), AIM_WITHOUT_GZIP, false),
    };
    let reference = reference.max(1) as f64;
    let mut size = |level: u8| {
        *sizes[usize::from(level)].get_or_insert_with(|| sample.libdeflate_bytes(level))
    };
    let fits = |bytes: u64| bytes as f64 <= aim * reference;
    let level = if fits(size(6)) {
        // The lowest fitting level of 1–6; `high` always fits.
        let (mut low, mut high) = (*LEVELS.start(), 6);
        while low < high {
            let middle = (low + high) / 2;
            if fits(size(middle)) {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        high
    } else {
        // Up until one fits; else the smallest output seen.
        (7..=*LEVELS.end())
            .find(|&level| fits(size(level)))
            .unwrap_or_else(|| {
                (6..=*LEVELS.end())
                    .min_by_key(|&level| size(level))
                    .expect("levels to choose from")
            })
    };
    let bytes = size(level) as f64;
    Choice {
        level,
        vs_gzip6: bytes / reference,
        ratio: bytes / sample.bytes().max(1) as f64,
        asked_gzip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_of(data: &[u8]) -> (tempfile::TempDir, Sample) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        std::fs::write(&path, data).unwrap();
        let sample = Sample::of_file(&path).unwrap();
        (dir, sample)
    }

    /// A deterministic stream of pseudo-random bytes (xorshift).
    fn noise(len: usize, mut state: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    #[test]
    fn a_large_file_is_sampled_from_the_middle_of_each_of_its_slices() {
        // Each block of `PIECE_BYTES` of the file holds its own number.
        let blocks = 2_000u64;
        let data: Vec<u8> = (0..blocks)
            .flat_map(|b| std::iter::repeat_n((b % 251) as u8, PIECE_BYTES as usize))
            .collect();
        let (_dir, sample) = sample_of(&data);
        assert_eq!(sample.bytes(), PIECES * PIECE_BYTES);
        let taken: Vec<u64> = sample
            .bytes
            .chunks(PIECE_BYTES as usize)
            .map(|piece| u64::from(piece[0]))
            .collect();
        let expected: Vec<u64> = (0..PIECES)
            .map(|i| ((2 * i + 1) * blocks / (2 * PIECES) - 1 + blocks) % blocks % 251)
            .collect();
        for (got, want) in taken.iter().zip(&expected) {
            assert!(got.abs_diff(*want) <= 1, "{taken:?} vs {expected:?}");
        }
    }

    #[test]
    fn a_small_file_is_sampled_whole() {
        let data = noise(300_000, 3);
        let (_dir, sample) = sample_of(&data);
        assert_eq!(sample.bytes, data);
    }

    #[test]
    fn gzip_itself_is_asked_and_agrees_with_zlib_within_a_few_percent() {
        let (_dir, sample) = sample_of(&small_vocabulary_text(1 << 20));
        let gzip = sample.gzip6_bytes().expect("a gzip program");
        let zlib = sample.zlib6_bytes();
        assert!(
            (gzip as f64 / zlib as f64 - 1.0).abs() < 0.05,
            "gzip {gzip}, zlib {zlib}"
        );
    }

    /// Words from a small vocabulary: cheap levels fall short here.
    fn small_vocabulary_text(len: usize) -> Vec<u8> {
        let words = [
            "障害",
            "incident",
            "復旧",
            "network",
            "サーバ",
            "closed",
            "担当",
        ];
        let mut text = String::new();
        let mut x = 12345u64;
        while text.len() < len {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push_str(words[(x >> 33) as usize % words.len()]);
            text.push(' ');
        }
        text.into_bytes()
    }

    #[test]
    fn the_chosen_level_is_the_cheapest_within_the_aim_of_gzip_6() {
        let (_dir, sample) = sample_of(&small_vocabulary_text(3 << 20));
        let choice = choose(&sample);
        assert!(choice.asked_gzip);
        assert!(choice.vs_gzip6 <= AIM, "{choice:?}");
        if choice.level > 1 {
            let cheaper = sample.libdeflate_bytes(choice.level - 1) as f64;
            let gzip = sample.gzip6_bytes().unwrap() as f64;
            assert!(
                cheaper / gzip > AIM,
                "level {} would have done: {choice:?}",
                choice.level - 1
            );
        }
    }

    #[test]
    fn data_no_level_compresses_gets_a_level_all_the_same() {
        let (_dir, sample) = sample_of(&noise(2 << 20, 99));
        let choice = choose(&sample);
        assert!(LEVELS.contains(&choice.level));
        assert!(choice.ratio > 0.99, "{choice:?}");
    }
}
