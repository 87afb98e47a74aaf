//! Login throttling (SPEC §9): after too many failed logins for a user or
//! from an address within the window, further attempts are refused — even
//! with the right password — until the window has passed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per user name, and per client address, in one window.
const MAX_FAILURES_PER_USER: usize = 5;
const MAX_FAILURES_PER_ADDRESS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Address(IpAddr),
}

pub struct LoginThrottle {
    window: Duration,
    failures: Mutex<HashMap<Key, Vec<Instant>>>,
}

impl LoginThrottle {
    pub fn new(window: Duration) -> Self {
        LoginThrottle {
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` while this user or address is locked out.
    pub fn check(&self, username: &str, address: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut failures = self.failures.lock().expect("throttle lock poisoned");
        let mut wait = Duration::ZERO;
        for (key, max) in [
            (Key::User(username.to_owned()), MAX_FAILURES_PER_USER),
            (Key::Address(address), MAX_FAILURES_PER_ADDRESS),
        ] {
            if let Some(times) = failures.get_mut(&key) {
                times.retain(|t| now.duration_since(*t) < self.window);
                if times.len() >= max {
                    wait = wait.max(self.window - now.duration_since(times[times.len() - max]));
                }
            }
        }
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    pub fn record_failure(&self, username: &str, address: IpAddr) {
        let now = Instant::now();
        let mut failures = self.failures.lock().expect("throttle lock poisoned");
        // Forget stale keys now and then, so a spray of names cannot grow the map for ever.
        if failures.len() > 10_000 {
            failures.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < self.window));
        }
        for key in [Key::User(username.to_owned()), Key::Address(address)] {
            failures.entry(key).or_default().push(now);
        }
    }

    /// A successful login clears the user's failures.
    pub fn record_success(&self, username: &str) {
        self.failures
            .lock()
            .expect("throttle lock poisoned")
            .remove(&Key::User(username.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn five_failures_lock_the_user_out_for_the_window() {
        let t = LoginThrottle::new(Duration::from_secs(900));
        for _ in 0..5 {
            assert!(t.check("admin", HOME).is_ok());
            t.record_failure("admin", HOME);
        }
        let wait = t.check("admin", HOME).unwrap_err();
        assert!(wait > Duration::from_secs(890));
        assert!(
            t.check("someone-else", HOME).is_ok(),
            "the address has room left"
        );
    }

    #[test]
    fn many_names_from_one_address_lock_the_address_out() {
        let t = LoginThrottle::new(Duration::from_secs(900));
        for i in 0..20 {
            t.record_failure(&format!("user{i}"), HOME);
        }
        assert!(t.check("fresh-name", HOME).is_err());
    }

    #[test]
    fn failures_expire_with_the_window_and_success_clears_them() {
        let t = LoginThrottle::new(Duration::from_millis(50));
        for _ in 0..5 {
            t.record_failure("admin", HOME);
        }
        assert!(t.check("admin", HOME).is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert!(t.check("admin", HOME).is_ok());
        t.record_failure("admin", HOME);
        t.record_success("admin");
        assert!(t.check("admin", HOME).is_ok());
    }
}
