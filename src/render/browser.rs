//! Headless Chromium, for what a person looks at in a browser: finds it on the PATH, runs it on a
//! page with a time limit, and reads back `map.html`'s self-test report (`?selftest`, which the
//! page writes into its `#selftest` element). The integration tests and `hebb bench map` use it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The longest a headless run may take before it is killed.
const TIME_LIMIT: Duration = Duration::from_secs(180);

/// The Chromium on the PATH, if any.
pub fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs headless Chromium (software WebGL, a 900 x 700 window, its profile in `profile`) on
/// `url` with `args`, and returns what it printed on stdout.
pub fn headless(browser: &Path, profile: &Path, args: &[&str], url: &str) -> Result<String> {
    let mut child = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--enable-unsafe-swiftshader", "--window-size=900,700"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--virtual-time-budget=20000"])
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", browser.display()))?;
    let mut stdout = child.stdout.take().context("chromium's stdout")?;
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).map(|_| out)
    });
    let started = Instant::now();
    while child.try_wait()?.is_none() {
        if started.elapsed() > TIME_LIMIT {
            child.kill()?;
            child.wait()?;
            bail!("chromium did not finish within {} s on {url}", TIME_LIMIT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().map_err(|_| anyhow::anyhow!("reading chromium's output failed"))?.context("chromium's output")
}

/// `map.html`'s self-test report for `page`, with `query` added to `?selftest=1` (e.g.
/// `&frames=1` for the frame times).
pub fn self_test(browser: &Path, profile: &Path, page: &Path, query: &str) -> Result<serde_json::Value> {
    let absolute = std::fs::canonicalize(page).with_context(|| format!("cannot find {}", page.display()))?;
    let url = format!("file://{}?selftest=1{query}", absolute.display());
    let dom = headless(browser, profile, &["--dump-dom"], &url)?;
    let report = dom
        .split("<pre id=\"selftest\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .filter(|text| !text.is_empty())
        .with_context(|| format!("{} wrote no self-test report", page.display()))?;
    let text = report.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
    serde_json::from_str(&text).with_context(|| format!("{}'s self-test report is not JSON", page.display()))
}
