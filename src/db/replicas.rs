//! Read replicas (`DATABASE_READ_URL`): a pool over each, probed every few seconds. Reads go to
//! the replicas that answered their last probe, in turn, and to the primary when none did, so a
//! replica going down costs reads no more than one probe interval.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::PgPool;

use super::Result;

/// How long a probe waits for a replica.
const PROBE_WAIT: Duration = Duration::from_secs(1);

/// One replica.
struct Replica {
    /// Its URL without the password, for the logs.
    shown: String,
    pool: PgPool,
    /// A pool of one connection for the probes, so they never wait behind reads.
    probe: PgPool,
    up: AtomicBool,
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

    /// Asks every replica `SELECT 1` and records which answered; a change is logged with the
    /// replica's URL (without its password).
    pub async fn probe(&self) {
        for replica in &self.replicas {
            let asked = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&replica.probe);
            let up = matches!(tokio::time::timeout(PROBE_WAIT, asked).await, Ok(Ok(1)));
            let was = replica.up.swap(up, Ordering::Relaxed);
            match (was, up) {
                (true, false) => tracing::warn!(
                    "the read replica {} does not answer: reads go to the primary",
                    replica.shown
                ),
                (false, true) => tracing::info!("the read replica {} answers", replica.shown),
                _ => {}
            }
        }
    }

    /// Probes the replicas every `every`, until the task is aborted.
    pub fn watch(self: std::sync::Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                self.probe().await;
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
