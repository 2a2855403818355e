//! A private PostgreSQL + PostGIS cluster run from the installed PostgreSQL binaries.
//!
//! Used when no `DATABASE_URL` is given: `initdb` creates the cluster under the data directory and
//! `pg_ctl` starts it on a free loopback port. PostgreSQL refuses to run as root, so when this process
//! is root the cluster is owned by, and run as, Debian's unprivileged `postgres` user.
//!
//! A second process (an import while the server runs) finds the running cluster through its
//! `postmaster.pid` and shares it; only the process that started a cluster stops it.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::Digest;

use super::{DbError, Result};

/// The user that owns and runs the cluster when this process is root.
const SERVICE_USER: &str = "postgres";

/// Where clusters go whose data directory the service user cannot reach.
const FALLBACK_ROOT: &str = "/var/lib/satupeta";

/// A running embedded cluster; stopped on drop if this process started it.
#[derive(Debug)]
pub struct EmbeddedCluster {
    dir: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    started_here: bool,
}

impl EmbeddedCluster {
    /// Creates (if needed) and starts the cluster in `dir`, or attaches to it if it already runs.
    /// A lock file beside `dir` keeps two processes from creating or starting it at once.
    ///
    /// When this process is root and the `postgres` user cannot reach `dir` (a checkout under
    /// `/root`, say), the cluster lives under `/var/lib/satupeta/` instead, in a directory named
    /// after `dir`, rather than changing the permissions of the user's directories.
    pub fn start(dir: &Path) -> Result<Self> {
        let bin_dir = find_bin_dir()?;
        fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        let mut dir = dir.canonicalize().map_err(|e| io_error(dir, e))?;
        if is_root()
            && let Err(unreachable) = check_reachable(&dir)
        {
            let name =
                hex::encode(&sha2::Sha256::digest(dir.display().to_string().as_bytes())[..8]);
            let fallback = Path::new(FALLBACK_ROOT).join(name);
            tracing::info!(
                "{unreachable}; using {} for the embedded database",
                fallback.display()
            );
            fs::create_dir_all(&fallback).map_err(|e| io_error(&fallback, e))?;
            check_reachable(&fallback)?;
            dir = fallback;
        }
        let _lock = ClusterLock::acquire(&dir.with_extension("lock"))?;
        let fresh = !dir.join("PG_VERSION").exists();
        if is_root() && fresh {
            chown_to_service_user(&dir)?;
        }
        let mut cluster = EmbeddedCluster {
            dir,
            bin_dir,
            port: 0,
            started_here: false,
        };
        if fresh {
            cluster.initdb()?;
        }
        if let Some(port) = cluster.running_port()? {
            cluster.port = port;
            return Ok(cluster);
        }
        cluster.port = free_port()?;
        cluster.pg_ctl_start()?;
        cluster.started_here = true;
        Ok(cluster)
    }

    /// Leaves the cluster running when this process ends (other processes still use it).
    pub fn detach(&mut self) {
        self.started_here = false;
    }

    /// The connection URL of database `db` in this cluster.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{SERVICE_USER}@127.0.0.1:{}/{db}", self.port)
    }

    /// Keeps the cluster running after this process ends, or stops it then: a watchdog process
    /// stops it (and removes its directory if `remove_dir`) once this process has exited,
    /// however it exits. Used by tests, whose process never runs destructors of statics.
    pub fn stop_when_process_exits(&mut self, remove_dir: Option<&Path>) -> Result<()> {
        if !self.started_here {
            return Ok(());
        }
        let stop = self.command_line(
            "pg_ctl",
            &["-D", &self.dir_str(), "-m", "immediate", "stop"],
        );
        let cleanup = remove_dir
            .map(|d| format!("; rm -rf '{}'", d.display()))
            .unwrap_or_default();
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1{cleanup}",
            pid = std::process::id()
        );
        use std::os::unix::process::CommandExt;
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| DbError::Cluster(format!("cannot start the cluster watchdog: {e}")))?;
        self.started_here = false;
        Ok(())
    }

    fn dir_str(&self) -> String {
        self.dir.display().to_string()
    }

    fn initdb(&self) -> Result<()> {
        let dir = self.dir_str();
        let args = [
            "-D",
            dir.as_str(),
            "-U",
            SERVICE_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        ];
        self.run(
            "initdb",
            &args,
            "initialise the embedded PostgreSQL cluster",
        )
    }

    fn pg_ctl_start(&self) -> Result<()> {
        let dir = self.dir_str();
        let log = self.dir.join("server.log").display().to_string();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 \
             -c shared_buffers=256MB -c work_mem=32MB -c maintenance_work_mem=256MB",
            self.port
        );
        let args = [
            "-D",
            dir.as_str(),
            "-l",
            log.as_str(),
            "-w",
            "-t",
            "60",
            "-o",
            options.as_str(),
            "start",
        ];
        self.run("pg_ctl", &args, "start the embedded PostgreSQL cluster")
            .map_err(|e| match fs::read_to_string(&log) {
                Ok(text) => DbError::Cluster(format!("{e}\nserver log:\n{}", tail(&text, 20))),
                Err(_) => e,
            })
    }

    /// The port of the postmaster running on this directory, once it accepts connections; `None`
    /// when none runs (no `postmaster.pid`, or one left by a process that is gone).
    fn running_port(&self) -> Result<Option<u16>> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let Ok(pid_file) = fs::read_to_string(self.dir.join("postmaster.pid")) else {
                return Ok(None);
            };
            // Lines: pid, data directory, start time, port, socket directory, listen address,
            // shared memory key, status.
            let lines: Vec<&str> = pid_file.lines().collect();
            let Some(pid) = lines.first().and_then(|l| l.trim().parse::<i32>().ok()) else {
                return Ok(None);
            };
            // SAFETY: kill with signal 0 only checks that the process exists.
            let alive = unsafe { libc::kill(pid, 0) } == 0
                || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
            let is_postgres = fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.starts_with("postgres"));
            if !alive || !is_postgres {
                return Ok(None);
            }
            let port = lines.get(3).and_then(|l| l.trim().parse().ok());
            if lines.get(7).map(|l| l.trim()) == Some("ready") && port.is_some() {
                return Ok(port);
            }
            if std::time::Instant::now() > deadline {
                return Err(DbError::Cluster(format!(
                    "the PostgreSQL server of {} (pid {pid}) did not become ready",
                    self.dir.display()
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    fn command_line(&self, program: &str, args: &[&str]) -> String {
        let exe = self.bin_dir.join(program).display().to_string();
        let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        if is_root() {
            format!("runuser -u {SERVICE_USER} -- '{exe}' {}", quoted.join(" "))
        } else {
            format!("'{exe}' {}", quoted.join(" "))
        }
    }

    fn run(&self, program: &str, args: &[&str], purpose: &str) -> Result<()> {
        let exe = self.bin_dir.join(program);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", SERVICE_USER, "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let output = command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                DbError::Cluster(format!("cannot {purpose}: running {}: {e}", exe.display()))
            })?;
        if output.status.success() {
            Ok(())
        } else {
            Err(DbError::Cluster(format!(
                "cannot {purpose}: {program} failed ({}): {}{}",
                output.status,
                String::from_utf8_lossy(&output.stderr),
                String::from_utf8_lossy(&output.stdout)
            )))
        }
    }
}

impl Drop for EmbeddedCluster {
    fn drop(&mut self) {
        if self.started_here {
            let dir = self.dir_str();
            if let Err(e) = self.run(
                "pg_ctl",
                &["-D", &dir, "-m", "fast", "-w", "stop"],
                "stop the cluster",
            ) {
                tracing::warn!("{e}");
            }
        }
    }
}

/// The bin directory of the newest installed PostgreSQL (Debian layout), or `SATUPETA_PG_BIN`.
pub fn find_bin_dir() -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("SATUPETA_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    Err(DbError::Cluster(
        "no PostgreSQL server is installed (looked in /usr/lib/postgresql/*/bin): install \
         postgresql-15-postgis-3, or set DATABASE_URL to use an external server"
            .into(),
    ))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| DbError::Cluster(format!("cannot find a free loopback port: {e}")))?;
    Ok(listener
        .local_addr()
        .map_err(|e| DbError::Cluster(e.to_string()))?
        .port())
}

/// Checks that the service user can reach `dir`: every ancestor must be searchable by others.
fn check_reachable(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for ancestor in dir.ancestors().skip(1) {
        let Ok(meta) = fs::metadata(ancestor) else {
            continue;
        };
        if meta.permissions().mode() & 0o001 == 0 {
            return Err(DbError::Cluster(format!(
                "the '{SERVICE_USER}' user that runs PostgreSQL cannot reach {}: {} is not searchable by \
                 others (chmod o+x it, or choose another --data-dir)",
                dir.display(),
                ancestor.display()
            )));
        }
    }
    Ok(())
}

/// An exclusive lock (flock) on a file, held while a cluster is created, started or attached.
struct ClusterLock {
    _file: fs::File,
}

impl ClusterLock {
    fn acquire(path: &Path) -> Result<Self> {
        use std::os::unix::io::AsRawFd;
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| io_error(path, e))?;
        // SAFETY: flock on a descriptor this function owns; it blocks until the lock is granted.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(io_error(path, std::io::Error::last_os_error()));
        }
        Ok(ClusterLock { _file: file })
    }
}

fn chown_to_service_user(dir: &Path) -> Result<()> {
    let status = Command::new("chown")
        .args(["-R", &format!("{SERVICE_USER}:{SERVICE_USER}")])
        .arg(dir)
        .status()
        .map_err(|e| DbError::Cluster(format!("cannot run chown: {e}")))?;
    if status.success() {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| io_error(dir, e))
    } else {
        Err(DbError::Cluster(format!(
            "cannot give {} to the '{SERVICE_USER}' user (is the postgresql package installed?)",
            dir.display()
        )))
    }
}

fn io_error(path: &Path, e: std::io::Error) -> DbError {
    DbError::Cluster(format!("{}: {e}", path.display()))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
