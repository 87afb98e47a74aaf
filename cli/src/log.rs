//! The guide's log lines: `[YYYY-MM-DD HH:MM:SS] message`, in the
//! configured timezone, on stdout.

use chrono::Utc;
use chrono_tz::Tz;

#[derive(Clone, Copy)]
pub struct Log {
    pub tz: Tz,
    /// `--json`: the log lines go to stderr so stdout stays parseable.
    pub to_stderr: bool,
}

impl Log {
    pub fn line(&self, message: impl AsRef<str>) {
        let stamp = Utc::now()
            .with_timezone(&self.tz)
            .format("%Y-%m-%d %H:%M:%S");
        if self.to_stderr {
            eprintln!("[{stamp}] {}", message.as_ref());
        } else {
            println!("[{stamp}] {}", message.as_ref());
        }
    }
}
