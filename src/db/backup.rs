//! `satupeta backup` and `satupeta restore`: the project's database written by `pg_dump` in its
//! custom format, and put back all or nothing by `psql` running, in one transaction, a script that
//! drops the project's schemas and then runs the SQL `pg_restore` prints. The same for the
//! embedded cluster and an external server; the tools get the password through `PGPASSWORD`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use super::url::{SplitUrl, split_password};
use super::{Database, DbError, find_bin_dir};

/// Tables whose presence tells a satupeta backup from another PostgreSQL archive.
const REQUIRED_TABLES: [&str; 4] = ["change_log", "plan", "plan_version", "zoning_feature"];

/// Errors of backing up and restoring.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A PostgreSQL tool could not be started. (The causes of this and `Io` are part of their
    /// message, not their `source`, so that a report of the chain does not say them twice.)
    #[error("cannot run {}: {cause}", program.display())]
    Spawn {
        /// The tool.
        program: PathBuf,
        /// Why it could not be started.
        cause: std::io::Error,
    },
    /// A PostgreSQL tool failed.
    #[error("{doing} failed: {detail}")]
    Tool {
        /// What the tool was doing.
        doing: String,
        /// What it printed.
        detail: String,
    },
    /// A file could not be written, read or renamed.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// The file is not a backup written by `satupeta backup`.
    #[error("{} is not a satupeta backup: {reason}", path.display())]
    NotABackup {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The backup could not be read to the end; nothing was changed.
    #[error("{} is damaged, the database was not changed: {detail}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What `pg_restore` reported.
        detail: String,
    },
    /// The restore failed inside its transaction, which was rolled back.
    #[error("the restore failed and was rolled back, the database is unchanged: {0}")]
    RolledBack(String),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A query failed.
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// Result alias of backing up and restoring.
pub type Result<T> = std::result::Result<T, BackupError>;

/// What a backup holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Contents {
    /// Plans (RDTR documents).
    pub plans: i64,
    /// Plan versions, published or not.
    pub versions: i64,
    /// Zoning features of every version.
    pub features: i64,
}

/// What was backed up or restored, and the size of the backup file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// The plans, versions and features.
    pub contents: Contents,
    /// Size of the backup file in bytes.
    pub bytes: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Contents {
            plans,
            versions,
            features,
        } = self.contents;
        write!(
            f,
            "{plans} plan(s), {versions} plan version(s), {features} zoning feature(s), rules \
             and change log ({:.2} MB)",
            self.bytes as f64 / 1e6
        )
    }
}

/// Writes a backup of `db` to `file`: to a temporary file beside it, checked readable, then
/// renamed, so that `file` is never a partial backup. The counts come from the snapshot that
/// `pg_dump` saves.
pub async fn backup(db: &Database, file: &Path) -> Result<Summary> {
    let tools = Tools::new(&db.url)?;
    let partial = partial_file(file)?;
    let mut snapshot = db.pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *snapshot)
        .await?;
    let id: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *snapshot)
        .await?;
    let contents = contents(&mut *snapshot).await?;
    tools.dump(&id, partial.path()).await?;
    snapshot.rollback().await?;
    tools.check(partial.path()).await?;
    partial.persist(file).map_err(|e| io_error(file, e.error))?;
    sync_parent(file)?;
    Ok(Summary {
        contents,
        bytes: file_size(file)?,
    })
}

/// Checks that `file` is a readable satupeta backup, without touching any database.
pub async fn check(file: &Path) -> Result<()> {
    Tools::new("")?.check(file).await
}

/// Replaces the contents of `db` with the backup in `file`, all or nothing, brings the schema up
/// to date, and announces the change so that running servers reload.
pub async fn restore(db: &Database, file: &Path) -> Result<Summary> {
    let tools = Tools::new(&db.url)?;
    tools.check(file).await?;
    let script = tools.restore_script(file).await?;
    tools.run_script(script.path()).await?;
    drop(script);
    end_other_sessions(&db.pool).await?;
    super::migrate(&db.pool).await?;
    let mut tx = db.pool.begin().await?;
    super::announce_change(&mut tx, "restore").await?;
    tx.commit().await?;
    Ok(Summary {
        contents: contents(&db.pool).await?,
        bytes: file_size(file)?,
    })
}

/// Ends every other session on the database: the restore recreated PostGIS, and a session that
/// used the old one keeps stale type and operator numbers (`no spatial operator found`). Running
/// servers open fresh connections at once (their pools test a connection before using it).
async fn end_other_sessions(pool: &sqlx::PgPool) -> Result<()> {
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(pool)
    .await?;
    Ok(())
}

async fn contents<'e>(executor: impl sqlx::PgExecutor<'e>) -> Result<Contents> {
    Ok(sqlx::query_as(include_str!("sql/contents.sql"))
        .fetch_one(executor)
        .await?)
}

/// The PostgreSQL client tools and the server they talk to.
struct Tools {
    bin_dir: PathBuf,
    target: SplitUrl,
}

impl Tools {
    fn new(url: &str) -> Result<Self> {
        Ok(Tools {
            bin_dir: find_bin_dir()?,
            target: split_password(url),
        })
    }

    /// `pg_dump` of the target database in the custom format, from the exported snapshot.
    async fn dump(&self, snapshot: &str, out: &Path) -> Result<()> {
        let mut command = self.command("pg_dump");
        command
            .args(["--format=custom", "--snapshot", snapshot, "--file"])
            .arg(out)
            .arg("--dbname")
            .arg(&self.target.url);
        self.run(command, "pg_dump (writing the backup)").await?;
        Ok(())
    }

    /// Checks that `file` is an archive `pg_restore` can read and holds satupeta's tables.
    async fn check(&self, file: &Path) -> Result<()> {
        std::fs::metadata(file).map_err(|e| io_error(file, e))?;
        let mut command = self.command("pg_restore");
        command.arg("--list").arg(file);
        let listing = self
            .run(command, "pg_restore --list")
            .await
            .map_err(|e| match e {
                BackupError::Tool { detail, .. } => BackupError::NotABackup {
                    path: file.to_path_buf(),
                    reason: detail,
                },
                other => other,
            })?;
        let missing: Vec<&str> = REQUIRED_TABLES
            .into_iter()
            .filter(|table| !lists_table(&listing, table))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(BackupError::NotABackup {
                path: file.to_path_buf(),
                reason: format!("it has no table {}", missing.join(", ")),
            })
        }
    }

    /// The restore script: `restore_begin.sql`, the SQL `pg_restore` prints for `file` (without
    /// owners or privileges, which may not exist on this server), `restore_end.sql`. Written in
    /// full before anything is run, so that a backup that cannot be read to its end changes
    /// nothing.
    async fn restore_script(&self, file: &Path) -> Result<tempfile::NamedTempFile> {
        let mut script = tempfile::Builder::new()
            .prefix("satupeta-restore-")
            .suffix(".sql")
            .tempfile()
            .map_err(|e| io_error(&std::env::temp_dir(), e))?;
        let path = script.path().to_path_buf();
        script
            .write_all(include_bytes!("sql/restore_begin.sql"))
            .map_err(|e| io_error(&path, e))?;
        // pg_restore appends to the script: its output shares the file's offset.
        let output = script
            .as_file()
            .try_clone()
            .map_err(|e| io_error(&path, e))?;
        let mut command = self.command("pg_restore");
        command
            .args(["--no-owner", "--no-privileges", "--file", "-"])
            .arg(file)
            .stdout(Stdio::from(output));
        self.run(command, "pg_restore").await.map_err(|e| match e {
            BackupError::Tool { detail, .. } => BackupError::Damaged {
                path: file.to_path_buf(),
                detail,
            },
            other => other,
        })?;
        script
            .write_all(include_bytes!("sql/restore_end.sql"))
            .map_err(|e| io_error(&path, e))?;
        Ok(script)
    }

    /// Runs the restore script in one transaction that stops at the first error.
    async fn run_script(&self, script: &Path) -> Result<()> {
        let mut command = self.command("psql");
        command
            .args(["--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1"])
            .args(["--single-transaction", "--file"])
            .arg(script)
            .arg("--dbname")
            .arg(&self.target.url)
            .stdout(Stdio::null());
        match self.run(command, "psql").await {
            Ok(_) => Ok(()),
            Err(BackupError::Tool { detail, .. }) => Err(BackupError::RolledBack(detail)),
            Err(e) => Err(e),
        }
    }

    /// A command for one of the tools, with the password in its environment and its output
    /// captured (unless the caller sends it elsewhere).
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin_dir.join(program));
        if let Some(password) = &self.target.password {
            command.env("PGPASSWORD", password);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Runs `command` to its end; its standard output, or its standard error as the failure.
    async fn run(&self, mut command: Command, doing: &str) -> Result<String> {
        let program = PathBuf::from(command.as_std().get_program());
        // Not `Command::output`, which would capture a standard output sent to a file.
        let output = match command.spawn() {
            Ok(child) => child.wait_with_output().await,
            Err(e) => Err(e),
        }
        .map_err(|cause| BackupError::Spawn { program, cause })?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(BackupError::Tool {
                doing: doing.to_string(),
                detail: tail(String::from_utf8_lossy(&output.stderr).trim(), 2000),
            })
        }
    }
}

/// Whether a `pg_restore --list` listing has table `public.<table>`.
fn lists_table(listing: &str, table: &str) -> bool {
    listing
        .lines()
        .filter(|line| !line.starts_with(';'))
        .any(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words.windows(3).any(|w| w == ["TABLE", "public", table])
        })
}

/// A temporary file beside `file` (mode 0600), for the backup until it is complete.
fn partial_file(file: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = parent(file);
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(|e| io_error(dir, e))
}

/// Makes the rename of `file` durable.
fn sync_parent(file: &Path) -> Result<()> {
    let dir = parent(file);
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(dir, e))
}

fn parent(file: &Path) -> &Path {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

fn file_size(file: &Path) -> Result<u64> {
    Ok(std::fs::metadata(file)
        .map_err(|e| io_error(file, e))?
        .len())
}

fn io_error(path: &Path, cause: std::io::Error) -> BackupError {
    BackupError::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// The last `max` bytes of `text` (at a character boundary).
fn tail(text: &str, max: usize) -> String {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_is_recognised_by_its_tables() {
        let listing = ";\n; Archive created at 2025-01-01\n;\n\
                       215; 1259 16450 TABLE public change_log postgres\n\
                       216; 1259 16460 TABLE public plan postgres\n\
                       3401; 0 16450 TABLE DATA public plan_version postgres\n";
        assert!(lists_table(listing, "change_log"));
        assert!(lists_table(listing, "plan"));
        assert!(!lists_table(listing, "plan_version"));
        assert!(!lists_table(listing, "zoning_feature"));
    }

    #[test]
    fn the_partial_file_sits_beside_the_backup() {
        let dir = tempfile::tempdir().unwrap();
        let partial = partial_file(&dir.path().join("satupeta.dump")).unwrap();
        assert_eq!(partial.path().parent(), Some(dir.path()));
        let name = partial.path().file_name().unwrap().to_string_lossy();
        assert!(name.starts_with(".satupeta.dump.") && name.ends_with(".partial"));
        assert_eq!(parent(Path::new("x.dump")), Path::new("."));
    }

    #[test]
    fn the_summary_reads_well() {
        let summary = Summary {
            contents: Contents {
                plans: 2,
                versions: 3,
                features: 18,
            },
            bytes: 1_234_567,
        };
        assert_eq!(
            summary.to_string(),
            "2 plan(s), 3 plan version(s), 18 zoning feature(s), rules and change log (1.23 MB)"
        );
    }
}
