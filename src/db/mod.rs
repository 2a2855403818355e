//! The database: connection pool, the embedded cluster used when no `DATABASE_URL` is set, the
//! migrations in `migrations/`, and backups.

pub mod backup;
mod embedded;
pub mod replicas;
mod secret;
pub mod url;

use std::path::Path;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

pub use embedded::{ClusterOptions, EmbeddedCluster, find_bin_dir};

/// Errors of the database layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The embedded cluster could not be created, started or stopped.
    #[error("embedded database: {0}")]
    Cluster(String),
    /// A query or connection failed.
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    /// A migration failed.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The shipped reference data (zones, sub-zone catalogue, KBLI) could not be loaded.
    #[error("loading the reference data: {0}")]
    Reference(String),
}

/// Result alias of the database layer.
pub type Result<T> = std::result::Result<T, DbError>;

/// Name of the project's database inside the embedded cluster.
pub const EMBEDDED_DB: &str = "satupeta";

/// An open database: the pool, its URL and, when embedded, the cluster that serves it.
pub struct Database {
    /// Pool of connections to the project's database.
    pub pool: PgPool,
    /// The URL the pool connects to (for LISTEN connections and external tools). It may hold a
    /// password: give it to a child process in its environment, not on its command line, and show
    /// it only through [`url::redact`].
    pub url: String,
    cluster: Option<EmbeddedCluster>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("pool", &self.pool)
            .field("url", &url::redact(&self.url))
            .field("cluster", &self.cluster)
            .finish()
    }
}

impl Database {
    /// Opens `database_url`, or the embedded cluster under `data_dir` when it is `None`, and brings
    /// the schema up to date.
    pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Self> {
        let (url, cluster) = match database_url {
            Some(url) => (url.to_string(), None),
            None => {
                let dir = data_dir.join("postgres");
                let cluster = tokio::task::spawn_blocking(move || EmbeddedCluster::start(&dir))
                    .await
                    .map_err(|e| DbError::Cluster(e.to_string()))??;
                create_database_if_missing(&cluster.url("postgres"), EMBEDDED_DB).await?;
                (cluster.url(EMBEDDED_DB), Some(cluster))
            }
        };
        let pool = connect(&url).await?;
        migrate(&pool).await?;
        Ok(Database { pool, url, cluster })
    }

    /// The embedded cluster, when this process opened one (none with `DATABASE_URL`).
    pub fn cluster(&self) -> Option<&EmbeddedCluster> {
        self.cluster.as_ref()
    }

    /// Closes the pool, then stops the embedded cluster if no other process (a server, an import)
    /// still uses it: the last process out stops it, whichever started it, so that a cluster is
    /// never left running without an owner.
    pub async fn close(mut self) {
        if let Some(cluster) = self.cluster.as_mut() {
            let others = other_connections(&self.pool).await;
            if others > 0 {
                tracing::info!(
                    "leaving the embedded database running: {others} other connection(s) use it"
                );
                cluster.detach();
            } else {
                cluster.adopt();
            }
        }
        self.pool.close().await;
        drop(self.cluster);
    }
}

/// Connections of other processes to the cluster. A process that has just ended (an import run
/// while the server stops) may still be counted for a moment: it is asked again for up to two
/// seconds before the answer is taken, so that the last process out is not misled into leaving
/// the cluster running with no owner.
async fn other_connections(pool: &PgPool) -> i64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        let others: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE backend_type = 'client backend' AND application_name <> $1",
        )
        .bind(application_name())
        .fetch_one(pool)
        .await
        .unwrap_or(0);
        if others == 0 || std::time::Instant::now() >= deadline {
            return others;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Connections of a server's pool.
pub const SERVER_CONNECTIONS: u32 = 16;

/// Opens a pool on `url` for commands (imports, rules, seeding): no statement timeout.
pub async fn connect(url: &str) -> Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(SERVER_CONNECTIONS)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(connect_options(url)?)
        .await?)
}

/// Opens the pool a server answers requests with: every statement ends after
/// [`Limits::statement_s`](crate::limits::Limits), so nothing runs on after its request is gone, and
/// a request waits at most [`Limits::db_acquire_s`](crate::limits::Limits) for a connection.
pub async fn connect_server(url: &str) -> Result<PgPool> {
    let (pool, options) = server_pool(url)?;
    Ok(pool.connect_with(options).await?)
}

/// Like [`connect_server`], connecting when first used (a read replica that is down when the
/// server starts).
pub fn connect_server_lazy(url: &str) -> Result<PgPool> {
    let (pool, options) = server_pool(url)?;
    Ok(pool.connect_lazy_with(options))
}

/// The pool and connection settings of a server's pools (see [`connect_server`]).
fn server_pool(url: &str) -> Result<(PgPoolOptions, PgConnectOptions)> {
    let timeout = format!("{}s", crate::limits::LIMITS.statement_s);
    let options = connect_options(url)?.options([("statement_timeout", timeout.as_str())]);
    let pool = PgPoolOptions::new()
        .max_connections(SERVER_CONNECTIONS)
        .acquire_timeout(crate::limits::LIMITS.db_acquire_timeout());
    Ok((pool, options))
}

/// A pool of one connection beside `pool`, for readiness probes: they never queue behind the
/// requests on the main pool. It connects when first used.
pub fn health_pool(pool: &PgPool) -> PgPool {
    let options = (*pool.connect_options())
        .clone()
        .options([("statement_timeout", "1s")]);
    // Its one connection is kept open: made while the database is busy (a fork and a password
    // exchange), it could take longer than a readiness probe waits.
    PgPoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .acquire_timeout(Duration::from_secs(1))
        .connect_lazy_with(options)
}

fn connect_options(url: &str) -> Result<PgConnectOptions> {
    let options: PgConnectOptions = url.parse()?;
    Ok(options
        .log_statements(tracing::log::LevelFilter::Trace)
        .log_slow_statements(tracing::log::LevelFilter::Debug, Duration::from_secs(1))
        .application_name(&application_name()))
}

/// How this process names its connections, so that it can tell other processes' apart.
fn application_name() -> String {
    format!("satupeta-{}", std::process::id())
}

/// Applies the migrations in `migrations/` (PostGIS first) and loads the reference layers the
/// project ships (the administrative boundaries), so every database is ready for every command.
pub async fn migrate(pool: &PgPool) -> Result<()> {
    sqlx::migrate!("./migrations").run(pool).await?;
    crate::reference::ensure_admin_areas(pool).await?;
    crate::rules::ensure_reference(pool)
        .await
        .map_err(|e| DbError::Reference(e.to_string()))?;
    Ok(())
}

/// Creates database `name` on the server at `admin_url` unless it exists.
pub async fn create_database_if_missing(admin_url: &str, name: &str) -> Result<()> {
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        let sql = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
        if let Err(e) = sqlx::query(&sql).execute(&mut conn).await {
            // Another process may have created it meanwhile.
            let raced = e.as_database_error().and_then(|d| d.code()).as_deref() == Some("42P04");
            if !raced {
                return Err(e.into());
            }
        }
    }
    conn.close().await?;
    Ok(())
}

/// The LISTEN/NOTIFY channel on which publications and rule changes are announced.
pub const CHANGE_CHANNEL: &str = "satupeta_changes";

/// Records a change (a plan publication, new rules) inside the caller's transaction and notifies
/// listening servers when it commits.
pub async fn announce_change(
    conn: &mut sqlx::PgConnection,
    what: &str,
) -> std::result::Result<(), sqlx::Error> {
    let id: i64 = sqlx::query_scalar("INSERT INTO change_log (what) VALUES ($1) RETURNING id")
        .bind(what)
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANGE_CHANNEL)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The id of the newest recorded change (0 when there is none).
pub async fn latest_change<'e>(
    executor: impl sqlx::PgExecutor<'e>,
) -> std::result::Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM change_log")
        .fetch_one(executor)
        .await
}

/// Calls `on_change` whenever another transaction announces a change (LISTEN/NOTIFY), and every
/// `poll` in case a notification was missed (a dropped listener connection). `on_change` decides
/// itself whether anything changed (see [`latest_change`]). Runs until the task is aborted.
pub async fn watch_changes<F, Fut>(pool: PgPool, poll: Duration, mut on_change: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut listener: Option<sqlx::postgres::PgListener> = None;
    loop {
        if listener.is_none() {
            match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(mut l) => match l.listen(CHANGE_CHANNEL).await {
                    Ok(()) => listener = Some(l),
                    Err(e) => tracing::warn!("cannot LISTEN for changes: {e}"),
                },
                Err(e) => tracing::warn!("cannot open a LISTEN connection: {e}"),
            }
        }
        let notified = match listener.as_mut() {
            Some(l) => match tokio::time::timeout(poll, l.try_recv()).await {
                Ok(Ok(Some(_))) => true,
                Ok(Ok(None)) | Ok(Err(_)) => {
                    listener = None;
                    false
                }
                Err(_) => false,
            },
            None => {
                tokio::time::sleep(poll).await;
                false
            }
        };
        if notified {
            // Several notifications often arrive together; one reload serves them all.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        on_change().await;
    }
}
