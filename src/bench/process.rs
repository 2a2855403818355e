//! Servers run as processes of their own, as in production: satupeta (`satupeta serve`), the
//! static peer (nginx) and the Python feature servers (tipg, pygeoapi). Their memory is read from
//! `/proc`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A child process, stopped (SIGTERM, then killed) when dropped.
pub struct Process {
    child: Child,
    /// Its base URL.
    pub url: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        // SAFETY: sending SIGTERM to a child this struct owns.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Starts `satupeta serve` on a free loopback port over `database_url`, with `args`; waits
    /// until it prints its address.
    pub fn satupeta(binary: &Path, database_url: &str, args: &[&str]) -> anyhow::Result<Self> {
        let mut child = Command::new(binary)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(args)
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "satupeta=warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let url = line.trim().strip_prefix("serving on ").map(str::to_string);
        let Some(url) = url else {
            let _ = child.kill();
            bail!("the server did not start: {line}");
        };
        Ok(Process { child, url })
    }

    /// Starts nginx with the configuration file `config` and waits for `url` to answer.
    pub fn nginx(config: &Path, url: &str) -> anyhow::Result<Self> {
        let child = Command::new(nginx_binary())
            .args(["-c", config.to_str().context("path")?, "-e", "stderr"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting nginx (apt-get install nginx-light)")?;
        let process = Process {
            child,
            url: url.to_string(),
        };
        let address = url.trim_start_matches("http://");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(address).is_ok() {
                return Ok(process);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("nginx did not start listening on {address}")
    }

    /// Starts `command` (a peer named `name`) with its output in `log`, and waits up to `timeout`
    /// until `probe` answers 200. A peer that exits or does not answer is an error that quotes
    /// the end of its log.
    pub fn http(
        name: &str,
        mut command: Command,
        url: &str,
        probe: &str,
        log: &Path,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let out =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        let mut process = Process {
            child,
            url: url.to_string(),
        };
        let tail = |log: &Path| {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(15)..].join("\n")
        };
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = process.child.try_wait() {
                bail!(
                    "{name} exited ({status}) before answering {probe}; the end of {}:\n{}",
                    log.display(),
                    tail(log)
                );
            }
            if http_status(probe).is_some_and(|code| code == 200) {
                return Ok(process);
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        bail!(
            "{name} did not answer {probe} with 200 within {} s; the end of {}:\n{}",
            timeout.as_secs(),
            log.display(),
            tail(log)
        )
    }

    /// Resident memory now and at its peak, in MB (`VmRSS` and `VmHWM`).
    pub fn memory_mb(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let kb = |field: &str| -> f64 {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
    }
}

/// The HTTP status of a GET of `url` (curl), or `None` when nothing answers.
pub fn http_status(url: &str) -> Option<u16> {
    let output = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-m",
            "10",
            "-w",
            "%{http_code}",
            url,
        ])
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .ok()
        .filter(|&code| code > 0)
}

/// Debian's nginx.
pub fn nginx_binary() -> &'static str {
    "/usr/sbin/nginx"
}

/// A free loopback port.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
