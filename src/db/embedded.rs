//! A private PostgreSQL + PostGIS cluster run from the installed PostgreSQL binaries.
//!
//! Used when no `DATABASE_URL` is given: `initdb` creates the cluster under the data directory and
//! `pg_ctl` starts it on a free loopback port. PostgreSQL refuses to run as root, so when this process
//! is root the cluster is owned by, and run as, Debian's unprivileged `postgres` user.
//!
//! Connections need a password (`scram-sha-256`): it is generated when the cluster is created and
//! kept in `<cluster dir>.secret`, readable by the user running satupeta only. The settings are
//! durable (`fsync`, full-page writes, synchronous commit) unless [`ClusterOptions`] says
//! otherwise, which only the tests do.
//!
//! A second process (an import while the server runs) finds the running cluster through its
//! `postmaster.pid` and shares it; only the process that started a cluster stops it.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::Digest;

use super::secret::Secret;
use super::{DbError, Result};

/// The user that owns and runs the cluster when this process is root.
const SERVICE_USER: &str = "postgres";

/// Where clusters go whose data directory the service user cannot reach.
/// (Not `/var/lib/satupeta`: that is the Debian package's data directory, its service user's.)
const FALLBACK_ROOT: &str = "/var/lib/satupeta-clusters";

/// Where earlier versions put those clusters; one found there is moved to [`FALLBACK_ROOT`].
const OLD_FALLBACK_ROOT: &str = "/var/lib/satupeta";

/// How an embedded cluster is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterOptions {
    /// Whether a commit survives a crash of the machine: `fsync`, full-page writes and
    /// synchronous commit on, and `initdb` syncing what it writes. Only a throwaway cluster (the
    /// tests') turns this off, for speed.
    pub durable: bool,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions { durable: true }
    }
}

/// A running embedded cluster; stopped on drop if this process started it.
#[derive(Debug)]
pub struct EmbeddedCluster {
    dir: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    started_here: bool,
    secret: Secret,
    options: ClusterOptions,
}

impl EmbeddedCluster {
    /// Creates (if needed) and starts the cluster in `dir` with durable settings, or attaches to
    /// it if it already runs. See [`EmbeddedCluster::start_with`].
    pub fn start(dir: &Path) -> Result<Self> {
        Self::start_with(dir, ClusterOptions::default())
    }

    /// Creates (if needed) and starts the cluster in `dir`, or attaches to it if it already runs.
    /// A lock file beside `dir` keeps two processes from creating or starting it at once.
    ///
    /// Connections need the password kept in `<dir>.secret` (see [`EmbeddedCluster::url`]); a
    /// cluster created by an older version, which trusted every local connection, is given a
    /// password and made to require it.
    ///
    /// When this process is root and the `postgres` user cannot reach `dir` (a checkout under
    /// `/root`, say), the cluster lives under `/var/lib/satupeta-clusters/` instead, in a directory named
    /// after `dir`, rather than changing the permissions of the user's directories.
    pub fn start_with(dir: &Path, options: ClusterOptions) -> Result<Self> {
        let bin_dir = find_bin_dir()?;
        refuse_another_owner(dir)?;
        let dir = cluster_dir(dir)?;
        let _lock = ClusterLock::acquire(&dir.with_extension("lock"))?;
        let fresh = !dir.join("PG_VERSION").exists();
        let trusting = !fresh && trusts_connections(&dir)?;
        let secret = cluster_secret(&secret_path(&dir), fresh || trusting)?;
        if is_root() && fresh {
            chown_to_service_user(&dir)?;
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| io_error(&dir, e))?;
        }
        let mut cluster = EmbeddedCluster {
            dir,
            bin_dir,
            port: 0,
            started_here: false,
            secret,
            options,
        };
        if fresh {
            cluster.initdb()?;
        }
        match cluster.running_port()? {
            Some(port) => cluster.port = port,
            None => {
                cluster.port = free_port()?;
                cluster.pg_ctl_start()?;
                cluster.started_here = true;
            }
        }
        if trusting {
            cluster.require_password()?;
        }
        Ok(cluster)
    }

    /// Leaves the cluster running when this process ends (other processes still use it).
    pub fn detach(&mut self) {
        self.started_here = false;
    }

    /// Stops the cluster when this process ends, also if another process started it (that one has
    /// gone: the last process out stops the cluster).
    pub fn adopt(&mut self) {
        self.started_here = true;
    }

    /// The connection URL of database `db` in this cluster, with the password: hand it to
    /// external tools through the environment, and show it only through [`super::url::redact`].
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://{SERVICE_USER}:{}@127.0.0.1:{}/{db}",
            self.secret.url_encoded(),
            self.port
        )
    }

    /// Stops the cluster now, waiting until it has (a database restart: the fault tests and the
    /// soak benchmark stop and start the database under load).
    pub fn stop(&self) -> Result<()> {
        let dir = self.dir_str();
        self.run(
            "pg_ctl",
            &["-D", &dir, "-m", "fast", "-w", "stop"],
            "stop the cluster",
        )
    }

    /// Starts again, on its port, a cluster [stopped](Self::stop) by this process.
    pub fn start_again(&self) -> Result<()> {
        self.pg_ctl_start()
    }

    /// Makes `dir` a streaming replica of this cluster: a base backup (`pg_basebackup`) that,
    /// once started with [`EmbeddedCluster::start_with`], follows this cluster's WAL and answers
    /// reads. It shares this cluster's password (its copy of the secret file), which it also uses
    /// to connect to this cluster.
    pub fn make_replica(&self, dir: &Path) -> Result<()> {
        let target = cluster_dir(dir)?;
        if is_root() {
            chown_to_service_user(&target)?;
        }
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&target, fs::Permissions::from_mode(0o700))
            .map_err(|e| io_error(&target, e))?;
        let secret = secret_path(&target);
        fs::copy(self.secret_file(), &secret).map_err(|e| io_error(&secret, e))?;
        let target_str = target.display().to_string();
        let port = self.port.to_string();
        let exe = self.bin_dir.join("pg_basebackup");
        // The password goes through the environment, not the command line.
        let output = self
            .command("pg_basebackup")
            .args(["-D", &target_str, "-R", "-X", "stream", "-c", "fast"])
            .args(["-h", "127.0.0.1", "-p", &port, "-U", SERVICE_USER])
            .env("PGPASSWORD", self.secret.expose())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| DbError::Cluster(format!("cannot run {}: {e}", exe.display())))?;
        if !output.status.success() {
            return Err(DbError::Cluster(format!(
                "pg_basebackup failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        // `-R` wrote how to reach this cluster without the password; a later line wins.
        let auto = target.join("postgresql.auto.conf");
        let line = format!(
            "primary_conninfo = 'host=127.0.0.1 port={} user={SERVICE_USER} password={}'\n",
            self.port,
            self.secret.expose()
        );
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(&auto)
            .map_err(|e| io_error(&auto, e))?;
        std::io::Write::write_all(&mut file, line.as_bytes()).map_err(|e| io_error(&auto, e))
    }

    /// The file holding the password of the cluster's `postgres` role (mode 0600).
    pub fn secret_file(&self) -> PathBuf {
        secret_path(&self.dir)
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

    /// Creates the cluster with password authentication; the password reaches `initdb` in a
    /// file only the service user can read, removed right after.
    fn initdb(&self) -> Result<()> {
        let parent = self.dir.parent().unwrap_or(Path::new("/"));
        let password_file = self.secret.password_file(parent)?;
        if is_root() {
            chown_to_service_user(&password_file)?;
        }
        let dir = self.dir_str();
        let pwfile = format!("--pwfile={}", password_file.display());
        let mut args = vec![
            "-D",
            dir.as_str(),
            "-U",
            SERVICE_USER,
            "--auth=scram-sha-256",
            pwfile.as_str(),
            "--encoding=UTF8",
            "--no-locale",
        ];
        if !self.options.durable {
            args.push("--no-sync");
        }
        let result = self.run(
            "initdb",
            &args,
            "initialise the embedded PostgreSQL cluster",
        );
        drop(password_file);
        result
    }

    /// Upgrades a cluster created by an older version, which trusted every local connection:
    /// sets the password over the still-trusting connection, then makes `pg_hba.conf` require it.
    fn require_password(&self) -> Result<()> {
        tracing::info!(
            "the embedded database {} accepted local connections without a password; \
             setting one (kept in {})",
            self.dir.display(),
            self.secret_file().display()
        );
        self.set_password()?;
        let hba = self.dir.join("pg_hba.conf");
        let text = fs::read_to_string(&hba).map_err(|e| io_error(&hba, e))?;
        if let Some(scram) = require_scram(&text) {
            // Written in place: the file keeps its owner (the service user) and mode.
            fs::write(&hba, scram).map_err(|e| io_error(&hba, e))?;
        }
        let dir = self.dir_str();
        self.run(
            "pg_ctl",
            &["-D", &dir, "reload"],
            "reload the embedded cluster's settings",
        )
    }

    /// `ALTER ROLE postgres PASSWORD ...` through psql's standard input (not its command line),
    /// in a session that logs neither the statement nor, should it fail, its text.
    fn set_password(&self) -> Result<()> {
        let sql = format!(
            "SET log_statement = 'none';\nSET log_min_error_statement = 'panic';\n\
             ALTER ROLE {SERVICE_USER} PASSWORD {};\n",
            self.secret.sql_literal()
        );
        let psql = self.bin_dir.join("psql");
        let port = self.port.to_string();
        let mut child = Command::new(&psql)
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
            .args(["-p", &port, "-U", SERVICE_USER, "-d", "postgres"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| DbError::Cluster(format!("cannot run {}: {e}", psql.display())))?;
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write;
            stdin
                .write_all(sql.as_bytes())
                .map_err(|e| DbError::Cluster(format!("cannot talk to psql: {e}")))?;
        }
        let output = child
            .wait_with_output()
            .map_err(|e| DbError::Cluster(format!("psql: {e}")))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(DbError::Cluster(format!(
                "cannot set the password of the embedded database: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )))
        }
    }

    fn pg_ctl_start(&self) -> Result<()> {
        let dir = self.dir_str();
        let log = self.dir.join("server.log").display().to_string();
        let mut options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' \
             -c max_connections=200 -c shared_buffers=256MB -c work_mem=32MB \
             -c maintenance_work_mem=256MB",
            self.port
        );
        if !self.options.durable {
            // Throwaway clusters (the tests') also keep little WAL: a run creates a database per
            // test, and each creation logs the whole template (PostgreSQL 15's WAL_LOG strategy).
            options.push_str(
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
                 -c max_wal_size=96MB -c min_wal_size=32MB",
            );
        }
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

    /// `program` of the PostgreSQL installation, run as the service user when this process is
    /// root.
    fn command(&self, program: &str) -> Command {
        let exe = self.bin_dir.join(program);
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", SERVICE_USER, "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        }
    }

    fn run(&self, program: &str, args: &[&str], purpose: &str) -> Result<()> {
        let exe = self.bin_dir.join(program);
        let output = self
            .command(program)
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

/// Moves a stopped cluster (its directory and its secret) from `from` to `to`.
fn move_cluster(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
    }
    fs::rename(from, to).map_err(|e| io_error(from, e))?;
    let secret = secret_path(from);
    if secret.exists() {
        fs::rename(&secret, secret_path(to)).map_err(|e| io_error(&secret, e))?;
    }
    let _ = fs::remove_file(from.with_extension("lock"));
    tracing::info!(
        "moved the embedded database from {} to {}",
        from.display(),
        to.display()
    );
    Ok(())
}

/// As root, refuses a cluster that belongs to a user other than the service user (the Debian
/// package's, owned by `satupeta`): PostgreSQL would be run as the wrong user. Run as its owner.
fn refuse_another_owner(dir: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    if !is_root() || !dir.join("PG_VERSION").exists() {
        return Ok(());
    }
    let owner = fs::metadata(dir).map_err(|e| io_error(dir, e))?.uid();
    let service = user_id(SERVICE_USER);
    if service.is_some_and(|uid| uid == owner) || owner == 0 {
        return Ok(());
    }
    let name = user_name(owner).unwrap_or_else(|| owner.to_string());
    Err(DbError::Cluster(format!(
        "the database in {} belongs to the user '{name}': run satupeta as that user \
         (sudo -u {name} satupeta ...), not as root",
        dir.display()
    )))
}

/// The id of user `name`.
fn user_id(name: &str) -> Option<u32> {
    let output = Command::new("id").args(["-u", name]).output().ok()?;
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

/// The name of user `uid`.
fn user_name(uid: u32) -> Option<String> {
    let output = Command::new("id")
        .args(["-nu", &uid.to_string()])
        .output()
        .ok()?;
    let name = String::from_utf8_lossy(&output.stdout).trim().to_string();
    (output.status.success() && !name.is_empty()).then_some(name)
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

/// Gives `path` (and, for a directory, what it holds) to the service user.
fn chown_to_service_user(path: &Path) -> Result<()> {
    let status = Command::new("chown")
        .args(["-R", &format!("{SERVICE_USER}:{SERVICE_USER}")])
        .arg(path)
        .status()
        .map_err(|e| DbError::Cluster(format!("cannot run chown: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(DbError::Cluster(format!(
            "cannot give {} to the '{SERVICE_USER}' user (is the postgresql package installed?)",
            path.display()
        )))
    }
}

/// The directory the cluster lives in: `dir`, or its stand-in under `/var/lib/satupeta-clusters/` when
/// this process is root and the service user cannot reach `dir`.
fn cluster_dir(dir: &Path) -> Result<PathBuf> {
    fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let dir = dir.canonicalize().map_err(|e| io_error(dir, e))?;
    if !is_root() {
        return Ok(dir);
    }
    let Err(unreachable) = check_reachable(&dir) else {
        return Ok(dir);
    };
    let name = hex::encode(&sha2::Sha256::digest(dir.display().to_string().as_bytes())[..8]);
    let fallback = Path::new(FALLBACK_ROOT).join(&name);
    let old = Path::new(OLD_FALLBACK_ROOT).join(&name);
    // A cluster an earlier version put under the Debian package's directory is moved out (once,
    // while it is stopped), before the package makes that directory its service user's alone.
    let fallback = if old.join("PG_VERSION").exists() {
        if fallback.exists() || old.join("postmaster.pid").exists() {
            old
        } else {
            move_cluster(&old, &fallback)?;
            fallback
        }
    } else {
        fallback
    };
    tracing::info!(
        "{unreachable}; using {} for the embedded database",
        fallback.display()
    );
    fs::create_dir_all(&fallback).map_err(|e| io_error(&fallback, e))?;
    check_reachable(&fallback)?;
    Ok(fallback)
}

/// The password file of the cluster in `dir`: `<dir>.secret`.
fn secret_path(dir: &Path) -> PathBuf {
    let mut name = dir.as_os_str().to_os_string();
    name.push(".secret");
    PathBuf::from(name)
}

/// The cluster's secret: the stored one, or, for a cluster being created or upgraded
/// (`may_create`), a new one stored now. A cluster that requires a password whose file is gone
/// cannot be opened.
fn cluster_secret(path: &Path, may_create: bool) -> Result<Secret> {
    if let Some(secret) = Secret::load(path)? {
        return Ok(secret);
    }
    if !may_create {
        return Err(DbError::Cluster(format!(
            "the embedded database requires the password kept in {}, which is missing \
             (restore it, or move the cluster away and restore a backup into a new one)",
            path.display()
        )));
    }
    let secret = Secret::generate();
    secret.store(path)?;
    Ok(secret)
}

/// Whether `pg_hba.conf` of the cluster in `dir` lets any connection in without a password (a
/// cluster created by an older version with `initdb --auth=trust`).
fn trusts_connections(dir: &Path) -> Result<bool> {
    let hba = dir.join("pg_hba.conf");
    let text = fs::read_to_string(&hba).map_err(|e| io_error(&hba, e))?;
    Ok(require_scram(&text).is_some())
}

/// `pg_hba.conf` text with every `trust` method replaced by `scram-sha-256`, or `None` when no
/// rule trusts.
fn require_scram(hba: &str) -> Option<String> {
    let mut changed = false;
    let lines: Vec<String> = hba
        .lines()
        .map(|line| {
            let rule = line.split('#').next().unwrap_or_default();
            if !rule.split_whitespace().any(|word| word == "trust") {
                return line.to_string();
            }
            changed = true;
            let rewritten: Vec<&str> = rule
                .split_whitespace()
                .map(|word| {
                    if word == "trust" {
                        "scram-sha-256"
                    } else {
                        word
                    }
                })
                .collect();
            rewritten.join(" ")
        })
        .collect();
    changed.then(|| lines.join("\n") + "\n")
}

fn io_error(path: &Path, e: std::io::Error) -> DbError {
    DbError::Cluster(format!("{}: {e}", path.display()))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusting_rules_are_made_to_require_a_password() {
        let old = "# TYPE DATABASE USER ADDRESS METHOD\n\
                   local all all trust\n\
                   host all all 127.0.0.1/32 trust # loopback\n\
                   host replication all ::1/128 md5\n";
        assert_eq!(
            require_scram(old).as_deref(),
            Some(
                "# TYPE DATABASE USER ADDRESS METHOD\n\
                 local all all scram-sha-256\n\
                 host all all 127.0.0.1/32 scram-sha-256\n\
                 host replication all ::1/128 md5\n"
            )
        );
        let new = require_scram(old).unwrap_or_default();
        assert_eq!(require_scram(&new), None);
        assert_eq!(require_scram("# trust nobody\n"), None);
    }

    #[test]
    fn the_secret_sits_beside_the_cluster() {
        assert_eq!(
            secret_path(Path::new("var/postgres")),
            PathBuf::from("var/postgres.secret")
        );
    }
}
