//! The machine's limit for one backup, from its phases measured alone in
//! this process: the page stream of a pinned snapshot (one thread), the
//! integrity check (one thread) and the compression at the level the
//! backup chooses, with both hashes (all cores). The page stream feeds the
//! compression and the check runs beside both, so a backup can take no
//! less than the longest single-thread phase (the critical path), nor
//! less than all the CPU they need spread over every core:
//! `limit = max(critical path, total CPU ÷ cores)`.

use std::path::Path;
use std::time::Duration;

use nexus_shared::engine::compress::{self, CompressOptions};
use nexus_shared::engine::pinned::{self, Pinning};
use nexus_shared::engine::{level, snapshot};

use crate::engine::{Timing, measure};

pub struct Limit {
    pub read: Timing,
    pub check: Timing,
    pub compress: Timing,
    pub level: u8,
    /// What the sample said of that level against `gzip -6`.
    pub sample_vs_gzip6: f64,
    pub cores: usize,
}

impl Limit {
    pub fn critical_path(&self) -> Duration {
        self.read.wall.max(self.check.wall)
    }

    pub fn cpu(&self) -> Duration {
        self.read.cpu + self.check.cpu + self.compress.cpu
    }

    pub fn limit(&self) -> Duration {
        self.critical_path().max(self.cpu() / self.cores as u32)
    }
}

pub fn measure_phases(db: &Path, scratch: &Path) -> anyhow::Result<Limit> {
    let Pinning::Pinned(p) = pinned::pin(db)? else {
        anyhow::bail!("{} could not be pinned", db.display());
    };
    let (read, read_t) = measure(|| {
        let mut bytes = 0u64;
        snapshot::each_page(&p.reader, db, &mut |page| {
            bytes += page.len() as u64;
            Ok(())
        })
        .map(|()| bytes)
    });
    read?;
    let (checked, check_t) = measure(|| snapshot::check_connection(&p.checker));
    checked?;
    drop(p);
    let choice = level::choose(&level::Sample::of_file(db)?);
    let level = choice.level;
    let gz = scratch.join("limit.db.gz");
    let options = CompressOptions { level, threads: 0 };
    let (c, compress_t) = measure(|| compress::gzip_file(db, &gz, options, &mut |_| Ok(())));
    c?;
    std::fs::remove_file(&gz)?;
    Ok(Limit {
        read: read_t,
        check: check_t,
        compress: compress_t,
        level,
        sample_vs_gzip6: choice.vs_gzip6,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
    })
}
