//! Read replicas (`DATABASE_READ_URL`): a pool over each, probed every few seconds for whether it
//! answers and how far it is behind the primary. Reads go to the replicas that answered their last
//! probe and have not been behind the primary for longer than [`LAG_LIMIT`], in turn, and to the
//! primary when none qualifies: a replica that stops, or stops replaying, costs reads no more than
//! a probe interval (or the lag limit).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use sqlx::PgPool;

use super::Result;

/// How long a probe waits for a replica.
const PROBE_WAIT: Duration = Duration::from_secs(1);

/// How long a replica may stay behind the primary's newest change before reads leave it.
pub const LAG_LIMIT: Duration = Duration::from_secs(10);

/// How long a loader's read from a replica may take before it is read from the primary instead
/// (the zoning snapshot of the 100,000-zone plan loads in about 1 s).
const REPLICA_READ_LIMIT: Duration = Duration::from_secs(20);

/// What a probe found.
#[derive(Debug, Clone, PartialEq)]
enum Probed {
    Up,
    Down(String),
    Behind(i64),
}

/// What the probes remember of a replica.
#[derive(Debug, Default)]
struct Memory {
    /// When it was first seen behind the primary, in the current stretch.
    behind_since: Option<Instant>,
    /// The last finding (none before the first probe).
    last: Option<Probed>,
}

/// One replica.
struct Replica {
    /// Its URL without the password, for the logs.
    shown: String,
    pool: PgPool,
    /// A pool of one connection for the probes, so they never wait behind reads.
    probe: PgPool,
    up: AtomicBool,
    memory: Mutex<Memory>,
}

/// The read replicas of a server.
#[derive(Default)]
pub struct ReadReplicas {
    replicas: Vec<Replica>,
    next: AtomicUsize,
}

impl ReadReplicas {
    /// Pools over `urls`, not yet connected: a replica that is down does not keep the server from
    /// starting (reads go to the primary until it answers).
    pub fn connect(urls: &[String]) -> Result<Self> {
        let replicas = urls
            .iter()
            .map(|url| {
                let pool = super::connect_server_lazy(url)?;
                Ok(Replica {
                    shown: super::url::redact(url),
                    probe: super::health_pool(&pool),
                    pool,
                    up: AtomicBool::new(false),
                    memory: Mutex::default(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ReadReplicas {
            replicas,
            next: AtomicUsize::new(0),
        })
    }

    /// Whether no replica is configured.
    pub fn is_empty(&self) -> bool {
        self.replicas.is_empty()
    }

    /// Asks every replica (and the primary) for its newest change, and records which replicas
    /// may be read. A change of state is logged with the replica's URL (without its password)
    /// and why; a replica that never answered is logged at the first probe.
    pub async fn probe(&self, primary: &PgPool) {
        let newest = tokio::time::timeout(PROBE_WAIT, super::latest_change(primary))
            .await
            .ok()
            .and_then(|asked| asked.ok());
        // All at once: replicas that do not answer cost one wait, not one each.
        let asked =
            futures::future::join_all(self.replicas.iter().map(|replica| {
                tokio::time::timeout(PROBE_WAIT, super::latest_change(&replica.probe))
            }))
            .await;
        for (i, (replica, asked)) in self.replicas.iter().zip(asked).enumerate() {
            let change = match asked {
                Ok(Ok(change)) => Ok(change),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("no answer within {} s", PROBE_WAIT.as_secs())),
            };
            let behind = match (&change, newest) {
                (Ok(change), Some(newest)) => (newest - change).max(0),
                _ => 0,
            };
            metrics::gauge!(crate::observe::DB_REPLICA_BEHIND, "replica" => i.to_string())
                .set(behind as f64);
            let mut memory = replica.memory.lock().unwrap_or_else(|e| e.into_inner());
            let found = match change {
                Err(reason) => Probed::Down(reason),
                Ok(_) if behind > 0 => {
                    let since = *memory.behind_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= LAG_LIMIT {
                        Probed::Behind(behind)
                    } else {
                        Probed::Up
                    }
                }
                Ok(_) => {
                    memory.behind_since = None;
                    Probed::Up
                }
            };
            replica.up.store(found == Probed::Up, Ordering::Relaxed);
            if memory.last.as_ref() != Some(&found) {
                log_change(&replica.shown, memory.last.as_ref(), &found);
                memory.last = Some(found);
            }
        }
    }

    /// Probes the replicas every `every`, until the task is aborted.
    pub fn watch(
        self: std::sync::Arc<Self>,
        primary: PgPool,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                self.probe(&primary).await;
            }
        })
    }

    /// The next replica that answered its last probe, if any.
    pub fn pick(&self) -> Option<&PgPool> {
        let n = self.replicas.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|i| &self.replicas[(start + i) % n])
            .find(|r| r.up.load(Ordering::Relaxed))
            .map(|r| &r.pool)
    }

    /// The first replica that answered its last probe (the snapshot's source), if any.
    pub fn first_up(&self) -> Option<&PgPool> {
        self.replicas
            .iter()
            .find(|r| r.up.load(Ordering::Relaxed))
            .map(|r| &r.pool)
    }

    /// Whether each replica answered its last probe.
    pub fn states(&self) -> Vec<bool> {
        self.replicas
            .iter()
            .map(|r| r.up.load(Ordering::Relaxed))
            .collect()
    }

    /// The pools of the replicas.
    pub fn pools(&self) -> impl Iterator<Item = &PgPool> {
        self.replicas.iter().map(|r| &r.pool)
    }
}

/// Where the loaders of what a server holds in memory (the zoning snapshot, the catalog, the tile
/// layers) read: the first read replica that may be read, or the primary when none may be or when
/// that replica fails. Each loader keeps its own guard against going back in time (a snapshot or
/// a catalog older than the one served is not taken).
#[derive(Clone)]
pub struct Reader {
    replicas: std::sync::Arc<ReadReplicas>,
    primary: PgPool,
}

impl Reader {
    /// Reads from `primary` only (no replicas).
    pub fn primary(primary: PgPool) -> Self {
        Self::new(std::sync::Arc::default(), primary)
    }

    /// Reads from the first of `replicas` that may be read, else from `primary`.
    pub fn new(replicas: std::sync::Arc<ReadReplicas>, primary: PgPool) -> Self {
        Reader { replicas, primary }
    }

    /// Runs `read` on the first replica that may be read; on the primary when there is none,
    /// or when `read` fails there.
    /// (The reads are boxed futures: an async closure's future is not known to be `Send` for
    /// every lifetime of its argument, which the web server's handlers need.)
    pub async fn read<'p, T, E: std::fmt::Display>(
        &'p self,
        read: impl Fn(&'p PgPool) -> BoxFuture<'p, std::result::Result<T, E>>,
    ) -> std::result::Result<T, E> {
        if let Some(replica) = self.replicas.first_up() {
            match tokio::time::timeout(REPLICA_READ_LIMIT, read(replica)).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(e)) => {
                    tracing::debug!("reading from the replica failed ({e}): from the primary")
                }
                // A replica that hangs (its network, its disk) holds no refresh for longer.
                Err(_) => tracing::warn!(
                    "reading from the replica took over {} s: from the primary",
                    REPLICA_READ_LIMIT.as_secs()
                ),
            }
        }
        read(&self.primary).await
    }
}

/// Logs what a probe found of a replica, when it differs from the last finding.
fn log_change(shown: &str, last: Option<&Probed>, found: &Probed) {
    match found {
        Probed::Down(reason) => {
            tracing::warn!(
                "the read replica {shown} does not answer ({reason}): reads go to the primary"
            )
        }
        Probed::Behind(changes) => tracing::warn!(
            "the read replica {shown} has been {changes} change(s) behind the primary for over {} s: reads go to the primary",
            LAG_LIMIT.as_secs()
        ),
        Probed::Up if last.is_some() => {
            tracing::info!("the read replica {shown} answers and is current")
        }
        Probed::Up => {}
    }
}
