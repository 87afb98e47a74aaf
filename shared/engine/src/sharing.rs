//! Sharing the cores between the integrity check and the compression.
//!
//! Both run on the snapshot at once. `PRAGMA integrity_check` is one thread
//! and usually the longer of the two, so it sets the pace: when the
//! compression starts one thread per core beside it, the kernel shares
//! `cores` between `cores + 1` busy threads and the check runs slower than
//! alone. A [`LentCore`] keeps one compressing thread waiting until the
//! check gives its core back, so the check has a core of its own and the
//! compression takes up every core once it is done.

use std::sync::{Condvar, Mutex};

/// One core lent to other work while a compression runs: the compression
/// uses one thread fewer until [`LentCore::give_back`] is called.
#[derive(Debug, Default)]
pub struct LentCore {
    returned: Mutex<bool>,
    cv: Condvar,
}

impl LentCore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The other work is done: the waiting thread starts.
    pub fn give_back(&self) {
        *self.returned.lock().expect("lent core poisoned") = true;
        self.cv.notify_all();
    }

    /// Blocks until the core is given back.
    pub(crate) fn wait(&self) {
        let mut returned = self.returned.lock().expect("lent core poisoned");
        while !*returned {
            returned = self.cv.wait(returned).expect("lent core poisoned");
        }
    }

    /// A guard that gives the core back when dropped, even on a panic or an
    /// early return, so the compression can never wait for it forever.
    pub fn borrow(&self) -> Borrowed<'_> {
        Borrowed(self)
    }
}

/// See [`LentCore::borrow`].
#[derive(Debug)]
pub struct Borrowed<'a>(&'a LentCore);

impl Drop for Borrowed<'_> {
    fn drop(&mut self) {
        self.0.give_back();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_waiting_thread_starts_when_the_borrower_is_done() {
        let core = LentCore::new();
        std::thread::scope(|scope| {
            let borrowed = core.borrow();
            let waiter = scope.spawn(|| core.wait());
            std::thread::sleep(Duration::from_millis(20));
            assert!(!waiter.is_finished());
            drop(borrowed);
            waiter.join().unwrap();
        });
    }

    #[test]
    fn a_core_given_back_before_anyone_waits_does_not_block() {
        let core = LentCore::new();
        core.give_back();
        core.wait();
    }
}
