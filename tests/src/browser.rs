//! Real headless Chromium for the web UI tests, driven over WebDriver.
//!
//! [`Browser::start`] runs Debian's `chromedriver` on a free loopback port
//! and opens a Chromium session with a fresh profile and the flags this
//! closed-network machine needs. Without `chromium` and `chromedriver` it
//! panics with the packages to install: a UI test never passes by skipping.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tempfile::TempDir;

/// How long a wait for something on the page lasts before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

const INSTALL_HINT: &str = "the web UI tests need Chromium and ChromeDriver: install the Debian \
     packages with `apt-get install chromium chromium-driver` (.ci/run does this)";

/// A Chromium session, with the chromedriver that runs it.
pub struct Browser {
    pub client: Client,
    driver: Child,
    port: u16,
    session_id: Option<String>,
    _profile: TempDir,
}

/// The first of `names` found in `PATH` (or as an absolute path).
fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names.iter().find_map(|name| {
        let direct = Path::new(name);
        if direct.is_absolute() {
            return direct.is_file().then(|| direct.to_owned());
        }
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a new, empty profile.
    pub async fn start() -> Browser {
        let chromedriver = find_program(&["chromedriver", "/usr/bin/chromedriver"])
            .unwrap_or_else(|| panic!("chromedriver not found: {INSTALL_HINT}"));
        let chromium = find_program(&["chromium", "chromium-browser", "/usr/bin/chromium"])
            .unwrap_or_else(|| panic!("chromium not found: {INSTALL_HINT}"));

        let port = free_port();
        let log = std::env::var_os("TEST_LOG").is_some();
        let quiet = || if log { Stdio::inherit() } else { Stdio::null() };
        let mut driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(quiet())
            .stderr(quiet())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = driver.try_wait() {
                panic!("chromedriver exited at start ({status})");
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "chromedriver did not listen on port {port} within 15 s"
            );
            std::thread::sleep(Duration::from_millis(25));
        }

        let profile = tempfile::tempdir().expect("a profile folder");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            "--force-device-scale-factor=1",
            "--window-size=1280,1000",
        ]
        .map(String::from)
        .into_iter()
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        let client = match client {
            Ok(client) => client,
            Err(e) => {
                let _ = driver.kill();
                let _ = driver.wait();
                panic!("chromedriver could not start {}: {e}", chromium.display());
            }
        };
        let session_id = client.session_id().await.ok().flatten();
        Browser {
            client,
            driver,
            port,
            session_id,
            _profile: profile,
        }
    }

    /// Ends the session (Chromium exits) and stops chromedriver.
    pub async fn close(mut self) {
        if self.client.clone().close().await.is_ok() {
            self.session_id = None;
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// The first element matching `css`, once it exists.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css:?} within {WAIT:?}: {e}"))
    }

    /// Waits until an element matching `css` is displayed.
    pub async fn visible(&self, css: &str) -> Element {
        self.until(&format!("{css} to be displayed"), || async move {
            for element in self.client.find_all(Locator::Css(css)).await.ok()? {
                if element.is_displayed().await.unwrap_or(false) {
                    return Some(element);
                }
            }
            None
        })
        .await
    }

    /// Waits until no element matches `css`.
    pub async fn gone(&self, css: &str) {
        self.until(&format!("{css} to go away"), || async move {
            let found = self.client.find_all(Locator::Css(css)).await.ok()?;
            found.is_empty().then_some(())
        })
        .await
    }

    /// Whether any element matching `css` is displayed now.
    pub async fn is_displayed(&self, css: &str) -> bool {
        for element in self.client.find_all(Locator::Css(css)).await.unwrap() {
            if element.is_displayed().await.unwrap_or(false) {
                return true;
            }
        }
        false
    }

    /// Waits until a displayed element matching `css` has `text` in its text.
    pub async fn text_appears(&self, css: &str, text: &str) -> Element {
        self.until(&format!("{css} to show {text:?}"), || async move {
            for element in self.client.find_all(Locator::Css(css)).await.ok()? {
                if element.text().await.ok()?.contains(text) {
                    return Some(element);
                }
            }
            None
        })
        .await
    }

    /// The text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    pub async fn click(&self, css: &str) {
        self.visible(css).await.click().await.unwrap();
    }

    /// Replaces the value of an input.
    pub async fn fill(&self, css: &str, value: &str) {
        let input = self.visible(css).await;
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }

    /// Runs JavaScript in the page and returns its result.
    pub async fn script(&self, source: &str) -> Value {
        self.client.execute(source, vec![]).await.unwrap()
    }

    /// Polls `check` until it gives a value; fails the test after [`WAIT`].
    pub async fn until<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let start = Instant::now();
        loop {
            if let Some(value) = check().await {
                return value;
            }
            if start.elapsed() > WAIT {
                let test = std::thread::current()
                    .name()
                    .unwrap_or("test")
                    .replace("::", "-");
                let shot = self.screenshot(&format!("failed-{test}")).await;
                panic!(
                    "waited {WAIT:?} for {what}; the page is in {}",
                    shot.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a PNG of the window as `target/ui-screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        let path = dir.join(format!("{name}.png"));
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }
}

/// `target/ui-screenshots`, beside the test binary's `target/debug`.
pub fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/debug/deps/web_ui-<hash>
    exe.ancestors()
        .nth(3)
        .expect("the target folder")
        .join("ui-screenshots")
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A test that panicked never called close(): end the session with a
        // plain request (no runtime here), so chromedriver closes Chromium.
        if let Some(id) = self.session_id.take()
            && let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port))
        {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = write!(
                stream,
                "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.port
            );
            let _ = std::io::Read::read(&mut stream, &mut [0; 512]);
        }
        let pid = nix::unistd::Pid::from_raw(self.driver.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.driver.wait();
    }
}
