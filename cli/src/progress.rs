//! A progress bar for `backup` when stdout is a terminal. Log lines are
//! printed above it, so the guide's lines stay whole; when stdout is not a
//! terminal (scripts, cron, `--json`) there is no bar and nothing changes.

use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressStyle};

use crate::log::Log;

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar only if `wanted` and stdout is a terminal.
    pub fn new(wanted: bool) -> Self {
        let bar = (wanted && std::io::stdout().is_terminal()).then(|| {
            let bar = ProgressBar::new(100);
            bar.set_style(
                ProgressStyle::with_template("{bar:40.cyan/blue} {pos:>3}% {msg}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar
        });
        Progress { bar }
    }

    /// Overall percent and the phase's name.
    pub fn set(&self, percent: u8, phase: &str) {
        if let Some(bar) = &self.bar {
            bar.set_position(u64::from(percent.min(100)));
            bar.set_message(phase.to_owned());
        }
    }

    /// Prints a log line above the bar.
    pub fn line(&self, log: Log, message: impl AsRef<str>) {
        match &self.bar {
            Some(bar) => bar.suspend(|| log.line(message)),
            None => log.line(message),
        }
    }

    /// Removes the bar; the lines after it print as usual.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
